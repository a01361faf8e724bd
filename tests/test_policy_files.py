"""Policy files: loading, round trips, and one precise problem per mistake (issue 2)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest
import tomli_w

import lawful
from lawful import (
    AgeRules,
    DataCategory,
    Duration,
    LegalBasis,
    Policy,
    PolicyError,
    PolicyVersion,
    Purpose,
    PurposeTerms,
    RestrictionException,
    Retention,
    TransferDerogation,
    TransferMechanism,
    Vendor,
)

BASE: dict[str, Any] = {
    "version": "1.0",
    "id": "shop",
    "policy_version": "2025-01",
    "title": "Shop privacy policy",
    "contact": {"dpo": "dpo@example.test", "supervisory_authority": "UODO"},
    "data_categories": {
        "ip_address": {"title": "IP address"},
        "email": {"title": "Email address"},
        "health": {"title": "Health data", "special": True},
    },
    "vendors": {
        "self": {"name": "Shop", "role": "first_party", "hosting": "Frankfurt, Germany"},
        "mailer": {
            "name": "Mailer Inc.",
            "role": "processor",
            "hosting": "Ireland",
        },
    },
    "opt_out_scopes": {"all_collection": {"title": "Stop all collection"}},
    "purposes": {
        "analytics": {
            "title": "Analytics",
            "statement": "Improve the shop",
            "basis": "consent",
            "data": ["ip_address"],
            "vendors": ["self"],
            "withdrawal": "Privacy settings button",
            "consent_lifetime": "13 months",
            "retention": {"rules": [{"kind": "after_collection", "period": "60 months"}]},
        },
        "newsletter": {
            "title": "Newsletter",
            "statement": "Send offers",
            "basis": "consent",
            "data": ["email"],
            "vendors": ["mailer"],
            "withdrawal": "Unsubscribe link",
            "direct_marketing": True,
            "retention": {"rules": [{"kind": "after_collection", "period": "P24M"}]},
        },
        "fraud": {
            "title": "Fraud prevention",
            "statement": "Stop fraudulent orders",
            "basis": "legitimate_interests",
            "legitimate_interest": "protecting the shop against fraud",
            "assessment": "LIA-2025-01",
            "data": ["ip_address"],
            "vendors": ["self"],
            "override_admissible": True,
            "opt_out_scopes": ["all_collection"],
            "retention": {"rules": [{"kind": "after_collection", "period": "90 days"}]},
        },
    },
}


def _toml(data: dict[str, Any]) -> str:
    return tomli_w.dumps(data)


def _mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def _problems(data: dict[str, Any]) -> list[lawful.Problem]:
    with pytest.raises(PolicyError) as caught:
        lawful.loads_policy(_toml(data), format="toml")
    return list(caught.value.problems)


def test_base_policy_is_valid() -> None:
    """The table's base policy loads from TOML and JSON; its one warning is the unused category."""
    policy = lawful.loads_policy(_toml(BASE))
    assert policy.purpose_ids == ("analytics", "newsletter", "fraud")
    assert [str(w) for w in policy.warnings] == [
        "data_categories.health: declared but used by no purpose"
    ]
    assert lawful.loads_policy(json.dumps(BASE), format="json") == policy


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    keys = path.split(".")

    def change(data: dict[str, Any]) -> None:
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    keys = path.split(".")

    def change(data: dict[str, Any]) -> None:
        target = data
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return change


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


def test_duplicate_keys_in_json_are_refused() -> None:
    """JSON keeps the last of two equal keys silently; lawful reports the duplicate instead."""
    text = json.dumps(BASE).replace('"purposes": {', '"purposes": {"fraud": {"title": "x"}, ', 1)
    with pytest.raises(PolicyError) as caught:
        lawful.loads_policy(text, format="json")
    assert [str(p) for p in caught.value.problems] == ['purposes.fraud: duplicate key "fraud"']


def test_toml_syntax_errors_name_the_line() -> None:
    """A TOML file that does not parse is refused with the parser's line and column."""
    with pytest.raises(PolicyError, match=r"not valid TOML: .*line 2"):
        lawful.loads_policy('version = "1.0"\nid = \n')


def test_python_objects_get_the_same_error_as_the_file() -> None:
    """The same mistake made with Python objects yields the same path and message."""
    from_file = _problems(_mutated(_set("purposes.analytics.vendors", ["omniconvert"])))
    base = lawful.loads_policy(_toml(BASE))
    analytics = attrs.evolve(base.purpose("analytics"), vendors=("omniconvert",))
    with pytest.raises(PolicyError) as caught:
        attrs.evolve(base, purposes=[analytics, *base.purposes[1:]])
    assert list(caught.value.problems) == from_file


def test_duplicate_ids_from_python_objects() -> None:
    """Two purposes with one id (possible only from Python) are refused with the id's path."""
    purpose = Purpose(
        id="stats", title="Stats", statement="Count visits", basis=LegalBasis.LEGAL_OBLIGATION
    )
    with pytest.raises(PolicyError) as caught:
        Policy(id="p", version="1", purposes=[purpose, purpose])
    assert [str(p) for p in caught.value.problems] == [
        'purposes.stats: duplicate purpose id "stats"'
    ]


@pytest.mark.parametrize(
    "data",
    [
        [],
        {"version": "1.0", "id": "x", "policy_version": "1", "purposes": 5},
        {"version": "1.0", "id": "x", "policy_version": "1", "purposes": {"a": "text"}},
        {"version": "1.0", "id": "x", "policy_version": "1", "purposes": {"a": {"id": "b"}}},
        {"version": "1.0", "id": "x", "policy_version": "1", "previous_versions": {}},
        {"version": "1.0", "id": 3, "policy_version": None},
        {"version": [], "id": "x", "policy_version": "1"},
        {"id": "x", "policy_version": "1"},
        _mutated(_set("purposes.fraud.retention", {"rules": [{}]})),
        _mutated(_set("purposes.fraud.retention", {"rules": "90 days"})),
        _mutated(_set("age", {"minimum_age": "13"})),
        _mutated(_set("signals", {"tcf": [{"purpose": "fraud", "tcf_purposes": ["1"]}]})),
    ],
)
def test_malformed_structures_raise_only_policy_error(data: Any) -> None:
    """Whatever the shape of the input, the user sees a PolicyError, never KeyError/TypeError."""
    with pytest.raises(PolicyError) as caught:
        Policy.from_dict(data)
    assert caught.value.problems
    assert all(str(p) for p in caught.value.problems)


def test_round_trip_keeps_the_policy_equal(tmp_path: Path) -> None:
    """A policy written as TOML or JSON and read back is equal to the original."""
    policy = lawful.loads_policy(_toml(BASE))
    toml_file = tmp_path / "policy.toml"
    toml_file.write_text(lawful.dumps_policy(policy), encoding="utf-8")
    json_file = tmp_path / "policy.json"
    json_file.write_text(lawful.dumps_policy(policy, format="json"), encoding="utf-8")
    assert lawful.load_policy(toml_file) == policy
    assert lawful.load_policy(json_file) == policy
    assert Policy.from_dict(policy.to_dict()) == policy


_CEST = timezone(timedelta(hours=2))


def _with_new_fields(data: dict[str, Any]) -> None:
    data["effective_from"] = datetime(2025, 1, 15, 0, 0, tzinfo=_CEST)
    data["age"] = {"minimum_age": 13, "scope": "all", "sections": ["website"]}
    data["vendors"]["mailer"].update(
        hosting="United States",
        outside_eea=True,
        transfer="derogation",
        derogation="explicit_consent",
        notes="The policy states no safeguard; the person is asked for the transfer.",
    )
    data["purposes"]["fraud"].update(
        restriction_exceptions=["legal_claims", "protection_of_others"],
        recurring=False,
        notes="Basis read from 'we protect the shop'.",
    )
    data["previous_versions"] = [
        {
            "version": "2024-06",
            "published": "2024-06-01",
            "effective_from": "2024-06-01T00:00:00+02:00",
            "purposes": {
                "analytics": {"statement": "Improve the shop", "basis": "consent"},
            },
        }
    ]


def test_new_fields_load_from_toml_and_json() -> None:
    """Derogations, vendor and purpose notes, Art. 18(2) exceptions, recurrence, age
    sections and effective_from (offset date-times in TOML, ISO text in JSON) all load."""
    data = _mutated(_with_new_fields)
    policy = lawful.loads_policy(_toml(data))
    mailer = policy.vendor("mailer")
    assert (mailer.transfer, mailer.derogation) == (
        TransferMechanism.DEROGATION,
        TransferDerogation.EXPLICIT_CONSENT,
    )
    assert mailer.notes.startswith("The policy states no safeguard")
    fraud = policy.purpose("fraud")
    assert fraud.restriction_exceptions == (
        RestrictionException.LEGAL_CLAIMS,
        RestrictionException.PROTECTION_OF_OTHERS,
    )
    assert (fraud.recurring, fraud.notes) == (False, "Basis read from 'we protect the shop'.")
    assert policy.age == AgeRules(
        minimum_age=13, scope=lawful.AgeScope.ALL_PURPOSES, sections=("website",)
    )
    assert policy.effective_from == datetime(2025, 1, 14, 22, tzinfo=UTC)
    assert policy.previous_versions == (
        PolicyVersion(
            "2024-06",
            {"analytics": PurposeTerms("Improve the shop", LegalBasis.CONSENT)},
            published=date(2024, 6, 1),
            effective_from=datetime(2024, 6, 1, tzinfo=_CEST),
        ),
    )
    data["effective_from"] = data["effective_from"].isoformat()
    assert lawful.loads_policy(json.dumps(data), format="json") == policy


def test_new_fields_round_trip(tmp_path: Path) -> None:
    """Every new field survives a write and a read, as TOML, as JSON and as a dict, and the
    written effective_from keeps its offset."""
    policy = lawful.loads_policy(_toml(_mutated(_with_new_fields)))
    written = policy.to_dict()
    assert written["effective_from"] == "2025-01-15T00:00:00+02:00"
    assert Policy.from_dict(written) == policy
    for fmt in ("toml", "json"):
        file = tmp_path / f"policy.{fmt}"
        file.write_text(lawful.dumps_policy(policy, format=fmt), encoding="utf-8")
        again = lawful.load_policy(file)
        assert again == policy
        assert again.effective_from is not None
        assert again.effective_from.utcoffset() == timedelta(hours=2)


def test_fields_left_at_their_default_are_not_written() -> None:
    """A policy that uses none of the new fields writes none of them: files stay short."""
    written = json.dumps(lawful.loads_policy(_toml(BASE)).to_dict())
    for key in (
        "effective_from",
        "derogation",
        "notes",
        "restriction_exceptions",
        "recurring",
        "sections",
    ):
        assert f'"{key}"' not in written, key


def test_durations_read_both_forms() -> None:
    """Retention and lifetimes accept human durations and ISO 8601 alike."""
    policy = lawful.loads_policy(_toml(BASE))
    assert policy.purpose("analytics").consent_lifetime == Duration(months=13)
    assert policy.purpose("newsletter").retention == Retention(
        rules=(lawful.AfterCollection(Duration(months=24)),)
    )


def test_a_policy_built_from_objects_round_trips() -> None:
    """A policy made only of Python objects writes a file that loads back equal."""
    policy = Policy(
        id="objects",
        version="1",
        data_categories=[DataCategory("email", "Email")],
        vendors=[Vendor("crm", "CRM Ltd", hosting="Dublin, Ireland")],
        purposes=[
            Purpose(
                id="support",
                title="Support",
                statement="Answer your questions",
                basis=LegalBasis.CONTRACT,
                data=("email",),
                vendors=("crm",),
                retention=Retention((lawful.AfterCollection(Duration(years=2)),)),
            )
        ],
    )
    assert lawful.loads_policy(lawful.dumps_policy(policy)) == policy


def test_loading_a_policy_does_not_import_the_signal_decoders() -> None:
    """Validating ``[signals]`` needs only the names signals use; the decoders (a third of a
    first load's time) are imported by the host that reads signals, not by every load.
    """
    code = (
        "import sys, lawful\n"
        "lawful.loads_policy(lawful.dumps_policy(lawful.bundled_policy('piwik-pro')))\n"
        "print(sorted(m for m in sys.modules if m.startswith('lawful.signals')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


# -- lawful check ------------------------------------------------------------------------


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
