"""lawful.contrib.fastapi against a real FastAPI app, through its test client."""

# No `from __future__ import annotations`: FastAPI evaluates the endpoints' annotations,
# which name the local `consent`, in the module's globals.

from typing import Annotated, Any

import pytest

pytest.importorskip("fastapi")

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from tests.contrib._fixtures import Clock

import lawful
from lawful.contrib.fastapi import Integration, header
from lawful.ledger import MemoryLedger

ORIGIN = {"Origin": "http://testserver"}


class _HeaderAuth(AuthenticationBackend):
    """Logs in whoever sends X-Test-User: enough to test the user source."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        name = conn.headers.get("x-test-user")
        return None if name is None else (AuthCredentials(["authenticated"]), SimpleUser(name))


def _app(consent: Integration) -> FastAPI:
    app = FastAPI()
    app.include_router(consent.router(prefix="/lawful"))
    app.add_middleware(AuthenticationMiddleware, backend=_HeaderAuth())

    @app.post("/track")
    def track(
        decision: Annotated[lawful.Decision, Depends(consent.require("analytics"))],
    ) -> dict[str, str]:
        return {"tracked": decision.code.value}

    @app.post("/login")
    async def login(user: str, visitor: str) -> dict[str, str]:
        await consent.link(visitor, user)
        return {"user": user}

    return app


@pytest.fixture
def consent(policy: lawful.Policy, ledger: MemoryLedger, clock: Clock) -> Integration:
    return Integration(policy, ledger, clock=clock, subject_category="visitor")


@pytest.fixture
def client(consent: Integration) -> TestClient:
    return TestClient(_app(consent), cookies={"lawful_subject": "visitor-1"})


def _post(client: TestClient, choices: Any, **headers: str) -> Any:
    return client.post("/lawful/consent", json={"choices": choices}, headers={**ORIGIN, **headers})


def test_tracking_follows_the_choices(client: TestClient, ledger: MemoryLedger) -> None:
    """403 with the reason before consent, 200 after accept, 403 withdrawn after reject."""
    refused = client.post("/track")
    assert refused.status_code == 403
    assert refused.json()["detail"] == {
        "code": "no_consent",
        "purpose": "analytics",
        "article": "Art. 6(1)(a)",
        "reason": refused.json()["detail"]["reason"],
    }
    accepted = _post(client, {"analytics": "accept"})
    assert accepted.status_code == 200
    assert accepted.json()["decisions"]["analytics"]["allowed"] is True
    assert client.post("/track").json() == {"tracked": "consent_given"}
    assert _post(client, {"analytics": "reject"}).status_code == 200
    assert client.post("/track").json()["detail"]["code"] == "consent_withdrawn"
    given = next(iter(ledger.events("visitor-1")))
    assert isinstance(given, lawful.ConsentGiven)
    assert given.method is lawful.ConsentMethod.BANNER


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        ({"analytcs": "accept"}, "unknown_purpose"),
        ({"purchases": "accept"}, "not_a_consent_purpose"),
        ({"analytics": "refuse"}, "invalid_choice"),
        ({}, "invalid_request"),
    ],
)
def test_bad_choices_are_400_and_record_nothing(
    client: TestClient, ledger: MemoryLedger, choices: Any, code: str
) -> None:
    """An unknown purpose, a purpose needing no consent or another word: 400, nothing stored."""
    response = _post(client, choices)
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == code
    assert list(ledger.events("visitor-1")) == []


def test_a_post_without_a_subject_is_400(consent: Integration) -> None:
    """No cookie, no user: the consent cannot be recorded, and that is the caller's error."""
    response = TestClient(_app(consent)).post(
        "/lawful/consent", json={"choices": {"analytics": "accept"}}, headers=ORIGIN
    )
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "no_subject"


def test_decisions_without_a_subject_fail_closed(consent: Integration) -> None:
    """A visitor with no id gets every consent purpose denied."""
    anonymous = TestClient(_app(consent))
    decisions = anonymous.get("/lawful/decisions").json()["decisions"]
    assert decisions["analytics"]["reasons"][0]["code"] == "no_consent"
    assert anonymous.post("/track").status_code == 403


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"Origin": "https://evil.example"}, 403, "cross_origin"),
        ({"Origin": "null"}, 403, "cross_origin"),
        ({}, 403, "cross_origin"),
        ({"Sec-Fetch-Site": "cross-site"}, 403, "cross_origin"),
    ],
)
def test_cross_site_posts_are_refused(
    client: TestClient, ledger: MemoryLedger, headers: dict[str, str], status: int, code: str
) -> None:
    """A post from another origin, or one that does not say where it comes from, is refused."""
    response = client.post(
        "/lawful/consent", json={"choices": {"analytics": "accept"}}, headers=headers
    )
    assert (response.status_code, response.json()["detail"]["code"]) == (status, code)
    assert list(ledger.events("visitor-1")) == []


def test_a_form_post_is_refused(client: TestClient) -> None:
    """A cross-site form can only send form content types: only JSON is accepted (415)."""
    response = client.post(
        "/lawful/consent", data={"choices": "x"}, headers={"Origin": "http://testserver"}
    )
    assert response.status_code == 415


def test_same_origin_fetch_metadata_is_enough(client: TestClient) -> None:
    """Without Origin, Sec-Fetch-Site: same-origin shows a same-origin request."""
    response = client.post(
        "/lawful/consent",
        json={"choices": {"analytics": "accept"}},
        headers={"Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 200


def test_allowed_origins_admit_a_proxys_public_origin(
    policy: lawful.Policy, ledger: MemoryLedger, clock: Clock
) -> None:
    """Behind a TLS proxy the public origin is declared and admitted."""
    consent = Integration(policy, ledger, clock=clock, allowed_origins=["https://www.example.com"])
    client = TestClient(_app(consent), cookies={"lawful_subject": "v"})
    assert (
        _post(client, {"analytics": "accept"}, Origin="https://www.example.com").status_code == 200
    )


def test_the_logged_in_user_is_the_subject(client: TestClient, ledger: MemoryLedger) -> None:
    """With a user authenticated, choices are recorded under the user, not the cookie."""
    assert _post(client, {"analytics": "accept"}, **{"X-Test-User": "ada"}).status_code == 200
    assert len(list(ledger.events("ada"))) == 1
    assert list(ledger.events("visitor-1")) == []


def test_login_carries_a_refusal_but_not_a_consent(client: TestClient, clock: Clock) -> None:
    """After login a refusal given anonymously holds; an anonymous consent is asked again."""
    _post(client, {"analytics": "accept", "conversion_tracking": "reject"})
    clock.advance()
    assert client.post("/login", params={"user": "ada", "visitor": "visitor-1"}).is_success
    decisions = client.get("/lawful/decisions", headers={"X-Test-User": "ada"}).json()
    assert decisions["decisions"]["analytics"]["reasons"][0]["code"] == "no_consent"
    assert decisions["decisions"]["conversion_tracking"]["reasons"][0]["code"] == (
        "consent_withdrawn"
    )


def test_a_header_source(policy: lawful.Policy, ledger: MemoryLedger, clock: Clock) -> None:
    """A gateway-set header can name the subject."""
    consent = Integration(policy, ledger, clock=clock, subject=[header("X-Subject")])
    client = TestClient(_app(consent))
    assert _post(client, {"analytics": "accept"}, **{"X-Subject": "s-1"}).status_code == 200
    assert client.post("/track", headers={"X-Subject": "s-1"}).status_code == 200


def test_requiring_an_unknown_purpose_fails_at_start_up(consent: Integration) -> None:
    """A typo in a purpose id is found when the app is built, not on every request."""
    with pytest.raises(lawful.UnknownPurposeError):
        consent.require("analytcs")
