"""Google Consent Mode v2: default and update commands become events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import lawful
from lawful import ConsentGiven, ConsentMethod, ConsentWithdrawn, ReasonCode, SignalError, Subject
from lawful.signals import SignalResult, from_consent_mode
from lawful.signals.consent_mode import CONSENT_TYPES, parse_commands

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)
GRANT_ADS = ("update", {"ad_storage": "granted", "ad_personalization": "granted"})


def _kinds(result: SignalResult) -> dict[str, str]:
    return {
        e.purpose: e.event_type
        for e in result.events
        if isinstance(e, ConsentGiven | ConsentWithdrawn)
    }


def test_the_seven_consent_types() -> None:
    """Consent Mode v2 has exactly these consent types."""
    assert set(CONSENT_TYPES) == {
        "ad_storage",
        "analytics_storage",
        "ad_user_data",
        "ad_personalization",
        "functionality_storage",
        "personalization_storage",
        "security_storage",
    }


@pytest.mark.parametrize(
    ("commands", "message"),
    [
        ("update", "expected a sequence of commands"),
        ([("update",)], "expected \\(command, parameters\\)"),
        ([("set", {"ad_storage": "granted"})], "unknown command 'set'"),
        ([("update", ["ad_storage"])], "parameters as a mapping"),
        ([("update", {"ad_storage": True})], "expected 'granted' or 'denied'"),
        ([("update", {"ad_storage": "Granted"})], "expected 'granted' or 'denied'"),
        ([("update", {"ads_storage": "granted"})], "ads_storage: unknown consent type"),
        ([("update", {"region": ["ES"]})], "region: unknown consent type"),
        ([42], "expected a command like"),
        ([("update", {})] * 65, "65 commands, more than 64"),
    ],
)
def test_malformed_commands_raise(commands: object, message: str) -> None:
    """Unknown commands, types or values are errors that say where."""
    with pytest.raises(SignalError, match=message):
        parse_commands(commands)


def test_both_command_forms_are_read() -> None:
    """("update", {...}) and the data-layer form ("consent", "update", {...}) are the same."""
    assert parse_commands([("consent", "update", {"ad_storage": "denied"})]) == parse_commands(
        [["update", {"ad_storage": "denied"}]]
    )


def test_default_parameters_are_accepted_and_ignored() -> None:
    """wait_for_update and region shape a default and are not consent types."""
    assert parse_commands(
        [("default", {"ad_storage": "denied", "wait_for_update": 500, "region": ["ES"]})]
    ) == (("default", {"ad_storage": False}),)


def test_an_update_granting_every_bound_type_grants(policy: lawful.Policy) -> None:
    """All bound types updated to granted: a grant stamped with the policy version."""
    result = from_consent_mode(policy, [GRANT_ADS], subject=Subject("v"), received_at=NOW)
    grants = [e for e in result.events if isinstance(e, ConsentGiven)]
    assert [(g.purpose, g.method, g.policy_version, g.at) for g in grants] == [
        ("ads", ConsentMethod.CONSENT_MODE, "2025-01", NOW)
    ]
    assert policy.may_process(result.apply(Subject("v")), "ads", NOW).allowed


def test_a_purpose_needs_every_bound_type(policy: lawful.Policy) -> None:
    """ad_storage alone does not grant a purpose bound to ad_personalization too."""
    result = from_consent_mode(
        policy, [("update", {"ad_storage": "granted"})], subject=Subject("v"), received_at=NOW
    )
    assert _kinds(result)["ads"] == "consent_withdrawn"


def test_an_update_denied_is_a_withdrawal(policy: lawful.Policy) -> None:
    """Denying one bound type withdraws a consent given earlier."""
    subject = from_consent_mode(policy, [GRANT_ADS], subject=Subject("v"), received_at=NOW).apply(
        Subject("v")
    )
    result = from_consent_mode(
        policy, [("update", {"ad_personalization": "denied"})], subject=subject, received_at=LATER
    )
    assert _kinds(result) == {"ads": "consent_withdrawn"}
    decision = policy.may_process(result.apply(subject), "ads", LATER)
    assert decision.code is ReasonCode.CONSENT_WITHDRAWN


def test_an_update_outranks_a_default_whatever_the_order(policy: lawful.Policy) -> None:
    """A default after an update does not undo it."""
    commands = [GRANT_ADS, ("default", {"ad_storage": "denied", "ad_personalization": "denied"})]
    result = from_consent_mode(policy, commands, subject=Subject("v"), received_at=NOW)
    assert _kinds(result)["ads"] == "consent_given"


def test_the_last_update_wins(policy: lawful.Policy) -> None:
    """Two updates in one batch: the later one counts."""
    commands = [GRANT_ADS, ("update", {"ad_storage": "denied"})]
    result = from_consent_mode(policy, commands, subject=Subject("v"), received_at=NOW)
    assert _kinds(result)["ads"] == "consent_withdrawn"


def test_a_change_of_mind_through_the_banner_grants_again(policy: lawful.Policy) -> None:
    """denied then granted through Consent Mode itself is a new affirmative act."""
    subject = Subject("v")
    for at, commands in (
        (NOW, [GRANT_ADS]),
        (NOW + timedelta(minutes=1), [("update", {"ad_storage": "denied"})]),
        (NOW + timedelta(minutes=2), [GRANT_ADS]),
    ):
        subject = from_consent_mode(policy, commands, subject=subject, received_at=at).apply(
            subject
        )
    assert [e.event_type for e in subject.events if getattr(e, "purpose", None) == "ads"] == [
        "consent_given",
        "consent_withdrawn",
        "consent_given",
    ]
    assert policy.may_process(subject, "ads", LATER).allowed


def test_a_replayed_update_changes_nothing(policy: lawful.Policy) -> None:
    """Sites replay the stored choice on every page: nothing new is recorded."""
    subject = from_consent_mode(policy, [GRANT_ADS], subject=Subject("v"), received_at=NOW).apply(
        Subject("v")
    )
    page = [("default", {"ad_storage": "denied", "ad_personalization": "denied"}), GRANT_ADS]
    assert from_consent_mode(policy, page, subject=subject, received_at=LATER).events == ()


def test_unbound_types_change_nothing(policy: lawful.Policy) -> None:
    """functionality_storage is not bound in the test policy."""
    result = from_consent_mode(
        policy,
        [("update", {"functionality_storage": "denied", "security_storage": "granted"})],
        subject=Subject("v", [ConsentGiven(at=NOW - timedelta(1), purpose="ads")]),
        received_at=NOW,
    )
    assert "ads" not in _kinds(result)
