"""Backups as JSON Lines: what ``dump()`` gives and ``restore()`` takes, as text.

An event is the line ``{"subject": ..., **event}`` that every lawful events file uses,
so an export of events imports as a backup too. An erasure names no subject (Art. 17:
no id survives it): its line carries the subject's keyed ``pseudonym`` and the ledger
key's ``key_check`` instead, so that only a ledger with the same key restores it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from lawful._json import event_from_dict, event_to_dict
from lawful.events import Erasure
from lawful.exceptions import EventError
from lawful.ledger._protocol import BackupEntry

__all__ = ["backup_lines", "dumps_backup", "read_backup"]

# JSON leaves these unescaped, but str.splitlines() splits on them.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def backup_lines(entries: Iterable[BackupEntry]) -> Iterator[str]:
    """The lines of :func:`dumps_backup`, one entry at a time: a backup written as it is
    read holds one entry in memory, not the whole ledger.
    """
    for entry in entries:
        data: dict[str, object] = event_to_dict(entry.event)
        if entry.subject is None:
            data["pseudonym"] = entry.pseudonym
            data["key_check"] = entry.key_check
        else:
            data["subject"] = entry.subject
        text = json.dumps(data, ensure_ascii=False, sort_keys=True)
        yield text.translate(_LINE_BREAKS) + "\n"


def dumps_backup(entries: Iterable[BackupEntry]) -> str:
    """JSON Lines of a backup; :func:`read_backup` reads them back."""
    return "".join(backup_lines(entries))


def read_backup(lines: Iterable[str], *, source: str = "backup") -> Iterator[BackupEntry]:
    """Read a backup (or any events file); every line is checked, blank lines allowed.

    Raises:
        EventError: A line is not an event with a subject, nor an erasure with a
            pseudonym; the message names ``source:line``.
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EventError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(data, dict):
            raise EventError(f"{where}: expected a JSON object")
        if "pseudonym" in data and "subject" not in data:
            pseudonym = data.pop("pseudonym")
            check = data.pop("key_check", None)
            event = event_from_dict(data, where=f"{where}: erasure")
            if not isinstance(event, Erasure) or not isinstance(pseudonym, str):
                raise EventError(f"{where}: a pseudonym line must be an erasure")
            yield BackupEntry(None, event, pseudonym, check if isinstance(check, str) else None)
            continue
        subject = data.pop("subject", None)
        if not isinstance(subject, str) or not subject:
            raise EventError(f"{where}: subject: expected the subject id as a string")
        yield BackupEntry(subject, event_from_dict(data, where=f"{where}: {data.get('type')}"))
