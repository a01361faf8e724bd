"""The schema of a PostgreSQL ledger: its migrations, and creating or checking it.

See :mod:`lawful.ledger._pgstore` for the store and ``docs/postgres.md`` for the why.
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from lawful.exceptions import LedgerError

__all__ = [
    "DEFAULT_SHARDS",
    "ENCRYPTED",
    "ENCRYPT_PENDING",
    "MARKER",
    "MAX_SHARDS",
    "MIGRATIONS",
    "PURGE_KEYS",
    "PURGE_PENDING",
    "RESHARD",
    "SHARDS",
    "migrate_schema",
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
    # Version 4: per-subject data keys (see lawful.ledger._pgcrypt). An encrypted record
    # names its key in `key_id`; its nonce travels inside its payload's ciphertext. The
    # guard keeps `key_id` as it was, as it keeps every other column but the scrub's.
    (
        "ALTER TABLE {schema}.ledger_records ADD COLUMN key_id bytea",
        (
            "CREATE TABLE {schema}.ledger_keys (key_id bytea PRIMARY KEY,"
            " subject_tag bytea NOT NULL, proof boolean NOT NULL, wrapped bytea NOT NULL)"
        ),
        "CREATE INDEX ledger_keys_subject ON {schema}.ledger_keys (subject_tag)",
        (
            "CREATE OR REPLACE FUNCTION {schema}.ledger_records_guard() RETURNS trigger"
            " LANGUAGE plpgsql AS $guard$ BEGIN"
            " IF TG_OP = 'UPDATE' AND NEW.nonce IS NULL AND NEW.payload IS NULL"
            " AND NEW.seq = OLD.seq AND NEW.kind = OLD.kind"
            " AND NEW.subject_tag = OLD.subject_tag AND NEW.id_tag = OLD.id_tag"
            " AND NEW.digest = OLD.digest AND NEW.mac = OLD.mac AND NEW.link = OLD.link"
            " AND NEW.shard = OLD.shard AND NEW.key_id IS NOT DISTINCT FROM OLD.key_id"
            " THEN RETURN NEW; END IF;"
            " RAISE EXCEPTION 'lawful ledger records are append-only: % refused', TG_OP;"
            " END $guard$"
        ),
    ),
)
"""Schema migrations: entry ``n`` takes a schema from version ``n`` to ``n + 1``."""

Conn = psycopg.Connection[TupleRow]
PURGE_PENDING = "purge_pending"
"""The ``ledger_meta`` row of records scrubbed in place whose old versions await ``VACUUM``."""
PURGE_KEYS = "purge_keys"
"""The ``ledger_meta`` row of data keys destroyed whose old row versions await ``VACUUM``."""
SHARDS = "shards"
"""The ``ledger_meta`` row with the number of shards, fixed when the ledger is created."""
RESHARD = "reshard"
"""The ``ledger_meta`` row of a version 2 ledger whose single chain awaits re-sealing."""
ENCRYPTED = "encrypted"
"""The ``ledger_meta`` row of a ledger whose event records are encrypted per subject."""
ENCRYPT_PENDING = "encrypt_pending"
"""The ``ledger_meta`` row of a ledger whose records stored in clear await encryption."""
DEFAULT_SHARDS = 16
MAX_SHARDS = 1024
MARKER = "lawful"
"""The ``ledger_meta`` row that says lawful created the schema's tables."""
_MARKER_VALUE = b"lawful consent ledger"


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
    # lawful's exact shape, constraints included: a value may not be NULL and a name is
    # found once, which every later read of ledger_meta relies on.
    columns = conn.execute(
        "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
        " coalesce(i.indisprimary, false) AND i.indnatts = 1"
        " FROM pg_attribute AS a"
        " JOIN pg_class AS c ON c.oid = a.attrelid"
        " JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " LEFT JOIN pg_index AS i ON i.indrelid = c.oid AND i.indisprimary"
        " AND i.indkey[0] = a.attnum"
        " WHERE n.nspname = %s AND c.relname = 'ledger_meta' AND c.relkind = 'r'"
        " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (schema,),
    ).fetchall()
    lawful_shape = [("name", "text", True, True), ("value", "bytea", True, False)]
    if [tuple(c) for c in columns] != lawful_shape:
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


def _meta(conn: Conn, schema: str, name: str) -> bytes | None:
    found = conn.execute(
        sql.SQL("SELECT value FROM {}.ledger_meta WHERE name = %s").format(sql.Identifier(schema)),
        (name,),
    ).fetchone()
    return None if found is None else bytes(found[0])


def migrate_schema(
    conn: Conn,
    schema: str,
    where: str,
    *,
    migrate: bool,
    shards: int | None,
    encrypt: bool | None = None,
) -> tuple[int, bool]:
    """Create or migrate the schema; the ledger's number of shards and whether it encrypts.

    ``encrypt``: ``None`` keeps what the ledger is (a new one is encrypted); ``True`` asks
    a plaintext ledger to be encrypted, which needs ``migrate`` (the ledger then encrypts
    its records, under :data:`ENCRYPT_PENDING`); ``False`` makes a new ledger in clear
    and refuses an encrypted one.
    """
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
        encrypted = version >= 4 and _meta(conn, schema, ENCRYPTED) is not None
        if encrypt and version and not encrypted and not migrate:
            raise LedgerError(
                f"{where}: a ledger that stores events in clear; to encrypt them under a "
                "key per subject (so that erasure reaches WAL, replicas and backups), open it "
                "with encrypt=True and migrate=True, which encrypts every record in place "
                "(the chain and its head are unchanged; stop other writers first)"
            )
        if encrypt is False and encrypted:
            raise LedgerError(
                f"{where}: the ledger encrypts its events under a key per subject, and "
                "stays so; open it without encrypt=False"
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
        if (version == 0 and encrypt is not False) or (encrypt and not encrypted):
            conn.execute(
                sql.SQL("INSERT INTO {}.ledger_meta (name, value) VALUES (%s, %s)").format(ident),
                (ENCRYPTED, b"1"),
            )
            if version:
                # Its records are in clear: the ledger encrypts them (it has the key).
                conn.execute(
                    sql.SQL("INSERT INTO {}.ledger_meta (name, value) VALUES (%s, %s)").format(
                        ident
                    ),
                    (ENCRYPT_PENDING, b"1"),
                )
            encrypted = True
        count_found = _meta(conn, schema, SHARDS)
    text = count_found.decode("ascii", "replace") if count_found is not None else ""
    if not text.isdigit() or not text.isascii() or not 1 <= int(text) <= MAX_SHARDS:
        raise LedgerError(f"{where}: the number of shards in ledger_meta is missing or malformed")
    if shards is not None and int(text) != shards:
        raise LedgerError(
            f"{where}: the ledger has {int(text)} shards, fixed when it was created; "
            f"asked for {shards}"
        )
    return int(text), encrypted
