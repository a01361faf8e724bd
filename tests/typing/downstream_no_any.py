# mypy: disallow-any-expr
"""A downstream-style module: no expression in it may have type ``Any``.

``disallow-any-expr`` (set above for this file only) makes mypy reject any
expression whose type is ``Any``: if lawful's public API leaked ``Any`` (an
unannotated return, a ``dict[str, Any]``), using it here would fail the
``typing`` session. The module is only type-checked, never imported.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis.strategies import SearchStrategy

import lawful
from lawful import strategies as ls


def fire_analytics_tag(policy: lawful.Policy, visitor: lawful.Subject, now: datetime) -> bool:
    """What a host does: ask, log the explanation, act on the answer."""
    decision = policy.may_process(visitor, "analytics", now, vendor="piwik-pro")
    explanation: str = decision.explain()
    payload: dict[str, object] = decision.to_dict()
    reasons = [(r.code.value, r.article, r.event, r.clause) for r in decision.reasons]
    return bool(explanation) and bool(payload) and bool(reasons) and decision.allowed


def banner(policy: lawful.Policy, visitor: lawful.Subject, now: datetime) -> list[str]:
    """The purposes a consent banner must still ask for."""
    decisions = policy.decide_all(visitor, now)
    return [pid for pid, d in decisions.items() if d.code is lawful.ReasonCode.NO_CONSENT]


def history(lines: list[str]) -> dict[str, lawful.Subject]:
    """Subjects from JSON Lines, as a batch job would build them."""
    events: dict[str, list[lawful.Event]] = {}
    for owner, event in lawful.read_events(lines):
        events.setdefault(owner, []).append(event)
    return {owner: lawful.Subject(owner, items) for owner, items in events.items()}


def strategies_for_my_tests() -> tuple[SearchStrategy[lawful.Subject], SearchStrategy[datetime]]:
    """Strategies a downstream suite composes (without ``@given``, itself typed with Any)."""
    policy = lawful.bundled_policy("piwik-pro")
    visitors = ls.subjects(policy=policy)
    moments = ls.instants(policy=policy, around=[datetime(2025, 1, 1, tzinfo=UTC)])
    return visitors, moments


def erase(subject: lawful.Subject, at: datetime) -> lawful.Subject:
    """Record an erasure (Art. 17)."""
    return subject.add(lawful.Erasure(at=at))
