"""The sweep over Spark DataFrames, for tables beyond one machine: ``lawful[spark]``.

:func:`sweep` decides what :func:`lawful.tables.sweep` decides, row for row, with the same
per-subject core (:mod:`lawful.tables._core`) running on Spark's executors:

1. the distinct ``(subject, collected_at)`` pairs of the hits are grouped by subject
   together with that subject's events (a cogroup: subjects with events and no hits are
   read and checked too, subjects with hits and no events are decided on an empty
   history);
2. for each subject, the core turns its events and collection instants into *pieces*:
   intervals of collection instants with one answer (``applyInArrow``: Arrow in, Arrow
   out, no pandas conversion of the rows);
3. the hits are joined with the pieces as a range join (``subject`` equal,
   ``lo <= collected_at < hi``), and a hit that no piece holds fails the job
   (``raise_error``): a row is never left undecided, never silently allowed.

The pieces are computed when :func:`sweep` is called (and kept on the executors, a local
checkpoint), so that a bad row is reported there as the lawful error it is; the returned
DataFrame is lazy, like any other.

Every executor needs lawful and its ``spark`` extra installed (see
:doc:`/howto/retention-sweep` for ``spark-submit``).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa
from pyspark.errors import PySparkException
from pyspark.sql import functions as F  # noqa: N812 - Spark's own convention
from pyspark.sql import types as T  # noqa: N812 - Spark's own convention

from lawful import exceptions
from lawful._time import from_us, to_us
from lawful.exceptions import LawfulError, NaiveDatetimeError, TableError
from lawful.subject import Subject
from lawful.tables._arrow import EVENT_SCHEMA, Reads
from lawful.tables._core import (
    PIECE_SCHEMA,
    Decide,
    bounded_decider,
    groups,
    piece_batch,
    reads_of,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from lawful.policy import Policy

__all__ = ["sweep"]

_C = "__lawful_c"
_SUBJECT = "__lawful_subject"
_LO = "__lawful_lo"
_HI = "__lawful_hi"
_ALLOWED = "__lawful_allowed"
_CODE = "__lawful_code"
_PIECES_DDL = "subject string, lo bigint, hi bigint, allowed boolean, code string"
_ERROR = re.compile(r"lawful\.exceptions\.(\w+): (.*)")


def sweep(
    policy: Policy,
    events: DataFrame,
    hits: DataFrame,
    *,
    purpose: str,
    at: datetime,
    vendor: str | None = None,
) -> DataFrame:
    """``hits`` with ``allowed`` and ``code`` appended, decided on Spark's executors.

    Each row is what :func:`lawful.tables.sweep` gives for it, and so what
    ``policy.may_process(subject, purpose, at, vendor=vendor,
    collected_at=row.collected_at)`` gives, with ``subject`` holding the events of that
    subject id. A DataFrame has no row order: the result holds the rows of ``hits``,
    each once, with its own columns unchanged.

    Args:
        policy: The policy deciding (sent to the executors with the tasks).
        events: The events, in the event shape plus ``subject``
            (:data:`lawful.tables.EVENT_SCHEMA`; instants as ISO 8601 text with an
            offset, or as Spark timestamps), such as a Parquet file written from
            :func:`lawful.tables.to_arrow`.
        hits: Stored data: ``subject`` (text) and ``collected_at`` (a Spark
            ``TIMESTAMP``, an instant); other columns are kept.
        purpose: The purpose id (undeclared: every row denied ``unknown_purpose``).
        at: The instant of processing, aware.
        vendor: The recipient involved; ``None``: every vendor of the purpose.

    Raises:
        NaiveDatetimeError: ``at`` has no time zone, ``collected_at`` is a
            ``TIMESTAMP_NTZ`` column, or an event's instant has no offset.
        QueryError: A hit collected after ``at`` (named by its subject and
            ``collected_at``).
        TableError: A column missing or of the wrong type; ``hits`` already has
            ``allowed`` or ``code``; a hit with a null or empty subject or a null
            ``collected_at``; an events column that is no event field.
        EventError: An events row that is no valid event, named by its subject.
    """
    if type(purpose) is not str:
        raise TableError(f"purpose: expected a purpose id, got {purpose!r}")
    if vendor is not None and type(vendor) is not str:
        raise TableError(f"vendor: expected a vendor id or None, got {vendor!r}")
    at_us = to_us(at, "at")
    _check_events(events)
    _check_hits(hits, at, at_us)
    keyed = hits.withColumn(_C, F.unix_micros(F.col("collected_at")))
    instants = keyed.select(F.col("subject"), F.col(_C)).distinct()
    decide = _pieces_of(
        bounded_decider(policy, purpose, at, vendor), reads_of(policy, (purpose,), fresh=False)
    )
    pieces = (
        events.groupBy("subject")
        .cogroup(instants.groupBy("subject"))
        .applyInArrow(decide, schema=_PIECES_DDL)
        .toDF(_SUBJECT, _LO, _HI, _ALLOWED, _CODE)
    )
    pieces = _run(lambda: pieces.localCheckpoint(eager=True))
    joined = keyed.join(
        pieces,
        (keyed["subject"] == pieces[_SUBJECT])
        & (keyed[_C] >= pieces[_LO])
        & (keyed[_C] < pieces[_HI]),
        "left",
    )
    missing = F.raise_error(
        F.concat(
            F.lit("lawful: a hit fell outside every piece (subject "),
            F.col("subject"),
            F.lit("); refusing to decide it"),
        )
    )
    allowed = F.when(F.col(_ALLOWED).isNull(), missing).otherwise(F.col(_ALLOWED))
    return joined.select(
        *(keyed[name] for name in hits.columns),
        allowed.cast(T.BooleanType()).alias("allowed"),
        F.col(_CODE).alias("code"),
    )


def _pieces_of(decide: Decide, reads: Reads) -> Any:
    """The function each cogroup runs: one subject's events and collection instants in,
    its pieces out (:data:`lawful.tables._core.PIECE_SCHEMA`); of the events, those the
    purpose reads (``reads``: the others are checked and left out).
    """

    def run(key: tuple[pa.Scalar[Any], ...], events: pa.Table, instants: pa.Table) -> pa.Table:
        subject_id = key[0].as_py()
        source = f"events of subject {subject_id!r}"
        subject = Subject(subject_id, ())
        if events.num_rows:
            # One subject's rows: groups() reads (and checks) every one of them.
            for found, _ in groups(events.to_batches(), source=source, reads=reads):
                subject = found
        if not instants.num_rows:
            return PIECE_SCHEMA.empty_table()
        # Never null: _check_hits refused null collection times before any job ran.
        collected = sorted(cast("list[int]", instants.column(_C).to_pylist()))
        return pa.Table.from_batches([piece_batch(decide, [(subject, collected)])])

    return run


def _check_events(events: DataFrame) -> None:
    """Refuse, before any job runs, columns that an events table cannot have."""
    names = events.columns
    for name in names:
        if name not in EVENT_SCHEMA.names:
            raise TableError(
                f"events: unknown column {name!r}; an events table has subject, type and "
                f"the event fields ({', '.join(EVENT_SCHEMA.names[2:])})"
            )
    for name in ("subject", "type", "at"):
        if name not in names:
            raise TableError(f"events: no column {name!r}")
    if not isinstance(events.schema["subject"].dataType, T.StringType):
        raise TableError(
            f"events.subject: expected subject ids as text, got "
            f"{events.schema['subject'].dataType.simpleString()}"
        )


def _check_hits(hits: DataFrame, at: datetime, at_us: int) -> None:
    """Refuse hits no decision can use; one pass over the table, the first bad row named."""
    for name in ("allowed", "code"):
        if name in hits.columns:
            raise TableError(f"hits: has a column {name!r} already; the sweep appends it")
    for name in ("subject", "collected_at"):
        if name not in hits.columns:
            raise TableError(f"hits: no column {name!r}")
    subject = hits.schema["subject"].dataType
    if not isinstance(subject, T.StringType):
        raise TableError(
            f"hits.subject: expected subject ids as text, got {subject.simpleString()}"
        )
    kind = hits.schema["collected_at"].dataType
    if isinstance(kind, T.TimestampNTZType):
        raise NaiveDatetimeError("hits.collected_at (a TIMESTAMP_NTZ column)")
    if not isinstance(kind, T.TimestampType):
        raise TableError(
            f"hits.collected_at: expected timestamps (TIMESTAMP), got {kind.simpleString()}"
        )
    micros = F.unix_micros(F.col("collected_at"))
    bad = hits.where(
        F.col("subject").isNull()
        | (F.col("subject") == "")
        | F.col("collected_at").isNull()
        | (micros > F.lit(at_us))
    ).select("subject", F.col("collected_at"), micros.alias(_C))
    first = _run(lambda: bad.limit(1).collect())
    if not first:
        return
    row = first[0]
    if row["subject"] is None or row["subject"] == "":
        raise TableError(
            f"hits: a row with subject {row['subject']!r} (collected_at "
            f"{_instant(row[_C])}); expected the subject id"
        )
    where = f"hits: the row of subject {row['subject']!r}"
    if row[_C] is None:
        raise TableError(
            f"{where} with a null collected_at; a stored row needs the instant it was "
            "collected (lawful never takes a missing one for fresh data)"
        )
    raise exceptions.QueryError(
        f"{where} collected at {_instant(row[_C])}, after at ({at.isoformat()}); data "
        "cannot be processed before it was collected"
    )


def _instant(micros: int | None) -> str:
    if micros is None:
        return "null"
    return from_us(micros).isoformat()


def _run(action: Any) -> Any:
    """Run a Spark action; a lawful error raised on an executor is raised here again as
    the same lawful error, with its message (not a Java stack trace).
    """
    try:
        return action()
    except PySparkException as exc:
        found = _ERROR.findall(str(exc))
        if not found:
            raise
        name, message = found[-1]
        kind = getattr(exceptions, name, None)
        if not (isinstance(kind, type) and issubclass(kind, LawfulError)):
            raise
        # The message is complete as the executor wrote it: set it as it is, without
        # the class's own formatting (NaiveDatetimeError builds its text from a name).
        error = kind.__new__(kind)
        Exception.__init__(error, message)
        raise error from None
