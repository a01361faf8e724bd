"""Decisions over tables: ``lawful.tables.spans`` and ``sweep`` against a plain DuckDB join.

Targets (issue 17, one core, one run): ``spans`` >= 100,000 subjects/s at 20 events; a
``sweep`` of 10 million hits over 100,000 subjects <= 2x a hand-written DuckDB ASOF join
of the same size that checks consent only. DuckDB runs on one thread for both sides.
Sizes are options (``--quick``: a smoke run). Results go to bench/results/tables.json and
bench/results/tables.md. The ASOF join implements one rule (the latest consent event at
or before the collection is a grant); lawful applies all of them (consent at collection
and now, withdrawal since, retention, erasure, ...), so the answers differ by design and
are not compared; lawful's own laws check its answers (tests/properties).
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import harness
import pyarrow as pa
import pyarrow.compute as pc
from harness import table

import lawful
from lawful import ConsentGiven, ConsentWithdrawn, Event, Interaction, tables
from lawful.tables import _duck
from lawful.tables._core import point_decider

RESULTS = Path(__file__).parent / "results"
START = datetime(2024, 1, 1, tzinfo=UTC)
AT = datetime(2025, 6, 1, tzinfo=UTC)
YEAR_S = 365 * 86_400
PURPOSE = "analytics"


def histories(subjects: int, per: int, seed: int) -> list[tuple[str, Event]]:
    """``per`` events a subject: consents given and withdrawn, page views, over a year."""
    rng = random.Random(seed)
    pairs: list[tuple[str, Event]] = []
    for i in range(subjects):
        sid = f"visitor-{i:07d}"
        for _ in range(per):
            t = START + timedelta(seconds=rng.randrange(YEAR_S))
            r = rng.random()
            if r < 0.25:
                pairs.append(
                    (sid, ConsentGiven(at=t, purpose=PURPOSE, method=lawful.ConsentMethod.BANNER))
                )
            elif r < 0.35:
                pairs.append((sid, ConsentWithdrawn(at=t, purpose=PURPOSE)))
            else:
                pairs.append((sid, Interaction(at=t, kind="page_view")))
    return pairs


def hits_table(subjects: int, count: int, seed: int) -> pa.Table:
    """``count`` hits spread evenly over the subjects, collected over the year."""
    rng = random.Random(seed)
    owners = [f"visitor-{i % subjects:07d}" for i in range(count)]
    start_us = int(START.timestamp()) * 1_000_000
    stamps = [start_us + rng.randrange(YEAR_S) * 1_000_000 for _ in range(count)]
    return pa.table(
        {
            "subject": pa.array(owners, pa.string()),
            "collected_at": pa.array(stamps, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        }
    )


def asof_baseline(events: pa.Table, hits: pa.Table) -> tuple[pa.Table, float, float]:
    """The hand-written join: per hit, the latest consent event at or before collection;
    with its wall-clock and CPU seconds.
    """
    con = duckdb.connect(":memory:", config={"threads": 1})
    consents = events.filter(
        pc.is_in(events.column("type"), pa.array(["consent_given", "consent_withdrawn"]))
    )
    con.register("events", consents.select(["subject", "type", "at"]))
    con.register(
        "hits",
        hits.append_column("row", pa.array(range(hits.num_rows), pa.int64())),
    )
    began, cpu = time.perf_counter(), time.process_time()
    con.execute(
        'CREATE TEMP TABLE consents AS SELECT subject, CAST("at" AS TIMESTAMPTZ) AS t, '
        "type = 'consent_given' AS granted FROM events"
    )
    out = _duck._table(
        con.sql(
            "SELECT h.subject, h.collected_at, coalesce(c.granted, false) AS allowed "
            "FROM hits h ASOF LEFT JOIN consents c "
            "ON h.subject = c.subject AND h.collected_at >= c.t ORDER BY h.row"
        )
    )
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    con.close()
    return out, elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=100_000, help="subjects in the sweep")
    parser.add_argument("--hits", type=int, default=10_000_000, help="hits in the sweep")
    parser.add_argument("--events", type=int, default=20, help="events per subject")
    parser.add_argument("--span-subjects", type=int, default=20_000, help="subjects for spans")
    parser.add_argument("--quick", action="store_true", help="a smoke run: small sizes")
    parser.add_argument(
        "--medium", action="store_true", help="1M hits / 10,000 subjects, 10,000 for spans"
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=RESULTS,
        help="where tables.json and tables.md go (another folder for a side-by-side run)",
    )
    args = parser.parse_args()
    if args.quick:
        args.subjects, args.hits, args.span_subjects = 2_000, 200_000, 2_000
    if args.medium:
        args.subjects, args.hits, args.span_subjects = 10_000, 1_000_000, 10_000
    _duck.THREADS = 1
    policy = lawful.bundled_policy("piwik-pro")

    span_events = tables.to_arrow(histories(args.span_subjects, args.events, seed=1))
    began, cpu = time.perf_counter(), time.process_time()
    spans = tables.spans(policy, span_events, purposes=[PURPOSE], start=START, end=AT)
    spans_s, spans_cpu = time.perf_counter() - began, time.process_time() - cpu

    pairs = histories(args.subjects, args.events, seed=2)
    events = tables.to_arrow(pairs)
    hits = hits_table(args.subjects, args.hits, seed=3)
    _, asof_s, asof_cpu = asof_baseline(events, hits)
    began, cpu = time.perf_counter(), time.process_time()
    swept = tables.sweep(policy, events, hits, purpose=PURPOSE, at=AT)
    sweep_s, sweep_cpu = time.perf_counter() - began, time.process_time() - cpu
    point_began = time.perf_counter()
    small = hits.slice(0, min(hits.num_rows, 200_000))
    point = _duck.sweep(
        policy,
        events,
        small,
        purpose=PURPOSE,
        at=AT,
        decider=point_decider(policy, PURPOSE, AT),
    )
    point_s = time.perf_counter() - point_began
    bounded = _duck.sweep(policy, events, small, purpose=PURPOSE, at=AT)
    assert point.column("code").to_pylist() == bounded.column("code").to_pylist()

    allowed = sum(swept.column("allowed").to_pylist())
    figures: dict[str, object] = {
        "spans_subjects": args.span_subjects,
        "events_per_subject": args.events,
        "spans_rows": spans.num_rows,
        "spans_seconds": round(spans_s, 3),
        "spans_subjects_per_s": round(args.span_subjects / spans_s),
        "sweep_subjects": args.subjects,
        "sweep_hits": args.hits,
        "sweep_seconds": round(sweep_s, 3),
        "sweep_hits_per_s": round(args.hits / sweep_s),
        "sweep_allowed": allowed,
        "asof_seconds": round(asof_s, 3),
        "sweep_over_asof": round(sweep_s / asof_s, 2),
        "point_sweep_hits": small.num_rows,
        "point_sweep_seconds": round(point_s, 3),
        # CPU seconds of this process: on a machine shared with other work they move far
        # less than wall-clock time (DuckDB runs on one thread, in this process).
        "cpu_seconds": {
            "spans": round(spans_cpu, 3),
            "sweep": round(sweep_cpu, 3),
            "asof": round(asof_cpu, 3),
        },
        "cpu_spans_subjects_per_s": round(args.span_subjects / spans_cpu),
        "cpu_sweep_over_asof": round(sweep_cpu / asof_cpu, 2),
        "targets": {"spans_subjects_per_s": 100_000, "sweep_over_asof": 2.0},
        "machine": harness.machine(),
    }
    rows = [
        [
            "spans",
            f"{args.span_subjects:,} subjects x {args.events} events",
            f"{spans_s:.2f} s",
            f"{args.span_subjects / spans_s:,.0f} subjects/s",
            ">= 100,000 subjects/s",
        ],
        [
            "sweep",
            f"{args.hits:,} hits / {args.subjects:,} subjects",
            f"{sweep_s:.2f} s",
            f"{args.hits / sweep_s:,.0f} hits/s",
            "",
        ],
        [
            "DuckDB ASOF (consent only)",
            "same",
            f"{asof_s:.2f} s",
            f"{sweep_s / asof_s:.1f}x (sweep / ASOF)",
            "<= 2x",
        ],
        [
            "sweep, one decision per instant",
            f"{small.num_rows:,} hits",
            f"{point_s:.2f} s",
            "",
            "(the pieces' gain)",
        ],
    ]
    text = table(["what", "size", "time", "rate", "target"], rows)
    print(text)
    args.results.mkdir(exist_ok=True)
    (args.results / "tables.json").write_text(json.dumps(figures, indent=2) + "\n")
    (args.results / "tables.md").write_text(
        table(["what", "size", "time", "rate", "target"], rows, markdown=True) + "\n"
    )


if __name__ == "__main__":
    main()
