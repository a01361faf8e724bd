"""The decision: the checks of ``docs/explanation/decision.md`` in order, no I/O, no clock.

Each rule is a function of one query (:mod:`lawful._engine.query`) that returns a denial,
or ``None`` to go on; the first denial is the decision's primary reason. Files by idea:
:mod:`~lawful._engine.run` (the entry points and the check order), then one module per
family of rules: :mod:`~lawful._engine.scope` (scope and Chapter V transfers),
:mod:`~lawful._engine.erasure` (erasure and restriction), :mod:`~lawful._engine.age`,
:mod:`~lawful._engine.objection` (opt-out and objection), :mod:`~lawful._engine.retention`,
:mod:`~lawful._engine.consent` and :mod:`~lawful._engine.basis` (the other bases and device
access), with :mod:`~lawful._engine.lines` for the consent timelines several of them read.
"""

from __future__ import annotations

from lawful._engine.consent import compare_terms
from lawful._engine.query import NEVER
from lawful._engine.run import (
    PER_PURPOSE,
    counts_interactions,
    decide,
    decide_all,
    decide_collected,
    decide_span,
    may_process,
    unknown_purpose,
)
from lawful.exceptions import QueryError

__all__ = [
    "NEVER",
    "PER_PURPOSE",
    "QueryError",
    "compare_terms",
    "counts_interactions",
    "decide",
    "decide_all",
    "decide_collected",
    "decide_span",
    "may_process",
    "unknown_purpose",
]
