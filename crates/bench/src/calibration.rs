//! The calibration's end-to-end proof (issue 27): does careload recover,
//! from the staff's ratings alone, each ward's optimal points per person
//! that the simulator's hidden truth ([`careload_sim::truth`]) holds?
//!
//! [`calibration_bench`]:
//!
//! 1. builds a simulated hospital with the truth of [`CalibrationBench`],
//!    serves it on loopback and runs careload's real hourly pipeline over
//!    it (the runner's back-fill: fetch over REST, map, score, write) for
//!    the weeks asked, into a SQLite store;
//! 2. imports the hospital's planned staffing (the scheduling system's CSV,
//!    `careload_app::planning::put_csv`) and each ward's ratings (the paper
//!    import, `careload_app::ratings::import_csv`);
//! 3. computes each ward's calibration as the API does
//!    (`careload_app::calibration::ward_calibration`, default window and
//!    rules) and **the truth's optimum in careload's points**: over the
//!    same shifts, the line of the true minutes per person present minus
//!    the optimum the staff feel (each group's optimum, weighted by its
//!    people present) on careload's points per person, weighted by the
//!    people present, and where it crosses zero — noise-free, no ratings;
//!    together, and per profession;
//! 4. reports both per ward, with the relative error, the fit's R², the
//!    R² a perfect knowledge of the true minutes would give (the mean
//!    ratings on the truth's own excess per person), the response rate,
//!    reliability and its reasons, and the time each step took;
//! 5. **refits the weights** as `careload weights fit` does
//!    (`careload_app::refit::fit_weights`) on the first
//!    [`CalibrationBench::fit_weeks`] weeks of the window, and back-tests
//!    the candidate as the council would (`careload_app::export::backtest`)
//!    on the **remaining weeks, which the fit never saw**: the R² of the
//!    mean rating on points per person under the shipped weights and under
//!    the candidate, per ward and pooled ([`RefitReport`]).
//!
//! The hospital's clock is UTC+1 without daylight saving time, so the
//! benchmark's zone is `Etc/GMT-1` (the same clock): shifts meet whatever
//! the dates.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use careload_app::App;
use careload_app::calibration::{CalibrationFit, ShiftPoint, ward_calibration};
use careload_app::refit::FitBounds;
use careload_config::{Config, SourceKind};
use careload_ingest::RestConfig;
use careload_planning::calibration::CalibrationRules;
use careload_runner::{BoxFuture, FetchRequest, Fetched, FhirSource, RestSource, Runner, load_weights, rest_config};
use careload_scoring::score::Component;
use careload_sim::{Hospital, SharedSim, ShiftTruth, SimConfig, SimServer, Truth, server};
use careload_store::{RunReport, Store};
use chrono::{DateTime, Duration as Days, NaiveDate, Utc};
use serde::Serialize;
use tokio::net::TcpListener;

use crate::{Error, Result};

/// What to run.
#[derive(Clone, Debug)]
pub struct CalibrationBench {
    /// Regular beds of the simulated hospital.
    pub beds: u32,
    /// Its wards.
    pub wards: u32,
    /// Its seed.
    pub seed: u64,
    /// The truth it hides.
    pub truth: Truth,
    /// Weeks of history the calibration window covers (a day more is
    /// back-filled so that the window's first shift is simulated whole).
    pub weeks: u32,
    /// Of those, the first weeks the weights are refitted on; the rest
    /// back-test the candidate (none: no refit).
    pub fit_weeks: Option<u32>,
    /// The present: the back-fill runs through the hour before it, and the
    /// calibration is asked at it.
    pub now: DateTime<Utc>,
    /// The SQLite file the hours are written to (deleted first).
    pub db: PathBuf,
}

/// What it found.
#[derive(Clone, Debug, Serialize)]
pub struct CalibrationReport {
    /// Regular beds.
    pub beds: u32,
    /// The seed.
    pub seed: u64,
    /// Whether the ratings carried signal.
    pub signal: bool,
    /// Hours back-filled.
    pub hours: usize,
    /// Per ward.
    pub wards: Vec<WardReport>,
    /// Building and serving the hospital, and the back-fill.
    pub backfill_ms: u64,
    /// The staffing and ratings imports.
    pub import_ms: u64,
    /// Every ward's calibration.
    pub calibration_ms: u64,
    /// The weights refitted and back-tested on held-out weeks.
    pub refit: Option<RefitReport>,
    /// The refit and its back-test.
    pub refit_ms: u64,
}

/// The weights refitted on the first weeks and back-tested on the rest.
#[derive(Clone, Debug, Serialize)]
pub struct RefitReport {
    /// The fit's window (UTC).
    pub fitted_from: DateTime<Utc>,
    /// Its end.
    pub fitted_to: DateTime<Utc>,
    /// The back-test's local dates, which the fit did not see.
    pub tested_from: NaiveDate,
    /// Its last local date.
    pub tested_to: NaiveDate,
    /// Whether `weights fit` would propose the candidate.
    pub proposes_change: bool,
    /// Why not (codes).
    pub reasons: Vec<String>,
    /// Each component's scale as the candidate applies it.
    pub scales: Vec<(String, f64)>,
    /// The fit's R² over the weeks it was fitted on: in force and of the candidate.
    pub in_sample: (Option<f64>, Option<f64>),
    /// The fit's own held-out check (even and odd ISO weeks of the fit's
    /// window): R² in force and of the candidate, per half.
    pub held_out: Vec<(Option<f64>, Option<f64>)>,
    /// The council's back-test on the held-out weeks: the wards pooled
    /// first, then each ward.
    pub backtest: Vec<careload_export::backtest::CalibrationBacktest>,
}

/// One ward: careload's fits against the truth's.
#[derive(Clone, Debug, Serialize)]
pub struct WardReport {
    /// The ward's id.
    pub ward: String,
    /// Both professions.
    pub together: FitReport,
    /// Assistant nurses.
    pub usk: FitReport,
    /// Registered nurses.
    pub ssk: FitReport,
    /// Shifts in careload's window with no planned staffing or hours.
    pub shifts_skipped: u32,
}

/// One fit against the truth.
#[derive(Clone, Debug, Serialize)]
pub struct FitReport {
    /// careload's optimal points per person.
    pub optimum: Option<f64>,
    /// Its 95 % interval.
    pub interval: Option<(f64, f64)>,
    /// R² of the mean rating on points per person.
    pub r_squared: Option<f64>,
    /// Ratings over staff present.
    pub response_rate: Option<f64>,
    /// Rated shifts.
    pub shifts: u32,
    /// Ratings.
    pub ratings: u32,
    /// Whether careload trusts it.
    pub reliable: bool,
    /// Why not (the reasons' codes).
    pub reasons: Vec<String>,
    /// The truth's optimal points per person.
    pub truth_optimum: Option<f64>,
    /// `optimum / truth_optimum − 1`.
    pub relative_error: Option<f64>,
    /// R² of the mean rating on the truth's excess minutes per person
    /// (perfect knowledge of the true minutes), over the same shifts.
    pub truth_r_squared: Option<f64>,
    /// Shifts matched to the truth (those of the fit the simulator knows).
    pub shifts_matched: u32,
    /// careload's points per person of each shift of the fit, oldest first.
    pub scatter: Vec<Scatter>,
}

/// One shift of a fit as careload saw it.
#[derive(Clone, Debug, Serialize)]
pub struct Scatter {
    /// The local date it starts on.
    pub date: NaiveDate,
    /// The shift's name.
    pub shift: String,
    /// careload's points per person present.
    pub points_per_person: f64,
    /// Staff present.
    pub present: u32,
    /// The mean rating, if rated.
    pub mean_rating: Option<f64>,
}

/// The served hospital as the runner's source: read over REST, its clock
/// moved to each hour before the fetch.
#[derive(Debug)]
struct BenchSim {
    sim: SharedSim,
    rest: RestSource,
    /// Dropping it stops the server.
    _served: server::Spawned,
}

impl FhirSource for BenchSim {
    fn kind(&self) -> &'static str {
        "sim"
    }

    fn describe(&self) -> String {
        self.rest.config.base_url.clone()
    }

    fn before_hour<'a>(
        &'a self,
        hour: DateTime<Utc>,
        _report: &'a mut RunReport,
    ) -> BoxFuture<'a, careload_runner::Result<()>> {
        let sim = self.sim.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || sim.advance_to(hour))
                .await
                .map_err(|e| careload_runner::Error::Task(e.to_string()))?;
            Ok(())
        })
    }

    fn fetch<'a>(
        &'a self,
        request: FetchRequest<'a>,
        report: &'a mut RunReport,
    ) -> BoxFuture<'a, careload_runner::Result<Fetched>> {
        self.rest.fetch(request, report)
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn remove_db(db: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(&name);
    }
}

/// A simulated hospital to back-fill: what [`simulate`] builds.
#[derive(Clone, Debug)]
pub struct SimSetup {
    /// Regular beds.
    pub beds: u32,
    /// Its wards; none: the simulator's default (one per 30 beds, at least 6).
    pub wards: Option<u32>,
    /// Its seed.
    pub seed: u64,
    /// The truth it hides.
    pub truth: Truth,
    /// Hours back-filled, up to the hour before `now`.
    pub backfill_hours: u32,
    /// The present.
    pub now: DateTime<Utc>,
    /// The SQLite file the hours are written to (deleted first).
    pub db: PathBuf,
    /// Who the planned staffing's import is recorded as.
    pub actor: &'static str,
}

/// A simulated hospital back-filled through careload's real pipeline, its
/// planned staffing imported: the calibration's and the forecast's proofs
/// start here.
pub struct Simulated {
    /// The application over the back-filled store (zone `Etc/GMT-1`, the
    /// hospital's clock).
    pub app: App,
    /// The hospital, its clock moved to the present.
    pub sim: SharedSim,
    /// Hours back-filled.
    pub hours: usize,
    /// The first local date simulated.
    pub first: NaiveDate,
    /// Local dates from `first` through the day after the present.
    pub days: u32,
    /// Building and serving the hospital, and the back-fill.
    pub backfill_ms: u64,
    /// The planned staffing's import.
    pub staffing_ms: u64,
}

/// Builds the hospital of `setup`, serves it on loopback, back-fills
/// `setup.backfill_hours` hours through the runner (fetch over REST, map,
/// score, write) into a fresh SQLite store, moves the hospital's clock to
/// the present (so that the last shift has ended) and imports its planned
/// staffing (`careload_app::planning::put_csv` of the simulator's
/// scheduling file).
///
/// # Errors
/// The hospital cannot be built or served, the runner, the store or the
/// import refuses.
pub async fn simulate(setup: &SimSetup) -> Result<Simulated> {
    let started = Instant::now();
    let mut config = Config::default();
    config.source.kind = SourceKind::Sim;
    config.source.pseudonym_key_env = "CARELOAD_BENCH_UNSET_PSEUDONYM_KEY".into();
    config.sim.beds = setup.beds;
    config.sim.wards = setup.wards;
    config.sim.seed = setup.seed;
    config.sim.listen = "127.0.0.1:0".into();
    config.scoring.time_zone = "Etc/GMT-1".into();
    config.schedule.backfill_hours = setup.backfill_hours;

    remove_db(&setup.db);
    let store = Store::connect(&format!("sqlite://{}?mode=rwc", setup.db.display())).await?;
    let weights = Arc::new(load_weights(None)?);
    let plan = Runner::plan(&config, &store, setup.now).await?;
    let hospital = Hospital::new(SimConfig {
        beds: setup.beds,
        wards: setup.wards,
        truth: setup.truth.clone(),
        ..SimConfig::new(setup.seed, plan.source_start())
    })?;
    let listen = |source| Error::Listen {
        listen: config.sim.listen.clone(),
        source,
    };
    let listener = TcpListener::bind(&config.sim.listen).await.map_err(listen)?;
    let sim = SimServer::new(hospital);
    let served = server::spawn(listener, sim.clone()).map_err(listen)?;
    let rest = RestSource::new(RestConfig {
        base_url: served.base_url(),
        token_env: None,
        ..rest_config(&config)
    })?;
    let source = BenchSim {
        sim: sim.clone(),
        rest,
        _served: served,
    };
    let mut runner = Runner::start(&config, store.clone(), weights.clone(), plan, Box::new(source)).await?;
    let runs = runner.backfill(setup.now).await?;
    // the hospital's clock at the present, so that the last shift has ended
    sim.advance_to(setup.now);
    let backfill_ms = ms(started.elapsed());

    let t = Instant::now();
    let app = App::try_new(store, Arc::new(config), weights)?;
    let first = (sim.read(Hospital::start) + Days::hours(careload_sim::LOCAL_UTC_OFFSET_HOURS)).date_naive();
    let days = u32::try_from((setup.now - sim.read(Hospital::start)).num_days() + 2).unwrap_or(0);
    let staffing = sim.read(|h| h.staffing_csv(first, days));
    careload_app::planning::put_csv(&app, staffing.as_bytes(), setup.actor).await?;
    Ok(Simulated {
        app,
        sim,
        hours: runs.len(),
        first,
        days,
        backfill_ms,
        staffing_ms: ms(t.elapsed()),
    })
}

/// Runs the benchmark (see the module doc).
///
/// # Errors
/// The hospital cannot be built or served, the runner, the store or an
/// import refuses.
pub async fn calibration_bench(bench: &CalibrationBench) -> Result<CalibrationReport> {
    let Simulated {
        app,
        sim,
        hours,
        first,
        days,
        backfill_ms,
        staffing_ms,
    } = simulate(&SimSetup {
        beds: bench.beds,
        wards: Some(bench.wards),
        seed: bench.seed,
        truth: bench.truth.clone(),
        backfill_hours: (bench.weeks * 7 + 1) * 24,
        now: bench.now,
        db: bench.db.clone(),
        actor: "calibration bench",
    })
    .await?;

    let t = Instant::now();
    let ward_ids: Vec<String> = sim.read(|h| h.stats().wards.into_iter().map(|w| w.id).collect());
    let mut truths = BTreeMap::new();
    for ward in &ward_ids {
        let csv = sim.read(|h| h.ratings_csv(ward, first, days));
        careload_app::ratings::import_csv(&app, ward, csv.as_bytes(), bench.now).await?;
        truths.insert(ward.clone(), sim.read(|h| h.shift_truths(ward, first, days)));
    }
    let import_ms = staffing_ms + ms(t.elapsed());

    let t = Instant::now();
    let rules = CalibrationRules::default();
    let mut wards = Vec::new();
    for ward in &ward_ids {
        let cal = ward_calibration(&app, ward, None, None, bench.now, &rules).await?;
        let truth = truths.get(ward).map_or(&[][..], Vec::as_slice);
        wards.push(WardReport {
            ward: ward.clone(),
            together: fit_report(&cal.together, truth, None),
            usk: fit_report(&cal.usk, truth, Some("USK")),
            ssk: fit_report(&cal.ssk, truth, Some("SSK")),
            shifts_skipped: cal.shifts_without_planned_staffing + cal.shifts_without_hours,
        });
    }
    let calibration_ms = ms(t.elapsed());

    let t = Instant::now();
    let refit = match (bench.fit_weeks, ward_ids.first()) {
        (Some(weeks), Some(ward)) if weeks < bench.weeks => {
            // the window's end as the calibration's default; its start the bench's weeks before
            let to = ward_calibration(&app, ward, None, None, bench.now, &rules).await?.to;
            let from = to - Days::weeks(i64::from(bench.weeks));
            Some(refit(&app, from, to, weeks, bench.now, &rules).await?)
        }
        _ => None,
    };
    let refit_ms = ms(t.elapsed());
    Ok(CalibrationReport {
        beds: bench.beds,
        seed: bench.seed,
        signal: bench.truth.signal,
        hours,
        wards,
        backfill_ms,
        import_ms,
        calibration_ms,
        refit,
        refit_ms,
    })
}

/// Refits the weights on the first `weeks` weeks of `[from, to]` and
/// back-tests the candidate on the local dates after them.
async fn refit(
    app: &App,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    weeks: u32,
    now: DateTime<Utc>,
    rules: &CalibrationRules,
) -> Result<RefitReport> {
    let split = from + Days::weeks(i64::from(weeks));
    let fit = careload_app::refit::fit_weights(app, from, split, now, rules, &FitBounds::default()).await?;
    let scales = fit.fit.rounded_scales();
    let candidate = app.weights().with_component_scales(&scales);
    let tz = app.tz();
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).date_naive();
    // the day the fit's window ends on is the back-test's first: its shifts
    // that began before the split are left out (they end after it)
    let (tested_from, tested_to) = (local(split), local(to) - Days::days(1));
    let backtest = careload_app::export::backtest(app, candidate, tested_from, tested_to).await?;
    Ok(RefitReport {
        fitted_from: from,
        fitted_to: split,
        tested_from,
        tested_to,
        proposes_change: fit.fit.proposes_change,
        reasons: fit.fit.reasons.iter().map(|r| r.code().to_owned()).collect(),
        scales: Component::ALL
            .iter()
            .zip(scales)
            .map(|(c, s)| (c.key().to_owned(), s.as_f64()))
            .collect(),
        in_sample: (fit.fit.in_sample.in_force, fit.fit.in_sample.candidate),
        held_out: fit
            .fit
            .held_out
            .iter()
            .map(|h| (h.r_squared.in_force, h.r_squared.candidate))
            .collect(),
        backtest: backtest.calibration,
    })
}

/// One shift of the truth, summed over its teams (and professions, unless
/// one is asked for).
#[derive(Debug, Default)]
struct TruthShift {
    true_minutes: f64,
    present: u32,
    /// Σ optimum × present.
    optimum: f64,
}

impl TruthShift {
    /// True minutes per person present above the optimum the staff feel.
    fn excess(&self) -> f64 {
        (self.true_minutes - self.optimum) / f64::from(self.present)
    }
}

/// careload's fit against the truth over the same shifts.
fn fit_report(fit: &CalibrationFit, truth: &[ShiftTruth], profession: Option<&str>) -> FitReport {
    let mut by_shift: BTreeMap<(NaiveDate, &str), TruthShift> = BTreeMap::new();
    for t in truth.iter().filter(|t| profession.is_none_or(|p| t.profession == p)) {
        let s = by_shift.entry((t.date, t.shift)).or_default();
        s.true_minutes += t.true_minutes;
        s.present += t.present;
        s.optimum += t.optimum_minutes_per_person * f64::from(t.present);
    }
    let matched: Vec<(&ShiftPoint, &TruthShift)> = fit
        .points
        .iter()
        .filter_map(|p| {
            let s = by_shift.get(&(p.local_start.date(), p.shift.as_str()))?;
            (s.present > 0).then_some((p, s))
        })
        .collect();
    // the truth's line: excess true minutes per person on careload's points per person
    let x: Vec<f64> = matched.iter().map(|(p, _)| p.points_per_person.as_f64()).collect();
    let y: Vec<f64> = matched.iter().map(|(_, s)| s.excess()).collect();
    let w: Vec<f64> = matched.iter().map(|(_, s)| f64::from(s.present)).collect();
    let truth_optimum = wls(&x, &y, &w).and_then(|(a, b, _)| (b > 0.0).then(|| -a / b));
    // perfect knowledge: the mean ratings on the truth's excess
    let rated: Vec<(f64, f64, f64)> = matched
        .iter()
        .filter_map(|(p, s)| Some((s.excess(), p.mean_rating?, f64::from(p.ratings))))
        .collect();
    let truth_r_squared = wls(
        &rated.iter().map(|r| r.0).collect::<Vec<_>>(),
        &rated.iter().map(|r| r.1).collect::<Vec<_>>(),
        &rated.iter().map(|r| r.2).collect::<Vec<_>>(),
    )
    .map(|(_, _, r2)| r2);
    let optimum = fit.optimal_points_per_person.map(|p| p.as_f64());
    FitReport {
        optimum,
        interval: fit.interval.map(|i| (i.low.as_f64(), i.high.as_f64())),
        r_squared: fit.r_squared,
        response_rate: fit.response_rate,
        shifts: fit.shifts,
        ratings: fit.ratings,
        reliable: fit.reliable,
        reasons: fit.reasons.iter().map(|r| r.code.clone()).collect(),
        truth_optimum,
        relative_error: optimum.zip(truth_optimum).map(|(o, t)| o / t - 1.0),
        truth_r_squared,
        shifts_matched: u32::try_from(matched.len()).unwrap_or(u32::MAX),
        scatter: fit
            .points
            .iter()
            .map(|p| Scatter {
                date: p.local_start.date(),
                shift: p.shift.clone(),
                points_per_person: p.points_per_person.as_f64(),
                present: p.present,
                mean_rating: p.mean_rating,
            })
            .collect(),
    }
}

/// Weighted least squares of `y` on `x`: intercept, slope and R²; `None`
/// with fewer than three points or no spread.
fn wls(x: &[f64], y: &[f64], w: &[f64]) -> Option<(f64, f64, f64)> {
    let sw: f64 = w.iter().sum();
    if x.len() < 3 || sw <= 0.0 {
        return None;
    }
    let mx = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let my = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for ((a, b), c) in x.iter().zip(y).zip(w) {
        sxx += c * (a - mx) * (a - mx);
        sxy += c * (a - mx) * (b - my);
        syy += c * (b - my) * (b - my);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    let b = sxy / sxx;
    Some((my - b * mx, b, sxy * sxy / (sxx * syy)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::wls;

    #[test]
    fn a_weighted_line_through_exact_points_has_r_squared_one() {
        let (a, b, r2) = wls(&[1.0, 2.0, 3.0], &[3.0, 5.0, 7.0], &[1.0, 2.0, 1.0]).unwrap();
        assert!((a - 1.0).abs() < 1e-12 && (b - 2.0).abs() < 1e-12 && (r2 - 1.0).abs() < 1e-12);
        assert!(wls(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0], &[1.0; 3]).is_none());
    }
}
