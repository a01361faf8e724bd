"""What the Django and Starlette integrations share: no web framework is imported here.

The integrations only translate requests and responses; every rule about what a
consent request may say, what is recorded and what is answered lives in
:class:`ConsentService`, so that both frameworks behave the same way and one set of
tests pins it (``tests/contrib/test_core.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Final, Literal, TypeVar

import attrs

from lawful._json import decision_to_dict
from lawful.decision import Decision
from lawful.events import (
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    Event,
    Objection,
    OptOut,
    ParentalConsentWithdrawn,
    TransferConsentWithdrawn,
)
from lawful.ledger import ConsentLedger
from lawful.model import LegalBasis, Purpose
from lawful.policy import Policy
from lawful.subject import Subject

__all__ = [
    "ANONYMOUS",
    "CHOICES",
    "Choice",
    "Clock",
    "ConsentService",
    "RequestProblem",
    "consent_purposes",
    "denial_body",
    "first_of",
    "needs_consent",
    "utc_now",
    "valid_subject_id",
]

Choice = Literal["accept", "reject"]
"""What a person may answer for one purpose: nothing else is accepted."""

CHOICES: Final = ("accept", "reject")
Clock = Callable[[], datetime]

ANONYMOUS: Final = "anonymous"
"""The id of the subject a request without one is decided for; never read from a ledger."""

_R = TypeVar("_R")
_MAX_ID = 256
_MAX_BODY = 64 * 1024

# The events that say "no": they follow a person who logs in (docs/howto/django.md).
_CARRIED: Final = (
    ConsentWithdrawn,
    Objection,
    OptOut,
    ParentalConsentWithdrawn,
    TransferConsentWithdrawn,
)


def utc_now() -> datetime:
    """The default clock of the integrations: the current instant, in UTC."""
    return datetime.now(UTC)


def needs_consent(purpose: Purpose) -> bool:
    """Whether a person's consent can decide ``purpose``: what a banner must ask.

    A purpose on consent (Art. 6(1)(a)), or one that reads or writes the person's device
    without being declared strictly necessary (ePrivacy Art. 5(3)). A purpose processed
    only on a client's behalf is the client's to ask (Art. 28).
    """
    if purpose.processor_only:
        return False
    if purpose.basis is LegalBasis.CONSENT:
        return True
    return purpose.device_access and not purpose.strictly_necessary


def consent_purposes(policy: Policy, *, subject_category: str | None = None) -> tuple[str, ...]:
    """The ids of the purposes of ``policy`` a banner asks about, in the policy's order.

    Args:
        policy: The policy.
        subject_category: Only purposes that cover this data-subject category (a purpose
            that lists none covers every category); ``None`` for all.
    """
    return tuple(
        p.id
        for p in policy.purposes
        if needs_consent(p)
        and (subject_category is None or not p.subjects or subject_category in p.subjects)
    )


def valid_subject_id(value: object) -> str | None:
    """``value`` if it can name a subject (a non-empty string of at most 256 printable
    characters), else ``None``: a malformed id is treated as no id.
    """
    if not isinstance(value, str) or not value or len(value) > _MAX_ID:
        return None
    if not value.isprintable() or value != value.strip():
        return None
    return value


@attrs.frozen
class RequestProblem:
    """Why a consent request is refused: the HTTP status and a JSON-ready body.

    Attributes:
        status: 400 (the body is wrong), 403 (a cross-origin request) or 415 (not JSON).
        code: A short stable code: ``invalid_request``, ``no_subject``, ``unknown_purpose``,
            ``not_a_consent_purpose``, ``invalid_choice``, ``cross_origin``,
            ``unsupported_media_type``.
        reason: A sentence for the developer reading the response.
    """

    status: int
    code: str
    reason: str

    def to_dict(self) -> dict[str, object]:
        """The response body: ``{"detail": {"code": ..., "reason": ...}}``."""
        return {"detail": {"code": self.code, "reason": self.reason}}


def _bad(code: str, reason: str) -> RequestProblem:
    return RequestProblem(400, code, reason)


@attrs.frozen
class ConsentService:
    """The policy, the ledger and the clock an integration answers with.

    Attributes:
        policy: The policy decisions are made against; consents are stamped with its
            version.
        ledger: Where consent events are recorded and read (any
            :class:`lawful.ledger.ConsentLedger`).
        clock: The current instant, timezone-aware; the library core reads no clock, the
            integration does. Default: :func:`utc_now`.
        subject_category: The data-subject category the banner serves (such as
            ``visitor``): consents are accepted for the purposes that cover it only.
            ``None`` accepts every purpose that needs consent.
    """

    policy: Policy
    ledger: ConsentLedger
    clock: Clock = utc_now
    subject_category: str | None = None

    @property
    def purposes(self) -> tuple[str, ...]:
        """The purposes a consent request may name (:func:`consent_purposes`)."""
        return consent_purposes(self.policy, subject_category=self.subject_category)

    def parse(self, body: bytes) -> dict[str, Choice] | RequestProblem:
        """The choices of a consent request body, or why it is refused.

        The body is a JSON object ``{"choices": {"<purpose id>": "accept" | "reject"}}``
        with at least one choice; each purpose must be one the banner asks about
        (:attr:`purposes`). Nothing else is accepted: an unknown purpose, a purpose that
        needs no consent, a choice other than the two words, an extra key.
        """
        if len(body) > _MAX_BODY:
            return _bad("invalid_request", f"the body is larger than {_MAX_BODY} bytes")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _bad("invalid_request", "the body is not JSON")
        if not isinstance(data, dict) or set(data) != {"choices"}:
            return _bad(
                "invalid_request", 'expected a JSON object {"choices": {"<purpose>": "accept"}}'
            )
        choices = data["choices"]
        if not isinstance(choices, dict) or not choices:
            return _bad("invalid_request", "choices: expected a non-empty object")
        allowed = self.purposes
        parsed: dict[str, Choice] = {}
        for purpose, choice in choices.items():
            if purpose not in self.policy.purpose_ids:
                return _bad("unknown_purpose", f"choices.{purpose}: the policy has no such purpose")
            if purpose not in allowed:
                return _bad(
                    "not_a_consent_purpose",
                    f"choices.{purpose}: not a purpose a consent is asked for",
                )
            if choice == "accept":
                parsed[purpose] = "accept"
            elif choice == "reject":
                parsed[purpose] = "reject"
            else:
                return _bad(
                    "invalid_choice",
                    f'choices.{purpose}: expected "accept" or "reject", got {choice!r}',
                )
        return parsed

    def events_for(self, choices: Mapping[str, Choice], at: datetime) -> list[Event]:
        """The events recording ``choices`` made at ``at``: a grant or a withdrawal each.

        A refusal is recorded as a withdrawal (Art. 7(3)): it ends an earlier consent
        and, with none, denies as much as no consent does.
        """
        events: list[Event] = []
        for purpose, choice in choices.items():
            if choice == "accept":
                events.append(
                    ConsentGiven(
                        at=at,
                        recorded_at=at,
                        purpose=purpose,
                        policy_version=self.policy.version,
                        method=ConsentMethod.BANNER,
                    )
                )
            else:
                events.append(ConsentWithdrawn(at=at, recorded_at=at, purpose=purpose))
        return events

    def record(self, subject_id: str, choices: Mapping[str, Choice]) -> dict[str, object]:
        """Record ``choices`` for ``subject_id`` (all or none) and answer every decision.

        Does I/O: run it off an event loop.
        """
        at = self.clock()
        stored = self.ledger.append_batch([(subject_id, e) for e in self.events_for(choices, at)])
        # The ledger stamps recorded_at with its own clock, and a grant takes effect no
        # earlier than it is recorded: answer as of the moment the record exists.
        answered = max([at, *(e.recorded_at for e in stored if e.recorded_at is not None)])
        return self.decisions_dict(self.ledger.subject(subject_id), answered)

    def subject(self, subject_id: str | None) -> Subject:
        """The subject's events from the ledger; without an id, a subject with none.

        An unknown visitor has given no consent: consent purposes deny (fail closed).
        Does I/O when there is an id.
        """
        if subject_id is None:
            return Subject(ANONYMOUS)
        return self.ledger.subject(subject_id)

    def decide(
        self, subject_id: str | None, purpose: str, *, vendor: str | None = None
    ) -> Decision:
        """``may_process`` for the subject, now, on fresh data. Does I/O."""
        return self.policy.may_process(
            self.subject(subject_id), purpose, self.clock(), vendor=vendor
        )

    def decisions(self, subject_id: str | None) -> dict[str, object]:
        """Every purpose's decision for the subject now, as JSON. Does I/O."""
        return self.decisions_dict(self.subject(subject_id), self.clock())

    def decisions_dict(self, subject: Subject, at: datetime) -> dict[str, object]:
        """``{"decisions": {purpose id: decision JSON}}`` (``lawful``'s decision form)."""
        decided = self.policy.decide_all(subject, at)
        return {"decisions": {pid: decision_to_dict(d) for pid, d in decided.items()}}

    def link(self, anonymous_id: str, user_id: str) -> list[Event]:
        """Carry what a visitor refused before logging in over to the user's own id.

        Every withdrawal, objection and opt-out recorded under ``anonymous_id`` is
        appended under ``user_id`` with its own instant, so a "no" always follows the
        person. A consent given anonymously is *not* carried over: whoever shares the
        browser is not necessarily the account holder, and the account's consent is
        asked for again. Appending is idempotent, so linking twice records nothing new.
        Does I/O.

        Returns:
            The events as stored under ``user_id``.
        """
        if anonymous_id == user_id:
            return []
        carried = [e for e in self.ledger.events(anonymous_id) if isinstance(e, _CARRIED)]
        return self.ledger.append_batch([(user_id, e) for e in carried])


def denial_body(decision: Decision) -> dict[str, object]:
    """The body of a 403 answer: ``{"detail": {"code", "purpose", "article", "reason"}}``."""
    return {
        "detail": {
            "code": decision.code.value,
            "purpose": decision.purpose,
            "article": decision.reason.article,
            "reason": decision.reason.message,
        }
    }


def first_of(sources: Iterable[Callable[[_R], str | None]], request: _R) -> str | None:
    """The first valid subject id any of ``sources`` finds in ``request``."""
    for source in sources:
        found = valid_subject_id(source(request))
        if found is not None:
            return found
    return None
