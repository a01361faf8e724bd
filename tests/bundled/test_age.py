"""The bundled Piwik PRO policy's age rule: 13, and 18 with a parent, on the website (item 17).

'We forbid the use of the website to individuals age 18 and below' is a rule of the
policy wider than Art. 8: it reaches every basis on the website, never contracts, job
applications or a child's own rights request, and its denials cite the clause.
"""

from __future__ import annotations

from datetime import date

import pytest
from tests.bundled._piwik_pro import (
    _CONTRACT,
    MARKETING,
    POLICY,
    STATED,
    T0,
    _decide,
    _subject,
)

from lawful import (
    AgeDeclared,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    Event,
    ParentalConsentGiven,
    ReasonCode,
    UnknownAge,
)
from lawful.render import render_settings

# -- the rule as stated --------------------------------------------------------------------


def test_age_rules() -> None:
    """'18 and below' needs parental consent, 'under 13' is never collected, on the website."""
    age = POLICY.age
    # "We forbid the use of the website to individuals age 18 and below, without the
    # consent of a parent or guardian over the age of 18."
    assert age.parental_consent_age == 18
    # "We do not knowingly collect personal data from children under the age of 13."
    assert age.minimum_age == 13
    assert age.scope is AgeScope.ALL_PURPOSES
    assert age.sections == (MARKETING,)
    assert age.unknown_age is UnknownAge.ASSUME_ADULT


@pytest.mark.parametrize(
    ("purpose", "covered"),
    [(p.id, p.section == MARKETING) for p in POLICY.purposes],
    ids=[p.id for p in POLICY.purposes],
)
def test_item_17_age_rule_covers_the_website_only(purpose: str, covered: bool) -> None:
    """Item 17: 'We forbid the use of the website to individuals age 18 and below' reaches
    the website's purposes, not job applications or client contracts (the clause, not Art. 8)."""
    sections = POLICY.age.sections
    assert (POLICY.purpose(purpose).section in sections) is covered


def test_item_17_settings_cite_the_clause_not_art_8_alone() -> None:
    """Item 17: an age rule wider than Art. 8 (18, every basis) is shown as the policy's own."""
    children = render_settings(POLICY).split("**Children:** ", 1)[1].split("\n", 1)[0]
    assert "a rule of this policy (age), wider than Art. 8 GDPR" in children
    assert "Marketing and sales" in children


# -- decisions -----------------------------------------------------------------------------

AGES = [
    (12, False, ReasonCode.BELOW_MINIMUM_AGE),
    (13, True, ReasonCode.CONSENT_GIVEN),
    (15, False, ReasonCode.PARENTAL_CONSENT_REQUIRED),
    (15, True, ReasonCode.CONSENT_GIVEN),
    (18, False, ReasonCode.PARENTAL_CONSENT_REQUIRED),
    (19, False, ReasonCode.CONSENT_GIVEN),
]


@pytest.mark.parametrize(("age", "parental", "code"), AGES)
def test_children(age: int, parental: bool, code: ReasonCode) -> None:
    """Under 13 never; 13 to 18 inclusive only with a parent's consent in force."""
    born = date(2025 - age, 1, 1)
    events: list[Event] = [BirthDateDeclared(at=T0, birth_date=born)]
    if parental:
        events.append(ParentalConsentGiven(at=T0))
    events.append(ConsentGiven(at=T0, purpose="analytics"))
    assert _decide(POLICY, _subject(*events), "analytics", T0.replace(month=4)) is code


def test_a_fifteen_year_old_is_stopped_on_legitimate_interests_on_the_website() -> None:
    """'the use of the website' covers every basis: fraud prevention stops for a child too."""
    subject = _subject(
        AgeDeclared(at=T0, at_least=15), ConsentGiven(at=T0, purpose="fraud_prevention")
    )
    code = _decide(POLICY, subject, "fraud_prevention", T0)
    assert code is ReasonCode.PARENTAL_CONSENT_REQUIRED


@pytest.mark.parametrize(
    ("purpose", "events", "code"),
    [
        ("database_export", (_CONTRACT,), ReasonCode.CONTRACT),
        (
            "recruitment",
            (ConsentGiven(at=T0, purpose="recruitment", policy_version="2024-08-30"),),
            ReasonCode.CONSENT_GIVEN,
        ),
    ],
)
def test_item_17_age_rule_does_not_reach_contracts_or_applications(
    purpose: str, events: tuple[Event, ...], code: ReasonCode
) -> None:
    """Item 17: the website's age rule (AgeRules.sections) does not stop a 15-year-old's
    client contract or job application."""
    subject = _subject(AgeDeclared(at=T0, at_least=15), *events)
    assert _decide(STATED, subject, purpose, T0.replace(hour=12)) is code


def test_item_17_age_denial_cites_the_clause() -> None:
    """Item 17: a rule wider than Art. 8 (18, every basis) cites the policy clause, not
    Art. 8 alone."""
    subject = _subject(AgeDeclared(at=T0, at_least=15), ConsentGiven(at=T0, purpose="analytics"))
    reason = POLICY.may_process(subject, "analytics", T0).reason
    assert reason.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert reason.clause is not None
    assert reason.article != "Art. 8(1)"


def test_a_child_can_still_exercise_their_rights() -> None:
    """Age rules never stop a legal obligation: a 15-year-old's rights request is answered
    (Art. 6(1)(c), Art. 12)."""
    subject = _subject(AgeDeclared(at=T0, at_least=15))
    assert _decide(STATED, subject, "data_subject_requests", T0) is ReasonCode.LEGAL_OBLIGATION
