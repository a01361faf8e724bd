"""A sharded PostgreSQL ledger, shard by shard: verifying it and re-sealing a single chain.

Verification streams each shard through a server-side cursor in a snapshot of its own
(so no snapshot lasts longer than one shard's scan), optionally several shards at once,
and can resume from a head it returned earlier: a head lists every shard's record count,
so it is a checkpoint (see ``docs/postgres.md``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Sequence

from lawful.exceptions import LedgerError, LedgerIntegrityError
from lawful.ledger._chain import (
    GENESIS,
    Head,
    LedgerKey,
    Record,
    RecordKind,
    canonical,
    decode,
    head_name,
    shard_of,
    shard_seq,
    shards_hash,
)
from lawful.ledger._pgschema import RESHARD
from lawful.ledger._pgstore import PostgresStore
from lawful.ledger._pgview import Reader, Writer
from lawful.ledger._pgworkers import Task, WorkerFailure, run_workers
from lawful.ledger._verify import ChainVerifier, check_record, pack_head, raise_problems

__all__ = ["ShardResult", "reshard", "verify_shard", "verify_shards"]

ShardResult = tuple[int, bytes, bytes | None]
"""A verified shard: its record count, its last MAC, and the MAC at the anchored count."""

Problems = list[tuple[int | None, str]]


def _at(key: LedgerKey, reader: Reader, shard: int, pos: int) -> bytes:
    """The MAC of record ``pos`` of a shard, the record checked alone (0: the genesis)."""
    if pos == 0:
        return GENESIS
    seq = shard_seq(shard, pos, reader.shards)
    found = reader.at([seq]).get(seq)
    if found is None:
        raise LedgerIntegrityError(
            f"record {seq}: missing (named by the checkpoint or anchored head)", record=seq
        )
    check_record(key, found, shards=reader.shards)
    return found.mac


def verify_shard(
    key: LedgerKey,
    reader: Reader,
    shard: int,
    *,
    since: int = 0,
    anchor: int | None = None,
) -> ShardResult:
    """Verify one shard (its records after record ``since`` of it) in ``reader``'s snapshot.

    Raises:
        LedgerIntegrityError: The shard does not verify; every problem is listed, each
            naming its record, and the message names the shard.
    """
    shards = reader.shards
    try:
        start = (since, _at(key, reader, shard, since))
        verifier = ChainVerifier(key, shards=shards, shard=shard, since=start, anchor=anchor)
        for record in reader.shard_scan(shard, verifier.since_seq):
            verifier.feed(record)
        verifier.subject_heads(reader.shard_heads(shard, verifier.since_seq))
        if since:
            listed = [seq for seq, _, _ in verifier.pending_erased]
            verifier.resolve(
                reader.newest_before(list(verifier.pending_links), verifier.since_seq),
                reader.at(listed) if listed else {},
            )
        head = verifier.finish(reader.meta(head_name(shard, shards)))
        anchored = verifier.anchor_mac
        if anchor is not None and anchored is None and anchor < since:
            anchored = _at(key, reader, shard, anchor)
    except LedgerIntegrityError as exc:
        if shards == 1:
            raise
        texts = [f"shard {shard}: {text}" for text in exc.problems or [str(exc)]]
        raise LedgerIntegrityError(texts[0], record=exc.record, problems=texts) from None
    return head.count, bytes.fromhex(head.hash), anchored


def _counts(head: Head | None, shards: int, what: str) -> list[int] | None:
    """A head's record count per shard, refusing a head of another layout."""
    if head is None:
        return None
    # An anchored head of another layout: not this ledger's (or from before a migration).
    error = LedgerIntegrityError if what == "expected_head" else LedgerError
    if shards == 1:
        if head.shards:
            raise error(f"{what}: a sharded ledger's head, and this ledger has one chain")
        return [head.count]
    if len(head.shards) != shards:
        raise error(
            f"{what}: a head of {len(head.shards) or 1} chain(s), and this ledger has "
            f"{shards} shards"
        )
    return list(head.shards)


def _combine(heads: Sequence[tuple[int, bytes]]) -> Head:
    if len(heads) == 1:
        return Head(heads[0][0], heads[0][1].hex())
    counts = tuple(count for count, _ in heads)
    return Head(sum(counts), shards_hash(heads).hex(), counts)


def verify_shards(
    key: LedgerKey,
    store: PostgresStore,
    *,
    expected_head: Head | None = None,
    since: Head | None = None,
    workers: int = 1,
    reader: Reader | None = None,
) -> Head:
    """Verify every shard; see :meth:`lawful.ledger.postgres.PostgresLedger.verify`.

    With ``reader``, every shard is verified in its snapshot, one after the other.
    """
    shards = store.shards
    anchors = _counts(expected_head, shards, "expected_head")
    starts = _counts(since, shards, "since") or [0] * shards

    def one(shard: int, view: Reader) -> ShardResult:
        anchor = None if anchors is None else anchors[shard]
        return verify_shard(key, view, shard, since=starts[shard], anchor=anchor)

    def alone(shard: int) -> ShardResult:
        with store.reading() as view:
            return one(shard, view)

    run: Callable[[int], ShardResult] = alone
    if reader is not None:
        view = reader

        def run(shard: int) -> ShardResult:
            return one(shard, view)

    if since is not None:
        if reader is None:
            with store.reading() as view:
                check_since(key, view, since)
        else:
            check_since(key, reader, since)
    failed: list[LedgerIntegrityError] = []
    results: dict[int, ShardResult] = {}
    if workers > 1 and reader is None and shards > 1:
        # Processes, not threads: the checking holds the interpreter's lock (_pgworkers).
        tasks = [
            (shard, starts[shard], None if anchors is None else anchors[shard])
            for shard in range(shards)
        ]
        for shard, outcome in sorted(_in_workers(key, store, tasks, workers).items()):
            if not isinstance(outcome, WorkerFailure):
                results[shard] = outcome
            elif outcome.integrity:
                failed.append(
                    LedgerIntegrityError(
                        str(outcome), record=outcome.record, problems=outcome.problems
                    )
                )
            else:
                raise LedgerError(f"{store.where}: shard {shard}: {store.scrub(str(outcome))}")
    else:
        for shard in range(shards):
            try:
                results[shard] = run(shard)
            except LedgerIntegrityError as exc:
                failed.append(exc)
    if failed:
        # Every shard's problems, the shard with the lowest broken record first.
        failed.sort(key=lambda e: (e.record is None, e.record or 0))
        texts = [text for error in failed for text in error.problems]
        more = f" (and {len(texts) - 1} more problem(s))" if len(texts) > 1 else ""
        raise LedgerIntegrityError(texts[0] + more, record=failed[0].record, problems=texts)
    problems: Problems = []
    _check_anchored(results, expected_head, since, problems)
    raise_problems(problems)
    return _combine([(results[s][0], results[s][1]) for s in range(shards)])


def _in_workers(
    key: LedgerKey, store: PostgresStore, tasks: Sequence[Task], workers: int
) -> dict[int, ShardResult | WorkerFailure]:
    """Each task's shard verified in one of ``workers`` processes (see _pgworkers)."""
    setup: dict[str, object] = {
        "dsn": store.dsn,
        "schema": store.schema,
        "shards": store.shards,
        "key": [key.chain.hex(), key.subject.hex(), key.event_id.hex(), key.check.hex()],
        "enabled": store.crypt.enabled,
        "plaintext": store.crypt.plaintext,
    }
    try:
        # The workers' connections count against the ledger's max_connections.
        with store.reserved(min(workers, len(tasks))) as room:
            return run_workers(setup, tasks, room)
    except OSError as exc:
        raise LedgerError(
            f"{store.where}: verify workers failed ({store.scrub(str(exc))}); "
            "verify(workers=1) checks every shard in this process"
        ) from None


def _check_anchored(
    results: dict[int, ShardResult], expected: Head | None, since: Head | None, out: Problems
) -> None:
    shards = len(results)
    for head, what in ((expected, "anchored head"), (since, "checkpoint")):
        if head is None:
            continue
        counts = [head.count] if shards == 1 else list(head.shards)
        for shard, wanted in enumerate(counts):
            have = results[shard][0]
            if wanted > have:
                where = "" if shards == 1 else f"shard {shard}: "
                first = shard_seq(shard, have + 1, shards)
                out.append((first, f"{where}missing: the {what} says {wanted} records"))
        if out:
            return
    if expected is not None:
        macs = [results[s][2] or GENESIS for s in range(shards)]
        counts = [expected.count] if shards == 1 else list(expected.shards)
        found = _combine(list(zip(counts, macs, strict=True)))
        if not hmac.compare_digest(found.hash, expected.hash.lower()):
            out.append(
                (expected.count if shards == 1 else None, "does not match the anchored head")
            )


def check_since(key: LedgerKey, reader: Reader, since: Head) -> None:
    """Refuse a checkpoint that is not a head of this ledger: the records at its counts must
    hash to it (each checked alone).

    Raises:
        LedgerIntegrityError: It does not match (records before it were changed, or it
            is another ledger's).
    """
    counts = _counts(since, reader.shards, "since") or []
    macs = [_at(key, reader, shard, count) for shard, count in enumerate(counts)]
    found = _combine(list(zip(counts, macs, strict=True)))
    if not hmac.compare_digest(found.hash, since.hash.lower()):
        raise LedgerIntegrityError(
            "the checkpoint does not match this ledger: records before it changed, or it "
            "is another ledger's head"
        )


def reshard(key: LedgerKey, writer: Writer) -> None:
    """Re-seal a single chain (a version 2 ledger) in the writer's shards, every shard locked.

    The chain is verified first by its own rules (as one chain); then each record gets its
    position in its subject's shard, links and erasure lists follow the new positions
    (an erasure record's payload lists positions, so its digest is computed again: its
    nonce is kept, an erasure record is never erased), and every MAC, subject head and
    shard head is sealed again. All in the writer's one transaction.

    Raises:
        LedgerIntegrityError: The chain does not verify; nothing is changed.
    """
    shards = writer.shards
    verifier = ChainVerifier(key)
    records: list[Record] = []
    for record in writer.scan():
        verifier.feed(record)
        records.append(record)
    verifier.subject_heads(writer.subject_heads())
    verifier.finish(writer.meta(head_name(0, 1)))
    counts = [0] * shards
    moved: dict[int, int] = {}
    for record in records:
        shard = shard_of(record.subject_tag, shards)
        counts[shard] += 1
        moved[record.seq] = shard_seq(shard, counts[shard], shards)
    prev = [GENESIS] * shards
    last: dict[bytes, tuple[int, bytes]] = {}
    out: list[Record] = []
    for record in records:
        seq = moved[record.seq]
        shard = (seq - 1) % shards
        link = moved[record.link] if record.link else 0
        payload, digest = record.payload, record.digest
        if record.kind is RecordKind.ERASURE and record.nonce is not None:
            decoded = decode(record)
            payload = canonical(
                None,
                decoded.event,
                erased=[moved[n] for n in decoded.erased],
                kept=[moved[n] for n in decoded.kept],
            )
            digest = hashlib.sha256(record.nonce + payload).digest()
        tag = record.subject_tag
        mac = key.mac(prev[shard], seq, record.kind, tag, record.id_tag, digest, link)
        out.append(
            Record(seq, record.kind, tag, record.id_tag, record.nonce, payload, digest, mac, link)
        )
        prev[shard] = mac
        last[tag] = (seq, mac)
    out.sort(key=lambda r: r.seq)
    writer.replace_all(out)
    for tag, (seq, mac) in last.items():
        writer.set_subject_head(tag, seq, key.subject_seal(tag, seq, mac))
    for shard in range(shards):
        writer.set_meta(
            head_name(shard, shards), pack_head(key, counts[shard], prev[shard], shard, shards)
        )
    writer.drop_meta([RESHARD] if shards == 1 else [RESHARD, head_name(0, 1)])
