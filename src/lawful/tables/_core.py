"""The per-subject core of :mod:`lawful.tables`: Arrow in, Arrow out, no query engine.

What DuckDB (:mod:`lawful.tables._duck`) and Spark do around it is grouping rows by
subject and joining; what a decision is stays here, in three steps any engine can call
on one group of rows at a time:

- :func:`subjects_of`: rows of the events table sorted (grouped) by subject, batch by
  batch, become :class:`lawful.Subject` values, one per run of rows;
- :func:`span_batch`: subjects become span rows (:data:`SPAN_SCHEMA`), row for row what
  :meth:`lawful.Policy.timeline` gives;
- :func:`piece_batch`: a subject and the distinct instants its stored data was collected
  at become *pieces* (:data:`PIECE_SCHEMA`): intervals ``[lo, hi)`` of collection
  instants, in microseconds since the epoch, over which ``may_process`` at the sweep's
  instant has one answer and one primary reason. Every collection instant given lies in
  exactly one piece, so a range join of hits against pieces decides every hit.

:func:`collected_us` turns a ``collected_at`` column into those microseconds, refusing
what no decision can use.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from lawful._engine import counts_interactions, decide_collected
from lawful._time import from_us, to_us
from lawful.decision import Decision
from lawful.events import Event
from lawful.exceptions import NaiveDatetimeError, QueryError, TableError
from lawful.policy import Policy
from lawful.subject import Subject
from lawful.tables._arrow import Reads, Rows, first_true, plain, timestamp_us

__all__ = [
    "PIECE_SCHEMA",
    "SPAN_SCHEMA",
    "Decide",
    "Piece",
    "Shared",
    "bounded_decider",
    "collected_us",
    "groups",
    "piece_batch",
    "pieces",
    "point_decider",
    "reads_of",
    "span_batch",
]

_TIMESTAMP = pa.timestamp("us", tz="UTC")
_SPAN_FIELDS: list[pa.Field[Any]] = [
    pa.field("subject", pa.string(), nullable=False),
    pa.field("purpose", pa.string(), nullable=False),
    pa.field("start", _TIMESTAMP, nullable=False),
    pa.field("end", _TIMESTAMP, nullable=False),
    pa.field("allowed", pa.bool_(), nullable=False),
    pa.field("basis", pa.string()),
    pa.field("code", pa.string(), nullable=False),
]
SPAN_SCHEMA = pa.schema(_SPAN_FIELDS)
"""The rows of :func:`lawful.tables.spans`: one per span; ``basis`` null where the
decision relies on none (an undeclared purpose, a processor-only one)."""

_PIECE_FIELDS: list[pa.Field[Any]] = [
    pa.field("subject", pa.string(), nullable=False),
    pa.field("lo", pa.int64(), nullable=False),
    pa.field("hi", pa.int64(), nullable=False),
    pa.field("allowed", pa.bool_(), nullable=False),
    pa.field("code", pa.string(), nullable=False),
]
PIECE_SCHEMA = pa.schema(_PIECE_FIELDS)
"""Pieces: for collection instants ``lo <= c < hi`` (microseconds since the epoch) the
sweep's decision is ``allowed`` with primary reason ``code``."""

_FIRST_US = to_us(datetime.min.replace(tzinfo=UTC), "min")


def groups(
    batches: Iterable[pa.RecordBatch],
    *,
    source: str = "events",
    row_column: str | None = None,
    extra_column: str | None = None,
    reads: Reads | None = None,
) -> Iterator[tuple[Subject, object]]:
    """One subject per run of rows with the same ``subject``, from batches sorted (or only
    grouped) by subject; a run may span batches.

    Args:
        batches: Rows in the event shape (:data:`lawful.tables.EVENT_SCHEMA`).
        source: The table's name in errors.
        row_column: A column holding each row's number in the table it came from, for
            errors (dropped before reading).
        extra_column: A column that is null on event rows; a row where it is not null
            carries a value for its subject instead of an event (the distinct collection
            instants of a sweep), and comes after that subject's events.
        reads: The events the query reads: the plainly good others are checked in Arrow
            and left out of the subjects (:class:`~lawful.tables._arrow.Reads`), every
            subject kept, with no events if none is read.

    Yields:
        ``(subject, extra)``: ``extra`` is the value of ``extra_column`` on the subject's
        run (``None`` if none); a subject with only that row has no events.

    Raises:
        TableError, EventError, NaiveDatetimeError: as :func:`lawful.tables.from_arrow`.
    """
    owner: str | None = None
    events: list[Event] = []
    extra: object = None
    for batch in batches:
        n = batch.num_rows
        if not n:
            continue
        extras: list[object] = [None] * n
        if extra_column is not None:
            extras = batch.column(extra_column).to_pylist()
            batch = batch.drop_columns([extra_column])  # noqa: PLW2901 - the same rows
        rows = Rows(batch, source=source, row_column=row_column, reads=reads)
        for i, j, run_owner in _runs(batch.column("subject"), n):
            if run_owner != owner:
                if owner is not None:
                    yield Subject(owner, events), extra
                owner, events, extra = run_owner, [], None
            k = j
            while k > i and extras[k - 1] is not None:
                k -= 1
            if k < j:
                extra = extras[j - 1]
            events.extend(event for _, event in rows.read(i, k))
    if owner is not None:
        yield Subject(owner, events), extra


def _runs(
    owners: pa.Array[Any] | pa.ChunkedArray[Any], n: int
) -> list[tuple[int, int, str | None]]:
    """The runs ``[i, j)`` of equal values in a column of ``n`` subject ids, with their
    value, found in Arrow (a null is a run of its own, which reading then refuses).
    """
    column = plain(owners)
    starts = [0]
    if n > 1:
        unequal: Any = pc.not_equal(column.slice(1), column.slice(0, n - 1))
        changes = pc.fill_null(unequal, pa.scalar(True, pa.bool_()))  # noqa: FBT003 - a scalar
        starts += [c + 1 for c in pc.indices_nonzero(changes).to_pylist() if c is not None]
    values = column.take(pa.array(starts, pa.int64())).to_pylist()
    return [(i, j, v) for i, j, v in zip(starts, [*starts[1:], n], values, strict=True)]


def reads_of(policy: Policy, purposes: Iterable[str], *, fresh: bool) -> Reads:
    """What decisions on ``purposes`` read (:class:`~lawful.tables._arrow.Reads`): for
    stored data (``fresh=False``) interactions too, where a declared purpose's retention
    counts from the last interaction or a session's end.
    """
    chosen = frozenset(purposes)
    interactions = not fresh and any(
        counts_interactions(policy.purpose(pid)) for pid in chosen if pid in policy.purpose_ids
    )
    return Reads(chosen, interactions)


def _exact(value: object) -> object:
    """A field's value as the decision sees it: an instant with its offset (two equal
    datetimes may be shown in different offsets, as the reasons' messages do).
    """
    return (value, value.utcoffset()) if isinstance(value, datetime) else value


class Shared:
    """Answers kept within one query for subjects whose histories are the same, so a
    history is decided once however many subjects have it (in a real table, the many
    with no event the query reads). A decision depends on the subject only through its
    events (a table gives no categories): two histories that are the same field for
    field, offsets included, decide the same. At most :attr:`LIMIT` histories are kept
    at a time (then forgotten), so memory stays bounded whatever the table's size.

    Only histories of at most :attr:`SHORT` events are looked up: two subjects rarely
    share a longer one, and hashing every event of every subject for nothing cost a
    sweep of 20-event histories about 4% (bench/bench_tables.py, profiled).
    """

    LIMIT = 4_096
    SHORT = 2
    __slots__ = ("_kept",)

    def __init__(self) -> None:
        # By history (events compare by instant): the history kept, and its answer.
        self._kept: dict[tuple[Event, ...], tuple[tuple[Event, ...], object]] = {}

    @staticmethod
    def _strict(events: tuple[Event, ...]) -> tuple[object, ...]:
        return tuple(
            (type(e), *(_exact(getattr(e, a.name)) for a in attrs.fields(type(e)))) for e in events
        )

    def get(self, subject: Subject) -> object | None:
        """What was kept for a history the same as ``subject``'s, or ``None``."""
        events = subject.events
        if len(events) > self.SHORT:
            return None
        found = self._kept.get(events)
        if found is None:
            return None
        # Equal events may show their instants in other offsets: compared field for field
        # only when a history is found (rare but for the empty one), not for every subject.
        if events and found[0] is not events and self._strict(found[0]) != self._strict(events):
            return None
        return found[1]

    def put(self, subject: Subject, value: object) -> None:
        """Keep ``value`` for ``subject``'s history (if it is short enough to look up)."""
        if len(subject.events) > self.SHORT:
            return
        if len(self._kept) >= self.LIMIT:
            self._kept.clear()
        self._kept[subject.events] = (subject.events, value)


_SpanRow = tuple[str, int, int, bool, str | None, str]


def span_batch(
    policy: Policy,
    subjects: Iterable[Subject],
    purposes: Sequence[str],
    start: datetime,
    end: datetime,
    shared: Shared | None = None,
) -> pa.RecordBatch:
    """The spans of each subject for each purpose, in that order, as one batch: row for
    row :meth:`lawful.Policy.timeline` (fresh data, every vendor and data category).
    ``shared``: answers kept across batches of one query.
    """
    shared = Shared() if shared is None else shared
    who: list[str] = []
    what: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    allowed: list[bool] = []
    bases: list[str | None] = []
    codes: list[str] = []
    for subject in subjects:
        found = shared.get(subject)
        rows: list[_SpanRow]
        if found is None:
            rows = []
            for purpose in purposes:
                for span in policy.timeline(subject, purpose, start, end):
                    decision = span.decision
                    rows.append(
                        (
                            purpose,
                            to_us(span.start, "start"),
                            to_us(span.end, "end"),
                            decision.allowed,
                            None if decision.basis is None else decision.basis.value,
                            decision.code.value,
                        )
                    )
            shared.put(subject, rows)
        else:
            rows = found  # type: ignore[assignment]
        sid = subject.id
        for purpose, lo, hi, ok, basis, code in rows:
            who.append(sid)
            what.append(purpose)
            starts.append(lo)
            ends.append(hi)
            allowed.append(ok)
            bases.append(basis)
            codes.append(code)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(who, pa.string()),
            pa.array(what, pa.string()),
            pa.array(starts, pa.int64()).cast(_TIMESTAMP),
            pa.array(ends, pa.int64()).cast(_TIMESTAMP),
            pa.array(allowed, pa.bool_()),
            pa.array(bases, pa.string()),
            pa.array(codes, pa.string()),
        ],
        schema=SPAN_SCHEMA,
    )


@attrs.frozen
class Piece:
    """For collection instants ``lo <= c < hi`` (microseconds), the decision is ``decision``
    in its outcome and primary reason (its other reasons may differ inside the piece).
    """

    lo: int
    hi: int
    decision: Decision


Decide = Callable[[Subject, int], Piece]
"""Decides stored data collected at an instant (microseconds) and gives its piece."""


def point_decider(policy: Policy, purpose: str, at: datetime, vendor: str | None = None) -> Decide:
    """A :data:`Decide` whose pieces are single instants ``[c, c + 1)``: exact, one
    decision per distinct collection instant (an undeclared purpose: one piece for all).
    """
    at_us = to_us(at, "at")
    known = purpose in policy.purpose_ids

    def decide(subject: Subject, c_us: int) -> Piece:
        if c_us > at_us:
            raise QueryError("collected_at: data cannot be processed before it was collected")
        decision = policy.may_process(
            subject, purpose, at, vendor=vendor, collected_at=from_us(c_us, at.tzinfo)
        )
        if not known:
            return Piece(_FIRST_US, at_us + 1, decision)
        return Piece(c_us, c_us + 1, decision)

    return decide


def bounded_decider(
    policy: Policy, purpose: str, at: datetime, vendor: str | None = None
) -> Decide:
    """A :data:`Decide` whose pieces are as wide as the engine can show them to be: every
    rule that reads the collection instant narrows the piece to the instants it reads
    alike (an erasure, a consent's or a withdrawal's instant, a retention limit), and to
    the one instant asked about where it cannot say more (an age at collection, the end
    of a browsing session). Exact either way; wide pieces make a sweep fast.
    """
    at_us = to_us(at, "at")
    compiled = policy.purpose(purpose) if purpose in policy.purpose_ids else None
    if compiled is None:
        return point_decider(policy, purpose, at, vendor)

    def decide(subject: Subject, c_us: int) -> Piece:
        if c_us > at_us:
            raise QueryError("collected_at: data cannot be processed before it was collected")
        decision, lo, hi = decide_collected(subject, compiled, at, vendor, c_us)
        return Piece(lo, hi, decision)

    return decide


def _known_piece(known: list[Piece], c_us: int) -> Piece | None:
    """The piece of ``known`` (disjoint, by ``lo``) holding ``c_us``, if one does."""
    pos = bisect_right(known, c_us, key=lambda p: p.lo) - 1
    if pos >= 0 and c_us < known[pos].hi:
        return known[pos]
    return None


def _learn(known: list[Piece], piece: Piece, c_us: int) -> None:
    """Add ``piece`` (which holds ``c_us``, held by no known piece) to ``known``, cut to
    the gap between its neighbours so that known pieces stay disjoint.
    """
    if len(known) >= Shared.LIMIT:
        known.clear()  # a history asked about at very many instants: memory stays bounded
    pos = bisect_right(known, c_us, key=lambda p: p.lo)
    lo = piece.lo if pos == 0 else max(piece.lo, known[pos - 1].hi)
    hi = piece.hi if pos == len(known) else min(piece.hi, known[pos].lo)
    known.insert(pos, piece if (lo, hi) == (piece.lo, piece.hi) else Piece(lo, hi, piece.decision))


def pieces(
    decide: Decide,
    subject: Subject,
    collected: Sequence[int],
    known: list[Piece] | None = None,
) -> list[Piece]:
    """The pieces covering ``collected`` (distinct instants in microseconds, ascending),
    disjoint and in order: decide at the earliest instant not yet covered, skip every
    instant its piece holds, go on.

    ``known``: pieces found before for the same history (disjoint, by ``lo``), used
    where they hold an instant, and added to with every piece decided here.
    """
    out: list[Piece] = []
    i, n = 0, len(collected)
    while i < n:
        c_us = collected[i]
        found = None if known is None else _known_piece(known, c_us)
        if found is None:
            piece = decide(subject, c_us)
            if known is not None:
                _learn(known, piece, c_us)
        else:
            piece = found
        if not piece.lo <= c_us < piece.hi:  # pragma: no cover - a decider's bug
            raise AssertionError(f"piece [{piece.lo}, {piece.hi}) misses {c_us}")
        if out and piece.lo < out[-1].hi:
            # A piece may reach back over the one before: cut it there, so that pieces are
            # disjoint and in order and a join by "the last piece starting at or before"
            # finds the one that holds the instant.
            piece = Piece(out[-1].hi, piece.hi, piece.decision)
        out.append(piece)
        i = bisect_left(collected, piece.hi, i + 1)
    return out


def piece_batch(
    decide: Decide,
    items: Iterable[tuple[Subject, Sequence[int]]],
    shared: Shared | None = None,
) -> pa.RecordBatch:
    """The pieces of each ``(subject, distinct collection instants)`` as one batch;
    ``shared``: pieces kept across batches of one query, by history.
    """
    shared = Shared() if shared is None else shared
    who: list[str] = []
    lows: list[int] = []
    highs: list[int] = []
    allowed: list[bool] = []
    codes: list[str] = []
    for subject, collected in items:
        known: list[Piece] | None = shared.get(subject)  # type: ignore[assignment]
        found = pieces(decide, subject, collected, known)
        if known is None:  # the first of its history: its pieces are what is known
            shared.put(subject, list(found))
        for piece in found:
            who.append(subject.id)
            lows.append(piece.lo)
            highs.append(piece.hi)
            allowed.append(piece.decision.allowed)
            codes.append(piece.decision.code.value)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(who, pa.string()),
            pa.array(lows, pa.int64()),
            pa.array(highs, pa.int64()),
            pa.array(allowed, pa.bool_()),
            pa.array(codes, pa.string()),
        ],
        schema=PIECE_SCHEMA,
    )


def collected_us(
    column: pa.Array[Any] | pa.ChunkedArray[Any], at: datetime, *, source: str
) -> pa.Array[Any]:
    """``collected_at`` as microseconds since the epoch (int64), checked row by row.

    Args:
        column: Timestamps with a time zone.
        at: The instant of processing: no row may be collected after it.
        source: The column's name in errors (``hits.collected_at``).

    Raises:
        NaiveDatetimeError: The column has no time zone (lawful never guesses one).
        TableError: Not a timestamp column, a null (``None`` would mean fresh data, which
            a stored row is not), or a time finer than a microsecond (rounding either
            way could move it across an event).
        QueryError: A row collected after ``at`` (``may_process`` refuses it too).
    """
    table, _, field = source.partition(".")
    column = plain(column)
    kind = column.type
    if not isinstance(kind, pa.TimestampType):
        raise TableError(f"{source}: expected timestamps with a time zone, got {kind}")
    if kind.tz is None:
        raise NaiveDatetimeError(f"{source} (a timestamp column without a time zone)")
    missing = first_true(column.is_null())
    if missing is not None:
        raise TableError(
            f"{table}[{missing}].{field}: null; a stored row needs the instant it was "
            "collected (lawful never takes a missing one for fresh data)"
        )
    micros, odd = timestamp_us(column)
    if odd is not None:
        raise TableError(
            f"{table}[{odd}].{field}: finer than a microsecond; lawful decides in "
            "microseconds and never rounds a collection time"
        )
    late = first_true(pc.greater(micros, pa.scalar(to_us(at, "at"), pa.int64())))
    if late is not None:
        raise QueryError(
            f"{table}[{late}].{field}: collected after at; data cannot be processed before "
            "it was collected"
        )
    early = first_true(pc.less(micros, pa.scalar(_FIRST_US, pa.int64())))
    if early is not None:
        raise TableError(f"{table}[{early}].{field}: before the year 1 in UTC")
    return micros
