"""Step 8, retention (Art. 5(1)(e)): the limit for data collected at ``collected_at``."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from lawful._engine.query import _NEVER, _R, _after, _Deny, _latest_in, _Query
from lawful._time import from_us
from lawful._timelines import Kind
from lawful.decision import Reason, ReasonCode
from lawful.duration import Duration
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    NoPeriodStated,
    RetentionCombine,
    SessionEnd,
)
from lawful.subject import Subject


def _retention(q: _Query) -> _Deny | None:
    if q.fresh:
        return None  # fresh data is collected at `at`: no limit is reached yet
    limit = _retention_limit(q)
    if limit is None:
        return None
    if q.at_us >= limit[0]:
        return _Deny(
            Reason(
                ReasonCode.RETENTION_EXCEEDED,
                f"The data, collected at {from_us(q.c_us).isoformat()}, was due for "
                f"deletion at {from_us(limit[0]).isoformat()} ({limit[1]}).",
                ReasonCode.RETENTION_EXCEEDED.article,
                clause=f"purposes.{q.purpose.id}.retention",
            )
        )
    q.until.append(limit[0])
    return None


def _interaction_us(subject: Subject) -> list[int]:
    index = subject._index  # noqa: SLF001
    cached: list[int] | None = index.memo.get(Kind.ANY_INTERACTION)
    if cached is None:
        line = index.interaction_lines().get((Kind.ANY_INTERACTION,))
        cached = [k // _R for k in line[0][: line[2]]] if line is not None else []
        index.memo[Kind.ANY_INTERACTION] = cached
    return cached


def _session_end(subject: Subject, timeout_us: int, c_us: int, at_us: int) -> int:
    """When the browsing session that collected data at ``c_us`` ends, seen from ``at_us``."""
    instants = _interaction_us(subject)
    first = bisect_left(instants, c_us)
    last = bisect_right(instants, at_us) - 1
    if first > last or instants[first] - c_us >= timeout_us:
        return c_us + timeout_us
    index = subject._index  # noqa: SLF001
    chain: list[int] | None = index.memo.get(("session", timeout_us))
    if chain is None:
        # chain[i]: the last interaction reached from i with gaps below the timeout.
        chain = list(range(len(instants)))
        for i in range(len(instants) - 2, -1, -1):
            if instants[i + 1] - instants[i] < timeout_us:
                chain[i] = chain[i + 1]
        index.memo[("session", timeout_us)] = chain
    end = chain[first]
    return instants[min(end, last)] + timeout_us


def _retention_limit(q: _Query) -> tuple[int, str] | None:
    """The instant the data collected at ``c_us`` must be gone, and the rule that says so."""
    c_us = q.c_us
    retention = q.purpose.retention
    pid = q.purpose.id
    limits: list[tuple[int, str]] = []
    for rule in retention.rules:
        limit: tuple[int, str] | None
        if isinstance(rule, AfterCollection):
            _narrow_after(q, rule.period)
            limit = (_after(rule.period, c_us), f"{rule.period} after collection")
        elif isinstance(rule, AfterLastInteraction):
            lines = q.subject._index.interaction_lines()  # noqa: SLF001 - built when first read
            last = -1
            for kind in rule.kinds:
                found = _latest_in(
                    q.late,
                    (
                        lines.get((Kind.INTERACTION, kind, pid)),
                        lines.get((Kind.INTERACTION, kind, None)),
                    ),
                    q.at_key,
                )
                if found is not None and found[0] // _R > last:
                    last = found[0] // _R
            q.narrow_at(last + 1)  # last < c_us: no reply to this data yet
            if last < c_us:
                # An exchange before the data existed is no reply to it: the rule applies
                # once an interaction at or after collection is on record (HubSpot).
                continue
            limit = (_after(rule.period, last), f"{rule.period} after the last interaction")
        elif isinstance(rule, SessionEnd):
            timeout = rule.inactivity.days * 86_400_000_000 + rule.inactivity.seconds * 1_000_000
            q.narrow_to_point()  # the session's end moves with the collection: exact, not wide
            limit = (_session_end(q.subject, timeout, c_us, q.at_us), "end of the browsing session")
        else:
            assert isinstance(rule, NoPeriodStated)  # noqa: S101 - closed union
            limit = None
        if retention.combine is RetentionCombine.FIRST:
            return limit
        if limit is not None:
            limits.append(limit)
    return min(limits) if limits else None


_DAY = 86_400_000_000


def _narrow_after(q: _Query, period: Duration) -> None:
    """Keep the collection instants ``c`` for which "``period`` after ``c`` has passed at
    ``at``" reads as it does for ``c_us``.

    A fixed period (days, seconds) passes for every ``c <= at - period``. A calendar one
    is not monotone in ``c`` (31 January 01:00 plus a month ends before 30 January 23:00
    plus a month: both end on 28 February), so the piece stays within ``c_us``'s UTC day,
    where the limit is the limit of the day's first instant plus the time of day; it
    reaches back over every earlier day when the whole day has passed, and on over every
    later day when none of it has, since the limit of a day's first instant never falls
    as the day moves on (a month's last day clamps, and never goes back).
    """
    c_us, at_us = q.c_us, q.at_us
    if not period.years and not period.months:
        span = period.days * _DAY + period.seconds * 1_000_000
        q.narrow_at(at_us - span + 1)  # passed iff c_us <= at_us - span
        return
    first = c_us - c_us % _DAY
    following = first + _DAY
    last_passed = first + (at_us - _after(period, first))  # in this day, linear in c
    if c_us <= last_passed:
        if last_passed >= following - 1:  # the whole day has passed: every earlier one too
            q.narrow(-_NEVER, following)
        else:
            q.narrow(first, last_passed + 1)
    elif last_passed < first:  # none of the day has passed: no later day either
        q.narrow(first, _NEVER)
    else:
        q.narrow(last_passed + 1, following)
