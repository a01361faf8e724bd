"""Small policies and helpers for the rule tables (``tests/test_rules_*.py``).

Each table builds the smallest policy its rule needs, so a row reads as the scenario it
pins: the events, the question, and the answer the GDPR gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from lawful import (
    AfterCollection,
    DataCategory,
    Decision,
    Duration,
    Event,
    LegalBasis,
    Policy,
    Purpose,
    Retention,
    Subject,
    Vendor,
    VendorRole,
)
from lawful.events import EVENT_TYPES

US = timedelta(microseconds=1)
DAY = timedelta(days=1)


def utc(*parts: int) -> datetime:
    """An aware UTC instant."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


T0 = utc(2025, 3, 1, 9)

SELF = Vendor("self", "Site", VendorRole.FIRST_PARTY)
CATEGORIES = (
    DataCategory("ip", "IP address"),
    DataCategory("email", "Email address"),
    DataCategory("health", "Allergies", special=True),
)


def consent(pid: str = "p", **kw: Any) -> Purpose:
    """A consent purpose (Art. 6(1)(a)) kept a year, on the first party unless told."""
    kw.setdefault("vendors", ("self",))
    kw.setdefault("data", ("ip",))
    kw.setdefault("retention", Retention((AfterCollection(Duration.parse("1 year")),)))
    return Purpose(
        pid, pid.title(), f"The {pid} purpose", LegalBasis.CONSENT, withdrawal="Settings", **kw
    )


def on(basis: LegalBasis, pid: str = "p", **kw: Any) -> Purpose:
    """A purpose on ``basis`` kept a year, on the first party unless told."""
    kw.setdefault("vendors", ("self",))
    kw.setdefault("data", ("ip",))
    kw.setdefault("retention", Retention((AfterCollection(Duration.parse("1 year")),)))
    if basis is LegalBasis.LEGITIMATE_INTERESTS:
        kw.setdefault("legitimate_interest", f"the {pid} interest")
        kw.setdefault("assessment", f"LIA-{pid}")
    if basis is LegalBasis.CONSENT:
        kw.setdefault("withdrawal", "Settings")
    return Purpose(pid, pid.title(), f"The {pid} purpose", basis, **kw)


def policy(*purposes: Purpose, vendors: Iterable[Vendor] = (), **kw: Any) -> Policy:
    """A policy of ``purposes`` (the first party and ``vendors`` declared)."""
    return Policy(
        id="rules",
        version="v1",
        purposes=purposes,
        vendors=(SELF, *vendors),
        data_categories=CATEGORIES,
        **kw,
    )


def events(items: Iterable[object]) -> list[Event]:
    """The items as events (mixed list literals infer their common private base)."""
    out: list[Event] = []
    for item in items:
        assert isinstance(item, EVENT_TYPES)
        out.append(item)
    return out


def decide(
    pol: Policy, history: Iterable[object], at: datetime, pid: str = "p", **query: Any
) -> Decision:
    """The policy's decision for a subject with ``history``."""
    return pol.may_process(Subject("s", events(history)), pid, at, **query)
