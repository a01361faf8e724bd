"""Consent in a FastAPI app with lawful.contrib.fastapi (docs/howto/fastapi.md).

Run by the ``docs`` nox session, where FastAPI and httpx are installed:
``pytest docs/howto/examples/test_fastapi.py``. The tests at the bottom drive the
API with FastAPI's ``TestClient``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

import lawful
from lawful.banner import banner_page
from lawful.contrib.fastapi import Integration
from lawful.ledger import MemoryLedger

# Example part (setup) starts here.
POLICY = lawful.bundled_policy("piwik-pro")
LEDGER = MemoryLedger()  # in production: lawful.ledger.SQLiteLedger(path, key=...)

# The subject is the logged-in user, else the lawful_subject cookie the banner sets;
# the clock defaults to UTC now. Only the purposes visitors are asked about are accepted.
consent = Integration(POLICY, LEDGER, subject_category="visitor")

app = FastAPI()
app.include_router(consent.router(prefix="/lawful"))  # POST /lawful/consent, GET /lawful/decisions
# Example part (setup) ends here.


# Example part (endpoints) starts here.
@app.post("/track")
def track(
    decision: Annotated[lawful.Decision, Depends(consent.require("analytics"))],
) -> dict[str, str]:
    """Record a page view: runs only with a valid analytics consent, else 403."""
    return {"tracked": "yes", "because": decision.code.value}


@app.get("/privacy", response_class=HTMLResponse)
def privacy() -> str:
    """The reference banner, fed by the policy (docs/howto/banner.md)."""
    return banner_page(POLICY, subject_category="visitor")


@app.post("/login")
async def login(user: str, visitor: str | None = None) -> dict[str, str]:
    """After checking the password (not shown): carry the visitor's refusals over."""
    await consent.link(visitor, user)
    return {"user": user}


# Example part (endpoints) ends here.

SAME_ORIGIN = {"Origin": "http://testserver"}  # what a browser sends from the page


def test_tracking_needs_consent() -> None:
    """Without consent the endpoint answers 403 with the reason; with it, 200."""
    client = TestClient(app, cookies={"lawful_subject": "visitor-9"})

    refused = client.post("/track")
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "no_consent"
    assert refused.json()["detail"]["article"] == "Art. 6(1)(a)"

    answer = client.post(
        "/lawful/consent", json={"choices": {"analytics": "accept"}}, headers=SAME_ORIGIN
    )
    assert answer.json()["decisions"]["analytics"]["allowed"] is True
    assert client.post("/track").json() == {"tracked": "yes", "because": "consent_given"}

    client.post("/lawful/consent", json={"choices": {"analytics": "reject"}}, headers=SAME_ORIGIN)
    assert client.post("/track").json()["detail"]["code"] == "consent_withdrawn"


def test_mistakes_are_400_not_stored_consents() -> None:
    """An unknown purpose, a purpose needing no consent, or another word: 400 and nothing kept."""
    client = TestClient(app, cookies={"lawful_subject": "visitor-10"})
    for choices, code in [
        ({"analytcs": "accept"}, "unknown_purpose"),
        ({"purchases": "accept"}, "not_a_consent_purpose"),
        ({"analytics": "refuse"}, "invalid_choice"),
    ]:
        answer = client.post("/lawful/consent", json={"choices": choices}, headers=SAME_ORIGIN)
        assert (answer.status_code, answer.json()["detail"]["code"]) == (400, code)
    assert list(LEDGER.events("visitor-10")) == []


def test_no_subject_and_other_origins() -> None:
    """No subject: 400; another origin: 403; a form post: 415."""
    body = {"choices": {"analytics": "accept"}}
    assert (
        TestClient(app).post("/lawful/consent", json=body, headers=SAME_ORIGIN).status_code == 400
    )
    client = TestClient(app, cookies={"lawful_subject": "visitor-11"})
    evil = {"Origin": "https://evil.example"}
    assert client.post("/lawful/consent", json=body, headers=evil).status_code == 403
    assert client.post("/lawful/consent", data={"analytics": "accept"}).status_code == 415


def test_the_banner_page_is_served() -> None:
    """The page carries the purposes to ask about."""
    page = TestClient(app).get("/privacy").text
    assert '"id": "analytics"' in page
