//! `careload bench region` (issue 29): a region of `--hospitals` simulated
//! hospitals of `--beds-per-hospital` beds on one (PostgreSQL) database,
//! each a FHIR source of its own (`[sources.h01]` …) behind its own server —
//! the full and the incremental hourly run of all sources (started at once,
//! timed to the last one's end) with their phases and peak RSS, the region
//! overview and a ward screen under open-loop load while the runs write,
//! and `--export-days` of history exported ward × day. The work is
//! `careload_bench::region::region_bench`; this prints it against the
//! issue's targets. Run it from a release build for figures to quote, on
//! an empty database:
//! `careload bench region --db postgres://…/careload_region`.

use std::io::Write;

use anyhow::Context as _;

use careload_bench::region::RegionRun;
use careload_bench::{RegionBench, RegionReport, region_bench};
use chrono::Utc;

use crate::cli::BenchRegionArgs;
use crate::logs::init_logs;

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} MiB"))
}

/// `careload bench region`.
pub(crate) fn run(args: &BenchRegionArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    init_logs("warn")?;
    let servers = u32::try_from(args.fhir_urls.len())?;
    let hospitals = match args.hospitals {
        Some(n) if servers > 0 && n != servers => {
            anyhow::bail!("--hospitals {n} with {servers} --fhir-url: give one FHIR server per hospital")
        }
        Some(n) => n,
        None if servers > 0 => servers,
        None => 10,
    };
    let bench = RegionBench {
        db: args.db.clone(),
        hospitals,
        beds_per_hospital: args.beds_per_hospital,
        seed: args.seed,
        connections: args.connections,
        rate: args.rate,
        warmup: args.warmup,
        seconds: args.seconds,
        export_days: args.export_days,
        export_file: std::env::temp_dir().join(format!("careload-bench-region-{}.parquet", std::process::id())),
        now: Utc::now(),
        fhir_urls: args.fhir_urls.clone(),
    };
    // the runs (and the simulators in this process) below the API and the
    // load generator, whose runtimes the main thread builds, as in `serve`
    let report = careload_runner::priority::runs_runtime(args.run_nice)
        .context("cannot start the async runtime")?
        .block_on(region_bench(&bench))?;
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
        "region: {} hospitals × {} beds = {} beds, {} wards, {} departments, seeds {}–{}; store {}",
        r.hospitals,
        r.beds_per_hospital,
        r.beds,
        r.wards,
        r.departments,
        r.sources.first().map_or(r.seed, |s| s.seed),
        r.sources.last().map_or(r.seed, |s| s.seed),
        r.backend
    )?;
    let (first, last) = (
        r.sources.first().map_or("", |s| s.id.as_str()),
        r.sources.last().map_or("", |s| s.id.as_str()),
    );
    writeln!(
        out,
        "sources: {} FHIR sources [sources.{first}] … [sources.{last}] (ward prefixes {first}- …), each its own \
         simulated hospital, server, runner and pseudonym key; an hour's runs of all sources start at once",
        r.sources.len()
    )?;
    if r.external_servers {
        writeln!(
            out,
            "simulated hospitals in {} other processes: {} resources served; careload's RSS before reading {} \
             (the peaks below are careload's alone)",
            r.sources.len(),
            r.server_resources.unwrap_or_default(),
            mib(r.rss_after_sim_mib)
        )?;
    } else {
        writeln!(
            out,
            "simulated hospitals in this process: {} resources served, built and served in {} ms, RSS then {} \
             (included in every peak below; a --fhir-url per hospital for careload's alone)",
            r.server_resources.unwrap_or_default(),
            r.sim_start_ms,
            mib(r.rss_after_sim_mib)
        )?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<18} {:>7} {:>8} {:>13} {:>7} | {:>8} {:>9} {:>8} {:>7} {:>8} | {:>8} {:>7} {:>6} {:>9} {:>6} {:>8} | {:>8}",
        "run, all sources",
        "advance",
        "wall",
        "slowest",
        "median",
        "requests",
        "resources",
        "held",
        "pruned",
        "patients",
        "fetch",
        "(parse)",
        "merge",
        "map+score",
        "write",
        "runs",
        "peak RSS"
    )?;
    let row = |out: &mut dyn Write, name: &str, r: &RegionRun| -> std::io::Result<()> {
        let p = &r.phases;
        writeln!(
            out,
            "{:<18} {:>7} {:>8} {:>13} {:>7} | {:>8} {:>9} {:>8} {:>7} {:>8} | {:>8} {:>7} {:>6} {:>9} {:>6} {:>8} | {:>8}",
            name,
            r.advance_ms,
            r.wall_ms,
            format!("{} {}", r.slowest_ms, r.slowest_source),
            r.median_ms,
            r.requests,
            r.resources_fetched,
            r.resources_held,
            r.resources_pruned,
            r.patients,
            p.fetch_ms,
            p.parse_ms,
            p.merge_ms,
            p.map_score_ms,
            p.write_ms,
            p.run_ms,
            mib(r.peak_rss_mib)
        )
    };
    row(out, r.full.kind, &r.full)?;
    row(out, r.incremental.kind, &r.incremental)?;
    row(out, &format!("{}, load", r.under_load.kind), &r.under_load)?;
    writeln!(
        out,
        "times in ms; `wall` from the runs' start to the last one's end (the hourly run of all sources), \
         `slowest` and `median` the sources' own times (run lock to run end), the phases to the right summed \
         over the sources (overlapping runs: more than the wall time), `advance` the servers' clocks moved \
         before the runs (the servers' work)"
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<8} {:>6} {:>8} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9}",
        "source", "wards", "patients", "full", "incr", "incr load", "fetch", "fetch", "fetch"
    )?;
    for (i, s) in r.sources.iter().enumerate() {
        let at = |run: &RegionRun| run.sources.get(i).cloned();
        let (f, n, l) = (at(&r.full), at(&r.incremental), at(&r.under_load));
        let own = |x: &Option<careload_bench::region::SourceRun>| x.as_ref().map_or(0, |x| x.own_ms);
        let fetch = |x: &Option<careload_bench::region::SourceRun>| x.as_ref().map_or(0, |x| x.fetch_ms);
        writeln!(
            out,
            "{:<8} {:>6} {:>8} | {:>9} {:>9} {:>9} | {:>9} {:>9} {:>9}",
            s.id,
            s.wards.len(),
            f.as_ref().map_or(0, |x| x.patients),
            own(&f),
            own(&n),
            own(&l),
            fetch(&f),
            fetch(&n),
            fetch(&l)
        )?;
    }
    writeln!(
        out,
        "per source, ms: its own time in the full, incremental and loaded runs, then its fetch in each; its \
         hour now {}",
        r.sources
            .iter()
            .map(|s| format!(
                "{} {}",
                s.id,
                s.hour.map_or_else(|| "-".to_owned(), |h| h.format("%H:%M").to_string())
            ))
            .collect::<Vec<_>>()
            .join(", ")
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "screens: {} connections, {} req/s offered over both paths (open loop, latency from schedule, gzip accepted); \
         the runs' threads at nice +{} below the API's and the load's",
        r.connections, r.rate, r.runs_nice
    )?;
    writeln!(
        out,
        "{:<28} {:<11} {:>8} {:>6} {:>7} {:>6} {:>7} {:>8} {:>8} {:>8} {:>12}",
        "path", "window", "requests", "200", "non-2xx", "errors", "s", "p50 ms", "p99 ms", "max ms", "sent p99 ms"
    )?;
    for p in &r.http {
        writeln!(
            out,
            "{:<28} {:<11} {:>8} {:>6} {:>7} {:>6} {:>7.1} {:>8.2} {:>8.2} {:>8.2} {:>12.2}",
            p.path,
            p.window,
            p.requests,
            p.ok,
            p.non_2xx,
            p.errors,
            p.seconds,
            p.p50_ms,
            p.p99_ms,
            p.max_ms,
            p.send_p99_ms
        )?;
    }
    writeln!(
        out,
        "latency from each request's scheduled instant to its whole answer read; `sent p99`: the part before it was sent \
         (the load generator's own delay, included in the latency)"
    )?;
    writeln!(
        out,
        "region overview after the runs: {} hospitals, {} wards ({} of no hospital), {} patients",
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
