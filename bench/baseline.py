"""The hand-written baseline: the least a Python decision can do with the same inputs.

It takes the same arguments as ``Policy.may_process`` (an aware ``datetime``,
a purpose id, an optional vendor and data categories), converts the instant to
integer microseconds, finds the latest consent event of the purpose with one
``bisect`` in per-purpose sorted instants, and returns an object with the same
fields as :class:`lawful.Decision`, whose reasons were prepared when the index
was built. A purpose on legitimate interests that reads the device without
being strictly necessary looks its consent up the same way (ePrivacy Art.
5(3)). It checks nothing else (no erasure, restriction, age, opt-out,
objection, retention or staleness): it is the floor a full decision is held
against, not a substitute for one.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, datetime

import lawful
from lawful import ConsentGiven, ConsentWithdrawn, LegalBasis, Reason, ReasonCode

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Result:
    """The same fields as :class:`lawful.Decision`, in a plain slotted class."""

    __slots__ = ("allowed", "at", "basis", "purpose", "reasons", "valid_until")

    def __init__(
        self,
        allowed: bool,
        purpose: str,
        at: datetime,
        basis: LegalBasis | None,
        reasons: tuple[Reason, ...],
        valid_until: datetime | None = None,
    ) -> None:
        self.allowed = allowed
        self.purpose = purpose
        self.at = at
        self.basis = basis
        self.reasons = reasons
        self.valid_until = valid_until

    @property
    def code(self) -> ReasonCode:
        return self.reasons[0].code


def _reason(code: ReasonCode, message: str, event: lawful.Event | None = None) -> tuple[Reason]:
    return (Reason(code, message, code.article, event=event),)


class Table:
    """What the baseline reads from the policy, prepared once (not per subject): per purpose
    its basis, vendors, data categories, whether it needs consent, and the reasons it gives.
    """

    def __init__(self, policy: lawful.Policy) -> None:
        self.purposes: dict[str, tuple[LegalBasis, frozenset[str], frozenset[str], bool, tuple]]
        self.purposes = {}
        self.interest = _reason(ReasonCode.LEGITIMATE_INTEREST, "legitimate interest")
        self.device = _reason(ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED, "device access consent")
        for p in policy.purposes:
            needs_consent = p.basis is LegalBasis.CONSENT or (
                p.device_access and not p.strictly_necessary
            )
            if p.basis is LegalBasis.CONSENT:
                fixed = _reason(ReasonCode.NO_CONSENT, "no consent on record")
            elif needs_consent:
                fixed = self.device
            else:
                fixed = self.interest
            self.purposes[p.id] = (
                p.basis,
                frozenset(p.vendors),
                frozenset(p.data),
                needs_consent,
                fixed,
            )
        self.ids = tuple(self.purposes)
        self.vendor_denied = _reason(ReasonCode.VENDOR_NOT_DECLARED, "vendor not declared")
        self.data_denied = _reason(ReasonCode.DATA_CATEGORY_NOT_DECLARED, "data not declared")


class Baseline:
    """Per-purpose sorted instants (microseconds) and, in step, the prepared reasons.

    Built from a subject's events and a :class:`Table` made once per policy (a
    ``lawful.Policy`` is accepted too, and its table made on the spot).
    """

    def __init__(self, table: Table | lawful.Policy, events: Iterable[lawful.Event]) -> None:
        if not isinstance(table, Table):
            table = Table(table)
        self.table = table
        purposes = table.purposes
        interest = table.interest
        device = table.device
        lines: dict[str, list[tuple[int, int, tuple[Reason, ...], bool]]] = {}
        for event in events:
            if isinstance(event, ConsentGiven | ConsentWithdrawn) and event.vendor is None:
                delta = event.at - _EPOCH
                us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
                granted = isinstance(event, ConsentGiven)
                basis = purposes[event.purpose][0]
                if basis is not LegalBasis.CONSENT:
                    reason = (*interest, *_reason(ReasonCode.CONSENT_GIVEN, "device", event))
                    if not granted:
                        reason = device
                elif granted:
                    reason = _reason(ReasonCode.CONSENT_GIVEN, "consent in force", event)
                else:
                    reason = _reason(ReasonCode.CONSENT_WITHDRAWN, "consent withdrawn", event)
                lines.setdefault(event.purpose, []).append((us, event.rank, reason, granted))
        self.lines: dict[str, tuple[list[int], list[tuple[tuple[Reason, ...], bool]]]] = {}
        for purpose, entries in lines.items():
            entries.sort(key=lambda e: (e[0], e[1]))
            self.lines[purpose] = ([e[0] for e in entries], [(e[2], e[3]) for e in entries])

    def decide(
        self,
        purpose: str,
        at: datetime,
        *,
        vendor: str | None = None,
        data: tuple[str, ...] = (),
    ) -> Result:
        """The baseline decision (subtracting a naive ``at`` from an aware epoch raises)."""
        delta = at - _EPOCH
        us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        table = self.table
        basis, vendors, categories, needs_consent, fixed = table.purposes[purpose]
        if vendor is not None and vendor not in vendors:
            return Result(False, purpose, at, basis, table.vendor_denied)  # noqa: FBT003 - cheapest call
        if data and not categories.issuperset(data):
            return Result(False, purpose, at, basis, table.data_denied)  # noqa: FBT003 - cheapest call
        if not needs_consent:
            return Result(True, purpose, at, basis, fixed)  # noqa: FBT003 - cheapest call
        line = self.lines.get(purpose)
        pos = bisect_right(line[0], us) if line is not None else 0
        if not pos:
            return Result(False, purpose, at, basis, fixed)  # noqa: FBT003 - cheapest call
        reasons, granted = line[1][pos - 1]
        return Result(granted, purpose, at, basis, reasons)

    def decide_all(self, at: datetime) -> dict[str, Result]:
        """Every purpose of the policy at ``at``, in policy order."""
        decide = self.decide
        return {pid: decide(pid, at) for pid in self.table.ids}


class Lean:
    """What a service could hand-write per request: its own index of one subject's events,
    consent only, then one decision.

    Per purpose, the sort keys (microseconds * 4 + rank, as lawful's) of the purpose-wide
    consent events and the events themselves, in step; the decision finds the latest with
    one ``bisect`` and makes one reason for it. Nothing is prepared per event beyond that.
    """

    __slots__ = ("lines", "table")

    def __init__(self, table: Table, events: Iterable[lawful.Event]) -> None:
        self.table = table
        grown: dict[str, list[tuple[int, lawful.Event]]] = {}
        for event in events:
            cls = type(event)
            if (cls is ConsentGiven or cls is ConsentWithdrawn) and event.vendor is None:
                delta = event.at - _EPOCH
                us = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
                line = grown.get(event.purpose)
                if line is None:
                    grown[event.purpose] = [(us * 4 + event.rank, event)]
                else:
                    line.append((us * 4 + event.rank, event))
        self.lines: dict[str, tuple[list[int], list[lawful.Event]]] = {}
        for purpose, entries in grown.items():
            entries.sort(key=_first)
            self.lines[purpose] = ([e[0] for e in entries], [e[1] for e in entries])

    def decide(self, purpose: str, at: datetime) -> Result:
        """The decision for ``purpose`` at ``at``, for the purpose's vendors and data."""
        delta = at - _EPOCH
        key = ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 4 + 3
        table = self.table
        basis, _, _, needs_consent, fixed = table.purposes[purpose]
        if not needs_consent:
            return Result(True, purpose, at, basis, fixed)  # noqa: FBT003 - cheapest call
        line = self.lines.get(purpose)
        pos = bisect_right(line[0], key) if line is not None else 0
        if not pos:
            return Result(False, purpose, at, basis, fixed)  # noqa: FBT003 - cheapest call
        event = line[1][pos - 1]
        if type(event) is ConsentWithdrawn:
            if basis is not LegalBasis.CONSENT:
                return Result(False, purpose, at, basis, table.device)  # noqa: FBT003 - cheapest call
            withdrawn = _reason(ReasonCode.CONSENT_WITHDRAWN, "consent withdrawn", event)
            return Result(False, purpose, at, basis, withdrawn)  # noqa: FBT003 - cheapest call
        given = _reason(ReasonCode.CONSENT_GIVEN, "consent in force", event)
        if basis is not LegalBasis.CONSENT:
            return Result(True, purpose, at, basis, (*table.interest, *given))  # noqa: FBT003 - cheapest call
        return Result(True, purpose, at, basis, given)  # noqa: FBT003 - cheapest call


def _first(pair: tuple[int, object]) -> int:
    return pair[0]
