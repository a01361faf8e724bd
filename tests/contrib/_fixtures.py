"""Fixtures for the web integrations: the bundled policy, a ledger and a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

import lawful
from lawful.ledger import MemoryLedger

START = datetime(2025, 6, 1, 12, tzinfo=UTC)


@attrs.define
class Clock:
    """A clock that stands still until the test moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float = 1) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def policy() -> lawful.Policy:
    return lawful.bundled_policy("piwik-pro")


@pytest.fixture
def ledger(clock: Clock) -> MemoryLedger:
    return MemoryLedger(clock=clock)
