"""The bundled Piwik PRO policy's controllers, contact, version, and what ``lawful check`` says.

Each section's controllers with their names and addresses (recruitment shared with
Piwik PRO LLC, item 15); the DPO, the authority and the rights; the version and the day
it took effect; a round trip through the file format; and ``lawful check``'s warnings,
exactly what the text leaves unstated (item 20).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone

import pytest
from tests.bundled._piwik_pro import (
    CONTROLLERS,
    NOT,
    POLICY,
)

import lawful
from lawful import (
    VendorRole,
)

# -- controllers and contact ---------------------------------------------------------------


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


# -- version and file ----------------------------------------------------------------------


def test_policy_version_and_update_date() -> None:
    """'Privacy policy last updated on: 30.08.2024' is the version stamped on consents."""
    assert (POLICY.id, POLICY.version, POLICY.updated) == (
        "piwik-pro",
        "2024-08-30",
        date(2024, 8, 30),
    )


def test_effective_from_is_the_update_day_in_wroclaw() -> None:
    """'Privacy policy last updated on: 30.08.2024': in force from that day, Polish time."""
    assert POLICY.effective_from == datetime(2024, 8, 30, tzinfo=timezone(timedelta(hours=2)))


def test_round_trips_through_the_file_format() -> None:
    """Writing the bundled policy and reading it back gives the same policy."""
    again = lawful.loads_policy(lawful.dumps_policy(POLICY))
    assert again == POLICY


# -- what `lawful check` reports -----------------------------------------------------------

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
