"""The engine (lawful._engine): a plan per purpose, run on a subject, and its quick path.

On the shop policy (tests/_shop.py): decide_all and the module-level may_process agree
with Policy.may_process; a few rules seen through the whole engine; an unknown purpose
checks its arguments first; and the quick path of each plan decides as every rule
evaluated would (docs/performance.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from tests._shop import AT, POLICY, POLICY_AGE_DENY, T0, T1

import lawful
from lawful import (
    AgeDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    ContractStarted,
    Event,
    Interaction,
    ReasonCode,
    Subject,
    UnknownSubjectCategory,
)
from lawful._engine import unknown_purpose

pytestmark = pytest.mark.usefixtures("no_clock")


# -- the policy and its questions ----------------------------------------------------------


def test_policy_is_valid() -> None:
    """The table's policy loads without errors, and its variant keeps the purposes."""
    assert POLICY.purpose_ids == POLICY_AGE_DENY.purpose_ids
    assert POLICY_AGE_DENY.purpose("analytics").context is not None


def test_decide_all_covers_every_purpose() -> None:
    """decide_all answers every purpose in policy order, the same as one at a time."""
    subject = Subject(
        "s-1",
        [ConsentGiven(at=T0, purpose="analytics"), ContractStarted(at=T0, contract="o-1")],
    )
    every = POLICY.decide_all(subject, AT)
    assert tuple(every) == POLICY.purpose_ids
    for pid, decision in every.items():
        assert decision == POLICY.may_process(subject, pid, AT)
    assert every["analytics"].allowed
    assert every["orders"].allowed
    assert not every["ads"].allowed


def test_module_level_may_process_takes_a_compiled_purpose() -> None:
    """lawful.may_process with a Purpose from the policy equals Policy.may_process."""
    subject = Subject("s-1", [ConsentGiven(at=T0, purpose="analytics")])
    direct = lawful.may_process(subject, POLICY.purpose("analytics"), AT)
    assert direct == POLICY.may_process(subject, "analytics", AT)


def test_unknown_purpose_checks_its_arguments_too() -> None:
    """Arguments are checked first: an unknown purpose too refuses a naive or late collected_at."""
    assert unknown_purpose("nope", AT, collected_at=T0).code is ReasonCode.UNKNOWN_PURPOSE
    with pytest.raises(lawful.NaiveDatetimeError, match=r"^collected_at: "):
        unknown_purpose("nope", AT, collected_at=datetime(2025, 1, 1))
    with pytest.raises(lawful.QueryError, match=r"^collected_at: "):
        unknown_purpose("nope", T0, collected_at=AT)


# -- rules through the whole engine --------------------------------------------------------


def test_interaction_events_do_not_grant_anything() -> None:
    """An interaction is not consent: a consent purpose stays denied."""
    subject = Subject("s-1", [Interaction(at=T0, kind="page_view", purpose="analytics")])
    assert POLICY.may_process(subject, "analytics", AT).code is ReasonCode.NO_CONSENT


def test_age_declared_counts_like_a_birth_date() -> None:
    """ "At least 18" declared is an adult; "at least 14" still needs parental consent."""
    grant = ConsentGiven(at=T0, purpose="analytics")
    adult = Subject("s-1", [AgeDeclared(at=T0, at_least=18), grant])
    child = Subject("s-2", [AgeDeclared(at=T0, at_least=14), grant])
    assert POLICY.may_process(adult, "analytics", AT).allowed
    assert POLICY.may_process(child, "analytics", AT).code is ReasonCode.PARENTAL_CONSENT_REQUIRED


def test_unknown_subject_category_policy_switch() -> None:
    """Unknown subject categories are allowed by default, denied where the policy says so."""
    subject = Subject("s-1")
    assert POLICY.may_process(subject, "recruitment", AT).allowed
    strict = attrs.evolve(POLICY, unknown_subject_category=UnknownSubjectCategory.DENY)
    decision = strict.may_process(subject, "recruitment", AT)
    assert decision.code is ReasonCode.SUBJECT_NOT_COVERED
    assert decision.reason.clause == "unknown_subject_category"


# -- the quick path (lawful._engine.run._quick) --------------------------------------------

_LONG_AGO = datetime(2023, 1, 1, tzinfo=UTC)


# Quiet histories (consents and page views only): what the quick path of a plan decides
# (lawful._engine.run._quick), each outcome of the consent rule among them.
QUIET: dict[str, tuple[Event, ...]] = {
    "nothing": (),
    "page views": (Interaction(at=T0, kind="page_view"),),
    "given": (ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),),
    "given, then withdrawn": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),
        ConsentWithdrawn(at=T1, purpose="analytics"),
    ),
    "withdrawn for one vendor": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),
        ConsentWithdrawn(at=T1, purpose="analytics", vendor="cdn"),
    ),
    "given under the previous terms": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2024-01"),
    ),
    "given under an unknown version": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="1999"),
    ),
    "given unversioned": (ConsentGiven(at=T0, purpose="analytics"),),
    "given long ago": (ConsentGiven(at=_LONG_AGO, purpose="analytics", policy_version="2025-06"),),
    "two grants at one instant": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06"),
        ConsentGiven(at=T0, purpose="analytics", policy_version="2024-01"),
    ),
    "two device grants at one instant": (
        ConsentGiven(at=T0, purpose="security_cookie", policy_version="2025-06"),
        ConsentGiven(at=T0, purpose="security_cookie"),
    ),
    "a pre-ticked box": (
        ConsentGiven(
            at=T0,
            purpose="analytics",
            policy_version="2025-06",
            method=lawful.ConsentMethod.PRE_TICKED_BOX,
        ),
    ),
    "recorded late": (
        ConsentGiven(at=T0, purpose="analytics", policy_version="2025-06", recorded_at=T1),
    ),
    "health, not explicit": (
        ConsentGiven(at=T0, purpose="health_survey", policy_version="2025-06"),
    ),
    "health, explicit": (
        ConsentGiven(at=T0, purpose="health_survey", policy_version="2025-06", explicit=True),
    ),
    "device consent": (
        ConsentGiven(at=T0, purpose="security_cookie", policy_version="2025-06"),
        Interaction(at=T1, kind="page_view"),
    ),
    "device consent withdrawn": (
        ConsentGiven(at=T0, purpose="security_cookie", policy_version="2025-06"),
        ConsentWithdrawn(at=T1, purpose="security_cookie"),
    ),
}


@pytest.mark.parametrize("history", list(QUIET))
@pytest.mark.parametrize("categories", [None, frozenset({"visitor"}), frozenset({"client"})])
def test_the_quick_path_decides_as_every_rule_evaluated(
    history: str, categories: frozenset[str] | None
) -> None:
    """The quick path of each purpose's plan (a quiet subject, fresh data, the purpose's
    vendors and data) gives, for every purpose, before, between and after the events, the
    decision (reasons and their messages included) and the instant it holds until that
    evaluating every rule as written gives; and it answers every case it was made for.
    """
    from lawful._engine import decide_span  # noqa: PLC0415 - only these tests need them
    from lawful._engine.run import _quick  # noqa: PLC0415
    from lawful._time import to_us  # noqa: PLC0415

    unknown_denied = attrs.evolve(POLICY, unknown_subject_category=UnknownSubjectCategory.DENY)
    answered = 0  # the questions the quick path answered: none would make this test vacuous
    for policy in (POLICY, POLICY_AGE_DENY, unknown_denied):
        subject = Subject("s-1", QUIET[history], categories=categories)
        index = subject._index
        for at in (_LONG_AGO, T0, T1, AT, datetime(2026, 6, 1, tzinfo=UTC)):
            for purpose in policy.purposes:
                asked = (subject, purpose, at, None, (), None, lawful.Operation.USE)
                assert decide_span(*asked) == decide_span(*asked, plain=True)
                plan = purpose.plan
                assert plan is not None
                if plan.quick and not index.late and index.quiet():
                    made = _quick(plan, index, categories, at, to_us(at, "at"))
                    # Grants at one instant, which the full consent rule judges together.
                    twins = history.startswith("two") and purpose.id in {
                        getattr(event, "purpose", None) for event in QUIET[history]
                    }
                    assert made is not None or (twins and at >= T0)
                    answered += made is not None
    # A grant recorded late is no shape the quick path takes: the full plan decides it.
    assert answered or (history == "recorded late" and Subject("s", QUIET[history])._index.late)
