"""Shared fixtures and hypothesis profiles (``dev`` locally, ``ci`` under CI)."""

from __future__ import annotations

import importlib
import os
import time
from datetime import date, datetime, tzinfo
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, settings

# ci: each property test draws a whole policy, a history and a question per example, so
# 90 examples (derandomized: the same ones on every run; print_blob: a failure prints
# the line that replays it): drawing a policy and a history fitting it is most of a
# law's time, and the whole suite must stay well under ten minutes on two cores. The
# coverage tests search 450 examples of their own. No deadline: generated policies vary
# in size, and a deadline would flake.
settings.register_profile(
    "ci",
    max_examples=90,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


# -- no_clock: decisions must never read a clock (docs/explanation/decision.md) ------------

# The modules that compute with datetime and date at run time. Modules that use them only
# in annotations are left alone: attrs and cattrs resolve annotations once and cache them,
# so a patched name there would outlive the test (test_purity checks them by their AST).
_DECISION_MODULES = (
    "lawful._engine.query",
    "lawful._engine.run",
    "lawful._engine.age",
    "lawful._time",
)


class ClockReadError(AssertionError):
    """A decision module read a wall clock while the ``no_clock`` fixture was active."""


def _clock_read(*_args: object, **_kwargs: object) -> NoReturn:
    raise ClockReadError


class _LikeItsBase(type):
    """Keeps ``isinstance(real_datetime, patched)`` true inside the patched modules."""

    def __instancecheck__(cls, instance: object) -> bool:
        return isinstance(instance, cls.__mro__[1])


class _NoClockDatetime(datetime, metaclass=_LikeItsBase):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> NoReturn:
        raise ClockReadError(tz)

    @classmethod
    def utcnow(cls) -> NoReturn:
        raise ClockReadError

    @classmethod
    def today(cls) -> NoReturn:
        raise ClockReadError

    @classmethod
    def fromtimestamp(cls, t: float, tz: tzinfo | None = None) -> NoReturn:
        raise ClockReadError(t, tz)


class _NoClockDate(date, metaclass=_LikeItsBase):
    @classmethod
    def today(cls) -> NoReturn:
        raise ClockReadError

    @classmethod
    def fromtimestamp(cls, t: float) -> NoReturn:
        raise ClockReadError(t)


@pytest.fixture
def no_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Patch ``time.time`` and friends, and ``datetime``/``date`` clocks, to raise.

    Inside the decision modules the names ``datetime`` and ``date`` are replaced by
    subclasses whose clocks raise :class:`ClockReadError`; use it with
    ``pytestmark = pytest.mark.usefixtures("no_clock")``.
    """
    for name in ("time", "time_ns", "monotonic", "monotonic_ns", "localtime", "gmtime"):
        monkeypatch.setattr(time, name, _clock_read)
    for module_name in _DECISION_MODULES:
        module = importlib.import_module(module_name)
        if getattr(module, "datetime", None) is datetime:
            monkeypatch.setattr(module, "datetime", _NoClockDatetime)
        if getattr(module, "date", None) is date:
            monkeypatch.setattr(module, "date", _NoClockDate)
