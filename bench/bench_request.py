"""The per-request benchmark: what a service pays when, per request, it fetches a subject's
events and asks one question.

Run it with ``nox -s bench`` (which installs opa-eval, cedarpy and casbin), or
directly with ``python bench/bench_request.py`` (engines not installed are left out).
One process, interleaved rounds, medians (see harness.py). The headline table is the
first: a fresh :class:`lawful.Subject` from the event objects plus one ``may_process``,
against a lean hand-written path that builds its own index from the same events
(``baseline.Baseline``, its policy table made once) and against each engine fed by the
same pre-computation from the events (``rivals.Facts``, its policy part made once).
Then: the subject build per event, the kept and cold decision, ``decide_all`` on a fresh
subject, the SQLite ledger read (verified) against a bare ``SELECT`` + ``json.loads``
of the same rows, and bulk subjects per second. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import harness
import rivals
import visitors
from baseline import Baseline, Lean, Table
from harness import Case, table, us

import lawful
from lawful import Subject
from lawful.ledger import SQLiteLedger

SIZES = (5, 20, 100, 1_000)
KEY = bytes(range(32))
# Each target: its goal and whether the measured value must be at most or at least it.
TARGETS = {
    "request_over_lean_worst": (2.0, "<="),
    "opa-eval_over_request_worst": (1.0, ">="),
    "cedarpy_over_request_worst": (1.0, ">="),
    "casbin_over_request_worst": (1.0, ">="),
    "opa-eval_over_request_20": (2.0, ">="),
    "build_us_per_event_worst": (0.5, "<="),
    "cold_over_kept_20": (5.0, "<="),
    "ledger_over_select_20": (2.0, "<="),
    "decide_all_over_baseline_20": (2.0, "<="),
    "bulk_subjects_per_s_20": (75_000.0, ">="),
    "kept_over_baseline_20": (1.2, "<="),
    "policy_load_ms": (20.0, "<="),
}


def _request(policy: lawful.Policy, events: list[lawful.Event], pid: str, at: datetime, cats: Any):
    def request() -> lawful.Decision:
        return policy.may_process(Subject("visitor", events, categories=cats), pid, at)

    return request


def _lean(tab: Table, events: list[lawful.Event], pid: str, at: datetime):
    def request() -> object:
        return Lean(tab, events).decide(pid, at)

    return request


def _engine(engine: Any, prepared: rivals.Prepared, events: list[lawful.Event], pid: str, at: Any):
    def request() -> bool:
        engine.facts = rivals.Facts(prepared, events)
        return engine.decide(pid, at, None, ())

    return request


def _cold(policy: lawful.Policy, subject: Subject, pid: str, at: datetime):
    index = subject._index

    def decide() -> lawful.Decision:
        index.memo.clear()  # what the engine derived from the history, and
        index.decisions.clear()  # the decisions it keeps: as on a fresh subject
        return policy.may_process(subject, pid, at)

    return decide


def _empty() -> None:
    """The floor: a Python call that does nothing."""


class _Bulk:
    """Many subjects, each built from its events and asked once, in one loop."""

    def __init__(
        self,
        policy: lawful.Policy,
        histories: list[list[lawful.Event]],
        pid: str,
        at: datetime,
        cats: Any,
    ) -> None:
        self.policy, self.histories, self.pid, self.at, self.cats = policy, histories, pid, at, cats

    def __call__(self) -> None:
        decide, pid, at, cats = self.policy.may_process, self.pid, self.at, self.cats
        for n, events in enumerate(self.histories):
            decide(Subject(f"visitor-{n}", events, categories=cats), pid, at)


def _ledger(tmp: str, events: list[lawful.Event]) -> tuple[SQLiteLedger, sqlite3.Connection, bytes]:
    """A SQLite ledger holding the subject's events, stamped as recorded when they happened,
    among 200 other subjects; and a plain connection to the same file.
    """
    path = Path(tmp) / "request.db"
    now = [events[0].at]
    ledger = SQLiteLedger(path, key=KEY, clock=lambda: now[0])
    others = visitors.START - timedelta(days=30)
    for n in range(2_000):
        now[0] = others + timedelta(minutes=n)
        ledger.append(f"other-{n % 200}", lawful.Interaction(at=now[0], kind="page_view"))
    for event in events:
        now[0] = event.at
        ledger.append("visitor", event)
    connection = sqlite3.connect(path)
    return ledger, connection, ledger._key.subject_tag("visitor")


def _select(connection: sqlite3.Connection, tag: bytes) -> Callable[[], list[object]]:
    query = "SELECT payload FROM ledger_records WHERE subject_tag = ? ORDER BY seq"

    def read() -> list[object]:
        return [json.loads(row[0]) for row in connection.execute(query, (tag,))]

    return read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (odd)")
    parser.add_argument("--sample-ms", type=float, default=3.0, help="length of one sample")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 ms: a smoke test")
    parser.add_argument("--no-write", action="store_true", help="do not write the results")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.sample_ms = 3, 1.0
    started = time.perf_counter()

    policy = lawful.bundled_policy("piwik-pro")
    text = (resources.files("lawful") / "policies" / "piwik-pro.toml").read_text("utf-8")
    roles = visitors.roles(policy)
    cats = roles.categories
    tab = Table(policy)
    prepared = rivals.Prepared(policy)
    histories = {n: visitors.history(n, policy, roles) for n in SIZES}

    engines: list[Any] = []
    missing: list[str] = []
    for cls in rivals.RIVALS:
        try:
            engines.append(cls(policy, rivals.Facts(prepared, histories[20]), list(cats or ())))
        except ImportError:
            missing.append(cls.name)
    names = [e.name for e in engines]
    if missing:
        print(f"not installed, left out: {', '.join(missing)} (nox -s bench installs them)")

    # -- per request: checked, then timed -------------------------------------------------
    rows: list[dict[str, Any]] = []
    cases: list[Case] = []
    for n in SIZES:
        at = visitors.instant(n, "UTC")
        for outcome in visitors.OUTCOMES:
            pid = roles.outcome(outcome)
            label = f"{n} {outcome}"
            row_cases = {
                "lawful": Case(label, _request(policy, histories[n], pid, at, cats)),
                "lean": Case(label, _lean(tab, histories[n], pid, at)),
            }
            decision = row_cases["lawful"].fn()
            lean = row_cases["lean"].fn()
            if decision.code is not visitors.EXPECTED[outcome] or (
                (lean.allowed, lean.code) != (decision.allowed, decision.code)
            ):
                raise SystemExit(f"{label}: lawful {decision.code}, lean {lean.code}")
            for engine in engines:
                case = Case(label, _engine(engine, prepared, histories[n], pid, at))
                if case.fn() != decision.allowed:
                    raise SystemExit(f"{label}: {engine.name} disagrees with lawful")
                row_cases[engine.name] = case
            rows.append({"events": n, "outcome": outcome, "cases": row_cases})
            cases.extend(row_cases.values())

    # -- build, kept, cold, decide_all, bulk --------------------------------------------
    build = {
        n: Case(f"Subject({n} events)", Subject, ("v", histories[n]), {"categories": cats}, per=n)
        for n in SIZES
    }
    at20 = visitors.instant(20, "UTC")
    kept_subject = Subject("visitor", histories[20], categories=cats)
    kept = Case("kept decision", policy.may_process, (kept_subject, roles.granted, at20))
    cold = Case("cold decision", _cold(policy, kept_subject, roles.granted, at20))
    kept_base = Baseline(tab, histories[20])
    base_kept = Case("baseline decision", kept_base.decide, (roles.granted, at20))

    def decide_all() -> object:
        return policy.decide_all(Subject("visitor", histories[20], categories=cats), at20)

    def base_all() -> object:
        return Baseline(tab, histories[20]).decide_all(at20)

    fresh_all = Case("decide_all, fresh subject", decide_all)
    lean_all = Case("baseline decide_all, fresh", base_all)
    bulk_n = 200
    bulk_histories = [visitors.history(20, policy, roles) for _ in range(bulk_n)]
    bulk = Case("bulk", _Bulk(policy, bulk_histories, roles.granted, at20, cats), per=bulk_n)
    load = Case("loads_policy(text)", lawful.loads_policy, (text,), {"format": "toml"})
    floor = Case("empty call (the floor)", _empty)
    cases += [*build.values(), kept, cold, base_kept, fresh_all, lean_all, bulk, load, floor]

    with tempfile.TemporaryDirectory(prefix="lawful-bench-") as tmp:
        ledger, connection, tag = _ledger(tmp, histories[20])
        with ledger:

            def through_ledger() -> lawful.Decision:
                return policy.may_process(
                    ledger.subject("visitor", categories=cats), roles.granted, at20
                )

            if through_ledger().code is not visitors.EXPECTED["consent"]:
                raise SystemExit("the ledger's subject decides otherwise")
            via_ledger = Case("ledger.subject + may_process", through_ledger)
            select = Case("SELECT + json.loads", _select(connection, tag))
            ledger_subject = Case(
                "ledger.subject", ledger.subject, ("visitor",), {"categories": cats}
            )
            cases += [via_ledger, select, ledger_subject]
            print(
                f"{len(rows)} requests checked (lawful, lean{', ' if names else ''}"
                f"{', '.join(names)} agree); timing {len(cases)} cases in {args.rounds} "
                f"interleaved rounds of {args.sample_ms:g} ms ...",
                flush=True,
            )
            harness.run_interleaved(cases, rounds=args.rounds, sample_ms=args.sample_ms)
        connection.close()

    # -- report ------------------------------------------------------------------------
    tables: list[tuple[str, list[str], list[list[str]], int]] = []
    head = ["events", "outcome", "lawful", "lean", "lawful/lean"]
    for name in names:
        head += [name, f"{name}/lawful"]
    body = []
    for row in rows:
        c = row["cases"]
        law = c["lawful"].median
        cells = [f"{row['events']:,}", row["outcome"], us(law), us(c["lean"].median)]
        cells.append(f"{law / c['lean'].median:.2f}x")
        for name in names:
            cells += [us(c[name].median), f"{c[name].median / law:.1f}x"]
        body.append(cells)
    tables.append(
        (
            (
                "Per request (what a service sees): a fresh Subject from the event objects + "
                "one may_process, median us; lean = a hand-written index of the same events + "
                "bisect; engines end to end (the same pre-computation from the events, then "
                "the engine)"
            ),
            head,
            body,
            2,
        )
    )
    other = [[f"{c.name}, per event", us(c.median)] for c in build.values()]
    other += [
        [f"{kept.name} (20 events)", us(kept.median)],
        [f"{cold.name} (20 events, nothing kept)", us(cold.median)],
        [f"{base_kept.name} (20 events, index kept)", us(base_kept.median)],
        [f"{fresh_all.name} (20 events, {len(policy.purposes)} purposes)", us(fresh_all.median)],
        [f"{lean_all.name} (20 events)", us(lean_all.median)],
        [f"{via_ledger.name} (SQLite, 20 events, verified)", us(via_ledger.median)],
        [f"{ledger_subject.name} alone", us(ledger_subject.median)],
        [f"{select.name} of the same rows", us(select.median)],
        ["bulk: fresh subject + may_process, per subject (20 events)", us(bulk.median)],
        [load.name, us(load.median)],
        [floor.name, us(floor.median)],
    ]
    tables.append(("Other paths (median us)", ["what", "us"], other, 1))

    def worst(name: str, over: str = "lawful") -> float:
        return min(r["cases"][name].median / r["cases"][over].median for r in rows)

    measured: dict[str, float | None] = {
        "request_over_lean_worst": max(
            r["cases"]["lawful"].median / r["cases"]["lean"].median for r in rows
        ),
        "build_us_per_event_worst": max(c.median for c in build.values()) / 1e3,
        "cold_over_kept_20": cold.median / kept.median,
        "ledger_over_select_20": via_ledger.median / select.median,
        "decide_all_over_baseline_20": fresh_all.median / lean_all.median,
        "bulk_subjects_per_s_20": 1e9 / bulk.median,
        "kept_over_baseline_20": kept.median / base_kept.median,
        "policy_load_ms": load.median / 1e6,
    }
    for name in ("opa-eval", "cedarpy", "casbin"):
        present = name in names
        measured[f"{name}_over_request_worst"] = worst(name) if present else None
    opa20 = [r for r in rows if r["events"] == 20]
    measured["opa-eval_over_request_20"] = (
        min(r["cases"]["opa-eval"].median / r["cases"]["lawful"].median for r in opa20)
        if "opa-eval" in names
        else None
    )
    targets = []
    for key, (goal, sense) in TARGETS.items():
        value = measured[key]
        met = None if value is None else (value >= goal if sense == ">=" else value <= goal)
        targets.append({"target": key, "goal": goal, "sense": sense, "measured": value, "met": met})
    tables.append(
        (
            "Targets (ratios in this run; worst = the worst row)",
            ["target", "goal", "measured", "met"],
            [
                [
                    t["target"],
                    f"{t['sense']} {t['goal']:g}",
                    "-" if t["measured"] is None else f"{t['measured']:,.2f}",
                    {True: "yes", False: "no", None: "-"}[t["met"]],
                ]
                for t in targets
            ],
            1,
        )
    )
    for title, headers, lines, left in tables:
        print()
        print(title)
        print(table(headers, lines, left=left))
    elapsed = time.perf_counter() - started
    print(f"\n(bench_request took {elapsed:.0f} s)")
    if not args.no_write:
        payload: dict[str, object] = {
            "machine": harness.machine(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "rounds": args.rounds,
            "sample_ms": args.sample_ms,
            "unit": "ns per operation (median over rounds)",
            "requests": [
                {
                    "events": r["events"],
                    "outcome": r["outcome"],
                    "ns": {k: round(c.median, 1) for k, c in r["cases"].items()},
                }
                for r in rows
            ],
            "other_ns": {
                **{f"build_per_event_{n}": round(c.median, 1) for n, c in build.items()},
                "kept": round(kept.median, 1),
                "cold": round(cold.median, 1),
                "baseline_kept": round(base_kept.median, 1),
                "decide_all_fresh": round(fresh_all.median, 1),
                "baseline_decide_all_fresh": round(lean_all.median, 1),
                "ledger_subject_and_decision": round(via_ledger.median, 1),
                "ledger_subject": round(ledger_subject.median, 1),
                "select_json_loads": round(select.median, 1),
                "bulk_per_subject": round(bulk.median, 1),
                "policy_load": round(load.median, 1),
                "floor": round(floor.median, 1),
            },
            "engines_missing": missing,
            "targets": targets,
            "elapsed_s": round(elapsed, 1),
        }
        harness.write_results("request", payload)
        markdown = harness.RESULTS.with_name("request.md")
        markdown.write_text(
            "\n\n".join(
                f"{title}\n\n{table(headers, lines, markdown=True, left=left)}"
                for title, headers, lines, left in tables
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"written to {harness.RESULTS} and {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
