"""Every subcommand on hostile input: status 2, one line on stderr, never a traceback.

Each case runs ``python -m lawful`` in a subprocess under a memory cap (RLIMIT_AS) and a
timeout, so an unbounded read fails the test instead of the machine.
"""

from __future__ import annotations

import os
import resource
import secrets
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

MEMORY_CAP = 1024 * 1024 * 1024  # 1 GiB of address space: imports need ~200 MiB
TIMEOUT = 60
AT = "2025-06-01T12:00:00+00:00"
LATE = "9999-12-31T23:59:00-23:59"
GOOD_EVENT = '{"subject": "s", "type": "erasure", "at": "2025-03-01T09:00:00Z"}\n'


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Hostile files by name, plus a good key and a good events file."""
    root = tmp_path_factory.mktemp("hostile")
    contents: dict[str, bytes] = {
        "deep.jsonl": b"[" * 100_000 + b"\n",
        "deep.json": b'{"a": ' * 100_000,
        "deep.toml": b"a = " + b"[" * 100_000 + b"\n",
        "bigint.jsonl": b'{"subject": "s", "type": "age_declared", "at": "2025-03-01T09:00:00Z", '
        b'"at_least": ' + b"9" * 5000 + b"}\n",
        "bigint.toml": b"version = " + b"9" * 5000 + b"\n",
        "bigint.json": b'{"version": ' + b"9" * 5000 + b"}",
        "dup.jsonl": b'{"subject": "s", "type": "consent_withdrawn", "at": "2025-03-01T09:00:00Z", '
        b'"purpose": "analytics", "type": "interaction", "kind": "x"}\n',
        "dup.json": b'{"version": "1", "version": "2"}',
        "garbage.bin": secrets.token_bytes(4096) + b"\x00\xff\xfe",
        "latin1.jsonl": GOOD_EVENT.replace('"s"', '"\u00e9"').encode("latin-1"),
        "offset.jsonl": b'{"subject": "s", "type": "erasure", "at": "9999-12-31T23:59:00-23:59"}\n',
        "good.jsonl": GOOD_EVENT.encode(),
        "key": secrets.token_hex(32).encode(),
    }
    out = {}
    for name, data in contents.items():
        path = root / name
        path.write_bytes(data)
        out[name] = str(path)
    hits = root / "hits.parquet"  # a good table of hits (lawful sweep reads Parquet)
    pq.write_table(
        pa.table(
            {
                "subject": ["s"],
                "collected_at": pa.array([0], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            }
        ),
        hits,
    )
    out["hits.parquet"] = str(hits)
    out["out.parquet"] = str(root / "out.parquet")
    (root / "key").chmod(0o600)  # a key file is private (lawful ledger refuses it otherwise)
    out["/dev/zero"] = "/dev/zero"
    out["ledger"] = str(root / "ledger.db")
    return out


def _sweep(events: str, hits: str = "{hits.parquet}", at: str = AT) -> list[str]:
    head = ["sweep", "--policy", "piwik-pro", "--events", events, "--hits", hits]
    return [*head, "--purpose", "analytics", "--at", at, "--out", "{out.parquet}"]


def _iso27560(ledger: str, policy: str, *extra: str) -> list[str]:
    head = ["ledger", "export", ledger, "--key-file", "{key}", "s", "--format", "iso27560"]
    return [*head, "--policy", policy, *extra]


def _timeline(events: str, *extra: str) -> list[str]:
    return ["timeline", "--policy", "piwik-pro", "--events", events, "--subject", "s", *extra]


def _decide(events: str, *extra: str) -> list[str]:
    head = ["decide", "--policy", "piwik-pro", "--events", events, "--subject", "s", "--all"]
    return [*head, *(extra or ("--at", AT))]


# (id, argv with {name} placeholders for files, environment additions)
CASES: list[tuple[str, list[str], dict[str, str]]] = [
    ("purposes-deep-toml", ["purposes", "{deep.toml}"], {}),
    ("purposes-dev-zero", ["purposes", "{/dev/zero}"], {}),
    ("purposes-dup-json", ["purposes", "{dup.json}"], {}),
    ("render-deep-json", ["render", "{deep.json}"], {}),
    ("banner-deep-toml", ["banner", "{deep.toml}"], {}),
    ("banner-dev-zero", ["banner", "{/dev/zero}"], {}),
    ("banner-dup-json", ["banner", "--html", "{dup.json}"], {}),
    ("render-bigint-toml", ["render", "{bigint.toml}"], {}),
    ("ropa-bigint-json", ["ropa", "{bigint.json}"], {}),
    ("ropa-garbage", ["ropa", "{garbage.bin}"], {}),
    ("diff-deep-new", ["diff", "piwik-pro", "{deep.toml}"], {}),
    ("diff-dev-zero-old", ["diff", "{/dev/zero}", "piwik-pro"], {}),
    ("check-deep-toml", ["check", "{deep.toml}"], {}),
    ("check-dev-zero", ["check", "{/dev/zero}"], {}),
    ("check-bigint-json", ["check", "{bigint.json}"], {}),
    ("decide-deep-events", _decide("{deep.jsonl}"), {}),
    ("decide-bigint-events", _decide("{bigint.jsonl}"), {}),
    ("decide-dup-events", _decide("{dup.jsonl}"), {}),
    ("decide-dev-zero-events", _decide("{/dev/zero}"), {}),
    ("decide-garbage-events", _decide("{garbage.bin}"), {}),
    ("decide-latin1-events", _decide("{latin1.jsonl}"), {}),
    ("decide-offset-event", _decide("{offset.jsonl}"), {}),
    ("decide-at-offset", _decide("{good.jsonl}", "--at", LATE), {}),
    ("decide-collected-offset", _decide("{good.jsonl}", "--at", AT, "--collected-at", LATE), {}),
    ("decide-policy-deep", ["decide", "--policy", "{deep.json}", *_decide("{good.jsonl}")[3:]], {}),
    (
        "ledger-append-deep",
        ["ledger", "append", "{ledger}", "{deep.jsonl}", "--key-file", "{key}"],
        {},
    ),
    (
        "ledger-append-zero",
        ["ledger", "append", "{ledger}", "{/dev/zero}", "--key-file", "{key}"],
        {},
    ),
    (
        "ledger-append-dup",
        ["ledger", "append", "{ledger}", "{dup.jsonl}", "--key-file", "{key}"],
        {},
    ),
    (
        "ledger-import-bigint",
        ["ledger", "import", "{ledger}", "--key-file", "{key}", "{bigint.jsonl}"],
        {},
    ),
    (
        "ledger-import-garbage",
        ["ledger", "import", "{ledger}", "--key-file", "{key}", "{garbage.bin}"],
        {},
    ),
    ("ledger-show-zero-key", ["ledger", "show", "{ledger}", "--key-file", "{/dev/zero}", "s"], {}),
    ("ledger-show-garbage-db", ["ledger", "show", "{garbage.bin}", "--key-file", "{key}", "s"], {}),
    (
        "ledger-show-all-garbage-db",
        ["ledger", "show", "{garbage.bin}", "--key-file", "{key}", "--all-subjects"],
        {},
    ),
    (
        "ledger-show-all-and-a-subject",
        ["ledger", "show", "{ledger}", "--key-file", "{key}", "s", "--all-subjects"],
        {},
    ),
    ("ledger-show-no-subject", ["ledger", "show", "{ledger}", "--key-file", "{key}"], {}),
    ("ledger-verify-garbage-db", ["ledger", "verify", "{garbage.bin}", "--key-file", "{key}"], {}),
    (
        "ledger-verify-env-key",
        ["ledger", "verify", "{ledger}"],
        {"LAWFUL_LEDGER_KEY": "\udcff" * 40},
    ),
    (
        "ledger-erase-at-offset",
        ["ledger", "erase", "{ledger}", "--key-file", "{key}", "s", "--at", LATE],
        {},
    ),
    ("ledger-export-zero-key", ["ledger", "export", "{ledger}", "--key-file", "{/dev/zero}"], {}),
    ("ledger-export-iso27560-garbage-db", _iso27560("{garbage.bin}", "piwik-pro"), {}),
    ("ledger-export-iso27560-deep-policy", _iso27560("{ledger}", "{deep.json}"), {}),
    ("ledger-export-iso27560-at-offset", _iso27560("{ledger}", "piwik-pro", "--at", LATE), {}),
    ("ledger-export-garbage-db", ["ledger", "export", "{garbage.bin}", "--key-file", "{key}"], {}),
    ("sweep-garbage-hits", _sweep("{good.jsonl}", "{garbage.bin}"), {}),
    ("sweep-deep-events", _sweep("{deep.jsonl}"), {}),
    ("sweep-dev-zero-events", _sweep("{/dev/zero}"), {}),
    ("sweep-garbage-events", _sweep("{garbage.bin}"), {}),
    ("sweep-at-offset", _sweep("{good.jsonl}", at=LATE), {}),
    ("timeline-deep-events", _timeline("{deep.jsonl}"), {}),
    ("timeline-dev-zero-events", _timeline("{/dev/zero}", "--start", AT), {}),
    ("timeline-start-offset", _timeline("{good.jsonl}", "--start", LATE), {}),
    ("timeline-svg-nowhere", _timeline("{good.jsonl}", "--svg", "/nonexistent/x.svg"), {}),
    ("argument-not-utf8", ["ledger", "show", "{ledger}", "--key-file", "{key}", "\udcff"], {}),
]


def _fill(argv: list[str], files: dict[str, str]) -> list[str]:
    out = []
    for arg in argv:
        if arg.startswith("{") and arg.endswith("}"):
            out.append(files[arg[1:-1]])
        else:
            out.append(arg)
    return out


def test_the_table_covers_every_subcommand() -> None:
    """Every subcommand that ``lawful --help`` lists (and every ledger one) is in the table."""
    from lawful.cli import build_parser  # noqa: PLC0415

    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr,arg-type]
    covered = {argv[0] for _, argv, _ in CASES}
    assert commands <= covered, commands - covered
    ledger = {argv[1] for _, argv, _ in CASES if argv[0] == "ledger"}
    assert {"append", "import", "show", "verify", "erase", "export"} <= ledger


@pytest.mark.slow
@pytest.mark.parametrize(
    ("argv", "env"), [(a, e) for _, a, e in CASES], ids=[c for c, _, _ in CASES]
)
def test_hostile_input_exits_2_with_one_line(
    argv: list[str], env: dict[str, str], files: dict[str, str]
) -> None:
    """Status 2, exactly one line on stderr starting ``lawful: error:``, no traceback.

    ``check`` is the one command whose job is to report a policy's problems: a policy
    that parses but is invalid gives status 1 and its problems on stdout (its documented
    contract); hostile input it cannot even read still gives status 2.
    """
    environ = {k: v for k, v in os.environ.items() if k != "LAWFUL_LEDGER_KEY"}
    environ.update(env)
    args = [os.fsencode(a) for a in [sys.executable, "-m", "lawful", *_fill(argv, files)]]
    result = subprocess.run(
        args,
        capture_output=True,
        timeout=TIMEOUT,
        preexec_fn=_cap,
        env={k: v.encode("utf-8", "surrogateescape") for k, v in environ.items()},
        check=False,
    )
    stderr = result.stderr.decode("utf-8", "replace")
    assert b"Traceback" not in result.stderr, stderr
    if argv[0] == "check" and result.returncode == 1:
        assert stderr == ""
        return
    assert result.returncode == 2, (result.returncode, stderr, result.stdout[:200])
    lines = stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("lawful: error: "), lines


def test_a_closed_stdout_after_a_committed_append_is_success(
    files: dict[str, str], tmp_path: Path
) -> None:
    """``ledger append ... | (exit)``: the events are stored, so the status is 0, not 1."""
    ledger = str(tmp_path / "l.db")
    reader, writer = os.pipe()
    os.close(reader)  # nobody reads: the first write after the commit breaks the pipe
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "lawful",
                "ledger",
                "append",
                ledger,
                files["good.jsonl"],
                "--key-file",
                files["key"],
            ],
            stdout=writer,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(writer)
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
