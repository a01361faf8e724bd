"""The framework-free consent service both integrations answer with."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from tests.contrib._fixtures import Clock

import lawful
from lawful.contrib import ConsentService, RequestProblem, consent_purposes, needs_consent
from lawful.contrib._core import valid_subject_id
from lawful.ledger import MemoryLedger


def _body(choices: object) -> bytes:
    return json.dumps({"choices": choices}).encode()


@pytest.fixture
def service(policy: lawful.Policy, ledger: MemoryLedger, clock: Clock) -> ConsentService:
    return ConsentService(policy, ledger, clock, subject_category="visitor")


def test_banner_purposes_are_those_a_consent_decides(policy: lawful.Policy) -> None:
    """Consent purposes and device access without strict necessity are asked; others not."""
    asked = consent_purposes(policy)
    assert "analytics" in asked
    assert "purchases" not in asked  # contract: no consent to ask
    assert "data_subject_requests" not in asked  # device access declared strictly necessary
    assert all(needs_consent(policy.purpose(p)) for p in asked)


def test_subject_category_narrows_the_purposes(policy: lawful.Policy) -> None:
    """A banner for visitors does not ask job applicants' consent."""
    assert "recruitment" in consent_purposes(policy)
    assert "recruitment" not in consent_purposes(policy, subject_category="visitor")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "invalid_request"),
        (b"[]", "invalid_request"),
        (json.dumps({"choices": {}, "extra": 1}).encode(), "invalid_request"),
        (_body({}), "invalid_request"),
        (_body(["analytics"]), "invalid_request"),
        (_body({"analytcs": "accept"}), "unknown_purpose"),
        (_body({"purchases": "accept"}), "not_a_consent_purpose"),
        (_body({"recruitment": "accept"}), "not_a_consent_purpose"),
        (_body({"analytics": "refuse"}), "invalid_choice"),
        (_body({"analytics": True}), "invalid_choice"),
        (_body({"analytics": "Accept"}), "invalid_choice"),
        (b"{" + b" " * 70_000 + b"}", "invalid_request"),
    ],
)
def test_anything_but_known_purposes_and_two_words_is_refused(
    service: ConsentService, body: bytes, code: str
) -> None:
    """A request naming an unknown purpose, a non-consent purpose or another word is a 400."""
    problem = service.parse(body)
    assert isinstance(problem, RequestProblem)
    assert (problem.status, problem.code) == (400, code)
    assert problem.to_dict()["detail"] == {"code": code, "reason": problem.reason}


def test_choices_become_banner_consents_stamped_with_the_version(
    service: ConsentService, ledger: MemoryLedger, clock: Clock
) -> None:
    """Accept records a banner consent under the policy version; reject a withdrawal."""
    parsed = service.parse(_body({"analytics": "accept", "conversion_tracking": "reject"}))
    assert parsed == {"analytics": "accept", "conversion_tracking": "reject"}
    answer = service.record("visitor-1", parsed)
    given, withdrawn = ledger.events("visitor-1")
    assert isinstance(given, lawful.ConsentGiven)
    assert given.method is lawful.ConsentMethod.BANNER
    assert given.policy_version == service.policy.version
    assert given.at == given.recorded_at == clock.now
    assert isinstance(withdrawn, lawful.ConsentWithdrawn)
    assert withdrawn.purpose == "conversion_tracking"
    decisions = answer["decisions"]
    assert isinstance(decisions, dict)
    assert decisions["analytics"]["allowed"] is True
    assert decisions["conversion_tracking"]["reasons"][0]["code"] == "consent_withdrawn"
    assert set(decisions) == set(service.policy.purpose_ids)


def test_without_a_subject_consent_purposes_deny(service: ConsentService) -> None:
    """A request without a subject id is decided for a subject with no events: fail closed."""
    assert service.decide(None, "analytics").code is lawful.ReasonCode.NO_CONSENT


def test_linking_carries_refusals_not_consents(
    service: ConsentService, ledger: MemoryLedger, clock: Clock
) -> None:
    """At login a withdrawal follows the person; an anonymous consent is not extended."""
    service.record("cookie-1", {"analytics": "accept", "conversion_tracking": "reject"})
    clock.advance()
    carried = service.link("cookie-1", "user-1")
    assert [type(e) for e in carried] == [lawful.ConsentWithdrawn]
    assert service.decide("user-1", "analytics").code is lawful.ReasonCode.NO_CONSENT
    assert service.decide("user-1", "conversion_tracking").code is (
        lawful.ReasonCode.CONSENT_WITHDRAWN
    )
    assert service.link("cookie-1", "user-1") == carried  # idempotent
    assert len(list(ledger.events("user-1"))) == 1
    assert service.link("user-1", "user-1") == []


def test_a_carried_withdrawal_ends_the_accounts_earlier_consent(
    service: ConsentService, clock: Clock
) -> None:
    """A withdrawal given anonymously after the account's consent denies for the account."""
    service.record("user-1", {"analytics": "accept"})
    clock.advance()
    service.record("cookie-1", {"analytics": "reject"})
    clock.advance()
    service.link("cookie-1", "user-1")
    assert service.decide("user-1", "analytics").code is lawful.ReasonCode.CONSENT_WITHDRAWN


@pytest.mark.parametrize(
    ("value", "expected"),
    [("v-1", "v-1"), ("", None), (" v", None), ("a\nb", None), ("x" * 257, None), (7, None)],
)
def test_malformed_subject_ids_count_as_none(value: object, expected: str | None) -> None:
    """An empty, padded, multi-line, overlong or non-string id names no subject."""
    assert valid_subject_id(value) == expected


def test_the_answer_sees_the_choice_even_when_the_ledger_clock_is_ahead(
    policy: lawful.Policy, clock: Clock
) -> None:
    """The decisions answered are those after the record exists, whichever clock is later."""
    ahead = MemoryLedger(clock=lambda: clock.now + timedelta(seconds=5))
    answer = ConsentService(policy, ahead, clock).record("v", {"analytics": "accept"})
    decisions = answer["decisions"]
    assert isinstance(decisions, dict)
    assert decisions["analytics"]["allowed"] is True
    assert decisions["analytics"]["at"] == (clock.now + timedelta(seconds=5)).isoformat()
