"""Fixtures of the ledger tests: every backend of ``_backends.BACKENDS`` in turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.ledger._backends import BACKENDS, SQL_BACKENDS, WRITER_BACKENDS, Backend, Factory


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each ledger backend in turn, on fresh storage."""
    factory: Factory = request.param
    made = factory(tmp_path)
    yield made
    made.cleanup()


@pytest.fixture(params=SQL_BACKENDS)
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each SQL-backed ledger backend in turn, on fresh storage."""
    factory: Factory = request.param
    made = factory(tmp_path)
    yield made
    made.cleanup()


@pytest.fixture(params=WRITER_BACKENDS)
def writer_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each ledger that processes write at once, on fresh storage (PostgreSQL in shards)."""
    factory: Factory = request.param
    made = factory(tmp_path)
    yield made
    made.cleanup()
