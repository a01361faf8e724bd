"""The consent banner, fed by the policy: its JSON and a dependency-free reference page.

>>> import lawful
>>> from lawful.banner import banner_data
>>> data = banner_data(lawful.bundled_policy("piwik-pro"), subject_category="visitor")
>>> [p["id"] for p in data["purposes"]][:2]
['analytics', 'conversion_tracking']
>>> data["purposes"][0]["vendors"][0]["hosting"]
'Orange Cloud infrastructure, France'

``lawful banner POLICY`` prints :func:`banner_data` as JSON; ``lawful banner POLICY
--html`` prints :func:`banner_page`. The script and style sheet ship in the package
(:func:`static_file`); see ``docs/howto/banner.md``.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Final

from lawful._render_text import device_words, retention_words, where, withdraw_words
from lawful.contrib._core import CHOICES, consent_purposes
from lawful.model import LegalBasis, Purpose
from lawful.policy import Policy

__all__ = ["FORMAT", "banner_data", "banner_page", "static_file"]

FORMAT: Final = 1
"""The version of the JSON :func:`banner_data` writes; a breaking change raises it."""


def static_file(name: str) -> str:
    """The text of a file shipped with the banner: ``banner.js``, ``banner.css`` or
    ``page.html`` (the template :func:`banner_page` fills).
    """
    return resources.files(__name__).joinpath("static", name).read_text(encoding="utf-8")


def _purpose(policy: Policy, purpose: Purpose, notice_url: str | None) -> dict[str, object]:
    by_consent = purpose.basis is LegalBasis.CONSENT
    return {
        "id": purpose.id,
        "title": purpose.title,
        "statement": purpose.statement,
        "basis": purpose.basis.value,
        # Why a consent is asked: the basis itself, or only the device access (ePrivacy).
        "why": "consent" if by_consent else "device_access",
        "article": purpose.basis.article if by_consent else "ePrivacy Art. 5(3)",
        "data": [
            {"id": c.id, "title": c.title, "special": c.special}
            for c in (policy.data_category(d) for d in purpose.data)
        ],
        "vendors": [
            {
                "id": v.id,
                "name": v.name,
                "role": v.role.value,
                "hosting": v.hosting,
                "outside_eea": v.outside_eea,
                "transfer": v.transfer.value,
                "where": where(v),
            }
            for v in (policy.vendor(v) for v in purpose.vendors)
        ],
        "device_access": purpose.device_access,
        "device": device_words(purpose),
        "retention": retention_words(purpose.retention),
        "consent_lifetime": None
        if purpose.consent_lifetime is None
        else str(purpose.consent_lifetime),
        "per_vendor_consent": purpose.per_vendor_consent,
        "withdrawal": withdraw_words(purpose, policy),
        "notice_url": None if notice_url is None else f"{notice_url}#{purpose.id}",
    }


def banner_data(
    policy: Policy, *, notice_url: str | None = None, subject_category: str | None = None
) -> dict[str, object]:
    """What a front end needs to ask for consent, from the policy: the purposes that
    need consent (:func:`lawful.contrib.needs_consent`), each with its statement, data,
    vendors and where they host, device access, retention and how to withdraw.

    Args:
        policy: The policy.
        notice_url: Where the full privacy notice is published; each purpose links to
            ``{notice_url}#{purpose id}``.
        subject_category: Only purposes covering this data-subject category (such as
            ``visitor``).
    """
    ids = consent_purposes(policy, subject_category=subject_category)
    return {
        "format": FORMAT,
        "policy": {
            "id": policy.id,
            "version": policy.version,
            "title": policy.title,
            "updated": None if policy.updated is None else policy.updated.isoformat(),
        },
        "notice": {
            "url": notice_url,
            "dpo": policy.contact.dpo,
            "supervisory_authority": policy.contact.supervisory_authority,
        },
        "choices": list(CHOICES),
        "purposes": [_purpose(policy, policy.purpose(pid), notice_url) for pid in ids],
    }


def _script_json(data: object) -> str:
    # Inside <script>, "</" would end the element: escape what HTML could read as markup.
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def banner_page(
    policy: Policy,
    *,
    endpoint: str = "/lawful/consent",
    decisions: str = "/lawful/decisions",
    notice_url: str | None = None,
    subject_category: str | None = None,
) -> str:
    """A complete HTML page with the reference banner, its data, style and script inline.

    Args:
        policy: The policy.
        endpoint: The integration's consent endpoint.
        decisions: The integration's decisions endpoint.
        notice_url: See :func:`banner_data`.
        subject_category: See :func:`banner_data`.
    """
    data = banner_data(policy, notice_url=notice_url, subject_category=subject_category)
    page = static_file("page.html")
    for name, value in (
        ("{{endpoint}}", html.escape(endpoint)),
        ("{{decisions}}", html.escape(decisions)),
        ("{{css}}", static_file("banner.css")),
        ("{{js}}", static_file("banner.js")),
        ("{{data}}", _script_json(data)),
    ):
        page = page.replace(name, value)
    return page
