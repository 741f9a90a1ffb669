//! The handlers: thin glue from a request to a [`crate::query`] view and
//! back. Access has been checked by [`crate::auth`] before any runs.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use careload_store::{AuditEntry, Run, WeightsVersion};
use chrono::{Duration, Utc};

use crate::AppState;
use crate::auth::ScreenToken;
use crate::error::{Error, Result};
use crate::query;
use crate::screen::{self, ScreenContext};
use crate::view::{
    HospitalOverview, PatientDetail, Status, WardForecast, WardHistory, WardList, WardView, WeightsInForce,
};

/// Seconds between a screen page's own reloads.
pub(crate) const SCREEN_REFRESH_SECONDS: u32 = 300;
/// How long after the stale threshold a missing successful run makes the
/// service unready: 2 h.
const READY_GRACE_HOURS: i64 = 2;

type Params = Query<HashMap<String, String>>;

pub(crate) async fn hospital(State(state): State<AppState>) -> Result<Json<HospitalOverview>> {
    Ok(Json(query::hospital(&state, Utc::now()).await?))
}

pub(crate) async fn wards(State(state): State<AppState>) -> Result<Json<WardList>> {
    Ok(Json(query::ward_list(&state, Utc::now()).await?))
}

pub(crate) async fn ward(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<WardView>> {
    Ok(Json(query::ward(&state, &id, Utc::now()).await?))
}

pub(crate) async fn ward_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Params,
) -> Result<Json<WardHistory>> {
    let from = query::parse_time("from", q.get("from"))?;
    let to = query::parse_time("to", q.get("to"))?;
    Ok(Json(query::ward_history(&state, &id, from, to, Utc::now()).await?))
}

pub(crate) async fn ward_forecast(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<WardForecast>> {
    Ok(Json(query::forecast(&state, &id, Utc::now()).await?))
}

pub(crate) async fn patient(State(state): State<AppState>, Path(key): Path<String>) -> Result<Json<PatientDetail>> {
    Ok(Json(query::patient(&state, &key, Utc::now()).await?))
}

pub(crate) async fn weights(State(state): State<AppState>) -> Result<Json<WeightsInForce>> {
    let w = &state.weights;
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
fn limit(q: &HashMap<String, String>) -> Result<u32> {
    match q.get("limit") {
        None => Ok(20),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| Error::BadQuery {
                param: "limit",
                hint: "send limit as a whole number from 1 to 1000".into(),
            }),
    }
}

pub(crate) async fn runs(State(state): State<AppState>, Query(q): Params) -> Result<Json<Vec<Run>>> {
    Ok(Json(state.store.runs(limit(&q)?).await?))
}

pub(crate) async fn latest_run(State(state): State<AppState>) -> Result<Json<Run>> {
    state.store.latest_run().await?.map(Json).ok_or(Error::NoData)
}

pub(crate) async fn audit(State(state): State<AppState>, Query(q): Params) -> Result<Json<Vec<AuditEntry>>> {
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
    let run = state.store.latest_run().await?;
    let text = state.metrics.render(run.as_ref());
    Ok((
        StatusCode::OK,
        [(header::CONTENT_TYPE, crate::routes::Media::Text.mime())],
        text,
    )
        .into_response())
}

fn screen_context(state: &AppState, token: ScreenToken) -> ScreenContext {
    ScreenContext {
        now: Utc::now(),
        tz: state.tz,
        refresh_seconds: SCREEN_REFRESH_SECONDS,
        token: token.0,
    }
}

pub(crate) async fn hospital_screen(
    State(state): State<AppState>,
    Extension(token): Extension<ScreenToken>,
) -> Result<Html<String>> {
    let ctx = screen_context(&state, token);
    let overview = query::hospital(&state, ctx.now).await?;
    Ok(Html(screen::hospital_page(&overview, &ctx)))
}

pub(crate) async fn ward_screen(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Extension(token): Extension<ScreenToken>,
) -> Result<Html<String>> {
    let ctx = screen_context(&state, token);
    let view = query::ward(&state, &id, ctx.now).await?;
    let history = query::ward_history(&state, &id, None, None, ctx.now).await?;
    Ok(Html(screen::ward_page(&view, &history, &ctx)))
}

pub(crate) async fn no_route() -> Error {
    Error::NoRoute
}
