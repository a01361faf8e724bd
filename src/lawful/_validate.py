"""Semantic checks of a policy, however it was built: errors refuse it, warnings are linted.

Each check yields a :class:`lawful.Problem` with the dotted path of the field
at fault, in the same form as the structural errors of a file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping

from lawful._signal_names import CONSENT_MODE_TYPES as MODE_TYPES
from lawful._signal_names import PIWIK_PRO_CONSENT_TYPES as PIWIK_TYPES
from lawful.exceptions import Problem
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    DataCategory,
    LegalBasis,
    Purpose,
    SessionEnd,
    SpecialCategoryCondition,
    TransferDerogation,
    TransferMechanism,
)
from lawful.policy import Policy

__all__ = ["validate"]

_ID = re.compile(r"[a-z0-9][a-z0-9_.\-]*")


def _warn(path: str, message: str) -> Problem:
    return Problem(path, message, "warning")


def validate(policy: Policy) -> list[Problem]:
    """Every error and warning in ``policy``."""
    problems = list(_ids(policy))
    problems.extend(_entities(policy))
    problems.extend(_age(policy))
    problems.extend(_vendors(policy))
    categories = {c.id: c for c in policy.data_categories}
    for purpose in policy.purposes:
        problems.extend(_purpose(policy, purpose, categories))
    problems.extend(_unused(policy))
    problems.extend(_unsafe_transfers(policy))
    problems.extend(_signals(policy))
    problems.extend(_versions(policy))
    return problems


def _ids(policy: Policy) -> Iterator[Problem]:
    if not policy.id.strip():
        yield Problem("id", "a policy needs an id")
    if not policy.version.strip():
        yield Problem("policy_version", "a policy needs a version, stamped on every consent")
    for table, items, what in (
        ("purposes", policy.purposes, "purpose"),
        ("vendors", policy.vendors, "vendor"),
        ("data_categories", policy.data_categories, "data category"),
    ):
        counts = Counter(item.id for item in items)
        for item_id, count in counts.items():
            if count > 1:
                yield Problem(f"{table}.{item_id}", f'duplicate {what} id "{item_id}"')
            if not _ID.fullmatch(item_id):
                yield Problem(
                    f"{table}.{item_id}",
                    f'invalid {what} id "{item_id}": use lower-case letters, digits, "_", "-", "."',
                )


def _entities(policy: Policy) -> Iterator[Problem]:
    for section, members in policy.controllers.items():
        if not members:
            yield Problem(f"controllers.{section}", "a section needs at least one controller")
        for i, entity in enumerate(members):
            if entity not in policy.entities:
                yield Problem(f"controllers.{section}[{i}]", f'unknown entity "{entity}"')
    if policy.contact.dpo == "not stated":
        yield _warn(
            "contact.dpo", "no contact of the data protection officer stated (Art. 13(1)(b))"
        )


def _age(policy: Policy) -> Iterator[Problem]:
    age = policy.age
    for name in ("minimum_age", "parental_consent_age"):
        value = getattr(age, name)
        if value is not None and not 0 <= value <= 120:
            yield Problem(f"age.{name}", f"expected an age from 0 to 120, got {value}")
    if (
        age.minimum_age is not None
        and age.parental_consent_age is not None
        and age.minimum_age > age.parental_consent_age
    ):
        yield Problem(
            "age.minimum_age",
            f"the minimum age {age.minimum_age} is above the parental-consent age "
            f"{age.parental_consent_age}: parental consent could never apply",
        )


def _vendors(policy: Policy) -> Iterator[Problem]:
    for vendor in policy.vendors:
        where = f"vendors.{vendor.id}"
        if vendor.outside_eea and vendor.transfer is TransferMechanism.NOT_APPLICABLE:
            yield Problem(
                f"{where}.transfer",
                "a transfer outside the EEA needs a mechanism (Chapter V), or "
                '"not_stated" where the policy is silent',
            )
        if vendor.transfer is TransferMechanism.DEROGATION and vendor.derogation is None:
            yield Problem(
                f"{where}.derogation",
                "a derogation must name its Art. 49(1) ground (explicit_consent, contract, ...)",
            )
        if vendor.derogation is not None and vendor.transfer is not TransferMechanism.DEROGATION:
            yield _warn(
                f"{where}.derogation",
                "names a derogation ground, but the transfer mechanism is not a derogation: "
                "the ground is not used",
            )
        if vendor.outside_eea and vendor.transfer is TransferMechanism.NOT_STATED:
            yield _warn(
                f"{where}.transfer",
                f"transfer outside the EEA ({vendor.hosting}) with no mechanism stated "
                "(Art. 13(1)(f), Art. 44)",
            )


def _transfer_problems(policy: Policy, purpose: Purpose, where: str) -> Iterator[Problem]:
    """Art. 49(1), second subparagraph: compelling legitimate interests cover only a
    transfer that is not repetitive, never a purpose that recurs.
    """
    if not purpose.recurring:
        return
    vendors = {v.id: v for v in policy.vendors}
    for i, name in enumerate(purpose.vendors):
        vendor = vendors.get(name)
        if (
            vendor is not None
            and vendor.transfer is TransferMechanism.DEROGATION
            and vendor.derogation is TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS
        ):
            yield Problem(
                f"{where}.vendors[{i}]",
                f'vendor "{name}" transfers on compelling legitimate interests, which Art. '
                "49(1) admits only for a transfer that is not repetitive; this purpose recurs",
            )


def _duration_problems(where: str, purpose: Purpose) -> Iterator[Problem]:
    if purpose.consent_lifetime is not None and purpose.consent_lifetime.is_zero:
        yield Problem(f"{where}.consent_lifetime", "must be a positive duration")
    if not purpose.retention.rules:
        yield Problem(
            f"{where}.retention.rules",
            'state at least one rule, or {kind = "not_stated"} where the policy is silent',
        )
    for i, rule in enumerate(purpose.retention.rules):
        at = f"{where}.retention.rules[{i}]"
        if isinstance(rule, AfterCollection | AfterLastInteraction) and rule.period.is_zero:
            yield Problem(f"{at}.period", "must be a positive duration")
        if isinstance(rule, AfterLastInteraction) and not rule.kinds:
            yield Problem(f"{at}.kinds", "name at least one kind of interaction")
        if isinstance(rule, SessionEnd):
            if rule.inactivity.is_zero:
                yield Problem(f"{at}.inactivity", "must be a positive duration")
            if rule.inactivity.years or rule.inactivity.months:
                yield Problem(
                    f"{at}.inactivity", "a session timeout is in days, hours, minutes or seconds"
                )


def _purpose(
    policy: Policy, purpose: Purpose, categories: Mapping[str, DataCategory]
) -> Iterator[Problem]:
    where = f"purposes.{purpose.id}"
    basis = purpose.basis
    vendor_ids = {v.id for v in policy.vendors}
    if not purpose.statement.strip():
        yield Problem(
            f"{where}.statement", "a purpose needs the statement shown to people (Art. 13(1)(c))"
        )
    for i, vendor in enumerate(purpose.vendors):
        if vendor not in vendor_ids:
            yield Problem(f"{where}.vendors[{i}]", f'unknown vendor "{vendor}"')
    special = []
    for i, category in enumerate(purpose.data):
        found = categories.get(category)
        if found is None:
            yield Problem(f"{where}.data[{i}]", f'unknown data category "{category}"')
        elif found.special:
            special.append(category)
    if (
        purpose.section is not None
        and policy.controllers
        and purpose.section not in policy.controllers
    ):
        yield Problem(f"{where}.section", f'unknown section "{purpose.section}" (see controllers)')
    if policy.subject_categories:
        for i, category in enumerate(purpose.subjects):
            if category not in policy.subject_categories:
                yield Problem(
                    f"{where}.subjects[{i}]", f'unknown data-subject category "{category}"'
                )
    for i, scope in enumerate(purpose.opt_out_scopes):
        if scope not in policy.opt_out_scopes and scope != "all":
            yield Problem(f"{where}.opt_out_scopes[{i}]", f'unknown opt-out scope "{scope}"')
    condition = purpose.special_category_condition
    # Art. 9(1) prohibits special categories unless an Art. 9(2) condition applies as well
    # as the Art. 6 basis; (b)-(j) pair with any basis (C-667/21), (a) needs consent.
    if special and condition is None:
        yield Problem(
            f"{where}.special_category_condition",
            f"uses special-category data ({', '.join(special)}) but names no Art. 9(2) condition",
        )
    if condition is SpecialCategoryCondition.EXPLICIT_CONSENT and basis is not LegalBasis.CONSENT:
        yield Problem(
            f"{where}.special_category_condition",
            "Art. 9(2)(a) explicit consent needs consent as the legal basis",
        )
    if purpose.direct_marketing and purpose.override_admissible:
        yield Problem(
            f"{where}.override_admissible",
            "an objection to direct marketing is absolute (Art. 21(3)); "
            "no override can be admitted",
        )
    if basis is LegalBasis.CONSENT:
        if not (purpose.withdrawal or "").strip():
            yield Problem(
                f"{where}.withdrawal",
                "a consent purpose must say how to withdraw consent (Art. 7(3))",
            )
    else:
        if purpose.per_vendor_consent:
            yield Problem(
                f"{where}.per_vendor_consent", "only a consent purpose asks consent per vendor"
            )
        if purpose.consent_lifetime is not None:
            yield Problem(
                f"{where}.consent_lifetime", "only a consent purpose has a consent lifetime"
            )
    if basis is LegalBasis.LEGITIMATE_INTERESTS:
        if not (purpose.legitimate_interest or "").strip():
            yield Problem(
                f"{where}.legitimate_interest",
                "legitimate interests must name the interest pursued (Art. 13(1)(d))",
            )
        if not purpose.assessment:
            yield _warn(
                f"{where}.assessment",
                "legitimate interests without a reference to the balancing test (Art. 6(1)(f))",
            )
    if purpose.override_admissible and basis not in (
        LegalBasis.LEGITIMATE_INTERESTS,
        LegalBasis.PUBLIC_TASK,
    ):
        yield Problem(
            f"{where}.override_admissible",
            "only purposes on Art. 6(1)(e) or (f) admit an objection, and so an override",
        )
    yield from _transfer_problems(policy, purpose, where)
    yield from _duration_problems(where, purpose)
    if not purpose.retention.stated and not purpose.processor_only:
        yield _warn(f"{where}.retention", "no retention period stated (Art. 13(2)(a))")
    if (
        purpose.device_access
        and basis is LegalBasis.LEGITIMATE_INTERESTS
        and not purpose.strictly_necessary
    ):
        yield _warn(
            f"{where}.device_access",
            "reads or writes the device on legitimate interests without a strictly-necessary "
            "justification: decisions ask for consent (ePrivacy Art. 5(3))",
        )
    if purpose.strictly_necessary and not purpose.device_access:
        yield _warn(
            f"{where}.strictly_necessary",
            "justifies device access that the purpose does not declare",
        )


def _unused(policy: Policy) -> Iterator[Problem]:
    used_vendors = {v for p in policy.purposes for v in p.vendors}
    used_data = {d for p in policy.purposes for d in p.data}
    for vendor in policy.vendors:
        if vendor.id not in used_vendors:
            yield _warn(f"vendors.{vendor.id}", "declared but used by no purpose")
    for category in policy.data_categories:
        if category.id not in used_data:
            yield _warn(f"data_categories.{category.id}", "declared but used by no purpose")


def _unsafe_transfers(policy: Policy) -> Iterator[Problem]:
    # Art. 44, 46(1): what a vendor's missing safeguard costs, purpose by purpose. A
    # processor-only purpose is the client's to decide, and is denied before transfers.
    vendors = {v.id: v for v in policy.vendors}
    for purpose in policy.purposes:
        if purpose.processor_only:
            continue
        for i, vendor_id in enumerate(purpose.vendors):
            vendor = vendors.get(vendor_id)
            if vendor is None or not vendor.outside_eea:
                continue
            if vendor.transfer is TransferMechanism.NOT_STATED:
                yield _warn(
                    f"purposes.{purpose.id}.vendors[{i}]",
                    f"vendor {vendor_id} ({vendor.name}) receives the data outside the EEA with no "
                    "safeguard stated: decisions involving it deny transfer_safeguard_missing "
                    f"(Art. 44, 46(1)); state its mechanism under vendors.{vendor_id}",
                )


def _signals(policy: Policy) -> Iterator[Problem]:
    by_id = {p.id: p for p in policy.purposes}
    purposes = set(by_id)
    vendors = {v.id for v in policy.vendors}
    signals = policy.signals
    for i, binding in enumerate(signals.tcf):
        where = f"signals.tcf[{i}]"
        if binding.purpose not in purposes:
            yield Problem(f"{where}.purpose", f'unknown purpose "{binding.purpose}"')
        if not binding.tcf_purposes:
            yield Problem(f"{where}.tcf_purposes", "name at least one TCF purpose")
        for number in binding.tcf_purposes:
            if not 1 <= number <= 24:
                yield Problem(
                    f"{where}.tcf_purposes", f"TCF purpose ids run from 1 to 24, got {number}"
                )
        bound = by_id.get(binding.purpose)
        if bound is not None and bound.device_access and 1 not in binding.tcf_purposes:
            yield Problem(
                f"{where}.tcf_purposes",
                f'"{binding.purpose}" reads or writes the device, so its binding must include '
                'TCF purpose 1 ("store and/or access information on a device", ePrivacy '
                "Art. 5(3))",
            )
        for vendor, gvl_id in binding.vendors.items():
            if vendor not in vendors:
                yield Problem(f"{where}.vendors.{vendor}", f'unknown vendor "{vendor}"')
            if gvl_id < 1:
                yield Problem(
                    f"{where}.vendors.{vendor}", f"GVL vendor ids are positive, got {gvl_id}"
                )

    for i, binding in enumerate(signals.tcf):
        for vendor, gvl_id in binding.vendors.items():
            if gvl_id > 65_535:
                yield _warn(
                    f"signals.tcf[{i}].vendors.{vendor}",
                    f"GVL vendor id {gvl_id} does not fit a TC string (at most 65535)",
                )
    for name, bindings, known in (
        ("consent_mode", signals.consent_mode, MODE_TYPES),
        ("piwik_pro", signals.piwik_pro, PIWIK_TYPES),
    ):
        for i, signal_binding in enumerate(bindings):
            if signal_binding.signal not in known:
                yield _warn(
                    f"signals.{name}[{i}].signal",
                    f"'{signal_binding.signal}' is not a {name} consent type "
                    f"({', '.join(known)}); the binding never grants",
                )
            for j, purpose in enumerate(signal_binding.purposes):
                if purpose not in purposes:
                    yield Problem(
                        f"signals.{name}[{i}].purposes[{j}]", f'unknown purpose "{purpose}"'
                    )
    if signals.gpc_scope is not None and signals.gpc_scope not in policy.opt_out_scopes:
        yield Problem("signals.gpc_scope", f'unknown opt-out scope "{signals.gpc_scope}"')


def _versions(policy: Policy) -> Iterator[Problem]:
    for path, when in (
        ("effective_from", policy.effective_from),
        *(
            (f"previous_versions[{i}].effective_from", v.effective_from)
            for i, v in enumerate(policy.previous_versions)
        ),
    ):
        if when is not None and when.utcoffset() is None:
            yield Problem(path, "naive datetime; attach a time zone (lawful never guesses one)")
    seen = {policy.version}
    for i, earlier in enumerate(policy.previous_versions):
        if earlier.version in seen:
            yield Problem(
                f"previous_versions[{i}].version",
                f'version "{earlier.version}" appears twice (the current version included)',
            )
        seen.add(earlier.version)
