"""Step 2, scope (the purpose, its subjects, vendors and data), and step 3, Chapter V
transfers (Art. 44-49).
"""

from __future__ import annotations

from collections.abc import Iterable

from lawful._engine.query import _Deny, _latest_in, _Query
from lawful.decision import Reason, ReasonCode
from lawful.events import ContractStarted, TransferConsentGiven
from lawful.model import TransferDerogation, TransferMechanism, UnknownSubjectCategory
from lawful.subject import Kind, latest_key

_CONTRACT_DEROGATIONS = {
    TransferDerogation.CONTRACT: "Art. 49(1)(b)",
    TransferDerogation.CONTRACT_IN_INTEREST: "Art. 49(1)(c)",
}


def _scope(q: _Query, data: Iterable[str]) -> _Deny | None:
    purpose = q.purpose
    pid = purpose.id
    if purpose.processor_only:
        return _Deny(
            Reason(
                ReasonCode.PROCESSOR_ONLY,
                f"For '{pid}' the controller acts only as a processor for its clients; the "
                "client, as controller, decides.",
                ReasonCode.PROCESSOR_ONLY.article,
                clause=f"purposes.{pid}.processor_only",
            )
        )
    if purpose.subjects:
        categories = q.subject.categories
        if categories is None:
            if q.ctx.unknown_subject_category is UnknownSubjectCategory.DENY:
                return _Deny(
                    Reason(
                        ReasonCode.SUBJECT_NOT_COVERED,
                        f"The subject's categories are unknown, and '{pid}' covers only "
                        f"{', '.join(purpose.subjects)}; the policy denies unknown categories.",
                        ReasonCode.SUBJECT_NOT_COVERED.article,
                        clause="unknown_subject_category",
                    )
                )
        elif categories.isdisjoint(purpose.subjects):
            return _Deny(
                Reason(
                    ReasonCode.SUBJECT_NOT_COVERED,
                    f"'{pid}' covers {', '.join(purpose.subjects)}, not a subject who is "
                    f"{', '.join(sorted(categories)) or 'of no category'}.",
                    ReasonCode.SUBJECT_NOT_COVERED.article,
                    clause=f"purposes.{pid}.subjects",
                )
            )
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
        elif mechanism in (TransferMechanism.NOT_STATED, TransferMechanism.NOT_APPLICABLE):
            # Art. 44, 46(1): a transfer with no stated safeguard cannot be shown lawful.
            return _Deny(
                Reason(
                    ReasonCode.TRANSFER_SAFEGUARD_MISSING,
                    f"Vendor '{name}' receives the data outside the EEA ({vendor.hosting}), "
                    "and the policy states no safeguard for the transfer.",
                    ReasonCode.TRANSFER_SAFEGUARD_MISSING.article,
                    clause=f"vendors.{name}.transfer",
                )
            )
    return None


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
    if ground is None or (
        ground is TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS and q.purpose.recurring
    ):
        # Refused when the policy is loaded; fail closed all the same.
        return _Deny(
            Reason(
                ReasonCode.TRANSFER_SAFEGUARD_MISSING,
                f"The transfer to vendor '{name}' outside the EEA names no derogation that "
                "can hold for this purpose.",
                "Art. 49(1)",
                clause=clause,
            )
        )
    return None  # Art. 49(1)(d)-(g), or a one-off transfer: as the controller declared
