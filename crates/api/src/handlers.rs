//! The handlers: thin glue from a request to a use case of the application
//! layer ([`careload_app::query`], [`careload_app::planning`],
//! [`careload_app::export`]) and back. Access has been checked by [`crate::auth`] before any runs,
//! except the part that depends on the data: a ward-scoped token reading a
//! department, a hospital or the region must cover every ward of the view it
//! is served, which [`group_view`] checks on that view (cached or built).

use std::future::Future;

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use careload_app::Error as AppError;
use careload_app::view::{
    DepartmentOverview, HospitalOverview, HospitalView, PatientDetail, RegionOverview, Status, WardForecast,
    WardHistory, WardList, WardView, WeightsInForce,
};
use careload_app::{planning, query};
use careload_store::{AuditEntry, Run, WeightsVersion};
use chrono::{DateTime, Duration, Utc};

use crate::AppState;
use crate::auth::{self, Caller, ScreenToken};
use crate::cache::Cached;
use crate::error::{Error, Result};
use crate::params::{Params, parse_time};
use crate::screen::{self, ScreenContext};

/// Seconds between a screen page's own reloads.
pub(crate) const SCREEN_REFRESH_SECONDS: u32 = 300;
/// How long after the stale threshold a missing successful run makes the
/// service unready: 2 h.
const READY_GRACE_HOURS: i64 = 2;

pub(crate) async fn hospital(State(state): State<AppState>) -> Result<Cached> {
    let now = Utc::now();
    state
        .cache
        .get_or_build("hospital".into(), now, {
            let state = state.clone();
            move || async move { Cached::json::<HospitalOverview>(&query::hospital(&state, now).await?) }
        })
        .await
}

/// A view of several wards — a department, a hospital, the region — and
/// what a ward-scoped caller is told about it.
#[derive(Clone, Copy)]
enum Group<'a> {
    Department(&'a str),
    Hospital(&'a str),
    Region,
}

impl Group<'_> {
    /// Whether `caller` may be served a view that shows `wards`.
    fn allow(self, caller: &Caller, wards: &[String]) -> Result<()> {
        match self {
            Group::Department(id) => auth::allow_department(caller, id, wards),
            Group::Hospital(id) => auth::allow_hospital(caller, id, wards),
            Group::Region => auth::allow_region(caller, wards),
        }
    }

    /// The configured wards of the group: every view of it shows them all
    /// (each configured ward is in the data, if only as empty), and more
    /// only for the region (wards of no configuration seen lately).
    fn configured(self, state: &AppState) -> Vec<String> {
        match self {
            Group::Department(id) => state.config.department_wards(id),
            Group::Hospital(id) => state.config.hospital_wards(id),
            Group::Region => state.config.wards.keys().cloned().collect(),
        }
    }

    /// A failed build as `caller` is told it: a ward-scoped token asking
    /// for a department or hospital that is not configured learns only the
    /// ones it may read ([`auth::unknown_to_token`]); anyone else gets the
    /// 404 naming every one.
    fn failed(self, state: &AppState, caller: &Caller, error: Error) -> Error {
        let Some((role, _)) = auth::ward_scope(caller) else {
            return error;
        };
        let readable = |known: Vec<String>, wards: &dyn Fn(&str) -> Vec<String>| -> Vec<String> {
            known
                .into_iter()
                .filter(|id| auth::covers(caller, &wards(id)).is_ok())
                .collect()
        };
        match error {
            Error::App(AppError::UnknownDepartment { department, known }) => {
                let readable = readable(known, &|d| state.config.department_wards(d));
                auth::unknown_to_token(role, "department", &department, &readable)
            }
            Error::App(AppError::UnknownHospital { hospital, known }) => {
                let readable = readable(known, &|h| state.config.hospital_wards(h));
                auth::unknown_to_token(role, "hospital", &hospital, &readable)
            }
            other => other,
        }
    }
}

/// `group`'s view under `key`, cached or built by `build` (which marks it
/// with the wards it shows, [`Cached::showing`]), served only if `caller`
/// covers every ward of this very value: a value built an hour earlier may
/// show a ward that has since left the data, and is checked as it is (a
/// refused caller is then served the value of now, once it is rebuilt, and
/// checked against that). A
/// caller that does not cover the group's configured wards, which every
/// view of it shows, is refused before anything is read (it could cover
/// no view); covering them is not enough.
async fn group_view<F, Fut>(
    state: &AppState,
    caller: &Caller,
    group: Group<'_>,
    key: String,
    now: DateTime<Utc>,
    build: F,
) -> Result<Cached>
where
    F: FnOnce() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Cached>> + Send + 'static,
{
    // only a ward-scoped caller is checked against wards (the region's
    // list is every ward: not built for every other request)
    if auth::ward_scope(caller).is_some() {
        let configured = group.configured(state);
        if !configured.is_empty() {
            group.allow(caller, &configured)?;
        }
    }
    let view = state
        .cache
        .get_or_build(key.clone(), now, build.clone())
        .await
        .map_err(|e| group.failed(state, caller, e))?;
    // a value not marked is refused to a ward-scoped caller (no wards to cover)
    if group.allow(caller, view.wards.as_deref().unwrap_or_default()).is_ok() {
        return Ok(view);
    }
    // the value served may be one being rebuilt after a run (an hour a ward
    // has left since): refused, the caller waits for the value of now
    let view = state
        .cache
        .get_up_to_date(key, now, build)
        .await
        .map_err(|e| group.failed(state, caller, e))?;
    group.allow(caller, view.wards.as_deref().unwrap_or_default())?;
    Ok(view)
}

/// `GET /api/v1/departments/{id}`; a screen token must cover every ward
/// of the department.
pub(crate) async fn department(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Cached> {
    let now = Utc::now();
    let group = Group::Department(&id);
    group_view(&state, &caller, group, format!("department\n{id}"), now, {
        let state = state.clone();
        let id = id.clone();
        move || async move {
            let view = query::department(&state, &id, now).await?;
            Ok(Cached::json::<DepartmentOverview>(&view)?.showing(view.shown_wards()))
        }
    })
    .await
}

/// `GET /api/v1/region`; a screen token must cover every ward.
pub(crate) async fn region(State(state): State<AppState>, Extension(caller): Extension<Caller>) -> Result<Cached> {
    let now = Utc::now();
    group_view(&state, &caller, Group::Region, "region".into(), now, {
        let state = state.clone();
        move || async move {
            let view = query::region(&state, now).await?;
            Ok(Cached::json::<RegionOverview>(&view)?.showing(view.shown_wards()))
        }
    })
    .await
}

/// `GET /api/v1/hospitals/{id}`; a screen token must cover every ward of
/// the hospital.
pub(crate) async fn hospital_of(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
) -> Result<Cached> {
    let now = Utc::now();
    let group = Group::Hospital(&id);
    group_view(&state, &caller, group, format!("hospital of\n{id}"), now, {
        let state = state.clone();
        let id = id.clone();
        move || async move {
            let view = query::hospital_of(&state, &id, now).await?;
            Ok(Cached::json::<HospitalView>(&view)?.showing(view.shown_wards()))
        }
    })
    .await
}

pub(crate) async fn wards(State(state): State<AppState>) -> Result<Cached> {
    let now = Utc::now();
    state
        .cache
        .get_or_build("wards".into(), now, {
            let state = state.clone();
            move || async move { Cached::json::<WardList>(&query::ward_list(&state, now).await?) }
        })
        .await
}

pub(crate) async fn ward(State(state): State<AppState>, Path(id): Path<String>) -> Result<Cached> {
    let now = Utc::now();
    state
        .cache
        .get_or_build(format!("ward\n{id}"), now, {
            let state = state.clone();
            let id = id.clone();
            move || async move { Cached::json::<WardView>(&query::ward(&state, &id, now).await?) }
        })
        .await
}

pub(crate) async fn ward_history(State(state): State<AppState>, Path(id): Path<String>, q: Params) -> Result<Cached> {
    let from = parse_time("from", q.get("from"))?;
    let to = parse_time("to", q.get("to"))?;
    if from.is_some() || to.is_some() {
        // any range on request: built each time, never cached
        return Cached::json::<WardHistory>(&query::ward_history(&state, &id, from, to, Utc::now()).await?);
    }
    let now = Utc::now();
    state
        .cache
        .get_or_build(format!("history\n{id}"), now, {
            let state = state.clone();
            let id = id.clone();
            move || async move {
                let history = query::ward_history(&state, &id, None, None, now).await?;
                Cached::json::<WardHistory>(&history)
            }
        })
        .await
}

pub(crate) async fn ward_forecast(State(state): State<AppState>, Path(id): Path<String>) -> Result<Cached> {
    let now = Utc::now();
    state
        .cache
        .get_or_build(format!("forecast\n{id}"), now, {
            let state = state.clone();
            let id = id.clone();
            move || async move { Cached::json::<WardForecast>(&query::forecast(&state, &id, now).await?) }
        })
        .await
}

pub(crate) async fn patient(State(state): State<AppState>, Path(key): Path<String>) -> Result<Json<PatientDetail>> {
    Ok(Json(query::patient(&state, &key, Utc::now()).await?))
}

pub(crate) async fn weights(State(state): State<AppState>) -> Result<Json<WeightsInForce>> {
    let w = state.weights();
    let w = &*w;
    let recorded = state
        .store
        .weights_versions()
        .await?
        .into_iter()
        .find(|v| v.version == w.meta.version && v.digest == w.digest);
    Ok(Json(WeightsInForce {
        version: w.meta.version.clone(),
        format: w.format,
        digest: w.digest.clone(),
        effective_from: w.meta.effective_from,
        decided_by: w.meta.decided_by.clone(),
        meeting_reference: w.meta.meeting_reference.clone(),
        notes: w.meta.notes.clone(),
        recorded_at: recorded.map(|v| v.loaded_at),
    }))
}

pub(crate) async fn weights_versions(State(state): State<AppState>) -> Result<Json<Vec<WeightsVersion>>> {
    Ok(Json(state.store.weights_versions().await?))
}

/// The `limit` parameter: 1–1000, default 20.
fn limit(q: &Params) -> Result<u32> {
    match q.get("limit") {
        None => Ok(20),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| Error::bad_query("limit", "send limit as a whole number from 1 to 1000")),
    }
}

pub(crate) async fn runs(State(state): State<AppState>, q: Params) -> Result<Json<Vec<Run>>> {
    Ok(Json(state.store.runs(limit(&q)?).await?))
}

pub(crate) async fn latest_run(State(state): State<AppState>) -> Result<Json<Run>> {
    state.store.latest_run().await?.map(Json).ok_or(AppError::NoData.into())
}

pub(crate) async fn audit(State(state): State<AppState>, q: Params) -> Result<Json<Vec<AuditEntry>>> {
    Ok(Json(state.store.audit_entries(limit(&q)?).await?))
}

pub(crate) async fn openapi() -> Json<serde_json::Value> {
    Json(crate::openapi::document(crate::routes::ROUTES))
}

pub(crate) async fn healthz() -> Json<Status> {
    Json(Status { status: "ok".into() })
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Result<Json<Status>> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "readiness: store ping failed");
        return Err(Error::NotReady {
            reason: "the store does not answer".into(),
        });
    }
    let limit = Duration::hours(READY_GRACE_HOURS) + Duration::minutes(i64::from(state.config.api.stale_after_minutes));
    let reason = match state.store.latest_successful_run().await? {
        None => Some("no ingest run has succeeded yet; wait for the first run or start one".to_owned()),
        Some(run) => {
            let at = run.finished_at.unwrap_or(run.started_at);
            (Utc::now() - at > limit).then(|| {
                format!(
                    "the last successful ingest run (id {}) finished at {}, more than {} minutes ago",
                    run.id,
                    at.to_rfc3339(),
                    limit.num_minutes()
                )
            })
        }
    };
    match reason {
        Some(reason) => Err(Error::NotReady { reason }),
        None => Ok(Json(Status { status: "ready".into() })),
    }
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response> {
    // each source's latest run (a store may have read the simulator, then the EHR)
    let mut latest: Vec<Run> = Vec::new();
    for run in state.store.runs(200).await? {
        if !latest.iter().any(|r| r.source == run.source) {
            latest.push(run);
        }
    }
    let shown = state.store.current_hour().await?.map(|c| c.hour);
    let sources = state.store.source_hours().await?;
    let text = state.metrics.render(shown, chrono::Utc::now(), &latest, &sources);
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, crate::routes::Media::Text.mime())],
        text,
    )
        .into_response())
}

/// A cache key part for the token a page embeds in its links: a hash, never the secret.
fn token_key(token: &ScreenToken) -> String {
    token
        .0
        .as_deref()
        .map(|t| crate::auth::digest(t).iter().map(|b| format!("{b:02x}")).collect())
        .unwrap_or_default()
}

fn screen_context(state: &AppState, token: ScreenToken, now: DateTime<Utc>) -> ScreenContext {
    ScreenContext {
        now,
        tz: state.tz(),
        refresh_seconds: SCREEN_REFRESH_SECONDS,
        token: token.0,
    }
}

pub(crate) async fn hospital_screen(
    State(state): State<AppState>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let page = state
        .cache
        .get_or_build(format!("hospital page\n{}", token_key(&token)), now, {
            let state = state.clone();
            move || async move {
                let ctx = screen_context(&state, token, now);
                let overview = query::hospital(&state, ctx.now).await?;
                let region = !state.config.hospitals.is_empty();
                Ok(Cached::html(screen::hospital_page_linking_region(
                    &overview, region, &ctx,
                )))
            }
        })
        .await;
    page_or_error(&state, page, kept, now)
}

/// `GET /departments/{id}`: a department's page; a screen token must
/// cover every ward of the department.
pub(crate) async fn department_screen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let key = format!("department page\n{id}\n{}", token_key(&token));
    let page = group_view(&state, &caller, Group::Department(&id), key, now, {
        let state = state.clone();
        let id = id.clone();
        move || async move {
            let ctx = screen_context(&state, token, now);
            let view = query::department(&state, &id, ctx.now).await?;
            Ok(Cached::html(screen::department_page(&view, &ctx)).showing(view.shown_wards()))
        }
    })
    .await;
    page_or_error(&state, page, kept, now)
}

/// `GET /region`: the region's page; a screen token must cover every ward.
pub(crate) async fn region_screen(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let key = format!("region page\n{}", token_key(&token));
    let page = group_view(&state, &caller, Group::Region, key, now, {
        let state = state.clone();
        move || async move {
            let ctx = screen_context(&state, token, now);
            let view = query::region(&state, ctx.now).await?;
            Ok(Cached::html(screen::region_page(&view, &ctx)).showing(view.shown_wards()))
        }
    })
    .await;
    page_or_error(&state, page, kept, now)
}

/// `GET /hospitals/{id}`: a hospital's page; a screen token must cover
/// every ward of the hospital.
pub(crate) async fn hospital_of_screen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let key = format!("hospital of page\n{id}\n{}", token_key(&token));
    let page = group_view(&state, &caller, Group::Hospital(&id), key, now, {
        let state = state.clone();
        let id = id.clone();
        move || async move {
            let ctx = screen_context(&state, token, now);
            let view = query::hospital_of(&state, &id, ctx.now).await?;
            Ok(Cached::html(screen::hospital_of_page(&view, &ctx)).showing(view.shown_wards()))
        }
    })
    .await;
    page_or_error(&state, page, kept, now)
}

pub(crate) async fn ward_screen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let page = state
        .cache
        .get_or_build(format!("ward page\n{id}\n{}", token_key(&token)), now, {
            let state = state.clone();
            let id = id.clone();
            move || async move {
                let ctx = screen_context(&state, token, now);
                let view = query::ward(&state, &id, ctx.now).await?;
                let history = query::ward_history(&state, &id, None, None, ctx.now).await?;
                Ok(Cached::html(screen::ward_page(&view, &history, &ctx)))
            }
        })
        .await;
    page_or_error(&state, page, kept, now)
}

pub(crate) async fn planning_screen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    // the upload form is for those who may import
    let import = screen::StaffingImport {
        allowed: crate::auth::may(&caller, crate::routes::STAFFING_WRITERS),
        outcome: None,
    };
    let page = state
        .cache
        .get_or_build(
            format!("planning page\n{id}\n{}\n{}", token_key(&token), import.allowed),
            now,
            {
                let state = state.clone();
                let id = id.clone();
                move || async move {
                    let ctx = screen_context(&state, token, now);
                    let (shifts, balance) = planning::ward_planning(&state, &id, ctx.now).await?;
                    Ok(Cached::html(screen::planning_page(
                        &shifts,
                        balance.as_ref(),
                        &import,
                        &ctx,
                    )))
                }
            },
        )
        .await;
    page_or_error(&state, page, kept, now)
}

/// `POST /wards/{id}/planning/staffing`: the planning page's upload form.
/// Imports the file as `POST /api/v1/staffing/csv` does and answers the
/// page with the result on top: the rows stored, or every bad line (422).
pub(crate) async fn planning_import(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    Extension(token): Extension<ScreenToken>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response> {
    let now = Utc::now();
    let known = async { query::known_ward(&state, &id, &query::Shown::read(&state).await?).await };
    if let Err(e) = known.await {
        return Ok(error_page(&state, e.into(), token.0, now));
    }
    let outcome = match crate::upload::file_of(&headers, &body) {
        Ok(csv) => match planning::store_csv(&state, csv, actor(&caller)).await? {
            Ok(written) => {
                state.data_changed();
                Ok(written.rows)
            }
            Err(careload_planning::Error::Csv { rows }) => Err(rows),
            Err(e) => Err(vec![careload_planning::CsvRowError {
                line: 0,
                message: e.to_string(),
            }]),
        },
        Err(hint) => Err(vec![careload_planning::CsvRowError { line: 0, message: hint }]),
    };
    let status = if outcome.is_ok() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let ctx = screen_context(&state, token, now);
    let (shifts, balance) = planning::ward_planning(&state, &id, now).await?;
    let import = screen::StaffingImport {
        allowed: true,
        outcome: Some(outcome),
    };
    let html = screen::planning_page(&shifts, balance.as_ref(), &import, &ctx);
    Ok((
        status,
        [
            (header::CONTENT_TYPE, crate::routes::Media::Html.mime()),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response())
}

pub(crate) async fn admissions_screen(
    State(state): State<AppState>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let page = state
        .cache
        .get_or_build(format!("admissions page\n{}", token_key(&token)), now, {
            let state = state.clone();
            move || async move {
                let ctx = screen_context(&state, token, now);
                let admissions = planning::admissions(&state, ctx.now).await?;
                Ok(Cached::html(screen::admissions_page(&admissions, &ctx)))
            }
        })
        .await;
    page_or_error(&state, page, kept, now)
}

/// `GET /wards/{id}/beds/{bed}`: the patient page of a bed.
pub(crate) async fn bed_screen(
    State(state): State<AppState>,
    Path((id, bed)): Path<(String, String)>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    // the ward's length first, so that no ward and bed share a key with another
    let key = format!("bed page\n{}\n{id}\n{bed}\n{}", id.len(), token_key(&token));
    let page = state
        .cache
        .get_or_build(key, now, {
            let state = state.clone();
            let id = id.clone();
            let bed = bed.clone();
            move || async move {
                let ctx = screen_context(&state, token, now);
                let detail = query::patient_at_bed(&state, &id, &bed, ctx.now).await?;
                Ok(patient_page(&state, &detail, &ctx))
            }
        })
        .await;
    page_or_error(&state, page, kept, now)
}

/// `GET /patients/{key}`: the patient page by pseudonym (built per request).
pub(crate) async fn patient_screen(
    State(state): State<AppState>,
    Path(key): Path<String>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let page = async {
        let ctx = screen_context(&state, token, now);
        let detail = query::patient(&state, &key, now).await?;
        Ok(patient_page(&state, &detail, &ctx))
    }
    .await;
    page_or_error(&state, page, kept, now)
}

/// The patient page of `detail`, its ward named as configured.
fn patient_page(state: &AppState, detail: &careload_app::view::PatientDetail, ctx: &ScreenContext) -> Cached {
    Cached::html(screen::patient_page(detail, &state.ward_name(&detail.ward), ctx))
}

/// An HTML route's answer: its page, or its error as [`error_page`] renders it.
fn page_or_error(state: &AppState, page: Result<Cached>, token: Option<String>, now: DateTime<Utc>) -> Response {
    match page {
        Ok(page) => page.into_response(),
        Err(e) => error_page(state, e, token, now),
    }
}

/// An error on an HTML route as a short Swedish page with a link to the
/// overview (keeping `token`): an unknown ward, bed, patient or path (404),
/// a missing or unknown token (401) or one that may not open the page
/// (403). The status and headers are the error's own (`WWW-Authenticate`
/// on a 401); any other error keeps its JSON answer ([`crate::error`]).
pub(crate) fn error_page(state: &AppState, error: Error, token: Option<String>, now: DateTime<Utc>) -> Response {
    let screen = |w: &str| format!("/wards/{}/screen", screen::encode_component(w));
    let not_found = "Sidan finns inte";
    let refused = "Ingen behörighet";
    let (heading, message, links): (&str, String, Vec<(String, String)>) = match &error {
        Error::App(AppError::UnknownWard { ward, known }) => (
            not_found,
            format!("Avdelningen {ward} finns inte. Kontrollera adressen."),
            known.iter().map(|w| (screen(w), state.ward_name(w))).collect(),
        ),
        Error::App(AppError::EmptyBed { ward, bed }) => (
            not_found,
            format!(
                "Ingen patient i säng {bed} på {} den senaste timmen.",
                state.ward_name(ward)
            ),
            vec![(screen(ward), format!("Till {}", state.ward_name(ward)))],
        ),
        Error::App(AppError::UnknownPatient) => (
            not_found,
            "Patienten finns inte på någon avdelning den senaste timmen.".to_owned(),
            Vec::new(),
        ),
        Error::App(AppError::NoData) => (
            "Inga data ännu",
            "Ingen timme har beräknats ännu. Sidan uppdateras av sig själv.".to_owned(),
            Vec::new(),
        ),
        Error::NoRoute => (
            not_found,
            "Det finns ingen sida på den här adressen. Kontrollera adressen.".to_owned(),
            Vec::new(),
        ),
        Error::Unauthorized { .. } => (
            refused,
            "Sidan kräver en giltig nyckel (token), i adressen som ?token= eller i inloggningen. Kontakta IT."
                .to_owned(),
            Vec::new(),
        ),
        Error::Forbidden { .. } => (
            refused,
            "Nyckeln (token) som sidan öppnades med får inte visa den här sidan. En avdelningsskärm visar sin \
             egen avdelning."
                .to_owned(),
            Vec::new(),
        ),
        _ => return error.into_response(),
    };
    let ctx = ScreenContext {
        now,
        tz: state.tz(),
        refresh_seconds: SCREEN_REFRESH_SECONDS,
        token,
    };
    let html = screen::message_page(heading, &message, &links, &ctx);
    let mut response = error.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.remove(header::CONTENT_LENGTH);
    *response.body_mut() = axum::body::Body::from(html);
    response
}

/// The router's fallback: no route has the path. A path outside `/api/`
/// is someone's mistyped page address, answered with a page (keeping the
/// `?token=` it came with in the link to the overview); `/api/…` keeps
/// its JSON problem.
pub(crate) async fn no_route(State(state): State<AppState>, uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return Error::NoRoute.into_response();
    }
    let token = crate::auth::query_token(&uri);
    error_page(&state, Error::NoRoute, token, Utc::now())
}

pub(crate) async fn ward_shifts(State(state): State<AppState>, Path(id): Path<String>) -> Result<Cached> {
    let now = Utc::now();
    state
        .cache
        .get_or_build(format!("shifts\n{id}"), now, {
            let state = state.clone();
            let id = id.clone();
            move || async move { Cached::json::<planning::WardShifts>(&planning::ward_shifts(&state, &id, now).await?) }
        })
        .await
}

/// `GET /api/v1/wards/{id}/calibration`: not cached (a council's read, not a screen's poll).
pub(crate) async fn ward_calibration(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Params,
) -> Result<Json<careload_app::calibration::WardCalibration>> {
    let from = parse_time("from", q.get("from"))?;
    let to = parse_time("to", q.get("to"))?;
    // the minimums of [calibration]; its window is the app's default for `from`
    let rules = state.settings().calibration;
    Ok(Json(
        careload_app::calibration::ward_calibration(&state, &id, from, to, Utc::now(), &rules)
            .await?
            .shown(),
    ))
}

/// The `month` parameter (`YYYY-MM`), if given.
fn month_param(q: &Params) -> Result<Option<(i32, u32)>> {
    q.get("month")
        .map(|m| careload_app::agreement::parse_month("month", m))
        .transpose()
        .map_err(Error::from)
}

/// `GET /api/v1/wards/{id}/calibration/agreement?month=`: the month's
/// agreement report (default the last complete month); not cached, as the
/// calibration.
pub(crate) async fn ward_agreement(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Params,
) -> Result<Json<careload_app::agreement::WardAgreement>> {
    let now = Utc::now();
    let month = match month_param(&q)? {
        Some(m) => m,
        None => careload_app::agreement::last_complete_month(&state, now),
    };
    let rules = state.settings().calibration;
    Ok(Json(
        careload_app::agreement::ward_agreement(&state, &id, month, now, &rules).await?,
    ))
}

/// `GET /wards/{id}/calibration`: the council's calibration page over the
/// default window, `?from=&to=`, or a month (`?month=YYYY-MM`, with the
/// month's largest disagreements). The default and the months are cached
/// like the other pages; a window given is built each time.
pub(crate) async fn calibration_screen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(token): Extension<ScreenToken>,
    q: Params,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let asked = (|| {
        let from = parse_time("from", q.get("from"))?;
        let to = parse_time("to", q.get("to"))?;
        let month = month_param(&q)?;
        if month.is_some() && (from.is_some() || to.is_some()) {
            return Err(Error::bad_query(
                "month",
                "send either month (YYYY-MM) or from and to, not both",
            ));
        }
        Ok((from, to, month))
    })();
    let (from, to, month) = match asked {
        Ok(asked) => asked,
        Err(e) => return page_or_error(&state, Err(e), kept, now),
    };
    let key_token = token_key(&token);
    let build = {
        let state = state.clone();
        let id = id.clone();
        move || async move {
            let ctx = screen_context(&state, token, now);
            let rules = state.settings().calibration;
            let html = match month {
                Some(m) => {
                    let a = careload_app::agreement::ward_agreement(&state, &id, m, now, &rules).await?;
                    screen::calibration_page(&a.calibration, Some(&a), &ctx)
                }
                None => {
                    let c = careload_app::calibration::ward_calibration(&state, &id, from, to, now, &rules)
                        .await?
                        .shown();
                    screen::calibration_page(&c, None, &ctx)
                }
            };
            Ok(Cached::html(html))
        }
    };
    let page = if from.is_some() || to.is_some() {
        build().await
    } else {
        let month = month.map(|(y, m)| format!("{y:04}-{m:02}")).unwrap_or_default();
        // the ward's length first, so that no ward and month share a key with another
        let key = format!("calibration page\n{}\n{id}\n{month}\n{key_token}", id.len());
        state.cache.get_or_build(key, now, build).await
    };
    page_or_error(&state, page, kept, now)
}

pub(crate) async fn ward_balance(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Params,
) -> Result<Json<planning::WardBalance>> {
    // by name, so that a name the route table lacks fails in debug builds (crate::params::Params)
    let options = planning::balance_options(&state, |name| q.get(name).map(String::as_str))?;
    let pinned = q
        .get("pin")
        .map(|p| {
            p.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(
        planning::ward_balance(&state, &id, options, &pinned, Utc::now()).await?,
    ))
}

pub(crate) async fn ward_pins(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<planning::WardPins>> {
    Ok(Json(planning::ward_pins(&state, &id, Utc::now()).await?))
}

pub(crate) async fn set_pin(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Json<planning::PinWritten>> {
    let request: planning::PinRequest = serde_json::from_slice(&body).map_err(|e| {
        Error::unprocessable(format!(
            "the body is not a pin ({e}); send {{\"patient\": \"r03-b2\", \"pinned\": true}}"
        ))
    })?;
    let written = planning::set_pin(&state, &id, &request, actor(&caller)).await?;
    if written.changed {
        state.data_changed();
    }
    Ok(Json(written))
}

pub(crate) async fn admissions(State(state): State<AppState>) -> Result<Cached> {
    let now = Utc::now();
    state
        .cache
        .get_or_build("admissions".into(), now, {
            let state = state.clone();
            move || async move { Cached::json::<planning::Admissions>(&planning::admissions(&state, now).await?) }
        })
        .await
}

fn parse_date(param: &'static str, value: Option<&String>) -> Result<Option<chrono::NaiveDate>> {
    value
        .map(|v| {
            chrono::NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d")
                .map_err(|_| Error::bad_query(param, "send a date as YYYY-MM-DD, e.g. 2026-11-24"))
        })
        .transpose()
}

pub(crate) async fn backtest(
    State(state): State<AppState>,
    q: Params,
    body: axum::body::Bytes,
) -> Result<Json<careload_export::backtest::Backtest>> {
    crate::export::backtest(&state, &q, &body).await.map(Json)
}

pub(crate) async fn export(State(state): State<AppState>, q: Params) -> Result<axum::response::Response> {
    crate::export::export(&state, &q).await
}

pub(crate) async fn staffing(State(state): State<AppState>, q: Params) -> Result<Json<planning::StaffingRows>> {
    let from = parse_date("from", q.get("from"))?;
    let to = parse_date("to", q.get("to"))?;
    let rows = planning::get_rows(&state, q.get("ward").map(String::as_str), from, to, Utc::now()).await?;
    Ok(Json(rows))
}

/// Who to write into the audit log for a write.
fn actor(caller: &Caller) -> &str {
    match caller {
        Caller::Token { name, .. } => name,
        Caller::Open => "open api",
        Caller::Anonymous => "anonymous",
    }
}

pub(crate) async fn put_staffing(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<Json<planning::StaffingWritten>> {
    let rows: planning::StaffingRows = serde_json::from_slice(&body).map_err(|e| {
        Error::unprocessable(format!(
            "the body is not planned staffing JSON ({e}); send {{\"rows\": [{{\"ward\": \"w1\", \"team\": \"A\", \
             \"date\": \"2026-11-24\", \"shift\": \"day\", \"profession\": \"USK\", \"planned\": 3, \"absent\": 0}}]}}"
        ))
    })?;
    let written = planning::put_rows(&state, &rows.rows, actor(&caller)).await?;
    state.data_changed();
    Ok(Json(written))
}

pub(crate) async fn import_staffing_csv(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<planning::StaffingWritten>> {
    // the file as the body, or as the one file of a form (curl -F file=@plan.csv)
    let csv = crate::upload::file_of(&headers, &body).map_err(Error::unprocessable)?;
    let written = planning::put_csv(&state, csv, actor(&caller)).await?;
    state.data_changed();
    Ok(Json(written))
}

// ------------------------------------------------ the staff's shift ratings (issue 27)

/// Where a rating comes from: the ward's screen when its kiosk token sent
/// it, else a phone. Nothing else of the caller reaches the store.
fn rating_source(caller: &Caller) -> careload_store::RatingSource {
    match caller {
        Caller::Token {
            role: careload_config::Role::Screen,
            ..
        } => careload_store::RatingSource::Screen,
        _ => careload_store::RatingSource::Phone,
    }
}

/// `POST /api/v1/wards/{id}/ratings`: one rating, 201 with the shift and its count.
pub(crate) async fn post_rating(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<careload_app::ratings::Accepted>)> {
    let request: careload_app::ratings::RatingRequest = serde_json::from_slice(&body).map_err(|e| {
        Error::unprocessable(format!(
            "the body is not a rating ({e}); send {{\"rating\": 1}}, optionally with \"team\", \"shift\" (a name) or \
             \"shift_start\", and \"profession\" (USK or SSK)"
        ))
    })?;
    let input = request.input(&id, rating_source(&caller))?;
    let accepted = careload_app::ratings::rate(&state, &input, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(accepted)))
}

/// `GET /api/v1/wards/{id}/ratings?from=&to=`: the stored ratings, anonymous.
/// With `format=csv` or `csv-excel`, the same ratings as a file (docs/calibration-export.md).
pub(crate) async fn ward_ratings(State(state): State<AppState>, Path(id): Path<String>, q: Params) -> Result<Response> {
    use crate::export::TableFormat;
    let format = TableFormat::of(&q, TableFormat::Json)?;
    let from = parse_time("from", q.get("from"))?;
    let to = parse_time("to", q.get("to"))?;
    let stored = careload_app::ratings::stored(&state, &id, from, to, Utc::now()).await?;
    if format == TableFormat::Json {
        return Ok(Json(stored).into_response());
    }
    let name = format!(
        "careload-ratings-{id}-{}-{}",
        stored.from.format("%Y%m%d"),
        stored.to.format("%Y%m%d")
    );
    let csv = crate::export::ratings_csv(&stored, &state.tz(), format);
    Ok(crate::export::file(csv, format, &name))
}

/// `GET /api/v1/wards/{id}/calibration/shifts?from=&to=&format=`: each
/// shift of the ward's calibration (need, present, points per person,
/// ratings) as a file for controllers (docs/calibration-export.md).
pub(crate) async fn calibration_shifts(
    State(state): State<AppState>,
    Path(id): Path<String>,
    q: Params,
) -> Result<Response> {
    use crate::export::TableFormat;
    let format = TableFormat::of(&q, TableFormat::Csv)?;
    let from = parse_time("from", q.get("from"))?;
    let to = parse_time("to", q.get("to"))?;
    let rules = state.settings().calibration;
    let c = careload_app::calibration::ward_calibration(&state, &id, from, to, Utc::now(), &rules)
        .await?
        .shown();
    let rows = crate::export::calibration_rows(&c, &state.tz());
    let name = format!(
        "careload-calibration-{id}-{}-{}",
        c.from.format("%Y%m%d"),
        c.to.format("%Y%m%d")
    );
    let body = match format {
        TableFormat::Json => serde_json::to_string(&rows).map_err(|e| Error::Internal(e.to_string()))?,
        TableFormat::Csv | TableFormat::CsvExcel => crate::export::calibration_csv(&rows, format),
    };
    Ok(crate::export::file(body, format, &name))
}

/// `POST /api/v1/wards/{id}/ratings/import`: ratings collected on paper, all or nothing.
pub(crate) async fn import_ratings(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<careload_app::ratings::Imported>> {
    // the file as the body, or as the one file of a form (curl -F file=@ratings.csv)
    let csv = crate::upload::file_of(&headers, &body).map_err(Error::unprocessable)?;
    Ok(Json(
        careload_app::ratings::import_csv(&state, &id, csv, Utc::now()).await?,
    ))
}

/// `GET /wards/{id}/rate`: the rating page (built per request: its default
/// shift follows the clock).
pub(crate) async fn rate_screen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(token): Extension<ScreenToken>,
) -> Response {
    let now = Utc::now();
    let kept = token.0.clone();
    let page = async {
        let ctx = screen_context(&state, token, now);
        let form = careload_app::ratings::form(&state, &id, now).await?;
        Ok(Cached::html(screen::rate_page(&form, &ctx)))
    }
    .await;
    page_or_error(&state, page, kept, now)
}

/// The fields of an `application/x-www-form-urlencoded` body.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| crate::auth::percent_decode(&s.replace('+', " "));
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// The rating the page's form sent.
fn rating_of_form(
    id: &str,
    body: &[u8],
    caller: &Caller,
) -> std::result::Result<careload_app::ratings::RatingInput, AppError> {
    use careload_app::ratings::{RatingInput, ShiftChoice};
    let fields = form_fields(body);
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let bad = |param: &'static str, hint: String| AppError::BadQuery { param, hint };
    let rating = match field("rating") {
        Some(r) => r.replace('−', "-").parse::<i64>().map_err(|_| {
            bad(
                "rating",
                format!("{r:?} is not a rating; send a whole number from −3 to +3"),
            )
        })?,
        None => return Err(bad("rating", "choose a rating from −3 to +3".into())),
    };
    let shift = match field("shift") {
        Some(t) => ShiftChoice::StartingAt(
            DateTime::parse_from_rfc3339(t)
                .map_err(|_| bad("shift", format!("{t:?} is not a shift's start (RFC 3339)")))?
                .with_timezone(&Utc),
        ),
        None => ShiftChoice::LastEnded,
    };
    let profession = match field("profession").map(str::to_ascii_uppercase).as_deref() {
        None => None,
        Some("USK") => Some(careload_scoring::snapshot::Profession::Usk),
        Some("SSK") => Some(careload_scoring::snapshot::Profession::Ssk),
        Some(other) => return Err(bad("profession", format!("{other:?} is not USK or SSK"))),
    };
    Ok(RatingInput {
        ward: id.to_owned(),
        team: field("team").map(str::to_owned),
        shift,
        profession,
        rating,
        source: rating_source(caller),
    })
}

/// A refused rating in Swedish, for the rating page.
fn refusal_in_swedish(e: &AppError) -> &'static str {
    match e {
        AppError::BadQuery { param: "rating", .. } => "Välj en bedömning från −3 till +3.",
        AppError::BadQuery { param: "team", .. } => {
            "Vårdlaget finns inte på avdelningen. Välj ett av avdelningens vårdlag, eller hela avdelningen."
        }
        AppError::BadQuery { param: "shift", .. } => {
            "Passet finns inte i avdelningens schema. Välj ett av passen på sidan."
        }
        AppError::BadQuery {
            param: "profession", ..
        } => "Välj USK, SSK eller vill inte ange.",
        AppError::Unprocessable { hint } if hint.contains("has not started") => {
            "Passet har inte börjat än. Ett pass bedöms från att det börjar till ett dygn efter att det har slutat."
        }
        AppError::Unprocessable { hint } if hint.contains("closed at") => {
            "Passet kan inte bedömas längre: bedömningar tas emot till ett dygn efter att passet har slutat."
        }
        AppError::Unprocessable { hint } if hint.contains("ratings it takes") => {
            "Passet har redan fått så många bedömningar som det tar emot (de som arbetade enligt bemanningen plus \
             två). Tack ändå!"
        }
        _ => "Bedömningen kunde inte tas emot.",
    }
}

/// `POST /wards/{id}/rate`: the rating page's form. A thank-you page with
/// the shift's count, or the refusal in Swedish with a link back and the
/// refusal's status; an unknown ward is the usual page (404).
pub(crate) async fn rate_form(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(caller): Extension<Caller>,
    Extension(token): Extension<ScreenToken>,
    body: axum::body::Bytes,
) -> Response {
    let now = Utc::now();
    let result = match rating_of_form(&id, &body, &caller) {
        Ok(input) => careload_app::ratings::rate(&state, &input, now).await,
        Err(e) => Err(e),
    };
    let html = |status: StatusCode, html: String| {
        (
            status,
            [
                (header::CONTENT_TYPE, crate::routes::Media::Html.mime()),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response()
    };
    match result {
        Ok(accepted) => {
            let mut ctx = screen_context(&state, token, now);
            ctx.refresh_seconds = RATE_THANKS_SECONDS;
            html(StatusCode::OK, screen::rate_thanks_page(&accepted, &ctx))
        }
        Err(e @ (AppError::BadQuery { .. } | AppError::Unprocessable { .. })) => {
            let ctx = screen_context(&state, token, now);
            let page = screen::rate_refused_page(&id, refusal_in_swedish(&e), e.hint().as_deref(), &ctx);
            html(Error::App(e).status(), page)
        }
        Err(e) => error_page(&state, e.into(), token.0, now),
    }
}

/// Seconds the thank-you page shows before it returns to the rating page.
const RATE_THANKS_SECONDS: u32 = 15;
