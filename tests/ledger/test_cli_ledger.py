"""``lawful ledger``: JSON Lines in and out, keys from a file or the environment, clear errors."""

from __future__ import annotations

import io
import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.ledger._backends import KEY, T0

from lawful import ConsentGiven, read_events
from lawful.cli import main
from lawful.ledger import SQLiteLedger
from lawful.ledger._backup import backup_lines

# Dated ahead of every clock that records them: the ledger stamps recorded_at with its
# own clock, and a grant counts only from when it is on record (a record never back-dates
# a permission, docs/explanation/decision.md).
EVENTS = (
    '{"subject": "visitor-1", "type": "consent_given", "at": "2030-03-01T10:00:00+01:00",'
    ' "purpose": "analytics", "policy_version": "2024-08-30", "method": "banner", "id": "c-1"}\n'
    '{"subject": "visitor-2", "type": "opt_out", "at": "2030-03-01T09:00:00Z", "scope": "all"}\n'
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory with a key file and an events file, as the current directory."""
    (tmp_path / "key").write_text(KEY.hex() + "\n")
    (tmp_path / "key").chmod(0o600)
    (tmp_path / "events.jsonl").write_text(EVENTS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAWFUL_LEDGER_KEY", raising=False)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["ledger", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_append_prints_the_events_as_stored(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """append stores a JSON Lines file in one batch and echoes it with ids and recorded_at."""
    code, out, err = run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    assert (code, err) == (0, "appended 2 new event(s), skipped 0 already recorded\n")
    stored = list(read_events(out.splitlines()))
    assert [(s, e.id) for s, e in stored][:1] == [("visitor-1", "c-1")]
    assert all(e.recorded_at is not None for _, e in stored)
    assert stored[0][1].at.isoformat() == "2030-03-01T09:00:00+00:00"


def test_append_again_prints_only_what_is_new_and_a_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A re-run stores nothing and says "0 new"; events already recorded are not listed."""
    code, _, err = run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    assert (code, err) == (0, "appended 2 new event(s), skipped 0 already recorded\n")
    code, out, err = run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    assert (code, out) == (0, "")
    assert err == "appended 0 new event(s), skipped 2 already recorded\n"
    more = EVENTS + EVENTS.replace('"c-1"', '"c-2"').splitlines(keepends=True)[0]
    (workdir / "events.jsonl").write_text(more)
    code, out, err = run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    assert [e.id for _, e in read_events(out.splitlines())] == ["c-2"]
    assert err == "appended 1 new event(s), skipped 2 already recorded\n"


def test_append_reads_standard_input_and_the_key_from_the_environment(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without EVENTS, append reads standard input; LAWFUL_LEDGER_KEY holds the key."""
    monkeypatch.setenv("LAWFUL_LEDGER_KEY", KEY.hex())
    monkeypatch.setattr("sys.stdin", io.StringIO(EVENTS))
    code, out, _ = run(capsys, "append", "l.db")
    assert code == 0
    assert out.count("\n") == 2
    with SQLiteLedger("l.db", key=KEY.hex().encode()) as ledger:
        assert ledger.head().count == 2


def test_verify_prints_the_head_and_checks_an_anchor(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """verify prints COUNT:HASH, and with --expect fails naming the record (exit 1)."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    code, out, _ = run(capsys, "verify", "l.db", "--key-file", "key")
    assert code == 0
    head = out.strip()
    assert head.startswith("2:")
    assert run(capsys, "verify", "l.db", "--key-file", "key", "--expect", head)[:2] == (0, out)
    code, out, _ = run(capsys, "verify", "l.db", "--key-file", "key", "--expect", "1:" + "0" * 64)
    assert code == 1
    assert out.splitlines()[0] == "record 1: does not match the anchored head"


def test_show_proves_a_decision(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """show --purpose decides and lists the records that prove it; --json gives the proof."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    code, out, _ = run(capsys, "show", "l.db", "visitor-1", "--key-file", "key")
    assert code == 0
    assert "consent given event for 'analytics'" in out
    decide = ["--purpose", "analytics", "--policy", "piwik-pro", "--at", "2030-03-02T00:00:00Z"]
    code, out, _ = run(capsys, "show", "l.db", "visitor-1", "--key-file", "key", *decide)
    assert code == 0
    assert "record 1 (mac " in out
    code, out, _ = run(capsys, "show", "l.db", "visitor-1", "--key-file", "key", *decide, "--json")
    proof = json.loads(out)
    assert [r["event"]["id"] for r in proof["records"]] == ["c-1"]
    assert proof["decision"]["allowed"] is True
    code, out, _ = run(capsys, "show", "l.db", "nobody", "--key-file", "key", *decide)
    assert code == 1


def test_erase_then_export(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """erase prints the erasure; export of the subject is only that erasure afterwards."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    args = ("--key-file", "key", "--at", "2030-04-01T00:00:00Z")
    code, out, _ = run(capsys, "erase", "l.db", "visitor-1", *args)
    assert code == 0
    assert json.loads(out)["type"] == "erasure"
    assert run(capsys, "export", "l.db", "visitor-1", "--key-file", "key")[1] == out
    code, out, _ = run(capsys, "export", "l.db", "--key-file", "key")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line.get("subject") for line in lines] == ["visitor-2", None]
    assert lines[1]["type"] == "erasure"
    assert "pseudonym" in lines[1]


def test_an_export_is_written_as_it_is_read(workdir: Path) -> None:
    """A backup's lines are made one entry at a time (``export`` writes them as the
    ledger's ``dump()`` streams them), so an endless dump still gives its first line.
    """
    with SQLiteLedger("l.db", key=KEY) as ledger:
        ledger.append("visitor-1", ConsentGiven(at=T0, purpose="analytics", id="c-1"))
        entry = next(iter(ledger.dump()))
    lines = backup_lines(itertools.repeat(entry))
    assert json.loads(next(lines))["subject"] == "visitor-1"


def test_import_restores_an_export(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An export imported into a new ledger gives the same events; a second import adds none."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    Path("backup.jsonl").write_text(run(capsys, "export", "l.db", "--key-file", "key")[1])
    code, out, _ = run(capsys, "import", "copy.db", "backup.jsonl", "--key-file", "key")
    assert code == 0
    assert out.startswith("2 entry(ies) read, 2 record(s) added, 0 already present")
    assert run(capsys, "import", "copy.db", "backup.jsonl", "--key-file", "key")[1].startswith(
        "2 entry(ies) read, 0 record(s) added, 2 already present, 0 skipped"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "l.db"], "pass --key-file FILE or set LAWFUL_LEDGER_KEY"),
        (["verify", "missing.db", "--key-file", "key"], "missing.db: no such ledger"),
        (["verify", "l.db", "--key-file", "nokey"], "cannot read nokey"),
        (
            ["verify", "l.db", "--key-file", "events.jsonl", "--allow-shared-key-file"],
            "not the key",
        ),
        (["verify", "l.db", "--key-file", "events.jsonl"], "readable or writable by group"),
        (["verify", "l.db", "--key-file", "key", "--expect", "x"], "COUNT:HASH"),
        (["append", "l.db", "bad.jsonl", "--key-file", "key"], "bad.jsonl:1"),
        (["append", "l.db", "naive.jsonl", "--key-file", "key"], "naive datetime"),
        (["show", "l.db", "s", "--key-file", "key", "--purpose", "analytics"], "--policy and --at"),
        (["erase", "l.db", "s", "--key-file", "key", "--at", "2025-01-01"], "no offset"),
        (["migrate", "l.db", "--key-file", "key", "--encrypt"], "for a PostgreSQL ledger"),
    ],
)
def test_errors_are_one_line_and_exit_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """Bad usage or input prints 'lawful: error: ...' on standard error and exits 2."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    Path("bad.jsonl").write_text("{not json\n")
    Path("naive.jsonl").write_text(EVENTS.replace("+01:00", ""))
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.startswith("lawful: error: ")
    assert err.count("\n") == 1
    assert message in err


def test_the_installed_command_has_the_ledger(workdir: Path) -> None:
    """`python -m lawful ledger --help` lists every subcommand."""
    done = subprocess.run(
        [sys.executable, "-m", "lawful", "ledger", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    for command in ("append", "show", "verify", "erase", "export", "import", "migrate"):
        assert command in done.stdout


def test_show_all_subjects_reports_each_subject_in_its_own_section(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--all-subjects prints one section per subject, an erased one by pseudonym, and totals."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    run(capsys, "erase", "l.db", "visitor-2", "--key-file", "key")
    code, out, err = run(capsys, "show", "l.db", "--all-subjects", "--key-file", "key")
    assert (code, err) == (0, "")
    sections = out.split("\n\n")
    assert sections[-1] == "2 subject(s), 2 event(s)\n"
    heads = sorted(s.splitlines()[0] for s in sections[:-1])
    assert heads[0].startswith("erased subject (pseudonym ")
    assert heads[1] == "subject 'visitor-1': 1 event(s)"
    assert "  the consent given event for 'analytics'" in out


def test_show_all_subjects_on_an_empty_ledger(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An empty ledger reports no subject, not an error."""
    SQLiteLedger("l.db", key=KEY.hex().encode(), create=True).close()
    code, out, _ = run(capsys, "show", "l.db", "--all-subjects", "--key-file", "key")
    assert (code, out) == (0, "0 subject(s), 0 event(s)\n")


class _Terminal(io.StringIO):
    """Standard error that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("minimum", "shown"), [(1, True), (100, False)])
def test_show_all_subjects_draws_progress_only_on_a_terminal_when_long(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    minimum: int,
    shown: bool,
) -> None:
    """A long report draws a progress bar on a terminal's stderr, then erases it."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    monkeypatch.setattr("lawful._cli_ledger._PROGRESS_MIN", minimum)
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    code, out, _ = run(capsys, "show", "l.db", "--all-subjects", "--key-file", "key")
    assert code == 0
    assert out.endswith("2 subject(s), 2 event(s)\n")
    drawn = terminal.getvalue()
    assert ("2/2 subjects" in drawn) is shown
    assert drawn.endswith("\r\x1b[K") is shown


def test_show_all_subjects_never_draws_progress_when_stderr_is_not_a_terminal(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redirected, stderr gets no progress bar, however long the report."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    monkeypatch.setattr("lawful._cli_ledger._PROGRESS_MIN", 1)
    _, _, err = run(capsys, "show", "l.db", "--all-subjects", "--key-file", "key")
    assert err == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["show", "l.db", "visitor-1", "--all-subjects"], "--all-subjects lists every"),
        (["show", "l.db", "--all-subjects", "--purpose", "analytics"], "--all-subjects lists"),
        (["show", "l.db"], "give a SUBJECT, or --all-subjects"),
    ],
)
def test_show_needs_one_subject_or_all(
    workdir: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    """show takes a SUBJECT or --all-subjects, never both, and says so in one line."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    code, _, err = run(capsys, *argv, "--key-file", "key")
    assert code == 2
    assert err.startswith("lawful: error: ")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("command", ["show", "export"])
def test_options_may_come_between_the_ledger_and_the_subject(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """``LEDGER --key-file FILE SUBJECT`` reads SUBJECT, as ``LEDGER SUBJECT --key-file`` does."""
    run(capsys, "append", "l.db", "events.jsonl", "--key-file", "key")
    code, out, err = run(capsys, command, "l.db", "--key-file", "key", "visitor-1")
    assert (code, err) == (0, "")
    assert "analytics" in out
    assert "visitor-2" not in out
