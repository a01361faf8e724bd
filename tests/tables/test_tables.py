"""``lawful.tables.spans`` and ``sweep``: what they refuse, and the shape of what they give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import lawful
from lawful import (
    ConsentGiven,
    ConsentWithdrawn,
    Event,
    NaiveDatetimeError,
    QueryError,
    TableError,
)

pa = pytest.importorskip("pyarrow")
tables = pytest.importorskip("lawful.tables")

POLICY = lawful.bundled_policy("piwik-pro")
DAY = datetime(2025, 3, 1, tzinfo=UTC)
AT = DAY + timedelta(days=10)
EVENTS: list[tuple[str, Event]] = [
    ("v-1", ConsentGiven(at=DAY, purpose="analytics")),
    ("v-1", ConsentWithdrawn(at=DAY + timedelta(days=8), purpose="analytics")),
    ("v-3", ConsentGiven(at=DAY, purpose="analytics")),
]


def _hits(subjects: list[str | None], stamps: list[datetime | None], unit: str = "us") -> Any:
    return pa.table(
        {
            "subject": pa.array(subjects, pa.string()),
            "collected_at": pa.array(stamps, pa.timestamp(unit, tz="UTC")),
        }
    )


def _sweep(hits: object, purpose: str = "analytics", at: datetime = AT) -> Any:
    return tables.sweep(POLICY, tables.to_arrow(EVENTS), hits, purpose=purpose, at=at)


def test_a_sweep_keeps_the_rows_and_their_order_and_decides_a_subject_without_events() -> None:
    """Each hit is decided as ``may_process`` would, in the order given; v-2 has no
    events and is decided (denied for want of consent), never dropped. A withdrawal in
    force at ``at`` comes first, even for data collected before any consent.
    """
    stamps: list[datetime | None] = [DAY + timedelta(days=2), DAY - timedelta(days=1)]
    stamps.append(DAY + timedelta(days=2))
    out = _sweep(_hits(["v-1", "v-1", "v-2"], stamps))
    assert out.column("allowed").to_pylist() == [False, False, False]
    codes = ["consent_withdrawn", "consent_withdrawn", "no_consent"]
    assert out.column("code").to_pylist() == codes
    fresh = _sweep(_hits(["v-3", "v-3"], [AT, DAY]))
    assert fresh.column("code").to_pylist() == ["consent_given", "consent_given"]


def test_an_undeclared_purpose_denies_every_row() -> None:
    """DESIGN, fail closed: a purpose the policy does not declare is denied, row by row."""
    out = _sweep(_hits(["v-1", "v-9"], [DAY, DAY]), purpose="nope")
    assert out.column("code").to_pylist() == ["unknown_purpose"] * 2


@pytest.mark.parametrize(
    ("hits", "error", "match"),
    [
        (lambda: _hits(["v-1", None], [DAY, DAY]), TableError, r"hits\[1\]\.subject"),
        (lambda: _hits(["v-1", ""], [DAY, DAY]), TableError, r"hits\[1\]\.subject"),
        (lambda: _hits(["v-1", "v-1"], [DAY, None]), TableError, r"hits\[1\]\.collected_at: null"),
        (lambda: _hits(["v-1"], [AT + timedelta(microseconds=1)]), QueryError, r"hits\[0\]"),
        (
            lambda: pa.table(
                {"subject": ["v-1"], "collected_at": pa.array([DAY], pa.timestamp("us"))}
            ),
            NaiveDatetimeError,
            "collected_at",
        ),
        (
            lambda: pa.table(
                {"subject": ["v-1"], "collected_at": pa.array([1_001], pa.timestamp("ns", "UTC"))}
            ),
            TableError,
            "finer than a microsecond",
        ),
        (lambda: pa.table({"subject": ["v-1"]}), TableError, "collected_at"),
        (lambda: pa.table({"subject": [1], "collected_at": [DAY]}), TableError, "text"),
        (lambda: _hits(["v-1"], [DAY]).append_column("code", pa.array(["x"])), TableError, "code"),
    ],
)
def test_what_a_sweep_cannot_decide_is_an_error_naming_the_row(
    hits: Any, error: type[Exception], match: str
) -> None:
    """Fail closed: no subject, no collection time (it never means fresh data), a naive
    column, a time finer than a microsecond, data collected after ``at`` (as
    ``may_process`` refuses), a missing or taken column: an error, never a guess.
    """
    with pytest.raises(error, match=match):
        _sweep(hits())


def test_a_naive_at_is_refused() -> None:
    """``at`` must be aware, as for ``may_process``."""
    with pytest.raises(NaiveDatetimeError, match="at"):
        _sweep(_hits(["v-1"], [DAY]), at=AT.replace(tzinfo=None))


def test_spans_have_their_schema_and_refuse_an_empty_interval() -> None:
    """One row per span, in :data:`lawful.tables.SPAN_SCHEMA`; ``end`` after ``start``."""
    out = tables.spans(POLICY, tables.to_arrow(EVENTS), purposes=["analytics"], start=DAY, end=AT)
    assert out.schema == tables.SPAN_SCHEMA
    assert out.column("subject").to_pylist() == ["v-1", "v-1", "v-3"]
    assert out.column("code").to_pylist() == ["consent_given", "consent_withdrawn", "consent_given"]
    with pytest.raises(QueryError, match="end"):
        tables.spans(POLICY, tables.to_arrow(EVENTS), purposes=["analytics"], start=AT, end=AT)
    empty = tables.spans(POLICY, tables.to_arrow([]), purposes="analytics", start=DAY, end=AT)
    assert empty.num_rows == 0


def test_importing_lawful_imports_neither_pyarrow_nor_duckdb() -> None:
    """The core never needs the tables extra (``lawful``, its CLI, its engine)."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import sys, lawful, lawful.cli\n"
        "lawful.cli.build_parser()\n"
        "bad = sorted(m for m in ('pyarrow', 'duckdb') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
