"""The Spark parts of docs/howto/retention-sweep.md run as written: its Spark examples
(skipped by the default documentation tests) and its job script under ``spark-submit``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pyarrow.parquet as pq
import pytest
from tests.spark._data import AT, generate
from tests.test_docs import DOCS, _check_page

import lawful
from lawful import tables

pytestmark = pytest.mark.spark
PAGE = DOCS / "howto" / "retention-sweep.md"
JOB = DOCS / "howto" / "examples" / "sweep_job.py"


def test_the_howto_spark_examples_run(
    spark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With their skip marks taken out, the page's examples run and print what they show."""
    text = PAGE.read_text(encoding="utf-8")
    assert text.count("  # doctest: +SKIP") >= 4
    monkeypatch.chdir(tmp_path)
    failures = _check_page(PAGE, text.replace("  # doctest: +SKIP", ""))
    assert not failures, "\n\n".join(failures)


def test_the_howto_job_keeps_what_the_duckdb_sweep_allows(tmp_path: Path) -> None:
    """spark-submit of the page's job script keeps exactly the hits the DuckDB sweep allows."""
    events, hits = generate(300, seed=5)
    pq.write_table(events, tmp_path / "events.parquet")
    pq.write_table(hits, tmp_path / "hits.parquet")
    submit = Path(sys.executable).parent / "spark-submit"
    if not submit.exists():  # pragma: no cover - PySpark always installs it beside python
        pytest.skip("no spark-submit next to this Python")
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable}
    result = subprocess.run(
        [
            str(submit),
            "--master",
            "local[2]",
            "--conf",
            "spark.ui.enabled=false",
            "--conf",
            "spark.ui.showConsoleProgress=false",
            str(JOB),
            "--policy",
            "piwik-pro",
            "--events",
            str(tmp_path / "events.parquet"),
            "--hits",
            str(tmp_path / "hits.parquet"),
            "--purpose",
            "analytics",
            "--at",
            AT.isoformat(),
            "--out",
            str(tmp_path / "kept"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    swept = tables.sweep(
        lawful.bundled_policy("piwik-pro"), events, hits, purpose="analytics", at=AT
    )
    allowed = swept.filter(swept["allowed"])
    kept = pq.read_table(tmp_path / "kept")
    kept_hits = cast("list[int]", kept.column("hit").to_pylist())
    assert sorted(kept_hits) == sorted(cast("list[int]", allowed.column("hit").to_pylist()))
    assert set(kept.column_names) == set(hits.column_names)
    print(f"\nspark-submit sweep_job.py: {result.stdout.strip()}")  # noqa: T201
