"""Instants as integers: the decision compares microseconds since the Unix epoch in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from lawful.exceptions import NaiveDatetimeError

__all__ = ["EPOCH", "from_us", "require_aware", "to_us"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def require_aware(value: datetime, where: str) -> datetime:
    """Return ``value`` if it carries a time zone, else raise :class:`NaiveDatetimeError`."""
    if not isinstance(value, datetime):
        msg = f"{where}: expected a datetime, got {type(value).__name__}"
        raise TypeError(msg)
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(where)
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
