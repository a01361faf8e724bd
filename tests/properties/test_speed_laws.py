"""Laws of the fast paths: what is built once, kept or done once per call never changes
an answer.

DESIGN, principle 1: "Same inputs, same Decision." A subject indexed in one pass or
sorted first, grown by ``add`` or built at once, asked fresh or after it has kept
answers, and ``decide_all`` against each question alone must all give the same
decision. The cases come from :mod:`lawful.strategies` through ``_cases.cases()``, over
the bundled Piwik PRO policy (the policy a service runs), and for the purposes' plans over
generated policies too (every rule, every reason code).
"""

from __future__ import annotations

import random
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.properties._cases import Case, cases, moments

import lawful
from lawful import Subject
from lawful._engine import decide_span

# The policy a service runs: the bundled one, whose purposes cover every basis the
# visitor histories meet. (Generated policies: tests/properties/test_laws.py.)
POLICIES = st.just(lawful.bundled_policy("piwik-pro"))


def fresh(subject: Subject, order: list[int] | None = None) -> Subject:
    """A new subject from the same event objects (in ``order`` when given)."""
    events = list(subject.events)
    if order is not None:
        events = [events[i] for i in order]
    return Subject(subject.id, events, categories=subject.categories)


@given(cases(policies=POLICIES), st.randoms(use_true_random=False))
def test_a_fresh_subject_and_a_kept_one_decide_alike(case: Case, rng: random.Random) -> None:
    """DESIGN principle 1 ("same inputs, same Decision") and "Conventions at the edges":
    events are applied in time order, whatever order they were given in. A subject that
    has already answered (and kept answers, here at an earlier instant and at this one)
    decides as one built for this question alone, from the events in any order.
    """
    kept = case.subject
    earlier = case.at - timedelta(days=1)
    if case.collected_at is not None:
        earlier = max(earlier, case.collected_at)  # stored data is asked after collection
    case.decide(kept, earlier)  # keeps an answer that may run on to case.at
    first = case.decide(kept)
    again = case.decide(kept)  # from what the subject kept, where it kept it
    order = list(range(len(kept.events)))
    rng.shuffle(order)
    assert case.decide(fresh(kept)) == first
    assert case.decide(fresh(kept, order)) == first
    assert again == first


@given(cases(policies=POLICIES))
def test_a_subject_grown_by_add_decides_as_one_built_at_once(case: Case) -> None:
    """DESIGN principle 7: "appending one event need not rebuild" the index, and must not
    change it: a subject grown event by event, having answered on the way, decides as one
    built from all its events at once.
    """
    grown = Subject(case.subject.id, categories=case.subject.categories)
    for event in case.subject.events:
        case.decide(grown)  # what the smaller subject keeps must not leak into the larger
        grown = grown.add(event)
    assert case.decide(grown) == case.decide(fresh(case.subject))


@given(cases(policies=POLICIES))
def test_decide_all_answers_as_each_purpose_asked_alone(case: Case) -> None:
    """DESIGN, "The decision": ``decide_all(subject, at)`` gives ``{purpose id:
    Decision}`` for every purpose; done once per call or not, each answer is the one
    ``may_process`` gives for that purpose with the same arguments, on a fresh subject
    and on one that has kept answers.
    """
    policy = case.policy
    collected_at = case.collected_at
    operation = case.operation
    for subject in (fresh(case.subject), case.subject):
        case.decide(subject)  # kept answers of one purpose, for the kept subject
        every = policy.decide_all(subject, case.at, collected_at=collected_at, operation=operation)
        alone = fresh(case.subject)
        assert list(every) == [p.id for p in policy.purposes]
        for pid, decision in every.items():
            assert decision == policy.may_process(
                alone, pid, case.at, collected_at=collected_at, operation=operation
            )


@given(cases())
def test_each_purposes_plan_decides_as_every_rule_evaluated(case: Case) -> None:
    """DESIGN principle 1 and "The decision": the checks run in order and the first that
    fails decides. A purpose's plan, compiled when the policy loads, leaves out the checks
    its terms keep from ever denying it and prepares its fixed reasons; for every purpose
    of generated policies, at every instant where an answer can change (the moments the
    coverage counters reach every reason code with), on fresh and on stored data, it
    gives the decision, reasons included, and the instant it holds until, that evaluating
    every rule as written gives.
    """
    subject = fresh(case.subject)
    for shown in moments(case):
        collected = case.collected_at
        if collected is not None and collected > shown:
            collected = None  # not yet collected then: ask about fresh data
        for purpose in case.policy.purposes:
            for vendor, data in ((None, ()), (case.vendor, case.data)):
                asked = (subject, purpose, shown, vendor, data, collected, case.operation)
                assert decide_span(*asked) == decide_span(*asked, plain=True)
