"""A deliberately simple, slow reference for DESIGN.md's decision, written from the text alone.

No index, no integer instants: every question scans all of the subject's events
with aware ``datetime`` arithmetic. It answers only ``(allowed, primary code)``
and is compared with :func:`lawful.may_process` in
``tests/properties/test_differential.py``.

Readings of DESIGN where it is silent (each also what lawful's docs state):

- "In effect at ``t``" means ``event.at <= t``; among events in effect, the latest
  wins, and at one instant the more restrictive one (DESIGN, conventions).
- Calendar months and years are counted on the UTC calendar (limits are instants).
- A vendor-specific consent event of a purpose-wide purpose cannot grant, but a later
  vendor-specific withdrawal for a vendor involved still denies (fail closed).
- "At least N" declared at ``t`` means born on or before the day, N years earlier,
  that makes the person N on the later of ``t``'s UTC date and its date in the zone
  of the decision (conservative: the youngest consistent person).
- Of several consent grants at the deciding instant, all must hold (the more restrictive
  wins), and the primary reason is the first of DESIGN's consent checks (erasure,
  expiry, staleness, explicitness, age) that any of them fails; see ``_judge``.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from lawful import (
    AfterCollection,
    AfterLastInteraction,
    AgeDeclared,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Duration,
    Erasure,
    Event,
    Interaction,
    LegalBasis,
    NoPeriodStated,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    Operation,
    OptOut,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    Policy,
    Purpose,
    PurposeTerms,
    ReasonCode,
    RestrictionLifted,
    RestrictionRequested,
    RetentionCombine,
    SessionEnd,
    SpecialCategoryCondition,
    Subject,
    UnknownAge,
    UnknownSubjectCategory,
)

__all__ = ["Denied", "decide"]

R = ReasonCode
# DESIGN: "the more restrictive wins" at one instant; a higher number is more restrictive.
_RESTRICTIVE: dict[type[Event], int] = {
    ConsentGiven: 0,
    ConsentWithdrawn: 1,
    Objection: 2,
    ObjectionWithdrawn: 0,
    ObjectionOverridden: 1,
    RestrictionRequested: 1,
    RestrictionLifted: 0,
    OptOut: 1,
    OptOutWithdrawn: 0,
    ParentalConsentGiven: 0,
    ParentalConsentWithdrawn: 1,
    ContractStarted: 0,
    ContractEnded: 1,
    Erasure: 2,
}


_AGE_EXEMPT = (LegalBasis.LEGAL_OBLIGATION, LegalBasis.VITAL_INTERESTS)
_DECLARED = {
    LegalBasis.LEGITIMATE_INTERESTS: R.LEGITIMATE_INTEREST,
    LegalBasis.LEGAL_OBLIGATION: R.LEGAL_OBLIGATION,
    LegalBasis.VITAL_INTERESTS: R.VITAL_INTERESTS,
    LegalBasis.PUBLIC_TASK: R.PUBLIC_TASK,
}


class Denied(Exception):  # noqa: N818 - the answer, not an error
    """A check failed with ``code``."""

    def __init__(self, code: ReasonCode) -> None:
        super().__init__(code.value)
        self.code = code


def _latest(events: Iterable[Event]) -> Event | None:
    """The latest event; at one instant, the more restrictive one."""
    best: Event | None = None
    for event in events:
        if best is None or (event.at, _RESTRICTIVE.get(type(event), 0)) > (
            best.at,
            _RESTRICTIVE.get(type(best), 0),
        ):
            best = event
    return best


def _plus(start: datetime, period: Duration) -> datetime:
    """``start`` plus ``period``, months on the UTC calendar clamped to the month's end."""
    moment = start.astimezone(UTC)
    months = moment.month - 1 + period.months + 12 * period.years
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    moment = moment.replace(year=year, month=month, day=day)
    return moment + timedelta(days=period.days, seconds=period.seconds)


def _on_birthday(birth: date, year: int) -> date:
    """DESIGN: a 29 February birthday falls on 1 March in common years."""
    if birth.month == 2 and birth.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return birth.replace(year=year)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - (day < _on_birthday(birth, day.year))


def _age(birth: date, moment: datetime, zone: tzinfo | None) -> int:
    """DESIGN: the lower of the ages in UTC and in the zone of ``at``."""
    in_utc = _age_on(birth, moment.astimezone(UTC).date())
    local = _age_on(birth, moment.astimezone(zone).date()) if zone is not None else in_utc
    return min(in_utc, local)


def _birth(declaration: Event, zone: tzinfo | None) -> date:
    if isinstance(declaration, BirthDateDeclared):
        return declaration.birth_date
    assert isinstance(declaration, AgeDeclared)
    said = max(declaration.at.astimezone(UTC).date(), declaration.at.astimezone(zone).date())
    # The latest birth date with which the person is at least N on `said`.
    year = said.year - declaration.at_least
    candidate = date(year, said.month, min(said.day, calendar.monthrange(year, said.month)[1]))
    while _age_on(candidate, said) < declaration.at_least:
        candidate -= timedelta(days=1)
    return candidate


class _Question:
    """One decision, asked of the reference."""

    def __init__(
        self,
        policy: Policy,
        subject: Subject,
        purpose: Purpose,
        at: datetime,
        vendor: str | None,
        data: Sequence[str],
        collected_at: datetime | None,
        operation: Operation,
    ) -> None:
        self.policy = policy
        self.purpose = purpose
        self.at = at
        self.vendor = vendor
        self.data = tuple(data)
        self.collected = at if collected_at is None else collected_at
        self.fresh = collected_at is None
        self.operation = operation
        self.categories = subject.categories
        # DESIGN principle 4: a decision at `at` sees only events at or before `at`.
        self.events = [e for e in subject.events if e.at <= at]

    # -- the checks, in DESIGN's order -------------------------------------------------

    def decide(self) -> tuple[bool, ReasonCode]:
        try:
            code = self._run()
        except Denied as denied:
            return False, denied.code
        return True, code

    def _run(self) -> ReasonCode:
        purpose = self.purpose
        basis = purpose.basis
        self._scope()
        last_erasure = self._last_erasure()
        # Art. 17(1), 17(3)(b): data collected at or before an erasure is gone, unless a
        # legal obligation keeps it.
        if (
            last_erasure is not None
            and basis is not LegalBasis.LEGAL_OBLIGATION
            and self.collected <= last_erasure
        ):
            raise Denied(R.ERASED)
        # Art. 18(2): while restricted, nothing but storage.
        restriction = _latest(
            e
            for e in self.events
            if isinstance(e, RestrictionRequested | RestrictionLifted)
            and e.purpose in (None, purpose.id)
        )
        if isinstance(restriction, RestrictionRequested) and self.operation is not Operation.STORE:
            raise Denied(R.RESTRICTED)
        rules = self.policy.age
        # Art. 8 is about consent; a rule over every purpose still never stops a legal
        # obligation or vital interests (CHANGELOG, decision behaviour; DESIGN says "every").
        if basis is LegalBasis.CONSENT or (
            rules.scope is AgeScope.ALL_PURPOSES and basis not in _AGE_EXEMPT
        ):
            self._age_now()
        self._opt_out()
        primary: ReasonCode | None = None
        # Art. 21(1): bases (e) and (f); Art. 21(2)-(3): direct marketing on any basis
        # (under consent the objection is a withdrawal instead).
        if basis in (LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK) or (
            purpose.direct_marketing and basis is not LegalBasis.CONSENT
        ):
            primary = self._objection()
        if not self.fresh:
            limit = self._retention_limit()
            if limit is not None and self.at >= limit:
                raise Denied(R.RETENTION_EXCEEDED)
        if basis is LegalBasis.CONSENT:
            code = self._consent()
        elif basis is LegalBasis.CONTRACT:
            code = self._contract()
        else:
            code = _DECLARED[basis]
        if (
            purpose.device_access
            and basis is not LegalBasis.CONSENT
            and not purpose.strictly_necessary
        ):
            # ePrivacy Art. 5(3): reading or writing the device needs consent.
            try:
                self._consent()
            except Denied:
                raise Denied(R.DEVICE_ACCESS_CONSENT_REQUIRED) from None
        return primary or code

    def _scope(self) -> None:
        purpose = self.purpose
        if purpose.processor_only:
            raise Denied(R.PROCESSOR_ONLY)
        if purpose.subjects:
            if self.categories is None:
                if self.policy.unknown_subject_category is UnknownSubjectCategory.DENY:
                    raise Denied(R.SUBJECT_NOT_COVERED)
            elif not set(self.categories) & set(purpose.subjects):
                raise Denied(R.SUBJECT_NOT_COVERED)
        if self.vendor is not None and self.vendor not in purpose.vendors:
            raise Denied(R.VENDOR_NOT_DECLARED)
        if any(d not in purpose.data for d in self.data):
            raise Denied(R.DATA_CATEGORY_NOT_DECLARED)

    def _last_erasure(self) -> datetime | None:
        return max((e.at for e in self.events if isinstance(e, Erasure)), default=None)

    def _birth_on_record(self) -> date | None:
        """The birth date the latest declaration implies; of several at that instant, the
        youngest (the more restrictive).
        """
        said = [e for e in self.events if isinstance(e, BirthDateDeclared | AgeDeclared)]
        if not said:
            return None
        last = max(e.at for e in said)
        return max(_birth(e, self.at.tzinfo) for e in said if e.at == last)

    def _parental_in_force(self, moment: datetime) -> bool:
        latest = _latest(
            e
            for e in self.events
            if isinstance(e, ParentalConsentGiven | ParentalConsentWithdrawn)
            and e.at <= moment
            and e.purpose in (None, self.purpose.id)
        )
        return isinstance(latest, ParentalConsentGiven)

    def _age_now(self) -> None:
        rules = self.policy.age
        if rules.minimum_age is None and rules.parental_consent_age is None:
            return
        birth = self._birth_on_record()
        if birth is None:
            if rules.unknown_age is UnknownAge.DENY:
                raise Denied(R.AGE_UNKNOWN)
            return
        age = _age(birth, self.at, self.at.tzinfo)
        if rules.minimum_age is not None and age < rules.minimum_age:
            raise Denied(R.BELOW_MINIMUM_AGE)
        limit = rules.parental_consent_age
        if limit is not None and age <= limit and not self._parental_in_force(self.at):
            raise Denied(R.PARENTAL_CONSENT_REQUIRED)

    def _opt_out(self) -> None:
        declared = set(self.policy.opt_out_scopes) | {"all"}
        signals = [e for e in self.events if isinstance(e, OptOut | OptOutWithdrawn)]
        for scope in {e.scope for e in signals}:
            # An opt-out of "all", or of a scope the policy does not declare, stops
            # everything (Art. 21(5); fail closed).
            if scope in self.purpose.opt_out_scopes or scope == "all" or scope not in declared:
                latest = _latest(e for e in signals if e.scope == scope)
                if isinstance(latest, OptOut):
                    raise Denied(R.OPTED_OUT)

    def _objection(self) -> ReasonCode | None:
        """Art. 21: the objection in force, and an admissible override after it."""
        pid = self.purpose.id
        latest = _latest(
            e
            for e in self.events
            if isinstance(e, Objection | ObjectionWithdrawn) and e.purpose in (None, pid)
        )
        if not isinstance(latest, Objection):
            return None
        if self.purpose.direct_marketing:
            raise Denied(R.OBJECTED)  # Art. 21(3): absolute
        overridden = any(
            isinstance(e, ObjectionOverridden) and e.purpose == pid and e.at > latest.at
            for e in self.events
        )
        if overridden and self.purpose.override_admissible:
            return R.COMPELLING_GROUNDS
        if self.operation is Operation.STORE:
            return None  # Art. 18(1)(d): restricted meanwhile, and storage survives that
        raise Denied(R.OBJECTED)

    def _retention_limit(self) -> datetime | None:
        retention = self.purpose.retention
        limits: list[datetime] = []
        for rule in retention.rules:
            limit: datetime | None
            if isinstance(rule, AfterCollection):
                limit = _plus(self.collected, rule.period)
            elif isinstance(rule, AfterLastInteraction):
                last = max(
                    (
                        e.at
                        for e in self.events
                        if isinstance(e, Interaction)
                        and e.kind in rule.kinds
                        and e.purpose in (None, self.purpose.id)
                    ),
                    default=None,
                )
                if last is None:
                    continue  # applies once such an interaction is on record
                limit = _plus(max(last, self.collected), rule.period)
            elif isinstance(rule, SessionEnd):
                limit = self._session_end(rule.inactivity)
            else:
                assert isinstance(rule, NoPeriodStated)
                limit = None
            if retention.combine is RetentionCombine.FIRST:
                return limit
            if limit is not None:
                limits.append(limit)
        return min(limits, default=None)

    def _session_end(self, inactivity: Duration) -> datetime:
        """The session that collected the data ends ``inactivity`` after its last interaction."""
        gap = timedelta(days=inactivity.days, seconds=inactivity.seconds)
        last = self.collected
        interactions = [e.at for e in self.events if isinstance(e, Interaction)]
        for moment in sorted(m for m in interactions if m >= self.collected):
            if moment - last >= gap:
                break
            last = max(last, moment)
        return last + gap

    def _contract(self) -> ReasonCode:
        timeline = [e for e in self.events if isinstance(e, ContractStarted | ContractEnded)]
        for contract in {e.contract for e in timeline}:
            latest = _latest(e for e in timeline if e.contract == contract)
            if isinstance(latest, ContractStarted):
                return R.CONTRACT
        raise Denied(R.NO_CONTRACT)

    # -- consent -----------------------------------------------------------------------

    def _consent_events(self, vendor: str | None) -> list[Event]:
        """The consent timeline of the purpose (vendor ``None``: purpose-wide)."""
        pid = self.purpose.id
        out: list[Event] = [
            e
            for e in self.events
            if isinstance(e, ConsentGiven | ConsentWithdrawn)
            and e.purpose == pid
            and e.vendor == vendor
        ]
        if vendor is None:
            # DESIGN 7: an objection to a consent purpose counts as a withdrawal.
            out += [e for e in self.events if isinstance(e, Objection) and e.purpose in (None, pid)]
        return out

    def _deciding(self) -> list[list[Event]]:
        """For each needed vendor, the events tied at the deciding instant (empty: none)."""
        purpose = self.purpose
        needed = (self.vendor,) if self.vendor is not None else purpose.vendors
        wide = self._consent_events(None)
        if purpose.per_vendor_consent and needed:
            # The later of the purpose-wide and the vendor's own event wins.
            return [_ties([*wide, *self._consent_events(v)]) for v in needed]
        deciding = _ties(wide)
        last = deciding[0] if deciding else None
        for vendor in needed:
            for event in self._consent_events(vendor):
                later = last is None or (event.at, _RESTRICTIVE[type(event)]) > (
                    last.at,
                    _RESTRICTIVE[type(last)],
                )
                if isinstance(event, ConsentWithdrawn) and later:
                    deciding, last = [event], event
        return [deciding]

    def _consent(self) -> ReasonCode:
        for tied in self._deciding():
            if not tied:
                raise Denied(R.NO_CONSENT)
            grants = [e for e in tied if isinstance(e, ConsentGiven)]
            if len(grants) < len(tied):
                raise Denied(R.CONSENT_WITHDRAWN)
            self._judge(grants)
        return R.CONSENT_GIVEN

    def _judge(self, grants: list[ConsentGiven]) -> None:
        """DESIGN 9: "must be a grant, not expired, not stale, and explicit" — each check in
        that order over every grant given at the deciding instant (all of them must hold).
        """
        purpose = self.purpose
        last_erasure = self._last_erasure()
        if last_erasure is not None and any(g.at <= last_erasure for g in grants):
            raise Denied(R.ERASED)  # a consent strictly after the erasure is needed
        lifetime = purpose.consent_lifetime
        if lifetime is not None and any(self.at >= _plus(g.at, lifetime) for g in grants):
            raise Denied(R.CONSENT_EXPIRED)
        if any(self._stale(g) for g in grants):
            raise Denied(R.CONSENT_STALE)
        explicit_needed = (
            purpose.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT
        )
        if explicit_needed and not all(g.explicit for g in grants):
            raise Denied(R.EXPLICIT_CONSENT_REQUIRED)
        rules = self.policy.age
        birth = self._birth_on_record()
        if birth is None or (rules.minimum_age is None and rules.parental_consent_age is None):
            return
        # Art. 8(1): a child's consent without parental consent never becomes valid.
        given_at = grants[0].at  # tied: one instant
        age = _age(birth, given_at, self.at.tzinfo)
        if rules.minimum_age is not None and age < rules.minimum_age:
            raise Denied(R.BELOW_MINIMUM_AGE)
        limit = rules.parental_consent_age
        if limit is not None and age <= limit and not self._parental_in_force(given_at):
            raise Denied(R.PARENTAL_CONSENT_REQUIRED)

    def _stale(self, grant: ConsentGiven) -> bool:
        """Art. 4(11): the current terms go beyond the terms consented to."""
        policy, purpose = self.policy, self.purpose
        old: PurposeTerms | None = grant.terms
        if grant.policy_version is not None and grant.policy_version != policy.version:
            earlier = [v for v in policy.previous_versions if v.version == grant.policy_version]
            if not earlier:
                return True  # a version the policy does not know
            if old is None:
                if purpose.id not in earlier[0].purposes:
                    return True
                old = earlier[0].purposes[purpose.id]
        if old is None:
            return False
        new = purpose.terms
        return bool(
            new.vendors - old.vendors
            or new.data - old.data
            or new.basis is not old.basis
            or new.statement != old.statement
        )


def _ties(events: Sequence[Event]) -> list[Event]:
    """The events at the latest instant and the highest restrictiveness there."""
    latest = _latest(events)
    if latest is None:
        return []
    rank = _RESTRICTIVE[type(latest)]
    return [e for e in events if e.at == latest.at and _RESTRICTIVE[type(e)] == rank]


def decide(
    policy: Policy,
    subject: Subject,
    purpose_id: str,
    at: datetime,
    *,
    vendor: str | None = None,
    data: Sequence[str] = (),
    collected_at: datetime | None = None,
    operation: Operation = Operation.USE,
) -> tuple[bool, ReasonCode]:
    """``(allowed, primary code)`` by DESIGN's rules, the slow way."""
    purpose = next((p for p in policy.purposes if p.id == purpose_id), None)
    if purpose is None:
        return False, R.UNKNOWN_PURPOSE
    question = _Question(policy, subject, purpose, at, vendor, data, collected_at, operation)
    return question.decide()
