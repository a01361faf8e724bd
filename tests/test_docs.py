"""Every code example in docs/ runs: doctests, command lines, and the files they use.

Rules for pages (docs/*.md, MyST):

- a ``pycon`` (or ``python``) fence holds a doctest (``>>>``); a Python fence
  without ``>>>`` is refused, so nothing shown as code goes unexecuted;
- a ``{code-block}`` (or ``{literalinclude}``) fence with ``:caption: NAME`` is written
  to the file NAME in a fresh working directory before the page's examples run, so a
  tutorial can show ``shop.toml`` and then load it;
- a ``console`` fence holds ``$ lawful ...`` commands, run in process, each followed
  by its expected output (``...`` matches anything, as in doctests);
- ``toml``, ``json`` and ``jsonl`` fences must parse;
- a ``{literalinclude}`` must name a file that exists; the Django and FastAPI files
  under docs/howto/examples run in the ``docs`` nox session, where those are installed.

The examples of one page share one namespace and run in document order.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import re
import shlex
import tomllib
from pathlib import Path

import attrs
import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_SILENT = frozenset({"", "text", "sh", "bash", "shell", "ini", "none", "mermaid"})


@attrs.frozen
class Block:
    """One fenced block of a page."""

    line: int
    info: str
    options: dict[str, str]
    body: str

    @property
    def language(self) -> str:
        """``pycon`` for a plain fence, the argument for ``{code-block} LANG``."""
        words = self.info.split()
        if not words:
            return ""
        if words[0] == "{code-block}" or words[0] == "{code}":
            return words[1] if len(words) > 1 else ""
        return words[0]


def blocks(text: str) -> list[Block]:
    """The fenced blocks of a MyST page, with their options (``:caption: x``)."""
    found: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            i += 1
            continue
        fence, start = match["fence"], i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i].strip() != fence:
            body.append(lines[i])
            i += 1
        options: dict[str, str] = {}
        while body and (option := re.match(r"^:([\w-]+):\s*(.*)$", body[0])):
            options[option[1]] = option[2]
            body.pop(0)
        found.append(Block(start + 1, match["info"].strip(), options, "\n".join(body) + "\n"))
        i += 1
    return found


def _run_console(block: Block, page: Path) -> list[str]:
    """Run ``$ lawful ...`` lines in process; return the mismatches."""
    from lawful import cli  # noqa: PLC0415 - only pages with command lines need it

    checker = doctest.OutputChecker()
    failures: list[str] = []
    commands: list[tuple[str, list[str]]] = []
    for line in block.body.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            failures.append(f"{page.name}:{block.line}: output before any command: {line!r}")
    for command, expected_lines in commands:
        argv = shlex.split(command)
        if argv[:1] != ["lawful"]:
            failures.append(f"{page.name}:{block.line}: only lawful commands run: {command!r}")
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            cli.main(argv[1:])
        expected = "\n".join(expected_lines).strip() + "\n"
        got = out.getvalue().strip() + "\n"
        if not checker.check_output(expected, got, _FLAGS):
            failures.append(
                f"{page.name}:{block.line}: $ {command}\n--- expected\n{expected}--- got\n{got}"
            )
    return failures


def _check_page(page: Path, text: str | None = None) -> list[str]:
    """Run every example of one page (or of ``text`` as if it were that page), in order."""
    if text is None:
        text = page.read_text(encoding="utf-8")
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=_FLAGS)
    namespace: dict[str, object] = {"__name__": f"docs.{page.stem}"}
    failures: list[str] = []
    found = blocks(text)
    for block in found:
        name = block.options.get("caption")
        if block.info.startswith("{code-block}") and name:
            Path(name).write_text(block.body, encoding="utf-8")
            if name.endswith(".key"):
                Path(name).chmod(0o600)  # as docs/ledger.md asks: a key file is private
        elif block.info.startswith("{literalinclude}") and name:
            source = page.parent / block.info.split(maxsplit=1)[1]
            if source.is_file():
                Path(name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    for block in found:
        where = f"{page.relative_to(DOCS)}:{block.line}"
        language = block.language
        if block.info.startswith("{literalinclude}"):
            target = (page.parent / block.info.split(maxsplit=1)[1]).resolve()
            if not target.is_file():
                failures.append(f"{where}: literalinclude of a missing file {target}")
        elif language in {"pycon", "python", "py", "python3"}:
            if ">>>" not in block.body:
                failures.append(f"{where}: a Python example must be a doctest (>>>)")
                continue
            test = doctest.DocTest(
                parser.get_examples(block.body, name=where),
                namespace,
                where,
                str(page),
                block.line,
                None,
            )
            # DocTest copies the globals it is given; one dict shared by every block keeps
            # a function defined early seeing names (re)defined later, as in a session.
            test.globs = namespace
            output: list[str] = []
            result = runner.run(test, out=output.append, clear_globs=False)
            if result.failed:
                failures.append("".join(output))
        elif language == "console":
            failures.extend(_run_console(block, page))
        elif language == "toml":
            try:
                tomllib.loads(block.body)
            except tomllib.TOMLDecodeError as exc:
                failures.append(f"{where}: TOML does not parse: {exc}")
        elif language in {"json", "jsonl"}:
            chunks = block.body.splitlines() if language == "jsonl" else [block.body]
            for chunk in filter(str.strip, chunks):
                try:
                    json.loads(chunk)
                except json.JSONDecodeError as exc:
                    failures.append(f"{where}: JSON does not parse: {exc}")
        elif not language.startswith("{") and language not in _SILENT | {"csv", "html", "md"}:
            failures.append(f"{where}: no rule runs or checks a {language!r} block")
    return failures


def test_docs_exist() -> None:
    """The docs folder has the pages the toctree promises (index, tutorial, reference)."""
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"index.md", "tutorial.md", "glossary.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every doctest, command and data block of the page runs and shows what it prints."""
    monkeypatch.chdir(tmp_path)
    failures = _check_page(page)
    assert not failures, "\n\n".join(failures)


_SAMPLE = """\
text
```{code-block} toml
:caption: a.toml
x = 1
```

````pycon
>>> 1 + 1
2
````

~~~python
print("not a doctest")
~~~
"""


def test_blocks_reads_fences_and_options() -> None:
    """The fence reader keeps each block's info, options, body and line."""
    found = blocks(_SAMPLE)
    assert [(b.line, b.language, b.options) for b in found] == [
        (2, "toml", {"caption": "a.toml"}),
        (7, "pycon", {}),
        (12, "python", {}),
    ]
    assert found[0].body == "x = 1\n"


def test_python_without_doctest_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Python block that is not a doctest fails the check, so no example goes unexecuted."""
    monkeypatch.chdir(tmp_path)
    failures = _check_page(DOCS / "sample.md", _SAMPLE)
    assert len(failures) == 1
    assert "must be a doctest" in failures[0]
    assert (tmp_path / "a.toml").read_text() == "x = 1\n"


def test_failing_doctest_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A doctest whose output differs is reported with the page and line."""
    monkeypatch.chdir(tmp_path)
    failures = _check_page(DOCS / "sample.md", "```pycon\n>>> 1 + 1\n3\n```\n")
    assert len(failures) == 1
    assert "sample.md:1" in failures[0]


def test_reason_code_table_matches_the_code() -> None:
    """The reason-code table lists every code once, with its article and whether it allows."""
    from lawful import ReasonCode  # noqa: PLC0415

    page = (DOCS / "explanation" / "reason-codes.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \| (yes|no) \|", page, flags=re.MULTILINE)
    assert sorted(code for code, _, _ in rows) == sorted(c.value for c in ReasonCode)
    for code, article, allows in rows:
        member = ReasonCode(code)
        assert article.strip().startswith(member.article), code
        assert (allows == "yes") is member.allows, code


def test_readme_examples_run() -> None:
    """The Python example in README.md runs and prints what it shows."""
    readme = DOCS.parent / "README.md"
    result = doctest.testfile(str(readme), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def _readme_commands() -> list[str]:
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```sh\n(.+?)\n```$", readme, flags=re.MULTILINE)


def test_readme_test_command_is_the_one_ci_runs() -> None:
    """.ci/run runs README's second command character for character: CI runs what a reader runs."""
    commands = _readme_commands()
    assert len(commands) >= 2
    ci = (DOCS.parent / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci


@pytest.mark.parametrize("index", [0, 1])
def test_readme_commands_never_install_into_the_interpreter(index: int) -> None:
    """Both README commands make a virtual environment first (PEP 668: a distribution's
    python3 refuses installs into itself), and install only into it.
    """
    command = _readme_commands()[index]
    assert command.startswith("python3 -m venv .venv && .venv/bin/python -m pip install ")
    assert "python3 -m pip" not in command
    assert "sudo" not in command
    assert "--break-system-packages" not in command
