"""Regressions of the ledger issue: each test is named for the point it pins.

Reads must never return what nobody verified; a backup must restore the same
decisions; the ledger must never store what it cannot read back.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from tests.ledger._backends import KEY, POLICY, T0, Backend

from lawful import ConsentGiven, ConsentWithdrawn
from lawful.cli import main
from lawful.exceptions import EventError, LedgerError, LedgerIntegrityError, LedgerKeyError
from lawful.ledger import LedgerKey, MemoryLedger, SQLiteLedger

LATER = T0 + timedelta(days=2)


def granted_then_withdrawn(backend: Backend) -> None:
    """s-1 grants (record 1), s-2 grants (2), s-1 withdraws (3), s-2 interacts (4)."""
    with backend.open() as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        ledger.append("s-2", ConsentGiven(at=T0, purpose="analytics", id="g-2"))
        ledger.append("s-1", ConsentWithdrawn(at=T0 + timedelta(hours=1), purpose="analytics"))
        ledger.append("s-2", ConsentGiven(at=T0, purpose="fraud", id="g-3"))
        assert not POLICY.may_process(ledger.subject("s-1"), "analytics", LATER).allowed


def test_point_3_an_edited_withdrawal_is_not_read(sql_backend: Backend) -> None:
    """A withdrawal edited into a grant in the store raises on read instead of allowing."""
    granted_then_withdrawn(sql_backend)
    (payload,) = sql_backend.sql("SELECT payload FROM ledger_records WHERE seq = 3")[0]
    assert isinstance(payload, bytes)
    forged = payload.replace(b"consent_withdrawn", b"consent_given")
    sql_backend.sql("UPDATE ledger_records SET payload = ? WHERE seq = 3", [forged])
    with sql_backend.open() as ledger:
        with pytest.raises(LedgerIntegrityError, match="record 3: ") as caught:
            ledger.subject("s-1")
        assert caught.value.record == 3
        with pytest.raises(LedgerIntegrityError):
            list(ledger.events("s-1"))
        with pytest.raises(LedgerIntegrityError):
            ledger.export("s-1")
        with pytest.raises(LedgerIntegrityError):
            list(ledger.dump())
        assert len(ledger.subject("s-2").events) == 2  # other subjects still read


def test_point_3_the_cli_does_not_allow_from_an_edited_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`lawful ledger show --purpose` on an edited withdrawal: one error line, exit 2."""
    path = tmp_path / "l.db"
    with SQLiteLedger(path, key=KEY.hex().encode()) as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        ledger.append("s-1", ConsentWithdrawn(at=T0, purpose="analytics", id="w-1"))
    conn = sqlite3.connect(path)
    (payload,) = conn.execute("SELECT payload FROM ledger_records WHERE seq = 2").fetchone()
    conn.execute(
        "UPDATE ledger_records SET payload = ? WHERE seq = 2",
        (payload.replace(b"consent_withdrawn", b"consent_given"),),
    )
    conn.commit()
    conn.close()
    monkeypatch.setenv("LAWFUL_LEDGER_KEY", KEY.hex())
    argv = ["ledger", "show", str(path), "s-1", "--purpose", "analytics"]
    code = main([*argv, "--policy", "piwik-pro", "--at", "2025-03-05T00:00:00Z"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.startswith("lawful: error: record 2: ")
    assert err.count("\n") == 1


def test_point_4_a_restored_backup_keeps_the_erasure(backend: Backend) -> None:
    """A backup restored into an empty ledger denies what the live ledger denies."""
    with backend.open() as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        ledger.append("s-2", ConsentGiven(at=T0, purpose="analytics", id="g-2"))
        ledger.erase("s-1", at=T0 + timedelta(hours=1))
        ledger.append("s-1", ConsentGiven(at=T0 + timedelta(hours=2), purpose="analytics"))
        backup = list(ledger.dump())
        live = {s: ledger.subject(s) for s in ("s-1", "s-2")}
    copy = MemoryLedger(key=KEY)
    done = copy.restore(backup)
    assert (done.added, done.present, done.skipped) == (3, 0, 0)  # g-1 was erased
    for subject, history in live.items():
        assert copy.subject(subject).events == history.events
        for hours in (0, 1, 3):
            at, collected = T0 + timedelta(hours=hours, minutes=30), T0
            assert POLICY.may_process(
                copy.subject(subject), "analytics", at, collected_at=collected
            ) == POLICY.may_process(history, "analytics", at, collected_at=collected)


def test_point_4_an_older_backup_never_brings_erased_events_back(backend: Backend) -> None:
    """A backup taken before an erasure, restored into the ledger that erased, adds
    nothing of the erased subject and says how many it skipped.
    """
    with backend.open() as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        ledger.append("s-1", ConsentGiven(at=T0, purpose="fraud", id="g-2"))
        old = list(ledger.dump())
        ledger.erase("s-1")
        before = ledger.subject("s-1").events
        done = ledger.restore(old)
        assert (done.added, done.skipped) == (0, 2)
        assert ledger.subject("s-1").events == before
        ledger.verify()
        erasure_only = [e for e in ledger.dump() if e.subject is None]
    # Into a ledger that holds the erasure but never held the ids: skipped, by time.
    other = MemoryLedger(key=KEY)
    other.restore(erasure_only)
    assert other.restore(old).skipped == 2
    assert other.subject("s-1").events == before


def test_point_4_a_backup_needs_the_same_key(backend: Backend) -> None:
    """An erasure's pseudonym means nothing under another key: refused, not lost."""
    with backend.open() as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        ledger.erase("s-1")
        backup = list(ledger.dump())
    with pytest.raises(LedgerKeyError, match="another ledger key"):
        MemoryLedger(key=bytes(range(5, 37))).restore(backup)


def _unchecked(**fields: object) -> ConsentGiven:
    """A consent with fields its constructor would refuse, forced in past the validators:
    what a caller who bypasses them could hand the ledger (defence in depth).
    """
    event = ConsentGiven(at=T0, purpose="analytics", id="u-1")
    for name, value in fields.items():
        object.__setattr__(event, name, value)
    return event


@pytest.mark.parametrize(
    "event",
    [
        _unchecked(purpose=None, id="n-1"),
        _unchecked(purpose=b"analytics", id="b-1"),
        _unchecked(id=7),
    ],
)
def test_point_5_what_cannot_be_read_back_is_not_stored(backend: Backend, event: object) -> None:
    """An event that would not read back is refused with EventError; nothing is written
    (events are checked where they are made, too; these were forced past that check).
    """
    with backend.open() as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        head = ledger.head()
        with pytest.raises(EventError):
            ledger.append_batch([("s-2", ConsentGiven(at=T0, purpose="fraud")), ("s-1", event)])  # type: ignore[list-item]
        assert ledger.head() == head
        assert ledger.verify() == head
        assert len(list(ledger.dump())) == 1
        ledger.erase("s-1", keep_proof=True)
        ledger.verify()


@pytest.mark.parametrize(
    ("statement", "record"),
    [
        ("UPDATE ledger_records SET payload = CAST(payload AS TEXT) WHERE seq = 2", 2),
        ("UPDATE ledger_records SET mac = 'x' WHERE seq = 3", 3),
        ("UPDATE ledger_records SET seq = -1 WHERE seq = 4", None),
        ("UPDATE ledger_records SET seq = 9223372036854775807 WHERE seq = 4", None),
        ("UPDATE ledger_records SET kind = 'x' WHERE seq = 2", 2),
        ("UPDATE ledger_records SET digest = 12 WHERE seq = 1", 1),
        ("UPDATE ledger_records SET nonce = 1.5 WHERE seq = 1", 1),
        ("UPDATE ledger_records SET link = -3 WHERE seq = 3", 3),
        ("UPDATE ledger_records SET subject_tag = 'abc' WHERE seq = 1", 1),
        ("UPDATE ledger_meta SET value = 'x' WHERE name = 'head'", None),
        ("UPDATE ledger_meta SET value = 12 WHERE name = 'head'", None),
        ("UPDATE ledger_subjects SET seq = 'x'", None),
        ("UPDATE ledger_subjects SET seal = 5", None),
    ],
)
def test_point_8_column_types_tampered_are_named_not_crashes(
    tmp_path: Path, statement: str, record: int | None
) -> None:
    """Odd column types and values give LedgerIntegrityError from verify and reads."""
    path = tmp_path / "l.db"
    with SQLiteLedger(path, key=KEY) as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        ledger.append("s-1", ConsentGiven(at=T0, purpose="fraud", id="g-2"))
        ledger.append("s-1", ConsentWithdrawn(at=T0, purpose="analytics", id="w-1"))
        ledger.append("s-2", ConsentGiven(at=T0, purpose="analytics", id="g-3"))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(statement)
    conn.close()
    with SQLiteLedger(path, key=KEY) as ledger:
        with pytest.raises(LedgerIntegrityError) as caught:
            ledger.verify()
        if record is not None:
            assert caught.value.record == record
        with pytest.raises(LedgerIntegrityError):
            list(ledger.dump())  # a backup verifies the whole chain first
        for subject in ("s-1", "s-2"):
            with contextlib.suppress(LedgerIntegrityError):
                ledger.subject(subject)  # verified and true, or refused: nothing else


def test_point_11_verify_never_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify refuses another application's database and an empty file, writing nothing."""
    monkeypatch.setenv("LAWFUL_LEDGER_KEY", KEY.hex())
    other = tmp_path / "app.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.commit()
    conn.close()
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    for path, message in ((other, "not a lawful ledger"), (empty, "an empty file")):
        before = path.read_bytes()
        code = main(["ledger", "verify", str(path)])
        _, err = capsys.readouterr()
        assert code == 2
        assert message in err
        assert err.count("\n") == 1
        assert path.read_bytes() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["app.db", "empty.db"]
    with pytest.raises(LedgerError, match="not a lawful ledger"):
        SQLiteLedger(other, key=KEY)  # not even a writer creates tables in someone's database


def test_point_11_a_ledger_opened_read_only_refuses_writes(tmp_path: Path) -> None:
    """read_only=True opens with mode=ro: reads work, writes raise, the file is unchanged."""
    path = tmp_path / "l.db"
    with SQLiteLedger(path, key=KEY) as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
    path.chmod(0o400)
    before = path.read_bytes()
    with SQLiteLedger(path, key=KEY, read_only=True) as ledger:
        assert ledger.verify().count == 1
        assert len(ledger.subject("s-1").events) == 1
        with pytest.raises(LedgerError, match="read-only"):
            ledger.append("s-1", ConsentGiven(at=T0, purpose="fraud"))
    assert path.read_bytes() == before


def test_point_12_deleted_tail_is_not_resealed(sql_backend: Backend) -> None:
    """Deleting the newest record and writing a bogus head: the next append refuses, and
    the subject's read notices the missing withdrawal even before.
    """
    granted_then_withdrawn(sql_backend)
    sql_backend.sql("DELETE FROM ledger_records WHERE seq = 4")
    sql_backend.sql("DELETE FROM ledger_records WHERE seq = 3")
    (head,) = sql_backend.sql("SELECT value FROM ledger_meta WHERE name = 'head'")[0]
    assert isinstance(head, bytes)
    bogus = (2).to_bytes(8, "big") + head[8:40] + bytes(32)
    sql_backend.sql("UPDATE ledger_meta SET value = ? WHERE name = 'head'", [bogus])
    with sql_backend.open() as ledger:
        with pytest.raises(LedgerIntegrityError, match="record 3: missing"):
            ledger.subject("s-1")
        with pytest.raises(LedgerIntegrityError, match="refusing to extend"):
            ledger.append("s-3", ConsentGiven(at=T0, purpose="analytics"))
        with pytest.raises(LedgerIntegrityError):
            ledger.verify()
        with pytest.raises(LedgerIntegrityError):
            ledger.erase("s-3")


def test_point_12_a_head_without_its_record_is_not_extended(sql_backend: Backend) -> None:
    """A correctly sealed head whose record was deleted is not extended either."""
    granted_then_withdrawn(sql_backend)
    sql_backend.sql("DELETE FROM ledger_records WHERE seq = 4")
    with sql_backend.open() as ledger, pytest.raises(LedgerIntegrityError, match="record 4: "):
        ledger.append("s-3", ConsentGiven(at=T0, purpose="analytics"))


def test_point_13_deleted_record_is_noticed_on_read(sql_backend: Backend) -> None:
    """A subject's withdrawal deleted from the middle (later records of others stay) is
    noticed by the subject's read: its sealed head names the missing record.
    """
    granted_then_withdrawn(sql_backend)
    sql_backend.sql("DELETE FROM ledger_records WHERE seq = 3")
    with sql_backend.open() as ledger:
        with pytest.raises(LedgerIntegrityError, match="record 3: missing") as caught:
            ledger.subject("s-1")
        assert caught.value.record == 3
        # s-2's record 4 is chained to the missing one: it cannot be verified either.
        with pytest.raises(LedgerIntegrityError, match="record 3: missing"):
            ledger.subject("s-2")


def test_point_13_a_gap_inside_a_history_is_noticed(sql_backend: Backend) -> None:
    """A record deleted between two of the same subject breaks the later one's link."""
    granted_then_withdrawn(sql_backend)
    with sql_backend.open() as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="fraud", id="g-9"))
    sql_backend.sql("DELETE FROM ledger_records WHERE seq = 3")
    with sql_backend.open() as ledger, pytest.raises(LedgerIntegrityError, match="record 3: "):
        ledger.subject("s-1")


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        (b"short", "at least 32 bytes"),
        (b"a" * 40, "one byte repeated"),
        ("not bytes", "expected bytes"),
    ],
)
def test_weak_keys_are_refused(secret: object, message: str) -> None:
    """Short, placeholder and non-bytes keys raise LedgerKeyError."""
    with pytest.raises(LedgerKeyError, match=message):
        LedgerKey.from_bytes(secret)  # type: ignore[arg-type]


def test_key_files_are_read_bounded(tmp_path: Path) -> None:
    """A key file over 4 KiB, or /dev/zero, is refused without reading it to its end."""
    big = tmp_path / "big"
    big.write_bytes(os.urandom(5000))
    with pytest.raises(LedgerKeyError, match="larger than 4096"):
        LedgerKey.from_file(big)
    if Path("/dev/zero").exists():
        with pytest.raises(LedgerKeyError, match="larger than 4096"):
            LedgerKey.from_file("/dev/zero")


def test_a_non_utf8_key_in_the_environment_is_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """LAWFUL_LEDGER_KEY that is not UTF-8: 'lawful: error: ...', exit 2."""
    monkeypatch.setitem(os.environb, b"LAWFUL_LEDGER_KEY", b"\xff" * 40)
    code = main(["ledger", "verify", str(tmp_path / "l.db")])
    _, err = capsys.readouterr()
    assert code == 2
    assert "not UTF-8" in err


def test_format_1_ledgers_are_refused_then_migrated(tmp_path: Path) -> None:
    """A format 1 file is refused with the command that migrates it; migrating keeps
    every event and the result verifies.
    """
    path = tmp_path / "old.db"
    with SQLiteLedger(path, key=KEY) as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        ledger.append("s-2", ConsentGiven(at=T0, purpose="analytics", id="g-2"))
        ledger.append("s-1", ConsentWithdrawn(at=T0, purpose="analytics", id="w-1"))
        events = ledger.subject("s-1").events
    make_format_1(path)
    with pytest.raises(LedgerError, match="lawful ledger migrate"):
        SQLiteLedger(path, key=KEY)
    with SQLiteLedger(path, key=KEY, migrate=True) as ledger:
        assert ledger.verify().count == 3
        assert ledger.subject("s-1").events == events
    with SQLiteLedger(path, key=KEY, read_only=True) as ledger:
        assert ledger.verify().count == 3


def make_format_1(path: Path) -> None:
    """Rewrite a format 2 file as lawful 1 wrote it: format 1 MACs, schema 1."""
    from lawful.ledger._chain import GENESIS, RecordKind  # noqa: PLC0415 - test tooling
    from lawful.ledger._verify import pack_head  # noqa: PLC0415 - test tooling

    key = LedgerKey.from_bytes(KEY)
    conn = sqlite3.connect(path, isolation_level=None)
    rows = conn.execute(
        "SELECT seq, kind, subject_tag, id_tag, digest FROM ledger_records ORDER BY seq"
    ).fetchall()
    prev = GENESIS
    for seq, kind, tag, id_tag, digest in rows:
        prev = key.mac_v1(prev, seq, RecordKind(kind), tag, id_tag, digest)
        conn.execute("UPDATE ledger_records SET mac = ? WHERE seq = ?", (prev, seq))
    conn.execute(
        "UPDATE ledger_meta SET value = ? WHERE name = 'head'", (pack_head(key, len(rows), prev),)
    )
    conn.execute("DROP TABLE ledger_subjects")
    conn.execute("ALTER TABLE ledger_records DROP COLUMN link")
    conn.execute("DELETE FROM ledger_meta WHERE name = 'format'")
    conn.execute("UPDATE ledger_meta SET value = CAST('1' AS BLOB) WHERE name = 'schema'")
    conn.close()
