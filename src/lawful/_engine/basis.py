"""Step 9 on a contract (Art. 6(1)(b)), and step 10, device access (ePrivacy Art. 5(3))."""

from __future__ import annotations

from lawful._engine.consent import _consent
from lawful._engine.query import _Deny, _lower_first, _Query
from lawful.decision import Reason, ReasonCode
from lawful.events import ContractStarted
from lawful.subject import latest_key


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


def _device_access(q: _Query) -> _Deny | list[Reason]:
    """Reading or writing the device needs consent unless strictly necessary; for stored
    data that consent must have been in force at collection, when the device was read.
    """
    found = _consent(q, as_basis=False)
    if not isinstance(found, _Deny):
        return found
    reason = found.reason
    return _Deny(
        Reason(
            ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED,
            "The purpose reads or writes the person's device, which needs consent "
            f"unless strictly necessary; {_lower_first(reason.message)}",
            ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED.article,
            event=reason.event,
            clause=f"purposes.{q.purpose.id}.device_access",
        ),
        found.until,
    )
