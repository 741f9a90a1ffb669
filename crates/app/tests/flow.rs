//! A ward's patient flow learnt by the forecast's learner from the stored
//! hours (`Learner::flow`) on every backend: five weeks of stored hours of ward w1 in which one patient
//! arrives every day at 10:00 local (two on Mondays) and the longest-staying
//! patient leaves every day at 11:00 local; one hour is not stored (a failed run). The
//! hospital is in Europe/Stockholm (UTC+1 in November and December).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::sync::Arc;

use careload_app::App;
use careload_app::forecast;
use careload_config::{Config, WardConfig};
use careload_planning::flow::MIN_WEEKS;
use careload_scoring::snapshot::PatientKey;
use careload_scoring::{Snapshot, Weights, rollup, score_now};
use careload_store::Store;
use chrono::{DateTime, Duration, Utc};

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");

/// Monday 2 November 2026, 00:00 local.
const FIRST_HOUR: &str = "2026-11-01T23:00:00Z";
const WEEKS: i64 = 5;
const MISSING_HOUR: i64 = 300;

fn app(store: Store) -> App {
    let mut c = Config::default();
    c.wards.insert("w1".into(), WardConfig::default());
    let weights = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    App::try_new(store, Arc::new(c), Arc::new(weights)).expect("app")
}

async fn two_arrive_on_mondays_and_one_leaves_each_day(store: Store) {
    let app = app(store);
    let w = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    app.store.record_weights(&w).await.expect("record weights");
    let first: DateTime<Utc> = FIRST_HOUR.parse().unwrap();
    let mut present: Vec<u32> = (0..9).collect();
    let mut next = 9;
    for h in 0..WEEKS * 168 {
        let hour = first + Duration::hours(h);
        let local_hour_of_week = h % 168; // the first hour is Monday 00:00 local
        // one arrives every day at 10:00, two on Mondays
        if h % 24 == 10 {
            let n = if local_hour_of_week == 10 { 2 } else { 1 };
            present.extend(next..next + n);
            next += n;
        }
        if h % 24 == 11 {
            present.remove(0);
        }
        if h == MISSING_HOUR {
            continue;
        }
        let as_of = hour + Duration::minutes(5);
        let pairs: Vec<_> = present
            .iter()
            .map(|i| {
                let s = Snapshot::new(PatientKey(format!("p{i}")), as_of, as_of - Duration::days(1), "w1");
                let sc = score_now(&s, &w);
                (s, sc)
            })
            .collect();
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let run = app.store.begin_run("test").await.expect("run");
        app.store
            .write_hour(hour, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write hour");
    }
    let now = first + Duration::weeks(WEEKS);
    forecast::refresh(&app, now).await.expect("learn");
    let flow = app.forecast_learner().lock().await.flow("w1").expect("w1's flow");
    assert!(
        app.forecast_learner().lock().await.flow("w2").is_none(),
        "a ward never stored has no flow"
    );
    assert_eq!(flow.gaps, 1, "the hour not stored breaks one pair… {flow:?}");
    assert_eq!(
        flow.weeks, 4,
        "five weeks, less the first hour's and the missing hour's pairs"
    );
    assert!(flow.young == (flow.weeks < MIN_WEEKS));
    // in the 10:00 census, not the 09:00 one: they came during 09–10
    assert!((flow.arrival_rate(9) - 2.0).abs() < 1e-9, "{}", flow.arrival_rate(9));
    assert!((flow.arrival_rate(24 + 9) - 1.0).abs() < 1e-9, "Tuesday 09–10");
    assert_eq!(flow.arrival_rate(10), 0.0);
    assert_eq!(flow.arrival_rate(8), 0.0);
    // one of those present the hour before leaves at 11:00, every day
    // gone from the 11:00 census: they left during 10–11
    assert_eq!(flow.departures[10], 5);
    let p = flow.departure_probability(10);
    assert!(p > 0.05 && p < 0.15, "{p}");
    assert_eq!(flow.departure_probability(11), 0.0);
    // every arrival is followed from its first hour, with the points stored for it
    let arrivals: u32 = flow.arrivals.iter().sum();
    assert_eq!(flow.new_patients[0], arrivals);
    assert!(flow.new_patient_need[0].is_some() && flow.mean_need.is_some());
}

careload_testkit::on_every_backend!(two_arrive_on_mondays_and_one_leaves_each_day);
