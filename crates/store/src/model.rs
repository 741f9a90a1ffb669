//! What the store hands back: rows as plain Rust values.

use std::collections::BTreeMap;
use std::fmt;

use careload_scoring::score::{Components, Split};
use careload_scoring::snapshot::PatientKey;
use careload_scoring::{Points, Totals};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// An ingest run's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How an ingest run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Everything read and written.
    Ok,
    /// Written, but some resources were skipped or some pages failed.
    Partial,
    /// Nothing written; the previous hour stays current.
    Failed,
}

impl Outcome {
    /// The value stored in `ingest_runs.outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Outcome> {
        match s {
            "ok" => Some(Outcome::Ok),
            "partial" => Some(Outcome::Partial),
            "failed" => Some(Outcome::Failed),
            _ => None,
        }
    }
}

/// The count a run closed by [`crate::Store::close_interrupted_runs`]
/// carries (`counts["interrupted"] = 1`).
pub const INTERRUPTED: &str = "interrupted";

/// What a finished run reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunReport {
    /// Resources read, by kind (`Encounter`, `Task`, …) or any other count.
    pub counts: BTreeMap<String, u64>,
    /// Resources skipped as unusable.
    pub skipped: u64,
    /// Requests retried.
    pub retries: u64,
    /// The run-level error, when it failed. Never patient data.
    pub error: Option<String>,
}

/// One ingest run as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Run {
    /// Its id.
    pub id: RunId,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// When it ended; `None` while running (or when it died unfinished).
    pub finished_at: Option<DateTime<Utc>>,
    /// Where it read from.
    pub source: String,
    /// How it ended; `None` while running. A run whose process died is
    /// closed at the next start ([`Run::interrupted`]).
    pub outcome: Option<Outcome>,
    /// Counts, skips, retries and error.
    pub report: RunReport,
    /// The scheduled firing it ran for (the schedule's instant); `None`
    /// for a back-fill's hours, the catch-up at start and `ingest --once`.
    /// Replicas sharing a database run each firing once.
    #[serde(default)]
    pub fired_at: Option<DateTime<Utc>>,
    /// Which process ran it, as `host:pid` (`None` for runs recorded before
    /// replicas were).
    #[serde(default)]
    pub replica: Option<String>,
    /// The configured source it ran (`[sources.<id>]`; `""`: the single
    /// `[source]`).
    #[serde(default)]
    pub source_id: String,
}

impl Run {
    /// Whether the run's process died during it and a later start closed it.
    pub fn interrupted(&self) -> bool {
        self.report.counts.get(INTERRUPTED) == Some(&1)
    }
}

/// A weights version on record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WeightsVersion {
    /// The version (`2026.1`).
    pub version: String,
    /// The file format.
    pub format: u32,
    /// SHA-256 of the file.
    pub digest: String,
    /// The day it takes effect.
    pub effective_from: NaiveDate,
    /// Who decided it.
    pub decided_by: String,
    /// Where it was decided.
    pub meeting_reference: String,
    /// Notes.
    pub notes: String,
    /// When the store first saw it.
    pub loaded_at: DateTime<Utc>,
}

/// The hour readers should show, and the run that wrote it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentHour {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// The run that wrote it.
    pub run_id: RunId,
    /// When it became current.
    pub updated_at: DateTime<Utc>,
}

/// The level of a unit row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The whole hospital (`ward` and `team` are empty).
    Hospital,
    /// One ward (`team` is empty).
    Ward,
    /// One team of a ward.
    Team,
}

impl Level {
    /// The value stored in `unit_hours.level`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Hospital => "hospital",
            Level::Ward => "ward",
            Level::Team => "team",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Level> {
        match s {
            "hospital" => Some(Level::Hospital),
            "ward" => Some(Level::Ward),
            "team" => Some(Level::Team),
            _ => None,
        }
    }
}

/// One source's own current hour: the newest hour it wrote
/// ([`crate::Store::source_hours`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceHour {
    /// The source's id (`""`: the single `[source]`).
    pub source_id: String,
    /// Its newest hour, the run that wrote it and when.
    pub current: CurrentHour,
}

/// A team's, ward's or the hospital's sums for one hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitHour {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// Hospital, ward or team.
    pub level: Level,
    /// The ward; empty for the hospital.
    pub ward: String,
    /// The team; empty for a ward or the hospital.
    pub team: String,
    /// Patients, points, components, professions, unmatched items.
    pub totals: Totals,
    /// The weights version that scored them.
    pub weights_version: String,
    /// The source that wrote the row (`""`: the default single source, and
    /// every hospital-level row, which sums all sources' wards).
    #[serde(default)]
    pub source_id: String,
}

/// One patient's hour without the stored snapshot and score: what graphs
/// and lists need.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientHour {
    /// Start of the hour.
    pub hour: DateTime<Utc>,
    /// The pseudonym.
    pub key: PatientKey,
    /// Ward.
    pub ward: String,
    /// Team, when known.
    pub team: Option<String>,
    /// Bed, when known.
    pub bed: Option<String>,
    /// The snapshot's instant.
    pub as_of: DateTime<Utc>,
    /// The run that wrote it.
    pub run_id: RunId,
    /// The weights version that scored it.
    pub weights_version: String,
    /// The total.
    pub total: Points,
    /// Per profession.
    pub professions: Split,
    /// Per component.
    pub components: Components,
    /// Items the weights did not know.
    pub unmatched: u32,
}

/// One audit entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditEntry {
    /// Its id, increasing.
    pub id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (a token's name, `system`, …).
    pub actor: String,
    /// What (`weights.activate`, `run.start`, …).
    pub action: String,
    /// Details, as JSON. Never patient data.
    pub detail: serde_json::Value,
}

/// Rows removed by [`crate::Store::purge_before`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purged {
    /// Patient-hour rows.
    pub patient_hours: u64,
    /// Unit-hour rows.
    pub unit_hours: u64,
    /// Whole monthly partitions dropped (PostgreSQL); their rows are
    /// counted in `patient_hours`.
    #[serde(default)]
    pub partitions_dropped: u32,
    /// The staff's ratings of shifts that started before the cutoff.
    #[serde(default)]
    pub shift_ratings: u64,
}

/// A ward as the configuration describes it, for [`crate::Store::sync_wards`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfiguredWard {
    /// The ward id, as placements carry it.
    pub ward: String,
    /// Display name.
    pub name: Option<String>,
    /// Care category (a key of the weights' `staff_hours`).
    pub care_category: Option<String>,
    /// Bed count.
    pub beds: Option<u32>,
}

/// A ward the store knows: configured, seen in the data, or both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ward {
    /// The ward id.
    pub ward: String,
    /// Display name from the configuration.
    pub name: Option<String>,
    /// Care category from the configuration.
    pub care_category: Option<String>,
    /// Configured bed count.
    pub beds: Option<u32>,
    /// True when the current configuration lists the ward.
    pub configured: bool,
    /// The first hour a patient was on it; none if never.
    pub first_seen: Option<DateTime<Utc>>,
    /// The last hour a patient was on it.
    pub last_seen: Option<DateTime<Utc>>,
    /// The source that last wrote a patient on it (`""`: the single
    /// `[source]`); none if never.
    #[serde(default)]
    pub source_id: Option<String>,
}

/// A team (vårdlag) seen in the data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Its ward.
    pub ward: String,
    /// The team id.
    pub team: String,
    /// The first hour a patient was in it.
    pub first_seen: DateTime<Utc>,
    /// The last hour a patient was in it.
    pub last_seen: DateTime<Utc>,
}

/// A bed seen in the data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bed {
    /// Its ward.
    pub ward: String,
    /// The bed id.
    pub bed: String,
    /// The team of its patient at `last_seen`.
    pub team: Option<String>,
    /// The first hour a patient was in it.
    pub first_seen: DateTime<Utc>,
    /// The last hour a patient was in it.
    pub last_seen: DateTime<Utc>,
}
