//! FHIR Bulk Data export (Bulk Data Access IG v2, asynchronous pattern) for
//! the simulated hospital, so that the Bulk Data source can be run against
//! it end to end.
//!
//! * `GET /fhir/$export`, `GET /fhir/Patient/$export`,
//!   `GET /fhir/Group/inpatients/$export` — kick-off. Needs
//!   `Prefer: respond-async`; reads `_type` (a comma list of served types),
//!   `_since` (an instant: resources with `meta.lastUpdated` **at or after**
//!   it — at, because a change made after a present is stamped at or after
//!   it, and the previous export's `transactionTime` is that present) and
//!   `_outputFormat` (NDJSON only). Patient- and group-level exports leave
//!   out `Location`, which is not in the Patient compartment. Answers
//!   `202 Accepted` with `Content-Location: /bulk/status/{job}`. The export
//!   is of the present at kick-off: the snapshot is kept by the job, so the
//!   clock may move meanwhile.
//! * `GET /bulk/status/{job}` — the first poll answers `202` with
//!   `Retry-After: 1` and `X-Progress`; later polls the manifest
//!   (`transactionTime` = the simulated present of the export,
//!   `requiresAccessToken: false`, one `output` file per type that has
//!   resources, `error: []`).
//! * `GET /bulk/files/{job}/{Type}.ndjson` — one type's resources as
//!   `application/fhir+ndjson`.
//! * `DELETE /bulk/status/{job}` — cancels or deletes the export (`202`).
//!
//! At most [`MAX_JOBS`] exports are kept; a new one drops the oldest.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::index::{Snapshot, TYPES, type_index};
use super::{FHIR_BASE, SharedSim, base, fhir_response, negotiate, pairs};
use crate::Error;

/// Exports kept at once.
pub(super) const MAX_JOBS: usize = 16;

/// The one Group the simulator knows: every inpatient.
pub(super) const GROUP_ID: &str = "inpatients";

/// One export.
struct Job {
    snapshot: Arc<Snapshot>,
    since: Option<DateTime<Utc>>,
    types: Vec<usize>,
    request: String,
    polls_left: u32,
}

impl Job {
    fn lines(&self, t: usize) -> impl Iterator<Item = &[u8]> {
        self.snapshot.tables[t]
            .entries
            .iter()
            .filter(|e| self.since.is_none_or(|s| e.last_updated >= s))
            .map(|e| &e.json[..])
    }
}

/// The exports and the hospital they are taken from.
struct Exports {
    sim: SharedSim,
    jobs: Mutex<BTreeMap<u64, Arc<Mutex<Job>>>>,
    next: AtomicU64,
}

type Shared = Arc<Exports>;

/// The Bulk Data routes, for [`super::router`] to merge.
pub(super) fn routes<S: Clone + Send + Sync + 'static>(sim: SharedSim) -> Router<S> {
    let state: Shared = Arc::new(Exports {
        sim,
        jobs: Mutex::new(BTreeMap::new()),
        next: AtomicU64::new(1),
    });
    Router::new()
        .route("/fhir/$export", get(system))
        .route("/fhir/Patient/$export", get(patient))
        .route("/fhir/Group/{id}/$export", get(group))
        .route("/bulk/status/{job}", get(poll).delete(delete))
        .route("/bulk/files/{job}/{file}", get(file))
        .with_state(state)
}

fn invalid(message: String) -> Error {
    Error::request(StatusCode::BAD_REQUEST, "invalid", message)
}

/// The server's origin and prefix: the FHIR base without `/fhir`.
fn root(sim: &SharedSim, headers: &HeaderMap) -> String {
    let b = base(sim, headers);
    b.strip_suffix(FHIR_BASE).unwrap_or(&b).to_owned()
}

async fn system(state: State<Shared>, RawQuery(q): RawQuery, headers: HeaderMap) -> Result<Response, Error> {
    kickoff(&state, q.as_deref(), &headers, true, "$export")
}

async fn patient(state: State<Shared>, RawQuery(q): RawQuery, headers: HeaderMap) -> Result<Response, Error> {
    kickoff(&state, q.as_deref(), &headers, false, "Patient/$export")
}

async fn group(
    state: State<Shared>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Result<Response, Error> {
    if id != GROUP_ID {
        return Err(Error::request(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("Group/{id} does not exist; this server has one group, Group/{GROUP_ID} (every inpatient)"),
        ));
    }
    kickoff(&state, q.as_deref(), &headers, false, &format!("Group/{id}/$export"))
}

fn kickoff(
    state: &Shared,
    query: Option<&str>,
    headers: &HeaderMap,
    system: bool,
    op: &str,
) -> Result<Response, Error> {
    negotiate(headers)?;
    let respond_async = headers
        .get_all("prefer")
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("respond-async"));
    if !respond_async {
        return Err(invalid(
            "$export is asynchronous: send the header `Prefer: respond-async`".to_owned(),
        ));
    }
    let mut since = None;
    let mut types: Option<Vec<usize>> = None;
    for (k, v) in pairs(query.unwrap_or_default()) {
        match k.as_str() {
            "_since" => {
                since = Some(
                    DateTime::parse_from_rfc3339(&v.replace(' ', "+"))
                        .map_err(|_| {
                            invalid(format!(
                                "cannot read `_since={v}`: send an instant such as 2026-11-23T09:00:00Z"
                            ))
                        })?
                        .to_utc(),
                );
            }
            "_type" => {
                let mut list = Vec::new();
                for t in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    list.push(type_index(t).ok_or_else(|| {
                        invalid(format!(
                            "`_type` names {t}, which this server does not serve; it serves {}",
                            TYPES.map(|t| t.name).join(", ")
                        ))
                    })?);
                }
                types = Some(list);
            }
            "_outputFormat" => {
                if !matches!(v.as_str(), "application/fhir+ndjson" | "application/ndjson" | "ndjson") {
                    return Err(invalid(format!(
                        "`_outputFormat={v}` is not supported; this server writes application/fhir+ndjson"
                    )));
                }
            }
            other => {
                return Err(invalid(format!(
                    "`{other}` is not supported by this $export; send _type, _since and _outputFormat"
                )));
            }
        }
    }
    let location = type_index("Location");
    let types: Vec<usize> = types
        .unwrap_or_else(|| (0..TYPES.len()).collect())
        .into_iter()
        .filter(|t| system || Some(*t) != location)
        .collect();
    let root = root(&state.sim, headers);
    let request = format!(
        "{root}{FHIR_BASE}/{op}{}",
        query.map(|q| format!("?{q}")).unwrap_or_default()
    );
    let job = Job {
        snapshot: state.sim.snapshot(),
        since,
        types,
        request,
        polls_left: 1,
    };
    let id = state.next.fetch_add(1, Ordering::Relaxed);
    {
        let mut jobs = state.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.insert(id, Arc::new(Mutex::new(job)));
        while jobs.len() > MAX_JOBS {
            jobs.pop_first();
        }
    }
    let mut r = fhir_response(
        StatusCode::ACCEPTED,
        json!({
            "resourceType": "OperationOutcome",
            "issue": [{ "severity": "information", "code": "informational", "diagnostics": format!("export {id} accepted") }],
        })
        .to_string()
        .into_bytes(),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("{root}/bulk/status/{id}")) {
        r.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
    Ok(r)
}

fn job(state: &Shared, id: &str) -> Result<(u64, Arc<Mutex<Job>>), Error> {
    let gone = || {
        Error::request(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("export {id} does not exist (deleted, or dropped to keep at most {MAX_JOBS})"),
        )
    };
    let n: u64 = id.parse().map_err(|_| gone())?;
    let jobs = state.jobs.lock().unwrap_or_else(PoisonError::into_inner);
    jobs.get(&n).cloned().map(|j| (n, j)).ok_or_else(gone)
}

async fn poll(State(state): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, Error> {
    let (n, job) = job(&state, &id)?;
    let mut job = job.lock().unwrap_or_else(PoisonError::into_inner);
    if job.polls_left > 0 {
        job.polls_left -= 1;
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::ACCEPTED;
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        r.headers_mut()
            .insert("x-progress", HeaderValue::from_static("exporting"));
        return Ok(r);
    }
    let root = root(&state.sim, &headers);
    let output: Vec<_> = job
        .types
        .iter()
        .map(|&t| (t, job.lines(t).count()))
        .filter(|(_, count)| *count > 0)
        .map(|(t, count)| {
            json!({
                "type": TYPES[t].name,
                "url": format!("{root}/bulk/files/{n}/{}.ndjson", TYPES[t].name),
                "count": count,
            })
        })
        .collect();
    let manifest = json!({
        "transactionTime": crate::fhir::ts(job.snapshot.now),
        "request": job.request,
        "requiresAccessToken": false,
        "output": output,
        "error": [],
    });
    let mut r = Response::new(Body::from(manifest.to_string()));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(r)
}

async fn delete(State(state): State<Shared>, Path(id): Path<String>) -> Result<Response, Error> {
    let (n, _) = job(&state, &id)?;
    state.jobs.lock().unwrap_or_else(PoisonError::into_inner).remove(&n);
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn file(State(state): State<Shared>, Path((id, file)): Path<(String, String)>) -> Result<Response, Error> {
    let (_, job) = job(&state, &id)?;
    let job = job.lock().unwrap_or_else(PoisonError::into_inner);
    let t = file
        .strip_suffix(".ndjson")
        .and_then(type_index)
        .filter(|t| job.types.contains(t))
        .ok_or_else(|| {
            Error::request(
                StatusCode::NOT_FOUND,
                "not-found",
                format!("export {id} has no file {file}"),
            )
        })?;
    let mut body = Vec::new();
    for line in job.lines(t) {
        body.extend_from_slice(line);
        body.push(b'\n');
    }
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/fhir+ndjson"),
    );
    Ok(r)
}
