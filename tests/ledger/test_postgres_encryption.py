"""The encrypted PostgreSQL ledger: each subject's events under data keys of its own, and
erasure (Art. 17) by destroying them, so that it reaches every copy the server made.

Nothing of a subject's events reaches the server in clear; erasure deletes the subject's
wrapped keys in its own short transaction (no rewrite of the records, no table lock);
the chain verifies without them; a tampered ciphertext or key, or a key put back from a
backup, is refused naming the record, never read; a ledger in clear migrates in place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
from tests.ledger._backends import KEY, POLICY, T0, TickingClock
from tests.ledger._postgres import PostgresBackend
from tests.ledger.test_erasure import BIRTH, EMAIL, NEEDLES, SUBJECT, alice, others

from lawful import (
    BirthDateDeclared,
    ConsentGiven,
    ContractStarted,
    Erasure,
    Interaction,
    ParentalConsentGiven,
    ReasonCode,
)
from lawful.exceptions import LedgerError, LedgerIntegrityError
from lawful.ledger import LedgerKey

if TYPE_CHECKING:
    from lawful.ledger.postgres import PostgresLedger

pytestmark = pytest.mark.postgres

TAGS = LedgerKey.from_bytes(KEY)
ALICE = TAGS.subject_tag(SUBJECT)


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[PostgresBackend]:
    """A fresh schema on the test server, a ledger of 4 shards."""
    backend = PostgresBackend(tmp_path, shards=4)
    yield backend
    backend.cleanup()


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[PostgresBackend]:
    """A fresh schema for a one-shard ledger, whose positions the tamper cases name."""
    backend = PostgresBackend(tmp_path, shards=1)
    yield backend
    backend.cleanup()


def open_ledger(pg: PostgresBackend, **options: object) -> PostgresLedger:
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    settings = {"listen": False, "shards": pg.shards, "clock": pg.clock, **options}
    return PostgresLedger(pg.dsn, key=KEY, schema=pg.schema, **settings)  # type: ignore[arg-type]


def fill(ledger: PostgresLedger, rounds: int = 10) -> None:
    """Alice's personal data in every kind of field, among other visitors."""
    ledger.append_batch(
        [
            (SUBJECT, BirthDateDeclared(at=T0, birth_date=BIRTH, id="alice-event-birth")),
            (SUBJECT, ParentalConsentGiven(at=T0, guardian=EMAIL, id="alice-event-parent")),
            (SUBJECT, ContractStarted(at=T0, contract="ALICE-ORDER-7731", id="alice-event-k")),
        ]
    )
    for n in range(rounds):
        ledger.append_batch([*((SUBJECT, e) for e in alice(n)), *others(n)])


def keys_of(pg: PostgresBackend, tag: bytes) -> list[tuple[object, ...]]:
    return pg.sql(
        "SELECT key_id, proof, wrapped FROM ledger_keys WHERE subject_tag = ? ORDER BY proof",
        [tag],
    )


def rows_of(pg: PostgresBackend, tag: bytes) -> list[tuple[object, ...]]:
    return pg.sql(
        "SELECT seq, nonce, payload, key_id FROM ledger_records WHERE subject_tag = ? ORDER BY seq",
        [tag],
    )


# -- nothing in clear ------------------------------------------------------------------------


def test_nothing_personal_reaches_the_server_in_clear(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every statement a write sends holds ciphertext only, so neither the tables nor the
    WAL, its archive, replicas or backups ever hold the subject's data in clear; it
    reads back as appended, through two data keys (proof of consent, and the rest).
    """
    from lawful.ledger import _pgview  # noqa: PLC0415 - optional extra

    sent: list[bytes] = []
    real = _pgview._exchange

    def spy(conn: _pgview.Conn, statements: list[_pgview.Statement]) -> object:
        for text, values in statements:
            sent.append(str(text).encode())
            sent.extend(v if isinstance(v, bytes) else str(v).encode() for v in values)
        return real(conn, statements)

    with monkeypatch.context() as patch:
        patch.setattr(_pgview, "_exchange", spy)
        with open_ledger(pg, clock=TickingClock()) as ledger:
            assert ledger.encrypted
            fill(ledger)
            stored = ledger.subject(SUBJECT).events
    plain = PostgresBackend(Path(), shards=4)
    try:
        # The same appends to a ledger in clear, with the same clock, read back the same.
        with open_ledger(plain, clock=TickingClock(), encrypt=False) as twin:
            assert not twin.encrypted
            fill(twin)
            assert twin.subject(SUBJECT).events == stored  # the same events, read back
    finally:
        plain.cleanup()
    wire = b"\0".join(sent)
    assert b"INSERT INTO" in wire  # the spy saw the writes, so what follows can fail
    assert b"alice-event-birth" not in wire  # the id tag goes, never the id
    for needle in NEEDLES:
        assert needle.encode() not in wire, needle
        assert not pg.holds(needle.encode()), needle
    assert not pg.holds(b"visitor-9-19")  # every subject's events are encrypted
    assert len(stored) == 3 + 2 * 10
    assert [proof for _, proof, _ in keys_of(pg, ALICE)] == [False, True]
    assert all(key_id is not None and nonce is None for _, nonce, _, key_id in rows_of(pg, ALICE))


def test_nonces_never_repeat(pg: PostgresBackend) -> None:
    """Each encryption draws a fresh nonce: none repeats under any key, data or wrapping."""
    with open_ledger(pg) as ledger:
        fill(ledger, rounds=5)
        ledger.erase(SUBJECT)
        ledger.append(SUBJECT, ConsentGiven(at=T0, purpose="analytics", id="new"))  # a new key
    nonces = [
        (key_id, payload[1:13])
        for key_id, payload in pg.sql(
            "SELECT key_id, payload FROM ledger_records WHERE key_id IS NOT NULL"
        )
        if isinstance(payload, bytes)
    ]
    assert len(nonces) > 100
    assert len(set(nonces)) == len(nonces)
    wrapped = [
        w[1:13] for (w,) in pg.sql("SELECT wrapped FROM ledger_keys") if isinstance(w, bytes)
    ]
    assert len(set(wrapped)) == len(wrapped) > 100


# -- erasure -------------------------------------------------------------------------------


def test_erasure_destroys_the_keys_and_leaves_the_ciphertext(pg: PostgresBackend) -> None:
    """erase() deletes the subject's data keys and rewrites none of its records: their
    ciphertext stays, unreadable; the chain verifies without the keys; decisions deny
    ERASED; only the small keys table is vacuumed.
    """
    with open_ledger(pg) as ledger:
        fill(ledger)
        ok = ConsentGiven(at=T0 + timedelta(days=30), purpose="analytics", id="alice-ok")
        ledger.append(SUBJECT, ok)
        before = rows_of(pg, ALICE)
        versions = pg.sql("SELECT seq, xmin::text FROM ledger_records ORDER BY seq")
        consented = ledger.subject(SUBJECT)
        latest = max(e.recorded_at for e in consented.events if e.recorded_at is not None)
        allowed = POLICY.may_process(consented, "analytics", latest)
        assert allowed.allowed
        erasure = ledger.erase(SUBJECT)
        subject = ledger.subject(SUBJECT)
        head = ledger.verify()
        with pytest.raises(LedgerError, match="was erased"):
            ledger.proof(SUBJECT, allowed)
    assert keys_of(pg, ALICE) == []
    assert rows_of(pg, ALICE)[:-1] == before  # the ciphertext is still there (and the erasure)
    after = pg.sql("SELECT seq, xmin::text FROM ledger_records ORDER BY seq")
    assert after[: len(versions)] == versions  # no record rewritten: only one added
    assert len(after) == len(versions) + 1
    assert pg.sql("SELECT name FROM ledger_meta WHERE name LIKE 'purge%%'") == []
    assert subject.events == (erasure,)
    assert head.count == len(after)
    decision = POLICY.may_process(subject, "analytics", erasure.at, collected_at=T0)
    assert (decision.allowed, decision.code) == (False, ReasonCode.ERASED)
    for needle in NEEDLES:
        assert not pg.holds(needle.encode()), needle


def test_the_ciphertext_left_is_only_as_good_as_the_key(pg: PostgresBackend) -> None:
    """What a backup taken before the erasure holds, the wrapped key and the ciphertext,
    opens with the ledger key; after the erasure the live ledger holds no key to open it.
    """
    from lawful.ledger._pgcrypt import Crypt  # noqa: PLC0415 - optional extra

    with open_ledger(pg) as ledger:
        fill(ledger, rounds=1)
        saved = keys_of(pg, ALICE)
        ledger.erase(SUBJECT)
    crypt = Crypt(TAGS, enabled=True, plaintext=False)
    rows = pg.sql(
        "SELECT seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link, NULL,"
        " key_id, ? FROM ledger_records WHERE subject_tag = ? AND kind = 0 ORDER BY seq",
        [saved[0][2], ALICE],
    )
    opened = [crypt.open(row, strict=False) for row in rows]
    # With the backup's wrapped key, the records under it open (and only those).
    assert any(r.payload is not None and b"visit from" in r.payload for r in opened)
    live = pg.sql(
        "SELECT r.seq, k.key_id FROM ledger_records AS r LEFT JOIN ledger_keys AS k"
        " ON k.key_id = r.key_id WHERE r.subject_tag = ? AND r.kind = 0",
        [ALICE],
    )
    assert live
    assert all(key is None for _, key in live)


def test_a_key_put_back_from_a_backup_is_refused(pg: PostgresBackend) -> None:
    """Restoring an erased subject's key (from a backup) makes its records readable again,
    which the erasure record contradicts: reads and verify refuse, naming the record.
    """
    with open_ledger(pg) as ledger:
        fill(ledger, rounds=2)
        saved = keys_of(pg, ALICE)
        ledger.erase(SUBJECT)
        for key_id, proof, wrapped in saved:
            pg.sql(
                "INSERT INTO ledger_keys (key_id, subject_tag, proof, wrapped) VALUES (?, ?, ?, ?)",
                [key_id, ALICE, proof, wrapped],
            )
        with pytest.raises(LedgerIntegrityError, match="listed as erased by record") as caught:
            ledger.subject(SUBJECT)
        assert caught.value.record is not None
        with pytest.raises(LedgerIntegrityError, match="but still holds data"):
            ledger.verify()


def test_keeping_proof_destroys_only_the_other_key(pg: PostgresBackend) -> None:
    """erase(keep_proof=True) destroys the key of everything but the consent records
    (Art. 17(3)(e)); a later erase() destroys that one too.
    """
    with open_ledger(pg) as ledger:
        fill(ledger, rounds=3)
        ledger.erase(SUBJECT, keep_proof=True)
        assert [proof for _, proof, _ in keys_of(pg, ALICE)] == [True]
        kept = ledger.subject(SUBJECT).events
        assert {type(e) for e in kept} == {ParentalConsentGiven, ConsentGiven, Erasure}
        assert pg.sql("SELECT count(*) FROM ledger_meta WHERE name = 'purge_pending'") == [(0,)]
        ledger.erase(SUBJECT, at=T0 + timedelta(days=1))
        assert keys_of(pg, ALICE) == []
        assert all(isinstance(e, Erasure) for e in ledger.subject(SUBJECT).events)
        ledger.verify()
    assert not pg.holds(EMAIL.encode())


def test_a_subject_back_after_erasure_gets_new_keys(pg: PostgresBackend) -> None:
    """Events appended after an erasure are encrypted under new keys, readable; the erased
    ones stay unreadable.
    """
    with open_ledger(pg) as ledger:
        fill(ledger, rounds=1)
        first = {k for k, _, _ in keys_of(pg, ALICE)}
        ledger.erase(SUBJECT)
        later = ConsentGiven(at=T0 + timedelta(days=2), purpose="analytics", id="back")
        ledger.append(SUBJECT, later)
        events = ledger.subject(SUBJECT).events
        ledger.verify()
    assert [e.id for e in events if not isinstance(e, Erasure)] == ["back"]
    now = {k for k, _, _ in keys_of(pg, ALICE)}
    assert len(now) == 1
    assert not now & first


def test_erasure_neither_rewrites_nor_vacuums_the_records(pg: PostgresBackend) -> None:
    """While another session holds the records table in SHARE UPDATE EXCLUSIVE mode (as a
    VACUUM or ANALYZE of it does), an erasure still completes: it takes no lock a VACUUM of
    the records would need. (It would fail at lock_timeout rather than hang.)
    """
    dsn = pg.dsn + ("&" if "?" in pg.dsn else "?") + "options=-c%20lock_timeout%3D3000"
    with open_ledger(pg) as ledger:
        fill(ledger, rounds=2)
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    admin = pg._admin()
    with admin.transaction():
        admin.execute("LOCK TABLE ledger_records IN SHARE UPDATE EXCLUSIVE MODE")
        with PostgresLedger(dsn, key=KEY, schema=pg.schema, listen=False) as ledger:
            erasure = ledger.erase(SUBJECT)
            assert ledger.subject(SUBJECT).events == (erasure,)


def test_erasures_racing_appends_lose_nothing(pg: PostgresBackend) -> None:
    """Appends from four threads and erasures of half their subjects, at once: every
    append returns, every erased subject reads as its erasures plus what came after, and
    the ledger verifies.
    """
    subjects = [f"racer-{n}" for n in range(8)]
    errors: list[BaseException] = []
    start = threading.Barrier(5)
    with open_ledger(pg, clock=None, max_connections=6) as ledger:

        def appender(worker: int) -> None:
            start.wait()
            try:
                for n in range(30):
                    subject = subjects[(worker + n) % len(subjects)]
                    at = T0 + timedelta(minutes=n)
                    ledger.append(subject, Interaction(at=at, kind="visit", id=f"{worker}-{n}"))
                    ledger.append(subject, ConsentGiven(at=at, purpose="analytics"))
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=appender, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        start.wait()
        for n in range(3):
            for subject in subjects[:4]:
                ledger.erase(subject, at=T0 + timedelta(hours=n))
        for thread in threads:
            thread.join()
        assert errors == []
        ledger.verify()
        for subject in subjects:
            events = ledger.subject(subject).events
            erasures = [e for e in events if isinstance(e, Erasure)]
            assert len(erasures) == (3 if subject in subjects[:4] else 0)
            last = max((e.recorded_at for e in erasures if e.recorded_at), default=None)
            for event in events:
                if last is not None and not isinstance(event, Erasure):
                    assert event.recorded_at is not None
                    assert event.recorded_at > last
            tag = TAGS.subject_tag(subject)
            assert len(keys_of(pg, tag)) <= 2


# -- tampering -----------------------------------------------------------------------------


def build(chain: PostgresBackend) -> None:
    """Records 1-4: s-1 consent, s-1 interaction, s-2 consent, s-1 consent."""
    with open_ledger(chain) as ledger:
        ledger.append("s-1", ConsentGiven(at=T0, purpose="analytics", id="g-1"))
        ledger.append("s-1", Interaction(at=T0, kind="visit", id="i-1"))
        ledger.append("s-2", ConsentGiven(at=T0, purpose="analytics", id="g-2"))
        ledger.append("s-1", ConsentGiven(at=T0, purpose="fraud", id="g-3"))


def run(statement: str) -> Callable[[PostgresBackend], None]:
    def tamper(chain: PostgresBackend) -> None:
        chain.sql(statement)

    return tamper


def flip(seq: int) -> Callable[[PostgresBackend], None]:
    def tamper(chain: PostgresBackend) -> None:
        chain.sql(
            "UPDATE ledger_records SET payload = set_byte(payload, 30,"
            " get_byte(payload, 30) # 1) WHERE seq = ?",
            [seq],
        )

    return tamper


def swap_ciphertexts(chain: PostgresBackend) -> None:
    (one,), (four,) = chain.sql(
        "SELECT payload FROM ledger_records WHERE seq IN (1, 4) ORDER BY seq"
    )
    chain.sql("UPDATE ledger_records SET payload = ? WHERE seq = 1", [four])
    chain.sql("UPDATE ledger_records SET payload = ? WHERE seq = 4", [one])


def other_subjects_key(chain: PostgresBackend) -> None:
    chain.sql(
        "UPDATE ledger_records SET key_id = (SELECT key_id FROM ledger_records WHERE seq = 3)"
        " WHERE seq = 1"
    )


def edit_wrapped_key(chain: PostgresBackend) -> None:
    chain.sql(
        "UPDATE ledger_keys SET wrapped = set_byte(wrapped, 20, get_byte(wrapped, 20) # 1)"
        " WHERE key_id = (SELECT key_id FROM ledger_records WHERE seq = 2)"
    )


def delete_key(chain: PostgresBackend) -> None:
    chain.sql(
        "DELETE FROM ledger_keys WHERE key_id = (SELECT key_id FROM ledger_records WHERE seq = 2)"
    )


def put_in_clear(chain: PostgresBackend) -> None:
    """Record 2 as a ledger in clear would store it: the digest's nonce and the payload."""
    with open_ledger(chain) as ledger:
        record = ledger._pg.subject_records(TAGS.subject_tag("s-1"), 0)[0][1]
    chain.sql(
        "UPDATE ledger_records SET key_id = NULL, nonce = ?, payload = ? WHERE seq = 2",
        [record.nonce, record.payload],
    )


@attrs.frozen
class Tamper:
    tamper: Callable[[PostgresBackend], None]
    record: int
    read: str
    """What a read of the subject says."""
    verify: str
    """What verify() lists for the record."""


DIGEST = "does not match its digest"
CONTENT = "encrypted content does not verify"
TAMPERS = {
    "ciphertext edited": Tamper(flip(2), 2, CONTENT, DIGEST),
    "ciphertexts swapped": Tamper(swap_ciphertexts, 1, CONTENT, DIGEST),
    "another subject's key": Tamper(other_subjects_key, 1, "does not unwrap", DIGEST),
    "wrapped key edited": Tamper(edit_wrapped_key, 2, "does not unwrap", DIGEST),
    "key deleted without erasure": Tamper(delete_key, 2, "without an erasure", "without an"),
    "stored in clear": Tamper(put_in_clear, 2, "stored in clear", DIGEST),
    "nonce column set": Tamper(
        run("UPDATE ledger_records SET nonce = digest WHERE seq = 2"),
        2,
        "not an event record with its nonce inside",
        "not an event record",
    ),
}


@pytest.mark.parametrize("case", TAMPERS.values(), ids=TAMPERS.keys())
def test_tampering_with_ciphertext_or_keys_is_refused(chain: PostgresBackend, case: Tamper) -> None:
    """Each tampering with ciphertext or keys makes reads of the subject raise a
    LedgerIntegrityError naming the record (no decision is made from it) and verify()
    list it; another subject still reads.
    """
    build(chain)
    case.tamper(chain)
    with open_ledger(chain) as ledger:
        with pytest.raises(LedgerIntegrityError, match=case.read) as caught:
            ledger.subject("s-1")
        assert caught.value.record == case.record
        assert str(caught.value).startswith(f"record {case.record}: ")
        with pytest.raises(LedgerIntegrityError) as listed:
            ledger.verify()
        assert any(
            p.startswith(f"record {case.record}: ") and case.verify in p
            for p in listed.value.problems
        ), listed.value.problems
        assert len(ledger.subject("s-2").events) == 1


# -- migration -----------------------------------------------------------------------------


def test_a_ledger_in_clear_is_refused_then_encrypted_in_place(pg: PostgresBackend) -> None:
    """A ledger in clear opened with encrypt=True is refused, unchanged; with migrate=True it
    is verified and encrypted in place: same head (anchors stay valid), same histories,
    nothing in clear left in its tables; then erasure destroys keys. An encrypted ledger
    is never opened as one in clear.
    """
    with open_ledger(pg, encrypt=False) as ledger:
        fill(ledger, rounds=3)
        ledger.erase("visitor-0-1")
        ledger.erase("visitor-0-2", keep_proof=True)
        anchor = ledger.head()
        truth = {s: ledger.subject(s).events for s in (SUBJECT, "visitor-0-2", "visitor-2-3")}
    assert pg.holds(EMAIL.encode())
    with pytest.raises(LedgerError, match=r"in clear.*encrypt=True and migrate=True"):
        open_ledger(pg, encrypt=True)
    assert pg.sql("SELECT count(*) FROM ledger_meta WHERE name LIKE 'encrypt%%'") == [(0,)]
    with open_ledger(pg, encrypt=True, migrate=True) as ledger:
        assert ledger.encrypted
        assert ledger.verify(expected_head=anchor) == anchor
        assert {s: ledger.subject(s).events for s in truth} == truth
    for needle in NEEDLES:
        assert not pg.holds(needle.encode()), needle
    assert pg.sql("SELECT name FROM ledger_meta WHERE name LIKE 'purge%%'") == []
    with open_ledger(pg) as ledger:
        ledger.erase(SUBJECT)
        assert keys_of(pg, ALICE) == []
        ledger.verify()
    with pytest.raises(LedgerError, match="stays so"):
        open_ledger(pg, encrypt=False)


def test_an_interrupted_encryption_is_refused_until_finished(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An encryption that fails half-way commits nothing; the ledger is then refused (never
    read as encrypted while in clear) until migrate=True finishes it.
    """
    from lawful.ledger import _pgview  # noqa: PLC0415 - optional extra

    with open_ledger(pg, encrypt=False) as ledger:
        fill(ledger, rounds=2)
        truth = ledger.subject(SUBJECT).events

    def fail(*_: object) -> int:
        raise LedgerError("interrupted")

    with monkeypatch.context() as patch:
        patch.setattr(_pgview.Writer, "encrypt_in_place", fail)
        with pytest.raises(LedgerError, match="interrupted"):
            open_ledger(pg, encrypt=True, migrate=True)
    with pytest.raises(LedgerError, match="encryption did not finish"):
        open_ledger(pg)
    assert pg.holds(EMAIL.encode())
    with open_ledger(pg, migrate=True) as ledger:
        assert ledger.subject(SUBJECT).events == truth
    assert not pg.holds(EMAIL.encode())


def test_ledgers_opened_while_another_encrypts_do_not_encrypt_again(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that opens the ledger with ``encrypt=True, migrate=True`` while another is
    encrypting it waits for the shards' locks, then finds the work done and does not
    encrypt again.
    """
    from lawful.ledger import _pgview  # noqa: PLC0415 - optional extra

    with open_ledger(pg, encrypt=False) as ledger:
        fill(ledger, rounds=2)
        anchor = ledger.head()
        truth = ledger.subject(SUBJECT).events
    real = _pgview.Writer.encrypt_in_place
    second: list[object] = []

    def opened() -> object:
        try:
            with open_ledger(pg, encrypt=True, migrate=True) as ledger:
                return ledger.verify()
        except LedgerError as exc:
            return exc

    def racing(writer: _pgview.Writer, records: list[object]) -> int:
        if not second:
            # Every shard is locked by this write: the other opening waits for it.
            other = threading.Thread(target=lambda: second.append(opened()))
            second.append(other)
            other.start()
            time.sleep(0.5)
        return real(writer, records)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(_pgview.Writer, "encrypt_in_place", racing)
        with open_ledger(pg, encrypt=True, migrate=True) as ledger:
            assert ledger.verify() == anchor
        thread = second[0]
        assert isinstance(thread, threading.Thread)
        thread.join(30)
    assert second[1:] == [anchor]
    with open_ledger(pg) as ledger:
        assert ledger.subject(SUBJECT).events == truth


def test_a_tampered_ledger_in_clear_is_not_encrypted(pg: PostgresBackend) -> None:
    """Encryption verifies the chain first: a ledger that does not verify is refused and
    left as it was.
    """
    with open_ledger(pg, encrypt=False) as ledger:
        fill(ledger, rounds=1)
    pg.sql("UPDATE ledger_records SET digest = sha256(digest) WHERE seq = 1")
    with pytest.raises(LedgerIntegrityError, match="record 1"):
        open_ledger(pg, encrypt=True, migrate=True)
    assert pg.sql("SELECT count(*) FROM ledger_records WHERE key_id IS NOT NULL") == [(0,)]


def test_a_write_refuses_a_tampered_key_and_writes_nothing(chain: PostgresBackend) -> None:
    """An append for a subject whose stored key was edited is refused, naming the subject
    by its pseudonym (never its id), and nothing of the batch is written.
    """
    build(chain)
    edit_wrapped_key(chain)
    count = chain.sql("SELECT count(*) FROM ledger_records")
    with open_ledger(chain) as ledger:
        with pytest.raises(LedgerIntegrityError, match="does not unwrap") as caught:
            ledger.append("s-1", Interaction(at=T0, kind="visit", id="i-2"))
        assert TAGS.subject_tag("s-1").hex() in str(caught.value)
        assert "s-1" not in str(caught.value).replace(TAGS.subject_tag("s-1").hex(), "")
    assert chain.sql("SELECT count(*) FROM ledger_records") == count


def test_a_key_shared_with_kept_records_is_kept_and_the_rest_scrubbed(
    pg: PostgresBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Records written under one key whatever their kind (as a lawful with another list
    of proof types would have): erase(keep_proof=True) keeps that key for the consent
    records and drops the others' content in place, then vacuums the records table.
    """
    from lawful.ledger import _pgview  # noqa: PLC0415 - optional extra

    with open_ledger(pg) as ledger:
        with monkeypatch.context() as patch:
            patch.setattr(_pgview, "is_proof", lambda _: False)
            fill(ledger, rounds=2)
        assert len(keys_of(pg, ALICE)) == 1
        ledger.erase(SUBJECT, keep_proof=True)
        assert len(keys_of(pg, ALICE)) == 1
        kept = ledger.subject(SUBJECT).events
        assert {type(e) for e in kept} == {ParentalConsentGiven, ConsentGiven, Erasure}
        ledger.verify()
    scrubbed = pg.sql(
        "SELECT count(*) FROM ledger_records WHERE subject_tag = ? AND payload IS NULL", [ALICE]
    )
    assert scrubbed == [(2 + 2,)]  # the contract, the birth date and two interactions
    assert pg.sql("SELECT name FROM ledger_meta WHERE name LIKE 'purge%%'") == []
