//! Back-testing weights for the council: re-score the stored hourly
//! snapshots of a range under a candidate weights version and report, per
//! ward, per configured department and hospital (their wards summed hour by
//! hour, as for the whole store) and for the whole store, how the mean
//! hourly total, the split per
//! profession and per component, the ranks of the wards and the staffing
//! gap would have moved against what was stored.
//!
//! Nothing is written: the stored history stays as it was scored. Each
//! stored patient-hour is re-scored with the same window the hourly run
//! used (the hour bucket), so a candidate identical to the version in force
//! reproduces the stored totals exactly (a test holds this). Rows without a
//! readable snapshot (benchmark copies keep `{}`) are counted as skipped and
//! left out of both sides, so the two sides always cover the same
//! patient-hours; the report says how many were skipped, in how many whole
//! hours, on which wards and why ([`SkipReason`]), for the caller to warn.
//! Planned staffing counts the shifts that start in the range and have
//! started by the last hour stored, as in the exports.
//!
//! Hours are read on connections of their own and re-scored on blocking
//! threads, four hours in flight: memory is a few hours of snapshots
//! whatever the range (and one small sum per ward-hour,
//! [`Backtest::rescored`]).
//!
//! # Against the staff's ratings
//!
//! Each ward-hour's sums of both sides are kept in [`Backtest::rescored`]
//! (not serialised) so that the application layer can put both through the
//! ward's calibration (issue 27: the mean shift rating on points per person
//! present) and fill [`Backtest::calibration`]: how well each side's points
//! explain the ratings, on the same patient-hours.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use careload_scoring::aggregate::Totals;
use careload_scoring::score::{Component, Components, Split, Window, score_into};
use careload_scoring::stored;
use careload_scoring::{Points, Weights};
use careload_store::{Store, StoredPatientHour};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use crate::period::local_midnight;
use crate::{Context, Error};

/// Hours being read and re-scored at once (the SQLite pool has four
/// connections; two cores re-score).
const IN_FLIGHT: usize = 4;

/// Sums of one side (stored or candidate) for one ward, in thousandths.
#[derive(Clone, Debug, Default)]
struct Sums {
    total: i64,
    usk: i64,
    ssk: i64,
    components: [i64; 9],
}

impl Sums {
    fn add(&mut self, total: i64, usk: i64, ssk: i64, components: &[i64; 9]) {
        self.total += total;
        self.usk += usk;
        self.ssk += ssk;
        for (a, b) in self.components.iter_mut().zip(components) {
            *a += b;
        }
    }

    fn merge(&mut self, o: &Sums) {
        self.add(o.total, o.usk, o.ssk, &o.components);
    }
}

/// One ward's sums over one hour.
#[derive(Clone, Debug, Default)]
struct WardHour {
    patients: u64,
    stored: Sums,
    candidate: Sums,
}

/// Why a stored patient-hour could not be re-scored (and was left out of
/// both sides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The row keeps no snapshot (`{}`): a benchmark copy
    /// (`careload bench store` keeps snapshots only for the latest hours).
    NoSnapshot,
    /// A snapshot layout newer than this build reads: run the back-test with
    /// the careload that wrote it.
    NewerLayout,
    /// Bytes that are neither a stored snapshot nor snapshot JSON this build
    /// reads (damaged).
    Unreadable,
}

impl SkipReason {
    /// Why a row whose snapshot did not read was skipped.
    pub fn of(snapshot: &[u8]) -> SkipReason {
        if stored::is_binary(snapshot) {
            if snapshot.get(1).is_some_and(|&v| v > stored::VERSION) {
                SkipReason::NewerLayout
            } else {
                SkipReason::Unreadable
            }
        } else if matches!(snapshot.trim_ascii(), b"" | b"{}" | b"null") {
            SkipReason::NoSnapshot
        } else {
            SkipReason::Unreadable
        }
    }

    /// What it means, in words.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::NoSnapshot => "keep no snapshot (benchmark copies)",
            SkipReason::NewerLayout => "have a snapshot layout newer than this careload reads",
            SkipReason::Unreadable => "have a snapshot that does not read (damaged)",
        }
    }
}

/// What re-scoring one hour gave.
#[derive(Debug, Default)]
struct HourResult {
    hour: DateTime<Utc>,
    wards: BTreeMap<String, WardHour>,
    /// Rows skipped, by ward.
    skipped: BTreeMap<String, u64>,
    reasons: BTreeMap<SkipReason, u64>,
    versions: BTreeSet<String>,
}

fn rescore_hour(rows: Vec<StoredPatientHour>, hour: DateTime<Utc>, candidate: &Weights) -> HourResult {
    let mut out = HourResult {
        hour,
        ..HourResult::default()
    };
    let window = Window::hour(hour);
    let mut contributions = Vec::new();
    let mut unmatched = Vec::new();
    for row in rows {
        let Ok(snapshot) = careload_store::read_snapshot(&row.snapshot) else {
            *out.skipped.entry(row.ward).or_default() += 1;
            *out.reasons.entry(SkipReason::of(&row.snapshot)).or_default() += 1;
            continue;
        };
        contributions.clear();
        unmatched.clear();
        let head = score_into(&snapshot, candidate, window, &mut contributions, &mut unmatched);
        let w = out.wards.entry(row.ward).or_default();
        w.patients += 1;
        let stored: [i64; 9] = Component::ALL.map(|c| row.components.get(c).milli());
        w.stored.add(
            row.total.milli(),
            row.professions.usk.milli(),
            row.professions.ssk.milli(),
            &stored,
        );
        let new: [i64; 9] = Component::ALL.map(|c| head.components.get(c).milli());
        w.candidate.add(
            head.total.milli(),
            head.professions.usk.milli(),
            head.professions.ssk.milli(),
            &new,
        );
        out.versions.insert(row.weights_version);
    }
    out
}

impl Sums {
    /// The sums as an hour's totals (points and patients only).
    fn totals(&self, patients: u64) -> Totals {
        let mut components = Components::default();
        for (c, v) in Component::ALL.iter().zip(self.components) {
            components.add(*c, Points::from_milli(v));
        }
        Totals {
            patients: u32::try_from(patients).unwrap_or(u32::MAX),
            total: Points::from_milli(self.total),
            components,
            professions: Split {
                usk: Points::from_milli(self.usk),
                ssk: Points::from_milli(self.ssk),
            },
            ..Totals::default()
        }
    }
}

/// One ward-hour under both sides, over the same re-scored patient-hours.
#[derive(Clone, Debug, PartialEq)]
pub struct RescoredHour {
    /// The ward.
    pub ward: String,
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// As stored.
    pub stored: Totals,
    /// Under the candidate.
    pub candidate: Totals,
}

/// How well one side's points per person explain the staff's shift ratings
/// over the back-test's range (the ward's calibration, issue 27).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CalibrationSide {
    /// Weighted R² of the mean rating on points per person.
    pub r_squared: Option<f64>,
    /// Spearman's rank correlation of the mean rating with points per person.
    pub spearman: Option<f64>,
    /// The ward's optimal points per person under this side's points.
    pub optimal_points_per_person: Option<f64>,
    /// The fit meets every minimum of `[calibration]`.
    pub reliable: bool,
    /// The codes of the minimums missed.
    pub reasons: Vec<String>,
}

/// One ward's ratings against both sides' points (or, with `ward` empty,
/// the wards pooled: R² and Spearman as means weighted by rated shifts).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CalibrationBacktest {
    /// The ward; empty for the wards pooled.
    pub ward: String,
    /// Rated shifts in the fit (both professions together).
    pub shifts: u32,
    /// Ratings in the fit.
    pub ratings: u32,
    /// As stored.
    pub stored: CalibrationSide,
    /// Under the candidate.
    pub candidate: CalibrationSide,
}

/// One side of a comparison: means of the hourly totals.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Side {
    /// Mean hourly total.
    pub total_mean: f64,
    /// Mean hourly USK points.
    pub usk_mean: f64,
    /// Mean hourly SSK points.
    pub ssk_mean: f64,
    /// Mean hourly points per component.
    pub components: BTreeMap<&'static str, f64>,
    /// Care need in staff-hours over the range (that side's factors); none
    /// without factors for the ward's care category.
    pub need_staff_hours: Option<f64>,
    /// Planned staff-hours minus need; none without a plan.
    pub gap_staff_hours: Option<f64>,
    /// The rank by mean hourly total, 1 the highest: a ward's among the
    /// wards, a department's among the departments, a hospital's among the
    /// hospitals (none for the whole store).
    pub rank: Option<u32>,
}

/// One ward, department, configured hospital (or the whole store) under
/// both versions.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct UnitBacktest {
    /// The unit's id: the ward's in [`Backtest::wards`], the department's
    /// (`[departments.<id>]`) in [`Backtest::departments`], the hospital's
    /// (`[hospitals.<id>]`) in [`Backtest::hospitals`]; empty for the whole
    /// store ([`Backtest::hospital`]).
    pub ward: String,
    /// Hours with at least one re-scored patient of the unit: the divisor
    /// of both sides' means (0 when every row of the unit was skipped; its
    /// means are then 0 and it has no rank).
    pub hours: u64,
    /// Patient-hours re-scored.
    pub patient_hours: u64,
    /// Stored patient-hours that could not be re-scored, left out of both sides.
    pub skipped_patient_hours: u64,
    /// Planned staff-hours present for shifts starting in the range (and
    /// started by the last hour stored); none without a plan. A group of
    /// wards (department, hospital, the whole store) sums its wards' plans,
    /// none when none of its wards has one.
    pub planned_staff_hours: Option<f64>,
    /// As stored (the versions in force then).
    pub stored: Side,
    /// Under the candidate.
    pub candidate: Side,
    /// Change of the mean hourly total, per cent.
    pub total_change_pct: Option<f64>,
}

/// The back-test's report.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Backtest {
    /// First local date.
    pub from: NaiveDate,
    /// Last local date (inclusive).
    pub to: NaiveDate,
    /// The candidate's version.
    pub candidate_version: String,
    /// The versions that scored the stored rows.
    pub stored_versions: Vec<String>,
    /// Hours with stored rows.
    pub hours: u64,
    /// Patient-hours re-scored.
    pub patient_hours: u64,
    /// Stored patient-hours without a readable snapshot, left out of both
    /// sides: the means compare the re-scored patient-hours only.
    pub skipped: u64,
    /// Hours left out entirely: none of their stored rows could be re-scored.
    pub skipped_hours: u64,
    /// Why rows were skipped: patient-hours per reason (absent reasons left out).
    pub skipped_reasons: BTreeMap<SkipReason, u64>,
    /// The whole store (every ward: the region when it holds several
    /// hospitals).
    pub hospital: UnitBacktest,
    /// Each configured hospital (`[hospitals.<id>]`, the export's level
    /// `site`) with at least one ward in the data, by id (in `ward`): its
    /// departments' wards summed hour by hour as `hospital` sums every ward.
    /// Empty without hospitals configured.
    pub hospitals: Vec<UnitBacktest>,
    /// Each configured department (`[departments.<id>]`) with at least one
    /// ward in the data, by id (in `ward`): its wards summed hour by hour.
    /// Empty without departments configured.
    pub departments: Vec<UnitBacktest>,
    /// Each ward, by id.
    pub wards: Vec<UnitBacktest>,
    /// The staff's shift ratings against both sides, the wards pooled
    /// first, then each ward with rated shifts; empty without ratings (filled
    /// by the application layer, see the module doc).
    pub calibration: Vec<CalibrationBacktest>,
    /// Every re-scored ward-hour under both sides, in hour order (not
    /// serialised: the application layer's input for `calibration`).
    #[serde(skip)]
    #[schemars(skip)]
    pub rescored: Vec<RescoredHour>,
    /// Wall time, milliseconds.
    pub elapsed_ms: u64,
}

#[derive(Debug, Default)]
struct Acc {
    hours: u64,
    patient_hours: u64,
    skipped: u64,
    stored: Sums,
    candidate: Sums,
    need_stored: Option<f64>,
    need_candidate: Option<f64>,
}

impl Acc {
    /// Adds one ward's re-scored hour (not its hour count: a group counts
    /// an hour once whatever the number of its wards in it).
    fn add(&mut self, wh: &WardHour, stored_ctx: &Context, candidate_ctx: &Context, ward: &str) {
        self.patient_hours += wh.patients;
        self.stored.merge(&wh.stored);
        self.candidate.merge(&wh.candidate);
        add_need(&mut self.need_stored, stored_ctx.factors(ward), &wh.stored);
        add_need(&mut self.need_candidate, candidate_ctx.factors(ward), &wh.candidate);
    }
}

fn add_need(slot: &mut Option<f64>, factors: Option<careload_scoring::weights::StaffHours>, s: &Sums) {
    if let Some(f) = factors {
        let need = s.usk as f64 / 1000.0 * f.usk.as_f64() + s.ssk as f64 / 1000.0 * f.ssk.as_f64();
        *slot = Some(slot.unwrap_or(0.0) + need);
    }
}

fn side(acc: &Acc, s: &Sums, need: Option<f64>, planned: Option<f64>) -> Side {
    let hours = acc.hours.max(1) as f64;
    let mean = |v: i64| (v as f64 / 1000.0 / hours * 1000.0).round() / 1000.0;
    Side {
        total_mean: mean(s.total),
        usk_mean: mean(s.usk),
        ssk_mean: mean(s.ssk),
        components: Component::ALL
            .iter()
            .zip(s.components)
            .map(|(c, v)| (c.key(), mean(v)))
            .collect(),
        need_staff_hours: need.map(|n| (n * 1000.0).round() / 1000.0),
        gap_staff_hours: planned.zip(need).map(|(p, n)| ((p - n) * 1000.0).round() / 1000.0),
        rank: None,
    }
}

fn unit(ward: String, acc: &Acc, planned: Option<f64>) -> UnitBacktest {
    let stored = side(acc, &acc.stored, acc.need_stored, planned);
    let candidate = side(acc, &acc.candidate, acc.need_candidate, planned);
    let total_change_pct = (stored.total_mean > 0.0)
        .then(|| ((candidate.total_mean - stored.total_mean) / stored.total_mean * 100_000.0).round() / 1000.0);
    UnitBacktest {
        ward,
        hours: acc.hours,
        patient_hours: acc.patient_hours,
        skipped_patient_hours: acc.skipped,
        planned_staff_hours: planned.map(|p| (p * 1000.0).round() / 1000.0),
        stored,
        candidate,
        total_change_pct,
    }
}

/// Rank of each unit by `key`, 1 the highest; ties by ward id. Units
/// without a re-scored hour have none.
fn ranks(units: &[UnitBacktest], key: impl Fn(&UnitBacktest) -> f64) -> Vec<Option<u32>> {
    let mut order: Vec<usize> = (0..units.len()).filter(|&i| units[i].hours > 0).collect();
    order.sort_by(|&a, &b| key(&units[b]).total_cmp(&key(&units[a])).then(a.cmp(&b)));
    let mut out = vec![None; units.len()];
    for (rank, i) in order.into_iter().enumerate() {
        out[i] = Some(u32::try_from(rank + 1).unwrap_or(u32::MAX));
    }
    out
}

/// `units` with their ranks among themselves on both sides.
fn ranked(mut units: Vec<UnitBacktest>) -> Vec<UnitBacktest> {
    let stored_ranks = ranks(&units, |u| u.stored.total_mean);
    let candidate_ranks = ranks(&units, |u| u.candidate.total_mean);
    for ((u, s), c) in units.iter_mut().zip(stored_ranks).zip(candidate_ranks) {
        u.stored.rank = s;
        u.candidate.rank = c;
    }
    units
}

/// Re-scores local dates `[from, to]` under `candidate`.
///
/// `stored_ctx` gives the staff-hour factors of the version in force,
/// `candidate_ctx` those of the candidate (both from the same ward care
/// categories); `stored_ctx` also gives the departments and hospitals
/// (`ward_departments`, `department_hospitals`) of [`Backtest::departments`]
/// and [`Backtest::hospitals`].
///
/// # Errors
/// [`Error::BadSpec`] for `to` before `from` or more than 366 days; the store failing.
pub async fn backtest(
    store: &Store,
    stored_ctx: &Context,
    candidate_ctx: &Context,
    candidate: Arc<Weights>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Backtest, Error> {
    let started = Instant::now();
    if to < from {
        return Err(Error::BadSpec(format!(
            "to ({to}) is before from ({from}); send from <= to (both days are included)"
        )));
    }
    if (to - from).num_days() + 1 > 366 {
        return Err(Error::BadSpec(
            "a back-test covers at most 366 days; send a shorter range".into(),
        ));
    }
    let tz = stored_ctx.tz;
    let start = local_midnight(&tz, from);
    let end = local_midnight(&tz, to + Duration::days(1));
    let hours = store.stored_hours(start, end).await?;

    let mut wards: BTreeMap<String, Acc> = BTreeMap::new();
    let mut hospital = Acc::default();
    // the configured groups of wards, by id (a ward of none is in none)
    let mut departments: BTreeMap<String, Acc> = BTreeMap::new();
    let mut hospitals: BTreeMap<String, Acc> = BTreeMap::new();
    let mut skipped_hours = 0;
    let mut reasons: BTreeMap<SkipReason, u64> = BTreeMap::new();
    let mut versions = BTreeSet::new();
    let mut rescored = Vec::new();
    let mut merge = |r: HourResult| {
        if r.wards.is_empty() && !r.reasons.is_empty() {
            skipped_hours += 1;
        }
        for (ward, n) in r.skipped {
            if let Some(d) = stored_ctx.department_of(&ward) {
                departments.entry(d.to_owned()).or_default().skipped += n;
            }
            if let Some(h) = stored_ctx.hospital_of(&ward) {
                hospitals.entry(h.to_owned()).or_default().skipped += n;
            }
            wards.entry(ward).or_default().skipped += n;
            hospital.skipped += n;
        }
        for (reason, n) in r.reasons {
            *reasons.entry(reason).or_default() += n;
        }
        versions.extend(r.versions);
        let mut any = false;
        let mut in_hour: (BTreeSet<&str>, BTreeSet<&str>) = (BTreeSet::new(), BTreeSet::new());
        for (ward, wh) in r.wards {
            rescored.push(RescoredHour {
                ward: ward.clone(),
                hour: r.hour,
                stored: wh.stored.totals(wh.patients),
                candidate: wh.candidate.totals(wh.patients),
            });
            let acc = wards.entry(ward.clone()).or_default();
            acc.hours += 1;
            acc.add(&wh, stored_ctx, candidate_ctx, &ward);
            hospital.add(&wh, stored_ctx, candidate_ctx, &ward);
            if let Some(d) = stored_ctx.department_of(&ward) {
                departments
                    .entry(d.to_owned())
                    .or_default()
                    .add(&wh, stored_ctx, candidate_ctx, &ward);
                in_hour.0.insert(d);
            }
            if let Some(h) = stored_ctx.hospital_of(&ward) {
                hospitals
                    .entry(h.to_owned())
                    .or_default()
                    .add(&wh, stored_ctx, candidate_ctx, &ward);
                in_hour.1.insert(h);
            }
            any = true;
        }
        // an hour counts once for each group with a re-scored patient in it
        for d in in_hour.0 {
            if let Some(acc) = departments.get_mut(d) {
                acc.hours += 1;
            }
        }
        for h in in_hour.1 {
            if let Some(acc) = hospitals.get_mut(h) {
                acc.hours += 1;
            }
        }
        if any {
            hospital.hours += 1;
        }
    };
    // each hour is read on a connection of its own and re-scored on a
    // blocking thread; results are merged in hour order
    let mut in_flight = VecDeque::new();
    let mut pending = hours.iter().copied();
    loop {
        while in_flight.len() < IN_FLIGHT
            && let Some(hour) = pending.next()
        {
            let (store, w) = (store.clone(), candidate.clone());
            in_flight.push_back(tokio::spawn(async move {
                let rows = store.stored_patient_hours(hour).await?;
                tokio::task::spawn_blocking(move || rescore_hour(rows, hour, &w))
                    .await
                    .map_err(|e| Error::Io(std::io::Error::other(e)))
            }));
        }
        let Some(task) = in_flight.pop_front() else { break };
        let result = match task.await {
            Ok(r) => r,
            Err(e) => Err(Error::Io(std::io::Error::other(e))),
        };
        match result {
            Ok(r) => merge(r),
            Err(e) => {
                in_flight.iter().for_each(tokio::task::JoinHandle::abort);
                return Err(e);
            }
        }
    }

    // planned staff-hours per ward for shifts starting in the range that
    // have started by the last hour stored (the need is that of the hours so far)
    let data_end = store.settled_hour().await?.map(|h| h + Duration::hours(1));
    let mut planned: BTreeMap<String, f64> = BTreeMap::new();
    for row in store.planned_staffing(None, from - Duration::days(1), to).await? {
        let Ok(shift) = stored_ctx.plan(&row.ward).window(row.date, &row.shift, &tz) else {
            continue;
        };
        let begins = shift.window.start;
        if begins < start || begins >= end || data_end.is_some_and(|e| begins >= e) {
            continue;
        }
        *planned.entry(row.ward).or_default() +=
            f64::from(row.planned.saturating_sub(row.absent)) * shift.window.hours().as_f64();
    }
    let planned_total = (!planned.is_empty()).then(|| planned.values().sum::<f64>());

    let units = ranked(
        wards
            .iter()
            .map(|(ward, acc)| unit(ward.clone(), acc, planned.get(ward).copied()))
            .collect(),
    );
    // a group's plan is its wards' summed, as the whole store's is every ward's
    let group_planned = |of: &dyn Fn(&str) -> bool| {
        let mut plans = planned.iter().filter(|(w, _)| of(w)).map(|(_, p)| *p).peekable();
        plans.peek().is_some().then(|| plans.sum::<f64>())
    };
    let department_units = ranked(
        departments
            .iter()
            .map(|(d, acc)| {
                let plan = group_planned(&|w| stored_ctx.department_of(w) == Some(d.as_str()));
                unit(d.clone(), acc, plan)
            })
            .collect(),
    );
    let hospital_units = ranked(
        hospitals
            .iter()
            .map(|(h, acc)| {
                let plan = group_planned(&|w| stored_ctx.hospital_of(w) == Some(h.as_str()));
                unit(h.clone(), acc, plan)
            })
            .collect(),
    );
    let skipped = hospital.skipped;
    if skipped > 0 {
        tracing::warn!(
            skipped,
            skipped_hours,
            rescored = hospital.patient_hours,
            reasons = ?reasons,
            "back-test: stored patient-hours that could not be re-scored are left out of both sides"
        );
    }
    Ok(Backtest {
        from,
        to,
        candidate_version: candidate.meta.version.clone(),
        stored_versions: versions.into_iter().collect(),
        hours: hours.len() as u64,
        patient_hours: hospital.patient_hours,
        skipped,
        skipped_hours,
        skipped_reasons: reasons,
        hospital: unit(String::new(), &hospital, planned_total),
        hospitals: hospital_units,
        departments: department_units,
        wards: units,
        calibration: Vec::new(),
        rescored,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// The report as rows for a file: the whole store first (`level` hospital,
/// `ward` empty), then each configured hospital (`level` site), each
/// department (`level` department) and each ward (`level` ward), the unit's
/// id in `ward`; stored and candidate side by side.
///
/// # Errors
/// polars refusing a column (a bug).
pub fn to_frame(report: &Backtest) -> Result<polars::prelude::DataFrame, Error> {
    use polars::prelude::{Column, DataFrame};
    let levels: Vec<(&str, &UnitBacktest)> = std::iter::once(("hospital", &report.hospital))
        .chain(report.hospitals.iter().map(|u| ("site", u)))
        .chain(report.departments.iter().map(|u| ("department", u)))
        .chain(report.wards.iter().map(|u| ("ward", u)))
        .collect();
    let units: Vec<&UnitBacktest> = levels.iter().map(|(_, u)| *u).collect();
    let n = units.len();
    let f = |name: &str, get: &dyn Fn(&UnitBacktest) -> Option<f64>| {
        Column::new(name.into(), units.iter().map(|u| get(u)).collect::<Vec<_>>())
    };
    let mut columns = vec![
        Column::new("level".into(), levels.iter().map(|(l, _)| *l).collect::<Vec<_>>()),
        Column::new("ward".into(), units.iter().map(|u| u.ward.clone()).collect::<Vec<_>>()),
        Column::new("hours".into(), units.iter().map(|u| u.hours as i64).collect::<Vec<_>>()),
        Column::new(
            "patient_hours".into(),
            units.iter().map(|u| u.patient_hours as i64).collect::<Vec<_>>(),
        ),
        f("stored_total_mean", &|u| Some(u.stored.total_mean)),
        f("candidate_total_mean", &|u| Some(u.candidate.total_mean)),
        f("total_change_pct", &|u| u.total_change_pct),
        Column::new(
            "stored_rank".into(),
            units.iter().map(|u| u.stored.rank.map(i64::from)).collect::<Vec<_>>(),
        ),
        Column::new(
            "candidate_rank".into(),
            units
                .iter()
                .map(|u| u.candidate.rank.map(i64::from))
                .collect::<Vec<_>>(),
        ),
        f("stored_usk_mean", &|u| Some(u.stored.usk_mean)),
        f("candidate_usk_mean", &|u| Some(u.candidate.usk_mean)),
        f("stored_ssk_mean", &|u| Some(u.stored.ssk_mean)),
        f("candidate_ssk_mean", &|u| Some(u.candidate.ssk_mean)),
    ];
    for c in Component::ALL {
        let key = c.key();
        columns.push(f(&format!("stored_{key}_mean"), &|u| {
            u.stored.components.get(key).copied()
        }));
        columns.push(f(&format!("candidate_{key}_mean"), &|u| {
            u.candidate.components.get(key).copied()
        }));
    }
    columns.push(f("planned_staff_hours", &|u| u.planned_staff_hours));
    columns.push(f("stored_need_staff_hours", &|u| u.stored.need_staff_hours));
    columns.push(f("candidate_need_staff_hours", &|u| u.candidate.need_staff_hours));
    columns.push(f("stored_gap_staff_hours", &|u| u.stored.gap_staff_hours));
    columns.push(f("candidate_gap_staff_hours", &|u| u.candidate.gap_staff_hours));
    columns.push(Column::new(
        "skipped_patient_hours".into(),
        units.iter().map(|u| u.skipped_patient_hours as i64).collect::<Vec<_>>(),
    ));
    Ok(DataFrame::new(n, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_reasons_say_why_a_snapshot_does_not_read() {
        use SkipReason::{NewerLayout, NoSnapshot, Unreadable};
        let cases: [(&[u8], SkipReason); 6] = [
            (b"{}", NoSnapshot), // a benchmark copy
            (b" {} ", NoSnapshot),
            (b"", NoSnapshot),
            (&[stored::MAGIC, stored::VERSION + 1, 0], NewerLayout),
            (&[stored::MAGIC, stored::VERSION, 0xff], Unreadable),
            (b"{\"key\":", Unreadable),
        ];
        for (bytes, want) in cases {
            assert!(careload_store::read_snapshot(bytes).is_err(), "{bytes:?} reads");
            assert_eq!(SkipReason::of(bytes), want, "{bytes:?}");
        }
    }
}
