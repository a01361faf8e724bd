"""Where a PostgreSQL ledger keeps its records: bounds, connections, transactions.

See :mod:`lawful.ledger.postgres` for the ledger and ``docs/postgres.md`` for the why;
the schema and its migrations are in :mod:`lawful.ledger._pgschema`, the statements and
the transactions' views in :mod:`lawful.ledger._pgview`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TypeVar

import psycopg
from psycopg import errors, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from lawful.exceptions import LedgerError
from lawful.ledger._chain import LedgerKey, Record
from lawful.ledger._pgcrypt import Crypt
from lawful.ledger._pglimits import Limits
from lawful.ledger._pgschema import (
    DEFAULT_SHARDS,
    ENCRYPT_PENDING,
    MARKER,
    MAX_SHARDS,
    MIGRATIONS,
    PURGE_KEYS,
    PURGE_PENDING,
    RESHARD,
    SHARDS,
    migrate_schema,
)
from lawful.ledger._pgsql import Queries, channel_name
from lawful.ledger._pgview import (
    Conn,
    LockMissingError,
    Reader,
    Writer,
    row_tip,
)

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
    "Reader",
    "Writer",
    "channel_name",
]

T = TypeVar("T")


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
        key: LedgerKey,
        schema: str,
        connect_timeout: float,
        vacuum_full: bool,
        migrate: bool = False,
        limits: Limits | None = None,
        shards: int | None = None,
        encrypt: bool | None = None,
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
        self.queries = Queries.build(schema, vacuum_full=vacuum_full, shards=1)
        self.crypt = Crypt(key, enabled=False, plaintext=True)
        self._guard = threading.Condition(threading.Lock())
        self._closed = False
        self._idle: list[Conn] = []
        self._open = 0
        self._inherited: list[Conn] = []
        self._fresh_process()
        conn = self.acquire()
        try:
            self.shards, encrypted = migrate_schema(
                conn, schema, self.where, migrate=migrate, shards=shards, encrypt=encrypt
            )
            self.queries = Queries.build(schema, vacuum_full=vacuum_full, shards=self.shards)
            reader = Reader(conn, self.queries, self.crypt, self.shards)
            pending = reader.meta(PURGE_PENDING) or reader.meta(PURGE_KEYS)
            self.reshard_pending = reader.meta(RESHARD) is not None
            self.encrypt_pending = reader.meta(ENCRYPT_PENDING) is not None
            # Records in clear are read only from a plaintext ledger, or one whose
            # encryption has not finished (migration): elsewhere they are refused.
            self.crypt = Crypt(
                key, enabled=encrypted, plaintext=not encrypted or self.encrypt_pending
            )
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

    def scrub(self, message: str) -> str:
        """``message`` with the DSN and its password replaced by ``***``."""
        return _scrubbed(message, self._secrets)

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

    @contextmanager
    def reserved(self, count: int) -> Iterator[int]:
        """Room for up to ``count`` connections opened elsewhere (``verify``'s worker
        processes), counted against ``max_connections`` like the pool's own: idle pooled
        connections are closed to make it. Yields how many were reserved, at least one
        (fewer than ``count`` when the other threads' connections are busy).

        Raises:
            LedgerError: Not even one was free within ``pool_timeout``.
        """
        deadline = time.monotonic() + self.limits.pool_timeout
        got = 0
        surplus: list[Conn] = []
        with self._guard:
            while got < count and not self._closed:
                if os.getpid() != self.pid:
                    self._fresh_process()
                while self._idle and self._open >= self.limits.max_connections:
                    surplus.append(self._idle.pop())
                    self._open -= 1
                if self._open < self.limits.max_connections:
                    self._open += 1
                    got += 1
                    continue
                left = deadline - time.monotonic()
                if got or left <= 0:
                    break
                self._guard.wait(left)
        for conn in surplus:
            conn.close()
        try:
            if self._closed:
                raise LedgerError(f"{self.where}: ledger closed")
            if not got:
                raise LedgerError(
                    f"{self.where}: all {self.limits.max_connections} connections stayed "
                    f"busy for {self.limits.pool_timeout:g} s (max_connections, pool_timeout)"
                )
            yield got
        finally:
            with self._guard:
                self._open -= got
                self._guard.notify_all()

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
    def reading(self) -> Iterator[Reader]:
        """A repeatable-read snapshot: a scan and the head it ends at agree."""

        def begin(conn: Conn) -> Conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            return conn

        try:
            conn = self._hold(begin)
        except psycopg.Error as exc:
            raise LedgerError(f"{self.where}: {self._clean(exc)}") from exc
        try:
            yield Reader(conn, self.queries, self.crypt, self.shards)
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

    def _begin_write(self) -> tuple[Conn, Writer]:
        expected: list[bytes] = getattr(self._local, "expected", [])
        subjects: list[bytes] = getattr(self._local, "subjects", [])
        self._local.expected = []
        self._local.subjects = []
        made: list[Writer] = []

        def begin(conn: Conn) -> None:
            version = conn.info.server_version
            prelude = self._preludes.get(version)
            if prelude is None:
                prelude = self._preludes[version] = self.limits.prelude(version)
            made.append(
                Writer(conn, self.queries, self.crypt, prelude, self.shards, expected, subjects)
            )

        for attempt in (1, 2):
            try:
                conn = self._hold(begin)
            except LockMissingError:
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
    def writing(self) -> Iterator[Writer]:
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
                # Committed: only the notification after it failed (see Writer.commit).
        finally:
            self._local.writer = None
            self.release(conn)

    def now(self) -> datetime:
        """The server's clock; inside a write, as read just after the chain's lock."""
        writer: Writer | None = getattr(self._local, "writer", None)
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
        records = [self.crypt.open(row) for row in rows]
        return records, None if found is None else row_tip(found[1:])

    def purge(self) -> None:
        """After an erasure: ``VACUUM`` so that no old row version keeps what it erased.

        Each table is vacuumed while its flag says an erasure left old row versions in it:
        ``ledger_keys`` after data keys were destroyed (a small table; a plain ``VACUUM``
        locks out no reader or writer), ``ledger_records`` only after content was dropped
        in place (a ledger in clear, or records sharing a key with ones kept as proof).
        A flag is cleared only after a ``VACUUM`` the server did not skip: it only warns
        (and does nothing) for a role that may not vacuum the table, so any warning it
        sends is a failure.
        """

        def vacuum(conn: Conn) -> None:
            warnings: list[str] = []

            def heard(notice: psycopg.errors.Diagnostic) -> None:
                if notice.severity_nonlocalized == "WARNING":
                    warnings.append(str(notice.message_primary))

            reader = Reader(conn, self.queries, self.crypt, self.shards)
            flags = [
                (flag, value, statement)
                for flag, statement in (
                    (PURGE_KEYS, self.queries.vacuum_keys),
                    (PURGE_PENDING, self.queries.vacuum),
                )
                if (value := reader.meta(flag)) is not None
            ]
            for flag, value, statement in flags:
                conn.add_notice_handler(heard)
                try:
                    conn.execute(statement)  # autocommit: VACUUM refuses a transaction
                finally:
                    conn.remove_notice_handler(heard)
                if warnings:
                    raise LedgerError(
                        f"{self.where}: erasure recorded, but VACUUM did not run: "
                        f"{'; '.join(warnings)} (the table's owner must run "
                        "PostgresLedger.purge())"
                    )
                conn.execute(self.queries.purged, (flag, value))

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
