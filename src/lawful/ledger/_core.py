"""The ledger's logic over any record store: appends, reads, erasure, proof, verify.

A store only keeps records and a few named values, and gives transactions:
:class:`RecordStore` is all a new backend (memory, SQLite, PostgreSQL) implements.
Everything else, including every byte of the chain, is decided here and in
:mod:`lawful.ledger._chain`, so that all stores write the same records.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from types import TracebackType
from typing import Protocol, Self

import attrs

from lawful._json import describe_event, dumps_events, event_to_dict
from lawful._time import require_aware
from lawful.decision import Decision
from lawful.events import Erasure, Event
from lawful.exceptions import (
    EventError,
    LedgerConflictError,
    LedgerError,
    LedgerIntegrityError,
    LedgerKeyError,
)
from lawful.ledger._chain import (
    GENESIS,
    PROOF_TYPES,
    E,
    Head,
    LedgerKey,
    Record,
    RecordKind,
    canonical,
    decode,
    head_name,
    seal_record,
    shard_of,
    shard_pos,
    shard_seq,
    shards_hash,
    stored_form,
)
from lawful.ledger._protocol import (
    Appended,
    BackupEntry,
    Proof,
    ProofRecord,
    Restored,
    SubjectHistory,
)
from lawful.ledger._verify import (
    ChainVerifier,
    check_head,
    check_history,
    check_record,
    pack_head,
    unpack_head,
)
from lawful.subject import Subject

__all__ = ["Clock", "LedgerCore", "RecordReader", "RecordStore", "RecordWriter", "utc_now"]

Clock = Callable[[], datetime]
"""Returns the current instant, timezone-aware."""

HEAD = "head"
KEY_CHECK = "key_check"
FORMAT_NAME = "format"
FORMAT_VALUE = b"2"
"""The chain format this lawful writes (see :mod:`lawful.ledger._chain`)."""


def utc_now() -> datetime:
    """The default clock: ledgers are the I/O edge and may read the time."""
    return datetime.now(UTC)


SubjectTip = tuple[int, bytes, bytes | None]
"""A subject's stored head: its newest record's position, the seal, and the MAC of the
record found at that position for that subject (``None``: no such record)."""


class RecordReader(Protocol):
    """A consistent view of a store, inside one transaction.

    Records come from :func:`lawful.ledger._chain.record_from_row` (every column
    type-checked); those read by id, position or subject carry ``prev_mac``, the stored
    MAC of the record just before them, so that each can be verified alone.
    """

    def meta(self, name: str) -> bytes | None:
        """A named value (``head``, ``key_check``, ``format``), or ``None``."""
        ...

    def by_id(self, id_tag: bytes) -> Record | None:
        """The record with this id tag."""
        ...

    def tail(self) -> Record | None:
        """The record with the highest position."""
        ...

    def shard_tail(self, shard: int) -> Record | None:
        """The record with the highest position in a shard (:meth:`tail` for one chain)."""
        ...

    def by_subject(self, subject_tag: bytes, after: int = 0) -> list[Record]:
        """The subject's records after position ``after``, in chain order."""
        ...

    def subject_tip(self, subject_tag: bytes) -> SubjectTip | None:
        """The subject's stored head, or ``None``."""
        ...

    def subject_heads(self) -> Iterator[tuple[bytes, int, bytes]]:
        """Every subject's stored head: tag, position, seal."""
        ...

    def scan(self) -> Iterator[Record]:
        """Every record, in chain order (without ``prev_mac``)."""
        ...


class RecordWriter(RecordReader, Protocol):
    """A view that may also write; the store holds the chain's write lock meanwhile."""

    def insert(self, record: Record) -> None:
        """Add one record (its ``link`` too)."""
        ...

    def scrub(self, seqs: Sequence[int]) -> None:
        """Drop nonce and payload of these records (erasure)."""
        ...

    def set_meta(self, name: str, value: bytes) -> None:
        """Set a named value."""
        ...

    def set_subject_head(self, subject_tag: bytes, seq: int, seal: bytes) -> None:
        """Set a subject's head."""
        ...

    def rewrite(self, seq: int, link: int, mac: bytes) -> None:
        """Set a record's link and MAC: only to migrate a format 1 chain."""
        ...


class RecordStore(Protocol):
    """Where a ledger keeps its records.

    ``writing()`` must be exclusive for the whole chain (no two writers, in any thread or
    process, between reading the head and committing), and commit all or nothing.
    """

    read_only: bool
    """Opened for reading only: ``writing()`` refuses, nothing is ever written."""

    shards: int
    """The number of chains the ledger is cut into (1: a single chain)."""

    def reading(self) -> AbstractContextManager[RecordReader]:
        """A read transaction (a consistent snapshot)."""
        ...

    def writing(self) -> AbstractContextManager[RecordWriter]:
        """A write transaction holding the chain's lock (with shards: the lock of every
        shard it may write); rolled back on an exception.
        """
        ...

    def purge(self) -> None:
        """After an erasure commits: make the erased bytes unrecoverable from the store."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


def _key(key: LedgerKey | bytes) -> LedgerKey:
    return key if isinstance(key, LedgerKey) else LedgerKey.from_bytes(key)


class _Tips:
    """The heads of the shards a write extends, each checked once, before its first use:
    a deleted or added tail, or a head written without the key, is never sealed in.
    """

    def __init__(self, key: LedgerKey, writer: RecordWriter, shards: int) -> None:
        self._key = key
        self._writer = writer
        self._shards = shards
        self._tips: dict[int, tuple[int, bytes]] = {}

    def load(self, subject_tags: Iterable[bytes]) -> None:
        """Check the heads of these subjects' shards now (before anything is written)."""
        for tag in subject_tags:
            self._tip(shard_of(tag, self._shards))

    def _tip(self, shard: int) -> tuple[int, bytes]:
        tip = self._tips.get(shard)
        if tip is None:
            writer, shards = self._writer, self._shards
            sealed = writer.meta(head_name(shard, shards))
            tip = check_head(
                self._key, sealed, writer.shard_tail(shard), shard=shard, shards=shards
            )
            self._tips[shard] = tip
        return tip

    def next(self, subject_tag: bytes) -> tuple[int, bytes]:
        """The position of the subject's next record and the MAC it is chained to."""
        shard = shard_of(subject_tag, self._shards)
        count, mac = self._tip(shard)
        return shard_seq(shard, count + 1, self._shards), mac

    def advance(self, record: Record) -> None:
        shard, pos = shard_pos(record.seq, self._shards)
        self._tips[shard] = (pos, record.mac)

    def seal(self) -> None:
        """Write the sealed head of every shard used."""
        shards = self._shards
        for shard, (count, mac) in self._tips.items():
            value = pack_head(self._key, count, mac, shard, shards)
            self._writer.set_meta(head_name(shard, shards), value)


class LedgerCore:
    """A :class:`lawful.ledger.ConsentLedger` over a :class:`RecordStore`.

    Subclasses build the store and call ``super().__init__``; the key is checked
    against the one the store was created with before anything is written.

    Every read checks what it returns against the chain (see ``docs/ledger.md``): a
    decision or a proof never rests on bytes nobody verified. Every write first checks
    the sealed head and the record it names, so a deleted tail is never sealed in.
    """

    def __init__(
        self,
        store: RecordStore,
        *,
        key: LedgerKey | bytes,
        clock: Clock = utc_now,
        keep_proof: bool = False,
        migrate: bool = False,
        where: str = "ledger",
    ) -> None:
        self._store = store
        self._shards = store.shards
        self._clock = clock
        self._keep_proof = keep_proof
        try:
            self._key = _key(key)
            if store.read_only:
                with store.reading() as reader:
                    found, chain_format = reader.meta(KEY_CHECK), reader.meta(FORMAT_NAME)
            else:
                with store.writing() as writer:
                    found, chain_format = writer.meta(KEY_CHECK), writer.meta(FORMAT_NAME)
                    if found is None:
                        if writer.tail() is not None:
                            raise LedgerIntegrityError(  # noqa: TRY301 - closes the store, then re-raises
                                f"{where}: records but no key check: not a ledger lawful wrote"
                            )
                        writer.set_meta(KEY_CHECK, self._key.check)
                        writer.set_meta(FORMAT_NAME, FORMAT_VALUE)
                        chain_format = FORMAT_VALUE
                    elif found == self._key.check and chain_format != FORMAT_VALUE and migrate:
                        self._upgrade(writer)
                        chain_format = FORMAT_VALUE
            if found is None and store.read_only:
                raise LedgerError(f"{where}: not a lawful ledger (no key check)")  # noqa: TRY301 - closes the store, then re-raises
            if found is not None and found != self._key.check:
                raise LedgerKeyError(  # noqa: TRY301 - closes the store, then re-raises
                    "ledger key: this is not the key this ledger was created with"
                )
            if chain_format != FORMAT_VALUE:
                raise LedgerError(  # noqa: TRY301 - closes the store, then re-raises
                    f"{where}: a format 1 ledger; migrate it with `lawful ledger migrate` "
                    "(or open it with migrate=True), which verifies it and seals it again "
                    "in format 2"
                )
        except BaseException:
            store.close()
            raise

    # -- writing ---------------------------------------------------------------------

    def _now(self) -> datetime:
        return require_aware(self._clock(), "ledger clock")

    def _link(self, reader: RecordReader, subject_tag: bytes) -> int:
        """The position of the subject's newest record, its stored head verified."""
        tip = reader.subject_tip(subject_tag)
        if tip is None:
            return 0
        seq, seal, mac = tip
        if mac is None or not hmac.compare_digest(
            seal, self._key.subject_seal(subject_tag, seq, mac)
        ):
            raise LedgerIntegrityError(
                f"record {seq}: does not match its subject's sealed head; refusing to extend",
                record=seq,
            )
        return seq

    def _seal(self, writer: RecordWriter, record: Record) -> None:
        writer.insert(record)
        writer.set_subject_head(
            record.subject_tag,
            record.seq,
            self._key.subject_seal(record.subject_tag, record.seq, record.mac),
        )

    @staticmethod
    def _round_trip(subject_id: str | None, event: Event, record: Record) -> None:
        """Refuse what could not be read back: nothing is stored that breaks later reads."""
        try:
            decoded = decode(record)
        except EventError as exc:
            raise EventError(f"event: cannot be stored, it would not read back: {exc}") from None
        if decoded.subject != subject_id or decoded.event != event:
            raise EventError(
                f"event: cannot be stored as given: it would read back as "
                f"{describe_event(decoded.event)} with other content"
            )

    def append(self, subject_id: str, event: Event) -> Event:
        """Store one event; see :meth:`lawful.ledger.ConsentLedger.append`."""
        return self.append_batch([(subject_id, event)])[0]

    def append_batch(self, items: Iterable[tuple[str, Event]]) -> list[Event]:
        """Store events in one transaction; see :meth:`lawful.ledger.ConsentLedger.append_batch`."""
        return [event for event, _ in self._append(list(items))]

    def append_batch_report(self, items: Iterable[tuple[str, Event]]) -> Appended:
        """Store events in one transaction, as :meth:`append_batch` does, and say which of
        them this call stored: the others were on record already (appends are idempotent
        by id), or were erased, which an append never brings back.

        Raises:
            EventError: A subject id is empty or an event cannot be serialised.
            LedgerConflictError: An id is stored for its subject with other content.
            LedgerError: The store failed; nothing was stored.
        """
        done = self._append(list(items))
        return Appended(events=tuple(event for event, _ in done), new=tuple(new for _, new in done))

    def _append(self, pending: list[tuple[str, Event]]) -> list[tuple[Event, bool]]:
        """Store ``pending`` in one transaction: each event as stored, and whether this
        transaction stored it.
        """
        if not pending:
            return []
        # Canonical forms and tags are computed before the lock is taken: writers wait less.
        prepared = [self._prepare(subject_id, event) for subject_id, event in pending]
        self._before_write(prepared)
        erased = False
        with self._store.writing() as writer:
            now = self._now()
            tips = _Tips(self._key, writer, self._shards)
            tips.load(tag for _, tag, _, _ in prepared)
            out: list[tuple[Event, bool]] = []
            event: Event
            for subject_id, subject_tag, id_tag, base in prepared:
                stored = self._existing(writer, id_tag, base)
                if stored is not None:
                    out.append((stored, False))
                    continue
                seq, mac = tips.next(subject_tag)
                link = self._link(writer, subject_tag)
                if isinstance(base, Erasure):
                    record, event = self._erase_in(
                        writer, subject_tag, id_tag, base, now, (seq, mac, link)
                    )
                    erased = True
                else:
                    event = stored_form(base, event_id=base.id, recorded_at=now)
                    record = self._event_record(
                        subject_id, subject_tag, id_tag, event, (seq, mac, link)
                    )
                self._seal(writer, record)
                tips.advance(record)
                out.append((event, True))
            tips.seal()
        if erased:
            self._store.purge()
        return out

    def _before_write(self, prepared: Sequence[tuple[str, bytes, bytes, Event]]) -> None:
        """A store's look at a batch, prepared, before the lock is taken (none here)."""

    def _event_record(
        self,
        subject_id: str,
        subject_tag: bytes,
        id_tag: bytes,
        event: Event,
        chain: tuple[int, bytes, int],
    ) -> Record:
        """The sealed record of an event at ``chain`` (its position, the MAC it is chained
        to, its link), after it is read back and compared.
        """
        seq, mac, link = chain
        payload = canonical(subject_id, event)
        probe = Record(seq, RecordKind.EVENT, subject_tag, id_tag, None, payload, b"", b"")
        self._round_trip(subject_id, event, probe)
        return seal_record(
            self._key, mac, seq, RecordKind.EVENT, subject_tag, id_tag, payload, link
        )

    def _prepare(self, subject_id: str, event: E) -> tuple[str, bytes, bytes, E]:
        given: object = subject_id
        if not isinstance(given, str) or not given:
            raise EventError(f"subject: expected a non-empty id, got {subject_id!r}")
        if not isinstance(event, Event):
            raise EventError(f"event: expected a lawful event, got {type(event).__name__}")
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
        decoded = check_record(self._key, record, shards=self._shards)
        if decoded is None:
            # Erased: the id stays known so that a replayed append cannot bring it back.
            return base
        stored = decoded.event
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
        now: datetime | None,
        chain: tuple[int, bytes, int],
        keep_proof: bool | None = None,
        keep_ids: frozenset[bytes] | None = None,
    ) -> tuple[Record, Erasure]:
        seq, mac, link = chain
        keep = self._keep_proof if keep_proof is None else keep_proof
        records = writer.by_subject(subject_tag)
        tip = writer.subject_tip(subject_tag)
        # The history is verified before anything is kept or erased on its word.
        check_history(self._key, records, None if tip is None else tip[:2], shards=self._shards)
        erased: list[int] = []
        kept: list[int] = []
        for record in records:
            if record.kind is not RecordKind.EVENT or record.payload is None:
                continue
            if keep_ids is not None:
                # A restore: keep exactly what the backup kept.
                (kept if record.id_tag in keep_ids else erased).append(record.seq)
            # Art. 17(3)(e): the controller may keep proof of consent for legal claims.
            elif keep and isinstance(decode(record).event, PROOF_TYPES):
                kept.append(record.seq)
            else:
                erased.append(record.seq)
        writer.scrub(erased)
        stamp = erasure.recorded_at if now is None else now
        event = stored_form(erasure, event_id=erasure.id, recorded_at=stamp)
        payload = canonical(None, event, erased=erased, kept=kept)
        probe = Record(seq, RecordKind.ERASURE, subject_tag, id_tag, None, payload, b"", b"")
        self._round_trip(None, event, probe)
        record = seal_record(
            self._key, mac, seq, RecordKind.ERASURE, subject_tag, id_tag, payload, link
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
            tips = _Tips(self._key, writer, self._shards)
            tips.load([subject_tag])
            existing = self._existing(writer, id_tag, base)
            if isinstance(existing, Erasure):
                return existing  # the same erasure, asked again: idempotent
            seq, mac = tips.next(subject_tag)
            link = self._link(writer, subject_tag)
            record, event = self._erase_in(
                writer, subject_tag, id_tag, base, now, (seq, mac, link), keep_proof
            )
            self._seal(writer, record)
            tips.advance(record)
            tips.seal()
        self._store.purge()
        return event

    def restore(self, entries: Iterable[BackupEntry]) -> Restored:
        """Load a backup (see :meth:`dump`) in one transaction; see ``docs/ledger.md``.

        Events keep the ``recorded_at`` of the backup. An event already stored is counted
        as present; one this ledger erased (its id is known as erased, or it was recorded
        before an erasure of its subject here) is skipped and counted, never brought
        back. An erasure erases every earlier record of its subject that the backup does
        not list before it.

        Raises:
            EventError: An entry is malformed.
            LedgerKeyError: An erasure entry was made with another key (its pseudonym
                would name nobody here).
            LedgerConflictError: An id is stored for its subject with other content.
        """
        pending = list(entries)
        added = present = skipped = 0
        erased = False
        check = self._key.check.hex()
        with self._store.writing() as writer:
            now = self._now()
            tips = _Tips(self._key, writer, self._shards)
            tips.load(self._key.subject_tag(name) for name in _named(pending))
            seen: dict[bytes, set[bytes]] = {}
            erased_at: dict[bytes, datetime | None] = {}
            for number, entry in enumerate(pending, start=1):
                record: Record
                if entry.subject is not None:
                    _, tag, id_tag, base = self._prepare(entry.subject, entry.event)
                    if isinstance(base, Erasure):
                        raise EventError(f"backup entry {number}: an erasure names no subject")
                    found = writer.by_id(id_tag)
                    if found is not None:
                        if check_record(self._key, found, shards=self._shards) is None:
                            skipped += 1  # erased here: never brought back
                        else:
                            self._existing(writer, id_tag, base)  # a conflict, if it differs
                            present += 1
                            seen.setdefault(tag, set()).add(id_tag)
                        continue
                    recorded = entry.event.recorded_at
                    last_erasure = self._last_erasure(writer, tag, erased_at)
                    if (
                        last_erasure is not None
                        and recorded is not None
                        and recorded <= last_erasure
                    ):
                        skipped += 1  # recorded before this ledger erased its subject
                        continue
                    event = stored_form(base, event_id=base.id, recorded_at=recorded or now)
                    seq, mac = tips.next(tag)
                    link = self._link(writer, tag)
                    record = self._event_record(entry.subject, tag, id_tag, event, (seq, mac, link))
                    seen.setdefault(tag, set()).add(id_tag)
                else:
                    if entry.key_check != check:
                        raise LedgerKeyError(
                            f"backup entry {number}: an erasure made with another ledger key; "
                            "its pseudonym names nobody in this ledger"
                        )
                    if not isinstance(entry.event, Erasure) or entry.pseudonym is None:
                        raise EventError(f"backup entry {number}: expected an erasure")
                    tag = _pseudonym(entry.pseudonym, number)
                    base = stored_form(entry.event, event_id=entry.event.id, recorded_at=None)
                    if base.id is None:
                        raise EventError(f"backup entry {number}: an erasure without an id")
                    id_tag = self._key.id_tag(tag, base.id)
                    if writer.by_id(id_tag) is not None:
                        self._existing(writer, id_tag, base)
                        present += 1
                        continue
                    seq, mac = tips.next(tag)
                    link = self._link(writer, tag)
                    with_time = attrs.evolve(base, recorded_at=entry.event.recorded_at or now)
                    record, _ = self._erase_in(
                        writer,
                        tag,
                        id_tag,
                        with_time,
                        None,
                        (seq, mac, link),
                        keep_ids=frozenset(seen.get(tag, ())),
                    )
                    erased_at[tag] = with_time.recorded_at
                    erased = True
                self._seal(writer, record)
                tips.advance(record)
                added += 1
            tips.seal()
        if erased:
            self._store.purge()
        return Restored(added=added, present=present, skipped=skipped)

    def _last_erasure(
        self, reader: RecordReader, tag: bytes, cache: dict[bytes, datetime | None]
    ) -> datetime | None:
        """When this ledger last recorded an erasure of the subject (verified), if ever."""
        if tag not in cache:
            if reader.subject_tip(tag) is None:
                cache[tag] = None
            else:
                tip = reader.subject_tip(tag)
                history = check_history(
                    self._key,
                    reader.by_subject(tag),
                    None if tip is None else tip[:2],
                    shards=self._shards,
                )
                stamps = [
                    d.event.recorded_at
                    for d in history
                    if isinstance(d.event, Erasure) and d.event.recorded_at is not None
                ]
                cache[tag] = max(stamps, default=None)
        return cache[tag]

    def _upgrade(self, writer: RecordWriter) -> None:
        """Migrate a format 1 chain: verify it by format 1 rules, then seal it in format 2."""
        verifier = ChainVerifier(self._key, chain_format=1)
        records = []
        for record in writer.scan():
            verifier.feed(record)
            records.append(record)
        verifier.finish(writer.meta(HEAD))
        prev = GENESIS
        last: dict[bytes, tuple[int, bytes]] = {}
        for record in records:
            tag = record.subject_tag
            link = last.get(tag, (0, b""))[0]
            mac = self._key.mac(
                prev, record.seq, record.kind, tag, record.id_tag, record.digest, link
            )
            writer.rewrite(record.seq, link, mac)
            last[tag] = (record.seq, mac)
            prev = mac
        for tag, (seq, mac) in last.items():
            writer.set_subject_head(tag, seq, self._key.subject_seal(tag, seq, mac))
        writer.set_meta(HEAD, pack_head(self._key, len(records), prev))
        writer.set_meta(FORMAT_NAME, FORMAT_VALUE)

    # -- reading ---------------------------------------------------------------------

    def _history(self, subject_id: str) -> list[Event]:
        """The subject's events, every record checked and the history checked whole."""
        tag = self._key.subject_tag(subject_id)
        with self._store.reading() as reader:
            records = reader.by_subject(tag)
            tip = reader.subject_tip(tag)
        decoded = check_history(
            self._key, records, None if tip is None else tip[:2], shards=self._shards
        )
        return [d.event for d in decoded]

    def events(self, subject_id: str) -> Iterator[Event]:
        """The subject's events in recorded order, verified (see ``docs/ledger.md``)."""
        return iter(self._history(subject_id))

    def subject(self, subject_id: str, *, categories: Iterable[str] | None = None) -> Subject:
        """The subject with every event the ledger holds for it, verified."""
        return Subject(subject_id, self._history(subject_id), categories=categories)

    def histories(self) -> Generator[SubjectHistory, None, None]:
        """Every subject's history, one subject at a time, from one read snapshot.

        Only one subject's records are held at a time, so a report over a large ledger
        runs in the memory of its largest history. Subjects come in no particular order
        (the store's order of their pseudonyms). Each history is verified as
        :meth:`~lawful.ledger.ConsentLedger.subject` verifies it. The snapshot stays open
        until the iterator is exhausted or closed: finish (or close) it before this
        thread uses the ledger again.

        Raises:
            LedgerIntegrityError: A subject's records do not verify; the message names
                the record.
        """
        with self._store.reading() as reader:
            for tag, seq, seal in reader.subject_heads():
                decoded = check_history(
                    self._key, reader.by_subject(tag), (seq, seal), shards=self._shards
                )
                subject = next((d.subject for d in decoded if d.subject is not None), None)
                yield SubjectHistory(subject, tag.hex(), tuple(d.event for d in decoded))

    def subject_count(self) -> int:
        """How many subjects the ledger holds (erased ones included), counted streaming."""
        with self._store.reading() as reader:
            return sum(1 for _ in reader.subject_heads())

    def export(self, subject_id: str) -> str:
        """The subject's records as JSON Lines (Art. 15, Art. 20), verified."""
        return dumps_events((subject_id, event) for event in self._history(subject_id))

    def dump(self) -> Iterator[BackupEntry]:
        """A complete backup in chain order: every event, and every erasure under its
        subject's pseudonym; the whole chain is verified first.

        Raises:
            LedgerIntegrityError: The chain does not verify; nothing is returned.
        """
        verifier = ChainVerifier(self._key)
        records: list[Record] = []
        with self._store.reading() as reader:
            for record in reader.scan():
                verifier.feed(record)
                records.append(record)
            verifier.subject_heads(reader.subject_heads())
            sealed = reader.meta(HEAD)
        verifier.finish(sealed)
        check = self._key.check.hex()
        out: list[BackupEntry] = []
        for record in records:
            if record.payload is None:
                continue
            decoded = decode(record)
            if decoded.subject is None:
                out.append(
                    BackupEntry(None, decoded.event, record.subject_tag.hex(), key_check=check)
                )
            else:
                out.append(BackupEntry(decoded.subject, decoded.event))
        return iter(out)

    def proof(self, subject_id: str, decision: Decision) -> Proof:
        """The records supporting a decision (Art. 7(1)), each verified."""
        cited = [r.event for r in decision.reasons if r.event is not None]
        found: dict[int, ProofRecord] = {}
        prepared = [self._prepare(subject_id, event) for event in cited]
        with self._store.reading() as reader:
            for (_, _, id_tag, base), event in zip(prepared, cited, strict=True):
                record = reader.by_id(id_tag)
                if record is None:
                    raise LedgerError(f"proof: {describe_event(event)} is not in this ledger")
                decoded = check_record(self._key, record, shards=self._shards)
                if decoded is None:
                    raise LedgerError(
                        f"proof: {describe_event(event)} was erased (Art. 17); erase with "
                        "keep_proof=True to keep proof of consent for legal claims"
                    )
                stored = decoded.event
                if event_to_dict(stored_form(stored, event_id=stored.id, recorded_at=None)) != (
                    event_to_dict(base)
                ):
                    raise LedgerError(f"proof: {describe_event(event)} differs from the stored one")
                found[record.seq] = ProofRecord(record.seq, stored, record.mac.hex())
            head = self._head(reader)
        records = tuple(found[seq] for seq in sorted(found))
        return Proof(subject=subject_id, decision=decision, records=records, head=head)

    def _head(self, reader: RecordReader) -> Head:
        """The ledger's head from the sealed heads of its shards (one for a single chain)."""
        shards = self._shards
        heads: list[tuple[int, bytes]] = []
        for shard in range(shards):
            sealed = reader.meta(head_name(shard, shards))
            count, mac, seal = unpack_head(sealed)
            if sealed is not None and not hmac.compare_digest(
                seal, self._key.shard_seal(shard, shards, count, mac)
            ):
                whose = "the ledger's" if shards == 1 else f"shard {shard}'s"
                raise LedgerIntegrityError(f"{whose} sealed head does not verify")
            heads.append((count, mac))
        if shards == 1:
            return Head(heads[0][0], heads[0][1].hex())
        counts = tuple(count for count, _ in heads)
        return Head(sum(counts), shards_hash(heads).hex(), counts)

    def head(self) -> Head:
        """The current head (its seal checked), for the host to anchor."""
        with self._store.reading() as reader:
            return self._head(reader)

    def verify(self, *, expected_head: Head | None = None) -> Head:
        """Check every record and the head; see :meth:`lawful.ledger.ConsentLedger.verify`."""
        verifier = ChainVerifier(self._key, expected_head)
        with self._store.reading() as reader:
            for record in reader.scan():
                verifier.feed(record)
            verifier.subject_heads(reader.subject_heads())
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


def _named(entries: Iterable[BackupEntry]) -> Iterator[str]:
    """The subject ids of the entries that name one (erasures go by pseudonym)."""
    for entry in entries:
        if isinstance(entry.subject, str) and entry.subject:
            yield entry.subject


def _pseudonym(text: str, number: int) -> bytes:
    try:
        tag = bytes.fromhex(text)
    except ValueError:
        tag = b""
    if len(tag) != 32:
        raise EventError(f"backup entry {number}: pseudonym: expected 64 hex digits")
    return tag
