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
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TypeVar

import attrs
import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import ExecStatus, TransactionStatus
from psycopg.rows import TupleRow

from lawful.exceptions import LedgerError, LedgerIntegrityError
from lawful.ledger._chain import Record, record_from_row, shard_of

__all__ = [
    "DEFAULT_SHARDS",
    "MARKER",
    "MAX_SHARDS",
    "MIGRATIONS",
    "PURGE_PENDING",
    "RESHARD",
    "SHARDS",
    "Limits",
    "PostgresStore",
    "channel_name",
]

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
    # Version 3: the chain cut into shards, one lock row each (the rows are added, and the
    # number of shards recorded, by _migrate). A version 2 ledger's records stay in one
    # chain until the ledger re-seals them in shards (PostgresLedger(..., migrate=True)).
    (
        "ALTER TABLE {schema}.ledger_records ADD COLUMN shard integer NOT NULL DEFAULT 0",
        "CREATE INDEX ledger_records_shard ON {schema}.ledger_records (shard, seq)",
        "ALTER TABLE {schema}.ledger_subjects ADD COLUMN shard integer NOT NULL DEFAULT 0",
        "CREATE INDEX ledger_subjects_shard ON {schema}.ledger_subjects (shard, seq)",
        "CREATE TABLE {schema}.ledger_shards (shard integer PRIMARY KEY CHECK (shard >= 0))",
        "DROP TABLE {schema}.ledger_lock",
        (
            "CREATE OR REPLACE FUNCTION {schema}.ledger_records_guard() RETURNS trigger"
            " LANGUAGE plpgsql AS $guard$ BEGIN"
            " IF TG_OP = 'UPDATE' AND NEW.nonce IS NULL AND NEW.payload IS NULL"
            " AND NEW.seq = OLD.seq AND NEW.kind = OLD.kind"
            " AND NEW.subject_tag = OLD.subject_tag AND NEW.id_tag = OLD.id_tag"
            " AND NEW.digest = OLD.digest AND NEW.mac = OLD.mac AND NEW.link = OLD.link"
            " AND NEW.shard = OLD.shard"
            " THEN RETURN NEW; END IF;"
            " RAISE EXCEPTION 'lawful ledger records are append-only: % refused', TG_OP;"
            " END $guard$"
        ),
    ),
)
"""Schema migrations: entry ``n`` takes a schema from version ``n`` to ``n + 1``."""

Conn = psycopg.Connection[TupleRow]
T = TypeVar("T")
PURGE_PENDING = "purge_pending"
SHARDS = "shards"
"""The ``ledger_meta`` row with the number of shards, fixed when the ledger is created."""
RESHARD = "reshard"
"""The ``ledger_meta`` row of a version 2 ledger whose single chain awaits re-sealing."""
DEFAULT_SHARDS = 16
MAX_SHARDS = 1024
MARKER = "lawful"
"""The ``ledger_meta`` row that says lawful created the schema's tables."""
_MARKER_VALUE = b"lawful consent ledger"
_COLUMNS = "seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link"
_UPSERT = (
    " ON CONFLICT (subject_tag) DO UPDATE SET seq = excluded.seq, seal = excluded.seal,"
    " shard = excluded.shard"
)
_ROW = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
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


@attrs.frozen
class Limits:
    """How long a writer may wait and hold, and how many connections a ledger opens.

    Attributes:
        hold_timeout: Seconds a write transaction may stay silent while it holds the
            chain (``idle_in_transaction_session_timeout``); also drives the server's
            TCP keepalives, so that a vanished client is dropped within about
            ``hold_timeout + 3`` seconds.
        lock_timeout: Seconds a writer waits for the chain before giving up.
        transaction_timeout: On PostgreSQL 17 and later, the longest a write
            transaction may last, waiting included (0: no limit).
        max_connections: Connections open at once for reads and writes (the listener's
            one is extra).
        pool_timeout: Seconds a caller waits for a free connection.
    """

    hold_timeout: float = 5.0
    lock_timeout: float = 10.0
    transaction_timeout: float = 60.0
    max_connections: int = 10
    pool_timeout: float = 10.0

    def check(self) -> None:
        """Refuse settings that would switch a bound off by accident.

        Raises:
            LedgerError: A timeout not above 0 (``transaction_timeout`` may be 0), or
                ``max_connections`` below 1.
        """
        timeouts = (self.hold_timeout, self.lock_timeout, self.pool_timeout)
        if not all(t > 0 for t in timeouts) or not self.transaction_timeout >= 0:
            raise LedgerError(
                "postgres: hold_timeout, lock_timeout and pool_timeout must be above 0 and "
                f"transaction_timeout not negative, got {timeouts} and "
                f"{self.transaction_timeout!r}"
            )
        if self.max_connections < 1:
            raise LedgerError(
                f"postgres: max_connections must be at least 1, got {self.max_connections!r}"
            )

    def options(self) -> str:
        """The server settings every connection asks for (libpq ``options``).

        The server, not the client, must notice a client that vanished: it holds the
        lock. Keepalive probes start after ``hold_timeout`` seconds of silence, one a
        second, three unanswered drop it; ``tcp_user_timeout`` does the same for data
        the server sent and nobody acknowledged.
        """
        idle = max(1, round(self.hold_timeout))
        return (
            f"-c tcp_keepalives_idle={idle} -c tcp_keepalives_interval=1"
            f" -c tcp_keepalives_count=3 -c tcp_user_timeout={(idle + 3) * 1000}"
        )

    def prelude(self, server_version: int) -> sql.SQL:
        """The write transaction's bounds, set for it alone (``set_config(..., true)``, as
        ``SET LOCAL``) in one statement, sent before it asks for the lock.
        """
        hold = _ms(self.hold_timeout)
        lock = _ms(self.lock_timeout)
        settings = [
            ("lock_timeout", lock),
            # A writer's statements are short; this one covers the wait for the lock.
            ("statement_timeout", lock + hold),
            ("idle_in_transaction_session_timeout", hold),
        ]
        if server_version >= 170000:
            # Also ends a client stopped half-way through a message, which the idle
            # timeout cannot see (the server is still reading).
            settings.append(("transaction_timeout", _ms(self.transaction_timeout)))
        calls = sql.SQL(", ").join(
            sql.SQL("set_config({}, {}, true)").format(sql.Literal(name), sql.Literal(str(value)))
            for name, value in settings
        )
        return sql.SQL((sql.SQL("SELECT ") + calls).as_string(None))


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000)) if seconds > 0 else 0


def _record(row: TupleRow) -> Record:
    return record_from_row(row[:9], row[9] if len(row) > 9 else None)


def _tip(row: TupleRow) -> tuple[int, bytes, bytes | None]:
    seq, seal, mac = row
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(seal, bytes):
        raise LedgerIntegrityError(f"a subject head is malformed (seq {seq!r})")
    return seq, seal, mac if isinstance(mac, bytes) else None


def _row(record: Record, shards: int) -> tuple[object, ...]:
    return (
        (record.seq - 1) % shards,
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

    meta: sql.SQL
    set_meta: sql.SQL
    drop_meta: sql.SQL
    by_id: sql.SQL
    by_ids: sql.SQL
    by_subject: sql.SQL
    after: sql.SQL
    tail: sql.SQL
    shard_tails: sql.SQL
    shard_scan: sql.SQL
    shard_heads: sql.SQL
    newest_before: sql.SQL
    at_seqs: sql.SQL
    remove_all: sql.SQL
    repair_shards: sql.SQL
    tip: sql.SQL
    tips: sql.SQL
    heads: sql.SQL
    set_heads: sql.SQL
    rewrite: sql.SQL
    triggers: sql.SQL
    enable_triggers: sql.SQL
    scan: sql.SQL
    insert: sql.SQL
    scrub: sql.SQL
    lock: sql.SQL
    all_meta: sql.SQL
    vacuum: sql.SQL
    purged: sql.SQL
    listen: sql.SQL
    channel: str

    @classmethod
    def build(cls, schema: str, *, vacuum_full: bool, shards: int) -> _Queries:
        def q(text: str) -> sql.SQL:
            # Rendered once: a write then sends text, not a tree psycopg walks each time.
            composed = sql.SQL(text).format(schema=sql.Identifier(schema), shards=shards)
            return sql.SQL(composed.as_string(None))

        # Constant text only; the schema goes in through sql.Identifier, quoted.
        plain = f"SELECT {_COLUMNS} FROM {{schema}}.ledger_records"  # noqa: S608
        # Each record with the stored MAC of the one before it in its shard, to verify it
        # alone (``shards`` is an int, formatted as a literal).
        columns = (
            "r.seq, r.kind, r.subject_tag, r.id_tag, r.nonce, r.payload, r.digest, r.mac, r.link"
        )
        linked = " LEFT JOIN {schema}.ledger_records AS p ON p.seq = r.seq - {shards}"
        records = f"SELECT {columns}, p.mac FROM {{schema}}.ledger_records AS r" + linked  # noqa: S608 - constant
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
            drop_meta=q("DELETE FROM {schema}.ledger_meta WHERE name = ANY(%s)"),
            by_id=q(records + " WHERE r.id_tag = %s"),
            by_ids=q(records + " WHERE r.id_tag = ANY(%s)"),
            by_subject=q(records + " WHERE r.subject_tag = %s ORDER BY r.seq"),
            after=q(records + " WHERE r.subject_tag = %s AND r.seq > %s ORDER BY r.seq"),
            tail=q(records + " ORDER BY r.seq DESC LIMIT 1"),
            # Each shard's last record, found through (shard, seq).
            shard_tails=q(
                f"SELECT {columns}, p.mac FROM unnest(%s::integer[]) AS t (shard)"  # noqa: S608 - constant
                " CROSS JOIN LATERAL (SELECT * FROM {schema}.ledger_records AS x"
                " WHERE x.shard = t.shard ORDER BY x.seq DESC LIMIT 1) AS r" + linked
            ),
            shard_scan=q(plain + " WHERE shard = %s AND seq > %s ORDER BY seq"),
            shard_heads=q(
                "SELECT subject_tag, seq, seal FROM {schema}.ledger_subjects"
                " WHERE shard = %s AND seq > %s"
            ),
            newest_before=q(
                "SELECT t.tag, (SELECT max(r.seq) FROM {schema}.ledger_records AS r"
                " WHERE r.subject_tag = t.tag AND r.seq <= %s)"
                " FROM unnest(%s::bytea[]) AS t (tag)"
            ),
            at_seqs=q(records + " WHERE r.seq = ANY(%s)"),
            remove_all=q("DELETE FROM {schema}.ledger_records"),
            repair_shards=q(
                "INSERT INTO {schema}.ledger_shards (shard)"
                " SELECT generate_series(0, {shards} - 1) ON CONFLICT DO NOTHING"
            ),
            tip=q(tips + " WHERE s.subject_tag = %s"),
            tips=q(tips + " WHERE s.subject_tag = ANY(%s)"),
            heads=q("SELECT subject_tag, seq, seal FROM {schema}.ledger_subjects"),
            # Followed by one (%s, %s, %s) per subject (a subject appears once) and _UPSERT.
            set_heads=q(
                "INSERT INTO {schema}.ledger_subjects (subject_tag, seq, seal, shard) VALUES "
            ),
            rewrite=q("UPDATE {schema}.ledger_records SET link = %s, mac = %s WHERE seq = %s"),
            triggers=q("ALTER TABLE {schema}.ledger_records DISABLE TRIGGER USER"),
            enable_triggers=q("ALTER TABLE {schema}.ledger_records ENABLE TRIGGER USER"),
            scan=q(plain + " ORDER BY seq"),
            insert=q(f"INSERT INTO {{schema}}.ledger_records (shard, {_COLUMNS}) VALUES "),  # noqa: S608 - constant
            scrub=q(
                "UPDATE {schema}.ledger_records SET nonce = NULL, payload = NULL"
                " WHERE seq = ANY(%s)"
            ),
            lock=q(
                "SELECT shard FROM {schema}.ledger_shards WHERE shard = ANY(%s)"
                " ORDER BY shard FOR UPDATE"
            ),
            all_meta=q("SELECT name, value FROM {schema}.ledger_meta"),
            vacuum=q(("VACUUM (FULL) " if vacuum_full else "VACUUM ") + "{schema}.ledger_records"),
            purged=q("DELETE FROM {schema}.ledger_meta WHERE name = %s AND value = %s"),
            listen=sql.SQL(sql.SQL("LISTEN {}").format(sql.Identifier(channel)).as_string(None)),
            channel=channel,
        )


class _Reader:
    """A read transaction's view of the schema (a ``RecordReader``)."""

    def __init__(self, conn: Conn, queries: _Queries, shards: int = 1) -> None:
        self._conn = conn
        self._q = queries
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
        return None if row is None else _record(row)

    def shard_scan(self, shard: int, after: int = 0) -> Iterator[Record]:
        """A shard's records after position ``after``, in chain order (server-side cursor)."""
        with self._conn.cursor(name=f"lawful_scan_{shard}") as cursor:
            cursor.itersize = 2000
            cursor.execute(self._q.shard_scan, (shard, after))
            for row in cursor:
                yield _record(row)

    def shard_heads(self, shard: int, after: int = 0) -> Iterator[tuple[bytes, int, bytes]]:
        """The subject heads filed under a shard, naming a record after ``after``."""
        with self._conn.cursor(name=f"lawful_heads_{shard}") as cursor:
            cursor.itersize = 2000
            cursor.execute(self._q.shard_heads, (shard, after))
            for tag, seq, seal in cursor:
                checked = _tip((seq, seal, None))
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
        return {r.seq: r for r in map(_record, rows)}

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


class _LockMissingError(LedgerError):
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


class _Writer(_Reader):
    """A write transaction's view (a ``RecordWriter``): writes wait for :meth:`finish`.

    The locks of the shards it may write are held throughout, so nobody else can write
    them meanwhile; reads that could see a pending write (by subject, a scan, an
    erasure's update) flush first. Writing a shard it did not lock is refused.
    """

    def __init__(
        self,
        conn: Conn,
        queries: _Queries,
        prelude: sql.Composable,
        shards: int,
        expected: Sequence[bytes],
        subjects: Sequence[bytes] = (),
    ) -> None:
        super().__init__(conn, queries, shards)
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
        results = _exchange(conn, statements)
        # The prelude is several statements: count the results from the end.
        base = len(results) - (len(statements) - 2)
        lock, clock, values, tails = results[base : base + 4]
        locked = {row[0] for row in lock}
        if locked != set(wanted):
            missing = sorted(set(wanted) - locked)
            raise _LockMissingError(f"the rows of ledger_shards for shards {missing} are missing")
        self.locked = frozenset(wanted)
        now = clock[0] if clock else None
        if now is None or not isinstance(now[0], datetime):
            raise LedgerError(f"postgres: the server's clock returned {now!r}")
        self.clock: datetime = now[0].astimezone(UTC)
        self._values = {str(name): bytes(value) for name, value in values}
        self._changed: dict[str, bytes] = {}
        self._pending: dict[bytes, Record] = {}
        self._size = 0
        self._known: dict[bytes, Record | None] = dict.fromkeys(expected)
        found = results[base + 4] if expected else []
        self._known.update((r.id_tag, r) for r in map(_record, found))
        # Parsed only when asked for: opening a ledger must not fail on a broken tail.
        self._tail_rows: dict[int, TupleRow] = {}
        for row in tails:
            if isinstance(row[0], int):
                self._tail_rows[(row[0] - 1) % shards] = row
        self._tails: dict[int, Record | None] = {}
        self._tips: dict[bytes, tuple[int, bytes, bytes | None] | None] = dict.fromkeys(subjects)
        if subjects:
            self._tips.update((bytes(r[0]), _tip(r[1:])) for r in results[-1])
        self._heads: dict[bytes, tuple[int, bytes]] = {}
        self._macs: dict[int, bytes] = {}
        self._triggers_off = False
        self._replaced = False
        self._dropped: list[str] = []
        self._probe: bytes | None = None
        self._insert = queries.insert.as_string(None)
        self._set_heads = queries.set_heads.as_string(None)
        self.touched: set[bytes] = set()

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
            self._tails[shard] = None if row is None else _record(row)
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
        self._probe = record.id_tag
        self._size += len(record.payload or b"")
        self._macs[record.seq] = record.mac
        self._tails[(record.seq - 1) % self.shards] = record
        self.touched.add(record.subject_tag)
        if len(self._pending) >= _CHUNK_RECORDS or self._size >= _CHUNK_BYTES:
            self._flush()

    def scrub(self, seqs: Sequence[int]) -> None:
        for seq in seqs:
            self._mine(seq)
        self._flush()
        # A scrubbed record may have been looked up by id earlier in this transaction.
        self._known.clear()
        self._conn.execute(self._q.scrub, (list(seqs),))
        # Committed with the erasure: a process that dies before its VACUUM leaves this
        # behind, and the next ledger opened on the schema runs it. A fresh value per
        # erasure, so that a purge only clears the flag of erasures it has seen.
        self.set_meta(PURGE_PENDING, os.urandom(16))

    def set_meta(self, name: str, value: bytes) -> None:
        shard, sep, _ = name.partition(":")
        if sep and shard == "head":
            number = int(name[5:])
            if number not in self.locked:
                raise LedgerError(f"the head of shard {number} is not locked by this write")
        self._changed[name] = value

    def _inserts(self) -> list[Statement]:
        """The pending records as multi-row ``INSERT`` statements; pending is then empty."""
        rows = list(self._pending.values())
        self._known.update(self._pending)
        self._pending.clear()
        self._size = 0
        out: list[Statement] = []
        for start in range(0, len(rows), _CHUNK_RECORDS):
            chunk = rows[start : start + _CHUNK_RECORDS]
            values = ", ".join([_ROW] * len(chunk))
            params = [v for r in chunk for v in _row(r, self.shards)]
            out.append((self._insert + values, params))
        return out

    def _flush(self) -> None:
        if self._pending:
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


def _version(conn: Conn, schema: str, where: str) -> int:
    """The version of a schema's ledger (0: a new schema), refusing one lawful did not
    create: other tables and no ``ledger_meta``, or a ``ledger_meta`` of another shape.
    """
    ident = sql.Identifier(schema)
    tables = conn.execute(
        "SELECT c.relname FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')"
        " ORDER BY c.relname",
        (schema,),
    ).fetchall()
    names = [str(name) for (name,) in tables]
    if not names:
        return 0
    foreign = (
        f"{where}: the schema holds tables lawful did not create ({', '.join(names[:5])}"
        f"{', ...' if len(names) > 5 else ''}); give the ledger a schema of its own"
    )
    if "ledger_meta" not in names:
        raise LedgerError(foreign)
    columns = conn.execute(
        "SELECT column_name::text, data_type::text FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = 'ledger_meta' ORDER BY ordinal_position",
        (schema,),
    ).fetchall()
    if [tuple(c) for c in columns] != [("name", "text"), ("value", "bytea")]:
        raise LedgerError(foreign)
    rows: dict[object, object] = dict(
        conn.execute(
            sql.SQL("SELECT name, value FROM {}.ledger_meta WHERE name IN ('schema', %s)").format(
                ident
            ),
            (MARKER,),
        ).fetchall()
    )
    found = rows.get("schema")
    text = bytes(found).decode("ascii", "replace") if isinstance(found, bytes) else ""
    if not text.isdigit() or not text.isascii() or int(text) < 1:
        raise LedgerError(foreign)
    version = int(text)
    if rows.get(MARKER) != _MARKER_VALUE:
        # Created before lawful wrote its marker: adopted if it has the ledger's tables.
        if "ledger_records" not in names or MARKER in rows:
            raise LedgerError(foreign)
        conn.execute(
            sql.SQL("INSERT INTO {}.ledger_meta (name, value) VALUES (%s, %s)").format(ident),
            (MARKER, _MARKER_VALUE),
        )
    return version


def _migrate(conn: Conn, schema: str, where: str, *, migrate: bool, shards: int | None) -> int:
    """Create or migrate the schema; the ledger's number of shards."""
    ident = sql.Identifier(schema)
    # Serialises concurrent first opens (CREATE ... IF NOT EXISTS races on the catalogs).
    digest = hashlib.sha256(b"lawful-migrate " + schema.encode("utf-8")).digest()
    lock_id = int.from_bytes(digest[:8], "big", signed=True)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id,))
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        version = _version(conn, schema, where)
        if version > len(MIGRATIONS):
            raise LedgerError(
                f"{where}: schema version {version} is newer than this lawful knows "
                f"({len(MIGRATIONS)}); upgrade lawful"
            )
        if version == 1 and not migrate:
            raise LedgerError(
                f"{where}: a format 1 ledger; migrate it with PostgresLedger(..., "
                "migrate=True) or `lawful ledger migrate`, which verifies it and seals it "
                "again in format 2, in shards"
            )
        if version == 2 and not migrate:
            raise LedgerError(
                f"{where}: a single-chain ledger (schema 2), which this lawful does not "
                "write; migrate it with PostgresLedger(..., migrate=True) or `lawful ledger "
                "migrate`, which verifies it and seals it again in shards (stop other "
                "writers first)"
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
        if version == 0:
            conn.execute(
                sql.SQL("INSERT INTO {}.ledger_meta (name, value) VALUES (%s, %s)").format(ident),
                (MARKER, _MARKER_VALUE),
            )
        if version < 3 <= len(MIGRATIONS):
            count = DEFAULT_SHARDS if shards is None else shards
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.ledger_shards (shard) SELECT generate_series(0, %s - 1)"
                ).format(ident),
                (count,),
            )
            conn.execute(
                sql.SQL("INSERT INTO {}.ledger_meta (name, value) VALUES (%s, %s)").format(ident),
                (SHARDS, str(count).encode("ascii")),
            )
            if version:
                # Its records are one chain: the ledger re-seals them (it has the key).
                conn.execute(
                    sql.SQL("INSERT INTO {}.ledger_meta (name, value) VALUES (%s, %s)").format(
                        ident
                    ),
                    (RESHARD, b"1"),
                )
        found = conn.execute(
            sql.SQL("SELECT value FROM {}.ledger_meta WHERE name = %s").format(ident), (SHARDS,)
        ).fetchone()
    text = bytes(found[0]).decode("ascii", "replace") if found is not None else ""
    if not text.isdigit() or not text.isascii() or not 1 <= int(text) <= MAX_SHARDS:
        raise LedgerError(f"{where}: the number of shards in ledger_meta is missing or malformed")
    if shards is not None and int(text) != shards:
        raise LedgerError(
            f"{where}: the ledger has {int(text)} shards, fixed when it was created; "
            f"asked for {shards}"
        )
    return int(text)


def _scrubbed(message: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


class PostgresStore:
    """The records of one schema, over a capped pool of connections (a ``RecordStore``).

    Connections are autocommit, prepare nothing (a statement prepared inside a pipeline
    that failed is remembered by psycopg but not by the server) and ask the server for
    the keepalives of :meth:`Limits.options`. At most ``limits.max_connections`` are
    open at once; a caller waits up to ``limits.pool_timeout`` for one. A pooled
    connection found dead (a server restart) is replaced once, where that is safe: on
    the first exchange of a read, or of a write before anything is committed; the other
    idle ones are dropped with it.
    """

    read_only = False

    def __init__(
        self,
        dsn: str,
        *,
        schema: str,
        connect_timeout: float,
        vacuum_full: bool,
        migrate: bool = False,
        limits: Limits | None = None,
        shards: int | None = None,
    ) -> None:
        if not schema or len(schema.encode("utf-8")) > 63:
            raise LedgerError(f"postgres: a schema name is 1 to 63 bytes, got {schema!r}")
        given: object = shards  # hosts without a type checker pass "16", 16.0, True
        if given is not None and (
            not isinstance(given, int) or isinstance(given, bool) or not 1 <= given <= MAX_SHARDS
        ):
            raise LedgerError(f"postgres: shards must be 1 to {MAX_SHARDS}, got {shards!r}")
        self.limits = limits or Limits()
        self.limits.check()
        self.schema = schema
        # Messages name the schema, never the DSN: it may hold a password.
        self.where = f"postgres ledger {schema!r}"
        params: dict[str, str | int | None] | None = None
        with suppress(psycopg.Error, ValueError, TypeError):
            params = conninfo_to_dict(dsn)
        if params is None:
            # Raised outside the handler, so that nothing chains libpq's message: it
            # quotes the part it could not parse, which may be the password.
            raise LedgerError(
                f"{self.where}: the DSN cannot be parsed (not shown: it may hold a password)"
            )
        self._secrets = sorted({dsn, str(params.get("password") or "")}, key=len, reverse=True)
        given = str(params.get("options") or "")
        # The DSN's own options come last: an explicit setting there wins.
        params["options"] = f"{self.limits.options()} {given}".strip()
        params["connect_timeout"] = max(1, round(connect_timeout))
        self.dsn = make_conninfo("", **params)
        self._vacuum_full = vacuum_full
        self._preludes: dict[int, sql.SQL] = {}
        self.shards = 1
        self.queries = _Queries.build(schema, vacuum_full=vacuum_full, shards=1)
        self._guard = threading.Condition(threading.Lock())
        self._closed = False
        self._idle: list[Conn] = []
        self._open = 0
        self._inherited: list[Conn] = []
        self._fresh_process()
        conn = self.acquire()
        try:
            self.shards = _migrate(conn, schema, self.where, migrate=migrate, shards=shards)
            self.queries = _Queries.build(schema, vacuum_full=vacuum_full, shards=self.shards)
            reader = _Reader(conn, self.queries, self.shards)
            pending = reader.meta(PURGE_PENDING)
            self.reshard_pending = reader.meta(RESHARD) is not None
        except psycopg.Error as exc:
            self.release(conn)
            self.close()
            raise LedgerError(
                f"{self.where}: cannot create or migrate the schema: {self._clean(exc)}"
            ) from exc
        except BaseException:
            self.release(conn)
            self.close()
            raise
        self.release(conn)
        if pending is not None:
            # Best effort: a failure here is retried by the next erasure or purge().
            with suppress(LedgerError):
                self.purge()

    def _clean(self, exc: BaseException) -> str:
        return _scrubbed(str(exc), self._secrets)

    def _fresh_process(self) -> None:
        # A connection must never cross fork(): the child keeps (never uses) what it
        # inherited, and psycopg does not close a parent's connection from a child.
        self._inherited.extend(self._idle)
        self._idle = []
        self._open = 0
        self._local = threading.local()
        self.pid = os.getpid()

    def connect(self) -> Conn:
        """A new autocommit connection (transactions are opened explicitly), uncounted."""
        try:
            return psycopg.connect(self.dsn, autocommit=True, prepare_threshold=None)
        except psycopg.Error as exc:
            message = self._clean(exc)
        # Outside the handler: the error chains nothing that could quote the DSN.
        raise LedgerError(f"{self.where}: cannot connect: {message}")

    def _checkout(self) -> tuple[Conn, bool]:
        """A connection and whether it was pooled (and so may have died since)."""
        deadline = time.monotonic() + self.limits.pool_timeout
        with self._guard:
            while True:
                if self._closed:
                    raise LedgerError(f"{self.where}: ledger closed")
                if os.getpid() != self.pid:
                    self._fresh_process()
                while self._idle:
                    conn = self._idle.pop()
                    if not conn.closed and not conn.broken:
                        return conn, True
                    conn.close()
                    self._open -= 1
                if self._open < self.limits.max_connections:
                    self._open += 1
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise LedgerError(
                        f"{self.where}: all {self.limits.max_connections} connections stayed "
                        f"busy for {self.limits.pool_timeout:g} s (max_connections, "
                        "pool_timeout)"
                    )
                self._guard.wait(left)
        try:
            return self.connect(), False
        except BaseException:
            self._gone()
            raise

    def acquire(self) -> Conn:
        """An idle pooled connection, or a new one if fewer than the cap are open."""
        return self._checkout()[0]

    def _gone(self, conn: Conn | None = None, *, dead: bool = False) -> None:
        """A counted connection is closed; after a dead one, the idle ones go too (a
        server restart kills them all: one failure, not one per pooled connection).
        """
        if conn is not None:
            conn.close()
        with self._guard:
            self._open -= 1
            idle = []
            if dead:
                idle, self._idle = self._idle, []
                self._open -= len(idle)
            self._guard.notify_all()
        for other in idle:
            other.close()

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
            ):
                self._idle.append(conn)
                self._guard.notify()
                return
        self._gone(conn, dead=conn.broken)

    def _retrying(self, work: Callable[[Conn], T]) -> T:
        """``work`` on a connection; once more on a new one if a pooled one was dead.

        Only for work that commits nothing before its first exchange can fail.
        """
        while True:
            conn, pooled = self._checkout()
            try:
                return work(conn)
            except psycopg.OperationalError:
                if not (pooled and conn.broken):
                    raise
            finally:
                self.release(conn)

    def expect(self, id_tags: Iterable[bytes], subject_tags: Iterable[bytes] = ()) -> None:
        """Id tags and subject heads the next write of this thread will look up: fetched
        with the lock, in one exchange.
        """
        self._local.expected = list(id_tags)
        self._local.subjects = list(subject_tags)

    @contextmanager
    def reading(self) -> Iterator[_Reader]:
        """A repeatable-read snapshot: a scan and the head it ends at agree."""

        def begin(conn: Conn) -> Conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return conn

        try:
            conn = self._hold(begin)
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: {self._clean(exc)}") from exc
        try:
            yield _Reader(conn, self.queries, self.shards)
            conn.execute("COMMIT")
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: {self._clean(exc)}") from exc
        finally:
            self.release(conn)

    def _hold(self, start: Callable[[Conn], T]) -> Conn:
        """A connection on which ``start`` succeeded (retried once on a dead pooled one),
        kept checked out for the caller to release.
        """
        while True:
            conn, pooled = self._checkout()
            try:
                start(conn)
            except psycopg.OperationalError:
                self.release(conn)
                if not (pooled and conn.broken):
                    raise
                continue
            except BaseException:
                self.release(conn)
                raise
            return conn

    def _repair_lock(self) -> None:
        """Put missing shard lock rows back; safe with any number of writers doing the
        same, since none writes a shard without holding its row (the primary key keeps
        one row per shard). The rows hold no data: the shards' heads are sealed in
        ``ledger_meta``.
        """

        def insert(conn: Conn) -> None:
            conn.execute(self.queries.repair_shards)

        try:
            self._retrying(insert)
        except psycopg.Error as exc:
            raise LedgerError(
                f"{self.where}: rows of ledger_shards are missing and cannot be put back "
                f"({self._clean(exc)}); nothing was written"
            ) from exc

    def _begin_write(self) -> tuple[Conn, _Writer]:
        expected: list[bytes] = getattr(self._local, "expected", [])
        subjects: list[bytes] = getattr(self._local, "subjects", [])
        self._local.expected = []
        self._local.subjects = []
        made: list[_Writer] = []

        def begin(conn: Conn) -> None:
            version = conn.info.server_version
            prelude = self._preludes.get(version)
            if prelude is None:
                prelude = self._preludes[version] = self.limits.prelude(version)
            made.append(_Writer(conn, self.queries, prelude, self.shards, expected, subjects))

        for attempt in (1, 2):
            try:
                conn = self._hold(begin)
            except _LockMissingError:
                if attempt == 2:
                    raise LedgerError(
                        f"{self.where}: rows of ledger_shards are missing; nothing was written"
                    ) from None
                self._repair_lock()
                continue
            except errors.LockNotAvailable:
                raise LedgerError(
                    f"{self.where}: the chain stayed locked by another writer for "
                    f"{self.limits.lock_timeout:g} s (lock_timeout); nothing was written"
                ) from None
            except psycopg.Error as exc:
                raise LedgerError(f"{self.where}: nothing was written: {self._clean(exc)}") from exc
            return conn, made[-1]
        raise AssertionError("unreachable")  # pragma: no cover

    @contextmanager
    def writing(self) -> Iterator[_Writer]:
        """A write transaction holding the chain's lock, committed all or nothing."""
        conn, writer = self._begin_write()
        try:
            try:
                self._local.writer = writer
                yield writer
            except psycopg.Error as exc:
                raise LedgerError(f"{self.where}: {self._clean(exc)}") from exc
            try:
                writer.commit()
            except psycopg.OperationalError as exc:
                raise LedgerError(
                    f"{self.where}: the commit's outcome is unknown ({self._clean(exc)}); "
                    "appending the same events again is safe: appends are idempotent by id"
                ) from exc
            except psycopg.Error as exc:
                landed = writer.landed()
                if landed is None:
                    raise LedgerError(
                        f"{self.where}: the commit's outcome is unknown ({self._clean(exc)}); "
                        "appending the same events again is safe: appends are idempotent by id"
                    ) from exc
                if not landed:
                    raise LedgerError(
                        f"{self.where}: nothing was written: {self._clean(exc)}"
                    ) from exc
                # Committed: only the notification after it failed (see _Writer.commit).
        finally:
            self._local.writer = None
            self.release(conn)

    def now(self) -> datetime:
        """The server's clock; inside a write, as read just after the chain's lock."""
        writer: _Writer | None = getattr(self._local, "writer", None)
        if writer is not None:
            return writer.clock

        def clock(conn: Conn) -> TupleRow | None:
            return conn.execute("SELECT clock_timestamp()").fetchone()

        try:
            row = self._retrying(clock)
        except psycopg.Error as exc:
            raise LedgerError(
                f"{self.where}: cannot read the server's clock: {self._clean(exc)}"
            ) from exc
        if row is None or not isinstance(row[0], datetime):
            raise LedgerError(f"{self.where}: the server's clock returned {row!r}")
        return row[0].astimezone(UTC)

    def subject_records(
        self, subject_tag: bytes, after: int
    ) -> tuple[list[Record], tuple[int, bytes, bytes | None] | None]:
        """The subject's records after position ``after`` and its head, from one snapshot
        (one exchange with the server).
        """

        def read(conn: Conn) -> tuple[list[TupleRow], TupleRow | None]:
            with conn.pipeline():
                conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                if after:
                    rows = conn.execute(self.queries.after, (subject_tag, after))
                else:
                    rows = conn.execute(self.queries.by_subject, (subject_tag,))
                tip = conn.execute(self.queries.tip, (subject_tag,))
                conn.execute("COMMIT")
            return rows.fetchall(), tip.fetchone()

        try:
            rows, found = self._retrying(read)
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: {self._clean(exc)}") from exc
        return [_record(row) for row in rows], None if found is None else _tip(found[1:])

    def purge(self) -> None:
        """After an erasure: ``VACUUM`` so that no old row version keeps the erased bytes.

        The flag of pending erasures is cleared only after a ``VACUUM`` the server did
        not skip: it only warns (and does nothing) for a role that may not vacuum the
        table, so any warning it sends is a failure.
        """

        def vacuum(conn: Conn) -> None:
            warnings: list[str] = []

            def heard(notice: psycopg.errors.Diagnostic) -> None:
                if notice.severity_nonlocalized == "WARNING":
                    warnings.append(str(notice.message_primary))

            pending = _Reader(conn, self.queries, self.shards).meta(PURGE_PENDING)
            conn.add_notice_handler(heard)
            try:
                conn.execute(self.queries.vacuum)  # autocommit: VACUUM refuses a transaction
            finally:
                conn.remove_notice_handler(heard)
            if warnings:
                raise LedgerError(
                    f"{self.where}: erasure recorded, but VACUUM did not run: "
                    f"{'; '.join(warnings)} (the table's owner must run PostgresLedger.purge())"
                )
            if pending is not None:
                conn.execute(self.queries.purged, (PURGE_PENDING, pending))

        try:
            self._retrying(vacuum)
        except psycopg.Error as exc:
            raise LedgerError(
                f"{self.where}: erasure recorded, VACUUM failed: {self._clean(exc)}"
            ) from exc

    def close(self) -> None:
        """Close the pooled connections; connections in use close when released."""
        with self._guard:
            self._closed = True
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._guard.notify_all()
        if os.getpid() == self.pid:
            for conn in idle:
                conn.close()
