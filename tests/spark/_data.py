"""Generated warehouse-shaped data for the Spark tests: events and hits of many subjects.

Deterministic for a seed. The histories mix every kind of event the Piwik PRO policy
reacts to (consents and withdrawals, opt-outs, objections, restrictions, erasures, ages,
interactions, late records), in two offsets; some subjects have hits and no events, some
events and no hits, and hits repeat collection instants and fall on event instants.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pyarrow as pa

from lawful import (
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    Erasure,
    Event,
    Interaction,
    Objection,
    OptOut,
    OptOutWithdrawn,
    RestrictionLifted,
    RestrictionRequested,
    TransferConsentGiven,
)
from lawful.tables import to_arrow

BASE = datetime(2024, 1, 1, tzinfo=UTC)
AT = datetime(2026, 1, 15, 12, tzinfo=UTC)
PURPOSES = (
    "analytics",
    "conversion_tracking",
    "ab_testing_personalization",
    "marketing_automation",
    "information_by_email",
    "session_statistics",
    "youtube_videos",
)
_ZONES = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))
_SPAN = int((AT - BASE).total_seconds())


def _event(rng: random.Random, at: datetime) -> Event:
    purpose = rng.choice(PURPOSES)
    makers: list[tuple[int, Callable[[], Event]]] = [
        (30, lambda: Interaction(at=at, kind=rng.choice(["page_view", "conversation"]))),
        (24, lambda: ConsentGiven(at=at, purpose=purpose, policy_version="2024-08-30")),
        (12, lambda: ConsentWithdrawn(at=at, purpose=purpose)),
        (5, lambda: OptOut(at=at, scope="all_data_collection")),
        (4, lambda: OptOutWithdrawn(at=at, scope="all_data_collection")),
        (5, lambda: Objection(at=at, purpose=purpose)),
        (3, lambda: RestrictionRequested(at=at)),
        (3, lambda: RestrictionLifted(at=at)),
        (2, lambda: Erasure(at=at)),
        (3, lambda: AgeDeclared(at=at, at_least=rng.choice([12, 14, 16, 18]))),
        (2, lambda: BirthDateDeclared(at=at, birth_date=date(2010, 5, rng.randint(1, 28)))),
        (3, lambda: TransferConsentGiven(at=at, vendor="hubspot", purpose=purpose)),
    ]
    weights = [w for w, _ in makers]
    (make,) = rng.choices([m for _, m in makers], weights=weights)
    return make()


def generate(
    subjects: int, *, seed: int = 17, max_events: int = 14, max_hits: int = 12
) -> tuple[pa.Table, pa.Table]:
    """``(events, hits)``: events in :data:`lawful.tables.EVENT_SCHEMA`; hits with
    ``hit`` (a row number), ``subject``, ``collected_at`` (UTC timestamps) and ``page``.
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    pairs: list[tuple[str, Event]] = []
    hit_subjects: list[str] = []
    hit_times: list[datetime] = []
    for index in range(subjects):
        sid = f"s{index:05d}"
        moments: list[datetime] = []
        kind = index % 10
        count = 0 if kind == 0 else rng.randint(1, max_events)
        for _ in range(count):
            moment = BASE + timedelta(seconds=rng.randrange(_SPAN))
            moments.append(moment)
            event = _event(rng, moment.astimezone(rng.choice(_ZONES)))
            if rng.random() < 0.05:  # recorded later than it took effect
                late = moment + timedelta(days=rng.randint(1, 60))
                event = attrs.evolve(event, recorded_at=late)
            pairs.append((sid, event))
        if kind == 1:
            continue  # events, no hits
        for _ in range(rng.randint(1, max_hits)):
            if moments and rng.random() < 0.2:
                collected = rng.choice(moments)  # on an event's instant
            elif hit_times and hit_subjects[-1] == sid and rng.random() < 0.2:
                collected = hit_times[-1]  # the same instant again
            else:
                collected = BASE + timedelta(seconds=rng.randrange(_SPAN))
            hit_subjects.append(sid)
            hit_times.append(collected)
    rng.shuffle(pairs)
    events = to_arrow(pairs)
    hits = pa.table(
        {
            "hit": pa.array(range(len(hit_subjects)), pa.int64()),
            "subject": pa.array(hit_subjects, pa.string()),
            "collected_at": pa.array(hit_times, pa.timestamp("us", tz="UTC")),
            "page": pa.array([f"/p/{i % 7}" for i in range(len(hit_subjects))], pa.string()),
        }
    )
    return events, hits
