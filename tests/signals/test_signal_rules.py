"""The rules every signal follows, checked across TCF, GPC, Consent Mode and Piwik PRO.

- Art. 4(11), CJEU C-673/17 Planet49: a default or pre-set "granted" is no consent.
- Every mapped purpose yields a grant or a withdrawal: a refusal or an unset bit is a withdrawal.
- Events carry the signal's own time, never later than its receipt.
- A stale signal re-sent after an explicit withdrawal changes nothing (Art. 7(3)).
- Art. 21(3), 21(5): GPC objects to direct marketing, absolutely.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lawful
from lawful import ConsentGiven, ConsentWithdrawn, ReasonCode, Subject
from lawful.signals import (
    SignalResult,
    from_consent_mode,
    from_gpc,
    from_piwik_pro,
    from_tcf,
    tcf,
)
from lawful.signals.consent_mode import CONSENT_TYPES as MODE_TYPES
from lawful.signals.piwik_pro import CONSENT_TYPES as PIWIK_TYPES
from lawful.signals.tcf import PublisherTC, TCString

T0 = datetime(2025, 5, 1, 9, tzinfo=UTC)
T1 = T0 + timedelta(days=1)  # an explicit withdrawal, made elsewhere
T2 = T0 + timedelta(days=2)  # the stale signal arrives again

Signal = Callable[[lawful.Policy, Subject, datetime], SignalResult]

GRANT_ADS_TC = TCString(
    created=T0,
    last_updated=T0,
    cmp_id=10,
    vendor_list_version=100,
    purposes_consent={1, 3, 4},
    vendor_consents={755},
)


def _tcf(policy: lawful.Policy, subject: Subject, at: datetime) -> SignalResult:
    return from_tcf(policy, tcf.encode(GRANT_ADS_TC), subject=subject, received_at=at)


def _mode(policy: lawful.Policy, subject: Subject, at: datetime) -> SignalResult:
    grant = ("update", {"ad_storage": "granted", "ad_personalization": "granted"})
    return from_consent_mode(policy, [grant], subject=subject, received_at=at)


def _piwik(policy: lawful.Policy, subject: Subject, at: datetime) -> SignalResult:
    payload = {"consents": {"remarketing": {"status": 1, "updatedAt": T0.isoformat()}}}
    return from_piwik_pro(policy, payload, subject=subject, received_at=at)


def _piwik_untimed(policy: lawful.Policy, subject: Subject, at: datetime) -> SignalResult:
    payload = {"consents": {"remarketing": {"status": 1}}}
    return from_piwik_pro(policy, payload, subject=subject, received_at=at)


GRANTING: dict[str, Signal] = {
    "tcf": _tcf,
    "consent_mode": _mode,
    "piwik_pro": _piwik,
    "piwik_pro_untimed": _piwik_untimed,
}


@pytest.mark.parametrize(
    "commands",
    [
        [("default", dict.fromkeys(MODE_TYPES, "granted"))],
        [("consent", "default", {"ad_storage": "granted", "ad_personalization": "granted"})],
        [],
    ],
)
def test_a_default_granted_creates_no_grant(policy: lawful.Policy, commands: list[object]) -> None:
    """Planet49: a pre-set "granted" is not an affirmative act; nothing is granted."""
    result = from_consent_mode(policy, commands, subject=Subject("v"), received_at=T0)
    assert not [e for e in result.events if isinstance(e, ConsentGiven)]
    assert policy.may_process(result.apply(Subject("v")), "ads", T0).allowed is False


def test_no_decision_in_the_consent_manager_creates_no_grant(policy: lawful.Policy) -> None:
    """Piwik PRO's -1 ("no decision") is no consent, whatever is pre-ticked on the page."""
    payload = {"consents": {t: {"status": -1, "updatedAt": T0.isoformat()} for t in PIWIK_TYPES}}
    result = from_piwik_pro(policy, payload, subject=Subject("v"), received_at=T1)
    assert not [e for e in result.events if isinstance(e, ConsentGiven)]


defaults = st.lists(
    st.tuples(
        st.just("default"),
        st.dictionaries(st.sampled_from(MODE_TYPES), st.sampled_from(["granted", "denied"])),
    ),
    max_size=4,
)


@given(defaults, st.booleans())
def test_no_sequence_of_defaults_ever_grants(
    policy: lawful.Policy, commands: list[tuple[str, dict[str, str]]], consented: bool
) -> None:
    """However many defaults, in any order, on any history: never a grant, never a withdrawal
    of a choice on record."""
    history = [ConsentGiven(at=T0, purpose="ads")] if consented else []
    subject = Subject("v", history)
    result = from_consent_mode(policy, commands, subject=subject, received_at=T1)
    assert not [e for e in result.events if isinstance(e, ConsentGiven)]
    if consented:
        assert not [e for e in result.events if getattr(e, "purpose", None) == "ads"]


@pytest.mark.parametrize("signal", list(GRANTING.values()), ids=list(GRANTING))
def test_a_stale_signal_re_sent_after_a_withdrawal_changes_nothing(
    policy: lawful.Policy, signal: Signal
) -> None:
    """Granted, then withdrawn elsewhere, then the same signal again: still withdrawn."""
    subject = signal(policy, Subject("v"), T0).apply(Subject("v"))
    assert policy.may_process(subject, "ads", T0 + timedelta(hours=1)).allowed
    subject = subject.add(ConsentWithdrawn(at=T1, purpose="ads"))
    before = policy.may_process(subject, "ads", T2)
    result = signal(policy, subject, T2)
    after = policy.may_process(result.apply(subject), "ads", T2)
    assert not [e for e in result.events if isinstance(e, ConsentGiven)]
    assert (before.allowed, before.code) == (after.allowed, after.code)
    assert after.code is ReasonCode.CONSENT_WITHDRAWN


@pytest.mark.parametrize("signal", [_tcf, _piwik], ids=["tcf", "piwik_pro"])
def test_an_old_signal_seen_first_after_a_withdrawal_changes_nothing_now(
    policy: lawful.Policy, signal: Signal
) -> None:
    """A timed signal older than a withdrawal takes its own time: the withdrawal stays in force."""
    subject = Subject("v", [ConsentWithdrawn(at=T1, purpose="ads")])
    result = signal(policy, subject, T2)
    assert {e.at for e in result.events if getattr(e, "purpose", None) == "ads"} == {T0}
    assert policy.may_process(result.apply(subject), "ads", T2).code is ReasonCode.CONSENT_WITHDRAWN


def test_gpc_denies_direct_marketing(policy: lawful.Policy) -> None:
    """Art. 21(3), 21(5): with Sec-GPC: 1 the direct-marketing purpose is denied."""
    subject = Subject("v")
    assert policy.may_process(subject, "newsletter", T0).allowed
    after = from_gpc(policy, {"Sec-GPC": "1"}, subject=subject, received_at=T0).apply(subject)
    decision = policy.may_process(after, "newsletter", T0)
    assert (decision.allowed, decision.code) == (False, ReasonCode.OBJECTED)


def _purpose_wide(result: SignalResult) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for event in result.events:
        if isinstance(event, ConsentGiven | ConsentWithdrawn) and event.vendor is None:
            out.setdefault(event.purpose, []).append(event.event_type)
    return out


CONSENT_BOUND = {"ads", "measurement", "personalisation"}


@given(
    st.frozensets(st.integers(1, 24)),
    st.frozensets(st.sampled_from([755, 42, 7])),
    st.none() | st.frozensets(st.integers(1, 24)),
)
def test_each_tcf_mapped_purpose_yields_a_grant_or_a_withdrawal(
    policy: lawful.Policy,
    purposes: frozenset[int],
    vendors: frozenset[int],
    publisher: frozenset[int] | None,
) -> None:
    """Every consent purpose a TCF binding maps gets exactly one purpose-wide event, and
    every bound vendor one event of its own."""
    tc = TCString(
        created=T0,
        last_updated=T0,
        cmp_id=10,
        vendor_list_version=100,
        purposes_consent=purposes,
        vendor_consents=vendors,
        publisher_tc=None if publisher is None else PublisherTC(purposes_consent=publisher),
    )
    result = from_tcf(policy, tc, subject=Subject("v"), received_at=T1)
    assert {p: len(k) for p, k in _purpose_wide(result).items()} == dict.fromkeys(CONSENT_BOUND, 1)
    vendor_events = {
        (e.purpose, e.vendor)
        for e in result.events
        if isinstance(e, ConsentGiven | ConsentWithdrawn) and e.vendor is not None
    }
    assert vendor_events == {("ads", "adnet"), ("measurement", "stats")}
    grants = _purpose_wide(result)
    assert (grants["ads"] == ["consent_given"]) == ({1, 3, 4} <= purposes)


updates = st.lists(
    st.tuples(
        st.sampled_from(["default", "update"]),
        st.dictionaries(st.sampled_from(MODE_TYPES), st.sampled_from(["granted", "denied"])),
    ),
    max_size=5,
)


@given(updates)
def test_each_consent_mode_mapped_purpose_yields_a_grant_or_a_withdrawal(
    policy: lawful.Policy, commands: list[tuple[str, dict[str, str]]]
) -> None:
    """On a fresh subject every bound purpose gets exactly one event, and a grant only when
    every bound type was updated to granted."""
    result = from_consent_mode(policy, commands, subject=Subject("v"), received_at=T0)
    kinds = _purpose_wide(result)
    assert {p: len(k) for p, k in kinds.items()} == dict.fromkeys(CONSENT_BOUND, 1)
    updated = {}
    for kind, values in commands:
        if kind == "update":
            updated.update(values)
    ads_granted = all(updated.get(t) == "granted" for t in ("ad_storage", "ad_personalization"))
    assert (kinds["ads"] == ["consent_given"]) == ads_granted


piwik_settings = st.dictionaries(
    st.sampled_from(PIWIK_TYPES),
    st.tuples(st.sampled_from([-1, 0, 1]), st.none() | st.integers(0, 10**6)),
)


def _piwik_payload(settings_: dict[str, tuple[int, int | None]]) -> dict[str, object]:
    return {
        "consents": {
            k: {"status": s}
            if t is None
            else {"status": s, "updatedAt": (T0 + timedelta(seconds=t)).isoformat()}
            for k, (s, t) in settings_.items()
        }
    }


@given(piwik_settings)
def test_each_piwik_mapped_purpose_yields_a_grant_or_a_withdrawal_never_later_than_receipt(
    policy: lawful.Policy, settings_: dict[str, tuple[int, int | None]]
) -> None:
    """One event per bound purpose on a fresh subject, each at or before the receipt."""
    received = T0 + timedelta(seconds=500_000)
    result = from_piwik_pro(
        policy, _piwik_payload(settings_), subject=Subject("v"), received_at=received
    )
    kinds = _purpose_wide(result)
    assert {p: len(k) for p, k in kinds.items()} == dict.fromkeys(CONSENT_BOUND, 1)
    assert all(e.at <= received for e in result.events)
    remarketing = settings_.get("remarketing")
    assert (kinds["ads"] == ["consent_given"]) == (remarketing is not None and remarketing[0] == 1)


@given(updates, piwik_settings, st.booleans())
@settings(max_examples=50)
def test_replaying_any_signal_adds_nothing(
    policy: lawful.Policy,
    commands: list[tuple[str, dict[str, str]]],
    settings_: dict[str, tuple[int, int | None]],
    gpc: bool,
) -> None:
    """A signal received again later, unchanged, records nothing new."""
    subject = Subject("v")
    steps: list[Callable[[Subject, datetime], SignalResult]] = [
        lambda s, at: from_consent_mode(policy, commands, subject=s, received_at=at),
        lambda s, at: from_piwik_pro(policy, _piwik_payload(settings_), subject=s, received_at=at),
        lambda s, at: from_gpc(policy, "1" if gpc else None, subject=s, received_at=at),
    ]
    received = T0 + timedelta(seconds=2 * 10**6)
    for step in steps:
        subject = step(subject, received).apply(subject)
    for step in steps:
        assert step(subject, received + timedelta(hours=1)).events == ()
