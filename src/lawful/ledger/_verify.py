"""Checking a chain record by record, for every store.

The verifier is fed records in chain order (a store streams them) and collects
every problem; the first broken record is the one with the lowest position.
Each record's MAC is checked against the *stored* MAC of the one before, so one
edited record is reported as one problem, not as the whole rest of the chain.
"""

from __future__ import annotations

import hashlib
import hmac

from lawful.exceptions import EventError, LedgerIntegrityError
from lawful.ledger._chain import GENESIS, Head, LedgerKey, Record, RecordKind, decode

__all__ = ["ChainVerifier", "pack_head", "unpack_head"]

_MAX_PROBLEMS = 100


def pack_head(key: LedgerKey, count: int, mac: bytes) -> bytes:
    """The stored form of a head: count, last MAC and their seal."""
    return count.to_bytes(8, "big") + mac + key.seal(count, mac)


def unpack_head(value: bytes | None) -> tuple[int, bytes, bytes]:
    """Count, last MAC and seal of a stored head (an empty ledger when ``None``)."""
    if value is None:
        return 0, GENESIS, b""
    return int.from_bytes(value[:8], "big"), value[8:40], value[40:]


class ChainVerifier:
    """Feed every record in chain order, then :meth:`finish`."""

    def __init__(self, key: LedgerKey, expected_head: Head | None = None) -> None:
        self._key = key
        self._expected = expected_head
        self._next = 1
        self._prev = GENESIS
        self._problems: list[tuple[int | None, str]] = []
        # Erased records wait here until a later erasure record of their subject lists them.
        self._scrubbed: dict[int, bytes] = {}
        self._anchor: bytes | None = None

    def _problem(self, seq: int | None, text: str) -> None:
        if len(self._problems) < _MAX_PROBLEMS:
            self._problems.append((seq, text))

    def feed(self, record: Record) -> None:
        """Check one record against the chain so far."""
        seq = record.seq
        if seq > self._next:
            gap = (
                "missing" if seq == self._next + 1 else f"missing, and so are those up to {seq - 1}"
            )
            self._problem(self._next, gap)
        elif seq < self._next:
            self._problem(seq, "out of order")
        self._check_content(record)
        key = self._key
        mac = key.mac(
            self._prev, seq, record.kind, record.subject_tag, record.id_tag, record.digest
        )
        if not hmac.compare_digest(mac, record.mac):
            self._problem(
                seq,
                "its MAC does not verify: edited, inserted, moved, or written without the key",
            )
        self._prev = record.mac
        self._next = seq + 1
        if self._expected is not None and seq == self._expected.count:
            self._anchor = record.mac

    def _check_content(self, record: Record) -> None:
        seq = record.seq
        if record.payload is None or record.nonce is None:
            if record.payload is not None or record.nonce is not None:
                self._problem(seq, "half erased: nonce and payload must go together")
            elif record.kind is RecordKind.ERASURE:
                self._problem(seq, "an erasure record lost its content")
            else:
                self._scrubbed[seq] = record.subject_tag
            return
        if hashlib.sha256(record.nonce + record.payload).digest() != record.digest:
            self._problem(seq, "its content does not match its digest: edited")
            return
        try:
            decoded = decode(record)
        except EventError as exc:
            self._problem(seq, f"unreadable content: {exc}")
            return
        key = self._key
        if decoded.subject is not None and key.subject_tag(decoded.subject) != record.subject_tag:
            self._problem(seq, "its subject does not match its pseudonym")
            return
        event_id = decoded.event.id
        if event_id is None or key.id_tag(record.subject_tag, event_id) != record.id_tag:
            self._problem(seq, "its event id does not match its tag")
        for erased in decoded.erased:
            if self._scrubbed.get(erased) == record.subject_tag and erased < seq:
                del self._scrubbed[erased]
            else:
                self._problem(
                    erased,
                    f"listed as erased by record {seq} but still holds data "
                    "(restored from a copy?) or belongs to another subject",
                )

    def finish(self, sealed: bytes | None) -> Head:
        """Check the sealed head and the anchored head; return the head.

        Args:
            sealed: The head the store keeps (``None`` if it keeps none).

        Raises:
            LedgerIntegrityError: Something does not verify; it names the first broken
                record and lists every problem found.
        """
        count = self._next - 1
        for seq in sorted(self._scrubbed):
            self._problem(seq, "its content was removed without an erasure record")
        head_count, head_mac, seal = unpack_head(sealed)
        if sealed is None:
            if count:
                self._problem(None, "the ledger's sealed head is missing")
        elif not hmac.compare_digest(seal, self._key.seal(head_count, head_mac)):
            self._problem(None, "the ledger's sealed head does not verify")
        elif head_count > count:
            self._problem(count + 1, f"missing: the ledger's head says {head_count} records")
        elif head_count < count:
            self._problem(head_count + 1, "added after the sealed head, not by this ledger")
        elif head_mac != self._prev:
            self._problem(count, "does not match the ledger's sealed head")
        expected = self._expected
        if expected is not None:
            if expected.count > count:
                self._problem(
                    count + 1, f"missing: the anchored head says {expected.count} records"
                )
            elif expected.count == 0:
                if expected.hash != GENESIS.hex():
                    self._problem(None, "an anchored head of 0 records must hash to zeros")
            elif self._anchor is None or self._anchor.hex() != expected.hash.lower():
                self._problem(expected.count, "does not match the anchored head")
        if self._problems:
            ordered = sorted(self._problems, key=lambda p: (p[0] is None, p[0] or 0))
            texts = [text if seq is None else f"record {seq}: {text}" for seq, text in ordered]
            more = f" (and {len(texts) - 1} more problem(s))" if len(texts) > 1 else ""
            raise LedgerIntegrityError(texts[0] + more, record=ordered[0][0], problems=texts)
        return Head(count, self._prev.hex())
