"""Rendering the policy people read from the policy that decides (lawful.render).

The settings text of the bundled policy states every row of its checklist
(tests/bundled/_piwik_pro.py); the renderings match their snapshots (tests/snapshots,
LAWFUL_UPDATE_SNAPSHOTS=1 rewrites them); the Art. 30 record lists every purpose;
small policies pin the phrases and escaping; ``lawful render`` and ``lawful ropa`` print
what the API returns. Diffs between versions are in tests/test_diff.py.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from tests.bundled import _piwik_pro

import lawful
from lawful import (
    AfterCollection,
    DataCategory,
    Duration,
    LegalBasis,
    NoPeriodStated,
    Policy,
    PolicyError,
    Purpose,
    RestrictionException,
    Retention,
    TransferDerogation,
    TransferMechanism,
    Vendor,
    VendorRole,
)
from lawful.cli import main
from lawful.render import (
    NOT_STATED,
    render_ropa,
    render_settings,
)

# -- the checklist, shared with tests/bundled ----------------------------------------------

HERE = Path(__file__).resolve().parent


SNAPSHOTS = HERE / "snapshots"


PIWIK = lawful.bundled_policy("piwik-pro")


UPDATE = os.environ.get("LAWFUL_UPDATE_SNAPSHOTS") == "1"


SETTINGS = render_settings(PIWIK)


def _sections(text: str) -> dict[str, str]:
    """The settings text of each purpose, by purpose title."""
    parts = text.split("\n### ")[1:]
    return {part.split("\n", 1)[0]: part for part in parts}


BY_TITLE = _sections(SETTINGS)


def _of(purpose_id: str) -> str:
    return BY_TITLE[PIWIK.purpose(purpose_id).title]


def _md(text: str) -> str:
    """How the markdown renderer writes plain text (markdown specials escaped)."""
    return "".join("\\" + c if c in "\\`*_[]<>|#" else c for c in text)


def _rows(name: str) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = getattr(_piwik_pro, name)
    return rows


@pytest.mark.parametrize("row", _rows("PURPOSES"), ids=lambda r: r[0])
def test_settings_state_each_purpose_and_its_basis(row: tuple[Any, ...]) -> None:
    """Every purpose of the checklist has its entry, with its basis and article."""
    purpose_id, basis, _section, quote = row
    entry = _of(purpose_id)
    if not PIWIK.purpose(purpose_id).processor_only:
        assert f"({basis.article} GDPR)" in entry, quote
    assert "**What for:**" in entry


@pytest.mark.parametrize("row", _rows("DATA"), ids=lambda r: r[0])
def test_settings_name_each_data_category(row: tuple[Any, ...]) -> None:
    """Every data category of a purpose is named, by its title, in that purpose's entry."""
    purpose_id, categories, quote = row
    for category in categories:
        assert _md(PIWIK.data_category(category).title) in _of(purpose_id), quote


@pytest.mark.parametrize("row", _rows("PURPOSE_VENDORS"), ids=lambda r: r[0])
def test_settings_name_each_recipient_and_where(row: tuple[Any, ...]) -> None:
    """Every vendor of a purpose is named with where it hosts, in that purpose's entry."""
    purpose_id, vendors, quote = row
    entry = _of(purpose_id)
    for vendor_id in vendors:
        vendor = PIWIK.vendor(vendor_id)
        assert f"{_md(vendor.name)}: {_md(vendor.hosting)}" in entry, quote


@pytest.mark.parametrize("row", _rows("VENDORS"), ids=lambda r: r[0])
def test_settings_state_transfers_and_safeguards(row: tuple[Any, ...]) -> None:
    """A vendor outside the EEA is flagged with its safeguard, or "not stated"."""
    vendor_id, _role, hosting, outside_eea, transfer, quote = row
    vendor = PIWIK.vendor(vendor_id)
    users = [p for p in PIWIK.purposes if vendor_id in p.vendors]
    assert users, vendor_id
    entry = BY_TITLE[users[0].title]
    assert _md(hosting) in entry, quote
    flagged = f"{_md(vendor.hosting)} (outside the EEA; " in entry
    assert flagged is outside_eea, quote
    if transfer is TransferMechanism.NOT_STATED:
        assert "safeguard not stated" in entry


@pytest.mark.parametrize("row", _rows("RETENTION"), ids=lambda r: r[0])
def test_settings_state_each_retention_period(row: tuple[Any, ...]) -> None:
    """Every stated retention period appears in its purpose's "How long"."""
    purpose_id, rules, quote = row
    how_long = _of(purpose_id).split("**How long:** ", 1)[1].split("\n", 1)[0]
    for rule in rules:
        period = getattr(rule, "period", None) or rule.inactivity
        assert str(period) in how_long, quote


@pytest.mark.parametrize("row", _rows("UNSTATED"), ids=lambda r: r[0])
def test_settings_say_not_stated_where_the_policy_is_silent(row: tuple[Any, ...]) -> None:
    """A purpose without a retention period says so rather than invent one."""
    purpose_id, quote = row
    how_long = _of(purpose_id).split("**How long:** ", 1)[1]
    assert how_long.startswith(NOT_STATED), quote


@pytest.mark.parametrize("row", _rows("CONTROLLERS"), ids=lambda r: r[0])
def test_settings_name_the_controllers_of_each_section(row: tuple[Any, ...]) -> None:
    """Each section's controllers are listed with their addresses."""
    section, entities, quote = row
    label = section.replace("_", " ").capitalize()
    line = SETTINGS.split(f"- **{label}:** ", 1)[1].split("\n", 1)[0]
    for entity_id in entities:
        entity = PIWIK.entities[entity_id]
        assert f"{_md(entity.name)}, {_md(entity.address)}" in line, quote


def test_settings_state_contact_rights_and_age() -> None:
    """The DPO, the supervisory authority, every right and both age limits are stated."""
    head = SETTINGS.split("\n## ", 2)[1]
    assert _md(PIWIK.contact.dpo) in head
    assert _md(PIWIK.contact.supervisory_authority) in head
    for right in PIWIK.contact.rights:
        assert _md(right) in head
    assert f"under {PIWIK.age.minimum_age}" in head
    assert f"age of {PIWIK.age.parental_consent_age}" in head


def test_every_purpose_has_exactly_one_entry() -> None:
    """The settings text has one entry per purpose, in policy order."""
    assert list(BY_TITLE) == [p.title for p in PIWIK.purposes]


# -- snapshots -----------------------------------------------------------------------------

RENDERINGS = [
    ("piwik-pro-settings.md", lambda: render_settings(PIWIK)),
    ("piwik-pro-settings.html", lambda: render_settings(PIWIK, format="html")),
    ("piwik-pro-ropa.csv", lambda: render_ropa(PIWIK)),
    ("piwik-pro-ropa.md", lambda: render_ropa(PIWIK, format="markdown")),
]


@pytest.mark.parametrize(("name", "render"), RENDERINGS, ids=[r[0] for r in RENDERINGS])
def test_matches_snapshot(name: str, render: Any) -> None:
    """Each rendering of the bundled policy equals its reviewed snapshot."""
    text: str = render()
    stored = SNAPSHOTS / name
    if UPDATE:
        stored.write_text(text, encoding="utf-8", newline="")
    expected = stored.read_text(encoding="utf-8") if stored.exists() else ""
    assert text == expected, (
        f"{name} differs from tests/snapshots/{name}; review, then accept with "
        "LAWFUL_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_render.py"
    )


# -- the record of processing activities ---------------------------------------------------


def test_ropa_says_not_stated_without_security_measures() -> None:
    """A policy that describes no security measures gets "not stated" in column (g)."""
    silent = attrs.evolve(PIWIK, security_measures=())
    rows = list(csv.DictReader(io.StringIO(render_ropa(silent, format="csv"))))
    assert {row["Security measures"] for row in rows} == {NOT_STATED}


def test_ropa_csv_has_one_row_per_purpose_with_every_column() -> None:
    """The CSV record has a header and one full row per purpose, with the stated security
    measures (Art. 30(1)(g))."""
    rows = list(csv.DictReader(io.StringIO(render_ropa(PIWIK))))
    assert len(rows) == len(PIWIK.purposes)
    for row, purpose in zip(rows, PIWIK.purposes, strict=True):
        assert row["Purpose"] == f"{purpose.title} ({purpose.id})"
        assert row["Security measures"] == "; ".join(PIWIK.security_measures)
        assert row["Data protection officer"] == PIWIK.contact.dpo
        for vendor_id in purpose.vendors:
            assert PIWIK.vendor(vendor_id).name in row["Recipients"]
        for category in purpose.data:
            assert PIWIK.data_category(category).title in row["Categories of personal data"]


def test_ropa_lists_transfers_with_their_safeguard() -> None:
    """A transfer outside the EEA is listed with its safeguard, or "not stated"."""
    rows = {r["Purpose"]: r for r in csv.DictReader(io.StringIO(render_ropa(PIWIK)))}
    hubspot = rows["Marketing automation (marketing_automation)"]["Transfers and safeguards"]
    assert hubspot.startswith("HubSpot (")
    assert hubspot.endswith("safeguard not stated")
    analytics = rows["Analytics (analytics)"]["Transfers and safeguards"]
    assert analytics == "none outside the EEA"


# -- rendering rules on small policies -----------------------------------------------------


def _policy(basis: LegalBasis = LegalBasis.CONSENT, **purpose_options: Any) -> Policy:
    options: dict[str, Any] = {
        "data": ("email",),
        "vendors": ("mailer",),
        "withdrawal": "Unsubscribe <here>",
        "retention": Retention((AfterCollection(Duration(months=6)),)),
    }
    options.update(purpose_options)
    return Policy(
        id="p",
        version="1",
        data_categories=[DataCategory("email", "Email | address")],
        vendors=[
            Vendor(
                "mailer",
                "Mailer <Inc>",
                role=VendorRole.PROCESSOR,
                hosting="US",
                outside_eea=True,
                transfer=TransferMechanism.STANDARD_CONTRACTUAL_CLAUSES,
            )
        ],
        purposes=[Purpose("news", "News & offers", "Send *news*", basis, **options)],
    )


def _derogation(ground: TransferDerogation | None) -> Policy:
    policy = _policy(notes="The basis is read from the sign-up form.")
    mailer = attrs.evolve(
        policy.vendors[0],
        transfer=TransferMechanism.DEROGATION,
        derogation=ground,
        notes="No adequacy decision or SCCs; the person is asked.",
    )
    return attrs.evolve(policy, vendors=[mailer])


def test_derogations_notes_and_exceptions_reach_both_texts() -> None:
    """A derogation is shown with its Art. 49 ground, and the purpose's and its vendors'
    notes and Art. 18(2) exceptions reach the settings text and the Art. 30 record."""
    policy = attrs.evolve(
        _derogation(TransferDerogation.EXPLICIT_CONSENT),
        purposes=[
            attrs.evolve(
                _policy(notes="The basis is read from the sign-up form.").purposes[0],
                restriction_exceptions=(RestrictionException.DATA_SUBJECT_REQUEST,),
            )
        ],
    )
    settings = render_settings(policy)
    ground = (
        "derogation for a specific situation (Art. 49): your explicit consent to the "
        "transfer (Art. 49(1)(a))"
    )
    assert f"US (outside the EEA; {ground})" in settings
    assert "Mailer \\<Inc\\>: No adequacy decision or SCCs; the person is asked." in settings
    row = next(csv.DictReader(io.StringIO(render_ropa(policy))))
    assert row["Transfers and safeguards"] == f"Mailer <Inc> (US): {ground}"
    assert row["Notes"] == (
        "The basis is read from the sign-up form. Mailer <Inc>: No adequacy decision or SCCs; "
        "the person is asked.; While processing is restricted: besides storing the data, we "
        "may still process it to answer your own request (Art. 18(2))."
    )


def test_a_derogation_without_its_ground_is_refused_before_any_text() -> None:
    """A derogation that names no ground never reaches a text: the policy is refused (a
    transfer cannot be shown lawful on an unnamed ground, Art. 44, 49(1))."""
    with pytest.raises(PolicyError, match=r"must name its Art\. 49"):
        _derogation(None)


def test_bundled_ropa_shows_transfers_notes_and_exceptions() -> None:
    """The bundled record shows the recruitment transfer to Piwik PRO LLC, the notes, and the
    Art. 18(2) exception that lets a rights request be answered while restricted."""
    rows = {r["Purpose"]: r for r in csv.DictReader(io.StringIO(render_ropa(PIWIK)))}
    recruitment = rows["Recruitment (recruitment)"]
    assert (
        "Piwik PRO LLC (New York, United States): safeguard not stated"
        in (recruitment["Transfers and safeguards"])
    )
    assert "Art. 26(2)" in recruitment["Notes"]
    requests = rows["Data subject requests (data_subject_requests)"]["Notes"]
    assert "to answer your own request (Art. 18(2))" in requests


def test_html_escapes_every_text() -> None:
    """Policy text never reaches HTML unescaped."""
    page = render_settings(_policy(), format="html")
    assert "Mailer &lt;Inc&gt;" in page
    assert "<Inc>" not in page
    assert "<h3>News &amp; offers</h3>" in page


def test_markdown_escapes_specials() -> None:
    """Policy text cannot inject markdown: emphasis, tables and tags are escaped."""
    text = render_settings(_policy())
    assert r"Send \*news\*" in text
    assert r"Mailer \<Inc\>" in text
    ropa = render_ropa(_policy(), format="markdown")
    assert r"Email \| address" in ropa


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, "standard contractual clauses (Art. 46(2)(c))"),
        ({}, "Withdrawing does not affect the lawfulness of processing before it (Art. 7(3))"),
        ({"withdrawal": "Any time; it is not retroactive"}, "(Art. 7(3))"),
        ({"consent_lifetime": Duration(months=13)}, "a consent lasts 13 months"),
        ({"retention": Retention((NoPeriodStated("as needed"),))}, "not stated (as needed)"),
        ({"device_access": True}, "only with your consent (ePrivacy Art. 5(3))"),
        ({"per_vendor_consent": True}, "asked for each third party separately"),
        ({"subjects": ("visitor",)}, "**Who it concerns:** Visitor"),
        ({}, "**Processors acting for us (Art. 28):** Mailer \\<Inc\\>"),
        ({}, "**Which third parties:** none"),
        (
            {"restriction_exceptions": (RestrictionException.LEGAL_CLAIMS,)},
            "we may still process it for legal claims (Art. 18(2))",
        ),
        ({"notes": "Read as consent."}, "**How we read the policy here:** Read as consent."),
    ],
)
def test_settings_phrases(options: dict[str, Any], expected: str) -> None:
    """Each declared setting is stated in the words people read."""
    assert expected in render_settings(_policy(**options))


@pytest.mark.parametrize(
    ("basis", "options", "expected"),
    [
        (
            LegalBasis.LEGITIMATE_INTERESTS,
            {"legitimate_interest": "security"},
            "the interest pursued: security; balancing test: not stated",
        ),
        (
            LegalBasis.LEGITIMATE_INTERESTS,
            {"legitimate_interest": "x", "direct_marketing": True},
            "You may object at any time, and we then stop (Art. 21(2)-(3))",
        ),
        (
            LegalBasis.PUBLIC_TASK,
            {"override_admissible": True},
            "we stop unless we show compelling legitimate grounds",
        ),
        (LegalBasis.PUBLIC_TASK, {}, "You may object (Art. 21(1)), and we then stop"),
        (LegalBasis.CONTRACT, {}, "The right to object (Art. 21) does not apply to this basis"),
        (LegalBasis.CONTRACT, {"processor_only": True}, "as their processor (Art. 28)"),
    ],
)
def test_basis_and_objection_phrases(
    basis: LegalBasis, options: dict[str, Any], expected: str
) -> None:
    """Each basis is named with its article, and the right to object as it applies to it."""
    assert expected in render_settings(_policy(basis, withdrawal=None, **options))


@pytest.mark.parametrize(
    ("function", "bad"), [(render_settings, "pdf"), (render_ropa, "xlsx")], ids=["settings", "ropa"]
)
def test_unknown_format_is_refused(function: Any, bad: str) -> None:
    """An unknown format raises ValueError naming it."""
    with pytest.raises(ValueError, match=bad):
        function(PIWIK, format=bad)


# -- the command line ----------------------------------------------------------------------


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        yield out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["render", "piwik-pro"], render_settings(PIWIK)),
        (["render", "piwik-pro", "--format", "html"], render_settings(PIWIK, format="html")),
        (["ropa", "piwik-pro"], render_ropa(PIWIK)),
        (["ropa", "piwik-pro", "--format", "markdown"], render_ropa(PIWIK, format="markdown")),
    ],
)
def test_cli_render_and_ropa(argv: list[str], expected: str) -> None:
    """``lawful render`` and ``lawful ropa`` print exactly what the Python API returns."""
    with _captured() as out:
        assert main(argv) == 0
    assert out.getvalue() == expected
