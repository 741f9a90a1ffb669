//! The hourly result as FHIR R4, read-only (issue 29; `docs/fhir-out.md`):
//! per ward and hour a `MeasureReport`, per patient and hour an
//! `Observation`, searched and paged as a FHIR server's `searchset` Bundles.
//!
//! **Pure mapping.** [`measure_report`] and [`observation`] turn stored rows
//! into R4 JSON (`serde_json::Value`, no FHIR model crate): no I/O, no clock.
//! Points are careload's fixed-point thousandths as decimals; codes are
//! careload's own code system ([`CODE_SYSTEM`], every code in [`CODES`]);
//! the weights version that scored the hour is an extension
//! ([`WEIGHTS_EXTENSION`]).
//!
//! **De-identified by construction.** A patient appears only as its keyed
//! pseudonym, as an identifier value (`subject.identifier`, system
//! [`PSEUDONYM_SYSTEM`]), never as a reference: careload stores no EHR id,
//! name, personal identity number or free text, and serves none. Neither
//! bed nor team is served: the ward is the finest place. Ids are derived
//! ([`measure_report_id`], [`observation_id`]): a hash of the ward or of
//! the pseudonym and the hour, so a ward id with any characters still
//! gives a valid FHIR id and an Observation's id says nothing by itself.
//!
//! **Ward.** A MeasureReport's `subject` is the ward as a `Location`: a
//! reference `Location/<ward>` when careload's ward id is a valid FHIR id
//! (the ingest takes it from the EHR's ward Location, so it names that
//! Location), always with the identifier (system [`WARD_SYSTEM`]). An
//! Observation carries its ward as a second `category` coding in
//! [`WARD_SYSTEM`], a token every FHIR server indexes (`category=…|w01`);
//! careload's own endpoint also takes `ward=`.
//!
//! **Search** ([`parse_search`], [`search`]): `date` (the hour's start,
//! prefixes `ge gt le lt eq`), `_lastUpdated` (when the hour was written:
//! the end of the run that wrote it, `ge gt le lt`), `subject`
//! (MeasureReport: `Location/<ward>`) or `subject:identifier`
//! (Observation: `<pseudonym system>|<pseudonym>`), `ward`, `_count`
//! (1–1000, default 100) and `_cursor` (the `next` link's key: pages are
//! keyed, never offsets, so following `next` gives every row once). A
//! search needs a lower bound on `date` or `_lastUpdated` whose range is
//! at most `api.max_range_days`.

use std::fmt::Write as _;

use careload_scoring::Points;
use careload_scoring::score::Component;
use careload_scoring::snapshot::PatientKey;
use careload_store::{FhirFilter, PatientHour, UnitHour, Written, hour_of};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, TimeZone, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::{App, Error, Result};

/// careload's code system: every code of [`CODES`].
pub const CODE_SYSTEM: &str = "https://careload.se/fhir/CodeSystem/care-need";
/// The canonical URL of careload's measure, every MeasureReport's `measure`.
pub const MEASURE: &str = "https://careload.se/fhir/Measure/care-need";
/// The identifier system of careload's patient pseudonyms (keyed HMAC of
/// the EHR's Patient id; careload keeps the key, never the id).
pub const PSEUDONYM_SYSTEM: &str = "https://careload.se/fhir/NamingSystem/patient-pseudonym";
/// The identifier and code system of careload's ward ids.
pub const WARD_SYSTEM: &str = "https://careload.se/fhir/NamingSystem/ward";
/// The extension carrying the weights version that scored the hour (`valueString`).
pub const WEIGHTS_EXTENSION: &str = "https://careload.se/fhir/StructureDefinition/weights-version";
/// The media type of every answer.
pub const FHIR_JSON: &str = "application/fhir+json";
/// The FHIR version served.
pub const FHIR_VERSION: &str = "4.0.1";
/// Entries per page when `_count` is not sent.
pub const DEFAULT_COUNT: u32 = 100;
/// The most entries per page.
pub const MAX_COUNT: u32 = 1000;

/// The codes of [`CODE_SYSTEM`]: code, display, definition.
pub const CODES: &[(&str, &str, &str)] = &[
    (
        "care-need",
        "Care need",
        "A patient's care need in one hour, in points under the council's weights (the Observation's code)",
    ),
    (
        "total",
        "Total care need",
        "All points: both professions, every component",
    ),
    (
        "usk",
        "Assistant nurse (USK) care need",
        "The points of the work of assistant nurses",
    ),
    (
        "ssk",
        "Registered nurse (SSK) care need",
        "The points of the work of registered nurses",
    ),
    ("medications", "Medications", "Medication orders and administrations"),
    (
        "orders",
        "Orders",
        "Multidisciplinary orders: lab sampling, imaging and the like",
    ),
    (
        "basic_nursing",
        "Basic nursing",
        "Activities performed by assistant nurses",
    ),
    (
        "specific_nursing",
        "Specific nursing",
        "Activities performed by registered nurses",
    ),
    ("news2", "NEWS2", "The NEWS2 band and how often it is measured"),
    ("emotional_support", "Emotional support", "Emotional support"),
    ("care_plans", "Care plans", "Care plans"),
    ("diagnoses", "Diagnoses", "Diagnoses"),
    ("modifiers", "Modifiers", "Outlier and newly-admitted modifiers"),
];

/// The two resource types served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// Per ward and hour.
    MeasureReport,
    /// Per patient and hour.
    Observation,
}

impl Resource {
    /// Its FHIR type name.
    pub fn name(self) -> &'static str {
        match self {
            Resource::MeasureReport => "MeasureReport",
            Resource::Observation => "Observation",
        }
    }

    /// The search parameters it takes, in the order they are documented.
    pub fn search_params(self) -> &'static [&'static str] {
        match self {
            Resource::MeasureReport => &["date", "period", "_lastUpdated", "subject", "ward", "_count", "_cursor"],
            Resource::Observation => &[
                "date",
                "_lastUpdated",
                "subject:identifier",
                "ward",
                "_count",
                "_cursor",
            ],
        }
    }
}

// ---------------------------------------------------------------- mapping

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A write's instant at the precision the store keeps (microseconds on
/// PostgreSQL, nanoseconds on SQLite; FHIR's `instant` allows nine
/// digits), so that polling with `_lastUpdated=gt<a served value>` leaves
/// that resource out and `le` keeps it.
fn written_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The display of a code of [`CODES`].
fn display(code: &str) -> &'static str {
    CODES.iter().find(|(c, _, _)| *c == code).map_or("", |(_, d, _)| d)
}

fn concept(code: &str) -> Value {
    json!({ "coding": [{ "system": CODE_SYSTEM, "code": code, "display": display(code) }], "text": display(code) })
}

/// Points as a Quantity: a decimal of the thousandths, unit `{points}` (UCUM).
fn points(p: Points) -> Value {
    let value = serde_json::Number::from_f64(p.milli() as f64 / 1000.0).map_or(Value::Null, Value::Number);
    json!({ "value": value, "unit": "points", "system": "http://unitsofmeasure.org", "code": "{points}" })
}

/// Every part of the score with its code: USK, SSK, then the components.
fn parts(
    professions: careload_scoring::score::Split,
    components: &careload_scoring::score::Components,
) -> Vec<(&'static str, Points)> {
    let mut out = vec![("usk", professions.usk), ("ssk", professions.ssk)];
    out.extend(Component::ALL.iter().map(|c| (c.key(), components.get(*c))));
    out
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn hour_code(hour: DateTime<Utc>) -> String {
    hour.format("%Y%m%d%H").to_string()
}

fn parse_hour_code(code: &str) -> Option<DateTime<Utc>> {
    if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let date = NaiveDate::parse_from_str(&code[..8], "%Y%m%d").ok()?;
    let h: u32 = code[8..].parse().ok()?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(h, 0, 0)?))
}

/// The MeasureReport id of a ward's hour: `cn-ward-<12 hex of SHA-256 of
/// the ward id>-<YYYYMMDDHH>` (UTC), valid whatever characters the ward id has.
pub fn measure_report_id(ward: &str, hour: DateTime<Utc>) -> String {
    let digest = Sha256::digest(format!("careload ward\n{ward}").as_bytes());
    format!("cn-ward-{}-{}", &hex(&digest)[..12], hour_code(hour))
}

/// The Observation id of a patient's hour: `cn-pt-<20 hex of SHA-256 of
/// the pseudonym and the hour>-<YYYYMMDDHH>` (UTC).
pub fn observation_id(key: &PatientKey, hour: DateTime<Utc>) -> String {
    let digest = Sha256::digest(format!("careload patient hour\n{}\n{}", key.0, instant(hour)).as_bytes());
    format!("cn-pt-{}-{}", &hex(&digest)[..20], hour_code(hour))
}

/// Whether `id` is a valid FHIR id: `[A-Za-z0-9\-\.]{1,64}`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The hour an id of `prefix` names, if it has that form.
fn id_hour(id: &str, prefix: &str, hash_len: usize) -> Option<DateTime<Utc>> {
    let rest = id.strip_prefix(prefix)?;
    let (hash, hour) = rest.split_once('-')?;
    (hash.len() == hash_len && hash.bytes().all(|b| b.is_ascii_hexdigit())).then_some(())?;
    parse_hour_code(hour)
}

/// When an hour was written, or (for an hour without a run, which has no
/// patients) its end.
fn written_or_end(hour: DateTime<Utc>, written_at: Option<DateTime<Utc>>) -> DateTime<Utc> {
    written_at.unwrap_or(hour + Duration::hours(1))
}

fn weights_extension(version: &str) -> Value {
    json!([{ "url": WEIGHTS_EXTENSION, "valueString": version }])
}

/// A ward's hour as a `MeasureReport` (status `complete`, type `summary`):
/// one group per code — total, USK, SSK, each component — with its points
/// as `measureScore` and the patients as the `initial-population` count.
pub fn measure_report(row: &UnitHour, written_at: Option<DateTime<Utc>>) -> Value {
    let written = written_or_end(row.hour, written_at);
    let population = json!([{
        "code": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/measure-population",
            "code": "initial-population",
            "display": "Initial Population",
        }] },
        "count": row.totals.patients,
    }]);
    let mut groups = vec![json!({
        "code": concept("total"),
        "population": population,
        "measureScore": points(row.totals.total),
    })];
    for (code, p) in parts(row.totals.professions, &row.totals.components) {
        groups.push(json!({ "code": concept(code), "population": population, "measureScore": points(p) }));
    }
    let mut subject = json!({
        "type": "Location",
        "identifier": { "system": WARD_SYSTEM, "value": row.ward },
    });
    if is_valid_id(&row.ward) {
        subject["reference"] = json!(format!("Location/{}", row.ward));
    }
    json!({
        "resourceType": "MeasureReport",
        "id": measure_report_id(&row.ward, row.hour),
        "meta": { "lastUpdated": written_instant(written) },
        "extension": weights_extension(&row.weights_version),
        "status": "complete",
        "type": "summary",
        "measure": MEASURE,
        "subject": subject,
        "date": written_instant(written),
        "period": { "start": instant(row.hour), "end": instant(row.hour + Duration::hours(1)) },
        "group": groups,
    })
}

/// A patient's hour as an `Observation` (status `final`): code
/// `care-need`, the total as `valueQuantity`, USK, SSK and each component
/// as `component`s; the patient only as its pseudonym, an identifier.
pub fn observation(row: &PatientHour, written_at: Option<DateTime<Utc>>) -> Value {
    let written = written_or_end(row.hour, written_at);
    let components: Vec<Value> = parts(row.professions, &row.components)
        .into_iter()
        .map(|(code, p)| json!({ "code": concept(code), "valueQuantity": points(p) }))
        .collect();
    json!({
        "resourceType": "Observation",
        "id": observation_id(&row.key, row.hour),
        "meta": { "lastUpdated": written_instant(written) },
        "extension": weights_extension(&row.weights_version),
        "status": "final",
        "category": [
            { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                "code": "survey",
                "display": "Survey",
            }] },
            { "coding": [{ "system": WARD_SYSTEM, "code": row.ward }] },
        ],
        "code": concept("care-need"),
        "subject": { "identifier": { "system": PSEUDONYM_SYSTEM, "value": row.key.0 } },
        "effectivePeriod": { "start": instant(row.hour), "end": instant(row.hour + Duration::hours(1)) },
        "issued": written_instant(written),
        "valueQuantity": points(row.total),
        "component": components,
    })
}

/// A FHIR `OperationOutcome` with one error issue: `code` an R4 issue type
/// (`invalid`, `not-found`, `security`, …), `text` what was wrong and
/// `diagnostics` what to send instead.
pub fn operation_outcome(code: &str, text: &str, diagnostics: Option<&str>) -> Value {
    let mut issue = json!({ "severity": "error", "code": code, "details": { "text": text } });
    if let Some(d) = diagnostics {
        issue["diagnostics"] = json!(d);
    }
    json!({ "resourceType": "OperationOutcome", "issue": [issue] })
}

/// The `CapabilityStatement` of `GET /fhir/r4/metadata`: read and
/// search-type of both resources with their search parameters, JSON only,
/// bearer tokens.
pub fn capability_statement(software_version: &str, date: DateTime<Utc>) -> Value {
    let param = |name: &str, ty: &str, doc: &str| json!({ "name": name, "type": ty, "documentation": doc });
    let common = |subject: Value| {
        vec![
            param(
                "date",
                "date",
                "The hour's start (UTC), prefixes ge gt le lt eq; repeat for a range (date=ge…&date=lt…)",
            ),
            param(
                "_lastUpdated",
                "date",
                "When the hour was written (the end of the run that wrote it), prefixes ge gt le lt",
            ),
            subject,
            param("ward", "token", "careload's ward id"),
            param("_count", "number", "Entries per page, 1–1000, default 100"),
            param(
                "_cursor",
                "string",
                "The next link's page key; send the next link as it is",
            ),
        ]
    };
    let resource = |ty: &str, subject: Value, doc: &str| {
        json!({
            "type": ty,
            "documentation": doc,
            "interaction": [{ "code": "read" }, { "code": "search-type" }],
            "searchParam": common(subject),
        })
    };
    let mut measure_report = resource(
        "MeasureReport",
        param("subject", "reference", "The ward: Location/<ward id>"),
        "Per ward and hour: total, USK, SSK and every component in points, the patients as the population",
    );
    if let Some(params) = measure_report["searchParam"].as_array_mut() {
        params.insert(
            1,
            param(
                "period",
                "date",
                "The hour (MeasureReport.period), as date: FHIR's own parameter for it",
            ),
        );
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(date),
        "publisher": "careload",
        "kind": "instance",
        "software": { "name": "careload", "version": software_version },
        "implementation": { "description": "careload's hourly care need, read-only (docs/fhir-out.md)" },
        "fhirVersion": FHIR_VERSION,
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "security": {
                "cors": false,
                "description": "Authorization: Bearer <token> of a controller or admin token ([[api.tokens]])",
            },
            "resource": [
                measure_report,
                resource(
                    "Observation",
                    param(
                        "subject",
                        "reference",
                        "The patient, by its pseudonym only, with the :identifier modifier: \
                         subject:identifier=https://careload.se/fhir/NamingSystem/patient-pseudonym|<key>",
                    ),
                    "Per patient and hour: the total in points with USK, SSK and every component; the patient by \
                     pseudonym only",
                ),
            ],
        }],
    })
}

// ---------------------------------------------------------------- search

/// A search, parsed and checked ([`parse_search`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    /// What is searched.
    pub resource: Resource,
    /// The store's filter (its `limit` one more than `count`, to know
    /// whether another page follows).
    pub filter: FhirFilter,
    /// Entries per page.
    pub count: u32,
    /// The query as sent, but for `_cursor`: the links repeat it.
    pub pairs: Vec<(String, String)>,
    /// The `_cursor` sent, if any.
    pub cursor: Option<String>,
}

fn bad(param: &'static str, hint: impl Into<String>) -> Error {
    Error::BadQuery {
        param,
        hint: hint.into(),
    }
}

/// The instants a date value covers: `[lo, hi)`, or one instant (`lo ==
/// hi`). Takes `YYYY`, `YYYY-MM`, `YYYY-MM-DD` (UTC) and RFC 3339 instants.
fn date_range(value: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        let t = t.with_timezone(&Utc);
        return Some((t, t));
    }
    let day = |y: i32, m: u32, d: u32| {
        NaiveDate::from_ymd_opt(y, m, d).map(|d| Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN)))
    };
    match value.len() {
        4 => {
            let y: i32 = value.parse().ok()?;
            Some((day(y, 1, 1)?, day(y + 1, 1, 1)?))
        }
        7 => {
            let (y, m) = value.split_once('-')?;
            let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
            let next = if m == 12 { day(y + 1, 1, 1)? } else { day(y, m + 1, 1)? };
            Some((day(y, m, 1)?, next))
        }
        10 => {
            let d = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
            let start = Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN));
            Some((start, start + Duration::days(1)))
        }
        _ => None,
    }
}

/// The smallest hour start at or after `t`.
fn ceil_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let h = hour_of(t);
    if h == t { h } else { h + Duration::hours(1) }
}

const DATE_HINT: &str = "send date=<prefix><value>: prefix ge, gt, le, lt or eq (or none, for eq), value an RFC 3339 \
                         instant with Z or an offset (2026-12-05T06:00:00Z; an offset's + as %2B), or YYYY-MM-DD, \
                         YYYY-MM or YYYY (UTC); one bound per parameter, repeated for a range: date=ge…&date=lt…";
const LAST_UPDATED_HINT: &str = "send _lastUpdated=<prefix><value>: prefix ge, gt, le or lt, value an RFC 3339 instant \
                                 with Z or an offset (its + as %2B), or YYYY-MM-DD; one bound per parameter, \
                                 repeated for a range";

fn prefixed(value: &str) -> (&str, &str) {
    let two = value.get(..2).unwrap_or("");
    if two.len() == 2 && two.bytes().all(|b| b.is_ascii_lowercase()) {
        (two, &value[2..])
    } else {
        ("eq", value)
    }
}

fn later(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.max(b)))
}

fn earlier(a: Option<DateTime<Utc>>, b: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(a.map_or(b, |a| a.min(b)))
}

/// A page key as `_cursor` carries it: `<YYYYMMDDHH>.<hex of the key>`.
pub fn encode_cursor(hour: DateTime<Utc>, key: &str) -> String {
    format!("{}.{}", hour_code(hour), hex(key.as_bytes()))
}

fn decode_cursor(cursor: &str) -> Option<(DateTime<Utc>, String)> {
    let (hour, key) = cursor.split_once('.')?;
    let hour = parse_hour_code(hour)?;
    if key.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(key.get(i..i + 2)?, 16).ok())
        .collect();
    Some((hour, String::from_utf8(bytes?).ok()?))
}

/// Parses a search's query pairs (as sent, `date` and `_lastUpdated` once
/// per bound) for `resource` and checks its bounds: a lower bound on
/// `date` or `_lastUpdated` whose range (to its upper bound, or `now`) is
/// at most `max_range_days`.
///
/// # Errors
/// [`Error::BadQuery`] naming the parameter and what to send;
/// [`Error::RangeTooLarge`] for a range over the maximum.
pub fn parse_search(
    resource: Resource,
    pairs: &[(String, String)],
    now: DateTime<Utc>,
    max_range_days: u32,
) -> Result<Search> {
    let mut filter = FhirFilter::default();
    let mut count = DEFAULT_COUNT;
    let mut cursor = None;
    let mut kept = Vec::new();
    let mut ward_sent: Option<String> = None;
    for (name, value) in pairs {
        match name.as_str() {
            // MeasureReport's standard `period` is the hour too: a copy on a
            // standard server is searched by it (its `date` is the write's)
            "date" | "period" if name == "date" || resource == Resource::MeasureReport => {
                let (prefix, v) = prefixed(value);
                let param = if name == "period" { "period" } else { "date" };
                let (lo, hi) = date_range(v).ok_or_else(|| bad(param, DATE_HINT))?;
                let point = lo == hi;
                match prefix {
                    "ge" => filter.hour_from = later(filter.hour_from, ceil_hour(lo)),
                    "gt" if point => filter.hour_from = later(filter.hour_from, hour_of(lo) + Duration::hours(1)),
                    "gt" => filter.hour_from = later(filter.hour_from, ceil_hour(hi)),
                    "le" if point => filter.hour_to = earlier(filter.hour_to, hour_of(lo) + Duration::hours(1)),
                    "le" => filter.hour_to = earlier(filter.hour_to, ceil_hour(hi)),
                    "lt" => filter.hour_to = earlier(filter.hour_to, ceil_hour(lo)),
                    "eq" if point => {
                        filter.hour_from = later(filter.hour_from, hour_of(lo));
                        filter.hour_to = earlier(filter.hour_to, hour_of(lo) + Duration::hours(1));
                    }
                    "eq" => {
                        filter.hour_from = later(filter.hour_from, ceil_hour(lo));
                        filter.hour_to = earlier(filter.hour_to, ceil_hour(hi));
                    }
                    _ => return Err(bad(param, DATE_HINT)),
                }
            }
            "_lastUpdated" => {
                let (prefix, v) = prefixed(value);
                let (lo, hi) = date_range(v).ok_or_else(|| bad("_lastUpdated", LAST_UPDATED_HINT))?;
                let point = lo == hi;
                match prefix {
                    "ge" => filter.written_ge = later(filter.written_ge, lo),
                    "gt" if point => filter.written_gt = later(filter.written_gt, lo),
                    "gt" => filter.written_ge = later(filter.written_ge, hi),
                    "le" if point => filter.written_le = earlier(filter.written_le, lo),
                    "le" => filter.written_lt = earlier(filter.written_lt, hi),
                    "lt" => filter.written_lt = earlier(filter.written_lt, lo),
                    _ => return Err(bad("_lastUpdated", LAST_UPDATED_HINT)),
                }
            }
            "subject" if resource == Resource::MeasureReport => {
                let ward = value
                    .strip_prefix("Location/")
                    .filter(|w| !w.is_empty())
                    .ok_or_else(|| {
                        bad(
                            "subject",
                            "send subject=Location/<ward id>, the ward as careload names it",
                        )
                    })?;
                set_ward(&mut ward_sent, ward, "subject")?;
            }
            "subject:identifier" if resource == Resource::Observation => {
                let key = match value.split_once('|') {
                    Some((system, key)) if system == PSEUDONYM_SYSTEM => key,
                    Some(_) => {
                        return Err(bad(
                            "subject:identifier",
                            format!(
                                "careload knows patients by pseudonym only (it keeps no EHR id): send \
                                 subject:identifier={PSEUDONYM_SYSTEM}|<pseudonym>"
                            ),
                        ));
                    }
                    None => value.as_str(),
                };
                if key.is_empty() {
                    return Err(bad(
                        "subject:identifier",
                        format!("send {PSEUDONYM_SYSTEM}|<pseudonym>"),
                    ));
                }
                filter.patient = Some(key.to_owned());
            }
            "ward" => set_ward(&mut ward_sent, value, "ward")?,
            "_count" => {
                count = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_COUNT).contains(n))
                    .ok_or_else(|| bad("_count", format!("send _count=1…{MAX_COUNT} (default {DEFAULT_COUNT})")))?;
            }
            "_cursor" => {
                filter.after = Some(decode_cursor(value).ok_or_else(|| {
                    bad(
                        "_cursor",
                        "send the next link as the previous page gave it, or leave _cursor out for the first page",
                    )
                })?);
                cursor = Some(value.clone());
                continue;
            }
            _ => {
                return Err(bad(
                    "query",
                    format!(
                        "{} takes the search parameters {}; {name:?} is not one of them",
                        resource.name(),
                        resource.search_params().join(", ")
                    ),
                ));
            }
        }
        kept.push((name.clone(), value.clone()));
    }
    filter.ward = ward_sent;
    let max = Duration::days(i64::from(max_range_days));
    // an upper bound in the future bounds nothing stored: the range runs to now
    let next_hour = hour_of(now) + Duration::hours(1);
    let date_to = filter.hour_to.map_or(next_hour, |t| t.min(next_hour));
    let written_from = [filter.written_ge, filter.written_gt].into_iter().flatten().max();
    let written_to = [filter.written_le, filter.written_lt]
        .into_iter()
        .flatten()
        .min()
        .map_or(now, |t| t.min(now));
    let spans: Vec<Duration> = [
        filter.hour_from.map(|f| date_to - f),
        written_from.map(|f| written_to - f),
    ]
    .into_iter()
    .flatten()
    .collect();
    if spans.is_empty() {
        return Err(bad(
            "date",
            format!(
                "a search needs a lower bound: date=ge<instant> or _lastUpdated=ge<instant>, at most \
                 {max_range_days} days (api.max_range_days) before its upper bound or now"
            ),
        ));
    }
    if spans.iter().all(|s| *s > max) {
        let shortest = spans.iter().min().copied().unwrap_or(max);
        return Err(Error::RangeTooLarge {
            days: (shortest.num_seconds() + 86_399) / 86_400,
            max: max_range_days,
        });
    }
    filter.limit = count + 1;
    Ok(Search {
        resource,
        filter,
        count,
        pairs: kept,
        cursor,
    })
}

fn set_ward(sent: &mut Option<String>, ward: &str, param: &'static str) -> Result<()> {
    match sent {
        Some(w) if w != ward => Err(bad(param, "subject and ward name different wards; send one of them")),
        _ => {
            *sent = Some(ward.to_owned());
            Ok(())
        }
    }
}

/// Percent-encodes a query component (RFC 3986 unreserved characters kept).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn url(base: &str, resource: Resource, pairs: &[(String, String)]) -> String {
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect();
    format!("{base}/{}?{}", resource.name(), query.join("&"))
}

/// Runs `search` and answers the page as a `searchset` Bundle: `base` is
/// the FHIR base URL the links and `fullUrl`s start with
/// (`https://host/fhir/r4`), `now` the Bundle's `meta.lastUpdated`.
///
/// # Errors
/// [`Error::Store`] when the store fails.
pub async fn search(app: &App, search: &Search, base: &str, now: DateTime<Utc>) -> Result<Value> {
    let count = search.count as usize;
    let (mut resources, next_key): (Vec<(String, Value)>, Option<String>) = match search.resource {
        Resource::MeasureReport => {
            let rows = app.store.fhir_ward_rows(&search.filter).await?;
            let next = (rows.len() > count).then(|| encode_cursor(rows[count - 1].row.hour, &rows[count - 1].row.ward));
            let out = rows.iter().take(count).map(|Written { row, written_at }| {
                (measure_report_id(&row.ward, row.hour), measure_report(row, *written_at))
            });
            (out.collect(), next)
        }
        Resource::Observation => {
            let rows = app.store.fhir_patient_rows(&search.filter).await?;
            let next =
                (rows.len() > count).then(|| encode_cursor(rows[count - 1].row.hour, &rows[count - 1].row.key.0));
            let out = rows
                .iter()
                .take(count)
                .map(|Written { row, written_at }| (observation_id(&row.key, row.hour), observation(row, *written_at)));
            (out.collect(), next)
        }
    };
    let mut this = search.pairs.clone();
    if let Some(c) = &search.cursor {
        this.push(("_cursor".into(), c.clone()));
    }
    let mut links = vec![json!({ "relation": "self", "url": url(base, search.resource, &this) })];
    if let Some(key) = next_key {
        let mut next = search.pairs.clone();
        next.push(("_cursor".into(), key));
        links.push(json!({ "relation": "next", "url": url(base, search.resource, &next) }));
    }
    let entries: Vec<Value> = resources
        .drain(..)
        .map(|(id, resource)| {
            json!({
                "fullUrl": format!("{base}/{}/{id}", search.resource.name()),
                "resource": resource,
                "search": { "mode": "match" },
            })
        })
        .collect();
    let mut bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "meta": { "lastUpdated": written_instant(now) },
        "link": links,
    });
    // FHIR's JSON has no empty arrays: a page without a match has no entry
    if !entries.is_empty() {
        bundle["entry"] = Value::Array(entries);
    }
    Ok(bundle)
}

/// The resource with `id`.
///
/// # Errors
/// [`Error::UnknownResource`] when there is none; [`Error::Store`].
pub async fn read(app: &App, resource: Resource, id: &str) -> Result<Value> {
    let missing = || Error::UnknownResource {
        resource: resource.name(),
        id: id.to_owned(),
    };
    match resource {
        Resource::MeasureReport => {
            let hour = id_hour(id, "cn-ward-", 12).ok_or_else(missing)?;
            let filter = FhirFilter {
                hour_from: Some(hour),
                hour_to: Some(hour + Duration::hours(1)),
                limit: u32::MAX,
                ..FhirFilter::default()
            };
            let rows = app.store.fhir_ward_rows(&filter).await?;
            rows.iter()
                .find(|w| measure_report_id(&w.row.ward, w.row.hour) == id)
                .map(|w| measure_report(&w.row, w.written_at))
                .ok_or_else(missing)
        }
        Resource::Observation => {
            let hour = id_hour(id, "cn-pt-", 20).ok_or_else(missing)?;
            let keys = app.store.fhir_hour_patients(hour).await?;
            let key = keys
                .into_iter()
                .find(|k| observation_id(k, hour) == id)
                .ok_or_else(missing)?;
            let filter = FhirFilter {
                hour_from: Some(hour),
                hour_to: Some(hour + Duration::hours(1)),
                patient: Some(key.0),
                limit: 1,
                ..FhirFilter::default()
            };
            let rows = app.store.fhir_patient_rows(&filter).await?;
            rows.first()
                .map(|w| observation(&w.row, w.written_at))
                .ok_or_else(missing)
        }
    }
}

#[cfg(test)]
mod tests {
    use careload_scoring::score::{Components, Split};
    use careload_scoring::{Totals, quality::QualityCounts};
    use careload_store::{Level, RunId};

    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn components(seed: i64) -> Components {
        let mut c = Components::default();
        for (i, comp) in Component::ALL.into_iter().enumerate() {
            c.add(comp, Points::from_milli(seed * 1000 + i as i64 * 125));
        }
        c
    }

    fn unit(ward: &str) -> UnitHour {
        let c = components(2);
        UnitHour {
            hour: t("2026-12-05T06:00:00Z"),
            level: Level::Ward,
            ward: ward.into(),
            team: String::new(),
            totals: Totals {
                patients: 17,
                total: c.sum(),
                components: c,
                professions: Split {
                    usk: Points::from_milli(10_500),
                    ssk: c.sum() - Points::from_milli(10_500),
                },
                unmatched: 0,
                quality: QualityCounts::default(),
            },
            weights_version: "2026.1".into(),
            source_id: String::new(),
        }
    }

    fn patient(key: &str) -> PatientHour {
        let c = components(1);
        PatientHour {
            hour: t("2026-12-05T06:00:00Z"),
            key: PatientKey(key.into()),
            ward: "w01".into(),
            team: Some("team-secret-a".into()),
            bed: Some("bed-secret-12".into()),
            as_of: t("2026-12-05T06:04:00Z"),
            run_id: RunId(3),
            weights_version: "2026.1".into(),
            total: c.sum(),
            professions: Split {
                usk: Points::from_milli(4_250),
                ssk: c.sum() - Points::from_milli(4_250),
            },
            components: c,
            unmatched: 0,
        }
    }

    fn quantity(v: &Value) -> i64 {
        (v["value"].as_f64().unwrap_or(f64::NAN) * 1000.0).round() as i64
    }

    #[test]
    fn a_ward_hour_is_a_measure_report_with_every_group() {
        let row = unit("w01");
        let written = t("2026-12-05T07:02:03.456Z");
        let r = measure_report(&row, Some(written));
        assert_eq!(r["resourceType"], "MeasureReport");
        assert!(is_valid_id(r["id"].as_str().unwrap_or("")), "{}", r["id"]);
        assert_eq!(r["status"], "complete");
        assert_eq!(r["type"], "summary");
        assert_eq!(r["measure"], MEASURE);
        assert_eq!(r["subject"]["reference"], "Location/w01");
        assert_eq!(r["period"]["start"], "2026-12-05T06:00:00Z");
        assert_eq!(r["period"]["end"], "2026-12-05T07:00:00Z");
        assert_eq!(r["date"], "2026-12-05T07:02:03.456Z");
        assert_eq!(r["meta"]["lastUpdated"], r["date"]);
        assert_eq!(r["extension"][0]["valueString"], "2026.1");
        let groups = r["group"].as_array().cloned().unwrap_or_default();
        assert_eq!(groups.len(), 3 + Component::ALL.len());
        let by_code = |code: &str| {
            groups
                .iter()
                .find(|g| g["code"]["coding"][0]["code"] == code)
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(quantity(&by_code("total")["measureScore"]), row.totals.total.milli());
        assert_eq!(quantity(&by_code("usk")["measureScore"]), 10_500);
        assert_eq!(
            quantity(&by_code("ssk")["measureScore"]),
            row.totals.professions.ssk.milli()
        );
        for c in Component::ALL {
            assert_eq!(
                quantity(&by_code(c.key())["measureScore"]),
                row.totals.components.get(c).milli(),
                "{c:?}"
            );
        }
        assert_eq!(by_code("total")["population"][0]["count"], 17);
        for g in &groups {
            let code = g["code"]["coding"][0]["code"].as_str().unwrap_or("");
            assert!(
                CODES.iter().any(|(c, _, _)| *c == code),
                "{code} is documented in CODES"
            );
            assert_eq!(g["code"]["coding"][0]["system"], CODE_SYSTEM);
        }
    }

    #[test]
    fn a_ward_id_that_is_not_a_fhir_id_is_an_identifier_only_and_ids_stay_valid() {
        let row = unit("Avd 3/medicin ÅÄÖ");
        let r = measure_report(&row, None);
        assert!(r["subject"].get("reference").is_none(), "{}", r["subject"]);
        assert_eq!(r["subject"]["identifier"]["value"], "Avd 3/medicin ÅÄÖ");
        let id = r["id"].as_str().unwrap_or("");
        assert!(is_valid_id(id), "{id}");
        assert!(!id.contains("Avd"), "{id}");
        // an hour without a run: lastUpdated is the hour's end
        assert_eq!(r["meta"]["lastUpdated"], "2026-12-05T07:00:00Z");
        assert_ne!(measure_report_id("w01", row.hour), measure_report_id("w02", row.hour));
        assert_ne!(
            measure_report_id("w01", row.hour),
            measure_report_id("w01", row.hour + Duration::hours(1))
        );
        assert_eq!(id_hour(id, "cn-ward-", 12), Some(row.hour));
    }

    #[test]
    fn a_patient_hour_is_an_observation_by_pseudonym_only() {
        let key = "9f2c41d7e0a3b5c6d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f901234567890";
        let row = patient(key);
        let o = observation(&row, Some(t("2026-12-05T07:01:00Z")));
        assert_eq!(o["resourceType"], "Observation");
        assert_eq!(o["status"], "final");
        assert_eq!(o["code"]["coding"][0]["code"], "care-need");
        assert_eq!(
            o["subject"],
            json!({ "identifier": { "system": PSEUDONYM_SYSTEM, "value": key } }),
            "the subject is the pseudonym as an identifier, nothing else"
        );
        assert_eq!(o["effectivePeriod"]["start"], "2026-12-05T06:00:00Z");
        assert_eq!(quantity(&o["valueQuantity"]), row.total.milli());
        let comps = o["component"].as_array().cloned().unwrap_or_default();
        assert_eq!(comps.len(), 2 + Component::ALL.len());
        assert!(comps.iter().all(|c| c["code"]["coding"][0]["code"] != "care-need"));
        let usk = comps
            .iter()
            .find(|c| c["code"]["coding"][0]["code"] == "usk")
            .cloned()
            .unwrap_or_default();
        assert_eq!(quantity(&usk["valueQuantity"]), 4_250);
        assert_eq!(
            o["category"][1]["coding"][0],
            json!({ "system": WARD_SYSTEM, "code": "w01" })
        );
        let id = o["id"].as_str().unwrap_or("");
        assert!(is_valid_id(id), "{id}");
        assert!(!id.contains(&key[..8]), "the id does not show the pseudonym: {id}");
        assert_eq!(id_hour(id, "cn-pt-", 20), Some(row.hour));
        // neither team nor bed is served
        let text = o.to_string();
        assert!(
            !text.contains("team-secret-a") && !text.contains("bed-secret-12"),
            "{text}"
        );
        // different hours of the same patient, and different patients, get different ids
        assert_ne!(id, observation_id(&row.key, row.hour + Duration::hours(1)));
        assert_ne!(id, observation_id(&PatientKey("other".into()), row.hour));
    }

    fn pairs(q: &[(&str, &str)]) -> Vec<(String, String)> {
        q.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn date_prefixes_bound_the_hours_by_their_start() {
        let now = t("2026-12-05T07:30:00Z");
        let s = |q: &[(&str, &str)]| parse_search(Resource::Observation, &pairs(q), now, 400);
        let f = s(&[("date", "ge2026-12-05T04:30:00Z"), ("date", "lt2026-12-05T06:00:00Z")]).map(|s| s.filter);
        let f = f.unwrap_or_default();
        assert_eq!(
            (f.hour_from, f.hour_to),
            (Some(t("2026-12-05T05:00:00Z")), Some(t("2026-12-05T06:00:00Z")))
        );
        let f = s(&[("date", "2026-12-04")]).map(|s| s.filter).unwrap_or_default();
        assert_eq!(
            (f.hour_from, f.hour_to),
            (Some(t("2026-12-04T00:00:00Z")), Some(t("2026-12-05T00:00:00Z")))
        );
        let f = s(&[("date", "gt2026-12-05T04:00:00Z"), ("date", "le2026-12-05T06:00:00Z")])
            .map(|s| s.filter)
            .unwrap_or_default();
        assert_eq!(
            (f.hour_from, f.hour_to),
            (Some(t("2026-12-05T05:00:00Z")), Some(t("2026-12-05T07:00:00Z")))
        );
        let f = s(&[("date", "eq2026-12-05T04:10:00+01:00")])
            .map(|s| s.filter)
            .unwrap_or_default();
        assert_eq!(
            (f.hour_from, f.hour_to),
            (Some(t("2026-12-05T03:00:00Z")), Some(t("2026-12-05T04:00:00Z")))
        );
        let f = s(&[
            ("_lastUpdated", "gt2026-12-05T04:10:00Z"),
            ("_lastUpdated", "lt2026-12-05T05:00:00Z"),
        ])
        .map(|s| s.filter)
        .unwrap_or_default();
        assert_eq!(
            (f.written_gt, f.written_lt, f.hour_from),
            (Some(t("2026-12-05T04:10:00Z")), Some(t("2026-12-05T05:00:00Z")), None)
        );
    }

    #[test]
    fn bad_searches_say_what_to_send() {
        let now = t("2026-12-05T07:30:00Z");
        let s = |r: Resource, q: &[(&str, &str)]| parse_search(r, &pairs(q), now, 400);
        let param = |e: Result<Search>| match e {
            Err(Error::BadQuery { param, hint }) => {
                assert!(!hint.is_empty());
                param
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(param(s(Resource::Observation, &[])), "date", "no lower bound");
        assert_eq!(param(s(Resource::Observation, &[("date", "lt2026-12-05")])), "date");
        assert_eq!(param(s(Resource::Observation, &[("date", "yesterday")])), "date");
        assert_eq!(param(s(Resource::Observation, &[("date", "ap2026-12-05")])), "date");
        assert_eq!(
            param(s(Resource::Observation, &[("date", "ge2026-12-05T06:00:00")])),
            "date",
            "no zone"
        );
        assert_eq!(
            param(s(Resource::Observation, &[("_lastUpdated", "eq2026-12-05")])),
            "_lastUpdated"
        );
        let q = [("date", "ge2026-12-05"), ("_count", "0")];
        assert_eq!(param(s(Resource::Observation, &q)), "_count");
        let q = [("date", "ge2026-12-05"), ("_count", "1001")];
        assert_eq!(param(s(Resource::Observation, &q)), "_count");
        let q = [("date", "ge2026-12-05"), ("_cursor", "zz")];
        assert_eq!(param(s(Resource::Observation, &q)), "_cursor");
        let q = [
            ("date", "ge2026-12-05"),
            ("subject:identifier", "urn:oid:1.2.752.129.2.1.3.1|191212121212"),
        ];
        assert_eq!(
            param(s(Resource::Observation, &q)),
            "subject:identifier",
            "no personal identity numbers"
        );
        let q = [("date", "ge2026-12-05"), ("subject", "w01")];
        assert_eq!(param(s(Resource::MeasureReport, &q)), "subject");
        let q = [("date", "ge2026-12-05"), ("subject", "Location/w01"), ("ward", "w02")];
        assert_eq!(
            param(s(Resource::MeasureReport, &q)),
            "ward",
            "the second names another ward"
        );
        let q = [("date", "ge2026-12-05"), ("subject", "Location/w01")];
        assert_eq!(
            param(s(Resource::Observation, &q)),
            "query",
            "subject is MeasureReport's"
        );
        assert!(matches!(
            s(Resource::Observation, &[("date", "ge2025-01-01")]),
            Err(Error::RangeTooLarge { max: 400, .. })
        ));
        // an upper bound far in the future bounds nothing stored: the range runs to now
        assert!(
            s(
                Resource::Observation,
                &[("date", "ge2026-12-01"), ("date", "lt2100-01-01")]
            )
            .is_ok()
        );
        assert!(
            s(
                Resource::MeasureReport,
                &[("_lastUpdated", "ge2026-12-01"), ("_lastUpdated", "lt2100-01-01")]
            )
            .is_ok()
        );
        // a long date range is fine with a short _lastUpdated one
        assert!(
            s(
                Resource::Observation,
                &[("date", "ge2025-01-01"), ("_lastUpdated", "ge2026-12-01")]
            )
            .is_ok()
        );
    }

    #[test]
    fn cursors_round_trip_and_links_keep_the_query() {
        let hour = t("2026-12-05T06:00:00Z");
        for key in ["w01", "Avd 3/medicin ÅÄÖ", "9f2c41d7"] {
            let c = encode_cursor(hour, key);
            assert_eq!(decode_cursor(&c), Some((hour, key.to_owned())), "{c}");
        }
        let now = t("2026-12-05T07:30:00Z");
        let q = pairs(&[
            ("date", "ge2026-12-05T06:00:00+01:00"),
            ("subject:identifier", "a|b"),
            ("_count", "2"),
        ]);
        let s = parse_search(Resource::Observation, &q[..1], now, 400)
            .map(|s| s.pairs)
            .unwrap_or_default();
        assert_eq!(
            url("http://h/fhir/r4", Resource::Observation, &s),
            "http://h/fhir/r4/Observation?date=ge2026-12-05T06%3A00%3A00%2B01%3A00"
        );
    }
}
