"""Global Privacy Control: ``Sec-GPC: 1`` becomes an opt-out and objections.

Only the exact value ``1`` is a signal (HTTP's optional whitespace around a
field value aside). It yields:

- an :class:`lawful.OptOut` with the policy's ``signals.gpc_scope``, when the
  policy names one (the policy may widen GPC's reach this way);
- at least, whatever the policy says, an objection by automated means
  (Art. 21(5)) to every direct-marketing purpose (absolute, Art. 21(3)) and to
  every legitimate-interest purpose that honours an opt-out.

GPC carries no time, so its events are stamped with ``received_at`` and follow
the edge rule of :mod:`lawful.signals`: GPC is recorded once, and a person who
later lifts the opt-out or objection (an exception granted on the site) is not
overruled by the header their browser keeps sending. An absent header, or any
other value, withdraws nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime

from lawful.events import Event, Objection, OptOut
from lawful.exceptions import SignalError
from lawful.model import LegalBasis, Purpose
from lawful.policy import Policy
from lawful.signals._common import (
    Report,
    SignalResult,
    digest,
    edge,
    event_id,
    received,
    split_repeats,
)
from lawful.subject import Subject

__all__ = ["HEADER", "from_gpc", "gpc_enabled", "objected_purposes"]

METHOD = "gpc"
HEADER = "Sec-GPC"
"""The request header that carries the signal."""
_MAX_VALUE = 256


def _values(headers: Mapping[str, object]) -> Iterator[object]:
    for name, value in headers.items():
        if not isinstance(name, str):
            raise SignalError(f"gpc: header names must be strings, got {type(name).__name__}")
        if name.strip().lower() == "sec-gpc":
            yield value


def gpc_enabled(headers: Mapping[str, object] | str | None) -> bool:
    """Whether a request carries ``Sec-GPC: 1``.

    Args:
        headers: The request headers (names matched case-insensitively), the
            header's value alone, or ``None`` when it is absent.

    Raises:
        SignalError: A value that is not a string, an oversized value, or the header
            given more than once with different values.
    """
    if headers is None:
        return False
    if not isinstance(headers, str | Mapping):
        raise SignalError(f"gpc: expected headers or a header value, got {type(headers).__name__}")
    values = [headers] if isinstance(headers, str) else list(_values(headers))
    seen = set()
    for value in values:
        if not isinstance(value, str):
            raise SignalError(f"gpc: {HEADER}: expected a string value, got {type(value).__name__}")
        if len(value) > _MAX_VALUE:
            raise SignalError(f"gpc: {HEADER}: a {len(value)}-character value is not a GPC signal")
        # RFC 9110 5.5: optional whitespace around a field value is not part of it.
        seen.add(value.strip(" \t"))
    if len(seen) > 1:
        raise SignalError(f"gpc: {HEADER} given more than once with different values")
    return seen == {"1"}


def objected_purposes(policy: Policy) -> tuple[Purpose, ...]:
    """The purposes a GPC signal objects to, whatever the policy's ``gpc_scope``.

    Art. 21(5) lets a person object by automated means: that covers every
    direct-marketing purpose (Art. 21(2)-(3)) and every legitimate-interest
    purpose that honours an opt-out.
    """
    return tuple(
        p
        for p in policy.purposes
        if p.direct_marketing or (p.basis is LegalBasis.LEGITIMATE_INTERESTS and p.honours_opt_out)
    )


def from_gpc(
    policy: Policy,
    headers: Mapping[str, object] | str | None,
    *,
    subject: Subject,
    received_at: datetime,
) -> SignalResult:
    """Turn a request's GPC header into events for ``subject``.

    Args:
        policy: The policy; ``signals.gpc_scope`` names the opt-out scope.
        headers: The request headers, the ``Sec-GPC`` value alone, or ``None``.
        subject: The person; what GPC already recorded is not recorded again.
        received_at: When the request arrived (aware); the events' time.

    Raises:
        SignalError: Malformed headers (see :func:`gpc_enabled`).
        NaiveDatetimeError: ``received_at`` has no time zone.
    """
    rec = received(received_at, METHOD)
    enabled = gpc_enabled(headers)
    stamp = digest(METHOD, enabled, rec.isoformat())
    if not enabled:
        # An absent header is not a withdrawal of an earlier opt-out.
        return SignalResult(METHOD, stamp, rec)
    events: list[Event] = []
    scope = policy.signals.gpc_scope
    if scope is not None and edge(subject, ("opt_out", scope, None), Report.REFUSE, rec, METHOD):
        events.append(
            OptOut(
                at=rec,
                recorded_at=rec,
                id=event_id(METHOD, subject, "opt_out", scope, rec.isoformat()),
                scope=scope,
            )
        )
    # Art. 21(5): an objection by automated means using technical specifications.
    events.extend(
        Objection(
            at=rec,
            recorded_at=rec,
            id=event_id(METHOD, subject, "objection", purpose.id, rec.isoformat()),
            purpose=purpose.id,
            automated=True,
        )
        for purpose in objected_purposes(policy)
        if edge(subject, ("objection", purpose.id, None), Report.REFUSE, rec, METHOD)
    )
    fresh, repeats = split_repeats(subject, events)
    return SignalResult(METHOD, stamp, rec, fresh, repeats)
