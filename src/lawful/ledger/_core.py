"""The ledger's logic over any record store: appends, reads, erasure, proof, verify.

A store only keeps records and a few named values, and gives transactions:
:class:`RecordStore` is all a new backend (memory, SQLite, PostgreSQL) implements.
Everything else, including every byte of the chain, is decided here and in
:mod:`lawful.ledger._chain`, so that all stores write the same records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, Self

from lawful._json import describe_event, dumps_events, event_to_dict
from lawful._time import require_aware
from lawful.decision import Decision
from lawful.events import Erasure, Event
from lawful.exceptions import EventError, LedgerConflictError, LedgerError, LedgerKeyError
from lawful.ledger._chain import (
    PROOF_TYPES,
    E,
    Head,
    LedgerKey,
    Record,
    RecordKind,
    canonical,
    decode,
    seal_record,
    stored_form,
)
from lawful.ledger._protocol import Proof, ProofRecord
from lawful.ledger._verify import ChainVerifier, pack_head, unpack_head
from lawful.subject import Subject

__all__ = ["Clock", "LedgerCore", "RecordReader", "RecordStore", "RecordWriter", "utc_now"]

Clock = Callable[[], datetime]
"""Returns the current instant, timezone-aware."""

HEAD = "head"
KEY_CHECK = "key_check"


def utc_now() -> datetime:
    """The default clock: ledgers are the I/O edge and may read the time."""
    return datetime.now(UTC)


class RecordReader(Protocol):
    """A consistent view of a store, inside one transaction."""

    def meta(self, name: str) -> bytes | None:
        """A named value (``head``, ``key_check``), or ``None``."""
        ...

    def by_id(self, id_tag: bytes) -> Record | None:
        """The record with this id tag."""
        ...

    def by_subject(self, subject_tag: bytes) -> list[Record]:
        """The subject's records, in chain order."""
        ...

    def scan(self) -> Iterator[Record]:
        """Every record, in chain order."""
        ...


class RecordWriter(RecordReader, Protocol):
    """A view that may also write; the store holds the chain's write lock meanwhile."""

    def insert(self, record: Record) -> None:
        """Add one record."""
        ...

    def scrub(self, seqs: Sequence[int]) -> None:
        """Drop nonce and payload of these records (erasure)."""
        ...

    def set_meta(self, name: str, value: bytes) -> None:
        """Set a named value."""
        ...


class RecordStore(Protocol):
    """Where a ledger keeps its records.

    ``writing()`` must be exclusive for the whole chain (no two writers, in any thread or
    process, between reading the head and committing), and commit all or nothing.
    """

    def reading(self) -> AbstractContextManager[RecordReader]:
        """A read transaction (a consistent snapshot)."""
        ...

    def writing(self) -> AbstractContextManager[RecordWriter]:
        """A write transaction holding the chain's lock; rolled back on an exception."""
        ...

    def purge(self) -> None:
        """After an erasure commits: make the erased bytes unrecoverable from the store."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def _key(key: LedgerKey | bytes) -> LedgerKey:
    return key if isinstance(key, LedgerKey) else LedgerKey.from_bytes(key)


class LedgerCore:
    """A :class:`lawful.ledger.ConsentLedger` over a :class:`RecordStore`.

    Subclasses build the store and call ``super().__init__``; the key is checked
    against the one the store was created with before anything is written.
    """

    def __init__(
        self,
        store: RecordStore,
        *,
        key: LedgerKey | bytes,
        clock: Clock = utc_now,
        keep_proof: bool = False,
    ) -> None:
        self._store = store
        self._key = _key(key)
        self._clock = clock
        self._keep_proof = keep_proof
        try:
            with store.writing() as writer:
                found = writer.meta(KEY_CHECK)
                if found is None:
                    writer.set_meta(KEY_CHECK, self._key.check)
        except BaseException:
            store.close()
            raise
        if found is not None and found != self._key.check:
            store.close()
            raise LedgerKeyError("ledger key: this is not the key this ledger was created with")

    # -- writing ---------------------------------------------------------------------

    def _now(self) -> datetime:
        return require_aware(self._clock(), "ledger clock")

    def append(self, subject_id: str, event: Event) -> Event:
        """Store one event; see :meth:`lawful.ledger.ConsentLedger.append`."""
        return self.append_batch([(subject_id, event)])[0]

    def append_batch(self, items: Iterable[tuple[str, Event]]) -> list[Event]:
        """Store events in one transaction; see :meth:`lawful.ledger.ConsentLedger.append_batch`."""
        pending = list(items)
        if not pending:
            return []
        # Canonical forms and tags are computed before the lock is taken: writers wait less.
        prepared = [self._prepare(subject_id, event) for subject_id, event in pending]
        erased = False
        with self._store.writing() as writer:
            now = self._now()
            count, mac, _ = unpack_head(writer.meta(HEAD))
            out: list[Event] = []
            event: Event
            for subject_id, subject_tag, id_tag, base in prepared:
                stored = self._existing(writer, id_tag, base)
                if stored is not None:
                    out.append(stored)
                    continue
                if isinstance(base, Erasure):
                    record, event = self._erase_in(
                        writer, subject_tag, id_tag, base, now, count, mac
                    )
                    erased = True
                else:
                    event = stored_form(base, event_id=base.id, recorded_at=now)
                    payload = canonical(subject_id, event)
                    record = seal_record(
                        self._key, mac, count + 1, RecordKind.EVENT, subject_tag, id_tag, payload
                    )
                writer.insert(record)
                count, mac = record.seq, record.mac
                out.append(event)
            writer.set_meta(HEAD, pack_head(self._key, count, mac))
        if erased:
            self._store.purge()
        return out

    def _prepare(self, subject_id: str, event: E) -> tuple[str, bytes, bytes, E]:
        given: object = subject_id
        if not isinstance(given, str) or not given:
            raise EventError(f"subject: expected a non-empty id, got {subject_id!r}")
        base = stored_form(event, event_id=event.id, recorded_at=None)
        if base.id is None:
            unnamed = canonical(subject_id, base)
            base = stored_form(base, event_id=self._key.derive_id(unnamed), recorded_at=None)
        subject_tag = self._key.subject_tag(subject_id)
        return subject_id, subject_tag, self._key.id_tag(subject_tag, base.id or ""), base

    def _existing(self, reader: RecordReader, id_tag: bytes, base: Event) -> Event | None:
        """The stored event with this id, or ``None``; a conflict if it says otherwise."""
        record = reader.by_id(id_tag)
        if record is None:
            return None
        if record.payload is None:
            # Erased: the id stays known so that a replayed append cannot bring it back.
            return base
        stored = decode(record).event
        same = stored_form(stored, event_id=stored.id, recorded_at=None)
        if event_to_dict(same) != event_to_dict(base):
            raise LedgerConflictError(
                f"event id {base.id!r}: already stored for this subject with other content "
                f"(record {record.seq})"
            )
        return stored

    def _erase_in(
        self,
        writer: RecordWriter,
        subject_tag: bytes,
        id_tag: bytes,
        erasure: Erasure,
        now: datetime,
        count: int,
        mac: bytes,
        keep_proof: bool | None = None,
    ) -> tuple[Record, Erasure]:
        keep = self._keep_proof if keep_proof is None else keep_proof
        erased: list[int] = []
        kept: list[int] = []
        for record in writer.by_subject(subject_tag):
            if record.kind is not RecordKind.EVENT or record.payload is None:
                continue
            # Art. 17(3)(e): the controller may keep proof of consent for legal claims.
            if keep and isinstance(decode(record).event, PROOF_TYPES):
                kept.append(record.seq)
            else:
                erased.append(record.seq)
        writer.scrub(erased)
        event = stored_form(erasure, event_id=erasure.id, recorded_at=now)
        payload = canonical(None, event, erased=erased, kept=kept)
        record = seal_record(
            self._key, mac, count + 1, RecordKind.ERASURE, subject_tag, id_tag, payload
        )
        return record, event

    def erase(
        self, subject_id: str, *, at: datetime | None = None, keep_proof: bool | None = None
    ) -> Erasure:
        """Erase a subject (Art. 17); see :meth:`lawful.ledger.ConsentLedger.erase`."""
        when = self._now() if at is None else require_aware(at, "erase.at")
        _, subject_tag, id_tag, base = self._prepare(subject_id, Erasure(at=when))
        with self._store.writing() as writer:
            now = self._now()
            count, mac, _ = unpack_head(writer.meta(HEAD))
            existing = self._existing(writer, id_tag, base)
            if isinstance(existing, Erasure):
                return existing  # the same erasure, asked again: idempotent
            record, event = self._erase_in(
                writer, subject_tag, id_tag, base, now, count, mac, keep_proof
            )
            writer.insert(record)
            writer.set_meta(HEAD, pack_head(self._key, record.seq, record.mac))
        self._store.purge()
        return event

    # -- reading ---------------------------------------------------------------------

    def _records(self, subject_id: str) -> list[Record]:
        tag = self._key.subject_tag(subject_id)
        with self._store.reading() as reader:
            return reader.by_subject(tag)

    def events(self, subject_id: str) -> Iterator[Event]:
        """The subject's events in recorded order."""
        return iter([decode(r).event for r in self._records(subject_id) if r.payload is not None])

    def subject(self, subject_id: str, *, categories: Iterable[str] | None = None) -> Subject:
        """The subject with every event the ledger holds for it."""
        return Subject(subject_id, self.events(subject_id), categories=categories)

    def export(self, subject_id: str) -> str:
        """The subject's records as JSON Lines (Art. 15, Art. 20)."""
        return dumps_events((subject_id, event) for event in self.events(subject_id))

    def dump(self) -> Iterator[tuple[str, Event]]:
        """Every subject's events in chain order, erasure records left out."""
        with self._store.reading() as reader:
            out = []
            for record in reader.scan():
                if record.kind is RecordKind.EVENT and record.payload is not None:
                    decoded = decode(record)
                    out.append((decoded.subject or "", decoded.event))
        return iter(out)

    def proof(self, subject_id: str, decision: Decision) -> Proof:
        """The records supporting a decision (Art. 7(1))."""
        cited = [r.event for r in decision.reasons if r.event is not None]
        found: dict[int, ProofRecord] = {}
        prepared = [self._prepare(subject_id, event) for event in cited]
        with self._store.reading() as reader:
            for (_, _, id_tag, base), event in zip(prepared, cited, strict=True):
                record = reader.by_id(id_tag)
                if record is None:
                    raise LedgerError(f"proof: {describe_event(event)} is not in this ledger")
                if record.payload is None:
                    raise LedgerError(
                        f"proof: {describe_event(event)} was erased (Art. 17); erase with "
                        "keep_proof=True to keep proof of consent for legal claims"
                    )
                stored = decode(record).event
                if event_to_dict(stored_form(stored, event_id=stored.id, recorded_at=None)) != (
                    event_to_dict(base)
                ):
                    raise LedgerError(f"proof: {describe_event(event)} differs from the stored one")
                found[record.seq] = ProofRecord(record.seq, stored, record.mac.hex())
            head = self._head(reader)
        records = tuple(found[seq] for seq in sorted(found))
        return Proof(subject=subject_id, decision=decision, records=records, head=head)

    @staticmethod
    def _head(reader: RecordReader) -> Head:
        count, mac, _ = unpack_head(reader.meta(HEAD))
        return Head(count, mac.hex())

    def head(self) -> Head:
        """The current head, for the host to anchor."""
        with self._store.reading() as reader:
            return self._head(reader)

    def verify(self, *, expected_head: Head | None = None) -> Head:
        """Check every record and the head; see :meth:`lawful.ledger.ConsentLedger.verify`."""
        verifier = ChainVerifier(self._key, expected_head)
        with self._store.reading() as reader:
            for record in reader.scan():
                verifier.feed(record)
            sealed = reader.meta(HEAD)
        return verifier.finish(sealed)

    # -- lifecycle -------------------------------------------------------------------

    def close(self) -> None:
        """Release the store."""
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
