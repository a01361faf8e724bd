"""Fixtures for the signal tests: a small inline policy, and the IAB's own TCF library via Node.

The differential tests run ``@iabtechlabtcf/core`` (pinned in ``node/package.json``)
with the machine's Node.js. ``node_modules`` is installed into ``tests/signals/node``
on first use (git-ignored). Without node and npm, or when the install fails, those
tests are skipped with the reason, unless the ``CI`` environment variable is set:
then they fail, so CI can never pass by silently skipping them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import pytest

import lawful
from lawful.signals.tcf import TCString

NODE_DIR = Path(__file__).parent / "node"
LIBRARY = NODE_DIR / "node_modules" / "@iabtechlabtcf" / "core" / "package.json"

POLICY_TOML = """
version = "1"
id = "shop"
policy_version = "2025-01"

[vendors.adnet]
name = "Ad Network"

[vendors.stats]
name = "Stats Co"

[data_categories.cookie]
title = "Browser cookie"

[opt_out_scopes.sale]
title = "Sale or sharing of personal data"

[purposes.ads]
title = "Ads"
statement = "Show ads chosen from your browsing."
basis = "consent"
withdrawal = "Privacy settings link in the footer."
vendors = ["adnet"]
data = ["cookie"]
device_access = true

[purposes.measurement]
title = "Measurement"
statement = "Measure our audience with Stats Co."
basis = "consent"
withdrawal = "Privacy settings link in the footer."
vendors = ["stats"]
per_vendor_consent = true

[purposes.personalisation]
title = "Personalisation"
statement = "Personalise our own pages."
basis = "consent"
withdrawal = "Privacy settings link in the footer."

[purposes.ad_reporting]
title = "Ad reporting"
statement = "Report on ad delivery."
basis = "legitimate_interests"
legitimate_interest = "Billing advertisers for ads shown"
vendors = ["adnet"]

[purposes.newsletter]
title = "Newsletter"
statement = "Email offers to customers."
basis = "legitimate_interests"
legitimate_interest = "Direct marketing to existing customers"
direct_marketing = true

[purposes.fraud]
title = "Fraud prevention"
statement = "Detect fraudulent orders."
basis = "legitimate_interests"
legitimate_interest = "Preventing fraud"
opt_out_scopes = ["sale"]

[purposes.security]
title = "Security"
statement = "Keep the service secure."
basis = "legitimate_interests"
legitimate_interest = "Network and information security"

[purposes.delivery]
title = "Delivery"
statement = "Deliver what you ordered."
basis = "contract"

[signals]
gpc_scope = "sale"

[[signals.tcf]]
purpose = "ads"
tcf_purposes = [1, 3, 4]
vendors = { adnet = 755 }

[[signals.tcf]]
purpose = "measurement"
tcf_purposes = [1, 8]
vendors = { stats = 42 }

[[signals.tcf]]
purpose = "personalisation"
tcf_purposes = [5]
publisher = true

[[signals.tcf]]
purpose = "ad_reporting"
tcf_purposes = [7]
vendors = { adnet = 755 }

[[signals.tcf]]
purpose = "delivery"
tcf_purposes = [2]

[[signals.consent_mode]]
signal = "ad_storage"
purposes = ["ads"]

[[signals.consent_mode]]
signal = "ad_personalization"
purposes = ["ads"]

[[signals.consent_mode]]
signal = "analytics_storage"
purposes = ["measurement"]

[[signals.consent_mode]]
signal = "personalization_storage"
purposes = ["personalisation"]

[[signals.piwik_pro]]
signal = "remarketing"
purposes = ["ads"]

[[signals.piwik_pro]]
signal = "analytics"
purposes = ["measurement"]

[[signals.piwik_pro]]
signal = "ab_testing_and_personalization"
purposes = ["personalisation"]
"""

Bridge = Callable[[dict[str, object]], object]
"""Send one request to the Node runner; the answer's value, or ``RuntimeError``."""

AsJson = Callable[[TCString], dict[str, object]]
"""A TC string model in the runner's JSON shape."""

_MS = timedelta(milliseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(moment: datetime) -> int:
    return (moment - _EPOCH) // _MS


def _ids(ids: frozenset[int] | None) -> list[int] | None:
    return None if ids is None else sorted(ids)


def _as_json(tc: TCString) -> dict[str, object]:
    # The IAB library keeps one vendor set per (purpose, restriction type) and none that is
    # empty, so restrictions are compared merged that way.
    merged: dict[tuple[int, int], set[int]] = {}
    for r in tc.publisher_restrictions:
        if r.vendors:
            merged.setdefault((r.purpose, r.restriction.value), set()).update(r.vendors)
    pub = tc.publisher_tc
    return {
        "version": 2,
        "created_ms": _ms(tc.created),
        "last_updated_ms": _ms(tc.last_updated),
        "cmp_id": tc.cmp_id,
        "cmp_version": tc.cmp_version,
        "consent_screen": tc.consent_screen,
        "consent_language": tc.consent_language,
        "vendor_list_version": tc.vendor_list_version,
        "policy_version": tc.policy_version,
        "is_service_specific": tc.is_service_specific,
        "use_non_standard_texts": tc.use_non_standard_texts,
        "special_feature_opt_ins": sorted(tc.special_feature_opt_ins),
        "purposes_consent": sorted(tc.purposes_consent),
        "purposes_li_transparency": sorted(tc.purposes_li_transparency),
        "purpose_one_treatment": tc.purpose_one_treatment,
        "publisher_cc": tc.publisher_cc,
        "vendor_consents": sorted(tc.vendor_consents),
        "vendor_legitimate_interests": sorted(tc.vendor_legitimate_interests),
        "publisher_restrictions": sorted([p, k, sorted(v)] for (p, k), v in merged.items()),
        "disclosed_vendors": _ids(tc.disclosed_vendors),
        "allowed_vendors": _ids(tc.allowed_vendors),
        "publisher_tc": None
        if pub is None
        else {
            "purposes_consent": sorted(pub.purposes_consent),
            "purposes_li_transparency": sorted(pub.purposes_li_transparency),
            "num_custom_purposes": pub.num_custom_purposes,
            "custom_purposes_consent": sorted(pub.custom_purposes_consent),
            "custom_purposes_li_transparency": sorted(pub.custom_purposes_li_transparency),
        },
    }


@pytest.fixture(scope="session")
def as_json() -> AsJson:
    """Turn a model into the runner's JSON shape (restrictions merged as the IAB keeps them)."""
    return _as_json


@pytest.fixture(scope="session")
def policy() -> lawful.Policy:
    """The inline test policy (independent of the bundled one)."""
    return lawful.loads_policy(POLICY_TOML)


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the IAB differential test must run)")
    pytest.skip(f"{reason}; install Node.js and npm to run the IAB differential test")


@pytest.fixture(scope="session")
def iab() -> Iterator[Bridge]:
    """A running Node process that encodes and decodes with @iabtechlabtcf/core."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node or npm not found on PATH")
    if not LIBRARY.exists():
        try:
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--no-package-lock"],
                cwd=NODE_DIR,
                check=True,
                capture_output=True,
                timeout=180,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            _unavailable(f"npm install of @iabtechlabtcf/core failed: {exc}")
    proc = subprocess.Popen(
        [node, "runner.mjs"],
        cwd=NODE_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    stdin, stdout = proc.stdin, proc.stdout

    def ask(request: dict[str, object]) -> object:
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        answer = json.loads(stdout.readline())
        if not answer["ok"]:
            raise RuntimeError(answer["error"])
        value = answer["value"]
        if isinstance(value, dict) and isinstance(value.get("publisher_restrictions"), list):
            value["publisher_restrictions"] = sorted(value["publisher_restrictions"])
        return value

    yield ask
    stdin.close()
    proc.wait(timeout=10)
    stdout.close()
