"""The ``lawful`` command line: ``check``, ``purposes`` and ``decide``, and commands that
other modules register.

Every command reads a POLICY argument the same way (:func:`resolve_policy`): a path to a
TOML or JSON policy file, or, when no such file exists, the name of a policy bundled with
lawful (``piwik-pro``). Bad input never ends in a traceback: :func:`main` turns every
:class:`lawful.LawfulError`, :class:`OSError` and :class:`CommandError` into lines
``lawful: error: ...`` on standard error and returns 2.

Commands are extensible: each module named in ``_EXTENSIONS`` exposes
``register(subparsers) -> None``, which adds its sub-parser(s) and sets
``handler=<callable(argparse.Namespace) -> int>`` as a default on each; the handler
returns the exit code and may raise the errors above.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeAlias

import attrs

from lawful._bundled import bundled_policy, bundled_policy_names
from lawful._convert import load_policy
from lawful._json import event_from_dict, read_events
from lawful._limits import bounded_lines, read_bounded
from lawful._time import in_utc_range
from lawful.decision import Decision, Operation
from lawful.events import BY_TYPE, ConsentMethod, Event
from lawful.exceptions import LawfulError, PolicyError, Problem
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    NoPeriodStated,
    Purpose,
    Retention,
    RetentionCombine,
    RetentionRule,
    SessionEnd,
    TransferMechanism,
)
from lawful.subject import Subject

if TYPE_CHECKING:
    from lawful.policy import Policy

__all__ = [
    "CommandError",
    "add_policy_argument",
    "build_parser",
    "main",
    "parse_instant",
    "read_subject",
    "resolve_policy",
    "say",
]

# argparse has no public name for the object add_subparsers() returns.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001
Handler: TypeAlias = Callable[[argparse.Namespace], int]

_EXTENSIONS: tuple[str, ...] = (
    "lawful._cli_render",
    "lawful._cli_ledger",
    "lawful.banner._cli",
    "lawful._cli_tables",
    "lawful._cli_timeline",
)
"""Modules that add commands; each exposes ``register(subparsers) -> None``."""

_EXIT_OK = 0
_EXIT_PROBLEMS = 1
_EXIT_USAGE = 2
_WIDTH = 88
_MIN_WIDTH = 40

POLICY_HELP = (
    "POLICY is a path to a policy file (TOML, or JSON when it ends in .json); when no such "
    "file exists it names a policy bundled with lawful ({names})."
)


class CommandError(ValueError):
    """A command was given input it cannot use (an unknown purpose, a timestamp without an
    offset, a missing policy); :func:`main` prints it as one line and returns 2.
    """


# -- helpers shared with extension commands ------------------------------------------------


def _bundled_names() -> str:
    return ", ".join(bundled_policy_names()) or "none"


def add_policy_argument(parser: argparse.ArgumentParser, *flags: str) -> None:
    """Add the POLICY argument (positional, or the option ``flags`` such as ``--policy``)."""
    help_text = POLICY_HELP.format(names=_bundled_names())
    if flags:
        parser.add_argument(*flags, dest="policy", metavar="POLICY", required=True, help=help_text)
    else:
        parser.add_argument("policy", metavar="POLICY", help=help_text)


def resolve_policy(argument: str) -> Policy:
    """The policy a POLICY argument names: a file if one exists there, else a bundled policy.

    Raises:
        PolicyError: The file is not a valid policy.
        OSError: The file exists but cannot be read.
        CommandError: There is no such file and no bundled policy of that name, or the
            file is not UTF-8 text.
    """
    path = Path(argument)
    if path.exists():
        try:
            return load_policy(path)
        except UnicodeDecodeError:
            raise CommandError(f"{argument}: not UTF-8 text") from None
    if argument in bundled_policy_names():
        return bundled_policy(argument)
    raise CommandError(
        f"policy {argument!r}: no such file, and no bundled policy of that name "
        f"(bundled: {_bundled_names()})"
    )


def parse_instant(text: str, option: str) -> datetime:
    """An aware datetime from ISO 8601 text with an offset; ``option`` names it in errors.

    Raises:
        CommandError: The text is not ISO 8601, has no offset (lawful never guesses one),
            or names an instant outside UTC's years 1 to 9999 (``9999-12-31T23:59-23:59``).
    """
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"{option}: expected an ISO 8601 timestamp with an offset, such as "
            f"2025-06-01T12:00:00+02:00, got {text!r}"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CommandError(
            f"{option}: the timestamp {text!r} has no offset; add one such as +02:00 or Z "
            "(lawful never guesses a time zone)"
        )
    if not in_utc_range(moment):
        raise CommandError(
            f"{option}: {text!r} is outside the years 1 to 9999 once in UTC; lawful cannot "
            "compare it with other instants"
        )
    return moment


def _events_of(handle: TextIO, source: str, subject_id: str) -> tuple[list[Event], bool]:
    events: list[Event] = []
    found = False
    try:
        # Every line is read and checked, whoever it belongs to: nothing is skipped.
        for owner, event in read_events(handle, source=source):
            if owner == subject_id:
                events.append(event)
                found = True
    except UnicodeDecodeError:
        raise CommandError(f"{source}: not UTF-8 text") from None
    return events, found


def read_subject(
    path: str, subject_id: str, *, categories: Iterable[str] | None = None
) -> tuple[Subject, bool]:
    """The subject ``subject_id`` from a JSON Lines events file (``-``: standard input).

    Returns:
        The subject, and whether the file holds any event for it.

    Raises:
        EventError: A line is not a valid event; the message names ``file:line``.
        NaiveDatetimeError: A timestamp in the file has no offset.
        OSError: The file cannot be read.
        CommandError: The file is not UTF-8 text.
    """
    if path == "-":
        events, found = _events_of(sys.stdin, "<stdin>", subject_id)
    else:
        # utf-8-sig: a byte-order mark left by an editor is not an error.
        with Path(path).open(encoding="utf-8-sig") as handle:
            events, found = _events_of(handle, path, subject_id)
    return Subject(subject_id, events, categories=categories), found


def say(text: str = "", *, err: bool = False) -> None:
    """Write one line to standard output (or error): the CLI's only way of printing."""
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")


def _split(text: str, option: str) -> tuple[str, ...]:
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items:
        raise CommandError(f"{option}: expected a comma-separated list, got {text!r}")
    return items


def is_terminal(stream: object) -> bool:
    """Whether ``stream`` is a terminal (a closed or odd stream counts as not)."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except (OSError, ValueError):
        return False


class Progress:
    """A one-line progress bar on standard error, for a terminal: redrawn at most ten
    times a second, and erased at the end so that only the command's report remains.
    Call it with what is done and the total.
    """

    EVERY = 0.1
    """Seconds between two redraws."""

    def __init__(self) -> None:
        self._shown = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._shown < self.EVERY and done < total:
            return
        self._shown = now
        filled = 30 * done // max(total, 1)
        bar = "#" * filled + "." * (30 - filled)
        sys.stderr.write(f"\r[{bar}] {done:,}/{total:,} subjects")
        sys.stderr.flush()

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _wrap(text: str, width: int = _WIDTH, indent: str = "") -> str:
    # Only a terminal gets folded lines: piped or redirected, a paragraph stays on one
    # line, so that `grep "Art. 5(3)"` finds it whole.
    if not is_terminal(sys.stdout):
        return indent + text
    columns = shutil.get_terminal_size((width, 24)).columns
    width = max(_MIN_WIDTH, min(width, columns))
    return textwrap.fill(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


# -- check ---------------------------------------------------------------------------------


def _event_warnings(path: str, policy: Policy | None) -> list[Problem]:
    """What ``check --events`` reports: free-text consent methods read as a closed value
    (files from before methods were a closed set still load), and purposes the policy does
    not declare. Every line is read first as ``decide`` reads it: a bad line is an error.
    """
    if path == "-":
        text = "".join(bounded_lines(sys.stdin.buffer, "<stdin>"))
    else:
        with Path(path).open("rb") as handle:
            text = "".join(bounded_lines(handle, path))
    for _ in read_events(io.StringIO(text), source=path):
        pass
    known = {m.value for m in ConsentMethod}
    found: list[Problem] = []
    for number, line in enumerate(io.StringIO(text), start=1):
        if not line.strip():
            continue
        data = json.loads(line)
        kind = data.get("type")
        where = f"{path}:{number}: {kind}"
        method = data.get("method")
        if isinstance(method, str) and method not in known:
            read = getattr(event_from_dict(data), "method", ConsentMethod.UNSPECIFIED)
            meaning = (
                "an affirmative act whose form was not recorded"
                if read.affirmative
                else "never consent (Art. 4(11), recital 32): it grants nothing"
            )
            found.append(
                Problem(
                    f"{where}.method",
                    f"free text {method!r} read as '{read.value}', {meaning}; "
                    f"write one of: {', '.join(sorted(known))}",
                    "warning",
                )
            )
        purpose = data.get("purpose")
        if policy is not None and isinstance(purpose, str) and purpose not in policy.purpose_ids:
            found.append(
                Problem(
                    f"{where}.purpose",
                    f"the policy declares no purpose {purpose!r}: decisions for it deny "
                    "unknown_purpose",
                    "warning",
                )
            )
    return found


def _unsafe_transfer_summary(policy: Policy) -> str | None:
    # DESIGN step 3 in one line: which purposes deny until a safeguard is stated.
    denied = [
        p.id
        for p in policy.purposes
        if not p.processor_only
        and any(
            policy.vendor(v).outside_eea
            and policy.vendor(v).transfer is TransferMechanism.NOT_STATED
            for v in p.vendors
        )
    ]
    if not denied:
        return None
    return (
        f"{len(denied)} purpose(s) deny transfer_safeguard_missing while a vendor they involve "
        f"has no safeguard stated (Art. 44, 46(1)): {', '.join(denied)}"
    )


def _check(args: argparse.Namespace) -> int:
    problems: tuple[Problem, ...]
    policy: Policy | None = None
    try:
        policy = resolve_policy(args.policy)
    except PolicyError as exc:
        problems = exc.problems
    else:
        problems = policy.warnings
    if args.events is not None:
        problems += tuple(_event_warnings(args.events, policy))
    for problem in problems:
        say(f"{problem.severity}: {problem.path or 'policy'}: {problem.message}")
    if policy is not None and (summary := _unsafe_transfer_summary(policy)) is not None:
        say(_wrap(f"note: {summary}"))
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    say(f"{args.policy}: {errors} error(s), {warnings} warning(s)")
    if errors or (args.strict and warnings):
        return _EXIT_PROBLEMS
    return _EXIT_OK


def _add_check(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="validate and lint a policy",
        description=(
            "Validate and lint a policy: print every problem as 'SEVERITY: PATH: MESSAGE', "
            "then a count. Errors make the policy unusable; warnings mark what it does not "
            "state (a retention period, a transfer safeguard, ...), and which purposes a "
            "missing transfer safeguard denies. With --events, also read an events file: "
            "free-text consent methods and undeclared purposes are warnings. Exit status: "
            "0 clean, 1 problems found (errors, or warnings under --strict), 2 bad usage."
        ),
    )
    add_policy_argument(parser)
    parser.add_argument("--strict", action="store_true", help="treat warnings as problems")
    parser.add_argument(
        "--events",
        metavar="EVENTS.jsonl",
        help="also check an events file (JSON Lines, as for decide); '-' reads standard input",
    )
    parser.set_defaults(handler=_check)


# -- purposes ------------------------------------------------------------------------------


def _rule_text(rule: RetentionRule) -> str:
    if isinstance(rule, AfterCollection):
        return f"{rule.period} after collection"
    if isinstance(rule, AfterLastInteraction):
        return f"{rule.period} after the last {' / '.join(rule.kinds)}"
    if isinstance(rule, SessionEnd):
        return f"end of the browsing session ({rule.inactivity} without activity)"
    assert isinstance(rule, NoPeriodStated)  # noqa: S101 - closed union
    note = rule.note.rstrip(".")
    return f"not stated ({note[:1].lower()}{note[1:]})" if note else "not stated"


def _retention_text(retention: Retention) -> str:
    texts = [_rule_text(rule) for rule in retention.rules]
    if len(texts) <= 1:
        return texts[0] if texts else "not stated"
    if retention.combine is RetentionCombine.FIRST:
        return "; otherwise ".join(texts)
    return " or ".join(texts) + ", whichever comes first"


def _purpose_row(policy: Policy, purpose: Purpose) -> list[str]:
    basis = purpose.basis.value.replace("_", " ")
    if purpose.processor_only:
        basis = "processor only: the client decides"
    vendors = [policy.vendor(v) for v in purpose.vendors]
    hosting: list[str] = []
    for vendor in vendors:
        place = vendor.hosting + (" [outside the EEA]" if vendor.outside_eea else "")
        hosting.append(f"{vendor.name}: {place}" if len(vendors) > 1 else place)
    return [
        purpose.id,
        basis,
        ", ".join(purpose.data) or "-",
        ", ".join(v.name for v in vendors) or "-",
        "; ".join(hosting) or "-",
        _retention_text(purpose.retention),
    ]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[int]) -> str:
    lines: list[str] = []

    def emit(cells: Sequence[str]) -> None:
        wrapped = [
            textwrap.wrap(cell, width, break_long_words=True, break_on_hyphens=False) or [""]
            for cell, width in zip(cells, widths, strict=True)
        ]
        for i in range(max(len(w) for w in wrapped)):
            parts = [
                (w[i] if i < len(w) else "").ljust(width)
                for w, width in zip(wrapped, widths, strict=True)
            ]
            lines.append("  ".join(parts).rstrip())

    emit(header)
    lines.append("  ".join("-" * width for width in widths))
    for index, row in enumerate(rows):
        if index:
            lines.append("")
        emit(row)
    return "\n".join(lines)


def _purposes(args: argparse.Namespace) -> int:
    policy = resolve_policy(args.policy)
    rows = [_purpose_row(policy, p) for p in policy.purposes]
    first = max([len("purpose"), *(len(p.id) for p in policy.purposes)])
    widths = (first, 20, 28, 22, 28, 30)
    header = ("purpose", "basis", "data", "vendors", "hosting", "retention")
    title = policy.title or policy.id
    say(f"{title} - version {policy.version} ({len(policy.purposes)} purposes)\n")
    say(_table(header, rows, widths))
    return _EXIT_OK


def _add_purposes(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "purposes",
        help="list a policy's purposes as a table",
        description=(
            "Print a policy's purposes as a table: purpose, legal basis, data categories, "
            "vendors, where they host the data, and retention."
        ),
    )
    add_policy_argument(parser)
    parser.set_defaults(handler=_purposes)


# -- decide --------------------------------------------------------------------------------


def _events_help() -> str:
    intro = (
        'Events file: JSON Lines, one event per line, each an object with "subject" (the '
        'subject id), "type", "at" (ISO 8601 with an offset, when the event took effect) '
        'and the fields of its type; optional on every type: "recorded_at", "id". Blank '
        "lines are allowed; any other bad line stops with its line number. Types (optional "
        "fields in brackets):"
    )
    lines = [textwrap.fill(intro, width=78)]
    common = {"at", "recorded_at", "id"}
    for name, cls in BY_TYPE.items():
        fields = [f for f in attrs.fields(cls) if f.name not in common]
        parts = [f.name if f.default is attrs.NOTHING else f"[{f.name}]" for f in fields]
        lines.append(f"  {name}: {', '.join(parts) or '-'}")
    lines.append("Example:")
    lines.append(
        '  {"subject": "visitor-1", "type": "consent_given", '
        '"at": "2025-03-03T10:15:00+01:00", "purpose": "analytics"}'
    )
    lines.append("The full schema: docs/events.md.")
    return "\n".join(lines)


def _print_decision(decision: Decision, *, heading: bool) -> None:
    if heading:
        verdict = "allowed" if decision.allowed else "denied"
        say(f"{decision.purpose}: {verdict} ({decision.code.value})")
        say(_wrap(decision.explain(), indent="  "))
    else:
        say(_wrap(decision.explain()))


def _decide(args: argparse.Namespace) -> int:
    at = parse_instant(args.at, "--at")
    collected_at = (
        None if args.collected_at is None else parse_instant(args.collected_at, "--collected-at")
    )
    if args.all and (args.vendor is not None or args.data is not None):
        raise CommandError("--vendor and --data name one purpose's recipients; not with --all")
    data = () if args.data is None else _split(args.data, "--data")
    categories = None if args.categories is None else _split(args.categories, "--categories")
    policy = resolve_policy(args.policy)
    if categories is not None and policy.subject_categories:
        for category in categories:
            if category not in policy.subject_categories:
                known = ", ".join(policy.subject_categories)
                raise CommandError(
                    f"--categories: the policy declares no subject category {category!r}; "
                    f"declared: {known}"
                )
    if not args.all and args.purpose not in policy.purpose_ids:
        raise CommandError(
            f"--purpose: the policy {policy.id!r} declares no purpose {args.purpose!r}; "
            f"declared: {', '.join(policy.purpose_ids)}"
        )
    subject, found = read_subject(args.events, args.subject, categories=categories)
    if not found:
        say(
            f"lawful: warning: no events for subject {args.subject!r} in {args.events}; "
            "deciding on an empty history",
            err=True,
        )
    operation = Operation(args.operation)
    decisions: dict[str, Decision]
    if args.all:
        decisions = policy.decide_all(subject, at, collected_at=collected_at, operation=operation)
    else:
        decisions = {
            args.purpose: policy.may_process(
                subject,
                args.purpose,
                at,
                vendor=args.vendor,
                data=data,
                collected_at=collected_at,
                operation=operation,
            )
        }
    if args.json:
        if args.all:
            payload = {pid: d.to_dict() for pid, d in decisions.items()}
            say(json.dumps(payload, sort_keys=True, ensure_ascii=False))
        else:
            say(decisions[args.purpose].to_json())
    else:
        for index, decision in enumerate(decisions.values()):
            if index:
                say()
            _print_decision(decision, heading=args.all)
    return _EXIT_OK if all(decisions.values()) else _EXIT_PROBLEMS


def _add_decide(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "decide",
        help="decide whether a subject's data may be processed, and explain why",
        # The epilog is preformatted (a table of event types), so the description is
        # wrapped here.
        description=textwrap.fill(
            "Decide whether the subject's data may be processed for a purpose at an instant, "
            "from the subject's events, and explain the decision. Exit status: 0 allowed "
            "(with --all: every purpose allowed), 1 denied, 2 bad usage or bad input.",
            width=78,
        ),
        epilog=_events_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_policy_argument(parser, "--policy")
    parser.add_argument(
        "--events",
        required=True,
        metavar="EVENTS.jsonl",
        help="the events file (JSON Lines, see below); '-' reads standard input",
    )
    parser.add_argument("--subject", required=True, metavar="ID", help="the subject's id")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--purpose", metavar="P", help="the purpose id")
    which.add_argument("--all", action="store_true", help="decide every purpose of the policy")
    parser.add_argument("--vendor", metavar="V", help="the vendor involved (default: all)")
    parser.add_argument(
        "--data",
        metavar="C,...",
        help="the data categories involved, comma-separated (default: all the purpose's)",
    )
    parser.add_argument(
        "--collected-at",
        metavar="TIME",
        help="when the data was collected (default: at --at, fresh data); "
        "pass it for stored data, or retention is never exceeded",
    )
    parser.add_argument(
        "--at",
        required=True,
        metavar="TIME",
        help="the instant of processing, ISO 8601 with an offset (2025-06-01T12:00:00+02:00)",
    )
    parser.add_argument(
        "--operation",
        choices=[o.value for o in Operation],
        default=Operation.USE.value,
        help="what is done with the data (default: use); only 'store' survives a restriction",
    )
    parser.add_argument(
        "--categories",
        metavar="C,...",
        help="the subject's data-subject categories, comma-separated (default: unknown)",
    )
    parser.add_argument("--json", action="store_true", help="print the decision(s) as JSON")
    parser.set_defaults(handler=_decide)


# -- entry point ---------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("lawful")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command, extensions included."""
    parser = argparse.ArgumentParser(
        prog="lawful",
        description=(
            "May I process this person's data, for this purpose, at this instant - and why? "
            "lawful enforces what a privacy policy declares; it is not legal advice."
        ),
        epilog=POLICY_HELP.format(names=_bundled_names()),
    )
    parser.add_argument("--version", action="version", version=f"lawful {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_check(subparsers)
    _add_purposes(subparsers)
    _add_decide(subparsers)
    for name in _EXTENSIONS:
        importlib.import_module(name).register(subparsers)
    return parser


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _error(message: str) -> None:
    # backslashreplace: a message quoting undecodable input still prints, on one line.
    text = _one_line(message).encode("utf-8", "backslashreplace").decode("utf-8")
    say(f"lawful: error: {text[:_MAX_ERROR]}", err=True)


_KEY_ENV = "LAWFUL_LEDGER_KEY"
_MAX_KEY_BYTES = 64 * 1024
"""The largest key file read (a key is 32 bytes or more; a hex line is 65)."""


class _QuietStdout:
    """Standard output that a closed pipe cannot turn into a failure.

    ``lawful ledger append ... | head -1`` commits, then writes; if the reader has gone,
    the write fails with :class:`BrokenPipeError`. The command did what it was asked, so
    the rest of its output is dropped and its own exit status stands.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        # Keep Python from complaining again when it flushes stdout at exit.
        self._closed = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # pragma: no cover - no file descriptor to replace
            pass

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


def _not_utf8(text: str) -> bool:
    """Whether text from argv or the environment held bytes that are not UTF-8."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _check_inputs(argv: Sequence[str], args: argparse.Namespace) -> None:
    """Checks every command needs before its handler runs: arguments and the ledger key
    are UTF-8 text, and a key file is a small file (``/dev/zero`` is refused at once).
    """
    for index, argument in enumerate(argv, start=1):
        if _not_utf8(argument):
            raise CommandError(f"argument {index} is not UTF-8 text")
    if getattr(args, "command", None) == "ledger":
        value = os.environ.get(_KEY_ENV)
        if value is not None and _not_utf8(value):
            raise CommandError(
                f"{_KEY_ENV}: not UTF-8 text; put a binary key in a file and pass --key-file"
            )
    key_file = getattr(args, "key_file", None)
    if isinstance(key_file, str):
        # A file that cannot be opened is the ledger's to report, in its own words.
        with contextlib.suppress(OSError):
            read_bounded(key_file, limit=_MAX_KEY_BYTES, what="key file")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 denied or problems, 2 errors).

    Nothing ends in a traceback: bad input is one line ``lawful: error: ...`` and status
    2, and so is anything unexpected (deep recursion, memory, overflow, undecodable
    text) - never 1, which ``decide`` uses for "denied" and ``ledger verify`` for
    "broken".
    """
    real_stdout = sys.stdout
    sys.stdout = _QuietStdout(real_stdout)
    try:
        return _main(sys.argv[1:] if argv is None else list(argv))
    except Exception as exc:  # noqa: BLE001 - the last guard: one line, status 2
        _error(f"unexpected {type(exc).__name__}: {exc}"[:_MAX_ERROR])
        return _EXIT_USAGE
    finally:
        sys.stdout = real_stdout


_MAX_ERROR = 2000


def _main(argv: Sequence[str]) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help and on bad usage
        return exc.code if isinstance(exc.code, int) else _EXIT_USAGE
    handler: Handler = args.handler
    try:
        _check_inputs(argv, args)
        return handler(args)
    except PolicyError as exc:
        where = f"{exc.source}: " if exc.source else ""
        for problem in exc.problems:
            _error(f"{where}{problem}")
    except (LawfulError, CommandError) as exc:
        _error(str(exc))
    except OSError as exc:
        if exc.filename is not None and exc.strerror:
            _error(f"{exc.filename}: {exc.strerror}")
        else:
            _error(str(exc))
    except RecursionError:
        _error("input nested too deeply to read")
    except MemoryError:
        _error("input too large to hold in memory")
    return _EXIT_USAGE
