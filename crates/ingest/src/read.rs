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
//! JSON). A line that is not JSON, a resource type careload does not use and
//! a resource the typed models refuse are counted in the [`ReadReport`] and
//! logged; they never stop the run.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use fhir_sdk::r4b::resources::{
    CarePlan, Condition, Encounter, Location, MedicationRequest, Observation, Patient, ServiceRequest, Task,
};
use serde::Serialize;
use serde_json::Value;

use crate::Error;

/// The resource types careload reads; every other type is counted as ignored.
pub const USED_TYPES: [&str; 9] = [
    "Location",
    "Patient",
    "Encounter",
    "Task",
    "MedicationRequest",
    "Observation",
    "ServiceRequest",
    "CarePlan",
    "Condition",
];

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

    fn skip(&mut self, skip: Skip, origin: &str) {
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
    /// Tasks (the to-do list).
    pub tasks: BTreeMap<String, Task>,
    /// Medication orders.
    pub medication_requests: BTreeMap<String, MedicationRequest>,
    /// Observations.
    pub observations: BTreeMap<String, Observation>,
    /// Orders (lab, imaging, …).
    pub service_requests: BTreeMap<String, ServiceRequest>,
    /// Care plans.
    pub care_plans: BTreeMap<String, CarePlan>,
    /// Diagnoses.
    pub conditions: BTreeMap<String, Condition>,
}

/// Parses a JSON value into a typed resource and files it under its id.
fn put<T: serde::de::DeserializeOwned>(
    map: &mut BTreeMap<String, T>,
    id: String,
    value: Value,
) -> Result<bool, String> {
    let typed: T = serde_json::from_value(value).map_err(|e| format!("not a valid R4 resource: {e}"))?;
    Ok(map.insert(id, typed).is_some())
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

    /// Adds one resource given as JSON: parsed with the typed models when its
    /// type is used, counted as ignored when not, skipped with the reason when
    /// it cannot be used. `origin` (file and line) only goes to the log.
    pub fn add_value(&mut self, value: Value, origin: &str, report: &mut ReadReport) {
        let Some(resource_type) = value.get("resourceType").and_then(Value::as_str).map(str::to_owned) else {
            report.skip(Skip::new("?", None, "no resourceType: not a FHIR resource"), origin);
            return;
        };
        let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
        if !USED_TYPES.contains(&resource_type.as_str()) {
            *report.ignored.entry(resource_type).or_default() += 1;
            return;
        }
        let Some(id) = id.filter(|id| !id.is_empty()) else {
            report.skip(Skip::new(&resource_type, None, "no id: cannot be referred to"), origin);
            return;
        };
        let updated = value
            .pointer("/meta/lastUpdated")
            .and_then(Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc));
        let result = match resource_type.as_str() {
            "Location" => put(&mut self.locations, id.clone(), value),
            "Patient" => put(&mut self.patients, id.clone(), value),
            "Encounter" => put(&mut self.encounters, id.clone(), value),
            "Task" => put(&mut self.tasks, id.clone(), value),
            "MedicationRequest" => put(&mut self.medication_requests, id.clone(), value),
            "Observation" => put(&mut self.observations, id.clone(), value),
            "ServiceRequest" => put(&mut self.service_requests, id.clone(), value),
            "CarePlan" => put(&mut self.care_plans, id.clone(), value),
            "Condition" => put(&mut self.conditions, id.clone(), value),
            _ => Err("unsupported resource type".to_owned()),
        };
        match result {
            Ok(replaced) => {
                *report.read.entry(resource_type).or_default() += 1;
                if replaced {
                    report.duplicates += 1;
                }
                if updated > report.last_updated {
                    report.last_updated = updated;
                }
            }
            Err(reason) => report.skip(Skip::new(&resource_type, Some(&id), reason), origin),
        }
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
        match serde_json::from_str::<Value>(line) {
            Ok(value) => resources.add_value(value, &origin, report),
            Err(e) => report.skip(
                Skip::new("?", None, format!("line {} of {name} is not JSON: {e}", n + 1)),
                &origin,
            ),
        }
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
        targets.insert(url, format!("{ty}/{id}"));
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
