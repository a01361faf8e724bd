"""The plan of one purpose, compiled once when the policy loads: the checks its decision
runs, in the order of ``docs/explanation/decision.md``, and the fixed parts of its reasons.

A check the policy's own terms keep from ever denying the purpose is left out of its
plan (no vendor outside the EEA on a safeguard that can fail, no age rule that applies,
no opt-out scope that reaches it, a basis Art. 21 does not reach, no retention
period...), so a decision runs only what its purpose needs; and the plan says when the
common shape (a quiet subject, fresh data, the purpose's vendors and data) needs no check
but scope and the basis (``Plan.quick``, run by :func:`lawful._engine.run._quick`).
Leaving one out must change no answer: the speed laws
(``tests/properties/test_speed_laws.py``) hold every plan to the plain evaluation of
every rule (``decide_span(..., plain=True)``).
"""

from __future__ import annotations

from collections.abc import Callable

from lawful._engine.age import _age_check
from lawful._engine.basis import _contract_basis, _declared_reason, _interest_reason
from lawful._engine.consent import _consent, _no_consent
from lawful._engine.erasure import _erasure, _restriction
from lawful._engine.lines import _ALL_SCOPE, _ConsentKeys
from lawful._engine.objection import _OBJECTABLE, _objection, _opt_out
from lawful._engine.query import _Deny, _Query
from lawful._engine.retention import _retention
from lawful._engine.scope import (
    _processor_only,
    _transfers,
    _unknown_categories,
    fixed_transfers,
)
from lawful.decision import Reason
from lawful.model import (
    CompiledPurpose,
    LegalBasis,
    NoPeriodStated,
    SpecialCategoryCondition,
    TransferMechanism,
    UnknownAge,
    UnknownSubjectCategory,
)

__all__ = ["Plan", "compile_plan", "plan_of"]

Check = Callable[[_Query], "_Deny | None"]
"""A check before the basis: a denial, or ``None`` to go on."""
BasisStep = Callable[[_Query], "_Deny | list[Reason]"]
"""The basis step: a denial, or the reasons of an allow."""


class Plan:
    """What a decision on one purpose runs (made by :func:`compile_plan`).

    Attributes:
        purpose: The compiled purpose the plan was made for (a purpose changed with
            ``attrs.evolve`` is no longer it, and gets a plan of its own).
        checks: The checks between scope and basis that can deny it, in order.
        quiet_checks: Those of ``checks`` that can deny it on a quiet subject (no erasure,
            restriction, age, opt-out or objection on record, :meth:`_Index.quiet`): the
            others read only timelines such a subject does not have.
        basis: The basis step.
        reasons: The basis's fixed reasons (legitimate interests, and the bases the
            policy declares necessary); empty where the basis reads the subject.
        device: Whether the device-access step runs (ePrivacy Art. 5(3)).
        consent_keys: The keys of the consent timelines it reads, for its vendors.
        given: The start of its ``CONSENT_GIVEN`` message.
        stale: Why a consent given under each version the policy knows, with the terms
            of that version, is stale (empty: it is not); what :func:`_staleness` says.
        no_consent: Its ``NO_CONSENT`` reason.
        explicit: Whether its consent must be explicit (Art. 9(2)(a)).
        quick: Whether a decision on a quiet subject, fresh data, every vendor and data
            category of the purpose takes the quick path (:func:`lawful._engine.run._quick`):
            scope, then the basis, for no other check can deny it then, and its consent
            (if it reads one) is purpose-wide.
        scope_denial: The reason scope denies it with whoever the subject is (processor
            only), or ``None``.
        unknown_denial: The reason scope denies it with for a subject of unknown
            categories, or ``None``.
        transfer_denial: The reason Chapter V denies it with for every vendor, where that
            reads nothing of the subject (no safeguard stated), or ``None``.
    """

    __slots__ = (
        "basis",
        "checks",
        "consent_keys",
        "device",
        "explicit",
        "given",
        "no_consent",
        "purpose",
        "quick",
        "quiet_checks",
        "reasons",
        "scope_denial",
        "stale",
        "transfer_denial",
        "unknown_denial",
    )

    def __init__(
        self,
        purpose: CompiledPurpose,
        checks: tuple[Check, ...],
        basis: BasisStep,
        reasons: tuple[Reason, ...],
        *,
        device: bool,
    ) -> None:
        self.purpose = purpose
        self.checks = checks
        # With no age on record the age check denies only where the policy says so.
        silent = _SILENT_WHEN_QUIET
        if purpose.context.age.unknown_age is not UnknownAge.DENY:
            silent = silent | {_age_check}
        self.quiet_checks = tuple(check for check in checks if check not in silent)
        self.basis = basis
        self.reasons = reasons
        self.device = device
        self.consent_keys = _ConsentKeys(purpose.id, purpose.vendors)
        self.given = f"Consent for '{purpose.id}'"
        self.no_consent = _no_consent(purpose.id)
        self.stale: dict[str | None, str] = {
            version: "; ".join(why) for version, why in purpose.context.stale.items()
        }
        self.explicit = (
            purpose.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT
        )
        self.scope_denial = _processor_only(purpose) if purpose.processor_only else None
        self.unknown_denial = (
            _unknown_categories(purpose)
            if purpose.subjects
            and purpose.context.unknown_subject_category is UnknownSubjectCategory.DENY
            else None
        )
        fixed, self.transfer_denial = (
            fixed_transfers(purpose) if _transfers in checks else (True, None)
        )
        # The checks _quick runs on a quiet subject's fresh data: none, or the transfers'
        # prepared verdict (fresh data is never past retention, see _retention).
        quick_checks = {_retention, _transfers} if fixed else {_retention}
        reads_consent = basis is _consent or device
        self.quick = purpose.processor_only or (
            basis is not _contract_basis
            and all(check in quick_checks for check in self.quiet_checks)
            and not (reads_consent and purpose.per_vendor_consent and purpose.vendors)
        )


# The checks that find nothing to deny on a subject without erasure, restriction, opt-out
# and objection events (each reads only those timelines).
_SILENT_WHEN_QUIET: frozenset[Check] = frozenset({_erasure, _restriction, _opt_out, _objection})


def compile_plan(purpose: CompiledPurpose) -> Plan:
    """The plan of ``purpose``: only the checks that can deny it, its reasons prepared."""
    return Plan(
        purpose,
        _checks(purpose),
        *_basis(purpose),
        device=(
            purpose.device_access
            and purpose.basis is not LegalBasis.CONSENT
            and not purpose.strictly_necessary
        ),
    )


def plan_of(purpose: CompiledPurpose) -> Plan:
    """The plan the policy compiled for ``purpose``; made anew for a purpose it did not
    compile as it stands (changed with ``attrs.evolve`` after the policy made it).
    """
    plan = purpose.plan
    if plan is not None and plan.purpose is purpose:
        return plan
    return compile_plan(purpose)


_TRANSFERS_THAT_DENY = frozenset(
    {TransferMechanism.DEROGATION, TransferMechanism.NOT_STATED, TransferMechanism.NOT_APPLICABLE}
)


def _checks(purpose: CompiledPurpose) -> tuple[Check, ...]:
    ctx = purpose.context
    checks: list[Check] = []
    if any(
        ctx.transfers[name].transfer in _TRANSFERS_THAT_DENY
        for name in purpose.vendors
        if name in ctx.transfers
    ):
        # Chapter V: a vendor involved is outside the EEA, on a safeguard that can fail (an
        # adequacy decision, standard clauses or binding corporate rules hold as declared).
        checks.append(_transfers)
    checks.append(_erasure)
    if not purpose.restriction_exceptions:
        checks.append(_restriction)  # Art. 18(2): a declared exception is never restricted
    rules = ctx.age
    if ctx.age_applies and (
        rules.minimum_age is not None or rules.parental_consent_age is not None
    ):
        checks.append(_age_check)
    if ctx.reached_by_all or any(
        s != _ALL_SCOPE and s in ctx.declared_scopes for s in purpose.opt_out_scopes
    ):
        checks.append(_opt_out)  # an opt-out scope can reach it
    if purpose.direct_marketing or purpose.basis in _OBJECTABLE:
        checks.append(_objection)  # Art. 21 reaches it
    if any(not isinstance(rule, NoPeriodStated) for rule in purpose.retention.rules):
        checks.append(_retention)
    return tuple(checks)


def _basis(purpose: CompiledPurpose) -> tuple[BasisStep, tuple[Reason, ...]]:
    basis = purpose.basis
    if basis is LegalBasis.CONSENT:
        return _consent, ()
    if basis is LegalBasis.CONTRACT:
        return _contract_basis, ()
    if basis is LegalBasis.LEGITIMATE_INTERESTS:
        return _fixed, (_interest_reason(purpose),)
    return _fixed, (_declared_reason(purpose),)


def _fixed(q: _Query) -> list[Reason]:
    """A basis that reads nothing of the subject: its prepared reasons."""
    return list(q.plan.reasons)
