"""Policy files read and written (lawful._convert): TOML, JSON and objects, round trips.

Syntax errors name their line, objects get the errors files get, malformed structures
raise only PolicyError; a policy written and read back is equal, fields left at their
default are not written, durations read in both forms; loading imports no signal decoder
(docs/reference/policy-files.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest
from tests._policy_file import BASE, _mutated, _problems, _set, _toml

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
from lawful._convert import _shared_converter, policy_from_dict

# -- reading -------------------------------------------------------------------------------


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


def test_durations_read_both_forms() -> None:
    """Retention and lifetimes accept human durations and ISO 8601 alike."""
    policy = lawful.loads_policy(_toml(BASE))
    assert policy.purpose("analytics").consent_lifetime == Duration(months=13)
    assert policy.purpose("newsletter").retention == Retention(
        rules=(lawful.AfterCollection(Duration(months=24)),)
    )


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


# -- round trips ---------------------------------------------------------------------------


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


# -- the shared converter ------------------------------------------------------------------


@pytest.fixture(scope="module")
def text() -> str:
    return lawful.dumps_policy(lawful.bundled_policy("piwik-pro"), format="toml")


def _zero(_value: object, _type: object) -> int:
    return 0


def _always(_type: object) -> bool:
    return True


def _zero_factory(_type: object) -> object:
    return _zero


def _str_factory(_type: object) -> object:
    return str


@pytest.mark.parametrize(
    "register",
    [
        lambda c: c.register_structure_hook(int, _zero),
        lambda c: c.register_structure_hook_func(_always, _zero),
        lambda c: c.register_structure_hook_factory(_always, _zero_factory),
        lambda c: c.register_unstructure_hook(int, str),
        lambda c: c.register_unstructure_hook_func(_always, str),
        lambda c: c.register_unstructure_hook_factory(_always, _str_factory),
    ],
)
def test_the_shared_converter_refuses_new_hooks(register: object) -> None:
    """No caller can change how another caller's policy is read: every registration raises."""
    assert callable(register)
    with pytest.raises(TypeError, match="sealed"):
        register(_shared_converter())


def test_a_converter_of_your_own_does_not_reach_the_shared_one(text: str) -> None:
    """A hook registered on a caller's converter changes that caller's loads only."""
    mine = cattrs.Converter(forbid_extra_keys=True)
    lawful.configure_converter(mine)
    mine.register_structure_hook(Duration, lambda _value, _type: Duration.parse("1 day"))
    data = lawful.loads_policy(text).to_dict()
    odd = policy_from_dict(data, converter=mine)
    plain = lawful.Policy.from_dict(data)
    day = Duration.parse("1 day")
    assert all(rule.period == day for p in odd.purposes for rule in _periods(p))
    assert not all(rule.period == day for p in plain.purposes for rule in _periods(p))
    assert plain == lawful.loads_policy(text)


def _periods(purpose: lawful.Purpose) -> list[lawful.AfterCollection]:
    return [r for r in purpose.retention.rules if isinstance(r, lawful.AfterCollection)]


def test_loads_in_threads_agree(text: str) -> None:
    """Threads loading at once through the shared converter all read the same policy."""
    expected = lawful.loads_policy(text)
    results: list[lawful.Policy] = []
    lock = threading.Lock()

    def load() -> None:
        policy = lawful.loads_policy(text)
        with lock:
            results.append(policy)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 8


def test_errors_still_name_the_path_after_many_loads(text: str) -> None:
    """The shared converter keeps reporting every problem with its path, load after load."""
    broken = text.replace('period = "60 months"', 'period = "60 fortnights"', 1)
    for _ in range(3):
        with pytest.raises(
            lawful.PolicyError, match=r"purposes\.[\w-]+\.retention\.rules\[0\]\.period"
        ):
            lawful.loads_policy(broken)
