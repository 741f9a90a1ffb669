//! The OpenAPI 3.1 document, built from the route table ([`crate::routes::ROUTES`])
//! that the router is built from: every route with its parameters, the roles
//! that may call it (`x-roles`, and in the description), its security
//! schemes and its response schema's name.
//!
//! Schemas are named, with a description each; their fields are those of the
//! serde form of the types in [`crate::view`], [`careload_store`] and
//! [`careload_scoring`] of the same name.

use serde_json::{Map, Value, json};

use crate::auth::role_name;
use crate::routes::{Access, In, RouteSpec};

/// What each schema is.
const SCHEMAS: &[(&str, &str)] = &[
    (
        "HospitalOverview",
        "Every ward at the hour shown. Each ward's indicator compares its total with its expected level, the mean \
         total at the same local hour of the week over the previous 52 weeks: higher when more than 15 % above, \
         lower when more than 15 % below, else as_expected; too_little_data with fewer than 4 past hours.",
    ),
    (
        "WardList",
        "The wards, configured or in the data, with names and patient counts.",
    ),
    (
        "WardView",
        "A ward at the hour shown: totals, teams, each de-identified patient with colour band (hospital-wide \
         quartiles at that hour) and data state (stale when older than api.stale_after_minutes or when the last \
         run failed).",
    ),
    (
        "WardHistory",
        "Hourly totals of the ward, each team and each current patient over [from, to).",
    ),
    (
        "WardForecast",
        "Hourly forecast totals per patient, team and ward, under the weights in force.",
    ),
    (
        "PatientDetail",
        "A patient's breakdown (every contribution with parameter, source, weight, quantity and points) and what \
         changed since the previous hour: items started, ended or changed, NEWS2, Norton, emotional support, \
         placement, component and total deltas, which add up to the total's change.",
    ),
    ("WeightsInForce", "The weights version in force and its metadata."),
    ("WeightsVersions", "Every weights version on record, by effective date."),
    ("Runs", "Ingest runs, newest first."),
    (
        "Run",
        "One ingest run: times, source, outcome, counts, skipped, retries, error.",
    ),
    ("AuditEntries", "Audit entries, newest first."),
    (
        "WardShifts",
        "The next shift and the one after for a ward: per team and for the ward, the forecast need (points per \
         profession and component, staff-hours = points × the care category's staff_hours factor, people = \
         staff-hours ÷ shift hours), planned and absent staff, the gap in hours and people, the verdict \
         (understaffed, balanced, room_to_spare, no_plan) with planning.thresholds, the ward index (points per \
         person present) and absence_need_not_be_replaced.",
    ),
    (
        "WardBalance",
        "Team balancing for the next shift: moves (patients, whole rooms, or one member of staff) with a reason \
         in Swedish, each team's points per staff member before and after, the spread before and after, and the \
         pinned patients (on record or ?pin=), who never move; the spread never gets wider.",
    ),
    (
        "WardPins",
        "{state, id, pins: [{patient (pseudonym), bed, pinned_by, pinned_at}]}: the pins on record whose stay is on \
         the ward at the hour shown.",
    ),
    (
        "PinRequest",
        "{\"patient\": pseudonym or bed (as the ward screen shows it, e.g. r03-b2), \"pinned\": true | false}.",
    ),
    (
        "PinWritten",
        "{patient (the pseudonym resolved), pinned, changed (false when it already was so)}.",
    ),
    (
        "Admissions",
        "Every ward for the bed coordinator: can_take, strained or no_free_bed, with free beds, the margin in \
         people after the assumed admission, and the reason.",
    ),
    (
        "StaffingRows",
        "{\"rows\": [{\"ward\", \"team\" (null = the whole ward), \"date\" (YYYY-MM-DD), \"shift\", \
         \"profession\" (USK | SSK), \"planned\", \"absent\"}]}.",
    ),
    (
        "StaffingCsv",
        "The scheduling system's export: a header line, then ward;team;date;shift;profession;planned;absent \
         (`;` or `,`, UTF-8 with or without BOM); see docs/planned-staffing-csv.md.",
    ),
    ("StaffingWritten", "{\"rows\": how many rows were stored}."),
    (
        "WeightsFile",
        "A weights file (TOML, format 1) as the council writes it; see weights/README.md.",
    ),
    (
        "Backtest",
        "{from, to, candidate_version, stored_versions, hours, patient_hours, skipped, hospital, wards: [{ward, \
         hours, patient_hours, planned_staff_hours, stored: {total_mean, usk_mean, ssk_mean, components, \
         need_staff_hours, gap_staff_hours, rank}, candidate: {…}, total_change_pct}], elapsed_ms}.",
    ),
    (
        "Export",
        "A file named careload-<level>-<grain>-<from>-<to>.<ext> (Content-Disposition): one row per unit and period \
         with the columns of docs/exports.md, as CSV, Excel CSV, Parquet or a JSON array of row objects.",
    ),
    ("OpenApi", "This document."),
    ("Status", "{\"status\": \"ok\" | \"ready\"}."),
    ("PrometheusText", "Prometheus text exposition format 0.0.4."),
    ("HtmlPage", "A complete HTML page."),
    (
        "Error",
        "{\"error\": what was wrong, \"hint\": what to send instead}; 5xx carry only \"internal error\".",
    ),
];

fn parameter(p: &crate::routes::Param) -> Value {
    let mut schema = json!({ "type": p.schema });
    if let Some(f) = p.format {
        schema["format"] = json!(f);
    }
    json!({
        "name": p.name,
        "in": match p.location { In::Path => "path", In::Query => "query" },
        "required": p.required,
        "description": p.description,
        "schema": schema,
    })
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } },
    })
}

fn operation(r: &RouteSpec) -> Value {
    let (roles, security, who) = match r.access {
        Access::Public => (Vec::new(), json!([]), "Public (no token).".to_owned()),
        Access::Roles(roles) => {
            let names: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
            let mut security = vec![json!({ "bearer": [] })];
            if r.token_in_query {
                security.push(json!({ "tokenQuery": [] }));
            }
            let scope = if r.ward_scoped {
                " Screen tokens only for their own wards."
            } else {
                ""
            };
            let who = format!("Roles: {}.{scope}", names.join(", "));
            (names, json!(security), who)
        }
    };
    let schema = json!({ "$ref": format!("#/components/schemas/{}", r.response) });
    let mut content = Map::new();
    content.insert(r.media.mime().to_owned(), json!({ "schema": schema }));
    if r.media == crate::routes::Media::Export {
        for mime in ["application/vnd.apache.parquet", "application/json"] {
            content.insert(mime.to_owned(), json!({ "schema": schema }));
        }
    }
    let mut responses = Map::new();
    responses.insert("200".into(), json!({ "description": r.summary, "content": content }));
    if !r.params.is_empty() {
        responses.insert(
            "400".into(),
            error_response("A malformed parameter; the hint says the format"),
        );
    }
    if r.access != Access::Public {
        responses.insert("401".into(), error_response("No or an unknown token"));
        responses.insert(
            "403".into(),
            error_response("The token's role or wards do not allow this route"),
        );
    }
    if r.params.iter().any(|p| p.location == In::Path) {
        responses.insert(
            "404".into(),
            error_response("Unknown ward or patient; the hint lists what exists"),
        );
    }
    if r.operation == "readyz" {
        responses.insert("503".into(), error_response("Not ready; the hint says why"));
    }
    if r.body.is_some() {
        responses.insert(
            "422".into(),
            error_response("Bad rows; nothing was stored; the hint lists every problem"),
        );
        responses.insert("413".into(), error_response("Over api.max_body_bytes"));
    }
    responses.insert(
        "429".into(),
        error_response("Over api.rate_limit_per_minute; see Retry-After"),
    );
    responses.insert(
        "500".into(),
        error_response("Internal error (details in the server log only)"),
    );
    let mut op = json!({
        "operationId": r.operation,
        "summary": r.summary,
        "description": who,
        "parameters": r.params.iter().map(parameter).collect::<Vec<_>>(),
        "security": security,
        "x-roles": roles,
        "responses": responses,
    });
    if let Some(body) = r.body {
        op["requestBody"] = json!({
            "required": true,
            "content": { body.media: { "schema": { "$ref": format!("#/components/schemas/{}", body.schema) } } },
        });
    }
    op
}

/// The OpenAPI 3.1 document for `routes`.
pub fn document(routes: &[RouteSpec]) -> Value {
    let mut paths = Map::new();
    for r in routes {
        let item = paths.entry(r.path.to_owned()).or_insert_with(|| json!({}));
        item[r.method.key()] = operation(r);
    }
    let schemas: Map<String, Value> = SCHEMAS
        .iter()
        .map(|(name, description)| {
            (
                (*name).to_owned(),
                json!({ "type": "object", "description": description }),
            )
        })
        .collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "careload API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Hourly nursing care need (vårdintensitet) per patient, team, ward and hospital. \
                No names, identifiers or free text: patients are keyed pseudonyms.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "description": "A token from [[api.tokens]]" },
                "tokenQuery": {
                    "type": "apiKey", "in": "query", "name": "token",
                    "description": "Screen pages only: kiosk browsers cannot send headers",
                },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::ROUTES;

    #[test]
    fn every_response_schema_is_described() {
        for r in ROUTES {
            assert!(
                SCHEMAS.iter().any(|(n, _)| *n == r.response),
                "{} has no schema {}",
                r.path,
                r.response
            );
            if let Some(body) = r.body {
                assert!(SCHEMAS.iter().any(|(n, _)| *n == body.schema), "{} body", r.path);
            }
        }
    }

    #[test]
    fn every_route_is_documented_with_its_roles() {
        let doc = document(ROUTES);
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method.key()];
            assert_eq!(op["operationId"], r.operation, "{}", r.path);
            let roles = op["x-roles"].as_array().map_or(0, Vec::len);
            assert_eq!(roles == 0, r.access == Access::Public, "{}", r.path);
        }
    }
}
