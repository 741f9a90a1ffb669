//! One hourly run, and the state it keeps between runs.
//!
//! [`Runner::run_hour`]: record the run's start → the source's
//! [`FhirSource::before_hour`] (the simulated hospital moves its clock to the
//! hour) → fetch → merge into the held FHIR state → map at the hour → score
//! each snapshot for the hour → roll up → write the hour in one transaction
//! → record how the run ended → retention.
//!
//! **Starting.** [`Runner::plan`] closes the runs a stopped process left and
//! says whether a back-fill is pending and where a source that replays
//! history must start; the caller builds the source ([`crate::from_config`]
//! for a FHIR server or files; the `careload` binary serves the simulated
//! hospital) and hands both to [`Runner::start`].
//!
//! **Sources.** A runner serves one source of the configuration
//! ([`careload_config::Config::sources`]): the single `[source]` (id `""`,
//! [`Runner::plan`], [`Runner::start_from_config`]) or one `[sources.<id>]`
//! ([`Runner::plan_source`], [`Runner::start_source`]). Its mapping, its
//! pseudonym key ([`PseudonymKey::for_source`]), its ward prefix (put before
//! every ward it maps, before scoring), its runs, its hours
//! ([`Store::source_hour`]), its run lock and its firings are its own; the
//! store keeps the hospital row the sum of every source's wards. Weights
//! and retention are the service's.
//!
//! **Held state.** The first run fetches everything. Later runs fetch what
//! changed: Locations, in-progress Encounters and their Patients in full
//! (they replace the held ones, so a discharged stay drops out), and the
//! clinical resources changed at or after the previous fetch's bound
//! (`_lastUpdated=ge…`: the FHIR server's own time when it answered, less
//! `source.since_margin_secs`, [`careload_ingest::FetchReport::next_since`];
//! from files or Bulk Data, the latest `meta.lastUpdated` seen or the
//! export's `transactionTime`), except for stays new since the last run, whose
//! records are read in full ([`careload_ingest::fetch_changes`]). Changes
//! are merged by type and id, the later `meta.lastUpdated` winning, and the
//! records of stays no longer in progress are dropped. At
//! `schedule.resync_hour` (local time) a full fetch replaces the state, which
//! catches resources deleted on the server. Files are read in full each run.
//!
//! **Failure.** A failed fetch or write is recorded as a failed run with its
//! message; nothing of that hour is written, the previous current hour
//! stays, and the held state is what the last good fetch left (a failed
//! fetch changes nothing). Resources that could not be used are skipped and
//! make the run `partial`. Only a store that cannot even record the run is an
//! [`Error`].
//!
//! **Logs.** An hourly run logs one `info` line when it ends ("run done"),
//! or an `error` when it fails: one line an hour is what an operator wants
//! to see in steady state. A back-fill replays tens or hundreds of hours in
//! a minute, so its per-hour lines are `debug` (a failed hour is still an
//! `error`), it runs inside a span named [`BACKFILL_SPAN`] (so that the
//! binary may hold the per-hour `info` lines of the crates beneath, such as
//! the fetch's, to `debug` as well), and it tells its progress to a
//! callback ([`Runner::backfill_with`], [`Progress`]) instead of the log:
//! how that is shown (a bar on a terminal, a line per tenth otherwise) is
//! the caller's business, not this library's.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use careload_config::{Config, SourceConfig, SourceKind};
use careload_ingest::{Mapping, MappingConfig, PseudonymKey, Resources};
use careload_scoring::quality::{self, QualityRules};
use careload_scoring::{Rollup, Score, Snapshot, Weights, Window, rollup, score};
use careload_store::{ConfiguredWard, Fence, Outcome, RunId, RunLock, RunReport, Store, hour_of};
use chrono::{DateTime, Duration, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::source::{FetchRequest, Fetched, FhirSource};

/// The weights file at `path`, or the built-in `weights/2026.1.toml`.
///
/// # Errors
/// The file cannot be read, or the weights are refused (every problem with its line).
pub fn load_weights(path: Option<&Path>) -> Result<Weights> {
    match path {
        None => Ok(Weights::built_in()?),
        Some(path) => Ok(read_weights_file(path)?.0),
    }
}

/// The weights file at `path`, validated, and its text (what an activation
/// stores): the one reader of weights files, for the service and every
/// command. Problems name the file as `path` is written.
///
/// # Errors
/// [`Error::Read`] (`what` = `weights file`) when the file cannot be read;
/// [`Error::Weights`] listing every problem with its line.
pub fn read_weights_file(path: &Path) -> Result<(Weights, String)> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        what: "weights file",
        path: path.to_owned(),
        source,
    })?;
    let weights = Weights::from_toml(&text, &path.display().to_string())?;
    Ok((weights, text))
}

/// The region's code mapping at `path`, or the built-in defaults.
///
/// # Errors
/// The file cannot be read, is not valid TOML, or does not compile.
pub fn load_mapping(path: Option<&Path>) -> Result<Mapping> {
    let Some(path) = path else {
        return Ok(MappingConfig::default().compile()?);
    };
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        what: "mapping file",
        path: path.to_owned(),
        source,
    })?;
    let invalid = |message: String| Error::Mapping {
        path: path.to_owned(),
        message,
    };
    let config: MappingConfig = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    config.compile().map_err(|e| invalid(e.to_string()))
}

/// What [`pseudonym_key`] does when the key's variable is unset: the two
/// policies differ on purpose.
pub enum WhenKeyUnset<'a> {
    /// The service: with the simulated hospital, the public development key
    /// with a logged warning; with a source of real patients (FHIR, Bulk
    /// Data, files), [`Error::DevelopmentKey`] — unless `insecure_dev_key`
    /// says this is a test system, which is logged as an error at every start.
    Service {
        /// The source kind.
        kind: SourceKind,
        /// `source.insecure_dev_key`.
        insecure_dev_key: bool,
    },
    /// A one-off command on the command line (`careload score`, `mapping
    /// suggest`): the public development key, with a warning written to
    /// `warnings` (standard error).
    Warn(&'a mut dyn std::io::Write),
}

/// The pseudonym key from the environment variable `var`; when it is unset,
/// what `when_unset` says.
///
/// # Errors
/// The variable is set but is not a usable key; it is unset and the service
/// reads real patients ([`Error::DevelopmentKey`]); the warning cannot be
/// written ([`Error::Warn`]).
pub fn pseudonym_key(var: &str, when_unset: WhenKeyUnset<'_>) -> Result<PseudonymKey> {
    let missing = match PseudonymKey::from_env(var) {
        Ok(key) => return Ok(key),
        Err(careload_ingest::Error::MissingKey(missing)) => missing,
        Err(e) => return Err(e.into()),
    };
    match when_unset {
        WhenKeyUnset::Warn(warnings) => {
            writeln!(
                warnings,
                "warning: {missing} is not set: pseudonyms use the PUBLIC development key; set {missing} to a secret for real patients"
            )
            .map_err(Error::Warn)?;
            Ok(PseudonymKey::development())
        }
        WhenKeyUnset::Service {
            kind: SourceKind::Sim, ..
        } => {
            tracing::warn!(
                variable = var,
                "pseudonym key not set: the simulated hospital's pseudonyms use the PUBLIC development key"
            );
            Ok(PseudonymKey::development())
        }
        WhenKeyUnset::Service {
            kind,
            insecure_dev_key: true,
        } => {
            tracing::error!(
                variable = var,
                source = ?kind,
                "INSECURE: pseudonyms of a real source use the PUBLIC development key (insecure_dev_key): anyone can reverse them; never use this with real patients"
            );
            Ok(PseudonymKey::development())
        }
        WhenKeyUnset::Service { kind, .. } => Err(Error::DevelopmentKey {
            var: var.to_owned(),
            kind: match kind {
                SourceKind::Sim => "sim",
                SourceKind::Fhir => "fhir",
                SourceKind::Files => "files",
                SourceKind::Bulk => "bulk",
            },
        }),
    }
}

/// The back-fill still to do at start, as (first hour to write, hour the
/// simulated hospital starts at), within the back-fill window
/// `[window_start, now_hour]`, judged by the hours the source `source_id`
/// wrote ([`Store::source_hour`]): all of it on an empty store; on a store whose
/// history began inside the window but stops before `now_hour` (a back-fill
/// or service that was stopped), the hours after the last one written, by
/// the same hospital — it starts where the stored history starts, so the
/// hours written before and after the stop are one hospital's. A store
/// with older history is not back-filled (the hospital starts now).
async fn backfill_plan(
    store: &Store,
    source_id: &str,
    now_hour: DateTime<Utc>,
    window_start: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let Some(current) = store.source_hour(source_id).await? else {
        return Ok(Some((window_start, window_start)));
    };
    let first = store.first_source_hour(source_id).await?.unwrap_or(current.hour);
    if current.hour >= now_hour || first < window_start {
        return Ok(None);
    }
    let resume = current.hour + Duration::hours(1);
    tracing::info!(
        first_stored = %first,
        last_stored = %current.hour,
        resume = %resume,
        "the back-fill stopped before the current hour: resuming it with the same simulated hospital"
    );
    Ok(Some((resume, first)))
}

/// The configured wards (`[wards.<id>]`) as the store records them
/// ([`Store::sync_wards`]): names, care categories, bed counts.
pub fn configured_wards(config: &Config) -> Vec<ConfiguredWard> {
    config
        .wards
        .iter()
        .map(|(id, w)| ConfiguredWard {
            ward: id.clone(),
            name: w.name.clone(),
            care_category: w.care_category.clone(),
            beds: w.beds,
        })
        .collect()
}

/// What [`Runner::plan`] found in the store: whether a back-fill is
/// pending, and the hour a source that replays history (the simulated
/// hospital) must start at. Made only by [`Runner::plan`], taken by
/// [`Runner::start`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartPlan {
    source_id: String,
    backfill_from: Option<DateTime<Utc>>,
    source_start: DateTime<Utc>,
}

impl StartPlan {
    /// The source the plan is for (`""`: the single `[source]`).
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// The first hour the back-fill will write, if one is pending.
    pub fn backfill_from(&self) -> Option<DateTime<Utc>> {
        self.backfill_from
    }

    /// The hour a replaying source starts at: where the stored history
    /// starts when a stopped back-fill resumes, the back-fill window's first
    /// hour on an empty store, else the current hour.
    pub fn source_start(&self) -> DateTime<Utc> {
        self.source_start
    }
}

/// What one run did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    /// The run's id in the store.
    pub run_id: RunId,
    /// The hour it was for.
    pub hour: DateTime<Utc>,
    /// How it ended.
    pub outcome: Outcome,
    /// Whether it fetched everything (first run, resync, files) or only changes.
    pub full_fetch: bool,
    /// Patients written.
    pub patients: usize,
    /// The wards written, by id.
    pub wards: Vec<String>,
    /// Counts, skips, retries and the error, as recorded.
    pub report: RunReport,
}

/// An hour fetched, mapped, scored and rolled up, ready to be written.
struct Scored {
    full: bool,
    patients: Vec<(Snapshot, Score)>,
    totals: Rollup,
}

/// What a successful fetch-to-write gives back to [`Runner::run_hour`].
struct Written {
    full: bool,
    skipped: bool,
    patients: usize,
    wards: Vec<String>,
}

/// Writes a scored hour and says what was written; `Err` is the failed
/// run's message. Free of the runner, so that a back-fill can write one
/// hour while it fetches the next.
#[allow(clippy::too_many_arguments)]
async fn write_scored(
    store: &Store,
    fence: Option<Fence>,
    source_id: &str,
    weights_version: &str,
    hour: DateTime<Utc>,
    run_id: RunId,
    scored: Scored,
    report: &mut RunReport,
) -> std::result::Result<Written, String> {
    let write_started = Instant::now();
    store
        .write_hour_fenced(
            fence,
            source_id,
            hour,
            run_id,
            weights_version,
            &scored.patients,
            &scored.totals,
        )
        .await
        .map_err(|e| match e {
            // still due: the firing is not done (`Store::firing_done`)
            careload_store::Error::LockLost => format!("{LOCK_LOST} {hour}: {e}"),
            e => format!("cannot write hour {hour}: {e}"),
        })?;
    report
        .counts
        .insert("write_ms".into(), write_started.elapsed().as_millis() as u64);
    Ok(Written {
        full: scored.full,
        skipped: report.skipped > 0,
        patients: scored.patients.len(),
        wards: scored.totals.wards.keys().cloned().collect(),
    })
}

/// Closes the source `source_id`'s runs begun before `before` and never
/// finished, as their dead process left them (its hour written or not), and
/// logs each. Another source's runs are its own lock's business.
async fn close_dead_runs(store: &Store, source_id: &str, before: DateTime<Utc>) -> Result<()> {
    for (run, written) in store.close_interrupted_runs(source_id, before).await? {
        tracing::warn!(
            run = %run,
            hour_written = written,
            "a run left unfinished by a stopped process was closed as interrupted"
        );
    }
    Ok(())
}

/// How a run that lost the run lock before its hour committed begins its
/// error: "interrupted:", as a run whose process died, so that its firing
/// stays due ([`careload_store::Store::firing_done`]).
const LOCK_LOST: &str = "interrupted: the run lock was lost before writing hour";

impl RunSummary {
    /// Whether the run failed because its replica lost the run lock before
    /// its hour committed (nothing was written; the hour is still due).
    pub fn lock_lost(&self) -> bool {
        self.outcome == Outcome::Failed && self.report.error.as_deref().is_some_and(|e| e.starts_with(LOCK_LOST))
    }
}

/// The name of the span a back-fill runs in ([`Runner::backfill`]): the
/// events logged inside it, by the runner and the crates it calls, belong
/// to one of many replayed hours.
pub const BACKFILL_SPAN: &str = "backfill";

/// How far a back-fill has come: told to [`Runner::backfill_with`]'s
/// callback once before the first hour (`done` 0) and after each hour's
/// run is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Hours whose runs are recorded (failed ones included).
    pub done: u32,
    /// Hours the back-fill runs in all.
    pub total: u32,
    /// Of `done`, the hours whose runs failed.
    pub failed: u32,
}

/// Which kind of run an hour's is, for the level of its "run done" line.
#[derive(Clone, Copy)]
enum Hourly {
    /// [`Runner::run_hour`]: one an hour, `info`.
    Run,
    /// One of [`Runner::backfill`]'s hours: `debug`.
    Backfill,
}

/// A back-filled hour being written while the next is fetched.
struct InFlight {
    hour: DateTime<Utc>,
    run_id: RunId,
    started: Instant,
    task: tokio::task::JoinHandle<(std::result::Result<Written, String>, RunReport)>,
}

impl InFlight {
    /// Waits for the write and records how the run ended.
    async fn finish(self, runner: &Runner) -> Result<RunSummary> {
        let (written, report) = match self.task.await {
            Ok(done) => done,
            Err(e) => (
                Err(format!("writing hour {} failed: {e}", self.hour)),
                RunReport::default(),
            ),
        };
        runner
            .finish_hour(self.hour, self.run_id, self.started, written, report, Hourly::Backfill)
            .await
    }
}

/// The FHIR state held between runs.
#[derive(Debug, Default)]
struct Held {
    resources: Resources,
    /// The next incremental fetch's `since`: the server's time at the last
    /// fetch less the margin (REST), else the latest `meta.lastUpdated` seen.
    since: Option<DateTime<Utc>>,
    /// The hour the held resources were last pruned for
    /// ([`Resources::prune_history`]): an earlier hour needs a full fetch.
    pruned_at: Option<DateTime<Utc>>,
}

/// The weights in force, shared between the hourly run (which switches
/// them when an activation takes effect) and the API.
pub type SharedWeights = Arc<std::sync::RwLock<Arc<Weights>>>;

/// The hourly run: a store, the weights, the mapping, the pseudonym key, a
/// source, and the FHIR state merged from run to run.
#[derive(Debug)]
pub struct Runner {
    store: Store,
    /// The source this runner serves: `""` for the single `[source]`, else
    /// its `[sources.<id>]` id. Its runs, hours, lock and firings are its own.
    source_id: String,
    /// The source's `ward_prefix`: prepended to every ward it maps.
    ward_prefix: String,
    /// The weights scoring the hour being run: an activation in force for
    /// its date, else `configured`.
    weights: Arc<Weights>,
    /// The weights of the configuration (`scoring.weights`).
    configured: Arc<Weights>,
    /// Where the weights in force are published (the API reads them).
    published: Option<SharedWeights>,
    mapping: Arc<Mapping>,
    key: PseudonymKey,
    source: Box<dyn FhirSource>,
    /// What the documentation-quality indicator counts as incomplete.
    quality: Arc<QualityRules>,
    tz: Tz,
    resync_hour: u32,
    retention_days: u32,
    held: Held,
    backfill_from: Option<DateTime<Utc>>,
}

impl Runner {
    /// A runner of the source `source_id` of `config` (`""`: the single
    /// `[source]`) over `source`, with that source's mapping, ward prefix
    /// and pseudonym key ([`PseudonymKey::for_source`]: two sources'
    /// patients never share a key), and the zone, resync hour and
    /// retention of `config`.
    ///
    /// # Errors
    /// The source is not configured, the mapping file or the pseudonym key
    /// cannot be used, or the time zone is unknown.
    pub fn new(
        config: &Config,
        source_id: &str,
        store: Store,
        weights: Arc<Weights>,
        source: Box<dyn FhirSource>,
    ) -> Result<Runner> {
        let source_config = source_config(config, source_id)?;
        // what the key and mapping log names a named source
        let _source = (!source_id.is_empty()).then(|| tracing::info_span!("source", id = source_id).entered());
        let quality = Arc::new(QualityRules {
            norton_max_age_days: config.quality.norton_max_age_days,
            generic_codes: config.quality.generic_codes.clone(),
            thin_after_hours: config.quality.thin_after_hours,
            full_items: weights.modifiers.newly_admitted.full_documentation_items,
        });
        Ok(Runner {
            store,
            source_id: source_id.to_owned(),
            ward_prefix: source_config.ward_prefix.clone(),
            configured: weights.clone(),
            weights,
            published: None,
            quality,
            mapping: Arc::new(load_mapping(source_config.mapping.as_deref())?),
            key: pseudonym_key(
                &source_config.pseudonym_key_env,
                WhenKeyUnset::Service {
                    kind: source_config.kind,
                    insecure_dev_key: source_config.insecure_dev_key,
                },
            )?
            .for_source(source_id),
            source,
            tz: config.scoring.tz()?,
            resync_hour: config.schedule.resync_hour,
            retention_days: config.retention.days,
            held: Held::default(),
            backfill_from: None,
        })
    }

    /// The first step of starting, at `now`: closes the runs a stopped
    /// process left unfinished, and plans the back-fill. When
    /// `schedule.backfill_hours` is above 0 and the source is the simulated
    /// hospital: on an empty store, the hospital starts `backfill_hours − 1`
    /// hours before the current hour and [`Runner::backfill`] will replay
    /// those hours up to the current one; a back-fill that stopped part-way
    /// resumes after its last hour, with the hospital started where the
    /// stored history starts. Otherwise nothing is back-filled and a
    /// replaying source starts at the current hour.
    ///
    /// # Errors
    /// The store cannot be read or written; `config` names its sources
    /// (`[sources.<id>]`: plan each with [`Runner::plan_source`]).
    pub async fn plan(config: &Config, store: &Store, now: DateTime<Utc>) -> Result<StartPlan> {
        Runner::plan_source(config, "", store, now).await
    }

    /// [`Runner::plan`] for the source `source_id` of `config` (an id of
    /// [`Config::sources`]): under its own run lock, its back-fill judged by
    /// the hours it wrote.
    ///
    /// # Errors
    /// The source is not configured; the store cannot be read or written.
    pub async fn plan_source(config: &Config, source_id: &str, store: &Store, now: DateTime<Utc>) -> Result<StartPlan> {
        let source_config = source_config(config, source_id)?;
        let now_hour = hour_of(now);
        // runs a dead process left running are closed as it left them, when
        // no replica is running one (on PostgreSQL the run lock says so; a
        // replica's run that is going is left to finish, and the runs of
        // the dead are closed by the next run under the lock)
        match store.try_lock_runs(source_id).await? {
            Some(lock) => {
                let closed = close_dead_runs(store, source_id, Utc::now()).await;
                lock.release().await;
                closed?;
            }
            None => tracing::info!(source_id, "another replica is running an hour; its runs are left to it"),
        }
        let hours = config.schedule.backfill_hours;
        let mut plan = StartPlan {
            source_id: source_id.to_owned(),
            backfill_from: None,
            source_start: now_hour,
        };
        if hours > 0 {
            let window_start = now_hour - Duration::hours(i64::from(hours) - 1);
            if source_config.kind != SourceKind::Sim {
                tracing::warn!(
                    source_id,
                    source = ?source_config.kind,
                    "schedule.backfill_hours is ignored: only the simulated hospital can replay past hours"
                );
            } else if let Some((from, start)) = backfill_plan(store, source_id, now_hour, window_start).await? {
                plan.backfill_from = Some(from);
                plan.source_start = start;
            }
        }
        Ok(plan)
    }

    /// The runner `config` describes over `source`, as [`Runner::plan`]
    /// planned it: with a pending back-fill, `source` must replay the hours
    /// from [`StartPlan::source_start`] (moved on by its
    /// [`FhirSource::before_hour`]), as the simulated hospital does.
    ///
    /// The weights version is recorded in the store (every hour written
    /// names it), and the configured wards are.
    ///
    /// # Errors
    /// As [`Runner::new`]; the store cannot be read, or holds this weights
    /// version with another digest.
    pub async fn start(
        config: &Config,
        store: Store,
        weights: Arc<Weights>,
        plan: StartPlan,
        source: Box<dyn FhirSource>,
    ) -> Result<Runner> {
        // every stored hour names its weights version: record it first
        if store.record_weights(&weights).await? {
            tracing::info!(version = %weights.meta.version, digest = %weights.digest, "weights version recorded");
        }
        // the wards table says what the configuration says, before any hour names a ward
        store.sync_wards(&configured_wards(config)).await?;
        let mut runner = Runner::new(config, &plan.source_id, store, weights, source)?;
        runner.backfill_from = plan.backfill_from;
        Ok(runner)
    }

    /// [`Runner::plan`] then [`Runner::start`] over the source `[source]`
    /// names ([`crate::from_config`]: a FHIR server's REST API or Bulk Data
    /// export, or files; none of them replays history, so nothing is
    /// back-filled).
    ///
    /// # Errors
    /// As [`Runner::plan`], [`crate::from_config`] (which refuses
    /// `source.kind = sim`) and [`Runner::start`].
    pub async fn start_from_config(
        config: &Config,
        store: Store,
        weights: Arc<Weights>,
        now: DateTime<Utc>,
    ) -> Result<Runner> {
        Runner::start_source(config, "", store, weights, now).await
    }

    /// [`Runner::start_from_config`] for the source `source_id` of `config`
    /// (an id of [`Config::sources`]; `""` the single `[source]`), over
    /// [`crate::from_source_config`] of its configuration.
    ///
    /// # Errors
    /// As [`Runner::start_from_config`]; the source is not configured.
    pub async fn start_source(
        config: &Config,
        source_id: &str,
        store: Store,
        weights: Arc<Weights>,
        now: DateTime<Utc>,
    ) -> Result<Runner> {
        let plan = Runner::plan_source(config, source_id, &store, now).await?;
        let source = crate::source::from_source_config(source_config(config, source_id)?)?;
        Runner::start(config, store, weights, plan, source).await
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The source this runner serves: `""` for the single `[source]`, else
    /// its `[sources.<id>]` id.
    pub fn source_id(&self) -> &str {
        &self.source_id
    }

    /// The source.
    pub fn source(&self) -> &dyn FhirSource {
        self.source.as_ref()
    }

    /// The weights in force.
    pub fn weights(&self) -> &Arc<Weights> {
        &self.weights
    }

    /// Publishes the weights in force to `cell` from now on (the API's
    /// forecasts and weights routes read it).
    pub fn publish_weights(&mut self, cell: SharedWeights) {
        if let Ok(mut w) = cell.write() {
            *w = self.weights.clone();
        }
        self.published = Some(cell);
    }

    /// Switches to the weights in force on `hour`'s local date: the latest
    /// council activation effective by then (`careload weights activate`),
    /// else the configured file. A store that cannot be read or an
    /// activation that no longer parses keeps the current weights (logged).
    async fn weights_for(&mut self, hour: DateTime<Utc>) {
        let date = hour.with_timezone(&self.tz).date_naive();
        let wanted = match self.store.activation_for(date).await {
            Ok(Some(a)) if a.version == self.weights.meta.version => return,
            Ok(Some(a)) => match Weights::from_toml(&a.weights_toml, &format!("activation {} ({})", a.id, a.version)) {
                Ok(w) => Arc::new(w),
                Err(e) => {
                    tracing::error!(version = %a.version, error = %e, "an activated weights file no longer parses; keeping {}", self.weights.meta.version);
                    return;
                }
            },
            Ok(None) if self.weights.meta.version == self.configured.meta.version => return,
            Ok(None) => self.configured.clone(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read weights activations; keeping {}", self.weights.meta.version);
                return;
            }
        };
        tracing::info!(from = %self.weights.meta.version, to = %wanted.meta.version, hour = %hour, "weights in force changed");
        let mut rules = (*self.quality).clone();
        rules.full_items = wanted.modifiers.newly_admitted.full_documentation_items;
        self.quality = Arc::new(rules);
        self.weights = wanted;
        if let Some(cell) = &self.published
            && let Ok(mut w) = cell.write()
        {
            *w = self.weights.clone();
        }
    }

    /// The first hour [`Runner::backfill`] will write, if it has work.
    pub fn backfill_from(&self) -> Option<DateTime<Utc>> {
        self.backfill_from
    }

    /// Replays the hours from [`Runner::backfill_from`] up to the hour of
    /// `through`, one [`Runner::run_hour`] each: the source's
    /// [`FhirSource::before_hour`] moves it to each hour (the simulated
    /// hospital's clock), and it is fetched as every hourly run fetches.
    /// Nothing to do (an empty list) when no back-fill is pending.
    ///
    /// The hours are pipelined: as soon as an hour's fetch is done, the
    /// source hears the next hour ([`FhirSource::after_fetch`]; the
    /// simulated hospital starts moving to it while this one is mapped and
    /// scored, and waits for that before the next fetch); an hour is written
    /// while the next one is fetched and scored, and its run is recorded
    /// before the next one begins. Every fetch still sees exactly its own
    /// hour and the hours are written in order, so the result is that of
    /// running the hours one after the other. (A back-filled run is recorded
    /// as begun when its hour is scored; its `elapsed_ms` counts from its
    /// fetch.)
    ///
    /// Each hour's "run done" line is `debug` (see the module's **Logs**);
    /// [`Runner::backfill_with`] tells the progress as well.
    ///
    /// # Errors
    /// As [`Runner::run_hour`].
    pub async fn backfill(&mut self, through: DateTime<Utc>) -> Result<Vec<RunSummary>> {
        self.backfill_with(through, &mut |_| {}).await
    }

    /// [`Runner::backfill`], telling `progress` how far it has come: once
    /// before the first hour, then after each hour's run is recorded (so the
    /// last call has `done == total`). Not called when no back-fill is
    /// pending.
    ///
    /// # Errors
    /// As [`Runner::run_hour`].
    pub async fn backfill_with(
        &mut self,
        through: DateTime<Utc>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Vec<RunSummary>> {
        let Some(from) = self.backfill_from else {
            return Ok(Vec::new());
        };
        let end = hour_of(through);
        let started = Instant::now();
        let span = tracing::info_span!(BACKFILL_SPAN, from = %from, to = %end);
        let runs = self.backfill_hours(from, end, progress).instrument(span).await?;
        tracing::info!(
            hours = runs.len(),
            from = %from,
            to = %end,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "back-fill done"
        );
        Ok(runs)
    }

    /// The back-fill's loop, from `from` through `end`.
    async fn backfill_hours(
        &mut self,
        from: DateTime<Utc>,
        end: DateTime<Utc>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Vec<RunSummary>> {
        self.backfill_from = None;
        let mut runs: Vec<RunSummary> = Vec::new();
        let total = u32::try_from((end - from).num_hours() + 1).unwrap_or(0);
        let mut tell = |runs: &[RunSummary]| {
            progress(Progress {
                done: u32::try_from(runs.len()).unwrap_or(u32::MAX),
                total,
                failed: u32::try_from(runs.iter().filter(|r| r.outcome == Outcome::Failed).count()).unwrap_or(u32::MAX),
            });
        };
        tell(&runs);
        let mut hour = from;
        // the hour being written while the next one is fetched and scored
        let mut writing: Option<InFlight> = None;
        while hour <= end {
            let next = hour + Duration::hours(1);
            self.weights_for(hour).await;
            let hour_started = Instant::now();
            let mut report = RunReport::default();
            let scored = self
                .fetch_and_score(hour, (next <= end).then_some(next), &mut report)
                .await;
            if let Some(w) = writing.take() {
                runs.push(w.finish(self).await?);
                tell(&runs);
            }
            let run_id = self
                .store
                .begin_fired_run(&self.source_id, &self.source.describe(), None)
                .await?;
            match scored {
                Ok(scored) => {
                    let (store, version) = (self.store.clone(), self.weights.meta.version.clone());
                    let source_id = self.source_id.clone();
                    let task = tokio::spawn(
                        async move {
                            let written =
                                write_scored(&store, None, &source_id, &version, hour, run_id, scored, &mut report)
                                    .await;
                            (written, report)
                        }
                        .in_current_span(),
                    );
                    writing = Some(InFlight {
                        hour,
                        run_id,
                        started: hour_started,
                        task,
                    });
                }
                Err(message) => {
                    runs.push(
                        self.finish_hour(hour, run_id, hour_started, Err(message), report, Hourly::Backfill)
                            .await?,
                    );
                    tell(&runs);
                }
            }
            hour = next;
        }
        if let Some(w) = writing.take() {
            runs.push(w.finish(self).await?);
            tell(&runs);
        }
        Ok(runs)
    }

    /// Runs one hour (see the module documentation) and returns what it did.
    /// A failed fetch or write is a [`RunSummary`] with [`Outcome::Failed`],
    /// not an error.
    ///
    /// # Errors
    /// Only when the store cannot record the run's start or end.
    pub async fn run_hour(&mut self, hour: DateTime<Utc>) -> Result<RunSummary> {
        self.run_hour_as(hour, None, None).await
    }

    /// [`Runner::run_hour`] by the holder of the hourly run's `lock`, for
    /// the scheduled firing `fired_at` (`None`: a catch-up, not a firing):
    /// the run records its firing, and the hour is written only while the
    /// lock is still held ([`Store::write_hour_fenced`]); a lock lost before
    /// the commit ends the run as failed and interrupted
    /// ([`RunSummary::lock_lost`]), so that the firing stays due.
    ///
    /// # Errors
    /// As [`Runner::run_hour`].
    pub async fn run_hour_locked(
        &mut self,
        hour: DateTime<Utc>,
        fired_at: Option<DateTime<Utc>>,
        lock: &RunLock,
    ) -> Result<RunSummary> {
        self.run_hour_as(hour, fired_at, lock.fence()).await
    }

    /// Closes the runs a dead process left open, as what each committed.
    /// Only for the holder of an exclusive run lock (on PostgreSQL no other
    /// replica is running one then).
    ///
    /// # Errors
    /// The store cannot be read or written.
    pub async fn close_dead_runs(&self) -> Result<()> {
        close_dead_runs(&self.store, &self.source_id, Utc::now()).await
    }

    async fn run_hour_as(
        &mut self,
        hour: DateTime<Utc>,
        fired_at: Option<DateTime<Utc>>,
        fence: Option<Fence>,
    ) -> Result<RunSummary> {
        let hour = hour_of(hour);
        self.weights_for(hour).await;
        let started = Instant::now();
        let run_id = self
            .store
            .begin_fired_run(&self.source_id, &self.source.describe(), fired_at)
            .await?;
        let mut report = RunReport::default();
        let written = match self.fetch_and_score(hour, None, &mut report).await {
            Ok(scored) => {
                write_scored(
                    &self.store,
                    fence,
                    &self.source_id,
                    &self.weights.meta.version,
                    hour,
                    run_id,
                    scored,
                    &mut report,
                )
                .await
            }
            Err(message) => Err(message),
        };
        self.finish_hour(hour, run_id, started, written, report, Hourly::Run)
            .await
    }

    /// Records how an hour's run ended, logs it and applies retention.
    /// The "run done" line is `info` for an hourly run and `debug` for one
    /// of a back-fill's many hours (see the module's **Logs**); a failed
    /// run is an `error` either way.
    async fn finish_hour(
        &self,
        hour: DateTime<Utc>,
        run_id: RunId,
        started: Instant,
        written: std::result::Result<Written, String>,
        mut report: RunReport,
        hourly: Hourly,
    ) -> Result<RunSummary> {
        report
            .counts
            .insert("elapsed_ms".into(), started.elapsed().as_millis() as u64);
        let (outcome, full_fetch, patients, wards) = match written {
            Ok(w) => {
                let outcome = if w.skipped { Outcome::Partial } else { Outcome::Ok };
                (outcome, w.full, w.patients, w.wards)
            }
            Err(message) => {
                report.error = Some(message);
                let full = report.counts.get("full_fetch") == Some(&1);
                (Outcome::Failed, full, 0, Vec::new())
            }
        };
        self.store.finish_run(run_id, outcome, &report).await?;
        // a named source says which it is; the single source's lines stay as they were
        let source_id = (!self.source_id.is_empty()).then_some(self.source_id.as_str());
        match outcome {
            Outcome::Failed => tracing::error!(
                run = %run_id,
                source_id,
                hour = %hour,
                error = report.error.as_deref().unwrap_or(""),
                "run failed; the previous hour stays current"
            ),
            _ => {
                macro_rules! run_done {
                    ($level:expr) => {
                        tracing::event!(
                            $level,
                            run = %run_id,
                            source_id,
                            hour = %hour,
                            outcome = outcome.as_str(),
                            full_fetch,
                            patients,
                            skipped = report.skipped,
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "run done"
                        )
                    };
                }
                match hourly {
                    Hourly::Run => run_done!(tracing::Level::INFO),
                    Hourly::Backfill => run_done!(tracing::Level::DEBUG),
                }
            }
        }
        if outcome != Outcome::Failed {
            self.retention(hour).await;
        }
        Ok(RunSummary {
            run_id,
            hour,
            outcome,
            full_fetch,
            patients,
            wards,
            report,
        })
    }

    /// Deletes history older than `retention.days` before `hour`; a failure
    /// is logged (the next run tries again).
    async fn retention(&self, hour: DateTime<Utc>) {
        if self.retention_days == 0 {
            return;
        }
        let cutoff = hour - Duration::days(i64::from(self.retention_days));
        match self.store.purge_before(cutoff).await {
            Ok(purged) if purged.patient_hours + purged.unit_hours + purged.shift_ratings > 0 => tracing::info!(
                cutoff = %cutoff,
                patient_hours = purged.patient_hours,
                unit_hours = purged.unit_hours,
                shift_ratings = purged.shift_ratings,
                "retention: old hours deleted"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention failed; the next run tries again"),
        }
    }

    /// True at the local hour of the nightly full resync.
    fn is_resync_hour(&self, hour: DateTime<Utc>) -> bool {
        hour.with_timezone(&self.tz).hour() == self.resync_hour
    }

    /// Before-hour hook, fetch, merge, map, score, roll up; during a
    /// back-fill `next` is the hour run next, told to the source as soon as
    /// this one is fetched. `Err` is the failed run's message.
    async fn fetch_and_score(
        &mut self,
        hour: DateTime<Utc>,
        next: Option<DateTime<Utc>>,
        report: &mut RunReport,
    ) -> std::result::Result<Scored, String> {
        let full = !self.source.incremental()
            || self.held.since.is_none()
            || self.held.pruned_at.is_some_and(|pruned| hour < pruned)
            || self.is_resync_hour(hour);
        self.source.before_hour(hour, report).await.map_err(|e| e.to_string())?;
        let fetch_started = Instant::now();
        report.counts.insert("full_fetch".into(), u64::from(full));
        let request = FetchRequest {
            hour,
            full,
            since: self.held.since,
            held: &self.held.resources,
        };
        let Fetched {
            resources: fresh,
            read,
            next_since,
        } = self.source.fetch(request, report).await.map_err(|e| e.to_string())?;
        if let Some(next) = next {
            // this hour is fetched: the source may prepare the next meanwhile
            self.source.after_fetch(next);
        }
        report
            .counts
            .insert("fetch_ms".into(), fetch_started.elapsed().as_millis() as u64);
        for (ty, n) in &read.read {
            report.counts.insert(ty.clone(), *n as u64);
        }
        report.skipped = read.skipped.len() as u64;
        let since = next_since.or(self.held.since.max(read.last_updated));
        if full {
            self.held.resources = fresh;
        } else {
            self.source.merge(&mut self.held.resources, fresh);
        }
        self.held.since = since;
        report.counts.insert("held".into(), self.held.resources.len() as u64);

        // mapping and scoring are CPU work: off the async threads
        let score_started = Instant::now();
        let mut resources = std::mem::take(&mut self.held.resources);
        let (mapping, key, weights) = (self.mapping.clone(), self.key.clone(), self.weights.clone());
        let rules = self.quality.clone();
        let prefix = self.ward_prefix.clone();
        // what the mapping logs belongs to this hour's run (a back-fill's span)
        let span = tracing::Span::current();
        let joined = tokio::task::spawn_blocking(move || {
            let _in_span = span.enter();
            let (mut snapshots, mapped) = careload_ingest::map(&resources, &mapping, &key, hour);
            // the source's wards apart from every other source's: scored,
            // rolled up, stored and served under the prefixed id
            prefix_wards(&mut snapshots, &prefix);
            let scored: Vec<(Snapshot, Score)> = snapshots
                .into_iter()
                .map(|s| {
                    let mut sc = score(&s, &weights, Window::hour(hour));
                    sc.quality = Some(quality::assess(&s, s.as_of, &rules));
                    (s, sc)
                })
                .collect();
            let totals: Rollup = rollup(scored.iter().map(|(s, sc)| (s, sc)));
            // what no later hour reads goes, so the held state stays a day deep
            let pruned = resources.prune_history(hour);
            (resources, scored, totals, mapped, pruned)
        })
        .await;
        let (resources, scored, totals, mapped, pruned) = match joined {
            Ok(out) => out,
            Err(e) => {
                // the held state went with the task: start again from a full fetch
                self.held = Held::default();
                return Err(format!("mapping and scoring failed: {e}"));
            }
        };
        self.held.resources = resources;
        self.held.pruned_at = Some(hour);
        report.counts.insert("pruned".into(), pruned.total() as u64);
        report
            .counts
            .insert("map_score_ms".into(), score_started.elapsed().as_millis() as u64);
        report.skipped += mapped.skipped.len() as u64;
        report.counts.insert("patients".into(), scored.len() as u64);
        report
            .counts
            .insert("incomplete".into(), mapped.incomplete.len() as u64);
        report.counts.insert(
            "stays_without_observations".into(),
            mapped.stays_without_observations as u64,
        );
        Ok(Scored {
            full,
            patients: scored,
            totals,
        })
    }
}

/// The configuration of the source `source_id` of `config`
/// ([`Config::source_by_id`]).
fn source_config<'a>(config: &'a Config, source_id: &str) -> Result<&'a SourceConfig> {
    config
        .source_by_id(source_id)
        .ok_or_else(|| Error::UnknownSource(source_id.to_owned()))
}

/// Prepends `prefix` (a source's `ward_prefix`) to every snapshot's ward.
fn prefix_wards(snapshots: &mut [Snapshot], prefix: &str) {
    if prefix.is_empty() {
        return;
    }
    for s in snapshots {
        s.placement.ward.insert_str(0, prefix);
    }
}
