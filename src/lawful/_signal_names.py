"""The names signals use, kept apart from :mod:`lawful.signals` so that validating a policy's
``[signals]`` bindings does not import the decoders (loading a policy stays fast).
"""

from __future__ import annotations

__all__ = ["CONSENT_MODE_TYPES", "PIWIK_PRO_CONSENT_TYPES"]

CONSENT_MODE_TYPES = (
    "ad_storage",
    "analytics_storage",
    "ad_user_data",
    "ad_personalization",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
)
"""The consent types of Google Consent Mode v2."""

PIWIK_PRO_CONSENT_TYPES = (
    "analytics",
    "ab_testing_and_personalization",
    "conversion_tracking",
    "custom_consent",
    "marketing_automation",
    "remarketing",
    "user_feedback",
)
"""The Piwik PRO Consent Manager's consent types (``custom_consent`` is the "custom" type)."""
