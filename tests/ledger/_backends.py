"""Ledger backends for the ledger tests: one entry per ledger in ``BACKENDS``.

A backend opens ledgers of one kind on fresh storage for a test. Backends on SQL
stores also offer ``sql()`` to tamper with rows behind the ledger's back; the
tamper tests run on those (``SQL_BACKENDS``). Statements use ``?`` placeholders
and the tables ``ledger_records`` and ``ledger_meta``; a store with another
placeholder style converts them in its ``sql()``.

To add a ledger (PostgreSQL, ...): write a ``Backend`` subclass and add one
``pytest.param`` to ``BACKENDS`` (and to ``SQL_BACKENDS`` if it has ``sql()``);
``conftest.py`` turns both lists into the ``backend`` and ``sql_backend`` fixtures.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import lawful
from lawful.ledger import MemoryLedger, SQLiteLedger
from lawful.ledger._core import Clock, LedgerCore

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)

POLICY = lawful.loads_policy(
    """
version = "1.0"
id = "ledger-tests"
policy_version = "2025-01"
title = "A small policy for the ledger tests"

[data_categories.ip_address]
title = "IP address"
[vendors.self]
name = "Us"
role = "first_party"
hosting = "Germany"

[purposes.analytics]
title = "Analytics"
statement = "Count visits"
basis = "consent"
data = ["ip_address"]
vendors = ["self"]
withdrawal = "Privacy settings"
retention = { rules = [{ kind = "after_collection", period = "2 years" }] }

[purposes.fraud]
title = "Fraud prevention"
statement = "Stop fraudulent orders"
basis = "legitimate_interests"
legitimate_interest = "protecting the shop against fraud"
assessment = "LIA-1"
data = ["ip_address"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "90 days" }] }
"""
)
"""The ledger tests' own policy, so that they do not move with the bundled one."""


class TickingClock:
    """A clock for ledgers that advances one second per reading, from ``start``."""

    def __init__(self, start: datetime = datetime(2025, 6, 1, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


class Backend:
    """How the tests open one kind of ledger on storage of their own.

    Ledgers opened without a clock share ``self.clock``, a :class:`TickingClock`.
    """

    name = "backend"
    persistent = False
    """Whether a second ``open`` sees what the first one wrote."""

    def __init__(self) -> None:
        self.clock = TickingClock()

    def open(
        self, *, key: bytes = KEY, clock: Clock | None = None, keep_proof: bool = False
    ) -> LedgerCore:
        """A ledger on this backend's storage."""
        raise NotImplementedError

    def sql(self, statement: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """Run a statement directly on the store (tampering); returns the rows."""
        raise NotImplementedError

    def target(self) -> str:
        """Where a writer in another process opens the same ledger (``_child.open_ledger``)."""
        raise NotImplementedError

    def holds(self, needle: bytes) -> bool:
        """Whether the store still holds ``needle`` anywhere (erasure checks)."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Release what ``open`` created."""


class MemoryBackend(Backend):
    name = "memory"

    def open(
        self, *, key: bytes = KEY, clock: Clock | None = None, keep_proof: bool = False
    ) -> LedgerCore:
        return MemoryLedger(key=key, clock=clock or self.clock, keep_proof=keep_proof)


class SQLiteBackend(Backend):
    name = "sqlite"
    persistent = True

    def __init__(self, tmp_path: Path) -> None:
        super().__init__()
        self.path = tmp_path / "ledger.db"

    def open(
        self, *, key: bytes = KEY, clock: Clock | None = None, keep_proof: bool = False
    ) -> LedgerCore:
        return SQLiteLedger(self.path, key=key, clock=clock or self.clock, keep_proof=keep_proof)

    def sql(self, statement: str, params: Sequence[object] = ()) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            return [tuple(row) for row in conn.execute(statement, tuple(params))]
        finally:
            conn.close()

    def target(self) -> str:
        return str(self.path)

    def holds(self, needle: bytes) -> bool:
        """Whether the file's bytes, WAL and shared memory included, hold ``needle``."""
        path = self.path
        parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        return any(needle in p.read_bytes() for p in parts if p.exists())


Factory = Callable[[Path], Backend]


def postgres_backend(tmp_path: Path) -> Backend:
    """A sharded ledger (4 shards) in a schema of its own on the server of
    ``LAWFUL_POSTGRES_DSN``, or a skip (see ``_postgres.py``: under
    ``LAWFUL_REQUIRE_POSTGRES=1`` a failure instead).
    """
    from tests.ledger._postgres import PostgresBackend  # noqa: PLC0415 - needs psycopg

    return PostgresBackend(tmp_path, shards=4)


def postgres_chain_backend(tmp_path: Path) -> Backend:
    """As :func:`postgres_backend`, with one shard and events in clear: the single chain
    whose positions and payloads the tamper tables name (shards and encrypted ledgers have
    their own tamper tests, ``test_postgres_shards.py`` and ``test_postgres_encryption.py``).
    """
    from tests.ledger._postgres import PostgresBackend  # noqa: PLC0415 - needs psycopg

    return PostgresBackend(tmp_path, shards=1, encrypt=False)


BACKENDS = [
    pytest.param(lambda _: MemoryBackend(), id="memory"),
    pytest.param(SQLiteBackend, id="sqlite"),
    pytest.param(postgres_backend, id="postgres", marks=pytest.mark.postgres),
]
"""Every ledger: the contract suite runs on each."""

SQL_BACKENDS = [
    pytest.param(SQLiteBackend, id="sqlite"),
    pytest.param(postgres_chain_backend, id="postgres", marks=pytest.mark.postgres),
]
"""Ledgers whose rows the tamper tests can edit with SQL."""

WRITER_BACKENDS = [
    pytest.param(SQLiteBackend, id="sqlite"),
    pytest.param(postgres_backend, id="postgres", marks=pytest.mark.postgres),
]
"""Ledgers that processes write at once (SQLite, and PostgreSQL in shards)."""
