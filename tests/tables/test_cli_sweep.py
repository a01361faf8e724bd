"""``lawful sweep``: events from JSON Lines, Parquet or a ledger; one line on bad input."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.ledger._backends import KEY

import lawful
from lawful import ConsentGiven, ConsentWithdrawn, Event
from lawful.cli import main
from lawful.ledger import LedgerKey, SQLiteLedger

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
tables = pytest.importorskip("lawful.tables")

DAY = datetime(2025, 3, 1, tzinfo=UTC)
EVENTS: list[tuple[str, Event]] = [
    ("v-1", ConsentGiven(at=DAY, purpose="analytics")),
    ("v-1", ConsentWithdrawn(at=DAY + timedelta(days=8), purpose="analytics")),
    ("v-3", ConsentGiven(at=DAY, purpose="analytics")),
]
AT = "2025-03-05T00:00:00Z"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Events as JSON Lines and Parquet, hits as Parquet, in the current directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LAWFUL_LEDGER_KEY", raising=False)
    (tmp_path / "events.jsonl").write_text(lawful.dumps_events(EVENTS))
    pq.write_table(tables.to_arrow(EVENTS), tmp_path / "events.parquet")
    stamps = [DAY + timedelta(days=1), DAY - timedelta(days=1), DAY + timedelta(days=1)]
    hits = pa.table(
        {
            "subject": ["v-1", "v-1", "v-2"],
            "page": ["/a", "/b", "/c"],
            "collected_at": pa.array(stamps, pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(hits, tmp_path / "hits.parquet")
    return tmp_path


def _sweep(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    argv = ["sweep", "--policy", "piwik-pro", "--hits", "hits.parquet", "--purpose"]
    code = main([*argv, "analytics", "--at", AT, "--out", "ok.parquet", *extra])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("events", ["events.jsonl", "events.parquet"])
def test_sweep_writes_allowed_and_denied_rows_and_a_summary(
    workdir: Path, capsys: pytest.CaptureFixture[str], events: str
) -> None:
    """The allowed rows go to --out, the denied ones to --denied-out, each with its code;
    the summary counts hits by outcome and reason.
    """
    code, out, err = _sweep(capsys, "--events", events, "--denied-out", "no.parquet")
    assert (code, err) == (0, "")
    allowed = pq.read_table("ok.parquet")
    assert allowed.column_names == ["subject", "page", "collected_at", "code"]
    assert allowed.column("page").to_pylist() == ["/a"]
    denied = pq.read_table("no.parquet")
    assert denied.column("code").to_pylist() == ["no_consent", "no_consent"]
    assert "3 hit(s)" in out
    assert "1 allowed" in out
    assert "consent_given" in out


def test_sweep_reads_a_ledger(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Events from a SQLite ledger, every subject of the hits read and verified."""
    (workdir / "key").write_text(KEY.hex() + "\n")
    (workdir / "key").chmod(0o600)
    with SQLiteLedger("l.db", key=LedgerKey.from_file("key"), create=True) as ledger:
        ledger.append_batch(EVENTS)
    code, out, err = _sweep(capsys, "--events", "l.db", "--key-file", "key")
    assert (code, err) == (0, "")
    assert "3 hit(s)" in out


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--events", "nope.jsonl"], "nope.jsonl"),
        (["--events", "hits.parquet"], "unknown column 'page'"),
        (["--events", "events.jsonl", "--at", "2025-03-05T00:00:00"], "offset"),
        (["--events", "events.jsonl", "--at", "2025-03-01T00:00:00Z"], "collected after at"),
        (["--events", "events.jsonl", "--events-format", "parquet"], "not a Parquet file"),
        (["--events", "events.parquet", "--events-format", "ledger"], "ledger key"),
    ],
)
def test_bad_input_is_one_line_and_status_2(
    workdir: Path, capsys: pytest.CaptureFixture[str], extra: list[str], match: str
) -> None:
    """Every input error exits 2 with one line naming what is wrong, never a traceback."""
    code, out, err = _sweep(capsys, *extra)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("lawful: error:")
    assert match in err


def test_a_bad_hits_file_is_one_line(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Hits that are no Parquet file: one line, status 2."""
    (workdir / "hits.parquet").write_text("not parquet")
    code, _, err = _sweep(capsys, "--events", "events.jsonl")
    assert code == 2
    assert "hits.parquet: not a Parquet file of hits" in err


def test_sweep_runs_as_a_command(workdir: Path) -> None:
    """``python -m lawful sweep`` runs; no progress is drawn when stderr is no terminal."""
    argv = ["sweep", "--policy", "piwik-pro", "--events", "events.jsonl", "--hits"]
    argv += ["hits.parquet", "--purpose", "analytics", "--at", AT, "--out", "ok.parquet"]
    done = subprocess.run(
        [sys.executable, "-m", "lawful", *argv], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
