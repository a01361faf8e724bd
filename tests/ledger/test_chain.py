"""The chain every store shares: canonical bytes, keys, pseudonyms, MACs, heads.

The vectors here pin the format byte for byte: another store (PostgreSQL) must write
records these tests would accept, and a change to any of them is a new chain format.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

from lawful import ConsentGiven, ConsentMethod, Erasure, Event
from lawful.exceptions import EventError, LedgerIntegrityError, LedgerKeyError
from lawful.ledger import Head, LedgerKey, MemoryLedger, SQLiteLedger
from lawful.ledger._chain import (
    GENESIS,
    Record,
    RecordKind,
    _Keyed,
    canonical,
    decode,
    seal_record,
    stored_form,
)
from lawful.ledger._core import LedgerCore

SECRET = bytes(range(32))
KEY = LedgerKey.from_bytes(SECRET)
CET = timezone(timedelta(hours=1))
EVENT = ConsentGiven(at=datetime(2025, 3, 1, 10, tzinfo=CET), purpose="analytics", id="c-1")
RECORDED = datetime(2025, 3, 1, 9, 0, 0, 5, tzinfo=UTC)


def sub_key(purpose: bytes) -> bytes:
    return hmac.digest(SECRET, b"lawful-ledger/1 " + purpose, "sha256")


def test_canonical_form_is_sorted_compact_utc_json() -> None:
    """The canonical bytes: the CLI's JSON of the event plus the subject, keys sorted, UTC."""
    stored = stored_form(EVENT, event_id="c-1", recorded_at=RECORDED.astimezone(CET))
    assert canonical("visitor-1", stored) == (
        b'{"at":"2025-03-01T09:00:00+00:00","explicit":false,"id":"c-1",'
        b'"method":"unspecified","purpose":"analytics",'
        b'"recorded_at":"2025-03-01T09:00:00.000005+00:00","subject":"visitor-1",'
        b'"type":"consent_given"}'
    )


def test_an_erasure_record_names_positions_not_the_subject() -> None:
    """An erasure's canonical form lists what it erased and kept, and no subject id."""
    erasure = stored_form(Erasure(at=RECORDED), event_id="e-1", recorded_at=RECORDED)
    assert canonical(None, erasure, erased=[1, 3], kept=[2]) == (
        b'{"at":"2025-03-01T09:00:00.000005+00:00","erased":[1,3],"id":"e-1","kept":[2],'
        b'"recorded_at":"2025-03-01T09:00:00.000005+00:00","type":"erasure"}'
    )


def test_the_same_instant_in_any_zone_is_the_same_bytes() -> None:
    """Canonical bytes do not depend on the zone an instant was written in."""
    utc = stored_form(EVENT, event_id="c-1", recorded_at=None)
    other = stored_form(
        ConsentGiven(at=EVENT.at.astimezone(UTC), purpose="analytics", id="c-1"),
        event_id="c-1",
        recorded_at=None,
    )
    assert canonical("v", utc) == canonical("v", other)


def test_keys_pseudonyms_and_macs_follow_the_documented_formulas() -> None:
    """Sub-keys, subject tags, id tags and MACs are the HMAC-SHA256 constructions documented."""
    subject_tag = hmac.digest(sub_key(b"subject"), b"visitor-1", "sha256")
    id_tag = hmac.digest(sub_key(b"event-id"), subject_tag + b"c-1", "sha256")
    body = GENESIS + (1).to_bytes(8, "big") + b"\x00" + subject_tag + id_tag + bytes(32)
    mac_v1 = hmac.digest(sub_key(b"chain"), body, "sha256")
    # Format 2: a leading 0x02, and the link to the subject's previous record (here 7).
    mac = hmac.digest(sub_key(b"chain"), b"\x02" + body + (7).to_bytes(8, "big"), "sha256")
    assert KEY.subject_tag("visitor-1") == subject_tag
    assert KEY.id_tag(subject_tag, "c-1") == id_tag
    assert KEY.mac_v1(GENESIS, 1, RecordKind.EVENT, subject_tag, id_tag, bytes(32)) == mac_v1
    assert KEY.mac(GENESIS, 1, RecordKind.EVENT, subject_tag, id_tag, bytes(32), 7) == mac
    # Fixed vectors, for stores written in other languages or by other helpers.
    assert subject_tag.hex() == "17ba1d480248df737d8aaafa681f7a375ba9569a73803b203e6e41a3b411489b"
    assert id_tag.hex() == "76a40190fa6a95ce82209b93a4d6920f0b0764c322f788946afdccc17f2c1493"
    assert mac_v1.hex() == "497b882a7ebec1e0979d7d4132a176cec40164438d84965e6bb66c3fb1d89f2f"
    assert mac.hex() == "9abbbf535dc83e576a7b9e326e17244202279a539af52c8c5d570f881d5689a4"


def test_an_id_derived_from_content_is_stable_and_keyed() -> None:
    """An event without an id gets the same id every time, and another key gives another."""
    unnamed = canonical("visitor-1", stored_form(EVENT, event_id=None, recorded_at=None))
    assert KEY.derive_id(unnamed) == "lw-7290b41b134cb653baef27d6ead7b2fa"
    assert LedgerKey.from_bytes(bytes(range(2, 34))).derive_id(unnamed) != KEY.derive_id(unnamed)


def test_a_sealed_record_chains_its_digest_of_nonce_and_payload() -> None:
    """A record's digest hashes a fresh nonce with the payload; its MAC chains the digest."""
    payload = b'{"type":"erasure"}'
    first = seal_record(KEY, GENESIS, 1, RecordKind.EVENT, b"s" * 32, b"i" * 32, payload, 0)
    second = seal_record(KEY, GENESIS, 1, RecordKind.EVENT, b"s" * 32, b"i" * 32, payload, 0)
    assert first.nonce is not None
    assert first.digest == hashlib.sha256(first.nonce + payload).digest()
    assert first.nonce != second.nonce
    assert first.digest != second.digest
    assert first.mac == KEY.mac(GENESIS, 1, RecordKind.EVENT, b"s" * 32, b"i" * 32, first.digest, 0)


@pytest.mark.parametrize(
    ("kind", "payload", "message"),
    [
        (RecordKind.EVENT, None, "record 4: erased"),
        (RecordKind.EVENT, b"{", "record 4: not valid JSON"),
        (RecordKind.EVENT, b"[]", "record 4: expected a JSON object"),
        (RecordKind.EVENT, b'{"type":"erasure","at":"2025-01-01T00:00:00+00:00"}', "subject"),
        (RecordKind.ERASURE, b'{"type":"erasure","erased":[0],"kept":[]}', "positions"),
        (
            RecordKind.ERASURE,
            (
                b'{"type":"opt_out","scope":"all","at":"2025-01-01T00:00:00+00:00",'
                b'"erased":[],"kept":[]}'
            ),
            "one erasure and no subject",
        ),
    ],
)
def test_unreadable_payloads_name_their_record(
    kind: RecordKind, payload: bytes | None, message: str
) -> None:
    """decode() refuses what is not a record of its kind, saying which record."""
    record = Record(4, kind, b"", b"", None if payload is None else b"n", payload, b"", b"")
    with pytest.raises(EventError, match=message):
        decode(record)


def test_heads_print_and_parse() -> None:
    """A head prints as COUNT:HASH and parses back."""
    head = Head(3, "ab" * 32)
    assert str(head) == "3:" + "ab" * 32
    assert Head.parse(f" 3:{'AB' * 32}\n") == head


def test_sharded_heads_print_and_parse() -> None:
    """A sharded ledger's head prints as COUNT:HASH:C0,C1,... and parses back."""
    head = Head(5, "ab" * 32, (2, 0, 3))
    assert str(head) == "5:" + "ab" * 32 + ":2,0,3"
    assert Head.parse(str(head)) == head


@pytest.mark.parametrize(
    "text",
    [
        "",
        "3",
        "x:" + "ab" * 32,
        "-1:" + "ab" * 32,
        "3:abc",
        "3:" + "zz" * 32,
        "3:" + "ab" * 32 + ":1,1",  # shard counts that do not add up
        "3:" + "ab" * 32 + ":3",  # one shard is a single chain: COUNT:HASH
        "3:" + "ab" * 32 + ":1,x",
        "0:" + "ab" * 32 + ":1,-1",
    ],
)
def test_malformed_heads_are_refused(text: str) -> None:
    """Anything but COUNT:HASH with 64 hex digits (and shard counts adding up) is refused."""
    with pytest.raises(LedgerKeyError, match="COUNT:HASH"):
        Head.parse(text)


def test_a_key_file_is_read_without_its_trailing_newline(tmp_path: Path) -> None:
    """A key file holding a hex line gives the key of that line's bytes."""
    line = "a1" * 32
    (tmp_path / "key").write_text(line + "\n")
    from_file = LedgerKey.from_file(tmp_path / "key")
    assert from_file == LedgerKey.from_bytes(line.encode())
    assert repr(from_file) == "LedgerKey(<secret>)"
    assert line not in repr(from_file)


def test_a_missing_or_short_key_file_is_refused(tmp_path: Path) -> None:
    """A key file that cannot be read, or holds under 32 bytes, is refused."""
    with pytest.raises(LedgerKeyError, match="cannot read"):
        LedgerKey.from_file(tmp_path / "nope")
    (tmp_path / "short").write_bytes(b"x" * 31 + b"\n")
    with pytest.raises(LedgerKeyError, match="at least 32 bytes"):
        LedgerKey.from_file(tmp_path / "short")


def test_unencodable_text_is_an_event_error() -> None:
    """A lone surrogate in an event cannot be serialised, and says so."""
    event = ConsentGiven(at=EVENT.at, purpose="\udc80")
    with pytest.raises(EventError, match="UTF-8"):
        canonical("v", stored_form(event, event_id="c", recorded_at=None))


@pytest.mark.parametrize("size", [0, 1, 32, 63, 64, 65, 200])
def test_the_prepared_hmac_is_hmac_sha256(size: int) -> None:
    """A ledger key's HMAC, prepared once per key, gives hmac.digest's bytes for any key
    length (longer than a block: hashed first) and any message.
    """
    secret = bytes(range(size))
    for message in (b"", b"abc", bytes(range(256)) * 3):
        assert _Keyed(secret).digest(message) == hmac.digest(secret, message, "sha256")


# -- reads check content, not only MACs ------------------------------------------------------
# A MAC proves who wrote a record, not that it is well-formed: a writer holding the key
# (a bug, another tool) may seal content that does not read. Every read refuses it, naming
# the record, as a LedgerIntegrityError (never a bare NaiveDatetimeError or RecursionError).

FORGED_AT = datetime(2025, 3, 2, 9, tzinfo=UTC)
FORGED = ConsentGiven(at=FORGED_AT, purpose="analytics", id="c-2", method=ConsentMethod.BANNER)
SEALED_CASES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "empty purpose": (
        lambda p: p.replace(b'"purpose":"analytics"', b'"purpose":""'),
        r"consent_given\.purpose: expected a non-empty string",
    ),
    "naive at": (
        lambda p: p.replace(b'"at":"2025-03-02T09:00:00+00:00"', b'"at":"2025-03-02T09:00:00"'),
        r"record 2\.at: naive datetime",
    ),
    "instant past year 9999": (
        lambda p: p.replace(b'"at":"2025-03-02T09:00:00+00:00"', b'"at":"9999-12-31T23:30-01:00"'),
        r"outside the years 1 to 9999",
    ),
    "unknown key": (
        lambda p: p.replace(b'"explicit":false', b'"colour":"red","explicit":false'),
        r"record 2\.colour: unknown key",
    ),
    "null for a flag": (
        lambda p: p.replace(b'"explicit":false', b'"explicit":null'),
        r"record 2\.explicit: expected true or false",
    ),
    "number for a method": (
        lambda p: p.replace(b'"method":"banner"', b'"method":1'),
        r"record 2\.method: expected a consent method",
    ),
    "trailing text": (lambda p: p + b"x", r"not valid JSON"),
    "nested too deeply": (lambda _: b"[" * 100_000 + b"]" * 100_000, r"not valid JSON"),
    "not an object": (lambda _: b"[]", r"expected a JSON object"),
    "empty subject": (
        lambda p: p.replace(b'"subject":"s"', b'"subject":""'),
        r"record 2\.subject: expected the subject id",
    ),
    "no subject": (
        lambda p: p.replace(b',"subject":"s"', b""),
        r"record 2\.subject: expected the subject id",
    ),
    "a subject with no UTF-8": (
        lambda p: p.replace(b'"subject":"s"', b'"subject":"\\udc80"'),
        r"record 2: unreadable content: subject: not encodable as UTF-8",
    ),
    "an id with no UTF-8": (
        lambda p: p.replace(b'"id":"c-2"', b'"id":"\\udc80"'),
        r"record 2: unreadable content: id: not encodable as UTF-8",
    ),
    "another subject": (
        lambda p: p.replace(b'"subject":"s"', b'"subject":"t"'),
        r"its subject does not match its pseudonym",
    ),
    "another id": (
        lambda p: p.replace(b'"id":"c-2"', b'"id":"c-3"'),
        r"its event id does not match its tag",
    ),
}


@pytest.fixture(params=["memory", "sqlite"])
def forged(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerCore]:
    """A memory or SQLite ledger (the stores that share LedgerCore's appends)."""
    ledger: LedgerCore
    if request.param == "memory":
        ledger = MemoryLedger(key=SECRET)
    else:
        ledger = SQLiteLedger(tmp_path / "forged.db", key=SECRET)
    with ledger:
        yield ledger


def _seal_rewritten(
    ledger: LedgerCore, monkeypatch: pytest.MonkeyPatch, rewrite: Callable[[bytes], bytes]
) -> None:
    """Make the ledger's next append seal its canonical payload rewritten: a writer with
    the key sealing content that does not read. The MAC, digest and tags are all valid.
    """

    def sealed(
        subject_id: str,
        subject_tag: bytes,
        id_tag: bytes,
        event: Event,
        chain: tuple[int, bytes, int],
    ) -> Record:
        seq, mac, link = chain
        payload = rewrite(canonical(subject_id, event))
        return seal_record(
            ledger._key, mac, seq, RecordKind.EVENT, subject_tag, id_tag, payload, link
        )

    monkeypatch.setattr(ledger, "_event_record", sealed)


@pytest.mark.parametrize(("rewrite", "message"), SEALED_CASES.values(), ids=list(SEALED_CASES))
def test_a_sealed_record_that_does_not_read_is_an_integrity_error(
    forged: LedgerCore,
    monkeypatch: pytest.MonkeyPatch,
    rewrite: Callable[[bytes], bytes],
    message: str,
) -> None:
    """A record with a valid MAC, digest and tags but content that is not a well-formed
    event of its subject fails every read naming it: subject, events, export, verify.
    """
    forged.append("s", ConsentGiven(at=EVENT.at, purpose="analytics", id="c-1"))
    _seal_rewritten(forged, monkeypatch, rewrite)
    forged.append("s", FORGED)
    monkeypatch.undo()
    reads: list[Callable[[], object]] = [
        lambda: forged.subject("s"),
        lambda: list(forged.events("s")),
        lambda: forged.export("s"),
        forged.verify,
    ]
    for read in reads:
        with pytest.raises(LedgerIntegrityError, match=message) as caught:
            read()
        assert caught.value.record == 2


def _respaced(payload: bytes) -> bytes:
    """The same content as JSON with spaces around it and its instant at UTC+1."""
    data = json.loads(payload)
    data["at"] = "2025-03-02T10:00:00+01:00"
    return b" " + json.dumps(data).encode() + b"\n"


def test_valid_json_other_than_canonical_reads_the_same(
    forged: LedgerCore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Content sealed with space around it, and an instant in another offset, is read by
    the general path to the event its canonical form gives, the offset kept.
    """
    _seal_rewritten(forged, monkeypatch, _respaced)
    forged.append("s", FORGED)
    monkeypatch.undo()
    (event,) = forged.events("s")
    assert event.at.utcoffset() == timedelta(hours=1)
    assert attrs.evolve(event, at=FORGED_AT) == stored_form(
        FORGED, event_id="c-2", recorded_at=event.recorded_at
    )
