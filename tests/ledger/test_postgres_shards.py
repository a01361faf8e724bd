"""The sharded PostgreSQL ledger: it holds and decides what one chain does, every tamper
in any shard is caught, a single-chain ledger migrates, and verify resumes and runs in
parallel.

Art. 5(2) and Art. 7(1): the controller must be able to demonstrate consent, so cutting
the chain for speed must neither change a decision nor weaken what verify proves.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ledger._backends import KEY, T0
from tests.ledger._postgres import PostgresBackend

import lawful
from lawful import ConsentGiven, Event, Interaction
from lawful.exceptions import LedgerError, LedgerIntegrityError
from lawful.ledger import Head, LedgerKey, MemoryLedger
from lawful.ledger._chain import shard_of
from lawful.strategies import event_histories

if TYPE_CHECKING:
    from lawful.ledger.postgres import PostgresLedger

pytestmark = pytest.mark.postgres

POLICY = lawful.bundled_policy("piwik-pro")
SHARDS = 4
TAGS = LedgerKey.from_bytes(KEY)
STAMP = T0 + timedelta(days=1000)


def fixed_clock() -> datetime:
    return STAMP


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[PostgresBackend]:
    """A fresh schema on the test server (a skip without one; a failure under CI)."""
    backend = PostgresBackend(tmp_path, shards=SHARDS)
    yield backend
    backend.cleanup()


def open_ledger(pg: PostgresBackend, **options: object) -> PostgresLedger:
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    settings = {"listen": False, "shards": pg.shards, **options}
    return PostgresLedger(pg.dsn, key=KEY, schema=pg.schema, **settings)  # type: ignore[arg-type]


def shard(subject: str, shards: int = SHARDS) -> int:
    return shard_of(TAGS.subject_tag(subject), shards)


def subjects_by_shard(per_shard: int = 2) -> dict[int, list[str]]:
    """Subject names, ``per_shard`` in each shard."""
    found: dict[int, list[str]] = {s: [] for s in range(SHARDS)}
    n = 0
    while any(len(names) < per_shard for names in found.values()):
        name = f"s-{n}"
        if len(found[shard(name)]) < per_shard:
            found[shard(name)].append(name)
        n += 1
    return found


def consent(n: int) -> ConsentGiven:
    return ConsentGiven(at=T0 + timedelta(hours=n), purpose="analytics", id=f"c-{n}")


# -- the law: shards change nothing a decision sees -----------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories=st.lists(event_histories(policy=POLICY, max_size=5), min_size=1, max_size=4),
    order=st.randoms(use_true_random=False),
    erase=st.lists(st.booleans(), min_size=4, max_size=4),
    keep=st.booleans(),
    batch=st.integers(1, 4),
    instants=st.lists(st.integers(-2, 400), min_size=1, max_size=3),
)
def test_a_sharded_ledger_holds_and_decides_what_one_chain_does(
    histories: list[list[Event]],
    order: random.Random,
    erase: list[bool],
    keep: bool,
    batch: int,
    instants: list[int],
) -> None:
    """The same appends (interleaved across subjects, in batches) and erasures to a
    4-shard PostgreSQL ledger and to a single-chain memory ledger: every subject reads
    the same events and gets the same decisions, both verify, and their backups hold
    the same entries in the same order per subject.
    """
    names = [f"s-{n}" for n in range(len(histories))]
    items = [
        (name, attrs.evolve(event, id=None))
        for name, history in zip(names, histories, strict=True)
        for event in sorted(history, key=lambda e: e.at)
    ]
    # Interleave subjects, keeping each subject's order.
    queues = {name: [i for i in items if i[0] == name] for name in names}
    mixed: list[tuple[str, Event]] = []
    while any(queues.values()):
        name = order.choice([n for n in names if queues[n]])
        mixed.append(queues[name].pop(0))
    pg = PostgresBackend(Path(), shards=SHARDS)
    pg.schema = f"lawful_test_{uuid.uuid4().hex[:12]}"
    single = MemoryLedger(key=KEY, clock=fixed_clock)
    try:
        with open_ledger(pg, clock=fixed_clock) as sharded:
            for ledger in (single, sharded):
                for start in range(0, len(mixed), batch):
                    ledger.append_batch(mixed[start : start + batch])
                for name, gone in zip(names, erase, strict=False):
                    if gone:
                        ledger.erase(name, at=T0 + timedelta(days=30), keep_proof=keep)
            assert sharded.verify().count == single.verify().count
            for name in names:
                mine, theirs = sharded.subject(name), single.subject(name)
                assert mine.events == theirs.events
                for days in instants:
                    at = T0 + timedelta(days=days)
                    assert POLICY.decide_all(mine, at) == POLICY.decide_all(theirs, at)
            backup, reference = list(sharded.dump()), list(single.dump())
            assert len(backup) == len(reference)
            for name in names:
                assert [e for e in backup if e.subject == name] == [
                    e for e in reference if e.subject == name
                ]
    finally:
        pg.cleanup()


def test_writers_of_different_shards_do_not_wait_for_each_other(pg: PostgresBackend) -> None:
    """A transaction holding one shard's lock stops that shard's writers only."""
    names = subjects_by_shard(1)
    with open_ledger(pg, lock_timeout=0.2) as ledger:
        admin = pg._admin()
        with admin.transaction():
            admin.execute("SELECT shard FROM ledger_shards WHERE shard = 0 FOR UPDATE")
            for s in range(1, SHARDS):
                ledger.append(names[s][0], consent(s))
            with pytest.raises(LedgerError, match="lock_timeout"):
                ledger.append(names[0][0], consent(0))
        ledger.append(names[0][0], consent(0))
        assert ledger.verify().shards == (1, 1, 1, 1)


def test_a_shard_is_never_written_without_its_lock(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write told about one subject locks its shard only, and refuses to write another."""
    names = subjects_by_shard(1)
    wrong = [TAGS.subject_tag(names[0][0])]
    with open_ledger(pg) as ledger:
        monkeypatch.setattr(ledger, "_before_write", lambda _: ledger._pg.expect((), wrong))
        with pytest.raises(LedgerError, match="not locked by this write"):
            ledger.append(names[1][0], consent(1))
        monkeypatch.undo()
        assert ledger.verify().count == 0


# -- tampering in any shard -------------------------------------------------------------------


def filled(pg: PostgresBackend) -> tuple[dict[int, list[str]], Head, dict[str, bytes]]:
    """Three records for each of two subjects in every shard; the head after the first two
    rounds, and the shards' sealed heads as stored then.
    """
    names = subjects_by_shard(2)
    with open_ledger(pg) as ledger:
        n = 0
        for round_ in range(3):
            for s in range(SHARDS):
                for name in names[s]:
                    ledger.append(name, consent(n))
                    n += 1
            if round_ == 1:
                anchor = ledger.head()
                rows = pg.sql("SELECT name, value FROM ledger_meta WHERE left(name, 5) = 'head:'")
                old = {str(name): bytes(value) for name, value in rows}  # type: ignore[call-overload]
    return names, anchor, old


def seqs(pg: PostgresBackend, s: int) -> list[int]:
    rows = pg.sql("SELECT seq FROM ledger_records WHERE shard = ? ORDER BY seq", [s])
    return [int(seq) for (seq,) in rows]  # type: ignore[call-overload]


def tamper(
    pg: PostgresBackend, kind: str, s: int, anchor: Head, old: dict[str, bytes]
) -> int | None:
    """Tamper with shard ``s``; the record that verify must name (``None``: a head)."""
    mine = seqs(pg, s)
    other = (s + 1) % SHARDS
    if kind == "edit":
        pg.sql(
            "UPDATE ledger_records SET payload = overlay(payload placing 'X' from 5) WHERE seq = ?",
            [mine[2]],
        )
        return mine[2]
    if kind == "delete":
        pg.sql("DELETE FROM ledger_records WHERE seq = ?", [mine[2]])
        return mine[2]
    if kind == "reorder":
        a, b = mine[2], mine[3]
        pg.sql("UPDATE ledger_records SET seq = -1 WHERE seq = ?", [a])
        pg.sql("UPDATE ledger_records SET seq = ? WHERE seq = ?", [a, b])
        pg.sql("UPDATE ledger_records SET seq = ? WHERE seq = -1", [b])
        return a
    if kind == "move to another shard":
        pg.sql("UPDATE ledger_records SET shard = ? WHERE seq = ?", [other, mine[-1]])
        return mine[-1]
    if kind == "swap shard heads":
        name_a, name_b = f"head:{s}", f"head:{other}"
        pg.sql(
            "UPDATE ledger_meta AS m SET value = o.value FROM ledger_meta AS o"
            " WHERE (m.name = ? AND o.name = ?) OR (m.name = ? AND o.name = ?)",
            [name_a, name_b, name_b, name_a],
        )
        return None
    if kind == "replay an old head":
        # A sealed head copied from before: the records after it are no longer covered.
        name = f"head:{s}"
        pg.sql("UPDATE ledger_meta SET value = ? WHERE name = ?", [old[name], name])
        return mine[anchor.shards[s]]
    raise AssertionError(kind)


KINDS = [
    "edit",
    "delete",
    "reorder",
    "move to another shard",
    "swap shard heads",
    "replay an old head",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("s", [0, SHARDS - 1])
def test_verify_catches_every_tamper_in_any_shard(pg: PostgresBackend, kind: str, s: int) -> None:
    """Each tamper, in the first or the last shard, fails ``verify`` naming the shard and
    (where one is to blame) the record; a subject of another shard still reads.
    """
    names, anchor, old = filled(pg)
    record = tamper(pg, kind, s, anchor, old)
    with open_ledger(pg) as ledger:
        with pytest.raises(LedgerIntegrityError) as caught:
            ledger.verify(expected_head=anchor)
        assert any(f"shard {s}" in text for text in caught.value.problems)
        if record is not None:
            assert caught.value.record == record
        untouched = names[(s + 2) % SHARDS][0]
        assert len(list(ledger.events(untouched))) == 3


def test_a_rolled_back_shard_is_caught_by_an_anchor_and_its_subjects_reads(
    pg: PostgresBackend,
) -> None:
    """One shard rolled back whole, heads and all (with sealed values copied from before),
    verifies alone; the anchored head names the shard and its first missing record.
    """
    names = subjects_by_shard(1)
    with open_ledger(pg) as ledger:
        ledger.append(names[1][0], consent(0))
        (old_head,) = pg.sql("SELECT value FROM ledger_meta WHERE name = 'head:1'")[0]
        (old_seal,) = pg.sql("SELECT seal FROM ledger_subjects")[0]
        ledger.append(names[1][0], consent(1))
        anchor = ledger.head()
    pg.sql("DELETE FROM ledger_records WHERE seq = 6")  # record 2 of shard 1
    pg.sql("UPDATE ledger_meta SET value = ? WHERE name = 'head:1'", [old_head])
    pg.sql("UPDATE ledger_subjects SET seq = 2, seal = ?", [old_seal])
    with open_ledger(pg) as ledger:
        assert ledger.verify().count == 1
        with pytest.raises(LedgerIntegrityError, match="shard 1: missing") as caught:
            ledger.verify(expected_head=anchor)
        assert caught.value.record == 6


# -- verify at scale: resumable, parallel ---------------------------------------------------


def test_verify_resumes_from_a_checkpoint_and_runs_in_parallel(pg: PostgresBackend) -> None:
    """``verify(since=head)`` checks only what came after ``head`` and returns the same
    head as a full run; erasing records from before the checkpoint is accepted, an edit
    after it is caught, an edit before it is left to a full run; ``workers`` changes
    nothing but speed; a forged checkpoint is refused.
    """
    names = subjects_by_shard(2)
    with open_ledger(pg, keep_proof=False) as ledger:
        for n, name in enumerate(name for group in names.values() for name in group):
            ledger.append(name, consent(n))
        checkpoint = ledger.verify()
        ledger.append(names[0][0], consent(100))
        ledger.append(names[2][1], Interaction(at=T0, kind="visit", id="i-1"))
        ledger.erase(names[1][0])  # its record is before the checkpoint
        full = ledger.verify()
        assert ledger.verify(since=checkpoint) == full
        assert ledger.verify(since=checkpoint, workers=4) == full
        assert ledger.verify(workers=4) == full
        assert ledger.verify(since=full).count == full.count
        with pytest.raises(LedgerIntegrityError, match="checkpoint does not match"):
            ledger.verify(since=attrs.evolve(checkpoint, hash="ab" * 32))
        with pytest.raises(LedgerError, match="shards"):
            ledger.verify(since=Head(checkpoint.count, checkpoint.hash))
    after = seqs(pg, 0)[-1]
    before = seqs(pg, 3)[0]
    pg.sql("UPDATE ledger_records SET digest = sha256(digest) WHERE seq = ?", [before])
    with open_ledger(pg) as ledger:
        assert ledger.verify(since=full).count == full.count  # before the checkpoint
        with pytest.raises(LedgerIntegrityError, match=f"record {before}"):
            ledger.verify()
        pg.sql("UPDATE ledger_records SET digest = sha256(digest) WHERE seq = ?", [after])
        with pytest.raises(LedgerIntegrityError, match=f"record {after}"):
            ledger.verify(since=checkpoint)


def test_verify_in_worker_processes_reports_what_one_process_does(pg: PostgresBackend) -> None:
    """``verify(workers=N)`` checks shards in processes of their own (the checking holds
    the interpreter's lock, so threads did not gain): the same head, and for a ledger that
    does not verify, the same problems, record and anchored-head checks.
    """
    names = subjects_by_shard(2)
    with open_ledger(pg) as ledger:
        for n, name in enumerate(name for group in names.values() for name in group):
            ledger.append(name, consent(n))
        anchor = ledger.verify()
        assert ledger.verify(workers=3, expected_head=anchor) == anchor
    pg.sql("UPDATE ledger_records SET digest = sha256(digest) WHERE seq = ?", [seqs(pg, 1)[0]])
    pg.sql("UPDATE ledger_records SET digest = sha256(digest) WHERE seq = ?", [seqs(pg, 3)[1]])
    with open_ledger(pg) as ledger:
        caught = []
        for workers in (1, 3):
            with pytest.raises(LedgerIntegrityError) as error:
                ledger.verify(workers=workers, expected_head=anchor)
            caught.append((str(error.value), error.value.record, error.value.problems))
        assert caught[0] == caught[1]
        assert any("shard 3" in text for text in caught[0][2])


def test_verify_workers_that_cannot_connect_name_no_dsn(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that cannot reach the server fails the run with ``LedgerError``, its
    message scrubbed of the DSN's password like every other.
    """
    with open_ledger(pg) as ledger:
        ledger.append("s-1", consent(0))
        secret = "SECRET-in-the-dsn"  # noqa: S105 - a refused one, to look for
        # The workers get the store's DSN: make it one whose password is refused.
        monkeypatch.setattr(ledger._pg, "dsn", ledger._pg.dsn + f" password={secret}")
        monkeypatch.setattr(ledger._pg, "_secrets", [ledger._pg.dsn, secret])
        with pytest.raises(LedgerError, match="shard") as caught:
            ledger.verify(workers=2)
        assert secret not in str(caught.value)
        assert not isinstance(caught.value, LedgerIntegrityError)


# -- migration from one chain ----------------------------------------------------------------

TO_VERSION_2 = [
    "ALTER TABLE ledger_records DROP COLUMN key_id",
    "DROP TABLE ledger_keys",
    "ALTER TABLE ledger_records DROP COLUMN shard",
    "ALTER TABLE ledger_subjects DROP COLUMN shard",
    "DROP TABLE ledger_shards",
    "CREATE TABLE ledger_lock (id boolean PRIMARY KEY DEFAULT true CHECK (id))",
    "INSERT INTO ledger_lock DEFAULT VALUES",
    "DELETE FROM ledger_meta WHERE name = 'shards'",
    "UPDATE ledger_meta SET value = '2'::bytea WHERE name = 'schema'",
]


def single_chain(pg: PostgresBackend) -> dict[str, tuple[Event, ...]]:
    """A schema 2 ledger (one chain), made as the lawful before shards made it: a one-shard
    ledger has the same records and heads, byte for byte; only the tables differ.
    """
    from lawful.ledger import _pgschema  # noqa: PLC0415 - optional extra

    chain = PostgresBackend(Path(), shards=1)
    chain.schema = pg.schema
    names = [f"s-{n}" for n in range(6)]
    with open_ledger(chain, clock=fixed_clock, encrypt=False) as ledger:
        for n in range(24):
            ledger.append(names[n % 6], consent(n))
        ledger.erase(names[1], keep_proof=True)
        ledger.erase(names[2])
        ledger.append(names[2], consent(99))
        truth = {name: ledger.subject(name).events for name in names}
    guard = _pgschema.MIGRATIONS[1][2].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
    # (The guard's text has a % of its own: doubled, for the driver's placeholders.)
    for statement in [*TO_VERSION_2, guard.format(schema=pg.schema).replace("%", "%%")]:
        pg.sql(statement)
    return truth


def test_a_single_chain_ledger_is_refused_then_migrates(pg: PostgresBackend) -> None:
    """A schema 2 (single-chain) ledger is refused with a clear error and left unchanged;
    ``migrate=True`` verifies it, re-seals it in shards, and it then reads, decides,
    verifies and grows as before.
    """
    truth = single_chain(pg)
    with pytest.raises(LedgerError, match=r"single-chain ledger.*migrate=True"):
        open_ledger(pg)
    assert pg.sql("SELECT value FROM ledger_meta WHERE name = 'schema'") == [(b"2",)]
    with open_ledger(pg, migrate=True) as ledger:
        head = ledger.verify()
        assert len(head.shards) == SHARDS
        assert head.count == 24 + 2 + 1
        for name, events in truth.items():
            assert ledger.subject(name).events == events
        ledger.append("s-7", consent(200))
    with open_ledger(pg) as ledger:
        assert ledger.verify().count == head.count + 1
    assert pg.sql("SELECT count(*) FROM ledger_meta WHERE name IN ('head', 'reshard')") == [(0,)]


def test_an_interrupted_migration_is_refused_until_finished(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the re-sealing fails after the schema changed, the ledger is refused (never read
    as shards while it is one chain) until opened with ``migrate=True`` again.
    """
    from lawful.ledger import postgres  # noqa: PLC0415 - optional extra

    truth = single_chain(pg)

    def fail(*_: object) -> None:
        raise LedgerError("interrupted")

    with monkeypatch.context() as patch:
        patch.setattr(postgres, "reshard", fail)
        with pytest.raises(LedgerError, match="interrupted"):
            open_ledger(pg, migrate=True)
    with pytest.raises(LedgerError, match="did not finish"):
        open_ledger(pg)
    with open_ledger(pg, migrate=True) as ledger:
        assert ledger.verify().count == 27
        assert ledger.subject("s-0").events == truth["s-0"]


def test_ledgers_opened_while_another_migrates_do_not_migrate_again(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that opens the ledger with ``migrate=True`` while another is re-sealing it
    waits for the shards' locks, then finds the work done: it does not verify the re-sealed
    shards as one chain again (which failed: a false integrity error for every process
    but the first to migrate).
    """
    from lawful.ledger import postgres  # noqa: PLC0415 - optional extra

    truth = single_chain(pg)
    real = postgres.reshard  # type: ignore[attr-defined]
    second: list[object] = []

    def racing(key: LedgerKey, writer: object) -> None:
        if not second:
            # Every shard is locked by this write: the other opening waits for it.
            other = threading.Thread(target=lambda: second.append(opened()))
            second.append(other)
            other.start()
            time.sleep(0.5)
        real(key, writer)  # type: ignore[arg-type]

    def opened() -> object:
        try:
            with open_ledger(pg, migrate=True) as ledger:
                return ledger.verify()
        except LedgerError as exc:
            return exc

    with monkeypatch.context() as patch:
        patch.setattr(postgres, "reshard", racing)
        with open_ledger(pg, migrate=True) as ledger:
            head = ledger.verify()
        thread = second[0]
        assert isinstance(thread, threading.Thread)
        thread.join(30)
    assert second[1:] == [head]
    with open_ledger(pg) as ledger:
        assert {name: ledger.subject(name).events for name in truth} == truth


def test_a_tampered_single_chain_is_not_migrated(pg: PostgresBackend) -> None:
    """Migration verifies the chain first: an edited record stops it, nothing re-sealed."""
    single_chain(pg)
    pg.sql("UPDATE ledger_records SET digest = sha256(digest) WHERE seq = 5")
    with pytest.raises(LedgerIntegrityError, match="record 5"):
        open_ledger(pg, migrate=True)
    assert pg.sql("SELECT count(*) FROM ledger_meta WHERE name = 'reshard'") == [(1,)]


def test_the_number_of_shards_is_fixed_at_creation(pg: PostgresBackend) -> None:
    """Asking for another number of shards than the ledger was created with is refused."""
    with open_ledger(pg):
        pass
    with pytest.raises(LedgerError, match="4 shards, fixed when it was created"):
        open_ledger(pg, shards=8)
    with pytest.raises(LedgerError, match="shards must be 1 to"):
        open_ledger(pg, shards=0)
    with open_ledger(pg, shards=None) as ledger:
        assert ledger.shards == SHARDS


def test_a_failed_notification_after_the_commit_is_not_a_failed_append(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The notification goes after the write's COMMIT (a notifying commit would hold a
    cluster-wide lock through the flush): if it fails, the append still succeeded.
    """
    from lawful.ledger import _pgview  # noqa: PLC0415 - optional extra

    monkeypatch.setattr(_pgview, "_NOTIFY", "SELECT 1 / 0 WHERE %s IS NOT NULL AND %s IS NOT NULL")
    with open_ledger(pg) as ledger:
        stored = ledger.append("s-1", consent(0))
        assert list(ledger.events("s-1")) == [stored]


def test_the_command_line_migrates_a_single_chain_ledger(
    pg: PostgresBackend,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``lawful ledger migrate postgres:SCHEMA`` takes the DSN from the environment (never
    the command line), verifies the single chain and re-seals it in ``--shards`` shards.
    """
    from lawful.cli import main  # noqa: PLC0415 - the command line

    truth = single_chain(pg)
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    key_file.chmod(0o600)
    target = f"postgres:{pg.schema}"
    argv = ["ledger", "migrate", target, "--key-file", str(key_file), "--shards", "4"]
    assert main(argv) == 2
    assert "LAWFUL_LEDGER_DSN" in capsys.readouterr().err
    monkeypatch.setenv("LAWFUL_LEDGER_DSN", pg.dsn)
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "4 shard(s), events in clear; head 27:" in out
    assert pg.dsn not in out + err
    head = out.rsplit("head ", 1)[1].strip()
    with open_ledger(pg) as ledger:
        assert ledger.subject("s-3").events == truth["s-3"]
    # --encrypt then encrypts it in place: the same head, the same events, keys per subject.
    assert main([*argv, "--encrypt"]) == 0
    out, err = capsys.readouterr()
    assert f"4 shard(s), events encrypted per subject; head {head}" in out
    assert pg.dsn not in out + err
    with open_ledger(pg, encrypt=True) as ledger:
        assert ledger.encrypted
        assert ledger.subject("s-3").events == truth["s-3"]
