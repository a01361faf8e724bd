"""A local Spark session for the tests in this folder (``nox -s spark`` runs them).

Every test module here is marked ``spark`` (``pytestmark``); the default run deselects
the marker (pyproject's ``addopts``), since starting Spark takes tens of seconds.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """Spark in local mode on two cores, UTC session time, no UI; stopped at the end."""
    pytest.importorskip("pyspark")
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only when Spark tests run

    # The executors' Python must be this one, which has lawful installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("lawful-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("FATAL")  # the error tests fail tasks on purpose
    yield session
    session.stop()
