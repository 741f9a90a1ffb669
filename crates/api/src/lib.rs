//! careload's HTTP API (`/api/v1`, JSON) and server-rendered ward screens.
//!
//! Entry points (the contract the binary and the runner code against):
//! [`AppState::new`] (or [`AppState::try_new`], which refuses unusable
//! token secrets), [`router`] and [`serve`].
//!
//! * [`routes`] — the route table: path, access (role), parameters and
//!   response of every route; the router and [`openapi`] are built from it.
//! * [`auth`] — role-scoped bearer tokens, constant-time comparison.
//! * [`layers`] — metrics, security headers and CORS, rate limit, body
//!   limit, axum's own refusals as the error contract.
//! * [`params`] — a request's query parameters as the handlers read them.
//! * [`fhir`] — the hourly result as FHIR R4 under `/fhir/r4` (issue 29),
//!   errors there as `OperationOutcome`s.
//! * [`screen`] — the HTML of the views.
//! * [`metrics`] — Prometheus exposition. [`error`] — the one error type.
//!
//! The API is HTTP only: a handler extracts its input, calls a use case of
//! the application layer (`careload-app`: views, history, planning, staffing
//! import, exports, back-test) with the [`careload_app::App`] this state
//! derefs to, and renders what comes back as JSON or HTML. It never calls
//! the EHR; its only writes are the planning inputs (pins, planned
//! staffing), through the application layer.

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use careload_app::App;
use careload_config::Config;
use careload_scoring::Weights;
use careload_store::Store;

pub mod auth;
pub mod cache;
pub mod error;
pub mod export;
pub mod fhir;
mod handlers;
pub mod layers;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod routes;
pub mod screen;
pub mod server;
mod upload;

pub use error::{Error, Result};
pub use server::serve;

/// What every handler shares: one pointer, so that the layers and handlers
/// that each take a copy of it per request pay one reference count, not
/// one per part (profiled under load: cloning and dropping a state of
/// eight reference-counted parts several times per request was a tenth of
/// the server's time).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// The parts of [`AppState`], reached through it; the application
/// ([`App`]: store, configuration, resolved settings, weights in force) is
/// reached through this in turn.
pub struct Shared {
    /// The application the handlers call.
    pub app: App,
    auth: auth::Auth,
    metrics: metrics::Metrics,
    limiter: layers::RateLimiter,
    cache: Arc<cache::ResponseCache>,
}

impl std::ops::Deref for Shared {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    /// The state for [`router`], reading token secrets from the process
    /// environment and files. Secrets that cannot be read, or settings that
    /// cannot be resolved (see [`careload_app::Settings`]), are logged and
    /// then *every* token is refused; use
    /// [`AppState::try_new`] to fail at start-up instead.
    pub fn new(store: Store, config: Arc<Config>, weights: Arc<Weights>) -> AppState {
        let app = App::new(store, config, weights);
        let auth = match app.settings().problems() {
            [] => auth::Auth::load(
                &app.config.api,
                |t| app.config.token_wards(t),
                |k| std::env::var(k).ok(),
            ),
            problems => Err(Error::Config(problems.join("; "))),
        };
        match auth {
            Ok(auth) => AppState::build(app, auth),
            Err(e) => {
                tracing::error!(error = %e, "api state incomplete; every token is refused");
                AppState::build(app, auth::Auth::closed())
            }
        }
    }

    /// The state for [`router`], or the start-up error: a token secret that
    /// is missing (naming the token, never the secret) or a setting that
    /// cannot be resolved (a bad time zone or shift plan).
    ///
    /// # Errors
    /// [`Error::Secret`], [`Error::App`] ([`careload_app::Error::Config`]).
    pub fn try_new(store: Store, config: Arc<Config>, weights: Arc<Weights>) -> Result<AppState> {
        AppState::with_env(store, config, weights, |k| std::env::var(k).ok())
    }

    /// As [`AppState::try_new`], reading `secret_env` variables through `env`.
    ///
    /// # Errors
    /// [`Error::Secret`], [`Error::App`] ([`careload_app::Error::Config`]).
    pub fn with_env(
        store: Store,
        config: Arc<Config>,
        weights: Arc<Weights>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<AppState> {
        let app = App::try_new(store, config, weights)?;
        let auth = auth::Auth::load(&app.config.api, |t| app.config.token_wards(t), env)?;
        Ok(AppState::build(app, auth))
    }

    fn build(app: App, auth: auth::Auth) -> Self {
        AppState(Arc::new(Shared {
            app,
            auth,
            metrics: metrics::Metrics::default(),
            limiter: layers::RateLimiter::default(),
            // made where the service makes its state: on the runs' runtime
            cache: Arc::new(cache::ResponseCache::on_this_runtime()),
        }))
    }
}

impl AppState {
    /// Tells the API that its data changed (a staffing import, a setting, a
    /// catch-up at start): built responses are dropped, so every request
    /// from now on shows the change, rather than within
    /// [`cache::TTL_SECONDS`].
    pub fn data_changed(&self) {
        self.cache.clear();
    }

    /// Tells the API that an hourly run has written (or failed): built
    /// responses are rebuilt, and a page asked for often is served its
    /// previous value meanwhile ([`cache`]), so that no screen's request
    /// waits for a rebuild when ten sources' runs end one after the other.
    /// The new hour is served once its rebuild is done, milliseconds later.
    /// The service's scheduler calls it after every run.
    pub fn run_finished(&self) {
        self.cache.renew();
    }
}

/// Every route: `/api/v1/…`, `/wards/{id}/screen`, `/`, `/healthz`, `/readyz`, `/metrics`,
/// as listed in [`routes::ROUTES`], each behind its access check.
pub fn router(state: AppState) -> axum::Router {
    let mut r = axum::Router::new();
    for spec in routes::ROUTES {
        let method = (spec.handler)().layer(from_fn_with_state((state.clone(), spec), auth::authorize));
        r = r.route(spec.path, method);
    }
    let max_body = state.config.api.max_body_bytes;
    r.fallback(handlers::no_route)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(from_fn_with_state(state.clone(), layers::around))
        .with_state(state)
}

/// [`serve`] on an async runtime of its own, with `threads` worker threads
/// (named `careload-api`), apart from the caller's: the hourly run's work on
/// the caller's runtime (reading FHIR pages, writing the hour) never queues
/// in front of a screen's request, and a single worker serves the cached
/// pages to every connection in turn, which keeps the latency's tail close
/// to its median (docs/benchmarks.md). Each of its threads, the one that
/// accepts connections included, first calls `on_thread_start` (the
/// service: `careload_runner::priority::latency_first`, a short time slice
/// so that a woken API thread takes a core at once). Await
/// [`Serving::finished`] for the server's end; `shutdown` stops it as in
/// [`serve`]. The runtime itself ends only when the [`Serving`] is dropped:
/// the store's pool is shared, and a connection the API's runtime opened in
/// it is served by that runtime's I/O driver, so it must outlive every use
/// of the store (the runs that finish their hour after the API stopped).
/// Drop the `Serving` last.
///
/// # Errors
/// [`Error::Internal`] when the listener cannot be moved to the new
/// runtime, or the runtime or its thread cannot be started.
pub fn spawn_serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    threads: usize,
    on_thread_start: fn(),
) -> Result<Serving> {
    let listener = listener
        .into_std()
        .map_err(|e| Error::Internal(format!("cannot hand the listener to the API's runtime: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("careload-api")
        .on_thread_start(on_thread_start)
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the API's runtime: {e}")))?;
    let (done_tx, done) = tokio::sync::oneshot::channel();
    let (release, released) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("careload-api".into())
        .spawn(move || {
            on_thread_start();
            let result = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .map_err(|e| Error::Internal(format!("cannot serve on the listener: {e}")))?;
                serve(listener, state, shutdown).await
            });
            let _ = done_tx.send(result);
            // the store's connections this runtime opened live as long as
            // it does: it ends when the `Serving` is dropped (no message is
            // ever sent; the channel's end is the signal), here, on its own
            // thread, outside any async context
            let _ = released.recv();
            drop(runtime);
        })
        .map_err(|e| Error::Internal(format!("cannot start the API's thread: {e}")))?;
    Ok(Serving {
        done: Some(done),
        _release: release,
    })
}

/// The API served by [`spawn_serve`].
#[derive(Debug)]
///
/// Dropping it ends the API's runtime (see [`spawn_serve`]).
pub struct Serving {
    done: Option<tokio::sync::oneshot::Receiver<Result<()>>>,
    /// Dropped with the `Serving`, which lets the API's thread end its runtime.
    _release: std::sync::mpsc::Sender<()>,
}

impl Serving {
    /// Completes when the server has shut down (its runtime lives on
    /// until the `Serving` is dropped).
    ///
    /// # Errors
    /// What [`serve`] returned, [`Error::Internal`] when the API's thread
    /// ended without an answer (a panic) or when asked a second time.
    pub async fn finished(&mut self) -> Result<()> {
        let Some(done) = self.done.take() else {
            return Err(Error::Internal("the API's end was already awaited".into()));
        };
        done.await
            .unwrap_or_else(|_| Err(Error::Internal("the API's thread ended without an answer".into())))
    }
}
