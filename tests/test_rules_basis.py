"""The bases (Art. 6(1)) and device access (ePrivacy Art. 5(3)) on the site policy.

A contract is in force by its id (Art. 6(1)(b)); reading the device needs consent
unless strictly necessary. The site policy is ``tests/_site.py``.
"""

from __future__ import annotations

import pytest
from tests._rules import T0, US
from tests._site import code, decide

from lawful import (
    ConsentGiven,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    ReasonCode,
)

pytestmark = pytest.mark.usefixtures("no_clock")


# -- contract (Art. 6(1)(b)) ---------------------------------------------------------------


def test_a_contract_is_in_force_by_its_id() -> None:
    """Art. 6(1)(b): any contract in force allows; ending one leaves the others in force."""
    a = ContractStarted(at=T0, contract="a")
    b = ContractStarted(at=T0 + US, contract="b")
    end_a = ContractEnded(at=T0 + 2 * US, contract="a")
    end_b = ContractEnded(at=T0 + 3 * US, contract="b")
    at = T0 + 2 * US
    decision = decide([a, b, end_a], "orders", at)
    assert decision.code is ReasonCode.CONTRACT
    assert decision.reason.event == b
    assert code([a, ContractEnded(at=T0 + US, contract="zzz")], "orders", at) is (
        ReasonCode.CONTRACT
    )
    over = decide([a, b, end_a, end_b], "orders", T0 + 3 * US)
    assert over.code is ReasonCode.NO_CONTRACT
    assert over.reason.event == end_b
    again = ContractStarted(at=T0 + 4 * US, contract="a")
    assert decide([a, b, end_a, end_b, again], "orders", T0 + 4 * US).reason.event == again


# -- device access (ePrivacy Art. 5(3)) ----------------------------------------------------


def test_device_access_needs_consent_unless_strictly_necessary() -> None:
    """ePrivacy Art. 5(3): reading the device needs consent unless strictly necessary."""
    assert code([], "tag", T0) is ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED
    grant = ConsentGiven(at=T0, purpose="tag")
    allowed = decide([grant], "tag", T0)
    assert allowed.allowed
    assert [r.code for r in allowed.reasons] == [
        ReasonCode.LEGITIMATE_INTEREST,
        ReasonCode.CONSENT_GIVEN,
    ]
    withdrawn = decide([grant, ConsentWithdrawn(at=T0 + US, purpose="tag")], "tag", T0 + US)
    assert withdrawn.code is ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED
    assert withdrawn.reason.event is not None
    assert decide([], "visit", T0).allowed
