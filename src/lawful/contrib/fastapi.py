"""Consent for FastAPI (and Starlette) applications: ``pip install 'lawful[fastapi]'``.

>>> import lawful
>>> from lawful.ledger import MemoryLedger
>>> from lawful.contrib.fastapi import Integration
>>> consent = Integration(lawful.bundled_policy("piwik-pro"), MemoryLedger())
>>> [route.path for route in consent.router(prefix="/lawful").routes]
['/lawful/consent', '/lawful/decisions']

See ``docs/howto/fastapi.md``: the consent endpoint, the ``require`` dependency, where
the subject id comes from, cross-site request protection and linking at login. Ledger
work runs in a worker thread (:func:`anyio.to_thread.run_sync`), never on the event loop.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence

import anyio.to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

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

SubjectSource = Callable[[Request], str | None]
"""Finds the subject id of a request, or ``None``."""


def cookie(name: str = "lawful_subject") -> SubjectSource:
    """The subject id from a cookie (by default ``lawful_subject``, which the reference
    banner sets to a random UUID). Use an unguessable value: whoever knows it can
    record choices for it.
    """

    def source(request: Request) -> str | None:
        return request.cookies.get(name)

    return source


def header(name: str) -> SubjectSource:
    """The subject id from a request header. Only behind a gateway that authenticates
    the caller and sets the header itself: a browser can send any header it likes.
    """

    def source(request: Request) -> str | None:
        return request.headers.get(name)

    return source


def authenticated_user() -> SubjectSource:
    """The authenticated user's ``identity``, as Starlette's ``AuthenticationMiddleware``
    puts it in the request scope; ``None`` for an anonymous user or without the middleware.
    """

    def source(request: Request) -> str | None:
        user = request.scope.get("user")
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        identity = getattr(user, "identity", None)
        return identity if isinstance(identity, str) else None

    return source


DEFAULT_SUBJECT: tuple[SubjectSource, ...] = (authenticated_user(), cookie())
"""The logged-in user when there is one, else the ``lawful_subject`` cookie."""


def _problem(problem: RequestProblem) -> JSONResponse:
    return JSONResponse(problem.to_dict(), status_code=problem.status)


class Integration:
    """Consent endpoints and checks for one policy and one ledger.

    Args:
        policy: The policy to decide against; consents are stamped with its version.
        ledger: Where choices are recorded and read.
        subject: Where a request's subject id comes from: the first source that finds
            a valid id wins (:data:`DEFAULT_SUBJECT`: the logged-in user, else the
            ``lawful_subject`` cookie).
        clock: The current instant (timezone-aware); default: UTC now.
        subject_category: Accept consents only for purposes covering this data-subject
            category (such as ``visitor``); ``None`` for every purpose needing consent.
        allowed_origins: Origins besides the request's own that may post choices, such
            as ``https://www.example.com`` when a proxy terminates TLS.
    """

    def __init__(
        self,
        policy: Policy,
        ledger: ConsentLedger,
        *,
        subject: Sequence[SubjectSource] = DEFAULT_SUBJECT,
        clock: Clock = utc_now,
        subject_category: str | None = None,
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.service = ConsentService(policy, ledger, clock, subject_category)
        self.sources = tuple(subject)
        self.allowed_origins = frozenset(allowed_origins)

    def subject_id(self, request: Request) -> str | None:
        """The request's subject id from the configured sources; ``None`` when none has one."""
        return first_of(self.sources, request)

    def _cross_site(self, request: Request) -> RequestProblem | None:
        # A cross-site page can POST a form, but not with a JSON content type without
        # a CORS preflight this app never answers; and a browser always says where a
        # POST comes from, in Origin (or at least Sec-Fetch-Site).
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return RequestProblem(
                415, "unsupported_media_type", "send the choices as application/json"
            )
        origin = request.headers.get("origin")
        if origin is None:
            if request.headers.get("sec-fetch-site") == "same-origin":
                return None
            return RequestProblem(
                403, "cross_origin", "the request says neither its Origin nor Sec-Fetch-Site"
            )
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin == own or origin in self.allowed_origins:
            return None
        return RequestProblem(403, "cross_origin", f"origin {origin!r} may not post choices")

    async def consent(self, request: Request) -> JSONResponse:
        """``POST``: record ``{"choices": {"<purpose>": "accept" | "reject"}}``.

        Answers 200 with every decision now (``{"decisions": {...}}``); 400 for a
        request without a subject id or with a body that names an unknown purpose, a
        purpose that needs no consent, or another choice; 403 cross-origin; 415 not JSON.
        """
        problem = self._cross_site(request)
        if problem is not None:
            return _problem(problem)
        subject_id = self.subject_id(request)
        if subject_id is None:
            return _problem(
                RequestProblem(400, "no_subject", "the request names no subject to record for")
            )
        parsed = self.service.parse(await request.body())
        if isinstance(parsed, RequestProblem):
            return _problem(parsed)
        answer = await anyio.to_thread.run_sync(self.service.record, subject_id, parsed)
        return JSONResponse(answer)

    async def decisions(self, request: Request) -> JSONResponse:
        """``GET``: every purpose's decision now for the request's subject (none: anonymous)."""
        subject_id = self.subject_id(request)
        answer = await anyio.to_thread.run_sync(self.service.decisions, subject_id)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    def router(self, *, prefix: str = "") -> APIRouter:
        """``POST {prefix}/consent`` and ``GET {prefix}/decisions``, to include in an app."""
        router = APIRouter(prefix=prefix)
        router.add_api_route("/consent", self.consent, methods=["POST"], name="lawful-consent")
        router.add_api_route("/decisions", self.decisions, methods=["GET"], name="lawful-decisions")
        return router

    def require(
        self, purpose: str, *, vendor: str | None = None
    ) -> Callable[[Request], Awaitable[Decision]]:
        """A dependency that lets an endpoint run only when ``purpose`` is allowed now.

        It returns the :class:`lawful.Decision`; a denial raises 403 with
        ``{"detail": {"code", "purpose", "article", "reason"}}``.

        Raises:
            lawful.UnknownPurposeError: The policy has no such purpose (a typo fails at
                start-up, not on every request).
        """
        self.service.policy.purpose(purpose)
        decide = functools.partial(self.service.decide, purpose=purpose, vendor=vendor)

        async def dependency(request: Request) -> Decision:
            decision = await anyio.to_thread.run_sync(decide, self.subject_id(request))
            if not decision:
                raise HTTPException(status_code=403, detail=denial_body(decision)["detail"])
            return decision

        return dependency

    async def link(self, anonymous_id: str | None, user_id: str) -> None:
        """Carry the refusals recorded under ``anonymous_id`` over to ``user_id``; call it
        when a visitor logs in (see :meth:`lawful.contrib.ConsentService.link`).
        """
        if anonymous_id is not None:
            await anyio.to_thread.run_sync(self.service.link, anonymous_id, user_id)
