//! `careload bench export`: one export over a store's history (by default the
//! year up to its current hour, ward × day, Parquet), timed, with the peak
//! RSS of the process and the file's size; on PostgreSQL also the same
//! aggregation as one plain SQL `GROUP BY` and the ratio of the two.
//!
//! Fill a store first with `careload bench store --db URL --days 365 --reuse`
//! (a year of a 1,000-bed hospital), and run from a release build:
//! `cargo run --release -- bench export --db URL`.

use std::io::Write;
use std::time::Instant;

use anyhow::Context as _;
use careload_bench::proc_status_mib;
use careload_config::Config;
use careload_export::{ExportSpec, export, period::local_midnight};
use careload_runner::load_weights;
use careload_store::Store;
use chrono::Duration;

use crate::cli::BenchExportArgs;
use crate::commands::service::runtime;

/// `careload bench export`.
pub(crate) fn run(args: &BenchExportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let config = Config::load(None)?;
    let weights = std::sync::Arc::new(load_weights(config.scoring.weights.as_deref())?);
    runtime()?.block_on(async {
        let store = Store::connect(&args.db)
            .await
            .with_context(|| format!("cannot open {}", args.db))?;
        let app = careload_app::App::try_new(store.clone(), std::sync::Arc::new(config), weights.clone())?;
        let ctx = app.export_context(&weights)?;
        let current = store
            .current_hour()
            .await?
            .context("the store has no history; fill it with careload bench store --db URL --reuse")?;
        let to = args
            .to
            .unwrap_or_else(|| current.hour.with_timezone(&ctx.tz).date_naive());
        let from = args.from.unwrap_or(to - Duration::days(364));
        let mut spec = ExportSpec::new(from, to, args.level, args.grain);
        spec.staffing = args.staffing;
        let path = args.out.clone();
        let file = std::fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        let rss_before = proc_status_mib("VmRSS");
        let summary = export(&store, &ctx, &spec, args.format, std::io::BufWriter::new(file)).await?;
        let peak = proc_status_mib("VmHWM");
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        writeln!(
            out,
            "{} export {} to {} ({} level, {} grain, {}): {} rows from {} unit-hours in {:.2} s; \
             file {:.1} KiB; RSS before {:.0} MiB, peak {:.0} MiB",
            store.backend(),
            from,
            to,
            args.level.as_str(),
            args.grain,
            args.format,
            summary.rows,
            summary.unit_hours_read,
            summary.elapsed.as_secs_f64(),
            size as f64 / 1024.0,
            rss_before.unwrap_or(f64::NAN),
            peak.unwrap_or(f64::NAN),
        )?;
        if store.postgres_pool().is_some() {
            let started = Instant::now();
            let (rows, patient_hours) = careload_bench::baseline::ward_day_sql(
                &store,
                &app.config.scoring.time_zone,
                local_midnight(&ctx.tz, from),
                local_midnight(&ctx.tz, to + Duration::days(1)),
            )
            .await?;
            let sql = started.elapsed();
            writeln!(
                out,
                "postgresql plain SQL GROUP BY (ward × day, same statistics): {rows} rows, {patient_hours} patient-hours \
                 in {:.2} s; export / SQL = {:.2}",
                sql.as_secs_f64(),
                summary.elapsed.as_secs_f64() / sql.as_secs_f64()
            )?;
        }
        if !args.keep {
            let _ = std::fs::remove_file(&path);
        }
        store.close().await;
        anyhow::Ok(())
    })
}
