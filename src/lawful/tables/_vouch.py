"""Which rows of an events batch Arrow can vouch for, column by column, without making
them Python events: the rows a query does not read (:class:`Reads`, :func:`unread`), and
the plainly good events of each class (:class:`Vouched`), which :mod:`lawful.tables` may
leave out or read as columns. A row Arrow is unsure of is always read the general way.
"""

from __future__ import annotations

import types
from datetime import datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from lawful._engine import PER_PURPOSE
from lawful.events import EVENT_TYPES, ConsentMethod, Event, Interaction

__all__ = ["FIELDS", "Reads", "Vouched", "first_true", "plain", "timestamp_us", "unread"]


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
FIELDS = _FIELDS
"""Every event field and its Python type."""


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
_TRUE = pa.scalar(True, pa.bool_())  # noqa: FBT003 - a scalar, not a flag
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
        return pa.repeat(_FALSE, len(column))
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
        return pa.repeat(_TRUE, len(column))
    if hint is ConsentMethod and _text(kind):
        return pc.is_in(column, value_set=_METHOD_VALUES.cast(kind))
    return None


class Vouched:
    """The columns of one batch checked once, value by value: per event class, which rows
    are plainly good events of it (:meth:`good`). Checking each column once for the whole
    batch, not once per class on the rows of that class, reads every value once.

    A column Arrow cannot vouch for as a whole (a text instant Arrow refuses, say) vouches
    for no row: those rows are read the general way, never left out unseen.
    """

    __slots__ = ("_absent", "_given", "_n", "_names")

    def __init__(self, batch: pa.RecordBatch | pa.Table) -> None:
        self._n = batch.num_rows
        self._names = frozenset(batch.schema.names)
        self._absent: dict[str, _Mask] = {}
        self._given: dict[str, _Mask | None] = {}
        for name in batch.schema.names:
            if name in ("subject", "type"):
                continue
            column: Any = plain(batch.column(name))
            absent: _Mask = column.is_null()
            self._absent[name] = absent
            if column.null_count == self._n or name not in _FIELDS:
                # No value to check; a column of no event field is plain only where null.
                self._given[name] = absent
                continue
            checked = _value_ok(column, _FIELDS[name])
            # Per row: absent, or a value the class's reader and validator take.
            self._given[name] = (
                None if checked is None else pc.fill_null(pc.or_kleene(absent, checked), _FALSE)
            )

    def good(self, cls: type[Event]) -> _Mask:
        """Per row: whether it is plainly a good event of ``cls`` (read as one): every
        required field given, no field of another class, each value one the class's reader
        and validator take. False where unsure.
        """
        n = self._n
        fields = {f.name: f for f in attrs.fields(cls)}
        for name, field in fields.items():
            if field.default is attrs.NOTHING and name not in self._names:
                return pa.repeat(_FALSE, n)
        ok: _Mask = pa.repeat(_TRUE, n)
        for name, absent in self._absent.items():
            known = fields.get(name)
            if known is None:
                this = absent  # a field of another class: only a null is plain
            else:
                given = self._given[name]
                this = absent if given is None else given
                if known.default is attrs.NOTHING:
                    this = pc.and_(pc.invert(absent), this)
            ok = pc.and_(ok, this)
        return ok


def _of_type(kinds: Any, cls: type[Event]) -> _Mask:
    """Per row: whether its ``type`` is ``cls``'s (null where the type is null)."""
    return pc.equal(kinds, pa.scalar(cls.event_type, kinds.type))


def unread(
    batch: pa.RecordBatch | pa.Table, reads: Reads, vouched: Vouched | None = None
) -> _Mask | None:
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
        if vouched is None:
            vouched = Vouched(batch)
        left = pc.and_(mask, vouched.good(cls))
        out = left if out is None else pc.or_(out, left)
    if out is None or first_true(out) is None:
        return None
    return out
