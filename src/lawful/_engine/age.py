"""Step 6, age (Art. 8): the conservative age, the minimum age and the parental band."""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, time, tzinfo

from lawful._engine.query import _CONSENT, _R, _TOP, _Deny, _latest_of, _Query
from lawful._time import age_on, birthday, from_us, to_us
from lawful._timelines import Kind
from lawful.decision import Reason, ReasonCode
from lawful.events import AgeDeclared, BirthDateDeclared, Event, ParentalConsentGiven
from lawful.model import AgeRules, UnknownAge

# The age of digital consent Art. 8(1) lets Member States set is 16 at most.
_ART_8_MAX_AGE = 16

_POLICY_AGE = "policy clause age"


def _birth(declaration: Event, tz: tzinfo | None) -> date:
    """The birth date, or the latest possible one for "at least N" (conservative)."""
    if isinstance(declaration, BirthDateDeclared):
        return declaration.birth_date
    assert isinstance(declaration, AgeDeclared)  # noqa: S101 - only these are in the line
    said = declaration.at
    day = max(said.astimezone(UTC).date(), _local_date(said, tz))
    # Born before year 1 cannot be written; year 1 is later, so younger: still conservative.
    year = max(day.year - declaration.at_least, 1)
    try:
        return day.replace(year=year)
    except ValueError:  # said on 29 February: born by 28 February of a common year
        return date(year, 2, 28)


def _youngest(q: _Query) -> tuple[date, Event] | None:
    """The latest birth date any age record at or before ``at`` gives, with its record.

    Art. 8(2), EDPB Guidelines 05/2020 7.1: with several records the lowest age counts;
    an unverified later claim never raises it ("at least N" at t is N plus the whole
    years since t).
    """
    index = q.subject._index  # noqa: SLF001
    line = index.lines.get((Kind.AGE,))
    if line is None:
        return None
    keys, events, count = line
    pos = bisect_right(keys, q.at_key, 0, count)
    if not pos:
        return None
    tz = q.at.tzinfo
    memo_key = ("youngest", tz)
    prefix: list[tuple[date, Event]] | None = index.memo.get(memo_key)
    if prefix is None:
        # prefix[i]: the youngest of the first i + 1 records; the earliest record wins ties.
        prefix = []
        for event in events[:count]:
            birth = _birth(event, tz)
            if not prefix or birth > prefix[-1][0]:
                prefix.append((birth, event))
            else:
                prefix.append(prefix[-1])
        index.memo[memo_key] = prefix
    return prefix[pos - 1]


def _local_date(moment: datetime, tz: tzinfo | None) -> date:
    """The date of ``moment`` in ``tz`` (UTC's where it falls outside year 1 to 9999)."""
    try:
        return moment.astimezone(tz).date()
    except OverflowError:
        return moment.astimezone(UTC).date()


def _age(birth: date, moment_us: int, tz: tzinfo | None) -> int:
    """The lower of the ages in UTC and in ``tz`` at an instant (Art. 8, conservative)."""
    moment = from_us(moment_us)
    utc_age = age_on(birth, moment.date())
    if tz is None or tz is UTC:
        return utc_age
    return min(utc_age, age_on(birth, _local_date(moment, tz)))


def _reaches(birth: date, years: int, tz: tzinfo | None) -> int | None:
    """The instant from which the conservative age is at least ``years`` (``None``: never)."""
    if birth.year + years > date.max.year:
        return None
    day = birthday(birth, birth.year + years)
    utc = datetime.combine(day, time(0), tzinfo=UTC)
    if tz is None or tz is UTC:
        return to_us(utc, "birthday")
    local = datetime.combine(day, time(0), tzinfo=tz)
    return to_us(max(utc, local), "birthday")


def _parental_in_force(q: _Query, key: int) -> Event | None:
    """The parental consent (for the purpose or every purpose) in force at ``key``."""
    found = _latest_of(q, Kind.PARENTAL, q.purpose.id, key)
    return found[1] if found is not None and isinstance(found[1], ParentalConsentGiven) else None


def _parental_some_time(q: _Query, low_key: int, high_key: int) -> bool:
    """Whether a parental consent was in force at some instant from ``low_key`` to
    ``high_key`` (both sort keys with the top rank, inclusive).
    """
    if high_key < low_key:
        return False
    if _parental_in_force(q, low_key) is not None:
        return True
    lines = q.lines
    for line in (lines.get((Kind.PARENTAL, q.purpose.id)), lines.get((Kind.PARENTAL, None))):
        if line is None:
            continue
        keys, events, count = line
        pos = bisect_right(keys, low_key, 0, count)
        end = bisect_right(keys, high_key, 0, count)
        for i in range(pos, end):
            # In force at the end of its own instant (a withdrawal then wins the tie).
            if isinstance(events[i], ParentalConsentGiven) and (
                _parental_in_force(q, (keys[i] // _R) * _R + _TOP) is not None
            ):
                return True
    return False


def _age_article(q: _Query, threshold: int | None) -> str:
    """Art. 8(1) within its scope (consent, an age up to 16); beyond it, the policy."""
    if q.basis is _CONSENT and threshold is not None and threshold <= _ART_8_MAX_AGE:
        return "Art. 8(1)"
    return _POLICY_AGE


def _age_check(q: _Query) -> _Deny | None:
    """Step 6: below the minimum age, deny; in the parental band, a parental consent must be
    in force at ``at`` (and, for stored data collected in the band, at collection).
    """
    rules: AgeRules = q.ctx.age
    minimum = rules.minimum_age
    limit = rules.parental_consent_age
    if minimum is None and limit is None:
        return None
    tz = q.at.tzinfo
    found = _youngest(q)
    if found is None:
        if rules.unknown_age is UnknownAge.DENY:
            return _Deny(
                Reason(
                    ReasonCode.AGE_UNKNOWN,
                    "No age is on record, and the policy denies until one is declared.",
                    ReasonCode.AGE_UNKNOWN.article if q.basis is _CONSENT else _POLICY_AGE,
                    clause="age.unknown_age",
                )
            )
        return None  # nobody "knowingly" processes a child's data
    birth, declaration = found
    age = _age(birth, q.at_us, tz)
    if minimum is not None and age < minimum:
        # A minimum age is the controller's own rule: the GDPR sets none.
        return _Deny(
            Reason(
                ReasonCode.BELOW_MINIMUM_AGE,
                f"The subject is younger than the policy's minimum age of {minimum}.",
                _POLICY_AGE,
                event=declaration,
                clause="age.minimum_age",
            ),
            _reaches(birth, minimum, tz),
        )
    if not q.fresh and minimum is not None:
        # An age at collection changes at a midnight of UTC or of at's zone, whose local
        # dates need not be monotone across a transition: decided for this instant alone.
        q.narrow_to_point()
    if not q.fresh and minimum is not None and _age(birth, q.c_us, tz) < minimum:
        return _Deny(
            Reason(
                ReasonCode.BELOW_MINIMUM_AGE,
                f"The data was collected when the subject was younger than the policy's "
                f"minimum age of {minimum}; it is never processed.",
                _POLICY_AGE,
                event=declaration,
                clause="age.minimum_age",
            )
        )
    if limit is None:
        return None
    article = _age_article(q, limit)
    if age <= limit and _parental_in_force(q, q.at_key) is None:
        return _Deny(
            Reason(
                ReasonCode.PARENTAL_CONSENT_REQUIRED,
                f"The subject is {limit} or younger; up to that age the consent of a holder "
                "of parental responsibility must be in force, and none is.",
                article,
                event=declaration,
                clause="age.parental_consent_age",
            ),
            _reaches(birth, limit + 1, tz),
        )
    if not q.fresh:
        q.narrow_to_point()  # an age, and a parental consent, at collection: as above
    if not q.fresh and _age(birth, q.c_us, tz) <= limit and _parental_in_force(q, q.c_key) is None:
        return _Deny(
            Reason(
                ReasonCode.PARENTAL_CONSENT_REQUIRED,
                f"The data was collected when the subject was {limit} or younger, and no "
                "consent of a holder of parental responsibility was in force then.",
                article,
                event=declaration,
                clause="age.parental_consent_age",
            )
        )
    return None
