"""Development sessions. A bare ``nox`` runs everything CI needs.

- ``tests``: pytest, the doctests of the package and the docs.
- ``coverage`` (not default): the same tests under branch coverage (``coverage run``),
  failing under 85%. Measuring doubles the suite's time (measured: 93 s plain, 180 s
  measured, on the same files), so the default run leaves it out to stay within ten
  minutes.
- ``typing``: ``mypy --strict`` over src and tests (including tests/typing).
- ``lint``: ruff check and ruff format --check.
- ``docs``: Sphinx with warnings as errors, offline.
- ``downstream``: a fresh venv with only the built wheel and hypothesis runs a
  downstream-style property test through ``st.from_type``.
- ``bench`` (not default): the benchmarks, writing bench/results/latest.json.
- ``spark`` (not default): PySpark in local mode (Java 17+): ``lawful.tables.spark.sweep``
  against the DuckDB sweep on generated data, hit by hit (tests/spark, and the Spark
  examples of docs/howto/retention-sweep.md); fails if one row differs.
- ``pgload`` (not default): a short, bounded load test of the PostgreSQL ledger on the
  server of ``LAWFUL_POSTGRES_DSN`` (appends/s for 1, 4, 8 writers against raw INSERTs,
  read latency, verify rate).
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typing", "tests", "docs", "downstream"]
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = False

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml("pyproject.toml")


def _group(name: str) -> list[str]:
    return list(PYPROJECT["dependency-groups"][name])


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite and every doctest."""
    session.install("-e", ".[hypothesis,postgres,django,fastapi,tables]", *_group("test"))
    session.run("pytest", *session.posargs, env=_test_env())
    _doctests(session)


@nox.session(default=False)
def coverage(session: nox.Session) -> None:
    """Run the test suite under branch coverage (fails under 85%), and every doctest."""
    session.install("-e", ".[hypothesis,postgres,django,fastapi,tables]", *_group("test"))
    # coverage run, not pytest-cov: hypothesis (imported by its pytest plugin) runs
    # lawful's registration hook before pytest-cov would start measuring, which left
    # every module-level line of lawful unmeasured.
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs, env=_test_env())
    session.run("coverage", "report", "--fail-under=85")
    _doctests(session)


def _test_env() -> dict[str, str]:
    env = {"HYPOTHESIS_PROFILE": "ci" if os.environ.get("CI") else "dev"}
    # The PostgreSQL tests skip without a DSN, or fail when a server is required (CI).
    for name in ("LAWFUL_POSTGRES_DSN", "LAWFUL_REQUIRE_POSTGRES"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _doctests(session: nox.Session) -> None:
    # lawful.tables.spark imports PySpark, which only the spark session installs; its
    # examples run there (tests/spark).
    session.run(
        "pytest",
        "--doctest-modules",
        "src/lawful",
        "--ignore=src/lawful/tables/spark.py",
        "-p",
        "no:cacheprovider",
        "-q",
    )


@nox.session
def typing(session: nox.Session) -> None:
    """Type-check src and tests with mypy --strict."""
    session.install("-e", ".[hypothesis,postgres,tables]", *_group("typing"))
    session.run("mypy", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff."""
    session.install(*_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the docs offline with warnings as errors; run the Django and FastAPI examples."""
    # tables: the reference documents lawful.tables (pyarrow, DuckDB) from its docstrings.
    session.install("-e", ".[hypothesis,postgres,django,fastapi,tables]", *_group("docs"))
    # -n: every cross-reference must resolve; nothing is fetched (no intersphinx).
    session.run(
        "sphinx-build", "-E", "-W", "--keep-going", "-n", "-b", "html", "docs", "docs/_build/html"
    )
    session.run("pytest", "docs/howto/examples", "-p", "no:cacheprovider", "-q")


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Run every bench/bench_*.py (``-- bench_decide.py --quick``: one script, with arguments)."""
    # The engines lawful is compared with are installed here only, never for users.
    session.install("-e", ".[postgres,tables]", "opa-eval", "cedarpy", "casbin")
    if session.posargs and session.posargs[0].endswith(".py"):
        scripts = [ROOT / "bench" / Path(session.posargs[0]).name]
        extra = list(session.posargs[1:])
    else:
        # The per-request benchmark first: its table is the headline.
        scripts = sorted(
            (ROOT / "bench").glob("bench_*.py"),
            key=lambda p: (p.name != "bench_request.py", p.name),
        )
        extra = list(session.posargs)
    for script in scripts:
        session.run("python", str(script), *extra)


@nox.session(default=False)
def spark(session: nox.Session) -> None:
    """The Spark sweep against the DuckDB sweep, in PySpark's local mode (``-- -k analytics``)."""
    session.install("-e", ".[spark]", "pytest>=8", "hypothesis>=6.100")
    # -m spark: the default run deselects these tests; -s: each comparison prints its line
    # (hits, codes, identical or not, the time of each engine).
    session.run(
        "pytest", "tests/spark", "-m", "spark", "-s", "-p", "no:cacheprovider", *session.posargs
    )


@nox.session(default=False)
def pgload(session: nox.Session) -> None:
    """A short load test of the PostgreSQL ledger (``-- --count 500`` for a longer one)."""
    # psycopg's C implementation, as docs/postgres.md's figures and a production service use:
    # the pure-Python one spends about twice the client CPU per append.
    session.install("-e", ".[postgres]", "psycopg[binary]")
    env = {"LAWFUL_POSTGRES_DSN": os.environ.get("LAWFUL_POSTGRES_DSN", "")}
    session.run("python", str(ROOT / "bench" / "pgload.py"), *session.posargs, env=env)


@nox.session
def downstream(session: nox.Session) -> None:
    """Build the wheel; in a new venv holding only it and hypothesis, run a downstream test."""
    session.install("build")
    tmp = Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    session.run("python", "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT))
    wheel = max(dist.glob("lawful-*.whl"), key=lambda p: p.stat().st_mtime)
    env = tmp / "downstream-venv"
    session.run("python", "-m", "venv", "--clear", str(env))
    python = env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    session.run(str(python), "-m", "pip", "install", "-q", str(wheel), "hypothesis", external=True)
    # Run from outside the checkout so that only the installed wheel can be imported.
    session.chdir(tmp)
    test = ROOT / "tests" / "downstream" / "test_downstream.py"
    session.run(str(python), "-I", str(test), external=True)
