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
//! it once per backend, so the two cannot drift apart. What does differ —
//! connection settings, migrations, a few expressions and statements,
//! which backend has partitions — is in one module, `dialect`, which the
//! others ask instead of matching on the backend. Each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`), embedded in the
//! binary and applied by [`Store::connect`]; the tables are the same, the
//! types differ (TEXT vs TIMESTAMPTZ/JSONB) and PostgreSQL partitions
//! `patient_hours` by month.
//!
//! # Modules
//!
//! Each holds its own `impl Store` block.
//!
//! * this file — [`Store`], opening, connecting and migrating, the store's
//!   own upkeep (`ping`, `close`, `size_bytes`), the re-exports;
//! * `dialect` — everything that differs between the backends, and `on_pool!`;
//! * `rows` — column lists, the row-reading macros, stored-integer conversions;
//! * `write` — the hourly write, [`hour_of`], the ingest runs;
//! * `lease` — the hourly run's lock ([`RunLock`]), so that replicas
//!   sharing one PostgreSQL database run each hour once;
//! * `read` — readers of hours, totals, patients and history, [`read_snapshot`];
//! * `retention` — [`Store::purge_before`] and PostgreSQL's monthly
//!   partitions ([`month_partition`]);
//! * `audit` — weights versions as loaded, the audit log;
//! * `units` — wards, teams and beds; `staffing` — planned staffing;
//!   `pins` — patients pinned to their team; `ratings` — the staff's
//!   ratings of their shifts; `activation` — the council's
//!   decisions on weights; `trend` — the exports' and back-tests' reads;
//!   `replicate` — history filled for benchmarks; `fhir` — the FHIR
//!   output's paged reads ([`FhirFilter`]); `model` — the row types;
//!   `error` — [`Error`].
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

// The macros first: `on_pool!` (dialect) and the row readers (rows) are used
// by every module after them.
#[macro_use]
mod dialect;
#[macro_use]
mod rows;

mod activation;
mod audit;
mod error;
mod fhir;
mod lease;
mod model;
mod pins;
mod ratings;
mod read;
mod replicate;
mod retention;
mod staffing;
mod trend;
mod units;
mod write;

pub use activation::Activation;
pub use error::{Error, Result};
pub use fhir::{FhirFilter, Written};
/// How many hours behind the newest source's hour a source may be and
/// still be waited for ([`Store::settled_hour`]): an offset or a failed
/// run puts a source one hour behind; further back it is down.
pub const SOURCE_DOWN_HOURS: i64 = 2;

pub use lease::{Fence, RUN_LOCK_KEY, RunLock, replica_name, run_lock_key};
pub use model::{
    AuditEntry, Bed, ConfiguredWard, CurrentHour, INTERRUPTED, Level, Outcome, PatientHour, Purged, Run, RunId,
    RunReport, SourceHour, Team, UnitHour, Ward, WeightsVersion,
};
pub use pins::Pin;
pub use ratings::{NewRating, Rating, RatingId, RatingSource};
pub use read::read_snapshot;
pub use retention::month_partition;
pub use trend::{DistinctPatients, StoredPatientHour};
pub use write::hour_of;

use dialect::Dialect;
use rows::unsigned;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

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
pub(crate) enum Opening {
    Create,
    Existing(Access),
}

impl Store {
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
        let migrator = self.dialect().migrator();
        on_pool!(self, pool => migrator.run(pool).await?);
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
        let wanted: Vec<i64> = store.dialect().migrator().iter().map(|m| m.version).collect();
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
        Dialect::of_url(url)?.open(url, opening).await
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.dialect().name()
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
        let query = self.dialect().size_bytes();
        let bytes: i64 = on_pool!(self, pool => sqlx::query_scalar(query).fetch_one(pool).await?);
        unsigned(bytes)
    }
}
