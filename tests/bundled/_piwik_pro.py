"""The bundled Piwik PRO policy, its checklist, and what its tests share.

The checklist tables hold one row per statement of the policy's text (last updated
30.08.2024), each quoting the sentence it checks; where the text is vague, the row pins
the protective reading the policy file documents. The tests of this folder check the
policy against them, and tests/test_render.py checks the rendered texts against the same
rows. "Item N" in a docstring is item N of the legal review of the policy (issue 15).
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

import lawful
from lawful import (
    AfterCollection,
    AfterLastInteraction,
    ConsentGiven,
    ContractStarted,
    Duration,
    Event,
    LegalBasis,
    Policy,
    ReasonCode,
    Retention,
    RetentionCombine,
    SessionEnd,
    Subject,
    TransferMechanism,
    VendorRole,
)

POLICY = lawful.bundled_policy("piwik-pro")


CONSENT = LegalBasis.CONSENT


LI = LegalBasis.LEGITIMATE_INTERESTS


CONTRACT = LegalBasis.CONTRACT


MARKETING = "marketing_and_sales"


T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)


def _months(n: int) -> Duration:
    """``n`` calendar months."""
    return Duration(months=n)


def _md(text: str) -> str:
    """How the markdown renderer writes plain text (markdown specials escaped)."""
    return "".join("\\" + c if c in "\\`*_[]<>|#" else c for c in " ".join(text.split()))


# -- purposes: basis and section -----------------------------------------------------------

PURPOSES = [
    (
        "analytics",
        CONSENT,
        MARKETING,
        "Analytics, Conversion tracking based on consent, Legal basis: Art. 6 (1)(a) GDPR",
    ),
    (
        "conversion_tracking",
        CONSENT,
        MARKETING,
        "Analytics, Conversion tracking based on consent, Legal basis: Art. 6 (1)(a) GDPR",
    ),
    (
        "ab_testing_personalization",
        CONSENT,
        MARKETING,
        "A/B testing and personalization based on consent, Legal basis: Art. 6 (1)(a) GDPR",
    ),
    (
        "marketing_automation",
        CONSENT,
        MARKETING,
        "Marketing Automation based on consent, Legal basis: Art. 6 (1)(a) GDPR",
    ),
    (
        "webinars",
        CONSENT,
        MARKETING,
        "We process personal data based on consent according to Art. 6(1)(a) GDPR",
    ),
    ("youtube_videos", CONSENT, MARKETING, "We require your prior consent before we launch them."),
    (
        "fraud_prevention",
        LI,
        MARKETING,
        "The legal basis for processing personal data in this context is Art. 6 s. 1 lit. f GDPR.",
    ),
    (
        "session_statistics",
        LI,
        MARKETING,
        "This non-personal data is tied to a temporary identifier (no basis stated)",
    ),
    (
        "aggregated_usage_metrics",
        LI,
        MARKETING,
        "within the scope of necessary processing (vague: read as Art. 6(1)(f))",
    ),
    (
        "information_by_email",
        CONSENT,
        MARKETING,
        "email address (but only in the case that visitors request information be sent by email)",
    ),
    (
        "data_subject_requests",
        LegalBasis.LEGAL_OBLIGATION,
        MARKETING,
        "If you would like to exercise your individual rights, send us a message",
    ),
    (
        "product_onboarding",
        CONTRACT,
        "product",
        "third-party tools to deliver in-app communication ... an onboarding flow",
    ),
    (
        "product_onboarding_users",
        LI,
        "product",
        "in-app communication service to the end users (operators) of the platform",
    ),
    ("support", CONTRACT, "product", "If your team would like to contact our support"),
    ("support_users", LI, "product", "If your team would like to contact our support"),
    (
        "database_export",
        CONTRACT,
        "product",
        "If you request a database export, it will be placed on a secure server",
    ),
    (
        "purchases",
        CONTRACT,
        "product",
        "In case you purchase our services via our website ... we're using Paddle",
    ),
    (
        "client_data_processing",
        CONTRACT,
        "product",
        "Our clients own 100% of the data we gather on their behalf.",
    ),
    (
        "recruitment",
        CONSENT,
        "recruitment",
        "you must first agree to processing ... in accordance with Art. 6(1)(a) GDPR",
    ),
]


# -- purposes: data categories -------------------------------------------------------------

VISITOR_DATA = {"browser_cookie", "browsing_behavior", "device_information", "ip_address"}


DATA = [
    (
        "analytics",
        VISITOR_DATA | {"device_fingerprint"},
        "browser cookie, browsing behavior, device information, IP address; fingerprinting",
    ),
    (
        "conversion_tracking",
        VISITOR_DATA | {"device_fingerprint"},
        "We collect first-party data ... based on cookies, IP and fingerprinting",
    ),
    (
        "ab_testing_personalization",
        VISITOR_DATA,
        "browser cookie, browsing behavior on piwik.pro, device information, IP address",
    ),
    (
        "marketing_automation",
        {"browser_cookie", "browsing_behavior", "ip_address", "profile_data", "email"},
        "browser cookie, browsing behavior on piwik.pro, IP address, other data you give us",
    ),
    (
        "webinars",
        {"email", "name", "company"},
        "Personal data used: email address; ... your first and last name or company",
    ),
    (
        "youtube_videos",
        {"ip_address", "browser_cookie", "device_information"},
        "not stated: what an embedded player receives",
    ),
    (
        "fraud_prevention",
        {"device_information", "browser_data", "behavior_metrics"},
        "to collect device information, browser data, and user behavior metrics",
    ),
    (
        "session_statistics",
        {"session_identifier", "visit_data", "device_information"},
        "how visitors found our website, what kind of device ..., tied to a temporary identifier",
    ),
    (
        "aggregated_usage_metrics",
        {"usage_metrics"},
        "aggregated metrics on the use of our website or application",
    ),
    (
        "information_by_email",
        {"email"},
        "email address (but only in the case that visitors request information be sent by email)",
    ),
    (
        "data_subject_requests",
        {"email", "browser_cookie", "request_details"},
        "The form collects cookies ... We need your email address to contact you",
    ),
    (
        "recruitment",
        {"employment_history", "education", "projects", "application_materials"},
        "employment history, education and projects ... from your CV, the application form",
    ),
    ("client_data_processing", {"client_tracking_data"}, "the data we gather on their behalf"),
]


# -- vendors -------------------------------------------------------------------------------

PURPOSE_VENDORS = [
    (
        "analytics",
        {"piwik_pro_analytics_suite"},
        "First party involved: Piwik PRO; Third parties involved: None",
    ),
    ("ab_testing_personalization", {"omniconvert"}, "Third parties involved: Omniconvert"),
    ("marketing_automation", {"hubspot"}, "Third parties involved: Hubspot"),
    (
        "webinars",
        {"goto", "hubspot"},
        "GoToWebinar / GoTo Technologies; We will keep all that data in our CRM",
    ),
    ("youtube_videos", {"youtube"}, "we have placed YouTube-hosted videos across our sites"),
    ("fraud_prevention", {"fraud0"}, "This service, provided by fraud0 GmbH"),
    ("information_by_email", set(), "no tool is named"),
    (
        "product_onboarding",
        {"stonly", "hubspot", "intercom"},
        "Piwik PRO Core - Stonly ..., HubSpot ...; Piwik PRO Enterprise - Stonly ..., Intercom",
    ),
    ("support", {"intercom"}, "Intercom is a US company regardless of its hosting location"),
    (
        "database_export",
        {"amazon_eu_frankfurt"},
        "a secure server on Amazon EU in Frankfurt, Germany",
    ),
    ("purchases", {"paddle"}, "we're using Paddle, our Merchant of Record"),
    (
        "client_data_processing",
        {"orange_cloud", "elastx", "microsoft_azure", "leaseweb"},
        "Piwik PRO Analytics Suite Cloud is hosted on either: ...",
    ),
    (
        "recruitment",
        {"google_workspace", "traffit", "piwik_pro_llc"},
        "Google Suite and Traffit; shared within the Piwik PRO group ... Piwik PRO LLC",
    ),
]


NOT = TransferMechanism.NOT_STATED


NA = TransferMechanism.NOT_APPLICABLE


THIRD = VendorRole.THIRD_PARTY


PROC = VendorRole.PROCESSOR


VENDORS = [
    (
        "piwik_pro_analytics_suite",
        VendorRole.FIRST_PARTY,
        "Orange Cloud infrastructure, France",
        False,
        NA,
        "We host our solution on Orange Cloud infrastructure in France",
    ),
    (
        "piwik_pro_llc",
        VendorRole.FIRST_PARTY,
        "New York, United States",
        True,
        NOT,
        "Piwik PRO LLC (222 Broadway, 19th Floor, New York, NY 10038, United States)",
    ),
    (
        "omniconvert",
        PROC,
        "European servers of Amazon AWS",
        False,
        NA,
        "Omniconvert is hosted on European servers by Amazon AWS (U.S.-based company).",
    ),
    (
        "hubspot",
        PROC,
        "U.S.-based data centers",
        True,
        NOT,
        "HubSpot products are hosted in U.S.-based data centers",
    ),
    (
        "goto",
        PROC,
        "not stated",
        True,
        NOT,
        "GoToWebinar / GoTo Technologies (hosting not stated)",
    ),
    ("youtube", THIRD, "United States", True, NOT, "YouTube is a U.S.-based service."),
    (
        "fraud0",
        THIRD,
        "European Union",
        False,
        NA,
        "The data collected is processed within the European Union",
    ),
    ("stonly", PROC, "EEA", False, NA, "Stonly (data hosted in EEA)"),
    ("intercom", PROC, "United States", True, NOT, "Intercom (data hosted in the USA)"),
    (
        "paddle",
        THIRD,
        "not stated",
        True,
        NOT,
        "Paddle, our Merchant of Record (hosting not stated)",
    ),
    (
        "amazon_eu_frankfurt",
        PROC,
        "Amazon EU, Frankfurt, Germany",
        False,
        NA,
        "a secure server on Amazon EU in Frankfurt, Germany",
    ),
    (
        "orange_cloud",
        PROC,
        "Orange Flexible Engine (FR Central), Orange Cloud (Paris)",
        False,
        NA,
        "Orange Flexible Engine France (FR Central), ... Orange Cloud France (Paris)",
    ),
    ("elastx", PROC, "Sweden (SWE Central)", False, NA, "ElastX Sweden (SWE Central)"),
    (
        "microsoft_azure",
        PROC,
        "United States (US East), Hong Kong (Southeast Asia)",
        True,
        NOT,
        "Microsoft Azure Netherlands ..., Germany ..., United States (US East), Hong Kong",
    ),
    ("leaseweb", PROC, "United States and Germany", True, NOT, "Leaseweb in the US and Germany"),
    ("google_workspace", PROC, "not stated", True, NOT, "Google Suite (hosting not stated)"),
    ("traffit", PROC, "not stated", True, NOT, "Traffit (hosting not stated)"),
]


# -- retention -----------------------------------------------------------------------------

HUBSPOT = Retention(
    rules=(
        AfterLastInteraction(
            _months(24), ("conversation", "contact_form", "demo_request", "pricing_request")
        ),
        AfterCollection(_months(6)),
    ),
    combine=RetentionCombine.FIRST,
)


RETENTION = [
    ("analytics", (AfterCollection(_months(60)),), "the data is stored for a period of 60 months"),
    (
        "conversion_tracking",
        (AfterCollection(_months(60)),),
        "the data is stored for a period of 60 months",
    ),
    (
        "aggregated_usage_metrics",
        (AfterCollection(_months(60)),),
        "the aforementioned platform ... stored for a period of 60 months",
    ),
    (
        "ab_testing_personalization",
        (AfterCollection(Duration(days=90)),),
        "Data is retained for up to 90 days.",
    ),
    (
        "marketing_automation",
        HUBSPOT.rules,
        "after 6 months from collection ...; after 24 months from the last exchange ...",
    ),
    ("webinars", HUBSPOT.rules, "We will keep all that data in our CRM"),
    (
        "session_statistics",
        (SessionEnd(Duration(seconds=30 * 60)),),
        "removed after the end of each browsing session (30 minutes: Piwik PRO's default)",
    ),
    (
        "recruitment",
        (AfterCollection(_months(36)),),
        "The maximum time your data is held is 36 months.",
    ),
]


UNSTATED = [
    ("fraud_prevention", "retained only as long as necessary to fulfill its purpose"),
    ("youtube_videos", "no period stated for YouTube"),
    ("information_by_email", "no period stated"),
    ("data_subject_requests", "until the completion of your request"),
    ("client_data_processing", "Data retention periods are set by the client"),
    ("product_onboarding", "no period stated"),
    ("product_onboarding_users", "no period stated"),
    ("support", "no period stated"),
    ("support_users", "no period stated"),
    ("database_export", "no period stated"),
    ("purchases", "no period stated"),
]


# -- controllers ---------------------------------------------------------------------------

CONTROLLERS = [
    (
        "marketing_and_sales",
        ("piwik_pro_sa", "piwik_pro_gmbh"),
        "The data controller for (1) Marketing and Sales ... Piwik PRO SA ..., Piwik PRO GmbH",
    ),
    (
        "product",
        ("piwik_pro_sa", "piwik_pro_gmbh"),
        "The data controller for ... (2) Piwik PRO product-related activities",
    ),
    (
        "recruitment",
        ("piwik_pro_sa", "piwik_pro_gmbh", "piwik_pro_llc"),
        "The data controller for (3) Recruitment is ... and Piwik PRO LLC",
    ),
]


# -- for decisions: the policy with its safeguards stated, and a subject -------------------


def _with_safeguards(policy: Policy) -> Policy:
    """The bundled policy as a controller would complete it: every unstated safeguard stated
    (SCCs), so that the rules after the transfer check can be seen at work."""
    vendors = [
        attrs.evolve(v, transfer=TransferMechanism.STANDARD_CONTRACTUAL_CLAUSES)
        if v.transfer is NOT
        else v
        for v in policy.vendors
    ]
    return attrs.evolve(policy, vendors=vendors)


STATED = _with_safeguards(POLICY)


def _subject(*events: Event, categories: tuple[str, ...] | None = None) -> Subject:
    """A subject with ``events`` (and ``categories``, unknown unless given)."""
    return Subject("s", events, categories=categories)


def _decide(
    policy: Policy,
    subject: Subject,
    purpose: str,
    at: datetime,
    *,
    collected_at: datetime | None = None,
    vendor: str | None = None,
) -> ReasonCode:
    """The primary reason code of ``policy``'s decision."""
    return policy.may_process(subject, purpose, at, collected_at=collected_at, vendor=vendor).code


_CONSENTED = ConsentGiven(at=T0, purpose="x")


_CONTRACT = ContractStarted(at=T0, contract="c-1")
