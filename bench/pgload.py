"""A short load test of the PostgreSQL ledger on loopback: appends per second with 1, 4
and 8 writer processes (one event per transaction) next to the floor of raw one-row
``INSERT`` transactions, the latency of an uncached subject read and the verify rate.

Bounded in count (``--count`` events per writer) and so in time (well under a minute on
the development machine); run it as ``nox -s pgload`` or ``python bench/pgload.py`` with
``LAWFUL_POSTGRES_DSN`` set. Each run uses a schema of its own, dropped after. The
figures go to stdout only: the committed ones are in ``docs/postgres.md``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time

from bench_postgres import event, events_per_second, open_ledger, schema

PAYLOAD = b"x" * 200  # about the size of a stored consent record


def raw_writer(dsn: str, name: str, count: int, start, out) -> None:
    """One process of plain autocommit one-row INSERTs: what the server alone costs."""
    import psycopg  # noqa: PLC0415 - optional extra
    from psycopg import sql  # noqa: PLC0415 - same

    insert = sql.SQL("INSERT INTO {}.raw (payload) VALUES (%s)").format(sql.Identifier(name))
    with psycopg.connect(dsn, autocommit=True) as conn:
        start.wait()
        began = time.monotonic()
        for _ in range(count):
            conn.execute(insert, (PAYLOAD,))
        out.put((began, time.monotonic()))


def raw_per_second(dsn: str, writers: int, count: int) -> float:
    import psycopg  # noqa: PLC0415 - optional extra
    from psycopg import sql  # noqa: PLC0415 - same

    context = multiprocessing.get_context("spawn")
    with schema(dsn) as name, psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE TABLE {}.raw (id bigserial PRIMARY KEY, payload bytea)").format(
                sql.Identifier(name)
            )
        )
        start, out = context.Barrier(writers), context.Queue()
        processes = [
            context.Process(target=raw_writer, args=(dsn, name, count, start, out))
            for _ in range(writers)
        ]
        for process in processes:
            process.start()
        spans = [out.get(timeout=120) for _ in processes]
        for process in processes:
            process.join()
    return writers * count / (max(e for _, e in spans) - min(b for b, _ in spans))


def reads_and_verify(dsn: str, reads: int) -> tuple[float, float, float]:
    """Median and 95th percentile of an uncached 20-event subject read (ms), and the
    records verified per second, on a ledger of 2,000 records.
    """
    with schema(dsn) as name, open_ledger(dsn, name, listen=False, cache_size=0) as ledger:
        items = [(f"subject-{n % 100}", event(n)) for n in range(2000)]
        for i in range(0, len(items), 100):
            ledger.append_batch(items[i : i + 100])
        times = []
        for n in range(reads):
            began = time.perf_counter()
            ledger.subject(f"subject-{n % 100}")
            times.append((time.perf_counter() - began) * 1000)
        began = time.perf_counter()
        count = ledger.verify().count
        rate = count / (time.perf_counter() - began)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95)], rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=150, help="events per writer")
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    dsn = os.environ.get("LAWFUL_POSTGRES_DSN", "").strip()
    if not dsn:
        sys.exit('pgload needs LAWFUL_POSTGRES_DSN: eval "$(bash .ci/postgres.sh)"')
    print("| writers | lawful appends/s (1 per transaction) | raw one-row INSERTs/s |")
    print("| --- | ---: | ---: |")
    for writers in (1, 4, 8):
        lawful = events_per_second(dsn, writers, args.count, 1)
        raw = raw_per_second(dsn, writers, args.count)
        print(f"| {writers} | {lawful:,.0f} | {raw:,.0f} |", flush=True)
    median, p95, rate = reads_and_verify(dsn, args.reads)
    print(f"\nuncached subject read (20 events): median {median:.2f} ms, p95 {p95:.2f} ms")
    print(f"verify: {rate:,.0f} records/s")


if __name__ == "__main__":
    main()
