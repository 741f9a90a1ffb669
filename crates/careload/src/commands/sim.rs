//! `careload sim`: simulate a hospital (`careload_sim`) for some hours and
//! write its FHIR R4 resources as Bulk Data style NDJSON files, optionally
//! also as one transaction Bundle; print the counts and the model's figures.

use std::fs::File;
use std::io::{BufWriter, Write};

use anyhow::Context;
use careload_sim::{Hospital, SimConfig, SimStats};
use chrono::{DurationRound, TimeDelta, Utc};

use super::heading;
use crate::cli::SimArgs;
use crate::table::Table;

/// `careload sim …`.
///
/// # Errors
/// The output directory or a file cannot be written.
pub(crate) fn run(args: &SimArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let start = match args.start {
        Some(t) => t,
        None => Utc::now().duration_trunc(TimeDelta::hours(1))?,
    };
    let config = SimConfig {
        beds: args.beds,
        ..SimConfig::new(args.seed, start)
    };
    let mut hospital = Hospital::new(config)?;
    hospital.advance_hours(args.hours);
    let summary = hospital.write_ndjson(&args.out)?;
    writeln!(
        out,
        "simulated {} beds, seed {}, from {} to {} ({} h); wrote {} resources to {}",
        args.beds,
        args.seed,
        hospital.start().to_rfc3339(),
        hospital.now().to_rfc3339(),
        args.hours,
        summary.total(),
        args.out.display()
    )?;
    let mut t = Table::new(["resource type", "count", "file"]).right([1]);
    for ((ty, n), file) in summary.counts.iter().zip(&summary.files) {
        t.row([(*ty).to_owned(), n.to_string(), file.display().to_string()]);
    }
    if args.bundle {
        let path = args.out.join("bundle.json");
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
