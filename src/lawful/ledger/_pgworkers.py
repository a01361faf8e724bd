"""Verifying a PostgreSQL ledger's shards in worker processes (``verify(workers=N)``).

Checking a record is Python work (JSON, three HMACs, a decryption) that holds the
interpreter's global lock, so threads overlap only the server's part: measured, two
threads verified no faster than one. Each worker here is a process of its own
(``python -m lawful.ledger._pgworkers``), with one connection, that verifies the shards it
is given, each in a repeatable-read snapshot of its own, exactly as
:func:`lawful.ledger._pgshards.verify_shard` does in the ledger's process.

Started with :mod:`subprocess`, not :mod:`multiprocessing`: a spawned interpreter would
import the host's ``__main__`` again (running its top-level code), and a forked one would
inherit the host's threads and connections. The DSN and the ledger's derived keys travel
on the worker's standard input (never its command line, which every user of the machine
may read); results come back on its standard output, one JSON line per shard. The worker
writes nothing else: its errors come back as results, and its standard error is
discarded, so no message can echo the DSN outside the ledger's own scrubbing.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
from collections.abc import Sequence
from typing import IO

__all__ = ["Task", "WorkerFailure", "run_workers"]

_MODULE = "lawful.ledger._pgworkers"


class WorkerFailure(Exception):  # noqa: N818 - a result carried back, not raised to callers
    """What a worker reported for a shard that did not verify, or could not be read."""

    def __init__(
        self, message: str, *, integrity: bool, record: int | None, problems: Sequence[str]
    ) -> None:
        super().__init__(message)
        self.integrity = integrity
        self.record = record
        self.problems = tuple(problems)


Task = tuple[int, int, int | None]
"""A shard, the count it resumes after, and its anchored count (or ``None``)."""
Result = tuple[int, bytes, bytes | None]


def run_workers(
    setup: dict[str, object], tasks: Sequence[Task], workers: int
) -> dict[int, Result | WorkerFailure]:
    """Verify each task's shard in one of ``workers`` processes; every shard's outcome.

    Shards are handed out one at a time, so a worker that finishes a small shard takes
    the next: the run lasts about as long as the slowest worker's share.

    Raises:
        OSError: A worker could not be started, or ended without answering.
    """
    pending = list(reversed(tasks))
    outcomes: dict[int, Result | WorkerFailure] = {}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    procs: list[subprocess.Popen[bytes]] = []
    selector = selectors.DefaultSelector()
    try:
        for _ in range(min(workers, len(tasks))):
            proc = subprocess.Popen(  # noqa: S603 - this interpreter, a module of ours
                [sys.executable, "-m", _MODULE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=env,
            )
            procs.append(proc)
            stdin = _pipe(proc.stdin)
            stdin.write(json.dumps(setup).encode("ascii") + b"\n")
            _hand_out(stdin, pending)
            selector.register(_pipe(proc.stdout), selectors.EVENT_READ, proc)
        while len(outcomes) < len(tasks):
            if not selector.get_map():
                raise OSError("a verify worker ended without answering")
            for found, _ in selector.select():
                proc = found.data
                line = _pipe(proc.stdout).readline()
                if not line:
                    selector.unregister(found.fileobj)
                    continue
                shard, outcome = _decode(line)
                outcomes[shard] = outcome
                _hand_out(_pipe(proc.stdin), pending)
    finally:
        selector.close()
        for proc in procs:
            _close(proc)
    return outcomes


def _pipe(stream: IO[bytes] | None) -> IO[bytes]:
    if stream is None:  # pragma: no cover - every pipe is asked for
        raise OSError("a verify worker has no pipe")
    return stream


def _hand_out(stdin: IO[bytes], pending: list[Task]) -> None:
    """The next shard to a worker, or the end of its input once none is left."""
    if pending:
        stdin.write(json.dumps(pending.pop()).encode("ascii") + b"\n")
        stdin.flush()
    else:
        stdin.close()


def _close(proc: subprocess.Popen[bytes]) -> None:
    for stream in (proc.stdin, proc.stdout):
        if stream is not None and not stream.closed:
            stream.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _decode(line: bytes) -> tuple[int, Result | WorkerFailure]:
    data = json.loads(line)
    shard = int(data["shard"])
    if "ok" in data:
        count, mac, anchored = data["ok"]
        at = None if anchored is None else bytes.fromhex(anchored)
        return shard, (int(count), bytes.fromhex(mac), at)
    return shard, WorkerFailure(
        str(data["message"]),
        integrity=bool(data["integrity"]),
        record=data.get("record"),
        problems=[str(p) for p in data.get("problems", ())],
    )


# -- the worker ------------------------------------------------------------------------


def _serve(stdin: IO[bytes], stdout: IO[bytes]) -> None:
    """Read the setup, then verify each shard named, answering one line per shard."""
    import psycopg  # noqa: PLC0415 - the worker's own imports, not the host's

    from lawful.exceptions import LedgerIntegrityError  # noqa: PLC0415
    from lawful.ledger._chain import LedgerKey  # noqa: PLC0415
    from lawful.ledger._pgcrypt import Crypt  # noqa: PLC0415
    from lawful.ledger._pgshards import verify_shard  # noqa: PLC0415
    from lawful.ledger._pgsql import Queries  # noqa: PLC0415
    from lawful.ledger._pgview import Reader  # noqa: PLC0415

    setup = json.loads(stdin.readline())
    chain, subject, event_id, check = (bytes.fromhex(k) for k in setup["key"])
    key = LedgerKey(chain=chain, subject=subject, event_id=event_id, check=check)
    shards = int(setup["shards"])
    crypt = Crypt(key, enabled=bool(setup["enabled"]), plaintext=bool(setup["plaintext"]))
    queries = Queries.build(str(setup["schema"]), vacuum_full=False, shards=shards)
    conn: psycopg.Connection[tuple[object, ...]] | None = None

    def answer(shard: int, **data: object) -> None:
        stdout.write(json.dumps({"shard": shard, **data}).encode("ascii") + b"\n")
        stdout.flush()

    for line in stdin:
        shard, since, anchor = json.loads(line)
        try:
            if conn is None or conn.closed or conn.broken:
                conn = psycopg.connect(str(setup["dsn"]), autocommit=True, prepare_threshold=None)
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            reader = Reader(conn, queries, crypt, shards)
            count, mac, anchored = verify_shard(key, reader, shard, since=since, anchor=anchor)
            conn.execute("COMMIT")
            answer(shard, ok=[count, mac.hex(), None if anchored is None else anchored.hex()])
        except LedgerIntegrityError as exc:
            answer(
                shard,
                message=str(exc),
                integrity=True,
                record=exc.record,
                problems=list(exc.problems),
            )
        except Exception as exc:  # noqa: BLE001 - every failure is the parent's to raise
            answer(shard, message=str(exc), integrity=False)
        finally:
            if conn is not None and not conn.closed and conn.info.transaction_status:
                try:
                    conn.execute("ROLLBACK")
                except psycopg.Error:
                    conn.close()


def main(stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> None:
    """The worker's entry point (``python -m lawful.ledger._pgworkers``)."""
    _serve(stdin or sys.stdin.buffer, stdout or sys.stdout.buffer)


if __name__ == "__main__":
    main()
