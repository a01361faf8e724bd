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
from collections.abc import Iterable, Mapping, Sequence

from lawful._json import USUAL_EVENTS
from lawful.exceptions import EventError, LedgerIntegrityError
from lawful.ledger._chain import (
    GENESIS,
    Decoded,
    Head,
    LedgerKey,
    Record,
    RecordKind,
    _scan_json,
    _tuple,
    decode,
    shard_of,
    shard_pos,
    shard_seq,
)

__all__ = [
    "ChainVerifier",
    "SubjectHead",
    "check_head",
    "check_history",
    "check_record",
    "pack_head",
    "raise_problems",
    "unpack_head",
]

SubjectHead = tuple[int, bytes]
"""The stored head of one subject: the position of its newest record and its seal."""

_MAX_PROBLEMS = 100


def pack_head(key: LedgerKey, count: int, mac: bytes, shard: int = 0, shards: int = 1) -> bytes:
    """The stored form of a (shard's) head: count, last MAC and their seal."""
    return count.to_bytes(8, "big") + mac + key.shard_seal(shard, shards, count, mac)


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


def _whose(shard: int, shards: int) -> str:
    return "the ledger's" if shards == 1 else f"shard {shard}'s"


def check_head(
    key: LedgerKey,
    sealed: bytes | None,
    tail: Record | None,
    *,
    shard: int = 0,
    shards: int = 1,
) -> tuple[int, bytes]:
    """Before a write extends a chain (a shard): the sealed head verifies, the record at its
    count is the last one and carries its MAC (itself verified); returns count and MAC.

    Args:
        key: The ledger key.
        sealed: The stored head (``None``: an empty chain).
        tail: The chain's record with the highest position, as read (``None``: none).
        shard: The shard (0 for a single chain).
        shards: The number of shards (1: a single chain).

    Raises:
        LedgerIntegrityError: The chain cannot be extended safely: a deleted or added tail,
            or a head written without the key, would otherwise be sealed in.
    """
    whose = _whose(shard, shards)
    count, mac, seal = unpack_head(sealed)
    if sealed is not None and not hmac.compare_digest(
        seal, key.shard_seal(shard, shards, count, mac)
    ):
        raise _fail(None, f"{whose} sealed head does not verify; refusing to extend it")
    last = 0
    if tail is not None:
        in_shard, last = shard_pos(tail.seq, shards)
        if in_shard != shard:
            raise _fail(tail.seq, f"found as the last record of shard {shard}, not its own")
    if last > count:
        raise _fail(shard_seq(shard, count + 1, shards), "added after the sealed head")
    if last < count:
        raise _fail(
            shard_seq(shard, last + 1, shards),
            f"missing: {whose} sealed head says {count} records; refusing to extend",
        )
    if tail is not None:
        _check_sealed(key, tail, shards)
        if not hmac.compare_digest(tail.mac, mac):
            raise _fail(tail.seq, f"does not match {whose} sealed head; refusing to extend")
    return count, mac


def _check_sealed(key: LedgerKey, record: Record, shards: int) -> None:
    """A record's MAC (against the stored MAC before it) and digest: what extending the
    chain after it rests on. Its content is checked by every read and by ``verify``.
    """
    seq = record.seq
    if seq <= shards:
        prev = GENESIS
    elif record.prev_mac is None:
        raise _fail(seq - shards, f"missing (record {seq} is chained to it)")
    else:
        prev = record.prev_mac
    mac = key.mac(
        prev, seq, record.kind, record.subject_tag, record.id_tag, record.digest, record.link
    )
    if not hmac.compare_digest(mac, record.mac):
        raise _fail(seq, "its MAC does not verify: edited, moved, or written without the key")
    payload, nonce = record.payload, record.nonce
    if (
        payload is not None
        and nonce is not None
        and hashlib.sha256(nonce + payload).digest() != record.digest
    ):
        raise _fail(seq, "its content does not match its digest: edited")


def check_record(
    key: LedgerKey, record: Record, tags: dict[str, bytes] | None = None, *, shards: int = 1
) -> Decoded | None:
    """Check one record alone and read it; ``None`` for an erased (scrubbed) record.

    Its MAC is checked against ``record.prev_mac``, the stored MAC of the record before
    it in its chain (``seq - shards``), which the store read with it. ``tags`` keeps the
    pseudonyms of subject ids computed in one read (a subject's records all name it):
    the check is the same, made once.

    Raises:
        LedgerIntegrityError: Naming the record: its content, MAC or tags do not verify,
            or the record before it is missing.
    """
    return _check(key, record, tags, shards)


def _check(
    key: LedgerKey, record: Record, tags: dict[str, bytes] | None, shards: int
) -> Decoded | None:
    """:func:`check_record`, its arguments by position (a subject read calls it per record)."""
    seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link, prev = record
    if seq <= shards:
        prev = GENESIS
    elif prev is None:
        raise _fail(seq - shards, f"missing (record {seq} is chained to it)")
    if shards > 1 and shard_of(subject_tag, shards) != (seq - 1) % shards:
        raise _fail(seq, "in a shard that is not its subject's: moved")
    if not hmac.compare_digest(key.mac(prev, seq, kind, subject_tag, id_tag, digest, link), mac):
        raise _fail(seq, "its MAC does not verify: edited, moved, or written without the key")
    if payload is None or nonce is None:
        if payload is not None or nonce is not None:
            raise _fail(seq, "half erased: nonce and payload must go together")
        if kind is RecordKind.ERASURE:
            raise _fail(seq, "an erasure record lost its content")
        return None
    if hashlib.sha256(nonce + payload).digest() != digest:
        raise _fail(seq, "its content does not match its digest: edited")
    try:
        # decode()'s path for the usual event record, in line (a read runs it per record):
        # canonical JSON, a subject, an event of the usual shape. Anything else raises
        # here and decode() reads it, or says why it does not.
        text = payload.decode("utf-8")
        data, end = _scan_json(text, 0)
        subject = data["subject"]
        if kind is not RecordKind.EVENT or end != len(text) or type(subject) is not str:
            raise ValueError  # noqa: TRY301 - to decode(), below
        if not subject:
            raise ValueError  # noqa: TRY301 - to decode(), below
        decoded = _tuple(Decoded, (subject, USUAL_EVENTS[data["type"]](data), (), ()))
    except Exception:  # noqa: BLE001 - decode() reads it the general way, or says why not
        try:
            decoded = decode(record)
        except EventError as exc:
            raise _fail(seq, f"unreadable content: {exc}") from None
    subject = decoded.subject
    try:  # a text with a lone surrogate has no UTF-8, so no tag: an EventError, here
        if subject is not None:
            tag = None if tags is None else tags.get(subject)
            if tag is None:
                tag = key.subject_tag(subject)
                if tags is not None:
                    tags[subject] = tag
            if tag != subject_tag:
                raise _fail(seq, "its subject does not match its pseudonym")
        event_id = decoded.event.id
        if event_id is None or key.id_tag(subject_tag, event_id) != id_tag:
            raise _fail(seq, "its event id does not match its tag")
    except EventError as exc:
        raise _fail(seq, f"unreadable content: {exc}") from None
    return decoded


def check_history(
    key: LedgerKey,
    records: Sequence[Record],
    head: SubjectHead | None,
    *,
    after: tuple[int, bytes] = (0, GENESIS),
    shards: int = 1,
    subject_tag: bytes | None = None,
) -> list[Decoded]:
    """Check one subject's records (all of them, or those after ``after``) and read them.

    Args:
        key: The ledger key.
        records: The subject's records in chain order, each read with its ``prev_mac``.
        head: The subject's stored head, read in the same snapshot.
        after: Position and MAC of the subject's record before ``records`` (an
            incremental read); ``(0, GENESIS)``: ``records`` is the whole history.
        shards: The ledger's number of shards (1: a single chain).
        subject_tag: The subject's keyed tag, which its head's seal covers: needed when
            ``records`` may be empty (an incremental read that found nothing new);
            otherwise the records' own.

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
        link = record.link
        if link != last_seq:
            missing = link if link > last_seq else record.seq
            raise _fail(missing, f"missing from its subject's history (record {record.seq})")
        content = _check(key, record, tags, shards)
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
    tag = records[-1].subject_tag if records else subject_tag
    if tag is None:
        # Only a history with no record has no head: one was found, so records are missing.
        raise _fail(seq, "missing: the subject's sealed head names it as the newest")
    if seq < last_seq or not hmac.compare_digest(seal, key.subject_seal(tag, seq, last_mac)):
        raise _fail(last_seq, "does not match its subject's sealed head")
    return decoded


class ChainVerifier:
    """Feed every record of a chain (a shard) in chain order, then :meth:`finish`.

    Args:
        key: The ledger key.
        expected_head: A head the host anchored (single chain only; for shards the
            caller compares :attr:`anchor_mac` of each shard).
        chain_format: 1 to verify a format 1 chain before migrating it.
        shards: The ledger's number of shards (1: a single chain).
        shard: The shard fed.
        since: Count and MAC of the shard's records already verified (a checkpoint): the
            records fed continue from there. Links to records before it, and records
            before it that an erasure after it lists, cannot be checked from the records
            fed alone: they wait in :attr:`pending_links` and :attr:`pending_erased` for
            :meth:`resolve`.
        anchor: The count of the shard's records at which to take :attr:`anchor_mac`.
    """

    def __init__(
        self,
        key: LedgerKey,
        expected_head: Head | None = None,
        *,
        chain_format: int = 2,
        shards: int = 1,
        shard: int = 0,
        since: tuple[int, bytes] = (0, GENESIS),
        anchor: int | None = None,
    ) -> None:
        self._key = key
        self._v1 = chain_format == 1
        self._shards = shards
        self._shard = shard
        self._whose = _whose(shard, shards)
        # Per subject tag, its newest record so far: (seq, mac).
        self._last: dict[bytes, tuple[int, bytes]] = {}
        self._expected = expected_head
        self._since = since[0]
        self._since_seq = shard_seq(shard, since[0], shards) if since[0] else 0
        self._pos, self._prev = since
        self._problems: list[tuple[int | None, str]] = []
        # Erased records wait here until a later erasure record of their subject lists them.
        self._scrubbed: dict[int, bytes] = {}
        if expected_head is not None and shards == 1:
            anchor = expected_head.count
        self._anchor_pos = anchor
        self.anchor_mac: bytes | None = None
        """The MAC of the shard's record number ``anchor`` (``GENESIS`` for 0), if fed."""
        if anchor is not None and anchor == since[0]:
            self.anchor_mac = since[1]
        self.pending_links: dict[bytes, tuple[int, int]] = {}
        """Resumed: per subject first met, its record's link and position."""
        self.pending_erased: list[tuple[int, bytes, int]] = []
        """Resumed: records before the checkpoint that an erasure lists (position, subject
        tag, the erasure's position)."""

    @property
    def since_seq(self) -> int:
        """The position of the checkpoint's record (0: none)."""
        return self._since_seq

    def _problem(self, seq: int | None, text: str) -> None:
        if len(self._problems) < _MAX_PROBLEMS:
            self._problems.append((seq, text))

    def feed(self, record: Record) -> None:
        """Check one record against the chain so far."""
        seq = record.seq
        shards = self._shards
        shard, pos = shard_pos(seq, shards)
        expected = shard_seq(self._shard, self._pos + 1, shards)
        if shard != self._shard:
            # Not part of this chain: judged by its own shard's scan (where it is missing).
            self._problem(seq, f"read as a record of shard {self._shard}: moved")
            return
        if pos > self._pos + 1:
            self._problem(
                expected,
                "missing"
                if pos == self._pos + 2
                else f"missing, and so are those up to {seq - 1}"
                if shards == 1
                else f"missing, and so are those of its shard up to {seq - shards}",
            )
        elif pos <= self._pos:
            self._problem(seq, "out of order")
        if shards > 1 and shard_of(record.subject_tag, shards) != shard:
            self._problem(seq, "in a shard that is not its subject's: moved")
        self._check_content(record)
        key = self._key
        tag = record.subject_tag
        if self._v1:
            mac = key.mac_v1(self._prev, seq, record.kind, tag, record.id_tag, record.digest)
        else:
            found = self._last.get(tag)
            if found is None and self._since:
                self.pending_links[tag] = (record.link, seq)
            elif record.link != (previous := 0 if found is None else found[0]):
                self._problem(
                    seq,
                    f"its link names record {record.link} as its subject's previous, "
                    f"found {previous}: a record of the subject is missing or moved",
                )
            mac = key.mac(
                self._prev, seq, record.kind, tag, record.id_tag, record.digest, record.link
            )
        self._last[tag] = (seq, record.mac)
        if not hmac.compare_digest(mac, record.mac):
            self._problem(
                seq,
                "its MAC does not verify: edited, inserted, moved, or written without the key",
            )
        self._prev = record.mac
        self._pos = pos
        if self._anchor_pos is not None and pos == self._anchor_pos:
            self.anchor_mac = record.mac

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
        try:  # a text with a lone surrogate has no UTF-8, so no tag: an EventError, here
            if (
                decoded.subject is not None
                and key.subject_tag(decoded.subject) != record.subject_tag
            ):
                self._problem(seq, "its subject does not match its pseudonym")
                return
            event_id = decoded.event.id
            if event_id is None or key.id_tag(record.subject_tag, event_id) != record.id_tag:
                self._problem(seq, "its event id does not match its tag")
        except EventError as exc:
            self._problem(seq, f"unreadable content: {exc}")
            return
        for erased in decoded.erased:
            if self._scrubbed.get(erased) == record.subject_tag and erased < seq:
                del self._scrubbed[erased]
            elif 0 < erased <= self._since_seq:
                self.pending_erased.append((erased, record.subject_tag, seq))
            else:
                self._problem(
                    erased,
                    f"listed as erased by record {seq} but still holds data "
                    "(restored from a copy?) or belongs to another subject",
                )

    def resolve(self, newest: Mapping[bytes, int], listed: Mapping[int, Record]) -> None:
        """After a resumed run: check what the records fed could not show alone.

        Args:
            newest: For each tag of :attr:`pending_links`, the position of the subject's
                newest record up to the checkpoint (absent: none).
            listed: The records of :attr:`pending_erased`, as stored now.
        """
        for tag, (link, seq) in self.pending_links.items():
            previous = newest.get(tag, 0)
            if link != previous:
                self._problem(
                    seq,
                    f"its link names record {link} as its subject's previous, found "
                    f"{previous}: a record of the subject is missing or moved",
                )
        for erased, tag, by in self.pending_erased:
            found = listed.get(erased)
            if found is None or found.subject_tag != tag or found.kind is not RecordKind.EVENT:
                self._problem(erased, f"listed as erased by record {by}: another subject's")
            elif found.payload is not None or found.nonce is not None:
                self._problem(erased, f"listed as erased by record {by} but still holds data")

    def subject_heads(self, heads: Iterable[tuple[bytes, int, bytes]]) -> None:
        """Check the subjects' sealed heads (format 2) against the records fed: every head
        of the chain (the shard), or on a resumed run those after the checkpoint.
        """
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
        """Check the sealed head and the anchored head; return the head (of the shard: its
        count and last MAC).

        Args:
            sealed: The head the store keeps (``None`` if it keeps none).

        Raises:
            LedgerIntegrityError: Something does not verify; it names the first broken
                record and lists every problem found.
        """
        count = self._pos
        shard, shards, whose = self._shard, self._shards, self._whose
        for seq in sorted(self._scrubbed):
            self._problem(seq, "its content was removed without an erasure record")
        try:
            head_count, head_mac, seal = unpack_head(sealed)
        except LedgerIntegrityError:
            head_count, head_mac, seal = -1, b"", b""
            self._problem(None, f"{whose} sealed head is malformed")
        if head_count < 0:
            pass
        elif sealed is None:
            if count:
                self._problem(None, f"{whose} sealed head is missing")
        elif not hmac.compare_digest(
            seal, self._key.shard_seal(shard, shards, head_count, head_mac)
        ):
            self._problem(None, f"{whose} sealed head does not verify")
        elif head_count > count:
            self._problem(
                shard_seq(shard, count + 1, shards),
                f"missing: {whose} head says {head_count} records",
            )
        elif head_count < count:
            self._problem(
                shard_seq(shard, head_count + 1, shards),
                "added after the sealed head, not by this ledger",
            )
        elif head_mac != self._prev:
            self._problem(shard_seq(shard, count, shards), f"does not match {whose} sealed head")
        expected = self._expected
        if expected is not None and shards == 1:
            if expected.count > count:
                self._problem(
                    count + 1, f"missing: the anchored head says {expected.count} records"
                )
            elif expected.count == 0:
                if expected.hash != GENESIS.hex():
                    self._problem(None, "an anchored head of 0 records must hash to zeros")
            elif self.anchor_mac is None or self.anchor_mac.hex() != expected.hash.lower():
                self._problem(expected.count, "does not match the anchored head")
        raise_problems(self._problems)
        return Head(count, self._prev.hex())


def raise_problems(problems: Sequence[tuple[int | None, str]]) -> None:
    """Raise one :class:`LedgerIntegrityError` for these problems, the lowest record first."""
    if problems:
        ordered = sorted(problems, key=lambda p: (p[0] is None, p[0] or 0))
        texts = [text if seq is None else f"record {seq}: {text}" for seq, text in ordered]
        more = f" (and {len(texts) - 1} more problem(s))" if len(texts) > 1 else ""
        raise LedgerIntegrityError(texts[0] + more, record=ordered[0][0], problems=texts)
