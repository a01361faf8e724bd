"""The same policy and queries in the engines people use instead: opa-eval, cedarpy, casbin.

None of these engines can answer "the latest consent event at or before
``at``" from an event history, nor count calendar months. :class:`Facts` does
that part in Python, the way a host using such an engine would have to, with
the same design lawful uses (per-timeline sorted integer instants and
``bisect``, expiries computed when the index is built). Each engine then gets
the policy as data generated from the lawful policy under test, plus these
facts for each query, and answers allowed or denied (Rego and Cedar also say
which rule decided, which the benchmark checks against lawful's reason code).

An engine's time is quoted two ways: *call* is the engine's own API on an
input already in the form it takes (JSON text for opa-eval, a request dict for
cedarpy, arguments for casbin); *end-to-end* adds the Python pre-computation
and the encoding of the input, which is what a host pays per decision.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import lawful
from lawful import (
    AgeDeclared,
    AgeScope,
    BirthDateDeclared,
    ConsentGiven,
    ConsentWithdrawn,
    Erasure,
    Objection,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    RestrictionLifted,
    RestrictionRequested,
    UnknownAge,
    UnknownSubjectCategory,
)
from lawful._time import birthday

ENGINES = Path(__file__).parent / "engines"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_R = 4  # sort key = microseconds * 4 + rank, as in lawful: the more restrictive event last

PRECOMPUTED = {
    "all": (
        "`at` as integer microseconds; per timeline, the latest event at or before `at` "
        "(one bisect each): the purpose's consent state (given / withdrawn / none, the later "
        "of the purpose-wide and the vendor's own event, an objection counting as a "
        "withdrawal), the consent's expiry instant (calendar months, computed when the "
        "index is built), whether an erasure, a restriction, an opt-out of a scope that "
        "stops the purpose, an objection or a parental consent is in force, and the "
        "conservative age at `at` (the lower of the ages in UTC and in the zone of `at`)"
    ),
    "opa-eval": "then the input encoded as JSON text (the API takes JSON)",
    "cedarpy": "then a request dict; the purposes are entities parsed once",
    "casbin": (
        "then positional request values; list membership and the age rule are Python "
        "functions registered as matcher functions (a matcher cannot look into a list "
        "held by a policy line)"
    ),
}


def _us(at: datetime) -> int:
    delta = at - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class State(NamedTuple):
    """What the engines are told about the subject at one instant, for one purpose."""

    at: int
    consent: str  # "given", "withdrawn" or "none"
    expires: int  # microseconds; 0: never
    erased: bool
    restricted: bool
    opted_out: bool
    objected: bool
    age: int | None
    parental: bool


def _age(birth: date, at: datetime) -> int:
    """The lower of the ages in UTC and in the zone of ``at`` (DESIGN, Art. 8)."""
    days = (at.astimezone(UTC).date(), at.date())
    return min(day.year - birth.year - (day < birthday(birth, day.year)) for day in days)


class Prepared:
    """What :class:`Facts` reads from the policy, prepared once per policy (not per subject)."""

    def __init__(self, policy: lawful.Policy) -> None:
        self.declared = frozenset(policy.opt_out_scopes) | {"all"}
        self.lifetimes = {p.id: p.consent_lifetime for p in policy.purposes}
        self.purposes = {
            p.id: (p.per_vendor_consent, tuple(p.opt_out_scopes)) for p in policy.purposes
        }


class Facts:
    """The event-history lookups the engines need, built once per subject (from the policy
    or, as a service would, from a :class:`Prepared` made once per policy).
    """

    def __init__(self, policy: lawful.Policy | Prepared, events: Iterable[lawful.Event]) -> None:
        prepared = policy if isinstance(policy, Prepared) else Prepared(policy)
        declared = prepared.declared
        raw: dict[tuple[Any, ...], list[tuple[int, Any, int]]] = {}

        def put(line: tuple[Any, ...], key: int, state: Any, expires: int = 0) -> None:
            raw.setdefault(line, []).append((key, state, expires))

        lifetimes = prepared.lifetimes
        undeclared: set[str] = set()
        for event in events:
            key = _us(event.at) * _R + event.rank
            if isinstance(event, ConsentGiven):
                life = lifetimes.get(event.purpose)
                expires = _us(life.after(event.at)) if life is not None else 0
                put(("c", event.purpose, event.vendor), key, "given", expires)
            elif isinstance(event, ConsentWithdrawn):
                put(("c", event.purpose, event.vendor), key, "withdrawn")
            elif isinstance(event, Objection):
                put(("o", event.purpose), key, state=True)
                put(("c", event.purpose, None), key, "withdrawn")
            elif isinstance(event, ObjectionWithdrawn):
                put(("o", event.purpose), key, state=False)
            elif isinstance(event, RestrictionRequested | RestrictionLifted):
                put(("r", event.purpose), key, isinstance(event, RestrictionRequested))
            elif isinstance(event, Erasure):
                put(("e",), key, state=True)
            elif isinstance(event, OptOut | OptOutWithdrawn):
                put(("x", event.scope), key, isinstance(event, OptOut))
                if event.scope not in declared:
                    undeclared.add(event.scope)
            elif isinstance(event, BirthDateDeclared):
                put(("a",), key, event.birth_date)
            elif isinstance(event, AgeDeclared):
                # "At least N" on a day: the latest birth date it allows (conservative).
                day = max(event.at.astimezone(UTC).date(), event.at.date())
                put(("a",), key, birthday(day, day.year - event.at_least))
            elif isinstance(event, ParentalConsentGiven | ParentalConsentWithdrawn):
                put(("p", event.purpose), key, isinstance(event, ParentalConsentGiven))
        self.lines: dict[tuple[Any, ...], tuple[list[int], list[Any], list[int]]] = {}
        for line, entries in raw.items():
            entries.sort(key=lambda e: e[0])
            self.lines[line] = (
                [e[0] for e in entries],
                [e[1] for e in entries],
                [e[2] for e in entries],
            )
        self.purposes = prepared.purposes
        if undeclared:
            extra = tuple(sorted(undeclared))
            self.purposes = {
                pid: (per_vendor, scopes + extra)
                for pid, (per_vendor, scopes) in prepared.purposes.items()
            }

    def _latest(self, line: tuple[Any, ...], at_key: int) -> tuple[int, Any, int] | None:
        found = self.lines.get(line)
        if found is None:
            return None
        pos = bisect_right(found[0], at_key)
        if not pos:
            return None
        return found[0][pos - 1], found[1][pos - 1], found[2][pos - 1]

    def _either(self, a: tuple[Any, ...], b: tuple[Any, ...], at_key: int) -> Any:
        first = self._latest(a, at_key)
        second = self._latest(b, at_key)
        if first is None or (second is not None and second[0] > first[0]):
            first = second
        return first

    def at(self, purpose: str, at: datetime, vendor: str | None) -> State:
        """The state of the subject for ``purpose`` at ``at``."""
        at_us = _us(at)
        at_key = at_us * _R + _R - 1
        per_vendor, scopes = self.purposes.get(purpose, (False, ()))
        consent = self._either(("c", purpose, None), ("c", None, None), at_key)
        if vendor is not None:
            own = self._latest(("c", purpose, vendor), at_key)
            later = own is not None and (consent is None or own[0] > consent[0])
            if later and (per_vendor or own[1] != "given"):
                consent = own
        erasure = self._latest(("e",), at_key)
        erased = erasure is not None and at_us <= erasure[0] // _R
        if erasure is not None and consent is not None and consent[0] <= erasure[0]:
            consent = None  # a consent at or before an erasure is gone (Art. 17)
        restricted = self._either(("r", purpose), ("r", None), at_key)
        objected = self._either(("o", purpose), ("o", None), at_key)
        opted_out = False
        for scope in scopes:
            found = self._latest(("x", scope), at_key)
            if found is not None and found[1]:
                opted_out = True
                break
        birth = self._latest(("a",), at_key)
        parental = self._either(("p", purpose), ("p", None), at_key)
        return State(
            at_us,
            "none" if consent is None else consent[1],
            0 if consent is None else consent[2],
            erased,
            restricted is not None and restricted[1],
            opted_out,
            objected is not None and objected[1],
            None if birth is None else _age(birth[1], at),
            parental is not None and parental[1],
        )


def _purpose_data(policy: lawful.Policy) -> dict[str, dict[str, object]]:
    age = policy.age
    return {
        p.id: {
            "basis": p.basis.value,
            "vendors": list(p.vendors),
            "data": list(p.data),
            "subjects": list(p.subjects),
            "device_access": p.device_access,
            "strictly_necessary": bool(p.strictly_necessary),
            "processor_only": p.processor_only,
            # Art. 8: the policy's age rules, and whether they cover this purpose.
            "age_applies": (
                age.scope is AgeScope.ALL_PURPOSES or p.basis is lawful.LegalBasis.CONSENT
            )
            and (age.minimum_age is not None or age.parental_consent_age is not None),
            "minimum_age": -1 if age.minimum_age is None else age.minimum_age,
            "parental_age": -1 if age.parental_consent_age is None else age.parental_consent_age,
            "unknown_age_deny": age.unknown_age is UnknownAge.DENY,
            "unknown_subject_deny": policy.unknown_subject_category is UnknownSubjectCategory.DENY,
        }
        for p in policy.purposes
    }


class Rego:
    """opa-eval (regorus): ``bench/engines/lawful.rego`` with the purposes as ``data``."""

    name = "opa-eval"

    def __init__(self, policy: lawful.Policy, facts: Facts, categories: list[str] | None) -> None:
        import opa_eval  # noqa: PLC0415 - installed only in the bench session

        self.facts = facts
        self.categories = categories
        self.engine = opa_eval.OpaEval(
            str(ENGINES / "lawful.rego"),
            data_json=json.dumps({"purposes": _purpose_data(policy)}),
            query="data.lawful.decision",
        )

    def encode(self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]) -> str:
        state = self.facts.at(purpose, at, vendor)
        return json.dumps(
            {
                "purpose": purpose,
                "vendor": vendor,
                "data": data,
                "categories": self.categories,
                "at": state.at,
                "consent": state.consent,
                "expires": state.expires,
                "erased": state.erased,
                "restricted": state.restricted,
                "opted_out": state.opted_out,
                "objected": state.objected,
                "age": state.age,
                "parental": state.parental,
            }
        )

    def call(self, text: str) -> bool:
        return self.engine.evaluate_parsed(text)["allowed"]

    def decide(self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]) -> bool:
        return self.engine.evaluate_parsed(self.encode(purpose, at, vendor, data))["allowed"]

    def explain(
        self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]
    ) -> tuple[bool, set[str] | None]:
        answer = self.engine.evaluate_parsed(self.encode(purpose, at, vendor, data))
        return answer["allowed"], {answer["code"]}


class Cedar:
    """cedarpy: ``bench/engines/lawful.cedar`` with the purposes as ``Purpose`` entities."""

    name = "cedarpy"

    def __init__(self, policy: lawful.Policy, facts: Facts, categories: list[str] | None) -> None:
        import cedarpy  # noqa: PLC0415 - installed only in the bench session

        self.cedarpy = cedarpy
        self.facts = facts
        self.categories = categories
        self.policies = cedarpy.PolicySet.from_str((ENGINES / "lawful.cedar").read_text())
        entities = [
            {"uid": {"type": "Purpose", "id": pid}, "attrs": values, "parents": []}
            for pid, values in _purpose_data(policy).items()
        ]
        entities.append({"uid": {"type": "Visitor", "id": "visitor"}, "attrs": {}, "parents": []})
        self.entities = cedarpy.Entities.from_json_str(json.dumps(entities))
        self.resources = {p.id: f'Purpose::"{p.id}"' for p in policy.purposes}

    def encode(
        self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]
    ) -> dict[str, object]:
        state = self.facts.at(purpose, at, vendor)
        context: dict[str, object] = {
            "data": list(data),
            "at": state.at,
            "consent": state.consent,
            "expires": state.expires,
            "erased": state.erased,
            "restricted": state.restricted,
            "opted_out": state.opted_out,
            "objected": state.objected,
            "parental": state.parental,
        }
        # Cedar has no null: what is unknown is left out of the context.
        if vendor is not None:
            context["vendor"] = vendor
        if self.categories is not None:
            context["categories"] = self.categories
        if state.age is not None:
            context["age"] = state.age
        return {
            "principal": 'Visitor::"visitor"',
            "action": 'Action::"process"',
            "resource": self.resources.get(purpose, f'Purpose::"{purpose}"'),
            "context": context,
        }

    def call(self, request: dict[str, object]) -> bool:
        return self.cedarpy.is_authorized(request, self.policies, self.entities).allowed

    def decide(self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]) -> bool:
        request = self.encode(purpose, at, vendor, data)
        return self.cedarpy.is_authorized(request, self.policies, self.entities).allowed

    def explain(
        self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]
    ) -> tuple[bool, set[str] | None]:
        result = self.cedarpy.is_authorized(
            self.encode(purpose, at, vendor, data), self.policies, self.entities
        )
        names = result.diagnostics.id_annotations_by_reason
        return result.allowed, {names.get(r, r) for r in result.diagnostics.reasons}


def _member(item: str, items: str) -> bool:
    return item in items.split()


def _subset(items: tuple[str, ...], of: str) -> bool:
    return set(items) <= set(of.split())


def _covers(categories: tuple[str, ...] | None, subjects: str, unknown_deny: str) -> bool:
    if not subjects:
        return True
    if categories is None:
        return unknown_deny == "no"
    return not set(categories).isdisjoint(subjects.split())


def _age_allows(age: int | None, parental: bool, rule: str) -> bool:
    """``rule``: "applies minimum parental unknown_deny" from the policy line (Art. 8)."""
    applies, minimum, parental_age, unknown_deny = rule.split()
    if applies == "no":
        return True
    if age is None:
        return unknown_deny == "no"
    if age < int(minimum):
        return False
    return not (age <= int(parental_age) and not parental)


class Casbin:
    """casbin: ``bench/engines/casbin_model.conf`` with one policy line per purpose."""

    name = "casbin"

    def __init__(self, policy: lawful.Policy, facts: Facts, categories: list[str] | None) -> None:
        import casbin  # noqa: PLC0415 - installed only in the bench session

        self.facts = facts
        self.categories = tuple(categories) if categories is not None else None
        self.enforcer = casbin.Enforcer(str(ENGINES / "casbin_model.conf"))
        for name, fn in (
            ("member", _member),
            ("subset", _subset),
            ("covers", _covers),
            ("age_allows", _age_allows),
        ):
            self.enforcer.add_function(name, fn)

        def yes(flag: object) -> str:
            return "yes" if flag else "no"

        lines = []
        for pid, d in _purpose_data(policy).items():
            age = f"{yes(d['age_applies'])} {d['minimum_age']} {d['parental_age']}"
            lines.append(
                [
                    pid,
                    str(d["basis"]),
                    " ".join(d["vendors"]),  # type: ignore[arg-type]
                    " ".join(d["data"]),  # type: ignore[arg-type]
                    yes(d["device_access"] and not d["strictly_necessary"]),
                    yes(d["processor_only"]),
                    " ".join(d["subjects"]),  # type: ignore[arg-type]
                    yes(d["unknown_subject_deny"]),
                    f"{age} {yes(d['unknown_age_deny'])}",
                ]
            )
        self.enforcer.add_policies(lines)

    def encode(
        self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]
    ) -> tuple[object, ...]:
        state = self.facts.at(purpose, at, vendor)
        return (purpose, vendor or "", data, self.categories, *state)

    def call(self, args: tuple[object, ...]) -> bool:
        return self.enforcer.enforce(*args)

    def decide(self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]) -> bool:
        state = self.facts.at(purpose, at, vendor)
        return self.enforcer.enforce(purpose, vendor or "", data, self.categories, *state)

    def explain(
        self, purpose: str, at: datetime, vendor: str | None, data: tuple[str, ...]
    ) -> tuple[bool, set[str] | None]:
        return self.decide(purpose, at, vendor, data), None  # casbin answers yes or no


RIVALS = (Rego, Cedar, Casbin)
