"""Age (Art. 8): the lowest age on record, a parent's authorisation, the clause cited.

Tables for issue 15 items 6, 9 and 14: with several records the lowest age counts; a
parental consent authorises a child's consent from the instant it is given, also after
it; past the band the earlier consent counts only if it was authorised in the band;
reasons cite Art. 8(1) only within Art. 8's scope; age rules reach their sections only.

The tests after the tables ask the site policy (``tests/_site.py``): birthdays on
29 February and across zones, a child's consent with and without a parent, what age
rules cover, and how age records combine (Art. 8(1), 8(2)).
"""

from __future__ import annotations

from datetime import date, datetime

import attrs
import pytest
from tests._rules import T0, consent, decide, on, policy, utc
from tests._site import MINUS5, PLUS2
from tests._site import POLICY as SITE
from tests._site import code as site_code
from tests._site import decide as site_decide

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
    Subject,
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


# -- birthdays and zones -------------------------------------------------------------------

LEAPLING = BirthDateDeclared(at=utc(2019, 1, 1), birth_date=date(2008, 2, 29))


def test_a_29_february_birthday_falls_on_1_march_in_common_years() -> None:
    """Born 29 Feb 2008: 13 only on 1 March 2021 (common year); valid_until says so."""
    parental = ParentalConsentGiven(at=utc(2019, 1, 1))
    grant = ConsentGiven(at=utc(2021, 3, 1), purpose="analytics")
    events = [LEAPLING, parental, grant]
    below = site_decide(events, "analytics", utc(2021, 2, 28, 23, 59, 59))
    assert below.code is ReasonCode.BELOW_MINIMUM_AGE
    assert below.valid_until == utc(2021, 3, 1)
    assert site_decide(events, "analytics", utc(2021, 3, 1)).allowed


def test_a_29_february_birthday_exists_in_leap_years() -> None:
    """Born 29 Feb 2008: 16 on 29 Feb 2024, when parental consent stops being needed."""
    grant = ConsentGiven(at=utc(2024, 2, 29), purpose="analytics")
    events = [LEAPLING, grant]
    child = site_decide(
        [LEAPLING, ConsentGiven(at=utc(2024, 2, 28), purpose="analytics")],
        "analytics",
        utc(2024, 2, 28, 12),
    )
    assert child.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert child.valid_until == utc(2024, 2, 29)
    assert site_decide(events, "analytics", utc(2024, 2, 29)).allowed


def test_age_is_the_lower_of_utc_and_the_zone_of_at() -> None:
    """Born 1 June 2010: at 02:00Z on 1 June 2026 16 in UTC, but 15 in New York's evening."""
    born = BirthDateDeclared(at=utc(2020, 1, 1), birth_date=date(2010, 6, 1))
    grant = ConsentGiven(at=utc(2026, 6, 1, 2), purpose="analytics")
    events = [born, grant]
    z = utc(2026, 6, 1, 2)
    west = z.astimezone(MINUS5)  # 2026-05-31T21:00-05:00
    assert site_decide(events, "analytics", z).allowed
    local = site_decide(events, "analytics", west)
    assert local.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    # 16 in both zones from midnight in the later one (05:00Z), shown in the zone of at.
    assert local.valid_until == datetime(2026, 6, 1, tzinfo=MINUS5)
    # East of UTC the local date runs ahead: the UTC date is the lower one.
    east = utc(2026, 5, 31, 23).astimezone(PLUS2)  # 1 June 01:00+02:00
    early = site_decide(
        [born, ConsentGiven(at=utc(2026, 5, 31, 23), purpose="analytics")], "analytics", east
    )
    assert early.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert early.valid_until == utc(2026, 6, 1)


def test_at_least_declared_on_29_february_is_taken_at_its_word() -> None:
    """ "At least 13" said on 29 Feb 2024 means born by 28 Feb 2011: 13 that very day."""
    moment = utc(2024, 2, 29, 12)
    parent = ParentalConsentGiven(at=moment)
    grant = ConsentGiven(at=moment, purpose="ads")
    said = AgeDeclared(at=moment, at_least=13)
    assert site_decide([said, parent, grant], "ads", moment, vendor="adnet").allowed
    fifteen = AgeDeclared(at=moment, at_least=15)
    child = site_decide([fifteen, grant], "ads", moment, vendor="adnet")
    assert child.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert child.valid_until == utc(2025, 2, 28)  # born 28 Feb 2009 at the latest: 16 then


# -- a child's consent ---------------------------------------------------------------------


def test_a_childs_consent_without_parental_consent_never_becomes_valid() -> None:
    """Art. 8(1): consent given at 14 without a parent does not become valid at 18."""
    born = BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2011, 1, 1))
    grant = ConsentGiven(at=utc(2025, 2, 1), purpose="ads")
    adult = utc(2030, 1, 1)
    decision = site_decide([born, grant], "ads", adult, vendor="adnet")
    assert decision.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert decision.reason.event == grant
    assert decision.valid_until is None
    # Art. 8(1) "given or authorised": a parent's consent while the child is in the band
    # authorises it, even after the child's own (tests/test_rules_age.py has the table);
    # one after the child left the band does not. A fresh consent as an adult counts.
    late_parent = ParentalConsentGiven(at=utc(2025, 3, 1))
    assert site_code([born, grant, late_parent], "ads", adult, vendor="adnet") is (
        ReasonCode.CONSENT_GIVEN
    )
    too_late = ParentalConsentGiven(at=utc(2027, 1, 1))
    assert site_code([born, grant, too_late], "ads", adult, vendor="adnet") is (
        ReasonCode.PARENTAL_CONSENT_REQUIRED
    )
    again = ConsentGiven(at=utc(2029, 6, 1), purpose="ads")
    assert site_decide([born, grant, again], "ads", adult, vendor="adnet").allowed


def test_a_childs_consent_with_parental_consent_stays_valid() -> None:
    """With parental consent in force at the grant, the consent is valid now and later."""
    born = BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2011, 1, 1))
    parent = ParentalConsentGiven(at=utc(2025, 1, 1), purpose="ads")
    grant = ConsentGiven(at=utc(2025, 2, 1), purpose="ads")
    assert site_decide([born, parent, grant], "ads", utc(2025, 3, 1), vendor="adnet").allowed
    assert site_decide([born, parent, grant], "ads", utc(2030, 1, 1), vendor="adnet").allowed
    # Parental consent withdrawn while still a child denies until 16.
    gone = ParentalConsentWithdrawn(at=utc(2025, 4, 1))
    child = site_decide([born, parent, grant, gone], "ads", utc(2025, 5, 1), vendor="adnet")
    assert child.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert child.valid_until == utc(2027, 1, 1)


def test_consent_below_the_minimum_age_never_becomes_valid() -> None:
    """A consent given at 12, even with a parent, is never valid (minimum age 13)."""
    born = BirthDateDeclared(at=utc(2023, 1, 1), birth_date=date(2011, 1, 1))
    parent = ParentalConsentGiven(at=utc(2023, 1, 1))
    grant = ConsentGiven(at=utc(2023, 6, 1), purpose="ads")
    decision = site_decide([born, parent, grant], "ads", utc(2030, 1, 1), vendor="adnet")
    assert decision.code is ReasonCode.BELOW_MINIMUM_AGE
    assert decision.reason.event == grant


# -- what age rules cover, and age records -------------------------------------------------


def test_age_rules_cover_consent_purposes_only_by_default() -> None:
    """Art. 8 covers consent: a child's legitimate-interest purpose is not age-checked."""
    born = BirthDateDeclared(at=T0, birth_date=date(2015, 1, 1))
    assert site_decide([born], "fraud", T0).allowed
    assert site_code([born], "analytics", T0) is ReasonCode.BELOW_MINIMUM_AGE


def test_age_rules_can_cover_every_purpose() -> None:
    """With scope "all", a child's legitimate-interest purpose needs parental consent too."""
    everyone = attrs.evolve(
        SITE, age=AgeRules(minimum_age=13, parental_consent_age=15, scope=AgeScope.ALL_PURPOSES)
    )
    born = BirthDateDeclared(at=T0, birth_date=date(2011, 1, 1))
    child = everyone.may_process(Subject("s", [born]), "fraud", T0)
    assert child.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
    assert child.valid_until == utc(2027, 1, 1)
    parent = ParentalConsentGiven(at=T0)
    assert everyone.may_process(Subject("s", [born, parent]), "fraud", T0).allowed


def test_a_later_age_declaration_never_raises_the_age() -> None:
    """Art. 8(2): an unverified later claim to be older never raises the lowest age on record."""
    grant = ConsentGiven(at=utc(2025, 2, 1), purpose="analytics")
    young = BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2015, 1, 1))
    older = BirthDateDeclared(at=utc(2025, 1, 2), birth_date=date(1990, 1, 1))
    assert site_code([young, older, grant], "analytics", utc(2025, 2, 2)) is (
        ReasonCode.BELOW_MINIMUM_AGE
    )


def test_at_least_declared_is_read_conservatively() -> None:
    """ "At least 16" declared on a day is 16 from that day, not earlier."""
    said = AgeDeclared(at=utc(2025, 3, 1, 12), at_least=16)
    grant = ConsentGiven(at=utc(2025, 3, 1, 12), purpose="analytics")
    assert site_decide([said, grant], "analytics", utc(2025, 3, 2)).allowed
    older_grant = ConsentGiven(at=utc(2025, 2, 27), purpose="analytics")
    assert site_code([said, older_grant], "analytics", utc(2025, 3, 2)) is (
        ReasonCode.PARENTAL_CONSENT_REQUIRED
    )


def test_conflicting_age_declarations_at_one_instant_the_younger_wins() -> None:
    """Art. 8(2), read conservatively: of two age records at one instant, the younger counts."""
    grant = ConsentGiven(at=utc(2025, 2, 1), purpose="ads")
    sixteen = AgeDeclared(at=utc(2025, 1, 1), at_least=16)
    fourteen = AgeDeclared(at=utc(2025, 1, 1), at_least=14)
    child = BirthDateDeclared(at=utc(2025, 1, 1), birth_date=date(2011, 1, 1))
    for events in ([sixteen, fourteen, grant], [fourteen, sixteen, grant]):
        decision = site_decide(events, "ads", utc(2025, 3, 1), vendor="adnet")
        assert decision.code is ReasonCode.PARENTAL_CONSENT_REQUIRED
        assert decision.reason.event == fourteen
        # The consent was a child's: growing up does not make it valid.
        assert site_code(events, "ads", utc(2030, 1, 1), vendor="adnet") is (
            ReasonCode.PARENTAL_CONSENT_REQUIRED
        )
    assert site_decide(
        [sixteen, child, grant], "ads", utc(2025, 3, 1), vendor="adnet"
    ).reason.event == (child)
