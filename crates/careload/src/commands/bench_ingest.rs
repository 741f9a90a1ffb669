//! `careload bench ingest`: a simulated hospital served on loopback, read
//! in full and then incrementally through the real pipeline, with each
//! phase's time and the peak RSS. The work is
//! `careload_bench::ingest::ingest_bench`; this prints it.
//!
//! Run it from a release build for figures to quote:
//! `cargo run --release -- bench ingest --beds 1000`, or with the server in
//! a process of its own so that the peak RSS is careload's alone:
//! `careload sim serve --beds 1000 --listen 127.0.0.1:8090 &` then
//! `careload bench ingest --fhir-url http://127.0.0.1:8090/fhir`.

use std::io::Write;

use careload_bench::{IngestBench, ingest_bench};
use chrono::Utc;

use crate::cli::BenchIngestArgs;
use crate::commands::service::runtime;
use crate::logs::init_logs;

fn mib(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0} MiB"))
}

/// `careload bench ingest`.
pub(crate) fn run(args: &BenchIngestArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    init_logs("info")?;
    let bench = IngestBench {
        beds: args.beds,
        seed: args.seed,
        hours_incremental: args.hours_incremental,
        start: Utc::now(),
        db: args.db.clone(),
        fhir_url: args.fhir_url.clone(),
    };
    let report = runtime()?.block_on(ingest_bench(&bench))?;
    if args.json {
        return super::write_json(out, &report);
    }
    match (&args.fhir_url, report.server_resources) {
        (Some(url), _) => writeln!(
            out,
            "FHIR server in another process: {url}; careload's RSS before reading {}",
            mib(report.rss_after_sim_mib)
        )?,
        (None, served) => writeln!(
            out,
            "simulated hospital: {} beds, seed {}, {} resources served; built and served in {} ms, RSS then {}",
            report.beds,
            report.seed,
            served.unwrap_or_default(),
            report.sim_start_ms,
            mib(report.rss_after_sim_mib)
        )?,
    }
    writeln!(
        out,
        "{:<12} {:>8} {:>9} {:>8} {:>7} {:>8} | {:>8} {:>8} {:>7} {:>7} {:>6} {:>6} {:>7} | {:>9} {:>9}",
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
        "store",
        "total ms",
        "peak RSS"
    )?;
    for r in &report.runs {
        let p = &r.phases;
        writeln!(
            out,
            "{:<12} {:>8} {:>9} {:>8} {:>7} {:>8} | {:>8} {:>8} {:>7} {:>7} {:>6} {:>6} {:>7} | {:>9} {:>9}",
            r.kind,
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
        )?;
    }
    writeln!(
        out,
        "times in ms; `total` is careload's (fetch to store), `advance` the simulator's; peak RSS of the whole process ({}): {}",
        if args.fhir_url.is_some() {
            "careload alone"
        } else {
            "simulator included"
        },
        mib(report.peak_rss_mib)
    )?;
    Ok(())
}
