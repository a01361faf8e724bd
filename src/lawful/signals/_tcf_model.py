"""The values of a TC string (what it means) and its wire options (how it was written).

Every value is a frozen attrs class, checked on construction: a field the
format cannot hold raises :class:`lawful.SignalError` naming the field, so a
model that exists can always be encoded.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TypeAlias

import attrs

from lawful.exceptions import SignalError
from lawful.signals._common import Finding

__all__ = [
    "PublisherRestriction",
    "PublisherTC",
    "RangeEntry",
    "RestrictionType",
    "Segment",
    "TCString",
    "VendorWire",
    "Wire",
    "ranges_of",
    "validate",
]

RangeEntry: TypeAlias = int | tuple[int, int]
"""One range entry as written: a single vendor id, or an inclusive (start, end) range."""

_MAX_INSTANT = datetime(1970, 1, 1, tzinfo=UTC).timestamp() + (2**36 - 1) / 10


def _ids(value: Iterable[int]) -> frozenset[int]:
    return frozenset(value)


Validator: TypeAlias = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _bounded(low: int, high: int) -> Validator:
    def check(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SignalError(
                f"tcf: {type(instance).__name__}.{attribute.name}: expected an integer "
                f"from {low} to {high}, got {value!r}"
            )

    return check


def _id_set(high: int) -> Validator:
    def check(instance: object, attribute: attrs.Attribute[frozenset[int]], value: object) -> None:
        where = f"tcf: {type(instance).__name__}.{attribute.name}"
        if not isinstance(value, frozenset):
            raise SignalError(f"{where}: expected ids")
        if not set(map(type, value)) <= {int}:
            raise SignalError(f"{where}: ids are integers, got {sorted(map(repr, value))[:3]}")
        if value and not (min(value) >= 1 and max(value) <= high):
            bad = min(value) if min(value) < 1 else max(value)
            raise SignalError(f"{where}: ids run from 1 to {high}, got {bad!r}")

    return check


def _code(instance: object, attribute: attrs.Attribute[str], value: object) -> None:
    if not (isinstance(value, str) and len(value) == 2 and all("A" <= c <= "Z" for c in value)):
        raise SignalError(
            f"tcf: {type(instance).__name__}.{attribute.name}: expected two upper-case "
            f"letters A-Z, got {value!r}"
        )


def _instant(instance: object, attribute: attrs.Attribute[datetime], value: object) -> None:
    where = f"tcf: {type(instance).__name__}.{attribute.name}"
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise SignalError(f"{where}: expected an aware datetime, got {value!r}")
    if not 0 <= value.timestamp() <= _MAX_INSTANT:
        raise SignalError(f"{where}: {value.isoformat()} does not fit 36 bits of deciseconds")
    if value.microsecond % 100_000:
        raise SignalError(
            f"{where}: TC strings store deciseconds; {value.isoformat()} has a finer part"
        )


class Segment(enum.Enum):
    """The segments of a TC string, by their 3-bit segment type."""

    CORE = 0
    """The core segment: purposes, vendors, publisher restrictions (always first)."""
    DISCLOSED_VENDORS = 1
    """The vendors the CMP disclosed to the user (mandatory since TCF 2.3)."""
    ALLOWED_VENDORS = 2
    """Vendors the publisher allows to use out-of-band legal bases (deprecated)."""
    PUBLISHER_TC = 3
    """The publisher's own purposes and custom purposes."""

    @property
    def label(self) -> str:
        """The name used in error messages."""
        return self.name.lower().replace("_", " ")


class RestrictionType(enum.Enum):
    """What a publisher restriction requires of the vendors it names."""

    NOT_ALLOWED = 0
    """The vendors may not process for the purpose at all."""
    REQUIRE_CONSENT = 1
    """The vendors may process only with consent, not on legitimate interest."""
    REQUIRE_LEGITIMATE_INTEREST = 2
    """The vendors may process only on legitimate interest, not on consent."""


@attrs.frozen
class PublisherRestriction:
    """One PubRestrictionEntry: a restriction for one purpose and the vendors it applies to.

    Attributes:
        purpose: The TCF purpose id (6 bits on the wire).
        restriction: What the publisher requires.
        vendors: The GVL vendor ids restricted.
    """

    purpose: int = attrs.field(validator=_bounded(1, 63))
    restriction: RestrictionType = attrs.field(
        validator=attrs.validators.instance_of(RestrictionType)
    )
    vendors: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_id_set(65_535)
    )

    def __attrs_post_init__(self) -> None:
        if len(ranges_of(self.vendors)) > 4095:
            raise SignalError(
                f"tcf: PublisherRestriction for purpose {self.purpose}: the vendors need more "
                "than 4095 range entries"
            )


def _restrictions(value: Iterable[PublisherRestriction]) -> tuple[PublisherRestriction, ...]:
    return tuple(value)


def _custom(
    instance: PublisherTC, attribute: attrs.Attribute[frozenset[int]], value: frozenset[int]
) -> None:
    if (value and max(value) > instance.num_custom_purposes) or any(v < 1 for v in value):
        raise SignalError(
            f"tcf: PublisherTC.{attribute.name}: custom purpose ids run from 1 to "
            f"num_custom_purposes ({instance.num_custom_purposes}), got {sorted(value)}"
        )


@attrs.frozen
class PublisherTC:
    """The publisher TC segment: the publisher's own purposes.

    Attributes:
        purposes_consent: TCF purposes the user consented to for the publisher.
        purposes_li_transparency: TCF purposes with legitimate-interest transparency
            established for the publisher and no objection.
        num_custom_purposes: How many custom purposes the publisher declares (0-63).
        custom_purposes_consent: Custom purposes consented to.
        custom_purposes_li_transparency: Custom purposes with legitimate-interest
            transparency established and no objection.
    """

    purposes_consent: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_id_set(24)
    )
    purposes_li_transparency: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_id_set(24)
    )
    num_custom_purposes: int = attrs.field(default=0, validator=_bounded(0, 63))
    custom_purposes_consent: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_custom
    )
    custom_purposes_li_transparency: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_custom
    )


@attrs.frozen
class VendorWire:
    """How one vendor section was written.

    Attributes:
        max_vendor_id: The MaxVendorId written (at least the highest id present).
        is_range: Range encoding (``True``) or a bitfield (``False``).
        entries: The range entries as written, in order (range encoding only).
    """

    max_vendor_id: int
    is_range: bool
    entries: tuple[RangeEntry, ...] = ()


@attrs.frozen
class Wire:
    """How a decoded string was written, so that it can be written again byte for byte.

    Attributes:
        segments: Each segment in order: its kind, its base64url length and its
            number of ``=`` padding characters.
        vendor_consents: The vendor consent section.
        vendor_legitimate_interests: The vendor legitimate interest section.
        restrictions: The range entries of each publisher restriction, in order.
        disclosed_vendors: The disclosed vendors section, if present.
        allowed_vendors: The allowed vendors section, if present.
    """

    segments: tuple[tuple[Segment, int, int], ...]
    vendor_consents: VendorWire
    vendor_legitimate_interests: VendorWire
    restrictions: tuple[tuple[RangeEntry, ...], ...] = ()
    disclosed_vendors: VendorWire | None = None
    allowed_vendors: VendorWire | None = None


@attrs.frozen(kw_only=True)
class TCString:
    """The content of a TC string (format version 2), field by field as the spec names them.

    Vendor and purpose fields are sets of the ids whose bit is 1. Equality
    compares meaning only; :attr:`wire` (how the string was written) is kept
    apart so that :func:`lawful.signals.tcf.encode` can reproduce it.

    Attributes:
        created: Created (stored in deciseconds).
        last_updated: LastUpdated: when the user last changed a value.
        cmp_id: CmpId of the CMP that last updated the string.
        cmp_version: CmpVersion.
        consent_screen: ConsentScreen.
        consent_language: ConsentLanguage, two letters (``"EN"``).
        vendor_list_version: VendorListVersion of the GVL used.
        policy_version: TcfPolicyVersion (4 for TCF 2.2, 5 for later GVLs).
        is_service_specific: IsServiceSpecific.
        use_non_standard_texts: UseNonStandardTexts (formerly UseNonStandardStacks).
        special_feature_opt_ins: SpecialFeatureOptIns (ids 1-12).
        purposes_consent: PurposesConsent (ids 1-24).
        purposes_li_transparency: PurposesLITransparency (ids 1-24).
        purpose_one_treatment: PurposeOneTreatment (purpose 1 was not disclosed).
        publisher_cc: PublisherCC, two letters (``"DE"``).
        vendor_consents: Vendor ids with a consent bit set.
        vendor_legitimate_interests: Vendor ids with legitimate interest established.
        publisher_restrictions: The publisher restrictions, in order.
        disclosed_vendors: The disclosed vendors segment; ``None`` when absent.
        allowed_vendors: The allowed vendors segment (deprecated); ``None`` when absent.
        publisher_tc: The publisher TC segment; ``None`` when absent.
        wire: How the string was written; ``None``: write canonically.
    """

    created: datetime = attrs.field(validator=_instant)
    last_updated: datetime = attrs.field(validator=_instant)
    cmp_id: int = attrs.field(default=0, validator=_bounded(0, 4095))
    cmp_version: int = attrs.field(default=0, validator=_bounded(0, 4095))
    consent_screen: int = attrs.field(default=0, validator=_bounded(0, 63))
    consent_language: str = attrs.field(default="EN", validator=_code)
    vendor_list_version: int = attrs.field(default=0, validator=_bounded(0, 4095))
    policy_version: int = attrs.field(default=4, validator=_bounded(0, 63))
    is_service_specific: bool = True
    use_non_standard_texts: bool = False
    special_feature_opt_ins: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_id_set(12)
    )
    purposes_consent: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_id_set(24)
    )
    purposes_li_transparency: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_id_set(24)
    )
    purpose_one_treatment: bool = False
    publisher_cc: str = attrs.field(default="AA", validator=_code)
    vendor_consents: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_id_set(65_535)
    )
    vendor_legitimate_interests: frozenset[int] = attrs.field(
        default=frozenset(), converter=_ids, validator=_id_set(65_535)
    )
    publisher_restrictions: tuple[PublisherRestriction, ...] = attrs.field(
        default=(), converter=_restrictions
    )
    disclosed_vendors: frozenset[int] | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(_ids),
        validator=attrs.validators.optional(_id_set(65_535)),
    )
    allowed_vendors: frozenset[int] | None = attrs.field(
        default=None,
        converter=attrs.converters.optional(_ids),
        validator=attrs.validators.optional(_id_set(65_535)),
    )
    publisher_tc: PublisherTC | None = None
    wire: Wire | None = attrs.field(default=None, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if len(self.publisher_restrictions) > 4095:
            raise SignalError("tcf: TCString.publisher_restrictions: at most 4095 entries")


def ranges_of(ids: Iterable[int]) -> tuple[RangeEntry, ...]:
    """Maximal runs of consecutive ids, ascending: single ids alone, longer runs as ranges."""
    out: list[RangeEntry] = []
    start = prev = None
    for i in sorted(ids):
        if prev is not None and i == prev + 1:
            prev = i
            continue
        if start is not None and prev is not None:
            out.append(start if start == prev else (start, prev))
        start = prev = i
    if start is not None and prev is not None:
        out.append(start if start == prev else (start, prev))
    return tuple(out)


TCF_22_POLICY = 4
"""The TcfPolicyVersion of TCF 2.2; strings below it are invalid after 30 September 2023."""
KNOWN_POLICY = 5
"""The highest TcfPolicyVersion this library knows."""
_POLICY_CUTOFF = datetime(2023, 10, 1, tzinfo=UTC)
_DISCLOSED_CUTOFF = datetime(2026, 3, 1, tzinfo=UTC)
_NO_LI = frozenset({1, 3, 4, 5, 6})


def validate(tc: TCString, *, at: datetime) -> tuple[Finding, ...]:
    """What the TCF's rules say about a well-formed string used at ``at``.

    ``"invalid"`` findings are those the TCF says make a CMP discard the string;
    lawful then creates no grant from it. ``"warning"`` findings are worth logging.
    """
    found: list[Finding] = []

    def add(code: str, message: str, severity: Literal["invalid", "warning"] = "warning") -> None:
        found.append(Finding(code, f"tcf: {message}", severity))

    if tc.policy_version < TCF_22_POLICY and at >= _POLICY_CUTOFF:
        add(
            "policy_version_outdated",
            f"TcfPolicyVersion {tc.policy_version} is below {TCF_22_POLICY} (TCF 2.2); such "
            "strings are invalid after 30 September 2023",
            "invalid",
        )
    if tc.policy_version > KNOWN_POLICY:
        add(
            "policy_version_unknown",
            f"TcfPolicyVersion {tc.policy_version} is newer than {KNOWN_POLICY}, the latest known",
        )
    if tc.created > tc.last_updated:
        add(
            "created_after_last_updated",
            f"Created ({tc.created.isoformat()}) is after LastUpdated "
            f"({tc.last_updated.isoformat()})",
            "invalid",
        )
    if tc.cmp_id < 2:
        add(
            "cmp_id_invalid", f"CmpId {tc.cmp_id} is not a registered CMP id (2 or more)", "invalid"
        )
    if tc.vendor_list_version == 0:
        add("vendor_list_version_missing", "VendorListVersion is 0: no GVL version recorded")
    for where, li in (
        ("PurposesLITransparency", tc.purposes_li_transparency),
        (
            "PubPurposesLITransparency",
            frozenset() if tc.publisher_tc is None else tc.publisher_tc.purposes_li_transparency,
        ),
    ):
        if claimed := sorted(li & _NO_LI):
            add(
                "legitimate_interest_not_allowed",
                f"{where} claims legitimate interest for purpose(s) "
                f"{', '.join(map(str, claimed))}; purpose 1 never, and purposes 3-6 since TCF "
                "2.2, allow it: those bits are ignored",
            )
    if tc.disclosed_vendors is None and tc.created >= _DISCLOSED_CUTOFF:
        add(
            "disclosed_vendors_missing",
            "no disclosed vendors segment in a string created after 28 February 2026 (TCF 2.3)",
            "invalid",
        )
    if tc.disclosed_vendors is not None:
        hidden = (tc.vendor_consents | tc.vendor_legitimate_interests) - tc.disclosed_vendors
        if hidden:
            shown = ", ".join(map(str, sorted(hidden)[:10])) + (" ..." if len(hidden) > 10 else "")
            add(
                "vendor_not_disclosed",
                f"{len(hidden)} vendor(s) with a consent or legitimate-interest bit were not "
                f"disclosed ({shown}); TCF 2.3 treats them as having neither",
            )
    if not tc.is_service_specific:
        if tc.purpose_one_treatment:
            add(
                "purpose_one_treatment_global",
                "PurposeOneTreatment is set in a globally-scoped string",
                "invalid",
            )
        if tc.publisher_restrictions or tc.publisher_tc is not None:
            add(
                "publisher_segment_global",
                "a globally-scoped string carries publisher restrictions or a publisher TC segment",
                "invalid",
            )
    if tc.allowed_vendors is not None:
        add("allowed_vendors_deprecated", "the allowed vendors segment is deprecated")
    return tuple(found)
