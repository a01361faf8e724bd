"""Drawing valid policies for :mod:`lawful.strategies` (private; imports hypothesis).

Policies are drawn part by part so that every reference resolves and every
basis-specific rule holds: the validator's errors are the list of constraints.
Strategies are built once and reused (building and validating a strategy costs
more than drawing from it).
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import TypeVar, cast

import attrs
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from lawful.duration import Duration
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    AgeRules,
    Contact,
    DataCategory,
    Entity,
    LegalBasis,
    NoPeriodStated,
    OptOutScope,
    Purpose,
    PurposeTerms,
    RestrictionException,
    Retention,
    RetentionCombine,
    RetentionRule,
    SessionEnd,
    SignalBinding,
    Signals,
    SpecialCategoryCondition,
    TcfBinding,
    TransferDerogation,
    UnknownSubjectCategory,
    Vendor,
)
from lawful.policy import Policy, PolicyVersion

__all__ = [
    "ANCHOR_MAX",
    "ANCHOR_MIN",
    "JITTERS",
    "NAMED_DURATIONS",
    "UNLISTED",
    "WORDS",
    "durations",
    "memo",
    "pick",
    "pick_some",
    "pick_weighted",
    "policy_body",
    "prose",
    "purpose_body",
    "rarely",
    "weighted",
    "words",
]

T = TypeVar("T")

ANCHOR_MIN = datetime(2015, 1, 1, tzinfo=UTC)
ANCHOR_MAX = datetime(2035, 12, 31, tzinfo=UTC)
UNLISTED = "unlisted"
"""The id events use for a purpose, scope, vendor or kind the policy does not declare."""

WORDS: dict[str, tuple[str, ...]] = {
    "purpose": ("analytics", "marketing", "ab_testing", "crm", "fraud_prevention", "newsletter"),
    "category": ("ip_address", "browser_cookie", "device_information", "email", "health_data"),
    "vendor": ("piwik-pro", "hubspot", "omniconvert", "acme-cloud", "mailer"),
    "scope": ("sale_or_sharing", "analytics", "marketing"),
    "kind": ("reply", "page_view", "email_exchange", "login"),
    "subject": ("visitor", "client", "job_applicant"),
    "version": ("2024-08-30", "2023-01-15", "2.0", "1.0"),
    "policy": ("piwik-pro", "acme", "example.org"),
    "entity": ("piwik-pro-gmbh", "piwik-pro-sa", "acme-ltd"),
    "section": ("website", "services", "recruitment"),
}
_ID_TAIL = "abcdefghijklmnopqrstuvwxyz0123456789_-."
NAMED_DURATIONS = (
    "13 months",
    "1 year",
    "6 months",
    "24 months",
    "1 month",
    "30 days",
    "1 day",
    "2 hours",
    "30 minutes",
)
_US = timedelta(microseconds=1)
JITTERS = (
    timedelta(0),
    -_US,
    _US,
    -timedelta(seconds=1),
    timedelta(seconds=1),
    -timedelta(days=1),
    timedelta(days=1),
)
_DATES = st.dates(date(2000, 1, 1), date(2035, 12, 31))
_CHANGES = st.sampled_from(
    ("same", "vendor_removed", "new_vendor", "new_data", "statement", "basis")
)
_TCF_PURPOSES = st.lists(st.integers(1, 24), min_size=1, max_size=3)
_GVL_IDS = st.integers(1, 1500)
_MEMO_SIZE = 4096
_STRATEGIES: OrderedDict[Hashable, SearchStrategy[object]] = OrderedDict()


def memo(key: Hashable, make: Callable[[], SearchStrategy[T]]) -> SearchStrategy[T]:
    """The strategy for ``key``, built once (a bounded cache, least recently used out)."""
    found = _STRATEGIES.get(key)
    if found is None:
        found = _STRATEGIES[key] = make()
        if len(_STRATEGIES) > _MEMO_SIZE:
            _STRATEGIES.popitem(last=False)
    else:
        _STRATEGIES.move_to_end(key)
    return cast("SearchStrategy[T]", found)


@cache
def words(kind: str) -> SearchStrategy[str]:
    """Ids of one kind: realistic ones, and generated ones that the id rule accepts."""
    generated = st.builds(
        operator.add, st.sampled_from("abcdefghijklmnopqrstuvwxyz"), st.text(_ID_TAIL, max_size=6)
    )
    return st.one_of(st.sampled_from(WORDS[kind]), generated)


def prose(text: SearchStrategy[str], prefix: str) -> SearchStrategy[str]:
    """``text`` after a prefix, so never blank (statements, interests, withdrawal)."""
    return memo(("prose", text, prefix), lambda: text.map(lambda body: prefix + body))


def _maybe(strategy: SearchStrategy[T]) -> SearchStrategy[T | None]:
    return memo(("maybe", strategy), lambda: st.none() | strategy)


@cache
def rarely() -> SearchStrategy[bool]:
    """True about one time in twelve; shrinks to False."""
    return st.integers(0, 11).map(lambda n: n == 11)


def weighted(common: Sequence[T], rare: Sequence[T]) -> SearchStrategy[T]:
    """One of ``common`` (three times as likely) or ``rare``; shrinks to ``common[0]``.

    For constant pools only: a strategy per pool is built once and kept.
    """
    pool = (*common, *common, *common, *rare) if common else tuple(rare)
    return memo(("weighted", pool), lambda: st.sampled_from(pool))


@cache
def _index(size: int) -> SearchStrategy[int]:
    # sampled_from draws uniformly; st.integers favours 0 (about four draws in ten).
    return st.sampled_from(range(size))


@cache
def _mask(size: int) -> SearchStrategy[int]:
    return st.sampled_from(range(1 << size))


def pick(draw: st.DrawFn, items: Sequence[T]) -> T:
    """One of ``items``; shrinks to the first. Drawn by index, so no strategy per pool."""
    return items[draw(_index(len(items)))]


def pick_weighted(draw: st.DrawFn, common: Sequence[T], rare: Sequence[T]) -> T:
    """One of ``common`` (three times as likely) or ``rare``; shrinks to ``common[0]``."""
    return pick(draw, (*common, *common, *common, *rare) if common else tuple(rare))


def pick_some(
    draw: st.DrawFn, items: Sequence[T], max_size: int, min_size: int = 0
) -> tuple[T, ...]:
    """Distinct items in their order, ``min_size`` to ``max_size``; shrinks to the fewest."""
    if not items:
        return ()
    mask = draw(_mask(len(items)))
    chosen = tuple(item for i, item in enumerate(items) if mask >> i & 1)[:max_size]
    return chosen if len(chosen) >= min_size else tuple(items[:min_size])


def durations(*, calendar: bool = True) -> SearchStrategy[Duration]:
    """Positive durations: realistic ones ("13 months", "30 minutes") and built ones.

    Args:
        calendar: Whether months and years may occur (session timeouts have none).

    Shrinks towards the first realistic duration (13 months; 30 days without calendar units).
    """
    return _durations(calendar=calendar)


@cache
def _durations(*, calendar: bool) -> SearchStrategy[Duration]:
    named = [Duration.parse(text) for text in NAMED_DURATIONS]
    if not calendar:
        named = [d for d in named if not (d.years or d.months)]
    built = st.builds(
        Duration,
        years=st.integers(0, 1) if calendar else st.just(0),
        months=st.integers(0, 13) if calendar else st.just(0),
        days=st.integers(0, 45),
        seconds=st.integers(0, 2 * 86_400),
    ).filter(lambda d: not d.is_zero)
    return st.one_of(st.sampled_from(named), built)


def _retention(text: SearchStrategy[str]) -> SearchStrategy[Retention]:
    def make() -> SearchStrategy[Retention]:
        rule: SearchStrategy[RetentionRule] = st.one_of(
            st.builds(AfterCollection, durations()),
            st.builds(
                AfterLastInteraction,
                durations(),
                st.lists(
                    st.sampled_from(WORDS["kind"][:3]), min_size=1, max_size=2, unique=True
                ).map(tuple),
            ),
            st.builds(SessionEnd, durations(calendar=False)),
            st.builds(NoPeriodStated, text),
        )
        return st.builds(
            Retention,
            st.lists(rule, min_size=1, max_size=3).map(tuple),
            st.sampled_from(RetentionCombine),
        )

    return memo(("retention", text), make)


def draw_purpose(
    draw: st.DrawFn,
    purpose_id: str,
    bases: tuple[LegalBasis, ...],
    categories: tuple[DataCategory, ...],
    vendors: tuple[Vendor, ...],
    scopes: tuple[str, ...],
    subject_categories: tuple[str, ...],
    sections: tuple[str, ...],
    text: SearchStrategy[str],
) -> Purpose:
    """One purpose, valid against the declarations given (the validator's rules, one by one)."""
    basis = pick(draw, bases)
    consent = basis is LegalBasis.CONSENT
    interests = basis is LegalBasis.LEGITIMATE_INTERESTS
    data = pick_some(draw, categories, 3)
    condition: SpecialCategoryCondition | None = None
    if any(c.special for c in data):
        # Art. 9(2)(a) only under consent, and favoured there so that explicitness is
        # exercised; any of (b)-(j) on every basis, legitimate interests included.
        allowed = [
            c
            for c in SpecialCategoryCondition
            if consent or c is not SpecialCategoryCondition.EXPLICIT_CONSENT
        ]
        condition = pick_weighted(draw, allowed[:1], allowed)
    direct_marketing = draw(rarely())
    objectable = interests or basis is LegalBasis.PUBLIC_TASK
    # Art. 21(3): no override of an objection to direct marketing.
    override = objectable and not direct_marketing and draw(weighted((True,), (False,)))
    device_access = draw(weighted((False,), (True,)))
    necessary = draw(_maybe(prose(text, "Needed "))) if device_access else None
    processor_only = draw(rarely())
    lifetime = draw(_maybe(durations())) if consent else None
    per_vendor = draw(st.booleans()) if consent else False
    chosen = pick_some(draw, vendors, 3)
    # Art. 49(1), second subparagraph: only a transfer that does not repeat.
    one_off = any(
        v.derogation is TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS for v in chosen
    )
    recurring = not one_off and not draw(rarely())
    exceptions = pick_some(draw, tuple(RestrictionException), 2, 1) if draw(rarely()) else ()
    # Mostly every subject category: a narrower purpose is the exception.
    subjects = pick(draw, ((),) * 6 + (*((c,) for c in subject_categories), subject_categories))
    opt_out_scopes = pick_some(draw, (*scopes, "all"), 2)
    retention = draw(_retention(text))
    return Purpose(
        id=purpose_id,
        title=draw(text),
        statement=draw(prose(text, "We ")),
        basis=basis,
        data=tuple(c.id for c in data),
        vendors=tuple(v.id for v in chosen),
        retention=retention,
        section=pick_weighted(draw, (None,), sections),
        subjects=subjects,
        consent_lifetime=lifetime,
        per_vendor_consent=per_vendor,
        withdrawal=draw(prose(text, "Settings ")) if consent else None,
        legitimate_interest=draw(prose(text, "Our ")) if interests else None,
        assessment=draw(_maybe(prose(text, "LIA "))) if objectable else None,
        direct_marketing=direct_marketing,
        override_admissible=override,
        special_category_condition=condition,
        device_access=device_access,
        strictly_necessary=necessary,
        opt_out_scopes=opt_out_scopes,
        processor_only=processor_only,
        restriction_exceptions=exceptions,
        recurring=recurring,
        notes=draw(text),
    )


@st.composite
def purpose_body(
    draw: st.DrawFn,
    ids: SearchStrategy[str],
    bases: tuple[LegalBasis, ...],
    categories: tuple[DataCategory, ...],
    vendors: tuple[Vendor, ...],
    scopes: tuple[str, ...],
    subject_categories: tuple[str, ...],
    sections: tuple[str, ...],
    text: SearchStrategy[str],
) -> Purpose:
    """One valid purpose with a drawn id (see :func:`lawful.strategies.purposes`)."""
    return draw_purpose(
        draw, draw(ids), bases, categories, vendors, scopes, subject_categories, sections, text
    )


def _earlier_terms(draw: st.DrawFn, purpose: Purpose) -> PurposeTerms:
    """Terms of an earlier version: equal, wider (a vendor removed since), or narrower."""
    now = purpose.terms
    change = draw(_CHANGES)
    if change == "vendor_removed":  # DESIGN: removing a vendor does not make a consent stale
        return attrs.evolve(now, vendors=now.vendors | {"retired-vendor"})
    if change == "new_vendor" and now.vendors:
        return attrs.evolve(now, vendors=now.vendors - {min(now.vendors)})
    if change == "new_data" and now.data:
        return attrs.evolve(now, data=now.data - {min(now.data)})
    if change == "statement":
        return attrs.evolve(now, statement="Earlier: " + now.statement)
    if change == "basis":
        return attrs.evolve(now, basis=pick(draw, [b for b in LegalBasis if b is not now.basis]))
    return now


def _signals(
    draw: st.DrawFn,
    purposes: Sequence[Purpose],
    vendor_ids: tuple[str, ...],
    scopes: tuple[str, ...],
) -> Signals:
    purpose_ids = tuple(p.id for p in purposes)
    device = {p.id for p in purposes if p.device_access}

    def tcf_purposes(purpose_id: str) -> tuple[int, ...]:
        numbers = tuple(draw(_TCF_PURPOSES))
        if purpose_id in device and 1 not in numbers:
            # TCF purpose 1, "store and/or access information on a device" (ePrivacy 5(3)).
            numbers = (1, *numbers)
        return numbers

    def bindings(names: tuple[str, ...]) -> tuple[SignalBinding, ...]:
        return tuple(
            SignalBinding(pick(draw, names), pick_some(draw, purpose_ids, 2))
            for _ in range(draw(_index(3)))
        )

    tcf = tuple(
        TcfBinding(
            purpose_id,
            tcf_purposes(purpose_id),
            {v: draw(_GVL_IDS) for v in pick_some(draw, vendor_ids, 2)},
        )
        for purpose_id in (pick(draw, purpose_ids) for _ in range(draw(_index(3))))
    )
    return Signals(
        tcf=tcf,
        gpc_scope=pick_weighted(draw, (None,), scopes),
        consent_mode=bindings(("analytics_storage", "ad_storage", "ad_user_data")),
        piwik_pro=bindings(("analytics", "ab_testing_and_personalization")),
    )


@attrs.frozen(eq=False)
class _Parts:
    """The strategies a policy is drawn from, built once per set of options."""

    versions: SearchStrategy[list[str]]
    categories: SearchStrategy[list[DataCategory]]
    vendors: SearchStrategy[list[Vendor]]
    scopes: SearchStrategy[list[str]]
    subject_categories: SearchStrategy[dict[str, str]]
    entities: SearchStrategy[dict[str, Entity]]
    contact: SearchStrategy[Contact]
    scope: SearchStrategy[OptOutScope]
    sections: SearchStrategy[list[str]]


@lru_cache(maxsize=64)
def _parts(
    max_versions: int,
    categories: SearchStrategy[DataCategory],
    vendor_strategy: SearchStrategy[Vendor],
    text: SearchStrategy[str],
) -> _Parts:
    return _Parts(
        versions=st.lists(words("version"), min_size=1, max_size=1 + max_versions, unique=True),
        categories=st.lists(categories, min_size=1, max_size=4, unique_by=lambda c: c.id),
        vendors=st.lists(vendor_strategy, max_size=3, unique_by=lambda v: v.id),
        scopes=st.lists(words("scope"), max_size=2, unique=True),
        subject_categories=st.dictionaries(words("subject"), text, max_size=2),
        entities=st.dictionaries(
            words("entity"), st.builds(Entity, prose(text, "Acme "), text, text), max_size=2
        ),
        contact=st.builds(Contact, text, text, st.lists(text, max_size=2).map(tuple)),
        scope=st.builds(OptOutScope, prose(text, "Opt out "), text),
        sections=st.lists(words("section"), max_size=2, unique=True),
    )


@st.composite
def policy_body(
    draw: st.DrawFn,
    sizes: tuple[int, int],
    bases: tuple[LegalBasis, ...],
    age: SearchStrategy[AgeRules],
    max_versions: int,
    categories: SearchStrategy[DataCategory],
    vendor_strategy: SearchStrategy[Vendor],
    text: SearchStrategy[str],
    age_sections: bool,
) -> Policy:
    """A whole valid policy (see :func:`lawful.strategies.policies`)."""
    parts = _parts(max_versions, categories, vendor_strategy, text)
    # What shapes decisions is drawn first: hypothesis fills the tail of a long example
    # with its simplest choices more often than the head.
    age_rules = draw(age)
    # As many purposes of each count (lists favour short ones): decisions need several.
    count = draw(st.sampled_from(range(sizes[0], sizes[1] + 1)))
    purpose_ids = draw(st.lists(words("purpose"), min_size=count, max_size=count, unique=True))
    versions = draw(parts.versions)
    cats = tuple(draw(parts.categories))
    vends = tuple(draw(parts.vendors))
    vendor_ids = tuple(v.id for v in vends)
    scopes = tuple(draw(parts.scopes))
    subject_categories = draw(parts.subject_categories)
    entities = draw(parts.entities)
    controllers: dict[str, tuple[str, ...]] = {}
    if entities:
        sections = draw(parts.sections)
        controllers = {s: pick_some(draw, sorted(entities), 2, 1) for s in sections}
    purposes = [
        draw_purpose(
            draw,
            purpose_id,
            bases,
            cats,
            vends,
            scopes,
            tuple(subject_categories),
            tuple(controllers),
            text,
        )
        for purpose_id in purpose_ids
    ]
    if age_sections and controllers and draw(st.booleans()):
        # An age rule about some sections only ("the use of the website").
        age_rules = attrs.evolve(age_rules, sections=pick_some(draw, tuple(controllers), 2, 1))
    # Earlier versions oldest first, each taking effect (where it says when) and published
    # after the one before it, and the current version last: an unversioned consent is
    # judged under the version in force at its instant.
    starts = _version_starts(draw, len(versions))
    published = _version_dates(draw, len(versions))
    previous = []
    for i, version in enumerate(versions[1:]):
        kept = pick_some(draw, purposes, len(purposes))  # a purpose missing is stale
        previous.append(
            PolicyVersion(
                version=version,
                purposes={p.id: _earlier_terms(draw, p) for p in kept},
                published=published[i],
                effective_from=starts[i],
            )
        )
    declared = tuple(p.id for p in purposes)
    return Policy(
        id=draw(words("policy")),
        version=versions[0],
        title=draw(text),
        updated=draw(_maybe(_DATES)),
        purposes=purposes,
        data_categories=cats,
        vendors=vends,
        entities=entities,
        controllers=controllers,
        subject_categories=subject_categories,
        contact=draw(parts.contact),
        age=age_rules,
        unknown_subject_category=draw(st.sampled_from(UnknownSubjectCategory)),
        opt_out_scopes={s: draw(parts.scope) for s in scopes},
        signals=_signals(draw, purposes, vendor_ids, scopes) if declared else Signals(),
        previous_versions=previous,
        effective_from=starts[-1],
    )


_STARTS = st.datetimes(
    ANCHOR_MIN.replace(tzinfo=None), ANCHOR_MAX.replace(tzinfo=None) - timedelta(days=1300)
).map(lambda naive: naive.replace(tzinfo=UTC))
_GAPS = st.sampled_from((_US, timedelta(days=1), timedelta(days=30), timedelta(days=400)))


def _version_starts(draw: st.DrawFn, count: int) -> list[datetime | None]:
    """When each version took effect (oldest first, the current one last), or ``None``."""
    if draw(rarely()) or not draw(st.booleans()):
        return [None] * count  # no version says when it took effect
    moment = draw(_STARTS)
    out: list[datetime | None] = []
    for _ in range(count):
        out.append(moment if draw(weighted((True,), (False,))) else None)
        moment += draw(_GAPS)
    return out


def _version_dates(draw: st.DrawFn, count: int) -> list[date | None]:
    """When each version was published (oldest first), or ``None``."""
    day = draw(_DATES)
    out: list[date | None] = []
    for _ in range(count):
        out.append(day if draw(st.booleans()) else None)
        day += timedelta(days=draw(st.integers(1, 400)))
    return out
