"""Timing and reporting helpers shared by the ``bench_*.py`` scripts.

Every measurement is a *case*: a statement compiled by :mod:`timeit` (so the
loop adds no call of its own) and run in samples of about ``sample_ms``. All
cases run in *interleaved rounds*: round 1 takes one sample of every case, then
round 2, and so on, so that a slow minute of the machine (another process,
frequency scaling) hits every case alike instead of one of them. The figure
quoted is the median over the rounds; the minimum is kept as well.

Time is the CPU time of the benchmarking thread (``CLOCK_THREAD_CPUTIME_ID``)
by default: on a shared machine the wall clock also counts the time other
processes hold the CPU, which made wall-clock medians swing by a factor of two
between runs here, while thread time stayed within a few percent. Everything
measured runs in this thread (the engines' native code included), so on an
idle machine the two clocks agree. ``use_clock("wall")`` switches to
``perf_counter``.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import sysconfig
import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "latest.json"
CLOCKS: dict[str, Callable[[], float]] = {"thread": time.thread_time, "wall": time.perf_counter}
_clock: list[Callable[[], float]] = [time.thread_time]


def use_clock(name: str) -> str:
    """Time with ``"thread"`` (CPU time of this thread, the default) or ``"wall"``."""
    _clock[0] = CLOCKS[name]
    return name


@dataclass
class Case:
    """One timed statement: ``fn(*args, **kwargs)`` with the arguments bound as globals."""

    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    per: int = 1  # the statement does this many operations (the result is divided by it)
    number: int = 0  # calls per sample, calibrated
    samples: list[float] = field(default_factory=list)  # ns per operation

    def timer(self) -> timeit.Timer:
        names = {"_f": self.fn}
        parts = []
        for i, value in enumerate(self.args):
            names[f"_a{i}"] = value
            parts.append(f"_a{i}")
        for i, (key, value) in enumerate(self.kwargs.items()):
            names[f"_k{i}"] = value
            parts.append(f"{key}=_k{i}")
        return timeit.Timer(f"_f({', '.join(parts)})", timer=_clock[0], globals=names)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)


def run_interleaved(cases: Sequence[Case], *, rounds: int, sample_ms: float) -> None:
    """Fill ``case.samples`` (ns per operation) with one sample per case per round."""
    timers = [case.timer() for case in cases]
    for case, timer in zip(cases, timers, strict=True):
        timer.timeit(1)  # warm up: first call, caches
        elapsed = timer.timeit(1)
        number = max(1, int(sample_ms * 1e-3 / max(elapsed, 1e-9)))
        # A second pass with a larger count gives a steadier calibration.
        elapsed = timer.timeit(number) / number
        case.number = max(1, int(sample_ms * 1e-3 / max(elapsed, 1e-9)))
    order = list(range(len(cases)))
    for r in range(rounds):
        # Rotate the starting case so that no case always runs first in a round.
        shift = (r * 7) % len(order)
        for i in order[shift:] + order[:shift]:
            case = cases[i]
            seconds = timers[i].timeit(case.number)
            case.samples.append(seconds * 1e9 / case.number / case.per)


def once_ns(fn: Callable[[], Any], *, repeat: int) -> list[float]:
    """Wall time of ``fn()`` in ns, ``repeat`` times, with the collector off (as timeit does)."""
    out = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = _clock[0]()
            fn()
            out.append((_clock[0]() - start) * 1e9)
        finally:
            gc.enable()
    return out


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with Path("/proc/cpuinfo").open(encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        # How the interpreter was built: the same CPython version runs Python code at
        # markedly different speeds from a pyenv build and from a distribution's build.
        "python_configure": sysconfig.get_config_var("CONFIG_ARGS"),
        "python_opt": sysconfig.get_config_var("OPT"),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
    }


def us(ns: float) -> str:
    """Nanoseconds shown as microseconds with sensible precision."""
    value = ns / 1000
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def ratio(a: float | None, b: float | None) -> str:
    """``a / b`` as ``1.23x``, or a dash."""
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x" if a / b < 10 else f"{a / b:.1f}x"


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    markdown: bool = False,
    left: int = 1,
) -> str:
    """A text table (or a Markdown one): the first ``left`` columns left-aligned, the rest
    (numbers) right-aligned."""
    if markdown:
        rule = ["---" if i < left else "---:" for i in range(len(headers))]
        out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
        out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        return "\n".join(out)
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]
    lines = []
    for n, row in enumerate([headers, *rows]):
        cells = [
            str(c).ljust(w) if i < left else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_results(key: str, payload: dict[str, object], path: Path = RESULTS) -> None:
    """Store ``payload`` under ``key`` in the results file, keeping the other scripts' keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, object] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                data = loaded
        except ValueError:
            data = {}
    data[key] = payload
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
