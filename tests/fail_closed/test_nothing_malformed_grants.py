"""Nothing malformed grants: every input is checked where it enters (fail-closed.md).

Definitions the properties below use:

- A field's *domain* is what its annotation and docs admit: a non-empty ``str`` for ids
  (``None`` too where the field is optional), exactly ``True``/``False`` for flags, a
  :class:`lawful.ConsentMethod` member, an aware ``datetime`` whose instant lies in UTC's
  years 1 to 9999, a ``date`` that is not a ``datetime``, an ``int`` (not a ``bool``)
  from 0 to 200 for an age, :class:`lawful.PurposeTerms` or ``None`` for terms.
- A value outside the domain is *malformed*. The most protective reading of an event
  carrying one is that it never happened: the decision is the one on the history
  without it (for a grant, the narrowest reading; for a withdrawal, the caller learns by
  an exception that nothing was recorded, instead of a silent no-op).
- So: building an event with a malformed value raises a :class:`lawful.LawfulError`
  where it is made, and the history keeps its decisions; building it with a value in the
  domain gives an event that decides exactly like the same event read back from JSON
  Lines, so no value means more in Python than it would in a file.
- JSON Lines mutated at byte level either raise a :class:`lawful.LawfulError` when read,
  or give events that round-trip (written and read back, the same events) and decide
  without error.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lawful
from lawful import ConsentMethod, Event, LawfulError, PurposeTerms, Subject
from lawful._json import dumps_events, event_from_dict, event_to_dict, read_events
from lawful._limits import bounded_lines
from lawful.events import EVENT_TYPES

POLICY = lawful.bundled_policy("piwik-pro")
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
AT = datetime(2025, 6, 1, 12, tzinfo=UTC)
PURPOSE = POLICY.purpose_ids[0]
VENDOR = "piwik-pro"

# A history with a little of everything, so that an added event can change something.
HISTORY: tuple[Event, ...] = (
    lawful.ConsentGiven(at=T0, purpose=PURPOSE, method=ConsentMethod.BANNER),
    lawful.Interaction(at=T0, kind="page_view"),
)

# Valid values for every field an event kind requires or may have.
VALID: dict[str, object] = {
    "at": T0 + timedelta(days=1),
    "recorded_at": T0 + timedelta(days=1),
    "id": "e-1",
    "purpose": PURPOSE,
    "vendor": VENDOR,
    "policy_version": POLICY.version,
    "terms": None,
    "explicit": False,
    "method": ConsentMethod.BANNER,
    "automated": True,
    "grounds": "legal claim",
    "ground": "accuracy contested",
    "scope": "all",
    "birth_date": date(2001, 2, 3),
    "at_least": 18,
    "guardian": "parent-1",
    "contract": "c-1",
    "kind": "page_view",
}

OPTIONAL_TEXT = {"recorded_at", "id", "vendor", "policy_version", "guardian", "terms"}


def _optional(kind: type[Event], name: str) -> bool:
    field = attrs.fields_dict(kind)[name]
    return field.default is None


def in_domain(kind: type[Event], name: str, value: object) -> bool:
    """The oracle: whether ``value`` is in the documented domain of ``kind.name``."""
    if value is None:
        return _optional(kind, name)
    if name in {"at", "recorded_at"}:
        if not isinstance(value, datetime) or value.utcoffset() is None:
            return False
        try:
            value.astimezone(UTC)
        except OverflowError:
            return False
        return True
    if name == "birth_date":
        return type(value) is date
    if name == "at_least":
        return type(value) is int and 0 <= value <= 200
    if name in {"explicit", "automated"}:
        return type(value) is bool
    if name == "method":
        return type(value) is ConsentMethod
    if name == "terms":
        return type(value) is PurposeTerms
    if name == "ground":
        return type(value) is str
    return type(value) is str and value != ""


EXTREME = timezone(timedelta(hours=23, minutes=59))
junk = st.one_of(
    st.none(),
    st.binary(max_size=8),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.tuples(st.text(max_size=2)),
    st.frozensets(st.text(max_size=2), max_size=2),
    st.text(max_size=3),
    st.text(min_size=5000, max_size=6000, alphabet="ab"),
    st.just(""),
    st.dates(),
    st.datetimes(timezones=st.none()),
    st.datetimes(timezones=st.just(UTC)),
    st.sampled_from(
        [
            datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-EXTREME.utcoffset(None))),
            datetime(1, 1, 1, 0, 1, tzinfo=EXTREME),
            datetime.max.replace(tzinfo=UTC),
        ]
    ),
    st.sampled_from(list(ConsentMethod)),
    st.sampled_from(["analytics", PURPOSE, VENDOR, "all", "1", b"analytics"]),
)


def _fields(kind: type[Event]) -> list[str]:
    return [f.name for f in attrs.fields(kind)]


def _subject_takes(kind: type[Event]) -> bool:
    """Whether the engine places ``kind`` yet (transfer consents arrive with the engine's
    Art. 49 work; until then they are checked here, not decided)."""
    body: dict[str, Any] = {f: VALID[f] for f in _fields(kind) if f in VALID}
    try:
        Subject("s", [kind(**body)])
    except TypeError:
        return False
    return True


DECIDABLE = frozenset(k for k in EVENT_TYPES if _subject_takes(k))


def _decisions(events: tuple[Event, ...]) -> dict[str, tuple[bool, str]]:
    events = tuple(e for e in events if type(e) in DECIDABLE)
    decided = POLICY.decide_all(Subject("s", events), AT)
    return {pid: (d.allowed, d.code.value) for pid, d in decided.items()}


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(EVENT_TYPES), data=st.data())
def test_a_malformed_field_is_refused_where_the_event_is_made(
    kind: type[Event], data: st.DataObject
) -> None:
    """Any value in any field: a LawfulError where made, or an event that decides like
    its JSON Lines reading (never a raw TypeError, never a broader meaning)."""
    name = data.draw(st.sampled_from(_fields(kind)), label="field")
    value = data.draw(junk, label="value")
    body: dict[str, Any] = {f: VALID[f] for f in _fields(kind) if f in VALID}
    body[name] = value
    try:
        event = kind(**body)
    except LawfulError:
        assert not in_domain(kind, name, value), f"{kind.event_type}.{name} refused {value!r}"
        return
    assert in_domain(kind, name, value), f"{kind.event_type}.{name} accepted {value!r}"
    again = event_from_dict(json.loads(json.dumps(event_to_dict(event))))
    assert again == event
    assert _decisions((*HISTORY, event)) == _decisions((*HISTORY, again))


@given(st.data())
def test_a_consent_purpose_out_of_domain_is_always_refused(data: st.DataObject) -> None:
    """Point 1's worst case, searched directly: a consent whose purpose is not a non-empty
    string (None would have granted every consent purpose) is never made."""
    value = data.draw(junk.filter(lambda v: not in_domain(lawful.ConsentGiven, "purpose", v)))
    try:
        lawful.ConsentGiven(at=T0, purpose=value)
    except LawfulError:
        return
    raise AssertionError(f"consent_given.purpose accepted {value!r}")


def _jsonl() -> bytes:
    events: list[Event] = [
        lawful.ConsentGiven(at=T0, purpose=PURPOSE, method=ConsentMethod.BANNER, id="c1"),
        lawful.ConsentWithdrawn(at=T0 + timedelta(days=2), purpose=PURPOSE),
        lawful.AgeDeclared(at=T0, at_least=17),
        lawful.TransferConsentGiven(at=T0, vendor=VENDOR),
        lawful.Objection(at=T0, automated=True),
    ]
    return dumps_events(("s", e) for e in events).encode()


SOURCE = _jsonl()
mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, len(SOURCE) - 1), st.integers(0, 255)),
    st.tuples(st.just("insert"), st.integers(0, len(SOURCE)), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, len(SOURCE) - 1), st.integers(1, 16)),
    st.tuples(st.just("repeat"), st.integers(0, len(SOURCE) - 1), st.integers(1, 40)),
)


def _mutate(source: bytes, steps: list[tuple[str, int, Any]]) -> bytes:
    out = bytearray(source)
    for kind, where, arg in steps:
        pos = min(where, len(out))
        if kind == "flip" and pos < len(out):
            out[pos] = arg
        elif kind == "insert":
            out[pos:pos] = arg
        elif kind == "delete":
            del out[pos : pos + arg]
        elif kind == "repeat":
            out[pos:pos] = out[pos : pos + arg]
    return bytes(out)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutation, min_size=1, max_size=4))
def test_mutated_json_lines_are_refused_or_round_trip(steps: list[tuple[str, int, Any]]) -> None:
    """Bytes mutated anywhere: a LawfulError when read, or events that round-trip and
    decide (never a raw exception, never a key read twice)."""
    raw = _mutate(SOURCE, steps)
    try:
        pairs = list(read_events(bounded_lines(io.BytesIO(raw), "m"), source="m"))
    except LawfulError:
        return
    text = dumps_events(pairs)
    assert list(read_events(text.splitlines(), source="again")) == pairs
    _decisions(tuple(e for _, e in pairs))
