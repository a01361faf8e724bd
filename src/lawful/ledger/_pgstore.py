"""Where a PostgreSQL ledger keeps its records: schema, migrations, locking, connections.

See :mod:`lawful.ledger.postgres` for the ledger and ``docs/postgres.md`` for the why.
A write transaction costs a handful of round trips whatever the batch size: the lock,
the server's clock and the named values come in one exchange, ids are looked up in one
query per batch, and the writes go out in one pipeline just before ``COMMIT``.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

import attrs
import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from lawful.exceptions import LedgerError, LedgerIntegrityError
from lawful.ledger._chain import Record, record_from_row

__all__ = ["MIGRATIONS", "PURGE_PENDING", "PostgresStore", "channel_name"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # Version 1: the SQLite ledger's tables, plus the row whose lock orders the writers.
    # Personal data lives only in `payload`; subjects and ids are found by keyed tags,
    # so no index ever holds a subject id.
    (
        "CREATE TABLE {schema}.ledger_meta (name text PRIMARY KEY, value bytea NOT NULL)",
        "CREATE TABLE {schema}.ledger_lock (id boolean PRIMARY KEY DEFAULT true CHECK (id))",
        "INSERT INTO {schema}.ledger_lock DEFAULT VALUES",
        (
            "CREATE TABLE {schema}.ledger_records ("
            " seq bigint PRIMARY KEY,"
            " kind smallint NOT NULL,"
            " subject_tag bytea NOT NULL,"
            " id_tag bytea NOT NULL UNIQUE,"
            " nonce bytea,"
            " payload bytea,"
            " digest bytea NOT NULL,"
            " mac bytea NOT NULL)"
        ),
        "CREATE INDEX ledger_records_subject ON {schema}.ledger_records (subject_tag, seq)",
    ),
    # Version 2 (chain format 2): links and sealed subject heads, as in SQLite; and a
    # trigger that keeps the records append-only for every role but the table's owner
    # (who can disable it): no DELETE, no TRUNCATE, and no UPDATE but an erasure's scrub.
    (
        "ALTER TABLE {schema}.ledger_records ADD COLUMN link bigint NOT NULL DEFAULT 0",
        (
            "CREATE TABLE {schema}.ledger_subjects (subject_tag bytea PRIMARY KEY,"
            " seq bigint NOT NULL, seal bytea NOT NULL)"
        ),
        (
            "CREATE FUNCTION {schema}.ledger_records_guard() RETURNS trigger"
            " LANGUAGE plpgsql AS $guard$ BEGIN"
            " IF TG_OP = 'UPDATE' AND NEW.nonce IS NULL AND NEW.payload IS NULL"
            " AND NEW.seq = OLD.seq AND NEW.kind = OLD.kind"
            " AND NEW.subject_tag = OLD.subject_tag AND NEW.id_tag = OLD.id_tag"
            " AND NEW.digest = OLD.digest AND NEW.mac = OLD.mac AND NEW.link = OLD.link"
            " THEN RETURN NEW; END IF;"
            " RAISE EXCEPTION 'lawful ledger records are append-only: % refused', TG_OP;"
            " END $guard$"
        ),
        (
            "CREATE TRIGGER ledger_records_append_only BEFORE UPDATE OR DELETE"
            " ON {schema}.ledger_records FOR EACH ROW"
            " EXECUTE FUNCTION {schema}.ledger_records_guard()"
        ),
        (
            "CREATE TRIGGER ledger_records_no_truncate BEFORE TRUNCATE"
            " ON {schema}.ledger_records FOR EACH STATEMENT"
            " EXECUTE FUNCTION {schema}.ledger_records_guard()"
        ),
    ),
)
"""Schema migrations: entry ``n`` takes a schema from version ``n`` to ``n + 1``."""

Conn = psycopg.Connection[TupleRow]
PURGE_PENDING = "purge_pending"
_COLUMNS = "seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link"
_POOL_SIZE = 8


def _record(row: TupleRow) -> Record:
    return record_from_row(row[:9], row[9] if len(row) > 9 else None)


def _tip(row: TupleRow) -> tuple[int, bytes, bytes | None]:
    seq, seal, mac = row
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(seal, bytes):
        raise LedgerIntegrityError(f"a subject head is malformed (seq {seq!r})")
    return seq, seal, mac if isinstance(mac, bytes) else None


def _row(record: Record) -> tuple[object, ...]:
    return (
        record.seq,
        int(record.kind),
        record.subject_tag,
        record.id_tag,
        record.nonce,
        record.payload,
        record.digest,
        record.mac,
        record.link,
    )


def channel_name(schema: str) -> str:
    """The ``LISTEN`` channel of a ledger schema (an identifier of at most 63 bytes)."""
    return "lawful_ledger_" + hashlib.sha256(schema.encode("utf-8")).hexdigest()[:24]


@attrs.frozen
class _Queries:
    """Every statement, composed once with the schema's quoted name."""

    meta: sql.Composed
    set_meta: sql.Composed
    by_id: sql.Composed
    by_ids: sql.Composed
    by_subject: sql.Composed
    after: sql.Composed
    tail: sql.Composed
    tip: sql.Composed
    tips: sql.Composed
    heads: sql.Composed
    set_head: sql.Composed
    rewrite: sql.Composed
    triggers: sql.Composed
    enable_triggers: sql.Composed
    scan: sql.Composed
    insert: sql.Composed
    scrub: sql.Composed
    lock: sql.Composed
    all_meta: sql.Composed
    vacuum: sql.Composed
    purged: sql.Composed
    listen: sql.Composed
    channel: str

    @classmethod
    def build(cls, schema: str, *, vacuum_full: bool) -> _Queries:
        def q(text: str) -> sql.Composed:
            return sql.SQL(text).format(schema=sql.Identifier(schema))

        # Constant text only; the schema goes in through sql.Identifier, quoted.
        plain = f"SELECT {_COLUMNS} FROM {{schema}}.ledger_records"  # noqa: S608
        # Each record with the stored MAC of the one before, to verify it alone.
        records = (
            "SELECT r.seq, r.kind, r.subject_tag, r.id_tag, r.nonce, r.payload, r.digest,"
            " r.mac, r.link, p.mac FROM {schema}.ledger_records AS r"
            " LEFT JOIN {schema}.ledger_records AS p ON p.seq = r.seq - 1"
        )
        tips = (
            "SELECT s.subject_tag, s.seq, s.seal, r.mac FROM {schema}.ledger_subjects AS s"
            " LEFT JOIN {schema}.ledger_records AS r"
            " ON r.seq = s.seq AND r.subject_tag = s.subject_tag"
        )
        channel = channel_name(schema)
        return cls(
            meta=q("SELECT value FROM {schema}.ledger_meta WHERE name = %s"),
            set_meta=q(
                "INSERT INTO {schema}.ledger_meta (name, value) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            ),
            by_id=q(records + " WHERE r.id_tag = %s"),
            by_ids=q(records + " WHERE r.id_tag = ANY(%s)"),
            by_subject=q(records + " WHERE r.subject_tag = %s ORDER BY r.seq"),
            after=q(records + " WHERE r.subject_tag = %s AND r.seq > %s ORDER BY r.seq"),
            tail=q(records + " ORDER BY r.seq DESC LIMIT 1"),
            tip=q(tips + " WHERE s.subject_tag = %s"),
            tips=q(tips + " WHERE s.subject_tag = ANY(%s)"),
            heads=q("SELECT subject_tag, seq, seal FROM {schema}.ledger_subjects"),
            set_head=q(
                "INSERT INTO {schema}.ledger_subjects (subject_tag, seq, seal) VALUES (%s, %s, %s)"
                " ON CONFLICT (subject_tag) DO UPDATE SET seq = excluded.seq, seal = excluded.seal"
            ),
            rewrite=q("UPDATE {schema}.ledger_records SET link = %s, mac = %s WHERE seq = %s"),
            triggers=q("ALTER TABLE {schema}.ledger_records DISABLE TRIGGER USER"),
            enable_triggers=q("ALTER TABLE {schema}.ledger_records ENABLE TRIGGER USER"),
            scan=q(plain + " ORDER BY seq"),
            insert=q(
                f"INSERT INTO {{schema}}.ledger_records ({_COLUMNS})"  # noqa: S608 - constant
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
            ),
            scrub=q(
                "UPDATE {schema}.ledger_records SET nonce = NULL, payload = NULL"
                " WHERE seq = ANY(%s)"
            ),
            lock=q("SELECT id FROM {schema}.ledger_lock FOR UPDATE"),
            all_meta=q("SELECT name, value FROM {schema}.ledger_meta"),
            vacuum=q(("VACUUM (FULL) " if vacuum_full else "VACUUM ") + "{schema}.ledger_records"),
            purged=q("DELETE FROM {schema}.ledger_meta WHERE name = %s AND value = %s"),
            listen=sql.SQL("LISTEN {}").format(sql.Identifier(channel)),
            channel=channel,
        )


class _Reader:
    """A read transaction's view of the schema (a ``RecordReader``)."""

    def __init__(self, conn: Conn, queries: _Queries) -> None:
        self._conn = conn
        self._q = queries

    def meta(self, name: str) -> bytes | None:
        row = self._conn.execute(self._q.meta, (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def by_id(self, id_tag: bytes) -> Record | None:
        row = self._conn.execute(self._q.by_id, (id_tag,)).fetchone()
        return None if row is None else _record(row)

    def by_subject(self, subject_tag: bytes, after: int = 0) -> list[Record]:
        if after:
            rows = self._conn.execute(self._q.after, (subject_tag, after))
        else:
            rows = self._conn.execute(self._q.by_subject, (subject_tag,))
        return [_record(r) for r in rows]

    def tail(self) -> Record | None:
        row = self._conn.execute(self._q.tail).fetchone()
        return None if row is None else _record(row)

    def subject_tip(self, subject_tag: bytes) -> tuple[int, bytes, bytes | None] | None:
        row = self._conn.execute(self._q.tip, (subject_tag,)).fetchone()
        return None if row is None else _tip(row[1:])

    def subject_heads(self) -> Iterator[tuple[bytes, int, bytes]]:
        for tag, seq, seal in self._conn.execute(self._q.heads).fetchall():
            checked = _tip((seq, seal, None))
            if not isinstance(tag, bytes):
                raise LedgerIntegrityError("a subject head: its tag is not bytes")
            yield tag, checked[0], checked[1]

    def scan(self) -> Iterator[Record]:
        # A server-side cursor: verifying a large ledger streams it instead of loading it.
        with self._conn.cursor(name="lawful_scan") as cursor:
            cursor.itersize = 2000
            cursor.execute(self._q.scan)
            for row in cursor:
                yield _record(row)


class _Writer(_Reader):
    """A write transaction's view (a ``RecordWriter``): writes wait for :meth:`finish`.

    The chain's lock is held throughout, so nobody else can write meanwhile; reads that
    could see a pending write (by subject, a scan, an erasure's update) flush first.
    """

    def __init__(
        self,
        conn: Conn,
        queries: _Queries,
        expected: Sequence[bytes],
        subjects: Sequence[bytes] = (),
    ) -> None:
        super().__init__(conn, queries)
        # One exchange: the lock first, then the clock, the named values and the ids the
        # write will look up, all read after the lock (READ COMMITTED: each statement sees
        # every commit before it started, so every earlier writer's).
        with conn.pipeline():
            conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            conn.execute(queries.lock)
            clock = conn.execute("SELECT clock_timestamp()")
            values = conn.execute(queries.all_meta)
            tail = conn.execute(queries.tail)
            found = conn.execute(queries.by_ids, (list(set(expected)),)) if expected else None
            tips = conn.execute(queries.tips, (list(set(subjects)),)) if subjects else None
        now = clock.fetchone()
        if now is None or not isinstance(now[0], datetime):
            raise LedgerError(f"postgres: the server's clock returned {now!r}")
        self.clock: datetime = now[0].astimezone(UTC)
        self._values = {str(name): bytes(value) for name, value in values.fetchall()}
        self._changed: dict[str, bytes] = {}
        self._pending: dict[bytes, Record] = {}
        self._known: dict[bytes, Record | None] = dict.fromkeys(expected)
        if found is not None:
            self._known.update((r.id_tag, r) for r in map(_record, found.fetchall()))
        # Parsed only when asked for: opening a ledger must not fail on a broken tail.
        self._tail_row = tail.fetchone()
        self._tail: Record | None = None
        self._tips: dict[bytes, tuple[int, bytes, bytes | None] | None] = dict.fromkeys(subjects)
        if tips is not None:
            self._tips.update((bytes(r[0]), _tip(r[1:])) for r in tips.fetchall())
        self._heads: dict[bytes, tuple[int, bytes]] = {}
        self._macs: dict[int, bytes] = {}
        self._triggers_off = False
        self.touched: set[bytes] = set()

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
        if self._tail is None and self._tail_row is not None:
            self._tail = _record(self._tail_row)
        return self._tail

    def subject_tip(self, subject_tag: bytes) -> tuple[int, bytes, bytes | None] | None:
        if subject_tag in self._heads:
            seq, seal = self._heads[subject_tag]
            return seq, seal, self._macs.get(seq)
        if subject_tag in self._tips:
            return self._tips[subject_tag]
        return super().subject_tip(subject_tag)

    def set_subject_head(self, subject_tag: bytes, seq: int, seal: bytes) -> None:
        self._heads[subject_tag] = (seq, seal)

    def rewrite(self, seq: int, link: int, mac: bytes) -> None:
        if not self._triggers_off:
            # Migration only, by the table's owner, inside this transaction.
            self._conn.execute(self._q.triggers)
            self._triggers_off = True
        self._conn.execute(self._q.rewrite, (link, mac, seq))

    def scan(self) -> Iterator[Record]:
        self._flush()
        return super().scan()

    def insert(self, record: Record) -> None:
        if record.id_tag in self._pending:
            raise LedgerError(f"record {record.seq}: a duplicate id in one transaction")
        self._pending[record.id_tag] = record
        self._macs[record.seq] = record.mac
        self._tail, self._tail_row = record, None
        self.touched.add(record.subject_tag)

    def scrub(self, seqs: Sequence[int]) -> None:
        self._flush()
        # A scrubbed record may have been looked up by id earlier in this transaction.
        self._known.clear()
        self._conn.execute(self._q.scrub, (list(seqs),))
        # Committed with the erasure: a process that dies before its VACUUM leaves this
        # behind, and the next ledger opened on the schema runs it. A fresh value per
        # erasure, so that a purge only clears the flag of erasures it has seen.
        self.set_meta(PURGE_PENDING, os.urandom(16))

    def set_meta(self, name: str, value: bytes) -> None:
        self._changed[name] = value

    def _flush(self) -> None:
        if self._pending:
            with self._conn.cursor() as cursor:
                cursor.executemany(self._q.insert, [_row(r) for r in self._pending.values()])
            self._known.update(self._pending)
            self._pending.clear()

    def commit(self) -> None:
        """Send every pending write, the notification and ``COMMIT`` in one pipeline."""
        with self._conn.pipeline():
            self._flush()
            for name, value in self._changed.items():
                self._conn.execute(self._q.set_meta, (name, value))
            if self._heads:
                with self._conn.cursor() as cursor:
                    cursor.executemany(
                        self._q.set_head,
                        [(tag, seq, seal) for tag, (seq, seal) in self._heads.items()],
                    )
            if self._triggers_off:
                self._conn.execute(self._q.enable_triggers)
            if self.touched:
                # Delivered at commit to every process that listens (a pseudonym each).
                self._conn.execute(
                    "SELECT pg_notify(%s, t) FROM unnest(%s::text[]) AS t",
                    (self._q.channel, sorted(t.hex() for t in self.touched)),
                )
            self._conn.execute("COMMIT")


def _migrate(conn: Conn, schema: str, where: str, *, migrate: bool) -> None:
    ident = sql.Identifier(schema)
    # Serialises concurrent first opens (CREATE ... IF NOT EXISTS races on the catalogs).
    digest = hashlib.sha256(b"lawful-migrate " + schema.encode("utf-8")).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id,))
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        meta = sql.Identifier(schema, "ledger_meta").as_string(conn)
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (meta,)).fetchone()
        version = 0
        if row is not None and row[0]:
            value = conn.execute(
                sql.SQL("SELECT value FROM {}.ledger_meta WHERE name = 'schema'").format(ident)
            ).fetchone()
            version = 0 if value is None else int(bytes(value[0]).decode("ascii"))
        if version > len(MIGRATIONS):
            raise LedgerError(
                f"{where}: schema version {version} is newer than this lawful knows "
                f"({len(MIGRATIONS)}); upgrade lawful"
            )
        if version == 1 and not migrate:
            raise LedgerError(
                f"{where}: a format 1 ledger; migrate it with PostgresLedger(..., "
                "migrate=True), which verifies it and seals it again in format 2"
            )
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(sql.SQL(statement).format(schema=ident))
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.ledger_meta (name, value) VALUES ('schema', %s)"
                    " ON CONFLICT (name) DO UPDATE SET value = excluded.value"
                ).format(ident),
                (str(number).encode("ascii"),),
            )


class PostgresStore:
    """The records of one schema, over a small pool of connections (a ``RecordStore``)."""

    read_only = False

    def __init__(
        self,
        dsn: str,
        *,
        schema: str,
        connect_timeout: float,
        vacuum_full: bool,
        migrate: bool = False,
    ) -> None:
        if not schema or len(schema.encode("utf-8")) > 63:
            raise LedgerError(f"postgres: a schema name is 1 to 63 bytes, got {schema!r}")
        self.dsn = dsn
        self.schema = schema
        # Messages name the schema, never the DSN: it may hold a password.
        self.where = f"postgres ledger {schema!r}"
        self.queries = _Queries.build(schema, vacuum_full=vacuum_full)
        self._connect_timeout = max(1, round(connect_timeout))
        self._guard = threading.Lock()
        self._closed = False
        self._idle: list[Conn] = []
        self._inherited: list[Conn] = []
        self._fresh_process()
        conn = self.acquire()
        try:
            _migrate(conn, schema, self.where, migrate=migrate)
            pending = _Reader(conn, self.queries).meta(PURGE_PENDING)
        except psycopg.Error as exc:
            self.close()
            raise LedgerError(f"{self.where}: cannot create or migrate the schema: {exc}") from exc
        except BaseException:
            self.close()
            raise
        finally:
            self.release(conn)
        if pending is not None:
            # Best effort: a failure here is retried by the next erasure or purge().
            with suppress(LedgerError):
                self.purge()

    def _fresh_process(self) -> None:
        # A connection must never cross fork(): the child keeps (never uses) what it
        # inherited, and psycopg does not close a parent's connection from a child.
        self._inherited.extend(self._idle)
        self._idle = []
        self._local = threading.local()
        self.pid = os.getpid()

    def connect(self) -> Conn:
        """A new autocommit connection (transactions are opened explicitly)."""
        try:
            return psycopg.connect(self.dsn, autocommit=True, connect_timeout=self._connect_timeout)
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: cannot connect: {exc}") from exc

    def acquire(self) -> Conn:
        """An idle pooled connection, or a new one."""
        with self._guard:
            if self._closed:
                raise LedgerError(f"{self.where}: ledger closed")
            if os.getpid() != self.pid:
                self._fresh_process()
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed and not conn.broken:
                    return conn
        return self.connect()

    def release(self, conn: Conn) -> None:
        """Return a connection to the pool; one left inside a transaction is rolled back."""
        if os.getpid() != self.pid:
            return  # inherited: see _fresh_process
        if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                conn.close()
        with self._guard:
            if (
                not self._closed
                and not conn.closed
                and not conn.broken
                and conn.info.transaction_status == TransactionStatus.IDLE
                and len(self._idle) < _POOL_SIZE
            ):
                self._idle.append(conn)
                return
        conn.close()

    def expect(self, id_tags: Iterable[bytes], subject_tags: Iterable[bytes] = ()) -> None:
        """Id tags and subject heads the next write of this thread will look up: fetched
        with the lock, in one exchange.
        """
        self._local.expected = list(id_tags)
        self._local.subjects = list(subject_tags)

    @contextmanager
    def reading(self) -> Iterator[_Reader]:
        """A repeatable-read snapshot: a scan and the head it ends at agree."""
        conn = self.acquire()
        try:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield _Reader(conn, self.queries)
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: {exc}") from exc
        finally:
            self.release(conn)

    @contextmanager
    def writing(self) -> Iterator[_Writer]:
        """A write transaction holding the chain's lock, committed all or nothing."""
        expected: list[bytes] = getattr(self._local, "expected", [])
        subjects: list[bytes] = getattr(self._local, "subjects", [])
        self._local.expected = []
        self._local.subjects = []
        conn = self.acquire()
        try:
            try:
                writer = _Writer(conn, self.queries, expected, subjects)
                self._local.writer = writer
                yield writer
            except psycopg.Error as exc:
                raise LedgerError(f"{self.where}: {exc}") from exc
            try:
                writer.commit()
            except psycopg.OperationalError as exc:
                raise LedgerError(
                    f"{self.where}: the commit's outcome is unknown ({exc}); appending the "
                    "same events again is safe: appends are idempotent by id"
                ) from exc
            except psycopg.Error as exc:
                raise LedgerError(f"{self.where}: nothing was written: {exc}") from exc
        finally:
            self._local.writer = None
            self.release(conn)

    def now(self) -> datetime:
        """The server's clock; inside a write, as read just after the chain's lock."""
        writer: _Writer | None = getattr(self._local, "writer", None)
        if writer is not None:
            return writer.clock
        conn = self.acquire()
        try:
            row = conn.execute("SELECT clock_timestamp()").fetchone()
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: cannot read the server's clock: {exc}") from exc
        finally:
            self.release(conn)
        if row is None or not isinstance(row[0], datetime):
            raise LedgerError(f"{self.where}: the server's clock returned {row!r}")
        return row[0].astimezone(UTC)

    def subject_records(
        self, subject_tag: bytes, after: int
    ) -> tuple[list[Record], tuple[int, bytes, bytes | None] | None]:
        """The subject's records after position ``after`` and its head, from one snapshot
        (one exchange with the server).
        """
        conn = self.acquire()
        try:
            with conn.pipeline():
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                if after:
                    rows = conn.execute(self.queries.after, (subject_tag, after))
                else:
                    rows = conn.execute(self.queries.by_subject, (subject_tag,))
                tip = conn.execute(self.queries.tip, (subject_tag,))
                conn.execute("COMMIT")
            found = tip.fetchone()
            records = [_record(row) for row in rows.fetchall()]
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: {exc}") from exc
        finally:
            self.release(conn)
        return records, None if found is None else _tip(found[1:])

    def purge(self) -> None:
        """After an erasure: ``VACUUM`` so that no old row version keeps the erased bytes."""
        conn = self.acquire()
        try:
            pending = _Reader(conn, self.queries).meta(PURGE_PENDING)
            conn.execute(self.queries.vacuum)  # autocommit: VACUUM refuses a transaction
            if pending is not None:
                conn.execute(self.queries.purged, (PURGE_PENDING, pending))
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: erasure recorded, VACUUM failed: {exc}") from exc
        finally:
            self.release(conn)

    def close(self) -> None:
        """Close the pooled connections; connections in use close when released."""
        with self._guard:
            self._closed = True
            idle, self._idle = self._idle, []
        if os.getpid() == self.pid:
            for conn in idle:
                conn.close()
