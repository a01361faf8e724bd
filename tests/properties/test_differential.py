"""Differential testing: the fast engine against ``tests/reference.py``, a slow reading of DESIGN.

The reference scans every event for every question, with ``datetime`` arithmetic
and no index; it was written from DESIGN.md, not from ``lawful._engine``. Both
must give the same ``allowed`` and primary reason code on generated policies and
histories, on the bundled Piwik PRO policy, and on the edge cases pinned below.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from tests.properties._cases import Case, cases
from tests.reference import decide

from lawful import (
    AgeDeclared,
    AgeRules,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
    ContractStarted,
    DataCategory,
    Erasure,
    LegalBasis,
    Operation,
    OptOut,
    Policy,
    Purpose,
    ReasonCode,
    SpecialCategoryCondition,
    Subject,
    TransferMechanism,
    Vendor,
    bundled_policy,
)

PLUS_14 = timezone(timedelta(hours=14))


def _policy(
    *purposes: Purpose, age: AgeRules | None = None, vendors: tuple[Vendor, ...] = ()
) -> Policy:
    return Policy(
        id="edge",
        version="1",
        purposes=purposes,
        data_categories=[DataCategory("health", "Health", special=True)],
        vendors=vendors,
        age=age or AgeRules(),
    )


_HEALTH = Purpose(
    id="health_tips",
    title="Health tips",
    statement="We send tips about your condition.",
    basis=LegalBasis.CONSENT,
    data=("health",),
    withdrawal="Settings page",
    special_category_condition=SpecialCategoryCondition.EXPLICIT_CONSENT,
)
_SIGN_UP = datetime(2025, 3, 1, 9, tzinfo=UTC)
# Two grants at one instant, written in two zones: the non-explicit one must win.
TIED_GRANTS = Case(
    policy=_policy(_HEALTH),
    subject=Subject(
        "tied",
        [
            ConsentGiven(at=_SIGN_UP, purpose="health_tips", explicit=True),
            ConsentGiven(at=_SIGN_UP.astimezone(PLUS_14), purpose="health_tips", explicit=False),
        ],
    ),
    at=_SIGN_UP + timedelta(days=1),
    purpose="health_tips",
)
# "At least 18" said on 29 February: the person is 18 that day (born by 28 February).
LEAP_DAY_ADULT = Case(
    policy=_policy(
        Purpose(
            id="newsletter",
            title="Newsletter",
            statement="We send news.",
            basis=LegalBasis.LEGITIMATE_INTERESTS,
            legitimate_interest="Keeping customers informed",
        ),
        age=AgeRules(minimum_age=18, scope=AgeScope.ALL_PURPOSES),
    ),
    subject=Subject("leap", [AgeDeclared(at=datetime(2024, 2, 29, 12, tzinfo=UTC), at_least=18)]),
    at=datetime(2024, 2, 29, 13, tzinfo=UTC),
    purpose="newsletter",
)
# Two birth dates declared at one instant: the younger person is assumed.
TIED_BIRTH_DATES = Case(
    policy=LEAP_DAY_ADULT.policy,
    subject=Subject(
        "twins",
        [
            BirthDateDeclared(at=_SIGN_UP, birth_date=date(2000, 1, 1)),
            BirthDateDeclared(at=_SIGN_UP, birth_date=date(2010, 1, 1)),
        ],
    ),
    at=_SIGN_UP,
    purpose="newsletter",
)
# Fresh data at an erasure's own instant is covered by it; a consent given then is too.
ERASED_AT_ONCE = Case(
    policy=_policy(_HEALTH),
    subject=Subject(
        "erased",
        [Erasure(at=_SIGN_UP), ConsentGiven(at=_SIGN_UP, purpose="health_tips", explicit=True)],
    ),
    at=_SIGN_UP + timedelta(hours=1),
    purpose="health_tips",
)


_NEWS = Purpose(
    id="news",
    title="News",
    statement="We send news.",
    basis=LegalBasis.CONSENT,
    withdrawal="Settings page",
)
_ORDERS = Purpose(
    id="orders",
    title="Orders",
    statement="We deliver what you buy.",
    basis=LegalBasis.CONTRACT,
    opt_out_scopes=("all",),
)
_HOUR = timedelta(hours=1)
# The corrected rules, one small case each (what both implementations must answer).
NEW_RULES = {
    # A record never back-dates a permission: the consent counts from when it was recorded.
    "recorded late": (
        Case(
            policy=_policy(_NEWS),
            subject=Subject(
                "late",
                [ConsentGiven(at=_SIGN_UP, recorded_at=_SIGN_UP + _HOUR, purpose="news")],
            ),
            at=_SIGN_UP + _HOUR / 2,
            purpose="news",
        ),
        ReasonCode.NO_CONSENT,
    ),
    # Art. 4(11), recital 32: a pre-ticked box is no consent.
    "pre-ticked": (
        Case(
            policy=_policy(_NEWS),
            subject=Subject(
                "ticked",
                [ConsentGiven(at=_SIGN_UP, purpose="news", method=ConsentMethod.PRE_TICKED_BOX)],
            ),
            at=_SIGN_UP + _HOUR,
            purpose="news",
        ),
        ReasonCode.NO_CONSENT,
    ),
    # Art. 6(1)(a), 4(2): data collected before the consent had no basis when collected.
    "collected before consent": (
        Case(
            policy=_policy(_NEWS),
            subject=Subject("early", [ConsentGiven(at=_SIGN_UP, purpose="news")]),
            at=_SIGN_UP + _HOUR,
            purpose="news",
            collected_at=_SIGN_UP - _HOUR,
        ),
        ReasonCode.NO_CONSENT,
    ),
    # Art. 21: an opt-out of "all" does not reach a contract.
    "opt-out and contract": (
        Case(
            policy=_policy(_ORDERS),
            subject=Subject(
                "buyer",
                [ContractStarted(at=_SIGN_UP, contract="c-1"), OptOut(at=_SIGN_UP, scope="all")],
            ),
            at=_SIGN_UP + _HOUR,
            purpose="orders",
        ),
        ReasonCode.CONTRACT,
    ),
    # Art. 44, 46(1): a transfer with no stated safeguard cannot be shown lawful.
    "no safeguard": (
        Case(
            policy=_policy(
                attrs.evolve(_NEWS, vendors=("abroad",)),
                vendors=(
                    Vendor(
                        "abroad",
                        "Abroad Inc.",
                        outside_eea=True,
                        transfer=TransferMechanism.NOT_STATED,
                    ),
                ),
            ),
            subject=Subject("sent", [ConsentGiven(at=_SIGN_UP, purpose="news")]),
            at=_SIGN_UP + _HOUR,
            purpose="news",
            operation=Operation.DISCLOSE,
        ),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
    ),
}


@pytest.mark.parametrize("name", sorted(NEW_RULES))
def test_the_corrected_rules_decide_as_designed(name: str) -> None:
    """The corrected decision, by hand: a late record, a pre-ticked box, data collected
    before the consent, an opt-out of "all" against a contract, a transfer with no stated
    safeguard; the reference and the engine give the answer written here.
    """
    case, code = NEW_RULES[name]
    assert decide(
        case.policy,
        case.subject,
        case.purpose,
        case.at,
        collected_at=case.collected_at,
        operation=case.operation,
    ) == (code.allows, code)
    _agree(case)


def _agree(case: Case) -> None:
    engine = case.decide()
    allowed, code = decide(
        case.policy,
        case.subject,
        case.purpose,
        case.at,
        vendor=case.vendor,
        data=case.data,
        collected_at=case.collected_at,
        operation=case.operation,
    )
    assert engine.allowed == allowed, engine.explain()
    assert engine.code is code, engine.explain()


@example(TIED_GRANTS)
@example(LEAP_DAY_ADULT)
@example(TIED_BIRTH_DATES)
@example(ERASED_AT_ONCE)
@given(cases())
def test_the_engine_decides_as_the_reference(case: Case) -> None:
    """DESIGN, the decision: "The checks run in this order; the first that fails gives the
    primary reason" — the indexed engine and the linear reference agree on every case.
    """
    _agree(case)


@given(cases(policies=st.deferred(lambda: st.just(bundled_policy("piwik-pro")))))
def test_the_engine_decides_as_the_reference_on_the_bundled_policy(case: Case) -> None:
    """DESIGN: "The first real policy it must encode and enforce is the Piwik PRO privacy
    policy": on it, too, the engine and the reference agree.
    """
    _agree(case)


def test_the_pinned_edge_cases_decide_as_designed() -> None:
    """The edge cases above, by hand: ties at one instant take the more restrictive event
    (DESIGN conventions); a declared age holds on the day it is declared (Art. 8).
    """
    assert TIED_GRANTS.decide().code is ReasonCode.EXPLICIT_CONSENT_REQUIRED
    assert LEAP_DAY_ADULT.decide().code is ReasonCode.LEGITIMATE_INTEREST
    assert TIED_BIRTH_DATES.decide().code is ReasonCode.BELOW_MINIMUM_AGE
    assert ERASED_AT_ONCE.decide().code is ReasonCode.ERASED


def _tied_grants_written_in(zone: timezone) -> Case:
    """Two consents at one instant: one not explicit, one under an unknown version (stale)."""
    return Case(
        policy=_policy(_HEALTH),
        subject=Subject(
            "tied",
            [
                ConsentGiven(at=_SIGN_UP.astimezone(zone), purpose="health_tips", explicit=False),
                ConsentGiven(
                    at=_SIGN_UP, purpose="health_tips", explicit=True, policy_version="0.9"
                ),
            ],
        ),
        at=_SIGN_UP + timedelta(days=1),
        purpose="health_tips",
    )


def test_tied_grants_are_judged_the_same_in_any_zone() -> None:
    """DESIGN principle 1 ("Same inputs, same Decision") and check 9 ("not expired, not
    stale, and explicit", in that order): of two grants at one instant, one stale and one
    not explicit, staleness is the primary reason whichever zone the times are written in.
    """
    for zone in (UTC, PLUS_14):
        case = _tied_grants_written_in(zone)
        assert decide(case.policy, case.subject, case.purpose, case.at) == (
            False,
            ReasonCode.CONSENT_STALE,
        )
        assert case.decide().code is ReasonCode.CONSENT_STALE, zone
