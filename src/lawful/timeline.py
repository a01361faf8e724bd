"""A subject's decisions over an interval: :class:`Span` values, exact, not sampled.

A decision is piecewise constant in time: it changes only when one of the subject's events
that the purpose's rules read takes effect (not a page view, unless a retention limit counts
from interactions; not another purpose's consent), or at a deadline of the rules themselves
(a consent's lifetime, a retention limit, a birthday). :func:`timeline` walks those
instants, asking the engine once per piece, and joins neighbours that decide alike, so that
every instant of a span decides as its span says.

>>> from datetime import datetime, UTC
>>> import lawful
>>> policy = lawful.bundled_policy("piwik-pro")
>>> visitor = lawful.Subject("v-1", [
...     lawful.ConsentGiven(at=datetime(2025, 3, 1, tzinfo=UTC), purpose="analytics"),
...     lawful.ConsentWithdrawn(at=datetime(2025, 3, 9, tzinfo=UTC), purpose="analytics"),
... ])
>>> spans = policy.timeline(visitor, "analytics",
...     datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
>>> for span in spans:
...     print(span.start.date(), span.end.date(), span.allowed, span.code.value)
2025-02-01 2025-03-01 False no_consent
2025-03-01 2025-03-09 True consent_given
2025-03-09 2025-04-01 False consent_withdrawn
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import attrs

from lawful._engine import NEVER, decide_span, unknown_purpose
from lawful._time import from_us, to_us
from lawful.decision import Decision, Operation, ReasonCode
from lawful.exceptions import QueryError
from lawful.model import CompiledPurpose
from lawful.subject import Subject

__all__ = ["Span", "timeline"]


@attrs.frozen
class Span:
    """One piece of a timeline: from ``start`` (included) to ``end`` (excluded), every
    instant decides as ``decision`` does: the same ``allowed``, ``basis`` and reasons.

    Attributes:
        start: The first instant of the span, in the zone the timeline was asked in.
        end: The first instant after the span, in the same zone.
        decision: The decision at ``start``. Its ``valid_until`` may fall inside the span
            when the answer found at that deadline is the same one again.
    """

    start: datetime
    end: datetime
    decision: Decision

    @property
    def allowed(self) -> bool:
        """The span's answer."""
        return self.decision.allowed

    @property
    def code(self) -> ReasonCode:
        """The primary reason's code."""
        return self.decision.code


def timeline(
    subject: Subject,
    purpose: CompiledPurpose | None,
    purpose_id: str,
    start: datetime,
    end: datetime,
    *,
    vendor: str | None = None,
    data: Iterable[str] = (),
    collected_at: datetime | None = None,
    operation: Operation = Operation.USE,
) -> tuple[Span, ...]:
    """The spans covering ``[start, end)`` for one purpose (``None``: not in the policy).

    Raises:
        NaiveDatetimeError: ``start``, ``end`` or ``collected_at`` has no time zone.
        QueryError: ``end`` is not after ``start``, or ``collected_at`` is after ``start``.
    """
    start_us = to_us(start, "start")
    end_us = to_us(end, "end")
    if end_us <= start_us:
        raise QueryError("end: a timeline needs an end after its start")
    if collected_at is not None and to_us(collected_at, "collected_at") > start_us:
        raise QueryError(
            "collected_at: data cannot be processed before it was collected; "
            "start the timeline at or after collected_at"
        )
    tz = start.tzinfo
    stop = end.astimezone(tz)
    if purpose is None:
        return (Span(start, stop, unknown_purpose(purpose_id, start, collected_at=collected_at)),)
    data = tuple(data)
    spans: list[Span] = []
    at, at_us = start, start_us
    while at_us < end_us:
        decision, until_us = decide_span(
            subject, purpose, at, vendor, data, collected_at, operation
        )
        next_us = min(until_us, end_us, NEVER)
        following = stop if next_us == end_us else from_us(next_us, tz)
        last = spans[-1] if spans else None
        if last is not None and _alike(last.decision, decision):
            spans[-1] = Span(last.start, following, last.decision)
        else:
            spans.append(Span(at, following, decision))
        at, at_us = following, next_us
    return tuple(spans)


def _alike(one: Decision, other: Decision) -> bool:
    """Whether two decisions say the same: outcome, basis and reasons."""
    return (
        one.allowed == other.allowed and one.basis == other.basis and one.reasons == other.reasons
    )
