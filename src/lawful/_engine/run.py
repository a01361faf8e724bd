"""The entry points (``may_process``, ``decide``, ``decide_all``, ``decide_span``) and the
check order of ``docs/explanation/decision.md``: the first denial decides. A purpose's
plan runs its checks in that order (:func:`_planned`), in few steps where its quick path
applies (:func:`_quick`), and every rule as written on request (:func:`_decide`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from lawful._engine.age import _age_check
from lawful._engine.basis import (
    _contract,
    _declared_reason,
    _device_access,
    _device_denied,
    _interest_reason,
)
from lawful._engine.consent import _consent, _consent_quick
from lawful._engine.erasure import _erasure, _restriction
from lawful._engine.objection import _objection, _opt_out
from lawful._engine.plan import Plan, plan_of
from lawful._engine.query import (
    _ALL_LINE,
    _CONSENT,
    _NEVER,
    _R,
    _TOP,
    _USE,
    _at_us,
    _Deny,
    _next,
    _Query,
)
from lawful._engine.retention import _retention
from lawful._engine.scope import _scope, _subjects, _transfers
from lawful._time import EPOCH, from_us, to_us
from lawful._timelines import _Index
from lawful.decision import (
    DRAFTS_BECOME_DECISIONS,
    Decision,
    Operation,
    Reason,
    ReasonCode,
    _Draft,
    make_decision,
)
from lawful.events import (
    ConsentGiven,
    ConsentWithdrawn,
    Interaction,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    RestrictionLifted,
    RestrictionRequested,
    TransferConsentGiven,
    TransferConsentWithdrawn,
)
from lawful.exceptions import QueryError, UncompiledPurposeError
from lawful.model import AfterLastInteraction, CompiledPurpose, LegalBasis, SessionEnd
from lawful.subject import Subject


def may_process(
    subject: Subject,
    purpose: CompiledPurpose,
    at: datetime,
    *,
    vendor: str | None = None,
    data: Iterable[str] = (),
    collected_at: datetime | None = None,
    operation: Operation = Operation.USE,
) -> Decision:
    """May ``subject``'s data be processed for ``purpose`` at ``at``, and why?

    Args:
        subject: The data subject and its events.
        purpose: The purpose as a :class:`lawful.Policy` compiled it
            (``policy.purpose("analytics")``): it carries the policy's rules.
        at: The instant of processing; must be timezone-aware.
        vendor: The recipient involved; ``None``: every vendor the purpose declares.
        data: The data categories involved; empty: every category the purpose declares.
        collected_at: When the data was collected. ``None`` means *now* (fresh data):
            a host processing stored data must pass it, or retention is never exceeded
            and the consent is never asked to have been in force at collection.
        operation: Collect, store, use or disclose; only storage survives a restriction.

    Returns:
        The :class:`lawful.Decision`, with its reasons; a denial is a value.

    Raises:
        NaiveDatetimeError: ``at`` or ``collected_at`` has no time zone.
        QueryError: ``collected_at`` is after ``at``.
        UncompiledPurposeError: ``purpose`` was not compiled by a policy.
    """
    return decide(subject, purpose, at, vendor, data, collected_at, operation)


def decide(
    subject: Subject,
    purpose: CompiledPurpose,
    at: datetime,
    vendor: str | None,
    data: Iterable[str],
    collected_at: datetime | None,
    operation: Operation,
) -> Decision:
    """:func:`may_process` with positional arguments: the call behind every decision."""
    if collected_at is not None:
        at_us = _at_us(at)
        c_us = to_us(collected_at, "collected_at")
        if c_us > at_us:
            raise QueryError("collected_at: data cannot be processed before it was collected")
        return _evaluate(subject, purpose, at, at_us, vendor, data, c_us, operation, fresh=False)[0]
    if data and type(data) is not tuple:
        data = tuple(data)  # read once (it may be a generator), and hashable for the key
    # Fresh data: the answer is constant from one instant until the instant the subject's
    # next event takes effect, or the decision's own valid_until, whichever comes first, so
    # the last one is kept with that interval and given again while `at` falls in it.
    # Kept per purpose, zone (valid_until is shown in at's zone, and the age rules read
    # local dates), vendor, data and operation (an Enum, whose hash is slow: its value).
    try:
        tz = at.tzinfo
    except AttributeError:
        _at_us(at)  # raises, naming the argument: not a datetime
        raise
    if operation is _USE:
        slot: tuple[object, ...] = (
            (purpose.id, tz) if vendor is None and not data else (purpose.id, tz, vendor, data)
        )
    else:
        slot = (purpose.id, tz, vendor, data, operation.value)
    try:
        kept = subject._index.decisions.get(slot)  # noqa: SLF001 - the engine owns the index
    except TypeError:  # a category that is no string (not even hashable): never kept
        at_us = _at_us(at)
        return _evaluate(subject, purpose, at, at_us, vendor, data, at_us, operation, fresh=True)[0]
    if kept is not None and kept[0] is purpose:
        # Datetimes in one zone (one tzinfo object) compare by their digits. That is time
        # order when their UTC offsets are equal, as in a fixed-offset zone such as UTC;
        # where a clock is set back or forward the digits can disagree with time, so a
        # zone with rules first compares offsets, and else the instants in microseconds.
        fixed = type(tz) is timezone
        if (
            type(at) is datetime
            and (fixed or (offset := at.utcoffset()) == kept[3])
            and kept[1] <= at
            and (kept[2] is None or ((fixed or offset == kept[4]) and at < kept[2]))
        ) or kept[5] <= _at_us(at) < kept[6]:
            if not DRAFTS_BECOME_DECISIONS:  # pragma: no cover - another Python's layout rules
                return make_decision(kept[7], kept[8], at, kept[9], kept[10], kept[11])
            made = _Draft(kept[7], kept[8], at, kept[9], kept[10], kept[11])  # make_decision,
            made.__class__ = Decision  # type: ignore[assignment]  # inline: a call less
            return made  # type: ignore[return-value]
    try:  # _at_us, a call less
        delta = at - EPOCH
    except TypeError:
        _at_us(at)  # raises, naming the argument
        raise
    at_us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    index = subject._index  # noqa: SLF001
    # (Typed compiled, but a caller may pass a Purpose by hand: _evaluate refuses it.)
    plan: Plan | None = getattr(purpose, "plan", None)
    if plan is None or plan.purpose is not purpose:
        answer = _evaluate(subject, purpose, at, at_us, vendor, data, at_us, operation, fresh=True)
    else:  # _evaluate's steps, a call less, the quick path tried once
        quick = (
            _quick(plan, index, subject.categories, at, at_us)
            if vendor is None and not data
            else None
        )
        answer = (
            _full(subject, purpose, plan, at, at_us, vendor, data, at_us, operation, fresh=True)
            if quick is None
            else quick
        )
    decision, until_us = answer
    end = _following(index, at_us)
    if until_us is not None:
        end = min(end, until_us)
    until = None if end >= _NEVER else from_us(end, tz)
    index.decisions[slot] = _kept(
        purpose,
        at,
        until,
        at.utcoffset(),
        None if until is None else until.utcoffset(),
        at_us,
        end,
        decision,
    )
    return decision


def _following(index: _Index, at_us: int) -> int:
    """The next instant (microseconds) after ``at_us`` at which an event of the subject
    takes effect (a grant recorded after it counts from then); :data:`_NEVER` if none.
    """
    every = index.lines.get(_ALL_LINE)
    if every is not None:
        pos = bisect_right(every[0], at_us * _R + _TOP, 0, every[2])
        if pos < every[2]:
            return every[0][pos] // _R
    return _NEVER


def _kept(
    purpose: CompiledPurpose,
    at: datetime,
    until: datetime | None,
    at_offset: timedelta | None,
    until_offset: timedelta | None,
    at_us: int,
    end: int,
    decision: Decision,
) -> tuple[object, ...]:
    """A kept answer, as :func:`decide` reads it back by position: the purpose, the
    instant decided and the instant it holds until (``None``: never), each in ``at``'s zone
    with its UTC offset, the same two in microseconds, then the decision's fields.
    """
    return (
        purpose,
        at,
        until,
        at_offset,
        until_offset,
        at_us,
        end,
        decision.allowed,
        decision.purpose,
        decision.basis,
        decision.reasons,
        decision.valid_until,
    )


def decide_all(
    subject: Subject,
    purposes: Iterable[CompiledPurpose],
    at: datetime,
    collected_at: datetime | None,
    operation: Operation,
) -> dict[str, Decision]:
    """:func:`decide` for every purpose at one instant, fresh data, whole purposes: what
    depends on no purpose (``at`` in microseconds, the next instant an event takes effect
    and its datetime) is worked out once per call, and each answer is kept as
    :func:`decide` keeps it (the same slot), so later questions find it.
    """
    if collected_at is not None or operation is not _USE:
        return {p.id: decide(subject, p, at, None, (), collected_at, operation) for p in purposes}
    at_us = _at_us(at)
    tz = at.tzinfo
    index = subject._index  # noqa: SLF001 - the engine owns the index
    kept_decisions = index.decisions
    following = _following(index, at_us)
    following_at = None if following >= _NEVER else from_us(following, tz)
    at_offset = at.utcoffset()
    following_offset = None if following_at is None else following_at.utcoffset()
    out: dict[str, Decision] = {}
    for purpose in purposes:
        slot = (purpose.id, tz)
        kept = kept_decisions.get(slot)
        if kept is not None and kept[0] is purpose and kept[5] <= at_us < kept[6]:
            out[purpose.id] = make_decision(kept[7], kept[8], at, kept[9], kept[10], kept[11])
            continue
        decision, until_us = _evaluate(
            subject, purpose, at, at_us, None, (), at_us, operation, fresh=True
        )
        until: datetime | None
        if until_us is not None and until_us < following:
            end, until = until_us, from_us(until_us, tz)
            until_offset = until.utcoffset()
        else:
            end, until, until_offset = following, following_at, following_offset
        kept_decisions[slot] = _kept(
            purpose, at, until, at_offset, until_offset, at_us, end, decision
        )
        out[purpose.id] = decision
    return out


def decide_span(
    subject: Subject,
    purpose: CompiledPurpose,
    at: datetime,
    vendor: str | None,
    data: Iterable[str],
    collected_at: datetime | None,
    operation: Operation,
    *,
    plain: bool = False,
) -> tuple[Decision, int]:
    """:func:`decide` without the kept answers, with the instant (microseconds) up to which
    the decision, reasons included, holds when no new event is recorded: the earlier of the
    next instant an event the purpose's rules read takes effect (:func:`_changes`) and the
    rules' own deadlines.
    :data:`NEVER` when nothing ends it. What :meth:`lawful.Policy.timeline` steps by.

    ``plain=True`` evaluates every rule in order, as written, instead of the purpose's
    plan: what the speed laws hold the plan to.
    """
    at_us = _at_us(at)
    if collected_at is None:
        c_us, fresh = at_us, True
    else:
        c_us, fresh = to_us(collected_at, "collected_at"), False
        if c_us > at_us:
            raise QueryError("collected_at: data cannot be processed before it was collected")
    if data and type(data) is not tuple:
        data = tuple(data)
    decision, until_us = _evaluate(
        subject, purpose, at, at_us, vendor, data, c_us, operation, fresh=fresh, plain=plain
    )
    end = _NEVER
    instants = _changes(subject, purpose, reads_interactions=not fresh)
    pos = bisect_right(instants, at_us)
    if pos < len(instants):
        end = instants[pos]
    if until_us is not None:
        end = min(end, until_us)
    return decision, end


# The event classes whose timelines are keyed by a purpose, which a decision on purpose P
# reads only under P's id or None (every purpose): lines.py, objection.py, erasure.py,
# age.py and scope.py look them up as (kind, P) and (kind, None), never another purpose's.
# lawful.tables leaves the others out of a subject by the same rule.
PER_PURPOSE = (
    ConsentGiven,
    ConsentWithdrawn,
    Objection,
    ObjectionWithdrawn,
    ObjectionOverridden,
    TransferConsentGiven,
    TransferConsentWithdrawn,
    RestrictionRequested,
    RestrictionLifted,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
)


def counts_interactions(purpose: CompiledPurpose) -> bool:
    """Whether a decision on ``purpose`` about stored data reads interactions: where a
    retention limit counts from the last interaction or a session's end (retention.py).
    """
    return any(
        isinstance(rule, AfterLastInteraction | SessionEnd) for rule in purpose.retention.rules
    )


def _changes(subject: Subject, purpose: CompiledPurpose, *, reads_interactions: bool) -> list[int]:
    """The instants (microseconds, ascending) at which an event that a decision on
    ``purpose`` can read takes effect: where :func:`decide_span` ends a piece.

    Every event counts but two kinds a decision on the purpose never reads: an event
    for another purpose (see :data:`PER_PURPOSE`), and an interaction, which only the
    retention limits counted from the last interaction or a session's end read
    (retention.py), and only for stored data (``reads_interactions``: not fresh).
    Leaving out one that is read would merge pieces that decide differently: the
    timeline laws (tests/properties/test_timeline_laws.py) check every instant.
    """
    interactions = reads_interactions and counts_interactions(purpose)
    index = subject._index  # noqa: SLF001 - the engine owns the index
    memo_key = ("changes", purpose.id, interactions)
    found: list[int] | None = index.memo.get(memo_key)
    if found is not None:
        return found
    found = []
    every = index.lines.get(_ALL_LINE)
    if every is not None:
        pid = purpose.id
        keys, events, count = every
        for i in range(count):
            event = events[i]
            if isinstance(event, Interaction):
                if not interactions:
                    continue
            elif isinstance(event, PER_PURPOSE) and event.purpose not in (None, pid):
                continue
            instant = keys[i] // _R
            if not found or found[-1] != instant:
                found.append(instant)
    index.memo[memo_key] = found
    return found


def decide_collected(
    subject: Subject,
    purpose: CompiledPurpose,
    at: datetime,
    vendor: str | None,
    c_us: int,
) -> tuple[Decision, int, int]:
    """:func:`decide` for stored data collected at ``c_us`` (microseconds), used, every
    data category of the purpose; with the collection instants ``[lo, hi)`` around
    ``c_us`` for which the decision's outcome and primary reason are the same (its
    other reasons, messages and ``valid_until`` may differ). What a sweep over stored
    data skips by: every rule that reads the collection instant narrows the interval,
    to ``[c_us, c_us + 1)`` where it cannot say more.

    Raises:
        QueryError: ``c_us`` is after ``at``.
    """
    at_us = _at_us(at)
    if c_us > at_us:
        raise QueryError("collected_at: data cannot be processed before it was collected")
    _require_compiled(purpose)
    query = _Query(subject, purpose, at, at_us, vendor, c_us, _USE, plan_of(purpose), fresh=False)
    decision, _ = _run(query, ())
    return decision, query.c_lo, min(query.c_hi, at_us + 1)


def _evaluate(
    subject: Subject,
    purpose: CompiledPurpose,
    at: datetime,
    at_us: int,
    vendor: str | None,
    data: Iterable[str],
    c_us: int,
    operation: Operation,
    *,
    fresh: bool,
    plain: bool = False,
) -> tuple[Decision, int | None]:
    """The purpose's plan (``plain``: every rule, in order) for one query; with the instant
    (in microseconds) up to which the decision, reasons included, holds (for an allow its
    ``valid_until``).
    """
    plan = getattr(purpose, "plan", None)
    if plan is None or plan.purpose is not purpose:
        _require_compiled(purpose)
        plan = plan_of(purpose)
    if fresh and vendor is None and not data and not plain:
        made = _quick(plan, subject._index, subject.categories, at, at_us)  # noqa: SLF001
        if made is not None:
            return made
    return _full(
        subject, purpose, plan, at, at_us, vendor, data, c_us, operation, fresh=fresh, plain=plain
    )


def _full(
    subject: Subject,
    purpose: CompiledPurpose,
    plan: Plan,
    at: datetime,
    at_us: int,
    vendor: str | None,
    data: Iterable[str],
    c_us: int,
    operation: Operation,
    *,
    fresh: bool,
    plain: bool = False,
) -> tuple[Decision, int | None]:
    """:func:`_evaluate` past the quick path: the purpose's whole plan (``plain``: every
    rule, in order) over one query.
    """
    query = _Query(subject, purpose, at, at_us, vendor, c_us, operation, plan, fresh=fresh)
    return _run(query, data, plain=plain)


def _quick(
    plan: Plan,
    index: _Index,
    categories: frozenset[str] | None,
    at: datetime,
    at_us: int,
) -> tuple[Decision, int | None] | None:
    """:func:`_run` for fresh data, every vendor and data category of the purpose, in few
    steps where it can: a denial of scope (which reads only the subject's categories); and
    in the common shape (``plan.quick``: a quiet subject, no grant recorded late), scope,
    the transfers' prepared verdict, then the basis: no other check of the plan can deny
    then, and nothing is put before or after the basis's reasons. ``None``: the plan runs
    (another shape, or grants at one instant, which the full consent rule judges).
    """
    purpose = plan.purpose
    denied = plan.scope_denial
    subjects = purpose.subjects
    if denied is None and subjects and (categories is None or categories.isdisjoint(subjects)):
        denied = _subjects(plan, categories)
    if denied is not None:
        basis = None if purpose.processor_only else purpose.basis
        return make_decision(False, purpose.id, at, basis, (denied,), None), None  # noqa: FBT003
    if not plan.quick or index.late or not (index._quiet or index.quiet()):  # noqa: SLF001
        return None
    denied = plan.transfer_denial
    if denied is not None:
        return make_decision(False, purpose.id, at, purpose.basis, (denied,), None), None  # noqa: FBT003
    lines = index.lines
    until: list[int] = []  # deadlines of an allow (a consent's expiry)
    if plan.basis is _consent:
        found = _consent_quick(plan, lines, at, at_us, until)
        if found is None:
            return None
        if isinstance(found, Reason):  # a denial: the consent's reason
            return make_decision(False, purpose.id, at, purpose.basis, (found,), None), (  # noqa: FBT003
                _next(until, at_us) if until else None
            )
        reasons: tuple[Reason, ...] = tuple(found)
    elif plan.device:
        device = _consent_quick(plan, lines, at, at_us, until)
        if device is None:
            return None
        if isinstance(device, Reason):
            denied = _device_denied(purpose, device)
            return make_decision(False, purpose.id, at, purpose.basis, (denied,), None), (  # noqa: FBT003
                _next(until, at_us) if until else None
            )
        reasons = (*plan.reasons, *device)
    else:
        reasons = plan.reasons
    until_us = _next(until, at_us) if until else None
    valid_until = None if until_us is None else from_us(until_us, at.tzinfo)
    return make_decision(True, purpose.id, at, purpose.basis, reasons, valid_until), until_us  # noqa: FBT003


def _require_compiled(purpose: object) -> None:
    if not isinstance(purpose, CompiledPurpose):
        raise UncompiledPurposeError(
            f"purpose '{getattr(purpose, 'id', purpose)}' was not compiled by a policy, so "
            "it lacks the policy's rules; pass policy.purpose(id), or call "
            "policy.may_process(subject, id, at)"
        )


def _run(query: _Query, data: Iterable[str], *, plain: bool = False) -> tuple[Decision, int | None]:
    """:func:`_evaluate` for a query made: the purpose's plan (``plain``: every rule)."""
    purpose, at, at_us = query.purpose, query.at, query.at_us
    verdict = _decide(query, data) if plain else _planned(query, data)
    if isinstance(verdict, _Deny):
        # Only the denying rule's own deadline (a birthday) can lift a denial; limits met
        # on the way (retention, a consent's expiry) would only deny again.
        denied = verdict
        until_us = _next([] if denied.until is None else [denied.until], at_us)
        denial = make_decision(
            False,  # noqa: FBT003 - the positional fast constructor
            purpose.id,
            at,
            # Art. 28: for a processor-only purpose the client, as controller, picks the basis.
            None if purpose.processor_only else purpose.basis,
            (denied.reason,),
            None if until_us is None else from_us(until_us, at.tzinfo),
        )
        # Kept decisions hold the reason too: a limit met on the way (an expiry) changes
        # which failure comes first, so the kept denial ends there as well.
        kept_until = _next([*query.until, *([] if until_us is None else [until_us])], at_us)
        return denial, kept_until
    until_us = _next(query.until, at_us)
    valid_until = None if until_us is None else from_us(until_us, at.tzinfo)
    return make_decision(True, purpose.id, at, purpose.basis, verdict, valid_until), until_us  # noqa: FBT003


def unknown_purpose(
    purpose_id: str, at: datetime, *, collected_at: datetime | None = None
) -> Decision:
    """The denial for a purpose id the policy does not declare.

    Raises:
        NaiveDatetimeError: ``at`` or ``collected_at`` has no time zone.
        QueryError: ``collected_at`` is after ``at``.
    """
    at_us = to_us(at, "at")
    if collected_at is not None and to_us(collected_at, "collected_at") > at_us:
        raise QueryError("collected_at: data cannot be processed before it was collected")
    reason = Reason(
        ReasonCode.UNKNOWN_PURPOSE,
        f"The policy declares no purpose '{purpose_id}'; undeclared processing is never allowed.",
        ReasonCode.UNKNOWN_PURPOSE.article,
        clause="purposes",
    )
    return Decision(allowed=False, purpose=purpose_id, at=at, basis=None, reasons=(reason,))


def _planned(q: _Query, data: Iterable[str]) -> _Deny | tuple[Reason, ...]:
    """The checks of the purpose's plan in order; the first denial decides."""
    verdict = _scope(q, data)
    if verdict is not None:
        return verdict
    plan = q.plan
    for check in plan.quiet_checks if q.quiet else plan.checks:
        verdict = check(q)
        if verdict is not None:
            return verdict
    found = plan.basis(q)
    if isinstance(found, _Deny):
        return found
    if plan.device:
        device = _device_access(q)
        if isinstance(device, _Deny):
            return device
        found.extend(device)
    return _with_lead_and_tail(q, found)


def _decide(q: _Query, data: Iterable[str]) -> _Deny | tuple[Reason, ...]:
    """Every check in order (docs/explanation/decision.md), each deciding for itself
    whether it applies; the first denial decides. What every plan must agree with.
    """
    verdict = (
        _scope(q, data)
        or _transfers(q)
        or _erasure(q)
        or _restriction(q)
        or (_age_check(q) if q.ctx.age_applies else None)
        or _opt_out(q)
        or _objection(q)
        or _retention(q)
    )
    if verdict is not None:
        return verdict
    basis = q.basis
    reasons: list[Reason]
    if basis is _CONSENT:
        found = _consent(q)
        if isinstance(found, _Deny):
            return found
        reasons = found
    elif basis is LegalBasis.LEGITIMATE_INTERESTS:
        reasons = [_interest_reason(q.purpose)]
    elif basis is LegalBasis.CONTRACT:
        contract = _contract(q)
        if isinstance(contract, _Deny):
            return contract
        reasons = [contract]
    else:
        reasons = [_declared_reason(q.purpose)]
    purpose = q.purpose
    if purpose.device_access and basis is not _CONSENT and not purpose.strictly_necessary:
        device = _device_access(q)
        if isinstance(device, _Deny):
            return device
        reasons.extend(device)
    return _with_lead_and_tail(q, reasons)


def _with_lead_and_tail(q: _Query, reasons: list[Reason]) -> tuple[Reason, ...]:
    """The basis's reasons with what earlier checks put before them (an override) and
    after them (storage pending an objection).
    """
    if q.lead:
        reasons[:0] = q.lead
    if q.tail:
        reasons.extend(q.tail)
    return tuple(reasons)
