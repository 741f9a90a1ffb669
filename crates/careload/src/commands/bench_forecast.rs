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
//!
//! `careload bench forecast-proof` runs the forecast's proof
//! (`careload_bench::forecast::forecast_bench`, as `crates/bench/tests/forecast.rs`
//! does for one seed) over several seeds and asks of the wards' P90 and P10
//! coverages whether they spread around the target more than the sampling
//! of their held-out shifts explains — the question behind "calibrated, per
//! ward" when one ward has only some forty shifts to judge.

use std::io::Write;

use careload_bench::forecast::{ForecastBench, HourlyBench, Spread, forecast_bench, hourly_bench};
use chrono::Utc;
use serde::Serialize;

use crate::cli::{BenchForecastArgs, BenchForecastProofArgs};
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

/// One ward of one seed's proof.
#[derive(Clone, Debug, Serialize)]
struct ProofWard {
    seed: u64,
    ward: String,
    /// Distinct held-out shifts judged.
    shifts: u32,
    /// Forecasts judged (each shift at every notice).
    forecasts: u32,
    mae_ratio: Option<f64>,
    p90_coverage: f64,
    p10_coverage: f64,
}

/// How one quantile's per-ward coverages spread.
#[derive(Clone, Debug, Serialize)]
struct Spread2 {
    /// The quantile's target coverage (0.9 or 0.1).
    target: f64,
    /// The band around it.
    band: (f64, f64),
    /// The wards' mean coverage.
    mean: f64,
    /// The standard deviation of the wards' coverages.
    sd: f64,
    /// The standard deviation sampling alone gives a perfectly calibrated
    /// ward: with each distinct shift one outcome (upper) and with each
    /// forecast one (lower; a shift's notices share much of their outcome).
    sampling_sd: (f64, f64),
    /// Share of wards inside the band.
    inside: f64,
    /// Share a perfectly calibrated ward would have inside the band by
    /// sampling alone (from the two sampling spreads).
    inside_if_calibrated: (f64, f64),
    /// Mean squared z-score of the wards' deviation from the target,
    /// with the shifts' sampling spread: about 1 when sampling explains it.
    dispersion: f64,
}

/// The normal distribution's cumulative probability (Abramowitz–Stegun 7.1.26, |error| < 1.5e-7).
fn phi(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly =
        t * (0.254_829_592 + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    if z >= 0.0 { 0.5 * (1.0 + erf) } else { 0.5 * (1.0 - erf) }
}

fn spread_of(wards: &[ProofWard], target: f64, band: (f64, f64), coverage: fn(&ProofWard) -> f64) -> Spread2 {
    let n = wards.len().max(1) as f64;
    let mean = wards.iter().map(coverage).sum::<f64>() / n;
    let sd = (wards.iter().map(|w| (coverage(w) - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let var = target * (1.0 - target);
    let sigma = |count: u32| (var / f64::from(count.max(1))).sqrt();
    let rms = |count: fn(&ProofWard) -> u32| (wards.iter().map(|w| sigma(count(w)).powi(2)).sum::<f64>() / n).sqrt();
    let within = |count: fn(&ProofWard) -> u32| {
        wards
            .iter()
            .map(|w| {
                let s = sigma(count(w));
                phi((band.1 - target) / s) - phi((band.0 - target) / s)
            })
            .sum::<f64>()
            / n
    };
    Spread2 {
        target,
        band,
        mean,
        sd,
        sampling_sd: (rms(|w| w.shifts), rms(|w| w.forecasts)),
        inside: wards
            .iter()
            .filter(|w| (band.0..=band.1).contains(&coverage(w)))
            .count() as f64
            / n,
        inside_if_calibrated: (within(|w| w.shifts), within(|w| w.forecasts)),
        dispersion: wards
            .iter()
            .map(|w| ((coverage(w) - target) / sigma(w.shifts)).powi(2))
            .sum::<f64>()
            / n,
    }
}

/// What `careload bench forecast-proof` found.
#[derive(Clone, Debug, Serialize)]
struct ProofReport {
    beds: u32,
    wards_per_hospital: u32,
    weeks: u32,
    learn_weeks: u32,
    skip_weeks: u32,
    wards: Vec<ProofWard>,
    p90: Spread2,
    p10: Spread2,
}

/// `careload bench forecast-proof`.
pub(crate) fn proof(args: &BenchForecastProofArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    init_logs("warn")?;
    if args.learn_weeks >= args.weeks {
        anyhow::bail!(
            "--learn-weeks {} leaves no week to judge of --weeks {}: give fewer, e.g. --weeks 8 --learn-weeks 6",
            args.learn_weeks,
            args.weeks
        );
    }
    let rt = runtime()?;
    let mut wards = Vec::new();
    for &seed in &args.seeds.0 {
        // a file of its own per seed: the last seed's pool may still be
        // closing its connections to the previous one
        let mut db = args.db.as_os_str().to_owned();
        db.push(format!(".seed{seed}"));
        let bench = ForecastBench {
            beds: args.beds,
            wards: args.wards,
            seed,
            weeks: args.weeks,
            learn_weeks: args.learn_weeks,
            skip_weeks: args.skip_weeks,
            now: Utc::now(),
            db: db.clone().into(),
        };
        let report = rt.block_on(forecast_bench(&bench));
        for suffix in ["", "-wal", "-shm"] {
            let mut name = db.clone();
            name.push(suffix);
            let _ = std::fs::remove_file(&name);
        }
        let report = report?;
        for w in &report.backtest.wards {
            let e = &w.ward_level;
            wards.push(ProofWard {
                seed,
                ward: w.ward.clone(),
                shifts: e.shifts,
                forecasts: e.forecasts - e.young,
                mae_ratio: e.mae_ratio,
                p90_coverage: e.p90_coverage,
                p10_coverage: e.p10_coverage,
            });
        }
        if !args.json {
            eprintln!(
                "seed {seed}: {} hours back-filled in {} ms, back-test {} ms",
                report.hours, report.backfill_ms, report.backtest_ms
            );
            // each seed's wards as they come: a long run that fails late keeps them
            for w in wards.iter().filter(|w| w.seed == seed) {
                eprintln!(
                    "  {}: {} shifts, MAE ratio {:?}, P90 coverage {:.3}, P10 coverage {:.3}",
                    w.ward, w.shifts, w.mae_ratio, w.p90_coverage, w.p10_coverage
                );
            }
        }
    }
    let report = ProofReport {
        beds: args.beds,
        wards_per_hospital: args.wards,
        weeks: args.weeks,
        learn_weeks: args.learn_weeks,
        skip_weeks: args.skip_weeks,
        p90: spread_of(&wards, 0.9, (0.88, 0.92), |w| w.p90_coverage),
        p10: spread_of(&wards, 0.1, (0.08, 0.12), |w| w.p10_coverage),
        wards,
    };
    if args.json {
        return super::write_json(out, &report);
    }
    writeln!(
        out,
        "{} simulated hospitals of {} beds and {} wards; {} weeks, errors learnt on weeks {}–{}, the rest judged\n",
        args.seeds.0.len(),
        args.beds,
        args.wards,
        args.weeks,
        1 + args.skip_weeks.min(args.learn_weeks.saturating_sub(1)),
        args.learn_weeks
    )?;
    let mut t = Table::new(
        [
            "seed",
            "ward",
            "shifts",
            "forecasts",
            "MAE ratio",
            "P90 coverage",
            "P10 coverage",
        ]
        .map(str::to_owned),
    )
    .right([0, 2, 3, 4, 5, 6]);
    for w in &report.wards {
        t.row([
            w.seed.to_string(),
            w.ward.clone(),
            w.shifts.to_string(),
            w.forecasts.to_string(),
            w.mae_ratio.map_or("–".to_owned(), |r| format!("{r:.2}")),
            format!("{:.3}", w.p90_coverage),
            format!("{:.3}", w.p10_coverage),
        ]);
    }
    t.write(out, 0)?;
    writeln!(out)?;
    let mut t = Table::new(
        [
            "quantile",
            "target",
            "wards' mean",
            "wards' SD",
            "sampling SD (shifts … forecasts)",
            "inside the band",
            "if calibrated",
            "dispersion",
        ]
        .map(str::to_owned),
    )
    .right([1, 2, 3, 5, 7]);
    for (name, s) in [("P90", &report.p90), ("P10", &report.p10)] {
        t.row([
            name.to_owned(),
            format!("{:.2}–{:.2}", s.band.0, s.band.1),
            format!("{:.3}", s.mean),
            format!("{:.3}", s.sd),
            format!("{:.3} … {:.3}", s.sampling_sd.0, s.sampling_sd.1),
            format!("{:.0} %", s.inside * 100.0),
            format!(
                "{:.0} … {:.0} %",
                s.inside_if_calibrated.0 * 100.0,
                s.inside_if_calibrated.1 * 100.0
            ),
            format!("{:.2}", s.dispersion),
        ]);
    }
    t.write(out, 0)?;
    writeln!(
        out,
        "\ndispersion: the wards' mean squared deviation from the target in units of one ward's sampling SD \
         (each held-out shift one outcome); about 1 when sampling explains the spread, well above 1 when \
         wards differ more than their shifts' sampling does"
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ward(p90: f64, shifts: u32) -> ProofWard {
        ProofWard {
            seed: 1,
            ward: "w".into(),
            shifts,
            forecasts: shifts * 16,
            mae_ratio: None,
            p90_coverage: p90,
            p10_coverage: 0.1,
        }
    }

    #[test]
    fn the_normal_cdf_is_right_to_six_places() {
        assert!((phi(0.0) - 0.5).abs() < 1e-6);
        assert!((phi(1.96) - 0.975).abs() < 1e-4);
        assert!((phi(-1.0) - 0.158_655).abs() < 1e-5);
    }

    #[test]
    fn wards_on_target_are_calibrated_and_a_biased_one_shows() {
        let on = [ward(0.9, 41), ward(0.9, 41)];
        let s = spread_of(&on, 0.9, (0.88, 0.92), |w| w.p90_coverage);
        assert!(s.dispersion.abs() < 1e-9 && s.inside == 1.0, "{s:?}");
        // 41 shifts: one ward's sampling SD is about 0.047, so the band ±0.02 holds a third
        assert!((s.sampling_sd.0 - 0.0469).abs() < 1e-3, "{s:?}");
        assert!((0.30..0.37).contains(&s.inside_if_calibrated.0), "{s:?}");
        let off = [ward(0.75, 41), ward(0.99, 41)];
        let s = spread_of(&off, 0.9, (0.88, 0.92), |w| w.p90_coverage);
        assert!(s.dispersion > 5.0 && s.inside == 0.0, "{s:?}");
    }
}
