"""Events: one frozen class per kind, keyword-only, with an aware ``at`` (issue 3)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

import attrs
import pytest

from lawful import (
    AgeDeclared,
    ConsentGiven,
    ConsentMethod,
    Erasure,
    Event,
    LawfulError,
    NaiveDatetimeError,
)
from lawful.events import BY_TYPE, EVENT_TYPES

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)

# The fields each kind needs besides ``at``.
REQUIRED: dict[str, dict[str, object]] = {
    "consent_given": {"purpose": "analytics"},
    "consent_withdrawn": {"purpose": "analytics"},
    "objection": {},
    "objection_withdrawn": {},
    "objection_overridden": {"purpose": "fraud", "grounds": "legal claim"},
    "restriction_requested": {},
    "restriction_lifted": {},
    "erasure": {},
    "opt_out": {"scope": "tracking"},
    "opt_out_withdrawn": {"scope": "tracking"},
    "birth_date_declared": {"birth_date": date(2000, 1, 1)},
    "age_declared": {"at_least": 16},
    "parental_consent_given": {},
    "parental_consent_withdrawn": {},
    "contract_started": {"contract": "c-1"},
    "contract_ended": {"contract": "c-1"},
    "interaction": {"kind": "page_view"},
    "transfer_consent_given": {"vendor": "google"},
    "transfer_consent_withdrawn": {"vendor": "google"},
}


def make(kind: type[Event], **fields: object) -> Event:
    """An event of ``kind`` with its required fields, overridable."""
    body: dict[str, object] = {"at": T0, **REQUIRED[kind.event_type], **fields}
    return kind(**body)  # type: ignore[arg-type]


def test_every_kind_of_design_is_there() -> None:
    """The event types of docs/events.md: one class per kind, each with a unique type name."""
    assert set(BY_TYPE) == set(REQUIRED)
    assert len(EVENT_TYPES) == len(BY_TYPE)


@pytest.mark.parametrize("kind", EVENT_TYPES, ids=lambda k: k.event_type)
def test_events_are_frozen_values(kind: type[Event]) -> None:
    """Events are immutable, comparable and hashable values with optional recorded_at and id."""
    event = make(kind, recorded_at=T0 + timedelta(seconds=1), id="e-1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.at = T0  # type: ignore[misc]
    assert event == make(kind, recorded_at=T0 + timedelta(seconds=1), id="e-1")
    assert hash(event) == hash(make(kind, recorded_at=T0 + timedelta(seconds=1), id="e-1"))
    assert (make(kind).recorded_at, make(kind).id) == (None, None)


@pytest.mark.parametrize("kind", EVENT_TYPES, ids=lambda k: k.event_type)
def test_events_are_keyword_only(kind: type[Event]) -> None:
    """Events cannot be built positionally (fields are many, and their order is no contract)."""
    with pytest.raises(TypeError):
        kind(T0)  # type: ignore[call-arg]


@pytest.mark.parametrize("kind", EVENT_TYPES, ids=lambda k: k.event_type)
@pytest.mark.parametrize("field", ["at", "recorded_at"])
def test_a_naive_datetime_is_rejected_with_a_message_to_attach_a_zone(
    kind: type[Event], field: str
) -> None:
    """A naive ``at`` or ``recorded_at`` raises NaiveDatetimeError naming the field."""
    naive = datetime(2025, 3, 1, 9)
    message = (
        f"{kind.event_type}.{field}: naive datetime; attach a time zone "
        "(for example tzinfo=datetime.UTC) - lawful never guesses one"
    )
    with pytest.raises(NaiveDatetimeError) as caught:
        make(kind, **{field: naive})
    assert str(caught.value) == message
    assert caught.value.where == f"{kind.event_type}.{field}"
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, LawfulError)


def test_a_tzinfo_that_gives_no_offset_is_naive() -> None:
    """A tzinfo whose utcoffset() is None does not make a datetime aware."""

    class Nowhere(tzinfo):
        def utcoffset(self, dt: datetime | None) -> None:
            del dt

        def dst(self, dt: datetime | None) -> None:
            del dt

        def tzname(self, dt: datetime | None) -> str:
            del dt
            return "nowhere"

    with pytest.raises(NaiveDatetimeError):
        ConsentGiven(at=datetime(2025, 1, 1, tzinfo=Nowhere()), purpose="a")


def test_a_date_is_not_an_instant() -> None:
    """``at`` must be a datetime, not a date."""
    with pytest.raises(TypeError, match=r"^erasure\.at: expected an aware datetime, got date"):
        Erasure(at=date(2025, 1, 1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2025, 3, 1, 11, tzinfo=timezone(timedelta(hours=2))),
        datetime(2025, 3, 1, 10, tzinfo=ZoneInfo("Europe/Warsaw")),
        datetime(2025, 3, 1, 9, tzinfo=UTC),
    ],
)
def test_any_zone_is_kept_as_given(moment: datetime) -> None:
    """An aware ``at`` is accepted in any zone and kept as written."""
    event = Erasure(at=moment)
    assert event.at is moment
    assert event == Erasure(at=T0)


@pytest.mark.parametrize("value", [-1, 201])
def test_an_age_must_be_plausible(value: int) -> None:
    """ "At least N" must be an age from 0 to 200."""
    with pytest.raises(ValueError, match=r"age_declared\.at_least"):
        AgeDeclared(at=T0, at_least=value)


def test_consent_defaults() -> None:
    """A consent is purpose-wide, of the current version, not explicit, method unspecified."""
    consent = ConsentGiven(at=T0, purpose="analytics")
    assert (consent.vendor, consent.policy_version, consent.terms) == (None, None, None)
    assert (consent.explicit, consent.method) == (False, ConsentMethod.UNSPECIFIED)


def test_ranks_order_restrictiveness() -> None:
    """Every kind has a rank; withdrawals and restrictions outrank what they undo."""
    ranks = {cls.event_type: cls.rank for cls in EVENT_TYPES}
    assert ranks["consent_withdrawn"] > ranks["consent_given"]
    assert ranks["objection"] > ranks["objection_overridden"] > ranks["objection_withdrawn"]
    assert ranks["restriction_requested"] > ranks["restriction_lifted"]
    assert ranks["erasure"] > ranks["consent_given"]
    assert ranks["opt_out"] > ranks["opt_out_withdrawn"]
    assert ranks["parental_consent_withdrawn"] > ranks["parental_consent_given"]
    assert ranks["contract_ended"] > ranks["contract_started"]
    assert all(0 <= rank < 4 for rank in ranks.values())
