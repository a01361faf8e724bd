"""A short load test of the PostgreSQL ledger on loopback: appends per second and their
p50/p99 latency with 1, 4 and 8 writer processes (one event per transaction, each event a
new visitor, as banner choices arrive) next to the floor of raw one-row ``INSERT``
transactions of the same rows into a table with the same indexes; a batch append; the
latency of an uncached subject read; the verify rate (one worker and several, and
resumed from a checkpoint); and what encrypting each subject's events costs, a ledger in
clear and an encrypted one side by side (``--encryption`` runs only that part).

Bounded in count (``--count`` events per writer) and so in time (about a minute on the
development machine); run it as ``nox -s pgload`` or ``python bench/pgload.py`` with
``LAWFUL_POSTGRES_DSN`` set. Each run uses schemas of its own, dropped after. The figures
go to stdout only: the committed ones are in ``docs/postgres.md``.

A laptop's or CI machine's disk may flush a commit in tens of microseconds, where a
server's takes milliseconds: to see what a real commit costs, emulate one on the server
(as a superuser; ``docs/postgres.md`` shows how) with ``commit_delay`` = 2000 and
``commit_siblings`` = 0: each WAL flush then waits 2 ms, and commits that arrive meanwhile
share it, as on a real disk. The settings in force are printed first.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time

from bench_postgres import event, open_ledger, schema

RAW_TABLE = (
    "CREATE TABLE {}.raw (seq bigserial PRIMARY KEY, kind smallint NOT NULL,"
    " subject_tag bytea NOT NULL, id_tag bytea NOT NULL UNIQUE, nonce bytea,"
    " payload bytea, digest bytea NOT NULL, mac bytea NOT NULL, link bigint NOT NULL)"
)
RAW_INDEX = "CREATE INDEX ON {}.raw (subject_tag, seq)"
WARMUP = 5


def raw_writer(dsn: str, name: str, worker: int, count: int, start, out) -> None:
    """One process of plain autocommit one-row INSERTs of a record's shape: the server's
    own cost for the same rows and indexes, with nothing computed or checked.
    """
    import psycopg  # noqa: PLC0415 - optional extra
    from psycopg import sql  # noqa: PLC0415 - same

    insert = sql.SQL(
        "INSERT INTO {}.raw (kind, subject_tag, id_tag, nonce, payload, digest, mac, link)"
        " VALUES (0, %s, %s, %s, %s, %s, %s, 0)"
    ).format(sql.Identifier(name))
    payload = b"x" * 300  # about a consent record's canonical JSON

    def row(n: int) -> tuple[bytes, ...]:
        tag = os.urandom(32)
        return (tag, f"{worker}-{n}".encode().ljust(32), os.urandom(16), payload, tag, tag)

    with psycopg.connect(dsn, autocommit=True) as conn:
        for n in range(WARMUP):
            conn.execute(insert, row(-1 - n))
        start.wait()
        began = time.monotonic()
        latencies = []
        for n in range(count):
            t = time.perf_counter()
            conn.execute(insert, row(n))
            latencies.append(time.perf_counter() - t)
        out.put((began, time.monotonic(), latencies))


def lawful_writer(dsn: str, name: str, worker: int, count: int, start, out) -> None:
    """One writer process of the ledger: one event per ``append``, each a new visitor."""
    with open_ledger(dsn, name, listen=False) as ledger:
        for n in range(WARMUP):
            ledger.append(f"w{worker}-warm-{n}", event(1_000_000 + n))
        items = [(f"w{worker}-visitor-{n}", event(n)) for n in range(count)]
        start.wait()
        began = time.monotonic()
        latencies = []
        for subject, item in items:
            t = time.perf_counter()
            ledger.append(subject, item)
            latencies.append(time.perf_counter() - t)
        out.put((began, time.monotonic(), latencies))


def race(dsn: str, name: str, target, writers: int, count: int) -> tuple[float, float, float]:
    """Appends per second, p50 and p99 latency (ms) of ``writers`` processes."""
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(writers), context.Queue()
    processes = [
        context.Process(target=target, args=(dsn, name, w, count, start, out))
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    results = [out.get(timeout=300) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a writer failed with exit code {process.exitcode}")
    span = max(end for _, end, _ in results) - min(began for began, _, _ in results)
    latencies = sorted(x * 1000 for _, _, lat in results for x in lat)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return writers * count / span, statistics.median(latencies), p99


def raw(dsn: str, writers: int, count: int) -> tuple[float, float, float]:
    import psycopg  # noqa: PLC0415 - optional extra
    from psycopg import sql  # noqa: PLC0415 - same

    with schema(dsn) as name, psycopg.connect(dsn, autocommit=True) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        conn.execute(sql.SQL(RAW_TABLE).format(ident))
        conn.execute(sql.SQL(RAW_INDEX).format(ident))
        return race(dsn, name, raw_writer, writers, count)


def lawful(dsn: str, writers: int, count: int, shards: int) -> tuple[float, float, float]:
    with schema(dsn) as name:
        open_ledger(dsn, name, listen=False, shards=shards).close()  # exists before the race
        figures = race(dsn, name, lawful_writer, writers, count)
        with open_ledger(dsn, name, listen=False) as ledger:
            assert ledger.verify().count == writers * (count + WARMUP)
        return figures


def batches(dsn: str, shards: int, total: int, size: int) -> float:
    """Events per second of one writer loading ``total`` events ``size`` per append_batch."""
    with schema(dsn) as name, open_ledger(dsn, name, listen=False, shards=shards) as ledger:
        items = [(f"visitor-{n % (total // 4)}", event(n)) for n in range(total)]
        began = time.perf_counter()
        for i in range(0, total, size):
            ledger.append_batch(items[i : i + size])
        return total / (time.perf_counter() - began)


def reads_and_verify(dsn: str, reads: int, shards: int, records: int) -> dict[str, float]:
    """Uncached 20-event subject reads (median, p95 in ms) and verify rates (records/s)."""
    with (
        schema(dsn) as name,
        open_ledger(dsn, name, listen=False, cache_size=0, shards=shards) as ledger,
    ):
        subjects = records // 20
        items = [(f"subject-{n % subjects}", event(n)) for n in range(records)]
        for i in range(0, len(items), 500):
            ledger.append_batch(items[i : i + 500])
        times = []
        for n in range(reads):
            began = time.perf_counter()
            ledger.subject(f"subject-{n % subjects}")
            times.append((time.perf_counter() - began) * 1000)
        out: dict[str, float] = {}
        for workers in (1, 2):
            began = time.perf_counter()
            head = ledger.verify(workers=workers)
            out[f"verify, {workers} worker(s)"] = head.count / (time.perf_counter() - began)
        ledger.append_batch([(f"subject-{n}", event(records + n)) for n in range(200)])
        began = time.perf_counter()
        ledger.verify(since=head)
        out["verify since a checkpoint (200 new records), ms"] = (
            time.perf_counter() - began
        ) * 1000
    times.sort()
    out["read median, ms"] = statistics.median(times)
    out["read p95, ms"] = times[int(len(times) * 0.95)]
    return out


def encryption_run(dsn: str, encrypt: bool, shards: int, count: int, records: int) -> dict:
    """One ledger, in clear or encrypted: single appends (wall and client CPU per append),
    uncached reads of 20-event subjects, verify, and erasing 20-event subjects.
    """
    out: dict[str, float] = {}
    with (
        schema(dsn) as name,
        open_ledger(
            dsn, name, listen=False, cache_size=0, shards=shards, encrypt=encrypt
        ) as ledger,
    ):
        # Appends: each subject gets four events (the first of each class makes its keys).
        items = [(f"visitor-{n // 4}", event(n)) for n in range(count)]
        wall, cpu = time.perf_counter(), time.process_time()
        for subject, item in items:
            ledger.append(subject, item)
        out["append, ms"] = (time.perf_counter() - wall) * 1000 / count
        out["append, client CPU ms"] = (time.process_time() - cpu) * 1000 / count
        subjects = records // 20
        bulk = [(f"subject-{n % subjects}", event(count + n)) for n in range(records)]
        began = time.perf_counter()
        for i in range(0, len(bulk), 500):
            ledger.append_batch(bulk[i : i + 500])
        out["append_batch of 500, events/s"] = records / (time.perf_counter() - began)
        times = []
        for n in range(200):
            began = time.perf_counter()
            ledger.subject(f"subject-{n % subjects}")
            times.append((time.perf_counter() - began) * 1000)
        out["uncached read of 20 events, median ms"] = statistics.median(times)
        began = time.perf_counter()
        head = ledger.verify()
        out["verify, records/s"] = head.count / (time.perf_counter() - began)
        times = []
        for n in range(20):
            began = time.perf_counter()
            ledger.erase(f"subject-{n}")
            times.append((time.perf_counter() - began) * 1000)
        out["erase a 20-event subject, median ms"] = statistics.median(times)
    return out


def encryption(dsn: str, shards: int, count: int, records: int, repeat: int) -> None:
    """A ledger in clear and an encrypted one, alternating in one run; medians and ratios."""
    runs: dict[bool, list[dict]] = {False: [], True: []}
    for _ in range(repeat):
        for encrypt in (False, True):
            runs[encrypt].append(encryption_run(dsn, encrypt, shards, count, records))
    print(
        f"\nencryption ({count} single appends over {count // 4} subjects, {records:,} records"
        f" read, verified, 20 subjects erased; medians of {repeat}, clear and encrypted"
        " alternating)\n"
    )
    print("| measure | in clear | encrypted | encrypted / clear |")
    print("| --- | ---: | ---: | ---: |")
    for label in runs[False][0]:
        clear = statistics.median(run[label] for run in runs[False])
        sealed = statistics.median(run[label] for run in runs[True])
        print(f"| {label} | {clear:,.2f} | {sealed:,.2f} | {sealed / clear:.2f}x |", flush=True)


def settings(dsn: str) -> str:
    import psycopg  # noqa: PLC0415 - optional extra

    names = ("server_version", "commit_delay", "commit_siblings", "synchronous_commit", "fsync")
    with psycopg.connect(dsn, autocommit=True) as conn:
        values = [conn.execute(f"SHOW {n}").fetchone()[0] for n in names]
    return ", ".join(f"{n}={v}" for n, v in zip(names, values, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200, help="events per writer")
    parser.add_argument("--shards", type=int, default=16, help="shards of the ledgers made")
    parser.add_argument("--reads", type=int, default=300)
    parser.add_argument("--records", type=int, default=20_000, help="records to verify")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs of each measurement, lawful and raw alternating; medians are printed",
    )
    parser.add_argument(
        "--encryption",
        action="store_true",
        help="only the cost of encryption: a ledger in clear and an encrypted one",
    )
    args = parser.parse_args()
    dsn = os.environ.get("LAWFUL_POSTGRES_DSN", "").strip()
    if not dsn:
        sys.exit('pgload needs LAWFUL_POSTGRES_DSN: eval "$(bash .ci/postgres.sh)"')
    print(f"server: {settings(dsn)}; {os.cpu_count()} CPUs; ledger shards={args.shards}\n")
    if args.encryption:
        encryption(dsn, args.shards, args.count, args.records, args.repeat)
        return
    print("| writers | lawful appends/s | p50 ms | p99 ms | raw INSERTs/s | p50 ms | p99 ms |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows = {}
    for writers in (1, 4, 8):
        runs = [
            (lawful(dsn, writers, args.count, args.shards), raw(dsn, writers, args.count))
            for _ in range(args.repeat)
        ]
        mine, floor = (
            tuple(statistics.median(run[side][i] for run in runs) for i in range(3))
            for side in (0, 1)
        )
        rows[writers] = (mine, floor)
        print(
            f"| {writers} | {mine[0]:,.0f} | {mine[1]:.1f} | {mine[2]:.1f} "
            f"| {floor[0]:,.0f} | {floor[1]:.1f} | {floor[2]:.1f} |",
            flush=True,
        )
    (one, floor1), (eight, floor8) = rows[1], rows[8]
    print(
        f"\n8 writers / raw floor with 8: {eight[0] / floor8[0]:.2f}x; 8 writers / 1 writer: "
        f"{eight[0] / one[0]:.2f}x; 1 writer / its floor: {one[0] / floor1[0]:.2f}x; "
        f"p99 with 8 / p99 with 1: {eight[2] / one[2]:.2f}x"
    )
    for size in (10, 100):
        rate = batches(dsn, args.shards, 2000, size)
        print(f"one writer, append_batch of {size}: {rate:,.0f} events/s")
    for label, value in reads_and_verify(dsn, args.reads, args.shards, args.records).items():
        print(f"{label}: {value:,.2f}" if "ms" in label else f"{label}: {value:,.0f} records/s")
    encryption(dsn, args.shards, args.count, args.records, args.repeat)


if __name__ == "__main__":
    main()
