"""Policies that ship inside the package."""

from __future__ import annotations

from functools import cache
from importlib import resources

from lawful._convert import loads_policy
from lawful.policy import Policy

__all__ = ["bundled_policy", "bundled_policy_names"]


def bundled_policy_names() -> tuple[str, ...]:
    """The names :func:`bundled_policy` accepts."""
    folder = resources.files("lawful") / "policies"
    return tuple(
        sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))
    )


@cache
def bundled_policy(name: str) -> Policy:
    """A policy shipped with lawful, such as ``"piwik-pro"`` (loaded once, then cached).

    Raises:
        KeyError: No bundled policy has that name; the message lists those that do.
    """
    if name not in bundled_policy_names():
        raise KeyError(f"no bundled policy {name!r}; bundled: {', '.join(bundled_policy_names())}")
    text = (resources.files("lawful") / "policies" / f"{name}.toml").read_text(encoding="utf-8")
    return loads_policy(text, format="toml", source=f"bundled:{name}")
