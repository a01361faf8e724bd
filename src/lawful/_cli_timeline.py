"""``lawful timeline``: a subject's decisions over time, as text, JSON Lines or an SVG picture.

Registered through ``lawful.cli._EXTENSIONS``. The subject's events come from a JSON Lines
file (as for ``decide``) or from a SQLite ledger (as for ``ledger show``). Without
``--start``/``--end`` the window is taken from the events: from the first event's day to
the day after the last one, widened by a tenth of that range (at least a day) on each
side. Exit status: 0 done, 2 bad usage or bad input (one line, never a traceback); a
timeline is not a decision, so denied spans do not change the status.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lawful._json import decision_to_dict
from lawful.cli import (
    CommandError,
    Subparsers,
    add_policy_argument,
    parse_instant,
    read_subject,
    resolve_policy,
    say,
)
from lawful.decision import Operation
from lawful.picture import timeline_svg
from lawful.policy import Policy
from lawful.subject import Subject
from lawful.timeline import Span

__all__ = ["register"]


def _categories(args: argparse.Namespace, policy: Policy) -> tuple[str, ...] | None:
    if args.categories is None:
        return None
    categories = tuple(c.strip() for c in args.categories.split(",") if c.strip())
    if not categories:
        raise CommandError(
            f"--categories: expected a comma-separated list, got {args.categories!r}"
        )
    for category in categories:
        if policy.subject_categories and category not in policy.subject_categories:
            raise CommandError(
                f"--categories: the policy declares no subject category {category!r}; "
                f"declared: {', '.join(policy.subject_categories)}"
            )
    return categories


def _subject(args: argparse.Namespace, categories: tuple[str, ...] | None) -> tuple[Subject, bool]:
    if args.ledger is not None:
        # Imported here: only ledger reads need the ledger's modules (and its key handling).
        from lawful._cli_ledger import _key  # noqa: PLC0415
        from lawful.ledger import SQLiteLedger  # noqa: PLC0415

        with SQLiteLedger(args.ledger, key=_key(args), read_only=True) as ledger:
            found = ledger.subject(args.subject)
        return Subject(args.subject, found.events, categories=categories), bool(found.events)
    return read_subject(args.events, args.subject, categories=categories)


def _day(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _window(args: argparse.Namespace, subject: Subject) -> tuple[datetime, datetime]:
    start = None if args.start is None else parse_instant(args.start, "--start")
    end = None if args.end is None else parse_instant(args.end, "--end")
    if start is None or end is None:
        if not subject.events:
            raise CommandError(
                f"no events for subject {args.subject!r}: pass --start and --end to draw "
                "an empty history"
            )
        first = _day(min(e.at for e in subject.events))
        last = _day(max(e.at for e in subject.events)) + timedelta(days=1)
        margin = timedelta(days=max(1, -(-(last - first).days // 10)))  # whole days, rounded up
        start = first - margin if start is None else start
        end = last + margin if end is None else end
    if end <= start:
        raise CommandError("--end: the window needs an end after its start")
    return start, end


def _purposes(args: argparse.Namespace, policy: Policy) -> tuple[str, ...]:
    declared = policy.purpose_ids
    if not args.purpose:
        return declared
    for pid in args.purpose:
        if pid not in declared:
            raise CommandError(
                f"--purpose: the policy {policy.id!r} declares no purpose {pid!r}; declared: "
                f"{', '.join(declared)}"
            )
    return tuple(dict.fromkeys(args.purpose))


def _text(rows: list[tuple[str, tuple[Span, ...]]], basis: dict[str, str]) -> None:
    for index, (pid, spans) in enumerate(rows):
        if index:
            say()
        say(f"{pid} ({basis[pid]})")
        for span in spans:
            verdict = "allowed" if span.allowed else "denied"
            say(
                f"  {span.start.isoformat()}  {span.end.isoformat()}  {verdict:<7}  "
                f"{span.code.value}"
            )


def _json_lines(rows: list[tuple[str, tuple[Span, ...]]]) -> None:
    for pid, spans in rows:
        for span in spans:
            record = {
                "purpose": pid,
                "start": span.start.isoformat(),
                "end": span.end.isoformat(),
                "allowed": span.allowed,
                "code": span.code.value,
                "decision": decision_to_dict(span.decision),
            }
            say(json.dumps(record, sort_keys=True, ensure_ascii=False))


def _timeline(args: argparse.Namespace) -> int:
    if (args.events is None) == (args.ledger is None):
        raise CommandError("pass the events as --events FILE or --ledger LEDGER (one of them)")
    collected_at = (
        None if args.collected_at is None else parse_instant(args.collected_at, "--collected-at")
    )
    policy = resolve_policy(args.policy)
    purposes = _purposes(args, policy)
    subject, found = _subject(args, _categories(args, policy))
    start, end = _window(args, subject)
    if not found:
        source = args.events if args.ledger is None else args.ledger
        say(f"lawful: warning: no events for subject {args.subject!r} in {source}", err=True)
    operation = Operation(args.operation)
    if args.svg is not None:
        svg = timeline_svg(
            policy,
            subject,
            start,
            end,
            purposes=purposes,
            collected_at=collected_at,
            operation=operation,
        )
        if args.svg == "-":
            sys.stdout.write(svg)
        else:
            Path(args.svg).write_text(svg, encoding="utf-8")
            say(f"{args.svg}: {len(purposes)} purpose(s), {start.isoformat()} to {end.isoformat()}")
        return 0
    rows = [
        (
            pid,
            policy.timeline(
                subject, pid, start, end, collected_at=collected_at, operation=operation
            ),
        )
        for pid in purposes
    ]
    if args.json:
        _json_lines(rows)
    else:
        _text(rows, {pid: policy.purpose(pid).basis.value.replace("_", " ") for pid in purposes})
    return 0


def register(subparsers: Subparsers) -> None:
    """Add ``timeline`` to the ``lawful`` command line."""
    parser = subparsers.add_parser(
        "timeline",
        help="show a subject's decisions over time, per purpose (text, JSON or an SVG picture)",
        description=(
            "Show how the decisions for a subject change over a window, per purpose: each "
            "span's start, end, whether it is allowed and its reason code (exact: from the "
            "events and the rules' own deadlines, not sampled). With --svg, draw them: one "
            "band per purpose coloured by reason code, the events as ticks, the explanations "
            "as tooltips. Without --start/--end the window is taken from the events. Exit "
            "status: 0 done, 2 bad usage or bad input."
        ),
    )
    add_policy_argument(parser, "--policy")
    source = parser.add_argument_group("events (one of)")
    source.add_argument(
        "--events",
        metavar="EVENTS.jsonl",
        help="the events file (JSON Lines, as for decide); '-' reads standard input",
    )
    source.add_argument("--ledger", metavar="LEDGER", help="a SQLite ledger file")
    source.add_argument(
        "--key-file", metavar="FILE", help="the ledger's key (default: $LAWFUL_LEDGER_KEY)"
    )
    source.add_argument(
        "--allow-shared-key-file",
        action="store_true",
        help="accept a key file that group or others may read",
    )
    parser.add_argument("--subject", required=True, metavar="ID", help="the subject's id")
    parser.add_argument(
        "--purpose",
        action="append",
        metavar="ID",
        help="a purpose to show (repeat for several; default: every purpose of the policy)",
    )
    parser.add_argument(
        "--start", metavar="TIME", help="the window's first instant, ISO 8601 with an offset"
    )
    parser.add_argument("--end", metavar="TIME", help="the first instant after the window")
    parser.add_argument(
        "--collected-at",
        metavar="TIME",
        help="when the data was collected (default: fresh data at every instant); "
        "at or before --start",
    )
    parser.add_argument(
        "--operation",
        choices=[o.value for o in Operation],
        default=Operation.USE.value,
        help="what is done with the data (default: use)",
    )
    parser.add_argument(
        "--categories",
        metavar="C,...",
        help="the subject's data-subject categories, comma-separated (default: unknown)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--svg", metavar="OUT.svg", help="write the picture to OUT.svg ('-': standard output)"
    )
    output.add_argument(
        "--json", action="store_true", help="print one JSON object per span (JSON Lines)"
    )
    parser.set_defaults(handler=_timeline)
