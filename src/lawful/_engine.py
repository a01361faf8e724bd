"""The decision: the checks of ``docs/explanation/decision.md`` in order, no I/O, no clock.

Each rule is a function of one :class:`_Query` that returns a :class:`_Deny` verdict, or
``None`` to go on; the first verdict is the decision's primary reason. Instants are
integers inside: ``key = microseconds * 4 + rank``, so that one comparison orders both
time and, at one instant, restrictiveness. Timelines hold every event at the instant it
takes effect (a grant recorded late takes effect when recorded, see
:func:`lawful.subject.effective_key`).
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
    TransferConsentGiven,
)
from lawful.exceptions import QueryError, UncompiledPurposeError
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    AgeRules,
    CompiledPurpose,
    LegalBasis,
    NoPeriodStated,
    PolicyContext,
    PurposeTerms,
    RetentionCombine,
    SessionEnd,
    SpecialCategoryCondition,
    TransferDerogation,
    TransferMechanism,
    UnknownAge,
    UnknownSubjectCategory,
)
from lawful.subject import Kind, Line, LineKey, Subject, latest_key

__all__ = [
    "QueryError",
    "compare_terms",
    "decide",
    "decide_all",
    "decide_span",
    "may_process",
    "unknown_purpose",
]

_R = 4  # ranks per instant in a sort key
_NEVER = to_us(datetime.max.replace(tzinfo=UTC), "max") + 1  # a limit no instant reaches
NEVER = _NEVER
_TOP = _R - 1
_ALL_SCOPE = "all"
_USE = Operation.USE
_STORE = Operation.STORE
_CONSENT = LegalBasis.CONSENT
_ALL_LINE: LineKey = (Kind.ALL,)
_ONE_MONTH = Duration(months=1)
_BASIS_CODE = {
    LegalBasis.LEGAL_OBLIGATION: ReasonCode.LEGAL_OBLIGATION,
    LegalBasis.VITAL_INTERESTS: ReasonCode.VITAL_INTERESTS,
    LegalBasis.PUBLIC_TASK: ReasonCode.PUBLIC_TASK,
}
# Art. 21(1) reaches (e) and (f); Art. 21(2)-(3) direct marketing on any basis.
_OBJECTABLE = frozenset({LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK})
# The age of digital consent Art. 8(1) lets Member States set is 16 at most.
_ART_8_MAX_AGE = 16
_POLICY_AGE = "policy clause age"
_CONTRACT_DEROGATIONS = {
    TransferDerogation.CONTRACT: "Art. 49(1)(b)",
    TransferDerogation.CONTRACT_IN_INTEREST: "Art. 49(1)(c)",
}


class _Deny:
    """A rule's verdict that processing is denied, and the instant it could lift itself."""

    __slots__ = ("reason", "until")

    def __init__(self, reason: Reason, until: int | None = None) -> None:
        self.reason = reason
        self.until = until


class _Query:
    """One decision being made: its arguments, read once, and what the rules add to it."""

    __slots__ = (
        "at",
        "at_key",
        "at_us",
        "basis",
        "c_key",
        "c_us",
        "ctx",
        "fresh",
        "late",
        "lead",
        "lines",
        "operation",
        "purpose",
        "scopes",
        "subject",
        "tail",
        "until",
        "vendor",
    )

    def __init__(
        self,
        subject: Subject,
        purpose: CompiledPurpose,
        at: datetime,
        at_us: int,
        vendor: str | None,
        c_us: int,
        operation: Operation,
        *,
        fresh: bool,
    ) -> None:
        self.subject = subject
        self.lines = subject._index.lines  # noqa: SLF001 - the engine owns the index format
        self.late = subject._index.late  # noqa: SLF001
        self.purpose = purpose
        self.ctx: PolicyContext = purpose.context
        self.basis = purpose.basis
        self.at = at
        self.at_us = at_us
        self.at_key = at_us * _R + _TOP
        self.vendor = vendor
        self.c_us = c_us
        self.c_key = c_us * _R + _TOP
        self.fresh = fresh
        self.operation = operation
        self.until: list[int] = []  # deadlines of an allow (valid_until)
        self.lead: list[Reason] = []  # reasons before the basis's (an override)
        self.tail: list[Reason] = []  # reasons after it (storage pending an objection)
        self.scopes: tuple[str | None, ...] | None = None  # opt-out scopes reaching it

    @property
    def vendors(self) -> tuple[str, ...]:
        """The vendors the query involves: the one named, else every one of the purpose."""
        return (self.vendor,) if self.vendor is not None else self.purpose.vendors


def may_process(
    subject: Subject,
    purpose: CompiledPurpose,
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
        purpose: The purpose as a :class:`lawful.Policy` compiled it
            (``policy.purpose("analytics")``): it carries the policy's rules.
        at: The instant of processing; must be timezone-aware.
        vendor: The recipient involved; ``None``: every vendor the purpose declares.
        data: The data categories involved; empty: every category the purpose declares.
        collected_at: When the data was collected. ``None`` means *now* (fresh data):
            a host processing stored data must pass it, or retention is never exceeded
            and the consent is never asked to have been in force at collection.
        operation: Collect, store, use or disclose; only storage survives a restriction.

    Returns:
        The :class:`lawful.Decision`, with its reasons; a denial is a value.

    Raises:
        NaiveDatetimeError: ``at`` or ``collected_at`` has no time zone.
        QueryError: ``collected_at`` is after ``at``.
        UncompiledPurposeError: ``purpose`` was not compiled by a policy.
    """
    return decide(subject, purpose, at, vendor, data, collected_at, operation)


def decide(
    subject: Subject,
    purpose: CompiledPurpose,
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
    # Fresh data: the answer is constant from one instant until the instant the subject's
    # next event takes effect, or the decision's own valid_until, whichever comes first, so
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
    # The next instant an event takes effect: a grant recorded after `at` counts from then.
    every = subject._index.lines.get(_ALL_LINE)  # noqa: SLF001
    end = _NEVER
    if every is not None:
        pos = bisect_right(every[0], at_us * _R + _TOP, 0, every[2])
        if pos < every[2]:
            end = every[0][pos] // _R
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


def decide_all(
    subject: Subject,
    purposes: Iterable[CompiledPurpose],
    at: datetime,
    collected_at: datetime | None,
    operation: Operation,
) -> dict[str, Decision]:
    """:func:`decide` for every purpose at one instant, fresh data, whole purposes: what
    depends on no purpose (``at`` in microseconds, the next instant an event takes effect
    and its datetime) is worked out once per call, and each answer is kept as
    :func:`decide` keeps it (the same slot), so later questions find it.
    """
    if collected_at is not None or operation is not _USE:
        return {p.id: decide(subject, p, at, None, (), collected_at, operation) for p in purposes}
    at_us = _at_us(at)
    tz = at.tzinfo
    index = subject._index  # noqa: SLF001 - the engine owns the index
    kept_decisions = index.decisions
    every = index.lines.get(_ALL_LINE)
    following = _NEVER  # the next instant an event takes effect
    if every is not None:
        pos = bisect_right(every[0], at_us * _R + _TOP, 0, every[2])
        if pos < every[2]:
            following = every[0][pos] // _R
    following_at = None if following >= _NEVER else from_us(following, tz)
    at_offset = at.utcoffset()
    following_offset = None if following_at is None else following_at.utcoffset()
    out: dict[str, Decision] = {}
    for purpose in purposes:
        slot = (purpose.id, tz)
        kept = kept_decisions.get(slot)
        if kept is not None and kept[0] is purpose and kept[5] <= at_us < kept[6]:
            out[purpose.id] = make_decision(kept[7], kept[8], at, kept[9], kept[10], kept[11])
            continue
        decision, until_us = _evaluate(
            subject, purpose, at, at_us, None, (), at_us, operation, fresh=True
        )
        until: datetime | None
        if until_us is not None and until_us < following:
            end, until = until_us, from_us(until_us, tz)
            until_offset = until.utcoffset()
        else:
            end, until, until_offset = following, following_at, following_offset
        kept_decisions[slot] = (
            purpose,
            at,
            until,
            at_offset,
            until_offset,
            at_us,
            end,
            decision.allowed,
            decision.purpose,
            decision.basis,
            decision.reasons,
            decision.valid_until,
        )
        out[purpose.id] = decision
    return out


def decide_span(
    subject: Subject,
    purpose: CompiledPurpose,
    at: datetime,
    vendor: str | None,
    data: Iterable[str],
    collected_at: datetime | None,
    operation: Operation,
) -> tuple[Decision, int]:
    """:func:`decide` without the kept answers, with the instant (microseconds) up to which
    the decision, reasons included, holds when no new event is recorded: the earlier of the
    next instant one of the subject's events takes effect and the rules' own deadlines.
    :data:`NEVER` when nothing ends it. What :meth:`lawful.Policy.timeline` steps by.
    """
    at_us = _at_us(at)
    if collected_at is None:
        c_us, fresh = at_us, True
    else:
        c_us, fresh = to_us(collected_at, "collected_at"), False
        if c_us > at_us:
            raise QueryError("collected_at: data cannot be processed before it was collected")
    if data and type(data) is not tuple:
        data = tuple(data)
    decision, until_us = _evaluate(
        subject, purpose, at, at_us, vendor, data, c_us, operation, fresh=fresh
    )
    end = _NEVER
    every = subject._index.lines.get(_ALL_LINE)  # noqa: SLF001 - the engine owns the index
    if every is not None:
        pos = bisect_right(every[0], at_us * _R + _TOP, 0, every[2])
        if pos < every[2]:
            end = every[0][pos] // _R
    if until_us is not None:
        end = min(end, until_us)
    return decision, end


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
    purpose: CompiledPurpose,
    at: datetime,
    at_us: int,
    vendor: str | None,
    data: Iterable[str],
    c_us: int,
    operation: Operation,
    *,
    fresh: bool,
) -> tuple[Decision, int | None]:
    """Every rule, in order, for one query; with the instant (in microseconds) up to which
    the decision, reasons included, holds (for an allow its ``valid_until``).
    """
    if not isinstance(purpose, CompiledPurpose):
        raise UncompiledPurposeError(
            f"purpose '{getattr(purpose, 'id', purpose)}' was not compiled by a policy, so "
            "it lacks the policy's rules; pass policy.purpose(id), or call "
            "policy.may_process(subject, id, at)"
        )
    query = _Query(subject, purpose, at, at_us, vendor, c_us, operation, fresh=fresh)
    verdict = _decide(query, data)
    if isinstance(verdict, _Deny):
        # Only the denying rule's own deadline (a birthday) can lift a denial; limits met
        # on the way (retention, a consent's expiry) would only deny again.
        denied = verdict
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
        # Kept decisions hold the reason too: a limit met on the way (an expiry) changes
        # which failure comes first, so the kept denial ends there as well.
        kept_until = _next([*query.until, *([] if until_us is None else [until_us])], at_us)
        return denial, kept_until
    until_us = _next(query.until, at_us)
    valid_until = None if until_us is None else from_us(until_us, at.tzinfo)
    return make_decision(True, purpose.id, at, purpose.basis, verdict, valid_until), until_us  # noqa: FBT003


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


def _decide(q: _Query, data: Iterable[str]) -> _Deny | tuple[Reason, ...]:
    """The checks in order (docs/explanation/decision.md); the first denial decides."""
    verdict = (
        _scope(q, data)
        or _transfers(q)
        or _erasure(q)
        or _restriction(q)
        or (_age_check(q) if q.ctx.age_applies else None)
        or _opt_out(q)
        or _objection(q)
        or _retention(q)
    )
    if verdict is not None:
        return verdict
    basis = q.basis
    pid = q.purpose.id
    reasons: list[Reason]
    if basis is _CONSENT:
        found = _consent(q)
        if isinstance(found, _Deny):
            return found
        reasons = found
    elif basis is LegalBasis.LEGITIMATE_INTERESTS:
        reasons = [
            Reason(
                ReasonCode.LEGITIMATE_INTEREST,
                f"The controller relies on its legitimate interest: "
                f"{q.purpose.legitimate_interest or 'as declared in the policy'}.",
                ReasonCode.LEGITIMATE_INTEREST.article,
                clause=f"purposes.{pid}.legitimate_interest",
            )
        ]
    elif basis is LegalBasis.CONTRACT:
        contract = _contract(q)
        if isinstance(contract, _Deny):
            return contract
        reasons = [contract]
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
    purpose = q.purpose
    if purpose.device_access and basis is not _CONSENT and not purpose.strictly_necessary:
        device = _device_access(q)
        if isinstance(device, _Deny):
            return device
        reasons.extend(device)
    if q.lead:
        reasons[:0] = q.lead
    if q.tail:
        reasons.extend(q.tail)
    return tuple(reasons)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _latest_in(
    late: dict[int, int], lines: Iterable[Line | None], key: int
) -> tuple[int, Event] | None:
    """The latest choice in effect at ``key`` over several timelines, with its ``at`` sort
    key (ties: the more restrictive, whose rank makes its key larger; see latest_key).
    """
    best: tuple[int, Event] | None = None
    for line in lines:
        found = latest_key(line, key, late)
        if found is not None and (best is None or found[0] > best[0]):
            best = found
    return best


def _latest_of(q: _Query, kind: str, purpose: str | None, key: int) -> tuple[int, Event] | None:
    """The latest event of a per-purpose kind, for the purpose or for every purpose."""
    lines = q.lines
    return _latest_in(q.late, (lines.get((kind, purpose)), lines.get((kind, None))), key)


# -- 2. scope ----------------------------------------------------------------------------------


def _scope(q: _Query, data: Iterable[str]) -> _Deny | None:
    purpose = q.purpose
    pid = purpose.id
    if purpose.processor_only:
        return _Deny(
            Reason(
                ReasonCode.PROCESSOR_ONLY,
                f"For '{pid}' the controller acts only as a processor for its clients; the "
                "client, as controller, decides.",
                ReasonCode.PROCESSOR_ONLY.article,
                clause=f"purposes.{pid}.processor_only",
            )
        )
    if purpose.subjects:
        categories = q.subject.categories
        if categories is None:
            if q.ctx.unknown_subject_category is UnknownSubjectCategory.DENY:
                return _Deny(
                    Reason(
                        ReasonCode.SUBJECT_NOT_COVERED,
                        f"The subject's categories are unknown, and '{pid}' covers only "
                        f"{', '.join(purpose.subjects)}; the policy denies unknown categories.",
                        ReasonCode.SUBJECT_NOT_COVERED.article,
                        clause="unknown_subject_category",
                    )
                )
        elif categories.isdisjoint(purpose.subjects):
            return _Deny(
                Reason(
                    ReasonCode.SUBJECT_NOT_COVERED,
                    f"'{pid}' covers {', '.join(purpose.subjects)}, not a subject who is "
                    f"{', '.join(sorted(categories)) or 'of no category'}.",
                    ReasonCode.SUBJECT_NOT_COVERED.article,
                    clause=f"purposes.{pid}.subjects",
                )
            )
    vendor = q.vendor
    if vendor is not None and vendor not in purpose.vendors:
        return _Deny(
            Reason(
                ReasonCode.VENDOR_NOT_DECLARED,
                f"Vendor '{vendor}' is not declared for '{pid}'.",
                ReasonCode.VENDOR_NOT_DECLARED.article,
                clause=f"purposes.{pid}.vendors",
            )
        )
    for category in data:
        if category not in purpose.data:
            return _Deny(
                Reason(
                    ReasonCode.DATA_CATEGORY_NOT_DECLARED,
                    f"Data category '{category}' is not declared for '{pid}'.",
                    ReasonCode.DATA_CATEGORY_NOT_DECLARED.article,
                    clause=f"purposes.{pid}.data",
                )
            )
    return None


# -- 3. transfers (Chapter V) ------------------------------------------------------------------


def _transfers(q: _Query) -> _Deny | None:
    """Art. 44: every vendor involved outside the EEA needs a safeguard that holds."""
    transfers = q.ctx.transfers
    if not transfers:
        return None
    for name in q.vendors:
        vendor = transfers.get(name)
        if vendor is None:
            continue
        mechanism = vendor.transfer
        if mechanism is TransferMechanism.DEROGATION:
            verdict = _derogation(q, name, vendor.derogation)
            if verdict is not None:
                return verdict
        elif mechanism in (TransferMechanism.NOT_STATED, TransferMechanism.NOT_APPLICABLE):
            # Art. 44, 46(1): a transfer with no stated safeguard cannot be shown lawful.
            return _Deny(
                Reason(
                    ReasonCode.TRANSFER_SAFEGUARD_MISSING,
                    f"Vendor '{name}' receives the data outside the EEA ({vendor.hosting}), "
                    "and the policy states no safeguard for the transfer.",
                    ReasonCode.TRANSFER_SAFEGUARD_MISSING.article,
                    clause=f"vendors.{name}.transfer",
                )
            )
    return None


def _derogation(q: _Query, name: str, ground: TransferDerogation | None) -> _Deny | None:
    """Art. 49(1): a derogation is checked like a basis: its ground must hold at ``at``."""
    clause = f"vendors.{name}.derogation"
    if ground is TransferDerogation.EXPLICIT_CONSENT:
        lines = q.lines
        pid = q.purpose.id
        found = _latest_in(
            q.late,
            (lines.get((Kind.TRANSFER, name, pid)), lines.get((Kind.TRANSFER, name, None))),
            q.at_key,
        )
        if found is not None and isinstance(found[1], TransferConsentGiven):
            return None
        return _Deny(
            Reason(
                ReasonCode.TRANSFER_SAFEGUARD_MISSING,
                f"The transfer to vendor '{name}' outside the EEA rests on the person's "
                "explicit consent (Art. 49(1)(a)), and "
                + ("none is on record." if found is None else "it was withdrawn."),
                "Art. 49(1)(a)",
                event=None if found is None else found[1],
                clause=clause,
            )
        )
    if ground in _CONTRACT_DEROGATIONS:
        contracts = q.subject._index.contracts  # noqa: SLF001
        found = latest_key(contracts, q.at_key) if contracts[2] else None
        if found is not None and isinstance(found[1], ContractStarted):
            return None
        article = _CONTRACT_DEROGATIONS[ground]
        return _Deny(
            Reason(
                ReasonCode.TRANSFER_SAFEGUARD_MISSING,
                f"The transfer to vendor '{name}' outside the EEA rests on a contract "
                f"({article}), and no contract with the subject is in force.",
                article,
                event=None if found is None else found[1],
                clause=clause,
            )
        )
    if ground is None or (
        ground is TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS and q.purpose.recurring
    ):
        # Refused when the policy is loaded; fail closed all the same.
        return _Deny(
            Reason(
                ReasonCode.TRANSFER_SAFEGUARD_MISSING,
                f"The transfer to vendor '{name}' outside the EEA names no derogation that "
                "can hold for this purpose.",
                "Art. 49(1)",
                clause=clause,
            )
        )
    return None  # Art. 49(1)(d)-(g), or a one-off transfer: as the controller declared


# -- 4. erasure --------------------------------------------------------------------------------


def _erasure(q: _Query) -> _Deny | None:
    found = latest_key(q.lines.get((Kind.ERASURE,)), q.at_key, q.late)
    if found is None or q.basis is LegalBasis.LEGAL_OBLIGATION:
        return None  # Art. 17(3)(b): a legal obligation to keep the data survives erasure
    erased = found[0] // _R
    if q.c_us > erased:
        if q.basis is _CONSENT:
            # Art. 17(1): after an erasure, consent-based processing needs a consent given
            # after it; a consent still deciding that predates it counts for nothing.
            for grants, stops in _slots(q, as_basis=True):
                deciding = _latest_in(q.late, (*grants, *stops), q.at_key)
                if (
                    deciding is not None
                    and isinstance(deciding[1], ConsentGiven)
                    and deciding[0] // _R <= erased
                ):
                    return _Deny(
                        Reason(
                            ReasonCode.ERASED,
                            "The consent predates the subject's erasure; a new consent is needed.",
                            ReasonCode.ERASED.article,
                            event=found[1],
                        )
                    )
        return None
    # Art. 17(1): data collected at or before the erasure is never processed again.
    return _Deny(
        Reason(
            ReasonCode.ERASED,
            "The data was collected at or before the subject's erasure and is never "
            "processed again.",
            ReasonCode.ERASED.article,
            event=found[1],
        ),
        # Fresh data a microsecond later is new data, collected after the erasure.
        q.at_us + 1 if q.fresh else None,
    )


# -- 5. restriction ----------------------------------------------------------------------------


def _restriction(q: _Query) -> _Deny | None:
    if q.operation is _STORE:
        return None  # Art. 18(2): storage survives a restriction
    found = _latest_of(q, Kind.RESTRICTION, q.purpose.id, q.at_key)
    if found is None or not isinstance(found[1], RestrictionRequested):
        return None
    if q.purpose.restriction_exceptions:
        return None  # Art. 18(2): legal claims, others' rights, public interest, as declared
    if _consented_after(q, found[0]) and _consent_stands(q):
        return None  # Art. 18(2): with the person's consent, given after the restriction
    return _Deny(
        Reason(
            ReasonCode.RESTRICTED,
            "Processing is restricted at the subject's request; only storage is allowed, "
            "or processing with the person's consent given since.",
            ReasonCode.RESTRICTED.article,
            event=found[1],
        )
    )


def _consent_stands(q: _Query) -> bool:
    """Whether the person's latest consent choice for the purpose at ``at`` is a grant, for
    every vendor involved (a consent given and then withdrawn no longer stands).
    """
    return all(
        isinstance(found[1], ConsentGiven)
        for grants, stops in _slots(q, as_basis=False)
        if (found := _latest_in(q.late, (*grants, *stops), q.at_key)) is not None
    )


def _consented_after(q: _Query, key: int) -> bool:
    """Whether the person gave an affirmative consent to the purpose after ``key``,
    covering every vendor involved where consent is per vendor.
    """
    lines = q.lines
    pid = q.purpose.id
    wide = latest_key(lines.get((Kind.CONSENT_GRANTS, pid, None)), q.at_key, q.late)
    if wide is not None and wide[0] > key:
        return True
    if not q.purpose.per_vendor_consent or not q.vendors:
        return False
    for name in q.vendors:
        own = latest_key(lines.get((Kind.CONSENT_GRANTS, pid, name)), q.at_key, q.late)
        if own is None or own[0] <= key:
            return False
    return True


# -- 6. age (Art. 8) ---------------------------------------------------------------------------


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


# -- 7. objection and opt-out (Art. 21) --------------------------------------------------------


def _reached_scopes(q: _Query) -> tuple[str | None, ...]:
    """The opt-out scopes that reach the purpose: those it lists, and where Art. 21 reaches
    it, "all" and every scope the policy does not declare (fail closed).
    """
    index = q.subject._index  # noqa: SLF001
    if (Kind.ANY_OPT_OUT,) not in index.lines:
        return ()
    purpose = q.purpose
    ctx = q.ctx
    declared = ctx.declared_scopes
    if not ctx.reached_by_all:
        return tuple(s for s in purpose.opt_out_scopes if s != _ALL_SCOPE and s in declared)
    memo_key = ("undeclared", declared)
    undeclared: tuple[str | None, ...] | None = index.memo.get(memo_key)
    if undeclared is None:
        undeclared = tuple(
            k[1] for k in index.lines if k[0] == Kind.OPT_OUT_STATE and k[1] not in declared
        )
        index.memo[memo_key] = undeclared
    return (*purpose.opt_out_scopes, _ALL_SCOPE, *undeclared)


def _opt_out(q: _Query) -> _Deny | None:
    scopes = _reached_scopes(q)
    if not scopes:
        return None
    q.scopes = scopes
    purpose = q.purpose
    pid = purpose.id
    lines = q.lines
    clause = f"purposes.{pid}.opt_out_scopes"
    for scope in scopes:
        found = latest_key(lines.get((Kind.OPT_OUT_STATE, scope)), q.at_key, q.late)
        if found is None or not isinstance(found[1], OptOut):
            # Not (or no longer) opted out of this scope. On a consent purpose the consent
            # an opt-out withdrew stays withdrawn (the basis says CONSENT_WITHDRAWN): no
            # consent comes back by inaction (Art. 4(11), recital 32).
            continue
        if q.basis is _CONSENT and _consented_after(q, found[0]):
            continue  # the person's later affirmative consent is its latest choice
        if q.basis is _CONSENT and not purpose.direct_marketing:
            # Art. 7(3): on a consent purpose an opt-out withdraws the consent.
            return _Deny(
                Reason(
                    ReasonCode.OPTED_OUT,
                    f"The subject opted out ({scope}), which withdraws consent to '{pid}'; "
                    "only a consent given since would count.",
                    "Art. 7(3)",
                    event=found[1],
                    clause=clause,
                )
            )
        if purpose.direct_marketing:
            article = "Art. 21(3), 21(5)"  # an objection to direct marketing, by automated means
        elif q.basis in _OBJECTABLE:
            article = "Art. 21(5)"
        else:
            article = "policy clause opt_out_scopes"  # the controller's own promise binds
        return _Deny(
            Reason(
                ReasonCode.OPTED_OUT,
                f"The subject opted out ({scope}), which stops '{pid}'.",
                article,
                event=found[1],
                clause=clause,
            )
        )
    return None


def _objection(q: _Query) -> _Deny | None:
    purpose = q.purpose
    basis = q.basis
    marketing = purpose.direct_marketing
    if not marketing and basis not in _OBJECTABLE:
        return None  # Art. 21 never reaches contract, legal obligation, vital interests
    pid = purpose.id
    found = _latest_of(q, Kind.OBJECTION_STATE, pid, q.at_key)
    if found is None or not isinstance(found[1], Objection):
        return None
    key, objection = found
    if marketing:
        if basis is _CONSENT and _consented_after(q, key):
            return None  # the person's later affirmative consent is its latest choice
        # Art. 21(3): an objection to direct marketing is absolute.
        return _Deny(
            Reason(
                ReasonCode.OBJECTED,
                "The subject objected to direct marketing; the objection is absolute.",
                "Art. 21(3)",
                event=objection,
            )
        )
    override = latest_key(q.lines.get((Kind.OVERRIDES, pid)), q.at_key, q.late)
    later = override is not None and override[0] > key
    admissible = purpose.override_admissible
    if later and admissible:
        assert override is not None  # noqa: S101 - later implies it
        q.lead.append(
            Reason(
                ReasonCode.COMPELLING_GROUNDS,
                "The subject objected, and the controller recorded compelling legitimate "
                f"grounds that override the objection: {getattr(override[1], 'grounds', '')}.",
                ReasonCode.COMPELLING_GROUNDS.article,
                event=override[1],
            )
        )
        return None
    if q.operation is _STORE and admissible:
        # Art. 18(1)(d): restricted, kept stored while the controller verifies; Art. 12(3):
        # it must decide within one month of the objection.
        limit = _after(_ONE_MONTH, key // _R)
        if q.at_us < limit:
            q.until.append(limit)
            q.tail.append(
                Reason(
                    ReasonCode.OBJECTED,
                    "The subject objected; pending the controller's verification the data "
                    "is restricted and only kept stored, for one month from the objection "
                    "at most (Art. 18(1)(d), 12(3)).",
                    "Art. 18(1)(d), 12(3)",
                    event=objection,
                )
            )
            return None
        return _Deny(
            Reason(
                ReasonCode.OBJECTED,
                "The subject objected, and the month the controller had to decide on "
                "compelling grounds has passed without an override; storage ends too.",
                "Art. 21(1), 12(3)",
                event=objection,
            )
        )
    if not admissible:
        note = (
            " An override is on record, but the policy does not admit one for this purpose."
            if later
            else " The policy admits no override for this purpose, so storage stops too."
        )
    else:
        note = " Meanwhile the data is restricted (Art. 18(1)(d))."
    return _Deny(
        Reason(
            ReasonCode.OBJECTED,
            "The subject objected; processing stops unless the controller records "
            f"compelling legitimate grounds.{note}",
            ReasonCode.OBJECTED.article,
            event=objection,
        )
    )


# -- 8. retention ------------------------------------------------------------------------------


def _retention(q: _Query) -> _Deny | None:
    if q.fresh:
        return None  # fresh data is collected at `at`: no limit is reached yet
    limit = _retention_limit(q)
    if limit is None:
        return None
    if q.at_us >= limit[0]:
        return _Deny(
            Reason(
                ReasonCode.RETENTION_EXCEEDED,
                f"The data, collected at {from_us(q.c_us).isoformat()}, was due for "
                f"deletion at {from_us(limit[0]).isoformat()} ({limit[1]}).",
                ReasonCode.RETENTION_EXCEEDED.article,
                clause=f"purposes.{q.purpose.id}.retention",
            )
        )
    q.until.append(limit[0])
    return None


def _interaction_us(subject: Subject) -> list[int]:
    index = subject._index  # noqa: SLF001
    cached: list[int] | None = index.memo.get(Kind.ANY_INTERACTION)
    if cached is None:
        line = index.lines.get((Kind.ANY_INTERACTION,))
        cached = [k // _R for k in line[0][: line[2]]] if line is not None else []
        index.memo[Kind.ANY_INTERACTION] = cached
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


def _retention_limit(q: _Query) -> tuple[int, str] | None:
    """The instant the data collected at ``c_us`` must be gone, and the rule that says so."""
    lines = q.lines
    c_us = q.c_us
    retention = q.purpose.retention
    pid = q.purpose.id
    limits: list[tuple[int, str]] = []
    for rule in retention.rules:
        limit: tuple[int, str] | None
        if isinstance(rule, AfterCollection):
            limit = (_after(rule.period, c_us), f"{rule.period} after collection")
        elif isinstance(rule, AfterLastInteraction):
            last = -1
            for kind in rule.kinds:
                found = _latest_in(
                    q.late,
                    (
                        lines.get((Kind.INTERACTION, kind, pid)),
                        lines.get((Kind.INTERACTION, kind, None)),
                    ),
                    q.at_key,
                )
                if found is not None and found[0] // _R > last:
                    last = found[0] // _R
            if last < c_us:
                # An exchange before the data existed is no reply to it: the rule applies
                # once an interaction at or after collection is on record (HubSpot).
                continue
            limit = (_after(rule.period, last), f"{rule.period} after the last interaction")
        elif isinstance(rule, SessionEnd):
            timeout = rule.inactivity.days * 86_400_000_000 + rule.inactivity.seconds * 1_000_000
            limit = (_session_end(q.subject, timeout, c_us, q.at_us), "end of the browsing session")
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


# -- 9. basis ----------------------------------------------------------------------------------


def _contract(q: _Query) -> Reason | _Deny:
    contracts = q.subject._index.contracts  # noqa: SLF001
    found = latest_key(contracts, q.at_key) if contracts[2] else None
    clause = f"purposes.{q.purpose.id}.basis"
    if found is not None and isinstance(found[1], ContractStarted):
        return Reason(
            ReasonCode.CONTRACT,
            f"Contract '{found[1].contract}' with the subject is in force.",
            ReasonCode.CONTRACT.article,
            event=found[1],
            clause=clause,
        )
    return _Deny(
        Reason(
            ReasonCode.NO_CONTRACT,
            "No contract with the subject is in force.",
            ReasonCode.NO_CONTRACT.article,
            event=None if found is None else found[1],
            clause=clause,
        )
    )


# The grant timelines and the stop timelines (withdrawals, and what acts as one) of one
# consent the decision needs: the purpose's, or one vendor's where consent is per vendor.
_Slot = tuple[tuple[Line | None, ...], tuple[Line | None, ...]]


def _slots(q: _Query, *, as_basis: bool) -> list[_Slot]:
    lines = q.lines
    purpose = q.purpose
    pid = purpose.id
    wide_grants = lines.get((Kind.CONSENT_GRANTS, pid, None))
    wide_stops = lines.get((Kind.CONSENT_STOPS, pid, None))
    extra: tuple[Line | None, ...] = ()
    if as_basis and not purpose.direct_marketing:
        # On a consent purpose that is not direct marketing an objection counts as a
        # withdrawal, and so does an opt-out that reaches it (Art. 7(3)).
        scopes = q.scopes if q.scopes is not None else _reached_scopes(q)
        extra = (
            lines.get((Kind.OBJECTIONS, pid)),
            lines.get((Kind.OBJECTIONS, None)),
            *(lines.get((Kind.OPT_OUTS, s)) for s in scopes),
        )
    vendors = q.vendors
    if purpose.per_vendor_consent and vendors:
        # Per vendor: the later of the purpose-wide and the vendor's own event decides.
        return [
            (
                (wide_grants, lines.get((Kind.CONSENT_GRANTS, pid, name))),
                (wide_stops, lines.get((Kind.CONSENT_STOPS, pid, name)), *extra),
            )
            for name in vendors
        ]
    # Purpose-wide: a vendor's own grant is no consent to the purpose, but a withdrawal
    # for a vendor involved still counts.
    own_stops = tuple(lines.get((Kind.CONSENT_STOPS, pid, name)) for name in vendors)
    return [((wide_grants,), (wide_stops, *own_stops, *extra))]


def _same_instant(q: _Query, lines: tuple[Line | None, ...], key: int) -> list[ConsentGiven]:
    """Every grant of ``lines`` in effect at ``at`` whose ``at`` sort key is ``key`` (grants
    given at one instant, however late each was recorded).
    """
    late = q.late
    out: list[ConsentGiven] = []
    for line in lines:
        if line is None:
            continue
        keys, events, count = line
        hi = bisect_right(keys, key, 0, count)
        lo = hi
        while lo > 0 and keys[lo - 1] == key:
            lo -= 1
        twins = [e for e in events[lo:hi] if not late or id(e) not in late]
        if late:  # grants recorded late sit where they took effect, not at `key`
            end = bisect_right(keys, q.at_key, 0, count)
            twins.extend(e for e in events[hi:end] if late.get(id(e)) == key)
        out.extend(e for e in twins if isinstance(e, ConsentGiven) and e not in out)
    return out


def _stop_words(event: Event) -> str:
    if isinstance(event, Objection):
        return "an objection, which counts as a withdrawal"
    if isinstance(event, OptOut):
        return f"an opt-out ({event.scope}), which acts as a withdrawal"
    return "a withdrawal"


def _consent(q: _Query, *, as_basis: bool = True) -> _Deny | list[Reason]:
    """Step 9 for consent: every consent the decision needs must hold.

    Where several fail, the primary reason is the first in this order: no consent (or
    withdrawn, or predating an erasure) at ``at``; not in force at collection, or
    withdrawn since; stale; expired; not explicit; a child's consent never authorised.
    """
    pid = q.purpose.id
    worst: tuple[int, Reason] | None = None
    reasons: list[Reason] = []
    seen: set[int] = set()
    for grants, stops in _slots(q, as_basis=as_basis):
        found = _latest_in(q.late, (*grants, *stops), q.at_key)
        failure: tuple[int, Reason] | None
        if found is None:
            failure = (
                1,
                Reason(
                    ReasonCode.NO_CONSENT,
                    f"'{pid}' needs consent, and none is on record.",
                    ReasonCode.NO_CONSENT.article,
                    clause=f"purposes.{pid}.basis",
                ),
            )
        elif not isinstance(found[1], ConsentGiven):
            failure = (
                1,
                Reason(
                    ReasonCode.CONSENT_WITHDRAWN,
                    f"The latest consent event for '{pid}' is {_stop_words(found[1])}.",
                    ReasonCode.CONSENT_WITHDRAWN.article,
                    event=found[1],
                ),
            )
        else:
            group = _same_instant(q, grants, found[0])
            if id(group[0]) in seen:
                continue
            seen.update(id(grant) for grant in group)
            judged = _judge(q, group, found[0], grants, stops)
            if isinstance(judged, Reason):
                reasons.append(judged)
                continue
            failure = judged
        if worst is None or failure[0] < worst[0]:
            worst = failure
    if worst is not None:
        return _Deny(worst[1])
    return reasons


def _judge(
    q: _Query,
    group: list[ConsentGiven],
    key: int,
    grants: tuple[Line | None, ...],
    stops: tuple[Line | None, ...],
) -> Reason | tuple[int, Reason]:
    """The grants deciding at one instant (the more restrictive of conflicting grants
    wins, so every one must hold), judged check by check in order.
    """
    purpose = q.purpose
    pid = purpose.id
    grant = group[0]
    erasure = latest_key(q.lines.get((Kind.ERASURE,)), q.at_key, q.late)
    if erasure is not None and key // _R <= erasure[0] // _R:
        # Art. 17: after an erasure, consent-based processing needs a consent given after it.
        return (
            1,
            Reason(
                ReasonCode.ERASED,
                "The consent predates the subject's erasure; a new consent is needed.",
                ReasonCode.ERASED.article,
                event=erasure[1],
            ),
        )
    lifetime = purpose.consent_lifetime
    if not q.fresh:
        failure = _at_collection(q, grants, stops, erasure)
        if failure is not None:
            return (2, failure)
    for tied in group:
        stale = _staleness(q, tied)
        if stale:
            return (
                3,
                Reason(
                    ReasonCode.CONSENT_STALE,
                    f"The current terms of '{pid}' go beyond those consented to: {stale}.",
                    ReasonCode.CONSENT_STALE.article,
                    event=tied,
                ),
            )
    if lifetime is not None:
        # The GDPR sets no lifetime (Art. 7(1) asks only that consent be shown): the
        # policy's clause does, counted from when the consent was given.
        given = min(group, key=lambda g: g.at)
        expiry = _after(lifetime, to_us(given.at, "consent_given.at"))
        if q.at_us >= expiry:
            return (
                4,
                Reason(
                    ReasonCode.CONSENT_EXPIRED,
                    f"The consent given at {given.at.isoformat()} lasted {lifetime} under the "
                    f"policy and expired at {from_us(expiry, q.at.tzinfo).isoformat()}.",
                    ReasonCode.CONSENT_EXPIRED.article,
                    event=given,
                    clause=f"purposes.{pid}.consent_lifetime",
                ),
            )
        q.until.append(expiry)
    if purpose.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT:
        for tied in group:
            if not tied.explicit:
                return (
                    5,
                    Reason(
                        ReasonCode.EXPLICIT_CONSENT_REQUIRED,
                        f"'{pid}' uses special categories under Art. 9(2)(a), which needs "
                        "explicit consent; this consent was not explicit.",
                        ReasonCode.EXPLICIT_CONSENT_REQUIRED.article,
                        event=tied,
                    ),
                )
    if q.ctx.age_covers:
        for tied in group:
            child = _child_consent(q, tied, key)
            if child is not None:
                return (6, child)
    return Reason(
        ReasonCode.CONSENT_GIVEN,
        f"Consent for '{pid}'"
        + (f" (vendor '{grant.vendor}')" if grant.vendor else "")
        + f" was given at {grant.at.isoformat()} and is in force.",
        ReasonCode.CONSENT_GIVEN.article,
        event=grant,
    )


def _at_collection(
    q: _Query,
    grants: tuple[Line | None, ...],
    stops: tuple[Line | None, ...],
    erasure: tuple[int, Event] | None,
) -> Reason | None:
    """Stored data: the consent was in force when it was collected (collection is
    processing and needs its basis then), and not withdrawn since (a re-consent covers
    only data collected after it).
    """
    pid = q.purpose.id
    when = from_us(q.c_us, q.at.tzinfo).isoformat()
    then = _latest_in(q.late, (*grants, *stops), q.c_key)
    lifetime = q.purpose.consent_lifetime
    if (
        then is None
        or not isinstance(then[1], ConsentGiven)
        or (erasure is not None and then[0] // _R <= erasure[0] // _R)
        or (
            lifetime is not None
            and q.c_us >= _after(lifetime, to_us(then[1].at, "consent_given.at"))
        )
    ):
        return Reason(
            ReasonCode.NO_CONSENT,
            f"No consent for '{pid}' was in force when the data was collected ({when}); "
            "a later consent covers only data collected after it.",
            ReasonCode.NO_CONSENT.article,
            event=None if then is None else then[1],
            clause=f"purposes.{pid}.basis",
        )
    stop = _latest_in(q.late, stops, q.at_key)
    if stop is not None and stop[0] > q.c_key:
        return Reason(
            ReasonCode.CONSENT_WITHDRAWN,
            f"The consent for '{pid}' was withdrawn after the data was collected ({when}), "
            f"by {_stop_words(stop[1])}; a re-consent covers only data collected after it.",
            ReasonCode.CONSENT_WITHDRAWN.article,
            event=stop[1],
        )
    return None


def _child_consent(q: _Query, grant: ConsentGiven, key: int) -> Reason | None:
    """Art. 8(1): a child's consent counts only where a holder of parental responsibility
    gave or authorised it: a parental consent in force at some instant from the child's
    consent until the child left the band (or until ``at``).
    """
    rules = q.ctx.age
    minimum = rules.minimum_age
    limit = rules.parental_consent_age
    if minimum is None and limit is None:
        return None
    found = _youngest(q)
    if found is None:
        return None
    birth = found[0]
    tz = q.at.tzinfo
    age = _age(birth, to_us(grant.at, "consent_given.at"), tz)
    if minimum is not None and age < minimum:
        return Reason(
            ReasonCode.BELOW_MINIMUM_AGE,
            f"The consent was given at age {age}, below the policy's minimum age of "
            f"{minimum}; it never becomes valid.",
            _POLICY_AGE,
            event=grant,
            clause="age.minimum_age",
        )
    if limit is None or age > limit:
        return None
    leave = _reaches(birth, limit + 1, tz)
    high = q.at_key if leave is None else min(q.at_key, leave * _R - 1)
    if _parental_some_time(q, (key // _R) * _R + _TOP, high):
        return None
    return Reason(
        ReasonCode.PARENTAL_CONSENT_REQUIRED,
        f"The consent was given at age {age}, and no holder of parental responsibility "
        f"authorised it while the subject was {limit} or younger; it never becomes valid "
        "by the child growing up.",
        _age_article(q, limit),
        event=grant,
        clause="age.parental_consent_age",
    )


def _staleness(q: _Query, grant: ConsentGiven) -> str:
    """Why the consent is stale, or an empty string (Art. 4(11): specific and informed)."""
    ctx = q.ctx
    version = grant.policy_version
    if version is not None:
        if version not in ctx.stale:
            return f"it was given under policy version '{version}', which the policy does not know"
        if grant.terms is None:
            return "; ".join(ctx.stale[version])
    elif grant.terms is None:
        # Art. 4(11), 7(1): an unversioned consent is judged under the version in force
        # at its instant; with none dated then, under every version that may have been.
        dated = ctx.dated_versions
        if dated:
            pos = bisect_right(dated, (to_us(grant.at, "consent_given.at"), "\U0010ffff"))
            if pos:
                return "; ".join(ctx.stale[dated[pos - 1][1]])
        return "; ".join(ctx.undated_stale)
    if grant.terms is None:  # pragma: no cover - both branches above return
        return ""
    return "; ".join(compare_terms(grant.terms, q.purpose.terms))


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


# -- 10. device access (ePrivacy Art. 5(3)) ----------------------------------------------------


def _device_access(q: _Query) -> _Deny | list[Reason]:
    """Reading or writing the device needs consent unless strictly necessary; for stored
    data that consent must have been in force at collection, when the device was read.
    """
    found = _consent(q, as_basis=False)
    if not isinstance(found, _Deny):
        return found
    reason = found.reason
    return _Deny(
        Reason(
            ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED,
            "The purpose reads or writes the person's device, which needs consent "
            f"unless strictly necessary; {_lower_first(reason.message)}",
            ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED.article,
            event=reason.event,
            clause=f"purposes.{q.purpose.id}.device_access",
        ),
        found.until,
    )
