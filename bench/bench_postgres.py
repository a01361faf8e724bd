"""The PostgreSQL ledger benchmark: appends per second with 8 concurrent writers (and with
one), the time to load a 1,000-event subject (from the server, revalidated, cached), and
the cost of verify and erase.

Run it with ``LAWFUL_POSTGRES_DSN`` set (``eval "$(bash .ci/postgres.sh)"`` starts a local
server) as ``python bench/bench_postgres.py`` (``--quick`` for smaller sizes) or as part of
``nox -s bench``; without the variable it says so and stops. Each writer is a process of
its own with its own connections, as the machines of a service would be; they start
together and the rate is every event over the time from the first start to the last end.
Every figure is wall-clock time (round trips and the server's WAL flushes are what is
measured), the median of ``--repeat`` runs. Each run uses a new schema, dropped after.
Results go to bench/results/postgres.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import machine, table

from lawful import ConsentGiven, ConsentMethod, Event, Interaction

RESULTS = Path(__file__).parent / "results" / "postgres.json"
KEY = bytes(range(32))
T0 = datetime(2025, 3, 1, tzinfo=UTC)
WRITERS = 8


def event(n: int) -> Event:
    at = T0 + timedelta(seconds=n)
    if n % 3:
        return Interaction(at=at, kind="page_view", purpose="analytics", id=f"e-{n}")
    return ConsentGiven(
        at=at,
        purpose="analytics",
        policy_version="2025-01",
        method=ConsentMethod.BANNER,
        id=f"e-{n}",
    )


@contextmanager
def schema(dsn: str) -> Iterator[str]:
    """A new schema name, dropped with everything in it afterwards."""
    import psycopg  # noqa: PLC0415 - optional extra: the script skips politely without a server
    from psycopg import sql  # noqa: PLC0415 - same

    name = f"lawful_bench_{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def open_ledger(dsn: str, name: str, **options: object):
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    return PostgresLedger(dsn, key=KEY, schema=name, **options)


def writer(dsn: str, name: str, worker: int, count: int, batch: int, start, out) -> None:
    """One writer process: ``count`` events, ``batch`` per transaction, after the barrier."""
    with open_ledger(dsn, name, listen=False) as ledger:
        items = [(f"w{worker}-subject-{n % 50}", event(n)) for n in range(count)]
        start.wait()
        began = time.monotonic()
        if batch == 1:
            for subject, item in items:
                ledger.append(subject, item)
        else:
            for i in range(0, count, batch):
                ledger.append_batch(items[i : i + batch])
        out.put((began, time.monotonic()))


def events_per_second(dsn: str, writers: int, count: int, batch: int) -> float:
    """Events stored per second by ``writers`` processes of ``count`` events each."""
    context = multiprocessing.get_context("spawn")
    with schema(dsn) as name:
        open_ledger(dsn, name, listen=False).close()  # the schema exists before the race
        start = context.Barrier(writers)
        out = context.Queue()
        processes = [
            context.Process(target=writer, args=(dsn, name, w, count, batch, start, out))
            for w in range(writers)
        ]
        for process in processes:
            process.start()
        spans = [out.get(timeout=600) for _ in processes]
        for process in processes:
            process.join()
            if process.exitcode != 0:
                raise SystemExit(f"a writer failed with exit code {process.exitcode}")
        with open_ledger(dsn, name, listen=False) as ledger:
            assert ledger.verify().count == writers * count
    return writers * count / (max(end for _, end in spans) - min(began for began, _ in spans))


def median_of(repeat: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(repeat))


def seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def subject_figures(dsn: str, others: int, repeat: int) -> dict[str, float]:
    """Load, revalidate and cache-hit times of a 1,000-event subject, verify and erase."""
    with schema(dsn) as name:
        with open_ledger(dsn, name, listen=False) as ledger:
            items = [("the-subject", event(n)) for n in range(1_000)]
            items += [(f"other-{n % 500}", event(1_000 + n)) for n in range(others)]
            items.sort(key=lambda pair: pair[1].at.timestamp() % 7)  # interleave the subjects
            for i in range(0, len(items), 1000):
                ledger.append_batch(items[i : i + 1000])
        runs = repeat * 5
        with open_ledger(dsn, name, listen=False, cache_size=0) as uncached:
            uncached.subject("the-subject")  # warm the server's buffers, as a service is
            load = seconds(lambda: uncached.subject("the-subject"), runs)
        with open_ledger(dsn, name, listen=False, max_staleness=0.0) as strict:
            strict.subject("the-subject")
            revalidate = seconds(lambda: strict.subject("the-subject"), runs)
        with open_ledger(dsn, name, listen=False, max_staleness=3600.0) as cached:
            cached.subject("the-subject")
            hit = seconds(lambda: cached.subject("the-subject"), runs * 100)
        with open_ledger(dsn, name, listen=False) as ledger:
            head = ledger.head()
            verify = seconds(ledger.verify, repeat)
            erase = seconds(lambda: ledger.erase("the-subject"), 1)
    return {
        "records": head.count,
        "load_1000_ms": load * 1000,
        "revalidate_1000_ms": revalidate * 1000,
        "cache_hit_1000_us": hit * 1e6,
        "verify_records_per_s": head.count / verify,
        "erase_1000_ms": erase * 1000,
    }


def server(dsn: str) -> dict[str, str]:
    import psycopg  # noqa: PLC0415 - optional extra

    with psycopg.connect(dsn, autocommit=True) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])
            for name in ("server_version", "synchronous_commit", "fsync", "shared_buffers")
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure")
    args = parser.parse_args()
    dsn = os.environ.get("LAWFUL_POSTGRES_DSN", "").strip()
    if not dsn:
        print(
            "bench_postgres.py: skipped, LAWFUL_POSTGRES_DSN is not set "
            '(start a local server with: eval "$(bash .ci/postgres.sh)")'
        )
        return
    repeat = args.repeat or (1 if args.quick else 3)
    per_writer = {1: 50, 10: 300, 100: 1_000} if args.quick else {1: 250, 10: 1_500, 100: 5_000}
    others = 5_000 if args.quick else 20_000

    rates: dict[str, dict[str, float]] = {}
    for writers in (1, WRITERS):
        rates[f"{writers}_writers"] = {
            f"batch_{batch}": median_of(
                repeat,
                lambda writers=writers, batch=batch, count=count: events_per_second(
                    dsn, writers, count, batch
                ),
            )
            for batch, count in per_writer.items()
        }
    subjects = subject_figures(dsn, others, repeat)

    rows = [
        [name.replace("_", " "), *(f"{rate[f'batch_{b}']:,.0f}" for b in per_writer)]
        for name, rate in rates.items()
    ]
    print(table(["writers", *(f"events/s ({b} per txn)" for b in per_writer)], rows))
    print()
    print(
        table(
            ["1,000-event subject", "time"],
            [
                ["load from the server (no cache)", f"{subjects['load_1000_ms']:.1f} ms"],
                ["revalidate (max_staleness=0)", f"{subjects['revalidate_1000_ms']:.2f} ms"],
                ["cache hit", f"{subjects['cache_hit_1000_us']:.1f} us"],
                ["verify", f"{subjects['verify_records_per_s']:,.0f} records/s"],
                ["erase (with VACUUM)", f"{subjects['erase_1000_ms']:.0f} ms"],
            ],
        )
    )
    print(f"\nsubject among {subjects['records']:,.0f} records; medians of {repeat}")
    payload = {
        "machine": machine(),
        "server": server(dsn),
        "sizes": {"per_writer": per_writer, "others": others, "repeat": repeat},
        "appends": rates,
        "subjects": subjects,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    sys.exit(main())
