//! The hidden truth (issue 27): what the simulated care really costs, how
//! heavy each shift really feels to the staff on it, and how they rate it.
//! careload never sees any of it; the calibration's tests and benchmark
//! compare what careload makes of the ratings with it.
//!
//! # True minutes
//!
//! Everything the simulated patients receive that careload's score counts
//! costs **true minutes**, set per component as a factor on six minutes per
//! point of the shipped weights (`weights/2026.1.toml`, one point ≈ six
//! minutes), with some variation per code ([`Factors`], the tables below):
//! medications really cost more than the weights say, basic nursing less,
//! NEWS2 observations more, care plans less, and so on. On top:
//!
//! * what the score **cannot see**: each patient's true minutes are
//!   multiplied by a hidden lognormal factor (median 1, shape
//!   [`Truth::hidden_sigma`]), and the activity the default weights do not
//!   price (`bed-making`) costs true minutes too;
//! * the truth uses the patient's **true state** where careload reads what
//!   is documented: the true Norton physical activity for activities, the
//!   true emotional-support level (continuous support mostly by a sitter
//!   outside the roster), the NEWS2 measurements actually taken in
//!   the hour (careload counts a rate over 24 hours), a flat admission
//!   workload in the waking hours of the first day (careload phases its
//!   modifier out as the record fills, day and night), and its own outlier
//!   surcharge; standing care (support, care plans, the NEWS2 band,
//!   diagnoses) is lighter while patients sleep (local 23–06).
//!
//! Each true minute belongs to a profession as the weights split it: USK
//! activities, NEWS2, emotional support and most care plans to assistant
//! nurses (USK), SSK activities and medications to registered nurses (SSK),
//! an order or a diagnosis to the profession its weights name; a task that
//! names its performer goes to that profession.
//!
//! Beside the truth the simulator keeps **nominal minutes**: six minutes per
//! point of the shipped weights as the simulator itself can reckon them
//! (the documented state, no hidden factor, nothing for unpriced work). They
//! approximate careload's own score and serve to tune the truth without
//! running the whole pipeline; careload's score differs from them in detail
//! (overdue tasks, rates over 24 hours, its modifiers).
//!
//! As the hospital advances, each hour's true and nominal minutes are
//! summed per ward, team (the patient's bed's team) and profession, and
//! nothing else is kept; sums older than [`Truth::keep_days`] are dropped.
//!
//! # Felt load and ratings
//!
//! For each ended shift of the default plan (`day` 07–15, `evening` 15–21,
//! `night` 21–07, local time), the staff present are exactly those of
//! [`Hospital::staffing_csv`] (planned − absent). Day and evening are planned
//! per team, the night for the whole ward. By default ([`Felt::Together`])
//! each person present feels the true minutes of both professions in the
//! shift (their team's, or the ward's at night) divided by everyone present
//! with them — the staff share the work, as RAFAELA's points per nurse
//! assume — against the optimum of the people present (each profession's
//! [`Truth::optimum_minutes`], weighted by its people: `optimumₚ` below).
//! With [`Felt::OwnProfession`] a person of profession `p` feels only the
//! true minutes of `p` over the people of `p`, against `p`'s optimum. Each
//! rates
//!
//! ```text
//! clamp(round((felt − optimumₚ) / minutes_per_step + noise), −3, 3),  noise ~ N(0, noise_sd)
//! ```
//!
//! with probability [`Truth::response_rate`]. `optimumₚ` (the true minutes
//! per person at which a shift feels right) is [`Truth::optimum_minutes`]
//! times a factor of the ward's specialty ([`SPECIALTY_OPTIMUM`]). With
//! [`Truth::signal`] off the ratings are pure noise, `clamp(round(N(0,
//! 1.5)))`, whatever the load. Ratings are drawn from a stream of their own
//! per ward, date, shift, team and profession, so they are the same however
//! and whenever they are asked for.
//!
//! Shifts that started before the hospital's start (or before the sums
//! kept) or have not ended by its present have no truth and no ratings.
//!
//! The default response rate is 0.75, a little above RAFAELA's (and
//! careload's) minimum of 70 %: a truth answering at exactly 70 % would fall
//! below the minimum on about half the wards by chance.

use std::collections::VecDeque;
use std::fmt::Write as _;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};

use crate::codes::SPECIALTIES;
use crate::model::{Hospital, LOCAL_UTC_OFFSET_HOURS, local_hour};
use crate::patient::Patient;
use crate::rng::Rng;
use crate::staffing::{PROFESSIONS, SHIFTS};

/// The random stream offset for the patients' hidden factors.
pub(crate) const PATIENT_STREAM: u64 = 0x7452_0000_0000_0000;

/// The random stream offset for the ratings.
const RATING_STREAM: u64 = 0x5452_5554_0000_0000;

/// The spread of ratings when they carry no signal.
const NO_SIGNAL_SD: f64 = 1.5;

/// Minutes per point of the shipped weights.
pub const MINUTES_PER_POINT: f64 = 6.0;

/// USK, as an index into the per-profession arrays.
const USK: usize = 0;
/// SSK, as an index into the per-profession arrays.
const SSK: usize = 1;

/// Per specialty (index-aligned with [`SPECIALTIES`]), the factor on
/// [`Truth::optimum_minutes`]: a geriatric ward's staff feel a shift is right
/// at more minutes of direct care per person than a cardiology ward's.
pub const SPECIALTY_OPTIMUM: [f64; 8] = [1.0, 0.95, 1.05, 1.0, 1.05, 0.95, 0.95, 1.0];

/// The hidden truth's parameters ([`crate::SimConfig::truth`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    /// Whether the ratings follow the felt load (`false`: pure noise).
    pub signal: bool,
    /// True minutes per component, relative to six minutes per shipped point.
    pub factors: Factors,
    /// The shape of the hidden per-patient lognormal factor (median 1).
    pub hidden_sigma: f64,
    /// The shape of a lognormal factor (median 1) on each ward shift's true
    /// minutes: work nobody records (interruptions, relatives, the phone, a
    /// patient who needs more than the plan says), the same for every team
    /// and profession of the shift.
    pub unseen_sigma: f64,
    /// True minutes per person and shift at which a shift feels optimal,
    /// for USK and SSK, before the specialty's factor.
    pub optimum_minutes: [f64; 2],
    /// Whose load a person feels ([`Felt`]).
    pub felt: Felt,
    /// Felt minutes per person for one step of the rating scale.
    pub minutes_per_step: f64,
    /// The standard deviation of each rater's noise, in steps.
    pub noise_sd: f64,
    /// The chance that one person present rates the shift.
    pub response_rate: f64,
    /// Days of hourly sums kept.
    pub keep_days: u32,
}

impl Default for Truth {
    /// The realistic truth.
    fn default() -> Truth {
        Truth {
            signal: true,
            factors: Factors::default(),
            hidden_sigma: 0.3,
            unseen_sigma: 0.08,
            optimum_minutes: [260.0, 410.0],
            felt: Felt::Together,
            minutes_per_step: 150.0,
            noise_sd: 0.45,
            response_rate: 0.75,
            keep_days: 63,
        }
    }
}

/// Whose load a person present feels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Felt {
    /// The true minutes of both professions of their team (or the ward at
    /// night) over everyone present with them, against the optimum of the
    /// people present (each profession's, weighted by its people): the staff
    /// share the work, as RAFAELA's points per nurse assume. The default.
    #[default]
    Together,
    /// Their own profession's true minutes over their own profession's
    /// people present, against their profession's optimum.
    OwnProfession,
}

/// True minutes per component, as a factor on six minutes per point of the
/// shipped weights (the per-code tables vary it within a component).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Factors {
    /// Medication orders and administrations (SSK).
    pub medications: f64,
    /// Multidisciplinary orders.
    pub orders: f64,
    /// USK activities.
    pub basic_nursing: f64,
    /// SSK activities.
    pub specific_nursing: f64,
    /// NEWS2 measurements and the band.
    pub news2: f64,
    /// Emotional support, hourly or twice hourly.
    pub emotional_support: f64,
    /// Continuous emotional support (one or more staff all the time): mostly
    /// an extra sitter outside the roster, so little of it falls on the staff
    /// planned.
    pub continuous_support: f64,
    /// Care plans.
    pub care_plans: f64,
    /// Diagnoses.
    pub diagnoses: f64,
    /// True SSK minutes per waking hour (local 07–21) in the first 24 hours
    /// after admission.
    pub admission_minutes_per_hour: f64,
    /// Standing care (emotional support, care plans, the NEWS2 band,
    /// diagnoses) while patients sleep, local 23–06, on top of its own factor.
    pub asleep: f64,
    /// The true surcharge for an outlying patient (a multiplier).
    pub outlier: f64,
    /// True USK minutes of an activity the weights do not price.
    pub unpriced_activity_minutes: f64,
}

impl Default for Factors {
    fn default() -> Factors {
        Factors {
            medications: 2.2,
            orders: 1.0,
            basic_nursing: 0.7,
            specific_nursing: 1.5,
            news2: 0.7,
            emotional_support: 0.3,
            continuous_support: 0.25,
            care_plans: 0.2,
            diagnoses: 0.15,
            admission_minutes_per_hour: 6.0,
            asleep: 0.75,
            outlier: 1.15,
            unpriced_activity_minutes: 5.0,
        }
    }
}

/// The shipped weights' activity points by Norton physical activity
/// (walks, walks with help, wheelchair, bedridden), the activity's
/// profession, and the truth's own factor on it within its component.
const ACTIVITIES: [(&str, [f64; 4], usize, f64); 19] = [
    ("personal-hygiene", [0.5, 2.0, 2.5, 4.0], USK, 1.0),
    ("shower", [1.0, 3.0, 4.0, 5.0], USK, 1.2),
    ("dressing", [0.25, 1.0, 1.5, 2.0], USK, 0.8),
    ("toileting", [0.25, 1.0, 1.5, 2.5], USK, 1.3),
    ("mobilisation", [0.5, 1.5, 2.0, 3.0], USK, 1.0),
    ("repositioning", [0.0, 0.5, 1.0, 1.5], USK, 0.7),
    ("meal-assistance", [0.5, 1.0, 1.5, 2.5], USK, 1.2),
    ("fluid-balance", [0.25, 0.25, 0.5, 0.5], USK, 0.6),
    ("blood-glucose", [0.25, 0.25, 0.25, 0.5], USK, 0.8),
    ("escort", [1.0, 2.0, 2.5, 3.0], USK, 1.0),
    ("wound-care", [1.0, 1.0, 1.5, 2.0], SSK, 1.0),
    ("urinary-catheter", [1.0, 1.5, 1.5, 2.0], SSK, 0.9),
    ("peripheral-line", [1.0, 1.0, 1.0, 1.5], SSK, 1.0),
    ("drain-care", [0.5, 0.5, 0.75, 1.0], SSK, 1.0),
    ("tube-feeding", [0.5, 0.5, 0.75, 1.0], SSK, 1.1),
    ("pain-assessment", [0.25, 0.25, 0.25, 0.5], SSK, 1.0),
    ("admission-interview", [3.0, 3.0, 3.5, 4.0], SSK, 1.3),
    ("discharge-planning", [2.0, 2.0, 2.5, 3.0], SSK, 1.2),
    ("patient-education", [1.0, 1.0, 1.0, 1.0], SSK, 1.0),
];

/// The shipped weights' medication points per route (index-aligned with
/// [`crate::codes::ROUTES`]): per order-hour, per administration, and the truth's factor
/// on the route within the component.
const MEDICATIONS: [(f64, f64, f64); 8] = [
    (0.01, 0.3, 1.0),
    (0.03, 1.0, 1.3),
    (0.01, 0.4, 0.9),
    (0.01, 0.4, 0.9),
    (0.01, 0.4, 0.8),
    (0.01, 0.5, 1.2),
    (0.005, 0.3, 0.7),
    (0.01, 0.5, 1.0),
];

/// The shipped weights' order points per category (index-aligned with
/// [`crate::codes::ORDER_CATEGORIES`]), the profession and the truth's factor.
const ORDERS: [(f64, usize, f64); 6] = [
    (1.0, USK, 1.0),
    (1.5, SSK, 1.2),
    (0.5, USK, 1.0),
    (1.5, USK, 1.3),
    (3.0, SSK, 1.0),
    (0.5, SSK, 0.8),
];

/// The shipped weights' care-plan points per hour (index-aligned with
/// [`crate::codes::CARE_PLAN_CATEGORIES`]), the profession and the truth's factor.
const CARE_PLANS: [(f64, usize, f64); 6] = [
    (1.5, SSK, 1.4),
    (1.0, USK, 1.0),
    (0.3, USK, 0.8),
    (0.3, USK, 1.0),
    (0.2, USK, 1.0),
    (0.5, USK, 1.2),
];

/// The shipped weights' emotional-support points per hour by level
/// (index-aligned with [`crate::codes::SUPPORT_LEVELS`]); USK.
const SUPPORT: [f64; 5] = [0.0, 0.5, 1.0, 10.0, 20.0];

/// The shipped weights' NEWS2: points per measurement, and per hour by the
/// band of the latest total (from 0, 1, 5, 7); USK.
const NEWS2_PER_MEASUREMENT: f64 = 0.5;
const NEWS2_BANDS: [(u8, f64); 4] = [(0, 0.0), (1, 0.1), (5, 0.5), (7, 1.0)];

/// The shipped weights' diagnosis rules: prefix, points per hour, profession.
const DIAGNOSES: [(&str, f64, usize); 3] = [("F10", 0.5, SSK), ("F0", 0.5, USK), ("F", 0.3, SSK)];

/// The shipped weights' newly-admitted modifier, as the simulator reckons
/// it: an extra point an hour over the first 24 hours (careload phases it
/// out as the record fills; the nominal minutes keep half of it).
const NOMINAL_ADMISSION_POINTS_PER_HOUR: f64 = 0.5;

/// The shipped weights' outlier multiplier.
const NOMINAL_OUTLIER: f64 = 1.1;

/// The shipped weights of one activity code, for the tests: points by Norton
/// physical activity (walks … bedridden) and the profession (`USK`/`SSK`);
/// `None` for a code the weights do not price.
pub fn shipped_activity(code: &str) -> Option<([f64; 4], &'static str)> {
    ACTIVITIES.iter().find(|a| a.0 == code).map(|a| (a.1, PROFESSIONS[a.2]))
}

/// The row of activity `code` in the truth's table, `None` for a code the
/// weights do not price (looked up once, when the task is made).
pub(crate) fn activity_row(code: &str) -> Option<u8> {
    ACTIVITIES
        .iter()
        .position(|a| a.0 == code)
        .and_then(|i| u8::try_from(i).ok())
}

/// The local hours of a medication's times of day (`"08:00:00"`) as bits.
pub(crate) fn hours_mask(times: &[&str]) -> u32 {
    times
        .iter()
        .filter_map(|x| x.get(..2)?.parse::<u32>().ok())
        .filter(|&h| h < 24)
        .fold(0, |m, h| m | (1 << h))
}

/// One hour's minutes of one patient, or summed: `[true USK, true SSK,
/// nominal USK, nominal SSK]`.
type Minutes = [f64; 4];

/// The hourly sums: per hour since `first`, per ward and team slot.
#[derive(Clone, Debug, Default)]
pub(crate) struct TruthAcc {
    /// The hour of `hours[0]`.
    first: Option<DateTime<Utc>>,
    /// Per hour, per slot (`slot_of[ward] + team`).
    hours: VecDeque<Vec<Minutes>>,
    /// The first slot of each ward.
    slot_of: Vec<usize>,
    slots: usize,
}

impl TruthAcc {
    /// Sums for wards with `teams` teams each.
    pub(crate) fn new(teams: impl Iterator<Item = usize>) -> TruthAcc {
        let mut slot_of = Vec::new();
        let mut slots = 0;
        for t in teams {
            slot_of.push(slots);
            slots += t;
        }
        TruthAcc {
            first: None,
            hours: VecDeque::new(),
            slot_of,
            slots,
        }
    }

    /// The sums of the hour starting at `hour`, if kept.
    fn hour(&self, hour: DateTime<Utc>) -> Option<&Vec<Minutes>> {
        let first = self.first?;
        // before `first` the hour count is negative and the conversion fails
        self.hours.get(usize::try_from((hour - first).num_hours()).ok()?)
    }
}

/// What an hour costs one patient, truly and nominally.
fn patient_minutes(p: &Patient, t: DateTime<Utc>, truth: &Truth) -> Minutes {
    let end = t + Duration::hours(1);
    let f = &truth.factors;
    let lh = local_hour(t);
    let asleep = if !(6..23).contains(&lh) { f.asleep } else { 1.0 };
    let mut tru = [0.0f64; 2];
    let mut nom = [0.0f64; 2];
    // Activities due in the hour: the true Norton level for the truth, the
    // documented one (else "walks with help") for the nominal.
    let documented = p.norton.iter().rev().find(|a| a.at <= t).map_or(3, |a| a.value.0);
    let level = |activity: u8| usize::from(4 - activity.clamp(1, 4));
    for task in p.tasks.iter().filter(|x| !x.cancelled && x.due >= t && x.due < end) {
        match task.truth.and_then(|i| ACTIVITIES.get(usize::from(i))) {
            Some(&(_, points, own, factor)) => {
                let prof = match task.performer {
                    Some("USK") => USK,
                    Some(_) => SSK,
                    None => own,
                };
                let component = if own == USK {
                    f.basic_nursing
                } else {
                    f.specific_nursing
                };
                let truly = points[level(p.activity)] * MINUTES_PER_POINT * component * factor;
                nom[prof] += points[level(documented)] * MINUTES_PER_POINT;
                tru[prof] += truly;
            }
            None => tru[USK] += f.unpriced_activity_minutes,
        }
    }
    let mut add = |prof: usize, points: f64, factor: f64| {
        nom[prof] += points * MINUTES_PER_POINT;
        tru[prof] += points * MINUTES_PER_POINT * factor;
    };
    // Medications: standing per order-hour, administrations due in the hour.
    for m in p.meds.iter().filter(|m| m.start <= t && m.stop.is_none_or(|s| s > t)) {
        let (per_hour, per_admin, factor) = MEDICATIONS[m.route.min(MEDICATIONS.len() - 1)];
        let admins = if m.prn {
            0.0
        } else if m.times.is_empty() {
            f64::from(m.frequency) / 24.0
        } else {
            f64::from((m.hours >> lh) & 1)
        };
        add(SSK, per_hour + per_admin * admins, f.medications * factor);
    }
    // NEWS2: measurements taken in the hour, the band of the latest.
    // (measurements are kept in time order, the hour's at the end)
    let taken = p
        .measurements
        .iter()
        .rev()
        .take_while(|m| m.at >= t)
        .filter(|m| m.at < end)
        .count() as f64;
    add(USK, NEWS2_PER_MEASUREMENT * taken, f.news2);
    if let Some(latest) = p.measurements.iter().rev().find(|m| m.at < end) {
        let band = NEWS2_BANDS
            .iter()
            .rev()
            .find(|b| latest.total >= b.0)
            .map_or(0.0, |b| b.1);
        add(USK, band, f.news2 * asleep);
    }
    // Emotional support at the true level.
    let level = p.support.min(SUPPORT.len() - 1);
    let factor = if level >= 3 {
        f.continuous_support
    } else {
        f.emotional_support
    };
    add(USK, SUPPORT[level], factor * asleep);
    // Orders due in the hour.
    for o in p.orders.iter().filter(|o| !o.cancelled && o.due >= t && o.due < end) {
        let (points, prof, factor) = ORDERS[o.category.min(ORDERS.len() - 1)];
        add(prof, points, f.orders * factor);
    }
    // Care plans active at the hour, each category once.
    let mut seen = [false; 6];
    for c in p
        .care_plans
        .iter()
        .filter(|c| c.start <= t && c.end.is_none_or(|e| e > t))
    {
        let i = c.category.min(CARE_PLANS.len() - 1);
        if !std::mem::replace(&mut seen[i], true) {
            let (points, prof, factor) = CARE_PLANS[i];
            add(prof, points, f.care_plans * factor * asleep);
        }
    }
    // Diagnoses: each rule once, the longest prefix per diagnosis.
    let mut rules = [false; 3];
    for c in p.conditions.iter().filter(|c| c.recorded <= t) {
        if let Some(i) = DIAGNOSES.iter().position(|d| c.code.starts_with(d.0)) {
            rules[i] = true;
        }
    }
    for (i, on) in rules.into_iter().enumerate() {
        if on {
            add(DIAGNOSES[i].2, DIAGNOSES[i].1, f.diagnoses * asleep);
        }
    }
    // The first day.
    if t < p.admitted + Duration::hours(24) {
        if (7..21).contains(&lh) {
            tru[SSK] += f.admission_minutes_per_hour;
        }
        nom[SSK] += NOMINAL_ADMISSION_POINTS_PER_HOUR * MINUTES_PER_POINT;
    }
    let outlier = if p.outlier {
        (f.outlier, NOMINAL_OUTLIER)
    } else {
        (1.0, 1.0)
    };
    let hidden = (truth.hidden_sigma * p.hidden).exp();
    [
        tru[USK] * outlier.0 * hidden,
        tru[SSK] * outlier.0 * hidden,
        nom[USK] * outlier.1,
        nom[SSK] * outlier.1,
    ]
}

/// One shift of one team (or of the whole ward at night) and one profession,
/// as the truth sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ShiftTruth {
    /// The ward's id.
    pub ward: String,
    /// The team's id; `None` for a shift planned for the whole ward.
    pub team: Option<String>,
    /// The local date the shift starts on.
    pub date: NaiveDate,
    /// The shift's name (`day`, `evening`, `night`).
    pub shift: &'static str,
    /// Its start (UTC).
    pub start: DateTime<Utc>,
    /// `USK` or `SSK`.
    pub profession: &'static str,
    /// People planned, as in the staffing CSV.
    pub planned: u32,
    /// People present (planned − absent).
    pub present: u32,
    /// True minutes of this profession's work in the shift (the team's, or
    /// the ward's for a whole-ward shift).
    pub true_minutes: f64,
    /// Six minutes per shipped point as the simulator reckons them (an
    /// approximation of careload's score; see the module doc).
    pub nominal_minutes: f64,
    /// True minutes per person present at which the shift feels optimal.
    pub optimum_minutes_per_person: f64,
    /// The ratings given, −3 … +3 (none when nobody was present).
    pub ratings: Vec<i8>,
}

impl ShiftTruth {
    /// True minutes per person present (`None` when nobody was).
    pub fn felt_minutes(&self) -> Option<f64> {
        (self.present > 0).then(|| self.true_minutes / f64::from(self.present))
    }
}

impl Hospital {
    /// Adds the hour starting at `t` (every inpatient's true and nominal
    /// minutes) to the sums; called once per simulated hour.
    pub(crate) fn record_truth(&mut self, t: DateTime<Utc>) {
        let truth = &self.config().truth;
        let mut sums = vec![[0.0; 4]; self.truth.slots];
        for p in self.patients.iter().filter(|p| !p.discharged) {
            let team = self.wards[p.ward].beds[p.bed].team;
            let slot = self.truth.slot_of[p.ward] + team;
            let m = patient_minutes(p, t, truth);
            for (s, x) in sums[slot].iter_mut().zip(m) {
                *s += x;
            }
        }
        let keep = usize::try_from(truth.keep_days.max(1))
            .unwrap_or(usize::MAX)
            .saturating_mul(24);
        let acc = &mut self.truth;
        if acc.first.is_none() {
            acc.first = Some(t);
        }
        acc.hours.push_back(sums);
        while acc.hours.len() > keep {
            acc.hours.pop_front();
            acc.first = acc.first.map(|f| f + Duration::hours(1));
        }
    }

    /// The truth of every shift of ward `ward` (its id) starting on the
    /// `days` local dates from `from` that has ended by [`Hospital::now`]
    /// and lies wholly in the simulated (and kept) hours: per shift, team
    /// (or the whole ward) and profession. Empty for an unknown ward.
    pub fn shift_truths(&self, ward: &str, from: NaiveDate, days: u32) -> Vec<ShiftTruth> {
        let Some(w) = self.wards.iter().position(|x| x.id == ward) else {
            return Vec::new();
        };
        let truth = &self.config().truth;
        let specialty = SPECIALTY_OPTIMUM[self.wards[w].specialty.min(SPECIALTIES.len() - 1)];
        let teams = self.wards[w].teams.len();
        let mut out = Vec::new();
        for d in 0..days {
            let date = from + Duration::days(i64::from(d));
            let roster = self.roster(w, date);
            for (s, shift) in SHIFTS.iter().enumerate() {
                let start = local_instant(date, shift.start_hour);
                let end = start + Duration::hours(i64::from(shift.hours));
                if end > self.now {
                    continue;
                }
                // per team slot and profession: true and nominal minutes
                let mut sums = vec![[0.0; 4]; teams];
                let mut complete = true;
                for h in 0..shift.hours {
                    let Some(hour) = self.truth.hour(start + Duration::hours(i64::from(h))) else {
                        complete = false;
                        break;
                    };
                    let base = self.truth.slot_of[w];
                    for (team, sum) in sums.iter_mut().enumerate() {
                        for (x, y) in sum.iter_mut().zip(hour[base + team]) {
                            *x += y;
                        }
                    }
                }
                if !complete {
                    continue;
                }
                let unseen_stream = RATING_STREAM
                    ^ ((w as u64) << 20)
                    ^ u64::from(date.num_days_from_ce() as u32)
                    ^ ((s as u64) << 44)
                    ^ (0xFF << 48);
                let unseen = Rng::stream(self.config().seed, unseen_stream).lognormal(1.0, truth.unseen_sigma);
                for row in roster.iter().filter(|r| r.shift == s) {
                    let (minutes, nominal) = match row.team {
                        Some(team) => (sums[team][row.profession], sums[team][2 + row.profession]),
                        None => sums.iter().fold((0.0, 0.0), |(a, b), x| {
                            (a + x[row.profession], b + x[2 + row.profession])
                        }),
                    };
                    let minutes = minutes * unseen;
                    let optimum = truth.optimum_minutes[row.profession] * specialty;
                    let present = row.present();
                    // what each of this row's people feel: the load per person and its optimum
                    let (felt, felt_optimum) = match truth.felt {
                        Felt::OwnProfession => (if present > 0 { minutes / f64::from(present) } else { 0.0 }, optimum),
                        Felt::Together => {
                            let (mut all, mut people, mut optimal) = (0.0, 0u32, 0.0);
                            for r in roster.iter().filter(|r| r.shift == s && r.team == row.team) {
                                all += match r.team {
                                    Some(team) => sums[team][r.profession],
                                    None => sums.iter().map(|x| x[r.profession]).sum(),
                                };
                                people += r.present();
                                optimal += truth.optimum_minutes[r.profession] * specialty * f64::from(r.present());
                            }
                            if people > 0 {
                                (all * unseen / f64::from(people), optimal / f64::from(people))
                            } else {
                                (0.0, optimum)
                            }
                        }
                    };
                    let team_slot = row.team.map_or(0, |t| t + 1) as u64;
                    let stream = RATING_STREAM
                        ^ ((w as u64) << 20)
                        ^ u64::from(date.num_days_from_ce() as u32)
                        ^ ((s as u64) << 44)
                        ^ (team_slot << 48)
                        ^ ((row.profession as u64) << 56);
                    let mut rng = Rng::stream(self.config().seed, stream);
                    let mut ratings = Vec::new();
                    for _ in 0..present {
                        let noise = rng.normal();
                        let rates = rng.bernoulli(truth.response_rate);
                        if !rates {
                            continue;
                        }
                        let raw = if truth.signal {
                            (felt - felt_optimum) / truth.minutes_per_step + truth.noise_sd * noise
                        } else {
                            NO_SIGNAL_SD * noise
                        };
                        ratings.push(raw.round().clamp(-3.0, 3.0) as i8);
                    }
                    out.push(ShiftTruth {
                        ward: self.wards[w].id.clone(),
                        team: row.team.map(|t| self.wards[w].teams[t].clone()),
                        date,
                        shift: shift.name,
                        start,
                        profession: PROFESSIONS[row.profession],
                        planned: row.planned,
                        present,
                        true_minutes: minutes,
                        nominal_minutes: nominal,
                        optimum_minutes_per_person: optimum,
                        ratings,
                    });
                }
            }
        }
        out
    }

    /// The ratings of ward `ward` for the shifts of [`Hospital::shift_truths`]
    /// as the paper import's CSV (`docs/ratings-csv.md`):
    /// `date;shift;team;profession;rating`, the team's id or empty for a
    /// whole-ward shift, ratings with the true minus sign.
    pub fn ratings_csv(&self, ward: &str, from: NaiveDate, days: u32) -> String {
        let mut out = String::from("date;shift;team;profession;rating\n");
        for s in self.shift_truths(ward, from, days) {
            for r in &s.ratings {
                let rating = match r.signum() {
                    -1 => format!("\u{2212}{}", r.unsigned_abs()),
                    1 => format!("+{r}"),
                    _ => "0".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "{};{};{};{};{rating}",
                    s.date,
                    s.shift,
                    s.team.as_deref().unwrap_or(""),
                    s.profession
                );
            }
        }
        out
    }
}

/// The instant of local hour `hour` on local date `date`.
fn local_instant(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    let local = date.and_time(NaiveTime::MIN) + Duration::hours(i64::from(hour));
    (local - Duration::hours(LOCAL_UTC_OFFSET_HOURS)).and_utc()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::codes::{CARE_PLAN_CATEGORIES, ORDER_CATEGORIES, ROUTES, SSK_ACTIVITIES, USK_ACTIVITIES};

    #[test]
    fn the_tables_cover_every_code_the_simulator_emits() {
        for code in USK_ACTIVITIES {
            assert_eq!(shipped_activity(code).map(|a| a.1), Some("USK"), "{code}");
        }
        for code in SSK_ACTIVITIES {
            assert_eq!(shipped_activity(code).map(|a| a.1), Some("SSK"), "{code}");
        }
        assert_eq!(ROUTES.len(), MEDICATIONS.len());
        assert_eq!(ORDER_CATEGORIES.len(), ORDERS.len());
        assert_eq!(CARE_PLAN_CATEGORIES.len(), CARE_PLANS.len());
        assert_eq!(SPECIALTIES.len(), SPECIALTY_OPTIMUM.len());
    }

    #[test]
    fn a_local_shift_start_is_an_hour_earlier_in_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert_eq!(local_instant(d, 7).to_rfc3339(), "2026-11-24T06:00:00+00:00");
        assert_eq!(local_instant(d, 0).to_rfc3339(), "2026-11-23T23:00:00+00:00");
    }
}
