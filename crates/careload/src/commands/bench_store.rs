//! `careload bench store`: the store's speed with a year of history present.
//!
//! The simulated hospital (over HTTP, through the real ingest, scoring and
//! store) writes one hour, or with `--simulated-days N` every hour of the
//! last N days; the current hour is written again five times to time
//! `write_hour`; the database then copies the oldest written hour to every
//! earlier hour of the year (`Store::replicate_hour`); finally the ward history the ward screen
//! asks for (`GET /api/v1/wards/{id}/history`: five days of the ward, its
//! teams and its current patients, through `careload_app::query`, without
//! the response cache) is read for every ward in turn and timed.
//!
//! Run it from a release build: `cargo run --release -- bench store`.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use careload_app::App;
use careload_config::{Config, SourceKind};
use careload_runner::load_weights;
use careload_scoring::rollup;
use careload_store::Store;
use chrono::Utc;

use crate::cli::BenchStoreArgs;
use crate::commands::quantile_ms;
use crate::commands::service::runtime;
use crate::logs::init_logs;
use crate::sim_source::start_runner;

/// `careload bench store`.
pub(crate) fn run(args: &BenchStoreArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut config = Config::default();
    config.database.url = args.db.clone();
    config.source.kind = SourceKind::Sim;
    config.sim.beds = args.beds;
    config.sim.listen = "127.0.0.1:0".into();
    config.schedule.backfill_hours = args.simulated_days.max(1) * 24;
    if args.simulated_days == 0 {
        config.schedule.backfill_hours = 1;
    }
    if args.simulated_days > args.days {
        bail!(
            "--simulated-days {} is more than --days {}",
            args.simulated_days,
            args.days
        );
    }
    config.api.open = true;
    config.validate()?;
    let config = Arc::new(config);
    init_logs(&config.log.level)?;
    runtime()?.block_on(async {
        let weights = Arc::new(load_weights(None)?);
        let store = Store::connect(&config.database.url).await?;
        let template = match store.current_hour().await? {
            Some(c) if args.reuse => c.hour,
            Some(c) => bail!(
                "{} already holds history up to {}: give an empty database, or --reuse to measure it as it is",
                args.db,
                c.hour
            ),
            None => fill(args, &config, &store, &weights, out).await?,
        };
        let gb = store.size_bytes().await? as f64 / 1e9;
        writeln!(out, "store: {}, {gb:.2} GB", store.backend())?;

        let app = App::new(store.clone(), config.clone(), weights.clone());
        let wards: Vec<String> = store.wards().await?.into_iter().map(|w| w.ward).collect();
        if wards.is_empty() {
            bail!("the store knows no wards");
        }
        let now = template + chrono::Duration::minutes(10);
        let mut times = Vec::with_capacity(args.reads as usize);
        let (mut hours, mut series) = (0, 0);
        for i in 0..args.reads as usize {
            let ward = &wards[i % wards.len()];
            let t = Instant::now();
            let h = careload_app::query::ward_history(&app, ward, None, None, now).await?;
            times.push(t.elapsed());
            hours = hours.max(h.ward.points.len());
            series = series.max(h.teams.len() + h.patients.len());
        }
        writeln!(
            out,
            "ward history ({} wards, {hours} hours, up to {series} team and patient series): {}",
            wards.len(),
            summary(&mut times)
        )?;
        parts(&store, &wards, template, args.reads as usize, out).await?;
        Ok(())
    })
}

/// Where a ward history read goes: each of its store reads timed alone,
/// over the same wards.
async fn parts(
    store: &Store,
    wards: &[String],
    hour: chrono::DateTime<Utc>,
    reads: usize,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let (from, to) = (hour - chrono::Duration::hours(119), hour + chrono::Duration::hours(1));
    let mut times: [Vec<Duration>; 7] = Default::default();
    let mut rows = [0usize; 7];
    for i in 0..reads {
        let ward = &wards[i % wards.len()];
        let t = Instant::now();
        let n = store.wards().await?.len() + store.unit_hours_at(careload_store::Level::Ward, &[hour]).await?.len();
        times[0].push(t.elapsed());
        rows[0] = rows[0].max(n);
        let t = Instant::now();
        let n = store.ward_hours(ward, from, to).await?.len();
        times[1].push(t.elapsed());
        rows[1] = rows[1].max(n);
        let t = Instant::now();
        let n = store.team_hours(ward, from, to).await?.len();
        times[2].push(t.elapsed());
        rows[2] = rows[2].max(n);
        let t = Instant::now();
        let n = store.patient_hours(ward, hour, to).await?.len();
        times[3].push(t.elapsed());
        rows[3] = rows[3].max(n);
        let t = Instant::now();
        let n = store.ward_patient_totals(ward, from, to).await?.len();
        times[4].push(t.elapsed());
        rows[4] = rows[4].max(n);
        let t = Instant::now();
        let n = store.ward_patient_series(ward, from, to).await?.len();
        times[5].push(t.elapsed());
        rows[5] = rows[5].max(n);
        let t = Instant::now();
        let n = store
            .unit_totals(careload_store::Level::Team, ward, from, to)
            .await?
            .len();
        times[6].push(t.elapsed());
        rows[6] = rows[6].max(n);
    }
    let names = [
        "known wards (wards + hour's ward sums)",
        "ward hours",
        "team hours",
        "current patients",
        "patient totals, 5 days",
        "patient series, 5 days, a row per patient",
        "team totals alone (hour, team, total)",
    ];
    for ((name, t), n) in names.iter().zip(times.iter_mut()).zip(rows) {
        writeln!(out, "  {name}, up to {n} rows: {}", summary(t))?;
    }
    Ok(())
}

/// Writes the template hour through the pipeline, times `write_hour`, and
/// replicates the hour over the year. Returns the template hour.
async fn fill(
    args: &BenchStoreArgs,
    config: &Config,
    store: &Store,
    weights: &Arc<careload_scoring::Weights>,
    out: &mut dyn Write,
) -> anyhow::Result<chrono::DateTime<Utc>> {
    let now = Utc::now();
    let t = Instant::now();
    let (mut runner, _) = start_runner(config, "", store.clone(), weights.clone(), now).await?;
    let runs = runner.backfill(now).await?;
    let hour = store
        .current_hour()
        .await?
        .context("the template run wrote no hour")?
        .hour;
    writeln!(
        out,
        "{} hour(s) up to {hour} through sim → FHIR → score → store in {:.1} s ({:.2} s per hour)",
        runs.len(),
        t.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64() / runs.len().max(1) as f64
    )?;

    // write_hour alone, five times over the same hour (idempotent)
    let mut patients = Vec::new();
    for w in store.wards().await? {
        patients.extend(store.ward_patients(&w.ward, hour).await?);
    }
    let r = rollup(patients.iter().map(|(s, sc)| (s, sc)));
    let run = store.begin_run("bench store").await?;
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        store
            .write_hour(hour, run, &weights.meta.version, &patients, &r)
            .await?;
        times.push(t.elapsed());
    }
    writeln!(out, "write_hour, {} patients: {}", patients.len(), summary(&mut times))?;

    // without simulated days the current hour is the template; with them the
    // oldest simulated hour is, and its copies keep no payload
    let simulated = runs.len() as u32;
    let (template, back, full) = if args.simulated_days == 0 {
        (hour, args.days * 24 - 1, args.full_days * 24)
    } else {
        let oldest = hour - chrono::Duration::hours(i64::from(simulated) - 1);
        (oldest, (args.days * 24).saturating_sub(simulated), 0)
    };
    let t = Instant::now();
    let rows = store.replicate_hour(template, back, full).await?;
    writeln!(
        out,
        "replicated to {back} earlier hours: {rows} patient rows in {:.0} s",
        t.elapsed().as_secs_f64()
    )?;
    Ok(hour)
}

/// "p50 … p95 … p99 … max … ms (n = …)".
fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let at = |q: f64| quantile_ms(times, q);
    format!(
        "p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (n = {})",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0),
        times.len()
    )
}
