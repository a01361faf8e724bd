"""``lawful.tables.spark.sweep``: row for row what the DuckDB sweep gives (and so what
``may_process`` gives), bad rows refused with a lawful error naming them.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any, cast

import pyarrow as pa
import pytest
from tests.spark._data import AT, generate

import lawful
from lawful import tables

pytestmark = pytest.mark.spark
spark_sweep = pytest.importorskip("lawful.tables.spark").sweep

POLICY = lawful.bundled_policy("piwik-pro")


def _frame(spark: Any, table: pa.Table) -> Any:
    return spark.createDataFrame(table)  # Spark 4 reads an Arrow table as it is


def _decided(frame: Any) -> list[tuple[int, bool, str]]:
    rows = frame.select("hit", "allowed", "code").collect()
    return sorted((r["hit"], r["allowed"], r["code"]) for r in rows)


def _duck(events: pa.Table, hits: pa.Table, **query: Any) -> list[tuple[int, bool, str]]:
    out = tables.sweep(POLICY, events, hits, **query)
    rows = zip(
        out.column("hit").to_pylist(),
        out.column("allowed").to_pylist(),
        out.column("code").to_pylist(),
        strict=True,
    )
    return cast("list[tuple[int, bool, str]]", list(rows))


@pytest.fixture(scope="module")
def data(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    """Generated events and hits, as Arrow and as Spark read them back from Parquet."""
    import pyarrow.parquet as pq  # noqa: PLC0415

    events, hits = generate(600)
    folder = tmp_path_factory.mktemp("warehouse")
    pq.write_table(events, folder / "events.parquet")
    pq.write_table(hits, folder / "hits.parquet")
    spark_events = spark.read.parquet(str(folder / "events.parquet"))
    spark_hits = spark.read.parquet(str(folder / "hits.parquet"))
    return events, hits, spark_events, spark_hits


@pytest.mark.parametrize(
    "query",
    [
        {"purpose": "analytics"},
        {"purpose": "ab_testing_personalization", "vendor": "omniconvert"},
        {"purpose": "session_statistics"},
        {"purpose": "no_such_purpose"},
    ],
    ids=lambda q: "/".join(q.values()),
)
def test_the_spark_sweep_equals_the_duckdb_sweep(
    data: tuple[Any, ...], query: dict[str, str]
) -> None:
    """On the same generated warehouse, every hit is decided as the DuckDB sweep decides it."""
    events, hits, spark_events, spark_hits = data
    started = time.perf_counter()
    expected = _duck(events, hits, at=AT, **query)
    duck_s = time.perf_counter() - started
    started = time.perf_counter()
    got = _decided(spark_sweep(POLICY, spark_events, spark_hits, at=AT, **query))
    spark_s = time.perf_counter() - started
    same = got == expected
    codes = len({code for _, _, code in got})
    print(  # noqa: T201 - the nox session shows this line
        f"\n{query}: {len(got)} hits, {codes} codes, identical to DuckDB: "
        f"{'yes' if same else 'NO'} (DuckDB {duck_s:.2f} s, Spark {spark_s:.2f} s)"
    )
    assert same


def test_the_result_keeps_every_hit_column_and_appends_allowed_and_code(
    data: tuple[Any, ...],
) -> None:
    """The result's columns are the hits' own, then allowed and code; no row lost or added."""
    _, hits, spark_events, spark_hits = data
    out = spark_sweep(POLICY, spark_events, spark_hits, purpose="analytics", at=AT)
    assert out.columns == [*hits.column_names, "allowed", "code"]
    rows = out.select("hit", "page").collect()
    assert sorted((r["hit"], r["page"]) for r in rows) == sorted(
        zip(hits.column("hit").to_pylist(), hits.column("page").to_pylist(), strict=True)
    )


def test_every_row_is_what_may_process_says(spark: Any) -> None:
    """A small table checked against may_process itself, hit by hit."""
    at = datetime(2025, 6, 1, tzinfo=UTC)
    events = tables.to_arrow(
        [
            ("a", lawful.ConsentGiven(at=datetime(2025, 3, 1, tzinfo=UTC), purpose="analytics")),
            (
                "a",
                lawful.ConsentWithdrawn(at=datetime(2025, 4, 1, tzinfo=UTC), purpose="analytics"),
            ),
            ("b", lawful.ConsentGiven(at=datetime(2025, 3, 1, tzinfo=UTC), purpose="analytics")),
            ("c", lawful.Erasure(at=datetime(2025, 5, 1, tzinfo=UTC))),
        ]
    )
    collected = [datetime(2025, m, 2, tzinfo=UTC) for m in (1, 3, 5)]
    rows = [(s, c) for s in ("a", "b", "c", "d") for c in collected]
    hits = pa.table(
        {
            "hit": pa.array(range(len(rows)), pa.int64()),
            "subject": [s for s, _ in rows],
            "collected_at": pa.array([c for _, c in rows], pa.timestamp("us", tz="UTC")),
        }
    )
    got = _decided(
        spark_sweep(POLICY, _frame(spark, events), _frame(spark, hits), purpose="analytics", at=at)
    )
    subjects = {
        sid: lawful.Subject(sid, [e for s, e in tables.from_arrow(events) if s == sid])
        for sid in ("a", "b", "c", "d")
    }
    expected = []
    for hit, (sid, c) in enumerate(rows):
        decision = POLICY.may_process(subjects[sid], "analytics", at, collected_at=c)
        expected.append((hit, decision.allowed, decision.code.value))
    assert got == expected


def _hits(spark: Any, subjects: list[str | None], times: list[datetime | None]) -> Any:
    from pyspark.sql import types as T  # noqa: N812, PLC0415

    schema = T.StructType(
        [
            T.StructField("subject", T.StringType()),
            T.StructField("collected_at", T.TimestampType()),
        ]
    )
    return spark.createDataFrame(list(zip(subjects, times, strict=True)), schema)


def _events(spark: Any) -> Any:
    events = tables.to_arrow(
        [("a", lawful.ConsentGiven(at=datetime(2025, 3, 1, tzinfo=UTC), purpose="analytics"))]
    )
    return _frame(spark, events)


JAN = datetime(2025, 1, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("subjects", "times", "error", "message"),
    [
        ([None], [JAN], lawful.TableError, "hits: a row with subject None"),
        ([""], [JAN], lawful.TableError, "hits: a row with subject ''"),
        (["a"], [None], lawful.TableError, "the row of subject 'a' with a null collected_at"),
        (
            ["a", "b"],
            [JAN, datetime(2030, 1, 1, tzinfo=UTC)],
            lawful.QueryError,
            "the row of subject 'b' collected at 2030-01-01T00:00:00+00:00, after at",
        ),
    ],
)
def test_a_bad_hit_is_refused_naming_the_row(
    spark: Any, subjects: list[str | None], times: list[datetime | None], error: type, message: str
) -> None:
    """A hit no decision can use stops the sweep with a lawful error naming the row."""
    with pytest.raises(error, match=re.escape(message)):
        spark_sweep(
            POLICY, _events(spark), _hits(spark, subjects, times), purpose="analytics", at=AT
        )


def test_a_bad_event_row_is_the_lawful_error_naming_its_subject(spark: Any) -> None:
    """An event row that is no valid event fails the sweep with its EventError, not a stack."""
    from pyspark.sql import types as T  # noqa: N812, PLC0415

    schema = T.StructType(
        [
            T.StructField("subject", T.StringType()),
            T.StructField("type", T.StringType()),
            T.StructField("at", T.StringType()),
            T.StructField("purpose", T.StringType()),
        ]
    )
    events = spark.createDataFrame(
        [("a", "consent_given", "2025-03-01T00:00:00", "analytics")], schema
    )
    with pytest.raises(lawful.NaiveDatetimeError, match="events of subject 'a'"):
        spark_sweep(POLICY, events, _hits(spark, ["a"], [JAN]), purpose="analytics", at=AT)
    events = spark.createDataFrame([("b", "consent_given", "2025-03-01T00:00:00Z", None)], schema)
    with pytest.raises(lawful.EventError, match=r"events of subject 'b'\[0\]: consent_given"):
        spark_sweep(POLICY, events, _hits(spark, ["a"], [JAN]), purpose="analytics", at=AT)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda h: h.withColumnRenamed("collected_at", "ts"), lawful.TableError, "no column"),
        (lambda h: h.withColumn("allowed", h.subject), lawful.TableError, "already"),
        (
            lambda h: h.withColumn("collected_at", h.collected_at.cast("timestamp_ntz")),
            lawful.NaiveDatetimeError,
            "TIMESTAMP_NTZ",
        ),
        (
            lambda h: h.withColumn("collected_at", h.collected_at.cast("string")),
            lawful.TableError,
            "expected timestamps",
        ),
        (lambda h: h.withColumn("subject", h.subject.cast("int")), lawful.TableError, "as text"),
    ],
)
def test_hits_of_the_wrong_shape_are_refused(
    spark: Any, change: Any, error: type, message: str
) -> None:
    """Columns missing, taken or of the wrong type are refused before any job runs."""
    hits = change(_hits(spark, ["a"], [JAN]))
    with pytest.raises(error, match=message):
        spark_sweep(POLICY, _events(spark), hits, purpose="analytics", at=AT)


def test_events_with_an_unknown_column_are_refused(spark: Any) -> None:
    """A typo in an events column would drop a field from every row: refused."""
    events = _events(spark).withColumnRenamed("purpose", "purpsoe")
    with pytest.raises(lawful.TableError, match="unknown column 'purpsoe'"):
        spark_sweep(POLICY, events, _hits(spark, ["a"], [JAN]), purpose="analytics", at=AT)


def test_a_naive_at_is_refused(spark: Any) -> None:
    """As for every decision, the instant of processing needs a zone."""
    with pytest.raises(lawful.NaiveDatetimeError):
        spark_sweep(
            POLICY,
            _events(spark),
            _hits(spark, ["a"], [JAN]),
            purpose="analytics",
            at=datetime(2025, 6, 1),
        )
