"""The pure core: no clock, no I/O, no environment, and no look into the future.

A decision is a pure function that sees only the events at or before ``at``
(docs/explanation/decision.md).
"""

from __future__ import annotations

import ast
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import lawful
from lawful import (
    AfterCollection,
    AgeDeclared,
    AgeRules,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    DataCategory,
    Duration,
    Erasure,
    Event,
    Interaction,
    LegalBasis,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    OptOut,
    OptOutScope,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    Policy,
    Purpose,
    RestrictionLifted,
    RestrictionRequested,
    Retention,
    SessionEnd,
    Subject,
    TransferConsentGiven,
    TransferConsentWithdrawn,
    Vendor,
)
from lawful.events import EVENT_TYPES

SRC = Path(lawful.__file__).parent
DECISION_MODULES = (
    *sorted(f"_engine/{path.name}" for path in (SRC / "_engine").glob("*.py")),
    "subject.py",
    "decision.py",
    "model.py",
    "policy.py",
    "_time.py",
    "duration.py",
)

# Modules whose import alone means a clock, I/O, the environment or randomness.
FORBIDDEN_MODULES = frozenset(
    {
        "asyncio",
        "builtins",
        "glob",
        "http",
        "io",
        "logging",
        "os",
        "pathlib",
        "random",
        "secrets",
        "select",
        "shutil",
        "socket",
        "sqlite3",
        "ssl",
        "subprocess",
        "sys",
        "tempfile",
        "threading",
        "time",
        "urllib",
        "uuid",
    }
)
FORBIDDEN_CALLS = frozenset({"open", "print", "input", "breakpoint", "exec", "eval", "__import__"})
CLOCK_METHODS = frozenset({"now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp"})
IO_METHODS = frozenset(
    {
        "read_text",
        "write_text",
        "read_bytes",
        "write_bytes",
        "open",
        "mkdir",
        "unlink",
        "exists",
        "iterdir",
        "glob",
        "touch",
        "stat",
        "rmdir",
    }
)
ENVIRONMENT = frozenset({"environ", "getenv", "putenv", "environb"})


def impurities(source: str) -> list[str]:
    """Every clock read, I/O call, environment read or global statement in ``source``."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found.extend(
                f"{line}: import {alias.name}"
                for alias in node.names
                if alias.name.split(".")[0] in FORBIDDEN_MODULES
            )
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{line}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in FORBIDDEN_CALLS:
                found.append(f"{line}: {func.id}()")
            elif isinstance(func, ast.Attribute) and func.attr in CLOCK_METHODS | IO_METHODS:
                found.append(f"{line}: .{func.attr}()")
        elif isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT:
            found.append(f"{line}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id in ENVIRONMENT:
            found.append(f"{line}: {node.id}")
        elif isinstance(node, ast.Global | ast.Nonlocal):
            found.append(f"{line}: global state")
    return found


@pytest.mark.parametrize("module", DECISION_MODULES)
def test_decision_modules_read_no_clock_do_no_io_and_read_no_environment(module: str) -> None:
    """The decision modules call no clock, do no I/O, read no environment (a pure function)."""
    assert impurities((SRC / module).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "snippet",
    [
        "import time\nx = time.time()",
        "from time import monotonic",
        "from datetime import datetime\nx = datetime.now(UTC)",
        "x = datetime.utcnow()",
        "x = date.today()",
        "x = open('policy.toml')",
        "print('hello')",
        "import os\nx = os.environ['TZ']",
        "from os import getenv",
        "x = Path('a').read_text()",
        "import socket",
        "def f():\n    global CACHE",
    ],
)
def test_the_purity_check_catches_each_kind_of_impurity(snippet: str) -> None:
    """The AST check is not vacuous: each forbidden construct is reported."""
    assert impurities(snippet)


def test_the_purity_check_allows_pure_datetime_use() -> None:
    """Building and comparing datetimes, and datetime.time values, are pure."""
    pure = (
        "from datetime import UTC, datetime, time\n"
        "x = datetime.combine(d, time(0), tzinfo=UTC)\n"
        "y = x.astimezone(UTC).date()\n"
    )
    assert impurities(pure) == []


# -- the clock fixture ----------------------------------------------------------------------

DM = Duration.parse
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)

POLICY = Policy(
    id="p",
    version="2",
    data_categories=(DataCategory("ip", "IP"), DataCategory("cookie", "Cookie")),
    vendors=(Vendor("self", "Us"), Vendor("adnet", "AdNet")),
    age=AgeRules(minimum_age=13, parental_consent_age=15),
    opt_out_scopes={"tracking": OptOutScope("Do not track")},
    purposes=(
        Purpose(
            "analytics",
            "Analytics",
            "Measure",
            LegalBasis.CONSENT,
            data=("ip", "cookie"),
            vendors=("self",),
            withdrawal="settings",
            consent_lifetime=DM("1 month"),
            opt_out_scopes=("tracking",),
            retention=Retention((AfterCollection(DM("6 months")),)),
        ),
        Purpose(
            "ads",
            "Ads",
            "Ads",
            LegalBasis.CONSENT,
            data=("cookie",),
            vendors=("self", "adnet"),
            withdrawal="settings",
            per_vendor_consent=True,
            retention=Retention((AfterCollection(DM("6 months")),)),
        ),
        Purpose(
            "fraud",
            "Fraud",
            "Stop fraud",
            LegalBasis.LEGITIMATE_INTERESTS,
            data=("ip",),
            vendors=("self",),
            legitimate_interest="security",
            override_admissible=True,
            retention=Retention((SessionEnd(DM("30 minutes")),)),
        ),
        Purpose(
            "tag",
            "Tag",
            "Tag",
            LegalBasis.LEGITIMATE_INTERESTS,
            data=("cookie",),
            vendors=("self",),
            legitimate_interest="bots",
            device_access=True,
        ),
        Purpose(
            "orders",
            "Orders",
            "Deliver",
            LegalBasis.CONTRACT,
            data=("ip",),
            vendors=("self",),
        ),
        Purpose(
            "invoices",
            "Invoices",
            "Tax law",
            LegalBasis.LEGAL_OBLIGATION,
            data=("ip",),
            vendors=("self",),
        ),
    ),
)


def test_the_no_clock_fixture_makes_clocks_raise(no_clock: None) -> None:
    """Inside the fixture every clock raises, yet deciding works: decisions read none."""
    from lawful import _time  # noqa: PLC0415 - the patched module objects
    from lawful._engine import age, run  # noqa: PLC0415

    with pytest.raises(AssertionError):
        time.time()
    with pytest.raises(AssertionError):
        vars(run)["datetime"].now(UTC)
    with pytest.raises(AssertionError):
        vars(_time)["datetime"].now(UTC)
    with pytest.raises(AssertionError):
        vars(age)["date"].today()
    subject = Subject("s", [ConsentGiven(at=T0, purpose="analytics")])
    assert POLICY.decide_all(subject, T0 + timedelta(days=1))["analytics"].allowed


# -- no look into the future ----------------------------------------------------------------

AT = T0 + timedelta(days=10)
HISTORY: tuple[Event, ...] = (
    BirthDateDeclared(at=T0, birth_date=date(1990, 5, 1)),
    ConsentGiven(at=T0, purpose="analytics"),
    ConsentGiven(at=T0, purpose="ads", vendor="adnet"),
    ConsentGiven(at=T0, purpose="tag"),
    ContractStarted(at=T0, contract="c-1"),
    Interaction(at=AT - timedelta(minutes=5), kind="page_view"),
)


def _future(after: datetime) -> list[Event]:
    """One event of every kind, each after ``at``, each of a kind that could change things."""
    later = [after + timedelta(microseconds=1 + i) for i in range(20)]
    events: list[Event] = [
        ConsentWithdrawn(at=later[0], purpose="analytics"),
        ConsentGiven(at=later[1], purpose="ads"),
        Objection(at=later[2]),
        ObjectionWithdrawn(at=later[3]),
        ObjectionOverridden(at=later[4], purpose="fraud", grounds="g"),
        RestrictionRequested(at=later[5]),
        RestrictionLifted(at=later[6]),
        Erasure(at=later[7]),
        OptOut(at=later[8], scope="everything"),
        OptOutWithdrawn(at=later[9], scope="everything"),
        BirthDateDeclared(at=later[10], birth_date=date(2015, 1, 1)),
        AgeDeclared(at=later[11], at_least=10),
        ParentalConsentGiven(at=later[12]),
        ParentalConsentWithdrawn(at=later[13]),
        ContractStarted(at=later[14], contract="c-2"),
        ContractEnded(at=later[15], contract="c-1"),
        Interaction(at=later[16], kind="page_view"),
        TransferConsentGiven(at=later[17], vendor="adnet"),
        TransferConsentWithdrawn(at=later[18], vendor="adnet"),
    ]
    assert {type(e) for e in events} == set(EVENT_TYPES)
    return events


@pytest.mark.usefixtures("no_clock")
@pytest.mark.parametrize("collected_at", [None, T0, AT - timedelta(minutes=10)])
def test_events_after_at_never_change_the_decision_at_at(collected_at: datetime | None) -> None:
    """A decision at ``at`` sees only events at or before ``at``."""
    base = Subject("s", HISTORY)
    expected = POLICY.decide_all(base, AT, collected_at=collected_at)
    assert expected["analytics"].allowed
    assert expected["orders"].allowed
    for event in _future(AT):
        with_one = base.add(event)
        assert POLICY.decide_all(with_one, AT, collected_at=collected_at) == expected, event
    everything = base.extend(_future(AT))
    assert POLICY.decide_all(everything, AT, collected_at=collected_at) == expected


@pytest.mark.usefixtures("no_clock")
def test_an_event_one_microsecond_after_at_is_unseen_but_one_at_at_is_seen() -> None:
    """The boundary of "at or before": an event at ``at`` counts, one a microsecond later not."""
    base = Subject("s", HISTORY)
    at_at = base.add(ConsentWithdrawn(at=AT, purpose="analytics"))
    after = base.add(ConsentWithdrawn(at=AT + timedelta(microseconds=1), purpose="analytics"))
    assert not POLICY.may_process(at_at, "analytics", AT).allowed
    assert POLICY.may_process(after, "analytics", AT).allowed


@pytest.mark.usefixtures("no_clock")
def test_the_same_inputs_give_the_same_decision() -> None:
    """Deciding twice, or on an equal subject built in another order, gives equal decisions."""
    one = Subject("s", HISTORY)
    two = Subject("s", HISTORY[::-1])
    first = POLICY.decide_all(one, AT)
    assert POLICY.decide_all(one, AT) == first
    assert POLICY.decide_all(two, AT) == first
