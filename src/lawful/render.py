"""Render what a policy declares: the settings text, the Art. 30 record, the diff of versions.

The "privacy and consent settings" text, the record of processing activities and
the comparison of two policy versions are all computed from a :class:`lawful.Policy`,
so what is published and what is enforced cannot drift apart.

>>> import lawful
>>> from lawful.render import render_settings
>>> policy = lawful.Policy(
...     id="shop",
...     version="2025-01",
...     title="Shop privacy policy",
...     data_categories=[lawful.DataCategory("email", "Email address")],
...     vendors=[lawful.Vendor("mailer", "Mailer Ltd", hosting="Ireland")],
...     purposes=[
...         lawful.Purpose(
...             "newsletter",
...             "Newsletter",
...             "Send you our offers",
...             lawful.LegalBasis.CONSENT,
...             data=("email",),
...             vendors=("mailer",),
...             withdrawal="Use the unsubscribe link in every email.",
...         )
...     ],
... )
>>> text = render_settings(policy)
>>> print(text.split("### Newsletter")[1].split("- **How long")[0].strip())
- **What for:** Send you our offers
- **Which data:** Email address
- **Which third parties:** Mailer Ltd (third party)
- **Where:** Mailer Ltd: Ireland

Where the policy is silent, the text says ``not stated`` rather than guessing.
"""

from __future__ import annotations

import csv
import enum
import io
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, TypeAlias

import attrs

from lawful import _render_text
from lawful._engine import compare_terms
from lawful._render_text import (
    ROLE_WORDS,
    Block,
    age_words,
    basis_words,
    controllers,
    device_words,
    humanize,
    join,
    md,
    notes_words,
    restriction_words,
    retention_words,
    subjects,
    to_html,
    to_markdown,
    transfer_words,
    vendors_of,
    where,
    withdraw_words,
)
from lawful.model import LegalBasis, Purpose, VendorRole
from lawful.policy import Policy

__all__ = [
    "NOT_STATED",
    "PolicyDiff",
    "PurposeChange",
    "PurposeStatus",
    "RopaFormat",
    "SettingsFormat",
    "diff",
    "render_ropa",
    "render_settings",
]

NOT_STATED = _render_text.NOT_STATED
"""What the rendered texts say where the policy is silent: ``"not stated"``."""

SettingsFormat: TypeAlias = Literal["markdown", "html"]
"""The formats of :func:`render_settings`."""

RopaFormat: TypeAlias = Literal["csv", "markdown"]
"""The formats of :func:`render_ropa`."""

# -- the settings text ------------------------------------------------------------------------


def _purpose_fields(policy: Policy, purpose: Purpose) -> tuple[tuple[str, str], ...]:
    vendors = vendors_of(policy, purpose)
    first = [v.name for v in vendors if v.role is VendorRole.FIRST_PARTY]
    processors = [v.name for v in vendors if v.role is VendorRole.PROCESSOR]
    others = [
        f"{v.name} ({ROLE_WORDS[v.role]})" for v in vendors if v.role is VendorRole.THIRD_PARTY
    ]
    data = [policy.data_category(d) for d in purpose.data]
    fields = [
        ("What for", purpose.statement),
        ("Which data", join(c.title + (" (special category)" if c.special else "") for c in data)),
    ]
    if first:
        fields.append(("First party", join(first)))
    # Art. 28: a processor acts for the controller; only a third party receives the data
    # for its own ends (Art. 4(10)), so the two are never listed as one.
    if processors:
        fields.append(("Processors acting for us (Art. 28)", join(processors)))
    fields += [
        ("Which third parties", join(others, empty="none")),
        ("Where", join(where(v) for v in vendors)),
        ("How long", retention_words(purpose.retention)),
        ("Legal basis", basis_words(purpose)),
        ("How to withdraw or object", withdraw_words(purpose, policy)),
    ]
    if (device := device_words(purpose)) is not None:
        fields.append(("Reads or writes your device", device))
    if (restricted := restriction_words(purpose)) is not None:
        fields.append(("While processing is restricted", restricted))
    if purpose.subjects:
        fields.append(("Who it concerns", subjects(policy, purpose)))
    if notes := notes_words(policy, purpose):
        fields.append(("How we read the policy here", notes))
    return tuple(fields)


def _version_line(policy: Policy) -> str:
    updated = f", last updated {policy.updated.isoformat()}" if policy.updated else ""
    since = policy.effective_from
    effective = f", in force from {since.isoformat()}" if since is not None else ""
    return f"Policy version {policy.version}{updated}{effective}."


def _settings_blocks(policy: Policy) -> list[Block]:
    title = policy.title or policy.id
    blocks = [
        Block("h1", f"Privacy and consent settings: {title}"),
        Block("p", _version_line(policy)),
        Block("h2", "Who is responsible"),
    ]
    who = [(humanize(s), controllers(policy, s)) for s in policy.controllers]
    who += [
        ("Data protection officer", policy.contact.dpo),
        ("Supervisory authority", policy.contact.supervisory_authority),
        ("Your rights", join(policy.contact.rights)),
    ]
    if (age := age_words(policy)) is not None:
        who.append(("Children", age))
    blocks.append(Block("fields", items=tuple(who)))
    sections = list(dict.fromkeys(p.section for p in policy.purposes))
    for section in sections:
        if len(sections) > 1 or section is not None:
            blocks.append(Block("h2", humanize(section) if section else "Other purposes"))
        for purpose in policy.purposes:
            if purpose.section == section:
                blocks.append(Block("h3", purpose.title))
                blocks.append(Block("fields", items=_purpose_fields(policy, purpose)))
    return blocks


def render_settings(policy: Policy, *, format: SettingsFormat = "markdown") -> str:
    """The "privacy and consent settings" text of ``policy``, one entry per purpose.

    For each purpose it says what the data is for, which data, which third parties,
    where they host it, how long it is kept, on which basis, and how to withdraw or
    object; before them, who the controllers are, the DPO, the supervisory authority,
    the rights and the age rules. ``not stated`` marks what the policy does not say.

    Args:
        policy: The policy to render.
        format: ``"markdown"`` or ``"html"`` (a ``<section>`` fragment, every text escaped).

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: ``format`` is not one of the two.
    """
    blocks = _settings_blocks(policy)
    if format == "markdown":
        return to_markdown(blocks)
    if format == "html":
        return to_html(blocks)
    raise ValueError(f"format: expected 'markdown' or 'html', got {format!r}")


# -- the record of processing activities (Art. 30) --------------------------------------------

_ROPA_COLUMNS = (
    "Purpose",
    "Controllers",
    "Data protection officer",
    "Description of the purpose",
    "Legal basis",
    "Categories of data subjects",
    "Categories of personal data",
    "Recipients",
    "Transfers and safeguards",
    "Retention",
    "Security measures",
    "Notes",
)


def _ropa_row(policy: Policy, purpose: Purpose) -> tuple[str, ...]:
    vendors = vendors_of(policy, purpose)
    transfers = [f"{v.name} ({v.hosting}): {transfer_words(v)}" for v in vendors if v.outside_eea]
    notes = notes_words(policy, purpose)
    if (restricted := restriction_words(purpose)) is not None:
        notes = join((notes, f"While processing is restricted: {restricted}."), empty="")
    data = [policy.data_category(d) for d in purpose.data]
    return (
        f"{purpose.title} ({purpose.id})",
        controllers(policy, purpose.section),
        policy.contact.dpo,
        purpose.statement,
        basis_words(purpose),
        subjects(policy, purpose),
        join(c.title + (" (special category, Art. 9)" if c.special else "") for c in data),
        join(f"{v.name} ({ROLE_WORDS[v.role]})" for v in vendors),
        join(transfers, empty="none outside the EEA" if vendors else NOT_STATED),
        retention_words(purpose.retention),
        # Art. 30(1)(g): the measures the policy describes, or "not stated".
        join(policy.security_measures),
        notes,
    )


def render_ropa(policy: Policy, *, format: RopaFormat = "csv") -> str:
    """An Art. 30(1) record of processing activities, one entry per purpose.

    Columns: the controllers and the DPO (a), the purpose and its basis (b), the
    categories of data subjects and of personal data (c), the recipients (d), the
    transfers outside the EEA with their safeguards (e), the retention (f) and the
    security measures (g); ``not stated`` where the policy is silent.

    Args:
        policy: The policy to render.
        format: ``"csv"`` (a header row, then one row per purpose, ending lines with a bare newline)
            or ``"markdown"`` (a table per purpose).

    Returns:
        The record, ending with a newline.

    Raises:
        ValueError: ``format`` is not one of the two.
    """
    rows = [_ropa_row(policy, p) for p in policy.purposes]
    if format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_ROPA_COLUMNS)
        writer.writerows(rows)
        return buffer.getvalue()
    if format == "markdown":
        title = policy.title or policy.id
        out = [f"# Record of processing activities: {md(title)}"]
        out.append(f"Art. 30(1) GDPR. {md(_version_line(policy))}")
        for row in rows:
            table = ["| Field | Record |", "| --- | --- |"]
            table += [
                f"| {name} | {md(value)} |"
                for name, value in zip(_ROPA_COLUMNS[1:], row[1:], strict=True)
            ]
            out += [f"## {md(row[0])}", "\n".join(table)]
        return "\n\n".join(out) + "\n"
    raise ValueError(f"format: expected 'csv' or 'markdown', got {format!r}")


# -- comparing two versions -------------------------------------------------------------------


class PurposeStatus(enum.Enum):
    """How a purpose fares from one policy version to the next."""

    ADDED = "added"
    """Only the new version declares it: nobody consented to it yet."""
    REMOVED = "removed"
    """Only the old version declares it: the new one denies it (``UNKNOWN_PURPOSE``)."""
    CHANGED = "changed"
    """Both declare it, and something about it changed."""
    UNCHANGED = "unchanged"
    """Both declare it identically."""


@attrs.frozen
class PurposeChange:
    """What changed for one purpose, and whether consents given under the old version hold.

    Attributes:
        purpose: The purpose id.
        title: Its title (the new one, or the old one if removed).
        status: Added, removed, changed or unchanged.
        consent_based: Whether the purpose rests on consent (in the new version, or the
            old one if removed).
        changes: One line per change, such as ``vendor added: Omniconvert (omniconvert)``.
        stale: Why consents given under the old version are stale under the new one
            (DESIGN's staleness rule, :func:`lawful._engine.compare_terms`); empty: they stay valid.
    """

    purpose: str
    title: str
    status: PurposeStatus
    consent_based: bool
    changes: tuple[str, ...] = ()
    stale: tuple[str, ...] = ()

    @property
    def consents_remain_valid(self) -> bool | None:
        """Whether consents given under the old version stay valid; ``None`` when none can exist
        or matter (an added or a removed purpose, or one that does not rest on consent).
        """
        if self.status in (PurposeStatus.ADDED, PurposeStatus.REMOVED) or not self.consent_based:
            return None
        return not self.stale


@attrs.frozen
class PolicyDiff:
    """The comparison of two versions of a policy.

    Attributes:
        old_version: The old version string.
        new_version: The new version string.
        purposes: One entry per purpose of either version, new order first.
        problems: Version bookkeeping that would change decisions unexpectedly
            (the new version does not list the old one, or keeps its version string, or
            takes effect before the old one).
        new_effective_from: When the new version takes effect (its ``effective_from``):
            from then on, the consents :attr:`must_ask_again` names are stale, and a
            consent recorded without a version counts as given under the new version.
            ``None`` when the new version does not say.
        old_effective_from: When the old version took effect, if it says.
    """

    old_version: str
    new_version: str
    purposes: tuple[PurposeChange, ...]
    problems: tuple[str, ...] = ()
    new_effective_from: datetime | None = None
    old_effective_from: datetime | None = None

    @property
    def stale_from(self) -> str:
        """One sentence: from when the new version stales which consents."""
        stale = [
            c.purpose for c in self.purposes if c.consent_based and c.consents_remain_valid is False
        ]
        which = ", ".join(stale) if stale else "no purpose"
        if self.new_effective_from is None:
            return (
                f"Takes effect: not stated. Consents given under {self.old_version} are stale "
                f"under {self.new_version} for: {which}; a consent recorded without a version "
                "is judged under the oldest version the policy knows."
            )
        since = self.new_effective_from.isoformat()
        if self.old_version == self.new_version:
            return (
                f"Takes effect: {since}. Consents stamped {self.new_version} are stale "
                f"for: {which}."
            )
        return (
            f"Takes effect: {since}. From then, consents given under {self.old_version} are "
            f"stale for: {which}; a consent recorded without a version before then counts "
            f"as given under {self.old_version}, from then under {self.new_version}."
        )

    @property
    def must_ask_again(self) -> tuple[str, ...]:
        """The consent purposes whose people must be asked (again) under the new version."""
        return tuple(
            c.purpose
            for c in self.purposes
            if c.consent_based
            and (c.status is PurposeStatus.ADDED or c.consents_remain_valid is False)
        )

    def to_markdown(self) -> str:
        """A readable report: per purpose, what changed and whether consents stay valid."""
        out = [f"# Policy diff: {md(self.old_version)} → {md(self.new_version)}"]
        out.extend(f"**Problem:** {md(p)}" for p in self.problems)
        out.append(md(self.stale_from))
        ask = ", ".join(self.must_ask_again) or "nobody"
        out.append(f"Ask for consent again for: {md(ask)}.")
        for change in self.purposes:
            valid = change.consents_remain_valid
            verdict = {
                None: "",
                True: ": consents stay valid",
                False: ": consents become STALE",
            }[valid]
            lines = [
                f"## {md(change.title)} ({md(change.purpose)}), {change.status.value}{verdict}"
            ]
            body = [f"- {md(line)}" for line in change.changes]
            body += [f"- stale because: {md(why)}" for why in change.stale]
            if body:
                lines.append("\n".join(body))
            out.append("\n\n".join(lines))
        return "\n\n".join(out) + "\n"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready form."""
        return {
            "old_version": self.old_version,
            "new_version": self.new_version,
            "old_effective_from": _instant(self.old_effective_from),
            "new_effective_from": _instant(self.new_effective_from),
            "problems": list(self.problems),
            "must_ask_again": list(self.must_ask_again),
            "purposes": [
                {
                    "purpose": c.purpose,
                    "title": c.title,
                    "status": c.status.value,
                    "consent_based": c.consent_based,
                    "consents_remain_valid": c.consents_remain_valid,
                    "changes": list(c.changes),
                    "stale": list(c.stale),
                }
                for c in self.purposes
            ],
        }


def _instant(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _effective_problems(old: Policy, new: Policy) -> list[str]:
    """Version dates that would place consents recorded without a version wrongly."""
    problems: list[str] = []
    was, now = old.effective_from, new.effective_from
    if old.version != new.version and was is not None and now is not None and now <= was:
        problems.append(
            f"the new version takes effect at {now.isoformat()}, not after the old one "
            f"({was.isoformat()}): consents recorded without a version would be judged under "
            "the wrong one"
        )
    record = next((v for v in new.previous_versions if v.version == old.version), None)
    if record is not None and was is not None and record.effective_from != was:
        stated = "none" if record.effective_from is None else record.effective_from.isoformat()
        problems.append(
            f"previous_versions '{old.version}' records effective_from {stated}, but the old "
            f"policy took effect at {was.isoformat()}"
        )
    return problems


def _vendor_name(policy: Policy, vendor_id: str) -> str:
    try:
        return f"{policy.vendor(vendor_id).name} ({vendor_id})"
    except KeyError:  # pragma: no cover - a valid policy declares its vendors
        return vendor_id


def _category_name(policy: Policy, category_id: str) -> str:
    try:
        return f"{policy.data_category(category_id).title} ({category_id})"
    except KeyError:  # pragma: no cover - a valid policy declares its categories
        return category_id


def _set_changes(
    what: str, before: Sequence[str], after: Sequence[str], name: Callable[[str], str]
) -> list[str]:
    lines = [f"{what} added: {name(x)}" for x in after if x not in before]
    lines += [f"{what} removed: {name(x)}" for x in before if x not in after]
    return lines


def _value(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple):
        return ", ".join(_value(v) for v in value) or "none"
    return str(value)


_COMPARED = (
    "title",
    "statement",
    "basis",
    "section",
    "consent_lifetime",
    "per_vendor_consent",
    "withdrawal",
    "legitimate_interest",
    "assessment",
    "direct_marketing",
    "override_admissible",
    "special_category_condition",
    "device_access",
    "strictly_necessary",
    "processor_only",
    "restriction_exceptions",
    "recurring",
)


def _purpose_changes(old: Policy, new: Policy, before: Purpose, after: Purpose) -> list[str]:
    lines = [
        f"{field.replace('_', ' ')}: {_value(getattr(before, field))} → "
        f"{_value(getattr(after, field))}"
        for field in _COMPARED
        if getattr(before, field) != getattr(after, field)
    ]
    lines += _set_changes(
        "vendor",
        before.vendors,
        after.vendors,
        lambda v: _vendor_name(new if v in after.vendors else old, v),
    )
    lines += _set_changes(
        "data category",
        before.data,
        after.data,
        lambda c: _category_name(new if c in after.data else old, c),
    )
    lines += _set_changes("data-subject category", before.subjects, after.subjects, str)
    lines += _set_changes("opt-out scope", before.opt_out_scopes, after.opt_out_scopes, str)
    if before.notes != after.notes:
        lines.append("notes (how the policy is read) changed")
    if before.retention != after.retention:
        lines.append(
            f"retention: {retention_words(before.retention)} → {retention_words(after.retention)}"
        )
    # A recipient that now hosts elsewhere, or transfers on another safeguard, is a change
    # people must be told about (Art. 13(1)(e)-(f)), though not one that stales a consent.
    for vendor_id in after.vendors:
        if vendor_id in before.vendors:
            was, now = old.vendor(vendor_id), new.vendor(vendor_id)
            for field in ("name", "role", "hosting", "outside_eea", "transfer", "derogation"):
                if getattr(was, field) != getattr(now, field):
                    lines.append(
                        f"vendor {vendor_id} {field.replace('_', ' ')}: "
                        f"{_value(getattr(was, field))} → {_value(getattr(now, field))}"
                    )
    for category_id in after.data:
        if category_id in before.data:
            was_special = old.data_category(category_id).special
            if was_special != new.data_category(category_id).special:
                lines.append(
                    f"data category {category_id} special (Art. 9): "
                    f"{_value(was_special)} → {_value(not was_special)}"
                )
    return lines


def _stale(
    old: Policy, new: Policy, before: Purpose, after: Purpose
) -> tuple[tuple[str, ...], list[str]]:
    """Why a consent stamped with the old version is stale under the new one, and problems."""
    problems: list[str] = []
    truth = compare_terms(before.terms, after.terms)
    if old.version == new.version:
        # The engine takes a consent stamped with its own version at face value.
        if truth:
            problems.append(
                f"'{after.id}': the terms changed but the version is still '{new.version}', so "
                "consents stamped with it would be judged as given under the new terms; "
                "give the new version its own policy_version"
            )
        return truth, problems
    record = next((v for v in new.previous_versions if v.version == old.version), None)
    if record is None:
        unknown = (
            f"the new version does not list '{old.version}' among its previous_versions, "
            "so every consent stamped with it is stale"
        )
        return (unknown, *truth), problems
    if record.purposes.get(after.id) != before.terms:
        problems.append(
            f"'{after.id}': previous_versions '{old.version}' records other terms than the old "
            "policy declares; decisions judge consents by that record"
        )
    context = after.context
    judged = context.stale.get(old.version, truth) if context is not None else truth
    return tuple(judged), problems


def diff(old: Policy, new: Policy) -> PolicyDiff:
    """Compare two versions of a policy, purpose by purpose.

    For each purpose it lists what changed, and whether consents given under ``old``
    stay valid under ``new``: a consent is stale when the new terms go beyond those
    consented to (a new vendor or data category, a changed basis or statement) or
    when ``new`` does not know ``old``'s version. Removing a vendor or a data category
    leaves consents valid. List ``old`` in ``new.previous_versions`` to keep them.

    Args:
        old: The version people consented under.
        new: The version about to be published.

    Returns:
        The :class:`PolicyDiff`; :attr:`PolicyDiff.must_ask_again` names whom to ask.
    """
    changes: list[PurposeChange] = []
    problems: list[str] = []
    known = {new.version, *(v.version for v in new.previous_versions)}
    if old.version not in known:
        problems.append(
            f"the new version does not list '{old.version}' among its previous_versions: every "
            "consent stamped with it is stale; list it, with its purpose terms, to keep them"
        )
    old_ids = set(old.purpose_ids)
    for after in new.purposes:
        consent = after.basis is LegalBasis.CONSENT
        if after.id not in old_ids:
            changes.append(PurposeChange(after.id, after.title, PurposeStatus.ADDED, consent))
            continue
        before = old.purpose(after.id)
        lines = _purpose_changes(old, new, before, after)
        stale, found = _stale(old, new, before, after)
        if consent:
            problems.extend(found)
        status = PurposeStatus.CHANGED if lines else PurposeStatus.UNCHANGED
        changes.append(
            PurposeChange(
                after.id, after.title, status, consent, tuple(lines), stale if consent else ()
            )
        )
    new_ids = set(new.purpose_ids)
    gone = ("the new version no longer declares it: processing is denied (unknown_purpose)",)
    changes.extend(
        PurposeChange(p.id, p.title, PurposeStatus.REMOVED, p.basis is LegalBasis.CONSENT, gone)
        for p in old.purposes
        if p.id not in new_ids
    )
    problems.extend(_effective_problems(old, new))
    unique = tuple(dict.fromkeys(problems))
    return PolicyDiff(
        old.version,
        new.version,
        tuple(changes),
        unique,
        new_effective_from=new.effective_from,
        old_effective_from=old.effective_from,
    )
