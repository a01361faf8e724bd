"""Instants: from when an event counts, which wins a tie, zones, months, and valid_until.

The conventions at the edges (docs/explanation/decision.md), asked of the site policy
(``tests/_site.py``): an event is in effect from its own instant; of conflicting events
at one instant the more restrictive wins, in any order; one instant written in two
zones is one instant; months are calendar months counted in UTC; ``valid_until`` is
the earliest deadline that can change the answer, shown in the zone of ``at``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from tests._rules import T0, US, utc
from tests._site import PLUS2, code, decide

from lawful import (
    AfterCollection,
    AgeDeclared,
    AgeRules,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Duration,
    Erasure,
    Event,
    LegalBasis,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    Policy,
    Purpose,
    ReasonCode,
    RestrictionLifted,
    RestrictionRequested,
    Retention,
    Subject,
)

pytestmark = pytest.mark.usefixtures("no_clock")


# -- instants ------------------------------------------------------------------------------


def test_a_grant_allows_from_its_own_instant() -> None:
    """An event stamped exactly at ``at`` is in effect: a consent allows at its own instant."""
    grant = ConsentGiven(at=T0, purpose="analytics")
    assert code([grant], "analytics", T0 - US) is ReasonCode.NO_CONSENT
    assert decide([grant], "analytics", T0).allowed


def test_a_withdrawal_denies_from_its_own_instant() -> None:
    """Art. 7(3): the withdrawal denies at its exact instant, and not a microsecond before."""
    w = T0 + timedelta(days=3)
    events = [ConsentGiven(at=T0, purpose="analytics"), ConsentWithdrawn(at=w, purpose="analytics")]
    assert decide(events, "analytics", w - US).allowed
    denied = decide(events, "analytics", w)
    assert denied.code is ReasonCode.CONSENT_WITHDRAWN
    assert denied.reason.event == events[1]


def test_withdrawal_is_not_retroactive() -> None:
    """Art. 7(3): a withdrawal leaves the decision at earlier instants unchanged."""
    grant = ConsentGiven(at=T0, purpose="analytics")
    at = T0 + timedelta(days=1)
    before = decide([grant], "analytics", at)
    later = decide([grant, ConsentWithdrawn(at=at + US, purpose="analytics")], "analytics", at)
    assert before == later
    assert before.allowed


BEFORE_FIRST: dict[str, tuple[str, Event, bool, ReasonCode]] = {
    "consent": (
        "analytics",
        ConsentGiven(at=T0, purpose="analytics"),
        False,
        ReasonCode.NO_CONSENT,
    ),
    "contract": ("orders", ContractStarted(at=T0, contract="c"), False, ReasonCode.NO_CONTRACT),
    "legitimate interests": (
        "fraud",
        Objection(at=T0, purpose="fraud"),
        True,
        ReasonCode.LEGITIMATE_INTEREST,
    ),
    "legal obligation": ("invoices", Erasure(at=T0), True, ReasonCode.LEGAL_OBLIGATION),
    "vital interests": ("emergency", RestrictionRequested(at=T0), True, ReasonCode.VITAL_INTERESTS),
    "public task": ("census", Objection(at=T0), True, ReasonCode.PUBLIC_TASK),
}


@pytest.mark.parametrize(
    ("purpose", "event", "allowed", "expected"), BEFORE_FIRST.values(), ids=list(BEFORE_FIRST)
)
def test_a_query_before_the_first_event(
    purpose: str, event: Event, allowed: bool, expected: ReasonCode
) -> None:
    """Before the first event each basis decides as with no history; later events are unseen."""
    decision = decide([event], purpose, T0 - US)
    assert decision == decide([], purpose, T0 - US)
    assert (decision.allowed, decision.code) == (allowed, expected)


# -- ties at one instant -------------------------------------------------------------------

TIES: dict[str, tuple[str, list[Event], ReasonCode, dict[str, object]]] = {
    "withdrawal over grant": (
        "analytics",
        [ConsentGiven(at=T0, purpose="analytics"), ConsentWithdrawn(at=T0, purpose="analytics")],
        ReasonCode.CONSENT_WITHDRAWN,
        {},
    ),
    "objection over grant": (
        "analytics",
        [ConsentGiven(at=T0, purpose="analytics"), Objection(at=T0, purpose="analytics")],
        ReasonCode.CONSENT_WITHDRAWN,
        {},
    ),
    "restriction over lift": (
        "fraud",
        [RestrictionLifted(at=T0), RestrictionRequested(at=T0)],
        ReasonCode.RESTRICTED,
        {},
    ),
    "purpose restriction over global lift": (
        "fraud",
        [RestrictionLifted(at=T0), RestrictionRequested(at=T0, purpose="fraud")],
        ReasonCode.RESTRICTED,
        {},
    ),
    "contract end over start": (
        "orders",
        [ContractStarted(at=T0, contract="c"), ContractEnded(at=T0, contract="c")],
        ReasonCode.NO_CONTRACT,
        {},
    ),
    "erasure over a consent at its instant": (
        "analytics",
        [Erasure(at=T0), ConsentGiven(at=T0, purpose="analytics")],
        ReasonCode.ERASED,
        {},
    ),
    "objection over its withdrawal": (
        "fraud",
        [ObjectionWithdrawn(at=T0, purpose="fraud"), Objection(at=T0, purpose="fraud")],
        ReasonCode.OBJECTED,
        {},
    ),
    "objection over an override at its instant": (
        "fraud",
        [ObjectionOverridden(at=T0, purpose="fraud", grounds="g"), Objection(at=T0)],
        ReasonCode.OBJECTED,
        {},
    ),
    "opt-out over its withdrawal": (
        "fraud",
        [OptOutWithdrawn(at=T0, scope="tracking"), OptOut(at=T0, scope="tracking")],
        ReasonCode.OPTED_OUT,
        {},
    ),
    "parental withdrawal over parental consent": (
        "analytics",
        [
            BirthDateDeclared(at=T0, birth_date=date(2011, 1, 1)),
            ParentalConsentGiven(at=T0),
            ParentalConsentWithdrawn(at=T0),
            ConsentGiven(at=T0, purpose="analytics"),
        ],
        ReasonCode.PARENTAL_CONSENT_REQUIRED,
        {},
    ),
    "vendor withdrawal over purpose-wide grant": (
        "ads",
        [
            ConsentGiven(at=T0, purpose="ads"),
            ConsentWithdrawn(at=T0, purpose="ads", vendor="adnet"),
        ],
        ReasonCode.CONSENT_WITHDRAWN,
        {"vendor": "adnet"},
    ),
    "purpose-wide withdrawal over vendor grant": (
        "ads",
        [
            ConsentGiven(at=T0, purpose="ads", vendor="adnet"),
            ConsentWithdrawn(at=T0, purpose="ads"),
        ],
        ReasonCode.CONSENT_WITHDRAWN,
        {"vendor": "adnet"},
    ),
}


@pytest.mark.parametrize(("purpose", "events", "expected", "query"), TIES.values(), ids=list(TIES))
def test_conflicting_events_at_one_instant_the_more_restrictive_wins(
    purpose: str, events: list[Event], expected: ReasonCode, query: dict[str, object]
) -> None:
    """At one instant the more restrictive event wins, whatever order they were given in."""
    for order in (events, events[::-1]):
        assert code(order, purpose, T0, **query) is expected
        assert code(order, purpose, T0 + timedelta(days=1), **query) is expected


GRANT_TIES: dict[str, tuple[str, list[Event], ReasonCode, dict[str, object]]] = {
    "explicit and not explicit": (
        "health",
        [
            ConsentGiven(at=T0, purpose="health", explicit=True),
            ConsentGiven(at=T0, purpose="health", explicit=False),
        ],
        ReasonCode.EXPLICIT_CONSENT_REQUIRED,
        {},
    ),
    "current and stale version": (
        "analytics",
        [
            ConsentGiven(at=T0, purpose="analytics", policy_version="v2"),
            ConsentGiven(at=T0, purpose="analytics", policy_version="v1"),
        ],
        ReasonCode.CONSENT_STALE,
        {},
    ),
    "purpose-wide and a vendor's own, one stale": (
        "ads",
        [
            ConsentGiven(at=T0, purpose="ads"),
            ConsentGiven(at=T0, purpose="ads", vendor="adnet", policy_version="v0"),
        ],
        ReasonCode.CONSENT_STALE,
        {"vendor": "adnet"},
    ),
}


@pytest.mark.parametrize(
    ("purpose", "events", "expected", "query"), GRANT_TIES.values(), ids=list(GRANT_TIES)
)
def test_conflicting_grants_at_one_instant_the_more_restrictive_wins(
    purpose: str, events: list[Event], expected: ReasonCode, query: dict[str, object]
) -> None:
    """Two grants at one instant that disagree: the one that fails decides, in any order."""
    for order in (events, events[::-1]):
        assert code(order, purpose, T0, **query) is expected
    assert decide(events[:1], purpose, T0, **query).allowed


# -- zones and calendar months -------------------------------------------------------------


def test_same_instant_written_with_an_offset_and_in_utc() -> None:
    """12:00Z and 14:00+02:00 are one instant: events and queries agree however written."""
    z = utc(2025, 3, 1, 12)
    plus2 = datetime(2025, 3, 1, 14, tzinfo=PLUS2)
    assert z == plus2
    grant = ConsentGiven(at=T0, purpose="analytics")
    for w in (z, plus2):
        events = [grant, ConsentWithdrawn(at=w, purpose="analytics")]
        for at in (z, plus2):
            assert code(events, "analytics", at) is ReasonCode.CONSENT_WITHDRAWN
            assert decide(events, "analytics", at - US).allowed
    assert Subject("s", [ConsentGiven(at=z, purpose="a")]) == Subject(
        "s", [ConsentGiven(at=plus2, purpose="a")]
    )
    by_z = decide([ConsentGiven(at=z, purpose="analytics")], "analytics", plus2)
    by_plus2 = decide([ConsentGiven(at=plus2, purpose="analytics")], "analytics", z)
    assert by_z.allowed
    assert by_plus2.allowed
    assert by_z.valid_until == by_plus2.valid_until


def test_valid_until_is_given_in_the_zone_of_at() -> None:
    """valid_until is the same instant however ``at`` is written, shown in ``at``'s zone."""
    grant = ConsentGiven(at=utc(2025, 3, 1, 12), purpose="analytics")
    in_plus2 = decide([grant], "analytics", datetime(2025, 3, 2, tzinfo=PLUS2))
    assert in_plus2.valid_until == utc(2025, 4, 1, 12)
    assert in_plus2.valid_until is not None
    assert in_plus2.valid_until.utcoffset() == timedelta(hours=2)


@pytest.mark.parametrize(
    ("start", "expiry"),
    [
        (utc(2025, 1, 31, 10), utc(2025, 2, 28, 10)),  # clamps to the last day of February
        (utc(2024, 1, 31, 10), utc(2024, 2, 29, 10)),  # leap year
        (utc(2025, 3, 31, 10), utc(2025, 4, 30, 10)),
        (utc(2025, 12, 31, 23, 59), utc(2026, 1, 31, 23, 59)),  # year boundary
        (utc(2025, 1, 15, 10), utc(2025, 2, 15, 10)),
    ],
)
def test_months_are_calendar_months_that_clamp(start: datetime, expiry: datetime) -> None:
    """One month after 31 January is 28 (or 29) February (docs/explanation/decision.md)."""
    grant = ConsentGiven(at=start, purpose="analytics")
    assert decide([grant], "analytics", expiry - US).valid_until == expiry
    assert code([grant], "analytics", expiry) is ReasonCode.CONSENT_EXPIRED


def test_months_are_counted_in_utc_whatever_the_offset() -> None:
    """The same grant instant written in two zones expires at the same instant."""
    local = datetime(2025, 3, 31, 1, tzinfo=PLUS2)  # 2025-03-30T23:00Z
    as_utc = local.astimezone(UTC)
    one = decide([ConsentGiven(at=local, purpose="analytics")], "analytics", utc(2025, 4, 1))
    two = decide([ConsentGiven(at=as_utc, purpose="analytics")], "analytics", utc(2025, 4, 1))
    assert one.valid_until == two.valid_until == utc(2025, 4, 30, 23)


def test_an_instant_near_the_end_of_time_in_a_zone_ahead_of_utc() -> None:
    """valid_until that cannot be written in the zone of ``at`` is given in UTC instead."""
    c = datetime(9999, 12, 30, 23, tzinfo=UTC)
    at = c.astimezone(PLUS2)  # 9999-12-31T01:00+02:00
    decision = decide([], "visit", at, collected_at=c)
    assert decision.valid_until == c + timedelta(minutes=30)


# -- valid_until ---------------------------------------------------------------------------


def test_valid_until_is_the_earliest_deadline() -> None:
    """With a consent expiry and a retention limit ahead, valid_until is the earlier one."""
    grant = ConsentGiven(at=utc(2025, 3, 1), purpose="analytics")  # expires 1 April
    # The data was collected under an earlier consent, renewed since without a withdrawal.
    first = ConsentGiven(at=utc(2024, 9, 15), purpose="analytics")
    early = decide([first, grant], "analytics", utc(2025, 3, 2), collected_at=utc(2024, 9, 15))
    assert early.valid_until == utc(2025, 3, 15)  # 6 months after collection
    late = decide([grant], "analytics", utc(2025, 3, 2), collected_at=utc(2025, 3, 1))
    assert late.valid_until == utc(2025, 4, 1)


def test_a_denials_valid_until_names_only_what_can_lift_it() -> None:
    """A denial that no deadline can lift has no valid_until, whatever limits lie ahead."""
    c = utc(2025, 3, 1)
    # NO_CONSENT: the retention limit ahead would not turn it into an allow.
    assert decide([], "analytics", c + US, collected_at=c).valid_until is None
    # CONSENT_STALE: neither would the consent's expiry.
    stale = ConsentGiven(at=c, purpose="analytics", policy_version="v1")
    assert decide([stale], "analytics", c + US).valid_until is None
    # A child below the minimum age: the birthday can.
    born = BirthDateDeclared(at=c, birth_date=date(2015, 1, 1))
    assert decide([born], "analytics", c + US, collected_at=c).valid_until == utc(2028, 1, 1)


def test_limits_past_the_last_datetime_are_never_reached() -> None:
    """A valid but enormous lifetime or period is "never", not a crash; so is a far birthday."""
    huge = Purpose(
        "huge",
        "Huge",
        "s",
        LegalBasis.CONSENT,
        withdrawal="x",
        consent_lifetime=Duration.parse("1000000 years"),
        retention=Retention((AfterCollection(Duration.parse("1000000 days")),)),
    )
    policy = Policy(id="p", version="1", purposes=(huge,), age=AgeRules(minimum_age=13))
    grant = ConsentGiven(at=T0, purpose="huge")
    decision = policy.may_process(Subject("s", [grant]), "huge", T0)
    assert decision.allowed
    assert decision.valid_until is None
    last = datetime.max.replace(tzinfo=UTC)
    assert policy.may_process(Subject("s", [grant]), "huge", last).allowed
    kept = policy.may_process(Subject("s", [grant]), "huge", T0, collected_at=T0)
    assert kept.valid_until == T0 + timedelta(days=1_000_000)
    unborn = BirthDateDeclared(at=T0, birth_date=date(9999, 1, 1))
    young = policy.may_process(Subject("s", [unborn, grant]), "huge", T0)
    assert young.code is ReasonCode.BELOW_MINIMUM_AGE
    assert young.valid_until is None
    ancient = AgeDeclared(at=datetime(50, 1, 1, tzinfo=UTC), at_least=150)
    old_grant = ConsentGiven(at=datetime(50, 1, 1, tzinfo=UTC), purpose="huge")
    assert policy.may_process(Subject("s", [ancient, old_grant]), "huge", utc(60, 1, 1)).allowed
