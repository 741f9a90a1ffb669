//! A cache of built responses for the read-heavy routes (ward JSON, ward
//! history and forecast, hospital overview, the screens).
//!
//! The data behind them changes once an hour, when a run writes its hour;
//! every screen of a hospital polls the same few pages. So each response is
//! built once and served from memory to everyone with the same key, and is
//! rebuilt when it is older than its [`TTL_SECONDS`] time bucket, when
//! [`crate::AppState::run_finished`] says a run wrote an hour (the service's
//! scheduler calls it after each source's run; an API running apart from
//! the writer shows a new hour within [`TTL_SECONDS`] of its commit), or
//! when [`crate::AppState::data_changed`] says a user's write changed it
//! (then nothing built before is served again). The staleness flag and
//! "built at" time on a page are that old at most, plus one rebuild.
//!
//! **Stale while revalidate, for the keys asked for often.** The first
//! request for a key builds it, and concurrent requests for that key wait
//! for that one build. A value that is out of date but was built in this
//! time bucket or the last (at most 2 × [`TTL_SECONDS`] ago: a key screens
//! poll) is served as it is while a task of its own rebuilds it, so that no
//! request waits for a rebuild: a run that writes ([`ResponseCache::renew`])
//! while two hundred screens poll shows in none of their latencies, and
//! the new hour is served once its rebuild is done (milliseconds later).
//! The rebuild goes on if that request's client goes away; a failed one is
//! logged and never cached, and the next request starts another. A value
//! older than that (a key asked for rarely, e.g. one screen's page every
//! five minutes) is rebuilt for the request that finds it, which waits, so
//! a rarely read page is never a poll behind.
//!
//! **Access is checked on what is served.** A value may be an earlier
//! hour's, so a route whose access depends on the data (a ward-scoped token
//! reading a department, a hospital or the region must cover every ward the
//! view shows) checks the caller against the wards the served value itself
//! shows ([`Cached::wards`]), after taking it from the cache, never against
//! a read of its own at another moment.
//!
//! Keys hold the route and its parameters, never a token's secret; a page
//! that embeds the caller's `?token=` in its links keys on a hash of it.
//! The cache holds at most [`MAX_ENTRIES`] keys; keys not asked for during a
//! whole bucket are dropped when the next bucket starts, and past the limit
//! responses are built without the cache.
//!
//! **Compressed once.** A built body of [`GZIP_MIN_BYTES`] or more keeps a
//! gzip copy beside it, made when it is built, so a client that sends
//! `Accept-Encoding: gzip` (every browser on a ward screen does) is sent the
//! smaller copy at no cost per request: [`crate::layers::around`] chooses
//! between the two and says `Vary: accept-encoding`.

use std::collections::HashMap;
use std::future::Future;
use std::io::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use tokio::sync::OnceCell;
use tracing::Instrument as _;

use crate::error::Result;

/// Seconds a built response is served for.
pub const TTL_SECONDS: i64 = 10;
/// Entries per bucket at most.
pub const MAX_ENTRIES: usize = 10_000;
/// Bodies this long or longer keep a gzip copy (shorter ones gain less than
/// the headers cost).
pub const GZIP_MIN_BYTES: usize = 1024;

/// A built response: its body, its gzip copy, its content type and, for a
/// view of several wards, the wards it shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    /// The body.
    pub body: Bytes,
    /// The body gzip-compressed, when it is [`GZIP_MIN_BYTES`] or longer and
    /// the copy is smaller.
    pub gzip: Option<Bytes>,
    /// `application/json` or `text/html; charset=utf-8`.
    pub content_type: &'static str,
    /// The wards the body shows, when it is a view of several (a
    /// department, a hospital, the region; [`Cached::showing`]). A
    /// ward-scoped caller is checked against these — the wards of the body
    /// it is about to be served, which may be an earlier hour's — never
    /// against a read of its own at another moment.
    pub wards: Option<Arc<[String]>>,
}

/// A response's gzip copy, carried from [`Cached`]'s response to
/// [`crate::layers::around`], which sends it or drops it.
#[derive(Clone, Debug)]
pub struct Gzipped(pub Bytes);

impl Cached {
    /// A JSON body.
    ///
    /// # Errors
    /// [`crate::Error::Internal`] when the value cannot be serialised.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<Cached> {
        let body = serde_json::to_vec(value).map_err(|e| crate::Error::Internal(format!("serialise: {e}")))?;
        Ok(Cached::new(body, "application/json"))
    }

    /// An HTML page.
    pub fn html(page: String) -> Cached {
        Cached::new(page.into_bytes(), "text/html; charset=utf-8")
    }

    /// The response, marked as showing `wards` (every ward a row or a sum
    /// of it covers).
    #[must_use]
    pub fn showing(self, wards: Vec<String>) -> Cached {
        Cached {
            wards: Some(wards.into()),
            ..self
        }
    }

    fn new(body: Vec<u8>, content_type: &'static str) -> Cached {
        let gzip = (body.len() >= GZIP_MIN_BYTES)
            .then(|| gzip(&body))
            .filter(|gz| gz.len() < body.len())
            .map(Bytes::from);
        Cached {
            body: Bytes::from(body),
            gzip,
            content_type,
            wards: None,
        }
    }
}

/// `bytes` gzip-compressed at the default level (writing to memory cannot fail).
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 4), flate2::Compression::default());
    encoder
        .write_all(bytes)
        .and_then(|()| encoder.finish())
        .unwrap_or_else(|_| unreachable!("writing to a Vec cannot fail"))
}

impl IntoResponse for Cached {
    fn into_response(self) -> Response {
        let mut response = ([(header::CONTENT_TYPE, self.content_type)], self.body).into_response();
        if let Some(gz) = self.gzip {
            response.extensions_mut().insert(Gzipped(gz));
        }
        response
    }
}

/// When a value's build began: the data generation, then the time bucket
/// (the generation first, so that a clock stepped back never makes a value
/// from before a change look current).
type Stamp = (u64, i64);

/// One key's value and its rebuild state.
#[derive(Default)]
struct Slot {
    /// The last value built, and when.
    value: Option<(Stamp, Cached)>,
    /// True while a task of its own rebuilds the value.
    refreshing: bool,
    /// The build going on, which requests that cannot be served the value
    /// wait for (one build for all of them); replaced once it has built.
    pending: Arc<OnceCell<(Stamp, Cached)>>,
    /// The last bucket the key was asked for.
    used: i64,
}

#[derive(Default)]
struct Inner {
    /// The bucket of the latest request.
    bucket: i64,
    /// Bumped by [`ResponseCache::clear`] and [`ResponseCache::renew`]:
    /// values of older generations are out of date.
    generation: u64,
    /// Set by [`ResponseCache::clear`]: values of older generations are
    /// never served, not even while they are rebuilt.
    floor: u64,
    entries: HashMap<String, Slot>,
}

impl Inner {
    /// Gives every key a fresh build to wait for: a request after a change
    /// never joins a build that began before it (that build goes on, and
    /// keeps its value stamped as it began).
    fn forget_builds(&mut self) {
        for slot in self.entries.values_mut() {
            slot.pending = Arc::default();
        }
    }
}

/// The cache (one per [`crate::AppState`], shared by its clones).
#[derive(Default)]
pub struct ResponseCache {
    inner: Mutex<Inner>,
    /// Where rebuilds behind a previous value run: the runtime the cache
    /// was made on (the service's main runtime, the runs', whose threads
    /// run below the API's: `careload_runner::priority`), so that a
    /// rebuild's serialising and compressing never holds up the API's own
    /// threads; none: the runtime of the request that starts it.
    rebuilds: Option<tokio::runtime::Handle>,
}

/// What a request does with a key.
enum Plan {
    /// Serve this value.
    Serve(Cached),
    /// Wait for the key's build going on, or do it.
    Wait(Arc<OnceCell<(Stamp, Cached)>>),
    /// Start rebuilding the out-of-date value in a task of its own and
    /// serve it meanwhile.
    Refresh(Cached, Arc<OnceCell<(Stamp, Cached)>>),
    /// Build without the cache (it is full).
    Uncached,
}

/// Whether a request may be served a recent value out of date.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Patience {
    /// Yes, while it is rebuilt.
    ServeRecent,
    /// No: wait for the rebuild.
    Wait,
}

/// Clears a slot's `refreshing` flag when the rebuild ends in any way,
/// including its task being dropped mid-build (the runtime shutting down).
struct Refreshing {
    cache: Arc<ResponseCache>,
    key: String,
}

impl Drop for Refreshing {
    fn drop(&mut self) {
        if let Some(slot) = self.cache.lock().entries.get_mut(&self.key) {
            slot.refreshing = false;
        }
    }
}

impl ResponseCache {
    /// A cache whose rebuilds behind a previous value run on the runtime it
    /// is made on, if any (see [`ResponseCache`]).
    pub fn on_this_runtime() -> ResponseCache {
        ResponseCache {
            rebuilds: tokio::runtime::Handle::try_current().ok(),
            ..ResponseCache::default()
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks every built response out of date and unservable: every
    /// request from now on is served a value built after this call (a
    /// user's own write, which the next page must show).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.floor = inner.generation;
        inner.forget_builds();
    }

    /// Marks every built response out of date: each is rebuilt at its next
    /// request, a recent one behind its previous value (an hourly run's
    /// write, which the screens may see a rebuild later).
    pub fn renew(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.forget_builds();
    }

    /// The response for `key` at `now`, built by `build` when needed:
    /// * up to date: served from memory;
    /// * out of date but built in this time bucket or the last (a key asked
    ///   for often): served as it is, while a task of its own rebuilds it —
    ///   no request waits for that rebuild;
    /// * new, or older than that (a key asked for rarely): built for this
    ///   request, and concurrent requests wait for that one build.
    ///
    /// # Errors
    /// What `build` returns when this request waits for it; errors are not cached.
    pub async fn get_or_build<F, Fut>(self: &Arc<Self>, key: String, now: DateTime<Utc>, build: F) -> Result<Cached>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Cached>> + Send + 'static,
    {
        self.get(key, now, build, Patience::ServeRecent).await
    }

    /// The response for `key` at `now` as [`ResponseCache::get_or_build`]
    /// gives it, except that a value out of date is never served: the
    /// request waits for its rebuild (the one going on, or its own). For a
    /// caller the value served was refused to, when a newer one may not be.
    ///
    /// # Errors
    /// What `build` returns; errors are not cached.
    pub async fn get_up_to_date<F, Fut>(self: &Arc<Self>, key: String, now: DateTime<Utc>, build: F) -> Result<Cached>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Cached>> + Send + 'static,
    {
        self.get(key, now, build, Patience::Wait).await
    }

    async fn get<F, Fut>(
        self: &Arc<Self>,
        key: String,
        now: DateTime<Utc>,
        build: F,
        patience: Patience,
    ) -> Result<Cached>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<Cached>> + Send + 'static,
    {
        let bucket = now.timestamp().div_euclid(TTL_SECONDS);
        let (plan, stamp) = {
            let mut inner = self.lock();
            if bucket > inner.bucket {
                // keys nobody asked for during the last bucket go
                let last = inner.bucket;
                inner.entries.retain(|_, slot| slot.used >= last);
                inner.bucket = bucket;
            }
            let stamp = (inner.generation, bucket);
            let floor = inner.floor;
            let full = inner.entries.len() >= MAX_ENTRIES && !inner.entries.contains_key(&key);
            let plan = if full {
                Plan::Uncached
            } else {
                let slot = inner.entries.entry(key.clone()).or_default();
                slot.used = slot.used.max(bucket);
                match &slot.value {
                    Some((at, value)) if *at >= stamp => Plan::Serve(value.clone()),
                    Some(((generation, built), value))
                        if built + 1 >= bucket && *generation >= floor && patience == Patience::ServeRecent =>
                    {
                        if slot.refreshing {
                            Plan::Serve(value.clone())
                        } else {
                            slot.refreshing = true;
                            Plan::Refresh(value.clone(), slot.pending.clone())
                        }
                    }
                    _ => Plan::Wait(slot.pending.clone()),
                }
            };
            (plan, stamp)
        };
        // a build's value carries the stamp of when it began
        let stamped = move || async move { build().await.map(|built| (stamp, built)) };
        match plan {
            Plan::Serve(value) => Ok(value),
            Plan::Uncached => stamped().await.map(|(_, built)| built),
            Plan::Wait(cell) => {
                let (at, built) = cell.get_or_try_init(stamped).await?;
                self.keep(&key, &cell, *at, built);
                Ok(built.clone())
            }
            Plan::Refresh(previous, cell) => {
                let guard = Refreshing {
                    cache: self.clone(),
                    key,
                };
                let rebuild = async move {
                    match cell.get_or_try_init(stamped).await {
                        Ok((at, built)) => guard.cache.keep(&guard.key, &cell, *at, built),
                        Err(e) => tracing::warn!(
                            key = %guard.key.replace('\n', " "),
                            error = %e,
                            "rebuilding a cached response failed; its previous value is served"
                        ),
                    }
                    drop(guard);
                }
                .in_current_span();
                match &self.rebuilds {
                    Some(runtime) => drop(runtime.spawn(rebuild)),
                    None => drop(tokio::spawn(rebuild)),
                }
                Ok(previous)
            }
        }
    }

    /// Keeps `built`, stamped `stamp` (as it was when its build began), as
    /// `key`'s value unless a newer one is kept, and lets the next build
    /// begin afresh.
    fn keep(&self, key: &str, cell: &Arc<OnceCell<(Stamp, Cached)>>, stamp: Stamp, built: &Cached) {
        let mut inner = self.lock();
        if let Some(slot) = inner.entries.get_mut(key) {
            // a value whose build began before a clear() keeps its older generation
            if slot.value.as_ref().is_none_or(|(at, _)| *at < stamp) {
                slot.value = Some((stamp, built.clone()));
            }
            if Arc::ptr_eq(&slot.pending, cell) {
                slot.pending = Arc::default();
            }
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

    async fn get(cache: &Arc<ResponseCache>, key: &str, t: DateTime<Utc>, builds: &Arc<AtomicU32>) -> Result<Cached> {
        let builds = builds.clone();
        cache
            .get_or_build(key.to_owned(), t, move || async move {
                let n = builds.fetch_add(1, Ordering::SeqCst) + 1;
                Ok(Cached::html(format!("build {n}")))
            })
            .await
    }

    /// Waits until no rebuild is going on.
    async fn settled(cache: &ResponseCache) {
        while cache.lock().entries.values().any(|slot| slot.refreshing) {
            tokio::task::yield_now().await;
        }
    }

    fn new() -> (Arc<ResponseCache>, Arc<AtomicU32>) {
        (Arc::default(), Arc::default())
    }

    /// A request for `/` at `t` that starts a rebuild which ends, with
    /// `body`, only when the returned sender is used: what that request
    /// was served, once the rebuild has begun.
    async fn start_slow_rebuild(
        cache: &Arc<ResponseCache>,
        t: DateTime<Utc>,
        body: &'static str,
    ) -> (Cached, tokio::sync::oneshot::Sender<()>) {
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (finish_tx, finish_rx) = tokio::sync::oneshot::channel::<()>();
        let served = cache
            .get_or_build("/".to_owned(), t, move || async move {
                let _ = started_tx.send(());
                let _ = finish_rx.await;
                Ok(Cached::html(body.into()))
            })
            .await
            .unwrap();
        started_rx.await.unwrap();
        (served, finish_tx)
    }

    #[tokio::test]
    async fn a_key_is_built_once_per_bucket_and_rebuilt_behind_the_previous_value() {
        let (cache, builds) = new();
        let a = get(&cache, "/wards/w1", at(0), &builds).await.unwrap();
        let b = get(&cache, "/wards/w1", at(TTL_SECONDS - 1), &builds).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        get(&cache, "/wards/w2", at(1), &builds).await.unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 2, "another key is built");
        let stale = get(&cache, "/wards/w1", at(TTL_SECONDS), &builds).await.unwrap();
        assert_eq!(
            stale, a,
            "the next bucket: served the previous value while it is rebuilt"
        );
        settled(&cache).await;
        assert_eq!(builds.load(Ordering::SeqCst), 3, "rebuilt once");
        let c = get(&cache, "/wards/w1", at(TTL_SECONDS), &builds).await.unwrap();
        assert_ne!(a, c, "then the rebuilt value");
        cache.renew();
        let stale = get(&cache, "/wards/w1", at(TTL_SECONDS), &builds).await.unwrap();
        assert_eq!(stale, c, "a renewed value is served while it is rebuilt");
        settled(&cache).await;
        let d = get(&cache, "/wards/w1", at(TTL_SECONDS), &builds).await.unwrap();
        assert_ne!(c, d, "a renewed cache rebuilds within the bucket");
        let e = get(&cache, "/wards/w1", at(TTL_SECONDS + 1), &builds).await.unwrap();
        assert_eq!(d, e, "and then serves the rebuilt value");
        assert_eq!(builds.load(Ordering::SeqCst), 4);
        let f = get(&cache, "/wards/w1", at(3 * TTL_SECONDS), &builds).await.unwrap();
        assert_ne!(e, f, "a value two buckets old is rebuilt for the request that finds it");
        assert_eq!(f, get(&cache, "/wards/w1", at(3 * TTL_SECONDS), &builds).await.unwrap());
        assert_eq!(builds.load(Ordering::SeqCst), 5);
        cache.clear();
        let g = get(&cache, "/wards/w1", at(3 * TTL_SECONDS), &builds).await.unwrap();
        assert_ne!(f, g, "a cleared value is never served: rebuilt for the request");
        assert_eq!(builds.load(Ordering::SeqCst), 6);
    }

    /// A user's write (`clear`) while a slow rebuild that began before it
    /// goes on: the next request is never served that rebuild's value.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_after_a_clear_never_joins_a_build_that_began_before_it() {
        let (cache, builds) = new();
        let old = get(&cache, "/", at(0), &builds).await.unwrap();
        let (served, finish_tx) = start_slow_rebuild(&cache, at(TTL_SECONDS), "read before the write").await;
        assert_eq!(served, old);
        cache.clear();
        let after = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            get(&cache, "/", at(TTL_SECONDS), &builds),
        )
        .await
        .expect("the request after the clear waited for the build that began before it")
        .unwrap();
        assert_eq!(
            after.body,
            Bytes::from("build 2"),
            "built for the request, after the write"
        );
        finish_tx.send(()).unwrap();
        settled(&cache).await;
        let later = get(&cache, "/", at(TTL_SECONDS), &builds).await.unwrap();
        assert_eq!(
            later.body,
            Bytes::from("build 2"),
            "the older rebuild did not replace it"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_request_waits_for_a_rebuild() {
        let (cache, builds) = new();
        let old = get(&cache, "/", at(0), &builds).await.unwrap();
        // The next bucket: the first request starts a slow rebuild and is
        // served the old value at once, as is everyone after it.
        let (first, finish_tx) = start_slow_rebuild(&cache, at(TTL_SECONDS), "new").await;
        assert_eq!(first, old, "the request that starts the rebuild does not wait for it");
        for _ in 0..20 {
            let v = get(&cache, "/", at(TTL_SECONDS), &builds).await.unwrap();
            assert_eq!(v, old, "served at once, not waiting for the rebuild");
        }
        assert_eq!(builds.load(Ordering::SeqCst), 1, "nobody else rebuilt");
        finish_tx.send(()).unwrap();
        settled(&cache).await;
        let v = get(&cache, "/", at(TTL_SECONDS), &builds).await.unwrap();
        assert_eq!(v.body, Bytes::from("new"));
    }

    #[tokio::test]
    async fn a_failed_rebuild_keeps_the_previous_value_and_the_next_request_rebuilds() {
        let (cache, builds) = new();
        let old = get(&cache, "/", at(0), &builds).await.unwrap();
        let v = cache
            .get_or_build("/".to_owned(), at(TTL_SECONDS), || async {
                Err(Error::Internal("the store is down".into()))
            })
            .await
            .unwrap();
        assert_eq!(v, old);
        settled(&cache).await;
        let v = get(&cache, "/", at(TTL_SECONDS), &builds).await.unwrap();
        assert_eq!(v, old, "the failure was not kept: still the previous value");
        settled(&cache).await;
        let v = get(&cache, "/", at(TTL_SECONDS), &builds).await.unwrap();
        assert_eq!(v.body, Bytes::from("build 2"), "rebuilt, not stuck on the old value");
    }

    #[tokio::test]
    async fn keys_unused_for_a_whole_bucket_are_dropped() {
        let (cache, builds) = new();
        get(&cache, "/a", at(0), &builds).await.unwrap();
        get(&cache, "/b", at(0), &builds).await.unwrap();
        get(&cache, "/a", at(TTL_SECONDS), &builds).await.unwrap();
        assert_eq!(cache.lock().entries.len(), 2, "b was used in the previous bucket");
        settled(&cache).await;
        get(&cache, "/a", at(2 * TTL_SECONDS), &builds).await.unwrap();
        let mut keys: Vec<_> = cache.lock().entries.keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, ["/a"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_wait_for_one_build() {
        let (cache, builds) = new();
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (cache, builds) = (cache.clone(), builds.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_build("/".to_owned(), at(0), || async move {
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_for_a_rarely_read_value_wait_for_one_rebuild() {
        let (cache, builds) = new();
        get(&cache, "/", at(0), &builds).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, builds) = (cache.clone(), builds.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get_or_build("/".to_owned(), at(5 * TTL_SECONDS), || async move {
                        builds.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok(Cached::html("fresh".into()))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(
                t.await.unwrap().unwrap().body,
                Bytes::from("fresh"),
                "none is served the old value"
            );
        }
        assert_eq!(builds.load(Ordering::SeqCst), 2, "the first build and one rebuild");
    }

    #[tokio::test]
    async fn failures_are_not_cached() {
        let (cache, builds) = new();
        let failed = cache
            .get_or_build("/".to_owned(), at(0), || async { Err(Error::Internal("down".into())) })
            .await;
        assert!(failed.is_err());
        get(&cache, "/", at(1), &builds).await.unwrap();
        assert_eq!(builds.load(Ordering::SeqCst), 1, "the next request builds again");
    }

    #[test]
    fn long_bodies_keep_a_gzip_copy_of_themselves() {
        use std::io::Read as _;
        let rows: Vec<serde_json::Value> = (0..200)
            .map(|i| serde_json::json!({"bed": format!("{i:02}"), "total": i * 7 % 23, "band": "as_expected"}))
            .collect();
        let long = Cached::json(&rows).unwrap();
        let gz = long.gzip.as_ref().expect("a long body has a gzip copy");
        assert!(gz.len() * 4 < long.body.len(), "{} of {}", gz.len(), long.body.len());
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_end(&mut back).unwrap();
        assert_eq!(back, long.body);

        let short = Cached::json(&rows[..2]).unwrap();
        assert!(short.body.len() < GZIP_MIN_BYTES);
        assert_eq!(short.gzip, None, "a short body is sent as it is");
        // random bytes do not shrink: no copy larger than the body is kept
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[3]
            })
            .collect();
        let page = Cached::new(noise, "application/octet-stream");
        assert_eq!(page.gzip, None, "gzip of noise is longer than the noise");
    }
}
