//! A back-fill's progress and log levels: the callback hears every hour,
//! the per-hour "run done" lines are debug (an hourly run's stays info), and
//! what the fetch logs during a back-fill is inside the back-fill's span.
//! Its own test binary: it sets the process's one tracing subscriber.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/logs.rs"]
mod logs;
#[allow(dead_code)] // shared with the other test binaries; this one needs the runner alone
mod support;

use std::sync::Arc;

use logs::capture_logs;

use careload_config::{Config, SourceKind};
use careload_runner::{BACKFILL_SPAN, Progress, load_weights};
use careload_store::Store;
use careload_testkit::TempDir;
use chrono::{DateTime, Duration, Utc};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_tells_its_progress_and_logs_its_hours_at_debug() {
    let logs = capture_logs();
    let dir = TempDir::new("runner-progress");
    let store = Store::connect(&dir.sqlite_url()).await.unwrap();
    let mut config = Config::default();
    config.source.kind = SourceKind::Sim;
    config.source.pseudonym_key_env = "CARELOAD_TEST_UNSET_PSEUDONYM_KEY".into();
    config.sim.beds = 30;
    config.sim.listen = "127.0.0.1:0".into();
    config.scoring.time_zone = "UTC".into();
    config.schedule.backfill_hours = 5;
    let now: DateTime<Utc> = "2026-11-23T12:20:00Z".parse().unwrap();
    let weights = Arc::new(load_weights(None).unwrap());
    let mut runner = support::start(&config, store, weights, now).await.unwrap().runner;

    let mut told = Vec::new();
    let runs = runner.backfill_with(now, &mut |p| told.push(p)).await.unwrap();
    assert_eq!(runs.len(), 5);
    let expected: Vec<Progress> = (0..=5)
        .map(|done| Progress {
            done,
            total: 5,
            failed: 0,
        })
        .collect();
    assert_eq!(told, expected, "once before the first hour, then after each");
    // nothing pending: the callback is not called
    let mut called = false;
    assert!(
        runner
            .backfill_with(now, &mut |_| called = true)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!called);

    let text = logs.text();
    let run_done: Vec<&str> = text.lines().filter(|l| l.contains("run done")).collect();
    assert_eq!(run_done.len(), 5, "{text}");
    assert!(run_done.iter().all(|l| l.contains(" DEBUG ")), "{text}");
    assert!(
        run_done.iter().all(|l| l.contains(&format!("{BACKFILL_SPAN}{{"))),
        "inside the back-fill's span: {text}"
    );
    let fetched: Vec<&str> = text.lines().filter(|l| l.contains("FHIR REST fetch done")).collect();
    assert!(!fetched.is_empty(), "{text}");
    assert!(
        fetched.iter().all(|l| l.contains(&format!("{BACKFILL_SPAN}{{"))),
        "the fetch logs inside the back-fill's span: {text}"
    );
    let done: Vec<&str> = text.lines().filter(|l| l.contains("back-fill done")).collect();
    assert_eq!(done.len(), 1, "{text}");
    assert!(done[0].contains(" INFO "), "{text}");

    // an hourly run after it says so at info, outside any back-fill
    runner.run_hour(now + Duration::hours(1)).await.unwrap();
    let text = logs.text();
    let last = text.lines().rfind(|l| l.contains("run done")).unwrap();
    assert!(last.contains(" INFO ") && !last.contains(BACKFILL_SPAN), "{text}");
}
