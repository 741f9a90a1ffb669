//! Real R4 JSON from outside the project parses with the typed models:
//! HL7's official R4 examples of every type careload uses, and Synthea
//! transaction bundles with `urn:uuid` references. (That the models lose
//! nothing in a round trip is `careload-fhir-parse`'s test.)
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use careload_ingest::read::{ReadReport, Resources, USED_TYPES, read_json_file};

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

/// Synthea's stays, each patient's latest set in progress on a ward (their
/// encounters are finished, ambulatory and have no location): what careload
/// makes of real-shaped records. Vital signs under the codes real records
/// carry are read (the BP panel 55284-4); diagnoses recorded during earlier
/// visits reach the stay; `Encounter.type` makes no specialty, so nobody is
/// an outlier; every code not used is reported for the mapping.
#[test]
fn synthea_stays_set_in_progress_map_with_their_vital_signs() {
    use careload_ingest::{Mapping, PseudonymKey, map};
    use serde_json::{Value, json};

    let pt = "http://terminology.hl7.org/CodeSystem/location-physical-type";
    let mut res = Resources::new();
    let mut report = ReadReport::default();
    for (id, ty, parent) in [("w-test", "wa", None), ("w-test-b1", "bd", Some("w-test"))] {
        let mut l =
            json!({"resourceType": "Location", "id": id, "physicalType": {"coding": [{"system": pt, "code": ty}]}});
        if let Some(p) = parent {
            l["partOf"] = json!({"reference": format!("Location/{p}")});
        }
        res.add_value(l, "test", &mut report);
    }
    let mut latest_end: Vec<chrono::DateTime<chrono::Utc>> = Vec::new();
    for path in files("synthea-r4") {
        let mut bundle: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let entries = bundle["entry"].as_array_mut().unwrap();
        let latest = entries
            .iter_mut()
            .filter(|e| e["resource"]["resourceType"] == "Encounter")
            .max_by_key(|e| e["resource"]["period"]["start"].as_str().unwrap_or("").to_owned());
        let Some(latest) = latest else { continue };
        let enc = &mut latest["resource"];
        latest_end.push(enc["period"]["end"].as_str().unwrap().parse().unwrap());
        enc["status"] = json!("in-progress");
        enc["class"] = json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"});
        enc["period"].as_object_mut().unwrap().remove("end");
        enc["location"] = json!([{"location": {"reference": "Location/w-test-b1"}, "status": "active"}]);
        careload_ingest::read::read_bundle(bundle, &path.display().to_string(), &mut res, &mut report);
    }
    assert_eq!(latest_end.len(), 4, "four patient bundles");
    // each patient at the end of their latest visit; all four on the ward at the latest of those
    let as_of = latest_end.iter().max().copied().unwrap();
    let (snapshots, mapped) = map(&res, &Mapping::default(), &PseudonymKey::development(), as_of);
    eprintln!(
        "Synthea, latest stays in progress: {} snapshots, mapped {:?}",
        snapshots.len(),
        mapped.mapped
    );
    eprintln!("  out of scope: {:?}", mapped.out_of_scope);
    for s in &snapshots {
        eprintln!(
            "  {}: vital sets {}, NEWS2 {}, diagnoses {}, medications {}, specialty {:?}, outlying {}",
            &s.key.0[..8],
            s.vitals.len(),
            s.news2.len(),
            s.diagnoses.len(),
            s.medications.len(),
            s.specialty,
            s.outlying
        );
    }
    for u in mapped.unused_codes.iter().take(12) {
        eprintln!(
            "  unused {} {}|{} ×{} {:?}",
            u.table,
            u.system.as_deref().unwrap_or(""),
            u.code,
            u.count,
            u.display
        );
    }
    assert_eq!(snapshots.len(), 4, "{:?}", mapped.skipped);
    assert!(snapshots.iter().all(|s| s.specialty.is_none() && !s.outlying));
    let with_bp = snapshots
        .iter()
        .filter(|s| s.vitals.iter().any(|v| v.vitals.systolic_bp.is_some()))
        .count();
    assert!(
        with_bp >= 3,
        "{with_bp} of 4 have a blood pressure from the 55284-4 panel"
    );
    // the active diagnoses, recorded during earlier visits, reach the stay;
    // Synthea codes them in SNOMED CT, not ICD-10: reported, not lost silently
    let conditions: Vec<&str> = mapped
        .skipped
        .iter()
        .filter(|s| s.resource_type == "Condition")
        .map(|s| s.reason.as_str())
        .collect();
    assert_eq!(conditions.len(), 4, "{conditions:?}");
    assert!(conditions.iter().all(|r| r.contains("ICD-10")), "{conditions:?}");
    assert!(
        mapped
            .unused_codes
            .iter()
            .any(|u| u.table == "diagnoses" && u.display.is_some())
    );
    assert!(
        mapped
            .unused_codes
            .iter()
            .any(|u| u.table == "observations" && u.code == "29463-7" && u.display.is_none())
    );
}
