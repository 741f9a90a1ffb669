//! careload's next-shift planning core: the numbers and proposals a staffing
//! assistant or shift leader needs before a shift.
//!
//! Like `careload-scoring`, this crate is pure: no I/O, no clock, no time-zone
//! database. The store and the API feed it forecast scores, planned staffing
//! and free beds; it returns serde-serialisable answers.
//!
//! * [`need`] — the forecast need of a ward and its teams for a shift: points
//!   per profession and component, staff-hours and staff counts.
//! * [`staffing`] — planned staffing (people per ward/team, shift and
//!   profession, minus absences).
//! * [`csv`] — planned staffing imported from a scheduling system's CSV
//!   export, all or nothing (the format: `docs/planned-staffing-csv.md`).
//! * [`gap`] — need vs planned: the gap in staff-hours and people, the
//!   verdict, "absence need not be replaced".
//! * [`index`] — the ward index (care need per present staff member), in the
//!   spirit of Gävleborg's VIM-index.
//! * [`balance`](mod@balance) — team balancing: suggested patient (and staff) moves.
//! * [`coordinator`] — which wards can take the next admission from the
//!   emergency department.
//! * [`calibration`] — the staff's ratings of each shift against its points
//!   per person: the ward's optimal points per person, its interval and
//!   reliability, and which components move with the ratings (statistics in
//!   `f64`; see its doc).
//! * [`flow`] — a ward's patient flow learnt from its stored hours: arrivals
//!   and the share leaving, per hour of the week (issue 28).
//! * [`uncertainty`] — P10/P50/P90 of the next shifts' need from the scheduled
//!   forecast's own past errors, the risk of understaffing and the people
//!   to add (issue 28; statistics in `f64`).
//! * [`refit`] — a scale per score component fitted to the ratings
//!   (`careload weights fit`), judged on held-out weeks before any change is
//!   proposed (statistics in `f64`).
//!
//! # From points to staff
//!
//! Points are six-minute units of direct care (weights file notes) summed over
//! a window. The need of a shift is the sum of its hourly forecast points; the
//! weights file's `[staff_hours.<care category>]` factors (hours per point,
//! above 0.1 because they include indirect time) turn each profession's
//! points into staff-hours **for the whole shift**, and staff-hours divided by
//! the shift's length in hours give the people needed on the floor for it:
//!
//! ```text
//! staff_hours(p) = points(p) × factor(p)          p ∈ {USK, SSK}
//! people(p)      = staff_hours(p) / shift_hours
//! ```
//!
//! A day shift 07–15 (8 h) whose USK need is 400 points at 0.13 h/point needs
//! 52 USK staff-hours, that is 6.5 assistant nurses.
//!
//! # Numbers
//!
//! Points are [`Points`] and hours and people [`Qty`] (fixed-point
//! thousandths, as in scoring); every division rounds to the nearest
//! thousandth, halves away from zero. Floats appear nowhere in the arithmetic
//! except the statistics of [`calibration`] and [`refit`], whose results come back as
//! [`Points`] and [`Qty`] where they are loads or people.

pub mod balance;
pub mod calibration;
pub mod coordinator;
pub mod csv;
pub mod flow;
pub mod gap;
pub mod index;
pub mod need;
pub mod refit;
pub mod staffing;
pub mod uncertainty;
pub mod words;

use careload_scoring::snapshot::Profession;
use careload_scoring::weights::StaffHours;
use careload_scoring::{Points, Qty, Weights};
use serde::{Deserialize, Serialize};

pub use balance::{BalanceOptions, BalancePatient, BalanceProposal, Move, MoveWhat, TeamLoad, TeamStaff, balance};
pub use coordinator::{AdmissionAnswer, AdmissionAssumption, AdmissionVerdict, WardBeds, admissions};
pub use csv::{CsvRowError, ImportRules, KnownTeam, parse_planned_csv};
pub use gap::{ProfessionGap, ScopeGap, ShiftAssessment, Thresholds, Verdict, assess};
pub use index::{WardIndex, ward_index};
pub use need::{HourNeed, NeedLine, PatientForecast, PatientShiftNeed, ShiftNeed, forecast_hours_needed, shift_need};
pub use staffing::{PlannedStaffing, ShiftPlanned, StaffCount, WardPlan};

/// Everything that can go wrong in planning.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A planned-staffing CSV file was refused; nothing was imported.
    #[error("planned staffing not imported: {} bad row(s); fix them and send the whole file again:\n{}", rows.len(), rows.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Csv {
        /// Every bad row, by line number.
        rows: Vec<CsvRowError>,
    },
    /// A planned-staffing row entered through the API was refused.
    #[error("planned staffing refused: {0}")]
    BadPlannedStaffing(String),
    /// Team balancing was given inconsistent input.
    #[error("cannot balance teams: {0}")]
    BadBalanceInput(String),
    /// A ward's care category that the weights have no staff-hours factors for.
    #[error(
        "the weights have no staff_hours for care category {category:?}; use one of: {known}, or add [staff_hours.{category}] to a new weights version"
    )]
    UnknownCareCategory {
        /// The category asked for.
        category: String,
        /// The categories the weights have.
        known: String,
    },
}

/// The care category a ward without one configured (`wards.<id>.care_category`)
/// is planned and exported under, when the weights have it.
pub const DEFAULT_CARE_CATEGORY: &str = "general";

/// The care category of a ward without one configured: [`DEFAULT_CARE_CATEGORY`]
/// when the weights have its factors, else the weights' first category;
/// none when the weights have no staff-hour factors at all.
pub fn default_care_category(weights: &Weights) -> Option<&str> {
    let known = &weights.staff_hours;
    if known.contains_key(DEFAULT_CARE_CATEGORY) {
        Some(DEFAULT_CARE_CATEGORY)
    } else {
        known.keys().next().map(String::as_str)
    }
}

/// The points → staff-hours factors of a ward care category in the weights in force.
///
/// # Errors
/// [`Error::UnknownCareCategory`] when the weights have no such category.
pub fn staff_hours_for(weights: &Weights, category: &str) -> Result<StaffHours, Error> {
    weights
        .staff_hours
        .get(category)
        .copied()
        .ok_or_else(|| Error::UnknownCareCategory {
            category: category.to_owned(),
            known: weights.staff_hours.keys().cloned().collect::<Vec<_>>().join(", "),
        })
}

/// A quantity per profession: staff-hours or people.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ByProfession {
    /// Assistant nurses (USK).
    pub usk: Qty,
    /// Registered nurses (SSK).
    pub ssk: Qty,
}

impl ByProfession {
    /// The value of one profession.
    pub fn get(&self, p: Profession) -> Qty {
        match p {
            Profession::Usk => self.usk,
            Profession::Ssk => self.ssk,
        }
    }

    /// Both professions together.
    pub fn total(&self) -> Qty {
        self.usk + self.ssk
    }
}

/// Rounds `n / d` to the nearest integer, halves away from zero; 0 when `d`
/// is not positive. The one rounding division of planning and of the
/// application layer's statistics over stored thousandths.
#[must_use]
pub fn div_round(n: i128, d: i128) -> i64 {
    if d <= 0 {
        return 0;
    }
    let q = if n >= 0 { (n + d / 2) / d } else { (n - d / 2) / d };
    q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// `milli × num / den`, rounded to the nearest thousandth; zero when `den` is 0.
fn scale_milli(milli: i64, num: i64, den: i64) -> i64 {
    if den == 0 {
        return 0;
    }
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    div_round(i128::from(milli) * i128::from(num), i128::from(den))
}

/// Points scaled by `num / den`.
fn scale_points(p: Points, num: i64, den: i64) -> Points {
    Points::from_milli(scale_milli(p.milli(), num, den))
}

/// Points divided by a quantity (people, hours), as points per unit; `None` when the quantity is not positive.
fn points_per(p: Points, q: Qty) -> Option<Points> {
    (q.milli() > 0).then(|| Points::from_milli(scale_milli(p.milli(), 1000, q.milli())))
}
