"""Third-country transfers (Chapter V, Art. 44-49): decided for every vendor involved.

Tables for issue 15 item 3: a vendor outside the EEA needs a stated safeguard; a
derogation names its ground, checked like a basis; impossible declarations are refused
when the policy is loaded.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from tests._rules import DAY, T0, decide, on, policy

from lawful import (
    ConsentMethod,
    ContractEnded,
    ContractStarted,
    Erasure,
    Event,
    LegalBasis,
    Policy,
    PolicyError,
    ReasonCode,
    TransferConsentGiven,
    TransferConsentWithdrawn,
    TransferDerogation,
    TransferMechanism,
    Vendor,
)

pytestmark = pytest.mark.usefixtures("no_clock")

AT = T0 + 10 * DAY
LI = LegalBasis.LEGITIMATE_INTERESTS


def abroad(
    mechanism: TransferMechanism, ground: TransferDerogation | None = None, vid: str = "us"
) -> Vendor:
    """A vendor hosting outside the EEA with the given safeguard."""
    return Vendor(
        vid,
        "US Co",
        hosting="United States",
        outside_eea=True,
        transfer=mechanism,
        derogation=ground,
    )


def with_vendor(vendor: Vendor, *, recurring: bool = True) -> Policy:
    """A legitimate-interest purpose ``p`` on the first party and ``vendor``."""
    return policy(on(LI, vendors=("self", vendor.id), recurring=recurring), vendors=(vendor,))


D = TransferMechanism.DEROGATION
CONSENT_GROUND = abroad(D, TransferDerogation.EXPLICIT_CONSENT)
GIVEN = TransferConsentGiven(at=T0, vendor="us", purpose="p")

# (vendor, history, expected code, article of the reason)
TABLE: dict[str, tuple[Vendor, tuple[Event, ...], ReasonCode, str]] = {
    "adequacy decision": (
        abroad(TransferMechanism.ADEQUACY),
        (),
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
    "standard contractual clauses": (
        abroad(TransferMechanism.STANDARD_CONTRACTUAL_CLAUSES),
        (),
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
    "binding corporate rules": (
        abroad(TransferMechanism.BINDING_CORPORATE_RULES),
        (),
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
    "no safeguard stated": (
        abroad(TransferMechanism.NOT_STATED),
        (),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 44, 46(1)",
    ),
    "explicit consent: none on record": (
        CONSENT_GROUND,
        (),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(a)",
    ),
    "explicit consent for the purpose": (
        CONSENT_GROUND,
        (GIVEN,),
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
    "explicit consent for every purpose": (
        CONSENT_GROUND,
        (TransferConsentGiven(at=T0, vendor="us"),),
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
    "explicit consent for another purpose": (
        CONSENT_GROUND,
        (TransferConsentGiven(at=T0, vendor="us", purpose="other"),),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(a)",
    ),
    "explicit consent for another vendor": (
        CONSENT_GROUND,
        (TransferConsentGiven(at=T0, vendor="self", purpose="p"),),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(a)",
    ),
    "explicit consent withdrawn": (
        CONSENT_GROUND,
        (GIVEN, TransferConsentWithdrawn(at=T0 + DAY, vendor="us")),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(a)",
    ),
    "given and withdrawn at one instant: withdrawn wins": (
        CONSENT_GROUND,
        (GIVEN, TransferConsentWithdrawn(at=T0, vendor="us", purpose="p")),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(a)",
    ),
    "withdrawn, then given again": (
        CONSENT_GROUND,
        (TransferConsentWithdrawn(at=T0 - DAY, vendor="us"), GIVEN),
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
    "a pre-ticked transfer consent": (
        CONSENT_GROUND,
        (
            TransferConsentGiven(
                at=T0, vendor="us", purpose="p", method=ConsentMethod.PRE_TICKED_BOX
            ),
        ),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(a)",
    ),
    "recorded after the query": (
        CONSENT_GROUND,
        (TransferConsentGiven(at=T0, vendor="us", purpose="p", recorded_at=AT + DAY),),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(a)",
    ),
    "contract ground: no contract": (
        abroad(D, TransferDerogation.CONTRACT),
        (),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(b)",
    ),
    "contract ground: a contract in force": (
        abroad(D, TransferDerogation.CONTRACT),
        (ContractStarted(at=T0, contract="c-1"),),
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
    "contract in the person's interest: ended": (
        abroad(D, TransferDerogation.CONTRACT_IN_INTEREST),
        (ContractStarted(at=T0, contract="c-1"), ContractEnded(at=T0 + DAY, contract="c-1")),
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        "Art. 49(1)(c)",
    ),
    "legal claims, as declared": (
        abroad(D, TransferDerogation.LEGAL_CLAIMS),
        (),
        ReasonCode.LEGITIMATE_INTEREST,
        "Art. 6(1)(f)",
    ),
}


@pytest.mark.parametrize(
    ("vendor", "history", "expected", "article"), TABLE.values(), ids=list(TABLE)
)
def test_a_transfer_outside_the_eea_needs_a_safeguard_that_holds(
    vendor: Vendor, history: tuple[Event, ...], expected: ReasonCode, article: str
) -> None:
    """Art. 44-49: each vendor abroad needs a stated safeguard, or its derogation's ground."""
    decision = decide(with_vendor(vendor), history, AT)
    assert (decision.code, decision.reason.article) == (expected, article)
    if expected is ReasonCode.TRANSFER_SAFEGUARD_MISSING:
        assert decision.reason.clause is not None
        assert decision.reason.clause.startswith("vendors.us.")


def test_only_the_vendor_named_is_involved() -> None:
    """Art. 44: naming a vendor in the EEA involves no transfer by another vendor."""
    pol = with_vendor(abroad(TransferMechanism.NOT_STATED))
    assert decide(pol, (), AT, vendor="self").allowed
    assert decide(pol, (), AT, vendor="us").code is ReasonCode.TRANSFER_SAFEGUARD_MISSING


def test_transfers_are_checked_before_erasure() -> None:
    """Step 3 comes before step 4: the transfer's denial is the primary reason."""
    pol = with_vendor(abroad(TransferMechanism.NOT_STATED))
    decision = decide(pol, (Erasure(at=T0),), AT, collected_at=T0)
    assert decision.code is ReasonCode.TRANSFER_SAFEGUARD_MISSING


def test_a_one_off_transfer_may_rest_on_compelling_legitimate_interests() -> None:
    """Art. 49(1), second subparagraph: a transfer that is not repetitive, as declared."""
    pol = with_vendor(
        abroad(D, TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS), recurring=False
    )
    assert decide(pol, (), AT).allowed


# (vendor, recurring, path of the problem)
REFUSED: dict[str, tuple[Vendor, bool, str]] = {
    "a derogation without its ground": (abroad(D), True, "vendors.us.derogation"),
    "compelling legitimate interests for a recurring purpose": (
        abroad(D, TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS),
        True,
        "purposes.p.vendors[1]",
    ),
    "outside the EEA with no transfer at all": (
        abroad(TransferMechanism.NOT_APPLICABLE),
        True,
        "vendors.us.transfer",
    ),
}


@pytest.mark.parametrize(("vendor", "recurring", "path"), REFUSED.values(), ids=list(REFUSED))
def test_impossible_transfers_are_refused_at_load(
    vendor: Vendor, recurring: bool, path: str
) -> None:
    """Art. 49(1): a derogation must name a ground that can hold for the purpose."""
    with pytest.raises(PolicyError) as raised:
        with_vendor(vendor, recurring=recurring)
    assert path in {problem.path for problem in raised.value.problems}


def test_a_transfer_consent_for_every_purpose_reaches_every_purpose() -> None:
    """Art. 49(1)(a): consent to the vendor's transfer for every purpose covers this one."""
    pol = with_vendor(CONSENT_GROUND)
    history: tuple[object, ...] = (
        TransferConsentGiven(at=T0, vendor="us"),
        TransferConsentWithdrawn(at=T0 + DAY, vendor="us", purpose="p"),
    )
    at: datetime = AT
    assert decide(pol, history, at).code is ReasonCode.TRANSFER_SAFEGUARD_MISSING
