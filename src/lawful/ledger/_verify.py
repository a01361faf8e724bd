"""Checking a chain record by record, for every store.

The verifier is fed records in chain order (a store streams them) and collects
every problem; the first broken record is the one with the lowest position.
Each record's MAC is checked against the *stored* MAC of the one before, so one
edited record is reported as one problem, not as the whole rest of the chain.

Reads check less than ``verify()`` but never return what they have not checked:
:func:`check_record` checks one record alone (digest, MAC against the stored MAC of
the record before it, content against its tags), and :func:`check_history` checks a
subject's records as a whole (every link to the subject's previous record, erasures,
and the subject's sealed head, so that a deleted newest record is noticed too).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

from lawful.exceptions import EventError, LedgerIntegrityError
from lawful.ledger._chain import GENESIS, Decoded, Head, LedgerKey, Record, RecordKind, decode

__all__ = [
    "ChainVerifier",
    "SubjectHead",
    "check_head",
    "check_history",
    "check_record",
    "pack_head",
    "unpack_head",
]

SubjectHead = tuple[int, bytes]
"""The stored head of one subject: the position of its newest record and its seal."""

_MAX_PROBLEMS = 100


def pack_head(key: LedgerKey, count: int, mac: bytes) -> bytes:
    """The stored form of a head: count, last MAC and their seal."""
    return count.to_bytes(8, "big") + mac + key.seal(count, mac)


def unpack_head(value: bytes | None) -> tuple[int, bytes, bytes]:
    """Count, last MAC and seal of a stored head (an empty ledger when ``None``).

    Raises:
        LedgerIntegrityError: The stored value is not 72 bytes (its type or length edited).
    """
    if value is None:
        return 0, GENESIS, b""
    if len(value) != 72:
        raise LedgerIntegrityError("the ledger's sealed head is malformed")
    return int.from_bytes(value[:8], "big"), value[8:40], value[40:]


def _fail(seq: int | None, text: str) -> LedgerIntegrityError:
    return LedgerIntegrityError(text if seq is None else f"record {seq}: {text}", record=seq)


def check_head(key: LedgerKey, sealed: bytes | None, tail: Record | None) -> tuple[int, bytes]:
    """Before a write extends the chain: the sealed head verifies, the record at its count
    is the last one and carries its MAC (itself verified); returns count and MAC.

    Args:
        key: The ledger key.
        sealed: The stored head (``None``: an empty ledger).
        tail: The record with the highest position, as read (``None``: no records).

    Raises:
        LedgerIntegrityError: The chain cannot be extended safely: a deleted or added tail,
            or a head written without the key, would otherwise be sealed in.
    """
    count, mac, seal = unpack_head(sealed)
    if sealed is not None and not hmac.compare_digest(seal, key.seal(count, mac)):
        raise _fail(None, "the ledger's sealed head does not verify; refusing to extend it")
    last = 0 if tail is None else tail.seq
    if last > count:
        raise _fail(count + 1, "added after the sealed head, not by this ledger")
    if last < count:
        raise _fail(last + 1, f"missing: the sealed head says {count} records; refusing to extend")
    if tail is not None:
        check_record(key, tail)
        if not hmac.compare_digest(tail.mac, mac):
            raise _fail(count, "does not match the ledger's sealed head; refusing to extend")
    return count, mac


def check_record(
    key: LedgerKey, record: Record, tags: dict[str, bytes] | None = None
) -> Decoded | None:
    """Check one record alone and read it; ``None`` for an erased (scrubbed) record.

    Its MAC is checked against ``record.prev_mac``, the stored MAC of the record before,
    which the store read with it. ``tags`` keeps the pseudonyms of subject ids computed
    in one read (a subject's records all name it): the check is the same, made once.

    Raises:
        LedgerIntegrityError: Naming the record: its content, MAC or tags do not verify,
            or the record before it is missing.
    """
    seq = record.seq
    if seq == 1:
        prev = GENESIS
    elif record.prev_mac is None:
        raise _fail(seq - 1, f"missing (record {seq} is chained to it)")
    else:
        prev = record.prev_mac
    mac = key.mac(
        prev, seq, record.kind, record.subject_tag, record.id_tag, record.digest, record.link
    )
    if not hmac.compare_digest(mac, record.mac):
        raise _fail(seq, "its MAC does not verify: edited, moved, or written without the key")
    if record.payload is None or record.nonce is None:
        if record.payload is not None or record.nonce is not None:
            raise _fail(seq, "half erased: nonce and payload must go together")
        if record.kind is RecordKind.ERASURE:
            raise _fail(seq, "an erasure record lost its content")
        return None
    if hashlib.sha256(record.nonce + record.payload).digest() != record.digest:
        raise _fail(seq, "its content does not match its digest: edited")
    try:
        decoded = decode(record)
    except EventError as exc:
        raise _fail(seq, f"unreadable content: {exc}") from None
    subject = decoded.subject
    if subject is not None:
        tag = None if tags is None else tags.get(subject)
        if tag is None:
            tag = key.subject_tag(subject)
            if tags is not None:
                tags[subject] = tag
        if tag != record.subject_tag:
            raise _fail(seq, "its subject does not match its pseudonym")
    event_id = decoded.event.id
    if event_id is None or key.id_tag(record.subject_tag, event_id) != record.id_tag:
        raise _fail(seq, "its event id does not match its tag")
    return decoded


def check_history(
    key: LedgerKey,
    records: Sequence[Record],
    head: SubjectHead | None,
    *,
    after: tuple[int, bytes] = (0, GENESIS),
) -> list[Decoded]:
    """Check one subject's records (all of them, or those after ``after``) and read them.

    Args:
        key: The ledger key.
        records: The subject's records in chain order, each read with its ``prev_mac``.
        head: The subject's stored head, read in the same snapshot.
        after: Position and MAC of the subject's record before ``records`` (an
            incremental read); ``(0, GENESIS)``: ``records`` is the whole history.

    Returns:
        The records' contents in order; erased records are left out.

    Raises:
        LedgerIntegrityError: Naming the first record that does not verify, or the one
            that is missing: each record's MAC covers its link to the subject's previous
            record, and the subject's sealed head names its newest.
    """
    decoded: list[Decoded] = []
    scrubbed: dict[int, Record] = {}
    last_seq, last_mac = after
    tags: dict[str, bytes] = {}
    for record in records:
        if record.link != last_seq:
            missing = record.link if record.link > last_seq else record.seq
            raise _fail(missing, f"missing from its subject's history (record {record.seq})")
        content = check_record(key, record, tags)
        if content is None:
            scrubbed[record.seq] = record
        else:
            for seq in content.erased:
                if seq in scrubbed:
                    del scrubbed[seq]
                elif seq > after[0]:
                    raise _fail(
                        seq,
                        f"listed as erased by record {record.seq} but still holds data "
                        "(restored from a copy?) or belongs to another subject",
                    )
            decoded.append(content)
        last_seq, last_mac = record.seq, record.mac
    if scrubbed:
        raise _fail(min(scrubbed), "its content was removed without an erasure record")
    if head is None:
        if last_seq:
            raise _fail(last_seq, "its subject's sealed head is missing")
        return decoded
    seq, seal = head
    if seq > last_seq:
        raise _fail(seq, "missing: the subject's sealed head names it as the newest")
    if seq < last_seq or not hmac.compare_digest(
        seal, key.subject_seal(records[-1].subject_tag if records else b"", seq, last_mac)
    ):
        raise _fail(last_seq, "does not match its subject's sealed head")
    return decoded


class ChainVerifier:
    """Feed every record in chain order, then :meth:`finish`."""

    def __init__(
        self, key: LedgerKey, expected_head: Head | None = None, *, chain_format: int = 2
    ) -> None:
        self._key = key
        self._v1 = chain_format == 1
        # Per subject tag, its newest record so far: (seq, mac).
        self._last: dict[bytes, tuple[int, bytes]] = {}
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
        if self._v1:
            mac = key.mac_v1(
                self._prev, seq, record.kind, record.subject_tag, record.id_tag, record.digest
            )
        else:
            previous = self._last.get(record.subject_tag, (0, b""))[0]
            if record.link != previous:
                self._problem(
                    seq,
                    f"its link names record {record.link} as its subject's previous, "
                    f"found {previous}: a record of the subject is missing or moved",
                )
            mac = key.mac(
                self._prev,
                seq,
                record.kind,
                record.subject_tag,
                record.id_tag,
                record.digest,
                record.link,
            )
        self._last[record.subject_tag] = (seq, record.mac)
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

    def subject_heads(self, heads: Iterable[tuple[bytes, int, bytes]]) -> None:
        """Check every subject's sealed head (format 2) against the records fed."""
        last = dict(self._last)
        for tag, seq, seal in heads:
            found = last.pop(tag, None)
            if found is None or found[0] < seq:
                self._problem(seq, "missing: its subject's sealed head names it as the newest")
            elif found[0] > seq:
                self._problem(found[0], "not covered by its subject's sealed head")
            elif not hmac.compare_digest(seal, self._key.subject_seal(tag, seq, found[1])):
                self._problem(seq, "does not match its subject's sealed head")
        for seq, _ in last.values():
            self._problem(seq, "its subject's sealed head is missing")

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
        try:
            head_count, head_mac, seal = unpack_head(sealed)
        except LedgerIntegrityError:
            head_count, head_mac, seal = -1, b"", b""
            self._problem(None, "the ledger's sealed head is malformed")
        if head_count < 0:
            pass
        elif sealed is None:
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
