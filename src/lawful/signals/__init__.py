"""Consent signals become events: IAB TCF, Global Privacy Control, Consent Mode, Piwik PRO.

Each ``from_*`` function reads one received signal, maps it through the
policy's ``signals`` bindings and returns a :class:`SignalResult`: ordinary
events (never decisions) for the host to append, and findings. The rules every
signal follows:

- a default never creates a grant (Art. 4(11), CJEU C-673/17 Planet49), and
  every mapped purpose yields a grant or a withdrawal;
- events carry the signal's own time (TCF LastUpdated, Piwik PRO updatedAt),
  never later than ``received_at``; lawful reads no clock;
- a signal without a time changes the record only when what it reports
  changed, so a stale signal re-sent after a withdrawal cannot grant again;
- event ids hold a digest, so a repeated signal is not appended twice;
- malformed input of any kind raises :class:`lawful.SignalError`, naming where.

>>> from datetime import datetime, UTC
>>> import lawful
>>> from lawful import signals
>>> policy = lawful.loads_policy('''
... version = "1"
... id = "shop"
... policy_version = "2025-01"
... [opt_out_scopes.sale]
... title = "Sale or sharing"
... [purposes.newsletter]
... title = "Newsletter"
... statement = "We email offers."
... basis = "legitimate_interests"
... legitimate_interest = "Direct marketing to customers"
... direct_marketing = true
... opt_out_scopes = ["sale"]
... [signals]
... gpc_scope = "sale"
... ''')
>>> now = datetime(2025, 6, 1, 12, tzinfo=UTC)
>>> visitor = lawful.Subject("visitor-1")
>>> result = signals.from_gpc(policy, {"Sec-GPC": "1"}, subject=visitor, received_at=now)
>>> [e.event_type for e in result.events]
['opt_out', 'objection']
>>> policy.may_process(result.apply(visitor), "newsletter", now).allowed
False
"""

from __future__ import annotations

from lawful.signals import consent_mode, gpc, piwik_pro, tcf
from lawful.signals._common import Finding, SignalResult
from lawful.signals._tcf_events import from_tcf
from lawful.signals._tcf_model import TCString
from lawful.signals.consent_mode import from_consent_mode
from lawful.signals.gpc import from_gpc, gpc_enabled
from lawful.signals.piwik_pro import from_piwik_pro, to_piwik_pro

__all__ = [
    "Finding",
    "SignalResult",
    "TCString",
    "consent_mode",
    "from_consent_mode",
    "from_gpc",
    "from_piwik_pro",
    "from_tcf",
    "gpc",
    "gpc_enabled",
    "piwik_pro",
    "tcf",
    "to_piwik_pro",
]
