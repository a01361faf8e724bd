"""The decision at its edges: instants, ties, limits, birthdays, and each rule's corners (issue 3).

The policy here is built from Python objects (test_engine.py loads one from TOML).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest

import lawful
from lawful import (
    AfterCollection,
    AfterLastInteraction,
    AgeDeclared,
    AgeRules,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    DataCategory,
    Decision,
    Duration,
    Erasure,
    Event,
    Interaction,
    LegalBasis,
    NaiveDatetimeError,
    NoPeriodStated,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    Operation,
    OptOut,
    OptOutScope,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    Policy,
    PolicyVersion,
    Purpose,
    PurposeTerms,
    QueryError,
    ReasonCode,
    RestrictionLifted,
    RestrictionRequested,
    Retention,
    RetentionCombine,
    SessionEnd,
    SpecialCategoryCondition,
    Subject,
    Vendor,
    VendorRole,
)
from lawful.events import EVENT_TYPES

pytestmark = pytest.mark.usefixtures("no_clock")

US = timedelta(microseconds=1)
PLUS2 = timezone(timedelta(hours=2))
MINUS5 = timezone(timedelta(hours=-5))


def utc(*parts: int) -> datetime:
    """An aware UTC instant."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


def after(rule: str, **extra: object) -> Retention:
    """A retention of one after-collection rule."""
    del extra
    return Retention((AfterCollection(Duration.parse(rule)),))


HUBSPOT = Retention(
    (
        # HubSpot in the Piwik PRO policy: 24 months after the last exchange...
        AfterLastInteraction(Duration.parse("24 months"), ("reply", "contact_form", "demo")),
        # ...else 6 months after collection without a reply.
        AfterCollection(Duration.parse("6 months")),
    ),
    RetentionCombine.FIRST,
)

ANALYTICS_STATEMENT = "Measure how the site is used"


def _consent(pid: str, statement: str, **kw: object) -> Purpose:
    return Purpose(
        pid,
        pid.title(),
        statement,
        LegalBasis.CONSENT,
        withdrawal="Privacy settings",
        **kw,  # type: ignore[arg-type]
    )


def _li(pid: str, **kw: object) -> Purpose:
    return Purpose(
        pid,
        pid.title(),
        f"The {pid} purpose",
        LegalBasis.LEGITIMATE_INTERESTS,
        legitimate_interest=f"the {pid} interest",
        assessment=f"LIA-{pid}",
        **kw,  # type: ignore[arg-type]
    )


PURPOSES = (
    _consent(
        "analytics",
        ANALYTICS_STATEMENT,
        data=("ip", "cookie"),
        vendors=("self", "cdn"),
        consent_lifetime=Duration.parse("1 month"),
        retention=after("6 months"),
        opt_out_scopes=("tracking",),
        device_access=True,
    ),
    _consent(
        "ads",
        "Show ads that fit you",
        data=("cookie",),
        vendors=("adnet", "social"),
        per_vendor_consent=True,
        retention=after("6 months"),
        opt_out_scopes=("sale",),
    ),
    _consent(
        "health",
        "Tailor products to your allergies",
        data=("health",),
        vendors=("self",),
        special_category_condition=SpecialCategoryCondition.EXPLICIT_CONSENT,
        retention=after("1 year"),
    ),
    _consent(
        "hubspot",
        "Answer your enquiries and send what you asked for",
        data=("email",),
        vendors=("self",),
        retention=HUBSPOT,
    ),
    _li(
        "fraud",
        data=("ip",),
        vendors=("self",),
        override_admissible=True,
        opt_out_scopes=("tracking",),
        retention=after("90 days"),
    ),
    _li(
        "newsletter",
        data=("email",),
        vendors=("self",),
        direct_marketing=True,
        retention=after("2 years"),
    ),
    _li("profiling", data=("ip",), vendors=("self",), retention=after("1 year")),
    _li("tag", data=("cookie",), vendors=("self",), device_access=True, retention=after("30 days")),
    _li(
        "visit",
        data=("cookie",),
        vendors=("self",),
        device_access=True,
        strictly_necessary="the site cannot keep a visit on one server without it",
        retention=Retention((SessionEnd(Duration.parse("30 minutes")),)),
    ),
    _li(
        "security_log",
        data=("ip",),
        vendors=("self",),
        retention=Retention(
            (
                AfterCollection(Duration.parse("1 year")),
                AfterLastInteraction(Duration.parse("30 days"), ("logout",)),
            ),
            RetentionCombine.EARLIEST,
        ),
    ),
    _li(
        "careers",
        data=("email",),
        vendors=("self",),
        subjects=("job_applicant",),
        retention=after("36 months"),
    ),
    _li(
        "client_sites",
        data=("ip",),
        vendors=("self",),
        processor_only=True,
        retention=Retention((NoPeriodStated(),)),
    ),
    _li("forever", data=("ip",), vendors=("self",), retention=Retention((NoPeriodStated(),))),
    Purpose(
        "orders",
        "Orders",
        "Deliver what you bought",
        LegalBasis.CONTRACT,
        data=("email",),
        vendors=("self",),
        retention=after("3 years"),
    ),
    Purpose(
        "invoices",
        "Invoices",
        "Keep invoices for the tax office",
        LegalBasis.LEGAL_OBLIGATION,
        data=("email",),
        vendors=("self",),
        retention=after("5 years"),
    ),
    Purpose(
        "emergency",
        "Emergency",
        "Warn you of a dangerous product",
        LegalBasis.VITAL_INTERESTS,
        data=("email",),
        vendors=("self",),
        retention=after("1 year"),
    ),
    Purpose(
        "census",
        "Census",
        "Report to the statistics office",
        LegalBasis.PUBLIC_TASK,
        data=("email",),
        vendors=("self",),
        override_admissible=True,
        retention=after("1 year"),
    ),
)

POLICY = Policy(
    id="site",
    version="v2",
    data_categories=(
        DataCategory("ip", "IP address"),
        DataCategory("cookie", "Cookie identifier"),
        DataCategory("email", "Email address"),
        DataCategory("health", "Allergies", special=True),
    ),
    vendors=(
        Vendor("self", "Site", VendorRole.FIRST_PARTY),
        Vendor("cdn", "CDN", VendorRole.PROCESSOR),
        Vendor("adnet", "AdNet"),
        Vendor("social", "Social"),
    ),
    subject_categories={"visitor": "Visitor", "job_applicant": "Candidate"},
    age=AgeRules(minimum_age=13, parental_consent_age=15),
    opt_out_scopes={"tracking": OptOutScope("Do not track"), "sale": OptOutScope("Do not sell")},
    purposes=PURPOSES,
    previous_versions=(
        PolicyVersion(
            "v1",
            {
                "analytics": PurposeTerms(
                    ANALYTICS_STATEMENT,
                    LegalBasis.CONSENT,
                    frozenset({"self"}),
                    frozenset({"ip", "cookie"}),
                )
            },
            effective_from=utc(2000, 1, 1),
        ),
    ),
    # Art. 7(1): unversioned consents are judged under the version in force at their
    # instant, so the versions say when they took effect.
    effective_from=utc(2010, 1, 1),
)

T0 = utc(2025, 3, 1, 9)


def _events(items: Iterable[object]) -> list[Event]:
    """The items as events (mixed list literals infer their common private base)."""
    out: list[Event] = []
    for item in items:
        assert isinstance(item, EVENT_TYPES)
        out.append(item)
    return out


def decide(events: Iterable[object], purpose: str, at: datetime, **query: Any) -> Decision:
    """The policy's decision for a subject with ``events``."""
    return POLICY.may_process(Subject("s", _events(events)), purpose, at, **query)


def code(events: Iterable[object], purpose: str, at: datetime, **query: Any) -> ReasonCode:
    """The primary reason code of :func:`decide`."""
    return decide(events, purpose, at, **query).code


# -- instants -------------------------------------------------------------------------------


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
    """Principle 4: a withdrawal leaves the decision at earlier instants unchanged."""
    grant = ConsentGiven(at=T0, purpose="analytics")
    at = T0 + timedelta(days=1)
    before = decide([grant], "analytics", at)
    later = decide([grant, ConsentWithdrawn(at=at + US, purpose="analytics")], "analytics", at)
    assert before == later
    assert before.allowed


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


# -- limits ---------------------------------------------------------------------------------


def test_consent_lifetime_reached_exactly_has_expired() -> None:
    """Art. 7(1): with a grant at s and a lifetime d, ``at >= s + d`` is expired."""
    s = utc(2025, 3, 10, 8, 30)
    end = utc(2025, 4, 10, 8, 30)
    grant = ConsentGiven(at=s, purpose="analytics")
    last = decide([grant], "analytics", end - US)
    assert last.allowed
    assert last.valid_until == end
    expired = decide([grant], "analytics", end)
    assert expired.code is ReasonCode.CONSENT_EXPIRED
    assert expired.reason.event == grant
    assert expired.valid_until is None


def test_a_regrant_restarts_the_lifetime() -> None:
    """A new consent after expiry is in force again, with its own lifetime."""
    grants = [
        ConsentGiven(at=utc(2025, 1, 1), purpose="analytics"),
        ConsentGiven(at=utc(2025, 3, 1), purpose="analytics"),
    ]
    assert code(grants[:1], "analytics", utc(2025, 3, 1)) is ReasonCode.CONSENT_EXPIRED
    decision = decide(grants, "analytics", utc(2025, 3, 15))
    assert decision.allowed
    assert decision.reason.event == grants[1]
    assert decision.valid_until == utc(2025, 4, 1)


def test_retention_reached_exactly_is_exceeded() -> None:
    """Art. 5(1)(e): data collected at c with a period d is exceeded at ``at >= c + d``."""
    c = utc(2025, 1, 1, 10)
    limit = c + timedelta(days=90)
    last = decide([], "fraud", limit - US, collected_at=c)
    assert last.allowed
    assert last.valid_until == limit
    gone = decide([], "fraud", limit, collected_at=c)
    assert gone.code is ReasonCode.RETENTION_EXCEEDED
    assert gone.reason.clause == "purposes.fraud.retention"
    assert gone.valid_until is None


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
    """One month after 31 January is 28 (or 29) February, as DESIGN's convention says."""
    grant = ConsentGiven(at=start, purpose="analytics")
    assert decide([grant], "analytics", expiry - US).valid_until == expiry
    assert code([grant], "analytics", expiry) is ReasonCode.CONSENT_EXPIRED


def test_month_retention_clamps_too() -> None:
    """Six months after 31 August is the last day of February."""
    c = utc(2025, 8, 31, 12)
    consent = ConsentGiven(at=c, purpose="ads")  # ads has no lifetime; retention 6 months
    limit = utc(2026, 2, 28, 12)
    assert decide([consent], "ads", limit - US, collected_at=c).valid_until == limit
    assert code([consent], "ads", limit, collected_at=c) is ReasonCode.RETENTION_EXCEEDED


def test_months_are_counted_in_utc_whatever_the_offset() -> None:
    """The same grant instant written in two zones expires at the same instant."""
    local = datetime(2025, 3, 31, 1, tzinfo=PLUS2)  # 2025-03-30T23:00Z
    as_utc = local.astimezone(UTC)
    one = decide([ConsentGiven(at=local, purpose="analytics")], "analytics", utc(2025, 4, 1))
    two = decide([ConsentGiven(at=as_utc, purpose="analytics")], "analytics", utc(2025, 4, 1))
    assert one.valid_until == two.valid_until == utc(2025, 4, 30, 23)


# -- age ------------------------------------------------------------------------------------

LEAPLING = BirthDateDeclared(at=utc(2019, 1, 1), birth_date=date(2008, 2, 29))


def test_a_29_february_birthday_falls_on_1_march_in_common_years() -> None:
    """Born 29 Feb 2008: 13 only on 1 March 2021 (common year); valid_until says so."""
    parental = ParentalConsentGiven(at=utc(2019, 1, 1))
    grant = ConsentGiven(at=utc(2021, 3, 1), purpose="analytics")
    events = [LEAPLING, parental, grant]
    below = decide(events, "analytics", utc(2021, 2, 28, 23, 59, 59))
    assert below.code is ReasonCode.BELOW_MINIMUM_AGE
    assert below.valid_until == utc(2021, 3, 1)
    assert decide(events, "analytics", utc(2021, 3, 1)).allowed


def test_a_29_february_birthday_exists_in_leap_years() -> None:
    """Born 29 Feb 2008: 16 on 29 Feb 2024, when parental consent stops being needed."""
    grant = ConsentGiven(at=utc(2024, 2, 29), purpose="analytics")
    events = [LEAPLING, grant]
    child = decide(
        [LEAPLING, ConsentGiven(at=utc(2024, 2, 28), purpose="analytics")],
        "analytics",
        utc(2024, 2, 28, 12),
    )
    assert child.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert child.valid_until == utc(2024, 2, 29)
    assert decide(events, "analytics", utc(2024, 2, 29)).allowed


def test_age_is_the_lower_of_utc_and_the_zone_of_at() -> None:
    """Born 1 June 2010: at 02:00Z on 1 June 2026 16 in UTC, but 15 in New York's evening."""
    born = BirthDateDeclared(at=utc(2020, 1, 1), birth_date=date(2010, 6, 1))
    grant = ConsentGiven(at=utc(2026, 6, 1, 2), purpose="analytics")
    events = [born, grant]
    z = utc(2026, 6, 1, 2)
    west = z.astimezone(MINUS5)  # 2026-05-31T21:00-05:00
    assert decide(events, "analytics", z).allowed
    local = decide(events, "analytics", west)
    assert local.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    # 16 in both zones from midnight in the later one (05:00Z), shown in the zone of at.
    assert local.valid_until == datetime(2026, 6, 1, tzinfo=MINUS5)
    # East of UTC the local date runs ahead: the UTC date is the lower one.
    east = utc(2026, 5, 31, 23).astimezone(PLUS2)  # 1 June 01:00+02:00
    early = decide(
        [born, ConsentGiven(at=utc(2026, 5, 31, 23), purpose="analytics")], "analytics", east
    )
    assert early.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert early.valid_until == utc(2026, 6, 1)


def test_a_childs_consent_without_parental_consent_never_becomes_valid() -> None:
    """Art. 8(1): consent given at 14 without a parent does not become valid at 18."""
    born = BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2011, 1, 1))
    grant = ConsentGiven(at=utc(2025, 2, 1), purpose="ads")
    adult = utc(2030, 1, 1)
    decision = decide([born, grant], "ads", adult, vendor="adnet")
    assert decision.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert decision.reason.event == grant
    assert decision.valid_until is None
    # Art. 8(1) "given or authorised": a parent's consent while the child is in the band
    # authorises it, even after the child's own (tests/test_rules_age.py has the table);
    # one after the child left the band does not. A fresh consent as an adult counts.
    late_parent = ParentalConsentGiven(at=utc(2025, 3, 1))
    assert code([born, grant, late_parent], "ads", adult, vendor="adnet") is (
        ReasonCode.CONSENT_GIVEN
    )
    too_late = ParentalConsentGiven(at=utc(2027, 1, 1))
    assert code([born, grant, too_late], "ads", adult, vendor="adnet") is (
        ReasonCode.PARENTAL_CONSENT_REQUIRED
    )
    again = ConsentGiven(at=utc(2029, 6, 1), purpose="ads")
    assert decide([born, grant, again], "ads", adult, vendor="adnet").allowed


def test_a_childs_consent_with_parental_consent_stays_valid() -> None:
    """With parental consent in force at the grant, the consent is valid now and later."""
    born = BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2011, 1, 1))
    parent = ParentalConsentGiven(at=utc(2025, 1, 1), purpose="ads")
    grant = ConsentGiven(at=utc(2025, 2, 1), purpose="ads")
    assert decide([born, parent, grant], "ads", utc(2025, 3, 1), vendor="adnet").allowed
    assert decide([born, parent, grant], "ads", utc(2030, 1, 1), vendor="adnet").allowed
    # Parental consent withdrawn while still a child denies until 16.
    gone = ParentalConsentWithdrawn(at=utc(2025, 4, 1))
    child = decide([born, parent, grant, gone], "ads", utc(2025, 5, 1), vendor="adnet")
    assert child.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert child.valid_until == utc(2027, 1, 1)


def test_consent_below_the_minimum_age_never_becomes_valid() -> None:
    """A consent given at 12, even with a parent, is never valid (minimum age 13)."""
    born = BirthDateDeclared(at=utc(2023, 1, 1), birth_date=date(2011, 1, 1))
    parent = ParentalConsentGiven(at=utc(2023, 1, 1))
    grant = ConsentGiven(at=utc(2023, 6, 1), purpose="ads")
    decision = decide([born, parent, grant], "ads", utc(2030, 1, 1), vendor="adnet")
    assert decision.code is ReasonCode.BELOW_MINIMUM_AGE
    assert decision.reason.event == grant


def test_age_rules_cover_consent_purposes_only_by_default() -> None:
    """Art. 8 covers consent: a child's legitimate-interest purpose is not age-checked."""
    born = BirthDateDeclared(at=T0, birth_date=date(2015, 1, 1))
    assert decide([born], "fraud", T0).allowed
    assert code([born], "analytics", T0) is ReasonCode.BELOW_MINIMUM_AGE


def test_a_later_age_declaration_never_raises_the_age() -> None:
    """Art. 8(2): an unverified later claim to be older never raises the lowest age on record."""
    grant = ConsentGiven(at=utc(2025, 2, 1), purpose="analytics")
    young = BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2015, 1, 1))
    older = BirthDateDeclared(at=utc(2025, 1, 2), birth_date=date(1990, 1, 1))
    assert code([young, older, grant], "analytics", utc(2025, 2, 2)) is (
        ReasonCode.BELOW_MINIMUM_AGE
    )


def test_at_least_declared_is_read_conservatively() -> None:
    """ "At least 16" declared on a day is 16 from that day, not earlier."""
    said = AgeDeclared(at=utc(2025, 3, 1, 12), at_least=16)
    grant = ConsentGiven(at=utc(2025, 3, 1, 12), purpose="analytics")
    assert decide([said, grant], "analytics", utc(2025, 3, 2)).allowed
    older_grant = ConsentGiven(at=utc(2025, 2, 27), purpose="analytics")
    assert code([said, older_grant], "analytics", utc(2025, 3, 2)) is (
        ReasonCode.PARENTAL_CONSENT_REQUIRED
    )


# -- per-vendor consent ---------------------------------------------------------------------


def test_per_vendor_consent_later_event_wins() -> None:
    """The later of the purpose-wide and the vendor's own event decides for that vendor."""
    wide = ConsentGiven(at=T0, purpose="ads")
    no_adnet = ConsentWithdrawn(at=T0 + timedelta(days=1), purpose="ads", vendor="adnet")
    at = T0 + timedelta(days=2)
    events = [wide, no_adnet]
    assert code(events, "ads", at, vendor="adnet") is ReasonCode.CONSENT_WITHDRAWN
    assert decide(events, "ads", at, vendor="social").reason.event == wide
    assert code(events, "ads", at) is ReasonCode.CONSENT_WITHDRAWN  # every vendor needed
    regrant = ConsentGiven(at=T0 + timedelta(days=2), purpose="ads")
    assert decide([*events, regrant], "ads", at).allowed


def test_per_vendor_consent_covers_every_needed_vendor() -> None:
    """With vendor=None every declared vendor must be covered by a grant."""
    adnet = ConsentGiven(at=T0, purpose="ads", vendor="adnet")
    social = ConsentGiven(at=T0, purpose="ads", vendor="social")
    assert code([adnet], "ads", T0) is ReasonCode.NO_CONSENT
    assert decide([adnet], "ads", T0, vendor="adnet").allowed
    both = decide([adnet, social], "ads", T0)
    assert both.allowed
    assert {r.event for r in both.reasons} == {adnet, social}
    assert all(r.code is ReasonCode.CONSENT_GIVEN for r in both.reasons)


def test_vendor_grant_after_a_purpose_wide_withdrawal() -> None:
    """A vendor's own later grant covers that vendor only."""
    out = ConsentWithdrawn(at=T0, purpose="ads")
    adnet = ConsentGiven(at=T0 + timedelta(hours=1), purpose="ads", vendor="adnet")
    at = T0 + timedelta(hours=2)
    assert decide([out, adnet], "ads", at, vendor="adnet").allowed
    assert code([out, adnet], "ads", at, vendor="social") is ReasonCode.CONSENT_WITHDRAWN


def test_a_vendor_withdrawal_counts_for_a_purpose_wide_consent() -> None:
    """Without per-vendor consent, a later withdrawal for one vendor still stops that vendor."""
    events = [
        ConsentGiven(at=T0, purpose="analytics"),
        ConsentWithdrawn(at=T0 + US, purpose="analytics", vendor="cdn"),
    ]
    at = T0 + timedelta(hours=1)
    assert code(events, "analytics", at, vendor="cdn") is ReasonCode.CONSENT_WITHDRAWN
    assert code(events, "analytics", at) is ReasonCode.CONSENT_WITHDRAWN
    assert decide(events, "analytics", at, vendor="self").allowed


def test_a_vendor_grant_is_not_consent_to_a_purpose_wide_purpose() -> None:
    """Where consent is purpose-wide, a grant for one vendor does not cover the purpose."""
    grant = ConsentGiven(at=T0, purpose="analytics", vendor="self")
    assert code([grant], "analytics", T0, vendor="self") is ReasonCode.NO_CONSENT


# -- staleness ------------------------------------------------------------------------------

NOW_TERMS = POLICY.purpose("analytics").terms
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
    decision = decide([grant], "analytics", T0)
    if stale:
        assert decision.code is ReasonCode.CONSENT_STALE
        assert decision.reason.event == grant
    else:
        assert decision.allowed


def test_a_hand_built_purpose_is_refused() -> None:
    """A Purpose no policy compiled is refused, never decided without the policy's rules."""
    bare = Purpose("a", "A", "s", LegalBasis.CONSENT, withdrawal="x")
    subject = Subject("s", [ConsentGiven(at=T0, purpose="a", policy_version="v2")])
    with pytest.raises(lawful.UncompiledPurposeError):
        lawful.may_process(subject, bare, T0)  # type: ignore[arg-type]


# -- explicit consent -----------------------------------------------------------------------


def test_explicit_consent_under_article_9_2_a() -> None:
    """Art. 9(2)(a): special categories need explicit consent; plain consent is not enough."""
    plain = ConsentGiven(at=T0, purpose="health")
    explicit = ConsentGiven(at=T0, purpose="health", explicit=True, method=ConsentMethod.CHECKBOX)
    assert code([plain], "health", T0) is ReasonCode.EXPLICIT_CONSENT_REQUIRED
    assert decide([explicit], "health", T0).allowed
    later_plain = ConsentGiven(at=T0 + US, purpose="health")
    assert code([explicit, later_plain], "health", T0 + US) is (
        ReasonCode.EXPLICIT_CONSENT_REQUIRED
    )


# -- erasure --------------------------------------------------------------------------------

E = utc(2025, 3, 10)


@pytest.mark.parametrize(
    ("collected", "allowed"),
    [(E - timedelta(days=1), False), (E, False), (E + US, True)],
    ids=["before", "at the erasure", "after"],
)
def test_data_collected_at_or_before_an_erasure_is_never_processed(
    collected: datetime, allowed: bool
) -> None:
    """Art. 17(1): data collected at or before the erasure is gone for good."""
    decision = decide([Erasure(at=E)], "fraud", E + timedelta(days=1), collected_at=collected)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code is ReasonCode.ERASED


def test_fresh_data_at_the_erasure_instant_is_erased() -> None:
    """Fresh data collected at the instant of the erasure counts as collected at or before it."""
    assert code([Erasure(at=E)], "fraud", E) is ReasonCode.ERASED
    assert decide([Erasure(at=E)], "fraud", E + US).allowed


@pytest.mark.parametrize(
    ("grant_at", "allowed"),
    [(E - timedelta(days=1), False), (E, False), (E + US, True)],
    ids=["before", "at the erasure", "strictly after"],
)
def test_consent_after_an_erasure_must_be_strictly_later(grant_at: datetime, allowed: bool) -> None:
    """Art. 17(1): after an erasure, consent-based processing needs a consent strictly after it."""
    events = [Erasure(at=E), ConsentGiven(at=grant_at, purpose="hubspot")]
    decision = decide(events, "hubspot", E + timedelta(days=1))
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code is ReasonCode.ERASED
        assert decision.reason.event == events[0]


def test_a_legal_obligation_survives_erasure() -> None:
    """Art. 17(3)(b): data kept under a legal obligation stays usable for it."""
    decision = decide([Erasure(at=E)], "invoices", E + timedelta(days=1), collected_at=E - US)
    assert decision.allowed
    assert decision.code is ReasonCode.LEGAL_OBLIGATION
    assert code([Erasure(at=E)], "orders", E + US, collected_at=E) is ReasonCode.ERASED


# -- restriction ----------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(Operation))
def test_restriction_leaves_only_storage(operation: Operation) -> None:
    """Art. 18(2): while restricted, only storage is allowed; lifting it restores processing."""
    restricted = [RestrictionRequested(at=T0)]
    decision = decide(restricted, "fraud", T0, operation=operation)
    assert decision.allowed is (operation is Operation.STORE)
    if operation is not Operation.STORE:
        assert decision.code is ReasonCode.RESTRICTED
    lifted = [*restricted, RestrictionLifted(at=T0 + US)]
    assert decide(lifted, "fraud", T0 + US, operation=operation).allowed


def test_a_restriction_for_one_purpose_leaves_others() -> None:
    """A restriction naming a purpose restricts that purpose only."""
    events = [RestrictionRequested(at=T0, purpose="fraud")]
    assert code(events, "fraud", T0) is ReasonCode.RESTRICTED
    assert decide(events, "profiling", T0).allowed


# -- objection ------------------------------------------------------------------------------


def test_an_objection_to_direct_marketing_is_absolute() -> None:
    """Art. 21(3): no override, and not even storage, survives an objection to direct marketing."""
    events = [
        Objection(at=T0, purpose="newsletter"),
        ObjectionOverridden(at=T0 + US, purpose="newsletter", grounds="we like sending mail"),
    ]
    for operation in Operation:
        decision = decide(events, "newsletter", T0 + US, operation=operation)
        assert decision.code is ReasonCode.OBJECTED
        assert decision.reason.article == "Art. 21(3)"
        assert decision.reason.event == events[0]


def test_an_override_counts_only_where_the_policy_admits_it() -> None:
    """Art. 21(1): an override after the objection allows only on a purpose that admits one."""
    for pid, allowed in (("fraud", True), ("profiling", False), ("census", True)):
        events = [
            Objection(at=T0, purpose=pid),
            ObjectionOverridden(at=T0 + US, purpose=pid, grounds="legal claim"),
        ]
        decision = decide(events, pid, T0 + US)
        assert decision.allowed is allowed, pid
        if allowed:
            assert decision.code is ReasonCode.COMPELLING_GROUNDS
            assert decision.reason.event == events[1]
        else:
            assert decision.code is ReasonCode.OBJECTED
            assert "does not admit" in decision.reason.message


def test_an_override_before_the_objection_does_not_count() -> None:
    """An override answers an objection already made, not a later one."""
    events = [
        ObjectionOverridden(at=T0, purpose="fraud", grounds="g"),
        Objection(at=T0 + US, purpose="fraud"),
    ]
    assert code(events, "fraud", T0 + US) is ReasonCode.OBJECTED


def test_an_objection_withdrawn_lifts_it() -> None:
    """Withdrawing the objection restores the legitimate interest."""
    events = [Objection(at=T0, purpose="fraud"), ObjectionWithdrawn(at=T0 + US, purpose="fraud")]
    assert code(events, "fraud", T0) is ReasonCode.OBJECTED
    assert decide(events, "fraud", T0 + US).allowed


def test_an_objection_keeps_storage_pending_verification() -> None:
    """Art. 18(1)(d): where an override is admissible, storage alone continues meanwhile."""
    events = [Objection(at=T0, purpose="fraud")]
    stored = decide(events, "fraud", T0, operation=Operation.STORE)
    assert stored.allowed
    assert stored.reasons[-1].code is ReasonCode.OBJECTED
    assert stored.reasons[-1].event == events[0]
    # Where the policy admits no override there is nothing to verify: storage stops too.
    none = [Objection(at=T0, purpose="profiling")]
    assert code(none, "profiling", T0, operation=Operation.STORE) is ReasonCode.OBJECTED


def test_an_objection_to_every_purpose() -> None:
    """An objection without a purpose reaches every purpose on Art. 6(1)(e) or (f), and consent."""
    events = [ConsentGiven(at=T0, purpose="analytics"), Objection(at=T0 + US)]
    at = T0 + US
    assert code(events, "fraud", at) is ReasonCode.OBJECTED
    assert code(events, "census", at) is ReasonCode.OBJECTED
    assert code(events, "analytics", at) is ReasonCode.CONSENT_WITHDRAWN
    assert decide(events, "invoices", at).allowed  # Art. 21 does not reach Art. 6(1)(c)
    assert decide([*events, ContractStarted(at=T0, contract="c")], "orders", at).allowed


def test_an_objection_to_a_consent_purpose_is_a_withdrawal() -> None:
    """An objection to a consent purpose withdraws the consent; withdrawing it revives nothing."""
    grant = ConsentGiven(at=T0, purpose="analytics")
    objection = Objection(at=T0 + US, purpose="analytics")
    events = [grant, objection]
    decision = decide(events, "analytics", T0 + US)
    assert decision.code is ReasonCode.CONSENT_WITHDRAWN
    assert decision.reason.event == objection
    assert "objection" in decision.reason.message
    unobjected = [*events, ObjectionWithdrawn(at=T0 + 2 * US, purpose="analytics")]
    assert code(unobjected, "analytics", T0 + 2 * US) is ReasonCode.CONSENT_WITHDRAWN
    regrant = ConsentGiven(at=T0 + 3 * US, purpose="analytics")
    assert decide([*unobjected, regrant], "analytics", T0 + 3 * US).allowed


# -- opt-out --------------------------------------------------------------------------------


def test_an_opt_out_stops_the_purposes_of_its_scope_until_withdrawn() -> None:
    """Art. 21(5): an opt-out stops the purposes that list its scope, until it is withdrawn."""
    out = OptOut(at=T0, scope="tracking")
    back = OptOutWithdrawn(at=T0 + US, scope="tracking")
    assert code([out], "fraud", T0) is ReasonCode.OPTED_OUT
    assert code([out], "analytics", T0) is ReasonCode.OPTED_OUT
    assert decide([out], "profiling", T0).allowed  # lists no scope
    assert decide([out, back], "fraud", T0 + US).allowed
    assert decide([OptOut(at=T0, scope="sale")], "fraud", T0).allowed


@pytest.mark.parametrize("scope", ["everything", "all"])
def test_an_undeclared_or_all_scope_stops_every_purpose(scope: str) -> None:
    """An opt-out whose scope the policy does not declare, or "all", stops every purpose."""
    out = OptOut(at=T0, scope=scope)
    for pid in ("fraud", "profiling", "analytics", "census"):
        decision = decide([out], pid, T0)
        assert decision.code is ReasonCode.OPTED_OUT, pid
        assert decision.reason.event == out
    assert decide([out, OptOutWithdrawn(at=T0 + US, scope=scope)], "profiling", T0 + US).allowed


# -- contract -------------------------------------------------------------------------------


def test_a_contract_is_in_force_by_its_id() -> None:
    """Art. 6(1)(b): any contract in force allows; ending one leaves the others in force."""
    a = ContractStarted(at=T0, contract="a")
    b = ContractStarted(at=T0 + US, contract="b")
    end_a = ContractEnded(at=T0 + 2 * US, contract="a")
    end_b = ContractEnded(at=T0 + 3 * US, contract="b")
    at = T0 + 2 * US
    decision = decide([a, b, end_a], "orders", at)
    assert decision.code is ReasonCode.CONTRACT
    assert decision.reason.event == b
    assert code([a, ContractEnded(at=T0 + US, contract="zzz")], "orders", at) is (
        ReasonCode.CONTRACT
    )
    over = decide([a, b, end_a, end_b], "orders", T0 + 3 * US)
    assert over.code is ReasonCode.NO_CONTRACT
    assert over.reason.event == end_b
    again = ContractStarted(at=T0 + 4 * US, contract="a")
    assert decide([a, b, end_a, end_b, again], "orders", T0 + 4 * US).reason.event == again


# -- retention rules ------------------------------------------------------------------------

C = utc(2025, 1, 10, 12)


def test_hubspot_six_months_after_collection_without_a_reply() -> None:
    """Piwik PRO's HubSpot rule: 6 months after collection when we never heard back."""
    grant = ConsentGiven(at=C, purpose="hubspot")
    limit = utc(2025, 7, 10, 12)
    assert decide([grant], "hubspot", limit - US, collected_at=C).valid_until == limit
    assert code([grant], "hubspot", limit, collected_at=C) is ReasonCode.RETENTION_EXCEEDED
    page_view = Interaction(at=C + timedelta(days=30), kind="page_view")
    assert code([grant, page_view], "hubspot", limit, collected_at=C) is (
        ReasonCode.RETENTION_EXCEEDED
    )


def test_hubspot_24_months_after_the_last_exchange() -> None:
    """Piwik PRO's HubSpot rule: 24 months from the last exchange once there was one."""
    grant = ConsentGiven(at=C, purpose="hubspot")
    reply = Interaction(at=utc(2025, 2, 1), kind="reply")
    demo = Interaction(at=utc(2025, 9, 1), kind="demo", purpose="hubspot")
    events = [grant, reply, demo]
    at = utc(2025, 9, 2)
    decision = decide(events, "hubspot", at, collected_at=C)
    assert decision.allowed
    assert decision.valid_until == utc(2027, 9, 1)
    assert code(events, "hubspot", utc(2027, 9, 1), collected_at=C) is (
        ReasonCode.RETENTION_EXCEEDED
    )
    # Before the demo request only the reply counts.
    assert decide(events, "hubspot", utc(2025, 8, 1), collected_at=C).valid_until == utc(2027, 2, 1)


def test_an_exchange_before_collection_is_no_reply_to_the_data() -> None:
    """Art. 5(1)(e): an exchange before the data existed leaves it under the 6-month rule."""
    events = [Interaction(at=utc(2024, 1, 1), kind="reply"), ConsentGiven(at=C, purpose="hubspot")]
    assert decide(events, "hubspot", C + US, collected_at=C).valid_until == utc(2025, 7, 10, 12)


def test_an_exchange_for_another_purpose_does_not_count() -> None:
    """Interactions tied to another purpose do not extend this purpose's retention."""
    events = [
        ConsentGiven(at=C, purpose="hubspot"),
        Interaction(at=C + US, kind="reply", purpose="orders"),
    ]
    assert decide(events, "hubspot", C + US, collected_at=C).valid_until == utc(2025, 7, 10, 12)


def test_earliest_combination_takes_the_earliest_limit() -> None:
    """With ``earliest`` every rule that applies counts and the earliest limit wins."""
    logout = Interaction(at=C + timedelta(days=1), kind="logout")
    assert decide([], "security_log", C, collected_at=C).valid_until == utc(2026, 1, 10, 12)
    assert decide([logout], "security_log", C + timedelta(days=1), collected_at=C).valid_until == (
        C + timedelta(days=31)
    )


def test_no_period_stated_sets_no_limit() -> None:
    """Art. 13(2)(a): "no period stated" never expires when deciding (``check`` warns)."""
    decision = decide([], "forever", utc(2099, 1, 1), collected_at=utc(2000, 1, 1))
    assert decision.allowed
    assert decision.valid_until is None


def test_a_session_ends_after_the_stated_inactivity() -> None:
    """Session rule: data lives until 30 minutes pass without any interaction."""
    views = [Interaction(at=C + timedelta(minutes=m), kind="page_view") for m in (5, 20, 45)]
    end = C + timedelta(minutes=75)
    assert decide(views, "visit", C + timedelta(minutes=50), collected_at=C).valid_until == end
    assert decide(views, "visit", end - US, collected_at=C).allowed
    assert code(views, "visit", end, collected_at=C) is ReasonCode.RETENTION_EXCEEDED
    # No interaction within 30 minutes of collection: the session ended then.
    late = [Interaction(at=C + timedelta(minutes=30), kind="page_view")]
    assert code(late, "visit", C + timedelta(minutes=31), collected_at=C) is (
        ReasonCode.RETENTION_EXCEEDED
    )


def test_a_session_does_not_see_interactions_after_at() -> None:
    """Interactions after ``at`` cannot extend the session seen at ``at``."""
    view = Interaction(at=C + timedelta(minutes=10), kind="page_view")
    future = Interaction(at=C + timedelta(minutes=35), kind="page_view")
    at = C + timedelta(minutes=20)
    assert decide([view], "visit", at, collected_at=C) == decide(
        [view, future], "visit", at, collected_at=C
    )


# -- ePrivacy, subject categories, processor-only --------------------------------------------


def test_device_access_needs_consent_unless_strictly_necessary() -> None:
    """ePrivacy Art. 5(3): reading the device needs consent unless strictly necessary."""
    assert code([], "tag", T0) is ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED
    grant = ConsentGiven(at=T0, purpose="tag")
    allowed = decide([grant], "tag", T0)
    assert allowed.allowed
    assert [r.code for r in allowed.reasons] == [
        ReasonCode.LEGITIMATE_INTEREST,
        ReasonCode.CONSENT_GIVEN,
    ]
    withdrawn = decide([grant, ConsentWithdrawn(at=T0 + US, purpose="tag")], "tag", T0 + US)
    assert withdrawn.code is ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED
    assert withdrawn.reason.event is not None
    assert decide([], "visit", T0).allowed


@pytest.mark.parametrize(
    ("categories", "allowed"),
    [
        ({"job_applicant"}, True),
        ({"visitor", "job_applicant"}, True),
        ({"visitor"}, False),
        (set(), False),
        (None, True),
    ],
)
def test_subject_categories(categories: set[str] | None, allowed: bool) -> None:
    """Art. 5(1)(b): a purpose covers the subject categories it names; unknown is allowed."""
    subject = Subject("s", categories=categories)
    decision = POLICY.may_process(subject, "careers", T0)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code is ReasonCode.SUBJECT_NOT_COVERED


def test_processor_only_purposes_are_decided_by_the_client() -> None:
    """Art. 28(3)(a): where the controller is only a processor, the client decides."""
    decision = decide([ConsentGiven(at=T0, purpose="client_sites")], "client_sites", T0)
    assert decision.code is ReasonCode.PROCESSOR_ONLY
    assert "client" in decision.reason.message


# -- arguments ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["at", "collected_at"])
def test_naive_datetimes_are_rejected(where: str) -> None:
    """A naive ``at`` or ``collected_at`` raises NaiveDatetimeError naming the argument."""
    naive = datetime(2025, 3, 1, 9)
    query: dict[str, object] = {"collected_at": naive} if where == "collected_at" else {}
    at = naive if where == "at" else T0
    with pytest.raises(NaiveDatetimeError, match=f"^{where}: naive datetime; attach a time zone"):
        decide([], "fraud", at, **query)
    with pytest.raises(ValueError, match="attach a time zone"):
        POLICY.may_process(Subject("s"), "nope", naive)


def test_collected_after_at_is_a_query_error() -> None:
    """Data cannot be processed before it was collected."""
    with pytest.raises(QueryError, match="collected_at"):
        decide([], "fraud", T0, collected_at=T0 + US)


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


def test_an_instant_near_the_end_of_time_in_a_zone_ahead_of_utc() -> None:
    """valid_until that cannot be written in the zone of ``at`` is given in UTC instead."""
    c = datetime(9999, 12, 30, 23, tzinfo=UTC)
    at = c.astimezone(PLUS2)  # 9999-12-31T01:00+02:00
    decision = decide([], "visit", at, collected_at=c)
    assert decision.valid_until == c + timedelta(minutes=30)


def test_a_date_is_not_an_instant() -> None:
    """``at`` must be a datetime; a date is refused with a TypeError naming the argument."""
    with pytest.raises(TypeError, match=r"^at: expected a datetime, got date"):
        decide([], "fraud", date(2025, 1, 1))  # type: ignore[arg-type]


def test_conflicting_age_declarations_at_one_instant_the_younger_wins() -> None:
    """DESIGN's tie rule for ages: of two declarations at one instant, the younger age counts."""
    grant = ConsentGiven(at=utc(2025, 2, 1), purpose="ads")
    sixteen = AgeDeclared(at=utc(2025, 1, 1), at_least=16)
    fourteen = AgeDeclared(at=utc(2025, 1, 1), at_least=14)
    child = BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2011, 1, 1))
    for events in ([sixteen, fourteen, grant], [fourteen, sixteen, grant]):
        decision = decide(events, "ads", utc(2025, 3, 1), vendor="adnet")
        assert decision.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
        assert decision.reason.event == fourteen
        # The consent was a child's: growing up does not make it valid.
        assert code(events, "ads", utc(2030, 1, 1), vendor="adnet") is (
            ReasonCode.PARENTAL_CONSENT_REQUIRED
        )
    assert decide([sixteen, child, grant], "ads", utc(2025, 3, 1), vendor="adnet").reason.event == (
        child
    )


def test_an_objection_to_direct_marketing_stops_it_on_any_basis() -> None:
    """Art. 21(2)-(3): direct marketing stops on objection, whatever basis the policy declared."""
    mailing = Purpose(
        "mailing",
        "Mailing",
        "Offers to our contract clients",
        LegalBasis.CONTRACT,
        data=("email",),
        vendors=("self",),
        direct_marketing=True,
    )
    policy = Policy(
        id="p",
        version="1",
        data_categories=(DataCategory("email", "Email"),),
        vendors=(Vendor("self", "Us"),),
        purposes=(mailing,),
    )
    events: list[Event] = [ContractStarted(at=T0, contract="c"), Objection(at=T0 + US)]
    assert policy.may_process(Subject("s", events[:1]), "mailing", T0 + US).allowed
    decision = policy.may_process(Subject("s", events), "mailing", T0 + US)
    assert decision.code is ReasonCode.OBJECTED
    assert decision.reason.article == "Art. 21(3)"


def test_age_rules_can_cover_every_purpose() -> None:
    """With scope "all", a child's legitimate-interest purpose needs parental consent too."""
    everyone = attrs.evolve(
        POLICY, age=AgeRules(minimum_age=13, parental_consent_age=15, scope=AgeScope.ALL_PURPOSES)
    )
    born = BirthDateDeclared(at=T0, birth_date=date(2011, 1, 1))
    child = everyone.may_process(Subject("s", [born]), "fraud", T0)
    assert child.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert child.valid_until == utc(2027, 1, 1)
    parent = ParentalConsentGiven(at=T0)
    assert everyone.may_process(Subject("s", [born, parent]), "fraud", T0).allowed


def test_valid_until_is_the_earliest_deadline() -> None:
    """With a consent expiry and a retention limit ahead, valid_until is the earlier one."""
    grant = ConsentGiven(at=utc(2025, 3, 1), purpose="analytics")  # expires 1 April
    # The data was collected under an earlier consent, renewed since without a withdrawal.
    first = ConsentGiven(at=utc(2024, 9, 15), purpose="analytics")
    early = decide([first, grant], "analytics", utc(2025, 3, 2), collected_at=utc(2024, 9, 15))
    assert early.valid_until == utc(2025, 3, 15)  # 6 months after collection
    late = decide([grant], "analytics", utc(2025, 3, 2), collected_at=utc(2025, 3, 1))
    assert late.valid_until == utc(2025, 4, 1)


def test_at_least_declared_on_29_february_is_taken_at_its_word() -> None:
    """ "At least 13" said on 29 Feb 2024 means born by 28 Feb 2011: 13 that very day."""
    moment = utc(2024, 2, 29, 12)
    parent = ParentalConsentGiven(at=moment)
    grant = ConsentGiven(at=moment, purpose="ads")
    said = AgeDeclared(at=moment, at_least=13)
    assert decide([said, parent, grant], "ads", moment, vendor="adnet").allowed
    fifteen = AgeDeclared(at=moment, at_least=15)
    child = decide([fifteen, grant], "ads", moment, vendor="adnet")
    assert child.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert child.valid_until == utc(2025, 2, 28)  # born 28 Feb 2009 at the latest: 16 then


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


def test_fresh_data_at_the_erasure_instant_is_denied_for_that_instant_only() -> None:
    """Fresh data at the erasure's instant is erased; valid_until says a microsecond later."""
    decision = decide([Erasure(at=E)], "fraud", E)
    assert decision.code is ReasonCode.ERASED
    assert decision.valid_until == E + US
    stored = decide([Erasure(at=E)], "fraud", E + US, collected_at=E)
    assert stored.code is ReasonCode.ERASED
    assert stored.valid_until is None


# -- data named in any shape -----------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [tuple, list, set, frozenset, iter, lambda names: (n for n in names)],
    ids=["tuple", "list", "set", "frozenset", "iterator", "generator"],
)
def test_data_categories_may_come_in_any_iterable(shape: Any) -> None:
    """Principle 2 (undeclared is denied) whatever holds the names: declared categories are
    decided like the plain question, one undeclared category denies, asked twice alike
    (the second answer is the one the engine kept).
    """
    subject = Subject("s", [ConsentGiven(at=T0, purpose="analytics")])
    at = T0 + timedelta(days=1)
    for _ in range(2):
        fine = POLICY.may_process(subject, "analytics", at, data=shape(["ip", "cookie"]))
        assert fine == POLICY.may_process(subject, "analytics", at)
        wrong = POLICY.may_process(subject, "analytics", at, data=shape(["ip", "health"]))
        assert wrong.code is ReasonCode.DATA_CATEGORY_NOT_DECLARED


def test_a_category_that_is_not_a_string_is_denied_not_raised() -> None:
    """Fail closed: an unhashable "category" is undeclared; the answer is a denial value."""
    subject = Subject("s", [ConsentGiven(at=T0, purpose="analytics")])
    data: Any = [["ip"]]
    decision = POLICY.may_process(subject, "analytics", T0 + timedelta(days=1), data=data)
    assert decision.code is ReasonCode.DATA_CATEGORY_NOT_DECLARED
