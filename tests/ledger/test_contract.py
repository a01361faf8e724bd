"""The contract every consent ledger keeps, run on each backend of ``BACKENDS``."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pytest
from tests.ledger._backends import OTHER_KEY, POLICY, T0, Backend

import lawful
from lawful import (
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Erasure,
    Event,
    Interaction,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    PurposeTerms,
    ReasonCode,
    RestrictionLifted,
    RestrictionRequested,
    event_to_dict,
    read_events,
)
from lawful.exceptions import (
    EventError,
    LedgerConflictError,
    LedgerError,
    LedgerIntegrityError,
    LedgerKeyError,
    NaiveDatetimeError,
)
from lawful.ledger import ConsentLedger, Head, MemoryLedger, Proof

CET = timezone(timedelta(hours=1))
AHEAD = datetime(2030, 3, 1, 9, tzinfo=UTC)
"""Ahead of every ledger clock (the tests' and a server's): a grant dated then counts from
its own instant, since it is on record before it (a record never back-dates a permission).
"""


def consent(n: int = 0, **changes: object) -> ConsentGiven:
    fields: dict[str, object] = {
        "at": T0 + timedelta(hours=n),
        "purpose": "analytics",
        "id": f"c-{n}",
        "policy_version": POLICY.version,
        "method": ConsentMethod.BANNER,
    }
    fields.update(changes)
    return ConsentGiven(**fields)  # type: ignore[arg-type]


EVERY_KIND: list[Event] = [
    ConsentGiven(
        at=T0,
        purpose="analytics",
        vendor="piwik-pro",
        policy_version="1",
        terms=PurposeTerms(
            "We count visits.", lawful.LegalBasis.CONSENT, frozenset({"a"}), frozenset({"b"})
        ),
        explicit=True,
        method=ConsentMethod.CHECKBOX,
    ),
    ConsentWithdrawn(at=T0, purpose="analytics", vendor="piwik-pro"),
    Objection(at=T0.astimezone(CET), purpose="fraud_prevention", automated=True),
    ObjectionWithdrawn(at=T0, purpose=None),
    ObjectionOverridden(at=T0, purpose="fraud_prevention", grounds="an ongoing attack"),
    RestrictionRequested(at=T0, ground="accuracy contested"),
    RestrictionLifted(at=T0),
    OptOut(at=T0, scope="all"),
    OptOutWithdrawn(at=T0, scope="all"),
    BirthDateDeclared(at=T0, birth_date=date(2000, 2, 29)),
    AgeDeclared(at=T0, at_least=16),
    ParentalConsentGiven(at=T0, purpose="analytics", guardian="a parent"),
    ParentalConsentWithdrawn(at=T0),
    ContractStarted(at=T0, contract="k-1"),
    ContractEnded(at=T0, contract="k-1"),
    Interaction(at=T0, kind="page_view", purpose="analytics"),
]


def without_stamps(event: Event) -> dict[str, object]:
    data = event_to_dict(event)
    data.pop("id", None)
    data.pop("recorded_at", None)
    data["at"] = event.at.astimezone(UTC).isoformat()
    return data


def test_backends_follow_the_protocol(backend: Backend) -> None:
    """Every backend's ledger is a ConsentLedger to the type checker and at run time."""
    ledger: ConsentLedger = backend.open()
    with ledger:
        head = ledger.head()
        assert head.count == 0
        assert ledger.verify() == head
        if not head.shards:
            assert head == Head(0, "0" * 64)


@pytest.mark.parametrize("event", EVERY_KIND, ids=lambda e: e.event_type)
def test_every_event_kind_reads_back_as_stored(backend: Backend, event: Event) -> None:
    """Each kind of event reads back with its fields, in UTC, with an id and recorded_at."""
    with backend.open() as ledger:
        stored = ledger.append("s-1", event)
        (read,) = ledger.events("s-1")
    assert read == stored
    assert without_stamps(read) == without_stamps(event)
    assert read.at.utcoffset() == timedelta(0)
    assert read.id is not None
    assert read.recorded_at == backend.clock.now


def test_the_ledger_stamps_recorded_at_with_its_clock(backend: Backend) -> None:
    """recorded_at is the ledger's, whatever the host wrote in the event."""
    with backend.open() as ledger:
        stored = ledger.append("s-1", consent(recorded_at=datetime(1999, 1, 1, tzinfo=UTC)))
    assert stored.recorded_at == backend.clock.now


@pytest.mark.parametrize("with_id", [True, False])
def test_appending_the_same_event_twice_stores_it_once(backend: Backend, with_id: bool) -> None:
    """Appends are idempotent by id; an event without one gets an id derived from its content."""
    event = consent() if with_id else consent(id=None)
    with backend.open() as ledger:
        first = ledger.append("s-1", event)
        again = ledger.append("s-1", event)
        batch = ledger.append_batch([("s-1", event), ("s-1", event)])
        assert again == first
        assert batch == [first, first]
        assert ledger.head().count == 1
        assert first.id == ("c-0" if with_id else first.id)
        assert first.id is not None


def test_a_batch_report_says_which_events_were_new(backend: Backend) -> None:
    """append_batch_report stores as append_batch does, and marks what was already there."""
    with backend.open() as ledger:
        ledger.append("s-1", consent(0))
        ledger.append("s-1", consent(1))
        ledger.erase("s-1", at=T0 + timedelta(days=1))
        ledger.append("s-2", consent(0))
        done = ledger.append_batch_report(
            [("s-2", consent(0)), ("s-2", consent(2)), ("s-2", consent(2)), ("s-1", consent(1))]
        )
        assert done.new == (False, True, False, False)
        assert (done.added, done.present) == (1, 3)
        assert [e.id for e in done.events] == ["c-0", "c-2", "c-2", "c-1"]
        assert ledger.head().count == 5
        assert ledger.append_batch_report([]).events == ()


def test_histories_yield_every_subject_once_erased_ones_by_pseudonym(backend: Backend) -> None:
    """histories() reads each subject's verified history; an erased one has no id left."""
    with backend.open() as ledger:
        ledger.append_batch([("s-1", consent(0)), ("s-2", consent(1)), ("s-1", consent(2))])
        ledger.append("s-3", consent(0))
        erasure = ledger.erase("s-3", at=T0 + timedelta(days=1))
        found = {h.subject: h for h in ledger.histories()}
        assert ledger.subject_count() == 3
    assert set(found) == {"s-1", "s-2", None}
    assert [e.id for e in found["s-1"].events] == ["c-0", "c-2"]
    assert found[None].events == (erasure,)
    assert len(found[None].pseudonym) == 64


def test_the_same_id_for_two_subjects_is_two_events(backend: Backend) -> None:
    """Idempotency is per subject: another subject's event with the same id is stored."""
    with backend.open() as ledger:
        ledger.append("s-1", consent())
        ledger.append("s-2", consent())
        assert ledger.head().count == 2


def test_an_id_reused_for_other_content_is_refused_and_the_batch_rolls_back(
    backend: Backend,
) -> None:
    """One id never names two facts, and a failing batch stores none of its events."""
    with backend.open() as ledger:
        ledger.append("s-1", consent())
        head = ledger.head()
        with pytest.raises(LedgerConflictError, match=r"'c-0'.*record 1"):
            ledger.append_batch([("s-1", consent(5)), ("s-1", consent(purpose="ab_testing"))])
        assert ledger.head() == head
        assert [e.id for e in ledger.events("s-1")] == ["c-0"]
        assert ledger.append("s-1", consent(5)).id == "c-5"
        assert ledger.verify().count == 2


@pytest.mark.parametrize("subject_id", ["", "\udc80"])
def test_a_bad_subject_id_is_refused_before_anything_is_written(
    backend: Backend, subject_id: str
) -> None:
    """An empty or unencodable subject id raises EventError and stores nothing."""
    with backend.open() as ledger:
        with pytest.raises(EventError, match="subject"):
            ledger.append_batch([("s-1", consent()), (subject_id, consent(1))])
        assert ledger.head().count == 0


def test_a_naive_clock_is_refused(backend: Backend) -> None:
    """The ledger never stamps a naive recorded_at."""
    ledger = backend.open(clock=lambda: datetime(2025, 1, 1))
    with ledger, pytest.raises(NaiveDatetimeError, match="ledger clock"):
        ledger.append("s-1", consent())


def test_the_subject_reads_back_for_decisions(backend: Backend) -> None:
    """A subject read from the ledger decides as the events it was given, as stored (with
    the recorded_at the ledger stamps; dated ahead of its clock, so each grant counts from
    its own instant).
    """
    events: list[Event] = [
        consent(0, at=AHEAD),
        ConsentWithdrawn(at=AHEAD + timedelta(days=2), purpose="analytics"),
    ]
    with backend.open() as ledger:
        stored = ledger.append_batch([("s-1", e) for e in reversed(events)])
        subject = ledger.subject("s-1", categories=["visitor"])
    assert subject.categories == frozenset({"visitor"})
    assert [e.event_type for e in subject.events] == ["consent_given", "consent_withdrawn"]
    for day, code in [(1, ReasonCode.CONSENT_GIVEN), (3, ReasonCode.CONSENT_WITHDRAWN)]:
        at = AHEAD + timedelta(days=day)
        direct = POLICY.may_process(lawful.Subject("s-1", stored), "analytics", at)
        assert POLICY.may_process(subject, "analytics", at).code is direct.code is code


def test_events_come_in_recorded_order_and_unknown_subjects_are_empty(backend: Backend) -> None:
    """events() follows the chain, not the instants; a subject never seen has no events."""
    with backend.open() as ledger:
        ledger.append("s-1", consent(5))
        ledger.append("s-2", consent(1))
        ledger.append("s-1", consent(2))
        assert [e.id for e in ledger.events("s-1")] == ["c-5", "c-2"]
        assert list(ledger.events("nobody")) == []
        assert ledger.subject("nobody").events == ()


def test_export_is_json_lines_that_read_back(backend: Backend) -> None:
    """A subject's export (Art. 15, 20) is JSON Lines of its events, readable by read_events."""
    with backend.open() as ledger:
        ledger.append_batch([("s-1", e) for e in EVERY_KIND[:5]])
        ledger.append("s-2", consent())
        text = ledger.export("s-1")
        assert list(read_events(text.splitlines())) == [("s-1", e) for e in ledger.events("s-1")]


def test_a_dump_restores_into_another_ledger(backend: Backend) -> None:
    """dump() and restore() copy a ledger without erasures, even under another key."""
    with backend.open() as ledger:
        ledger.append_batch([("s-1", consent(0)), ("s-2", consent(1)), ("s-1", consent(2))])
        dumped = list(ledger.dump())
    assert [entry.subject for entry in dumped] == ["s-1", "s-2", "s-1"]
    copy = MemoryLedger(key=OTHER_KEY)
    assert copy.restore(dumped).added == 3
    assert list(copy.events("s-1")) == [e.event for e in dumped if e.subject == "s-1"]


def test_several_threads_append_to_one_ledger(backend: Backend) -> None:
    """Threads sharing one ledger object lose nothing and keep the chain whole."""
    with backend.open() as ledger:

        def work(n: int) -> None:
            for i in range(50):
                ledger.append(f"s-{n}", consent(i, id=f"t{n}-{i}"))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert ledger.verify().count == 200
        assert all(len(list(ledger.events(f"s-{n}"))) == 50 for n in range(4))


# -- erasure (Art. 17) ---------------------------------------------------------------------


def personal_history() -> list[Event]:
    return [
        consent(0),
        BirthDateDeclared(at=T0, birth_date=date(1990, 5, 17), id="b-0"),
        Interaction(at=T0 + timedelta(hours=1), kind="page_view", id="i-0"),
        ParentalConsentGiven(at=T0, guardian="a parent", id="p-0"),
    ]


def test_erasure_leaves_only_the_fact_and_time_of_it(backend: Backend) -> None:
    """After erase(), the subject reads back as one Erasure and the chain still verifies."""
    with backend.open() as ledger:
        ledger.append_batch([("s-1", e) for e in personal_history()])
        ledger.append("s-2", consent())
        anchor = ledger.head()
        erasure = ledger.erase("s-1")
        assert ledger.subject("s-1").events == (erasure,)
        assert erasure.recorded_at == backend.clock.now
        assert ledger.export("s-1").count("\n") == 1
        assert [e.subject for e in ledger.dump()] == ["s-2", None]
        assert ledger.verify(expected_head=anchor).count == anchor.count + 1
        assert len(list(ledger.events("s-2"))) == 1


def test_decisions_deny_erased_data(backend: Backend) -> None:
    """Data collected before the erasure is never processed again (ERASED); new data needs
    a new consent.
    """
    with backend.open() as ledger:
        ledger.append("s-1", consent(0))
        erasure = ledger.erase("s-1", at=T0 + timedelta(days=1))
        subject = ledger.subject("s-1")
    later = T0 + timedelta(days=2)
    stored = POLICY.may_process(subject, "analytics", later, collected_at=T0)
    assert (stored.allowed, stored.code) == (False, ReasonCode.ERASED)
    assert stored.reasons[0].event == erasure
    at_erasure = POLICY.may_process(subject, "analytics", erasure.at)
    assert at_erasure.code is ReasonCode.ERASED
    assert not POLICY.may_process(subject, "analytics", later)


def test_erasure_keeps_proof_of_consent_only_when_asked(backend: Backend) -> None:
    """keep_proof keeps consent records for legal claims (Art. 17(3)(e)), nothing else."""
    with backend.open() as ledger:
        ledger.append_batch([("s-1", e) for e in personal_history()])
        ledger.erase("s-1", keep_proof=True)
        kept = [e.event_type for e in ledger.events("s-1")]
        decision = POLICY.may_process(ledger.subject("s-1"), "analytics", T0 + timedelta(days=400))
        ledger.erase("s-1", keep_proof=False)
        assert [e.event_type for e in ledger.events("s-1")] == ["erasure", "erasure"]
        ledger.verify()
    assert kept == ["consent_given", "parental_consent_given", "erasure"]
    assert decision.code is ReasonCode.ERASED


def test_a_ledger_may_keep_proof_by_default(backend: Backend) -> None:
    """A ledger opened with keep_proof=True keeps consent records on every erasure."""
    with backend.open(keep_proof=True) as ledger:
        ledger.append_batch([("s-1", e) for e in personal_history()])
        ledger.erase("s-1")
        assert next(ledger.events("s-1")).event_type == "consent_given"


def test_an_erasure_appended_as_an_event_erases(backend: Backend) -> None:
    """An Erasure in a batch erases what came before it for its subject, not what follows."""
    erasure = Erasure(at=T0 + timedelta(days=1), id="e-1")
    after = consent(48, id="c-after")
    with backend.open() as ledger:
        ledger.append("s-1", consent(0))
        ledger.append_batch([("s-1", consent(1)), ("s-1", erasure), ("s-1", after)])
        assert [e.id for e in ledger.events("s-1")] == ["e-1", "c-after"]
        ledger.verify()


def test_erased_events_are_not_brought_back_by_a_replay(backend: Backend) -> None:
    """Appending an erased event again (a retried message) stores nothing."""
    with backend.open() as ledger:
        ledger.append("s-1", consent(0))
        first = ledger.erase("s-1", at=T0 + timedelta(days=1))
        again = ledger.erase("s-1", at=T0 + timedelta(days=1))
        assert ledger.append("s-1", consent(0)).id == "c-0"
        assert list(ledger.events("s-1")) == [first]
        assert again == first


# -- proof of consent (Art. 7(1)) ----------------------------------------------------------


def test_proof_names_the_consent_record(backend: Backend) -> None:
    """The proof of an allowed consent decision is the stored consent, with version and method."""
    with backend.open() as ledger:
        ledger.append("s-2", consent(0))
        stored = ledger.append("s-1", consent(1, method=ConsentMethod.CHECKBOX, at=AHEAD))
        decision = POLICY.may_process(ledger.subject("s-1"), "analytics", AHEAD + timedelta(days=1))
        proof = ledger.proof("s-1", decision)
        head = ledger.head()
    assert decision.code is ReasonCode.CONSENT_GIVEN
    assert isinstance(proof, Proof)
    assert [r.event for r in proof.records] == [stored]
    seq = proof.records[0].seq
    if not head.shards:
        assert seq == 2  # one chain: the second record; shards number by shard
    assert proof.head == head
    data = proof.to_dict()
    assert data["head"] == str(head)
    assert data["records"] == [
        {"seq": seq, "mac": proof.records[0].mac, "event": event_to_dict(stored)}
    ]


def test_proof_works_for_events_without_ledger_ids(backend: Backend) -> None:
    """A subject built outside the ledger still finds its records (ids derive the same way)."""
    event = consent(0, id=None)
    with backend.open() as ledger:
        stored = ledger.append("s-1", event)
        decision = POLICY.may_process(lawful.Subject("s-1", [event]), "analytics", T0)
        assert [r.event for r in ledger.proof("s-1", decision).records] == [stored]


def test_a_decision_on_the_policy_alone_has_an_empty_proof(backend: Backend) -> None:
    """Bases that need no event (legitimate interest) are proved by the policy, not records."""
    with backend.open() as ledger:
        decision = POLICY.may_process(ledger.subject("s-1"), "fraud", T0)
        assert decision.allowed
        assert ledger.proof("s-1", decision).records == ()


def test_proof_of_a_missing_or_erased_record_is_an_error(backend: Backend) -> None:
    """A cited event that is not in the ledger, or was erased, cannot be proved."""
    decision = POLICY.may_process(lawful.Subject("s-1", [consent(0)]), "analytics", T0)
    with backend.open() as ledger:
        with pytest.raises(LedgerError, match="not in this ledger"):
            ledger.proof("s-1", decision)
        ledger.append("s-1", consent(0, method=ConsentMethod.API))
        with pytest.raises(LedgerError, match="differs"):
            ledger.proof("s-1", decision)
        ledger.erase("s-1")
        with pytest.raises(LedgerError, match="keep_proof=True"):
            ledger.proof("s-1", decision)


# -- head, verify, keys ----------------------------------------------------------------------


def test_an_anchored_head_verifies_while_the_ledger_grows(backend: Backend) -> None:
    """verify(expected_head) passes for any earlier head and fails for a foreign one."""
    with backend.open() as ledger:
        empty = ledger.head()
        assert ledger.verify(expected_head=empty) == empty
        ledger.append("s-1", consent(0))
        anchor = ledger.verify()
        ledger.append("s-1", consent(1))
        assert ledger.verify(expected_head=anchor).count == 2
        foreign = attrs.evolve(anchor, hash="ab" * 32)
        with pytest.raises(LedgerIntegrityError, match="does not match") as caught:
            ledger.verify(expected_head=foreign)
        if not anchor.shards:
            assert caught.value.record == 1
        # The anchor counted more records than the ledger holds (in the subject's shard).
        more = [n + 3 if n else 0 for n in anchor.shards]
        ahead = attrs.evolve(anchor, count=anchor.count + 3, shards=tuple(more))
        with pytest.raises(LedgerIntegrityError, match="missing") as caught:
            ledger.verify(expected_head=ahead)
        if not anchor.shards:
            assert caught.value.record == 3
        with pytest.raises(LedgerIntegrityError, match=r"0 records|does not match"):
            ledger.verify(expected_head=attrs.evolve(empty, hash="ab" * 32))


def test_a_persistent_ledger_refuses_another_key(backend: Backend) -> None:
    """Reopening with another key fails before anything is written."""
    if not backend.persistent:
        pytest.skip("nothing outlives a memory ledger")
    with backend.open() as ledger:
        ledger.append("s-1", consent())
    with pytest.raises(LedgerKeyError, match="not the key"):
        backend.open(key=OTHER_KEY)
    with backend.open() as ledger:
        assert ledger.verify().count == 1


@pytest.mark.parametrize("key", [b"short", "a" * 40])
def test_a_bad_key_is_refused(backend: Backend, key: bytes) -> None:
    """A key shorter than 32 bytes, or not bytes, is refused."""
    with pytest.raises(LedgerKeyError, match="ledger key"):
        backend.open(key=key)


def test_a_closed_ledger_refuses_work(backend: Backend) -> None:
    """Using a closed ledger raises LedgerError."""
    ledger = backend.open()
    ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        ledger.append("s-1", consent())
