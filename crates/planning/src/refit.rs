//! Refitting the weights to the staff's ratings (issue 27, `careload weights
//! fit`): one scale per score component, fitted so that the points per person
//! explain the shifts' mean ratings better, and a verdict on whether the
//! candidate is worth proposing at all.
//!
//! Like [`crate::calibration`] this is statistics in `f64`, with no I/O and no
//! clock: the caller gives one [`FitShift`] per shift (from the stored hours,
//! the planned staffing and the ratings) and gets a [`ScaleFit`] back. Turning
//! the scales into a weights file is `careload_scoring`'s
//! `Weights::with_component_scales` and the binary's.
//!
//! # The model
//!
//! Each rated shift `i` of ward `w` has `xᵢ꜀`, the points per person present
//! of each component `c` (the nine of [`Component::ALL`]), `nᵢ` ratings and
//! their mean `yᵢ`. The fit is
//!
//! ```text
//! yᵢ ≈ α_w + Σ꜀ β꜀ xᵢ꜀
//! ```
//!
//! weighted by `nᵢ` (as the calibration's line: every nurse's answer counts
//! once), with an intercept per ward (wards differ in their optimum, so only
//! differences *within* a ward inform the β: the fit centres every variable
//! on its ward's weighted mean and the α drop out).
//!
//! Under the weights in force every component counts the same per point: the
//! in-force model is `β꜀ = b₀` for every `c`, `b₀` being the slope of the
//! single (within-ward) fit of the mean rating on the total points per person.
//! The candidate's **scale** of component `c` is `s꜀ = β꜀ / b₀`: a component
//! whose points the staff feel more than the total's average gets `s꜀ > 1`.
//!
//! The β minimise
//!
//! ```text
//! Σᵢ nᵢ (ỹᵢ − Σ꜀ β꜀ x̃ᵢ꜀)²  +  Σ꜀ λ꜀ (β꜀ − b₀)²,   λ꜀ = pull · G꜀꜀ / W
//! subject to  min_scale · b₀ ≤ β꜀ ≤ max_scale · b₀
//! ```
//!
//! (`x̃`, `ỹ` centred per ward, `G꜀꜀ = Σ nᵢ x̃ᵢ꜀²`, `W = Σ nᵢ`), solved by
//! projected coordinate descent (a convex quadratic over a box: it converges
//! to the one minimum). The ridge term pulls every scale toward 1, the
//! weights in force: `λ꜀` makes the weights in force count as
//! [`FitBounds::pull`] ratings' worth of evidence for every component
//! (scaled by that component's own spread, so the pull does not depend on a
//! component's unit or size). With few ratings the scales stay near 1; with
//! many, the data decide. The box keeps every scale within the council's
//! bounds and so non-negative: more work never feels lighter. A component
//! that never varies within a ward carries no information and keeps 1.
//!
//! Finally the scales are **renormalised**: those fitted multiplied by one
//! common factor `k` (then held within the bounds again, `k` found by
//! bisection; a component without information keeps exactly 1) so that the
//! mean points per person of the shifts given stays what it is,
//! `Σ꜀ s꜀ x̄꜀ = Σ꜀ x̄꜀`. A point then still means about what it meant: the
//! colour bands, the staff-hour factors and the verdicts keep their sense,
//! and only the mix between components changes.
//!
//! # Honest about signal: the held-out check
//!
//! Nine scales fitted to a few hundred noisy shift means will always explain
//! those same shifts a little better. So the candidate is judged on shifts it
//! was not fitted to: the shifts are split by week, alternate weeks (Monday
//! to Sunday) in each half ("even" and "odd"; counted without a break, so
//! that ISO week 53 and the next week 1 fall in different halves), the
//! scales fitted on one half and tested on the other, both ways. On the
//! test half, per ward, the calibration's own R² (weighted line of the mean
//! rating on points per person, [`crate::calibration`]) is computed with the
//! points in force and with the candidate's; the wards' R² are pooled as
//! their mean weighted by rated shifts (a ward needs at least
//! [`MIN_WARD_SHIFTS`] rated shifts in a half). Weeks, not single shifts, are
//! held out, because shifts of one week share patients and their errors.
//!
//! A change is **proposed** only when
//! * the data meet the calibration's minimums ([`CalibrationRules`]: rated
//!   shifts, response rate and weeks, over all wards together),
//! * the points in force do rise with the ratings (`b₀ > 0`; otherwise
//!   there is no signal to rescale), and
//! * in **both** directions of the split the candidate's held-out R² beats
//!   the one in force by at least [`FitBounds::min_gain`] (default 0.02).
//!
//! Otherwise the answer is "no change", with each reason ([`NoChange`], a
//! stable code and Swedish text, like the calibration's
//! [`crate::calibration::Unreliable`]). The scales are still reported so the
//! council sees what the fit would have said.
//!
//! # Limits
//!
//! The scales are per component, not per parameter: a component whose
//! parameters are wrong relative to each other (one activity overweighted,
//! another underweighted) cannot be corrected here. The modifiers component
//! holds the outlier multiplier's and the newly admitted floor's points as
//! well, which do not scale with the component's scale (see
//! `Weights::with_component_scales`); its scale is therefore approximate.

use std::collections::{BTreeMap, BTreeSet};

use careload_scoring::score::Component;
use careload_scoring::{Points, Qty};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::calibration::{CalibrationRules, Line};
use crate::words::{decimals, percent};

/// The number of components (of [`Component::ALL`]).
pub const COMPONENTS: usize = Component::ALL.len();

/// A ward's rated shifts in one half of the held-out split needed for its R²
/// to count.
pub const MIN_WARD_SHIFTS: usize = 3;

/// Scales as a candidate weights file applies them: rounded to two
/// decimals, never below 0, 1 where not a number.
#[must_use]
pub fn rounded_scales(scales: &[f64; COMPONENTS]) -> [Qty; COMPONENTS] {
    let mut out = [Qty::ONE; COMPONENTS];
    for (o, s) in out.iter_mut().zip(scales) {
        let hundredths = if s.is_finite() { (s * 100.0).round() as i64 } else { 100 };
        *o = Qty::from_milli(hundredths.max(0) * 10);
    }
    out
}

/// One shift as the refit sees it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FitShift {
    /// The ward (each ward has its own intercept).
    pub ward: String,
    /// The shift's date (its start in the hospital's zone): its ISO week
    /// decides the held-out half.
    pub date: NaiveDate,
    /// Points per person present of each component, in [`Component::ALL`] order.
    pub components: [Points; COMPONENTS],
    /// Staff present (for the response rate).
    pub staff_present: u32,
    /// Ratings given (0: the shift counts for the response rate only).
    pub ratings: u32,
    /// Their mean (ignored without ratings).
    pub mean_rating: f64,
}

impl FitShift {
    /// The total points per person under the weights in force.
    #[must_use]
    pub fn total(&self) -> f64 {
        self.components.iter().map(|p| p.as_f64()).sum()
    }

    /// The total points per person under `scales`.
    #[must_use]
    pub fn scaled_total(&self, scales: &[f64; COMPONENTS]) -> f64 {
        self.components.iter().zip(scales).map(|(p, s)| p.as_f64() * s).sum()
    }

    /// Rated, with a finite mean.
    fn is_rated(&self) -> bool {
        self.ratings > 0 && self.mean_rating.is_finite()
    }
}

/// The council's bounds on a fit. Plain values with defaults, documented.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct FitBounds {
    /// The lowest scale (default 0.25: a component may lose three quarters
    /// of its points, never all of them; 0 at the least, so never negative).
    pub min_scale: f64,
    /// The highest scale (default 4: a component may count four times as
    /// much, no more).
    pub max_scale: f64,
    /// How many ratings' worth of evidence the weights in force count as, in
    /// every component (default 100, about a week of one ward's ratings):
    /// the ridge pull toward the weights in force.
    pub pull: f64,
    /// How much the candidate's held-out R² must beat the one in force, in
    /// both halves, for a change to be proposed (default 0.02).
    pub min_gain: f64,
}

impl Default for FitBounds {
    fn default() -> FitBounds {
        FitBounds {
            min_scale: 0.25,
            max_scale: 4.0,
            pull: 100.0,
            min_gain: 0.02,
        }
    }
}

impl FitBounds {
    /// The bounds made usable: the minimum within 0 … 1, the maximum at
    /// least 1, pull and gain not negative (non-finite values take the
    /// defaults).
    #[must_use]
    pub fn sane(&self) -> FitBounds {
        let d = FitBounds::default();
        let pick = |v: f64, default: f64| if v.is_finite() { v } else { default };
        FitBounds {
            min_scale: pick(self.min_scale, d.min_scale).clamp(0.0, 1.0),
            max_scale: pick(self.max_scale, d.max_scale).max(1.0),
            pull: pick(self.pull, d.pull).max(0.0),
            min_gain: pick(self.min_gain, d.min_gain).max(0.0),
        }
    }
}

/// One component's fitted scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComponentScale {
    /// The component.
    pub component: Component,
    /// Its scale: the candidate's points are the in-force points times this.
    pub scale: f64,
    /// Its mean points per person over the rated shifts (in force).
    pub mean_points_per_person: f64,
}

/// R² under the weights in force and under the candidate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RSquared {
    /// With the points in force.
    pub in_force: Option<f64>,
    /// With the candidate's points.
    pub candidate: Option<f64>,
}

/// Which half of the ISO weeks a held-out check fitted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Half {
    /// Fitted on even ISO weeks, tested on odd.
    EvenWeeks,
    /// Fitted on odd ISO weeks, tested on even.
    OddWeeks,
}

impl Half {
    /// In Swedish: the weeks fitted on.
    #[must_use]
    pub fn sv(self) -> &'static str {
        match self {
            Half::EvenWeeks => "anpassad på jämna veckor, prövad på udda",
            Half::OddWeeks => "anpassad på udda veckor, prövad på jämna",
        }
    }
}

/// One direction of the held-out check.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HeldOut {
    /// The half fitted on.
    pub fitted_on: Half,
    /// Rated shifts fitted on.
    pub fit_shifts: u32,
    /// Rated shifts tested on.
    pub test_shifts: u32,
    /// The pooled R² on the test half (wards weighted by rated shifts).
    pub r_squared: RSquared,
    /// The scales fitted on the fitting half, in [`Component::ALL`] order.
    pub scales: Vec<f64>,
}

/// One ward's R².
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WardScaleFit {
    /// The ward.
    pub ward: String,
    /// Its rated shifts.
    pub shifts: u32,
    /// Its ratings.
    pub ratings: u32,
    /// R² over all its shifts, scales fitted on everything (in-sample).
    pub in_sample: RSquared,
    /// R² on its held-out shifts: the mean over the two halves, weighted by
    /// its rated shifts in each.
    pub held_out: RSquared,
}

/// Why no change is proposed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NoChange {
    /// Fewer rated shifts than the calibration's minimum.
    TooFewShifts {
        /// Rated shifts.
        shifts: u32,
        /// The minimum.
        minimum: u32,
    },
    /// The response rate is below the minimum (or nobody was present).
    LowResponseRate {
        /// Ratings over staff present.
        rate: Option<f64>,
        /// The minimum.
        minimum: f64,
    },
    /// The rated shifts cover fewer ISO weeks than the minimum.
    TooFewWeeks {
        /// Distinct ISO weeks.
        weeks: u32,
        /// The minimum.
        minimum: u32,
    },
    /// No ward had shifts at different loads: no slope can be fitted.
    NoSpread,
    /// The ratings do not rise with the points in force: no signal to rescale.
    SlopeNotPositive {
        /// The within-ward slope of the mean rating on the total points per person.
        slope: f64,
    },
    /// One half of the held-out split could not be fitted or tested.
    NoHeldOut {
        /// The half fitted on.
        fitted_on: Half,
    },
    /// On held-out shifts the candidate does not beat the weights in force by the margin.
    NotBetterHeldOut {
        /// The half fitted on.
        fitted_on: Half,
        /// Held-out R² in force.
        in_force: f64,
        /// Held-out R² of the candidate.
        candidate: f64,
        /// The margin asked for.
        min_gain: f64,
    },
    /// The hours were scored by weights other than those in force (or by
    /// several versions): scales fitted to those points would be applied to
    /// different ones. Told by the caller, which knows the versions.
    OtherWeights {
        /// Weights versions that scored the hours.
        versions: u32,
    },
}

impl NoChange {
    /// A stable code: `too_few_shifts`, `low_response_rate`, `too_few_weeks`,
    /// `no_spread`, `slope_not_positive`, `no_held_out`, `not_better_held_out`
    /// or `other_weights`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            NoChange::TooFewShifts { .. } => "too_few_shifts",
            NoChange::LowResponseRate { .. } => "low_response_rate",
            NoChange::TooFewWeeks { .. } => "too_few_weeks",
            NoChange::NoSpread => "no_spread",
            NoChange::SlopeNotPositive { .. } => "slope_not_positive",
            NoChange::NoHeldOut { .. } => "no_held_out",
            NoChange::NotBetterHeldOut { .. } => "not_better_held_out",
            NoChange::OtherWeights { .. } => "other_weights",
        }
    }

    /// The reason in Swedish (decimal comma, the true minus sign).
    #[must_use]
    pub fn sv(&self) -> String {
        match *self {
            NoChange::TooFewShifts { shifts, minimum } => {
                format!("för få skattade pass: {shifts} (minst {minimum})")
            }
            NoChange::LowResponseRate {
                rate: Some(rate),
                minimum,
            } => format!(
                "för låg svarsfrekvens: {} % (minst {} %)",
                percent(rate),
                percent(minimum)
            ),
            NoChange::LowResponseRate { rate: None, minimum } => format!(
                "ingen personal registrerad, svarsfrekvensen okänd (minst {} %)",
                percent(minimum)
            ),
            NoChange::TooFewWeeks { weeks, minimum } => format!("för få veckor: {weeks} (minst {minimum})"),
            NoChange::NoSpread => "inget pass skilde sig i poäng per person från andra på samma avdelning".to_owned(),
            NoChange::SlopeNotPositive { slope } => format!(
                "ingen signal: skattningarna stiger inte med poängen per person (lutning {})",
                decimals(slope, 3)
            ),
            NoChange::NoHeldOut { fitted_on } => format!(
                "kontrollen på undanhållna pass gick inte att göra ({}): för få pass per avdelning",
                fitted_on.sv()
            ),
            NoChange::NotBetterHeldOut {
                fitted_on,
                in_force,
                candidate,
                min_gain,
            } => format!(
                "förslaget förklarar inte skattningarna bättre på undanhållna pass ({}): R² {} mot {} i kraft (krav: minst {} bättre)",
                fitted_on.sv(),
                decimals(candidate, 2),
                decimals(in_force, 2),
                decimals(min_gain, 2)
            ),
            NoChange::OtherWeights { versions } => format!(
                "{}: skalorna skulle läggas på andra poäng än de de anpassats till (välj en period som poängsatts med vikterna i kraft)",
                if versions > 1 {
                    "timmarna är poängsatta med flera viktversioner"
                } else {
                    "timmarna är poängsatta med andra vikter än de som gäller nu"
                }
            ),
        }
    }
}

/// The refit: the candidate's scales, how well they do, and whether to propose them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScaleFit {
    /// One scale per component, in [`Component::ALL`] order (1 everywhere when nothing could be fitted).
    pub scales: Vec<ComponentScale>,
    /// The within-ward slope of the mean rating on the total points per person in force (`b₀`).
    pub slope_in_force: Option<f64>,
    /// Pooled R² over every shift, scales fitted on every shift.
    pub in_sample: RSquared,
    /// The held-out check, both directions.
    pub held_out: Vec<HeldOut>,
    /// Per ward.
    pub wards: Vec<WardScaleFit>,
    /// Rated shifts.
    pub shifts: u32,
    /// Shifts without a rating (they count for the response rate).
    pub unrated_shifts: u32,
    /// Ratings.
    pub ratings: u32,
    /// Staff present over all shifts given.
    pub staff_present: u32,
    /// Ratings over staff present.
    pub response_rate: Option<f64>,
    /// Distinct ISO weeks with a rated shift.
    pub weeks: u32,
    /// True when every condition of the module doc is met: write the candidate.
    pub proposes_change: bool,
    /// Why not (empty when a change is proposed).
    pub reasons: Vec<NoChange>,
}

impl ScaleFit {
    /// The scales as a candidate applies them: [`rounded_scales`] of
    /// [`ScaleFit::scale_array`].
    #[must_use]
    pub fn rounded_scales(&self) -> [Qty; COMPONENTS] {
        rounded_scales(&self.scale_array())
    }

    /// The scales as an array in [`Component::ALL`] order.
    #[must_use]
    pub fn scale_array(&self) -> [f64; COMPONENTS] {
        let mut out = [1.0; COMPONENTS];
        for (i, c) in Component::ALL.iter().enumerate() {
            if let Some(s) = self.scales.iter().find(|s| s.component == *c) {
                out[i] = s.scale;
            }
        }
        out
    }
}

/// What a fit of some shifts gives.
struct Solved {
    /// The in-force slope `b₀`.
    b0: f64,
    /// The scales, renormalised and within bounds.
    scales: [f64; COMPONENTS],
}

/// Why a set of shifts could not be fitted.
enum Unsolved {
    /// No within-ward spread of the total.
    NoSpread,
    /// `b₀ ≤ 0`.
    SlopeNotPositive(f64),
}

/// The ward-centred, weighted data of a fit.
struct Centred {
    /// Per rated shift: (x̃ per component, x̃ total, ỹ, n).
    rows: Vec<([f64; COMPONENTS], f64, f64, f64)>,
    /// Σ n.
    w: f64,
}

/// Centres every variable on its ward's weighted mean.
fn centre(shifts: &[&FitShift]) -> Centred {
    let mut by_ward: BTreeMap<&str, Vec<&FitShift>> = BTreeMap::new();
    for s in shifts.iter().filter(|s| s.is_rated()) {
        by_ward.entry(s.ward.as_str()).or_default().push(s);
    }
    let mut rows = Vec::new();
    let mut w = 0.0;
    for list in by_ward.values() {
        let wn: f64 = list.iter().map(|s| f64::from(s.ratings)).sum();
        if wn <= 0.0 {
            continue;
        }
        let mut mx = [0.0; COMPONENTS];
        let mut my = 0.0;
        for s in list {
            let n = f64::from(s.ratings);
            for (m, p) in mx.iter_mut().zip(&s.components) {
                *m += n * p.as_f64() / wn;
            }
            my += n * s.mean_rating / wn;
        }
        for s in list {
            let mut x = [0.0; COMPONENTS];
            for ((xc, p), m) in x.iter_mut().zip(&s.components).zip(&mx) {
                *xc = p.as_f64() - m;
            }
            let total: f64 = x.iter().sum();
            rows.push((x, total, s.mean_rating - my, f64::from(s.ratings)));
        }
        w += wn;
    }
    Centred { rows, w }
}

/// Fits the scales to `shifts` within `bounds` (already sane).
fn solve(shifts: &[&FitShift], bounds: &FitBounds) -> Result<Solved, Unsolved> {
    let c = centre(shifts);
    let sxx: f64 = c.rows.iter().map(|r| r.3 * r.1 * r.1).sum();
    let sxy: f64 = c.rows.iter().map(|r| r.3 * r.1 * r.2).sum();
    let scale_of_x: f64 = shifts.iter().map(|s| s.total().abs()).fold(0.0, f64::max);
    if c.w <= 0.0 || sxx <= 1e-12 * c.w * (1.0 + scale_of_x * scale_of_x) {
        return Err(Unsolved::NoSpread);
    }
    let b0 = sxy / sxx;
    if !b0.is_finite() || b0 <= 0.0 {
        return Err(Unsolved::SlopeNotPositive(b0));
    }
    let mut g = [[0.0; COMPONENTS]; COMPONENTS];
    let mut h = [0.0; COMPONENTS];
    for (x, _, y, n) in &c.rows {
        for a in 0..COMPONENTS {
            h[a] += n * x[a] * y;
            for b in 0..COMPONENTS {
                g[a][b] += n * x[a] * x[b];
            }
        }
    }
    let (lo, hi) = (bounds.min_scale * b0, bounds.max_scale * b0);
    let lambda: Vec<f64> = (0..COMPONENTS).map(|a| bounds.pull * g[a][a] / c.w).collect();
    let mut beta = [b0; COMPONENTS];
    let tiny = |a: usize| g[a][a] <= 1e-12 * c.w;
    for _ in 0..10_000 {
        let mut moved: f64 = 0.0;
        for a in 0..COMPONENTS {
            if tiny(a) {
                continue;
            }
            let others: f64 = (0..COMPONENTS).filter(|&b| b != a).map(|b| g[a][b] * beta[b]).sum();
            let next = ((h[a] + lambda[a] * b0 - others) / (g[a][a] + lambda[a])).clamp(lo, hi);
            if next.is_finite() {
                moved = moved.max((next - beta[a]).abs());
                beta[a] = next;
            }
        }
        if moved <= 1e-12 * b0 {
            break;
        }
    }
    let mut scales = [1.0; COMPONENTS];
    for (s, b) in scales.iter_mut().zip(&beta) {
        *s = b / b0;
    }
    let means = mean_components(shifts);
    let mut informative = [false; COMPONENTS];
    for (i, slot) in informative.iter_mut().enumerate() {
        *slot = !tiny(i);
    }
    Ok(Solved {
        b0,
        scales: renormalise(scales, &means, &informative, bounds),
    })
}

/// The mean points per person of each component over the rated shifts (each shift once).
fn mean_components(shifts: &[&FitShift]) -> [f64; COMPONENTS] {
    let rated: Vec<&&FitShift> = shifts.iter().filter(|s| s.is_rated()).collect();
    let mut out = [0.0; COMPONENTS];
    if rated.is_empty() {
        return out;
    }
    for s in &rated {
        for (o, p) in out.iter_mut().zip(&s.components) {
            *o += p.as_f64();
        }
    }
    for o in &mut out {
        *o /= rated.len() as f64;
    }
    out
}

/// `scales` of the `informative` components times the common factor that
/// keeps `Σ s꜀ x̄꜀ = Σ x̄꜀`, each held within the bounds (bisection: the
/// scaled total rises with the factor); the others keep 1.
fn renormalise(
    scales: [f64; COMPONENTS],
    means: &[f64; COMPONENTS],
    informative: &[bool; COMPONENTS],
    bounds: &FitBounds,
) -> [f64; COMPONENTS] {
    let target: f64 = means.iter().sum();
    let at = |k: f64| -> [f64; COMPONENTS] {
        let mut out = scales;
        for (s, &fitted) in out.iter_mut().zip(informative) {
            *s = if fitted {
                (*s * k).clamp(bounds.min_scale, bounds.max_scale)
            } else {
                1.0
            };
        }
        out
    };
    let total = |s: &[f64; COMPONENTS]| -> f64 { s.iter().zip(means).map(|(s, m)| s * m).sum() };
    if target <= 0.0 || !target.is_finite() {
        return at(1.0);
    }
    let (mut low, mut high): (f64, f64) = (1e-6, 1e6);
    for _ in 0..200 {
        let mid = (low * high).sqrt();
        if total(&at(mid)) < target {
            low = mid;
        } else {
            high = mid;
        }
    }
    at((low * high).sqrt())
}

/// The weighted R² of the line of mean rating on `x` over `points` (x, y, n);
/// `None` with fewer than [`MIN_WARD_SHIFTS`] points or without spread.
fn line_r2(points: &[(f64, f64, f64)]) -> Option<f64> {
    if points.len() < MIN_WARD_SHIFTS {
        return None;
    }
    let r = Line::new(points)?.correlation()?;
    Some((r * r).clamp(0.0, 1.0))
}

/// Per ward: (rated shifts, R² in force, R² under `scales`).
fn ward_r2(shifts: &[&FitShift], scales: &[f64; COMPONENTS]) -> BTreeMap<String, (usize, Option<f64>, Option<f64>)> {
    let mut by_ward: BTreeMap<&str, Vec<&FitShift>> = BTreeMap::new();
    for s in shifts.iter().filter(|s| s.is_rated()) {
        by_ward.entry(s.ward.as_str()).or_default().push(s);
    }
    by_ward
        .into_iter()
        .map(|(ward, list)| {
            let in_force: Vec<(f64, f64, f64)> = list
                .iter()
                .map(|s| (s.total(), s.mean_rating, f64::from(s.ratings)))
                .collect();
            let candidate: Vec<(f64, f64, f64)> = list
                .iter()
                .map(|s| (s.scaled_total(scales), s.mean_rating, f64::from(s.ratings)))
                .collect();
            (ward.to_owned(), (list.len(), line_r2(&in_force), line_r2(&candidate)))
        })
        .collect()
}

/// The wards' R² pooled: their mean weighted by rated shifts, over wards
/// where both are known.
fn pooled(per_ward: &BTreeMap<String, (usize, Option<f64>, Option<f64>)>) -> RSquared {
    let (mut k, mut a, mut b) = (0.0, 0.0, 0.0);
    for (n, in_force, candidate) in per_ward.values() {
        if let (Some(x), Some(y)) = (in_force, candidate) {
            let n = *n as f64;
            k += n;
            a += n * x;
            b += n * y;
        }
    }
    if k > 0.0 {
        RSquared {
            in_force: Some(a / k),
            candidate: Some(b / k),
        }
    } else {
        RSquared::default()
    }
}

/// `n` as a count.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// True when `date` lies in an "even" week: weeks (Monday to Sunday)
/// counted without a break from 1 January of year 1, so that neighbouring
/// weeks always alternate. (The ISO week number does not: week 53 and the
/// next year's week 1 are both odd.)
fn even_week(date: NaiveDate) -> bool {
    let monday = date.num_days_from_ce() - i32::try_from(date.weekday().num_days_from_monday()).unwrap_or(0);
    monday.div_euclid(7) % 2 == 0
}

/// Fits one scale per component to the shifts' ratings, checks the
/// candidate on held-out weeks and says whether to propose it (the module
/// doc has the method). Never panics; an empty input is "no change".
#[must_use]
pub fn fit_scales(shifts: &[FitShift], rules: &CalibrationRules, bounds: &FitBounds) -> ScaleFit {
    let bounds = bounds.sane();
    let all: Vec<&FitShift> = shifts.iter().collect();
    let rated: Vec<&FitShift> = shifts.iter().filter(|s| s.is_rated()).collect();
    let n_ratings: u64 = rated.iter().map(|s| u64::from(s.ratings)).sum();
    let staff: u64 = shifts.iter().map(|s| u64::from(s.staff_present)).sum();
    let response_rate = (staff > 0).then(|| n_ratings as f64 / staff as f64);
    let weeks = count(
        rated
            .iter()
            .map(|s| {
                let w = s.date.iso_week();
                (w.year(), w.week())
            })
            .collect::<BTreeSet<_>>()
            .len(),
    );
    let n_shifts = count(rated.len());

    let mut reasons = Vec::new();
    if n_shifts < rules.min_shifts.max(1) {
        reasons.push(NoChange::TooFewShifts {
            shifts: n_shifts,
            minimum: rules.min_shifts.max(1),
        });
    }
    if response_rate.is_none_or(|r| r < rules.min_response_rate) {
        reasons.push(NoChange::LowResponseRate {
            rate: response_rate,
            minimum: rules.min_response_rate,
        });
    }
    if weeks < rules.min_weeks {
        reasons.push(NoChange::TooFewWeeks {
            weeks,
            minimum: rules.min_weeks,
        });
    }

    let full = solve(&all, &bounds);
    let (slope_in_force, scales) = match &full {
        Ok(s) => (Some(s.b0), s.scales),
        Err(Unsolved::NoSpread) => {
            reasons.push(NoChange::NoSpread);
            (None, [1.0; COMPONENTS])
        }
        Err(Unsolved::SlopeNotPositive(b)) => {
            reasons.push(NoChange::SlopeNotPositive { slope: *b });
            (b.is_finite().then_some(*b), [1.0; COMPONENTS])
        }
    };
    let in_sample_wards = ward_r2(&all, &scales);
    let in_sample = pooled(&in_sample_wards);

    // the held-out check, both ways
    let mut held_out = Vec::new();
    let mut ward_held: BTreeMap<String, (f64, f64, f64)> = BTreeMap::new();
    for half in [Half::EvenWeeks, Half::OddWeeks] {
        let fit_on = |s: &&FitShift| even_week(s.date) == (half == Half::EvenWeeks);
        let (train, test): (Vec<&FitShift>, Vec<&FitShift>) = all.iter().copied().partition(fit_on);
        let solved = solve(&train, &bounds);
        let half_scales = solved.as_ref().map_or([1.0; COMPONENTS], |s| s.scales);
        let per_ward = ward_r2(&test, &half_scales);
        let r_squared = pooled(&per_ward);
        for (ward, (n, a, b)) in &per_ward {
            if let (Some(a), Some(b)) = (a, b) {
                let e = ward_held.entry(ward.clone()).or_default();
                let n = *n as f64;
                e.0 += n;
                e.1 += n * a;
                e.2 += n * b;
            }
        }
        if full.is_ok() {
            match (solved.is_ok(), r_squared.in_force, r_squared.candidate) {
                (true, Some(in_force), Some(candidate)) => {
                    if candidate < in_force + bounds.min_gain {
                        reasons.push(NoChange::NotBetterHeldOut {
                            fitted_on: half,
                            in_force,
                            candidate,
                            min_gain: bounds.min_gain,
                        });
                    }
                }
                _ => reasons.push(NoChange::NoHeldOut { fitted_on: half }),
            }
        }
        held_out.push(HeldOut {
            fitted_on: half,
            fit_shifts: count(train.iter().filter(|s| s.is_rated()).count()),
            test_shifts: count(test.iter().filter(|s| s.is_rated()).count()),
            r_squared,
            scales: half_scales.to_vec(),
        });
    }

    let ratings_of = |ward: &str| -> u64 {
        rated
            .iter()
            .filter(|s| s.ward == ward)
            .map(|s| u64::from(s.ratings))
            .sum()
    };
    let wards = in_sample_wards
        .iter()
        .map(|(ward, (n, a, b))| {
            let held = ward_held.get(ward).filter(|h| h.0 > 0.0);
            WardScaleFit {
                ward: ward.clone(),
                shifts: count(*n),
                ratings: u32::try_from(ratings_of(ward)).unwrap_or(u32::MAX),
                in_sample: RSquared {
                    in_force: *a,
                    candidate: *b,
                },
                held_out: RSquared {
                    in_force: held.map(|h| h.1 / h.0),
                    candidate: held.map(|h| h.2 / h.0),
                },
            }
        })
        .collect();

    let means = mean_components(&all);
    ScaleFit {
        scales: Component::ALL
            .iter()
            .zip(scales)
            .zip(means)
            .map(|((&component, scale), mean)| ComponentScale {
                component,
                scale,
                mean_points_per_person: mean,
            })
            .collect(),
        slope_in_force,
        in_sample,
        held_out,
        wards,
        shifts: n_shifts,
        unrated_shifts: count(shifts.len() - rated.len()),
        ratings: u32::try_from(n_ratings).unwrap_or(u32::MAX),
        staff_present: u32::try_from(staff).unwrap_or(u32::MAX),
        response_rate,
        weeks,
        proposes_change: reasons.is_empty(),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::{Duration, NaiveDate};

    use super::even_week;

    /// Neighbouring weeks fall in different halves, across ISO week 53 too
    /// (2026 has one: 28 December 2026 – 3 January 2027, then week 1).
    #[test]
    fn neighbouring_weeks_alternate_across_week_53() {
        let mut monday = NaiveDate::from_ymd_opt(2026, 12, 14).unwrap();
        for _ in 0..8 {
            let next = monday + Duration::weeks(1);
            assert_ne!(even_week(monday), even_week(next), "{monday} and {next}");
            // every day of a week is in its Monday's half
            for d in 1..7 {
                assert_eq!(even_week(monday), even_week(monday + Duration::days(d)));
            }
            monday = next;
        }
    }
}
