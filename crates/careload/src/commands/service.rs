//! The service commands: `careload serve` (the hourly runs and the HTTP API
//! until Ctrl-C), `careload demo` (the same over a simulated hospital with
//! its history back-filled, or `--check` to fetch every page once) and
//! `careload ingest --once` (one run for the current hour).
//!
//! Glue only: configuration from `careload_config`, the runs from
//! `careload_runner` (over the simulated hospital of [`crate::sim_source`]
//! when `source.kind = sim`), the store from `careload_store`, the routes
//! from `careload_api`. A configuration of several sources
//! (`[sources.<id>]`, issue 29) gets one runner and one scheduler per
//! source, each firing its `offset_minutes` after the schedule's firings,
//! all writing one store and telling the API's caches after each run. Logs go to standard error ([`crate::logs`]); a
//! back-fill shows its progress there ([`crate::progress`]).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use careload_api::AppState;
use careload_config::{Config, SourceKind};
use careload_runner::priority::latency_first;
use careload_runner::{Due, Runner, Scheduler, Timing, Turn, load_weights, take_turn};
use careload_scoring::Weights;
use careload_store::{Access, Outcome, Store, hour_of};
use chrono::Utc;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::{DemoArgs, IngestArgs, ServeArgs, ServiceConfigArgs};
use crate::logs::init_logs;
use crate::progress::Shown;
use crate::sim_source::{SimHospital, start_runner};

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The runtime of a process that runs and serves: its threads (the runs')
/// at `schedule.run_nice` below the main thread, which builds the API's
/// runtime at the normal priority ([`careload_runner::priority`]).
pub(crate) fn runs_runtime(config: &Config) -> anyhow::Result<tokio::runtime::Runtime> {
    careload_runner::priority::runs_runtime(config.schedule.run_nice).context("cannot start the async runtime")
}

/// A shutdown signal: Ctrl-C, shared by every part that must stop.
fn shutdown_on_ctrl_c() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("Ctrl-C: shutting down");
        }
        let _ = tx.send(true);
    });
    rx
}

/// Completes when `rx` says stop (or its sender is gone).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}

/// What [`open`] gives: the API state (store, config, weights recorded,
/// token secrets read) and a runner per source ([`Config::sources`]), ready
/// to run: everything that can refuse to start has been checked, nothing
/// slow has run.
struct Opened {
    state: AppState,
    runners: Vec<Runner>,
}

async fn open(config: &Arc<Config>) -> anyhow::Result<Opened> {
    let (weights, store) = weights_and_store(config).await?;
    // token secrets are checked before minutes of back-fill, not after
    let state = AppState::try_new(store.clone(), config.clone(), weights.clone())?;
    let mut runners = Vec::new();
    for (id, _) in config.sources() {
        let (runner, _) = start_runner(config, &id, store.clone(), weights.clone(), Utc::now())
            .await
            .with_context(|| source_named(&id, "cannot start"))?;
        runners.push(opened(&state, runner));
    }
    Ok(Opened { state, runners })
}

/// `what` of the source `id`, for a message: "cannot start source nord",
/// or `what` alone for the single source.
fn source_named(id: &str, what: &str) -> String {
    if id.is_empty() {
        what.to_owned()
    } else {
        format!("{what} source {id}")
    }
}

/// The configured weights and the store (connected, migrated).
async fn weights_and_store(config: &Config) -> anyhow::Result<(Arc<Weights>, Store)> {
    let weights = Arc::new(load_weights(config.scoring.weights.as_deref())?);
    let store = Store::connect(&config.database.url).await?;
    Ok((weights, store))
}

/// The runner, publishing the weights in force to the API.
fn opened(state: &AppState, mut runner: Runner) -> Runner {
    // council activations switch the weights the API forecasts with, too
    runner.publish_weights(state.weights_cell());
    runner
}

/// The back-fill, if one is pending, and this hour's run unless it is
/// stored, so that the screens need not wait for the first tick; the API's
/// caches are told after. Returns the wards of the last good run. Among
/// replicas on one database the hour is run by the one that gets the run
/// lock; the others wait for it (and take over if it stops).
async fn catch_up(config: &Config, runner: &mut Runner, state: &AppState) -> anyhow::Result<Vec<String>> {
    let mut wards = Vec::new();
    if let Some(from) = runner.backfill_from() {
        let started = Instant::now();
        eprintln!(
            "back-filling {} hours from {} (simulated hospital, {} beds, over HTTP)…",
            (hour_of(Utc::now()) - from).num_hours() + 1,
            from.to_rfc3339(),
            config.sim.beds
        );
        // a bar on a terminal, else a log line per tenth
        let mut shown = Shown::new(std::io::stderr().is_terminal());
        let runs = runner.backfill_with(Utc::now(), &mut |p| shown.tell(p)).await;
        shown.finish();
        let runs = runs?;
        let failed = runs.iter().filter(|r| r.outcome == Outcome::Failed).count();
        eprintln!(
            "back-filled {} hours in {:.1} s ({failed} failed)",
            runs.len(),
            started.elapsed().as_secs_f64()
        );
        if let Some(last) = runs.into_iter().rev().find(|r| r.outcome != Outcome::Failed) {
            wards = last.wards;
        }
    }
    let now_hour = hour_of(Utc::now());
    // replicas starting together: one runs the hour, the others wait for it
    let deadline = Utc::now() + chrono::Duration::minutes(CATCH_UP_WAIT_MINUTES);
    match take_turn(runner, Due::Hour(now_hour), deadline).await? {
        Turn::Ran(run) if run.outcome != Outcome::Failed => wards = run.wards,
        Turn::Ran(_) | Turn::ByAnother => {}
        Turn::GaveUp => tracing::warn!(
            hour = %now_hour,
            "another replica held the run lock for {CATCH_UP_WAIT_MINUTES} minutes without storing this hour; \
             the next firing runs it"
        ),
    }
    state.data_changed();
    Ok(wards)
}

/// How long the catch-up at start waits for another replica that is
/// running the hour before it leaves the hour to the next firing.
const CATCH_UP_WAIT_MINUTES: i64 = 10;

/// [`catch_up`] of every source at once (a source whose EHR is slow or down
/// holds no other back), each runner given back when its own is done, in
/// the order given. Returns the runners and the wards of the last good runs.
async fn catch_up_all(
    config: &Arc<Config>,
    runners: Vec<Runner>,
    state: &AppState,
) -> anyhow::Result<(Vec<Runner>, Vec<String>)> {
    let mut caught = tokio::task::JoinSet::new();
    for (i, mut runner) in runners.into_iter().enumerate() {
        let (config, state) = (config.clone(), state.clone());
        caught.spawn(async move {
            let wards = catch_up(&config, &mut runner, &state).await;
            (i, runner, wards)
        });
    }
    let mut done = Vec::new();
    let mut wards = Vec::new();
    while let Some(joined) = caught.join_next().await {
        let (i, runner, caught_up) = joined.context("a source's catch-up failed")?;
        let id = runner.source_id().to_owned();
        wards.extend(caught_up.with_context(|| source_named(&id, "cannot catch up"))?);
        done.push((i, runner));
    }
    done.sort_by_key(|(i, _)| *i);
    wards.sort();
    Ok((done.into_iter().map(|(_, r)| r).collect(), wards))
}

/// Brings the forecast's learnt errors up to the hour just written, in the
/// background, so that no planning request waits for it (the first after a
/// start reads `forecast.history_weeks` of hours). A failure is logged; the
/// next request or run tries again.
fn learn_forecast_errors(state: &AppState) {
    let state = state.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        match careload_app::forecast::refresh(&state, Utc::now()).await {
            Ok(()) => tracing::debug!(
                elapsed_ms = started.elapsed().as_millis() as u64,
                "forecast errors learnt"
            ),
            Err(e) => tracing::warn!(error = %e, "the forecast's errors could not be learnt; the next run tries again"),
        }
    });
}

/// Runs a scheduler per runner (per source) until `stop`, beside the API
/// already served, and waits for the API's end. Each fires at the
/// schedule's firings plus its source's `offset_minutes`; every run tells
/// the API's caches.
async fn schedule_until(
    config: &Config,
    state: AppState,
    runners: Vec<Runner>,
    mut api: careload_api::Serving,
    stop: watch::Receiver<bool>,
    since: chrono::DateTime<Utc>,
) -> anyhow::Result<()> {
    learn_forecast_errors(&state);
    let timing = Timing::from_config(config)?;
    let mut schedulers = tokio::task::JoinSet::new();
    for runner in runners {
        let offset = config.source_by_id(runner.source_id()).map_or(0, |s| s.offset_minutes);
        let state = state.clone();
        let scheduler = Scheduler::new(runner, config.schedule.minute)
            .with_timing(timing.clone().with_offset_minutes(offset))
            .with_after_run(Arc::new(move || {
                state.run_finished();
                learn_forecast_errors(&state);
            }));
        let stop = stop.clone();
        // a firing that fell during the catch-up still gets its turn
        schedulers.spawn(async move { scheduler.run_since(since, stopped(stop)).await });
    }
    let all_stopped = async {
        while let Some(joined) = schedulers.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "a source's scheduler stopped");
            }
        }
    };
    let (served, ()) = tokio::join!(api.finished(), all_stopped);
    served.context("the HTTP server failed")?;
    Ok(())
}

/// Descriptors kept for all but the API's connections: the store's pool,
/// the EHR client's connections, files, the listener.
const RESERVED_FDS: u64 = 256;

/// Raises the open-file soft limit to the hard one where the system allows
/// it (systemd's default soft limit is 1,024), and keeps
/// `api.max_connections` below it, so that a flood of connections can never
/// take the descriptors the store and the EHR need.
fn fit_connections(config: &mut Config) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => {
            let room = usize::try_from(limit.saturating_sub(RESERVED_FDS).max(16)).unwrap_or(usize::MAX);
            if config.api.max_connections > room {
                tracing::warn!(
                    configured = config.api.max_connections,
                    fd_limit = limit,
                    max_connections = room,
                    "api.max_connections lowered below the open-file limit"
                );
                config.api.max_connections = room;
            }
            tracing::info!(
                fd_limit = limit,
                max_connections = config.api.max_connections,
                header_read_timeout_secs = config.api.header_read_timeout_secs,
                "connection limits"
            );
        }
        Err(e) => tracing::warn!(
            error = %e,
            max_connections = config.api.max_connections,
            "cannot read or raise the open-file limit; keeping api.max_connections"
        ),
    }
}

async fn bind(listen: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}; is another careload running there?"))
}

/// The service's configuration, with `--insecure-dev-key` (for every source).
fn load_config(args: &ServiceConfigArgs) -> anyhow::Result<Config> {
    let mut config = Config::load(args.config.as_deref())?;
    if args.insecure_dev_key {
        if config.sources.is_empty() {
            config.source.insecure_dev_key = true;
        }
        for source in config.sources.values_mut() {
            source.insecure_dev_key = true;
        }
    }
    Ok(config)
}

/// `careload serve`: the API answers from the first second — the last
/// stored hour, marked stale, or "no data yet" — while the back-fill and
/// this hour's run go on beside it (a liveness probe never sees it down).
pub(crate) fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let mut config = load_config(&args.service)?;
    init_logs(&config.log.level)?;
    fit_connections(&mut config);
    let config = Arc::new(config);
    runs_runtime(&config)?.block_on(async {
        let stop = shutdown_on_ctrl_c();
        // bind first: a taken port is refused before anything else
        let listener = bind(&config.api.listen).await?;
        let Opened { state, runners } = open(&config).await?;
        // the API stops on Ctrl-C, or when catching up fails
        let (halt, halted) = watch::channel(false);
        let api_stop = {
            let (stop, halted) = (stop.clone(), halted.clone());
            async move {
                tokio::select! {
                    () = stopped(stop) => {}
                    () = stopped(halted) => {}
                }
            }
        };
        let mut api = careload_api::spawn_serve(
            listener,
            state.clone(),
            api_stop,
            config.api.worker_threads,
            latency_first,
        )
        .context("cannot start the HTTP server")?;
        tracing::info!(listen = %config.api.listen, "careload serving");
        let since = Utc::now();
        let caught_up = tokio::select! {
            caught_up = catch_up_all(&config, runners, &state) => caught_up,
            // stopping: the catch-ups (and their runners) go
            () = stopped(stop.clone()) => Ok((Vec::new(), Vec::new())),
        };
        let runners = match caught_up {
            Ok((runners, _)) => runners,
            Err(e) => {
                let _ = halt.send(true);
                let _ = api.finished().await;
                return Err(e);
            }
        };
        drop(halted);
        schedule_until(&config, state, runners, api, stop, since).await
    })
}

/// The demo's configuration: the simulated hospital, a fresh SQLite file,
/// an open API on loopback, `hours` of back-fill.
fn demo_config(args: &DemoArgs) -> anyhow::Result<Config> {
    let mut config = Config::default();
    // CARELOAD_* variables tune the demo too (e.g. the rate limit for a load
    // test); the demo's own choices below win over them.
    config.apply_env(|name| std::env::var(name).ok())?;
    config.database.url = format!("sqlite://{}?mode=rwc", args.db.display());
    config.source.kind = SourceKind::Sim;
    config.sim.beds = args.beds;
    config.sim.seed = args.seed;
    config.sim.listen = "127.0.0.1:0".into();
    config.api.open = true;
    config.api.listen = args.listen.to_string();
    config.schedule.backfill_hours = args.hours;
    config.refuse_unknown_env(std::env::vars_os().map(|(n, _)| n.to_string_lossy().into_owned()))?;
    config.validate()?;
    Ok(config)
}

/// Who the audit entry that marks a demo's own store names.
const DEMO_ACTOR: &str = "demo";

/// Makes room for a fresh demo store at `db`: nothing to do when there is
/// no file; an earlier demo's store (its audit log names the demo) is
/// deleted; any other file is refused and left as it is.
async fn replace_demo_db(db: &Path) -> anyhow::Result<()> {
    if !db.exists() {
        return remove_db(db);
    }
    let url = format!("sqlite://{}", db.display());
    let ours = match Store::open_without_migrating(&url, Access::ReadOnly).await {
        Ok((store, _)) => {
            let entries = store.audit_entries(100_000).await.unwrap_or_default();
            store.close().await;
            entries.iter().any(|e| e.actor == DEMO_ACTOR)
        }
        Err(_) => false,
    };
    if !ours {
        bail!(
            "{} exists and is not a store an earlier `careload demo` made; the demo never deletes or overwrites \
             another file: give another --db, or move the file away yourself",
            db.display()
        );
    }
    remove_db(db)
}

/// Creates the demo's store and marks it as the demo's (an audit entry),
/// so that the next demo may replace it.
async fn mark_demo_db(url: &str) -> anyhow::Result<()> {
    let store = Store::connect(url).await?;
    store
        .audit(
            DEMO_ACTOR,
            "demo store created",
            &serde_json::json!({"note": "careload demo replaces this file at its next start"}),
        )
        .await?;
    store.close().await;
    Ok(())
}

/// Deletes a SQLite file and its WAL companions; a missing file is fine.
fn remove_db(db: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot delete {}", Path::new(&name).display())),
        }
    }
    Ok(())
}

/// The pages the demo prints, each with its label: the hospital overview,
/// the bed coordinator's page, the region's and each hospital's page (when
/// `hospitals` are configured), each ward's screen and planning page, the
/// JSON API.
fn demo_urls(addr: SocketAddr, hospitals: &[String], wards: &[String]) -> Vec<(&'static str, String)> {
    let mut urls = vec![
        ("hospital overview", format!("http://{addr}/")),
        ("bed coordinator", format!("http://{addr}/admissions")),
    ];
    if !hospitals.is_empty() {
        urls.push(("region", format!("http://{addr}/region")));
    }
    for h in hospitals {
        urls.push(("hospital", format!("http://{addr}/hospitals/{h}")));
    }
    for w in wards {
        urls.push(("ward screen", format!("http://{addr}/wards/{w}/screen")));
        urls.push(("planning", format!("http://{addr}/wards/{w}/planning")));
    }
    urls.push(("JSON API", format!("http://{addr}/api/v1/hospital")));
    urls.push(("API description", format!("http://{addr}/api/v1/openapi.json")));
    urls
}

/// Imports the simulated hospital's planned staffing, from five days before
/// the back-fill to two days ahead, through the same all-or-nothing CSV
/// import as `POST /api/v1/staffing/csv` (audited as `demo`), so that the
/// planning pages and exports have a plan to set the need against.
/// Returns the rows stored.
async fn import_sim_staffing(state: &AppState, config: &Config, hospital: &SimHospital) -> anyhow::Result<u64> {
    let today = Utc::now().with_timezone(&state.tz()).date_naive();
    let days_back = config.schedule.backfill_hours.div_ceil(24) + 1;
    let csv = hospital.staffing_csv(today - chrono::Duration::days(i64::from(days_back)), days_back + 3);
    let written = careload_app::planning::store_csv(state, csv.as_bytes(), "demo")
        .await?
        .map_err(|e| anyhow::anyhow!("the simulated planned staffing was refused: {e}"))?;
    Ok(written.rows)
}

/// `careload demo`.
pub(crate) fn demo(args: &DemoArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!(
            "--listen {}: the demo's API has no tokens, so it listens on loopback only (e.g. 127.0.0.1:8080)",
            args.listen
        );
    }
    let mut config = demo_config(args)?;
    init_logs(&config.log.level)?;
    fit_connections(&mut config);
    runs_runtime(&config)?.block_on(async move {
        let stop = shutdown_on_ctrl_c();
        // bind first: a taken port is refused before any file is touched
        let listener = bind(&config.api.listen).await?;
        replace_demo_db(&args.db).await?;
        mark_demo_db(&config.database.url).await?;
        let (weights, store) = weights_and_store(&config).await?;
        // the one simulated hospital: it names the wards, is served to the
        // runner from the hour the back-fill starts, and plans the staffing
        let plan = Runner::plan(&config, &store, Utc::now()).await?;
        let hospital = SimHospital::build(&config, plan.source_start())?;
        hospital.name_wards(&mut config);
        config.validate()?;
        let config = Arc::new(config);
        let state = AppState::try_new(store.clone(), config.clone(), weights.clone())?;
        let source = hospital.serve(&config).await?;
        let runner = Runner::start(&config, store, weights, plan, Box::new(source)).await?;
        let mut runner = opened(&state, runner);
        let since = Utc::now();
        let wards = catch_up(&config, &mut runner, &state).await?;
        let staffing = import_sim_staffing(&state, &config, &hospital).await?;
        let addr = listener.local_addr().context("cannot read the listening address")?;
        let hospitals: Vec<String> = config.hospitals.keys().cloned().collect();
        let mut urls = demo_urls(addr, &hospitals, &wards);
        // one patient page: the first ward's first bed with a patient, as its screen links it
        if let Some(w) = wards.first()
            && let Ok(view) = careload_app::query::ward(&state, w, Utc::now()).await
            && let Some(bed) = view.patients.iter().find_map(|p| p.bed.as_deref())
        {
            let bed = careload_app::view::short_label(bed, w);
            let at = urls.len().saturating_sub(2);
            urls.insert(at, ("patient page", format!("http://{addr}/wards/{w}/beds/{bed}")));
        }
        writeln!(
            out,
            "careload demo: {} beds, seed {}, history in {}",
            args.beds,
            args.seed,
            args.db.display()
        )?;
        writeln!(
            out,
            "planned staffing:  {staffing} rows imported from the simulated scheduling system's CSV"
        )?;
        for (label, url) in &urls {
            writeln!(out, "{:<19}{url}", format!("{label}:"))?;
        }
        out.flush()?;
        if !args.check {
            writeln!(out, "serving until Ctrl-C")?;
            out.flush()?;
            let api = careload_api::spawn_serve(
                listener,
                state.clone(),
                stopped(stop.clone()),
                config.api.worker_threads,
                latency_first,
            )
            .context("cannot start the HTTP server")?;
            return schedule_until(&config, state, vec![runner], api, stop, since).await;
        }
        let (tx, rx) = watch::channel(false);
        // served as `serve` serves, on the API's own runtime
        let mut server =
            careload_api::spawn_serve(listener, state, stopped(rx), config.api.worker_threads, latency_first)
                .context("cannot start the HTTP server")?;
        let failures = check_urls(&urls, out).await?;
        let _ = tx.send(true);
        server.finished().await.context("the HTTP server failed")?;
        if failures > 0 {
            bail!("{failures} of {} pages did not answer 200", urls.len());
        }
        writeln!(out, "all {} pages answered 200", urls.len())?;
        Ok(())
    })
}

/// GETs every URL once and prints its status; returns how many were not 200.
async fn check_urls(urls: &[(&str, String)], out: &mut dyn Write) -> anyhow::Result<usize> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")?;
    let mut failures = 0;
    for (_, url) in urls {
        match client.get(url).send().await {
            Ok(response) => {
                let status = response.status();
                if status != reqwest::StatusCode::OK {
                    failures += 1;
                }
                writeln!(out, "{} {url}", status.as_u16())?;
            }
            Err(e) => {
                failures += 1;
                writeln!(out, "ERR {url}: {e}")?;
            }
        }
    }
    Ok(failures)
}

/// `careload ingest --once`.
pub(crate) fn ingest_once(args: &IngestArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    debug_assert!(args.once);
    let mut config = load_config(&args.service)?;
    // one run for the current hour: back-filling is for `serve`
    config.schedule.backfill_hours = 0;
    init_logs(&config.log.level)?;
    runtime()?.block_on(async {
        let (weights, store) = weights_and_store(&config).await?;
        // one run per source, one after the other; each source's hour is its own
        let mut records = Vec::new();
        let mut failed = Vec::new();
        for (id, _) in config.sources() {
            let (mut runner, _) = start_runner(&config, &id, store.clone(), weights.clone(), Utc::now())
                .await
                .with_context(|| source_named(&id, "cannot start"))?;
            // under the source's run lock, as a replica's run: never beside a service's
            let deadline = Utc::now() + chrono::Duration::minutes(CATCH_UP_WAIT_MINUTES);
            let summary = match take_turn(&mut runner, Due::Rerun(Utc::now()), deadline).await? {
                Turn::Ran(summary) => summary,
                Turn::ByAnother | Turn::GaveUp => bail!(
                    "another careload held the hourly run's lock{} for {CATCH_UP_WAIT_MINUTES} minutes; \
                     {} try again",
                    if id.is_empty() {
                        String::new()
                    } else {
                        format!(" of source {id}")
                    },
                    if records.is_empty() {
                        "nothing was run,"
                    } else {
                        "the sources before it were run;"
                    }
                ),
            };
            let record = store
                .runs(20)
                .await?
                .into_iter()
                .find(|r| r.id == summary.run_id)
                .context("the run's record is missing from the store")?;
            records.push(record);
            if summary.outcome == Outcome::Failed {
                failed.push(format!(
                    "{}run {} failed: {}",
                    if id.is_empty() {
                        String::new()
                    } else {
                        format!("source {id}: ")
                    },
                    summary.run_id,
                    summary.report.error.as_deref().unwrap_or("no message")
                ));
            }
        }
        // the single [source]'s record as before; named sources' as a list
        // (one named source too: the shape follows the configuration)
        match records.as_slice() {
            [record] if config.sources.is_empty() => super::write_json(out, record)?,
            _ => super::write_json(out, &records)?,
        }
        if !failed.is_empty() {
            let stays = if config.sources.is_empty() {
                "the previous hour stays current"
            } else {
                "their wards keep their previous hour"
            };
            bail!("{}; {stays}", failed.join("; "));
        }
        Ok(())
    })
}
