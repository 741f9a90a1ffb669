//! The HTTP server: the accept loop and each connection's HTTP/1.1, with
//! the limits a hospital network needs.
//!
//! * **A cap on open connections** (`api.max_connections`, kept below the
//!   process's file-descriptor limit by the binary): a connection over the
//!   cap is closed as soon as it is accepted, so descriptors never run out
//!   for the store, the EHR and the files, and the listen queue never backs
//!   up behind clients that hold connections. Refusals are counted
//!   (`careload_http_connections_refused_total`) and logged now and then.
//! * **A header-read timeout** (`api.header_read_timeout_secs`): a client
//!   must send a request's headers within it, and a keep-alive connection
//!   may stay idle between requests no longer (hyper starts the same timer
//!   while it waits for the next request). A client that opens connections
//!   and sends nothing, or half a request, is cut off then.
//! * **An accept error** (out of descriptors, `EMFILE`) waits 100 ms instead
//!   of spinning, and is logged.
//! * **Shutdown** stops accepting, asks every connection to finish its
//!   request in flight and close, and waits for them at most 10 seconds.
//!
//! The client's address goes into each request as axum's
//! [`ConnectInfo`], as `into_make_service_with_connect_info` would, for the
//! rate limit.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use crate::{AppState, Result, router};

/// How long shutdown waits for the connections' requests in flight.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long the accept loop waits after an accept error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Connections refused for the cap, since start (for `/metrics`).
pub(crate) static REFUSED: AtomicU64 = AtomicU64::new(0);

/// The connection limits of [`serve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest wait for a request's headers, or between requests.
    pub header_read_timeout: Duration,
}

impl Limits {
    /// The limits of `[api]`.
    pub fn from_config(api: &careload_config::ApiConfig) -> Limits {
        Limits {
            max_connections: api.max_connections.max(1),
            header_read_timeout: Duration::from_secs(api.header_read_timeout_secs.max(1)),
        }
    }
}

/// Serves [`router`] on `listener` until `shutdown` completes, under the
/// [`Limits`] of the state's configuration.
///
/// # Errors
/// None today: accept errors are retried and connection errors end their
/// connection only; the `Result` is kept for the callers.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let limits = Limits::from_config(&state.config.api);
    let app = router(state);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (closing_tx, closing) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!(error = %e, "cannot accept a connection (out of file descriptors?); retrying shortly");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            refuse(stream, limits.max_connections);
            continue;
        };
        let app = app.clone();
        let closing = closing.clone();
        connections.spawn(async move {
            connection(stream, peer, app, limits, closing).await;
            drop(permit);
        });
    }
    let _ = closing_tx.send(true);
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still open {} s after shutdown began; closing them",
            SHUTDOWN_GRACE.as_secs()
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// Closes a connection over the cap at once, counted; logs the first
/// refusal and every 1,000th after it (a flood must not flood the log).
fn refuse(stream: TcpStream, max: usize) {
    drop(stream);
    let n = REFUSED.fetch_add(1, Ordering::Relaxed) + 1;
    if n == 1 || n.is_multiple_of(1000) {
        tracing::warn!(
            refused = n,
            max_connections = max,
            "a connection was refused: api.max_connections are open"
        );
    }
}

/// Serves one connection's requests until it closes, times out or the
/// server shuts down.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: axum::Router,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
) {
    // responses go out as soon as they are written: without TCP_NODELAY a
    // response's last small segment can wait for the client's delayed ACK
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!(error = %e, "cannot set TCP_NODELAY on a connection; serving it anyway");
    }
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            app.oneshot(req.map(Body::new))
                .await
                .map_err(|e: Infallible| match e {})
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let mut conn = pin!(builder.serve_connection(TokioIo::new(stream), service));
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        }
        // the value only ever turns true: any change (or a dropped sender) is the shutdown
        _ = closing.changed() => {
            conn.as_mut().graceful_shutdown();
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error while shutting down");
            }
        }
    }
}
