"""The bundled Piwik PRO policy's signals: the Consent Manager's choices and the opt-out.

The Consent Manager's types map onto the purposes whose texts they show, and grant
nothing else (item 18, Art. 4(11)); "stop all data collection" (and GPC) stops the
website's tracking purposes, never a webinar seat or a rights request.
"""

from __future__ import annotations

import pytest
from tests.bundled._piwik_pro import (
    LI,
    POLICY,
    STATED,
    T0,
    _decide,
    _subject,
)

from lawful import (
    ConsentGiven,
    LegalBasis,
    OptOut,
    ReasonCode,
    Subject,
)

# -- the Consent Manager (item 18) ---------------------------------------------------------


def test_consent_manager_bindings() -> None:
    """Piwik PRO Consent Manager types map onto the declared purposes; no TCF ids are invented."""
    bindings = {b.signal: b.purposes for b in POLICY.signals.piwik_pro}
    assert bindings == {
        "analytics": ("analytics",),
        "conversion_tracking": ("conversion_tracking",),
        "ab_testing_and_personalization": ("ab_testing_personalization",),
        "marketing_automation": ("marketing_automation",),
    }
    assert POLICY.signals.tcf == ()


_ANALYTICS_ONLY = {
    "consents": {"analytics": {"status": 1, "updatedAt": "2025-03-03T10:00:00+00:00"}}
}


CONSENT_MANAGER = [
    ("analytics", ReasonCode.CONSENT_GIVEN),
    # Legitimate interests; the Analytics text does not announce session statistics, so it
    # is no consent to reading the device for them (Art. 4(11); EDPB 05/2020, 3.1.3).
    ("session_statistics", ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED),
    # Legitimate interests, but reading the device needs a consent the settings never ask.
    ("aggregated_usage_metrics", ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED),
]


@pytest.mark.parametrize(("purpose", "code"), CONSENT_MANAGER, ids=[r[0] for r in CONSENT_MANAGER])
def test_item_18_analytics_choice_grants_only_analytics(purpose: str, code: ReasonCode) -> None:
    """Item 18: the Consent Manager's Analytics choice grants the purpose whose text it shows,
    and nothing else (Art. 4(11): specific and informed)."""
    from lawful.signals.piwik_pro import from_piwik_pro  # noqa: PLC0415 - an optional import

    subject = _subject()
    result = from_piwik_pro(POLICY, _ANALYTICS_ONLY, subject=subject, received_at=T0)
    grants = {e.purpose for e in result.events if isinstance(e, ConsentGiven)}
    assert grants == {"analytics"}
    later = Subject("s", result.events)
    assert _decide(POLICY, later, purpose, T0.replace(hour=12)) is code


@pytest.mark.parametrize(
    ("purpose", "basis", "device_needs_consent"),
    [
        ("session_statistics", LI, True),
        ("aggregated_usage_metrics", LI, True),
        ("fraud_prevention", LI, True),
    ],
)
def test_item_18_texts_match_their_consent(
    purpose: str, basis: LegalBasis, device_needs_consent: bool
) -> None:
    """Item 18: no withdrawal text sends people to Privacy settings that do not ask for the
    consent the purpose needs; each says the consent is one of its own."""
    declared = POLICY.purpose(purpose)
    assert declared.basis is basis
    assert (declared.device_access and not declared.strictly_necessary) is device_needs_consent
    assert "a consent of its own, which the Privacy settings do not ask for" in (
        declared.withdrawal or ""
    )
    bound = {p for b in POLICY.signals.piwik_pro for p in b.purposes}
    assert purpose not in bound


# -- the opt-out ---------------------------------------------------------------------------


def test_opt_out_scope_covers_website_collection_only() -> None:
    """'stop all data collection' stops every tracking purpose, never the person's own requests."""
    covered = {p.id for p in POLICY.purposes if "all_data_collection" in p.opt_out_scopes}
    assert covered == {
        "analytics",
        "conversion_tracking",
        "ab_testing_personalization",
        "marketing_automation",
        "youtube_videos",
        "fraud_prevention",
        "session_statistics",
        "aggregated_usage_metrics",
    }
    assert POLICY.signals.gpc_scope == "all_data_collection"


@pytest.mark.parametrize(
    ("purpose", "code"),
    [
        ("analytics", ReasonCode.OPTED_OUT),
        ("fraud_prevention", ReasonCode.OPTED_OUT),
        ("aggregated_usage_metrics", ReasonCode.OPTED_OUT),
        ("webinars", ReasonCode.CONSENT_GIVEN),
        ("data_subject_requests", ReasonCode.LEGAL_OBLIGATION),
    ],
)
def test_website_opt_out(purpose: str, code: ReasonCode) -> None:
    """The opt-out stops website collection, but not a webinar seat or a rights request."""
    subject = _subject(
        ConsentGiven(at=T0, purpose=purpose),
        OptOut(at=T0.replace(hour=11), scope="all_data_collection"),
    )
    assert _decide(STATED, subject, purpose, T0.replace(hour=12)) is code
