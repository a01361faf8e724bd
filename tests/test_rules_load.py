"""Policies refused or admitted at load for the decision's sake, and the compiled purpose.

Tables for issue 15 items 7 and 11, and the regression test of issue 14 item 9.
"""

from __future__ import annotations

from datetime import date

import pytest
from tests._rules import T0, consent, decide, on, policy

import lawful
from lawful import (
    AgeRules,
    BirthDateDeclared,
    ConsentGiven,
    LegalBasis,
    PolicyError,
    Purpose,
    ReasonCode,
    Signals,
    SpecialCategoryCondition,
    Subject,
    TcfBinding,
)

pytestmark = pytest.mark.usefixtures("no_clock")

S = SpecialCategoryCondition

# Each row: the condition named, and whether the policy loads.
PAIRINGS = {
    "none": (None, False),
    "(a) explicit consent without consent": (S.EXPLICIT_CONSENT, False),
    "(f) legal claims": (S.LEGAL_CLAIMS, True),
    "(h) health care": (S.HEALTH_CARE, True),
    "(b) employment": (S.EMPLOYMENT, True),
}


@pytest.mark.parametrize(("condition", "loads"), PAIRINGS.values(), ids=list(PAIRINGS))
def test_legitimate_interests_with_special_categories_need_an_art_9_2_condition(
    condition: SpecialCategoryCondition | None, loads: bool
) -> None:
    """Art. 9(2)(b)-(j) pair with an Art. 6 basis (C-667/21); none, or (a) alone, does not."""
    purpose = on(
        LegalBasis.LEGITIMATE_INTERESTS, data=("health",), special_category_condition=condition
    )
    if not loads:
        with pytest.raises(PolicyError):
            policy(purpose)
        return
    assert decide(policy(purpose), (), T0).code is ReasonCode.LEGITIMATE_INTEREST


# Each row: the TCF purposes bound, and whether the policy loads.
TCF = {
    "without purpose 1": ((2, 7), False),
    "with purpose 1": ((1, 7), True),
}


@pytest.mark.parametrize(("tcf", "loads"), TCF.values(), ids=list(TCF))
def test_a_device_access_purpose_binds_tcf_purpose_1(tcf: tuple[int, ...], loads: bool) -> None:
    """ePrivacy Art. 5(3): TCF purpose 1 is consent to store or access information on a device."""
    signals = Signals(tcf=(TcfBinding("p", tcf),))
    if not loads:
        with pytest.raises(PolicyError) as raised:
            policy(consent(device_access=True), signals=signals)
        assert "signals.tcf[0].tcf_purposes" in {p.path for p in raised.value.problems}
        return
    policy(consent(device_access=True), signals=signals)


def test_point_9_a_purpose_that_no_policy_compiled_skips_no_rule() -> None:
    """Issue 14 item 9: a hand-built Purpose is refused; the policy's own is age-checked."""
    pol = policy(consent(), age=AgeRules(minimum_age=13, parental_consent_age=15))
    child = Subject(
        "s",
        [
            BirthDateDeclared(at=T0, birth_date=date(2015, 1, 1)),
            ConsentGiven(at=T0, purpose="p"),
        ],
    )
    compiled = pol.purpose("p")
    bare = consent()
    assert {f: getattr(bare, f) for f in ("id", "basis", "vendors", "data")} == {
        f: getattr(compiled, f) for f in ("id", "basis", "vendors", "data")
    }
    assert lawful.may_process(child, compiled, T0).code is ReasonCode.BELOW_MINIMUM_AGE
    with pytest.raises(lawful.UncompiledPurposeError) as raised:
        lawful.may_process(child, bare, T0)  # type: ignore[arg-type]
    assert isinstance(raised.value, TypeError)
    assert isinstance(raised.value, lawful.LawfulError)
    assert all(isinstance(p, lawful.CompiledPurpose) for p in pol.purposes)


def test_a_hand_built_purpose_with_a_borrowed_context_is_still_refused() -> None:
    """Only the policy makes a CompiledPurpose: a Purpose given a context by hand is refused."""
    pol = policy(consent())
    forged = Purpose(
        "p",
        "P",
        "The p purpose",
        LegalBasis.CONSENT,
        withdrawal="x",
        context=pol.purpose("p").context,
    )
    with pytest.raises(lawful.UncompiledPurposeError):
        lawful.may_process(Subject("s"), forged, T0)  # type: ignore[arg-type]


# -- a hand-built purpose ------------------------------------------------------------------


def test_a_hand_built_purpose_is_refused() -> None:
    """A Purpose no policy compiled is refused, never decided without the policy's rules."""
    bare = Purpose("a", "A", "s", LegalBasis.CONSENT, withdrawal="x")
    subject = Subject("s", [ConsentGiven(at=T0, purpose="a", policy_version="v2")])
    with pytest.raises(lawful.UncompiledPurposeError):
        lawful.may_process(subject, bare, T0)  # type: ignore[arg-type]
