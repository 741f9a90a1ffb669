//! How far the next shifts' need may stray from the scheduled forecast: P10,
//! P50 and P90 of the need, and the risk of understaffing (issue 28).
//!
//! # The method: the forecast's own past errors
//!
//! The scheduled forecast ([`crate::need`]) prices only what is on the
//! current patients' lists now. It cannot see who will arrive or leave, nor
//! the as-needed medications, new orders and deteriorations nobody has
//! scheduled yet. Rather than model each of those, careload looks at **how
//! wrong the scheduled forecast has been on this ward before**, at the same
//! notice and for the same shift, and assumes the next shift will be wrong
//! in the same way:
//!
//! 1. For every past shift and every hour before it, the application layer
//!    re-forecasts the shift from the patients stored at that hour (what
//!    the forecast would have said then) and sums the points stored over
//!    the shift (what happened): one [`ErrorSample`] per shift and notice
//!    (`lead`, whole hours from the forecast to the shift's start).
//! 2. Per profession, the **error** realised − scheduled of each sample, in
//!    points. A difference, not a ratio: what the schedule misses — a new
//!    patient, a dose given as needed, a deterioration — costs the same
//!    points whether the ward is full or quiet (on the simulated hospital the
//!    difference's P50 erred a third as much as the schedule, the ratio's
//!    half to three quarters).
//! 3. For a shift to forecast, the samples of the same shift name (day,
//!    evening, night) at the same notice ± [`LEAD_POOL`] hours. Their
//!    **typical error** is the median of the samples of the same kind of
//!    day — a weekday (Monday–Friday) or a weekend day — pulled toward all
//!    days' median by [`SHRINK`] samples' worth, so that the weekdays'
//!    admissions and ward rounds and the quieter weekends are learnt
//!    without trusting a handful of Saturdays blindly; the **spread** is the
//!    samples' deviations from their own kind of day's typical error,
//!    pooled over all days. (Per weekday rather than per kind of day, the
//!    medians rest on six or eight shifts each and did worse on held-out
//!    weeks of the simulated hospital.)
//! 4. Each sample gives one possible need: `scheduled + typical + deviation`
//!    (never below 0). P10, P50 and P90 are the 10th, 50th and 90th
//!    percentiles of these (linear interpolation); the **risk of
//!    understaffing** of a profession is the share of them whose people
//!    needed (points × the care category's staff-hour factor ÷ the shift's
//!    hours) exceed the people planned present; **people to add** is the
//!    fewest whole people that bring that share to the configured level
//!    (default 20 %) or below.
//!
//! In a staffing assistant's words: "the last eight weeks' weekday day
//! shifts turned out 60 points heavier than the schedule said five hours
//! before, and in one in ten more than 110 points heavier".
//!
//! Both professions' possible needs come from the same past shift, so the
//! risk that *either* profession is short ([`Risk::either`]) keeps their
//! dependence.
//!
//! # Honest when young
//!
//! Fewer than [`MIN_WEEKS`] weeks of samples for the shift, or fewer than
//! [`MIN_SHIFTS`] past shifts even at a wider notice (± [`LEAD_POOL_WIDE`]):
//! the prediction is
//! the scheduled forecast alone (P10 = P50 = P90), [`Prediction::young`] is
//! true, no risk is given, and [`Prediction::reason`] says why in Swedish.
//!
//! Floating point is used for the statistics; results come back as
//! [`Points`] and [`Qty`].

use careload_scoring::score::{Components, Split};
use careload_scoring::snapshot::Profession;
use careload_scoring::weights::StaffHours;
use careload_scoring::{Points, Qty};
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::words::percent;

/// A share as `35 %`.
fn pct(share: f64) -> String {
    format!("{} %", percent(share))
}

/// Weeks of samples below which the prediction falls back to the schedule.
pub const MIN_WEEKS: u32 = crate::flow::MIN_WEEKS;

/// Distinct past shifts below which the prediction falls back to the schedule.
pub const MIN_SHIFTS: usize = 20;

/// Notice pooled: samples within this many hours of the forecast's lead.
pub const LEAD_POOL: u32 = 1;

/// The wider pool tried when the narrow one has too few samples.
pub const LEAD_POOL_WIDE: u32 = 3;

/// How many past shifts' worth a kind of day's median is pulled toward all days'.
pub const SHRINK: f64 = 6.0;

/// The risk level people are added to reach, when not configured.
pub const DEFAULT_RISK_LEVEL: f64 = 0.2;

/// One past shift as the scheduled forecast saw it `lead` hours before, and
/// as it turned out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorSample {
    /// The shift's name (`day`, `evening`, `night`).
    pub shift: String,
    /// The local date the shift starts on.
    pub date: NaiveDate,
    /// Whole hours from the forecast's instant to the shift's start.
    pub lead: u32,
    /// The shift's length in hours.
    pub shift_hours: Qty,
    /// What the scheduled forecast said, per profession.
    pub scheduled: Split,
    /// What was stored over the shift, per profession.
    pub realised: Split,
    /// What the scheduled forecast said, per component.
    pub scheduled_components: Components,
    /// What was stored over the shift, per component.
    pub realised_components: Components,
}

impl ErrorSample {
    /// The kind of day of the shift's date.
    fn day(&self) -> usize {
        kind_of_day(self.date)
    }
}

/// The past errors of one scope (a ward or a team).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ErrorModel {
    samples: Vec<ErrorSample>,
}

/// A need's percentiles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "{T}Band")]
pub struct Band<T> {
    /// One shift in ten needs less.
    pub p10: T,
    /// The median: as often more as less.
    pub p50: T,
    /// One shift in ten needs more.
    pub p90: T,
}

/// A profession's (or both's) need as a band in points, staff-hours and people.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct NeedBand {
    /// Points over the shift.
    pub points: Band<Points>,
    /// Staff-hours over the shift.
    pub staff_hours: Band<Qty>,
    /// People on the floor for the whole shift.
    pub people: Band<Qty>,
}

/// What the samples behind a prediction were.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Basis {
    /// Samples the spread comes from: past shifts at each notice pooled.
    pub samples: u32,
    /// The distinct past shifts behind them.
    pub shifts: u32,
    /// Weeks they span.
    pub weeks: u32,
    /// The notice pooled, ± hours.
    pub lead_pool: u32,
}

/// The need of one scope for one shift, with its uncertainty.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Prediction {
    /// What the scheduled forecast says, per profession.
    pub scheduled: Split,
    /// True when the history is too short: the bands are the scheduled forecast.
    pub young: bool,
    /// Why the prediction is the schedule alone, in Swedish.
    pub reason: Option<String>,
    /// The samples behind it.
    pub basis: Basis,
    /// Assistant nurses.
    pub usk: NeedBand,
    /// Registered nurses.
    pub ssk: NeedBand,
    /// Both together.
    pub total: NeedBand,
    /// Per profession, the typical error added to the schedule, in points (0 when young).
    pub typical: TypicalError,
    /// The possible needs (USK, SSK points), one per sample.
    #[serde(skip)]
    draws: Vec<(f64, f64)>,
    #[serde(skip)]
    factors: StaffHours,
    #[serde(skip)]
    shift_hours: Qty,
}

/// The typical error (realised − scheduled) per profession, in points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TypicalError {
    /// Assistant nurses.
    pub usk: f64,
    /// Registered nurses.
    pub ssk: f64,
}

/// One profession's risk of understaffing on a shift.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ProfessionRisk {
    /// The profession.
    pub profession: Profession,
    /// People planned present (planned − absent).
    pub available: u32,
    /// The probability that the need exceeds them (0–1).
    pub risk: f64,
    /// The fewest people to add to bring the risk to the level or below.
    pub add: u32,
    /// The risk with them added (equal to `risk` when none are).
    pub risk_after: f64,
}

/// The risk of understaffing of one scope on one shift.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Risk {
    /// The level people are added to reach.
    pub level: f64,
    /// Assistant nurses, when planned.
    pub usk: Option<ProfessionRisk>,
    /// Registered nurses, when planned.
    pub ssk: Option<ProfessionRisk>,
    /// The probability that either planned profession is short.
    pub either: f64,
    /// The same with every profession's people to add added.
    pub either_after: f64,
    /// In Swedish: "risk för underbemanning 35 %, +1 USK ger 12 %".
    pub text: String,
}

impl ErrorModel {
    /// A scope's model from its samples (any order).
    #[must_use]
    pub fn new(samples: Vec<ErrorSample>) -> ErrorModel {
        ErrorModel { samples }
    }

    /// The samples.
    #[must_use]
    pub fn samples(&self) -> &[ErrorSample] {
        &self.samples
    }

    /// Adds samples.
    pub fn extend(&mut self, samples: impl IntoIterator<Item = ErrorSample>) {
        self.samples.extend(samples);
    }

    /// Drops samples of shifts before `date`.
    pub fn forget_before(&mut self, date: NaiveDate) {
        self.samples.retain(|s| s.date >= date);
    }

    /// The need of shift `shift` on `date`, forecast `lead` hours before its
    /// start as `scheduled`, with its uncertainty. `factors` and
    /// `shift_hours` turn points into staff-hours and people.
    #[must_use]
    pub fn predict(
        &self,
        shift: &str,
        date: NaiveDate,
        lead: u32,
        scheduled: Split,
        factors: StaffHours,
        shift_hours: Qty,
    ) -> Prediction {
        let young =
            |reason: String, basis: Basis| Prediction::scheduled_only(scheduled, reason, basis, factors, shift_hours);
        let mut pool = LEAD_POOL;
        let mut chosen = self.pool(shift, lead, pool);
        if distinct_shifts(&chosen) < MIN_SHIFTS {
            pool = LEAD_POOL_WIDE;
            chosen = self.pool(shift, lead, pool);
        }
        let shifts = distinct_shifts(&chosen);
        let basis = Basis {
            samples: u32::try_from(chosen.len()).unwrap_or(u32::MAX),
            shifts: u32::try_from(shifts).unwrap_or(u32::MAX),
            weeks: weeks(&chosen),
            lead_pool: pool,
        };
        if basis.weeks < MIN_WEEKS || shifts < MIN_SHIFTS {
            return young(
                format!(
                    "för kort historik ({} av minst {MIN_WEEKS}, {} tidigare pass av minst {MIN_SHIFTS})",
                    crate::words::count(u64::from(basis.weeks), "vecka", "veckor"),
                    shifts,
                ),
                basis,
            );
        }
        let day = kind_of_day(date);
        let usk = Spread::of(&chosen, day, Profession::Usk);
        let ssk = Spread::of(&chosen, day, Profession::Ssk);
        let (su, ss) = (scheduled.usk.as_f64(), scheduled.ssk.as_f64());
        let draws: Vec<(f64, f64)> = usk
            .deviations
            .iter()
            .zip(&ssk.deviations)
            .map(|(du, ds)| ((su + usk.typical + du).max(0.0), (ss + ssk.typical + ds).max(0.0)))
            .collect();
        Prediction::from_draws(
            scheduled,
            basis,
            TypicalError {
                usk: usk.typical,
                ssk: ssk.typical,
            },
            draws,
            factors,
            shift_hours,
        )
    }

    /// The samples of `shift` within `pool` hours of `lead`.
    fn pool(&self, shift: &str, lead: u32, pool: u32) -> Vec<&ErrorSample> {
        self.samples
            .iter()
            .filter(|s| s.shift == shift && s.lead.abs_diff(lead) <= pool)
            .collect()
    }
}

/// Whole weeks spanned by samples (first to last date, inclusive).
/// The distinct past shifts (dates) among samples of one shift name.
fn distinct_shifts(samples: &[&ErrorSample]) -> usize {
    samples
        .iter()
        .map(|s| s.date)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

/// Weeks spanned by samples (first to last date, inclusive), to the
/// nearest week: 27 days of a four-week window are four weeks.
fn weeks(samples: &[&ErrorSample]) -> u32 {
    let (Some(first), Some(last)) = (
        samples.iter().map(|s| s.date).min(),
        samples.iter().map(|s| s.date).max(),
    ) else {
        return 0;
    };
    u32::try_from(((last - first).num_days() + 1 + 3) / 7).unwrap_or(0)
}

/// The kind of day of a date: 0 a weekday (Monday–Friday), 1 a weekend day.
fn kind_of_day(date: NaiveDate) -> usize {
    usize::from(date.weekday().num_days_from_monday() >= 5)
}

/// One profession's typical error for a kind of day and the pooled deviations.
struct Spread {
    typical: f64,
    /// One per sample, in the samples' order.
    deviations: Vec<f64>,
}

impl Spread {
    fn of(samples: &[&ErrorSample], day: usize, p: Profession) -> Spread {
        let errors: Vec<f64> = samples
            .iter()
            .map(|s| s.realised.get(p).as_f64() - s.scheduled.get(p).as_f64())
            .collect();
        let Some(overall) = median(&errors) else {
            return Spread {
                typical: 0.0,
                deviations: Vec::new(),
            };
        };
        let mut typical_of = [overall; 2];
        for (d, t) in typical_of.iter_mut().enumerate() {
            let of_day: Vec<(&&ErrorSample, f64)> = samples
                .iter()
                .zip(errors.iter().copied())
                .filter(|(s, _)| s.day() == d)
                .collect();
            let values: Vec<f64> = of_day.iter().map(|(_, e)| *e).collect();
            if let Some(m) = median(&values) {
                // weighed by the distinct shifts behind it, not the notices pooled
                let n = of_day
                    .iter()
                    .map(|(s, _)| s.date)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len() as f64;
                *t = (n * m + SHRINK * overall) / (n + SHRINK);
            }
        }
        let deviations = samples
            .iter()
            .zip(&errors)
            .map(|(s, e)| e - typical_of[s.day()])
            .collect();
        Spread {
            typical: typical_of[day],
            deviations,
        }
    }
}

/// The median, none of nothing.
fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, 0.5)
}

/// The `q` quantile of sorted values, interpolated linearly between order
/// statistics (Hyndman and Fan's type 7, as R and numpy by default).
#[must_use]
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// A non-negative decimal in thousandths, rounded to the nearest (0 for
/// anything not finite).
fn milli(v: f64) -> i64 {
    if v.is_finite() {
        (v.max(0.0) * 1000.0).round() as i64
    } else {
        0
    }
}

/// Points from a non-negative decimal, rounded to a thousandth.
fn points(v: f64) -> Points {
    Points::from_milli(milli(v))
}

/// Qty from a non-negative decimal, rounded to a thousandth.
fn qty(v: f64) -> Qty {
    Qty::from_milli(milli(v))
}

impl Prediction {
    fn scheduled_only(
        scheduled: Split,
        reason: String,
        basis: Basis,
        factors: StaffHours,
        shift_hours: Qty,
    ) -> Prediction {
        let draws = vec![(scheduled.usk.as_f64(), scheduled.ssk.as_f64())];
        let mut p = Prediction::from_draws(
            scheduled,
            basis,
            TypicalError { usk: 0.0, ssk: 0.0 },
            draws,
            factors,
            shift_hours,
        );
        p.young = true;
        p.reason = Some(reason);
        p
    }

    fn from_draws(
        scheduled: Split,
        basis: Basis,
        typical: TypicalError,
        draws: Vec<(f64, f64)>,
        factors: StaffHours,
        shift_hours: Qty,
    ) -> Prediction {
        let band = |values: Vec<f64>, factor: Option<Qty>| -> NeedBand {
            let mut v = values;
            v.sort_by(f64::total_cmp);
            let q = |p: f64| quantile_sorted(&v, p).unwrap_or(0.0);
            let pts = Band {
                p10: points(q(0.1)),
                p50: points(q(0.5)),
                p90: points(q(0.9)),
            };
            let hours = |p: Points| match factor {
                Some(f) => p.as_f64() * f.as_f64(),
                None => 0.0,
            };
            let staff_hours = Band {
                p10: qty(hours(pts.p10)),
                p50: qty(hours(pts.p50)),
                p90: qty(hours(pts.p90)),
            };
            let per = |h: Qty| {
                if shift_hours.milli() > 0 {
                    qty(h.as_f64() / shift_hours.as_f64())
                } else {
                    Qty::ZERO
                }
            };
            NeedBand {
                points: pts,
                staff_hours,
                people: Band {
                    p10: per(staff_hours.p10),
                    p50: per(staff_hours.p50),
                    p90: per(staff_hours.p90),
                },
            }
        };
        let usk = band(draws.iter().map(|d| d.0).collect(), Some(factors.usk));
        let ssk = band(draws.iter().map(|d| d.1).collect(), Some(factors.ssk));
        // the total's percentiles from the summed draws; its staff-hours and
        // people from the profession-weighted sums of each draw
        let mut total = band(draws.iter().map(|d| d.0 + d.1).collect(), None);
        let h = |d: &(f64, f64)| d.0 * factors.usk.as_f64() + d.1 * factors.ssk.as_f64();
        let mut hours: Vec<f64> = draws.iter().map(h).collect();
        hours.sort_by(f64::total_cmp);
        let q = |p: f64| qty(quantile_sorted(&hours, p).unwrap_or(0.0));
        total.staff_hours = Band {
            p10: q(0.1),
            p50: q(0.5),
            p90: q(0.9),
        };
        let per = |x: Qty| {
            if shift_hours.milli() > 0 {
                qty(x.as_f64() / shift_hours.as_f64())
            } else {
                Qty::ZERO
            }
        };
        total.people = Band {
            p10: per(total.staff_hours.p10),
            p50: per(total.staff_hours.p50),
            p90: per(total.staff_hours.p90),
        };
        Prediction {
            scheduled,
            young: false,
            reason: None,
            basis,
            usk,
            ssk,
            total,
            typical,
            draws,
            factors,
            shift_hours,
        }
    }

    /// One profession's band.
    #[must_use]
    pub fn band(&self, p: Profession) -> &NeedBand {
        match p {
            Profession::Usk => &self.usk,
            Profession::Ssk => &self.ssk,
        }
    }

    /// People needed in each possible need of profession `p`.
    fn people_draws(&self, p: Profession) -> Vec<f64> {
        let (factor, hours) = (self.factor(p), self.shift_hours.as_f64());
        if hours <= 0.0 {
            return Vec::new();
        }
        self.draws
            .iter()
            .map(|d| match p {
                Profession::Usk => d.0,
                Profession::Ssk => d.1,
            })
            .map(|points| points * factor / hours)
            .collect()
    }

    fn factor(&self, p: Profession) -> f64 {
        match p {
            Profession::Usk => self.factors.usk.as_f64(),
            Profession::Ssk => self.factors.ssk.as_f64(),
        }
    }

    /// The share of possible needs of profession `p` that exceed `available` people.
    #[must_use]
    pub fn risk_of(&self, p: Profession, available: u32) -> f64 {
        let people = self.people_draws(p);
        if people.is_empty() {
            return 0.0;
        }
        let short = people.iter().filter(|&&n| n > f64::from(available)).count();
        short as f64 / people.len() as f64
    }

    /// The share of possible needs in which either planned profession
    /// needs more people than it has (`usk`, `ssk`; none: not planned).
    fn either_short(&self, usk: Option<u32>, ssk: Option<u32>) -> f64 {
        let (pu, ps) = (self.people_draws(Profession::Usk), self.people_draws(Profession::Ssk));
        if pu.is_empty() {
            return 0.0;
        }
        let short = pu
            .iter()
            .zip(&ps)
            .filter(|(a, b)| usk.is_some_and(|n| **a > f64::from(n)) || ssk.is_some_and(|n| **b > f64::from(n)))
            .count();
        short as f64 / pu.len() as f64
    }

    /// The risk of understaffing against the people planned present
    /// (`None` where a profession is not planned): that either planned
    /// profession is short. The people to add bring that risk to `level` or
    /// below: first each profession's own risk to the level, then, while
    /// both together still miss it, one more of whichever profession lowers
    /// it most. `None` when the prediction is the schedule alone (no spread
    /// to judge a risk by).
    #[must_use]
    pub fn risk(&self, usk: Option<u32>, ssk: Option<u32>, level: f64) -> Option<Risk> {
        if self.young || (usk.is_none() && ssk.is_none()) {
            return None;
        }
        let own = |p: Profession, available: Option<u32>| -> u32 {
            let Some(available) = available else { return 0 };
            let mut add = 0;
            // the people needed are bounded by the largest draw
            while self.risk_of(p, available + add) > level && add < 1000 {
                add += 1;
            }
            add
        };
        let (mut add_u, mut add_s) = (own(Profession::Usk, usk), own(Profession::Ssk, ssk));
        let with = |u: u32, s: u32| self.either_short(usk.map(|n| n + u), ssk.map(|n| n + s));
        let mut after = with(add_u, add_s);
        while after > level && add_u + add_s < 2000 {
            let more_u = usk.map(|_| with(add_u + 1, add_s));
            let more_s = ssk.map(|_| with(add_u, add_s + 1));
            match (more_u, more_s) {
                (Some(a), Some(b)) if b < a => add_s += 1,
                (Some(_), _) => add_u += 1,
                (None, Some(_)) => add_s += 1,
                (None, None) => break,
            }
            after = with(add_u, add_s);
        }
        let one = |p: Profession, available: Option<u32>, add: u32| {
            available.map(|available| ProfessionRisk {
                profession: p,
                available,
                risk: self.risk_of(p, available),
                add,
                risk_after: self.risk_of(p, available + add),
            })
        };
        let either = self.either_short(usk, ssk);
        let text = risk_text(either, add_u, add_s, after);
        Some(Risk {
            level,
            usk: one(Profession::Usk, usk, add_u),
            ssk: one(Profession::Ssk, ssk, add_s),
            either,
            either_after: after,
            text,
        })
    }
}

/// "risk för underbemanning 35 %, +1 USK ger 12 %" (or "+1 USK och +1 SSK
/// ger 15 %": the risk after every addition together).
fn risk_text(either: f64, add_u: u32, add_s: u32, after: f64) -> String {
    let mut text = format!("risk för underbemanning {}", pct(either));
    let adds: Vec<String> = [(add_u, "USK"), (add_s, "SSK")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, who)| format!("+{n} {who}"))
        .collect();
    if !adds.is_empty() {
        text.push_str(&format!(", {} ger {}", adds.join(" och "), pct(after)));
    }
    text
}

/// How a method did over past shifts: the back-test's figures for one scope.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Evaluation {
    /// Shift forecasts judged (a shift at each notice counts once per notice).
    pub forecasts: u32,
    /// Distinct shifts judged: the outcomes behind the forecasts (forecasts
    /// of one shift at different notices share its outcome, so the
    /// coverages' sampling error is that of this many, not of `forecasts`).
    pub shifts: u32,
    /// Of them, the young ones (the schedule alone), left out of the
    /// errors and coverages below.
    pub young: u32,
    /// Mean absolute error of the P50 (total points).
    pub p50_mae: f64,
    /// Mean absolute error of the scheduled-only forecast (total points).
    pub scheduled_mae: f64,
    /// P50's error as a share of the schedule's (the target is ≤ 0.7).
    pub mae_ratio: Option<f64>,
    /// The share of shifts at or below the P90 (target 0.88–0.92).
    pub p90_coverage: f64,
    /// The share of shifts below the P10 (target 0.08–0.12).
    pub p10_coverage: f64,
    /// Risk calibration per planned profession: per band of risk given, the
    /// mean risk and the share understaffed.
    pub risk_bins: Vec<RiskBin>,
    /// The same for the figure the planning page shows: the risk that
    /// either planned profession is short ([`Risk::either`]).
    pub either_bins: Vec<RiskBin>,
}

/// Shifts given a risk in `[from, to)`, and how many were understaffed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RiskBin {
    /// Lower bound of the risk given.
    pub from: f64,
    /// Upper bound (exclusive; 1 is in the last bin).
    pub to: f64,
    /// Shift forecasts in the bin (per profession planned).
    pub forecasts: u32,
    /// Distinct shift-professions among them.
    pub shifts: u32,
    /// The mean risk given.
    pub mean_risk: f64,
    /// The share that were understaffed.
    pub understaffed: f64,
}

/// Accumulates an [`Evaluation`].
#[derive(Clone, Debug, Default)]
pub struct Evaluator {
    n: u32,
    young: u32,
    p50_abs: f64,
    scheduled_abs: f64,
    under_p90: u32,
    below_p10: u32,
    /// (risk given, understaffed, shift key), per profession-shift with a plan.
    risks: Vec<(f64, bool, u64)>,
    /// (either risk given, either short, shift key), per shift with a plan.
    either: Vec<(f64, bool, u64)>,
    /// The distinct shifts judged.
    keys: std::collections::BTreeSet<u64>,
}

/// Bins of risk for calibration.
const RISK_EDGES: [f64; 6] = [0.0, 0.1, 0.25, 0.4, 0.6, 1.0];

impl Evaluator {
    /// Judges `p`, a forecast of the shift identified by `shift` (any key
    /// the same for every notice of one shift of one scope), against
    /// `realised` (points per profession), and, where `available` people of
    /// a profession were planned, its risk against whether the realised
    /// need exceeded them.
    pub fn add(&mut self, shift: u64, p: &Prediction, realised: Split, usk: Option<u32>, ssk: Option<u32>) {
        let real = realised.usk.as_f64() + realised.ssk.as_f64();
        self.n += 1;
        self.keys.insert(shift);
        if p.young {
            // the schedule alone: counted, but not mixed into the P50's error or the coverages
            self.young += 1;
            return;
        }
        self.p50_abs += (p.total.points.p50.as_f64() - real).abs();
        self.scheduled_abs += (p.scheduled.usk.as_f64() + p.scheduled.ssk.as_f64() - real).abs();
        self.under_p90 += u32::from(real <= p.total.points.p90.as_f64());
        self.below_p10 += u32::from(real < p.total.points.p10.as_f64());
        let mut short = false;
        for (k, (prof, available)) in [(Profession::Usk, usk), (Profession::Ssk, ssk)].into_iter().enumerate() {
            if let Some(a) = available {
                let need = realised.get(prof).as_f64() * p.factor(prof) / p.shift_hours.as_f64().max(f64::MIN_POSITIVE);
                short |= need > f64::from(a);
                self.risks.push((
                    p.risk_of(prof, a),
                    need > f64::from(a),
                    shift.wrapping_mul(2) + k as u64,
                ));
            }
        }
        if usk.is_some() || ssk.is_some() {
            self.either.push((p.either_short(usk, ssk), short, shift));
        }
    }

    /// The figures.
    #[must_use]
    pub fn finish(&self) -> Evaluation {
        let n = f64::from((self.n - self.young).max(1));
        let risk_bins = bins(&self.risks);
        let either_bins = bins(&self.either);
        let (p50_mae, scheduled_mae) = (self.p50_abs / n, self.scheduled_abs / n);
        Evaluation {
            forecasts: self.n,
            shifts: u32::try_from(self.keys.len()).unwrap_or(u32::MAX),
            young: self.young,
            p50_mae,
            scheduled_mae,
            mae_ratio: (scheduled_mae > 0.0).then(|| p50_mae / scheduled_mae),
            p90_coverage: f64::from(self.under_p90) / n,
            p10_coverage: f64::from(self.below_p10) / n,
            risk_bins,
            either_bins,
        }
    }
}

/// (risk given, understaffed, shift key)s into the calibration bands.
fn bins(risks: &[(f64, bool, u64)]) -> Vec<RiskBin> {
    RISK_EDGES
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let last = i + 2 == RISK_EDGES.len();
            let inside: Vec<&(f64, bool, u64)> = risks
                .iter()
                .filter(|(r, _, _)| *r >= w[0] && (*r < w[1] || (last && *r <= w[1])))
                .collect();
            let k = inside.len().max(1) as f64;
            let shifts: std::collections::BTreeSet<u64> = inside.iter().map(|(_, _, s)| *s).collect();
            RiskBin {
                from: w[0],
                to: w[1],
                forecasts: u32::try_from(inside.len()).unwrap_or(u32::MAX),
                shifts: u32::try_from(shifts.len()).unwrap_or(u32::MAX),
                mean_risk: inside.iter().map(|(r, _, _)| r).sum::<f64>() / k,
                understaffed: inside.iter().filter(|(_, u, _)| *u).count() as f64 / k,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(usk: i64, ssk: i64) -> Split {
        Split {
            usk: Points::whole(usk),
            ssk: Points::whole(ssk),
        }
    }

    fn factors() -> StaffHours {
        // 0.1 h per point: 80 points over an 8-hour shift is one person
        StaffHours {
            usk: Qty::from_milli(100),
            ssk: Qty::from_milli(100),
        }
    }

    /// `weeks` weeks of day shifts at lead 4 whose realised need is the
    /// schedule × `ratio(i)`.
    fn history(weeks: u32, ratio: impl Fn(u32, NaiveDate) -> f64) -> ErrorModel {
        let first = NaiveDate::from_ymd_opt(2026, 1, 5).expect("a Monday");
        let samples = (0..weeks * 7)
            .map(|i| {
                let date = first + chrono::Duration::days(i64::from(i));
                let r = ratio(i, date);
                ErrorSample {
                    shift: "day".into(),
                    date,
                    lead: 4,
                    shift_hours: Qty::whole(8),
                    scheduled: split(400, 200),
                    realised: Split {
                        usk: super::points(400.0 * r),
                        ssk: super::points(200.0 * r),
                    },
                    scheduled_components: Components::default(),
                    realised_components: Components::default(),
                }
            })
            .collect();
        ErrorModel::new(samples)
    }

    fn monday(weeks_later: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).expect("a Monday") + chrono::Duration::weeks(weeks_later)
    }

    #[test]
    fn a_steady_bias_moves_the_median_and_a_uniform_spread_gives_its_percentiles() {
        // ratios 1.00, 1.01, …, 1.40 repeating: a 20 % bias, spread ±0.2
        let m = history(6, |i, _| 1.0 + f64::from(i % 41) * 0.01);
        let p = m.predict("day", monday(0), 4, split(400, 200), factors(), Qty::whole(8));
        assert!(!p.young, "{:?}", p.reason);
        assert_eq!(p.basis.samples, 42);
        assert_eq!(p.basis.weeks, 6);
        let p50 = p.total.points.p50.as_f64();
        assert!((p50 - 600.0 * 1.2).abs() < 600.0 * 0.03, "P50 {p50}");
        let (p10, p90) = (p.total.points.p10.as_f64(), p.total.points.p90.as_f64());
        assert!(p10 < p50 && p50 < p90);
        assert!((p90 - 600.0 * 1.36).abs() < 600.0 * 0.04, "P90 {p90}");
        assert!((p10 - 600.0 * 1.04).abs() < 600.0 * 0.04, "P10 {p10}");
        // people: USK P50 ≈ 480 points × 0.1 h ÷ 8 h = 6 people
        assert!((p.usk.people.p50.as_f64() - 6.0).abs() < 0.2);
    }

    #[test]
    fn the_weekends_rhythm_is_learnt_and_pulled_toward_all_days() {
        // weekend shifts turn out 1.5 × the schedule (USK +200 points), weekdays as scheduled
        let m = history(6, |_, d| {
            if d.weekday().num_days_from_monday() >= 5 {
                1.5
            } else {
                1.0
            }
        });
        let sat = m.predict(
            "day",
            monday(0) + chrono::Duration::days(5),
            4,
            split(400, 200),
            factors(),
            Qty::whole(8),
        );
        let mon = m.predict("day", monday(0), 4, split(400, 200), factors(), Qty::whole(8));
        // twelve weekend days' +200 pulled by six samples toward all days' median 0
        assert!(
            (sat.typical.usk - 200.0 * 12.0 / 18.0).abs() < 1e-6,
            "{}",
            sat.typical.usk
        );
        assert!(mon.typical.usk.abs() < 1e-9, "{}", mon.typical.usk);
        assert!(sat.total.points.p50 > mon.total.points.p50);
        // the error is added, not scaled: a fuller weekend shift gets the same points on top
        let fuller = m.predict(
            "day",
            monday(0) + chrono::Duration::days(5),
            4,
            split(800, 200),
            factors(),
            Qty::whole(8),
        );
        assert_eq!(fuller.usk.points.p50.milli() - sat.usk.points.p50.milli(), 400_000);
    }

    #[test]
    fn an_empty_ward_still_expects_its_arrivals() {
        // every shift turned out 60 USK and 30 SSK points above a schedule of 0
        let first = NaiveDate::from_ymd_opt(2026, 1, 5).expect("a Monday");
        let samples = (0..42)
            .map(|i| ErrorSample {
                shift: "day".into(),
                date: first + chrono::Duration::days(i),
                lead: 4,
                shift_hours: Qty::whole(8),
                scheduled: split(0, 0),
                realised: split(60, 30),
                scheduled_components: Components::default(),
                realised_components: Components::default(),
            })
            .collect();
        let p = ErrorModel::new(samples).predict("day", monday(0), 4, split(0, 0), factors(), Qty::whole(8));
        assert!(!p.young, "{:?}", p.reason);
        assert_eq!(p.total.points.p50, Points::whole(90));
    }

    #[test]
    fn too_little_history_falls_back_to_the_schedule_and_says_so() {
        let m = history(3, |_, _| 1.3);
        let p = m.predict("day", monday(0), 4, split(400, 200), factors(), Qty::whole(8));
        assert!(p.young);
        assert_eq!(p.total.points.p10, Points::whole(600));
        assert_eq!(p.total.points.p90, Points::whole(600));
        assert!(
            p.reason.as_deref().is_some_and(|r| r.contains("3 veckor av minst 4")),
            "{:?}",
            p.reason
        );
        assert_eq!(p.risk(Some(3), Some(2), DEFAULT_RISK_LEVEL), None);
        // another shift name has no history at all
        let night = history(6, |_, _| 1.0).predict("night", monday(0), 4, split(1, 1), factors(), Qty::whole(8));
        assert!(night.young);
    }

    #[test]
    fn the_risk_counts_possible_needs_above_the_people_present_and_finds_the_people_to_add() {
        // USK need 400 × r points, r uniform 0.9–1.5 → 4.5–7.5 people
        let m = history(8, |i, _| 0.9 + f64::from(i % 61) * 0.01);
        let p = m.predict("day", monday(0), 4, split(400, 200), factors(), Qty::whole(8));
        let r = p.risk(Some(6), None, 0.2).expect("a risk");
        let usk = r.usk.as_ref().expect("USK planned");
        // need > 6 people ⇔ r > 1.2: about 0.25 / 0.55 of ratios 0.90–1.45
        assert!((0.3..0.55).contains(&usk.risk), "{}", usk.risk);
        // +1 (7 people ⇔ r > 1.4): about 1/10 ≤ 0.2
        assert_eq!(usk.add, 1);
        assert!(usk.risk_after <= 0.2 && usk.risk_after > 0.02, "{}", usk.risk_after);
        assert_eq!(
            r.text,
            format!(
                "risk för underbemanning {} %, +1 USK ger {} %",
                percent(r.either),
                percent(usk.risk_after)
            )
        );
        assert!(r.ssk.is_none());
        // plenty of staff: no risk, nobody to add
        let calm = p.risk(Some(10), Some(10), 0.2).expect("a risk");
        assert_eq!(calm.either, 0.0);
        assert_eq!(calm.usk.expect("planned").add, 0);
        assert_eq!(calm.text, "risk för underbemanning 0 %");
    }

    #[test]
    fn people_are_added_until_both_professions_together_meet_the_level() {
        // ten weeks of weekday shifts; USK's and SSK's errors (0–90 points,
        // one person per 80) short of one more person on different days
        let first = NaiveDate::from_ymd_opt(2026, 1, 5).expect("a Monday");
        let samples = (0..50i64)
            .map(|i| ErrorSample {
                shift: "day".into(),
                date: first + chrono::Duration::days((i / 5) * 7 + i % 5),
                lead: 4,
                shift_hours: Qty::whole(8),
                scheduled: split(400, 400),
                realised: split(400 + (i % 10) * 10, 400 + (i / 5) * 10),
                scheduled_components: Components::default(),
                realised_components: Components::default(),
            })
            .collect();
        let p = ErrorModel::new(samples).predict("day", monday(0), 4, split(400, 400), factors(), Qty::whole(8));
        let level = 0.15;
        // one more of each brings each profession alone under the level…
        assert!(p.risk_of(Profession::Usk, 6) <= level && p.risk_of(Profession::Ssk, 6) <= level);
        // …but not the two together
        assert!(p.either_short(Some(6), Some(6)) > level);
        let r = p.risk(Some(5), Some(5), level).expect("a risk");
        let (u, s) = (r.usk.as_ref().expect("u"), r.ssk.as_ref().expect("s"));
        assert!(r.either_after <= level, "{r:?}");
        assert_eq!(u.add + s.add, 3, "{r:?}");
        // one figure after every addition, not one per profession
        assert_eq!(
            r.text,
            format!(
                "risk för underbemanning {} %, +{} USK och +{} SSK ger {} %",
                percent(r.either),
                u.add,
                s.add,
                percent(r.either_after)
            )
        );
    }

    #[test]
    fn young_forecasts_are_counted_but_not_judged() {
        let young = history(2, |_, _| 1.0).predict("day", monday(0), 4, split(400, 200), factors(), Qty::whole(8));
        assert!(young.young);
        let mut e = Evaluator::default();
        e.add(1, &young, split(900, 900), Some(1), Some(1));
        let ev = e.finish();
        assert_eq!((ev.forecasts, ev.young), (1, 1));
        assert_eq!((ev.p50_mae, ev.p90_coverage, ev.p10_coverage), (0.0, 0.0, 0.0));
        assert!(ev.risk_bins.iter().all(|b| b.forecasts == 0));
    }

    #[test]
    fn either_profession_short_keeps_their_dependence() {
        let m = history(8, |i, _| 0.9 + f64::from(i % 61) * 0.01);
        let p = m.predict("day", monday(0), 4, split(400, 400), factors(), Qty::whole(8));
        let r = p.risk(Some(6), Some(6), 0.2).expect("a risk");
        // the professions move together: either short is as often as one
        let (u, s) = (r.usk.expect("u").risk, r.ssk.expect("s").risk);
        assert!((r.either - u.max(s)).abs() < 1e-9, "{} {u} {s}", r.either);
    }

    #[test]
    fn the_evaluator_measures_error_coverage_and_risk_calibration() {
        let m = history(8, |i, _| 0.9 + f64::from(i % 61) * 0.01);
        let p = m.predict("day", monday(0), 4, split(400, 200), factors(), Qty::whole(8));
        let mut e = Evaluator::default();
        // realised exactly at the median every time: perfect P50, schedule 20 % off
        let median = p.total.points.p50.as_f64();
        let realised = Split {
            usk: super::points(median * 2.0 / 3.0),
            ssk: super::points(median / 3.0),
        };
        for i in 0..10 {
            // five shifts, each at two notices
            e.add(i / 2, &p, realised, Some(6), None);
        }
        let ev = e.finish();
        assert_eq!(ev.forecasts, 10);
        assert_eq!(ev.shifts, 5);
        assert!(ev.p50_mae < 1.0, "{}", ev.p50_mae);
        assert!(ev.mae_ratio.is_some_and(|r| r < 0.05));
        assert_eq!(ev.p90_coverage, 1.0);
        assert_eq!(ev.p10_coverage, 0.0);
        let bin = ev.risk_bins.iter().find(|b| b.forecasts > 0).expect("a bin");
        assert_eq!((bin.forecasts, bin.shifts), (10, 5));
        // only USK planned: the page's "either" figure is USK's own
        let either = ev.either_bins.iter().find(|b| b.forecasts > 0).expect("a bin");
        assert_eq!((either.forecasts, either.mean_risk), (bin.forecasts, bin.mean_risk));
        assert!(bin.from <= 0.5 && 0.5 < bin.to + 0.1);
    }

    #[test]
    fn bands_keep_needs_that_are_not_whole_thousandths() {
        // ratios in sevenths: no draw is a whole thousandth of a point
        let m = history(6, |i, _| 1.0 + f64::from(i % 7) / 7.0);
        let p = m.predict("day", monday(0), 4, split(400, 200), factors(), Qty::whole(8));
        let p50 = p.usk.points.p50;
        assert!(
            p50 > Points::whole(400) && p50.milli() % 1000 != 0,
            "{:?}",
            p.usk.points
        );
        assert!(p.usk.people.p10 < p.usk.people.p90, "{:?}", p.usk.people);
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&v, 0.5), Some(3.0));
        assert_eq!(quantile_sorted(&v, 0.1), Some(1.4));
        assert_eq!(quantile_sorted(&v, 1.0), Some(5.0));
        assert_eq!(quantile_sorted(&[], 0.5), None);
    }
}
