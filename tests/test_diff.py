"""Diffing a policy's versions (lawful.render.diff): whose consents go stale, and when.

Adding a vendor or a data category stales the consents given under the old terms;
removing one does not; the diff agrees with the decisions, lists changes that do not
stale, says when the new version takes effect, and ``lawful diff`` exits 1 when people
must be asked again (docs/howto/publish.md).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import lawful
from lawful import (
    Policy,
)
from lawful.cli import main
from lawful.render import (
    PolicyDiff,
    PurposeStatus,
    diff,
)

HERE = Path(__file__).resolve().parent


# -- versions of the shop policy (docs/howto/examples/shop-2025-01.toml) -------------------


def _versions() -> tuple[Policy, dict[str, Any]]:
    old = lawful.load_policy(HERE.parent / "docs" / "howto" / "examples" / "shop-2025-01.toml")
    return old, old.to_dict()


def _with_previous(data: dict[str, Any], old: Policy) -> dict[str, Any]:
    data["previous_versions"] = [
        {
            "version": old.version,
            "purposes": {
                p.id: {
                    "statement": p.statement,
                    "basis": p.basis.value,
                    "vendors": list(p.vendors),
                    "data": list(p.data),
                }
                for p in old.purposes
            },
        }
    ]
    return data


def _next(mutate: Any, *, previous: bool = True, version: str = "2025-06") -> PolicyDiff:
    old, data = _versions()
    data["policy_version"] = version
    mutate(data["purposes"])
    if previous:
        _with_previous(data, old)
    return diff(old, Policy.from_dict(data))


def _add_and_remove(purposes: dict[str, Any]) -> None:
    purposes["analytics"]["vendors"].append("mailer")
    purposes["newsletter"]["vendors"].remove("mailer")


def test_diff_added_vendor_stales_and_removed_vendor_does_not() -> None:
    """Adding a vendor to a purpose stales its consents; removing one from another does not."""
    report = _next(_add_and_remove)
    by_id = {c.purpose: c for c in report.purposes}
    assert by_id["analytics"].consents_remain_valid is False
    assert by_id["analytics"].stale == ("new vendor(s) mailer",)
    assert by_id["newsletter"].consents_remain_valid is True
    assert by_id["newsletter"].changes == ("vendor removed: Mailer Inc. (mailer)",)
    assert report.must_ask_again == ("analytics",)
    assert report.problems == ()


def test_diff_agrees_with_decisions() -> None:
    """The diff's verdict is the decision's: a consent under OLD is stale exactly where it says."""
    old, data = _versions()
    data["policy_version"] = "2025-06"
    _add_and_remove(data["purposes"])
    new = Policy.from_dict(_with_previous(data, old))
    report = diff(old, new)
    at = datetime(2025, 7, 1, tzinfo=UTC)
    for change in report.purposes:
        if change.consents_remain_valid is None:
            continue
        grant = lawful.ConsentGiven(at=at, purpose=change.purpose, policy_version=old.version)
        decision = new.may_process(lawful.Subject("s", [grant]), change.purpose, at)
        assert (
            decision.code is lawful.ReasonCode.CONSENT_STALE
        ) is not change.consents_remain_valid


def test_diff_unknown_old_version_stales_every_consent() -> None:
    """A new version that does not list the old one stales every consent, and says so."""
    report = _next(lambda _p: None, previous=False)
    assert set(report.must_ask_again) == {"analytics", "newsletter"}
    assert "does not list '2025-01'" in report.problems[0]
    assert all(not c.changes for c in report.purposes)


def test_diff_same_version_with_new_terms_is_a_problem() -> None:
    """Changing terms without a new version string is reported: decisions would miss it."""
    report = _next(_add_and_remove, previous=False, version="2025-01")
    assert any("the version is still '2025-01'" in p for p in report.problems)
    assert report.must_ask_again == ("analytics",)


def test_diff_record_that_disagrees_with_old_is_a_problem() -> None:
    """A previous_versions record unlike the old policy is reported."""
    old, data = _versions()
    data["policy_version"] = "2025-06"
    _with_previous(data, old)
    data["previous_versions"][0]["purposes"]["analytics"]["statement"] = "Something else"
    report = diff(old, Policy.from_dict(data))
    assert any("records other terms" in p for p in report.problems)
    assert report.must_ask_again == ("analytics",)


def _add_purpose(purposes: dict[str, Any]) -> None:
    purposes["surveys"] = dict(purposes["newsletter"], title="Surveys")
    del purposes["fraud"]


def test_diff_added_and_removed_purposes() -> None:
    """An added consent purpose must be asked; a removed one is denied from now on."""
    report = _next(_add_purpose)
    by_id = {c.purpose: c for c in report.purposes}
    assert by_id["surveys"].status is PurposeStatus.ADDED
    assert by_id["surveys"].consents_remain_valid is None
    assert by_id["fraud"].status is PurposeStatus.REMOVED
    assert "unknown_purpose" in by_id["fraud"].changes[0]
    assert report.must_ask_again == ("surveys",)


def _change_details(purposes: dict[str, Any]) -> None:
    purposes["analytics"]["retention"] = {
        "rules": [{"kind": "after_collection", "period": "13 months"}]
    }
    purposes["analytics"]["consent_lifetime"] = "6 months"
    purposes["fraud"]["legitimate_interest"] = "stopping fraud and abuse"


def test_diff_lists_changes_that_do_not_stale() -> None:
    """Retention, lifetime and non-consent changes are listed but stale nothing."""
    report = _next(_change_details)
    by_id = {c.purpose: c for c in report.purposes}
    assert by_id["analytics"].changes == (
        "consent lifetime: 13 months → 6 months",
        "retention: 25 months after collection → 13 months after collection",
    )
    assert by_id["analytics"].consents_remain_valid is True
    assert by_id["fraud"].consent_based is False
    assert by_id["fraud"].consents_remain_valid is None
    assert report.must_ask_again == ()


def test_diff_reports_a_vendor_that_moves() -> None:
    """A recipient that now hosts elsewhere is a listed change, not a stale consent."""
    old, data = _versions()
    data["policy_version"] = "2025-06"
    data["vendors"]["mailer"]["hosting"] = "Ireland"
    data["vendors"]["mailer"]["outside_eea"] = False
    data["vendors"]["mailer"]["transfer"] = "not_applicable"
    report = diff(old, Policy.from_dict(_with_previous(data, old)))
    newsletter = next(c for c in report.purposes if c.purpose == "newsletter")
    assert "vendor mailer hosting: United States → Ireland" in newsletter.changes
    assert newsletter.consents_remain_valid is True


_CEST = timezone(timedelta(hours=2))


def test_diff_says_when_the_new_version_takes_effect() -> None:
    """With effective_from, the report says from when which consents are stale."""
    old, data = _versions()
    data["policy_version"] = "2025-06"
    data["effective_from"] = "2025-06-01T00:00:00+02:00"
    _add_and_remove(data["purposes"])
    report = diff(old, Policy.from_dict(_with_previous(data, old)))
    assert report.new_effective_from == datetime(2025, 6, 1, tzinfo=_CEST)
    assert report.stale_from.startswith(
        "Takes effect: 2025-06-01T00:00:00+02:00. From then, consents given under 2025-01 are "
        "stale for: analytics;"
    )
    assert report.stale_from in report.to_markdown().replace("\\", "")
    assert report.to_dict()["new_effective_from"] == "2025-06-01T00:00:00+02:00"


def test_diff_without_effective_from_says_not_stated() -> None:
    """Without effective_from, the report says so, and how unversioned consents are judged."""
    report = _next(_add_and_remove)
    assert report.new_effective_from is None
    assert report.stale_from.startswith("Takes effect: not stated.")
    assert report.to_dict()["new_effective_from"] is None


def test_diff_new_version_taking_effect_before_the_old_is_a_problem() -> None:
    """A new version in force before the old one would misplace unversioned consents."""
    old, data = _versions()
    old = attrs.evolve(old, effective_from=datetime(2025, 1, 15, tzinfo=_CEST))
    data["policy_version"] = "2025-06"
    data["effective_from"] = "2025-01-01T00:00:00+02:00"
    _with_previous(data, old)
    data["previous_versions"][0]["effective_from"] = "2025-01-15T00:00:00+02:00"
    report = diff(old, Policy.from_dict(data))
    assert any("not after the old one" in p for p in report.problems)
    data["previous_versions"][0]["effective_from"] = "2025-01-16T00:00:00+02:00"
    report = diff(old, Policy.from_dict(data))
    assert any("records effective_from 2025-01-16T00:00:00+02:00" in p for p in report.problems)


def test_diff_markdown_and_dict() -> None:
    """The report reads as markdown and round-trips through JSON."""
    report = _next(_add_and_remove)
    text = report.to_markdown()
    assert text.startswith("# Policy diff: 2025-01 → 2025-06\n")
    assert "Ask for consent again for: analytics." in text
    assert "## Analytics (analytics), changed: consents become STALE" in text
    assert "## Newsletter (newsletter), changed: consents stay valid" in text
    data = json.loads(json.dumps(report.to_dict()))
    assert data["must_ask_again"] == ["analytics"]
    assert data["purposes"][0]["consents_remain_valid"] is False


# -- the command line ----------------------------------------------------------------------


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        yield out


def test_cli_diff_exit_status(tmp_path: Path) -> None:
    """``lawful diff`` exits 1 when people must be asked again, 0 when nobody must."""
    old, data = _versions()
    data["policy_version"] = "2025-06"
    _add_and_remove(data["purposes"])
    old_file = tmp_path / "old.json"
    new_file = tmp_path / "new.json"
    old_file.write_text(json.dumps(old.to_dict()), encoding="utf-8")
    new_file.write_text(json.dumps(_with_previous(data, old)), encoding="utf-8")
    with _captured() as out:
        assert main(["diff", str(old_file), str(new_file)]) == 1
    assert "consents become STALE" in out.getvalue()
    with _captured() as out:
        assert main(["diff", str(old_file), str(old_file), "--format", "json"]) == 0
    assert json.loads(out.getvalue())["must_ask_again"] == []


def test_cli_diff_missing_policy_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A missing policy file is one error line and exit status 2."""
    assert main(["diff", "no-such-policy.toml", "piwik-pro"]) == 2
    assert "no-such-policy.toml" in capsys.readouterr().err
