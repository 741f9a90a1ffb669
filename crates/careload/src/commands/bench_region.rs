//! `careload bench region` (issue 29): a region of `--hospitals` configured
//! hospitals of `--beds-per-hospital` beds on one (PostgreSQL) database —
//! the full and the incremental hourly run with their phases and peak RSS,
//! the region overview and a ward screen under open-loop load while a run
//! writes, and `--export-days` of history exported ward × day. The work is
//! `careload_bench::region::region_bench`; this prints it against the
//! issue's targets.
//!
//! Several FHIR sources in one service are not built: the region is one
//! simulated hospital of all the beds, read as one source, its wards split
//! into the configured hospitals. Run it from a release build for figures
//! to quote, on an empty database:
//! `careload bench region --db postgres://…/careload_region`.

use std::io::Write;

use careload_bench::{BenchRun, RegionBench, RegionReport, region_bench};
use chrono::Utc;

use crate::cli::BenchRegionArgs;
use crate::commands::service::runtime;
use crate::logs::init_logs;

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} MiB"))
}

/// `careload bench region`.
pub(crate) fn run(args: &BenchRegionArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    init_logs("warn")?;
    let bench = RegionBench {
        db: args.db.clone(),
        hospitals: args.hospitals,
        beds_per_hospital: args.beds_per_hospital,
        seed: args.seed,
        connections: args.connections,
        rate: args.rate,
        warmup: args.warmup,
        seconds: args.seconds,
        export_days: args.export_days,
        export_file: std::env::temp_dir().join(format!("careload-bench-region-{}.parquet", std::process::id())),
        now: Utc::now(),
        fhir_url: args.fhir_url.clone(),
    };
    let report = runtime()?.block_on(region_bench(&bench))?;
    if args.json {
        return super::write_json(out, &report);
    }
    print(&report, out)
}

fn print(r: &RegionReport, out: &mut dyn Write) -> anyhow::Result<()> {
    if r.debug_build {
        writeln!(
            out,
            "DEBUG BUILD: these figures are not the targets' (cargo build --release -p careload)"
        )?;
    }
    writeln!(
        out,
        "region: {} hospitals × {} beds = {} beds, {} wards, {} departments, seed {}; store {}",
        r.hospitals, r.beds_per_hospital, r.beds, r.wards, r.departments, r.seed, r.backend
    )?;
    writeln!(out, "{}", r.sources)?;
    if r.external_server {
        writeln!(
            out,
            "simulated hospital in another process: {} resources served; careload's RSS before reading {} \
             (the peaks below are careload's alone)",
            r.server_resources.unwrap_or_default(),
            mib(r.rss_after_sim_mib)
        )?;
    } else {
        writeln!(
            out,
            "simulated hospital in this process: {} resources served, built and served in {} ms, RSS then {} \
             (included in every peak below; --fhir-url for careload's alone)",
            r.server_resources.unwrap_or_default(),
            r.sim_start_ms,
            mib(r.rss_after_sim_mib)
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<18} {:>8} {:>9} {:>8} {:>7} {:>8} | {:>8} {:>8} {:>7} {:>7} {:>6} {:>6} {:>7} | {:>9} {:>9}",
        "run",
        "requests",
        "resources",
        "held",
        "pruned",
        "patients",
        "advance",
        "fetch",
        "(parse)",
        "merge",
        "map",
        "score",
        "write",
        "total ms",
        "peak RSS"
    )?;
    let row = |out: &mut dyn Write, name: &str, r: &BenchRun| -> std::io::Result<()> {
        let p = &r.phases;
        writeln!(
            out,
            "{:<18} {:>8} {:>9} {:>8} {:>7} {:>8} | {:>8} {:>8} {:>7} {:>7} {:>6} {:>6} {:>7} | {:>9} {:>9}",
            name,
            r.requests,
            r.resources_fetched,
            r.resources_held,
            r.resources_pruned,
            r.patients,
            p.sim_advance_ms,
            p.fetch_ms,
            p.parse_ms,
            p.merge_ms,
            p.map_ms,
            p.score_ms,
            p.store_ms,
            p.total_ms,
            mib(r.peak_rss_mib)
        )
    };
    row(out, "full", &r.full)?;
    row(out, "incremental", &r.incremental)?;
    row(out, "incremental, load", &r.under_load)?;
    writeln!(
        out,
        "times in ms; `total` is careload's (fetch to write), `advance` the simulator's"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "screens: {} connections, {} req/s offered over both paths (open loop, latency from schedule, gzip accepted)",
        r.connections, r.rate
    )?;
    writeln!(
        out,
        "{:<28} {:<11} {:>8} {:>6} {:>7} {:>6} {:>7} {:>8} {:>8} {:>8}",
        "path", "window", "requests", "200", "non-2xx", "errors", "s", "p50 ms", "p99 ms", "max ms"
    )?;
    for p in &r.http {
        writeln!(
            out,
            "{:<28} {:<11} {:>8} {:>6} {:>7} {:>6} {:>7.1} {:>8.2} {:>8.2} {:>8.2}",
            p.path, p.window, p.requests, p.ok, p.non_2xx, p.errors, p.seconds, p.p50_ms, p.p99_ms, p.max_ms
        )?;
    }
    writeln!(
        out,
        "region overview after the run: {} hospitals, {} wards ({} of no hospital), {} patients",
        r.region.hospitals, r.region.wards, r.region.wards_without_hospital, r.region.patients
    )?;
    let e = &r.export;
    writeln!(out)?;
    writeln!(
        out,
        "history: the full run's hour copied to {} earlier hours ({} patient rows, no snapshots) in {} ms",
        e.replicated_hours, e.replicated_rows, e.replicate_ms
    )?;
    writeln!(
        out,
        "export ward × day, Parquet, {} to {} ({} days × {} wards): {} rows from {} unit-hours in {} ms, {:.1} KiB",
        e.from,
        e.to,
        e.days,
        e.wards,
        e.rows,
        e.unit_hours_read,
        e.export_ms,
        e.file_bytes as f64 / 1024.0
    )?;
    writeln!(out, "peak RSS of the process: {}", mib(r.peak_rss_mib))?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<52} {:>16} {:>10} {}",
        "target",
        "",
        "measured",
        if r.debug_build { "(debug build)" } else { "" }
    )?;
    for t in &r.targets {
        writeln!(
            out,
            "{:<52} {:>16} {:>10.2} {}",
            t.figure,
            t.target,
            t.measured,
            if t.met { "met" } else { "NOT MET" }
        )?;
    }
    Ok(())
}
