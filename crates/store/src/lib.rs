//! careload's history store: every patient's hourly snapshot and score, the
//! team/ward/hospital sums per hour, the weights versions, ingest runs and an
//! audit log — over SQLite (one file, the embedded default) or PostgreSQL
//! (production), chosen by the database URL.
//!
//! # Shape
//!
//! [`Store`] is an enum over a `SqlitePool` and a `PgPool`. Every query is
//! written once, in SQL both databases accept (numbered `$n` parameters,
//! `ON CONFLICT … DO UPDATE`, `RETURNING`), and the `on_pool!` macro expands
//! it once per backend, so the two cannot drift apart. Each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`), embedded in the
//! binary and applied by [`Store::connect`]; the tables are the same, the
//! types differ (TEXT vs TIMESTAMPTZ/JSONB) and PostgreSQL partitions
//! `patient_hours` by month.
//!
//! # One hour, all at once
//!
//! [`Store::write_hour`] writes an hour in one transaction: it deletes that
//! hour's patient and unit rows, inserts the new ones in multi-row batches,
//! and moves `current_hour` to it. Readers see the previous hour or the new
//! one, never a mix, and re-running an hour replaces it. On PostgreSQL the
//! month's partition is created (if missing) *before* the transaction, since
//! attaching a partition locks the parent table.
//!
//! # Snapshots at rest
//!
//! A snapshot is written in `careload_scoring::stored`'s binary form, about
//! a third of its JSON and read three times faster (the back-test reads a
//! month of them). SQLite keeps it in the `snapshot` column itself (a BLOB;
//! rows written before are JSON text there), PostgreSQL in `snapshot_bin`
//! (BYTEA; older rows have JSONB in `snapshot` and no `snapshot_bin`).
//! Readers select either as bytes (`Store::snapshot_bytes`) and [`read_snapshot`]
//! tells the two forms apart by their first byte, so history written
//! before the change reads as it always did.
//!
//! # Time
//!
//! Hours are UTC instants on the hour; ranges are half-open `[from, to)`.
//! The store reads the clock only to stamp runs, weights loads and audit
//! entries.

mod error;
mod model;

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use careload_scoring::quality::QualityCounts;
use careload_scoring::score::{Component, Components, Split};
use careload_scoring::snapshot::PatientKey;
use careload_scoring::{Points, Rollup, Score, Snapshot, Totals, Weights, stored};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};

pub use activation::Activation;
pub use error::{Error, Result};
pub use model::{
    AuditEntry, Bed, ConfiguredWard, CurrentHour, INTERRUPTED, Level, Outcome, PatientHour, Purged, Run, RunId,
    RunReport, Team, UnitHour, Ward, WeightsVersion,
};
pub use pins::Pin;
pub use trend::{DistinctPatients, StoredPatientHour};

/// Patient rows per INSERT: 24 parameters each, well under SQLite's 32,766
/// and PostgreSQL's 65,535 parameters per statement.
const PATIENT_CHUNK: usize = 400;
/// Unit rows per INSERT: 26 parameters each.
const UNIT_CHUNK: usize = 1000;

/// The component columns, in [`Component::ALL`] order.
const COMPONENT_COLUMNS: [&str; 9] = [
    "medications_milli",
    "orders_milli",
    "basic_nursing_milli",
    "specific_nursing_milli",
    "news2_milli",
    "emotional_support_milli",
    "care_plans_milli",
    "diagnoses_milli",
    "modifiers_milli",
];

/// Columns of a light patient row, in the order `patient_hour!` reads them.
const PATIENT_LIGHT: &str = "hour, patient_key, ward, team, bed, as_of, run_id, weights_version, \
    total_milli, usk_milli, ssk_milli, medications_milli, orders_milli, basic_nursing_milli, \
    specific_nursing_milli, news2_milli, emotional_support_milli, care_plans_milli, diagnoses_milli, \
    modifiers_milli, unmatched";

const UNIT_COLUMNS: &str = "hour, level, ward, team, patients, total_milli, usk_milli, ssk_milli, \
    medications_milli, orders_milli, basic_nursing_milli, specific_nursing_milli, news2_milli, \
    emotional_support_milli, care_plans_milli, diagnoses_milli, modifiers_milli, unmatched, weights_version, \
    q_assessed, q_norton_stale, q_news2_overdue, q_activities, q_activities_no_due, q_activities_generic, q_thin";

/// The history store over one database.
#[derive(Clone, Debug)]
pub enum Store {
    /// A SQLite file (WAL mode: readers never wait for the hourly writer).
    Sqlite(SqlitePool),
    /// A PostgreSQL database.
    Postgres(PgPool),
}

/// How [`Store::open_existing`] opens a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Reads only: exports, back-tests.
    ReadOnly,
    /// Writes too (migrating it first): an activation.
    ReadWrite,
}

/// How [`Store::open_pool`] treats the database: made when missing (the
/// service), or one that must exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opening {
    Create,
    Existing(Access),
}

/// Runs `$body` with `$pool` bound to the backend's pool; the body is
/// compiled once per backend.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match $store {
            Store::Sqlite($pool) => $body,
            Store::Postgres($pool) => $body,
        }
    };
}

/// Reads the nine component columns of a row.
macro_rules! components {
    ($row:expr) => {{
        let mut c = Components::default();
        for (component, column) in Component::ALL.into_iter().zip(COMPONENT_COLUMNS) {
            c.add(component, Points::from_milli($row.try_get::<i64, _>(column)?));
        }
        c
    }};
}

/// Reads a light patient row.
macro_rules! patient_hour {
    ($row:expr) => {{
        let row = $row;
        PatientHour {
            hour: row.try_get("hour")?,
            key: PatientKey(row.try_get("patient_key")?),
            ward: row.try_get("ward")?,
            team: row.try_get("team")?,
            bed: row.try_get("bed")?,
            as_of: row.try_get("as_of")?,
            run_id: RunId(row.try_get("run_id")?),
            weights_version: row.try_get("weights_version")?,
            total: Points::from_milli(row.try_get("total_milli")?),
            professions: Split {
                usk: Points::from_milli(row.try_get("usk_milli")?),
                ssk: Points::from_milli(row.try_get("ssk_milli")?),
            },
            components: components!(row),
            unmatched: count(row.try_get("unmatched")?)?,
        }
    }};
}

/// Reads a unit row.
macro_rules! unit_hour {
    ($row:expr) => {{
        let row = $row;
        let level: String = row.try_get("level")?;
        UnitHour {
            hour: row.try_get("hour")?,
            level: Level::parse(&level).ok_or_else(|| Error::Invalid(format!("stored level {level:?} is unknown")))?,
            ward: row.try_get("ward")?,
            team: row.try_get("team")?,
            totals: Totals {
                patients: count(row.try_get("patients")?)?,
                total: Points::from_milli(row.try_get("total_milli")?),
                components: components!(row),
                professions: Split {
                    usk: Points::from_milli(row.try_get("usk_milli")?),
                    ssk: Points::from_milli(row.try_get("ssk_milli")?),
                },
                unmatched: count(row.try_get("unmatched")?)?,
                quality: QualityCounts {
                    assessed: count(row.try_get("q_assessed")?)?,
                    norton_stale: count(row.try_get("q_norton_stale")?)?,
                    news2_overdue: count(row.try_get("q_news2_overdue")?)?,
                    activities: count(row.try_get("q_activities")?)?,
                    activities_without_due: count(row.try_get("q_activities_no_due")?)?,
                    activities_generic: count(row.try_get("q_activities_generic")?)?,
                    thin_after_admission: count(row.try_get("q_thin")?)?,
                },
            },
            weights_version: row.try_get("weights_version")?,
        }
    }};
}

/// Reads an ingest run row.
macro_rules! run {
    ($row:expr) => {{
        let row = $row;
        let outcome: Option<String> = row.try_get("outcome")?;
        let Json(counts) = row.try_get("counts")?;
        Run {
            id: RunId(row.try_get("id")?),
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            source: row.try_get("source")?,
            outcome: match outcome {
                None => None,
                Some(o) => {
                    Some(Outcome::parse(&o).ok_or_else(|| Error::Invalid(format!("stored outcome {o:?} is unknown")))?)
                }
            },
            report: RunReport {
                counts,
                skipped: unsigned(row.try_get("skipped")?)?,
                retries: unsigned(row.try_get("retries")?)?,
                error: row.try_get("error")?,
            },
        }
    }};
}

// After the macros above, which they use.
mod activation;
mod pins;
mod replicate;
mod staffing;
mod trend;
mod units;

fn count(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Invalid(format!("stored count {v} is out of range")))
}

fn unsigned(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Invalid(format!("stored count {v} is negative")))
}

fn signed(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Invalid(format!("count {v} is too large to store")))
}

/// The start of the hour containing `t`.
pub fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_minute(0))
        .unwrap_or(t)
}

/// The PostgreSQL partition of `patient_hours` holding `hour`, and the
/// bounds of its month: `("patient_hours_y2026m11", 2026-11-01, 2026-12-01)`.
pub fn month_partition(hour: DateTime<Utc>) -> (String, DateTime<Utc>, DateTime<Utc>) {
    let (y, m) = (hour.year(), hour.month());
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let start = |y: i32, m: u32| {
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| Utc.from_utc_datetime(&d))
            .unwrap_or(hour)
    };
    (format!("patient_hours_y{y:04}m{m:02}"), start(y, m), start(ny, nm))
}

/// A stored snapshot from its stored bytes (as the store's readers select them): the
/// binary form (`careload_scoring::stored`), or JSON for rows written
/// before it.
///
/// # Errors
/// [`Error::Snapshot`] when the bytes are neither, or damaged.
pub fn read_snapshot(bytes: &[u8]) -> Result<Snapshot> {
    if stored::is_binary(bytes) {
        stored::decode(bytes).map_err(|e| Error::Snapshot(e.to_string()))
    } else {
        serde_json::from_slice(bytes).map_err(|e| Error::Snapshot(format!("as JSON: {e}")))
    }
}

impl Store {
    /// The column a snapshot is written to, in its binary form (see the
    /// crate's docs).
    fn snapshot_column(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "snapshot",
            Store::Postgres(_) => "snapshot_bin",
        }
    }

    /// A select expression for a row's snapshot as bytes, whichever form
    /// it was written in; read it with [`read_snapshot`].
    fn snapshot_bytes(&self) -> &'static str {
        match self {
            // a BLOB stays itself, JSON text becomes its UTF-8 bytes
            Store::Sqlite(_) => "CAST(snapshot AS BLOB)",
            Store::Postgres(_) => "COALESCE(snapshot_bin, convert_to(snapshot::text, 'UTF8'))",
        }
    }

    /// Opens the database named by `url` and applies the embedded migrations
    /// (a no-op when they are already applied).
    ///
    /// * `sqlite://careload.db?mode=rwc` — a file, created when missing;
    /// * `postgres://user:password@host:5432/careload` (or `postgresql://`).
    pub async fn connect(url: &str) -> Result<Store> {
        let (store, _) = Store::open_pool(url, Opening::Create).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the embedded migrations of the store's backend.
    async fn migrate(&self) -> Result<()> {
        match self {
            Store::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Store::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Opens a store that must already exist, for a command that must not
    /// invent one (an export, a back-test, an activation): a missing SQLite
    /// file is [`Error::MissingStore`], never created. With
    /// [`Access::ReadOnly`] nothing is written — SQLite opens the file
    /// read-only, PostgreSQL runs every transaction read-only, migrations
    /// are not applied ([`Error::Outdated`] when some are missing) — and a
    /// store without any hour is [`Error::EmptyStore`]. With
    /// [`Access::ReadWrite`] migrations are applied as by [`Store::connect`].
    ///
    /// # Errors
    /// As above, and as [`Store::connect`].
    pub async fn open_existing(url: &str, access: Access) -> Result<Store> {
        let (store, place) = Store::open_without_migrating(url, access).await?;
        if access == Access::ReadWrite {
            store.migrate().await?;
            return Ok(store);
        }
        let wanted: Vec<i64> = match &store {
            Store::Sqlite(_) => sqlx::migrate!("./migrations/sqlite")
                .iter()
                .map(|m| m.version)
                .collect(),
            Store::Postgres(_) => sqlx::migrate!("./migrations/postgres")
                .iter()
                .map(|m| m.version)
                .collect(),
        };
        // a database careload never wrote has no migrations table at all
        let applied: Vec<i64> = on_pool!(&store, pool => {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(pool)
                .await
                .unwrap_or_default()
        });
        if applied.is_empty() {
            store.close().await;
            return Err(Error::EmptyStore { place });
        }
        let missing = wanted.iter().filter(|v| !applied.contains(v)).count();
        if missing > 0 {
            store.close().await;
            return Err(Error::Outdated { place, missing });
        }
        if store.current_hour().await?.is_none() {
            store.close().await;
            return Err(Error::EmptyStore { place });
        }
        Ok(store)
    }

    /// A store as it is, without migrating or checking it, and the file or
    /// database it is (never a password): for looking at a file before
    /// deciding what to do with it (the demo recognising its own store).
    /// A missing SQLite file is [`Error::MissingStore`].
    ///
    /// # Errors
    /// As [`Store::connect`].
    pub async fn open_without_migrating(url: &str, access: Access) -> Result<(Store, String)> {
        Store::open_pool(url, Opening::Existing(access)).await
    }

    /// The pool of the database `url` names, and the file or database it is
    /// (never a password): one place for the connection settings of every
    /// opening. A store that must exist and is a missing SQLite file is
    /// [`Error::MissingStore`]; a read-only one opens SQLite read-only,
    /// without WAL settings (they write), and PostgreSQL with read-only
    /// transactions.
    async fn open_pool(url: &str, opening: Opening) -> Result<(Store, String)> {
        let read_only = opening == Opening::Existing(Access::ReadOnly);
        let scheme = url.split(':').next().unwrap_or_default();
        Ok(match scheme {
            "sqlite" => {
                let options = SqliteConnectOptions::from_str(url).map_err(Error::Connect)?;
                let place = options.get_filename().display().to_string();
                let options = match opening {
                    // a fresh machine has no file yet: make it (`?mode=ro` still refuses)
                    Opening::Create => options.create_if_missing(true),
                    Opening::Existing(_) if !options.get_filename().is_file() => {
                        return Err(Error::MissingStore { place });
                    }
                    Opening::Existing(_) => options.create_if_missing(false).read_only(read_only),
                };
                let options = options.foreign_keys(true).busy_timeout(Duration::from_secs(10));
                let options = if read_only {
                    options
                } else {
                    options
                        .journal_mode(SqliteJournalMode::Wal)
                        .synchronous(SqliteSynchronous::Normal)
                };
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await
                    .map_err(Error::Connect)?;
                (Store::Sqlite(pool), place)
            }
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url).map_err(Error::Connect)?;
                let place = format!(
                    "postgres://{}/{}",
                    options.get_host(),
                    options.get_database().unwrap_or_default()
                );
                let options = if read_only {
                    options.options([("default_transaction_read_only", "on")])
                } else {
                    options
                };
                let pool = PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await
                    .map_err(Error::Connect)?;
                (Store::Postgres(pool), place)
            }
            other => {
                return Err(Error::UnsupportedUrl {
                    scheme: other.to_owned(),
                });
            }
        })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }

    /// Checks that the database answers (readiness probes).
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, pool => {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// The database's size in bytes (PostgreSQL: the whole database;
    /// SQLite: the main file's pages, without the write-ahead log).
    pub async fn size_bytes(&self) -> Result<u64> {
        let bytes: i64 = match self {
            Store::Postgres(pool) => {
                sqlx::query_scalar("SELECT pg_database_size(current_database())")
                    .fetch_one(pool)
                    .await?
            }
            Store::Sqlite(pool) => {
                sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
                    .fetch_one(pool)
                    .await?
            }
        };
        unsigned(bytes)
    }

    /// Records a weights version. Returns `true` when it is new, `false` when
    /// the same version with the same digest was already recorded; the same
    /// version with another digest is [`Error::WeightsChanged`].
    pub async fn record_weights(&self, weights: &Weights) -> Result<bool> {
        let m = &weights.meta;
        let stored: Option<String> = on_pool!(self, pool => {
            // Insert once; a second load of the same version changes nothing.
            let inserted = sqlx::query(
                "INSERT INTO weights_versions \
                 (version, format, digest, effective_from, decided_by, meeting_reference, notes, loaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (version) DO NOTHING",
            )
            .bind(&m.version)
            .bind(i32::try_from(weights.format).unwrap_or(i32::MAX))
            .bind(&weights.digest)
            .bind(m.effective_from)
            .bind(&m.decided_by)
            .bind(&m.meeting_reference)
            .bind(&m.notes)
            .bind(Utc::now())
            .execute(pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                None
            } else {
                Some(
                    sqlx::query_scalar("SELECT digest FROM weights_versions WHERE version = $1")
                        .bind(&m.version)
                        .fetch_one(pool)
                        .await?,
                )
            }
        });
        match stored {
            None => Ok(true),
            Some(stored) if stored == weights.digest => Ok(false),
            Some(stored) => Err(Error::WeightsChanged {
                version: m.version.clone(),
                stored,
                given: weights.digest.clone(),
            }),
        }
    }

    /// Every weights version on record, by effective date.
    pub async fn weights_versions(&self) -> Result<Vec<WeightsVersion>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT version, format, digest, effective_from, decided_by, meeting_reference, notes, loaded_at \
                 FROM weights_versions ORDER BY effective_from, version",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(WeightsVersion {
                        version: row.try_get("version")?,
                        format: u32::try_from(row.try_get::<i32, _>("format")?).unwrap_or_default(),
                        digest: row.try_get("digest")?,
                        effective_from: row.try_get("effective_from")?,
                        decided_by: row.try_get("decided_by")?,
                        meeting_reference: row.try_get("meeting_reference")?,
                        notes: row.try_get("notes")?,
                        loaded_at: row.try_get("loaded_at")?,
                    })
                })
                .collect()
        })
    }

    /// Records the start of an ingest run from `source` (a FHIR base URL or
    /// a file; never credentials).
    pub async fn begin_run(&self, source: &str) -> Result<RunId> {
        let id: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("INSERT INTO ingest_runs (started_at, source) VALUES ($1, $2) RETURNING id")
                .bind(Utc::now())
                .bind(source)
                .fetch_one(pool)
                .await?
        });
        Ok(RunId(id))
    }

    /// Records how a run ended.
    pub async fn finish_run(&self, id: RunId, outcome: Outcome, report: &RunReport) -> Result<()> {
        let skipped = signed(report.skipped)?;
        let retries = signed(report.retries)?;
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE ingest_runs SET finished_at = $1, outcome = $2, counts = $3, skipped = $4, retries = $5, \
                 error = $6 WHERE id = $7",
            )
            .bind(Utc::now())
            .bind(outcome.as_str())
            .bind(Json(&report.counts))
            .bind(skipped)
            .bind(retries)
            .bind(report.error.as_deref())
            .bind(id.0)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(Error::UnknownRun(id));
        }
        Ok(())
    }

    /// Closes the runs begun before `started_before` and never finished: the
    /// process running them died (killed, power lost). A run whose hour was
    /// committed (its rows are stored, or it is the current hour's run)
    /// becomes `partial` — the hour is complete, the run's counts were
    /// lost —, any other `failed`; both say so in `error` and count
    /// `interrupted` = 1. Returns the runs closed and whether each had
    /// written its hour.
    pub async fn close_interrupted_runs(&self, started_before: DateTime<Utc>) -> Result<Vec<(RunId, bool)>> {
        let ids: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM ingest_runs WHERE finished_at IS NULL AND outcome IS NULL AND started_at < $1 ORDER BY id",
            )
            .bind(started_before)
            .fetch_all(pool)
            .await?
        });
        let mut closed = Vec::new();
        for id in ids {
            let written: bool = on_pool!(self, pool => {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM current_hour WHERE run_id = $1) \
                     OR EXISTS (SELECT 1 FROM patient_hours WHERE run_id = $2)",
                )
                .bind(id)
                .bind(id)
                .fetch_one(pool)
                .await?
            });
            let (outcome, error) = if written {
                (
                    Outcome::Partial,
                    "interrupted: the process stopped after this run's hour was written and before the run was \
                     recorded as finished; the hour is complete, the run's counts were lost",
                )
            } else {
                (
                    Outcome::Failed,
                    "interrupted: the process stopped before this run's hour was written; the previous hour \
                     stayed current",
                )
            };
            let report = RunReport {
                counts: BTreeMap::from([(INTERRUPTED.to_owned(), 1)]),
                error: Some(error.to_owned()),
                ..RunReport::default()
            };
            let updated = on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE ingest_runs SET finished_at = $1, outcome = $2, counts = $3, error = $4 \
                     WHERE id = $5 AND finished_at IS NULL",
                )
                .bind(Utc::now())
                .bind(outcome.as_str())
                .bind(Json(&report.counts))
                .bind(report.error.as_deref())
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
            });
            if updated > 0 {
                closed.push((RunId(id), written));
            }
        }
        Ok(closed)
    }

    /// The most recent runs, newest first.
    pub async fn runs(&self, limit: u32) -> Result<Vec<Run>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, started_at, finished_at, source, outcome, counts, skipped, retries, error \
                 FROM ingest_runs ORDER BY id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(run!(row))).collect()
        })
    }

    /// The most recent run, finished or not.
    pub async fn latest_run(&self) -> Result<Option<Run>> {
        Ok(self.runs(1).await?.into_iter().next())
    }

    /// Writes one hour: every patient's snapshot and score, and the sums at
    /// every level, in one transaction that also makes `hour` the current
    /// hour (unless a later hour already is: re-writing an older hour
    /// repairs history without moving the screens back).
    ///
    /// The hour's previous rows are deleted first, so re-running an hour
    /// replaces it. If anything fails, nothing of this write is kept and the
    /// previous current hour stays.
    pub async fn write_hour(
        &self,
        hour: DateTime<Utc>,
        run_id: RunId,
        weights_version: &str,
        patients: &[(Snapshot, Score)],
        rollup: &Rollup,
    ) -> Result<()> {
        if hour != hour_of(hour) {
            return Err(Error::Invalid(format!(
                "hour {hour} is not the start of an hour; pass the hour bucket, e.g. {}",
                hour_of(hour)
            )));
        }
        if rollup.hospital.patients as usize != patients.len() {
            return Err(Error::Invalid(format!(
                "the rollup counts {} patients but {} were given; roll up exactly the patients written",
                rollup.hospital.patients,
                patients.len()
            )));
        }
        let units = unit_rows(rollup);
        let seen = units::HourUnits::of(patients);

        if let Store::Postgres(pool) = self {
            ensure_partition(pool, hour).await?;
        }

        let snapshot_column = self.snapshot_column();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;

            // Idempotent re-run: the hour is replaced as a whole.
            sqlx::query("DELETE FROM patient_hours WHERE hour = $1").bind(hour).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM unit_hours WHERE hour = $1").bind(hour).execute(&mut *tx).await?;

            for chunk in patients.chunks(PATIENT_CHUNK) {
                let mut q = QueryBuilder::new(format!(
                    "INSERT INTO patient_hours (hour, patient_key, ward, team, bed, as_of, run_id, weights_version, \
                     total_milli, usk_milli, ssk_milli, medications_milli, orders_milli, basic_nursing_milli, \
                     specific_nursing_milli, news2_milli, emotional_support_milli, care_plans_milli, \
                     diagnoses_milli, modifiers_milli, unmatched, {snapshot_column}, score) ",
                ));
                q.push_values(chunk, |mut b, (snapshot, score)| {
                    let p = &snapshot.placement;
                    b.push_bind(hour)
                        .push_bind(snapshot.key.0.as_str())
                        .push_bind(p.ward.as_str())
                        .push_bind(p.team.as_deref())
                        .push_bind(p.bed.as_deref())
                        .push_bind(snapshot.as_of)
                        .push_bind(run_id.0)
                        .push_bind(weights_version)
                        .push_bind(score.total.milli())
                        .push_bind(score.professions.usk.milli())
                        .push_bind(score.professions.ssk.milli());
                    for c in Component::ALL {
                        b.push_bind(score.components.get(c).milli());
                    }
                    b.push_bind(score.unmatched.len() as i64)
                        .push_bind(stored::encode(snapshot))
                        .push_bind(Json(score));
                });
                q.build().execute(&mut *tx).await?;
            }

            for chunk in units.chunks(UNIT_CHUNK) {
                let mut q = QueryBuilder::new(format!("INSERT INTO unit_hours ({UNIT_COLUMNS}) "));
                q.push_values(chunk, |mut b, (level, ward, team, t)| {
                    b.push_bind(hour)
                        .push_bind(level.as_str())
                        .push_bind(*ward)
                        .push_bind(*team)
                        .push_bind(i64::from(t.patients))
                        .push_bind(t.total.milli())
                        .push_bind(t.professions.usk.milli())
                        .push_bind(t.professions.ssk.milli());
                    for c in Component::ALL {
                        b.push_bind(t.components.get(c).milli());
                    }
                    let q = &t.quality;
                    b.push_bind(i64::from(t.unmatched))
                        .push_bind(weights_version)
                        .push_bind(i64::from(q.assessed))
                        .push_bind(i64::from(q.norton_stale))
                        .push_bind(i64::from(q.news2_overdue))
                        .push_bind(i64::from(q.activities))
                        .push_bind(i64::from(q.activities_without_due))
                        .push_bind(i64::from(q.activities_generic))
                        .push_bind(i64::from(q.thin_after_admission));
                });
                q.build().execute(&mut *tx).await?;
            }

            units::upsert_units!(tx, hour, &seen);

            // Segments: extend each patient's run that ended an hour ago,
            // open one for the others (a re-run or a late hour inside a
            // run changes nothing).
            sqlx::query(
                "UPDATE patient_segments SET last_hour = $1 WHERE last_hour = $2 AND EXISTS ( \
                 SELECT 1 FROM patient_hours p WHERE p.hour = $1 AND p.patient_key = patient_segments.patient_key \
                 AND p.ward = patient_segments.ward AND COALESCE(p.team, '') = patient_segments.team)",
            )
            .bind(hour)
            .bind(hour - chrono::Duration::hours(1))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO patient_segments (ward, team, patient_key, first_hour, last_hour) \
                 SELECT p.ward, COALESCE(p.team, ''), p.patient_key, $1, $1 FROM patient_hours p \
                 WHERE p.hour = $1 AND NOT EXISTS (SELECT 1 FROM patient_segments s WHERE s.ward = p.ward \
                 AND s.team = COALESCE(p.team, '') AND s.patient_key = p.patient_key \
                 AND s.first_hour <= $1 AND s.last_hour >= $1) \
                 ON CONFLICT (ward, team, patient_key, first_hour) DO NOTHING",
            )
            .bind(hour)
            .execute(&mut *tx)
            .await?;

            // The switch: readers following current_hour see the new hour
            // from the commit on. An older hour never replaces a newer one.
            sqlx::query(
                "INSERT INTO current_hour (id, hour, run_id, updated_at) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET hour = excluded.hour, run_id = excluded.run_id, \
                 updated_at = excluded.updated_at WHERE current_hour.hour <= excluded.hour",
            )
            .bind(hour)
            .bind(run_id.0)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await?;

            tx.commit().await?;
        });
        Ok(())
    }

    /// The hour readers should show, once one has been written.
    pub async fn current_hour(&self) -> Result<Option<CurrentHour>> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT hour, run_id, updated_at FROM current_hour WHERE id = 1")
                .fetch_optional(pool)
                .await?;
            row.map(|row| {
                Ok(CurrentHour {
                    hour: row.try_get("hour")?,
                    run_id: RunId(row.try_get("run_id")?),
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .transpose()
        })
    }

    /// The earliest hour stored (of the hospital's sums), if any.
    pub async fn first_hour(&self) -> Result<Option<DateTime<Utc>>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT hour FROM unit_hours WHERE level = $1 ORDER BY hour LIMIT 1")
                .bind(Level::Hospital.as_str())
                .fetch_optional(pool)
                .await?)
        })
    }

    /// A ward's hourly sums for hours in `[from, to)`, oldest first.
    pub async fn ward_hours(&self, ward: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UnitHour>> {
        self.unit_hours(Level::Ward, ward, from, to).await
    }

    /// The hourly sums of each of a ward's teams for hours in `[from, to)`,
    /// by hour then team.
    pub async fn team_hours(&self, ward: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UnitHour>> {
        self.unit_hours(Level::Team, ward, from, to).await
    }

    /// The hourly totals of a ward (`Level::Ward`, team `""`) or of each of
    /// its teams (`Level::Team`) for hours in `[from, to)`, by hour then
    /// team: the graphs' light read (three columns of the twenty-odd).
    pub async fn unit_totals(
        &self,
        level: Level,
        ward: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, String, Points)>> {
        on_pool!(self, pool => {
            let rows: Vec<(DateTime<Utc>, String, i64)> = sqlx::query_as(
                "SELECT hour, team, total_milli FROM unit_hours \
                 WHERE level = $1 AND ward = $2 AND hour >= $3 AND hour < $4 ORDER BY hour, team",
            )
            .bind(level.as_str())
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            Ok(rows.into_iter().map(|(h, team, milli)| (h, team, Points::from_milli(milli))).collect())
        })
    }

    /// The hospital's hourly sums for hours in `[from, to)`, oldest first.
    pub async fn hospital_hours(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UnitHour>> {
        self.unit_hours(Level::Hospital, "", from, to).await
    }

    async fn unit_hours(
        &self,
        level: Level,
        ward: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UnitHour>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {UNIT_COLUMNS} FROM unit_hours \
                 WHERE level = $1 AND ward = $2 AND hour >= $3 AND hour < $4 ORDER BY hour, team"
            ))
            .bind(level.as_str())
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(unit_hour!(row))).collect()
        })
    }

    /// A ward's patients for hours in `[from, to)`, by hour then bed, without
    /// the stored snapshot and score.
    pub async fn patient_hours(&self, ward: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<PatientHour>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {PATIENT_LIGHT} FROM patient_hours \
                 WHERE ward = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, bed, patient_key"
            ))
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(patient_hour!(row))).collect()
        })
    }

    /// Each patient's total per hour on `ward` for hours in `[from, to)`,
    /// by hour then patient: the ward screen's patient graphs. Answered
    /// from the `(ward, hour, patient_key, total_milli)` index alone.
    pub async fn ward_patient_totals(
        &self,
        ward: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, PatientKey, Points)>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT hour, patient_key, total_milli FROM patient_hours \
                 WHERE ward = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, patient_key",
            )
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get("hour")?,
                        PatientKey(row.try_get("patient_key")?),
                        Points::from_milli(row.try_get("total_milli")?),
                    ))
                })
                .collect()
        })
    }

    /// Each patient's totals per hour on `ward` for hours in `[from, to)`,
    /// by patient then hour: the same as [`Store::ward_patient_totals`],
    /// one row per patient instead of one per patient-hour (the database
    /// packs each series into text, `epoch-hour:milli,…`; on SQLite every
    /// row costs more to hand over than the series costs to read).
    pub async fn ward_patient_series(
        &self,
        ward: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(PatientKey, Vec<(DateTime<Utc>, Points)>)>> {
        let packed = |hour: &str| {
            format!(
                "SELECT patient_key, {} AS series FROM patient_hours \
                 WHERE ward = $1 AND hour >= $2 AND hour < $3 GROUP BY patient_key ORDER BY patient_key",
                hour
            )
        };
        let rows: Vec<(String, String)> = match self {
            Store::Sqlite(pool) => {
                sqlx::query_as(&packed(
                    "group_concat((CAST(strftime('%s', hour) AS INTEGER) / 3600) || ':' || total_milli, ',' ORDER BY hour)",
                ))
                .bind(ward)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?
            }
            Store::Postgres(pool) => {
                sqlx::query_as(&packed(
                    "string_agg((EXTRACT(EPOCH FROM hour)::bigint / 3600)::text || ':' || total_milli::text, ',' ORDER BY hour)",
                ))
                .bind(ward)
                .bind(from)
                .bind(to)
                .fetch_all(pool)
                .await?
            }
        };
        rows.into_iter()
            .map(|(key, series)| {
                let points = series
                    .split(',')
                    .map(|pair| {
                        let bad =
                            || Error::Database(sqlx::Error::Decode(format!("patient series item {pair:?}").into()));
                        let (h, milli) = pair.split_once(':').ok_or_else(bad)?;
                        let h: i64 = h.parse().map_err(|_| bad())?;
                        let milli: i64 = milli.parse().map_err(|_| bad())?;
                        let hour = DateTime::from_timestamp(h * 3600, 0).ok_or_else(bad)?;
                        Ok((hour, Points::from_milli(milli)))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((PatientKey(key), points))
            })
            .collect()
    }

    /// The stored snapshot and score of one patient in one hour.
    pub async fn patient_snapshot(&self, hour: DateTime<Utc>, key: &PatientKey) -> Result<Option<(Snapshot, Score)>> {
        on_pool!(self, pool => {
            let row = sqlx::query(&format!(
                "SELECT {} AS snapshot, score FROM patient_hours WHERE hour = $1 AND patient_key = $2",
                self.snapshot_bytes()
            ))
            .bind(hour)
            .bind(key.0.as_str())
            .fetch_optional(pool)
            .await?;
            row.map(|row| {
                let snapshot = read_snapshot(row.try_get("snapshot")?)?;
                let Json(score): Json<Score> = row.try_get("score")?;
                Ok((snapshot, score))
            })
            .transpose()
        })
    }

    /// The unit rows of one level at any of `hours` (e.g. every ward at one
    /// hour, or one hour of the week over a year), by hour, ward, team.
    /// An empty `hours` gives no rows.
    pub async fn unit_hours_at(&self, level: Level, hours: &[DateTime<Utc>]) -> Result<Vec<UnitHour>> {
        if hours.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, pool => {
            let mut q = QueryBuilder::new(format!("SELECT {UNIT_COLUMNS} FROM unit_hours WHERE level = "));
            q.push_bind(level.as_str()).push(" AND hour IN (");
            let mut list = q.separated(", ");
            for hour in hours {
                list.push_bind(*hour);
            }
            q.push(") ORDER BY hour, ward, team");
            let rows = q.build().fetch_all(pool).await?;
            rows.iter().map(|row| Ok(unit_hour!(row))).collect()
        })
    }

    /// A ward's patients in one hour with their stored snapshot and score,
    /// by team, bed and pseudonym.
    pub async fn ward_patients(&self, ward: &str, hour: DateTime<Utc>) -> Result<Vec<(Snapshot, Score)>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {} AS snapshot, score FROM patient_hours WHERE ward = $1 AND hour = $2 \
                 ORDER BY team, bed, patient_key",
                self.snapshot_bytes()
            ))
            .bind(ward)
            .bind(hour)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let snapshot = read_snapshot(row.try_get("snapshot")?)?;
                    let Json(score): Json<Score> = row.try_get("score")?;
                    Ok((snapshot, score))
                })
                .collect()
        })
    }

    /// Every patient's total in one hour, hospital-wide, ascending (for
    /// quartiles).
    pub async fn patient_totals(&self, hour: DateTime<Utc>) -> Result<Vec<Points>> {
        on_pool!(self, pool => {
            let totals: Vec<i64> =
                sqlx::query_scalar("SELECT total_milli FROM patient_hours WHERE hour = $1 ORDER BY total_milli")
                    .bind(hour)
                    .fetch_all(pool)
                    .await?;
            Ok(totals.into_iter().map(Points::from_milli).collect())
        })
    }

    /// Distinct beds each ward (or only `ward`) had a patient in, for hours
    /// in `[from, to)`: the bed count of a ward whose configuration does not
    /// give one. Read from the `beds` table (a bed counts when its
    /// first-to-last-seen span meets the range), not by scanning history.
    pub async fn beds_seen(
        &self,
        ward: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<BTreeMap<String, u32>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT ward, COUNT(*) AS beds FROM beds \
                 WHERE ($1 IS NULL OR ward = $1) AND last_seen >= $2 AND first_seen < $3 GROUP BY ward",
            )
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| Ok((row.try_get::<String, _>("ward")?, count(row.try_get("beds")?)?)))
                .collect()
        })
    }

    /// The most recent run that wrote an hour (outcome `ok` or `partial`).
    pub async fn latest_successful_run(&self) -> Result<Option<Run>> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT id, started_at, finished_at, source, outcome, counts, skipped, retries, error \
                 FROM ingest_runs WHERE outcome IN ('ok', 'partial') ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await?;
            row.map(|row| Ok(run!(row))).transpose()
        })
    }

    /// Writes an audit entry; returns its id. `detail` must hold no patient
    /// data.
    pub async fn audit(&self, actor: &str, action: &str, detail: &serde_json::Value) -> Result<i64> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(Utc::now())
                .bind(actor)
                .bind(action)
                .bind(Json(detail))
                .fetch_one(pool)
                .await?)
        })
    }

    /// The most recent audit entries, newest first.
    pub async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT id, at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let Json(detail) = row.try_get("detail")?;
                    Ok(AuditEntry {
                        id: row.try_get("id")?,
                        at: row.try_get("at")?,
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        detail,
                    })
                })
                .collect()
        })
    }

    /// Retention: removes patient and unit rows of hours before `cutoff`.
    /// Runs, weights versions, the audit log and the ward/team/bed tables
    /// are kept.
    ///
    /// On PostgreSQL, whole monthly partitions of `patient_hours` that end at
    /// or before `cutoff` are dropped first (cheap, and the disk space comes
    /// back at once); what remains before `cutoff` is deleted row by row in
    /// one transaction, as on SQLite.
    pub async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<Purged> {
        let mut purged = Purged::default();
        if let Store::Postgres(pool) = self {
            (purged.partitions_dropped, purged.patient_hours) = drop_partitions_before(pool, cutoff).await?;
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            purged.patient_hours += sqlx::query("DELETE FROM patient_hours WHERE hour < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            purged.unit_hours = sqlx::query("DELETE FROM unit_hours WHERE hour < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // segments: those wholly before the cutoff go, those across it
            // start at it (one patient's segments on a ward and team never
            // overlap, so the key stays unique)
            sqlx::query("DELETE FROM patient_segments WHERE last_hour < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE patient_segments SET first_hour = $1 WHERE first_hour < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(purged)
    }

    /// The PostgreSQL pool, for operational queries and tests; `None` on
    /// SQLite.
    pub fn postgres_pool(&self) -> Option<&PgPool> {
        match self {
            Store::Postgres(pool) => Some(pool),
            Store::Sqlite(_) => None,
        }
    }
}

/// The unit rows of a rollup: hospital, then each ward, then its teams.
fn unit_rows(rollup: &Rollup) -> Vec<(Level, &str, &str, &Totals)> {
    let mut rows = vec![(Level::Hospital, "", "", &rollup.hospital)];
    for (ward, w) in &rollup.wards {
        rows.push((Level::Ward, ward.as_str(), "", &w.totals));
        for (team, t) in &w.teams {
            rows.push((Level::Team, ward.as_str(), team.as_str(), t));
        }
    }
    rows
}

/// The year and month of a partition named like [`month_partition`] does;
/// `None` for any other name (the default partition, something an operator
/// made).
fn partition_month(name: &str) -> Option<DateTime<Utc>> {
    let rest = name.strip_prefix("patient_hours_y")?;
    let (y, m) = rest.split_once('m')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// Drops the monthly partitions of `patient_hours` whose month ends at or
/// before `cutoff`. Returns how many, and the rows they held.
async fn drop_partitions_before(pool: &PgPool, cutoff: DateTime<Utc>) -> Result<(u32, u64)> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'patient_hours'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let (mut dropped, mut rows) = (0, 0);
    for name in names {
        let Some(month) = partition_month(&name) else { continue };
        let (canonical, _, end) = month_partition(month);
        // Only names this store made (and so safe in DDL) are dropped.
        if canonical != name || end > cutoff {
            continue;
        }
        let mut tx = pool.begin().await?;
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {name}"))
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(&format!("DROP TABLE {name}")).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!(partition = %name, rows = n, "retention dropped a month of patient history");
        dropped += 1;
        rows += unsigned(n)?;
    }
    Ok((dropped, rows))
}

/// Creates the month's partition of `patient_hours` when it is missing.
///
/// Outside the write transaction on purpose: `CREATE TABLE … PARTITION OF`
/// takes a lock on the parent that would block readers until commit. The
/// name and bounds come from the hour alone (no user text reaches the DDL).
async fn ensure_partition(pool: &PgPool, hour: DateTime<Utc>) -> Result<()> {
    let (name, from, to) = month_partition(hour);
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(&name)
        .fetch_one(pool)
        .await?;
    if exists.is_none() {
        let fmt = "%Y-%m-%d %H:%M:%S+00";
        sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF patient_hours FOR VALUES FROM ('{}') TO ('{}')",
            from.format(fmt),
            to.format(fmt)
        ))
        .execute(pool)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_columns_follow_component_keys() {
        for (c, column) in Component::ALL.into_iter().zip(COMPONENT_COLUMNS) {
            assert_eq!(format!("{}_milli", c.key()), column);
        }
    }

    #[test]
    fn month_partitions_cover_a_calendar_month_in_utc() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let cases = [
            (
                "2026-11-23T12:00:00Z",
                "patient_hours_y2026m11",
                "2026-11-01T00:00:00Z",
                "2026-12-01T00:00:00Z",
            ),
            (
                "2026-12-31T23:00:00Z",
                "patient_hours_y2026m12",
                "2026-12-01T00:00:00Z",
                "2027-01-01T00:00:00Z",
            ),
            (
                "2027-01-01T00:00:00Z",
                "patient_hours_y2027m01",
                "2027-01-01T00:00:00Z",
                "2027-02-01T00:00:00Z",
            ),
        ];
        for (hour, name, from, to) in cases {
            assert_eq!(month_partition(t(hour)), (name.to_owned(), t(from), t(to)), "{hour}");
        }
    }

    #[test]
    fn hour_of_truncates_to_the_hour() {
        let t = DateTime::parse_from_rfc3339("2026-11-23T12:34:56.789Z").map(|d| d.with_timezone(&Utc));
        let h = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z").map(|d| d.with_timezone(&Utc));
        assert_eq!(t.map(hour_of).ok(), h.ok());
    }
}
