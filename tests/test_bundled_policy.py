"""The bundled Piwik PRO policy against its text, one checklist row per statement.

Each row quotes the sentence of the policy (last updated 30.08.2024) that it checks.
Where the text is vague, the row pins the protective reading the policy file documents.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

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

POLICY = lawful.bundled_policy("piwik-pro")
CONSENT = LegalBasis.CONSENT
LI = LegalBasis.LEGITIMATE_INTERESTS
CONTRACT = LegalBasis.CONTRACT
MARKETING = "marketing_and_sales"
T0 = datetime(2025, 3, 3, 10, tzinfo=UTC)


def _months(n: int) -> Duration:
    return Duration(months=n)


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
        "tied to a temporary identifier (basis not stated: read as Art. 6(1)(f))",
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
        {"google_workspace", "traffit"},
        "we use software from external partners such as Google Suite and Traffit",
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
        "omniconvert",
        THIRD,
        "European servers of Amazon AWS",
        False,
        NA,
        "Omniconvert is hosted on European servers by Amazon AWS (U.S.-based company).",
    ),
    (
        "hubspot",
        THIRD,
        "U.S.-based data centers",
        True,
        NOT,
        "HubSpot products are hosted in U.S.-based data centers",
    ),
    (
        "goto",
        THIRD,
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
    ("stonly", THIRD, "EEA", False, NA, "Stonly (data hosted in EEA)"),
    ("intercom", THIRD, "United States", True, NOT, "Intercom (data hosted in the USA)"),
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
    ("google_workspace", THIRD, "not stated", True, NOT, "Google Suite (hosting not stated)"),
    ("traffit", THIRD, "not stated", True, NOT, "Traffit (hosting not stated)"),
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
    """'18 and below' needs parental consent, 'under 13' is never collected, for any purpose."""
    age = POLICY.age
    # "We forbid the use of the website to individuals age 18 and below, without the
    # consent of a parent or guardian over the age of 18."
    assert age.parental_consent_age == 18
    # "We do not knowingly collect personal data from children under the age of 13."
    assert age.minimum_age == 13
    assert age.scope is AgeScope.ALL_PURPOSES
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
        "analytics": ("analytics", "session_statistics", "aggregated_usage_metrics"),
        "conversion_tracking": ("conversion_tracking",),
        "ab_testing_and_personalization": ("ab_testing_personalization",),
        "marketing_automation": ("marketing_automation",),
    }
    assert POLICY.signals.tcf == ()


def test_round_trips_through_the_file_format() -> None:
    """Writing the bundled policy and reading it back gives the same policy."""
    again = lawful.loads_policy(lawful.dumps_policy(POLICY))
    assert again == POLICY


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
    "purposes.youtube_videos.retention": _RETENTION,
    "purposes.fraud_prevention.assessment": _LIA,
    "purposes.fraud_prevention.retention": _RETENTION,
    "purposes.fraud_prevention.device_access": _DEVICE,
    "purposes.session_statistics.assessment": _LIA,
    "purposes.session_statistics.device_access": _DEVICE,
    "purposes.aggregated_usage_metrics.assessment": _LIA,
    "purposes.aggregated_usage_metrics.device_access": _DEVICE,
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
}


def test_check_reports_only_what_the_text_leaves_unstated() -> None:
    """Every warning is a safeguard, period, assessment or justification the text omits."""
    found = {w.path: w.message for w in POLICY.warnings}
    assert set(found) == set(EXPECTED_WARNINGS)
    for path, start in EXPECTED_WARNINGS.items():
        assert found[path].startswith(start), path
    assert all(w.severity == "warning" for w in POLICY.warnings)


# -- decisions -----------------------------------------------------------------------------


def _subject(*events: Event, categories: tuple[str, ...] | None = None) -> Subject:
    return Subject("s", events, categories=categories)


def _decide(
    policy: Policy,
    subject: Subject,
    purpose: str,
    at: datetime,
    *,
    collected_at: datetime | None = None,
) -> ReasonCode:
    return policy.may_process(subject, purpose, at, collected_at=collected_at).code


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


def test_a_fifteen_year_old_is_denied_on_every_purpose() -> None:
    """The age rule covers every purpose, so legitimate interests are stopped too."""
    subject = _subject(AgeDeclared(at=T0, at_least=15), ContractStarted(at=T0, contract="c"))
    assert _decide(POLICY, subject, "support", T0) is ReasonCode.PARENTAL_CONSENT_REQUIRED


def test_a_child_can_still_exercise_their_rights() -> None:
    """Age rules never stop a legal obligation: a 15-year-old's rights request is answered
    (Art. 6(1)(c), Art. 12)."""
    subject = _subject(AgeDeclared(at=T0, at_least=15))
    assert _decide(POLICY, subject, "data_subject_requests", T0) is ReasonCode.LEGAL_OBLIGATION


@pytest.mark.parametrize(
    ("collected", "code"),
    [
        (datetime(2022, 3, 4, tzinfo=UTC), ReasonCode.CONSENT_GIVEN),
        (datetime(2022, 3, 3, 10, tzinfo=UTC), ReasonCode.RETENTION_EXCEEDED),
        (datetime(2021, 1, 1, tzinfo=UTC), ReasonCode.RETENTION_EXCEEDED),
    ],
)
def test_recruitment_data_is_kept_at_most_36_months(collected: datetime, code: ReasonCode) -> None:
    """Application data collected 36 months ago or more is denied, consent or not."""
    subject = _subject(ConsentGiven(at=datetime(2020, 1, 1, tzinfo=UTC), purpose="recruitment"))
    assert _decide(POLICY, subject, "recruitment", T0, collected_at=collected) is code


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
    got = _decide(POLICY, _subject(*history), "marketing_automation", at, collected_at=collected)
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
    assert _decide(POLICY, subject, purpose, T0.replace(hour=12)) is code


def test_marketing_automation_withdrawal() -> None:
    """A later withdrawal of marketing automation denies from its instant on."""
    subject = _subject(
        ConsentGiven(at=T0, purpose="marketing_automation"),
        ConsentWithdrawn(at=T0.replace(month=5), purpose="marketing_automation"),
    )
    assert _decide(POLICY, subject, "marketing_automation", T0.replace(month=4)) is (
        ReasonCode.CONSENT_GIVEN
    )
    assert _decide(POLICY, subject, "marketing_automation", T0.replace(month=5)) is (
        ReasonCode.CONSENT_WITHDRAWN
    )


@pytest.mark.parametrize(
    ("purpose", "categories", "events", "code"),
    [
        ("support", ("client",), (ContractStarted(at=T0, contract="c-1"),), ReasonCode.CONTRACT),
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
    assert _decide(POLICY, subject, purpose, T0.replace(hour=12)) is code
