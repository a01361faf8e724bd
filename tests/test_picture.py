"""``lawful.picture.timeline_svg``: one band per purpose, a colour per reason code, the events
as ticks, and every span exactly as ``Policy.timeline`` computes it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import lawful
from lawful import (
    ConsentGiven,
    ConsentWithdrawn,
    Interaction,
    OptOut,
    ReasonCode,
    Subject,
)
from lawful.picture import CODE_COLOURS, _ticks, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"
POLICY = lawful.bundled_policy("piwik-pro")
START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 6, 1, tzinfo=UTC)
VISITOR = Subject(
    "visitor-1",
    [
        Interaction(at=datetime(2025, 3, 3, 9, tzinfo=UTC), kind="page_view"),
        ConsentGiven(at=datetime(2025, 3, 3, 9, 1, tzinfo=UTC), purpose="analytics"),
        ConsentGiven(at=datetime(2025, 3, 3, 9, 1, tzinfo=UTC), purpose="information_by_email"),
        ConsentWithdrawn(at=datetime(2025, 4, 20, tzinfo=UTC), purpose="information_by_email"),
        OptOut(at=datetime(2025, 5, 10, tzinfo=UTC), scope="all_data_collection"),
        Interaction(at=datetime(2024, 12, 1, tzinfo=UTC), kind="page_view"),  # before START
    ],
)
PURPOSES = ("analytics", "information_by_email", "session_statistics")


def _root(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own output, parsed to check it


def _groups(root: ET.Element, kind: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == kind]


def _draw() -> str:
    return timeline_svg(POLICY, VISITOR, START, END, purposes=PURPOSES)


def test_the_picture_is_xml_with_one_band_group_per_purpose_in_order() -> None:
    """The SVG parses, and holds one purpose group per purpose asked, in the order asked."""
    root = _root(_draw())
    assert root.tag == f"{SVG}svg"
    assert [g.get("data-purpose") for g in _groups(root, "purpose")] == list(PURPOSES)


def test_every_purpose_of_the_policy_is_drawn_by_default() -> None:
    """Without purposes, every purpose of the policy has its band, in the policy's order."""
    root = _root(timeline_svg(POLICY, VISITOR, START, END))
    assert [g.get("data-purpose") for g in _groups(root, "purpose")] == list(POLICY.purpose_ids)


def test_the_spans_drawn_are_the_policy_timeline() -> None:
    """Each band's rectangles are Policy.timeline's spans: start, end, outcome and code."""
    root = _root(_draw())
    for group in _groups(root, "purpose"):
        pid = group.get("data-purpose")
        assert pid is not None
        rects = [r for r in group.iter(f"{SVG}rect") if (r.get("class") or "").startswith("span")]
        drawn = [
            (r.get("data-start"), r.get("data-end"), r.get("class"), r.get("data-code"))
            for r in rects
        ]
        expected = [
            (
                s.start.isoformat(),
                s.end.isoformat(),
                f"span {'allowed' if s.allowed else 'denied'}",
                s.code.value,
            )
            for s in POLICY.timeline(VISITOR, pid, START, END)
        ]
        assert drawn == expected


def test_spans_are_filled_with_their_code_colour_and_explained_on_hover() -> None:
    """A span's fill is its code's colour, and its tooltip is the decision's explanation."""
    root = _root(_draw())
    spans = [r for r in root.iter(f"{SVG}rect") if (r.get("class") or "").startswith("span")]
    codes = {r.get("data-code") for r in spans}
    assert {"consent_given", "consent_withdrawn", "opted_out"} <= codes
    for rect in spans:
        assert rect.get("fill") == CODE_COLOURS[ReasonCode(rect.get("data-code"))]
        title = rect.find(f"{SVG}title")
        assert title is not None
        assert title.text is not None
        assert ("Allowed:" in title.text) == (rect.get("class") == "span allowed")


def test_every_reason_code_has_its_own_colour() -> None:
    """The palette covers every reason code, and no two codes share a colour."""
    assert set(CODE_COLOURS) == set(ReasonCode)
    assert len(set(CODE_COLOURS.values())) == len(CODE_COLOURS)


def test_the_legend_names_each_code_drawn_and_whether_it_allows() -> None:
    """The legend lists every code that a span shows, with its verdict and article."""
    root = _root(_draw())
    (legend,) = _groups(root, "legend")
    words = [t.text or "" for t in legend.iter(f"{SVG}text")]
    assert "consent_given: allowed, Art. 6(1)(a)" in words
    assert any(w.startswith("opted_out: denied") for w in words)
    assert not any(w.startswith("erased") for w in words)


def test_events_in_the_window_are_ticks_labelled_with_their_kind() -> None:
    """Each event inside the window is one tick group with its type and a label; events
    outside it are counted in the header, not drawn.
    """
    svg = _draw()
    root = _root(svg)
    events = _groups(root, "event")
    assert [g.get("data-type") for g in events] == [
        "interaction",
        "consent_given",
        "consent_given",
        "consent_withdrawn",
        "opt_out",
    ]
    labels = [t.text for g in events for t in g.iter(f"{SVG}text")]
    assert "opt out · all_data_collection" in labels
    assert "consent given · analytics" in labels
    assert all(g.find(f"{SVG}line") is not None for g in events)
    assert "5 events shown · 1 outside the window" in svg


def test_crowded_events_keep_their_ticks_when_labels_run_out_of_room() -> None:
    """Beyond eight label lanes an event keeps its tick and tooltip; the header says so."""
    at = datetime(2025, 4, 1, tzinfo=UTC)
    crowd = Subject("c", [Interaction(at=at, kind=f"k{i}") for i in range(12)])
    svg = timeline_svg(POLICY, crowd, START, END, purposes=["analytics"])
    events = _groups(_root(svg), "event")
    assert len(events) == 12
    assert sum(1 for g in events if g.find(f"{SVG}text") is not None) == 8
    assert "4 unlabelled (hover the ticks)" in svg


def test_text_that_looks_like_markup_is_escaped() -> None:
    """Ids and event details with <, & and quotes are text in the picture, not markup."""
    odd = Subject('a<b>&"c', [Interaction(at=datetime(2025, 4, 1, tzinfo=UTC), kind="<x & y>")])
    root = _root(timeline_svg(POLICY, odd, START, END, purposes=["analytics", 'no<such>"id']))
    assert [g.get("data-purpose") for g in _groups(root, "purpose")][1] == 'no<such>"id'
    assert any(t.text == "interaction · <x & y>" for t in root.iter(f"{SVG}text"))


def test_the_picture_is_the_same_for_the_same_inputs() -> None:
    """Drawing is pure: the same arguments give the same document, byte for byte."""
    assert _draw() == _draw()


def test_times_are_read_in_the_zone_of_start() -> None:
    """The axis and the header read times in start's zone."""
    zone = timezone(timedelta(hours=2))
    svg = timeline_svg(
        POLICY, VISITOR, START.astimezone(zone), END.astimezone(zone), purposes=["analytics"]
    )
    assert "2025-03-01 02:00 to 2025-06-01 02:00 (UTC+02:00)" in svg


def test_a_naive_start_is_refused() -> None:
    """As for every decision, a datetime without a zone is an error, not a guess."""
    with pytest.raises(lawful.NaiveDatetimeError):
        timeline_svg(POLICY, VISITOR, datetime(2025, 3, 1), END)


@pytest.mark.parametrize(
    ("length", "first"),
    [
        (timedelta(minutes=40), ("00:05", "1 Mar 2025")),
        (timedelta(hours=20), ("03:00", "1 Mar 2025")),
        (timedelta(days=6), ("2 Mar", "2025")),
        (timedelta(days=92), ("10 Mar", "2025")),
        (timedelta(days=700), ("Apr", "2025")),
        (timedelta(days=3650), ("2026", "")),
    ],
)
def test_axis_ticks_are_round_times_labelled_for_their_scale(
    length: timedelta, first: tuple[str, str]
) -> None:
    """Ticks fall on round times (minutes to years) with labels fit for the window's length."""
    start = datetime(2025, 3, 1, 0, 1, tzinfo=UTC)
    ticks = _ticks(start, start + length, UTC)
    assert 2 <= len(ticks) <= 10
    assert ticks[0][1:] == first


@given(
    start=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    ),
    seconds=st.floats(min_value=1, max_value=300 * 365 * 86400),
    zone=st.sampled_from([UTC, ZoneInfo("Europe/Warsaw"), timezone(timedelta(hours=-9.5))]),
)
def test_axis_ticks_lie_in_the_window_in_order(
    start: datetime, seconds: float, zone: timezone
) -> None:
    """Whatever the window and zone, the ticks are few, inside the window and increasing."""
    end = start + timedelta(seconds=seconds)
    ticks = _ticks(start.astimezone(zone), end.astimezone(zone), zone)
    moments = [t for t, _, _ in ticks]
    assert len(moments) <= 37
    assert all(start <= m <= end for m in moments)
    assert moments == sorted(moments)
    assert all(line1 for _, line1, _ in ticks)
