"""Step 9 on the bases other than consent (Art. 6(1)(b)-(f)), and step 10, device access
(ePrivacy Art. 5(3)).
"""

from __future__ import annotations

from lawful._engine.consent import _consent
from lawful._engine.query import _Deny, _lower_first, _Query
from lawful._timelines import latest_key
from lawful.decision import Reason, ReasonCode, lazy_reason
from lawful.events import ContractStarted
from lawful.model import CompiledPurpose, LegalBasis

_BASIS_CODE = {
    LegalBasis.LEGAL_OBLIGATION: ReasonCode.LEGAL_OBLIGATION,
    LegalBasis.VITAL_INTERESTS: ReasonCode.VITAL_INTERESTS,
    LegalBasis.PUBLIC_TASK: ReasonCode.PUBLIC_TASK,
}


def _interest_reason(purpose: CompiledPurpose) -> Reason:
    """Art. 6(1)(f): the interest the controller declared (fixed for the purpose)."""
    return Reason(
        ReasonCode.LEGITIMATE_INTEREST,
        f"The controller relies on its legitimate interest: "
        f"{purpose.legitimate_interest or 'as declared in the policy'}.",
        ReasonCode.LEGITIMATE_INTEREST.article,
        clause=f"purposes.{purpose.id}.legitimate_interest",
    )


def _declared_reason(purpose: CompiledPurpose) -> Reason:
    """Art. 6(1)(c)-(e): necessary as the policy declares (fixed for the purpose)."""
    code = _BASIS_CODE[purpose.basis]
    return Reason(
        code,
        f"The policy declares '{purpose.id}' necessary under {purpose.basis.article}.",
        code.article,
        clause=f"purposes.{purpose.id}.basis",
    )


def _contract(q: _Query) -> Reason | _Deny:
    contracts = q.subject._index.contracts  # noqa: SLF001
    found = latest_key(contracts, q.at_key) if contracts[2] else None
    clause = f"purposes.{q.purpose.id}.basis"
    if found is not None and isinstance(found[1], ContractStarted):
        return Reason(
            ReasonCode.CONTRACT,
            f"Contract '{found[1].contract}' with the subject is in force.",
            ReasonCode.CONTRACT.article,
            event=found[1],
            clause=clause,
        )
    return _Deny(
        Reason(
            ReasonCode.NO_CONTRACT,
            "No contract with the subject is in force.",
            ReasonCode.NO_CONTRACT.article,
            event=None if found is None else found[1],
            clause=clause,
        )
    )


def _contract_basis(q: _Query) -> _Deny | list[Reason]:
    """The contract basis as a plan's basis step."""
    found = _contract(q)
    return found if isinstance(found, _Deny) else [found]


def _device_access(q: _Query) -> _Deny | list[Reason]:
    """Reading or writing the device needs consent unless strictly necessary; for stored
    data that consent must have been in force at collection, when the device was read.
    """
    found = _consent(q, as_basis=False)
    if not isinstance(found, _Deny):
        return found
    return _Deny(_device_denied(q.purpose, found.reason), found.until)


_DEVICE = ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED


def _device_text(consent: Reason) -> str:
    return (
        "The purpose reads or writes the person's device, which needs consent "
        f"unless strictly necessary; {_lower_first(consent.message)}"
    )


def _device_denied(purpose: CompiledPurpose, consent: Reason) -> Reason:
    """EPrivacy Art. 5(3): the device access denied, for why its consent fails."""
    return lazy_reason(
        _DEVICE,
        _DEVICE.article,
        consent.event,
        f"purposes.{purpose.id}.device_access",
        _device_text,
        consent,
    )
