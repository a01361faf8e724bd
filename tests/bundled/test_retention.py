"""The bundled Piwik PRO policy's retention periods (Art. 5(1)(e), 13(2)(a)), stated or not.

Each period the text states, "not stated" where it gives none, and the decisions they
lead to: recruitment data kept 36 months, HubSpot's 24 months after the last exchange
else 6 after collection, the session identifier's 30 minutes.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.bundled._piwik_pro import (
    POLICY,
    RETENTION,
    STATED,
    T0,
    UNSTATED,
    _decide,
    _subject,
)

from lawful import (
    ConsentGiven,
    Event,
    Interaction,
    NoPeriodStated,
    ReasonCode,
    RetentionCombine,
)

# -- periods as stated ---------------------------------------------------------------------


@pytest.mark.parametrize(("purpose", "rules", "quote"), RETENTION, ids=[r[0] for r in RETENTION])
def test_stated_retention(purpose: str, rules: tuple[object, ...], quote: str) -> None:
    """Each retention period the text states is the purpose's retention rule."""
    retention = POLICY.purpose(purpose).retention
    assert retention.rules == rules, quote
    assert retention.combine is RetentionCombine.FIRST


@pytest.mark.parametrize(("purpose", "quote"), UNSTATED, ids=[r[0] for r in UNSTATED])
def test_unstated_retention_is_marked_not_stated(purpose: str, quote: str) -> None:
    """Where the text gives no period, the retention says "not stated" rather than invent one."""
    retention = POLICY.purpose(purpose).retention
    assert not retention.stated, quote
    assert all(isinstance(rule, NoPeriodStated) for rule in retention.rules)


def test_every_purpose_has_its_retention_checked() -> None:
    """The two retention tables cover every purpose."""
    assert {r[0] for r in RETENTION} | {r[0] for r in UNSTATED} == set(POLICY.purpose_ids)


def test_recruitment_limit_is_retention_not_consent_lifetime() -> None:
    """'The maximum time your data is held is 36 months' limits data, not the consent."""
    assert POLICY.purpose("recruitment").consent_lifetime is None


# -- decisions -----------------------------------------------------------------------------

_APPLIED = datetime(2024, 9, 2, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "code"),
    [
        (datetime(2027, 9, 2, 8, 59, tzinfo=UTC), ReasonCode.CONSENT_GIVEN),
        (datetime(2027, 9, 2, 9, tzinfo=UTC), ReasonCode.RETENTION_EXCEEDED),
        (datetime(2028, 1, 1, tzinfo=UTC), ReasonCode.RETENTION_EXCEEDED),
    ],
)
def test_recruitment_data_is_kept_at_most_36_months(at: datetime, code: ReasonCode) -> None:
    """Application data collected 36 months ago or more is denied, consent or not."""
    subject = _subject(ConsentGiven(at=_APPLIED, purpose="recruitment"))
    assert _decide(STATED, subject, "recruitment", at, collected_at=_APPLIED) is code


@pytest.mark.parametrize(
    ("events", "collected", "at", "code"),
    [
        # No exchange: "after 6 months from collection".
        ((), T0, datetime(2025, 9, 3, 9, tzinfo=UTC), ReasonCode.CONSENT_GIVEN),
        ((), T0, datetime(2025, 9, 3, 10, tzinfo=UTC), ReasonCode.RETENTION_EXCEEDED),
        # A content download is no exchange.
        (
            ("content_download",),
            T0,
            datetime(2025, 9, 4, tzinfo=UTC),
            ReasonCode.RETENTION_EXCEEDED,
        ),
        # "after 24 months from the last exchange" (a demo request, here a month after).
        (("demo_request",), T0, datetime(2027, 4, 3, 9, tzinfo=UTC), ReasonCode.CONSENT_GIVEN),
        (
            ("demo_request",),
            T0,
            datetime(2027, 4, 3, 10, tzinfo=UTC),
            ReasonCode.RETENTION_EXCEEDED,
        ),
    ],
)
def test_hubspot_retention(
    events: tuple[str, ...], collected: datetime, at: datetime, code: ReasonCode
) -> None:
    """HubSpot keeps data 24 months after the last exchange, else 6 months after collection."""
    history: list[Event] = [ConsentGiven(at=T0, purpose="marketing_automation")]
    history += [Interaction(at=T0.replace(month=4), kind=kind) for kind in events]
    got = _decide(STATED, _subject(*history), "marketing_automation", at, collected_at=collected)
    assert got is code


@pytest.mark.parametrize(
    ("minutes", "code"),
    [(29, ReasonCode.LEGITIMATE_INTEREST), (30, ReasonCode.RETENTION_EXCEEDED)],
)
def test_session_identifier_ends_after_30_minutes(minutes: int, code: ReasonCode) -> None:
    """The temporary identifier's data goes when the session ends: 30 minutes without activity."""
    subject = _subject(ConsentGiven(at=T0, purpose="session_statistics"))
    at = T0.replace(minute=minutes)
    assert _decide(POLICY, subject, "session_statistics", at, collected_at=T0) is code
