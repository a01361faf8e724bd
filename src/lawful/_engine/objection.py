"""Step 7, opt-out (Art. 21(5)) and objection (Art. 21(1)-(3))."""

from __future__ import annotations

from lawful._engine.lines import _consented_after, _reached_scopes
from lawful._engine.query import _CONSENT, _R, _STORE, _after, _Deny, _latest_of, _Query
from lawful._timelines import Kind, Line, latest_key
from lawful.decision import Reason, ReasonCode
from lawful.duration import Duration
from lawful.events import Objection, OptOut
from lawful.model import LegalBasis

_ONE_MONTH = Duration(months=1)

# Art. 21(1) reaches (e) and (f); Art. 21(2)-(3) direct marketing on any basis.
_OBJECTABLE = frozenset({LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK})


def _opt_out(q: _Query) -> _Deny | None:
    scopes = _reached_scopes(q)
    if not scopes:
        return None
    q.scopes = scopes
    purpose = q.purpose
    pid = purpose.id
    lines = q.lines
    clause = f"purposes.{pid}.opt_out_scopes"
    for scope in scopes:
        found = latest_key(lines.get((Kind.OPT_OUT_STATE, scope)), q.at_key, q.late)
        if found is None or not isinstance(found[1], OptOut):
            # Not (or no longer) opted out of this scope. On a consent purpose the consent
            # an opt-out withdrew stays withdrawn (the basis says CONSENT_WITHDRAWN): no
            # consent comes back by inaction (Art. 4(11), recital 32).
            continue
        if q.basis is _CONSENT and _consented_after(q, found[0]):
            continue  # the person's later affirmative consent is its latest choice
        if q.basis is _CONSENT and not purpose.direct_marketing:
            # Art. 7(3): on a consent purpose an opt-out withdraws the consent.
            return _Deny(
                Reason(
                    ReasonCode.OPTED_OUT,
                    f"The subject opted out ({scope}), which withdraws consent to '{pid}'; "
                    "only a consent given since would count.",
                    "Art. 7(3)",
                    event=found[1],
                    clause=clause,
                )
            )
        if purpose.direct_marketing:
            article = "Art. 21(3), 21(5)"  # an objection to direct marketing, by automated means
        elif q.basis in _OBJECTABLE:
            article = "Art. 21(5)"
        else:
            article = "policy clause opt_out_scopes"  # the controller's own promise binds
        return _Deny(
            Reason(
                ReasonCode.OPTED_OUT,
                f"The subject opted out ({scope}), which stops '{pid}'.",
                article,
                event=found[1],
                clause=clause,
            )
        )
    return None


def _objection(q: _Query) -> _Deny | None:
    purpose = q.purpose
    basis = q.basis
    marketing = purpose.direct_marketing
    if not marketing and basis not in _OBJECTABLE:
        return None  # Art. 21 never reaches contract, legal obligation, vital interests
    pid = purpose.id
    found = _latest_of(q, Kind.OBJECTION_STATE, pid, q.at_key)
    if found is None or not isinstance(found[1], Objection):
        return None
    key, objection = found
    if marketing:
        if basis is _CONSENT and _consented_after(q, key):
            return None  # the person's later affirmative consent is its latest choice
        # Art. 21(3): an objection to direct marketing is absolute.
        return _Deny(
            Reason(
                ReasonCode.OBJECTED,
                "The subject objected to direct marketing; the objection is absolute.",
                "Art. 21(3)",
                event=objection,
            )
        )
    override = latest_key(q.lines.get((Kind.OVERRIDES, pid)), q.at_key, q.late)
    later = override is not None and override[0] > key
    admissible = purpose.override_admissible
    if later and admissible:
        assert override is not None  # noqa: S101 - later implies it
        q.lead.append(
            Reason(
                ReasonCode.COMPELLING_GROUNDS,
                "The subject objected, and the controller recorded compelling legitimate "
                f"grounds that override the objection: {getattr(override[1], 'grounds', '')}.",
                ReasonCode.COMPELLING_GROUNDS.article,
                event=override[1],
            )
        )
        return None
    if q.operation is _STORE and admissible:
        # Art. 18(1)(d): restricted, kept stored while the controller verifies; Art. 12(3):
        # it must decide within one month of the objection. Objecting again never restarts
        # that month: it runs from the first objection still standing, which decides.
        since, objection = _pending_since(q, pid)
        limit = _after(_ONE_MONTH, since // _R)
        if q.at_us < limit:
            q.until.append(limit)
            q.tail.append(
                Reason(
                    ReasonCode.OBJECTED,
                    "The subject objected; pending the controller's verification the data "
                    "is restricted and only kept stored, for one month from the objection "
                    "at most (Art. 18(1)(d), 12(3)).",
                    "Art. 18(1)(d), 12(3)",
                    event=objection,
                )
            )
            return None
        return _Deny(
            Reason(
                ReasonCode.OBJECTED,
                "The subject objected, and the month the controller had to decide on "
                "compelling grounds has passed without an override; storage ends too.",
                "Art. 21(1), 12(3)",
                event=objection,
            )
        )
    if not admissible:
        note = (
            " An override is on record, but the policy does not admit one for this purpose."
            if later
            else " The policy admits no override for this purpose, so storage stops too."
        )
    else:
        note = " Meanwhile the data is restricted (Art. 18(1)(d))."
    return _Deny(
        Reason(
            ReasonCode.OBJECTED,
            "The subject objected; processing stops unless the controller records "
            f"compelling legitimate grounds.{note}",
            ReasonCode.OBJECTED.article,
            event=objection,
        )
    )


def _pending_since(q: _Query, pid: str) -> tuple[int, Objection]:
    """The sort key and event of the first objection of the run still standing at ``at``:
    the earliest objection (to the purpose or to every purpose) made after the latest
    withdrawal of an objection and the latest override, by when each was made.

    Art. 12(3): the controller has one month from the request; repeating an objection
    does not give it another month (docs/explanation/decision.md).
    """
    lines = q.lines
    at_key, late = q.at_key, q.late
    bound = -1
    objections: list[tuple[int, Objection]] = []
    for line in (
        lines.get((Kind.OBJECTION_STATE, pid)),
        lines.get((Kind.OBJECTION_STATE, None)),
        lines.get((Kind.OVERRIDES, pid)),
    ):
        for key, event in _in_effect(line, at_key):
            own = late.get(id(event), key) if late else key
            if isinstance(event, Objection):
                objections.append((own, event))
            elif own > bound:
                bound = own
    return min((found for found in objections if found[0] > bound), key=lambda found: found[0])


def _in_effect(line: Line | None, at_key: int) -> list[tuple[int, object]]:
    """The events of ``line`` in effect at ``at_key``, with their sort keys."""
    if line is None:
        return []
    keys, events, count = line
    return [(keys[i], events[i]) for i in range(count) if keys[i] <= at_key]
