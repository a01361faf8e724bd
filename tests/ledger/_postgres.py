"""PostgreSQL fixtures: a server from ``LAWFUL_POSTGRES_DSN`` and a fresh schema per test.

Without ``LAWFUL_POSTGRES_DSN`` the PostgreSQL tests skip with a message saying how to get
a server (``eval "$(bash .ci/postgres.sh)"``); with ``LAWFUL_REQUIRE_POSTGRES=1`` (CI) they
fail instead, so that a CI run can never pass by skipping them. A DSN that is set but
unusable is a failure either way: whoever set it meant to run the tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

__all__ = ["POSTGRES_HOWTO", "postgres_dsn", "postgres_schema", "require_postgres"]

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


@pytest.fixture(scope="session")
def postgres_dsn() -> str:
    """The test server's DSN, checked once per session by logging in."""
    dsn = require_postgres()
    try:
        import psycopg  # noqa: PLC0415 - optional extra, imported only when a server is used
    except ImportError as error:  # pragma: no cover - the postgres extra is installed in CI
        pytest.fail(f"LAWFUL_POSTGRES_DSN is set but psycopg cannot be imported: {error}")
    try:
        with psycopg.connect(dsn, connect_timeout=10) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as error:
        pytest.fail(f"LAWFUL_POSTGRES_DSN is set but the server refused: {error}")
    return dsn


@pytest.fixture
def postgres_schema(postgres_dsn: str) -> Iterator[str]:
    """A schema name no other test uses; dropped with everything in it afterwards."""
    import psycopg  # noqa: PLC0415 - optional extra
    from psycopg import sql  # noqa: PLC0415 - same

    name = f"lawful_test_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
