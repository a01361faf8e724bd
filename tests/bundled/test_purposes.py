"""The bundled Piwik PRO policy's purposes: basis, section, data, withdrawal, decisions.

Each purpose's basis and section, the data categories it names and how its consent is
withdrawn, as the text states them (the rows in _piwik_pro.py quote it); the readings of
vague sentences kept as notes (item 19); and the decisions that follow on each basis.
"""

from __future__ import annotations

import csv
import io

import pytest
from tests.bundled._piwik_pro import (
    _CONTRACT,
    DATA,
    LI,
    POLICY,
    PURPOSES,
    STATED,
    T0,
    _decide,
    _md,
    _subject,
)

from lawful import (
    ConsentGiven,
    ConsentWithdrawn,
    Event,
    LegalBasis,
    Objection,
    ReasonCode,
)
from lawful.render import render_ropa, render_settings

# -- basis and section ---------------------------------------------------------------------


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


def test_processor_only_purpose() -> None:
    """'Our clients own 100% of the data we gather on their behalf': only that is processor-only."""
    assert [p.id for p in POLICY.purposes if p.processor_only] == ["client_data_processing"]


# -- data categories -----------------------------------------------------------------------


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


# -- readings of vague sentences (item 19) -------------------------------------------------

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


# -- decisions on each basis ---------------------------------------------------------------


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
