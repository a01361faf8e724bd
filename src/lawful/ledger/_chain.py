"""The chain of a ledger, independent of where records are stored.

Everything a store must agree on byte for byte lives here, so that the memory,
SQLite and PostgreSQL ledgers write the same records and one verifier checks them:

- **Canonical form**: ``{"subject": id, **event_to_dict(event)}`` (the JSON of the CLI's
  JSON Lines) with every timestamp in UTC, keys sorted, no spaces, UTF-8.
- **Keys**: one secret kept outside the store; sub-keys for the chain, the subject
  pseudonyms, event-id tags and the key check are derived from it with HMAC-SHA256,
  so that no two uses share a key.
- **Records**: ``digest = SHA-256(nonce || payload)`` with a fresh 16-byte random nonce;
  ``mac = HMAC(chain key, prev mac || seq || kind || subject tag || id tag || digest)``.
  Erasure drops nonce and payload and keeps the digest: the chain still verifies, and
  without the nonce the digest cannot be brute-forced back to the data.
- **Head**: the record count and the last MAC; the store also keeps it sealed with the key.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import attrs

from lawful._json import event_from_dict, event_to_dict
from lawful.events import (
    AgeDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    Erasure,
    Event,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
)
from lawful.exceptions import EventError, LedgerKeyError

__all__ = [
    "FORMAT",
    "GENESIS",
    "MIN_KEY_BYTES",
    "PROOF_TYPES",
    "Decoded",
    "Head",
    "LedgerKey",
    "Record",
    "RecordKind",
    "canonical",
    "decode",
    "seal_record",
    "stored_form",
]

FORMAT = b"lawful-ledger/1"
"""Domain separation for every MAC: a new chain format gets a new string."""
MIN_KEY_BYTES = 32
NONCE_BYTES = 16
E = TypeVar("E", bound=Event)
GENESIS = bytes(32)
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
        hash: The MAC of the last record, in hex (64 zeros for an empty ledger).
    """

    count: int
    hash: str

    def __str__(self) -> str:
        return f"{self.count}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        """Read ``COUNT:HASH``, as ``str(head)`` writes it.

        Raises:
            LedgerKeyError: Not of that form.
        """
        count, sep, digest = text.strip().partition(":")
        try:
            value = int(count)
            bytes.fromhex(digest)
        except ValueError:
            value = -1
        if not sep or value < 0 or len(digest) != 64:
            raise LedgerKeyError(f"head: expected COUNT:HASH (64 hex digits), got {text!r}")
        return cls(value, digest.lower())


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hmac.digest(secret, FORMAT + b" " + purpose, "sha256")


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

    @classmethod
    def from_bytes(cls, secret: bytes) -> LedgerKey:
        """A key from at least 32 bytes of secret (for example ``secrets.token_bytes(32)``).

        Raises:
            LedgerKeyError: Fewer than 32 bytes.
        """
        given: object = secret  # callers without a type checker pass str, too
        if not isinstance(given, bytes | bytearray):
            raise LedgerKeyError(f"ledger key: expected bytes, got {type(given).__name__}")
        if len(given) < MIN_KEY_BYTES:
            raise LedgerKeyError(
                f"ledger key: expected at least {MIN_KEY_BYTES} bytes of secret, got {len(given)}"
            )
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

        Raises:
            LedgerKeyError: The file cannot be read or holds fewer than 32 bytes.
        """
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise LedgerKeyError(
                f"ledger key: cannot read {os.fspath(path)}: {exc.strerror}"
            ) from None
        return cls.from_bytes(data.rstrip())

    def __repr__(self) -> str:
        return "LedgerKey(<secret>)"

    def subject_tag(self, subject_id: str) -> bytes:
        """The keyed pseudonym of a subject id: how records find their subject."""
        return hmac.digest(self.subject, _utf8(subject_id, "subject"), "sha256")

    def id_tag(self, subject_tag: bytes, event_id: str) -> bytes:
        """The keyed tag of an event id, per subject: appends are idempotent by it."""
        return hmac.digest(self.event_id, subject_tag + _utf8(event_id, "id"), "sha256")

    def derive_id(self, payload: bytes) -> str:
        """The id of an event that came without one: a keyed digest of its canonical form,
        so that appending the same fact twice stores it once.
        """
        return "lw-" + hmac.digest(self.event_id, b"derive " + payload, "sha256").hex()[:32]

    def mac(
        self,
        prev: bytes,
        seq: int,
        kind: RecordKind,
        subject_tag: bytes,
        id_tag: bytes,
        digest: bytes,
    ) -> bytes:
        """The MAC of a record; every input has a fixed length, so none can bleed into another."""
        message = prev + seq.to_bytes(8, "big") + bytes((kind,)) + subject_tag + id_tag + digest
        return hmac.digest(self.chain, message, "sha256")

    def seal(self, count: int, mac: bytes) -> bytes:
        """The seal of a head, kept by the store next to it."""
        return hmac.digest(self.chain, b"head" + count.to_bytes(8, "big") + mac, "sha256")


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
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
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
    data: dict[str, object] = event_to_dict(event)
    if subject_id is None:
        data["erased"] = list(erased)
        data["kept"] = list(kept)
    else:
        data["subject"] = subject_id
    return _dumps(data)


@attrs.frozen
class Record:
    """One stored record, as every store keeps it.

    Attributes:
        seq: Its position in the chain, from 1.
        kind: An event or an erasure.
        subject_tag: The keyed pseudonym of the subject.
        id_tag: The keyed tag of the event id (unique in the ledger).
        nonce: 16 random bytes; ``None`` once erased.
        payload: The canonical bytes; ``None`` once erased.
        digest: SHA-256 of nonce and payload; survives erasure.
        mac: The chain MAC over the previous MAC and this record.
    """

    seq: int
    kind: RecordKind
    subject_tag: bytes
    id_tag: bytes
    nonce: bytes | None
    payload: bytes | None
    digest: bytes
    mac: bytes


def seal_record(
    key: LedgerKey,
    prev: bytes,
    seq: int,
    kind: RecordKind,
    subject_tag: bytes,
    id_tag: bytes,
    payload: bytes,
) -> Record:
    """A new record chained after ``prev``."""
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
        mac=key.mac(prev, seq, kind, subject_tag, id_tag, digest),
    )


@attrs.frozen
class Decoded:
    """A record's payload, read back.

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


def decode(record: Record) -> Decoded:
    """Read a record's payload.

    Raises:
        EventError: The payload is missing or is not a record of its kind; the
            message names the record.
    """
    where = f"record {record.seq}"
    if record.payload is None:
        raise EventError(f"{where}: erased")
    try:
        data = json.loads(record.payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise EventError(f"{where}: not valid JSON") from None
    if not isinstance(data, dict):
        raise EventError(f"{where}: expected a JSON object")
    if record.kind is RecordKind.ERASURE:
        erased = _positions(data.pop("erased", None), f"{where}.erased")
        kept = _positions(data.pop("kept", None), f"{where}.kept")
        event = event_from_dict(data, where=where)
        if not isinstance(event, Erasure) or "subject" in data:
            raise EventError(f"{where}: an erasure record holds one erasure and no subject")
        return Decoded(None, event, erased, kept)
    subject = data.get("subject")
    if not isinstance(subject, str) or not subject:
        raise EventError(f"{where}.subject: expected the subject id")
    return Decoded(subject, event_from_dict(data, where=where))
