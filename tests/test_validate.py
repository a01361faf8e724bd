"""Policy problems (lawful._validate): one precise problem, with its path, per mistake.

A valid policy file (tests/_policy_file.py) is broken one mistake at a time: each error
and warning is reported with the path of what is wrong and words that say why, every
problem at once, never as an undeclared reference when the entry itself failed to load;
and ``lawful check`` reports them (docs/reference/policy-files.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from tests._policy_file import BASE, _drop, _mutated, _problems, _set, _toml

import lawful

# -- the table of mistakes -----------------------------------------------------------------


def test_base_policy_is_valid() -> None:
    """The table's base policy loads from TOML and JSON; its one warning is the unused category."""
    policy = lawful.loads_policy(_toml(BASE))
    assert policy.purpose_ids == ("analytics", "newsletter", "fraud")
    assert [str(w) for w in policy.warnings] == [
        "data_categories.health: declared but used by no purpose"
    ]
    assert lawful.loads_policy(json.dumps(BASE), format="json") == policy


def _newsletter_on_legitimate_interests_with_override(data: dict[str, Any]) -> None:
    newsletter = data["purposes"]["newsletter"]
    del newsletter["withdrawal"]
    newsletter.update(
        basis="legitimate_interests", legitimate_interest="selling", override_admissible=True
    )


# (mutation, path, words the message must contain)
ERRORS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("unknown top-level key", _set("colour", "blue"), "colour", "unknown key"),
    (
        "typo in a purpose key",
        _set("purposes.analytics.basiss", "consent"),
        "purposes.analytics.basiss",
        "unknown key",
    ),
    (
        "missing required key",
        _drop("purposes.fraud.basis"),
        "purposes.fraud.basis",
        "missing required key",
    ),
    (
        "wrong type",
        _set("purposes.analytics.consent_lifetime", 13),
        "purposes.analytics.consent_lifetime",
        'expected a duration like "60 months"',
    ),
    (
        "bad duration text",
        _set(
            "purposes.analytics.retention.rules",
            [{"kind": "after_collection", "period": "sixty months"}],
        ),
        "purposes.analytics.retention.rules[0].period",
        'expected a duration like "60 months"',
    ),
    (
        "bad enum value",
        _set("purposes.analytics.basis", "consentt"),
        "purposes.analytics.basis",
        "expected one of 'consent'",
    ),
    (
        "boolean written as text",
        _set("data_categories.health.special", "yes"),
        "data_categories.health.special",
        "expected true or false",
    ),
    (
        "unknown retention kind",
        _set("purposes.fraud.retention.rules", [{"kind": "forever"}]),
        "purposes.fraud.retention.rules[0].kind",
        "expected one of 'after_collection'",
    ),
    (
        "dangling vendor",
        _set("purposes.analytics.vendors", ["self", "omniconvert"]),
        "purposes.analytics.vendors[1]",
        'unknown vendor "omniconvert"',
    ),
    (
        "a list written as one string",
        _set("purposes.analytics.vendors", "self"),
        "purposes.analytics.vendors",
        "expected a list, got a string",
    ),
    (
        "dangling data category",
        _set("purposes.analytics.data", ["ip_address", "cookie"]),
        "purposes.analytics.data[1]",
        'unknown data category "cookie"',
    ),
    (
        "dangling opt-out scope",
        _set("purposes.fraud.opt_out_scopes", ["gpc"]),
        "purposes.fraud.opt_out_scopes[0]",
        'unknown opt-out scope "gpc"',
    ),
    (
        # C-667/21: legitimate interests may cover special categories with an Art. 9(2)
        # condition of (b)-(j); with none named, the purpose is refused.
        "legitimate interests over special categories",
        _set("purposes.fraud.data", ["ip_address", "health"]),
        "purposes.fraud.special_category_condition",
        "uses special-category data (health) but names no Art. 9(2) condition",
    ),
    (
        "special category without an Art. 9(2) condition",
        _set("purposes.analytics.data", ["health"]),
        "purposes.analytics.special_category_condition",
        "names no Art. 9(2) condition",
    ),
    (
        "override admitted on direct marketing",
        _newsletter_on_legitimate_interests_with_override,
        "purposes.newsletter.override_admissible",
        "absolute (Art. 21(3))",
    ),
    (
        "consent purpose with no way to withdraw",
        _drop("purposes.analytics.withdrawal"),
        "purposes.analytics.withdrawal",
        "must say how to withdraw consent (Art. 7(3))",
    ),
    (
        "minimum age above the parental age",
        _set("age", {"minimum_age": 16, "parental_consent_age": 13}),
        "age.minimum_age",
        "minimum age 16 is above the parental-consent age 13",
    ),
    (
        "zero consent lifetime",
        _set("purposes.analytics.consent_lifetime", "0 days"),
        "purposes.analytics.consent_lifetime",
        "must be a positive duration",
    ),
    (
        "zero retention period",
        _set("purposes.fraud.retention.rules", [{"kind": "after_collection", "period": "P0D"}]),
        "purposes.fraud.retention.rules[0].period",
        "must be a positive duration",
    ),
    (
        "legitimate interest not named",
        _drop("purposes.fraud.legitimate_interest"),
        "purposes.fraud.legitimate_interest",
        "must name the interest pursued",
    ),
    (
        "per-vendor consent on a non-consent purpose",
        _set("purposes.fraud.per_vendor_consent", True),
        "purposes.fraud.per_vendor_consent",
        "only a consent purpose",
    ),
    (
        "transfer outside the EEA without any mechanism",
        _set("vendors.mailer.outside_eea", True),
        "vendors.mailer.transfer",
        "needs a mechanism (Chapter V)",
    ),
    (
        "signal bound to an unknown purpose",
        _set("signals", {"piwik_pro": [{"signal": "analytics", "purposes": ["stats"]}]}),
        "signals.piwik_pro[0].purposes[0]",
        'unknown purpose "stats"',
    ),
    (
        "unsupported format version",
        _set("version", "2.0"),
        "version",
        "unsupported policy format version '2.0'",
    ),
    (
        "unknown derogation ground",
        _set("vendors.mailer.derogation", "consent"),
        "vendors.mailer.derogation",
        "expected one of 'explicit_consent'",
    ),
    (
        "vendor notes that are not text",
        _set("vendors.mailer.notes", ["read as"]),
        "vendors.mailer.notes",
        "expected a string",
    ),
    (
        "unknown Art. 18(2) exception",
        _set("purposes.fraud.restriction_exceptions", ["legal_claims", "audit"]),
        "purposes.fraud.restriction_exceptions[1]",
        "expected one of 'legal_claims'",
    ),
    (
        "recurring written as text",
        _set("purposes.fraud.recurring", "yes"),
        "purposes.fraud.recurring",
        "expected true or false",
    ),
    (
        "age sections not a list",
        _set("age", {"minimum_age": 13, "sections": "website"}),
        "age.sections",
        "expected a list, got a string",
    ),
    (
        "effective_from without an offset (TOML local date-time)",
        _set("effective_from", datetime(2025, 1, 15, 9, 0)),
        "effective_from",
        "naive date and time '2025-01-15T09:00:00': add an offset",
    ),
    (
        "effective_from as a date alone",
        _set("effective_from", date(2025, 1, 15)),
        "effective_from",
        "expected a date and time with an offset",
    ),
    (
        "previous version's effective_from without an offset",
        _set(
            "previous_versions",
            [{"version": "2024-06", "effective_from": "2024-06-01T00:00:00"}],
        ),
        "previous_versions[0].effective_from",
        "naive date and time '2024-06-01T00:00:00'",
    ),
    (
        "previous version's effective_from that is no date",
        _set("previous_versions", [{"version": "2024-06", "effective_from": "June"}]),
        "previous_versions[0].effective_from",
        "expected a date and time with an offset",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "path", "words"),
    [pytest.param(m, p, w, id=name) for name, m, p, w in ERRORS],
)
def test_each_mistake_is_reported_with_its_path(
    mutation: Callable[[dict[str, Any]], None], path: str, words: str
) -> None:
    """A policy file with one mistake is refused with a problem naming the field and the fault."""
    problems = _problems(_mutated(mutation))
    matching = [p for p in problems if p.path == path]
    assert matching, f"no problem at {path}: {problems}"
    assert any(words in p.message for p in matching), matching
    assert all(p.severity == "error" for p in problems)


WARNINGS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "transfer with no mechanism stated",
        _set(
            "vendors.mailer",
            {"name": "Mailer", "hosting": "USA", "outside_eea": True, "transfer": "not_stated"},
        ),
        "vendors.mailer.transfer",
        "no mechanism stated",
    ),
    (
        "no retention period stated",
        _set("purposes.fraud.retention", {"rules": [{"kind": "not_stated"}]}),
        "purposes.fraud.retention",
        "no retention period stated (Art. 13(2)(a))",
    ),
    (
        "device access on legitimate interests without a justification",
        _set("purposes.fraud.device_access", True),
        "purposes.fraud.device_access",
        "without a strictly-necessary justification",
    ),
    (
        "legitimate interests without an assessment",
        _drop("purposes.fraud.assessment"),
        "purposes.fraud.assessment",
        "balancing test",
    ),
    (
        "a vendor nobody uses",
        _set("vendors.spare", {"name": "Spare"}),
        "vendors.spare",
        "used by no purpose",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "path", "words"),
    [pytest.param(m, p, w, id=name) for name, m, p, w in WARNINGS],
)
def test_each_warning_is_reported_with_its_path(
    mutation: Callable[[dict[str, Any]], None], path: str, words: str
) -> None:
    """Things a policy leaves unstated load, and are reported as warnings with their path."""
    policy = lawful.loads_policy(_toml(_mutated(mutation)))
    matching = [p for p in policy.warnings if p.path == path]
    assert matching, f"no warning at {path}: {policy.warnings}"
    assert any(words in p.message for p in matching)
    assert all(p.severity == "warning" for p in policy.warnings)


# -- every problem at once -----------------------------------------------------------------


def test_every_problem_is_reported_at_once() -> None:
    """Several mistakes in one file are all listed in one PolicyError."""

    def many(data: dict[str, Any]) -> None:
        data["purposes"]["analytics"]["vendors"] = ["nobody"]
        del data["purposes"]["analytics"]["withdrawal"]
        data["age"] = {"minimum_age": 16, "parental_consent_age": 13}

    paths = {p.path for p in _problems(_mutated(many))}
    assert paths >= {
        "purposes.analytics.vendors[0]",
        "purposes.analytics.withdrawal",
        "age.minimum_age",
    }


def test_structural_mistakes_are_all_reported_at_once() -> None:
    """Wrong types in several places are reported together, each with its own path."""

    def many(data: dict[str, Any]) -> None:
        data["purposes"]["analytics"]["per_vendor_consent"] = "no"
        data["purposes"]["fraud"]["direct_marketing"] = 1
        data["vendors"]["self"]["role"] = "owner"

    paths = {p.path for p in _problems(_mutated(many))}
    assert paths == {
        "purposes.analytics.per_vendor_consent",
        "purposes.fraud.direct_marketing",
        "vendors.self.role",
    }


def test_point_10_a_policy_with_several_problems_reports_every_kind() -> None:
    """Issue 14 item 10: an unknown key does not hide an undeclared vendor; structural and
    cross-reference problems come in one PolicyError, each with its path."""

    def both(data: dict[str, Any]) -> None:
        data["purposes"]["analytics"]["colour"] = "blue"
        data["purposes"]["newsletter"]["vendors"] = ["mailer", "omniconvert"]

    problems = _problems(_mutated(both))
    assert [str(p) for p in problems] == [
        "purposes.analytics.colour: unknown key",
        'purposes.newsletter.vendors[1]: unknown vendor "omniconvert"',
    ]


def test_an_entry_that_fails_to_load_is_not_reported_as_undeclared() -> None:
    """A vendor with a bad field is reported once, at its field: the purposes naming it do
    not also get "unknown vendor", while a vendor that is really missing still does."""

    def broken(data: dict[str, Any]) -> None:
        data["vendors"]["mailer"]["role"] = "owner"
        data["purposes"]["fraud"]["vendors"] = ["self", "nobody"]
        data["opt_out_scopes"]["all_collection"]["title"] = 3
        data["purposes"]["analytics"]["data"] = ["ip_address", "health"]

    assert [str(p) for p in _problems(_mutated(broken))] == [
        "opt_out_scopes.all_collection.title: expected a string, got an integer",
        (
            "vendors.mailer.role: expected one of 'first_party', 'processor', 'third_party', "
            "got 'owner'"
        ),
        (
            "purposes.analytics.special_category_condition: uses special-category data "
            "(health) but names no Art. 9(2) condition"
        ),
        'purposes.fraud.vendors[1]: unknown vendor "nobody"',
    ]


# -- lawful check --------------------------------------------------------------------------


def _check(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    from lawful.cli import main  # noqa: PLC0415 - the CLI is only this section's concern

    code = main(["check", *argv])
    return code, capsys.readouterr().out


def test_check_warns_where_a_missing_safeguard_denies(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``lawful check`` names each purpose and vendor a missing safeguard will deny, then sums
    them up; the bundled policy has warnings and no errors (exit 0, 1 under --strict)."""
    code, out = _check(["piwik-pro"], capsys)
    assert code == 0
    assert (
        "warning: purposes.recruitment.vendors[2]: vendor piwik_pro_llc (Piwik PRO LLC) "
        "receives the data outside the EEA with no safeguard stated: decisions involving it "
        "deny transfer_safeguard_missing (Art. 44, 46(1)); state its mechanism under "
        "vendors.piwik_pro_llc"
    ) in out
    note = " ".join(out.split("note: ", 1)[1].split("\npiwik-pro:", 1)[0].split())
    assert note.startswith("10 purpose(s) deny transfer_safeguard_missing")
    assert note.endswith("purchases, recruitment")
    assert _check(["piwik-pro", "--strict"], capsys)[0] == 1


def test_check_reports_free_text_consent_methods(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 item 5: events written before methods were closed still load; ``check
    --events`` says what each free text was read as, and flags undeclared purposes."""
    events = tmp_path / "events.jsonl"
    lines = [
        {"subject": "v", "type": "consent_given", "at": "2025-03-03T10:00:00+01:00",
         "purpose": "analytics", "method": "click_to_play"},
        {"subject": "v", "type": "consent_given", "at": "2025-03-03T10:00:00+01:00",
         "purpose": "analytics", "method": "Pre-ticked box"},
        {},
        {"subject": "v", "type": "consent_given", "at": "2025-03-03T10:00:00+01:00",
         "purpose": "newsletter", "method": "banner"},
    ]  # fmt: skip
    events.write_text("\n".join(json.dumps(x) if x else "" for x in lines), encoding="utf-8")
    code, out = _check(["piwik-pro", "--events", str(events)], capsys)
    assert code == 0
    assert (
        f"warning: {events}:1: consent_given.method: free text 'click_to_play' read as "
        "'unspecified', an affirmative act whose form was not recorded"
    ) in out
    assert (
        f"warning: {events}:2: consent_given.method: free text 'Pre-ticked box' read as "
        "'pre_ticked_box', never consent (Art. 4(11), recital 32): it grants nothing"
    ) in out
    assert (
        f"warning: {events}:4: consent_given.purpose: the policy declares no purpose "
        "'newsletter': decisions for it deny unknown_purpose"
    ) in out


def test_check_refuses_a_bad_events_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A line that is no event stops ``check --events`` with its line number (exit 2)."""
    events = tmp_path / "events.jsonl"
    events.write_text('{"subject": "v", "type": "nope", "at": "2025-01-01T00:00:00Z"}\n')
    from lawful.cli import main  # noqa: PLC0415 - the CLI is only this section's concern

    assert main(["check", "piwik-pro", "--events", str(events)]) == 2
    assert f"{events}:1" in capsys.readouterr().err
