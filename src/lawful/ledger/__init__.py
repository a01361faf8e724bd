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

:class:`SQLiteLedger` is the embedded default; every ledger follows
:class:`ConsentLedger`. See ``docs/ledger.md`` for keys, erasure and anchoring.
"""

from __future__ import annotations

from lawful.ledger._chain import PROOF_TYPES, Head, LedgerKey
from lawful.ledger._memory import MemoryLedger
from lawful.ledger._protocol import ConsentLedger, Proof, ProofRecord
from lawful.ledger._sqlite import SQLiteLedger

__all__ = [
    "PROOF_TYPES",
    "ConsentLedger",
    "Head",
    "LedgerKey",
    "MemoryLedger",
    "Proof",
    "ProofRecord",
    "SQLiteLedger",
]
