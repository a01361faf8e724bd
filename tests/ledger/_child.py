"""Writers in other processes, for the crash and concurrency tests.

``crash(target, key, run, seed, fd)`` (run in a forked child, so that 50 of them do not
pay 50 interpreter start-ups) appends, and now and then erases, in a loop until it is
killed; ``target`` is a SQLite path or ``postgres:SCHEMA:DSN``. After each append or
erasure *returns* it writes one line to ``fd`` with a single ``os.write`` (atomic on a
pipe), so the parent knows exactly what was acknowledged:

- ``A SUBJECT ID``: the event ``ID`` of ``SUBJECT`` is stored;
- ``V SUBJECT``: three events of a victim subject are stored;
- ``E SUBJECT``: the victim was erased.

``python _child.py concurrent TARGET KEYHEX PROCESS THREADS PER_THREAD`` appends
``PER_THREAD`` events from each of ``THREADS`` threads sharing one ledger, mixing
single appends and batches, then prints ``done``.
"""

from __future__ import annotations

import os
import random
import sys
import threading
from datetime import UTC, datetime, timedelta

from lawful import ConsentGiven, Event, Interaction
from lawful.ledger import SQLiteLedger
from lawful.ledger._core import LedgerCore

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def open_ledger(target: str, key: bytes, *, timeout: float = 30.0) -> LedgerCore:
    """The ledger at ``target`` (``Backend.target()``): a SQLite path, or
    ``postgres:SCHEMA:DSN``.
    """
    if target.startswith("postgres:"):
        from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

        _, schema, dsn = target.split(":", 2)
        return PostgresLedger(dsn, key=key, schema=schema)
    return SQLiteLedger(target, key=key, timeout=timeout)


def say(line: str, fd: int = 1) -> None:
    os.write(fd, line.encode() + b"\n")


def crash(path: str, key: bytes, run: int, seed: int, fd: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    ledger = open_ledger(path, key)
    say("ready", fd)
    n = 0
    victims = 0
    while True:
        if rng.random() < 0.05:
            victim = f"victim-{run}-{victims}"
            victims += 1
            ledger.append_batch(
                [
                    (victim, Interaction(at=T0, kind=f"visit {i}", id=f"{victim}-{i}"))
                    for i in range(3)
                ]
            )
            say(f"V {victim}", fd)
            ledger.erase(victim)
            say(f"E {victim}", fd)
            continue
        size = rng.randint(1, 8)
        items: list[tuple[str, Event]] = [
            (
                f"s-{rng.randrange(5)}",
                ConsentGiven(at=T0 + timedelta(seconds=n + i), purpose="a", id=f"r{run}-{n + i}"),
            )
            for i in range(size)
        ]
        n += size
        if size == 1:
            ledger.append(*items[0])
        else:
            ledger.append_batch(items)
        say("\n".join(f"A {subject} {event.id}" for subject, event in items), fd)


def concurrent(path: str, key: bytes, process: int, threads: int, per_thread: int) -> None:
    ledger = open_ledger(path, key, timeout=120)
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            append(thread)
        except BaseException as exc:  # noqa: BLE001 - reported through the exit status
            errors.append(exc)

    def append(thread: int) -> None:
        rng = random.Random(process * 100 + thread)  # noqa: S311 - test data
        done = 0
        while done < per_thread:
            size = min(rng.choice([1, 1, 1, 5, 10]), per_thread - done)
            items: list[tuple[str, Event]] = [
                (
                    f"p{process}-t{thread}-s{(done + i) % 7}",
                    ConsentGiven(at=T0, purpose="a", id=f"p{process}-t{thread}-{done + i}"),
                )
                for i in range(size)
            ]
            if size == 1:
                ledger.append(*items[0])
            else:
                ledger.append_batch(items)
            done += size

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ledger.close()
    if errors:
        sys.exit(f"failed: {errors[0]!r}")
    say("done")


if __name__ == "__main__":
    _, path, key, *numbers = sys.argv[1:]
    values = [int(v) for v in numbers]
    concurrent(path, bytes.fromhex(key), values[0], values[1], values[2])
