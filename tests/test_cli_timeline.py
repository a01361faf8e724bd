"""``lawful timeline``: the text and JSON forms are ``Policy.timeline``; ``--svg`` draws it;
every input error is one line and exit status 2.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.ledger._backends import KEY

import lawful
from lawful.cli import main, read_subject
from lawful.ledger import LedgerKey, SQLiteLedger

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "visitor-events.jsonl"
POLICY = lawful.bundled_policy("piwik-pro")
START = "2025-03-01T00:00:00+01:00"
END = "2025-06-01T00:00:00+02:00"
BASE = ("timeline", "--policy", "piwik-pro", "--events", str(EXAMPLE), "--subject", "visitor-1")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _parse_text(out: str) -> dict[str, list[tuple[str, str, bool, str]]]:
    found: dict[str, list[tuple[str, str, bool, str]]] = {}
    current = ""
    for line in out.splitlines():
        if not line:
            continue
        if not line.startswith("  "):
            current = line.split(" (", 1)[0]
            found[current] = []
            continue
        start, end, verdict, code = line.split()
        found[current].append((start, end, verdict == "allowed", code))
    return found


def test_text_output_is_the_policy_timeline_of_every_purpose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --svg, each purpose's spans print as start, end, allowed, code: Policy.timeline's."""
    code, out, err = run(capsys, *BASE, "--start", START, "--end", END)
    assert (code, err) == (0, "")
    subject, _ = read_subject(str(EXAMPLE), "visitor-1")
    start, end = datetime.fromisoformat(START), datetime.fromisoformat(END)
    expected = {
        pid: [
            (s.start.isoformat(), s.end.isoformat(), s.allowed, s.code.value)
            for s in POLICY.timeline(subject, pid, start, end)
        ]
        for pid in POLICY.purpose_ids
    }
    assert _parse_text(out) == expected
    assert out.startswith("analytics (consent)\n")


def test_purposes_are_chosen_with_repeated_purpose_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--purpose picks purposes, in the order given, each once."""
    code, out, _ = run(
        capsys, *BASE, "--start", START, "--end", END,
        "--purpose", "webinars", "--purpose", "analytics", "--purpose", "webinars",
    )  # fmt: skip
    assert code == 0
    assert list(_parse_text(out)) == ["webinars", "analytics"]


def test_json_lines_carry_each_span_and_its_decision(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one object per span, with the decision in its stable JSON form."""
    code, out, _ = run(
        capsys, *BASE, "--start", START, "--end", END, "--purpose", "analytics", "--json"
    )
    assert code == 0
    subject, _ = read_subject(str(EXAMPLE), "visitor-1")
    spans = POLICY.timeline(
        subject, "analytics", datetime.fromisoformat(START), datetime.fromisoformat(END)
    )
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["decision"] for r in records] == [s.decision.to_dict() for s in spans]
    assert [(r["purpose"], r["allowed"], r["code"]) for r in records] == [
        ("analytics", s.allowed, s.code.value) for s in spans
    ]


def test_the_window_defaults_to_the_events_widened_by_whole_days(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --start/--end: the first event's day to the day after the last, widened by a
    tenth of that range (rounded up to whole days) on each side, in UTC.
    """
    code, out, _ = run(capsys, *BASE, "--purpose", "analytics")
    assert code == 0
    spans = _parse_text(out)["analytics"]
    # Events from 2025-03-03 to 2025-05-20: 79 days, so 8 days on each side.
    assert spans[0][0] == "2025-02-23T00:00:00+00:00"
    assert spans[-1][1] == "2025-05-29T00:00:00+00:00"


def test_svg_is_written_to_a_file_with_one_band_per_purpose(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """--svg writes the picture (one band group per purpose, the events as ticks)."""
    out_file = tmp_path / "t.svg"
    code, out, err = run(
        capsys, *BASE, "--start", START, "--end", END, "--svg", str(out_file),
        "--purpose", "analytics", "--purpose", "marketing_automation",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out.startswith(f"{out_file}: 2 purpose(s), ")
    root = ET.fromstring(out_file.read_text(encoding="utf-8"))  # noqa: S314 - our own output
    groups = list(root.iter("{http://www.w3.org/2000/svg}g"))
    assert [g.get("data-purpose") for g in groups if g.get("class") == "purpose"] == [
        "analytics",
        "marketing_automation",
    ]
    assert sum(1 for g in groups if g.get("class") == "event") == 10


def test_svg_dash_writes_standard_output(capsys: pytest.CaptureFixture[str]) -> None:
    """--svg - writes the document itself to standard output, for a pipe."""
    code, out, _ = run(capsys, *BASE, "--start", START, "--end", END, "--svg", "-")
    assert code == 0
    assert out.startswith("<svg ")
    assert out.endswith("</svg>\n")


def test_events_can_come_from_a_ledger(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--ledger reads the subject's events from a SQLite ledger, with the ledger's key file."""
    monkeypatch.delenv("LAWFUL_LEDGER_KEY", raising=False)
    key = tmp_path / "key"
    key.write_text(KEY.hex() + "\n")
    key.chmod(0o600)
    ledger_path = tmp_path / "l.db"
    at = datetime(2030, 3, 1, tzinfo=UTC)  # ahead of the ledger's own recorded_at clock
    with SQLiteLedger(ledger_path, key=LedgerKey.from_file(key)) as ledger:
        ledger.append("v", lawful.ConsentGiven(at=at, purpose="analytics"))
    code, out, err = run(
        capsys, "timeline", "--policy", "piwik-pro", "--ledger", str(ledger_path),
        "--subject", "v", "--purpose", "analytics", "--key-file", str(key),
    )  # fmt: skip
    assert (code, err) == (0, "")
    spans = _parse_text(out)["analytics"]
    assert [(s[2], s[3]) for s in spans] == [(False, "no_consent"), (True, "consent_given")]
    assert spans[1][0] == "2030-03-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--purpose", "nope"), "--purpose: the policy 'piwik-pro' declares no purpose"),
        (("--start", "2025-03-01T00:00:00"), "--start: the timestamp '2025-03-01T00:00:00' has"),
        (("--start", END, "--end", START), "--end: the window needs an end after its start"),
        (("--collected-at", "2025-04-01T00:00Z", "--start", START), "collected_at: data cannot"),
        (("--categories", "aliens"), "--categories: the policy declares no subject category"),
        (("--categories", " , "), "--categories: expected a comma-separated list"),
        (("--ledger", "l.db"), "pass the events as --events FILE or --ledger LEDGER"),
        (("--svg", "/no/such/dir/t.svg"), "/no/such/dir/t.svg: No such file or directory"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], message: str
) -> None:
    """Every input error ends in one 'lawful: error:' line and exit status 2, no traceback."""
    code, out, err = run(capsys, *BASE, *extra)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("lawful: error: ")
    assert message in err


def test_no_events_and_no_window_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A subject with no events gives no window to draw: the user must pass one."""
    code, _, err = run(
        capsys, "timeline", "--policy", "piwik-pro", "--events", str(EXAMPLE), "--subject", "x"
    )
    assert code == 2
    assert "no events for subject 'x': pass --start and --end" in err


def test_no_events_with_a_window_warns_and_draws_the_empty_history(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With a window, an unknown subject is an empty history, with a warning as decide gives."""
    code, out, err = run(
        capsys, "timeline", "--policy", "piwik-pro", "--events", str(EXAMPLE), "--subject", "x",
        "--start", START, "--end", END, "--purpose", "analytics",
    )  # fmt: skip
    assert code == 0
    assert "warning: no events for subject 'x'" in err
    assert _parse_text(out)["analytics"][0][3] == "no_consent"


def test_a_bad_events_line_names_the_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A broken events file is refused with its file and line, never skipped."""
    events = tmp_path / "e.jsonl"
    events.write_text('{"subject": "v", "type": "consent_given", "at": "2025-01-01"}\n')
    code, _, err = run(
        capsys, "timeline", "--policy", "piwik-pro", "--events", str(events), "--subject", "v"
    )
    assert code == 2
    assert err.startswith(f"lawful: error: {events}:1")


def test_the_picture_in_the_docs_is_what_the_documented_command_draws(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/_static/timeline.svg is byte for byte what the how-to's command writes (redraw it
    with that command, in a folder holding the page's events.jsonl, when the picture changes).
    """
    from tests.test_docs import DOCS, blocks  # noqa: PLC0415 - the docs' own block reader

    page = (DOCS / "howto" / "retention-sweep.md").read_text(encoding="utf-8")
    found = blocks(page)
    (events,) = [b for b in found if b.options.get("caption") == "events.jsonl"]
    (tmp_path / "events.jsonl").write_text(events.body, encoding="utf-8")
    (command,) = [
        line.removeprefix("$ lawful ")
        for b in found
        if b.language == "console"
        for line in b.body.splitlines()
        if "--svg timeline.svg" in line
    ]
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(capsys, *command.split())
    assert code == 0
    drawn = (tmp_path / "timeline.svg").read_text(encoding="utf-8")
    assert drawn == (DOCS / "_static" / "timeline.svg").read_text(encoding="utf-8")
