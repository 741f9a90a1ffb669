//! The region benchmark (issue 29, `careload bench region`): a region of
//! `hospitals × beds_per_hospital` beds on one database, its hourly runs,
//! its screens under load while a run writes, and a month of its history
//! exported ward × day.
//!
//! **One source.** Several FHIR sources in one service are not built: the
//! region is ONE simulated hospital of all the beds, read as one source,
//! whose wards are split into [`RegionBench::hospitals`] configured
//! hospitals (`[hospitals.<id>]`, a department per specialty and hospital,
//! `[departments.<id>]`), in runs of consecutive wards, as a region would
//! configure them ([`configure_region`]). The hospitals are then summed from
//! their wards at read time, as in the service.
//!
//! [`region_bench`]:
//!
//! 1. **full run**: the hospital served on loopback in this process and
//!    read in full through the real pipeline ([`Pipeline`]: fetch, map,
//!    score, write), at the hour two hours before now;
//! 2. **incremental run**: the hospital moved on an hour, the changes
//!    fetched, merged, mapped, scored and written;
//! 3. **screens while a run writes**: the API served in process as `careload
//!    serve` serves it (`careload_api::spawn_serve`, a runtime of its own;
//!    open, on loopback, no rate limit), and the open-loop load of `careload
//!    bench http` ([`crate::load`]) offered to `GET /api/v1/region` and one
//!    ward screen (`GET /wards/{id}/screen`), gzip accepted, from a runtime
//!    of its own; after the warm-up the next hour's incremental run writes,
//!    then the load goes on for [`RegionBench::seconds`]. The run's window
//!    includes the simulator moving its clock an hour (in this process, or
//!    on the same cores in another). Latencies are
//!    reported per path for requests scheduled while the run was going and
//!    after it (the API's cache is cleared when the run ends, as the service
//!    does);
//! 4. **export**: `careload bench store`'s filler (`Store::replicate_hour`)
//!    copies the full run's hour to the hours before it, so that the same
//!    wards have [`RegionBench::export_days`] whole local days of history
//!    (the copies keep no snapshot), and those days are exported ward × day
//!    as Parquet to a file, as `careload bench export` does.
//!
//! Peak RSS is the process's (`VmHWM`) and includes the simulated hospital
//! (its share, the RSS once it is built and served, is reported apart) and
//! the load generator. Figures are for notes and issues, never asserted by
//! tests.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use careload_config::{Config, DepartmentConfig, HospitalConfig, SourceKind};
use careload_export::{ExportSpec, Format, Grain, export};
use careload_sim::codes::SPECIALTIES;
use careload_store::{Level, Store, hour_of};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::ingest::{BenchRun, Pipeline, proc_status_mib};
use crate::load::{Load, Sample, Until, clients, open_loop, quantile_ms};
use crate::{Error, Result};

/// What to benchmark.
#[derive(Clone, Debug)]
pub struct RegionBench {
    /// The database: a PostgreSQL URL (SQLite works too); it must hold no history.
    pub db: String,
    /// Configured hospitals the wards are split into.
    pub hospitals: u32,
    /// Regular beds per hospital.
    pub beds_per_hospital: u32,
    /// The simulated hospital's seed.
    pub seed: u64,
    /// Keep-alive connections of the load.
    pub connections: u32,
    /// Requests per second offered, all connections and both paths together.
    pub rate: u32,
    /// Seconds of load before the run (not counted).
    pub warmup: u32,
    /// Seconds of load measured after the run.
    pub seconds: u32,
    /// Whole local days of history exported ward × day.
    pub export_days: u32,
    /// The export's file (removed afterwards).
    pub export_file: PathBuf,
    /// Now: the runs are the two hours before its hour and its hour.
    pub now: DateTime<Utc>,
    /// A FHIR server in another process (`careload sim serve --beds N`)
    /// instead of the in-process hospital, so that the peak RSS is
    /// careload's alone: the runs are at its clock's hour and the two after
    /// (moved on by `POST /sim/advance`), its wards are read from the first
    /// run's hour, and their departments are per hospital only (the
    /// specialties are the simulator's to know).
    pub fhir_url: Option<String>,
}

/// A ward as the region is configured from it.
#[derive(Clone, Debug)]
pub struct RegionWard {
    /// Its id.
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

impl From<&careload_sim::WardStats> for RegionWard {
    fn from(w: &careload_sim::WardStats) -> RegionWard {
        RegionWard {
            id: w.id.clone(),
            specialty: w.specialty.to_owned(),
            care_category: Some(w.care_category.to_owned()),
            beds: Some(w.beds),
            teams: w.teams.clone(),
        }
    }
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
    /// How the region is read.
    pub sources: &'static str,
    /// The store's backend (`sqlite` or `postgres`).
    pub backend: &'static str,
    /// Configured hospitals.
    pub hospitals: u32,
    /// Beds per hospital (all beds ÷ hospitals, rounded down).
    pub beds_per_hospital: u32,
    /// All beds.
    pub beds: u32,
    /// Wards of the simulated hospital.
    pub wards: usize,
    /// The simulated hospital is served by another process (its RSS is not in the peaks).
    pub external_server: bool,
    /// Departments configured.
    pub departments: usize,
    /// Seed.
    pub seed: u64,
    /// Resources the server holds at the start.
    pub server_resources: Option<usize>,
    /// Building the hospital and starting its server, ms.
    pub sim_start_ms: u64,
    /// RSS once the hospital is built and served, MiB (the simulator's share).
    pub rss_after_sim_mib: Option<f64>,
    /// The full run.
    pub full: BenchRun,
    /// The incremental run, alone.
    pub incremental: BenchRun,
    /// The incremental run under the screens' load.
    pub under_load: BenchRun,
    /// The load: connections, rate offered, gzip.
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

/// Splits `wards` into `hospitals` hospitals of consecutive wards (`h01`
/// "Sjukhus 1" …), a department per specialty and hospital (`h01-surgery`,
/// "Verksamhet Kirurgi, Sjukhus 1"), and configures each ward (name,
/// department, and what is known of care category, beds and teams).
/// Returns the departments configured.
pub fn configure_region(config: &mut Config, wards: &[RegionWard], hospitals: u32) -> usize {
    let hospitals = hospitals.max(1) as usize;
    let n = wards.len().max(1);
    for (i, w) in wards.iter().enumerate() {
        let h = i * hospitals / n + 1;
        let hospital = format!("h{h:02}");
        config
            .hospitals
            .entry(hospital.clone())
            .or_insert_with(|| HospitalConfig {
                name: Some(format!("Sjukhus {h}")),
            });
        let specialty = SPECIALTIES
            .iter()
            .find(|s| s.key == w.specialty)
            .map_or("allmän", |s| s.swedish);
        let department = format!("{hospital}-{}", w.specialty);
        config
            .departments
            .entry(department.clone())
            .or_insert_with(|| DepartmentConfig {
                name: Some(format!("Verksamhet {specialty}, Sjukhus {h}")),
                hospital: Some(hospital.clone()),
            });
        let ward = config.wards.entry(w.id.clone()).or_default();
        ward.name = Some(format!("Avd {} {specialty}", i + 1));
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

/// Runs the benchmark (see the module documentation).
///
/// # Errors
/// The database holds history or cannot be opened, the hospital cannot be
/// built or served, a run, the API, the load or the export fails.
pub async fn region_bench(bench: &RegionBench) -> Result<RegionReport> {
    let beds = bench.hospitals.max(1) * bench.beds_per_hospital;
    let mut config = Config::default();
    config.database.url = bench.db.clone();
    config.source.kind = SourceKind::Sim;
    config.sim.beds = beds;
    config.sim.seed = bench.seed;
    config.sim.listen = "127.0.0.1:0".into();
    config.api.open = true;
    config.api.listen = "127.0.0.1:0".into();
    config.api.rate_limit_per_minute = 0;
    config.api.max_connections = config.api.max_connections.max(bench.connections as usize + 100);

    let store = Store::connect(&bench.db).await?;
    if store.current_hour().await?.is_some() {
        return Err(Error::NotEmpty(careload_config::redacted_url(&bench.db)));
    }
    // in process: the two hours before now's and now's; another process: its clock's
    let (start, beds, seed, external_resources) = match &bench.fhir_url {
        None => (hour_of(bench.now) - chrono::Duration::hours(2), beds, bench.seed, None),
        Some(url) => {
            let status = server_status(url).await?;
            (hour_of(status.now), status.beds, status.seed, Some(status.resources))
        }
    };
    let mut pipeline = Pipeline::start(&config, bench.fhir_url.as_deref(), start, store.clone()).await?;
    let server_resources = pipeline.server_resources().or(external_resources);
    let (sim_start_ms, rss_after_sim_mib) = (pipeline.sim_start_ms, pipeline.rss_after_sim_mib);

    // 1. and 2.
    let full = pipeline.run_hour(start).await?;
    let incremental = pipeline.run_hour(start + chrono::Duration::hours(1)).await?;

    // the region: the simulator's wards, or the wards the first hour wrote
    let wards: Vec<RegionWard> = match pipeline.sim() {
        Some(sim) => sim.read(|h| h.stats().wards).iter().map(RegionWard::from).collect(),
        None => {
            let mut wards = Vec::new();
            for w in store.wards().await? {
                let teams = store.teams(&w.ward, start).await?.into_iter().map(|t| t.team).collect();
                wards.push(RegionWard {
                    id: w.ward,
                    specialty: "general".into(),
                    care_category: None,
                    beds: None,
                    teams,
                });
            }
            wards
        }
    };
    let departments = configure_region(&mut config, &wards, bench.hospitals);
    config.validate().map_err(|e| Error::Config(e.to_string()))?;
    let config = Arc::new(config);
    tracing::info!(
        beds,
        wards = wards.len(),
        hospitals = bench.hospitals,
        "region configured"
    );

    // 3. the screens while the next hour's run writes
    let weights = pipeline.weights().clone();
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
    let serving = careload_api::spawn_serve(
        listener,
        state.clone(),
        async move {
            let _ = api_stopped.await;
        },
        config.api.worker_threads,
    )?;
    let ward = wards
        .first()
        .map(|w| w.id.clone())
        .ok_or_else(|| Error::Task("the simulated hospital has no ward".into()))?;
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
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Task(format!("cannot start the load's runtime: {e}")))?;
                runtime.block_on(open_loop(&load, clients, load_start, &until))
            })
            .map_err(|e| Error::Task(format!("cannot start the load's thread: {e}")))?
    };
    tokio::time::sleep_until((load_start + Duration::from_secs(u64::from(bench.warmup))).into()).await;
    let run_from = Instant::now();
    let under_load = pipeline.run_hour(start + chrono::Duration::hours(2)).await;
    let run_to = Instant::now();
    state.data_changed();
    tokio::time::sleep(Duration::from_secs(u64::from(bench.seconds))).await;
    let after_to = Instant::now();
    until.stop.store(true, Ordering::Relaxed);
    let samples = tokio::task::spawn_blocking(move || generator.join())
        .await
        .map_err(|e| Error::Task(e.to_string()))?
        .map_err(|_| Error::Task("the load's thread panicked".into()))?;
    let under_load = under_load?;
    // what the region overview shows once the run is written
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
    drop(pipeline);

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
        sources: "one source: one simulated hospital of all the beds, its wards split into the configured \
                  hospitals (several sources in one service are not built)",
        backend,
        hospitals: bench.hospitals,
        beds_per_hospital: beds / bench.hospitals.max(1),
        beds,
        wards: wards.len(),
        external_server: bench.fhir_url.is_some(),
        departments,
        seed,
        server_resources,
        sim_start_ms,
        rss_after_sim_mib,
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
            "cannot read {url} ({reason}); the region benchmark reads another process's `careload sim serve`"
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
        "full hourly run, s".into(),
        "< 60 s",
        r.full.phases.total_ms as f64 / 1e3,
        60.0,
    );
    check(
        "incremental hourly run, s".into(),
        "< 15 s",
        r.incremental.phases.total_ms as f64 / 1e3,
        15.0,
    );
    check(
        if r.external_server {
            "peak RSS, MiB (load generator included)".into()
        } else {
            "peak RSS, MiB (simulator and load included)".into()
        },
        "< 1.5 GB",
        r.peak_rss_mib.unwrap_or(f64::NAN),
        1.5e9 / (1024.0 * 1024.0),
    );
    for p in r.http.iter().filter(|p| p.window == "during run") {
        check(
            format!("p99 {} while a run writes, ms", p.path),
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
