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
/// [`Error::Task`] when there is no URL, client or rate, or a connection's
/// task fails.
pub async fn open_loop(
    load: &Load,
    clients: Vec<reqwest::Client>,
    start: Instant,
    until: &Until,
) -> Result<Vec<Sample>> {
    let conns = u32::try_from(clients.len()).unwrap_or(u32::MAX);
    if load.urls.is_empty() || load.rate == 0 || conns == 0 {
        return Err(Error::Task("the load needs a URL, a client and a rate above 0".into()));
    }
    // each connection sends every `interval`, the connections evenly staggered
    let interval = Duration::from_secs_f64(f64::from(conns) / f64::from(load.rate));
    let mut tasks = Vec::new();
    for (i, client) in clients.into_iter().enumerate() {
        let index = i % load.urls.len();
        let (url, token, gzip) = (load.urls[index].clone(), load.token.clone(), load.gzip);
        let (end, stop) = (until.end, until.stop.clone());
        let offset = interval.mul_f64(i as f64 / f64::from(conns));
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut due = start + offset;
            while end.is_none_or(|end| due < end) {
                tokio::time::sleep_until(due.into()).await;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let mut req = client.get(&url);
                if let Some(t) = &token {
                    req = req.bearer_auth(t);
                }
                if gzip {
                    req = req.header(reqwest::header::ACCEPT_ENCODING, "gzip");
                }
                let sample = match req.send().await {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        // the whole body, as a screen would read it
                        let read = r.bytes().await.is_ok();
                        Sample {
                            url: index,
                            due,
                            latency: Some(due.elapsed()),
                            status,
                            body_error: !read,
                        }
                    }
                    Err(_) => Sample {
                        url: index,
                        due,
                        latency: None,
                        status: 0,
                        body_error: false,
                    },
                };
                seen.push(sample);
                due += interval;
            }
            seen
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.map_err(|e| Error::Task(format!("a load task failed: {e}")))?);
    }
    Ok(all)
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
}
