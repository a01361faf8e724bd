"""Signal bindings in the policy: what ``lawful check`` warns about, and what a signal reports."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import lawful
from lawful import Subject
from lawful.signals import from_consent_mode, from_piwik_pro

NOW = datetime(2025, 6, 1, tzinfo=UTC)

BASE = """
version = "1"
id = "p"
policy_version = "1"
[vendors.adnet]
name = "Ad Network"
[purposes.ads]
title = "Ads"
statement = "Ads."
basis = "consent"
withdrawal = "Footer link."
vendors = ["adnet"]
[purposes.stats]
title = "Stats"
statement = "Stats."
basis = "legitimate_interests"
legitimate_interest = "Knowing our audience"
"""


@pytest.mark.parametrize(
    ("signals", "path", "message"),
    [
        (
            '[[signals.consent_mode]]\nsignal = "ads_storage"\npurposes = ["ads"]',
            "signals.consent_mode[0].signal",
            "'ads_storage' is not a consent_mode consent type",
        ),
        (
            '[[signals.piwik_pro]]\nsignal = "custom"\npurposes = ["ads"]',
            "signals.piwik_pro[0].signal",
            "'custom' is not a piwik_pro consent type",
        ),
        (
            '[[signals.tcf]]\npurpose = "ads"\ntcf_purposes = [1]\nvendors = { adnet = 70000 }',
            "signals.tcf[0].vendors.adnet",
            "does not fit a TC string",
        ),
    ],
)
def test_bindings_no_signal_can_match_are_warned(signals: str, path: str, message: str) -> None:
    """A binding that can never fire loads, with a warning that names it."""
    policy = lawful.loads_policy(BASE + signals)
    found = [w for w in policy.warnings if w.path == path]
    assert len(found) == 1
    assert message in found[0].message


def test_a_binding_of_an_unknown_type_is_reported_when_a_signal_arrives() -> None:
    """At run time the skipped binding is a finding, and the purpose is not granted."""
    policy = lawful.loads_policy(
        BASE + '[[signals.consent_mode]]\nsignal = "ads_storage"\npurposes = ["ads"]'
    )
    result = from_consent_mode(
        policy, [("update", {"ad_storage": "granted"})], subject=Subject("v"), received_at=NOW
    )
    assert [f.code for f in result.findings] == ["binding_ignored"]
    assert [e.event_type for e in result.events] == ["consent_withdrawn"]


def test_a_consent_signal_bound_to_a_purpose_it_cannot_decide_is_reported() -> None:
    """A legitimate-interest purpose without device access needs no consent: skipped, reported."""
    policy = lawful.loads_policy(
        BASE + '[[signals.piwik_pro]]\nsignal = "analytics"\npurposes = ["stats"]'
    )
    payload = {"consents": {"analytics": {"status": 0, "updatedAt": "2025-05-01T00:00:00Z"}}}
    result = from_piwik_pro(policy, payload, subject=Subject("v"), received_at=NOW)
    assert result.events == ()
    assert [f.code for f in result.findings] == ["binding_ignored"]
    assert policy.may_process(result.apply(Subject("v")), "stats", NOW).allowed


def test_a_purpose_whose_device_access_needs_consent_is_decided_by_consent_signals() -> None:
    """ePrivacy Art. 5(3): device access on legitimate interests still asks consent."""
    policy = lawful.loads_policy(
        BASE.replace(
            'legitimate_interest = "Knowing our audience"',
            'legitimate_interest = "Knowing our audience"\ndevice_access = true',
        )
        + '[[signals.piwik_pro]]\nsignal = "analytics"\npurposes = ["stats"]'
    )
    payload = {"consents": {"analytics": {"status": 1, "updatedAt": "2025-05-01T00:00:00Z"}}}
    subject = from_piwik_pro(policy, payload, subject=Subject("v"), received_at=NOW).apply(
        Subject("v")
    )
    assert policy.may_process(subject, "stats", NOW).allowed
    assert not policy.may_process(Subject("w"), "stats", NOW).allowed
