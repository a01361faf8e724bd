"""TC strings become events through the policy's ``signals.tcf`` bindings; validity findings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

import lawful
from lawful import (
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    NaiveDatetimeError,
    Objection,
    ObjectionWithdrawn,
    ReasonCode,
    SignalError,
    Subject,
)
from lawful.signals import from_tcf, tcf
from lawful.signals.tcf import PublisherRestriction, PublisherTC, RestrictionType, TCString

UPDATED = datetime(2025, 5, 2, 9, 30, tzinfo=UTC)
RECEIVED = datetime(2025, 6, 1, 12, tzinfo=UTC)
LATER = RECEIVED + timedelta(days=1)
ADNET, STATS = 755, 42


def _tc(**changes: Any) -> TCString:
    """A string that grants everything the test policy binds, changed as asked."""
    base = TCString(
        created=UPDATED - timedelta(days=30),
        last_updated=UPDATED,
        cmp_id=10,
        vendor_list_version=100,
        purposes_consent={1, 3, 4, 8},
        purposes_li_transparency={7},
        vendor_consents={ADNET, STATS},
        vendor_legitimate_interests={ADNET},
        publisher_tc=PublisherTC(purposes_consent={5}),
    )
    return attrs.evolve(base, **changes)


def _targets(result: lawful.signals.SignalResult) -> dict[tuple[str, str | None], str]:
    out: dict[tuple[str, str | None], str] = {}
    for event in result.events:
        if isinstance(event, ConsentGiven | ConsentWithdrawn):
            out[event.purpose, event.vendor] = event.event_type
        elif isinstance(event, Objection | ObjectionWithdrawn):
            out[str(event.purpose), "objection"] = event.event_type
    return out


def test_a_full_string_grants_every_bound_purpose_and_vendor(policy: lawful.Policy) -> None:
    """Every consent bit set: a grant per purpose and per bound vendor, nothing for LI."""
    result = from_tcf(policy, tcf.encode(_tc()), subject=Subject("v"), received_at=RECEIVED)
    assert _targets(result) == {
        ("ads", None): "consent_given",
        ("ads", "adnet"): "consent_given",
        ("measurement", None): "consent_given",
        ("measurement", "stats"): "consent_given",
        ("personalisation", None): "consent_given",
    }
    subject = result.apply(Subject("v"))
    for purpose in ("ads", "measurement", "personalisation", "ad_reporting"):
        assert policy.may_process(subject, purpose, RECEIVED).allowed, purpose


def test_events_carry_last_updated_the_policy_version_and_the_method(
    policy: lawful.Policy,
) -> None:
    """Consent events are stamped with LastUpdated, received_at, policy_version and "tcf"."""
    result = from_tcf(policy, _tc(), subject=Subject("v"), received_at=RECEIVED)
    for event in result.events:
        assert event.at == UPDATED
        assert event.recorded_at == RECEIVED
        assert event.id is not None
        assert event.id.startswith("tcf:")
        assert isinstance(event, ConsentGiven)
        assert (event.policy_version, event.method) == ("2025-01", ConsentMethod.TCF)


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"purposes_consent": {1, 4, 8}}, [("ads", None)]),
        ({"purposes_consent": {3, 4, 8}}, [("ads", None), ("measurement", None)]),
        ({"vendor_consents": {STATS}}, [("ads", "adnet")]),
        ({"vendor_consents": set()}, [("ads", "adnet"), ("measurement", "stats")]),
        ({"publisher_tc": None}, [("personalisation", None)]),
        ({"publisher_tc": PublisherTC(purposes_consent={1, 2})}, [("personalisation", None)]),
        (
            {
                "publisher_restrictions": [
                    PublisherRestriction(4, RestrictionType.NOT_ALLOWED, {ADNET})
                ]
            },
            [("ads", "adnet")],
        ),
        (
            {
                "publisher_restrictions": [
                    PublisherRestriction(8, RestrictionType.REQUIRE_LEGITIMATE_INTEREST, {STATS})
                ]
            },
            [("measurement", "stats")],
        ),
        ({"disclosed_vendors": {STATS}}, [("ads", "adnet")]),
    ],
)
def test_each_unset_bit_or_restriction_is_a_withdrawal(
    policy: lawful.Policy, changes: dict[str, object], refused: list[tuple[str, str | None]]
) -> None:
    """An unset bit, a restriction or an undisclosed vendor refuses exactly what it covers."""
    result = from_tcf(policy, _tc(**changes), subject=Subject("v"), received_at=RECEIVED)
    targets = _targets(result)
    assert sorted(k for k, v in targets.items() if v == "consent_withdrawn") == sorted(refused)
    subject = result.apply(Subject("v"))
    for purpose, _ in refused:
        decision = policy.may_process(subject, purpose, RECEIVED)
        assert decision.code is ReasonCode.CONSENT_WITHDRAWN


def test_a_restriction_for_another_purpose_or_vendor_changes_nothing(policy: lawful.Policy) -> None:
    """Restrictions count only for the bound purposes and vendors they name."""
    restrictions = [
        PublisherRestriction(2, RestrictionType.NOT_ALLOWED, {ADNET}),
        PublisherRestriction(1, RestrictionType.NOT_ALLOWED, {9}),
        PublisherRestriction(1, RestrictionType.REQUIRE_CONSENT, {ADNET}),
    ]
    result = from_tcf(
        policy, _tc(publisher_restrictions=restrictions), subject=Subject("v"), received_at=RECEIVED
    )
    assert set(_targets(result).values()) == {"consent_given"}


@pytest.mark.parametrize(
    "changes",
    [
        {"purposes_li_transparency": set()},
        {"vendor_legitimate_interests": set()},
        {
            "publisher_restrictions": [
                PublisherRestriction(7, RestrictionType.REQUIRE_CONSENT, {ADNET})
            ]
        },
        {"disclosed_vendors": {STATS}},
    ],
)
def test_missing_legitimate_interest_is_an_automated_objection(
    policy: lawful.Policy, changes: dict[str, object]
) -> None:
    """Art. 21(5): the TCF's right-to-object signal objects to the bound LI purpose."""
    result = from_tcf(policy, _tc(**changes), subject=Subject("v"), received_at=RECEIVED)
    objections = [e for e in result.events if isinstance(e, Objection)]
    assert [(o.purpose, o.automated, o.at) for o in objections] == [("ad_reporting", True, UPDATED)]
    decision = policy.may_process(result.apply(Subject("v")), "ad_reporting", RECEIVED)
    assert decision.code is ReasonCode.OBJECTED


def test_a_later_string_lifts_only_an_objection_a_string_made(policy: lawful.Policy) -> None:
    """The LI bits back lift a TCF objection; an objection made elsewhere stands."""
    subject = from_tcf(
        policy, _tc(purposes_li_transparency=set()), subject=Subject("v"), received_at=RECEIVED
    ).apply(Subject("v"))
    back = from_tcf(
        policy, _tc(last_updated=UPDATED + timedelta(days=2)), subject=subject, received_at=LATER
    )
    assert [type(e) for e in back.events if "objection" in e.event_type] == [ObjectionWithdrawn]
    assert policy.may_process(back.apply(subject), "ad_reporting", LATER).allowed

    elsewhere = Subject("w", [Objection(at=UPDATED - timedelta(days=1), purpose="ad_reporting")])
    result = from_tcf(policy, _tc(), subject=elsewhere, received_at=RECEIVED)
    assert not [e for e in result.events if "objection" in e.event_type]
    assert not policy.may_process(result.apply(elsewhere), "ad_reporting", RECEIVED).allowed


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"policy_version": 2}, "policy_version_outdated"),
        ({"created": UPDATED + timedelta(seconds=1)}, "created_after_last_updated"),
        ({"cmp_id": 1}, "cmp_id_invalid"),
        (
            {
                "created": datetime(2026, 3, 1, tzinfo=UTC),
                "last_updated": datetime(2026, 3, 2, tzinfo=UTC),
            },
            "disclosed_vendors_missing",
        ),
        (
            {"is_service_specific": False, "purpose_one_treatment": True},
            "purpose_one_treatment_global",
        ),
        ({"is_service_specific": False}, "publisher_segment_global"),
    ],
)
def test_an_invalid_string_grants_nothing(
    policy: lawful.Policy, changes: dict[str, object], code: str
) -> None:
    """A string the TCF says to discard refuses every bound purpose and reports why."""
    received = datetime(2026, 4, 1, tzinfo=UTC)
    result = from_tcf(policy, _tc(**changes), subject=Subject("v"), received_at=received)
    assert code in {f.code for f in result.findings if f.severity == "invalid"}
    assert not result.valid
    assert not [e for e in result.events if isinstance(e, ConsentGiven)]
    assert {("ads", None), ("measurement", None), ("personalisation", None)} <= set(
        _targets(result)
    )


@pytest.mark.parametrize(
    ("changes", "at", "code"),
    [
        ({"policy_version": 3}, datetime(2023, 10, 1, tzinfo=UTC), "policy_version_outdated"),
        ({"policy_version": 6}, RECEIVED, "policy_version_unknown"),
        ({"purposes_li_transparency": {1, 7}}, RECEIVED, "legitimate_interest_not_allowed"),
        ({"purposes_li_transparency": {3, 6}}, RECEIVED, "legitimate_interest_not_allowed"),
        (
            {"publisher_tc": PublisherTC(purposes_li_transparency={4})},
            RECEIVED,
            "legitimate_interest_not_allowed",
        ),
        ({"vendor_list_version": 0}, RECEIVED, "vendor_list_version_missing"),
        ({"disclosed_vendors": {STATS}}, RECEIVED, "vendor_not_disclosed"),
        ({"allowed_vendors": {1}}, RECEIVED, "allowed_vendors_deprecated"),
    ],
)
def test_validity_findings(changes: dict[str, object], at: datetime, code: str) -> None:
    """Each TCF rule is reported with its own code."""
    assert code in {f.code for f in tcf.validate(_tc(**changes), at=at)}


def test_a_well_formed_current_string_has_no_findings() -> None:
    """The reference string of these tests is clean."""
    assert tcf.validate(_tc(disclosed_vendors={ADNET, STATS}), at=RECEIVED) == ()


def test_policy_version_2_was_valid_before_october_2023() -> None:
    """The TCF 2.2 cut-off is 30 September 2023."""
    assert not tcf.validate(_tc(policy_version=2), at=datetime(2023, 9, 30, 23, tzinfo=UTC))


def test_legitimate_interest_for_purposes_3_to_6_is_ignored(policy: lawful.Policy) -> None:
    """TCF 2.2: an LI bit for purposes 1 and 3-6 never establishes legitimate interest."""
    binding = lawful.TcfBinding(purpose="ad_reporting", tcf_purposes=(3,))
    strict = attrs.evolve(policy, signals=attrs.evolve(policy.signals, tcf=(binding,)))
    result = from_tcf(
        strict, _tc(purposes_li_transparency={3}), subject=Subject("v"), received_at=RECEIVED
    )
    assert [e.event_type for e in result.events] == ["objection"]


def test_last_updated_after_receipt_is_moved_back(policy: lawful.Policy) -> None:
    """Events are never later than the signal's receipt."""
    result = from_tcf(policy, _tc(last_updated=LATER), subject=Subject("v"), received_at=RECEIVED)
    assert {e.at for e in result.events} == {RECEIVED}
    assert "time_after_receipt" in {f.code for f in result.findings}


def test_a_repeated_string_is_not_appended_twice(policy: lawful.Policy) -> None:
    """The same string again maps to the same ids: nothing new, the ids are reported."""
    text = tcf.encode(_tc())
    first = from_tcf(policy, text, subject=Subject("v"), received_at=RECEIVED)
    subject = first.apply(Subject("v"))
    again = from_tcf(policy, text, subject=subject, received_at=LATER)
    assert again.events == ()
    assert sorted(again.repeats) == sorted(str(e.id) for e in first.events)
    assert again.apply(subject) is subject


def test_ids_differ_per_subject(policy: lawful.Policy) -> None:
    """One string for two people never collides in a ledger keyed by event id."""
    one = from_tcf(policy, _tc(), subject=Subject("a"), received_at=RECEIVED)
    two = from_tcf(policy, _tc(), subject=Subject("b"), received_at=RECEIVED)
    assert {e.id for e in one.events}.isdisjoint({e.id for e in two.events})


def test_a_non_consent_binding_is_reported_not_guessed(policy: lawful.Policy) -> None:
    """A TCF binding of a contract purpose creates nothing and says so."""
    result = from_tcf(policy, _tc(), subject=Subject("v"), received_at=RECEIVED)
    assert any(f.code == "binding_ignored" and "'delivery'" in f.message for f in result.findings)
    assert not [e for e in result.events if getattr(e, "purpose", None) == "delivery"]


def test_bad_input_raises(policy: lawful.Policy) -> None:
    """A corrupt string or a non-string is a SignalError; a naive receipt time is refused."""
    with pytest.raises(SignalError, match="truncated"):
        from_tcf(policy, tcf.encode(_tc())[:30], subject=Subject("v"), received_at=RECEIVED)
    with pytest.raises(SignalError, match="expected a TC string"):
        from_tcf(policy, 42, subject=Subject("v"), received_at=RECEIVED)  # type: ignore[arg-type]
    with pytest.raises(NaiveDatetimeError, match="received_at"):
        from_tcf(policy, _tc(), subject=Subject("v"), received_at=datetime(2025, 6, 1))
