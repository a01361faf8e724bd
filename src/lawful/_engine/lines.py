"""The consent timelines a purpose reads (its own, its vendors', and the opt-outs and
objections that act as a withdrawal), and the questions several rules ask of them.
"""

from __future__ import annotations

from bisect import bisect_right

from lawful._engine.query import _latest_in, _Query
from lawful._timelines import Kind, Line, LineKey, latest_key
from lawful.events import ConsentGiven

_ALL_SCOPE = "all"


def _consent_stands(q: _Query) -> bool:
    """Whether the person's latest consent choice for the purpose at ``at`` is a grant, for
    every vendor involved (a consent given and then withdrawn no longer stands).
    """
    return all(
        isinstance(found[1], ConsentGiven)
        for grants, stops in _slots(q, as_basis=False)
        if (found := _latest_in(q.late, (*grants, *stops), q.at_key)) is not None
    )


def _consented_after(q: _Query, key: int) -> bool:
    """Whether the person gave an affirmative consent to the purpose after ``key``,
    covering every vendor involved where consent is per vendor.
    """
    lines = q.lines
    pid = q.purpose.id
    wide = latest_key(lines.get((Kind.CONSENT_GRANTS, pid, None)), q.at_key, q.late)
    if wide is not None and wide[0] > key:
        return True
    if not q.purpose.per_vendor_consent or not q.vendors:
        return False
    for name in q.vendors:
        own = latest_key(lines.get((Kind.CONSENT_GRANTS, pid, name)), q.at_key, q.late)
        if own is None or own[0] <= key:
            return False
    return True


def _reached_scopes(q: _Query) -> tuple[str | None, ...]:
    """The opt-out scopes that reach the purpose: those it lists, and where Art. 21 reaches
    it, "all" and every scope the policy does not declare (fail closed).
    """
    index = q.subject._index  # noqa: SLF001
    if (Kind.ANY_OPT_OUT,) not in index.lines:
        return ()
    purpose = q.purpose
    ctx = q.ctx
    declared = ctx.declared_scopes
    if not ctx.reached_by_all:
        return tuple(s for s in purpose.opt_out_scopes if s != _ALL_SCOPE and s in declared)
    memo_key = ("undeclared", declared)
    undeclared: tuple[str | None, ...] | None = index.memo.get(memo_key)
    if undeclared is None:
        undeclared = tuple(
            k[1] for k in index.lines if k[0] == Kind.OPT_OUT_STATE and k[1] not in declared
        )
        index.memo[memo_key] = undeclared
    return (*purpose.opt_out_scopes, _ALL_SCOPE, *undeclared)


# The grant timelines and the stop timelines (withdrawals, and what acts as one) of one
# consent the decision needs: the purpose's, or one vendor's where consent is per vendor.
_Slot = tuple[tuple[Line | None, ...], tuple[Line | None, ...]]


class _ConsentKeys:
    """The keys of the timelines one purpose's consent reads, for the vendors involved
    (made once per purpose in its plan, for every vendor it declares).
    """

    __slots__ = ("all_stops", "grants", "objections", "stops", "vendors")

    def __init__(self, pid: str, vendors: tuple[str, ...]) -> None:
        self.grants: LineKey = (Kind.CONSENT_GRANTS, pid, None)
        self.stops: LineKey = (Kind.CONSENT_STOPS, pid, None)
        self.objections: tuple[LineKey, LineKey] = ((Kind.OBJECTIONS, pid), (Kind.OBJECTIONS, None))
        # Per vendor: its own grants and its own withdrawals.
        self.vendors: tuple[tuple[LineKey, LineKey], ...] = tuple(
            ((Kind.CONSENT_GRANTS, pid, name), (Kind.CONSENT_STOPS, pid, name)) for name in vendors
        )
        # The withdrawals of a purpose-wide consent: its own, then each vendor's (_slots).
        self.all_stops: tuple[LineKey, ...] = (self.stops, *(stops for _, stops in self.vendors))


def _slots(q: _Query, *, as_basis: bool) -> list[_Slot]:
    lines = q.lines
    purpose = q.purpose
    vendor = q.vendor
    keys = q.plan.consent_keys if vendor is None else _ConsentKeys(purpose.id, (vendor,))
    wide_grants = lines.get(keys.grants)
    wide_stops = lines.get(keys.stops)
    extra: tuple[Line | None, ...] = ()
    if as_basis and not purpose.direct_marketing and not q.quiet:
        # (A quiet subject has no objection or opt-out to count.)
        # On a consent purpose that is not direct marketing an objection counts as a
        # withdrawal, and so does an opt-out that reaches it (Art. 7(3)).
        scopes = q.scopes if q.scopes is not None else _reached_scopes(q)
        extra = (
            lines.get(keys.objections[0]),
            lines.get(keys.objections[1]),
            *(lines.get((Kind.OPT_OUTS, s)) for s in scopes),
        )
    if purpose.per_vendor_consent and keys.vendors:
        # Per vendor: the later of the purpose-wide and the vendor's own event decides.
        return [
            ((wide_grants, lines.get(grants)), (wide_stops, lines.get(stops), *extra))
            for grants, stops in keys.vendors
        ]
    # Purpose-wide: a vendor's own grant is no consent to the purpose, but a withdrawal
    # for a vendor involved still counts.
    own_stops = tuple(lines.get(stops) for _, stops in keys.vendors)
    return [((wide_grants,), (wide_stops, *own_stops, *extra))]


def _same_instant(q: _Query, lines: tuple[Line | None, ...], key: int) -> list[ConsentGiven]:
    """Every grant of ``lines`` in effect at ``at`` whose ``at`` sort key is ``key`` (grants
    given at one instant, however late each was recorded).
    """
    late = q.late
    out: list[ConsentGiven] = []
    for line in lines:
        if line is None:
            continue
        keys, events, count = line
        hi = bisect_right(keys, key, 0, count)
        lo = hi
        while lo > 0 and keys[lo - 1] == key:
            lo -= 1
        if not late and hi - lo == 1 and not out:  # the usual case: one grant, in time
            first = events[lo]
            if isinstance(first, ConsentGiven):
                out.append(first)
            continue
        twins = [e for e in events[lo:hi] if not late or id(e) not in late]
        if late:  # grants recorded late sit where they took effect, not at `key`
            end = bisect_right(keys, q.at_key, 0, count)
            twins.extend(e for e in events[hi:end] if late.get(id(e)) == key)
        out.extend(e for e in twins if isinstance(e, ConsentGiven) and e not in out)
    return out
