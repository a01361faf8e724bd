"""``lawful sweep``: decide every row of a table of stored data, with :mod:`lawful.tables`.

Registered through ``lawful.cli._EXTENSIONS``. pyarrow and DuckDB (the ``tables`` extra)
are imported only when the command runs, so the rest of the command line works without
them. Events come from JSON Lines, Parquet (the event shape, :data:`lawful.tables.
EVENT_SCHEMA`) or a SQLite ledger (every subject of the hits read through the ledger, its
records verified, erasures included), told apart by the file's first bytes.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lawful._json import read_events
from lawful.cli import (
    CommandError,
    Progress,
    Subparsers,
    add_policy_argument,
    is_terminal,
    parse_instant,
    resolve_policy,
    say,
)
from lawful.events import Event

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["register"]

_SQLITE = b"SQLite format 3\x00"
_PARQUET = b"PAR1"
_FORMATS = ("auto", "jsonl", "parquet", "ledger")


def _tables() -> Any:
    """The tables extension, or one line saying how to install it."""
    try:
        from lawful import tables  # noqa: PLC0415 - an optional extra, imported when used
    except ImportError as exc:
        raise CommandError(
            f"lawful sweep needs the tables extra (pyarrow and DuckDB): "
            f"pip install 'lawful[tables]' ({exc.name} is missing)"
        ) from None
    return tables


def _kind(path: str, chosen: str) -> str:
    if chosen != "auto":
        return chosen
    if path == "-":
        return "jsonl"
    with Path(path).open("rb") as handle:
        head = handle.read(len(_SQLITE))
    if head.startswith(_SQLITE):
        return "ledger"
    if head.startswith(_PARQUET):
        return "parquet"
    return "jsonl"


def _parquet(path: str, what: str) -> pa.Table:
    import pyarrow as pa  # noqa: PLC0415 - an optional extra
    import pyarrow.parquet as pq  # noqa: PLC0415

    try:
        return pq.read_table(path)
    except pa.ArrowException as exc:
        raise CommandError(f"{path}: not a Parquet file of {what} ({exc})") from None


def _jsonl(path: str) -> Iterator[tuple[str, Event]]:
    try:
        if path == "-":
            yield from read_events(sys.stdin, source="<stdin>")
            return
        with Path(path).open(encoding="utf-8-sig") as handle:
            yield from read_events(handle, source=path)
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None


def _ledger_events(args: argparse.Namespace, hits: pa.Table) -> Iterator[tuple[str, Event]]:
    """Every event of every subject of the hits, read through the ledger (verified)."""
    import pyarrow.compute as pc  # noqa: PLC0415 - an optional extra

    from lawful._cli_ledger import _key  # noqa: PLC0415 - the ledger commands' key rules
    from lawful.ledger import SQLiteLedger  # noqa: PLC0415

    if "subject" not in hits.schema.names:
        raise CommandError(f"{args.hits}: no column 'subject'")
    wanted = pc.unique(hits.column("subject")).to_pylist()
    with SQLiteLedger(args.events, key=_key(args), create=False, read_only=True) as ledger:
        for subject_id in wanted:
            if isinstance(subject_id, str) and subject_id:
                for event in ledger.subject(subject_id).events:
                    yield subject_id, event


def _events(args: argparse.Namespace, tables: Any, hits: pa.Table) -> pa.Table:
    kind = _kind(args.events, args.events_format)
    if kind == "parquet":
        return _parquet(args.events, "events")
    pairs = _ledger_events(args, hits) if kind == "ledger" else _jsonl(args.events)
    table: pa.Table = tables.to_arrow(pairs)
    return table


def _write(table: pa.Table, path: str) -> None:
    import pyarrow.parquet as pq  # noqa: PLC0415 - an optional extra

    # Written next to the target, then renamed: a run that fails leaves no half file.
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        pq.write_table(table, partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _sweep(args: argparse.Namespace) -> int:
    tables = _tables()
    import duckdb  # noqa: PLC0415 - an optional extra
    import pyarrow as pa  # noqa: PLC0415
    import pyarrow.compute as pc  # noqa: PLC0415

    from lawful.tables import _duck  # noqa: PLC0415

    policy = resolve_policy(args.policy)
    at = parse_instant(args.at, "--at")
    hits = _parquet(args.hits, "hits")
    events = _events(args, tables, hits)
    progress = Progress() if is_terminal(sys.stderr) else None
    try:
        swept = _duck.sweep(
            policy,
            events,
            hits,
            purpose=args.purpose,
            at=at,
            vendor=args.vendor,
            progress=progress,
        )
    except (duckdb.Error, pa.ArrowException) as exc:
        raise CommandError(f"sweep: {type(exc).__name__}: {exc}") from None
    finally:
        if progress is not None:
            progress.close()
    allowed = swept.column("allowed")
    kept = swept.drop_columns(["allowed"])
    _write(kept.filter(allowed), args.out)
    if args.denied_out is not None:
        _write(kept.filter(pc.invert(allowed)), args.denied_out)
    counts = Counter(zip(allowed.to_pylist(), swept.column("code").to_pylist(), strict=True))
    yes = sum(n for (ok, _), n in counts.items() if ok)
    say(
        f"{swept.num_rows:,} hit(s) for '{args.purpose}' at {at.isoformat()}: {yes:,} allowed "
        f"(in {args.out}), {swept.num_rows - yes:,} denied"
        + (f" (in {args.denied_out})" if args.denied_out else "")
    )
    for (ok, code), n in sorted(counts.items(), key=lambda item: (not item[0][0], -item[1])):
        say(f"  {'allowed' if ok else 'denied ':7}  {code:32} {n:>12,}")
    return 0


def register(subparsers: Subparsers) -> None:
    """Add ``sweep`` to the ``lawful`` command line."""
    parser = subparsers.add_parser(
        "sweep",
        help="decide every row of a Parquet table of stored data for one purpose",
        description=(
            "Decide every row (hit) of HITS, a Parquet file with a subject column and a "
            "collected_at column (timestamps with a time zone), as may_process(subject, "
            "PURPOSE, --at, collected_at=row.collected_at) would; write the allowed rows "
            "to --out and, with --denied-out, the denied ones, each with the code of its "
            "primary reason, and print a summary by reason. Needs the tables extra "
            "(pip install 'lawful[tables]'). Exit status: 0 done, 2 bad usage or input."
        ),
    )
    add_policy_argument(parser, "--policy")
    parser.add_argument(
        "--events",
        required=True,
        metavar="EVENTS",
        help="the events: JSON Lines ('-': standard input), Parquet in the event shape, or "
        "a SQLite ledger (told apart by their first bytes; see --events-format)",
    )
    parser.add_argument(
        "--events-format",
        choices=_FORMATS,
        default="auto",
        help="how to read --events (default: auto, from the file's first bytes)",
    )
    parser.add_argument("--hits", required=True, metavar="HITS.parquet", help="the rows")
    parser.add_argument("--purpose", required=True, metavar="P", help="the purpose id")
    parser.add_argument(
        "--at",
        required=True,
        metavar="TIME",
        help="the instant of processing, ISO 8601 with an offset (2025-06-01T12:00:00+02:00)",
    )
    parser.add_argument("--vendor", metavar="V", help="the vendor involved (default: all)")
    parser.add_argument("--out", required=True, metavar="ALLOWED.parquet", help="allowed rows")
    parser.add_argument("--denied-out", metavar="DENIED.parquet", help="denied rows")
    parser.add_argument(
        "--key-file",
        metavar="FILE",
        help="a ledger's key file (default: $LAWFUL_LEDGER_KEY), when --events is a ledger",
    )
    parser.add_argument(
        "--allow-shared-key-file",
        action="store_true",
        help="accept a key file that group or others may read",
    )
    parser.set_defaults(handler=_sweep)
