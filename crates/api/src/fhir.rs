//! The FHIR R4 output's routes (issue 29, `docs/fhir-out.md`):
//! `GET /fhir/r4/metadata`, the searches `GET /fhir/r4/MeasureReport` and
//! `GET /fhir/r4/Observation`, and reads by id. HTTP only: the query's
//! pairs as sent (`date` once per bound) go to
//! [`careload_app::fhir_out::parse_search`], the page comes back as a
//! `searchset` Bundle, answered as `application/fhir+json`.
//!
//! Errors on every path under `/fhir/` are FHIR's: [`crate::layers`] turns
//! each error answer there — a refused parameter, a missing token, an
//! unknown id or route — into an `OperationOutcome` ([`outcome_of`]) with
//! the same status and headers, the error's words in
//! `issue[0].details.text` and its hint in `issue[0].diagnostics`.
//!
//! The links' base is the request's own: `Host` (else `api.listen`) and,
//! behind a proxy that terminates TLS, `X-Forwarded-Proto: https`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use careload_app::fhir_out::{self, FHIR_JSON, Resource};
use chrono::Utc;
use serde_json::Value;

use crate::AppState;
use crate::error::{Error, Result};

/// The path every FHIR route starts with.
pub const BASE_PATH: &str = "/fhir/r4";

/// `value` as an `application/fhir+json` answer.
fn fhir(status: StatusCode, value: &Value) -> Response {
    let mut r = (status, value.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    r
}

/// The FHIR base URL of this request: `http(s)://<Host>/fhir/r4`.
fn base(state: &AppState, headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| state.config.api.listen.clone(), str::to_owned);
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    format!("{}://{host}{BASE_PATH}", if https { "https" } else { "http" })
}

/// The query's pairs as sent, in order.
fn pairs(uri: &Uri) -> Result<Vec<(String, String)>> {
    Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|Query(p)| p)
        .map_err(|e| Error::Unreadable {
            status: e.status(),
            problem: e.body_text(),
        })
}

pub(crate) async fn metadata(State(_): State<AppState>) -> Response {
    fhir(
        StatusCode::OK,
        &fhir_out::capability_statement(env!("CARGO_PKG_VERSION"), Utc::now()),
    )
}

async fn search(state: AppState, resource: Resource, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let now = Utc::now();
    let search = fhir_out::parse_search(resource, &pairs(&uri)?, now, state.config.api.max_range_days)?;
    let bundle = fhir_out::search(&state, &search, &base(&state, &headers), now).await?;
    Ok(fhir(StatusCode::OK, &bundle))
}

pub(crate) async fn search_measure_reports(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    search(state, Resource::MeasureReport, headers, uri).await
}

pub(crate) async fn search_observations(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    search(state, Resource::Observation, headers, uri).await
}

pub(crate) async fn read_measure_report(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    Ok(fhir(
        StatusCode::OK,
        &fhir_out::read(&state, Resource::MeasureReport, &id).await?,
    ))
}

pub(crate) async fn read_observation(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response> {
    Ok(fhir(
        StatusCode::OK,
        &fhir_out::read(&state, Resource::Observation, &id).await?,
    ))
}

/// Whether a request path is the FHIR output's.
pub fn is_fhir_path(path: &str) -> bool {
    path == BASE_PATH || path.starts_with("/fhir/r4/")
}

/// The R4 issue type of an error status.
fn issue_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 | 422 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        405 => "not-supported",
        413 => "too-long",
        429 => "throttled",
        _ if status.is_server_error() => "exception",
        _ => "processing",
    }
}

/// The most of an error answer's body read to rewrite it.
const ERROR_BODY_MAX: usize = 64 * 1024;

/// An error answer under `/fhir/` as an `OperationOutcome`: the same status
/// and headers, the JSON error's `error` as `details.text` and its `hint` as
/// `diagnostics` (an HTML page's words are replaced by the status's own,
/// and a path no route has says which ones there are). Anything else is
/// returned as it is.
pub async fn outcome_of(response: Response, head: bool) -> Response {
    let status = response.status();
    let is_fhir = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with(FHIR_JSON));
    if !(status.is_client_error() || status.is_server_error()) || is_fhir {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let json: Option<Value> = axum::body::to_bytes(body, ERROR_BODY_MAX)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let text = |key: &str| json.as_ref().and_then(|j| j[key].as_str()).map(str::to_owned);
    let (error, hint) = match (text("error"), status) {
        (Some(e), _) => (e, text("hint")),
        (None, StatusCode::NOT_FOUND) => (
            "no such FHIR route".to_owned(),
            Some(format!(
                "careload serves {BASE_PATH}/metadata, {BASE_PATH}/MeasureReport and {BASE_PATH}/Observation \
                 (search, and read by id)"
            )),
        ),
        (None, s) => (s.canonical_reason().unwrap_or("error").to_owned(), None),
    };
    let outcome = fhir_out::operation_outcome(issue_code(status), &error, hint.as_deref());
    parts.headers.remove(header::CONTENT_LENGTH);
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    let body = if head {
        Body::empty()
    } else {
        Body::from(outcome.to_string())
    };
    Response::from_parts(parts, body)
}

// ---------------------------------------------------------------- OpenAPI schemas
//
// The FHIR answers' shapes as `crate::openapi` names them: the top level of
// each resource as careload writes it (every property it writes, and what
// it always writes as required), the nested FHIR data types left open. The
// FHIR R4 specification is their full definition.

/// A FHIR `Coding` list in a `CodeableConcept`.
fn concept_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "coding": { "type": "array", "items": { "type": "object" } },
            "text": { "type": "string" },
        },
        "required": ["coding"],
    })
}

/// A FHIR `Quantity` of points.
fn quantity_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "value": { "type": "number" },
            "unit": { "type": "string" },
            "system": { "type": "string" },
            "code": { "type": "string" },
        },
        "required": ["value", "unit", "system", "code"],
    })
}

fn period_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "start": { "type": "string", "format": "date-time" },
            "end": { "type": "string", "format": "date-time" },
        },
        "required": ["start", "end"],
    })
}

fn meta_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": { "lastUpdated": { "type": "string", "format": "date-time" } },
        "required": ["lastUpdated"],
    })
}

fn extension_schema() -> Value {
    serde_json::json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": { "url": { "type": "string" }, "valueString": { "type": "string" } },
            "required": ["url", "valueString"],
        },
    })
}

/// `FhirMeasureReport`.
pub(crate) fn measure_report_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "resourceType": { "const": "MeasureReport" },
            "id": { "type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$" },
            "meta": meta_schema(),
            "extension": extension_schema(),
            "status": { "const": "complete" },
            "type": { "const": "summary" },
            "measure": { "const": fhir_out::MEASURE },
            "subject": {
                "type": "object",
                "properties": {
                    "reference": { "type": "string", "pattern": "^Location/[A-Za-z0-9.-]{1,64}$" },
                    "type": { "const": "Location" },
                    "identifier": { "type": "object" },
                },
                "required": ["type", "identifier"],
            },
            "date": { "type": "string", "format": "date-time" },
            "period": period_schema(),
            "group": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "code": concept_schema(),
                        "population": { "type": "array", "items": { "type": "object" } },
                        "measureScore": quantity_schema(),
                    },
                    "required": ["code", "population", "measureScore"],
                },
            },
        },
        "required": ["resourceType", "id", "meta", "extension", "status", "type", "measure", "subject", "date",
                     "period", "group"],
    })
}

/// `FhirObservation`: the subject is the pseudonym as an identifier and
/// nothing else.
pub(crate) fn observation_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "resourceType": { "const": "Observation" },
            "id": { "type": "string", "pattern": "^[A-Za-z0-9.-]{1,64}$" },
            "meta": meta_schema(),
            "extension": extension_schema(),
            "status": { "const": "final" },
            "category": { "type": "array", "items": concept_schema() },
            "code": concept_schema(),
            "subject": {
                "type": "object",
                "properties": {
                    "identifier": {
                        "type": "object",
                        "properties": {
                            "system": { "const": fhir_out::PSEUDONYM_SYSTEM },
                            "value": { "type": "string" },
                        },
                        "required": ["system", "value"],
                        "additionalProperties": false,
                    },
                },
                "required": ["identifier"],
                "additionalProperties": false,
            },
            "effectivePeriod": period_schema(),
            "issued": { "type": "string", "format": "date-time" },
            "valueQuantity": quantity_schema(),
            "component": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": { "code": concept_schema(), "valueQuantity": quantity_schema() },
                    "required": ["code", "valueQuantity"],
                },
            },
        },
        "required": ["resourceType", "id", "meta", "extension", "status", "category", "code", "subject",
                     "effectivePeriod", "issued", "valueQuantity", "component"],
    })
}

/// `FhirBundle`: a `searchset` page.
pub(crate) fn bundle_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "resourceType": { "const": "Bundle" },
            "type": { "const": "searchset" },
            "meta": meta_schema(),
            "link": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "relation": { "enum": ["self", "next"] },
                        "url": { "type": "string" },
                    },
                    "required": ["relation", "url"],
                },
            },
            "entry": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "fullUrl": { "type": "string" },
                        "resource": { "oneOf": [
                            { "$ref": "#/components/schemas/FhirMeasureReport" },
                            { "$ref": "#/components/schemas/FhirObservation" },
                        ] },
                        "search": { "type": "object" },
                    },
                    "required": ["fullUrl", "resource", "search"],
                },
            },
        },
        "required": ["resourceType", "type", "meta", "link"],
    })
}

/// `FhirCapabilityStatement`.
pub(crate) fn capability_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "resourceType": { "const": "CapabilityStatement" },
            "status": { "const": "active" },
            "date": { "type": "string", "format": "date-time" },
            "publisher": { "type": "string" },
            "kind": { "const": "instance" },
            "software": { "type": "object" },
            "implementation": { "type": "object" },
            "fhirVersion": { "const": fhir_out::FHIR_VERSION },
            "format": { "type": "array", "items": { "type": "string" } },
            "rest": { "type": "array", "items": { "type": "object" } },
        },
        "required": ["resourceType", "status", "date", "kind", "fhirVersion", "format", "rest"],
    })
}

/// `OperationOutcome`: every error answer under `/fhir/r4`.
pub(crate) fn outcome_schema() -> Value {
    serde_json::json!({
        "type": "object",
        "properties": {
            "resourceType": { "const": "OperationOutcome" },
            "issue": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "severity": { "const": "error" },
                        "code": { "type": "string" },
                        "details": {
                            "type": "object",
                            "properties": { "text": { "type": "string" } },
                            "required": ["text"],
                        },
                        "diagnostics": { "type": "string" },
                    },
                    "required": ["severity", "code", "details"],
                },
            },
        },
        "required": ["resourceType", "issue"],
    })
}
