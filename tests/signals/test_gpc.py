"""Global Privacy Control: ``Sec-GPC: 1`` becomes an opt-out and automated objections."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

import lawful
from lawful import (
    ConsentGiven,
    Objection,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
    ReasonCode,
    SignalError,
    Subject,
)
from lawful.signals import from_gpc, gpc_enabled
from lawful.signals.gpc import objected_purposes

NOW = datetime(2025, 6, 1, 12, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


@pytest.mark.parametrize(
    ("headers", "enabled"),
    [
        ({"Sec-GPC": "1"}, True),
        ({"sec-gpc": "1", "Accept": "*/*"}, True),
        ({"SEC-GPC": " 1\t"}, True),
        ("1", True),
        ({"Sec-GPC": "0"}, False),
        ({"Sec-GPC": "true"}, False),
        ({"Sec-GPC": "1.0"}, False),
        ({"Sec-GPC": ""}, False),
        ({"Sec-GPC": "1, 1"}, False),
        ({"DNT": "1"}, False),
        ({}, False),
        (None, False),
    ],
)
def test_only_the_exact_value_1_is_a_signal(
    headers: dict[str, str] | str | None, enabled: bool
) -> None:
    """Sec-GPC counts only with the value 1 (HTTP whitespace around it aside)."""
    assert gpc_enabled(headers) is enabled


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Sec-GPC": "1", "sec-gpc": "0"}, "more than once with different values"),
        ({"Sec-GPC": b"1"}, "expected a string value"),
        ({"Sec-GPC": "1" * 300}, "is not a GPC signal"),
        ({1: "1"}, "header names must be strings"),
        (["Sec-GPC", "1"], "expected headers or a header value"),
    ],
)
def test_malformed_headers_raise(headers: object, message: str) -> None:
    """Conflicting, non-text or oversized values are errors, not guesses."""
    with pytest.raises(SignalError, match=message):
        gpc_enabled(headers)  # type: ignore[arg-type]


def test_gpc_opts_out_and_objects_by_automated_means(policy: lawful.Policy) -> None:
    """An opt-out with the policy's scope, and Art. 21(5) objections to DM and opt-out LI."""
    result = from_gpc(policy, {"Sec-GPC": "1"}, subject=Subject("v"), received_at=NOW)
    opt_outs = [e for e in result.events if isinstance(e, OptOut)]
    objections = [e for e in result.events if isinstance(e, Objection)]
    assert [o.scope for o in opt_outs] == ["sale"]
    assert sorted(str(o.purpose) for o in objections) == ["fraud", "newsletter"]
    assert all(o.automated and o.at == NOW and o.recorded_at == NOW for o in objections)
    assert all(str(e.id).startswith("gpc:") for e in result.events)


def test_gpc_denies_direct_marketing_and_spares_what_it_does_not_reach(
    policy: lawful.Policy,
) -> None:
    """Direct marketing stops (Art. 21(3)); a purpose without opt-out keeps its basis."""
    subject = from_gpc(policy, "1", subject=Subject("v"), received_at=NOW).apply(Subject("v"))
    newsletter = policy.may_process(subject, "newsletter", NOW)
    assert not newsletter.allowed
    assert newsletter.code is ReasonCode.OBJECTED
    assert not policy.may_process(subject, "fraud", NOW).allowed
    assert policy.may_process(subject, "security", NOW).allowed


def test_the_policy_widens_gpc_never_narrows_it(policy: lawful.Policy) -> None:
    """Without a gpc_scope, GPC still objects to direct marketing and opt-out LI purposes."""
    narrow = attrs.evolve(policy, signals=attrs.evolve(policy.signals, gpc_scope=None))
    result = from_gpc(narrow, "1", subject=Subject("v"), received_at=NOW)
    assert {e.event_type for e in result.events} == {"objection"}
    assert [p.id for p in objected_purposes(narrow)] == ["newsletter", "fraud"]
    assert not narrow.may_process(result.apply(Subject("v")), "newsletter", NOW).allowed


@pytest.mark.parametrize("headers", [None, {}, {"Sec-GPC": "0"}])
def test_an_absent_header_withdraws_nothing(policy: lawful.Policy, headers: object) -> None:
    """After an opt-out, a request without GPC is not a withdrawal of it."""
    subject = from_gpc(policy, "1", subject=Subject("v"), received_at=NOW).apply(Subject("v"))
    result = from_gpc(policy, headers, subject=subject, received_at=LATER)  # type: ignore[arg-type]
    assert result.events == ()
    assert not policy.may_process(result.apply(subject), "newsletter", LATER).allowed


def test_gpc_is_recorded_once(policy: lawful.Policy) -> None:
    """A browser sends GPC with every request: only the first one is recorded."""
    subject = from_gpc(policy, "1", subject=Subject("v"), received_at=NOW).apply(Subject("v"))
    again = from_gpc(policy, "1", subject=subject, received_at=LATER)
    assert again.events == ()


def test_an_exception_the_person_granted_is_not_overruled(policy: lawful.Policy) -> None:
    """A person who lifts the opt-out on the site is not opted out again by the same header."""
    subject = from_gpc(policy, "1", subject=Subject("v"), received_at=NOW).apply(Subject("v"))
    subject = subject.extend(
        [
            OptOutWithdrawn(at=NOW + timedelta(minutes=5), scope="sale"),
            ObjectionWithdrawn(at=NOW + timedelta(minutes=5), purpose="fraud"),
        ]
    )
    result = from_gpc(policy, "1", subject=subject, received_at=LATER)
    assert result.events == ()
    assert policy.may_process(result.apply(subject), "fraud", LATER).allowed


def test_gpc_on_a_subject_already_opted_out_adds_nothing(policy: lawful.Policy) -> None:
    """An opt-out and objections already in force are not recorded a second time."""
    subject = Subject(
        "v",
        [
            OptOut(at=NOW - timedelta(days=1), scope="sale"),
            Objection(at=NOW - timedelta(days=1), purpose=None),
        ],
    )
    assert from_gpc(policy, "1", subject=subject, received_at=NOW).events == ()


def test_gpc_objection_to_a_consented_direct_marketing_purpose(policy: lawful.Policy) -> None:
    """Art. 21(3): an objection to consent-based direct marketing is OBJECTED, not a withdrawal."""
    dm = attrs.evolve(policy.purpose("personalisation"), direct_marketing=True)
    purposes = tuple(dm if p.id == "personalisation" else p for p in policy.purposes)
    marketing = attrs.evolve(policy, purposes=purposes)
    consented = Subject(
        "v",
        [
            ConsentGiven(
                at=NOW - timedelta(days=1), purpose="personalisation", policy_version="2025-01"
            )
        ],
    )
    subject = from_gpc(marketing, "1", subject=consented, received_at=NOW).apply(consented)
    assert marketing.may_process(subject, "personalisation", NOW).code is ReasonCode.OBJECTED
