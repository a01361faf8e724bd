"""The parts of a policy: legal bases, data categories, vendors, retention, age rules, purposes.

Every class here is a frozen value. A :class:`Purpose` states what the policy
declares about one purpose; the :class:`CompiledPurpose` a :class:`lawful.Policy`
makes of it also carries the policy's context (its version and earlier versions,
age rules, transfers, opt-out scopes), so ``may_process(subject,
policy.purpose(...), at)`` needs nothing else, and takes nothing less.
"""

from __future__ import annotations

import enum
import re
import reprlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from lawful.duration import Duration
from lawful.exceptions import PolicyError, PolicyTypeError, Problem

if TYPE_CHECKING:  # the engine's compiled form: a decision reads it, the model holds it
    from lawful._engine.plan import Plan

__all__ = [
    "AfterCollection",
    "AfterLastInteraction",
    "AgeRules",
    "AgeScope",
    "CompiledPurpose",
    "Contact",
    "DataCategory",
    "Entity",
    "LegalBasis",
    "NoPeriodStated",
    "OptOutScope",
    "PolicyContext",
    "Purpose",
    "PurposeTerms",
    "RestrictionException",
    "Retention",
    "RetentionCombine",
    "RetentionRule",
    "SessionEnd",
    "SignalBinding",
    "Signals",
    "SpecialCategoryCondition",
    "TcfBinding",
    "TransferDerogation",
    "TransferMechanism",
    "UnknownAge",
    "UnknownSubjectCategory",
    "Vendor",
    "VendorRole",
]


class LegalBasis(enum.Enum):
    """The six lawful bases of GDPR Art. 6(1)."""

    CONSENT = "consent"
    """Art. 6(1)(a): the data subject has given consent for one or more specific purposes."""
    CONTRACT = "contract"
    """Art. 6(1)(b): necessary for a contract with the data subject, or steps before one."""
    LEGAL_OBLIGATION = "legal_obligation"
    """Art. 6(1)(c): necessary for a legal obligation of the controller."""
    VITAL_INTERESTS = "vital_interests"
    """Art. 6(1)(d): necessary to protect the vital interests of a natural person."""
    PUBLIC_TASK = "public_task"
    """Art. 6(1)(e): necessary for a task in the public interest or official authority."""
    LEGITIMATE_INTERESTS = "legitimate_interests"
    """Art. 6(1)(f): necessary for the legitimate interests of the controller or a third party."""

    @property
    def article(self) -> str:
        """The article that grants this basis, such as ``Art. 6(1)(a)``."""
        return _BASIS_ARTICLE[self]


_BASIS_ARTICLE = {
    LegalBasis.CONSENT: "Art. 6(1)(a)",
    LegalBasis.CONTRACT: "Art. 6(1)(b)",
    LegalBasis.LEGAL_OBLIGATION: "Art. 6(1)(c)",
    LegalBasis.VITAL_INTERESTS: "Art. 6(1)(d)",
    LegalBasis.PUBLIC_TASK: "Art. 6(1)(e)",
    LegalBasis.LEGITIMATE_INTERESTS: "Art. 6(1)(f)",
}


class SpecialCategoryCondition(enum.Enum):
    """The conditions of Art. 9(2) under which special categories may be processed."""

    EXPLICIT_CONSENT = "a"
    """Art. 9(2)(a): explicit consent; the only condition that needs a consent event."""
    EMPLOYMENT = "b"
    """Art. 9(2)(b): employment, social security and social protection law."""
    VITAL_INTERESTS = "c"
    """Art. 9(2)(c): vital interests where the person cannot consent."""
    NOT_FOR_PROFIT = "d"
    """Art. 9(2)(d): a not-for-profit body's members."""
    MADE_PUBLIC = "e"
    """Art. 9(2)(e): data manifestly made public by the data subject."""
    LEGAL_CLAIMS = "f"
    """Art. 9(2)(f): establishment, exercise or defence of legal claims."""
    SUBSTANTIAL_PUBLIC_INTEREST = "g"
    """Art. 9(2)(g): substantial public interest on the basis of law."""
    HEALTH_CARE = "h"
    """Art. 9(2)(h): preventive or occupational medicine, health or social care."""
    PUBLIC_HEALTH = "i"
    """Art. 9(2)(i): public interest in the area of public health."""
    ARCHIVING_RESEARCH = "j"
    """Art. 9(2)(j): archiving, scientific or historical research, statistics."""


class VendorRole(enum.Enum):
    """Who a recipient is to the controller (Art. 4(7)-(10), Art. 28)."""

    FIRST_PARTY = "first_party"
    """The controller itself (for example its own analytics software)."""
    PROCESSOR = "processor"
    """Art. 28: processes on the controller's behalf and instructions."""
    THIRD_PARTY = "third_party"
    """Art. 4(10): a recipient that is neither controller nor processor (often a controller)."""


class TransferMechanism(enum.Enum):
    """The safeguard for a transfer outside the EEA (Chapter V GDPR)."""

    NOT_APPLICABLE = "not_applicable"
    """The data stays in the EEA: no Chapter V transfer."""
    ADEQUACY = "adequacy"
    """Art. 45: an adequacy decision (for the US, the EU-US Data Privacy Framework)."""
    STANDARD_CONTRACTUAL_CLAUSES = "standard_contractual_clauses"
    """Art. 46(2)(c): standard data protection clauses adopted by the Commission."""
    BINDING_CORPORATE_RULES = "binding_corporate_rules"
    """Art. 47: binding corporate rules."""
    DEROGATION = "derogation"
    """Art. 49: a derogation for a specific situation; the vendor names its ground
    (:class:`TransferDerogation`), which the decision checks like a basis."""
    NOT_STATED = "not_stated"
    """The policy does not say: the transfer cannot be shown lawful (Art. 44, 46(1)), so
    ``lawful check`` warns and the decision denies ``TRANSFER_SAFEGUARD_MISSING``."""


class TransferDerogation(enum.Enum):
    """The ground of an Art. 49 derogation, for a vendor whose mechanism is ``DEROGATION``."""

    EXPLICIT_CONSENT = "explicit_consent"
    """Art. 49(1)(a): the person explicitly consented to the transfer, informed of its
    risks; needs a :class:`lawful.TransferConsentGiven` in force."""
    CONTRACT = "contract"
    """Art. 49(1)(b): necessary for a contract with the person; needs a contract in force."""
    CONTRACT_IN_INTEREST = "contract_in_interest"
    """Art. 49(1)(c): necessary for a contract concluded in the person's interest; needs a
    contract in force."""
    PUBLIC_INTEREST = "public_interest"
    """Art. 49(1)(d): necessary for important reasons of public interest."""
    LEGAL_CLAIMS = "legal_claims"
    """Art. 49(1)(e): necessary for legal claims."""
    VITAL_INTERESTS = "vital_interests"
    """Art. 49(1)(f): vital interests where the person cannot consent."""
    PUBLIC_REGISTER = "public_register"
    """Art. 49(1)(g): from a public register."""
    COMPELLING_LEGITIMATE_INTERESTS = "compelling_legitimate_interests"
    """Art. 49(1), second subparagraph: a transfer that is not repetitive; refused at load
    for a purpose that recurs."""


class RestrictionException(enum.Enum):
    """What a purpose may still do while processing is restricted (Art. 18(2)), besides
    storage and the person's own consent given after the restriction.
    """

    LEGAL_CLAIMS = "legal_claims"
    """Art. 18(2): the establishment, exercise or defence of legal claims."""
    DATA_SUBJECT_REQUEST = "data_subject_request"
    """Art. 18(2), 12: answering the person's own request (a rights request is processing the
    person asked for)."""
    PROTECTION_OF_OTHERS = "protection_of_others"
    """Art. 18(2): the protection of the rights of another natural or legal person."""
    IMPORTANT_PUBLIC_INTEREST = "important_public_interest"
    """Art. 18(2): important reasons of public interest of the Union or a Member State."""


# -- checked where made ----------------------------------------------------------------------
# attrs validators, plain functions made once at import: a policy object is checked when it
# is built, so the engine never meets ``outside_eea="no"`` or ``vendors=None``. The problem's
# path is ``class.field`` (``vendor.outside_eea``); read from a file, the file's path is used.
# Type problems raise PolicyTypeError (a TypeError too), values PolicyError.

_SHOWN = 60


def _show(value: object) -> str:
    if value is None or isinstance(value, bool | str):
        text = repr(value)
    else:
        text = f"{type(value).__name__} {reprlib.repr(value)}"
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _path(instance: object, attribute: attrs.Attribute[Any]) -> str:
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(instance).__name__).lower()
    return f"{name}.{attribute.name}"


def _wrong(instance: object, attribute: attrs.Attribute[Any], expected: str, value: object) -> None:
    problem = Problem(_path(instance, attribute), f"expected {expected}, got {_show(value)}")
    raise PolicyTypeError([problem])


def _id(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not str:
        _wrong(instance, attribute, "a non-empty string", value)
    elif not value:
        raise PolicyError([Problem(_path(instance, attribute), "expected a non-empty string")])


def _id_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _id(instance, attribute, value)


def _text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not str:
        _wrong(instance, attribute, "a string", value)


def _text_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and type(value) is not str:
        _wrong(instance, attribute, "a string or None", value)


def _flag(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not bool:  # not 1, not "no"
        _wrong(instance, attribute, "True or False", value)


def _ids(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not tuple or any(type(v) is not str or not v for v in value):
        _wrong(instance, attribute, "a tuple of non-empty strings", value)


def _texts(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not tuple or any(type(v) is not str for v in value):
        _wrong(instance, attribute, "a tuple of strings", value)


def _id_set(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not frozenset or any(type(v) is not str or not v for v in value):
        _wrong(instance, attribute, "a frozenset of non-empty strings", value)


def _duration(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not Duration:
        _wrong(instance, attribute, "a lawful.Duration", value)


def _duration_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None and type(value) is not Duration:
        _wrong(instance, attribute, "a lawful.Duration or None", value)


_MAX_AGE = 200


def _age_or_none(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if type(value) is not int:
        _wrong(instance, attribute, "a whole number of years or None", value)
    elif not 0 <= value <= _MAX_AGE:
        problem = Problem(
            _path(instance, attribute), f"expected an age from 0 to {_MAX_AGE}, got {value}"
        )
        raise PolicyError([problem])


def _member(cls: type[enum.Enum], *, optional: bool = False) -> Callable[..., None]:
    """A validator that accepts members of ``cls`` (made once per field, at import)."""
    expected = f"a lawful.{cls.__name__}" + (" or None" if optional else "")

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is not cls and not (optional and value is None):
            _wrong(instance, attribute, expected, value)

    return check


def _members(cls: Any, name: str) -> Callable[..., None]:
    """A validator for a tuple of ``cls`` instances (made once per field, at import)."""
    expected = f"a tuple of {name}"

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if type(value) is not tuple or not all(isinstance(v, cls) for v in value):
            _wrong(instance, attribute, expected, value)

    return check


@attrs.frozen
class DataCategory:
    """A declared kind of personal data.

    Attributes:
        id: Stable identifier used by purposes, events and queries.
        title: Human name, as the policy shows it.
        special: Whether it is a special category of Art. 9(1).
        description: Optional detail.
    """

    id: str = attrs.field(validator=_id)
    title: str = attrs.field(validator=_text)
    special: bool = attrs.field(default=False, validator=_flag)
    description: str = attrs.field(default="", validator=_text)


@attrs.frozen
class Vendor:
    """A recipient of personal data: first party, processor or third party.

    Attributes:
        id: Stable identifier.
        name: Legal or trading name.
        role: First party, processor or third party.
        hosting: Where it hosts the data, as the policy states it.
        outside_eea: Whether data goes outside the EEA (a Chapter V transfer).
        transfer: The transfer mechanism; ``NOT_STATED`` when the policy is silent.
        derogation: The Art. 49 ground, where ``transfer`` is ``DEROGATION``.
        description: What it is used for.
        notes: How the policy text was read for this vendor, where it is vague (shown by
            ``render`` and the Art. 30 record).
    """

    id: str = attrs.field(validator=_id)
    name: str = attrs.field(validator=_text)
    role: VendorRole = attrs.field(default=VendorRole.THIRD_PARTY, validator=_member(VendorRole))
    hosting: str = attrs.field(default="not stated", validator=_text)
    outside_eea: bool = attrs.field(default=False, validator=_flag)
    transfer: TransferMechanism = attrs.field(
        default=TransferMechanism.NOT_APPLICABLE, validator=_member(TransferMechanism)
    )
    derogation: TransferDerogation | None = attrs.field(
        default=None, validator=_member(TransferDerogation, optional=True)
    )
    description: str = attrs.field(default="", validator=_text)
    notes: str = attrs.field(default="", validator=_text)


@attrs.frozen
class AfterCollection:
    """Keep data for ``period`` counted from its collection."""

    period: Duration = attrs.field(validator=_duration)


@attrs.frozen
class AfterLastInteraction:
    """Keep data for ``period`` after the last interaction of one of ``kinds``.

    The rule applies only once such an interaction is on record; it counts from
    the later of that interaction and the data's collection.
    """

    period: Duration = attrs.field(validator=_duration)
    kinds: tuple[str, ...] = attrs.field(validator=_ids)


@attrs.frozen
class SessionEnd:
    """Keep data until the browsing session ends: ``inactivity`` without any interaction."""

    inactivity: Duration = attrs.field(validator=_duration)


@attrs.frozen
class NoPeriodStated:
    """The policy states no period ("as long as necessary"): no limit, and a warning."""

    note: str = attrs.field(default="", validator=_text)


RetentionRule: TypeAlias = AfterCollection | AfterLastInteraction | SessionEnd | NoPeriodStated
"""One retention rule."""


class RetentionCombine(enum.Enum):
    """How several retention rules combine."""

    FIRST = "first"
    """The first rule that applies decides (HubSpot: 24 months after the last exchange if
    there was one, else 6 months after collection)."""
    EARLIEST = "earliest"
    """Every rule that applies counts, and the earliest limit wins."""


@attrs.frozen
class Retention:
    """Ordered retention rules (Art. 5(1)(e), Art. 13(2)(a)).

    Attributes:
        rules: The rules in order; an empty tuple means "no period stated".
        combine: How the rules combine.
    """

    rules: tuple[RetentionRule, ...] = attrs.field(
        default=(NoPeriodStated(),),
        validator=_members(
            (AfterCollection, AfterLastInteraction, SessionEnd, NoPeriodStated), "retention rules"
        ),
    )
    combine: RetentionCombine = attrs.field(
        default=RetentionCombine.FIRST, validator=_member(RetentionCombine)
    )

    @property
    def stated(self) -> bool:
        """Whether any rule sets a limit."""
        return any(not isinstance(rule, NoPeriodStated) for rule in self.rules)


class AgeScope(enum.Enum):
    """Which purposes an age rule covers."""

    CONSENT_PURPOSES = "consent"
    """Only consent-based purposes: the scope of Art. 8(1)."""
    ALL_PURPOSES = "all"
    """Every purpose, whatever its basis."""


class UnknownAge(enum.Enum):
    """What to do when no age is on record."""

    ASSUME_ADULT = "assume_adult"
    """Nobody "knowingly" processes a child's data: decide as for an adult (the default)."""
    DENY = "deny"
    """Deny until an age or birth date is declared (Art. 8(2) reasonable efforts)."""


class UnknownSubjectCategory(enum.Enum):
    """What to do when a subject's data-subject categories are unknown."""

    ALLOW = "allow"
    """Decide as if every purpose covered the subject (the default)."""
    DENY = "deny"
    """Deny purposes that name the categories they cover."""


@attrs.frozen
class AgeRules:
    """Age thresholds (Art. 8).

    Attributes:
        minimum_age: Below this age, deny. ``None``: no minimum.
        parental_consent_age: Up to and including this age, parental consent must be in force.
        scope: Consent-based purposes only, or every purpose.
        unknown_age: Assume an adult, or deny, when no age is on record.
        sections: The policy sections the rules cover (purposes whose ``section`` is
            listed); empty: every section. A rule about "the use of the website" does not
            reach job applications or client contracts.
    """

    minimum_age: int | None = attrs.field(default=None, validator=_age_or_none)
    parental_consent_age: int | None = attrs.field(default=None, validator=_age_or_none)
    scope: AgeScope = attrs.field(default=AgeScope.CONSENT_PURPOSES, validator=_member(AgeScope))
    unknown_age: UnknownAge = attrs.field(
        default=UnknownAge.ASSUME_ADULT, validator=_member(UnknownAge)
    )
    sections: tuple[str, ...] = attrs.field(default=(), validator=_ids)


@attrs.frozen
class Entity:
    """A legal entity: a controller or a member of a group of controllers."""

    name: str = attrs.field(validator=_text)
    address: str = attrs.field(default="", validator=_text)
    country: str = attrs.field(default="", validator=_text)


@attrs.frozen
class Contact:
    """Who a data subject can turn to.

    Attributes:
        dpo: How to reach the Data Protection Officer (Art. 37-39).
        supervisory_authority: Where a complaint can be lodged (Art. 77).
        rights: The data-subject rights the policy names.
    """

    dpo: str = attrs.field(default="not stated", validator=_text)
    supervisory_authority: str = attrs.field(default="not stated", validator=_text)
    rights: tuple[str, ...] = attrs.field(default=(), validator=_texts)


@attrs.frozen
class OptOutScope:
    """A named reach of opt-out signals: the purposes that list it stop after such an opt-out."""

    title: str = attrs.field(validator=_text)
    description: str = attrs.field(default="", validator=_text)


def _numbers(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not tuple or any(type(v) is not int or v < 1 for v in value):
        _wrong(instance, attribute, "a tuple of positive integers", value)


def _vendor_ids(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, Mapping) or any(
        type(k) is not str or not k or type(v) is not int or v < 1 for k, v in value.items()
    ):
        _wrong(instance, attribute, "a mapping of vendor ids to positive GVL ids", value)


def _retention(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not Retention:
        _wrong(instance, attribute, "a lawful.Retention", value)


@attrs.frozen
class TcfBinding:
    """Maps IAB TCF purposes and vendors to one lawful purpose.

    Attributes:
        purpose: The lawful purpose id.
        tcf_purposes: TCF purpose ids that must all be consented.
        vendors: lawful vendor id -> GVL vendor id; each vendor's consent bit is read too.
        publisher: Read the purposes from the publisher TC segment (the site's own
            purposes) rather than the core segment's (the vendors' purposes).
    """

    purpose: str = attrs.field(validator=_id)
    tcf_purposes: tuple[int, ...] = attrs.field(validator=_numbers)
    vendors: Mapping[str, int] = attrs.field(factory=dict, validator=_vendor_ids)
    publisher: bool = attrs.field(default=False, validator=_flag)


@attrs.frozen
class SignalBinding:
    """Maps one consent type of a signal (Consent Mode, Piwik PRO) to lawful purposes."""

    signal: str = attrs.field(validator=_id)
    purposes: tuple[str, ...] = attrs.field(validator=_ids)


@attrs.frozen
class Signals:
    """How incoming signals map onto this policy.

    Attributes:
        tcf: IAB TCF bindings.
        gpc_scope: The opt-out scope a Global Privacy Control signal triggers.
        consent_mode: Google Consent Mode v2 consent types to purposes.
        piwik_pro: Piwik PRO Consent Manager consent types to purposes.
    """

    tcf: tuple[TcfBinding, ...] = attrs.field(
        default=(), validator=_members(TcfBinding, "lawful.TcfBinding")
    )
    gpc_scope: str | None = attrs.field(default=None, validator=_id_or_none)
    consent_mode: tuple[SignalBinding, ...] = attrs.field(
        default=(), validator=_members(SignalBinding, "lawful.SignalBinding")
    )
    piwik_pro: tuple[SignalBinding, ...] = attrs.field(
        default=(), validator=_members(SignalBinding, "lawful.SignalBinding")
    )


@attrs.frozen
class PurposeTerms:
    """What a person consented to: the terms that staleness compares (Art. 4(11), 7(2)).

    Attributes:
        statement: The purpose statement shown to the person.
        basis: The legal basis declared.
        vendors: The vendors named.
        data: The data categories named.
    """

    statement: str = attrs.field(validator=_text)
    basis: LegalBasis = attrs.field(validator=_member(LegalBasis))
    vendors: frozenset[str] = attrs.field(default=frozenset(), validator=_id_set)
    data: frozenset[str] = attrs.field(default=frozenset(), validator=_id_set)


@attrs.frozen(eq=False)
class PolicyContext:
    """The policy-wide facts a :class:`lawful.Purpose` carries once it comes from a policy.

    Attributes:
        policy_id: The policy's id.
        version: The policy's current version.
        age: The policy's age rules.
        stale: For each known version, why a consent given under it is stale for
            this purpose (an empty tuple: still valid). Unknown versions are stale.
        declared_scopes: Every opt-out scope the policy declares; an opt-out with any
            other scope stops every purpose (fail closed).
        special: Whether the purpose uses a special category (Art. 9(1)).
        unknown_subject_category: What to do when a subject's categories are unknown.
        age_covers: Whether the age rules cover the purpose's section
            (``AgeRules.sections``), so a child's consent to it must be authorised.
        age_applies: Whether the age check runs for the purpose: covered, and based on
            consent (Art. 8) or under rules that cover every purpose.
        dated_versions: The versions that state when they took effect, as
            (instant in microseconds since the Unix epoch, version), in time order: an
            unversioned consent is judged under the one in force at its instant.
        undated_stale: Why an unversioned consent given before every dated version (or
            with no version dated) is stale: judged under every version the policy knows
            that could have been in force, the oldest included.
        transfers: The purpose's vendors outside the EEA, by id (Chapter V).
        reached_by_all: Whether an opt-out of "all", or of a scope the policy does not
            declare, reaches the purpose: every purpose but those on contract, legal
            obligation or vital interests that are not direct marketing (Art. 21). Such
            a purpose is reached only by a scope the policy declares and lists it under.
    """

    policy_id: str
    version: str
    age: AgeRules
    stale: Mapping[str, tuple[str, ...]]
    declared_scopes: frozenset[str]
    special: bool
    unknown_subject_category: UnknownSubjectCategory
    age_covers: bool = True
    age_applies: bool = True
    dated_versions: tuple[tuple[int, str], ...] = ()
    undated_stale: tuple[str, ...] = ()
    transfers: Mapping[str, Vendor] = attrs.field(factory=dict)
    reached_by_all: bool = True


@attrs.frozen
class Purpose:
    """A purpose of processing and everything the decision needs about it.

    Attributes:
        id: Stable identifier.
        title: Short name.
        statement: The statement shown to people (what the data is used for).
        basis: The Art. 6(1) legal basis.
        data: Data category ids used.
        vendors: Vendor ids that receive or process the data (the first party included).
        retention: Retention rules.
        section: The policy section it belongs to, which names its controllers.
        subjects: The data-subject categories it covers; empty means every category.
        consent_lifetime: How long a consent lasts (consent purposes).
        per_vendor_consent: Whether consent is asked per vendor.
        withdrawal: How a person withdraws consent (consent purposes must say).
        legitimate_interest: The interest pursued (Art. 6(1)(f)).
        assessment: A reference to the legitimate-interest assessment.
        direct_marketing: Whether it is direct marketing (objection absolute, Art. 21(3)).
        override_admissible: Whether the controller may override an objection case by
            case on compelling legitimate grounds (Art. 21(1)).
        special_category_condition: The Art. 9(2) condition where special categories are used.
        device_access: Whether it reads or writes the person's device (ePrivacy Art. 5(3)).
        strictly_necessary: Why device access is strictly necessary, if it is.
        opt_out_scopes: The opt-out scopes that stop it.
        processor_only: The controller only processes for its clients as their processor;
            the client decides (Art. 28).
        restriction_exceptions: The Art. 18(2) exceptions the purpose may rely on while
            processing is restricted.
        recurring: Whether the processing repeats (every purpose a policy declares does,
            unless it says otherwise); a recurring purpose cannot rest a transfer on
            Art. 49(1)'s second subparagraph.
        notes: How the policy text was read, where it is vague.
        context: Filled in by :class:`lawful.Policy`; not part of the file.
    """

    id: str = attrs.field(validator=_id)
    title: str = attrs.field(validator=_text)
    statement: str = attrs.field(validator=_text)
    basis: LegalBasis = attrs.field(validator=_member(LegalBasis))
    data: tuple[str, ...] = attrs.field(default=(), validator=_ids)
    vendors: tuple[str, ...] = attrs.field(default=(), validator=_ids)
    retention: Retention = attrs.field(default=Retention(), validator=_retention)
    section: str | None = attrs.field(default=None, validator=_id_or_none)
    subjects: tuple[str, ...] = attrs.field(default=(), validator=_ids)
    consent_lifetime: Duration | None = attrs.field(default=None, validator=_duration_or_none)
    per_vendor_consent: bool = attrs.field(default=False, validator=_flag)
    withdrawal: str | None = attrs.field(default=None, validator=_text_or_none)
    legitimate_interest: str | None = attrs.field(default=None, validator=_text_or_none)
    assessment: str | None = attrs.field(default=None, validator=_text_or_none)
    direct_marketing: bool = attrs.field(default=False, validator=_flag)
    override_admissible: bool = attrs.field(default=False, validator=_flag)
    special_category_condition: SpecialCategoryCondition | None = attrs.field(
        default=None, validator=_member(SpecialCategoryCondition, optional=True)
    )
    device_access: bool = attrs.field(default=False, validator=_flag)
    strictly_necessary: str | None = attrs.field(default=None, validator=_text_or_none)
    opt_out_scopes: tuple[str, ...] = attrs.field(default=(), validator=_ids)
    processor_only: bool = attrs.field(default=False, validator=_flag)
    restriction_exceptions: tuple[RestrictionException, ...] = attrs.field(
        default=(), validator=_members(RestrictionException, "lawful.RestrictionException")
    )
    recurring: bool = attrs.field(default=True, validator=_flag)
    notes: str = attrs.field(default="", validator=_text)
    context: PolicyContext | None = attrs.field(
        default=None, eq=False, repr=False, hash=False, kw_only=True
    )

    @property
    def terms(self) -> PurposeTerms:
        """The terms a consent to this purpose covers today."""
        return PurposeTerms(
            statement=self.statement,
            basis=self.basis,
            vendors=frozenset(self.vendors),
            data=frozenset(self.data),
        )

    @property
    def honours_opt_out(self) -> bool:
        """Whether some opt-out scope stops this purpose."""
        return bool(self.opt_out_scopes)


@attrs.frozen
class CompiledPurpose(Purpose):
    """A :class:`Purpose` as a :class:`lawful.Policy` compiled it: with the policy's rules.

    Only a policy makes one (``policy.purpose("analytics")``, ``policy.purposes``), and
    :func:`lawful.may_process` takes nothing else: a purpose built by hand lacks the
    policy's age rules, versions, transfers and opt-out scopes, and a decision must never
    run without them.
    """

    context: PolicyContext = attrs.field(eq=False, repr=False, hash=False, kw_only=True)
    plan: Plan | None = attrs.field(default=None, eq=False, repr=False, hash=False, kw_only=True)
    """The checks a decision on it runs, compiled by the policy (lawful._engine.plan)."""


Format: TypeAlias = Literal["toml", "json"]
