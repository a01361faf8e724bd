"""Events as Arrow: the JSON Lines event shape, one column per field, plus ``subject``.

A row is one event: ``subject``, ``type``, ``at`` and the fields of its type by name, every
other column null. Written tables hold instants as ISO 8601 text with their offset, as in
JSON Lines (an Arrow timestamp has one zone per column, so it would lose the offset each
event was written with), and a birth date as an Arrow date. Read, a table may also hold
instants as timestamps with a time zone (a warehouse's ``TIMESTAMPTZ``). Rows are read
column by column with each event class's prepared constructor (the readers and validators
of :func:`lawful.event_from_dict`, the one parser of the event shape); a row it does not
read as plainly good is read again as one object by :func:`lawful.event_from_dict`, so a
bad row is an :class:`lawful.EventError` naming the row (counted from 0) and the field,
never skipped.

A query that reads only some events (:class:`Reads`: a purpose never reads another
purpose's consent, and fresh data never reads a page view) need not make the others
Python objects at all: :func:`unread` finds, column by column in Arrow, the rows that are
plainly good events of a kind the query does not read, and only those are left out. A row
Arrow cannot vouch for is read as every other row is, so it is an error or an event,
never dropped unseen.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from lawful._json import column_reader, event_from_dict
from lawful._time import from_us
from lawful.events import (
    BY_TYPE,
    ConsentMethod,
    Event,
)
from lawful.exceptions import EventError, NaiveDatetimeError, TableError
from lawful.model import PurposeTerms
from lawful.tables._vouch import FIELDS as _FIELDS
from lawful.tables._vouch import Reads, first_true, plain, timestamp_us, unread

__all__ = [
    "EVENT_SCHEMA",
    "Reads",
    "Rows",
    "events_from_batch",
    "first_true",
    "from_arrow",
    "plain",
    "timestamp_us",
    "to_arrow",
    "unread",
]

_TERMS = pa.struct(
    [
        ("statement", pa.string()),
        ("basis", pa.string()),
        ("vendors", pa.list_(pa.string())),
        ("data", pa.list_(pa.string())),
    ]
)
_ARROW_OF: dict[object, pa.DataType] = {
    datetime: pa.string(),
    date: pa.date32(),
    bool: pa.bool_(),
    int: pa.int64(),
    str: pa.string(),
    PurposeTerms: _TERMS,
    ConsentMethod: pa.string(),
}


EVENT_SCHEMA = pa.schema(
    [
        pa.field("subject", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        *(pa.field(name, _ARROW_OF[hint]) for name, hint in _FIELDS.items()),
    ]
)
"""The schema :func:`to_arrow` writes: ``subject``, ``type``, then every event field."""

_UNREAD: Any = object()  # a type not looked up yet
_INSTANTS = frozenset(name for name, hint in _FIELDS.items() if hint is datetime)
_DATES = frozenset(name for name, hint in _FIELDS.items() if hint is date)


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, PurposeTerms):
        return {
            "statement": value.statement,
            "basis": value.basis.value,
            "vendors": sorted(value.vendors),
            "data": sorted(value.data),
        }
    if isinstance(value, ConsentMethod):
        return value.value
    return value


def to_arrow(pairs: Iterable[tuple[str, Event]]) -> pa.Table:
    """An Arrow table of ``(subject id, event)`` pairs, in :data:`EVENT_SCHEMA`.

    Write it with ``pyarrow.parquet.write_table``; :func:`from_arrow` reads it back, every
    field kept (instants with their offsets).
    """
    columns: dict[str, list[object]] = {name: [] for name in EVENT_SCHEMA.names}
    for subject, event in pairs:
        if type(subject) is not str or not subject:
            raise EventError(f"subject: expected a non-empty string, got {subject!r}")
        columns["subject"].append(subject)
        columns["type"].append(event.event_type)
        values = {field.name: getattr(event, field.name) for field in attrs.fields(type(event))}
        for name in _FIELDS:
            value = values.get(name)
            columns[name].append(None if value is None else _cell(value))
    return pa.table(columns, schema=EVENT_SCHEMA)


def _check_schema(schema: pa.Schema, source: str, extra: Iterable[str] = ()) -> None:
    """Refuse a table whose columns are not the event shape's (a typo in a column name
    would otherwise drop that field from every row without a word).
    """
    allowed = {"subject", "type", *_FIELDS, *extra}
    for name in schema.names:
        if name not in allowed:
            raise TableError(
                f"{source}: unknown column {name!r}; an events table has subject, type and "
                f"the event fields ({', '.join(_FIELDS)})"
            )
    for name in ("subject", "type", "at"):
        if name not in schema.names:
            raise TableError(f"{source}: no column {name!r}")
    if len(set(schema.names)) != len(schema.names):
        raise TableError(f"{source}: a column name appears twice")


def _instants(column: pa.Array[Any], name: str, source: str, rows: list[int]) -> list[object]:
    """A timestamp column as ISO 8601 text (the event shape); a naive one is refused."""
    kind = column.type
    if not isinstance(kind, pa.TimestampType):  # pragma: no cover - the caller checks
        raise TypeError(kind)
    if kind.tz is None:
        at = first_true(column.is_valid())
        raise NaiveDatetimeError(f"{source}[{rows[at] if at is not None else 0}].{name}")
    micros, odd = timestamp_us(column)
    if odd is not None:
        raise EventError(
            f"{source}[{rows[odd]}].{name}: finer than a microsecond; lawful decides in "
            "microseconds and never rounds an event's time"
        )
    outside = first_true(
        pc.or_(
            pc.less(micros, pa.scalar(_YEAR_1_US, pa.int64())),
            pc.greater_equal(micros, pa.scalar(_YEAR_10000_US, pa.int64())),
        )
    )
    if outside is not None:
        raise EventError(f"{source}[{rows[outside]}].{name}: outside the years 1 to 9999 in UTC")
    return [None if v is None else from_us(v).isoformat() for v in micros.to_pylist()]


_YEAR_1_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
_YEAR_10000_US = 253_402_300_800_000_000  # what 10000-01-01T00:00:00Z would be


def _values(column: pa.Array[Any], name: str, source: str, rows: list[int]) -> list[object]:
    """A column's values in the JSON shape (the parser then checks each one)."""
    column = plain(column)
    kind = column.type
    if name in _INSTANTS and pa.types.is_timestamp(kind):
        return _instants(column, name, source, rows)
    if name in _DATES and pa.types.is_timestamp(kind):
        # A date has no time of day or zone to guess from (as events refuse datetimes).
        raise EventError(f"{source}.{name}: expected dates, got a timestamp column")
    if name in _DATES and pa.types.is_date(kind):
        return [None if v is None else v.isoformat() for v in column.to_pylist()]
    if column.null_count == len(column):
        return [None] * len(column)  # a field of other kinds of event: no value to convert
    values: list[object] = column.to_pylist()
    return values


class Rows:
    """A batch of event rows made Python values once, read into events by row range.

    Given ``reads``, the rows :func:`unread` finds (plainly good events the query does
    not read) are left out: neither made Python values nor yielded.
    """

    __slots__ = (
        "_columns",
        "_events",
        "_given",
        "_kept",
        "_kinds",
        "_names",
        "_rows",
        "_source",
        "_subjects",
        "_values",
    )

    def __init__(
        self,
        batch: pa.RecordBatch | pa.Table,
        *,
        source: str = "events",
        rows: list[int] | None = None,
        row_column: str | None = None,
        reads: Reads | None = None,
    ) -> None:
        extra = () if row_column is None else (row_column,)
        _check_schema(batch.schema, source, extra)
        if row_column is not None:
            rows = [-1 if r is None else int(r) for r in batch.column(row_column).to_pylist()]
            batch = batch.drop_columns([row_column])
        if rows is None:
            rows = list(range(batch.num_rows))
        # The rows read, by their place in the batch given (None: every row).
        self._kept: list[int] | None = None
        left = None if reads is None else unread(batch, reads)
        if left is not None:
            keep: Any = pc.invert(left)
            taken = pc.indices_nonzero(keep)
            kept = [int(i) for i in taken.to_pylist() if i is not None]
            self._kept = kept
            batch = batch.take(taken)
            rows = [rows[i] for i in kept]
        columns: dict[str, list[object]] = {}
        given: pa.Array[Any] | None = None  # per row: how many event fields it holds
        for name in batch.schema.names:
            column = plain(batch.column(name))
            columns[name] = _values(column, name, source, rows)
            if name not in ("subject", "type"):
                valid = column.is_valid().cast(pa.int8())
                given = valid if given is None else pc.add(given, valid)
        self._source = source
        self._rows = rows
        self._subjects = columns.pop("subject")
        self._kinds = columns.pop("type")
        self._names = tuple(columns)
        self._values = tuple(columns[name] for name in self._names)
        self._columns = columns
        # Validity counts are never null; a null would only send its row the slow way.
        self._given: list[int | None] = (
            [0] * batch.num_rows if given is None else given.cast(pa.int64()).to_pylist()
        )
        self._events: list[Event | None] | None = None

    def _prepared(self) -> list[Event | None]:
        """Every row's event read column by column with each class's prepared constructor
        (:func:`lawful._json.column_reader`); ``None`` for a row it does not read as
        plainly good, which :meth:`read` then reads as one object, with every check and
        its error.
        """
        events: list[Event | None] = [None] * len(self._kinds)
        readers: dict[str, Callable[[int, int], Event] | None] = {}
        columns, given = self._columns, self._given
        for i, kind in enumerate(self._kinds):
            if type(kind) is not str:
                continue
            reader = readers.get(kind, _UNREAD)
            if reader is _UNREAD:
                cls = BY_TYPE.get(kind)
                reader = None if cls is None else column_reader(cls, columns)
                readers[kind] = reader
            if reader is None:
                continue
            try:
                events[i] = reader(i, given[i])
            except Exception:  # noqa: BLE001, S112 - read again as one object, which says where
                continue
        return events

    def read(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[str, Event]]:
        """The events of rows ``start`` to ``stop`` (excluded, counted in the batch given),
        as ``(subject id, event)``; rows left out (see ``reads``) yield nothing.

        Raises:
            EventError: A row that is no valid event (a null or empty subject included).
            NaiveDatetimeError: A timestamp without an offset.
        """
        source, rows, subjects, kinds = self._source, self._rows, self._subjects, self._kinds
        named = tuple(zip(self._names, self._values, strict=True))
        prepared = self._events
        if prepared is None:
            prepared = self._events = self._prepared()
        first, last = start, len(subjects) if stop is None else stop
        if self._kept is not None:  # rows of the batch given, to rows read
            first = bisect_left(self._kept, start)
            last = len(self._kept) if stop is None else bisect_left(self._kept, stop)
        for i in range(first, last):
            subject, kind = subjects[i], kinds[i]
            if type(subject) is not str or not subject:
                raise EventError(
                    f"{source}[{rows[i]}].subject: expected the subject id as a string"
                )
            event = prepared[i]
            if event is not None:
                yield subject, event
                continue
            data: dict[str, object] = {"type": kind}
            for name, values in named:
                value = values[i]
                if value is not None:
                    data[name] = value
            label = kind[:40] if isinstance(kind, str) and kind else "event"
            yield subject, event_from_dict(data, where=f"{source}[{rows[i]}]: {label}")


def events_from_batch(
    batch: pa.RecordBatch | pa.Table,
    *,
    source: str = "events",
    rows: list[int] | None = None,
    row_column: str | None = None,
) -> Iterator[tuple[str, Event]]:
    """Read the events of one batch; yields ``(subject id, event)`` in row order.

    Args:
        batch: Rows in the event shape, with a ``subject`` column.
        source: The name errors give the table (``events[3].at: ...``).
        rows: The row number of each row in errors (default: 0, 1, ...).
        row_column: A column holding those row numbers instead, which is not an event
            field (the per-subject core sorts rows and keeps where each came from).

    Raises:
        TableError: A column that is no event field, or ``subject``, ``type`` or ``at``
            missing.
        EventError: A row that is no valid event (its subject null or empty included).
        NaiveDatetimeError: A timestamp without an offset, or a timestamp column
            without a time zone.
    """
    return Rows(batch, source=source, rows=rows, row_column=row_column).read()


def from_arrow(
    table: pa.Table | pa.RecordBatch | pa.RecordBatchReader, *, source: str = "events"
) -> Iterator[tuple[str, Event]]:
    """Read an events table (or a stream of batches), batch by batch; yields ``(subject
    id, event)`` in row order. Nulls stand for absent fields (the JSON shape leaves them
    out): a null in a field with a default gives the default, a null in a required one
    is an error.

    Raises:
        TableError: A column that is no event field, or ``subject``, ``type`` or ``at``
            missing.
        EventError: A row that is no valid event; the message names ``events[row].field``
            (rows counted from 0).
        NaiveDatetimeError: A timestamp without an offset.
    """
    if isinstance(table, pa.RecordBatch):
        yield from events_from_batch(table, source=source)
        return
    batches = table.to_batches() if isinstance(table, pa.Table) else table
    offset = 0
    for batch in batches:
        rows = list(range(offset, offset + batch.num_rows))
        yield from events_from_batch(batch, source=source, rows=rows)
        offset += batch.num_rows
    if offset == 0:
        schema = table.schema
        _check_schema(schema, source)
