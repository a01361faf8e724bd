"""Drawing events that fit a policy for :mod:`lawful.strategies` (private; imports hypothesis).

A :class:`Palette` holds, once per policy, the strategies for what events may
name (its purposes, vendors, scopes, kinds, versions and terms) and the steps
from one instant to the next (ties, microseconds, the policy's durations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TypedDict, TypeVar

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from lawful._strategies_policy import (
    ANCHOR_MIN,
    JITTERS,
    NAMED_DURATIONS,
    UNLISTED,
    WORDS,
    pick,
    pick_some,
)
from lawful._time import birthday
from lawful.duration import Duration
from lawful.events import (
    EVENT_TYPES,
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Erasure,
    Event,
    Interaction,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    RestrictionLifted,
    RestrictionRequested,
    TransferConsentGiven,
    TransferConsentWithdrawn,
)
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    LegalBasis,
    PurposeTerms,
    SessionEnd,
    TransferDerogation,
    TransferMechanism,
)
from lawful.policy import Policy

__all__ = ["Palette", "history", "near_limits", "one_event", "palette_for"]

T = TypeVar("T")

_WEIGHTS: dict[type[Event], int] = {
    ConsentGiven: 6,
    ConsentWithdrawn: 2,
    Interaction: 2,
    Objection: 3,
    ObjectionWithdrawn: 1,
    ObjectionOverridden: 2,
    RestrictionRequested: 2,
    RestrictionLifted: 1,
    Erasure: 2,
    OptOut: 2,
    OptOutWithdrawn: 1,
    BirthDateDeclared: 1,
    AgeDeclared: 1,
    ParentalConsentGiven: 1,
    ParentalConsentWithdrawn: 1,
    ContractStarted: 2,
    ContractEnded: 1,
    TransferConsentGiven: 2,
    TransferConsentWithdrawn: 1,
}
_OPENINGS: tuple[type[Event] | None, ...] = (
    None,
    BirthDateDeclared,
    AgeDeclared,
    Objection,
    Objection,
    RestrictionRequested,
    Erasure,
    OptOut,
    ParentalConsentGiven,
)
_AGE_EVENTS = (BirthDateDeclared, AgeDeclared, ParentalConsentGiven)
_TRANSFER_EVENTS = (TransferConsentGiven, TransferConsentWithdrawn)
# Affirmative acts, and now and then one that is never consent (Art. 4(11), recital 32).
_METHODS = tuple(m for m in ConsentMethod if m.affirmative) * 3 + tuple(
    m for m in ConsentMethod if not m.affirmative
)
_SECOND = timedelta(seconds=1)
# When an event was recorded: often not stated; else with it, a little or a day later, or
# (rarely) before it took effect. A grant takes effect at the later of the two.
_RECORDED = (None, None, None, timedelta(0), _SECOND, _SECOND, timedelta(days=1), -_SECOND)
# Days from the birthday that crosses a threshold: later births stay under it for a while.
_SHIFTS = (0, -1, 1, 2, -2, 40, -40, 200, 400, 800)
_CROSSING_OFFSETS = st.one_of(
    st.sampled_from((*JITTERS, timedelta(hours=14), -timedelta(hours=12))),
    # The conservative age uses the zone of `at`: thresholds pass within ±14 h of UTC's.
    st.integers(-14 * 3600, 14 * 3600).map(lambda s: timedelta(seconds=s)),
)


_STEP = st.integers(0, 3)
_FOLLOW = st.booleans()
_STEP_KINDS = (0, 0, 1, 1, 2, 2, 3, 3, 3)  # limits (3) a little more often than the rest
_SECONDS = st.integers(-2 * 86_400, 120 * 86_400)


def _step(
    draw: st.DrawFn, found: tuple[Duration, ...], base: datetime, *, forward: bool = False
) -> datetime:
    """The same instant, a jitter away, some days away, or a duration (± a jitter) later.

    ``forward`` keeps the result at or after ``base`` (a reply comes after what it answers).
    """
    # Calendar arithmetic in UTC, as the decision counts its limits.
    start = base.astimezone(UTC)
    kind = pick(draw, _STEP_KINDS)
    if kind == 0:
        return start
    if kind == 1:
        jitter = pick(draw, JITTERS)
        return start + (abs(jitter) if forward else jitter)
    if kind == 2:
        seconds = draw(_SECONDS)
        return start + timedelta(seconds=abs(seconds) if forward else seconds)
    return pick(draw, found).after(start) + pick(draw, JITTERS)


def _pool(common: Sequence[T], rare: Sequence[T]) -> tuple[T, ...]:
    """Choices where each of ``common`` is three times as likely as each of ``rare``."""
    return (*common, *common, *common, *rare) if common else tuple(rare)


@attrs.frozen(eq=False)
class Palette:
    """What events may name and when, for one policy: weighted pools to pick from (private)."""

    purposes: tuple[str, ...]
    needs_consent: tuple[str, ...]
    subject_categories: tuple[str, ...]
    durations: tuple[Duration, ...]
    ages: tuple[int, ...]
    consent_purpose: tuple[str, ...]
    objection_purpose: tuple[str, ...]
    maybe_purpose: tuple[str | None, ...]
    vendors: Mapping[str, tuple[str | None, ...]]
    scope: tuple[str, ...]
    kind: tuple[str, ...]
    version: tuple[str | None, ...]
    terms: Mapping[str, tuple[PurposeTerms | None, ...]]
    types: tuple[type[Event], ...]
    transfer_vendors: tuple[str, ...]
    consent_transfers: tuple[str, ...]
    milestones: tuple[datetime, ...]


def palette_for(policy: Policy | None) -> Palette:
    """The palette of ``policy``, or of generic ids when there is none."""
    if policy is None:
        ids = WORDS["purpose"]
        return _palette(
            declared=ids,
            needs_consent=ids[:2],
            objectable=ids[2:4],
            purpose_vendors={},
            scopes=(*WORDS["scope"], "all"),
            kinds=WORDS["kind"],
            versions=(None, *WORDS["version"]),
            terms={},
            found=tuple(Duration.parse(t) for t in NAMED_DURATIONS),
            ages=(13, 16, 18),
            subject_categories=WORDS["subject"],
            ages_matter=True,
            transfers=WORDS["vendor"][:2],
            others_abroad=WORDS["vendor"][2:],
            milestones=(),
        )
    found: list[Duration] = []
    kinds: list[str] = []
    terms: dict[str, tuple[PurposeTerms, ...]] = {}
    for purpose in policy.purposes:
        if purpose.consent_lifetime is not None:
            found.append(purpose.consent_lifetime)
        for rule in purpose.retention.rules:
            if isinstance(rule, AfterCollection | AfterLastInteraction):
                found.append(rule.period)
            if isinstance(rule, AfterLastInteraction):
                kinds.extend(rule.kinds)
            if isinstance(rule, SessionEnd):
                found.append(rule.inactivity)
        now = purpose.terms
        earlier = [
            v.purposes[purpose.id] for v in policy.previous_versions if purpose.id in v.purposes
        ]
        terms[purpose.id] = (now, *earlier, attrs.evolve(now, statement="Another statement"))
    rules = policy.age
    ages = [a for a in (rules.minimum_age, rules.parental_consent_age) if a is not None]
    abroad = [v for v in policy.vendors if v.outside_eea]
    by_consent = tuple(
        v.id
        for v in abroad
        if v.transfer is TransferMechanism.DEROGATION
        and v.derogation is TransferDerogation.EXPLICIT_CONSENT
    )
    starts = (policy.effective_from, *(v.effective_from for v in policy.previous_versions))
    if rules.parental_consent_age is not None:
        ages.append(rules.parental_consent_age + 1)
    return _palette(
        declared=policy.purpose_ids,
        needs_consent=tuple(
            p.id
            for p in policy.purposes
            if p.basis is LegalBasis.CONSENT or (p.device_access and not p.strictly_necessary)
        ),
        # Those that admit an override twice: an override elsewhere changes nothing.
        objectable=tuple(
            p.id
            for p in policy.purposes
            if p.basis in (LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK)
            for _ in range(2 if p.override_admissible else 1)
        ),
        purpose_vendors={p.id: p.vendors for p in policy.purposes},
        scopes=(*policy.opt_out_scopes, "all"),
        kinds=tuple(dict.fromkeys([*kinds, "page_view"])),
        versions=(None, None, policy.version, *(v.version for v in policy.previous_versions)),
        terms=terms,
        found=tuple(dict.fromkeys(found)) or (Duration(days=1),),
        ages=tuple(dict.fromkeys(ages)) or (13, 16, 18),
        subject_categories=tuple(policy.subject_categories),
        ages_matter=bool(ages),
        transfers=by_consent,
        others_abroad=tuple(v.id for v in abroad if v.id not in by_consent),
        milestones=tuple(sorted(s for s in starts if s is not None)),
    )


def _palette(
    *,
    declared: tuple[str, ...],
    needs_consent: tuple[str, ...],
    objectable: tuple[str, ...],
    purpose_vendors: Mapping[str, tuple[str, ...]],
    scopes: tuple[str, ...],
    kinds: tuple[str, ...],
    versions: tuple[str | None, ...],
    terms: Mapping[str, tuple[PurposeTerms, ...]],
    found: tuple[Duration, ...],
    ages: tuple[int, ...],
    subject_categories: tuple[str, ...],
    ages_matter: bool,
    transfers: tuple[str, ...],
    others_abroad: tuple[str, ...],
    milestones: tuple[datetime, ...],
) -> Palette:
    every_vendor = tuple(dict.fromkeys(v for vs in purpose_vendors.values() for v in vs))
    return Palette(
        purposes=declared,
        needs_consent=needs_consent,
        subject_categories=subject_categories,
        durations=found,
        ages=ages,
        # Purposes that need a consent event are named by consents more often, and
        # those that admit an objection by objections and overrides.
        consent_purpose=_pool((*needs_consent, *declared), (UNLISTED,)),
        objection_purpose=_pool(objectable or declared, (UNLISTED,)),
        maybe_purpose=_pool((None, *declared), (UNLISTED,)),
        vendors={
            pid: _pool((None, *mine), (*every_vendor, UNLISTED))
            for pid, mine in purpose_vendors.items()
        },
        scope=_pool(scopes, (UNLISTED,)),
        kind=_pool(kinds, (UNLISTED,)),
        version=_pool(versions, ("unknown-version",)),
        terms={pid: _pool((None, None, None), options) for pid, options in terms.items()},
        types=tuple(
            cls
            for cls, weight in _WEIGHTS.items()
            if transfers or others_abroad or cls not in _TRANSFER_EVENTS
            for _ in range(weight * (3 if ages_matter and cls in _AGE_EVENTS else 1))
        ),
        # Transfer consents name the vendors whose derogation asks for one (Art. 49(1)(a)).
        transfer_vendors=_pool(transfers, (*others_abroad, UNLISTED)),
        consent_transfers=transfers,
        milestones=milestones,
    )


def _birth_date(draw: st.DrawFn, ages: tuple[int, ...], moment: datetime) -> date:
    """A birth date whose birthday crosses a threshold near ``moment``, or a 29 February."""
    day = moment.astimezone(UTC).date()
    year = day.year - pick(draw, ages)
    if draw(st.booleans()):
        return birthday(day, year) + timedelta(days=pick(draw, _SHIFTS))
    while year % 4 or (year % 100 == 0 and year % 400):
        year -= 1
    return date(year, 2, 29)


class _Common(TypedDict):
    at: datetime
    recorded_at: datetime | None
    id: str | None


def _draw_event(
    draw: st.DrawFn, palette: Palette, at: datetime, types: tuple[type[Event], ...]
) -> Event:
    cls = pick(draw, [c for c in palette.types if c in types])
    late = pick(draw, _RECORDED)
    base = _Common(
        at=at, recorded_at=None if late is None else at + late, id=pick(draw, (None, None, "e-1"))
    )
    if cls is ConsentGiven or cls is ConsentWithdrawn:
        pid = pick(draw, palette.consent_purpose)
        vendor = pick(draw, palette.vendors.get(pid, (None, UNLISTED)))
        if cls is ConsentWithdrawn:
            return ConsentWithdrawn(**base, purpose=pid, vendor=vendor)
        return ConsentGiven(
            **base,
            purpose=pid,
            vendor=vendor,
            policy_version=pick(draw, palette.version),
            terms=pick(draw, palette.terms.get(pid, (None,))),
            explicit=draw(st.booleans()),
            method=pick(draw, _METHODS),
        )
    if cls is TransferConsentGiven or cls is TransferConsentWithdrawn:
        vendor_id = pick(draw, palette.transfer_vendors)
        target = pick(draw, palette.maybe_purpose)
        if cls is TransferConsentWithdrawn:
            return TransferConsentWithdrawn(**base, vendor=vendor_id, purpose=target)
        return TransferConsentGiven(
            **base, vendor=vendor_id, purpose=target, method=pick(draw, _METHODS)
        )
    if cls is Objection:
        target = pick(draw, (None, *palette.objection_purpose))
        return Objection(**base, purpose=target, automated=draw(st.booleans()))
    if cls is ObjectionWithdrawn:
        return ObjectionWithdrawn(**base, purpose=pick(draw, palette.maybe_purpose))
    if cls is ObjectionOverridden:
        grounds = pick(draw, ("Fraud investigation", "Legal claim"))
        return ObjectionOverridden(
            **base, purpose=pick(draw, palette.objection_purpose), grounds=grounds
        )
    if cls is RestrictionRequested:
        ground = pick(draw, ("", "accuracy contested", "objection pending"))
        return RestrictionRequested(
            **base, purpose=pick(draw, palette.maybe_purpose), ground=ground
        )
    if cls is RestrictionLifted:
        return RestrictionLifted(**base, purpose=pick(draw, palette.maybe_purpose))
    if cls is Erasure:
        return Erasure(**base)
    if cls is OptOut:
        return OptOut(**base, scope=pick(draw, palette.scope))
    if cls is OptOutWithdrawn:
        return OptOutWithdrawn(**base, scope=pick(draw, palette.scope))
    if cls is BirthDateDeclared:
        return BirthDateDeclared(**base, birth_date=_birth_date(draw, palette.ages, at))
    if cls is AgeDeclared:
        said = pick(draw, palette.ages) + pick(draw, (0, -1, -1, 1, -2))  # often under
        return AgeDeclared(**base, at_least=max(0, said))
    if cls is ParentalConsentGiven:
        guardian = pick(draw, (None, "mother", "father"))
        return ParentalConsentGiven(
            **base, purpose=pick(draw, palette.maybe_purpose), guardian=guardian
        )
    if cls is ParentalConsentWithdrawn:
        return ParentalConsentWithdrawn(**base, purpose=pick(draw, palette.maybe_purpose))
    if cls is ContractStarted or cls is ContractEnded:
        contract = pick(draw, ("contract-1", "contract-2"))
        if cls is ContractStarted:
            return ContractStarted(**base, contract=contract)
        return ContractEnded(**base, contract=contract)
    return Interaction(
        **base, kind=pick(draw, palette.kind), purpose=pick(draw, palette.maybe_purpose)
    )


@st.composite
def one_event(
    draw: st.DrawFn,
    palette: Palette,
    moments: SearchStrategy[datetime],
    types: tuple[type[Event], ...],
) -> Event:
    """One event of one of ``types`` at a drawn instant, naming what ``palette`` offers."""
    return _draw_event(draw, palette, draw(moments), types)


@st.composite
def history(
    draw: st.DrawFn,
    palette: Palette,
    sizes: tuple[int, int],
    start: SearchStrategy[datetime],
    zones: SearchStrategy[tzinfo],
) -> list[Event]:
    """Events clustered around an anchor and each other (see ``event_histories``).

    Half the histories start from a person who holds a contract and consented to
    some of the purposes that need consent, so that what follows (withdrawals,
    expiries, erasures, objections, birthdays) has something to take away; most
    open with an event that changes many answers (an age, an objection, a
    restriction, an erasure, an opt-out), drawn first so that hypothesis, which
    simplifies the tail of long examples more often, does not leave it out.
    """
    anchor = draw(start)
    moments = [anchor]
    low, high = sizes
    target = draw(st.sampled_from(range(low, high + 1)))
    out: list[Event] = []
    if target and draw(st.booleans()):
        # Consents to as many of the purposes that need one as the size allows.
        agreed = pick_some(draw, palette.needs_consent[:12], target - 1)
        out.append(ContractStarted(at=anchor, contract="contract-1"))
        # Explicit (Art. 9(2)(a)) one time in two: both sides of the rule are reached.
        out.extend(
            ConsentGiven(at=anchor, purpose=p, explicit=pick(draw, (True, False))) for p in agreed
        )
        # ... and to the transfers that rest on explicit consent (Art. 49(1)(a)).
        room = target - len(out)
        out.extend(
            TransferConsentGiven(at=anchor, vendor=v)
            for v in pick_some(draw, palette.consent_transfers, room)
        )
    opening = pick(draw, _OPENINGS)
    while len(out) < target:
        # An opening objection is always answered: the controller's override is rare otherwise.
        answer = opening is Objection or draw(_FOLLOW)
        if opening is not None:
            event = _draw_event(draw, palette, anchor, (opening,))
            moment, opening = anchor, None
        else:
            moment = _step(draw, palette.durations, pick(draw, moments)).astimezone(draw(zones))
            moments.append(moment)
            event = _draw_event(draw, palette, moment, EVENT_TYPES)
        out.append(event)
        if len(out) < target and answer:
            # Half the time the person (or the controller) answers an event later on.
            later = _step(draw, palette.durations, moment, forward=True)
            later = later.astimezone(draw(zones))
            reply = _reply(draw, palette, event, later)
            if reply is not None:
                moments.append(later)
                out.append(reply)
    return out


def _reply(draw: st.DrawFn, palette: Palette, event: Event, at: datetime) -> Event | None:
    """The event that undoes or answers ``event``, at ``at``: a withdrawal, a lift, an override."""
    if isinstance(event, ConsentGiven):
        return ConsentWithdrawn(at=at, purpose=event.purpose, vendor=event.vendor)
    if isinstance(event, Objection):
        if draw(_STEP) == 0:  # one time in four; else the controller overrides it
            return ObjectionWithdrawn(at=at, purpose=event.purpose)
        target = event.purpose or pick(draw, palette.objection_purpose)
        return ObjectionOverridden(at=at, purpose=target, grounds="Fraud investigation")
    if isinstance(event, RestrictionRequested):
        return RestrictionLifted(at=at, purpose=event.purpose)
    if isinstance(event, OptOut):
        return OptOutWithdrawn(at=at, scope=event.scope)
    if isinstance(event, ParentalConsentGiven):
        return ParentalConsentWithdrawn(at=at, purpose=event.purpose)
    if isinstance(event, ContractStarted):
        return ContractEnded(at=at, contract=event.contract)
    if isinstance(event, TransferConsentGiven):
        return TransferConsentWithdrawn(at=at, vendor=event.vendor, purpose=event.purpose)
    return None


def _crossings(palette: Palette, events: Sequence[Event]) -> list[datetime]:
    """Midnights (UTC) of the birthdays on which declared people cross an age threshold."""
    out: list[datetime] = []
    for event in events:
        if isinstance(event, BirthDateDeclared):
            birth = event.birth_date
        elif isinstance(event, AgeDeclared):
            said = event.at.astimezone(UTC).date()
            birth = birthday(said, said.year - event.at_least)
        else:
            continue
        for age in palette.ages:
            day = birthday(birth, birth.year + age)
            out.append(datetime.combine(day, time(0), tzinfo=UTC))
    return out


@st.composite
def near_limits(
    draw: st.DrawFn,
    palette: Palette,
    around: tuple[Event | datetime, ...],
    zones: SearchStrategy[tzinfo],
) -> datetime:
    """An instant where a decision may change (see :func:`lawful.strategies.instants`)."""
    bases = [item if isinstance(item, datetime) else item.at for item in around] or [ANCHOR_MIN]
    crossings = _crossings(palette, [e for e in around if not isinstance(e, datetime)])
    if crossings and draw(_STEP) == 3:
        moment = pick(draw, crossings) + draw(_CROSSING_OFFSETS)
    else:
        moment = _step(draw, palette.durations, pick(draw, bases))
    return moment.astimezone(draw(zones))
