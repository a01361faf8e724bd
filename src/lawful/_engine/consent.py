"""Step 9 on consent (Art. 6(1)(a), 7, 8): every consent the decision needs must hold."""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING

from lawful._engine.age import (
    _POLICY_AGE,
    _age,
    _age_article,
    _parental_some_time,
    _reaches,
    _youngest,
)
from lawful._engine.lines import _same_instant, _slots
from lawful._engine.query import _R, _TOP, _after, _Deny, _latest_in, _Query
from lawful._time import from_us, to_us
from lawful._timelines import Kind, Line, LineKey, latest_key
from lawful.decision import Reason, ReasonCode, lazy_reason
from lawful.events import ConsentGiven, Event, Objection, OptOut
from lawful.model import CompiledPurpose, PolicyContext, PurposeTerms, SpecialCategoryCondition

if TYPE_CHECKING:
    from datetime import datetime, tzinfo

    from lawful._engine.plan import Plan
    from lawful.duration import Duration

_GIVEN = ReasonCode.CONSENT_GIVEN
_GIVEN_ARTICLE = _GIVEN.article
_WITHDRAWN = ReasonCode.CONSENT_WITHDRAWN
_WITHDRAWN_ARTICLE = _WITHDRAWN.article
_STALE = ReasonCode.CONSENT_STALE
_EXPIRED = ReasonCode.CONSENT_EXPIRED
_EXPLICIT = ReasonCode.EXPLICIT_CONSENT_REQUIRED


def _stop_words(event: Event) -> str:
    if isinstance(event, Objection):
        return "an objection, which counts as a withdrawal"
    if isinstance(event, OptOut):
        return f"an opt-out ({event.scope}), which acts as a withdrawal"
    return "a withdrawal"


# The messages of the consent reasons, written when first read (lawful.decision.lazy_reason):
# the plain rule and the quick one share them, so that both write the same text.


def _given_text(start: str, vendor: str | None, given_at: datetime) -> str:
    vendor_part = f" (vendor '{vendor}')" if vendor else ""
    return f"{start}{vendor_part} was given at {given_at.isoformat()} and is in force."


def _withdrawn_text(pid: str, event: Event) -> str:
    return f"The latest consent event for '{pid}' is {_stop_words(event)}."


def _stale_text(pid: str, stale: str) -> str:
    return f"The current terms of '{pid}' go beyond those consented to: {stale}."


def _expired_text(given_at: datetime, lifetime: Duration, expiry: int, tz: tzinfo | None) -> str:
    return (
        f"The consent given at {given_at.isoformat()} lasted {lifetime} under the "
        f"policy and expired at {from_us(expiry, tz).isoformat()}."
    )


def _explicit_text(pid: str) -> str:
    return (
        f"'{pid}' uses special categories under Art. 9(2)(a), which needs "
        "explicit consent; this consent was not explicit."
    )


def _given_reason(plan: Plan, grant: ConsentGiven) -> Reason:
    return lazy_reason(
        _GIVEN, _GIVEN_ARTICLE, grant, None, _given_text, plan.given, grant.vendor, grant.at
    )


def _withdrawn_reason(pid: str, stop: Event) -> Reason:
    return lazy_reason(_WITHDRAWN, _WITHDRAWN_ARTICLE, stop, None, _withdrawn_text, pid, stop)


def _stale_reason(pid: str, grant: ConsentGiven, stale: str) -> Reason:
    return lazy_reason(_STALE, _STALE.article, grant, None, _stale_text, pid, stale)


def _explicit_reason(pid: str, grant: ConsentGiven) -> Reason:
    return lazy_reason(_EXPLICIT, _EXPLICIT.article, grant, None, _explicit_text, pid)


def _no_consent(pid: str) -> Reason:
    """The reason of a consent purpose with no consent on record (fixed per purpose)."""
    return Reason(
        ReasonCode.NO_CONSENT,
        f"'{pid}' needs consent, and none is on record.",
        ReasonCode.NO_CONSENT.article,
        clause=f"purposes.{pid}.basis",
    )


def _consent(q: _Query, *, as_basis: bool = True) -> _Deny | list[Reason]:
    """Step 9 for consent: every consent the decision needs must hold.

    Where several fail, the primary reason is the first in this order: no consent (or
    withdrawn, or predating an erasure) at ``at``; not in force at collection, or
    withdrawn since; stale; expired; not explicit; a child's consent never authorised.
    """
    pid = q.purpose.id
    worst: tuple[int, Reason] | None = None
    reasons: list[Reason] = []
    seen: set[int] = set()
    for grants, stops in _slots(q, as_basis=as_basis):
        found = _latest_in(q.late, (*grants, *stops), q.at_key)
        failure: tuple[int, Reason] | None
        if found is None:
            failure = (1, q.plan.no_consent)
        elif not isinstance(found[1], ConsentGiven):
            failure = (1, _withdrawn_reason(pid, found[1]))
        else:
            group = _same_instant(q, grants, found[0])
            if id(group[0]) in seen:
                continue
            seen.update(id(grant) for grant in group)
            judged = _judge(q, group, found[0], grants, stops)
            if isinstance(judged, Reason):
                reasons.append(judged)
                continue
            failure = judged
        if worst is None or failure[0] < worst[0]:
            worst = failure
    if worst is not None:
        return _Deny(worst[1])
    return reasons


def _consent_quick(
    plan: Plan, lines: dict[LineKey, Line], at: datetime, at_us: int, until: list[int]
) -> Reason | list[Reason] | None:
    """:func:`_consent` in the common shape, in fewer steps: a quiet subject (no erasure,
    restriction, age, opt-out or objection on record), no grant recorded late, fresh data,
    every vendor of a purpose whose consent is purpose-wide (``plan.quick``). What it
    would read: the purpose-wide grants, and the purpose-wide and vendors' withdrawals.

    A denial is its reason alone; an allow, the list of its reasons. ``None`` where two
    grants decide at one instant: :func:`_consent` judges them all.
    The plan-versus-plain law (``tests/properties/test_speed_laws.py``) holds it to the
    plain rule.
    """
    at_key = at_us * _R + _TOP
    keys = plan.consent_keys
    best_key = -1
    best: Event | None = None
    twins = False
    line = lines.get(keys.grants)
    if line is not None:
        pos = bisect_right(line[0], at_key, 0, line[2])
        if pos:
            best_key = line[0][pos - 1]
            best = line[1][pos - 1]
            twins = pos > 1 and line[0][pos - 2] == best_key
    for stops in keys.all_stops:  # _latest_in's order: a tie keeps the first found
        line = lines.get(stops)
        if line is not None:
            pos = bisect_right(line[0], at_key, 0, line[2])
            if pos and line[0][pos - 1] > best_key:
                best_key = line[0][pos - 1]
                best = line[1][pos - 1]
    purpose = plan.purpose
    if best is None:
        return plan.no_consent
    if not isinstance(best, ConsentGiven):  # a withdrawal (quiet: no objection, no opt-out)
        return _withdrawn_reason(purpose.id, best)
    if twins:
        return None
    # _judge for one grant, fresh data, a quiet subject (no erasure, no age on record).
    stale = plan.stale.get(best.policy_version) if best.terms is None else None
    if stale is None:  # no version, one the policy does not know, or terms of its own
        stale = _staleness(purpose.context, purpose, best)
    if stale:
        return _stale_reason(purpose.id, best, stale)
    lifetime = purpose.consent_lifetime
    if lifetime is not None:
        expired = _expiry(at_us, best, lifetime, purpose.id, at.tzinfo, until)
        if expired is not None:
            return expired
    if plan.explicit and not best.explicit:
        return _explicit_reason(purpose.id, best)
    return [  # _given_reason, a call less
        lazy_reason(
            _GIVEN, _GIVEN_ARTICLE, best, None, _given_text, plan.given, best.vendor, best.at
        )
    ]


def _judge(
    q: _Query,
    group: list[ConsentGiven],
    key: int,
    grants: tuple[Line | None, ...],
    stops: tuple[Line | None, ...],
) -> Reason | tuple[int, Reason]:
    """The grants deciding at one instant (the more restrictive of conflicting grants
    wins, so every one must hold), judged check by check in order.
    """
    purpose = q.purpose
    pid = purpose.id
    grant = group[0]
    erasure = None if q.quiet else latest_key(q.lines.get((Kind.ERASURE,)), q.at_key, q.late)
    if erasure is not None and key // _R <= erasure[0] // _R:
        # Art. 17: after an erasure, consent-based processing needs a consent given after it.
        return (
            1,
            Reason(
                ReasonCode.ERASED,
                "The consent predates the subject's erasure; a new consent is needed.",
                ReasonCode.ERASED.article,
                event=erasure[1],
            ),
        )
    lifetime = purpose.consent_lifetime
    if not q.fresh:
        # Stored data (collected before ``at``): the consent at collection too. Data
        # collected at ``at`` is judged at ``at`` alone, as fresh data is.
        q.narrow_at(q.at_us)
        if q.c_us < q.at_us:
            failure = _at_collection(q, grants, stops, erasure)
            if failure is not None:
                return (2, failure)
    ctx = q.ctx
    for tied in group:
        stale = _staleness(ctx, purpose, tied)
        if stale:
            return (3, _stale_reason(pid, tied, stale))
    if lifetime is not None:
        # The GDPR sets no lifetime (Art. 7(1) asks only that consent be shown): the
        # policy's clause does, counted from when the consent was given.
        given = min(group, key=lambda g: g.at)
        expired = _expiry(q.at_us, given, lifetime, pid, q.at.tzinfo, q.until)
        if expired is not None:
            return (4, expired)
    if purpose.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT:
        for tied in group:
            if not tied.explicit:
                return (5, _explicit_reason(pid, tied))
    if ctx.age_covers and not q.quiet:  # a quiet subject has no age on record
        for tied in group:
            child = _child_consent(q, tied, key)
            if child is not None:
                return (6, child)
    return _given_reason(q.plan, grant)


def _expiry(
    at_us: int,
    given: ConsentGiven,
    lifetime: Duration,
    pid: str,
    tz: tzinfo | None,
    until: list[int],
) -> Reason | None:
    """The policy's consent lifetime: expired at ``at_us`` (the reason), or not yet (its
    expiry joins ``until``, the deadlines of an allow).
    """
    expiry = _after(lifetime, to_us(given.at, "consent_given.at"))
    if at_us >= expiry:
        return lazy_reason(
            _EXPIRED,
            _EXPIRED.article,
            given,
            f"purposes.{pid}.consent_lifetime",
            _expired_text,
            given.at,
            lifetime,
            expiry,
            tz,
        )
    until.append(expiry)
    return None


def _at_collection(
    q: _Query,
    grants: tuple[Line | None, ...],
    stops: tuple[Line | None, ...],
    erasure: tuple[int, Event] | None,
) -> Reason | None:
    """Stored data: the consent was in force when it was collected (collection is
    processing and needs its basis then), and not withdrawn since (a re-consent covers
    only data collected after it).
    """
    pid = q.purpose.id
    when = from_us(q.c_us, q.at.tzinfo).isoformat()
    then = _latest_in(q.late, (*grants, *stops), q.c_key)
    q.narrow_lookup((*grants, *stops))
    lifetime = q.purpose.consent_lifetime
    expired = False
    if (
        then is not None
        and isinstance(then[1], ConsentGiven)
        and lifetime is not None
        and not (erasure is not None and then[0] // _R <= erasure[0] // _R)
    ):
        expiry = _after(lifetime, to_us(then[1].at, "consent_given.at"))
        q.narrow_at(expiry)
        expired = q.c_us >= expiry
    if (
        then is None
        or not isinstance(then[1], ConsentGiven)
        or (erasure is not None and then[0] // _R <= erasure[0] // _R)
        or expired
    ):
        return Reason(
            ReasonCode.NO_CONSENT,
            f"No consent for '{pid}' was in force when the data was collected ({when}); "
            "a later consent covers only data collected after it.",
            ReasonCode.NO_CONSENT.article,
            event=None if then is None else then[1],
            clause=f"purposes.{pid}.basis",
        )
    stop = _latest_in(q.late, stops, q.at_key)
    if stop is not None:
        q.narrow_at(stop[0] // _R)  # stop[0] > c_key: withdrawn after the collection
    if stop is not None and stop[0] > q.c_key:
        return Reason(
            ReasonCode.CONSENT_WITHDRAWN,
            f"The consent for '{pid}' was withdrawn after the data was collected ({when}), "
            f"by {_stop_words(stop[1])}; a re-consent covers only data collected after it.",
            ReasonCode.CONSENT_WITHDRAWN.article,
            event=stop[1],
        )
    return None


def _child_consent(q: _Query, grant: ConsentGiven, key: int) -> Reason | None:
    """Art. 8(1): a child's consent counts only where a holder of parental responsibility
    gave or authorised it: a parental consent in force at some instant from the child's
    consent until the child left the band (or until ``at``).
    """
    rules = q.ctx.age
    minimum = rules.minimum_age
    limit = rules.parental_consent_age
    if minimum is None and limit is None:
        return None
    found = _youngest(q)
    if found is None:
        return None
    birth = found[0]
    tz = q.at.tzinfo
    age = _age(birth, to_us(grant.at, "consent_given.at"), tz)
    if minimum is not None and age < minimum:
        return Reason(
            ReasonCode.BELOW_MINIMUM_AGE,
            f"The consent was given at age {age}, below the policy's minimum age of "
            f"{minimum}; it never becomes valid.",
            _POLICY_AGE,
            event=grant,
            clause="age.minimum_age",
        )
    if limit is None or age > limit:
        return None
    leave = _reaches(birth, limit + 1, tz)
    high = q.at_key if leave is None else min(q.at_key, leave * _R - 1)
    if _parental_some_time(q, (key // _R) * _R + _TOP, high):
        return None
    return Reason(
        ReasonCode.PARENTAL_CONSENT_REQUIRED,
        f"The consent was given at age {age}, and no holder of parental responsibility "
        f"authorised it while the subject was {limit} or younger; it never becomes valid "
        "by the child growing up.",
        _age_article(q, limit),
        event=grant,
        clause="age.parental_consent_age",
    )


def _staleness(ctx: PolicyContext, purpose: CompiledPurpose, grant: ConsentGiven) -> str:
    """Why the consent is stale, or an empty string (Art. 4(11): specific and informed)."""
    version = grant.policy_version
    if grant.terms is None:
        return version_staleness(ctx, version, to_us(grant.at, "consent_given.at"))
    if version is not None and version not in ctx.stale:
        return f"it was given under policy version '{version}', which the policy does not know"
    return "; ".join(compare_terms(grant.terms, purpose.terms))


def version_staleness(ctx: PolicyContext, version: str | None, at_us: int) -> str:
    """Why a consent given at ``at_us`` (microseconds) with no terms of its own, under
    ``version``, is stale, or an empty string: :func:`_staleness` for such a grant, which
    lawful.tables asks of a column of grants at once.
    """
    if version is not None:
        if version not in ctx.stale:
            return f"it was given under policy version '{version}', which the policy does not know"
        return "; ".join(ctx.stale[version])
    # Art. 4(11), 7(1): an unversioned consent is judged under the version in force
    # at its instant; with none dated then, under every version that may have been.
    dated = ctx.dated_versions
    if dated:
        pos = bisect_right(dated, (at_us, "\U0010ffff"))
        if pos:
            return "; ".join(ctx.stale[dated[pos - 1][1]])
    return "; ".join(ctx.undated_stale)


def compare_terms(old: PurposeTerms, new: PurposeTerms) -> tuple[str, ...]:
    """How ``new`` goes beyond ``old``; removing a vendor or category is not going beyond."""
    why: list[str] = []
    if added := sorted(new.vendors - old.vendors):
        why.append("new vendor(s) " + ", ".join(added))
    if added := sorted(new.data - old.data):
        why.append("new data categor(ies) " + ", ".join(added))
    if new.basis is not old.basis:
        why.append(f"the legal basis changed from {old.basis.value} to {new.basis.value}")
    if new.statement != old.statement:
        why.append("the purpose statement changed")
    return tuple(why)
