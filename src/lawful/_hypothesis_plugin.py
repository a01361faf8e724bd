"""Teaches ``st.from_type`` lawful's types (run by hypothesis through its entry point).

Installed with lawful, :func:`_hypothesis_setup_hook` runs whenever hypothesis is
imported, so a downstream test can ask for ``st.from_type(lawful.Subject)`` without
importing :mod:`lawful.strategies`. The hook only registers: every strategy is
built on first use (``st.deferred``), so importing hypothesis draws nothing, reads
no file and does not import :mod:`lawful.strategies` (which imports hypothesis: a
cycle if done here). Subjects, events and decisions fit the bundled Piwik PRO
policy, read the first time one is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import SearchStrategy

    from lawful.decision import Decision
    from lawful.duration import Duration
    from lawful.events import Event
    from lawful.model import AgeRules, DataCategory, Purpose, Vendor
    from lawful.policy import Policy
    from lawful.subject import Subject

__all__: list[str] = []

BUNDLED = "piwik-pro"
"""The bundled policy that drawn subjects, events and decisions fit."""


def _bundled() -> Policy:
    from lawful._bundled import bundled_policy  # noqa: PLC0415 - read on first draw only

    return bundled_policy(BUNDLED)


def _policies() -> SearchStrategy[Policy]:
    from lawful import strategies  # noqa: PLC0415 - imports hypothesis, so on first use

    return strategies.policies()


def _purposes() -> SearchStrategy[Purpose]:
    from hypothesis import strategies as st  # noqa: PLC0415

    # Purposes from a policy carry its context (age rules, versions): complete for deciding.
    return _policies().flatmap(lambda policy: st.sampled_from(policy.purposes))


def _subjects() -> SearchStrategy[Subject]:
    from lawful import strategies  # noqa: PLC0415

    return strategies.subjects(policy=_bundled())


def _events_of(kind: type[Event]) -> Callable[[], SearchStrategy[Event]]:
    def make() -> SearchStrategy[Event]:
        from lawful import strategies  # noqa: PLC0415

        return strategies.events(policy=_bundled(), types=[kind])

    return make


def _decisions() -> SearchStrategy[Decision]:
    from hypothesis import strategies as st  # noqa: PLC0415

    from lawful import strategies  # noqa: PLC0415

    policy = _bundled()

    def ask(subject: Subject) -> SearchStrategy[Decision]:
        return st.builds(
            policy.may_process,
            st.just(subject),
            st.sampled_from(policy.purpose_ids),
            strategies.instants(policy=policy, around=subject.events),
        )

    return strategies.subjects(policy=policy).flatmap(ask)


def _data_categories() -> SearchStrategy[DataCategory]:
    from lawful import strategies  # noqa: PLC0415

    return strategies.data_categories()


def _vendors() -> SearchStrategy[Vendor]:
    from lawful import strategies  # noqa: PLC0415

    return strategies.vendors()


def _age_rules() -> SearchStrategy[AgeRules]:
    from lawful import strategies  # noqa: PLC0415

    return strategies.age_rules()


def _durations() -> SearchStrategy[Duration]:
    from lawful import strategies  # noqa: PLC0415

    return strategies.durations()


def _hypothesis_setup_hook() -> None:
    """Register lawful's value types with ``st.from_type`` (no drawing, no I/O)."""
    from hypothesis import strategies as st  # noqa: PLC0415

    import lawful  # noqa: PLC0415 - lawful never imports hypothesis; this is the other way
    from lawful.events import EVENT_TYPES  # noqa: PLC0415

    st.register_type_strategy(lawful.Policy, st.deferred(_policies))
    st.register_type_strategy(lawful.Purpose, st.deferred(_purposes))
    st.register_type_strategy(lawful.Subject, st.deferred(_subjects))
    st.register_type_strategy(lawful.Decision, st.deferred(_decisions))
    st.register_type_strategy(lawful.DataCategory, st.deferred(_data_categories))
    st.register_type_strategy(lawful.Vendor, st.deferred(_vendors))
    st.register_type_strategy(lawful.AgeRules, st.deferred(_age_rules))
    st.register_type_strategy(lawful.Duration, st.deferred(_durations))
    for kind in EVENT_TYPES:
        st.register_type_strategy(kind, st.deferred(_events_of(kind)))
