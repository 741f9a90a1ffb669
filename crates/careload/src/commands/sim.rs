//! `careload sim`: simulate a hospital (`careload_sim`) for some hours and
//! write its FHIR R4 resources as Bulk Data style NDJSON files, optionally
//! also as one transaction Bundle, and its planned staffing as the
//! scheduling system's CSV; print the counts and the model's figures.
//! `careload sim serve`: serve the hospital as a FHIR R4 REST API over HTTP
//! (`careload_sim::server`) until Ctrl-C.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::Context;
use careload_sim::{Hospital, SimConfig, SimServer, SimStats, server};
use chrono::{DurationRound, TimeDelta, Utc};

use super::heading;
use crate::cli::{HospitalArgs, SimArgs, SimCommand, SimServeArgs};
use crate::table::Table;

/// `careload sim …`.
///
/// # Errors
/// The output directory or a file cannot be written; the server cannot listen.
pub(crate) fn run(args: &SimArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    match &args.command {
        Some(SimCommand::Serve(serve_args)) => serve(serve_args, out),
        None => write(args, out),
    }
}

/// The simulated hospital after `hours`.
fn hospital(args: &HospitalArgs, hours: u32) -> anyhow::Result<Hospital> {
    let start = match args.start {
        Some(t) => t,
        None => Utc::now().duration_trunc(TimeDelta::hours(1))?,
    };
    let config = SimConfig {
        beds: args.beds,
        ..SimConfig::new(args.seed, start)
    };
    let mut hospital = Hospital::new(config)?;
    hospital.advance_hours(hours);
    Ok(hospital)
}

/// `careload sim serve …`.
fn serve(args: &SimServeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let speed = args.speed.or(args.follow_clock.then_some(1.0));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}; choose another address with --listen", args.listen))?;
        let addr = listener.local_addr().context("cannot read the address listened on")?;
        let h = hospital(&args.hospital, args.hours)?;
        let stats = h.stats();
        let sim = match &args.base_url {
            Some(b) => SimServer::with_base_url(h, b),
            None => SimServer::new(h),
        };
        let base = args
            .base_url
            .clone()
            .map(|b| b.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| server::base_url(addr));
        let clock = match speed {
            Some(1.0) => "following the wall clock".to_owned(),
            Some(s) => format!("following the wall clock at {s} simulated hours per hour"),
            None => format!(
                "time stands still (POST {}/sim/advance?hours=N)",
                base.trim_end_matches("/fhir")
            ),
        };
        writeln!(out, "{base}")?;
        writeln!(
            out,
            "serving {} beds (seed {}, {} wards, {} inpatients, {} resources) at simulated {}; {clock}; Ctrl-C stops",
            stats.beds,
            args.hospital.seed,
            stats.wards.len(),
            stats.inpatients,
            sim.resource_count(),
            sim.now().to_rfc3339(),
        )?;
        out.flush()?;
        let clock = speed.map(|s| tokio::spawn(server::follow_clock(sim.clone(), s)));
        server::serve(listener, sim, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        if let Some(c) = clock {
            c.abort();
        }
        writeln!(out, "stopped")?;
        Ok(())
    })
}

/// `careload sim --out DIR …`.
fn write(args: &SimArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let dir = args
        .out
        .as_ref()
        .context("give --out DIR to write files, or use `careload sim serve`")?;
    let hospital = hospital(&args.hospital, args.hours)?;
    let summary = hospital.write_ndjson(dir)?;
    writeln!(
        out,
        "simulated {} beds, seed {}, from {} to {} ({} h); wrote {} resources to {}",
        args.hospital.beds,
        args.hospital.seed,
        hospital.start().to_rfc3339(),
        hospital.now().to_rfc3339(),
        args.hours,
        summary.total(),
        dir.display()
    )?;
    let mut t = Table::new(["resource type", "count", "file"]).right([1]);
    for ((ty, n), file) in summary.counts.iter().zip(&summary.files) {
        t.row([(*ty).to_owned(), n.to_string(), file.display().to_string()]);
    }
    if args.bundle {
        let path = dir.join("bundle.json");
        let file = File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
        let mut w = BufWriter::new(file);
        let n = hospital.write_transaction_bundle(&mut w)?;
        w.flush().with_context(|| format!("cannot write {}", path.display()))?;
        t.row([
            "Bundle (transaction)".to_owned(),
            n.to_string(),
            path.display().to_string(),
        ]);
    }
    if let Some(size) = args.batches {
        let (files, n) = hospital.write_batch_bundles(dir, size as usize)?;
        t.row([
            format!("Bundle (batch, at most {size} each)"),
            n.to_string(),
            format!("{} files: {}/batch-*.json", files.len(), dir.display()),
        ]);
    }
    // the scheduling system's export for the same days and two ahead, for
    // POST /api/v1/staffing/csv (docs/planned-staffing-csv.md); local dates
    // in the simulator's clock (UTC+1)
    let local = |t: chrono::DateTime<Utc>| (t + TimeDelta::hours(careload_sim::LOCAL_UTC_OFFSET_HOURS)).date_naive();
    let (first, last) = (local(hospital.start()), local(hospital.now()) + TimeDelta::days(2));
    let days = (last - first).num_days() as u32 + 1;
    let path = dir.join("planned-staffing.csv");
    let csv = hospital.staffing_csv(first, days);
    std::fs::write(&path, &csv).with_context(|| format!("cannot write {}", path.display()))?;
    t.row([
        format!("planned staffing ({first} to {last})"),
        (csv.lines().count() - 1).to_string(),
        path.display().to_string(),
    ]);
    heading(out, "resources")?;
    t.write(out, 0)?;
    write_stats(&hospital.stats(), out)
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

fn write_stats(s: &SimStats, out: &mut dyn Write) -> anyhow::Result<()> {
    heading(out, "model")?;
    let mut t = Table::headerless(2);
    t.row(["inpatients now".to_owned(), s.inpatients.to_string()]);
    t.row(["occupancy (time-averaged)".to_owned(), pct(s.occupancy)]);
    t.row(["occupancy now".to_owned(), pct(s.occupancy_now)]);
    t.row([
        "admissions / discharges".to_owned(),
        format!("{} / {}", s.admissions, s.discharges),
    ]);
    let los = match &s.los_days {
        Some(l) => format!(
            "median {:.1} d, mean {:.1} d, p10–p90 {:.1}–{:.1} d (n = {})",
            l.median, l.mean, l.p10, l.p90, l.count
        ),
        None => "no discharges yet".to_owned(),
    };
    t.row(["length of stay".to_owned(), los]);
    let [walks, help, chair, bed] = s.norton_mix;
    t.row([
        "Norton activity".to_owned(),
        format!(
            "walks {}, with help {}, wheelchair {}, bedridden {}",
            pct(walks),
            pct(help),
            pct(chair),
            pct(bed)
        ),
    ]);
    let n: u64 = s.news2_histogram.iter().sum();
    let share = |r: std::ops::RangeInclusive<usize>| {
        let k: u64 = s.news2_histogram[r].iter().sum();
        pct(k as f64 / n.max(1) as f64)
    };
    t.row([
        "NEWS2 measurements".to_owned(),
        format!("{n}: 0–4 {}, 5–6 {}, 7+ {}", share(0..=4), share(5..=6), share(7..=20)),
    ]);
    let [low, mid, high] = s.news2_patient_mix;
    t.row([
        "NEWS2 of inpatients".to_owned(),
        format!("0–4 {}, 5–6 {}, 7+ {} of patient-hours", pct(low), pct(mid), pct(high)),
    ]);
    t.row([
        "outliers".to_owned(),
        format!("{} of patient-hours, {} now", pct(s.outlier_share), s.outliers_now),
    ]);
    t.row(["admitted in the last 24 h".to_owned(), s.newly_admitted.to_string()]);
    t.write(out, 0)?;
    heading(out, "wards")?;
    let mut w = Table::new(["ward", "specialty", "care category", "beds", "now", "occupancy"]).right([3, 4, 5]);
    for ward in &s.wards {
        w.row([
            ward.id.clone(),
            ward.specialty.to_owned(),
            ward.care_category.to_owned(),
            ward.beds.to_string(),
            ward.occupied_now.to_string(),
            pct(ward.occupancy),
        ]);
    }
    w.write(out, 0)?;
    Ok(())
}
