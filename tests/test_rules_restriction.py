"""Restriction (Art. 18) and retention from the last interaction (Art. 5(1)(e)).

Tables for issue 15 items 12 and 4.

The tests after the tables ask the site policy (``tests/_site.py``): only storage
while restricted (Art. 18(2)), and a restriction naming a purpose.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from tests._rules import DAY, T0, US, consent, decide, on, policy, utc
from tests._site import code as site_code
from tests._site import decide as site_decide

from lawful import (
    AfterCollection,
    AfterLastInteraction,
    ConsentGiven,
    Duration,
    Event,
    Interaction,
    LegalBasis,
    Operation,
    ReasonCode,
    RestrictionException,
    RestrictionLifted,
    RestrictionRequested,
    Retention,
    RetentionCombine,
)

pytestmark = pytest.mark.usefixtures("no_clock")

AT = T0 + 10 * DAY
RESTRICTED = RestrictionRequested(at=T0, purpose="p")
LI = policy(on(LegalBasis.LEGITIMATE_INTERESTS))
CLAIMS = policy(
    on(LegalBasis.LEGITIMATE_INTERESTS, restriction_exceptions=(RestrictionException.LEGAL_CLAIMS,))
)
CONSENT = policy(consent())
CONSENT_CLAIMS = policy(consent(restriction_exceptions=(RestrictionException.LEGAL_CLAIMS,)))

# (policy, history, operation, expected code)
TABLE = {
    "restricted: use stops": (LI, (RESTRICTED,), Operation.USE, ReasonCode.RESTRICTED),
    "restricted: storage continues": (
        LI,
        (RESTRICTED,),
        Operation.STORE,
        ReasonCode.LEGITIMATE_INTEREST,
    ),
    "lifted": (
        LI,
        (RESTRICTED, RestrictionLifted(at=T0 + DAY, purpose="p")),
        Operation.USE,
        ReasonCode.LEGITIMATE_INTEREST,
    ),
    "the person's consent after the restriction": (
        LI,
        (RESTRICTED, ConsentGiven(at=T0 + DAY, purpose="p")),
        Operation.USE,
        ReasonCode.LEGITIMATE_INTEREST,
    ),
    "a consent before the restriction is no exception": (
        CONSENT,
        (ConsentGiven(at=T0 - DAY, purpose="p"), RESTRICTED),
        Operation.USE,
        ReasonCode.RESTRICTED,
    ),
    "a consent purpose, consent given after": (
        CONSENT,
        (
            ConsentGiven(at=T0 - DAY, purpose="p"),
            RESTRICTED,
            ConsentGiven(at=T0 + DAY, purpose="p"),
        ),
        Operation.DISCLOSE,
        ReasonCode.CONSENT_GIVEN,
    ),
    "a declared exception: legal claims": (
        CLAIMS,
        (RESTRICTED,),
        Operation.USE,
        ReasonCode.LEGITIMATE_INTEREST,
    ),
    "a declared exception, and every later check still applies": (
        CONSENT_CLAIMS,
        (RESTRICTED,),
        Operation.USE,
        ReasonCode.NO_CONSENT,
    ),
}


@pytest.mark.parametrize(
    ("pol", "history", "operation", "expected"), TABLE.values(), ids=list(TABLE)
)
def test_restriction_leaves_storage_and_the_art_18_2_exceptions(
    pol: object, history: tuple[Event, ...], operation: Operation, expected: ReasonCode
) -> None:
    """Art. 18(2): storage, the person's consent or a declared exception; later checks apply."""
    decision = decide(pol, history, AT, operation=operation)  # type: ignore[arg-type]
    assert decision.code is expected


HUBSPOT = policy(
    consent(
        retention=Retention(
            (
                AfterLastInteraction(Duration.parse("24 months"), ("reply",)),
                AfterCollection(Duration.parse("6 months")),
            ),
            RetentionCombine.FIRST,
        )
    )
)
C = utc(2025, 1, 10, 12)
GIVEN = ConsentGiven(at=C, purpose="p")

# (interaction instant or None, valid_until of a decision a day after collection)
RETENTION: dict[str, tuple[datetime | None, datetime]] = {
    "no exchange: 6 months after collection": (None, utc(2025, 7, 10, 12)),
    "an exchange before the data existed is no reply": (utc(2024, 1, 1), utc(2025, 7, 10, 12)),
    "an exchange at collection counts": (C, utc(2027, 1, 10, 12)),
    "an exchange after collection: 24 months from it": (C + DAY / 2, utc(2027, 1, 11)),
}


@pytest.mark.parametrize(("exchange", "limit"), RETENTION.values(), ids=list(RETENTION))
def test_retention_from_the_last_interaction_counts_only_replies_to_the_data(
    exchange: datetime | None, limit: datetime
) -> None:
    """Art. 5(1)(e): only interactions at or after collection count (HubSpot's 6/24 months)."""
    history: list[Event] = [GIVEN]
    if exchange is not None:
        history.append(Interaction(at=exchange, kind="reply"))
    decision = decide(HUBSPOT, history, C + DAY, collected_at=C)
    assert decision.valid_until == limit
    assert decide(HUBSPOT, history, limit, collected_at=C).code is ReasonCode.RETENTION_EXCEEDED


# -- restriction ---------------------------------------------------------------------------


@pytest.mark.parametrize("operation", list(Operation))
def test_restriction_leaves_only_storage(operation: Operation) -> None:
    """Art. 18(2): while restricted, only storage is allowed; lifting it restores processing."""
    restricted = [RestrictionRequested(at=T0)]
    decision = site_decide(restricted, "fraud", T0, operation=operation)
    assert decision.allowed is (operation is Operation.STORE)
    if operation is not Operation.STORE:
        assert decision.code is ReasonCode.RESTRICTED
    lifted = [*restricted, RestrictionLifted(at=T0 + US)]
    assert site_decide(lifted, "fraud", T0 + US, operation=operation).allowed


def test_a_restriction_for_one_purpose_leaves_others() -> None:
    """A restriction naming a purpose restricts that purpose only."""
    events = [RestrictionRequested(at=T0, purpose="fraud")]
    assert site_code(events, "fraud", T0) is ReasonCode.RESTRICTED
    assert site_decide(events, "profiling", T0).allowed
