"""Decisions: every ReasonCode from the shop policy, with its article, basis and explain().

One row per code (tests/_shop.py's policy, loaded from TOML) gives the history, the
question, and the code, answer, article and deciding event or clause it must give; the
table covers the closed enum. Then what a Decision and a Reason are as values, however
the engine made them (docs/explanation/decision.md, "What a decision carries").
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest
from tests._shop import AT, POLICY, POLICY_AGE_DENY, T0, T1

import lawful
from lawful import (
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Decision,
    Erasure,
    Event,
    Objection,
    ObjectionOverridden,
    OptOut,
    ParentalConsentGiven,
    Policy,
    ReasonCode,
    RestrictionRequested,
    Subject,
)
from lawful._json import describe_event
from lawful.decision import ARTICLES

pytestmark = pytest.mark.usefixtures("no_clock")


# -- one row per ReasonCode ----------------------------------------------------------------


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


@pytest.mark.parametrize("row", ROWS.values(), ids=list(ROWS))
def test_every_allow_names_basis_and_what_decided(row: Row) -> None:
    """No decision comes without a reason naming its basis and the deciding event or clause."""
    decision = _decide(row)
    for reason in decision.reasons:
        assert reason.event is not None or reason.clause is not None


# -- explain() -----------------------------------------------------------------------------


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


# -- values however made -------------------------------------------------------------------


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
