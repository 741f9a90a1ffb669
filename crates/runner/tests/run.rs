//! The hourly run end to end: the simulated hospital served over HTTP on
//! loopback (`support`), fetched, merged, mapped, scored and written to a
//! temporary SQLite store.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use careload_config::{Config, SourceKind};
use careload_ingest::{FhirClient, Mapping, PseudonymKey, RestConfig, fetch, map};
use careload_runner::{Runner, Scheduler, Tick, load_weights};
use careload_scoring::{Points, Snapshot};
use careload_store::{Level, Outcome, Store};
use careload_testkit::TempDir;
use chrono::{DateTime, Duration, Utc};

/// 2026-11-23T12:20Z: a run at 12:20 is the 12:00 hour.
fn now() -> DateTime<Utc> {
    "2026-11-23T12:20:00Z".parse().unwrap()
}

/// A simulated hospital of `beds` beds, UTC, no resync in the test's hours
/// unless asked, and a pseudonym key variable that is never set.
fn sim_config(beds: u32, backfill_hours: u32) -> Config {
    let mut c = Config::default();
    c.source.kind = SourceKind::Sim;
    c.source.pseudonym_key_env = "CARELOAD_TEST_UNSET_PSEUDONYM_KEY".into();
    c.sim.beds = beds;
    c.sim.seed = 7;
    c.sim.listen = "127.0.0.1:0".into();
    c.scoring.time_zone = "UTC".into();
    c.schedule.resync_hour = 23;
    c.schedule.backfill_hours = backfill_hours;
    c
}

async fn store(dir: &TempDir) -> Store {
    Store::connect(&dir.sqlite_url()).await.unwrap()
}

fn weights() -> Arc<careload_scoring::Weights> {
    Arc::new(load_weights(None).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_writes_every_hour_and_wards_sum_their_patients() {
    let dir = TempDir::new("runner-backfill");
    let store = store(&dir).await;
    let config = sim_config(60, 6);
    let started = support::start(&config, store.clone(), weights(), now()).await.unwrap();
    let mut runner = started.runner;
    let first: DateTime<Utc> = "2026-11-23T07:00:00Z".parse().unwrap();
    let last: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    assert_eq!(runner.backfill_from(), Some(first));
    assert_eq!(
        started.sim.now(),
        first,
        "the hospital starts at the back-fill's first hour"
    );

    let runs = runner.backfill(now()).await.unwrap();
    assert_eq!(runs.len(), 6);
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.hour, first + Duration::hours(i as i64));
        assert_eq!(run.outcome, Outcome::Ok, "{run:?}");
        assert_eq!(run.full_fetch, i == 0, "only the first run fetches everything: {run:?}");
        assert!(run.patients > 30, "{run:?}");
    }
    // nothing left to back-fill
    assert!(runner.backfill(now()).await.unwrap().is_empty());
    // the source was moved to every hour before its fetch, and told the next
    // hour as soon as one was fetched (all but the last)
    let mut hooks = Vec::new();
    for i in 0..6 {
        hooks.push(format!("before {}", first + Duration::hours(i)));
        if i < 5 {
            hooks.push(format!("after_fetch {}", first + Duration::hours(i + 1)));
        }
    }
    assert_eq!(*started.hooks.lock().unwrap(), hooks);

    let current = store.current_hour().await.unwrap().unwrap();
    assert_eq!(current.hour, last);
    let hospital = store.hospital_hours(first, last + Duration::hours(1)).await.unwrap();
    assert_eq!(hospital.len(), 6);

    for run in &runs {
        let to = run.hour + Duration::hours(1);
        let mut hospital_patients = 0;
        let mut hospital_total = Points::ZERO;
        for ward in &run.wards {
            let units = store.ward_hours(ward, run.hour, to).await.unwrap();
            assert_eq!(units.len(), 1);
            assert_eq!(units[0].level, Level::Ward);
            let patients = store.patient_hours(ward, run.hour, to).await.unwrap();
            let sum = patients.iter().fold(Points::ZERO, |a, p| a + p.total);
            assert_eq!(
                units[0].totals.patients as usize,
                patients.len(),
                "ward {ward} at {}",
                run.hour
            );
            assert_eq!(units[0].totals.total, sum, "ward {ward} at {}", run.hour);
            hospital_patients += patients.len();
            hospital_total += sum;
        }
        let h = store.hospital_hours(run.hour, to).await.unwrap();
        assert_eq!(h[0].totals.patients as usize, hospital_patients);
        // every patient's documentation was assessed, and the simulated
        // hospital's journal has gaps (new admissions, NEWS2 due)
        let q = &h[0].totals.quality;
        assert_eq!(q.assessed as usize, hospital_patients);
        assert!(
            q.activities > 0 && q.news2_overdue + q.thin_after_admission + q.norton_stale > 0,
            "{q:?}"
        );
        assert!(q.norton_stale <= q.assessed && q.activities_without_due <= q.activities);
        assert_eq!(h[0].totals.total, hospital_total);
        assert_eq!(hospital_patients, run.patients);
    }

    let recorded = store.runs(10).await.unwrap();
    assert_eq!(recorded.len(), 6);
    for r in &recorded {
        assert_eq!(r.outcome, Some(Outcome::Ok), "{r:?}");
        assert!(r.finished_at.is_some());
        assert!(r.report.error.is_none());
        assert!(r.source.starts_with("http://127.0.0.1:"), "{}", r.source);
    }
}

/// Hospital and ward sums of every hour in `[from, to]`, as stored.
async fn stored_sums(store: &Store, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<String> {
    let end = to + Duration::hours(1);
    let mut sums: Vec<String> = store
        .hospital_hours(from, end)
        .await
        .unwrap()
        .iter()
        .map(|h| format!("{} hospital {} {}", h.hour, h.totals.patients, h.totals.total))
        .collect();
    for ward in store.wards().await.unwrap() {
        for u in store.ward_hours(&ward.ward, from, end).await.unwrap() {
            sums.push(format!(
                "{} {} {} {}",
                u.hour, ward.ward, u.totals.patients, u.totals.total
            ));
        }
    }
    sums.sort();
    sums
}

/// A back-fill stopped part-way (the process killed between hours, one run
/// left unfinished) resumes at the next start where it stopped, with the
/// same simulated hospital: every hour is there, equal to an uninterrupted
/// back-fill's, and the dead run is closed as interrupted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_backfill_resumes_where_it_stopped() {
    let config = sim_config(60, 6);
    let first: DateTime<Utc> = "2026-11-23T07:00:00Z".parse().unwrap();
    let last: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
    let whole_dir = TempDir::new("runner-resume-whole");
    let whole = store(&whole_dir).await;
    let mut runner = support::start(&config, whole.clone(), weights(), now())
        .await
        .unwrap()
        .runner;
    assert_eq!(runner.backfill(now()).await.unwrap().len(), 6);
    let expected = stored_sums(&whole, first, last).await;
    assert!(expected.len() > 6, "{expected:?}");

    for written in [1, 4] {
        let dir = TempDir::new(&format!("runner-resume-{written}"));
        let store = store(&dir).await;
        let stopped_at = first + Duration::hours(written - 1);
        let mut runner = support::start(&config, store.clone(), weights(), now())
            .await
            .unwrap()
            .runner;
        assert_eq!(runner.backfill(stopped_at).await.unwrap().len() as i64, written);
        // the next hour's run had begun when the process was killed
        let dead = store.begin_run("killed").await.unwrap();
        drop(runner);

        let mut runner = support::start(&config, store.clone(), weights(), now())
            .await
            .unwrap()
            .runner;
        assert_eq!(runner.backfill_from(), Some(stopped_at + Duration::hours(1)));
        let runs = runner.backfill(now()).await.unwrap();
        assert_eq!(runs.len() as i64, 6 - written);
        assert!(runs.iter().all(|r| r.outcome == Outcome::Ok), "{runs:?}");
        assert_eq!(
            stored_sums(&store, first, last).await,
            expected,
            "stopped after {written} hours"
        );
        assert_eq!(store.current_hour().await.unwrap().unwrap().hour, last);
        let closed = store
            .runs(50)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.id == dead)
            .unwrap();
        assert_eq!(closed.outcome, Some(Outcome::Failed));
        assert!(closed.interrupted() && closed.finished_at.is_some(), "{closed:?}");
        // and a further start has nothing left to do
        let again = support::start(&config, store.clone(), weights(), now())
            .await
            .unwrap()
            .runner;
        assert_eq!(again.backfill_from(), None);
    }
}

/// Every snapshot of `hour` from a full fetch of the hospital served at `base`.
async fn full_fetch_snapshots(base: &str, hour: DateTime<Utc>) -> Vec<Snapshot> {
    let config = RestConfig::new(base);
    let client = FhirClient::new(&config).unwrap();
    let (resources, _) = fetch(&client, &config, None).await.unwrap();
    let (mut snapshots, _) = map(&resources, &Mapping::default(), &PseudonymKey::development(), hour);
    snapshots.sort_by(|a, b| a.key.cmp(&b.key));
    snapshots
}

/// Every snapshot the runner stored for `hour`.
async fn stored_snapshots(store: &Store, wards: &[String], hour: DateTime<Utc>) -> Vec<Snapshot> {
    let mut out = Vec::new();
    for ward in wards {
        for p in store
            .patient_hours(ward, hour, hour + Duration::hours(1))
            .await
            .unwrap()
        {
            let (snapshot, _) = store.patient_snapshot(hour, &p.key).await.unwrap().unwrap();
            out.push(snapshot);
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// The key correctness test of merging: hour after hour, the state merged
/// from incremental fetches maps to exactly the snapshots a full fetch of
/// the same hour gives — through admissions, discharges, completed tasks,
/// new observations and records the server stops serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_runs_give_the_snapshots_of_a_full_fetch() {
    let dir = TempDir::new("runner-incremental");
    let store = store(&dir).await;
    let mut config = sim_config(60, 0);
    config.schedule.resync_hour = 16;
    let start: DateTime<Utc> = "2026-11-23T06:00:00Z".parse().unwrap();
    let started = support::start(&config, store.clone(), weights(), start).await.unwrap();
    let mut runner = started.runner;
    let mut incremental = 0;
    for i in 0..20 {
        let hour = start + Duration::hours(i);
        let run = runner.run_hour(hour).await.unwrap();
        assert_eq!(run.outcome, Outcome::Ok, "{run:?}");
        if !run.full_fetch {
            incremental += 1;
        }
        let stored = stored_snapshots(&store, &run.wards, hour).await;
        let full = full_fetch_snapshots(&started.base, hour).await;
        assert_eq!(stored.len(), full.len(), "patients at {hour}");
        for (s, f) in stored.iter().zip(&full) {
            assert_eq!(s, f, "patient {} at {hour}", s.key.0);
        }
    }
    // 06:00 is the first run, 16:00 UTC the nightly resync
    assert_eq!(incremental, 18);
    // the held state was pruned after the runs (and the snapshots above held)
    let pruned: u64 = store
        .runs(50)
        .await
        .unwrap()
        .iter()
        .map(|r| r.report.counts.get("pruned").copied().unwrap_or(0))
        .sum();
    assert!(pruned > 0, "nothing pruned in 20 runs");
}

/// The back-fill writes an hour while the next one is fetched and scored:
/// it must record and store exactly what running the hours one after the
/// other does. (What the simulated hospital's own source adds, moving its
/// clock on while an hour is scored, is checked in the binary's
/// `sim_source` tests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelined_backfill_stores_what_hour_by_hour_runs_store() {
    let dir = TempDir::new("runner-pipelined");
    let pipelined = store(&dir).await;
    let mut runner = support::start(&sim_config(60, 8), pipelined.clone(), weights(), now())
        .await
        .unwrap()
        .runner;
    let runs = runner.backfill(now()).await.unwrap();
    assert_eq!(runs.len(), 8);

    let dir = TempDir::new("runner-sequential");
    let sequential = store(&dir).await;
    let first = runs[0].hour;
    let mut one_by_one = support::start(&sim_config(60, 0), sequential.clone(), weights(), first)
        .await
        .unwrap()
        .runner;
    for run in &runs {
        let again = one_by_one.run_hour(run.hour).await.unwrap();
        assert_eq!(run.outcome, Outcome::Ok, "{run:?}");
        assert_eq!(
            (again.full_fetch, again.patients),
            (run.full_fetch, run.patients),
            "{run:?}"
        );
        assert_eq!(again.wards, run.wards);
        let (a, b) = (
            careload_testkit::store::stored_hour(&pipelined, &run.wards, run.hour).await,
            careload_testkit::store::stored_hour(&sequential, &run.wards, run.hour).await,
        );
        assert_eq!(a.len(), run.patients);
        assert!(a == b, "hour {} differs", run.hour);
    }
}

/// A port nothing listens on.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn down_fhir_config(port: u16) -> Config {
    let mut c = sim_config(60, 0);
    c.source.kind = SourceKind::Fhir;
    c.source.url = format!("http://127.0.0.1:{port}/fhir");
    c.source.insecure_dev_key = true;
    c.source.max_retries = 1;
    c.source.request_timeout_secs = 2;
    c.source.run_deadline_secs = 10;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_gives_a_failed_run_and_keeps_the_last_good_hour() {
    let dir = TempDir::new("runner-down");
    let store = store(&dir).await;
    let good_hour: DateTime<Utc> = "2026-11-23T11:00:00Z".parse().unwrap();
    let mut sim = support::start(&sim_config(60, 0), store.clone(), weights(), good_hour)
        .await
        .unwrap()
        .runner;
    let good = sim.run_hour(good_hour).await.unwrap();
    assert_eq!(good.outcome, Outcome::Ok);

    let config = down_fhir_config(closed_port().await);
    let mut down = Runner::start_from_config(&config, store.clone(), weights(), now())
        .await
        .unwrap();
    let run = down.run_hour(now()).await.unwrap();
    assert_eq!(run.outcome, Outcome::Failed);
    assert!(run.full_fetch, "a first run asks for everything");
    assert_eq!(run.patients, 0);
    let error = run.report.error.clone().unwrap();
    assert!(error.contains("127.0.0.1"), "{error}");

    let current = store.current_hour().await.unwrap().unwrap();
    assert_eq!(current.hour, good_hour);
    assert_eq!(current.run_id, good.run_id);
    let latest = store.latest_run().await.unwrap().unwrap();
    assert_eq!(latest.id, run.run_id);
    assert_eq!(latest.outcome, Some(Outcome::Failed));
    assert_eq!(latest.report.error.as_deref(), Some(error.as_str()));
    // the retries it made before giving up count, as a good run's do
    assert!(run.report.retries >= 1, "{:?}", run.report);
    assert_eq!(latest.report.retries, run.report.retries);
    assert!(latest.source.contains(&config.source.url));
    // nothing was written for the failed hour
    let hour = careload_store::hour_of(now());
    assert!(
        store
            .hospital_hours(hour, hour + Duration::hours(1))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tick_while_a_run_is_going_is_skipped_and_counted() {
    let dir = TempDir::new("runner-skip");
    let store = store(&dir).await;
    let config = down_fhir_config(closed_port().await);
    let runner = Runner::start_from_config(&config, store.clone(), weights(), now())
        .await
        .unwrap();
    let scheduler = Scheduler::new(runner, 5);

    // a run in progress holds the runner
    let running = scheduler.runner().clone().lock_owned().await;
    assert!(matches!(scheduler.tick(now()), Tick::Skipped));
    assert!(matches!(scheduler.tick(now()), Tick::Skipped));
    assert_eq!(scheduler.skipped(), 2);
    assert!(
        store.runs(10).await.unwrap().is_empty(),
        "a skipped tick records no run"
    );
    drop(running);

    let Tick::Started(handle) = scheduler.tick(now()) else {
        panic!("the runner is free: the tick must start a run")
    };
    // while that run goes, the next tick is skipped
    let second = scheduler.tick(now());
    let summary = handle.await.unwrap().unwrap();
    assert_eq!(summary.outcome, Outcome::Failed);
    match second {
        Tick::Skipped => assert_eq!(scheduler.skipped(), 3),
        // the run finished before the second tick: it ran after, never beside it
        Tick::Started(h) => {
            h.await.unwrap();
        }
    }
    let runs = store.runs(10).await.unwrap();
    assert!(runs.iter().all(|r| r.finished_at.is_some()), "no run left unfinished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_stops_on_shutdown() {
    let dir = TempDir::new("runner-shutdown");
    let store = store(&dir).await;
    let config = down_fhir_config(closed_port().await);
    let runner = Runner::start_from_config(&config, store.clone(), weights(), now())
        .await
        .unwrap();
    let scheduler = Scheduler::new(runner, 5);
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(5), scheduler.run(async {})).await;
    assert!(stopped.is_ok(), "run() returns once the shutdown future completes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_hours_older_than_its_days() {
    let dir = TempDir::new("runner-retention");
    let store = store(&dir).await;
    let mut config = sim_config(60, 0);
    config.retention.days = 1;
    let old: DateTime<Utc> = "2026-11-21T10:00:00Z".parse().unwrap();
    let mut runner = support::start(&config, store.clone(), weights(), old)
        .await
        .unwrap()
        .runner;
    assert_eq!(runner.run_hour(old).await.unwrap().outcome, Outcome::Ok);
    let kept = old + Duration::hours(20);
    assert_eq!(runner.run_hour(kept).await.unwrap().outcome, Outcome::Ok);
    let hour = |h: DateTime<Utc>| {
        let store = store.clone();
        async move { store.hospital_hours(h, h + Duration::hours(1)).await.unwrap().len() }
    };
    assert_eq!(hour(old).await, 1, "within a day: kept");

    // 30 hours later: the first hour is more than a day old, the second not
    let now = old + Duration::hours(30);
    assert_eq!(runner.run_hour(now).await.unwrap().outcome, Outcome::Ok);
    assert_eq!(hour(old).await, 0, "older than retention.days: deleted");
    assert_eq!(hour(kept).await, 1);
    assert_eq!(hour(now).await, 1);
    // runs are history of their own: kept
    assert_eq!(store.runs(10).await.unwrap().len(), 3);
}

/// A council activation takes effect from its effective date: hours before
/// it are scored under the configured weights, hours from it under the
/// activated file, and the published cell follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_activation_scores_hours_from_its_effective_date() {
    let dir = TempDir::new("runner-activation");
    let store = store(&dir).await;
    let config = sim_config(30, 0);
    let configured = weights();
    let text = include_str!("../../../weights/2026.1.toml")
        .replace("version = \"2026.1\"", "version = \"2026.2\"")
        .replace("effective_from = 2026-01-01", "effective_from = 2026-11-24");
    let candidate = careload_scoring::Weights::from_toml(&text, "2026.2.toml").unwrap();
    store
        .activate_weights(&candidate, &text, "council secretary", "VTR 2026-11 §4")
        .await
        .unwrap();

    let mut runner = support::start(&config, store.clone(), configured.clone(), now())
        .await
        .unwrap()
        .runner;
    let cell = Arc::new(std::sync::RwLock::new(configured.clone()));
    runner.publish_weights(cell.clone());
    let before: DateTime<Utc> = "2026-11-23T23:00:00Z".parse().unwrap();
    let after: DateTime<Utc> = "2026-11-24T00:00:00Z".parse().unwrap();
    for hour in [before, after] {
        let run = runner.run_hour(hour).await.unwrap();
        assert_eq!(run.outcome, Outcome::Ok, "{run:?}");
    }
    let version = |h: DateTime<Utc>| {
        let store = store.clone();
        async move {
            store.hospital_hours(h, h + Duration::hours(1)).await.unwrap()[0]
                .weights_version
                .clone()
        }
    };
    assert_eq!(version(before).await, "2026.1", "the day before the effective date");
    assert_eq!(version(after).await, "2026.2", "from the effective date (UTC here)");
    assert_eq!(cell.read().unwrap().meta.version, "2026.2");
    assert_eq!(runner.weights().meta.version, "2026.2");

    let audit = store.audit_entries(5).await.unwrap();
    let entry = audit.iter().find(|e| e.action == "weights.activate").expect("audited");
    assert_eq!(entry.actor, "council secretary");
    assert_eq!(entry.detail["reference"], "VTR 2026-11 §4");
    assert_eq!(entry.detail["effective_from"], "2026-11-24");
}

/// The public development pseudonym key protects nothing: a source of real
/// patients refuses to start without a key of its own, unless told loudly
/// that this is a test system.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_source_refuses_the_development_pseudonym_key() {
    let dir = TempDir::new("runner-devkey");
    let store = store(&dir).await;
    let port = closed_port().await;
    let mut config = down_fhir_config(port);
    config.source.insecure_dev_key = false;
    config.source.pseudonym_key_env = "CARELOAD_TEST_SURELY_UNSET_PSEUDONYM_KEY".into();
    let e = match Runner::start_from_config(&config, store.clone(), weights(), now()).await {
        Ok(_) => panic!("started with the public development key and a FHIR source"),
        Err(e) => e,
    };
    let text = e.to_string();
    assert!(
        text.contains("CARELOAD_TEST_SURELY_UNSET_PSEUDONYM_KEY") && text.contains("--insecure-dev-key"),
        "{text}"
    );
    // told that this is a test system, it starts
    config.source.insecure_dev_key = true;
    Runner::start_from_config(&config, store.clone(), weights(), now())
        .await
        .unwrap();
    // and the simulated hospital never needs a key
    let sim = sim_config(60, 0);
    assert!(!sim.source.insecure_dev_key);
    support::start(&sim, store, weights(), now()).await.unwrap();
}
