"""lawful.contrib.django against a real Django project, through its test client."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("django")

import django
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client, RequestFactory, override_settings
from django.urls import URLPattern, URLResolver, include, path
from tests.contrib._fixtures import Clock

import lawful
from lawful.contrib.django import Integration, header
from lawful.ledger import MemoryLedger

if not settings.configured:
    settings.configure(
        ALLOWED_HOSTS=["testserver"],
        SECRET_KEY="tests-only",  # noqa: S106 - a test project's key, not a secret
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
    )
    django.setup()


class FakeUserMiddleware:
    """Authenticates whoever sends X-Test-User: stands in for AuthenticationMiddleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = request.headers.get("X-Test-User")
        request.user = SimpleNamespace(is_authenticated=name is not None, pk=name)
        return self.get_response(request)


urlpatterns: list[URLPattern | URLResolver] = []


@pytest.fixture
def consent(policy: lawful.Policy, ledger: MemoryLedger, clock: Clock) -> Iterator[Integration]:
    integration = Integration(policy, ledger, clock=clock, subject_category="visitor")

    @integration.require("analytics")
    def track(request: HttpRequest) -> HttpResponse:
        return HttpResponse("tracked")

    urlpatterns[:] = [path("lawful/", include(integration.urls())), path("track", track)]
    with override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[
            "django.middleware.csrf.CsrfViewMiddleware",
            f"{__name__}.FakeUserMiddleware",
        ],
    ):
        yield integration


def _client(subject: str | None = "visitor-1", *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if subject is not None:
        client.cookies["lawful_subject"] = subject
    return client


def _post(client: Client, choices: Any, **extra: Any) -> Any:
    return client.post(
        "/lawful/consent",
        json.dumps({"choices": choices}),
        content_type="application/json",
        **extra,
    )


def test_tracking_follows_the_choices(consent: Integration, ledger: MemoryLedger) -> None:
    """403 with the reason before consent, the view after accept, 403 withdrawn after reject."""
    client = _client()
    refused = client.get("/track")
    assert refused.status_code == 403
    assert refused.json()["detail"]["code"] == "no_consent"
    assert refused.json()["detail"]["article"] == "Art. 6(1)(a)"
    accepted = _post(client, {"analytics": "accept"})
    assert accepted.status_code == 200
    assert accepted.json()["decisions"]["analytics"]["allowed"] is True
    assert client.get("/track").content == b"tracked"
    assert _post(client, {"analytics": "reject"}).status_code == 200
    assert client.get("/track").json()["detail"]["code"] == "consent_withdrawn"
    given = next(iter(ledger.events("visitor-1")))
    assert isinstance(given, lawful.ConsentGiven)
    assert given.method is lawful.ConsentMethod.BANNER
    assert given.policy_version == consent.service.policy.version


@pytest.mark.parametrize(
    ("choices", "code"),
    [
        ({"analytcs": "accept"}, "unknown_purpose"),
        ({"purchases": "accept"}, "not_a_consent_purpose"),
        ({"analytics": "refuse"}, "invalid_choice"),
        ({"analytics": ""}, "invalid_choice"),
    ],
)
def test_bad_choices_are_400_and_record_nothing(
    consent: Integration, ledger: MemoryLedger, choices: Any, code: str
) -> None:
    """The copy-paste hazards: an unknown purpose or any word but accept/reject is a 400."""
    response = _post(_client(), choices)
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == code
    assert list(ledger.events("visitor-1")) == []


def test_a_post_without_a_subject_is_400_not_500(consent: Integration) -> None:
    """No subject cookie and no user: 400 with a reason, never a server error."""
    response = _post(_client(None), {"analytics": "accept"})
    assert response.status_code == 400
    assert response.json()["detail"]["code"] == "no_subject"


def test_a_form_post_is_415(consent: Integration) -> None:
    """Only JSON is accepted."""
    response = _client().post("/lawful/consent", {"choices": "x"})
    assert response.status_code == 415


def test_get_on_the_consent_endpoint_is_405(consent: Integration) -> None:
    """Choices are recorded by POST only."""
    assert _client().get("/lawful/consent").status_code == 405


def test_csrf_is_enforced(consent: Integration, ledger: MemoryLedger) -> None:
    """Without the CSRF token the post is refused by Django's check; with it, recorded."""
    client = _client(csrf=True)
    assert _post(client, {"analytics": "accept"}).status_code == 403
    assert list(ledger.events("visitor-1")) == []
    token = _get_new_csrf_string()  # what get_token() puts in the csrftoken cookie
    client.cookies["csrftoken"] = token
    assert _post(client, {"analytics": "accept"}, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_csrf_is_enforced_without_the_middleware(consent: Integration) -> None:
    """The consent view is protected even where CsrfViewMiddleware is not installed."""
    with override_settings(MIDDLEWARE=[]):
        assert _post(_client(csrf=True), {"analytics": "accept"}).status_code == 403


def test_decisions_without_a_subject_fail_closed(consent: Integration) -> None:
    """A visitor with no id gets every consent purpose denied."""
    decisions = _client(None).get("/lawful/decisions").json()["decisions"]
    assert decisions["analytics"]["reasons"][0]["code"] == "no_consent"
    assert _client(None).get("/track").status_code == 403


def test_the_logged_in_user_is_the_subject(consent: Integration, ledger: MemoryLedger) -> None:
    """With a user authenticated, choices are recorded under the user's pk."""
    assert _post(_client(), {"analytics": "accept"}, HTTP_X_TEST_USER="7").status_code == 200
    assert len(list(ledger.events("7"))) == 1
    assert list(ledger.events("visitor-1")) == []


def test_login_carries_a_refusal_but_not_a_consent(consent: Integration, clock: Clock) -> None:
    """The user_logged_in receiver: a refusal follows the person, a consent is asked again."""
    _post(_client(), {"analytics": "accept", "conversion_tracking": "reject"})
    clock.advance()
    request = RequestFactory().post("/login", HTTP_COOKIE="lawful_subject=visitor-1")
    user_logged_in.connect(consent.on_login)
    try:
        user_logged_in.send(sender=object, request=request, user=SimpleNamespace(pk=7))
    finally:
        user_logged_in.disconnect(consent.on_login)
    decisions = consent.service.decisions("7")["decisions"]
    assert isinstance(decisions, dict)
    assert decisions["analytics"]["reasons"][0]["code"] == "no_consent"
    assert decisions["conversion_tracking"]["reasons"][0]["code"] == "consent_withdrawn"


def test_a_header_source_and_a_direct_link(
    policy: lawful.Policy, ledger: MemoryLedger, clock: Clock
) -> None:
    """A gateway-set header can name the subject; link() carries refusals without the signal."""
    integration = Integration(policy, ledger, clock=clock, subject=[header("X-Subject")])
    request = RequestFactory().get("/", HTTP_X_SUBJECT="s-1")
    assert integration.subject_id(request) == "s-1"
    integration.service.record("s-1", {"analytics": "reject"})
    integration.link("s-1", "user-2")
    assert integration.service.decide("user-2", "analytics").code is (
        lawful.ReasonCode.CONSENT_WITHDRAWN
    )
