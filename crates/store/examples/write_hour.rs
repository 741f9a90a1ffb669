//! Measures [`Store::write_hour`] for a 1,000-bed hospital (40 wards × 25
//! beds, 3 teams each; about 20 activities, 8 medication orders and 6 NEWS2
//! totals per patient, as in the scoring bench) on SQLite (a temporary file)
//! and, when `CARELOAD_TEST_DATABASE_URL` names a PostgreSQL server, on a
//! fresh database there (dropped afterwards).
//!
//! ```text
//! cargo run --release -p careload-store --example write_hour
//! CARELOAD_TEST_DATABASE_URL=postgres://careload:careload@127.0.0.1:5432/postgres \
//!     cargo run --release -p careload-store --example write_hour
//! ```
//!
//! Writes 12 distinct hours, then re-writes the last one 3 times (the
//! idempotent re-run path: delete + insert), then reads a ward's and its
//! patients' history over those hours. Prints the times; asserts nothing.

#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)] // a measuring tool

use std::time::{Duration as StdDuration, Instant};

use careload_scoring::snapshot::{
    Activity, ActivityStatus, Dosing, MedicationOrder, News2Observation, Norton, NortonActivity, PatientKey, Route,
};
use careload_scoring::{Score, Snapshot, Weights, rollup, score_now};
use careload_store::Store;
use chrono::{DateTime, Duration, Utc};
use sqlx::{Connection, Executor, PgConnection};

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");
const ACTIVITIES: [&str; 6] = [
    "personal-hygiene",
    "wound-care",
    "mobilisation",
    "repositioning",
    "blood-glucose",
    "pain-assessment",
];

fn hospital(w: &Weights, hour: DateTime<Utc>) -> Vec<(Snapshot, Score)> {
    let as_of = hour + Duration::minutes(2);
    let mut out = Vec::with_capacity(1000);
    for ward in 0..40 {
        for bed in 0..25 {
            let n = ward * 25 + bed;
            let mut s = Snapshot::new(
                PatientKey(format!("{:064x}", n * 7919 + 13)),
                as_of,
                as_of - Duration::hours(i64::from(n % 200)),
                format!("ward-{ward:02}"),
            );
            s.placement.team = Some(format!("team-{}", bed % 3));
            s.placement.bed = Some(format!("{bed:02}"));
            s.birth_year = Some(1930 + (n % 70) as i32);
            s.norton = Some(Norton {
                activity: NortonActivity::ALL[(n % 4) as usize],
                total: Some(15),
                assessed_at: as_of - Duration::hours(5),
            });
            for i in 0..20u32 {
                s.activities.push(Activity {
                    code: ACTIVITIES[(i as usize + n as usize) % ACTIVITIES.len()].into(),
                    due: Some(as_of + Duration::minutes(i64::from(i * 23))),
                    status: ActivityStatus::Open,
                    profession: None,
                    source: Some(format!("Task/{n}-{i}")),
                });
            }
            for i in 0..8u32 {
                s.medications.push(MedicationOrder {
                    route: Route::ALL[(i as usize + n as usize) % Route::ALL.len()],
                    dosing: Dosing::PerDay {
                        times: (i % 4 + 1) as u16,
                    },
                    source: Some(format!("MedicationRequest/{n}-{i}")),
                });
            }
            for i in 0..6u32 {
                s.news2.push(News2Observation {
                    at: as_of - Duration::hours(i64::from(i * 4)),
                    value: ((n + i) % 9) as u8,
                    source: None,
                });
            }
            let score = score_now(&s, w);
            out.push((s, score));
        }
    }
    out
}

fn ms(d: StdDuration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn measure(label: &str, url: &str, w: &Weights) {
    let store = Store::connect(url).await.expect("connect");
    store.record_weights(w).await.expect("weights");
    let run = store.begin_run("example").await.expect("run");
    let start: DateTime<Utc> = "2026-11-23T00:00:00Z".parse().expect("hour");

    let mut writes = Vec::new();
    let mut bytes = 0usize;
    for i in 0..12 {
        let hour = start + Duration::hours(i);
        let pairs = hospital(w, hour);
        if i == 0 {
            bytes = pairs
                .iter()
                .map(|(s, sc)| {
                    serde_json::to_vec(s).map(|v| v.len()).unwrap_or(0)
                        + serde_json::to_vec(sc).map(|v| v.len()).unwrap_or(0)
                })
                .sum();
        }
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let t = Instant::now();
        store
            .write_hour(hour, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write");
        writes.push(t.elapsed());
    }
    let last = start + Duration::hours(11);
    let pairs = hospital(w, last);
    let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
    let mut rewrites = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        store
            .write_hour(last, run, &w.meta.version, &pairs, &r)
            .await
            .expect("rewrite");
        rewrites.push(t.elapsed());
    }
    let t = Instant::now();
    let ward = store
        .ward_hours("ward-07", start, last + Duration::hours(1))
        .await
        .expect("ward");
    let teams = store
        .team_hours("ward-07", start, last + Duration::hours(1))
        .await
        .expect("teams");
    let patients = store
        .patient_hours("ward-07", start, last + Duration::hours(1))
        .await
        .expect("patients");
    let read = t.elapsed();

    writes.sort();
    rewrites.sort();
    println!(
        "{label}: write_hour 1,000 patients ({:.1} MB of JSON): median {}, min {}, max {} over {} hours; \
         re-write of an existing hour: median {}; ward+teams+patients read over 12 h ({} + {} + {} rows): {}",
        bytes as f64 / 1e6,
        ms(writes[writes.len() / 2]),
        ms(writes[0]),
        ms(writes[writes.len() - 1]),
        writes.len(),
        ms(rewrites[1]),
        ward.len(),
        teams.len(),
        patients.len(),
        ms(read),
    );
    store.close().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let w = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");

    let dir = std::env::temp_dir().join(format!("careload-write-hour-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    measure(
        "sqlite",
        &format!("sqlite://{}/careload.db?mode=rwc", dir.display()),
        &w,
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);

    match std::env::var("CARELOAD_TEST_DATABASE_URL") {
        Ok(admin_url) => {
            let db = format!("careload_bench_{}", std::process::id());
            let mut admin = PgConnection::connect(&admin_url).await.expect("admin connect");
            admin
                .execute(format!("CREATE DATABASE {db}").as_str())
                .await
                .expect("create");
            let base = admin_url.split('?').next().unwrap_or(&admin_url);
            let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
            measure("postgres", &format!("{base}/{db}"), &w).await;
            admin
                .execute(format!("DROP DATABASE {db} WITH (FORCE)").as_str())
                .await
                .expect("drop");
        }
        Err(_) => println!("postgres: skipped; set CARELOAD_TEST_DATABASE_URL to measure it"),
    }
}
