"""A deliberately simple, slow reference for the decision, written from the design text alone.

No index, no integer instants, nothing kept between questions: every question
scans all of the subject's events with aware ``datetime`` arithmetic. It answers
``(allowed, primary code)`` and is compared with :func:`lawful.may_process` in
``tests/properties/test_differential.py``. It shares no code with ``lawful._engine``.

The checks run in the documented order (``docs/explanation/decision.md``): scope,
transfers, erasure, restriction, age, opt-out and objection, retention, basis,
device access. Readings where the text leaves a choice (the engine must agree):

- *Seen and in effect.* A decision at ``at`` sees the events whose ``at`` is at or
  before it. A grant (consent, transfer consent and parental consent given, a
  contract started, an objection withdrawn or overridden, a restriction lifted, an
  opt-out withdrawn) takes effect at the later of its ``at`` and ``recorded_at``;
  every other event at its ``at``. At one instant of effect the more restrictive event
  wins. A consent is *given* at its ``at``: its lifetime, its version, the age of the
  person who gave it and "given after" an erasure or a restriction count from there.
- *Affirmative.* A consent or transfer consent by a method that is not affirmative
  (a pre-ticked box, silence, inactivity) is no event at all.
- *Consent timeline.* A purpose's consent events (per needed vendor where consent is
  per vendor: the purpose-wide and that vendor's own; otherwise purpose-wide grants
  and any needed vendor's withdrawal). On a consent purpose that is not direct
  marketing, every objection to it and every opt-out that reaches it is a withdrawal
  there, and stays one after it is itself withdrawn (a new consent is needed).
- *Opt-out reach.* A scope covers a purpose when the purpose lists it, it is
  ``"all"``, or the policy does not declare it. It reaches a purpose Art. 21 reaches
  (direct marketing, or a basis other than contract, legal obligation and vital
  interests) that it covers, and a purpose on those three bases only when the policy
  declares the scope and the purpose lists it. Opt-outs are checked before
  objections; an opt-out denies ``OPTED_OUT`` on every basis and every operation
  (no override, no storage period), and on a consent purpose it is lifted by a later
  (in effect strictly after it) affirmative consent to the purpose, for any vendor.
- *Objection.* On direct marketing with consent as its basis, the same later consent
  lifts it. Storage during a pending, admissible override is allowed while
  ``at`` < objection + 1 month (calendar month in UTC), counted from the first objection
  since the latest withdrawal of one or override (objecting again does not restart it).
- *Erasure.* Check 4 denies ``ERASED`` when a consent deciding at ``at`` (any needed
  vendor) was given at or before the last erasure; a decision with no consent, or a
  withdrawal, passes to check 9. Erasure does not touch transfer or parental consent.
- *Restriction.* A declared Art. 18(2) exception lets every operation through; so
  does a consent to the purpose given strictly after the restriction that still
  decides at ``at`` (for every needed vendor).
- *Age.* Sections: with ``AgeRules.sections`` set, a purpose without a section is
  covered. Check 6 (at ``at``) covers consent purposes, and every purpose but legal
  obligation and vital interests under ``ALL_PURPOSES``. The child's-consent step of
  check 9 applies to every consent judged (the device-access consent too) in a
  covered section: a consent given below the minimum age never counts; one given in
  the parental band counts while a parental consent is in force at ``at`` (still in
  the band) or was in force at some instant from the consent until the band is left.
  Check 6 also asks, for stored data, that a person in the band at ``collected_at``
  had a parental consent in force then (and was not below the minimum age). With
  several records the youngest birth counts; "at least N"
  at ``t`` is a birth on the latest day making N true on the later of ``t``'s UTC date
  and its date in the zone of ``at``.
- *Stored data.* In force at ``collected_at`` means: a grant decides there, unexpired,
  and given after any erasure before it (else ``NO_CONSENT``); then no withdrawal in
  effect in (``collected_at``, ``at``] (else ``CONSENT_WITHDRAWN``); per vendor, in
  the order the query names them.
- *Versions.* An unversioned consent is judged under the version whose
  ``effective_from`` is the latest at or before its ``at``; when none qualifies (no
  version states one, or the consent is older than all that do), the controller cannot
  show which text was consented to, so it is judged under every version that may have
  been in force then (each undated one; where all are dated, the earliest) and is
  stale if any of them falls short: the oldest among them included, whatever the
  listing order.
- *Transfers.* A derogation without a ground is no safeguard.
- Calendar months and years are counted on the UTC calendar (limits are instants).
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
    TransferConsentGiven,
    TransferConsentWithdrawn,
    TransferDerogation,
    TransferMechanism,
    UnknownAge,
    UnknownSubjectCategory,
)

__all__ = ["GRANTS", "Denied", "decide", "effective"]

R = ReasonCode
GRANTS = (
    ConsentGiven,
    TransferConsentGiven,
    ParentalConsentGiven,
    ContractStarted,
    ObjectionWithdrawn,
    ObjectionOverridden,
    RestrictionLifted,
    OptOutWithdrawn,
)
"""Events that can only give a permission: in effect from max(at, recorded_at)."""
_RESTRICTIVE = (
    ConsentWithdrawn,
    TransferConsentWithdrawn,
    ParentalConsentWithdrawn,
    ContractEnded,
    Objection,
    RestrictionRequested,
    Erasure,
    OptOut,
)
_CONTRACT_GROUNDS = (TransferDerogation.CONTRACT, TransferDerogation.CONTRACT_IN_INTEREST)
_NOT_REACHED = (LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION, LegalBasis.VITAL_INTERESTS)
_DECLARED = {
    LegalBasis.LEGITIMATE_INTERESTS: R.LEGITIMATE_INTEREST,
    LegalBasis.LEGAL_OBLIGATION: R.LEGAL_OBLIGATION,
    LegalBasis.VITAL_INTERESTS: R.VITAL_INTERESTS,
    LegalBasis.PUBLIC_TASK: R.PUBLIC_TASK,
}
_MONTH = Duration(months=1)


class Denied(Exception):  # noqa: N818 - the answer, not an error
    """A check failed with ``code``."""

    def __init__(self, code: ReasonCode) -> None:
        super().__init__(code.value)
        self.code = code


def effective(event: Event) -> datetime:
    """When ``event`` takes effect: a grant never before it was recorded."""
    if isinstance(event, GRANTS) and event.recorded_at is not None:
        return max(event.at, event.recorded_at)
    return event.at


def _counts(event: Event) -> bool:
    """Whether the event exists for the decision (a non-affirmative consent does not)."""
    if isinstance(event, ConsentGiven | TransferConsentGiven):
        return event.method.affirmative
    return True


def _key(event: Event) -> tuple[datetime, int]:
    """The person's choices count in the order they were made (``at``): a grant recorded
    late only starts later, it never outranks a withdrawal made after it.
    """
    return event.at, 1 if isinstance(event, _RESTRICTIVE) else 0


def _deciding(events: Iterable[Event], moment: datetime) -> list[Event]:
    """The events in effect at ``moment`` that decide: the latest, the more restrictive at
    one instant (all of them when several tie).
    """
    live = [e for e in events if effective(e) <= moment]
    if not live:
        return []
    top = max(_key(e) for e in live)
    return [e for e in live if _key(e) == top]


def _in_force(events: Iterable[Event], moment: datetime) -> bool:
    """Whether the deciding events at ``moment`` are grants."""
    found = _deciding(events, moment)
    return bool(found) and not any(isinstance(e, _RESTRICTIVE) for e in found)


def _plus(start: datetime, period: Duration) -> datetime:
    """``start`` plus ``period``, months on the UTC calendar clamped to the month's end."""
    moment = start.astimezone(UTC)
    months = moment.month - 1 + period.months + 12 * period.years
    year, month = moment.year + months // 12, months % 12 + 1
    if year > 9999:
        return datetime.max.replace(tzinfo=UTC)  # never reached
    day = min(moment.day, calendar.monthrange(year, month)[1])
    moment = moment.replace(year=year, month=month, day=day)
    try:
        return moment + timedelta(days=period.days, seconds=period.seconds)
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def _on_birthday(birth: date, year: int) -> date:
    """A 29 February birthday falls on 1 March in common years."""
    if birth.month == 2 and birth.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return birth.replace(year=year)


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - (day < _on_birthday(birth, day.year))


def _age(birth: date, moment: datetime, zone: tzinfo | None) -> int:
    """The lower of the ages in UTC and in the zone of ``at``."""
    in_utc = _age_on(birth, moment.astimezone(UTC).date())
    local = _age_on(birth, moment.astimezone(zone).date()) if zone is not None else in_utc
    return min(in_utc, local)


def _birth(declaration: BirthDateDeclared | AgeDeclared, zone: tzinfo | None) -> date:
    if isinstance(declaration, BirthDateDeclared):
        return declaration.birth_date
    when = declaration.at
    said = max(when.astimezone(UTC).date(), when.astimezone(zone).date())
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
        self.zone = at.tzinfo
        self.vendor = vendor
        self.data = tuple(data)
        self.collected = at if collected_at is None else collected_at
        self.operation = operation
        self.categories = subject.categories
        # docs/explanation/decision.md: a decision at `at` sees only events at or before `at`.
        self.events = [e for e in subject.events if e.at <= at and _counts(e)]
        self.needed = (vendor,) if vendor is not None else purpose.vendors

    def of(self, *kinds: type[Event]) -> list[Event]:
        return [e for e in self.events if isinstance(e, kinds)]

    def for_me(self, *kinds: type[Event]) -> list[Event]:
        """Events of ``kinds`` about this purpose or every purpose."""
        pid = self.purpose.id
        return [e for e in self.of(*kinds) if getattr(e, "purpose", None) in (None, pid)]

    @property
    def last_erasure(self) -> datetime | None:
        return max((e.at for e in self.of(Erasure)), default=None)

    # -- the checks, in order ----------------------------------------------------------

    def decide(self) -> tuple[bool, ReasonCode]:
        try:
            code = self._run()
        except Denied as denied:
            return False, denied.code
        return True, code

    def _run(self) -> ReasonCode:
        purpose, basis = self.purpose, self.purpose.basis
        self._scope()
        self._transfers()
        self._erasure()
        self._restriction()
        if self._age_covers() and (
            basis is LegalBasis.CONSENT
            or (
                self.policy.age.scope is AgeScope.ALL_PURPOSES
                and basis not in (LegalBasis.LEGAL_OBLIGATION, LegalBasis.VITAL_INTERESTS)
            )
        ):
            self._age_now()
        primary = self._opt_out_and_objection()
        limit = self._retention_limit()
        if limit is not None and self.at >= limit:
            raise Denied(R.RETENTION_EXCEEDED)
        if basis is LegalBasis.CONSENT:
            self._consent()
            code = R.CONSENT_GIVEN
        elif basis is LegalBasis.CONTRACT:
            if not self._contract_in_force():
                raise Denied(R.NO_CONTRACT)
            code = R.CONTRACT
        else:
            code = _DECLARED[basis]
        if (
            purpose.device_access
            and not purpose.strictly_necessary
            and basis is not (LegalBasis.CONSENT)
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

    def _transfers(self) -> None:
        """Chapter V: every vendor involved outside the EEA needs a safeguard that holds."""
        by_id = {v.id: v for v in self.policy.vendors}
        for vendor_id in self.needed:
            vendor = by_id[vendor_id]
            if not vendor.outside_eea:
                continue
            if vendor.transfer in (
                TransferMechanism.ADEQUACY,
                TransferMechanism.STANDARD_CONTRACTUAL_CLAUSES,
                TransferMechanism.BINDING_CORPORATE_RULES,
            ):
                continue
            if vendor.transfer is not TransferMechanism.DEROGATION or vendor.derogation is None:
                raise Denied(R.TRANSFER_SAFEGUARD_MISSING)  # Art. 44, 46(1)
            if vendor.derogation is TransferDerogation.EXPLICIT_CONSENT:
                mine = [
                    e
                    for e in self.for_me(TransferConsentGiven, TransferConsentWithdrawn)
                    if getattr(e, "vendor", None) == vendor_id
                ]
                if not _in_force(mine, self.at):
                    raise Denied(R.TRANSFER_SAFEGUARD_MISSING)  # Art. 49(1)(a)
            elif vendor.derogation in _CONTRACT_GROUNDS and not self._contract_in_force():
                raise Denied(R.TRANSFER_SAFEGUARD_MISSING)  # Art. 49(1)(b)-(c)

    def _erasure(self) -> None:
        last = self.last_erasure
        if last is None:
            return
        basis = self.purpose.basis
        # Art. 17(1), 17(3)(b): data collected at or before an erasure is gone, unless a
        # legal obligation keeps it.
        if basis is not LegalBasis.LEGAL_OBLIGATION and self.collected <= last:
            raise Denied(R.ERASED)
        if basis is LegalBasis.CONSENT:
            for tied in self._deciding_per_vendor(self.at):
                grants = [e for e in tied if isinstance(e, ConsentGiven)]
                if len(grants) == len(tied) and any(g.at <= last for g in grants):
                    raise Denied(R.ERASED)

    def _restriction(self) -> None:
        found = _deciding(self.for_me(RestrictionRequested, RestrictionLifted), self.at)
        if not found or not isinstance(found[0], RestrictionRequested):
            return
        if self.operation is Operation.STORE or self.purpose.restriction_exceptions:
            return  # Art. 18(2): storage, and the exceptions the purpose declares
        since = found[0].at
        deciding = self._deciding_per_vendor(self.at)
        if all(
            tied and all(isinstance(e, ConsentGiven) and e.at > since for e in tied)
            for tied in deciding
        ):
            return  # Art. 18(2): the person's consent given after the restriction
        raise Denied(R.RESTRICTED)

    # -- age -----------------------------------------------------------------------

    def _age_covers(self) -> bool:
        rules = self.policy.age
        if rules.minimum_age is None and rules.parental_consent_age is None:
            return False
        # A purpose that names no section may belong to any: covered (protective).
        section = self.purpose.section
        return not rules.sections or section is None or section in rules.sections

    def _birth_on_record(self) -> date | None:
        """The youngest birth any record implies: a later claim never raises the age."""
        said = [e for e in self.events if isinstance(e, BirthDateDeclared | AgeDeclared)]
        return max((_birth(e, self.zone) for e in said), default=None)

    def _age_at(self, birth: date, moment: datetime) -> int:
        return _age(birth, moment, self.zone)

    def _parental_at(self, moment: datetime) -> bool:
        return _in_force(self.for_me(ParentalConsentGiven, ParentalConsentWithdrawn), moment)

    def _age_now(self) -> None:
        rules = self.policy.age
        birth = self._birth_on_record()
        if birth is None:
            if rules.unknown_age is UnknownAge.DENY:
                raise Denied(R.AGE_UNKNOWN)
            return
        age = self._age_at(birth, self.at)
        stored = self.collected < self.at
        # Step 6: the minimum age (now, then at collection), then the parental band (now,
        # then at collection: stored data collected from a child needed the rules then).
        minimum, band = rules.minimum_age, rules.parental_consent_age
        if minimum is not None and age < minimum:
            raise Denied(R.BELOW_MINIMUM_AGE)
        if stored and minimum is not None and self._age_at(birth, self.collected) < minimum:
            raise Denied(R.BELOW_MINIMUM_AGE)
        if band is not None and age <= band and not self._parental_at(self.at):
            raise Denied(R.PARENTAL_CONSENT_REQUIRED)
        if (
            stored
            and band is not None
            and self._age_at(birth, self.collected) <= band
            and not self._parental_at(self.collected)
        ):
            raise Denied(R.PARENTAL_CONSENT_REQUIRED)

    def _child(self, grants: Sequence[ConsentGiven]) -> None:
        """Art. 8(1): a child's consent counts once "given or authorised" by a parent."""
        rules = self.policy.age
        birth = self._birth_on_record()
        if birth is None or not self._age_covers():
            return
        band = rules.parental_consent_age
        for grant in grants:
            age = self._age_at(birth, grant.at)
            if rules.minimum_age is not None and age < rules.minimum_age:
                raise Denied(R.BELOW_MINIMUM_AGE)
            if band is None or age > band:
                continue
            if self._age_at(birth, self.at) <= band:
                authorised = self._parental_at(self.at)
            else:  # past the band: a parental consent in force before leaving it
                starts = [grant.at] + [
                    effective(e)
                    for e in self.for_me(ParentalConsentGiven)
                    if grant.at < effective(e) <= self.at
                ]
                authorised = any(
                    self._age_at(birth, t) <= band and self._parental_at(t) for t in starts
                )
            if not authorised:
                raise Denied(R.PARENTAL_CONSENT_REQUIRED)

    # -- opt-out and objection (Art. 21) -------------------------------------------------

    def _reaches(self, scope: str) -> bool:
        purpose, declared = self.purpose, self.policy.opt_out_scopes
        listed = scope in purpose.opt_out_scopes
        if purpose.direct_marketing or purpose.basis not in _NOT_REACHED:
            return listed or scope == "all" or scope not in declared
        return listed and scope in declared  # the controller's own promise binds

    def _opt_outs(self) -> list[OptOut]:
        """Opt-outs that reach the purpose, in force or not."""
        return [e for e in self.of(OptOut) if isinstance(e, OptOut) and self._reaches(e.scope)]

    def _later_consent(self, since: datetime) -> bool:
        """Whether a consent that counts for the purpose (purpose-wide; per vendor, one for
        every vendor needed) was given strictly after ``since`` and is in effect at ``at``.
        """

        def given(vendor: str | None) -> bool:
            return any(
                isinstance(e, ConsentGiven)
                and e.purpose == self.purpose.id
                and e.vendor == vendor
                and since < e.at
                and effective(e) <= self.at
                for e in self.events
            )

        if given(None):
            return True
        needed = self.needed
        return self.purpose.per_vendor_consent and bool(needed) and all(map(given, needed))

    def _opt_out_and_objection(self) -> ReasonCode | None:
        purpose = self.purpose
        consent = purpose.basis is LegalBasis.CONSENT
        for scope in sorted({e.scope for e in self._opt_outs()}):
            signals = [
                e for e in self.of(OptOut, OptOutWithdrawn) if getattr(e, "scope", None) == scope
            ]
            found = _deciding(signals, self.at)
            lifted = consent and bool(found) and self._later_consent(found[0].at)
            if found and isinstance(found[0], OptOut) and not lifted:
                raise Denied(R.OPTED_OUT)  # Art. 21(5); Art. 7(3) on consent
        if not purpose.direct_marketing and purpose.basis in _NOT_REACHED:
            return None  # Art. 21 does not reach it
        if consent and not purpose.direct_marketing:
            return None  # the objection is a withdrawal of consent (see _timeline)
        found = _deciding(self.for_me(Objection, ObjectionWithdrawn), self.at)
        if not found or not isinstance(found[0], Objection):
            return None
        objected = found[0].at
        if purpose.direct_marketing:  # Art. 21(3): absolute
            if consent and self._later_consent(objected):
                return None
            raise Denied(R.OBJECTED)
        if purpose.override_admissible:
            overridden = any(
                isinstance(e, ObjectionOverridden)
                and e.purpose == purpose.id
                and objected < e.at
                and effective(e) <= self.at
                for e in self.events
            )
            if overridden:
                return R.COMPELLING_GROUNDS
            if self.operation is Operation.STORE and self.at < _plus(self._pending_since(), _MONTH):
                return None  # Art. 18(1)(d), 12(3): storage while the override is decided
        raise Denied(R.OBJECTED)

    def _pending_since(self) -> datetime:
        """The first objection still standing: made at or after the latest withdrawal of
        an objection and the latest override (an objection wins a tie). Art. 12(3): the
        month runs from the request; objecting again does not restart it.
        """
        stops = [
            e.at
            for e in [
                *self.for_me(ObjectionWithdrawn),
                *(
                    e
                    for e in self.of(ObjectionOverridden)
                    if getattr(e, "purpose", None) == self.purpose.id
                ),
            ]
            if effective(e) <= self.at
        ]
        bound = max(stops, default=None)
        return min(
            e.at
            for e in self.for_me(Objection)
            if e.at <= self.at and (bound is None or e.at >= bound)
        )

    # -- retention -----------------------------------------------------------------

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
                        for e in self.for_me(Interaction)
                        if isinstance(e, Interaction)
                        and e.kind in rule.kinds
                        and e.at >= self.collected  # no reply to data not yet collected
                    ),
                    default=None,
                )
                if last is None:
                    continue  # applies once such an interaction is on record
                limit = _plus(last, rule.period)
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
        # In UTC: an inactivity is elapsed time, not wall-clock time (a clock change in
        # the zone the data was collected in moves no deadline).
        last = self.collected.astimezone(UTC)
        for moment in sorted(
            e.at.astimezone(UTC) for e in self.of(Interaction) if e.at >= self.collected
        ):
            if moment - last >= gap:
                break
            last = max(last, moment)
        return last + gap

    def _contract_in_force(self) -> bool:
        timeline = self.of(ContractStarted, ContractEnded)
        ids = {getattr(e, "contract", "") for e in timeline}
        return any(
            _in_force([e for e in timeline if getattr(e, "contract", "") == c], self.at)
            for c in ids
        )

    # -- consent -----------------------------------------------------------------------

    def _timeline(self, vendor: str | None) -> list[Event]:
        """The consent events of the purpose: purpose-wide (``None``) or one vendor's own."""
        pid = self.purpose.id
        out = [
            e
            for e in self.of(ConsentGiven, ConsentWithdrawn)
            if getattr(e, "purpose", None) == pid and getattr(e, "vendor", None) == vendor
        ]
        purpose = self.purpose
        if vendor is None and purpose.basis is LegalBasis.CONSENT and not purpose.direct_marketing:
            # An objection, or an opt-out reaching it, withdraws consent (Art. 7(3)).
            out += self.for_me(Objection)
            out += self._opt_outs()
        return out

    def _timelines(self) -> list[list[Event]]:
        """For each needed vendor (or the purpose once), the events that decide consent."""
        wide = self._timeline(None)
        if self.purpose.per_vendor_consent and self.needed:
            return [[*wide, *self._timeline(v)] for v in self.needed]
        withdrawals = [
            e for v in self.needed for e in self._timeline(v) if isinstance(e, ConsentWithdrawn)
        ]
        return [[*wide, *withdrawals]]

    def _deciding_per_vendor(self, moment: datetime) -> list[list[Event]]:
        return [_deciding(line, moment) for line in self._timelines()]

    def _consent(self) -> None:
        """Check 9 for consent, the failures in their documented order of precedence."""
        lines = self._timelines()
        deciding = [_deciding(line, self.at) for line in lines]
        for tied in deciding:
            self._at_decision(tied)
        if self.collected < self.at:
            for line in lines:
                self._at_collection(line)
        grants = [g for tied in deciding for g in tied if isinstance(g, ConsentGiven)]
        if any(self._stale(g) for g in grants):
            raise Denied(R.CONSENT_STALE)
        lifetime = self.purpose.consent_lifetime
        if lifetime is not None and any(self.at >= _plus(g.at, lifetime) for g in grants):
            raise Denied(R.CONSENT_EXPIRED)
        needs_explicit = (
            self.purpose.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT
        )
        if needs_explicit and not all(g.explicit for g in grants):
            raise Denied(R.EXPLICIT_CONSENT_REQUIRED)
        self._child(grants)
        last = self.last_erasure
        if last is not None and any(g.at <= last for g in grants):
            raise Denied(R.ERASED)  # device-access consent: given before an erasure

    @staticmethod
    def _at_decision(tied: list[Event]) -> None:
        if not tied:
            raise Denied(R.NO_CONSENT)
        if any(not isinstance(e, ConsentGiven) for e in tied):
            raise Denied(R.CONSENT_WITHDRAWN)

    def _at_collection(self, line: list[Event]) -> None:
        tied = _deciding(line, self.collected)
        grants = [e for e in tied if isinstance(e, ConsentGiven)]
        lifetime = self.purpose.consent_lifetime
        erased = max((e.at for e in self.of(Erasure) if e.at <= self.collected), default=None)
        if (
            not tied
            or len(grants) < len(tied)
            or (
                lifetime is not None
                and any(self.collected >= _plus(g.at, lifetime) for g in grants)
            )
            or (erased is not None and any(g.at <= erased for g in grants))
        ):
            raise Denied(R.NO_CONSENT)
        if any(
            isinstance(e, _RESTRICTIVE) and self.collected < effective(e) <= self.at for e in line
        ):
            raise Denied(R.CONSENT_WITHDRAWN)  # a re-consent covers only later data

    def _versions_of(self, grant: ConsentGiven) -> list[str]:
        """The versions a consent may have been given under; it must hold under each."""
        if grant.policy_version is not None:
            return [grant.policy_version]
        policy = self.policy
        known = [
            (policy.version, policy.effective_from),
            *((v.version, v.effective_from) for v in policy.previous_versions),
        ]
        in_force = [(start, name) for name, start in known if start is not None]
        in_force = [(start, name) for start, name in in_force if start <= grant.at]
        if in_force:
            return [max(in_force)[1]]
        undated = [name for name, start in known if start is None]
        if undated:
            return undated
        return [min((start, name) for name, start in known if start is not None)[1]]

    def _stale(self, grant: ConsentGiven) -> bool:
        """Art. 4(11): the current terms go beyond the terms consented to."""
        return any(self._stale_under(grant, v) for v in self._versions_of(grant))

    def _stale_under(self, grant: ConsentGiven, version: str) -> bool:
        policy, purpose = self.policy, self.purpose
        old: PurposeTerms | None = grant.terms
        if version != policy.version:
            earlier = [v for v in policy.previous_versions if v.version == version]
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
    """``(allowed, primary code)`` by the documented rules, the slow way."""
    purpose = next((p for p in policy.purposes if p.id == purpose_id), None)
    if purpose is None:
        return False, R.UNKNOWN_PURPOSE
    question = _Question(policy, subject, purpose, at, vendor, data, collected_at, operation)
    return question.decide()
