"""Words and a tiny document model shared by :mod:`lawful.render` (private).

Everything here turns policy values into the phrases people read; ``not stated``
marks what the policy does not say, never a guess.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Literal

import attrs

from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    AgeScope,
    LegalBasis,
    NoPeriodStated,
    Purpose,
    RestrictionException,
    Retention,
    RetentionCombine,
    RetentionRule,
    SessionEnd,
    TransferDerogation,
    TransferMechanism,
    Vendor,
    VendorRole,
)
from lawful.policy import Policy

__all__ = [
    "BASIS_WORDS",
    "DEROGATION_WORDS",
    "NOT_STATED",
    "RESTRICTION_WORDS",
    "ROLE_WORDS",
    "TRANSFER_WORDS",
    "Block",
    "age_words",
    "basis_words",
    "controllers",
    "device_words",
    "humanize",
    "join",
    "md",
    "notes_words",
    "restriction_words",
    "retention_words",
    "subjects",
    "to_html",
    "to_markdown",
    "transfer_words",
    "vendors_of",
    "where",
    "withdraw_words",
]

NOT_STATED = "not stated"
"""What the rendered texts say where the policy is silent."""

BASIS_WORDS = {
    LegalBasis.CONSENT: "your consent",
    LegalBasis.CONTRACT: "a contract with you",
    LegalBasis.LEGAL_OBLIGATION: "a legal obligation",
    LegalBasis.VITAL_INTERESTS: "vital interests",
    LegalBasis.PUBLIC_TASK: "a task in the public interest",
    LegalBasis.LEGITIMATE_INTERESTS: "legitimate interests",
}
ROLE_WORDS = {
    VendorRole.FIRST_PARTY: "first party",
    VendorRole.PROCESSOR: "processor",
    VendorRole.THIRD_PARTY: "third party",
}
TRANSFER_WORDS = {
    TransferMechanism.NOT_APPLICABLE: "no transfer outside the EEA",
    TransferMechanism.ADEQUACY: "adequacy decision (Art. 45)",
    TransferMechanism.STANDARD_CONTRACTUAL_CLAUSES: "standard contractual clauses (Art. 46(2)(c))",
    TransferMechanism.BINDING_CORPORATE_RULES: "binding corporate rules (Art. 47)",
    TransferMechanism.DEROGATION: "derogation for a specific situation (Art. 49)",
    TransferMechanism.NOT_STATED: f"safeguard {NOT_STATED}",
}
DEROGATION_WORDS = {
    TransferDerogation.EXPLICIT_CONSENT: "your explicit consent to the transfer (Art. 49(1)(a))",
    TransferDerogation.CONTRACT: "necessary for a contract with you (Art. 49(1)(b))",
    TransferDerogation.CONTRACT_IN_INTEREST: (
        "necessary for a contract concluded in your interest (Art. 49(1)(c))"
    ),
    TransferDerogation.PUBLIC_INTEREST: "important reasons of public interest (Art. 49(1)(d))",
    TransferDerogation.LEGAL_CLAIMS: "legal claims (Art. 49(1)(e))",
    TransferDerogation.VITAL_INTERESTS: "vital interests (Art. 49(1)(f))",
    TransferDerogation.PUBLIC_REGISTER: "a public register (Art. 49(1)(g))",
    TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS: (
        "compelling legitimate interests, for a transfer that is not repetitive "
        "(Art. 49(1), second subparagraph)"
    ),
}
RESTRICTION_WORDS = {
    RestrictionException.LEGAL_CLAIMS: "for legal claims",
    RestrictionException.DATA_SUBJECT_REQUEST: "to answer your own request",
    RestrictionException.PROTECTION_OF_OTHERS: "to protect the rights of another person",
    RestrictionException.IMPORTANT_PUBLIC_INTEREST: "for important reasons of public interest",
}


# -- words ------------------------------------------------------------------------------------


def humanize(identifier: str) -> str:
    words = re.sub(r"[_\-.]+", " ", identifier).strip()
    return words[:1].upper() + words[1:]


def join(items: Iterable[str], empty: str = NOT_STATED) -> str:
    listed = [item for item in items if item]
    return "; ".join(listed) if listed else empty


def rule_words(rule: RetentionRule) -> str:
    match rule:
        case AfterCollection(period=period):
            return f"{period} after collection"
        case AfterLastInteraction(period=period, kinds=kinds):
            words = ", ".join(kind.replace("_", " ") for kind in kinds)
            return f"{period} after the last interaction ({words})"
        case SessionEnd(inactivity=inactivity):
            return f"until the end of the browsing session ({inactivity} without activity)"
        case NoPeriodStated(note=note):
            return f"{NOT_STATED} ({note})" if note else NOT_STATED
    raise AssertionError(rule)  # pragma: no cover - the union is closed


def retention_words(retention: Retention) -> str:
    """The retention rules as one phrase, such as ``60 months after collection``."""
    phrases = [rule_words(rule) for rule in retention.rules]
    if len(phrases) <= 1:
        return phrases[0] if phrases else NOT_STATED
    if retention.combine is RetentionCombine.FIRST:
        return "the first that applies: " + "; otherwise ".join(phrases)
    return "whichever comes first: " + "; ".join(phrases)


def transfer_words(vendor: Vendor) -> str:
    """The safeguard of a vendor's transfer, with its Art. 49 ground for a derogation."""
    words = TRANSFER_WORDS[vendor.transfer]
    if vendor.transfer is TransferMechanism.DEROGATION:
        ground = vendor.derogation
        words += ": " + (DEROGATION_WORDS[ground] if ground is not None else f"ground {NOT_STATED}")
    return words


def where(vendor: Vendor) -> str:
    if not vendor.outside_eea:
        return f"{vendor.name}: {vendor.hosting}"
    return f"{vendor.name}: {vendor.hosting} (outside the EEA; {transfer_words(vendor)})"


def restriction_words(purpose: Purpose) -> str | None:
    """What continues while processing is restricted, where the purpose declares an
    Art. 18(2) exception; ``None`` where it declares none (storage only).
    """
    if not purpose.restriction_exceptions:
        return None
    reasons = ", ".join(RESTRICTION_WORDS[e] for e in purpose.restriction_exceptions)
    return f"besides storing the data, we may still process it {reasons} (Art. 18(2))"


def notes_words(policy: Policy, purpose: Purpose) -> str:
    """How the policy was read for a purpose and the vendors it involves (its ``notes``)."""
    parts = [purpose.notes.strip()] if purpose.notes.strip() else []
    parts += [
        f"{v.name}: {v.notes.strip()}" for v in vendors_of(policy, purpose) if v.notes.strip()
    ]
    return " ".join(parts)


def basis_words(purpose: Purpose) -> str:
    if purpose.processor_only:
        return (
            "we process this only on behalf of our clients, as their processor (Art. 28); "
            "the client decides the purpose and the basis"
        )
    text = f"{BASIS_WORDS[purpose.basis]} ({purpose.basis.article} GDPR)"
    if purpose.basis is LegalBasis.LEGITIMATE_INTERESTS:
        text += f"; the interest pursued: {purpose.legitimate_interest or NOT_STATED}"
        text += f"; balancing test: {purpose.assessment or NOT_STATED}"
    if purpose.consent_lifetime is not None:
        text += f"; a consent lasts {purpose.consent_lifetime}"
    if purpose.per_vendor_consent:
        text += "; asked for each third party separately"
    if purpose.special_category_condition is not None:
        text += f"; special categories under Art. 9(2)({purpose.special_category_condition.value})"
    return text


def _sentence(text: str) -> str:
    return text.strip().rstrip(".") + "."


def withdraw_words(purpose: Purpose, policy: Policy) -> str:
    parts: list[str] = []
    if purpose.withdrawal:
        parts.append(_sentence(purpose.withdrawal))
    if purpose.processor_only:
        # Art. 28(3)(e): the processor helps the controller answer; the client decides.
        parts.append("Exercise your rights with our client, the controller; we assist it.")
    elif purpose.basis is LegalBasis.CONSENT:
        if not purpose.withdrawal:
            parts.append(f"How to withdraw: {NOT_STATED}.")
        # Art. 7(3) must be said; a policy text that already says it is not repeated.
        if "lawful" in (purpose.withdrawal or "").lower():
            parts[0] = parts[0].removesuffix(".") + " (Art. 7(3))."
        else:
            parts.append(
                "Withdrawing does not affect the lawfulness of processing before it (Art. 7(3))."
            )
    elif purpose.direct_marketing:
        parts.append("You may object at any time, and we then stop (Art. 21(2)-(3)).")
    elif purpose.basis in (LegalBasis.LEGITIMATE_INTERESTS, LegalBasis.PUBLIC_TASK):
        if purpose.override_admissible:
            parts.append(
                "You may object (Art. 21(1)); we stop unless we show compelling legitimate "
                "grounds that override your interests, rights and freedoms."
            )
        else:
            parts.append("You may object (Art. 21(1)), and we then stop.")
    else:
        parts.append("The right to object (Art. 21) does not apply to this basis.")
    for scope in purpose.opt_out_scopes:
        found = policy.opt_out_scopes.get(scope)
        title = found.title if found is not None else humanize(scope)
        about = found.description.strip().rstrip(".") if found is not None else ""
        parts.append(f"Opt-out: {title} ({about})." if about else f"Opt-out: {title}.")
    return " ".join(parts)


def device_words(purpose: Purpose) -> str | None:
    if not purpose.device_access:
        return None
    if purpose.strictly_necessary:
        why = purpose.strictly_necessary.strip().rstrip(".")
        cite = "" if "Art. 5(3)" in why else " (ePrivacy Art. 5(3))"
        return f"yes, as strictly necessary: {why}{cite}"
    return "yes, only with your consent (ePrivacy Art. 5(3))"


def vendors_of(policy: Policy, purpose: Purpose) -> list[Vendor]:
    return [policy.vendor(v) for v in purpose.vendors]


def controllers(policy: Policy, section: str | None) -> str:
    if section is None or section not in policy.controllers:
        # A policy without sections has one set of controllers: all of them.
        ids: Sequence[str] = list(dict.fromkeys(e for s in policy.controllers.values() for e in s))
    else:
        ids = policy.controllers[section]
    entities = [policy.entities[e] for e in ids if e in policy.entities]
    # The country is shown only where the address does not already name it.
    return join(", ".join(x for x in (e.name, e.address or e.country) if x) for e in entities)


def subjects(policy: Policy, purpose: Purpose) -> str:
    # An empty list covers every category the policy declares (Purpose.subjects).
    ids = purpose.subjects or tuple(policy.subject_categories)
    return join((policy.subject_categories.get(s) or humanize(s)).rstrip(".") for s in ids)


# Art. 8(1): a child's own consent counts from 16 (a Member State may lower it to 13).
_ART_8_AGE = 16


def age_words(policy: Policy) -> str | None:
    age = policy.age
    parts = []
    if age.minimum_age is not None:
        parts.append(f"we do not process the data of anyone under {age.minimum_age}")
    if age.parental_consent_age is not None:
        parts.append(
            f"up to and including the age of {age.parental_consent_age}, "
            "a holder of parental responsibility must consent"
        )
    if not parts:
        return None
    scope = "consent-based purposes" if age.scope is AgeScope.CONSENT_PURPOSES else "all purposes"
    if age.sections:
        scope += " of " + ", ".join(humanize(s) for s in age.sections)
    # An age rule wider than Art. 8 (more than consent, or above 16) is the policy's own.
    beyond = age.scope is not AgeScope.CONSENT_PURPOSES or (
        age.parental_consent_age is not None and age.parental_consent_age >= _ART_8_AGE
    )
    cite = "a rule of this policy (age), wider than Art. 8 GDPR" if beyond else "Art. 8"
    return "; ".join(parts) + f" ({scope}; {cite})"


# -- a tiny document model, written as markdown or HTML ---------------------------------------


@attrs.frozen
class Block:
    kind: Literal["h1", "h2", "h3", "p", "fields", "bullets"]
    text: str = ""
    items: tuple[tuple[str, str], ...] = ()


MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md(text: str) -> str:
    return MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def to_markdown(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            out.append("#" * int(block.kind[1]) + " " + md(block.text))
        elif block.kind == "p":
            out.append(md(block.text))
        elif block.kind == "fields":
            out.append("\n".join(f"- **{md(k)}:** {md(v)}" for k, v in block.items))
        else:
            out.append("\n".join(f"- {md(v)}" for _, v in block.items))
    return "\n\n".join(out) + "\n"


def to_html(blocks: Sequence[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            out.append(f"<{block.kind}>{html.escape(block.text)}</{block.kind}>")
        elif block.kind == "p":
            out.append(f"<p>{html.escape(block.text)}</p>")
        elif block.kind == "fields":
            rows = "".join(
                f"\n  <dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in block.items
            )
            out.append(f"<dl>{rows}\n</dl>")
        else:
            rows = "".join(f"\n  <li>{html.escape(v)}</li>" for _, v in block.items)
            out.append(f"<ul>{rows}\n</ul>")
    body = "\n".join(out)
    return f'<section class="lawful-privacy-settings">\n{body}\n</section>\n'
