"""The chain of a ledger, independent of where records are stored.

Everything a store must agree on byte for byte lives here, so that the memory,
SQLite and PostgreSQL ledgers write the same records and one verifier checks them:

- **Canonical form**: ``{"subject": id, **event_to_dict(event)}`` (the JSON of the CLI's
  JSON Lines) with every timestamp in UTC, keys sorted, no spaces, UTF-8.
- **Keys**: one secret kept outside the store; sub-keys for the chain, the subject
  pseudonyms, event-id tags and the key check are derived from it with HMAC-SHA256,
  so that no two uses share a key.
- **Records** (format 2): ``digest = SHA-256(nonce || payload)`` with a fresh 16-byte
  random nonce; ``mac = HMAC(chain key, 0x02 || prev mac || seq || kind || subject tag ||
  id tag || digest || link)``, where ``link`` is the position of the same subject's
  previous record (0 for its first): a subject's history read alone shows a gap.
  Erasure drops nonce and payload and keeps the digest: the chain still verifies, and
  without the nonce the digest cannot be brute-forced back to the data. Format 1 had no
  link; :func:`mac_v1` is kept only to verify a format 1 ledger before migrating it.
- **Head**: the record count and the last MAC; the store also keeps it sealed with the key.
- **Shards** (the PostgreSQL ledger): the chain may be cut into ``N`` independent chains,
  ``N`` fixed when the ledger is created. A subject's records all go to shard
  ``shard_of(subject tag)`` (its keyed pseudonym, so a stable keyed hash of its id, mod
  ``N``); record ``pos`` of shard ``s`` has position ``seq = (pos - 1) * N + s + 1``, so
  positions stay unique, a record's MAC (unchanged) fixes its shard and place, and its
  "previous MAC" is that of the record before it *in its shard*. Each shard has its own
  sealed head (:meth:`LedgerKey.shard_seal`); the ledger's head is the total count and
  :func:`shards_hash` of the shard heads. With ``N = 1`` all of this is the single chain
  above, byte for byte.
- **Subject heads**: per subject tag, the position of its newest record, sealed with its
  MAC: a subject read notices its newest record deleted (see :meth:`LedgerKey.subject_seal`).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import attrs

from lawful._json import event_from_dict, event_to_dict, read_usual_event
from lawful.events import (
    AgeDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    Erasure,
    Event,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
)
from lawful.exceptions import (
    EventError,
    LedgerIntegrityError,
    LedgerKeyError,
    NaiveDatetimeError,
)

__all__ = [
    "FORMAT",
    "GENESIS",
    "MAX_KEY_FILE_BYTES",
    "MIN_KEY_BYTES",
    "PROOF_TYPES",
    "Decoded",
    "Head",
    "LedgerKey",
    "Record",
    "RecordKind",
    "canonical",
    "decode",
    "head_name",
    "record_from_row",
    "seal_record",
    "shard_of",
    "shard_pos",
    "shard_seq",
    "shards_hash",
    "stored_form",
]

FORMAT = b"lawful-ledger/1"
"""Domain separation for the derived keys (unchanged by format 2: tags stay the same)."""
CHAIN_FORMAT = 2
"""The record format this lawful writes; a store records it under ``format``."""
MIN_KEY_BYTES = 32
MAX_KEY_FILE_BYTES = 4096
"""A key file larger than this is refused (and ``/dev/zero`` does not hang a read)."""
_U64 = 1 << 63
NONCE_BYTES = 16
E = TypeVar("E", bound=Event)
GENESIS = bytes(32)
_tuple = tuple.__new__  # makes a named tuple from a tuple of its fields in one call
"""The "previous MAC" of the first record, and the hash of an empty ledger's head."""

PROOF_TYPES: tuple[type[Event], ...] = (
    ConsentGiven,
    ConsentWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    AgeDeclared,
)
"""The events an erasure keeps when asked to keep proof of consent (Art. 17(3)(e))."""


class RecordKind(enum.IntEnum):
    """What a record holds."""

    EVENT = 0
    """An event of a subject; its payload names the subject."""
    ERASURE = 1
    """The fact and time of an erasure, under the subject's pseudonym only; never erased."""


@attrs.frozen
class Head:
    """The head of a ledger: how many records it holds and the MAC of the last one.

    A host that keeps heads somewhere the ledger cannot write (a log, another system)
    can later pass one to ``verify(expected_head=...)``: records deleted from the end,
    or a whole file rolled back, are then caught too.

    Attributes:
        count: The number of records.
        hash: The MAC of the last record, in hex (64 zeros for an empty ledger); for a
            sharded ledger, ``shards_hash`` of every shard's count and last MAC.
        shards: For a sharded ledger, the number of records of each shard (they add up
            to ``count``); empty for a single chain.
    """

    count: int
    hash: str
    shards: tuple[int, ...] = ()

    def __str__(self) -> str:
        if not self.shards:
            return f"{self.count}:{self.hash}"
        return f"{self.count}:{self.hash}:{','.join(map(str, self.shards))}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """Read ``COUNT:HASH`` (or ``COUNT:HASH:C0,C1,...`` for a sharded ledger), as
        ``str(head)`` writes it.

        Raises:
            LedgerKeyError: Not of that form, or shard counts that do not add up.
        """
        count, sep, rest = text.strip().partition(":")
        digest, _, listed = rest.partition(":")
        shards: tuple[int, ...] = ()
        try:
            value = int(count)
            bytes.fromhex(digest)
            if listed:
                shards = tuple(int(part) for part in listed.split(","))
        except ValueError:
            value = -1
        if (
            not sep
            or value < 0
            or len(digest) != 64
            or any(n < 0 for n in shards)
            or (listed and (len(shards) < 2 or sum(shards) != value))
        ):
            raise LedgerKeyError(
                f"head: expected COUNT:HASH (64 hex digits), or COUNT:HASH:C0,C1,... with "
                f"shard counts adding up to COUNT, got {text!r}"
            )
        return cls(value, digest.lower(), shards)


def shard_of(subject_tag: bytes, shards: int) -> int:
    """The shard of a subject: its keyed pseudonym (a keyed hash of its id) mod ``shards``."""
    return int.from_bytes(subject_tag[:8], "big") % shards


def shard_seq(shard: int, pos: int, shards: int) -> int:
    """The ledger position of record ``pos`` (from 1) of ``shard``."""
    return (pos - 1) * shards + shard + 1


def shard_pos(seq: int, shards: int) -> tuple[int, int]:
    """The shard of a ledger position and its place in that shard (from 1)."""
    return (seq - 1) % shards, (seq - 1) // shards + 1


def head_name(shard: int, shards: int) -> str:
    """The named value that keeps a shard's sealed head (``head`` for a single chain)."""
    return "head" if shards == 1 else f"head:{shard}"


def shards_hash(heads: Sequence[tuple[int, bytes]]) -> bytes:
    """The hash of a sharded ledger's head: every shard's record count and last MAC, in
    shard order, with their number. Unkeyed, like a single chain's head (its last MAC is
    readable in the store too): the MACs inside it are what no one can forge.
    """
    digest = hashlib.sha256(b"lawful-ledger/shards " + len(heads).to_bytes(8, "big"))
    for count, mac in heads:
        digest.update(count.to_bytes(8, "big") + mac)
    return digest.digest()


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hmac.digest(secret, FORMAT + b" " + purpose, "sha256")


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))
_BLOCK = 64  # SHA-256's block size


class _Keyed:
    """HMAC-SHA-256 under one key, its padded inner and outer hashes made once (RFC 2104).

    The same digest as ``hmac.digest(key, message, "sha256")``, without the key setup
    OpenSSL repeats on every such call (about two thirds of its cost for a record's
    MAC): every read checks two HMACs per record.
    """

    __slots__ = ("inner", "outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_BLOCK, b"\0")
        self.inner = hashlib.sha256(key.translate(_IPAD))
        self.outer = hashlib.sha256(key.translate(_OPAD))

    def __repr__(self) -> str:
        return "<HMAC-SHA-256 key>"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a ledger key's prepared HMAC is not pickled")

    def digest(self, message: bytes) -> bytes:
        inner = self.inner.copy()
        inner.update(message)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.digest()


@attrs.frozen(repr=False)
class LedgerKey:
    """The secret of a ledger, kept outside the store (a file or the host's secret store).

    Whoever holds it can write records that verify and can tell which pseudonym is whose;
    whoever does not can neither forge a record nor link an erased pseudonym to a person.
    Build it with :meth:`from_bytes` or :meth:`from_file`.
    """

    chain: bytes
    subject: bytes
    event_id: bytes
    check: bytes
    # The three keys prepared for HMAC once (derived from the fields, so not compared).
    _chain: _Keyed = attrs.field(init=False, eq=False, hash=False, repr=False, alias="_chain")
    _subject: _Keyed = attrs.field(init=False, eq=False, hash=False, repr=False, alias="_subject")
    _event_id: _Keyed = attrs.field(init=False, eq=False, hash=False, repr=False, alias="_event_id")

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_chain", _Keyed(self.chain))
        object.__setattr__(self, "_subject", _Keyed(self.subject))
        object.__setattr__(self, "_event_id", _Keyed(self.event_id))

    @classmethod
    def from_bytes(cls, secret: bytes) -> LedgerKey:
        """A key from at least 32 bytes of secret (for example ``secrets.token_bytes(32)``).

        Raises:
            LedgerKeyError: Not bytes, fewer than 32 bytes, or one byte repeated (a
                placeholder such as ``b"0" * 32``, never a secret).
        """
        given: object = secret  # callers without a type checker pass str, too
        if not isinstance(given, bytes | bytearray):
            raise LedgerKeyError(f"ledger key: expected bytes, got {type(given).__name__}")
        if len(given) < MIN_KEY_BYTES:
            raise LedgerKeyError(
                f"ledger key: expected at least {MIN_KEY_BYTES} bytes of secret, got {len(given)}"
            )
        if len(set(given)) == 1:
            raise LedgerKeyError("ledger key: one byte repeated is a placeholder, not a secret")
        secret = bytes(given)
        return cls(
            chain=_derive(secret, b"chain"),
            subject=_derive(secret, b"subject"),
            event_id=_derive(secret, b"event-id"),
            check=_derive(_derive(secret, b"check"), b"key check"),
        )

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> LedgerKey:
        """A key from a file's bytes, trailing whitespace removed (a hex line works).

        At most ``MAX_KEY_FILE_BYTES`` (4 KiB) are read: a larger file (or a device such as
        ``/dev/zero``) is refused rather than read to its end.

        Raises:
            LedgerKeyError: The file cannot be read, is larger than 4 KiB, or does not hold
                a key :meth:`from_bytes` accepts.
        """
        where = os.fspath(path)
        try:
            with Path(path).open("rb") as handle:
                data = handle.read(MAX_KEY_FILE_BYTES + 1)
        except OSError as exc:
            raise LedgerKeyError(f"ledger key: cannot read {where}: {exc.strerror}") from None
        if len(data) > MAX_KEY_FILE_BYTES:
            raise LedgerKeyError(
                f"ledger key: {where} is larger than {MAX_KEY_FILE_BYTES} bytes; not a key file"
            )
        return cls.from_bytes(data.rstrip())

    def __repr__(self) -> str:
        return "LedgerKey(<secret>)"

    def subject_tag(self, subject_id: str) -> bytes:
        """The keyed pseudonym of a subject id: how records find their subject."""
        return self._subject.digest(_utf8(subject_id, "subject"))

    def id_tag(self, subject_tag: bytes, event_id: str) -> bytes:
        """The keyed tag of an event id, per subject: appends are idempotent by it."""
        # _Keyed.digest in line, as in mac(): every read makes one per record.
        keyed = self._event_id
        inner = keyed.inner.copy()
        inner.update(subject_tag)
        inner.update(_utf8(event_id, "id"))
        outer = keyed.outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def derive_id(self, payload: bytes) -> str:
        """The id of an event that came without one: a keyed digest of its canonical form,
        so that appending the same fact twice stores it once.
        """
        return "lw-" + self._event_id.digest(b"derive " + payload).hex()[:32]

    def mac(
        self,
        prev: bytes,
        seq: int,
        kind: RecordKind,
        subject_tag: bytes,
        id_tag: bytes,
        digest: bytes,
        link: int,
    ) -> bytes:
        """The MAC of a record; every input has a fixed length, so none can bleed into another.

        ``link`` is the position of the same subject's previous record (0: none).
        """
        message = b"".join(  # one copy, where + made one per part
            (
                b"\x02",
                prev,
                seq.to_bytes(8, "big"),
                bytes((kind,)),
                subject_tag,
                id_tag,
                digest,
                link.to_bytes(8, "big"),
            )
        )
        # _Keyed.digest in line: every read makes one per record, and a call costs.
        keyed = self._chain
        inner = keyed.inner.copy()
        inner.update(message)
        outer = keyed.outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def mac_v1(
        self,
        prev: bytes,
        seq: int,
        kind: RecordKind,
        subject_tag: bytes,
        id_tag: bytes,
        digest: bytes,
    ) -> bytes:
        """The MAC of a format 1 record (no subject link): only to migrate such a ledger."""
        message = prev + seq.to_bytes(8, "big") + bytes((kind,)) + subject_tag + id_tag + digest
        return hmac.digest(self.chain, message, "sha256")

    def subject_seal(self, subject_tag: bytes, seq: int, mac: bytes) -> bytes:
        """The seal of a subject's head: its newest record is at ``seq`` with this MAC."""
        message = b"subject" + subject_tag + seq.to_bytes(8, "big") + mac
        return self._chain.digest(message)

    def seal(self, count: int, mac: bytes) -> bytes:
        """The seal of a head, kept by the store next to it."""
        return self._chain.digest(b"head" + count.to_bytes(8, "big") + mac)

    def shard_seal(self, shard: int, shards: int, count: int, mac: bytes) -> bytes:
        """The seal of a shard's head (:meth:`seal` for a single chain): it names the shard
        and their number, so a head copied to another shard or ledger layout does not verify.
        """
        if shards == 1:
            return self.seal(count, mac)
        message = (
            b"shard"
            + shards.to_bytes(8, "big")
            + shard.to_bytes(8, "big")
            + count.to_bytes(8, "big")
            + mac
        )
        return self._chain.digest(message)


def _utf8(text: str, where: str) -> bytes:
    given: object = text  # ids come from JSON and host code: check, do not trust
    if not isinstance(given, str) or not given:
        raise EventError(f"{where}: expected a non-empty string, got {text!r}")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError(f"{where}: not encodable as UTF-8 (a lone surrogate?)") from None


def _utc(value: object) -> object:
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def stored_form(event: E, *, event_id: str | None, recorded_at: datetime | None) -> E:
    """The event as a ledger stores it: timestamps in UTC, with this id and ``recorded_at``."""
    changes: dict[str, Any] = {
        field.name: _utc(getattr(event, field.name))
        for field in attrs.fields(type(event))
        if isinstance(getattr(event, field.name), datetime)
    }
    changes["id"] = event_id
    changes["recorded_at"] = None if recorded_at is None else recorded_at.astimezone(UTC)
    return attrs.evolve(event, **changes)


def _dumps(data: Mapping[str, object]) -> bytes:
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        # A field of a type JSON cannot hold (bytes, a set, NaN ...): refused, not stored.
        raise EventError(f"event: cannot be stored: {exc}") from None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError("event: a string is not encodable as UTF-8 (a lone surrogate?)") from None


def canonical(
    subject_id: str | None,
    event: Event,
    *,
    erased: Sequence[int] = (),
    kept: Sequence[int] = (),
) -> bytes:
    """The canonical bytes of an event (already in :func:`stored_form`).

    ``subject_id`` is ``None`` for an erasure record, which carries the positions of
    the records it erased and of those it kept as proof instead of the subject's id.
    """
    try:
        data: dict[str, object] = event_to_dict(event)
    except (TypeError, ValueError, AttributeError) as exc:
        raise EventError(f"event: cannot be stored: {exc}") from None
    if subject_id is None:
        data["erased"] = list(erased)
        data["kept"] = list(kept)
    else:
        data["subject"] = subject_id
    return _dumps(data)


class Record(NamedTuple):
    """One stored record, as every store keeps it.

    A named tuple, not an attrs class: every read makes one per stored row, and a tuple
    is made in one call (a frozen attrs class sets each of its ten fields in turn).

    Attributes:
        seq: Its position in the chain, from 1.
        kind: An event or an erasure.
        subject_tag: The keyed pseudonym of the subject.
        id_tag: The keyed tag of the event id (unique in the ledger).
        nonce: 16 random bytes; ``None`` once erased.
        payload: The canonical bytes; ``None`` once erased.
        digest: SHA-256 of nonce and payload; survives erasure.
        mac: The chain MAC over the previous MAC and this record.
        link: The position of the same subject's previous record (0: its first).
        prev_mac: As read, the stored MAC of the record before (``None``: not read, or
            there is no such row); never written, only used to check ``mac`` alone.
    """

    seq: int
    kind: RecordKind
    subject_tag: bytes
    id_tag: bytes
    nonce: bytes | None
    payload: bytes | None
    digest: bytes
    mac: bytes
    link: int = 0
    prev_mac: bytes | None = None


def _bad(seq: object, what: str) -> LedgerIntegrityError:
    where = seq if isinstance(seq, int) and not isinstance(seq, bool) else None
    name = f"record {where}" if where is not None else f"a record (seq {seq!r})"
    return LedgerIntegrityError(f"{name}: {what}", record=where)


def _blob(seq: object, name: str, value: object, size: int | None, *, null: bool = False) -> Any:
    if value is None and null:
        return None
    if isinstance(value, memoryview):
        value = value.tobytes()
    if not isinstance(value, bytes) or (size is not None and len(value) != size):
        wanted = "bytes" if size is None else f"{size} bytes"
        raise _bad(seq, f"column {name}: expected {wanted}, found {type(value).__name__}")
    return value


def record_from_row(row: Sequence[object], prev_mac: object = None) -> Record:
    """A record from a store's row ``(seq, kind, subject_tag, id_tag, nonce, payload, digest,
    mac, link)``, every column type-checked: an edited column type or value becomes a
    :class:`LedgerIntegrityError` naming the record, never a ``TypeError`` later.

    ``prev_mac`` is the stored MAC of record ``seq - 1`` where the store read it; a row
    of ten columns carries it as its last instead.

    Raises:
        LedgerIntegrityError: A column of the wrong type, size or range.
    """
    if len(row) == 10 and prev_mac is None:
        seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link, prev_mac = row
    elif len(row) == 9:
        seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link = row
    else:
        raise _bad(None, f"expected 9 columns (10 with the previous MAC), found {len(row)}")
    # Every read checks every column. The usual row passes one test per column (exact
    # types: a bool is no int, a memoryview is copied to bytes on the slow path below).
    if (
        type(seq) is int
        and 0 < seq < _U64
        and type(link) is int
        and 0 <= link < seq
        and type(kind) is int
        and (kind == 0 or kind == 1)  # noqa: PLR1714 - two cheap compares, no set
        and type(subject_tag) is bytes
        and len(subject_tag) == 32  # SHA-256 and HMAC-SHA-256 outputs
        and type(id_tag) is bytes
        and len(id_tag) == 32
        and type(digest) is bytes
        and len(digest) == 32
        and type(mac) is bytes
        and len(mac) == 32
        and type(payload) is bytes
        and type(nonce) is bytes
        and len(nonce) == NONCE_BYTES
        and (prev_mac is None or (type(prev_mac) is bytes and len(prev_mac) == 32))
    ):
        # Record._make, without its two Python calls.
        return _tuple(
            Record,
            (seq, _KINDS[kind], subject_tag, id_tag, nonce, payload, digest, mac, link, prev_mac),
        )
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < _U64:
        raise _bad(None, f"column seq: expected a position from 1, found {seq!r}")
    if not isinstance(kind, int) or isinstance(kind, bool) or kind not in (0, 1):
        raise _bad(seq, f"unknown kind {kind!r}")
    if not isinstance(link, int) or isinstance(link, bool) or not 0 <= link < seq:
        raise _bad(seq, f"column link: expected a position before {seq}, found {link!r}")
    nonce = _blob(seq, "nonce", nonce, NONCE_BYTES, null=True)
    payload = _blob(seq, "payload", payload, None, null=True)
    prev = None if prev_mac is None else _blob(seq - 1, "mac", prev_mac, 32)
    return Record(
        seq=seq,
        kind=RecordKind(kind),
        subject_tag=_blob(seq, "subject_tag", subject_tag, 32),
        id_tag=_blob(seq, "id_tag", id_tag, 32),
        nonce=nonce,
        payload=payload,
        digest=_blob(seq, "digest", digest, 32),
        mac=_blob(seq, "mac", mac, 32),
        link=link,
        prev_mac=prev,
    )


_KINDS = (RecordKind.EVENT, RecordKind.ERASURE)


def seal_record(
    key: LedgerKey,
    prev: bytes,
    seq: int,
    kind: RecordKind,
    subject_tag: bytes,
    id_tag: bytes,
    payload: bytes,
    link: int,
) -> Record:
    """A new record chained after ``prev`` and after its subject's record at ``link``."""
    nonce = os.urandom(NONCE_BYTES)
    digest = hashlib.sha256(nonce + payload).digest()
    return Record(
        seq=seq,
        kind=kind,
        subject_tag=subject_tag,
        id_tag=id_tag,
        nonce=nonce,
        payload=payload,
        digest=digest,
        mac=key.mac(prev, seq, kind, subject_tag, id_tag, digest, link),
        link=link,
        prev_mac=prev,
    )


class Decoded(NamedTuple):
    """A record's payload, read back (a named tuple: one per record read, made in one call).

    Attributes:
        subject: The subject id; ``None`` for an erasure record.
        event: The event, with the id and ``recorded_at`` the ledger stamped.
        erased: For an erasure record, the positions it erased.
        kept: For an erasure record, the positions it kept as proof of consent.
    """

    subject: str | None
    event: Event
    erased: tuple[int, ...] = ()
    kept: tuple[int, ...] = ()


def _positions(value: object, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in value
    ):
        raise EventError(f"{where}: expected a list of record positions")
    return tuple(value)


_decoder = json.JSONDecoder()
# The decoder's scanner (C where available), set by JSONDecoder(); typeshed leaves it out.
_scan_json: Callable[[str, int], tuple[Any, int]] = _decoder.scan_once  # type: ignore[attr-defined]


def decode(record: Record) -> Decoded:
    """Read a record's payload.

    Raises:
        EventError: The payload is missing or is not a record of its kind (a naive
            timestamp and JSON nested too deeply included); the message names the record.
    """
    payload = record.payload
    if payload is None:
        raise EventError(f"record {record.seq}: erased")
    try:
        # The ledger writes UTF-8 (canonical): decoded as such, without json.loads'
        # detection of other encodings, which no record of ours can need. A canonical
        # payload has no space around its value: scanned at once. Anything else (space,
        # or text after the value) goes through the decoder's entry point, which allows
        # space and refuses trailing text, as before.
        text = payload.decode("utf-8")
        try:
            data, end = _scan_json(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            data = _decoder.decode(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError, JSONDecodeError among them
        raise EventError(f"record {record.seq}: not valid JSON") from None
    if type(data) is not dict:
        raise EventError(f"record {record.seq}: expected a JSON object")
    if record.kind is not RecordKind.EVENT:
        return _erasure(record.seq, data)
    subject = data.get("subject")
    if type(subject) is not str or not subject:
        raise EventError(f"record {record.seq}.subject: expected the subject id")
    try:
        event = read_usual_event(data)
    except Exception:  # noqa: BLE001 - read the general way, which says what and where
        event = _event(data, f"record {record.seq}")
    return _tuple(Decoded, (subject, event, (), ()))  # Decoded._make, without its calls


def _erasure(seq: int, data: dict[str, object]) -> Decoded:
    where = f"record {seq}"
    erased = _positions(data.pop("erased", None), f"{where}.erased")
    kept = _positions(data.pop("kept", None), f"{where}.kept")
    event = _event(data, where)
    if not isinstance(event, Erasure) or "subject" in data:
        raise EventError(f"{where}: an erasure record holds one erasure and no subject")
    return Decoded(None, event, erased, kept)


def _event(data: dict[str, object], where: str) -> Event:
    """:func:`event_from_dict`, a naive timestamp an :class:`EventError` too: in a record,
    it is content that does not read, like any other.
    """
    try:
        return event_from_dict(data, where=where)
    except NaiveDatetimeError as exc:
        raise EventError(str(exc)) from None
