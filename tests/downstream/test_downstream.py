"""A downstream team's property test, as it would sit in *their* repository.

It imports ``lawful`` and ``hypothesis`` only — never ``lawful.strategies`` — and
asks for ``st.from_type(lawful.Subject)``: the ``hypothesis`` entry point that
lawful installs makes that work (subjects fit the bundled Piwik PRO policy).
``nox -s downstream`` runs this file as a script in a new virtual environment
holding only the built wheel and hypothesis; the main suite runs it under pytest.
"""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime, time, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lawful

POLICY_NAME = "piwik-pro"
# Within a second, a day and a year of the person's own events: where answers change.
OFFSETS = st.sampled_from(
    [timedelta(0), timedelta(seconds=1), timedelta(days=1), timedelta(days=400), -timedelta(days=1)]
)


def test_subjects_from_type_meet_both_answers() -> None:
    """``st.from_type(lawful.Subject)`` draws people the bundled policy both allows and
    denies: deciding every purpose for them yields allows and denies, each explained.
    """
    policy = lawful.bundled_policy(POLICY_NAME)
    outcomes: Counter[bool] = Counter()

    @settings(
        max_examples=100,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.from_type(lawful.Subject), st.data())
    def run(visitor: lawful.Subject, data: st.DataObject) -> None:
        base = data.draw(st.sampled_from([e.at for e in visitor.events] or [policy_epoch()]))
        now = base + data.draw(OFFSETS)
        for decision in policy.decide_all(visitor, now).values():
            outcomes[decision.allowed] += 1
            assert decision.explain()
            assert decision.allowed == decision.code.allows

    run()
    assert outcomes[True] > 0, outcomes
    assert outcomes[False] > 0, outcomes


def policy_epoch() -> datetime:
    """An instant for people with no events: the policy's last update, at noon UTC."""
    updated = lawful.bundled_policy(POLICY_NAME).updated
    assert updated is not None
    return datetime.combine(updated, time(12), tzinfo=UTC)


if __name__ == "__main__":
    test_subjects_from_type_meet_both_answers()
    assert "lawful.strategies" in sys.modules  # drawn through the plugin, not imported here
    sys.stdout.write(f"downstream: ok with lawful from {lawful.__file__}\n")
