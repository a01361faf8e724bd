"""Concurrent writers: 4 processes x 2 threads append 10,000 events to one new ledger
(a SQLite file, a PostgreSQL schema).
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from tests.ledger._backends import KEY, Backend

CHILD = Path(__file__).with_name("_child.py")
PROCESSES = 4
THREADS = 2
PER_THREAD = 1250

pytestmark = pytest.mark.slow


def test_concurrent_writers_store_every_event_once(writer_backend: Backend) -> None:
    """Processes and threads racing on one ledger (from its creation) lose no event, store
    none twice, and leave one chain that verifies.
    """
    children = [
        subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                "concurrent",
                writer_backend.target(),
                KEY.hex(),
                str(p),
                str(THREADS),
                str(PER_THREAD),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for p in range(PROCESSES)
    ]
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err.decode()
        assert out == b"done\n"
    with writer_backend.open() as ledger:
        head = ledger.verify()
        ids = Counter(entry.event.id for entry in ledger.dump())
    expected = {
        f"p{p}-t{t}-{i}"
        for p in range(PROCESSES)
        for t in range(THREADS)
        for i in range(PER_THREAD)
    }
    assert head.count == len(expected) == 10_000
    assert set(ids) == expected
    assert set(ids.values()) == {1}
