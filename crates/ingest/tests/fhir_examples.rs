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
