"""The ledger benchmark: appends per second (one writer, unbatched and batched), the time
to load a 1,000-event subject, the cost of verify and erase, and a 20-event subject read
(verified) against a bare ``SELECT`` + ``json.loads`` of the same rows.

Run it with ``python bench/bench_ledger.py`` (``--quick`` for smaller sizes) or as part
of ``nox -s bench``. A ledger is I/O: unlike the decision benchmark this one times the
wall clock, and the SQLite file lives in the system's temporary directory (on disk,
``synchronous=FULL``: every committed transaction is flushed). Figures are medians of
``--repeat`` runs, but the read against ``SELECT``: both are timed in interleaved rounds
in this thread's CPU time (harness.py), so that their ratio holds on a loaded machine.
Results go to bench/results/ledger.json.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness import Case, machine, run_interleaved, table

from lawful import ConsentGiven, ConsentMethod, Event, Interaction
from lawful.ledger import MemoryLedger, SQLiteLedger
from lawful.ledger._chain import decode
from lawful.ledger._core import LedgerCore
from lawful.ledger._verify import check_history

RESULTS = Path(__file__).parent / "results" / "ledger.json"
KEY = bytes(range(32))
T0 = datetime(2025, 3, 1, tzinfo=UTC)


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


def median_of(repeat: int, run: Callable[[], float]) -> float:
    return statistics.median(run() for _ in range(repeat))


def appends_per_second(make: Callable[[], LedgerCore], count: int, batch: int) -> float:
    """Events appended per second by one writer, ``batch`` events per transaction."""
    with make() as ledger:
        items = [(f"subject-{n % 100}", event(n)) for n in range(count)]
        start = time.perf_counter()
        if batch == 1:
            for subject, item in items:
                ledger.append(subject, item)
        else:
            for i in range(0, count, batch):
                ledger.append_batch(items[i : i + batch])
        return count / (time.perf_counter() - start)


def filled(make: Callable[[], LedgerCore], subject_events: int, others: int) -> LedgerCore:
    """A ledger holding one subject of ``subject_events`` events among ``others`` others."""
    ledger = make()
    items = [("the-subject", event(n)) for n in range(subject_events)]
    items += [(f"other-{n % 500}", event(subject_events + n)) for n in range(others)]
    items.sort(key=lambda pair: pair[1].at.timestamp() % 7)  # interleave the subjects
    for i in range(0, len(items), 1000):
        ledger.append_batch(items[i : i + 1000])
    return ledger


def seconds(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def verify_cost_us(ledger: LedgerCore, subject: str, repeat: int) -> tuple[float, float]:
    """Microseconds per record to decode a subject's records, and to verify and decode them
    (what every read now does: digest, MAC, tags, links, subject head).
    """
    key = ledger._key
    tag = key.subject_tag(subject)
    with ledger._store.reading() as reader:
        records = reader.by_subject(tag)
        tip = reader.subject_tip(tag)
    head = None if tip is None else tip[:2]
    plain = seconds(lambda: [decode(r) for r in records], repeat * 5) / len(records)
    checked = seconds(lambda: check_history(key, records, head), repeat * 5) / len(records)
    return plain * 1e6, checked * 1e6


def read_over_select(tmp: Path, rounds: int) -> dict[str, float]:
    """``ledger.subject`` of a 20-event subject among 200 others (every record checked and
    decoded, the Subject built) and ``SELECT payload ... ORDER BY seq`` + ``json.loads`` of
    the same rows on a plain connection: medians in microseconds, and their ratio.
    """
    path = tmp / "read.db"
    with SQLiteLedger(path, key=KEY) as ledger:
        items = [(f"other-{n % 200}", event(100 + n)) for n in range(2_000)]
        items += [("the-subject", event(n)) for n in range(20)]
        ledger.append_batch(items)
        tag = ledger._key.subject_tag("the-subject")
        query = "SELECT payload FROM ledger_records WHERE subject_tag = ? ORDER BY seq"
        with sqlite3.connect(path) as connection:

            def select() -> list[object]:
                return [json.loads(row[0]) for row in connection.execute(query, (tag,))]

            read = Case("ledger.subject", ledger.subject, ("the-subject",))
            bare = Case("SELECT + json.loads", select)
            run_interleaved([read, bare], rounds=rounds, sample_ms=3.0)
        connection.close()
    return {
        "subject_20_us": read.median / 1e3,
        "select_20_us": bare.median / 1e3,
        "subject_over_select_20": read.median / bare.median,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--repeat", type=int, default=None, help="runs per figure")
    args = parser.parse_args()
    repeat = args.repeat or (1 if args.quick else 3)
    unbatched = 300 if args.quick else 2_000
    batched = 3_000 if args.quick else 20_000
    others = 5_000 if args.quick else 20_000

    with tempfile.TemporaryDirectory(prefix="lawful-bench-") as tmp:
        counter = iter(range(1_000_000))

        def sqlite() -> LedgerCore:
            return SQLiteLedger(Path(tmp) / f"l{next(counter)}.db", key=KEY)

        def memory() -> LedgerCore:
            return MemoryLedger(key=KEY)

        rates: dict[str, dict[str, float]] = {}
        for name, make in (("sqlite", sqlite), ("memory", memory)):
            rates[name] = {
                "unbatched": median_of(
                    repeat, lambda make=make: appends_per_second(make, unbatched, 1)
                ),
                "batch_100": median_of(
                    repeat, lambda make=make: appends_per_second(make, batched, 100)
                ),
                "batch_1000": median_of(
                    repeat, lambda make=make: appends_per_second(make, batched, 1000)
                ),
            }

        loads: dict[str, dict[str, float]] = {}
        for name, make in (("sqlite", sqlite), ("memory", memory)):
            with filled(make, 1_000, others) as ledger:
                ledger.subject("the-subject")  # warm the page cache, as a running service is
                load = seconds(lambda ledger=ledger: ledger.subject("the-subject"), repeat * 5)
                head = ledger.head()
                decode_us, verified_us = verify_cost_us(ledger, "the-subject", repeat)
                verify = seconds(ledger.verify, repeat)
                erase = seconds(lambda ledger=ledger: ledger.erase("the-subject"), 1)
            loads[name] = {
                "load_1000_ms": load * 1000,
                "verify_records_per_s": head.count / verify,
                "erase_1000_ms": erase * 1000,
                "records": head.count,
                "decode_us_per_record": decode_us,
                "verified_read_us_per_record": verified_us,
            }

        against = read_over_select(Path(tmp), 7 if args.quick else 21)

    rows = [
        [
            name,
            f"{rates[name]['unbatched']:,.0f}",
            f"{rates[name]['batch_100']:,.0f}",
            f"{rates[name]['batch_1000']:,.0f}",
            f"{loads[name]['load_1000_ms']:.1f}",
            f"{loads[name]['verify_records_per_s']:,.0f}",
            f"{loads[name]['erase_1000_ms']:.0f}",
        ]
        for name in rates
    ]
    headers = [
        "ledger",
        "appends/s (1 per txn)",
        "events/s (100 per txn)",
        "events/s (1000 per txn)",
        "load 1,000-event subject (ms)",
        "verify (records/s)",
        "erase 1,000 events (ms)",
    ]
    print(table(headers, rows))
    print(f"\nsubject loaded among {loads['sqlite']['records']:,} records; medians of {repeat}")
    for name, figures in loads.items():
        print(
            f"{name}: reading a record costs {figures['decode_us_per_record']:.1f} us to decode, "
            f"{figures['verified_read_us_per_record']:.1f} us verified and decoded"
        )
    print(
        f"sqlite: a 20-event subject read (verified) costs {against['subject_20_us']:.0f} us, "
        f"{against['subject_over_select_20']:.2f}x a bare SELECT + json.loads of its rows "
        f"({against['select_20_us']:.0f} us; interleaved rounds, medians)"
    )
    payload = {
        "machine": machine(),
        "read_over_select": against,
        "sizes": {"unbatched": unbatched, "batched": batched, "others": others, "repeat": repeat},
        "appends": rates,
        "subjects": loads,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
