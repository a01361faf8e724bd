"""The bundled Piwik PRO policy against its text, one checklist row per statement.

Each row quotes the sentence of the policy (last updated 30.08.2024) that it checks.
Where the text is vague, the row pins the protective reading the policy file documents.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pytest

import lawful
from lawful import (
    AfterCollection,
    AfterLastInteraction,
    AgeDeclared,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    ContractStarted,
    Duration,
    Event,
    Interaction,
    LegalBasis,
    NoPeriodStated,
    Objection,
    OptOut,
    ParentalConsentGiven,
    Policy,
    ReasonCode,
    Retention,
    RetentionCombine,
    SessionEnd,
    Subject,
    TransferMechanism,
    UnknownAge,
    VendorRole,
)
from lawful.render import render_ropa, render_settings

POLICY = lawful.bundled_policy("piwik-pro")
CONSENT = LegalBasis.CONSENT
LI = LegalBasis.LEGITIMATE_INTERESTS
CONTRACT = LegalBasis.CONTRACT
MARKETING = "marketing_and_sales"
T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)


def _months(n: int) -> Duration:
    return Duration(months=n)


def _md(text: str) -> str:
    """How the markdown renderer writes plain text (markdown specials escaped)."""
    return "".join("\\" + c if c in "\\`*_[]<>|#" else c for c in " ".join(text.split()))


# -- purposes: basis and section --------------------------------------------------------

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


@pytest.mark.parametrize(
    ("purpose", "basis", "section", "quote"), PURPOSES, ids=[r[0] for r in PURPOSES]
)
def test_purpose_basis_and_section(
    purpose: str, basis: LegalBasis, section: str, quote: str
) -> None:
    """Each purpose the text states is declared with its legal basis in its section."""
    declared = POLICY.purpose(purpose)
    assert (declared.basis, declared.section) == (basis, section), quote


def test_no_purpose_beyond_the_text() -> None:
    """The policy declares exactly the purposes of the checklist, in the text's order."""
    assert POLICY.purpose_ids == tuple(r[0] for r in PURPOSES)


@pytest.mark.parametrize(
    ("purpose", "route", "quote"),
    [
        (
            "analytics",
            "Privacy settings",
            "You can change your decisions at anytime by clicking the button below.",
        ),
        (
            "webinars",
            "Privacy settings",
            "You can change your decisions at anytime by clicking the button below.",
        ),
        (
            "recruitment",
            "gdpr@piwik.pro",
            "completely withdraw your consent ... Such requests should be sent to our DPO",
        ),
    ],
)
def test_consent_purposes_say_how_to_withdraw(purpose: str, route: str, quote: str) -> None:
    """Consent purposes carry the withdrawal route the text gives (Art. 7(3))."""
    assert route in (POLICY.purpose(purpose).withdrawal or ""), quote


# -- purposes: data categories -----------------------------------------------------------

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


@pytest.mark.parametrize(("purpose", "data", "quote"), DATA, ids=[r[0] for r in DATA])
def test_purpose_data_categories(purpose: str, data: set[str], quote: str) -> None:
    """Each purpose uses exactly the data categories the text names for it."""
    assert set(POLICY.purpose(purpose).data) == data, quote


@pytest.mark.parametrize(
    ("category", "quote"),
    [
        ("ip_address", "such as IP address, a cookie identifier and email address"),
        ("browser_cookie", "such as IP address, a cookie identifier and email address"),
        ("email", "such as IP address, a cookie identifier and email address"),
        ("session_identifier", "tied to a temporary identifier (an online identifier: Art. 4(1))"),
    ],
)
def test_no_category_is_special(category: str, quote: str) -> None:
    """The text names no special category of Art. 9(1); the visitor data is declared plainly."""
    assert not POLICY.data_category(category).special, quote


# -- purposes: vendors -------------------------------------------------------------------

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


@pytest.mark.parametrize(
    ("purpose", "vendors", "quote"), PURPOSE_VENDORS, ids=[r[0] for r in PURPOSE_VENDORS]
)
def test_purpose_vendors(purpose: str, vendors: set[str], quote: str) -> None:
    """Each purpose names exactly the recipients the text involves."""
    assert set(POLICY.purpose(purpose).vendors) == vendors, quote


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


@pytest.mark.parametrize(
    ("vendor", "role", "hosting", "outside_eea", "transfer", "quote"),
    VENDORS,
    ids=[r[0] for r in VENDORS],
)
def test_vendor_role_hosting_and_transfer(
    vendor: str,
    role: VendorRole,
    hosting: str,
    outside_eea: bool,
    transfer: TransferMechanism,
    quote: str,
) -> None:
    """Each vendor has its role, its hosting place, and a transfer mechanism only where stated."""
    declared = POLICY.vendor(vendor)
    assert (declared.role, declared.outside_eea, declared.transfer) == (
        role,
        outside_eea,
        transfer,
    ), quote
    assert hosting in declared.hosting, quote


def test_no_vendor_beyond_the_text() -> None:
    """The policy declares exactly the vendors of the checklist."""
    assert {v.id for v in POLICY.vendors} == {r[0] for r in VENDORS}


# -- retention ---------------------------------------------------------------------------

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


@pytest.mark.parametrize(("purpose", "rules", "quote"), RETENTION, ids=[r[0] for r in RETENTION])
def test_stated_retention(purpose: str, rules: tuple[object, ...], quote: str) -> None:
    """Each retention period the text states is the purpose's retention rule."""
    retention = POLICY.purpose(purpose).retention
    assert retention.rules == rules, quote
    assert retention.combine is RetentionCombine.FIRST


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


@pytest.mark.parametrize(("purpose", "quote"), UNSTATED, ids=[r[0] for r in UNSTATED])
def test_unstated_retention_is_marked_not_stated(purpose: str, quote: str) -> None:
    """Where the text gives no period, the retention says "not stated" rather than invent one."""
    retention = POLICY.purpose(purpose).retention
    assert not retention.stated, quote
    assert all(isinstance(rule, NoPeriodStated) for rule in retention.rules)


def test_every_purpose_has_its_retention_checked() -> None:
    """The two retention tables cover every purpose."""
    assert {r[0] for r in RETENTION} | {r[0] for r in UNSTATED} == set(POLICY.purpose_ids)


def test_recruitment_limit_is_retention_not_consent_lifetime() -> None:
    """'The maximum time your data is held is 36 months' limits data, not the consent."""
    assert POLICY.purpose("recruitment").consent_lifetime is None


# -- controllers, contact, age ----------------------------------------------------------

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


@pytest.mark.parametrize(
    ("section", "entities", "quote"), CONTROLLERS, ids=[r[0] for r in CONTROLLERS]
)
def test_controllers_per_section(section: str, entities: tuple[str, ...], quote: str) -> None:
    """Each section names the group entities the text makes its controllers."""
    assert tuple(POLICY.controllers[section]) == entities, quote


ENTITIES = [
    ("piwik_pro_sa", "Piwik PRO SA", "ul. Św. Antoniego 2/4, 50-073 Wrocław, Poland"),
    ("piwik_pro_gmbh", "Piwik PRO GmbH", "Kurfürstendamm 21, 10719 Berlin, Germany"),
    (
        "piwik_pro_llc",
        "Piwik PRO LLC",
        "222 Broadway, 19th Floor, New York, NY 10038, United States",
    ),
]


@pytest.mark.parametrize(("entity", "name", "address"), ENTITIES, ids=[r[0] for r in ENTITIES])
def test_entity_names_and_addresses(entity: str, name: str, address: str) -> None:
    """Each controller entity has the name and address the text gives."""
    declared = POLICY.entities[entity]
    assert (declared.name, declared.address) == (name, address)


def test_contact_dpo_authority_and_rights() -> None:
    """The DPO address, the supervisory authority and the six listed rights are recorded."""
    contact = POLICY.contact
    # The text: our Data Protection Officer (DPO) can be reached at gdpr@piwik.pro.
    assert contact.dpo == "gdpr@piwik.pro"
    # "in Poland, the President of the Data Protection Office"
    assert "President of the Data Protection Office" in contact.supervisory_authority
    assert "Poland" in contact.supervisory_authority
    for right in ("Access", "Rectification", "Restriction", "Erasure", "Portability", "Object"):
        assert any(right in stated for stated in contact.rights), right
    # "You can change your decisions at anytime"; "completely withdraw your consent"
    assert any("withdraw consent" in stated for stated in contact.rights)


def test_age_rules() -> None:
    """'18 and below' needs parental consent, 'under 13' is never collected, on the website."""
    age = POLICY.age
    # "We forbid the use of the website to individuals age 18 and below, without the
    # consent of a parent or guardian over the age of 18."
    assert age.parental_consent_age == 18
    # "We do not knowingly collect personal data from children under the age of 13."
    assert age.minimum_age == 13
    assert age.scope is AgeScope.ALL_PURPOSES
    assert age.sections == (MARKETING,)
    assert age.unknown_age is UnknownAge.ASSUME_ADULT


def test_policy_version_and_update_date() -> None:
    """'Privacy policy last updated on: 30.08.2024' is the version stamped on consents."""
    assert (POLICY.id, POLICY.version, POLICY.updated) == (
        "piwik-pro",
        "2024-08-30",
        date(2024, 8, 30),
    )


def test_processor_only_purpose() -> None:
    """'Our clients own 100% of the data we gather on their behalf': only that is processor-only."""
    assert [p.id for p in POLICY.purposes if p.processor_only] == ["client_data_processing"]


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


def test_round_trips_through_the_file_format() -> None:
    """Writing the bundled policy and reading it back gives the same policy."""
    again = lawful.loads_policy(lawful.dumps_policy(POLICY))
    assert again == POLICY


# -- the legal review (issue 15, items 15-20) --------------------------------------------

# (purpose, index in its vendors, vendor): a recipient outside the EEA whose safeguard the
# text leaves unstated (Art. 44, 46(1)); `lawful check` warns for each pair.
UNSAFE_TRANSFERS = [
    ("marketing_automation", 0, "hubspot"),
    ("webinars", 0, "goto"),
    ("webinars", 1, "hubspot"),
    ("youtube_videos", 0, "youtube"),
    ("data_subject_requests", 1, "hubspot"),
    ("data_subject_requests", 3, "goto"),
    ("product_onboarding", 1, "hubspot"),
    ("product_onboarding", 2, "intercom"),
    ("product_onboarding_users", 1, "hubspot"),
    ("product_onboarding_users", 2, "intercom"),
    ("support", 0, "intercom"),
    ("support_users", 0, "intercom"),
    ("purchases", 0, "paddle"),
    ("recruitment", 0, "google_workspace"),
    ("recruitment", 1, "traffit"),
    ("recruitment", 2, "piwik_pro_llc"),
]

RECRUITMENT_CO_CONTROLLER = [
    (
        lambda: POLICY.controllers["recruitment"],
        ("piwik_pro_sa", "piwik_pro_gmbh", "piwik_pro_llc"),
        "The data controller for (3) Recruitment is: ... and Piwik PRO LLC",
        "Art. 26, 13(1)(a)",
    ),
    (
        lambda: POLICY.entities["piwik_pro_llc"].country,
        "US",
        "Piwik PRO LLC (222 Broadway, 19th Floor, New York, NY 10038, United States)",
        "Art. 13(1)(a)",
    ),
    (
        lambda: "piwik_pro_llc" in POLICY.purpose("recruitment").vendors,
        True,
        "The recruitment process is shared within the Piwik PRO group ... Piwik PRO LLC",
        "Art. 13(1)(e)",
    ),
    (
        lambda: (
            POLICY.vendor("piwik_pro_llc").outside_eea,
            POLICY.vendor("piwik_pro_llc").transfer,
        ),
        (True, NOT),
        "no safeguard stated for the group's recruitment in New York",
        "Art. 44-46, 13(1)(f)",
    ),
    (
        lambda: POLICY.vendor("piwik_pro_llc").role,
        VendorRole.FIRST_PARTY,
        "Piwik PRO group ... Piwik PRO LLC: a controller of recruitment, not a processor",
        "Art. 26",
    ),
]


@pytest.mark.parametrize(
    ("read", "expected", "quote", "article"),
    RECRUITMENT_CO_CONTROLLER,
    ids=["controllers", "entity", "recipient", "transfer", "role"],
)
def test_item_15_recruitment_co_controller(
    read: Callable[[], object], expected: object, quote: str, article: str
) -> None:
    """Item 15: Piwik PRO LLC is a controller of recruitment and a recipient in New York
    whose transfer has no stated safeguard."""
    assert read() == expected, f"{article}: {quote}"


PROCESSORS = [
    ("hubspot", "HubSpot is an inbound marketing and sales platform that we use for ..."),
    ("omniconvert", "Omniconvert is a testing and optimization platform we use to create ..."),
    ("goto", "Third parties involved: GoToWebinar / GoTo Technologies (a tool we use)"),
    ("stonly", "we use third-party tools to deliver in-app communication ...: Stonly"),
    ("intercom", "we use third-party tools to deliver in-app communication ...: Intercom"),
    ("google_workspace", "we use software from external partners such as Google Suite"),
    ("traffit", "we use software from external partners such as ... Traffit"),
]


@pytest.mark.parametrize(("vendor", "quote"), PROCESSORS, ids=[r[0] for r in PROCESSORS])
def test_item_16_tools_are_processors(vendor: str, quote: str) -> None:
    """Item 16: the tools Piwik PRO uses act for it under Art. 28: processors, and the
    settings text lists them as processors, not as third parties."""
    declared = POLICY.vendor(vendor)
    assert declared.role is VendorRole.PROCESSOR, f"Art. 28: {quote}"
    entries = {e.split("\n", 1)[0]: e for e in render_settings(POLICY).split("\n### ")[1:]}
    for purpose in POLICY.purposes:
        if vendor in purpose.vendors:
            entry = entries[purpose.title]
            third = entry.split("**Which third parties:** ", 1)[1].split("\n", 1)[0]
            assert _md(declared.name) not in third, purpose.id
            processors = entry.split("**Processors acting for us (Art. 28):** ", 1)[1]
            assert processors.startswith(_md(declared.name)) or (
                f"; {_md(declared.name)}" in processors.split("\n", 1)[0]
            ), purpose.id


def test_item_16_paddle_stays_a_third_party() -> None:
    """Item 16: 'Paddle, our Merchant of Record' sells in its own name (Art. 4(10))."""
    assert POLICY.vendor("paddle").role is VendorRole.THIRD_PARTY
    assert POLICY.vendor("youtube").role is VendorRole.THIRD_PARTY


@pytest.mark.parametrize(
    ("purpose", "covered"),
    [(p.id, p.section == MARKETING) for p in POLICY.purposes],
    ids=[p.id for p in POLICY.purposes],
)
def test_item_17_age_rule_covers_the_website_only(purpose: str, covered: bool) -> None:
    """Item 17: 'We forbid the use of the website to individuals age 18 and below' reaches
    the website's purposes, not job applications or client contracts (the clause, not Art. 8)."""
    sections = POLICY.age.sections
    assert (POLICY.purpose(purpose).section in sections) is covered


def test_item_17_settings_cite_the_clause_not_art_8_alone() -> None:
    """Item 17: an age rule wider than Art. 8 (18, every basis) is shown as the policy's own."""
    children = render_settings(POLICY).split("**Children:** ", 1)[1].split("\n", 1)[0]
    assert "a rule of this policy (age), wider than Art. 8 GDPR" in children
    assert "Marketing and sales" in children


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


READINGS = [
    # (where, words the notes must contain, what the seed leaves open)
    ("purposes.session_statistics", "30 minutes", "the end of each browsing session"),
    ("purposes.session_statistics", "read as legitimate interests", "no basis stated"),
    ("purposes.aggregated_usage_metrics", "read as legitimate interests", "necessary processing"),
    ("purposes.information_by_email", "Read as consent", "no basis stated"),
    ("purposes.data_subject_requests", "legal obligation", "no basis stated"),
    ("purposes.product_onboarding_users", "legitimate interests", "no basis stated"),
    ("purposes.support_users", "legitimate interests", "no basis stated"),
    ("purposes.fraud_prevention", "ePrivacy Art. 5(3)", "does not require user consent"),
    ("purposes.recruitment", "not consent (Art. 4(11), 7(2))", "you acknowledge our policy"),
    ("purposes.marketing_automation", "6-month rule", "we didn't hear back from you since"),
    ("vendors.hubspot", "no safeguard", "hosted in U.S.-based data centers"),
    ("vendors.goto", "Where it hosts is not stated", "GoToWebinar / GoTo Technologies"),
    ("vendors.youtube", "no safeguard stated", "YouTube is a U.S.-based service."),
    ("vendors.intercom", "no safeguard stated", "Intercom (data hosted in the USA)"),
    ("vendors.paddle", "merchant of record", "Paddle, our Merchant of Record"),
    ("vendors.google_workspace", "not stated", "Google Suite"),
    ("vendors.traffit", "not stated", "Traffit"),
    ("vendors.piwik_pro_llc", "Art. 26(2)", "shared within the Piwik PRO group"),
    ("vendors.microsoft_azure", "no safeguard", "Microsoft Azure United States (US East)"),
    ("vendors.leaseweb", "no safeguard", "Leaseweb in the US and Germany"),
]


def _notes(where: str) -> str:
    kind, ident = where.split(".")
    return POLICY.purpose(ident).notes if kind == "purposes" else POLICY.vendor(ident).notes


@pytest.mark.parametrize(("where", "words", "quote"), READINGS, ids=[r[0] for r in READINGS])
def test_item_19_readings_are_data(where: str, words: str, quote: str) -> None:
    """Item 19: each reading of a vague sentence is a note, shown by render and the Art. 30
    record (Art. 5(2): the controller can show how it reads its own text)."""
    notes = _notes(where)
    assert words in notes, quote
    purposes = (
        [POLICY.purpose(where.split(".")[1])]
        if where.startswith("purposes.")
        else [p for p in POLICY.purposes if where.split(".")[1] in p.vendors]
    )
    rows = {r["Purpose"]: r["Notes"] for r in csv.DictReader(io.StringIO(render_ropa(POLICY)))}
    for purpose in purposes:
        assert notes in rows[f"{purpose.title} ({purpose.id})"]
    assert _md(notes) in render_settings(POLICY)


PROFILING = [
    ("webinars", "real person", "to increase the probability that (a) you're a real human"),
    ("webinars", "target market audience", "(b) you're affiliated with a company close to ..."),
    ("marketing_automation", "personalise the website", "website personalization"),
    ("marketing_automation", "combines it with what our CRM", "integrating CRM data about leads"),
    ("analytics", "builds a profile of your browsing", "we create user profiles"),
    ("conversion_tracking", "fingerprinting", "based on cookies, IP and fingerprinting"),
]


@pytest.mark.parametrize(("purpose", "words", "quote"), PROFILING)
def test_item_19_profiling_is_in_the_statement(purpose: str, words: str, quote: str) -> None:
    """Item 19: the profiling the text discloses is part of what people consent to
    (Art. 13(1)(c), 4(4)), so it is in the purpose statement, not only in a note."""
    assert words in POLICY.purpose(purpose).statement, quote


@pytest.mark.parametrize(("purpose", "index", "vendor"), UNSAFE_TRANSFERS)
def test_item_20_check_warns_per_purpose_and_vendor(purpose: str, index: int, vendor: str) -> None:
    """Item 20: `lawful check` says which purposes a missing safeguard denies (Art. 44, 46(1))."""
    assert POLICY.purpose(purpose).vendors[index] == vendor
    found = {w.path: w.message for w in POLICY.warnings}
    message = found[f"purposes.{purpose}.vendors[{index}]"]
    assert "transfer_safeguard_missing" in message
    assert f"vendors.{vendor}" in message


def test_item_20_every_unstated_transfer_is_listed() -> None:
    """Item 20: the table covers every purpose/vendor pair with an unstated safeguard."""
    pairs = {
        (p.id, i, v)
        for p in POLICY.purposes
        if not p.processor_only
        for i, v in enumerate(p.vendors)
        if POLICY.vendor(v).outside_eea and POLICY.vendor(v).transfer is NOT
    }
    assert pairs == set(UNSAFE_TRANSFERS)


def test_effective_from_is_the_update_day_in_wroclaw() -> None:
    """'Privacy policy last updated on: 30.08.2024': in force from that day, Polish time."""
    assert POLICY.effective_from == datetime(2024, 8, 30, tzinfo=timezone(timedelta(hours=2)))


# -- what `lawful check` reports -------------------------------------------------------------

_TRANSFER = "transfer outside the EEA"
_RETENTION = "no retention period stated"
_LIA = "legitimate interests without a reference to the balancing test"
_DEVICE = "reads or writes the device on legitimate interests without a strictly-necessary"
EXPECTED_WARNINGS = {
    "vendors.hubspot.transfer": _TRANSFER,
    "vendors.goto.transfer": _TRANSFER,
    "vendors.youtube.transfer": _TRANSFER,
    "vendors.intercom.transfer": _TRANSFER,
    "vendors.paddle.transfer": _TRANSFER,
    "vendors.microsoft_azure.transfer": _TRANSFER,
    "vendors.leaseweb.transfer": _TRANSFER,
    "vendors.google_workspace.transfer": _TRANSFER,
    "vendors.traffit.transfer": _TRANSFER,
    "vendors.piwik_pro_llc.transfer": _TRANSFER,
    "purposes.youtube_videos.retention": _RETENTION,
    "purposes.fraud_prevention.assessment": _LIA,
    "purposes.fraud_prevention.retention": _RETENTION,
    "purposes.fraud_prevention.device_access": _DEVICE,
    "purposes.aggregated_usage_metrics.assessment": _LIA,
    "purposes.aggregated_usage_metrics.device_access": _DEVICE,
    "purposes.session_statistics.assessment": _LIA,
    "purposes.session_statistics.device_access": _DEVICE,
    "purposes.information_by_email.retention": _RETENTION,
    "purposes.data_subject_requests.retention": _RETENTION,
    "purposes.product_onboarding.retention": _RETENTION,
    "purposes.product_onboarding_users.assessment": _LIA,
    "purposes.product_onboarding_users.retention": _RETENTION,
    "purposes.support.retention": _RETENTION,
    "purposes.support_users.assessment": _LIA,
    "purposes.support_users.retention": _RETENTION,
    "purposes.database_export.retention": _RETENTION,
    "purposes.purchases.retention": _RETENTION,
    **{f"purposes.{p}.vendors[{i}]": f"vendor {v} (" for p, i, v in UNSAFE_TRANSFERS},
}


def test_check_reports_only_what_the_text_leaves_unstated() -> None:
    """Every warning is a safeguard, period, assessment or justification the text omits."""
    found = {w.path: w.message for w in POLICY.warnings}
    assert set(found) == set(EXPECTED_WARNINGS)
    for path, start in EXPECTED_WARNINGS.items():
        assert found[path].startswith(start), path
    assert all(w.severity == "warning" for w in POLICY.warnings)


# -- decisions -----------------------------------------------------------------------------


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
    return policy.may_process(subject, purpose, at, collected_at=collected_at, vendor=vendor).code


def test_analytics_needs_consent() -> None:
    """Analytics is denied without consent and allowed once it is given."""
    later = T0.replace(month=4)
    assert _decide(POLICY, _subject(), "analytics", later) is ReasonCode.NO_CONSENT
    consented = _subject(ConsentGiven(at=T0, purpose="analytics", policy_version="2024-08-30"))
    assert POLICY.may_process(consented, "analytics", later).allowed


def test_fraud_prevention_needs_consent_for_device_access() -> None:
    """fraud0 runs on legitimate interests, yet its JavaScript and pixel need consent (ePrivacy)."""
    later = T0.replace(month=4)
    denied = POLICY.may_process(_subject(), "fraud_prevention", later)
    assert not denied.allowed
    assert denied.basis is LI
    assert denied.code is ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED
    consented = _subject(ConsentGiven(at=T0, purpose="fraud_prevention"))
    allowed = POLICY.may_process(consented, "fraud_prevention", later)
    assert allowed.allowed
    assert allowed.code is ReasonCode.LEGITIMATE_INTEREST


def test_processor_only_purpose_is_denied_processor_only() -> None:
    """Data processed only on clients' behalf is the client's to decide: PROCESSOR_ONLY."""
    code = _decide(POLICY, _subject(), "client_data_processing", T0)
    assert code is ReasonCode.PROCESSOR_ONLY


_CONSENTED = ConsentGiven(at=T0, purpose="x")
_CONTRACT = ContractStarted(at=T0, contract="c-1")
# (purpose, what would allow it but for the transfer, the subject's categories)
TRANSFERS_DENIED = [
    ("marketing_automation", "consent", ("visitor",)),
    ("webinars", "consent", ("visitor",)),
    ("youtube_videos", "consent", ("visitor",)),
    ("data_subject_requests", None, None),
    ("product_onboarding", "contract", ("client",)),
    ("product_onboarding_users", None, ("client_user",)),
    ("support", "contract", ("client",)),
    ("support_users", None, ("client_user",)),
    ("purchases", "contract", ("client",)),
    ("recruitment", "consent", ("job_applicant",)),
]


def _history(purpose: str, needs: str | None) -> tuple[Event, ...]:
    if needs == "consent":
        return (ConsentGiven(at=T0, purpose=purpose, policy_version="2024-08-30"),)
    if needs == "contract":
        return (_CONTRACT,)
    return ()


@pytest.mark.parametrize(
    ("purpose", "needs", "categories"), TRANSFERS_DENIED, ids=[r[0] for r in TRANSFERS_DENIED]
)
def test_stating_the_safeguards_allows(
    purpose: str, needs: str | None, categories: tuple[str, ...] | None
) -> None:
    """With every safeguard stated, each of these purposes is allowed on its basis: the only
    thing between them and an allow in the bundled policy is the unstated transfer."""
    subject = _subject(*_history(purpose, needs), categories=categories)
    assert STATED.may_process(subject, purpose, T0.replace(hour=12)).allowed


@pytest.mark.parametrize(
    ("purpose", "needs", "categories"), TRANSFERS_DENIED, ids=[r[0] for r in TRANSFERS_DENIED]
)
def test_unstated_safeguard_denies(
    purpose: str, needs: str | None, categories: tuple[str, ...] | None
) -> None:
    """Item 20: a purpose involving a vendor outside the EEA whose safeguard the text leaves
    unstated cannot be shown lawful (Art. 44, 46(1)): TRANSFER_SAFEGUARD_MISSING."""
    subject = _subject(*_history(purpose, needs), categories=categories)
    code = _decide(POLICY, subject, purpose, T0.replace(hour=12))
    assert code is ReasonCode.TRANSFER_SAFEGUARD_MISSING


def test_a_rights_request_can_be_answered_with_the_eea_tools() -> None:
    """Naming an EEA vendor answers a request without the transfers the text leaves unstated."""
    code = _decide(
        POLICY, _subject(), "data_subject_requests", T0, vendor="piwik_pro_analytics_suite"
    )
    assert code is ReasonCode.LEGAL_OBLIGATION


AGES = [
    (12, False, ReasonCode.BELOW_MINIMUM_AGE),
    (13, True, ReasonCode.CONSENT_GIVEN),
    (15, False, ReasonCode.PARENTAL_CONSENT_REQUIRED),
    (15, True, ReasonCode.CONSENT_GIVEN),
    (18, False, ReasonCode.PARENTAL_CONSENT_REQUIRED),
    (19, False, ReasonCode.CONSENT_GIVEN),
]


@pytest.mark.parametrize(("age", "parental", "code"), AGES)
def test_children(age: int, parental: bool, code: ReasonCode) -> None:
    """Under 13 never; 13 to 18 inclusive only with a parent's consent in force."""
    born = date(2025 - age, 1, 1)
    events: list[Event] = [BirthDateDeclared(at=T0, birth_date=born)]
    if parental:
        events.append(ParentalConsentGiven(at=T0))
    events.append(ConsentGiven(at=T0, purpose="analytics"))
    assert _decide(POLICY, _subject(*events), "analytics", T0.replace(month=4)) is code


def test_a_fifteen_year_old_is_stopped_on_legitimate_interests_on_the_website() -> None:
    """'the use of the website' covers every basis: fraud prevention stops for a child too."""
    subject = _subject(
        AgeDeclared(at=T0, at_least=15), ConsentGiven(at=T0, purpose="fraud_prevention")
    )
    code = _decide(POLICY, subject, "fraud_prevention", T0)
    assert code is ReasonCode.PARENTAL_CONSENT_REQUIRED


@pytest.mark.parametrize(
    ("purpose", "events", "code"),
    [
        ("database_export", (_CONTRACT,), ReasonCode.CONTRACT),
        (
            "recruitment",
            (ConsentGiven(at=T0, purpose="recruitment", policy_version="2024-08-30"),),
            ReasonCode.CONSENT_GIVEN,
        ),
    ],
)
def test_item_17_age_rule_does_not_reach_contracts_or_applications(
    purpose: str, events: tuple[Event, ...], code: ReasonCode
) -> None:
    """Item 17: the website's age rule (AgeRules.sections) does not stop a 15-year-old's
    client contract or job application."""
    subject = _subject(AgeDeclared(at=T0, at_least=15), *events)
    assert _decide(STATED, subject, purpose, T0.replace(hour=12)) is code


def test_item_17_age_denial_cites_the_clause() -> None:
    """Item 17: a rule wider than Art. 8 (18, every basis) cites the policy clause, not
    Art. 8 alone."""
    subject = _subject(AgeDeclared(at=T0, at_least=15), ConsentGiven(at=T0, purpose="analytics"))
    reason = POLICY.may_process(subject, "analytics", T0).reason
    assert reason.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert reason.clause is not None
    assert reason.article != "Art. 8(1)"


def test_a_child_can_still_exercise_their_rights() -> None:
    """Age rules never stop a legal obligation: a 15-year-old's rights request is answered
    (Art. 6(1)(c), Art. 12)."""
    subject = _subject(AgeDeclared(at=T0, at_least=15))
    assert _decide(STATED, subject, "data_subject_requests", T0) is ReasonCode.LEGAL_OBLIGATION


_APPLIED = datetime(2024, 9, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (datetime(2027, 9, 2, 8, 59, tzinfo=UTC), ReasonCode.CONSENT_GIVEN),
        (datetime(2027, 9, 2, 9, tzinfo=UTC), ReasonCode.RETENTION_EXCEEDED),
        (datetime(2028, 1, 1, tzinfo=UTC), ReasonCode.RETENTION_EXCEEDED),
    ],
)
def test_recruitment_data_is_kept_at_most_36_months(at: datetime, code: ReasonCode) -> None:
    """Application data collected 36 months ago or more is denied, consent or not."""
    subject = _subject(ConsentGiven(at=_APPLIED, purpose="recruitment"))
    assert _decide(STATED, subject, "recruitment", at, collected_at=_APPLIED) is code


@pytest.mark.parametrize(
    ("events", "collected", "at", "code"),
    [
        # No exchange: "after 6 months from collection".
        ((), T0, datetime(2025, 9, 3, 9, tzinfo=UTC), ReasonCode.CONSENT_GIVEN),
        ((), T0, datetime(2025, 9, 3, 10, tzinfo=UTC), ReasonCode.RETENTION_EXCEEDED),
        # A content download is no exchange.
        (
            ("content_download",),
            T0,
            datetime(2025, 9, 4, tzinfo=UTC),
            ReasonCode.RETENTION_EXCEEDED,
        ),
        # "after 24 months from the last exchange" (a demo request, here a month after).
        (("demo_request",), T0, datetime(2027, 4, 3, 9, tzinfo=UTC), ReasonCode.CONSENT_GIVEN),
        (
            ("demo_request",),
            T0,
            datetime(2027, 4, 3, 10, tzinfo=UTC),
            ReasonCode.RETENTION_EXCEEDED,
        ),
    ],
)
def test_hubspot_retention(
    events: tuple[str, ...], collected: datetime, at: datetime, code: ReasonCode
) -> None:
    """HubSpot keeps data 24 months after the last exchange, else 6 months after collection."""
    history: list[Event] = [ConsentGiven(at=T0, purpose="marketing_automation")]
    history += [Interaction(at=T0.replace(month=4), kind=kind) for kind in events]
    got = _decide(STATED, _subject(*history), "marketing_automation", at, collected_at=collected)
    assert got is code


@pytest.mark.parametrize(
    ("minutes", "code"),
    [(29, ReasonCode.LEGITIMATE_INTEREST), (30, ReasonCode.RETENTION_EXCEEDED)],
)
def test_session_identifier_ends_after_30_minutes(minutes: int, code: ReasonCode) -> None:
    """The temporary identifier's data goes when the session ends: 30 minutes without activity."""
    subject = _subject(ConsentGiven(at=T0, purpose="session_statistics"))
    at = T0.replace(minute=minutes)
    assert _decide(POLICY, subject, "session_statistics", at, collected_at=T0) is code


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


def test_marketing_automation_withdrawal() -> None:
    """A later withdrawal of marketing automation denies from its instant on."""
    subject = _subject(
        ConsentGiven(at=T0, purpose="marketing_automation"),
        ConsentWithdrawn(at=T0.replace(month=5), purpose="marketing_automation"),
    )
    assert _decide(STATED, subject, "marketing_automation", T0.replace(month=4)) is (
        ReasonCode.CONSENT_GIVEN
    )
    assert _decide(STATED, subject, "marketing_automation", T0.replace(month=5)) is (
        ReasonCode.CONSENT_WITHDRAWN
    )


@pytest.mark.parametrize(
    ("purpose", "categories", "events", "code"),
    [
        ("support", ("client",), (_CONTRACT,), ReasonCode.CONTRACT),
        ("support", ("client",), (), ReasonCode.NO_CONTRACT),
        ("support_users", ("client_user",), (), ReasonCode.LEGITIMATE_INTEREST),
        ("support_users", ("visitor",), (), ReasonCode.SUBJECT_NOT_COVERED),
        ("support_users", ("client_user",), (Objection(at=T0),), ReasonCode.OBJECTED),
    ],
)
def test_product_basis_per_party(
    purpose: str, categories: tuple[str, ...], events: tuple[Event, ...], code: ReasonCode
) -> None:
    """The client is served under its contract, its users on legitimate interests."""
    subject = _subject(*events, categories=categories)
    assert _decide(STATED, subject, purpose, T0.replace(hour=12)) is code
