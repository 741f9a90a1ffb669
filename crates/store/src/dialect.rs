//! The differences between the backends, in one place: which backend a
//! database URL names and how its pool is opened, its embedded migrations,
//! and the SQL that is not the same on SQLite and PostgreSQL — where a
//! snapshot is written and how it is read back as bytes, the packed series
//! aggregate, the database's size, the copy of an hour to earlier hours —,
//! and which backend partitions `patient_hours` by month.
//!
//! Everything else is written once, in SQL both databases accept (numbered
//! `$n` parameters, `ON CONFLICT … DO UPDATE`, `RETURNING`), and run on
//! either pool by `on_pool!`, which expands it once per backend so the two
//! cannot drift apart. The other modules ask this one ([`Store::dialect`],
//! [`Store::partitioned`]) rather than match on the backend themselves.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use crate::{Access, Error, Opening, Result, Store};

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

/// The hour writers of SQLite stores in this process, one at a time (an
/// embedded store has one process; several sources' runs write at once).
pub(crate) static SQLITE_HOUR_WRITES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// SQLite's migrations (`migrations/sqlite`), embedded.
static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
/// PostgreSQL's migrations (`migrations/postgres`), embedded: the same
/// tables, other types, and `patient_hours` partitioned by month.
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A backend, for what differs between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// SQLite: times as RFC 3339 text, JSON as text, snapshots as a BLOB in
    /// `snapshot`, no partitions.
    Sqlite,
    /// PostgreSQL: `TIMESTAMPTZ`, `JSONB`, snapshots as `BYTEA` in
    /// `snapshot_bin`, `patient_hours` partitioned by month.
    Postgres,
}

impl Dialect {
    /// The backend a database URL names, by its scheme.
    ///
    /// # Errors
    /// [`Error::UnsupportedUrl`] for any scheme but `sqlite`, `postgres` and
    /// `postgresql`.
    pub(crate) fn of_url(url: &str) -> Result<Dialect> {
        match url.split(':').next().unwrap_or_default() {
            "sqlite" => Ok(Dialect::Sqlite),
            "postgres" | "postgresql" => Ok(Dialect::Postgres),
            other => Err(Error::UnsupportedUrl {
                scheme: other.to_owned(),
            }),
        }
    }

    /// `sqlite` or `postgres`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
        }
    }

    /// The backend's embedded migrations.
    pub(crate) fn migrator(self) -> &'static Migrator {
        match self {
            Dialect::Sqlite => &SQLITE_MIGRATIONS,
            Dialect::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// The pool of the database `url` names, and the file or database it is
    /// (never a password), with the backend's connection settings (see
    /// `Store::open_pool`).
    pub(crate) async fn open(self, url: &str, opening: Opening) -> Result<(Store, String)> {
        let read_only = opening == Opening::Existing(Access::ReadOnly);
        Ok(match self {
            Dialect::Sqlite => {
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
            Dialect::Postgres => {
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
        })
    }

    /// The column a snapshot is written to, in its binary form (see the
    /// crate's docs).
    pub(crate) fn snapshot_column(self) -> &'static str {
        match self {
            Dialect::Sqlite => "snapshot",
            Dialect::Postgres => "snapshot_bin",
        }
    }

    /// A select expression for a row's snapshot as bytes, whichever form
    /// it was written in; read it with [`crate::read_snapshot`].
    pub(crate) fn snapshot_bytes(self) -> &'static str {
        match self {
            // a BLOB stays itself, JSON text becomes its UTF-8 bytes
            Dialect::Sqlite => "CAST(snapshot AS BLOB)",
            Dialect::Postgres => "COALESCE(snapshot_bin, convert_to(snapshot::text, 'UTF8'))",
        }
    }

    /// The statement that serialises the writers of hours inside their
    /// transactions, so that each source's write of an hour sees the
    /// others' committed rows (`Store::write_hour_fenced` sums them into
    /// the hospital's row): a transaction-scoped advisory lock on
    /// PostgreSQL; none on SQLite, whose writers in this process take
    /// [`SQLITE_HOUR_WRITES`] instead (one writer at a time, and a source's
    /// long write never runs another's into the busy timeout).
    pub(crate) fn hour_write_lock(self) -> Option<&'static str> {
        match self {
            Dialect::Sqlite => None,
            // "careload" + 1: not the run lock's key
            Dialect::Postgres => Some("SELECT pg_advisory_xact_lock(7161130662432301413)"),
        }
    }

    /// An aggregate packing a patient's rows into text, `epoch-hour:milli,…`
    /// in hour order (`Store::ward_patient_series`).
    pub(crate) fn packed_series(self) -> &'static str {
        match self {
            Dialect::Sqlite => {
                "group_concat((CAST(strftime('%s', hour) AS INTEGER) / 3600) || ':' || total_milli, ',' ORDER BY hour)"
            }
            Dialect::Postgres => {
                "string_agg((EXTRACT(EPOCH FROM hour)::bigint / 3600)::text || ':' || total_milli::text, ',' ORDER BY hour)"
            }
        }
    }

    /// A query for the database's size in bytes (PostgreSQL: the whole
    /// database; SQLite: the main file's pages, without the write-ahead log).
    pub(crate) fn size_bytes(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            Dialect::Postgres => "SELECT pg_database_size(current_database())",
        }
    }

    /// The statement copying the patient rows of hour `$1` to the hours `k`
    /// = `$2..=$3` before it (hour and `as_of` moved back `k` hours),
    /// `kept` columns unchanged; copies with `k > $4` keep `{}` in place of
    /// the snapshot and score (`Store::replicate_hour`).
    pub(crate) fn replicate_patients(self, kept: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "{}INSERT INTO patient_hours (hour, as_of, snapshot, score, {kept}) \
                 SELECT {}, {}, CASE WHEN k.n > $4 THEN '{{}}' ELSE p.snapshot END, \
                 CASE WHEN k.n > $4 THEN '{{}}' ELSE p.score END, {kept} \
                 FROM patient_hours p, k WHERE p.hour = $1",
                SQLITE_HOURS_BACK,
                sqlite_hours_back("p.hour"),
                sqlite_hours_back("p.as_of"),
            ),
            Dialect::Postgres => format!(
                "INSERT INTO patient_hours (hour, as_of, snapshot, snapshot_bin, score, {kept}) \
                 SELECT p.hour - make_interval(hours => k), p.as_of - make_interval(hours => k), \
                 CASE WHEN k > $4 THEN '{{}}'::jsonb ELSE p.snapshot END, \
                 CASE WHEN k > $4 THEN NULL ELSE p.snapshot_bin END, \
                 CASE WHEN k > $4 THEN '{{}}'::jsonb ELSE p.score END, {kept} \
                 FROM patient_hours p, generate_series($2::int, $3::int) AS k WHERE p.hour = $1"
            ),
        }
    }

    /// The statement copying the unit rows of hour `$1` to the hours
    /// `$2..=$3` before it, `kept` columns unchanged.
    pub(crate) fn replicate_units(self, kept: &str) -> String {
        match self {
            Dialect::Sqlite => format!(
                "{}INSERT INTO unit_hours (hour, {kept}) \
                 SELECT {}, {kept} FROM unit_hours u, k WHERE u.hour = $1",
                SQLITE_HOURS_BACK,
                sqlite_hours_back("u.hour"),
            ),
            Dialect::Postgres => format!(
                "INSERT INTO unit_hours (hour, {kept}) \
                 SELECT u.hour - make_interval(hours => k), {kept} \
                 FROM unit_hours u, generate_series($2::int, $3::int) AS k WHERE u.hour = $1"
            ),
        }
    }
}

/// SQLite's series of hours back, `k(n)` for `n` in `$2..=$3`, as a
/// statement's prefix.
const SQLITE_HOURS_BACK: &str = "WITH RECURSIVE k(n) AS (SELECT $2 UNION ALL SELECT n + 1 FROM k WHERE n < $3) ";

/// SQLite's time column `col` moved back `k.n` hours. Times are TEXT in
/// sqlx's RFC 3339 form; strftime keeps it.
fn sqlite_hours_back(col: &str) -> String {
    format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', {col}, '-' || k.n || ' hours')")
}

impl Store {
    /// The store's backend, for the SQL that differs.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Store::Sqlite(_) => Dialect::Sqlite,
            Store::Postgres(_) => Dialect::Postgres,
        }
    }

    /// A select expression for a row's snapshot as bytes (see
    /// [`Dialect::snapshot_bytes`]).
    pub(crate) fn snapshot_bytes(&self) -> &'static str {
        self.dialect().snapshot_bytes()
    }

    /// The pool of a store whose `patient_hours` is partitioned by month
    /// (PostgreSQL's), for creating and dropping partitions; `None` on
    /// SQLite, which has none.
    pub(crate) fn partitioned(&self) -> Option<&PgPool> {
        self.postgres_pool()
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

#[cfg(test)]
mod tests {
    use super::Dialect;
    use crate::Error;

    #[test]
    fn the_url_scheme_names_the_backend() {
        for (url, name) in [
            ("sqlite://careload.db?mode=rwc", "sqlite"),
            ("postgres://u:p@h:5432/careload", "postgres"),
            ("postgresql://u:p@h/careload", "postgres"),
        ] {
            assert_eq!(Dialect::of_url(url).map(Dialect::name).ok(), Some(name), "{url}");
        }
        assert!(matches!(
            Dialect::of_url("mysql://h/db"),
            Err(Error::UnsupportedUrl { scheme }) if scheme == "mysql"
        ));
    }
}
