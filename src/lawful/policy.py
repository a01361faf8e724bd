"""A versioned policy: what the controller declared, validated and compiled once.

However a policy is built (a TOML or JSON file, a dict, Python objects), it is
validated on construction and every problem is reported at once in a
:class:`lawful.PolicyError`. Deciding is then a pure function of the compiled
policy, a subject and an instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, cast

import attrs

from lawful._engine import decide, decide_all, unknown_purpose
from lawful._engine.plan import compile_plan
from lawful._time import to_us
from lawful.decision import Decision, Operation
from lawful.exceptions import PolicyError, Problem, UnknownPurposeError
from lawful.model import (
    AgeRules,
    AgeScope,
    CompiledPurpose,
    Contact,
    DataCategory,
    Entity,
    LegalBasis,
    OptOutScope,
    PolicyContext,
    Purpose,
    PurposeTerms,
    Signals,
    UnknownSubjectCategory,
    Vendor,
)
from lawful.timeline import Span, timeline

if TYPE_CHECKING:
    from lawful.subject import Subject

__all__ = ["FORMAT_VERSION", "Policy", "PolicyVersion", "UnknownPurposeError"]

# Art. 8 concerns consent; even an age rule over every purpose never stops what the law
# requires (Art. 6(1)(c), such as answering a child's own rights request, Art. 12) or what
# protects someone's life (Art. 6(1)(d)).
_AGE_EXEMPT = frozenset({LegalBasis.LEGAL_OBLIGATION, LegalBasis.VITAL_INTERESTS})
# Art. 21 reaches bases (e) and (f), and direct marketing on any basis: never these.
_NOT_OBJECTABLE = frozenset(
    {LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION, LegalBasis.VITAL_INTERESTS}
)

FORMAT_VERSION = "1.0"
"""The policy file format this lawful writes; files of another major version are refused."""


@attrs.frozen
class PolicyVersion:
    """An earlier version of the policy: the purpose terms consents were given under.

    Attributes:
        version: The version string, as stamped on consents.
        purposes: Purpose id -> the terms it had in that version.
        published: When that version was published, if known.
        effective_from: The instant it took effect: a consent that carries no version
            was given under the version in force at its instant.
    """

    version: str
    purposes: Mapping[str, PurposeTerms] = attrs.field(factory=dict)
    published: date | None = None
    effective_from: datetime | None = None


def _purposes(value: Iterable[Purpose]) -> tuple[CompiledPurpose, ...]:
    # The policy compiles them once it is validated (__attrs_post_init__); until then the
    # tuple holds the purposes as declared.
    return cast("tuple[CompiledPurpose, ...]", tuple(value))


def _categories(value: Iterable[DataCategory]) -> tuple[DataCategory, ...]:
    return tuple(value)


def _vendors(value: Iterable[Vendor]) -> tuple[Vendor, ...]:
    return tuple(value)


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _versions(value: Iterable[PolicyVersion]) -> tuple[PolicyVersion, ...]:
    return tuple(value)


@attrs.frozen
class Policy:
    """A privacy policy as data.

    Attributes:
        id: Stable identifier (``piwik-pro``).
        version: This version, as stamped on the consents given under it.
        title: Human title.
        updated: The date the policy states it was last updated.
        purposes: The purposes, in the order the policy presents them, compiled with the
            policy's rules (:class:`lawful.CompiledPurpose`).
        data_categories: The declared data categories.
        vendors: The declared vendors (the first party included).
        entities: Legal entities by id.
        controllers: Section -> the entity ids that are its controllers.
        subject_categories: Data-subject category id -> description.
        contact: DPO, supervisory authority, rights.
        age: Age rules (Art. 8).
        unknown_subject_category: What to do when a subject's categories are unknown.
        opt_out_scopes: Opt-out scopes by id.
        signals: How signals map onto purposes and vendors.
        security_measures: The technical and organisational security measures the policy
            describes (Art. 30(1)(g), Art. 32); empty where it is silent.
        previous_versions: Earlier versions, so consents given under them can be judged.
        effective_from: The instant this version took effect, if stated (consents that
            carry no version are judged under the version in force at their instant; with
            no version stating one, under the oldest the policy knows).
    """

    id: str
    version: str
    title: str = ""
    updated: date | None = None
    purposes: tuple[CompiledPurpose, ...] = attrs.field(default=(), converter=_purposes)
    data_categories: tuple[DataCategory, ...] = attrs.field(default=(), converter=_categories)
    vendors: tuple[Vendor, ...] = attrs.field(default=(), converter=_vendors)
    entities: Mapping[str, Entity] = attrs.field(factory=dict)
    controllers: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    subject_categories: Mapping[str, str] = attrs.field(factory=dict)
    contact: Contact = Contact()
    age: AgeRules = AgeRules()
    unknown_subject_category: UnknownSubjectCategory = UnknownSubjectCategory.ALLOW
    opt_out_scopes: Mapping[str, OptOutScope] = attrs.field(factory=dict)
    signals: Signals = Signals()
    security_measures: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    previous_versions: tuple[PolicyVersion, ...] = attrs.field(default=(), converter=_versions)
    effective_from: datetime | None = None
    _by_id: Mapping[str, CompiledPurpose] = attrs.field(
        init=False, eq=False, repr=False, hash=False, alias="_by_id"
    )
    _warnings: tuple[Problem, ...] = attrs.field(
        init=False, eq=False, repr=False, hash=False, alias="_warnings"
    )

    def __attrs_post_init__(self) -> None:
        from lawful._validate import validate  # noqa: PLC0415 - validation imports Policy

        problems = validate(self)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise PolicyError(errors)
        object.__setattr__(self, "_warnings", tuple(p for p in problems if p.severity != "error"))
        fields = [a.name for a in attrs.fields(Purpose) if a.name != "context"]
        compiled = tuple(
            CompiledPurpose(
                **{name: getattr(p, name) for name in fields},
                context=self._context_for(p),
            )
            for p in self.purposes
        )
        for purpose in compiled:
            # The plan refers to the compiled purpose it was made for (see plan_of).
            object.__setattr__(purpose, "plan", compile_plan(purpose))
        object.__setattr__(self, "purposes", compiled)
        object.__setattr__(self, "_by_id", {p.id: p for p in compiled})

    def _context_for(self, purpose: Purpose) -> PolicyContext:
        from lawful._engine import compare_terms  # noqa: PLC0415

        stale: dict[str, tuple[str, ...]] = {self.version: ()}
        current = purpose.terms
        for earlier in self.previous_versions:
            old = earlier.purposes.get(purpose.id)
            stale[earlier.version] = (
                compare_terms(old, current)
                if old is not None
                else (f"'{purpose.id}' did not exist in version '{earlier.version}'",)
            )
        special = {c.id for c in self.data_categories if c.special}
        age = self.age
        # AgeRules.sections: a rule about one part of the policy reaches only its purposes.
        # A purpose that names no section is covered (fail closed).
        covers = not age.sections or purpose.section is None or purpose.section in age.sections
        applies = covers and (
            purpose.basis is LegalBasis.CONSENT
            or (age.scope is AgeScope.ALL_PURPOSES and purpose.basis not in _AGE_EXEMPT)
        )
        vendors = {v.id: v for v in self.vendors}
        transfers = {
            v: vendors[v] for v in purpose.vendors if v in vendors and vendors[v].outside_eea
        }
        # Art. 21 reaches bases (e), (f) and direct marketing: there "all" and undeclared
        # scopes stop the purpose. Elsewhere only a scope the policy declares and the
        # purpose lists does ("all" is no declared scope: docs/explanation/decision.md).
        reached_by_all = purpose.basis not in _NOT_OBJECTABLE or purpose.direct_marketing
        return PolicyContext(
            policy_id=self.id,
            version=self.version,
            age=age,
            stale=stale,
            declared_scopes=frozenset(self.opt_out_scopes) | {"all"},
            special=any(d in special for d in purpose.data),
            unknown_subject_category=self.unknown_subject_category,
            age_covers=covers,
            age_applies=applies,
            dated_versions=self._dated_versions(),
            undated_stale=self._undated_stale(stale),
            transfers=transfers,
            reached_by_all=reached_by_all,
        )

    def _all_versions(self) -> list[tuple[str, datetime | None]]:
        return [
            *((v.version, v.effective_from) for v in self.previous_versions),
            (self.version, self.effective_from),
        ]

    def _dated_versions(self) -> tuple[tuple[int, str], ...]:
        dated = [
            (to_us(when, "effective_from"), version)
            for version, when in self._all_versions()
            if when is not None
        ]
        return tuple(sorted(dated))

    def _undated_stale(self, stale: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
        """Why an unversioned consent that no dated version covers is stale.

        Art. 7(1): the controller must show what was consented to. With no version dated
        at the consent's instant it cannot show a later text was, so the consent is
        judged under every version that may have been in force (each undated one, or
        the earliest dated one where every version is dated), and is stale if any of
        them falls short: the oldest among them included, whatever the listing order.
        """
        versions = self._all_versions()
        undated = [version for version, when in versions if when is None]
        if not undated:
            undated = [min(versions, key=lambda pair: to_us(pair[1], "effective_from"))[0]]  # type: ignore[arg-type]
        why: list[str] = []
        for version in undated:
            for reason in stale.get(version, ()):
                text = f"{reason} (judged under version '{version}')"
                if text not in why:
                    why.append(text)
        return tuple(why)

    # -- lookups ---------------------------------------------------------------------------

    @property
    def purpose_ids(self) -> tuple[str, ...]:
        """The purpose ids, in order."""
        return tuple(self._by_id)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """What ``lawful check`` reports without refusing the policy (errors under --strict)."""
        return self._warnings

    def purpose(self, purpose_id: str) -> CompiledPurpose:
        """The compiled purpose with this id.

        Raises:
            UnknownPurposeError: The policy declares no such purpose.
        """
        try:
            return self._by_id[purpose_id]
        except KeyError:
            raise UnknownPurposeError(purpose_id) from None

    def vendor(self, vendor_id: str) -> Vendor:
        """The vendor with this id (``KeyError`` if undeclared)."""
        for vendor in self.vendors:
            if vendor.id == vendor_id:
                return vendor
        raise KeyError(vendor_id)

    def data_category(self, category_id: str) -> DataCategory:
        """The data category with this id (``KeyError`` if undeclared)."""
        for category in self.data_categories:
            if category.id == category_id:
                return category
        raise KeyError(category_id)

    # -- deciding --------------------------------------------------------------------------

    def may_process(
        self,
        subject: Subject,
        purpose: str,
        at: datetime,
        *,
        vendor: str | None = None,
        data: Iterable[str] = (),
        collected_at: datetime | None = None,
        operation: Operation = Operation.USE,
    ) -> Decision:
        """Decide for a purpose id; an unknown id is denied with ``UNKNOWN_PURPOSE``.

        See :func:`lawful.may_process` for the arguments.
        """
        compiled = self._by_id.get(purpose)
        if compiled is None:
            return unknown_purpose(purpose, at, collected_at=collected_at)
        return decide(subject, compiled, at, vendor, data, collected_at, operation)

    def decide_all(
        self,
        subject: Subject,
        at: datetime,
        *,
        collected_at: datetime | None = None,
        operation: Operation = Operation.USE,
    ) -> dict[str, Decision]:
        """Every purpose at once, in policy order: for example what a banner must still ask."""
        return decide_all(subject, self.purposes, at, collected_at, operation)

    def timeline(
        self,
        subject: Subject,
        purpose: str,
        start: datetime,
        end: datetime,
        *,
        vendor: str | None = None,
        data: Iterable[str] = (),
        collected_at: datetime | None = None,
        operation: Operation = Operation.USE,
    ) -> tuple[Span, ...]:
        """The decisions for a purpose id over ``[start, end)``, as :class:`lawful.Span`
        values: contiguous, neighbours differing in outcome, basis or reasons, and every
        instant of a span deciding (``may_process`` with the same arguments) as its span
        says. Exact: built from the events and the rules' own deadlines, not sampled.
        Instants are read in ``start``'s zone (the age rules read local dates).

        Raises:
            NaiveDatetimeError: ``start``, ``end`` or ``collected_at`` has no time zone.
            QueryError: ``end`` is not after ``start``, or ``collected_at`` is after
                ``start``.
        """
        return timeline(
            subject,
            self._by_id.get(purpose),
            purpose,
            start,
            end,
            vendor=vendor,
            data=data,
            collected_at=collected_at,
            operation=operation,
        )

    # -- files -----------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, object], *, source: str | None = None) -> Policy:
        """Build from the file shape (see :doc:`/reference/policy-files`); no I/O.

        Raises:
            PolicyError: Every structural and semantic problem, each with its path.
        """
        from lawful._convert import policy_from_dict  # noqa: PLC0415

        return policy_from_dict(data, source=source)

    def to_dict(self) -> dict[str, object]:
        """The file shape, ready for ``json.dumps`` or TOML; ``from_dict`` reads it back."""
        from lawful._convert import policy_to_dict  # noqa: PLC0415

        return policy_to_dict(self)
