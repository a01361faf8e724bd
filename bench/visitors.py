"""The visitors and queries of the decision benchmark, derived from the policy under test.

A visitor's history is synthetic but shaped like a website visitor's: page
views (interactions) and consent choices that flip back and forth for the
consent purposes, one event every 17 minutes. Its last two events fix the
outcomes the benchmark asks about: the "granted" purpose ends with a consent,
the "withdrawn" purpose ends with a withdrawal, and the legitimate-interest
purpose, whose device access needs consent in the Piwik PRO policy, with a
consent. Two fifths of the events are interactions and three fifths consent
events, so the timelines the decision searches grow with the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import lawful
from lawful import ConsentGiven, ConsentWithdrawn, Interaction, LegalBasis, Policy, Subject

START = datetime(2024, 9, 1, 8, 0, tzinfo=UTC)
STEP = timedelta(minutes=17)
OTHER_ZONE = ZoneInfo("Europe/Warsaw")
SIZES = (20, 1_000, 10_000)


@dataclass(frozen=True)
class Roles:
    """Which purposes of the policy give which outcome."""

    granted: str  # consent purpose whose latest consent event is a grant
    withdrawn: str  # consent purpose whose latest consent event is a withdrawal
    interest: str  # legitimate-interest purpose, allowed (its device access may need consent)
    others: tuple[str, ...]  # further consent purposes, flipping in the history
    categories: tuple[str, ...] | None  # the visitor's data-subject categories

    def outcome(self, name: str) -> str:
        return {"consent": self.granted, "interest": self.interest, "denied": self.withdrawn}[name]


OUTCOMES = ("consent", "interest", "denied")
EXPECTED = {
    "consent": lawful.ReasonCode.CONSENT_GIVEN,
    "interest": lawful.ReasonCode.LEGITIMATE_INTEREST,  # then CONSENT_GIVEN (device access)
    "denied": lawful.ReasonCode.CONSENT_WITHDRAWN,
}


def roles(policy: Policy) -> Roles:
    """Pick the purposes of ``policy`` that give the three outcomes for a website visitor."""
    categories = ("visitor",) if "visitor" in policy.subject_categories else None

    def usable(purpose: lawful.Purpose) -> bool:
        return not purpose.processor_only and (
            not purpose.subjects or categories is None or "visitor" in purpose.subjects
        )

    consent = [p.id for p in policy.purposes if p.basis is LegalBasis.CONSENT and usable(p)]
    if len(consent) < 2:
        raise SystemExit("the policy needs two consent purposes for a visitor")
    # A purpose on legitimate interests that reads the device without being strictly
    # necessary still needs consent for the device access (ePrivacy Art. 5(3)): the probe
    # has consented to everything, so such a purpose qualifies, and the history below
    # ends with a consent to it. A consent purpose qualifies when the probe's consent
    # decides it (not, say, a transfer with no stated safeguard, which denies first).
    probe = Subject(
        "probe",
        [
            ConsentGiven(at=START, purpose=p.id, policy_version=policy.version)
            for p in policy.purposes
        ],
        categories=categories,
    )
    at = START + 400 * STEP
    consent = [
        pid
        for pid in consent
        if policy.may_process(probe, pid, at).code is lawful.ReasonCode.CONSENT_GIVEN
    ]
    if len(consent) < 2:
        raise SystemExit("the policy needs two consent purposes a visitor's consent decides")
    granted = "analytics" if "analytics" in consent else consent[0]
    rest = [p for p in consent if p != granted]
    withdrawn = "marketing_automation" if "marketing_automation" in rest else rest[0]
    interest = [
        p.id
        for p in policy.purposes
        if p.basis is LegalBasis.LEGITIMATE_INTERESTS
        and usable(p)
        and policy.may_process(probe, p.id, at).code is lawful.ReasonCode.LEGITIMATE_INTEREST
    ]
    if not interest:
        raise SystemExit("the policy has no legitimate-interest purpose a visitor gets")
    li = "fraud_prevention" if "fraud_prevention" in interest else interest[0]
    others = tuple(p for p in rest if p != withdrawn)[:2]
    return Roles(granted, withdrawn, li, others, categories)


def history(n: int, policy: Policy, r: Roles) -> list[lawful.Event]:
    """``n`` events for one visitor, in time order, the last three fixing the outcomes."""
    flip = [r.granted, r.withdrawn, r.interest, *r.others]
    given: dict[str, bool] = dict.fromkeys(flip, False)
    events: list[lawful.Event] = []
    consent_turn = 0
    for i in range(n - 3):
        at = START + i * STEP
        if i % 5 < 2:
            events.append(Interaction(at=at, kind="page_view"))
            continue
        purpose = flip[consent_turn % len(flip)]
        consent_turn += 1
        given[purpose] = not given[purpose]
        if given[purpose]:
            events.append(
                ConsentGiven(
                    at=at,
                    purpose=purpose,
                    policy_version=policy.version,
                    method=lawful.ConsentMethod.BANNER,
                )
            )
        else:
            events.append(ConsentWithdrawn(at=at, purpose=purpose))
    end = START + (n - 3) * STEP
    for i, purpose in enumerate((r.granted, r.interest)):
        events.append(
            ConsentGiven(
                at=end + i * STEP,
                purpose=purpose,
                policy_version=policy.version,
                method=lawful.ConsentMethod.BANNER,
            )
        )
    events.append(ConsentWithdrawn(at=end + 2 * STEP, purpose=r.withdrawn))
    return events


def instant(n: int, zone: str) -> datetime:
    """The instant asked about: an hour after the visitor's last event, in UTC or elsewhere."""
    at = START + (n - 1) * STEP + timedelta(hours=1)
    return at if zone == "UTC" else at.astimezone(OTHER_ZONE)


def scope(policy: Policy, purpose_id: str) -> tuple[str | None, tuple[str, ...]]:
    """The vendor and data categories named in the "with vendor/data" queries."""
    purpose = policy.purpose(purpose_id)
    vendor = purpose.vendors[0] if purpose.vendors else None
    return vendor, tuple(purpose.data[:2])
