"""The bundled Piwik PRO policy's vendors: roles, hosting, and transfers (Art. 28, 44-46).

Each purpose's recipients and each vendor's role, hosting and transfer safeguard as the
text states them; the tools that act for Piwik PRO are processors (item 16); a transfer
whose safeguard the text leaves unstated denies, and stating it allows (item 20).
"""

from __future__ import annotations

import pytest
from tests.bundled._piwik_pro import (
    _CONTRACT,
    POLICY,
    PURPOSE_VENDORS,
    STATED,
    T0,
    VENDORS,
    _decide,
    _md,
    _subject,
)

from lawful import (
    ConsentGiven,
    Event,
    ReasonCode,
    TransferMechanism,
    VendorRole,
)
from lawful.render import render_settings

# -- recipients and roles ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("purpose", "vendors", "quote"), PURPOSE_VENDORS, ids=[r[0] for r in PURPOSE_VENDORS]
)
def test_purpose_vendors(purpose: str, vendors: set[str], quote: str) -> None:
    """Each purpose names exactly the recipients the text involves."""
    assert set(POLICY.purpose(purpose).vendors) == vendors, quote


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


# -- transfers decided ---------------------------------------------------------------------

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
