"""Every exception lawful raises, under one root.

A *denial* is never an exception: :func:`lawful.may_process` returns a
:class:`lawful.Decision` whose ``allowed`` is false. Exceptions are for caller
mistakes and bad input: a naive datetime, an invalid policy, a corrupt signal,
a broken ledger. Each concrete error also inherits the builtin it resembles, so
``except ValueError`` keeps working in code that does not know lawful.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

__all__ = [
    "DurationError",
    "EventError",
    "EventTypeError",
    "InputLimitError",
    "InstantError",
    "LawfulError",
    "LedgerConflictError",
    "LedgerError",
    "LedgerIntegrityError",
    "LedgerKeyError",
    "NaiveDatetimeError",
    "PolicyError",
    "PolicyTypeError",
    "Problem",
    "QueryError",
    "SignalError",
    "TableError",
    "UncompiledPurposeError",
    "UnknownPurposeError",
]


class LawfulError(Exception):
    """The root of every exception lawful raises on purpose."""


class NaiveDatetimeError(LawfulError, ValueError):
    """A datetime without a time zone reached lawful.

    lawful never guesses a zone: attach one (``datetime(..., tzinfo=UTC)`` or
    ``datetime.now(UTC)``). The message names the argument or field.
    """

    def __init__(self, where: str) -> None:
        self.where = where
        super().__init__(
            f"{where}: naive datetime; attach a time zone "
            "(for example tzinfo=datetime.UTC) - lawful never guesses one"
        )


class InstantError(LawfulError, TypeError, ValueError):
    """Something given as an instant is not one lawful can use: not a datetime at all, a
    time zone that fails, or an aware datetime outside UTC's years 1 to 9999
    (``9999-12-31T23:59-23:59``). A ``TypeError`` and a ``ValueError`` both, as the
    builtins raise one or the other for these; the message names the argument or field.
    """


class DurationError(LawfulError, ValueError):
    """A duration is malformed: text that is neither ``"60 months"`` nor ISO ``"P60M"``, a
    part over a million, or a :class:`lawful.Duration` built with a negative or non-integer
    part.
    """


@attrs.frozen
class Problem:
    """One problem found in a policy.

    Attributes:
        path: Dotted path to the offending field, such as
            ``purposes.ab_testing.vendors[0]``; empty for the whole policy.
        message: What is wrong, in one sentence.
        severity: ``"error"`` (the policy is refused) or ``"warning"``
            (reported by ``lawful check``; an error under ``--strict``).
    """

    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.path or "policy"
        return f"{where}: {self.message}"


class PolicyError(LawfulError, ValueError):
    """A policy is invalid; ``problems`` lists every problem found at once.

    Raised by :func:`lawful.load_policy`, :func:`lawful.loads_policy`,
    :meth:`lawful.Policy.from_dict` and the :class:`lawful.Policy` constructor
    alike, so a mistake gets the same message however the policy was built.
    """

    def __init__(self, problems: Sequence[Problem], source: str | None = None) -> None:
        self.problems = tuple(problems)
        self.source = source
        head = f"invalid policy {source}" if source else "invalid policy"
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{head} ({len(self.problems)} problem(s)):\n{lines}")


class QueryError(LawfulError, ValueError):
    """A decision was asked with arguments that cannot describe real processing
    (data collected after the instant of processing).
    """


class UnknownPurposeError(LawfulError, KeyError):
    """:meth:`lawful.Policy.purpose` was asked for an id the policy does not declare."""


class UncompiledPurposeError(LawfulError, TypeError):
    """:func:`lawful.may_process` was given a :class:`lawful.Purpose` that no policy
    compiled: it lacks the policy's rules (age, versions, transfers, opt-out scopes), so
    it is refused rather than decided without them. Take the purpose from the policy
    (``policy.purpose("analytics")``), or decide with ``policy.may_process``.
    """


class PolicyTypeError(PolicyError, TypeError):
    """A policy object (a :class:`lawful.Vendor`, :class:`lawful.Purpose`, ...) was built in
    Python with a value of the wrong type: ``None``, bytes or ``1`` where a string or
    ``True`` is expected. ``problems`` names the field (``vendor.outside_eea``).
    """


class EventError(LawfulError, ValueError):
    """An event (or a line of an events file) is malformed.

    The message names where: ``events.jsonl:3: consent_given.at: ...``. Raised where the
    event is made (its constructor) or read (JSON, JSON Lines), so a malformed event never
    reaches a decision.
    """


class EventTypeError(EventError, TypeError):
    """An event was built with a value of the wrong type (``purpose=None`` on a consent,
    ``explicit="no"``, ``at_least=17.5``); the message names the field.
    """


class TableError(LawfulError, ValueError):
    """A table given to :mod:`lawful.tables` cannot be decided on as it is: a column is
    missing or of the wrong type, or a row holds a value no decision can use (a null
    subject or collection time). The message names the column and, where one is to
    blame, the row (``hits[12].collected_at``, rows counted from 0).
    """


class InputLimitError(LawfulError, ValueError):
    """Input went past a reader's bound: a file, a line or a document too large, nesting
    too deep, a number with too many digits. The message names ``source:line`` and the
    limit; every limit is documented and can be raised by keyword.
    """


class SignalError(LawfulError, ValueError):
    """A consent signal (TC string, GPC header, Consent Mode or Consent Manager
    payload) is malformed, truncated, or too large; the message says what and where.
    """


class LedgerError(LawfulError, RuntimeError):
    """A ledger operation failed (bad key, unknown schema version, closed store)."""


class LedgerIntegrityError(LedgerError):
    """Raised where a ledger's hash chain or anchored head does not verify.

    ``record`` is the 1-based position of the first broken record (``None`` when no
    single record is to blame); ``problems`` lists every problem found, first first.
    """

    def __init__(
        self, message: str, *, record: int | None = None, problems: Sequence[str] = ()
    ) -> None:
        self.record = record
        self.problems = tuple(problems) or (message,)
        super().__init__(message)


class LedgerKeyError(LedgerError, ValueError):
    """A ledger key is missing, shorter than 32 bytes, or not the key this ledger was
    created with (raised when the ledger is opened, before anything is written).
    """


class LedgerConflictError(LedgerError, ValueError):
    """An append reused a stored event id for different content: idempotent appends
    store the same event once, but never let one id name two facts.
    """
