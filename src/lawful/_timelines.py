"""A subject's timelines: its events split by kind, purpose, vendor and scope, each in
order of the instant it takes effect, built in one pass and grown by ``Subject.add``.

What :class:`lawful.Subject` holds and the decision reads (``lawful._engine``): instants
are integer sort keys (``microseconds * 4 + rank``), and "the latest event at or before
``at``" is one binary search per timeline (:func:`latest_key`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable
from itertools import islice
from operator import lt as _before
from typing import Any, TypeVar

from lawful._time import EPOCH, to_us
from lawful.events import (
    EVENT_TYPES,
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
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
    TransferConsentGiven,
    TransferConsentWithdrawn,
    _EventBase,
)

__all__ = ["Kind", "Line", "LineKey", "latest_key"]

# A timeline: sort keys (instant in microseconds * 4 + rank) and the events, in step,
# and how many of them belong to this subject. The rank puts the more restrictive of two
# events at one instant last, so that "the latest event at or before at" picks it
# (DESIGN: the more restrictive wins).
#
# The lists may be longer than the count: Subject.add appends an event that comes last
# to the lists it shares with the subject it was made from, which still reads only its
# own first `count` entries. A list is appended to only while nobody has read past the
# count that is appending, so an entry below a count never changes; a second add to the
# same old subject copies instead.
Line = tuple[list[int], list[Event], int]
LineKey = tuple[str | None, ...]
_RANKS = 4
_T = TypeVar("_T")


class Kind:
    """The kinds of timeline, the first element of a :data:`LineKey`.

    Plain strings (an Enum's hash is slow on the hot path), named here so that the
    engine and the index read alike.
    """

    CONSENT_GRANTS = "consent-grants"  # (kind, purpose, vendor): affirmative ConsentGiven
    CONSENT_STOPS = "consent-stops"  # (kind, purpose, vendor): ConsentWithdrawn
    OBJECTIONS = "objections"  # (kind, purpose): Objection only
    OBJECTION_STATE = "objection-state"  # (kind, purpose): Objection and ObjectionWithdrawn
    OVERRIDES = "overrides"  # (kind, purpose): ObjectionOverridden
    RESTRICTION = "restriction"  # (kind, purpose): requested and lifted
    ERASURE = "erasure"  # (kind,)
    OPT_OUT_STATE = "opt-out-state"  # (kind, scope): OptOut and OptOutWithdrawn
    OPT_OUTS = "opt-outs"  # (kind, scope): OptOut only (a withdrawal of consent, Art. 7(3))
    ANY_OPT_OUT = "any-opt-out"  # (kind,): every opt-out event, whatever its scope
    AGE = "age"  # (kind,): birth dates and ages declared
    PARENTAL = "parental"  # (kind, purpose): parental consent given and withdrawn
    CONTRACT = "contract"  # (kind,): contracts started and ended
    INTERACTION = "interaction"  # (kind, interaction kind, purpose)
    ANY_INTERACTION = "any-interaction"  # (kind,)
    TRANSFER = "transfer"  # (kind, vendor, purpose): transfer consent given and withdrawn
    ALL = "all"  # (kind,): every event that counts, by the instant it takes effect


# A grant never takes effect before it is on record (docs/explanation/decision.md,
# "Conventions at the edges"): these take effect at the later of `at` and `recorded_at`;
# every other event (a withdrawal, objection, restriction, erasure, a fact) at its `at`.
_GRANTS: tuple[type[Event], ...] = (
    ConsentGiven,
    TransferConsentGiven,
    ParentalConsentGiven,
    ContractStarted,
    ObjectionWithdrawn,
    ObjectionOverridden,
    RestrictionLifted,
    OptOutWithdrawn,
)
_ALL: LineKey = (Kind.ALL,)


# -- the timelines of each kind of event ------------------------------------------------------
# One function per event class, found by type(event) in one dict look-up (a ``match`` over
# nineteen class patterns cost more than the rest of indexing an event). Each returns the
# timelines the event belongs to besides the Kind.ALL line, or None for a "consent" that
# is no affirmative act, which enters no timeline at all.


def _consent_given(e: ConsentGiven) -> tuple[LineKey, ...] | None:
    if not _affirmative(e.method):
        return None  # Art. 4(11), recital 32: it grants nothing and changes nothing
    return ((Kind.CONSENT_GRANTS, e.purpose, e.vendor),)


def _consent_withdrawn(e: ConsentWithdrawn) -> tuple[LineKey, ...]:
    return ((Kind.CONSENT_STOPS, e.purpose, e.vendor),)


def _objection(e: Objection) -> tuple[LineKey, ...]:
    return ((Kind.OBJECTIONS, e.purpose), (Kind.OBJECTION_STATE, e.purpose))


def _objection_withdrawn(e: ObjectionWithdrawn) -> tuple[LineKey, ...]:
    return ((Kind.OBJECTION_STATE, e.purpose),)


def _objection_overridden(e: ObjectionOverridden) -> tuple[LineKey, ...]:
    return ((Kind.OVERRIDES, e.purpose),)


def _restriction(e: RestrictionRequested | RestrictionLifted) -> tuple[LineKey, ...]:
    return ((Kind.RESTRICTION, e.purpose),)


_ERASURE_LINES: tuple[LineKey, ...] = ((Kind.ERASURE,),)
_AGE_LINES: tuple[LineKey, ...] = ((Kind.AGE,),)
_CONTRACT_LINES: tuple[LineKey, ...] = ((Kind.CONTRACT,),)
_ANY_OPT_OUT: LineKey = (Kind.ANY_OPT_OUT,)
_ANY_INTERACTION: LineKey = (Kind.ANY_INTERACTION,)
# The kinds of timeline that only the rules of erasure, restriction, age, opt-out and
# objection read: a subject with none of them ("quiet", _Index.quiet) skips those rules.
_LOUD_KINDS = frozenset(
    {
        Kind.ERASURE,
        Kind.RESTRICTION,
        Kind.AGE,
        Kind.OPT_OUT_STATE,
        Kind.OPT_OUTS,
        Kind.ANY_OPT_OUT,
        Kind.OBJECTIONS,
        Kind.OBJECTION_STATE,
        Kind.OVERRIDES,
    }
)
# The kinds of timeline built only when a rule first reads them (_Index.interaction_lines):
# a decision on fresh data never reads them, and they are most of a visitor's events.
_LAZY_KINDS = frozenset({Kind.INTERACTION, Kind.ANY_INTERACTION})


def _erasure(_: Erasure) -> tuple[LineKey, ...]:
    return _ERASURE_LINES


def _opt_out(e: OptOut) -> tuple[LineKey, ...]:
    return ((Kind.OPT_OUT_STATE, e.scope), (Kind.OPT_OUTS, e.scope), _ANY_OPT_OUT)


def _opt_out_withdrawn(e: OptOutWithdrawn) -> tuple[LineKey, ...]:
    return ((Kind.OPT_OUT_STATE, e.scope), _ANY_OPT_OUT)


def _age(_: BirthDateDeclared | AgeDeclared) -> tuple[LineKey, ...]:
    return _AGE_LINES


def _parental(e: ParentalConsentGiven | ParentalConsentWithdrawn) -> tuple[LineKey, ...]:
    return ((Kind.PARENTAL, e.purpose),)


def _contract(_: ContractStarted | ContractEnded) -> tuple[LineKey, ...]:
    return _CONTRACT_LINES


def _interaction(e: Interaction) -> tuple[LineKey, ...]:
    return ((Kind.INTERACTION, e.kind, e.purpose), _ANY_INTERACTION)


def _transfer_given(e: TransferConsentGiven) -> tuple[LineKey, ...] | None:
    if not _affirmative(e.method):
        return None  # Art. 4(11), 49(1)(a): explicit consent is an affirmative act
    return ((Kind.TRANSFER, e.vendor, e.purpose),)


def _transfer_withdrawn(e: TransferConsentWithdrawn) -> tuple[LineKey, ...]:
    return ((Kind.TRANSFER, e.vendor, e.purpose),)


_LinesOf = Callable[[Any], "tuple[LineKey, ...] | None"]
_Grown = dict[LineKey, tuple[list[int], list[Event]]]
# Adds an event (with its sort key) to the timelines it belongs to, as they grow; False
# for a "consent" that is no affirmative act, which enters none.
_Grow = Callable[[Any, int, _Grown], bool]
# Per event class: its rank, whether it grants (takes effect no earlier than recorded),
# its timelines, and how it grows them.
_Spec = tuple[int, bool, _LinesOf, _Grow]


def _grow_by(lines_of: _LinesOf) -> _Grow:
    """The grower of a class from its timelines (page views and consent choices, most of
    a history, are grown in _indexed's loop itself).
    """

    def grow(event: Event, key: int, grown: _Grown) -> bool:
        own = lines_of(event)
        if own is None:
            return False
        for line_key in own:
            _grow_line(grown, line_key, key, event)
        return True

    return grow


def _grow_line(grown: _Grown, line_key: LineKey, key: int, event: Event) -> None:
    """Append ``event`` (sort key ``key``) to the growing timeline ``line_key``.

    (_indexed's loop does this in line for consent choices, most of a history.)
    """
    line = grown.get(line_key)
    if line is None:
        grown[line_key] = ([key], [event])
    else:
        line[0].append(key)
        line[1].append(event)


def _grow_interaction(_event: Interaction, _key: int, _grown: _Grown) -> bool:
    return True  # its own timelines are built from the Kind.ALL line when first read


_GROW: dict[type[Event], _Grow] = {Interaction: _grow_interaction}
_LINES_OF: dict[type[Event], _LinesOf] = {
    ConsentGiven: _consent_given,
    ConsentWithdrawn: _consent_withdrawn,
    Objection: _objection,
    ObjectionWithdrawn: _objection_withdrawn,
    ObjectionOverridden: _objection_overridden,
    RestrictionRequested: _restriction,
    RestrictionLifted: _restriction,
    Erasure: _erasure,
    OptOut: _opt_out,
    OptOutWithdrawn: _opt_out_withdrawn,
    BirthDateDeclared: _age,
    AgeDeclared: _age,
    ParentalConsentGiven: _parental,
    ParentalConsentWithdrawn: _parental,
    ContractStarted: _contract,
    ContractEnded: _contract,
    Interaction: _interaction,
    TransferConsentGiven: _transfer_given,
    TransferConsentWithdrawn: _transfer_withdrawn,
}
assert set(_LINES_OF) == set(EVENT_TYPES)  # noqa: S101 - every event class has its lines
_SPECS: dict[type, _Spec] = {
    cls: (cls.rank, cls in _GRANTS, lines, _GROW.get(cls) or _grow_by(lines))
    for cls, lines in _LINES_OF.items()
}


def _spec(event: object) -> _Spec:
    """The spec of ``event``'s class (a subclass of an event class: its base's)."""
    spec = _SPECS.get(type(event))
    if spec is not None:
        return spec
    if isinstance(event, EVENT_TYPES):
        for cls in type(event).__mro__:
            found = _SPECS.get(cls)
            if found is not None:
                # Its own rank: a ClassVar a subclass may have changed.
                return (event.rank, found[1], found[2], found[3])
    raise TypeError(f"not a lawful event: {event!r}")


def _keys_for(event: Event) -> tuple[LineKey, ...]:
    """The timelines an event belongs to; none for a "consent" that is no affirmative act."""
    own = _spec(event)[2](event)
    return () if own is None else (*own, _ALL)


def _affirmative(method: object) -> bool:
    """Whether a consent's method is an affirmative act (free text of older records, not
    yet read as a :class:`ConsentMethod`, counts as an unspecified affirmative act).
    """
    if method.__class__ is ConsentMethod:
        return method not in _NOT_AFFIRMATIVE  # identity first: no Enum hash
    if isinstance(method, ConsentMethod):
        return method.affirmative
    try:
        return ConsentMethod(method).affirmative
    except ValueError:
        return True


_NOT_AFFIRMATIVE = tuple(m for m in ConsentMethod if not m.affirmative)


def _sort_key(event: Event) -> int:
    """The event's place in the log: its ``at`` (and, at one instant, its rank)."""
    try:
        return to_us(event.at, f"{event.event_type}.at") * _RANKS + event.rank
    except AttributeError:
        raise TypeError(f"not a lawful event: {event!r}") from None


def effective_key(event: Event, key: int) -> int:
    """The sort key of the instant ``event`` (log key ``key``) takes effect.

    A grant recorded after its ``at`` takes effect when recorded: a record never
    back-dates a permission.
    """
    recorded = event.recorded_at
    if recorded is None or not isinstance(event, _GRANTS):
        return key
    later = to_us(recorded, f"{event.event_type}.recorded_at") * _RANKS + event.rank
    return max(key, later)


def _ordered_pairs(pairs: list[tuple[int, Event]]) -> tuple[list[int], list[Event]]:
    """Keyed events in key order; ties in the canonical (repr) order."""
    keyed = sorted(pairs, key=lambda pair: pair[0])
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


class _Index:
    """The timelines of one subject (private; shared between subjects built by ``add``).

    A plain slotted class, not attrs: one is made per subject, and attrs' initialiser
    would call a factory per dict.

    Attributes:
        lines: The timelines, by key.
        contracts: Derived: after each contract event, the start that keeps one in force.
        late: Grants recorded after their ``at``, by id: their ``at`` sort key. Timelines
            order every event by the instant it takes effect (a late grant at its
            recording), so that "what is in effect at t" is one binary search; which of
            two events in effect is the later choice is still decided by their ``at``
            (latest_key): a withdrawal made after a consent was given stops it, however
            late that consent was written down.
        memo: What the engine derives once.
        decisions: The engine's kept decisions.
        interactions: Whether the interaction timelines are in ``lines`` yet (see
            interaction_lines).
    """

    __slots__ = ("_quiet", "contracts", "decisions", "interactions", "late", "lines", "memo")

    def __init__(
        self,
        lines: dict[LineKey, Line],
        contracts: Line,
        late: dict[int, int] | None = None,
        *,
        decisions: dict[Hashable, Any] | None = None,
        interactions: bool = False,
        quiet: bool | None = None,
    ) -> None:
        self.lines = lines
        self.contracts = contracts
        self.late: dict[int, int] = {} if late is None else late
        self.memo: dict[Hashable, Any] = {}
        self.decisions: dict[Hashable, Any] = {} if decisions is None else decisions
        self.interactions = interactions
        self._quiet = quiet  # see quiet()

    def quiet(self) -> bool:
        """Whether the subject has no event of erasure, restriction, age, opt-out or
        objection (what most visitors' histories hold: consents and page views), so that
        the rules reading only those timelines have nothing to read. Found once.
        """
        quiet = self._quiet
        if quiet is None:
            loud = _LOUD_KINDS
            quiet = self._quiet = not any(key[0] in loud for key in self.lines)
        return quiet

    def interaction_lines(self) -> dict[LineKey, Line]:
        """``lines`` with the interaction timelines, built from the Kind.ALL line the first
        time a rule asks (only retention reads them; building them for every subject cost
        a fifth of indexing a visitor's history).

        ``lines`` is replaced, never changed in place, so that a reader iterating the
        dict it holds is never disturbed; two threads building at once build alike.
        """
        if self.interactions:
            return self.lines
        grown: _Grown = {}
        every = self.lines.get(_ALL)
        if every is not None:
            keys, events, count = every
            for key, event in zip(keys[:count], events[:count], strict=True):
                if isinstance(event, Interaction):
                    _grow_line(grown, (Kind.INTERACTION, event.kind, event.purpose), key, event)
                    _grow_line(grown, _ANY_INTERACTION, key, event)
        lines = {**self.lines, **{k: (v[0], v[1], len(v[0])) for k, v in grown.items()}}
        self.lines = lines
        self.interactions = True
        return lines

    @classmethod
    def _of(
        cls, keys: list[int], events: list[Event], late: dict[int, int], moved: dict[int, int]
    ) -> _Index:  # the general case of _indexed
        """The index of events in log order, given the grants recorded late: ``late`` (by
        id, their log key) and ``moved`` (by id, the key of the instant they take effect).
        """
        if moved:  # a grant recorded late moves to the instant it takes effect
            keys, events = _ordered_pairs(
                [(moved.get(id(e), k), e) for k, e in zip(keys, events, strict=True)]
            )
        grown: dict[LineKey, tuple[list[int], list[Event]]] = {}
        every: list[int] = []
        counted: list[Event] = []
        lines_of = _LINES_OF
        for key, event in zip(keys, events):  # noqa: B905 - in step by construction
            own = (lines_of.get(type(event)) or _spec(event)[2])(event)
            if own is None:
                continue
            every.append(key)
            counted.append(event)
            for line_key in own:
                if line_key[0] not in _LAZY_KINDS:
                    _grow_line(grown, line_key, key, event)
        lines: dict[LineKey, Line] = {k: (v[0], v[1], len(v[0])) for k, v in grown.items()}
        if every:
            lines[_ALL] = (every, counted, len(every))
        contracts = lines.get(_CONTRACT_LINES[0])
        return cls(lines, _contracts_in_force(contracts, late), late)

    def add(self, key: int, event: Event) -> _Index:
        """The index with one more event (sort key ``key``)."""
        lines = dict(self.lines)
        late = self.late
        effective = effective_key(event, key)
        if effective != key:
            late = {**late, id(event): key}
        key = effective
        for line_key in _keys_for(event):
            if not self.interactions and line_key[0] in _LAZY_KINDS:
                continue  # built from the Kind.ALL line, this event included, when read
            old = lines.get(line_key)
            if old is None:
                lines[line_key] = ([key], [event], 1)
            else:
                keys, events = _placed(old[0], old[1], old[2], key, event)
                lines[line_key] = (keys, events, old[2] + 1)
        contracts = self.contracts
        if isinstance(event, ContractStarted | ContractEnded):
            contracts = _contracts_in_force(lines[(Kind.CONTRACT,)], late)
        return _Index(
            lines,
            contracts,
            late,
            decisions=_still_kept(self.decisions, event),
            interactions=self.interactions,
        )


def _still_kept(decisions: dict[Hashable, Any], event: Event) -> dict[Hashable, Any]:
    """The kept decisions (``lawful._engine.decide``: keyed by purpose id first) that one
    more event leaves as they are, for the subject with it.

    A decision on fresh data reads no interaction (interactions count only for the
    retention of stored data), a consent that is no affirmative act changes nothing, and
    a consent event (or a transfer consent for one purpose) is read only by its own
    purpose's decisions. Any other event may change any purpose's answer (an erasure, an objection
    to every purpose, an opt-out, an age on record), so after it nothing is kept. Page
    views and consent choices, most of what a visitor does, thus leave the other answers
    kept, and a host that grows its subjects with add still asks them at little cost.
    """
    if not decisions or isinstance(event, Interaction) or not _keys_for(event):
        return dict(decisions)  # an interaction, or a "consent" that is no affirmative act
    purpose = getattr(event, "purpose", None)
    if isinstance(event, ConsentGiven | ConsentWithdrawn) or (
        isinstance(event, TransferConsentGiven | TransferConsentWithdrawn) and purpose is not None
    ):
        return {slot: kept for slot, kept in decisions.items() if slot[0] != purpose}  # type: ignore[index]
    return {}


def _placed(
    keys: list[int], events: list[Event], count: int, key: int, event: Event
) -> tuple[list[int], list[Event]]:
    """The first ``count`` keys and events, with ``event`` (sort key ``key``) in its place.

    Ties with equal keys keep the canonical (repr) order used by _ordered. An event that
    comes last is appended to the lists themselves where they can be shared (_extend);
    one that sorts before others costs a copy of both.
    """
    pos = bisect_right(keys, key, 0, count)
    while pos > 0 and keys[pos - 1] == key and repr(events[pos - 1]) > repr(event):
        pos -= 1
    if pos == count:
        return _extend(keys, count, key), _extend(events, count, event)
    keys, events = keys[:count], events[:count]
    keys.insert(pos, key)
    events.insert(pos, event)
    return keys, events


def _extend(values: list[_T], count: int, value: _T) -> list[_T]:
    """``values``' first ``count`` entries and then ``value``.

    The list itself is returned, appended to, while nothing past ``count`` is in it yet
    (the usual case: a subject grows by its newest event); otherwise a copy. No lock is
    needed: an append is atomic, and the one that lands at index ``count`` owns it; a
    racing add whose value landed later copies (its entry is left unread past every
    count). Every list is judged on its own, so an entry below any count never changes.
    """
    if len(values) == count:
        values.append(value)
        if values[count] is value:
            return values
    copy = values[:count]
    copy.append(value)
    return copy


def _contracts_in_force(line: Line | None, late: dict[int, int]) -> Line:
    """After each contract event (in the order they take effect): the ContractStarted
    keeping one in force, or the end. Per contract, the later choice by ``at`` counts: an
    end stops a start given before it, however late that start was recorded.
    """
    if line is None:
        return ([], [], 0)
    active: dict[str, Event] = {}
    keys: list[int] = []
    states: list[Event] = []
    starts: dict[str, int] = {}
    last: dict[str, int] = {}  # per contract: the `at` sort key of its latest event
    ended: Event | None = None  # the latest end, what "out of force" shows
    for key, event in zip(line[0][: line[2]], line[1][: line[2]], strict=True):
        contract = getattr(event, "contract", "")
        own = late.get(id(event), key)
        keys.append(key)
        if own >= last.get(contract, own):
            last[contract] = own
            if isinstance(event, ContractStarted):
                active[contract] = event
                starts[contract] = own
            else:
                active.pop(contract, None)
                ended = event
        # In force: the latest start still active; out of force: the event that ended it.
        if active:
            states.append(max(active.values(), key=lambda e: starts[getattr(e, "contract", "")]))
        else:
            assert ended is not None  # noqa: S101 - a start is passed over only after an end
            states.append(ended)
    return keys, states, len(keys)


_NO_LATE: dict[int, int] = {}  # never written to


def latest_key(
    line: Line | None, at_key: int, late: dict[int, int] = _NO_LATE
) -> tuple[int, Event] | None:
    """Of the events of ``line`` in effect at ``at_key`` (a sort key with the top rank),
    the latest choice, with its ``at`` sort key.

    The timeline is ordered by the instant each event takes effect, so those in effect
    are a prefix; the latest of them by ``at`` is its last event, unless grants recorded
    late (``late``) end it: then the walk goes back over them to the first event that
    was recorded in time, which no earlier event can follow.
    """
    if line is None:
        return None
    keys, events, count = line
    pos = bisect_right(keys, at_key, 0, count)
    if not pos:
        return None
    pos -= 1
    event = events[pos]
    own = late.get(id(event)) if late else None
    if own is None:
        return keys[pos], event
    best = (own, event)
    while pos > 0:
        pos -= 1
        event = events[pos]
        own = late.get(id(event))
        key = keys[pos] if own is None else own
        if key > best[0]:
            best = (key, event)
        if own is None:
            break
    return best


def _indexed(given: Iterable[_EventBase]) -> tuple[list[int], list[Event], _Index]:
    """The events in log order, their sort keys, and their index.

    One pass over the events: each instant converted once, and the timelines grown as it
    goes, which holds when the events come in strict time order with every grant recorded
    in time (the usual case). Page views and consent choices, most of a history, are
    handled in the loop itself; every other class through its spec (_SPECS: a call and a
    look-up more). Otherwise (events out of order, ties of instant, a grant recorded late,
    a "consent" that is no affirmative act) the events are sorted and the timelines grown
    again from them.
    """
    keys: list[int] = []
    events: list[Event] = []
    late: dict[int, int] = {}
    moved: dict[int, int] = {}
    grown: dict[LineKey, tuple[list[int], list[Event]]] = {}
    specs = _SPECS
    epoch = EPOCH
    grants, stops = Kind.CONSENT_GRANTS, Kind.CONSENT_STOPS
    not_affirmative = _NOT_AFFIRMATIVE
    last = -1
    simple = True  # strictly increasing keys, and every event enters the Kind.ALL line
    others = False  # an event besides page views and consent choices: see _Index.quiet
    event: object = None
    iterator = iter(given)  # not iterable: that TypeError as it is
    try:
        for event in iterator:
            cls = type(event)
            line_key: LineKey | None = None
            if cls is Interaction:  # its own timelines are built when first read
                delta = event.at - epoch  # aware by construction: events check their instants
                key = (delta.days * 86_400 + delta.seconds) * 4_000_000 + (
                    delta.microseconds * 4 + _INTERACTION_RANK
                )
            elif cls is ConsentGiven:
                delta = event.at - epoch
                key = (delta.days * 86_400 + delta.seconds) * 4_000_000 + (
                    delta.microseconds * 4 + _GIVEN_RANK
                )
                if event.recorded_at is not None:
                    effective = effective_key(event, key)  # type: ignore[arg-type]
                    if effective != key:
                        late[id(event)] = key
                        moved[id(event)] = effective
                        simple = False
                method = event.method  # type: ignore[attr-defined]
                if method.__class__ is not ConsentMethod or method in not_affirmative:
                    simple = False  # no affirmative act, or free text: as _consent_given says
                line_key = (grants, event.purpose, event.vendor)  # type: ignore[attr-defined]
            elif cls is ConsentWithdrawn:
                delta = event.at - epoch
                key = (delta.days * 86_400 + delta.seconds) * 4_000_000 + (
                    delta.microseconds * 4 + _WITHDRAWN_RANK
                )
                line_key = (stops, event.purpose, event.vendor)  # type: ignore[attr-defined]
            else:
                others = True
                rank, grant, _, grow = specs.get(cls) or _spec(event)
                delta = event.at - epoch  # _spec let only events through
                key = (delta.days * 86_400 + delta.seconds) * 4_000_000 + (
                    delta.microseconds * 4 + rank
                )
                if grant and event.recorded_at is not None:
                    effective = effective_key(event, key)  # type: ignore[arg-type]
                    if effective != key:
                        late[id(event)] = key
                        moved[id(event)] = effective
                        simple = False
                if simple and key > last and not grow(event, key, grown):
                    simple = False
            keys.append(key)
            events.append(event)  # type: ignore[arg-type]
            if key <= last:
                simple = False
            last = key
            if line_key is not None and simple:
                line = grown.get(line_key)
                if line is None:
                    grown[line_key] = ([key], [event])  # type: ignore[list-item]
                else:
                    line[0].append(key)
                    line[1].append(event)  # type: ignore[arg-type]
    except TypeError:
        # An instant that is no aware datetime (events check theirs where made, so only
        # an event built around its checks), or no event at all: say which.
        _sort_key(event)  # type: ignore[arg-type]
        raise
    if not simple:
        if not all(map(_before, keys, islice(keys, 1, None))):
            keys, events = _ordered_pairs(list(zip(keys, events, strict=True)))
        return keys, events, _Index._of(keys, events, late, moved)  # noqa: SLF001
    lines: dict[LineKey, Line] = {k: (v[0], v[1], len(v[0])) for k, v in grown.items()}
    if keys:
        # Every event counts, in log order: the Kind.ALL line is a copy (Subject.add
        # appends to the log and to this line, each on its own).
        lines[_ALL] = (keys[:], events[:], len(keys))
    contracts = lines.get(_CONTRACT_LINES[0])
    index = _Index(
        lines,
        _NO_CONTRACTS if contracts is None else _contracts_in_force(contracts, late),
        late,
        quiet=True if not others else None,  # consents and page views only: quiet for sure
    )
    return keys, events, index


_INTERACTION_RANK = Interaction.rank
_GIVEN_RANK = ConsentGiven.rank
_WITHDRAWN_RANK = ConsentWithdrawn.rank
_NO_CONTRACTS: Line = ([], [], 0)  # never written to: Subject.add makes a new line
