//! The scheduler: a run at every firing of a cron expression (by default
//! `HH:minute` every hour), never two at once.
//!
//! [`Timing`] is the cron expression (`schedule.cron`, 5 fields: minute hour
//! day-of-month month day-of-week, or `schedule.minute` as the shorthand
//! `"<minute> * * * *"`) evaluated in the hospital's zone
//! (`scoring.time_zone`); [`Timing::next_after`] and [`next_tick`] are the
//! pure clock arithmetic. Across daylight-saving changes an hourly
//! expression fires once per real hour; a local time that happens twice
//! (autumn) fires at both; one that does not exist (spring) fires right after
//! the gap, once (tested). [`Scheduler::tick`] starts a
//! run unless one is still going, in which case the tick is skipped, logged
//! and counted ([`Scheduler::skipped`]): a slow run delays nothing and never
//! overlaps the next. [`Scheduler::run`] loops until its shutdown future
//! completes, then waits for a run in flight to finish.
//!
//! A service of several sources (`[sources.<id>]`) runs one [`Scheduler`]
//! per source, each over its own [`Runner`] and firing its source's
//! `offset_minutes` after the schedule's firings
//! ([`Timing::with_offset_minutes`]); a source's turn, lock and firings are
//! its own ([`take_turn`]), so one source failing or running long never
//! holds another back.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use careload_config::Config;
use careload_store::hour_of;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
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

/// When runs start: a cron expression evaluated in a time zone, and
/// shifted by a source's offset.
#[derive(Clone)]
pub struct Timing {
    cron: croner::Cron,
    tz: Tz,
    expression: String,
    /// Minutes after each of the expression's firings (a source's
    /// `offset_minutes`; 0 for the single source unless it sets one).
    offset_minutes: u32,
}

impl std::fmt::Debug for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timing")
            .field("cron", &self.expression)
            .field("tz", &self.tz)
            .field("offset_minutes", &self.offset_minutes)
            .finish()
    }
}

impl Timing {
    /// `minute` past every hour (above 59 read as 59), in UTC.
    pub fn minute(minute: u32) -> Timing {
        let expression = format!("{} * * * *", minute.min(59));
        Timing::parse(&expression, Tz::UTC).unwrap_or_else(|_| Timing::hourly())
    }

    /// Every hour on the hour (the fallback that cannot fail).
    fn hourly() -> Timing {
        #[allow(clippy::expect_used)]
        let cron = "0 * * * *"
            .parse::<croner::Cron>()
            .expect("a constant cron expression parses");
        Timing {
            cron,
            tz: Tz::UTC,
            expression: "0 * * * *".to_owned(),
            offset_minutes: 0,
        }
    }

    /// A 5-field cron expression in `tz`.
    ///
    /// # Errors
    /// [`careload_config::Error::Invalid`] on an expression that is not 5
    /// cron fields, or that never fires.
    pub fn parse(expression: &str, tz: Tz) -> crate::Result<Timing> {
        let schedule = careload_config::ScheduleConfig {
            cron: Some(expression.to_owned()),
            ..careload_config::ScheduleConfig::default()
        };
        let cron = schedule.parse_cron()?;
        let timing = Timing {
            cron,
            tz,
            expression: expression.trim().to_owned(),
            offset_minutes: 0,
        };
        let probe = "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap_or_default();
        if timing.try_next_after(probe).is_none() {
            return Err(careload_config::Error::Invalid {
                key: "schedule.cron".into(),
                message: format!("{expression:?} never fires; write e.g. \"5 * * * *\""),
            }
            .into());
        }
        Ok(timing)
    }

    /// `schedule.cron` (or `schedule.minute`) in `scoring.time_zone`.
    ///
    /// # Errors
    /// As [`Timing::parse`]; an unknown zone; `minute` changed while `cron` is set.
    pub fn from_config(config: &Config) -> crate::Result<Timing> {
        let cron = config.schedule.parse_cron()?;
        let timing = Timing {
            cron,
            tz: config.scoring.tz()?,
            expression: config.schedule.cron_expression(),
            offset_minutes: 0,
        };
        Timing::parse(&timing.expression, timing.tz)
    }

    /// The same firings `minutes` later (above 59 read as 59): a source's
    /// `offset_minutes`, so that the sources of one service need not all
    /// fetch at once. A firing's run is for the hour of the shifted instant.
    pub fn with_offset_minutes(mut self, minutes: u32) -> Timing {
        self.offset_minutes = minutes.min(59);
        self
    }

    /// The expression.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Minutes after the expression's firings this timing fires.
    pub fn offset_minutes(&self) -> u32 {
        self.offset_minutes
    }

    fn offset(&self) -> Duration {
        Duration::minutes(i64::from(self.offset_minutes))
    }

    /// The next firing: every real minute of the next 25 hours whose local
    /// wall-clock time matches (so a local time that happens twice in
    /// autumn fires twice, an hour apart, and an hourly expression fires
    /// every real hour), else croner's next occurrence (further away, or a
    /// local time skipped in spring).
    fn try_next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let whole_minute = now.timestamp().div_euclid(60) * 60;
        let mut t = DateTime::<Utc>::from_timestamp(whole_minute, 0)?;
        let croner_next = self
            .cron
            .find_next_occurrence(&t.with_timezone(&self.tz), false)
            .ok()
            .map(|t| t.with_timezone(&Utc));
        let scan_end = croner_next.map_or(t + Duration::hours(25), |c| c.min(t + Duration::hours(25)));
        loop {
            t += Duration::minutes(1);
            if t > scan_end {
                break;
            }
            if t > now && self.cron.is_time_matching(&t.with_timezone(&self.tz)).unwrap_or(false) {
                return Some(t);
            }
        }
        croner_next.filter(|c| *c > now)
    }

    /// The scheduler's next tick: the first firing after `since` (the
    /// instant the scheduler was started from: before a service's catch-up)
    /// until one has ticked, even when it has passed by `now` (it ticks at
    /// once), then the first after the last tick or `now`, whichever is
    /// later — never the same tick twice, even if the timer wakes a hair
    /// before the wall clock.
    pub fn next_firing(&self, since: DateTime<Utc>, last: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
        self.next_after(last.map_or(since.min(now), |l| l.max(now)))
    }

    /// The first firing strictly after `now` (the offset applied); an hour
    /// later if none is found.
    pub fn next_after(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let offset = self.offset();
        self.try_next_after(now - offset)
            .map(|t| t + offset)
            .unwrap_or_else(|| {
                tracing::warn!(cron = %self.expression, at = %now, "no next firing found; trying again in an hour");
                now + Duration::hours(1)
            })
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
    timing: Timing,
    skipped: AtomicU64,
    after_run: Option<AfterRun>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("timing", &self.timing)
            .field("skipped", &self.skipped)
            .field("after_run", &self.after_run.is_some())
            .finish_non_exhaustive()
    }
}

/// Called after every run, whatever its outcome (e.g. to tell the API's
/// response cache that the data changed).
pub type AfterRun = Arc<dyn Fn() + Send + Sync>;

impl Scheduler {
    /// A scheduler running `runner` at `minute` past every hour (see
    /// [`Scheduler::with_timing`] for a cron expression).
    pub fn new(runner: Runner, minute: u32) -> Scheduler {
        Scheduler::shared(Arc::new(Mutex::new(runner)), minute)
    }

    /// A scheduler over a runner shared with the caller.
    pub fn shared(runner: Arc<Mutex<Runner>>, minute: u32) -> Scheduler {
        Scheduler {
            runner,
            timing: Timing::minute(minute),
            skipped: AtomicU64::new(0),
            after_run: None,
        }
    }

    /// Runs at the firings of `timing` instead.
    pub fn with_timing(mut self, timing: Timing) -> Scheduler {
        self.timing = timing;
        self
    }

    /// When runs start.
    pub fn timing(&self) -> &Timing {
        &self.timing
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

    /// Starts this replica's turn at the firing `at` (the run for the hour
    /// of `at`), unless a run of this process is still going. The turn
    /// runs the hour if this replica gets the run lock and no replica has
    /// done the firing yet; else it waits for the replica that runs it and
    /// takes over if that one stops ([`take_turn`]), until shortly before
    /// the next firing. The handle gives the summary when this replica ran
    /// the hour, `None` when another did (or the run could not be
    /// recorded).
    pub fn tick(&self, at: DateTime<Utc>) -> Tick {
        let Ok(mut runner) = self.runner.clone().try_lock_owned() else {
            let skipped = self.skipped.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(at = %at, skipped, "previous run still going: this hour's run is skipped");
            return Tick::Skipped;
        };
        let hour = hour_of(at);
        // wait for another replica no later than shortly before the next firing
        let next = self.timing.next_after(at);
        let deadline = (next - Duration::seconds(5)).max(at + Duration::seconds(5));
        let after_run = self.after_run.clone();
        Tick::Started(tokio::spawn(async move {
            let summary = match take_turn(&mut runner, Due::Firing(at), deadline).await {
                Ok(Turn::Ran(summary)) => Some(summary),
                Ok(Turn::ByAnother) => None,
                Ok(Turn::GaveUp) => {
                    tracing::warn!(
                        hour = %hour,
                        "another replica held the run lock until the next firing without finishing this hour; \
                         the next firing runs it"
                    );
                    None
                }
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

    /// Ticks at every firing of the timing until `shutdown` completes, then
    /// waits for a run in flight to finish.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        self.run_since(Utc::now(), shutdown).await;
    }

    /// As [`Scheduler::run`], the first firing after `since` ticked at once
    /// when it has already passed: a service passes the instant before its
    /// catch-up, so that a firing that fell during the catch-up (another
    /// replica held it, and may have died with it) still gets its turn.
    pub async fn run_since(&self, since: DateTime<Utc>, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last: Option<DateTime<Utc>> = None;
        loop {
            let now = Utc::now();
            let at = self.timing.next_firing(since, last, now);
            let wait = (at - now).to_std().unwrap_or_default();
            tokio::select! {
                () = tokio::time::sleep(wait) => {
                    last = Some(at);
                    // a run still going keeps the lock; its result is logged by the task
                    let _ = self.tick(at);
                }
                () = &mut shutdown => break,
            }
        }
        tracing::info!("scheduler stopping; waiting for a run in flight");
        let _finished = self.runner.lock().await;
    }
}

/// How often a replica that did not get the run lock looks again.
pub const TAKEOVER_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// What a replica's turn is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// A scheduled firing, the schedule's instant: done when a run for it
    /// has ended, whichever replica ran it ([`careload_store::Store::firing_done`]).
    Firing(DateTime<Utc>),
    /// An hour not yet stored (the catch-up at start): done once it, or a
    /// later hour, is the source's hour ([`careload_store::Store::source_hour`]).
    Hour(DateTime<Utc>),
    /// An hour run again whatever is stored (`careload ingest --once`):
    /// never done before this replica runs it, but still under the lock.
    Rerun(DateTime<Utc>),
}

impl Due {
    /// The hour the turn runs (the hour of its instant) and the scheduled
    /// firing the run records (`None` for a catch-up or a re-run, which
    /// are not firings).
    pub fn hour_and_firing(self) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
        match self {
            Due::Firing(at) => (hour_of(at), Some(at)),
            Due::Hour(hour) | Due::Rerun(hour) => (hour_of(hour), None),
        }
    }
}

/// What one replica did in its turn.
#[derive(Debug)]
pub enum Turn {
    /// It ran the hour (the run may have failed: see its outcome).
    Ran(RunSummary),
    /// Another replica did it, or had done it before this one looked.
    ByAnother,
    /// Another replica held the lock until the deadline without finishing
    /// (or this one kept losing its lock, or could not read the store).
    GaveUp,
}

/// Whether `due` is done for the source `source_id`, in the store: a
/// firing is done when a run of this source ended for it, an hour when
/// this source stored it (whatever the other sources did).
async fn is_done(store: &careload_store::Store, source_id: &str, due: Due) -> careload_store::Result<bool> {
    match due {
        Due::Firing(at) => store.firing_done(source_id, at).await,
        Due::Hour(hour) => Ok(store.source_hour(source_id).await?.is_some_and(|c| c.hour >= hour)),
        Due::Rerun(_) => Ok(false),
    }
}

/// What happened under the lock: the turn, or `None` to try again (the
/// lock was lost before the hour committed, or the store could not be read).
async fn under_lock(
    runner: &mut Runner,
    due: Due,
    lock: &careload_store::RunLock,
    waited: bool,
) -> crate::Result<Option<Turn>> {
    let (hour, fired_at) = due.hour_and_firing();
    let store = runner.store().clone();
    // first the runs a dead replica left: one killed after its hour
    // committed has done the firing, and must not be run again
    if lock.exclusive()
        && let Err(e) = runner.close_dead_runs().await
    {
        tracing::warn!(hour = %hour, error = %e, "cannot close the runs of a stopped replica; trying again");
        return Ok(None);
    }
    match is_done(&store, runner.source_id(), due).await {
        Ok(true) => return Ok(Some(Turn::ByAnother)),
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(hour = %hour, error = %e, "cannot read whether this hour is done; trying again");
            return Ok(None);
        }
    }
    if waited {
        tracing::warn!(
            hour = %hour,
            "the replica running this hour stopped before finishing it: this replica takes it over"
        );
    }
    let summary = runner.run_hour_locked(hour, fired_at, lock).await?;
    if summary.lock_lost() {
        tracing::warn!(hour = %hour, "this replica lost the run lock before its hour committed; trying again");
        return Ok(None);
    }
    Ok(Some(Turn::Ran(summary)))
}

/// One replica's turn at `due` for the runner's source
/// ([`Runner::source_id`]), among replicas sharing a database: with the
/// source's run lock ([`careload_store::Store::try_lock_runs`]) it first closes
/// the runs a dead replica left (as what they committed), then, unless `due`
/// is done, runs the hour ([`Runner::run_hour_locked`]) and releases the
/// lock. Without the lock, another replica is running: it looks again every
/// [`TAKEOVER_POLL`] until that replica has done it, or the lock comes free
/// with `due` still not done — the replica stopped (killed: its connection
/// closed and the database dropped its lock) — and then takes the hour
/// over. A store it cannot reach, and a lock lost before the hour
/// committed, are logged and tried again; it gives up at `deadline`. On
/// SQLite the lock is always this process's, so the turn is simply the run.
///
/// # Errors
/// As [`Runner::run_hour`]: the store cannot record the run.
pub async fn take_turn(runner: &mut Runner, due: Due, deadline: DateTime<Utc>) -> crate::Result<Turn> {
    let store = runner.store().clone();
    let source_id = runner.source_id().to_owned();
    let (hour, _) = due.hour_and_firing();
    let mut waited = false;
    loop {
        match store.try_lock_runs(&source_id).await {
            Ok(Some(lock)) => {
                let turn = under_lock(runner, due, &lock, waited).await;
                lock.release().await;
                if let Some(turn) = turn? {
                    return Ok(turn);
                }
            }
            Ok(None) => {
                if is_done(&store, &source_id, due).await.unwrap_or(false) {
                    return Ok(Turn::ByAnother);
                }
                if !waited {
                    tracing::info!(
                        hour = %hour,
                        "another replica is running this hour; this one takes it over if that one stops"
                    );
                    waited = true;
                }
            }
            Err(e) => tracing::warn!(hour = %hour, error = %e, "cannot take the run lock; trying again"),
        }
        if Utc::now() + Duration::milliseconds(TAKEOVER_POLL.as_millis() as i64) >= deadline {
            return Ok(Turn::GaveUp);
        }
        tokio::time::sleep(TAKEOVER_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The replicas test's failure in CI at 2749a40, without its timing: a
    /// replica started at 11:26:58 spends its catch-up past the 11:27
    /// firing (another replica held it, and died with it); its scheduler,
    /// started from before the catch-up, ticks 11:27 at once instead of
    /// waiting for 11:28, then goes on from the tick.
    #[test]
    fn a_firing_that_fell_during_the_catch_up_is_ticked_at_once() {
        let every_minute = Timing::parse("* * * * *", Tz::UTC).unwrap();
        let since = t("2026-12-05T11:26:58Z");
        let after_catch_up = t("2026-12-05T11:27:31Z");
        assert_eq!(
            every_minute.next_firing(since, None, after_catch_up),
            t("2026-12-05T11:27:00Z"),
            "the firing during the catch-up gets its turn"
        );
        // from `now` (what the scheduler did before) that firing was lost
        assert_eq!(every_minute.next_after(after_catch_up), t("2026-12-05T11:28:00Z"));
        // once ticked, never again; then the next after the tick or now
        let ticked = Some(t("2026-12-05T11:27:00Z"));
        assert_eq!(
            every_minute.next_firing(since, ticked, t("2026-12-05T11:27:00.500Z")),
            t("2026-12-05T11:28:00Z")
        );
        assert_eq!(
            every_minute.next_firing(since, ticked, t("2026-12-05T11:29:10Z")),
            t("2026-12-05T11:30:00Z"),
            "firings missed while a run went on are not replayed"
        );
        // started with no catch-up in between: the next firing, as before
        assert_eq!(every_minute.next_firing(since, None, since), t("2026-12-05T11:27:00Z"));
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
            assert_eq!(
                Timing::minute(minute).next_after(t(now)),
                t(expected),
                "timing: {now} minute {minute}"
            );
        }
    }

    fn stockholm(expr: &str) -> Timing {
        Timing::parse(expr, "Europe/Stockholm".parse().unwrap()).unwrap()
    }

    fn ticks(timing: &Timing, from: &str, n: usize) -> Vec<DateTime<Utc>> {
        let mut at = t(from);
        (0..n)
            .map(|_| {
                at = timing.next_after(at);
                at
            })
            .collect()
    }

    #[test]
    fn an_hourly_cron_fires_once_per_real_hour_across_both_dst_changes() {
        let hourly = stockholm("5 * * * *");
        // spring: 2026-03-29 02:00 CET → 03:00 CEST (01:00 UTC); local 02:05 does not exist
        assert_eq!(
            ticks(&hourly, "2026-03-28T23:30:00Z", 4),
            [
                "2026-03-28T23:05:00Z",
                "2026-03-29T00:05:00Z",
                "2026-03-29T01:05:00Z",
                "2026-03-29T02:05:00Z"
            ]
            .map(t)[..]
                .iter()
                .map(|x| *x + Duration::hours(1))
                .collect::<Vec<_>>()
        );
        // autumn: 2026-10-25 03:00 CEST → 02:00 CET (01:00 UTC); local 02:05 happens twice
        assert_eq!(
            ticks(&hourly, "2026-10-24T23:30:00Z", 4),
            [
                "2026-10-25T00:05:00Z",
                "2026-10-25T01:05:00Z",
                "2026-10-25T02:05:00Z",
                "2026-10-25T03:05:00Z"
            ]
            .map(t)
        );
    }

    #[test]
    fn a_daily_cron_is_local_time_through_a_dst_change() {
        let daily = stockholm("30 6 * * *");
        // 06:30 local is 05:30 UTC in winter, 04:30 UTC in summer
        assert_eq!(
            ticks(&daily, "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T04:30:00Z", "2026-03-30T04:30:00Z"].map(t)
        );
        assert_eq!(
            ticks(&daily, "2026-03-27T12:00:00Z", 1),
            ["2026-03-28T05:30:00Z"].map(t)
        );
        // 02:05 local does not exist on 2026-03-29: the run is not lost, it
        // comes at 03:00 CEST, right after the gap, once; the next day as usual
        let at_0205 = stockholm("5 2 * * *");
        assert_eq!(
            ticks(&at_0205, "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T01:00:00Z", "2026-03-30T00:05:00Z"].map(t)
        );
    }

    #[test]
    fn an_offset_moves_every_firing_and_its_hour() {
        let hourly = Timing::minute(5);
        assert_eq!(hourly.offset_minutes(), 0);
        let at_25 = hourly.clone().with_offset_minutes(20);
        assert_eq!(at_25.offset_minutes(), 20);
        assert_eq!(
            ticks(&at_25, "2026-11-23T09:00:00Z", 3),
            ["2026-11-23T09:25:00Z", "2026-11-23T10:25:00Z", "2026-11-23T11:25:00Z"].map(t)
        );
        // between the schedule's firing and the source's: the source's comes
        assert_eq!(at_25.next_after(t("2026-11-23T09:10:00Z")), t("2026-11-23T09:25:00Z"));
        assert_eq!(at_25.next_after(t("2026-11-23T09:25:00Z")), t("2026-11-23T10:25:00Z"));
        // past the top of the hour: the hour of the shifted instant is run
        let late = hourly.with_offset_minutes(59);
        assert_eq!(late.next_after(t("2026-11-23T09:00:00Z")), t("2026-11-23T09:04:00Z"));
        // the schedule's 09:05 firing, for this source at 10:04: the 10:00 hour
        let at = late.next_after(t("2026-11-23T09:10:00Z"));
        assert_eq!(at, t("2026-11-23T10:04:00Z"));
        assert_eq!(Due::Firing(at).hour_and_firing(), (t("2026-11-23T10:00:00Z"), Some(at)));
        // in the hospital's zone, across a change of clocks, the offset is real minutes
        let daily = stockholm("30 6 * * *").with_offset_minutes(15);
        assert_eq!(
            ticks(&daily, "2026-03-28T12:00:00Z", 1),
            ["2026-03-29T04:45:00Z"].map(t)
        );
        assert_eq!(Timing::minute(0).with_offset_minutes(99).offset_minutes(), 59);
    }

    #[test]
    fn a_turn_runs_the_hour_of_its_instant_and_records_only_a_firing() {
        let at = t("2026-11-23T09:05:00Z");
        let nine = t("2026-11-23T09:00:00Z");
        let cases = [
            (Due::Firing(at), (nine, Some(at))),
            (Due::Hour(at), (nine, None)),
            (Due::Rerun(at), (nine, None)),
            (Due::Hour(nine), (nine, None)),
        ];
        for (due, expected) in cases {
            assert_eq!(due.hour_and_firing(), expected, "{due:?}");
        }
    }

    #[test]
    fn bad_expressions_are_refused_with_clear_text() {
        let utc = Tz::UTC;
        let e = Timing::parse("0 5 * * * *", utc).unwrap_err().to_string();
        assert!(
            e.contains("schedule.cron") && e.contains("6 fields") && e.contains("write 5"),
            "{e}"
        );
        let e = Timing::parse("61 * * * *", utc).unwrap_err().to_string();
        assert!(e.contains("not a cron expression") && e.contains("61 * * * *"), "{e}");
        let e = Timing::parse("0 0 31 2 *", utc).unwrap_err().to_string();
        assert!(e.contains("never fires"), "{e}");
        let every_15 = Timing::parse("*/15 * * * *", utc).unwrap();
        assert_eq!(
            every_15.next_after(t("2026-11-23T09:00:00Z")),
            t("2026-11-23T09:15:00Z")
        );
    }
}
