//! The next-shift forecast's proof and its cost (issue 28).
//!
//! # The proof: [`forecast_bench`]
//!
//! 1. A small simulated hospital ([`ForecastBench`]: 60 beds, 2 wards,
//!    seed 5 in the test) is back-filled through careload's real pipeline
//!    for [`ForecastBench::weeks`] weeks (8) into a SQLite store and its
//!    planned staffing imported, exactly as the calibration's proof does
//!    ([`crate::calibration::simulate`]).
//! 2. The forecast is back-tested as `careload forecast backtest` does
//!    ([`careload_app::forecast::backtest`]): the scheduled forecast's
//!    errors are learnt from the first [`ForecastBench::learn_weeks`] weeks
//!    (6) only, then every forecast made from an hour of the remaining
//!    weeks (2, **held out**) of a shift that ended before the present is
//!    judged against what was stored over the shift: the P50's and the
//!    scheduled-only forecast's mean absolute error, the P90's and P10's
//!    coverage, the risk of understaffing against the imported plan.
//! 3. The report ([`ForecastReport`]) has the back-test per ward and pooled,
//!    and how long each step took.
//!
//! `crates/bench/tests/forecast.rs` asserts the targets on it.
//!
//! # The cost: [`hourly_bench`]
//!
//! What the forecast adds to each hourly run of a large hospital
//! ([`HourlyBench`]: 1,000 beds by default, the simulator's 33 wards):
//!
//! * the learner's incremental [`Learner::learn`] of the one new stored
//!   hour (every ward's next two shifts re-forecast from its patients,
//!   ward and teams, and the shifts that ended resolved against the stored
//!   hours);
//! * for every ward, what the planning page does: its patients and planned
//!   staffing read ([`HourlyRun::read_ms`]), the scheduled forecast of the
//!   next two shifts ([`scheduled_needs`], [`HourlyRun::scheduled_ms`])
//!   and, for the ward and every team of both shifts, the P10/P50/P90 and
//!   the risk of understaffing against the plan, as
//!   [`careload_app::forecast::shift_forecasts`] computes them
//!   ([`HourlyRun::uncertainty_ms`]).
//!
//! The store holds the hospital back-filled through the real pipeline for
//! a day and a little more (26 hours, or the runs plus 6). Eight weeks of
//! 1,000 beds through the pipeline would take hours, so each scope's error
//! model is filled with **synthetic samples**: one per hour of the 8 weeks
//! before the first timed hour and each of its next two shifts (the shift
//! names, dates and notices the ward's own shift plan gives, as the learner
//! makes them), the realised need a deterministic pseudo-random 0.75–1.45
//! times the scheduled one with a weekday rhythm. The prediction's cost
//! depends on the number of samples and their notices, not on their
//! values. The synthetic models are put into the learner
//! (`Learner::insert_model`); each timed run is what the service does after
//! an hourly run: the learner's `learn` of the new stored hour (one read of
//! every ward's patients, decoded, their scheduled forecast of both shifts
//! kept as the latest, the shifts that ended judged) and
//! `careload_app::forecast::hospital_forecasts` (the planned staffing read
//! once, every ward's and team's P10/P50/P90 and risk of both shifts).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use careload_app::forecast::{
    ForecastBacktest, Learner, Scope, backtest, hospital_forecasts, lead_hours, next_two, scheduled_needs,
};
use careload_planning::staff_hours_for;
use careload_planning::uncertainty::{DEFAULT_RISK_LEVEL, ErrorModel, ErrorSample};
use careload_scoring::aggregate::NO_TEAM;
use careload_scoring::score::{Components, Split};
use careload_scoring::{Points, Qty};
use careload_sim::Truth;
use chrono::{DateTime, Datelike, Duration as Span, Utc};
use serde::Serialize;

use crate::calibration::{SimSetup, Simulated, simulate};
use crate::{Error, Result};

/// The proof's hospital and periods.
#[derive(Clone, Debug)]
pub struct ForecastBench {
    /// Regular beds of the simulated hospital.
    pub beds: u32,
    /// Its wards.
    pub wards: u32,
    /// Its seed.
    pub seed: u64,
    /// Weeks back-filled (8).
    pub weeks: u32,
    /// Of those, the first weeks the errors are learnt from (6); the rest are judged.
    pub learn_weeks: u32,
    /// Of the learning weeks, the first this many are left out (0): the
    /// simulator starts warm but not settled, which a real ward never is.
    pub skip_weeks: u32,
    /// The present: the back-fill runs through the hour before it.
    pub now: DateTime<Utc>,
    /// The SQLite file the hours are written to (deleted first).
    pub db: PathBuf,
}

/// What the proof found.
#[derive(Clone, Debug, Serialize)]
pub struct ForecastReport {
    /// Regular beds.
    pub beds: u32,
    /// The seed.
    pub seed: u64,
    /// Hours back-filled.
    pub hours: usize,
    /// The back-test: per ward, pooled, by notice.
    pub backtest: ForecastBacktest,
    /// Building and serving the hospital, and the back-fill.
    pub backfill_ms: u64,
    /// The planned staffing's import.
    pub staffing_ms: u64,
    /// The back-test (learning and judging).
    pub backtest_ms: u64,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The stored hours of the store, oldest first (at most `hours` + 2 days before `now`).
async fn stored_hours(app: &careload_app::App, hours: u32, now: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
    let from = now - Span::hours(i64::from(hours) + 48);
    Ok(app.store.stored_hours(from, now + Span::hours(1)).await?)
}

/// Runs the proof (see the module doc).
///
/// # Errors
/// The hospital cannot be built or served, the runner, the store or the
/// import refuses, or the back-test does (fewer weeks back-filled than
/// learnt from).
pub async fn forecast_bench(bench: &ForecastBench) -> Result<ForecastReport> {
    let backfill_hours = bench.weeks * 7 * 24;
    let simulated = simulate(&SimSetup {
        beds: bench.beds,
        wards: Some(bench.wards),
        seed: bench.seed,
        truth: Truth::default(),
        backfill_hours,
        now: bench.now,
        db: bench.db.clone(),
        actor: "forecast bench",
    })
    .await?;
    let app = &simulated.app;
    let t = Instant::now();
    let hours = stored_hours(app, backfill_hours, bench.now).await?;
    let (Some(&start), Some(&last)) = (hours.first(), hours.last()) else {
        return Err(Error::Task("the back-fill stored no hour".into()));
    };
    let from = start + Span::weeks(i64::from(bench.learn_weeks));
    let learn_from = start + Span::weeks(i64::from(bench.skip_weeks.min(bench.learn_weeks.saturating_sub(1))));
    let report = backtest(app, learn_from, from, last + Span::hours(1)).await?;
    Ok(ForecastReport {
        beds: bench.beds,
        seed: bench.seed,
        hours: simulated.hours,
        backtest: report,
        backfill_ms: simulated.backfill_ms,
        staffing_ms: simulated.staffing_ms,
        backtest_ms: ms(t.elapsed()),
    })
}

/// The cost bench's hospital and runs.
#[derive(Clone, Debug)]
pub struct HourlyBench {
    /// Regular beds of the simulated hospital (wards: one per 30 beds).
    pub beds: u32,
    /// Its seed.
    pub seed: u64,
    /// Hourly runs timed, one stored hour each.
    pub runs: u32,
    /// Weeks of synthetic samples in each scope's error model (8).
    pub history_weeks: u32,
    /// The present: the back-fill runs through the hour before it.
    pub now: DateTime<Utc>,
    /// The SQLite file the hours are written to (deleted first).
    pub db: PathBuf,
}

/// One timed hourly run.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct HourlyRun {
    /// The stored hour it forecast from.
    pub hour: DateTime<Utc>,
    /// The learner's incremental learn of that hour: every ward's patients
    /// read (one read for the hospital) and decoded, their scheduled forecast
    /// of both shifts (kept as the latest), and the shifts that ended judged.
    pub learn_ms: f64,
    /// `careload_app::forecast::hospital_forecasts`: the planned staffing
    /// read once, and for every ward and team of both shifts the P10/P50/P90
    /// and risk from the latest scheduled forecast.
    pub forecast_ms: f64,
    /// The two together.
    pub total_ms: f64,
}

/// Minimum, median and 95th percentile (nearest rank), in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Spread {
    /// The fastest.
    pub min: f64,
    /// The median.
    pub median: f64,
    /// The 95th percentile.
    pub p95: f64,
}

impl Spread {
    /// The spread of `values` (any order).
    #[must_use]
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let mut v: Vec<f64> = values.into_iter().collect();
        v.sort_by(f64::total_cmp);
        let at = |q: f64| -> f64 {
            if v.is_empty() {
                return f64::NAN;
            }
            let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
            v[i]
        };
        Spread {
            min: at(0.0),
            median: at(0.5),
            p95: at(0.95),
        }
    }
}

/// What the cost bench measured.
#[derive(Clone, Debug, Serialize)]
pub struct HourlyReport {
    /// Regular beds.
    pub beds: u32,
    /// The seed.
    pub seed: u64,
    /// Wards forecast each run.
    pub wards: usize,
    /// Scopes (wards and teams) with an error model.
    pub scopes: usize,
    /// Synthetic samples per scope.
    pub samples_per_scope: usize,
    /// Patients in the last hour timed.
    pub patients: usize,
    /// Predictions per run (ward and team scopes × two shifts).
    pub predictions: usize,
    /// Of them, young ones (the schedule alone: nothing to scale).
    pub young: usize,
    /// Risks of understaffing given per run (scopes with planned staffing).
    pub risks: usize,
    /// Hours back-filled.
    pub hours: usize,
    /// Building and serving the hospital, and the back-fill.
    pub backfill_ms: u64,
    /// The learner's warm-up and the synthetic models.
    pub setup_ms: u64,
    /// Each run.
    pub runs: Vec<HourlyRun>,
    /// The whole hourly run's spread.
    pub total: Spread,
    /// The learner's part.
    pub learn: Spread,
    /// The every-ward forecast's part.
    pub forecast: Spread,
}

/// SplitMix64: one deterministic number per seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform number in `[0, 1)` from a seed.
fn unit(seed: u64) -> f64 {
    (mix(seed) >> 11) as f64 / (1u64 << 53) as f64
}

/// `p` × `r`, never below 0.
fn times(p: Points, r: f64) -> Points {
    Points::from_decimal((p.as_f64() * r).max(0.0)).unwrap_or_default()
}

/// The synthetic samples of one scope (see the module doc): `skeleton` is
/// the ward's (shift, date, lead, hours) per past hour, `scheduled` a
/// typical scheduled need of the scope, `salt` its seed.
fn synthetic(skeleton: &[(String, chrono::NaiveDate, u32, Qty)], scheduled: Split, salt: u64) -> ErrorModel {
    let samples = skeleton
        .iter()
        .enumerate()
        .map(|(i, (shift, date, lead, hours))| {
            let seed = salt.wrapping_mul(1_000_003).wrapping_add(i as u64);
            // Mondays heavier, Sundays lighter; the spread wider at longer notice
            let weekday = match date.weekday().num_days_from_monday() {
                0 => 0.1,
                6 => -0.05,
                _ => 0.0,
            };
            let width = 0.5 + f64::from(*lead) / 48.0;
            let (ru, rs) = (
                1.0 + weekday + width * (unit(seed) - 0.45),
                1.0 + weekday + width * (unit(seed ^ 0x5555) - 0.45),
            );
            let usk =
                Points::from_decimal(scheduled.usk.as_f64() * (0.9 + 0.2 * unit(seed ^ 0xAAAA))).unwrap_or_default();
            let ssk =
                Points::from_decimal(scheduled.ssk.as_f64() * (0.9 + 0.2 * unit(seed ^ 0xBBBB))).unwrap_or_default();
            ErrorSample {
                shift: shift.clone(),
                date: *date,
                lead: *lead,
                shift_hours: *hours,
                scheduled: Split { usk, ssk },
                realised: Split {
                    usk: times(usk, ru),
                    ssk: times(ssk, rs),
                },
                scheduled_components: Components::default(),
                realised_components: Components::default(),
            }
        })
        .collect();
    ErrorModel::new(samples)
}

/// Runs the cost bench (see the module doc).
///
/// # Errors
/// The hospital cannot be built or served, the runner, the store or the
/// import refuses; a ward's shift plan or care category does not resolve.
pub async fn hourly_bench(bench: &HourlyBench) -> Result<HourlyReport> {
    let backfill_hours = (bench.runs + 6).max(26);
    let Simulated {
        app,
        hours: backfilled,
        backfill_ms,
        ..
    } = simulate(&SimSetup {
        beds: bench.beds,
        wards: None,
        seed: bench.seed,
        truth: Truth::default(),
        backfill_hours,
        now: bench.now,
        db: bench.db.clone(),
        actor: "forecast hourly bench",
    })
    .await?;
    let setup = Instant::now();
    let tz = app.tz();
    let hours = stored_hours(&app, backfill_hours, bench.now).await?;
    let runs = (bench.runs as usize).min(hours.len().saturating_sub(1));
    let warm = hours.len() - runs;
    let (Some(&first), Some(&first_timed)) = (hours.first(), hours.get(warm)) else {
        return Err(Error::Task("the back-fill stored too few hours".into()));
    };
    let forget = (first - Span::weeks(i64::from(bench.history_weeks)))
        .with_timezone(&tz)
        .date_naive();
    let mut learner = Learner::default();
    learner.learn(&app, first, first_timed, forget).await?;

    // each scope's synthetic 8 weeks, from the scheduled need at the first timed hour
    let weights = app.weights();
    let wards: Vec<String> = app.store.wards().await?.into_iter().map(|w| w.ward).collect();
    let mut models: BTreeMap<Scope, ErrorModel> = BTreeMap::new();
    let mut samples_per_scope = 0;
    for (w, ward) in wards.iter().enumerate() {
        let plan = app.shift_plan(ward)?;
        let factors = staff_hours_for(&weights, &app.care_category(ward))
            .map_err(|e| careload_app::Error::Config(format!("wards: {e}")))?;
        let past = Span::weeks(i64::from(bench.history_weeks));
        let mut skeleton = Vec::new();
        let mut h = first_timed - past;
        while h < first_timed {
            for s in next_two(&plan, h, &tz) {
                skeleton.push((s.name.clone(), s.date, lead_hours(h, s.window.start), s.window.hours()));
            }
            h += Span::hours(1);
        }
        samples_per_scope = skeleton.len();
        let patients = app.store.ward_patients(ward, first_timed).await?;
        let refs: Vec<&careload_scoring::Snapshot> = patients.iter().map(|(s, _)| s).collect();
        let shifts = next_two(&plan, first_timed, &tz);
        let needs = scheduled_needs(&weights, factors, &refs, first_timed, &shifts);
        let Some(need) = needs.first() else { continue };
        let salt = (w as u64) << 16;
        models.insert(Scope::ward(ward), synthetic(&skeleton, need.ward.professions, salt));
        for (k, (team, line)) in need.teams.iter().filter(|(t, _)| t.as_str() != NO_TEAM).enumerate() {
            models.insert(
                Scope::team(ward, team),
                synthetic(&skeleton, line.professions, salt + 1 + k as u64),
            );
        }
    }
    let setup_ms = ms(setup.elapsed());

    for (scope, model) in models {
        learner.insert_model(scope, model);
    }
    let scopes = learner.models().len();
    let mut timed = Vec::new();
    let (mut patients_last, mut predictions, mut young, mut risks) = (0, 0, 0, 0);
    for &hour in &hours[warm..] {
        let t0 = Instant::now();
        learner.learn(&app, hour, hour + Span::hours(1), forget).await?;
        let learn = t0.elapsed();
        let t1 = Instant::now();
        let all = hospital_forecasts(&app, &learner, DEFAULT_RISK_LEVEL).await?;
        let forecast = t1.elapsed();
        let scopes_of = |f: &careload_app::forecast::ShiftForecast| {
            std::iter::once(&f.ward)
                .chain(f.teams.iter())
                .cloned()
                .collect::<Vec<_>>()
        };
        let every: Vec<_> = all.iter().flat_map(|w| w.shifts.iter().flat_map(scopes_of)).collect();
        predictions = every.len();
        young = every.iter().filter(|s| s.prediction.young).count();
        risks = every.iter().filter(|s| s.risk.is_some()).count();
        patients_last = learner
            .latest()
            .values()
            .map(|l| l.needs.first().map_or(0, |n| n.patients.len()))
            .sum();
        std::hint::black_box(&all);
        let secs = |d: Duration| d.as_secs_f64() * 1e3;
        timed.push(HourlyRun {
            hour,
            learn_ms: secs(learn),
            forecast_ms: secs(forecast),
            total_ms: secs(learn + forecast),
        });
    }
    Ok(HourlyReport {
        beds: bench.beds,
        seed: bench.seed,
        wards: wards.len(),
        scopes,
        samples_per_scope,
        patients: patients_last,
        predictions,
        young,
        risks,
        hours: backfilled,
        backfill_ms,
        setup_ms,
        total: Spread::of(timed.iter().map(|r| r.total_ms)),
        learn: Spread::of(timed.iter().map(|r| r.learn_ms)),
        forecast: Spread::of(timed.iter().map(|r| r.forecast_ms)),
        runs: timed,
    })
}

#[cfg(test)]
mod tests {
    use super::Spread;

    #[test]
    fn the_spread_is_min_median_and_nearest_rank_p95() {
        let s = Spread::of((1..=20).rev().map(f64::from));
        assert_eq!((s.min, s.median, s.p95), (1.0, 10.0, 19.0));
        assert!(Spread::of([]).median.is_nan());
    }
}
