"""The generators exercise the rules: laws that only ever saw ``UNKNOWN_PURPOSE`` prove nothing.

Each test runs the laws' generators under the CI profile's settings (with a
pinned number of examples), counts what it met, and asserts that every reason
code, both outcomes, every legal basis, every rule kind and every kind of event
occurred.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from tests.properties._cases import Case, cases, moments, timeline
from tests.reference import decide

from lawful import (
    AfterCollection,
    AfterLastInteraction,
    AgeRules,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    DataCategory,
    Duration,
    Event,
    LegalBasis,
    NoPeriodStated,
    Policy,
    Purpose,
    ReasonCode,
    RestrictionException,
    RetentionCombine,
    SessionEnd,
    SpecialCategoryCondition,
    Subject,
    TransferConsentGiven,
    TransferDerogation,
    TransferMechanism,
)
from lawful import strategies as ls
from lawful.events import EVENT_TYPES

# The CI profile's settings (derandomized, so the counts are the same on every run) with
# a pinned number of examples: each law runs the CI profile's count on its own sequence,
# so together they see many times these; a change that stops reaching a rule fails here.
SEARCH = settings(
    settings.get_profile("ci"),
    max_examples=450,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


def _pinned_child() -> Case:
    """A pinned case for the two codes that need a rare policy (a minimum age, and Art.
    9(2)(a) data) and a rarer history: a child's non-explicit consent. The derandomized
    search reaches them too, but which examples it draws moves with every change to the
    strategies; this keeps the counters from failing on an unlucky sample.
    """
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    policy = Policy(
        id="pinned",
        version="1",
        data_categories=[DataCategory("health", "Health data", special=True)],
        purposes=[
            Purpose(
                "care",
                "Care",
                "We look after you",
                LegalBasis.CONSENT,
                data=("health",),
                special_category_condition=SpecialCategoryCondition.EXPLICIT_CONSENT,
                withdrawal="Settings",
            )
        ],
        age=AgeRules(minimum_age=16),
    )
    subject = Subject(
        "child",
        [
            BirthDateDeclared(at=start, birth_date=date(2010, 3, 2)),  # 14 then, 16 in 2026
            ConsentGiven(at=start, purpose="care", explicit=False),
        ],
    )
    return Case(policy, subject, start.replace(year=2027), "care")


def _pinned_expiry() -> Case:
    """A pinned case for ``CONSENT_EXPIRED``: a consent outlived by its question. The
    search draws lifetimes, but a lifetime that ends inside a case's timeline with no
    later consent is rare, and Hypothesis mixes in constants from the modules loaded
    before it (so a draw moves with the tests run earlier in the process).
    """
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    policy = Policy(
        id="pinned-expiry",
        version="1",
        purposes=[
            Purpose(
                "news",
                "News",
                "We send you news",
                LegalBasis.CONSENT,
                consent_lifetime=Duration.parse("6 months"),
                withdrawal="Settings",
            )
        ],
    )
    subject = Subject("reader", [ConsentGiven(at=start, purpose="news")])
    return Case(policy, subject, start.replace(year=2026), "news")


PINNED = _pinned_child()
PINNED_EXPIRY = _pinned_expiry()


def test_every_reason_code_and_both_outcomes_occur() -> None:
    """Every ``ReasonCode`` is the primary reason of some decision the laws check (every
    purpose along each case's timeline, see ``timeline``), and both outcomes occur.
    """
    codes: Counter[ReasonCode] = Counter()
    outcomes: Counter[bool] = Counter()

    @SEARCH
    @given(cases())
    @example(PINNED)
    @example(PINNED_EXPIRY)
    def run(case: Case) -> None:
        for decision in timeline(case):
            codes[decision.code] += 1
            outcomes[decision.allowed] += 1

    run()
    missing = [code.value for code in ReasonCode if not codes[code]]
    assert not missing, f"never the primary reason: {missing}; seen: {dict(codes)}"
    assert outcomes[True], outcomes
    assert outcomes[False], outcomes


def test_the_reference_reaches_every_reason_code() -> None:
    """The reference (``tests/reference.py``) gives every ``ReasonCode`` as the primary
    reason of some decision along a case's timeline (see ``moments``; its question, and every
    purpose on fresh data): the differential
    test compares the engine with it on every rule, not only on the common ones.
    """
    codes: Counter[ReasonCode] = Counter()

    @SEARCH
    @given(cases())
    @example(PINNED)
    @example(PINNED_EXPIRY)
    def run(case: Case) -> None:
        for moment in moments(case):
            collected = case.collected_at
            if collected is not None and collected > moment:
                collected = None  # not yet collected then: ask about fresh data
            asked = [(case.purpose, case.vendor, case.data, collected)]
            asked += [(pid, None, (), None) for pid in case.policy.purpose_ids]
            for purpose, vendor, data, when in asked:
                _, code = decide(
                    case.policy,
                    case.subject,
                    purpose,
                    moment,
                    vendor=vendor,
                    data=data,
                    collected_at=when,
                    operation=case.operation,
                )
                codes[code] += 1

    run()
    missing = [code.value for code in ReasonCode if not codes[code]]
    assert not missing, f"never the reference's primary reason: {missing}; seen: {dict(codes)}"


def _kinds(policy: Policy) -> set[str]:
    """Names for the bases and rule kinds a policy uses."""
    found = {f"basis:{p.basis.value}" for p in policy.purposes}
    for p in policy.purposes:
        found |= {f"retention:{type(rule).__name__}" for rule in p.retention.rules}
        found.add(f"combine:{p.retention.combine.value}")
        flags = {
            "consent_lifetime": p.consent_lifetime is not None,
            "per_vendor_consent": p.per_vendor_consent,
            "direct_marketing": p.direct_marketing,
            "override_admissible": p.override_admissible,
            "legitimate_interests_without_override": p.basis is LegalBasis.LEGITIMATE_INTERESTS
            and not p.override_admissible,
            "device_access_strictly_necessary": p.device_access and bool(p.strictly_necessary),
            "device_access_needing_consent": p.device_access and not p.strictly_necessary,
            "opt_out_scopes": bool(p.opt_out_scopes),
            "processor_only": p.processor_only,
            "subject_categories": bool(p.subjects),
        }
        found |= {name for name, present in flags.items() if present}
        if p.special_category_condition is not None:
            found.add(f"art_9_2_{p.special_category_condition.value}")
            if p.basis is LegalBasis.LEGITIMATE_INTERESTS:
                found.add("art_9_2_under_legitimate_interests")
        found |= {f"restriction_exception:{e.value}" for e in p.restriction_exceptions}
        if not p.recurring:
            found.add("not_recurring")
        vendors = {v.id: v for v in policy.vendors}
        for vendor in (vendors[v] for v in p.vendors):
            if vendor.outside_eea:
                found.add(f"transfer:{vendor.transfer.value}")
            if vendor.derogation is not None:
                found.add(f"derogation:{vendor.derogation.value}")
        binding = [b for b in policy.signals.tcf if b.purpose == p.id]
        if p.device_access and binding:
            found.add("tcf_purpose_1_for_device_access")
    if policy.age.minimum_age is not None or policy.age.parental_consent_age is not None:
        found.add(f"age_scope:{policy.age.scope.value}")
    if policy.age.sections:
        found.add("age_sections")
    if policy.previous_versions:
        found.add("previous_versions")
    starts = [v.effective_from for v in policy.previous_versions] + [policy.effective_from]
    found.add("effective_from" if any(starts) else "no_effective_from")
    return found


def test_policies_cover_every_basis_and_rule_kind() -> None:
    """``lawful.strategies.policies`` draws every legal basis, retention rule kind and both
    combines, every Art. 9(2) condition (and (b)-(j) under legitimate interests), each
    basis-specific setting, every transfer mechanism and derogation ground on a vendor a
    purpose uses, every Art. 18(2) exception, one-off purposes, age rules for some
    sections, and versions with and without ``effective_from``, over its examples.
    """
    seen: Counter[str] = Counter()

    @SEARCH
    @given(ls.policies(text=st.just("")))
    def run(policy: Policy) -> None:
        seen.update(_kinds(policy))

    run()
    wanted = {
        *(f"basis:{b.value}" for b in LegalBasis),
        *(
            f"retention:{k.__name__}"
            for k in (AfterCollection, AfterLastInteraction, SessionEnd, NoPeriodStated)
        ),
        *(f"combine:{c.value}" for c in RetentionCombine),
        *(f"art_9_2_{c.value}" for c in SpecialCategoryCondition),
        *(f"age_scope:{s.value}" for s in AgeScope),
        "consent_lifetime",
        "per_vendor_consent",
        "direct_marketing",
        "override_admissible",
        "legitimate_interests_without_override",
        "device_access_strictly_necessary",
        "device_access_needing_consent",
        "opt_out_scopes",
        "processor_only",
        "subject_categories",
        "previous_versions",
        "art_9_2_under_legitimate_interests",
        *(f"restriction_exception:{e.value}" for e in RestrictionException),
        "not_recurring",
        *(f"transfer:{m.value}" for m in TransferMechanism if m.value != "not_applicable"),
        *(f"derogation:{d.value}" for d in TransferDerogation),
        "tcf_purpose_1_for_device_access",
        "age_sections",
        "effective_from",
        "no_effective_from",
    }
    assert not wanted - set(seen), f"never drawn: {sorted(wanted - set(seen))}"


def test_histories_use_every_kind_of_event() -> None:
    """``lawful.strategies.event_histories`` draws every kind of event, ties (two events
    at one instant), events out of order, consents by a method that is never consent
    (Art. 4(11)), and grants recorded after they were given.
    """
    kinds: Counter[str] = Counter()

    @SEARCH
    @given(ls.policies(text=st.just("")).flatmap(lambda p: ls.event_histories(policy=p)))
    def run(history: list[Event]) -> None:
        kinds.update(type(e).__name__ for e in history)
        instants = [e.at for e in history]
        if len(set(instants)) < len(instants):
            kinds["a tie"] += 1
        if instants != sorted(instants):
            kinds["out of order"] += 1
        for e in history:
            if isinstance(e, ConsentGiven | TransferConsentGiven) and not e.method.affirmative:
                kinds["not affirmative"] += 1
            if e.recorded_at is not None and e.recorded_at > e.at:
                kinds["recorded later"] += 1

    run()
    wanted = {cls.__name__ for cls in EVENT_TYPES}
    wanted |= {"a tie", "out of order", "not affirmative", "recorded later"}
    assert not wanted - set(kinds), f"never drawn: {sorted(wanted - set(kinds))}"
