//! The route table: every route, its access, parameters and response, in
//! one place. The router ([`crate::router`]) and the OpenAPI document
//! ([`crate::openapi`]) are both built from [`ROUTES`], so they cannot
//! disagree, and a route cannot be added without declaring who may call it.
//!
//! Who may call what:
//!
//! | role | may read | may write |
//! |---|---|---|
//! | `screen` | its own wards only: ward, ward history, forecast, next shifts, the ward screen page and its beds' patient pages, the rating page | its own wards' shift ratings |
//! | `staffing` | every ward, the hospital, patients, forecasts, screens, shifts, balancing, pins, admissions, planned staffing, calibration, shift ratings | planned staffing, pins, shift ratings (and their paper import) |
//! | `controller` | as staffing, and trend exports and the FHIR output (`/fhir/r4/…`) | nothing |
//! | `admin` | everything (exports and FHIR too), and alone: weights, runs, audit, metrics | planned staffing, pins, shift ratings (and their paper import) |
//! | `rater` | its own wards' rating page only | its own wards' shift ratings |
//!
//! `/healthz` and `/readyz` are public (probes carry no token).

use axum::routing::{MethodRouter, get, post};
use careload_config::Role;

use crate::{AppState, handlers};

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the probes, and the FHIR CapabilityStatement (what is served, never data).
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
    /// May come more than once (`?pin=a&pin=b`): the values make one
    /// comma-separated list. Any other parameter given twice is refused.
    pub repeatable: bool,
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
    /// A file download: CSV, Parquet or JSON as `format` asks.
    Export,
    /// A table: CSV or Excel CSV as a file, or JSON, as `format` asks (the
    /// calibration's files, issue 27).
    Table,
    /// `application/fhir+json`: FHIR R4 resources (issue 29); errors are
    /// `OperationOutcome`s in it too ([`crate::fhir`]).
    Fhir,
}

impl Media {
    /// The MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            Media::Json => "application/json",
            Media::Html => "text/html",
            Media::Text => "text/plain; version=0.0.4",
            Media::Export | Media::Table => "text/csv",
            Media::Fhir => "application/fhir+json",
        }
    }
}

/// A route's HTTP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Reads.
    Get,
    /// Writes (planned staffing).
    Post,
}

impl Method {
    /// The OpenAPI operation key.
    pub fn key(self) -> &'static str {
        match self {
            Method::Get => "get",
            Method::Post => "post",
        }
    }
}

/// A request body a route takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Body {
    /// Its media type.
    pub media: &'static str,
    /// Its schema's name (`components.schemas`).
    pub schema: &'static str,
}

/// One route.
#[derive(Clone, Copy)]
pub struct RouteSpec {
    /// The path, axum/OpenAPI syntax (`/api/v1/wards/{id}`).
    pub path: &'static str,
    /// Its method.
    pub method: Method,
    /// The body it takes, if any.
    pub body: Option<Body>,
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
            .field("method", &self.method)
            .field("access", &self.access)
            .finish_non_exhaustive()
    }
}

const READERS: &[Role] = &[Role::Screen, Role::Staffing, Role::Controller, Role::Admin];
const STAFF: &[Role] = &[Role::Staffing, Role::Controller, Role::Admin];
const ADMIN: &[Role] = &[Role::Admin];
pub(crate) const STAFFING_WRITERS: &[Role] = &[Role::Staffing, Role::Admin];
const CONTROLLERS: &[Role] = &[Role::Controller, Role::Admin];
/// Who may rate a ward's shifts: its `rater` and `screen` tokens (the
/// kiosk rates too), staffing and admin.
const RATERS: &[Role] = &[Role::Rater, Role::Screen, Role::Staffing, Role::Admin];

/// The routes (by operation) that answer success with `201 Created`; every
/// other route answers `200`.
const CREATED: &[&str] = &["post_rating"];

const WARD_ID: Param = Param {
    name: "id",
    location: In::Path,
    required: true,
    schema: "string",
    format: None,
    description: "The ward id, as in [wards.<id>] or the data",
    repeatable: false,
};
const DEPARTMENT_ID: Param = Param {
    name: "id",
    location: In::Path,
    required: true,
    schema: "string",
    format: None,
    description: "The department id, as in [departments.<id>]",
    repeatable: false,
};
const HOSPITAL_ID: Param = Param {
    name: "id",
    location: In::Path,
    required: true,
    schema: "string",
    format: None,
    description: "The hospital id, as in [hospitals.<id>]",
    repeatable: false,
};
const FROM: Param = Param {
    name: "from",
    location: In::Query,
    required: false,
    schema: "string",
    format: Some("date-time"),
    description: "Range start, RFC 3339, inclusive; default `to` − 120 h",
    repeatable: false,
};
const TO: Param = Param {
    name: "to",
    location: In::Query,
    required: false,
    schema: "string",
    format: Some("date-time"),
    description: "Range end, RFC 3339, exclusive; default the end of the hour shown. At most api.max_range_days after `from`",
    repeatable: false,
};
const LIMIT: Param = Param {
    name: "limit",
    location: In::Query,
    required: false,
    schema: "integer",
    format: None,
    description: "How many, newest first: 1–1000, default 20",
    repeatable: false,
};
const TOKEN: Param = Param {
    name: "token",
    location: In::Query,
    required: false,
    schema: "string",
    format: None,
    description: "The bearer token, for kiosk browsers that cannot send headers (screen pages only)",
    repeatable: false,
};

const MONTH: Param = Param {
    name: "month",
    location: In::Query,
    required: false,
    schema: "string",
    format: None,
    description: "A calendar month, YYYY-MM, in scoring.time_zone: the shifts that start in it; default the last \
                  complete month",
    repeatable: false,
};

const DATE_FROM: Param = Param {
    name: "from",
    location: In::Query,
    required: false,
    schema: "string",
    format: Some("date"),
    description: "First date, YYYY-MM-DD, inclusive; default today (scoring.time_zone)",
    repeatable: false,
};
const DATE_TO: Param = Param {
    name: "to",
    location: In::Query,
    required: false,
    schema: "string",
    format: Some("date"),
    description: "Last date, YYYY-MM-DD, inclusive; default tomorrow. At most api.max_range_days after `from`",
    repeatable: false,
};
const WARD_FILTER: Param = Param {
    name: "ward",
    location: In::Query,
    required: false,
    schema: "string",
    format: None,
    description: "Only this ward",
    repeatable: false,
};

const fn query(name: &'static str, required: bool, format: Option<&'static str>, description: &'static str) -> Param {
    Param {
        name,
        location: In::Query,
        required,
        schema: "string",
        format,
        description,
        repeatable: false,
    }
}

const EXPORT_PARAMS: &[Param] = &[
    query("from", true, Some("date"), "First local date, YYYY-MM-DD, inclusive"),
    query(
        "to",
        true,
        Some("date"),
        "Last local date, YYYY-MM-DD, inclusive (at most 3,660 days)",
    ),
    query(
        "level",
        false,
        None,
        "hospital (the whole store), department (each [departments.<id>]: its wards summed hour by hour; wards of no department one group with an empty id), ward (default), team, or site (each [hospitals.<id>]: the wards of its departments summed hour by hour; wards of no hospital left out)",
    ),
    query(
        "grain",
        false,
        None,
        "hour, shift, day (default), week (ISO), month, quarter or year, in scoring.time_zone; the range widens to whole periods",
    ),
    query(
        "format",
        false,
        None,
        "csv (default: `,`, decimal point, UTF-8), csv-excel (`;`, decimal comma, UTF-8 with BOM: Swedish Excel), parquet or json",
    ),
    Param {
        repeatable: true,
        ..query(
            "wards",
            false,
            None,
            "Only these wards, comma-separated or the parameter repeated (levels department, ward, team and site)",
        )
    },
    Param {
        repeatable: true,
        ..query(
            "departments",
            false,
            None,
            "Only the wards of these departments ([departments.<id>]), comma-separated or repeated, besides any wards (levels department, ward, team and site)",
        )
    },
    Param {
        repeatable: true,
        ..query(
            "hospitals",
            false,
            None,
            "Only the wards of these hospitals ([hospitals.<id>]: the wards of their departments), comma-separated or repeated, besides any wards or departments (levels department, ward, team and site)",
        )
    },
    query(
        "staffing",
        false,
        None,
        "true adds planned staff-hours, need in staff-hours, the gap and points per planned staff-hour (grain shift or coarser)",
    ),
    query(
        "compare_last_year",
        false,
        None,
        "true adds the same period a year earlier (same ISO week, month…; 364 days for hours, shifts, days) and the change in per cent",
    ),
];

const FHIR_DATE: Param = Param {
    repeatable: true,
    ..query(
        "date",
        false,
        None,
        "The hour's start (UTC): a prefix ge, gt, le, lt or eq (none = eq) and an RFC 3339 instant, YYYY-MM-DD, \
         YYYY-MM or YYYY; once per bound (date=ge…&date=lt…). A search needs a lower bound on date or \
         _lastUpdated, at most api.max_range_days before its upper bound (or now)",
    )
};
const FHIR_PERIOD: Param = Param {
    repeatable: true,
    ..query(
        "period",
        false,
        None,
        "MeasureReport.period, the hour: as date (FHIR's own parameter for it; MeasureReport.date is when the hour \
         was written)",
    )
};
const FHIR_LAST_UPDATED: Param = Param {
    repeatable: true,
    ..query(
        "_lastUpdated",
        false,
        None,
        "When the hour was written (the end of the run that wrote it): ge, gt, le or lt and an RFC 3339 instant \
         or YYYY-MM-DD; once per bound",
    )
};
const FHIR_WARD: Param = query("ward", false, None, "Only this ward (careload's ward id)");
const FHIR_COUNT: Param = Param {
    schema: "integer",
    ..query("_count", false, None, "Entries per page: 1–1000, default 100")
};
const FHIR_CURSOR: Param = query(
    "_cursor",
    false,
    None,
    "The page after this key: follow the Bundle's next link as it is",
);
const FHIR_ID: Param = Param {
    name: "id",
    location: In::Path,
    required: true,
    schema: "string",
    format: None,
    description: "The resource's id, as a search gave it",
    repeatable: false,
};

/// The methods the route table serves on `path` (a route pattern, as
/// `MatchedPath` gives it), as an `Allow` header lists them: `GET,HEAD,POST`.
/// Empty for a path that is not in the table.
pub fn allowed_methods(path: &str) -> String {
    let mut methods: Vec<&str> = Vec::new();
    for spec in ROUTES.iter().filter(|r| r.path == path) {
        match spec.method {
            Method::Get => methods.extend(["GET", "HEAD"]),
            Method::Post => methods.push("POST"),
        }
    }
    methods.join(",")
}

/// The route the table serves for `method` on `path` (a route pattern, as
/// `MatchedPath` gives it; `HEAD` is served as `GET`); none for a method
/// the path does not take.
pub fn find(path: &str, method: &axum::http::Method) -> Option<&'static RouteSpec> {
    let method = match *method {
        axum::http::Method::GET | axum::http::Method::HEAD => Method::Get,
        axum::http::Method::POST => Method::Post,
        _ => return None,
    };
    ROUTES.iter().find(|r| r.path == path && r.method == method)
}

impl RouteSpec {
    /// The status of its successful answer: 201 for a route that creates
    /// (a rating stored), else 200.
    pub fn success_status(&self) -> u16 {
        if CREATED.contains(&self.operation) { 201 } else { 200 }
    }

    /// Its query parameters, in the table's order: the only ones it takes
    /// (anything else is refused with 400 by [`crate::layers`]).
    pub fn query_params(&self) -> impl Iterator<Item = &'static Param> + use<> {
        self.params.iter().filter(|p| p.location == In::Query)
    }
}

/// Every route the API serves.
pub static ROUTES: &[RouteSpec] = &[
    RouteSpec {
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
        path: "/api/v1/departments/{id}",
        operation: "department",
        summary: "One department's sums and each of its wards at the hour shown (a screen token must cover all its wards)",
        access: Access::Roles(READERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[DEPARTMENT_ID],
        response: "DepartmentOverview",
        media: Media::Json,
        handler: || get(handlers::department),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/region",
        operation: "region",
        summary: "Each hospital's sums, the wards of no hospital and the region's sums at the hour shown (a screen \
                  token must cover every ward)",
        access: Access::Roles(READERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "RegionOverview",
        media: Media::Json,
        handler: || get(handlers::region),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/hospitals/{id}",
        operation: "hospital_of",
        summary: "One hospital's sums, each of its departments' and each of its wards at the hour shown (a screen \
                  token must cover all its wards)",
        access: Access::Roles(READERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[HOSPITAL_ID],
        response: "HospitalView",
        media: Media::Json,
        handler: || get(handlers::hospital_of),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
        path: "/api/v1/wards/{id}/shifts",
        operation: "ward_shifts",
        summary: "The next shift and the one after: forecast need per team and profession in staff-hours and \
                  people, planned staff, the gap, the verdict, the ward index, absences that need not be replaced",
        access: Access::Roles(READERS),
        ward_scoped: true,
        token_in_query: false,
        params: &[WARD_ID],
        response: "WardShifts",
        media: Media::Json,
        handler: || get(handlers::ward_shifts),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/wards/{id}/calibration",
        operation: "ward_calibration",
        summary: "The ward's optimal points per person from the staff's shift ratings: each shift's points per \
                  person present against its mean rating, fitted together and per profession, with the interval, \
                  R², response rate, whether to trust it and why not, and the shifts for a scatter",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[
            WARD_ID,
            query(
                "from",
                false,
                Some("date-time"),
                "Window start, RFC 3339; default `to` − 8 weeks. Shifts wholly in the window count",
            ),
            query(
                "to",
                false,
                Some("date-time"),
                "Window end, RFC 3339; default the end of the shift that ended last. At most api.max_range_days \
                 after `from`",
            ),
        ],
        response: "WardCalibration",
        media: Media::Json,
        handler: || get(handlers::ward_calibration),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/wards/{id}/calibration/agreement",
        operation: "ward_agreement",
        summary: "The ward's monthly agreement report: the calibration over the shifts starting in a calendar \
                  month (R², Spearman, the fits together and per profession, the component fits) and the ten \
                  rated shifts whose mean rating lay farthest from the fitted one (weighted by their ratings), \
                  each with its points per person per component beside the month's mean",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[WARD_ID, MONTH],
        response: "WardAgreement",
        media: Media::Json,
        handler: || get(handlers::ward_agreement),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/wards/{id}/calibration/shifts",
        operation: "calibration_shifts",
        summary: "The calibration's data for controllers: one row per shift of the window with its need, staff \
                  present and points per person (USK, SSK, together) and its ratings' count and mean per \
                  profession, as a file; columns in docs/calibration-export.md",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[
            WARD_ID,
            query(
                "from",
                false,
                Some("date-time"),
                "Window start, RFC 3339; default `to` − calibration.window_weeks. Shifts wholly in the window count",
            ),
            query(
                "to",
                false,
                Some("date-time"),
                "Window end, RFC 3339; default the end of the shift that ended last. At most api.max_range_days \
                 after `from`",
            ),
            query(
                "format",
                false,
                None,
                "csv (default: `,`, decimal point), csv-excel (`;`, decimal comma, BOM) or json (an array of row \
                 objects)",
            ),
        ],
        response: "CalibrationShifts",
        media: Media::Table,
        handler: || get(handlers::calibration_shifts),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/wards/{id}/balance",
        operation: "ward_balance",
        summary: "Suggested patient (and staff) moves between the ward's teams for the next shift, each with its \
                  reason, and every team before and after",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[
            WARD_ID,
            Param {
                name: "max_moves",
                location: In::Query,
                required: false,
                schema: "integer",
                format: None,
                description: "At most this many moves, 0–20; default planning.balance.max_moves",
                repeatable: false,
            },
            Param {
                name: "keep_rooms_together",
                location: In::Query,
                required: false,
                schema: "boolean",
                format: None,
                description: "Move whole rooms; default planning.balance.keep_rooms_together",
                repeatable: false,
            },
            Param {
                name: "allow_staff_move",
                location: In::Query,
                required: false,
                schema: "boolean",
                format: None,
                description: "May propose moving one member of staff; default planning.balance.allow_staff_move",
                repeatable: false,
            },
            Param {
                name: "pin",
                location: In::Query,
                required: false,
                schema: "string",
                format: None,
                description: "Patients that stay in their team: pseudonyms or beds, comma-separated or the parameter repeated",
                repeatable: true,
            },
        ],
        response: "WardBalance",
        media: Media::Json,
        handler: || get(handlers::ward_balance),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/wards/{id}/pins",
        operation: "ward_pins",
        summary: "The patients pinned to their team on record (they never move when teams are balanced), for the \
                  stays on the ward at the hour shown",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[WARD_ID],
        response: "WardPins",
        media: Media::Json,
        handler: || get(handlers::ward_pins),
    },
    RouteSpec {
        method: Method::Post,
        body: Some(Body {
            media: "application/json",
            schema: "PinRequest",
        }),
        path: "/api/v1/wards/{id}/pins",
        operation: "set_pin",
        summary: "Pin a patient to their team (or unpin): by pseudonym or bed, for the current stay only; audited",
        access: Access::Roles(STAFFING_WRITERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[WARD_ID],
        response: "PinWritten",
        media: Media::Json,
        handler: || post(handlers::set_pin),
    },
    RouteSpec {
        method: Method::Post,
        body: Some(Body {
            media: "application/json",
            schema: "RatingRequest",
        }),
        path: "/api/v1/wards/{id}/ratings",
        operation: "post_rating",
        summary: "Rate a shift's workload from −3 to +3 (PAONCIL, 0 = optimal), anonymously: the shift that ended \
                  last unless shift (a name) or shift_start names one; from the shift's start until 24 h after its \
                  end, at most the people present plus 2 per shift. 201 with the shift and its count; a refusal \
                  says why",
        access: Access::Roles(RATERS),
        ward_scoped: true,
        token_in_query: false,
        params: &[WARD_ID],
        response: "RatingAccepted",
        media: Media::Json,
        handler: || post(handlers::post_rating),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/wards/{id}/ratings",
        operation: "ward_ratings",
        summary: "The staff's stored shift ratings of the ward, by shift start (anonymous: shift, team, \
                  profession, rating, source)",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[
            WARD_ID,
            query(
                "from",
                false,
                Some("date-time"),
                "Shifts starting from, RFC 3339, inclusive; default `to` − 56 days",
            ),
            query(
                "to",
                false,
                Some("date-time"),
                "Shifts starting before, RFC 3339, exclusive; default now. At most api.max_range_days after `from`",
            ),
            query(
                "format",
                false,
                None,
                "json (default), or csv (`,`, decimal point) or csv-excel (`;`, decimal comma, BOM) for a file \
                 with the columns of docs/calibration-export.md",
            ),
        ],
        response: "StoredRatings",
        media: Media::Table,
        handler: || get(handlers::ward_ratings),
    },
    RouteSpec {
        method: Method::Post,
        body: Some(Body {
            media: "text/csv",
            schema: "RatingsCsv",
        }),
        path: "/api/v1/wards/{id}/ratings/import",
        operation: "import_ratings",
        summary: "Import shift ratings collected on paper (docs/ratings-csv.md; the file as the body or one form \
                  field): all or nothing, any shift that has ended; any bad row refuses the file with 422 listing \
                  every bad row by line",
        access: Access::Roles(STAFFING_WRITERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[WARD_ID],
        response: "RatingsImported",
        media: Media::Json,
        handler: || post(handlers::import_ratings),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/admissions",
        operation: "admissions",
        summary: "For the bed coordinator: which wards can take the next admission from the emergency department, \
                  by free beds and by need against planned staff for the next two shifts",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "Admissions",
        media: Media::Json,
        handler: || get(handlers::admissions),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/export",
        operation: "export",
        summary: "A trend export for controllers: the hourly history aggregated by level (hospital, department, ward, team, site) and \
                  grain (hour, shift, day, week, month, quarter, year) with mean, median, p90, max, patient-hours, \
                  patients, per profession and component; optionally staffing and last year. Streamed as a file \
                  (CSV, Excel CSV, Parquet, JSON); columns in docs/exports.md",
        access: Access::Roles(CONTROLLERS),
        ward_scoped: false,
        token_in_query: false,
        params: EXPORT_PARAMS,
        response: "Export",
        media: Media::Export,
        handler: || get(handlers::export),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/api/v1/staffing",
        operation: "staffing",
        summary: "Planned staffing rows: ward, team, date, shift, profession, planned, absent",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: false,
        params: &[WARD_FILTER, DATE_FROM, DATE_TO],
        response: "StaffingRows",
        media: Media::Json,
        handler: || get(handlers::staffing),
    },
    RouteSpec {
        method: Method::Post,
        body: Some(Body {
            media: "application/json",
            schema: "StaffingRows",
        }),
        path: "/api/v1/staffing",
        operation: "put_staffing",
        summary: "Store planned staffing rows (each replaces the row with the same ward, team, date, shift and \
                  profession); all or nothing: any bad row refuses the whole request with 422",
        access: Access::Roles(STAFFING_WRITERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "StaffingWritten",
        media: Media::Json,
        handler: || post(handlers::put_staffing),
    },
    RouteSpec {
        method: Method::Post,
        body: Some(Body {
            media: "text/csv",
            schema: "StaffingCsv",
        }),
        path: "/api/v1/staffing/csv",
        operation: "import_staffing_csv",
        summary: "Import the scheduling system's planned-staffing CSV (docs/planned-staffing-csv.md); all or \
                  nothing: any bad row refuses the file with 422 listing every bad row by line",
        access: Access::Roles(STAFFING_WRITERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "StaffingWritten",
        media: Media::Json,
        handler: || post(handlers::import_staffing_csv),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
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
            repeatable: false,
        }],
        response: "PatientDetail",
        media: Media::Json,
        handler: || get(handlers::patient),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
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
        method: Method::Post,
        body: Some(Body {
            media: "application/toml",
            schema: "WeightsFile",
        }),
        path: "/api/v1/weights/backtest",
        operation: "backtest_weights",
        summary: "Re-score the stored history of from..to (at most 92 days) under the candidate weights file in the \
                  body and compare with what was stored, per ward and for the hospital: mean hourly total, \
                  professions, components, ranks, staffing gap. Nothing stored changes; a refused file gets 422 \
                  with every problem and its line",
        access: Access::Roles(ADMIN),
        ward_scoped: false,
        token_in_query: false,
        params: &[
            query("from", true, Some("date"), "First local date, YYYY-MM-DD, inclusive"),
            query("to", true, Some("date"), "Last local date, YYYY-MM-DD, inclusive"),
        ],
        response: "Backtest",
        media: Media::Json,
        handler: || post(handlers::backtest),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
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
        method: Method::Get,
        body: None,
        path: "/departments/{id}",
        operation: "department_screen",
        summary: "A department's page: its sums and its wards (a screen token must cover all its wards)",
        access: Access::Roles(READERS),
        ward_scoped: false,
        token_in_query: true,
        params: &[DEPARTMENT_ID, TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::department_screen),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/region",
        operation: "region_screen",
        summary: "The region's page: each hospital's sums, linking to its page (a screen token must cover every ward)",
        access: Access::Roles(READERS),
        ward_scoped: false,
        token_in_query: true,
        params: &[TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::region_screen),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/hospitals/{id}",
        operation: "hospital_of_screen",
        summary: "A hospital's page: its sums and its wards under its departments (a screen token must cover all its \
                  wards)",
        access: Access::Roles(READERS),
        ward_scoped: false,
        token_in_query: true,
        params: &[HOSPITAL_ID, TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::hospital_of_screen),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/admissions",
        operation: "admissions_screen",
        summary: "The bed coordinator's page: every ward ranked for the next admission by free beds and by the \
                  staffing margin left after one more patient, with the reason",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: true,
        params: &[TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::admissions_screen),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/wards/{id}/planning",
        operation: "planning_screen",
        summary: "The staffing assistants' page: the next two shifts' need against planned staff per team, \
                  verdicts, and the team-balancing proposal with reasons",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: true,
        params: &[WARD_ID, TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::planning_screen),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/wards/{id}/calibration",
        operation: "calibration_screen",
        summary: "The council's calibration page: the ward's optimal points per person from the staff's shift \
                  ratings with its interval (or why it is not to be trusted), a scatter of each rated shift's mean \
                  rating against its points per person with the fitted line, USK and SSK, which components move \
                  with the ratings, and for a month the shifts where points and ratings disagreed most; in Swedish",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: true,
        params: &[
            WARD_ID,
            query(
                "from",
                false,
                Some("date-time"),
                "Window start, RFC 3339; default `to` − calibration.window_weeks (not with month)",
            ),
            query(
                "to",
                false,
                Some("date-time"),
                "Window end, RFC 3339; default the end of the shift that ended last (not with month)",
            ),
            query(
                "month",
                false,
                None,
                "A calendar month, YYYY-MM, in scoring.time_zone: the shifts that start in it, with the month's \
                 largest disagreements (not with from and to)",
            ),
            TOKEN,
        ],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::calibration_screen),
    },
    RouteSpec {
        method: Method::Post,
        body: Some(Body {
            media: "multipart/form-data",
            schema: "StaffingCsvForm",
        }),
        path: "/wards/{id}/planning/staffing",
        operation: "planning_import",
        summary: "The planning page's upload form: imports a planned-staffing CSV (one file field) all or \
                  nothing, as /api/v1/staffing/csv does, and answers the planning page with the result on top — \
                  the rows stored, or 422 with every bad line",
        access: Access::Roles(STAFFING_WRITERS),
        ward_scoped: false,
        token_in_query: true,
        params: &[WARD_ID, TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || post(handlers::planning_import),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/wards/{id}/rate",
        operation: "rate_screen",
        summary: "The staff's rating page, for a phone or the ward's touch screen: the shift (the one that ended \
                  last by default), the team and profession (optional) and seven buttons −3 … +3, in Swedish; \
                  anonymous",
        access: Access::Roles(RATERS),
        ward_scoped: true,
        token_in_query: true,
        params: &[WARD_ID, TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::rate_screen),
    },
    RouteSpec {
        method: Method::Post,
        body: Some(Body {
            media: "application/x-www-form-urlencoded",
            schema: "RatingFormPost",
        }),
        path: "/wards/{id}/rate",
        operation: "rate_form",
        summary: "The rating page's form: stores the rating as POST /api/v1/wards/{id}/ratings does and answers a \
                  thank-you page with the shift's count, or the refusal in Swedish with a link back (with the \
                  refusal's status)",
        access: Access::Roles(RATERS),
        ward_scoped: true,
        token_in_query: true,
        params: &[WARD_ID, TOKEN],
        response: "HtmlPage",
        media: Media::Html,
        handler: || post(handlers::rate_form),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/wards/{id}/beds/{bed}",
        operation: "bed_screen",
        summary: "The patient page of a bed, opened from the ward screen: the points now per component and item \
                  (local due time, the council's weight, the weights-file parameter) and what changed since the \
                  previous hour, in Swedish",
        access: Access::Roles(READERS),
        ward_scoped: true,
        token_in_query: true,
        params: &[
            WARD_ID,
            Param {
                name: "bed",
                location: In::Path,
                required: true,
                schema: "string",
                format: None,
                description: "The bed as the ward screen shows it (`r03-b2` for `w1-r03-b2`), or its full id",
                repeatable: false,
            },
            TOKEN,
        ],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::bed_screen),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/patients/{key}",
        operation: "patient_screen",
        summary: "The patient page by pseudonym (as /wards/{id}/beds/{bed})",
        access: Access::Roles(STAFF),
        ward_scoped: false,
        token_in_query: true,
        params: &[
            Param {
                name: "key",
                location: In::Path,
                required: true,
                schema: "string",
                format: None,
                description: "The patient's keyed pseudonym",
                repeatable: false,
            },
            TOKEN,
        ],
        response: "HtmlPage",
        media: Media::Html,
        handler: || get(handlers::patient_screen),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
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
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/fhir/r4/metadata",
        operation: "fhir_metadata",
        summary: "FHIR R4: the CapabilityStatement of careload's read-only FHIR output (docs/fhir-out.md); open, as \
                  FHIR clients expect (it says what is served and how to authenticate, nothing of the data)",
        access: Access::Public,
        ward_scoped: false,
        token_in_query: false,
        params: &[],
        response: "FhirCapabilityStatement",
        media: Media::Fhir,
        handler: || get(crate::fhir::metadata),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/fhir/r4/MeasureReport",
        operation: "fhir_measure_reports",
        summary: "FHIR R4 search: per ward and hour a MeasureReport (total, USK, SSK and every component in points, \
                  the patients as the population), as a searchset Bundle paged by next links; errors are \
                  OperationOutcomes",
        access: Access::Roles(CONTROLLERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[
            FHIR_DATE,
            FHIR_PERIOD,
            FHIR_LAST_UPDATED,
            query("subject", false, None, "The ward as a Location: Location/<ward id>"),
            FHIR_WARD,
            FHIR_COUNT,
            FHIR_CURSOR,
        ],
        response: "FhirBundle",
        media: Media::Fhir,
        handler: || get(crate::fhir::search_measure_reports),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/fhir/r4/MeasureReport/{id}",
        operation: "fhir_measure_report",
        summary: "FHIR R4 read: one ward's hour as a MeasureReport",
        access: Access::Roles(CONTROLLERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[FHIR_ID],
        response: "FhirMeasureReport",
        media: Media::Fhir,
        handler: || get(crate::fhir::read_measure_report),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/fhir/r4/Observation",
        operation: "fhir_observations",
        summary: "FHIR R4 search: per patient and hour an Observation of care need (the total in points, USK, SSK \
                  and every component as components), the patient by pseudonym only, as a searchset Bundle paged \
                  by next links; errors are OperationOutcomes",
        access: Access::Roles(CONTROLLERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[
            FHIR_DATE,
            FHIR_LAST_UPDATED,
            query(
                "subject:identifier",
                false,
                None,
                "The patient's pseudonym: https://careload.se/fhir/NamingSystem/patient-pseudonym|<pseudonym>",
            ),
            FHIR_WARD,
            FHIR_COUNT,
            FHIR_CURSOR,
        ],
        response: "FhirBundle",
        media: Media::Fhir,
        handler: || get(crate::fhir::search_observations),
    },
    RouteSpec {
        method: Method::Get,
        body: None,
        path: "/fhir/r4/Observation/{id}",
        operation: "fhir_observation",
        summary: "FHIR R4 read: one patient's hour as an Observation",
        access: Access::Roles(CONTROLLERS),
        ward_scoped: false,
        token_in_query: false,
        params: &[FHIR_ID],
        response: "FhirObservation",
        media: Media::Fhir,
        handler: || get(crate::fhir::read_observation),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_declares_its_parameters_once_and_its_path_parameters_exactly() {
        for r in ROUTES {
            let mut names: Vec<&str> = r.params.iter().map(|p| p.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(names.len(), before, "{} declares a parameter twice", r.path);
            let in_path: Vec<&str> = r
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let declared: Vec<&str> = r
                .params
                .iter()
                .filter(|p| p.location == In::Path)
                .map(|p| p.name)
                .collect();
            assert_eq!(in_path, declared, "{}", r.path);
        }
    }

    #[test]
    fn a_route_takes_the_token_in_its_query_exactly_when_it_declares_it() {
        for r in ROUTES {
            let declares = r.query_params().any(|p| p.name == TOKEN.name);
            assert_eq!(declares, r.token_in_query, "{} {:?}", r.path, r.method);
        }
    }

    #[test]
    fn routes_are_found_by_pattern_and_method() {
        use axum::http::Method as M;
        for r in ROUTES {
            let methods: &[M] = match r.method {
                Method::Get => &[M::GET, M::HEAD],
                Method::Post => &[M::POST],
            };
            for m in methods {
                let found = find(r.path, m).map(|f| (f.path, f.method));
                assert_eq!(found, Some((r.path, r.method)), "{m} {}", r.path);
            }
        }
        assert!(find("/api/v1/wards/{id}", &M::DELETE).is_none());
        assert!(find("/api/v1/staffing/csv", &M::GET).is_none());
        assert!(find("/api/v1/wards/w1", &M::GET).is_none(), "a pattern, not a path");
        let export: Vec<&str> = find("/api/v1/export", &M::GET)
            .map(|r| r.query_params().map(|p| p.name).collect())
            .unwrap_or_default();
        assert_eq!(
            export,
            [
                "from",
                "to",
                "level",
                "grain",
                "format",
                "wards",
                "departments",
                "hospitals",
                "staffing",
                "compare_last_year"
            ]
        );
    }
}
