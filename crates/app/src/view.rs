//! The views: what the JSON API returns and the screens render. Built from
//! the store by [`crate::query`] and [`crate::planning`]; rendered as JSON
//! by serde and as HTML by the API's screens. No names, identifiers or free text: a
//! patient is a keyed pseudonym, a bed, sex, birth year and admission date.

use careload_scoring::Points;
use careload_scoring::aggregate::Totals;
use careload_scoring::news2::RiskLevel;
use careload_scoring::snapshot::{AdlNeed, NortonActivity, Sex, SupportLevel};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where the data stands: the hour shown, how old it is, the last run.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DataState {
    /// The hour shown (start, UTC); none before the first run.
    pub hour: Option<DateTime<Utc>>,
    /// When that hour was written.
    pub as_of: Option<DateTime<Utc>>,
    /// True when `as_of` is older than `api.stale_after_minutes`, the last run
    /// failed, or nothing was written yet.
    pub stale: bool,
    /// Why `stale` is true (the first that applies); none when it is false.
    pub stale_reason: Option<StaleReason>,
    /// The latest ingest run, if any.
    pub last_run: Option<RunSummary>,
    /// The weights version that scored the hour shown.
    pub weights_version: Option<String>,
    /// With several FHIR sources (`[sources.<id>]`): where each source of
    /// the wards shown stands; the fields above are then the newest hour,
    /// the oldest write, and stale when any of these is. Empty with the
    /// single `[source]`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<SourceState>,
}

/// One FHIR source's data state (`[sources.<id>]`): its wards are shown at
/// its own hour, so a source whose runs fail leaves only its own wards
/// behind, marked stale.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SourceState {
    /// The source's id.
    pub id: String,
    /// Its newest hour written; none before its first.
    pub hour: Option<DateTime<Utc>>,
    /// When that hour was written.
    pub as_of: Option<DateTime<Utc>>,
    /// As [`DataState::stale`], for this source alone.
    pub stale: bool,
    /// Why.
    pub stale_reason: Option<StaleReason>,
    /// Its latest run.
    pub last_run: Option<RunSummary>,
}

/// Why the data shown is not to be trusted as the current picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StaleReason {
    /// No hour has been written yet.
    NoData,
    /// The latest run failed; the hour shown is the last good one.
    LastRunFailed,
    /// The hour shown was written longer ago than `api.stale_after_minutes`.
    TooOld,
}

/// A run, as screens and the API show it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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

/// Which past hours a ward's expected level is the mean of.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedBasis {
    /// The same local hour of the week over the last 52 weeks (the rule).
    HourOfWeek,
    /// Too few of those yet (a young installation): the same local hour of
    /// the day over the last 28 days.
    HourOfDay,
}

/// One ward on the hospital overview.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
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
    /// Which past hours `expected` is the mean of.
    pub expected_basis: ExpectedBasis,
    /// Lower / as expected / higher / too little data.
    pub indicator: Indicator,
    /// True when the ward's FHIR source (`[sources.<id>]`) is stale: the
    /// ward is shown at its source's last good hour while others moved on.
    /// Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

/// `GET /api/v1/hospital`: every ward at the hour shown.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HospitalOverview {
    /// Data state.
    pub state: DataState,
    /// The hospital's totals.
    pub totals: Totals,
    /// Each ward, ordered by id.
    pub wards: Vec<WardOverview>,
    /// Each configured department (`[departments.<id>]`), ordered by id,
    /// with the sums of its wards; empty when none is configured.
    pub departments: Vec<DepartmentSummary>,
}

/// One department (*verksamhet*) at the hour shown: the sums of its wards.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DepartmentSummary {
    /// Department id (`[departments.<id>]`).
    pub id: String,
    /// Display name (config), else the id.
    pub name: String,
    /// The sums of its wards (`[wards.<id>] department`): in the JSON, its
    /// fields beside `id` and `name`.
    #[serde(flatten)]
    pub sums: WardSums,
}

/// `GET /api/v1/departments/{id}`: one department's wards at the hour shown.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DepartmentOverview {
    /// Data state.
    pub state: DataState,
    /// The department and its sums.
    pub department: DepartmentSummary,
    /// Each of its wards, ordered by id.
    pub wards: Vec<WardOverview>,
}

/// The sums of a group of wards at the hour shown (a region, its wards of
/// no hospital, a department, a hospital): what [`DepartmentSummary`] and
/// [`HospitalSummary`] carry beside their ids.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WardSums {
    /// The wards' ids, ordered.
    pub wards: Vec<String>,
    /// The sums of the wards' patients, points, components and professions.
    pub totals: Totals,
    /// The wards' beds, where known.
    pub beds: Option<u32>,
    /// Patients on wards with known beds ÷ those beds.
    pub occupancy: Option<f64>,
    /// The sum of the wards' expected levels, when every ward has one.
    pub expected: Option<Points>,
    /// The fewest past hours any ward's expected level rests on.
    pub expected_samples: u32,
    /// Lower / as expected / higher / too little data, as for a ward.
    pub indicator: Indicator,
    /// True when some ward's FHIR source is stale ([`WardOverview::stale`]).
    /// Absent when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

/// One hospital (*sjukhus*, `[hospitals.<id>]`) of the region at the hour
/// shown: the sums of its wards (the wards of its departments).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HospitalSummary {
    /// Hospital id (`[hospitals.<id>]`).
    pub id: String,
    /// Display name (config), else the id.
    pub name: String,
    /// Its departments' ids (`[departments.<id>] hospital`), ordered.
    pub departments: Vec<String>,
    /// The sums of its wards (the wards of its departments): in the JSON,
    /// its fields beside `id`, `name` and `departments`.
    #[serde(flatten)]
    pub sums: WardSums,
}

/// `GET /api/v1/region`: every hospital of the region at the hour shown.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RegionOverview {
    /// Data state.
    pub state: DataState,
    /// The region's sums: every ward's.
    pub region: WardSums,
    /// Each configured hospital (`[hospitals.<id>]`), ordered by id, with
    /// the sums of its wards.
    pub hospitals: Vec<HospitalSummary>,
    /// The wards of no hospital (of no department, or of a department of
    /// no hospital), summed as one group; none when every ward has one.
    pub without_hospital: Option<WardSums>,
}

/// `GET /api/v1/hospitals/{id}`: one hospital's wards at the hour shown,
/// grouped under its departments as the hospital overview groups them.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct HospitalView {
    /// Data state.
    pub state: DataState,
    /// The hospital and its sums.
    pub hospital: HospitalSummary,
    /// Each of its wards, ordered by id.
    pub wards: Vec<WardOverview>,
    /// Each of its departments, ordered by id, with the sums of its wards.
    pub departments: Vec<DepartmentSummary>,
}

impl DepartmentOverview {
    /// Every ward the view shows, as a row or in a sum, ordered.
    pub fn shown_wards(&self) -> Vec<String> {
        shown(
            self.department
                .sums
                .wards
                .iter()
                .chain(self.wards.iter().map(|w| &w.id)),
        )
    }
}

impl RegionOverview {
    /// Every ward the view shows, in a sum, ordered.
    pub fn shown_wards(&self) -> Vec<String> {
        shown(
            self.region
                .wards
                .iter()
                .chain(self.hospitals.iter().flat_map(|h| &h.sums.wards))
                .chain(self.without_hospital.iter().flat_map(|s| &s.wards)),
        )
    }
}

impl HospitalView {
    /// Every ward the view shows, as a row or in a sum, ordered.
    pub fn shown_wards(&self) -> Vec<String> {
        shown(
            self.hospital
                .sums
                .wards
                .iter()
                .chain(self.wards.iter().map(|w| &w.id))
                .chain(self.departments.iter().flat_map(|d| &d.sums.wards)),
        )
    }
}

/// `ids` ordered, once each.
fn shown<'a>(ids: impl Iterator<Item = &'a String>) -> Vec<String> {
    ids.cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// A score's colour band on the screen, relative to the hospital's patients
/// at the hour shown (quartiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TeamView {
    /// The team id (`NO_TEAM` when patients have none).
    pub team: String,
    /// Its display name, as every screen shows it ([`crate::App::team_name`]).
    pub name: String,
    /// Its totals.
    pub totals: Totals,
}

/// `GET /api/v1/wards/{id}`: a ward at the hour shown.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
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
#[derive(Clone, Copy, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Point {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// Total points in that hour.
    pub total: Points,
}

/// One line of a graph.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Series {
    /// What it is: `ward`, a team id, or a patient's pseudonym.
    pub name: String,
    /// Hourly points, oldest first; missing hours are absent.
    pub points: Vec<Point>,
}

/// `GET /api/v1/wards/{id}/history`: hourly totals over a range.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
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

/// One entry of `GET /api/v1/wards`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WardSummary {
    /// Ward id.
    pub id: String,
    /// Display name (config), else the id.
    pub name: String,
    /// Configured in `[wards.<id>]`.
    pub configured: bool,
    /// Patients at the hour shown.
    pub patients: u32,
}

/// `GET /api/v1/wards`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WardList {
    /// Data state.
    pub state: DataState,
    /// Every ward, by id.
    pub wards: Vec<WardSummary>,
}

/// One contribution of a patient's score, with the weights-file path of its
/// parameter and the item it came from (by code, never by FHIR reference).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ContributionView {
    /// The component.
    pub component: careload_scoring::Component,
    /// Who performs it.
    pub profession: careload_scoring::snapshot::Profession,
    /// The parameter, structured.
    pub parameter: careload_scoring::score::Parameter,
    /// The parameter's path in the weights file, in words.
    pub parameter_path: String,
    /// The source, structured (kind and index into the snapshot's list).
    pub source: careload_scoring::score::Source,
    /// The item it came from, in words.
    pub item: String,
    /// The item's code, as in the weights file: the activity code, the
    /// medication's route, the order's or care plan's category, the
    /// diagnosis code (ICD-10) or the emotional-support level; none for
    /// NEWS2 and the patient-level items (their parameter says what they are).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The item's due time, when it has one (activities, orders).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// The weight.
    pub weight: Points,
    /// The quantity.
    pub quantity: careload_scoring::Qty,
    /// weight × quantity.
    pub points: Points,
}

/// `GET /api/v1/patients/{key}`: a patient's breakdown at the hour shown and
/// what changed since the previous hour.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PatientDetail {
    /// Data state.
    pub state: DataState,
    /// The hour shown.
    pub hour: DateTime<Utc>,
    /// The ward.
    pub ward: String,
    /// The patient's row as on the ward screen.
    pub patient: PatientRow,
    /// The display name of the patient's team ([`crate::App::team_name`]);
    /// none when the patient has no team.
    pub team_name: Option<String>,
    /// NEWS2 measurements in the 24 hours up to the snapshot.
    pub news2_measurements_24h: u16,
    /// The weights version that scored this hour. Parameter paths are named
    /// under the weights in force; only diagnosis rules (by index) can be
    /// named differently when the two versions differ.
    pub weights_version: Option<String>,
    /// Every contribution; their points sum to the total.
    pub contributions: Vec<ContributionView>,
    /// The previous hour.
    pub previous_hour: DateTime<Utc>,
    /// What changed since then, and why; none when the patient was not in
    /// the previous hour (newly admitted, or the hour is missing).
    pub change: Option<careload_scoring::change::Change>,
}

/// One forecast line.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ForecastSeries {
    /// `ward`, a team id, or a patient's pseudonym.
    pub name: String,
    /// Total points per forecast hour.
    pub totals: Vec<Points>,
}

/// `GET /api/v1/wards/{id}/forecast`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WardForecast {
    /// Ward id.
    pub id: String,
    /// The hour whose snapshots are forecast from.
    pub hour: Option<DateTime<Utc>>,
    /// The weights version used (the one in force).
    pub weights_version: String,
    /// Hour buckets of the forecast: the h-th one-hour window from each
    /// snapshot's time starts in `hours[h]`; the first is the hour shown.
    pub hours: Vec<DateTime<Utc>>,
    /// The ward.
    pub ward: ForecastSeries,
    /// Each team.
    pub teams: Vec<ForecastSeries>,
    /// Each patient.
    pub patients: Vec<ForecastSeries>,
}

/// `GET /api/v1/weights`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WeightsInForce {
    /// Version.
    pub version: String,
    /// File format.
    pub format: u32,
    /// SHA-256 of the file.
    pub digest: String,
    /// First day in force.
    pub effective_from: chrono::NaiveDate,
    /// The council that decided it.
    pub decided_by: String,
    /// Where it was decided.
    pub meeting_reference: String,
    /// The council's notes.
    pub notes: String,
    /// When the store first recorded this version, if it has.
    pub recorded_at: Option<DateTime<Utc>>,
}

/// `/healthz`, `/readyz`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Status {
    /// `ok` or `ready`.
    pub status: String,
}

/// A Location id as shown on the ward's own screen: without the ward's id
/// as prefix (`w01-r03-b2` → `r03-b2`), a lone letter in capitals (`w01-a` →
/// `A`). Ids that do not start with the ward's id are shown whole.
pub fn short_label(id: &str, ward: &str) -> String {
    let rest = id
        .strip_prefix(ward)
        .and_then(|r| r.strip_prefix(['-', '_', '.', '/']))
        .filter(|r| !r.is_empty())
        .unwrap_or(id);
    if rest.len() == 1 && rest.chars().all(|c| c.is_ascii_alphabetic()) {
        rest.to_ascii_uppercase()
    } else {
        rest.to_owned()
    }
}

/// A team's display name, given the name configured for it
/// (`[wards.<ward>.teams]`, [`crate::App::team_name`] looks it up): that
/// name, else `Vårdlag` and the team's [`short_label`] (`w01-b` →
/// `Vårdlag B`); patients without a team (`NO_TEAM`) are `Utan vårdlag`.
pub fn team_name(ward: &str, team: &str, configured: Option<&str>) -> String {
    if team == careload_scoring::aggregate::NO_TEAM {
        return "Utan vårdlag".to_owned();
    }
    match configured {
        Some(name) => name.to_owned(),
        None => format!("Vårdlag {}", short_label(team, ward)),
    }
}

#[cfg(test)]
mod tests {
    use super::team_name;

    #[test]
    fn a_team_is_named_as_configured_else_by_its_short_label() {
        assert_eq!(team_name("w01", "w01-a", Some("Lag Norr")), "Lag Norr");
        assert_eq!(team_name("w01", "w01-b", None), "Vårdlag B");
        assert_eq!(team_name("w01", "team-7", None), "Vårdlag team-7");
        assert_eq!(
            team_name("w01", careload_scoring::aggregate::NO_TEAM, Some("x")),
            "Utan vårdlag"
        );
    }
}
