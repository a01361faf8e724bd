"""Regressions for the fail-closed issue, one test per point (docs/explanation/fail-closed.md)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import lawful
from lawful import (
    AgeDeclared,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContractStarted,
    DataCategory,
    Duration,
    EventError,
    InputLimitError,
    LawfulError,
    Objection,
    PolicyError,
    SignalError,
    Subject,
    Vendor,
)
from lawful._json import read_events
from lawful._limits import bounded_lines, loads_json, read_bounded
from lawful.cli import main
from lawful.signals import from_consent_mode, from_gpc, from_piwik_pro, from_tcf

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
LATE = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59)))
EARLY = datetime(1, 1, 1, 0, 1, tzinfo=timezone(timedelta(hours=23, minutes=59)))
POLICY = lawful.bundled_policy("piwik-pro")


# -- point 1: events built in Python are validated ------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: ConsentGiven(at=T0, purpose=None),  # type: ignore[arg-type]
            r"^consent_given\.purpose: expected a non-empty string, got None$",
        ),
        (
            lambda: ConsentGiven(at=T0, purpose="analytics", explicit="no"),  # type: ignore[arg-type]
            r"^consent_given\.explicit: expected True or False, got 'no'$",
        ),
        (
            lambda: ContractStarted(at=T0, contract=None),  # type: ignore[arg-type]
            r"^contract_started\.contract: expected a non-empty string",
        ),
        (
            lambda: ConsentWithdrawn(at=T0, purpose=b"analytics"),  # type: ignore[arg-type]
            r"^consent_withdrawn\.purpose: expected a non-empty string, got bytes",
        ),
        (lambda: Objection(at=T0, purpose=1), r"^objection\.purpose: .* got int 1$"),  # type: ignore[arg-type]
        (
            lambda: AgeDeclared(at=T0, at_least=17.5),  # type: ignore[arg-type]
            r"^age_declared\.at_least: expected a whole number of years, got float 17\.5$",
        ),
        (lambda: AgeDeclared(at=T0, at_least=True), r"^age_declared\.at_least: .* got True$"),
        (lambda: ConsentGiven(at=LATE, purpose="a"), r"^consent_given\.at: .* outside"),
        (lambda: ConsentGiven(at=T0, recorded_at=EARLY, purpose="a"), r"recorded_at: .* outside"),
        (lambda: ConsentGiven(at=T0, purpose="a", method="banner"), r"method: expected"),  # type: ignore[arg-type]
        (
            lambda: lawful.BirthDateDeclared(at=T0, birth_date=T0),
            r"^birth_date_declared\.birth_date: expected a datetime\.date",
        ),
    ],
)
def test_point_1_events_built_in_python_are_checked(make: object, message: str) -> None:
    """A malformed event raises an EventError naming the field where it is made."""
    with pytest.raises(EventError, match=message):
        make()  # type: ignore[operator]


def test_point_1_a_consent_without_a_purpose_grants_nothing() -> None:
    """The purpose-wide timeline objections use never receives a consent: no purpose, no event."""
    with pytest.raises(TypeError):  # EventTypeError is a TypeError too
        ConsentGiven(at=T0, purpose=None)  # type: ignore[arg-type]
    decided = POLICY.decide_all(Subject("s"), T0)
    assert not any(d.allowed for d in decided.values() if d.code.value == "consent_given")


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda: Vendor("v", "V", outside_eea="no"), "vendor.outside_eea"),  # type: ignore[arg-type]
        (lambda: Vendor("", "V"), "vendor.id"),
        (lambda: DataCategory("email", "Email", special=1), "data_category.special"),  # type: ignore[arg-type]
        (
            lambda: lawful.Purpose("p", "P", "S", "consent"),  # type: ignore[arg-type]
            "purpose.basis",
        ),
        (
            lambda: lawful.Purpose("p", "P", "S", lawful.LegalBasis.CONSENT, vendors=["x"]),  # type: ignore[arg-type]
            "purpose.vendors",
        ),
        (lambda: lawful.AgeRules(minimum_age=16.0), "age_rules.minimum_age"),  # type: ignore[arg-type]
    ],
)
def test_point_1_policy_objects_are_checked(make: object, path: str) -> None:
    """A malformed policy object raises a PolicyError whose problem names the field."""
    with pytest.raises(PolicyError) as caught:
        make()  # type: ignore[operator]
    assert [p.path for p in caught.value.problems] == [path]


def test_point_1_durations_are_checked() -> None:
    """Durations refuse non-integer parts and huge digit strings with a LawfulError."""
    with pytest.raises(LawfulError, match=r"^duration\.years: expected a whole number"):
        Duration(years=1.5)  # type: ignore[arg-type]
    with pytest.raises(LawfulError, match="expected a duration"):
        Duration.parse("9" * 5000 + " days")


# -- point 2: JSON Lines refuse duplicate keys -----------------------------------------------


def test_point_2_a_duplicate_key_is_refused_not_last_one_wins() -> None:
    """A withdrawal ending in "type": "interaction" is an error, not an interaction."""
    line = (
        '{"subject": "s", "type": "consent_withdrawn", "at": "2025-03-01T09:00:00Z", '
        '"purpose": "analytics", "type": "interaction", "kind": "x"}'
    )
    with pytest.raises(EventError, match=r'^ev:1: duplicate key "type"'):
        list(read_events([line], source="ev"))


def test_point_2_nested_duplicates_are_refused_too() -> None:
    """Duplicates inside a nested object (the consent's terms) are refused as well."""
    line = (
        '{"subject": "s", "type": "consent_given", "at": "2025-03-01T09:00:00Z", '
        '"purpose": "a", "terms": {"statement": "x", "statement": "y", "basis": "consent"}}'
    )
    with pytest.raises(EventError, match="duplicate key"):
        list(read_events([line], source="ev"))


# -- point 6: hostile input is an error, never a traceback -----------------------------------


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000, '{"a": ' * 100_000, '{"subject": "s", "n": ' + "9" * 5000 + "}"],
    ids=["deep-array", "deep-object", "huge-int"],
)
def test_point_6_json_lines_hostile_lines_are_input_limit_errors(text: str) -> None:
    """Deep nesting and 5,000-digit integers raise InputLimitError naming source:line."""
    with pytest.raises(InputLimitError, match=r"^ev:1: "):
        list(read_events([text], source="ev"))


def test_point_6_policy_text_hostile_documents() -> None:
    """Deep TOML and JSON, and huge TOML integers, are InputLimitErrors, not tracebacks."""
    with pytest.raises(InputLimitError, match="nested deeper"):
        lawful.loads_policy("a = " + "[" * 100_000)
    with pytest.raises(InputLimitError, match="nested deeper"):
        lawful.loads_policy('{"a": ' * 100_000, format="json")
    with pytest.raises(InputLimitError, match="digits"):
        lawful.loads_policy("version = " + "9" * 5000)


def test_point_6_dev_zero_is_read_only_to_its_limit() -> None:
    """/dev/zero as a file fails after limit + 1 bytes, for documents and JSON Lines alike."""
    with pytest.raises(InputLimitError, match="larger than 1,024 bytes"):
        read_bounded("/dev/zero", limit=1024)
    with Path("/dev/zero").open("rb") as handle, pytest.raises(InputLimitError, match="line"):
        list(bounded_lines(handle, "/dev/zero", max_line_bytes=4096))
    with pytest.raises(InputLimitError):
        lawful.load_policy("/dev/zero")


def test_point_6_limits_are_overridable() -> None:
    """Every limit is a keyword: a caller can lower (or raise) it."""
    with pytest.raises(InputLimitError, match="nested deeper than 2"):
        loads_json("[[[1]]]", "x", max_depth=2)
    lines = io.BytesIO(b'{"subject": "s"}\n' * 3)
    with pytest.raises(InputLimitError, match="larger than 20 bytes"):
        list(bounded_lines(lines, "x", max_bytes=20))


@pytest.mark.parametrize("option", ["--at", "--collected-at"])
def test_point_6_unrepresentable_instants_exit_2(
    option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """--at and --collected-at 9999-12-31T23:59-23:59 are refused in one line, status 2."""
    argv = ["decide", "--policy", "piwik-pro", "--events", "/dev/null", "--subject", "s"]
    argv += ["--all", "--at", "2025-01-01T00:00:00Z"]
    argv += [option, "9999-12-31T23:59:00-23:59"]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"lawful: error: {option}: ")


def test_point_6_an_unexpected_failure_is_one_line_and_status_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Anything unforeseen in a command is one line and status 2 (never 1, "denied")."""

    def explode(_: object) -> int:
        raise OverflowError("date value out of range")

    monkeypatch.setattr("lawful.cli._purposes", explode)
    monkeypatch.setattr("lawful.cli.build_parser", _parser_with(explode))
    assert main(["purposes", "piwik-pro"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["lawful: error: unexpected OverflowError: date value out of range"]


def _parser_with(handler: object) -> object:
    from lawful import cli  # noqa: PLC0415 - the real builder, before the patch

    real = cli.build_parser

    def build() -> object:
        parser = real()
        parser.set_defaults(handler=handler)
        return parser

    return build


# -- point 7: signal decoders raise SignalError -----------------------------------------------


@pytest.mark.parametrize(
    "commands",
    [
        [("update", {"ad_storage": ["granted"]})],
        [("update", {"ad_storage": {"granted": 1}})],
        [(["update"], {"ad_storage": "granted"})],
        [("update", {1: "granted"})],
        [("consent", "update", {"ad_storage": "granted"}, "extra")],
        [("update", {f"t{i}": "granted" for i in range(1000)})],
    ],
)
def test_point_7_consent_mode_hostile_values(commands: list[object]) -> None:
    """Consent Mode values that are lists, dicts or other non-strings raise SignalError."""
    with pytest.raises(SignalError):
        from_consent_mode(POLICY, commands, subject=Subject("s"), received_at=T0)


@pytest.mark.parametrize(
    "updated", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:00-05:00", ["2025"], 10**40]
)
def test_point_7_piwik_pro_extreme_dates(updated: object) -> None:
    """A Piwik PRO updatedAt at year 1 or 9999 with an offset is a SignalError, not Overflow."""
    payload = {"consents": {"analytics": {"status": 1, "updatedAt": updated}}}
    with pytest.raises(SignalError, match="updatedAt"):
        from_piwik_pro(POLICY, payload, subject=Subject("s"), received_at=T0)


@pytest.mark.parametrize(
    "payload",
    [{"consents": {"analytics": {"status": [1]}}}, {"consents": {1: {}}}, {("x",): 1}],
)
def test_point_7_piwik_pro_wrong_types(payload: object) -> None:
    """Wrong types anywhere in a Piwik PRO payload raise SignalError."""
    with pytest.raises(SignalError):
        from_piwik_pro(POLICY, payload, subject=Subject("s"), received_at=T0)  # type: ignore[arg-type]


@pytest.mark.parametrize("headers", [{"Sec-GPC": ["1"]}, {1: "1"}, {"Sec-GPC": "1" * 10_000}])
def test_point_7_gpc_wrong_types(headers: object) -> None:
    """GPC headers of the wrong type or size raise SignalError."""
    with pytest.raises(SignalError):
        from_gpc(POLICY, headers, subject=Subject("s"), received_at=T0)  # type: ignore[arg-type]


@pytest.mark.parametrize("tc", [b"CO", "C" * 100_000, "!!!", "CO.", None])
def test_point_7_tcf_hostile_strings(tc: object) -> None:
    """TC strings that are bytes, oversized, not base64url or empty raise SignalError."""
    with pytest.raises(SignalError):
        from_tcf(POLICY, tc, subject=Subject("s"), received_at=T0)  # type: ignore[arg-type]


def test_point_7_signal_consents_carry_their_method() -> None:
    """A signal's consent records the matching ConsentMethod member, never free text."""
    payload = {"consents": {"analytics": {"status": 1, "updatedAt": "2025-03-01T09:00:00Z"}}}
    result = from_piwik_pro(POLICY, payload, subject=Subject("s"), received_at=T0)
    grants = [e for e in result.events if isinstance(e, ConsentGiven)]
    assert grants
    assert {g.method for g in grants} == {ConsentMethod.PIWIK_PRO}
    assert date(2025, 3, 1) == grants[0].at.date()
