"""The TC string codec against the public test vectors of the IAB's reference implementations.

Every vector below is kept verbatim with the repository and file it comes from;
the expected values are the ones those tests publish.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from lawful import SignalError
from lawful.signals import tcf
from lawful.signals.tcf import (
    PublisherRestriction,
    PublisherTC,
    RestrictionType,
    Segment,
    TCString,
    VendorWire,
)

JAVA = "InteractiveAdvertisingBureau/iabtcf-java"
JAVA_V2 = f"{JAVA}: iabtcf-decoder/src/test/java/com/iabtcf/decoder/TCStringV2Test.java"
JAVA_DECODER = f"{JAVA}: iabtcf-decoder/src/test/java/com/iabtcf/decoder/TCStringDecoderTest.java"
JAVA_ENCODER = f"{JAVA}: iabtcf-encoder/src/test/java/com/iabtcf/encoder/TCStringV2EncoderTest.java"
ES = "InteractiveAdvertisingBureau/iabtcf-es"
ES_ISSUES = f"{ES}: modules/core/test/ReportedIssues.test.ts"
ES_TCSTRING = f"{ES}: modules/core/test/TCString.test.ts (earlier revisions)"
SPEC = (
    "InteractiveAdvertisingBureau/GDPR-Transparency-and-Consent-Framework: "
    "TCFv2/IAB Tech Lab - Consent string and vendor list formats v2.md"
)

CORE = "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"  # JAVA_V2, JAVA_DECODER, JAVA_ENCODER
BITFIELDS = (  # JAVA_V2 testConstructConsentsFromBitFields
    "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA"
)
OOB = f"{BITFIELDS}.IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA"  # JAVA_V2, ES_TCSTRING
ALL_PARTS = f"{OOB}.cAAAAAAAITg="  # JAVA_V2 testCanParseAllParts
LI_RANGE = "COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA"  # JAVA_V2
TWO_RANGES = (  # JAVA_V2 testRange
    "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAYFfAV-BVkAGBVYFWAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw"
)
ONE_RANGE = (  # JAVA_V2 testRange
    "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAQFfgUbABAUaAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw"
)
TWO_PARTS = (  # JAVA_DECODER testCanCreateModelFromTwoPartsString
    "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA.IFoEUQQgAIQwgIwQABAEAAAAOIAACAIAAAAQAIAgEAACEAAAAAgAQBAAAAAAAGBAAgAAAAAAAFAAECAAAgAAQARAEQAAAAAJAAIAAgAAAYQEAAAQmAgBC3ZAYzUw"
)
PURPOSES = "COwxsONOwxsONKpAAAENAdCAAMAAAAAAAAAAAAAAAAAA"  # JAVA_V2 testPurposesConsent
ISSUE_201 = (  # ES_ISSUES "201 unable to decode valid TCF2 String"
    "CO4VGswO4VGswAfZCBDEAzCsAP_AAH_AAAigGUNf_X9fb2vj-_599_t0eY1f9_63t-wzjheMs-8NyZ-X_J4Wv2MyvB34JqQKGRgkunLBAQdtHGncTQgBwIlViTLMY02MjzNKJrJEilsbe2dYGH9vn8XT_ZKZ70-_v__7v3___33_5Ayhr_6_r7e18f3_Pvv9ujzGr_v_W9v2GccLxln3huTPy_5PC1-xmV4O_BNSBQyMEl05YICDto407iaEAOBEqsSZZjGmxkeZpRNZIkUtjb2zrAw_t8_i6f7JTPen39___d-___--__ICgKAOAAcAA4AFAAjgB6AEYALcGACAW0AtoJAHAAOAAcACgARwA9ACMAFuFABALaAW0GgDgAHAAOABQAI4AegBGAC3DgAgFtALaEQBwADgAHAAoAEcAPQAjABbiQAQC2gFtCoA4ABwADgAUACOAHoARgAtxYAIBbQC2hkAcAA4ABwAKABHAD0AIwAW40AEAtoBbQ6AOAAcAA4AFAAjgB6AEYALceACAW0AtohAHAAOAAcACgARwA9ACMAFuRABALaAW0SgDgAHAAOABQAI4AegBGAC3JgAgFtALaKQBwADgAHAAoAEcAPQAjABblQAQC2gFtA"
)
ISSUE_142 = (  # ES_ISSUES 142: "throw an error if the bitfield length does not match"
    "CLSYjTaOngnCIAOABBENAXCMAGOAABBAAA7IA5n-m7fP6_3fbqVv6E__PoA5Aqff3aJx8tv_1967rfnQEQoAIAAQCrwkAEABAcACABIMACAAuApEVABABUSABgBCAVSAtIoACACIArYQAHACgAFgAVwBJgDcAI7AWgMAAgBiKgAgBMgFfKQAQBRkQAQA4AFiBAAoA-AEVAJlAVgAtYcACAJcAr4eABAK8OgBgFzAOmAqwgABAWyA.IFukWSQh"
)
ISSUE_156_V1 = (  # ES_ISSUES "156 it should auto detect 1 version": a TCF v1 string
    "BOhwdphOxFC7tAHABBFRC--AAAAuhr_7__7-_9_-_f__9uj3Or_v_f__32ccL59v_h_7v-_7fi_20nV4u_1vft9yfk1-5ctDztp507iakivXmqdeb9v_nz3_5pxP78k89r7337Ew_v8_v-b7BCON_YxEiA"
)
ISSUE_191_V1 = "BO2e4qiO2e4qiB9ABADEDS-AAAAxKABgACBiQA"  # ES_ISSUES "191 ...": TCF v1
SPEC_EXAMPLE = (  # SPEC, the example of a string with disclosed and allowed vendors
    "CGL23UdMFJzvuA9ACCENAXCEAC0AAGrAAA5YA5ht7-_d_7_vd-f-nrf4_4A4hM4JCKoK4YhmAqABgAEgAA.IFut_a83_Ma_t-_SvB3v4-IAeIAACAIgSAAQAIAgEQACEABAAAgAQFAEAIAAAGBAAgAAAAQAIFAAMCQAAgAAQiRAEQAAAAANAAIAAggAIYQFAAARmggBC3ZCYzU2yIA.QFulWfTw4obx_Z2zUj6XkNIAeIAACAIgSAAQAIAgEQACEABAAAgAQFAEAIAAAGBAAgAAAAQAIFAAMCQAAgAAQiRAEQAAAAANAAIAAggAIYQFAAARmggBC3ZCYzU2yIA"
)

# JAVA_V2 testPublisherRestrictions and testPublisherPurposes write their strings as bits,
# encoded with java.util.Base64's URL encoder (which pads with "=").
RESTRICTION_BITS = (
    "0000100011101011100"
    "1000000000000001010"
    "0000001110101110010"
    "0000000000000101000"
    "0000110011111000000"
    "0000000000000000100"
    "0011010000000011110"
    "0001000000000000000" + "0000000000000000000" * 5 + "000000000011"  # NumPubRestrictions (3)
    "000001"  # PurposeId 1
    "01"  # Require Consent
    "000000000000"
    "000010"  # PurposeId 2
    "00"  # Not Allowed
    "000000000000"
    "000011"  # PurposeId 3
    "10"  # Require Legitimate Interest
    "000000000000"
    "0"
)
PUBLISHER_BITS = (
    "011"  # segment type 3
    "100000000000000000000000"  # PubPurposesConsent
    "000000000000000000000001"  # PubPurposesLITransparency
    "000010"  # NumCustomPurposes
    "01"  # CustomPurposesConsent
    "11"  # CustomPurposesLITransparency
    "000"
)


def _java_base64(bits: str) -> str:
    data = bytes(int(bits[i : i + 8].ljust(8, "0"), 2) for i in range(0, len(bits), 8))
    return base64.urlsafe_b64encode(data).decode()


RESTRICTIONS = _java_base64(RESTRICTION_BITS)
PUBLISHER = f"{CORE}.{_java_base64(PUBLISHER_BITS)}"

ALL_VECTORS = [
    CORE,
    BITFIELDS,
    OOB,
    ALL_PARTS,
    LI_RANGE,
    TWO_RANGES,
    ONE_RANGE,
    TWO_PARTS,
    PURPOSES,
    ISSUE_201,
    SPEC_EXAMPLE,
    RESTRICTIONS,
    PUBLISHER,
]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_core_fields_decode_to_the_published_values() -> None:
    """JAVA_V2 testCanConstructTCModelFromBase64String: every core field as published."""
    tc = tcf.decode(CORE)
    assert tc.created == _utc("2020-01-26T17:01:00")
    assert tc.last_updated == _utc("2021-02-02T17:01:00")
    assert (tc.cmp_id, tc.cmp_version, tc.consent_screen) == (675, 2, 1)
    assert (tc.vendor_list_version, tc.policy_version) == (15, 2)
    assert (tc.consent_language, tc.publisher_cc) == ("EN", "AA")
    assert tc.is_service_specific is False
    assert tc.purpose_one_treatment is True
    assert tc.use_non_standard_texts is False
    assert tc.special_feature_opt_ins == {1}
    assert tc.purposes_consent == {2, 10}
    assert tc.purposes_li_transparency == {2, 9}


@pytest.mark.parametrize(
    ("text", "consents", "legitimate_interests"),
    [
        (BITFIELDS, {23, 37, 47, 48, 53, 65, 98}, {37, 47, 48, 53, 65, 98, 129}),
        (LI_RANGE, {127}, {128}),
        (TWO_RANGES, {702, 703}, None),
        (ONE_RANGE, {703}, None),
    ],
)
def test_vendor_sections_decode_in_bitfield_and_range_encodings(
    text: str, consents: set[int], legitimate_interests: set[int] | None
) -> None:
    """JAVA_V2: vendor consents and legitimate interests, bitfield and range encoded."""
    tc = tcf.decode(text)
    assert tc.vendor_consents == consents
    if legitimate_interests is not None:
        assert tc.vendor_legitimate_interests == legitimate_interests


def test_range_vectors_are_range_encoded_on_the_wire() -> None:
    """The testRange strings really use range encoding, kept in the wire options."""
    for text in (TWO_RANGES, ONE_RANGE, LI_RANGE):
        wire = tcf.decode(text).wire
        assert wire is not None
        assert wire.vendor_consents.is_range or wire.vendor_legitimate_interests.is_range


def test_disclosed_and_allowed_vendors_decode() -> None:
    """JAVA_V2 testCanParseDisclosedAndAllowedVendors and ES_TCSTRING: OOB segments and core."""
    tc = tcf.decode(OOB)
    assert tc.allowed_vendors == frozenset({12, 23, 37, 47, 48, 53})
    assert tc.disclosed_vendors == frozenset({23, 37, 47, 48, 53, 65, 98, 129})
    assert (tc.cmp_id, tc.cmp_version, tc.consent_screen, tc.policy_version) == (2, 1, 1, 2)
    assert (tc.vendor_list_version, tc.consent_language, tc.publisher_cc) == (7, "EN", "AQ")
    assert tc.special_feature_opt_ins == {1}
    assert tc.purposes_consent == set(range(3, 10))
    # ES_TCSTRING checks the weekday in December 2019: created a Wednesday, updated a Tuesday.
    assert (tc.created.year, tc.created.month, tc.created.isoweekday()) == (2019, 12, 3)
    assert (tc.last_updated.year, tc.last_updated.month, tc.last_updated.isoweekday()) == (
        2019,
        12,
        2,
    )


def test_all_four_segments_decode() -> None:
    """JAVA_V2 testCanParseAllParts: one publisher purpose consent in the fourth segment."""
    tc = tcf.decode(ALL_PARTS)
    assert tc.publisher_tc is not None
    assert len(tc.publisher_tc.purposes_consent) == 1


def test_publisher_restrictions_decode() -> None:
    """JAVA_V2 testPublisherRestrictions: three restrictions, each with no vendor."""
    assert tcf.decode(RESTRICTIONS).publisher_restrictions == (
        PublisherRestriction(1, RestrictionType.REQUIRE_CONSENT),
        PublisherRestriction(2, RestrictionType.NOT_ALLOWED),
        PublisherRestriction(3, RestrictionType.REQUIRE_LEGITIMATE_INTEREST),
    )


def test_publisher_purposes_decode() -> None:
    """JAVA_V2 testPublisherPurposes: publisher and custom purposes."""
    assert tcf.decode(PUBLISHER).publisher_tc == PublisherTC(
        purposes_consent={1},
        purposes_li_transparency={24},
        num_custom_purposes=2,
        custom_purposes_consent={2},
        custom_purposes_li_transparency={1, 2},
    )


def test_purposes_consent_decodes() -> None:
    """JAVA_V2 testPurposesConsent: purposes 1 and 2 consented."""
    assert {1, 2} <= tcf.decode(PURPOSES).purposes_consent


def test_restriction_repeated_for_a_vendor_decodes() -> None:
    """ES_ISSUES 201: a string with a restriction repeated decodes, with the published vendors."""
    tc = tcf.decode(ISSUE_201)
    found = [
        r.vendors
        for r in tc.publisher_restrictions
        if (r.purpose, r.restriction) == (1, RestrictionType.REQUIRE_CONSENT)
    ]
    assert found == [{7, 20, 71, 122, 140, 183}]


def test_two_part_string_decodes() -> None:
    """JAVA_DECODER testCanCreateModelFromTwoPartsString: a core and a disclosed segment."""
    tc = tcf.decode(TWO_PARTS)
    assert tc.disclosed_vendors is not None
    assert tc.wire is not None
    assert [s for s, _, _ in tc.wire.segments] == [Segment.CORE, Segment.DISCLOSED_VENDORS]


@pytest.mark.parametrize("text", ALL_VECTORS)
def test_every_vector_re_encodes_byte_for_byte(text: str) -> None:
    """encode(decode(s)) == s for every public vector, whichever library wrote it."""
    assert tcf.encode(tcf.decode(text)) == text


@pytest.mark.parametrize("text", ALL_VECTORS)
def test_canonical_encoding_decodes_to_the_same_meaning(text: str) -> None:
    """Dropping the wire options changes the bytes at most, never the meaning."""
    tc = tcf.decode(text)
    canonical = tcf.encode(attrs.evolve(tc, wire=None))
    assert tcf.decode(canonical) == tc


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # ES_ISSUES 142: the disclosed vendors bitfield is shorter than its MaxVendorId.
        (ISSUE_142, r"disclosed vendors segment, DisclosedVendors\.BitField at bit 20: truncated"),
        # JAVA_DECODER testReadBeyondBuffer ("Bg"): six bits, version 1.
        ("Bg", "TCF v1 consent strings are not supported"),
        # JAVA_DECODER shouldFailIfANonSupportedVersionIsPassed: one byte, 13.
        (base64.urlsafe_b64encode(bytes([13])).decode(), "Version at bit 0: 3 is not 2"),
        (ISSUE_156_V1, "TCF v1"),
        (ISSUE_191_V1, "TCF v1"),
        # JAVA_V2 testDefaultSegmentType: a segment of type 0 after the core is refused here.
        (f"{CORE}.{_java_base64('00000000')}", "a second core segment"),
        ("", "segment 1 at character 0: empty segment"),
        (f"{CORE}.", "segment 2 at character 45: empty segment"),
        (f"{CORE}.{CORE}", "a second core segment"),
        (f"{OOB}.IBAgAAAgAIAwgAgAAAAEAAAACA", "a second disclosed vendors segment"),
        (f"{CORE}.8AAA", "unknown segment type 7"),
        (CORE[:-2], "NumPubRestrictions at bit 247: truncated"),
        (CORE + "AAAA", "trailing data"),
        (CORE[:-1] + "B", "non-zero bits after the last field"),
        (CORE[:8] + "!" + CORE[9:], "character 8: '!' is not a base64url character"),
        (CORE[:8] + "=" + CORE[9:], "is not a base64url character"),
        (f"{CORE}===", "misplaced '=' padding"),
        (f"{CORE}.{CORE}.{CORE}.{CORE}.{CORE}", "5 segments"),
        ("C" * (tcf.MAX_LENGTH + 1), "above 65536"),
    ],
)
def test_corrupt_strings_raise_signal_error_naming_where(text: str, message: str) -> None:
    """A truncated, padded, repeated or foreign string is an error that says where."""
    with pytest.raises(SignalError, match=message):
        tcf.decode(text)


def _bits_to_text(bits: str) -> str:
    bits += "0" * (-len(bits) % 6)
    return "".join(tcf._ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def _core_bits() -> str:
    tc = TCString(created=_utc("2024-01-01"), last_updated=_utc("2024-01-01"), cmp_id=10)
    return tcf._core_bits(tc, None)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b[:108] + "111111" + b[114:], "ConsentLanguage at bit 108: 63 is not a letter"),
        (lambda b: b[:201] + "011010" + b[207:], "PublisherCC at bit 201: 26 is not a letter"),
        # VendorConsents: MaxVendorId 5, range encoding, one entry 3-9: above MaxVendorId.
        (
            lambda b: (
                b[:213]
                + "0000000000000101"
                + "1"
                + "000000000001"
                + "1"
                + "0000000000000011"
                + "0000000000001001"
                + b[230:]
            ),
            r"VendorConsents\.RangeEntry\[0\] at bit 242: vendor id 9 is above MaxVendorId 5",
        ),
        (
            lambda b: (
                b[:213]
                + "0000000000001001"
                + "1"
                + "000000000001"
                + "1"
                + "0000000000001000"
                + "0000000000000011"
                + b[230:]
            ),
            "the range 8-3 ends before it starts",
        ),
        (
            lambda b: (
                b[:213]
                + "0000000000001001"
                + "1"
                + "000000000001"
                + "0"
                + "0000000000000000"
                + b[230:]
            ),
            "vendor ids start at 1",
        ),
        (lambda b: b[:247] + "000000000001" + "000001" + "11" + "000000000000", "3 is reserved"),
        (
            lambda b: b[:247] + "000000000001" + "000000" + "00" + "000000000000",
            "purpose ids start at 1",
        ),
    ],
)
def test_values_no_field_allows_raise(mutate: object, message: str) -> None:
    """Letters outside A-Z, ranges past MaxVendorId or backwards, reserved values: errors."""
    assert callable(mutate)
    with pytest.raises(SignalError, match=message):
        tcf.decode(_bits_to_text(mutate(_core_bits())))


def test_range_expansion_is_bounded() -> None:
    """A string of ranges over every vendor id is refused before it can make decoding slow."""
    entry = "1" + format(1, "016b") + format(65_535, "016b")
    restriction = "000001" + "00" + format(4095, "012b") + entry * 4095
    bits = _core_bits()[:247] + format(1, "012b") + restriction
    with pytest.raises(SignalError, match="expand to more than 262144 vendor ids"):
        tcf.decode(_bits_to_text(bits))


def test_non_strings_are_refused() -> None:
    """Bytes or None are not TC strings."""
    for value in (b"COtybn4P", None, 42):
        with pytest.raises(SignalError, match="expected a TC string"):
            tcf.decode(value)  # type: ignore[arg-type]
    with pytest.raises(SignalError, match="expected a TCString"):
        tcf.encode("CO")  # type: ignore[arg-type]


START = _utc("2024-05-01T10:00:00")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cmp_id": 4096}, "cmp_id: expected an integer from 0 to 4095"),
        ({"cmp_id": True}, "cmp_id: expected an integer"),
        ({"consent_screen": 64}, "consent_screen"),
        ({"policy_version": -1}, "policy_version"),
        ({"purposes_consent": {25}}, "purposes_consent: ids run from 1 to 24"),
        ({"special_feature_opt_ins": {0}}, "special_feature_opt_ins: ids run from 1 to 12"),
        ({"vendor_consents": {65_536}}, "vendor_consents: ids run from 1 to 65535"),
        ({"consent_language": "en"}, "two upper-case letters"),
        ({"publisher_cc": "DEU"}, "two upper-case letters"),
        ({"created": START + timedelta(milliseconds=50)}, "deciseconds"),
        ({"created": datetime(2024, 5, 1)}, "expected an aware datetime"),
        ({"last_updated": _utc("1969-12-31T00:00:00")}, "does not fit 36 bits"),
        ({"disclosed_vendors": {0}}, "disclosed_vendors"),
    ],
)
def test_models_the_format_cannot_hold_are_refused(
    changes: dict[str, object], message: str
) -> None:
    """A model that exists can always be encoded: out-of-range fields raise on construction."""
    fields: dict[str, object] = {"created": START, "last_updated": START, **changes}
    with pytest.raises(SignalError, match=message):
        TCString(**fields)  # type: ignore[arg-type]


def test_parts_the_format_cannot_hold_are_refused() -> None:
    """Restrictions and publisher segments are checked too."""
    with pytest.raises(SignalError, match="purpose"):
        PublisherRestriction(64, RestrictionType.NOT_ALLOWED)
    with pytest.raises(SignalError, match="more than 4095 range entries"):
        PublisherRestriction(1, RestrictionType.NOT_ALLOWED, range(1, 9000, 2))
    with pytest.raises(SignalError, match="custom purpose ids run from 1 to num_custom_purposes"):
        PublisherTC(num_custom_purposes=2, custom_purposes_consent={3})
    with pytest.raises(SignalError, match="at most 4095"):
        TCString(
            created=START,
            last_updated=START,
            publisher_restrictions=[PublisherRestriction(1, RestrictionType.NOT_ALLOWED)] * 4096,
        )


def test_canonical_encoding_picks_the_smaller_vendor_encoding() -> None:
    """A long run is range encoded; scattered low ids are a bitfield."""
    tc = TCString(
        created=START,
        last_updated=START,
        vendor_consents=range(1, 2000),
        vendor_legitimate_interests={1, 3},
    )
    wire = tcf.decode(tcf.encode(tc)).wire
    assert wire is not None
    assert wire.vendor_consents == VendorWire(1999, is_range=True, entries=((1, 1999),))
    assert wire.vendor_legitimate_interests == VendorWire(3, is_range=False)


def test_wire_options_that_no_longer_fit_fall_back_to_canonical() -> None:
    """Changing the ids a kept range encoding describes re-encodes them canonically."""
    tc = tcf.decode(TWO_RANGES)
    changed = attrs.evolve(tc, vendor_consents={5})
    assert tcf.decode(tcf.encode(changed)).vendor_consents == {5}
    assert tcf.decode(tcf.encode(changed)) == changed


@pytest.mark.parametrize("text", [v for v in ALL_VECTORS if "=" not in v])
def test_the_iab_library_decodes_every_vector_alike(
    text: str, iab: Callable[[dict[str, object]], object], as_json: Callable[[TCString], object]
) -> None:
    """@iabtechlabtcf/core reads each public vector exactly as lawful does.

    (Vectors padded with "=" are left out: that library refuses padding.)
    """
    assert iab({"op": "decode", "tc": text}) == as_json(tcf.decode(text))
