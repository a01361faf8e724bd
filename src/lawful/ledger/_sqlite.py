"""The embedded default: a ledger in one SQLite file, on the standard library's ``sqlite3``.

Durability and concurrency come from SQLite itself:

- write-ahead logging with ``synchronous=FULL``: a committed batch survives a crash
  of the process or of the machine, an uncommitted one leaves nothing behind;
- every write is one ``BEGIN IMMEDIATE`` transaction, which takes the file's single
  writer lock *before* reading the chain's head, so writers in any thread or process
  queue (up to ``timeout`` seconds) instead of forking the chain;
- each thread gets its own connection (readers never wait for the writer), and a
  process that forked opens fresh ones rather than sharing its parent's;
- ``secure_delete``, a truncating WAL checkpoint and ``VACUUM`` after an erasure, so
  erased bytes linger neither in free pages nor in the log.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from lawful.exceptions import LedgerError, LedgerIntegrityError
from lawful.ledger._chain import LedgerKey, Record, record_from_row
from lawful.ledger._core import Clock, LedgerCore, utc_now

__all__ = ["MIGRATIONS", "SQLiteLedger"]

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # Version 1. Personal data lives only in `payload`: the subject is found by its keyed
    # pseudonym, so erasing means dropping nonce and payload, nothing else.
    (
        (
            "CREATE TABLE ledger_meta (name TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL)"
            " WITHOUT ROWID"
        ),
        (
            "CREATE TABLE ledger_records ("
            " seq INTEGER PRIMARY KEY,"
            " kind INTEGER NOT NULL,"
            " subject_tag BLOB NOT NULL,"
            " id_tag BLOB NOT NULL UNIQUE,"
            " nonce BLOB,"
            " payload BLOB,"
            " digest BLOB NOT NULL,"
            " mac BLOB NOT NULL)"
        ),
        "CREATE INDEX ledger_records_subject ON ledger_records (subject_tag, seq)",
    ),
    # Version 2 (chain format 2): each record links to its subject's previous record, and
    # each subject's newest record is named by a sealed head. Taking a format 1 file here
    # needs its chain sealed again: `lawful ledger migrate` (``migrate=True``).
    (
        "ALTER TABLE ledger_records ADD COLUMN link INTEGER NOT NULL DEFAULT 0",
        (
            "CREATE TABLE ledger_subjects (subject_tag BLOB PRIMARY KEY NOT NULL,"
            " seq INTEGER NOT NULL, seal BLOB NOT NULL) WITHOUT ROWID"
        ),
    ),
)
"""Schema migrations: entry ``n`` takes a file from version ``n`` to ``n + 1``."""

PURGE_PENDING = "purge_pending"
_COLUMNS = "seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link"
# Each record with the stored MAC of the one before it, so that it can be verified alone.
_LINKED = (
    "SELECT r.seq, r.kind, r.subject_tag, r.id_tag, r.nonce, r.payload, r.digest, r.mac,"
    " r.link, p.mac FROM ledger_records AS r LEFT JOIN ledger_records AS p ON p.seq = r.seq - 1"
)


class _View:
    """A transaction's view of the file (a RecordWriter)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def meta(self, name: str) -> bytes | None:
        # CAST: a value edited into TEXT behind our back still reads, and then fails its seal.
        row = self._conn.execute(
            "SELECT CAST(value AS BLOB) FROM ledger_meta WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else bytes(row[0])

    def by_id(self, id_tag: bytes) -> Record | None:
        row = self._conn.execute(_LINKED + " WHERE r.id_tag = ?", (id_tag,)).fetchone()
        return None if row is None else record_from_row(row)

    def tail(self) -> Record | None:
        row = self._conn.execute(_LINKED + " ORDER BY r.seq DESC LIMIT 1").fetchone()
        return None if row is None else record_from_row(row)

    def shard_tail(self, shard: int) -> Record | None:  # noqa: ARG002 - one chain: shard 0
        return self.tail()

    def by_subject(self, subject_tag: bytes, after: int = 0) -> list[Record]:
        rows = self._conn.execute(
            _LINKED + " WHERE r.subject_tag = ? AND r.seq > ? ORDER BY r.seq",
            (subject_tag, after),
        )
        return list(map(record_from_row, rows))

    def subject_tip(self, subject_tag: bytes) -> tuple[int, bytes, bytes | None] | None:
        row = self._conn.execute(
            "SELECT s.seq, s.seal, r.mac FROM ledger_subjects AS s LEFT JOIN ledger_records AS r"
            " ON r.seq = s.seq AND r.subject_tag = s.subject_tag WHERE s.subject_tag = ?",
            (subject_tag,),
        ).fetchone()
        return None if row is None else _tip(row)

    def subject_heads(self) -> Iterator[tuple[bytes, int, bytes]]:
        rows = self._conn.execute("SELECT subject_tag, seq, seal FROM ledger_subjects")
        for tag, seq, seal in rows:
            checked = _tip((seq, seal, None))
            if not isinstance(tag, bytes):
                raise LedgerIntegrityError("a subject head: its tag is not bytes")
            yield tag, checked[0], checked[1]

    def set_subject_head(self, subject_tag: bytes, seq: int, seal: bytes) -> None:
        self._conn.execute(
            "INSERT INTO ledger_subjects (subject_tag, seq, seal) VALUES (?, ?, ?)"
            " ON CONFLICT (subject_tag) DO UPDATE SET seq = excluded.seq, seal = excluded.seal",
            (subject_tag, seq, seal),
        )

    def rewrite(self, seq: int, link: int, mac: bytes) -> None:
        self._conn.execute(
            "UPDATE ledger_records SET link = ?, mac = ? WHERE seq = ?", (link, mac, seq)
        )

    def scan(self) -> Iterator[Record]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM ledger_records ORDER BY seq")  # noqa: S608
        return (record_from_row(row) for row in rows)

    def insert(self, record: Record) -> None:
        self._conn.execute(
            f"INSERT INTO ledger_records ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                record.seq,
                int(record.kind),
                record.subject_tag,
                record.id_tag,
                record.nonce,
                record.payload,
                record.digest,
                record.mac,
                record.link,
            ),
        )

    def scrub(self, seqs: Sequence[int]) -> None:
        self._conn.executemany(
            "UPDATE ledger_records SET nonce = NULL, payload = NULL WHERE seq = ?",
            [(seq,) for seq in seqs],
        )
        # Committed with the erasure: a process killed before its purge leaves this
        # behind, and the next open of the file finishes the purge.
        self.set_meta(PURGE_PENDING, b"1")

    def set_meta(self, name: str, value: bytes) -> None:
        self._conn.execute(
            "INSERT INTO ledger_meta (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open file (0: no ledger yet)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger_meta'"
    ).fetchone()
    if exists is None:
        return 0
    row = conn.execute(
        "SELECT CAST(value AS BLOB) FROM ledger_meta WHERE name = 'schema'"
    ).fetchone()
    if row is None:
        return 0
    try:
        return int(bytes(row[0]).decode("ascii"))
    except (TypeError, ValueError):
        raise LedgerIntegrityError(f"the schema version is malformed: {row[0]!r}") from None


def _tip(row: tuple[object, ...]) -> tuple[int, bytes, bytes | None]:
    seq, seal, mac = row
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(seal, bytes):
        raise LedgerIntegrityError(f"a subject head is malformed (seq {seq!r})")
    return seq, seal, mac if isinstance(mac, bytes) else None


def _check_known(version: int, where: str, *, migrate: bool) -> None:
    if version > len(MIGRATIONS):
        raise LedgerError(
            f"{where}: schema version {version} is newer than this lawful knows "
            f"({len(MIGRATIONS)}); upgrade lawful"
        )
    if version == 1 and not migrate:
        raise LedgerError(
            f"{where}: a format 1 ledger; migrate it with `lawful ledger migrate {where}` "
            "(or open it with migrate=True), which verifies it and seals it again in format 2"
        )


def _migrate(conn: sqlite3.Connection, where: str, *, create: bool, migrate: bool) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)
        if version == 0:
            others = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            ).fetchone()[0]
            if not create or others:
                raise LedgerError(  # noqa: TRY301 - rolled back or closed below
                    f"{where}: not a lawful ledger"
                    + (" (a database of something else)" if others else "")
                    + "; a ledger is created by `lawful ledger append` or `import`, or "
                    "SQLiteLedger(..., create=True), in a new file"
                )
        _check_known(version, where, migrate=migrate)
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO ledger_meta (name, value) VALUES ('schema', ?)"
                " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (str(number).encode("ascii"),),
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class _SQLiteStore:
    shards = 1
    """A SQLite ledger has one writer at a time anyway: one chain."""

    def __init__(
        self,
        path: Path,
        *,
        timeout: float,
        vacuum: bool,
        create: bool,
        read_only: bool,
        migrate: bool,
    ) -> None:
        self.read_only = read_only
        self._path = path
        self._where = os.fspath(path)
        self._timeout = timeout
        self._vacuum = vacuum
        self._closed = False
        self._guard = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._orphans: list[sqlite3.Connection] = []
        self._fresh_process()
        if (read_only or not create) and not path.exists():
            raise LedgerError(f"{self._where}: no such ledger")
        if read_only and path.stat().st_size == 0:
            raise LedgerError(f"{self._where}: an empty file, not a lawful ledger")
        conn = self._connection()
        try:
            if read_only:
                version = schema_version(conn)
                if version == 0:
                    raise LedgerError(f"{self._where}: not a lawful ledger")  # noqa: TRY301 - rolled back or closed below
                _check_known(version, self._where, migrate=False)
                if version < len(MIGRATIONS):
                    raise LedgerError(f"{self._where}: an older schema; open it for writing")  # noqa: TRY301 - rolled back or closed below
                return
            _migrate(conn, self._where, create=create, migrate=migrate)
            pending = _View(conn).meta(PURGE_PENDING)
        except sqlite3.Error as exc:
            self.close()
            raise LedgerError(f"{self._where}: {exc}") from exc
        except BaseException:
            self.close()
            raise
        if pending is not None:
            # Best effort: a busy log is purged by the next erasure or purge() instead.
            with suppress(LedgerError):
                self.purge()

    def _fresh_process(self) -> None:
        # A SQLite connection must never cross fork(): a child keeps (never uses, never
        # closes) what it inherited and opens its own.
        self._orphans.extend(self._connections)
        self._connections = []
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._pid = os.getpid()

    def _connect(self) -> sqlite3.Connection:
        try:
            if self.read_only:
                # Never writes, never creates: not the file, not its tables.
                uri = self._path.absolute().as_uri() + "?mode=ro"
                conn = sqlite3.connect(
                    uri,
                    uri=True,
                    timeout=self._timeout,
                    isolation_level=None,
                    check_same_thread=False,
                )
                conn.execute("PRAGMA query_only = ON")
                return conn
            conn = sqlite3.connect(
                self._path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise LedgerError(f"{self._where}: {exc}") from exc
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = FULL")
            # Art. 17: deleted content is overwritten, and temporary files stay in memory.
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.Error as exc:
            conn.close()
            raise LedgerError(f"{self._where}: {exc}") from exc
        except BaseException:
            conn.close()
            raise
        if str(mode).lower() != "wal":
            conn.close()
            raise LedgerError(f"{self._where}: cannot use write-ahead logging (got {mode})")
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise LedgerError(f"{self._where}: ledger closed")
        if os.getpid() != self._pid:
            self._fresh_process()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._guard:
                self._connections.append(conn)
        return conn

    @contextmanager
    def reading(self) -> Iterator[_View]:
        conn = self._connection()
        try:
            conn.execute("BEGIN")
            try:
                yield _View(conn)
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise LedgerError(f"{self._where}: {exc}") from exc

    @contextmanager
    def writing(self) -> Iterator[_View]:
        if self.read_only:
            raise LedgerError(f"{self._where}: opened read-only")
        conn = self._connection()
        # Threads of one process queue here, without SQLite's sleeping busy handler.
        with self._write_lock:
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield _View(conn)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise LedgerError(f"{self._where}: {exc}") from exc

    def purge(self) -> None:
        """Checkpoint and truncate the WAL, then rewrite the file without free pages."""
        conn = self._connection()
        with self._write_lock:
            try:
                self._checkpoint(conn)
                if self._vacuum:
                    conn.execute("VACUUM")
                    self._checkpoint(conn)
                conn.execute("DELETE FROM ledger_meta WHERE name = ?", (PURGE_PENDING,))
            except sqlite3.Error as exc:
                raise LedgerError(f"{self._where}: erasure recorded, purge failed: {exc}") from exc

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise LedgerError(
                f"{self._where}: erasure recorded, but another connection kept the write-ahead "
                "log busy; old bytes may remain in it until SQLiteLedger.purge() succeeds"
            )

    def close(self) -> None:
        with self._guard:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


class SQLiteLedger(LedgerCore):
    """A :class:`lawful.ledger.ConsentLedger` in one SQLite file.

    Safe for several threads and several processes writing the same file (on a local
    file system: SQLite's locks do not work over most network file systems).

    Args:
        path: The database file. A missing or empty file becomes a new ledger unless
            ``create=False``; a database that is not a lawful ledger is refused.
        key: The ledger key, kept outside the file (:meth:`LedgerKey.from_file`).
        clock: Returns the current aware instant; stamps ``recorded_at``.
        keep_proof: Whether erasure keeps consent records by default (Art. 17(3)(e)).
        create: Create the ledger if the file is missing or empty; ``False`` raises instead.
        read_only: Open the file read-only (an SQLite ``mode=ro`` URI): nothing is
            written, not even the schema; appends and erasures raise.
        migrate: Migrate a format 1 ledger (verify it, then seal it again in format 2);
            without it such a ledger is refused with a message saying so.
        timeout: Seconds a writer waits for the file's lock before giving up.
        vacuum: Rewrite the file after an erasure (``VACUUM``); turn off only for very
            large files whose free pages ``secure_delete`` already zeroes.

    Raises:
        LedgerKeyError: The key is too short or is not this ledger's key.
        LedgerError: The file cannot be opened, or its schema is newer than this lawful.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: LedgerKey | bytes,
        clock: Clock = utc_now,
        keep_proof: bool = False,
        create: bool = True,
        timeout: float = 30.0,
        vacuum: bool = True,
        read_only: bool = False,
        migrate: bool = False,
    ) -> None:
        self._sqlite = _SQLiteStore(
            Path(path),
            timeout=timeout,
            vacuum=vacuum,
            create=create and not read_only,
            read_only=read_only,
            migrate=migrate,
        )
        super().__init__(
            self._sqlite,
            key=key,
            clock=clock,
            keep_proof=keep_proof,
            migrate=migrate,
            where=os.fspath(path),
        )

    def purge(self) -> None:
        """Purge erased bytes from the WAL and free pages again (after a busy purge failed).

        Raises:
            LedgerError: Another connection still keeps the WAL busy.
        """
        self._sqlite.purge()
