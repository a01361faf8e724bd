"""Instants as integers: the decision compares microseconds since the Unix epoch in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from lawful.exceptions import InstantError, NaiveDatetimeError

__all__ = ["EPOCH", "from_us", "in_utc_range", "require_aware", "to_us"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def in_utc_range(value: datetime) -> bool:
    """Whether the aware ``value`` is also a datetime in UTC (years 1 to 9999).

    ``9999-12-31T23:59-23:59`` is a valid aware datetime whose UTC instant lies in year
    10000: converting it raises :class:`OverflowError`. Only years 1 and 9999 can fail,
    so the common case costs one comparison.
    """
    if 1 < value.year < 9999:
        return True
    try:
        value.astimezone(UTC)
    except OverflowError:
        return False
    return True


def require_aware(value: datetime, where: str) -> datetime:
    """Return ``value`` if it carries a time zone, else raise :class:`NaiveDatetimeError`.

    Raises:
        NaiveDatetimeError: No time zone.
        InstantError: Not a datetime, or an instant outside UTC's years 1 to 9999.
    """
    if not isinstance(value, datetime):
        raise InstantError(f"{where}: expected a datetime, got {type(value).__name__}")
    try:
        offset = value.utcoffset()
    except Exception as exc:  # noqa: BLE001 - a tzinfo is user code; its failure is bad input
        raise InstantError(f"{where}: the time zone failed ({type(exc).__name__})") from None
    if offset is None:
        raise NaiveDatetimeError(where)
    if not in_utc_range(value):
        raise InstantError(
            f"{where}: {value.isoformat()} is outside the years 1 to 9999 once in UTC"
        )
    return value


def to_us(value: datetime, where: str) -> int:
    """Microseconds since the epoch.

    Raises:
        NaiveDatetimeError: ``value`` has no time zone.
        TypeError: ``value`` is not a datetime (a ``date`` has no time of day or zone).
    """
    try:
        # One aware subtraction: naive values, dates and other types all raise TypeError.
        delta = value - EPOCH
    except TypeError:
        require_aware(value, where)  # names where: not a datetime, or naive
        raise
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int, tz: tzinfo | None = UTC) -> datetime:
    """The aware datetime for ``us`` microseconds since the epoch, in ``tz``."""
    moment = EPOCH + us * _US
    if tz is None or tz is UTC:
        return moment
    try:
        return moment.astimezone(tz)
    except OverflowError:  # within hours of year 1 or 9999 in ``tz``: keep it in UTC
        return moment


def birthday(birth: date, year: int) -> date:
    """The day the birthday falls on in ``year`` (29 February is 1 March in common years)."""
    try:
        return birth.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def age_on(birth: date, day: date) -> int:
    """Completed years on ``day`` for someone born on ``birth``."""
    years = day.year - birth.year
    if day < birthday(birth, day.year):
        years -= 1
    return years
