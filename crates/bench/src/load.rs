//! An open-loop HTTP load generator: `careload bench http`'s, shared with
//! the region benchmark ([`crate::region`]).
//!
//! [`open_loop`] keeps [`Load::connections`] keep-alive connections (one
//! client each, [`clients`], built before the schedule's start is chosen:
//! building one loads the TLS roots, and 200 of them take longer than any
//! head start), each
//! sending on a fixed schedule so that together they offer
//! [`Load::rate`] requests per second. Connection `i` asks for
//! `urls[i % urls.len()]`. A request's latency is measured from the moment
//! it was *scheduled*, not sent, so a stalled server is charged for the
//! queue it causes (no coordinated omission). Every request is returned as
//! a [`Sample`] with its scheduled instant; the caller keeps the ones of the
//! window it measures (after a warm-up, during a run, after it).
//!
//! The schedule is kept by a thread of its own (the *pacer*), which sleeps
//! to each request's instant and hands it to its connection's task. An
//! async timer would not do: tokio's has a resolution of one millisecond
//! and rounds every deadline up to its next tick, so each request would be
//! sent up to a millisecond after its instant and charged for it, the
//! server's latency read a millisecond too high and, by how the instants
//! fall between ticks, differently for each path. The pacer's own delay
//! (and any wait for the connection's previous answer) is still charged,
//! and reported apart: [`Sample::send_delay`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// What to offer.
#[derive(Clone, Debug)]
pub struct Load {
    /// The URLs, spread over the connections in turn.
    pub urls: Vec<String>,
    /// Keep-alive connections (clients).
    pub connections: u32,
    /// Requests per second offered, all connections together.
    pub rate: u32,
    /// A bearer token, when the API is not open.
    pub token: Option<String>,
    /// Send `Accept-Encoding: gzip`, as a browser does (bodies are read as
    /// sent, not unpacked).
    pub gzip: bool,
}

/// One request.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Index of its URL in [`Load::urls`].
    pub url: usize,
    /// When it was scheduled.
    pub due: Instant,
    /// From its schedule to its whole body read; `None` when it was not
    /// answered (a connection error).
    pub latency: Option<Duration>,
    /// From its schedule to its sending: the load generator's own delay,
    /// or the connection's previous answer still awaited. Part of
    /// `latency`, reported apart so that a reader sees how much of it is
    /// the generator's.
    pub send_delay: Duration,
    /// The answer's status (0 when none came).
    pub status: u16,
    /// The body could not be read to its end.
    pub body_error: bool,
}

impl Sample {
    /// Answered 2xx with its whole body.
    pub fn ok(&self) -> bool {
        self.latency.is_some() && (200..300).contains(&self.status) && !self.body_error
    }
}

/// When the load ends: the first request scheduled at or after `end`, or
/// once `stop` is set, is not sent.
#[derive(Clone, Debug, Default)]
pub struct Until {
    /// A fixed end.
    pub end: Option<Instant>,
    /// Set by the caller to end the load.
    pub stop: Arc<AtomicBool>,
}

/// One client per connection of `load`, to be built before the schedule's
/// start is chosen: building one loads the TLS roots, and 200 of them take
/// longer than any head start.
///
/// # Errors
/// [`Error::Task`] when a client cannot be built.
pub fn clients(load: &Load) -> Result<Vec<reqwest::Client>> {
    (0..load.connections.max(1))
        .map(|_| {
            reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| Error::Task(format!("cannot build an HTTP client: {e}")))
        })
        .collect()
}

/// Offers `load` over `clients` (one per connection, [`clients`]) from
/// `start` until `until` (see the module documentation).
///
/// # Errors
/// [`Error::Task`] when there is no URL, client or rate, the pacer's
/// thread cannot be started, or a connection's task fails.
pub async fn open_loop(
    load: &Load,
    clients: Vec<reqwest::Client>,
    start: Instant,
    until: &Until,
) -> Result<Vec<Sample>> {
    if load.urls.is_empty() || load.rate == 0 || clients.is_empty() {
        return Err(Error::Task("the load needs a URL, a client and a rate above 0".into()));
    }
    // the connections in turn, one request every 1/rate s: each connection
    // sends every `connections / rate` s, the connections evenly staggered
    let mut tasks = Vec::new();
    let mut connections = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let index = i % load.urls.len();
        let (url, token, gzip) = (load.urls[index].clone(), load.token.clone(), load.gzip);
        let stop = until.stop.clone();
        let (due_tx, mut due_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        connections.push(due_tx);
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            while let Some(due) = due_rx.recv().await {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let send_delay = due.elapsed();
                let mut req = client.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                if gzip {
                    req = req.header(reqwest::header::ACCEPT_ENCODING, "gzip");
                }
                let (latency, status, body_error) = match req.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        // the whole body, as a screen would read it
                        let read = r.bytes().await.is_ok();
                        (Some(due.elapsed()), status, !read)
                    }
                    Err(_) => (None, 0, false),
                };
                seen.push(Sample {
                    url: index,
                    due,
                    latency,
                    send_delay,
                    status,
                    body_error,
                });
            }
            seen
        }));
    }
    let pacer = {
        let every = Duration::from_secs(1).div_f64(f64::from(load.rate));
        let (end, stop) = (until.end, until.stop.clone());
        std::thread::Builder::new()
            .name("careload-pacer".into())
            .spawn(move || {
                // as soon as its instant comes, whatever else runs
                careload_runner::priority::latency_first();
                pace(&connections, start, every, end, &stop);
            })
            .map_err(|e| Error::Task(format!("cannot start the load's pacer: {e}")))?
    };
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| Error::Task(format!("a load task failed: {e}")))?);
    }
    // the tasks end when the pacer has ended and dropped their senders
    drop(pacer);
    Ok(all)
}

/// The pacer: the `j`-th request is due at `start + j × every`, on
/// connection `j mod connections`; each is handed over at its instant (at
/// once when that has passed) until `end` or `stop`. Returning drops the
/// senders, which ends the connections' tasks.
fn pace(
    connections: &[tokio::sync::mpsc::UnboundedSender<Instant>],
    start: Instant,
    every: Duration,
    end: Option<Instant>,
    stop: &AtomicBool,
) {
    for j in 0u32.. {
        let due = start + every * j;
        if end.is_some_and(|end| due >= end) {
            break;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Some(connection) = connections.get(j as usize % connections.len()) else {
            break;
        };
        if connection.send(due).is_err() {
            break;
        }
    }
}

/// The `q`-quantile (0–1) of sorted durations, in milliseconds: the smallest
/// value with at least a share `q` of the values at or below it (NaN when
/// there are none).
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_the_smallest_value_covering_the_share() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert!((quantile_ms(&d, 0.5) - 50.0).abs() < 1e-9);
        assert!((quantile_ms(&d, 0.99) - 99.0).abs() < 1e-9);
        assert!((quantile_ms(&d, 1.0) - 100.0).abs() < 1e-9);
        assert!(quantile_ms(&[], 0.5).is_nan());
    }

    /// A server on loopback answering `/a` and `/b` with their names.
    async fn server() -> std::net::SocketAddr {
        let app = axum::Router::new()
            .route("/a", axum::routing::get(|| async { "a" }))
            .route("/b", axum::routing::get(|| async { "b" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_request_is_sent_on_its_schedule_in_turn_over_the_connections() {
        let addr = server().await;
        let load = Load {
            urls: vec![format!("http://{addr}/a"), format!("http://{addr}/b")],
            connections: 4,
            rate: 200,
            token: None,
            gzip: false,
        };
        let start = Instant::now() + Duration::from_millis(50);
        let until = Until {
            end: Some(start + Duration::from_millis(500)),
            ..Until::default()
        };
        let mut samples = open_loop(&load, clients(&load).unwrap(), start, &until).await.unwrap();
        samples.sort_by_key(|s| s.due);
        // 200/s for 0.5 s: one every 5 ms, the connections in turn (0, 1, 2, 3, 0, …)
        assert_eq!(samples.len(), 100, "requests due before the end");
        for (j, s) in (0u32..).zip(&samples) {
            assert_eq!(s.due, start + Duration::from_millis(5) * j, "request {j}'s instant");
            assert_eq!(s.url, j as usize % 4 % 2, "request {j} on connection {}", j % 4);
            assert!(s.ok(), "request {j}: {s:?}");
            let latency = s.latency.unwrap();
            assert!(
                s.send_delay <= latency,
                "the delay before sending is part of the latency: {s:?}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_load_ends_when_told_and_a_request_refused_is_counted() {
        let addr = server().await;
        let load = Load {
            // a path the server does not have: answered 404, counted, not ok
            urls: vec![format!("http://{addr}/nowhere")],
            connections: 2,
            rate: 100,
            token: None,
            gzip: false,
        };
        let until = Until::default();
        let stop = until.stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            stop.store(true, Ordering::Relaxed);
        });
        let start = Instant::now();
        let samples = open_loop(&load, clients(&load).unwrap(), start, &until).await.unwrap();
        // no more than were due while it ran (it would run for ever if not stopped)
        let due = start.elapsed().as_secs_f64() * 100.0;
        assert!(
            !samples.is_empty() && samples.len() as f64 <= due + 1.0,
            "{} requests, {due:.0} due",
            samples.len()
        );
        assert!(samples.iter().all(|s| s.status == 404 && !s.ok()));
    }
}
