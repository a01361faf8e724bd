"""Calendar-aware durations: consent lifetimes, retention periods, session timeouts.

Months and years are calendar units: one month after 31 January is 28 (or 29)
February, because a day that does not exist in the target month clamps to its
last day. Written as human strings (``"60 months"``, ``"90 days"``,
``"1 year 6 months"``) or ISO 8601 (``"P60M"``, ``"PT30M"``).

>>> Duration.parse("60 months")
Duration(years=0, months=60, days=0, seconds=0)
>>> str(Duration.parse("P1Y2M10DT2H"))
'1 year 2 months 10 days 2 hours'
>>> from datetime import datetime, UTC
>>> Duration.parse("1 month").after(datetime(2025, 1, 31, tzinfo=UTC))
datetime.datetime(2025, 2, 28, 0, 0, tzinfo=datetime.timezone.utc)
"""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timedelta

import attrs

from lawful.exceptions import DurationError

__all__ = ["Duration"]

_UNITS = {
    "year": "years",
    "years": "years",
    "y": "years",
    "month": "months",
    "months": "months",
    "mo": "months",
    "week": "weeks",
    "weeks": "weeks",
    "w": "weeks",
    "day": "days",
    "days": "days",
    "d": "days",
    "hour": "hours",
    "hours": "hours",
    "h": "hours",
    "minute": "minutes",
    "minutes": "minutes",
    "min": "minutes",
    "second": "seconds",
    "seconds": "seconds",
    "s": "seconds",
}
_HUMAN_PART = re.compile(r"\s*(\d+)\s*([a-zA-Z]+)\s*,?")
_ISO = re.compile(
    r"P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)
_MAX_PART = 1_000_000


def _non_negative(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    # ``type(...) is int``: not True, not 1.5, not "3" - each would break ``after`` later.
    if type(value) is not int:
        msg = f"duration.{attribute.name}: expected a whole number, got {type(value).__name__}"
        raise DurationError(msg)
    if value < 0:
        msg = f"duration.{attribute.name}: must not be negative, got {value}"
        raise DurationError(msg)


@attrs.frozen(order=False)
class Duration:
    """A length of time with calendar months and years.

    Attributes:
        years: Calendar years.
        months: Calendar months.
        days: Days of 24 hours (weeks are stored as 7 days).
        seconds: Seconds (hours and minutes are stored as seconds).
    """

    years: int = attrs.field(default=0, validator=_non_negative)
    months: int = attrs.field(default=0, validator=_non_negative)
    days: int = attrs.field(default=0, validator=_non_negative)
    seconds: int = attrs.field(default=0, validator=_non_negative)

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read ``"60 months"``, ``"90 days"``, ``"1 year 6 months"`` or ISO ``"P60M"``.

        Raises:
            DurationError: The text is neither form (a ``ValueError``); the message shows
                both.
        """
        if type(text) is not str:
            raise DurationError(_bad(text))
        stripped = text.strip()
        parts: dict[str, int] = {}
        if stripped.upper().startswith("P"):
            match = _ISO.fullmatch(stripped.upper())
            if match is None or stripped.upper() in {"P", "PT"} or stripped.upper().endswith("T"):
                raise DurationError(_bad(text))
            parts = {k: _number(v, text) for k, v in match.groupdict().items() if v is not None}
        else:
            pos = 0
            while pos < len(stripped):
                match = _HUMAN_PART.match(stripped, pos)
                if match is None or match.end() == pos:
                    raise DurationError(_bad(text))
                unit = _UNITS.get(match.group(2).lower())
                if unit is None or unit in parts:
                    raise DurationError(_bad(text))
                parts[unit] = _number(match.group(1), text)
                pos = match.end()
            if not parts:
                raise DurationError(_bad(text))
        if any(v > _MAX_PART for v in parts.values()):
            raise DurationError(_bad(text))
        return cls(
            years=parts.get("years", 0),
            months=parts.get("months", 0),
            days=parts.get("days", 0) + 7 * parts.get("weeks", 0),
            seconds=parts.get("hours", 0) * 3600
            + parts.get("minutes", 0) * 60
            + parts.get("seconds", 0),
        )

    @property
    def is_zero(self) -> bool:
        """Whether the duration is empty (never valid as a lifetime or period)."""
        return not (self.years or self.months or self.days or self.seconds)

    def after(self, start: datetime) -> datetime:
        """The instant this long after ``start`` (months clamp to the month's last day).

        Raises:
            OverflowError: The instant is past year 9999 (the engine reads such a limit
                as never reached).
            ValueError: The same, reached through months or years.
        """
        total_months = start.month - 1 + self.months + 12 * self.years
        if total_months:
            year = start.year + total_months // 12
            month = total_months % 12 + 1
            day = min(start.day, calendar.monthrange(year, month)[1])
            start = start.replace(year=year, month=month, day=day)
        if self.days or self.seconds:
            start = start + timedelta(days=self.days, seconds=self.seconds)
        return start

    def iso(self) -> str:
        """The ISO 8601 form, such as ``P60M`` or ``PT30M``."""
        out = "P"
        if self.years:
            out += f"{self.years}Y"
        if self.months:
            out += f"{self.months}M"
        if self.days:
            out += f"{self.days}D"
        if self.seconds:
            hours, rest = divmod(self.seconds, 3600)
            minutes, seconds = divmod(rest, 60)
            out += "T"
            out += f"{hours}H" if hours else ""
            out += f"{minutes}M" if minutes else ""
            out += f"{seconds}S" if seconds else ""
        return out if out != "P" else "PT0S"

    def __str__(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        minutes, seconds = divmod(rest, 60)
        pieces = [
            (self.years, "year"),
            (self.months, "month"),
            (self.days, "day"),
            (hours, "hour"),
            (minutes, "minute"),
            (seconds, "second"),
        ]
        words = [f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in pieces if n]
        return " ".join(words) or "0 seconds"


def _number(digits: str, text: str) -> int:
    # More digits than any allowed part has: refused before int() (which refuses more than
    # 4,300 digits with a bare ValueError, and is slow well before that).
    if len(digits) > _MAX_DIGITS:
        raise DurationError(_bad(text))
    return int(digits)


_MAX_DIGITS = len(str(_MAX_PART))


def _bad(text: object) -> str:
    shown = repr(text) if isinstance(text, str) and len(text) <= 60 else type(text).__name__
    return f'expected a duration like "60 months", "90 days" or ISO 8601 "P60M", got {shown}'
