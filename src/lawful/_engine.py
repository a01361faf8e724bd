"""The decision: DESIGN's check order, one function per rule, no I/O, no clock.

Instants are integers inside: ``key = microseconds * 4 + rank``, so that one
comparison orders both time and, at one instant, restrictiveness.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timezone, tzinfo

from lawful._time import EPOCH, age_on, birthday, from_us, to_us
from lawful.decision import (
    DRAFTS_BECOME_DECISIONS,
    Decision,
    Operation,
    Reason,
    ReasonCode,
    _Draft,
    make_decision,
)
from lawful.duration import Duration
from lawful.events import (
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ContractStarted,
    Event,
    Objection,
    OptOut,
    ParentalConsentGiven,
    RestrictionRequested,
)
from lawful.exceptions import LawfulError
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    AgeRules,
    AgeScope,
    LegalBasis,
    NoPeriodStated,
    Purpose,
    PurposeTerms,
    RetentionCombine,
    SessionEnd,
    SpecialCategoryCondition,
    UnknownAge,
    UnknownSubjectCategory,
)
from lawful.subject import Line, Subject, latest_key

__all__ = ["QueryError", "compare_terms", "decide", "may_process", "unknown_purpose"]

_R = 4  # ranks per instant in a sort key
_NEVER = to_us(datetime.max.replace(tzinfo=UTC), "max") + 1  # a limit no instant reaches
_TOP = _R - 1
_ALL_SCOPE = "all"
_USE = Operation.USE
_NO_BASIS_EVENT = (
    LegalBasis.LEGAL_OBLIGATION,
    LegalBasis.VITAL_INTERESTS,
    LegalBasis.PUBLIC_TASK,
)
# Art. 8 concerns consent; even an age rule over every purpose never stops what the law
# requires (Art. 6(1)(c), such as answering a child's own rights request, Art. 12) or what
# protects someone's life (Art. 6(1)(d)).
_AGE_EXEMPT = frozenset({LegalBasis.LEGAL_OBLIGATION, LegalBasis.VITAL_INTERESTS})
_BASIS_CODE = {
    LegalBasis.LEGAL_OBLIGATION: ReasonCode.LEGAL_OBLIGATION,
    LegalBasis.VITAL_INTERESTS: ReasonCode.VITAL_INTERESTS,
    LegalBasis.PUBLIC_TASK: ReasonCode.PUBLIC_TASK,
}


class QueryError(LawfulError, ValueError):
    """A decision was asked with arguments that cannot describe real processing
    (data collected after the instant of processing).
    """


class _Denied(Exception):  # noqa: N818 - control flow inside the engine, never escapes
    def __init__(self, reason: Reason, until: int | None = None) -> None:
        self.reason = reason
        self.until = until


def may_process(
    subject: Subject,
    purpose: Purpose,
    at: datetime,
    *,
    vendor: str | None = None,
    data: Iterable[str] = (),
    collected_at: datetime | None = None,
    operation: Operation = Operation.USE,
) -> Decision:
    """May ``subject``'s data be processed for ``purpose`` at ``at``, and why?

    Args:
        subject: The data subject and its events.
        purpose: The purpose, ideally obtained from a :class:`lawful.Policy`.
        at: The instant of processing; must be timezone-aware.
        vendor: The recipient involved; ``None``: every vendor the purpose declares.
        data: The data categories involved; empty: every category the purpose declares.
        collected_at: When the data was collected. ``None`` means *now* (fresh data):
            a host processing stored data must pass it, or retention is never exceeded.
        operation: Collect, store, use or disclose; only storage survives a restriction.

    Returns:
        The :class:`lawful.Decision`, with its reasons; a denial is a value.

    Raises:
        NaiveDatetimeError: ``at`` or ``collected_at`` has no time zone.
        QueryError: ``collected_at`` is after ``at``.
    """
    return decide(subject, purpose, at, vendor, data, collected_at, operation)


def decide(
    subject: Subject,
    purpose: Purpose,
    at: datetime,
    vendor: str | None,
    data: Iterable[str],
    collected_at: datetime | None,
    operation: Operation,
) -> Decision:
    """:func:`may_process` with positional arguments: the call behind every decision."""
    if collected_at is not None:
        at_us = _at_us(at)
        c_us = to_us(collected_at, "collected_at")
        if c_us > at_us:
            raise QueryError("collected_at: data cannot be processed before it was collected")
        return _evaluate(subject, purpose, at, at_us, vendor, data, c_us, operation, fresh=False)[0]
    if data and type(data) is not tuple:
        data = tuple(data)  # read once (it may be a generator), and hashable for the key
    # Fresh data: the answer is constant from one instant until the subject's next event
    # or the decision's own valid_until, whichever comes first (DESIGN principle 7), so
    # the last one is kept with that interval and given again while `at` falls in it.
    # Kept per purpose, zone (valid_until is shown in at's zone, and the age rules read
    # local dates), vendor, data and operation (an Enum, whose hash is slow: its value).
    try:
        tz = at.tzinfo
    except AttributeError:
        _at_us(at)  # raises, naming the argument: not a datetime
        raise
    if operation is _USE:
        slot: tuple[object, ...] = (
            (purpose.id, tz) if vendor is None and not data else (purpose.id, tz, vendor, data)
        )
    else:
        slot = (purpose.id, tz, vendor, data, operation.value)
    try:
        kept = subject._index.decisions.get(slot)  # noqa: SLF001 - the engine owns the index
    except TypeError:  # a category that is no string (not even hashable): never kept
        at_us = _at_us(at)
        return _evaluate(subject, purpose, at, at_us, vendor, data, at_us, operation, fresh=True)[0]
    if kept is not None and kept[0] is purpose:
        # Datetimes in one zone (one tzinfo object) compare by their digits. That is time
        # order when their UTC offsets are equal, as in a fixed-offset zone such as UTC;
        # where a clock is set back or forward the digits can disagree with time, so a
        # zone with rules first compares offsets, and else the instants in microseconds.
        fixed = type(tz) is timezone
        if (
            type(at) is datetime
            and (fixed or (offset := at.utcoffset()) == kept[3])
            and kept[1] <= at
            and (kept[2] is None or ((fixed or offset == kept[4]) and at < kept[2]))
        ) or kept[5] <= _at_us(at) < kept[6]:
            if not DRAFTS_BECOME_DECISIONS:  # pragma: no cover - another Python's layout rules
                return make_decision(kept[7], kept[8], at, kept[9], kept[10], kept[11])
            made = _Draft(kept[7], kept[8], at, kept[9], kept[10], kept[11])  # make_decision,
            made.__class__ = Decision  # type: ignore[assignment]  # inline: a call less
            return made  # type: ignore[return-value]
    at_us = _at_us(at)
    decision, until_us = _evaluate(
        subject, purpose, at, at_us, vendor, data, at_us, operation, fresh=True
    )
    count = subject._count  # noqa: SLF001 - the keys list may run on (shared, see Line)
    keys = subject._keys  # noqa: SLF001
    pos = bisect_right(keys, at_us * _R + _TOP, 0, count)
    end = keys[pos] // _R if pos < count else _NEVER
    if until_us is not None:
        end = min(end, until_us)
    until = None if end >= _NEVER else from_us(end, tz)
    subject._index.decisions[slot] = (  # noqa: SLF001
        purpose,
        at,  # from: the instant decided, in its own zone
        until,  # until: the next event or valid_until, in the same zone (None: never)
        at.utcoffset(),
        None if until is None else until.utcoffset(),
        at_us,
        end,
        decision.allowed,
        decision.purpose,
        decision.basis,
        decision.reasons,
        decision.valid_until,
    )
    return decision


def _at_us(at: datetime) -> int:
    """``at`` in microseconds since the epoch (to_us, with the argument's name built in)."""
    try:
        delta = at - EPOCH
    except TypeError:
        to_us(at, "at")  # names the argument: not a datetime, or naive
        raise
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _evaluate(
    subject: Subject,
    purpose: Purpose,
    at: datetime,
    at_us: int,
    vendor: str | None,
    data: Iterable[str],
    c_us: int,
    operation: Operation,
    *,
    fresh: bool,
) -> tuple[Decision, int | None]:
    """Every rule, in DESIGN's order, for one query; with ``valid_until`` in microseconds."""
    until: list[int] = []
    try:
        reasons = _decide(subject, purpose, at, at_us, vendor, data, c_us, fresh, operation, until)
    except _Denied as denied:
        # Only the denying rule's own deadline (a birthday) can lift a denial; limits met
        # on the way (retention, a consent's expiry) would only deny again.
        until_us = _next([] if denied.until is None else [denied.until], at_us)
        denial = make_decision(
            False,  # noqa: FBT003 - the positional fast constructor
            purpose.id,
            at,
            # Art. 28: for a processor-only purpose the client, as controller, picks the basis.
            None if purpose.processor_only else purpose.basis,
            (denied.reason,),
            None if until_us is None else from_us(until_us, at.tzinfo),
        )
        return denial, until_us
    until_us = _next(until, at_us)
    valid_until = None if until_us is None else from_us(until_us, at.tzinfo)
    return make_decision(True, purpose.id, at, purpose.basis, reasons, valid_until), until_us  # noqa: FBT003


def unknown_purpose(
    purpose_id: str, at: datetime, *, collected_at: datetime | None = None
) -> Decision:
    """The denial for a purpose id the policy does not declare.

    Raises:
        NaiveDatetimeError: ``at`` or ``collected_at`` has no time zone.
        QueryError: ``collected_at`` is after ``at``.
    """
    at_us = to_us(at, "at")
    if collected_at is not None and to_us(collected_at, "collected_at") > at_us:
        raise QueryError("collected_at: data cannot be processed before it was collected")
    reason = Reason(
        ReasonCode.UNKNOWN_PURPOSE,
        f"The policy declares no purpose '{purpose_id}'; undeclared processing is never allowed.",
        ReasonCode.UNKNOWN_PURPOSE.article,
        clause="purposes",
    )
    return Decision(allowed=False, purpose=purpose_id, at=at, basis=None, reasons=(reason,))


def _next(candidates: list[int], at_us: int) -> int | None:
    """The earliest candidate instant after ``at_us`` that some datetime can show."""
    later = [c for c in candidates if at_us < c < _NEVER]
    return min(later) if later else None


def _decide(
    subject: Subject,
    purpose: Purpose,
    at: datetime,
    at_us: int,
    vendor: str | None,
    data: Iterable[str],
    c_us: int,
    fresh: bool,
    operation: Operation,
    until: list[int],
) -> tuple[Reason, ...]:
    lines = subject._index.lines  # noqa: SLF001 - the engine owns the index format
    at_key = at_us * _R + _TOP
    pid = purpose.id
    basis = purpose.basis
    _check_scope(subject, purpose, vendor, data)
    erasure = latest_key(lines.get(("e",)), at_key)
    if (
        erasure is not None
        and basis is not LegalBasis.LEGAL_OBLIGATION
        and c_us <= erasure[0] // _R
    ):
        # Art. 17(1); Art. 17(3)(b) lets a legal obligation keep the data.
        raise _Denied(
            Reason(
                ReasonCode.ERASED,
                "The data was collected at or before the subject's erasure and is never "
                "processed again.",
                ReasonCode.ERASED.article,
                event=erasure[1],
            ),
            # Fresh data a microsecond later is new data, collected after the erasure.
            at_us + 1 if fresh else None,
        )
    if operation is not Operation.STORE:
        restriction = _latest_of(lines.get(("r", pid)), lines.get(("r", None)), at_key)
        if isinstance(restriction, RestrictionRequested):
            # Art. 18(2): while restricted, nothing but storage.
            raise _Denied(
                Reason(
                    ReasonCode.RESTRICTED,
                    "Processing is restricted at the subject's request; only storage is allowed.",
                    ReasonCode.RESTRICTED.article,
                    event=restriction,
                )
            )
    rules = purpose.context.age if purpose.context is not None else None
    if rules is not None and (
        basis is LegalBasis.CONSENT
        or (rules.scope is AgeScope.ALL_PURPOSES and basis not in _AGE_EXEMPT)
    ):
        _check_age(subject, purpose, rules, at, at_us, at_key)
    _check_opt_out(subject, purpose, at_key)
    override: Event | None = None
    stored_only = False
    # Art. 21(1) reaches bases (e) and (f); Art. 21(2)-(3) direct marketing on any basis.
    if (
        basis is LegalBasis.LEGITIMATE_INTERESTS
        or basis is LegalBasis.PUBLIC_TASK
        or (purpose.direct_marketing and basis is not LegalBasis.CONSENT)
    ):
        override, stored_only = _check_objection(subject, purpose, at_key, operation)
    if not fresh:
        limit = _retention_limit(subject, purpose, c_us, at_us, at_key)
        if limit is not None:
            if at_us >= limit[0]:
                raise _Denied(
                    Reason(
                        ReasonCode.RETENTION_EXCEEDED,
                        f"The data, collected at {from_us(c_us).isoformat()}, was due for "
                        f"deletion at {from_us(limit[0]).isoformat()} ({limit[1]}).",
                        ReasonCode.RETENTION_EXCEEDED.article,
                        clause=f"purposes.{pid}.retention",
                    )
                )
            until.append(limit[0])
    reasons: list[Reason]
    if basis is LegalBasis.CONSENT:
        reasons = _check_consent(subject, purpose, at, at_us, at_key, vendor, until)
    elif basis is LegalBasis.LEGITIMATE_INTERESTS:
        reasons = [
            Reason(
                ReasonCode.LEGITIMATE_INTEREST,
                f"The controller relies on its legitimate interest: "
                f"{purpose.legitimate_interest or 'as declared in the policy'}.",
                ReasonCode.LEGITIMATE_INTEREST.article,
                clause=f"purposes.{pid}.legitimate_interest",
            )
        ]
    elif basis is LegalBasis.CONTRACT:
        reasons = [_check_contract(subject, purpose, at_key)]
    else:
        code = _BASIS_CODE[basis]
        reasons = [
            Reason(
                code,
                f"The policy declares '{pid}' necessary under {basis.article}.",
                code.article,
                clause=f"purposes.{pid}.basis",
            )
        ]
    if override is not None:
        reasons.insert(
            0,
            Reason(
                ReasonCode.COMPELLING_GROUNDS,
                "The subject objected, and the controller recorded compelling legitimate "
                f"grounds that override the objection: {getattr(override, 'grounds', '')}.",
                ReasonCode.COMPELLING_GROUNDS.article,
                event=override,
            ),
        )
    if stored_only:
        reasons.append(
            Reason(
                ReasonCode.OBJECTED,
                "The subject objected; pending the controller's verification the data is "
                "restricted and only kept stored (Art. 18(1)(d)).",
                "Art. 18(1)(d)",
                event=_latest_objection(subject, pid, at_key),
            )
        )
    if purpose.device_access and basis is not LegalBasis.CONSENT and not purpose.strictly_necessary:
        # ePrivacy Art. 5(3): device access needs consent unless strictly necessary.
        try:
            reasons.extend(_check_consent(subject, purpose, at, at_us, at_key, vendor, until))
        except _Denied as denied:
            raise _Denied(
                Reason(
                    ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED,
                    "The purpose reads or writes the person's device, which needs consent "
                    f"unless strictly necessary; {_lower_first(denied.reason.message)}",
                    ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED.article,
                    event=denied.reason.event,
                    clause=f"purposes.{pid}.device_access",
                ),
                denied.until,
            ) from None
    return tuple(reasons)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _latest_of(a: Line | None, b: Line | None, at_key: int) -> Event | None:
    """The later of two timelines' latest events (ties: the more restrictive)."""
    first = latest_key(a, at_key)
    second = latest_key(b, at_key)
    if first is None:
        return None if second is None else second[1]
    if second is None or first[0] >= second[0]:
        return first[1]
    return second[1]


def _check_scope(
    subject: Subject, purpose: Purpose, vendor: str | None, data: Iterable[str]
) -> None:
    pid = purpose.id
    if purpose.processor_only:
        raise _Denied(
            Reason(
                ReasonCode.PROCESSOR_ONLY,
                f"For '{pid}' the controller acts only as a processor for its clients; the "
                "client, as controller, decides.",
                ReasonCode.PROCESSOR_ONLY.article,
                clause=f"purposes.{pid}.processor_only",
            )
        )
    if purpose.subjects:
        categories = subject.categories
        ctx = purpose.context
        if categories is None:
            if ctx is not None and ctx.unknown_subject_category is UnknownSubjectCategory.DENY:
                raise _Denied(
                    Reason(
                        ReasonCode.SUBJECT_NOT_COVERED,
                        f"The subject's categories are unknown, and '{pid}' covers only "
                        f"{', '.join(purpose.subjects)}; the policy denies unknown categories.",
                        ReasonCode.SUBJECT_NOT_COVERED.article,
                        clause="unknown_subject_category",
                    )
                )
        elif categories.isdisjoint(purpose.subjects):
            raise _Denied(
                Reason(
                    ReasonCode.SUBJECT_NOT_COVERED,
                    f"'{pid}' covers {', '.join(purpose.subjects)}, not a subject who is "
                    f"{', '.join(sorted(categories)) or 'of no category'}.",
                    ReasonCode.SUBJECT_NOT_COVERED.article,
                    clause=f"purposes.{pid}.subjects",
                )
            )
    if vendor is not None and vendor not in purpose.vendors:
        raise _Denied(
            Reason(
                ReasonCode.VENDOR_NOT_DECLARED,
                f"Vendor '{vendor}' is not declared for '{pid}'.",
                ReasonCode.VENDOR_NOT_DECLARED.article,
                clause=f"purposes.{pid}.vendors",
            )
        )
    for category in data:
        if category not in purpose.data:
            raise _Denied(
                Reason(
                    ReasonCode.DATA_CATEGORY_NOT_DECLARED,
                    f"Data category '{category}' is not declared for '{pid}'.",
                    ReasonCode.DATA_CATEGORY_NOT_DECLARED.article,
                    clause=f"purposes.{pid}.data",
                )
            )


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


def _birth_on_record(subject: Subject, at_key: int, tz: tzinfo | None) -> tuple[date, Event] | None:
    """The birth date from the latest declaration at or before ``at_key``, with it.

    Declarations at one instant conflict: the youngest wins (DESIGN: the more restrictive).
    """
    line = subject._index.lines.get(("a",))  # noqa: SLF001
    if line is None:
        return None
    keys, events, count = line
    pos = bisect_right(keys, at_key, 0, count) - 1
    if pos < 0:
        return None
    best = (_birth(events[pos], tz), events[pos])
    last = keys[pos]
    while pos > 0 and keys[pos - 1] == last:
        pos -= 1
        birth = _birth(events[pos], tz)
        if birth > best[0]:
            best = (birth, events[pos])
    return best


def _local_date(moment: datetime, tz: tzinfo | None) -> date:
    """The date of ``moment`` in ``tz`` (UTC's where it falls outside year 1 to 9999)."""
    try:
        return moment.astimezone(tz).date()
    except OverflowError:
        return moment.astimezone(UTC).date()


def _age(birth: date, moment_us: int, tz: tzinfo | None) -> int:
    """The lower of the ages in UTC and in ``tz`` at an instant (DESIGN, Art. 8)."""
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


def _parental_in_force(subject: Subject, pid: str, at_key: int) -> Event | None:
    lines = subject._index.lines  # noqa: SLF001
    event = _latest_of(lines.get(("p", pid)), lines.get(("p", None)), at_key)
    return event if isinstance(event, ParentalConsentGiven) else None


def _check_age(
    subject: Subject,
    purpose: Purpose,
    rules: AgeRules,
    at: datetime,
    at_us: int,
    at_key: int,
) -> None:
    if rules.minimum_age is None and rules.parental_consent_age is None:
        return
    tz = at.tzinfo
    found = _birth_on_record(subject, at_key, tz)
    if found is None:
        if rules.unknown_age is UnknownAge.DENY:
            raise _Denied(
                Reason(
                    ReasonCode.AGE_UNKNOWN,
                    "No age is on record, and the policy denies until one is declared.",
                    ReasonCode.AGE_UNKNOWN.article,
                    clause="age.unknown_age",
                )
            )
        return  # DESIGN: nobody "knowingly" processes a child's data
    birth, declaration = found
    age = _age(birth, at_us, tz)
    if rules.minimum_age is not None and age < rules.minimum_age:
        raise _Denied(
            Reason(
                ReasonCode.BELOW_MINIMUM_AGE,
                f"The subject is younger than the policy's minimum age of {rules.minimum_age}.",
                ReasonCode.BELOW_MINIMUM_AGE.article,
                event=declaration,
                clause="age.minimum_age",
            ),
            _reaches(birth, rules.minimum_age, tz),
        )
    limit = rules.parental_consent_age
    in_force = _parental_in_force(subject, purpose.id, at_key)
    if limit is not None and age <= limit and in_force is None:
        raise _Denied(
            Reason(
                ReasonCode.PARENTAL_CONSENT_REQUIRED,
                f"The subject is {limit} or younger; up to that age the consent of a holder "
                "of parental responsibility must be in force, and none is.",
                ReasonCode.PARENTAL_CONSENT_REQUIRED.article,
                event=declaration,
                clause="age.parental_consent_age",
            ),
            _reaches(birth, limit + 1, tz),
        )


def _check_opt_out(subject: Subject, purpose: Purpose, at_key: int) -> None:
    index = subject._index  # noqa: SLF001
    if ("X",) not in index.lines:
        return
    ctx = purpose.context
    declared = ctx.declared_scopes if ctx is not None else frozenset(purpose.opt_out_scopes)
    memo_key = ("undeclared", declared)
    undeclared: tuple[str | None, ...] | None = index.memo.get(memo_key)
    if undeclared is None:
        # An opt-out whose scope the policy does not declare stops every purpose.
        undeclared = tuple(k[1] for k in index.lines if k[0] == "x" and (k[1] not in declared))
        index.memo[memo_key] = undeclared
    # Art. 21(5): an opt-out of "all" reaches every purpose, like an undeclared scope.
    for scope in (*purpose.opt_out_scopes, _ALL_SCOPE, *undeclared):
        found = latest_key(index.lines.get(("x", scope)), at_key)
        if found is not None and isinstance(found[1], OptOut):
            raise _Denied(
                Reason(
                    ReasonCode.OPTED_OUT,
                    f"The subject opted out ({scope}), which stops '{purpose.id}'.",
                    ReasonCode.OPTED_OUT.article,
                    event=found[1],
                    clause=f"purposes.{purpose.id}.opt_out_scopes",
                )
            )


def _latest_objection(subject: Subject, pid: str, at_key: int) -> Event | None:
    lines = subject._index.lines  # noqa: SLF001
    return _latest_of(lines.get(("o", pid)), lines.get(("o", None)), at_key)


def _check_objection(
    subject: Subject, purpose: Purpose, at_key: int, operation: Operation
) -> tuple[Event | None, bool]:
    """Art. 21: returns the override relied on, and whether only storage remains."""
    lines = subject._index.lines  # noqa: SLF001
    pid = purpose.id
    first = latest_key(lines.get(("o", pid)), at_key)
    second = latest_key(lines.get(("o", None)), at_key)
    found = first if second is None or (first is not None and first[0] >= second[0]) else second
    if found is None or not isinstance(found[1], Objection):
        return None, False
    objection = found[1]
    if purpose.direct_marketing:
        # Art. 21(3): an objection to direct marketing is absolute.
        raise _Denied(
            Reason(
                ReasonCode.OBJECTED,
                "The subject objected to direct marketing; the objection is absolute.",
                "Art. 21(3)",
                event=objection,
            )
        )
    override = latest_key(lines.get(("v", pid)), at_key)
    if override is not None and override[0] > found[0] and purpose.override_admissible:
        return override[1], False
    if operation is Operation.STORE:
        return None, True  # Art. 18(1)(d): restricted pending verification, storage stays
    note = (
        " An override is on record, but the policy does not admit one for this purpose."
        if override is not None and override[0] > found[0]
        else ""
    )
    raise _Denied(
        Reason(
            ReasonCode.OBJECTED,
            "The subject objected; processing stops unless the controller records compelling "
            f"legitimate grounds (the data is restricted meanwhile, Art. 18(1)(d)).{note}",
            ReasonCode.OBJECTED.article,
            event=objection,
        )
    )


def _interaction_us(subject: Subject) -> list[int]:
    index = subject._index  # noqa: SLF001
    cached: list[int] | None = index.memo.get("I")
    if cached is None:
        line = index.lines.get(("I",))
        cached = [k // _R for k in line[0][: line[2]]] if line is not None else []
        index.memo["I"] = cached
    return cached


def _session_end(subject: Subject, timeout_us: int, c_us: int, at_us: int) -> int:
    """When the browsing session that collected data at ``c_us`` ends, seen from ``at_us``."""
    instants = _interaction_us(subject)
    first = bisect_left(instants, c_us)
    last = bisect_right(instants, at_us) - 1
    if first > last or instants[first] - c_us >= timeout_us:
        return c_us + timeout_us
    index = subject._index  # noqa: SLF001
    chain: list[int] | None = index.memo.get(("session", timeout_us))
    if chain is None:
        # chain[i]: the last interaction reached from i with gaps below the timeout.
        chain = list(range(len(instants)))
        for i in range(len(instants) - 2, -1, -1):
            if instants[i + 1] - instants[i] < timeout_us:
                chain[i] = chain[i + 1]
        index.memo[("session", timeout_us)] = chain
    end = chain[first]
    return instants[min(end, last)] + timeout_us


def _retention_limit(
    subject: Subject, purpose: Purpose, c_us: int, at_us: int, at_key: int
) -> tuple[int, str] | None:
    """The instant the data collected at ``c_us`` must be gone, and the rule that says so."""
    lines = subject._index.lines  # noqa: SLF001
    retention = purpose.retention
    limits: list[tuple[int, str]] = []
    for rule in retention.rules:
        limit: tuple[int, str] | None
        if isinstance(rule, AfterCollection):
            limit = (_after(rule.period, c_us), f"{rule.period} after collection")
        elif isinstance(rule, AfterLastInteraction):
            last = -1
            for kind in rule.kinds:
                for line_key in (("i", kind, purpose.id), ("i", kind, None)):
                    found = latest_key(lines.get(line_key), at_key)
                    if found is not None and found[0] // _R > last:
                        last = found[0] // _R
            if last < 0:
                continue  # the rule applies only once such an interaction is on record
            start = max(last, c_us)
            limit = (_after(rule.period, start), f"{rule.period} after the last interaction")
        elif isinstance(rule, SessionEnd):
            timeout = rule.inactivity.days * 86_400_000_000 + rule.inactivity.seconds * 1_000_000
            limit = (_session_end(subject, timeout, c_us, at_us), "end of the browsing session")
        else:
            assert isinstance(rule, NoPeriodStated)  # noqa: S101 - closed union
            limit = None
        if retention.combine is RetentionCombine.FIRST:
            return limit
        if limit is not None:
            limits.append(limit)
    return min(limits) if limits else None


def _after(period: Duration, start_us: int) -> int:
    """``start_us`` plus ``period``; :data:`_NEVER` when that lies past the last datetime."""
    if not period.years and not period.months:
        end = start_us + period.days * 86_400_000_000 + period.seconds * 1_000_000
        return min(end, _NEVER)
    try:
        return to_us(period.after(from_us(start_us)), "limit")
    except (OverflowError, ValueError):  # a year past 9999: a limit never reached
        return _NEVER


def _check_contract(subject: Subject, purpose: Purpose, at_key: int) -> Reason:
    contracts = subject._index.contracts  # noqa: SLF001
    found = latest_key(contracts, at_key) if contracts[2] else None
    if found is not None and isinstance(found[1], ContractStarted):
        return Reason(
            ReasonCode.CONTRACT,
            f"Contract '{found[1].contract}' with the subject is in force.",
            ReasonCode.CONTRACT.article,
            event=found[1],
            clause=f"purposes.{purpose.id}.basis",
        )
    raise _Denied(
        Reason(
            ReasonCode.NO_CONTRACT,
            "No contract with the subject is in force.",
            ReasonCode.NO_CONTRACT.article,
            event=None if found is None else found[1],
            clause=f"purposes.{purpose.id}.basis",
        )
    )


_Found = tuple[int, Event, tuple[Line | None, ...]]


def _consent_event(
    subject: Subject, purpose: Purpose, vendor: str | None, at_key: int
) -> list[_Found | None]:
    """The deciding consent event for each vendor the decision needs, with the timelines
    whose events at the same instant must agree with it.
    """
    lines = subject._index.lines  # noqa: SLF001
    pid = purpose.id
    wide = lines.get(("c", pid, None))
    everything = lines.get(("c", None, None))  # objections to every purpose
    base = latest_key(wide, at_key)
    glob = latest_key(everything, at_key)
    if glob is not None and (base is None or glob[0] > base[0]):
        base = glob
    vendors = (vendor,) if vendor is not None else purpose.vendors
    if purpose.per_vendor_consent and vendors:
        out: list[_Found | None] = []
        for name in vendors:
            line = lines.get(("c", pid, name))
            own = latest_key(line, at_key)
            pick = own if own is not None and (base is None or own[0] > base[0]) else base
            out.append(None if pick is None else (*pick, (wide, line)))
        return out
    # Purpose-wide consent; a later withdrawal for a vendor involved still counts.
    for name in vendors:
        own = latest_key(lines.get(("c", pid, name)), at_key)
        later = own is not None and (base is None or own[0] > base[0])
        if later and own is not None and not isinstance(own[1], ConsentGiven):
            base = own
    return [None if base is None else (*base, (wide,))]


def _same_instant(lines: tuple[Line | None, ...], key: int) -> list[Event]:
    """Every event of ``lines`` with sort key ``key`` (grants given at one instant)."""
    out: list[Event] = []
    for line in lines:
        if line is None:
            continue
        keys = line[0]
        hi = bisect_right(keys, key, 0, line[2])
        lo = hi
        while lo > 0 and keys[lo - 1] == key:
            lo -= 1
        out.extend(line[1][lo:hi])
    return out


def _check_consent(
    subject: Subject,
    purpose: Purpose,
    at: datetime,
    at_us: int,
    at_key: int,
    vendor: str | None,
    until: list[int],
) -> list[Reason]:
    pid = purpose.id
    reasons: list[Reason] = []
    seen: set[int] = set()
    for found in _consent_event(subject, purpose, vendor, at_key):
        if found is None:
            raise _Denied(
                Reason(
                    ReasonCode.NO_CONSENT,
                    f"'{pid}' needs consent, and none is on record.",
                    ReasonCode.NO_CONSENT.article,
                    clause=f"purposes.{pid}.basis",
                )
            )
        key, event, lines = found
        if not isinstance(event, ConsentGiven):
            how = (
                "an objection, which counts as a withdrawal"
                if isinstance(event, Objection)
                else "a withdrawal"
            )
            raise _Denied(
                Reason(
                    ReasonCode.CONSENT_WITHDRAWN,
                    f"The latest consent event for '{pid}' is {how}.",
                    ReasonCode.CONSENT_WITHDRAWN.article,
                    event=event,
                )
            )
        if id(event) in seen:
            continue
        # DESIGN: of conflicting grants at one instant the more restrictive wins, so every
        # grant at the deciding instant must hold, judged check by check in DESIGN's order.
        group = [event]
        group.extend(
            twin
            for twin in _same_instant(lines, key)
            if twin is not event and isinstance(twin, ConsentGiven) and id(twin) not in seen
        )
        seen.update(id(grant) for grant in group)
        reasons.append(_judge_grants(subject, purpose, group, key // _R, at, at_us, at_key, until))
    return reasons


def _judge_grants(
    subject: Subject,
    purpose: Purpose,
    grants: list[ConsentGiven],
    grant_us: int,
    at: datetime,
    at_us: int,
    at_key: int,
    until: list[int],
) -> Reason:
    lines = subject._index.lines  # noqa: SLF001
    pid = purpose.id
    grant = grants[0]
    erasure = latest_key(lines.get(("e",)), at_key)
    if erasure is not None and grant_us <= erasure[0] // _R:
        raise _Denied(
            Reason(
                ReasonCode.ERASED,
                "The consent predates the subject's erasure; a new consent is needed.",
                ReasonCode.ERASED.article,
                event=erasure[1],
            )
        )
    lifetime = purpose.consent_lifetime
    if lifetime is not None:
        expiry = _after(lifetime, grant_us)
        if at_us >= expiry:
            raise _Denied(
                Reason(
                    ReasonCode.CONSENT_EXPIRED,
                    f"The consent given at {grant.at.isoformat()} lasted {lifetime} and "
                    f"expired at {from_us(expiry, at.tzinfo).isoformat()}.",
                    ReasonCode.CONSENT_EXPIRED.article,
                    event=grant,
                    clause=f"purposes.{pid}.consent_lifetime",
                )
            )
        until.append(expiry)
    for tied in grants:
        stale = _staleness(purpose, tied)
        if stale:
            raise _Denied(
                Reason(
                    ReasonCode.CONSENT_STALE,
                    f"The current terms of '{pid}' go beyond those consented to: {stale}.",
                    ReasonCode.CONSENT_STALE.article,
                    event=tied,
                )
            )
    explicit_needed = (
        purpose.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT
    )
    for tied in grants:
        if explicit_needed and not tied.explicit:
            raise _Denied(
                Reason(
                    ReasonCode.EXPLICIT_CONSENT_REQUIRED,
                    f"'{pid}' uses special categories under Art. 9(2)(a), which needs "
                    "explicit consent; this consent was not explicit.",
                    ReasonCode.EXPLICIT_CONSENT_REQUIRED.article,
                    event=tied,
                )
            )
    rules = purpose.context.age if purpose.context is not None else None
    if rules is not None:
        _check_grant_age(subject, purpose, rules, grant, grant_us, at, at_key)
    return Reason(
        ReasonCode.CONSENT_GIVEN,
        f"Consent for '{pid}'"
        + (f" (vendor '{grant.vendor}')" if grant.vendor else "")
        + f" was given at {grant.at.isoformat()} and is in force.",
        ReasonCode.CONSENT_GIVEN.article,
        event=grant,
    )


def _check_grant_age(
    subject: Subject,
    purpose: Purpose,
    rules: AgeRules,
    grant: ConsentGiven,
    grant_us: int,
    at: datetime,
    at_key: int,
) -> None:
    """A child's consent without parental consent never becomes valid (Art. 8(1))."""
    if rules.minimum_age is None and rules.parental_consent_age is None:
        return
    found = _birth_on_record(subject, at_key, at.tzinfo)
    if found is None:
        return
    birth = found[0]
    age = _age(birth, grant_us, at.tzinfo)
    if rules.minimum_age is not None and age < rules.minimum_age:
        raise _Denied(
            Reason(
                ReasonCode.BELOW_MINIMUM_AGE,
                f"The consent was given at age {age}, below the minimum age of "
                f"{rules.minimum_age}; it never becomes valid.",
                ReasonCode.BELOW_MINIMUM_AGE.article,
                event=grant,
                clause="age.minimum_age",
            )
        )
    limit = rules.parental_consent_age
    grant_key = grant_us * _R + _TOP
    if (
        limit is not None
        and age <= limit
        and _parental_in_force(subject, purpose.id, grant_key) is None
    ):
        raise _Denied(
            Reason(
                ReasonCode.PARENTAL_CONSENT_REQUIRED,
                f"The consent was given at age {age} without parental consent in force; "
                "it never becomes valid by the child growing up.",
                ReasonCode.PARENTAL_CONSENT_REQUIRED.article,
                event=grant,
                clause="age.parental_consent_age",
            )
        )


def _staleness(purpose: Purpose, grant: ConsentGiven) -> str:
    """Why the consent is stale, or an empty string (Art. 4(11): specific and informed)."""
    ctx = purpose.context
    version = grant.policy_version
    if version is not None:
        if ctx is None or version not in ctx.stale:
            return f"it was given under policy version '{version}', which the policy does not know"
        if grant.terms is None:
            return "; ".join(ctx.stale[version])
    if grant.terms is None:
        return ""
    return "; ".join(compare_terms(grant.terms, purpose.terms))


def compare_terms(old: PurposeTerms, new: PurposeTerms) -> tuple[str, ...]:
    """How ``new`` goes beyond ``old``; removing a vendor or category is not going beyond."""
    why: list[str] = []
    if added := sorted(new.vendors - old.vendors):
        why.append("new vendor(s) " + ", ".join(added))
    if added := sorted(new.data - old.data):
        why.append("new data categor(ies) " + ", ".join(added))
    if new.basis is not old.basis:
        why.append(f"the legal basis changed from {old.basis.value} to {new.basis.value}")
    if new.statement != old.statement:
        why.append("the purpose statement changed")
    return tuple(why)
