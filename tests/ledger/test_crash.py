"""Crash safety: a writer killed with SIGKILL at random moments loses nothing it acknowledged.

A child process appends (and erases) in a loop and reports each append after it
returned; the parent kills it at a random moment, 50 times over one ledger (a SQLite
file, a PostgreSQL schema). After each kill: every acknowledged event is present, no
partial record exists, the chain and the head before the kill verify, and acknowledged
erasures left nothing behind (in the file's bytes; in what SQL reads after VACUUM).
"""

from __future__ import annotations

import os
import random
import signal
import time

import pytest
from tests.ledger._backends import KEY, Backend
from tests.ledger._child import crash

from lawful.ledger import Head

KILLS = 50

pytestmark = pytest.mark.slow


def run_and_kill(target: str, run: int, rng: random.Random) -> list[str]:
    """Fork a writer, kill it at a random moment, return the lines it completed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child only ever ends by SIGKILL
        os.close(read_end)
        try:
            crash(target, KEY, run, run, write_end)
        finally:
            os._exit(1)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as stream:
        assert stream.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.1))  # each append takes a few ms: many moments in range
        os.kill(pid, signal.SIGKILL)
        out = stream.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status)
    assert os.WTERMSIG(status) == signal.SIGKILL
    # A line cut short by the kill was never acknowledged.
    return out.decode().split("\n")[:-1]


def test_killed_writers_lose_nothing_they_acknowledged(writer_backend: Backend) -> None:
    """After 50 SIGKILLs, every acknowledged event is present and the chain verifies."""
    rng = random.Random(20250301)  # noqa: S311 - the moments of the kills, not secrets
    acknowledged: dict[str, set[str]] = {}
    victims: dict[str, bool] = {}  # victim -> erasure acknowledged
    heads: list[Head] = []
    for run in range(KILLS):
        for line in run_and_kill(writer_backend.target(), run, rng):
            kind, subject, *rest = line.split(" ")
            if kind == "A":
                acknowledged.setdefault(subject, set()).add(rest[0])
            else:
                victims[subject] = victims.get(subject, False) or kind == "E"
        with writer_backend.open() as ledger:
            # The head before this kill must still be in the chain: nothing committed was lost.
            head = ledger.verify(expected_head=heads[-1] if heads else None)
            for subject, ids in acknowledged.items():
                stored = [e.id for e in ledger.events(subject)]
                assert ids <= set(stored), subject
                assert len(stored) == len(set(stored))
            for victim, erased in victims.items():
                kinds = [e.event_type for e in ledger.events(victim)]
                # Erasure is atomic: all three events, or only the erasure.
                assert kinds in (["interaction"] * 3, ["erasure"])
                if erased:
                    assert kinds == ["erasure"]
            for victim, erased in victims.items():
                if erased:
                    assert not writer_backend.holds(victim.encode()), victim
        heads.append(head)
    assert sum(len(ids) for ids in acknowledged.values()) > KILLS
    assert any(victims.values())
