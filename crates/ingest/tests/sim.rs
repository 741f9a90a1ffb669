//! The simulator's output reads with zero skips, maps, and is de-identified.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use careload_ingest::read::{ReadReport, Resources, read_bundle, read_path};
use careload_ingest::{Mapping, PseudonymKey, apply_changes, map};
use careload_sim::{Hospital, SimConfig};
use chrono::{TimeZone, Utc};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("careload-ingest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A 120-bed simulated hospital `hours` after `start`.
fn hospital(seed: u64, start: chrono::DateTime<Utc>, hours: u32) -> Hospital {
    let mut h = Hospital::new(SimConfig {
        beds: 120,
        ..SimConfig::new(seed, start)
    })
    .unwrap();
    h.advance_hours(hours);
    h
}

/// Everything the simulator serves now, read back from its NDJSON.
fn read_served(h: &Hospital, name: &str) -> Resources {
    let dir = temp_dir(name);
    h.write_ndjson(&dir).unwrap();
    let (res, _) = read_path(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    res
}

#[test]
fn sim_ndjson_reads_without_skips_maps_like_its_bundle_and_is_de_identified() {
    let h = hospital(7, Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap(), 24);
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

/// Reads what the simulator serves now as an incremental REST fetch does:
/// of the clinical types only what was last updated at or after `since`
/// (`_lastUpdated=ge<since>`: the simulator, like a real server, stamps some
/// changes with exactly the previous present), the stays, patients and
/// locations in full.
fn read_changes(h: &Hospital, since: chrono::DateTime<Utc>, name: &str) -> Resources {
    let dir = temp_dir(name);
    h.write_ndjson(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let kept: Vec<&str> = text
            .lines()
            .filter(|line| {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let ty = v["resourceType"].as_str().unwrap();
                let updated = v["meta"]["lastUpdated"]
                    .as_str()
                    .map(|t| t.parse::<chrono::DateTime<Utc>>().unwrap());
                matches!(ty, "Location" | "Encounter" | "Patient") || updated.is_none_or(|u| u >= since)
            })
            .collect();
        std::fs::write(&path, kept.join("\n")).unwrap();
    }
    let (res, _) = read_path(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    res
}

#[test]
fn pruning_the_held_state_after_each_hour_leaves_every_later_snapshot_unchanged() {
    let mut h = hospital(11, Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(), 96);
    let key = PseudonymKey::from_bytes(b"test-key-0123456789").unwrap();
    let mapping = Mapping::default();

    let mut held = read_served(&h, "prune-full");
    let (before, _) = map(&held, &mapping, &key, h.now());
    let observations = held.observations.len();
    let pruned = held.prune_history(h.now());
    let (after, _) = map(&held, &mapping, &key, h.now());
    assert_eq!(after, before);
    // four days of charting: a good part of it is history the mapping no longer reads
    assert!(
        pruned.observations * 4 > observations,
        "{pruned:?} of {observations} Observations"
    );
    assert!(pruned.medication_requests > 0, "{pruned:?}");

    // hour by hour, incrementally: the pruned store maps as the full server state does
    for hour in 1..=3 {
        let since = h.now();
        h.advance_hours(1);
        apply_changes(&mut held, read_changes(&h, since, &format!("prune-{hour}")));
        let (incremental, _) = map(&held, &mapping, &key, h.now());

        let all = read_served(&h, &format!("prune-all-{hour}"));
        let (expected, _) = map(&all, &mapping, &key, h.now());
        assert_eq!(incremental.len(), expected.len(), "hour {hour}");
        assert_eq!(incremental, expected, "hour {hour}");
        assert!(
            held.len() < all.len(),
            "hour {hour}: {} held of {}",
            held.len(),
            all.len()
        );
        held.prune_history(h.now());
    }
}
