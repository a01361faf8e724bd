"""Laws of the column-wise path of :mod:`lawful.tables` (``lawful.tables._fast``).

Subjects holding only consent choices and page views, asked about a consent purpose, are
decided in Arrow and DuckDB without the engine; every other subject by the engine. The
laws draw exactly such histories (consents given and withdrawn, for the purpose, another
one, its vendors and others, affirmative or not, versioned or not, explicit or not,
recorded late or in time, in several offsets, now and then two at one instant, now and
then an objection) and hold both tables to the engine: ``tables.spans`` row for row to
``Policy.timeline`` (DESIGN, "The decision": step 9 on consent, its lifetime and
staleness, Art. 4(11), 7), ``tables.sweep`` hit for hit to ``may_process`` with
``collected_at`` (step 8 retention, step 9 consent at collection and withdrawal since).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.properties.test_tables_laws import Sweep, _edges, _expected, _swept, _window

import lawful
from lawful import (
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    Event,
    Interaction,
    Objection,
    Policy,
    Subject,
)
from lawful import strategies as ls

pytest.importorskip("pyarrow")
pytest.importorskip("duckdb")
tables = pytest.importorskip("lawful.tables")
_fast = pytest.importorskip("lawful.tables._fast")

_BASE = datetime(2024, 6, 1, tzinfo=UTC)
_ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]


@st.composite
def choices(draw: st.DrawFn, policy: Policy, size: int) -> list[Event]:
    """Up to ``size`` consent choices and page views on the policy's purposes, over two
    years (days, hours and now and then one instant twice), in several offsets.
    """
    ids = [*policy.purpose_ids, "elsewhere"]
    vendors: list[str | None] = [None, None, "nobody"]
    for pid in policy.purpose_ids:
        vendors += list(policy.purpose(pid).vendors)
    versions: list[str | None] = [None, None, "unknown", policy.version]
    versions += [v.version for v in policy.previous_versions]
    out: list[Event] = []
    instants: list[datetime] = []
    for _ in range(size):
        if instants and draw(st.integers(0, 9)) == 0:
            at = draw(st.sampled_from(instants))  # a tie
        else:
            at = _BASE + timedelta(hours=draw(st.integers(-24 * 400, 24 * 400)))
        at = at.astimezone(draw(st.sampled_from(_ZONES)))
        instants.append(at)
        kind = draw(st.integers(0, 19))
        pid = draw(st.sampled_from(ids))
        vendor = draw(st.sampled_from(vendors))
        if kind < 8:
            late = draw(st.sampled_from([None, None, None, -1, 0, 30]))
            out.append(
                ConsentGiven(
                    at=at,
                    purpose=pid,
                    vendor=vendor if draw(st.integers(0, 3)) == 0 else None,
                    policy_version=draw(st.sampled_from(versions)),
                    explicit=draw(st.booleans()),
                    method=draw(st.sampled_from(list(ConsentMethod))),
                    recorded_at=None if late is None else at + timedelta(days=late),
                )
            )
        elif kind < 12:
            out.append(
                ConsentWithdrawn(at=at, purpose=pid, vendor=vendor if draw(st.booleans()) else None)
            )
        elif kind < 19:
            out.append(Interaction(at=at, kind="page_view"))
        else:
            out.append(Objection(at=at, purpose=pid))
    return out


@st.composite
def fast_sweeps(draw: st.DrawFn, policies: st.SearchStrategy[Policy] | None = None) -> Sweep:
    """A policy, up to six subjects of consent choices, a consent purpose and its hits."""
    policy = draw(
        ls.policies(text=st.just(""), bases=[lawful.LegalBasis.CONSENT])
        if policies is None
        else policies
    )
    subjects = [
        Subject(f"s{i}", draw(choices(policy, draw(st.integers(0, 8)))))
        for i in range(draw(st.integers(1, 6)))
    ]
    every = [e for s in subjects for e in s.events]
    # Mostly a purpose the column-wise path decides (the others go to the engine).
    fast = [p for p in policy.purpose_ids if _fast.fast_purpose(policy, p, _BASE, stored=True)]
    prefer: int = draw(st.integers(0, 4))
    pid = draw(st.sampled_from(fast if fast and prefer else policy.purpose_ids))
    moments = [e.at for e in every] + [e.recorded_at for e in every if e.recorded_at]
    near: bool = draw(st.booleans())
    at = draw(st.sampled_from(moments)) if moments and near else _BASE
    at += draw(st.sampled_from([timedelta(0), timedelta(days=1), timedelta(days=400)]))
    hits: list[tuple[str, datetime]] = []
    for subject in [*subjects, Subject("ghost")]:
        edges = _edges(policy, subject, at, [at - timedelta(days=d) for d in (1, 90, 2000)])
        chosen = draw(st.lists(st.sampled_from(edges), max_size=12)) if edges else []
        hits += [(subject.id, c) for c in chosen]
    return Sweep(policy, tuple(subjects), pid, None, at, tuple(hits))


def _spans(sweep: Sweep, purposes: list[str]) -> list[dict[str, object]]:
    start, end = _window(sweep)
    got = tables.spans(
        sweep.policy, tables.to_arrow(sweep.events()), purposes=purposes, start=start, end=end
    )
    rows: list[dict[str, object]] = got.to_pylist()
    return rows


def _timelines(sweep: Sweep, purposes: list[str]) -> list[dict[str, object]]:
    start, end = _window(sweep)
    return [
        {
            "subject": subject.id,
            "purpose": p,
            "start": s.start,
            "end": s.end,
            "allowed": s.allowed,
            "basis": None if s.decision.basis is None else s.decision.basis.value,
            "code": s.code.value,
        }
        for subject in sorted(sweep.subjects, key=lambda s: s.id.encode())
        if subject.events
        for p in purposes
        for s in sweep.policy.timeline(subject, p, start, end)
    ]


@given(fast_sweeps())
@settings(max_examples=120, deadline=None)
def test_column_wise_spans_are_each_subjects_timeline(sweep: Sweep) -> None:
    """Art. 7: a consent choice's timeline, decided in columns, is the engine's, row for
    row (the purpose, every consent purpose of the policy and an undeclared one).
    """
    purposes = [sweep.purpose, "undeclared", sweep.purpose]
    assert _spans(sweep, purposes) == _timelines(sweep, purposes)
    every = [*sweep.policy.purpose_ids, "undeclared"]
    assert _spans(sweep, every) == _timelines(sweep, every)


@given(fast_sweeps())
@settings(max_examples=120, deadline=None)
def test_column_wise_sweep_decides_as_may_process(sweep: Sweep) -> None:
    """Art. 5(1)(e), 7(3): every hit of a column-wise sweep decides as ``may_process``
    with its collection instant does.
    """
    assert _swept(sweep) == _expected(sweep)


BUNDLED = st.just(lawful.bundled_policy("piwik-pro"))


@given(fast_sweeps(policies=BUNDLED))
@settings(max_examples=60, deadline=None)
def test_column_wise_tables_on_the_bundled_policy(sweep: Sweep) -> None:
    """The same laws on the policy a service runs (consent lifetime none, dated versions)."""
    assert _swept(sweep) == _expected(sweep)
    assert _spans(sweep, [sweep.purpose]) == _timelines(sweep, [sweep.purpose])


def test_the_column_wise_path_decides_plain_histories() -> None:
    """The laws above are about this path: consent choices and page views in time, on a
    consent purpose of the quick shape, are decided without the engine.
    """
    policy = lawful.bundled_policy("piwik-pro")
    fast = _fast.fast_purpose(policy, "analytics", _BASE, stored=True)
    assert fast is not None
    events = tables.to_arrow(
        [
            ("a", ConsentGiven(at=_BASE, purpose="analytics")),
            ("a", Interaction(at=_BASE + timedelta(days=1), kind="page_view")),
            ("a", ConsentWithdrawn(at=_BASE + timedelta(days=2), purpose="analytics")),
            ("b", Objection(at=_BASE, purpose="analytics")),
        ]
    )
    bad, read = _fast.bad_subjects(events.to_batches(), [fast])
    assert bad == ["b"]
    assert read[0].column("subject").to_pylist() == ["a", "a"]


@pytest.mark.parametrize("purposes", [["undeclared"], ["analytics"], ["analytics", "undeclared"]])
def test_a_bad_row_is_an_error_whichever_path_its_subject_would_take(purposes: list[str]) -> None:
    """Every input is checked where it enters (DESIGN, "Around the core"): a page view
    whose instant is no instant stops the spans, also when no purpose asked about reads
    page views and the other rows would take the column-wise path.
    """
    pa = pytest.importorskip("pyarrow")
    events = pa.table(
        {
            "subject": ["a", "a"],
            "type": ["consent_given", "interaction"],
            "at": ["2025-01-01T00:00:00Z", "nonsense"],
            "purpose": ["analytics", None],
            "kind": [None, "page_view"],
        }
    )
    policy = lawful.bundled_policy("piwik-pro")
    with pytest.raises(lawful.EventError, match=r"events\[1\]"):
        tables.spans(policy, events, purposes=purposes, start=_BASE, end=_BASE + timedelta(1))


def test_data_collected_at_the_sweeps_instant_is_fresh_data() -> None:
    """Art. 6(1)(a): a hit collected at ``at`` is judged at ``at`` alone, as fresh data
    (an expired consent: ``consent_expired``), one collected before it also at collection
    (``no_consent`` there), on the column-wise path as by ``may_process``.
    """
    from tests._site import POLICY  # noqa: PLC0415 - a test policy, imported where used

    assert _fast.fast_purpose(POLICY, "analytics", _BASE, stored=True) is not None
    at = _BASE + timedelta(days=40)
    subject = Subject("a", [ConsentGiven(at=_BASE, purpose="analytics", policy_version="v2")])
    sweep = Sweep(
        POLICY, (subject,), "analytics", None, at, (("a", at), ("a", at - timedelta(days=1)))
    )
    assert [code for _, _, code in _expected(sweep)] == ["consent_expired", "no_consent"]
    assert _swept(sweep) == _expected(sweep)
