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

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import attrs

from lawful._timelines import Kind, _Index, _indexed, _placed, _sort_key, latest_key
from lawful.events import EVENT_TYPES, Event, _EventBase

__all__ = ["Kind", "Subject", "latest_key"]


# Subject's slots, set past its frozen __setattr__ (an __init__ written out: attrs' own
# would convert the events to a tuple that is sorted into another at once).
def _slot_setter(name: str) -> Callable[[Subject, object], None]:
    setter: Callable[[Subject, object], None] = Subject.__dict__[name].__set__
    return setter


@attrs.frozen(eq=True, init=False)
class Subject:
    """A data subject and what it did.

    Attributes:
        id: The host's identifier of the person.
        categories: Data-subject categories (``visitor``, ``client``, ``job_applicant``);
            ``None`` when unknown.
        events: The events, in time order (ties: the more restrictive last).
    """

    id: str
    events: tuple[Event, ...] = ()
    categories: frozenset[str] | None = attrs.field(default=None, kw_only=True)
    # The events in order and their sort keys, in step. The lists may run on past the
    # subject's own ``_count`` entries (shared with subjects made by ``add``, see Line).
    _log: list[Event] = attrs.field(init=False, eq=False, repr=False, alias="_log")
    _keys: list[int] = attrs.field(init=False, eq=False, repr=False, alias="_keys")
    _count: int = attrs.field(init=False, eq=False, repr=False, alias="_count")
    _index: _Index = attrs.field(init=False, eq=False, repr=False, alias="_index")

    def __init__(
        self,
        id: str,
        events: Iterable[_EventBase] = (),
        *,
        categories: Iterable[str] | None = None,
    ) -> None:
        # The events are typed on their common base: mypy infers a mixed list literal as
        # list[_EventBase], and Subject("s", [grant, withdrawal]) must type-check. Each is
        # checked in the pass that indexes it.
        keys, ordered, index = _indexed(events)
        _set_id(self, id)
        _set_events(self, tuple(ordered))
        _set_categories(self, None if categories is None else frozenset(categories))
        _set_log(self, ordered)
        _set_keys(self, keys)
        _set_count(self, len(ordered))
        _set_index(self, index)

    if not TYPE_CHECKING:  # typed, every unknown attribute would pass as Any

        def __getattr__(self, name: str) -> object:
            # Reached only for an empty slot: the events of a subject made by ``add``
            # become a tuple the first time they are read, not at every add.
            if name != "events":
                raise AttributeError(f"'Subject' object has no attribute '{name}'")
            events = tuple(self._log[: self._count])
            object.__setattr__(self, "events", events)
            return events

    def add(self, event: Event) -> Subject:
        """A new subject with one more event; the index is updated, not rebuilt.

        The newest event (the usual case) costs little, whatever the history: the new
        subject shares its event log and timelines with this one, which is left as it
        was, and makes its ``events`` tuple when it is first read. An event that sorts
        before others, or a second event added to the same subject, costs copies.
        """
        if not isinstance(event, EVENT_TYPES):
            raise TypeError(f"not a lawful event: {event!r}")
        key = _sort_key(event)
        keys, events = _placed(self._keys, self._log, self._count, key, event)
        new = object.__new__(Subject)
        object.__setattr__(new, "id", self.id)
        object.__setattr__(new, "categories", self.categories)
        # ``events`` is left empty: filled from the log the first time it is read.
        object.__setattr__(new, "_log", events)
        object.__setattr__(new, "_keys", keys)
        object.__setattr__(new, "_count", self._count + 1)
        object.__setattr__(new, "_index", self._index.add(key, event))
        return new

    def extend(self, events: Iterable[_EventBase]) -> Subject:
        """A new subject with more events (rebuilt once: cheaper than many :meth:`add`)."""
        return Subject(self.id, [*self.events, *events], categories=self.categories)


_set_id = _slot_setter("id")
_set_events = _slot_setter("events")
_set_categories = _slot_setter("categories")
_set_log = _slot_setter("_log")
_set_keys = _slot_setter("_keys")
_set_count = _slot_setter("_count")
_set_index = _slot_setter("_index")
