"""What the SQLite ledger adds to the contract: its pragmas, schema migrations, files, fork."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from tests.ledger._backends import KEY, T0

from lawful import ConsentGiven
from lawful.exceptions import LedgerError
from lawful.ledger import SQLiteLedger, _sqlite


def consent(n: int) -> ConsentGiven:
    return ConsentGiven(at=T0, purpose="analytics", id=f"c-{n}")


def test_connections_use_wal_full_sync_and_secure_delete(tmp_path: Path) -> None:
    """Every connection runs in WAL mode with synchronous=FULL and secure_delete on."""
    with SQLiteLedger(tmp_path / "l.db", key=KEY) as ledger:
        conn = ledger._sqlite._connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
        assert conn.execute("PRAGMA temp_store").fetchone()[0] == 2  # MEMORY


def test_a_new_file_gets_the_current_schema(tmp_path: Path) -> None:
    """A new ledger file records the schema version it was created with."""
    with SQLiteLedger(tmp_path / "l.db", key=KEY):
        pass
    conn = sqlite3.connect(tmp_path / "l.db")
    assert _sqlite.schema_version(conn) == len(_sqlite.MIGRATIONS) == 2
    conn.close()


def test_migrations_run_once_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration added later upgrades an existing file once, keeping its records."""
    path = tmp_path / "l.db"
    with SQLiteLedger(path, key=KEY) as ledger:
        ledger.append("s-1", consent(0))
    upgraded = (*_sqlite.MIGRATIONS, ("CREATE TABLE ledger_extra (x INTEGER)",))
    monkeypatch.setattr(_sqlite, "MIGRATIONS", upgraded)
    for _ in range(2):
        with SQLiteLedger(path, key=KEY) as ledger:
            assert ledger.verify().count == 1
    conn = sqlite3.connect(path)
    assert _sqlite.schema_version(conn) == 3
    assert conn.execute("SELECT count(*) FROM ledger_extra").fetchone() == (0,)
    conn.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    """A file written by a newer lawful is not opened, and not changed."""
    path = tmp_path / "l.db"
    with SQLiteLedger(path, key=KEY):
        pass
    conn = sqlite3.connect(path)
    conn.execute("UPDATE ledger_meta SET value = CAST('9' AS BLOB) WHERE name = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="schema version 9 is newer"):
        SQLiteLedger(path, key=KEY)


def test_create_false_refuses_a_missing_file(tmp_path: Path) -> None:
    """create=False reports a missing ledger instead of creating an empty one."""
    with pytest.raises(LedgerError, match="no such ledger"):
        SQLiteLedger(tmp_path / "missing.db", key=KEY, create=False)
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("garbage.db", b"this is not a database" * 100, "not a database"),
        (":memory:", None, "write-ahead logging"),
    ],
)
def test_files_that_cannot_hold_a_ledger_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: bytes | None, message: str
) -> None:
    """A file that is not SQLite, or a database without WAL, raises LedgerError."""
    monkeypatch.chdir(tmp_path)
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(LedgerError, match=message):
        SQLiteLedger(name, key=KEY)


def test_a_forked_child_opens_its_own_connection(tmp_path: Path) -> None:
    """A ledger used across fork() appends from the child without sharing the parent's
    connection, and the chain stays whole.
    """
    with SQLiteLedger(tmp_path / "l.db", key=KEY) as ledger:
        ledger.append("s-1", consent(0))
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit status
            try:
                ledger.append("s-1", consent(1))
                status = 0
            except BaseException:  # noqa: BLE001 - any failure is the child's exit status
                status = 1
            os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        ledger.append("s-1", consent(2))
        assert [e.id for e in ledger.events("s-1")] == ["c-0", "c-1", "c-2"]
        assert ledger.verify().count == 3
