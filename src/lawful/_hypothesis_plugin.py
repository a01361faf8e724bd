"""Registers lawful's strategies with hypothesis (the ``hypothesis`` entry point)."""

from __future__ import annotations

__all__: list[str] = []


def _hypothesis_setup_hook() -> None:
    """Register lawful's types for ``st.from_type`` (placeholder while strategies land)."""
