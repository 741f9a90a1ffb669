//! The simulator's output reads with zero skips, maps, and is de-identified.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use careload_ingest::read::{ReadReport, Resources, read_bundle, read_path};
use careload_ingest::{Mapping, PseudonymKey, map};
use careload_sim::{Hospital, SimConfig};
use chrono::{TimeZone, Utc};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("careload-ingest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn hospital() -> Hospital {
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
    let mut h = Hospital::new(SimConfig {
        beds: 120,
        ..SimConfig::new(7, start)
    })
    .unwrap();
    h.advance_hours(24);
    h
}

#[test]
fn sim_ndjson_reads_without_skips_maps_like_its_bundle_and_is_de_identified() {
    let h = hospital();
    let dir = temp_dir("sim");
    let summary = h.write_ndjson(&dir).unwrap();
    let (res, report) = read_path(&dir).unwrap();
    assert!(
        report.skipped.is_empty(),
        "{:#?}",
        &report.skipped[..report.skipped.len().min(5)]
    );
    assert!(report.ignored.is_empty(), "{:?}", report.ignored);
    for (ty, n) in &summary.counts {
        assert_eq!(report.read.get(*ty).copied().unwrap_or(0), *n, "{ty}");
    }
    assert_eq!(report.last_updated, Some(h.now()));

    let key = PseudonymKey::from_bytes(b"test-key-0123456789").unwrap();
    let mapping = Mapping::default();
    let (snapshots, mreport) = map(&res, &mapping, &key, h.now());
    let in_progress = res
        .encounters
        .values()
        .filter(|e| e.status.as_ref() == "in-progress")
        .count();
    eprintln!(
        "{:?} {:?}",
        mreport.out_of_scope,
        mreport.skipped.iter().take(3).collect::<Vec<_>>()
    );
    assert_eq!(snapshots.len(), in_progress);
    assert!(in_progress > 100, "{in_progress}");
    // nothing of the sim's on-ward patients is lost: every skip is a discharged patient's item
    for s in &mreport.skipped {
        assert!(
            s.reason.contains("not an in-progress") || s.reason.contains("not on a ward"),
            "{s:?}"
        );
    }
    assert!(mreport.incomplete.is_empty(), "{:#?}", mreport.incomplete);
    assert!(snapshots.iter().any(|s| s.outlying) || snapshots.iter().all(|s| !s.outlying));
    assert!(snapshots.iter().filter(|s| s.norton.is_some()).count() > snapshots.len() / 2);
    assert!(
        snapshots
            .iter()
            .all(|s| s.specialty.is_some() && s.placement.team.is_some() && s.placement.bed.is_some())
    );
    // Regular beds are in a room (the bed's id starts with the room's); extra beds are not.
    assert!(snapshots.iter().all(|s| {
        let p = &s.placement;
        p.room
            .as_ref()
            .is_none_or(|r| p.bed.as_ref().is_some_and(|b| b.starts_with(r.as_str())))
    }));
    let in_rooms = snapshots.iter().filter(|s| s.placement.room.is_some()).count();
    assert!(
        in_rooms * 10 >= snapshots.len() * 8,
        "{in_rooms} of {} in a room",
        snapshots.len()
    );
    assert!(
        snapshots
            .iter()
            .any(|s| !s.vitals.is_empty() && !s.news2.is_empty() && !s.medications.is_empty())
    );

    // de-identification: no name, identifier value or FHIR Patient id anywhere
    let json = serde_json::to_string(&snapshots).unwrap();
    assert!(!json.contains("Testperson"));
    assert!(!json.contains("-TEST"));
    for (id, p) in &res.patients {
        assert!(
            !json.contains(&format!("\"{id}\"")) && !json.contains(&format!("Patient/{id}")),
            "Patient id {id} leaked"
        );
        for ident in p.identifier.iter().flatten() {
            if let Some(v) = &ident.value {
                assert!(!json.contains(v.as_str()), "identifier leaked");
            }
        }
    }

    // the transaction bundle (urn:uuid references) maps to the same snapshots
    let mut bres = Resources::new();
    let mut breport = ReadReport::default();
    read_bundle(h.transaction_bundle(), "bundle", &mut bres, &mut breport);
    assert!(breport.skipped.is_empty(), "{:?}", breport.skipped.first());
    assert_eq!(breport.read, report.read);
    let (bsnapshots, _) = map(&bres, &mapping, &key, h.now());
    assert_eq!(bsnapshots, snapshots);
    let _ = std::fs::remove_dir_all(&dir);
}
