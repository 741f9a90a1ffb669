//! The forecast's learner with several FHIR sources (issue 29), on every
//! backend: `nord` writes each hour first, `syd` later (its offset), and
//! `syd`'s runs fail for three hours. An hour is learnt once every live
//! source has written it (`Store::settled_hour`), and a ward's hour its
//! source did not write is a gap in its flow, not everyone leaving.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::sync::Arc;

use careload_app::App;
use careload_app::forecast;
use careload_config::{Config, SourceConfig, SourceKind, WardConfig};
use careload_scoring::snapshot::PatientKey;
use careload_scoring::{Snapshot, Weights, rollup, score_now};
use careload_store::Store;
use chrono::{DateTime, Duration, Utc};

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");

/// Monday 2 November 2026, 00:00 local.
const FIRST_HOUR: &str = "2026-11-01T23:00:00Z";
const HOURS: i64 = 48;
/// syd's runs fail for these hours.
const SYD_DOWN: std::ops::Range<i64> = 20..23;

fn app(store: Store) -> App {
    let mut c = Config::default();
    for id in ["nord", "syd"] {
        c.sources.insert(
            id.into(),
            SourceConfig {
                kind: SourceKind::Fhir,
                url: format!("https://{id}.example/fhir"),
                ward_prefix: format!("{id}-"),
                ..SourceConfig::default()
            },
        );
        c.wards.insert(format!("{id}-1"), WardConfig::default());
    }
    c.validate().expect("the test's config is valid");
    let weights = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    App::try_new(store, Arc::new(c), Arc::new(weights)).expect("app")
}

/// A run of `source` writing its four steady patients as `hour`.
async fn write(app: &App, w: &Weights, source: &str, hour: DateTime<Utc>) {
    let as_of = hour + Duration::minutes(5);
    let pairs: Vec<_> = (0..4)
        .map(|i| {
            let s = Snapshot::new(
                PatientKey(format!("{source}{i}")),
                as_of,
                as_of - Duration::days(1),
                format!("{source}-1"),
            );
            let sc = score_now(&s, w);
            (s, sc)
        })
        .collect();
    let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
    let run = app.store.begin_fired_run(source, "test", None).await.expect("run");
    app.store
        .write_hour_fenced(None, source, hour, run, &w.meta.version, &pairs, &r)
        .await
        .expect("write hour");
}

async fn a_later_or_failing_source_is_learnt_as_it_wrote(store: Store) {
    let app = app(store);
    let w = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    app.store.record_weights(&w).await.expect("record weights");
    let first: DateTime<Utc> = FIRST_HOUR.parse().unwrap();
    let now = first + Duration::hours(HOURS);
    for h in 0..HOURS {
        let hour = first + Duration::hours(h);
        write(&app, &w, "nord", hour).await;
        // nord's run ends first and tells the learner: syd's hour is not
        // written yet, so the hour is not learnt yet
        forecast::refresh(&app, now).await.expect("learn");
        if !SYD_DOWN.contains(&h) {
            // (the very first hour, and the first after syd was down — more
            // than SOURCE_DOWN_HOURS behind, so not waited for —, are nord's)
            if h > 0 && h != SYD_DOWN.end {
                assert_eq!(
                    app.forecast_learner().lock().await.through(),
                    Some(hour),
                    "hour {h}: learnt through the hour both sources wrote"
                );
            }
            write(&app, &w, "syd", hour).await;
            forecast::refresh(&app, now).await.expect("learn");
            assert_eq!(
                app.forecast_learner().lock().await.through(),
                Some(hour + Duration::hours(1))
            );
        }
    }
    let cell = app.forecast_learner();
    let learner = cell.lock().await;
    let nord = learner.flow("nord-1").expect("nord's flow");
    let syd = learner.flow("syd-1").expect("syd's flow");
    // four steady patients each: nobody came or went, on either ward
    for (ward, flow) in [("nord-1", &nord), ("syd-1", &syd)] {
        let (arrived, left): (u32, u32) = (flow.arrivals.iter().sum(), flow.departures.iter().sum());
        assert_eq!((arrived, left), (0, 0), "{ward}: {flow:?}");
    }
    assert_eq!(nord.gaps, 0, "{nord:?}");
    assert!(syd.gaps >= 1, "syd's failed hours are gaps: {syd:?}");
}

careload_testkit::on_every_backend!(a_later_or_failing_source_is_learnt_as_it_wrote);
