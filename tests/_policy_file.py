"""A valid policy file (BASE, as data) and the helpers that mutate, write and load it.

tests/test_validate.py breaks it one mistake at a time; tests/test_convert.py loads and
writes it back.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import tomli_w

import lawful
from lawful import (
    PolicyError,
)

BASE: dict[str, Any] = {
    "version": "1.0",
    "id": "shop",
    "policy_version": "2025-01",
    "title": "Shop privacy policy",
    "contact": {"dpo": "dpo@example.test", "supervisory_authority": "UODO"},
    "data_categories": {
        "ip_address": {"title": "IP address"},
        "email": {"title": "Email address"},
        "health": {"title": "Health data", "special": True},
    },
    "vendors": {
        "self": {"name": "Shop", "role": "first_party", "hosting": "Frankfurt, Germany"},
        "mailer": {
            "name": "Mailer Inc.",
            "role": "processor",
            "hosting": "Ireland",
        },
    },
    "opt_out_scopes": {"all_collection": {"title": "Stop all collection"}},
    "purposes": {
        "analytics": {
            "title": "Analytics",
            "statement": "Improve the shop",
            "basis": "consent",
            "data": ["ip_address"],
            "vendors": ["self"],
            "withdrawal": "Privacy settings button",
            "consent_lifetime": "13 months",
            "retention": {"rules": [{"kind": "after_collection", "period": "60 months"}]},
        },
        "newsletter": {
            "title": "Newsletter",
            "statement": "Send offers",
            "basis": "consent",
            "data": ["email"],
            "vendors": ["mailer"],
            "withdrawal": "Unsubscribe link",
            "direct_marketing": True,
            "retention": {"rules": [{"kind": "after_collection", "period": "P24M"}]},
        },
        "fraud": {
            "title": "Fraud prevention",
            "statement": "Stop fraudulent orders",
            "basis": "legitimate_interests",
            "legitimate_interest": "protecting the shop against fraud",
            "assessment": "LIA-2025-01",
            "data": ["ip_address"],
            "vendors": ["self"],
            "override_admissible": True,
            "opt_out_scopes": ["all_collection"],
            "retention": {"rules": [{"kind": "after_collection", "period": "90 days"}]},
        },
    },
}


def _toml(data: dict[str, Any]) -> str:
    return tomli_w.dumps(data)


def _mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def _problems(data: dict[str, Any]) -> list[lawful.Problem]:
    with pytest.raises(PolicyError) as caught:
        lawful.loads_policy(_toml(data), format="toml")
    return list(caught.value.problems)


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    keys = path.split(".")

    def change(data: dict[str, Any]) -> None:
        target = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    keys = path.split(".")

    def change(data: dict[str, Any]) -> None:
        target = data
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return change
