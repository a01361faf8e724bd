"""What every consent ledger offers: :class:`ConsentLedger`, and proof of consent."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

import attrs

from lawful._json import decision_to_dict, event_to_dict
from lawful.decision import Decision
from lawful.events import Erasure, Event
from lawful.ledger._chain import Head
from lawful.subject import Subject

__all__ = [
    "Appended",
    "BackupEntry",
    "ConsentLedger",
    "Proof",
    "ProofRecord",
    "Restored",
    "SubjectHistory",
]


@attrs.frozen
class BackupEntry:
    """One entry of a backup (:meth:`ConsentLedger.dump`), in chain order.

    Attributes:
        subject: The subject id of an event; ``None`` for an erasure, which the ledger
            keeps under the subject's keyed pseudonym only (Art. 17: no id survives it).
        event: The event as stored, with its id and ``recorded_at``.
        pseudonym: For an erasure, the subject's keyed pseudonym in hex.
        key_check: For an erasure, the ledger key's check value in hex: a restore under
            another key refuses it rather than lose it.
    """

    subject: str | None
    event: Event
    pseudonym: str | None = None
    key_check: str | None = None


@attrs.frozen
class Appended:
    """What :meth:`lawful.ledger.SQLiteLedger.append_batch_report` (every lawful ledger
    has it) did.

    Attributes:
        events: Every event as stored, in the order given, with its id and
            ``recorded_at``.
        new: For each event, whether this call stored it; ``False``: it was on record
            already (appends are idempotent by id), or erased, and nothing was written.
    """

    events: tuple[Event, ...]
    new: tuple[bool, ...]

    @property
    def added(self) -> int:
        """How many events this call stored."""
        return sum(self.new)

    @property
    def present(self) -> int:
        """How many were on record already (or erased), and skipped."""
        return len(self.new) - self.added


@attrs.frozen
class SubjectHistory:
    """One subject's events, as :meth:`lawful.ledger.SQLiteLedger.histories` yields them.

    Attributes:
        subject: The subject id; ``None`` when every record of the subject was erased
            (Art. 17: no id survives it) and only the erasure remains.
        pseudonym: The subject's keyed pseudonym in hex, as backups name erased subjects.
        events: The subject's events in recorded order, verified as by
            :meth:`ConsentLedger.subject`.
    """

    subject: str | None
    pseudonym: str
    events: tuple[Event, ...]


@attrs.frozen
class Restored:
    """What :meth:`ConsentLedger.restore` did.

    Attributes:
        added: Records added.
        present: Entries already stored (appends are idempotent by id).
        skipped: Events this ledger erased, never brought back.
    """

    added: int
    present: int
    skipped: int


@attrs.frozen
class ProofRecord:
    """One stored record that supports a decision.

    Attributes:
        seq: Its position in the chain.
        event: The event as stored: which consent, when (``at``), when the ledger
            recorded it (``recorded_at``), under which policy version and terms, and
            how it was expressed (``method``, ``explicit``).
        mac: Its chain MAC in hex; with the key and the records before it, anyone
            can check that it belongs to the chain up to an anchored head.
    """

    seq: int
    event: Event
    mac: str


@attrs.frozen
class Proof:
    """The records a ledger holds for a decision (Art. 7(1): demonstrate consent).

    Attributes:
        subject: The subject id.
        decision: The decision proved.
        records: The stored records of every event the decision's reasons cite,
            in chain order; empty for a decision that rests on the policy alone.
        head: The ledger's head when the proof was made (anchor it to date the proof).
    """

    subject: str
    decision: Decision
    records: tuple[ProofRecord, ...]
    head: Head

    def to_dict(self) -> dict[str, object]:
        """The stable JSON object of the proof."""
        return {
            "subject": self.subject,
            "decision": decision_to_dict(self.decision),
            "records": [
                {"seq": r.seq, "mac": r.mac, "event": event_to_dict(r.event)} for r in self.records
            ],
            "head": str(self.head),
        }


class ConsentLedger(Protocol):
    """An append-only, tamper-evident store of what each subject did.

    Appends are idempotent by event id (per subject): the same event appended twice is
    stored once, and an event without an id gets one derived from its content. The
    ledger stamps ``recorded_at`` with its own clock. Reads return events with the
    ledger's id and ``recorded_at``, timestamps in UTC.
    """

    def append(self, subject_id: str, event: Event) -> Event:
        """Store one event; returns it as stored (the stored copy if already there).

        Raises:
            EventError: The subject id is empty or an event cannot be serialised.
            LedgerConflictError: The id is stored for this subject with other content.
        """
        ...

    def append_batch(self, items: Iterable[tuple[str, Event]]) -> list[Event]:
        """Store ``(subject id, event)`` pairs in one transaction: all or none.

        An :class:`lawful.Erasure` among them erases its subject's earlier records,
        as :meth:`erase` does.

        Raises:
            EventError: A subject id is empty or an event cannot be serialised.
            LedgerConflictError: An id is stored for its subject with other content.
            LedgerError: The store failed; nothing was stored. (Or, after an erasure
                committed, its purge of old bytes could not finish: see :meth:`erase`.)
        """
        ...

    def subject(self, subject_id: str, *, categories: Iterable[str] | None = None) -> Subject:
        """The subject with every event the ledger holds for it (none: an empty history).

        Raises:
            LedgerIntegrityError: A record of the subject does not verify, or one is
                missing; the message names it. Decisions never rest on unverified bytes.
        """
        ...

    def events(self, subject_id: str) -> Iterator[Event]:
        """The subject's events in the order they were recorded, verified as by
        :meth:`subject`.
        """
        ...

    def erase(
        self, subject_id: str, *, at: datetime | None = None, keep_proof: bool | None = None
    ) -> Erasure:
        """Erase the subject's personal data (Art. 17); returns the erasure recorded.

        Every record of the subject stored so far loses its content; the fact and time of
        the erasure stay under the subject's keyed pseudonym, so a later read yields an
        :class:`lawful.Erasure` and decisions deny with ``ERASED``.

        Args:
            subject_id: Whose data.
            at: When the erasure takes effect (default: now, by the ledger's clock).
            keep_proof: Keep the consent records as proof for legal claims
                (Art. 17(3)(e)); ``None``: the ledger's default.

        Raises:
            LedgerError: The erasure committed, but another connection kept the store
                from purging the old bytes (SQLite: a busy WAL); purge again later.
        """
        ...

    def export(self, subject_id: str) -> str:
        """The subject's records as JSON Lines (Art. 15 access, Art. 20 portability)."""
        ...

    def dump(self) -> Iterator[BackupEntry]:
        """A complete backup, in chain order: every event, and every erasure under its
        subject's pseudonym; :meth:`restore` reads it back. The chain is verified first.

        Raises:
            LedgerIntegrityError: The chain does not verify.
        """
        ...

    def restore(self, entries: Iterable[BackupEntry]) -> Restored:
        """Load a backup in one transaction: into an empty ledger it gives the same
        decisions; into one that erased a subject since, erased events stay erased.

        Raises:
            EventError: An entry is malformed.
            LedgerKeyError: An erasure entry comes from a ledger with another key.
            LedgerIntegrityError: This ledger's head does not verify.
        """
        ...

    def proof(self, subject_id: str, decision: Decision) -> Proof:
        """The stored records of the events a decision cites (Art. 7(1)).

        Raises:
            LedgerError: A cited event is not in the ledger, or was erased.
        """
        ...

    def head(self) -> Head:
        """The current head: record count and last MAC, for the host to anchor."""
        ...

    def verify(self, *, expected_head: Head | None = None) -> Head:
        """Check every record and the head; returns the head.

        Args:
            expected_head: A head anchored earlier; the ledger must still contain it.

        Raises:
            LedgerIntegrityError: Naming the first broken record.
        """
        ...

    def close(self) -> None:
        """Release the store; the ledger cannot be used afterwards."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
