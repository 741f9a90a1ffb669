//! The hourly run's lock: replicas sharing one database run each hour once.
//!
//! Two or more `careload serve` processes may serve the API from one
//! PostgreSQL database; each also schedules the hourly runs, and the lock
//! decides which one runs. [`Store::try_lock_runs`] takes a PostgreSQL
//! *session* advisory lock on a connection of its own, outside the pool
//! (the API's pooled connections stay warm): while that connection lives, no other replica gets the lock; when
//! the process dies (killed, power lost), the server sees the connection
//! close and drops the lock at once, so another replica can take over the
//! hour (`careload_runner::Scheduler` polls for it). No other coordinator
//! is needed.
//!
//! A holder whose machine or network dies without closing the connection
//! is found by the server's TCP keepalives on the lock session (set to
//! about a minute), and its lock dropped then.
//!
//! **Fencing.** A replica whose lock connection is cut (a network
//! partition) while it goes on running could otherwise write an hour
//! beside the replica that took over. So the hourly write, given the lock's
//! [`Fence`], checks inside its own transaction, just before it commits,
//! that the lock's session still holds the lock ([`Store::write_hour_fenced`]),
//! and refuses to commit otherwise ([`crate::Error::LockLost`]; the run
//! ends as interrupted and its firing stays due). What is left: a lock
//! lost in the milliseconds between that check and the commit (the other
//! replica's write of the same hour then replaces this one whole, in its
//! own transaction), and a backend pid reused by the server for the next
//! holder's session within one run.
//!
//! **Firings.** A run records the scheduled firing it was for
//! ([`Store::begin_fired_run`]); [`Store::firing_done`] says whether some
//! replica has finished that firing, so that a replica taking the lock
//! late does not run it a second time.
//!
//! **SQLite** is one process's embedded store: the lock is always granted
//! and fences nothing ([`RunLock::exclusive`] is false); the scheduler's
//! own mutex keeps one run at a time within the process.

use chrono::{DateTime, Utc};
use sqlx::{Connection, PgConnection};

use crate::{Result, Store};

/// The advisory lock's key: "careload" in ASCII, a constant no other
/// application on a shared server is likely to use. It is the single
/// `[source]`'s; each named source has a key of its own ([`run_lock_key`]).
pub const RUN_LOCK_KEY: i64 = 0x6361_7265_6c6f_6164;

/// The run lock's key for the source `source_id`: [`RUN_LOCK_KEY`] for the
/// single `[source]` (`""`), else the key with the id's FNV-1a hash mixed
/// into its low half, so each source's hourly runs are locked (and taken
/// over) on their own.
pub fn run_lock_key(source_id: &str) -> i64 {
    if source_id.is_empty() {
        return RUN_LOCK_KEY;
    }
    let mut hash: u32 = 0x811c_9dc5;
    for b in source_id.bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    // never the single source's key, nor the hour writers' (the key + 1,
    // `Dialect::hour_write_lock`)
    let taken = [RUN_LOCK_KEY as u32, (RUN_LOCK_KEY + 1) as u32];
    let low = if taken.contains(&hash) { hash ^ 2 } else { hash };
    (RUN_LOCK_KEY & !0xffff_ffff) | i64::from(low)
}

/// The lock session's keepalives, set on the server's side of its
/// connection (ignored over a Unix socket): idle 30 s, then a probe every
/// 10 s, gone after 3 unanswered.
const KEEPALIVES: [&str; 3] = [
    "SET tcp_keepalives_idle = 30",
    "SET tcp_keepalives_interval = 10",
    "SET tcp_keepalives_count = 3",
];

/// The hourly run's lock, held until [`RunLock::release`] or until it is
/// dropped (its connection closes, and the server drops the lock).
#[derive(Debug)]
pub struct RunLock {
    /// PostgreSQL: the session holding the advisory lock, and its backend
    /// pid; `None` on SQLite.
    held: Option<(PgConnection, i32)>,
    /// The lock's key ([`run_lock_key`]).
    key: i64,
}

/// What the hourly write checks before it commits: the backend process
/// (PostgreSQL session) that holds the run lock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fence {
    pid: i32,
    key: i64,
}

impl RunLock {
    /// Whether the lock excludes other processes (PostgreSQL); on SQLite it
    /// excludes nothing beyond this process.
    pub fn exclusive(&self) -> bool {
        self.held.is_some()
    }

    /// The fence the hourly write checks, on PostgreSQL.
    pub fn fence(&self) -> Option<Fence> {
        self.held.as_ref().map(|(_, pid)| Fence {
            pid: *pid,
            key: self.key,
        })
    }

    /// Unlocks and closes the lock's connection. A failure is ignored: the
    /// connection is closed either way, which drops the lock.
    pub async fn release(mut self) {
        if let Some((mut conn, _)) = self.held.take() {
            let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                .bind(self.key)
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

impl Store {
    /// Takes the hourly run's lock of the source `source_id` (`""`: the
    /// single `[source]`) if no other replica holds it: `None` when one
    /// does. On SQLite always granted (see the module doc).
    ///
    /// # Errors
    /// [`crate::Error::Database`] when no connection can be opened.
    pub async fn try_lock_runs(&self, source_id: &str) -> Result<Option<RunLock>> {
        let key = run_lock_key(source_id);
        match self {
            Store::Sqlite(_) => Ok(Some(RunLock { held: None, key })),
            Store::Postgres(pool) => Self::try_lock_on(pool, key).await,
        }
    }

    /// [`Store::try_lock_runs`] on PostgreSQL.
    async fn try_lock_on(pool: &sqlx::PgPool, key: i64) -> Result<Option<RunLock>> {
        // a connection of its own, outside the pool (whose connections the
        // API keeps warm): the lock lives and dies with it
        let mut conn = PgConnection::connect_with(&pool.connect_options()).await?;
        // a holder whose machine or network dies (no FIN, no RST) is found
        // by the server's keepalives within about a minute, not the
        // operating system's two hours
        for set in KEEPALIVES {
            sqlx::query(set).execute(&mut conn).await?;
        }
        let (locked, pid): (bool, i32) = sqlx::query_as("SELECT pg_try_advisory_lock($1), pg_backend_pid()")
            .bind(key)
            .fetch_one(&mut conn)
            .await?;
        if locked {
            Ok(Some(RunLock {
                held: Some((conn, pid)),
                key,
            }))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }

    /// Whether the scheduled firing `fired_at` of the source `source_id` is
    /// done: a run of that source for it ended
    /// `ok` or `partial` (its hour written), or `failed` on its own (a
    /// source down: the next firing tries again). A run that was
    /// interrupted before writing its hour does not count: its firing is
    /// still to run.
    ///
    /// # Errors
    /// [`crate::Error::Database`].
    pub async fn firing_done(&self, source_id: &str, fired_at: DateTime<Utc>) -> Result<bool> {
        let done: bool = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM ingest_runs WHERE fired_at = $1 AND source_id = $2 \
                 AND finished_at IS NOT NULL \
                 AND (outcome IN ('ok', 'partial') OR (outcome = 'failed' AND COALESCE(error, '') NOT LIKE 'interrupted:%')))",
            )
            .bind(fired_at)
            .bind(source_id)
            .fetch_one(pool)
            .await?
        });
        Ok(done)
    }
}

/// The SQL that checks a [`Fence`] inside the hourly write's transaction:
/// true while the session with that backend pid holds the run lock (an
/// advisory lock on a bigint key is listed with its high half as `classid`,
/// its low half as `objid` and `objsubid` 1).
pub(crate) const FENCE_HELD: &str = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted \
     AND pid = $1 AND objsubid = 1 AND classid::bigint = $2 AND objid::bigint = $3)";

impl Fence {
    /// The fence's parameters for [`FENCE_HELD`]: the pid and the key's
    /// two halves.
    pub(crate) fn params(self) -> (i32, i64, i64) {
        (self.pid, self.key >> 32, self.key & 0xffff_ffff)
    }
}

/// This process's name in the run records: `host:pid`.
pub fn replica_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", std::process::id())
}
