"""The common case of :mod:`lawful.tables` decided column by column, in Arrow and DuckDB.

Most subjects of a real events table hold consent choices and page views, nothing else,
and most purposes asked about are consent purposes whose plan takes the engine's quick
path (``Plan.quick``: for such a subject no check but scope, retention and the consent
rule can deny). For those, a decision reads only the subject's consent choices for the
purpose, each of which Arrow can read as columns: the latest choice at an instant (none:
``no_consent``; a withdrawal: ``consent_withdrawn``; a grant: stale, expired, not explicit
or ``consent_given``, in that order, as ``_consent_quick`` and ``_judge`` say), and for
stored data the choice in force at collection and the last withdrawal
(docs/explanation/decision.md, step 9). So a timeline is one span per choice (two where a
consent expires), and a sweep's answer for a hit is an ASOF join against the choices,
which DuckDB runs over every subject at once, with no Python object per event or row.

A subject takes this path only where every row of it is one Arrow vouches for
(:func:`lawful.tables._arrow.unread`'s checks): a plainly good event the question does not
read, or a plainly good consent choice for the purpose, affirmative, with no terms of its
own, recorded in time, at an instant no other choice of it shares. Any other subject (an
objection, an erasure, an age, a bad row...) is decided by the engine as before; a purpose
whose plan reads more (contract, per-vendor consent, a retention counted from
interactions, ...) is never decided here. The laws of tests/properties/test_fast_laws.py
hold this path to the engine, row for row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import pyarrow as pa
import pyarrow.compute as pc

from lawful._engine import NEVER
from lawful._engine.consent import _consent, version_staleness
from lawful._engine.plan import plan_of
from lawful._engine.query import _after
from lawful._time import from_us, to_us
from lawful.decision import ReasonCode
from lawful.events import ConsentGiven, ConsentMethod, ConsentWithdrawn
from lawful.model import AfterCollection, NoPeriodStated, SpecialCategoryCondition
from lawful.policy import Policy
from lawful.subject import Subject
from lawful.tables._vouch import Reads, Vouched, plain, timestamp_us, unread

__all__ = [
    "CHOICES",
    "Choices",
    "FastPurpose",
    "bad_subjects",
    "choices",
    "fast_purpose",
    "retention_start",
    "span_pieces",
    "sweep_sql",
]

_FALSE = pa.scalar(False, pa.bool_())  # noqa: FBT003 - a scalar, not a flag
_AFFIRMATIVE_VALUES = tuple(m.value for m in ConsentMethod if m.affirmative)
_UTC_US = pa.timestamp("us", tz="UTC")


@attrs.frozen
class FastPurpose:
    """A purpose this path decides, with what its consent rule reads of a grant.

    Attributes:
        id: The purpose id.
        basis: Its legal basis's value (every row's ``basis``).
        stop_vendors: The vendors whose own withdrawals stop its purpose-wide consent.
        lifetime: Its consent lifetime, or ``None``.
        explicit: Whether its consent must be explicit (Art. 9(2)(a)).
        fresh_versions: The policy versions a consent given under, with no terms of its
            own, is not stale for.
        dated: The instants (microseconds) versions took effect, ascending, as the
            policy knows them (``PolicyContext.dated_versions``).
        stale_by_pos: For an unversioned consent after ``i`` of those instants, whether it
            is stale (index 0: before every one).
    """

    id: str
    basis: str
    stop_vendors: tuple[str, ...]
    lifetime: object
    explicit: bool
    fresh_versions: tuple[str, ...]
    dated: tuple[int, ...]
    stale_by_pos: tuple[bool, ...]


def fast_purpose(
    policy: Policy, pid: str, at: datetime, *, stored: bool, vendor: str | None = None
) -> FastPurpose | None:
    """The purpose ``pid`` as this path decides it, or ``None`` where its decisions read
    more than a quiet subject's consent choices (the engine decides them then).

    ``stored``: for a sweep (stored data, which also reads retention counted from the
    collection); ``at``: an instant to ask scope at (it reads no instant).
    """
    if vendor is not None or pid not in policy.purpose_ids:
        return None
    purpose = policy.purpose(pid)
    plan = plan_of(purpose)
    if (
        plan.basis is not _consent
        or plan.device
        or not plan.quick
        or purpose.processor_only
        or plan.scope_denial is not None
        or plan.unknown_denial is not None
        or plan.transfer_denial is not None
        or (purpose.per_vendor_consent and purpose.vendors)
    ):
        return None
    if stored:
        # A quiet subject's stored data: only retention from collection before the basis.
        if any(check.__name__ != "_retention" for check in plan.quiet_checks):
            return None
        if not all(
            isinstance(r, AfterCollection | NoPeriodStated) for r in purpose.retention.rules
        ):
            return None
    # Scope reads nothing but the subject's categories, which a table never gives: an
    # empty subject must meet the consent rule itself.
    if policy.may_process(Subject("-"), pid, at).code is not ReasonCode.NO_CONSENT:
        return None  # pragma: no cover - every denial of scope is one the plan knew
    ctx = purpose.context
    dated = tuple(t for t, _ in ctx.dated_versions)
    stale_by_pos = tuple(bool(version_staleness(ctx, None, t)) for t in (-NEVER, *dated))
    return FastPurpose(
        id=pid,
        basis=purpose.basis.value,
        stop_vendors=tuple(purpose.vendors),
        lifetime=purpose.consent_lifetime,
        explicit=purpose.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT,
        fresh_versions=tuple(v for v in ctx.stale if not version_staleness(ctx, v, 0)),
        dated=dated,
        stale_by_pos=stale_by_pos,
    )


def _text(column: Any) -> bool:
    kind = column.type
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _column(batch: pa.RecordBatch | pa.Table, name: str) -> Any:
    """A column, plain, or all nulls where the table has none."""
    if name in batch.schema.names:
        return plain(batch.column(name))
    return pa.nulls(batch.num_rows, pa.string())


def _instants_us(column: Any) -> Any:
    """Instants vouched for by :class:`Vouched` (ISO text or aware timestamps) in microseconds."""
    if isinstance(column.type, pa.TimestampType):
        return timestamp_us(column)[0]
    return column.cast(_UTC_US).cast(pa.int64())


def _is(column: Any, value: str) -> Any:
    return pc.fill_null(pc.equal(column, pa.scalar(value, column.type)), _FALSE)


def _among(column: Any, values: Sequence[str]) -> Any:
    return pc.fill_null(
        pc.is_in(column, value_set=pa.array(values, pa.string()).cast(column.type)), _FALSE
    )


_CHOICE_FIELDS: list[pa.Field[Any]] = [
    pa.field(name, kind)
    for name, kind in (
        ("subject", pa.string()),
        ("t", pa.int64()),
        ("grant", pa.bool_()),
        ("stale", pa.bool_()),
        ("explicit", pa.bool_()),
        ("x", pa.int64()),
    )
]
CHOICES = pa.schema(_CHOICE_FIELDS)
"""The consent choices this path reads, one row each: ``t`` when it takes effect
(microseconds), whether it is a ``grant``, and for a grant whether it is ``stale``,
``explicit``, and its expiry ``x`` (null: none)."""


@attrs.frozen
class Choices:
    """The consent choices of one batch this path reads, and the rows it vouches for.

    Attributes:
        ok: Per row: a row this path can do without the engine (see the module).
        read: The choices read (:data:`CHOICES`).
    """

    ok: Any
    read: pa.Table


def choices(batch: pa.RecordBatch | pa.Table, fast: FastPurpose) -> Choices:
    """The choices of ``batch`` (rows in the event shape) for ``fast``'s purpose."""
    n = batch.num_rows
    vouched = Vouched(batch)
    ignored = unread(batch, Reads(frozenset({fast.id}), interactions=False), vouched)
    ok: Any = pa.repeat(_FALSE, n) if ignored is None else ignored
    kinds = _column(batch, "type")
    purpose = _column(batch, "purpose")
    vendor = _column(batch, "vendor")
    if not (_text(kinds) and _text(purpose) and (_text(vendor) or vendor.null_count == n)):
        return Choices(ok, CHOICES.empty_table())
    if not _text(vendor):
        vendor = vendor.cast(pa.string())
    ours = _is(purpose, fast.id)
    wide = vendor.is_null()
    read: Any = pa.repeat(_FALSE, n)
    for cls in (ConsentGiven, ConsentWithdrawn):
        mask = pc.and_(ours, _is(kinds, cls.event_type))
        if pc.any(mask).as_py() is not True:
            continue
        good = pc.and_(mask, vouched.good(cls))
        if cls is ConsentGiven:
            # The consent rule reads a purpose-wide grant (a vendor's own is no consent to
            # the purpose), affirmative (Art. 4(11)), with no terms of its own (Vouched
            # vouches for none), recorded in time (else it takes effect when recorded).
            rule_reads = wide
            method = _column(batch, "method")
            affirmative = method.is_null()
            if _text(method):
                affirmative = pc.or_(affirmative, _among(method, _AFFIRMATIVE_VALUES))
            takes = pc.and_(pc.and_(good, wide), affirmative)
            if "recorded_at" in batch.schema.names:
                takes = pc.and_(takes, pc.invert(_late(batch, takes)))
        else:
            # A withdrawal for the purpose, or for a vendor it uses, stops its consent.
            rule_reads = pc.or_(wide, _among(vendor, fast.stop_vendors))
            takes = pc.and_(good, rule_reads)
        # A plainly good choice the rule never reads is left out, as unread does.
        ignored_here = pc.and_(good, pc.invert(rule_reads))
        ok = pc.or_(ok, pc.or_(takes, ignored_here))
        read = pc.or_(read, takes)
    if pc.any(read).as_py() is not True:
        return Choices(ok, CHOICES.empty_table())
    wanted = ["subject", "type", "at", "policy_version", "explicit"]
    rows = batch.select([name for name in wanted if name in batch.schema.names]).filter(read)
    grant = _is(plain(rows.column("type")), ConsentGiven.event_type)
    table = pa.table(
        {
            "subject": plain(rows.column("subject")).cast(pa.string()),
            "t": _instants_us(plain(rows.column("at"))),
        }
    )
    return Choices(
        ok, _judged(table, grant, _column(rows, "policy_version"), _column(rows, "explicit"), fast)
    )


def _late(batch: pa.RecordBatch | pa.Table, mask: Any) -> Any:
    """Per row (false outside ``mask``): a grant recorded after its ``at``, which takes
    effect when recorded (never back-dated): the engine's general path judges those.
    """
    rows = batch.select(["at", "recorded_at"]).filter(mask)
    at = _instants_us(plain(rows.column("at")))
    noted = plain(rows.column("recorded_at"))
    present = noted.is_valid()
    if pc.any(present).as_py() is not True:
        return pa.repeat(_FALSE, batch.num_rows)
    later = pc.greater(_instants_us(noted.filter(present)), at.filter(present))
    inside = pc.replace_with_mask(pa.repeat(_FALSE, rows.num_rows), present, later)
    return pc.replace_with_mask(mask, mask, inside)


def _judged(
    table: pa.Table, grant: Any, versions: Any, explicit: Any, fast: FastPurpose
) -> pa.Table:
    """The read choices with what the consent rule makes of each grant."""
    n = table.num_rows
    t = table.column("t")
    # Stale (Art. 4(11)): by the version given under, else by the version in force then.
    pos: Any = pa.repeat(pa.scalar(0, pa.int64()), n)
    for instant in fast.dated:
        pos = pc.add(pos, pc.greater_equal(t, pa.scalar(instant, pa.int64())).cast(pa.int64()))
    undated = pa.array(fast.stale_by_pos, pa.bool_()).take(pos)
    if not _text(versions):
        versions = versions.cast(pa.string())
    versioned = pc.invert(
        pc.is_in(versions, value_set=pa.array(fast.fresh_versions, pa.string()).cast(versions.type))
    )
    stale = pc.if_else(versions.is_valid(), versioned, undated)
    if not pa.types.is_boolean(explicit.type):
        explicit = explicit.cast(pa.bool_())
    return pa.table(
        [
            table.column("subject"),
            t,
            grant,
            pc.and_(grant, stale),
            pc.fill_null(explicit, _FALSE),
            _expiries(t, grant, fast),
        ],
        schema=CHOICES,
    )


def _expiries(instants: Any, grants: Any, fast: FastPurpose) -> pa.Array[Any]:
    """Each grant's expiry under the policy's consent lifetime (null: none, or never)."""
    lifetime = fast.lifetime
    if lifetime is None:
        return pa.nulls(len(instants), pa.int64())
    out: list[int | None] = []
    for t, granted in zip(instants.to_pylist(), grants.to_pylist(), strict=True):
        x = _after(lifetime, t) if granted else NEVER  # type: ignore[arg-type]
        out.append(None if x >= NEVER else x)
    return pa.array(out, pa.int64())


_FIRST_US = to_us(datetime.min.replace(tzinfo=UTC), "min")


def retention_start(policy: Policy, pid: str, at: datetime) -> int:
    """The earliest collection instant (microseconds) whose data is not past the purpose's
    retention at ``at``: the engine asked about an empty subject, by bisection (a limit
    counted from collection grows with it; hits before the year 1 are refused anyway).
    """
    subject = Subject("-")
    at_us = to_us(at, "at")

    def exceeded(c_us: int) -> bool:
        decision = policy.may_process(subject, pid, at, collected_at=from_us(c_us))
        return decision.code is ReasonCode.RETENTION_EXCEEDED

    if not exceeded(_FIRST_US):
        return _FIRST_US
    if exceeded(at_us):
        return at_us + 1
    lo, hi = _FIRST_US, at_us  # exceeded at lo, not at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if exceeded(mid):
            lo = mid
        else:
            hi = mid
    return hi


def bad_subjects(
    batches: Iterable[pa.RecordBatch], purposes: Sequence[FastPurpose]
) -> tuple[list[str], list[pa.Table]]:
    """The subjects this path cannot decide (a row of theirs it does not vouch for, or
    two choices at one instant, which the engine orders), and for each of ``purposes``
    the choices it reads (:data:`CHOICES`), sorted by subject and instant.
    """
    found: set[str] = set()
    parts: list[list[pa.Table]] = [[] for _ in purposes]
    for batch in batches:
        if not batch.num_rows:
            continue
        ok: Any = None
        for i, fast in enumerate(purposes):
            chosen = choices(batch, fast)
            ok = chosen.ok if ok is None else pc.and_(ok, chosen.ok)
            parts[i].append(chosen.read)
        if ok is not None:
            refused = batch.filter(pc.invert(ok)).column("subject")
            found.update(v for v in plain(refused).unique().to_pylist() if v is not None)
    out: list[pa.Table] = []
    for tables in parts:
        table = (pa.concat_tables(tables) if tables else CHOICES.empty_table()).combine_chunks()
        order = pc.sort_indices(table, sort_keys=[("subject", "ascending"), ("t", "ascending")])
        table = table.take(order)
        if table.num_rows > 1:
            subject, t = table.column("subject"), table.column("t")
            tied = pc.and_(
                pc.equal(subject.slice(1), subject.slice(0, table.num_rows - 1)),
                pc.equal(t.slice(1), t.slice(0, table.num_rows - 1)),
            )
            tied_ids = plain(subject.slice(1).filter(tied)).unique().to_pylist()
            found.update(v for v in tied_ids if isinstance(v, str))
        out.append(table)
    return sorted(found), out


_CODES = ("consent_withdrawn", "consent_stale", "explicit_consent_required", "consent_given")


def span_pieces(
    chosen: pa.Table, subjects: Any, fast: FastPurpose, start_us: int, end_us: int
) -> pa.Table:
    """The spans of ``subjects`` (each once) over ``[start_us, end_us)`` from their
    ``chosen`` choices (sorted by subject and instant, of those subjects only):
    ``subject``, ``lo``, ``hi`` (microseconds) and ``code``, in no particular order.

    From each choice to the next a span, split where a grant expires (the policy's
    lifetime; never a stale grant, whose reason comes first); before the first choice,
    ``no_consent``; clipped to the window. Neighbours never decide alike (each span's
    reason names its own choice), so none are joined.
    """
    n = chosen.num_rows
    subject, t = chosen.column("subject"), chosen.column("t")
    if n:
        same = pc.equal(subject.slice(1), subject.slice(0, n - 1))
        following = pa.concat_arrays([plain(t.slice(1)), pa.nulls(1, pa.int64())])
        nt = pc.if_else(
            pa.concat_arrays([plain(same), pa.array([False])]), following, pa.nulls(n, pa.int64())
        )
        first = pa.concat_arrays([pa.array([True]), plain(pc.invert(same))])
    else:
        nt = pa.nulls(0, pa.int64())
        first = pa.array([], pa.bool_())
    # Before each subject's first choice (or all along, with none): no consent.
    firsts = chosen.filter(first)
    place = pc.index_in(subjects, value_set=plain(firsts.column("subject")))
    initial_hi = plain(firsts.column("t")).take(place)
    grant, stale, explicit, x = (chosen.column(c) for c in ("grant", "stale", "explicit", "x"))
    unexplicit = pc.invert(explicit) if fast.explicit else pa.repeat(_FALSE, n)
    code = pc.if_else(
        pc.invert(grant),
        _CODES[0],
        pc.if_else(stale, _CODES[1], pc.if_else(unexplicit, _CODES[2], _CODES[3])),
    )
    expiry = pc.max_element_wise(x, t)
    expiring = pc.fill_null(
        pc.and_(
            pc.and_(grant, pc.invert(stale)),
            pc.or_kleene(nt.is_null(), pc.less(expiry, nt)),
        ),
        _FALSE,
    )
    expiring = pc.and_(expiring, x.is_valid())
    pieces = pa.table(
        {
            "subject": pa.concat_arrays(
                [plain(subjects), plain(subject), plain(subject.filter(expiring))]
            ),
            "lo": pa.concat_arrays(
                [
                    pa.nulls(len(subjects), pa.int64()),
                    plain(t),
                    plain(expiry.filter(expiring)),
                ]
            ),
            "hi": pa.concat_arrays(
                [
                    plain(initial_hi),
                    plain(pc.if_else(expiring, expiry, nt)),
                    plain(nt.filter(expiring)),
                ]
            ),
            "code": pa.concat_arrays(
                [
                    pa.repeat(pa.scalar("no_consent", pa.string()), len(subjects)),
                    plain(code),
                    pa.repeat(
                        pa.scalar("consent_expired", pa.string()),
                        int(pc.sum(expiring).as_py() or 0),
                    ),
                ]
            ),
        }
    )
    s, e = pa.scalar(start_us, pa.int64()), pa.scalar(end_us, pa.int64())
    lo: Any = pc.max_element_wise(pc.fill_null(pieces.column("lo"), s), s)
    hi: Any = pc.min_element_wise(pc.fill_null(pieces.column("hi"), e), e)
    keep = pc.less(lo, hi)
    return pa.table(
        [
            pieces.column("subject").filter(keep),
            lo.filter(keep),
            hi.filter(keep),
            pieces.column("code").filter(keep),
        ],
        names=["subject", "lo", "hi", "code"],
    )


def sweep_sql(fast: FastPurpose, at_us: int, kept_from: int, *, some_bad: bool) -> str:
    """SQL: ``row`` and ``code`` of every hit of a subject this path decides.

    In the engine's order: retention (data collected before ``kept_from`` is past it);
    then consent at ``at`` (none, or withdrawn); then, for data collected before ``at``
    (data collected at ``at`` is fresh data), at collection (the choice in force then: a
    grant, not expired then; and no withdrawal since); then the grant in force at ``at``:
    stale, expired, not explicit, or given. One ASOF join finds the choice in
    force at collection, each carrying what its subject's choices say at ``at``; a row
    before every choice (``grant`` null) carries it for hits collected before them.
    """
    explicit = "TRUE" if fast.explicit else "FALSE"
    a, kept, first = int(at_us), int(kept_from), -(2**63) + 1
    others = "AND subject NOT IN (SELECT subject FROM bad)" if some_bad else ""
    hits = "WHERE h.subject NOT IN (SELECT subject FROM bad)" if some_bad else ""
    return f"""
    WITH c AS (SELECT subject, t, grant, stale, explicit, x FROM choices_0 WHERE t <= {a} {others}),
    s AS (
        SELECT subject, arg_max(grant, t) AS g, max(t) FILTER (WHERE NOT grant) AS tw,
            arg_max(CASE WHEN stale THEN 'consent_stale'
                         WHEN x IS NOT NULL AND {a} >= x THEN 'consent_expired'
                         WHEN {explicit} AND NOT explicit THEN 'explicit_consent_required'
                         ELSE 'consent_given' END, t) AS code
        FROM c GROUP BY subject
    ),
    k AS (
        SELECT c.subject, c.t, c.grant, c.x, s.g, s.tw, s.code
        FROM c JOIN s ON c.subject = s.subject
        UNION ALL
        SELECT subject, {first}, NULL, NULL, g, tw, code FROM s
    )
    SELECT h.row, CASE
        WHEN h.c < {kept} THEN 'retention_exceeded'
        WHEN e.g IS NULL THEN 'no_consent'
        WHEN NOT e.g THEN 'consent_withdrawn'
        WHEN h.c >= {a} THEN e.code
        WHEN e.grant IS NULL OR NOT e.grant OR (e.x IS NOT NULL AND h.c >= e.x) THEN 'no_consent'
        WHEN e.tw IS NOT NULL AND e.tw > h.c THEN 'consent_withdrawn'
        ELSE e.code END AS code
    FROM hits h ASOF LEFT JOIN k e ON h.subject = e.subject AND h.c >= e.t
    {hits}
    """  # noqa: S608 - only integers and this module's names are formatted in
