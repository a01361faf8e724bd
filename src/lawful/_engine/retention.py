"""Step 8, retention (Art. 5(1)(e)): the limit for data collected at ``collected_at``."""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from lawful._engine.query import _R, _after, _Deny, _latest_in, _Query
from lawful._time import from_us
from lawful.decision import Reason, ReasonCode
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    NoPeriodStated,
    RetentionCombine,
    SessionEnd,
)
from lawful.subject import Kind, Subject


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
        line = index.lines.get((Kind.ANY_INTERACTION,))
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
    lines = q.lines
    c_us = q.c_us
    retention = q.purpose.retention
    pid = q.purpose.id
    limits: list[tuple[int, str]] = []
    for rule in retention.rules:
        limit: tuple[int, str] | None
        if isinstance(rule, AfterCollection):
            limit = (_after(rule.period, c_us), f"{rule.period} after collection")
        elif isinstance(rule, AfterLastInteraction):
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
            if last < c_us:
                # An exchange before the data existed is no reply to it: the rule applies
                # once an interaction at or after collection is on record (HubSpot).
                continue
            limit = (_after(rule.period, last), f"{rule.period} after the last interaction")
        elif isinstance(rule, SessionEnd):
            timeout = rule.inactivity.days * 86_400_000_000 + rule.inactivity.seconds * 1_000_000
            limit = (_session_end(q.subject, timeout, c_us, q.at_us), "end of the browsing session")
        else:
            assert isinstance(rule, NoPeriodStated)  # noqa: S101 - closed union
            limit = None
        if retention.combine is RetentionCombine.FIRST:
            return limit
        if limit is not None:
            limits.append(limit)
    return min(limits) if limits else None
