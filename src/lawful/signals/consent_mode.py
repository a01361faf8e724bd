"""Google Consent Mode v2: ``default`` and ``update`` commands become events.

A site states its defaults with ``gtag('consent', 'default', {...})`` and the
person's choice with ``gtag('consent', 'update', {...})``. The host forwards the
commands it saw, in order, as ``("default", {...})``, ``("update", {...})`` or
the data-layer form ``("consent", "update", {...})``; values are ``"granted"``
or ``"denied"`` for the seven consent types of :data:`CONSENT_TYPES`.

A purpose bound (through ``signals.consent_mode``) to several types is granted
only when every one of them was updated to ``"granted"``; an update to
``"denied"`` of any of them is a withdrawal. A default, even ``"granted"``, is
the site's setting and no act of the person (Art. 4(11), Planet49): it grants
nothing, and it records a withdrawal only where nothing is on record.

Consent Mode carries no time: events are stamped ``received_at`` and follow
the edge rule of :mod:`lawful.signals`. Sites replay the stored choice as an
``update`` on every page; such a replay changes nothing, and in particular a
grant replayed after a withdrawal made elsewhere does not grant again.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping, Sequence
from datetime import datetime

from lawful._signal_names import CONSENT_MODE_TYPES
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
    received,
    split_repeats,
)
from lawful.subject import Subject

__all__ = ["CONSENT_TYPES", "Command", "from_consent_mode", "parse_commands"]

METHOD = "consent_mode"
CONSENT_TYPES = CONSENT_MODE_TYPES
"""The consent types of Consent Mode v2."""
MAX_COMMANDS = 64
"""The most commands read from one receipt."""
MAX_PARAMETERS = 32
"""The most parameters read from one command (Consent Mode has seven consent types)."""
_DEFAULT_ONLY = {"wait_for_update", "region"}

Command = tuple[str, dict[str, bool]]
"""A parsed command: ``"default"`` or ``"update"``, and each type's value (granted or not)."""


def _shown(value: object) -> str:
    """A short, safe rendering of a value an attacker chose."""
    return reprlib.repr(value) if isinstance(value, str) else type(value).__name__


def _one(raw: object, where: str) -> Command:
    # Every comparison below is on exact str values first: a page controls these
    # payloads, and a list or dict where a string belongs must be an error, not a
    # TypeError from a set look-up (or a match by a hostile __eq__).
    if not isinstance(raw, Sequence) or isinstance(raw, str | bytes) or len(raw) > 3:
        raise SignalError(f"{where}: expected a command like ('update', {{...}})")
    items = list(raw)
    if len(items) == 3 and type(items[0]) is str and items[0] == "consent":
        items = items[1:]
    if len(items) != 2:
        raise SignalError(f"{where}: expected (command, parameters), got {len(items)} items")
    kind, params = items
    if type(kind) is not str or kind not in {"default", "update"}:
        raise SignalError(
            f"{where}: unknown command {_shown(kind)}; expected 'default' or 'update'"
        )
    if not isinstance(params, Mapping):
        raise SignalError(f"{where}: expected the parameters as a mapping")
    if len(params) > MAX_PARAMETERS:
        raise SignalError(f"{where}: {len(params)} parameters, more than {MAX_PARAMETERS}")
    values: dict[str, bool] = {}
    for key, value in params.items():
        if type(key) is not str:
            raise SignalError(f"{where}: a parameter name is a {type(key).__name__}")
        if kind == "default" and key in _DEFAULT_ONLY:
            continue  # wait_for_update and region shape defaults, which never grant anyway
        if key not in CONSENT_TYPES:
            raise SignalError(f"{where}.{key[:40]}: unknown consent type")
        if type(value) is not str or value not in {"granted", "denied"}:
            raise SignalError(f"{where}.{key}: expected 'granted' or 'denied', got {_shown(value)}")
        values[key] = value == "granted"
    return kind, values


def parse_commands(commands: object) -> tuple[Command, ...]:
    """Check and parse forwarded commands.

    Raises:
        SignalError: Not a sequence, too many commands, an unknown command or
            consent type, or a value other than ``"granted"``/``"denied"``.
    """
    if not isinstance(commands, Sequence) or isinstance(commands, str | bytes):
        raise SignalError("consent_mode: expected a sequence of commands")
    if len(commands) > MAX_COMMANDS:
        raise SignalError(f"consent_mode: {len(commands)} commands, more than {MAX_COMMANDS}")
    return tuple(_one(raw, f"consent_mode: commands[{i}]") for i, raw in enumerate(commands))


def _state(commands: Sequence[Command]) -> dict[str, tuple[bool, bool]]:
    """Each type's (is an update, granted): an update outranks any default, the last wins."""
    state: dict[str, tuple[bool, bool]] = {}
    for kind, values in commands:
        for key, granted in values.items():
            if kind == "update" or not state.get(key, (False, False))[0]:
                state[key] = (kind == "update", granted)
    return state


def _report(types: Sequence[str], state: Mapping[str, tuple[bool, bool]]) -> Report:
    values = [state.get(t) for t in types]
    if any(v is not None and v[0] and not v[1] for v in values):
        return Report.REFUSE
    if all(v is not None and v[0] and v[1] for v in values):
        return Report.GRANT
    return Report.DEFAULT


def from_consent_mode(
    policy: Policy, commands: Sequence[object], *, subject: Subject, received_at: datetime
) -> SignalResult:
    """Turn forwarded Consent Mode commands into events for ``subject``.

    Args:
        policy: The policy; ``signals.consent_mode`` binds consent types to purposes.
        commands: The commands in the order the page ran them.
        subject: The person; replays of what Consent Mode already reported change nothing.
        received_at: When the host received them (aware); the events' time.

    Raises:
        SignalError: Malformed commands (see :func:`parse_commands`).
        NaiveDatetimeError: ``received_at`` has no time zone.
    """
    rec = received(received_at, METHOD)
    parsed = parse_commands(commands)
    state = _state(parsed)
    purposes, findings = bound_purposes(policy, policy.signals.consent_mode, CONSENT_TYPES, METHOD)
    events: list[Event] = []
    for pid, types in purposes.items():
        report = _report(types, state)
        if edge(subject, ("consent", pid, None), report, rec, METHOD):
            events.append(consent_event(policy, subject, METHOD, pid, report, rec, rec))
    fresh, repeats = split_repeats(subject, events)
    stamp = digest(METHOD, [[k, sorted(v.items())] for k, v in parsed], rec.isoformat())
    return SignalResult(METHOD, stamp, rec, fresh, repeats, tuple(findings))
