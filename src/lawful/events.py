"""What happened to a data subject: one frozen class per kind of event.

Every event has an aware ``at`` (when it took effect), and optionally
``recorded_at`` (when it was written down) and an ``id`` (ledgers append
idempotently by id). Events are keyword-only:

>>> from datetime import datetime, UTC
>>> ConsentGiven(at=datetime(2025, 3, 1, 9, tzinfo=UTC), purpose="analytics").event_type
'consent_given'
>>> ConsentGiven(at=datetime(2025, 3, 1, 9), purpose="analytics")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
lawful.exceptions.NaiveDatetimeError: consent_given.at: naive datetime; attach a time zone ...
"""

from __future__ import annotations

import enum
import reprlib
from datetime import UTC, date, datetime
from typing import Any, ClassVar, TypeAlias

import attrs

from lawful._time import require_aware
from lawful.exceptions import EventError, EventTypeError, InstantError
from lawful.model import PurposeTerms

__all__ = [
    "AgeDeclared",
    "BirthDateDeclared",
    "ConsentGiven",
    "ConsentMethod",
    "ConsentWithdrawn",
    "ContractEnded",
    "ContractStarted",
    "Erasure",
    "Event",
    "Interaction",
    "Objection",
    "ObjectionOverridden",
    "ObjectionWithdrawn",
    "OptOut",
    "OptOutWithdrawn",
    "ParentalConsentGiven",
    "ParentalConsentWithdrawn",
    "RestrictionLifted",
    "RestrictionRequested",
    "TransferConsentGiven",
    "TransferConsentWithdrawn",
]


class ConsentMethod(enum.Enum):
    """How a consent was expressed (Art. 4(11), recital 32).

    Consent is "a clear affirmative act": a pre-ticked box, silence or inactivity is
    never consent (recital 32; CJEU C-673/17 *Planet49*), so an event with such a method
    grants nothing. Files written before methods were a closed set may hold free text:
    it loads as :attr:`UNSPECIFIED`, and ``lawful check`` says so.
    """

    UNSPECIFIED = "unspecified"
    """An affirmative act whose form was not recorded (also free text from older files)."""
    BANNER = "banner"
    """The person chose "accept" on a consent banner."""
    CHECKBOX = "checkbox"
    """The person ticked an unticked box."""
    TOGGLE = "toggle"
    """The person switched a setting on."""
    FORM = "form"
    """A form the person submitted for this purpose."""
    WRITTEN = "written"
    """A written (or electronically signed) statement."""
    ORAL = "oral"
    """An oral statement, recorded."""
    API = "api"
    """The host application recorded an affirmative act it captured itself."""
    TCF = "tcf"
    """An IAB TCF v2.2 TC string with the purpose's consent bits set."""
    CONSENT_MODE = "consent_mode"
    """A Google Consent Mode v2 update to ``granted`` (never its default)."""
    PIWIK_PRO = "piwik_pro"
    """A Piwik PRO Consent Manager decision of 1."""
    PRE_TICKED_BOX = "pre_ticked_box"
    """A box ticked in advance that the person left as it was: never consent (Planet49)."""
    SILENCE = "silence"
    """The person said nothing: never consent (recital 32)."""
    INACTIVITY = "inactivity"
    """The person did nothing, or went on browsing: never consent (recital 32)."""

    @property
    def affirmative(self) -> bool:
        """Whether the method is a clear affirmative act, so the event can grant."""
        return self not in _NOT_CONSENT


_NOT_CONSENT = frozenset(
    {ConsentMethod.PRE_TICKED_BOX, ConsentMethod.SILENCE, ConsentMethod.INACTIVITY}
)


# -- checked where made ----------------------------------------------------------------------
# attrs validators, plain module functions (no closures): an event is checked once, when it
# is made, so deciding never meets a malformed one and pays nothing for the checks.


def _where(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).event_type}.{attribute.name}"  # type: ignore[attr-defined]


def _show(value: object) -> str:
    """``None``, ``b'x'``, ``1`` (int): what was given, briefly and safely."""
    if value is None or isinstance(value, bool | str):
        text = repr(value)
    else:
        text = f"{type(value).__name__} {reprlib.repr(value)}"
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


_SHOWN = 60


def _wrong(instance: object, attribute: attrs.Attribute[Any], expected: str, value: object) -> None:
    raise EventTypeError(f"{_where(instance, attribute)}: expected {expected}, got {_show(value)}")


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # ``type(...) is str``: bytes, str subclasses with their own ``==`` and other look-alikes
    # never reach the engine, which matches ids by equality.
    if type(value) is not str or not value:
        if type(value) is str:
            raise EventError(f"{_where(instance, attribute)}: expected a non-empty string, got ''")
        _wrong(instance, attribute, "a non-empty string", value)


def _text_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _text(instance, attribute, value)


def _any_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not str:
        _wrong(instance, attribute, "a string", value)


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bool:  # not 1, not "no": only True or False
        _wrong(instance, attribute, "True or False", value)


def _method(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not ConsentMethod:
        _wrong(instance, attribute, "a lawful.ConsentMethod", value)


def _terms(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and type(value) is not PurposeTerms:
        _wrong(instance, attribute, "lawful.PurposeTerms or None", value)


def _moment(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is datetime and value.tzinfo is UTC and 1 < value.year < 9999:
        return  # the usual instant: aware, and in UTC's years (require_aware's checks)
    if not isinstance(value, datetime):
        _wrong(instance, attribute, "an aware datetime", value)
        return
    try:
        require_aware(value, _where(instance, attribute))
    except InstantError as exc:
        raise EventError(str(exc)) from None


def _moment_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _moment(instance, attribute, value)


def _day(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # A datetime is a date too, but a birth date has no time of day or zone to guess from.
    if type(value) is not date:
        _wrong(instance, attribute, "a datetime.date", value)


def _age(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int:  # not True, not 17.5
        _wrong(instance, attribute, "a whole number of years", value)
    elif not 0 <= value <= _MAX_AGE:
        raise EventError(
            f"{_where(instance, attribute)}: expected an age from 0 to {_MAX_AGE}, got {value}"
        )


_MAX_AGE = 200


@attrs.frozen(kw_only=True)
class _EventBase:
    """Fields every event has."""

    event_type: ClassVar[str] = "event"
    rank: ClassVar[int] = 0
    """Order among events at the same instant: higher is more restrictive and wins."""

    at: datetime = attrs.field(validator=_moment)
    recorded_at: datetime | None = attrs.field(default=None, validator=_moment_or_none)
    id: str | None = attrs.field(default=None, validator=_text_or_none)


@attrs.frozen(kw_only=True)
class ConsentGiven(_EventBase):
    """The person consented (Art. 4(11), Art. 6(1)(a), Art. 7).

    Attributes:
        purpose: The purpose id.
        vendor: The vendor, for per-vendor consent; ``None`` for the whole purpose.
        policy_version: The policy version the consent was given under; ``None`` means
            the policy's current version (ledgers and signals always stamp it).
        terms: The terms shown, if recorded; otherwise those of ``policy_version``.
        explicit: Whether the consent was explicit (Art. 9(2)(a)).
        method: How it was expressed; a pre-ticked box, silence or inactivity grants
            nothing (:class:`ConsentMethod`).
    """

    event_type: ClassVar[str] = "consent_given"
    rank: ClassVar[int] = 0
    purpose: str = attrs.field(validator=_text)
    vendor: str | None = attrs.field(default=None, validator=_text_or_none)
    policy_version: str | None = attrs.field(default=None, validator=_text_or_none)
    terms: PurposeTerms | None = attrs.field(default=None, validator=_terms)
    explicit: bool = attrs.field(default=False, validator=_flag)
    method: ConsentMethod = attrs.field(default=ConsentMethod.UNSPECIFIED, validator=_method)


@attrs.frozen(kw_only=True)
class ConsentWithdrawn(_EventBase):
    """The person withdrew consent, or refused it (Art. 7(3))."""

    event_type: ClassVar[str] = "consent_withdrawn"
    rank: ClassVar[int] = 1
    purpose: str = attrs.field(validator=_text)
    vendor: str | None = attrs.field(default=None, validator=_text_or_none)


@attrs.frozen(kw_only=True)
class Objection(_EventBase):
    """The person objected (Art. 21); ``purpose=None`` objects to every purpose.

    Attributes:
        automated: Expressed by automated means such as a browser signal (Art. 21(5)).
    """

    event_type: ClassVar[str] = "objection"
    rank: ClassVar[int] = 2
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)
    automated: bool = attrs.field(default=False, validator=_flag)


@attrs.frozen(kw_only=True)
class ObjectionWithdrawn(_EventBase):
    """The person withdrew an objection."""

    event_type: ClassVar[str] = "objection_withdrawn"
    rank: ClassVar[int] = 0
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)


@attrs.frozen(kw_only=True)
class ObjectionOverridden(_EventBase):
    """The controller decided, case by case, that compelling legitimate grounds override
    the objection (Art. 21(1)); only effective where the policy admits it for the purpose.
    """

    event_type: ClassVar[str] = "objection_overridden"
    rank: ClassVar[int] = 1
    purpose: str = attrs.field(validator=_text)
    grounds: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class TransferConsentGiven(_EventBase):
    """The person explicitly consented to a vendor's transfer outside the EEA, having been
    told of its risks (Art. 49(1)(a)); ``purpose=None``: for every purpose.

    Attributes:
        vendor: The vendor whose third-country transfer is consented to.
        purpose: The purpose id, or ``None`` for every purpose.
        method: How it was expressed; only an affirmative act grants (Art. 4(11)).
    """

    event_type: ClassVar[str] = "transfer_consent_given"
    rank: ClassVar[int] = 0
    vendor: str = attrs.field(validator=_text)
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)
    method: ConsentMethod = attrs.field(default=ConsentMethod.UNSPECIFIED, validator=_method)


@attrs.frozen(kw_only=True)
class TransferConsentWithdrawn(_EventBase):
    """The person withdrew (or refused) consent to a vendor's transfer (Art. 7(3),
    49(1)(a)); ``purpose=None``: for every purpose.
    """

    event_type: ClassVar[str] = "transfer_consent_withdrawn"
    rank: ClassVar[int] = 1
    vendor: str = attrs.field(validator=_text)
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)


@attrs.frozen(kw_only=True)
class RestrictionRequested(_EventBase):
    """Processing is restricted (Art. 18); ``purpose=None`` restricts every purpose."""

    event_type: ClassVar[str] = "restriction_requested"
    rank: ClassVar[int] = 1
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)
    ground: str = attrs.field(default="", validator=_any_text)


@attrs.frozen(kw_only=True)
class RestrictionLifted(_EventBase):
    """A restriction ends (Art. 18(3))."""

    event_type: ClassVar[str] = "restriction_lifted"
    rank: ClassVar[int] = 0
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)


@attrs.frozen(kw_only=True)
class Erasure(_EventBase):
    """The subject's data was erased (Art. 17): data collected at or before it is never
    processed again, and consent-based processing needs a consent given after it.
    """

    event_type: ClassVar[str] = "erasure"
    rank: ClassVar[int] = 2


@attrs.frozen(kw_only=True)
class OptOut(_EventBase):
    """The person opted out; every purpose that lists ``scope`` stops.

    A scope the policy does not declare stops every purpose (fail closed).
    """

    event_type: ClassVar[str] = "opt_out"
    rank: ClassVar[int] = 1
    scope: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class OptOutWithdrawn(_EventBase):
    """The person withdrew an opt-out of ``scope``."""

    event_type: ClassVar[str] = "opt_out_withdrawn"
    rank: ClassVar[int] = 0
    scope: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class BirthDateDeclared(_EventBase):
    """The person's birth date became known."""

    event_type: ClassVar[str] = "birth_date_declared"
    rank: ClassVar[int] = 0
    birth_date: date = attrs.field(validator=_day)


@attrs.frozen(kw_only=True)
class AgeDeclared(_EventBase):
    """The person declared being at least ``at_least`` years old at ``at``."""

    event_type: ClassVar[str] = "age_declared"
    rank: ClassVar[int] = 0
    at_least: int = attrs.field(validator=_age)


@attrs.frozen(kw_only=True)
class ParentalConsentGiven(_EventBase):
    """A holder of parental responsibility consented (Art. 8(1)); ``purpose=None``: all."""

    event_type: ClassVar[str] = "parental_consent_given"
    rank: ClassVar[int] = 0
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)
    guardian: str | None = attrs.field(default=None, validator=_text_or_none)


@attrs.frozen(kw_only=True)
class ParentalConsentWithdrawn(_EventBase):
    """Parental consent was withdrawn; ``purpose=None``: all."""

    event_type: ClassVar[str] = "parental_consent_withdrawn"
    rank: ClassVar[int] = 1
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)


@attrs.frozen(kw_only=True)
class ContractStarted(_EventBase):
    """A contract with the person came into force (Art. 6(1)(b))."""

    event_type: ClassVar[str] = "contract_started"
    rank: ClassVar[int] = 0
    contract: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class ContractEnded(_EventBase):
    """A contract with the person ended."""

    event_type: ClassVar[str] = "contract_ended"
    rank: ClassVar[int] = 1
    contract: str = attrs.field(validator=_text)


@attrs.frozen(kw_only=True)
class Interaction(_EventBase):
    """The person interacted (a page view, a reply, a demo request); retention rules
    count from the last interaction of named kinds, and sessions end without them.
    """

    event_type: ClassVar[str] = "interaction"
    rank: ClassVar[int] = 0
    kind: str = attrs.field(validator=_text)
    purpose: str | None = attrs.field(default=None, validator=_text_or_none)


Event: TypeAlias = (
    ConsentGiven
    | ConsentWithdrawn
    | Objection
    | ObjectionWithdrawn
    | ObjectionOverridden
    | RestrictionRequested
    | RestrictionLifted
    | Erasure
    | OptOut
    | OptOutWithdrawn
    | BirthDateDeclared
    | AgeDeclared
    | ParentalConsentGiven
    | ParentalConsentWithdrawn
    | ContractStarted
    | ContractEnded
    | Interaction
    | TransferConsentGiven
    | TransferConsentWithdrawn
)
"""Any event."""

EVENT_TYPES: tuple[type[Event], ...] = (
    ConsentGiven,
    ConsentWithdrawn,
    Objection,
    ObjectionWithdrawn,
    ObjectionOverridden,
    RestrictionRequested,
    RestrictionLifted,
    Erasure,
    OptOut,
    OptOutWithdrawn,
    BirthDateDeclared,
    AgeDeclared,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    ContractStarted,
    ContractEnded,
    Interaction,
    TransferConsentGiven,
    TransferConsentWithdrawn,
)
BY_TYPE: dict[str, type[Event]] = {cls.event_type: cls for cls in EVENT_TYPES}
