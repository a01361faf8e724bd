"""Subjects: events in time order, ties settled, add() equal to a rebuild (issue 3)."""

from __future__ import annotations

import copy
import pickle
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

import lawful
from lawful import (
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
    Subject,
)

pytestmark = pytest.mark.usefixtures("no_clock")

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
US = timedelta(microseconds=1)


def at(minutes: int) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


# A history with ties of instant (and of instant and rank) in several timelines.
HISTORY: tuple[Event, ...] = (
    ConsentGiven(at=at(0), purpose="analytics"),
    ConsentWithdrawn(at=at(0), purpose="analytics"),
    ConsentGiven(at=at(0), purpose="ads", vendor="adnet"),
    ConsentGiven(at=at(0), purpose="ads", vendor="social"),
    Objection(at=at(1), purpose="fraud"),
    ObjectionWithdrawn(at=at(1), purpose="fraud"),
    ObjectionOverridden(at=at(2), purpose="fraud", grounds="g"),
    RestrictionRequested(at=at(3)),
    RestrictionLifted(at=at(3)),
    Erasure(at=at(4)),
    OptOut(at=at(5), scope="tracking"),
    OptOutWithdrawn(at=at(5), scope="tracking"),
    BirthDateDeclared(at=at(6), birth_date=date(2000, 1, 1)),
    AgeDeclared(at=at(6), at_least=18),
    ParentalConsentGiven(at=at(7)),
    ParentalConsentWithdrawn(at=at(7)),
    ContractStarted(at=at(8), contract="a"),
    ContractStarted(at=at(8), contract="b"),
    ContractEnded(at=at(9), contract="a"),
    Interaction(at=at(10), kind="page_view"),
    Interaction(at=at(10), kind="reply", purpose="hubspot"),
    ConsentGiven(at=at(11), purpose="analytics"),
)


def shuffled(events: tuple[Event, ...], seed: int) -> list[Event]:
    """The events in a reproducible random order."""
    out = list(events)
    random.Random(seed).shuffle(out)  # noqa: S311 - reproducible test order, not secrets
    return out


def own_lines(subject: Subject) -> dict[object, tuple[list[int], list[Event]]]:
    """The subject's timelines as it reads them (the interaction timelines, built when first
    read, included): each list cut at the subject's count.
    """
    lines = subject._index.interaction_lines()
    return {k: (v[0][: v[2]], v[1][: v[2]]) for k, v in lines.items()}


def same_index(one: Subject, two: Subject) -> None:
    """Assert that two subjects hold the same events, keys and timelines."""
    assert one.events == two.events
    assert [repr(e) for e in one.events] == [repr(e) for e in two.events]
    assert one._keys[: len(one.events)] == two._keys[: len(two.events)]
    assert own_lines(one) == own_lines(two)
    mine, theirs = one._index.contracts, two._index.contracts
    assert mine[0][: mine[2]] == theirs[0][: theirs[2]]
    assert mine[1][: mine[2]] == theirs[1][: theirs[2]]


def test_events_are_kept_in_time_order() -> None:
    """Events given in any order come out sorted by their instant."""
    late = ConsentWithdrawn(at=at(5), purpose="a")
    early = ConsentGiven(at=at(1), purpose="a")
    assert Subject("s", [late, early]).events == (early, late)


def test_instants_are_compared_across_zones() -> None:
    """Time order is by instant, not by wall-clock digits: 11:00+02:00 is before 10:00Z."""
    plus2 = timezone(timedelta(hours=2))
    earlier = ConsentGiven(at=datetime(2025, 3, 1, 11, tzinfo=plus2), purpose="a")
    later = ConsentWithdrawn(at=datetime(2025, 3, 1, 10, tzinfo=UTC), purpose="a")
    assert Subject("s", [later, earlier]).events == (earlier, later)


@pytest.mark.parametrize(
    ("permissive", "restrictive"),
    [
        (ConsentGiven(at=T0, purpose="a"), ConsentWithdrawn(at=T0, purpose="a")),
        (ConsentGiven(at=T0, purpose="a"), Objection(at=T0, purpose="a")),
        (RestrictionLifted(at=T0), RestrictionRequested(at=T0)),
        (ContractStarted(at=T0, contract="c"), ContractEnded(at=T0, contract="c")),
        (ConsentGiven(at=T0, purpose="a"), Erasure(at=T0)),
        (OptOutWithdrawn(at=T0, scope="s"), OptOut(at=T0, scope="s")),
        (ParentalConsentGiven(at=T0), ParentalConsentWithdrawn(at=T0)),
        (ObjectionWithdrawn(at=T0), Objection(at=T0)),
        (ObjectionOverridden(at=T0, purpose="a", grounds="g"), Objection(at=T0, purpose="a")),
    ],
)
def test_at_one_instant_the_more_restrictive_event_comes_last(
    permissive: Event, restrictive: Event
) -> None:
    """At one instant the more restrictive event is applied last, so it wins."""
    assert restrictive.rank > permissive.rank
    for order in ([permissive, restrictive], [restrictive, permissive]):
        assert Subject("s", order).events == (permissive, restrictive)


def test_ties_of_instant_and_rank_have_one_canonical_order() -> None:
    """Events equal in instant and rank keep one order whatever order they were given in."""
    a = ConsentGiven(at=T0, purpose="a")
    b = ConsentGiven(at=T0, purpose="b")
    assert Subject("s", [a, b]).events == Subject("s", [b, a]).events


@pytest.mark.parametrize("seed", range(8))
def test_equality_is_independent_of_input_order(seed: int) -> None:
    """Two subjects with the same events in different orders are equal, with equal hashes."""
    one = Subject("s", HISTORY)
    two = Subject("s", shuffled(HISTORY, seed))
    assert one == two
    assert hash(one) == hash(two)
    same_index(one, two)


def test_equality_depends_on_id_events_and_categories() -> None:
    """The id, the events and the categories all take part in equality."""
    base = Subject("s", HISTORY, categories=["visitor"])
    assert base != Subject("t", HISTORY, categories=["visitor"])
    assert base != Subject("s", HISTORY[:-1], categories=["visitor"])
    assert base != Subject("s", HISTORY)
    assert base == Subject("s", list(HISTORY), categories=frozenset({"visitor"}))


@pytest.mark.parametrize("seed", range(8))
def test_add_equals_rebuild(seed: int) -> None:
    """Adding events one by one, in any order, gives the index a full rebuild gives."""
    built = Subject("s", HISTORY, categories={"visitor"})
    grown = Subject("s", categories={"visitor"})
    for event in shuffled(HISTORY, seed):
        grown = grown.add(event)
    assert grown == built
    same_index(grown, built)


@pytest.mark.parametrize("seed", range(4))
def test_add_after_the_interaction_timelines_were_read_equals_rebuild(seed: int) -> None:
    """Adding to a subject whose interaction timelines were already built (a rule read
    them) grows them in place of building them later, to the same index.
    """
    built = Subject("s", HISTORY)
    grown = Subject("s")
    for event in shuffled(HISTORY, seed):
        grown._index.interaction_lines()
        grown = grown.add(event)
    same_index(grown, built)


def test_add_leaves_the_original_subject_untouched() -> None:
    """add() returns a new subject; the old one keeps its events and timelines."""
    old = Subject("s", HISTORY[:3])
    lines = own_lines(old)
    new = old.add(ConsentGiven(at=at(0), purpose="analytics", vendor="x"))
    new = new.add(ContractStarted(at=at(0), contract="z"))
    assert old.events == Subject("s", HISTORY[:3]).events
    assert own_lines(old) == lines
    assert old._index.contracts == ([], [], 0)
    assert len(new.events) == 5


def test_adds_that_branch_from_one_subject_stay_apart() -> None:
    """Two newest events added to one subject: each new subject holds only its own, and
    the old one neither (its timelines are shared with the first, not changed by it).
    """
    old = Subject("s", HISTORY)
    before = own_lines(old)
    grant = ConsentGiven(at=at(20), purpose="analytics")
    withdrawal = ConsentWithdrawn(at=at(20), purpose="analytics")
    first, second = old.add(grant), old.add(withdrawal)
    assert first._keys is old._keys  # the newest event appends to the shared list
    assert second._keys is not old._keys  # the list already ran on: copied
    same_index(first, Subject("s", [*HISTORY, grant]))
    same_index(second, Subject("s", [*HISTORY, withdrawal]))
    assert own_lines(old) == before
    same_index(old, Subject("s", HISTORY))
    # Growing the first again still appends; the second grows on its own copy.
    again = ConsentWithdrawn(at=at(21), purpose="analytics")
    same_index(first.add(again), Subject("s", [*HISTORY, grant, again]))
    same_index(second.add(again), Subject("s", [*HISTORY, withdrawal, again]))


def test_adds_from_many_threads_to_one_subject_stay_apart() -> None:
    """Threads adding different newest events to one shared subject each get their own."""
    old = Subject("s", HISTORY)
    events = [ConsentGiven(at=at(20 + i), purpose=f"p{i}") for i in range(32)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        grown = list(pool.map(old.add, events))
    for event, subject in zip(events, grown, strict=True):
        same_index(subject, Subject("s", [*HISTORY, event]))
    same_index(old, Subject("s", HISTORY))


def test_a_subject_made_by_add_is_an_ordinary_subject() -> None:
    """Its events are read (made a tuple) only when asked for; it equals, hashes, prints,
    pickles and copies like the subject built at once, and unknown attributes still fail.
    """
    grown = Subject("s", HISTORY[:-1], categories=["visitor"]).add(HISTORY[-1])
    built = Subject("s", HISTORY, categories=["visitor"])
    assert grown == built
    assert hash(grown) == hash(built)
    assert repr(grown) == repr(built)
    assert pickle.loads(pickle.dumps(grown)) == built  # noqa: S301 - our own bytes
    assert copy.deepcopy(grown.add(HISTORY[0])) == built.add(HISTORY[0])
    assert isinstance(grown.events, tuple)
    assert grown.events is grown.events  # made once
    with pytest.raises(AttributeError, match="no attribute 'event'"):
        grown.event  # type: ignore[attr-defined]  # noqa: B018 - the lookup is the test


def test_add_keeps_id_and_categories() -> None:
    """The subject added to keeps its identity and data-subject categories."""
    subject = Subject("s", categories=["client"]).add(Erasure(at=T0))
    assert (subject.id, subject.categories) == ("s", frozenset({"client"}))


def test_extend_equals_rebuild() -> None:
    """extend() with many events equals building the subject with all of them."""
    first, rest = HISTORY[:5], HISTORY[5:]
    extended = Subject("s", first, categories=["visitor"]).extend(reversed(rest))
    built = Subject("s", HISTORY, categories=["visitor"])
    assert extended == built
    same_index(extended, built)


def test_categories_unknown_unless_given() -> None:
    """Categories are None (unknown) by default; an empty set means "known: none"."""
    assert Subject("s").categories is None
    assert Subject("s", categories=[]).categories == frozenset()
    assert Subject("s", categories=("a", "b", "a")).categories == frozenset({"a", "b"})


def test_events_may_come_from_any_iterable() -> None:
    """A generator of events is read once and kept as a tuple."""
    subject = Subject("s", (e for e in HISTORY))
    assert isinstance(subject.events, tuple)
    assert len(subject.events) == len(HISTORY)


def test_a_non_event_is_refused() -> None:
    """Anything that is not a lawful event is a TypeError naming it."""
    with pytest.raises(TypeError, match="not a lawful event"):
        Subject("s", [object()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="not a lawful event"):
        Subject("s").add("consent")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "event",
    [
        Interaction(at=datetime(2025, 1, 1, tzinfo=UTC), kind="page_view"),
        ConsentGiven(at=datetime(2025, 1, 1, tzinfo=UTC), purpose="analytics"),
        ConsentWithdrawn(at=datetime(2025, 1, 1, tzinfo=UTC), purpose="analytics"),
        Erasure(at=datetime(2025, 1, 1, tzinfo=UTC)),
    ],
    ids=lambda e: e.event_type,
)
def test_an_instant_without_a_zone_is_named_whatever_the_class(event: Event) -> None:
    """Events check their instants where made; one built around that check (its ``at``
    made naive afterwards) is still refused when indexed, naming the field, for the
    classes indexed inline as for the others.
    """
    object.__setattr__(event, "at", datetime(2025, 1, 1))
    with pytest.raises(lawful.NaiveDatetimeError, match=rf"^{event.event_type}\.at: "):
        Subject("s", [event])
    with pytest.raises(TypeError, match="not iterable"):
        Subject("s", 5)  # type: ignore[arg-type]


def test_contract_timeline_follows_each_id() -> None:
    """The derived contract timeline keeps a contract in force until its own end."""
    subject = Subject("s", HISTORY)
    keys, states, _ = subject._index.contracts
    assert len(keys) == 3
    assert isinstance(states[-1], ContractStarted)
    assert states[-1].contract == "b"


def test_a_mixed_list_of_events_is_accepted() -> None:
    """A list of events of several kinds, built before the call, makes a subject."""
    events = [ConsentGiven(at=T0, purpose="a"), ConsentWithdrawn(at=T0 + US, purpose="a")]
    assert Subject("s", events).events == tuple(events)
