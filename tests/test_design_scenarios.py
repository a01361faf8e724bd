"""Scenarios for each rule and edge convention of the decision (docs/explanation/decision.md).

One row per sentence a legal test vector could check: a small policy, events (given out
of order where the order should not matter), a question, and the whole answer - outcome,
primary reason code, article, deciding event and ``valid_until`` - so that a row can fail
on any of them. Every row is asked through ``may_process``, ``decide_all`` and
``Policy.timeline``, and with its events reversed, which must all agree.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from tests._rules import DAY, T0, US, consent, events, on, policy, utc

from lawful import (
    AfterCollection,
    AfterLastInteraction,
    AgeRules,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Duration,
    Erasure,
    Event,
    Interaction,
    LegalBasis,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    Operation,
    OptOut,
    OptOutScope,
    ParentalConsentGiven,
    Policy,
    PolicyVersion,
    PurposeTerms,
    ReasonCode,
    RestrictionLifted,
    RestrictionRequested,
    Retention,
    Subject,
    TransferConsentGiven,
    TransferConsentWithdrawn,
    TransferDerogation,
    TransferMechanism,
    Vendor,
    VendorRole,
)

pytestmark = pytest.mark.usefixtures("no_clock")

B = LegalBasis
R = ReasonCode
LA = ZoneInfo("America/Los_Angeles")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14
G = Vendor("g", "G", VendorRole.THIRD_PARTY)
H = Vendor("h", "H", VendorRole.THIRD_PARTY)
US_CONSENT = Vendor(
    "us",
    "US consent",
    outside_eea=True,
    hosting="US",
    transfer=TransferMechanism.DEROGATION,
    derogation=TransferDerogation.EXPLICIT_CONSENT,
)
US_CONTRACT = Vendor(
    "usk",
    "US contract",
    outside_eea=True,
    hosting="US",
    transfer=TransferMechanism.DEROGATION,
    derogation=TransferDerogation.CONTRACT,
)
US_SILENT = Vendor(
    "ns", "US silent", outside_eea=True, hosting="US", transfer=TransferMechanism.NOT_STATED
)
HUBSPOT = Retention(
    (
        AfterLastInteraction(Duration.parse("24 months"), ("reply",)),
        AfterCollection(Duration.parse("6 months")),
    )
)
OLD = PurposeTerms(
    statement="The c purpose", basis=B.CONSENT, vendors=frozenset({"self"}), data=frozenset({"ip"})
)

POLICIES: dict[str, Policy] = {
    # Consent, lifetimes, versions, per-vendor consent, objections and opt-outs.
    "main": policy(
        consent("c", vendors=("self", "g"), consent_lifetime=Duration.parse("1 month")),
        consent("pv", vendors=("self", "g", "h"), per_vendor_consent=True),
        consent("dm", direct_marketing=True),
        on(B.LEGITIMATE_INTERESTS, "li", override_admissible=True, opt_out_scopes=("stats",)),
        on(B.LEGITIMATE_INTERESTS, "li2"),
        on(B.CONTRACT, "ct", opt_out_scopes=("sale",)),
        on(B.LEGAL_OBLIGATION, "lo"),
        on(B.LEGITIMATE_INTERESTS, "hs", retention=HUBSPOT),
        on(B.LEGITIMATE_INTERESTS, "dev", device_access=True),
        on(B.LEGITIMATE_INTERESTS, "a", vendors=("self", "us")),
        on(B.LEGITIMATE_INTERESTS, "k", vendors=("self", "usk")),
        on(B.LEGITIMATE_INTERESTS, "n", vendors=("self", "ns")),
        vendors=(G, H, US_CONSENT, US_CONTRACT, US_SILENT),
        opt_out_scopes={"stats": OptOutScope("Statistics"), "sale": OptOutScope("Sale")},
        previous_versions=(PolicyVersion("v0", {"c": OLD}, effective_from=utc(2024, 1, 1)),),
        effective_from=utc(2025, 1, 1),
    ),
    # Art. 8: a minimum age of 13, parental consent up to 15 inclusive.
    "age": policy(consent("c"), age=AgeRules(minimum_age=13, parental_consent_age=15)),
    "age16": policy(consent("c"), age=AgeRules(minimum_age=16)),
    "age17": policy(
        on(B.LEGITIMATE_INTERESTS, "li"), age=AgeRules(minimum_age=17, scope=AgeScope.ALL_PURPOSES)
    ),
}
KID = BirthDateDeclared(at=utc(2020, 1, 1), birth_date=date(2010, 6, 1))  # 16 on 2026-06-01
MARCH_2 = BirthDateDeclared(at=utc(2020, 1, 1), birth_date=date(2010, 3, 2))  # 16 on 2026-03-02
LEAP = BirthDateDeclared(at=utc(2020, 1, 1), birth_date=date(2008, 2, 29))


def cg(at: datetime, pid: str = "c", **kw: Any) -> ConsentGiven:
    """A consent to ``pid``."""
    return ConsentGiven(at=at, purpose=pid, **kw)


def cw(at: datetime, pid: str = "c", **kw: Any) -> ConsentWithdrawn:
    """A withdrawal of consent to ``pid``."""
    return ConsentWithdrawn(at=at, purpose=pid, **kw)


def started(at: datetime, contract: str = "x") -> ContractStarted:
    """A contract's start."""
    return ContractStarted(at=at, contract=contract)


def parent(at: datetime) -> ParentalConsentGiven:
    """A parental consent for every purpose."""
    return ParentalConsentGiven(at=at)


def override(at: datetime) -> ObjectionOverridden:
    """The controller's override of an objection to ``li``."""
    return ObjectionOverridden(at=at, purpose="li", grounds="fraud prevention")


def objection(at: datetime, pid: str) -> Objection:
    """An objection to one purpose."""
    return Objection(at=at, purpose=pid)


def reply(at: datetime) -> Interaction:
    """A reply, the interaction the HubSpot-like rule counts from."""
    return Interaction(at=at, kind="reply")


PRE_TICKED = ConsentMethod.PRE_TICKED_BOX
SIXTEEN = utc(2026, 6, 1)  # KID's 16th birthday
JAN_31 = utc(2025, 1, 31)
AT_KIRITIMATI = datetime(2026, 3, 2, 5, tzinfo=KIRITIMATI)  # 1 March in UTC
SILENT_DM = cg(T0 + DAY, "dm", method=ConsentMethod.SILENCE)
RESTRICTED_PV = (
    cg(T0, "pv"),
    RestrictionRequested(at=T0 + DAY),
    cg(T0 + 2 * DAY, "pv", vendor="g"),
)
TRANSFER_WITHDRAWN = (
    TransferConsentWithdrawn(at=T0 + DAY, vendor="us", purpose="a"),
    TransferConsentGiven(at=T0, vendor="us"),
)
TWO_CONTRACTS = (
    ContractEnded(at=T0 + 2 * DAY, contract="b"),
    started(T0 + DAY, "b"),
    started(T0, "a"),
)
THREE_RECORDS = (  # the last is the youngest: 14 in June 2024
    BirthDateDeclared(at=utc(2024, 2, 1), birth_date=date(2000, 1, 1)),
    cg(utc(2024, 1, 1)),
    BirthDateDeclared(at=utc(2023, 1, 1), birth_date=date(2010, 1, 1)),
)
AUTHORISED = (KID, cg(utc(2025, 1, 1)), parent(utc(2025, 1, 15)))
WITHDRAWN_BETWEEN = (Objection(at=T0 + 20 * DAY), ObjectionWithdrawn(at=T0 + DAY), Objection(at=T0))
OVERRIDDEN_BETWEEN = (Objection(at=T0 + 40 * DAY), override(T0 + DAY), Objection(at=T0))
REGIVEN = (cg(T0 + 2 * DAY), cw(T0 + DAY), cg(T0))


STORE = Operation.STORE
A6A, A73, A173, A182 = "Art. 6(1)(a)", "Art. 7(3)", "Art. 17(1)", "Art. 18(2)"
A6F, A81, A49A, AGE = "Art. 6(1)(f)", "Art. 8(1)", "Art. 49(1)(a)", "policy clause age"


@attrs.frozen
class Q:
    """A question: the article it checks, the purpose, the instant, the events (in the
    order given), the policy and the query's options.
    """

    article: str
    pid: str
    at: datetime
    history: tuple[Event, ...]
    pol: str = "main"
    query: dict[str, Any] = attrs.field(factory=dict)


def q(article: str, pid: str, at: datetime, *history: Event, pol: str = "main", **query: Any) -> Q:
    """A question (see :class:`Q`)."""
    return Q(article, pid, at, history, pol, query)


def a(
    allowed: bool,
    code: ReasonCode,
    article: str,
    event: int | None = None,
    until: datetime | None = None,
) -> tuple[Any, ...]:
    """An answer: outcome, primary code and article, the index of the deciding event in
    the question's events (``None``: no event), and ``valid_until``.
    """
    return allowed, code, article, event, until


ROWS: dict[str, tuple[Q, tuple[Any, ...]]] = {
    # -- edges: records, ties, limits ------------------------------------------------
    "grant waits for its record": (
        q("Art. 7(1)", "c", T0 + DAY - US, cg(T0, recorded_at=T0 + DAY)),
        a(False, R.NO_CONSENT, A6A),
    ),
    "grant in effect from its record; lifetime from its at": (
        q("Art. 7(1)", "c", T0 + DAY, cg(T0, recorded_at=T0 + DAY)),
        a(True, R.CONSENT_GIVEN, A6A, 0, utc(2025, 4, 1, 9)),
    ),
    "withdrawal at its own instant, given first": (
        q(A73, "c", T0 + DAY, cw(T0 + DAY), cg(T0)),
        a(False, R.CONSENT_WITHDRAWN, A73, 0),
    ),
    "same-instant grant and withdrawal: withdrawal": (
        q(A73, "c", T0, cw(T0), cg(T0)),
        a(False, R.CONSENT_WITHDRAWN, A73, 0),
    ),
    "lifetime reached exactly has passed (clamped month)": (
        q(A6A, "c", utc(2025, 2, 28), cg(utc(2025, 1, 31))),
        a(False, R.CONSENT_EXPIRED, A6A, 0),
    ),
    "lifetime one microsecond before": (
        q(A6A, "c", utc(2025, 2, 28) - US, cg(utc(2025, 1, 31))),
        a(True, R.CONSENT_GIVEN, A6A, 0, utc(2025, 2, 28)),
    ),
    "lifetime across a DST change, at in Los Angeles": (
        q(A6A, "c", datetime(2025, 3, 9, 1, 59, tzinfo=LA), cg(utc(2025, 2, 9, 10))),
        a(True, R.CONSENT_GIVEN, A6A, 0, utc(2025, 3, 9, 10)),
    ),
    "contract end wins a tie with its start": (
        q("Art. 6(1)(b)", "ct", T0, ContractEnded(at=T0, contract="x"), started(T0)),
        a(False, R.NO_CONTRACT, "Art. 6(1)(b)", 0),
    ),
    "restriction wins a tie with its lifting": (
        q(A182, "li", T0, RestrictionLifted(at=T0), RestrictionRequested(at=T0)),
        a(False, R.RESTRICTED, A182, 1),
    ),
    # -- erasure ---------------------------------------------------------------------
    "erasure wins a tie with a consent": (
        q(A173, "c", T0 + 2 * DAY, Erasure(at=T0 + DAY), cg(T0 + DAY)),
        a(False, R.ERASED, A173, 0),
    ),
    "asked at the erasure's instant: stays erased (no valid_until)": (
        q(A173, "c", T0 + DAY, Erasure(at=T0 + DAY), cg(T0)),
        a(False, R.ERASED, A173, 0),
    ),
    "asked at the erasure's instant: fresh data a microsecond later is new": (
        q(A173, "li", T0 + DAY, Erasure(at=T0 + DAY)),
        a(False, R.ERASED, A173, 0, T0 + DAY + US),
    ),
    "consent strictly after erasure counts": (
        q(A173, "c", T0 + 2 * DAY, cg(T0 + DAY + US), Erasure(at=T0 + DAY)),
        a(True, R.CONSENT_GIVEN, A6A, 0, utc(2025, 4, 2, 9, 0, 0, 1)),
    ),
    "data collected before erasure, consent since": (
        q(A173, "c", T0 + 3 * DAY, cg(T0 + 2 * DAY), Erasure(at=T0 + DAY), collected_at=T0 + DAY),
        a(False, R.ERASED, A173, 1),
    ),
    "legal obligation survives erasure": (
        q("Art. 17(3)(b)", "lo", T0 + DAY, Erasure(at=T0), collected_at=T0 - DAY),
        a(True, R.LEGAL_OBLIGATION, "Art. 6(1)(c)", None, utc(2026, 2, 28, 9)),
    ),
    "device-access consent before erasure": (
        q(A173, "dev", T0 + 3 * DAY, Erasure(at=T0 + DAY), cg(T0, "dev")),
        a(False, R.DEVICE_ACCESS_CONSENT_REQUIRED, "ePrivacy Directive Art. 5(3)", 0),
    ),
    # -- restriction -----------------------------------------------------------------
    "restricted: storage only": (
        q(A182, "li", T0, RestrictionRequested(at=T0), operation=STORE),
        a(True, R.LEGITIMATE_INTEREST, A6F),
    ),
    "consent after restriction lifts it": (
        q(A182, "c", T0 + DAY, cg(T0 + DAY), RestrictionRequested(at=T0)),
        a(True, R.CONSENT_GIVEN, A6A, 0, utc(2025, 4, 2, 9)),
    ),
    "consent at the restriction's instant does not": (
        q(A182, "c", T0 + DAY, cg(T0), RestrictionRequested(at=T0)),
        a(False, R.RESTRICTED, A182, 1),
    ),
    "per-vendor consent after restriction, other vendor": (
        q(A182, "pv", T0 + 3 * DAY, *RESTRICTED_PV, vendor="h"),
        a(False, R.RESTRICTED, A182, 1),
    ),
    "per-vendor consent after restriction, its vendor": (
        q(A182, "pv", T0 + 3 * DAY, *RESTRICTED_PV, vendor="g"),
        a(True, R.CONSENT_GIVEN, A6A, 2),
    ),
    # -- transfers -------------------------------------------------------------------
    "49(1)(a): no transfer consent": (
        q(A49A, "a", T0),
        a(False, R.TRANSFER_SAFEGUARD_MISSING, A49A),
    ),
    "49(1)(a): transfer consent for every purpose": (
        q(A49A, "a", T0, TransferConsentGiven(at=T0, vendor="us")),
        a(True, R.LEGITIMATE_INTEREST, A6F),
    ),
    "49(1)(a): transfer consent for another purpose": (
        q(A49A, "a", T0, TransferConsentGiven(at=T0, vendor="us", purpose="k")),
        a(False, R.TRANSFER_SAFEGUARD_MISSING, A49A),
    ),
    "49(1)(a): a pre-ticked transfer consent": (
        q("Art. 4(11)", "a", T0, TransferConsentGiven(at=T0, vendor="us", method=PRE_TICKED)),
        a(False, R.TRANSFER_SAFEGUARD_MISSING, A49A),
    ),
    "49(1)(a): purpose's withdrawal of a consent for every purpose": (
        q(A49A, "a", T0 + DAY, *TRANSFER_WITHDRAWN),
        a(False, R.TRANSFER_SAFEGUARD_MISSING, A49A, 0),
    ),
    "49(1)(a): the EEA vendor alone needs none": (
        q("Art. 44", "a", T0, vendor="self"),
        a(True, R.LEGITIMATE_INTEREST, A6F),
    ),
    "49(1)(b): one contract still in force": (
        q("Art. 49(1)(b)", "k", T0 + 3 * DAY, *TWO_CONTRACTS),
        a(True, R.LEGITIMATE_INTEREST, A6F),
    ),
    "safeguard not stated": (
        q("Art. 44, 46(1)", "n", T0),
        a(False, R.TRANSFER_SAFEGUARD_MISSING, "Art. 44, 46(1)"),
    ),
    # -- age -------------------------------------------------------------------------
    "age: lower of UTC and Kiritimati (already 16 there)": (
        q(A81, "c", AT_KIRITIMATI, MARCH_2, cg(utc(2026, 1, 1)), pol="age"),
        a(False, R.PARENTAL_CONSENT_REQUIRED, A81, 0, utc(2026, 3, 2)),
    ),
    "age: 29 February birthday on 1 March": (
        q(AGE, "li", utc(2025, 2, 28, 12), LEAP, pol="age17"),
        a(False, R.BELOW_MINIMUM_AGE, AGE, 0, utc(2025, 3, 1)),
    ),
    "age: the lowest record counts": (
        q("Art. 8(2)", "c", utc(2024, 6, 1), *THREE_RECORDS, pol="age16"),
        a(False, R.BELOW_MINIMUM_AGE, AGE, 2, utc(2026, 1, 1)),
    ),
    "parental consent after the child's authorises it": (
        q(A81, "c", utc(2025, 2, 1), parent(utc(2025, 1, 15)), cg(utc(2025, 1, 1)), KID, pol="age"),
        a(True, R.CONSENT_GIVEN, A6A, 1),
    ),
    "past the band, parental consent given at leaving": (
        q(A81, "c", utc(2026, 7, 1), KID, cg(utc(2025, 1, 1)), parent(SIXTEEN), pol="age"),
        a(False, R.PARENTAL_CONSENT_REQUIRED, A81, 1),
    ),
    "past the band, parental consent just before leaving": (
        q(A81, "c", utc(2026, 7, 1), KID, cg(utc(2025, 1, 1)), parent(SIXTEEN - US), pol="age"),
        a(True, R.CONSENT_GIVEN, A6A, 1),
    ),
    "stored data collected before the authorisation": (
        q(A81, "c", utc(2025, 2, 1), *AUTHORISED, pol="age", collected_at=utc(2025, 1, 10)),
        a(False, R.PARENTAL_CONSENT_REQUIRED, A81, 0),
    ),
    # -- opt-out and objection -------------------------------------------------------
    "opt-out of all never reaches a contract": (
        q("Art. 21(5)", "ct", T0, OptOut(at=T0, scope="all"), started(T0 - DAY)),
        a(True, R.CONTRACT, "Art. 6(1)(b)", 1),
    ),
    "a declared scope the contract purpose lists binds": (
        q("Art. 21(5)", "ct", T0, OptOut(at=T0, scope="sale"), started(T0 - DAY)),
        a(False, R.OPTED_OUT, "policy clause opt_out_scopes", 0),
    ),
    "opt-out of a declared scope the purpose does not list": (
        q("Art. 21(5)", "li", T0, OptOut(at=T0, scope="sale")),
        a(True, R.LEGITIMATE_INTEREST, A6F),
    ),
    "opt-out of an undeclared scope reaches legitimate interests": (
        q("Art. 21(5)", "li2", T0, OptOut(at=T0, scope="zzz")),
        a(False, R.OPTED_OUT, "Art. 21(5)", 0),
    ),
    "opt-out withdraws consent; a later consent counts": (
        q(A73, "c", T0 + DAY, cg(T0 + DAY), OptOut(at=T0, scope="all"), cg(T0 - DAY)),
        a(True, R.CONSENT_GIVEN, A6A, 0, utc(2025, 4, 2, 9)),
    ),
    "objection to direct marketing on consent, storage too": (
        q("Art. 21(3)", "dm", T0, Objection(at=T0), cg(T0 - DAY, "dm"), operation=STORE),
        a(False, R.OBJECTED, "Art. 21(3)", 0),
    ),
    "a silent consent never lifts it": (
        q("Art. 21(3)", "dm", T0 + DAY, Objection(at=T0), cg(T0 - DAY, "dm"), SILENT_DM),
        a(False, R.OBJECTED, "Art. 21(3)", 0),
    ),
    "objection to legitimate interests: override": (
        q("Art. 21(1)", "li", T0 + DAY, override(T0 + DAY), Objection(at=T0)),
        a(True, R.COMPELLING_GROUNDS, "Art. 21(1)", 0),
    ),
    "override at the objection's instant does not": (
        q("Art. 21(1)", "li", T0, override(T0), Objection(at=T0)),
        a(False, R.OBJECTED, "Art. 21(1)", 1),
    ),
    "storage pending an override, clamped month": (
        q(
            "Art. 12(3)",
            "li",
            utc(2025, 2, 28) - US,
            Objection(at=utc(2025, 1, 31)),
            operation=STORE,
        ),
        a(True, R.LEGITIMATE_INTEREST, A6F, None, utc(2025, 2, 28)),
    ),
    "storage pending an override ends with the month": (
        q("Art. 12(3)", "li", utc(2025, 2, 28), Objection(at=utc(2025, 1, 31)), operation=STORE),
        a(False, R.OBJECTED, "Art. 21(1), 12(3)", 0),
    ),
    "no override admissible: storage stops too": (
        q("Art. 21(1)", "li2", T0 + DAY, Objection(at=T0), operation=STORE),
        a(False, R.OBJECTED, "Art. 21(1)", 0),
    ),
    "objecting again does not restart the month": (
        q(
            "Art. 12(3)",
            "li",
            T0 + 35 * DAY,
            Objection(at=T0 + 20 * DAY),
            Objection(at=T0),
            operation=STORE,
        ),
        a(False, R.OBJECTED, "Art. 21(1), 12(3)", 1),
    ),
    "an objection to the purpose after one to every purpose neither": (
        q(
            "Art. 12(3)",
            "li",
            T0 + 20 * DAY,
            objection(T0 + 20 * DAY, "li"),
            Objection(at=T0),
            operation=STORE,
        ),
        a(True, R.LEGITIMATE_INTEREST, A6F, None, utc(2025, 4, 1, 9)),
    ),
    "objecting after a withdrawal starts a new month": (
        q("Art. 12(3)", "li", T0 + 35 * DAY, *WITHDRAWN_BETWEEN, operation=STORE),
        a(True, R.LEGITIMATE_INTEREST, A6F, None, utc(2025, 4, 21, 9)),
    ),
    "objecting after an override starts a new month": (
        q("Art. 12(3)", "li", T0 + 45 * DAY, *OVERRIDDEN_BETWEEN, operation=STORE),
        a(True, R.LEGITIMATE_INTEREST, A6F, None, utc(2025, 5, 10, 9)),
    ),
    # -- retention -------------------------------------------------------------------
    "a reply before collection is no reply to the data": (
        q("Art. 5(1)(e)", "hs", utc(2025, 8, 1), reply(utc(2025, 1, 1)), collected_at=JAN_31),
        a(False, R.RETENTION_EXCEEDED, "Art. 5(1)(e)"),
    ),
    "a reply since collection: 24 months from it": (
        q("Art. 5(1)(e)", "hs", utc(2025, 8, 1), reply(utc(2025, 2, 1)), collected_at=JAN_31),
        a(True, R.LEGITIMATE_INTEREST, A6F, None, utc(2027, 2, 1)),
    ),
    # -- consent ---------------------------------------------------------------------
    "unversioned consent judged by the version then in force": (
        q("Art. 7(1)", "c", utc(2024, 6, 2), cg(utc(2024, 6, 1))),
        a(False, R.CONSENT_STALE, "Art. 4(11)", 0),
    ),
    "unversioned consent at the new version's instant": (
        q("Art. 7(1)", "c", utc(2025, 1, 2), cg(utc(2025, 1, 1))),
        a(True, R.CONSENT_GIVEN, A6A, 0, utc(2025, 2, 1)),
    ),
    "unknown version is stale": (
        q("Art. 4(11)", "c", T0, cg(T0, policy_version="v9")),
        a(False, R.CONSENT_STALE, "Art. 4(11)", 0),
    ),
    "per vendor: a vendor's withdrawal after a purpose-wide grant": (
        q(A73, "pv", T0 + DAY, cw(T0 + DAY, "pv", vendor="g"), cg(T0, "pv"), vendor="g"),
        a(False, R.CONSENT_WITHDRAWN, A73, 0),
    ),
    "per vendor: the other vendor keeps the grant": (
        q(A73, "pv", T0 + DAY, cw(T0 + DAY, "pv", vendor="g"), cg(T0, "pv"), vendor="h"),
        a(True, R.CONSENT_GIVEN, A6A, 1),
    ),
    "per vendor: a later vendor grant after a purpose-wide withdrawal": (
        q(A6A, "pv", T0 + DAY, cg(T0 + DAY, "pv", vendor="g"), cw(T0, "pv"), vendor="g"),
        a(True, R.CONSENT_GIVEN, A6A, 0),
    ),
    "a pre-ticked box grants nothing": (
        q("Art. 4(11)", "c", T0, cg(T0, method=PRE_TICKED)),
        a(False, R.NO_CONSENT, A6A),
    ),
    "data collected at the decision's instant is judged at it alone": (
        q(A6A, "c", utc(2025, 3, 1), cg(utc(2025, 1, 1)), collected_at=utc(2025, 3, 1)),
        a(False, R.CONSENT_EXPIRED, A6A, 0),
    ),
    "stored data: re-consent covers only later data": (
        q(A73, "c", T0 + 3 * DAY, *REGIVEN, collected_at=T0 + DAY // 2),
        a(False, R.CONSENT_WITHDRAWN, A73, 1),
    ),
}


def _asked(question: Q) -> tuple[Policy, list[Event]]:
    return POLICIES[question.pol], events(question.history)


@pytest.mark.parametrize("name", list(ROWS))
def test_scenario(name: str) -> None:
    """The row's answer: outcome, primary code, article, deciding event and valid_until."""
    question, (allowed, code, article, index, until) = ROWS[name]
    pol, history = _asked(question)
    decision = pol.may_process(Subject("s", history), question.pid, question.at, **question.query)
    primary = decision.reasons[0]
    assert (decision.allowed, primary.code, primary.article) == (allowed, code, article)
    assert primary.event is (None if index is None else history[index])
    assert decision.valid_until == until


@pytest.mark.parametrize("name", list(ROWS))
def test_scenario_agrees_everywhere(name: str) -> None:
    """Event order, decide_all and Policy.timeline give the row's answer too."""
    question, _ = ROWS[name]
    pol, history = _asked(question)
    pid, at, query = question.pid, question.at, question.query
    decision = pol.may_process(Subject("s", history), pid, at, **query)
    assert pol.may_process(Subject("s", history[::-1]), pid, at, **query) == decision
    if not {"vendor", "data"} & query.keys():
        assert pol.decide_all(Subject("s", history), at, **query)[pid] == decision
    first = pol.timeline(Subject("s", history), pid, at, at + timedelta(days=1), **query)[0]
    assert (first.decision.allowed, first.decision.reasons) == (
        decision.allowed,
        decision.reasons,
    )
