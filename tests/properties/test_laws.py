"""Laws of the decision: properties every answer of ``may_process`` keeps, whatever the policy.

Each law quotes the rule it checks (DESIGN.md, or the GDPR article). The cases
come from :mod:`lawful.strategies` through ``_cases.cases()``: valid policies of
every basis and rule kind, histories that fit them, instants on their limits.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs
from hypothesis import event, given
from hypothesis import strategies as st
from tests.properties._cases import UNDECLARED, Case, cases, in_effect, timeline
from tests.reference import effective

from lawful import (
    AfterCollection,
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    Decision,
    Duration,
    Erasure,
    Event,
    Interaction,
    LegalBasis,
    Objection,
    OptOut,
    Policy,
    Purpose,
    ReasonCode,
    RestrictionRequested,
    Retention,
    Subject,
    may_process,
)
from lawful import strategies as ls

SCOPE_CODES = {
    ReasonCode.PROCESSOR_ONLY,
    ReasonCode.SUBJECT_NOT_COVERED,
    ReasonCode.VENDOR_NOT_DECLARED,
    ReasonCode.DATA_CATEGORY_NOT_DECLARED,
}


def outcome(decision: Decision) -> tuple[bool, ReasonCode]:
    """What a law compares when the explanation may legitimately differ."""
    return decision.allowed, decision.code


@given(cases())
def test_every_decision_is_explained(case: Case) -> None:
    """DESIGN principle 3: "A Decision carries the legal basis, a reason code, a human
    sentence, the GDPR article, and what decided it: the event, or the policy clause"; no
    allow without a basis and a reason naming an event in effect or a policy clause. Checked
    for every purpose along the subject's timeline (see ``timeline``).
    """
    for decision in timeline(case):
        event(f"{'allowed' if decision else 'denied'}: {decision.code.value}")
        assert bool(decision) is decision.allowed
        assert decision.reasons
        assert decision.code.allows is decision.allowed
        if decision.allowed:
            assert decision.basis is not None
        visible = in_effect(case.subject, decision.at).events
        for reason in decision.reasons:
            assert reason.message.strip()
            assert reason.article.strip()
            assert reason.event is not None or reason.clause is not None
            if reason.event is not None:
                # Principle 4: a decision at `at` sees only events at or before `at`.
                assert reason.event in visible


@given(cases())
def test_later_events_never_change_a_decision(case: Case) -> None:
    """DESIGN principle 4: "A decision at `at` sees only events at or before `at`": events
    whose `at` is later never change it. (A grant whose `at` is at or before `at` but that
    was recorded later is seen and not yet in effect: see ``test_legal_laws``.)
    """
    assert case.decide(subject=in_effect(case.subject, case.at)) == case.decide()


@given(cases(), st.data())
def test_withdrawal_is_not_retroactive(case: Case, data: st.DataObject) -> None:
    """Art. 7(3): "The withdrawal of consent shall not affect the lawfulness of processing
    based on consent before its withdrawal": a withdrawal after `at` leaves `at` alone.
    """
    after = data.draw(
        ls.instants(policy=case.policy, around=[case.at]).filter(lambda t: t > case.at)
    )
    vendor = data.draw(st.sampled_from([None, case.vendor]))
    withdrawal = ConsentWithdrawn(at=after, purpose=case.purpose, vendor=vendor)
    assert case.decide(subject=case.subject.add(withdrawal)) == case.decide()


@given(cases(), st.data())
def test_a_withdrawal_denies_from_its_own_instant(case: Case, data: st.DataObject) -> None:
    """DESIGN conventions: "a withdrawal denies at its own instant"; Art. 7(3): consent can
    be withdrawn at any time. The latest consent event being a withdrawal, consent is gone.
    """
    purpose = data.draw(st.sampled_from(case.policy.purposes))
    own = [
        e
        for e in case.subject.events
        if isinstance(e, ConsentGiven | ConsentWithdrawn) and e.purpose == purpose.id
    ]
    moment = data.draw(
        ls.instants(policy=case.policy, around=[case.at]).filter(lambda t: t <= case.at)
    )
    if any(effective(e) >= moment for e in own):
        # At the same instant the withdrawal still wins; a grant is in effect only once
        # recorded (conventions at the edges), so the withdrawal follows its record.
        moment = max(effective(e) for e in own)
    withdrawal = ConsentWithdrawn(at=moment, purpose=purpose.id)
    decision = may_process(case.subject.add(withdrawal), purpose, max(case.at, moment))
    if purpose.basis is LegalBasis.CONSENT:
        assert not decision.allowed
    elif decision.allowed:
        # Without consent as its basis, only device access could still need one.
        assert not (purpose.device_access and not purpose.strictly_necessary)


_RESTRICTIVE = st.sampled_from(["withdrawal", "objection", "restriction", "erasure", "opt-out"])


@given(cases(), _RESTRICTIVE, st.data())
def test_restrictive_events_never_turn_a_denial_into_an_allow(
    case: Case, kind: str, data: st.DataObject
) -> None:
    """DESIGN principle 2 (fail closed) with Art. 7(3), 17, 18, 21: adding a withdrawal,
    objection, restriction, erasure or opt-out can take a permission away, never grant one.
    """
    moment = data.draw(ls.instants(policy=case.policy, around=case.subject.events or [case.at]))
    target = data.draw(st.sampled_from([None, case.purpose]))
    added: Event
    if kind == "withdrawal":
        added = ConsentWithdrawn(at=moment, purpose=case.purpose, vendor=case.vendor)
    elif kind == "objection":
        added = Objection(at=moment, purpose=target)
    elif kind == "restriction":
        added = RestrictionRequested(at=moment, purpose=target)
    elif kind == "erasure":
        added = Erasure(at=moment)
    else:
        scopes = [*case.policy.opt_out_scopes, "all", UNDECLARED]
        added = OptOut(at=moment, scope=data.draw(st.sampled_from(scopes)))
    before, after = case.decide(), case.decide(subject=case.subject.add(added))
    event(f"{kind}: {before.allowed} -> {after.allowed}")
    assert after.allowed <= before.allowed


@given(cases(), st.data())
def test_erasure_stops_data_collected_before_it(case: Case, data: st.DataObject) -> None:
    """Art. 17(1) and DESIGN 3: "data collected at or before an erasure is never processed
    again"; Art. 17(3)(b): "A legal obligation to keep data survives erasure".
    """
    collected = case.collected_at or case.at
    erased = case.subject.add(Erasure(at=data.draw(st.sampled_from([collected, case.at]))))
    decision = case.decide(subject=erased)
    if case.purpose not in case.policy.purpose_ids:
        assert not decision.allowed
        return
    purpose = case.policy.purpose(case.purpose)
    device_consent = purpose.device_access and not purpose.strictly_necessary
    if purpose.basis is not LegalBasis.LEGAL_OBLIGATION:
        assert not decision.allowed
    elif not device_consent:  # a device-access consent given before it would be erased
        assert outcome(decision) == outcome(case.decide())


@given(cases(), st.sampled_from(["utc", "fixed", "named"]))
def test_the_same_instant_in_any_zone_decides_the_same(case: Case, how: str) -> None:
    """DESIGN principle 1: "Same inputs, same Decision": an instant is the same input in any
    zone. The stated exception: "Age is computed conservatively (the lower of the ages in
    UTC and in the zone of `at`)", so with an age on record the zone of `at` may matter.
    """
    zone = {
        "utc": UTC,
        "fixed": timezone(timedelta(hours=-9, minutes=-30)),
        "named": ZoneInfo("Pacific/Kiritimati"),
    }[how]
    elsewhere = attrs.evolve(case, at=case.at.astimezone(zone))
    before, after = case.decide(), elsewhere.decide()
    ages = any(isinstance(e, BirthDateDeclared | AgeDeclared) for e in case.subject.events)
    rules = case.policy.age
    if ages and (rules.minimum_age is not None or rules.parental_consent_age is not None):
        event("age on record: zone of `at` may matter (DESIGN)")
        return
    assert outcome(after) == outcome(before)
    assert after.valid_until == before.valid_until  # the same instant, or both None


@given(cases(), st.sampled_from(["utc", "fixed", "named"]))
def test_event_times_in_any_zone_decide_the_same(case: Case, how: str) -> None:
    """DESIGN principle 1: "Same inputs, same Decision"; the events' own zones are only how
    their instants were written down (DESIGN: events carry when they took effect).
    """
    zone = {
        "utc": UTC,
        "fixed": timezone(timedelta(hours=13, minutes=45)),
        "named": ZoneInfo("America/St_Johns"),
    }[how]
    moved = [attrs.evolve(e, at=e.at.astimezone(zone)) for e in case.subject.events]
    other = Subject(case.subject.id, moved, categories=case.subject.categories)
    before, after = case.decide(), case.decide(subject=other)
    assert outcome(after) == outcome(before)
    assert after.valid_until == before.valid_until


@given(cases(), st.randoms(use_true_random=False))
def test_the_order_events_are_given_in_does_not_matter(case: Case, rnd: random.Random) -> None:
    """DESIGN conventions: "Events are applied in time order, whatever order they were given
    in"; ties at one instant are resolved by restrictiveness, not by position.
    """
    shuffled = list(case.subject.events)
    rnd.shuffle(shuffled)
    other = Subject(case.subject.id, shuffled, categories=case.subject.categories)
    assert other == case.subject
    assert case.decide(subject=other) == case.decide()


@given(cases())
def test_deciding_is_deterministic(case: Case) -> None:
    """DESIGN principle 1: "Deciding does no I/O, reads no clock ... Same inputs, same
    Decision", for a subject built again from the same events, too.
    """
    again = Subject(case.subject.id, case.subject.events, categories=case.subject.categories)
    first = case.decide()
    assert case.decide() == first
    assert case.decide(subject=again) == first
    assert case.decide().to_json() == first.to_json()


@given(cases())
def test_policy_may_process_by_id_equals_may_process_of_the_purpose(case: Case) -> None:
    """DESIGN, the decision: ``Policy.may_process(subject, "purpose-id", at, ...)`` is
    ``may_process`` with the policy's purpose; an unknown id is denied ``UNKNOWN_PURPOSE``.
    """
    by_id = case.decide()
    if case.purpose not in case.policy.purpose_ids:
        assert outcome(by_id) == (False, ReasonCode.UNKNOWN_PURPOSE)
        assert by_id.basis is None
        return
    direct = may_process(
        case.subject,
        case.policy.purpose(case.purpose),
        case.at,
        vendor=case.vendor,
        data=case.data,
        collected_at=case.collected_at,
        operation=case.operation,
    )
    assert direct == by_id


@given(cases())
def test_decide_all_equals_deciding_each_purpose(case: Case) -> None:
    """DESIGN, the decision: ``Policy.decide_all(subject, at) -> {purpose id: Decision}``,
    each what ``Policy.may_process`` answers for that purpose, in policy order.
    """
    policy, subject = case.policy, case.subject
    everything = policy.decide_all(
        subject, case.at, collected_at=case.collected_at, operation=case.operation
    )
    assert list(everything) == list(policy.purpose_ids)
    for purpose_id, decision in everything.items():
        alone = policy.may_process(
            subject, purpose_id, case.at, collected_at=case.collected_at, operation=case.operation
        )
        assert decision == alone


@given(cases(), st.sampled_from(["purpose", "vendor", "data"]))
def test_anything_undeclared_is_denied(case: Case, what: str) -> None:
    """DESIGN principle 2: "Anything unknown or unproven (an undeclared purpose, vendor or
    data category ...) yields a deny with a reason — never an accidental allow".
    """
    asked = {
        "purpose": attrs.evolve(case, purpose=UNDECLARED),
        "vendor": attrs.evolve(case, vendor=UNDECLARED),
        "data": attrs.evolve(case, data=(*case.data, UNDECLARED)),
    }[what]
    decision = asked.decide()
    assert not decision.allowed
    assert decision.code in {*SCOPE_CODES, ReasonCode.UNKNOWN_PURPOSE}


@given(cases(), st.data())
def test_valid_until_is_honest(case: Case, data: st.DataObject) -> None:
    """DESIGN: ``valid_until`` is "the next instant at which the answer could change with no
    new event". What it promises, exactly: at any instant in [at, valid_until) — or any later
    instant when it is ``None`` — the same events give the same ``allowed``, and an allow
    keeps its primary reason; a denial's reason may turn into another denial's (see
    ``test_valid_until_promises_the_answer_not_the_reason_of_a_denial``).
    """
    subject = in_effect(case.subject, case.at)
    decision = case.decide(subject=subject)
    ahead = ls.instants(policy=case.policy, around=[case.at, *subject.events])
    later = data.draw(ahead.filter(lambda t: t >= case.at))
    until = decision.valid_until
    if until is not None:
        assert until > case.at
        later = min(later, until - timedelta(microseconds=1))
        event("valid_until set")
    moment = later.astimezone(case.at.tzinfo)  # the zone of `at` (age is computed in it)
    then = case.decide(subject=subject, at=moment)
    assert then.allowed == decision.allowed
    if decision.allowed:
        assert then.code == decision.code


def test_valid_until_promises_the_answer_not_the_reason_of_a_denial() -> None:
    """DESIGN: valid_until marks where "the answer could change"; a denial for want of
    consent becomes a retention denial a day later with ``valid_until`` ``None``.
    """
    policy = Policy(
        id="p",
        version="1",
        purposes=[
            Purpose(
                id="crm",
                title="CRM",
                statement="We keep your contact details.",
                basis=LegalBasis.CONSENT,
                withdrawal="Settings",
                retention=Retention((AfterCollection(Duration(days=1)),)),
            )
        ],
    )
    at = datetime(2025, 1, 1, tzinfo=UTC)
    subject = Subject("s")
    first = policy.may_process(subject, "crm", at, collected_at=at)
    later = policy.may_process(subject, "crm", at + timedelta(days=2), collected_at=at)
    assert (first.code, first.valid_until) == (ReasonCode.NO_CONSENT, None)
    assert later.code is ReasonCode.RETENTION_EXCEEDED
    assert first.allowed == later.allowed


@given(cases(), st.data())
def test_adding_an_event_equals_building_with_it(case: Case, data: st.DataObject) -> None:
    """DESIGN principle 7: "appending one event need not rebuild" the index — and must not
    change any answer: ``Subject.add(e)`` decides as ``Subject(events + [e])``.
    """
    extra = data.draw(
        ls.events(
            policy=case.policy,
            at=ls.instants(policy=case.policy, around=[case.at, *case.subject.events]),
        )
    )
    added = case.subject.add(extra)
    rebuilt = Subject(
        case.subject.id, [*case.subject.events, extra], categories=case.subject.categories
    )
    assert added.events == rebuilt.events
    assert case.decide(subject=added) == case.decide(subject=rebuilt)


@given(cases(), st.data())
def test_a_subject_grown_by_add_decides_as_one_built_at_once(
    case: Case, data: st.DataObject
) -> None:
    """DESIGN principle 7 (a decision is a function of the events): a subject grown one
    event at a time, in time order (sharing its timelines with the subject before it) or
    in any order, decides as the subject built from the same events; and the subjects it
    grew from, or branched from, still decide as they did.
    """
    events = list(case.subject.events)
    order = data.draw(st.sampled_from(["time", "shuffled"]))
    if order == "shuffled":
        random.Random(data.draw(st.integers(0, 2**16))).shuffle(events)  # noqa: S311
    grown = Subject(case.subject.id, categories=case.subject.categories)
    history = [grown]
    for event_ in events:
        grown = grown.add(event_)
        history.append(grown)
    assert case.decide(subject=grown) == case.decide()
    # Branch from a subject part way, then ask every earlier subject again.
    cut = data.draw(st.integers(0, len(events)))
    branch = history[cut].add(ConsentWithdrawn(at=case.at, purpose=case.purpose))
    categories = case.subject.categories
    rebuilt = Subject(case.subject.id, branch.events, categories=categories)
    assert case.decide(subject=branch) == case.decide(subject=rebuilt)
    for count, earlier in enumerate(history):
        rebuilt = Subject(case.subject.id, events[:count], categories=categories)
        assert case.decide(subject=earlier) == case.decide(subject=rebuilt)


# Instants at which clocks change, in zones with rules (one with a half-hour change).
_CLOCK_CHANGES = [
    (ZoneInfo("Europe/Warsaw"), datetime(2025, 3, 30, 1, tzinfo=UTC)),  # 02:00 -> 03:00
    (ZoneInfo("Europe/Warsaw"), datetime(2025, 10, 26, 1, tzinfo=UTC)),  # 03:00 -> 02:00
    (ZoneInfo("America/New_York"), datetime(2025, 11, 2, 6, tzinfo=UTC)),  # 02:00 -> 01:00
    (ZoneInfo("Australia/Lord_Howe"), datetime(2025, 4, 5, 15, tzinfo=UTC)),  # 02:00 -> 01:30
    (ZoneInfo("Australia/Lord_Howe"), datetime(2025, 10, 4, 15, 30, tzinfo=UTC)),  # +30 min
    (timezone(timedelta(hours=-3, minutes=-30)), datetime(2025, 6, 1, tzinfo=UTC)),
    (UTC, datetime(2025, 6, 1, tzinfo=UTC)),
]


@given(cases(), st.sampled_from(_CLOCK_CHANGES), st.data())
def test_a_kept_decision_is_the_decision_made_afresh(
    case: Case, change: tuple[timezone | ZoneInfo, datetime], data: st.DataObject
) -> None:
    """DESIGN principle 7 (a decision is a function of the events and `at`): the engine
    keeps a subject's last decision per purpose and zone, with the interval it holds for,
    and gives it again while `at` falls in it. Asked in any order at wall-clock times on
    both sides of a clock change, in repeated hours (both folds) and in skipped ones, each
    answer equals the one a subject that has kept nothing gives.
    """
    zone, moment = change
    minutes = st.integers(-75, 75).map(lambda m: timedelta(minutes=m))
    events = [attrs.evolve(e, at=moment + data.draw(minutes)) for e in case.subject.events]
    kept = Subject(case.subject.id, events, categories=case.subject.categories)
    local = moment.astimezone(zone).replace(tzinfo=None)
    walls = st.tuples(minutes, st.sampled_from([0, 1]), st.integers(0, 59_999_999))
    for shift, fold, micros in data.draw(st.lists(walls, min_size=2, max_size=16)):
        wall = local + shift + timedelta(microseconds=micros)
        at = wall.replace(tzinfo=zone, fold=fold)
        fresh = Subject(case.subject.id, events, categories=case.subject.categories)
        assert _fresh_data(case, kept, at) == _fresh_data(case, fresh, at)


def _fresh_data(case: Case, subject: Subject, at: datetime) -> Decision:
    """The case's question about data collected at ``at`` (decisions the engine keeps)."""
    return case.policy.may_process(
        subject, case.purpose, at, vendor=case.vendor, data=case.data, operation=case.operation
    )


@given(cases(), st.data())
def test_answers_kept_across_add_are_the_answers_made_afresh(
    case: Case, data: st.DataObject
) -> None:
    """DESIGN principle 7, for a host that asks, records what the visitor did with
    `Subject.add`, and asks again: the engine carries over the answers the new event
    cannot change (page views; consent choices for other purposes). Every answer, at
    instants around the events, equals the one a subject built from the same events
    gives, having kept nothing.
    """
    events = list(case.subject.events)
    cut = data.draw(st.integers(0, len(events)))
    around = [*events, case.at]
    later = data.draw(
        st.lists(
            ls.events(
                policy=case.policy,
                at=ls.instants(policy=case.policy, around=around),
                types=[Interaction, ConsentGiven, ConsentWithdrawn, Erasure, OptOut],
            ),
            max_size=6,
        )
    )
    categories = case.subject.categories
    subject = Subject(case.subject.id, events[:cut], categories=categories)
    moments = ls.instants(policy=case.policy, around=around)
    for new in [*events[cut:], *later]:
        for at in data.draw(st.lists(moments, min_size=1, max_size=3)):
            fresh = Subject(case.subject.id, subject.events, categories=categories)
            assert _fresh_data(case, subject, at) == _fresh_data(case, fresh, at)
        subject = subject.add(new)
    fresh = Subject(case.subject.id, subject.events, categories=categories)
    for at in data.draw(st.lists(moments, min_size=1, max_size=3)):
        assert _fresh_data(case, subject, at) == _fresh_data(case, fresh, at)
