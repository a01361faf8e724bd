"""Integrations with web frameworks: :mod:`lawful.contrib.django` and
:mod:`lawful.contrib.fastapi` (the ``lawful[django]`` and ``lawful[fastapi]`` extras).

Both serve the same consent endpoint and answer the same JSON, from the
framework-free :class:`ConsentService` re-exported here:

>>> import lawful
>>> from lawful.contrib import consent_purposes
>>> consent_purposes(lawful.bundled_policy("piwik-pro"), subject_category="visitor")[:3]
('analytics', 'conversion_tracking', 'ab_testing_personalization')
"""

from __future__ import annotations

from lawful.contrib._core import (
    ANONYMOUS,
    CHOICES,
    Choice,
    Clock,
    ConsentService,
    RequestProblem,
    consent_purposes,
    needs_consent,
    utc_now,
)

__all__ = [
    "ANONYMOUS",
    "CHOICES",
    "Choice",
    "Clock",
    "ConsentService",
    "RequestProblem",
    "consent_purposes",
    "needs_consent",
    "utc_now",
]
