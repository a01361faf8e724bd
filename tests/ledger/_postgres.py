"""The PostgreSQL backend of the ledger tests: a fresh schema per test on the server of
``LAWFUL_POSTGRES_DSN``, dropped afterwards.

Without ``LAWFUL_POSTGRES_DSN`` the PostgreSQL tests skip with a message saying how to get
a server (``eval "$(bash .ci/postgres.sh)"``); with ``LAWFUL_REQUIRE_POSTGRES=1`` (CI) they
fail instead, so that a CI run can never pass by skipping them. A DSN that is set but
unusable is a failure either way: whoever set it meant to run the tests.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from tests.ledger._backends import KEY, Backend

from lawful.ledger._core import Clock, LedgerCore

if TYPE_CHECKING:
    import psycopg

__all__ = ["POSTGRES_HOWTO", "PostgresBackend", "require_postgres"]

_ZEROBLOB = re.compile(r"zeroblob\((\d+)\)")

POSTGRES_HOWTO = 'start one with: eval "$(bash .ci/postgres.sh)"'


def require_postgres() -> str:
    """The DSN of the test server, or skip (fail under ``LAWFUL_REQUIRE_POSTGRES=1``)."""
    dsn = os.environ.get("LAWFUL_POSTGRES_DSN", "").strip()
    if not dsn:
        if os.environ.get("LAWFUL_REQUIRE_POSTGRES") == "1":
            pytest.fail(
                f"LAWFUL_REQUIRE_POSTGRES=1 but LAWFUL_POSTGRES_DSN is not set; {POSTGRES_HOWTO}"
            )
        pytest.skip(f"PostgreSQL tests need LAWFUL_POSTGRES_DSN; {POSTGRES_HOWTO}")
    return dsn


class PostgresBackend(Backend):
    """Ledgers in a schema of their own on the test server, dropped by ``cleanup``."""

    name = "postgres"
    persistent = True

    def __init__(
        self, _tmp_path: Path, *, shards: int | None = None, encrypt: bool | None = None
    ) -> None:
        super().__init__()
        self.shards = shards
        self.encrypt = encrypt
        self.dsn = require_postgres()
        self.schema = f"lawful_test_{uuid.uuid4().hex[:12]}"
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None

    def open(
        self, *, key: bytes = KEY, clock: Clock | None = None, keep_proof: bool = False
    ) -> LedgerCore:
        from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

        return PostgresLedger(
            self.dsn,
            key=key,
            schema=self.schema,
            clock=clock or self.clock,
            keep_proof=keep_proof,
            shards=self.shards,
            encrypt=self.encrypt,
        )

    def target(self) -> str:
        # Created here with its number of shards: other processes open it as it is.
        self.open().close()
        return f"postgres:{self.schema}:{self.dsn}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """One connection for the test's own statements, with the schema on its path."""
        import psycopg  # noqa: PLC0415 - optional extra
        from psycopg import sql  # noqa: PLC0415 - same

        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.dsn, autocommit=True)
            self._conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        return self._conn

    def sql(self, statement: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        # The shared tamper statements are written for SQLite: translate the two dialect bits.
        text = _ZEROBLOB.sub(r"decode(repeat('00', \1), 'hex')", statement.replace("?", "%s"))
        conn = self._admin()
        # The attacker owns the table: the append-only trigger is off for the tampering.
        with conn.transaction():
            conn.execute("ALTER TABLE ledger_records DISABLE TRIGGER USER")
            cursor = conn.execute(text.encode(), tuple(params))
            rows = [tuple(row) for row in cursor.fetchall()] if cursor.description else []
            conn.execute("ALTER TABLE ledger_records ENABLE TRIGGER USER")
        return rows

    def holds(self, needle: bytes) -> bool:
        """Whether any row of any table of the schema, read through SQL, holds ``needle``
        (as text, or inside a ``bytea``, which PostgreSQL writes in hex).
        """
        from psycopg import sql  # noqa: PLC0415 - optional extra

        conn = self._admin()
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (self.schema,)
        ).fetchall()
        assert tables, f"no tables in schema {self.schema}"
        for (table,) in tables:
            # Searched by the server: the rows' text, bytea columns written in hex.
            query = sql.SQL(
                "SELECT EXISTS (SELECT 1 FROM {} AS t"
                " WHERE strpos(t::text, %s) > 0 OR strpos(t::text, %s) > 0)"
            ).format(sql.Identifier(self.schema, str(table)))
            found = conn.execute(query, (needle.decode(), needle.hex())).fetchone()
            if found is not None and found[0]:
                return True
        return False

    def cleanup(self) -> None:
        from psycopg import sql  # noqa: PLC0415 - optional extra

        conn = self._admin()
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema))
        )
        conn.close()
