"""The reference banner, end to end, in a real headless Chromium against a served FastAPI app.

Needs Playwright's Python package and a Chromium (Debian's ``chromium``, which
``.ci/run`` installs; Playwright's own browsers are never downloaded). Skips without
them, except under CI, where it must run. ``LAWFUL_BANNER_SCREENSHOT=PATH`` also saves
a screenshot of the banner (the one in docs/howto/banner.md).
"""

from __future__ import annotations

import importlib
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lawful
from lawful.contrib import consent_purposes, utc_now
from lawful.ledger import MemoryLedger

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    found = os.environ.get("LAWFUL_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must run the browser test: install Debian's chromium")
        pytest.skip("no chromium (apt-get install -y chromium)")
    return found


def _need(module: str) -> Any:
    if os.environ.get("CI"):  # in CI the browser test must run: a missing module fails it
        return importlib.import_module(module)
    return pytest.importorskip(module)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, MemoryLedger, lawful.Policy]]:
    """The app on 127.0.0.1 at a free port: the banner page at /, the integration at /lawful."""
    _need("fastapi")
    uvicorn = _need("uvicorn")
    from fastapi import FastAPI  # noqa: PLC0415 - optional: the test skips without it
    from fastapi.responses import HTMLResponse  # noqa: PLC0415

    from lawful.banner import banner_page  # noqa: PLC0415
    from lawful.contrib.fastapi import Integration  # noqa: PLC0415

    policy = lawful.bundled_policy("piwik-pro")
    ledger = MemoryLedger()
    consent = Integration(policy, ledger, subject_category="visitor")
    app = FastAPI()
    app.include_router(consent.router(prefix="/lawful"))
    page = banner_page(
        policy, subject_category="visitor", notice_url="https://piwik.pro/privacy-policy/"
    )

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page

    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", ledger, policy
    finally:
        server.should_exit = True
        thread.join(10)


def test_reject_all_then_accept_analytics(
    served: tuple[str, MemoryLedger, lawful.Policy],
) -> None:
    """Clicks in the banner reach the ledger, and may_process answers as the person chose."""
    executable = _chromium()
    sync_api = _need("playwright.sync_api")
    url, ledger, policy = served
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 900, "height": 900})
            page.goto(url)
            page.wait_for_selector("[data-lawful-banner][data-ready='true']")
            asked = page.locator(".lawful-purpose").count()
            assert asked == len(consent_purposes(policy, subject_category="visitor"))
            if shot := os.environ.get("LAWFUL_BANNER_SCREENSHOT"):
                page.locator("[data-lawful-banner]").screenshot(path=shot)

            with page.expect_response(lambda r: r.url.endswith("/lawful/consent")) as posted:
                page.get_by_role("button", name="Reject all").click()
            assert posted.value.status == 200
            subject_id = next(
                c["value"] for c in page.context.cookies() if c["name"] == "lawful_subject"
            )
            events = list(ledger.events(subject_id))
            assert {type(e) for e in events} == {lawful.ConsentWithdrawn}
            assert len(events) == asked
            now = utc_now()
            assert policy.may_process(ledger.subject(subject_id), "analytics", now).code is (
                lawful.ReasonCode.CONSENT_WITHDRAWN
            )

            with page.expect_response(lambda r: r.url.endswith("/lawful/consent")) as posted:
                page.get_by_role("button", name="Accept Analytics", exact=True).click()
            assert posted.value.status == 200
            status = page.locator(".lawful-status[data-purpose='analytics']")
            sync_api.expect(status).to_have_text("Allowed")
            subject = ledger.subject(subject_id)
            now = utc_now()
            analytics = policy.may_process(subject, "analytics", now)
            assert analytics.allowed
            assert analytics.code is lawful.ReasonCode.CONSENT_GIVEN
            assert isinstance(analytics.reason.event, lawful.ConsentGiven)
            assert analytics.reason.event.method is lawful.ConsentMethod.BANNER
            assert policy.may_process(subject, "conversion_tracking", now).code is (
                lawful.ReasonCode.CONSENT_WITHDRAWN
            )
        finally:
            browser.close()
