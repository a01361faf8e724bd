"""Tamper evidence: rows changed behind the ledger's back are caught, naming the record.

Each case edits the store with SQL, as someone with access to the database but not
to the key would, then checks that ``verify()`` names the first broken record.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

import attrs
import pytest
from tests.ledger._backends import OTHER_KEY, T0, Backend

from lawful import ConsentGiven
from lawful.exceptions import LedgerIntegrityError
from lawful.ledger import Head, LedgerKey

N = 6  # records in the ledger under attack


@attrs.frozen
class Case:
    """One tampering: what it does to the rows, and the record verify() must name."""

    tamper: Callable[[Backend], None]
    record: int
    message: str


def fill(backend: Backend) -> Head:
    with backend.open() as ledger:
        for n in range(N):
            event = ConsentGiven(at=T0 + timedelta(hours=n), purpose="analytics", id=f"c-{n}")
            ledger.append(f"s-{n % 2}", event)
        return ledger.verify()


def edit_payload(backend: Backend, seq: int) -> None:
    (payload,) = backend.sql("SELECT payload FROM ledger_records WHERE seq = ?", [seq])[0]
    assert isinstance(payload, bytes)
    forged = payload.replace(b"analytics", b"marketing")
    backend.sql("UPDATE ledger_records SET payload = ? WHERE seq = ?", [forged, seq])


def edit_and_redigest(backend: Backend, seq: int) -> None:
    edit_payload(backend, seq)
    nonce, payload = backend.sql("SELECT nonce, payload FROM ledger_records WHERE seq = ?", [seq])[
        0
    ]
    assert isinstance(nonce, bytes)
    assert isinstance(payload, bytes)
    digest = hashlib.sha256(nonce + payload).digest()
    backend.sql("UPDATE ledger_records SET digest = ? WHERE seq = ?", [digest, seq])


def rechain(backend: Backend, start: int, mac: Callable[[bytes, list[object]], bytes]) -> None:
    """Recompute every MAC from ``start`` on with a function of the attacker's choosing."""
    rows = backend.sql(
        "SELECT seq, kind, subject_tag, id_tag, digest, mac FROM ledger_records ORDER BY seq"
    )
    prev = bytes(32)
    for row in rows:
        seq = row[0]
        assert isinstance(seq, int)
        if seq >= start:
            new = mac(prev, list(row))
            backend.sql("UPDATE ledger_records SET mac = ? WHERE seq = ?", [new, seq])
            prev = new
        else:
            stored = row[5]
            assert isinstance(stored, bytes)
            prev = stored


def unkeyed(prev: bytes, row: list[object]) -> bytes:
    seq, kind, subject_tag, id_tag, digest = row[:5]
    assert isinstance(seq, int)
    assert isinstance(kind, int)
    assert isinstance(subject_tag, bytes)
    assert isinstance(id_tag, bytes)
    assert isinstance(digest, bytes)
    body = prev + seq.to_bytes(8, "big") + bytes((kind,)) + subject_tag + id_tag + digest
    return hashlib.sha256(body).digest()


def with_other_key(prev: bytes, row: list[object]) -> bytes:
    seq, kind, subject_tag, id_tag, digest = row[:5]
    assert isinstance(seq, int)
    assert isinstance(kind, int)
    assert isinstance(subject_tag, bytes)
    assert isinstance(id_tag, bytes)
    assert isinstance(digest, bytes)
    from lawful.ledger._chain import RecordKind  # noqa: PLC0415 - the attacker's own tooling

    key = LedgerKey.from_bytes(OTHER_KEY)
    return key.mac(prev, seq, RecordKind(kind), subject_tag, id_tag, digest, 0)


def run(statement: str, *params: object) -> Callable[[Backend], None]:
    """A tampering that is one SQL statement."""

    def tamper(backend: Backend) -> None:
        backend.sql(statement, params)

    return tamper


def delete(seq: int) -> Callable[[Backend], None]:
    return run("DELETE FROM ledger_records WHERE seq = ?", seq)


def edit_and_rechain_unkeyed(backend: Backend) -> None:
    edit_and_redigest(backend, 3)
    rechain(backend, 3, unkeyed)


def edit_and_rechain_other_key(backend: Backend) -> None:
    edit_and_redigest(backend, 4)
    rechain(backend, 4, with_other_key)


def shift_from(backend: Backend, seq: int) -> None:
    """Make room at ``seq`` by moving every later record one place on (in two steps: the
    positions are unique at every moment).
    """
    backend.sql("UPDATE ledger_records SET seq = -seq WHERE seq >= ?", [seq])
    backend.sql("UPDATE ledger_records SET seq = 1 - seq WHERE seq < 0")


def insert_copy(backend: Backend, source: int, seq: int) -> None:
    backend.sql(
        "INSERT INTO ledger_records (seq, kind, subject_tag, id_tag, nonce, payload, digest, mac)"
        " SELECT ?, kind, subject_tag, ?, nonce, payload, digest, mac"
        " FROM ledger_records WHERE seq = ?",
        [seq, b"forged-id-tag", source],
    )


def insert_middle(backend: Backend) -> None:
    shift_from(backend, 3)
    insert_copy(backend, 2, 3)


def swap(backend: Backend, a: int, b: int) -> None:
    backend.sql("UPDATE ledger_records SET seq = 0 WHERE seq = ?", [a])
    backend.sql("UPDATE ledger_records SET seq = ? WHERE seq = ?", [a, b])
    backend.sql("UPDATE ledger_records SET seq = ? WHERE seq = 0", [b])


def scrub(backend: Backend, seq: int) -> None:
    backend.sql("UPDATE ledger_records SET nonce = NULL, payload = NULL WHERE seq = ?", [seq])


def move_to_other_subject(backend: Backend) -> None:
    (tag,) = backend.sql("SELECT subject_tag FROM ledger_records WHERE seq = 2")[0]
    backend.sql("UPDATE ledger_records SET subject_tag = ? WHERE seq = 3", [tag])


MAC = "its MAC does not verify"
CASES = {
    "edit": Case(lambda b: edit_payload(b, 3), 3, "does not match its digest"),
    "edit, new digest": Case(lambda b: edit_and_redigest(b, 3), 3, MAC),
    "edit, unkeyed chain recomputed": Case(edit_and_rechain_unkeyed, 3, MAC),
    "edit, chain recomputed with another key": Case(edit_and_rechain_other_key, 4, MAC),
    "delete first": Case(delete(1), 1, "missing"),
    "delete middle": Case(delete(3), 3, "missing"),
    "delete last": Case(delete(N), N, f"missing: the ledger's head says {N} records"),
    # The copy's forged id tag is not 32 bytes: refused as it is read, naming the record.
    "insert at the end": Case(lambda b: insert_copy(b, 2, N + 1), N + 1, "column id_tag"),
    "insert in the middle": Case(insert_middle, 3, "column id_tag"),
    "reorder": Case(lambda b: swap(b, 3, 4), 3, MAC),
    "erase without an erasure record": Case(lambda b: scrub(b, 2), 2, "without an erasure"),
    "half erase": Case(
        run("UPDATE ledger_records SET nonce = NULL WHERE seq = 5"), 5, "half erased"
    ),
    "move to another subject": Case(move_to_other_subject, 3, "does not match its pseudonym"),
    "unknown kind": Case(
        run("UPDATE ledger_records SET kind = 7 WHERE seq = 4"), 4, "unknown kind"
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_tampering_is_caught_naming_the_record(sql_backend: Backend, case: Case) -> None:
    """verify() reports each kind of tampering and names the first broken record."""
    fill(sql_backend)
    case.tamper(sql_backend)
    with sql_backend.open() as ledger, pytest.raises(LedgerIntegrityError) as caught:
        ledger.verify()
    assert caught.value.record == case.record
    assert str(caught.value).startswith(f"record {case.record}: ")
    assert any(
        p.startswith(f"record {case.record}: ") and case.message in p for p in caught.value.problems
    )


def test_a_rolled_back_head_is_caught_only_by_an_anchor(sql_backend: Backend) -> None:
    """Deleting the last record and restoring old copies of both heads (the ledger's and
    the subject's) fools the file, not an anchor.
    """
    with sql_backend.open() as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="c-0"))
        (old_head,) = sql_backend.sql("SELECT value FROM ledger_meta WHERE name = 'head'")[0]
        (old_seal,) = sql_backend.sql("SELECT seal FROM ledger_subjects")[0]
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="c-1"))
        anchor = ledger.head()
    sql_backend.sql("DELETE FROM ledger_records WHERE seq = 2")
    sql_backend.sql("UPDATE ledger_meta SET value = ? WHERE name = 'head'", [old_head])
    sql_backend.sql("UPDATE ledger_subjects SET seq = 1, seal = ?", [old_seal])
    with sql_backend.open() as ledger:
        assert ledger.verify().count == 1
        with pytest.raises(LedgerIntegrityError, match="anchored head says 2") as caught:
            ledger.verify(expected_head=anchor)
    assert caught.value.record == 2


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("DELETE FROM ledger_meta WHERE name = 'head'", "sealed head is missing"),
        ("UPDATE ledger_meta SET value = zeroblob(72) WHERE name = 'head'", "does not verify"),
    ],
)
def test_a_broken_sealed_head_is_caught(sql_backend: Backend, statement: str, message: str) -> None:
    """The head the store keeps is sealed with the key: losing or editing it is reported."""
    fill(sql_backend)
    sql_backend.sql(statement)
    with sql_backend.open() as ledger, pytest.raises(LedgerIntegrityError, match=message) as caught:
        ledger.verify()
    assert caught.value.record is None


def test_erased_data_restored_from_a_copy_is_caught(sql_backend: Backend) -> None:
    """Putting erased content back (from a backup) breaks verification at that record."""
    fill(sql_backend)
    saved = sql_backend.sql("SELECT nonce, payload FROM ledger_records WHERE seq = 2")[0]
    with sql_backend.open() as ledger:
        ledger.erase("s-1")
        ledger.verify()
    sql_backend.sql(
        "UPDATE ledger_records SET nonce = ?, payload = ? WHERE seq = 2", [saved[0], saved[1]]
    )
    with sql_backend.open() as ledger, pytest.raises(LedgerIntegrityError) as caught:
        ledger.verify()
    assert caught.value.record == 2
    assert "listed as erased by record 7 but still holds data" in str(caught.value)


def test_every_problem_is_listed(sql_backend: Backend) -> None:
    """Several broken records are all listed, the first one first."""
    fill(sql_backend)
    edit_payload(sql_backend, 5)
    edit_payload(sql_backend, 2)
    with sql_backend.open() as ledger, pytest.raises(LedgerIntegrityError) as caught:
        ledger.verify()
    assert [p.split(":")[0] for p in caught.value.problems] == ["record 2", "record 5"]
    assert "(and 1 more problem(s))" in str(caught.value)
