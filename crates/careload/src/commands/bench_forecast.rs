//! `careload bench forecast`: what the next-shift forecast (issue 28) costs
//! each hourly run of a large hospital. A simulated hospital (`--beds`,
//! 1,000 by default) is back-filled through the real pipeline for a day
//! and a little more, each ward's and team's error model filled with eight
//! weeks of synthetic samples, and `--runs` hourly runs timed: the
//! learner's new hour (every ward's patients read once, decoded and
//! forecast, the ended shifts judged), then P10/P50/P90 and risk of both
//! shifts for every ward and team against the planned staffing. The work and what is synthetic are
//! `careload_bench::forecast::hourly_bench`'s (its module doc); this prints
//! it. The target is under 50 ms per hourly run.

use std::io::Write;

use careload_bench::forecast::{HourlyBench, Spread, hourly_bench};
use chrono::Utc;

use crate::cli::BenchForecastArgs;
use crate::commands::service::runtime;
use crate::logs::init_logs;
use crate::table::Table;

fn row(name: &str, s: &Spread) -> [String; 4] {
    [
        name.to_owned(),
        format!("{:.1}", s.min),
        format!("{:.1}", s.median),
        format!("{:.1}", s.p95),
    ]
}

/// `careload bench forecast`.
pub(crate) fn run(args: &BenchForecastArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    init_logs("warn")?;
    let bench = HourlyBench {
        beds: args.beds,
        seed: args.seed,
        runs: args.runs,
        history_weeks: 8,
        now: Utc::now(),
        db: args.db.clone(),
    };
    let report = runtime()?.block_on(hourly_bench(&bench));
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
        "simulated hospital: {} beds, seed {}, {} wards, {} patients; {} hours back-filled in {} ms; {} scopes (wards and teams) × {} synthetic samples, set up in {} ms",
        report.beds,
        report.seed,
        report.wards,
        report.patients,
        report.hours,
        report.backfill_ms,
        report.scopes,
        report.samples_per_scope,
        report.setup_ms
    )?;
    writeln!(
        out,
        "each hourly run: {} predictions (both shifts, every ward and team; {} young), {} risks of understaffing",
        report.predictions, report.young, report.risks
    )?;
    writeln!(out)?;
    let mut t = Table::new([
        format!("{} runs, ms", report.runs.len()),
        "min".to_owned(),
        "median".to_owned(),
        "p95".to_owned(),
    ])
    .right([1, 2, 3]);
    t.row(row("learn the new hour (read, forecast, judge)", &report.learn));
    t.row(row("every ward's P10/P50/P90 and risk", &report.forecast));
    t.row(row("hourly run", &report.total));
    t.write(out, 0)?;
    writeln!(
        out,
        "\ntarget: under 50 ms per hourly run: {}",
        if report.total.median < 50.0 {
            "met (median)"
        } else {
            "not met (median); a debug build is slower, see docs/benchmarks.md"
        }
    )?;
    Ok(())
}
