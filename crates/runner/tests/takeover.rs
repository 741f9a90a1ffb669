//! A replica taking over a firing from one that died, at the runner's own
//! level ([`take_turn`]): two runners, each with its own pool on one fresh
//! PostgreSQL database (`careload_testkit`), reading the simulated hospital
//! (`support`). Replica A takes the run lock and runs the hour, then "dies"
//! (its lock connection is dropped without an unlock, its run row left
//! open); replica B takes its turn at the same firing. No timing is
//! involved: each state is set up, then B's turn is taken.
//!
//! PostgreSQL only: on SQLite the lock is always this process's, dead runs
//! are closed only at start ([`careload_runner::Runner::plan`]) and two
//! processes on one file are not supported; without
//! `CARELOAD_TEST_DATABASE_URL` the tests say so and pass (under `CI` they
//! fail, as every PostgreSQL half does).
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[allow(dead_code)] // the hospital, base URL and hooks are run.rs's
mod support;

use std::future::Future;
use std::sync::Arc;

use careload_config::{Config, SourceKind};
use careload_runner::{Due, Runner, Turn, load_weights, take_turn};
use careload_store::{Outcome, RUN_LOCK_KEY, Run, RunId, Store};
use careload_testkit::store::PgDatabase;
use chrono::{DateTime, Duration, Utc};
use sqlx::{Connection, PgConnection};

/// A run at 12:20 is the 12:00 hour.
fn now() -> DateTime<Utc> {
    "2026-11-23T12:20:00Z".parse().unwrap()
}

/// The firing both replicas take their turn at: 12:05, the 12:00 hour.
fn fired() -> DateTime<Utc> {
    "2026-11-23T12:05:00Z".parse().unwrap()
}

fn hour() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

fn sim_config() -> Config {
    let mut c = Config::default();
    c.source.kind = SourceKind::Sim;
    c.source.pseudonym_key_env = "CARELOAD_TEST_UNSET_PSEUDONYM_KEY".into();
    c.sim.beds = 40;
    c.sim.seed = 5;
    c.sim.listen = "127.0.0.1:0".into();
    c.scoring.time_zone = "UTC".into();
    c.schedule.resync_hour = 23;
    c.schedule.backfill_hours = 0;
    c
}

/// Two replicas on one database, both started before either runs (so that
/// neither start closes the other's runs), and a direct connection to it.
struct Replicas {
    a: Runner,
    b: Runner,
    /// A connection of the test's own, to look into `pg_locks` and rows.
    db: PgConnection,
}

/// `test` on two replicas of a fresh database, which is dropped afterwards
/// whether the test passed or not; a failure is re-raised.
async fn on_replicas<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Replicas) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(database) = PgDatabase::create(name).await else {
        return;
    };
    let weights = Arc::new(load_weights(None).unwrap());
    let config = sim_config();
    let mut started = Vec::new();
    for _ in 0..2 {
        // each replica its own pool, as two processes have
        let store = Store::connect(database.url()).await.unwrap();
        started.push(
            support::start(&config, store, weights.clone(), now())
                .await
                .unwrap()
                .runner,
        );
    }
    let b = started.pop().unwrap();
    let a = started.pop().unwrap();
    let db = PgConnection::connect(database.url()).await.unwrap();
    let result = tokio::spawn(test(Replicas { a, b, db })).await;
    database.remove().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

impl Replicas {
    /// Replica A's lock connection is gone (dropped, as a killed process's
    /// is closed by its operating system): waits until the server has
    /// dropped its lock, so that B's turn gets the lock at its first try.
    async fn wait_until_unlocked(&mut self) {
        for _ in 0..200 {
            let held: bool = sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_database d ON d.oid = l.database \
                 WHERE d.datname = current_database() AND l.locktype = 'advisory' AND l.granted \
                 AND l.objsubid = 1 AND l.classid::bigint = $1 AND l.objid::bigint = $2)",
            )
            .bind(RUN_LOCK_KEY >> 32)
            .bind(RUN_LOCK_KEY & 0xffff_ffff)
            .fetch_one(&mut self.db)
            .await
            .unwrap();
            if !held {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the dead replica's run lock was not dropped within 5 s");
    }

    /// The runs the hour's patient rows were written by, distinct.
    async fn patient_rows_by_run(&mut self) -> Vec<i64> {
        sqlx::query_scalar("SELECT DISTINCT run_id FROM patient_hours WHERE hour = $1 ORDER BY run_id")
            .bind(hour())
            .fetch_all(&mut self.db)
            .await
            .unwrap()
    }

    /// The run row of `id` as [`Store::begin_fired_run`] left it: the
    /// state of a process that died after its hour's commit and before
    /// [`Store::finish_run`] (nothing in the runner stops between the two,
    /// so the test puts the row back).
    async fn reopen(&mut self, id: RunId) {
        let reopened = sqlx::query(
            "UPDATE ingest_runs SET finished_at = NULL, outcome = NULL, counts = '{}', skipped = 0, retries = 0, \
             error = NULL WHERE id = $1",
        )
        .bind(id.0)
        .execute(&mut self.db)
        .await
        .unwrap()
        .rows_affected();
        assert_eq!(reopened, 1);
    }

    /// Replica B's turn at the firing, with a minute to spare.
    async fn turn_of_b(&mut self) -> Turn {
        take_turn(&mut self.b, Due::Firing(fired()), Utc::now() + Duration::seconds(60))
            .await
            .unwrap()
    }

    async fn runs(&self) -> Vec<Run> {
        self.b.store().runs(20).await.unwrap()
    }

    async fn close(self) {
        let _ = self.db.close().await;
        self.a.store().close().await;
        self.b.store().close().await;
    }
}

/// The review's case: A's hour committed, A died before recording its run
/// as finished. B must close A's run first (as `partial`: its hour is
/// whole) and then find the firing done; checking "done" first sees A's
/// run still open, and B wrote the hour a second time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_killed_between_its_commit_and_finishing_its_run_is_not_run_again() {
    on_replicas("takeover_committed", committed_then_killed).await;
}

async fn committed_then_killed(mut r: Replicas) {
    let lock = r.a.store().try_lock_runs("").await.unwrap().expect("the lock is free");
    assert!(lock.exclusive());
    let ran = r.a.run_hour_locked(hour(), Some(fired()), &lock).await.unwrap();
    assert_eq!(ran.outcome, Outcome::Ok, "{:?}", ran.report);
    assert!(ran.patients > 10, "{} patients", ran.patients);
    let a_run = ran.run_id;
    r.reopen(a_run).await;
    drop(lock); // A dies: no unlock, its run row open
    r.wait_until_unlocked().await;
    assert!(
        !r.b.store().firing_done("", fired()).await.unwrap(),
        "A's run is still open"
    );

    let turn = r.turn_of_b().await;

    assert!(
        matches!(turn, Turn::ByAnother),
        "B must not run a firing whose hour A committed: {turn:?}"
    );
    let current = r.b.store().current_hour().await.unwrap().expect("an hour");
    assert_eq!((current.hour, current.run_id), (hour(), a_run), "the hour is A's write");
    assert_eq!(r.patient_rows_by_run().await, [a_run.0], "every row is A's write");
    let runs = r.runs().await;
    assert_eq!(runs.len(), 1, "B recorded no run: {runs:?}");
    let a = &runs[0];
    assert_eq!((a.id, a.fired_at), (a_run, Some(fired())));
    assert_eq!(a.outcome, Some(Outcome::Partial), "{a:?}");
    assert!(a.interrupted(), "{a:?}");
    let error = a.report.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("interrupted: the process stopped after this run's hour was written"),
        "{error}"
    );
    assert!(r.b.store().firing_done("", fired()).await.unwrap());
    r.close().await;
}

/// The other side: A died after beginning its run and before its hour
/// committed. B closes A's run as `failed` (interrupted: the firing is
/// still due) and runs the hour itself, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_killed_before_its_commit_is_taken_over_and_the_hour_written_once() {
    on_replicas("takeover_uncommitted", killed_before_commit).await;
}

async fn killed_before_commit(mut r: Replicas) {
    let lock = r.a.store().try_lock_runs("").await.unwrap().expect("the lock is free");
    let a_run = r.a.store().begin_fired_run("", "test", Some(fired())).await.unwrap();
    drop(lock); // A dies while it fetches: nothing written
    r.wait_until_unlocked().await;

    let turn = r.turn_of_b().await;

    let Turn::Ran(ran) = turn else {
        panic!("B must take over a firing A did not write: {turn:?}")
    };
    assert_eq!(ran.outcome, Outcome::Ok, "{:?}", ran.report);
    assert!(ran.patients > 10, "{} patients", ran.patients);
    let current = r.b.store().current_hour().await.unwrap().expect("an hour");
    assert_eq!((current.hour, current.run_id), (hour(), ran.run_id));
    assert_eq!(r.patient_rows_by_run().await, [ran.run_id.0]);
    let runs = r.runs().await;
    let ids: Vec<RunId> = runs.iter().map(|r| r.id).collect();
    assert_eq!(ids, [ran.run_id, a_run], "{runs:?}");
    let (b, a) = (&runs[0], &runs[1]);
    assert_eq!((b.outcome, b.fired_at), (Some(Outcome::Ok), Some(fired())));
    assert!(!b.interrupted());
    assert_eq!(a.outcome, Some(Outcome::Failed), "{a:?}");
    assert!(a.interrupted(), "{a:?}");
    let error = a.report.error.as_deref().unwrap_or_default();
    assert!(
        error.starts_with("interrupted: the process stopped before this run's hour was written"),
        "{error}"
    );
    r.close().await;
}
