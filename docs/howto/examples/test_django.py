"""Check consent before tracking, in a Django middleware (docs/howto/django.md).

Run by the ``docs`` nox session, where Django is installed:
``pytest docs/howto/examples/test_django.py``. The test at the bottom drives the
site with Django's test client: no consent, consent, withdrawal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

import lawful
from lawful.ledger import MemoryLedger

settings.configure(
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[f"{__name__}.ConsentMiddleware"],
    ALLOWED_HOSTS=["testserver"],
    SECRET_KEY="docs-example-only",  # noqa: S106 - a test client's settings, not a secret
    INSTALLED_APPS=[],
)
django.setup()

# Example part (policy-and-ledger) starts here.
POLICY = lawful.bundled_policy("piwik-pro")  # or lawful.load_policy(settings.LAWFUL_POLICY)
LEDGER = MemoryLedger()  # in production: lawful.ledger.SQLiteLedger(path, key=...)


def now() -> datetime:
    """The clock; lawful itself never reads one, so the host passes the instant in."""
    return datetime.now(UTC)


# Example part (policy-and-ledger) ends here.


# Example part (middleware) starts here.
class ConsentMiddleware:
    """Decide once per request whether the visitor's data may be used for analytics.

    Views read ``request.analytics`` (a :class:`lawful.Decision`: truthy when allowed)
    and render the tracking snippet only when it allows. The response says why, in a
    header a front end or a log can use.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        visitor = request.COOKIES.get("visitor")
        # Unknown visitors have no events: consent purposes are denied (fail closed).
        subject = LEDGER.subject(visitor) if visitor else lawful.Subject("anonymous")
        decision = POLICY.may_process(subject, "analytics", now())
        request.analytics = decision  # type: ignore[attr-defined]
        response = self.get_response(request)
        response["Lawful-Analytics"] = f"{decision.code.value} ({decision.reason.article})"
        return response


# Example part (middleware) ends here.


# Example part (views) starts here.
def page(request: HttpRequest) -> HttpResponse:
    """A page that embeds the tracker only with a valid consent."""
    tracker = '<script src="/tracker.js"></script>' if request.analytics else ""  # type: ignore[attr-defined]
    return HttpResponse(f"<p>Hello</p>{tracker}")


def consent(request: HttpRequest, purpose: str) -> HttpResponse:
    """The consent banner's endpoint: record a grant or a refusal, with the policy version."""
    visitor = request.COOKIES["visitor"]
    if request.POST.get("choice") == "accept":
        event: lawful.Event = lawful.ConsentGiven(
            at=now(),
            purpose=purpose,
            policy_version=POLICY.version,
            method=lawful.ConsentMethod.BANNER,
        )
    else:  # a refusal is recorded as a withdrawal (Art. 7(3))
        event = lawful.ConsentWithdrawn(at=now(), purpose=purpose)
    LEDGER.append(visitor, event)
    return HttpResponse(status=204)


urlpatterns = [path("", page), path("consent/<str:purpose>", consent)]
# Example part (views) ends here.


def test_tracking_follows_consent() -> None:
    """No tracker without consent; with it, the tracker; after a withdrawal, none again."""
    client = Client()
    client.cookies["visitor"] = "visitor-7"

    first = client.get("/")
    assert b"tracker.js" not in first.content
    assert first["Lawful-Analytics"] == "no_consent (Art. 6(1)(a))"

    assert client.post("/consent/analytics", {"choice": "accept"}).status_code == 204
    second = client.get("/")
    assert b"tracker.js" in second.content
    assert second["Lawful-Analytics"] == "consent_given (Art. 6(1)(a))"

    client.post("/consent/analytics", {"choice": "refuse"})
    third = client.get("/")
    assert b"tracker.js" not in third.content
    assert third["Lawful-Analytics"] == "consent_withdrawn (Art. 7(3))"


def test_a_visitor_without_a_cookie_is_never_tracked() -> None:
    """A visitor the site knows nothing about has given no consent."""
    response = Client().get("/")
    assert b"tracker.js" not in response.content
