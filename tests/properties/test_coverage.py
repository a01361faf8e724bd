"""The generators exercise the rules: laws that only ever saw ``UNKNOWN_PURPOSE`` prove nothing.

Each test runs the laws' generators under the CI profile's settings (with a
pinned number of examples), counts what it met, and asserts that every reason
code, both outcomes, every legal basis, every rule kind and every kind of event
occurred.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from tests.properties._cases import Case, cases, timeline

from lawful import (
    AfterCollection,
    AfterLastInteraction,
    AgeScope,
    Event,
    LegalBasis,
    NoPeriodStated,
    Policy,
    ReasonCode,
    RetentionCombine,
    SessionEnd,
    SpecialCategoryCondition,
)
from lawful import strategies as ls
from lawful.events import EVENT_TYPES

# The CI profile's settings (derandomized, so the counts are the same on every run) with
# a pinned number of examples: each law runs the CI profile's count on its own sequence,
# so together they see many times these; a change that stops reaching a rule fails here.
SEARCH = settings(
    settings.get_profile("ci"),
    max_examples=400,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)


def test_every_reason_code_and_both_outcomes_occur() -> None:
    """Every ``ReasonCode`` is the primary reason of some decision the laws check (every
    purpose along each case's timeline, see ``timeline``), and both outcomes occur.
    """
    codes: Counter[ReasonCode] = Counter()
    outcomes: Counter[bool] = Counter()

    @SEARCH
    @given(cases())
    def run(case: Case) -> None:
        for decision in timeline(case):
            codes[decision.code] += 1
            outcomes[decision.allowed] += 1

    run()
    missing = [code.value for code in ReasonCode if not codes[code]]
    assert not missing, f"never the primary reason: {missing}; seen: {dict(codes)}"
    assert outcomes[True], outcomes
    assert outcomes[False], outcomes


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
    if policy.age.minimum_age is not None or policy.age.parental_consent_age is not None:
        found.add(f"age_scope:{policy.age.scope.value}")
    if policy.previous_versions:
        found.add("previous_versions")
    return found


def test_policies_cover_every_basis_and_rule_kind() -> None:
    """``lawful.strategies.policies`` draws every legal basis, retention rule kind and both
    combines, every Art. 9(2) condition, and each basis-specific setting, over its examples.
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
    }
    assert not wanted - set(seen), f"never drawn: {sorted(wanted - set(seen))}"


def test_histories_use_every_kind_of_event() -> None:
    """``lawful.strategies.event_histories`` draws every kind of event, and ties (two
    events at one instant) as well as events out of order.
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

    run()
    wanted = {cls.__name__ for cls in EVENT_TYPES} | {"a tie", "out of order"}
    assert not wanted - set(kinds), f"never drawn: {sorted(wanted - set(kinds))}"
