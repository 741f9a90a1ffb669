//! Calibration: the staff's own rating of each shift sets what a point is
//! worth (RAFAELA's PAONCIL method), and tests the weights.
//!
//! After each shift the staff rate its workload from −3 to +3, 0 being
//! optimal. Over a window (the caller chooses it; the issue's default is 8
//! weeks) each rated shift gives one point: its **points per person present**
//! `x` (the shift's need over the staff present) and its **mean rating** `ȳ`.
//! A line through those points says how heavy a load feels; where it crosses
//! 0 is the ward's **optimal points per person**, and planning can turn any
//! need into staff: `staff = need ÷ optimal` ([`staff_needed`]).
//!
//! This module is the mathematics alone: no I/O, no clock. The caller builds
//! one [`RatedShift`] per shift (and per team, for a team's own fit) from the
//! stored hours, the planned staffing and the ratings. A fit per profession
//! is the same call with that profession's points per person, its staff and
//! its ratings.
//!
//! # The fit
//!
//! Weighted least squares of the mean rating of each shift on its points per
//! person, each shift **weighted by its number of ratings** `nᵢ`:
//!
//! ```text
//! W   = Σ nᵢ            x̄ = Σ nᵢ xᵢ / W            ȳ = Σ nᵢ yᵢ / W
//! Sxx = Σ nᵢ (xᵢ − x̄)²  Sxy = Σ nᵢ (xᵢ − x̄)(yᵢ − ȳ)  Syy = Σ nᵢ (yᵢ − ȳ)²
//! slope b = Sxy / Sxx   intercept a = ȳ − b x̄
//! R²  = Sxy² / (Sxx Syy)                 (weighted; 1 when Syy = 0 and the line is exact)
//! s²  = Σ nᵢ (yᵢ − a − b xᵢ)² / (k − 2)  (k rated shifts)
//! optimal x₀ = −a / b = x̄ − ȳ / b
//! ```
//!
//! *Why weighted.* Each rating is one nurse's noisy reading of the same
//! shift, so the mean of `nᵢ` ratings has variance `σ² / nᵢ`: weighting by
//! `nᵢ` is the efficient (and unbiased) estimate under that model, and gives
//! exactly the line of an ordinary regression on every single rating — each
//! nurse's answer counts once, and a shift that one person rated cannot pull
//! the line as hard as one that eight people rated. The unweighted fit would
//! let the least-answered shifts, the noisiest, count as much as the best
//! answered. R² is that of the (weighted) shift means, the regression the
//! issue names: it says how much of the difference *between shifts* the
//! points explain, not how much nurses on the same shift disagree (so it runs
//! higher than an R² over single ratings would). The price of the weighting:
//! if shifts differ by more than their raters' noise (a shift-level effect
//! the points do not see), the interval below is somewhat too narrow.
//!
//! # The confidence interval: Fieller's method
//!
//! The optimum is a ratio, `x₀ = x̄ − ȳ / b`. In the weighted fit `ȳ` and `b`
//! are uncorrelated, with variances `s² / W` and `s² / Sxx`. Fieller's 95 %
//! interval is the set of `θ` (= `ȳ / b`) where
//! `(ȳ − θ b)² ≤ t² s² (1/W + θ²/Sxx)`, `t` the two-sided 95 % Student t
//! quantile with `k − 2` degrees of freedom:
//!
//! ```text
//! A = b² − t² s² / Sxx          (A > 0 ⇔ the slope differs from 0 at the 5 % level)
//! θ = (ȳ b ± √(t² s² (ȳ² / Sxx + A / W))) / A
//! interval of x₀ = [x̄ − θ₊, x̄ − θ₋]
//! ```
//!
//! When `A ≤ 0` the slope cannot be told from flat and the set is the whole
//! line or two half-lines: the interval is **unbounded** and the optimum is
//! unreliable. Fieller was chosen over the delta method for exactly this
//! case: the delta method gives a finite, symmetric interval around a ratio
//! whose denominator may be zero, and so looks confident when the data have
//! no signal.
//!
//! # Reliability
//!
//! A fit is [`Calibration::reliable`] only if it meets every minimum of
//! [`CalibrationRules`]; each one it misses is named in
//! [`Calibration::reasons`] (RAFAELA trusts a ward's optimum only with a
//! response rate above 70 % over a long enough period). The optimum is still
//! reported when it can be computed, so the council sees what an unreliable
//! fit would say.
//!
//! # Numbers
//!
//! Inputs are [`Points`] (thousandths, exact in `f64` far beyond any ward)
//! and whole ratings; the statistics are computed in `f64` with centred sums
//! (no `Σx² − (Σx)²/n` cancellation), good to about 12 significant digits —
//! far beyond the three decimals shown. The optimum and its interval are
//! returned as [`Points`] rounded to the nearest thousandth; slope,
//! intercept, R² and correlations as `f64`. Every float that leaves this
//! module is finite: a statistic that cannot be computed (no shifts, one
//! shift, every shift at the same load) is `None`, never NaN or infinity.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use careload_scoring::{Points, Qty};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::words::{decimals, percent};

/// The lowest rating: far too light (PAONCIL −3).
pub const RATING_MIN: i8 = -3;
/// The highest rating: far too heavy (PAONCIL +3).
pub const RATING_MAX: i8 = 3;

/// One staff member's rating of a shift's workload, −3 … +3, 0 = optimal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(try_from = "i8", into = "i8")]
#[schemars(with = "i8")]
pub struct Rating(i8);

impl Rating {
    /// Optimal workload.
    pub const OPTIMAL: Rating = Rating(0);

    /// A rating, if within −3 … +3.
    #[must_use]
    pub const fn new(value: i8) -> Option<Rating> {
        if value >= RATING_MIN && value <= RATING_MAX {
            Some(Rating(value))
        } else {
            None
        }
    }

    /// The rating as a number.
    #[must_use]
    pub const fn value(self) -> i8 {
        self.0
    }
}

impl TryFrom<i8> for Rating {
    type Error = String;
    fn try_from(value: i8) -> Result<Rating, String> {
        Rating::new(value).ok_or_else(|| format!("a rating is −3 … +3, not {value}"))
    }
}

impl From<Rating> for i8 {
    fn from(r: Rating) -> i8 {
        r.0
    }
}

/// One shift (of a ward or team) as calibration sees it: its load per person
/// and what the staff on it said.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RatedShift {
    /// The shift's date (its start, in the hospital's zone); the fit counts the
    /// distinct ISO weeks it covers.
    pub date: NaiveDate,
    /// Points per person present: the shift's need over the staff present
    /// (both professions, or one profession for a fit of that profession).
    pub points_per_person: Points,
    /// Per component of the score (the breakdown's names), that component's
    /// points per person present; a component missing counts as 0. Only the
    /// agreement report ([`component_fits`]) reads it.
    #[serde(default)]
    pub components: BTreeMap<String, Points>,
    /// Staff who worked the shift (the denominator of the response rate).
    pub staff_present: u32,
    /// The ratings given for it (none: the shift counts for the response
    /// rate only).
    #[serde(default)]
    pub ratings: Vec<Rating>,
}

impl RatedShift {
    /// The mean rating, `None` without ratings.
    #[must_use]
    pub fn mean_rating(&self) -> Option<f64> {
        if self.ratings.is_empty() {
            return None;
        }
        let sum: i64 = self.ratings.iter().map(|r| i64::from(r.0)).sum();
        Some(sum as f64 / self.ratings.len() as f64)
    }
}

/// The minimums a fit must meet to be trusted. Plain values with defaults so
/// that the configuration can mirror them (as `[planning]` does).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default)]
pub struct CalibrationRules {
    /// Ratings over staff present, at least (default 0.70, RAFAELA's minimum:
    /// below it those who answer may not speak for those who do not).
    pub min_response_rate: f64,
    /// Distinct ISO weeks with a rated shift, at least (default 4: half the
    /// default 8-week window, so that one unusual week cannot make the fit;
    /// RAFAELA asks for a "long enough" period).
    pub min_weeks: u32,
    /// Rated shifts, at least (default 20: with fewer the interval's t
    /// quantile and R² are themselves unstable).
    pub min_shifts: u32,
    /// R² of the shift means on points per person, at least (default 0.1:
    /// below it the points hardly explain the ratings; the issue quotes 0.37
    /// across RAFAELA's wards).
    pub min_r_squared: f64,
    /// The 95 % interval's width over the optimum, at most (default 0.5: an
    /// optimum of 25 with an interval wider than 12.5 points is no guide).
    pub max_relative_width: f64,
}

impl Default for CalibrationRules {
    fn default() -> CalibrationRules {
        CalibrationRules {
            min_response_rate: 0.70,
            min_weeks: 4,
            min_shifts: 20,
            min_r_squared: 0.1,
            max_relative_width: 0.5,
        }
    }
}

/// A 95 % confidence interval of the optimal points per person.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Interval {
    /// Lower bound.
    pub low: Points,
    /// Upper bound.
    pub high: Points,
}

/// Why a fit is not to be trusted: each minimum it missed.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unreliable {
    /// Fewer rated shifts than the minimum (none at all included).
    TooFewShifts {
        /// Rated shifts.
        shifts: u32,
        /// The minimum.
        minimum: u32,
    },
    /// The response rate is below the minimum (or nobody was present).
    LowResponseRate {
        /// Ratings over staff present; `None` when no staff were recorded.
        rate: Option<f64>,
        /// The minimum.
        minimum: f64,
    },
    /// The rated shifts cover fewer weeks than the minimum.
    TooFewWeeks {
        /// Distinct ISO weeks with a rated shift.
        weeks: u32,
        /// The minimum.
        minimum: u32,
    },
    /// Every rated shift had the same points per person: no line can be fitted.
    NoSpread,
    /// The ratings do not rise with the load (slope zero or negative): no signal.
    SlopeNotPositive {
        /// The fitted slope.
        slope: f64,
    },
    /// R² is below the minimum: the points hardly explain the ratings.
    LowRSquared {
        /// The fitted R².
        r_squared: f64,
        /// The minimum.
        minimum: f64,
    },
    /// The slope cannot be told from flat at the 5 % level, so the optimum's
    /// interval is unbounded (or there are too few shifts to compute one).
    UnboundedInterval,
    /// The interval is wider than the allowed share of the optimum.
    WideInterval {
        /// Width over the optimum.
        relative_width: f64,
        /// The maximum.
        maximum: f64,
    },
}

impl Unreliable {
    /// The reason in Swedish, for the council's page (decimal comma, the true minus sign).
    #[must_use]
    pub fn sv(&self) -> String {
        match *self {
            Unreliable::TooFewShifts { shifts, minimum } => {
                format!("för få skattade pass: {shifts} (minst {minimum})")
            }
            Unreliable::LowResponseRate {
                rate: Some(rate),
                minimum,
            } => format!(
                "för låg svarsfrekvens: {} % (minst {} %)",
                percent(rate),
                percent(minimum)
            ),
            Unreliable::LowResponseRate { rate: None, minimum } => {
                format!(
                    "ingen personal registrerad, svarsfrekvensen okänd (minst {} %)",
                    percent(minimum)
                )
            }
            Unreliable::TooFewWeeks { weeks, minimum } => format!("för få veckor: {weeks} (minst {minimum})"),
            Unreliable::NoSpread => "alla pass hade samma poäng per person; ingen linje kan anpassas".to_owned(),
            Unreliable::SlopeNotPositive { .. } => {
                "ingen signal: skattningarna stiger inte med poängen per person".to_owned()
            }
            Unreliable::LowRSquared { r_squared, minimum } => format!(
                "poängen förklarar för lite av skattningarna: R² {} (minst {})",
                decimals(r_squared, 2),
                decimals(minimum, 2)
            ),
            Unreliable::UnboundedInterval => {
                "konfidensintervallet är obegränsat: lutningen kan inte skiljas från noll".to_owned()
            }
            Unreliable::WideInterval {
                relative_width,
                maximum,
            } => format!(
                "konfidensintervallet är för brett: {} % av nivån (högst {} %)",
                percent(relative_width),
                percent(maximum)
            ),
        }
    }
}

impl fmt::Display for Unreliable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.sv())
    }
}

/// A ward's (or team's) calibration: the fitted line, the optimal points per
/// person and whether to trust it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Calibration {
    /// Rated shifts (those with at least one rating): the points of the fit.
    pub shifts: u32,
    /// Shifts in the input with no rating (counted in the response rate).
    pub unrated_shifts: u32,
    /// Ratings in the fit.
    pub ratings: u32,
    /// Staff present over every shift given, rated or not.
    pub staff_present: u32,
    /// Ratings over staff present; `None` when no staff were recorded.
    pub response_rate: Option<f64>,
    /// Distinct ISO weeks with a rated shift.
    pub weeks: u32,
    /// Rise of the mean rating per point per person; `None` without spread.
    pub slope: Option<f64>,
    /// The fitted mean rating at 0 points per person.
    pub intercept: Option<f64>,
    /// Weighted R² of the shift means on points per person.
    pub r_squared: Option<f64>,
    /// Where the fitted rating is 0; `None` when the slope is zero or there is no fit.
    pub optimal_points_per_person: Option<Points>,
    /// Fieller's 95 % interval of the optimum; `None` when unbounded or not computable.
    pub interval: Option<Interval>,
    /// True when every minimum of the rules is met.
    pub reliable: bool,
    /// Each minimum missed (empty when reliable).
    pub reasons: Vec<Unreliable>,
}

impl Calibration {
    /// The fitted mean rating at `points_per_person`, `None` without a fit.
    #[must_use]
    pub fn fitted(&self, points_per_person: Points) -> Option<f64> {
        Some(self.intercept? + self.slope? * points_per_person.as_f64())
    }
}

/// The weighted sums of a line fit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Line {
    /// Σ weights.
    w: f64,
    /// Weighted mean of x.
    mx: f64,
    /// Weighted mean of y.
    my: f64,
    /// Σ w (x − x̄)².
    sxx: f64,
    /// Σ w (x − x̄)(y − ȳ).
    sxy: f64,
    /// Σ w (y − ȳ)².
    syy: f64,
}

impl Line {
    /// Centred weighted sums of `(x, y, w)`; `None` without positive weight.
    pub(crate) fn new(points: &[(f64, f64, f64)]) -> Option<Line> {
        let w: f64 = points.iter().map(|p| p.2).sum();
        if w.is_nan() || w <= 0.0 || !w.is_finite() {
            return None;
        }
        let mx = points.iter().map(|p| p.2 * p.0).sum::<f64>() / w;
        let my = points.iter().map(|p| p.2 * p.1).sum::<f64>() / w;
        let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
        for &(x, y, wi) in points {
            sxx += wi * (x - mx) * (x - mx);
            sxy += wi * (x - mx) * (y - my);
            syy += wi * (y - my) * (y - my);
        }
        let line = Line {
            w,
            mx,
            my,
            sxx,
            sxy,
            syy,
        };
        [mx, my, sxx, sxy, syy].iter().all(|v| v.is_finite()).then_some(line)
    }

    /// Whether x varies at all (relative to its scale).
    fn has_spread(&self) -> bool {
        self.sxx > 1e-12 * self.w * (1.0 + self.mx * self.mx)
    }

    /// The slope, `None` without spread in x.
    fn slope(&self) -> Option<f64> {
        self.has_spread().then(|| self.sxy / self.sxx)
    }

    /// The weighted Pearson correlation, `None` when x or y is constant.
    pub(crate) fn correlation(&self) -> Option<f64> {
        let y_spread = self.syy > 1e-12 * self.w * (1.0 + self.my * self.my);
        if !self.has_spread() || !y_spread {
            return None;
        }
        finite((self.sxy / (self.sxx.sqrt() * self.syy.sqrt())).clamp(-1.0, 1.0))
    }
}

/// `Some(v)` when finite.
fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// Points from a float, rounded to the nearest thousandth; `None` when not finite or absurdly large.
fn points_of(v: f64) -> Option<Points> {
    let milli = (v * 1000.0).round();
    (milli.is_finite() && milli.abs() < 1e15).then(|| Points::from_milli(milli as i64))
}

/// The two-sided 95 % quantile of Student's t with `df` degrees of freedom
/// (the 0.975 quantile): a table to 30, then the Cornish–Fisher expansion
/// (error below 1e−5 beyond 30).
fn t_975(df: u32) -> f64 {
    const TABLE: [f64; 30] = [
        12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010, 2.1788, 2.1604,
        2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518,
        2.0484, 2.0452, 2.0423,
    ];
    match df {
        0 => f64::INFINITY,
        1..=30 => TABLE[df as usize - 1],
        _ => {
            let z: f64 = 1.959_963_984_540_054;
            let n = f64::from(df);
            let g1 = (z.powi(3) + z) / 4.0;
            let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
            let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
            z + g1 / n + g2 / (n * n) + g3 / (n * n * n)
        }
    }
}

/// Fits the ward's optimal level: the weighted regression of each rated
/// shift's mean rating on its points per person, the optimum where the line
/// crosses 0 with Fieller's 95 % interval, and the reliability verdict under
/// `rules` (the module doc has the method). Never panics; an empty input is
/// an unreliable calibration with no fit.
#[must_use]
pub fn fit_optimal_level(shifts: &[RatedShift], rules: &CalibrationRules) -> Calibration {
    let rated: Vec<&RatedShift> = shifts.iter().filter(|s| !s.ratings.is_empty()).collect();
    let n_shifts = u32::try_from(rated.len()).unwrap_or(u32::MAX);
    let n_ratings = rated.iter().map(|s| s.ratings.len() as u64).sum::<u64>();
    let staff = shifts.iter().map(|s| u64::from(s.staff_present)).sum::<u64>();
    let response_rate = (staff > 0).then(|| n_ratings as f64 / staff as f64);
    let weeks = rated
        .iter()
        .map(|s| {
            let w = s.date.iso_week();
            (w.year(), w.week())
        })
        .collect::<BTreeSet<_>>()
        .len();

    let points: Vec<(f64, f64, f64)> = rated
        .iter()
        .filter_map(|s| Some((s.points_per_person.as_f64(), s.mean_rating()?, s.ratings.len() as f64)))
        .collect();
    let line = Line::new(&points);
    let slope = line.and_then(|l| l.slope());
    let fit = line.zip(slope);
    let intercept = fit.and_then(|(l, b)| finite(l.my - b * l.mx));
    let r_squared = fit.map(|(l, _)| match l.correlation() {
        Some(r) => r * r,
        // y constant: the line (flat, through every point) explains all of it.
        None => 1.0,
    });
    let optimum = fit.and_then(|(l, b)| if b == 0.0 { None } else { finite(l.mx - l.my / b) });
    let interval = fit.and_then(|(l, b)| fieller(&l, b, &points));

    let mut reasons = Vec::new();
    if n_shifts < rules.min_shifts {
        reasons.push(Unreliable::TooFewShifts {
            shifts: n_shifts,
            minimum: rules.min_shifts,
        });
    }
    if response_rate.is_none_or(|r| r < rules.min_response_rate) {
        reasons.push(Unreliable::LowResponseRate {
            rate: response_rate,
            minimum: rules.min_response_rate,
        });
    }
    let weeks = u32::try_from(weeks).unwrap_or(u32::MAX);
    if weeks < rules.min_weeks {
        reasons.push(Unreliable::TooFewWeeks {
            weeks,
            minimum: rules.min_weeks,
        });
    }
    match (line, slope) {
        (Some(_), None) => reasons.push(Unreliable::NoSpread),
        (Some(_), Some(b)) if b <= 0.0 => reasons.push(Unreliable::SlopeNotPositive { slope: b }),
        _ => {}
    }
    if let Some(r2) = r_squared
        && r2 < rules.min_r_squared
    {
        reasons.push(Unreliable::LowRSquared {
            r_squared: r2,
            minimum: rules.min_r_squared,
        });
    }
    match (interval, optimum) {
        (Some(i), Some(o)) => {
            let width = (i.high - i.low).as_f64();
            let relative = if o > 0.0 { finite(width / o) } else { None };
            match relative {
                Some(rel) if rel <= rules.max_relative_width => {}
                Some(rel) => reasons.push(Unreliable::WideInterval {
                    relative_width: rel,
                    maximum: rules.max_relative_width,
                }),
                // An optimum at or below zero points: no interval can be relative to it.
                None => reasons.push(Unreliable::UnboundedInterval),
            }
        }
        // No fit at all: the reasons above already say why.
        _ if fit.is_none() => {}
        _ => reasons.push(Unreliable::UnboundedInterval),
    }
    // No rated shift at all is never reliable, whatever the minimum says.
    if line.is_none() && !reasons.iter().any(|r| matches!(r, Unreliable::TooFewShifts { .. })) {
        reasons.push(Unreliable::TooFewShifts {
            shifts: n_shifts,
            minimum: rules.min_shifts.max(1),
        });
    }

    Calibration {
        shifts: n_shifts,
        unrated_shifts: u32::try_from(shifts.len() - rated.len()).unwrap_or(u32::MAX),
        ratings: u32::try_from(n_ratings).unwrap_or(u32::MAX),
        staff_present: u32::try_from(staff).unwrap_or(u32::MAX),
        response_rate: response_rate.and_then(finite),
        weeks,
        slope: slope.and_then(finite),
        intercept,
        r_squared: r_squared.and_then(finite),
        optimal_points_per_person: optimum.and_then(points_of),
        interval,
        reliable: reasons.is_empty(),
        reasons,
    }
}

/// Fieller's 95 % interval of `x₀ = x̄ − ȳ / b`; `None` when unbounded or
/// when there are too few shifts (k ≤ 2) to estimate the residual variance.
fn fieller(l: &Line, b: f64, points: &[(f64, f64, f64)]) -> Option<Interval> {
    let k = points.len();
    if k <= 2 || b == 0.0 {
        return None;
    }
    let a = l.my - b * l.mx;
    let rss: f64 = points.iter().map(|&(x, y, w)| w * (y - a - b * x).powi(2)).sum();
    let s2 = (rss / (k - 2) as f64).max(0.0);
    let t = t_975(u32::try_from(k - 2).unwrap_or(u32::MAX));
    let ts2 = t * t * s2;
    let big_a = b * b - ts2 / l.sxx;
    if big_a.is_nan() || big_a <= 0.0 {
        return None;
    }
    let root = (ts2 * (l.my * l.my / l.sxx + big_a / l.w)).max(0.0).sqrt();
    let theta_low = (l.my * b - root) / big_a;
    let theta_high = (l.my * b + root) / big_a;
    let low = points_of(l.mx - theta_high)?;
    let high = points_of(l.mx - theta_low)?;
    Some(Interval { low, high })
}

/// The staff a need calls for at the ward's optimal level: `need ÷ optimal`
/// people, rounded to one decimal (halves away from zero), as [`Qty`]; `None`
/// when the optimum is not positive.
///
/// `need` is the shift's points (both professions, or one profession with
/// that profession's optimum), as [`crate::ShiftNeed`] sums them.
#[must_use]
pub fn staff_needed(need: Points, optimal_points_per_person: Points) -> Option<Qty> {
    let d = i128::from(optimal_points_per_person.milli());
    if d <= 0 {
        return None;
    }
    let tenths = crate::div_round(i128::from(need.milli()) * 10, d);
    Some(Qty::from_milli(tenths.saturating_mul(100)))
}

/// Spearman's rank correlation of `xs` and `ys`, ties given their average
/// rank; `None` when the lengths differ, there are fewer than two pairs, a
/// value is not finite, or either side is constant.
#[must_use]
pub fn spearman(xs: &[f64], ys: &[f64]) -> Option<f64> {
    if xs.len() != ys.len() || xs.len() < 2 || xs.iter().chain(ys).any(|v| !v.is_finite()) {
        return None;
    }
    let (rx, ry) = (ranks(xs), ranks(ys));
    let points: Vec<(f64, f64, f64)> = rx.into_iter().zip(ry).map(|(x, y)| (x, y, 1.0)).collect();
    Line::new(&points)?.correlation()
}

/// Ranks from 1, ties the average of the ranks they span.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Ranks start+1 … end, averaged.
        let average = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        start = end;
    }
    ranks
}

/// How one score component moves with the ratings, for the agreement report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ComponentFit {
    /// The component's name, as in the breakdown.
    pub component: String,
    /// Rated shifts where the component had points.
    pub shifts_with_points: u32,
    /// Slope of the mean rating on this component's points per person alone
    /// (weighted by ratings, like the total fit); `None` when it never varies.
    pub slope: Option<f64>,
    /// Weighted correlation of the component's points per person with the mean rating.
    pub correlation: Option<f64>,
    /// Partial correlation with the mean rating given the total points per
    /// person: whether the component tells more about how a shift felt than
    /// its share of the total already says. Positive: shifts heavy in it feel
    /// heavier than their total predicts (it may be under-weighted); negative:
    /// lighter (over-weighted); near 0: the total already carries it.
    pub partial_correlation: Option<f64>,
}

/// Per component, how its points per person move with the shift's mean
/// rating: its own univariate weighted fit and its partial correlation
/// given the total, both over the rated shifts and weighted by their number
/// of ratings as in [`fit_optimal_level`]. Components in the order of their
/// names. These are descriptive (they say which components move with the
/// ratings and which do not), not a refit of the weights: components are
/// correlated with each other and with the total, so a component's partial
/// correlation is only a pointer for the council.
///
/// The partial correlation of component `c` with rating `y` given total `x`
/// is `(r_cy − r_cx r_xy) / √((1 − r_cx²)(1 − r_xy²))`; `None` when a
/// correlation is undefined or `c` (or `y`) is fully explained by `x`.
#[must_use]
pub fn component_fits(shifts: &[RatedShift]) -> Vec<ComponentFit> {
    let rated: Vec<(&RatedShift, f64)> = shifts.iter().filter_map(|s| Some((s, s.mean_rating()?))).collect();
    let names: BTreeSet<&String> = rated.iter().flat_map(|(s, _)| s.components.keys()).collect();
    let xy: Vec<(f64, f64, f64)> = rated
        .iter()
        .map(|(s, y)| (s.points_per_person.as_f64(), *y, s.ratings.len() as f64))
        .collect();
    let r_xy = Line::new(&xy).and_then(|l| l.correlation());
    names
        .into_iter()
        .map(|name| {
            let c = |s: &RatedShift| s.components.get(name).copied().unwrap_or(Points::ZERO).as_f64();
            let cy: Vec<(f64, f64, f64)> = rated.iter().map(|(s, y)| (c(s), *y, s.ratings.len() as f64)).collect();
            let cx: Vec<(f64, f64, f64)> = rated
                .iter()
                .map(|(s, _)| (c(s), s.points_per_person.as_f64(), s.ratings.len() as f64))
                .collect();
            let line_cy = Line::new(&cy);
            let r_cy = line_cy.and_then(|l| l.correlation());
            let r_cx = Line::new(&cx).and_then(|l| l.correlation());
            let partial = match (r_cy, r_cx, r_xy) {
                (Some(cy), Some(cx), Some(xy)) => {
                    let d = ((1.0 - cx * cx) * (1.0 - xy * xy)).sqrt();
                    if d > 1e-9 {
                        finite(((cy - cx * xy) / d).clamp(-1.0, 1.0))
                    } else {
                        None
                    }
                }
                _ => None,
            };
            ComponentFit {
                component: name.clone(),
                shifts_with_points: u32::try_from(
                    rated
                        .iter()
                        .filter(|(s, _)| s.components.get(name).is_some_and(|p| *p != Points::ZERO))
                        .count(),
                )
                .unwrap_or(u32::MAX),
                slope: line_cy.and_then(|l| l.slope()).and_then(finite),
                correlation: r_cy,
                partial_correlation: partial,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantile_table_meets_the_expansion() {
        // The expansion at 30 and 31 lands where the table ends (2.0423, 2.0395).
        assert!((t_975(31) - 2.0395).abs() < 1e-3, "{}", t_975(31));
        assert!((t_975(120) - 1.9799).abs() < 1e-3, "{}", t_975(120));
        assert!(t_975(1000) > 1.96 && t_975(1000) < 1.963);
        assert!(t_975(0).is_infinite());
    }

    #[test]
    fn ranks_average_ties() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), vec![2.0, 3.5, 3.5, 1.0]);
    }

    #[test]
    fn staff_needed_rounds_to_one_decimal() {
        assert_eq!(
            staff_needed(Points::whole(100), Points::whole(30)),
            Some(Qty::from_milli(3_300))
        );
        assert_eq!(
            staff_needed(Points::whole(125), Points::whole(50)),
            Some(Qty::from_milli(2_500))
        );
        // 0.25 tenths → halves away from zero: 1.25 → 1.3.
        assert_eq!(
            staff_needed(Points::from_milli(1_250), Points::whole(1)),
            Some(Qty::from_milli(1_300))
        );
        assert_eq!(staff_needed(Points::whole(100), Points::ZERO), None);
        assert_eq!(staff_needed(Points::whole(100), Points::whole(-5)), None);
    }

    #[test]
    fn ratings_outside_the_scale_are_refused() {
        assert_eq!(Rating::new(4), None);
        assert_eq!(Rating::new(-3).map(Rating::value), Some(-3));
        assert!(serde_json::from_str::<Rating>("5").is_err());
        assert_eq!(serde_json::from_str::<Rating>("-2").ok(), Rating::new(-2));
    }
}
