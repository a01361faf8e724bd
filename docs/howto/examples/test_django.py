"""Consent in a Django site with lawful.contrib.django (docs/howto/django.md).

Run by the ``docs`` nox session, where Django is installed:
``pytest docs/howto/examples/test_django.py``. The tests at the bottom drive the
site with Django's test client, with CSRF checks on, as a browser meets them.
"""

from __future__ import annotations

import json

import django
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.test import Client
from django.urls import include, path

import lawful
from lawful.banner import banner_page
from lawful.contrib.django import Integration
from lawful.ledger import MemoryLedger

settings.configure(
    ROOT_URLCONF=__name__,
    MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],
    ALLOWED_HOSTS=["testserver"],
    SECRET_KEY="docs-example-only",  # noqa: S106 - a test client's settings, not a secret
    INSTALLED_APPS=[],
)
django.setup()

# Example part (setup) starts here.
POLICY = lawful.bundled_policy("piwik-pro")  # or lawful.load_policy(settings.LAWFUL_POLICY)
LEDGER = MemoryLedger()  # in production: lawful.ledger.SQLiteLedger(path, key=...)

# The subject is the logged-in user (request.user.pk), else the lawful_subject cookie the
# banner sets; the clock defaults to UTC now. Only purposes visitors are asked are accepted.
consent = Integration(POLICY, LEDGER, subject_category="visitor")
user_logged_in.connect(consent.on_login)  # a visitor's refusals follow them into the account
# Example part (setup) ends here.


# Example part (views) starts here.
def page(request: HttpRequest) -> HttpResponse:
    """A page that embeds the tracker only with a valid consent."""
    tracker = '<script src="/tracker.js"></script>' if consent.decide(request, "analytics") else ""
    return HttpResponse(f"<p>Hello</p>{tracker}")


@consent.require("analytics")
def collect(request: HttpRequest) -> HttpResponse:  # noqa: ARG001 - a view takes its request
    """A collection endpoint: runs only with a valid analytics consent, else 403 JSON."""
    return HttpResponse(status=204)


def privacy(request: HttpRequest) -> HttpResponse:
    """The reference banner; get_token sets the csrftoken cookie the banner sends back."""
    get_token(request)
    return HttpResponse(banner_page(POLICY, subject_category="visitor"))


urlpatterns = [
    path("", page),
    path("collect", collect),
    path("privacy", privacy),
    path("lawful/", include(consent.urls())),  # POST lawful/consent, GET lawful/decisions
]
# Example part (views) ends here.


def _choose(client: Client, choices: dict[str, str]) -> HttpResponse:
    """Post as the banner does: JSON, with the CSRF token from the cookie in X-CSRFToken."""
    token = client.cookies["csrftoken"].value
    response: HttpResponse = client.post(
        "/lawful/consent",
        json.dumps({"choices": choices}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    return response


def test_tracking_follows_consent() -> None:
    """No tracker without consent; with it, the tracker; after a refusal, none again."""
    client = Client(enforce_csrf_checks=True)
    client.cookies["lawful_subject"] = "visitor-7"
    client.get("/privacy")  # the banner page: sets the CSRF cookie

    assert b"tracker.js" not in client.get("/").content
    assert client.get("/collect").json()["detail"]["code"] == "no_consent"

    assert _choose(client, {"analytics": "accept"}).status_code == 200
    assert b"tracker.js" in client.get("/").content
    assert client.get("/collect").status_code == 204

    assert _choose(client, {"analytics": "reject"}).status_code == 200
    assert b"tracker.js" not in client.get("/").content
    assert client.get("/collect").json()["detail"]["code"] == "consent_withdrawn"


def test_the_hazards_of_the_old_example() -> None:
    """No cookie: 400, not 500; unknown purpose or another word: 400; no token: 403."""
    client = Client(enforce_csrf_checks=True)
    client.get("/privacy")
    assert _choose(client, {"analytics": "accept"}).json()["detail"]["code"] == "no_subject"
    client.cookies["lawful_subject"] = "visitor-8"
    assert _choose(client, {"analytcs": "accept"}).json()["detail"]["code"] == "unknown_purpose"
    assert _choose(client, {"analytics": "refuse"}).json()["detail"]["code"] == "invalid_choice"
    no_token = client.post(
        "/lawful/consent", json.dumps({"choices": {"analytics": "accept"}}), "application/json"
    )
    assert no_token.status_code == 403
    assert list(LEDGER.events("visitor-8")) == []


def test_a_visitor_without_a_cookie_is_never_tracked() -> None:
    """A visitor the site knows nothing about has given no consent."""
    assert b"tracker.js" not in Client().get("/").content
