"""Erasure (Art. 17): what was collected at or before an erasure is gone for good.

On the site policy (``tests/_site.py``): stored data collected at or before the erasure,
and fresh data at its very instant, are never processed; a consent must come strictly
after it; a legal obligation (Art. 17(3)(b)) survives it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from tests._rules import US, utc
from tests._site import code, decide

from lawful import (
    ConsentGiven,
    Erasure,
    ReasonCode,
)

pytestmark = pytest.mark.usefixtures("no_clock")


# -- erasure (Art. 17) ---------------------------------------------------------------------

E = utc(2025, 3, 10)


@pytest.mark.parametrize(
    ("collected", "allowed"),
    [(E - timedelta(days=1), False), (E, False), (E + US, True)],
    ids=["before", "at the erasure", "after"],
)
def test_data_collected_at_or_before_an_erasure_is_never_processed(
    collected: datetime, allowed: bool
) -> None:
    """Art. 17(1): data collected at or before the erasure is gone for good."""
    decision = decide([Erasure(at=E)], "fraud", E + timedelta(days=1), collected_at=collected)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code is ReasonCode.ERASED


def test_fresh_data_at_the_erasure_instant_is_erased() -> None:
    """Fresh data collected at the instant of the erasure counts as collected at or before it."""
    assert code([Erasure(at=E)], "fraud", E) is ReasonCode.ERASED
    assert decide([Erasure(at=E)], "fraud", E + US).allowed


def test_fresh_data_at_the_erasure_instant_is_denied_for_that_instant_only() -> None:
    """Fresh data at the erasure's instant is erased; valid_until says a microsecond later."""
    decision = decide([Erasure(at=E)], "fraud", E)
    assert decision.code is ReasonCode.ERASED
    assert decision.valid_until == E + US
    stored = decide([Erasure(at=E)], "fraud", E + US, collected_at=E)
    assert stored.code is ReasonCode.ERASED
    assert stored.valid_until is None


@pytest.mark.parametrize(
    ("grant_at", "allowed"),
    [(E - timedelta(days=1), False), (E, False), (E + US, True)],
    ids=["before", "at the erasure", "strictly after"],
)
def test_consent_after_an_erasure_must_be_strictly_later(grant_at: datetime, allowed: bool) -> None:
    """Art. 17(1): after an erasure, consent-based processing needs a consent strictly after it."""
    events = [Erasure(at=E), ConsentGiven(at=grant_at, purpose="hubspot")]
    decision = decide(events, "hubspot", E + timedelta(days=1))
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code is ReasonCode.ERASED
        assert decision.reason.event == events[0]


def test_a_legal_obligation_survives_erasure() -> None:
    """Art. 17(3)(b): data kept under a legal obligation stays usable for it."""
    decision = decide([Erasure(at=E)], "invoices", E + timedelta(days=1), collected_at=E - US)
    assert decision.allowed
    assert decision.code is ReasonCode.LEGAL_OBLIGATION
    assert code([Erasure(at=E)], "orders", E + US, collected_at=E) is ReasonCode.ERASED
