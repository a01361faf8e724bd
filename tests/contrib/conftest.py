"""Fixtures for the web integrations (the helpers live in ``_fixtures.py``)."""

from tests.contrib._fixtures import clock, ledger, policy

__all__ = ["clock", "ledger", "policy"]
