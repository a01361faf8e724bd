"""Laws of the corrected decision, each quoting the article it rests on.

They complement ``test_laws.py`` (which holds for every decision) with the rules of
the legal review: stored data, Art. 21's reach, ages, consent methods, late records,
transfers, versions and restriction. Cases come from :mod:`lawful.strategies`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs
from hypothesis import event, given
from hypothesis import strategies as st
from tests.properties._cases import UNDECLARED, Case, cases
from tests.reference import GRANTS, effective

from lawful import (
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    Decision,
    Event,
    LegalBasis,
    Operation,
    OptOut,
    ParentalConsentGiven,
    PolicyVersion,
    ReasonCode,
    RestrictionRequested,
    Subject,
    TransferConsentGiven,
    TransferMechanism,
)
from lawful import strategies as ls

_NOT_CONSENT = [m for m in ConsentMethod if not m.affirmative]
# Laws about consent purposes, or about the three bases Art. 21 does not reach, draw
# policies of those bases only: elsewhere most examples would not be about them.
_CONSENT_CASES = cases(policies=ls.policies(text=st.just(""), bases=[LegalBasis.CONSENT]))
_UNREACHED = (LegalBasis.CONTRACT, LegalBasis.LEGAL_OBLIGATION, LegalBasis.VITAL_INTERESTS)
_UNREACHED_CASES = cases(policies=ls.policies(text=st.just(""), bases=_UNREACHED))
_AGES = ls.age_rules().filter(lambda r: r.minimum_age is not None or r.parental_consent_age)
_AGE_CASES = cases(policies=ls.policies(text=st.just(""), age=_AGES))
_BEFORE = st.sampled_from(
    [timedelta(microseconds=1), timedelta(seconds=1), timedelta(days=1), timedelta(days=40)]
)
_LATER = st.sampled_from([timedelta(microseconds=1), timedelta(seconds=1), timedelta(days=1)])


def outcome(decision: Decision) -> tuple[bool, ReasonCode]:
    """What a law compares when the explanation may legitimately differ."""
    return decision.allowed, decision.code


def _with(case: Case, events: Sequence[Event]) -> Subject:
    return Subject(case.subject.id, events, categories=case.subject.categories)


@given(_CONSENT_CASES, _BEFORE, st.data())
def test_for_stored_data_a_consent_given_after_collection_never_allows(
    case: Case, before: timedelta, data: st.DataObject
) -> None:
    """Art. 6(1)(a) with Art. 4(2): collection is processing and needs its basis when it
    happens, so for data collected at ``collected_at`` a consent that takes effect only
    after it never allows (a re-consent covers only data collected after it).
    """
    purpose = data.draw(st.sampled_from(case.policy.purposes))
    collected = case.at - before
    kept = [
        e
        for e in case.subject.events
        if not (
            isinstance(e, ConsentGiven) and e.purpose == purpose.id and effective(e) <= collected
        )
    ]
    after = data.draw(st.sampled_from([collected + timedelta(microseconds=1), case.at]))
    given_ = ConsentGiven(at=after, purpose=purpose.id, explicit=True)
    asked = attrs.evolve(case, purpose=purpose.id, vendor=None, data=(), collected_at=collected)
    assert not asked.decide(subject=_with(asked, [*kept, given_])).allowed


_UNREACHING = st.sampled_from(["all", UNDECLARED])


@given(_UNREACHED_CASES, _UNREACHING, st.data())
def test_an_opt_out_never_changes_a_contract_legal_obligation_or_vital_interests_decision(
    case: Case, scope: str, data: st.DataObject
) -> None:
    """Art. 21(1)-(3), (5): the right to object reaches processing on Art. 6(1)(e) or (f)
    and direct marketing; an opt-out of ``"all"`` or of a scope the policy does not
    declare never changes a decision about a purpose on contract, legal obligation or
    vital interests that is not direct marketing.
    """
    targets = [p for p in case.policy.purposes if p.basis in _UNREACHED and not p.direct_marketing]
    if not targets:
        event("no purpose on contract, legal obligation or vital interests")
        return
    purpose = data.draw(st.sampled_from(targets))
    moment = data.draw(ls.instants(policy=case.policy, around=[*case.subject.events, case.at]))
    asked = attrs.evolve(case, purpose=purpose.id, vendor=None, data=())
    opted = asked.subject.add(OptOut(at=moment, scope=scope))
    assert outcome(asked.decide(subject=opted)) == outcome(asked.decide())


@given(_AGE_CASES, st.data())
def test_a_later_age_record_never_allows_more(case: Case, data: st.DataObject) -> None:
    """Art. 8(2) (reasonable efforts to verify age): with several records the lowest age
    counts, so a record made after another can only lower it, and never allows more.
    Stated without parental consent on record: one given while the new record says the
    person was still a child may then authorise their consent ("given or authorised",
    Art. 8(1)), which is allowing more for a reason other than age.
    """
    events = case.subject.events
    records = [e.at for e in events if isinstance(e, BirthDateDeclared | AgeDeclared)]
    if not records or any(isinstance(e, ParentalConsentGiven) for e in events):
        event("no age on record, or a parental consent")
        return
    moment = data.draw(
        ls.instants(policy=case.policy, around=[max(records), case.at]).filter(
            lambda t: t >= max(records)
        )
    )
    # Records on the policy's thresholds, and claims of an adult ("an unverified later
    # claim never raises it").
    claim = st.integers(16, 40).map(lambda n: AgeDeclared(at=moment, at_least=n))
    on_record = ls.events(
        policy=case.policy, at=st.just(moment), types=[BirthDateDeclared, AgeDeclared]
    )
    later = data.draw(st.one_of(on_record, claim))
    before, after = case.decide(), case.decide(subject=case.subject.add(later))
    assert after.allowed <= before.allowed
    policy, older = case.policy, case.subject.add(later)
    every_before = policy.decide_all(case.subject, case.at)
    for purpose_id, decision in policy.decide_all(older, case.at).items():
        assert decision.allowed <= every_before[purpose_id].allowed


@given(cases(), st.sampled_from(_NOT_CONSENT), st.data())
def test_a_pre_ticked_consent_changes_nothing(
    case: Case, method: ConsentMethod, data: st.DataObject
) -> None:
    """Art. 4(11) and recital 32 ("Silence, pre-ticked boxes or inactivity should not
    therefore constitute consent"; CJEU C-673/17 *Planet49*): a consent or transfer consent
    expressed that way, for any purpose or vendor at any instant, changes no decision.
    """
    moment = data.draw(ls.instants(policy=case.policy, around=[*case.subject.events, case.at]))
    drawn = data.draw(
        ls.events(
            policy=case.policy,
            at=st.just(moment),
            types=[ConsentGiven, TransferConsentGiven],
        )
    )
    assert isinstance(drawn, ConsentGiven | TransferConsentGiven)
    silent = attrs.evolve(drawn, method=method)
    assert case.decide(subject=case.subject.add(silent)) == case.decide()


@given(cases(), _LATER, st.data())
def test_a_back_dated_record_never_allows_earlier(
    case: Case, late: timedelta, data: st.DataObject
) -> None:
    """Conventions at the edges: "A record never back-dates a permission: a grant takes
    effect at the later of its `at` and its `recorded_at`" (Art. 5(2), 7(1): the
    controller must be able to show the permission when it relied on it). Until it was
    recorded, a grant decides as if it were not there.
    """
    grants = [
        i for i, e in enumerate(case.subject.events) if isinstance(e, GRANTS) and e.at <= case.at
    ]
    if not grants:
        event("no grant in effect")
        return
    index = data.draw(st.sampled_from(grants))
    events = list(case.subject.events)
    events[index] = attrs.evolve(events[index], recorded_at=case.at + late)
    without = events[:index] + events[index + 1 :]
    late_record, absent = _with(case, events), _with(case, without)
    assert outcome(case.decide(subject=late_record)) == outcome(case.decide(subject=absent))
    everything = [
        {pid: outcome(d) for pid, d in case.policy.decide_all(subject, case.at).items()}
        for subject in (late_record, absent)
    ]
    assert everything[0] == everything[1]


@given(cases())
def test_a_transfer_with_no_stated_safeguard_never_allows(case: Case) -> None:
    """Art. 44 and 46(1): a transfer outside the EEA needs a safeguard the controller can
    show; where the policy states none, no question involving that vendor is allowed
    (about its purpose as declared, or naming the vendor).
    """
    missing = {
        v.id
        for v in case.policy.vendors
        if v.outside_eea and v.transfer is TransferMechanism.NOT_STATED
    }
    for purpose in case.policy.purposes:
        for vendor in missing & set(purpose.vendors):
            event("a vendor with no stated safeguard")
            for named in (None, vendor):
                asked = attrs.evolve(case, purpose=purpose.id, vendor=named, data=())
                assert not asked.decide().allowed


@given(_CONSENT_CASES, _LATER, st.data())
def test_a_consent_without_a_version_never_covers_a_vendor_added_after_its_instant(
    case: Case, step: timedelta, data: st.DataObject
) -> None:
    """Art. 4(11) ("specific, informed") and 7(1) (the controller shows what was consented
    to): a consent that carries no version was given under the version in force at its
    instant, so a vendor the current version added later is not covered by it.
    """
    purposes = [p for p in case.policy.purposes if p.basis is LegalBasis.CONSENT and p.vendors]
    if not purposes:
        event("no consent purpose with vendors")
        return
    purpose = data.draw(st.sampled_from(purposes))
    added = data.draw(st.sampled_from(purpose.vendors))
    given_at = data.draw(ls.instants(policy=case.policy, around=[*case.subject.events, case.at]))
    old = PolicyVersion(
        version="before-" + added,
        purposes={purpose.id: attrs.evolve(purpose.terms, vendors=purpose.terms.vendors - {added})},
        effective_from=given_at - step,
    )
    policy = attrs.evolve(case.policy, previous_versions=(old,), effective_from=given_at + step)
    others = [
        e
        for e in case.subject.events
        if not (isinstance(e, ConsentGiven | ConsentWithdrawn) and e.purpose == purpose.id)
    ]
    consent = ConsentGiven(at=given_at, purpose=purpose.id, explicit=True)
    at = max(case.at, given_at)
    decision = policy.may_process(_with(case, [*others, consent]), purpose.id, at)
    assert not decision.allowed


@given(cases(), st.data())
def test_a_restriction_allows_nothing_but_storage_unless_an_exception_holds(
    case: Case, data: st.DataObject
) -> None:
    """Art. 18(2): while restricted, data "shall, with the exception of storage, only be
    processed with the data subject's consent or for the establishment, exercise or
    defence of legal claims or for the protection of the rights of another natural or
    legal person or for reasons of important public interest". Storage is decided as if
    there were no restriction; so is every operation of a purpose that declares one of
    those exceptions; anything else needs a consent given after the restriction.
    """
    moment = data.draw(
        ls.instants(policy=case.policy, around=[case.at]).filter(lambda t: t <= case.at)
    )
    mine = [effective(e) for e in case.subject.events if type(e).__name__.startswith("Restriction")]
    moment = max([moment, *(t for t in mine if t <= case.at)])  # the latest in effect
    restricted = case.subject.add(RestrictionRequested(at=moment))
    stored = attrs.evolve(case, operation=Operation.STORE)
    assert outcome(stored.decide(subject=restricted)) == outcome(stored.decide())
    if case.purpose not in case.policy.purpose_ids:
        return
    purpose = case.policy.purpose(case.purpose)
    consented_since = any(
        isinstance(e, ConsentGiven)
        and e.purpose == purpose.id
        and e.method.affirmative
        and moment < e.at <= case.at
        for e in case.subject.events
    )
    for operation in (Operation.COLLECT, Operation.USE, Operation.DISCLOSE):
        asked = attrs.evolve(case, operation=operation)
        decision = asked.decide(subject=restricted)
        if purpose.restriction_exceptions:
            event("an Art. 18(2) exception declared")
            assert outcome(decision) == outcome(asked.decide())
        elif not consented_since:
            assert not decision.allowed
