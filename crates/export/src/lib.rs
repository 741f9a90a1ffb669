//! careload's trend exports for controllers and managers.
//!
//! An export aggregates the stored hourly history by **level** (hospital,
//! site — one configured hospital of a region —, department, ward, team) and **grain** (hour, shift, day, ISO week, month, quarter,
//! year, in the hospital's time zone) into one row per unit and period: the
//! mean, median, 90th percentile and maximum of the unit's hourly total,
//! means per profession and component, patient-hours and distinct patients;
//! optionally planned staffing against need in staff-hours, and the same
//! period a year earlier. Rows are written as CSV (two dialects), Parquet or
//! JSON with the stable columns of [`schema::COLUMNS`], with the period's
//! local date and start time and the wards' and teams' display names for
//! pivoting. A period that runs past the last hour stored (today, this
//! week) is marked incomplete, and its planned staffing counts only the
//! shifts that have started, to compare with the need of the hours so far.
//!
//! # How it runs
//!
//! The store already keeps every hour's sums per hospital, ward and team
//! (`unit_hours`), so a year of ward aggregates is a few hundred thousand
//! rows whatever the hospital's size. The [`Exporter`] reads them in
//! two-week chunks, keeps the rows of periods not yet complete, and when a
//! period ends aggregates its rows with polars (lazy group-by) and asks the
//! database for its distinct patients. Each finished batch goes straight to
//! the [`Sink`], so memory is bounded by one chunk plus the periods still
//! open (at most a year of one level's hourly sums for `grain = year`), not
//! by the range.
//!
//! This is the only crate that depends on polars.

pub mod backtest;
pub mod period;
pub mod schema;
pub mod sink;
pub mod spec;

mod engine;

use std::collections::BTreeMap;

use careload_scoring::shift::ShiftPlan;
use careload_scoring::weights::StaffHours;
use chrono_tz::Tz;

pub use engine::{Exporter, Summary, export};
pub use sink::{SharedBuf, Sink};
pub use spec::{ExportLevel, ExportSpec, Format, Grain, parse_date, parse_level};

/// What can go wrong in an export.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is wrong (the message says what to send instead).
    #[error("{0}")]
    BadSpec(String),
    /// Reading the history failed.
    #[error("reading the history: {0}")]
    Store(#[from] careload_store::Error),
    /// polars refused a frame (a bug, not bad input).
    #[error("aggregating: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// Writing the output failed (disk full, client gone).
    #[error("writing the export: {0}")]
    Io(#[from] std::io::Error),
    /// Serialising a JSON row failed.
    #[error("writing JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The hospital's settings an export needs: its time zone, the shift plans,
/// each ward's points → staff-hours factors and the display names of wards
/// and teams.
#[derive(Clone, Debug)]
pub struct Context {
    /// The hospital's time zone: days, weeks and months start at its midnight.
    pub tz: Tz,
    /// The shift plan of wards without their own (and of the hospital level).
    pub default_shifts: ShiftPlan,
    /// Wards with their own shift plan.
    pub ward_shifts: BTreeMap<String, ShiftPlan>,
    /// Each ward's factors (from its care category in the weights in force).
    pub staff_hours: BTreeMap<String, StaffHours>,
    /// Factors for wards not in `staff_hours` (the `general` category); none
    /// leaves their need empty.
    pub default_staff_hours: Option<StaffHours>,
    /// Ward id → display name (`[wards.<id>] name`); wards not here have none.
    pub ward_names: BTreeMap<String, String>,
    /// Ward id → team id → display name (`[wards.<id>.teams]`).
    pub team_names: BTreeMap<String, BTreeMap<String, String>>,
    /// Ward id → department id (`[wards.<id>] department`): the groups of
    /// `level = department`; wards not here have no department. Empty = no
    /// department configured (and `level = department` is refused).
    pub ward_departments: BTreeMap<String, String>,
    /// Department id → display name (`[departments.<id>] name`); departments
    /// not here have none.
    pub department_names: BTreeMap<String, String>,
    /// Department id → hospital id (`[departments.<id>] hospital`): with
    /// `ward_departments`, the groups of `level = site`; departments not
    /// here, and their wards, have no hospital. No ward with a hospital =
    /// `level = site` is refused.
    pub department_hospitals: BTreeMap<String, String>,
    /// Hospital id → display name (`[hospitals.<id>] name`); hospitals not
    /// here have none.
    pub hospital_names: BTreeMap<String, String>,
}

impl Context {
    /// The hospital's zone with the default shifts, no staffing factors and
    /// no display names.
    pub fn new(tz: Tz) -> Context {
        Context {
            tz,
            default_shifts: ShiftPlan::default(),
            ward_shifts: BTreeMap::new(),
            staff_hours: BTreeMap::new(),
            default_staff_hours: None,
            ward_names: BTreeMap::new(),
            team_names: BTreeMap::new(),
            ward_departments: BTreeMap::new(),
            department_names: BTreeMap::new(),
            department_hospitals: BTreeMap::new(),
            hospital_names: BTreeMap::new(),
        }
    }

    /// The shift plan of `ward`.
    pub fn plan(&self, ward: &str) -> &ShiftPlan {
        self.ward_shifts.get(ward).unwrap_or(&self.default_shifts)
    }

    /// The display name of `ward`, if one is configured.
    pub fn ward_name(&self, ward: &str) -> Option<&str> {
        self.ward_names.get(ward).map(String::as_str)
    }

    /// The display name of `team` on `ward`, if one is configured.
    pub fn team_name(&self, ward: &str, team: &str) -> Option<&str> {
        self.team_names.get(ward)?.get(team).map(String::as_str)
    }

    /// The department of `ward`, if it has one.
    pub fn department_of(&self, ward: &str) -> Option<&str> {
        self.ward_departments.get(ward).map(String::as_str)
    }

    /// The display name of `department`, if one is configured.
    pub fn department_name(&self, department: &str) -> Option<&str> {
        self.department_names.get(department).map(String::as_str)
    }

    /// The hospital of `department`, if it has one.
    pub fn department_hospital(&self, department: &str) -> Option<&str> {
        self.department_hospitals.get(department).map(String::as_str)
    }

    /// The hospital of `ward` (its department's), if it has one.
    pub fn hospital_of(&self, ward: &str) -> Option<&str> {
        self.department_of(ward).and_then(|d| self.department_hospital(d))
    }

    /// The display name of `hospital`, if one is configured.
    pub fn hospital_name(&self, hospital: &str) -> Option<&str> {
        self.hospital_names.get(hospital).map(String::as_str)
    }

    /// The points → staff-hours factors of `ward`.
    pub fn factors(&self, ward: &str) -> Option<StaffHours> {
        self.staff_hours.get(ward).copied().or(self.default_staff_hours)
    }
}
