//! The hourly scheduler: a run at `HH:minute` every hour, never two at once.
//!
//! [`next_tick`] is the pure clock arithmetic. [`Scheduler::tick`] starts a
//! run unless one is still going, in which case the tick is skipped, logged
//! and counted ([`Scheduler::skipped`]): a slow run delays nothing and never
//! overlaps the next. [`Scheduler::run`] loops until its shutdown future
//! completes, then waits for a run in flight to finish.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use careload_store::hour_of;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use crate::runner::{RunSummary, Runner};

/// The first instant strictly after `now` that is `minute` past an hour.
/// `minute` above 59 is read as 59.
pub fn next_tick(now: DateTime<Utc>, minute: u32) -> DateTime<Utc> {
    let this_hour = hour_of(now) + Duration::minutes(i64::from(minute.min(59)));
    if this_hour > now {
        this_hour
    } else {
        this_hour + Duration::hours(1)
    }
}

/// What a tick did.
#[derive(Debug)]
pub enum Tick {
    /// A run started for this hour; the handle gives its summary.
    Started(JoinHandle<Option<RunSummary>>),
    /// A run was still going: nothing started.
    Skipped,
}

/// Fires the hourly runs of one [`Runner`].
pub struct Scheduler {
    runner: Arc<Mutex<Runner>>,
    minute: u32,
    skipped: AtomicU64,
    after_run: Option<AfterRun>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("minute", &self.minute)
            .field("skipped", &self.skipped)
            .field("after_run", &self.after_run.is_some())
            .finish_non_exhaustive()
    }
}

/// Called after every run, whatever its outcome (e.g. to tell the API's
/// response cache that the data changed).
pub type AfterRun = Arc<dyn Fn() + Send + Sync>;

impl Scheduler {
    /// A scheduler running `runner` at `minute` past every hour.
    pub fn new(runner: Runner, minute: u32) -> Scheduler {
        Scheduler::shared(Arc::new(Mutex::new(runner)), minute)
    }

    /// A scheduler over a runner shared with the caller.
    pub fn shared(runner: Arc<Mutex<Runner>>, minute: u32) -> Scheduler {
        Scheduler {
            runner,
            minute,
            skipped: AtomicU64::new(0),
            after_run: None,
        }
    }

    /// Calls `f` after every run, whatever its outcome.
    pub fn with_after_run(mut self, f: AfterRun) -> Scheduler {
        self.after_run = Some(f);
        self
    }

    /// The runner.
    pub fn runner(&self) -> &Arc<Mutex<Runner>> {
        &self.runner
    }

    /// Ticks skipped because a run was still going.
    pub fn skipped(&self) -> u64 {
        self.skipped.load(Ordering::Relaxed)
    }

    /// Starts the run for the hour of `now`, unless a run is still going.
    pub fn tick(&self, now: DateTime<Utc>) -> Tick {
        let Ok(mut runner) = self.runner.clone().try_lock_owned() else {
            let skipped = self.skipped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(at = %now, skipped, "previous run still going: this hour's run is skipped");
            return Tick::Skipped;
        };
        let hour = hour_of(now);
        let after_run = self.after_run.clone();
        Tick::Started(tokio::spawn(async move {
            let summary = match runner.run_hour(hour).await {
                Ok(summary) => Some(summary),
                Err(e) => {
                    tracing::error!(hour = %hour, error = %e, "run could not be recorded");
                    None
                }
            };
            if let Some(f) = after_run {
                f();
            }
            summary
        }))
    }

    /// Ticks at `minute` past every hour until `shutdown` completes, then
    /// waits for a run in flight to finish.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last: Option<DateTime<Utc>> = None;
        loop {
            let now = Utc::now();
            // never the same tick twice, even if the timer wakes a hair before the wall clock
            let at = next_tick(last.map_or(now, |l| l.max(now)), self.minute);
            let wait = (at - now).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(wait) => {
                    last = Some(at);
                    // a run still going keeps the lock; its result is logged by the task
                    let _ = self.tick(at.max(Utc::now()));
                }
                () = &mut shutdown => break,
            }
        }
        tracing::info!("scheduler stopping; waiting for a run in flight");
        let _finished = self.runner.lock().await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn next_tick_is_the_next_minute_past_an_hour() {
        let cases = [
            ("2026-11-23T09:00:00Z", 5, "2026-11-23T09:05:00Z"),
            ("2026-11-23T09:04:59Z", 5, "2026-11-23T09:05:00Z"),
            // exactly on the tick: the next one (a tick never fires twice)
            ("2026-11-23T09:05:00Z", 5, "2026-11-23T10:05:00Z"),
            ("2026-11-23T09:05:00.001Z", 5, "2026-11-23T10:05:00Z"),
            ("2026-11-23T09:59:59Z", 0, "2026-11-23T10:00:00Z"),
            ("2026-11-23T23:30:00Z", 15, "2026-11-24T00:15:00Z"),
            ("2026-12-31T23:59:00Z", 59, "2027-01-01T00:59:00Z"),
            ("2026-11-23T09:00:00Z", 99, "2026-11-23T09:59:00Z"),
        ];
        for (now, minute, expected) in cases {
            assert_eq!(next_tick(t(now), minute), t(expected), "{now} minute {minute}");
        }
    }
}
