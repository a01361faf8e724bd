"""Properties of the ledger: reads fail closed under tampering; backups restore decisions.

Art. 5(2) and Art. 7(1): the controller must be able to demonstrate consent, so a
decision may rest only on records the chain verifies; Art. 17: an erasure survives a
backup and its restore.
"""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ledger._backends import KEY, T0

import lawful
from lawful import ConsentGiven, ConsentWithdrawn, Erasure, Event
from lawful.exceptions import LedgerIntegrityError
from lawful.ledger import MemoryLedger, SQLiteLedger
from lawful.strategies import event_histories

POLICY = lawful.bundled_policy("piwik-pro")
SUBJECTS = ("s-1", "s-2", "s-3")
COLUMNS = ("seq", "kind", "subject_tag", "id_tag", "nonce", "payload", "digest", "mac", "link")
VALUES = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.binary(max_size=40),
)


def _fill(path: Path) -> dict[str, tuple[Event, ...]]:
    with SQLiteLedger(path, key=KEY) as ledger:
        for n in range(6):
            subject = SUBJECTS[n % 3]
            at = T0 + timedelta(hours=n)
            event: Event = (
                ConsentWithdrawn(at=at, purpose="analytics", id=f"e-{n}")
                if n % 2
                else ConsentGiven(at=at, purpose="analytics", id=f"e-{n}")
            )
            ledger.append(subject, event)
        ledger.erase("s-3", at=T0 + timedelta(days=1), keep_proof=True)
        return {s: ledger.subject(s).events for s in SUBJECTS}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.one_of(
            st.tuples(
                st.just("byte"),
                st.integers(1, 8),
                st.sampled_from(COLUMNS[2:8]),
                st.integers(0, 63),
                st.integers(1, 255),
            ),
            st.tuples(st.just("value"), st.integers(1, 8), st.sampled_from(COLUMNS), VALUES),
        ),
        min_size=1,
        max_size=3,
    )
)
def test_a_tampered_ledger_reads_true_events_or_raises(edits: list[tuple[object, ...]]) -> None:
    """After random byte and column edits, every read returns exactly the true events or
    raises LedgerIntegrityError; never another exception, never a changed history.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "l.db"
        truth = _fill(path)
        conn = sqlite3.connect(path, isolation_level=None)
        for edit in edits:
            if edit[0] == "byte":
                _, seq, column, offset, flip = edit
                row = conn.execute(
                    f"SELECT {column} FROM ledger_records WHERE seq = ?",  # noqa: S608
                    (seq,),
                ).fetchone()
                if row is None or not isinstance(row[0], bytes) or not row[0]:
                    continue
                data = bytearray(row[0])
                data[int(offset) % len(data)] ^= int(flip)  # type: ignore[call-overload]
                conn.execute(
                    f"UPDATE ledger_records SET {column} = ? WHERE seq = ?",  # noqa: S608
                    (bytes(data), seq),
                )
            else:
                _, seq, column, value = edit
                try:
                    conn.execute(
                        f"UPDATE ledger_records SET {column} = ? WHERE seq = ?",  # noqa: S608
                        (value, seq),
                    )
                except sqlite3.Error:
                    continue  # a constraint refused the edit
        conn.close()
        try:
            ledger = SQLiteLedger(path, key=KEY)
        except LedgerIntegrityError:
            return
        with ledger:
            for subject in SUBJECTS:
                try:
                    events = ledger.subject(subject).events
                except LedgerIntegrityError:
                    continue
                assert events == truth[subject]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    histories=st.lists(event_histories(policy=POLICY, max_size=6), min_size=1, max_size=3),
    erase=st.lists(st.booleans(), min_size=3, max_size=3),
    keep=st.booleans(),
    instants=st.lists(st.integers(-2, 400), min_size=1, max_size=4),
)
def test_a_restored_backup_decides_as_the_live_ledger(
    histories: list[list[Event]], erase: list[bool], keep: bool, instants: list[int]
) -> None:
    """export -> import into an empty ledger gives the same decisions for every subject,
    purpose and instant, erasures (Art. 17) included.
    """
    live = MemoryLedger(key=KEY)
    names = [f"s-{n}" for n in range(len(histories))]
    for name, history in zip(names, histories, strict=True):
        for event in sorted(history, key=lambda e: e.at):
            live.append(name, attrs.evolve(event, id=None))  # ids from content: no clashes
        if erase[names.index(name)]:
            live.erase(name, at=T0 + timedelta(days=30), keep_proof=keep)
    copy = MemoryLedger(key=KEY)
    copy.restore(live.dump())
    for name in names:
        original, restored = live.subject(name), copy.subject(name)
        assert restored.events == original.events
        for days in instants:
            at = T0 + timedelta(days=days)
            assert POLICY.decide_all(restored, at) == POLICY.decide_all(original, at)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    history=event_histories(policy=POLICY, max_size=12),
    instants=st.lists(st.integers(-2, 400), min_size=1, max_size=3),
)
def test_a_subject_read_back_decides_as_the_events_stored(
    history: list[Event], instants: list[int]
) -> None:
    """Art. 7(1): the subject a ledger reads (every record verified and decoded) holds
    exactly the events its appends stored, and decides as a Subject made from them, for
    every purpose and instant. (An erasure removes what it erases: the backup property
    above covers it.)
    """
    with MemoryLedger(key=KEY) as ledger:
        stored = [
            ledger.append("s", attrs.evolve(event, id=None))  # ids from content: no clashes
            for event in sorted(history, key=lambda e: e.at)
            if not isinstance(event, Erasure)
        ]
        read = ledger.subject("s")
    made = lawful.Subject("s", list(dict.fromkeys(stored)))  # a retried append stores once
    assert read.events == made.events
    for days in instants:
        at = T0 + timedelta(days=days)
        assert POLICY.decide_all(read, at) == POLICY.decide_all(made, at)
