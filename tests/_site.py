"""The site policy: one policy with a purpose for each rule's corners, asked by name.

Its purposes cover consent with a lifetime and an earlier version, per-vendor consent,
special categories, HubSpot's retention (as in the Piwik PRO policy), legitimate
interests that admit an override, direct marketing, sessions, device access, subject
categories, processor-only purposes and every other basis (Art. 6(1)), so one test
can ask about several rules at once. The rule tables build smaller policies of their
own (``tests/_rules.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from tests._rules import events, utc

from lawful import (
    AfterCollection,
    AfterLastInteraction,
    AgeRules,
    DataCategory,
    Decision,
    Duration,
    LegalBasis,
    NoPeriodStated,
    OptOutScope,
    Policy,
    PolicyVersion,
    Purpose,
    PurposeTerms,
    ReasonCode,
    Retention,
    RetentionCombine,
    SessionEnd,
    SpecialCategoryCondition,
    Subject,
    Vendor,
    VendorRole,
)

PLUS2 = timezone(timedelta(hours=2))
MINUS5 = timezone(timedelta(hours=-5))


def after(rule: str, **extra: object) -> Retention:
    """A retention of one after-collection rule."""
    del extra
    return Retention((AfterCollection(Duration.parse(rule)),))


HUBSPOT = Retention(
    (
        # HubSpot in the Piwik PRO policy: 24 months after the last exchange...
        AfterLastInteraction(Duration.parse("24 months"), ("reply", "contact_form", "demo")),
        # ...else 6 months after collection without a reply.
        AfterCollection(Duration.parse("6 months")),
    ),
    RetentionCombine.FIRST,
)

ANALYTICS_STATEMENT = "Measure how the site is used"


def _consent(pid: str, statement: str, **kw: object) -> Purpose:
    """A consent purpose (Art. 6(1)(a)) withdrawn in the privacy settings."""
    return Purpose(
        pid,
        pid.title(),
        statement,
        LegalBasis.CONSENT,
        withdrawal="Privacy settings",
        **kw,  # type: ignore[arg-type]
    )


def _li(pid: str, **kw: object) -> Purpose:
    """A legitimate-interests purpose (Art. 6(1)(f)) with its interest and assessment."""
    return Purpose(
        pid,
        pid.title(),
        f"The {pid} purpose",
        LegalBasis.LEGITIMATE_INTERESTS,
        legitimate_interest=f"the {pid} interest",
        assessment=f"LIA-{pid}",
        **kw,  # type: ignore[arg-type]
    )


PURPOSES = (
    _consent(
        "analytics",
        ANALYTICS_STATEMENT,
        data=("ip", "cookie"),
        vendors=("self", "cdn"),
        consent_lifetime=Duration.parse("1 month"),
        retention=after("6 months"),
        opt_out_scopes=("tracking",),
        device_access=True,
    ),
    _consent(
        "ads",
        "Show ads that fit you",
        data=("cookie",),
        vendors=("adnet", "social"),
        per_vendor_consent=True,
        retention=after("6 months"),
        opt_out_scopes=("sale",),
    ),
    _consent(
        "health",
        "Tailor products to your allergies",
        data=("health",),
        vendors=("self",),
        special_category_condition=SpecialCategoryCondition.EXPLICIT_CONSENT,
        retention=after("1 year"),
    ),
    _consent(
        "hubspot",
        "Answer your enquiries and send what you asked for",
        data=("email",),
        vendors=("self",),
        retention=HUBSPOT,
    ),
    _li(
        "fraud",
        data=("ip",),
        vendors=("self",),
        override_admissible=True,
        opt_out_scopes=("tracking",),
        retention=after("90 days"),
    ),
    _li(
        "newsletter",
        data=("email",),
        vendors=("self",),
        direct_marketing=True,
        retention=after("2 years"),
    ),
    _li("profiling", data=("ip",), vendors=("self",), retention=after("1 year")),
    _li("tag", data=("cookie",), vendors=("self",), device_access=True, retention=after("30 days")),
    _li(
        "visit",
        data=("cookie",),
        vendors=("self",),
        device_access=True,
        strictly_necessary="the site cannot keep a visit on one server without it",
        retention=Retention((SessionEnd(Duration.parse("30 minutes")),)),
    ),
    _li(
        "security_log",
        data=("ip",),
        vendors=("self",),
        retention=Retention(
            (
                AfterCollection(Duration.parse("1 year")),
                AfterLastInteraction(Duration.parse("30 days"), ("logout",)),
            ),
            RetentionCombine.EARLIEST,
        ),
    ),
    _li(
        "careers",
        data=("email",),
        vendors=("self",),
        subjects=("job_applicant",),
        retention=after("36 months"),
    ),
    _li(
        "client_sites",
        data=("ip",),
        vendors=("self",),
        processor_only=True,
        retention=Retention((NoPeriodStated(),)),
    ),
    _li("forever", data=("ip",), vendors=("self",), retention=Retention((NoPeriodStated(),))),
    Purpose(
        "orders",
        "Orders",
        "Deliver what you bought",
        LegalBasis.CONTRACT,
        data=("email",),
        vendors=("self",),
        retention=after("3 years"),
    ),
    Purpose(
        "invoices",
        "Invoices",
        "Keep invoices for the tax office",
        LegalBasis.LEGAL_OBLIGATION,
        data=("email",),
        vendors=("self",),
        retention=after("5 years"),
    ),
    Purpose(
        "emergency",
        "Emergency",
        "Warn you of a dangerous product",
        LegalBasis.VITAL_INTERESTS,
        data=("email",),
        vendors=("self",),
        retention=after("1 year"),
    ),
    Purpose(
        "census",
        "Census",
        "Report to the statistics office",
        LegalBasis.PUBLIC_TASK,
        data=("email",),
        vendors=("self",),
        override_admissible=True,
        retention=after("1 year"),
    ),
)

POLICY = Policy(
    id="site",
    version="v2",
    data_categories=(
        DataCategory("ip", "IP address"),
        DataCategory("cookie", "Cookie identifier"),
        DataCategory("email", "Email address"),
        DataCategory("health", "Allergies", special=True),
    ),
    vendors=(
        Vendor("self", "Site", VendorRole.FIRST_PARTY),
        Vendor("cdn", "CDN", VendorRole.PROCESSOR),
        Vendor("adnet", "AdNet"),
        Vendor("social", "Social"),
    ),
    subject_categories={"visitor": "Visitor", "job_applicant": "Candidate"},
    age=AgeRules(minimum_age=13, parental_consent_age=15),
    opt_out_scopes={"tracking": OptOutScope("Do not track"), "sale": OptOutScope("Do not sell")},
    purposes=PURPOSES,
    previous_versions=(
        PolicyVersion(
            "v1",
            {
                "analytics": PurposeTerms(
                    ANALYTICS_STATEMENT,
                    LegalBasis.CONSENT,
                    frozenset({"self"}),
                    frozenset({"ip", "cookie"}),
                )
            },
            effective_from=utc(2000, 1, 1),
        ),
    ),
    # Art. 7(1): unversioned consents are judged under the version in force at their
    # instant, so the versions say when they took effect.
    effective_from=utc(2010, 1, 1),
)


def decide(history: Iterable[object], purpose: str, at: datetime, **query: Any) -> Decision:
    """The site policy's decision for a subject with ``history``."""
    return POLICY.may_process(Subject("s", events(history)), purpose, at, **query)


def code(history: Iterable[object], purpose: str, at: datetime, **query: Any) -> ReasonCode:
    """The primary reason code of :func:`decide`."""
    return decide(history, purpose, at, **query).code
