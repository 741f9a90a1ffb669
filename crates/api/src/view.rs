//! The views: what the JSON API returns and the screens render. Built from
//! the store by `crate::query`-style functions; rendered as JSON by serde
//! and as HTML by [`crate::screen`]. No names, identifiers or free text: a
//! patient is a keyed pseudonym, a bed, sex, birth year and admission date.

use careload_scoring::Points;
use careload_scoring::aggregate::Totals;
use careload_scoring::news2::RiskLevel;
use careload_scoring::snapshot::{AdlNeed, NortonActivity, Sex, SupportLevel};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where the data stands: the hour shown, how old it is, the last run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DataState {
    /// The hour shown (start, UTC); none before the first run.
    pub hour: Option<DateTime<Utc>>,
    /// When that hour was written.
    pub as_of: Option<DateTime<Utc>>,
    /// True when `as_of` is older than `api.stale_after_minutes` or nothing was written yet.
    pub stale: bool,
    /// The latest ingest run, if any.
    pub last_run: Option<RunSummary>,
    /// The weights version that scored the hour shown.
    pub weights_version: Option<String>,
}

/// A run, as screens and the API show it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSummary {
    /// Its id.
    pub id: i64,
    /// Started.
    pub started_at: DateTime<Utc>,
    /// Finished (none while running).
    pub finished_at: Option<DateTime<Utc>>,
    /// `ok`, `partial`, `failed`, or none while running.
    pub outcome: Option<String>,
    /// The run-level error, if it failed.
    pub error: Option<String>,
}

/// The DiViS-style indicator: the current total against the ward's own
/// expected level for this hour of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// Clearly below the expected level.
    Lower,
    /// Within the expected band.
    AsExpected,
    /// Clearly above the expected level.
    Higher,
    /// Too little history to say (shown grey).
    TooLittleData,
}

/// One ward on the hospital overview.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WardOverview {
    /// Ward id.
    pub id: String,
    /// Display name (config), else the id.
    pub name: String,
    /// Patients, total, components, professions at the hour shown.
    pub totals: Totals,
    /// Beds (config or Location tree), when known.
    pub beds: Option<u32>,
    /// Patients / beds, when beds are known.
    pub occupancy: Option<f64>,
    /// Mean total for the same hour of week over the last year (or the history there is).
    pub expected: Option<Points>,
    /// How many past hours `expected` is the mean of.
    pub expected_samples: u32,
    /// Lower / as expected / higher / too little data.
    pub indicator: Indicator,
}

/// `GET /api/v1/hospital`: every ward at the hour shown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HospitalOverview {
    /// Data state.
    pub state: DataState,
    /// The hospital's totals.
    pub totals: Totals,
    /// Each ward, ordered by id.
    pub wards: Vec<WardOverview>,
}

/// A score's colour band on the screen, relative to the hospital's patients
/// at the hour shown (quartiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Lowest quarter.
    Low,
    /// Second quarter.
    Moderate,
    /// Third quarter.
    High,
    /// Highest quarter.
    VeryHigh,
}

/// One patient on a ward, de-identified.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PatientRow {
    /// The keyed pseudonym.
    pub key: String,
    /// Team, when known.
    pub team: Option<String>,
    /// Bed, when known.
    pub bed: Option<String>,
    /// Sex.
    pub sex: Sex,
    /// Birth year.
    pub birth_year: Option<i32>,
    /// Admission time.
    pub admitted_at: DateTime<Utc>,
    /// Placed outside the stay's specialty.
    pub outlying: bool,
    /// Norton activity level, if assessed.
    pub norton: Option<NortonActivity>,
    /// Norton total, if charted.
    pub norton_total: Option<u8>,
    /// Emotional-support level, if assessed.
    pub emotional_support: Option<SupportLevel>,
    /// The NEWS2 used, if any.
    pub news2: Option<u8>,
    /// Its risk level.
    pub news2_risk: Option<RiskLevel>,
    /// Active medication orders.
    pub medications: u32,
    /// Multidisciplinary orders.
    pub orders: u32,
    /// Total points.
    pub total: Points,
    /// Assistant nurse (USK) points.
    pub usk: Points,
    /// Registered nurse (SSK) points.
    pub ssk: Points,
    /// Points per component, in `Component::ALL` order: (component key, points).
    pub components: Vec<(String, Points)>,
    /// Colour band.
    pub band: Band,
    /// ADL needs, shown beside the score, never scored.
    pub adl: Vec<AdlNeed>,
    /// Items the weights did not know.
    pub unmatched: u32,
}

/// One team of a ward.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TeamView {
    /// The team id (`NO_TEAM` when patients have none).
    pub team: String,
    /// Its totals.
    pub totals: Totals,
}

/// `GET /api/v1/wards/{id}`: a ward at the hour shown.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WardView {
    /// Ward id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Data state.
    pub state: DataState,
    /// The ward's totals (per profession and component inside).
    pub totals: Totals,
    /// Beds, when known.
    pub beds: Option<u32>,
    /// Each team, ordered by id.
    pub teams: Vec<TeamView>,
    /// Each patient, by team then bed.
    pub patients: Vec<PatientRow>,
}

/// One point of a graph.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// Total points in that hour.
    pub total: Points,
}

/// One line of a graph.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Series {
    /// What it is: `ward`, a team id, or a patient's pseudonym.
    pub name: String,
    /// Hourly points, oldest first; missing hours are absent.
    pub points: Vec<Point>,
}

/// `GET /api/v1/wards/{id}/history`: hourly totals over a range.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WardHistory {
    /// Ward id.
    pub id: String,
    /// Range start (inclusive).
    pub from: DateTime<Utc>,
    /// Range end (exclusive).
    pub to: DateTime<Utc>,
    /// The ward's total.
    pub ward: Series,
    /// Each team.
    pub teams: Vec<Series>,
    /// Each patient on the ward at the hour shown.
    pub patients: Vec<Series>,
}
