"""Objections and opt-outs (Art. 21, 7(3), 12(3), 18(1)(d)): what they reach, and how long.

Tables for issue 15 items 8, 10 and 13.

The tests after the tables ask the site policy (``tests/_site.py``): direct marketing
(Art. 21(2)-(3)), overrides (Art. 21(1)), storage pending verification (Art. 18(1)(d)),
objections as withdrawals, and opt-outs by scope (Art. 21(5)).
"""

from __future__ import annotations

from datetime import datetime

import pytest
from tests._rules import DAY, T0, US, consent, decide, on, policy, utc
from tests._site import code as site_code
from tests._site import decide as site_decide

from lawful import (
    ConsentGiven,
    ConsentMethod,
    ContractStarted,
    DataCategory,
    Event,
    LegalBasis,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    Operation,
    OptOut,
    OptOutScope,
    OptOutWithdrawn,
    Policy,
    Purpose,
    ReasonCode,
    Subject,
    Vendor,
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


# -- objection -----------------------------------------------------------------------------


def test_no_override_nor_storage_survives_an_objection_to_direct_marketing() -> None:
    """Art. 21(3): no override, and not even storage, survives an objection to direct marketing."""
    events = [
        Objection(at=T0, purpose="newsletter"),
        ObjectionOverridden(at=T0 + US, purpose="newsletter", grounds="we like sending mail"),
    ]
    for operation in Operation:
        decision = site_decide(events, "newsletter", T0 + US, operation=operation)
        assert decision.code is ReasonCode.OBJECTED
        assert decision.reason.article == "Art. 21(3)"
        assert decision.reason.event == events[0]


def test_an_objection_to_direct_marketing_stops_it_on_any_basis() -> None:
    """Art. 21(2)-(3): direct marketing stops on objection, whatever basis the policy declared."""
    mailing = Purpose(
        "mailing",
        "Mailing",
        "Offers to our contract clients",
        LegalBasis.CONTRACT,
        data=("email",),
        vendors=("self",),
        direct_marketing=True,
    )
    policy = Policy(
        id="p",
        version="1",
        data_categories=(DataCategory("email", "Email"),),
        vendors=(Vendor("self", "Us"),),
        purposes=(mailing,),
    )
    events: list[Event] = [ContractStarted(at=T0, contract="c"), Objection(at=T0 + US)]
    assert policy.may_process(Subject("s", events[:1]), "mailing", T0 + US).allowed
    decision = policy.may_process(Subject("s", events), "mailing", T0 + US)
    assert decision.code is ReasonCode.OBJECTED
    assert decision.reason.article == "Art. 21(3)"


def test_an_override_counts_only_where_the_policy_admits_it() -> None:
    """Art. 21(1): an override after the objection allows only on a purpose that admits one."""
    for pid, allowed in (("fraud", True), ("profiling", False), ("census", True)):
        events = [
            Objection(at=T0, purpose=pid),
            ObjectionOverridden(at=T0 + US, purpose=pid, grounds="legal claim"),
        ]
        decision = site_decide(events, pid, T0 + US)
        assert decision.allowed is allowed, pid
        if allowed:
            assert decision.code is ReasonCode.COMPELLING_GROUNDS
            assert decision.reason.event == events[1]
        else:
            assert decision.code is ReasonCode.OBJECTED
            assert "does not admit" in decision.reason.message


def test_an_override_before_the_objection_does_not_count() -> None:
    """An override answers an objection already made, not a later one."""
    events = [
        ObjectionOverridden(at=T0, purpose="fraud", grounds="g"),
        Objection(at=T0 + US, purpose="fraud"),
    ]
    assert site_code(events, "fraud", T0 + US) is ReasonCode.OBJECTED


def test_an_objection_withdrawn_lifts_it() -> None:
    """Withdrawing the objection restores the legitimate interest."""
    events = [Objection(at=T0, purpose="fraud"), ObjectionWithdrawn(at=T0 + US, purpose="fraud")]
    assert site_code(events, "fraud", T0) is ReasonCode.OBJECTED
    assert site_decide(events, "fraud", T0 + US).allowed


def test_an_objection_keeps_storage_pending_verification() -> None:
    """Art. 18(1)(d): where an override is admissible, storage alone continues meanwhile."""
    events = [Objection(at=T0, purpose="fraud")]
    stored = site_decide(events, "fraud", T0, operation=Operation.STORE)
    assert stored.allowed
    assert stored.reasons[-1].code is ReasonCode.OBJECTED
    assert stored.reasons[-1].event == events[0]
    # Where the policy admits no override there is nothing to verify: storage stops too.
    none = [Objection(at=T0, purpose="profiling")]
    assert site_code(none, "profiling", T0, operation=Operation.STORE) is ReasonCode.OBJECTED


def test_an_objection_to_every_purpose() -> None:
    """An objection without a purpose reaches every purpose on Art. 6(1)(e) or (f), and consent."""
    events = [ConsentGiven(at=T0, purpose="analytics"), Objection(at=T0 + US)]
    at = T0 + US
    assert site_code(events, "fraud", at) is ReasonCode.OBJECTED
    assert site_code(events, "census", at) is ReasonCode.OBJECTED
    assert site_code(events, "analytics", at) is ReasonCode.CONSENT_WITHDRAWN
    assert site_decide(events, "invoices", at).allowed  # Art. 21 does not reach Art. 6(1)(c)
    assert site_decide([*events, ContractStarted(at=T0, contract="c")], "orders", at).allowed


def test_an_objection_to_a_consent_purpose_is_a_withdrawal() -> None:
    """An objection to a consent purpose withdraws the consent; withdrawing it revives nothing."""
    grant = ConsentGiven(at=T0, purpose="analytics")
    objection = Objection(at=T0 + US, purpose="analytics")
    events = [grant, objection]
    decision = site_decide(events, "analytics", T0 + US)
    assert decision.code is ReasonCode.CONSENT_WITHDRAWN
    assert decision.reason.event == objection
    assert "objection" in decision.reason.message
    unobjected = [*events, ObjectionWithdrawn(at=T0 + 2 * US, purpose="analytics")]
    assert site_code(unobjected, "analytics", T0 + 2 * US) is ReasonCode.CONSENT_WITHDRAWN
    regrant = ConsentGiven(at=T0 + 3 * US, purpose="analytics")
    assert site_decide([*unobjected, regrant], "analytics", T0 + 3 * US).allowed


# -- opt-out -------------------------------------------------------------------------------


def test_an_opt_out_stops_the_purposes_of_its_scope_until_withdrawn() -> None:
    """Art. 21(5): an opt-out stops the purposes that list its scope, until it is withdrawn."""
    out = OptOut(at=T0, scope="tracking")
    back = OptOutWithdrawn(at=T0 + US, scope="tracking")
    assert site_code([out], "fraud", T0) is ReasonCode.OPTED_OUT
    assert site_code([out], "analytics", T0) is ReasonCode.OPTED_OUT
    assert site_decide([out], "profiling", T0).allowed  # lists no scope
    assert site_decide([out, back], "fraud", T0 + US).allowed
    assert site_decide([OptOut(at=T0, scope="sale")], "fraud", T0).allowed


@pytest.mark.parametrize("scope", ["everything", "all"])
def test_an_undeclared_or_all_scope_stops_every_purpose(scope: str) -> None:
    """An opt-out whose scope the policy does not declare, or "all", stops every purpose."""
    out = OptOut(at=T0, scope=scope)
    for pid in ("fraud", "profiling", "analytics", "census"):
        decision = site_decide([out], pid, T0)
        assert decision.code is ReasonCode.OPTED_OUT, pid
        assert decision.reason.event == out
    assert site_decide(
        [out, OptOutWithdrawn(at=T0 + US, scope=scope)], "profiling", T0 + US
    ).allowed
