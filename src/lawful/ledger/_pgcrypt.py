"""Per-subject data keys of a PostgreSQL ledger: erasure by destroying a key.

Each subject's event records are stored encrypted with AES-256-GCM under a data key of
its own; the data key is stored in ``ledger_keys`` wrapped (AES-256-GCM again) by a
wrapping key derived from the ledger key, which never enters the database. Erasure
deletes the subject's wrapped keys ("crypto-shredding"): every copy of its records that
the server made — WAL, archive, replicas, base backups, dumps of the tables — holds
ciphertext that nothing can open once the copies of the wrapped key are gone too (see
``docs/postgres.md`` for where those are).

- **Two keys per subject**: one for the records erasure may keep as proof of consent
  (:data:`lawful.ledger.PROOF_TYPES`, by the stored event's type) and one for the
  others, so that ``erase(..., keep_proof=True)`` destroys only the second.
- **What is encrypted**: the record's 16-byte digest nonce and its canonical payload.
  The chain is unchanged — ``digest = SHA-256(nonce || payload)`` and the MAC over it —
  so an encrypted ledger's chain is byte for byte a plaintext one's, ``verify`` checks
  every MAC without a data key, and encrypting a plaintext ledger re-seals nothing (its
  anchored heads stay valid). A record whose key is gone reads as erased (no nonce, no
  payload: the digest stays a commitment nobody can open), exactly as a scrubbed one.
- **Bound to its place**: the ciphertext's associated data is its position, kind,
  subject tag, id tag, digest and key id; a wrapped key's is its key id and subject
  tag. Ciphertext edited, moved to another record or re-keyed fails
  authentication: a :class:`lawful.LedgerIntegrityError` naming the record.
- **Nonces never repeat under a key**: each encryption draws 96 random bits (the
  random construction of NIST SP 800-38D, at most 2**32 uses per key). A data key
  encrypts one subject's records — thousands at most — and the wrapping key one data
  key per subject and class: a collision needs about 2**48 uses of one key. Positions
  are not used as nonces: a rolled-back write leaves its ciphertext in the WAL, and its
  position is used again.

Erasure records (the fact and time of an erasure, under a pseudonym, never erased) are
stored in clear: they hold no subject id.
"""

from __future__ import annotations

import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence

import attrs
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lawful.exceptions import LedgerIntegrityError
from lawful.ledger._chain import PROOF_TYPES, LedgerKey, Record, RecordKind, record_from_row

__all__ = ["KEY_ID_BYTES", "Crypt", "DataKey", "is_proof"]

VERSION = b"\x01"
"""The first byte of every ciphertext and wrapped key this lawful writes."""
KEY_ID_BYTES = 16
_NONCE = 12
_TAG = 16
_DIGEST_NONCE = 16
_CACHE = 4096
"""Unwrapped data keys kept per ledger object (a read of a subject unwraps once)."""
_PROOF_NAMES = frozenset(cls.event_type for cls in PROOF_TYPES)


def is_proof(payload: bytes) -> bool:
    """Whether a record's canonical payload is an event erasure may keep as proof."""
    data = json.loads(payload)
    return isinstance(data, dict) and data.get("type") in _PROOF_NAMES


@attrs.frozen
class DataKey:
    """A subject's data key, as stored: its id, class and wrapped form.

    Attributes:
        key_id: 16 random bytes, the ``ledger_keys`` primary key.
        subject_tag: The subject's keyed pseudonym (bound into the wrapping).
        proof: Whether it encrypts the records erasure may keep as proof.
        wrapped: The key encrypted under the ledger's wrapping key.
    """

    key_id: bytes
    subject_tag: bytes
    proof: bool
    wrapped: bytes


_PLACEHOLDER = bytes(_DIGEST_NONCE)
"""The nonce of content that did not decrypt (with an empty payload): SHA-256 of these 16
zero bytes is no record's digest, so every check of the chain refuses it."""


def _content(record: Record, nonce: bytes | None, payload: bytes | None) -> Record:
    """The record with this nonce and payload (``attrs.evolve`` costs more, per record)."""
    return Record(
        record.seq,
        record.kind,
        record.subject_tag,
        record.id_tag,
        nonce,
        payload,
        record.digest,
        record.mac,
        record.link,
        record.prev_mac,
    )


def _bad(seq: int, what: str) -> LedgerIntegrityError:
    return LedgerIntegrityError(f"record {seq}: {what}", record=seq)


def _key_bad(seq: int | None, subject_tag: bytes, what: str) -> LedgerIntegrityError:
    if seq is not None:
        return _bad(seq, f"its subject's data key {what}")
    # A write, before any record: the subject is named by its pseudonym, never its id.
    return LedgerIntegrityError(f"the data key of pseudonym {subject_tag.hex()} {what}")


class Crypt:
    """The ledger's wrapping key, and the sealing and opening of stored records.

    Args:
        key: The ledger key; the wrapping key is derived from it (HKDF-SHA-256 over its
            chain sub-key, with an ``info`` no other use shares).
        enabled: Whether new event records are encrypted (a ledger created with
            ``encrypt=True``, or one being encrypted); plaintext event records are
            refused on read unless ``plaintext`` allows them.
        plaintext: Whether event records stored in clear may be read (a plaintext ledger,
            or one whose encryption has not finished).
    """

    def __init__(self, key: LedgerKey, *, enabled: bool, plaintext: bool) -> None:
        wrap = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=b"lawful-ledger/1 data-key wrap",
        ).derive(key.chain)
        self._wrap = AESGCM(wrap)
        self.enabled = enabled
        self.plaintext = plaintext
        self._keys: OrderedDict[tuple[bytes, bytes], AESGCM] = OrderedDict()
        self._lock = threading.Lock()  # the cache is shared by the ledger's threads

    def __repr__(self) -> str:
        return "<ledger data-key wrapping>"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a ledger's wrapping key is not pickled")

    # -- keys ------------------------------------------------------------------------

    @staticmethod
    def _key_aad(key_id: bytes, subject_tag: bytes) -> bytes:
        # The class (proof or not) is left out: it only picks the key a new record uses;
        # which keys an erasure destroys follows from the records it erases.
        return b"lawful-ledger/1 data key" + key_id + subject_tag

    def new_key(self, subject_tag: bytes, *, proof: bool) -> tuple[DataKey, AESGCM]:
        """A fresh data key for a subject and class, and its cipher."""
        secret = AESGCM.generate_key(bit_length=256)
        key_id = os.urandom(KEY_ID_BYTES)
        nonce = os.urandom(_NONCE)
        wrapped = (
            VERSION + nonce + self._wrap.encrypt(nonce, secret, self._key_aad(key_id, subject_tag))
        )
        cipher = AESGCM(secret)
        self._remember(key_id, wrapped, cipher)
        return DataKey(key_id, subject_tag, proof, wrapped), cipher

    def _remember(self, key_id: bytes, wrapped: bytes, cipher: AESGCM) -> None:
        with self._lock:
            self._keys[key_id, wrapped] = cipher
            self._keys.move_to_end((key_id, wrapped))
            while len(self._keys) > _CACHE:
                self._keys.popitem(last=False)

    def cipher(self, seq: int | None, key_id: bytes, subject_tag: bytes, wrapped: object) -> AESGCM:
        """The cipher of a stored data key (``seq``: the record that needs it, ``None``:
        a write that may need it for the subject of ``subject_tag``).

        Cached by key id *and* wrapped form: a key deleted from ``ledger_keys`` is never
        found again through the cache, since a read finds it only by its stored row.

        Raises:
            LedgerIntegrityError: The wrapped key is malformed or does not unwrap for this
                subject (edited, moved, or another ledger's).
        """
        if isinstance(wrapped, memoryview):
            wrapped = wrapped.tobytes()
        if not isinstance(wrapped, bytes):
            raise _key_bad(seq, subject_tag, f"is malformed ({type(wrapped).__name__})")
        with self._lock:
            found = self._keys.get((key_id, wrapped))
        if found is not None:
            return found
        if len(wrapped) != 1 + _NONCE + 32 + _TAG or wrapped[:1] != VERSION:
            raise _key_bad(seq, subject_tag, "is malformed")
        try:
            secret = self._wrap.decrypt(
                wrapped[1 : 1 + _NONCE], wrapped[1 + _NONCE :], self._key_aad(key_id, subject_tag)
            )
        except InvalidTag:
            raise _key_bad(
                seq,
                subject_tag,
                "does not unwrap: edited, moved to another subject, or written with another "
                "ledger key",
            ) from None
        cipher = AESGCM(secret)
        self._remember(key_id, wrapped, cipher)
        return cipher

    # -- records ---------------------------------------------------------------------

    @staticmethod
    def _aad(record: Record, key_id: bytes) -> bytes:
        return (
            b"lawful-ledger/1 record"
            + record.seq.to_bytes(8, "big")
            + bytes((record.kind,))
            + record.subject_tag
            + record.id_tag
            + record.digest
            + key_id
        )

    def seal(self, record: Record, key: DataKey, cipher: AESGCM) -> bytes:
        """The stored payload of an event record: its nonce and payload encrypted."""
        if record.nonce is None or record.payload is None:
            raise ValueError("only a record with content is encrypted")
        nonce = os.urandom(_NONCE)
        plain = record.nonce + record.payload
        return VERSION + nonce + cipher.encrypt(nonce, plain, self._aad(record, key.key_id))

    def open(self, row: Sequence[object], *, strict: bool = True) -> Record:
        """A record from a row ``(seq, kind, subject_tag, id_tag, nonce, payload, digest,
        mac, link, prev_mac, key_id, wrapped)``, decrypted where it is encrypted.

        An encrypted record whose key is gone (erased) comes back with neither nonce nor
        payload, as a scrubbed one: the chain's checks then require an erasure record
        of its subject to list it.

        Args:
            row: The row, as the store's record queries select it.
            strict: Raise for content that does not decrypt (a read of a subject, a
                proof, a write). ``False`` (a scan that verifies): return the record with
                an empty nonce and payload instead, which fails the digest check of every
                reader (``SHA-256`` of nothing is no record's digest), so that ``verify``
                names it and goes on to list every other problem.

        Raises:
            LedgerIntegrityError: A column of the wrong type; an encrypted record that does
                not decrypt (edited, moved, re-keyed), where ``strict``; an event record
                stored in clear in an encrypted ledger.
        """
        key_id, wrapped = row[10], row[11]
        if key_id is None:
            record = record_from_row(row[:9], row[9])
            if (
                record.kind is RecordKind.EVENT
                and record.payload is not None
                and not self.plaintext
            ):
                if not strict:
                    return _content(record, _PLACEHOLDER, b"")
                raise _bad(
                    record.seq, "stored in clear in an encrypted ledger: not written by lawful"
                )
            return record
        seq, kind, subject_tag, id_tag, nonce, payload, digest, mac, link = row[:9]
        # Typed by the chain's own checks first, with a placeholder for the content (it is
        # ciphertext): the usual row then takes their fast path.
        base = record_from_row(
            (seq, kind, subject_tag, id_tag, _PLACEHOLDER, b"", digest, mac, link), row[9]
        )
        if isinstance(key_id, memoryview):
            key_id = key_id.tobytes()
        if isinstance(payload, memoryview):
            payload = payload.tobytes()
        if not isinstance(key_id, bytes) or len(key_id) != KEY_ID_BYTES:
            raise _bad(base.seq, f"column key_id: expected {KEY_ID_BYTES} bytes")
        if base.kind is not RecordKind.EVENT or nonce is not None:
            raise _bad(base.seq, "encrypted, but not an event record with its nonce inside")
        if payload is None or wrapped is None:
            return _content(base, None, None)  # scrubbed, or its key destroyed: erased
        try:
            if (
                not isinstance(payload, bytes)
                or len(payload) < 1 + _NONCE + _TAG + _DIGEST_NONCE
                or payload[:1] != VERSION
            ):
                raise _bad(base.seq, "its encrypted content is malformed")
            cipher = self.cipher(base.seq, key_id, base.subject_tag, wrapped)
            try:
                plain = cipher.decrypt(
                    payload[1 : 1 + _NONCE], payload[1 + _NONCE :], self._aad(base, key_id)
                )
            except InvalidTag:
                raise _bad(
                    base.seq,
                    "its encrypted content does not verify: edited, moved, or under another key",
                ) from None
        except LedgerIntegrityError:
            if strict:
                raise
            return _content(base, _PLACEHOLDER, b"")
        return _content(base, plain[:_DIGEST_NONCE], plain[_DIGEST_NONCE:])
