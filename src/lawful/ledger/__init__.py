"""Consent ledgers: append-only, tamper-evident stores of what each subject did.

>>> from datetime import datetime, UTC
>>> import lawful
>>> from lawful.ledger import MemoryLedger
>>> ledger = MemoryLedger()
>>> stored = ledger.append("visitor-1", lawful.ConsentGiven(
...     at=datetime(2025, 3, 1, 9, tzinfo=UTC), purpose="analytics", id="c-1"))
>>> ledger.subject("visitor-1").events == (stored,)
True
>>> ledger.verify().count
1

:class:`SQLiteLedger` is the embedded default, :class:`PostgresLedger` (the
``lawful[postgres]`` extra) serves many machines; every ledger follows
:class:`ConsentLedger`. See ``docs/ledger.md`` for keys, erasure and anchoring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lawful.ledger._backup import dumps_backup, read_backup
from lawful.ledger._chain import PROOF_TYPES, Head, LedgerKey
from lawful.ledger._iso27560 import iso27560_records
from lawful.ledger._memory import MemoryLedger
from lawful.ledger._protocol import (
    Appended,
    BackupEntry,
    ConsentLedger,
    Proof,
    ProofRecord,
    Restored,
    SubjectHistory,
)
from lawful.ledger._sqlite import SQLiteLedger

if TYPE_CHECKING:
    from lawful.ledger.postgres import PostgresLedger

__all__ = [
    "PROOF_TYPES",
    "Appended",
    "BackupEntry",
    "ConsentLedger",
    "Head",
    "LedgerKey",
    "MemoryLedger",
    "PostgresLedger",
    "Proof",
    "ProofRecord",
    "Restored",
    "SQLiteLedger",
    "SubjectHistory",
    "dumps_backup",
    "iso27560_records",
    "read_backup",
]


def __getattr__(name: str) -> object:
    # PostgresLedger needs the optional psycopg: import it only when asked for.
    if name == "PostgresLedger":
        from lawful.ledger.postgres import PostgresLedger  # noqa: PLC0415

        return PostgresLedger
    raise AttributeError(f"module 'lawful.ledger' has no attribute {name!r}")
