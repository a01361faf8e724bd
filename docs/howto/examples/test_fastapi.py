"""Check consent before tracking, in a FastAPI dependency (docs/howto/fastapi.md).

Run by the ``docs`` nox session, where FastAPI and httpx are installed:
``pytest docs/howto/examples/test_fastapi.py``. The tests at the bottom drive the
API with FastAPI's ``TestClient``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Cookie, Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient

import lawful
from lawful.ledger import MemoryLedger

# Example part (policy-and-ledger) starts here.
POLICY = lawful.bundled_policy("piwik-pro")
LEDGER = MemoryLedger()  # in production: lawful.ledger.SQLiteLedger(path, key=...)


def now() -> datetime:
    """The clock; lawful itself never reads one, so the host passes the instant in."""
    return datetime.now(UTC)


# Example part (policy-and-ledger) ends here.


# Example part (dependency) starts here.
def subject(visitor: Annotated[str | None, Cookie()] = None) -> lawful.Subject:
    """The visitor's events from the ledger; an unknown visitor has none (fail closed)."""
    return LEDGER.subject(visitor) if visitor else lawful.Subject("anonymous")


def require_consent(purpose: str) -> Callable[[lawful.Subject], lawful.Decision]:
    """A dependency that lets the endpoint run only when ``purpose`` is allowed now.

    A denial becomes 403 with the reason code, its article and the sentence, so the
    front end can show the banner again, and a log can say why.
    """

    def dependency(person: Annotated[lawful.Subject, Depends(subject)]) -> lawful.Decision:
        decision = POLICY.may_process(person, purpose, now())
        if not decision:
            raise HTTPException(
                status_code=403,
                detail={
                    "code": decision.code.value,
                    "article": decision.reason.article,
                    "reason": decision.reason.message,
                },
            )
        return decision

    return dependency


# Example part (dependency) ends here.

# Example part (app) starts here.
app = FastAPI()


@app.post("/track")
def track(
    decision: Annotated[lawful.Decision, Depends(require_consent("analytics"))],
) -> dict[str, str]:
    """Record a page view: runs only with a valid analytics consent."""
    return {"tracked": "yes", "because": decision.code.value}


@app.get("/banner")
def banner(person: Annotated[lawful.Subject, Depends(subject)]) -> dict[str, bool]:
    """What the consent banner must still ask: every purpose, allowed or not, right now."""
    return {pid: d.allowed for pid, d in POLICY.decide_all(person, now()).items()}


@app.post("/consent/{purpose}")
def consent(purpose: str, visitor: Annotated[str, Cookie()], accept: bool) -> dict[str, str]:
    """Record the banner's answer, stamped with the policy version it was given under."""
    if purpose not in POLICY.purpose_ids:
        raise HTTPException(status_code=404, detail=f"no purpose {purpose!r}")
    event: lawful.Event
    if accept:
        event = lawful.ConsentGiven(
            at=now(),
            purpose=purpose,
            policy_version=POLICY.version,
            method=lawful.ConsentMethod.BANNER,
        )
    else:  # a refusal is recorded as a withdrawal (Art. 7(3))
        event = lawful.ConsentWithdrawn(at=now(), purpose=purpose)
    LEDGER.append(visitor, event)
    return {"recorded": event.event_type}


# Example part (app) ends here.


def test_tracking_needs_consent() -> None:
    """Without consent the endpoint answers 403 with the reason; with it, 200."""
    client = TestClient(app, cookies={"visitor": "visitor-9"})

    refused = client.post("/track")
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "no_consent"
    assert refused.json()["detail"]["article"] == "Art. 6(1)(a)"

    assert client.post("/consent/analytics", params={"accept": True}).status_code == 200
    allowed = client.post("/track")
    assert allowed.status_code == 200
    assert allowed.json() == {"tracked": "yes", "because": "consent_given"}

    client.post("/consent/analytics", params={"accept": False})
    assert client.post("/track").json()["detail"]["code"] == "consent_withdrawn"


def test_banner_lists_what_is_allowed() -> None:
    """The banner endpoint answers for every purpose of the policy."""
    answers = TestClient(app).get("/banner").json()
    assert set(answers) == set(POLICY.purpose_ids)
    assert answers["analytics"] is False
