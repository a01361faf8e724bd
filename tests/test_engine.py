"""The decision engine: every ReasonCode, from a valid policy, with its article (issue 3)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest

import lawful
from lawful import (
    AgeDeclared,
    AgeRules,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Decision,
    Erasure,
    Event,
    Interaction,
    Objection,
    ObjectionOverridden,
    OptOut,
    ParentalConsentGiven,
    Policy,
    ReasonCode,
    RestrictionRequested,
    Subject,
    UnknownAge,
    UnknownSubjectCategory,
)
from lawful._engine import unknown_purpose
from lawful._json import describe_event
from lawful.decision import ARTICLES

pytestmark = pytest.mark.usefixtures("no_clock")

POLICY_TOML = """
version = "1.0"
id = "shop"
policy_version = "2025-06"
title = "Shop privacy policy"
subject_categories = { visitor = "Website visitor", client = "Client", job_applicant = "Candidate" }

[contact]
dpo = "dpo@shop.example"
supervisory_authority = "UODO"

[age]
minimum_age = 13
parental_consent_age = 15

[opt_out_scopes.tracking]
title = "Do not track me"
[opt_out_scopes.sale]
title = "Do not sell or share"

[data_categories.ip_address]
title = "IP address"
[data_categories.cookie]
title = "Cookie identifier"
[data_categories.email]
title = "Email address"
[data_categories.health]
title = "Health data"
special = true
[data_categories.cv]
title = "Curriculum vitae"

[vendors.self]
name = "Shop"
role = "first_party"
hosting = "Germany"
[vendors.cdn]
name = "CDN Ltd"
role = "processor"
hosting = "Ireland"
[vendors.adnet]
name = "AdNet"
role = "third_party"
hosting = "Netherlands"
[vendors.social]
name = "Social"
role = "third_party"
hosting = "Ireland"
[vendors.chatco]
name = "ChatCo"
role = "processor"
hosting = "United States"
outside_eea = true
transfer = "not_stated"

[purposes.analytics]
title = "Analytics"
statement = "Measure how the shop is used"
basis = "consent"
data = ["ip_address", "cookie"]
vendors = ["self", "cdn"]
withdrawal = "Privacy settings"
consent_lifetime = "13 months"
device_access = true
subjects = ["visitor", "client"]
opt_out_scopes = ["tracking"]
retention = { rules = [{ kind = "after_collection", period = "14 months" }] }

[purposes.ads]
title = "Personalised ads"
statement = "Show ads that fit you"
basis = "consent"
data = ["cookie"]
vendors = ["adnet", "social"]
withdrawal = "Privacy settings"
per_vendor_consent = true
device_access = true
opt_out_scopes = ["sale"]
retention = { rules = [{ kind = "after_collection", period = "6 months" }] }

[purposes.health_survey]
title = "Health survey"
statement = "Tailor products to your allergies"
basis = "consent"
data = ["health"]
vendors = ["self"]
withdrawal = "Account page"
special_category_condition = "a"
retention = { rules = [{ kind = "after_collection", period = "1 year" }] }

[purposes.newsletter]
title = "Newsletter to clients"
statement = "Offers similar to what you bought"
basis = "legitimate_interests"
legitimate_interest = "marketing similar products to existing clients"
assessment = "LIA-7"
direct_marketing = true
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "2 years" }] }

[purposes.fraud]
title = "Fraud prevention"
statement = "Stop fraudulent orders"
basis = "legitimate_interests"
legitimate_interest = "protecting the shop against fraud"
assessment = "LIA-1"
override_admissible = true
data = ["ip_address"]
vendors = ["self"]
opt_out_scopes = ["tracking"]
retention = { rules = [{ kind = "after_collection", period = "90 days" }] }

[purposes.support_chat]
title = "Support chat"
statement = "Answer your questions in a chat"
basis = "legitimate_interests"
legitimate_interest = "answering customers"
assessment = "LIA-6"
data = ["email"]
vendors = ["chatco"]
retention = { rules = [{ kind = "after_collection", period = "1 year" }] }

[purposes.security_cookie]
title = "Bot detection cookie"
statement = "Tell people from bots"
basis = "legitimate_interests"
legitimate_interest = "keeping bots out"
assessment = "LIA-2"
data = ["cookie"]
vendors = ["self"]
device_access = true
retention = { rules = [{ kind = "after_collection", period = "30 days" }] }

[purposes.load_balancing]
title = "Load balancing cookie"
statement = "Keep your visit on one server"
basis = "legitimate_interests"
legitimate_interest = "delivering the site"
assessment = "LIA-3"
data = ["cookie"]
vendors = ["self"]
device_access = true
strictly_necessary = "the page cannot be served without it"
retention = { rules = [{ kind = "session_end", inactivity = "30 minutes" }] }

[purposes.orders]
title = "Orders"
statement = "Deliver what you bought"
basis = "contract"
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "3 years" }] }

[purposes.invoices]
title = "Invoices"
statement = "Keep invoices as tax law requires"
basis = "legal_obligation"
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "5 years" }] }

[purposes.emergency]
title = "Emergency contact"
statement = "Reach you if a product recall endangers you"
basis = "vital_interests"
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "1 year" }] }

[purposes.census]
title = "Official statistics"
statement = "Report to the statistics office"
basis = "public_task"
override_admissible = true
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "1 year" }] }

[purposes.client_sites]
title = "Our clients' analytics"
statement = "Process visitors of our clients' sites on their behalf"
basis = "legitimate_interests"
legitimate_interest = "providing the service clients ordered"
assessment = "LIA-4"
processor_only = true
data = ["ip_address"]
vendors = ["self"]
retention = { rules = [{ kind = "not_stated" }] }

[purposes.recruitment]
title = "Recruitment"
statement = "Evaluate candidates"
basis = "legitimate_interests"
legitimate_interest = "hiring"
assessment = "LIA-5"
subjects = ["job_applicant"]
data = ["cv", "email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "36 months" }] }

[[previous_versions]]
version = "2024-01"
[previous_versions.purposes.analytics]
statement = "Measure how the shop is used"
basis = "consent"
vendors = ["self"]
data = ["ip_address", "cookie"]
"""

# Art. 7(1): unversioned consents are judged under the version in force at their instant,
# so the versions say when they took effect.
_LOADED = lawful.loads_policy(POLICY_TOML)
POLICY = attrs.evolve(
    _LOADED,
    effective_from=datetime(2010, 1, 1, tzinfo=UTC),
    previous_versions=tuple(
        attrs.evolve(v, effective_from=datetime(2000, 1, 1, tzinfo=UTC))
        for v in _LOADED.previous_versions
    ),
)
# Art. 8(2): a variant that denies until an age is on record.
POLICY_AGE_DENY = attrs.evolve(
    POLICY, age=AgeRules(minimum_age=13, parental_consent_age=15, unknown_age=UnknownAge.DENY)
)

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
T1 = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)
AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@attrs.frozen
class Row:
    """One table row: a history, a question, and the decision it must give."""

    article: str
    purpose: str
    events: tuple[Event, ...]
    code: ReasonCode
    allowed: bool
    deciding: int | None = None  # index into events of the deciding event
    clause: str | None = None
    query: dict[str, Any] = attrs.field(factory=dict)
    categories: frozenset[str] | None = None
    policy: Policy = POLICY


ROWS: dict[str, Row] = {
    "consent given": Row(
        "Art. 6(1)(a)",
        "analytics",
        (ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),),
        ReasonCode.CONSENT_GIVEN,
        allowed=True,
        deciding=0,
    ),
    "no consent on record": Row(
        "Art. 6(1)(a)",
        "analytics",
        (),
        ReasonCode.NO_CONSENT,
        allowed=False,
        clause="purposes.analytics.basis",
    ),
    "consent withdrawn": Row(
        "Art. 7(3)",
        "analytics",
        (
            ConsentGiven(at=T0, purpose="analytics"),
            ConsentWithdrawn(at=T1, purpose="analytics"),
        ),
        ReasonCode.CONSENT_WITHDRAWN,
        allowed=False,
        deciding=1,
    ),
    "consent expired after its lifetime": Row(
        # The lifetime is the policy's clause (the GDPR sets none): the basis's article.
        "Art. 6(1)(a)",
        "analytics",
        (ConsentGiven(at=datetime(2024, 1, 1, tzinfo=UTC), purpose="analytics"),),
        ReasonCode.CONSENT_EXPIRED,
        allowed=False,
        deciding=0,
        clause="purposes.analytics.consent_lifetime",
    ),
    "consent stale: a vendor was added since": Row(
        "Art. 4(11)",
        "analytics",
        (ConsentGiven(at=T0, purpose="analytics", policy_version="2024-01"),),
        ReasonCode.CONSENT_STALE,
        allowed=False,
        deciding=0,
    ),
    "legitimate interest": Row(
        "Art. 6(1)(f)",
        "fraud",
        (),
        ReasonCode.LEGITIMATE_INTEREST,
        allowed=True,
        clause="purposes.fraud.legitimate_interest",
    ),
    "objection to a legitimate interest": Row(
        "Art. 21(1)",
        "fraud",
        (Objection(at=T0, purpose="fraud"),),
        ReasonCode.OBJECTED,
        allowed=False,
        deciding=0,
    ),
    "objection to direct marketing is absolute": Row(
        "Art. 21(3)",
        "newsletter",
        (Objection(at=T0, purpose="newsletter"),),
        ReasonCode.OBJECTED,
        allowed=False,
        deciding=0,
    ),
    "compelling grounds override an objection": Row(
        "Art. 21(1)",
        "fraud",
        (
            Objection(at=T0, purpose="fraud"),
            ObjectionOverridden(at=T1, purpose="fraud", grounds="chargeback investigation"),
        ),
        ReasonCode.COMPELLING_GROUNDS,
        allowed=True,
        deciding=1,
    ),
    "contract in force": Row(
        "Art. 6(1)(b)",
        "orders",
        (ContractStarted(at=T0, contract="order-1"),),
        ReasonCode.CONTRACT,
        allowed=True,
        deciding=0,
    ),
    "no contract in force": Row(
        "Art. 6(1)(b)",
        "orders",
        (ContractStarted(at=T0, contract="order-1"), ContractEnded(at=T1, contract="order-1")),
        ReasonCode.NO_CONTRACT,
        allowed=False,
        deciding=1,
    ),
    "legal obligation": Row(
        "Art. 6(1)(c)",
        "invoices",
        (),
        ReasonCode.LEGAL_OBLIGATION,
        allowed=True,
        clause="purposes.invoices.basis",
    ),
    "vital interests": Row(
        "Art. 6(1)(d)",
        "emergency",
        (),
        ReasonCode.VITAL_INTERESTS,
        allowed=True,
        clause="purposes.emergency.basis",
    ),
    "public task": Row(
        "Art. 6(1)(e)",
        "census",
        (),
        ReasonCode.PUBLIC_TASK,
        allowed=True,
        clause="purposes.census.basis",
    ),
    "restriction": Row(
        "Art. 18(2)",
        "fraud",
        (RestrictionRequested(at=T0, ground="accuracy contested"),),
        ReasonCode.RESTRICTED,
        allowed=False,
        deciding=0,
    ),
    "erasure": Row(
        "Art. 17(1)",
        "fraud",
        (Erasure(at=T1),),
        ReasonCode.ERASED,
        allowed=False,
        deciding=0,
        query={"collected_at": T0},
    ),
    "retention exceeded": Row(
        "Art. 5(1)(e)",
        "fraud",
        (),
        ReasonCode.RETENTION_EXCEEDED,
        allowed=False,
        clause="purposes.fraud.retention",
        query={"collected_at": datetime(2024, 11, 1, tzinfo=UTC)},
    ),
    "a child needs parental consent": Row(
        "Art. 8(1)",
        "analytics",
        (
            BirthDateDeclared(at=T0, birth_date=date(2011, 1, 1)),
            ConsentGiven(at=T0, purpose="analytics"),
        ),
        ReasonCode.PARENTAL_CONSENT_REQUIRED,
        allowed=False,
        deciding=0,
        clause="age.parental_consent_age",
    ),
    "below the minimum age": Row(
        # A minimum age is the policy's own rule: the GDPR sets none (Art. 8 sets when
        # parental consent is needed), so the reason cites the policy clause.
        "policy clause age",
        "analytics",
        (
            BirthDateDeclared(at=T0, birth_date=date(2014, 1, 1)),
            ParentalConsentGiven(at=T0),
            ConsentGiven(at=T0, purpose="analytics"),
        ),
        ReasonCode.BELOW_MINIMUM_AGE,
        allowed=False,
        deciding=0,
        clause="age.minimum_age",
    ),
    "age unknown where the policy denies": Row(
        "Art. 8(2)",
        "analytics",
        (ConsentGiven(at=T0, purpose="analytics"),),
        ReasonCode.AGE_UNKNOWN,
        allowed=False,
        clause="age.unknown_age",
        policy=POLICY_AGE_DENY,
    ),
    "unknown purpose": Row(
        "Art. 5(1)(b)",
        "profiling",
        (),
        ReasonCode.UNKNOWN_PURPOSE,
        allowed=False,
        clause="purposes",
    ),
    "vendor not declared": Row(
        "Art. 13(1)(e)",
        "analytics",
        (ConsentGiven(at=T0, purpose="analytics"),),
        ReasonCode.VENDOR_NOT_DECLARED,
        allowed=False,
        clause="purposes.analytics.vendors",
        query={"vendor": "adnet"},
    ),
    "data category not declared": Row(
        "Art. 5(1)(c)",
        "analytics",
        (ConsentGiven(at=T0, purpose="analytics"),),
        ReasonCode.DATA_CATEGORY_NOT_DECLARED,
        allowed=False,
        clause="purposes.analytics.data",
        query={"data": ("ip_address", "email")},
    ),
    "subject not covered": Row(
        "Art. 5(1)(b)",
        "recruitment",
        (),
        ReasonCode.SUBJECT_NOT_COVERED,
        allowed=False,
        clause="purposes.recruitment.subjects",
        categories=frozenset({"visitor"}),
    ),
    "opted out": Row(
        "Art. 21(5)",
        "fraud",
        (OptOut(at=T0, scope="tracking"),),
        ReasonCode.OPTED_OUT,
        allowed=False,
        deciding=0,
    ),
    "special categories need explicit consent": Row(
        "Art. 9(2)(a)",
        "health_survey",
        (ConsentGiven(at=T0, purpose="health_survey", explicit=False),),
        ReasonCode.EXPLICIT_CONSENT_REQUIRED,
        allowed=False,
        deciding=0,
    ),
    "device access needs consent": Row(
        "ePrivacy Directive Art. 5(3)",
        "security_cookie",
        (),
        ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED,
        allowed=False,
        clause="purposes.security_cookie.device_access",
    ),
    "transfer with no stated safeguard": Row(
        "Art. 44, 46(1)",
        "support_chat",
        (),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        allowed=False,
        clause="vendors.chatco.transfer",
    ),
    "processor only": Row(
        "Art. 28(3)(a)",
        "client_sites",
        (),
        ReasonCode.PROCESSOR_ONLY,
        allowed=False,
        clause="purposes.client_sites.processor_only",
    ),
}


def _decide(row: Row) -> Decision:
    subject = Subject("s-1", row.events, categories=row.categories)
    return row.policy.may_process(subject, row.purpose, AT, **row.query)


@pytest.mark.parametrize("row", ROWS.values(), ids=list(ROWS))
def test_row(row: Row) -> None:
    """Each row's history gives its code, answer, basis, article and deciding event or clause."""
    decision = _decide(row)
    reason = decision.reasons[0]
    assert (decision.code, decision.allowed, bool(decision)) == (row.code, row.allowed, row.allowed)
    assert reason.article == row.article
    assert decision.purpose == row.purpose
    assert decision.at == AT
    # No basis for an unknown purpose, nor for a processor-only one (the client picks it).
    expected_basis = (
        None
        if row.code in {ReasonCode.UNKNOWN_PURPOSE, ReasonCode.PROCESSOR_ONLY}
        else row.policy.purpose(row.purpose).basis
    )
    assert decision.basis is expected_basis
    expected_event = None if row.deciding is None else row.events[row.deciding]
    assert reason.event == expected_event
    if row.clause is not None:
        assert reason.clause == row.clause
    assert reason.message
    assert row.article in decision.explain()


def test_every_reason_code_is_produced() -> None:
    """The table covers the whole closed ReasonCode enum."""
    assert {row.code for row in ROWS.values()} == set(ReasonCode)


@pytest.mark.parametrize("code", list(ReasonCode), ids=lambda c: c.value)
def test_every_reason_code_documents_its_article(code: ReasonCode) -> None:
    """Every code has its article, which its member docstring names."""
    assert code.article == ARTICLES[code]
    assert code.article.startswith(("Art. ", "ePrivacy Directive Art. "))


def test_allowing_codes() -> None:
    """Only codes that name a legal basis (or an override) can be the primary reason of an allow."""
    allowing = {row.code for row in ROWS.values() if row.allowed}
    assert allowing == {code for code in ReasonCode if code.allows}


def test_policy_is_valid() -> None:
    """The table's policy loads without errors, and its variant keeps the purposes."""
    assert POLICY.purpose_ids == POLICY_AGE_DENY.purpose_ids
    assert POLICY_AGE_DENY.purpose("analytics").context is not None


@pytest.mark.parametrize("row", ROWS.values(), ids=list(ROWS))
def test_every_allow_names_basis_and_what_decided(row: Row) -> None:
    """No decision comes without a reason naming its basis and the deciding event or clause."""
    decision = _decide(row)
    for reason in decision.reasons:
        assert reason.event is not None or reason.clause is not None


def test_decide_all_covers_every_purpose() -> None:
    """decide_all answers every purpose in policy order, the same as one at a time."""
    subject = Subject(
        "s-1",
        [ConsentGiven(at=T0, purpose="analytics"), ContractStarted(at=T0, contract="o-1")],
    )
    every = POLICY.decide_all(subject, AT)
    assert tuple(every) == POLICY.purpose_ids
    for pid, decision in every.items():
        assert decision == POLICY.may_process(subject, pid, AT)
    assert every["analytics"].allowed
    assert every["orders"].allowed
    assert not every["ads"].allowed


def test_module_level_may_process_takes_a_compiled_purpose() -> None:
    """lawful.may_process with a Purpose from the policy equals Policy.may_process."""
    subject = Subject("s-1", [ConsentGiven(at=T0, purpose="analytics")])
    direct = lawful.may_process(subject, POLICY.purpose("analytics"), AT)
    assert direct == POLICY.may_process(subject, "analytics", AT)


def test_interaction_events_do_not_grant_anything() -> None:
    """An interaction is not consent: a consent purpose stays denied."""
    subject = Subject("s-1", [Interaction(at=T0, kind="page_view", purpose="analytics")])
    assert POLICY.may_process(subject, "analytics", AT).code is ReasonCode.NO_CONSENT


def test_age_declared_counts_like_a_birth_date() -> None:
    """ "At least 18" declared is an adult; "at least 14" still needs parental consent."""
    grant = ConsentGiven(at=T0, purpose="analytics")
    adult = Subject("s-1", [AgeDeclared(at=T0, at_least=18), grant])
    child = Subject("s-2", [AgeDeclared(at=T0, at_least=14), grant])
    assert POLICY.may_process(adult, "analytics", AT).allowed
    assert POLICY.may_process(child, "analytics", AT).code is ReasonCode.PARENTAL_CONSENT_REQUIRED


def test_unknown_subject_category_policy_switch() -> None:
    """Unknown subject categories are allowed by default, denied where the policy says so."""
    subject = Subject("s-1")
    assert POLICY.may_process(subject, "recruitment", AT).allowed
    strict = attrs.evolve(POLICY, unknown_subject_category=UnknownSubjectCategory.DENY)
    decision = strict.may_process(subject, "recruitment", AT)
    assert decision.code is ReasonCode.SUBJECT_NOT_COVERED
    assert decision.reason.clause == "unknown_subject_category"


@pytest.mark.parametrize("row", ROWS.values(), ids=list(ROWS))
def test_explain_cites_the_article_and_what_decided(row: Row) -> None:
    """explain() gives the verdict, the article, and the deciding event or policy clause."""
    decision = _decide(row)
    text = decision.explain()
    reason = decision.reason
    assert text.startswith(("Allowed: " if row.allowed else "Denied: ") + "processing for purpose")
    assert f"({reason.article}, {reason.code.value})" in text
    assert reason.message in text
    if reason.event is not None:
        assert f"Decided by {describe_event(reason.event)}" in text
        assert reason.event.at.isoformat() in text
        if reason.clause is not None:
            assert f", under the policy clause {reason.clause}." in text
    else:
        assert f"Decided by the policy clause {reason.clause}." in text
    if decision.basis is not None:
        assert decision.basis.article in text


def test_explain_mentions_every_reason_and_valid_until() -> None:
    """Secondary reasons follow with "Also", and valid_until is stated when there is one."""
    subject = Subject(
        "s-1",
        [
            ConsentGiven(at=T0, purpose="ads", vendor="adnet", id="c-7"),
            ConsentGiven(at=T1, purpose="ads", vendor="social"),
        ],
    )
    # Collected once both consents were in force (the social one came at T1).
    decision = POLICY.may_process(subject, "ads", AT, collected_at=T1)
    assert decision.allowed
    text = decision.explain()
    assert text.count("Because (Art. 6(1)(a), consent_given)") == 1
    assert text.count("Also (Art. 6(1)(a), consent_given)") == 1
    assert "(id c-7)" in text
    assert "'ads/adnet'" in text
    assert decision.valid_until is not None
    assert f"This answer holds until {decision.valid_until.isoformat()}" in text


def test_unknown_purpose_checks_its_arguments_too() -> None:
    """DESIGN step 1 comes first: even an unknown purpose refuses a naive or late collected_at."""
    assert unknown_purpose("nope", AT, collected_at=T0).code is ReasonCode.UNKNOWN_PURPOSE
    with pytest.raises(lawful.NaiveDatetimeError, match=r"^collected_at: "):
        unknown_purpose("nope", AT, collected_at=datetime(2025, 1, 1))
    with pytest.raises(lawful.QueryError, match=r"^collected_at: "):
        unknown_purpose("nope", T0, collected_at=AT)


def test_a_decision_made_on_the_hot_path_is_an_ordinary_decision() -> None:
    """The engine's fast constructor yields a Decision like any other: same type, equal
    and hashed alike, frozen, copied, pickled and evolved as attrs makes them.
    """
    import copy  # noqa: PLC0415 - only this test needs them
    import pickle  # noqa: PLC0415

    from lawful.decision import make_decision  # noqa: PLC0415

    at = datetime(2025, 6, 1, tzinfo=UTC)
    reason = lawful.Reason(ReasonCode.LEGITIMATE_INTEREST, "why", "Art. 6(1)(f)")
    basis = lawful.LegalBasis.LEGITIMATE_INTERESTS
    made = make_decision(True, "p", at, basis, (reason,), None)
    plain = Decision(allowed=True, purpose="p", at=at, basis=basis, reasons=(reason,))
    assert type(made) is Decision
    assert made == plain
    assert hash(made) == hash(plain)
    assert repr(made) == repr(plain)
    assert pickle.loads(pickle.dumps(made)) == plain  # noqa: S301 - our own bytes
    assert copy.deepcopy(made) == plain
    assert attrs.evolve(made, allowed=False).allowed is False
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made.allowed = False  # type: ignore[misc]


_LONG_AGO = datetime(2023, 1, 1, tzinfo=UTC)
# Quiet histories (consents and page views only): what the quick path of a plan decides
# (lawful._engine.run._quick), each outcome of the consent rule among them.
QUIET: dict[str, tuple[Event, ...]] = {
    "nothing": (),
    "page views": (Interaction(at=T0, kind="page_view"),),
    "given": (ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),),
    "given, then withdrawn": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),
        ConsentWithdrawn(at=T1, purpose="analytics"),
    ),
    "withdrawn for one vendor": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),
        ConsentWithdrawn(at=T1, purpose="analytics", vendor="cdn"),
    ),
    "given under the previous terms": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2024-01"),
    ),
    "given under an unknown version": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="1999"),
    ),
    "given unversioned": (ConsentGiven(at=T0, purpose="analytics"),),
    "given long ago": (ConsentGiven(at=_LONG_AGO, purpose="analytics", policy_version="2025-06"),),
    "two grants at one instant": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),
        ConsentGiven(at=T0, purpose="analytics", policy_version="2024-01"),
    ),
    "two device grants at one instant": (
        ConsentGiven(at=T0, purpose="security_cookie", policy_version="2025-06"),
        ConsentGiven(at=T0, purpose="security_cookie"),
    ),
    "a pre-ticked box": (
        ConsentGiven(
            at=T0,
            purpose="analytics",
            policy_version="2025-06",
            method=lawful.ConsentMethod.PRE_TICKED_BOX,
        ),
    ),
    "recorded late": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06", recorded_at=T1),
    ),
    "health, not explicit": (
        ConsentGiven(at=T0, purpose="health_survey", policy_version="2025-06"),
    ),
    "health, explicit": (
        ConsentGiven(at=T0, purpose="health_survey", policy_version="2025-06", explicit=True),
    ),
    "device consent": (
        ConsentGiven(at=T0, purpose="security_cookie", policy_version="2025-06"),
        Interaction(at=T1, kind="page_view"),
    ),
    "device consent withdrawn": (
        ConsentGiven(at=T0, purpose="security_cookie", policy_version="2025-06"),
        ConsentWithdrawn(at=T1, purpose="security_cookie"),
    ),
}


@pytest.mark.parametrize("history", list(QUIET))
@pytest.mark.parametrize("categories", [None, frozenset({"visitor"}), frozenset({"client"})])
def test_the_quick_path_decides_as_every_rule_evaluated(
    history: str, categories: frozenset[str] | None
) -> None:
    """The quick path of each purpose's plan (a quiet subject, fresh data, the purpose's
    vendors and data) gives, for every purpose, before, between and after the events, the
    decision (reasons and their messages included) and the instant it holds until that
    evaluating every rule as written gives; and it answers every case it was made for.
    """
    from lawful._engine import decide_span  # noqa: PLC0415 - only these tests need them
    from lawful._engine.run import _quick  # noqa: PLC0415
    from lawful._time import to_us  # noqa: PLC0415

    unknown_denied = attrs.evolve(POLICY, unknown_subject_category=UnknownSubjectCategory.DENY)
    answered = 0  # the questions the quick path answered: none would make this test vacuous
    for policy in (POLICY, POLICY_AGE_DENY, unknown_denied):
        subject = Subject("s-1", QUIET[history], categories=categories)
        index = subject._index
        for at in (_LONG_AGO, T0, T1, AT, datetime(2026, 6, 1, tzinfo=UTC)):
            for purpose in policy.purposes:
                asked = (subject, purpose, at, None, (), None, lawful.Operation.USE)
                assert decide_span(*asked) == decide_span(*asked, plain=True)
                plan = purpose.plan
                assert plan is not None
                if plan.quick and not index.late and index.quiet():
                    made = _quick(plan, index, categories, at, to_us(at, "at"))
                    # Grants at one instant, which the full consent rule judges together.
                    twins = history.startswith("two") and purpose.id in {
                        getattr(event, "purpose", None) for event in QUIET[history]
                    }
                    assert made is not None or (twins and at >= T0)
                    answered += made is not None
    # A grant recorded late is no shape the quick path takes: the full plan decides it.
    assert answered or (history == "recorded late" and Subject("s", QUIET[history])._index.late)


def test_a_reason_whose_message_is_written_when_read_is_an_ordinary_reason() -> None:
    """A reason the engine makes with its message pending (lazy_reason) reads, compares,
    hashes, prints, pickles, copies and evolves as the same reason made at once; the
    pending render is no field of the value, and the message is written once.
    """
    import copy  # noqa: PLC0415 - only this test needs them
    import pickle  # noqa: PLC0415

    from lawful.decision import lazy_reason  # noqa: PLC0415

    event = ConsentGiven(at=T0, purpose="analytics")
    calls: list[object] = []

    def render(pid: str, at: datetime) -> str:
        calls.append(pid)
        return f"Consent for '{pid}' was given at {at.isoformat()} and is in force."

    def made() -> lawful.Reason:
        return lazy_reason(ReasonCode.CONSENT_GIVEN, "Art. 6(1)(a)", event, None, render, "a", T0)

    eager = lawful.Reason(
        ReasonCode.CONSENT_GIVEN, render("a", T0), "Art. 6(1)(a)", event=event, clause=None
    )
    calls.clear()
    lazy = made()
    assert calls == []  # nothing written until read
    assert lazy.message == eager.message
    assert lazy.message == eager.message
    assert calls == ["a"]  # written once, then kept
    # What a reader that found the slot empty while another thread wrote it gets:
    assert lazy.__getattr__("message") == eager.message  # type: ignore[attr-defined]
    for fresh in (made(), made(), made(), made(), made(), made()):
        assert fresh == eager
    assert hash(made()) == hash(eager)
    assert repr(made()) == repr(eager)
    assert pickle.loads(pickle.dumps(made())) == eager  # noqa: S301 - our own bytes
    assert copy.deepcopy(made()) == eager
    assert attrs.evolve(made(), clause="c") == attrs.evolve(eager, clause="c")
    assert attrs.asdict(made(), recurse=False) == attrs.asdict(eager, recurse=False)
    assert [f.name for f in attrs.fields(lawful.Reason)] == [
        "code",
        "message",
        "article",
        "event",
        "clause",
    ]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        made().nothing  # type: ignore[attr-defined]  # noqa: B018 - the read is the test
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        made().message = "x"  # type: ignore[misc]
