"""DuckDB around the per-subject core: group events by subject, join hits with pieces.

DuckDB runs embedded, in this process, on an in-memory database of its own per call; it
reads the Arrow tables given in place (no copy) and hands rows back in batches, so the
Python side holds one batch and one subject's events at a time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from lawful._time import to_us
from lawful.exceptions import QueryError, TableError
from lawful.policy import Policy
from lawful.subject import Subject
from lawful.tables._arrow import Reads, _check_schema, first_true, from_arrow, plain
from lawful.tables._core import (
    _TIMESTAMP,
    PIECE_SCHEMA,
    SPAN_SCHEMA,
    Decide,
    Shared,
    bounded_decider,
    collected_us,
    groups,
    piece_batch,
    reads_of,
    span_batch,
)
from lawful.tables._fast import (
    FastPurpose,
    bad_subjects,
    fast_purpose,
    retention_start,
    span_pieces,
    sweep_sql,
)

__all__ = ["BATCH_ROWS", "SUBJECTS_PER_BATCH", "connect", "spans", "sweep"]

BATCH_ROWS = 65_536
"""Rows DuckDB hands over at a time."""
SUBJECTS_PER_BATCH = 4_096
"""Subjects decided before their rows go back to Arrow (and to DuckDB, for a sweep)."""
FAST = True
"""Whether the common case is decided column by column (:mod:`lawful.tables._fast`);
the laws turn it off to compare it with the engine's general path."""
THREADS: int | None = None
"""DuckDB's threads (``None``: its default, every core); the bench sets 1."""

_ROW = "__lawful_row"
_CS = "__lawful_collected"
Progress = Callable[[int, int], None]
"""Told ``(subjects done, subjects in all)`` after each batch of subjects."""


_DATABASE: list[tuple[int, duckdb.DuckDBPyConnection]] = []
_LOCK = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A connection of its own for one call, to this process's in-memory DuckDB.

    Opening a database costs tens of milliseconds, a connection to an open one (a
    cursor) microseconds: the database is opened once per process (again after a fork,
    which DuckDB does not survive) and holds nothing between calls, since each call only
    registers its Arrow tables on its own connection and closes it.
    """
    with _LOCK:
        pid = os.getpid()
        if not _DATABASE or _DATABASE[0][0] != pid:
            config: dict[str, str | bool | int | float | list[str]] = {
                "preserve_insertion_order": False
            }
            _DATABASE[:] = [(pid, duckdb.connect(":memory:", config=config))]
        connection = _DATABASE[0][1].cursor()
    if THREADS is not None:
        connection.execute(f"SET threads = {int(THREADS)}")
    return connection


def _reader(relation: duckdb.DuckDBPyRelation) -> pa.RecordBatchReader:
    """The relation's rows, :data:`BATCH_ROWS` at a time (DuckDB 2 renamed the call)."""
    if hasattr(relation, "to_arrow_reader"):
        reader: pa.RecordBatchReader = relation.to_arrow_reader(BATCH_ROWS)
    else:  # pragma: no cover - DuckDB 1
        reader = relation.fetch_record_batch(BATCH_ROWS)
    return reader


def _table(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    """The relation's rows as one table."""
    if hasattr(relation, "to_arrow_table"):
        table: pa.Table = relation.to_arrow_table()
    else:  # pragma: no cover - DuckDB 1
        table = relation.fetch_arrow_table()
    return table


def _count(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """How many subjects the registered table ``name`` holds (for progress only)."""
    found = con.sql(f"SELECT count(DISTINCT subject) FROM {name}").fetchall()  # noqa: S608
    return int(found[0][0])


def _as_table(value: object, source: str) -> pa.Table:
    if isinstance(value, pa.RecordBatch):
        return pa.Table.from_batches([value])
    if not isinstance(value, pa.Table):
        raise TableError(f"{source}: expected a pyarrow.Table, got {type(value).__name__}")
    return value


def _subject_column(table: pa.Table, source: str) -> pa.Array[Any]:
    """The ``subject`` column, checked: text, never null or empty."""
    if "subject" not in table.schema.names:
        raise TableError(f"{source}: no column 'subject'")
    column = plain(table.column("subject"))
    kind = column.type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        try:
            column = column.cast(pa.string())  # a string view, say; never numbers
        except pa.ArrowException:
            kind = None
        if kind is None or not pa.types.is_string_view(kind):
            raise TableError(f"{source}.subject: expected subject ids as text, got {kind}")
    bad = first_true(pc.equal(column, pa.scalar("", column.type)))
    if bad is None:
        bad = first_true(column.is_null())
    if bad is not None:
        raise TableError(f"{source}[{bad}].subject: expected the subject id, got null or ''")
    return column


def _counting(n: int) -> pa.Array[Any]:
    """0, 1, ..., n - 1 (int64), made in Arrow (a Python range of millions is slow)."""
    if not n:
        return pa.array([], pa.int64())
    ones = pa.repeat(pa.scalar(1, pa.int64()), n)
    counted: pa.Array[Any] = pc.subtract(pc.cumulative_sum(ones), pa.scalar(1, pa.int64()))
    return counted


def _events(events: object) -> pa.Table:
    """The events table with each row's number, checked where Arrow can check it at once."""
    table = _as_table(events, "events")
    subject = _subject_column(table, "events")
    table = table.set_column(table.schema.get_field_index("subject"), "subject", subject)
    if not table.num_rows:
        # No row to read: still refuse columns an events table cannot have.
        list(from_arrow(table))
    return table.append_column(_ROW, _counting(table.num_rows))


def spans(
    policy: Policy,
    events: pa.Table,
    *,
    purposes: Sequence[str] | str,
    start: datetime,
    end: datetime,
    progress: Progress | None = None,
) -> pa.Table:
    """See :func:`lawful.tables.spans`."""
    chosen = (purposes,) if isinstance(purposes, str) else tuple(purposes)
    for purpose in chosen:
        if type(purpose) is not str:
            raise TableError(f"purposes: expected purpose ids, got {purpose!r}")
    if to_us(end, "end") <= to_us(start, "start"):
        raise QueryError("end: a timeline needs an end after its start")
    table = _events(events)
    fast = _fast_all(policy, chosen, start) if FAST else None
    con = connect()
    try:
        con.register("events", table)
        total = 0 if progress is None else _count(con, "events")
        query = "SELECT * FROM events ORDER BY subject"
        bad: pa.Array[Any] = pa.array([], pa.string())
        read: list[pa.Table] = []
        if fast is not None:
            _check_schema(table.schema, "events", (_ROW,))
            bad, read = _bad(con, table, [f for f in fast if f is not None])
            query = (
                "SELECT * FROM events WHERE subject IN (SELECT subject FROM bad) ORDER BY subject"
            )
        reader = _reader(con.sql(query))
        batches: list[pa.RecordBatch] = []
        done = 0
        chunk: list[Subject] = []
        reads = reads_of(policy, chosen, fresh=True)
        shared = Shared()
        for subject, _ in groups(reader, source="events", row_column=_ROW, reads=reads):
            chunk.append(subject)
            if len(chunk) >= SUBJECTS_PER_BATCH:
                batches.append(span_batch(policy, chunk, chosen, start, end, shared))
                done += len(chunk)
                chunk = []
                if progress is not None:
                    progress(done, total)
        if chunk:
            batches.append(span_batch(policy, chunk, chosen, start, end, shared))
            if progress is not None:
                progress(done + len(chunk), total)
        general = pa.Table.from_batches(batches, schema=SPAN_SCHEMA)
        if fast is None:
            return general
        window = (to_us(start, "start"), to_us(end, "end"))
        out = _fast_spans(general, table, bad, read, fast, window, chosen)
        if progress is not None:
            progress(total, total)
        return out
    finally:
        con.close()


def _fast_all(
    policy: Policy, chosen: Sequence[str], start: datetime
) -> list[FastPurpose | None] | None:
    """Per purpose asked about, how the fast path decides it (``None``: undeclared), or
    ``None`` where one of them it cannot decide (then the engine decides every one).
    """
    out: list[FastPurpose | None] = []
    for pid in chosen:
        if pid not in policy.purpose_ids:
            out.append(None)
            continue
        fast = fast_purpose(policy, pid, start, stored=False)
        if fast is None:
            return None
        out.append(fast)
    # With no purpose of its own to read rows for, the fast path would vouch for none:
    # every row is read by the engine then, so that a bad one is still an error.
    return out if any(f is not None for f in out) else None


def _bad(
    con: duckdb.DuckDBPyConnection, table: pa.Table, fast: Sequence[FastPurpose]
) -> tuple[pa.Array[Any], list[pa.Table]]:
    """Register ``bad``, the subjects the fast path leaves to the engine; give them, and
    for each fast purpose the choices it reads of the others (sorted by subject, time).
    """
    batches = table.drop_columns([_ROW]).to_batches(max_chunksize=BATCH_ROWS)
    found, read = bad_subjects(batches, fast)
    bad = pa.array(found, pa.string())
    con.register("bad", pa.table({"subject": bad}))
    if len(bad):
        read = [c.filter(pc.invert(pc.is_in(c.column("subject"), value_set=bad))) for c in read]
    return bad, read


def _fast_spans(
    general: pa.Table,
    table: pa.Table,
    bad: pa.Array[Any],
    read: list[pa.Table],
    fast: Sequence[FastPurpose | None],
    window: tuple[int, int],
    chosen: Sequence[str],
) -> pa.Table:
    """The engine's spans of the subjects it decided (``general``, in order) and the fast
    path's of the others, in one table ordered by subject, then purpose, then time.
    """
    start_us, end_us = window
    subjects = plain(table.column("subject")).unique().cast(pa.string())
    if len(bad):
        subjects = subjects.filter(pc.invert(pc.is_in(subjects, value_set=bad)))
    m = general.num_rows
    parts = [
        general.set_column(2, "start", plain(general.column("start")).cast(pa.int64()))
        .set_column(3, "end", plain(general.column("end")).cast(pa.int64()))
        .append_column("k", _counting(m))
        .append_column("lo2", pa.nulls(m, pa.int64()))
    ]
    place = 0
    for k, (pid, purpose) in enumerate(zip(chosen, fast, strict=True)):
        if purpose is None:
            n = len(subjects)
            pieces = pa.table(
                {
                    "subject": subjects,
                    "lo": pa.repeat(pa.scalar(start_us, pa.int64()), n),
                    "hi": pa.repeat(pa.scalar(end_us, pa.int64()), n),
                    "code": pa.repeat(pa.scalar("unknown_purpose", pa.string()), n),
                }
            )
            basis = None
        else:
            pieces = span_pieces(read[place], subjects, purpose, start_us, end_us)
            place += 1
            basis = purpose.basis
        n = pieces.num_rows
        code: Any = pieces.column("code")
        parts.append(
            pa.table(
                [
                    pieces.column("subject"),
                    pa.repeat(pa.scalar(pid, pa.string()), n),
                    pieces.column("lo"),
                    pieces.column("hi"),
                    pc.equal(code, pa.scalar("consent_given", pa.string())),
                    pa.repeat(pa.scalar(basis, pa.string()), n),
                    code,
                    pa.repeat(pa.scalar(k, pa.int64()), n),
                    pieces.column("lo"),
                ],
                names=[
                    "subject",
                    "purpose",
                    "start",
                    "end",
                    "allowed",
                    "basis",
                    "code",
                    "k",
                    "lo2",
                ],
            )
        )
    every = pa.concat_tables(parts, promote_options="permissive").combine_chunks()
    order = pc.sort_indices(
        every, sort_keys=[("subject", "ascending"), ("k", "ascending"), ("lo2", "ascending")]
    )
    out = every.take(order)
    return pa.Table.from_arrays(
        [
            out.column("subject"),
            out.column("purpose"),
            out.column("start").cast(_TIMESTAMP),
            out.column("end").cast(_TIMESTAMP),
            out.column("allowed"),
            out.column("basis"),
            out.column("code"),
        ],
        schema=SPAN_SCHEMA,
    )


def sweep(
    policy: Policy,
    events: pa.Table,
    hits: pa.Table,
    *,
    purpose: str,
    at: datetime,
    vendor: str | None = None,
    decider: Decide | None = None,
    progress: Progress | None = None,
) -> pa.Table:
    """See :func:`lawful.tables.sweep`; ``decider`` gives pieces (default: as wide as the
    engine shows them, :func:`~lawful.tables._core.bounded_decider`).
    """
    if type(purpose) is not str:
        raise TableError(f"purpose: expected a purpose id, got {purpose!r}")
    if vendor is not None and type(vendor) is not str:
        raise TableError(f"vendor: expected a vendor id or None, got {vendor!r}")
    to_us(at, "at")
    hits = _as_table(hits, "hits")
    for name in ("allowed", "code"):
        if name in hits.schema.names:
            raise TableError(f"hits: has a column {name!r} already; the sweep appends it")
    if "collected_at" not in hits.schema.names:
        raise TableError("hits: no column 'collected_at'")
    subject = _subject_column(hits, "hits")
    micros = collected_us(hits.column("collected_at"), at, source="hits.collected_at")
    keyed = pa.table({"row": _counting(hits.num_rows), "subject": subject, "c": micros})
    table = _events(events)
    decide = bounded_decider(policy, purpose, at, vendor) if decider is None else decider
    fast = (
        fast_purpose(policy, purpose, at, stored=True, vendor=vendor)
        if FAST and decider is None
        else None
    )
    con = connect()
    try:
        con.register("events", table)
        con.register("hits", keyed)
        total = 0 if progress is None else _count(con, "hits")
        only = ""  # every subject to the engine, or only those the fast path leaves it
        some_bad = True
        if fast is not None:
            _check_schema(table.schema, "events", (_ROW,))
            bad, read = _bad(con, table, [fast])
            con.register("choices_0", read[0])
            only = "WHERE subject IN (SELECT subject FROM bad)"
            some_bad = bool(len(bad))
        pieces = PIECE_SCHEMA.empty_table()
        if some_bad:
            # One stream in subject order: each subject's events, then one row with the
            # distinct instants its hits were collected at (events of subjects without
            # hits are read too: a bad row is an error wherever it is, never skipped).
            reader = _reader(
                con.sql(
                    f"""
                SELECT * FROM (
                    SELECT *, NULL::BIGINT[] AS {_CS} FROM events {only}
                    UNION ALL BY NAME
                    SELECT subject, list(c ORDER BY c) AS {_CS}
                    FROM (SELECT DISTINCT subject, c FROM hits {only}) GROUP BY subject
                ) ORDER BY subject, {_CS} NULLS FIRST
                """  # noqa: S608 - only this module's own names are formatted in
                )
            )
            reads = reads_of(policy, (purpose,), fresh=False)
            batches = list(_piece_batches(reader, decide, reads, total, progress))
            pieces = pa.Table.from_batches(batches, schema=PIECE_SCHEMA)
        elif progress is not None:
            progress(total, total)
        con.register("pieces", pieces)
        query = """
            SELECT h.row, p.allowed, p.code, h.c < p.hi AS inside
            FROM hits h ASOF LEFT JOIN pieces p ON h.subject = p.subject AND h.c >= p.lo
            """
        if fast is not None:
            kept = retention_start(policy, purpose, at)
            easy = f"""
            SELECT row, code = 'consent_given' AS allowed, code, TRUE AS inside
            FROM ({sweep_sql(fast, to_us(at, "at"), kept, some_bad=some_bad)})
            """  # noqa: S608 - integers and this module's own SQL
            if some_bad:
                query = f"{query} WHERE h.subject IN (SELECT subject FROM bad) UNION ALL {easy}"  # noqa: S608 - our own SQL
            else:
                query = easy
        decided = _table(con.sql(f"SELECT allowed, code, inside FROM ({query}) ORDER BY row"))  # noqa: S608 - our own SQL
    finally:
        con.close()
    inside = decided.column("inside")
    # A hit outside every piece would be lawful's bug: refuse the whole answer.
    if (
        decided.num_rows != hits.num_rows
        or inside.null_count
        or first_true(pc.invert(inside)) is not None
    ):  # pragma: no cover
        raise AssertionError("sweep: a hit fell outside every piece")
    allowed = decided.column("allowed")
    code = decided.column("code")
    return hits.append_column("allowed", allowed).append_column("code", code)


def _piece_batches(
    reader: pa.RecordBatchReader,
    decide: Decide,
    reads: Reads,
    total: int,
    progress: Progress | None,
) -> Iterator[pa.RecordBatch]:
    """The pieces of every subject that has hits, a batch of subjects at a time."""
    chunk: list[tuple[Subject, list[int]]] = []
    done = 0
    shared = Shared()
    for subject, collected in groups(
        reader, source="events", row_column=_ROW, extra_column=_CS, reads=reads
    ):
        if collected is None:
            continue  # events of a subject without hits: read and checked, nothing to decide
        chunk.append((subject, collected))  # type: ignore[arg-type]
        if len(chunk) >= SUBJECTS_PER_BATCH:
            yield piece_batch(decide, chunk, shared)
            done += len(chunk)
            chunk = []
            if progress is not None:
                progress(done, total)
    yield piece_batch(decide, chunk, shared)
    if progress is not None and chunk:
        progress(done + len(chunk), total)
