//! careload's service configuration: built-in defaults, then a TOML file
//! (`config/careload.toml` by convention), then `CARELOAD_*` environment
//! variables, each layer overriding the one before.
//!
//! Every key, its default and its environment variable is listed in
//! [`ENV_KEYS`] and in the README's configuration table. Secrets (API tokens,
//! the FHIR bearer token, the pseudonym key) are never values in the file:
//! the file names the environment variable or file that holds them.
//!
//! Loading never half-succeeds: an unknown key or `CARELOAD_*` variable, a
//! wrong type, a number out of its range, an unknown time zone or a bad
//! shift plan is an [`Error`] naming the file and line or the variable, the
//! key and what to write instead.

mod env;
mod error;
mod origin;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use careload_scoring::shift::{ShiftDef, ShiftPlan};
use careload_scoring::{Points, Qty};
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

pub use env::{ENV_KEYS, EnvKey, OTHER_VARIABLES, markdown_table};
pub use error::{Error, Result};
pub use origin::Origin;
use origin::Origins;

/// The whole service configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where history is stored.
    pub database: DatabaseConfig,
    /// Where FHIR data comes from: the single source of a service that
    /// reads one EHR (its id is `""`). A service with `[sources.<id>]`
    /// leaves this at its defaults.
    pub source: SourceConfig,
    /// Several FHIR sources (issue 29), keyed by id (`[a-z0-9-]`, 1–32
    /// characters): one per hospital or EHR instance, each with every key
    /// `[source]` has, its own run at its own `offset_minutes` and its
    /// wards kept apart by its `ward_prefix`, all written into one store.
    /// Named sources are set in the TOML file only (no environment
    /// variables); when any is set, `[source]` must not be.
    /// [`Config::sources`] lists the sources a service runs.
    pub sources: BTreeMap<String, SourceConfig>,
    /// The built-in simulated hospital (when `source.kind = "sim"`).
    pub sim: SimSection,
    /// When runs happen.
    pub schedule: ScheduleConfig,
    /// Weights, time zone, forecast.
    pub scoring: ScoringConfig,
    /// How long history is kept.
    pub retention: RetentionConfig,
    /// What the service logs.
    pub log: LogConfig,
    /// The HTTP API and screens.
    pub api: ApiConfig,
    /// Next-shift planning: verdict thresholds, team balancing, admissions.
    pub planning: PlanningConfig,
    /// Documentation quality (fill rate): what counts as incomplete.
    pub quality: QualityConfig,
    /// Calibration by the staff's shift ratings (issue 27): the window, the
    /// minimums a ward's optimum must meet, what drives the planning
    /// verdicts, and the bounds of `careload weights fit`.
    pub calibration: CalibrationConfig,
    /// The next shifts' forecast with its uncertainty (issue 28): the risk
    /// of understaffing people are added to reach, the weeks its errors are
    /// learnt from, and whether it learns at all.
    pub forecast: ForecastConfig,
    /// Per-ward settings, keyed by ward id.
    pub wards: BTreeMap<String, WardConfig>,
    /// Departments (*verksamheter*), keyed by id: the level between the
    /// wards and the hospital. A ward names its own (`[wards.<id>]
    /// department`).
    pub departments: BTreeMap<String, DepartmentConfig>,
    /// Hospitals (*sjukhus*) of a region, keyed by id: the level above the
    /// departments. A department names its own (`[departments.<id>]
    /// hospital`); a ward's hospital is its department's.
    pub hospitals: BTreeMap<String, HospitalConfig>,
}

/// `[departments.<id>]`: a department (*verksamhet*), the wards of one
/// clinic between the ward and the hospital.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DepartmentConfig {
    /// Display name (e.g. "Medicinkliniken"); none = the id.
    pub name: Option<String>,
    /// The hospital (`[hospitals.<id>]`) the department belongs to; none =
    /// no hospital (the region overview lists its wards apart).
    pub hospital: Option<String>,
}

/// `[hospitals.<id>]`: one hospital of a region, the departments (and
/// through them the wards) that name it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HospitalConfig {
    /// Display name (e.g. "Akademiska sjukhuset"); none = the id.
    pub name: Option<String>,
}

/// `[planning]`: the numbers staffing assistants and the bed coordinator
/// see before a shift (`careload-planning` documents each one).
///
/// The file's format is this crate's: each table has its own struct here,
/// converted into `careload-planning`'s option types by the application
/// layer (`careload_app::Settings`, whose tests check that the defaults
/// here are the planning crate's), so that renaming a field in
/// `careload-planning` cannot change what the file accepts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PlanningConfig {
    /// `[planning.thresholds]`: the verdict's thresholds, in people.
    pub thresholds: ThresholdsConfig,
    /// `[planning.balance]`: team balancing's defaults (a request may change them).
    pub balance: BalanceConfig,
    /// `[planning.admission]`: the need assumed for the next admission.
    pub admission: AdmissionConfig,
}

/// `[planning.thresholds]`, in people.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdsConfig {
    /// Understaffed when short by more than this many people (default 0.5).
    pub understaffed_people: Qty,
    /// Room to spare when at least this many people more than needed (default 1).
    pub spare_people: Qty,
    /// "Absence need not be replaced" when the need is below planned minus this (default 1).
    pub absence_margin_people: Qty,
}

impl Default for ThresholdsConfig {
    fn default() -> ThresholdsConfig {
        ThresholdsConfig {
            understaffed_people: Qty::from_milli(500),
            spare_people: Qty::ONE,
            absence_margin_people: Qty::ONE,
        }
    }
}

/// `[planning.balance]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BalanceConfig {
    /// At most this many moves (default 3).
    pub max_moves: u32,
    /// Move rooms whole (default true).
    pub keep_rooms_together: bool,
    /// Teams count as balanced when the spread is at most this, in points per staff member (default 2).
    pub tolerance: Points,
    /// May propose one staff move (default false).
    pub allow_staff_move: bool,
}

impl Default for BalanceConfig {
    fn default() -> BalanceConfig {
        BalanceConfig {
            max_moves: 3,
            keep_rooms_together: true,
            tolerance: Points::whole(2),
            allow_staff_move: false,
        }
    }
}

/// `[planning.admission]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdmissionConfig {
    /// USK points per hour (default 1.5).
    pub usk_points_per_hour: Points,
    /// SSK points per hour (default 1.5).
    pub ssk_points_per_hour: Points,
}

impl Default for AdmissionConfig {
    fn default() -> AdmissionConfig {
        AdmissionConfig {
            usk_points_per_hour: Points::from_milli(1500),
            ssk_points_per_hour: Points::from_milli(1500),
        }
    }
}

/// `[calibration]`: the ward's optimal points per person from the staff's
/// own shift ratings (issue 27).
///
/// The minimums mirror `careload_planning::calibration::CalibrationRules`
/// (same names, same defaults; `careload_app::Settings` converts them and
/// its tests check that the defaults here are the planning crate's), so that
/// a rename there cannot change what the file accepts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalibrationConfig {
    /// Weeks of the rolling window the optimum is fitted over (default 8).
    pub window_weeks: i64,
    /// Ratings over staff present, at least (default 0.70, RAFAELA's minimum).
    pub min_response_rate: f64,
    /// Distinct ISO weeks with a rated shift, at least (default 4).
    pub min_weeks: u32,
    /// Rated shifts, at least (default 20).
    pub min_shifts: u32,
    /// R² of the shift means on points per person, at least (default 0.1).
    pub min_r_squared: f64,
    /// The optimum's 95 % interval width over the optimum, at most (default 0.5).
    pub max_relative_width: f64,
    /// Which staff figure drives the planning verdicts (default `staff_hours`).
    pub drives: Drives,
    /// `careload weights fit`: the lowest scale a component may be given (default 0.25).
    pub fit_min_scale: f64,
    /// `careload weights fit`: the highest scale a component may be given (default 4).
    pub fit_max_scale: f64,
}

impl Default for CalibrationConfig {
    fn default() -> CalibrationConfig {
        CalibrationConfig {
            window_weeks: 8,
            min_response_rate: 0.70,
            min_weeks: 4,
            min_shifts: 20,
            min_r_squared: 0.1,
            max_relative_width: 0.5,
            drives: Drives::StaffHours,
            fit_min_scale: 0.25,
            fit_max_scale: 4.0,
        }
    }
}

/// What drives the planning verdicts (`calibration.drives`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Drives {
    /// The council's staff-hour factors of the weights (today's behaviour).
    #[default]
    StaffHours,
    /// The ward's own optimal points per person, when its fit is reliable;
    /// the staff-hour factors otherwise (and the page says so).
    Optimum,
}

impl Drives {
    /// Every value, as written in TOML and the environment.
    pub const ALL: [Drives; 2] = [Drives::StaffHours, Drives::Optimum];

    /// The value as written in TOML and the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            Drives::StaffHours => "staff_hours",
            Drives::Optimum => "optimum",
        }
    }
}

impl std::str::FromStr for Drives {
    type Err = String;

    /// `staff_hours` or `optimum` (surrounding space ignored); anything else
    /// is refused with the allowed values.
    fn from_str(s: &str) -> std::result::Result<Drives, String> {
        Drives::ALL
            .into_iter()
            .find(|d| d.as_str() == s.trim())
            .ok_or_else(|| format!("{s:?} is not what drives the verdicts; write staff_hours or optimum"))
    }
}

impl TryFrom<String> for Drives {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<Drives, String> {
        s.parse()
    }
}

impl CalibrationConfig {
    /// Checks the window, each minimum and the fit's bounds.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key.
    pub fn validate(&self) -> Result<()> {
        range("calibration.window_weeks", self.window_weeks, 1, 52, "weeks", 8)?;
        range("calibration.min_weeks", self.min_weeks, 0, 52, "weeks", 4)?;
        range("calibration.min_shifts", self.min_shifts, 0, 10_000, "rated shifts", 20)?;
        for (key, value, lo, hi, what, example) in [
            (
                "calibration.min_response_rate",
                self.min_response_rate,
                0.0,
                1.0,
                "(a share: 0.7 is 70 %)",
                "0.7",
            ),
            (
                "calibration.min_r_squared",
                self.min_r_squared,
                0.0,
                1.0,
                "(a share of the variation)",
                "0.1",
            ),
            (
                "calibration.max_relative_width",
                self.max_relative_width,
                0.0,
                10.0,
                "(the interval's width over the optimum)",
                "0.5",
            ),
            (
                "calibration.fit_min_scale",
                self.fit_min_scale,
                0.0,
                1.0,
                "(times the weights in force)",
                "0.25",
            ),
            (
                "calibration.fit_max_scale",
                self.fit_max_scale,
                1.0,
                100.0,
                "(times the weights in force)",
                "4",
            ),
        ] {
            float_range(key, value, lo, hi, what, example)?;
        }
        Ok(())
    }
}

/// `[forecast]`: the next shifts' forecast as P10/P50/P90 with a risk of
/// understaffing (issue 28; the method is
/// `careload_planning::uncertainty`'s).
///
/// The defaults mirror the planning crate's `DEFAULT_RISK_LEVEL` and the
/// application layer's eight weeks of history (`careload_app::Settings`
/// converts them and its tests check that they agree), so that a rename
/// there cannot change what the file accepts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ForecastConfig {
    /// The risk of understaffing people are added to reach ("+1 USK ger
    /// 12 %"), a probability (default 0.2, 20 %).
    pub risk_level: f64,
    /// Weeks of stored hours the forecast's errors are learnt from (default 8).
    pub history_weeks: i64,
    /// False shows the scheduled forecast alone, learning nothing, and says
    /// so (default true).
    pub enabled: bool,
}

impl Default for ForecastConfig {
    fn default() -> ForecastConfig {
        ForecastConfig {
            risk_level: 0.2,
            history_weeks: 8,
            enabled: true,
        }
    }
}

impl ForecastConfig {
    /// Checks the risk level and the weeks of history.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key.
    pub fn validate(&self) -> Result<()> {
        float_range(
            "forecast.risk_level",
            self.risk_level,
            0.01,
            0.5,
            "(a probability: 0.2 is 20 %)",
            "0.2",
        )?;
        range("forecast.history_weeks", self.history_weeks, 4, 26, "weeks", 8)
    }
}

/// A decimal within `lo..=hi` (and a number at all), or [`Error::Invalid`]
/// stating the range and an example.
fn float_range(key: &str, value: f64, lo: f64, hi: f64, what: &str, example: &str) -> Result<()> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        return Ok(());
    }
    Err(invalid(
        key,
        &format!("{value} is out of range; write {lo}–{hi} {what}, e.g. {example}"),
    ))
}

/// `[quality]`: what the documentation-quality indicator counts as
/// incomplete (`careload_scoring::quality` documents each flag).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityConfig {
    /// A Norton assessment older than this many days counts as stale.
    pub norton_max_age_days: u32,
    /// Activity codes that say nothing specific.
    pub generic_codes: Vec<String>,
    /// Hours after admission from which thin documentation counts.
    pub thin_after_hours: u32,
}

impl Default for QualityConfig {
    fn default() -> QualityConfig {
        let d = careload_scoring::quality::QualityRules::default();
        QualityConfig {
            norton_max_age_days: d.norton_max_age_days,
            generic_codes: d.generic_codes,
            thin_after_hours: d.thin_after_hours,
        }
    }
}

/// `[database]`. Its `Debug` shows the URL without its password.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://careload.db` (the default: a file beside the working
    /// directory) or `postgres://user@host/db`.
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://careload.db".into(),
        }
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redacted_url(&self.url))
            .finish()
    }
}

/// A database URL fit for a message or a log: its password (and any
/// `password=` query parameter) replaced by `***`.
pub fn redacted_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (url, None),
    };
    let mut out = match head.split_once("://") {
        Some((scheme, rest)) => {
            // userinfo ends at the last '@' before the path
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((userinfo, host)) => {
                    let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
                    let hidden = if userinfo.contains(':') { ":***" } else { "" };
                    format!("{scheme}://{user}{hidden}@{host}{path}")
                }
                None => head.to_owned(),
            }
        }
        None => head.to_owned(),
    };
    if let Some(q) = query {
        let params: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => p.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&params.join("&"));
    }
    out
}

/// What kind of FHIR source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// The built-in simulated hospital, served over HTTP on loopback and
    /// fetched like any FHIR server.
    #[default]
    Sim,
    /// A FHIR R4 server's REST API at `source.url`.
    Fhir,
    /// Bulk Data NDJSON files (or one Bundle) at `source.path`.
    Files,
    /// FHIR Bulk Data `$export` from the server at `source.url`.
    Bulk,
}

/// The level of a Bulk Data `$export` (`source.bulk_level`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum BulkLevel {
    /// `[base]/$export`.
    #[default]
    System,
    /// `[base]/Patient/$export`.
    Patient,
    /// `[base]/Group/[source.bulk_group]/$export`.
    Group,
}

impl BulkLevel {
    /// Every level, as written in TOML and the environment.
    pub const ALL: [BulkLevel; 3] = [BulkLevel::System, BulkLevel::Patient, BulkLevel::Group];

    /// The level as written in TOML and the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkLevel::System => "system",
            BulkLevel::Patient => "patient",
            BulkLevel::Group => "group",
        }
    }
}

impl std::str::FromStr for BulkLevel {
    type Err = String;

    /// `system`, `patient` or `group` (surrounding space ignored); anything
    /// else is refused with the allowed values.
    fn from_str(s: &str) -> std::result::Result<BulkLevel, String> {
        BulkLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s.trim())
            .ok_or_else(|| format!("{s:?} is not a Bulk Data level; write system, patient or group"))
    }
}

impl TryFrom<String> for BulkLevel {
    type Error = String;

    fn try_from(s: String) -> std::result::Result<BulkLevel, String> {
        s.parse()
    }
}

/// `[source]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// `sim`, `fhir`, `bulk` or `files`.
    pub kind: SourceKind,
    /// FHIR base URL (kind = fhir).
    pub url: String,
    /// NDJSON directory or Bundle file (kind = files).
    pub path: PathBuf,
    /// Name of the environment variable holding a static bearer token.
    pub token_env: Option<String>,
    /// Ward ids to fetch; empty = every ward the server has.
    pub wards: Vec<String>,
    /// `_count` per search page.
    pub page_size: u32,
    /// Per-request timeout, seconds.
    pub request_timeout_secs: u64,
    /// Whole-run deadline, seconds.
    pub run_deadline_secs: u64,
    /// Retries per request on 429/502/503/504 and connection errors.
    pub max_retries: u32,
    /// Searches in flight at once.
    pub concurrency: usize,
    /// Origins besides `url`'s that `next` links may lead to with the token
    /// (a proxy, another host name of the same server), as `scheme://host[:port]`.
    pub trusted_origins: Vec<String>,
    /// How far before the FHIR server's own time at the start of a fetch the
    /// next incremental fetch begins, seconds.
    pub since_margin_secs: u64,
    /// A region's code mapping (TOML); none = the built-in defaults.
    pub mapping: Option<PathBuf>,
    /// Name of the environment variable holding the pseudonym key.
    pub pseudonym_key_env: String,
    /// Accept the public development pseudonym key with a source of real
    /// patients (a test system only: its pseudonyms can be reversed).
    pub insecure_dev_key: bool,
    /// kind = bulk: `system` (`[base]/$export`), `patient`
    /// (`[base]/Patient/$export`) or `group` (`[base]/Group/[bulk_group]/$export`).
    pub bulk_level: BulkLevel,
    /// kind = bulk, level group: the Group id.
    pub bulk_group: String,
    /// kind = bulk: seconds between status polls when the server sends no `Retry-After`.
    pub bulk_poll_secs: u64,
    /// SMART Backend Services: the client id (none = no SMART auth).
    pub smart_client_id: Option<String>,
    /// SMART: a PEM file holding the private key.
    pub smart_key_file: Option<PathBuf>,
    /// SMART: name of the environment variable holding the private key (PEM).
    pub smart_key_env: Option<String>,
    /// SMART: `RS384` or `ES384`.
    pub smart_algorithm: String,
    /// SMART: the key id (`kid`) registered with the server.
    pub smart_key_id: String,
    /// SMART: the scopes asked for.
    pub smart_scope: String,
    /// SMART: the token endpoint; none = discovered from `.well-known/smart-configuration`.
    pub smart_token_url: Option<String>,
    /// An extra CA certificate file (PEM) trusted for https besides the
    /// system's roots (a hospital-internal CA).
    pub ca_file: Option<PathBuf>,
    /// Minutes after the schedule's firing at which this source's hourly
    /// run fires, 0–59 (sources of one service can be spread over the hour).
    pub offset_minutes: u32,
    /// Prepended to every ward id this source's mapping produces (e.g.
    /// `"nord-"`: the EHR's ward `AVD1` is stored, configured and served as
    /// `nord-AVD1`), so that two EHRs' wards of one name stay apart.
    pub ward_prefix: String,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            kind: SourceKind::Sim,
            url: String::new(),
            path: PathBuf::new(),
            token_env: None,
            wards: Vec::new(),
            page_size: 500,
            request_timeout_secs: 30,
            run_deadline_secs: 600,
            max_retries: 4,
            concurrency: 4,
            trusted_origins: Vec::new(),
            since_margin_secs: 300,
            mapping: None,
            pseudonym_key_env: "CARELOAD_PSEUDONYM_KEY".into(),
            insecure_dev_key: false,
            bulk_level: BulkLevel::System,
            bulk_group: String::new(),
            bulk_poll_secs: 2,
            smart_client_id: None,
            smart_key_file: None,
            smart_key_env: None,
            smart_algorithm: "RS384".into(),
            smart_key_id: String::new(),
            smart_scope: "system/*.rs".into(),
            smart_token_url: None,
            ca_file: None,
            offset_minutes: 0,
            ward_prefix: String::new(),
        }
    }
}

/// `[sim]`: the built-in simulated hospital.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimSection {
    /// Beds in total, 24–100,000, at least 4 per ward.
    pub beds: u32,
    /// Wards, 1–25,000 (none = one per 30 beds, at least 6).
    pub wards: Option<u32>,
    /// The seed: the same seed gives the same hospital.
    pub seed: u64,
    /// Where its FHIR API listens (port 0 = any free port).
    pub listen: String,
}

impl Default for SimSection {
    fn default() -> Self {
        SimSection {
            beds: 150,
            wards: None,
            seed: 1,
            listen: "127.0.0.1:0".into(),
        }
    }
}

/// `[schedule]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    /// Minute past each hour at which the hourly run starts (a shorthand
    /// for the cron expression `"<minute> * * * *"`).
    pub minute: u32,
    /// A 5-field cron expression (minute hour day-of-month month
    /// day-of-week), evaluated in `scoring.time_zone`; when set it replaces
    /// `minute` (which must then stay at its default).
    pub cron: Option<String>,
    /// Local hour of the nightly full resync.
    pub resync_hour: u32,
    /// Hours of history to back-fill at start when the store is empty
    /// (only possible with the simulated hospital).
    pub backfill_hours: u32,
    /// The runs' CPU priority below the API's, as a Unix nice value
    /// (0–19; 0 = the same): the threads that fetch, map, score and write
    /// yield the cores to the threads that serve the screens, so a run
    /// never shows in a screen's latency. Linux only; elsewhere ignored.
    pub run_nice: u8,
}

impl ScheduleConfig {
    /// The effective cron expression: `cron`, or `"<minute> * * * *"`.
    pub fn cron_expression(&self) -> String {
        match &self.cron {
            Some(c) => c.trim().to_owned(),
            None => format!("{} * * * *", self.minute),
        }
    }

    /// The parsed schedule.
    ///
    /// # Errors
    /// [`Error::Invalid`] on an expression that is not a 5-field cron
    /// expression, or `minute` changed from its default while `cron` is set.
    pub fn parse_cron(&self) -> Result<croner::Cron> {
        if self.cron.is_some() && self.minute != ScheduleConfig::default().minute {
            return Err(invalid(
                "schedule.cron",
                "both schedule.cron and schedule.minute are set; set one (minute = M is the cron \"M * * * *\")",
            ));
        }
        let expr = self.cron_expression();
        let fields = expr.split_whitespace().count();
        let key = if self.cron.is_some() {
            "schedule.cron"
        } else {
            "schedule.minute"
        };
        if fields != 5 {
            return Err(invalid(
                key,
                &format!(
                    "{expr:?} has {fields} fields; write 5: minute hour day-of-month month day-of-week, e.g. \"5 * * * *\" (5 past every hour)"
                ),
            ));
        }
        expr.parse::<croner::Cron>().map_err(|e| {
            invalid(
                key,
                &format!(
                    "{expr:?} is not a cron expression ({e}); write minute hour day-of-month month day-of-week, e.g. \"5 * * * *\""
                ),
            )
        })
    }
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            minute: 5,
            cron: None,
            resync_hour: 3,
            backfill_hours: 0,
            run_nice: 10,
        }
    }
}

/// `[scoring]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// The weights file in force; none = the built-in `weights/2026.1.toml`.
    pub weights: Option<PathBuf>,
    /// The hospital's time zone (IANA name), for shifts and hour-of-week.
    pub time_zone: String,
    /// Hours of forecast.
    pub forecast_hours: u32,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        ScoringConfig {
            weights: None,
            time_zone: "Europe/Stockholm".into(),
            forecast_hours: 8,
        }
    }
}

impl ScoringConfig {
    /// The time zone.
    ///
    /// # Errors
    /// [`Error::Invalid`] when it is not an IANA name.
    pub fn tz(&self) -> Result<chrono_tz::Tz> {
        self.time_zone.parse::<chrono_tz::Tz>().map_err(|_| Error::Invalid {
            key: "scoring.time_zone".into(),
            message: format!(
                "{:?} is not an IANA time zone; write e.g. \"Europe/Stockholm\"",
                self.time_zone
            ),
        })
    }
}

/// `[retention]`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days of hourly history kept; 0 = keep everything.
    pub days: u32,
}

/// `[log]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// The level logged to standard error: `error`, `warn`, `info`, `debug`,
    /// `trace` or `off`, or per crate as `RUST_LOG` takes it
    /// (`info,careload_runner=debug`). `RUST_LOG`, when set, wins.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { level: "info".into() }
    }
}

/// The levels `log.level` takes, alone or after `target=`.
const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

impl LogConfig {
    /// Checks `level`: comma-separated, each a level or `target=level`
    /// (a target is a Rust path such as `careload_runner` or
    /// `careload_ingest::source`).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `log.level`.
    pub fn validate(&self) -> Result<()> {
        let good_level = |l: &str| LOG_LEVELS.iter().any(|g| g.eq_ignore_ascii_case(l.trim()));
        let good_target = |t: &str| {
            let t = t.trim();
            !t.is_empty()
                && t.split("::").all(|part| {
                    !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
        };
        let good = |directive: &str| match directive.split_once('=') {
            Some((target, level)) => good_target(target) && good_level(level),
            None => good_level(directive),
        };
        if self.level.split(',').all(good) {
            return Ok(());
        }
        Err(invalid(
            "log.level",
            &format!(
                "{:?} is not a log level; write error, warn, info, debug, trace or off, \
                 or levels per crate as RUST_LOG takes them, e.g. \"info,careload_runner=debug\"",
                self.level
            ),
        ))
    }
}

/// A role an API token grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Ward screens: read one or more wards.
    Screen,
    /// Staffing assistants and shift leaders: read every ward, plan.
    Staffing,
    /// Controllers: read and export.
    Controller,
    /// Administrators: weights, runs, audit.
    Admin,
    /// The staff's shift ratings (issue 27): rate the shifts of one or more
    /// wards, on a phone or the ward's screen, and read nothing.
    Rater,
}

/// `[[api.tokens]]`: one API token. The secret itself is in an environment
/// variable or a file, never in the config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// A name for logs and the audit log (never the secret).
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// For `screen` tokens: the wards it may read; for `rater` tokens: the
    /// wards whose shifts it may rate (empty = none).
    #[serde(default)]
    pub wards: Vec<String>,
    /// For `screen` and `rater` tokens: departments whose every ward it may
    /// read (or rate) as if listed in `wards` (`[departments.<id>]`).
    #[serde(default)]
    pub departments: Vec<String>,
    /// For `screen` and `rater` tokens: hospitals whose every ward (every
    /// ward of their departments) it may read or rate as if listed in
    /// `wards` (`[hospitals.<id>]`).
    #[serde(default)]
    pub hospitals: Vec<String>,
    /// Environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// File holding the secret (first line).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

/// `[api]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Listen address.
    pub listen: String,
    /// No tokens: every route readable by anyone who can reach it. Refused
    /// unless `listen` is a loopback address. For the demo.
    pub open: bool,
    /// Tokens.
    pub tokens: Vec<TokenConfig>,
    /// Data older than this many minutes is flagged stale.
    pub stale_after_minutes: u32,
    /// Longest history range one request may ask for, days.
    pub max_range_days: u32,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Requests per minute per client address; 0 = unlimited.
    pub rate_limit_per_minute: u32,
    /// Origins allowed by CORS; empty = CORS off.
    pub cors_origins: Vec<String>,
    /// Worker threads of the API's own async runtime, apart from the hourly
    /// runs' (1–64). One serves ~50,000 cached pages a second with a tight
    /// tail on two cores; more only on machines with cores to spare.
    pub worker_threads: usize,
    /// Most connections open at once (16–100,000); one more is closed as it
    /// comes, so sockets never run out for the store and the EHR. Capped at
    /// start below the process's file-descriptor limit.
    pub max_connections: usize,
    /// Seconds a connection may take to send a request's headers, and may
    /// stay idle between requests (1–300): a client that opens a connection
    /// and sends nothing, or half a request, is cut off then.
    pub header_read_timeout_secs: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: "127.0.0.1:8080".into(),
            open: false,
            tokens: Vec::new(),
            stale_after_minutes: 90,
            max_range_days: 400,
            max_body_bytes: 64 * 1024,
            rate_limit_per_minute: 6000,
            cors_origins: Vec::new(),
            worker_threads: 1,
            max_connections: 1000,
            header_read_timeout_secs: 10,
        }
    }
}

/// `[wards.<id>]`: one ward's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WardConfig {
    /// Display name (e.g. "Avd 7 Medicin"); none = the id.
    pub name: Option<String>,
    /// Care category: a `[staff_hours.<category>]` of the weights (e.g. `general`,
    /// `intermediate`, `geriatric`); none = `general`.
    pub care_category: Option<String>,
    /// Beds, for occupancy, 1–1,000; none = what the Location tree has.
    pub beds: Option<u32>,
    /// Shifts: name → local start `HH:MM`; none = day 07:00, evening 15:00, night 21:00.
    pub shifts: BTreeMap<String, String>,
    /// Rooms → team, when the Location tree has no team level.
    pub rooms: BTreeMap<String, String>,
    /// Team id → display name (e.g. `"w01-a" = "Lag A"`), shown in exports and
    /// accepted in a staffing plan in place of the id; none = the id.
    pub teams: BTreeMap<String, String>,
    /// The department (`[departments.<id>]`) the ward belongs to; none = no
    /// department (the hospital overview lists it apart).
    pub department: Option<String>,
}

impl WardConfig {
    /// The display name of team `team` on this ward, if one is configured.
    pub fn team_name(&self, team: &str) -> Option<&str> {
        self.teams.get(team).map(String::as_str)
    }

    /// The ward's shift plan.
    ///
    /// # Errors
    /// [`Error::Invalid`] on a time that is not `HH:MM` or a plan the scoring core refuses.
    pub fn shift_plan(&self, ward: &str) -> Result<ShiftPlan> {
        if self.shifts.is_empty() {
            return Ok(ShiftPlan::default());
        }
        let key = format!("wards.{ward}.shifts");
        let mut defs = Vec::with_capacity(self.shifts.len());
        for (name, start) in &self.shifts {
            let start = NaiveTime::parse_from_str(start, "%H:%M").map_err(|_| Error::Invalid {
                key: format!("{key}.{name}"),
                message: format!("{start:?} is not a time; write HH:MM, e.g. \"07:00\""),
            })?;
            defs.push(ShiftDef {
                name: name.clone(),
                start,
            });
        }
        ShiftPlan::new(defs).map_err(|e| Error::Invalid {
            key,
            message: e.to_string(),
        })
    }
}

impl Config {
    /// Defaults, then the file (if given), then the process environment.
    ///
    /// # Errors
    /// The file cannot be read or parsed, a variable cannot be parsed or is
    /// a `CARELOAD_*` variable careload does not read, or the result is not
    /// valid (see [`Config::validate`]): [`Error::InvalidAt`] with the file
    /// and line, or the variable, that set the value.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        Config::load_with(file, std::env::vars_os())
    }

    /// As [`Config::load`], with the environment given as `(name, value)`
    /// pairs (all of them: the unknown `CARELOAD_*` ones are refused).
    ///
    /// # Errors
    /// As [`Config::load`].
    pub fn load_with<K, V>(file: Option<&Path>, vars: impl IntoIterator<Item = (K, V)>) -> Result<Config>
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let mut origins = Origins::default();
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let name = path.display().to_string();
                let config = Config::from_toml(&text, &name)?;
                origins.record_file(&text, &name);
                config
            }
            None => Config::default(),
        };
        // careload's variables only: others may hold anything, in any encoding
        let mut ours: BTreeMap<String, OsString> = BTreeMap::new();
        for (name, value) in vars {
            let (name, value) = (name.into(), value.into());
            let name = name.to_string_lossy().into_owned();
            if env::is_careload(&name) {
                ours.insert(name, value);
            }
        }
        if let Some(k) = ENV_KEYS
            .iter()
            .find(|k| ours.get(k.name).is_some_and(|v| v.to_str().is_none()))
        {
            return Err(Error::Env {
                name: k.name.to_owned(),
                message: "the value is not UTF-8 text; write it in UTF-8".to_owned(),
            });
        }
        env::apply(
            &mut config,
            |name| ours.get(name).and_then(|v| v.to_str()).map(str::to_owned),
            |k| origins.record_env(k.key, k.name),
        )?;
        config.refuse_unknown_env(ours.keys())?;
        if !config.sources.is_empty()
            && let Some((key, origin)) = origins.first_under("source")
        {
            return Err(Error::InvalidAt {
                key,
                origin,
                message: SOURCE_AND_SOURCES.to_owned(),
            });
        }
        config.validate().map_err(|e| origins.locate(e))?;
        Ok(config)
    }

    /// Refuses the first of `names` that starts with `CARELOAD_` (in any
    /// case) but is no variable careload reads: not a key's ([`ENV_KEYS`]),
    /// not one of [`OTHER_VARIABLES`], not one this configuration names for
    /// a secret. [`Config::load`] calls it with every variable's name;
    /// callers that build a configuration with [`Config::apply_env`] call it
    /// themselves once the configuration is complete, e.g. with
    /// `std::env::vars_os().map(|(name, _)| name.to_string_lossy().into_owned())`.
    ///
    /// # Errors
    /// [`Error::UnknownEnv`] with the nearest known variable, if one is near.
    pub fn refuse_unknown_env<N: AsRef<str>>(&self, names: impl IntoIterator<Item = N>) -> Result<()> {
        env::refuse_unknown(self, names)
    }

    /// Parses TOML over the defaults; `origin` names the file in errors.
    ///
    /// # Errors
    /// [`Error::Parse`] with the line and column.
    pub fn from_toml(text: &str, origin: &str) -> Result<Config> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Error::Parse {
                origin: origin.to_owned(),
                line,
                col,
                message: e.message().to_owned(),
            }
        })
    }

    /// Applies `CARELOAD_*` overrides read through `get` (the process
    /// environment in [`Config::load`]; a map in tests).
    ///
    /// # Errors
    /// [`Error::Env`] when a value cannot be parsed.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<()> {
        env::apply(self, get, |_| {})
    }

    /// Checks what serde cannot: every number within its range (stated in
    /// its [`ENV_KEYS`] doc), the time zone, the schedule, shift plans, the
    /// open API only on loopback, tokens with exactly one secret source and
    /// no name or secret source shared.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key.
    pub fn validate(&self) -> Result<()> {
        self.scoring.tz()?;
        range(
            "scoring.forecast_hours",
            self.scoring.forecast_hours,
            1,
            168,
            "hours",
            8,
        )?;
        for (id, department) in &self.departments {
            if department.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
                return Err(invalid(
                    &format!("departments.{id}.name"),
                    "a department's display name is empty; write one, e.g. \"Medicinkliniken\", or leave name out",
                ));
            }
        }
        for (id, hospital) in &self.hospitals {
            if hospital.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
                return Err(invalid(
                    &format!("hospitals.{id}.name"),
                    "a hospital's display name is empty; write one, e.g. \"Akademiska sjukhuset\", or leave name out",
                ));
            }
        }
        for (id, department) in &self.departments {
            if let Some(hospital) = &department.hospital
                && !self.hospitals.contains_key(hospital)
            {
                return Err(invalid(
                    &format!("departments.{id}.hospital"),
                    &format!(
                        "hospital {hospital:?} is not declared; add [hospitals.{hospital}] with its name, or one of: {}",
                        known(self.hospitals.keys())
                    ),
                ));
            }
        }
        for (id, ward) in &self.wards {
            if let Some(beds) = ward.beds {
                range(&format!("wards.{id}.beds"), beds, 1, 1000, "beds", 24)?;
            }
            if let Some(department) = &ward.department
                && !self.departments.contains_key(department)
            {
                return Err(invalid(
                    &format!("wards.{id}.department"),
                    &format!(
                        "department {department:?} is not declared; add [departments.{department}] with its name, or one of: {}",
                        known(self.departments.keys())
                    ),
                ));
            }
            ward.shift_plan(id)?;
            let mut names: BTreeMap<String, &str> = BTreeMap::new();
            for (team, name) in &ward.teams {
                let key = format!("wards.{id}.teams.{team}");
                if name.trim().is_empty() {
                    return Err(Error::Invalid {
                        key,
                        message: "a team's display name is empty; write one, e.g. \"Lag A\", or leave the team out"
                            .into(),
                    });
                }
                if let Some(other) = names.insert(name.trim().to_lowercase(), team) {
                    return Err(Error::Invalid {
                        key,
                        message: format!(
                            "team {other:?} already has the display name {name:?}: a staffing plan naming it could not tell them apart"
                        ),
                    });
                }
            }
        }
        self.sim.validate()?;
        let t = &self.planning.thresholds;
        for (key, v) in [
            ("planning.thresholds.understaffed_people", t.understaffed_people),
            ("planning.thresholds.spare_people", t.spare_people),
            ("planning.thresholds.absence_margin_people", t.absence_margin_people),
        ] {
            decimal_range(key, v.milli(), 20, "people", "0.5")?;
        }
        let b = &self.planning.balance;
        range("planning.balance.max_moves", b.max_moves, 0, 20, "moves", 3)?;
        decimal_range(
            "planning.balance.tolerance",
            b.tolerance.milli(),
            100,
            "points per staff member",
            "2",
        )?;
        let a = &self.planning.admission;
        for (key, v) in [
            ("planning.admission.usk_points_per_hour", a.usk_points_per_hour),
            ("planning.admission.ssk_points_per_hour", a.ssk_points_per_hour),
        ] {
            decimal_range(key, v.milli(), 100, "points per hour", "1.5")?;
        }
        let q = &self.quality;
        range("quality.norton_max_age_days", q.norton_max_age_days, 1, 365, "days", 7)?;
        range("quality.thin_after_hours", q.thin_after_hours, 0, 336, "hours", 24)?;
        let s = &self.schedule;
        range("schedule.minute", s.minute, 0, 59, "minutes past the hour", 5)?;
        s.parse_cron()?;
        range("schedule.resync_hour", s.resync_hour, 0, 23, "(a local hour)", 3)?;
        range("schedule.backfill_hours", s.backfill_hours, 0, 87_840, "hours", 120)?;
        range(
            "schedule.run_nice",
            s.run_nice,
            0,
            19,
            "(a Unix nice value; 0 = the API's priority)",
            10,
        )?;
        if self.retention.days != 0 {
            range(
                "retention.days",
                self.retention.days,
                7,
                36_500,
                "days (or 0 = keep everything; fewer than 7 would empty the ward screens' 5-day history)",
                400,
            )?;
        }
        self.validate_sources()?;
        self.log.validate()?;
        self.api.validate()?;
        self.calibration.validate()?;
        self.forecast.validate()?;
        self.validate_tokens()
    }

    /// Every token: a name, exactly one secret source, wards for a screen,
    /// and no name or secret source another token (or the source) has.
    fn validate_tokens(&self) -> Result<()> {
        let mut names = BTreeMap::new();
        let mut envs = BTreeMap::new();
        let mut files = BTreeMap::new();
        let not_tokens: BTreeSet<&str> = self
            .sources()
            .into_iter()
            .flat_map(|(_, s)| {
                [
                    Some(&s.pseudonym_key_env),
                    s.token_env.as_ref(),
                    s.smart_key_env.as_ref(),
                ]
            })
            .flatten()
            .map(String::as_str)
            .collect();
        for (i, t) in self.api.tokens.iter().enumerate() {
            let key = format!("api.tokens[{i}]");
            if t.name.trim().is_empty() {
                return Err(invalid(
                    &key,
                    "a token needs a name (used in logs instead of the secret), e.g. name = \"ward-7-screen\"",
                ));
            }
            if t.secret_env.is_some() == t.secret_file.is_some() {
                return Err(invalid(
                    &key,
                    &format!("token {:?}: set exactly one of secret_env or secret_file", t.name),
                ));
            }
            if matches!(t.role, Role::Screen | Role::Rater)
                && t.wards.is_empty()
                && t.departments.is_empty()
                && t.hospitals.is_empty()
            {
                let role = if t.role == Role::Screen { "screen" } else { "rater" };
                return Err(invalid(
                    &key,
                    &format!(
                        "{role} token {:?} lists no wards; add wards = [\"…\"], departments = [\"…\"] or hospitals = [\"…\"]",
                        t.name
                    ),
                ));
            }
            if let Some(unknown) = t.hospitals.iter().find(|h| !self.hospitals.contains_key(*h)) {
                return Err(invalid(
                    &key,
                    &format!(
                        "token {:?}: hospital {unknown:?} is not declared; one of: {}",
                        t.name,
                        known(self.hospitals.keys())
                    ),
                ));
            }
            if let Some(unknown) = t.departments.iter().find(|d| !self.departments.contains_key(*d)) {
                return Err(invalid(
                    &key,
                    &format!(
                        "token {:?}: department {unknown:?} is not declared; one of: {}",
                        t.name,
                        known(self.departments.keys())
                    ),
                ));
            }
            if matches!(t.role, Role::Screen | Role::Rater) {
                self.validate_token_scope(t, &key)?;
            }
            if let Some(first) = names.insert(t.name.trim(), i) {
                return Err(invalid(
                    &key,
                    &format!(
                        "token name {:?} is also api.tokens[{first}]'s; give each token a name of its own (the audit log tells them apart by it)",
                        t.name
                    ),
                ));
            }
            if let Some(var) = &t.secret_env {
                if let Some(first) = envs.insert(var.as_str(), i) {
                    return Err(invalid(
                        &key,
                        &format!(
                            "token {:?}: secret_env {var:?} is also api.tokens[{first}]'s; give each token a secret of its own",
                            t.name
                        ),
                    ));
                }
                if not_tokens.contains(var.as_str()) {
                    return Err(invalid(
                        &key,
                        &format!(
                            "token {:?}: secret_env {var:?} holds one of the source's secrets (source.pseudonym_key_env, token_env or smart_key_env); give the token a secret of its own",
                            t.name
                        ),
                    ));
                }
            }
            if let Some(file) = &t.secret_file
                && let Some(first) = files.insert(file.as_path(), i)
            {
                return Err(invalid(
                    &key,
                    &format!(
                        "token {:?}: secret_file {} is also api.tokens[{first}]'s; give each token a secret of its own",
                        t.name,
                        file.display()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl Config {
    /// A ward-scoped token's departments and hospitals each cover a ward:
    /// one that covers none would add nothing to the token, and a token of
    /// such alone would be refused everywhere.
    fn validate_token_scope(&self, t: &TokenConfig, key: &str) -> Result<()> {
        let role = if t.role == Role::Screen { "screen" } else { "rater" };
        for d in &t.departments {
            if self.department_wards(d).is_empty() {
                return Err(invalid(
                    key,
                    &format!(
                        "{role} token {:?}: department {d:?} covers no ward: no ward names it \
                         ([wards.<id>] department = {d:?}); name it in a ward, or list wards instead",
                        t.name
                    ),
                ));
            }
        }
        for h in &t.hospitals {
            if !self.hospital_wards(h).is_empty() {
                continue;
            }
            let departments = self.hospital_departments(h);
            let why = if departments.is_empty() {
                format!("no department names it ([departments.<id>] hospital = {h:?})")
            } else {
                format!(
                    "no ward names its departments ({}) ([wards.<id>] department)",
                    departments.join(", ")
                )
            };
            return Err(invalid(
                key,
                &format!(
                    "{role} token {:?}: hospital {h:?} covers no ward: {why}; give it a department with wards, \
                     or list wards instead",
                    t.name
                ),
            ));
        }
        Ok(())
    }
}

/// Declared ids for a message: `a, b, c`, or `none declared`.
fn known<'a>(ids: impl Iterator<Item = &'a String>) -> String {
    let ids: Vec<&str> = ids.map(String::as_str).collect();
    if ids.is_empty() {
        "none declared".to_owned()
    } else {
        ids.join(", ")
    }
}

impl Config {
    /// The department `ward` belongs to (`[wards.<id>] department`).
    pub fn department_of(&self, ward: &str) -> Option<&str> {
        self.wards.get(ward).and_then(|w| w.department.as_deref())
    }

    /// The configured wards of `department`, by id.
    pub fn department_wards(&self, department: &str) -> Vec<String> {
        self.wards
            .iter()
            .filter(|(_, w)| w.department.as_deref() == Some(department))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// A department's display name: `[departments.<id>] name`, else the id.
    pub fn department_name(&self, department: &str) -> String {
        self.departments
            .get(department)
            .and_then(|d| d.name.clone())
            .unwrap_or_else(|| department.to_owned())
    }

    /// The hospital `ward` belongs to: its department's
    /// (`[departments.<id>] hospital`); none for a ward of no department
    /// or of a department of no hospital.
    pub fn hospital_of(&self, ward: &str) -> Option<&str> {
        self.department_of(ward)
            .and_then(|d| self.departments.get(d))
            .and_then(|d| d.hospital.as_deref())
    }

    /// The configured departments of `hospital`, by id.
    pub fn hospital_departments(&self, hospital: &str) -> Vec<String> {
        self.departments
            .iter()
            .filter(|(_, d)| d.hospital.as_deref() == Some(hospital))
            .map(|(id, _)| id.clone())
            .collect()
    }

    /// The configured wards of `hospital` (the wards of its departments), by id.
    pub fn hospital_wards(&self, hospital: &str) -> Vec<String> {
        self.wards
            .keys()
            .filter(|id| self.hospital_of(id) == Some(hospital))
            .cloned()
            .collect()
    }

    /// A hospital's display name: `[hospitals.<id>] name`, else the id.
    pub fn hospital_name(&self, hospital: &str) -> String {
        self.hospitals
            .get(hospital)
            .and_then(|h| h.name.clone())
            .unwrap_or_else(|| hospital.to_owned())
    }

    /// The wards a `screen` or `rater` token covers: its `wards` and every
    /// ward of its `departments` and `hospitals`, sorted, once each.
    pub fn token_wards(&self, token: &TokenConfig) -> Vec<String> {
        let mut wards: BTreeSet<String> = token.wards.iter().cloned().collect();
        for d in &token.departments {
            wards.extend(self.department_wards(d));
        }
        for h in &token.hospitals {
            wards.extend(self.hospital_wards(h));
        }
        wards.into_iter().collect()
    }
}

impl SimSection {
    /// Checks the beds and wards against what the simulator can build.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key.
    pub fn validate(&self) -> Result<()> {
        range("sim.beds", self.beds, 24, 100_000, "beds", 150)?;
        if let Some(wards) = self.wards {
            range("sim.wards", wards, 1, 25_000, "wards", 6)?;
            if u64::from(self.beds) < 4 * u64::from(wards) {
                return Err(invalid(
                    "sim.beds",
                    &format!(
                        "{} beds cannot fill {wards} wards (sim.wards); give at least 4 beds per ward, e.g. beds = {}",
                        self.beds,
                        4 * u64::from(wards)
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl ApiConfig {
    /// Checks the numbers and that an open API listens on loopback only.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key.
    pub fn validate(&self) -> Result<()> {
        range("api.worker_threads", self.worker_threads, 1, 64, "threads", 1)?;
        range(
            "api.stale_after_minutes",
            self.stale_after_minutes,
            15,
            10_080,
            "minutes",
            90,
        )?;
        range("api.max_range_days", self.max_range_days, 1, 3660, "days", 400)?;
        range(
            "api.max_connections",
            self.max_connections,
            16,
            100_000,
            "connections",
            1000,
        )?;
        range(
            "api.header_read_timeout_secs",
            self.header_read_timeout_secs,
            1,
            300,
            "seconds",
            10,
        )?;
        range(
            "api.max_body_bytes",
            self.max_body_bytes,
            1024,
            64 * 1024 * 1024,
            "bytes",
            65_536,
        )?;
        if self.rate_limit_per_minute != 0 {
            range(
                "api.rate_limit_per_minute",
                self.rate_limit_per_minute,
                60,
                1_000_000,
                "requests (or 0 = unlimited)",
                6000,
            )?;
        }
        if self.open && !is_loopback(&self.listen) {
            return Err(invalid(
                "api.open",
                "an open API (no tokens) may only listen on loopback (127.0.0.1 or [::1]); configure [[api.tokens]] instead",
            ));
        }
        Ok(())
    }
}

impl SourceConfig {
    /// Checks `[source]`: the URL or path its kind needs, the numbers, the
    /// Bulk Data, SMART and TLS keys, the offset and the ward prefix.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key.
    pub fn validate(&self) -> Result<()> {
        self.validate_at("source")
    }

    /// As [`SourceConfig::validate`], the keys named under `table`
    /// (`source`, or `sources.<id>` for a named source).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key.
    pub fn validate_at(&self, table: &str) -> Result<()> {
        let key = |k: &str| format!("{table}.{k}");
        // the variables exist for [source] alone
        let or_env = |k: &str| {
            if table == "source" {
                format!(" or CARELOAD_SOURCE_{}", k.to_uppercase())
            } else {
                String::new()
            }
        };
        if matches!(self.kind, SourceKind::Fhir | SourceKind::Bulk) && self.url.is_empty() {
            return Err(invalid(
                &key("url"),
                &format!(
                    "{table}.kind is \"fhir\" or \"bulk\" but no URL is set; set {table}.url{}",
                    or_env("url")
                ),
            ));
        }
        if self.kind == SourceKind::Files && self.path.as_os_str().is_empty() {
            return Err(invalid(
                &key("path"),
                &format!(
                    "{table}.kind is \"files\" but no path is set; set {table}.path{}",
                    or_env("path")
                ),
            ));
        }
        range(&key("page_size"), self.page_size, 10, 1000, "resources per page", 500)?;
        range(
            &key("request_timeout_secs"),
            self.request_timeout_secs,
            1,
            600,
            "seconds",
            30,
        )?;
        range(
            &key("run_deadline_secs"),
            self.run_deadline_secs,
            10,
            3600,
            "seconds",
            600,
        )?;
        range(&key("max_retries"), self.max_retries, 0, 10, "retries", 4)?;
        range(&key("concurrency"), self.concurrency, 1, 64, "searches", 4)?;
        range(
            &key("since_margin_secs"),
            self.since_margin_secs,
            0,
            86_400,
            "seconds (a few minutes cover writes committed late)",
            300,
        )?;
        range(&key("bulk_poll_secs"), self.bulk_poll_secs, 1, 300, "seconds", 2)?;
        range(
            &key("offset_minutes"),
            self.offset_minutes,
            0,
            59,
            "minutes after the schedule's firing",
            10,
        )?;
        let prefix = &self.ward_prefix;
        if prefix.chars().count() > 32
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(invalid(
                &key("ward_prefix"),
                &format!(
                    "{prefix:?} cannot begin a ward id (it is part of every ward's URL); \
                     write at most 32 letters, digits, '-', '_' or '.', e.g. \"nord-\""
                ),
            ));
        }
        if self.bulk_level == BulkLevel::Group && self.bulk_group.trim().is_empty() {
            return Err(invalid(
                &key("bulk_group"),
                &format!("{table}.bulk_level is \"group\" but no group id is set; set {table}.bulk_group"),
            ));
        }
        if self.smart_client_id.is_some() {
            if self.token_env.is_some() {
                return Err(invalid(
                    &key("smart_client_id"),
                    &format!("both a static token ({table}.token_env) and SMART backend services are set; use one"),
                ));
            }
            if self.smart_key_file.is_some() == self.smart_key_env.is_some() {
                return Err(invalid(
                    &key("smart_key_file"),
                    &format!(
                        "SMART backend services need exactly one of {table}.smart_key_file or {table}.smart_key_env"
                    ),
                ));
            }
            if !matches!(self.smart_algorithm.as_str(), "RS384" | "ES384") {
                return Err(invalid(
                    &key("smart_algorithm"),
                    &format!("{:?} is not supported; write RS384 or ES384", self.smart_algorithm),
                ));
            }
        }
        if let Some(ca) = &self.ca_file
            && !ca.is_file()
        {
            return Err(invalid(
                &key("ca_file"),
                &format!(
                    "{} is not a readable file; give a PEM file of CA certificates",
                    ca.display()
                ),
            ));
        }
        for origin in &self.trusted_origins {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            if rest.is_none_or(|r| r.trim_end_matches('/').is_empty() || r.trim_end_matches('/').contains('/')) {
                return Err(invalid(
                    &key("trusted_origins"),
                    &format!(
                        "{origin:?} is not an origin; write scheme://host[:port], e.g. https://fhir-proxy.example:8443"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// The message refusing `[source]` beside `[sources.<id>]`.
const SOURCE_AND_SOURCES: &str = "[source] is set beside [sources.<id>]: a service reads either one source \
     ([source]) or named ones ([sources.<id>]); move [source]'s keys into a [sources.<id>] table of their own \
     (and unset any CARELOAD_SOURCE_* variable)";

/// Whether `id` may name a source: `[a-z0-9-]`, 1–32 characters.
fn is_source_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Config {
    /// The FHIR sources this service runs, by id: the named sources
    /// (`[sources.<id>]`) when there are any, else the single `[source]`
    /// under the id `""` (a service of one source, as before issue 29).
    pub fn sources(&self) -> Vec<(String, &SourceConfig)> {
        if self.sources.is_empty() {
            vec![(String::new(), &self.source)]
        } else {
            self.sources.iter().map(|(id, s)| (id.clone(), s)).collect()
        }
    }

    /// The source [`Config::sources`] lists under `id`: `[sources.<id>]`,
    /// or `[source]` for `""` when no named source is set; none otherwise.
    pub fn source_by_id(&self, id: &str) -> Option<&SourceConfig> {
        if self.sources.is_empty() {
            id.is_empty().then_some(&self.source)
        } else {
            self.sources.get(id)
        }
    }

    /// `[source]` or the named sources: each source valid, the ids
    /// well-formed, no named source simulated, no ward prefix shared, and
    /// not `[source]` beside `[sources.<id>]`.
    fn validate_sources(&self) -> Result<()> {
        if self.sources.is_empty() {
            return self.source.validate();
        }
        if self.source != SourceConfig::default() {
            return Err(invalid("source", SOURCE_AND_SOURCES));
        }
        let mut prefixes: BTreeMap<&str, &str> = BTreeMap::new();
        for (id, source) in &self.sources {
            let table = format!("sources.{id}");
            if !is_source_id(id) {
                return Err(invalid(
                    &table,
                    &format!(
                        "{id:?} cannot name a source; write 1–32 lowercase letters, digits or '-', e.g. [sources.nord]"
                    ),
                ));
            }
            if source.kind == SourceKind::Sim {
                return Err(invalid(
                    &format!("{table}.kind"),
                    "a named source cannot be the simulated hospital (kind = \"sim\", also the default): \
                     the simulated hospital is only ever the single default [source]; set kind = \"fhir\", \
                     \"bulk\" or \"files\"",
                ));
            }
            source.validate_at(&table)?;
            if !source.ward_prefix.is_empty()
                && let Some(other) = prefixes.insert(&source.ward_prefix, id)
            {
                return Err(invalid(
                    &format!("{table}.ward_prefix"),
                    &format!(
                        "{:?} is also sources.{other}.ward_prefix: the two sources' wards would mix; \
                         give each source a prefix of its own, e.g. \"{id}-\"",
                        source.ward_prefix
                    ),
                ));
            }
        }
        if self.sources.len() < 2 {
            return Ok(());
        }
        // two sources' wards must never meet: a ward of one source taken
        // over by another would show its patients under the first's
        // tokens (the store refuses a ward of two sources within one hour only)
        for (id, source) in &self.sources {
            let table = format!("sources.{id}");
            if source.ward_prefix.is_empty() {
                return Err(invalid(
                    &format!("{table}.ward_prefix"),
                    &format!(
                        "with several sources each needs a ward prefix of its own, so that two EHRs' ward ids \
                         never meet; e.g. ward_prefix = \"{id}-\""
                    ),
                ));
            }
            if let Some((other, _)) = self
                .sources
                .iter()
                .find(|(o, s)| *o != id && s.ward_prefix.starts_with(&source.ward_prefix))
            {
                return Err(invalid(
                    &format!("{table}.ward_prefix"),
                    &format!(
                        "{:?} begins sources.{other}.ward_prefix: a ward of one could be the other's; \
                         give prefixes that do not begin one another, e.g. \"{id}-\"",
                        source.ward_prefix
                    ),
                ));
            }
        }
        let prefixed = |ward: &str| self.sources.values().any(|s| ward.starts_with(&s.ward_prefix));
        let prefixes = || {
            self.sources
                .values()
                .map(|s| format!("{:?}", s.ward_prefix))
                .collect::<Vec<_>>()
                .join(", ")
        };
        if let Some(ward) = self.wards.keys().find(|w| !prefixed(w)) {
            return Err(invalid(
                &format!("wards.{ward}"),
                &format!(
                    "no source's ward ids begin {ward:?}: with several sources every ward id has its source's \
                     prefix ({}); write e.g. [wards.{}{ward}]",
                    prefixes(),
                    self.sources.values().next().map_or("", |s| s.ward_prefix.as_str())
                ),
            ));
        }
        for token in &self.api.tokens {
            if let Some(ward) = token.wards.iter().find(|w| !prefixed(w)) {
                return Err(invalid(
                    "api.tokens",
                    &format!(
                        "token {:?} names ward {ward:?}, which no source's ward ids begin: with several sources \
                         write the ward with its source's prefix ({})",
                        token.name,
                        prefixes()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// `value` within `lo..=hi`, or [`Error::Invalid`] stating the range and an example.
fn range<T>(key: &str, value: T, lo: u64, hi: u64, unit: &str, example: u64) -> Result<()>
where
    T: TryInto<u64> + std::fmt::Display + Copy,
{
    match value.try_into() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(()),
        _ => Err(invalid(
            key,
            &format!("{value} is out of range; write {lo}–{hi} {unit}, e.g. {example}"),
        )),
    }
}

/// A decimal (thousandths) within 0–`hi`, or [`Error::Invalid`] stating the
/// range and an example.
fn decimal_range(key: &str, milli: i64, hi: i64, unit: &str, example: &str) -> Result<()> {
    if (0..=hi.saturating_mul(1000)).contains(&milli) {
        return Ok(());
    }
    let value = careload_scoring::Points::from_milli(milli);
    Err(invalid(
        key,
        &format!("{value} is out of range; write 0–{hi} {unit}, e.g. {example}"),
    ))
}

fn invalid(key: &str, message: &str) -> Error {
    Error::Invalid {
        key: key.to_owned(),
        message: message.to_owned(),
    }
}

fn is_loopback(listen: &str) -> bool {
    listen
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or_else(|_| listen.starts_with("localhost:"))
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}
