//! Reading FHIR R4 JSON into a [`Resources`] store.
//!
//! Two shapes are read:
//!
//! * a single JSON file holding a `Bundle` (searchset, collection, transaction,
//!   …) or a single resource. In a Bundle, `urn:uuid:` full URLs are resolved:
//!   a reference to an entry's `fullUrl` becomes `Type/id`, and an entry
//!   without an id gets the UUID as its id;
//! * a directory of Bulk Data NDJSON files (`*.ndjson`, any name, one resource
//!   per line, blank lines ignored).
//!
//! Every resource is parsed with `fhir-sdk`'s typed R4B models (which read R4
//! JSON), straight from its text ([`careload_fhir_parse`]): a cheap first
//! look reads only `resourceType`, `id` and `meta.lastUpdated`, then the
//! resources of the types careload uses are parsed whole. A search page is
//! read the same way, its entries borrowed from the response body, so no
//! JSON tree is built for them. A line that is not JSON, a resource type
//! careload does not use and a resource the typed models refuse are counted
//! in the [`ReadReport`] and logged; they never stop the run.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use careload_fhir_parse::Typed;
use chrono::{DateTime, Utc};
use fhir_sdk::r4b::resources::{CarePlan, Encounter, Location, Patient, ServiceRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::Error;
use crate::facts::{ConditionFacts, MedicationFacts, ObservationFacts, TaskFacts};

/// The resource types careload reads; every other type is counted as ignored.
pub const USED_TYPES: [&str; 9] = careload_fhir_parse::USED_TYPES;

/// A resource that was not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Skip {
    /// Its resource type (`?` when not even that is known).
    pub resource_type: String,
    /// Its id, when known. Never a Patient's id (see [`withheld_id`]).
    pub id: Option<String>,
    /// Why it was skipped, in words.
    pub reason: String,
}

impl Skip {
    /// A skip, with a Patient's id withheld.
    pub fn new(resource_type: &str, id: Option<&str>, reason: impl Into<String>) -> Skip {
        Skip {
            resource_type: resource_type.to_owned(),
            id: withheld_id(resource_type, id),
            reason: reason.into(),
        }
    }

    /// `Type/id` or `Type`.
    pub fn reference(&self) -> String {
        match &self.id {
            Some(id) => format!("{}/{id}", self.resource_type),
            None => self.resource_type.clone(),
        }
    }
}

/// Patient ids are identifiers of people: reports and logs never show them.
pub fn withheld_id(resource_type: &str, id: Option<&str>) -> Option<String> {
    match (resource_type, id) {
        ("Patient", Some(_)) => Some("(withheld)".to_owned()),
        (_, id) => id.map(str::to_owned),
    }
}

/// What a read found.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ReadReport {
    /// Resources read and kept, per type.
    pub read: BTreeMap<String, usize>,
    /// Well-formed resources of types careload does not use, per type.
    pub ignored: BTreeMap<String, usize>,
    /// Lines and resources that could not be used, with the reason.
    pub skipped: Vec<Skip>,
    /// Resources that replaced an earlier one with the same type and id.
    pub duplicates: usize,
    /// The latest `meta.lastUpdated` seen, if any.
    pub last_updated: Option<DateTime<Utc>>,
}

impl ReadReport {
    /// Resources read and kept, all types.
    pub fn total_read(&self) -> usize {
        self.read.values().sum()
    }

    pub(crate) fn skip(&mut self, skip: Skip, origin: &str) {
        tracing::warn!(
            resource_type = %skip.resource_type,
            id = skip.id.as_deref().unwrap_or("-"),
            origin,
            reason = %skip.reason,
            "FHIR resource skipped"
        );
        self.skipped.push(skip);
    }
}

/// The FHIR resources careload uses, by type and id.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    /// Locations (wards, teams, rooms, beds).
    pub locations: BTreeMap<String, Location>,
    /// Patients.
    pub patients: BTreeMap<String, Patient>,
    /// Encounters.
    pub encounters: BTreeMap<String, Encounter>,
    /// Tasks (the to-do list), as the facts the mapping reads.
    pub tasks: BTreeMap<String, TaskFacts>,
    /// Medication orders.
    pub medication_requests: BTreeMap<String, MedicationFacts>,
    /// Observations, as the facts the mapping reads (see [`crate::facts`]).
    pub observations: BTreeMap<String, ObservationFacts>,
    /// Orders (lab, imaging, …).
    pub service_requests: BTreeMap<String, ServiceRequest>,
    /// Care plans.
    pub care_plans: BTreeMap<String, CarePlan>,
    /// Diagnoses.
    pub conditions: BTreeMap<String, ConditionFacts>,
}

/// The first look at a resource: what it is, its id and when it changed;
/// every other member is skipped unread.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    meta: Option<MetaHead<'a>>,
}

#[derive(Deserialize)]
struct MetaHead<'a> {
    #[serde(rename = "lastUpdated", borrow, default)]
    last_updated: Option<std::borrow::Cow<'a, str>>,
}

/// Files a typed resource under its id; true when it replaced one.
fn put<T>(map: &mut BTreeMap<String, T>, id: String, typed: T) -> bool {
    map.insert(id, typed).is_some()
}
impl Resources {
    /// An empty store.
    pub fn new() -> Resources {
        Resources::default()
    }

    /// Resources held, all types.
    pub fn len(&self) -> usize {
        self.locations.len()
            + self.patients.len()
            + self.encounters.len()
            + self.tasks.len()
            + self.medication_requests.len()
            + self.observations.len()
            + self.service_requests.len()
            + self.care_plans.len()
            + self.conditions.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds one resource given as a JSON value (see [`Resources::add_json`]).
    pub fn add_value(&mut self, value: Value, origin: &str, report: &mut ReadReport) {
        self.add_json(&value.to_string(), origin, report);
    }

    /// Adds one resource given as JSON text: parsed with the typed models
    /// when its type is used, counted as ignored when not, skipped with the
    /// reason when it cannot be used. `origin` (file and line) only goes to
    /// the log.
    pub fn add_json(&mut self, json: &str, origin: &str, report: &mut ReadReport) {
        self.add_text(json, origin, &|e| format!("not JSON: {e}"), report);
    }

    /// Adds line `n` of the NDJSON file `name` (see [`Resources::add_json`]).
    pub fn add_line(&mut self, line: &str, n: usize, name: &str, origin: &str, report: &mut ReadReport) {
        self.add_text(
            line,
            origin,
            &|e| format!("line {n} of {name} is not JSON: {e}"),
            report,
        );
    }

    /// [`Resources::add_json`], with the reason given for text that is not JSON.
    fn add_text(
        &mut self,
        json: &str,
        origin: &str,
        not_json: &dyn Fn(&serde_json::Error) -> String,
        report: &mut ReadReport,
    ) {
        let head: Head<'_> = match serde_json::from_str(json) {
            Ok(head) => head,
            Err(e) if e.is_data() => {
                // JSON, but not an object with a string resourceType
                report.skip(Skip::new("?", None, "no resourceType: not a FHIR resource"), origin);
                return;
            }
            Err(e) => {
                report.skip(Skip::new("?", None, not_json(&e)), origin);
                return;
            }
        };
        self.add_parsed(json, head, origin, report);
    }

    /// Adds one resource whose [`Head`] has been read.
    fn add_parsed(&mut self, json: &str, head: Head<'_>, origin: &str, report: &mut ReadReport) {
        let Some(resource_type) = head.resource_type.filter(|t| !t.is_empty()) else {
            report.skip(Skip::new("?", None, "no resourceType: not a FHIR resource"), origin);
            return;
        };
        if !USED_TYPES.contains(&&*resource_type) {
            *report.ignored.entry(resource_type.into_owned()).or_default() += 1;
            return;
        }
        let Some(id) = head.id.filter(|id| !id.is_empty()).map(std::borrow::Cow::into_owned) else {
            report.skip(Skip::new(&resource_type, None, "no id: cannot be referred to"), origin);
            return;
        };
        let updated = head
            .meta
            .and_then(|m| m.last_updated)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc));
        let typed = match careload_fhir_parse::parse(&resource_type, json) {
            Ok(Some(typed)) => typed,
            Ok(None) => return, // not reached: the type is used
            Err(e) => {
                let skip = Skip::new(&resource_type, Some(&id), format!("not a valid R4 resource: {e}"));
                report.skip(skip, origin);
                return;
            }
        };
        let replaced = match typed {
            Typed::Location(r) => put(&mut self.locations, id, r),
            Typed::Patient(r) => put(&mut self.patients, id, r),
            Typed::Encounter(r) => put(&mut self.encounters, id, r),
            Typed::Task(r) => put(&mut self.tasks, id, TaskFacts::from(&r)),
            Typed::MedicationRequest(r) => put(&mut self.medication_requests, id, MedicationFacts::from(&r)),
            Typed::Observation(r) => put(&mut self.observations, id, ObservationFacts::from(&r)),
            Typed::ServiceRequest(r) => put(&mut self.service_requests, id, r),
            Typed::CarePlan(r) => put(&mut self.care_plans, id, r),
            Typed::Condition(r) => put(&mut self.conditions, id, ConditionFacts::from(&r)),
        };
        *report.read.entry(resource_type.into_owned()).or_default() += 1;
        if replaced {
            report.duplicates += 1;
        }
        if updated > report.last_updated {
            report.last_updated = updated;
        }
    }
}

/// `meta.lastUpdated` of a typed resource.
trait LastUpdated {
    fn last_updated(&self) -> Option<DateTime<Utc>>;
}

macro_rules! last_updated {
    ($($ty:ty),*) => {$(
        impl LastUpdated for $ty {
            fn last_updated(&self) -> Option<DateTime<Utc>> {
                self.meta.as_ref()?.last_updated.as_ref().and_then(crate::time::instant)
            }
        }
    )*};
}

last_updated!(Location, Patient, Encounter, ServiceRequest, CarePlan);

/// The facts kept of a resource carry its `meta.lastUpdated` as their own.
macro_rules! facts_last_updated {
    ($($ty:ty),*) => {$(
        impl LastUpdated for $ty {
            fn last_updated(&self) -> Option<DateTime<Utc>> {
                self.last_updated
            }
        }
    )*};
}

facts_last_updated!(ObservationFacts, TaskFacts, MedicationFacts, ConditionFacts);

/// Files each of `newer` under its id unless `held` has the same id with a
/// later `meta.lastUpdated`; returns how many were taken.
fn merge_map<T: LastUpdated>(held: &mut BTreeMap<String, T>, newer: BTreeMap<String, T>) -> usize {
    let mut taken = 0;
    for (id, resource) in newer {
        let keep_held = held
            .get(&id)
            .is_some_and(|h| matches!((h.last_updated(), resource.last_updated()), (Some(a), Some(b)) if a > b));
        if !keep_held {
            held.insert(id, resource);
            taken += 1;
        }
    }
    taken
}

/// The id in a reference `Type/id` (relative or absolute).
fn reference_id<'r>(reference: Option<&'r str>, ty: &str) -> Option<&'r str> {
    let (before, id) = reference?.rsplit_once('/')?;
    before.ends_with(ty).then_some(id)
}

/// A typed reference's text.
fn text(r: Option<&fhir_sdk::r4b::types::Reference>) -> Option<&str> {
    r?.reference.as_deref()
}

impl Resources {
    /// Merges resources fetched later into this store, by type and id: a
    /// resource replaces the held one with the same id unless the held one
    /// has a later `meta.lastUpdated` (a resource without one always
    /// replaces). Returns how many were taken.
    ///
    /// Nothing is removed: deletions on the server are caught by a full
    /// fetch, and stays that ended by [`Resources::retain_stays`].
    pub fn merge(&mut self, newer: Resources) -> usize {
        merge_map(&mut self.locations, newer.locations)
            + merge_map(&mut self.patients, newer.patients)
            + merge_map(&mut self.encounters, newer.encounters)
            + merge_map(&mut self.tasks, newer.tasks)
            + merge_map(&mut self.medication_requests, newer.medication_requests)
            + merge_map(&mut self.observations, newer.observations)
            + merge_map(&mut self.service_requests, newer.service_requests)
            + merge_map(&mut self.care_plans, newer.care_plans)
            + merge_map(&mut self.conditions, newer.conditions)
    }

    /// Keeps only the clinical resources of the held encounters and patients:
    /// a resource whose `encounter` names an encounter not held is dropped,
    /// and one without an encounter whose patient is not held. Used after the
    /// encounters have been replaced by the in-progress ones, so that the
    /// records of ended stays leave with them. Returns how many were dropped.
    pub fn retain_stays(&mut self) -> usize {
        let before = self.len();
        let encounters = &self.encounters;
        let patients = &self.patients;
        let keep = |encounter: Option<&str>, patient: Option<&str>| match reference_id(encounter, "Encounter") {
            Some(e) => encounters.contains_key(e),
            None => reference_id(patient, "Patient").is_some_and(|p| patients.contains_key(p)),
        };
        self.tasks
            .retain(|_, r| keep(r.encounter.as_deref(), r.r#for.as_deref()));
        self.medication_requests
            .retain(|_, r| keep(r.encounter.as_deref(), r.subject.as_deref()));
        self.observations
            .retain(|_, r| keep(r.encounter.as_deref(), r.subject.as_deref()));
        self.service_requests
            .retain(|_, r| keep(text(r.encounter.as_ref()), text(Some(&r.subject))));
        self.care_plans
            .retain(|_, r| keep(text(r.encounter.as_ref()), text(Some(&r.subject))));
        self.conditions.retain(|_, r| keep(None, r.subject.as_deref()));
        before - self.len()
    }
}

/// Reads a path: a directory of NDJSON files, or one JSON file (a Bundle or a resource).
///
/// # Errors
/// The path cannot be read, a JSON file is not JSON or not FHIR, a directory holds no `.ndjson` file.
pub fn read_path(path: &Path) -> Result<(Resources, ReadReport), Error> {
    let mut resources = Resources::new();
    let mut report = ReadReport::default();
    if path.is_dir() {
        read_ndjson_dir(path, &mut resources, &mut report)?;
    } else {
        read_json_file(path, &mut resources, &mut report)?;
    }
    Ok((resources, report))
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads every `*.ndjson` file of a directory (sorted by name), one resource per line.
///
/// # Errors
/// The directory or a file cannot be read, or there is no `.ndjson` file.
pub fn read_ndjson_dir(dir: &Path, resources: &mut Resources, report: &mut ReadReport) -> Result<(), Error> {
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        if path.is_file() && path.extension().is_some_and(|e| e.eq_ignore_ascii_case("ndjson")) {
            files.push(path);
        }
    }
    if files.is_empty() {
        return Err(Error::NoNdjson {
            path: dir.to_path_buf(),
        });
    }
    files.sort();
    for file in files {
        let text = fs::read_to_string(&file).map_err(io_error(&file))?;
        read_ndjson_str(&text, &file.display().to_string(), resources, report);
    }
    Ok(())
}

/// Reads NDJSON text: one resource per line, blank lines ignored, a line that
/// is not JSON skipped with the reason.
pub fn read_ndjson_str(text: &str, name: &str, resources: &mut Resources, report: &mut ReadReport) {
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let origin = format!("{name}:{}", n + 1);
        resources.add_line(line, n + 1, name, &origin, report);
    }
}

/// Reads one JSON file: a Bundle (its entries) or a single resource.
///
/// # Errors
/// The file cannot be read, is not JSON, or has no `resourceType`.
pub fn read_json_file(path: &Path, resources: &mut Resources, report: &mut ReadReport) -> Result<(), Error> {
    let text = fs::read_to_string(path).map_err(io_error(path))?;
    let value: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    match value.get("resourceType").and_then(Value::as_str) {
        Some("Bundle") => {
            read_bundle(value, &path.display().to_string(), resources, report);
            Ok(())
        }
        Some(_) => {
            resources.add_value(value, &path.display().to_string(), report);
            Ok(())
        }
        None => Err(Error::NotFhir {
            path: path.to_path_buf(),
        }),
    }
}

/// Reads the entries of a Bundle (any type), resolving `urn:uuid:` full URLs.
/// Nested Bundles are read recursively.
pub fn read_bundle(mut bundle: Value, name: &str, resources: &mut Resources, report: &mut ReadReport) {
    let Some(entries) = bundle.get_mut("entry").and_then(Value::as_array_mut) else {
        return;
    };
    // fullUrl → Type/id, and ids for entries that have none (transaction POSTs)
    let mut targets: HashMap<String, String> = HashMap::new();
    for entry in entries.iter_mut() {
        let full_url = entry.get("fullUrl").and_then(Value::as_str).map(str::to_owned);
        let Some(resource) = entry.get_mut("resource") else {
            continue;
        };
        let Some(ty) = resource.get("resourceType").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        let Some(url) = full_url else { continue };
        let id = match resource.get("id").and_then(Value::as_str) {
            Some(id) => id.to_owned(),
            None => match url.strip_prefix("urn:uuid:").or_else(|| url.strip_prefix("urn:oid:")) {
                Some(uuid) => {
                    if let Some(obj) = resource.as_object_mut() {
                        obj.insert("id".to_owned(), Value::String(uuid.to_owned()));
                    }
                    uuid.to_owned()
                }
                None => continue,
            },
        };
        let target = format!("{ty}/{id}");
        // a search's `https://…/Type/id` names the same resource as `Type/id`
        // wherever careload reads a reference: nothing to rewrite, and no
        // walk through every resource of the page
        if url
            .strip_suffix(target.as_str())
            .is_none_or(|base| !base.ends_with('/'))
        {
            targets.insert(url, target);
        }
    }
    for (n, entry) in entries.iter_mut().enumerate() {
        let origin = format!("{name} entry {n}");
        let Some(mut resource) = entry.get_mut("resource").map(Value::take) else {
            continue;
        };
        if !targets.is_empty() {
            resolve_references(&mut resource, &targets);
        }
        if resource.get("resourceType").and_then(Value::as_str) == Some("Bundle") {
            read_bundle(resource, &origin, resources, report);
        } else {
            resources.add_value(resource, &origin, report);
        }
    }
}

/// A search page (any Bundle) as the fast path reads it: its links, and its
/// entries' resources borrowed unparsed from the body.
#[derive(Deserialize)]
struct Page<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    entry: Vec<PageEntry<'a>>,
}

#[derive(Deserialize)]
struct PageEntry<'a> {
    #[serde(rename = "fullUrl", borrow, default)]
    full_url: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    resource: Option<&'a RawValue>,
}

/// Reads a search page's entries (a `Bundle`, as JSON text) without building
/// a JSON tree: each resource is parsed typed straight from the body. A page
/// whose entries need their references resolved (a `fullUrl` that is not the
/// entry's own `…/Type/id`, an entry without an id, a nested Bundle) is read
/// by [`read_bundle`] instead, with the same result.
///
/// # Errors
/// The text is not JSON or not a Bundle: the reason, to report for the page.
pub fn read_search_page(
    body: &str,
    name: &str,
    resources: &mut Resources,
    report: &mut ReadReport,
) -> Result<(), String> {
    let page: Page<'_> = serde_json::from_str(body).map_err(|e| format!("not a FHIR Bundle: {e}"))?;
    if page.resource_type.as_deref() != Some("Bundle") {
        return Err("the JSON is not a Bundle".to_owned());
    }
    let mut heads = Vec::with_capacity(page.entry.len());
    for entry in &page.entry {
        let Some(raw) = entry.resource else {
            heads.push(None);
            continue;
        };
        let head: Option<Head<'_>> = serde_json::from_str(raw.get()).ok();
        let plain = head.as_ref().is_some_and(|h| {
            let (Some(ty), Some(id)) = (h.resource_type.as_deref(), h.id.as_deref()) else {
                return false;
            };
            ty != "Bundle"
                && !id.is_empty()
                && entry.full_url.as_deref().is_none_or(|url| {
                    url.strip_suffix(id)
                        .and_then(|u| u.strip_suffix('/'))
                        .and_then(|u| u.strip_suffix(ty))
                        .is_some_and(|base| base.is_empty() || base.ends_with('/'))
                })
        });
        if !plain {
            // references may need resolving: the tree path reads the page
            let value: Value = serde_json::from_str(body).map_err(|e| format!("not a FHIR Bundle: {e}"))?;
            read_bundle(value, name, resources, report);
            return Ok(());
        }
        heads.push(head);
    }
    for (n, (entry, head)) in page.entry.iter().zip(heads).enumerate() {
        if let (Some(raw), Some(head)) = (entry.resource, head) {
            resources.add_parsed(raw.get(), head, &format!("{name} entry {n}"), report);
        }
    }
    Ok(())
}

/// Rewrites every `reference` that names a Bundle entry's full URL to `Type/id`.
fn resolve_references(value: &mut Value, targets: &HashMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "reference" {
                    if let Value::String(r) = v
                        && let Some(target) = targets.get(r.as_str())
                    {
                        *r = target.clone();
                    }
                } else {
                    resolve_references(v, targets);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| resolve_references(v, targets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bad_lines_are_counted_and_the_rest_read() {
        let text = concat!(
            r#"{"resourceType":"Patient","id":"p1","gender":"female"}"#,
            "\n\n",
            "{not json\n",
            r#"{"resourceType":"Organization","id":"o1"}"#,
            "\n",
            r#"{"resourceType":"Task","id":"t1","status":"no-such-status","intent":"order"}"#,
            "\n",
            r#"{"resourceType":"Task","status":"requested","intent":"order"}"#,
            "\n",
            r#"{"id":"x"}"#,
            "\n",
        );
        let mut res = Resources::new();
        let mut report = ReadReport::default();
        read_ndjson_str(text, "test.ndjson", &mut res, &mut report);
        assert_eq!(report.read.get("Patient"), Some(&1));
        assert_eq!(report.ignored.get("Organization"), Some(&1));
        let reasons: Vec<String> = report
            .skipped
            .iter()
            .map(|s| format!("{} {}", s.reference(), s.reason))
            .collect();
        assert_eq!(report.skipped.len(), 4, "{reasons:#?}");
        assert!(
            reasons[0].contains("line 3") && reasons[0].contains("not JSON"),
            "{reasons:#?}"
        );
        assert!(
            reasons[1].starts_with("Task/t1 not a valid R4 resource"),
            "{reasons:#?}"
        );
        assert!(reasons[2].starts_with("Task no id"), "{reasons:#?}");
        assert!(reasons[3].contains("no resourceType"), "{reasons:#?}");
        assert_eq!(res.len(), 1);
    }

    fn store(lines: &[serde_json::Value]) -> Resources {
        let mut res = Resources::new();
        let mut report = ReadReport::default();
        for v in lines {
            res.add_value(v.clone(), "test", &mut report);
        }
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        res
    }

    fn task(id: &str, status: &str, updated: Option<&str>, encounter: &str) -> serde_json::Value {
        let mut t = serde_json::json!({"resourceType": "Task", "id": id, "status": status, "intent": "order",
            "encounter": {"reference": format!("Encounter/{encounter}")}});
        if let Some(u) = updated {
            t["meta"] = serde_json::json!({"lastUpdated": u});
        }
        t
    }

    #[test]
    fn merge_keeps_the_later_last_updated() {
        let mut held = store(&[
            task("t1", "requested", Some("2026-11-23T09:00:00Z"), "e1"),
            task("t2", "requested", Some("2026-11-23T09:00:00Z"), "e1"),
            task("t3", "requested", None, "e1"),
        ]);
        let newer = store(&[
            // later: replaces
            task("t1", "completed", Some("2026-11-23T10:00:00Z"), "e1"),
            // earlier (a stale page): ignored
            task("t2", "cancelled", Some("2026-11-23T08:00:00Z"), "e1"),
            // no lastUpdated: the fetched one replaces
            task("t3", "completed", None, "e1"),
            // new: added
            task("t4", "requested", Some("2026-11-23T10:00:00Z"), "e1"),
        ]);
        assert_eq!(held.merge(newer), 3);
        let status = |id: &str| held.tasks.get(id).map(|t| t.status.as_ref().to_owned());
        assert_eq!(status("t1").as_deref(), Some("completed"));
        assert_eq!(status("t2").as_deref(), Some("requested"));
        assert_eq!(status("t3").as_deref(), Some("completed"));
        assert_eq!(status("t4").as_deref(), Some("requested"));
    }

    #[test]
    fn retain_stays_drops_the_records_of_ended_stays() {
        let mut held = store(&[
            serde_json::json!({"resourceType": "Encounter", "id": "e1", "status": "in-progress", "class": {"code": "IMP"},
                "subject": {"reference": "Patient/p1"}}),
            serde_json::json!({"resourceType": "Patient", "id": "p1"}),
            task("t1", "requested", None, "e1"),
            task("t2", "requested", None, "e-gone"),
            serde_json::json!({"resourceType": "Task", "id": "t3", "status": "requested", "intent": "order",
                "for": {"reference": "Patient/p1"}}),
            serde_json::json!({"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"}}),
            serde_json::json!({"resourceType": "Condition", "id": "c2", "subject": {"reference": "Patient/p-gone"}}),
        ]);
        assert_eq!(held.retain_stays(), 2);
        assert!(held.tasks.contains_key("t1") && held.tasks.contains_key("t3"));
        assert!(!held.tasks.contains_key("t2"));
        assert!(held.conditions.contains_key("c1") && !held.conditions.contains_key("c2"));
    }

    #[test]
    fn urn_uuid_references_resolve() {
        let bundle = serde_json::json!({
            "resourceType": "Bundle", "type": "transaction",
            "entry": [
                {"fullUrl": "urn:uuid:aaaa", "resource": {"resourceType": "Patient"},
                 "request": {"method": "POST", "url": "Patient"}},
                {"fullUrl": "urn:uuid:bbbb", "resource": {"resourceType": "Encounter", "id": "e1", "status": "in-progress",
                  "class": {"code": "IMP"}, "subject": {"reference": "urn:uuid:aaaa"}},
                 "request": {"method": "PUT", "url": "Encounter/e1"}}
            ]
        });
        let mut res = Resources::new();
        let mut report = ReadReport::default();
        read_bundle(bundle, "b", &mut res, &mut report);
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        assert!(res.patients.contains_key("aaaa"));
        let e = res.encounters.get("e1").unwrap();
        let subject = e.subject.as_ref().and_then(|s| s.reference.clone());
        assert_eq!(subject.as_deref(), Some("Patient/aaaa"));
    }
}
