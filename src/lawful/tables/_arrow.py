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

import types
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from lawful._engine import PER_PURPOSE
from lawful._json import column_reader, event_from_dict
from lawful._time import from_us
from lawful.events import (
    BY_TYPE,
    EVENT_TYPES,
    ConsentMethod,
    Event,
    Interaction,
)
from lawful.exceptions import EventError, NaiveDatetimeError, TableError
from lawful.model import PurposeTerms

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


def _fields() -> dict[str, object]:
    """Every event field and its Python type, in the order classes first declare them."""
    found: dict[str, object] = {}
    for cls in EVENT_TYPES:
        hints = get_type_hints(cls)
        for field in attrs.fields(cls):
            hint = hints[field.name]
            if get_origin(hint) in (Union, types.UnionType):
                hint = next(a for a in get_args(hint) if a is not type(None))
            if found.setdefault(field.name, hint) is not hint:  # pragma: no cover - by design
                raise TypeError(f"event field {field.name!r} has two types")
    return found


_FIELDS = _fields()
EVENT_SCHEMA = pa.schema(
    [
        pa.field("subject", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        *(pa.field(name, _ARROW_OF[hint]) for name, hint in _FIELDS.items()),
    ]
)
"""The schema :func:`to_arrow` writes: ``subject``, ``type``, then every event field."""

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


def first_true(mask: pa.Array[Any] | pa.ChunkedArray[Any]) -> int | None:
    """The index of the first true value of a boolean array (nulls are not true)."""
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    found = pc.indices_nonzero(mask)  # nulls count as false
    return int(found[0].as_py()) if len(found) else None


def plain(column: pa.Array[Any] | pa.ChunkedArray[Any]) -> pa.Array[Any]:
    """One array, dictionary-decoded: what the readers below look at."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if isinstance(kind, pa.DictionaryType):
        column = column.cast(kind.value_type)
    return column


_UNREAD: Any = object()  # a type not looked up yet

_PER_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1}
_THOUSAND = pa.scalar(1_000, pa.int64())


def timestamp_us(column: pa.Array[Any]) -> tuple[pa.Array[Any], int | None]:
    """A timestamp column in microseconds since the epoch (int64), and the index of the
    first value finer than a microsecond (``None`` if none): lawful never rounds an
    instant, since rounding either way could move it across an event.
    """
    kind = column.type
    if not isinstance(kind, pa.TimestampType):  # pragma: no cover - callers check
        raise TypeError(kind)
    raw = column.cast(pa.int64())
    if kind.unit == "ns":
        whole = pc.divide(raw, _THOUSAND)
        return whole, first_true(pc.not_equal(pc.multiply(whole, _THOUSAND), raw))
    scale = _PER_UNIT[kind.unit]
    if scale == 1:
        return raw, None
    return pc.multiply_checked(raw, pa.scalar(scale, pa.int64())), None


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


@attrs.frozen
class Reads:
    """Which events a query reads: the others :func:`unread` may leave out of a subject.

    A decision on purpose ``P`` reads an event of a per-purpose kind (a consent, an
    objection, a restriction, a parental or transfer consent) only when it names ``P`` or
    no purpose, and an interaction only for stored data under a retention rule counted
    from the last interaction or a session's end (docs/explanation/decision.md, step 8):
    the same events :meth:`lawful.Policy.timeline` steps by. Leaving the others out of
    a subject changes no answer, which the laws of tests/tables check against the
    engine on whole histories.

    Attributes:
        purposes: The ids of the purposes asked about.
        interactions: Whether interactions are read.
    """

    purposes: frozenset[str]
    interactions: bool


_ISO = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_FALSE = pa.scalar(False, pa.bool_())  # noqa: FBT003 - a scalar, not a flag
_Mask = Any
"""A boolean Arrow array, one value per row (pyarrow's stubs type compute's results by
their inputs' scalars, which a column read from a table does not name)."""
# Years 2 to 9998 in any offset stay within UTC's years 1 to 9999 (the events' own check).
_FIRST_YEAR, _LAST_YEAR = 2, 9998
_EARLIEST_US = -62_104_060_800_000_000  # 0002-01-01T00:00:00Z
_LATEST_US = 253_370_764_800_000_000  # 9999-01-01T00:00:00Z
_METHOD_VALUES = pa.array([m.value for m in ConsentMethod], pa.string())


def _text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _iso_ok(column: Any) -> _Mask:
    """Per value: text that :func:`datetime.fromisoformat` reads as an aware instant in
    the events' years, shown in one plain shape (``2025-03-01T09:00:00+01:00``, a
    fraction of six digits or none, ``Z`` or an offset) that Arrow's own parser also
    accepts; false for anything else (which is then read the general way).
    """
    shaped = pc.fill_null(pc.match_substring_regex(column, _ISO), _FALSE)
    values = column.filter(shaped)
    if not len(values):
        return shaped
    try:
        # Arrow refuses a day, hour, minute, second or offset out of range, as Python does.
        values.cast(pa.timestamp("us", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([False] * len(column), pa.bool_())
    year = pc.utf8_slice_codeunits(values, 0, 4).cast(pa.int64())
    years = pc.and_(
        pc.greater_equal(year, pa.scalar(_FIRST_YEAR, pa.int64())),
        pc.less_equal(year, pa.scalar(_LAST_YEAR, pa.int64())),
    )
    return pc.replace_with_mask(shaped, shaped, years)


def _value_ok(column: Any, hint: object) -> _Mask | None:
    """Per value of one event field: whether the type's reader and the event's validator
    are sure to take it (``None``: no value of this column is vouched for).
    """
    kind = column.type
    if hint is datetime:
        if _text(kind):
            return _iso_ok(column)
        if isinstance(kind, pa.TimestampType) and kind.tz is not None:
            micros, odd = timestamp_us(column)
            if odd is not None:
                return None
            return pc.and_(
                pc.greater_equal(micros, pa.scalar(_EARLIEST_US, pa.int64())),
                pc.less(micros, pa.scalar(_LATEST_US, pa.int64())),
            )
        return None
    if hint is str and _text(kind):
        return pc.greater(pc.utf8_length(column), pa.scalar(0, pa.int32()))
    if hint is bool and pa.types.is_boolean(kind):
        return pa.array([True] * len(column), pa.bool_())
    if hint is ConsentMethod and _text(kind):
        return pc.is_in(column, value_set=_METHOD_VALUES.cast(kind))
    return None


def _good(batch: pa.RecordBatch | pa.Table, cls: type[Event]) -> _Mask:
    """Per row of ``batch`` (every row of type ``cls``): whether it is plainly a good
    event of that class: every required field given, no field of another class, each
    value one the class's reader and validator take. False where unsure.
    """
    fields = {f.name: f for f in attrs.fields(cls)}
    n = batch.num_rows
    ok: _Mask = pa.array([True] * n, pa.bool_())
    for name, field in fields.items():
        if field.default is attrs.NOTHING and name not in batch.schema.names:
            return pa.array([False] * n, pa.bool_())
    for name in batch.schema.names:
        if name in ("subject", "type"):
            continue
        column: Any = plain(batch.column(name))
        absent: _Mask = column.is_null()
        known = fields.get(name)
        if known is None:
            this = absent  # a field of another class: only a null is plain
        else:
            checked = _value_ok(column, _FIELDS[name])
            given = absent if checked is None else pc.or_kleene(absent, checked)
            if known.default is attrs.NOTHING:
                given = pc.and_kleene(pc.invert(absent), given)
            this = given
        ok = pc.and_(ok, pc.fill_null(this, _FALSE))
    return ok


def _of_type(kinds: Any, cls: type[Event]) -> _Mask:
    """Per row: whether its ``type`` is ``cls``'s (null where the type is null)."""
    return pc.equal(kinds, pa.scalar(cls.event_type, kinds.type))


def unread(batch: pa.RecordBatch | pa.Table, reads: Reads) -> _Mask | None:
    """The rows of ``batch`` a query that reads ``reads`` may leave out (a boolean mask
    without nulls), or ``None`` if none: rows that are plainly good events (by Arrow's
    checks, column by column: see :func:`_good`) of a subject with an id, of a kind the
    query does not read. Every other row is read into an event as usual, so a bad row is
    still an error, whatever its kind.
    """
    names = batch.schema.names
    kinds: Any = plain(batch.column("type"))
    if not _text(kinds.type):
        return None
    candidates: list[tuple[type[Event], _Mask]] = []
    if not reads.interactions:
        candidates.append((Interaction, _of_type(kinds, Interaction)))
    if "purpose" in names:
        purpose: Any = plain(batch.column("purpose"))
        if _text(purpose.type):
            asked = pa.array(sorted(reads.purposes), pa.string()).cast(purpose.type)
            # Another purpose's event (a null purpose is every purpose's: always read).
            other = pc.and_(purpose.is_valid(), pc.invert(pc.is_in(purpose, value_set=asked)))
            candidates += [(cls, pc.and_(_of_type(kinds, cls), other)) for cls in PER_PURPOSE]
    subject: Any = plain(batch.column("subject"))
    if not _text(subject.type):
        return None
    some: _Mask = pc.greater(pc.utf8_length(subject), pa.scalar(0, pa.int32()))
    named: _Mask = pc.fill_null(some, _FALSE)
    out: _Mask | None = None
    for cls, mask in candidates:
        mask = pc.and_(pc.fill_null(mask, _FALSE), named)  # noqa: PLW2901 - the same rows, fewer
        if first_true(mask) is None:
            continue
        good = _good(batch.filter(mask), cls)
        left = pc.replace_with_mask(mask, mask, good)
        out = left if out is None else pc.or_(out, left)
    if out is None or first_true(out) is None:
        return None
    return out


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
            keep: _Mask = pc.invert(left)
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
