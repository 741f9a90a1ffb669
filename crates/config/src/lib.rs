//! careload's service configuration: built-in defaults, then a TOML file
//! (`config/careload.toml` by convention), then `CARELOAD_*` environment
//! variables, each layer overriding the one before.
//!
//! Every key, its default and its environment variable is listed in
//! [`ENV_KEYS`] and in the README's configuration table. Secrets (API tokens,
//! the FHIR bearer token, the pseudonym key) are never values in the file:
//! the file names the environment variable or file that holds them.
//!
//! Loading never half-succeeds: an unknown key, a wrong type, an unknown time
//! zone or a bad shift plan is an [`Error`] naming the file or variable, the
//! key and what to write instead.

mod env;
mod error;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use careload_scoring::shift::{ShiftDef, ShiftPlan};
use chrono::NaiveTime;
use serde::{Deserialize, Serialize};

pub use env::{ENV_KEYS, EnvKey, markdown_table};
pub use error::{Error, Result};

/// The whole service configuration.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where history is stored.
    pub database: DatabaseConfig,
    /// Where FHIR data comes from.
    pub source: SourceConfig,
    /// The built-in simulated hospital (when `source.kind = "sim"`).
    pub sim: SimSection,
    /// When runs happen.
    pub schedule: ScheduleConfig,
    /// Weights, time zone, forecast.
    pub scoring: ScoringConfig,
    /// How long history is kept.
    pub retention: RetentionConfig,
    /// The HTTP API and screens.
    pub api: ApiConfig,
    /// Per-ward settings, keyed by ward id.
    pub wards: BTreeMap<String, WardConfig>,
}

/// `[database]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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
}

/// `[source]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceConfig {
    /// `sim`, `fhir` or `files`.
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
    /// A region's code mapping (TOML); none = the built-in defaults.
    pub mapping: Option<PathBuf>,
    /// Name of the environment variable holding the pseudonym key.
    pub pseudonym_key_env: String,
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
            mapping: None,
            pseudonym_key_env: "CARELOAD_PSEUDONYM_KEY".into(),
        }
    }
}

/// `[sim]`: the built-in simulated hospital.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimSection {
    /// Beds in total.
    pub beds: u32,
    /// Wards (none = derived from the beds).
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
    /// Minute past each hour at which the hourly run starts.
    pub minute: u32,
    /// Local hour of the nightly full resync.
    pub resync_hour: u32,
    /// Hours of history to back-fill at start when the store is empty
    /// (only possible with the simulated hospital).
    pub backfill_hours: u32,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            minute: 5,
            resync_hour: 3,
            backfill_hours: 0,
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
    /// For `screen` tokens: the wards it may read (empty = none).
    #[serde(default)]
    pub wards: Vec<String>,
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
        }
    }
}

/// `[wards.<id>]`: one ward's settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WardConfig {
    /// Display name (e.g. "Avd 7 Medicin"); none = the id.
    pub name: Option<String>,
    /// Care category (e.g. `medicine`, `surgery`, `psychiatry`).
    pub care_category: Option<String>,
    /// Beds, for occupancy; none = what the Location tree has.
    pub beds: Option<u32>,
    /// Shifts: name → local start `HH:MM`; none = day 07:00, evening 15:00, night 21:00.
    pub shifts: BTreeMap<String, String>,
    /// Rooms → team, when the Location tree has no team level.
    pub rooms: BTreeMap<String, String>,
}

impl WardConfig {
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
    /// The file cannot be read or parsed, a variable cannot be parsed, or
    /// the result is not valid (see [`Config::validate`]).
    pub fn load(file: Option<&Path>) -> Result<Config> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
                    path: path.to_owned(),
                    source,
                })?;
                Config::from_toml(&text, &path.display().to_string())?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
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
        env::apply(self, get)
    }

    /// Checks what serde cannot: the time zone, shift plans, the open API
    /// only on loopback, tokens with exactly one secret source.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the key.
    pub fn validate(&self) -> Result<()> {
        self.scoring.tz()?;
        for (id, ward) in &self.wards {
            ward.shift_plan(id)?;
        }
        if self.schedule.minute > 59 {
            return Err(invalid("schedule.minute", "must be 0–59, the minute past each hour"));
        }
        if self.schedule.resync_hour > 23 {
            return Err(invalid("schedule.resync_hour", "must be 0–23, a local hour"));
        }
        if self.source.kind == SourceKind::Fhir && self.source.url.is_empty() {
            return Err(invalid(
                "source.url",
                "source.kind is \"fhir\" but no URL is set; set source.url or CARELOAD_SOURCE_URL",
            ));
        }
        if self.source.kind == SourceKind::Files && self.source.path.as_os_str().is_empty() {
            return Err(invalid(
                "source.path",
                "source.kind is \"files\" but no path is set; set source.path or CARELOAD_SOURCE_PATH",
            ));
        }
        if self.api.open && !is_loopback(&self.api.listen) {
            return Err(invalid(
                "api.open",
                "an open API (no tokens) may only listen on loopback (127.0.0.1 or [::1]); configure [[api.tokens]] instead",
            ));
        }
        for (i, t) in self.api.tokens.iter().enumerate() {
            let key = format!("api.tokens[{i}]");
            if t.name.trim().is_empty() {
                return Err(invalid(
                    &key,
                    "a token needs a name (used in logs instead of the secret)",
                ));
            }
            if t.secret_env.is_some() == t.secret_file.is_some() {
                return Err(invalid(
                    &key,
                    &format!("token {:?}: set exactly one of secret_env or secret_file", t.name),
                ));
            }
            if t.role == Role::Screen && t.wards.is_empty() {
                return Err(invalid(
                    &key,
                    &format!("screen token {:?} lists no wards; add wards = [\"…\"]", t.name),
                ));
            }
        }
        Ok(())
    }
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
