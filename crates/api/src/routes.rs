//! The route table: every route, its access, parameters and response, in
//! one place. The router ([`crate::router`]) and the OpenAPI document
//! ([`crate::openapi`]) are both built from [`ROUTES`], so they cannot
//! disagree, and a route cannot be added without declaring who may call it.
//!
//! Who may call what:
//!
//! | role | may read |
//! |---|---|
//! | `screen` | its own wards only: ward, ward history, forecast, the ward screen page |
//! | `staffing` | every ward, the hospital, patients, forecasts, screens |
//! | `controller` | as staffing |
//! | `admin` | everything, and alone: weights, runs, audit, metrics |
//!
//! `/healthz` and `/readyz` are public (probes carry no token).

use axum::routing::{MethodRouter, get};
use careload_config::Role;

use crate::{AppState, handlers};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone (probes only).
    Public,
    /// A token with one of these roles.
    Roles(&'static [Role]),
}

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum In {
    /// In the path (`{id}`).
    Path,
    /// In the query string.
    Query,
}

/// One parameter of a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// Path or query.
    pub location: In,
    /// Required.
    pub required: bool,
    /// OpenAPI schema type (`string`, `integer`).
    pub schema: &'static str,
    /// OpenAPI format, if any (`date-time`).
    pub format: Option<&'static str>,
    /// What it is.
    pub description: &'static str,
}

/// The media type a route answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    /// `application/json`.
    Json,
    /// `text/html`.
    Html,
    /// `text/plain` (Prometheus exposition).
    Text,
}

impl Media {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Html => "text/html",
            Media::Text => "text/plain; version=0.0.4",
        }
    }
}

/// One route (all are `GET`).
#[derive(Clone, Copy)]
pub struct RouteSpec {
    /// The path, axum/OpenAPI syntax (`/api/v1/wards/{id}`).
    pub path: &'static str,
    /// A stable operation id.
    pub operation: &'static str,
    /// What it returns.
    pub summary: &'static str,
    /// Who may call it.
    pub access: Access,
    /// True when `{id}` is a ward and screen tokens are scoped by it.
    pub ward_scoped: bool,
    /// True when the token may also come as `?token=` (screen pages only).
    pub token_in_query: bool,
    /// Path and query parameters.
    pub params: &'static [Param],
    /// The response schema's name (`components.schemas`).
    pub response: &'static str,
    /// Its media type.
    pub media: Media,
    /// The handler.
    pub(crate) handler: fn() -> MethodRouter<AppState>,
}

impl std::fmt::Debug for RouteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteSpec")
            .field("path", &self.path)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

const READERS: &[Role] = &[Role::Screen, Role::Staffing, Role::Controller, Role::Admin];
const STAFF: &[Role] = &[Role::Staffing, Role::Controller, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];

const WARD_ID: Param = Param {
    name: "id",
    location: In::Path,
    required: true,
    schema: "string",
    format: None,
    description: "The ward id, as in [wards.<id>] or the data",
};
const FROM: Param = Param {
    name: "from",
    location: In::Query,
    required: false,
    schema: "string",
    format: Some("date-time"),
    description: "Range start, RFC 3339, inclusive; default `to` − 120 h",
};
const TO: Param = Param {
    name: "to",
    location: In::Query,
    required: false,
    schema: "string",
    format: Some("date-time"),
    description: "Range end, RFC 3339, exclusive; default the end of the hour shown. At most api.max_range_days after `from`",
};
const LIMIT: Param = Param {
    name: "limit",
    location: In::Query,
    required: false,
    schema: "integer",
    format: None,
    description: "How many, newest first: 1–1000, default 20",
};
const TOKEN: Param = Param {
    name: "token",
    location: In::Query,
    required: false,
    schema: "string",
    format: None,
    description: "The bearer token, for kiosk browsers that cannot send headers (screen pages only)",
};

/// Every route the API serves.
pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        path: "/api/v1/hospital",
        operation: "hospital",
        summary: "Every ward at the hour shown against its expected level for this hour of the week",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "HospitalOverview",
        media: Media::Json,
        handler: || get(handlers::hospital),
    },
    RouteSpec {
        path: "/api/v1/wards",
        operation: "wards",
        summary: "The wards: configured or in the data, with names",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "WardList",
        media: Media::Json,
        handler: || get(handlers::wards),
    },
    RouteSpec {
        path: "/api/v1/wards/{id}",
        operation: "ward",
        summary: "A ward at the hour shown: totals, teams, every patient (de-identified)",
        access: Access::Roles(READERS),
        ward_scoped: true,
        token_in_query: false,
        params: &[WARD_ID],
        response: "WardView",
        media: Media::Json,
        handler: || get(handlers::ward),
    },
    RouteSpec {
        path: "/api/v1/wards/{id}/history",
        operation: "ward_history",
        summary: "Hourly totals of the ward, each team and each current patient over a range",
        access: Access::Roles(READERS),
        ward_scoped: true,
        token_in_query: false,
        params: &[WARD_ID, FROM, TO],
        response: "WardHistory",
        media: Media::Json,
        handler: || get(handlers::ward_history),
    },
    RouteSpec {
        path: "/api/v1/wards/{id}/forecast",
        operation: "ward_forecast",
        summary: "The next scoring.forecast_hours hourly totals per patient, team and ward",
        access: Access::Roles(READERS),
        ward_scoped: true,
        token_in_query: false,
        params: &[WARD_ID],
        response: "WardForecast",
        media: Media::Json,
        handler: || get(handlers::ward_forecast),
    },
    RouteSpec {
        path: "/api/v1/patients/{key}",
        operation: "patient",
        summary: "A patient's full breakdown at the hour shown and what changed since the previous hour, and why",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[Param {
            name: "key",
            location: In::Path,
            required: true,
            schema: "string",
            format: None,
            description: "The patient's keyed pseudonym",
        }],
        response: "PatientDetail",
        media: Media::Json,
        handler: || get(handlers::patient),
    },
    RouteSpec {
        path: "/api/v1/weights",
        operation: "weights",
        summary: "The weights version in force and its metadata",
        access: Access::Roles(ADMIN),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "WeightsInForce",
        media: Media::Json,
        handler: || get(handlers::weights),
    },
    RouteSpec {
        path: "/api/v1/weights/versions",
        operation: "weights_versions",
        summary: "Every weights version on record",
        access: Access::Roles(ADMIN),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "WeightsVersions",
        media: Media::Json,
        handler: || get(handlers::weights_versions),
    },
    RouteSpec {
        path: "/api/v1/runs",
        operation: "runs",
        summary: "The most recent ingest runs, newest first",
        access: Access::Roles(ADMIN),
        ward_scoped: false,
        token_in_query: false,
        params: &[LIMIT],
        response: "Runs",
        media: Media::Json,
        handler: || get(handlers::runs),
    },
    RouteSpec {
        path: "/api/v1/runs/latest",
        operation: "latest_run",
        summary: "The most recent ingest run",
        access: Access::Roles(ADMIN),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "Run",
        media: Media::Json,
        handler: || get(handlers::latest_run),
    },
    RouteSpec {
        path: "/api/v1/audit",
        operation: "audit",
        summary: "The most recent audit entries, newest first",
        access: Access::Roles(ADMIN),
        ward_scoped: false,
        token_in_query: false,
        params: &[LIMIT],
        response: "AuditEntries",
        media: Media::Json,
        handler: || get(handlers::audit),
    },
    RouteSpec {
        path: "/api/v1/openapi.json",
        operation: "openapi",
        summary: "This API as an OpenAPI 3.1 document",
        access: Access::Roles(READERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "OpenApi",
        media: Media::Json,
        handler: || get(handlers::openapi),
    },
    RouteSpec {
        path: "/healthz",
        operation: "healthz",
        summary: "The process is up",
        access: Access::Public,
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "Status",
        media: Media::Json,
        handler: || get(handlers::healthz),
    },
    RouteSpec {
        path: "/readyz",
        operation: "readyz",
        summary: "The store answers and the last successful run is younger than 2 h + api.stale_after_minutes; else 503 with the reason",
        access: Access::Public,
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "Status",
        media: Media::Json,
        handler: || get(handlers::readyz),
    },
    RouteSpec {
        path: "/metrics",
        operation: "metrics",
        summary: "Prometheus metrics: requests and latency per route and status, the latest ingest run",
        access: Access::Roles(ADMIN),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "PrometheusText",
        media: Media::Text,
        handler: || get(handlers::metrics),
    },
    RouteSpec {
        path: "/",
        operation: "hospital_screen",
        summary: "The hospital overview page",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: true,
        params: &[TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::hospital_screen),
    },
    RouteSpec {
        path: "/wards/{id}/screen",
        operation: "ward_screen",
        summary: "The ward screen page for the ward office (refreshes itself)",
        access: Access::Roles(READERS),
        ward_scoped: true,
        token_in_query: true,
        params: &[WARD_ID, TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::ward_screen),
    },
];
