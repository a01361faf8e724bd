"""Scope (Art. 5(1)(b), 28(3)(a)): the subjects, data and controller a purpose covers.

On the site policy (``tests/_site.py``): a purpose covers the subject categories it
names; a processor-only purpose is the client's to decide; undeclared data categories
are denied, whatever iterable names them (docs/explanation/fail-closed.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tests._rules import T0
from tests._site import POLICY, decide

from lawful import (
    ConsentGiven,
    ReasonCode,
    Subject,
)

pytestmark = pytest.mark.usefixtures("no_clock")


# -- subject categories and processor-only purposes ----------------------------------------


@pytest.mark.parametrize(
    ("categories", "allowed"),
    [
        ({"job_applicant"}, True),
        ({"visitor", "job_applicant"}, True),
        ({"visitor"}, False),
        (set(), False),
        (None, True),
    ],
)
def test_subject_categories(categories: set[str] | None, allowed: bool) -> None:
    """Art. 5(1)(b): a purpose covers the subject categories it names; unknown is allowed."""
    subject = Subject("s", categories=categories)
    decision = POLICY.may_process(subject, "careers", T0)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.code is ReasonCode.SUBJECT_NOT_COVERED


def test_processor_only_purposes_are_decided_by_the_client() -> None:
    """Art. 28(3)(a): where the controller is only a processor, the client decides."""
    decision = decide([ConsentGiven(at=T0, purpose="client_sites")], "client_sites", T0)
    assert decision.code is ReasonCode.PROCESSOR_ONLY
    assert "client" in decision.reason.message


# -- data categories named in any shape ----------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [tuple, list, set, frozenset, iter, lambda names: (n for n in names)],
    ids=["tuple", "list", "set", "frozenset", "iterator", "generator"],
)
def test_data_categories_may_come_in_any_iterable(shape: Any) -> None:
    """Fail closed (undeclared is denied) whatever holds the names: declared categories are
    decided like the plain question, one undeclared category denies, asked twice alike
    (the second answer is the one the engine kept).
    """
    subject = Subject("s", [ConsentGiven(at=T0, purpose="analytics")])
    at = T0 + timedelta(days=1)
    for _ in range(2):
        fine = POLICY.may_process(subject, "analytics", at, data=shape(["ip", "cookie"]))
        assert fine == POLICY.may_process(subject, "analytics", at)
        wrong = POLICY.may_process(subject, "analytics", at, data=shape(["ip", "health"]))
        assert wrong.code is ReasonCode.DATA_CATEGORY_NOT_DECLARED


def test_a_category_that_is_not_a_string_is_denied_not_raised() -> None:
    """Fail closed: an unhashable "category" is undeclared; the answer is a denial value."""
    subject = Subject("s", [ConsentGiven(at=T0, purpose="analytics")])
    data: Any = [["ip"]]
    decision = POLICY.may_process(subject, "analytics", T0 + timedelta(days=1), data=data)
    assert decision.code is ReasonCode.DATA_CATEGORY_NOT_DECLARED
