"""Objections and opt-outs (Art. 21, 7(3), 12(3), 18(1)(d)): what they reach, and how long.

Tables for issue 15 items 8, 10 and 13.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from tests._rules import DAY, T0, US, consent, decide, on, policy, utc

from lawful import (
    ConsentGiven,
    ConsentMethod,
    ContractStarted,
    Event,
    LegalBasis,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    Operation,
    OptOut,
    OptOutScope,
    OptOutWithdrawn,
    ReasonCode,
)

pytestmark = pytest.mark.usefixtures("no_clock")

AT = T0 + 10 * DAY
B = LegalBasis
SCOPES = {"sale": OptOutScope("Do not sell")}
GRANT = ConsentGiven(at=T0 - DAY, purpose="p")
CONTRACT = ContractStarted(at=T0 - DAY, contract="c-1")

# (purpose, opt-out scope, expected code, expected article of the primary reason)
OPT_OUTS = {
    "all: contract stays": (on(B.CONTRACT), "all", ReasonCode.CONTRACT, "Art. 6(1)(b)"),
    "all: legal obligation stays": (
        on(B.LEGAL_OBLIGATION),
        "all",
        ReasonCode.LEGAL_OBLIGATION,
        "Art. 6(1)(c)",
    ),
    "all: vital interests stay": (
        on(B.VITAL_INTERESTS),
        "all",
        ReasonCode.VITAL_INTERESTS,
        "Art. 6(1)(d)",
    ),
    "undeclared: contract stays": (
        on(B.CONTRACT),
        "everything",
        ReasonCode.CONTRACT,
        "Art. 6(1)(b)",
    ),
    "all: legitimate interests stop": (
        on(B.LEGITIMATE_INTERESTS),
        "all",
        ReasonCode.OPTED_OUT,
        "Art. 21(5)",
    ),
    "all: public task stops": (on(B.PUBLIC_TASK), "all", ReasonCode.OPTED_OUT, "Art. 21(5)"),
    "all: consent withdrawn": (consent(), "all", ReasonCode.OPTED_OUT, "Art. 7(3)"),
    "all: direct marketing on contract stops": (
        on(B.CONTRACT, direct_marketing=True),
        "all",
        ReasonCode.OPTED_OUT,
        "Art. 21(3), 21(5)",
    ),
    "a declared scope the contract purpose lists": (
        on(B.CONTRACT, opt_out_scopes=("sale",)),
        "sale",
        ReasonCode.OPTED_OUT,
        "policy clause opt_out_scopes",
    ),
    "a declared scope the purpose does not list": (
        on(B.LEGITIMATE_INTERESTS),
        "sale",
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
}


@pytest.mark.parametrize(
    ("purpose", "scope", "expected", "article"), OPT_OUTS.values(), ids=list(OPT_OUTS)
)
def test_an_opt_out_reaches_what_art_21_reaches(
    purpose: object, scope: str, expected: ReasonCode, article: str
) -> None:
    """Art. 21(1), (5): never a purpose on contract, legal obligation or vital interests."""
    pol = policy(purpose, opt_out_scopes=SCOPES)  # type: ignore[arg-type]
    decision = decide(pol, (GRANT, CONTRACT, OptOut(at=T0, scope=scope)), AT)
    assert (decision.code, decision.reason.article) == (expected, article)


CONSENT_POLICY = policy(consent(), opt_out_scopes=SCOPES)

# (history, expected code) on a consent purpose that is not direct marketing
AS_WITHDRAWAL: dict[str, tuple[tuple[Event, ...], ReasonCode]] = {
    "opt-out after the consent": ((GRANT, OptOut(at=T0, scope="all")), ReasonCode.OPTED_OUT),
    "a later specific consent counts": (
        (GRANT, OptOut(at=T0, scope="all"), ConsentGiven(at=T0 + DAY, purpose="p")),
        ReasonCode.CONSENT_GIVEN,
    ),
    # No longer opted out, but the consent it withdrew stays withdrawn (no consent by
    # inaction, recital 32): the basis says so.
    "the opt-out withdrawn gives no consent back": (
        (GRANT, OptOut(at=T0, scope="all"), OptOutWithdrawn(at=T0 + DAY, scope="all")),
        ReasonCode.CONSENT_WITHDRAWN,
    ),
    "a pre-ticked consent after it counts for nothing": (
        (
            GRANT,
            OptOut(at=T0, scope="all"),
            ConsentGiven(at=T0 + DAY, purpose="p", method=ConsentMethod.PRE_TICKED_BOX),
        ),
        ReasonCode.OPTED_OUT,
    ),
    "an objection counts as a withdrawal": (
        (GRANT, Objection(at=T0, purpose="p")),
        ReasonCode.CONSENT_WITHDRAWN,
    ),
    "an objection withdrawn gives no consent back": (
        (GRANT, Objection(at=T0, purpose="p"), ObjectionWithdrawn(at=T0 + DAY, purpose="p")),
        ReasonCode.CONSENT_WITHDRAWN,
    ),
}


@pytest.mark.parametrize(("history", "expected"), AS_WITHDRAWAL.values(), ids=list(AS_WITHDRAWAL))
def test_on_a_consent_purpose_an_opt_out_or_objection_is_a_withdrawal(
    history: tuple[Event, ...], expected: ReasonCode
) -> None:
    """Art. 7(3): the person's latest choice counts; only a new consent gives one back."""
    decision = decide(CONSENT_POLICY, history, AT)
    assert decision.code is expected
    if expected is ReasonCode.OPTED_OUT:
        assert decision.reason.article == "Art. 7(3)"


MARKETING = policy(consent(direct_marketing=True), opt_out_scopes=SCOPES)

# (history, expected code) on direct marketing based on consent
DIRECT_MARKETING: dict[str, tuple[tuple[Event, ...], ReasonCode]] = {
    "objected": ((GRANT, Objection(at=T0, purpose="p")), ReasonCode.OBJECTED),
    "objected to every purpose": ((GRANT, Objection(at=T0)), ReasonCode.OBJECTED),
    "objection withdrawn: the consent counts again": (
        (GRANT, Objection(at=T0, purpose="p"), ObjectionWithdrawn(at=T0 + DAY, purpose="p")),
        ReasonCode.CONSENT_GIVEN,
    ),
    "a later affirmative consent": (
        (GRANT, Objection(at=T0, purpose="p"), ConsentGiven(at=T0 + DAY, purpose="p")),
        ReasonCode.CONSENT_GIVEN,
    ),
    "a later consent by silence": (
        (
            GRANT,
            Objection(at=T0, purpose="p"),
            ConsentGiven(at=T0 + DAY, purpose="p", method=ConsentMethod.SILENCE),
        ),
        ReasonCode.OBJECTED,
    ),
    "an opt-out is an objection": ((GRANT, OptOut(at=T0, scope="all")), ReasonCode.OPTED_OUT),
    "an opt-out withdrawn: the consent counts again": (
        (GRANT, OptOut(at=T0, scope="all"), OptOutWithdrawn(at=T0 + DAY, scope="all")),
        ReasonCode.CONSENT_GIVEN,
    ),
}


@pytest.mark.parametrize(
    ("history", "expected"), DIRECT_MARKETING.values(), ids=list(DIRECT_MARKETING)
)
def test_an_objection_to_direct_marketing_is_absolute(
    history: tuple[Event, ...], expected: ReasonCode
) -> None:
    """Art. 21(3): OBJECTED, not a withdrawal, until withdrawn or a later affirmative consent."""
    decision = decide(MARKETING, history, AT)
    assert decision.code is expected
    if expected is ReasonCode.OBJECTED:
        assert decision.reason.article == "Art. 21(3)"


ADMITS = policy(on(B.LEGITIMATE_INTERESTS, override_admissible=True))
ADMITS_NONE = policy(on(B.LEGITIMATE_INTERESTS))
OBJECTION = Objection(at=utc(2025, 1, 31, 12), purpose="p")
MONTH_LATER = utc(2025, 2, 28, 12)  # one calendar month, clamped


@pytest.mark.parametrize(
    ("pol", "at", "allowed", "valid_until"),
    [
        (ADMITS, OBJECTION.at, True, MONTH_LATER),
        (ADMITS, MONTH_LATER - US, True, MONTH_LATER),
        (ADMITS, MONTH_LATER, False, None),
        (ADMITS_NONE, OBJECTION.at, False, None),
    ],
    ids=["at the objection", "just inside the month", "a month later", "no override admitted"],
)
def test_storage_pending_an_objection_waits_a_month_at_most(
    pol: object, at: datetime, allowed: bool, valid_until: datetime | None
) -> None:
    """Art. 18(1)(d), 12(3): storage waits for the controller's decision one month at most."""
    decision = decide(pol, (OBJECTION,), at, operation=Operation.STORE)  # type: ignore[arg-type]
    assert (decision.allowed, decision.valid_until) == (allowed, valid_until)
    assert decision.reasons[-1].code is ReasonCode.OBJECTED


AGAIN = Objection(at=utc(2025, 2, 20, 12))  # no withdrawal since OBJECTION


@pytest.mark.parametrize(
    ("history", "allowed", "valid_until"),
    [
        ((AGAIN, OBJECTION), False, None),
        ((AGAIN, Objection(at=OBJECTION.at)), False, None),
        ((AGAIN, ObjectionWithdrawn(at=OBJECTION.at + DAY), OBJECTION), True, utc(2025, 3, 20, 12)),
    ],
    ids=["objected again to every purpose", "first to every purpose", "withdrawn in between"],
)
def test_objecting_again_does_not_restart_the_month(
    history: tuple[Objection | ObjectionWithdrawn, ...],
    allowed: bool,
    valid_until: datetime | None,
) -> None:
    """Art. 12(3): the month runs from the first objection still standing, not the last."""
    decision = decide(ADMITS, history, MONTH_LATER, operation=Operation.STORE)
    assert (decision.allowed, decision.valid_until) == (allowed, valid_until)
    assert decision.reasons[-1].code is ReasonCode.OBJECTED
    assert decision.reasons[-1].article == (
        "Art. 18(1)(d), 12(3)" if allowed else "Art. 21(1), 12(3)"
    )


def test_an_override_ends_the_wait() -> None:
    """Art. 21(1): the controller's override with its grounds lets processing go on."""
    history = (OBJECTION, ObjectionOverridden(at=MONTH_LATER + DAY, purpose="p", grounds="fraud"))
    decision = decide(ADMITS, history, MONTH_LATER + 2 * DAY)
    assert decision.code is ReasonCode.COMPELLING_GROUNDS
