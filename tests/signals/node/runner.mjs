// Test-only bridge to @iabtechlabtcf/core for lawful's differential TC string tests.
// Reads one JSON request per line on stdin, writes one JSON answer per line on stdout:
//   {"op": "decode", "tc": "..."}     -> {"ok": true, "value": <model>}
//   {"op": "encode", "model": {...}}  -> {"ok": true, "value": "<TC string>"}
// Models use lawful's field names; instants are epoch milliseconds; id sets are arrays.
// Encoding goes segment by segment through SegmentEncoder: TCString.encode would first
// rewrite the model against a Global Vendor List, which a wire-level comparison must avoid.
import { createInterface } from 'node:readline';
import { TCModel, TCString, SegmentEncoder, Segment } from '@iabtechlabtcf/core';

function vectorIds(vector) {
  const out = [];
  vector.forEach((on, id) => { if (on) out.push(id); });
  return out.sort((a, b) => a - b);
}

function toJson(m, segments) {
  const restrictions = [];
  for (const r of m.publisherRestrictions.getRestrictions()) {
    restrictions.push([r.purposeId, r.restrictionType, m.publisherRestrictions.getVendors(r)]);
  }
  return {
    version: m.version,
    created_ms: m.created.getTime(),
    last_updated_ms: m.lastUpdated.getTime(),
    cmp_id: m.cmpId,
    cmp_version: m.cmpVersion,
    consent_screen: m.consentScreen,
    consent_language: m.consentLanguage,
    vendor_list_version: m.vendorListVersion,
    policy_version: m.policyVersion,
    is_service_specific: m.isServiceSpecific,
    use_non_standard_texts: m.useNonStandardTexts,
    special_feature_opt_ins: vectorIds(m.specialFeatureOptins),
    purposes_consent: vectorIds(m.purposeConsents),
    purposes_li_transparency: vectorIds(m.purposeLegitimateInterests),
    purpose_one_treatment: m.purposeOneTreatment,
    publisher_cc: m.publisherCountryCode,
    vendor_consents: vectorIds(m.vendorConsents),
    vendor_legitimate_interests: vectorIds(m.vendorLegitimateInterests),
    publisher_restrictions: restrictions,
    disclosed_vendors: segments.includes(1) ? vectorIds(m.vendorsDisclosed) : null,
    allowed_vendors: segments.includes(2) ? vectorIds(m.vendorsAllowed) : null,
    publisher_tc: segments.includes(3) ? {
      purposes_consent: vectorIds(m.publisherConsents),
      purposes_li_transparency: vectorIds(m.publisherLegitimateInterests),
      num_custom_purposes: m.numCustomPurposes,
      custom_purposes_consent: vectorIds(m.publisherCustomConsents),
      custom_purposes_li_transparency: vectorIds(m.publisherCustomLegitimateInterests),
    } : null,
  };
}

function segmentTypes(tc) {
  // The first three bits of each segment after the core name its type.
  const dict = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  return tc.split('.').slice(1).map((s) => dict.indexOf(s[0]) >> 3);
}

function decode(tc) {
  return toJson(TCString.decode(tc), segmentTypes(tc));
}

function encode(j) {
  const m = new TCModel();
  m.created = new Date(j.created_ms);
  m.lastUpdated = new Date(j.last_updated_ms);
  m.cmpId = j.cmp_id;
  m.cmpVersion = j.cmp_version;
  m.consentScreen = j.consent_screen;
  m.consentLanguage = j.consent_language;
  m.vendorListVersion = j.vendor_list_version;
  m.policyVersion = j.policy_version;
  m.isServiceSpecific = j.is_service_specific;
  m.useNonStandardTexts = j.use_non_standard_texts;
  m.specialFeatureOptins.set(j.special_feature_opt_ins);
  m.purposeConsents.set(j.purposes_consent);
  m.purposeLegitimateInterests.set(j.purposes_li_transparency);
  m.purposeOneTreatment = j.purpose_one_treatment;
  m.publisherCountryCode = j.publisher_cc;
  m.vendorConsents.set(j.vendor_consents);
  m.vendorLegitimateInterests.set(j.vendor_legitimate_interests);
  const segments = [Segment.CORE];
  if (j.disclosed_vendors !== null) {
    m.vendorsDisclosed.set(j.disclosed_vendors);
    segments.push(Segment.VENDORS_DISCLOSED);
  }
  if (j.allowed_vendors !== null) {
    m.vendorsAllowed.set(j.allowed_vendors);
    segments.push(Segment.VENDORS_ALLOWED);
  }
  if (j.publisher_tc !== null) {
    const p = j.publisher_tc;
    m.publisherConsents.set(p.purposes_consent);
    m.publisherLegitimateInterests.set(p.purposes_li_transparency);
    m.numCustomPurposes = p.num_custom_purposes;
    m.publisherCustomConsents.set(p.custom_purposes_consent);
    m.publisherCustomLegitimateInterests.set(p.custom_purposes_li_transparency);
    segments.push(Segment.PUBLISHER_TC);
  }
  return segments.map((s) => SegmentEncoder.encode(m, s)).join('.');
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  let answer;
  try {
    const request = JSON.parse(line);
    const value = request.op === 'decode' ? decode(request.tc) : encode(request.model);
    answer = { ok: true, value };
  } catch (err) {
    answer = { ok: false, error: String(err && err.message ? err.message : err) };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
}
