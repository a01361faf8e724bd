"""lawful: may I process this person's data, for this purpose, at this instant, and why?

>>> from datetime import datetime, UTC
>>> import lawful
>>> policy = lawful.bundled_policy("piwik-pro")
>>> visitor = lawful.Subject("visitor-1", [
...     lawful.ConsentGiven(at=datetime(2025, 3, 1, 9, tzinfo=UTC), purpose="analytics"),
... ])
>>> decision = policy.may_process(visitor, "analytics", datetime(2025, 3, 2, tzinfo=UTC))
>>> decision.allowed, decision.code
(True, <ReasonCode.CONSENT_GIVEN: 'consent_given'>)

lawful is not legal advice: it enforces what the controller declared.
"""

from __future__ import annotations

from lawful._bundled import bundled_policy, bundled_policy_names
from lawful._convert import (
    configure_converter,
    dumps_policy,
    load_policy,
    loads_policy,
)
from lawful._engine import QueryError, may_process
from lawful._json import dumps_events, event_from_dict, event_to_dict, read_events
from lawful.decision import Decision, Operation, Reason, ReasonCode
from lawful.duration import Duration
from lawful.events import (
    AgeDeclared,
    BirthDateDeclared,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContractEnded,
    ContractStarted,
    Erasure,
    Event,
    Interaction,
    Objection,
    ObjectionOverridden,
    ObjectionWithdrawn,
    OptOut,
    OptOutWithdrawn,
    ParentalConsentGiven,
    ParentalConsentWithdrawn,
    RestrictionLifted,
    RestrictionRequested,
    TransferConsentGiven,
    TransferConsentWithdrawn,
)
from lawful.exceptions import (
    EventError,
    LawfulError,
    LedgerConflictError,
    LedgerError,
    LedgerIntegrityError,
    LedgerKeyError,
    NaiveDatetimeError,
    PolicyError,
    Problem,
    SignalError,
)
from lawful.model import (
    AfterCollection,
    AfterLastInteraction,
    AgeRules,
    AgeScope,
    Contact,
    DataCategory,
    Entity,
    LegalBasis,
    NoPeriodStated,
    OptOutScope,
    Purpose,
    PurposeTerms,
    RestrictionException,
    Retention,
    RetentionCombine,
    SessionEnd,
    SignalBinding,
    Signals,
    SpecialCategoryCondition,
    TcfBinding,
    TransferDerogation,
    TransferMechanism,
    UnknownAge,
    UnknownSubjectCategory,
    Vendor,
    VendorRole,
)
from lawful.policy import Policy, PolicyVersion, UnknownPurposeError
from lawful.subject import Subject

__all__ = [
    "AfterCollection",
    "AfterLastInteraction",
    "AgeDeclared",
    "AgeRules",
    "AgeScope",
    "BirthDateDeclared",
    "ConsentGiven",
    "ConsentMethod",
    "ConsentWithdrawn",
    "Contact",
    "ContractEnded",
    "ContractStarted",
    "DataCategory",
    "Decision",
    "Duration",
    "Entity",
    "Erasure",
    "Event",
    "EventError",
    "Interaction",
    "LawfulError",
    "LedgerConflictError",
    "LedgerError",
    "LedgerIntegrityError",
    "LedgerKeyError",
    "LegalBasis",
    "NaiveDatetimeError",
    "NoPeriodStated",
    "Objection",
    "ObjectionOverridden",
    "ObjectionWithdrawn",
    "Operation",
    "OptOut",
    "OptOutScope",
    "OptOutWithdrawn",
    "ParentalConsentGiven",
    "ParentalConsentWithdrawn",
    "Policy",
    "PolicyError",
    "PolicyVersion",
    "Problem",
    "Purpose",
    "PurposeTerms",
    "QueryError",
    "Reason",
    "ReasonCode",
    "RestrictionException",
    "RestrictionLifted",
    "RestrictionRequested",
    "Retention",
    "RetentionCombine",
    "SessionEnd",
    "SignalBinding",
    "SignalError",
    "Signals",
    "SpecialCategoryCondition",
    "Subject",
    "TcfBinding",
    "TransferConsentGiven",
    "TransferConsentWithdrawn",
    "TransferDerogation",
    "TransferMechanism",
    "UnknownAge",
    "UnknownPurposeError",
    "UnknownSubjectCategory",
    "Vendor",
    "VendorRole",
    "bundled_policy",
    "bundled_policy_names",
    "configure_converter",
    "dumps_events",
    "dumps_policy",
    "event_from_dict",
    "event_to_dict",
    "load_policy",
    "loads_policy",
    "may_process",
    "read_events",
]
