"""What the PostgreSQL ledger adds to the contract: erasure through SQL, schema migrations,
the server's clock, the subject cache's staleness bound and its notifications.

The contract, tamper, crash and concurrency suites run on PostgreSQL through
``_backends.BACKENDS``; these tests need ``LAWFUL_POSTGRES_DSN`` (see ``_postgres.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.ledger._backends import KEY, POLICY, T0, TickingClock
from tests.ledger._postgres import PostgresBackend
from tests.ledger.test_erasure import BIRTH, EMAIL, NEEDLES, SUBJECT, alice, others

from lawful import BirthDateDeclared, ConsentGiven, ContractStarted, ParentalConsentGiven
from lawful.decision import ReasonCode
from lawful.exceptions import LedgerError, LedgerIntegrityError

if TYPE_CHECKING:
    from lawful.ledger.postgres import PostgresLedger

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[PostgresBackend]:
    """A fresh schema on the test server (a skip without one; a failure under CI)."""
    backend = PostgresBackend(tmp_path)
    yield backend
    backend.cleanup()


def open_ledger(pg: PostgresBackend, **options: object) -> PostgresLedger:
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    return PostgresLedger(pg.dsn, key=KEY, schema=pg.schema, **options)  # type: ignore[arg-type]


def consent(n: int, purpose: str = "analytics") -> ConsentGiven:
    return ConsentGiven(at=T0 + timedelta(hours=n), purpose=purpose, id=f"c-{n}")


class FakeMonotonic:
    """Stands in for ``time.monotonic`` so that the staleness bound is tested without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- erasure -----------------------------------------------------------------------------


@pytest.mark.parametrize("vacuum_full", [False, True], ids=["vacuum", "vacuum-full"])
def test_erasure_leaves_no_personal_data_in_any_table(
    pg: PostgresBackend, vacuum_full: bool
) -> None:
    """In a ledger in clear, after erase() (and its VACUUM), no id, email, IP or birth date
    of the subject is in any row of any table as read through SQL; the chain verifies and
    decisions deny ERASED. (An encrypted ledger never holds them: test_postgres_encryption.)
    """
    options = {"clock": TickingClock(), "vacuum_full": vacuum_full, "encrypt": False}
    with open_ledger(pg, **options) as ledger:
        ledger.append_batch(
            [
                (SUBJECT, BirthDateDeclared(at=T0, birth_date=BIRTH, id="alice-event-birth")),
                (SUBJECT, ParentalConsentGiven(at=T0, guardian=EMAIL, id="alice-event-parent")),
                (SUBJECT, ContractStarted(at=T0, contract="ALICE-ORDER-7731", id="alice-event-k")),
            ]
        )
        for n in range(30):
            ledger.append_batch([*((SUBJECT, e) for e in alice(n)), *others(n)])
        assert all(pg.holds(needle.encode()) for needle in NEEDLES)
        erasure = ledger.erase(SUBJECT)
        subject = ledger.subject(SUBJECT)
        head = ledger.verify()
    for needle in NEEDLES:
        assert not pg.holds(needle.encode()), needle
    assert pg.holds(b"visitor-29-19")
    assert pg.sql("SELECT count(*) FROM ledger_meta WHERE name = 'purge_pending'") == [(0,)]
    assert subject.events == (erasure,)
    assert head.count == 3 + 30 * 22 + 1
    decision = POLICY.may_process(subject, "analytics", erasure.at, collected_at=T0)
    assert (decision.allowed, decision.code) == (False, ReasonCode.ERASED)


@pytest.mark.parametrize("encrypt", [False, True], ids=["clear", "encrypted"])
def test_a_vacuum_cut_short_is_run_by_the_next_ledger_opened(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch, encrypt: bool
) -> None:
    """If the process dies between the erasure's commit and its VACUUM, the next open runs
    it: of the records table (content dropped in place), or of the keys table (data keys
    destroyed).
    """
    ledger = open_ledger(pg, encrypt=encrypt)
    ledger.append(SUBJECT, consent(0))
    ran: list[str] = []
    monkeypatch.setattr(ledger._pg, "purge", lambda: ran.append("purge"))  # dies here
    ledger.erase(SUBJECT)
    assert ran == ["purge"]
    flags = "SELECT name FROM ledger_meta WHERE name LIKE 'purge%%'"
    assert pg.sql(flags) == [("purge_keys" if encrypt else "purge_pending",)]
    with open_ledger(pg) as reopened:
        assert pg.sql(flags) == []
        assert reopened.verify().count == 2
    ledger.close()


# -- schema --------------------------------------------------------------------------------


def test_a_new_schema_gets_the_current_version(pg: PostgresBackend) -> None:
    """Opening a ledger creates its schema and records the version it was created with."""
    from lawful.ledger import _pgschema  # noqa: PLC0415 - optional extra

    with open_ledger(pg):
        pass
    assert pg.sql("SELECT value FROM ledger_meta WHERE name = 'schema'") == [(b"4",)]
    assert len(_pgschema.MIGRATIONS) == 4


def test_migrations_run_once_in_order(pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration added later upgrades an existing schema once, keeping its records."""
    from lawful.ledger import _pgschema  # noqa: PLC0415 - optional extra

    with open_ledger(pg) as ledger:
        ledger.append("s-1", consent(0))
    extra = "CREATE TABLE {schema}.ledger_extra (x integer)"
    monkeypatch.setattr(_pgschema, "MIGRATIONS", (*_pgschema.MIGRATIONS, (extra,)))
    for _ in range(2):
        with open_ledger(pg) as ledger:
            assert ledger.verify().count == 1
    assert pg.sql("SELECT value FROM ledger_meta WHERE name = 'schema'") == [(b"5",)]
    assert pg.sql("SELECT count(*) FROM ledger_extra") == [(0,)]


def test_a_newer_schema_is_refused(pg: PostgresBackend) -> None:
    """A schema written by a newer lawful is not opened, and not changed."""
    with open_ledger(pg):
        pass
    pg.sql("UPDATE ledger_meta SET value = '9'::bytea WHERE name = 'schema'")
    with pytest.raises(LedgerError, match="schema version 9 is newer"):
        open_ledger(pg)
    assert pg.sql("SELECT value FROM ledger_meta WHERE name = 'schema'") == [(b"9",)]


def test_many_processes_may_create_the_schema_at_once(pg: PostgresBackend) -> None:
    """Ledgers opened at the same moment on a schema that does not exist yet all succeed."""
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def opener() -> None:
        start.wait()
        try:
            with open_ledger(pg, listen=False) as ledger:
                ledger.append("s-1", consent(0))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with open_ledger(pg) as ledger:
        assert ledger.verify().count == 1


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"schema": ""}, "schema name is 1 to 63 bytes"),
        ({"schema": "s" * 64}, "schema name is 1 to 63 bytes"),
        ({"max_staleness": -1.0}, "must not be negative"),
        ({"cache_size": -1}, "must not be negative"),
    ],
)
def test_bad_options_are_refused(
    pg: PostgresBackend, options: dict[str, object], message: str
) -> None:
    """A bad schema name or a negative staleness or cache size raises before connecting."""
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    arguments: dict[str, object] = {"key": KEY, "schema": pg.schema, **options}
    with pytest.raises(LedgerError, match=message):
        PostgresLedger(pg.dsn, **arguments)  # type: ignore[arg-type]


def test_a_server_that_cannot_be_reached_is_an_error_without_the_password() -> None:
    """Connection failures raise LedgerError naming the schema, never the DSN's password."""
    pytest.importorskip("psycopg", reason="needs the postgres extra; no server needed")
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    dsn = "postgresql://someone:secret-pw-123@127.0.0.1:1/nothing"
    with pytest.raises(LedgerError, match="cannot connect") as caught:
        PostgresLedger(dsn, key=KEY, schema="unreachable", connect_timeout=2)
    assert "secret-pw-123" not in str(caught.value)


# -- clock -----------------------------------------------------------------------------------


def test_recorded_at_is_the_servers_clock_in_chain_order(pg: PostgresBackend) -> None:
    """Without a clock of its own, the ledger stamps recorded_at with the server's clock,
    read under the shard's lock: it never goes back along a shard's chain (so along a
    subject's history), whoever writes.
    """
    with open_ledger(pg) as first, open_ledger(pg) as second:
        before = first._pg.now()
        for n in range(10):
            (first if n % 2 else second).append(f"s-{n % 3}", consent(n))
        after = second._pg.now()
        entries = list(first.dump())
    stamps = [entry.event.recorded_at for entry in entries]
    assert all(stamp is not None and stamp.tzinfo is UTC for stamp in stamps)
    for subject in ("s-0", "s-1", "s-2"):
        own = [e.event.recorded_at for e in entries if e.subject == subject]
        assert own == sorted(own)  # type: ignore[type-var]
    assert before <= min(stamps)  # type: ignore[operator, type-var]
    assert max(stamps) <= after  # type: ignore[operator, type-var]


# -- the subject cache ----------------------------------------------------------------------


def cached_reader(pg: PostgresBackend, clock: FakeMonotonic, **options: object) -> PostgresLedger:
    reader = open_ledger(pg, listen=False, max_staleness=5.0, **options)
    reader._monotonic = clock
    return reader


def test_a_cached_subject_is_at_most_max_staleness_behind(pg: PostgresBackend) -> None:
    """Another writer's append reaches a cached subject once max_staleness has passed since it
    was read, and not before: the bound is exact, without notifications.
    """
    clock = FakeMonotonic()
    with cached_reader(pg, clock) as reader, open_ledger(pg, listen=False) as writer:
        writer.append("s-1", consent(0))
        assert len(reader.subject("s-1").events) == 1
        writer.append("s-1", consent(1))
        clock.now += 4.999
        assert len(reader.subject("s-1").events) == 1  # still within the bound
        clock.now += 0.001
        fresh = reader.subject("s-1")
        assert [e.id for e in fresh.events] == ["c-0", "c-1"]
        assert fresh == writer.subject("s-1")


@pytest.mark.parametrize("added", [1, 40], ids=["added-to", "rebuilt"])
def test_a_refreshed_subject_equals_one_read_afresh(pg: PostgresBackend, added: int) -> None:
    """Newer records are added to a cached subject (or, many of them, rebuilt into it) and
    the result is the subject a ledger without a cache reads.
    """
    clock = FakeMonotonic()
    with (
        cached_reader(pg, clock) as reader,
        open_ledger(pg, listen=False, cache_size=0) as writer,
    ):
        writer.append_batch([("s-1", consent(n)) for n in range(0, 60, 2)])
        reader.subject("s-1")
        writer.append_batch([("s-1", consent(n)) for n in range(1, 2 * added, 2)])
        clock.now += 5
        refreshed = reader.subject("s-1")
        assert len(refreshed.events) == 30 + added
        assert refreshed == writer.subject("s-1")


def test_a_cached_subject_with_nothing_new_is_revalidated(pg: PostgresBackend) -> None:
    """Once ``max_staleness`` has passed and nothing was appended, the cached subject is
    checked against its sealed head and returned (that check once sealed an empty tag, so
    every unchanged subject read after the bound raised an integrity error); a head
    changed meanwhile is still caught.
    """
    clock = FakeMonotonic()
    with cached_reader(pg, clock) as reader:
        reader.append("s-1", consent(0))
        first = reader.subject("s-1")
        for _ in range(2):
            clock.now += 5
            assert reader.subject("s-1") == first
        pg.sql("UPDATE ledger_subjects SET seal = '\\x00'")
        clock.now += 5
        with pytest.raises(LedgerIntegrityError, match="sealed head"):
            reader.subject("s-1")


def test_max_staleness_zero_reads_every_append(pg: PostgresBackend) -> None:
    """With max_staleness=0 every read asks the server (for newer records only)."""
    with (
        open_ledger(pg, listen=False, max_staleness=0.0) as reader,
        open_ledger(pg, listen=False) as writer,
    ):
        for n in range(3):
            writer.append("s-1", consent(n))
            assert len(reader.subject("s-1").events) == n + 1


def test_own_appends_and_erasures_are_read_at_once(pg: PostgresBackend) -> None:
    """What a ledger writes itself, it reads back at once, whatever max_staleness says."""
    with open_ledger(pg, listen=False, max_staleness=3600.0) as ledger:
        ledger.append("s-1", consent(0))
        assert len(ledger.subject("s-1").events) == 1
        ledger.append_batch([("s-1", consent(1)), ("s-2", consent(2))])
        assert len(ledger.subject("s-1").events) == 2
        erasure = ledger.erase("s-1")
        assert ledger.subject("s-1").events == (erasure,)


def test_another_writers_erasure_replaces_the_cached_subject(pg: PostgresBackend) -> None:
    """An erasure by another process empties the cached subject once it is read again."""
    clock = FakeMonotonic()
    with cached_reader(pg, clock) as reader, open_ledger(pg, listen=False) as writer:
        writer.append_batch([("s-1", consent(0)), ("s-1", consent(1))])
        assert len(reader.subject("s-1").events) == 2
        erasure = writer.erase("s-1")
        clock.now += 5
        subject = reader.subject("s-1")
    assert subject.events == (erasure,)
    decision = POLICY.may_process(subject, "analytics", erasure.at, collected_at=T0)
    assert decision.code is ReasonCode.ERASED


@pytest.mark.parametrize("cache_size", [0, 1])
def test_a_small_or_no_cache_stays_correct(pg: PostgresBackend, cache_size: int) -> None:
    """Without a cache, or with one entry evicted by another subject, reads are fresh."""
    clock = FakeMonotonic()
    with (
        cached_reader(pg, clock, cache_size=cache_size) as reader,
        open_ledger(pg, listen=False) as writer,
    ):
        writer.append("s-1", consent(0))
        assert len(reader.subject("s-1").events) == 1
        assert reader.subject("s-2").events == ()
        writer.append("s-1", consent(1))
        assert len(reader.subject("s-1").events) == 2


def test_categories_are_cached_apart(pg: PostgresBackend) -> None:
    """The same subject read with other categories is compiled with those categories."""
    with open_ledger(pg, listen=False) as ledger:
        ledger.append("s-1", consent(0))
        plain = ledger.subject("s-1")
        visitor = ledger.subject("s-1", categories=["visitor"])
    assert plain.categories is None
    assert visitor.categories == frozenset({"visitor"})
    assert plain.events == visitor.events


WRITER = """
import sys
from datetime import UTC, datetime
from lawful import ConsentGiven
from lawful.ledger.postgres import PostgresLedger
dsn, schema, key = sys.argv[1:]
with PostgresLedger(dsn, key=bytes.fromhex(key), schema=schema, listen=False) as ledger:
    ledger.append("s-1", ConsentGiven(at=datetime(2025, 3, 2, tzinfo=UTC), purpose="analytics",
                                      id="from-another-process"))
"""


def test_another_processs_append_is_notified_to_a_cached_subject(pg: PostgresBackend) -> None:
    """A subject cached for an hour sees another process's append as soon as the NOTIFY
    arrives: the notification, not the bound, brings it.
    """
    with open_ledger(pg, max_staleness=3600.0) as reader:
        reader.append("s-1", consent(0))
        assert len(reader.subject("s-1").events) == 1
        listener = reader._listener
        assert listener is not None
        assert listener.ready.wait(10)
        assert len(reader.subject("s-1").events) == 1  # cached again after LISTEN began
        subprocess.run(
            [sys.executable, "-c", WRITER, pg.dsn, pg.schema, KEY.hex()],
            check=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        )
        deadline = time.monotonic() + 10  # liveness only: it normally takes milliseconds
        seen = reader.subject("s-1")
        while len(seen.events) == 1 and time.monotonic() < deadline:
            time.sleep(0.01)
            seen = reader.subject("s-1")
    assert [e.id for e in seen.events] == ["c-0", "from-another-process"]


def test_a_forked_child_gets_its_own_connections_and_cache(pg: PostgresBackend) -> None:
    """A child forked from a process with an open ledger writes through new connections,
    and the parent's ledger keeps working.
    """
    with open_ledger(pg, listen=False) as ledger:
        ledger.append("s-1", consent(0))
        assert len(ledger.subject("s-1").events) == 1
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            ok = False
            try:
                ledger.append("s-1", consent(1))
                ok = len(ledger.subject("s-1").events) == 2
            finally:
                os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        ledger.append("s-1", consent(2))
        assert len(ledger.subject("s-1").events) == 3
        assert ledger.verify().count == 3
