//! The store harness: one test, told on every backend. SQLite in a fresh
//! temporary directory always; PostgreSQL when [`PG_VAR`] names a server
//! (an admin URL whose role may create databases), in a database created
//! for the test and dropped afterwards, pass or fail. Without the variable
//! the PostgreSQL half is skipped with a message — unless `CI` is set,
//! where it must run and its absence fails the test.
//!
//! [`on_every_backend!`](crate::on_every_backend) instantiates each test
//! once per backend as `sqlite::NAME` and `postgres::NAME`; a test is an
//! `async fn(Ctx)` or an `async fn(Store)`. [`PgDatabase`] is the fresh
//! database on its own, for a test that needs more than a store on it.

use std::future::Future;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicU32, Ordering};

use careload_store::Store;
use sqlx::{Connection, Executor, PgConnection};

use crate::TempDir;

/// The variable naming a PostgreSQL server for the tests: an admin URL
/// (`postgres://USER:PASSWORD@HOST:5432/postgres`) whose role may create
/// databases.
pub const PG_VAR: &str = "CARELOAD_TEST_DATABASE_URL";

/// What a test gets: a migrated store on a fresh database, and its URL.
#[derive(Debug)]
pub struct Ctx {
    /// The store, connected and migrated.
    pub store: Store,
    /// The URL it was opened with (to reconnect, or to reach the database
    /// directly).
    pub url: String,
}

impl From<Ctx> for Store {
    fn from(ctx: Ctx) -> Store {
        ctx.store
    }
}

/// A name no other test (or concurrent test run) uses: `name` shortened,
/// the process, a counter and the clock's nanoseconds.
fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let short: String = name.chars().take(24).collect();
    format!(
        "careload_test_{short}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs the test on its own task so that a failed assertion still lets the
/// database be removed; closes the store; hands back the test's panic.
async fn run<F, Fut>(ctx: Ctx, test: F) -> std::thread::Result<()>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let store = ctx.store.clone();
    let result = tokio::spawn(test(ctx)).await;
    store.close().await;
    result.map_err(|e| match e.try_into_panic() {
        Ok(panic) => panic,
        Err(e) => Box::new(e.to_string()),
    })
}

/// `test` on a fresh SQLite file in a temporary directory, removed
/// afterwards; a failure of the test is re-raised.
///
/// # Panics
///
/// When the store cannot be opened, or the test panics.
pub async fn sqlite<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = TempDir::new(&format!("store-{name}"));
    let url = dir.sqlite_url();
    let store = Store::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("open sqlite at {url}: {e}"));
    let result = run(Ctx { store, url }, test).await;
    drop(dir);
    if let Err(panic) = result {
        resume_unwind(panic);
    }
}

/// `test` on a fresh PostgreSQL database, dropped afterwards, when
/// [`PG_VAR`] names a server (see [`PgDatabase::create`] for what happens
/// without it); a failure of the test is re-raised.
///
/// # Panics
///
/// When the database cannot be created, opened or dropped, or the test
/// panics.
pub async fn postgres<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(db) = PgDatabase::create(name).await else {
        return;
    };
    let url = db.url().to_owned();
    let result = match Store::connect(&url).await {
        Ok(store) => run(Ctx { store, url }, test).await,
        Err(e) => Err(Box::new(format!("open postgres: {e}")) as Box<_>),
    };
    db.remove().await;
    if let Err(panic) = result {
        resume_unwind(panic);
    }
}

/// A fresh, empty PostgreSQL database on the server [`PG_VAR`] names,
/// removed (with every connection to it) by [`PgDatabase::remove`].
#[derive(Debug)]
pub struct PgDatabase {
    admin: PgConnection,
    name: String,
    url: String,
}

impl PgDatabase {
    /// Creates a database whose name starts with `name`, or returns `None`
    /// after a skip message when [`PG_VAR`] is not set.
    ///
    /// # Panics
    ///
    /// When `CI` is set and [`PG_VAR`] is not (CI must run the PostgreSQL
    /// half: `.ci/run` starts a server and sets it), or when the server
    /// cannot be reached or refuses the database.
    pub async fn create(name: &str) -> Option<PgDatabase> {
        let Ok(admin_url) = std::env::var(PG_VAR) else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but {PG_VAR} is not; .ci/run must start PostgreSQL"
            );
            eprintln!(
                "{name}: postgres part skipped; set {PG_VAR}=postgres://USER:PASSWORD@HOST:5432/postgres to run it"
            );
            return None;
        };
        let db = unique(name).to_lowercase();
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("connect to {PG_VAR}: {e}"));
        admin
            .execute(format!("CREATE DATABASE {db}").as_str())
            .await
            .unwrap_or_else(|e| panic!("create test database {db}: {e}"));
        let base = admin_url.split('?').next().unwrap_or(&admin_url);
        let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
        let url = format!("{base}/{db}");
        Some(PgDatabase { admin, name: db, url })
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, closing whatever is still connected to it.
    ///
    /// The server's own workers (autovacuum on a busy fresh database) are
    /// not the test role's to terminate: `FORCE` then fails for a moment
    /// ("must be a member of the role whose process is being terminated"),
    /// so the drop is retried for a few seconds before it counts as refused.
    ///
    /// # Panics
    ///
    /// When the server refuses for that long.
    pub async fn remove(mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let mut attempt = 0;
        loop {
            match self.admin.execute(sql.as_str()).await {
                Ok(_) => return,
                Err(_) if attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                Err(e) => panic!("drop test database {}: {e}", self.name),
            }
        }
    }
}

/// Instantiates each test for each backend: `sqlite::NAME` and
/// `postgres::NAME`, each a `#[tokio::test]` on two worker threads (the
/// calling crate needs `tokio` with its `macros` and `rt-multi-thread`
/// features). A test is an `async fn(Ctx)` or an `async fn(Store)`.
///
/// Tests listed after `postgres only:` tell what only PostgreSQL has
/// (monthly partitions) and are instantiated as `postgres::NAME` alone,
/// with no SQLite twin: they run, skip or fail (with `CI` set and no
/// server) exactly as the PostgreSQL half of every other test does.
///
/// ```ignore
/// careload_testkit::on_every_backend!(a_test, another; postgres only: partitions);
/// ```
#[macro_export]
macro_rules! on_every_backend {
    ($($test:ident),* $(,)? $(; postgres only: $($postgres_test:ident),* $(,)?)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::store::sqlite(stringify!($test), |ctx| super::$test(::core::convert::From::from(ctx))).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    $crate::store::postgres(stringify!($test), |ctx| super::$test(::core::convert::From::from(ctx))).await
                }
            )*
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $postgres_test() {
                    $crate::store::postgres(stringify!($postgres_test), |ctx| super::$postgres_test(::core::convert::From::from(ctx))).await
                }
            )*)?
        }
    };
}

/// Every snapshot and score `store` holds for `hour` on `wards`, each as
/// its debug text, sorted: two stores that wrote the same hour give equal
/// lists (the pipelined back-fill's tests compare it with hour-by-hour runs).
///
/// # Panics
/// When the store cannot be read.
pub async fn stored_hour(store: &Store, wards: &[String], hour: chrono::DateTime<chrono::Utc>) -> Vec<String> {
    let mut out = Vec::new();
    for ward in wards {
        for p in store
            .patient_hours(ward, hour, hour + chrono::Duration::hours(1))
            .await
            .unwrap_or_else(|e| panic!("patient hours of {ward}: {e}"))
        {
            let stored = match store.patient_snapshot(hour, &p.key).await {
                Ok(Some(stored)) => stored,
                Ok(None) => panic!("{} is listed at {hour} without a snapshot", p.key.0),
                Err(e) => panic!("patient snapshot at {hour}: {e}"),
            };
            out.push(format!("{stored:?}"));
        }
    }
    out.sort();
    out
}
