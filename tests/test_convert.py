"""The policy converter: one sealed converter shared by loads, and converters of your own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import cattrs
import pytest

import lawful
from lawful import Duration
from lawful._convert import _shared_converter, policy_from_dict

AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def text() -> str:
    return lawful.dumps_policy(lawful.bundled_policy("piwik-pro"), format="toml")


def _zero(_value: object, _type: object) -> int:
    return 0


def _always(_type: object) -> bool:
    return True


def _zero_factory(_type: object) -> object:
    return _zero


def _str_factory(_type: object) -> object:
    return str


@pytest.mark.parametrize(
    "register",
    [
        lambda c: c.register_structure_hook(int, _zero),
        lambda c: c.register_structure_hook_func(_always, _zero),
        lambda c: c.register_structure_hook_factory(_always, _zero_factory),
        lambda c: c.register_unstructure_hook(int, str),
        lambda c: c.register_unstructure_hook_func(_always, str),
        lambda c: c.register_unstructure_hook_factory(_always, _str_factory),
    ],
)
def test_the_shared_converter_refuses_new_hooks(register: object) -> None:
    """No caller can change how another caller's policy is read: every registration raises."""
    assert callable(register)
    with pytest.raises(TypeError, match="sealed"):
        register(_shared_converter())


def test_a_converter_of_your_own_does_not_reach_the_shared_one(text: str) -> None:
    """A hook registered on a caller's converter changes that caller's loads only."""
    mine = cattrs.Converter(forbid_extra_keys=True)
    lawful.configure_converter(mine)
    mine.register_structure_hook(Duration, lambda _value, _type: Duration.parse("1 day"))
    data = lawful.loads_policy(text).to_dict()
    odd = policy_from_dict(data, converter=mine)
    plain = lawful.Policy.from_dict(data)
    day = Duration.parse("1 day")
    assert all(rule.period == day for p in odd.purposes for rule in _periods(p))
    assert not all(rule.period == day for p in plain.purposes for rule in _periods(p))
    assert plain == lawful.loads_policy(text)


def _periods(purpose: lawful.Purpose) -> list[lawful.AfterCollection]:
    return [r for r in purpose.retention.rules if isinstance(r, lawful.AfterCollection)]


def test_loads_in_threads_agree(text: str) -> None:
    """Threads loading at once through the shared converter all read the same policy."""
    expected = lawful.loads_policy(text)
    results: list[lawful.Policy] = []
    lock = threading.Lock()

    def load() -> None:
        policy = lawful.loads_policy(text)
        with lock:
            results.append(policy)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 8


def test_errors_still_name_the_path_after_many_loads(text: str) -> None:
    """The shared converter keeps reporting every problem with its path, load after load."""
    broken = text.replace('period = "60 months"', 'period = "60 fortnights"', 1)
    for _ in range(3):
        with pytest.raises(
            lawful.PolicyError, match=r"purposes\.[\w-]+\.retention\.rules\[0\]\.period"
        ):
            lawful.loads_policy(broken)
