"""Step 4, erasure (Art. 17), and step 5, restriction (Art. 18)."""

from __future__ import annotations

from lawful._engine.lines import _consent_stands, _consented_after, _slots
from lawful._engine.query import _CONSENT, _R, _STORE, _Deny, _latest_in, _latest_of, _Query
from lawful._timelines import Kind, latest_key
from lawful.decision import Reason, ReasonCode
from lawful.events import ConsentGiven, RestrictionRequested
from lawful.model import LegalBasis


def _erasure(q: _Query) -> _Deny | None:
    found = latest_key(q.lines.get((Kind.ERASURE,)), q.at_key, q.late)
    if found is None or q.basis is LegalBasis.LEGAL_OBLIGATION:
        return None  # Art. 17(3)(b): a legal obligation to keep the data survives erasure
    erased = found[0] // _R
    q.narrow_at(erased + 1)
    if q.c_us > erased:
        if q.basis is _CONSENT and _consent_predates(q, erased):
            # Art. 17(1): after an erasure, consent-based processing needs a consent given
            # after it; a consent still deciding that predates it counts for nothing.
            return _Deny(
                Reason(
                    ReasonCode.ERASED,
                    "The consent predates the subject's erasure; a new consent is needed.",
                    ReasonCode.ERASED.article,
                    event=found[1],
                )
            )
        return None
    # Art. 17(1): data collected at or before the erasure is never processed again.
    until = None
    if q.fresh:
        # Fresh data a microsecond later is new data, collected after the erasure: the
        # answer can change then, unless the consent deciding predates the erasure, which
        # still denies (ERASED) then. Only the reason's wording changes: kept answers end.
        if q.basis is _CONSENT and _consent_predates(q, erased):
            q.until.append(q.at_us + 1)
        else:
            until = q.at_us + 1
    return _Deny(
        Reason(
            ReasonCode.ERASED,
            "The data was collected at or before the subject's erasure and is never "
            "processed again.",
            ReasonCode.ERASED.article,
            event=found[1],
        ),
        until,
    )


def _consent_predates(q: _Query, erased: int) -> bool:
    """Whether a consent deciding at ``at`` (for some vendor needed) was given at or
    before the erasure at ``erased`` (microseconds).
    """
    for grants, stops in _slots(q, as_basis=True):
        deciding = _latest_in(q.late, (*grants, *stops), q.at_key)
        if (
            deciding is not None
            and isinstance(deciding[1], ConsentGiven)
            and deciding[0] // _R <= erased
        ):
            return True
    return False


def _restriction(q: _Query) -> _Deny | None:
    if q.operation is _STORE:
        return None  # Art. 18(2): storage survives a restriction
    found = _latest_of(q, Kind.RESTRICTION, q.purpose.id, q.at_key)
    if found is None or not isinstance(found[1], RestrictionRequested):
        return None
    if q.purpose.restriction_exceptions:
        return None  # Art. 18(2): legal claims, others' rights, public interest, as declared
    if _consented_after(q, found[0]) and _consent_stands(q):
        return None  # Art. 18(2): with the person's consent, given after the restriction
    return _Deny(
        Reason(
            ReasonCode.RESTRICTED,
            "Processing is restricted at the subject's request; only storage is allowed, "
            "or processing with the person's consent given since.",
            ReasonCode.RESTRICTED.article,
            event=found[1],
        )
    )
