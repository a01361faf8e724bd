"""Consent for Django sites: ``pip install 'lawful[django]'``.

:class:`Integration` gives the consent endpoint and the decisions endpoint (mount
:meth:`Integration.urls` under a prefix), a view decorator that answers 403 when a
purpose is denied, and a receiver for Django's ``user_logged_in`` signal that carries a
visitor's refusals over to the account. See ``docs/howto/django.md``.

The consent view is CSRF-protected with Django's own machinery (``csrf_protect``, the
same check ``CsrfViewMiddleware`` makes, applied even where the middleware is not
installed): a page posts with the ``X-CSRFToken`` header, as the reference banner does.
The views are synchronous: under ASGI, Django runs them in a worker thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from lawful.contrib._core import (
    Clock,
    ConsentService,
    RequestProblem,
    denial_body,
    first_of,
    utc_now,
)
from lawful.decision import Decision
from lawful.ledger import ConsentLedger
from lawful.policy import Policy

__all__ = [
    "DEFAULT_SUBJECT",
    "Integration",
    "SubjectSource",
    "authenticated_user",
    "cookie",
    "header",
]

SubjectSource: TypeAlias = Callable[[HttpRequest], str | None]
"""Finds the subject id of a request, or ``None``."""
View: TypeAlias = Callable[..., HttpResponse]


def cookie(name: str = "lawful_subject") -> SubjectSource:
    """The subject id from a cookie (by default ``lawful_subject``, which the reference
    banner sets to a random UUID). Use an unguessable value: whoever knows it can
    record choices for it.
    """

    def source(request: HttpRequest) -> str | None:
        value: str | None = request.COOKIES.get(name)
        return value

    return source


def header(name: str) -> SubjectSource:
    """The subject id from a request header. Only behind a gateway that authenticates
    the caller and sets the header itself: a browser can send any header it likes.
    """

    def source(request: HttpRequest) -> str | None:
        value: str | None = request.headers.get(name)
        return value

    return source


def authenticated_user() -> SubjectSource:
    """The primary key of ``request.user`` when it is authenticated (Django's
    ``AuthenticationMiddleware``); ``None`` for an anonymous user or without it.
    """

    def source(request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return str(user.pk)

    return source


DEFAULT_SUBJECT: tuple[SubjectSource, ...] = (authenticated_user(), cookie())
"""The logged-in user when there is one, else the ``lawful_subject`` cookie."""


def _problem(problem: RequestProblem) -> HttpResponse:
    return JsonResponse(problem.to_dict(), status=problem.status)


class Integration:
    """Consent views and checks for one policy and one ledger.

    Args:
        policy: The policy to decide against; consents are stamped with its version.
        ledger: Where choices are recorded and read.
        subject: Where a request's subject id comes from: the first source that finds
            a valid id wins (:data:`DEFAULT_SUBJECT`: the logged-in user, else the
            ``lawful_subject`` cookie).
        clock: The current instant (timezone-aware); default: UTC now.
        subject_category: Accept consents only for purposes covering this data-subject
            category (such as ``visitor``); ``None`` for every purpose needing consent.
        anonymous: Where :meth:`on_login` finds the id the visitor had before logging
            in; default: the ``lawful_subject`` cookie.
    """

    def __init__(
        self,
        policy: Policy,
        ledger: ConsentLedger,
        *,
        subject: Sequence[SubjectSource] = DEFAULT_SUBJECT,
        clock: Clock = utc_now,
        subject_category: str | None = None,
        anonymous: SubjectSource | None = None,
    ) -> None:
        self.service = ConsentService(policy, ledger, clock, subject_category)
        self.sources = tuple(subject)
        self.anonymous = anonymous if anonymous is not None else cookie()

    def subject_id(self, request: HttpRequest) -> str | None:
        """The request's subject id from the configured sources; ``None`` when none has one."""
        return first_of(self.sources, request)

    def consent(self, request: HttpRequest) -> HttpResponse:
        """``POST``: record ``{"choices": {"<purpose>": "accept" | "reject"}}``.

        Answers 200 with every decision now (``{"decisions": {...}}``); 400 for a
        request without a subject id or with a body that names an unknown purpose, a
        purpose that needs no consent, or another choice; 415 when not JSON. (The CSRF
        check runs first: :meth:`urls` wraps this view in ``csrf_protect``.)
        """
        media = (request.content_type or "").lower()
        if media != "application/json":
            return _problem(
                RequestProblem(
                    415, "unsupported_media_type", "send the choices as application/json"
                )
            )
        subject_id = self.subject_id(request)
        if subject_id is None:
            return _problem(
                RequestProblem(400, "no_subject", "the request names no subject to record for")
            )
        parsed = self.service.parse(request.body)
        if isinstance(parsed, RequestProblem):
            return _problem(parsed)
        return JsonResponse(self.service.record(subject_id, parsed))

    def decisions(self, request: HttpRequest) -> HttpResponse:
        """``GET``: every purpose's decision now for the request's subject (none: anonymous)."""
        response = JsonResponse(self.service.decisions(self.subject_id(request)))
        response["Cache-Control"] = "no-store"
        return response

    def urls(self) -> list[URLPattern]:
        """``consent`` (POST, CSRF-protected) and ``decisions`` (GET), for ``include()``."""
        return [
            path("consent", csrf_protect(require_POST(self.consent)), name="lawful-consent"),
            path("decisions", require_GET(self.decisions), name="lawful-decisions"),
        ]

    def decide(self, request: HttpRequest, purpose: str, *, vendor: str | None = None) -> Decision:
        """``may_process`` for the request's subject, now, on fresh data."""
        return self.service.decide(self.subject_id(request), purpose, vendor=vendor)

    def require(self, purpose: str, *, vendor: str | None = None) -> Callable[[View], View]:
        """A view decorator: the view runs only when ``purpose`` is allowed now; a denial
        answers 403 with ``{"detail": {"code", "purpose", "article", "reason"}}``.

        Raises:
            lawful.UnknownPurposeError: The policy has no such purpose (a typo fails at
                import, not on every request).
        """
        self.service.policy.purpose(purpose)

        def decorate(view: View) -> View:
            @functools.wraps(view)
            def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
                decision = self.decide(request, purpose, vendor=vendor)
                if not decision:
                    return JsonResponse(denial_body(decision), status=403)
                return view(request, *args, **kwargs)

            return wrapped

        return decorate

    def on_login(
        self,
        sender: object,  # noqa: ARG002 - the signal's sender, a user class
        request: HttpRequest,
        user: Any,
        **kwargs: object,  # noqa: ARG002 - Django passes signal keywords to every receiver
    ) -> None:
        """A ``user_logged_in`` receiver: carry the visitor's refusals to the account.

        Connect it once: ``user_logged_in.connect(consent.on_login)``. See
        :meth:`lawful.contrib.ConsentService.link` for what is carried and why a consent
        given before logging in is not.
        """
        anonymous_id = first_of([self.anonymous], request)
        if anonymous_id is not None and user is not None:
            self.service.link(anonymous_id, str(user.pk))

    def link(self, anonymous_id: str, user_id: str) -> None:
        """Carry the refusals recorded under ``anonymous_id`` over to ``user_id``."""
        self.service.link(anonymous_id, user_id)
