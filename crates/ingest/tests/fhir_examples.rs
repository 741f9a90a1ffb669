//! Real R4 JSON from outside the project parses with the typed models:
//! HL7's official R4 examples of every type careload uses, and Synthea
//! transaction bundles with `urn:uuid` references.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use careload_ingest::read::{ReadReport, Resources, USED_TYPES, read_json_file};
use serde_json::Value;

const EXAMPLES: &str = "/work/shared/fhir-examples";

fn files(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(Path::new(EXAMPLES).join(dir))
        .expect("the shared FHIR examples are present")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    v.sort();
    v
}

fn read_all(paths: &[PathBuf]) -> (Resources, ReadReport) {
    let mut res = Resources::new();
    let mut report = ReadReport::default();
    for p in paths {
        read_json_file(p, &mut res, &mut report).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    (res, report)
}

/// Every skipped resource as "reference: reason".
fn skipped_lines(report: &ReadReport) -> Vec<String> {
    report
        .skipped
        .iter()
        .map(|s| format!("{}: {}", s.reference(), s.reason))
        .collect()
}

#[test]
fn every_hl7_r4_example_of_a_used_type_parses() {
    let paths = files("hl7-r4");
    let (res, report) = read_all(&paths);
    let skipped = skipped_lines(&report);
    eprintln!(
        "HL7 R4: read {:?}, ignored {} types, skipped {}",
        report.read,
        report.ignored.len(),
        skipped.len()
    );
    assert!(
        skipped.is_empty(),
        "HL7 R4 examples that did not parse:\n{}",
        skipped.join("\n")
    );
    for ty in USED_TYPES {
        assert!(report.read.get(ty).copied().unwrap_or(0) > 0, "no {ty} example read");
    }
    assert_eq!(report.total_read(), res.len() + report.duplicates);
}

#[test]
fn synthea_bundles_parse_and_their_urn_uuid_references_resolve() {
    let paths = files("synthea-r4");
    let (res, report) = read_all(&paths);
    let skipped = skipped_lines(&report);
    eprintln!("Synthea: read {:?}, skipped {}", report.read, skipped.len());
    assert!(
        skipped.is_empty(),
        "Synthea resources that did not parse:\n{}",
        skipped.join("\n")
    );
    assert!(report.read.get("Patient").copied().unwrap_or(0) >= 4);
    assert!(report.read.get("Encounter").copied().unwrap_or(0) > 0);
    // every encounter's subject now names a Patient in the store
    for (id, e) in &res.encounters {
        let subject = e.subject.as_ref().and_then(|s| s.reference.as_deref()).unwrap_or("");
        let pid = subject
            .strip_prefix("Patient/")
            .unwrap_or_else(|| panic!("Encounter/{id}: {subject}"));
        assert!(res.patients.contains_key(pid), "Encounter/{id}: {subject} dangles");
    }
}

/// Numbers compare by value (R4 decimals are read as f64: `6` and `6.0` are equal).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn round_trips_lose_nothing() {
    use fhir_sdk::r4b::resources::Resource;
    let names = [
        "Patient-example.json",
        "Encounter-example.json",
        "Task-example1.json",
        "MedicationRequest-medrx0302.json",
        "Observation-vitals-panel.json",
        "Observation-blood-pressure.json",
        "ServiceRequest-example.json",
        "CarePlan-example.json",
        "Condition-example.json",
        "Location-1.json",
    ];
    let mut checked = 0;
    for name in names {
        let path = Path::new(EXAMPLES).join("hl7-r4").join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("{name}: not in the example set, not checked");
            continue;
        };
        let original: Value = serde_json::from_str(&text).unwrap();
        let typed: Resource = serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = serde_json::to_value(&typed).unwrap();
        assert!(
            same(&original, &back),
            "{name} changed in a round trip:\n{original:#}\n---\n{back:#}"
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} round trips checked");
}
