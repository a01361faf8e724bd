"""Decisions over tables: events and hits as Arrow, grouped and joined in DuckDB.

Install with ``pip install 'lawful[tables]'`` (pyarrow and DuckDB; the core never
imports them). Events are an Arrow table in the JSON Lines event shape plus a
``subject`` column (:data:`EVENT_SCHEMA`, :func:`to_arrow`, :func:`from_arrow`);
:func:`spans` gives many subjects' timelines at once, and :func:`sweep` decides every
row of a table of stored data ("hits") for one purpose at one instant. A subject with
only consent choices and page views, asked about a consent purpose of the engine's quick
shape, is decided column by column in Arrow and DuckDB (``lawful.tables._fast``, held to
the engine by laws); every other subject by the engine, which gets Python events only of
the rows its purposes read (a page view or another purpose's consent is checked in Arrow
and left out: a bad one is an error all the same) and decides subjects with the same
short history once.

>>> from datetime import datetime, UTC
>>> import pyarrow as pa
>>> import lawful
>>> from lawful import tables
>>> policy = lawful.bundled_policy("piwik-pro")
>>> events = tables.to_arrow([
...     ("v-1", lawful.ConsentGiven(at=datetime(2025, 3, 1, tzinfo=UTC), purpose="analytics")),
...     ("v-1", lawful.ConsentWithdrawn(at=datetime(2025, 3, 9, tzinfo=UTC), purpose="analytics")),
... ])
>>> hits = pa.table({
...     "subject": ["v-1", "v-1", "v-2"],
...     "collected_at": pa.array([datetime(2025, 3, 2, tzinfo=UTC), datetime(2025, 3, 10,
...         tzinfo=UTC), datetime(2025, 3, 2, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
... })
>>> swept = tables.sweep(policy, events, hits, purpose="analytics",
...     at=datetime(2025, 3, 5, tzinfo=UTC))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pyarrow as pa

from lawful.policy import Policy
from lawful.tables import _duck
from lawful.tables._arrow import EVENT_SCHEMA, from_arrow, to_arrow
from lawful.tables._core import SPAN_SCHEMA

__all__ = ["EVENT_SCHEMA", "SPAN_SCHEMA", "from_arrow", "spans", "sweep", "to_arrow"]


def spans(
    policy: Policy,
    events: pa.Table,
    *,
    purposes: Iterable[str],
    start: datetime,
    end: datetime,
) -> pa.Table:
    """The timelines of every subject of ``events``, for each purpose, over ``[start, end)``.

    Row for row what :meth:`lawful.Policy.timeline` gives for each subject (fresh data,
    every vendor and data category of the purpose), in subject order, then in the order
    of ``purposes``, then in time: columns ``subject``, ``purpose``, ``start``, ``end``
    (UTC timestamps, microseconds), ``allowed``, ``basis`` (null where none is relied on)
    and ``code`` (the primary reason's code), :data:`SPAN_SCHEMA`. DuckDB sorts the rows
    by subject; subjects are decided a batch at a time.

    Args:
        policy: The policy deciding.
        events: The events, in the event shape plus ``subject`` (:data:`EVENT_SCHEMA`).
        purposes: Purpose ids (an undeclared one is denied ``unknown_purpose``).
        start: The first instant, aware.
        end: The first instant after the last, aware, after ``start``.

    Raises:
        TableError: A column that is no event field, or a row without a subject.
        EventError: A row that is no valid event, named ``events[row]`` (from 0).
        NaiveDatetimeError: ``start`` or ``end``, or a timestamp in ``events``, has no
            time zone.
        QueryError: ``end`` is not after ``start``.
    """
    return _duck.spans(
        policy,
        events,
        purposes=purposes if isinstance(purposes, str) else tuple(purposes),
        start=start,
        end=end,
    )


def sweep(
    policy: Policy,
    events: pa.Table,
    hits: pa.Table,
    *,
    purpose: str,
    at: datetime,
    vendor: str | None = None,
) -> pa.Table:
    """``hits`` with ``allowed`` and ``code`` appended: may each row's data be processed
    for ``purpose`` at ``at``?

    Row ``i`` of the result is row ``i`` of ``hits`` with ``allowed`` and ``code`` (the
    primary reason's code value) of ``policy.may_process(subject, purpose, at,
    vendor=vendor, collected_at=row.collected_at)``, where ``subject`` holds the events
    of that subject id (none at all if ``events`` has none: decided, never dropped).
    DuckDB groups the events by subject and joins the hits with the decisions.

    Args:
        policy: The policy deciding.
        events: The events, in the event shape plus ``subject`` (:data:`EVENT_SCHEMA`).
        hits: Stored data: a ``subject`` column (text) and ``collected_at`` (timestamps
            with a time zone); other columns are kept as they are.
        purpose: The purpose id (undeclared: every row denied ``unknown_purpose``).
        at: The instant of processing, aware.
        vendor: The recipient involved; ``None``: every vendor of the purpose.

    Raises:
        NaiveDatetimeError: ``at`` has no time zone, ``collected_at`` is a timestamp
            column without one, or an event's timestamp has none.
        QueryError: A hit collected after ``at`` (named ``hits[row].collected_at``):
            ``may_process`` refuses such data too, since it cannot be processed before
            it exists.
        TableError: ``hits`` lacks ``subject`` or ``collected_at``, already has
            ``allowed`` or ``code``, or a row has a null or empty subject, a null
            collection time, or one finer than a microsecond; an events column that is
            no event field.
        EventError: An events row that is no valid event, named ``events[row]``.
    """
    return _duck.sweep(policy, events, hits, purpose=purpose, at=at, vendor=vendor)
