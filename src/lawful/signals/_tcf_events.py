"""A TC string becomes events, through the policy's ``signals.tcf`` bindings.

For a binding of a purpose that consent decides (its basis, or device access
that is not strictly necessary, ePrivacy Art. 5(3)), the purpose-wide event is a grant when every
bound TCF purpose has its consent bit (the publisher TC segment's bits for a
``publisher`` binding), else a withdrawal; each bound vendor gets its own grant
or withdrawal from its vendor consent bit, refused where the TCF 2.3 rule finds
it undisclosed or a publisher restriction forbids consent for a bound purpose.

For a binding of a legitimate-interest or public-task purpose, a missing
legitimate-interest bit (the TCF's "right to object" signal) becomes an
objection by automated means (Art. 21(5)); when the bits are back, only an
objection that a TC string itself recorded is lifted.

All events carry the string's LastUpdated (never later than its receipt). A
string the TCF says to discard (an ``"invalid"`` finding) grants nothing.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from lawful.events import (
    Event,
    Objection,
    ObjectionWithdrawn,
)
from lawful.exceptions import SignalError
from lawful.model import LegalBasis, TcfBinding
from lawful.policy import Policy
from lawful.signals._common import (
    Finding,
    Report,
    SignalResult,
    consent_event,
    digest,
    event_id,
    latest,
    needs_consent,
    not_after,
    received,
    split_repeats,
)
from lawful.signals._tcf_model import RestrictionType, TCString, validate
from lawful.signals.tcf import decode, encode
from lawful.subject import Subject

__all__ = ["from_tcf"]

METHOD = "tcf"
_NO_LI = frozenset({1, 3, 4, 5, 6})


class _Mapper:
    """The events of one TC string for one subject."""

    def __init__(
        self, policy: Policy, tc: TCString, subject: Subject, at: datetime, received_at: datetime
    ) -> None:
        self.policy = policy
        self.tc = tc
        self.subject = subject
        self.at = at
        self.received_at = received_at
        self.events: list[Event] = []

    def _id(self, *parts: object) -> str:
        return event_id(METHOD, self.subject, *parts, self.at.isoformat())

    def _usable(
        self, gvl_id: int, purposes: Collection[int], refused: set[RestrictionType]
    ) -> bool:
        """A vendor's signal counts: disclosed (TCF 2.3) and not restricted for these purposes."""
        tc = self.tc
        if tc.disclosed_vendors is not None and gvl_id not in tc.disclosed_vendors:
            return False
        return not any(
            r.purpose in purposes and r.restriction in refused and gvl_id in r.vendors
            for r in tc.publisher_restrictions
        )

    def consent(self, binding: TcfBinding, valid: bool) -> None:
        tc = self.tc
        bits = tc.purposes_consent
        if binding.publisher:
            bits = frozenset() if tc.publisher_tc is None else tc.publisher_tc.purposes_consent
        granted = valid and all(p in bits for p in binding.tcf_purposes)
        self._consent_event(binding.purpose, None, granted=granted)
        refused = {RestrictionType.NOT_ALLOWED, RestrictionType.REQUIRE_LEGITIMATE_INTEREST}
        for vendor, gvl_id in sorted(binding.vendors.items()):
            ok = (
                valid
                and gvl_id in tc.vendor_consents
                and self._usable(gvl_id, binding.tcf_purposes, refused)
            )
            self._consent_event(binding.purpose, vendor, granted=ok)

    def _consent_event(self, purpose: str, vendor: str | None, *, granted: bool) -> None:
        report = Report.GRANT if granted else Report.REFUSE
        self.events.append(
            consent_event(
                self.policy,
                self.subject,
                METHOD,
                purpose,
                report,
                self.at,
                self.received_at,
                vendor,
            )
        )

    def objection(self, binding: TcfBinding, valid: bool) -> None:
        tc = self.tc
        bits = tc.purposes_li_transparency
        if binding.publisher:
            bits = (
                frozenset() if tc.publisher_tc is None else tc.publisher_tc.purposes_li_transparency
            )
        refused = {RestrictionType.NOT_ALLOWED, RestrictionType.REQUIRE_CONSENT}
        established = (
            valid
            and all(p in bits and p not in _NO_LI for p in binding.tcf_purposes)
            and all(
                gvl_id in tc.vendor_legitimate_interests
                and self._usable(gvl_id, binding.tcf_purposes, refused)
                for gvl_id in binding.vendors.values()
            )
        )
        pid = binding.purpose
        if not established:
            # Art. 21(5): the TCF's "right to object" bit is an objection by automated means.
            self.events.append(
                Objection(
                    at=self.at,
                    recorded_at=self.received_at,
                    id=self._id("objection", pid, "refuse"),
                    purpose=pid,
                    automated=True,
                )
            )
            return
        standing = latest(self.subject, ("objection", pid, None), self.at)
        # A signal lifts only what it set: objections made elsewhere stand.
        if (
            standing is not None
            and isinstance(standing[1], Objection)
            and (standing[1].id or "").startswith(f"{METHOD}:")
        ):
            self.events.append(
                ObjectionWithdrawn(
                    at=self.at,
                    recorded_at=self.received_at,
                    id=self._id("objection", pid, "grant"),
                    purpose=pid,
                )
            )


def from_tcf(
    policy: Policy, tc: str | TCString, *, subject: Subject, received_at: datetime
) -> SignalResult:
    """Turn a TC string into events for ``subject`` through ``policy.signals.tcf``.

    Args:
        policy: The policy whose bindings map TCF purposes and vendors to its purposes.
        tc: The TC string as received, or a decoded :class:`TCString`.
        subject: The person it belongs to; events already on record are not repeated.
        received_at: When the host received the string (aware).

    Returns:
        The new events, the ids already on record, and the validity findings.

    Raises:
        SignalError: The string is malformed (see :func:`lawful.signals.tcf.decode`).
        NaiveDatetimeError: ``received_at`` has no time zone.
    """
    rec = received(received_at, METHOD)
    if isinstance(tc, str):
        raw, model = tc, decode(tc)
    elif isinstance(tc, TCString):
        raw, model = encode(tc), tc
    else:
        raise SignalError(f"tcf: expected a TC string, got {type(tc).__name__}")
    findings = list(validate(model, at=rec))
    at, late = not_after(model.last_updated, rec, METHOD, "LastUpdated")
    findings.extend(late)
    valid = all(f.severity != "invalid" for f in findings)
    mapper = _Mapper(policy, model, subject, at, rec)
    for i, binding in enumerate(policy.signals.tcf):
        purpose = policy.purpose(binding.purpose)
        basis = purpose.basis
        if needs_consent(purpose):
            mapper.consent(binding, valid)
        elif basis in {LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK}:
            mapper.objection(binding, valid)
        else:
            findings.append(
                Finding(
                    "binding_ignored",
                    f"tcf: signals.tcf[{i}]: '{binding.purpose}' rests on {basis.value}, "
                    "which no TCF signal grants or refuses",
                )
            )
    events, repeats = split_repeats(subject, mapper.events)
    return SignalResult(METHOD, digest(METHOD, raw), rec, events, repeats, tuple(findings))
