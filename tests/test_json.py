"""The one JSON shape of events and decisions, read strictly, with errors that say where."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from unittest import mock

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lawful
from lawful import (
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Decision,
    Erasure,
    Event,
    EventError,
    Interaction,
    LegalBasis,
    NaiveDatetimeError,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    Purpose,
    PurposeTerms,
    Reason,
    ReasonCode,
    RestrictionLifted,
    RestrictionRequested,
    Subject,
    TransferConsentGiven,
    TransferConsentWithdrawn,
)
from lawful._json import read_usual_event
from lawful.events import BY_TYPE, EVENT_TYPES
from lawful.exceptions import LawfulError
from lawful.ledger._chain import stored_form

PLUS2 = timezone(timedelta(hours=2))
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
T1 = datetime(2025, 3, 1, 11, 30, 0, 250, tzinfo=PLUS2)
TERMS = PurposeTerms("Measure", LegalBasis.CONSENT, frozenset({"self", "cdn"}), frozenset({"ip"}))

EVERY_KIND: tuple[Event, ...] = (
    ConsentGiven(
        at=T1,
        recorded_at=T1 + timedelta(seconds=3),
        id="ev-1",
        purpose="analytics",
        vendor="cdn",
        policy_version="2024-08-30",
        terms=TERMS,
        explicit=True,
        method=ConsentMethod.BANNER,
    ),
    ConsentWithdrawn(at=T0, purpose="analytics", vendor="cdn"),
    Objection(at=T0, purpose="fraud", automated=True),
    ObjectionWithdrawn(at=T0, purpose="fraud"),
    ObjectionOverridden(at=T0, purpose="fraud", grounds="legal claim"),
    RestrictionRequested(at=T0, purpose="fraud", ground="accuracy contested"),
    RestrictionLifted(at=T0, purpose="fraud"),
    Erasure(at=T0, id="erase-7"),
    OptOut(at=T0, scope="tracking"),
    OptOutWithdrawn(at=T0, scope="tracking"),
    BirthDateDeclared(at=T0, birth_date=date(2008, 2, 29)),
    AgeDeclared(at=T0, at_least=16),
    ParentalConsentGiven(at=T0, purpose="analytics", guardian="parent-1"),
    ParentalConsentWithdrawn(at=T0),
    ContractStarted(at=T0, contract="c-1"),
    ContractEnded(at=T0, contract="c-1"),
    Interaction(at=T0, kind="reply", purpose="hubspot"),
    TransferConsentGiven(at=T0, vendor="google", purpose="ads", method=ConsentMethod.BANNER),
    TransferConsentWithdrawn(at=T0, vendor="google"),
)


def test_every_kind_is_in_the_round_trip_table() -> None:
    """The round-trip table has one event of every kind."""
    assert {type(e) for e in EVERY_KIND} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EVERY_KIND, ids=lambda e: e.event_type)
def test_event_round_trip(event: Event) -> None:
    """event_to_dict -> JSON text -> event_from_dict gives the same event, offset included."""
    data = lawful.event_to_dict(event)
    assert data["type"] == event.event_type
    back = lawful.event_from_dict(json.loads(json.dumps(data)))
    assert back == event
    assert back.at.utcoffset() == event.at.utcoffset()
    # Field by field, as written (a frozenset's repr order follows the hash seed).
    assert lawful.event_to_dict(back) == data


def test_event_shape() -> None:
    """The shape is flat: type, ISO ``at`` with its offset, fields by name, None left out."""
    data = lawful.event_to_dict(ConsentWithdrawn(at=T1, purpose="analytics"))
    assert data == {
        "type": "consent_withdrawn",
        "at": "2025-03-01T11:30:00.000250+02:00",
        "purpose": "analytics",
    }
    terms = lawful.event_to_dict(EVERY_KIND[0])["terms"]
    assert terms == {
        "statement": "Measure",
        "basis": "consent",
        "vendors": ["cdn", "self"],
        "data": ["ip"],
    }


def test_json_lines_round_trip() -> None:
    """dumps_events and read_events agree, subject ids included."""
    pairs = [(f"s-{i % 3}", event) for i, event in enumerate(EVERY_KIND)]
    text = lawful.dumps_events(pairs)
    assert text.count("\n") == len(pairs)
    assert list(lawful.read_events(text.splitlines())) == pairs


def test_blank_lines_are_allowed() -> None:
    """Blank lines between events are skipped; line numbers still count them."""
    lines = ["", '{"subject": "s", "type": "erasure", "at": "2025-03-01T09:00:00Z"}', "  "]
    assert list(lawful.read_events(lines)) == [("s", Erasure(at=T0))]


@pytest.mark.parametrize(
    "stamp", ["2025-03-01T09:00:00", "2025-03-01T09:00:00.123456", "2025-03-01"]
)
def test_a_naive_timestamp_is_rejected_telling_to_attach_a_zone(stamp: str) -> None:
    """A timestamp without an offset raises NaiveDatetimeError at its line and field."""
    lines = [
        '{"subject": "s", "type": "erasure", "at": "2025-03-01T09:00:00+00:00"}',
        json.dumps({"subject": "s", "type": "consent_given", "at": stamp, "purpose": "a"}),
    ]
    with pytest.raises(NaiveDatetimeError, match="attach a time zone") as caught:
        list(lawful.read_events(lines, source="events.jsonl"))
    assert caught.value.where == "events.jsonl:2: consent_given.at"


def test_a_naive_recorded_at_is_rejected() -> None:
    """recorded_at is held to the same rule as at."""
    with pytest.raises(NaiveDatetimeError, match=r"^event\.recorded_at: naive datetime"):
        lawful.event_from_dict(
            {"type": "erasure", "at": "2025-03-01T09:00:00Z", "recorded_at": "2025-03-01T09:00"}
        )


BAD_LINES: dict[str, tuple[dict[str, Any] | str, str]] = {
    "not JSON": ("{nope", r"^ev:1: not valid JSON"),
    "not an object": ("[1, 2]", r"^ev:1: expected a JSON object"),
    "no subject": ({"type": "erasure", "at": "2025-03-01T09:00:00Z"}, r"^ev:1: subject: "),
    "unknown type": (
        {"subject": "s", "type": "consent", "at": "2025-03-01T09:00:00Z"},
        r"^ev:1: consent\.type: unknown event type 'consent'; expected one of consent_given",
    ),
    "unknown key": (
        {"subject": "s", "type": "erasure", "at": "2025-03-01T09:00:00Z", "purpose": "a"},
        r"^ev:1: erasure\.purpose: unknown key for erasure",
    ),
    "missing field": (
        {"subject": "s", "type": "opt_out", "at": "2025-03-01T09:00:00Z"},
        r"^ev:1: opt_out\.scope: missing required key for opt_out",
    ),
    "missing at": (
        {"subject": "s", "type": "erasure"},
        r"^ev:1: erasure\.at: missing required key",
    ),
    "bad timestamp": (
        {"subject": "s", "type": "erasure", "at": "yesterday"},
        r"^ev:1: erasure\.at: expected an ISO 8601 timestamp with an offset, got 'yesterday'",
    ),
    "timestamp not a string": (
        {"subject": "s", "type": "erasure", "at": 1740819600},
        r"^ev:1: erasure\.at: expected an ISO 8601 timestamp",
    ),
    "bad date": (
        {
            "subject": "s",
            "type": "birth_date_declared",
            "at": "2025-03-01T09:00:00Z",
            "birth_date": "2001-02-30",
        },
        r"^ev:1: birth_date_declared\.birth_date: expected a date like 2001-02-28",
    ),
    "boolean for an integer": (
        {"subject": "s", "type": "age_declared", "at": "2025-03-01T09:00:00Z", "at_least": True},
        r"^ev:1: age_declared\.at_least: expected an integer",
    ),
    "implausible age": (
        {"subject": "s", "type": "age_declared", "at": "2025-03-01T09:00:00Z", "at_least": 300},
        r"^ev:1: age_declared\.at_least: expected an age from 0 to 200",
    ),
    "number for a string": (
        {"subject": "s", "type": "opt_out", "at": "2025-03-01T09:00:00Z", "scope": 3},
        r"^ev:1: opt_out\.scope: expected a string",
    ),
    "string for a boolean": (
        {
            "subject": "s",
            "type": "consent_given",
            "at": "2025-03-01T09:00:00Z",
            "purpose": "a",
            "explicit": "yes",
        },
        r"^ev:1: consent_given\.explicit: expected true or false",
    ),
    "terms with an unknown key": (
        {
            "subject": "s",
            "type": "consent_given",
            "at": "2025-03-01T09:00:00Z",
            "purpose": "a",
            "terms": {"statement": "s", "basis": "consent", "colour": "red"},
        },
        r"^ev:1: consent_given\.terms\.colour: unknown key",
    ),
    "terms with an unknown basis": (
        {
            "subject": "s",
            "type": "consent_given",
            "at": "2025-03-01T09:00:00Z",
            "purpose": "a",
            "terms": {"statement": "s", "basis": "whim"},
        },
        r"^ev:1: consent_given\.terms\.basis: unknown legal basis 'whim'",
    ),
    "terms vendors not a list": (
        {
            "subject": "s",
            "type": "consent_given",
            "at": "2025-03-01T09:00:00Z",
            "purpose": "a",
            "terms": {"statement": "s", "basis": "consent", "vendors": "self"},
        },
        r"^ev:1: consent_given\.terms\.vendors: expected a list of strings",
    ),
}


@pytest.mark.parametrize(("line", "message"), BAD_LINES.values(), ids=list(BAD_LINES))
def test_strict_reading_names_where(line: dict[str, Any] | str, message: str) -> None:
    """Every malformed line stops the read with an EventError naming source:line and field."""
    text = line if isinstance(line, str) else json.dumps(line)
    with pytest.raises(EventError, match=message):
        list(lawful.read_events([text], source="ev"))


def test_nothing_is_skipped_silently() -> None:
    """A bad line after good ones still raises; the good ones before it were yielded."""
    good = '{"subject": "s", "type": "erasure", "at": "2025-03-01T09:00:00Z"}'
    reader = lawful.read_events([good, "{}"], source="ev")
    assert next(reader) == ("s", Erasure(at=T0))
    with pytest.raises(EventError, match=r"^ev:2: "):
        next(reader)


# -- the prepared constructor ---------------------------------------------------------------
# event_from_dict reads the usual object with a constructor prepared per event type, and
# falls back to the general reading (a reader per field, then the class itself) on anything
# unusual. The prepared one must never accept more, nor read anything differently.


def _general(data: dict[str, Any]) -> Event:
    """event_from_dict with no prepared constructor: the general reading alone."""

    def refuse(_: dict[str, Any]) -> Event:
        raise KeyError

    with (
        mock.patch.object(lawful._json, "_PREPARED", {}),
        mock.patch.object(lawful._json, "_prepared", return_value=refuse),
    ):
        return lawful.event_from_dict(data)


def _in_utc(event: Event) -> Event:
    return stored_form(event, event_id=event.id, recorded_at=event.recorded_at)


CANONICAL = [json.loads(json.dumps(lawful.event_to_dict(_in_utc(e)))) for e in EVERY_KIND]


@pytest.mark.parametrize("data", CANONICAL, ids=lambda d: d["type"])
def test_the_prepared_constructor_reads_every_kind_as_the_class_does(data: dict[str, Any]) -> None:
    """Every kind in the ledger's canonical form (UTC, no nulls, a subject) is read by the
    prepared constructor, to the event the general reading gives, whose fields pass the
    class's validators.
    """
    with_subject = {**data, "subject": "s"}
    event = read_usual_event(with_subject)
    assert type(event) is type(_general(with_subject))
    assert event == _general(with_subject)
    assert repr(event) == repr(_general(with_subject))
    assert hash(event) == hash(_general(with_subject))
    attrs.validate(event)
    assert lawful.event_to_dict(event) == data


EDGE_VALUES: list[object] = [
    "",
    "x",
    "banner",
    "Pre-ticked box",
    "2025-03-01",
    "2001-02-30",
    "2025-03-01T09:00:00",
    "2025-03-01T09:00:00Z",
    "2025-03-01T09:00:00+02:00",
    "0001-01-01T00:30:00+01:00",
    "9999-12-31T23:30:00-01:00",
    "consent",
    0,
    16,
    300,
    -1,
    True,
    False,
    1.5,
    [],
    {},
    {"statement": "s", "basis": "consent"},
]
EDGES = st.sampled_from(EDGE_VALUES)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=3,
)


def _same_reading(data: dict[str, Any]) -> None:
    """Whatever the prepared constructor reads from ``data``, the general reading reads the
    same (and the instance passes the class's validators); where it raises,
    event_from_dict still gives the general reading's event or its error.
    """
    try:
        general: Event | LawfulError = _general(data)
    except LawfulError as exc:
        general = exc
    try:
        fast = read_usual_event(data)
    except Exception:  # noqa: BLE001 - anything unusual: the general reading decides
        fast = None
    if fast is not None:
        assert not isinstance(general, LawfulError), f"read what the class refuses: {general}"
        assert type(fast) is type(general)
        assert fast == general
        assert repr(fast) == repr(general)
        attrs.validate(fast)
    if isinstance(general, LawfulError):
        with pytest.raises(type(general), match=re.escape(str(general))):
            lawful.event_from_dict(data)
    else:
        assert lawful.event_from_dict(data) == general


def test_the_prepared_constructor_accepts_no_edge_value_the_class_refuses() -> None:
    """Every field of every kind set to each edge value (empty, naive, out of range, of
    another type, null) or left out: the prepared constructor reads as the class does.
    """
    for base in CANONICAL:
        for name in [*attrs.fields_dict(BY_TYPE[base["type"]]), "type", "subject", "colour"]:
            for value in [*EDGE_VALUES, None]:
                _same_reading({**base, name: value})
            _same_reading({key: value for key, value in base.items() if key != name})


@settings(max_examples=300)
@given(base=st.sampled_from(CANONICAL), draw=st.data())
def test_the_prepared_constructor_accepts_nothing_the_class_refuses(
    base: dict[str, Any], draw: st.DataObject
) -> None:
    """On an object with up to two keys set to edge or any JSON values, null, unknown
    or missing: the prepared constructor reads as the class does.
    """
    fields = sorted(attrs.fields_dict(BY_TYPE[base["type"]]))
    keys = st.sampled_from([*fields, "type", "subject", "colour"])
    changes = draw.draw(st.lists(st.tuples(keys, EDGES | st.none() | JSON_VALUES), max_size=2))
    dropped = draw.draw(st.sets(st.sampled_from(fields), max_size=2))
    data = {key: value for key, value in base.items() if key not in dropped}
    data.update(changes)
    _same_reading(data)


# -- decisions ------------------------------------------------------------------------------

# lawful.may_process takes only a purpose a policy compiled (issue 14 item 9).
PURPOSE = lawful.Policy(
    id="json",
    version="1",
    vendors=(lawful.Vendor("self", "Self"),),
    purposes=(
        Purpose(
            "analytics",
            "Analytics",
            "Measure",
            LegalBasis.CONSENT,
            withdrawal="settings",
            vendors=("self",),
        ),
    ),
).purpose("analytics")


def _decision(events: list[Event]) -> Decision:
    return lawful.may_process(Subject("s", events), PURPOSE, T1 + timedelta(days=1))


@pytest.mark.parametrize(
    "decision",
    [
        _decision([ConsentGiven(at=T1, purpose="analytics", terms=TERMS, id="c-1")]),
        _decision([]),
        _decision([ConsentGiven(at=T0, purpose="analytics"), Objection(at=T1)]),
        Decision(
            False,
            "x",
            T0,
            None,
            (Reason(ReasonCode.UNKNOWN_PURPOSE, "m", "Art. 5(1)(b)", clause="purposes"),),
        ),
        Decision(
            True,
            "x",
            T1,
            LegalBasis.CONSENT,
            (Reason(ReasonCode.CONSENT_GIVEN, "m", "Art. 6(1)(a)", event=EVERY_KIND[0]),),
            valid_until=T1 + timedelta(days=30),
        ),
    ],
    ids=["allowed with terms", "no consent", "objection", "unknown purpose", "valid_until"],
)
def test_decision_round_trip(decision: Decision) -> None:
    """A decision's stable JSON form reads back into an equal decision."""
    text = decision.to_json()
    assert json.loads(text) == decision.to_dict()
    back = Decision.from_dict(json.loads(text))
    assert back == decision
    assert back.at.utcoffset() == decision.at.utcoffset()


def test_decision_json_is_stable() -> None:
    """The JSON form has a fixed set of keys, sorted, with the event in the event shape."""
    decision = _decision([ConsentGiven(at=T1, purpose="analytics")])
    data = decision.to_dict()
    assert list(json.loads(decision.to_json())) == sorted(data)
    assert set(data) == {"allowed", "purpose", "at", "basis", "valid_until", "reasons"}
    reasons = data["reasons"]
    assert isinstance(reasons, list)
    assert reasons[0] == {
        "code": "consent_given",
        "message": reasons[0]["message"],
        "article": "Art. 6(1)(a)",
        "event": {
            "type": "consent_given",
            "at": T1.isoformat(),
            "purpose": "analytics",
            "explicit": False,
            "method": "unspecified",
        },
        "clause": None,
    }


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"allowed": True},
        {"allowed": True, "purpose": "p", "at": "x", "reasons": []},
        {
            "allowed": True,
            "purpose": "p",
            "at": "2025-01-01T00:00:00Z",
            "reasons": [{"code": "nope", "message": "m", "article": "a"}],
        },
    ],
)
def test_a_malformed_decision_is_an_event_error(data: dict[str, Any]) -> None:
    """Reading something that is not a decision raises EventError saying so."""
    with pytest.raises(EventError, match=r"^decision: not a decision object"):
        Decision.from_dict(data)


def test_json_lines_survive_splitlines() -> None:
    """Characters that str.splitlines() breaks on are escaped, so one event stays one line."""
    event = Interaction(at=datetime(2025, 1, 1, tzinfo=UTC), kind="a\u2028b\x85c\u2029")
    text = lawful.dumps_events([("visitor\u2028", event)])
    assert len(text.splitlines()) == 1
    assert list(lawful.read_events(text.splitlines())) == [("visitor\u2028", event)]
