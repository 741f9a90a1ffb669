//! `careload bench calibration`: the calibration's proof (issue 27) as a
//! command. A simulated hospital with a hidden truth is back-filled through
//! the real pipeline for `--weeks` weeks, its staff's ratings imported and
//! fitted per ward against the truth's optimum, and the weights refitted on
//! the first `--fit-weeks` weeks and back-tested on the rest. The work is
//! `careload_bench::calibration::calibration_bench` (its module doc and
//! `docs/sim-truth.md` explain the truth and the figures); this prints it.
//!
//! `cargo run -- bench calibration` (about 2 minutes in a debug build for
//! the default 60 beds), `--no-signal` for ratings that are pure noise.

use std::io::Write;

use careload_bench::calibration::{CalibrationBench, FitReport, calibration_bench};
use careload_sim::Truth;
use chrono::Utc;

use crate::cli::BenchCalibrationArgs;
use crate::commands::service::runtime;
use crate::logs::init_logs;

fn num(v: Option<f64>, places: usize) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.places$}"))
}

fn fit_line(ward: &str, scope: &str, f: &FitReport) -> String {
    format!(
        "{ward:<6} {scope:<9} {:>8} {:>17} {:>8} {:>7} {:>6} {:>9} {:>8} {:>7}  {}",
        num(f.optimum, 1),
        f.interval
            .map_or_else(|| "–".to_owned(), |(lo, hi)| format!("[{lo:.1}, {hi:.1}]")),
        num(f.truth_optimum, 1),
        num(f.relative_error.map(|e| 100.0 * e), 1),
        num(f.r_squared, 2),
        num(f.truth_r_squared, 2),
        num(f.response_rate.map(|r| 100.0 * r), 0),
        f.shifts,
        if f.reliable {
            "reliable".to_owned()
        } else {
            format!("unreliable: {}", f.reasons.join(", "))
        }
    )
}

/// `careload bench calibration`.
pub(crate) fn run(args: &BenchCalibrationArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    init_logs("warn")?;
    if args.fit_weeks >= args.weeks {
        anyhow::bail!(
            "--fit-weeks {} leaves no week of the {} to back-test the candidate on; send fewer",
            args.fit_weeks,
            args.weeks
        );
    }
    let bench = CalibrationBench {
        beds: args.beds,
        wards: args.wards,
        seed: args.seed,
        truth: Truth {
            signal: !args.no_signal,
            ..Truth::default()
        },
        weeks: args.weeks,
        fit_weeks: Some(args.fit_weeks),
        now: Utc::now(),
        db: args.db.clone(),
    };
    let report = runtime()?.block_on(calibration_bench(&bench));
    for suffix in ["", "-wal", "-shm"] {
        let mut name = args.db.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(&name);
    }
    let report = report?;
    if args.json {
        return super::write_json(out, &report);
    }
    writeln!(
        out,
        "simulated hospital: {} beds, seed {}, ratings {}; {} hours back-filled in {} ms, imports {} ms, fits {} ms, refit and back-test {} ms",
        report.beds,
        report.seed,
        if report.signal { "with signal" } else { "pure noise" },
        report.hours,
        report.backfill_ms,
        report.import_ms,
        report.calibration_ms,
        report.refit_ms
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<6} {:<9} {:>8} {:>17} {:>8} {:>7} {:>6} {:>9} {:>8} {:>7}  careload's verdict",
        "ward", "fit", "optimum", "95 % interval", "truth", "error %", "R²", "R² truth", "resp. %", "shifts"
    )?;
    for w in &report.wards {
        for (scope, f) in [("together", &w.together), ("USK", &w.usk), ("SSK", &w.ssk)] {
            writeln!(out, "{}", fit_line(&w.ward, scope, f))?;
        }
    }
    if let Some(r) = &report.refit {
        writeln!(out)?;
        writeln!(
            out,
            "weights refitted on {} … {}: {}",
            r.fitted_from.date_naive(),
            r.fitted_to.date_naive(),
            if r.proposes_change {
                "a change is proposed".to_owned()
            } else {
                format!("no change ({})", r.reasons.join(", "))
            }
        )?;
        let scales: Vec<String> = r.scales.iter().map(|(c, s)| format!("{c} {s:.2}")).collect();
        writeln!(out, "scales: {}", scales.join(", "))?;
        writeln!(
            out,
            "back-test on the held-out dates {} … {} (R² of the mean rating on points per person):",
            r.tested_from, r.tested_to
        )?;
        for c in &r.backtest {
            writeln!(
                out,
                "  {:<10} {:>4} rated shifts  shipped {:>5}  candidate {:>5}",
                if c.ward.is_empty() { "all wards" } else { &c.ward },
                c.shifts,
                num(c.stored.r_squared, 2),
                num(c.candidate.r_squared, 2)
            )?;
        }
    }
    Ok(())
}
