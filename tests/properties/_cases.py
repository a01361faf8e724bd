"""What the laws are checked on: a policy, a subject fitting it, and one question to decide.

A :class:`Case` is drawn with :mod:`lawful.strategies` (dogfooding them): the
subject's history fits the policy, the instant and the collection time sit on
the policy's limits, and now and then the question names an undeclared purpose,
vendor or data category, or asks about stored data or another operation.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
from hypothesis import strategies as st

from lawful import (
    AfterCollection,
    AfterLastInteraction,
    Decision,
    Duration,
    Operation,
    Policy,
    SessionEnd,
    Subject,
)
from lawful import strategies as ls

__all__ = ["UNDECLARED", "Case", "cases", "in_effect", "moments", "timeline"]

UNDECLARED = "undeclared"
"""The id a question uses for a purpose, vendor or data category nobody declared."""


@attrs.frozen
class Case:
    """One question for a policy about a subject."""

    policy: Policy
    subject: Subject
    at: datetime
    purpose: str
    vendor: str | None = None
    data: tuple[str, ...] = ()
    collected_at: datetime | None = None
    operation: Operation = Operation.USE

    def decide(self, subject: Subject | None = None, at: datetime | None = None) -> Decision:
        """The decision, optionally for another subject or instant (everything else equal)."""
        return self.policy.may_process(
            self.subject if subject is None else subject,
            self.purpose,
            self.at if at is None else at,
            vendor=self.vendor,
            data=self.data,
            collected_at=self.collected_at,
            operation=self.operation,
        )


def in_effect(subject: Subject, at: datetime) -> Subject:
    """``subject`` with only the events in effect at ``at`` (DESIGN: at or before it)."""
    return Subject(
        subject.id, [e for e in subject.events if e.at <= at], categories=subject.categories
    )


def _durations(policy: Policy) -> set[Duration]:
    found: set[Duration] = set()
    for purpose in policy.purposes:
        if purpose.consent_lifetime is not None:
            found.add(purpose.consent_lifetime)
        for rule in purpose.retention.rules:
            if isinstance(rule, AfterCollection | AfterLastInteraction):
                found.add(rule.period)
            elif isinstance(rule, SessionEnd):
                found.add(rule.inactivity)
    return found


def moments(case: Case) -> list[datetime]:
    """The instants of ``timeline``, in time order, shown in the zone of ``case.at``: the
    case's own, each event's (and when a grant recorded later takes effect), and where
    each of the policy's durations after one of them (or after the collection) ends.
    """
    starts = [e.at for e in case.subject.events]
    starts += [e.recorded_at for e in case.subject.events if e.recorded_at is not None]
    if case.collected_at is not None:
        starts.append(case.collected_at)
    ends = [d.after(s.astimezone(UTC)) for s in starts for d in _durations(case.policy)]
    zone = case.at.tzinfo
    return [moment.astimezone(zone) for moment in sorted({case.at, *starts, *ends})]


def timeline(case: Case) -> list[Decision]:
    """Every purpose decided, with the case's question, along the subject's timeline: at
    ``case.at``, at each event, and where each of the policy's durations after an event (or
    after the collection) ends — where answers change (DESIGN: a limit reached has passed).
    """
    out: list[Decision] = []
    for shown in moments(case):
        collected = case.collected_at
        if collected is not None and collected > shown:
            collected = None  # not yet collected then: ask about fresh data
        out.append(attrs.evolve(case, at=shown, collected_at=collected).decide())
        out.extend(
            case.policy.decide_all(
                case.subject, shown, collected_at=collected, operation=case.operation
            ).values()
        )
    return out


@st.composite
def _question(draw: st.DrawFn, policy: Policy, subject: Subject) -> Case:
    ids = policy.purpose_ids
    purpose_id = draw(st.sampled_from([*ids, *ids, *ids, UNDECLARED]))
    declared = policy.purpose(purpose_id) if purpose_id in ids else None
    vendors: list[str | None] = [None, None, None, UNDECLARED]
    data: list[tuple[str, ...]] = [(), (), (), (UNDECLARED,)]
    if declared is not None:
        vendors += declared.vendors
        vendors += [v.id for v in policy.vendors if v.id not in declared.vendors][:1]
        data += [(d,) for d in declared.data]
        data += [declared.data]
    collected = draw(st.none() | ls.instants(policy=policy, around=subject.events))
    around = [*subject.events, *([] if collected is None else [collected])]
    at = draw(ls.instants(policy=policy, around=around))
    if collected is not None and collected > at:
        collected, at = at, collected
    return Case(
        policy=policy,
        subject=subject,
        at=at,
        purpose=purpose_id,
        vendor=draw(st.sampled_from(vendors)),
        data=draw(st.sampled_from(data)),
        collected_at=collected,
        operation=draw(st.sampled_from([Operation.USE, Operation.STORE, *Operation])),
    )


def cases(
    *, policies: st.SearchStrategy[Policy] | None = None, max_events: int = 10
) -> st.SearchStrategy[Case]:
    """Cases over ``policies`` (default :func:`lawful.strategies.policies` without free text).

    The history's length is drawn first: hypothesis fills the tail of a long example
    with its simplest choices more often, which would leave a third of the histories empty.
    """
    chosen = ls.policies(text=st.just("")) if policies is None else policies

    def subject(size: int, policy: Policy) -> st.SearchStrategy[Case]:
        history = ls.event_histories(policy=policy, min_size=size, max_size=size)
        return ls.subjects(policy=policy, histories=history).flatmap(
            lambda drawn: _question(policy, drawn)
        )

    return st.tuples(st.sampled_from(range(max_events + 1)), chosen).flatmap(
        lambda pair: subject(*pair)
    )
