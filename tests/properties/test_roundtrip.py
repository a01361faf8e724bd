"""Round trips: what lawful writes, it reads back equal (policies, events, subjects, decisions).

Policies are drawn with any text (control characters, non-Latin scripts) since a
file format that mangles a statement would make every consent given under it stale.
"""

from __future__ import annotations

import io
import json
from typing import Literal

from hypothesis import given
from hypothesis import strategies as st
from tests.properties._cases import Case, cases

from lawful import (
    Decision,
    Event,
    Policy,
    Subject,
    dumps_events,
    dumps_policy,
    event_from_dict,
    event_to_dict,
    loads_policy,
    read_events,
)
from lawful import strategies as ls

FORMATS: tuple[Literal["toml", "json"], ...] = ("toml", "json")


@given(ls.policies(), st.sampled_from(FORMATS))
def test_a_policy_survives_its_file_format(policy: Policy, fmt: Literal["toml", "json"]) -> None:
    """DESIGN, policy as data: policies are "TOML/JSON files or Python objects"; a generated
    policy written as TOML or JSON and read back is the same policy (issue 2 acceptance).
    """
    text = dumps_policy(policy, format=fmt)
    again = loads_policy(text, format=fmt)
    assert again == policy
    assert again.purposes == policy.purposes
    assert dumps_policy(again, format=fmt) == text


@given(ls.policies())
def test_a_policy_survives_its_dict_form(policy: Policy) -> None:
    """DESIGN, policy as data: ``Policy.to_dict`` is the file shape that ``from_dict`` reads;
    through JSON text, too (dates and durations as strings).
    """
    shape = policy.to_dict()
    assert Policy.from_dict(shape) == policy
    assert Policy.from_dict(json.loads(json.dumps(shape))) == policy


@given(ls.events())
def test_an_event_survives_its_json_form(event: Event) -> None:
    """lawful._json: THE JSON shape of an event; read back, it is the same event, taking
    effect at the same instant with the same UTC offset (the zone's name is not kept).
    """
    data = json.loads(json.dumps(event_to_dict(event)))
    again = event_from_dict(data)
    assert again == event
    assert again.at.utcoffset() == event.at.utcoffset()
    assert event_to_dict(again) == event_to_dict(event)


@given(cases())
def test_a_subject_survives_json_lines(case: Case) -> None:
    """lawful._json: ``dumps_events`` writes a subject's history as JSON Lines that
    ``read_events`` reads back; the subject rebuilt from them decides the same.
    """
    subject = case.subject
    text = dumps_events((subject.id, e) for e in subject.events)
    # Read as a file is (lines end at "\n" only): str.splitlines would also split at
    # U+0085 or U+2028, which JSON leaves unescaped inside strings.
    pairs = list(read_events(io.StringIO(text), source="round-trip"))
    assert {owner for owner, _ in pairs} <= {subject.id}
    again = Subject(subject.id, [e for _, e in pairs], categories=subject.categories)
    assert sorted(map(repr, map(event_to_dict, again.events))) == sorted(
        map(repr, map(event_to_dict, subject.events))
    )
    assert case.decide(subject=again).to_dict() == case.decide().to_dict()


@given(cases())
def test_a_decision_survives_its_json_form(case: Case) -> None:
    """DESIGN: a Decision has "a stable JSON form": ``Decision.from_dict(d.to_dict())`` is
    ``d``, and writing it again gives the same JSON text.
    """
    decision = case.decide()
    again = Decision.from_dict(json.loads(decision.to_json()))
    assert again == decision
    assert again.to_json() == decision.to_json()
