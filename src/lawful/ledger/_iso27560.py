"""Consent records others can read: ISO/IEC TS 27560 records in JSON-LD with W3C DPV terms.

The structure follows the W3C DPV community group's guide to implementing ISO/IEC TS
27560:2023 with DPV (https://w3id.org/dpv/guides/consent-27560): one
``dpv:ConsentRecord`` per consent a subject gave or refused, with its schema version
(``dct:conformsTo``), record id (``dct:identifier``), data subject, controllers,
jurisdiction and applicable law, notice and its language, the process consented to
(purpose, legal basis, personal data, recipients, transfers with their mechanism and
third country, retention, how to withdraw) and the consent's states
(``dpv:hasConsentStatus``: given, withdrawn, expired, invalidated) each with its time,
who indicated it and how. Every term is a DPV (``https://w3id.org/dpv#``) or DPV EU GDPR
(``https://w3id.org/dpv/legal/eu/gdpr#``) IRI; the ``@context`` is inline, so reading a
record never fetches anything. Pure: the instant of the export is an argument.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import quote

from lawful._render_text import retention_words, withdraw_words
from lawful._time import require_aware
from lawful.duration import Duration
from lawful.events import (
    ConsentGiven,
    ConsentWithdrawn,
    Event,
    TransferConsentGiven,
    TransferConsentWithdrawn,
)
from lawful.model import (
    LegalBasis,
    SpecialCategoryCondition,
    TransferDerogation,
    TransferMechanism,
    Vendor,
    VendorRole,
)
from lawful.policy import Policy

__all__ = ["SCHEMA", "iso27560_records"]

SCHEMA: Final = "https://w3id.org/dpv/schema/dpv-27560#record"
"""The schema version (ISO/IEC TS 27560 ``schema_version``) the records conform to."""

_DPV = "https://w3id.org/dpv#"
_GDPR = "https://w3id.org/dpv/legal/eu/gdpr#"
_CONTEXT: Final[Mapping[str, str]] = {
    "dpv": _DPV,
    "eu-gdpr": _GDPR,
    "legal-eu": "https://w3id.org/dpv/legal/eu#",
    "loc": "https://w3id.org/dpv/loc#",
    "dct": "http://purl.org/dc/terms/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
# A fixed namespace: the same subject, policy and consent always get the same record id,
# so a receipt issued again names the same record.
_RECORDS = uuid.UUID("6f1b3c52-2d0e-4a59-9a57-3c1f0e2b7d41")

_BASIS: Final[Mapping[LegalBasis, tuple[str, str]]] = {
    LegalBasis.CONSENT: ("dpv:Consent", "eu-gdpr:A6-1-a"),
    LegalBasis.CONTRACT: ("dpv:Contract", "eu-gdpr:A6-1-b"),
    LegalBasis.LEGAL_OBLIGATION: ("dpv:LegalObligation", "eu-gdpr:A6-1-c"),
    LegalBasis.VITAL_INTERESTS: ("dpv:VitalInterest", "eu-gdpr:A6-1-d"),
    LegalBasis.PUBLIC_TASK: ("dpv:PublicInterest", "eu-gdpr:A6-1-e"),
    LegalBasis.LEGITIMATE_INTERESTS: ("dpv:LegitimateInterest", "eu-gdpr:A6-1-f"),
}
_MECHANISM: Final[Mapping[TransferMechanism, str]] = {
    TransferMechanism.ADEQUACY: "eu-gdpr:A45-3",
    TransferMechanism.STANDARD_CONTRACTUAL_CLAUSES: "eu-gdpr:A46-2-c",
    TransferMechanism.BINDING_CORPORATE_RULES: "eu-gdpr:A46-2-b",
}
_DEROGATION: Final[Mapping[TransferDerogation, str]] = {
    TransferDerogation.EXPLICIT_CONSENT: "eu-gdpr:A49-1-a",
    TransferDerogation.CONTRACT: "eu-gdpr:A49-1-b",
    TransferDerogation.CONTRACT_IN_INTEREST: "eu-gdpr:A49-1-c",
    TransferDerogation.PUBLIC_INTEREST: "eu-gdpr:A49-1-d",
    TransferDerogation.LEGAL_CLAIMS: "eu-gdpr:A49-1-e",
    TransferDerogation.VITAL_INTERESTS: "eu-gdpr:A49-1-f",
    TransferDerogation.PUBLIC_REGISTER: "eu-gdpr:A49-1-g",
    # DPV names Art. 49(1)'s second subparagraph A49-2.
    TransferDerogation.COMPELLING_LEGITIMATE_INTERESTS: "eu-gdpr:A49-2",
}
_ROLE: Final[Mapping[VendorRole, str]] = {
    VendorRole.FIRST_PARTY: "dpv:DataController",
    VendorRole.PROCESSOR: "dpv:DataProcessor",
    VendorRole.THIRD_PARTY: "dpv:ThirdParty",
}


def _ref(curie: str) -> dict[str, str]:
    return {"@id": curie}


def _time(moment: datetime) -> dict[str, str]:
    # ISO/IEC TS 27560 asks for UTC event times.
    return {"@value": moment.astimezone(UTC).isoformat(), "@type": "xsd:dateTime"}


def _iri(*parts: str) -> str:
    return "urn:lawful:" + ":".join(quote(part, safe="") for part in parts)


def _lifetime(duration: Duration) -> dict[str, object]:
    return {"@type": "dpv:TemporalDuration", "rdf:value": duration.iso()}


class _Builder:
    """The records of one subject under one policy, as JSON-LD nodes."""

    def __init__(
        self, policy: Policy, subject_id: str, notice_url: str | None, language: str
    ) -> None:
        self.policy = policy
        self.subject_id = subject_id
        self.notice_url = notice_url
        self.language = language

    # -- shared nodes ----------------------------------------------------------------------

    def subject(self) -> dict[str, object]:
        return {
            "@id": _iri("subject", self.subject_id),
            "@type": "dpv:DataSubject",
            "dct:identifier": self.subject_id,
        }

    def notice(self, version: str | None = None) -> dict[str, object]:
        version = version or self.policy.version
        node: dict[str, object] = {
            "@id": self.notice_url or _iri("policy", self.policy.id, "version", version),
            "@type": ["dpv:ConsentNotice", "dpv:PrivacyNotice"],
            "dct:identifier": self.policy.id,
            "dct:hasVersion": version,
            "dct:language": self.language,
        }
        if self.policy.title:
            node["dct:title"] = self.policy.title
        if version == self.policy.version and self.policy.updated is not None:
            node["dct:date"] = {"@value": self.policy.updated.isoformat(), "@type": "xsd:date"}
        return node

    def controllers(self, section: str | None) -> list[dict[str, object]]:
        ids = self.policy.controllers.get(section or "", ())
        if not ids:
            # No section named: every controller the policy names, none left out.
            ids = tuple(dict.fromkeys(e for ids in self.policy.controllers.values() for e in ids))
        out: list[dict[str, object]] = []
        for entity_id in ids:
            entity = self.policy.entities.get(entity_id)
            node: dict[str, object] = {
                "@id": _iri("policy", self.policy.id, "entity", entity_id),
                "@type": ["dpv:DataController", "dpv:LegalEntity"],
                "dct:identifier": entity_id,
            }
            if entity is not None:
                node["dpv:hasName"] = entity.name
                if entity.address:
                    node["dpv:hasAddress"] = entity.address
            out.append(node)
        return out

    def vendor(self, vendor_id: str) -> dict[str, object]:
        node: dict[str, object] = {
            "@id": _iri("policy", self.policy.id, "vendor", vendor_id),
            "dct:identifier": vendor_id,
        }
        try:
            vendor = self.policy.vendor(vendor_id)
        except KeyError:
            node["@type"] = "dpv:Recipient"
            return node
        node["@type"] = ["dpv:Recipient", _ROLE[vendor.role]]
        node["dpv:hasName"] = vendor.name
        node["dct:spatial"] = vendor.hosting
        return node

    def transfer(self, vendor: Vendor) -> dict[str, object]:
        """A Chapter V transfer to ``vendor``: its third country and its mechanism."""
        node: dict[str, object] = {
            "@type": "dpv:Transfer",
            "dpv:hasRecipient": _ref(_iri("policy", self.policy.id, "vendor", vendor.id)),
            "dpv:hasThirdCountry": {
                "@type": "dpv:ThirdCountry",
                # Where the policy says the vendor hosts the data, in its own words.
                "dct:description": vendor.hosting,
            },
            "dct:description": f"transfer mechanism: {vendor.transfer.value}",
        }
        if vendor.transfer is TransferMechanism.DEROGATION and vendor.derogation is not None:
            node["dpv:hasLegalBasis"] = [
                _ref("dpv:DataTransferLegalBasis"),
                _ref(_DEROGATION[vendor.derogation]),
            ]
        elif vendor.transfer in _MECHANISM:
            node["dpv:hasLegalBasis"] = [
                _ref("dpv:DataTransferLegalBasis"),
                _ref(_MECHANISM[vendor.transfer]),
            ]
        # NOT_STATED: no basis is claimed; the decision denies such a transfer (Art. 44).
        return node

    def process(self, purpose_id: str, vendor_ids: Iterable[str] | None) -> dict[str, object]:
        """The processing a consent covers: what the policy declares for the purpose."""
        node: dict[str, object] = {"@type": "dpv:Process"}
        purpose_node: dict[str, object] = {
            "@id": _iri("policy", self.policy.id, "purpose", purpose_id),
            "@type": "dpv:Purpose",
            "dct:identifier": purpose_id,
        }
        node["dpv:hasPurpose"] = purpose_node
        if purpose_id not in self.policy.purpose_ids:
            # A consent for a purpose the policy does not declare: exported as recorded
            # (Art. 15), with nothing the policy would have to say about it.
            if vendor_ids is not None:
                node["dpv:hasRecipient"] = [self.vendor(v) for v in vendor_ids]
            return node
        purpose = self.policy.purpose(purpose_id)
        purpose_node["dct:title"] = purpose.title
        purpose_node["dct:description"] = purpose.statement
        basis = list(_BASIS[purpose.basis])
        if purpose.special_category_condition is SpecialCategoryCondition.EXPLICIT_CONSENT:
            basis += ["dpv:ExplicitlyExpressedConsent", "eu-gdpr:A9-2-a"]
        node["dpv:hasLegalBasis"] = [_ref(b) for b in basis]
        data = []
        for category_id in purpose.data:
            category = self.policy.data_category(category_id)
            kind = "dpv:SpecialCategoryPersonalData" if category.special else "dpv:PersonalData"
            data.append(
                {
                    "@id": _iri("policy", self.policy.id, "data", category_id),
                    "@type": kind,
                    "dct:identifier": category_id,
                    "dct:title": category.title,
                }
            )
        node["dpv:hasPersonalData"] = data
        vendors = purpose.vendors if vendor_ids is None else tuple(vendor_ids)
        node["dpv:hasRecipient"] = [self.vendor(v) for v in vendors]
        transfers = [
            self.transfer(self.policy.vendor(v))
            for v in vendors
            if v in {d.id for d in self.policy.vendors} and self.policy.vendor(v).outside_eea
        ]
        if transfers:
            node["dpv:hasProcessing"] = transfers
        node["dpv:hasStorageCondition"] = {
            "@type": "dpv:StorageDuration",
            "dct:description": retention_words(purpose.retention),
        }
        control: dict[str, object] = {
            "@type": "dpv:WithdrawConsent",
            "dct:description": withdraw_words(purpose, self.policy),
        }
        if self.notice_url is not None:
            control["dpv:isExercisedAt"] = self.notice_url
        node["dpv:hasConsentControl"] = control
        return node

    def record(
        self,
        key: tuple[str, ...],
        process: dict[str, object],
        states: list[dict[str, object]],
        section: str | None,
        versions: Iterable[str],
    ) -> dict[str, object]:
        record_id = str(uuid.uuid5(_RECORDS, json.dumps([self.subject_id, self.policy.id, *key])))
        notices = [self.notice(v) for v in dict.fromkeys(versions)] or [self.notice()]
        return {
            "@id": f"urn:uuid:{record_id}",
            "@type": "dpv:ConsentRecord",
            "dct:conformsTo": _ref(SCHEMA),
            "dct:identifier": record_id,
            "dpv:hasDataSubject": self.subject(),
            "dpv:hasDataController": self.controllers(section),
            "dpv:hasJurisdiction": _ref("loc:EU"),
            "dpv:hasApplicableLaw": _ref("legal-eu:law-GDPR"),
            "dpv:hasNotice": notices,
            "dpv:hasProcess": process,
            "dpv:hasConsentStatus": states,
        }


def _state(
    kind: str, event: Event, *, method: str | None = None, extra: Iterable[str] = ()
) -> dict[str, object]:
    node: dict[str, object] = {
        "@type": [kind, *extra],
        "dpv:isIndicatedAtTime": _time(event.at),
        "dpv:isIndicatedBy": _ref("dpv:DataSubject"),
    }
    if event.id is not None:
        node["dct:identifier"] = event.id
    if event.recorded_at is not None:
        node["dct:created"] = _time(event.recorded_at)
    if method is not None:
        node["dpv:hasIndicationMethod"] = method
    return node


def _consent_states(
    builder: _Builder, purpose_id: str, events: list[Event], at: datetime
) -> tuple[list[dict[str, object]], list[str]]:
    """The states of one purpose's consent, in time order, and the notice versions."""
    policy = builder.policy
    lifetime = (
        policy.purpose(purpose_id).consent_lifetime if purpose_id in policy.purpose_ids else None
    )
    states: list[dict[str, object]] = []
    versions: list[str] = []
    granted: ConsentGiven | None = None

    def expire_before(moment: datetime | None) -> None:
        nonlocal granted
        if granted is None or lifetime is None:
            return
        # A grant takes effect at the later of when it was given and recorded.
        start = max(granted.at, granted.recorded_at or granted.at)
        end = lifetime.after(start)
        if end <= at and (moment is None or end <= moment):
            states.append(
                {
                    "@type": "dpv:ConsentExpired",
                    "dpv:isIndicatedAtTime": _time(end),
                    "dct:description": f"the consent lifetime of {lifetime} ran out",
                }
            )
            granted = None

    for event in sorted(events, key=lambda e: (e.at, type(e).rank)):
        expire_before(event.at)
        if isinstance(event, ConsentGiven):
            if not event.method.affirmative:
                # Art. 4(11), recital 32, Planet49: this grants nothing.
                states.append(_state("dpv:ConsentInvalidated", event, method=event.method.value))
                continue
            extra = ["dpv:ExplicitlyExpressedConsent" if event.explicit else "dpv:ExpressedConsent"]
            state = _state("dpv:ConsentGiven", event, method=event.method.value, extra=extra)
            if lifetime is not None:
                state["dpv:hasDuration"] = _lifetime(lifetime)
            if event.vendor is not None:
                state["dpv:hasRecipient"] = _ref(_iri("policy", policy.id, "vendor", event.vendor))
            version = event.policy_version or policy.version
            versions.append(version)
            state["dpv:hasNotice"] = _ref(
                builder.notice_url or _iri("policy", policy.id, "version", version)
            )
            states.append(state)
            granted = event
        elif isinstance(event, ConsentWithdrawn):
            state = _state("dpv:ConsentWithdrawn", event)
            if event.vendor is not None:
                state["dpv:hasRecipient"] = _ref(_iri("policy", policy.id, "vendor", event.vendor))
            states.append(state)
            granted = None
    expire_before(None)
    return states, versions


def _transfer_states(events: list[Event]) -> list[dict[str, object]]:
    states: list[dict[str, object]] = []
    for event in sorted(events, key=lambda e: (e.at, type(e).rank)):
        if isinstance(event, TransferConsentGiven):
            if not event.method.affirmative:
                states.append(_state("dpv:ConsentInvalidated", event, method=event.method.value))
            else:
                extra = ["dpv:ExplicitlyExpressedConsent"]
                states.append(
                    _state("dpv:ConsentGiven", event, method=event.method.value, extra=extra)
                )
        elif isinstance(event, TransferConsentWithdrawn):
            states.append(_state("dpv:ConsentWithdrawn", event))
    return states


def iso27560_records(
    subject_id: str,
    events: Iterable[Event],
    policy: Policy,
    *,
    at: datetime,
    notice_url: str | None = None,
    language: str = "en",
) -> dict[str, object]:
    """A subject's consents as ISO/IEC TS 27560 consent records, a JSON-LD document.

    One ``dpv:ConsentRecord`` per purpose the subject gave (or refused, or was
    recorded as giving by a means that is never consent) a consent for, and one per
    vendor (and purpose, or every purpose) of an explicit transfer consent (Art.
    49(1)(a)). Each carries what the policy declares for it and the consent's states in
    time order: ``dpv:ConsentGiven``, ``dpv:ConsentWithdrawn``, ``dpv:ConsentExpired``
    (a consent lifetime that ran out by ``at``) and ``dpv:ConsentInvalidated`` (a
    pre-ticked box, silence or inactivity: never consent, Art. 4(11)). Other events
    (objections, erasure, ...) are not consent states and are left out. The document is
    plain JSON with an inline ``@context``; no JSON-LD library is needed to write it.

    Args:
        subject_id: Whose records.
        events: The subject's events (as a ledger returns them, with ids and
            ``recorded_at``).
        policy: The policy the consents were given under (its earlier versions are
            named by the consents' ``policy_version``).
        at: The instant of the export: consents whose lifetime ended by then are
            ``dpv:ConsentExpired``.
        notice_url: Where the privacy notice is published (the notice's IRI, and where
            consent is withdrawn); default: a ``urn:lawful:`` IRI naming the policy
            version.
        language: The notice's language (``dct:language``); the policy does not state it.

    Raises:
        NaiveDatetimeError: ``at`` has no time zone.
    """
    require_aware(at, "at")
    builder = _Builder(policy, subject_id, notice_url, language)
    by_purpose: dict[str, list[Event]] = {}
    by_transfer: dict[tuple[str, str | None], list[Event]] = {}
    for event in events:
        if isinstance(event, ConsentGiven | ConsentWithdrawn):
            by_purpose.setdefault(event.purpose, []).append(event)
        elif isinstance(event, TransferConsentGiven | TransferConsentWithdrawn):
            by_transfer.setdefault((event.vendor, event.purpose), []).append(event)
    graph: list[dict[str, object]] = []
    for purpose_id, found in by_purpose.items():
        states, versions = _consent_states(builder, purpose_id, found, at)
        section = policy.purpose(purpose_id).section if purpose_id in policy.purpose_ids else None
        process = builder.process(purpose_id, None)
        graph.append(builder.record(("consent", purpose_id), process, states, section, versions))
    for (vendor_id, scope), found in by_transfer.items():
        purposes = (
            [scope]
            if scope is not None
            else [p.id for p in policy.purposes if vendor_id in p.vendors]
        )
        process = {
            "@type": "dpv:Process",
            "dpv:hasLegalBasis": [
                _ref("dpv:DataTransferLegalBasis"),
                _ref("dpv:ExplicitlyExpressedConsent"),
                _ref("eu-gdpr:A49-1-a"),
            ],
            "dpv:hasProcess": [builder.process(p, [vendor_id]) for p in purposes],
        }
        known = vendor_id in {v.id for v in policy.vendors}
        if known:
            process["dpv:hasProcessing"] = builder.transfer(policy.vendor(vendor_id))
        key = ("transfer", vendor_id, scope or "*")
        graph.append(builder.record(key, process, _transfer_states(found), None, ()))
    return {"@context": dict(_CONTEXT), "@graph": graph}
