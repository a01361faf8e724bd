"""Laws of :meth:`lawful.Policy.timeline`: the spans are exact, not a sample.

DESIGN, "The decision": a ``Decision``'s ``valid_until`` is "the next instant at which the
answer could change with no new event". A timeline is built from those instants and the
events; every instant of a span must decide (``may_process``, same arguments) as the span
says, the spans must cover ``[start, end)`` without gap or overlap, and neighbours must
differ (else they would be one span). Checked on generated policies (every rule kind) and
on the bundled Piwik PRO policy, at every instant where an answer can change, just before
it, and at drawn instants inside each span.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from tests.properties._cases import Case, cases, moments
from tests.properties.test_coverage import PINNED

import lawful
from lawful import Decision, QueryError, ReasonCode, Span

_US = timedelta(microseconds=1)


def _window(case: Case) -> tuple[datetime, datetime]:
    """From a day before the case's first moment (or the collection) to a year past its last."""
    shown = moments(case)
    start = shown[0] - timedelta(days=1)
    if case.collected_at is not None:
        start = case.collected_at.astimezone(case.at.tzinfo)
    return start, shown[-1] + timedelta(days=400)


def _spans(case: Case) -> tuple[Span, ...]:
    start, end = _window(case)
    return case.policy.timeline(
        case.subject,
        case.purpose,
        start,
        end,
        vendor=case.vendor,
        data=case.data,
        collected_at=case.collected_at,
        operation=case.operation,
    )


def _says(decision: Decision) -> tuple[object, ...]:
    return decision.allowed, decision.basis, decision.reasons


def _check(case: Case, spans: tuple[Span, ...], inside: list[float]) -> None:
    start, end = _window(case)
    assert spans, "a timeline covers its interval"
    assert spans[0].start == start
    assert spans[-1].end == end
    for one, other in pairwise(spans):
        assert one.end == other.start, "contiguous"
        assert _says(one.decision) != _says(other.decision), "neighbours differ"
    for span in spans:
        assert span.start < span.end
        assert span.decision.at == span.start
        probes = [span.start, span.end - _US]
        probes += [span.start + (span.end - span.start) * share for share in inside]
        probes += [m for m in moments(case) if span.start <= m < span.end]
        for probe in probes:
            decided = case.decide(at=probe)
            assert _says(decided) == _says(span.decision), (probe, span)


@given(cases(), st.lists(st.floats(0, 1, exclude_max=True), max_size=3))
@example(PINNED, [0.5])
def test_every_instant_of_a_span_decides_as_the_span_says(case: Case, inside: list[float]) -> None:
    """DESIGN "The decision" (``valid_until``): the answer changes only at an event or a
    deadline of the rules, so a span built from those decides alike at every instant.
    """
    _check(case, _spans(case), inside)


BUNDLED = st.just(lawful.bundled_policy("piwik-pro"))


@given(cases(policies=BUNDLED), st.lists(st.floats(0, 1), max_size=3))
def test_the_bundled_policy_timelines_are_exact(case: Case, inside: list[float]) -> None:
    """The same law on the policy a service runs."""
    _check(case, _spans(case), inside)


def test_timelines_reach_every_reason_code() -> None:
    """The laws above see every ``ReasonCode`` as some span's primary reason, and both
    outcomes: they check every rule's deadlines, not only the common ones.
    """
    codes: Counter[ReasonCode] = Counter()

    @settings(
        settings.get_profile("ci"),
        max_examples=450,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(cases())
    @example(PINNED)
    def run(case: Case) -> None:
        for purpose in [case.purpose, *case.policy.purpose_ids]:
            start, end = _window(case)
            fresh = case.policy.timeline(case.subject, purpose, start, end)
            codes.update(span.code for span in fresh)
        codes.update(span.code for span in _spans(case))

    run()
    missing = [code.value for code in ReasonCode if not codes[code]]
    assert not missing, f"never a span's primary reason: {missing}"


def test_a_timeline_refuses_what_no_processing_can_be() -> None:
    """Fail closed at the edge: an empty or reversed interval, a naive instant, and stored
    data asked about before its collection are errors that name the argument.
    """
    policy = lawful.bundled_policy("piwik-pro")
    subject = lawful.Subject("s")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with pytest.raises(QueryError, match="end"):
        policy.timeline(subject, "analytics", start, start)
    with pytest.raises(lawful.NaiveDatetimeError, match="start"):
        policy.timeline(subject, "analytics", start.replace(tzinfo=None), start)
    with pytest.raises(QueryError, match="collected_at"):
        policy.timeline(
            subject,
            "analytics",
            start,
            start + timedelta(days=1),
            collected_at=start + timedelta(hours=1),
        )
    (only,) = policy.timeline(subject, "nope", start, start + timedelta(days=1))
    assert only.code is ReasonCode.UNKNOWN_PURPOSE
