"""Durations: human and ISO 8601 text, calendar months that clamp.

The conventions are those of docs/explanation/decision.md, "Conventions at the edges".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from lawful import Duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("60 months", Duration(months=60)),
        ("90 days", Duration(days=90)),
        ("1 year 6 months", Duration(years=1, months=6)),
        ("1 year, 6 months", Duration(years=1, months=6)),
        ("2 weeks", Duration(days=14)),
        ("1 week 2 days", Duration(days=9)),
        ("30 minutes", Duration(seconds=1800)),
        ("1 hour 30 min", Duration(seconds=5400)),
        ("45 s", Duration(seconds=45)),
        ("13 Months", Duration(months=13)),
        ("  24months ", Duration(months=24)),
        ("P60M", Duration(months=60)),
        ("p60m", Duration(months=60)),
        ("P1Y2M10DT2H", Duration(years=1, months=2, days=10, seconds=7200)),
        ("PT30M", Duration(seconds=1800)),
        ("P2W", Duration(days=14)),
        ("PT1H1M1S", Duration(seconds=3661)),
    ],
)
def test_parse(text: str, expected: Duration) -> None:
    """Human strings and ISO 8601 durations read into years, months, days and seconds."""
    assert Duration.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "P",
        "PT",
        "P1DT",
        "60",
        "months",
        "60 fortnights",
        "1 month 1 month",
        "-1 day",
        "1.5 years",
        "P1.5Y",
        "P-1D",
        "1000001 days",
        "60 months ago",
    ],
)
def test_parse_rejects_with_both_forms_shown(text: str) -> None:
    """Anything else is a ValueError whose message shows both accepted forms."""
    with pytest.raises(ValueError, match=r'expected a duration like "60 months", "90 days"'):
        Duration.parse(text)


def test_parts_must_not_be_negative() -> None:
    """A Duration built by hand refuses negative parts."""
    with pytest.raises(ValueError, match=r"^duration\.months: must not be negative"):
        Duration(months=-1)


@pytest.mark.parametrize(
    ("duration", "human", "iso"),
    [
        (Duration(months=60), "60 months", "P60M"),
        (
            Duration(years=1, months=1, days=1, seconds=3661),
            "1 year 1 month 1 day 1 hour 1 minute 1 second",
            "P1Y1M1DT1H1M1S",
        ),
        (Duration(seconds=1800), "30 minutes", "PT30M"),
        (Duration(), "0 seconds", "PT0S"),
    ],
)
def test_text_forms_read_back(duration: Duration, human: str, iso: str) -> None:
    """str() and iso() write forms that parse back to the same duration."""
    assert str(duration) == human
    assert duration.iso() == iso
    if not duration.is_zero:
        assert Duration.parse(human) == duration
        assert Duration.parse(iso) == duration


def test_is_zero() -> None:
    """Only the empty duration is zero."""
    assert Duration().is_zero
    assert Duration.parse("PT0S").is_zero
    assert not Duration(seconds=1).is_zero


def utc(*parts: int) -> datetime:
    """An aware UTC instant."""
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type, misc]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("1 month", utc(2025, 1, 31, 10), utc(2025, 2, 28, 10)),
        ("1 month", utc(2024, 1, 31, 10), utc(2024, 2, 29, 10)),
        ("1 month", utc(2025, 3, 31), utc(2025, 4, 30)),
        ("1 month", utc(2025, 12, 15), utc(2026, 1, 15)),
        ("13 months", utc(2025, 1, 31), utc(2026, 2, 28)),
        ("60 months", utc(2020, 2, 29), utc(2025, 2, 28)),
        ("1 year", utc(2024, 2, 29), utc(2025, 2, 28)),
        ("4 years", utc(2024, 2, 29), utc(2028, 2, 29)),
        ("1 month 1 day", utc(2025, 1, 31), utc(2025, 3, 1)),
        ("90 days", utc(2025, 1, 1), utc(2025, 4, 1)),
        ("30 minutes", utc(2025, 1, 1, 23, 45), utc(2025, 1, 2, 0, 15)),
        ("P1Y2M10DT2H", utc(2025, 1, 1), utc(2026, 3, 11, 2)),
    ],
)
def test_after_counts_calendar_months_and_clamps(text: str, start: datetime, end: datetime) -> None:
    """Months and years are calendar units; a missing day clamps to the month's last day."""
    assert Duration.parse(text).after(start) == end


def test_after_keeps_the_zone_of_the_start() -> None:
    """after() works on the wall clock of the start's zone and keeps that zone."""
    plus2 = timezone(timedelta(hours=2))
    start = datetime(2025, 1, 31, 23, tzinfo=plus2)
    end = Duration.parse("1 month").after(start)
    assert end == datetime(2025, 2, 28, 23, tzinfo=plus2)
    assert end.tzinfo is plus2


def test_durations_are_frozen_values() -> None:
    """Durations compare by value and can key dictionaries."""
    assert {Duration.parse("P60M"): 1}[Duration(months=60)] == 1
