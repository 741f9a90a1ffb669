//! The simulated hospital served as a FHIR R4 (4.0.1) REST API over HTTP:
//! the FHIR server of the demo, of the ingest's tests and of the ingest
//! benchmark.
//!
//! ```no_run
//! # async fn run() -> Result<(), careload_sim::Error> {
//! use careload_sim::{Hospital, SimConfig, SimServer, server};
//! let start = chrono::Utc::now();
//! let sim = SimServer::new(Hospital::new(SimConfig::new(1, start))?);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(careload_sim::Error::Serve)?;
//! println!("{}", server::base_url(listener.local_addr().map_err(careload_sim::Error::Serve)?));
//! server::serve(listener, sim, async { let _ = tokio::signal::ctrl_c().await; }).await
//! # }
//! ```
//!
//! In-process (the demo, the ingest benchmark, tests), [`spawn`] serves it in
//! the background until the [`Spawned`] it returns is stopped or dropped.
//!
//! The FHIR base is `/fhir` ([`FHIR_BASE`]):
//!
//! * `GET /fhir/metadata` — the CapabilityStatement.
//! * `GET /fhir/{type}/{id}` — read.
//! * `GET /fhir/{type}?…` and `POST /fhir/{type}/_search` (form body) —
//!   search, a `searchset` Bundle paged by `next` links (the `search`
//!   module says how paging behaves and what is supported; the crate's
//!   README lists the parameters).
//! * `GET /fhir/$export`, `/fhir/Patient/$export`,
//!   `/fhir/Group/inpatients/$export` — FHIR Bulk Data export, polled at
//!   `/bulk/status/{job}`, files at `/bulk/files/{job}/{Type}.ndjson` (the
//!   `export` module says what is supported).
//! * `POST /sim/advance?hours=N` or `?to=<instant>` — steps the simulated
//!   clock and answers the new present as JSON; `GET /sim/status` — the
//!   present, the size and the number of resources served.
//!
//! Responses are `application/fhir+json; fhirVersion=4.0`; requests may ask
//! for `application/fhir+json` (any `fhirVersion`), `application/json` or
//! `_format=json`. Errors are `OperationOutcome`s with the HTTP status.
//!
//! **State.** [`SimServer`] keeps the [`Hospital`] behind a mutex and its
//! present, indexed and serialised once (module `index`), behind an
//! `RwLock<Arc<…>>`. A request takes the current snapshot (a clone of the
//! `Arc`) and answers from it; advancing the clock builds the next snapshot
//! while requests are still answered from the previous one, then swaps it
//! in. A request therefore always sees one consistent present.
//!
//! **Time.** The hospital stays at its simulated present until told
//! otherwise: by `POST /sim/advance`, by [`SimServer::advance_hours`], or by
//! [`follow_clock`], which steps one simulated hour every `1/speed` real
//! hours, on the wall clock's hour (speed 1: at the top of each hour).

mod capability;
mod export;
mod index;
mod search;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::{Error, Hospital};
use index::{Snapshot, TYPES, type_index};
use search::Search;
pub use search::{DEFAULT_COUNT, MAX_COUNT};

/// The path of the FHIR base on the server.
pub const FHIR_BASE: &str = "/fhir";

/// The content type of every FHIR response.
pub const FHIR_JSON: &str = "application/fhir+json; fhirVersion=4.0";

/// The largest step `POST /sim/advance` takes at once (a leap year of hours).
pub const MAX_ADVANCE_HOURS: u32 = 24 * 366;

/// The served hospital, shared between requests and the clock.
pub type SharedSim = Arc<SimServer>;

/// A simulated hospital being served.
#[derive(Debug)]
pub struct SimServer {
    hospital: Mutex<Hospital>,
    snapshot: RwLock<Arc<Snapshot>>,
    base_url: Option<String>,
    config: crate::SimConfig,
    start: DateTime<Utc>,
}

impl SimServer {
    /// Serves `hospital` at its present; links use the request's `Host`.
    pub fn new(hospital: Hospital) -> SharedSim {
        SimServer::build(hospital, None)
    }

    /// Serves `hospital` with links under `base_url` (e.g.
    /// `https://sim.example/fhir`, no trailing slash) whatever the `Host`
    /// header says: for a server behind a proxy.
    pub fn with_base_url(hospital: Hospital, base_url: &str) -> SharedSim {
        SimServer::build(hospital, Some(base_url.trim_end_matches('/').to_owned()))
    }

    fn build(hospital: Hospital, base_url: Option<String>) -> SharedSim {
        let snapshot = Arc::new(Snapshot::build(&hospital));
        Arc::new(SimServer {
            config: hospital.config().clone(),
            start: hospital.start(),
            hospital: Mutex::new(hospital),
            snapshot: RwLock::new(snapshot),
            base_url,
        })
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The simulated present being served.
    pub fn now(&self) -> DateTime<Utc> {
        self.snapshot().now
    }

    /// How many resources are served.
    pub fn resource_count(&self) -> usize {
        self.snapshot().len()
    }

    /// Runs `f` on the hospital without changing it (its roster, planned
    /// staffing, resources); nothing is re-indexed. Waits while the clock
    /// is being moved.
    pub fn read<T>(&self, f: impl FnOnce(&Hospital) -> T) -> T {
        f(&self.hospital.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs `f` on the hospital, then serves its new present. Blocks for as
    /// long as the simulation and the indexing take (about a second for
    /// 1,000 beds); requests meanwhile see the previous present.
    pub fn update<T>(&self, f: impl FnOnce(&mut Hospital) -> T) -> T {
        let mut h = self.hospital.lock().unwrap_or_else(PoisonError::into_inner);
        let out = f(&mut h);
        let next = Arc::new(Snapshot::build_reusing(&h, Some(&self.snapshot())));
        *self.snapshot.write().unwrap_or_else(PoisonError::into_inner) = next;
        out
    }

    /// Moves the clock with `step` and serves the new present; when the
    /// clock did not move, the present being served stays as it is (nothing
    /// is re-indexed).
    fn step(&self, step: impl FnOnce(&mut Hospital)) -> DateTime<Utc> {
        let mut h = self.hospital.lock().unwrap_or_else(PoisonError::into_inner);
        let before = h.now();
        step(&mut h);
        let now = h.now();
        if now != before {
            let next = Arc::new(Snapshot::build_reusing(&h, Some(&self.snapshot())));
            *self.snapshot.write().unwrap_or_else(PoisonError::into_inner) = next;
        }
        now
    }

    /// Advances `hours` simulated hours and serves the new present.
    pub fn advance_hours(&self, hours: u32) -> DateTime<Utc> {
        self.step(|h| h.advance_hours(hours))
    }

    /// Advances whole hours up to `t` (nothing when `t` is not ahead) and
    /// serves the new present.
    pub fn advance_to(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        self.step(|h| h.advance_to(t))
    }
}

impl Error {
    /// A refused request.
    pub(crate) fn request(status: StatusCode, code: &'static str, message: String) -> Error {
        Error::Request {
            status: status.as_u16(),
            code,
            message,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = match &self {
            Error::Request { status, code, .. } => {
                (StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST), *code)
            }
            Error::Config(_) => (StatusCode::BAD_REQUEST, "invalid"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "exception"),
        };
        let severity = if status.is_server_error() { "fatal" } else { "error" };
        let outcome = json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": severity, "code": code, "diagnostics": self.to_string() }],
        });
        fhir_response(status, outcome.to_string().into_bytes())
    }
}

fn fhir_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    r
}

/// The FHIR base URL of a server listening at `addr`.
pub fn base_url(addr: SocketAddr) -> String {
    format!("http://{addr}{FHIR_BASE}")
}

/// The routes: the FHIR API under [`FHIR_BASE`] and the clock under `/sim`.
pub fn router(state: SharedSim) -> Router {
    Router::new()
        .route("/fhir/metadata", get(metadata))
        .route("/fhir/{type}", get(search_get))
        .route("/fhir/{type}/_search", post(search_post))
        .route("/fhir/{type}/{id}", get(read))
        .route("/sim/advance", post(advance))
        .route("/sim/status", get(status))
        .merge(export::routes(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Serves `state` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish.
///
/// # Errors
/// [`Error::Serve`] when the listener fails.
pub async fn serve(
    listener: TcpListener,
    state: SharedSim,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::Serve)
}

/// A server [`spawn`]ed in the background: where it listens, and its stop.
///
/// Dropping it stops the server as [`Spawned::stop`] does, without waiting
/// for the server to finish; keep it for as long as the server is needed.
#[derive(Debug)]
pub struct Spawned {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Spawned {
    /// The address the server listens at.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its FHIR base URL ([`base_url`] of [`Spawned::addr`]).
    pub fn base_url(&self) -> String {
        base_url(self.addr)
    }

    /// Stops the server and waits until it has stopped: it accepts no new
    /// connection and has answered the requests it was answering.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Serves `sim` on `listener` ([`serve`]) in a task of the current Tokio
/// runtime until the returned [`Spawned`] is stopped or dropped: the
/// in-process FHIR server of the demo, the ingest benchmark and the tests.
/// The caller binds the listener, so it words a refused address itself.
/// Nobody awaits the task, so an error while serving is logged (`tracing`).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use careload_sim::{Hospital, SimConfig, SimServer, server};
/// let hospital = Hospital::new(SimConfig::new(1, chrono::Utc::now())).expect("a hospital");
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// let served = server::spawn(listener, SimServer::new(hospital))?;
/// println!("{}", served.base_url());
/// served.stop().await;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// The listener's address cannot be read.
///
/// # Panics
/// Outside a Tokio runtime, as [`tokio::spawn`].
pub fn spawn(listener: TcpListener, sim: SharedSim) -> std::io::Result<Spawned> {
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            // a dropped sender stops the server as a sent stop does
            let _ = stopped.await;
        };
        if let Err(e) = serve(listener, sim, shutdown).await {
            tracing::error!(error = %e, "the simulated hospital's FHIR server stopped");
        }
    });
    Ok(Spawned { addr, stop, task })
}

/// Steps the hospital one simulated hour every `1 / speed` real hours,
/// aligned on the wall clock (speed 1: at the top of every hour; speed 60:
/// every minute). Runs until dropped. A step that takes longer than the
/// interval makes the next one wait for the following tick.
///
/// # Errors
/// [`Error::Config`] when `speed` is not a positive number; [`Error::Serve`]
/// when a step panicked.
pub async fn follow_clock(sim: SharedSim, speed: f64) -> Result<(), Error> {
    if !(speed.is_finite() && speed > 0.0) {
        return Err(Error::Config(format!(
            "speed {speed} is not a positive number of simulated hours per real hour"
        )));
    }
    let interval_ms = ((3_600_000.0 / speed).round() as i64).max(1);
    loop {
        let now_ms = Utc::now().timestamp_millis();
        let next = (now_ms.div_euclid(interval_ms) + 1) * interval_ms;
        tokio::time::sleep(std::time::Duration::from_millis((next - now_ms).max(0) as u64)).await;
        let s = sim.clone();
        tokio::task::spawn_blocking(move || s.advance_hours(1))
            .await
            .map_err(|e| Error::Serve(std::io::Error::other(e)))?;
    }
}

/// The base URL for links: the configured one, else from the `Host` header.
fn base(sim: &SimServer, headers: &HeaderMap) -> String {
    if let Some(b) = &sim.base_url {
        return b.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}{FHIR_BASE}")
}

/// Refuses an `Accept` header that allows no JSON.
fn negotiate(headers: &HeaderMap) -> Result<(), Error> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|h| h.to_str().ok()) else {
        return Ok(());
    };
    let ok = accept.split(',').any(|range| {
        let media = range.split(';').next().unwrap_or_default().trim();
        media.is_empty() || matches!(media, "*/*" | "application/*") || search::is_json_format(media)
    });
    if ok {
        Ok(())
    } else {
        Err(Error::request(
            StatusCode::NOT_ACCEPTABLE,
            "not-supported",
            format!(
                "cannot answer in `{accept}`: this server speaks FHIR JSON only; send `Accept: application/fhir+json`"
            ),
        ))
    }
}

fn strict(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=strict"))
}

fn resource_type(ty: &str) -> Result<usize, Error> {
    type_index(ty).ok_or_else(|| {
        Error::request(
            StatusCode::NOT_FOUND,
            "not-supported",
            format!(
                "unknown resource type `{ty}`: this server serves {}",
                TYPES.map(|t| t.name).join(", ")
            ),
        )
    })
}

fn pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

async fn metadata(State(sim): State<SharedSim>, headers: HeaderMap) -> Result<Response, Error> {
    negotiate(&headers)?;
    let statement = capability::capability_statement(&base(&sim, &headers), sim.now());
    Ok(fhir_response(StatusCode::OK, statement.to_string().into_bytes()))
}

async fn read(
    State(sim): State<SharedSim>,
    Path((ty, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Error> {
    negotiate(&headers)?;
    let t = resource_type(&ty)?;
    let snap = sim.snapshot();
    let e = snap.tables[t].get(&id).ok_or_else(|| {
        Error::request(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{ty}/{id} does not exist (now, at {})", crate::fhir::ts(snap.now)),
        )
    })?;
    Ok(fhir_response(StatusCode::OK, e.json.to_vec()))
}

fn run_search(sim: &SimServer, ty: &str, pairs: &[(String, String)], headers: &HeaderMap) -> Result<Response, Error> {
    negotiate(headers)?;
    let t = resource_type(ty)?;
    let search = Search::parse(t, pairs, strict(headers))?;
    let snap = sim.snapshot();
    let page = search.run(&snap);
    tracing::trace!(
        resource_type = TYPES[t].name,
        matches = page.matches.len(),
        total = page.total,
        walked = page.cost.walked,
        counted = page.cost.counted,
        "search page"
    );
    Ok(fhir_response(
        StatusCode::OK,
        search.bundle(&snap, &page, &base(sim, headers)),
    ))
}

async fn search_get(
    State(sim): State<SharedSim>,
    Path(ty): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Error> {
    run_search(&sim, &ty, &pairs(query.as_deref().unwrap_or_default()), &headers)
}

async fn search_post(
    State(sim): State<SharedSim>,
    Path(ty): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: String,
) -> Result<Response, Error> {
    let mut all = pairs(query.as_deref().unwrap_or_default());
    all.extend(pairs(&body));
    run_search(&sim, &ty, &all, &headers)
}

async fn advance(State(sim): State<SharedSim>, RawQuery(query): RawQuery) -> Result<Response, Error> {
    let mut hours: Option<u32> = None;
    let mut to: Option<DateTime<Utc>> = None;
    for (k, v) in pairs(query.as_deref().unwrap_or_default()) {
        match k.as_str() {
            "hours" => {
                hours = Some(v.parse().ok().filter(|&h| h <= MAX_ADVANCE_HOURS).ok_or_else(|| {
                    Error::request(
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        format!("cannot read `hours={v}`: send a whole number of hours, 0 to {MAX_ADVANCE_HOURS}"),
                    )
                })?);
            }
            "to" => {
                to = Some(
                    DateTime::parse_from_rfc3339(&v.replace(' ', "+"))
                        .map_err(|_| {
                            Error::request(
                                StatusCode::BAD_REQUEST,
                                "invalid",
                                format!("cannot read `to={v}`: send an RFC 3339 instant such as 2026-11-23T09:00:00Z"),
                            )
                        })?
                        .to_utc(),
                );
            }
            _ => {
                return Err(Error::request(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("unknown parameter `{k}`: send `hours=N` or `to=<instant>`"),
                ));
            }
        }
    }
    let before = sim.now();
    if let Some(t) = to
        && t - before > chrono::Duration::hours(i64::from(MAX_ADVANCE_HOURS))
    {
        return Err(Error::request(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("`to={t}` is more than {MAX_ADVANCE_HOURS} hours ahead; advance in steps"),
        ));
    }
    let s = sim.clone();
    let now = tokio::task::spawn_blocking(move || match to {
        Some(t) => s.advance_to(t),
        None => s.advance_hours(hours.unwrap_or(1)),
    })
    .await
    .map_err(|e| Error::Serve(std::io::Error::other(e)))?;
    Ok(axum::Json(json!({
        "previous": crate::fhir::ts(before),
        "now": crate::fhir::ts(now),
        "advancedHours": (now - before).num_hours(),
        "resources": sim.resource_count(),
    }))
    .into_response())
}

async fn status(State(sim): State<SharedSim>, headers: HeaderMap) -> Response {
    let (start, beds, seed) = (sim.start, sim.config.beds, sim.config.seed);
    axum::Json(json!({
        "fhirBase": base(&sim, &headers),
        "start": crate::fhir::ts(start),
        "now": crate::fhir::ts(sim.now()),
        "beds": beds,
        "seed": seed,
        "resources": sim.resource_count(),
    }))
    .into_response()
}

async fn not_found() -> Error {
    Error::request(
        StatusCode::NOT_FOUND,
        "not-found",
        format!(
            "no such endpoint: the FHIR base is {FHIR_BASE} (e.g. {FHIR_BASE}/metadata), the clock is at /sim/advance and /sim/status"
        ),
    )
}

async fn method_not_allowed() -> Error {
    Error::request(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        "this server is read-only: use GET (or POST for _search and /sim/advance)".into(),
    )
}
