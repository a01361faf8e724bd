"""A PostgreSQL ledger's transactions: the views a read or a write transaction gives the
ledger's core (a ``RecordReader``, a ``RecordWriter``); the statements are in
:mod:`lawful.ledger._pgsql`.

A write costs two exchanges whatever the batch size: the locks, the server's clock, the
named values and the batch's lookups in one message, and the records, heads, ``COMMIT``
and the notification in another (see ``docs/postgres.md``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime

import psycopg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from psycopg import sql
from psycopg.pq import ExecStatus
from psycopg.rows import TupleRow

from lawful.exceptions import LedgerError, LedgerIntegrityError
from lawful.ledger._chain import Record, RecordKind, shard_of
from lawful.ledger._pgcrypt import Crypt, DataKey, is_proof
from lawful.ledger._pgschema import PURGE_KEYS, PURGE_PENDING
from lawful.ledger._pgsql import Queries

__all__ = [
    "Conn",
    "LockMissingError",
    "Reader",
    "Writer",
    "row_tip",
]

Conn = psycopg.Connection[TupleRow]
_UPSERT = (
    " ON CONFLICT (subject_tag) DO UPDATE SET seq = excluded.seq, seal = excluded.seal,"
    " shard = excluded.shard"
)
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
_KEY_ROW = "(%s, %s, %s, %s)"
_COMMIT = sql.SQL("COMMIT")
_NOTIFY_BEGIN = "BEGIN"
_NOTIFY = (
    "SELECT set_config('synchronous_commit', 'off', true),"
    " (SELECT count(pg_notify(%s, t)) FROM unnest(%s::text[]) AS t)"
)
_CHUNK_RECORDS = 500
_CHUNK_BYTES = 4 << 20
"""Pending records are sent in messages of at most this many records or bytes: the
server keeps hearing from a long write, and no message is large enough to be cut off
half-sent by a stalled client (a case only ``transaction_timeout`` sees)."""


def row_tip(row: TupleRow) -> tuple[int, bytes, bytes | None]:
    seq, seal, mac = row
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(seal, bytes):
        raise LedgerIntegrityError(f"a subject head is malformed (seq {seq!r})")
    return seq, seal, mac if isinstance(mac, bytes) else None


def _row(
    record: Record, shards: int, stored: tuple[bytes, bytes] | None = None
) -> tuple[object, ...]:
    """The row of a record; ``stored``: its encrypted payload and key id."""
    return (
        (record.seq - 1) % shards,
        record.seq,
        int(record.kind),
        record.subject_tag,
        record.id_tag,
        record.nonce if stored is None else None,
        record.payload if stored is None else stored[0],
        record.digest,
        record.mac,
        record.link,
        None if stored is None else stored[1],
    )


class Reader:
    """A read transaction's view of the schema (a ``RecordReader``): records come
    decrypted (:meth:`lawful.ledger._pgcrypt.Crypt.open`).
    """

    def __init__(self, conn: Conn, queries: Queries, crypt: Crypt, shards: int = 1) -> None:
        self._conn = conn
        self._q = queries
        self._crypt = crypt
        self.shards = shards
        self._meta: dict[str, bytes] | None = None

    def meta(self, name: str) -> bytes | None:
        # Every named value at once (the shards' heads are read together): the snapshot
        # of a read is repeatable, so they cannot change meanwhile.
        if self._meta is None:
            rows = self._conn.execute(self._q.all_meta).fetchall()
            self._meta = {str(n): bytes(v) for n, v in rows}
        return self._meta.get(name)

    def shard_tail(self, shard: int) -> Record | None:
        row = self._conn.execute(self._q.shard_tails, ([shard],)).fetchone()
        return None if row is None else self._crypt.open(row)

    def shard_scan(self, shard: int, after: int = 0) -> Iterator[Record]:
        """A shard's records after position ``after``, in chain order (server-side cursor)."""
        with self._conn.cursor(name=f"lawful_scan_{shard}") as cursor:
            cursor.itersize = 2000
            cursor.execute(self._q.shard_scan, (shard, after))
            for row in cursor:
                yield self._crypt.open(row, strict=False)

    def shard_heads(self, shard: int, after: int = 0) -> Iterator[tuple[bytes, int, bytes]]:
        """The subject heads filed under a shard, naming a record after ``after``."""
        with self._conn.cursor(name=f"lawful_heads_{shard}") as cursor:
            cursor.itersize = 2000
            cursor.execute(self._q.shard_heads, (shard, after))
            for tag, seq, seal in cursor:
                checked = row_tip((seq, seal, None))
                if not isinstance(tag, bytes):
                    raise LedgerIntegrityError("a subject head: its tag is not bytes")
                yield tag, checked[0], checked[1]

    def newest_before(self, tags: Sequence[bytes], seq: int) -> dict[bytes, int]:
        """Per subject tag, the position of its newest record at or before ``seq``."""
        rows = self._conn.execute(self._q.newest_before, (seq, list(tags))).fetchall()
        return {bytes(tag): found for tag, found in rows if isinstance(found, int)}

    def at(self, seqs: Sequence[int]) -> dict[int, Record]:
        """The records at these positions (those that exist)."""
        rows = self._conn.execute(self._q.at_seqs, (list(seqs),)).fetchall()
        return {r.seq: r for r in map(self._crypt.open, rows)}

    def by_id(self, id_tag: bytes) -> Record | None:
        row = self._conn.execute(self._q.by_id, (id_tag,)).fetchone()
        return None if row is None else self._crypt.open(row)

    def by_subject(self, subject_tag: bytes, after: int = 0) -> list[Record]:
        if after:
            rows = self._conn.execute(self._q.after, (subject_tag, after))
        else:
            rows = self._conn.execute(self._q.by_subject, (subject_tag,))
        return [self._crypt.open(r) for r in rows]

    def tail(self) -> Record | None:
        row = self._conn.execute(self._q.tail).fetchone()
        return None if row is None else self._crypt.open(row)

    def subject_tip(self, subject_tag: bytes) -> tuple[int, bytes, bytes | None] | None:
        row = self._conn.execute(self._q.tip, (subject_tag,)).fetchone()
        return None if row is None else row_tip(row[1:])

    def subject_heads(self) -> Iterator[tuple[bytes, int, bytes]]:
        for tag, seq, seal in self._conn.execute(self._q.heads).fetchall():
            checked = row_tip((seq, seal, None))
            if not isinstance(tag, bytes):
                raise LedgerIntegrityError("a subject head: its tag is not bytes")
            yield tag, checked[0], checked[1]

    def scan(self) -> Iterator[Record]:
        # A server-side cursor: verifying a large ledger streams it instead of loading it.
        with self._conn.cursor(name="lawful_scan") as cursor:
            cursor.itersize = 2000
            cursor.execute(self._q.scan)
            for row in cursor:
                yield self._crypt.open(row, strict=False)


class LockMissingError(LedgerError):
    """A row of ``ledger_shards`` is gone: nothing may be written until it is back."""


Statement = tuple[sql.Composable | str, Sequence[object]]
"""A statement (composed SQL, or its text) and its values."""


def _text(statement: sql.Composable | str) -> str:
    return statement if isinstance(statement, str) else statement.as_string(None)


def _exchange(conn: Conn, statements: Sequence[Statement]) -> list[list[TupleRow]]:
    """Run statements as one simple-protocol message; the rows of each, in order.

    One message, answered with one ``ReadyForQuery``, and nothing sent after it: the
    server's idle timer then runs while the client works (psycopg's pipeline sends a
    Flush after its Sync, which stops that timer, and it sends each statement on its
    own, so a client stopped in between leaves the server waiting unbounded). Values
    are bound by the client: nothing is prepared, so nothing can go stale on an error.
    """
    # Text, not a composed tree: psycopg then parses each distinct message once (cached).
    query = "; ".join(_text(text) for text, _ in statements)
    params = [value for _, values in statements for value in values]
    with psycopg.ClientCursor(conn) as cursor:
        cursor.execute(query, params)
        out: list[list[TupleRow]] = []
        while True:
            # The result's status, not ``description``: that builds column objects.
            result = cursor.pgresult
            rows = result is not None and result.status == ExecStatus.TUPLES_OK
            out.append(cursor.fetchall() if rows else [])
            if not cursor.nextset():
                return out


class Writer(Reader):
    """A write transaction's view (a ``RecordWriter``): writes wait for :meth:`finish`.

    The locks of the shards it may write are held throughout, so nobody else can write
    them meanwhile; reads that could see a pending write (by subject, a scan, an
    erasure's update) flush first. Writing a shard it did not lock is refused.
    """

    def __init__(
        self,
        conn: Conn,
        queries: Queries,
        crypt: Crypt,
        prelude: sql.Composable,
        shards: int,
        expected: Sequence[bytes],
        subjects: Sequence[bytes] = (),
    ) -> None:
        super().__init__(conn, queries, crypt, shards)
        # The shards of the subjects it was told about; all of them if none.
        wanted = sorted({shard_of(tag, shards) for tag in subjects}) or list(range(shards))
        # One exchange: the bounds, the locks (in shard order: two writers never wait for
        # each other in a cycle), then the clock, the named values, the shards' last
        # records and the ids and subject heads the write will look up, all read after
        # the locks (READ COMMITTED: each statement sees every commit before it started,
        # so every earlier writer's).
        statements: list[Statement] = [
            (sql.SQL("BEGIN ISOLATION LEVEL READ COMMITTED"), ()),
            (prelude, ()),
            (queries.lock, (wanted,)),
            (sql.SQL("SELECT clock_timestamp()"), ()),
            (queries.all_meta, ()),
            (queries.shard_tails, (wanted,)),
        ]
        if expected:
            statements.append((queries.by_ids, (list(set(expected)),)))
        if subjects:
            statements.append((queries.tips, (list(set(subjects)),)))
            statements.append((queries.keys_of, (list(set(subjects)),)))
        results = _exchange(conn, statements)
        # The prelude is several statements: count the results from the end.
        base = len(results) - (len(statements) - 2)
        lock, clock, values, tails = results[base : base + 4]
        locked = {row[0] for row in lock}
        if locked != set(wanted):
            missing = sorted(set(wanted) - locked)
            raise LockMissingError(f"the rows of ledger_shards for shards {missing} are missing")
        self.locked = frozenset(wanted)
        now = clock[0] if clock else None
        if now is None or not isinstance(now[0], datetime):
            raise LedgerError(f"postgres: the server's clock returned {now!r}")
        self.clock: datetime = now[0].astimezone(UTC)
        self._values = {str(name): bytes(value) for name, value in values}
        self._changed: dict[str, bytes] = {}
        self._pending: dict[bytes, Record] = {}
        self._rows: dict[bytes, tuple[object, ...]] = {}
        self._size = 0
        self._known: dict[bytes, Record | None] = dict.fromkeys(expected)
        found = results[base + 4] if expected else []
        self._known.update((r.id_tag, r) for r in map(self._crypt.open, found))
        # Parsed only when asked for: opening a ledger must not fail on a broken tail.
        self._tail_rows: dict[int, TupleRow] = {}
        for row in tails:
            if isinstance(row[0], int):
                self._tail_rows[(row[0] - 1) % shards] = row
        self._tails: dict[int, Record | None] = {}
        self._tips: dict[bytes, tuple[int, bytes, bytes | None] | None] = dict.fromkeys(subjects)
        # Per subject whose keys were read: its data keys by class (proof or not).
        self._keys: dict[bytes, dict[bool, tuple[DataKey, AESGCM]]] = {}
        self._new_keys: list[DataKey] = []
        if subjects:
            self._tips.update((bytes(r[0]), row_tip(r[1:])) for r in results[-2])
            self._take_keys(subjects, results[-1])
        self._heads: dict[bytes, tuple[int, bytes]] = {}
        self._macs: dict[int, bytes] = {}
        self._triggers_off = False
        self._replaced = False
        self._dropped: list[str] = []
        self._probe: bytes | None = None
        self._insert = queries.insert.as_string(None)
        self._set_heads = queries.set_heads.as_string(None)
        self.touched: set[bytes] = set()

    def _take_keys(self, subjects: Iterable[bytes], rows: Iterable[TupleRow]) -> None:
        """Remember the data keys read for these subjects (none: they have none yet)."""
        for tag in subjects:
            self._keys.setdefault(tag, {})
        for key_id, tag, proof, wrapped in rows:
            key = DataKey(bytes(key_id), bytes(tag), bool(proof), bytes(wrapped))
            cipher = self._crypt.cipher(None, key.key_id, key.subject_tag, key.wrapped)
            self._keys.setdefault(key.subject_tag, {})[key.proof] = (key, cipher)

    def _key_for(self, record: Record) -> tuple[DataKey, AESGCM]:
        """The data key a new record of its subject and class is encrypted with; a new
        one if the subject has none (or an erasure destroyed it).
        """
        tag = record.subject_tag
        if tag not in self._keys:
            self._take_keys([tag], self._conn.execute(self._q.keys_of, ([tag],)).fetchall())
        proof = is_proof(record.payload or b"{}")
        keys = self._keys[tag]
        if proof not in keys:
            key, cipher = self._crypt.new_key(tag, proof=proof)
            keys[proof] = (key, cipher)
            self._new_keys.append(key)
        return keys[proof]

    def _mine(self, seq: int) -> None:
        shard = (seq - 1) % self.shards
        if shard not in self.locked:
            raise LedgerError(f"record {seq}: shard {shard} is not locked by this write")

    def meta(self, name: str) -> bytes | None:
        return self._changed.get(name, self._values.get(name))

    def by_id(self, id_tag: bytes) -> Record | None:
        if id_tag in self._pending:
            return self._pending[id_tag]
        if id_tag in self._known:
            return self._known[id_tag]
        return super().by_id(id_tag)

    def by_subject(self, subject_tag: bytes, after: int = 0) -> list[Record]:
        self._flush()
        return super().by_subject(subject_tag, after)

    def tail(self) -> Record | None:
        self._flush()
        return super().tail()

    def shard_tail(self, shard: int) -> Record | None:
        if shard not in self.locked:
            raise LedgerError(f"shard {shard} is not locked by this write")
        if shard not in self._tails:
            row = self._tail_rows.get(shard)
            self._tails[shard] = None if row is None else self._crypt.open(row)
        return self._tails[shard]

    def subject_tip(self, subject_tag: bytes) -> tuple[int, bytes, bytes | None] | None:
        if subject_tag in self._heads:
            seq, seal = self._heads[subject_tag]
            return seq, seal, self._macs.get(seq)
        if subject_tag in self._tips:
            return self._tips[subject_tag]
        return super().subject_tip(subject_tag)

    def set_subject_head(self, subject_tag: bytes, seq: int, seal: bytes) -> None:
        if not self._replaced:
            self._mine(seq)
        self._heads[subject_tag] = (seq, seal)

    def rewrite(self, seq: int, link: int, mac: bytes) -> None:
        self._triggers()
        self._conn.execute(self._q.rewrite, (link, mac, seq))

    def _triggers(self) -> None:
        if not self._triggers_off:
            # Migration only, by the table's owner, inside this transaction.
            self._conn.execute(self._q.triggers)
            self._triggers_off = True

    def replace_all(self, records: Iterable[Record]) -> None:
        """Migration only: every record replaced by these (the chain re-sealed in shards),
        under the lock of every shard.
        """
        if len(self.locked) != self.shards:
            raise LedgerError("re-sealing the chain needs the lock of every shard")
        self._flush()
        self._triggers()
        self._conn.execute(self._q.remove_all)
        self._known.clear()
        self._replaced = True
        for record in records:
            self.insert(record)
        self._flush()

    def drop_meta(self, names: Sequence[str]) -> None:
        """Migration only: named values that no longer apply."""
        self._dropped.extend(names)
        for name in names:
            self._changed.pop(name, None)

    def scan(self) -> Iterator[Record]:
        self._flush()
        return super().scan()

    def insert(self, record: Record) -> None:
        self._mine(record.seq)
        if record.id_tag in self._pending:
            raise LedgerError(f"record {record.seq}: a duplicate id in one transaction")
        self._pending[record.id_tag] = record
        stored = None
        if (
            self._crypt.enabled
            and record.kind is RecordKind.EVENT
            and record.payload is not None
            and record.nonce is not None
        ):
            key, cipher = self._key_for(record)
            stored = (self._crypt.seal(record, key, cipher), key.key_id)
        self._rows[record.id_tag] = _row(record, self.shards, stored)
        self._probe = record.id_tag
        self._size += len(record.payload or b"")
        self._macs[record.seq] = record.mac
        self._tails[(record.seq - 1) % self.shards] = record
        self.touched.add(record.subject_tag)
        if len(self._pending) >= _CHUNK_RECORDS or self._size >= _CHUNK_BYTES:
            self._flush()

    def scrub(self, seqs: Sequence[int]) -> None:
        """Erase these records (one subject's): destroy every data key that only they
        need, and drop in place the content of the others (stored in clear, or sharing
        a key with a record the erasure keeps).
        """
        for seq in seqs:
            self._mine(seq)
        self._flush()
        # A scrubbed record may have been looked up by id earlier in this transaction.
        self._known.clear()
        if not seqs:
            return
        inplace = list(seqs)
        if self._crypt.enabled:
            found = self._conn.execute(self._q.shred, {"seqs": inplace}).fetchone()
            destroyed, inplace = (0, inplace) if found is None else found
            if destroyed:
                # Keys of the subject read earlier in this write are read again if needed.
                self._keys.clear()
                # The keys' old row versions go at the next VACUUM of ledger_keys (purge).
                self.set_meta(PURGE_KEYS, os.urandom(16))
        if inplace:
            self._conn.execute(self._q.scrub, (inplace,))
            # Committed with the erasure: a process that dies before its VACUUM leaves
            # this behind, and the next ledger opened on the schema runs it. A fresh value
            # per erasure, so that a purge only clears the flag of erasures it has seen.
            self.set_meta(PURGE_PENDING, os.urandom(16))

    def encrypt_in_place(self, records: Iterable[Record]) -> int:
        """Migration only: encrypt records stored in clear, in place (their chain is
        unchanged: the digest and MAC cover the nonce and payload encrypted). Returns how
        many were encrypted.
        """
        self._flush()
        self._triggers()
        done = 0
        batch: list[tuple[int, bytes, bytes]] = []
        for record in records:
            if record.kind is not RecordKind.EVENT or record.payload is None:
                continue
            self._mine(record.seq)
            key, cipher = self._key_for(record)
            batch.append((record.seq, self._crypt.seal(record, key, cipher), key.key_id))
            if len(batch) >= _CHUNK_RECORDS:
                done += self._encrypt_rows(batch)
        return done + self._encrypt_rows(batch)

    def _encrypt_rows(self, batch: list[tuple[int, bytes, bytes]]) -> int:
        if not batch:
            return 0
        self._flush()  # the new keys first
        seqs, payloads, key_ids = (list(column) for column in zip(*batch, strict=True))
        self._conn.execute(self._q.encrypt_rows, (seqs, payloads, key_ids))
        count = len(batch)
        batch.clear()
        return count

    def set_meta(self, name: str, value: bytes) -> None:
        shard, sep, _ = name.partition(":")
        if sep and shard == "head":
            number = int(name[5:])
            if number not in self.locked:
                raise LedgerError(f"the head of shard {number} is not locked by this write")
        self._changed[name] = value

    def _inserts(self) -> list[Statement]:
        """The new data keys and pending records as multi-row ``INSERT`` statements;
        pending is then empty.
        """
        out: list[Statement] = []
        keys, self._new_keys = self._new_keys, []
        for start in range(0, len(keys), _CHUNK_RECORDS):
            chunk = keys[start : start + _CHUNK_RECORDS]
            values = ", ".join([_KEY_ROW] * len(chunk))
            fields: list[object] = [
                v for k in chunk for v in (k.key_id, k.subject_tag, k.proof, k.wrapped)
            ]
            out.append((self._q.insert_keys.as_string(None) + values, fields))
        records = list(self._rows.values())
        self._known.update(self._pending)
        self._pending.clear()
        self._rows.clear()
        self._size = 0
        for start in range(0, len(records), _CHUNK_RECORDS):
            rows = records[start : start + _CHUNK_RECORDS]
            values = ", ".join([_ROW] * len(rows))
            params = [v for r in rows for v in r]
            out.append((self._insert + values, params))
        return out

    def _flush(self) -> None:
        if self._pending or self._new_keys:
            _exchange(self._conn, self._inserts())

    def landed(self) -> bool | None:
        """After the commit's message failed with a server error: whether the write was
        committed (and only the notification after it failed); ``None``: cannot tell.
        """
        if self._probe is None:
            return False  # nothing followed the COMMIT: the error was the write's own
        try:
            self._conn.execute("ROLLBACK")
            found = self._conn.execute(self._q.by_id, (self._probe,)).fetchone()
        except psycopg.Error:
            return None
        return found is not None

    def commit(self) -> None:
        """Send every pending write, ``COMMIT`` and the notification in one message."""
        if not self.touched or self._replaced:
            self._probe = None
        statements = self._inserts()
        statements.extend((self._q.set_meta, (n, v)) for n, v in self._changed.items())
        if self._dropped:
            statements.append((self._q.drop_meta, (self._dropped,)))
        if self._heads:
            heads = list(self._heads.items())
            for start in range(0, len(heads), _CHUNK_RECORDS):
                chunk = heads[start : start + _CHUNK_RECORDS]
                values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
                params = [
                    v
                    for tag, (seq, seal) in chunk
                    for v in (tag, seq, seal, shard_of(tag, self.shards))
                ]
                statements.append((self._set_heads + values + _UPSERT, params))
        if self._triggers_off:
            statements.append((self._q.enable_triggers, ()))
        statements.append((_COMMIT, ()))
        if self.touched and not self._replaced:
            # Tell every listening process which subjects changed (a pseudonym each), in
            # a transaction of its own after the write's, in the same message. Not inside
            # the write: a transaction that notifies takes one lock for the whole cluster
            # at commit and holds it until its commit is flushed, so every writer, on
            # every shard, would wait for every other's flush. This one does not wait for
            # the disk (a notification is not kept anyway): the lock is held for
            # microseconds. A lost notification costs at most ``max_staleness``.
            statements.extend(
                [
                    (_NOTIFY_BEGIN, ()),
                    (_NOTIFY, (self._q.channel, sorted(t.hex() for t in self.touched))),
                    (_COMMIT, ()),
                ]
            )
        _exchange(self._conn, statements)
