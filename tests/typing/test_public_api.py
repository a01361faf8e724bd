"""The public API's types, as downstream teams see them: checked by mypy, never run.

Every ``assert_type`` pins what a caller's type checker infers; a change that
widens a return to ``Any`` or an optional fails the ``typing`` session. pytest
skips this file (tests/typing/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import assert_type

from hypothesis.strategies import SearchStrategy

import lawful
from lawful import strategies as ls

AT = datetime(2025, 3, 2, tzinfo=UTC)
policy = lawful.bundled_policy("piwik-pro")
grant = lawful.ConsentGiven(at=datetime(2025, 3, 1, 9, tzinfo=UTC), purpose="analytics")
withdrawal = lawful.ConsentWithdrawn(at=AT, purpose="analytics", vendor=None)
visitor = lawful.Subject("visitor-1", [grant, withdrawal], categories=["visitor"])

# -- deciding -------------------------------------------------------------------------------

assert_type(policy, lawful.Policy)
assert_type(lawful.load_policy("policy.toml"), lawful.Policy)
assert_type(lawful.loads_policy("", format="json"), lawful.Policy)
assert_type(lawful.dumps_policy(policy, format="toml"), str)
assert_type(lawful.Policy.from_dict({}), lawful.Policy)
assert_type(policy.to_dict(), dict[str, object])
assert_type(policy.purpose_ids, tuple[str, ...])
assert_type(policy.purpose("analytics"), lawful.CompiledPurpose)
assert_type(policy.purposes, tuple[lawful.CompiledPurpose, ...])
assert_type(policy.warnings, tuple[lawful.Problem, ...])
assert_type(policy.may_process(visitor, "analytics", AT), lawful.Decision)
assert_type(
    policy.may_process(
        visitor,
        "analytics",
        AT,
        vendor="piwik-pro",
        data=["ip_address"],
        collected_at=AT,
        operation=lawful.Operation.STORE,
    ),
    lawful.Decision,
)
assert_type(lawful.may_process(visitor, policy.purpose("analytics"), AT), lawful.Decision)
assert_type(policy.decide_all(visitor, AT), dict[str, lawful.Decision])

decision = policy.may_process(visitor, "analytics", AT)
assert_type(decision.allowed, bool)
assert_type(bool(decision), bool)
assert_type(decision.purpose, str)
assert_type(decision.at, datetime)
assert_type(decision.basis, lawful.LegalBasis | None)
assert_type(decision.reasons, tuple[lawful.Reason, ...])
assert_type(decision.valid_until, datetime | None)
assert_type(decision.code, lawful.ReasonCode)
assert_type(decision.reason, lawful.Reason)
assert_type(decision.explain(), str)
assert_type(decision.to_dict(), dict[str, object])
assert_type(decision.to_json(), str)
assert_type(lawful.Decision.from_dict(decision.to_dict()), lawful.Decision)

reason = decision.reason
assert_type(reason.code, lawful.ReasonCode)
assert_type(reason.message, str)
assert_type(reason.article, str)
assert_type(reason.event, lawful.Event | None)
assert_type(reason.clause, str | None)
assert_type(reason.code.allows, bool)
assert_type(reason.code.article, str)
assert_type(lawful.LegalBasis.CONSENT.article, str)

# -- subjects and events --------------------------------------------------------------------

assert_type(visitor.id, str)
assert_type(visitor.events, tuple[lawful.Event, ...])
assert_type(visitor.categories, frozenset[str] | None)
assert_type(visitor.add(withdrawal), lawful.Subject)
assert_type(visitor.extend([grant, withdrawal]), lawful.Subject)
assert_type(grant.at, datetime)
assert_type(grant.recorded_at, datetime | None)
assert_type(grant.purpose, str)
assert_type(grant.vendor, str | None)
assert_type(grant.explicit, bool)
assert_type(withdrawal.vendor, str | None)
assert_type(lawful.Objection(at=AT).purpose, str | None)
assert_type(lawful.OptOut(at=AT, scope="all").scope, str)
assert_type(lawful.event_to_dict(grant), dict[str, object])
assert_type(lawful.event_from_dict({"type": "erasure", "at": AT.isoformat()}), lawful.Event)
assert_type(lawful.read_events([]), Iterator[tuple[str, lawful.Event]])
assert_type(lawful.dumps_events([("visitor-1", grant)]), str)

# -- strategies -----------------------------------------------------------------------------

assert_type(ls.policies(), SearchStrategy[lawful.Policy])
assert_type(ls.purposes(), SearchStrategy[lawful.Purpose])
assert_type(ls.vendors(), SearchStrategy[lawful.Vendor])
assert_type(ls.data_categories(), SearchStrategy[lawful.DataCategory])
assert_type(ls.age_rules(), SearchStrategy[lawful.AgeRules])
assert_type(ls.durations(), SearchStrategy[lawful.Duration])
assert_type(ls.events(policy=policy), SearchStrategy[lawful.Event])
assert_type(ls.event_histories(policy=policy), SearchStrategy[list[lawful.Event]])
assert_type(ls.subjects(policy=policy), SearchStrategy[lawful.Subject])
assert_type(ls.instants(policy=policy, around=[grant, AT]), SearchStrategy[datetime])
assert_type(ls.aware_datetimes(), SearchStrategy[datetime])
assert_type(ls.time_zones(), SearchStrategy[tzinfo])
