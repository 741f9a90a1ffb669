//! What the API's test binaries share: a patient snapshot built by hand,
//! and the example ward (`examples/ward-snapshot.json`) moved in time and
//! scored hour by hour. Each binary uses part of it.

#![allow(dead_code, clippy::expect_used)] // shared by binaries that each use part; test helpers may panic

use std::path::PathBuf;

use careload_scoring::snapshot::{Norton, NortonActivity, PatientKey, Sex};
use careload_scoring::{Score, Snapshot, Weights, Window, score};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

/// The medicine ward's teams in the example ward.
pub(crate) const TEAMS: [&str; 3] = ["A", "B", "C"];

/// The repository's root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A patient on `ward`, `team`, `bed` at `hour` (as of five past, admitted
/// three days before): a woman born 1944 with a Norton assessment six hours old.
pub(crate) fn patient(key: &str, ward: &str, team: &str, bed: &str, hour: DateTime<Utc>) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let mut s = Snapshot::new(PatientKey(key.into()), as_of, as_of - Duration::days(3), ward);
    s.placement.team = Some(team.into());
    s.placement.bed = Some(bed.into());
    s.sex = Sex::Female;
    s.birth_year = Some(1944);
    s.norton = Some(Norton {
        activity: NortonActivity::WalksWithHelp,
        total: Some(15),
        assessed_at: as_of - Duration::hours(6),
    });
    s
}

/// Shifts every RFC 3339 timestamp in a JSON value by `delta`.
pub(crate) fn shift_times(value: &mut Value, delta: Duration) {
    match value {
        Value::String(s) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                *s = (t.with_timezone(&Utc) + delta).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shift_times(v, delta)),
        Value::Object(map) => map.values_mut().for_each(|v| shift_times(v, delta)),
        _ => {}
    }
}

/// The example ward's patients, moved in time.
pub(crate) struct ExampleWard {
    templates: Vec<Value>,
    template_hour: DateTime<Utc>,
    /// The medicine ward's id.
    pub(crate) ward: String,
    /// Patient `i` of the medicine ward is admitted at hour `(i × 7) mod admitted_over`.
    pub(crate) admitted_over: i64,
}

impl ExampleWard {
    /// The example of `examples/ward-snapshot.json` with its medicine ward named `ward`.
    pub(crate) fn new(ward: &str, admitted_over: i64) -> ExampleWard {
        let text = std::fs::read_to_string(root().join("examples/ward-snapshot.json")).expect("examples");
        ExampleWard {
            templates: serde_json::from_str(&text).expect("example snapshots"),
            template_hour: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("hour"),
            ward: ward.to_owned(),
            admitted_over,
        }
    }

    /// Hour `h` (from 0) of the story, at `hour`: 20 patients of the
    /// medicine ward in teams A, B and C (admitted along the way, fewer
    /// activities and medications at night) and the example's geriatric
    /// ward, each scored under `weights`.
    pub(crate) fn hour(&self, h: i64, hour: DateTime<Utc>, weights: &Weights) -> Vec<(Snapshot, Score)> {
        let mut pairs = Vec::new();
        for i in 0..23usize {
            let medicine = i < 20;
            if medicine && h < ((i * 7) % (self.admitted_over as usize)) as i64 {
                continue; // not admitted yet
            }
            let template = if medicine {
                i % self.templates.len()
            } else {
                5 + (i - 20)
            };
            let mut value = self.templates[template % self.templates.len()].clone();
            shift_times(&mut value, hour - self.template_hour);
            let mut snapshot: Snapshot = serde_json::from_value(value).expect("a snapshot");
            snapshot.key = PatientKey(format!("{:064x}", 0xca7e_10ad_u64 + i as u64));
            if medicine {
                snapshot.placement.ward = self.ward.clone();
                snapshot.placement.team = Some(TEAMS[i * 3 / 20].to_owned());
                snapshot.placement.bed = Some((i + 1).to_string());
            }
            // Care varies over the day: fewer open activities and orders at night.
            let phase = (h as usize + i * 5) % 24;
            let keep = |n: usize| (n * (6 + phase.min(24 - phase)) / 18).min(n);
            let n = keep(snapshot.activities.len());
            snapshot.activities.truncate(n);
            let n = keep(snapshot.medications.len());
            snapshot.medications.truncate(n);
            let scored = score(&snapshot, weights, Window::hour(hour));
            pairs.push((snapshot, scored));
        }
        pairs
    }
}
