//! The ingest benchmark: a simulated hospital served over HTTP on loopback,
//! read by careload in full and then incrementally, each phase timed.
//!
//! [`ingest_bench`] builds the hospital of [`IngestBench`], serves it like
//! the demo does (same server, the runner's REST client and configuration),
//! and runs the pipeline by hand so that every phase has its own clock:
//!
//! 1. **full**: fetch everything (HTTP and JSON decoding; of it, the time
//!    spent turning JSON into fhir-sdk's typed models is reported as
//!    `parse`), map at the hour, score, write the hour to a SQLite store;
//! 2. **incremental**, `hours_incremental` times: move the hospital one
//!    hour on, fetch what changed since the last fetch, merge it into the
//!    held state ([`careload_ingest::apply_changes`]), map, score, write.
//!
//! The pipeline itself is [`Pipeline`], on any store (SQLite or
//! PostgreSQL): `careload bench region` ([`crate::region`]) runs it on
//! PostgreSQL.
//!
//! Memory is read from `/proc/self/status` (Linux): `VmHWM`, the peak
//! resident set of the whole process so far, after each phase. By default
//! the simulated hospital lives in the same process, so its share (the RSS
//! once it is built and served, before careload reads anything) is reported
//! apart; with [`IngestBench::fhir_url`] the server is another process
//! (`careload sim serve`, moved on by `POST /sim/advance`) and the peak is
//! careload's alone. Figures are for notes and issues, never asserted by
//! tests.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use careload_config::{Config, SourceKind};
use careload_ingest::{Mapping, PseudonymKey, Resources, RestConfig, apply_changes, fetch, fetch_changes, map};
use careload_runner::{RestSource, load_mapping, load_weights, rest_config};
use careload_scoring::{Score, Snapshot, Weights, Window, rollup, score};
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer, server};
use careload_store::{Outcome, RunReport, Store, hour_of};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::{Error, Result};

/// What to benchmark.
#[derive(Clone, Debug)]
pub struct IngestBench {
    /// Regular beds of the simulated hospital.
    pub beds: u32,
    /// Its seed.
    pub seed: u64,
    /// Incremental runs after the full one (each one simulated hour later).
    pub hours_incremental: u32,
    /// The hour the hospital starts at (the full run's hour).
    pub start: DateTime<Utc>,
    /// The SQLite file the hours are written to (deleted first and after).
    pub db: PathBuf,
    /// A FHIR server in another process (`careload sim serve`) instead of the
    /// in-process one; incremental runs move it on with `POST /sim/advance`.
    pub fhir_url: Option<String>,
}

/// The simulated hospital served on loopback in this process.
struct InProcess {
    sim: SharedSim,
    rest: RestSource,
    /// Dropping it stops the server.
    _served: server::Spawned,
}

impl InProcess {
    /// Builds the hospital of `[sim]` starting at `start` and serves it on
    /// `sim.listen`, as the demo does.
    async fn start(config: &Config, start: DateTime<Utc>) -> Result<InProcess> {
        let section = &config.sim;
        let hospital = Hospital::new(SimConfig {
            beds: section.beds,
            wards: section.wards,
            ..SimConfig::new(section.seed, start)
        })?;
        let listen = |source| Error::Listen {
            listen: section.listen.clone(),
            source,
        };
        let listener = TcpListener::bind(&section.listen).await.map_err(listen)?;
        let sim = SimServer::new(hospital);
        let served = server::spawn(listener, sim.clone()).map_err(listen)?;
        let rest = RestSource::new(RestConfig {
            base_url: served.base_url(),
            token_env: None,
            ..rest_config(config)
        })?;
        tracing::info!(base = %rest.config.base_url, beds = section.beds, seed = section.seed, start = %sim.now(), "simulated hospital served");
        Ok(InProcess {
            sim,
            rest,
            _served: served,
        })
    }
}

/// Where the benchmark reads from.
enum Server {
    InProcess(InProcess),
    External { rest: RestSource, http: reqwest::Client },
}

impl Server {
    fn rest(&self) -> &RestSource {
        match self {
            Server::InProcess(sim) => &sim.rest,
            Server::External { rest, .. } => rest,
        }
    }

    /// Moves the hospital to `hour`: in process, or `POST <origin>/sim/advance?hours=1`.
    async fn advance(&self, hour: DateTime<Utc>) -> Result<()> {
        match self {
            Server::InProcess(served) => {
                let sim = served.sim.clone();
                tokio::task::spawn_blocking(move || sim.advance_to(hour))
                    .await
                    .map_err(|e| Error::Task(e.to_string()))?;
                Ok(())
            }
            Server::External { rest, http } => {
                let base = &rest.config.base_url;
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
            }
        }
    }
}

/// One phase of one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Phases {
    /// Moving the simulated hospital's clock (the server's work, not careload's).
    pub sim_advance_ms: u64,
    /// The whole fetch: requests, JSON decoding and parsing, wall time.
    pub fetch_ms: u64,
    /// Of `fetch_ms`: JSON into typed FHIR models.
    pub parse_ms: u64,
    /// Merging an incremental fetch into the held state.
    pub merge_ms: u64,
    /// FHIR state → snapshots, then pruning what no later hour reads.
    pub map_ms: u64,
    /// Scoring every snapshot and rolling up.
    pub score_ms: u64,
    /// Writing the hour (one transaction).
    pub store_ms: u64,
    /// Everything above.
    pub total_ms: u64,
}

/// One run's figures.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRun {
    /// `full` or `incremental`.
    pub kind: &'static str,
    /// The hour.
    pub hour: DateTime<Utc>,
    /// HTTP requests sent.
    pub requests: u64,
    /// Resources received.
    pub resources_fetched: usize,
    /// Resources held after merging and pruning.
    pub resources_held: usize,
    /// Resources pruned after mapping ([`careload_ingest::Resources::prune_history`]).
    pub resources_pruned: usize,
    /// Patients written.
    pub patients: usize,
    /// Phase times.
    pub phases: Phases,
    /// Peak RSS of the process so far, MiB (`VmHWM`).
    pub peak_rss_mib: Option<f64>,
    /// RSS now, MiB (`VmRSS`).
    pub rss_mib: Option<f64>,
}

/// The benchmark's figures.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// Beds.
    pub beds: u32,
    /// Seed.
    pub seed: u64,
    /// Resources the server holds at the start (the in-process server only).
    pub server_resources: Option<usize>,
    /// Building the simulated hospital and starting its server.
    pub sim_start_ms: u64,
    /// RSS once the hospital is built and served, before careload reads anything, MiB.
    pub rss_after_sim_mib: Option<f64>,
    /// The runs: one full, then the incremental ones.
    pub runs: Vec<BenchRun>,
    /// Peak RSS of the whole process, MiB (`VmHWM`).
    pub peak_rss_mib: Option<f64>,
}

/// A `kB` line of `/proc/self/status` (`VmHWM`, `VmRSS`), in MiB; `None`
/// where there is no such file.
pub fn proc_status_mib(field: &str) -> Option<f64> {
    status_field_mib(&std::fs::read_to_string("/proc/self/status").ok()?, field)
}

/// A `Field:   1234 kB` line of a `/proc/*/status` text, in MiB.
fn status_field_mib(status: &str, field: &str) -> Option<f64> {
    let line = status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    let kb: f64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb / 1024.0)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Deletes a SQLite file and its WAL companions; missing files are fine.
fn remove_db(db: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(&name);
    }
}

/// The pipeline of [`ingest_bench`] and the region benchmark
/// ([`crate::region`]): a simulated hospital (in this process, or
/// `careload sim serve` in another) read through the runner's REST client,
/// mapped, scored and written hour by hour to any store, SQLite or
/// PostgreSQL, each phase timed. The first [`Pipeline::run_hour`] fetches
/// everything; each later one moves the hospital to its hour, fetches what
/// changed and merges it into the held state, as the hourly run does.
pub struct Pipeline {
    server: Server,
    store: Store,
    weights: Arc<Weights>,
    mapping: Arc<Mapping>,
    key: PseudonymKey,
    held: Resources,
    since: Option<DateTime<Utc>>,
    runs: u32,
    /// Building the simulated hospital and starting its server, ms.
    pub sim_start_ms: u64,
    /// RSS once the hospital is built and served, before careload reads anything, MiB.
    pub rss_after_sim_mib: Option<f64>,
}

impl Pipeline {
    /// Serves the hospital of `config.sim` from `start` (or reads the server
    /// at `fhir_url`) and records the built-in weights in `store`.
    ///
    /// # Errors
    /// The hospital cannot be built or served, the REST client cannot be
    /// built, the store refuses the weights.
    pub async fn start(
        config: &Config,
        fhir_url: Option<&str>,
        start: DateTime<Utc>,
        store: Store,
    ) -> Result<Pipeline> {
        let sim_started = Instant::now();
        let server = match fhir_url {
            None => Server::InProcess(InProcess::start(config, start).await?),
            Some(url) => Server::External {
                rest: RestSource::new(RestConfig {
                    base_url: url.to_owned(),
                    token_env: None,
                    ..rest_config(config)
                })?,
                http: reqwest::Client::new(),
            },
        };
        let sim_start_ms = ms(sim_started.elapsed());
        let rss_after_sim_mib = proc_status_mib("VmRSS");
        let weights = Arc::new(load_weights(None)?);
        store.record_weights(&weights).await?;
        Ok(Pipeline {
            server,
            store,
            weights,
            mapping: Arc::new(load_mapping(None)?),
            key: PseudonymKey::development(),
            held: Resources::new(),
            since: None,
            runs: 0,
            sim_start_ms,
            rss_after_sim_mib,
        })
    }

    /// The simulated hospital when it is served in this process.
    pub fn sim(&self) -> Option<&SharedSim> {
        match &self.server {
            Server::InProcess(served) => Some(&served.sim),
            Server::External { .. } => None,
        }
    }

    /// Resources the in-process server holds now.
    pub fn server_resources(&self) -> Option<usize> {
        self.sim().map(|sim| sim.resource_count())
    }

    /// The store the hours are written to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The weights the hours are scored with.
    pub fn weights(&self) -> &Arc<Weights> {
        &self.weights
    }

    /// One hourly run at `hour`: the first fetches everything at the hour
    /// the hospital was built at; a later one first moves the hospital to
    /// `hour`, then fetches the changes.
    ///
    /// # Errors
    /// The hospital cannot be moved on, a fetch fails, the store refuses.
    pub async fn run_hour(&mut self, hour: DateTime<Utc>) -> Result<BenchRun> {
        let run_started = Instant::now();
        let full = self.runs == 0;
        let mut phases = Phases::default();
        if !full {
            let t = Instant::now();
            self.server.advance(hour).await?;
            phases.sim_advance_ms = ms(t.elapsed());
        }
        let rest = self.server.rest();
        let careload_started = Instant::now();
        let t = Instant::now();
        let (fresh, fetched) = match self.since {
            None => fetch(&rest.client, &rest.config, None).await?,
            Some(s) => fetch_changes(&rest.client, &rest.config, s, &self.held).await?,
        };
        phases.fetch_ms = ms(t.elapsed());
        phases.parse_ms = ms(fetched.parse);
        let resources_fetched = fresh.len();
        self.since = fetched.next_since(self.since, rest.config.since_margin);
        let t = Instant::now();
        if full {
            self.held = fresh;
        } else {
            apply_changes(&mut self.held, fresh);
        }
        phases.merge_ms = ms(t.elapsed());

        // CPU work off the async threads, as in a run
        let (resources, mapping, key, weights) = (
            std::mem::take(&mut self.held),
            self.mapping.clone(),
            self.key.clone(),
            self.weights.clone(),
        );
        let (resources, scored, totals, map_ms, score_ms, pruned) = tokio::task::spawn_blocking(move || {
            let mut resources = resources;
            let t = Instant::now();
            let (snapshots, _) = map(&resources, &mapping, &key, hour);
            let pruned = resources.prune_history(hour);
            let map_ms = ms(t.elapsed());
            let t = Instant::now();
            let scored: Vec<(Snapshot, Score)> = snapshots
                .into_iter()
                .map(|s| {
                    let sc = score(&s, &weights, Window::hour(hour));
                    (s, sc)
                })
                .collect();
            let totals = rollup(scored.iter().map(|(s, sc)| (s, sc)));
            (resources, scored, totals, map_ms, ms(t.elapsed()), pruned)
        })
        .await
        .map_err(|e| Error::Task(e.to_string()))?;
        self.held = resources;
        phases.map_ms = map_ms;
        phases.score_ms = score_ms;

        let t = Instant::now();
        let run_id = self.store.begin_run(&rest.config.base_url).await?;
        self.store
            .write_hour(hour, run_id, &self.weights.meta.version, &scored, &totals)
            .await?;
        self.store
            .finish_run(run_id, Outcome::Ok, &RunReport::default())
            .await?;
        phases.store_ms = ms(t.elapsed());
        phases.total_ms = ms(careload_started.elapsed());
        tracing::debug!(elapsed_ms = ms(run_started.elapsed()), "bench run done");
        self.runs += 1;
        Ok(BenchRun {
            kind: if full { "full" } else { "incremental" },
            hour,
            requests: fetched.requests,
            resources_fetched,
            resources_held: self.held.len(),
            resources_pruned: pruned.total(),
            patients: scored.len(),
            phases,
            peak_rss_mib: proc_status_mib("VmHWM"),
            rss_mib: proc_status_mib("VmRSS"),
        })
    }
}

/// Runs the benchmark (see the module documentation).
///
/// # Errors
/// The hospital cannot be built or served, the store cannot be opened or
/// written, a fetch fails.
pub async fn ingest_bench(bench: &IngestBench) -> Result<BenchReport> {
    let mut config = Config::default();
    config.source.kind = SourceKind::Sim;
    config.sim.beds = bench.beds;
    config.sim.seed = bench.seed;
    config.sim.listen = "127.0.0.1:0".into();
    let start = hour_of(bench.start);

    remove_db(&bench.db);
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", bench.db.display())).await?;
    let mut pipeline = Pipeline::start(&config, bench.fhir_url.as_deref(), start, store.clone()).await?;
    let server_resources = pipeline.server_resources();
    let mut runs = Vec::new();
    for i in 0..=bench.hours_incremental {
        runs.push(pipeline.run_hour(start + chrono::Duration::hours(i64::from(i))).await?);
    }
    let (sim_start_ms, rss_after_sim_mib) = (pipeline.sim_start_ms, pipeline.rss_after_sim_mib);
    drop(pipeline);
    store.close().await;
    remove_db(&bench.db);
    Ok(BenchReport {
        beds: bench.beds,
        seed: bench.seed,
        server_resources,
        sim_start_ms,
        rss_after_sim_mib,
        runs,
        peak_rss_mib: proc_status_mib("VmHWM"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_status_lines_are_read_in_mib() {
        let status = "Name:\tcareload\nVmPeak:\t  900000 kB\nVmHWM:\t  262144 kB\nVmRSS:\t   1536 kB\n";
        assert_eq!(status_field_mib(status, "VmHWM"), Some(256.0));
        assert_eq!(status_field_mib(status, "VmRSS"), Some(1.5));
        assert_eq!(status_field_mib(status, "VmSwap"), None);
        assert_eq!(status_field_mib("VmHWM:\tlots\n", "VmHWM"), None);
    }
}
