"""``lawful ledger``: append, show, verify, erase, export and import on a SQLite ledger.

Registered through ``lawful.cli._EXTENSIONS``. Every subcommand takes the ledger file
and its key: ``--key-file FILE``, or the ``LAWFUL_LEDGER_KEY`` environment variable
(at least 32 bytes, UTF-8 text in the environment, not one byte repeated; trailing
whitespace is ignored). A key file readable by group or others is refused unless
``--allow-shared-key-file`` is given. Events go in and out as JSON Lines (one
``{"subject": ..., "type": ..., "at": ...}`` object a line). ``show``, ``verify`` and
``export`` open the file read-only; only ``append`` and ``import`` create a ledger.
Exit status: 0 done, 1 ``verify`` found the ledger broken or ``show`` denied, 2 bad
usage or bad input (one line on standard error, never a traceback).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from lawful._bundled import bundled_policy_names
from lawful._json import describe_event, dumps_events, read_events
from lawful.cli import (
    POLICY_HELP,
    CommandError,
    Progress,
    Subparsers,
    is_terminal,
    parse_instant,
    resolve_policy,
    say,
)
from lawful.events import Event
from lawful.exceptions import LedgerIntegrityError, LedgerKeyError
from lawful.ledger import (
    Head,
    LedgerKey,
    SQLiteLedger,
    iso27560_records,
    read_backup,
)
from lawful.ledger._backup import backup_lines
from lawful.ledger._protocol import BackupEntry

__all__ = ["register"]

KEY_ENV = "LAWFUL_LEDGER_KEY"
DSN_ENV = "LAWFUL_LEDGER_DSN"


def _key(args: argparse.Namespace) -> LedgerKey:
    if args.key_file is not None:
        if not args.allow_shared_key_file:
            try:
                mode = Path(args.key_file).stat().st_mode
            except OSError as exc:
                raise LedgerKeyError(
                    f"ledger key: cannot read {args.key_file}: {exc.strerror}"
                ) from None
            if mode & 0o077:
                raise LedgerKeyError(
                    f"ledger key: {args.key_file} is readable or writable by group or others "
                    f"(mode {mode & 0o777:o}); chmod 600 it, or pass --allow-shared-key-file"
                )
        return LedgerKey.from_file(args.key_file)
    value = os.environb.get(KEY_ENV.encode()) if os.supports_bytes_environ else None
    text = os.environ.get(KEY_ENV) if value is None else None
    if not value and not text:
        raise CommandError(f"ledger key: pass --key-file FILE or set {KEY_ENV}")
    if value is None:
        try:
            value = (text or "").encode("utf-8")
        except UnicodeEncodeError:
            value = b"\xff"
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerKeyError(f"ledger key: {KEY_ENV} is not UTF-8 text") from None
    return LedgerKey.from_bytes(value.strip())


def _open(
    args: argparse.Namespace, *, create: bool = False, read_only: bool = False
) -> SQLiteLedger:
    return SQLiteLedger(args.ledger, key=_key(args), create=create, read_only=read_only)


def _read(path: str) -> list[tuple[str, Event]]:
    """Every event of a JSON Lines file (``-``: standard input), all checked before use."""

    def lines(handle: TextIO, source: str) -> Iterator[tuple[str, Event]]:
        try:
            yield from read_events(handle, source=source)
        except UnicodeDecodeError:
            raise CommandError(f"{source}: not UTF-8 text") from None

    if path == "-":
        return list(lines(sys.stdin, "<stdin>"))
    with Path(path).open(encoding="utf-8-sig") as handle:
        return list(lines(handle, path))


def _append(args: argparse.Namespace) -> int:
    items = _read(args.events)
    with _open(args, create=True) as ledger:
        done = ledger.append_batch_report(items)
    # Standard output stays JSON Lines (the events this run stored); the count goes to
    # standard error, so that a re-run says "0 new" without listing what was skipped.
    stored = zip((s for s, _ in items), done.events, done.new, strict=True)
    sys.stdout.write(dumps_events((s, event) for s, event, new in stored if new))
    say(
        f"appended {done.added} new event(s), skipped {done.present} already recorded",
        err=True,
    )
    return 0


def _import(args: argparse.Namespace) -> int:
    def lines(handle: TextIO, source: str) -> list[BackupEntry]:
        try:
            return list(read_backup(handle, source=source))
        except UnicodeDecodeError:
            raise CommandError(f"{source}: not UTF-8 text") from None

    if args.events == "-":
        entries = lines(sys.stdin, "<stdin>")
    else:
        with Path(args.events).open(encoding="utf-8-sig") as handle:
            entries = lines(handle, args.events)
    with _open(args, create=True) as ledger:
        done = ledger.restore(entries)
        head = ledger.head()
    say(
        f"{len(entries)} entry(ies) read, {done.added} record(s) added, {done.present} already "
        f"present, {done.skipped} skipped (erased in this ledger); head {head}"
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    if args.ledger.startswith("postgres:"):
        return _migrate_postgres(args)
    if args.encrypt:
        raise CommandError(
            f"{args.ledger}: --encrypt is for a PostgreSQL ledger (postgres:SCHEMA); a SQLite "
            "ledger's erasure already reaches its own file and WAL"
        )
    with SQLiteLedger(args.ledger, key=_key(args), create=False, migrate=True) as ledger:
        head = ledger.verify()
    say(f"{args.ledger}: format 2; head {head}")
    return 0


_PROGRESS_MIN = 200
"""A report over at least this many subjects shows progress on a terminal's stderr."""


def _show_all(args: argparse.Namespace) -> int:
    """Every subject's events, one section each, read one subject at a time."""
    subjects = events = 0
    with _open(args, read_only=True) as ledger:
        progress, total = None, 0
        if is_terminal(sys.stderr) and (total := ledger.subject_count()) >= _PROGRESS_MIN:
            progress = Progress()
        histories = ledger.histories()
        try:
            for history in histories:
                if subjects:
                    say()
                if history.subject is None:
                    name = f"erased subject (pseudonym {history.pseudonym[:16]}...)"
                else:
                    name = f"subject {history.subject!r}"
                say(f"{name}: {len(history.events)} event(s)")
                for event in history.events:
                    recorded = event.recorded_at.isoformat() if event.recorded_at else "?"
                    say(f"  {describe_event(event)}, recorded {recorded}")
                subjects += 1
                events += len(history.events)
                if progress is not None:
                    progress(subjects, total)
        finally:
            histories.close()
            if progress is not None:
                progress.close()
    if subjects:
        say()
    say(f"{subjects} subject(s), {events} event(s)")
    return 0


def _migrate_postgres(args: argparse.Namespace) -> int:
    """A PostgreSQL ledger: ``postgres:SCHEMA``, the DSN from the environment only (it may
    hold a password, and a command line is visible to every user of the machine).
    """
    schema = args.ledger.removeprefix("postgres:")
    dsn = os.environ.get(DSN_ENV, "")
    if not dsn:
        raise CommandError(f"{args.ledger}: set {DSN_ENV} to the server's DSN")
    from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415 - optional extra

    with PostgresLedger(
        dsn,
        key=_key(args),
        schema=schema,
        migrate=True,
        shards=args.shards,
        encrypt=True if args.encrypt else None,
        listen=False,
    ) as ledger:
        head = ledger.verify()
    stored = "encrypted per subject" if ledger.encrypted else "in clear"
    say(f"{args.ledger}: {ledger.shards} shard(s), events {stored}; head {head}")
    return 0


def _show(args: argparse.Namespace) -> int:
    if args.all_subjects:
        if args.subject is not None or args.purpose is not None:
            raise CommandError(
                "--all-subjects lists every subject's events: give no SUBJECT and no "
                "--purpose (decide for one SUBJECT with --purpose)"
            )
        return _show_all(args)
    if args.subject is None:
        raise CommandError("show: give a SUBJECT, or --all-subjects for every subject")
    with _open(args, read_only=True) as ledger:
        subject = ledger.subject(args.subject)
        if args.purpose is None:
            for event in subject.events:
                recorded = event.recorded_at.isoformat() if event.recorded_at else "?"
                say(f"{describe_event(event)}, recorded {recorded}")
            if not subject.events:
                say(f"no events for subject {args.subject!r}")
            return 0
        if args.policy is None or args.at is None:
            raise CommandError("--purpose needs --policy and --at")
        policy = resolve_policy(args.policy)
        at = parse_instant(args.at, "--at")
        collected = (
            None
            if args.collected_at is None
            else parse_instant(args.collected_at, "--collected-at")
        )
        decision = policy.may_process(
            subject, args.purpose, at, vendor=args.vendor, collected_at=collected
        )
        proof = ledger.proof(args.subject, decision)
    if args.json:
        say(json.dumps(proof.to_dict(), sort_keys=True, ensure_ascii=False))
    else:
        say(decision.explain())
        for record in proof.records:
            say(f"  record {record.seq} (mac {record.mac[:16]}...): {describe_event(record.event)}")
        say(f"  ledger head {proof.head}")
    return 0 if decision.allowed else 1


def _verify(args: argparse.Namespace) -> int:
    expected = None if args.expect is None else Head.parse(args.expect)
    with _open(args, read_only=True) as ledger:
        try:
            head = ledger.verify(expected_head=expected)
        except LedgerIntegrityError as exc:
            for problem in exc.problems:
                say(problem)
            say(f"{args.ledger}: does not verify ({len(exc.problems)} problem(s))")
            return 1
    say(str(head))
    return 0


def _erase(args: argparse.Namespace) -> int:
    at = None if args.at is None else parse_instant(args.at, "--at")
    with _open(args) as ledger:
        erasure = ledger.erase(args.subject, at=at, keep_proof=args.keep_proof)
    sys.stdout.write(dumps_events([(args.subject, erasure)]))
    return 0


def _export_iso27560(args: argparse.Namespace) -> int:
    if args.subject is None or args.policy is None:
        raise CommandError(
            "--format iso27560 writes one subject's consent records: give SUBJECT and "
            "--policy (the policy the consents were given under)"
        )
    policy = resolve_policy(args.policy)
    # The export's instant is read here, at the edge: consents whose lifetime ran out by
    # then are exported as expired.
    at = datetime.now(UTC) if args.at is None else parse_instant(args.at, "--at")
    with _open(args, read_only=True) as ledger:
        events = list(ledger.events(args.subject))
    document = iso27560_records(
        args.subject,
        events,
        policy,
        at=at,
        notice_url=args.notice_url,
        language=args.language,
    )
    say(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


def _export(args: argparse.Namespace) -> int:
    if args.format == "iso27560":
        return _export_iso27560(args)
    given = [
        option
        for option, value in (
            ("--policy", args.policy),
            ("--at", args.at),
            ("--notice-url", args.notice_url),
            ("--language", args.language if args.language != "en" else None),
        )
        if value is not None
    ]
    if given:
        raise CommandError(f"{', '.join(given)}: only with --format iso27560")
    with _open(args, read_only=True) as ledger:
        if args.subject is None:
            # Written as read: a PostgreSQL ledger's dump() streams, so memory stays flat
            # however large the ledger (closed at once if the output fails).
            entries = ledger.dump()
            try:
                sys.stdout.writelines(backup_lines(entries))
            finally:
                close = getattr(entries, "close", None)
                if close is not None:
                    close()
        else:
            sys.stdout.write(ledger.export(args.subject))
    return 0


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ledger", metavar="LEDGER", help="the SQLite ledger file")
    parser.add_argument(
        "--key-file",
        metavar="FILE",
        help=f"file holding the ledger key (at least 32 bytes); default: ${KEY_ENV}",
    )
    parser.add_argument(
        "--allow-shared-key-file",
        action="store_true",
        help="accept a key file that group or others may read",
    )


def _optional_subject(parser: argparse.ArgumentParser) -> None:
    """Add SUBJECT, which may be left out, matched as a required positional is: argparse
    would give an optional positional (``nargs="?"``) nothing as soon as it reads
    LEDGER, and then refuse ``LEDGER --key-file FILE SUBJECT`` as unrecognized.
    """
    action = parser.add_argument("subject", metavar="[SUBJECT]")
    action.required = False


def register(subparsers: Subparsers) -> None:
    """Add ``ledger`` and its subcommands to the ``lawful`` command line."""
    ledger = subparsers.add_parser(
        "ledger",
        help="append to, read, verify, erase and export a consent ledger",
        description=(
            "Work on a SQLite consent ledger: an append-only, tamper-evident store of "
            f"events. The key comes from --key-file or ${KEY_ENV} and never from the file."
        ),
    )
    commands = ledger.add_subparsers(dest="ledger_command", metavar="COMMAND", required=True)

    append = commands.add_parser(
        "append",
        help="append JSON Lines events in one transaction; print the new ones as stored",
        description=(
            "Append every event of EVENTS (JSON Lines with a subject on each line; '-' or "
            "nothing: standard input) in one transaction, all or none, creating the ledger "
            "if needed. Prints the events this run stored, with their ids and recorded_at, "
            "and on standard error how many were new and how many were already recorded "
            "(appends are idempotent by id: a re-run stores nothing again)."
        ),
    )
    _common(append)
    append.add_argument("events", metavar="EVENTS", nargs="?", default="-")
    append.set_defaults(handler=_append)

    load = commands.add_parser(
        "import",
        help="restore a backup (or import JSON Lines events) in one transaction",
        description=(
            "Restore BACKUP (JSON Lines, as export without SUBJECT writes it, erasures "
            "included; '-': standard input) in one transaction, creating the ledger if "
            "needed. Events already present count as present; events this ledger erased "
            "are skipped, never brought back. Prints a summary with the counts."
        ),
    )
    _common(load)
    load.add_argument("events", metavar="BACKUP")
    load.set_defaults(handler=_import)

    migrate = commands.add_parser(
        "migrate",
        help="migrate an older ledger (verify it, then seal it again)",
        description=(
            "Verify a format 1 ledger by its own rules, then seal every record again in "
            "format 2 (links to each subject's previous record, sealed subject heads), in "
            "one transaction. LEDGER may also be postgres:SCHEMA, the server's DSN in "
            f"${DSN_ENV}: a single-chain PostgreSQL ledger is verified and sealed again in "
            "--shards shards (16 by default), and with --encrypt a ledger in clear has its "
            "events encrypted under data keys per subject (the head is unchanged). Stop "
            "other writers first; anchor the new head it prints."
        ),
    )
    _common(migrate)
    migrate.add_argument(
        "--shards",
        type=int,
        default=None,
        metavar="N",
        help="PostgreSQL: the number of shards (fixed from then on; default 16)",
    )
    migrate.add_argument(
        "--encrypt",
        action="store_true",
        help=(
            "PostgreSQL: encrypt a ledger in clear in place, so that erasure destroys keys "
            "(docs/ledger.md, what erasure guarantees)"
        ),
    )
    migrate.set_defaults(handler=_migrate)

    show = commands.add_parser(
        "show",
        help="show a subject's events (or every subject's), or a decision and its proof",
        description=(
            "List SUBJECT's events. With --purpose, --policy and --at: decide, and list "
            "the ledger records that support the decision (Art. 7(1)); exit 1 if denied. "
            "With --all-subjects instead of SUBJECT: every subject's events, one section "
            "each, read one subject at a time (a progress bar on a terminal's standard "
            "error when the ledger is long)."
        ),
    )
    _common(show)
    _optional_subject(show)
    show.add_argument(
        "--all-subjects", action="store_true", help="report on every subject of the ledger"
    )
    show.add_argument("--purpose", help="decide for this purpose and prove the decision")
    show.add_argument(
        "--policy",
        metavar="POLICY",
        help=POLICY_HELP.format(names=", ".join(bundled_policy_names()) or "none"),
    )
    show.add_argument("--at", help="instant of processing, ISO 8601 with an offset")
    show.add_argument("--collected-at", help="when the data was collected (default: --at)")
    show.add_argument("--vendor", help="the recipient involved")
    show.add_argument("--json", action="store_true", help="print the proof as JSON")
    show.set_defaults(handler=_show)

    verify = commands.add_parser(
        "verify",
        help="check the hash chain and print the head to anchor",
        description=(
            "Check every record's digest and keyed MAC, the erasure records and the sealed "
            "head; print the head (COUNT:HASH) to keep elsewhere. With --expect, the ledger "
            "must still contain that earlier head. Exit 1 naming each broken record."
        ),
    )
    _common(verify)
    verify.add_argument("--expect", metavar="COUNT:HASH", help="a head anchored earlier")
    verify.set_defaults(handler=_verify)

    erase = commands.add_parser(
        "erase",
        help="erase a subject's personal data (Art. 17), keeping the fact of it",
        description=(
            "Erase SUBJECT's records; the ledger keeps the time of the erasure under a keyed "
            "pseudonym, so decisions deny ERASED. --keep-proof keeps the consent records as "
            "proof for legal claims (Art. 17(3)(e)): they keep the subject id."
        ),
    )
    _common(erase)
    erase.add_argument("subject", metavar="SUBJECT")
    erase.add_argument("--at", help="when the erasure takes effect (default: now)")
    erase.add_argument("--keep-proof", action="store_true", help="keep consent records")
    erase.set_defaults(handler=_erase)

    export = commands.add_parser(
        "export",
        help="print a subject's records (Art. 15, 20), or every event, as JSON Lines",
        description=(
            "Print SUBJECT's events as JSON Lines (access, Art. 15; portability, Art. 20); "
            "without SUBJECT, a complete backup for import: every event and every erasure "
            "(under the subject's keyed pseudonym), after verifying the whole chain. With "
            "--format iso27560 and --policy: SUBJECT's consent records as ISO/IEC TS 27560 "
            "records in JSON-LD with W3C DPV terms, which others can read."
        ),
    )
    _common(export)
    _optional_subject(export)
    export.add_argument(
        "--format",
        choices=["jsonl", "iso27560"],
        default="jsonl",
        help="jsonl (default): events as JSON Lines; iso27560: consent records in JSON-LD",
    )
    export.add_argument(
        "--policy",
        metavar="POLICY",
        help="with iso27560: the policy the consents were given under; "
        + POLICY_HELP.format(names=", ".join(bundled_policy_names()) or "none"),
    )
    export.add_argument(
        "--at",
        metavar="TIME",
        help="with iso27560: the instant of the export, ISO 8601 with an offset (default: "
        "now); consents whose lifetime ran out by then are expired",
    )
    export.add_argument(
        "--notice-url", metavar="URL", help="with iso27560: where the privacy notice is published"
    )
    export.add_argument(
        "--language",
        default="en",
        metavar="LANG",
        help="with iso27560: the notice's language (default: en)",
    )
    export.set_defaults(handler=_export)
