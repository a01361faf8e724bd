"""The PostgreSQL ledger in operation: a stalled or vanished writer, a server restart,
errors under contention, erasure by a role that does not own the tables, the connection
cap, oversized records, foreign schemas, DSNs with secrets and a deleted lock row.

One test per finding of the operations review (``docs/postgres.md``, "Operating it"),
each against the real server of ``LAWFUL_POSTGRES_DSN`` and bounded in time: every wait
is a few seconds at most.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
from tests.ledger._backends import KEY, T0
from tests.ledger._postgres import PostgresBackend

from lawful import ConsentGiven
from lawful.exceptions import EventError, LedgerError

if TYPE_CHECKING:
    from lawful.ledger.postgres import PostgresLedger

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[PostgresBackend]:
    """A fresh schema on the test server (a skip without one; a failure under CI)."""
    backend = PostgresBackend(tmp_path)
    yield backend
    backend.cleanup()


def open_ledger(pg: PostgresBackend, dsn: str | None = None, **options: object) -> PostgresLedger:
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    return PostgresLedger(dsn or pg.dsn, key=KEY, schema=pg.schema, **options)  # type: ignore[arg-type]


def consent(n: int, purpose: str = "analytics") -> ConsentGiven:
    return ConsentGiven(at=T0 + timedelta(hours=n), purpose=purpose, id=f"c-{n}")


def in_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(i)`` in ``count`` threads at once; the exceptions they raised."""
    failures: list[BaseException] = []
    start = threading.Barrier(count)

    def run(i: int) -> None:
        start.wait(5)
        try:
            work(i)
        except Exception as exc:  # noqa: BLE001 - collected for the test to judge
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(t.is_alive() for t in threads)
    return failures


def _dsn_with(dsn: str, **params: str) -> str:
    from psycopg.conninfo import make_conninfo  # noqa: PLC0415 - optional extra

    return make_conninfo(dsn, **params)


# -- 1: a stalled writer -----------------------------------------------------------------

STALLED = """
import os, signal, sys
from datetime import UTC, datetime
from lawful import ConsentGiven
from lawful.ledger.postgres import PostgresLedger

def clock():
    # Read under the chain's lock: the writer stops right there, holding it.
    os.kill(os.getpid(), signal.SIGSTOP)
    return datetime.now(UTC)

dsn, schema, key = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
ledger = PostgresLedger(dsn, key=key, schema=schema, clock=clock, hold_timeout=1, listen=False)
ledger.append("s-1", ConsentGiven(at=datetime(2025, 3, 1, tzinfo=UTC), purpose="a", id="stalled"))
"""


def _another_shard(ledger: PostgresLedger, subject: str) -> str:
    """A subject whose shard is not ``subject``'s."""
    from lawful.ledger._chain import LedgerKey, shard_of  # noqa: PLC0415 - test helper

    key = LedgerKey.from_bytes(KEY)
    own = shard_of(key.subject_tag(subject), ledger.shards)
    return next(
        name
        for name in (f"other-{n}" for n in range(1000))
        if shard_of(key.subject_tag(name), ledger.shards) != own
    )


def _stopped(pid: int) -> bool:
    with Path(f"/proc/{pid}/stat").open() as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "T"


def test_finding_1_a_stopped_writer_releases_the_chain_within_hold_timeout(
    pg: PostgresBackend,
) -> None:
    """A writer stopped (SIGSTOP) while it holds the chain's lock is ended by the server
    after ``hold_timeout`` of silence: another writer gets through within the bound,
    and the stopped one, resumed, learns that its append may not be stored.
    """
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc to see that the writer stopped")
    with open_ledger(pg, listen=False, hold_timeout=1, lock_timeout=5) as ledger:
        ledger.append("s-0", consent(0))
        elsewhere = _another_shard(ledger, "s-1")
        child = subprocess.Popen(
            [sys.executable, "-c", STALLED, pg.dsn, pg.schema, KEY.hex()],
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 10
            while not _stopped(child.pid):
                assert child.poll() is None, child.communicate()[1]
                assert time.monotonic() < deadline, "the writer never reached the lock"
                time.sleep(0.01)
            # A subject of another shard is not held up at all.
            started = time.monotonic()
            ledger.append(elsewhere, consent(2))
            unblocked = time.monotonic() - started
            started = time.monotonic()
            ledger.append("s-1", consent(1))
            waited = time.monotonic() - started
        finally:
            child.send_signal(signal.SIGCONT)
            _, err = child.communicate(timeout=10)
        # It waited for the stopped writer (the lock was held), then no longer than
        # hold_timeout (1 s) and a margin for a loaded machine.
        assert 0.3 < waited < 3.5
        assert unblocked < 0.3
        assert child.returncode != 0
        assert "LedgerError" in err
        assert [e.id for e in ledger.events("s-0")] == ["c-0"]
        assert [e.id for e in ledger.events("s-1")] == ["c-1"]
        assert ledger.verify().count == 3


class _FreezingProxy:
    """A TCP relay to the server that, once armed, forwards half of the first large
    chunk a client sends and then nothing more either way: to the server, a client
    stopped half-way through sending a message.
    """

    def __init__(self, host: str, port: int, *, large: int) -> None:
        self._target = (host, port)
        self._large = large
        self.armed = threading.Event()
        self.frozen = threading.Event()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            threading.Thread(target=self._relay, args=(client, server), daemon=True).start()

    def _relay(self, client: socket.socket, server: socket.socket) -> None:
        with client, server:
            while not self._stop.is_set():
                ready, _, _ = select.select([client, server], [], [], 0.1)
                for side in ready:
                    data = side.recv(1 << 20)
                    if not data:
                        return
                    if side is client and self.armed.is_set() and len(data) >= self._large:
                        server.sendall(data[: len(data) // 2])
                        self.frozen.set()
                        self._stop.wait()
                        return
                    (server if side is client else client).sendall(data)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


def test_finding_1_a_writer_stopped_mid_message_releases_the_chain_within_hold_timeout(
    pg: PostgresBackend,
) -> None:
    """A writer whose batch stops half-way through a message (its process stopped, its
    network stalled) while it holds the shard's lock is ended by the server after
    ``hold_timeout`` (measured on PostgreSQL 15: the idle timeout runs while the server
    waits for the rest of a message), and nothing of its batch is stored.
    """
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - optional extra

    server = conninfo_to_dict(pg.dsn)
    proxy = _FreezingProxy(str(server.get("host")), int(str(server.get("port"))), large=256 * 1024)
    relayed = _dsn_with(pg.dsn, host="127.0.0.1", port=str(proxy.port))
    batch = [
        (f"b-{n}", ConsentGiven(at=T0, purpose="p" * 2000, id=f"big-{n}")) for n in range(1500)
    ]
    outcome: list[BaseException | None] = []
    with (
        open_ledger(pg, listen=False, shards=1) as other,
        open_ledger(pg, relayed, listen=False, hold_timeout=1, lock_timeout=20) as stalled,
    ):
        other.append("s-0", consent(0))

        def write() -> None:
            try:
                stalled.append_batch(batch)
                outcome.append(None)
            except LedgerError as exc:
                outcome.append(exc)

        proxy.armed.set()
        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            assert proxy.frozen.wait(20), "the batch never sent a large message"
            started = time.monotonic()
            other.append("s-1", consent(1))
            waited = time.monotonic() - started
        finally:
            proxy.close()
        writer.join(30)
        # It waited for the stalled writer (the lock was held), then no longer than
        # hold_timeout (1 s) and a margin for a loaded machine; never lock_timeout (20 s).
        assert 0.3 < waited < 4
        assert isinstance(outcome[0], LedgerError)
        assert other.verify().count == 2


def test_finding_1_every_connection_asks_for_server_side_keepalives(pg: PostgresBackend) -> None:
    """The server, which holds the lock, probes a silent client after ``hold_timeout``
    seconds and drops it after three unanswered probes (``tcp_user_timeout`` likewise);
    a keepalive in the client's DSN would only set the client's own socket.
    """
    with open_ledger(pg, listen=False, hold_timeout=4) as ledger:
        conn = ledger._pg.acquire()
        try:
            shown = [
                conn.execute(f"SHOW {name}").fetchone()  # constant names
                for name in (
                    "tcp_keepalives_idle",
                    "tcp_keepalives_interval",
                    "tcp_keepalives_count",
                    "tcp_user_timeout",
                )
            ]
        finally:
            ledger._pg.release(conn)
    assert [row[0] if row else None for row in shown] == ["4", "1", "3", "7000"]


# -- 2: a server restart -----------------------------------------------------------------


def test_finding_2_connections_killed_by_the_server_cost_no_failure(pg: PostgresBackend) -> None:
    """When the server ends every pooled connection (as a restart does), the next read,
    append and verify each succeed at once: one dead connection is replaced and the
    other idle ones are dropped with it.
    """
    admin = pg._admin()
    with open_ledger(pg, listen=False, max_staleness=0) as ledger:
        ledger.append("s-1", consent(0))

        def kill_the_pool() -> None:
            held = [ledger._pg.acquire() for _ in range(4)]
            pids = [c.info.backend_pid for c in held]
            for conn in held:
                ledger._pg.release(conn)
            admin.execute("SELECT pg_terminate_backend(p) FROM unnest(%s::int[]) AS p", (pids,))
            deadline = time.monotonic() + 5
            while admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)
            ).fetchone() != (0,):
                assert time.monotonic() < deadline
                time.sleep(0.01)

        kill_the_pool()
        assert len(ledger.subject("s-1").events) == 1
        kill_the_pool()
        ledger.append("s-1", consent(1))
        kill_the_pool()
        assert ledger.verify().count == 2
        kill_the_pool()
        assert [e.id for e in ledger.events("s-1")] == ["c-0", "c-1"]


# -- 3: errors under contention ----------------------------------------------------------


def test_finding_3_lock_timeouts_never_poison_later_statements(pg: PostgresBackend) -> None:
    """With a 2 ms lock timeout and four writers, every failure is a lock timeout
    reported as such; none is a stale prepared statement, and the ledger verifies.
    """
    with open_ledger(pg, listen=False, max_staleness=0, lock_timeout=0.002) as ledger:

        def work(i: int) -> None:
            for n in range(25):
                try:
                    ledger.append(f"s-{i}", consent(i * 100 + n))
                except LedgerError as exc:
                    if "lock_timeout" not in str(exc):
                        raise
                ledger.subject(f"s-{i}")

        failures = in_threads(4, work)
        assert failures == []
        conn = ledger._pg.acquire()
        assert conn.prepare_threshold is None
        ledger._pg.release(conn)
        assert ledger.verify().count >= 1


# -- 4: erasure by a role that may not VACUUM --------------------------------------------

SKIPPED_VACUUM = (
    "DO $$ BEGIN RAISE WARNING "
    "'permission denied to vacuum \"ledger_records\", skipping it'; END $$"
)


@pytest.mark.parametrize("encrypt", [False, True], ids=["clear", "encrypted"])
def test_finding_4_a_vacuum_the_server_skipped_is_an_error_and_keeps_the_flag(
    pg: PostgresBackend, encrypt: bool
) -> None:
    """A ``VACUUM`` the server only warns about (what it does for a role that does not
    own the table) raises ``LedgerError`` and keeps the purge flag, so that the owner's
    next ``purge()`` (or the next ledger opened) still runs it: the records table's after
    content dropped in place, the keys table's after data keys destroyed.
    """
    from psycopg import sql  # noqa: PLC0415 - optional extra

    with open_ledger(pg, listen=False, encrypt=encrypt) as ledger:
        ledger.append("s-1", consent(0))
        real = ledger._pg.queries
        skipped = sql.SQL(SKIPPED_VACUUM)
        ledger._pg.queries = attrs.evolve(real, vacuum=skipped, vacuum_keys=skipped)
        with pytest.raises(LedgerError, match="VACUUM did not run: permission denied"):
            ledger.erase("s-1")
        name = "purge_keys" if encrypt else "purge_pending"
        flag = f"SELECT count(*) FROM ledger_meta WHERE name = '{name}'"  # noqa: S608 - constant
        assert pg.sql(flag) == [(1,)]
        ledger._pg.queries = real
        ledger.purge()
        assert pg.sql(flag) == [(0,)]


# -- 5: the connection cap ---------------------------------------------------------------


def test_finding_5_a_ledger_never_opens_more_than_max_connections(pg: PostgresBackend) -> None:
    """Eight busy threads share ``max_connections=2``: the server never sees more than
    two of the ledger's connections, and every append and read succeeds.
    """
    name = f"f5_{pg.schema}"
    dsn = _dsn_with(pg.dsn, application_name=name)
    admin = pg._admin()
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchone()
            seen.append(int(str(row[0])) if row else 0)
            time.sleep(0.005)

    with open_ledger(pg, dsn, listen=False, max_staleness=0, max_connections=2) as ledger:
        watcher = threading.Thread(target=watch)
        watcher.start()

        def work(i: int) -> None:
            for n in range(10):
                ledger.append(f"s-{i}", consent(i * 100 + n))
                ledger.subject(f"s-{i}")
                if n == 5 and i < 2:
                    # Its worker processes' connections count too.
                    ledger.verify(workers=4)

        try:
            failures = in_threads(8, work)
        finally:
            done.set()
            watcher.join(5)
        assert failures == []
        assert ledger.verify(workers=4).count == 80
    assert max(seen) <= 2


def test_finding_5_a_caller_waits_at_most_pool_timeout(pg: PostgresBackend) -> None:
    """With every connection taken, an append waits ``pool_timeout`` and then raises
    ``LedgerError`` naming the cap.
    """
    with open_ledger(pg, listen=False, max_connections=2, pool_timeout=0.3) as ledger:
        held = [ledger._pg.acquire(), ledger._pg.acquire()]
        try:
            started = time.monotonic()
            with pytest.raises(LedgerError, match="max_connections"):
                ledger.append("s-1", consent(0))
            assert time.monotonic() - started < 2
        finally:
            for conn in held:
                ledger._pg.release(conn)
        ledger.append("s-1", consent(0))


# -- 6: record size ----------------------------------------------------------------------


def test_finding_6_an_oversized_event_is_refused_before_the_lock(pg: PostgresBackend) -> None:
    """An event over ``max_record_bytes`` (64 KiB by default) raises ``EventError`` at
    once, even while another transaction holds the chain's lock; one under it is stored.
    """
    with open_ledger(pg, listen=False) as ledger:
        big = ConsentGiven(at=T0, purpose="x" * (1 << 20), id="big")
        admin = pg._admin()
        with admin.transaction():
            admin.execute("SELECT shard FROM ledger_shards FOR UPDATE")
            started = time.monotonic()
            with pytest.raises(EventError, match="max_record_bytes"):
                ledger.append_batch([("s-1", consent(0)), ("s-1", big)])
            assert time.monotonic() - started < 1
        ledger.append("s-1", ConsentGiven(at=T0, purpose="x" * 60_000, id="fits"))
        assert [e.id for e in ledger.events("s-1")] == ["fits"]
    with (
        open_ledger(pg, listen=False, max_record_bytes=1000) as small,
        pytest.raises(EventError, match=r"more than max_record_bytes \(1000\)"),
    ):
        small.append("s-2", ConsentGiven(at=T0, purpose="x" * 2000, id="too-big"))
    with (
        open_ledger(pg, listen=False, max_record_bytes=1000) as small,
        pytest.raises(EventError, match="max_record_bytes") as caught,
    ):
        small.append("s-3", ConsentGiven(at=T0, purpose="p", id="i" * 100_000))
    assert len(str(caught.value)) < 200  # the oversized id is shortened, not quoted whole


# -- 7: a schema that is not lawful's -----------------------------------------------------


@pytest.mark.parametrize(
    "setup",
    [
        "CREATE TABLE {s}.orders (id int)",
        "CREATE TABLE {s}.ledger_meta (name text PRIMARY KEY, value int)",
        (
            "CREATE TABLE {s}.ledger_meta (name text PRIMARY KEY, value bytea NOT NULL);"
            " INSERT INTO {s}.ledger_meta VALUES ('schema', 'abc')"
        ),
        (
            "CREATE TABLE {s}.ledger_meta (name text PRIMARY KEY, value bytea NOT NULL);"
            " INSERT INTO {s}.ledger_meta VALUES ('schema', '2')"
        ),
        # lawful's column types but not its constraints: NULLs and repeated names would
        # reach the ledger's reads (a NULL number of shards was a raw TypeError).
        (
            "CREATE TABLE {s}.ledger_meta (name text, value bytea);"
            " CREATE TABLE {s}.ledger_records (id int);"
            " INSERT INTO {s}.ledger_meta VALUES ('schema', '4'), ('shards', NULL)"
        ),
        (
            "CREATE TABLE {s}.ledger_meta (name text PRIMARY KEY, value bytea);"
            " CREATE TABLE {s}.ledger_records (id int);"
            " INSERT INTO {s}.ledger_meta VALUES ('schema', '4'), ('encrypted', NULL)"
        ),
    ],
    ids=[
        "other-tables",
        "meta-of-another-shape",
        "meta-with-garbage",
        "meta-without-tables",
        "meta-without-key",
        "meta-with-nulls",
    ],
)
def test_finding_7_a_schema_lawful_did_not_create_is_refused(
    pg: PostgresBackend, setup: str
) -> None:
    """A schema that holds another application's tables, or a ``ledger_meta`` lawful
    did not write, is refused with ``LedgerError`` and left exactly as it was.
    """
    from psycopg import sql  # noqa: PLC0415 - optional extra

    admin = pg._admin()
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(pg.schema)))
    for statement in setup.split("; "):
        admin.execute(sql.SQL(statement).format(s=sql.Identifier(pg.schema)))
    tables = "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1"
    before = admin.execute(tables, (pg.schema,)).fetchall()
    with pytest.raises(LedgerError, match="tables lawful did not create"):
        open_ledger(pg, listen=False)
    assert admin.execute(tables, (pg.schema,)).fetchall() == before


def test_finding_7_a_ledger_made_before_the_marker_is_adopted(pg: PostgresBackend) -> None:
    """A ledger schema created by an earlier lawful (no marker row) opens as before and
    gets its marker.
    """
    with open_ledger(pg, listen=False) as ledger:
        ledger.append("s-1", consent(0))
    marker = "SELECT count(*) FROM ledger_meta WHERE name = 'lawful'"
    assert pg.sql(marker) == [(1,)]
    pg.sql("DELETE FROM ledger_meta WHERE name = 'lawful'")
    with open_ledger(pg, listen=False) as ledger:
        assert [e.id for e in ledger.events("s-1")] == ["c-0"]
    assert pg.sql(marker) == [(1,)]


# -- 8: the DSN in messages --------------------------------------------------------------


def _chain_text(exc: BaseException) -> str:
    parts = []
    seen: BaseException | None = exc
    while seen is not None:
        parts.append(f"{seen!s} {seen!r}")
        seen = seen.__cause__ or seen.__context__
    return " ".join(parts)


def test_finding_8_a_dsn_is_never_echoed(pg: PostgresBackend) -> None:
    """Neither a malformed DSN (libpq quotes the token it cannot parse) nor a refused
    password, ``%`` included, appears in the error or anything it chains.
    """
    from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - optional extra

    server = conninfo_to_dict(pg.dsn)
    base = f"{server.get('host', '127.0.0.1')}:{server.get('port', 5432)}"
    malformed = f"postgresql://lawful:SECRET%zzPW-5@{base}/lawful"
    with pytest.raises(LedgerError, match="cannot be parsed") as caught:
        open_ledger(pg, malformed, listen=False)
    assert "SECRET" not in _chain_text(caught.value)
    refused = f"postgresql://lawful:SECRET%25PW-5@{base}/lawful"
    with pytest.raises(LedgerError, match="cannot connect") as caught:
        open_ledger(pg, refused, listen=False, connect_timeout=3)
    assert "SECRET" not in _chain_text(caught.value)
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    for wrong in (b"postgresql://lawful:SECRET@host/db", ["SECRET"], None):
        with pytest.raises(LedgerError, match="the DSN must be a string") as caught:
            PostgresLedger(wrong, key=KEY, schema=pg.schema, listen=False)  # type: ignore[arg-type]
        assert "SECRET" not in _chain_text(caught.value)


# -- 9: the lock row ---------------------------------------------------------------------


def test_finding_9_a_deleted_lock_row_is_put_back_and_writers_stay_serialised(
    pg: PostgresBackend,
) -> None:
    """After someone deletes the rows of ``ledger_shards``, writers put them back before
    writing: four concurrent writers then all succeed, and every shard verifies.
    """
    with open_ledger(pg, listen=False) as ledger:
        ledger.append("s-0", consent(0))
        pg.sql("DELETE FROM ledger_shards")

        def work(i: int) -> None:
            for n in range(20):
                ledger.append(f"s-{i}", consent(i * 100 + n + 1))

        assert in_threads(4, work) == []
        assert pg.sql("SELECT count(*) FROM ledger_shards") == [(ledger.shards,)]
        assert ledger.verify().count == 81


# -- streaming dump ----------------------------------------------------------------------


def test_dump_streams_one_snapshot_and_gives_its_connection_back(pg: PostgresBackend) -> None:
    """``dump()`` verifies first, then streams from one snapshot: appends made while it
    is read are not in it; closing it early gives its connection back.
    """
    with open_ledger(pg, listen=False, max_connections=2, pool_timeout=2) as ledger:
        ledger.append_batch([(f"s-{n % 3}", consent(n)) for n in range(30)])
        stream = ledger.dump()
        first = next(stream)
        ledger.append("s-9", consent(99))
        rest = list(stream)
        entries = [first, *rest]
        # In position order: each subject's events in the order appended.
        for subject in ("s-0", "s-1", "s-2"):
            ids = [e.event.id for e in entries if e.subject == subject]
            assert ids == [f"c-{n}" for n in range(30) if f"s-{n % 3}" == subject]
        abandoned = ledger.dump()
        next(abandoned)
        abandoned.close()
        held = [ledger._pg.acquire(), ledger._pg.acquire()]  # both free again
        for conn in held:
            ledger._pg.release(conn)
        assert len(list(ledger.dump())) == 31
