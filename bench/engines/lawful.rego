# The benchmark's policy in Rego (run in process by opa-eval).
#
# data.purposes is generated from the lawful policy under test (bench/rivals.py):
# basis, vendors, data, subjects, device_access, strictly_necessary, processor_only,
# and the policy's age rule as it applies to the purpose.
# The input carries what Rego cannot work out from an event history, computed in
# Python first: `at` in integer microseconds, the latest consent state of the
# purpose at `at` ("given", "withdrawn" or "none") and when that consent expires,
# whether an erasure, a restriction, an opt-out, an objection or a parental consent
# is in force, and the conservative age at `at` (null: none on record).
# The rules run in lawful's check order; the first that fails gives the code.
package lawful

import rego.v1

purpose := data.purposes[input.purpose]

deny(code) := {"allowed": false, "code": code}

allow(code) := {"allowed": true, "code": code}

consent_valid if {
	input.consent == "given"
	input.expires == 0
}

consent_valid if {
	input.consent == "given"
	input.at < input.expires
}

consent_code := "no_consent" if {
	input.consent == "none"
} else := "consent_withdrawn" if {
	input.consent == "withdrawn"
} else := "consent_expired"

default decision := {"allowed": false, "code": "unknown_purpose"}

decision := deny("unknown_purpose") if {
	not data.purposes[input.purpose]
} else := deny("processor_only") if {
	purpose.processor_only
} else := deny("subject_not_covered") if {
	count(purpose.subjects) > 0
	input.categories == null
	purpose.unknown_subject_deny
} else := deny("subject_not_covered") if {
	count(purpose.subjects) > 0
	input.categories != null
	every category in input.categories {
		not category in purpose.subjects
	}
} else := deny("vendor_not_declared") if {
	input.vendor != null
	not input.vendor in purpose.vendors
} else := deny("data_category_not_declared") if {
	some category in input.data
	not category in purpose.data
} else := deny("erased") if {
	input.erased
} else := deny("restricted") if {
	input.restricted
} else := deny("age_unknown") if {
	purpose.age_applies
	input.age == null
	purpose.unknown_age_deny
} else := deny("below_minimum_age") if {
	purpose.age_applies
	input.age != null
	input.age < purpose.minimum_age
} else := deny("parental_consent_required") if {
	purpose.age_applies
	input.age != null
	input.age <= purpose.parental_age
	not input.parental
} else := deny("opted_out") if {
	input.opted_out
} else := deny("objected") if {
	purpose.basis in {"legitimate_interests", "public_task"}
	input.objected
} else := allow("consent_given") if {
	purpose.basis == "consent"
	consent_valid
} else := deny(consent_code) if {
	purpose.basis == "consent"
} else := deny("device_access_consent_required") if {
	purpose.device_access
	not purpose.strictly_necessary
	not consent_valid
} else := allow("legitimate_interest") if {
	purpose.basis == "legitimate_interests"
}
