"""The shop policy, loaded from TOML: one purpose for each rule, so every ReasonCode arises.

Used by tests/test_decision.py (a row per ReasonCode) and tests/test_engine.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

import lawful
from lawful import (
    AgeRules,
    UnknownAge,
)

POLICY_TOML = """
version = "1.0"
id = "shop"
policy_version = "2025-06"
title = "Shop privacy policy"
subject_categories = { visitor = "Website visitor", client = "Client", job_applicant = "Candidate" }

[contact]
dpo = "dpo@shop.example"
supervisory_authority = "UODO"

[age]
minimum_age = 13
parental_consent_age = 15

[opt_out_scopes.tracking]
title = "Do not track me"
[opt_out_scopes.sale]
title = "Do not sell or share"

[data_categories.ip_address]
title = "IP address"
[data_categories.cookie]
title = "Cookie identifier"
[data_categories.email]
title = "Email address"
[data_categories.health]
title = "Health data"
special = true
[data_categories.cv]
title = "Curriculum vitae"

[vendors.self]
name = "Shop"
role = "first_party"
hosting = "Germany"
[vendors.cdn]
name = "CDN Ltd"
role = "processor"
hosting = "Ireland"
[vendors.adnet]
name = "AdNet"
role = "third_party"
hosting = "Netherlands"
[vendors.social]
name = "Social"
role = "third_party"
hosting = "Ireland"
[vendors.chatco]
name = "ChatCo"
role = "processor"
hosting = "United States"
outside_eea = true
transfer = "not_stated"

[purposes.analytics]
title = "Analytics"
statement = "Measure how the shop is used"
basis = "consent"
data = ["ip_address", "cookie"]
vendors = ["self", "cdn"]
withdrawal = "Privacy settings"
consent_lifetime = "13 months"
device_access = true
subjects = ["visitor", "client"]
opt_out_scopes = ["tracking"]
retention = { rules = [{ kind = "after_collection", period = "14 months" }] }

[purposes.ads]
title = "Personalised ads"
statement = "Show ads that fit you"
basis = "consent"
data = ["cookie"]
vendors = ["adnet", "social"]
withdrawal = "Privacy settings"
per_vendor_consent = true
device_access = true
opt_out_scopes = ["sale"]
retention = { rules = [{ kind = "after_collection", period = "6 months" }] }

[purposes.health_survey]
title = "Health survey"
statement = "Tailor products to your allergies"
basis = "consent"
data = ["health"]
vendors = ["self"]
withdrawal = "Account page"
special_category_condition = "a"
retention = { rules = [{ kind = "after_collection", period = "1 year" }] }

[purposes.newsletter]
title = "Newsletter to clients"
statement = "Offers similar to what you bought"
basis = "legitimate_interests"
legitimate_interest = "marketing similar products to existing clients"
assessment = "LIA-7"
direct_marketing = true
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "2 years" }] }

[purposes.fraud]
title = "Fraud prevention"
statement = "Stop fraudulent orders"
basis = "legitimate_interests"
legitimate_interest = "protecting the shop against fraud"
assessment = "LIA-1"
override_admissible = true
data = ["ip_address"]
vendors = ["self"]
opt_out_scopes = ["tracking"]
retention = { rules = [{ kind = "after_collection", period = "90 days" }] }

[purposes.support_chat]
title = "Support chat"
statement = "Answer your questions in a chat"
basis = "legitimate_interests"
legitimate_interest = "answering customers"
assessment = "LIA-6"
data = ["email"]
vendors = ["chatco"]
retention = { rules = [{ kind = "after_collection", period = "1 year" }] }

[purposes.security_cookie]
title = "Bot detection cookie"
statement = "Tell people from bots"
basis = "legitimate_interests"
legitimate_interest = "keeping bots out"
assessment = "LIA-2"
data = ["cookie"]
vendors = ["self"]
device_access = true
retention = { rules = [{ kind = "after_collection", period = "30 days" }] }

[purposes.load_balancing]
title = "Load balancing cookie"
statement = "Keep your visit on one server"
basis = "legitimate_interests"
legitimate_interest = "delivering the site"
assessment = "LIA-3"
data = ["cookie"]
vendors = ["self"]
device_access = true
strictly_necessary = "the page cannot be served without it"
retention = { rules = [{ kind = "session_end", inactivity = "30 minutes" }] }

[purposes.orders]
title = "Orders"
statement = "Deliver what you bought"
basis = "contract"
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "3 years" }] }

[purposes.invoices]
title = "Invoices"
statement = "Keep invoices as tax law requires"
basis = "legal_obligation"
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "5 years" }] }

[purposes.emergency]
title = "Emergency contact"
statement = "Reach you if a product recall endangers you"
basis = "vital_interests"
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "1 year" }] }

[purposes.census]
title = "Official statistics"
statement = "Report to the statistics office"
basis = "public_task"
override_admissible = true
data = ["email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "1 year" }] }

[purposes.client_sites]
title = "Our clients' analytics"
statement = "Process visitors of our clients' sites on their behalf"
basis = "legitimate_interests"
legitimate_interest = "providing the service clients ordered"
assessment = "LIA-4"
processor_only = true
data = ["ip_address"]
vendors = ["self"]
retention = { rules = [{ kind = "not_stated" }] }

[purposes.recruitment]
title = "Recruitment"
statement = "Evaluate candidates"
basis = "legitimate_interests"
legitimate_interest = "hiring"
assessment = "LIA-5"
subjects = ["job_applicant"]
data = ["cv", "email"]
vendors = ["self"]
retention = { rules = [{ kind = "after_collection", period = "36 months" }] }

[[previous_versions]]
version = "2024-01"
[previous_versions.purposes.analytics]
statement = "Measure how the shop is used"
basis = "consent"
vendors = ["self"]
data = ["ip_address", "cookie"]
"""


# Art. 7(1): unversioned consents are judged under the version in force at their instant,
# so the versions say when they took effect.
_LOADED = lawful.loads_policy(POLICY_TOML)


POLICY = attrs.evolve(
    _LOADED,
    effective_from=datetime(2010, 1, 1, tzinfo=UTC),
    previous_versions=tuple(
        attrs.evolve(v, effective_from=datetime(2000, 1, 1, tzinfo=UTC))
        for v in _LOADED.previous_versions
    ),
)


# Art. 8(2): a variant that denies until an age is on record.
POLICY_AGE_DENY = attrs.evolve(
    POLICY, age=AgeRules(minimum_age=13, parental_consent_age=15, unknown_age=UnknownAge.DENY)
)


T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


T1 = datetime(2025, 3, 5, 9, 0, tzinfo=UTC)


AT = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
