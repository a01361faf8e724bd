"""The answer to "may I process?": a :class:`Decision`, explained by :class:`Reason` values.

A denial is a value, never an exception. Every decision names the legal basis
it relied on (or would have), its reasons with the article each rests on, and
the event or policy clause that decided it.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import MemberDescriptorType
from typing import TYPE_CHECKING

import attrs

from lawful.model import LegalBasis

if TYPE_CHECKING:
    from lawful.events import Event

__all__ = ["Decision", "Operation", "Reason", "ReasonCode"]

_new = object.__new__


class Operation(enum.Enum):
    """What the host is about to do with the data."""

    COLLECT = "collect"
    """Collect it (Art. 4(2))."""
    STORE = "store"
    """Keep it stored: the only operation that survives a restriction (Art. 18(2))."""
    USE = "use"
    """Use it (the default)."""
    DISCLOSE = "disclose"
    """Disclose it to a recipient."""


class ReasonCode(enum.Enum):
    """Why a decision came out as it did. Closed: extended where the law needs, never shrunk."""

    CONSENT_GIVEN = "consent_given"
    """Art. 6(1)(a): a valid consent is in force."""
    NO_CONSENT = "no_consent"
    """Art. 6(1)(a): consent is needed and none is on record."""
    CONSENT_WITHDRAWN = "consent_withdrawn"
    """Art. 7(3): the latest consent event is a withdrawal (or a refusal, or an objection)."""
    CONSENT_EXPIRED = "consent_expired"
    """Art. 6(1)(a): the consent is older than the lifetime the policy's clause gives it
    (``purposes.<id>.consent_lifetime``); the GDPR itself sets no lifetime."""
    CONSENT_STALE = "consent_stale"
    """Art. 4(11): the current terms go beyond what the person consented to."""
    LEGITIMATE_INTEREST = "legitimate_interest"
    """Art. 6(1)(f): the controller's legitimate interest, declared and not objected to."""
    OBJECTED = "objected"
    """Art. 21: the person objected; absolute for direct marketing (Art. 21(3))."""
    COMPELLING_GROUNDS = "compelling_grounds"
    """Art. 21(1): the controller recorded compelling legitimate grounds overriding an objection."""
    CONTRACT = "contract"
    """Art. 6(1)(b): a contract with the person is in force."""
    NO_CONTRACT = "no_contract"
    """Art. 6(1)(b): no contract with the person is in force."""
    LEGAL_OBLIGATION = "legal_obligation"
    """Art. 6(1)(c): a legal obligation of the controller requires it."""
    VITAL_INTERESTS = "vital_interests"
    """Art. 6(1)(d): necessary to protect someone's vital interests."""
    PUBLIC_TASK = "public_task"
    """Art. 6(1)(e): necessary for a task in the public interest."""
    RESTRICTED = "restricted"
    """Art. 18(2): processing is restricted; only storage is allowed."""
    ERASED = "erased"
    """Art. 17(1): the data was erased, or the consent predates the erasure."""
    RETENTION_EXCEEDED = "retention_exceeded"
    """Art. 5(1)(e): the data is older than the purpose's retention limit."""
    PARENTAL_CONSENT_REQUIRED = "parental_consent_required"
    """Art. 8(1): a child's data needs the consent of a holder of parental responsibility."""
    BELOW_MINIMUM_AGE = "below_minimum_age"
    """Art. 8(1): the person is younger than the policy's minimum age (a rule of the policy,
    whose reason cites the clause ``age.minimum_age``: the GDPR sets no minimum)."""
    AGE_UNKNOWN = "age_unknown"
    """Art. 8(2): the policy denies until an age is on record."""
    UNKNOWN_PURPOSE = "unknown_purpose"
    """Art. 5(1)(b): the purpose is not declared (purpose limitation)."""
    VENDOR_NOT_DECLARED = "vendor_not_declared"
    """Art. 13(1)(e): the recipient is not declared for this purpose."""
    DATA_CATEGORY_NOT_DECLARED = "data_category_not_declared"
    """Art. 5(1)(c): the data category is not declared for this purpose (data minimisation)."""
    SUBJECT_NOT_COVERED = "subject_not_covered"
    """Art. 5(1)(b): the purpose does not cover this kind of data subject."""
    OPTED_OUT = "opted_out"
    """Art. 21(5): the person opted out, by a signal or a setting, of this purpose (on a
    consent purpose that is not direct marketing, a withdrawal: Art. 7(3))."""
    EXPLICIT_CONSENT_REQUIRED = "explicit_consent_required"
    """Art. 9(2)(a): special categories under this condition need explicit consent."""
    DEVICE_ACCESS_CONSENT_REQUIRED = "device_access_consent_required"
    """ePrivacy Directive Art. 5(3): reading or writing the device needs consent."""
    PROCESSOR_ONLY = "processor_only"
    """Art. 28(3)(a): the controller only processes this for its clients; the client decides."""
    TRANSFER_SAFEGUARD_MISSING = "transfer_safeguard_missing"
    """Art. 44, 46(1): a vendor outside the EEA has no stated safeguard, or its derogation's
    ground (such as explicit consent, Art. 49(1)(a)) is not met."""

    @property
    def article(self) -> str:
        """The article this code rests on by default."""
        return _ARTICLE_OF[self._value_]  # by value: an Enum member's own hash is slow

    @property
    def allows(self) -> bool:
        """Whether this code can be the primary reason of an allow."""
        return self in _ALLOWING


ARTICLES: dict[ReasonCode, str] = {
    ReasonCode.CONSENT_GIVEN: "Art. 6(1)(a)",
    ReasonCode.NO_CONSENT: "Art. 6(1)(a)",
    ReasonCode.CONSENT_WITHDRAWN: "Art. 7(3)",
    ReasonCode.CONSENT_EXPIRED: "Art. 6(1)(a)",
    ReasonCode.CONSENT_STALE: "Art. 4(11)",
    ReasonCode.LEGITIMATE_INTEREST: "Art. 6(1)(f)",
    ReasonCode.OBJECTED: "Art. 21(1)",
    ReasonCode.COMPELLING_GROUNDS: "Art. 21(1)",
    ReasonCode.CONTRACT: "Art. 6(1)(b)",
    ReasonCode.NO_CONTRACT: "Art. 6(1)(b)",
    ReasonCode.LEGAL_OBLIGATION: "Art. 6(1)(c)",
    ReasonCode.VITAL_INTERESTS: "Art. 6(1)(d)",
    ReasonCode.PUBLIC_TASK: "Art. 6(1)(e)",
    ReasonCode.RESTRICTED: "Art. 18(2)",
    ReasonCode.ERASED: "Art. 17(1)",
    ReasonCode.RETENTION_EXCEEDED: "Art. 5(1)(e)",
    ReasonCode.PARENTAL_CONSENT_REQUIRED: "Art. 8(1)",
    ReasonCode.BELOW_MINIMUM_AGE: "Art. 8(1)",
    ReasonCode.AGE_UNKNOWN: "Art. 8(2)",
    ReasonCode.UNKNOWN_PURPOSE: "Art. 5(1)(b)",
    ReasonCode.VENDOR_NOT_DECLARED: "Art. 13(1)(e)",
    ReasonCode.DATA_CATEGORY_NOT_DECLARED: "Art. 5(1)(c)",
    ReasonCode.SUBJECT_NOT_COVERED: "Art. 5(1)(b)",
    ReasonCode.OPTED_OUT: "Art. 21(5)",
    ReasonCode.EXPLICIT_CONSENT_REQUIRED: "Art. 9(2)(a)",
    ReasonCode.DEVICE_ACCESS_CONSENT_REQUIRED: "ePrivacy Directive Art. 5(3)",
    ReasonCode.PROCESSOR_ONLY: "Art. 28(3)(a)",
    ReasonCode.TRANSFER_SAFEGUARD_MISSING: "Art. 44, 46(1)",
}

_ARTICLE_OF = {code.value: article for code, article in ARTICLES.items()}

_ALLOWING = frozenset(
    {
        ReasonCode.CONSENT_GIVEN,
        ReasonCode.LEGITIMATE_INTEREST,
        ReasonCode.COMPELLING_GROUNDS,
        ReasonCode.CONTRACT,
        ReasonCode.LEGAL_OBLIGATION,
        ReasonCode.VITAL_INTERESTS,
        ReasonCode.PUBLIC_TASK,
    }
)


class _Renders:
    """The slot in which a reason made by :func:`lazy_reason` keeps how to write its
    message until it is first read: outside attrs' fields, so that it is no part of the
    value (equality, hashing, ``attrs.fields``, ``attrs.asdict``, pickling).
    """

    __slots__ = ("_render",)
    _render: tuple[Callable[..., str], tuple[object, ...]] | None


@attrs.frozen
class Reason(_Renders):
    """One reason for a decision.

    Attributes:
        code: The closed reason code.
        message: One human sentence.
        article: The GDPR (or ePrivacy) article it rests on.
        event: The event that decided it, if an event did.
        clause: The policy clause that decided it (``purposes.fraud_prevention.basis``),
            for bases and rules that need no event.
    """

    code: ReasonCode
    message: str
    article: str
    event: Event | None = None
    clause: str | None = None

    if not TYPE_CHECKING:  # typed, every unknown attribute would pass as Any

        def __getattr__(self, name: str) -> object:
            # Reached only for an empty slot: the message of a reason the engine made
            # with lazy_reason, written the first time it is read (equality, hashing,
            # repr, pickling and attrs.evolve all read it), and then kept.
            if name == "message":
                try:
                    render = _get_render(self, None)
                except AttributeError:  # made by hand: no message is pending
                    render = None
                if render is not None:
                    message: str = render[0](*render[1])
                    _set_message(self, message)  # first the message, then the pending
                    _set_render(self, None)  # render cleared: a reader sees one of them
                    return message
                try:  # another thread wrote it since this read found the slot empty
                    written: str = _get_message(self, None)
                except AttributeError:
                    pass
                else:
                    return written
            raise AttributeError(f"'Reason' object has no attribute '{name}'")


_get_message = Reason.__dict__["message"].__get__
_set_message = Reason.__dict__["message"].__set__
_get_render = _Renders.__dict__["_render"].__get__
_set_render = _Renders.__dict__["_render"].__set__
_reason_code = Reason.__dict__["code"].__set__
_reason_article = Reason.__dict__["article"].__set__
_reason_event = Reason.__dict__["event"].__set__
_reason_clause = Reason.__dict__["clause"].__set__


def lazy_reason(
    code: ReasonCode,
    article: str,
    event: Event | None,
    clause: str | None,
    render: Callable[..., str],
    *args: object,
) -> Reason:
    """A :class:`Reason` whose message is ``render(*args)``, written when first read.

    The engine's messages quote instants (``isoformat()`` costs more than the rest of a
    reason) and most callers read only ``allowed`` or ``code``; the message read is the
    same string the engine would have written at once. ``render`` must be a pure
    function of ``args``, and they immutable values, so that when it runs changes nothing.
    """
    reason: Reason = _new(Reason)
    _reason_code(reason, code)
    _reason_article(reason, article)
    _reason_event(reason, event)
    _reason_clause(reason, clause)
    _set_render(reason, (render, args))
    return reason


# No __weakref__ slot: with one, CPython refuses the class change make_decision relies on.
@attrs.frozen(weakref_slot=False)
class Decision:
    """Whether processing is allowed, and why.

    Attributes:
        allowed: The answer; also the decision's truth value.
        purpose: The purpose id asked about.
        at: The instant asked about, as given.
        basis: The legal basis relied on (or that would be), ``None`` when the purpose
            is unknown.
        reasons: The reasons, primary first.
        valid_until: The next instant at which the answer could change without a new
            event (an expiry, a retention limit, a birthday), or ``None``.
    """

    allowed: bool
    purpose: str
    at: datetime
    basis: LegalBasis | None
    reasons: tuple[Reason, ...]
    valid_until: datetime | None = None

    def __bool__(self) -> bool:
        return self.allowed

    @property
    def reason(self) -> Reason:
        """The primary reason."""
        return self.reasons[0]

    @property
    def code(self) -> ReasonCode:
        """The primary reason's code."""
        return self.reasons[0].code

    def explain(self) -> str:
        """A plain-English paragraph: the answer, the article, and what decided it."""
        from lawful._json import describe_event  # noqa: PLC0415 - keeps import cycles out

        verdict = "Allowed" if self.allowed else "Denied"
        head = f"{verdict}: processing for purpose '{self.purpose}' at {self.at.isoformat()}"
        if self.basis is not None:
            head += f" on the basis of {self.basis.article} ({self.basis.value.replace('_', ' ')})"
        parts = [head + "."]
        for index, reason in enumerate(self.reasons):
            lead = "Because" if index == 0 else "Also"
            text = f"{lead} ({reason.article}, {reason.code.value}): {reason.message}"
            if reason.event is not None:
                text += f" Decided by {describe_event(reason.event)}"
                text += f", under the policy clause {reason.clause}." if reason.clause else "."
            elif reason.clause is not None:
                text += f" Decided by the policy clause {reason.clause}."
            parts.append(text)
        if self.valid_until is not None:
            parts.append(
                f"This answer holds until {self.valid_until.isoformat()} "
                "unless a new event arrives."
            )
        return " ".join(parts)

    def to_dict(self) -> dict[str, object]:
        """The stable JSON form (see :doc:`/reference/json`)."""
        from lawful._json import decision_to_dict  # noqa: PLC0415 - keeps import cycles out

        return decision_to_dict(self)

    def to_json(self) -> str:
        """The stable JSON form as text, keys sorted."""
        return json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Decision:
        """Read back what :meth:`to_dict` wrote."""
        from lawful._json import decision_from_dict  # noqa: PLC0415 - keeps import cycles out

        return decision_from_dict(data)


def _slot(name: str) -> Callable[[Decision, object], None]:
    descriptor: MemberDescriptorType = Decision.__dict__[name]
    return descriptor.__set__


_set_allowed = _slot("allowed")
_set_purpose = _slot("purpose")
_set_at = _slot("at")
_set_basis = _slot("basis")
_set_reasons = _slot("reasons")
_set_valid_until = _slot("valid_until")


def _make_by_slots(
    allowed: bool,
    purpose: str,
    at: datetime,
    basis: LegalBasis | None,
    reasons: tuple[Reason, ...],
    valid_until: datetime | None,
) -> Decision:
    decision: Decision = _new(Decision)
    _set_allowed(decision, allowed)
    _set_purpose(decision, purpose)
    _set_at(decision, at)
    _set_basis(decision, basis)
    _set_reasons(decision, reasons)
    _set_valid_until(decision, valid_until)
    return decision


class _Draft:
    """A decision being filled in: Decision's slots without its frozen ``__setattr__``, so
    that plain assignments fill them; then its class is changed to Decision.
    """

    __slots__ = ("allowed", "at", "basis", "purpose", "reasons", "valid_until")

    def __init__(
        self,
        allowed: bool,
        purpose: str,
        at: datetime,
        basis: LegalBasis | None,
        reasons: tuple[Reason, ...],
        valid_until: datetime | None,
    ) -> None:
        self.allowed = allowed
        self.purpose = purpose
        self.at = at
        self.basis = basis
        self.reasons = reasons
        self.valid_until = valid_until


def _make_by_class_change(
    allowed: bool,
    purpose: str,
    at: datetime,
    basis: LegalBasis | None,
    reasons: tuple[Reason, ...],
    valid_until: datetime | None,
) -> Decision:
    draft = _Draft(allowed, purpose, at, basis, reasons, valid_until)
    draft.__class__ = Decision  # type: ignore[assignment]  # same slots: CPython allows it
    return draft  # type: ignore[return-value]


def _fastest_maker() -> Callable[
    [bool, str, datetime, LegalBasis | None, tuple[Reason, ...], datetime | None], Decision
]:
    """The class change where this Python allows it and it builds the same value."""
    probe = (True, "probe", datetime(2000, 1, 1, tzinfo=UTC), None, (), None)
    try:
        made = _make_by_class_change(*probe)
    except TypeError:  # pragma: no cover - another Python's object layout rules
        return _make_by_slots
    if type(made) is Decision and made == _make_by_slots(*probe):
        return _make_by_class_change
    return _make_by_slots  # pragma: no cover - as above


make_decision = _fastest_maker()
"""Build a :class:`Decision` without attrs' ``__init__``: the hot path builds one per call,
from fields already of the right types, so the generated initialiser's checks would only
cost time. The draft's class change costs a third of setting six frozen slots one by one.
"""

DRAFTS_BECOME_DECISIONS = make_decision is _make_by_class_change
"""Whether a :class:`_Draft` may become a Decision here (the engine inlines it)."""
