"""One decision being made, a rule's verdict, and the timeline reads every rule shares.

Instants are integers inside: ``key = microseconds * 4 + rank``, so that one comparison
orders both time and, at one instant, restrictiveness. Timelines hold every event at the
instant it takes effect (a grant recorded late takes effect when recorded, see
:func:`lawful.subject.effective_key`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from lawful._time import EPOCH, from_us, to_us
from lawful._timelines import Kind, Line, LineKey, latest_key
from lawful.decision import Operation, Reason
from lawful.duration import Duration
from lawful.events import Event
from lawful.model import CompiledPurpose, LegalBasis, PolicyContext
from lawful.subject import Subject

if TYPE_CHECKING:
    from lawful._engine.plan import Plan

_R = 4  # ranks per instant in a sort key

_NEVER = to_us(datetime.max.replace(tzinfo=UTC), "max") + 1  # a limit no instant reaches

NEVER = _NEVER

_TOP = _R - 1

_USE = Operation.USE

_STORE = Operation.STORE

_CONSENT = LegalBasis.CONSENT

_ALL_LINE: LineKey = (Kind.ALL,)


class _Deny:
    """A rule's verdict that processing is denied, and the instant it could lift itself."""

    __slots__ = ("reason", "until")

    def __init__(self, reason: Reason, until: int | None = None) -> None:
        self.reason = reason
        self.until = until


class _Query:
    """One decision being made: its arguments, read once, and what the rules add to it."""

    __slots__ = (
        "at",
        "at_key",
        "at_us",
        "basis",
        "c_hi",
        "c_key",
        "c_lo",
        "c_us",
        "ctx",
        "fresh",
        "late",
        "lead",
        "lines",
        "operation",
        "plan",
        "purpose",
        "quiet",
        "scopes",
        "subject",
        "tail",
        "until",
        "vendor",
    )

    def __init__(
        self,
        subject: Subject,
        purpose: CompiledPurpose,
        at: datetime,
        at_us: int,
        vendor: str | None,
        c_us: int,
        operation: Operation,
        plan: Plan,
        *,
        fresh: bool,
    ) -> None:
        self.subject = subject
        self.plan = plan
        index = subject._index  # noqa: SLF001 - the engine owns the index format
        self.lines = index.lines
        self.late = index.late
        # No erasure, restriction, age, opt-out or objection on record: the rules that read
        # only those find nothing (Plan.quiet_checks, and the consent rule's look-ups).
        self.quiet = index.quiet()
        self.purpose = purpose
        self.ctx: PolicyContext = purpose.context
        self.basis = purpose.basis
        self.at = at
        self.at_us = at_us
        self.at_key = at_us * _R + _TOP
        self.vendor = vendor
        self.c_us = c_us
        self.c_key = c_us * _R + _TOP
        # The collection instants [c_lo, c_hi) over which every reading of c_us or c_key
        # made so far has the same result, so that the decision's outcome and primary
        # reason hold for all of them (what a sweep over stored data skips by). Every rule
        # that reads the collection instant narrows it; where unsure, to [c_us, c_us + 1).
        self.c_lo = -_NEVER
        self.c_hi = _NEVER
        self.fresh = fresh
        self.operation = operation
        self.until: list[int] = []  # deadlines of an allow (valid_until)
        self.lead: list[Reason] = []  # reasons before the basis's (an override)
        self.tail: list[Reason] = []  # reasons after it (storage pending an objection)
        self.scopes: tuple[str | None, ...] | None = None  # opt-out scopes reaching it

    def narrow(self, lo: int, hi: int) -> None:
        """Keep only collection instants in ``[lo, hi)`` (which must hold ``c_us``)."""
        self.c_lo = max(self.c_lo, lo)
        self.c_hi = min(self.c_hi, hi)

    def narrow_to_point(self) -> None:
        """Keep only the collection instant asked about: exact, never wide."""
        self.narrow(self.c_us, self.c_us + 1)

    def narrow_at(self, threshold: int) -> None:
        """Keep the side of ``threshold`` (an instant, in microseconds) that ``c_us`` is on,
        for a reading that asks ``c_us >= threshold`` (or ``c_us < threshold``).
        """
        if self.c_us >= threshold:
            self.narrow(threshold, _NEVER)
        else:
            self.narrow(-_NEVER, threshold)

    def narrow_lookup(self, lines: Iterable[Line | None]) -> None:
        """Keep the collection instants at which a look-up at ``c_key`` in ``lines`` finds
        the same events in effect: between the instants of the entries either side of it.
        """
        key = self.c_key
        for line in lines:
            if line is None:
                continue
            keys, _, count = line
            pos = bisect_right(keys, key, 0, count)
            self.narrow(
                keys[pos - 1] // _R if pos else -_NEVER,
                keys[pos] // _R if pos < count else _NEVER,
            )

    @property
    def vendors(self) -> tuple[str, ...]:
        """The vendors the query involves: the one named, else every one of the purpose."""
        return (self.vendor,) if self.vendor is not None else self.purpose.vendors


def _at_us(at: datetime) -> int:
    """``at`` in microseconds since the epoch (to_us, with the argument's name built in)."""
    try:
        delta = at - EPOCH
    except TypeError:
        to_us(at, "at")  # names the argument: not a datetime, or naive
        raise
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _next(candidates: list[int], at_us: int) -> int | None:
    """The earliest candidate instant after ``at_us`` that some datetime can show."""
    later = [c for c in candidates if at_us < c < _NEVER]
    return min(later) if later else None


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _latest_in(
    late: dict[int, int], lines: Iterable[Line | None], key: int
) -> tuple[int, Event] | None:
    """The latest choice in effect at ``key`` over several timelines, with its ``at`` sort
    key (ties: the more restrictive, whose rank makes its key larger; see latest_key).
    """
    best: tuple[int, Event] | None = None
    for line in lines:
        found = latest_key(line, key, late)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best


def _latest_of(q: _Query, kind: str, purpose: str | None, key: int) -> tuple[int, Event] | None:
    """The latest event of a per-purpose kind, for the purpose or for every purpose."""
    lines = q.lines
    return _latest_in(q.late, (lines.get((kind, purpose)), lines.get((kind, None))), key)


_DAY_US = 86_400_000_000
# Calendar periods after the first instant of a UTC day, by (period, day): a sweep asks
# about many instants of few days. Bounded: cleared when full.
_DAY_LIMITS: dict[tuple[Duration, int], int] = {}
_DAY_LIMITS_MAX = 65_536


def _after(period: Duration, start_us: int) -> int:
    """``start_us`` plus ``period``; :data:`_NEVER` when that lies past the last datetime."""
    if not period.years and not period.months:
        end = start_us + period.days * 86_400_000_000 + period.seconds * 1_000_000
        return min(end, _NEVER)
    # In UTC, months and years move the date and keep the time of day, and days and
    # seconds add on: the period after any instant of a day is the period after the
    # day's first instant plus the time of day (past the last datetime either way: never).
    first = start_us - start_us % _DAY_US
    key = (period, first)
    limit = _DAY_LIMITS.get(key)
    if limit is None:
        try:
            limit = to_us(period.after(from_us(first)), "limit")
        except (OverflowError, ValueError):  # a year past 9999: a limit never reached
            limit = _NEVER
        if len(_DAY_LIMITS) >= _DAY_LIMITS_MAX:
            _DAY_LIMITS.clear()
        _DAY_LIMITS[key] = limit
    return _NEVER if limit >= _NEVER else min(limit + (start_us - first), _NEVER)
