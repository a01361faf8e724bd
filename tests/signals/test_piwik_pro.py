"""Piwik PRO Consent Manager payloads become events, and lawful's state goes back as a payload."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

import lawful
from lawful import ConsentGiven, ConsentMethod, ConsentWithdrawn, ReasonCode, SignalError, Subject
from lawful.signals import SignalResult, from_piwik_pro, to_piwik_pro
from lawful.signals.piwik_pro import CONSENT_TYPES, parse_settings

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
T1 = "2025-05-03T10:00:00.123Z"
T2 = "2025-05-20T08:30:00+02:00"


def _payload(**statuses: tuple[int, str | None]) -> dict[str, object]:
    return {
        "consents": {
            name: {"status": s} if t is None else {"status": s, "updatedAt": t}
            for name, (s, t) in statuses.items()
        }
    }


def _kinds(result: SignalResult) -> dict[str, tuple[str, datetime]]:
    return {
        e.purpose: (e.event_type, e.at)
        for e in result.events
        if isinstance(e, ConsentGiven | ConsentWithdrawn)
    }


def test_the_consent_types() -> None:
    """The Consent Manager's seven consent types, "custom" being custom_consent."""
    assert set(CONSENT_TYPES) == {
        "analytics",
        "ab_testing_and_personalization",
        "marketing_automation",
        "remarketing",
        "user_feedback",
        "conversion_tracking",
        "custom_consent",
    }


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([], "expected \\{'consents'"),
        ({"consents": {}, "extra": 1}, "piwik_pro.extra: unknown key"),
        ({"consents": []}, "expected a mapping of consent types"),
        ({"consents": {"stats": {"status": 1}}}, "consents.stats: unknown consent type"),
        ({"consents": {"analytics": 1}}, "expected \\{'status'"),
        ({"consents": {"analytics": {"status": 2}}}, "status: expected 1, 0 or -1, got 2"),
        ({"consents": {"analytics": {"status": True}}}, "status: expected 1, 0 or -1"),
        ({"consents": {"analytics": {"status": "1"}}}, "status: expected 1, 0 or -1"),
        ({"consents": {"analytics": {}}}, "status: expected 1, 0 or -1, got None"),
        ({"consents": {"analytics": {"status": 1, "at": T1}}}, "analytics.at: unknown key"),
        (
            {"consents": {"analytics": {"status": 1, "updatedAt": "yesterday"}}},
            "is not an ISO 8601 timestamp",
        ),
        (
            {"consents": {"analytics": {"status": 1, "updatedAt": "2025-05-03T10:00:00"}}},
            "has no time zone",
        ),
        ({"consents": {"analytics": {"status": 1, "updatedAt": 1714730400}}}, "ISO 8601"),
    ],
)
def test_malformed_payloads_raise(payload: object, message: str) -> None:
    """Anything but the Consent Manager's shape is an error naming the key."""
    with pytest.raises(SignalError, match=message):
        parse_settings(payload)  # type: ignore[arg-type]


def test_approval_grants_at_updated_at(policy: lawful.Policy) -> None:
    """status 1 with updatedAt: a grant at that instant, stamped with version and method."""
    result = from_piwik_pro(
        policy, _payload(remarketing=(1, T1)), subject=Subject("v"), received_at=NOW
    )
    grants = [e for e in result.events if isinstance(e, ConsentGiven)]
    assert [(g.purpose, g.at, g.recorded_at, g.method, g.policy_version) for g in grants] == [
        (
            "ads",
            datetime(2025, 5, 3, 10, 0, 0, 123000, tzinfo=UTC),
            NOW,
            ConsentMethod.PIWIK_PRO,
            "2025-01",
        )
    ]
    assert policy.may_process(result.apply(Subject("v")), "ads", NOW).allowed


def test_rejection_withdraws_at_updated_at(policy: lawful.Policy) -> None:
    """status 0: a withdrawal at its updatedAt."""
    result = from_piwik_pro(
        policy, _payload(analytics=(0, T2)), subject=Subject("v"), received_at=NOW
    )
    assert _kinds(result)["measurement"] == (
        "consent_withdrawn",
        datetime(2025, 5, 20, 6, 30, tzinfo=UTC),
    )


def test_no_decision_grants_nothing(policy: lawful.Policy) -> None:
    """status -1 ("closed the popup") is no act: it never grants, nor overrides a choice."""
    given = Subject("v", [ConsentGiven(at=NOW - timedelta(days=3), purpose="ads")])
    result = from_piwik_pro(policy, _payload(remarketing=(-1, T2)), subject=given, received_at=NOW)
    assert "ads" not in _kinds(result)
    fresh = from_piwik_pro(
        policy, _payload(remarketing=(-1, T2)), subject=Subject("w"), received_at=NOW
    )
    assert _kinds(fresh)["ads"][0] == "consent_withdrawn"


def test_a_purpose_bound_to_several_types_needs_all(policy: lawful.Policy) -> None:
    """A grant needs every bound type approved; its time is the latest approval."""
    bindings = (
        lawful.SignalBinding(signal="analytics", purposes=("measurement",)),
        lawful.SignalBinding(signal="user_feedback", purposes=("measurement",)),
    )
    both = attrs.evolve(policy, signals=attrs.evolve(policy.signals, piwik_pro=bindings))
    half = from_piwik_pro(both, _payload(analytics=(1, T1)), subject=Subject("v"), received_at=NOW)
    assert _kinds(half)["measurement"][0] == "consent_withdrawn"
    full = from_piwik_pro(
        both,
        _payload(analytics=(1, T1), user_feedback=(1, T2)),
        subject=Subject("v"),
        received_at=NOW,
    )
    assert _kinds(full)["measurement"] == (
        "consent_given",
        datetime(2025, 5, 20, 6, 30, tzinfo=UTC),
    )
    mixed = from_piwik_pro(
        both,
        _payload(analytics=(0, T2), user_feedback=(1, T1)),
        subject=Subject("v"),
        received_at=NOW,
    )
    assert _kinds(mixed)["measurement"][0] == "consent_withdrawn"


def test_updated_at_after_receipt_is_moved_back(policy: lawful.Policy) -> None:
    """Events are never later than the payload's receipt."""
    result = from_piwik_pro(
        policy,
        _payload(remarketing=(1, "2030-01-01T00:00:00Z")),
        subject=Subject("v"),
        received_at=NOW,
    )
    assert _kinds(result)["ads"] == ("consent_given", NOW)
    assert "time_after_receipt" in {f.code for f in result.findings}


def test_a_repeated_payload_is_not_appended_twice(policy: lawful.Policy) -> None:
    """The same settings again map to the same ids."""
    payload = _payload(remarketing=(1, T1), analytics=(0, T2))
    first = from_piwik_pro(policy, payload, subject=Subject("v"), received_at=NOW)
    subject = first.apply(Subject("v"))
    again = from_piwik_pro(policy, payload, subject=subject, received_at=LATER)
    assert again.events == ()
    assert len(again.repeats) == 2


def test_without_updated_at_only_changes_are_recorded(policy: lawful.Policy) -> None:
    """A payload with no time is stamped with its receipt and recorded only when it changed."""
    first = from_piwik_pro(
        policy, _payload(remarketing=(1, None)), subject=Subject("v"), received_at=NOW
    )
    assert _kinds(first)["ads"] == ("consent_given", NOW)
    subject = first.apply(Subject("v"))
    assert "ads" not in _kinds(
        from_piwik_pro(policy, _payload(remarketing=(1, None)), subject=subject, received_at=LATER)
    )


def test_back_to_the_consent_manager(policy: lawful.Policy) -> None:
    """Approved where lawful allows, rejected where consent was withdrawn, else left out."""
    subject = Subject(
        "v",
        [
            ConsentGiven(at=NOW - timedelta(days=2), purpose="ads", policy_version="2025-01"),
            ConsentGiven(
                at=NOW - timedelta(days=2), purpose="measurement", policy_version="2025-01"
            ),
            ConsentWithdrawn(at=NOW - timedelta(days=1), purpose="measurement"),
        ],
    )
    assert to_piwik_pro(policy, subject, NOW) == {
        "consents": {"analytics": {"status": 0}, "remarketing": {"status": 1}}
    }
    in_step = _payload(remarketing=(1, T1), analytics=(1, T1))
    assert to_piwik_pro(policy, subject, NOW, current=in_step) == {
        "consents": {"analytics": {"status": 0}}
    }


def test_the_payload_sent_back_reads_back_as_the_same_state(policy: lawful.Policy) -> None:
    """What to_piwik_pro sends, read back as the Consent Manager reports it, changes no decision."""
    subject = Subject(
        "v", [ConsentGiven(at=NOW - timedelta(days=2), purpose="ads", policy_version="2025-01")]
    )
    sent = to_piwik_pro(policy, subject, NOW)
    echoed = {
        "consents": {k: {**v, "updatedAt": NOW.isoformat()} for k, v in sent["consents"].items()}
    }
    after = from_piwik_pro(policy, echoed, subject=subject, received_at=NOW).apply(subject)

    def allowed(s: Subject) -> dict[str, bool]:
        return {p: d.allowed for p, d in policy.decide_all(s, NOW).items()}

    assert allowed(after) == allowed(subject)


def test_a_withdrawal_through_the_consent_manager_denies(policy: lawful.Policy) -> None:
    """A rejection after a grant denies from its updatedAt on."""
    subject = from_piwik_pro(
        policy, _payload(remarketing=(1, T1)), subject=Subject("v"), received_at=NOW
    ).apply(Subject("v"))
    subject = from_piwik_pro(
        policy, _payload(remarketing=(0, T2)), subject=subject, received_at=NOW
    ).apply(subject)
    assert policy.may_process(subject, "ads", NOW).code is ReasonCode.CONSENT_WITHDRAWN
    # Both were received at NOW: the grant dated 3 May never counts before it was on record
    # (a record never back-dates a permission), and by then the later refusal stands.
    between = policy.may_process(subject, "ads", datetime(2025, 5, 10, tzinfo=UTC))
    assert between.code is ReasonCode.NO_CONSENT
