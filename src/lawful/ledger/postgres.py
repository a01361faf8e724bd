"""A ledger in PostgreSQL, shared by every process and machine of a service.

Needs the optional extra ``lawful[postgres]`` (psycopg 3). The records, the chain and
every check are those of :mod:`lawful.ledger._core`; this module only stores them:

- **A chain and a lock per shard.** The chain is cut into ``shards`` chains by subject
  (fixed at creation; see :mod:`lawful.ledger._chain`), and the ledger's head is a hash
  over the shard heads, so one anchored head still covers every subject. Every write
  transaction first takes ``SELECT ... FOR UPDATE`` on the ``ledger_shards`` rows of
  the shards its subjects fall in, and only then reads their heads, in ``READ
  COMMITTED``, so that each statement after the locks sees every earlier commit.
  Writers of different shards do not wait for each other; a writer that dies (killed,
  disconnected) has its transaction rolled back and its locks released by the server.
- **One clock.** ``recorded_at`` is the server's ``clock_timestamp()`` read after the
  locks, so it follows each shard's chain order whatever the writers' clocks say.
- **Bounds.** A writer stopped or cut off while it holds the lock is ended by the server
  within ``hold_timeout`` (idle-in-transaction timeout, server-side keepalives); writers
  wait at most ``lock_timeout``; at most ``max_connections`` connections; events over
  ``max_record_bytes`` are refused before the lock. See ``docs/postgres.md``.
- **Schema.** Created and migrated by the ledger (``ledger_meta`` holds its version and
  a marker), under a transaction-level advisory lock so that many processes may open it
  at once; a schema holding tables lawful did not create is refused.
- **Subject cache.** :meth:`PostgresLedger.subject` keeps compiled subjects, each
  revalidated with one indexed query once older than ``max_staleness`` seconds, and
  dropped as soon as a ``NOTIFY`` from another writer names it (a keyed pseudonym,
  never the subject id). A cached subject therefore reflects every append committed
  at least ``max_staleness`` seconds before the read, with or without notifications.
- **Erasure.** Each subject's events are encrypted under data keys of its own, stored
  wrapped by a key derived from the ledger key (:mod:`lawful.ledger._pgcrypt`); erasure
  destroys the subject's keys in its short write transaction, so that every copy of the
  records (WAL, replicas, backups) holds ciphertext that nothing opens once the copies
  of the key are gone. A ledger created with ``encrypt=False`` drops content in place and
  ``VACUUM``s instead. See ``docs/postgres.md``.
"""

from __future__ import annotations

import os
import reprlib
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Generator, Iterable, Sequence
from datetime import datetime
from typing import cast

import attrs
import psycopg
from psycopg.rows import TupleRow

from lawful.events import Erasure, Event
from lawful.exceptions import EventError, LedgerError
from lawful.ledger._chain import GENESIS, Head, LedgerKey, RecordKind, canonical, decode
from lawful.ledger._core import Clock, LedgerCore
from lawful.ledger._pgschema import ENCRYPT_PENDING, PURGE_PENDING, RESHARD
from lawful.ledger._pgshards import reshard, verify_shards
from lawful.ledger._pgstore import MIGRATIONS, Limits, PostgresStore
from lawful.ledger._protocol import BackupEntry
from lawful.ledger._verify import check_history
from lawful.subject import Subject

__all__ = ["MIGRATIONS", "PostgresLedger"]

_CacheKey = tuple[bytes, frozenset[str] | None]
_REBUILD = 16
"""More new events than this and a cached subject is rebuilt rather than added to."""
_PROBE = 30.0
"""Seconds of silence after which the listener checks that its connection lives."""
MAX_RECORD_BYTES = 64 * 1024
"""The default cap on one event's stored form (its canonical JSON, subject id included)."""


@attrs.define
class _Entry:
    """A compiled subject and how fresh it is.

    Attributes:
        subject: The subject as compiled.
        version: The position of its last record read (0: none).
        mac: That record's MAC (verified): where an incremental read continues.
        checked: ``time.monotonic()`` just before the query that read it: every append
            committed before then is in ``subject``.
    """

    subject: Subject
    version: int
    checked: float
    mac: bytes = GENESIS


class _SubjectCache:
    """Compiled subjects by (pseudonym, categories), least recently used first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._entries: OrderedDict[_CacheKey, _Entry] = OrderedDict()
        self._by_tag: dict[bytes, set[_CacheKey]] = {}  # a notification names a pseudonym
        # Loads in flight per pseudonym, and those a notification hit meanwhile: such a
        # load may have read before the append it was told about, so it is kept unchecked.
        self._loading: dict[bytes, int] = {}
        self._hit: set[bytes] = set()

    def get(self, key: _CacheKey) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def begin(self, tag: bytes) -> None:
        with self._lock:
            self._loading[tag] = self._loading.get(tag, 0) + 1

    def _end(self, tag: bytes) -> bool:
        """One load of ``tag`` ended; whether a notification hit it meanwhile."""
        left = self._loading.get(tag, 1) - 1
        hit = tag in self._hit
        if left:
            self._loading[tag] = left
        else:
            self._loading.pop(tag, None)
            self._hit.discard(tag)
        return hit

    def abort(self, tag: bytes) -> None:
        with self._lock:
            self._end(tag)

    def put(self, key: _CacheKey, entry: _Entry) -> None:
        with self._lock:
            if self._end(key[0]):
                entry.checked = float("-inf")
            self._entries[key] = entry
            self._entries.move_to_end(key)
            self._by_tag.setdefault(key[0], set()).add(key)
            while len(self._entries) > self.size:
                old, _ = self._entries.popitem(last=False)
                keys = self._by_tag[old[0]]
                keys.discard(old)
                if not keys:
                    del self._by_tag[old[0]]

    def drop(self, tags: Iterable[bytes]) -> None:
        with self._lock:
            for tag in tags:
                for key in self._by_tag.pop(tag, ()):
                    del self._entries[key]
                if tag in self._loading:
                    self._hit.add(tag)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._by_tag.clear()
            self._hit.update(self._loading)


class _Listener:
    """A thread that ``LISTEN``s on the ledger's channel and drops what it names.

    Notifications only make the cache fresher than its bound; losing them (a dropped
    connection) costs freshness, never correctness: on reconnecting, the whole cache is
    dropped, since anything it holds may have missed a notification meanwhile. An idle
    connection is probed every ``_PROBE`` seconds, so a dead one is noticed.
    """

    def __init__(self, store: PostgresStore, cache: _SubjectCache) -> None:
        self._store = store
        self._cache = cache
        self._stop = threading.Event()
        # Wakes the thread from select() at once when the ledger closes.
        self._wake_r, self._wake_w = os.pipe()
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lawful-ledger-listen", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                with self._store.connect() as conn:
                    conn.execute(self._store.queries.listen)
                    self._cache.clear()
                    self.ready.set()
                    backoff = 0.1
                    self._serve(conn)
            except (psycopg.Error, LedgerError, OSError):
                self.ready.clear()
                select.select([self._wake_r], [], [], backoff)
                backoff = min(backoff * 2, 5.0)
        self.ready.clear()

    def _serve(self, conn: psycopg.Connection[TupleRow]) -> None:
        while not self._stop.is_set():
            readable, _, _ = select.select([conn.fileno(), self._wake_r], [], [], _PROBE)
            if self._wake_r in readable:
                return
            if readable:
                self._cache.drop([_tag(note.payload) for note in conn.notifies(timeout=0)])
            else:
                conn.execute("SELECT 1")

    def stop(self) -> None:
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=10)
        os.close(self._wake_r)
        os.close(self._wake_w)


def _tag(payload: str) -> bytes:
    try:
        return bytes.fromhex(payload)
    except ValueError:
        return b""


class PostgresLedger(LedgerCore):
    """A :class:`lawful.ledger.ConsentLedger` in a PostgreSQL schema, for many machines.

    Every process and machine of a service opens the same schema with the same key and
    appends concurrently; each shard's hash chain stays consistent (writers of a shard
    queue on its row lock for one short transaction; other shards' writers go on).
    Decisions stay in process: :meth:`subject` serves compiled subjects from a cache
    that reflects every append committed at least ``max_staleness`` seconds earlier,
    and in practice within milliseconds, through ``LISTEN``/``NOTIFY``. Appends and
    erasures made through this object are visible to its own next read at once.

    Args:
        dsn: A libpq connection string or URI (``postgresql://user@host/db``).
        key: The ledger key, kept outside the database (:meth:`LedgerKey.from_file`).
        schema: The schema that holds the ledger; created and migrated on opening.
        clock: Stamps ``recorded_at``; default: the server's clock, read under the
            shards' locks, so that ``recorded_at`` follows chain order across machines.
        keep_proof: Whether erasure keeps consent records by default (Art. 17(3)(e)).
        max_staleness: Seconds a cached subject is used without asking the server; 0
            asks every time (one indexed query that reads only newer records).
        cache_size: Compiled subjects kept (least recently used go first); 0: no cache.
        listen: Listen for other writers' appends (one more connection and a thread).
        connect_timeout: Seconds to wait for a connection.
        vacuum_full: After an erasure that dropped content in place (a ledger in clear),
            rewrite the table (``VACUUM FULL``, which locks it) instead of a plain ``VACUUM``.
        migrate: Migrate an older schema: a format 1 or single-chain ledger is verified,
            then sealed again in ``shards`` shards; with ``encrypt=True``, a ledger in
            clear is verified, then its records are encrypted in place (stop other
            writers meanwhile); without it such a schema is refused.
        hold_timeout: Seconds a write transaction may stay silent while it holds
            shards' locks before the server ends it (a stalled or vanished writer); the server's
            TCP keepalives follow it. See ``docs/postgres.md``.
        lock_timeout: Seconds a writer waits for its shards' locks before giving up.
        transaction_timeout: On PostgreSQL 17 and later, the longest a write
            transaction may last (0: no limit; a ``restore()`` of a large backup may
            need it).
        max_connections: Connections open at once for reads and writes (the listener
            has one more).
        pool_timeout: Seconds a caller waits for a free connection.
        max_record_bytes: The largest event accepted, as stored (its canonical JSON);
            checked before any lock is taken.
        shards: The number of shards of a new ledger (1 to 1,024; default 16), or of a
            single-chain ledger being migrated; an existing ledger keeps its own, and
            asking for another number is refused. ``None``: as it is (16 for a new one).
        encrypt: Whether events are stored encrypted under data keys per subject, which
            erasure destroys (``docs/postgres.md``). ``None``: as the ledger is (a new
            one is encrypted); ``False``: a new ledger in clear (an encrypted one is
            refused); ``True``: a ledger in clear is refused unless ``migrate`` encrypts it.

    Raises:
        LedgerKeyError: The key is too short or is not this ledger's key.
        LedgerError: The server cannot be reached, the DSN cannot be parsed, the schema
            cannot be created, holds tables lawful did not create, or is newer than this
            lawful, or is a single-chain ledger opened without ``migrate``, or is in clear
            and opened with ``encrypt=True`` without ``migrate`` (or encrypted and opened
            with ``encrypt=False``); a negative
            ``max_staleness`` or ``cache_size``, a timeout not above 0,
            ``max_connections`` or ``max_record_bytes`` below 1, ``shards`` out of range
            or not the ledger's.
    """

    def __init__(
        self,
        dsn: str,
        *,
        key: LedgerKey | bytes,
        schema: str = "lawful",
        clock: Clock | None = None,
        keep_proof: bool = False,
        max_staleness: float = 1.0,
        cache_size: int = 10_000,
        listen: bool = True,
        connect_timeout: float = 10.0,
        vacuum_full: bool = False,
        migrate: bool = False,
        hold_timeout: float = 5.0,
        lock_timeout: float = 10.0,
        transaction_timeout: float = 60.0,
        max_connections: int = 10,
        pool_timeout: float = 10.0,
        max_record_bytes: int = MAX_RECORD_BYTES,
        shards: int | None = None,
        encrypt: bool | None = None,
    ) -> None:
        # The key's rules are checked before anything is opened; its wrapping key is the
        # store's (lawful.ledger._pgcrypt).
        given: object = dsn  # typed str, but a host may pass anything: never echo it
        if not isinstance(given, str):
            raise LedgerError(f"postgres: the DSN must be a string, got {type(given).__name__}")
        key = key if isinstance(key, LedgerKey) else LedgerKey.from_bytes(key)
        if not max_staleness >= 0 or cache_size < 0:
            raise LedgerError(
                "postgres: max_staleness and cache_size must not be negative, got "
                f"{max_staleness!r} and {cache_size!r}"
            )
        if max_record_bytes < 1:
            raise LedgerError(
                f"postgres: max_record_bytes must be at least 1, got {max_record_bytes!r}"
            )
        self.max_record_bytes = max_record_bytes
        self._pg = PostgresStore(
            dsn,
            key=key,
            schema=schema,
            connect_timeout=connect_timeout,
            vacuum_full=vacuum_full,
            migrate=migrate,
            limits=Limits(
                hold_timeout=hold_timeout,
                lock_timeout=lock_timeout,
                transaction_timeout=transaction_timeout,
                max_connections=max_connections,
                pool_timeout=pool_timeout,
            ),
            shards=shards,
            encrypt=encrypt,
        )
        try:
            super().__init__(
                self._pg,
                key=key,
                clock=clock or self._pg.now,
                keep_proof=keep_proof,
                migrate=migrate,
                where=self._pg.where,
            )
        except BaseException:
            self._pg.close()  # the core closes it too, except for a key refused at once
            raise
        if self._pg.reshard_pending:
            self._reshard(migrate=migrate)
        if self._pg.encrypt_pending:
            self._encrypt(migrate=migrate)
        self.max_staleness = max_staleness
        self._monotonic = time.monotonic
        self._listen = listen and cache_size > 0
        self._cache = _SubjectCache(cache_size)
        # Started by the first read through the cache: a process that only writes needs none.
        self._listener: _Listener | None = None
        self._starting = threading.Lock()
        self._pid = os.getpid()

    def _reshard(self, *, migrate: bool) -> None:
        """Re-seal a single chain in shards (schema 3 over version 2 records), or refuse."""
        try:
            if not migrate:
                raise LedgerError(  # noqa: TRY301 - closes the store, then re-raises
                    f"{self._pg.where}: a single-chain ledger whose migration to shards did "
                    "not finish; open it with migrate=True (or `lawful ledger migrate`)"
                )
            with self._pg.writing() as writer:
                # Under every shard's lock: another process opening the ledger at the same
                # time may have re-sealed it meanwhile (the flag was read before the lock).
                if writer.meta(RESHARD) is not None:
                    reshard(self._key, writer)
            self._pg.reshard_pending = False
        except BaseException:
            self._pg.close()
            raise

    def _encrypt(self, *, migrate: bool) -> None:
        """Encrypt a ledger's records stored in clear, in place, under keys per subject.

        Under every shard's lock, in one transaction: the whole chain is verified first,
        then each event record's nonce and payload are encrypted; digests and MACs do not
        change, so the head does not either. The old row versions (in clear) go at the
        ``VACUUM`` that follows.
        """
        try:
            if not migrate:
                raise LedgerError(  # noqa: TRY301 - closes the store, then re-raises
                    f"{self._pg.where}: a ledger whose encryption did not finish; open it "
                    "with encrypt=True and migrate=True"
                )
            with self._pg.writing() as writer:
                # Another process may have finished it meanwhile (see _reshard).
                if writer.meta(ENCRYPT_PENDING) is not None:
                    verify_shards(self._key, self._pg, reader=writer)
                    writer.encrypt_in_place(list(writer.scan()))
                    writer.drop_meta([ENCRYPT_PENDING])
                    writer.set_meta(PURGE_PENDING, os.urandom(16))
            self._pg.encrypt_pending = False
            self._pg.crypt.plaintext = False
            self._pg.purge()
        except BaseException:
            self._pg.close()
            raise

    @property
    def encrypted(self) -> bool:
        """Whether events are stored encrypted under data keys per subject (crypto-shredding)."""
        return self._pg.crypt.enabled

    @property
    def shards(self) -> int:
        """The number of shards the chain is cut into, fixed when the ledger was created."""
        return self._shards

    def _same_process(self) -> None:
        with self._starting:
            if os.getpid() != self._pid:
                # After fork() the listener thread is gone and the cache is nobody's.
                self._pid = os.getpid()
                self._cache = _SubjectCache(self._cache.size)
                self._listener = None
            if self._listen and self._listener is None:
                self._listener = _Listener(self._pg, self._cache)

    def subject(self, subject_id: str, *, categories: Iterable[str] | None = None) -> Subject:
        """The subject with every event the ledger holds for it, from the cache if fresh.

        A subject returned reflects every append committed at least ``max_staleness``
        seconds before the call (and every append through this object).
        """
        tag = self._key.subject_tag(subject_id)
        key: _CacheKey = (tag, None if categories is None else frozenset(categories))
        if self._cache.size == 0:
            return self._load(subject_id, tag, key[1], None)[0]
        self._same_process()
        started = self._monotonic()
        entry = self._cache.get(key)
        if entry is not None and started - entry.checked < self.max_staleness:
            return entry.subject
        self._cache.begin(tag)
        try:
            subject, version, mac = self._load(subject_id, tag, key[1], entry)
        except BaseException:
            self._cache.abort(tag)
            raise
        self._cache.put(key, _Entry(subject, version, started, mac))
        return subject

    def _load(
        self, subject_id: str, tag: bytes, categories: frozenset[str] | None, entry: _Entry | None
    ) -> tuple[Subject, int, bytes]:
        # Every record read is verified (check_history) before a decision can use it.
        if entry is not None:
            newer, tip = self._pg.subject_records(tag, entry.version)
            head = None if tip is None else tip[:2]
            after = (entry.version, entry.mac)
            if not newer:
                # Nothing new: the head must still be the one after the cached records.
                check_history(
                    self._key, newer, head, after=after, shards=self._shards, subject_tag=tag
                )
                return entry.subject, entry.version, entry.mac
            if all(r.kind is RecordKind.EVENT for r in newer):
                checked = check_history(self._key, newer, head, after=after, shards=self._shards)
                added = [d.event for d in checked]
                subject = entry.subject
                if len(added) > _REBUILD:
                    subject = subject.extend(added)
                else:
                    for event in added:
                        subject = subject.add(event)
                return subject, newer[-1].seq, newer[-1].mac
            # An erasure emptied records read before: compile the subject again.
        records, tip = self._pg.subject_records(tag, 0)
        decoded = check_history(
            self._key, records, None if tip is None else tip[:2], shards=self._shards
        )
        subject = Subject(subject_id, [d.event for d in decoded], categories=categories)
        if not records:
            return subject, 0, GENESIS
        return subject, records[-1].seq, records[-1].mac

    def _forget(self, subject_ids: Iterable[object]) -> None:
        tags = [self._key.subject_tag(s) for s in subject_ids if isinstance(s, str) and s]
        self._cache.drop(tags)

    def _append(self, pending: list[tuple[str, Event]]) -> list[tuple[Event, bool]]:
        # append_batch and append_batch_report both come here; the sizes, ids and
        # subjects go to the server in _before_write, which the core calls.
        try:
            return super()._append(pending)
        finally:
            self._pg.expect(())  # unused if the core refused the batch before writing
            # Even when the commit's outcome is unknown: the next read asks the server.
            self._forget(subject_id for subject_id, _ in pending)

    def _before_write(self, prepared: Sequence[tuple[str, bytes, bytes, Event]]) -> None:
        """Sizes checked before the lock; the ids and subjects go with the lock in one
        exchange (and name the shards to lock), not one query each.
        """
        for subject_id, _, _, base in prepared:
            self._check_size(subject_id, base)
        self._pg.expect([p[2] for p in prepared], [p[1] for p in prepared])

    def _check_size(self, subject_id: str, event: Event) -> None:
        """Refuse an event larger than ``max_record_bytes``, before any lock: a
        huge one would be serialised, sealed and sent while every other writer waits.
        """
        if isinstance(event, Erasure):
            return  # its size is the ledger's (a list of erased records), not a caller's
        size = len(canonical(subject_id, event))
        if size > self.max_record_bytes:
            raise EventError(
                f"event {reprlib.repr(event.id)}: {size} bytes stored, more than max_record_bytes "
                f"({self.max_record_bytes}); nothing was written"
            )

    def erase(
        self, subject_id: str, *, at: datetime | None = None, keep_proof: bool | None = None
    ) -> Erasure:
        """Erase a subject (Art. 17); see :meth:`lawful.ledger.ConsentLedger.erase`."""
        given: object = subject_id  # checked by the core; a bad id just locks every shard
        if isinstance(given, str) and given:
            # Only the subject's shard is locked.
            self._pg.expect((), [self._key.subject_tag(subject_id)])
        try:
            return super().erase(subject_id, at=at, keep_proof=keep_proof)
        finally:
            self._pg.expect(())  # unused if the core refused before writing
            self._forget([subject_id])

    def dump(self) -> Generator[BackupEntry]:
        """A complete backup in chain order, streamed; the whole chain is verified first.

        Two passes over one repeatable-read snapshot, each through a server-side cursor:
        the first verifies every record (and raises before anything is returned), the
        second decodes and yields them. Memory grows with the number of subjects (the
        verifier's links), not of records. The snapshot and one connection are held
        until the iterator is exhausted or closed: consume it, or close it.

        Raises:
            LedgerIntegrityError: The chain does not verify; nothing is returned.
        """
        stream = self._dump()
        next(stream)  # the verifying pass: raises here, before any entry
        return cast("Generator[BackupEntry]", stream)

    def _dump(self) -> Generator[BackupEntry | None]:
        with self._pg.reading() as reader:
            verify_shards(self._key, self._pg, reader=reader)
            yield None
            check = self._key.check.hex()
            for record in reader.scan():
                if record.payload is None:
                    continue
                decoded = decode(record)
                if decoded.subject is None:
                    tag = record.subject_tag.hex()
                    yield BackupEntry(None, decoded.event, tag, key_check=check)
                else:
                    yield BackupEntry(decoded.subject, decoded.event)

    def verify(
        self, *, expected_head: Head | None = None, since: Head | None = None, workers: int = 1
    ) -> Head:
        """Check every record and head, shard by shard; return the ledger's head.

        Each shard is streamed through a server-side cursor in a repeatable-read snapshot of
        its own, so no snapshot outlasts one shard's scan; memory grows with the subjects
        of the shards in flight, not with records.

        Args:
            expected_head: A head the host anchored earlier: every shard must still hold
                the records it counted, unchanged (see ``docs/ledger.md``).
            since: A head this method returned earlier (a checkpoint): only the records
                added after it are verified, chained from it; the records at its counts are
                checked to hash to it. Records before it that an erasure after it lists
                are checked to be erased; other changes to records before it are found by
                a run without ``since`` (and by every read, which verifies what it returns).
            workers: Shards verified at once, each by a worker process with a connection
                of its own (at most ``max_connections``; 1: in this process). Each worker
                costs an interpreter's start: worth it for a large ledger on a client
                with idle cores (``docs/postgres.md``).

        Raises:
            LedgerIntegrityError: Something does not verify: every problem of every shard
                is listed, each naming its shard and record.
            LedgerError: ``expected_head`` or ``since`` is a head of another layout.
        """
        if workers < 1:
            raise LedgerError(f"postgres: workers must be at least 1, got {workers!r}")
        return verify_shards(
            self._key,
            self._pg,
            expected_head=expected_head,
            since=since,
            workers=min(workers, self._pg.limits.max_connections),
        )

    def purge(self) -> None:
        """Run the ``VACUUM`` of an erasure again (after one failed: see :meth:`erase`).

        Raises:
            LedgerError: ``VACUUM`` failed (the role does not own the table, ...).
        """
        self._pg.purge()

    def close(self) -> None:
        """Stop listening and close every connection."""
        with self._starting:
            listener, self._listener = self._listener, None
            self._listen = False
        if listener is not None and self._pid == os.getpid():
            listener.stop()
        super().close()
