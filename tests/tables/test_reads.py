"""What a table query leaves out, and what it shares: exact, and never a bad row unseen.

A sweep or a span reads only the events its purposes can read (``Reads``): the others are
checked in Arrow and left out of the subject. Subjects whose histories are the same are
decided once (``Shared``). Both must change no answer (the engine alone decides every
subject as before) and no error (a bad row of a kind nobody reads still stops the read).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests.properties._cases import UNDECLARED
from tests.properties.test_tables_laws import (
    Sweep,
    _each_purpose,
    _expected,
    _swept,
    _window,
    sweeps,
)
from tests.tables.test_arrow import EVENT_FIELDS, _one_by_one

import lawful
from lawful import EventError, Interaction, NaiveDatetimeError, Subject
from lawful import strategies as ls

pa = pytest.importorskip("pyarrow")
tables = pytest.importorskip("lawful.tables")
from lawful._engine import PER_PURPOSE  # noqa: E402
from lawful.tables._arrow import Reads, Rows  # noqa: E402
from lawful.tables._vouch import _iso_ok  # noqa: E402

AT = datetime(2025, 3, 1, 9, tzinfo=UTC)

# Text an instant column may hold: good and bad, in the plain shape and out of it.
ODD_INSTANTS = [
    "",
    "yesterday",
    "2025-02-30T00:00:00+00:00",
    "2025-03-01T09:00:00",
    "2025-03-01T24:00:00+00:00",
    "2025-03-01T09:00:60+00:00",
    "2025-03-01T09:00:00+24:00",
    "2025-03-01T09:00:00+00:60",
    "2025-03-01T09:00:00.5+00:00",
    "2025-03-01 09:00:00+00:00",
    "2025-03-01T09:00:00z",
    "0000-01-01T00:00:00+00:00",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2025-03-01T09:00:00.123456-05:30",
    "2025-03-01T09:00:00Z",
]


def _is_read(event: lawful.Event, reads: Reads) -> bool:
    if isinstance(event, Interaction):
        return reads.interactions
    purpose = getattr(event, "purpose", None)
    return not isinstance(event, PER_PURPOSE) or purpose is None or purpose in reads.purposes


@st.composite
def _reads(draw: st.DrawFn, history: list[lawful.Event]) -> Reads:
    named = sorted({p for e in history if isinstance(p := getattr(e, "purpose", None), str)})
    chosen = draw(st.lists(st.sampled_from([*named, "elsewhere"]), max_size=3))
    return Reads(frozenset(chosen), draw(st.booleans()))


# Rows of the kinds a query leaves out, so that every table drawn has some.
UNREAD: list[lawful.Event] = [
    Interaction(at=AT, kind="page_view"),
    Interaction(at=AT, kind="reply", purpose="crm", id="i-1"),
    lawful.ConsentGiven(at=AT, purpose="crm", method=lawful.ConsentMethod.BANNER),
    lawful.ConsentWithdrawn(at=AT, purpose="crm", recorded_at=AT),
    lawful.Objection(at=AT, purpose="crm", automated=True),
]


def _with_unread(drawn: tuple[list[lawful.Event], list[lawful.Event]]) -> list[lawful.Event]:
    return [*drawn[0], *drawn[1]]


@given(
    st.tuples(ls.event_histories(), st.lists(st.sampled_from(UNREAD), max_size=6))
    .map(_with_unread)
    .flatmap(lambda h: st.tuples(st.just(h), _reads(h))),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(EVENT_FIELDS), st.integers(0, 10**6))
    ),
    st.lists(
        st.tuples(
            st.integers(-(10**6), 10**6),  # from the end too: where the unread rows are
            st.sampled_from(["at", "recorded_at", "kind", "purpose", "method", "id"]),
            st.sampled_from(ODD_INSTANTS),
        ),
        max_size=4,
    ),
)
@example(drawn=(UNREAD[:1], Reads(frozenset(), False)), swaps=[], odd=[(0, "kind", "")])
@example(drawn=(UNREAD[2:3], Reads(frozenset(), False)), swaps=[], odd=[(0, "id", "")])
@example(
    drawn=(UNREAD[3:4], Reads(frozenset(), False)),
    swaps=[],
    odd=[(0, "recorded_at", "2025-02-30T00:00:00+00:00")],
)
@example(
    drawn=(UNREAD[4:5], Reads(frozenset(), False)),
    swaps=[],
    odd=[(0, "at", "9999-12-31T23:59:59-01:00")],
)
@settings(max_examples=150)
def test_rows_left_out_are_good_and_unread_and_errors_are_kept(
    drawn: tuple[list[lawful.Event], Reads],
    swaps: list[tuple[int, str, int]],
    odd: list[tuple[int, str, str]],
) -> None:
    """Fail closed: reading a table for a query gives the events that reading every row
    as one object gives, less those the query does not read, or the same error (naming
    the row and field) for rows given another row's field, a null, or odd text.
    """
    history, reads = drawn
    table = tables.to_arrow([(f"s{i % 3}", event) for i, event in enumerate(history)])
    if table.num_rows:
        columns = {name: table.column(name).to_pylist() for name in table.schema.names}
        for row, field, source in swaps:
            columns[field][row % table.num_rows] = columns[field][source % table.num_rows]
        for row, field, text in odd:
            columns[field][row % table.num_rows] = text
        table = pa.table(columns, schema=table.schema)
    expected = _one_by_one(table)
    try:
        got: list[tuple[str, object]] | str = list(Rows(table, reads=reads).read())
    except (EventError, NaiveDatetimeError) as exc:
        got = str(exc)
    if isinstance(expected, str) or isinstance(got, str):
        assert got == expected
        return
    # Every event read is there; one left out is one the query does not read (a row
    # Arrow cannot vouch for is read even so: kept, never dropped).
    rest = iter(expected)
    assert all(any(pair == other for other in rest) for pair in got), "in order, from the rows"
    read = [(s, e) for s, e in expected if _is_read(e, reads)]  # type: ignore[arg-type]
    assert [(s, e) for s, e in got if _is_read(e, reads)] == read  # type: ignore[arg-type]


@given(
    st.lists(
        st.one_of(
            st.sampled_from(ODD_INSTANTS),
            st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-9))])).map(
                datetime.isoformat
            ),
            st.from_regex(
                r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?"
                r"(Z|[+-][0-9]{2}:[0-9]{2})\Z"
            ),
        ),
        min_size=1,
    )
)
@settings(max_examples=200)
def test_text_arrow_vouches_for_is_an_instant_an_event_takes(texts: list[str]) -> None:
    """An instant column's text is left to Arrow's checks only where Python reads it as
    an aware instant that an event takes (UTC's years 1 to 9999).
    """
    vouched = _iso_ok(pa.array(texts, pa.string())).to_pylist()
    for text, ok in zip(texts, vouched, strict=True):
        if ok:
            moment = datetime.fromisoformat(text)
            assert moment.tzinfo is not None
            lawful.Erasure(at=moment)  # the event's own check: raises if it would refuse


def test_a_bad_row_nobody_reads_still_stops_a_sweep_and_spans() -> None:
    """A page view or another purpose's consent is read by neither question here, yet
    a bad one is an error naming its row, never dropped unseen.
    """
    good: dict[str, object] = {
        "subject": "s",
        "type": "interaction",
        "at": AT.isoformat(),
        "kind": "view",
    }
    hits = pa.table(
        {"subject": ["s"], "collected_at": pa.array([AT], pa.timestamp("us", tz="UTC"))}
    )
    policy = lawful.bundled_policy("piwik-pro")
    cases: list[tuple[dict[str, object], str]] = [
        ({**good, "at": "2025-02-30T09:00:00+00:00"}, r"events\[1\]: interaction\.at"),
        ({**good, "at": "2025-03-01T09:00:00"}, r"events\[1\]: interaction\.at"),
        ({**good, "kind": ""}, r"events\[1\]: interaction"),
        ({**good, "purpose": "x", "type": "consent_withdrawn"}, r"events\[1\]: consent_w.*kind"),
        ({**good, "type": "consent_given", "purpose": "other", "kind": None, "method": "x?"}, ""),
    ]
    for bad, match in cases:
        names = list(dict.fromkeys([*good, *bad]))
        events = pa.table({n: [row.get(n) for row in (good, bad)] for n in names})
        if not match:  # free text as a method is read (as unspecified): no error
            tables.sweep(policy, events, hits, purpose="analytics", at=AT)
            continue
        with pytest.raises((EventError, NaiveDatetimeError), match=match):
            tables.sweep(policy, events, hits, purpose="analytics", at=AT)
        with pytest.raises((EventError, NaiveDatetimeError), match=match):
            tables.spans(policy, events, purposes=["analytics"], start=AT, end=AT + timedelta(1))


def _alike(sweep: Sweep, data: Any) -> Sweep:
    """The sweep with each subject's history given again to more subjects: once as it is,
    once with every instant shown in another offset (the same instants), so that shared
    answers are used, and must not be used where the offsets differ.
    """
    shift = timezone(timedelta(hours=data.draw(st.sampled_from([-5, 0, 3]))))

    def moved(event: lawful.Event) -> lawful.Event:
        changes: dict[str, Any] = {
            a.name: value.astimezone(shift)
            for a in attrs.fields(type(event))
            if isinstance(value := getattr(event, a.name), datetime)
        }
        return attrs.evolve(event, **changes)

    twins = [Subject(f"t{s.id}", s.events) for s in sweep.subjects]
    twins += [Subject(f"u{s.id}", [moved(e) for e in s.events]) for s in sweep.subjects]
    hits = list(sweep.hits)
    hits += [(prefix + sid, c) for prefix in ("t", "u") for sid, c in sweep.hits if sid != "ghost"]
    hits += [("ghost2", c) for sid, c in sweep.hits if sid == "ghost"]
    return attrs.evolve(sweep, subjects=(*sweep.subjects, *twins), hits=tuple(hits))


@given(sweeps(), st.data())
@settings(max_examples=40)
def test_subjects_alike_decide_as_each_alone(sweep: Sweep, data: Any) -> None:
    """Shared answers change none: subjects with the same history (the same instants in
    other offsets included) and subjects without events each decide as ``may_process``
    and ``Policy.timeline`` decide them alone, for each purpose asked alone.
    """
    sweep = _alike(sweep, data)
    for asked in _each_purpose(sweep):
        assert _swept(asked) == _expected(asked)
    start, end = _window(sweep)
    purpose = data.draw(st.sampled_from([*sweep.policy.purpose_ids, UNDECLARED]))
    got = tables.spans(
        sweep.policy, tables.to_arrow(sweep.events()), purposes=[purpose], start=start, end=end
    ).to_pylist()
    expected = [
        {
            "subject": subject.id,
            "purpose": purpose,
            "start": span.start.astimezone(UTC),
            "end": span.end.astimezone(UTC),
            "allowed": span.allowed,
            "basis": None if span.decision.basis is None else span.decision.basis.value,
            "code": span.code.value,
        }
        for subject in sorted((s for s in sweep.subjects if s.events), key=lambda s: s.id.encode())
        for span in sweep.policy.timeline(subject, purpose, start, end)
    ]
    assert got == expected


@pytest.mark.parametrize("reads", [None, Reads(frozenset(), interactions=False)])
def test_a_timestamp_outside_the_years_1_to_9999_is_an_error_naming_the_row(
    reads: Reads | None,
) -> None:
    """A timestamp column may hold instants no datetime can: an error naming the row (read
    or not by the query), never an overflow and never a row dropped unseen.
    """
    year_10000 = 253_402_300_800_000_000
    stamps = pa.array([0, year_10000 + 5], pa.timestamp("us", tz="UTC"))
    table = pa.table(
        {"subject": ["s", "s"], "type": ["interaction"] * 2, "at": stamps, "kind": ["v", "v"]}
    )
    with pytest.raises(EventError, match=r"events\[1\]\.at: outside the years 1 to 9999"):
        list(Rows(table, reads=reads).read())
    edge = pa.array([year_10000 - 1], pa.timestamp("us", tz="UTC"))
    last = table.slice(0, 1).set_column(2, "at", edge)
    assert [e.at.year for _, e in Rows(last).read()] == [9999]
