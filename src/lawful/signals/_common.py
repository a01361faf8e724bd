"""What every signal shares: findings, the result, event ids by digest, and the state rules.

Signals are lawful's I/O edge, yet they read no clock: the caller passes
``received_at``. Each signal becomes ordinary events; the rules that make that
safe live here, once:

- a default never creates a grant (Art. 4(11), CJEU C-673/17 Planet49);
- events carry the signal's own time, never later than ``received_at``;
- a signal without a time is an edge detector: it changes the record only when
  what it reports differs from what the same signal last reported (or, the first
  time, from the subject's current state), so a stale signal re-sent after an
  explicit withdrawal cannot grant again;
- every event id holds a digest of the subject, the signal, the target, the kind
  and the instant, so a repeated signal is recognised and not appended twice.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Collection, Iterable
from datetime import UTC, datetime
from typing import Literal

import attrs

from lawful._time import require_aware
from lawful.events import (
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    Event,
    Objection,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
)
from lawful.exceptions import SignalError
from lawful.model import LegalBasis, Purpose, SignalBinding
from lawful.policy import Policy
from lawful.subject import Subject

__all__ = ["Finding", "Report", "SignalResult"]

Severity = Literal["invalid", "warning"]


@attrs.frozen
class Finding:
    """Something a signal's rules say about this particular signal.

    Attributes:
        code: A stable identifier, such as ``"policy_version_outdated"``.
        message: One sentence saying what and where.
        severity: ``"invalid"``: the signal's own rules say to discard it, so it
            creates no grant; ``"warning"``: worth logging, the signal still counts.
    """

    code: str
    message: str
    severity: Severity = "warning"


@attrs.frozen
class SignalResult:
    """What one received signal turned into.

    Attributes:
        method: The signal (``"tcf"``, ``"gpc"``, ``"consent_mode"``, ``"piwik_pro"``).
        digest: A digest of the signal as received (for logs and receipts).
        received_at: When the host received it.
        events: The new events, in time order; none of them is already on the subject.
        repeats: Ids of events this signal maps to that the subject already holds.
        findings: What the signal's own rules say about it.
    """

    method: str
    digest: str
    received_at: datetime
    events: tuple[Event, ...] = ()
    repeats: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()

    @property
    def valid(self) -> bool:
        """Whether no finding says to discard the signal."""
        return all(f.severity != "invalid" for f in self.findings)

    def apply(self, subject: Subject) -> Subject:
        """``subject`` with the new events appended (ids already present are skipped)."""
        known = {e.id for e in subject.events if e.id is not None}
        fresh = [e for e in self.events if e.id not in known]
        return subject.extend(fresh) if fresh else subject


class Report(enum.Enum):
    """What a signal says about one target (a purpose, a purpose and vendor, a scope)."""

    GRANT = "grant"
    """An affirmative act: consent given (or an objection or opt-out lifted)."""
    REFUSE = "refuse"
    """A refusal, a withdrawal, an objection or an opt-out."""
    DEFAULT = "default"
    """No act of the person: a pre-set value, an unset bit, "no decision"."""


# -- receiving --------------------------------------------------------------------------------


def received(received_at: datetime, method: str) -> datetime:
    """Check ``received_at`` (aware) and return it in UTC."""
    return require_aware(received_at, f"{method}: received_at").astimezone(UTC)


def digest(*parts: object) -> str:
    """A stable hex digest of JSON-able parts."""
    text = json.dumps(parts, separators=(",", ":"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def event_id(method: str, subject: Subject, *parts: object) -> str:
    """The id of a signal's event: the method and a digest of subject, target, kind and time.

    The subject is part of it, so one signal received for two people never
    collides in a ledger that appends idempotently by id.
    """
    return f"{method}:{digest(method, subject.id, *parts)[:32]}"


def not_after(
    at: datetime, received_at: datetime, method: str, what: str
) -> tuple[datetime, list[Finding]]:
    """``at`` in UTC, moved back to ``received_at`` if it claims to be later."""
    moment = at.astimezone(UTC)
    if moment > received_at:
        return received_at, [
            Finding(
                "time_after_receipt",
                f"{method}: {what} {moment.isoformat()} is after the signal was received "
                f"({received_at.isoformat()}); the events use the time of receipt",
            )
        ]
    return moment, []


def split_repeats(
    subject: Subject, events: Iterable[Event]
) -> tuple[tuple[Event, ...], tuple[str, ...]]:
    """New events (in time order) and the ids of those the subject already holds."""
    known = {e.id for e in subject.events if e.id is not None}
    fresh: list[Event] = []
    repeats: list[str] = []
    seen: set[str | None] = set()
    for event in events:
        if event.id in known:
            repeats.append(str(event.id))
        elif event.id not in seen:
            seen.add(event.id)
            fresh.append(event)
    fresh.sort(key=lambda e: (e.at, e.rank))
    return tuple(fresh), tuple(repeats)


def require_str(value: object, where: str) -> str:
    """``value`` if it is a str, else a :class:`SignalError`."""
    if not isinstance(value, str):
        raise SignalError(f"{where}: expected a string, got {type(value).__name__}")
    return value


# -- the subject's state --------------------------------------------------------------------

Target = tuple[str, str | None, str | None]
"""A timeline a signal speaks about: ("consent", purpose, vendor), ("objection", purpose,
None) or ("opt_out", scope, None)."""


def _report_of(event: Event, target: Target) -> Report | None:
    """What ``event`` says about ``target``, or ``None`` if it is not on that timeline."""
    kind, key, vendor = target
    match event:
        case ConsentGiven() if (
            kind == "consent" and event.purpose == key and event.vendor == vendor
        ):
            return Report.GRANT
        case ConsentWithdrawn() if (
            kind == "consent" and event.purpose == key and event.vendor == vendor
        ):
            return Report.REFUSE
        case Objection() if kind in {"consent", "objection"} and event.purpose in {key, None}:
            # Art. 21 and the engine: an objection to a consent purpose counts as a withdrawal.
            return Report.REFUSE
        case ObjectionWithdrawn() if kind == "objection" and event.purpose in {key, None}:
            return Report.GRANT
        case OptOut() if kind == "opt_out" and event.scope == key:
            return Report.REFUSE
        case OptOutWithdrawn() if kind == "opt_out" and event.scope == key:
            return Report.GRANT
    return None


def latest(
    subject: Subject, target: Target, at: datetime, *, method: str | None = None
) -> tuple[Report, Event] | None:
    """The latest event on ``target`` at or before ``at`` (only ``method``'s, if given).

    Ties at one instant go to the more restrictive event, as in the engine.
    """
    best: tuple[datetime, int, Report, Event] | None = None
    prefix = None if method is None else f"{method}:"
    for event in subject.events:
        if event.at > at:
            break
        if prefix is not None and not (event.id or "").startswith(prefix):
            continue
        report = _report_of(event, target)
        if report is None:
            continue
        if best is None or (event.at, event.rank) >= (best[0], best[1]):
            best = (event.at, event.rank, report, event)
    return None if best is None else (best[2], best[3])


def edge(subject: Subject, target: Target, report: Report, at: datetime, method: str) -> bool:
    """Whether a signal *without a time* should record ``report`` on ``target`` at ``at``.

    - A default records a refusal only where nothing at all is on record: it is no
      act of the person, so it never overrides one (and never grants).
    - Otherwise the report counts when it differs from what the same signal last
      reported; the first time, when it differs from the subject's current state.
      A grant re-sent after a withdrawal made elsewhere therefore changes nothing.
    """
    if report is Report.DEFAULT:
        return latest(subject, target, at) is None
    own = latest(subject, target, at, method=method)
    if own is not None:
        return own[0] is not report
    current = latest(subject, target, at)
    return current is None or current[0] is not report


# -- consent-type signals (Consent Mode, Piwik PRO) ---------------------------------------


def consent_event(
    policy: Policy,
    subject: Subject,
    method: str,
    purpose: str,
    report: Report,
    at: datetime,
    received_at: datetime,
    vendor: str | None = None,
) -> Event:
    """The event a consent-type signal's report on ``purpose`` becomes.

    Only :attr:`Report.GRANT` grants (Art. 4(11), Planet49: a pre-set or default
    value is no consent); a refusal and a default both record a withdrawal.
    """
    kind = "grant" if report is Report.GRANT else "refuse"
    ident = event_id(method, subject, "consent", purpose, vendor, kind, at.isoformat())
    if report is Report.GRANT:
        return ConsentGiven(
            at=at,
            recorded_at=received_at,
            id=ident,
            purpose=purpose,
            vendor=vendor,
            policy_version=policy.version,
            # The signal is how the consent was expressed; each signal's method names a
            # ConsentMethod member (tcf, consent_mode, piwik_pro).
            method=ConsentMethod(method),
        )
    return ConsentWithdrawn(
        at=at, recorded_at=received_at, id=ident, purpose=purpose, vendor=vendor
    )


def bound_purposes(
    policy: Policy, bindings: Iterable[SignalBinding], known: Collection[str], method: str
) -> tuple[dict[str, list[str]], list[Finding]]:
    """Purpose id -> the signal types bound to it (purposes that consent decides), and
    findings on bindings skipped.
    """
    out: dict[str, list[str]] = {}
    findings: list[Finding] = []
    for i, binding in enumerate(bindings):
        where = f"{method}: signals.{method}[{i}]"
        if binding.signal not in known:
            findings.append(
                Finding(
                    "binding_ignored",
                    f"{where}: '{binding.signal}' is not a {method} consent type",
                )
            )
        for pid in binding.purposes:
            purpose = policy.purpose(pid)
            if not needs_consent(purpose):
                findings.append(
                    Finding(
                        "binding_ignored",
                        f"{where}: '{pid}' rests on {purpose.basis.value} and needs no consent "
                        "for device access, so a consent signal neither grants nor refuses it",
                    )
                )
                continue
            out.setdefault(pid, []).append(binding.signal)
    return out, findings


def needs_consent(purpose: Purpose) -> bool:
    """Whether consent events decide ``purpose``: its basis, or device access (ePrivacy 5(3))."""
    return purpose.basis is LegalBasis.CONSENT or (
        purpose.device_access and not purpose.strictly_necessary
    )
