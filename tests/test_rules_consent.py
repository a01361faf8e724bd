"""Consent as a basis (Art. 4(11), 6(1)(a), 7): stored data, records, versions, methods.

Tables for issue 15 items 1, 2, 5 and 14: the consent must have been in force when the
data was collected; a grant never takes effect before it is on record; an unversioned
consent is judged under the version in force at its instant; a pre-ticked box, silence
or inactivity grants nothing; an expiry cites the policy's clause.

The tests after the tables ask the site policy (``tests/_site.py``): a lifetime reached
exactly has expired (Art. 7(1)); per-vendor consent; staleness when the terms grew
(Art. 4(11)); explicit consent for special categories (Art. 9(2)(a)).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest
from tests._rules import DAY, T0, US, consent, decide, events, policy, utc
from tests._site import ANALYTICS_STATEMENT
from tests._site import POLICY as SITE
from tests._site import code as site_code
from tests._site import decide as site_decide

from lawful import (
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Duration,
    Event,
    LegalBasis,
    Objection,
    Policy,
    PolicyVersion,
    PurposeTerms,
    ReasonCode,
    Subject,
)

pytestmark = pytest.mark.usefixtures("no_clock")

POLICY = policy(consent(consent_lifetime=Duration.parse("1 month")))
C = T0 + DAY  # when the stored data was collected
AT = T0 + 10 * DAY


def grant(at: datetime, **kw: object) -> ConsentGiven:
    """A consent to purpose ``p``."""
    return ConsentGiven(at=at, purpose="p", **kw)  # type: ignore[arg-type]


def withdrawal(at: datetime) -> ConsentWithdrawn:
    """A withdrawal of consent to purpose ``p``."""
    return ConsentWithdrawn(at=at, purpose="p")


# (history, collected_at, expected code)
STORED: dict[str, tuple[tuple[Event, ...], datetime, ReasonCode]] = {
    "consent before collection, still in force": ((grant(T0),), C, ReasonCode.CONSENT_GIVEN),
    "consent only after collection": ((grant(C + DAY),), C, ReasonCode.NO_CONSENT),
    "consent given at the collection instant": ((grant(C),), C, ReasonCode.CONSENT_GIVEN),
    "withdrawn and given again since collection": (
        (grant(T0), withdrawal(C + DAY), grant(C + 2 * DAY)),
        C,
        ReasonCode.CONSENT_WITHDRAWN,
    ),
    "re-consent covers data collected after it": (
        (grant(T0), withdrawal(T0 + 2 * DAY), grant(T0 + 3 * DAY)),
        T0 + 4 * DAY,
        ReasonCode.CONSENT_GIVEN,
    ),
    "withdrawn before collection, re-given after": (
        (grant(T0 - DAY), withdrawal(T0), grant(C + DAY)),
        C,
        ReasonCode.NO_CONSENT,
    ),
    "expired when collected, renewed since": (
        (grant(utc(2025, 1, 1)), grant(C + DAY)),
        C,
        ReasonCode.NO_CONSENT,
    ),
    "renewed in time, never withdrawn": (
        (grant(T0 - 20 * DAY), grant(T0 + 5 * DAY)),
        C,
        ReasonCode.CONSENT_GIVEN,
    ),
    "an objection since collection counts as a withdrawal": (
        (grant(T0), Objection(at=C + DAY, purpose="p"), grant(C + 2 * DAY)),
        C,
        ReasonCode.CONSENT_WITHDRAWN,
    ),
    "recorded only after collection": (
        (grant(T0, recorded_at=C + DAY),),
        C,
        ReasonCode.NO_CONSENT,
    ),
    # Data collected at the decision's instant is not stored data: judged at `at` alone.
    "collected at the decision's instant, consent expired": (
        (grant(utc(2025, 1, 1)),),
        AT,
        ReasonCode.CONSENT_EXPIRED,
    ),
    "collected at the decision's instant, consent stale and expired": (
        (grant(utc(2025, 1, 1), policy_version="v0"),),
        AT,
        ReasonCode.CONSENT_STALE,
    ),
}


@pytest.mark.parametrize(("history", "collected", "expected"), STORED.values(), ids=list(STORED))
def test_stored_data_needs_its_consent_at_collection(
    history: tuple[Event, ...], collected: datetime, expected: ReasonCode
) -> None:
    """Art. 6(1)(a), 7(3): collection needs its basis; a withdrawal reaches the data before it."""
    decision = decide(POLICY, history, AT, collected_at=collected)
    assert decision.code is expected
    assert decision.allowed is (expected is ReasonCode.CONSENT_GIVEN)
    assert decision.reason.article.startswith("Art. ")


def test_a_withdrawal_at_a_later_instant_does_not_reach_fresh_data_after_a_re_consent() -> None:
    """Art. 7(3): fresh data collected after a re-consent is covered by it."""
    history = (grant(T0), withdrawal(C), grant(C + DAY))
    assert decide(POLICY, history, AT).allowed


# (recorded_at offset, query instant, allowed)
RECORDED = {
    "before it is recorded": (DAY, T0 + DAY / 2, False),
    "from the instant it is recorded": (DAY, T0 + DAY, True),
    "recorded before its at: from its at": (-DAY, T0, True),
    "recorded before its at: not before its at": (-DAY, T0 - US, False),
}


@pytest.mark.parametrize(("offset", "at", "allowed"), RECORDED.values(), ids=list(RECORDED))
def test_a_grant_takes_effect_when_it_is_on_record(
    offset: object, at: datetime, allowed: bool
) -> None:
    """Art. 7(1): a grant takes effect at the later of its at and its recorded_at."""
    history = (grant(T0, recorded_at=T0 + offset),)  # type: ignore[operator]
    assert decide(POLICY, history, at).allowed is allowed


def test_a_withdrawal_takes_effect_at_its_at_even_recorded_late() -> None:
    """Art. 7(3): a withdrawal recorded late still takes effect at its own at."""
    history = (grant(T0), ConsentWithdrawn(at=C, purpose="p", recorded_at=C + 5 * DAY))
    assert decide(POLICY, history, C + DAY).code is ReasonCode.CONSENT_WITHDRAWN


def test_kept_decisions_see_a_grant_become_effective() -> None:
    """The kept-decision cache ends at the instant a late-recorded grant takes effect."""
    subject = Subject("s", [grant(T0, recorded_at=T0 + DAY)])
    assert not POLICY.may_process(subject, "p", T0 + DAY / 2).allowed
    assert POLICY.may_process(subject, "p", T0 + DAY).allowed
    grown = Subject("s", []).add(grant(T0, recorded_at=T0 + DAY))
    assert not POLICY.may_process(grown, "p", T0 + DAY / 2).allowed
    assert POLICY.may_process(grown, "p", T0 + DAY - US).code is ReasonCode.NO_CONSENT
    assert POLICY.may_process(grown, "p", T0 + DAY).allowed


# -- versions (Art. 4(11), 7(1); C-61/19 Orange Romania) --------------------------------------

OLD_TERMS = PurposeTerms("The p purpose", consent().basis, frozenset({"self"}), frozenset())
V0 = PolicyVersion("v0", {"p": OLD_TERMS}, effective_from=utc(2024, 1, 1))
DATED = attrs.evolve(POLICY, previous_versions=(V0,), effective_from=utc(2025, 1, 1))
UNDATED = attrs.evolve(POLICY, previous_versions=(attrs.evolve(V0, effective_from=None),))

# (policy, consent instant, version stamped, expected code)
VERSIONS = {
    "given under the old version: stale": (DATED, utc(2024, 6, 1), None, ReasonCode.CONSENT_STALE),
    "given under the current version": (DATED, utc(2025, 2, 1), None, ReasonCode.CONSENT_GIVEN),
    "before every dated version: the oldest": (
        DATED,
        utc(2023, 6, 1),
        None,
        ReasonCode.CONSENT_STALE,
    ),
    "no version dated: the oldest": (UNDATED, utc(2025, 2, 1), None, ReasonCode.CONSENT_STALE),
    "stamped with the current version": (UNDATED, utc(2025, 2, 1), "v1", ReasonCode.CONSENT_GIVEN),
    "no earlier version: the current one": (
        POLICY,
        utc(2025, 2, 1),
        None,
        ReasonCode.CONSENT_GIVEN,
    ),
}


@pytest.mark.parametrize(
    ("pol", "given", "version", "expected"), VERSIONS.values(), ids=list(VERSIONS)
)
def test_an_unversioned_consent_is_judged_under_the_version_in_force(
    pol: Policy, given: datetime, version: str | None, expected: ReasonCode
) -> None:
    """Art. 4(11), 7(1): the controller must show what was consented to; a later text was not."""
    history = (grant(given, policy_version=version),)
    decision = decide(pol, history, given + DAY)
    assert decision.code is expected


# -- methods that are no consent (Art. 4(11), recital 32, C-673/17 Planet49) -------------------

NOT_CONSENT = [ConsentMethod.PRE_TICKED_BOX, ConsentMethod.SILENCE, ConsentMethod.INACTIVITY]


@pytest.mark.parametrize("method", NOT_CONSENT, ids=lambda m: m.value)
def test_a_consent_that_is_no_affirmative_act_grants_nothing(method: ConsentMethod) -> None:
    """Art. 4(11), recital 32: a pre-ticked box, silence or inactivity is never consent."""
    assert decide(POLICY, (grant(T0, method=method),), AT).code is ReasonCode.NO_CONSENT


@pytest.mark.parametrize("method", NOT_CONSENT, ids=lambda m: m.value)
@pytest.mark.parametrize(
    "history",
    [(), (grant(T0),), (grant(T0), withdrawal(C)), (grant(T0), Objection(at=C, purpose="p"))],
    ids=["nothing", "a grant", "a withdrawal", "an objection"],
)
def test_a_consent_that_is_no_affirmative_act_changes_nothing(
    method: ConsentMethod, history: tuple[Event, ...]
) -> None:
    """Planet49: adding such an event never changes any decision, fresh or stored."""
    more = (*history, grant(C + DAY, method=method))
    for at in (C + DAY, AT, T0 + 40 * DAY):
        assert decide(POLICY, more, at) == decide(POLICY, history, at)
        stored = decide(POLICY, history, at, collected_at=C)
        assert decide(POLICY, more, at, collected_at=C) == stored


def test_a_consent_that_is_no_affirmative_act_changes_nothing_added_later() -> None:
    """Planet49: Subject.add of such an event keeps every answer."""
    subject = Subject("s", events([grant(T0)]))
    before = POLICY.may_process(subject, "p", AT)
    after = subject.add(grant(C, method=ConsentMethod.PRE_TICKED_BOX))
    assert POLICY.may_process(after, "p", AT) == before


# -- expiry cites the policy (the GDPR sets no lifetime) --------------------------------------


def test_an_expired_consent_cites_the_policy_clause() -> None:
    """Art. 6(1)(a): the lifetime is the policy's clause, not a rule of Art. 7(1)."""
    decision = decide(POLICY, (grant(T0),), T0 + 40 * DAY)
    assert decision.code is ReasonCode.CONSENT_EXPIRED
    assert decision.reason.article == "Art. 6(1)(a)"
    assert decision.reason.clause == "purposes.p.consent_lifetime"


# A grant recorded late takes effect when recorded, but its place among the person's
# choices is its `at`: a withdrawal (objection, opt-out, contract end) made after it was
# given stops it, however late the grant was written down (docs/explanation/decision.md,
# "Conventions at the edges": a record never back-dates a permission; Art. 7(3)).
# (history, query instant, collected_at, expected code)
LATE = {
    "withdrawn after it was given, before it was recorded": (
        (grant(T0, recorded_at=T0 + 5 * DAY), withdrawal(T0 + DAY)),
        T0 + 6 * DAY,
        None,
        ReasonCode.CONSENT_WITHDRAWN,
    ),
    "withdrawn after it was given, queried before it was recorded": (
        (grant(T0, recorded_at=T0 + 5 * DAY), withdrawal(T0 + DAY)),
        T0 + 2 * DAY,
        None,
        ReasonCode.CONSENT_WITHDRAWN,
    ),
    "a withdrawal before it was given does not stop it once recorded": (
        (withdrawal(T0 - DAY), grant(T0, recorded_at=T0 + 5 * DAY)),
        T0 + 6 * DAY,
        None,
        ReasonCode.CONSENT_GIVEN,
    ),
    "an earlier grant stays in force while a later one is not yet recorded": (
        (grant(T0), grant(T0 + DAY, recorded_at=T0 + 5 * DAY)),
        T0 + 2 * DAY,
        None,
        ReasonCode.CONSENT_GIVEN,
    ),
    "stored data collected before the grant was recorded": (
        (grant(T0, recorded_at=T0 + 5 * DAY),),
        T0 + 6 * DAY,
        T0 + DAY,
        ReasonCode.NO_CONSENT,
    ),
    "stored data, withdrawn between collection and now": (
        (grant(T0, recorded_at=T0 + DAY), withdrawal(T0 + 3 * DAY)),
        T0 + 6 * DAY,
        T0 + 2 * DAY,
        ReasonCode.CONSENT_WITHDRAWN,
    ),
    "an objection to every purpose after it was given": (
        (grant(T0, recorded_at=T0 + 5 * DAY), Objection(at=T0 + DAY)),
        T0 + 6 * DAY,
        None,
        ReasonCode.CONSENT_WITHDRAWN,
    ),
}


@pytest.mark.parametrize(("history", "at", "collected_at", "code"), LATE.values(), ids=list(LATE))
def test_a_late_record_never_outranks_a_later_withdrawal(
    history: tuple[Event, ...], at: datetime, collected_at: datetime | None, code: ReasonCode
) -> None:
    """Art. 7(3): choices count in the order the person made them; a late record only
    delays a grant, it never moves it past a withdrawal made after it.
    """
    subject = Subject("s", history)
    assert POLICY.may_process(subject, "p", at, collected_at=collected_at).code is code
    grown = Subject("s", [])
    for event in history:
        grown = grown.add(event)
    assert POLICY.may_process(grown, "p", at, collected_at=collected_at).code is code


def test_a_late_contract_start_never_outranks_its_end() -> None:
    """Art. 6(1)(b): a contract ended after it started is not in force, however late its
    start was recorded.
    """
    from tests._rules import on  # noqa: PLC0415

    from lawful import LegalBasis  # noqa: PLC0415

    contract = policy(on(LegalBasis.CONTRACT))
    history = [
        ContractStarted(at=T0, contract="k", recorded_at=T0 + 5 * DAY),
        ContractEnded(at=T0 + DAY, contract="k"),
    ]
    later = contract.may_process(Subject("s", history), "p", T0 + 6 * DAY)
    assert later.code is ReasonCode.NO_CONTRACT
    again = [*history, ContractStarted(at=T0 + 7 * DAY, contract="k")]
    assert contract.may_process(Subject("s", again), "p", T0 + 8 * DAY).allowed


# -- lifetime ------------------------------------------------------------------------------


def test_consent_lifetime_reached_exactly_has_expired() -> None:
    """Art. 7(1): with a grant at s and a lifetime d, ``at >= s + d`` is expired."""
    s = utc(2025, 3, 10, 8, 30)
    end = utc(2025, 4, 10, 8, 30)
    grant = ConsentGiven(at=s, purpose="analytics")
    last = site_decide([grant], "analytics", end - US)
    assert last.allowed
    assert last.valid_until == end
    expired = site_decide([grant], "analytics", end)
    assert expired.code is ReasonCode.CONSENT_EXPIRED
    assert expired.reason.event == grant
    assert expired.valid_until is None


def test_a_regrant_restarts_the_lifetime() -> None:
    """A new consent after expiry is in force again, with its own lifetime."""
    grants = [
        ConsentGiven(at=utc(2025, 1, 1), purpose="analytics"),
        ConsentGiven(at=utc(2025, 3, 1), purpose="analytics"),
    ]
    assert site_code(grants[:1], "analytics", utc(2025, 3, 1)) is ReasonCode.CONSENT_EXPIRED
    decision = site_decide(grants, "analytics", utc(2025, 3, 15))
    assert decision.allowed
    assert decision.reason.event == grants[1]
    assert decision.valid_until == utc(2025, 4, 1)


# -- per-vendor consent --------------------------------------------------------------------


def test_per_vendor_consent_later_event_wins() -> None:
    """The later of the purpose-wide and the vendor's own event decides for that vendor."""
    wide = ConsentGiven(at=T0, purpose="ads")
    no_adnet = ConsentWithdrawn(at=T0 + timedelta(days=1), purpose="ads", vendor="adnet")
    at = T0 + timedelta(days=2)
    events = [wide, no_adnet]
    assert site_code(events, "ads", at, vendor="adnet") is ReasonCode.CONSENT_WITHDRAWN
    assert site_decide(events, "ads", at, vendor="social").reason.event == wide
    assert site_code(events, "ads", at) is ReasonCode.CONSENT_WITHDRAWN  # every vendor needed
    regrant = ConsentGiven(at=T0 + timedelta(days=2), purpose="ads")
    assert site_decide([*events, regrant], "ads", at).allowed


def test_per_vendor_consent_covers_every_needed_vendor() -> None:
    """With vendor=None every declared vendor must be covered by a grant."""
    adnet = ConsentGiven(at=T0, purpose="ads", vendor="adnet")
    social = ConsentGiven(at=T0, purpose="ads", vendor="social")
    assert site_code([adnet], "ads", T0) is ReasonCode.NO_CONSENT
    assert site_decide([adnet], "ads", T0, vendor="adnet").allowed
    both = site_decide([adnet, social], "ads", T0)
    assert both.allowed
    assert {r.event for r in both.reasons} == {adnet, social}
    assert all(r.code is ReasonCode.CONSENT_GIVEN for r in both.reasons)


def test_vendor_grant_after_a_purpose_wide_withdrawal() -> None:
    """A vendor's own later grant covers that vendor only."""
    out = ConsentWithdrawn(at=T0, purpose="ads")
    adnet = ConsentGiven(at=T0 + timedelta(hours=1), purpose="ads", vendor="adnet")
    at = T0 + timedelta(hours=2)
    assert site_decide([out, adnet], "ads", at, vendor="adnet").allowed
    assert site_code([out, adnet], "ads", at, vendor="social") is ReasonCode.CONSENT_WITHDRAWN


def test_a_vendor_withdrawal_counts_for_a_purpose_wide_consent() -> None:
    """Without per-vendor consent, a later withdrawal for one vendor still stops that vendor."""
    events = [
        ConsentGiven(at=T0, purpose="analytics"),
        ConsentWithdrawn(at=T0 + US, purpose="analytics", vendor="cdn"),
    ]
    at = T0 + timedelta(hours=1)
    assert site_code(events, "analytics", at, vendor="cdn") is ReasonCode.CONSENT_WITHDRAWN
    assert site_code(events, "analytics", at) is ReasonCode.CONSENT_WITHDRAWN
    assert site_decide(events, "analytics", at, vendor="self").allowed


def test_a_vendor_grant_is_not_consent_to_a_purpose_wide_purpose() -> None:
    """Where consent is purpose-wide, a grant for one vendor does not cover the purpose."""
    grant = ConsentGiven(at=T0, purpose="analytics", vendor="self")
    assert site_code([grant], "analytics", T0, vendor="self") is ReasonCode.NO_CONSENT


# -- staleness (Art. 4(11)) ----------------------------------------------------------------

NOW_TERMS = SITE.purpose("analytics").terms


STALENESS: dict[str, tuple[dict[str, object], bool]] = {
    "current version": ({"policy_version": "v2"}, False),
    "no version: current terms": ({}, False),
    "known earlier version with a new vendor since": ({"policy_version": "v1"}, True),
    "unknown version": ({"policy_version": "v0"}, True),
    "same terms recorded": ({"terms": NOW_TERMS}, False),
    "new vendor": (
        {
            "terms": PurposeTerms(
                ANALYTICS_STATEMENT, LegalBasis.CONSENT, frozenset({"self"}), NOW_TERMS.data
            )
        },
        True,
    ),
    "new data category": (
        {
            "terms": PurposeTerms(
                ANALYTICS_STATEMENT, LegalBasis.CONSENT, NOW_TERMS.vendors, frozenset({"ip"})
            )
        },
        True,
    ),
    "changed basis": (
        {
            "terms": PurposeTerms(
                ANALYTICS_STATEMENT,
                LegalBasis.LEGITIMATE_INTERESTS,
                NOW_TERMS.vendors,
                NOW_TERMS.data,
            )
        },
        True,
    ),
    "changed statement": (
        {
            "terms": PurposeTerms(
                "Count visits", LegalBasis.CONSENT, NOW_TERMS.vendors, NOW_TERMS.data
            )
        },
        True,
    ),
    "a vendor removed since": (
        {
            "terms": PurposeTerms(
                ANALYTICS_STATEMENT,
                LegalBasis.CONSENT,
                NOW_TERMS.vendors | {"adnet"},
                NOW_TERMS.data,
            )
        },
        False,
    ),
    "a data category removed since": (
        {
            "terms": PurposeTerms(
                ANALYTICS_STATEMENT,
                LegalBasis.CONSENT,
                NOW_TERMS.vendors,
                NOW_TERMS.data | {"email"},
            )
        },
        False,
    ),
}


@pytest.mark.parametrize(("fields", "stale"), STALENESS.values(), ids=list(STALENESS))
def test_staleness(fields: dict[str, object], stale: bool) -> None:
    """Art. 4(11): a consent is stale when the current terms go beyond those consented to."""
    grant = ConsentGiven(at=T0, purpose="analytics", **fields)  # type: ignore[arg-type]
    decision = site_decide([grant], "analytics", T0)
    if stale:
        assert decision.code is ReasonCode.CONSENT_STALE
        assert decision.reason.event == grant
    else:
        assert decision.allowed


# -- explicit consent (Art. 9(2)(a)) -------------------------------------------------------


def test_explicit_consent_under_article_9_2_a() -> None:
    """Art. 9(2)(a): special categories need explicit consent; plain consent is not enough."""
    plain = ConsentGiven(at=T0, purpose="health")
    explicit = ConsentGiven(at=T0, purpose="health", explicit=True, method=ConsentMethod.CHECKBOX)
    assert site_code([plain], "health", T0) is ReasonCode.EXPLICIT_CONSENT_REQUIRED
    assert site_decide([explicit], "health", T0).allowed
    later_plain = ConsentGiven(at=T0 + US, purpose="health")
    assert site_code([explicit, later_plain], "health", T0 + US) is (
        ReasonCode.EXPLICIT_CONSENT_REQUIRED
    )
