"""Retention (Art. 5(1)(e), 13(2)(a)): after collection, after the last exchange, per session.

On the site policy (``tests/_site.py``): a limit reached exactly is exceeded; HubSpot's
rule (24 months after the last exchange, else 6 months after collection) counts only
exchanges about the data; ``earliest`` takes the earliest limit; "no period stated"
sets none; a session ends after its inactivity. The table of retention from the last
interaction is in test_rules_restriction.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests._rules import US, utc
from tests._site import code, decide

from lawful import (
    ConsentGiven,
    Interaction,
    ReasonCode,
)

pytestmark = pytest.mark.usefixtures("no_clock")


# -- a limit reached exactly ---------------------------------------------------------------


def test_retention_reached_exactly_is_exceeded() -> None:
    """Art. 5(1)(e): data collected at c with a period d is exceeded at ``at >= c + d``."""
    c = utc(2025, 1, 1, 10)
    limit = c + timedelta(days=90)
    last = decide([], "fraud", limit - US, collected_at=c)
    assert last.allowed
    assert last.valid_until == limit
    gone = decide([], "fraud", limit, collected_at=c)
    assert gone.code is ReasonCode.RETENTION_EXCEEDED
    assert gone.reason.clause == "purposes.fraud.retention"
    assert gone.valid_until is None


def test_month_retention_clamps_too() -> None:
    """Six months after 31 August is the last day of February."""
    c = utc(2025, 8, 31, 12)
    consent = ConsentGiven(at=c, purpose="ads")  # ads has no lifetime; retention 6 months
    limit = utc(2026, 2, 28, 12)
    assert decide([consent], "ads", limit - US, collected_at=c).valid_until == limit
    assert code([consent], "ads", limit, collected_at=c) is ReasonCode.RETENTION_EXCEEDED


# -- after the last interaction ------------------------------------------------------------

C = utc(2025, 1, 10, 12)


def test_hubspot_six_months_after_collection_without_a_reply() -> None:
    """Piwik PRO's HubSpot rule: 6 months after collection when we never heard back."""
    grant = ConsentGiven(at=C, purpose="hubspot")
    limit = utc(2025, 7, 10, 12)
    assert decide([grant], "hubspot", limit - US, collected_at=C).valid_until == limit
    assert code([grant], "hubspot", limit, collected_at=C) is ReasonCode.RETENTION_EXCEEDED
    page_view = Interaction(at=C + timedelta(days=30), kind="page_view")
    assert code([grant, page_view], "hubspot", limit, collected_at=C) is (
        ReasonCode.RETENTION_EXCEEDED
    )


def test_hubspot_24_months_after_the_last_exchange() -> None:
    """Piwik PRO's HubSpot rule: 24 months from the last exchange once there was one."""
    grant = ConsentGiven(at=C, purpose="hubspot")
    reply = Interaction(at=utc(2025, 2, 1), kind="reply")
    demo = Interaction(at=utc(2025, 9, 1), kind="demo", purpose="hubspot")
    events = [grant, reply, demo]
    at = utc(2025, 9, 2)
    decision = decide(events, "hubspot", at, collected_at=C)
    assert decision.allowed
    assert decision.valid_until == utc(2027, 9, 1)
    assert code(events, "hubspot", utc(2027, 9, 1), collected_at=C) is (
        ReasonCode.RETENTION_EXCEEDED
    )
    # Before the demo request only the reply counts.
    assert decide(events, "hubspot", utc(2025, 8, 1), collected_at=C).valid_until == utc(2027, 2, 1)


def test_an_exchange_before_collection_is_no_reply_to_the_data() -> None:
    """Art. 5(1)(e): an exchange before the data existed leaves it under the 6-month rule."""
    events = [Interaction(at=utc(2024, 1, 1), kind="reply"), ConsentGiven(at=C, purpose="hubspot")]
    assert decide(events, "hubspot", C + US, collected_at=C).valid_until == utc(2025, 7, 10, 12)


def test_an_exchange_for_another_purpose_does_not_count() -> None:
    """Interactions tied to another purpose do not extend this purpose's retention."""
    events = [
        ConsentGiven(at=C, purpose="hubspot"),
        Interaction(at=C + US, kind="reply", purpose="orders"),
    ]
    assert decide(events, "hubspot", C + US, collected_at=C).valid_until == utc(2025, 7, 10, 12)


# -- combinations, no period, sessions -----------------------------------------------------


def test_earliest_combination_takes_the_earliest_limit() -> None:
    """With ``earliest`` every rule that applies counts and the earliest limit wins."""
    logout = Interaction(at=C + timedelta(days=1), kind="logout")
    assert decide([], "security_log", C, collected_at=C).valid_until == utc(2026, 1, 10, 12)
    assert decide([logout], "security_log", C + timedelta(days=1), collected_at=C).valid_until == (
        C + timedelta(days=31)
    )


def test_no_period_stated_sets_no_limit() -> None:
    """Art. 13(2)(a): "no period stated" never expires when deciding (``check`` warns)."""
    decision = decide([], "forever", utc(2099, 1, 1), collected_at=utc(2000, 1, 1))
    assert decision.allowed
    assert decision.valid_until is None


def test_a_session_ends_after_the_stated_inactivity() -> None:
    """Session rule: data lives until 30 minutes pass without any interaction."""
    views = [Interaction(at=C + timedelta(minutes=m), kind="page_view") for m in (5, 20, 45)]
    end = C + timedelta(minutes=75)
    assert decide(views, "visit", C + timedelta(minutes=50), collected_at=C).valid_until == end
    assert decide(views, "visit", end - US, collected_at=C).allowed
    assert code(views, "visit", end, collected_at=C) is ReasonCode.RETENTION_EXCEEDED
    # No interaction within 30 minutes of collection: the session ended then.
    late = [Interaction(at=C + timedelta(minutes=30), kind="page_view")]
    assert code(late, "visit", C + timedelta(minutes=31), collected_at=C) is (
        ReasonCode.RETENTION_EXCEEDED
    )


def test_a_session_does_not_see_interactions_after_at() -> None:
    """Interactions after ``at`` cannot extend the session seen at ``at``."""
    view = Interaction(at=C + timedelta(minutes=10), kind="page_view")
    future = Interaction(at=C + timedelta(minutes=35), kind="page_view")
    at = C + timedelta(minutes=20)
    assert decide([view], "visit", at, collected_at=C) == decide(
        [view, future], "visit", at, collected_at=C
    )
