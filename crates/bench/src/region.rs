//! The region benchmark (issue 29, `careload bench region`): a region of
//! [`RegionBench::hospitals`] hospitals of [`RegionBench::beds_per_hospital`]
//! beds on one database, each hospital a FHIR source of its own, their
//! hourly runs, the screens under load while the runs write, and a month of
//! the region's history exported ward × day.
//!
//! **Sources.** Hospital `i` (from 1) is its own simulated hospital (seed
//! [`RegionBench::seed`]` + i − 1`) behind its own FHIR server — in this
//! process ([`careload_sim::server::spawn`], on loopback), or `careload sim
//! serve` in another process, one per [`RegionBench::fhir_urls`] — read as
//! the named source `[sources.hNN]` (`kind = "fhir"`, `ward_prefix =
//! "hNN-"`, its own pseudonym key: the public development key made the
//! source's own, `insecure_dev_key`, as the simulated patients allow) by a
//! [`Runner`] of its own, as `careload serve` runs one per source. Its
//! wards are configured in `[hospitals.hNN]` ("Sjukhus N"), through a
//! department per specialty and hospital (`[departments.hNN-<specialty>]`;
//! with external servers, whose specialties are the simulator's to know,
//! one department per hospital) ([`configure_hospital`]); the region
//! overview sums the hospitals from their wards at read time, as the
//! service does.
//!
//! [`region_bench`]:
//!
//! 1. **full run**: every source's first run of the hour, all started at
//!    once (each a task taking its turn under its own run lock,
//!    [`careload_runner::take_turn`], as the service's schedulers do) and
//!    timed until the last ends: fetch everything, map, score, write
//!    ([`careload_store::Store::write_hour_fenced`], the source's own rows of
//!    the hour). Its wall time, each source's own time (slowest, median)
//!    and the phases summed over the sources are reported;
//! 2. **incremental run**: every server moved on an hour (at once, timed
//!    apart: the servers' work, not careload's), then every source's next
//!    run at once: the changes fetched, merged, mapped, scored, written;
//! 3. **screens while the runs write**: the API served in process as
//!    `careload serve` serves it (`careload_api::spawn_serve`, a runtime of
//!    its own; open, on loopback, no rate limit), and the open-loop load of
//!    `careload bench http` ([`crate::load`]) offered to `GET /api/v1/region`
//!    and one ward screen (`GET /wards/{id}/screen`), gzip accepted, from a
//!    runtime of its own; after the warm-up the servers move on an hour and
//!    every source's next run writes, then the load goes on for
//!    [`RegionBench::seconds`]. Latencies are reported per path for
//!    requests scheduled while the runs were going and after them (the
//!    API is told as each source's run ends, `AppState::run_finished`, as
//!    the service's scheduler tells it; the runs' threads at
//!    `schedule.run_nice` below the API's, as in the service);
//! 4. **export**: `careload bench store`'s filler (`Store::replicate_hour`)
//!    copies the full run's hour to the hours before it, so that the same
//!    wards have [`RegionBench::export_days`] whole local days of history
//!    (the copies keep no snapshot), and those days are exported ward × day
//!    as Parquet to a file, as `careload bench export` does.
//!
//! Peak RSS is the process's (`VmHWM`) and includes the in-process
//! simulated hospitals (their share, the RSS once they are built and
//! served, is reported apart) and the load generator. Figures are for
//! notes and issues, never asserted by tests.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use careload_config::{Config, DepartmentConfig, HospitalConfig, SourceConfig, SourceKind};
use careload_export::{ExportSpec, Format, Grain, export};
use careload_ingest::Resources;
use careload_runner::{
    BoxFuture, Due, FetchRequest, Fetched, FhirSource, RestSource, RunSummary, Runner, Turn, load_weights,
    rest_config_of, take_turn,
};
use careload_sim::codes::SPECIALTIES;
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer, server};
use careload_store::{Level, Outcome, RunReport, Store, hour_of};
use chrono::{DateTime, Timelike, Utc};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::ingest::proc_status_mib;
use crate::load::{Load, Sample, Until, clients, open_loop, quantile_ms};
use crate::{Error, Result};

/// What to benchmark.
#[derive(Clone, Debug)]
pub struct RegionBench {
    /// The database: a PostgreSQL URL (SQLite works too); it must hold no history.
    pub db: String,
    /// Hospitals: sources, each its own simulated hospital and FHIR server.
    /// With [`RegionBench::fhir_urls`], their number.
    pub hospitals: u32,
    /// Regular beds of each in-process hospital.
    pub beds_per_hospital: u32,
    /// The first hospital's seed; hospital `i` (from 1) has `seed + i − 1`.
    pub seed: u64,
    /// Keep-alive connections of the load.
    pub connections: u32,
    /// Requests per second offered, all connections and both paths together.
    pub rate: u32,
    /// Seconds of load before the runs under load (not counted).
    pub warmup: u32,
    /// Seconds of load measured after the runs under load.
    pub seconds: u32,
    /// Whole local days of history exported ward × day.
    pub export_days: u32,
    /// The export's file (removed afterwards).
    pub export_file: PathBuf,
    /// Now: with in-process hospitals, the runs are the two hours before its
    /// hour and its hour.
    pub now: DateTime<Utc>,
    /// FHIR servers in other processes (`careload sim serve --beds N --seed
    /// S`), one per hospital, in place of the in-process hospitals, so that
    /// the peak RSS is careload's alone: their clocks must be at one hour,
    /// the runs are at it and the two after (each moved on by `POST
    /// /sim/advance`), and a hospital's wards are read from its first run.
    /// Empty: the hospitals are served in this process.
    pub fhir_urls: Vec<String>,
}

/// A ward as the region is configured from it.
#[derive(Clone, Debug)]
pub struct RegionWard {
    /// Its id, as stored (the source's prefix included).
    pub id: String,
    /// Its specialty key (`general` when unknown).
    pub specialty: String,
    /// Its care category, when known.
    pub care_category: Option<String>,
    /// Its regular beds, when known.
    pub beds: Option<u32>,
    /// Its teams.
    pub teams: Vec<String>,
}

impl RegionWard {
    /// A simulated hospital's ward, as its source `prefix` stores it.
    pub fn of_sim(w: &careload_sim::WardStats, prefix: &str) -> RegionWard {
        RegionWard {
            id: format!("{prefix}{}", w.id),
            specialty: w.specialty.to_owned(),
            care_category: Some(w.care_category.to_owned()),
            beds: Some(w.beds),
            teams: w.teams.clone(),
        }
    }
}

/// One source's part in one hourly run of the region.
#[derive(Clone, Debug, Serialize)]
pub struct SourceRun {
    /// The source (`h01` …).
    pub source: String,
    /// `ok` or `partial` (a failed run stops the benchmark).
    pub outcome: &'static str,
    /// Whether it fetched everything.
    pub full_fetch: bool,
    /// Wards written.
    pub wards: usize,
    /// Patients written.
    pub patients: usize,
    /// HTTP requests sent.
    pub requests: u64,
    /// Resources received.
    pub resources_fetched: u64,
    /// Resources held after merging and pruning.
    pub resources_held: u64,
    /// Resources pruned after mapping.
    pub resources_pruned: u64,
    /// The fetch (requests, JSON decoding, parsing), wall time, ms.
    pub fetch_ms: u64,
    /// Of it, JSON into typed FHIR models, ms.
    pub parse_ms: u64,
    /// Merging an incremental fetch into the held state, ms.
    pub merge_ms: u64,
    /// Mapping, scoring, rolling up and pruning, ms.
    pub map_score_ms: u64,
    /// Writing the source's rows of the hour, ms.
    pub write_ms: u64,
    /// The run as the runner records it (from its start to its end), ms.
    pub run_ms: u64,
    /// The source's own time: taking its turn (the run lock) to the run's end, ms.
    pub own_ms: u64,
}

/// Phases summed over the sources of one hourly run, ms (CPU and waiting
/// of runs that overlapped: more than the wall time when they did).
#[derive(Clone, Debug, Default, Serialize)]
pub struct SummedPhases {
    /// Fetching, wall time.
    pub fetch_ms: u64,
    /// Of it, parsing.
    pub parse_ms: u64,
    /// Merging.
    pub merge_ms: u64,
    /// Mapping, scoring, rolling up, pruning.
    pub map_score_ms: u64,
    /// Writing.
    pub write_ms: u64,
    /// The runs as the runner records them.
    pub run_ms: u64,
}

/// One hourly run of the region: every source's run of the hour, started at once.
#[derive(Clone, Debug, Serialize)]
pub struct RegionRun {
    /// `full` (every source's fetch was full), `incremental` (none was) or `mixed`.
    pub kind: &'static str,
    /// The hour.
    pub hour: DateTime<Utc>,
    /// Moving every server's clock to the hour, at once, before the runs
    /// (the servers' work, not careload's; 0 for the first run), ms.
    pub advance_ms: u64,
    /// From the runs' start to the last one's end, ms: the hourly run of all sources.
    pub wall_ms: u64,
    /// The slowest source's own time, ms.
    pub slowest_ms: u64,
    /// Which source that was.
    pub slowest_source: String,
    /// The median of the sources' own times, ms.
    pub median_ms: u64,
    /// Requests, summed over the sources.
    pub requests: u64,
    /// Resources received, summed.
    pub resources_fetched: u64,
    /// Resources held after the run, summed.
    pub resources_held: u64,
    /// Resources pruned, summed.
    pub resources_pruned: u64,
    /// Patients written, summed.
    pub patients: usize,
    /// Phases summed over the sources.
    pub phases: SummedPhases,
    /// Peak RSS of the process so far, MiB (`VmHWM`).
    pub peak_rss_mib: Option<f64>,
    /// RSS after the run, MiB (`VmRSS`).
    pub rss_mib: Option<f64>,
    /// Each source's part, in source order.
    pub sources: Vec<SourceRun>,
}

/// A source as the store has it at the end (before the export's copies).
#[derive(Clone, Debug, Serialize)]
pub struct SourceSeen {
    /// Its id (`h01` …), also its hospital's.
    pub id: String,
    /// Its ward prefix.
    pub ward_prefix: String,
    /// Its FHIR server's base URL.
    pub url: String,
    /// Its simulated hospital's seed.
    pub seed: u64,
    /// Its regular beds.
    pub beds: u32,
    /// Resources its server held at the start.
    pub server_resources: Option<usize>,
    /// The wards the store says it wrote (`wards.source_id`).
    pub wards: Vec<String>,
    /// Its own hour ([`Store::source_hour`]).
    pub hour: Option<DateTime<Utc>>,
}

/// Latency of one path in one window.
#[derive(Clone, Debug, Serialize)]
pub struct PathLatency {
    /// The path.
    pub path: String,
    /// `during run` or `after run`.
    pub window: &'static str,
    /// Requests scheduled in the window.
    pub requests: usize,
    /// Of those, answered 200 with the whole body.
    pub ok: usize,
    /// Answered with another status.
    pub non_2xx: usize,
    /// Not answered, or the body cut short.
    pub errors: usize,
    /// The window's length, s.
    pub seconds: f64,
    /// Median latency from schedule, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// 99th percentile of the part before the request was sent (the load
    /// generator's own delay: [`Sample::send_delay`]), ms.
    pub send_p99_ms: f64,
}

/// What the region overview (`careload_app::query::region`, the view of
/// `GET /api/v1/region`) shows after the run under load.
#[derive(Clone, Debug, Serialize)]
pub struct RegionSeen {
    /// Hospitals in it.
    pub hospitals: usize,
    /// Wards summed in the region.
    pub wards: usize,
    /// Patients in the region's sums.
    pub patients: u32,
    /// Wards of no hospital.
    pub wards_without_hospital: usize,
}

/// The export's figures.
#[derive(Clone, Debug, Serialize)]
pub struct ExportFigures {
    /// Hours copied before the full run's hour (`Store::replicate_hour`).
    pub replicated_hours: u32,
    /// Patient rows copied.
    pub replicated_rows: u64,
    /// Copying them, ms.
    pub replicate_ms: u64,
    /// First local date exported.
    pub from: chrono::NaiveDate,
    /// Last local date exported.
    pub to: chrono::NaiveDate,
    /// Days exported.
    pub days: u32,
    /// Wards with rows at the copied hour.
    pub wards: usize,
    /// Rows written (ward × day).
    pub rows: u64,
    /// Unit-hours read.
    pub unit_hours_read: u64,
    /// The export, ms (the store's reads, the aggregation and the file).
    pub export_ms: u64,
    /// The file's size, bytes.
    pub file_bytes: u64,
}

/// One figure against the target.
#[derive(Clone, Debug, Serialize)]
pub struct TargetCheck {
    /// What is measured.
    pub figure: String,
    /// The target, as the issue says it.
    pub target: String,
    /// The measured value, in the target's unit.
    pub measured: f64,
    /// The target's limit, same unit.
    pub limit: f64,
    /// Measured below the limit.
    pub met: bool,
}

/// The benchmark's figures.
#[derive(Clone, Debug, Serialize)]
pub struct RegionReport {
    /// Built with debug assertions: figures of a debug build are not the targets'.
    pub debug_build: bool,
    /// The store's backend (`sqlite` or `postgres`).
    pub backend: &'static str,
    /// Hospitals, each a source of its own.
    pub hospitals: u32,
    /// Beds per hospital (all beds ÷ hospitals, rounded down).
    pub beds_per_hospital: u32,
    /// All beds.
    pub beds: u32,
    /// Wards configured, all hospitals together.
    pub wards: usize,
    /// The simulated hospitals are served by other processes (their RSS is not in the peaks).
    pub external_servers: bool,
    /// How many nice steps the runs' threads run below the thread that
    /// serves the API and the load's (measured: a task's priority less the
    /// caller's; `schedule.run_nice` in the service, `--run-nice` here).
    pub runs_nice: i32,
    /// Departments configured.
    pub departments: usize,
    /// The first hospital's seed.
    pub seed: u64,
    /// Resources the servers hold at the start, all together.
    pub server_resources: Option<usize>,
    /// Building the hospitals and starting their servers (or reading the
    /// external servers' status), ms.
    pub sim_start_ms: u64,
    /// RSS once the hospitals are built and served, MiB (the simulators' share in process).
    pub rss_after_sim_mib: Option<f64>,
    /// The sources, as the store has them after the run under load.
    pub sources: Vec<SourceSeen>,
    /// The full run of all sources.
    pub full: RegionRun,
    /// The incremental run of all sources, alone.
    pub incremental: RegionRun,
    /// The incremental run of all sources under the screens' load.
    pub under_load: RegionRun,
    /// The load: keep-alive connections.
    pub connections: u32,
    /// Requests per second offered.
    pub rate: u32,
    /// Per path and window.
    pub http: Vec<PathLatency>,
    /// The region overview after the run under load.
    pub region: RegionSeen,
    /// The export.
    pub export: ExportFigures,
    /// Peak RSS of the whole process, MiB (`VmHWM`).
    pub peak_rss_mib: Option<f64>,
    /// The targets.
    pub targets: Vec<TargetCheck>,
}

/// The paths loaded, the ward screen's ward filled in.
pub fn paths(ward: &str) -> [String; 2] {
    ["/api/v1/region".to_owned(), format!("/wards/{ward}/screen")]
}

/// The id of hospital `number` (from 1), also its source's: `h01` ….
pub fn hospital_id(number: u32) -> String {
    format!("h{number:02}")
}

/// Configures hospital `number` (`hNN`, "Sjukhus N") with `wards`, a
/// department per specialty and hospital (`hNN-surgery`, "Verksamhet
/// Kirurgi, Sjukhus N"), and each ward (name, department, and what is known
/// of care category, beds and teams). Returns the departments configured
/// in all.
pub fn configure_hospital(config: &mut Config, number: u32, wards: &[RegionWard]) -> usize {
    let hospital = hospital_id(number);
    config
        .hospitals
        .entry(hospital.clone())
        .or_insert_with(|| HospitalConfig {
            name: Some(format!("Sjukhus {number}")),
        });
    for (i, w) in wards.iter().enumerate() {
        let specialty = SPECIALTIES
            .iter()
            .find(|s| s.key == w.specialty)
            .map_or("allmän", |s| s.swedish);
        let department = format!("{hospital}-{}", w.specialty);
        config
            .departments
            .entry(department.clone())
            .or_insert_with(|| DepartmentConfig {
                name: Some(format!("Verksamhet {specialty}, Sjukhus {number}")),
                hospital: Some(hospital.clone()),
            });
        let ward = config.wards.entry(w.id.clone()).or_default();
        ward.name = Some(format!("Avd {} {specialty}, Sjukhus {number}", i + 1));
        ward.department = Some(department);
        ward.care_category.clone_from(&w.care_category);
        ward.beds = w.beds;
        for team in &w.teams {
            ward.teams
                .entry(team.clone())
                .or_insert_with(|| format!("Vårdlag {team}"));
        }
    }
    config.departments.len()
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn task_failed(e: impl std::fmt::Display) -> Error {
    Error::Task(e.to_string())
}

/// What reads the pseudonym key of every source: unset, so that each
/// source's key is the development key made its own
/// ([`careload_ingest::PseudonymKey::for_source`]), as `insecure_dev_key`
/// allows.
const KEY_ENV: &str = "CARELOAD_BENCH_REGION_PSEUDONYM_KEY";

/// One hospital's simulated FHIR server.
struct Server {
    /// Its hospital's and source's id.
    id: String,
    base_url: String,
    beds: u32,
    seed: u64,
    resources: Option<usize>,
    serving: Serving,
}

enum Serving {
    /// In this process; dropping it stops the server.
    InProcess { sim: SharedSim, _served: server::Spawned },
    /// `careload sim serve` in another process.
    External { http: reqwest::Client },
}

impl Server {
    /// Builds hospital `number`'s simulated hospital from `start` and serves it on loopback.
    async fn in_process(number: u32, beds: u32, seed: u64, start: DateTime<Utc>) -> Result<Server> {
        let hospital = tokio::task::spawn_blocking(move || {
            Hospital::new(SimConfig {
                beds,
                ..SimConfig::new(seed, start)
            })
        })
        .await
        .map_err(task_failed)??;
        let listen = "127.0.0.1:0";
        let refused = |source| Error::Listen {
            listen: listen.to_owned(),
            source,
        };
        let listener = TcpListener::bind(listen).await.map_err(refused)?;
        let sim = SimServer::new(hospital);
        let served = server::spawn(listener, sim.clone()).map_err(refused)?;
        Ok(Server {
            id: hospital_id(number),
            base_url: served.base_url(),
            beds,
            seed,
            resources: Some(sim.resource_count()),
            serving: Serving::InProcess { sim, _served: served },
        })
    }

    /// Hospital `number` served at `url` by another process, and its clock.
    async fn external(number: u32, url: &str) -> Result<(Server, DateTime<Utc>)> {
        let status = server_status(url).await?;
        let server = Server {
            id: hospital_id(number),
            base_url: url.to_owned(),
            beds: status.beds,
            seed: status.seed,
            resources: Some(status.resources),
            serving: Serving::External {
                http: reqwest::Client::new(),
            },
        };
        Ok((server, status.now))
    }

    /// Moves the hospital to `hour`: in process, or `POST <origin>/sim/advance?hours=1`.
    fn advance(&self, hour: DateTime<Utc>) -> BoxFuture<'static, Result<()>> {
        match &self.serving {
            Serving::InProcess { sim, .. } => {
                let sim = sim.clone();
                Box::pin(async move {
                    tokio::task::spawn_blocking(move || sim.advance_to(hour))
                        .await
                        .map_err(task_failed)?;
                    Ok(())
                })
            }
            Serving::External { http } => {
                let (http, base) = (http.clone(), self.base_url.clone());
                Box::pin(async move {
                    let url = format!(
                        "{}/sim/advance?hours=1",
                        base.trim_end_matches('/').trim_end_matches("/fhir")
                    );
                    let refused = |reason: String| {
                        Error::Task(format!(
                            "cannot move the server at {base} on an hour ({reason}); incremental runs need `careload sim serve`"
                        ))
                    };
                    let response = http.post(&url).send().await.map_err(|e| refused(e.to_string()))?;
                    if !response.status().is_success() {
                        return Err(refused(format!("{url} answered {}", response.status())));
                    }
                    Ok(())
                })
            }
        }
    }

    /// Its source, `[sources.<id>]`.
    fn source_config(&self) -> SourceConfig {
        SourceConfig {
            kind: SourceKind::Fhir,
            url: self.base_url.clone(),
            ward_prefix: format!("{}-", self.id),
            pseudonym_key_env: KEY_ENV.into(),
            insecure_dev_key: true,
            ..SourceConfig::default()
        }
    }
}

/// Moves every server to `hour` at once; returns the time until the last is there, ms.
async fn advance_all(servers: &[Server], hour: DateTime<Utc>) -> Result<u64> {
    let t = Instant::now();
    let moving: Vec<_> = servers.iter().map(|s| tokio::spawn(s.advance(hour))).collect();
    for m in moving {
        m.await.map_err(task_failed)??;
    }
    Ok(ms(t.elapsed()))
}

/// The runner's REST source, the parse time and the merge timed as well
/// (what `RestSource` does, its counts and the `parse_ms` and `fetched`
/// counts besides).
#[derive(Debug)]
struct TimedRest {
    rest: RestSource,
    /// The merges of the run going, ms (reset before each run).
    merge_ms: Arc<AtomicU64>,
}

impl FhirSource for TimedRest {
    fn kind(&self) -> &'static str {
        "fhir"
    }

    fn describe(&self) -> String {
        self.rest.config.base_url.clone()
    }

    fn fetch<'a>(
        &'a self,
        request: FetchRequest<'a>,
        report: &'a mut RunReport,
    ) -> BoxFuture<'a, careload_runner::Result<Fetched>> {
        Box::pin(async move {
            let (client, config) = (&self.rest.client, &self.rest.config);
            let (resources, fetched) = match (request.full, request.since) {
                (false, Some(since)) => careload_ingest::fetch_changes(client, config, since, request.held).await?,
                _ => careload_ingest::fetch(client, config, None).await?,
            };
            report.retries = fetched.retries;
            report.counts.insert("requests".into(), fetched.requests);
            report.counts.insert("pages".into(), fetched.pages);
            report.counts.insert("parse_ms".into(), ms(fetched.parse));
            report.counts.insert("fetched".into(), resources.len() as u64);
            let next_since = fetched.next_since(request.since, config.since_margin);
            Ok(Fetched {
                resources,
                read: fetched.read,
                next_since,
            })
        })
    }

    fn merge(&self, held: &mut Resources, changes: Resources) {
        let t = Instant::now();
        careload_ingest::apply_changes(held, changes);
        self.merge_ms.fetch_add(ms(t.elapsed()), Ordering::Relaxed);
    }
}

/// A source's runner and its merge clock.
struct Source {
    id: String,
    runner: Runner,
    merge_ms: Arc<AtomicU64>,
}

impl SourceRun {
    fn of(id: &str, run: &RunSummary, own: Duration, merge_ms: u64) -> SourceRun {
        let count = |k: &str| run.report.counts.get(k).copied().unwrap_or_default();
        SourceRun {
            source: id.to_owned(),
            outcome: run.outcome.as_str(),
            full_fetch: run.full_fetch,
            wards: run.wards.len(),
            patients: run.patients,
            requests: count("requests"),
            resources_fetched: count("fetched"),
            resources_held: count("held"),
            resources_pruned: count("pruned"),
            fetch_ms: count("fetch_ms"),
            parse_ms: count("parse_ms"),
            merge_ms,
            map_score_ms: count("map_score_ms"),
            write_ms: count("write_ms"),
            run_ms: count("elapsed_ms"),
            own_ms: ms(own),
        }
    }
}

/// Every source's run of `hour`, started at once, each taking its turn as
/// the service's scheduler does; the runners are given back in order.
async fn run_all(
    sources: Vec<Source>,
    hour: DateTime<Utc>,
    advance_ms: u64,
    api: Option<&careload_api::AppState>,
) -> Result<(Vec<Source>, RegionRun)> {
    let deadline = Utc::now() + chrono::Duration::hours(1);
    let started = Instant::now();
    let running: Vec<_> = sources
        .into_iter()
        .map(|mut s| {
            let api = api.cloned();
            tokio::spawn(async move {
                s.merge_ms.store(0, Ordering::Relaxed);
                let t = Instant::now();
                let turn = take_turn(&mut s.runner, Due::Hour(hour), deadline).await;
                let own = t.elapsed();
                // as the service's scheduler does after each run
                if let Some(api) = api {
                    api.run_finished();
                }
                (s, turn, own)
            })
        })
        .collect();
    let mut back = Vec::new();
    let mut runs = Vec::new();
    let mut failed = None;
    for r in running {
        let (s, turn, own) = r.await.map_err(task_failed)?;
        match turn {
            Ok(Turn::Ran(run)) if run.outcome != Outcome::Failed => {
                runs.push(SourceRun::of(&s.id, &run, own, s.merge_ms.load(Ordering::Relaxed)));
            }
            Ok(Turn::Ran(run)) => {
                failed.get_or_insert(format!(
                    "source {}'s run of {hour} failed: {}",
                    s.id,
                    run.report.error.unwrap_or_default()
                ));
            }
            Ok(other) => {
                failed.get_or_insert(format!("source {} did not run {hour}: {other:?}", s.id));
            }
            Err(e) => {
                failed.get_or_insert(format!("source {}: {e}", s.id));
            }
        }
        back.push(s);
    }
    let wall_ms = ms(started.elapsed());
    if let Some(failed) = failed {
        return Err(Error::Task(failed));
    }
    let mut own: Vec<u64> = runs.iter().map(|r| r.own_ms).collect();
    own.sort_unstable();
    let median_ms = match own.len() {
        0 => 0,
        n if n % 2 == 1 => own[n / 2],
        n => (own[n / 2 - 1] + own[n / 2]) / 2,
    };
    let slowest = runs.iter().max_by_key(|r| r.own_ms);
    let mut phases = SummedPhases::default();
    for r in &runs {
        phases.fetch_ms += r.fetch_ms;
        phases.parse_ms += r.parse_ms;
        phases.merge_ms += r.merge_ms;
        phases.map_score_ms += r.map_score_ms;
        phases.write_ms += r.write_ms;
        phases.run_ms += r.run_ms;
    }
    let kind = if runs.iter().all(|r| r.full_fetch) {
        "full"
    } else if runs.iter().all(|r| !r.full_fetch) {
        "incremental"
    } else {
        "mixed"
    };
    let run = RegionRun {
        kind,
        hour,
        advance_ms,
        wall_ms,
        slowest_ms: slowest.map_or(0, |r| r.own_ms),
        slowest_source: slowest.map(|r| r.source.clone()).unwrap_or_default(),
        median_ms,
        requests: runs.iter().map(|r| r.requests).sum(),
        resources_fetched: runs.iter().map(|r| r.resources_fetched).sum(),
        resources_held: runs.iter().map(|r| r.resources_held).sum(),
        resources_pruned: runs.iter().map(|r| r.resources_pruned).sum(),
        patients: runs.iter().map(|r| r.patients).sum(),
        phases,
        peak_rss_mib: proc_status_mib("VmHWM"),
        rss_mib: proc_status_mib("VmRSS"),
        sources: runs,
    };
    tracing::info!(hour = %hour, kind, wall_ms, patients = run.patients, "region run done");
    Ok((back, run))
}

/// The region's configuration: the API open on loopback, unlimited, for
/// the load; a named source per server; the nightly resync at none of the
/// benchmark's three hours (an incremental run must stay one).
fn region_config(bench: &RegionBench, servers: &[Server], start: DateTime<Utc>) -> Result<Config> {
    let mut config = Config::default();
    config.database.url = bench.db.clone();
    config.api.open = true;
    config.api.listen = "127.0.0.1:0".into();
    config.api.rate_limit_per_minute = 0;
    config.api.max_connections = config.api.max_connections.max(bench.connections as usize + 100);
    let tz = config.scoring.tz().map_err(|e| Error::Config(e.to_string()))?;
    config.schedule.resync_hour = (start + chrono::Duration::hours(3)).with_timezone(&tz).hour();
    for s in servers {
        config.sources.insert(s.id.clone(), s.source_config());
    }
    Ok(config)
}

/// The wards the store says source `id` wrote, sorted.
async fn source_wards(store: &Store, id: &str) -> Result<Vec<String>> {
    Ok(store
        .wards()
        .await?
        .into_iter()
        .filter(|w| w.source_id.as_deref() == Some(id))
        .map(|w| w.ward)
        .collect())
}

/// Runs the benchmark (see the module documentation).
///
/// # Errors
/// The database holds history or cannot be opened, a hospital cannot be
/// built or served (or an external server read, or their clocks differ),
/// a run fails, the API, the load or the export fails.
pub async fn region_bench(bench: &RegionBench) -> Result<RegionReport> {
    let external = !bench.fhir_urls.is_empty();
    let hospitals = if external {
        u32::try_from(bench.fhir_urls.len()).unwrap_or(u32::MAX)
    } else {
        bench.hospitals.max(1)
    };
    if external && bench.hospitals != hospitals {
        return Err(Error::Config(format!(
            "{} hospitals asked for, {} FHIR servers given: give one server per hospital",
            bench.hospitals, hospitals
        )));
    }
    // the runs are spawned on the caller's runtime; the API's and the load's
    // runtimes are built from this (the caller's) thread
    let runs_nice = tokio::spawn(async { careload_runner::priority::this_thread_nice() })
        .await
        .map_err(task_failed)?
        - careload_runner::priority::this_thread_nice();
    let store = Store::connect(&bench.db).await?;
    if store.current_hour().await?.is_some() {
        return Err(Error::NotEmpty(careload_config::redacted_url(&bench.db)));
    }

    // the hospitals' servers; in process: from the two hours before now's, else at their clocks' hour
    let sim_started = Instant::now();
    let mut servers = Vec::new();
    let start = if external {
        let mut clocks = Vec::new();
        for (i, url) in (1..).zip(&bench.fhir_urls) {
            let (server, now) = Server::external(i, url).await?;
            clocks.push((hour_of(now), url));
            servers.push(server);
        }
        let (start, _) = clocks[0];
        if let Some((other, url)) = clocks.iter().find(|(h, _)| *h != start) {
            return Err(Error::Config(format!(
                "the servers' clocks are at different hours ({start} at {}, {other} at {url}); \
                 start every `careload sim serve` with the same --start",
                bench.fhir_urls[0]
            )));
        }
        start
    } else {
        let start = hour_of(bench.now) - chrono::Duration::hours(2);
        for i in 1..=hospitals {
            let seed = bench.seed + u64::from(i - 1);
            servers.push(Server::in_process(i, bench.beds_per_hospital, seed, start).await?);
        }
        start
    };
    let sim_start_ms = ms(sim_started.elapsed());
    let rss_after_sim_mib = proc_status_mib("VmRSS");
    let beds: u32 = servers.iter().map(|s| s.beds).sum();
    let server_resources = servers.iter().map(|s| s.resources).sum::<Option<usize>>();
    tracing::info!(hospitals, beds, start = %start, sim_start_ms, "simulated hospitals served");

    // the sources, and the in-process hospitals' wards configured before the runs start
    let mut config = region_config(bench, &servers, start)?;
    let mut departments = 0;
    for (i, s) in (1..).zip(&servers) {
        if let Serving::InProcess { sim, .. } = &s.serving {
            let prefix = format!("{}-", s.id);
            let wards: Vec<RegionWard> = sim
                .read(|h| h.stats().wards)
                .iter()
                .map(|w| RegionWard::of_sim(w, &prefix))
                .collect();
            departments = configure_hospital(&mut config, i, &wards);
        }
    }
    config.validate().map_err(|e| Error::Config(e.to_string()))?;
    let weights = Arc::new(load_weights(None)?);
    let mut sources = Vec::new();
    for s in &servers {
        let merge_ms = Arc::new(AtomicU64::new(0));
        let source = TimedRest {
            rest: RestSource::new(rest_config_of(&s.source_config()))?,
            merge_ms: merge_ms.clone(),
        };
        let plan = Runner::plan_source(&config, &s.id, &store, bench.now).await?;
        let runner = Runner::start(&config, store.clone(), weights.clone(), plan, Box::new(source)).await?;
        sources.push(Source {
            id: s.id.clone(),
            runner,
            merge_ms,
        });
    }

    // 1. and 2.
    let (sources, full) = run_all(sources, start, 0, None).await?;
    let hour = start + chrono::Duration::hours(1);
    let advance_ms = advance_all(&servers, hour).await?;
    let (sources, incremental) = run_all(sources, hour, advance_ms, None).await?;

    // external servers: each hospital's wards are those its source wrote
    if external {
        for (i, s) in (1..).zip(&servers) {
            let mut wards = Vec::new();
            for ward in source_wards(&store, &s.id).await? {
                let teams = store.teams(&ward, start).await?.into_iter().map(|t| t.team).collect();
                wards.push(RegionWard {
                    id: ward,
                    specialty: "general".into(),
                    care_category: None,
                    beds: None,
                    teams,
                });
            }
            departments = configure_hospital(&mut config, i, &wards);
        }
        config.validate().map_err(|e| Error::Config(e.to_string()))?;
        store.sync_wards(&careload_runner::configured_wards(&config)).await?;
    }
    let config = Arc::new(config);
    let wards = config.wards.len();
    tracing::info!(beds, wards, hospitals, "region configured");

    // 3. the screens while every source's next run writes
    let state = careload_api::AppState::try_new(store.clone(), config.clone(), weights.clone())?;
    let listener = tokio::net::TcpListener::bind(&config.api.listen)
        .await
        .map_err(|source| Error::Listen {
            listen: config.api.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        listen: config.api.listen.clone(),
        source,
    })?;
    let (stop_api, api_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut serving = careload_api::spawn_serve(
        listener,
        state.clone(),
        async move {
            let _ = api_stopped.await;
        },
        config.api.worker_threads,
        careload_runner::priority::latency_first,
    )?;
    // the first hospital's first ward
    let ward = config
        .wards
        .keys()
        .next()
        .cloned()
        .ok_or_else(|| Error::Task("the simulated hospitals have no ward".into()))?;
    let paths = paths(&ward);
    let load = Load {
        urls: paths.iter().map(|p| format!("http://{addr}{p}")).collect(),
        connections: bench.connections,
        rate: bench.rate,
        token: None,
        gzip: true,
    };
    let until = Until::default();
    // every client is built before the clock starts
    let clients = clients(&load)?;
    let load_start = Instant::now() + Duration::from_millis(200);
    let generator = {
        let (load, until) = (load.clone(), until.clone());
        std::thread::Builder::new()
            .name("careload-load".into())
            .spawn(move || -> Result<Vec<Sample>> {
                // it stands in for screens on other machines: its threads
                // wait for a core no longer than the API's
                careload_runner::priority::latency_first();
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .on_thread_start(careload_runner::priority::latency_first)
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Task(format!("cannot start the load's runtime: {e}")))?;
                runtime.block_on(open_loop(&load, clients, load_start, &until))
            })
            .map_err(|e| Error::Task(format!("cannot start the load's thread: {e}")))?
    };
    tokio::time::sleep_until((load_start + Duration::from_secs(u64::from(bench.warmup))).into()).await;
    let run_from = Instant::now();
    let hour = start + chrono::Duration::hours(2);
    let under_load = match advance_all(&servers, hour).await {
        Ok(advance_ms) => run_all(sources, hour, advance_ms, Some(&state)).await,
        Err(e) => Err(e),
    };
    let run_to = Instant::now();
    tokio::time::sleep(Duration::from_secs(u64::from(bench.seconds))).await;
    let after_to = Instant::now();
    until.stop.store(true, Ordering::Relaxed);
    let samples = tokio::task::spawn_blocking(move || generator.join())
        .await
        .map_err(task_failed)?
        .map_err(|_| Error::Task("the load's thread panicked".into()))?;
    let (sources, under_load) = under_load?;
    // what the region overview shows once the runs are written
    let overview = careload_app::query::region(&state.app, Utc::now()).await?;
    let region = RegionSeen {
        hospitals: overview.hospitals.len(),
        wards: overview.region.wards.len(),
        patients: overview.region.totals.patients,
        wards_without_hospital: overview.without_hospital.map_or(0, |w| w.wards.len()),
    };
    let samples = samples?;
    let mut http = Vec::new();
    for (window, from, to) in [("during run", run_from, run_to), ("after run", run_to, after_to)] {
        for (i, path) in paths.iter().enumerate() {
            let picked: Vec<&Sample> = samples
                .iter()
                .filter(|s| s.url == i && s.due >= from && s.due < to)
                .collect();
            http.push(latency(path, window, (to - from).as_secs_f64(), &picked));
        }
    }
    drop(sources);

    // each source as the store has it
    let mut seen = Vec::new();
    for s in &servers {
        seen.push(SourceSeen {
            id: s.id.clone(),
            ward_prefix: format!("{}-", s.id),
            url: s.base_url.clone(),
            seed: s.seed,
            beds: s.beds,
            server_resources: s.resources,
            wards: source_wards(&store, &s.id).await?,
            hour: store.source_hour(&s.id).await?.map(|h| h.hour),
        });
    }
    drop(servers);

    // 4. a month of the same wards' history, exported ward × day
    let export = export_history(bench, &store, &config, &weights, start).await?;
    let peak_rss_mib = proc_status_mib("VmHWM");
    let backend = store.backend();
    // the store (one pool, shared with the API as in the service) is closed
    // while the API's runtime still drives the connections it opened
    store.close().await;
    let _ = stop_api.send(());
    serving.finished().await?;

    let mut report = RegionReport {
        debug_build: cfg!(debug_assertions),
        backend,
        hospitals,
        beds_per_hospital: beds / hospitals.max(1),
        beds,
        wards,
        external_servers: external,
        runs_nice,
        departments,
        seed: seen.first().map_or(bench.seed, |s| s.seed),
        server_resources,
        sim_start_ms,
        rss_after_sim_mib,
        sources: seen,
        full,
        incremental,
        under_load,
        connections: bench.connections,
        rate: bench.rate,
        http,
        region,
        export,
        peak_rss_mib,
        targets: Vec::new(),
    };
    report.targets = targets(&report);
    Ok(report)
}

/// What `GET /sim/status` of `careload sim serve` says.
#[derive(serde::Deserialize)]
struct SimStatus {
    now: DateTime<Utc>,
    beds: u32,
    seed: u64,
    resources: usize,
}

/// The clock, beds and resources of the simulator serving `fhir_url`.
async fn server_status(fhir_url: &str) -> Result<SimStatus> {
    let url = format!(
        "{}/sim/status",
        fhir_url.trim_end_matches('/').trim_end_matches("/fhir")
    );
    let refused = |reason: String| {
        Error::Task(format!(
            "cannot read {url} ({reason}); the region benchmark reads other processes' `careload sim serve`, one per hospital"
        ))
    };
    let response = reqwest::get(&url).await.map_err(|e| refused(e.to_string()))?;
    if !response.status().is_success() {
        return Err(refused(format!("answered {}", response.status())));
    }
    response.json().await.map_err(|e| refused(e.to_string()))
}

/// The figures of one path in one window.
fn latency(path: &str, window: &'static str, seconds: f64, picked: &[&Sample]) -> PathLatency {
    let mut l: Vec<Duration> = picked.iter().filter_map(|s| s.latency).collect();
    l.sort();
    let mut sent: Vec<Duration> = picked.iter().map(|s| s.send_delay).collect();
    sent.sort();
    let ok = picked.iter().filter(|s| s.ok()).count();
    let errors = picked.iter().filter(|s| s.latency.is_none() || s.body_error).count();
    PathLatency {
        path: path.to_owned(),
        window,
        requests: picked.len(),
        ok,
        non_2xx: picked
            .iter()
            .filter(|s| s.latency.is_some() && !(200..300).contains(&s.status))
            .count(),
        errors,
        seconds,
        p50_ms: quantile_ms(&l, 0.5),
        p99_ms: quantile_ms(&l, 0.99),
        max_ms: quantile_ms(&l, 1.0),
        send_p99_ms: quantile_ms(&sent, 0.99),
    }
}

/// Copies the full run's hour over `export_days` whole local days (and a
/// day either side) and exports those days ward × day.
async fn export_history(
    bench: &RegionBench,
    store: &Store,
    config: &Arc<Config>,
    weights: &Arc<careload_scoring::Weights>,
    template: DateTime<Utc>,
) -> Result<ExportFigures> {
    let days = bench.export_days.max(1);
    let hours = (days + 2) * 24;
    let t = Instant::now();
    let replicated_rows = store.replicate_hour(template, hours, 0).await?;
    let replicate_ms = ms(t.elapsed());
    let wards = store.unit_hours_at(Level::Ward, &[template]).await?.len();

    let app = careload_app::App::try_new(store.clone(), config.clone(), weights.clone())?;
    let ctx = app.export_context(weights)?;
    let to = template.with_timezone(&ctx.tz).date_naive() - chrono::Duration::days(1);
    let from = to - chrono::Duration::days(i64::from(days) - 1);
    let spec = ExportSpec::new(from, to, Level::Ward, Grain::Day);
    let file = std::fs::File::create(&bench.export_file)
        .map_err(|e| Error::Task(format!("cannot create {}: {e}", bench.export_file.display())))?;
    let t = Instant::now();
    let summary = export(store, &ctx, &spec, Format::Parquet, std::io::BufWriter::new(file)).await?;
    let export_ms = ms(t.elapsed());
    let file_bytes = std::fs::metadata(&bench.export_file).map_or(0, |m| m.len());
    let _ = std::fs::remove_file(&bench.export_file);
    Ok(ExportFigures {
        replicated_hours: hours,
        replicated_rows,
        replicate_ms,
        from,
        to,
        days,
        wards,
        rows: summary.rows,
        unit_hours_read: summary.unit_hours_read,
        export_ms,
        file_bytes,
    })
}

/// The targets against the report's figures.
fn targets(r: &RegionReport) -> Vec<TargetCheck> {
    let mut t = Vec::new();
    let mut check = |figure: String, target: &str, measured: f64, limit: f64| {
        t.push(TargetCheck {
            figure,
            target: target.to_owned(),
            measured,
            limit,
            met: measured < limit,
        });
    };
    check(
        format!("full hourly run of all {} sources, s", r.full.sources.len()),
        "< 60 s",
        r.full.wall_ms as f64 / 1e3,
        60.0,
    );
    check(
        format!(
            "incremental hourly run of all {} sources, s",
            r.incremental.sources.len()
        ),
        "< 15 s",
        r.incremental.wall_ms as f64 / 1e3,
        15.0,
    );
    check(
        if r.external_servers {
            "peak RSS, MiB (load generator included)".into()
        } else {
            "peak RSS, MiB (simulators and load included)".into()
        },
        "< 1.5 GB",
        r.peak_rss_mib.unwrap_or(f64::NAN),
        1.5e9 / (1024.0 * 1024.0),
    );
    for p in r.http.iter().filter(|p| p.window == "during run") {
        check(
            format!("p99 {} while the runs write, ms", p.path),
            "< 5 ms",
            p.p99_ms,
            5.0,
        );
    }
    check(
        format!("{} days exported ward × day, s", r.export.days),
        "< 10 s (a month)",
        r.export.export_ms as f64 / 1e3,
        10.0,
    );
    t
}
