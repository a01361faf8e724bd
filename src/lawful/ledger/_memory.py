"""A ledger in memory: for tests, and for hosts that rebuild it from elsewhere at start."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from lawful.exceptions import LedgerError
from lawful.ledger._chain import LedgerKey, Record
from lawful.ledger._core import Clock, LedgerCore, utc_now

__all__ = ["MemoryLedger"]


class _Tables:
    """The records and named values, with an undo log while a write is open."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.ids: dict[bytes, int] = {}
        self.subjects: dict[bytes, list[int]] = {}
        self.values: dict[str, bytes] = {}
        self.heads: dict[bytes, tuple[int, bytes]] = {}
        self.lock = threading.RLock()
        self.closed = False
        self.undo: list[Record] | None = None

    def _read(self, seq: int) -> Record:
        record = self.records[seq - 1]
        prev = self.records[seq - 2].mac if seq > 1 else None
        return record._replace(prev_mac=prev)

    def meta(self, name: str) -> bytes | None:
        return self.values.get(name)

    def by_id(self, id_tag: bytes) -> Record | None:
        seq = self.ids.get(id_tag)
        return None if seq is None else self._read(seq)

    def tail(self) -> Record | None:
        return self._read(len(self.records)) if self.records else None

    def shard_tail(self, shard: int) -> Record | None:  # noqa: ARG002 - one chain: shard 0
        return self.tail()

    def by_subject(self, subject_tag: bytes, after: int = 0) -> list[Record]:
        return [self._read(seq) for seq in self.subjects.get(subject_tag, ()) if seq > after]

    def subject_tip(self, subject_tag: bytes) -> tuple[int, bytes, bytes | None] | None:
        head = self.heads.get(subject_tag)
        if head is None:
            return None
        seq, seal = head
        found = self.records[seq - 1] if 0 < seq <= len(self.records) else None
        mac = found.mac if found is not None and found.subject_tag == subject_tag else None
        return seq, seal, mac

    def subject_heads(self) -> Iterator[tuple[bytes, int, bytes]]:
        return iter([(tag, seq, seal) for tag, (seq, seal) in self.heads.items()])

    def scan(self) -> Iterator[Record]:
        return iter(list(self.records))

    def set_subject_head(self, subject_tag: bytes, seq: int, seal: bytes) -> None:
        self.heads[subject_tag] = (seq, seal)

    def rewrite(self, seq: int, link: int, mac: bytes) -> None:  # noqa: ARG002 - the protocol
        raise LedgerError(f"record {seq}: a memory ledger has no older format to migrate")

    def insert(self, record: Record) -> None:
        if record.seq != len(self.records) + 1 or record.id_tag in self.ids:
            raise LedgerError(f"record {record.seq}: not the next record, or a duplicate id")
        self.records.append(record._replace(prev_mac=None))
        self.ids[record.id_tag] = record.seq
        self.subjects.setdefault(record.subject_tag, []).append(record.seq)

    def scrub(self, seqs: Sequence[int]) -> None:
        for seq in seqs:
            old = self.records[seq - 1]
            if self.undo is not None:
                self.undo.append(old)
            self.records[seq - 1] = old._replace(nonce=None, payload=None)

    def set_meta(self, name: str, value: bytes) -> None:
        self.values[name] = value


class _MemoryStore:
    read_only = False
    shards = 1

    def __init__(self) -> None:
        self._tables = _Tables()

    def _open(self) -> _Tables:
        if self._tables.closed:
            raise LedgerError("ledger: closed")
        return self._tables

    @contextmanager
    def reading(self) -> Iterator[_Tables]:
        tables = self._open()
        with tables.lock:
            yield tables

    @contextmanager
    def writing(self) -> Iterator[_Tables]:
        tables = self._open()
        with tables.lock:
            count = len(tables.records)
            values = dict(tables.values)
            heads = dict(tables.heads)
            tables.undo = []
            try:
                yield tables
            except BaseException:
                # All or nothing, like a database transaction.
                for record in reversed(tables.undo):
                    tables.records[record.seq - 1] = record
                for record in tables.records[count:]:
                    del tables.ids[record.id_tag]
                    tables.subjects[record.subject_tag].pop()
                del tables.records[count:]
                tables.values = values
                tables.heads = heads
                raise
            finally:
                tables.undo = None

    def purge(self) -> None:
        """Nothing lingers: erased payloads are no longer referenced."""

    def close(self) -> None:
        self._tables.closed = True


class MemoryLedger(LedgerCore):
    """A :class:`lawful.ledger.ConsentLedger` in memory, safe for several threads.

    The same chain as the SQLite ledger; nothing survives the process.

    Args:
        key: The ledger key; default: a random one (nothing outlives the process anyway).
        clock: Returns the current aware instant; stamps ``recorded_at``.
        keep_proof: Whether erasure keeps consent records by default (Art. 17(3)(e)).
    """

    def __init__(
        self,
        *,
        key: LedgerKey | bytes | None = None,
        clock: Clock = utc_now,
        keep_proof: bool = False,
    ) -> None:
        super().__init__(
            _MemoryStore(),
            key=os.urandom(32) if key is None else key,
            where="memory ledger",
            clock=clock,
            keep_proof=keep_proof,
        )
