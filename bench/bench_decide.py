"""The decision benchmark: lawful against a hand-written baseline and three policy engines.

Run it with ``nox -s bench`` (which installs opa-eval, cedarpy and casbin), or
directly with ``python bench/bench_decide.py`` (engines that are not installed
are left out, and said so). Everything runs in one process, in interleaved
rounds; the figures are medians. See bench/README.md and docs/performance.md.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import harness
import rivals
import visitors
from baseline import Baseline, Table
from harness import Case, ratio, table, us

import lawful
from lawful import ConsentGiven, Interaction, Subject

TARGETS = {
    "decision_20_us": 1.5,
    "decision_1000_us": 2.0,
    "decision_10000_us": 2.5,
    "lawful_over_baseline": 3.0,
    "opa-eval_over_lawful": 5.0,
    "cedarpy_over_lawful": 10.0,
    "casbin_over_lawful": 25.0,
    "build_us_per_event": 3.0,
    "bytes_per_event": 400.0,
    "add_us_at_10000": 50.0,
    "policy_load_ms": 20.0,
    "policy_load_first_in_process_ms": 20.0,
}


def empty(subject: object, purpose: object, at: object) -> None:
    """The floor: a Python call with the same three arguments that does nothing."""


class _Moving:
    """Calls ``ask(at)`` with an instant a microsecond later on every call (from a list made
    beforehand, so that building it is not timed), as a host asking with the current time.
    """

    def __init__(self, ask: Callable[[datetime], object], start: datetime) -> None:
        self.ask = ask
        self.instants = [start + timedelta(microseconds=i) for i in range(200_000)]
        self.next = 0

    def __call__(self) -> None:
        self.next = (self.next + 1) % 200_000
        self.ask(self.instants[self.next])


def _x(one: Case, other: Case) -> str:
    return f"{one.median / other.median:.2f}x"


class _Growing:
    """A subject that grows by its newest event, as a host's does: each call adds the next
    of ``newer`` to the subject the previous call made (and drops that one). After the
    last, it starts again from ``base``, whose first add then copies (counted too).
    """

    def __init__(
        self,
        base: Subject,
        newer: list[lawful.Event],
        then: Callable[[Subject], object] | None = None,
    ) -> None:
        self.base = base
        self.newer = newer
        self.then = then  # asked of every new subject, as a host asks after recording
        self.subject = base
        self.next = 0

    def add(self) -> None:
        if self.next == len(self.newer):
            self.subject, self.next = self.base, 0
        self.subject = self.subject.add(self.newer[self.next])
        self.next += 1
        if self.then is not None:
            self.then(self.subject)


def _cold(policy: lawful.Policy, subject: Subject) -> Callable[..., lawful.Decision]:
    index = subject._index

    def decide(pid: str, at: datetime, **kwargs: Any) -> lawful.Decision:
        index.memo.clear()  # everything derived from the history, and
        index.decisions.clear()  # the decisions it keeps
        return policy.may_process(subject, pid, at, **kwargs)

    return decide


def _policy(path: str | None) -> tuple[lawful.Policy, str, str]:
    """The policy under test, its text (for the load timing) and where it came from."""
    if path is None:
        if "piwik-pro" not in lawful.bundled_policy_names():
            raise SystemExit("no bundled piwik-pro policy yet; pass --policy PATH")
        file = resources.files("lawful") / "policies" / "piwik-pro.toml"
        text = file.read_text(encoding="utf-8")
        return lawful.bundled_policy("piwik-pro"), text, "bundled:piwik-pro"
    text = Path(path).read_text(encoding="utf-8")
    fmt = "json" if path.endswith(".json") else "toml"
    return lawful.loads_policy(text, format=fmt, source=path), text, path


def _engines(
    policy: lawful.Policy, facts: rivals.Facts, categories: list[str] | None
) -> tuple[list[Any], list[str]]:
    made, missing = [], []
    for cls in rivals.RIVALS:
        try:
            made.append(cls(policy, facts, categories))
        except ImportError:
            missing.append(cls.name)
    return made, missing


def _memory(events_of: Callable[[], list[lawful.Event]], categories: Any) -> tuple[float, float]:
    """Bytes per event: held by the subject beyond its events, and with the events."""
    events = events_of()
    n = len(events)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        subject = Subject("m", events, categories=categories)
        index_only = tracemalloc.get_traced_memory()[0] - before
        del subject, events
        before = tracemalloc.get_traced_memory()[0]
        fresh = events_of()
        subject = Subject("m", fresh, categories=categories)
        del fresh  # the subject holds them now
        total = tracemalloc.get_traced_memory()[0] - before
        del subject
    finally:
        tracemalloc.stop()
    return index_only / n, total / n


_COLD = """
import sys, time
import lawful
text = sys.stdin.read()
start = time.thread_time()
lawful.loads_policy(text, format="toml")
print(time.thread_time() - start)
"""


def _cold_load_ns(text: str, runs: int) -> list[float]:
    """The first ``loads_policy`` in a new interpreter (lawful already imported), in ns."""
    out = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _COLD], input=text, capture_output=True, text=True, check=True
        )
        out.append(float(done.stdout) * 1e9)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", help="a policy file (default: the bundled piwik-pro)")
    parser.add_argument("--rounds", type=int, default=21, help="interleaved rounds (odd)")
    parser.add_argument("--sample-ms", type=float, default=4.0, help="length of one sample")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 1 ms: a smoke test")
    parser.add_argument(
        "--clock",
        choices=sorted(harness.CLOCKS),
        default="thread",
        help="thread: CPU time of this thread (default, steady on a shared machine); wall",
    )
    parser.add_argument("--no-write", action="store_true", help="do not write the results")
    parser.add_argument(
        "--key",
        default="decide",
        help="the results' key in latest.json and the Markdown file's name (default: decide)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.sample_ms = 3, 1.0
    harness.use_clock(args.clock)
    started = time.perf_counter()

    policy, text, source = _policy(args.policy)
    roles = visitors.roles(policy)
    cats = list(roles.categories) if roles.categories is not None else None
    print(
        f"policy {source} ({policy.id} {policy.version}); purposes: consent={roles.granted}, "
        f"denied={roles.withdrawn}, legitimate interest={roles.interest}"
    )

    histories = {n: visitors.history(n, policy, roles) for n in visitors.SIZES}
    subjects = {
        n: Subject(f"visitor-{n}", h, categories=roles.categories) for n, h in histories.items()
    }
    prepared = Table(policy)
    baselines = {n: Baseline(prepared, h) for n, h in histories.items()}
    engines: dict[int, list[Any]] = {}
    missing: list[str] = []
    for n, h in histories.items():
        engines[n], missing = _engines(policy, rivals.Facts(policy, h), cats)
    names = [e.name for e in engines[visitors.SIZES[0]]]
    if missing:
        print(f"not installed, left out: {', '.join(missing)} (nox -s bench installs them)")

    # -- the queries, each checked before anything is timed -------------------------------
    rows: list[dict[str, Any]] = []
    cases: list[Case] = []
    for n in visitors.SIZES:
        for outcome in visitors.OUTCOMES:
            pid = roles.outcome(outcome)
            for variant in ("plain", "vendor+data"):
                vendor, data = visitors.scope(policy, pid) if variant != "plain" else (None, ())
                for zone in ("UTC", "Europe/Warsaw"):
                    at = visitors.instant(n, zone)
                    kwargs: dict[str, Any] = (
                        {"vendor": vendor, "data": data} if variant != "plain" else {}
                    )
                    label = f"{n} {outcome} {variant} {zone}"
                    decision = policy.may_process(subjects[n], pid, at, **kwargs)
                    if decision.code is not visitors.EXPECTED[outcome]:
                        raise SystemExit(
                            f"{label}: lawful says {decision.code}, expected "
                            f"{visitors.EXPECTED[outcome]}: {decision.explain()}"
                        )
                    base = baselines[n].decide(pid, at, **kwargs)
                    if (base.allowed, base.code) != (decision.allowed, decision.code):
                        raise SystemExit(f"{label}: baseline says {base.code}")
                    row: dict[str, Any] = {
                        "events": n,
                        "outcome": outcome,
                        "query": variant,
                        "zone": zone,
                        "purpose": pid,
                        "vendor": vendor,
                        "data": list(data),
                        "allowed": decision.allowed,
                        "code": decision.code.value,
                    }
                    row_cases = {
                        "lawful": Case(label, policy.may_process, (subjects[n], pid, at), kwargs),
                        # The same query with what the subject keeps emptied first: every
                        # rule evaluated, as on the first query after a subject is built.
                        "lawful cold": Case(label, _cold(policy, subjects[n]), (pid, at), kwargs),
                        "baseline": Case(label, baselines[n].decide, (pid, at), kwargs),
                    }
                    for engine in engines[n]:
                        allowed, codes = engine.explain(pid, at, vendor, data)
                        if allowed != decision.allowed or (
                            codes is not None and decision.code.value not in codes
                        ):
                            raise SystemExit(
                                f"{label}: {engine.name} says {allowed} {codes}, "
                                f"lawful {decision.allowed} {decision.code.value}"
                            )
                        row_cases[engine.name] = Case(label, engine.decide, (pid, at, vendor, data))
                        row_cases[engine.name + " call"] = Case(
                            label, engine.call, (engine.encode(pid, at, vendor, data),)
                        )
                    row["cases"] = row_cases
                    rows.append(row)
                    cases.extend(row_cases.values())
    print(
        f"{len(rows)} queries checked: lawful, baseline and {', '.join(names) or 'no engine'} "
        "agree on every answer (and on the reason, where the engine gives one)"
    )

    # -- decide_all, extras, floor ------------------------------------------------------
    all_cases = {}
    for n in visitors.SIZES:
        for zone in ("UTC", "Europe/Warsaw"):
            at = visitors.instant(n, zone)
            all_cases[(n, zone)] = Case(
                f"decide_all {n} {zone}", policy.decide_all, (subjects[n], at)
            )
    cases.extend(all_cases.values())
    at = visitors.instant(1_000, "UTC")
    direct = Case(
        "lawful.may_process(subject, Purpose, at), 1,000 events, consent, UTC",
        lawful.may_process,
        (subjects[1_000], policy.purpose(roles.granted), at),
    )
    floor = Case("empty(subject, purpose, at)", empty, (subjects[20], roles.granted, at))
    cases.extend([direct, floor])
    # A host asks with the current time: a new `at` on every call. Lawful and the baseline
    # are asked alike, through the same wrapper (its cost is in both figures).
    moving = {}
    for zone in ("UTC", "Europe/Warsaw"):
        start = visitors.instant(20, zone)
        moving[zone] = (
            Case(
                f"lawful, a new at each call, 20 events, consent, {zone}",
                _Moving(functools.partial(policy.may_process, subjects[20], roles.granted), start),
            ),
            Case(
                f"baseline, a new at each call, 20 events, consent, {zone}",
                _Moving(functools.partial(baselines[20].decide, roles.granted), start),
            ),
        )
        cases.extend(moving[zone])

    # -- building, adding, loading ------------------------------------------------------
    build = {
        n: Case(
            f"Subject({n} events)",
            Subject,
            (f"visitor-{n}", histories[n]),
            {"categories": roles.categories},
            per=n,
        )
        for n in visitors.SIZES
    }
    big = subjects[visitors.SIZES[-1]]
    last = histories[visitors.SIZES[-1]][-1].at
    middle = histories[visitors.SIZES[-1]][len(big.events) // 2].at
    newer = [
        ConsentGiven(
            at=last + timedelta(minutes=1 + i), purpose=roles.granted, policy_version=policy.version
        )
        for i in range(1_000)
    ]
    add_end = Case("Subject.add of the newest event, 10,000 events", _Growing(big, newer).add)
    views = [Interaction(at=last + timedelta(minutes=i + 1), kind="page_view") for i in range(999)]
    asked = visitors.instant(visitors.SIZES[-1], "UTC") + timedelta(days=1)
    grow_ask = Case(
        "Subject.add of a page view, then may_process (consent, UTC), 10,000 events",
        _Growing(big, views, then=lambda s: policy.may_process(s, roles.granted, asked)).add,
    )
    add_again = Case(
        "Subject.add at the end to one subject again and again, 10,000 events",
        big.add,
        (newer[0],),
    )
    add_mid = Case(
        "Subject.add in the middle, 10,000 events",
        big.add,
        (Interaction(at=middle + timedelta(seconds=1), kind="page_view"),),
    )
    load = Case("loads_policy(text)", lawful.loads_policy, (text,), {"format": "toml"})
    cases.extend([*build.values(), add_end, grow_ask, add_again, add_mid, load])

    print(
        f"timing {len(cases)} cases in {args.rounds} interleaved rounds of "
        f"{args.sample_ms:g} ms samples ...",
        flush=True,
    )
    harness.run_interleaved(cases, rounds=args.rounds, sample_ms=args.sample_ms)

    cold = statistics.median(_cold_load_ns(text, 3 if args.quick else 7))
    memory = {
        n: _memory(lambda n=n: visitors.history(n, policy, roles), roles.categories)
        for n in visitors.SIZES
    }

    # -- report -------------------------------------------------------------------------
    tables: list[tuple[str, list[str], list[list[str]], int]] = []
    headers = [
        "events",
        "outcome",
        "query",
        "zone",
        "lawful",
        "lawful cold",
        "baseline",
        "lawful/base",
        "cold/base",
    ]
    for name in names:
        headers += [name, f"{name}/lawful"]
    lines = []
    for row in rows:
        c = row["cases"]
        law = c["lawful"].median
        cells = [
            f"{row['events']:,}",
            row["outcome"],
            row["query"],
            row["zone"],
            us(law),
            us(c["lawful cold"].median),
            us(c["baseline"].median),
            ratio(law, c["baseline"].median),
            ratio(c["lawful cold"].median, c["baseline"].median),
        ]
        for name in names:
            cells += [us(c[name].median), ratio(c[name].median, law)]
        lines.append(cells)
    tables.append(
        (
            (
                f"Decisions: median us per decision over {args.rounds} rounds; engines end-to-end "
                "(with the Python pre-computation)"
            ),
            headers,
            lines,
            4,
        )
    )

    engine_lines = []
    engine_summary: dict[str, dict[str, float]] = {}
    for name in names:
        e2e = [r["cases"][name].median / r["cases"]["lawful"].median for r in rows]
        call = [r["cases"][name + " call"].median / r["cases"]["lawful"].median for r in rows]
        engine_summary[name] = {
            "end_to_end_us_median": statistics.median(r["cases"][name].median for r in rows) / 1e3,
            "call_us_median": statistics.median(r["cases"][name + " call"].median for r in rows)
            / 1e3,
            "ratio_end_to_end_min": min(e2e),
            "ratio_end_to_end_median": statistics.median(e2e),
            "ratio_call_min": min(call),
            "ratio_call_median": statistics.median(call),
        }
        e = engine_summary[name]
        engine_lines.append(
            [
                name,
                f"{e['end_to_end_us_median']:.2f}",
                f"{e['call_us_median']:.2f}",
                f"{e['ratio_end_to_end_min']:.1f}x",
                f"{e['ratio_end_to_end_median']:.1f}x",
                f"{e['ratio_call_min']:.1f}x",
            ]
        )
    if engine_lines:
        tables.append(
            (
                (
                    f"Engines over all {len(rows)} queries: end-to-end, and the API call alone "
                    "(input already encoded), against lawful on the same query"
                ),
                [
                    "engine",
                    "end-to-end us (median)",
                    "call us (median)",
                    "engine/lawful, worst",
                    "engine/lawful, median",
                    "call/lawful, worst",
                ],
                engine_lines,
                1,
            )
        )

    other = [[c.name, us(c.median)] for c in all_cases.values()]
    other += [[direct.name, us(direct.median)], [floor.name, us(floor.median)]]
    for law, base in moving.values():
        other += [[law.name, us(law.median)], [base.name, us(base.median)]]
        other.append([f"  ratio lawful/baseline, {law.name.rsplit(', ', 1)[1]}", _x(law, base)])
    other += [[c.name + ", per event", us(c.median)] for c in build.values()]
    other += [[c.name, us(c.median)] for c in (add_end, grow_ask, add_again, add_mid)]
    other.append([load.name + " (fresh, not cached)", us(load.median)])
    other.append(["loads_policy(text), first call in a new interpreter", us(cold)])
    tables.append(("Other measurements (median us)", ["what", "us"], other, 1))
    tables.append(
        (
            "Memory per event (tracemalloc, bytes)",
            ["subject", "index only", "with the events"],
            [[f"{n:,} events", f"{a:.0f}", f"{b:.0f}"] for n, (a, b) in memory.items()],
            1,
        )
    )

    def worst(n: int) -> float:
        return max(r["cases"]["lawful"].median for r in rows if r["events"] == n) / 1e3

    cold_worst = {
        n: max(r["cases"]["lawful cold"].median for r in rows if r["events"] == n) / 1e3
        for n in visitors.SIZES
    }
    measured: dict[str, float | None] = {
        "decision_20_us": worst(20),
        "decision_1000_us": worst(1_000),
        "decision_10000_us": worst(10_000),
        "lawful_over_baseline": max(
            r["cases"]["lawful"].median / r["cases"]["baseline"].median for r in rows
        ),
        "build_us_per_event": max(c.median for c in build.values()) / 1e3,
        "bytes_per_event": memory[visitors.SIZES[-1]][1],
        "add_us_at_10000": add_end.median / 1e3,
        "policy_load_ms": load.median / 1e6,
        "policy_load_first_in_process_ms": cold / 1e6,
    }
    for name in ("opa-eval", "cedarpy", "casbin"):
        summary = engine_summary.get(name)
        measured[f"{name}_over_lawful"] = summary["ratio_end_to_end_min"] if summary else None
    targets = []
    for key, goal in TARGETS.items():
        value = measured[key]
        higher_is_better = key.endswith("_over_lawful")
        met = None if value is None else (value >= goal if higher_is_better else value <= goal)
        targets.append(
            {
                "target": key,
                "goal": goal,
                "measured": value,
                "met": met,
                "sense": ">=" if higher_is_better else "<=",
            }
        )
    tables.append(
        (
            "Cold decisions (nothing kept: every rule evaluated): worst of the 12 queries",
            ["events", "worst us"],
            [[f"{n:,}", f"{v:.2f}"] for n, v in cold_worst.items()],
            1,
        )
    )
    tables.append(
        (
            (
                "Targets (issue 8): decisions are the worst of the 12 queries at that size, "
                "ratios the worst of the rows"
            ),
            ["target", "goal", "measured", "met"],
            [
                [
                    t["target"],
                    f"{t['sense']} {t['goal']:g}",
                    "-" if t["measured"] is None else f"{t['measured']:.2f}",
                    {True: "yes", False: "no", None: "-"}[t["met"]],
                ]
                for t in targets
            ],
            1,
        )
    )
    for title, head, body, left in tables:
        print()
        print(title)
        print(table(head, body, left=left))
    elapsed = time.perf_counter() - started
    print(f"\n(bench_decide took {elapsed:.0f} s)")

    if not args.no_write:
        payload: dict[str, object] = {
            "machine": harness.machine(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "lawful": lawful.__dict__.get("__version__", "dev"),
            "policy": {"source": source, "id": policy.id, "version": policy.version},
            "purposes": {
                "consent": roles.granted,
                "denied": roles.withdrawn,
                "legitimate_interest": roles.interest,
            },
            "rounds": args.rounds,
            "clock": args.clock,
            "sample_ms": args.sample_ms,
            "unit": "ns per operation (median over rounds; min alongside)",
            "decisions": [
                {
                    **{k: v for k, v in row.items() if k != "cases"},
                    "ns": {k: round(c.median, 1) for k, c in row["cases"].items()},
                    "min_ns": {k: round(c.best, 1) for k, c in row["cases"].items()},
                }
                for row in rows
            ],
            "engines": engine_summary,
            "engines_missing": missing,
            "precomputed_for_engines": rivals.PRECOMPUTED,
            "decide_all_ns": {
                f"{n} {zone}": round(c.median, 1) for (n, zone), c in all_cases.items()
            },
            "direct_may_process_ns": round(direct.median, 1),
            "new_at_each_call_ns": {
                zone: {"lawful": round(law.median, 1), "baseline": round(base.median, 1)}
                for zone, (law, base) in moving.items()
            },
            "floor_ns": round(floor.median, 1),
            "build_ns_per_event": {str(n): round(c.median, 1) for n, c in build.items()},
            "add_ns_at_10000": {
                "end": round(add_end.median, 1),
                "end_again_on_one_subject": round(add_again.median, 1),
                "page_view_then_decide": round(grow_ask.median, 1),
                "middle": round(add_mid.median, 1),
            },
            "policy_load_ns": round(load.median, 1),
            "policy_load_cold_ns": round(cold, 1),
            "bytes_per_event": {
                str(n): {"index_only": round(a, 1), "with_events": round(b, 1)}
                for n, (a, b) in memory.items()
            },
            "targets": targets,
            "cold_worst_us": {str(n): round(v, 2) for n, v in cold_worst.items()},
            "elapsed_s": round(elapsed, 1),
        }
        harness.write_results(args.key, payload)
        markdown = harness.RESULTS.with_name(f"{args.key}.md")
        markdown.write_text(
            "\n\n".join(
                f"{title}\n\n{table(head, body, markdown=True, left=left)}"
                for title, head, body, left in tables
            )
            + "\n",
            encoding="utf-8",
        )
        print(f"written to {harness.RESULTS} and {markdown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
