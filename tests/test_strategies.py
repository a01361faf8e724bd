"""lawful.strategies: what each strategy promises, its argument checks, and its registration."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import lawful
from lawful import (
    AgeScope,
    ConsentGiven,
    DataCategory,
    Event,
    LegalBasis,
    Policy,
    Subject,
    Vendor,
)
from lawful import strategies as ls
from lawful.events import EVENT_TYPES

NAIVE = datetime(2025, 1, 1)
EARLY = datetime(2020, 1, 1, tzinfo=UTC)
LATE = datetime(2021, 1, 1, tzinfo=UTC)
NOT_AN_EVENT: object = object()
CATEGORY = DataCategory("email", "Email")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ls.aware_datetimes(min_value=NAIVE), "timezone-aware"),
        (lambda: ls.aware_datetimes(max_value=NAIVE), "timezone-aware"),
        (lambda: ls.aware_datetimes(min_value=LATE, max_value=EARLY), "after"),
        (lambda: ls.aware_datetimes(min_value=datetime(1800, 1, 1, tzinfo=UTC)), "1900-2999"),
        (lambda: ls.time_zones(fixed_offsets=False, named=False), "fixed_offsets"),
        (lambda: ls.age_rules(scopes=[]), "AgeScope"),
        (lambda: ls.purposes(bases=[]), "LegalBasis"),
        (lambda: ls.purposes(data_categories=[CATEGORY, CATEGORY]), "repeats an id"),
        (lambda: ls.policies(min_purposes=3, max_purposes=2), "min_purposes"),
        (lambda: ls.policies(min_purposes=-1), "min_purposes"),
        (lambda: ls.policies(bases=[]), "LegalBasis"),
        (lambda: ls.policies(max_previous_versions=-1), "max_previous_versions"),
        (lambda: ls.events(types=[]), "event classes"),
        (lambda: ls.events(types=[int]), "event classes"),  # type: ignore[list-item]
        (lambda: ls.events(policy="piwik-pro"), "lawful.Policy"),  # type: ignore[arg-type]
        (lambda: ls.event_histories(min_size=5, max_size=2), "min_size"),
        (lambda: ls.instants(around=[NAIVE]), "timezone-aware"),
        (lambda: ls.instants(around=[NOT_AN_EVENT]), "neither an event"),  # type: ignore[list-item]
        (lambda: ls.subjects(policy=object()), "lawful.Policy"),  # type: ignore[arg-type]
    ],
)
def test_impossible_arguments_raise_invalid_argument(
    make: Callable[[], object], message: str
) -> None:
    """Hypothesis house style: an impossible combination raises ``InvalidArgument`` at once."""
    with pytest.raises(InvalidArgument, match=message):
        make()


@given(ls.policies(min_purposes=2, max_purposes=3, bases=[LegalBasis.CONTRACT]))
def test_policies_honour_their_options(policy: Policy) -> None:
    """``policies`` respects the purpose count and bases asked for, and draws valid policies."""
    assert 2 <= len(policy.purposes) <= 3
    assert {p.basis for p in policy.purposes} == {LegalBasis.CONTRACT}
    assert Policy.from_dict(policy.to_dict()) == policy  # constructs: the validator agrees


@given(ls.age_rules(scopes=[AgeScope.ALL_PURPOSES]))
def test_age_rules_are_consistent(rules: lawful.AgeRules) -> None:
    """``age_rules`` never puts the minimum age above the parental-consent age (Art. 8)."""
    if rules.minimum_age is not None and rules.parental_consent_age is not None:
        assert rules.minimum_age <= rules.parental_consent_age
    assert rules.scope is AgeScope.ALL_PURPOSES or rules == lawful.AgeRules()


@given(ls.vendors())
def test_vendors_state_a_transfer_mechanism_outside_the_eea(vendor: Vendor) -> None:
    """``vendors`` outside the EEA always name a mechanism (Chapter V), inside none."""
    assert vendor.outside_eea is (vendor.transfer is not lawful.TransferMechanism.NOT_APPLICABLE)


@given(ls.vendors())
def test_vendors_name_a_ground_exactly_when_they_rest_on_a_derogation(vendor: Vendor) -> None:
    """``vendors`` never draw an invalid combination: a derogation (Art. 49) always names
    its ground, and no other mechanism does.
    """
    derogation = vendor.transfer is lawful.TransferMechanism.DEROGATION
    assert (vendor.derogation is not None) is derogation


@given(ls.policies(text=st.just("")))
def test_policies_keep_the_load_time_rules_of_the_corrected_decision(policy: Policy) -> None:
    """``policies`` keep the rules a policy is refused for: a purpose whose transfer rests on
    compelling legitimate interests (Art. 49(1), second subparagraph) does not recur; a TCF
    binding of a purpose that accesses the device includes TCF purpose 1; versions take
    effect in the order they are listed, the current one last; age rules name only the
    policy's sections.
    """
    vendors = {v.id: v for v in policy.vendors}
    one_off = lawful.TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS
    for purpose in policy.purposes:
        if any(vendors[v].derogation is one_off for v in purpose.vendors):
            assert not purpose.recurring
        for binding in policy.signals.tcf:
            if binding.purpose == purpose.id and purpose.device_access:
                assert 1 in binding.tcf_purposes
    starts = [v.effective_from for v in policy.previous_versions] + [policy.effective_from]
    stated = [s for s in starts if s is not None]
    assert stated == sorted(stated)
    assert set(policy.age.sections) <= set(policy.controllers)


@given(ls.aware_datetimes(min_value=EARLY, max_value=LATE))
def test_aware_datetimes_are_aware_and_within_bounds(moment: datetime) -> None:
    """``aware_datetimes`` draws aware values between the bounds, in any zone."""
    assert moment.utcoffset() is not None
    assert EARLY <= moment <= LATE


@given(
    ls.policies(text=st.just("")).flatmap(
        lambda p: st.tuples(st.just(p), ls.event_histories(policy=p, min_size=1, max_size=4))
    )
)
def test_histories_fit_their_policy(pair: tuple[Policy, list[Event]]) -> None:
    """``event_histories`` name the policy's purposes, vendors, versions and scopes (or the
    single ``unlisted`` stand-in for an undeclared one), and keep to the sizes asked for.
    """
    policy, history = pair
    assert 1 <= len(history) <= 4
    purposes = {*policy.purpose_ids, "unlisted", None}
    vendors = {v.id for v in policy.vendors} | {"unlisted", None}
    versions = {policy.version, *(v.version for v in policy.previous_versions), None}
    for event in history:
        assert event.at.utcoffset() is not None
        assert getattr(event, "purpose", None) in purposes
        if isinstance(event, ConsentGiven):
            assert event.vendor in vendors
            assert event.policy_version in versions | {"unknown-version"}
        if hasattr(event, "scope"):
            assert event.scope in {*policy.opt_out_scopes, "all", "unlisted"}


@given(st.data())
def test_instants_sit_on_the_events_and_limits(data: st.DataObject) -> None:
    """``instants`` draws aware instants near the events it is given (within the policy's
    durations, a day of jitter, four months, or 14 hours of a birthday midnight).
    """
    start = datetime(2025, 3, 1, 9, tzinfo=UTC)
    grant = ConsentGiven(at=start, purpose="analytics")
    moment = data.draw(ls.instants(around=[grant]))
    assert moment.utcoffset() is not None
    assert abs(moment - start) <= timedelta(days=800)


@settings(max_examples=20)
@given(
    st.from_type(Subject),
    st.from_type(Policy),
    st.from_type(lawful.Decision),
    st.from_type(lawful.ConsentGiven),
)
def test_from_type_knows_lawfuls_types(
    subject: Subject, policy: Policy, decision: lawful.Decision, grant: ConsentGiven
) -> None:
    """The ``hypothesis`` entry point registers lawful's types: subjects, events and
    decisions fit the bundled Piwik PRO policy.
    """
    bundled = lawful.bundled_policy("piwik-pro")
    assert isinstance(policy, Policy)
    assert decision.purpose in bundled.purpose_ids
    assert grant.purpose in {*bundled.purpose_ids, "unlisted"}
    for event in subject.events:
        assert getattr(event, "purpose", None) in {*bundled.purpose_ids, "unlisted", None}


@given(
    st.sampled_from(EVENT_TYPES).flatmap(lambda kind: st.tuples(st.just(kind), st.from_type(kind)))
)
def test_every_event_type_is_registered(pair: tuple[type[Event], Event]) -> None:
    """``st.from_type`` draws every event class, fitting the bundled policy."""
    kind, drawn = pair
    assert type(drawn) is kind
    assert drawn.at.utcoffset() is not None


def test_importing_lawful_or_hypothesis_draws_nothing() -> None:
    """``lawful`` never imports hypothesis; importing hypothesis runs the hook, which only
    registers: it neither imports ``lawful.strategies`` nor reads the bundled policy.
    """
    script = (
        "import sys, lawful\n"
        "assert 'hypothesis' not in sys.modules, 'lawful imported hypothesis'\n"
        "import hypothesis\n"
        "assert 'lawful.strategies' not in sys.modules, 'the hook imported the strategies'\n"
        "assert lawful._bundled.bundled_policy.cache_info().currsize == 0, 'the hook read a file'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
