//! The store's one error type.

use crate::RunId;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database URL names no backend this build knows.
    #[error(
        "unsupported database url scheme {scheme:?}; use sqlite://PATH?mode=rwc or postgres://USER:PASSWORD@HOST:PORT/DATABASE"
    )]
    UnsupportedUrl {
        /// The scheme given (never the whole URL: it may hold a password).
        scheme: String,
    },
    /// The database could not be reached or opened.
    #[error("cannot open the database: {0}; check the database url and that the server is running")]
    Connect(#[source] sqlx::Error),
    /// A command that needs an existing store found no database there.
    #[error(
        "no history store at {place}: nothing was created; give the store the service writes (--db or database.url), e.g. sqlite://careload.db"
    )]
    MissingStore {
        /// The file or database looked for (never a password).
        place: String,
    },
    /// A command that reads history found a store without any hour.
    #[error(
        "the history store at {place} holds no hour yet; give the store the service writes, or let it run an hour first"
    )]
    EmptyStore {
        /// The file or database looked at (never a password).
        place: String,
    },
    /// A store opened read-only lacks migrations this build has.
    #[error(
        "the history store at {place} was written by an older careload ({missing} migration(s) not applied); start `careload serve` or `careload ingest --once` on it once to migrate it, then read it"
    )]
    Outdated {
        /// The file or database (never a password).
        place: String,
        /// How many of this build's migrations it lacks.
        missing: usize,
    },
    /// Embedded migrations could not be applied.
    #[error("cannot migrate the database: {0}; applied migrations must never be edited, add a new one instead")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A write broke a constraint of the schema (duplicate key, unknown
    /// reference, bad value). Nothing of that write was kept.
    #[error("write refused by constraint {constraint:?} ({kind}): {message}")]
    Constraint {
        /// The constraint's name, when the database says it.
        constraint: String,
        /// `unique`, `foreign key`, `not null` or `check`.
        kind: &'static str,
        /// The database's message.
        message: String,
    },
    /// A weights version was recorded before with other content.
    #[error(
        "weights version {version} is already recorded with digest {stored}, not {given}; a changed weights file needs a new version"
    )]
    WeightsChanged {
        /// The version.
        version: String,
        /// The digest on record.
        stored: String,
        /// The digest offered now.
        given: String,
    },
    /// No ingest run has this id.
    #[error("no ingest run {0}; begin a run before finishing it")]
    UnknownRun(RunId),
    /// The caller passed something the store cannot keep.
    #[error("{0}")]
    Invalid(String),
    /// A stored snapshot that does not read back: damaged, or written by a
    /// newer careload.
    #[error("a stored snapshot cannot be read: {0}")]
    Snapshot(String),
    /// The hourly write found that this process no longer holds the run
    /// lock (its lock connection was cut): nothing was written, another
    /// replica may run the hour.
    #[error(
        "this replica lost the hourly run's lock (its database connection for the lock was cut); nothing of the hour was written, another replica runs it"
    )]
    LockLost,
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        use sqlx::error::ErrorKind;
        if let sqlx::Error::Database(db) = &e {
            let kind = match db.kind() {
                ErrorKind::UniqueViolation => Some("unique"),
                ErrorKind::ForeignKeyViolation => Some("foreign key"),
                ErrorKind::NotNullViolation => Some("not null"),
                ErrorKind::CheckViolation => Some("check"),
                _ => None,
            };
            if let Some(kind) = kind {
                return Error::Constraint {
                    constraint: db.constraint().unwrap_or_default().to_owned(),
                    kind,
                    message: db.message().to_owned(),
                };
            }
        }
        Error::Database(e)
    }
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
