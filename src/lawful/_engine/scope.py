"""Step 2, scope (the purpose, its subjects, vendors and data), and step 3, Chapter V
transfers (Art. 44-49).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lawful._engine.query import _Deny, _latest_in, _Query
from lawful.decision import Reason, ReasonCode, lazy_reason
from lawful.events import ContractStarted, TransferConsentGiven
from lawful.model import CompiledPurpose, TransferDerogation, TransferMechanism, Vendor

if TYPE_CHECKING:
    from lawful._engine.plan import Plan
from lawful._timelines import Kind, latest_key

_CONTRACT_DEROGATIONS = {
    TransferDerogation.CONTRACT: "Art. 49(1)(b)",
    TransferDerogation.CONTRACT_IN_INTEREST: "Art. 49(1)(c)",
}


def _processor_only(purpose: CompiledPurpose) -> Reason:
    """Art. 28: the reason of a purpose the controller only processes for its clients."""
    pid = purpose.id
    return Reason(
        ReasonCode.PROCESSOR_ONLY,
        f"For '{pid}' the controller acts only as a processor for its clients; the "
        "client, as controller, decides.",
        ReasonCode.PROCESSOR_ONLY.article,
        clause=f"purposes.{pid}.processor_only",
    )


def _unknown_categories(purpose: CompiledPurpose) -> Reason:
    """The reason of a purpose for some categories of subject, where the policy denies a
    subject whose categories are unknown.
    """
    return Reason(
        ReasonCode.SUBJECT_NOT_COVERED,
        f"The subject's categories are unknown, and '{purpose.id}' covers only "
        f"{', '.join(purpose.subjects)}; the policy denies unknown categories.",
        _NOT_COVERED.article,
        clause="unknown_subject_category",
    )


_NOT_COVERED = ReasonCode.SUBJECT_NOT_COVERED


def _not_covered_text(pid: str, subjects: tuple[str, ...], categories: frozenset[str]) -> str:
    return (
        f"'{pid}' covers {', '.join(subjects)}, not a subject who is "
        f"{', '.join(sorted(categories)) or 'of no category'}."
    )


def _not_covered(purpose: CompiledPurpose, categories: frozenset[str]) -> Reason:
    """The reason of a purpose that covers none of the subject's categories."""
    pid = purpose.id
    return lazy_reason(
        _NOT_COVERED,
        _NOT_COVERED.article,
        None,
        f"purposes.{pid}.subjects",
        _not_covered_text,
        pid,
        purpose.subjects,
        categories,
    )


def _subjects(plan: Plan, categories: frozenset[str] | None) -> Reason | None:
    """Step 2 on the subject: whether the purpose covers it (denied: the reason)."""
    purpose = plan.purpose
    if not purpose.subjects:
        return None
    if categories is None:
        return plan.unknown_denial
    if categories.isdisjoint(purpose.subjects):
        return _not_covered(purpose, categories)
    return None


def _scope(q: _Query, data: Iterable[str]) -> _Deny | None:
    purpose = q.purpose
    pid = purpose.id
    plan = q.plan
    if plan.scope_denial is not None:
        return _Deny(plan.scope_denial)
    denied = _subjects(plan, q.subject.categories)
    if denied is not None:
        return _Deny(denied)
    vendor = q.vendor
    if vendor is not None and vendor not in purpose.vendors:
        return _Deny(
            Reason(
                ReasonCode.VENDOR_NOT_DECLARED,
                f"Vendor '{vendor}' is not declared for '{pid}'.",
                ReasonCode.VENDOR_NOT_DECLARED.article,
                clause=f"purposes.{pid}.vendors",
            )
        )
    for category in data:
        if category not in purpose.data:
            return _Deny(
                Reason(
                    ReasonCode.DATA_CATEGORY_NOT_DECLARED,
                    f"Data category '{category}' is not declared for '{pid}'.",
                    ReasonCode.DATA_CATEGORY_NOT_DECLARED.article,
                    clause=f"purposes.{pid}.data",
                )
            )
    return None


def _transfers(q: _Query) -> _Deny | None:
    """Art. 44: every vendor involved outside the EEA needs a safeguard that holds."""
    transfers = q.ctx.transfers
    if not transfers:
        return None
    for name in q.vendors:
        vendor = transfers.get(name)
        if vendor is None:
            continue
        mechanism = vendor.transfer
        if mechanism is TransferMechanism.DEROGATION:
            verdict = _derogation(q, name, vendor.derogation)
            if verdict is not None:
                return verdict
        elif mechanism in _UNSAFE:
            return _Deny(_safeguard_missing(name, vendor))
    return None


_UNSAFE = (TransferMechanism.NOT_STATED, TransferMechanism.NOT_APPLICABLE)


def _safeguard_missing(name: str, vendor: Vendor) -> Reason:
    """Art. 44, 46(1): a transfer with no stated safeguard cannot be shown lawful."""
    return Reason(
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        f"Vendor '{name}' receives the data outside the EEA ({vendor.hosting}), "
        "and the policy states no safeguard for the transfer.",
        ReasonCode.TRANSFER_SAFEGUARD_MISSING.article,
        clause=f"vendors.{name}.transfer",
    )


def _no_ground(name: str) -> Reason:
    """Art. 49(1): a derogation that names no ground that can hold (refused on loading)."""
    return Reason(
        ReasonCode.TRANSFER_SAFEGUARD_MISSING,
        f"The transfer to vendor '{name}' outside the EEA names no derogation that "
        "can hold for this purpose.",
        "Art. 49(1)",
        clause=f"vendors.{name}.derogation",
    )


def fixed_transfers(purpose: CompiledPurpose) -> tuple[bool, Reason | None]:
    """Whether :func:`_transfers` on every vendor of ``purpose`` reads nothing of the
    subject, and if so the denial it gives (``None``: none), as the plan prepares it.
    """
    transfers = purpose.context.transfers
    for name in purpose.vendors:
        vendor = transfers.get(name)
        if vendor is None:
            continue
        mechanism = vendor.transfer
        if mechanism in _UNSAFE:
            return True, _safeguard_missing(name, vendor)
        if mechanism is TransferMechanism.DEROGATION:
            ground = vendor.derogation
            if ground is TransferDerogation.EXPLICIT_CONSENT or ground in _CONTRACT_DEROGATIONS:
                return False, None  # its ground is the subject's consent or contract
            if _groundless(purpose, ground):
                return True, _no_ground(name)
    return True, None


def _groundless(purpose: CompiledPurpose, ground: TransferDerogation | None) -> bool:
    return ground is None or (
        ground is TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS and purpose.recurring
    )


def _derogation(q: _Query, name: str, ground: TransferDerogation | None) -> _Deny | None:
    """Art. 49(1): a derogation is checked like a basis: its ground must hold at ``at``."""
    clause = f"vendors.{name}.derogation"
    if ground is TransferDerogation.EXPLICIT_CONSENT:
        lines = q.lines
        pid = q.purpose.id
        found = _latest_in(
            q.late,
            (lines.get((Kind.TRANSFER, name, pid)), lines.get((Kind.TRANSFER, name, None))),
            q.at_key,
        )
        if found is not None and isinstance(found[1], TransferConsentGiven):
            return None
        return _Deny(
            Reason(
                ReasonCode.TRANSFER_SAFEGUARD_MISSING,
                f"The transfer to vendor '{name}' outside the EEA rests on the person's "
                "explicit consent (Art. 49(1)(a)), and "
                + ("none is on record." if found is None else "it was withdrawn."),
                "Art. 49(1)(a)",
                event=None if found is None else found[1],
                clause=clause,
            )
        )
    if ground in _CONTRACT_DEROGATIONS:
        contracts = q.subject._index.contracts  # noqa: SLF001
        found = latest_key(contracts, q.at_key) if contracts[2] else None
        if found is not None and isinstance(found[1], ContractStarted):
            return None
        article = _CONTRACT_DEROGATIONS[ground]
        return _Deny(
            Reason(
                ReasonCode.TRANSFER_SAFEGUARD_MISSING,
                f"The transfer to vendor '{name}' outside the EEA rests on a contract "
                f"({article}), and no contract with the subject is in force.",
                article,
                event=None if found is None else found[1],
                clause=clause,
            )
        )
    if _groundless(q.purpose, ground):
        return _Deny(_no_ground(name))  # refused when the policy is loaded; fail closed
    return None  # Art. 49(1)(d)-(g), or a one-off transfer: as the controller declared
