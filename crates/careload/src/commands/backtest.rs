//! `careload weights backtest`: what a candidate weights version would have
//! done to the stored history (nothing stored changes), as a table and,
//! with `--out`, a file; and `careload weights activate`: the council's
//! decision recorded, in force from the file's effective date.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context as _;
use careload_config::Config;
use careload_export::Sink;
use careload_export::backtest::{Backtest, UnitBacktest, backtest, to_frame};
use careload_runner::load_weights;
use careload_store::Access;

use crate::cli::{ActivateArgs, BacktestArgs};
use crate::commands::service::runtime;
use crate::table::Table;
use crate::weights_file;

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

fn rank(v: Option<u32>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn row(u: &UnitBacktest) -> Vec<String> {
    vec![
        if u.ward.is_empty() {
            "hospital".to_owned()
        } else {
            u.ward.clone()
        },
        u.patient_hours.to_string(),
        format!("{:.2}", u.stored.total_mean),
        format!("{:.2}", u.candidate.total_mean),
        u.total_change_pct
            .map_or_else(|| "–".to_owned(), |p| format!("{p:+.1} %")),
        format!("{} → {}", rank(u.stored.rank), rank(u.candidate.rank)),
        format!(
            "{} → {}",
            num(u.stored.need_staff_hours),
            num(u.candidate.need_staff_hours)
        ),
        format!(
            "{} → {}",
            num(u.stored.gap_staff_hours),
            num(u.candidate.gap_staff_hours)
        ),
    ]
}

fn print(report: &Backtest, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "back-test of {} against the stored history ({}), {} to {}: {} hours, {} patient-hours re-scored, {} skipped, {} ms",
        report.candidate_version,
        report.stored_versions.join(", "),
        report.from,
        report.to,
        report.hours,
        report.patient_hours,
        report.skipped,
        report.elapsed_ms
    )?;
    writeln!(out)?;
    let mut t = Table::new([
        "ward",
        "patient-hours",
        "mean/h stored",
        "mean/h candidate",
        "change",
        "rank",
        "need staff-h",
        "gap staff-h",
    ])
    .right([1, 2, 3, 4]);
    t.row(row(&report.hospital));
    for u in &report.wards {
        t.row(row(u));
    }
    t.write(out, 0)?;
    writeln!(out)?;
    let mut c = Table::new(["component (hospital)", "mean/h stored", "mean/h candidate"]).right([1, 2]);
    for (key, stored) in &report.hospital.stored.components {
        let candidate = report
            .hospital
            .candidate
            .components
            .get(key)
            .copied()
            .unwrap_or_default();
        c.row([key.to_string(), format!("{stored:.2}"), format!("{candidate:.2}")]);
    }
    c.row([
        "USK".to_owned(),
        format!("{:.2}", report.hospital.stored.usk_mean),
        format!("{:.2}", report.hospital.candidate.usk_mean),
    ]);
    c.row([
        "SSK".to_owned(),
        format!("{:.2}", report.hospital.stored.ssk_mean),
        format!("{:.2}", report.hospital.candidate.ssk_mean),
    ]);
    c.write(out, 0)?;
    Ok(())
}

/// `careload weights backtest`.
pub(crate) fn run(args: &BacktestArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let candidate = weights_file::load(&args.candidate)?.weights;
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        config.database.url.clone_from(db);
    }
    let in_force = load_weights(config.scoring.weights.as_deref())?;
    let stored_ctx = careload_api::export::export_context(&config, &in_force).map_err(anyhow::Error::msg)?;
    let candidate_ctx = careload_api::export::export_context(&config, &candidate).map_err(anyhow::Error::msg)?;
    let report = runtime()?.block_on(async {
        let store = super::open_history(&config.database.url, Access::ReadOnly).await?;
        let report = backtest(
            &store,
            &stored_ctx,
            &candidate_ctx,
            Arc::new(candidate),
            args.from,
            args.to,
        )
        .await?;
        store.close().await;
        anyhow::Ok(report)
    })?;
    if let Some(path) = &args.out {
        let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut sink = Sink::new(args.format, std::io::BufWriter::new(file));
        let mut frame = to_frame(&report)?;
        sink.write(&mut frame)?;
        sink.finish(&mut frame.clear())?;
    }
    if args.json {
        return super::write_json(out, &report);
    }
    print(&report, out)
}

/// `careload weights activate`.
pub(crate) fn activate(args: &ActivateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read weights file {}", args.file.display()))?;
    let weights = careload_scoring::Weights::from_toml(&text, &args.file.display().to_string())?;
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        config.database.url.clone_from(db);
    }
    let activation = runtime()?.block_on(async {
        let store = super::open_history(&config.database.url, Access::ReadWrite).await?;
        let a = store
            .activate_weights(&weights, &text, &args.by, &args.reference)
            .await?;
        store.close().await;
        anyhow::Ok(a)
    })?;
    writeln!(
        out,
        "weights {} (sha256 {}) activated by {} (reference {}), activation {}: it scores every hour from {} \
         (local date); a running careload switches at its next hourly run",
        activation.version,
        &weights.digest[..12.min(weights.digest.len())],
        activation.activated_by,
        activation.reference,
        activation.id,
        activation.effective_from
    )?;
    Ok(())
}
