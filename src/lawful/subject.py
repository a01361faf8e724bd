"""A data subject and its events, indexed once for fast time queries.

Events may be given in any order; the subject keeps them in time order and
builds, per purpose, vendor, scope and kind, sorted timelines of integer
instants. A decision then looks up "the latest event at or before ``at``" with
one binary search per timeline it needs: O(log n) in the history.

>>> from datetime import datetime, UTC
>>> from lawful.events import ConsentGiven, ConsentWithdrawn
>>> s = Subject("visitor-1", events=[
...     ConsentWithdrawn(at=datetime(2025, 5, 1, tzinfo=UTC), purpose="analytics"),
...     ConsentGiven(at=datetime(2025, 3, 1, tzinfo=UTC), purpose="analytics"),
... ])
>>> [e.event_type for e in s.events]
['consent_given', 'consent_withdrawn']
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Iterable
from typing import Any

import attrs

from lawful._time import to_us
from lawful.events import (
    EVENT_TYPES,
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Erasure,
    Event,
    Interaction,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    RestrictionLifted,
    RestrictionRequested,
    _EventBase,
)

__all__ = ["Subject"]

# A timeline: sort keys (instant in microseconds * 4 + rank) and the events, in step.
# The rank puts the more restrictive of two events at one instant last, so that
# "the latest event at or before at" picks it (DESIGN: the more restrictive wins).
Line = tuple[list[int], list[Event]]
LineKey = tuple[str | None, ...]
_RANKS = 4


def _keys_for(event: Event) -> tuple[LineKey, ...]:
    """The timelines an event belongs to."""
    match event:
        case ConsentGiven() | ConsentWithdrawn():
            return (("c", event.purpose, event.vendor),)
        case Objection():
            # Art. 21 and DESIGN: an objection to a consent purpose counts as a withdrawal.
            return (("o", event.purpose), ("c", event.purpose, None))
        case ObjectionWithdrawn():
            return (("o", event.purpose),)
        case ObjectionOverridden():
            return (("v", event.purpose),)
        case RestrictionRequested() | RestrictionLifted():
            return (("r", event.purpose),)
        case Erasure():
            return (("e",),)
        case OptOut() | OptOutWithdrawn():
            return (("x", event.scope), ("X",))
        case BirthDateDeclared() | AgeDeclared():
            return (("a",),)
        case ParentalConsentGiven() | ParentalConsentWithdrawn():
            return (("p", event.purpose),)
        case ContractStarted() | ContractEnded():
            return (("k",),)
        case Interaction():
            return (("i", event.kind, event.purpose), ("I",))
    raise TypeError(f"not a lawful event: {event!r}")  # pragma: no cover - typed away


def _sort_key(event: Event) -> int:
    try:
        return to_us(event.at, f"{event.event_type}.at") * _RANKS + event.rank
    except AttributeError:
        raise TypeError(f"not a lawful event: {event!r}") from None


def _ordered(events: Iterable[Event]) -> tuple[list[int], list[Event]]:
    """Events in time order, independent of the order given.

    Ties of instant and rank are broken by the event's representation, so that the
    same set of events always yields the same order (and the same decisions).
    """
    keyed = sorted(((_sort_key(e), e) for e in events), key=lambda pair: pair[0])
    keys = [k for k, _ in keyed]
    ordered = [e for _, e in keyed]
    start = 0
    while start < len(keys):
        end = start + 1
        while end < len(keys) and keys[end] == keys[start]:
            end += 1
        if end - start > 1:
            ordered[start:end] = sorted(ordered[start:end], key=repr)
        start = end
    return keys, ordered


@attrs.define(slots=True)
class _Index:
    """The timelines of one subject (private; shared between subjects built by ``add``)."""

    lines: dict[LineKey, Line]
    contracts: Line  # derived: after each contract event, the start that keeps one in force
    memo: dict[Hashable, Any] = attrs.Factory(dict)

    @classmethod
    def build(cls, keys: list[int], events: list[Event]) -> _Index:
        lines: dict[LineKey, Line] = {}
        for key, event in zip(keys, events, strict=True):
            for line_key in _keys_for(event):
                line = lines.get(line_key)
                if line is None:
                    lines[line_key] = ([key], [event])
                else:
                    line[0].append(key)
                    line[1].append(event)
        return cls(lines, _contracts_in_force(lines.get(("k",))))

    def add(self, key: int, event: Event) -> _Index:
        lines = dict(self.lines)
        for line_key in _keys_for(event):
            old = lines.get(line_key)
            if old is None:
                lines[line_key] = ([key], [event])
                continue
            keys, events = list(old[0]), list(old[1])
            pos = bisect_right(keys, key)
            # Ties with equal keys keep the canonical (repr) order used by _ordered.
            while pos > 0 and keys[pos - 1] == key and repr(events[pos - 1]) > repr(event):
                pos -= 1
            keys.insert(pos, key)
            events.insert(pos, event)
            lines[line_key] = (keys, events)
        contracts = self.contracts
        if isinstance(event, ContractStarted | ContractEnded):
            contracts = _contracts_in_force(lines[("k",)])
        return _Index(lines, contracts)


def _contracts_in_force(line: Line | None) -> Line:
    """After each contract event: the ContractStarted keeping one in force, or the end."""
    if line is None:
        return ([], [])
    active: dict[str, Event] = {}
    keys: list[int] = []
    states: list[Event] = []
    for key, event in zip(*line, strict=True):
        if isinstance(event, ContractStarted):
            active[event.contract] = event
        else:
            active.pop(getattr(event, "contract", ""), None)
        keys.append(key)
        # In force: the latest start still active; out of force: the event that ended it.
        states.append(max(active.values(), key=_sort_key) if active else event)
    return keys, states


def latest(line: Line | None, at_key: int) -> Event | None:
    """The last event of ``line`` at or before ``at_key`` (a sort key with the top rank)."""
    if line is None:
        return None
    pos = bisect_right(line[0], at_key)
    return line[1][pos - 1] if pos else None


def latest_key(line: Line | None, at_key: int) -> tuple[int, Event] | None:
    """Like :func:`latest`, with the event's sort key."""
    if line is None:
        return None
    pos = bisect_right(line[0], at_key)
    return (line[0][pos - 1], line[1][pos - 1]) if pos else None


def _to_events(value: Iterable[_EventBase]) -> tuple[Event, ...]:
    # Typed on the events' common base: mypy infers a mixed list literal as
    # list[_EventBase], and Subject("s", [grant, withdrawal]) must type-check.
    events: list[Event] = []
    for event in value:
        if not isinstance(event, EVENT_TYPES):
            raise TypeError(f"not a lawful event: {event!r}")
        events.append(event)
    return tuple(events)


def _categories(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.frozen(eq=True)
class Subject:
    """A data subject and what it did.

    Attributes:
        id: The host's identifier of the person.
        categories: Data-subject categories (``visitor``, ``client``, ``job_applicant``);
            ``None`` when unknown.
        events: The events, in time order (ties: the more restrictive last).
    """

    id: str
    events: tuple[Event, ...] = attrs.field(default=(), converter=_to_events)
    categories: frozenset[str] | None = attrs.field(
        default=None, converter=_categories, kw_only=True
    )
    _keys: list[int] = attrs.field(init=False, eq=False, repr=False, alias="_keys")
    _index: _Index = attrs.field(init=False, eq=False, repr=False, alias="_index")

    def __attrs_post_init__(self) -> None:
        keys, ordered = _ordered(self.events)
        object.__setattr__(self, "events", tuple(ordered))
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_index", _Index.build(keys, ordered))

    def add(self, event: Event) -> Subject:
        """A new subject with one more event; the index is updated, not rebuilt."""
        key = _sort_key(event)
        keys = list(self._keys)
        pos = bisect_right(keys, key)
        while pos > 0 and keys[pos - 1] == key and repr(self.events[pos - 1]) > repr(event):
            pos -= 1
        keys.insert(pos, key)
        new = object.__new__(Subject)
        object.__setattr__(new, "id", self.id)
        object.__setattr__(new, "categories", self.categories)
        object.__setattr__(new, "events", (*self.events[:pos], event, *self.events[pos:]))
        object.__setattr__(new, "_keys", keys)
        object.__setattr__(new, "_index", self._index.add(key, event))
        return new

    def extend(self, events: Iterable[_EventBase]) -> Subject:
        """A new subject with more events (rebuilt once: cheaper than many :meth:`add`)."""
        return Subject(self.id, [*self.events, *events], categories=self.categories)
