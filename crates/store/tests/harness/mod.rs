//! Fresh databases for the storage story: a temporary SQLite file, or a
//! uniquely named PostgreSQL database created through the admin URL in
//! `CARELOAD_TEST_DATABASE_URL` and dropped afterwards.

use std::future::Future;
use std::panic::resume_unwind;
use std::sync::atomic::{AtomicU32, Ordering};

use careload_store::Store;
use sqlx::{Connection, Executor, PgConnection};

/// The variable naming a PostgreSQL server for the story.
pub(crate) const PG_VAR: &str = "CARELOAD_TEST_DATABASE_URL";

/// What a chapter gets: a migrated store on a fresh database, and its URL.
pub(crate) struct Ctx {
    pub(crate) store: Store,
    pub(crate) url: String,
}

/// A name no other test (or concurrent test run) uses.
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

/// Runs the chapter on its own task so that a failed assertion still lets
/// the database be removed; then re-raises it.
async fn run<F, Fut>(ctx: Ctx, chapter: F) -> std::thread::Result<()>
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let store = ctx.store.clone();
    let result = tokio::spawn(chapter(ctx)).await;
    store.close().await;
    result.map_err(|e| match e.try_into_panic() {
        Ok(panic) => panic,
        Err(e) => Box::new(e.to_string()),
    })
}

pub(crate) async fn sqlite<F, Fut>(name: &str, chapter: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let url = format!("sqlite://{}/careload.db?mode=rwc", dir.display());
    let store = Store::connect(&url).await.expect("open sqlite");
    let result = run(Ctx { store, url }, chapter).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = result {
        resume_unwind(panic);
    }
}

pub(crate) async fn postgres<F, Fut>(name: &str, chapter: F)
where
    F: FnOnce(Ctx) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var(PG_VAR) else {
        // CI must run the PostgreSQL half: .ci/run starts a server and sets it.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {PG_VAR} is not; .ci/run must start PostgreSQL"
        );
        eprintln!("{name}: postgres part skipped; set {PG_VAR}=postgres://USER:PASSWORD@HOST:5432/postgres to run it");
        return;
    };
    let db = unique(name).to_lowercase();
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("connect to CARELOAD_TEST_DATABASE_URL");
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create test database");
    let base = admin_url.split('?').next().unwrap_or(&admin_url);
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    let url = format!("{base}/{db}");
    let result = match Store::connect(&url).await {
        Ok(store) => run(Ctx { store, url }, chapter).await,
        Err(e) => Err(Box::new(format!("open postgres: {e}")) as Box<_>),
    };
    admin
        .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await
        .expect("drop test database");
    if let Err(panic) = result {
        resume_unwind(panic);
    }
}

/// Instantiates every chapter for each backend: `sqlite::NAME` and
/// `postgres::NAME`. Chapters listed after `postgres only:` tell what only
/// PostgreSQL has (monthly partitions) and are instantiated as
/// `postgres::NAME` alone, with no SQLite twin: they run, skip or fail (with
/// `CI` set and no server) exactly as the PostgreSQL half of the story does.
macro_rules! story {
    ($($chapter:ident),* $(,)? $(; postgres only: $($postgres_chapter:ident),* $(,)?)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $chapter() {
                    $crate::harness::sqlite(stringify!($chapter), super::$chapter).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $chapter() {
                    $crate::harness::postgres(stringify!($chapter), super::$chapter).await
                }
            )*
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $postgres_chapter() {
                    $crate::harness::postgres(stringify!($postgres_chapter), super::$postgres_chapter).await
                }
            )*)?
        }
    };
}
