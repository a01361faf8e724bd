"""``lawful.tables``' events as Arrow: the event shape, read strictly, bad rows named."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lawful
from lawful import ConsentGiven, EventError, NaiveDatetimeError, TableError
from lawful import strategies as ls

pa = pytest.importorskip("pyarrow")
tables = pytest.importorskip("lawful.tables")

AT = datetime(2025, 3, 1, 9, tzinfo=timezone(timedelta(hours=2)))
EVENT_FIELDS = sorted(tables.EVENT_SCHEMA.names[2:])


def _rows(*rows: Mapping[str, object]) -> Any:
    """A table from rows in the JSON shape; every key of every row becomes a column."""
    names = list(dict.fromkeys(k for row in rows for k in row))
    return pa.table({n: [row.get(n) for row in rows] for n in names})


def test_a_table_round_trips_every_field_and_offset() -> None:
    """Events written with ``to_arrow`` read back equal, instants with their offsets."""
    pairs = [
        ("a", ConsentGiven(at=AT, purpose="analytics", explicit=True, id="c-1")),
        ("b", lawful.BirthDateDeclared(at=AT, birth_date=date(2001, 2, 28))),
        ("b", lawful.Objection(at=AT.astimezone(UTC), automated=True)),
    ]
    table = tables.to_arrow(pairs)
    assert table.schema == tables.EVENT_SCHEMA
    again = list(tables.from_arrow(table))
    assert again == pairs
    assert again[0][1].at.utcoffset() == timedelta(hours=2)


def test_rows_in_the_json_shape_read_as_json_lines_do() -> None:
    """A table built from ``event_to_dict`` rows (strings for instants and dates) reads."""
    event = lawful.BirthDateDeclared(at=AT, birth_date=date(2001, 2, 28))
    table = _rows({"subject": "s", **lawful.event_to_dict(event)})
    assert list(tables.from_arrow(table)) == [("s", event)]


def test_timestamp_columns_with_a_zone_are_read_and_naive_ones_refused() -> None:
    """A warehouse's TIMESTAMPTZ column reads; a timestamp column without a zone does not."""
    stamps = pa.array([AT.astimezone(UTC)], pa.timestamp("ms", tz="UTC"))
    table = pa.table({"subject": ["s"], "type": ["erasure"], "at": stamps})
    ((_, event),) = tables.from_arrow(table)
    assert event == lawful.Erasure(at=AT)
    naive = table.set_column(2, "at", stamps.cast(pa.timestamp("ms")))
    with pytest.raises(NaiveDatetimeError, match=r"events\[0\]\.at"):
        list(tables.from_arrow(naive))


def test_an_instant_finer_than_a_microsecond_is_refused() -> None:
    """lawful never rounds an event's time: a nanosecond remainder is an error naming the row."""
    stamps = pa.array([0, 1_000, 1_001], pa.timestamp("ns", tz="UTC"))
    table = pa.table({"subject": ["s"] * 3, "type": ["erasure"] * 3, "at": stamps})
    with pytest.raises(EventError, match=r"events\[2\]\.at: finer than a microsecond"):
        list(tables.from_arrow(table))


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ({"subject": "s", "type": "consent_given", "at": "2025-03-01T09:00Z"}, r"\[1\].*purpose"),
        ({"subject": "s", "type": "erasure", "at": "2025-03-01T09:00"}, r"events\[1\]"),
        ({"subject": "s", "type": "erasure", "at": "2025-03-01T09:00Z", "purpose": "x"}, "purpose"),
        ({"subject": None, "type": "erasure", "at": "2025-03-01T09:00Z"}, r"\[1\]\.subject"),
        ({"subject": "s", "type": "nope", "at": "2025-03-01T09:00Z"}, r"\[1\].*type"),
        ({"subject": "s", "type": "age_declared", "at": "2025-03-01T09:00Z", "at_least": -1}, "0"),
    ],
)
def test_a_bad_row_is_an_error_naming_it(row: Mapping[str, object], match: str) -> None:
    """Fail closed: a missing field, a naive instant, a field of another type, no subject,
    an unknown type or a bad value stops the read, naming the row (from 0); nothing skipped.
    """
    good = {"subject": "s", "type": "erasure", "at": "2025-03-01T09:00Z"}
    with pytest.raises((EventError, NaiveDatetimeError), match=match):
        list(tables.from_arrow(_rows(good, row)))


def test_a_column_that_is_no_event_field_is_refused() -> None:
    """A typo in a column name would drop that field from every row: refused, named."""
    table = _rows({"subject": "s", "type": "erasure", "at": "2025-03-01T09:00Z", "purpse": None})
    with pytest.raises(TableError, match="purpse"):
        list(tables.from_arrow(table))
    with pytest.raises(TableError, match="'at'"):
        list(tables.from_arrow(pa.table({"subject": ["s"], "type": ["erasure"]})))


def test_dictionary_and_large_string_columns_read() -> None:
    """Columns as Parquet and DuckDB hand them back (dictionary-encoded, large) read alike."""
    table = pa.table(
        {
            "subject": pa.array(["s"], pa.large_string()),
            "type": pa.array(["opt_out"]).dictionary_encode(),
            "at": [AT.isoformat()],
            "scope": pa.array(["all"], pa.large_string()),
        }
    )
    assert list(tables.from_arrow(table)) == [("s", lawful.OptOut(at=AT, scope="all"))]


def _one_by_one(table: Any) -> list[tuple[str, object]] | str:
    """What reading every row as one object with ``event_from_dict`` gives: the events,
    or the first error's message.
    """
    out: list[tuple[str, object]] = []
    for i, row in enumerate(table.to_pylist()):
        subject = row.pop("subject")
        if type(subject) is not str or not subject:
            return f"events[{i}].subject: expected the subject id as a string"
        data = {k: v.isoformat() if type(v) is date else v for k, v in row.items() if v is not None}
        label = row["type"][:40] if isinstance(row["type"], str) and row["type"] else "event"
        try:
            out.append((subject, lawful.event_from_dict(data, where=f"events[{i}]: {label}")))
        except (EventError, NaiveDatetimeError) as exc:
            return str(exc)
    return out


@given(
    ls.event_histories(),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(EVENT_FIELDS), st.integers(0, 10**6))
    ),
)
@settings(max_examples=60)
def test_a_table_reads_as_its_rows_read_one_by_one(
    history: list[lawful.Event], swaps: list[tuple[int, str, int]]
) -> None:
    """Fail closed, and fast: reading a table column by column gives the events (or the
    error, naming the row and field) that reading each row as one object gives, for good
    rows and for rows given another row's field or a null in a required one.
    """
    table = tables.to_arrow([(f"s{i % 3}", event) for i, event in enumerate(history)])
    if table.num_rows:
        columns = {name: table.column(name).to_pylist() for name in table.schema.names}
        for row, field, source in swaps:
            columns[field][row % table.num_rows] = columns[field][source % table.num_rows]
        table = pa.table(columns, schema=table.schema)
    expected = _one_by_one(table)
    try:
        got: list[tuple[str, object]] | str = list(tables.from_arrow(table))
    except (EventError, NaiveDatetimeError) as exc:
        got = str(exc)
    assert got == expected
