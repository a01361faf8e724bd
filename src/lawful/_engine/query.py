"""One decision being made, a rule's verdict, and the timeline reads every rule shares.

Instants are integers inside: ``key = microseconds * 4 + rank``, so that one comparison
orders both time and, at one instant, restrictiveness. Timelines hold every event at the
instant it takes effect (a grant recorded late takes effect when recorded, see
:func:`lawful.subject.effective_key`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from lawful._time import EPOCH, from_us, to_us
from lawful.decision import Operation, Reason
from lawful.duration import Duration
from lawful.events import Event
from lawful.model import CompiledPurpose, LegalBasis, PolicyContext
from lawful.subject import Kind, Line, LineKey, Subject, latest_key

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
        "c_key",
        "c_us",
        "ctx",
        "fresh",
        "late",
        "lead",
        "lines",
        "operation",
        "purpose",
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
        *,
        fresh: bool,
    ) -> None:
        self.subject = subject
        self.lines = subject._index.lines  # noqa: SLF001 - the engine owns the index format
        self.late = subject._index.late  # noqa: SLF001
        self.purpose = purpose
        self.ctx: PolicyContext = purpose.context
        self.basis = purpose.basis
        self.at = at
        self.at_us = at_us
        self.at_key = at_us * _R + _TOP
        self.vendor = vendor
        self.c_us = c_us
        self.c_key = c_us * _R + _TOP
        self.fresh = fresh
        self.operation = operation
        self.until: list[int] = []  # deadlines of an allow (valid_until)
        self.lead: list[Reason] = []  # reasons before the basis's (an override)
        self.tail: list[Reason] = []  # reasons after it (storage pending an objection)
        self.scopes: tuple[str | None, ...] | None = None  # opt-out scopes reaching it

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


def _after(period: Duration, start_us: int) -> int:
    """``start_us`` plus ``period``; :data:`_NEVER` when that lies past the last datetime."""
    if not period.years and not period.months:
        end = start_us + period.days * 86_400_000_000 + period.seconds * 1_000_000
        return min(end, _NEVER)
    try:
        return to_us(period.after(from_us(start_us)), "limit")
    except (OverflowError, ValueError):  # a year past 9999: a limit never reached
        return _NEVER
