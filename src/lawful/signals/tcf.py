"""IAB TCF v2.2 TC strings: a strict, dependency-free decoder and encoder.

A TC string is one to four dot-separated base64url segments: the core segment,
then optionally the disclosed vendors, allowed vendors (deprecated) and
publisher TC segments. :func:`decode` reads every field with a bounds check, so a
truncated or corrupt string raises :class:`lawful.SignalError` naming the
segment, the field and the bit offset; it never yields a partial "consent".
:func:`validate` reports what the TCF's own rules say about a well-formed
string (policy version, legitimate interest claimed where TCF 2.2 forbids it,
the TCF 2.3 rule on disclosed vendors, ...).

>>> tc = decode("COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA")
>>> tc.cmp_id, sorted(tc.purposes_consent), tc.last_updated.isoformat()
(675, [2, 10], '2021-02-02T17:01:00+00:00')
>>> encode(tc) == "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"
True

The model keeps how the string was written (:class:`Wire`: bitfield or range
encoding, range entries as given, padding, segment order) outside equality, so
``encode(decode(s)) == s`` byte for byte, while ``decode(encode(m)) == m``
compares meaning. A model built by hand is written canonically: the smaller
vendor encoding, maximal ranges, padding to whole bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from itertools import compress, repeat
from typing import Any

from lawful.exceptions import SignalError
from lawful.signals._tcf_model import (
    PublisherRestriction,
    PublisherTC,
    RangeEntry,
    RestrictionType,
    Segment,
    TCString,
    VendorWire,
    Wire,
    ranges_of,
    validate,
)

__all__ = [
    "MAX_IDS",
    "MAX_LENGTH",
    "PublisherRestriction",
    "PublisherTC",
    "RestrictionType",
    "Segment",
    "TCString",
    "VendorWire",
    "Wire",
    "decode",
    "encode",
    "validate",
]

MAX_LENGTH = 65_536
"""The longest TC string decoded, in characters (three full 65,535-bit vendor fields fit)."""
MAX_IDS = 262_144
"""The most vendor ids that range entries of one string may expand to: a hostile string of
ranges over all 65,535 ids cannot make decoding slow."""

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SIX = {c: format(i, "06b") for i, c in enumerate(_ALPHABET)}
_FLAGS = bytes.maketrans(b"01", b"\x00\x01")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DECISECOND = timedelta(milliseconds=100)


# -- reading --------------------------------------------------------------------------------


class _Reader:
    """Bounds-checked reads over one segment's bits."""

    __slots__ = ("bits", "budget", "pos", "segment")

    def __init__(self, bits: str, segment: Segment, budget: list[int]) -> None:
        self.bits = bits
        self.pos = 0
        self.segment = segment
        self.budget = budget

    def fail(self, field: str, problem: str, at: int | None = None) -> SignalError:
        where = self.pos if at is None else at
        return SignalError(f"tcf: {self.segment.label} segment, {field} at bit {where}: {problem}")

    def take(self, n: int, field: str) -> str:
        end = self.pos + n
        if end > len(self.bits):
            left = len(self.bits) - self.pos
            raise self.fail(field, f"truncated (needs {n} bits, {left} left)")
        chunk = self.bits[self.pos : end]
        self.pos = end
        return chunk

    def number(self, n: int, field: str) -> int:
        return int(self.take(n, field), 2) if n else 0

    def flag(self, field: str) -> bool:
        return self.take(1, field) == "1"

    def ids(self, n: int, field: str) -> frozenset[int]:
        chunk = self.take(n, field)
        # Bit i (from 0) set means id i + 1: select the ids whose bit is 1, all in C.
        return frozenset(compress(range(1, n + 1), chunk.encode().translate(_FLAGS)))

    def letters(self, field: str) -> str:
        start = self.pos
        out = []
        for _ in range(2):
            value = self.number(6, field)
            if value > 25:
                raise self.fail(field, f"{value} is not a letter (a=0 .. z=25)", start)
            out.append(chr(ord("A") + value))
        return "".join(out)

    def instant(self, field: str) -> datetime:
        return _EPOCH + self.number(36, field) * _DECISECOND

    def entries(
        self, field: str, max_id: int | None
    ) -> tuple[frozenset[int], tuple[RangeEntry, ...]]:
        """NumEntries (12 bits), then range entries; ids checked against ``max_id``."""
        count = self.number(12, f"{field}.NumEntries")
        ids: set[int] = set()
        entries: list[RangeEntry] = []
        for i in range(count):
            where = f"{field}.RangeEntry[{i}]"
            start = self.pos
            is_range = self.flag(f"{where}.IsARange")
            first = self.number(16, f"{where}.StartOrOnlyVendorId")
            last = self.number(16, f"{where}.EndVendorId") if is_range else first
            if first < 1:
                raise self.fail(where, "vendor ids start at 1", start)
            if last < first:
                raise self.fail(where, f"the range {first}-{last} ends before it starts", start)
            if max_id is not None and last > max_id:
                raise self.fail(where, f"vendor id {last} is above MaxVendorId {max_id}", start)
            self.budget[0] -= last - first + 1
            if self.budget[0] < 0:
                raise self.fail(where, f"the ranges expand to more than {MAX_IDS} vendor ids")
            ids.update(range(first, last + 1))
            entries.append((first, last) if is_range else first)
        return frozenset(ids), tuple(entries)

    def vendors(self, field: str) -> tuple[frozenset[int], VendorWire]:
        """MaxVendorId, IsRangeEncoding, then a bitfield or range entries."""
        max_id = self.number(16, f"{field}.MaxVendorId")
        if self.flag(f"{field}.IsRangeEncoding"):
            ids, entries = self.entries(field, max_id)
            return ids, VendorWire(max_id, is_range=True, entries=entries)
        return self.ids(max_id, f"{field}.BitField"), VendorWire(max_id, is_range=False)

    def restrictions(
        self,
    ) -> tuple[tuple[PublisherRestriction, ...], tuple[tuple[RangeEntry, ...], ...]]:
        count = self.number(12, "NumPubRestrictions")
        found: list[PublisherRestriction] = []
        wire: list[tuple[RangeEntry, ...]] = []
        for i in range(count):
            where = f"PubRestrictionEntry[{i}]"
            start = self.pos
            purpose = self.number(6, f"{where}.PurposeId")
            kind = self.number(2, f"{where}.RestrictionType")
            if purpose < 1:
                raise self.fail(f"{where}.PurposeId", "purpose ids start at 1", start)
            if kind == 3:
                raise self.fail(f"{where}.RestrictionType", "3 is reserved (undefined)", start + 6)
            ids, entries = self.entries(where, None)
            found.append(PublisherRestriction(purpose, RestrictionType(kind), ids))
            wire.append(entries)
        return tuple(found), tuple(wire)

    def finish(self) -> None:
        """The bits left must be zero padding, shorter than one 24-bit base64 group."""
        rest = self.bits[self.pos :]
        if "1" in rest:
            raise self.fail(
                "padding", "non-zero bits after the last field", self.pos + rest.index("1")
            )
        if len(rest) >= 24:
            raise self.fail("padding", f"{len(rest)} bits of trailing data after the last field")


def _bits(text: str, segment_no: int, offset: int) -> tuple[str, int, int]:
    """A segment's bits, its base64url length and its number of '=' padding characters."""
    body = text.rstrip("=")
    pad = len(text) - len(body)
    where = f"tcf: segment {segment_no + 1}"
    if not body:
        raise SignalError(f"{where} at character {offset}: empty segment")
    if pad and (pad > 2 or (len(body) + pad) % 4):
        raise SignalError(f"{where} at character {offset + len(body)}: misplaced '=' padding")
    try:
        bits = "".join([_SIX[c] for c in body])
    except KeyError:
        bad = next(i for i, c in enumerate(body) if c not in _SIX)
        raise SignalError(
            f"{where} at character {offset + bad}: {body[bad]!r} is not a base64url character"
        ) from None
    return bits, len(body), pad


def decode(text: str) -> TCString:
    """Decode a TC string (format version 2) strictly.

    Raises:
        SignalError: The string is not a str, too long, not base64url, truncated,
            carries a value no field allows, has trailing data or a repeated or
            unknown segment, or is a TCF v1 consent string. The message names the
            segment, the field and the bit offset.
    """
    if not isinstance(text, str):
        raise SignalError(f"tcf: expected a TC string (str), got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise SignalError(f"tcf: the string is {len(text)} characters, above {MAX_LENGTH}")
    parts = text.split(".")
    if len(parts) > len(Segment):
        raise SignalError(f"tcf: {len(parts)} segments; a TC string has at most {len(Segment)}")
    budget = [MAX_IDS]
    offset = 0
    layout: list[tuple[Segment, int, int]] = []
    found: dict[Segment, _Reader] = {}
    for number, part in enumerate(parts):
        bits, chars, pad = _bits(part, number, offset)
        offset += len(part) + 1
        segment = _segment_of(bits, number)
        if segment in found:
            raise SignalError(f"tcf: segment {number + 1}: a second {segment.label} segment")
        reader = _Reader(bits, segment, budget)
        reader.pos = 6 if segment is Segment.CORE else 3
        found[segment] = reader
        layout.append((segment, chars, pad))
    fields, vc_wire, vli_wire, pr_wire = _core(found[Segment.CORE])
    disclosed = allowed = None
    dv_wire = av_wire = None
    publisher = None
    if (dv := found.get(Segment.DISCLOSED_VENDORS)) is not None:
        disclosed, dv_wire = dv.vendors("DisclosedVendors")
        dv.finish()
    if (av := found.get(Segment.ALLOWED_VENDORS)) is not None:
        allowed, av_wire = av.vendors("AllowedVendors")
        av.finish()
    if (pub := found.get(Segment.PUBLISHER_TC)) is not None:
        publisher = _publisher(pub)
        pub.finish()
    wire = Wire(
        segments=tuple(layout),
        vendor_consents=vc_wire,
        vendor_legitimate_interests=vli_wire,
        restrictions=pr_wire,
        disclosed_vendors=dv_wire,
        allowed_vendors=av_wire,
    )
    return TCString(
        **fields,
        disclosed_vendors=disclosed,
        allowed_vendors=allowed,
        publisher_tc=publisher,
        wire=wire,
    )


def _segment_of(bits: str, number: int) -> Segment:
    """The kind of a segment from its first bits (the core has a 6-bit Version instead)."""
    if number == 0:
        version = int(bits[:6], 2)
        if version == 1:
            raise SignalError(
                "tcf: core segment, Version at bit 0: TCF v1 consent strings are not supported"
            )
        if version != 2:
            raise SignalError(f"tcf: core segment, Version at bit 0: {version} is not 2")
        return Segment.CORE
    kind = int(bits[:3], 2)
    where = f"tcf: segment {number + 1}, SegmentType at bit 0"
    if kind == 0:
        raise SignalError(f"{where}: a second core segment")
    if kind >= len(Segment):
        raise SignalError(f"{where}: unknown segment type {kind}")
    return Segment(kind)


def _core(
    r: _Reader,
) -> tuple[dict[str, Any], VendorWire, VendorWire, tuple[tuple[RangeEntry, ...], ...]]:
    fields: dict[str, Any] = {
        "created": r.instant("Created"),
        "last_updated": r.instant("LastUpdated"),
        "cmp_id": r.number(12, "CmpId"),
        "cmp_version": r.number(12, "CmpVersion"),
        "consent_screen": r.number(6, "ConsentScreen"),
        "consent_language": r.letters("ConsentLanguage"),
        "vendor_list_version": r.number(12, "VendorListVersion"),
        "policy_version": r.number(6, "TcfPolicyVersion"),
        "is_service_specific": r.flag("IsServiceSpecific"),
        "use_non_standard_texts": r.flag("UseNonStandardTexts"),
        "special_feature_opt_ins": r.ids(12, "SpecialFeatureOptIns"),
        "purposes_consent": r.ids(24, "PurposesConsent"),
        "purposes_li_transparency": r.ids(24, "PurposesLITransparency"),
        "purpose_one_treatment": r.flag("PurposeOneTreatment"),
        "publisher_cc": r.letters("PublisherCC"),
    }
    fields["vendor_consents"], vc_wire = r.vendors("VendorConsents")
    fields["vendor_legitimate_interests"], vli_wire = r.vendors("VendorLegitimateInterests")
    fields["publisher_restrictions"], pr_wire = r.restrictions()
    r.finish()
    return fields, vc_wire, vli_wire, pr_wire


def _publisher(r: _Reader) -> PublisherTC:
    consent = r.ids(24, "PubPurposesConsent")
    li = r.ids(24, "PubPurposesLITransparency")
    count = r.number(6, "NumCustomPurposes")
    return PublisherTC(
        purposes_consent=consent,
        purposes_li_transparency=li,
        num_custom_purposes=count,
        custom_purposes_consent=r.ids(count, "CustomPurposesConsent"),
        custom_purposes_li_transparency=r.ids(count, "CustomPurposesLITransparency"),
    )


# -- writing --------------------------------------------------------------------------------


def _int(value: int, n: int) -> str:
    return format(value, f"0{n}b") if n else ""


def _field(ids: frozenset[int], n: int) -> str:
    row = bytearray(b"0" * n)
    for i in ids:
        if i <= n:
            row[i - 1] = ord("1")
    return row.decode()


def _letters(code: str) -> str:
    return "".join(_int(ord(c) - ord("A"), 6) for c in code)


def _deciseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _DECISECOND


def _entries(entries: Iterable[RangeEntry]) -> str:
    listed = list(entries)
    out = [_int(len(listed), 12)]
    for entry in listed:
        if isinstance(entry, tuple):
            out.append("1" + _int(entry[0], 16) + _int(entry[1], 16))
        else:
            out.append("0" + _int(entry, 16))
    return "".join(out)


def _entry_ids(entries: Iterable[RangeEntry]) -> set[int]:
    ids: set[int] = set()
    for entry in entries:
        first, last = entry if isinstance(entry, tuple) else (entry, entry)
        ids.update(range(first, last + 1))
    return ids


def _canonical(ids: frozenset[int]) -> VendorWire:
    """The smaller of the two encodings (the bitfield on a tie), with maximal ranges."""
    top = max(ids, default=0)
    runs = len(ids) - len(ids & frozenset(map(int.__add__, ids, repeat(1))))
    if 12 + 17 * runs >= top:
        return VendorWire(top, is_range=False)  # no range encoding can be smaller
    entries = ranges_of(ids)
    size = 12 + sum(33 if isinstance(e, tuple) else 17 for e in entries)
    if len(entries) < 4096 and size < top:
        return VendorWire(top, is_range=True, entries=entries)
    return VendorWire(top, is_range=False)


def _fits(ids: frozenset[int], wire: VendorWire | None) -> bool:
    if wire is None or wire.max_vendor_id < max(ids, default=0):
        return False
    if not wire.is_range:
        return True
    return (
        len(wire.entries) < 4096
        and all((e[1] if isinstance(e, tuple) else e) <= wire.max_vendor_id for e in wire.entries)
        and _entry_ids(wire.entries) == ids
    )


def _vendors(ids: frozenset[int], wire: VendorWire | None) -> str:
    chosen = wire if wire is not None and _fits(ids, wire) else _canonical(ids)
    head = _int(chosen.max_vendor_id, 16)
    if chosen.is_range:
        return head + "1" + _entries(chosen.entries)
    return head + "0" + _field(ids, chosen.max_vendor_id)


def _core_bits(tc: TCString, wire: Wire | None) -> str:
    parts = [
        _int(2, 6),
        _int(_deciseconds(tc.created), 36),
        _int(_deciseconds(tc.last_updated), 36),
        _int(tc.cmp_id, 12),
        _int(tc.cmp_version, 12),
        _int(tc.consent_screen, 6),
        _letters(tc.consent_language),
        _int(tc.vendor_list_version, 12),
        _int(tc.policy_version, 6),
        "1" if tc.is_service_specific else "0",
        "1" if tc.use_non_standard_texts else "0",
        _field(tc.special_feature_opt_ins, 12),
        _field(tc.purposes_consent, 24),
        _field(tc.purposes_li_transparency, 24),
        "1" if tc.purpose_one_treatment else "0",
        _letters(tc.publisher_cc),
        _vendors(tc.vendor_consents, None if wire is None else wire.vendor_consents),
        _vendors(
            tc.vendor_legitimate_interests,
            None if wire is None else wire.vendor_legitimate_interests,
        ),
        _int(len(tc.publisher_restrictions), 12),
    ]
    kept = wire.restrictions if wire is not None else ()
    for i, restriction in enumerate(tc.publisher_restrictions):
        parts.append(_int(restriction.purpose, 6) + _int(restriction.restriction.value, 2))
        entries = kept[i] if i < len(kept) else None
        if entries is None or _entry_ids(entries) != restriction.vendors:
            entries = ranges_of(restriction.vendors)
        parts.append(_entries(entries))
    return "".join(parts)


def _publisher_bits(pub: PublisherTC) -> str:
    n = pub.num_custom_purposes
    return (
        _int(Segment.PUBLISHER_TC.value, 3)
        + _field(pub.purposes_consent, 24)
        + _field(pub.purposes_li_transparency, 24)
        + _int(n, 6)
        + _field(pub.custom_purposes_consent, n)
        + _field(pub.custom_purposes_li_transparency, n)
    )


def _vendor_segment(segment: Segment, ids: frozenset[int], wire: VendorWire | None) -> str:
    return _int(segment.value, 3) + _vendors(ids, wire)


def _base64(bits: str, chars: int | None, pad: int) -> str:
    """Bits as base64url: ``chars`` characters where they fit, else padded to whole bytes."""
    if chars is None or not 0 <= chars * 6 - len(bits) < 24:
        chars = -(-(len(bits) + (-len(bits) % 8)) // 6)
        pad = 0
    elif pad and (pad > 2 or (chars + pad) % 4):
        pad = 0
    # Whole 24-bit groups are 3 bytes and 4 characters: let base64 do the work, then trim.
    groups = -(-chars // 4)
    data = int(bits.ljust(groups * 24, "0"), 2).to_bytes(groups * 3, "big")
    return base64.urlsafe_b64encode(data).decode()[:chars] + "=" * pad


def encode(tc: TCString) -> str:
    """The TC string of ``tc``; the wire options it carries are kept where they still fit.

    Raises:
        SignalError: ``tc`` is not a :class:`TCString`.
    """
    if not isinstance(tc, TCString):
        raise SignalError(f"tcf: expected a TCString, got {type(tc).__name__}")
    wire = tc.wire
    bits = {Segment.CORE: _core_bits(tc, wire)}
    if tc.disclosed_vendors is not None:
        kept = None if wire is None else wire.disclosed_vendors
        bits[Segment.DISCLOSED_VENDORS] = _vendor_segment(
            Segment.DISCLOSED_VENDORS, tc.disclosed_vendors, kept
        )
    if tc.allowed_vendors is not None:
        kept = None if wire is None else wire.allowed_vendors
        bits[Segment.ALLOWED_VENDORS] = _vendor_segment(
            Segment.ALLOWED_VENDORS, tc.allowed_vendors, kept
        )
    if tc.publisher_tc is not None:
        bits[Segment.PUBLISHER_TC] = _publisher_bits(tc.publisher_tc)
    order = list(bits)
    layout: dict[Segment, tuple[int | None, int]] = dict.fromkeys(order, (None, 0))
    if wire is not None:
        written = [s for s, _, _ in wire.segments]
        if sorted(written, key=lambda s: s.value) == order and written[0] is Segment.CORE:
            order = written
        for segment, chars, pad in wire.segments:
            if segment in layout:
                layout[segment] = (chars, pad)
    return ".".join(_base64(bits[s], *layout[s]) for s in order)
