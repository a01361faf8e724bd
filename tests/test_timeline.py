"""``Policy.timeline`` and the pieces it steps by (``lawful._engine.decide_span``): a piece
ends where an event the purpose's rules read takes effect, and only there or at a deadline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import lawful
from lawful import (
    AfterCollection,
    AfterLastInteraction,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    DataCategory,
    Duration,
    Interaction,
    LegalBasis,
    Policy,
    Purpose,
    ReasonCode,
    Retention,
    RetentionCombine,
    Vendor,
)
from lawful._engine import decide_span
from lawful._time import to_us
from lawful.decision import Operation

POLICY = lawful.bundled_policy("piwik-pro")
# Kept 24 months after the last reply, else 6 months after collection (as HubSpot is).
REPLIES = Policy(
    id="crm",
    version="1",
    data_categories=(DataCategory("email", "Email"),),
    vendors=(Vendor("self", "Us"),),
    purposes=(
        Purpose(
            "mailing",
            "Mailing",
            "Write to people who asked",
            LegalBasis.LEGITIMATE_INTERESTS,
            legitimate_interest="answering the people who write to us",
            assessment="LIA-mailing",
            data=("email",),
            vendors=("self",),
            retention=Retention(
                (
                    AfterLastInteraction(Duration.parse("24 months"), ("reply",)),
                    AfterCollection(Duration.parse("6 months")),
                ),
                RetentionCombine.FIRST,
            ),
        ),
    ),
)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _day(n: int) -> datetime:
    return T0 + timedelta(days=n)


def test_a_piece_runs_past_what_the_purpose_never_reads() -> None:
    """Fresh data: a page view and another purpose's consent end no piece of analytics."""
    subject = lawful.Subject(
        "v",
        [
            ConsentGiven(at=_day(1), purpose="analytics", method=ConsentMethod.BANNER),
            Interaction(at=_day(2), kind="page_view"),
            ConsentGiven(at=_day(3), purpose="webinars", method=ConsentMethod.BANNER),
            ConsentWithdrawn(at=_day(4), purpose="analytics"),
        ],
    )
    purpose = POLICY.purpose("analytics")
    _, end = decide_span(subject, purpose, _day(1), None, (), None, Operation.USE)
    assert end == to_us(_day(4), "day 4")
    spans = POLICY.timeline(subject, "analytics", _day(0), _day(10))
    assert [(s.start, s.allowed) for s in spans] == [
        (_day(0), False),
        (_day(1), True),
        (_day(4), False),
    ]


def test_an_interaction_ends_a_piece_where_retention_counts_from_it() -> None:
    """Art. 5(1)(e): stored data past its limit is lawful again once a reply after its
    collection restarts the count from the last interaction; the piece ends at the reply.
    """
    collected = _day(1)
    reply = _day(250)  # past six months after collection, when the data was due
    subject = lawful.Subject(
        "v", [Interaction(at=_day(100), kind="page_view"), Interaction(at=reply, kind="reply")]
    )
    purpose = REPLIES.purpose("mailing")
    decision, end = decide_span(subject, purpose, _day(200), None, (), collected, Operation.USE)
    assert decision.code is ReasonCode.RETENTION_EXCEEDED
    assert end == to_us(reply, "reply")
    spans = REPLIES.timeline(subject, "mailing", collected, _day(300), collected_at=collected)
    assert [(s.start, s.allowed) for s in spans][-2:] == [
        (spans[-2].start, False),
        (reply, True),
    ]
    for span in spans:
        for probe in (span.start, span.end - timedelta(microseconds=1)):
            decided = REPLIES.may_process(subject, "mailing", probe, collected_at=collected)
            assert decided.allowed == span.allowed
