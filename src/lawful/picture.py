"""A picture of a subject's decisions over time: one band per purpose, the events as ticks.

:func:`timeline_svg` draws what :meth:`lawful.Policy.timeline` computes, for the
question a DPO or a support engineer is asked: *why was this person tracked that day?*
Each purpose is a horizontal band cut into its spans, coloured by the span's primary
reason code (allowed codes in greens and blues, denied codes in greys, reds and purples,
and hatched); each of the subject's events is a vertical tick labelled with its kind;
hovering a span shows the full explanation of its decision, and hovering a tick the
event. The time axis is read in the zone of ``start``.

The SVG is written by hand, with no plotting library: the picture is rectangles, lines
and text; a hand-written document keeps its text as text (searchable, and the
explanations as tooltips), is byte-for-byte reproducible, and needs nothing installed
beyond lawful (see :doc:`/howto/retention-sweep` for the comparison with matplotlib).

>>> from datetime import datetime, UTC
>>> import xml.etree.ElementTree as ET
>>> import lawful
>>> from lawful.picture import timeline_svg
>>> policy = lawful.bundled_policy("piwik-pro")
>>> visitor = lawful.Subject("v-1", [
...     lawful.ConsentGiven(at=datetime(2025, 3, 1, tzinfo=UTC), purpose="analytics"),
... ])
>>> svg = timeline_svg(policy, visitor, datetime(2025, 2, 1, tzinfo=UTC),
...                    datetime(2025, 4, 1, tzinfo=UTC), purposes=["analytics"])
>>> root = ET.fromstring(svg)
>>> [g.get("data-purpose") for g in root.iter("{http://www.w3.org/2000/svg}g")
...  if g.get("class") == "purpose"]
['analytics']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import MAXYEAR, UTC, datetime, timedelta, tzinfo
from xml.sax.saxutils import escape, quoteattr

from lawful.decision import Operation, ReasonCode
from lawful.events import Event
from lawful.policy import Policy
from lawful.subject import Subject
from lawful.timeline import Span

__all__ = ["CODE_COLOURS", "timeline_svg"]

CODE_COLOURS: dict[ReasonCode, str] = {
    # Allowed: greens and blues.
    ReasonCode.CONSENT_GIVEN: "#2e8b57",
    ReasonCode.LEGITIMATE_INTEREST: "#3b82c4",
    ReasonCode.COMPELLING_GROUNDS: "#6a5acd",
    ReasonCode.CONTRACT: "#2a9d8f",
    ReasonCode.LEGAL_OBLIGATION: "#4457a5",
    ReasonCode.VITAL_INTERESTS: "#6fae45",
    ReasonCode.PUBLIC_TASK: "#22607f",
    # Denied: nothing asked yet in light grey; withdrawn, objected, expired in reds and
    # oranges; age in pinks; scope and policy problems in greys and purples.
    ReasonCode.NO_CONSENT: "#cdd1d6",
    ReasonCode.CONSENT_WITHDRAWN: "#d6604d",
    ReasonCode.CONSENT_EXPIRED: "#e08e45",
    ReasonCode.CONSENT_STALE: "#e6b84c",
    ReasonCode.OBJECTED: "#b2182b",
    ReasonCode.NO_CONTRACT: "#b8ab98",
    ReasonCode.RESTRICTED: "#8c6bb1",
    ReasonCode.ERASED: "#3d3d3d",
    ReasonCode.RETENTION_EXCEEDED: "#8c510a",
    ReasonCode.PARENTAL_CONSENT_REQUIRED: "#de77ae",
    ReasonCode.BELOW_MINIMUM_AGE: "#c51b7d",
    ReasonCode.AGE_UNKNOWN: "#f1b6da",
    ReasonCode.UNKNOWN_PURPOSE: "#7f7f7f",
    ReasonCode.VENDOR_NOT_DECLARED: "#9e9ac8",
    ReasonCode.DATA_CATEGORY_NOT_DECLARED: "#c7c3e6",
    ReasonCode.SUBJECT_NOT_COVERED: "#a0a0a0",
    ReasonCode.OPTED_OUT: "#f46d43",
    ReasonCode.EXPLICIT_CONSENT_REQUIRED: "#fdae61",
    ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED: "#f5d76e",
    ReasonCode.PROCESSOR_ONLY: "#e3e3e3",
    ReasonCode.TRANSFER_SAFEGUARD_MISSING: "#762a83",
}
"""The fill of a span, by its primary reason code: one colour per code."""

_AFFIRMATIVE = frozenset(
    {
        "consent_given",
        "transfer_consent_given",
        "parental_consent_given",
        "objection_withdrawn",
        "opt_out_withdrawn",
        "restriction_lifted",
        "contract_started",
    }
)
_NEGATIVE = frozenset(
    {
        "consent_withdrawn",
        "transfer_consent_withdrawn",
        "parental_consent_withdrawn",
        "objection",
        "opt_out",
        "restriction_requested",
        "erasure",
        "contract_ended",
    }
)
_TICK_COLOURS = {"gives": "#1a7a3c", "takes": "#b2182b", "fact": "#555b63"}
_TICK_WORDS = {
    "gives": "an event that can allow",
    "takes": "an event that can deny",
    "fact": "a fact (interaction, age)",
}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Layout, in SVG user units (pixels at 100 %).
_WIDTH = 1100
_LEFT = 230
_RIGHT = 30
_MARGIN = 24
_PLOT = _WIDTH - _LEFT - _RIGHT
_LANE = 15
_MAX_LANES = 8
_PITCH = 32
_BAND = 22
_CHAR = 0.56
"""An average glyph's width per unit of font size in a sans-serif face (estimates only)."""
_FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def timeline_svg(
    policy: Policy,
    subject: Subject,
    start: datetime,
    end: datetime,
    *,
    purposes: Iterable[str] | None = None,
    collected_at: datetime | None = None,
    operation: Operation = Operation.USE,
) -> str:
    """An SVG document drawing the subject's timeline of each purpose over ``[start, end)``.

    Args:
        policy: The policy that decides.
        subject: The subject; its events inside the window are drawn as ticks.
        start: The first instant drawn; the axis reads times in its zone.
        end: The first instant not drawn.
        purposes: The purpose ids to draw, in order (default: every purpose of the policy).
        collected_at: As for :meth:`lawful.Policy.timeline` (default: fresh data).
        operation: As for :meth:`lawful.Policy.timeline`.

    Returns:
        The SVG document, as text. Each purpose is a ``<g class="purpose">`` whose
        ``data-purpose`` is its id, holding one ``<rect class="span ...">`` per span
        (``data-code``, ``data-start``, ``data-end``); each event drawn is a
        ``<g class="event">`` with its ``data-type``.

    Raises:
        NaiveDatetimeError: ``start``, ``end`` or ``collected_at`` has no time zone.
        QueryError: ``end`` is not after ``start``, or ``collected_at`` is after ``start``.
    """
    ids = tuple(policy.purpose_ids if purposes is None else purposes)
    rows = [
        (
            pid,
            policy.timeline(
                subject, pid, start, end, collected_at=collected_at, operation=operation
            ),
        )
        for pid in ids
    ]
    zone = start.tzinfo or UTC
    window = _Window(start, end.astimezone(zone))
    shown = [e for e in subject.events if start <= e.at < end]
    return _Drawing(policy, subject, window, rows, shown).document()


class _Window:
    """Maps instants of ``[start, end)`` to x coordinates of the plot."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.start = start
        self.end = end
        self.zone: tzinfo = start.tzinfo or UTC
        self._length = (end - start).total_seconds()

    def x(self, moment: datetime) -> float:
        share = (moment - self.start).total_seconds() / self._length
        return _LEFT + _PLOT * min(max(share, 0.0), 1.0)


class _Drawing:
    """One picture, built top to bottom into a list of SVG lines."""

    def __init__(
        self,
        policy: Policy,
        subject: Subject,
        window: _Window,
        rows: Sequence[tuple[str, tuple[Span, ...]]],
        events: Sequence[Event],
    ) -> None:
        self.policy = policy
        self.subject = subject
        self.window = window
        self.rows = rows
        self.events = events
        self.out: list[str] = []

    def document(self) -> str:
        labels, lanes, unlabelled = _lanes(self.events, self.window)
        bands_top = 76 + lanes * _LANE + 8
        bands_bottom = bands_top + len(self.rows) * _PITCH - (_PITCH - _BAND)
        axis = bands_bottom + 8
        legend = self._legend_items()
        legend_rows = _flow(legend)
        legend_top = axis + 52
        height = legend_top + len(legend_rows) * 22 + 14
        self.out.append(
            f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{_WIDTH}" '
            f'height="{height}" viewBox="0 0 {_WIDTH} {height}" font-family="{_FONT}" '
            'role="img">'
        )
        self.out.append(f"<title>{escape(self._title())}</title>")
        self.out.append(
            "<defs>"
            '<pattern id="denied-hatch" width="7" height="7" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)">'
            '<line x1="0" y1="0" x2="0" y2="7" stroke="#000" stroke-opacity="0.16" '
            'stroke-width="2.2"/></pattern></defs>'
        )
        self.out.append(f'<rect width="{_WIDTH}" height="{height}" fill="#ffffff"/>')
        self._header(unlabelled)
        self._grid(bands_top, axis)
        # The ticks go under the bands: they show in the gaps between them, and no tick
        # crosses a band's label; the span boundaries mark the changes themselves.
        self._events(labels, bands_bottom)
        for index, (pid, spans) in enumerate(self.rows):
            self._band(pid, spans, bands_top + index * _PITCH)
        self._legend(legend_rows, legend_top)
        self.out.append("</svg>")
        return "\n".join(self.out) + "\n"

    # -- parts -----------------------------------------------------------------------------

    def _title(self) -> str:
        return f"Decisions for subject {self.subject.id} under {self.policy.id}"

    def _header(self, unlabelled: int) -> None:
        w = self.window
        zone = _zone_name(w.start)
        period = f"{_stamp(w.start)} to {_stamp(w.end)} ({zone})"
        shown = len(self.events)
        outside = len(self.subject.events) - shown
        notes = [
            f"policy {self.policy.id} version {self.policy.version}",
            period,
            f"{shown} event{'s' if shown != 1 else ''} shown",
        ]
        if outside:
            notes.append(f"{outside} outside the window")
        if unlabelled:
            notes.append(f"{unlabelled} unlabelled (hover the ticks)")
        self.out.append(
            f'<text x="{_LEFT}" y="30" font-size="17" font-weight="600" fill="#1f2328">'
            f"{escape(self._title())}</text>"
        )
        self.out.append(
            f'<text x="{_LEFT}" y="50" font-size="12" fill="#57606a">'
            f"{escape(' · '.join(notes))}</text>"
        )

    def _grid(self, top: float, axis: float) -> None:
        w = self.window
        self.out.append('<g class="axis">')
        for moment, line1, line2 in _ticks(w.start, w.end, w.zone):
            x = _n(w.x(moment))
            self.out.append(
                f'<line x1="{x}" y1="{_n(top - 6)}" x2="{x}" y2="{_n(axis + 5)}" '
                'stroke="#d0d7de" stroke-width="1"/>'
            )
            self.out.append(
                f'<text x="{x}" y="{_n(axis + 19)}" font-size="11" fill="#424a53" '
                f'text-anchor="middle">{escape(line1)}</text>'
            )
            if line2:
                self.out.append(
                    f'<text x="{x}" y="{_n(axis + 33)}" font-size="11" fill="#6e7781" '
                    f'text-anchor="middle">{escape(line2)}</text>'
                )
        self.out.append(
            f'<line x1="{_LEFT}" y1="{_n(axis)}" x2="{_LEFT + _PLOT}" y2="{_n(axis)}" '
            'stroke="#6e7781" stroke-width="1"/>'
        )
        self.out.append("</g>")

    def _band(self, pid: str, spans: Sequence[Span], top: float) -> None:
        purpose = self.policy.purpose(pid) if pid in self.policy.purpose_ids else None
        basis = "not in the policy" if purpose is None else purpose.basis.value.replace("_", " ")
        middle = top + _BAND / 2
        self.out.append(f'<g class="purpose" data-purpose={quoteattr(pid)}>')
        self.out.append(
            f'<text x="{_LEFT - 12}" y="{_n(middle - 1)}" font-size="12.5" fill="#1f2328" '
            f'text-anchor="end">{escape(pid)}</text>'
        )
        self.out.append(
            f'<text x="{_LEFT - 12}" y="{_n(middle + 11)}" font-size="10" fill="#6e7781" '
            f'text-anchor="end">{escape(basis)}</text>'
        )
        for span in spans:
            self._span(pid, span, top)
        self.out.append("</g>")

    def _span(self, pid: str, span: Span, top: float) -> None:
        w = self.window
        x0, x1 = w.x(span.start), w.x(span.end)
        width = max(x1 - x0, 0.5)
        code = span.code
        fill = CODE_COLOURS[code]
        verdict = "allowed" if span.allowed else "denied"
        tip = (
            f"{pid}: {verdict} ({code.value}) from {span.start.isoformat()} "
            f"to {span.end.isoformat()}\n{span.decision.explain()}"
        )
        box = f'x="{_n(x0)}" y="{_n(top)}" width="{_n(width)}" height="{_BAND}"'
        self.out.append(
            f'<rect class="span {verdict}" data-code="{code.value}" '
            f'data-start="{span.start.isoformat()}" data-end="{span.end.isoformat()}" '
            f'{box} fill="{fill}"><title>{escape(tip)}</title></rect>'
        )
        if not span.allowed:
            self.out.append(f'<rect {box} fill="url(#denied-hatch)" pointer-events="none"/>')
        if width > _text_width(code.value, 11) + 10:
            self.out.append(
                f'<text class="code" x="{_n(x0 + 6)}" y="{_n(top + _BAND / 2 + 4)}" '
                f'font-size="11" fill="{_ink(fill)}" pointer-events="none">'
                f"{escape(code.value)}</text>"
            )

    def _events(self, labels: Sequence[_Label], bottom: float) -> None:
        for label in labels:
            event = label.event
            colour = _TICK_COLOURS[_family(event)]
            x = _n(label.x)
            top = 76 + label.lane * _LANE - 9 if label.lane >= 0 else 76 - 9
            tip = f"{event.event_type} at {event.at.isoformat()}: {_event_words(event)}"
            self.out.append(f'<g class="event" data-type="{event.event_type}">')
            self.out.append(f"<title>{escape(tip)}</title>")
            self.out.append(
                f'<line x1="{x}" y1="{_n(top)}" x2="{x}" y2="{_n(bottom + 4)}" '
                f'stroke="{colour}" stroke-width="1.4" stroke-dasharray="3 2"/>'
            )
            self.out.append(f'<circle cx="{x}" cy="{_n(top)}" r="2.6" fill="{colour}"/>')
            if label.lane >= 0:
                anchor, dx = ("end", -5) if label.flip else ("start", 5)
                self.out.append(
                    f'<text x="{_n(label.x + dx)}" y="{_n(top + 4)}" font-size="11" '
                    f'fill="{colour}" text-anchor="{anchor}" paint-order="stroke" '
                    f'stroke="#ffffff" stroke-width="3">{escape(label.text)}</text>'
                )
            self.out.append("</g>")

    def _legend_items(self) -> list[tuple[str, str, bool]]:
        """(swatch colour, words, hatched) for each code drawn and each kind of tick."""
        codes = {span.code for _, spans in self.rows for span in spans}
        items = [
            (
                CODE_COLOURS[code],
                f"{code.value}: {'allowed' if code.allows else 'denied'}, {code.article}",
                not code.allows,
            )
            for code in sorted(codes, key=lambda c: (not c.allows, list(ReasonCode).index(c)))
        ]
        families = {_family(e) for e in self.events}
        items.extend(
            (_TICK_COLOURS[f], f"tick: {_TICK_WORDS[f]}", False)
            for f in ("gives", "takes", "fact")
            if f in families
        )
        return items

    def _legend(
        self, rows: Sequence[Sequence[tuple[float, tuple[str, str, bool]]]], top: float
    ) -> None:
        self.out.append('<g class="legend">')
        for index, row in enumerate(rows):
            y = top + index * 22
            for x, (colour, item, hatched) in row:
                words = item.removeprefix("tick: ")
                if item != words:
                    self.out.append(
                        f'<line x1="{_n(x + 7)}" y1="{_n(y - 11)}" x2="{_n(x + 7)}" '
                        f'y2="{_n(y + 3)}" stroke="{colour}" stroke-width="1.4" '
                        'stroke-dasharray="3 2"/>'
                    )
                else:
                    box = f'x="{_n(x)}" y="{_n(y - 11)}" width="14" height="14"'
                    self.out.append(f'<rect {box} fill="{colour}" rx="2"/>')
                    if hatched:
                        self.out.append(f'<rect {box} fill="url(#denied-hatch)" rx="2"/>')
                self.out.append(
                    f'<text x="{_n(x + 20)}" y="{_n(y)}" font-size="11.5" fill="#1f2328">'
                    f"{escape(words)}</text>"
                )
        self.out.append("</g>")


# -- event labels ------------------------------------------------------------------------------


class _Label:
    """Where an event's tick and label go: its x, its lane (-1: no room), its side."""

    def __init__(self, event: Event, x: float, text: str) -> None:
        self.event = event
        self.x = x
        self.text = text
        self.lane = -1
        self.flip = False


def _lanes(events: Sequence[Event], window: _Window) -> tuple[list[_Label], int, int]:
    """Place each event's label in the first lane where it overlaps no other label.

    Returns the labels, the number of lanes used, and how many labels found no room.
    """
    taken: list[list[tuple[float, float]]] = []
    labels: list[_Label] = []
    for event in sorted(events, key=lambda e: e.at):
        label = _Label(event, window.x(event.at), _event_words(event))
        width = _text_width(label.text, 11) + 10
        label.flip = label.x + width > _WIDTH - 4
        left, right = (label.x - width, label.x) if label.flip else (label.x, label.x + width)
        for lane, spans in enumerate(taken):
            if all(right + 4 < a or left - 4 > b for a, b in spans):
                spans.append((left, right))
                label.lane = lane
                break
        else:
            if len(taken) < _MAX_LANES:
                taken.append([(left, right)])
                label.lane = len(taken) - 1
        labels.append(label)
    return labels, max(len(taken), 1), sum(1 for label in labels if label.lane < 0)


def _event_words(event: Event) -> str:
    words = event.event_type.replace("_", " ")
    details: list[str] = []
    purpose = getattr(event, "purpose", None)
    if purpose:
        vendor = getattr(event, "vendor", None)
        details.append(f"{purpose}/{vendor}" if vendor else str(purpose))
    details.extend(
        str(value)
        for name in ("kind", "scope", "contract")
        if (value := getattr(event, name, None))
    )
    at_least = getattr(event, "at_least", None)
    if at_least is not None:
        details.append(f"at least {at_least}")
    return " · ".join([words, *details])


def _family(event: Event) -> str:
    if event.event_type in _AFFIRMATIVE:
        return "gives"
    if event.event_type in _NEGATIVE:
        return "takes"
    return "fact"


# -- the time axis -----------------------------------------------------------------------------

_STEPS: tuple[tuple[str, int, float], ...] = (
    ("minute", 1, 60),
    ("minute", 5, 300),
    ("minute", 15, 900),
    ("minute", 30, 1800),
    ("hour", 1, 3600),
    ("hour", 3, 3 * 3600),
    ("hour", 6, 6 * 3600),
    ("hour", 12, 12 * 3600),
    ("day", 1, 86400),
    ("day", 2, 2 * 86400),
    ("week", 1, 7 * 86400),
    ("week", 2, 14 * 86400),
    ("month", 1, 30.4 * 86400),
    ("month", 3, 91.3 * 86400),
    ("month", 6, 182.6 * 86400),
    ("year", 1, 365.25 * 86400),
    ("year", 2, 2 * 365.25 * 86400),
    ("year", 5, 5 * 365.25 * 86400),
    ("year", 10, 10 * 365.25 * 86400),
    ("year", 50, 50 * 365.25 * 86400),
    ("year", 100, 100 * 365.25 * 86400),
    ("year", 1000, 1000 * 365.25 * 86400),
)
_MAX_TICKS = 9


def _ticks(start: datetime, end: datetime, zone: tzinfo) -> list[tuple[datetime, str, str]]:
    """Round instants inside ``[start, end]`` for the axis, each with a label of one or
    two lines (the second line only where the date or the year changes).
    """
    length = (end - start).total_seconds()
    unit, step = next(
        ((u, s) for u, s, seconds in _STEPS if length / seconds <= _MAX_TICKS), ("year", 1000)
    )
    # Aware instants sharing one tzinfo compare and add as wall-clock times: ticks fall on
    # round local times (midnight, the first of a month) also across a DST change.
    local = start.astimezone(zone)
    last = end.astimezone(zone)
    moments: list[datetime] = []
    tick = _first_tick(local, unit, step)
    while tick <= last and len(moments) <= 4 * _MAX_TICKS:
        if tick >= local:
            moments.append(tick)
        tick = _next_tick(tick, unit, step)
    labelled: list[tuple[datetime, str, str]] = []
    previous: datetime | None = None
    for moment in moments:
        line1, line2 = _tick_label(moment, unit, previous)
        labelled.append((moment, line1, line2))
        previous = moment
    return labelled


def _first_tick(local: datetime, unit: str, step: int) -> datetime:
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "minute":
        return day + timedelta(minutes=(local.hour * 60 + local.minute) // step * step)
    if unit == "hour":
        return day + timedelta(hours=local.hour // step * step)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1, month=(local.month - 1) // step * step + 1)
    return day.replace(day=1, month=1, year=max(local.year // step * step, 1))


def _next_tick(tick: datetime, unit: str, step: int) -> datetime:
    if unit in {"minute", "hour", "day", "week"}:
        days = {"day": step, "week": 7 * step}.get(unit, 0)
        delta = timedelta(days=days) if days else timedelta(**{f"{unit}s": step})
        latest = datetime.max.replace(tzinfo=tick.tzinfo)
        return tick + delta if tick < latest - delta else latest
    months = step if unit == "month" else 12 * step
    index = tick.year * 12 + tick.month - 1 + months
    if index // 12 > MAXYEAR:
        return datetime.max.replace(tzinfo=tick.tzinfo)
    return tick.replace(year=index // 12, month=index % 12 + 1)


def _tick_label(moment: datetime, unit: str, previous: datetime | None) -> tuple[str, str]:
    month = _MONTHS[moment.month - 1]
    if unit in {"minute", "hour"}:
        new_day = previous is None or previous.date() != moment.date()
        return f"{moment:%H:%M}", f"{moment.day} {month} {moment.year}" if new_day else ""
    if unit in {"day", "week"}:
        new_year = previous is None or previous.year != moment.year
        return f"{moment.day} {month}", str(moment.year) if new_year else ""
    if unit == "month":
        new_year = previous is None or previous.year != moment.year
        return month, str(moment.year) if new_year else ""
    return str(moment.year), ""


# -- small helpers -----------------------------------------------------------------------------


def _flow(
    items: Sequence[tuple[str, str, bool]],
) -> list[list[tuple[float, tuple[str, str, bool]]]]:
    """Lay legend items out in columns as wide as the widest item, row by row."""
    if not items:
        return []
    column = max(20 + _text_width(words.removeprefix("tick: "), 11.5) + 24 for _, words, _ in items)
    per_row = max(1, int((_WIDTH - 2 * _MARGIN) // column))
    return [
        [(_MARGIN + i * column, item) for i, item in enumerate(items[start : start + per_row])]
        for start in range(0, len(items), per_row)
    ]


def _text_width(text: str, size: float) -> float:
    return len(text) * size * _CHAR


def _ink(fill: str) -> str:
    """Dark or white text, whichever reads better on ``fill`` (relative luminance)."""
    red, green, blue = (int(fill[i : i + 2], 16) / 255 for i in (1, 3, 5))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    return "#1f2328" if luminance > 0.5 else "#ffffff"


def _n(value: float) -> str:
    """A coordinate with at most one decimal, without a trailing ``.0``."""
    text = f"{value:.1f}"
    return text.removesuffix(".0")


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


def _zone_name(moment: datetime) -> str:
    name = moment.tzname() or "UTC"
    return "UTC" if name in {"UTC", "UTC+00:00"} else name
