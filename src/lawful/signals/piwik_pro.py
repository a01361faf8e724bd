"""Piwik PRO Consent Manager: compliance settings become events, and back.

The Consent Manager reports ``{"consents": {type: {"status": s, "updatedAt": t}}}``
(its ``getComplianceSettings`` shape) where ``s`` is ``1`` (approved), ``0``
(rejected) or ``-1`` (no decision) and ``t`` is when that type last changed.

A purpose bound (through ``signals.piwik_pro``) to several consent types is
granted only when each is approved; a rejection of any is a withdrawal; "no
decision" or a missing type is no act of the person and grants nothing
(Art. 4(11), Planet49). Events carry ``updatedAt`` (a grant: the latest of its
types; a withdrawal: the earliest rejection), never later than ``received_at``,
and a repeated payload maps to the same event ids, so nothing is appended twice.
Without ``updatedAt`` the edge rule of :mod:`lawful.signals` applies.

:func:`to_piwik_pro` goes back: the ``setComplianceSettings`` payload that puts the
Consent Manager in step with what lawful decides.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from datetime import datetime

from lawful._signal_names import PIWIK_PRO_CONSENT_TYPES
from lawful._time import in_utc_range
from lawful.decision import ReasonCode
from lawful.events import Event
from lawful.exceptions import SignalError
from lawful.policy import Policy
from lawful.signals._common import (
    Report,
    SignalResult,
    bound_purposes,
    consent_event,
    digest,
    edge,
    not_after,
    received,
    split_repeats,
)
from lawful.subject import Subject

__all__ = ["CONSENT_TYPES", "from_piwik_pro", "parse_settings", "to_piwik_pro"]

METHOD = "piwik_pro"
CONSENT_TYPES = PIWIK_PRO_CONSENT_TYPES
"""The Consent Manager's consent types (``custom_consent`` is the "custom" type)."""
_MAX_TIME = 64
MAX_TYPES = 32
"""The most consent types read from one payload (the Consent Manager has eleven)."""

Setting = tuple[int, datetime | None]
"""One consent type's status (1, 0 or -1) and its ``updatedAt``, if given."""


def _key(key: object) -> str:
    return key[:40] if isinstance(key, str) else type(key).__name__


def _time(value: object, where: str) -> datetime:
    if not isinstance(value, str) or len(value) > _MAX_TIME:
        raise SignalError(f"{where}: expected an ISO 8601 timestamp string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SignalError(f"{where}: {value!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise SignalError(f"{where}: {value!r} has no time zone")
    if not in_utc_range(moment):
        raise SignalError(f"{where}: {value!r} is outside the years 1 to 9999 once in UTC")
    return moment


def parse_settings(payload: Mapping[str, object]) -> dict[str, Setting]:
    """Check and parse a compliance-settings payload.

    Raises:
        SignalError: Not ``{"consents": {...}}``, an unknown consent type or key, a
            status other than 1, 0 or -1, or an ``updatedAt`` that is not an ISO 8601
            timestamp with a zone.
    """
    where = "piwik_pro"
    if not isinstance(payload, Mapping):
        raise SignalError(f"{where}: expected {{'consents': {{...}}}}")
    extra = sorted(_key(k) for k in payload if type(k) is not str or k != "consents")
    if extra:
        raise SignalError(f"{where}.{extra[0]}: unknown key")
    consents = payload.get("consents")
    if not isinstance(consents, Mapping):
        raise SignalError(f"{where}.consents: expected a mapping of consent types")
    if len(consents) > MAX_TYPES:
        raise SignalError(f"{where}.consents: {len(consents)} consent types, more than {MAX_TYPES}")
    out: dict[str, Setting] = {}
    for key, body in consents.items():
        if type(key) is not str:
            raise SignalError(f"{where}.consents: a consent type is a {type(key).__name__}")
        at = f"{where}.consents.{key[:40]}"
        if key not in CONSENT_TYPES:
            raise SignalError(f"{at}: unknown consent type")
        if not isinstance(body, Mapping):
            raise SignalError(f"{at}: expected {{'status': ..., 'updatedAt': ...}}")
        unknown = sorted(
            _key(k) for k in body if type(k) is not str or k not in {"status", "updatedAt"}
        )
        if unknown:
            raise SignalError(f"{at}.{unknown[0]}: unknown key")
        status = body.get("status")
        if type(status) is not int or status not in {-1, 0, 1}:
            shown = reprlib.repr(status) if type(status) is int else type(status).__name__
            raise SignalError(f"{at}.status: expected 1, 0 or -1, got {shown}")
        updated = body.get("updatedAt")
        out[str(key)] = (status, None if updated is None else _time(updated, f"{at}.updatedAt"))
    return out


def _report(types: list[str], settings: Mapping[str, Setting]) -> tuple[Report, datetime | None]:
    """The purpose's report and, when every type involved carries one, its time."""
    got = [settings.get(t) for t in types]
    refused = [s for s in got if s is not None and s[0] == 0]
    if refused:
        times = [s[1] for s in refused]
        return Report.REFUSE, None if None in times else min(t for t in times if t is not None)
    if all(s is not None and s[0] == 1 for s in got):
        times = [s[1] for s in got if s is not None]
        return Report.GRANT, None if None in times else max(t for t in times if t is not None)
    return Report.DEFAULT, None


def from_piwik_pro(
    policy: Policy, payload: Mapping[str, object], *, subject: Subject, received_at: datetime
) -> SignalResult:
    """Turn a Consent Manager payload into events for ``subject``.

    Args:
        policy: The policy; ``signals.piwik_pro`` binds consent types to purposes.
        payload: ``{"consents": {type: {"status": ..., "updatedAt": ...}}}``.
        subject: The person; events already on record are not repeated.
        received_at: When the host received the payload (aware).

    Raises:
        SignalError: A malformed payload (see :func:`parse_settings`).
        NaiveDatetimeError: ``received_at`` has no time zone.
    """
    rec = received(received_at, METHOD)
    settings = parse_settings(payload)
    purposes, findings = bound_purposes(policy, policy.signals.piwik_pro, CONSENT_TYPES, METHOD)
    events: list[Event] = []
    for pid, types in purposes.items():
        report, when = _report(types, settings)
        if report is Report.DEFAULT or when is None:
            if edge(subject, ("consent", pid, None), report, rec, METHOD):
                events.append(consent_event(policy, subject, METHOD, pid, report, rec, rec))
            continue
        at, late = not_after(when, rec, METHOD, f"updatedAt for '{pid}'")
        findings.extend(late)
        events.append(consent_event(policy, subject, METHOD, pid, report, at, rec))
    fresh, repeats = split_repeats(subject, events)
    stamp = digest(
        METHOD,
        sorted((k, s, None if t is None else t.isoformat()) for k, (s, t) in settings.items()),
    )
    return SignalResult(METHOD, stamp, rec, fresh, repeats, tuple(findings))


def to_piwik_pro(
    policy: Policy,
    subject: Subject,
    at: datetime,
    *,
    current: Mapping[str, object] | None = None,
) -> dict[str, dict[str, dict[str, int]]]:
    """The ``setComplianceSettings`` payload that puts the Consent Manager in step with lawful.

    A consent type is approved (1) when every consent purpose bound to it is allowed
    at ``at``, rejected (0) when one of them was withdrawn; otherwise (no consent on
    record, expired, stale) it is left out, so that the Consent Manager asks again.

    Args:
        policy: The policy whose ``signals.piwik_pro`` bindings are used.
        subject: The person.
        at: The instant to decide at (aware).
        current: The Consent Manager's current settings; types already in step are left out.

    Raises:
        SignalError: ``current`` is malformed.
    """
    now = parse_settings(current) if current is not None else {}
    purposes, _ = bound_purposes(policy, policy.signals.piwik_pro, CONSENT_TYPES, METHOD)
    types: dict[str, list[str]] = {}
    for pid, bound in purposes.items():
        for name in bound:
            types.setdefault(name, []).append(pid)
    out: dict[str, dict[str, int]] = {}
    for name in sorted(types):
        if name not in CONSENT_TYPES:
            continue
        codes = [policy.may_process(subject, pid, at) for pid in types[name]]
        if any(not d.allowed and d.code is ReasonCode.CONSENT_WITHDRAWN for d in codes):
            status = 0
        elif all(d.allowed for d in codes):
            status = 1
        else:
            continue
        if name in now and now[name][0] == status:
            continue
        out[name] = {"status": status}
    return {"consents": out}
