//! A short-lived cache of built responses for the read-heavy routes (ward
//! JSON, ward history and forecast, hospital overview, the screens).
//!
//! The data behind them changes once an hour, when a run writes its hour;
//! every screen of a hospital polls the same few pages. So each response is
//! built once per [`TTL_SECONDS`] time bucket and served from memory to
//! everyone else with the same key: concurrent requests for a key that is
//! being built wait for that one build instead of each querying the store.
//! A writer in the same process (the service's scheduler) calls
//! [`crate::AppState::data_changed`] after each run, which empties the
//! cache; an API running apart from the writer shows a new hour within
//! [`TTL_SECONDS`] of its commit. The staleness flag and "built at" time on
//! a page are at most that old.
//!
//! Keys hold the route and its parameters, never a token's secret; a page
//! that embeds the caller's `?token=` in its links keys on a hash of it.
//! Failed builds are not cached. The cache holds at most [`MAX_ENTRIES`]
//! entries per bucket; past that, responses are built without it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;

use crate::error::Result;

/// Seconds a built response is served for.
pub const TTL_SECONDS: i64 = 10;
/// Entries per bucket at most.
pub const MAX_ENTRIES: usize = 10_000;

/// A built response: its body and content type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    /// The body.
    pub body: Bytes,
    /// `application/json` or `text/html; charset=utf-8`.
    pub content_type: &'static str,
}

impl Cached {
    /// A JSON body.
    ///
    /// # Errors
    /// [`crate::Error::Internal`] when the value cannot be serialised.
    pub fn json<T: serde::Serialize>(value: &T) -> Result<Cached> {
        let body = serde_json::to_vec(value).map_err(|e| crate::Error::Internal(format!("serialise: {e}")))?;
        Ok(Cached {
            body: Bytes::from(body),
            content_type: "application/json",
        })
    }

    /// An HTML page.
    pub fn html(page: String) -> Cached {
        Cached {
            body: Bytes::from(page),
            content_type: "text/html; charset=utf-8",
        }
    }
}

impl IntoResponse for Cached {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, self.content_type)], self.body).into_response()
    }
}

#[derive(Default)]
struct Inner {
    bucket: i64,
    entries: HashMap<String, Arc<OnceCell<Cached>>>,
}

/// The cache (one per [`crate::AppState`], shared by its clones).
#[derive(Default)]
pub struct ResponseCache {
    inner: Mutex<Inner>,
}

impl ResponseCache {
    /// Drops every built response.
    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.entries.clear();
    }

    /// The response for `key` in the bucket of `now`: built by `build` once,
    /// then served from memory until the bucket ends.
    ///
    /// # Errors
    /// What `build` returns; errors are not cached.
    pub async fn get_or_build<F, Fut>(&self, key: String, now: DateTime<Utc>, build: F) -> Result<Cached>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Cached>>,
    {
        let bucket = now.timestamp().div_euclid(TTL_SECONDS);
        let cell = {
            let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if inner.bucket != bucket {
                inner.entries.clear();
                inner.bucket = bucket;
            }
            if inner.entries.len() >= MAX_ENTRIES && !inner.entries.contains_key(&key) {
                None
            } else {
                Some(inner.entries.entry(key).or_default().clone())
            }
        };
        match cell {
            Some(cell) => cell.get_or_try_init(build).await.cloned(),
            None => build().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use chrono::TimeZone;

    use super::*;
    use crate::Error;

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().unwrap()
    }

    async fn get(cache: &ResponseCache, key: &str, t: DateTime<Utc>, builds: &AtomicU32) -> Result<Cached> {
        cache
            .get_or_build(key.to_owned(), t, || async {
                let n = builds.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Cached::html(format!("build {n}")))
            })
            .await
    }

    #[tokio::test]
    async fn a_key_is_built_once_per_bucket() {
        let cache = ResponseCache::default();
        let builds = AtomicU32::new(0);
        let a = get(&cache, "/wards/w1", at(0), &builds).await.unwrap();
        let b = get(&cache, "/wards/w1", at(TTL_SECONDS - 1), &builds).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        get(&cache, "/wards/w2", at(1), &builds).await.unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 2, "another key is built");
        let c = get(&cache, "/wards/w1", at(TTL_SECONDS), &builds).await.unwrap();
        assert_ne!(a, c, "the next bucket rebuilds");
        cache.clear();
        let d = get(&cache, "/wards/w1", at(TTL_SECONDS), &builds).await.unwrap();
        assert_ne!(c, d, "a cleared cache rebuilds within the bucket");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_wait_for_one_build() {
        let cache = Arc::new(ResponseCache::default());
        let builds = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, builds) = (cache.clone(), builds.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_build("/".to_owned(), at(0), || async {
                        builds.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok(Cached::html("page".into()))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().body, Bytes::from("page"));
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let cache = ResponseCache::default();
        let failed = cache
            .get_or_build("/".to_owned(), at(0), || async { Err(Error::Internal("down".into())) })
            .await;
        assert!(failed.is_err());
        let builds = AtomicU32::new(0);
        get(&cache, "/", at(1), &builds).await.unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 1, "the next request builds again");
    }
}
