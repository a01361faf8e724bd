"""Erasure (Art. 17) leaves none of the subject's personal data in the SQLite file's bytes."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.ledger._backends import KEY, POLICY, T0, TickingClock

from lawful import (
    BirthDateDeclared,
    ConsentGiven,
    ContractStarted,
    Event,
    Interaction,
    ParentalConsentGiven,
    ReasonCode,
)
from lawful.exceptions import LedgerError
from lawful.ledger import SQLiteLedger

SUBJECT = "alice.liddell@example.com"
EMAIL = "guardian.liddell@example.org"
IP = "198.51.100.23"
BIRTH = date(1984, 2, 29)
NEEDLES = [SUBJECT, EMAIL, IP, BIRTH.isoformat(), "ALICE-ORDER-7731", "alice-event-"]
"""Everything personal about the subject, as it would appear in the file."""


def alice(n: int) -> list[Event]:
    at = T0 + timedelta(hours=n)
    return [
        ConsentGiven(
            at=at, purpose="analytics", policy_version=f"from {IP}", id=f"alice-event-{n}"
        ),
        Interaction(at=at, kind=f"visit from {IP}", id=f"alice-event-{n}-i"),
    ]


def others(n: int) -> list[tuple[str, Event]]:
    at = T0 + timedelta(hours=n)
    return [(f"visitor-{n}-{i}", ConsentGiven(at=at, purpose="analytics")) for i in range(20)]


def file_bytes(path: Path) -> bytes:
    """The database file and its WAL and shared-memory files, as they are on disk now."""
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def fill(path: Path, ledger: SQLiteLedger) -> None:
    """Alice's data spread over many pages, in the main file and in the WAL."""
    ledger.append_batch(
        [
            (SUBJECT, BirthDateDeclared(at=T0, birth_date=BIRTH, id="alice-event-birth")),
            (SUBJECT, ParentalConsentGiven(at=T0, guardian=EMAIL, id="alice-event-parent")),
            (SUBJECT, ContractStarted(at=T0, contract="ALICE-ORDER-7731", id="alice-event-k")),
        ]
    )
    for n in range(30):
        ledger.append_batch([*((SUBJECT, e) for e in alice(n)), *others(n)])
        if n == 15:
            # Half of it checkpointed into the main file, half still only in the WAL.
            conn = sqlite3.connect(path)
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.close()


@pytest.mark.parametrize("vacuum", [True, False], ids=["vacuum", "no-vacuum"])
def test_erasure_leaves_no_personal_data_in_the_file(tmp_path: Path, vacuum: bool) -> None:
    """After erase(), no id, email, IP or birth date of the subject is in any file's bytes
    (WAL included), the chain verifies and decisions deny ERASED.
    """
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path, key=KEY, clock=TickingClock(), vacuum=vacuum) as ledger:
        fill(path, ledger)
        before = file_bytes(path)
        assert all(needle.encode() in before for needle in NEEDLES)
        erasure = ledger.erase(SUBJECT)
        during = file_bytes(path)
        subject = ledger.subject(SUBJECT)
        head = ledger.verify()
    after = file_bytes(path)
    for needle in NEEDLES:
        assert needle.encode() not in during, needle
        assert needle.encode() not in after, needle
    assert b"visitor-29-19" in after
    assert subject.events == (erasure,)
    assert head.count == 3 + 30 * 22 + 1
    decision = POLICY.may_process(subject, "analytics", erasure.at, collected_at=T0)
    assert (decision.allowed, decision.code) == (False, ReasonCode.ERASED)


def test_keeping_proof_keeps_only_the_consent_records(tmp_path: Path) -> None:
    """With keep_proof, consent records stay (with the subject id); the rest is gone."""
    path = tmp_path / "ledger.db"
    with SQLiteLedger(path, key=KEY, clock=TickingClock()) as ledger:
        fill(path, ledger)
        ledger.erase(SUBJECT, keep_proof=True)
        ledger.verify()
        data = file_bytes(path)
    assert SUBJECT.encode() in data
    assert EMAIL.encode() in data
    assert BIRTH.isoformat().encode() not in data
    assert b"ALICE-ORDER-7731" not in data
    assert f"visit from {IP}".encode() not in data


def test_a_busy_log_is_reported_and_purged_later(tmp_path: Path) -> None:
    """When another reader holds the WAL, erase() commits, says the purge failed, and
    purge() finishes it once the reader is gone.
    """
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path, key=KEY, clock=TickingClock(), timeout=0.05)
    fill(path, ledger)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ledger_records").fetchone()
    with pytest.raises(LedgerError, match="erasure recorded"):
        ledger.erase(SUBJECT)
    assert [e.event_type for e in ledger.events(SUBJECT)] == ["erasure"]
    reader.execute("COMMIT")
    reader.close()
    ledger.purge()
    assert not any(needle.encode() in file_bytes(path) for needle in NEEDLES)
    ledger.close()


def test_a_purge_cut_short_is_finished_when_the_file_is_next_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the process dies between the erasure's commit and its purge, the next open purges."""
    path = tmp_path / "ledger.db"
    ledger = SQLiteLedger(path, key=KEY, clock=TickingClock())
    fill(path, ledger)
    monkeypatch.setattr(ledger._sqlite, "purge", lambda: None)  # the process "dies" here
    ledger.erase(SUBJECT)
    assert any(needle.encode() in file_bytes(path) for needle in NEEDLES)
    with SQLiteLedger(path, key=KEY) as reopened:
        assert not any(needle.encode() in file_bytes(path) for needle in NEEDLES)
        assert reopened.verify().count == 3 + 30 * 22 + 1
    ledger.close()
