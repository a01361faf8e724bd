"""Age (Art. 8): the lowest age on record, a parent's authorisation, the clause cited.

Tables for issue 15 items 6, 9 and 14: with several records the lowest age counts; a
parental consent authorises a child's consent from the instant it is given, also after
it; past the band the earlier consent counts only if it was authorised in the band;
reasons cite Art. 8(1) only within Art. 8's scope; age rules reach their sections only.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from tests._rules import consent, decide, on, policy, utc

from lawful import (
    AgeDeclared,
    AgeRules,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    Event,
    LegalBasis,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    ReasonCode,
)

pytestmark = pytest.mark.usefixtures("no_clock")

RULES = AgeRules(minimum_age=13, parental_consent_age=15)
POLICY = policy(consent(), age=RULES)
BORN = BirthDateDeclared(at=utc(2024, 1, 1), birth_date=date(2011, 1, 1))  # 16 on 1 Jan 2027
GRANT = ConsentGiven(at=utc(2025, 2, 1), purpose="p")  # given at 14
CHILD = utc(2025, 6, 1)  # 14
ADULT = utc(2030, 1, 1)  # 19


def parent(at: datetime) -> ParentalConsentGiven:
    """A parental consent for every purpose."""
    return ParentalConsentGiven(at=at)


# (history, at, expected code)
LOWEST: dict[str, tuple[tuple[Event, ...], datetime, ReasonCode]] = {
    "a later claim to be older never raises the age": (
        (
            BirthDateDeclared(at=utc(2024, 1, 1), birth_date=date(2014, 1, 1)),
            AgeDeclared(at=utc(2025, 1, 1), at_least=18),
            ConsentGiven(at=utc(2025, 2, 1), purpose="p"),
        ),
        utc(2025, 3, 1),
        ReasonCode.BELOW_MINIMUM_AGE,
    ),
    "an earlier 'at least N' grows by the years since": (
        (
            AgeDeclared(at=utc(2020, 6, 1), at_least=10),  # at least 14 on 1 June 2024
            BirthDateDeclared(at=utc(2024, 1, 1), birth_date=date(1990, 1, 1)),
            ConsentGiven(at=utc(2025, 2, 1), purpose="p"),
        ),
        utc(2025, 3, 1),
        ReasonCode.PARENTAL_CONSENT_REQUIRED,
    ),
    "the same claims, an adult by now": (
        (
            AgeDeclared(at=utc(2015, 6, 1), at_least=10),
            BirthDateDeclared(at=utc(2024, 1, 1), birth_date=date(1990, 1, 1)),
            ConsentGiven(at=utc(2025, 2, 1), purpose="p"),
        ),
        utc(2025, 3, 1),
        ReasonCode.CONSENT_GIVEN,
    ),
    "a younger record later lowers it": (
        (
            AgeDeclared(at=utc(2024, 1, 1), at_least=18),
            BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2014, 1, 1)),
            ConsentGiven(at=utc(2025, 2, 1), purpose="p"),
        ),
        utc(2025, 3, 1),
        ReasonCode.BELOW_MINIMUM_AGE,
    ),
}


@pytest.mark.parametrize(("history", "at", "expected"), LOWEST.values(), ids=list(LOWEST))
def test_the_lowest_age_on_record_counts(
    history: tuple[Event, ...], at: datetime, expected: ReasonCode
) -> None:
    """Art. 8(2), EDPB 05/2020 7.1: an unverified later claim never raises the age."""
    assert decide(POLICY, history, at).code is expected


# (history, at, expected code) around a child's consent given at 14 on 1 February 2025
AUTHORISED: dict[str, tuple[tuple[Event, ...], datetime, ReasonCode]] = {
    "no parent: denied in the band": ((BORN, GRANT), CHILD, ReasonCode.PARENTAL_CONSENT_REQUIRED),
    "no parent: never valid past it": ((BORN, GRANT), ADULT, ReasonCode.PARENTAL_CONSENT_REQUIRED),
    "parent before the consent": (
        (BORN, parent(utc(2025, 1, 1)), GRANT),
        CHILD,
        ReasonCode.CONSENT_GIVEN,
    ),
    "parent after the consent authorises it": (
        (BORN, GRANT, parent(utc(2025, 4, 1))),
        CHILD,
        ReasonCode.CONSENT_GIVEN,
    ),
    "parent after the consent, past the band": (
        (BORN, GRANT, parent(utc(2025, 4, 1))),
        ADULT,
        ReasonCode.CONSENT_GIVEN,
    ),
    "parent's consent withdrawn before the child's": (
        (BORN, parent(utc(2024, 6, 1)), ParentalConsentWithdrawn(at=utc(2025, 1, 1)), GRANT),
        ADULT,
        ReasonCode.PARENTAL_CONSENT_REQUIRED,
    ),
    "parent in force a while, then withdrawn: past the band": (
        (BORN, GRANT, parent(utc(2025, 3, 1)), ParentalConsentWithdrawn(at=utc(2025, 5, 1))),
        ADULT,
        ReasonCode.CONSENT_GIVEN,
    ),
    "parent only after leaving the band": (
        (BORN, GRANT, parent(utc(2027, 6, 1))),
        ADULT,
        ReasonCode.PARENTAL_CONSENT_REQUIRED,
    ),
    "parent for another purpose": (
        (BORN, GRANT, ParentalConsentGiven(at=utc(2025, 1, 1), purpose="other")),
        CHILD,
        ReasonCode.PARENTAL_CONSENT_REQUIRED,
    ),
}


@pytest.mark.parametrize(("history", "at", "expected"), AUTHORISED.values(), ids=list(AUTHORISED))
def test_a_childs_consent_given_or_authorised_by_a_parent(
    history: tuple[Event, ...], at: datetime, expected: ReasonCode
) -> None:
    """Art. 8(1): a child's consent counts once a holder of parental responsibility allows it."""
    decision = decide(POLICY, history, at)
    assert decision.code is expected
    if expected is ReasonCode.PARENTAL_CONSENT_REQUIRED and at == ADULT:
        assert "authorised" in decision.reason.message
        assert decision.reason.event == GRANT


def test_stored_data_needs_the_authorisation_at_collection() -> None:
    """Art. 8(1): data collected in the band needs a parental consent in force when collected."""
    history = (BORN, GRANT, parent(utc(2025, 4, 1)))
    fresh = decide(POLICY, history, CHILD)
    assert fresh.allowed
    stored = decide(POLICY, history, CHILD, collected_at=utc(2025, 3, 1))
    assert stored.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert decide(POLICY, history, CHILD, collected_at=utc(2025, 4, 2)).allowed


# (policy, purpose basis, expected article of the age reason)
ARTICLES = {
    "Art. 8 scope: consent, 15": (RULES, LegalBasis.CONSENT, "Art. 8(1)"),
    "an age above 16": (
        AgeRules(minimum_age=13, parental_consent_age=17),
        LegalBasis.CONSENT,
        "policy clause age",
    ),
    "a purpose not based on consent": (
        AgeRules(minimum_age=13, parental_consent_age=15, scope=AgeScope.ALL_PURPOSES),
        LegalBasis.CONTRACT,
        "policy clause age",
    ),
}


@pytest.mark.parametrize(("rules", "basis", "article"), ARTICLES.values(), ids=list(ARTICLES))
def test_age_reasons_cite_art_8_only_within_its_scope(
    rules: AgeRules, basis: LegalBasis, article: str
) -> None:
    """Art. 8(1) covers consent up to 16; beyond it the policy's own clause is the source."""
    pol = policy(on(basis), age=rules)
    decision = decide(pol, (BORN, ConsentGiven(at=utc(2025, 2, 1), purpose="p")), CHILD)
    assert decision.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert (decision.reason.article, decision.reason.clause) == (
        article,
        "age.parental_consent_age",
    )


def test_a_minimum_age_cites_the_policy_clause() -> None:
    """The GDPR sets no minimum age: the reason cites the policy's clause."""
    young = BirthDateDeclared(at=utc(2024, 1, 1), birth_date=date(2015, 1, 1))
    decision = decide(POLICY, (young, GRANT), CHILD)
    assert decision.code is ReasonCode.BELOW_MINIMUM_AGE
    assert (decision.reason.article, decision.reason.clause) == (
        "policy clause age",
        "age.minimum_age",
    )


@pytest.mark.parametrize(
    ("section", "expected"),
    [("website", ReasonCode.PARENTAL_CONSENT_REQUIRED), ("careers", ReasonCode.CONSENT_GIVEN)],
)
def test_age_rules_reach_only_their_sections(section: str, expected: ReasonCode) -> None:
    """AgeRules.sections: a rule about the website does not reach job applications."""
    rules = AgeRules(minimum_age=13, parental_consent_age=15, sections=("website",))
    pol = policy(consent(section=section), age=rules)
    assert decide(pol, (BORN, GRANT), CHILD).code is expected
