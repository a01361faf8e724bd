"""The ``lawful`` command line, run as users run it: ``python -m lawful ...`` in a subprocess.

Bad input always ends in ``lawful: error: ...`` lines on standard error, exit status 2
and no traceback; decisions exit 0 (allowed) or 1 (denied).
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

import lawful
from lawful import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "visitor-events.jsonl"
AT = "2025-06-01T12:00:00+02:00"
GOOD_LINE = (
    '{"subject": "v", "type": "consent_given", "at": "2025-03-03T10:00:00+01:00", '
    '"purpose": "analytics"}'
)
BAD_POLICY = """\
version = "1.0"
id = "shop"
policy_version = "1"

[purposes.newsletter]
title = "Newsletter"
statement = "Send the newsletter."
basis = "consent"
retention = { rules = [{ kind = "after_collection", period = "sixty months" }] }
"""
INVALID_POLICY = """\
version = "1.0"
id = "shop"
policy_version = "1"

[purposes.newsletter]
title = "Newsletter"
statement = "Send the newsletter."
basis = "consent"
vendors = ["mailer"]
"""


def run(
    *args: str | Path, cwd: Path = ROOT, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m lawful ARGS`` with text output captured."""
    return subprocess.run(
        [sys.executable, "-m", "lawful", *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def decide(
    events: Path | str, *extra: str, policy: str = "piwik-pro", cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """``lawful decide`` for subject ``v``/``visitor-1`` with the usual options."""
    subject = "visitor-1" if Path(events) == EXAMPLE else "v"
    args = ["decide", "--policy", policy, "--events", str(events), "--subject", subject]
    if "--all" not in extra and "--purpose" not in extra:
        args += ["--purpose", "analytics"]
    if "--at" not in extra:
        args += ["--at", AT]
    return run(*args, *extra, cwd=cwd)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- bad input: one clear line, exit 2, no traceback -------------------------------------------

ERRORS = [
    # (case id, events file text or None for a missing file, extra args, policy, expected text)
    ("missing-events-file", None, (), "piwik-pro", "No such file or directory"),
    (
        "malformed-json-line",
        f"{GOOD_LINE}\n{{not json\n",
        (),
        "piwik-pro",
        "events.jsonl:2: not valid JSON",
    ),
    (
        "naive-event-timestamp",
        GOOD_LINE.replace("+01:00", "") + "\n",
        (),
        "piwik-pro",
        "events.jsonl:1: consent_given.at: naive datetime",
    ),
    (
        "unknown-event-type",
        GOOD_LINE.replace("consent_given", "consent_maybe") + "\n",
        (),
        "piwik-pro",
        "events.jsonl:1",
    ),
    (
        "line-without-subject",
        '{"type": "erasure", "at": "2025-03-03T10:00:00Z"}\n',
        (),
        "piwik-pro",
        "events.jsonl:1: subject",
    ),
    (
        "naive-at",
        GOOD_LINE,
        ("--at", "2025-06-01T12:00:00"),
        "piwik-pro",
        "--at: the timestamp '2025-06-01T12:00:00' has no offset",
    ),
    (
        "unparseable-at",
        GOOD_LINE,
        ("--at", "next tuesday"),
        "piwik-pro",
        "--at: expected an ISO 8601 timestamp",
    ),
    (
        "naive-collected-at",
        GOOD_LINE,
        ("--collected-at", "2025-01-01T00:00:00"),
        "piwik-pro",
        "--collected-at: the timestamp",
    ),
    (
        "collected-after-at",
        GOOD_LINE,
        ("--collected-at", "2025-07-01T00:00:00Z"),
        "piwik-pro",
        "collected_at: data cannot be processed before it was collected",
    ),
    (
        "unknown-purpose",
        GOOD_LINE,
        ("--purpose", "analytix"),
        "piwik-pro",
        "--purpose: the policy 'piwik-pro' declares no purpose 'analytix'",
    ),
    (
        "unknown-category",
        GOOD_LINE,
        ("--categories", "martian"),
        "piwik-pro",
        "--categories: the policy declares no subject category 'martian'",
    ),
    ("all-with-vendor", GOOD_LINE, ("--all", "--vendor", "hubspot"), "piwik-pro", "not with --all"),
    (
        "no-such-policy",
        GOOD_LINE,
        (),
        "no-such-policy",
        "policy 'no-such-policy': no such file, and no bundled policy",
    ),
    (
        "bad-policy-value",
        GOOD_LINE,
        (),
        "BAD",
        'purposes.newsletter.retention.rules[0].period: expected a duration like "60 months"',
    ),
    (
        "invalid-policy",
        GOOD_LINE,
        (),
        "INVALID",
        'purposes.newsletter.vendors[0]: unknown vendor "mailer"',
    ),
    ("policy-not-toml", GOOD_LINE, (), "NOT_TOML", "not valid TOML"),
    ("events-is-a-directory", "DIR", (), "piwik-pro", "Is a directory"),
    ("events-not-utf8", "LATIN1", (), "piwik-pro", "events.jsonl:1: not UTF-8 text"),
    ("policy-not-utf8", GOOD_LINE, (), "LATIN1_POLICY", "policy: not UTF-8 text"),
]


@pytest.mark.parametrize(
    ("case", "events", "extra", "policy", "expected"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_bad_input_is_one_clear_line(
    tmp_path: Path,
    case: str,
    events: str | None,
    extra: tuple[str, ...],
    policy: str,
    expected: str,
) -> None:
    """Bad input gives 'lawful: error: ...' naming the place, exit 2, and never a traceback."""
    if events is None:
        events_path = tmp_path / "events.jsonl"
    elif events == "DIR":
        events_path = tmp_path / "events.jsonl"
        events_path.mkdir()
    elif events == "LATIN1":
        (tmp_path / "events.jsonl").write_bytes(GOOD_LINE.replace("v", "v\xe9").encode("latin-1"))
    else:
        events_path = _write(tmp_path, "events.jsonl", events)
    policies = {"BAD": BAD_POLICY, "INVALID": INVALID_POLICY, "NOT_TOML": "this is [not toml\n"}
    if policy in policies:
        policy = str(_write(tmp_path, "policy.toml", policies[policy]))
    elif policy == "LATIN1_POLICY":
        (tmp_path / "policy.toml").write_bytes(
            BAD_POLICY.replace("Send", "Envoy\xe9").encode("latin-1")
        )
        policy = str(tmp_path / "policy.toml")
    result = decide("events.jsonl", *extra, policy=policy, cwd=tmp_path)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines, case
    assert all(line.startswith("lawful: error: ") for line in lines), lines
    assert any(expected in line for line in lines), lines


def test_bad_usage_exits_2_without_traceback() -> None:
    """A missing required option is an argparse usage error: exit 2, usage shown."""
    result = run("decide", "--policy", "piwik-pro", "--events", EXAMPLE, "--subject", "x")
    assert result.returncode == 2
    assert "usage: lawful decide" in result.stderr
    assert "Traceback" not in result.stderr


def test_purposes_of_a_bad_policy(tmp_path: Path) -> None:
    """`purposes` on an invalid policy lists each problem as an error line and exits 2."""
    result = run("purposes", _write(tmp_path, "p.toml", INVALID_POLICY))
    assert result.returncode == 2
    assert result.stderr.startswith("lawful: error: ")
    assert 'unknown vendor "mailer"' in result.stderr


# -- decide ---------------------------------------------------------------------------------------


def test_readme_first_command() -> None:
    """README's first command: visitor-1 consented to analytics, so it is allowed, and why."""
    result = decide(EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Allowed: processing for purpose 'analytics'")
    assert "consent_given" in result.stdout
    assert "id v1-0002" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("subject", "purpose", "status", "code"),
    [
        ("visitor-1", "analytics", 0, "consent_given"),
        # HubSpot and GoTo are in the US with no safeguard the policy states (Art. 44).
        ("visitor-1", "marketing_automation", 1, "transfer_safeguard_missing"),
        ("visitor-1", "ab_testing_personalization", 1, "consent_withdrawn"),
        ("visitor-1", "fraud_prevention", 1, "device_access_consent_required"),
        ("visitor-1", "client_data_processing", 1, "processor_only"),
        ("visitor-2", "analytics", 1, "opted_out"),
        ("visitor-3", "webinars", 1, "transfer_safeguard_missing"),
    ],
)
def test_decide_json_on_the_example(subject: str, purpose: str, status: int, code: str) -> None:
    """The example visitors get the decisions their histories call for, as parseable JSON."""
    result = run(
        "decide", "--policy", "piwik-pro", "--events", EXAMPLE, "--subject", subject,
        "--purpose", purpose, "--at", AT, "--json",
    )  # fmt: skip
    assert result.returncode == status, result.stderr
    decision = lawful.Decision.from_dict(json.loads(result.stdout))
    assert decision.purpose == purpose
    assert decision.allowed is (status == 0)
    assert decision.code.value == code


def test_decide_piped_keeps_each_explanation_on_one_line() -> None:
    """Piped, decide does not fold its explanation: grep finds "Art. 5(3)" whole."""
    result = decide(EXAMPLE, "--purpose", "fraud_prevention")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert "(ePrivacy Directive Art. 5(3), device_access_consent_required)" in lines[0]


def test_decide_all_piped_one_line_per_purpose() -> None:
    """Piped, --all prints each purpose as a heading and one indented line."""
    result = decide(EXAMPLE, "--all")
    body = [line for line in result.stdout.splitlines() if line.startswith("  ")]
    assert len(body) == len(lawful.bundled_policy("piwik-pro").purposes)


class _Terminal(types.SimpleNamespace):
    """A standard output that says it is a terminal."""

    def __init__(self) -> None:
        super().__init__(text=[])

    def write(self, text: str) -> int:
        self.text.append(text)
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("columns", "widest"), [("200", 88), ("60", 60), ("10", 40)])
def test_decide_on_a_terminal_folds_to_its_width(
    monkeypatch: pytest.MonkeyPatch, columns: str, widest: int
) -> None:
    """On a terminal, decide folds at 88 columns, or the terminal's width (40 at least)."""
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setenv("COLUMNS", columns)
    status = cli.main(
        ["decide", "--policy", "piwik-pro", "--events", str(EXAMPLE), "--subject",
         "visitor-1", "--purpose", "fraud_prevention", "--at", AT]
    )  # fmt: skip
    assert status == 1
    lines = "".join(terminal.text).splitlines()
    assert len(lines) > 1
    assert max(len(line) for line in lines) <= widest


def test_decide_all_json() -> None:
    """--all --json decides every purpose, keyed by id; one denial makes the exit status 1."""
    result = decide(EXAMPLE, "--all", "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert list(payload) == sorted(lawful.bundled_policy("piwik-pro").purpose_ids)
    assert payload["analytics"]["allowed"] is True
    assert payload["client_data_processing"]["reasons"][0]["code"] == "processor_only"


def test_decide_all_text_heads_each_purpose() -> None:
    """--all without --json prints one headed explanation per purpose."""
    result = decide(EXAMPLE, "--all")
    heads = [line for line in result.stdout.splitlines() if line and not line.startswith(" ")]
    assert heads[0] == "analytics: allowed (consent_given)"
    assert len(heads) == len(lawful.bundled_policy("piwik-pro").purposes)


def test_retention_through_collected_at() -> None:
    """--collected-at with stored data: analytics data older than 60 months is denied."""
    result = decide(EXAMPLE, "--collected-at", "2020-06-01T12:00:00+02:00", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["reasons"][0]["code"] == "retention_exceeded"


def test_vendor_and_data_are_checked() -> None:
    """--vendor and --data narrow the decision; an undeclared one is denied."""
    ok = decide(
        EXAMPLE, "--vendor", "piwik_pro_analytics_suite", "--data", "ip_address,browser_cookie"
    )
    assert ok.returncode == 0
    vendor = decide(EXAMPLE, "--vendor", "hubspot", "--json")
    assert json.loads(vendor.stdout)["reasons"][0]["code"] == "vendor_not_declared"
    data = decide(EXAMPLE, "--data", "email", "--json")
    assert json.loads(data.stdout)["reasons"][0]["code"] == "data_category_not_declared"


def test_categories_and_operation() -> None:
    """--categories scopes the subject; a visitor is not a client user."""
    result = decide(EXAMPLE, "--purpose", "support_users", "--categories", "visitor", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["reasons"][0]["code"] == "subject_not_covered"
    stored = decide(EXAMPLE, "--operation", "store")
    assert stored.returncode == 0


def test_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    """An events file saved with a UTF-8 byte-order mark reads like one without."""
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD_LINE.encode() + b"\n")
    assert decide(path).returncode == 0


def test_events_from_stdin() -> None:
    """'--events -' reads the JSON Lines from standard input."""
    result = run(
        "decide", "--policy", "piwik-pro", "--events", "-", "--subject", "v",
        "--purpose", "analytics", "--at", AT, stdin=GOOD_LINE + "\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_unknown_subject_warns_and_denies() -> None:
    """A subject with no events is decided on an empty history, with a warning."""
    result = run(
        "decide", "--policy", "piwik-pro", "--events", EXAMPLE, "--subject", "nobody",
        "--purpose", "analytics", "--at", AT,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("lawful: warning: no events for subject 'nobody'")
    assert "no_consent" in result.stdout


# -- check and purposes -----------------------------------------------------------------------


def test_check_bundled_policy() -> None:
    """`check piwik-pro` lists every warning with its path and exits 0; --strict exits 1."""
    result = run("check", "piwik-pro")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == len(lawful.bundled_policy("piwik-pro").warnings)
    assert "warning: vendors.hubspot.transfer: transfer outside the EEA" in result.stdout
    assert lines[-1] == f"piwik-pro: 0 error(s), {len(warnings)} warning(s)"
    assert run("check", "piwik-pro", "--strict").returncode == 1


def test_check_lists_every_error(tmp_path: Path) -> None:
    """`check` on an invalid file prints every problem with path and severity, and exits 1."""
    text = INVALID_POLICY.replace('basis = "consent"', 'basis = "whim"')
    result = run("check", _write(tmp_path, "p.toml", text))
    assert result.returncode == 1
    assert "error: purposes.newsletter.basis: expected one of" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("1 error(s), 0 warning(s)")


def test_check_clean_policy_json(tmp_path: Path) -> None:
    """A JSON policy with nothing unstated is clean: exit 0, even under --strict."""
    policy = {
        "version": "1.0",
        "id": "shop",
        "policy_version": "1",
        "contact": {"dpo": "dpo@example.org"},
        "data_categories": {"email": {"title": "Email"}},
        "purposes": {
            "orders": {
                "title": "Orders",
                "statement": "Deliver your order.",
                "basis": "contract",
                "data": ["email"],
                "retention": {"rules": [{"kind": "after_collection", "period": "6 years"}]},
            }
        },
    }
    path = _write(tmp_path, "shop.json", json.dumps(policy))
    result = run("check", path, "--strict")
    assert result.returncode == 0, result.stdout
    assert result.stdout.strip().endswith("0 error(s), 0 warning(s)")


def test_purposes_table() -> None:
    """`purposes` prints a table with every purpose and the six columns."""
    result = run("purposes", "piwik-pro")
    assert result.returncode == 0
    header = result.stdout.splitlines()[2].split()
    assert header == ["purpose", "basis", "data", "vendors", "hosting", "retention"]
    for purpose in lawful.bundled_policy("piwik-pro").purpose_ids:
        assert f"\n{purpose} " in result.stdout
    assert "60 months after collection" in result.stdout
    assert "30 minutes without activity" in result.stdout


@pytest.mark.parametrize("command", ["check", "purposes", "decide"])
def test_help_for_each_command(command: str) -> None:
    """Every command has --help, which explains POLICY (path or bundled name)."""
    result = run(command, "--help")
    assert result.returncode == 0
    assert "bundled with lawful (piwik-pro)" in " ".join(result.stdout.split())
    if command == "decide":
        assert "consent_given: purpose, [vendor]" in result.stdout


# -- in process: the entry point and extensions -------------------------------------------------


def test_main_returns_status_instead_of_exiting(capsys: pytest.CaptureFixture[str]) -> None:
    """main() returns argparse's status for --help rather than raising SystemExit."""
    assert cli.main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


def test_extensions_register_commands(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A module named in _EXTENSIONS adds a command whose handler's status main returns."""
    module = types.ModuleType("lawful_test_extension")

    def handler(args: object) -> int:
        cli.say(f"hello {getattr(args, 'name', '')}")
        return 3

    def register(subparsers: cli.Subparsers) -> None:
        parser = subparsers.add_parser("hello", help="say hello")
        parser.add_argument("name")
        parser.set_defaults(handler=handler)

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lawful_test_extension", module)
    monkeypatch.setattr(cli, "_EXTENSIONS", ("lawful_test_extension",))
    assert cli.main(["hello", "world"]) == 3
    assert capsys.readouterr().out == "hello world\n"


def test_extension_errors_become_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A LawfulError raised by an extension's handler is printed as one line, status 2."""
    module = types.ModuleType("lawful_test_failing")

    def handler(_: object) -> int:
        raise lawful.LedgerError("ledger.db: unknown schema version 9\n(expected 1)")

    def register(subparsers: cli.Subparsers) -> None:
        subparsers.add_parser("fail").set_defaults(handler=handler)

    module.register = register  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lawful_test_failing", module)
    monkeypatch.setattr(cli, "_EXTENSIONS", ("lawful_test_failing",))
    assert cli.main(["fail"]) == 2
    err = capsys.readouterr().err
    assert err == "lawful: error: ledger.db: unknown schema version 9 (expected 1)\n"


def test_progress_draws_a_bar_and_erases_it(capsys: pytest.CaptureFixture[str]) -> None:
    """The one progress bar of ``ledger show --all-subjects`` and ``sweep``: what is done
    of the total, and nothing left behind once the report follows.
    """
    from lawful.cli import Progress  # noqa: PLC0415

    progress = Progress()
    progress(1, 2)
    progress(2, 2)  # the last one is always drawn, however soon after the previous
    progress.close()
    drawn = capsys.readouterr().err
    assert drawn == (
        "\r[" + "#" * 15 + "." * 15 + "] 1/2 subjects\r[" + "#" * 30 + "] 2/2 subjects\r\x1b[K"
    )
