"""Hypothesis strategies for lawful's values, for property tests downstream and here.

Install the extra (``pip install "lawful[hypothesis]"``); ``import lawful`` never
imports hypothesis. Every policy drawn is valid (it constructs without
:class:`lawful.PolicyError`); event histories and subjects *fit* a policy: they
name its purposes, vendors, opt-out scopes and the interaction kinds its
retention rules count, at instants close to its limits (consent lifetimes,
retention periods, session timeouts, birthdays crossing its age thresholds), in
varied time zones.

>>> from hypothesis import given
>>> from lawful import strategies as ls
>>> policies_and_subjects = ls.policies().flatmap(
...     lambda policy: ls.subjects(policy=policy).map(lambda subject: (policy, subject))
... )

Once lawful is installed, ``st.from_type(lawful.Policy)`` and
``st.from_type(lawful.Subject)`` work without importing this module (subjects
then fit the bundled Piwik PRO policy).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from lawful._strategies_events import Palette, history, near_limits, one_event, palette_for
from lawful._strategies_policy import (
    ANCHOR_MAX,
    ANCHOR_MIN,
    durations,
    policy_body,
    purpose_body,
    words,
)
from lawful.events import EVENT_TYPES, Event
from lawful.model import (
    AgeRules,
    AgeScope,
    DataCategory,
    LegalBasis,
    Purpose,
    TransferDerogation,
    TransferMechanism,
    UnknownAge,
    Vendor,
    VendorRole,
)
from lawful.policy import Policy
from lawful.subject import Subject

__all__ = [
    "age_rules",
    "aware_datetimes",
    "data_categories",
    "durations",
    "event_histories",
    "events",
    "instants",
    "policies",
    "purposes",
    "subjects",
    "time_zones",
    "vendors",
]

_PALETTE_CACHE = 64
_PALETTES: dict[int, tuple[Policy | None, Palette]] = {}
_EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST = datetime(2999, 12, 31, tzinfo=UTC)
# Zones picked for their edges: DST both ways, +05:45 and -03:30, +14 and -11, a
# half-hour DST (Lord Howe), a negative DST (Dublin), Ramadan DST breaks (Casablanca).
_ZONE_KEYS = (
    "Europe/Warsaw",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "Europe/Dublin",
    "Africa/Casablanca",
    "Asia/Tokyo",
)


def _aware(value: object, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidArgument(f"{name}={value!r} must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidArgument(f"{name}={value!r} must be timezone-aware (lawful never guesses)")
    return value


def _sizes(low: int, high: int, what: str) -> tuple[int, int]:
    if low < 0 or high < low:
        raise InvalidArgument(f"need 0 <= min_{what} <= max_{what}, got {low} and {high}")
    return low, high


def _bases(bases: Collection[LegalBasis] | None, where: str) -> tuple[LegalBasis, ...]:
    chosen = tuple(LegalBasis) if bases is None else tuple(bases)
    if not chosen or not all(isinstance(b, LegalBasis) for b in chosen):
        raise InvalidArgument(f"{where}(bases=...) needs one or more LegalBasis, got {bases!r}")
    return chosen


def _palette(policy: object) -> Palette:
    """The palette of a policy, built once per policy object (policies are immutable)."""
    if policy is not None and not isinstance(policy, Policy):
        raise InvalidArgument(f"policy={policy!r} must be a lawful.Policy or None")
    found = _PALETTES.get(id(policy))
    if found is not None and found[0] is policy:
        return found[1]
    palette = palette_for(policy)
    _PALETTES[id(policy)] = (policy, palette)
    if len(_PALETTES) > _PALETTE_CACHE:
        del _PALETTES[next(iter(_PALETTES))]
    return palette


@cache
def _available_zones() -> tuple[tzinfo, ...]:
    zones: list[tzinfo] = []
    for key in _ZONE_KEYS:
        try:
            zones.append(ZoneInfo(key))
        except ZoneInfoNotFoundError:  # no time-zone database here (Windows without tzdata)
            continue
    return tuple(zones) or (UTC,)


def time_zones(*, fixed_offsets: bool = True, named: bool = True) -> SearchStrategy[tzinfo]:
    """UTC, fixed UTC offsets (whole minutes, up to almost ±24 h) and IANA zones with DST.

    Named zones come from a fixed list chosen for their edges (daylight saving both
    ways, +05:45, -03:30, +14:00, a half-hour DST); the ones the host's time-zone
    database lacks are skipped. Shrinks towards UTC.

    Raises:
        InvalidArgument: Both kinds are switched off.
    """
    if not (fixed_offsets or named):
        raise InvalidArgument("time_zones() needs fixed_offsets=True or named=True")
    return _zones(fixed_offsets=fixed_offsets, named=named)


@cache
def _zones(*, fixed_offsets: bool, named: bool) -> SearchStrategy[tzinfo]:
    options: list[SearchStrategy[tzinfo]] = [st.just(UTC)]
    if fixed_offsets:
        options.append(
            st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
        )
    if named:
        options.append(st.deferred(lambda: st.sampled_from(_available_zones())))
    return st.one_of(options)


def aware_datetimes(
    *,
    min_value: datetime = ANCHOR_MIN,
    max_value: datetime = ANCHOR_MAX,
    timezones: SearchStrategy[tzinfo] | None = None,
) -> SearchStrategy[datetime]:
    """Aware datetimes between two instants (inclusive), each shown in a drawn zone.

    The instant is drawn first and then converted, so every value exists in its zone
    (no imaginary wall time is invented; ambiguous ones carry the right ``fold``).
    Shrinks towards ``min_value`` in UTC.

    Args:
        min_value: The earliest instant; default 2015-01-01 UTC.
        max_value: The latest instant; default 2035-12-31 UTC.
        timezones: The zones to show values in; default :func:`time_zones`.

    Raises:
        InvalidArgument: A bound is naive or outside 1900-2999, or ``min_value > max_value``.
    """
    low, high = _aware(min_value, "min_value"), _aware(max_value, "max_value")
    if low < _EARLIEST or high > _LATEST:
        raise InvalidArgument("aware_datetimes() bounds must lie within the years 1900-2999")
    if low > high:
        raise InvalidArgument(f"min_value={low!r} is after max_value={high!r}")
    naive = st.datetimes(
        min_value=low.astimezone(UTC).replace(tzinfo=None),
        max_value=high.astimezone(UTC).replace(tzinfo=None),
    )
    return st.builds(_shown_in, naive, time_zones() if timezones is None else timezones)


def _shown_in(naive_utc: datetime, zone: tzinfo) -> datetime:
    return naive_utc.replace(tzinfo=UTC, fold=0).astimezone(zone)


def data_categories(
    *,
    ids: SearchStrategy[str] | None = None,
    special: bool | None = None,
    text: SearchStrategy[str] | None = None,
) -> SearchStrategy[DataCategory]:
    """Data categories, special (Art. 9(1)) or not.

    Args:
        ids: Their ids; default realistic ones (``ip_address``, ``health_data``) and
            generated ones that the id rule accepts.
        special: ``True`` or ``False`` fixes the Art. 9 flag; ``None`` draws it.
        text: Titles and descriptions; default any text.

    Shrinks towards a non-special ``ip_address`` with an empty title.
    """
    words_ = st.text(max_size=12) if text is None else text
    return st.builds(
        DataCategory,
        id=words("category") if ids is None else ids,
        title=words_,
        special=st.booleans() if special is None else st.just(special),
        description=words_,
    )


def vendors(*, ids: SearchStrategy[str] | None = None) -> SearchStrategy[Vendor]:
    """Vendors of every role, inside or outside the EEA with a consistent transfer mechanism.

    Inside the EEA a vendor has ``NOT_APPLICABLE``. Outside it, one of adequacy, SCCs,
    BCRs, a derogation with its Art. 49 ground (explicit consent and the contract grounds
    more often, as the decision checks them against events), or ``NOT_STATED``, which the
    decision denies. A derogation always names its ground, and only a derogation does.
    Shrinks towards a first party inside the EEA.
    """
    return _vendors(words("vendor") if ids is None else ids)


def _build_vendor(
    vendor_id: str,
    role: VendorRole,
    outside: bool,
    how: TransferMechanism,
    ground: TransferDerogation,
) -> Vendor:
    derogation = how is TransferMechanism.DEROGATION
    return Vendor(
        id=vendor_id,
        name=vendor_id.replace("-", " ").title(),
        role=role,
        hosting="United States" if outside else "European Union",
        outside_eea=outside,
        transfer=how if outside else TransferMechanism.NOT_APPLICABLE,
        derogation=ground if outside and derogation else None,
    )


_MECHANISMS = (
    *(m for m in TransferMechanism if m is not TransferMechanism.NOT_APPLICABLE),
    TransferMechanism.DEROGATION,
)
_GROUNDS = (TransferDerogation.EXPLICIT_CONSENT, *TransferDerogation)


@cache
def _vendors(ids: SearchStrategy[str]) -> SearchStrategy[Vendor]:
    return st.builds(
        _build_vendor,
        ids,
        st.sampled_from(VendorRole),
        st.booleans(),
        st.sampled_from(_MECHANISMS),
        st.sampled_from(_GROUNDS),
    )


def age_rules(
    *, scopes: Collection[AgeScope] | None = None, sections: Sequence[str] = ()
) -> SearchStrategy[AgeRules]:
    """Age rules (Art. 8): none, a minimum age, a parental-consent age, or both.

    Ages are 13 to 18, the minimum never above the parental-consent age; the scope
    (consent purposes or all) and the unknown-age rule vary. With ``sections``, rules
    cover every section or some of those given (``lawful.AgeRules.sections``);
    :func:`policies` draws them from its own sections. Shrinks towards no rules.

    Raises:
        InvalidArgument: ``scopes`` is empty.
    """
    chosen = tuple(AgeScope) if scopes is None else tuple(scopes)
    if not chosen:
        raise InvalidArgument("age_rules(scopes=...) needs at least one AgeScope")
    minimum = st.sampled_from((None, 13, 14, 16, 18))
    parental = st.sampled_from((None, 13, 15, 16, 18))
    names = tuple(dict.fromkeys(sections))
    covered = (
        st.just(())
        | st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True).map(tuple)
        if names
        else st.just(())
    )

    def build(
        a: int | None,
        b: int | None,
        scope: AgeScope,
        unknown: UnknownAge,
        covers: tuple[str, ...],
    ) -> AgeRules:
        if a is not None and b is not None and a > b:
            a, b = b, a
        return AgeRules(a, b, scope, unknown, covers)

    rules = st.builds(
        build,
        minimum,
        parental,
        st.sampled_from(chosen),
        st.sampled_from(UnknownAge),
        covered,
    )
    return st.one_of(st.just(AgeRules()), rules, rules)


def purposes(
    *,
    bases: Collection[LegalBasis] | None = None,
    data_categories: Sequence[DataCategory] = (),
    vendors: Sequence[Vendor] = (),
    opt_out_scopes: Sequence[str] = (),
    subject_categories: Sequence[str] = (),
    ids: SearchStrategy[str] | None = None,
    text: SearchStrategy[str] | None = None,
) -> SearchStrategy[Purpose]:
    """Purposes valid in a policy that declares these categories, vendors, scopes and subjects.

    Every basis-specific rule is drawn: consent lifetimes and per-vendor consent;
    legitimate interests with or without an admissible override; direct marketing;
    special categories with an Art. 9(2) condition (``(a)`` only under consent, any of
    ``(b)``-``(j)`` on every basis); Art. 18(2) restriction exceptions; purposes that do
    not recur (always those whose vendors' transfers rest on Art. 49(1)'s second
    subparagraph);
    device access with or without a strictly-necessary justification; opt-out
    scopes; covered subject categories; processor-only purposes; retention rules
    of every kind, combined either way. Shrinks towards the first basis given
    (consent by default) with no data, no vendors and one retention rule.

    Raises:
        InvalidArgument: ``bases`` is empty, or the declarations given repeat an id.
    """
    for name, items in (("data_categories", data_categories), ("vendors", vendors)):
        item_ids = [item.id for item in items]
        if len(set(item_ids)) != len(item_ids):
            raise InvalidArgument(f"purposes({name}=...) repeats an id: {item_ids}")
    return purpose_body(
        words("purpose") if ids is None else ids,
        _bases(bases, "purposes"),
        tuple(data_categories),
        tuple(vendors),
        tuple(opt_out_scopes),
        tuple(subject_categories),
        (),
        st.text(max_size=16) if text is None else text,
    )


def policies(
    *,
    min_purposes: int = 1,
    max_purposes: int = 5,
    bases: Collection[LegalBasis] | None = None,
    age: SearchStrategy[AgeRules] | None = None,
    max_previous_versions: int = 2,
    text: SearchStrategy[str] | None = None,
) -> SearchStrategy[Policy]:
    """Valid policies of every basis and rule kind, with earlier versions for staleness.

    Each policy declares data categories (some special), vendors (outside the EEA with
    every transfer mechanism), opt-out scopes, subject categories, controllers per
    section, signal mappings (a TCF binding of a purpose that accesses the device
    includes TCF purpose 1), age rules (some covering only some sections), and earlier
    versions whose purpose terms equal today's, name a vendor removed since (still
    valid), or lack today's vendor, data category, statement or basis (stale). Versions
    are listed oldest first; each may state when it took effect (``effective_from``,
    in that order, the current version last) and when it was published. Purposes are
    drawn by :func:`purposes`. Shrinks towards one consent
    purpose, no age rules and no earlier version.

    Args:
        min_purposes: The fewest purposes.
        max_purposes: The most purposes.
        bases: The legal bases purposes may have; default all six.
        age: Age rules; default :func:`age_rules`.
        max_previous_versions: The most earlier versions.
        text: Every free text (titles, statements, notes); default any text. Laws
            about decisions run faster with ``st.just("")``.

    Raises:
        InvalidArgument: Sizes are inconsistent, or ``bases`` is empty.
    """
    if max_previous_versions < 0:
        raise InvalidArgument(f"max_previous_versions={max_previous_versions} must be >= 0")
    prose = st.text(max_size=16) if text is None else text
    return policy_body(
        _sizes(min_purposes, max_purposes, "purposes"),
        _bases(bases, "policies"),
        age_rules() if age is None else age,
        max_previous_versions,
        data_categories(text=prose),
        vendors(),
        prose,
        age_sections=age is None,
    )


def events(
    *,
    policy: Policy | None = None,
    at: SearchStrategy[datetime] | None = None,
    types: Collection[type[Event]] | None = None,
) -> SearchStrategy[Event]:
    """Single events of every kind, fitting ``policy`` when one is given.

    With a policy, events name its purposes (consent-based ones more often, an
    undeclared one now and then), its vendors, its opt-out scopes (and an
    undeclared one, which stops every purpose), the interaction kinds its
    retention rules count, its versions (and an unknown one), and ages on its
    thresholds. Shrinks towards a purpose-wide consent at the earliest instant.

    Args:
        policy: The policy the events fit; ``None``: generic ids.
        at: When they take effect; default :func:`aware_datetimes`.
        types: The event classes to draw from; default all.

    Raises:
        InvalidArgument: ``types`` is empty or holds something other than an event class.
    """
    chosen = EVENT_TYPES if types is None else tuple(types)
    if not chosen or any(t not in EVENT_TYPES for t in chosen):
        raise InvalidArgument(f"events(types=...) needs lawful event classes, got {types!r}")
    palette = _palette(policy)
    return one_event(palette, aware_datetimes() if at is None else at, chosen)


def event_histories(
    *,
    policy: Policy | None = None,
    min_size: int = 0,
    max_size: int = 10,
    start: SearchStrategy[datetime] | None = None,
    timezones: SearchStrategy[tzinfo] | None = None,
) -> SearchStrategy[list[Event]]:
    """Lists of events that fit ``policy``, in no particular order, clustered on its limits.

    The first event happens after an instant drawn from ``start`` (by default any
    instant, or one near an instant a version of ``policy`` took effect); every other one
    at an earlier event's instant (so ties of every kind occur), a microsecond, a
    second or a day either side of it, some days later, or exactly at, just before
    or just after one of the policy's durations (consent lifetime, retention
    period, session timeout) after it. Birth dates and declared ages sit on the
    policy's age thresholds. Each instant is shown in a zone from ``timezones``.
    Shrinks towards fewer events, at the start instant.

    Raises:
        InvalidArgument: Sizes are inconsistent, or ``policy`` is not a Policy.
    """
    palette = _palette(policy)
    zones = time_zones() if timezones is None else timezones
    if start is None:
        start = aware_datetimes()
        if palette.milestones:
            # Around the instants versions took effect: consents on either side of them.
            start = st.one_of(start, near_limits(palette, palette.milestones, zones))
    return history(palette, _sizes(min_size, max_size, "size"), start, zones)


def instants(
    *,
    policy: Policy | None = None,
    around: Sequence[Event | datetime] = (),
    timezones: SearchStrategy[tzinfo] | None = None,
) -> SearchStrategy[datetime]:
    """Instants where a decision may change, shown in a drawn zone.

    At, a microsecond, a second or a day either side of ``around``'s instants (events
    or datetimes such as a collection time); those instants plus one of the policy's
    durations, calendar months counted in UTC as the decision counts them; and the
    birthdays on which a declared birth date or age crosses the policy's age
    thresholds, within 14 hours of UTC midnight. Shrinks towards the first instant
    of ``around`` (2015-01-01 UTC when it is empty).

    Raises:
        InvalidArgument: An item of ``around`` is neither an event nor an aware datetime.
    """
    for index, item in enumerate(around):
        if isinstance(item, datetime):
            _aware(item, f"around[{index}]")
        elif not isinstance(item, EVENT_TYPES):
            raise InvalidArgument(f"around[{index}]={item!r} is neither an event nor a datetime")
    return near_limits(
        _palette(policy),
        tuple(around),
        time_zones() if timezones is None else timezones,
    )


def subjects(
    *,
    policy: Policy | None = None,
    histories: SearchStrategy[Sequence[Event]] | None = None,
    ids: SearchStrategy[str] | None = None,
    categories: SearchStrategy[frozenset[str] | None] | None = None,
) -> SearchStrategy[Subject]:
    """Data subjects whose histories fit ``policy`` (see :func:`event_histories`).

    Categories are mostly unknown (``None``), else some of the policy's subject
    categories, now and then one it does not declare. Shrinks towards a subject of
    unknown categories with no events.
    """
    known = _palette(policy).subject_categories
    if categories is None:
        some = st.frozensets(st.sampled_from([*known, "unlisted-category"]), min_size=1, max_size=2)
        categories = st.one_of(st.none(), st.none(), some)
    return st.builds(
        _subject,
        st.text(min_size=1, max_size=8) if ids is None else ids,
        event_histories(policy=policy) if histories is None else histories,
        categories,
    )


def _subject(
    subject_id: str, history: Sequence[Event], categories: frozenset[str] | None
) -> Subject:
    return Subject(subject_id, history, categories=categories)
