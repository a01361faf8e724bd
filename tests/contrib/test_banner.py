"""``lawful banner``: the JSON a consent banner reads, and the reference page."""

from __future__ import annotations

import json

import pytest

import lawful
from lawful.banner import banner_data, banner_page, static_file
from lawful.cli import main


def test_the_json_lists_what_a_person_must_be_told(capsys: pytest.CaptureFixture[str]) -> None:
    """Each purpose needing consent, with its statement, vendors and hosting, device, retention."""
    assert main(["banner", "piwik-pro", "--subject-category", "visitor", "--notice-url", "/p"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["format"] == 1
    assert data["policy"]["version"] == lawful.bundled_policy("piwik-pro").version
    assert data["choices"] == ["accept", "reject"]
    analytics = data["purposes"][0]
    assert analytics["id"] == "analytics"
    assert analytics["statement"].startswith("Improve site user interface")
    assert analytics["vendors"][0]["hosting"] == "Orange Cloud infrastructure, France"
    assert analytics["vendors"][0]["outside_eea"] is False
    assert analytics["device_access"] is True
    assert analytics["retention"] == "60 months after collection"
    assert analytics["notice_url"] == "/p#analytics"
    assert "recruitment" not in {p["id"] for p in data["purposes"]}


def test_the_page_embeds_the_data_safely() -> None:
    """Policy text cannot close the script element it is embedded in."""
    policy = lawful.bundled_policy("piwik-pro")
    purpose = policy.purposes[0]
    hostile = lawful.Policy(
        id="x",
        version="1",
        purposes=[
            lawful.Purpose(
                id="a",
                title="</script><b>",
                statement="s",
                basis=lawful.LegalBasis.CONSENT,
                withdrawal="Here.",
            )
        ],
    )
    page = banner_page(hostile, endpoint='/c"x')
    assert "</script><b>" not in page
    assert 'data-endpoint="/c&quot;x"' in page
    assert purpose.id in json.dumps(banner_data(policy))


def test_the_html_option_prints_a_page(capsys: pytest.CaptureFixture[str]) -> None:
    """--html writes the reference banner with its script and style inline."""
    assert main(["banner", "piwik-pro", "--html", "--endpoint", "/api/consent"]) == 0
    page = capsys.readouterr().out
    assert page.startswith("<!doctype html>")
    assert 'data-endpoint="/api/consent"' in page
    assert static_file("banner.js").strip() in page


def test_an_unknown_policy_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input never ends in a traceback."""
    assert main(["banner", "no-such-policy"]) == 2
    assert capsys.readouterr().err.startswith("lawful: error:")
