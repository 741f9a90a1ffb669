//! The export story's hours, shared by the export's tests and the SQL
//! baseline's (`crates/bench/tests/baseline.rs`, which includes this file):
//! a small hospital written hour by hour through `Store::write_hour`, and
//! helpers to export it and read the CSV back.

#![allow(dead_code)] // each story uses part

use std::collections::BTreeMap;

use careload_export::{Context, ExportSpec, Format, export, parse_date};
use careload_scoring::quality::{QualityRules, assess};
use careload_scoring::snapshot::{
    Activity, ActivityStatus, Dosing, MedicationOrder, News2Observation, Norton, NortonActivity, PatientKey, Route,
};
use careload_scoring::{Score, Snapshot, Weights, rollup, score_now};
use careload_store::Store;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Europe::Stockholm;

pub(crate) const WEIGHTS: &str = include_str!("../../../../weights/2026.1.toml");

pub(crate) fn weights() -> Weights {
    Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights 2026.1")
}

pub(crate) fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

pub(crate) fn date(s: &str) -> NaiveDate {
    parse_date("date", s).expect("date")
}

/// A patient whose points grow with `load`.
pub(crate) fn patient(key: &str, ward: &str, team: &str, hour: DateTime<Utc>, load: u32) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let mut s = Snapshot::new(PatientKey(key.into()), as_of, as_of - Duration::days(2), ward);
    s.placement.team = Some(team.to_owned());
    s.placement.bed = Some(key.into());
    s.norton = Some(Norton {
        activity: NortonActivity::ALL[(load % 4) as usize],
        total: Some(14),
        assessed_at: as_of - Duration::hours(3),
    });
    s.news2.push(News2Observation {
        at: as_of - Duration::hours(i64::from(load % 5) * 2),
        value: (load % 7) as u8,
        source: None,
    });
    for i in 0..(load % 4) {
        s.activities.push(Activity {
            code: if i % 2 == 0 { "personal-hygiene" } else { "wound-care" }.into(),
            due: Some(as_of + Duration::minutes(20)),
            status: ActivityStatus::Open,
            profession: None,
            source: None,
        });
    }
    s.medications.push(MedicationOrder {
        route: Route::Oral,
        dosing: Dosing::PerDay {
            times: 1 + (load % 3) as u16,
        },
        source: None,
    });
    s
}

/// Who is where in a given hour: W1 has teams A and B, W2 team C. Patient
/// `p9` stays only on the second local day, `p1` moves from A to B at noon.
pub(crate) fn census(hour: DateTime<Utc>, day0: DateTime<Utc>) -> Vec<Snapshot> {
    let h = (hour - day0).num_hours() as u32;
    let mut out = vec![
        patient("p1", "W1", if h % 24 < 11 { "A" } else { "B" }, hour, h),
        patient("p2", "W1", "A", hour, h / 3),
        patient("p3", "W1", "B", hour, 7 + h / 5),
        patient("p5", "W2", "C", hour, 3 + h % 6),
    ];
    if (24..48).contains(&h) {
        out.push(patient("p9", "W2", "C", hour, 5));
    }
    out
}

/// Writes `hours` hours from `day0` and returns every patient-hour written.
pub(crate) async fn fill(
    store: &Store,
    w: &Weights,
    day0: DateTime<Utc>,
    hours: i64,
) -> Vec<(DateTime<Utc>, Snapshot, Score)> {
    store.record_weights(w).await.expect("record weights");
    let mut all = Vec::new();
    for i in 0..hours {
        let hour = day0 + Duration::hours(i);
        let pairs: Vec<(Snapshot, Score)> = census(hour, day0)
            .into_iter()
            .map(|s| {
                let mut sc = score_now(&s, w);
                // as the hourly run does
                sc.quality = Some(assess(&s, s.as_of, &QualityRules::default()));
                (s, sc)
            })
            .collect();
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let run = store.begin_run("test").await.expect("begin run");
        store
            .write_hour(hour, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write hour");
        all.extend(pairs.into_iter().map(|(s, sc)| (hour, s, sc)));
    }
    all
}

pub(crate) fn hospital() -> Context {
    Context::new(Stockholm)
}

pub(crate) async fn run(store: &Store, spec: &ExportSpec, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    export(store, &hospital(), spec, format, &mut out)
        .await
        .expect("export");
    out
}

/// The CSV as a list of header → value maps.
pub(crate) fn csv_rows(bytes: &[u8], sep: char) -> Vec<BTreeMap<String, String>> {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("header").split(sep).map(str::to_owned).collect();
    lines
        .map(|l| header.iter().cloned().zip(l.split(sep).map(str::to_owned)).collect())
        .collect()
}
