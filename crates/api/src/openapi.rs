//! The OpenAPI 3.1 document, built from the route table ([`crate::routes::ROUTES`])
//! that the router is built from: every route with its parameters, the roles
//! that may call it (`x-roles`, and in the description), its security
//! schemes and its response schema's name.
//!
//! # Schemas
//!
//! Every JSON schema under `components.schemas` is generated from the Rust
//! type that the handler hands to serde: the views of [`careload_app::view`] and
//! [`careload_app::planning`], the store's rows ([`careload_store`]), the scoring,
//! planning and back-test types they hold. A schema therefore cannot say one
//! thing while the handler sends another, and
//! `crates/api/tests/openapi_contract.rs` validates a real response of every
//! JSON route against the schema this document serves.
//!
//! They are generated with [schemars] 1.x rather than utoipa. schemars reads
//! serde's own attributes (`rename_all`, `tag`/`content`, `flatten`,
//! `skip_serializing_if`, `transparent`, `with`), so a type needs nothing
//! but `#[derive(JsonSchema)]` and the schema follows the serialised form
//! exactly, including the internally and adjacently tagged enums of the
//! scoring core; utoipa wants its own `#[schema(...)]` attributes beside
//! serde's (a second description of the same form that can drift), and its
//! derive is a much larger proc-macro crate to compile. schemars writes JSON
//! Schema 2020-12, OpenAPI 3.1's own dialect, so its output goes in as it
//! is: the generator puts the definitions at `#/components/schemas` and its
//! `$ref`s point there. The serialise contract is used (what the API
//! writes): a field that is always written is `required`, an `Option` is
//! required and nullable, a `skip_serializing_if` field is optional.
//!
//! Array responses (`Runs`, `WeightsVersions`, `AuditEntries`) are arrays of
//! the row's schema; text bodies (the planned-staffing CSV, a weights file,
//! Prometheus metrics, HTML pages, CSV and Parquet exports) are strings with
//! their `contentMediaType`, not JSON schemas; the JSON export's rows come
//! from the export's column contract ([`careload_export::schema::COLUMNS`]).
//! Each named schema keeps the description in `SCHEMAS`.

use std::sync::LazyLock;

use careload_export::schema::{COLUMNS, Kind, When};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value, json};

use crate::auth::role_name;
use crate::routes::{Access, In, Media, RouteSpec};

/// Where a named schema comes from.
#[derive(Clone, Copy)]
enum Shape {
    /// The serde form of a Rust type.
    Type(fn(&mut SchemaGenerator) -> Schema),
    /// A JSON array of a Rust type's serde form.
    ArrayOf(fn(&mut SchemaGenerator) -> Schema),
    /// Text (or bytes) of this media type, not JSON.
    Text(&'static str),
    /// Written here: this document itself, the JSON export's rows.
    Hand(fn() -> Value),
}

/// `T`'s schema: a `$ref` to its definition, which the generator keeps.
fn ty<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

/// One named schema: the route table's `response` and `body` names.
struct Named {
    /// Its name under `components.schemas`.
    name: &'static str,
    /// Where its schema comes from.
    shape: Shape,
    /// What it is.
    description: &'static str,
}

const fn named(name: &'static str, shape: Shape, description: &'static str) -> Named {
    Named {
        name,
        shape,
        description,
    }
}

/// Every named schema: where it comes from and what it is.
static SCHEMAS: &[Named] = &[
    named(
        "DepartmentOverview",
        Shape::Type(ty::<careload_app::view::DepartmentOverview>),
        "One department (verksamhet, [departments.<id>]) at the hour shown: its sums over its wards and each of its \
         wards as the hospital overview shows them. Its indicator compares its total with the sum of its wards' \
         expected levels (none when a ward has none), on the fewest past hours any ward's rests on.",
    ),
    named(
        "HospitalOverview",
        Shape::Type(ty::<careload_app::view::HospitalOverview>),
        "Every ward at the hour shown. Each ward's indicator compares its total with its expected level, the mean \
         total at the same local hour of the week over the previous 52 weeks: higher when more than 15 % above, \
         lower when more than 15 % below, else as_expected; too_little_data with fewer than 4 past hours.",
    ),
    named(
        "RegionOverview",
        Shape::Type(ty::<careload_app::view::RegionOverview>),
        "The region at the hour shown (issue 29): each hospital ([hospitals.<id>]) with the sums of its wards (the \
         wards of its departments), the wards of no hospital summed as one group, and the region's sums over every \
         ward. A hospital's indicator compares its total with the sum of its wards' expected levels (none when a \
         ward has none), on the fewest past hours any ward's rests on.",
    ),
    named(
        "HospitalView",
        Shape::Type(ty::<careload_app::view::HospitalView>),
        "One hospital of the region ([hospitals.<id>]) at the hour shown: its sums over its wards, each of its \
         departments' sums, and each of its wards as the hospital overview shows them.",
    ),
    named(
        "WardList",
        Shape::Type(ty::<careload_app::view::WardList>),
        "The wards, configured or in the data, with names and patient counts.",
    ),
    named(
        "WardView",
        Shape::Type(ty::<careload_app::view::WardView>),
        "A ward at the hour shown: totals, teams, each de-identified patient with colour band (hospital-wide \
         quartiles at that hour) and data state (stale when older than api.stale_after_minutes or when the last \
         run failed).",
    ),
    named(
        "WardHistory",
        Shape::Type(ty::<careload_app::view::WardHistory>),
        "Hourly totals of the ward, each team and each current patient over [from, to).",
    ),
    named(
        "WardForecast",
        Shape::Type(ty::<careload_app::view::WardForecast>),
        "Hourly forecast totals per patient, team and ward, under the weights in force.",
    ),
    named(
        "PatientDetail",
        Shape::Type(ty::<careload_app::view::PatientDetail>),
        "A patient's breakdown (every contribution with parameter, source, weight, quantity and points) and what \
         changed since the previous hour: items started, ended or changed, NEWS2, Norton, emotional support, \
         placement, component and total deltas, which add up to the total's change.",
    ),
    named(
        "WeightsInForce",
        Shape::Type(ty::<careload_app::view::WeightsInForce>),
        "The weights version in force and its metadata.",
    ),
    named(
        "WeightsVersions",
        Shape::ArrayOf(ty::<careload_store::WeightsVersion>),
        "Every weights version on record, by effective date.",
    ),
    named(
        "Runs",
        Shape::ArrayOf(ty::<careload_store::Run>),
        "Ingest runs, newest first.",
    ),
    named(
        "Run",
        Shape::Type(ty::<careload_store::Run>),
        "One ingest run: times, source, outcome, counts, skipped, retries, error.",
    ),
    named(
        "AuditEntries",
        Shape::ArrayOf(ty::<careload_store::AuditEntry>),
        "Audit entries, newest first.",
    ),
    named(
        "WardShifts",
        Shape::Type(ty::<careload_app::planning::WardShifts>),
        "The next shift and the one after for a ward: per team and for the ward, the forecast need (points per \
         profession and component, staff-hours = points × the care category's staff_hours factor, people = \
         staff-hours ÷ shift hours), planned and absent staff, the gap in hours and people, the verdict \
         (understaffed, balanced, room_to_spare, no_plan) with planning.thresholds, the ward index (points per \
         person present) and absence_need_not_be_replaced.",
    ),
    named(
        "WardCalibration",
        Shape::Type(ty::<careload_app::calibration::WardCalibration>),
        "A ward's calibration from the staff's shift ratings over a window (default the 8 weeks up to the shift \
         that ended last): for each shift of the plan with planned staffing, its need from the stored hours over \
         the staff present (planned − absent) against its mean rating; fitted together (all points over everyone, \
         every rating) and per profession (usk, ssk): the optimal points per person where the fitted rating is 0 \
         with Fieller's 95 % interval, slope, intercept, R², Spearman, shifts, ratings, staff present, response \
         rate, weeks, reliable and each reason not (code, Swedish text, numbers), the shifts for a scatter, and \
         per-component fits; shifts skipped without planned staffing or stored hours are counted.",
    ),
    named(
        "WardAgreement",
        Shape::Type(ty::<careload_app::agreement::WardAgreement>),
        "A ward's agreement report for a calendar month (month, complete): the calibration over the shifts \
         starting in the month (as WardCalibration) and the disagreements — the rated shifts whose mean rating \
         lay farthest from the month's fitted line, ranked by ratings × residual², at most ten — each with its \
         points per person, staff present, ratings, mean and fitted rating, residual, and per component its \
         points per person beside the month's mean.",
    ),
    named(
        "WardBalance",
        Shape::Type(ty::<careload_app::planning::WardBalance>),
        "Team balancing for the next shift: moves (patients, whole rooms, or one member of staff) with a reason \
         in Swedish, each team's points per staff member before and after, the spread before and after, and the \
         pinned patients (on record or ?pin=), who never move; the spread never gets wider.",
    ),
    named(
        "WardPins",
        Shape::Type(ty::<careload_app::planning::WardPins>),
        "{state, id, pins: [{patient (pseudonym), bed, pinned_by, pinned_at}]}: the pins on record whose stay is on \
         the ward at the hour shown.",
    ),
    named(
        "PinRequest",
        Shape::Type(ty::<careload_app::planning::PinRequest>),
        "{\"patient\": pseudonym or bed (as the ward screen shows it, e.g. r03-b2), \"pinned\": true | false}.",
    ),
    named(
        "PinWritten",
        Shape::Type(ty::<careload_app::planning::PinWritten>),
        "{patient (the pseudonym resolved), pinned, changed (false when it already was so)}.",
    ),
    named(
        "Admissions",
        Shape::Type(ty::<careload_app::planning::Admissions>),
        "Every ward for the bed coordinator: can_take, strained or no_free_bed, with free beds, the margin in \
         people after the assumed admission, and the reason.",
    ),
    named(
        "StaffingRows",
        Shape::Type(ty::<careload_app::planning::StaffingRows>),
        "{\"rows\": [{\"ward\", \"team\" (null = the whole ward), \"date\" (YYYY-MM-DD), \"shift\", \
         \"profession\" (USK | SSK), \"planned\", \"absent\"}]}.",
    ),
    named(
        "StaffingCsv",
        Shape::Text("text/csv"),
        "The scheduling system's export: a header line, then ward;team;date;shift;profession;planned;absent \
         (`;` or `,`, UTF-8 with or without BOM); see docs/planned-staffing-csv.md.",
    ),
    named(
        "StaffingCsvForm",
        Shape::Hand(staffing_csv_form),
        "An HTML form's upload (multipart/form-data, RFC 7578) of one file: the planned-staffing CSV as \
         StaffingCsv describes it (curl -F file=@plan.csv).",
    ),
    named(
        "StaffingWritten",
        Shape::Type(ty::<careload_app::planning::StaffingWritten>),
        "{\"rows\": how many rows were stored}.",
    ),
    named(
        "RatingRequest",
        Shape::Type(ty::<careload_app::ratings::RatingRequest>),
        "{\"rating\": −3 … +3 (0 = optimal), \"team\"?: id or display name (none: the whole ward), \"shift\"?: a \
         shift name of the ward's plan (the latest one started) or \"shift_start\"?: RFC 3339 (neither: the shift \
         that ended last), \"profession\"?: USK | SSK}. Nothing of who sends it is kept.",
    ),
    named(
        "RatingAccepted",
        Shape::Type(ty::<careload_app::ratings::Accepted>),
        "A rating stored: its id, the ward, team, the shift (name, start and end in UTC and local time), the \
         shift's ratings now and the most it takes.",
    ),
    named(
        "CalibrationShifts",
        Shape::ArrayOf(ty::<crate::export::CalibrationShiftRow>),
        "format=json: [{shift_start, local_date, local_time, shift, need_usk, need_ssk, need_total, present_usk, \
         present_ssk, present_total, points_per_person, points_per_person_usk, points_per_person_ssk, ratings, \
         mean_rating, ratings_usk, mean_rating_usk, ratings_ssk, mean_rating_ssk, extrapolated_minutes}], one per \
         shift (docs/calibration-export.md).",
    ),
    named(
        "StoredRatings",
        Shape::Type(ty::<careload_app::ratings::StoredRatings>),
        "{ward, from, to, ratings: [{shift, shift_start, team, profession, rating, source}]}: anonymous, by shift \
         start.",
    ),
    named(
        "RatingsCsv",
        Shape::Text("text/csv"),
        "Ratings collected on paper: a header line, then date,shift,team,profession,rating (`;` or `,`, UTF-8 with \
         or without BOM); see docs/ratings-csv.md.",
    ),
    named(
        "RatingsImported",
        Shape::Type(ty::<careload_app::ratings::Imported>),
        "{ward, ratings: how many were stored, shifts: how many shifts they rate}.",
    ),
    named(
        "RatingFormPost",
        Shape::Hand(rating_form),
        "The rating page's form (application/x-www-form-urlencoded): rating, and optionally shift (its start, RFC \
         3339), team (id; empty = the whole ward) and profession (USK, SSK; empty = not given).",
    ),
    named(
        "WeightsFile",
        Shape::Text("application/toml"),
        "A weights file (TOML, format 1) as the council writes it; see weights/README.md.",
    ),
    named(
        "Backtest",
        Shape::Type(ty::<careload_export::backtest::Backtest>),
        "{from, to, candidate_version, stored_versions, hours, patient_hours, skipped, hospital, wards: [{ward, \
         hours, patient_hours, planned_staff_hours, stored: {total_mean, usk_mean, ssk_mean, components, \
         need_staff_hours, gap_staff_hours, rank}, candidate: {…}, total_change_pct}], elapsed_ms}.",
    ),
    named(
        "Export",
        Shape::Hand(export_rows),
        "A file named careload-<level>-<grain>-<from>-<to>.<ext> (Content-Disposition): one row per unit and period \
         with the columns of docs/exports.md, as CSV, Excel CSV, Parquet or a JSON array of row objects.",
    ),
    named("OpenApi", Shape::Hand(openapi_document), "This document."),
    named(
        "Status",
        Shape::Type(ty::<careload_app::view::Status>),
        "{\"status\": \"ok\" | \"ready\"}.",
    ),
    named(
        "PrometheusText",
        Shape::Text("text/plain"),
        "Prometheus text exposition format 0.0.4.",
    ),
    named("HtmlPage", Shape::Text("text/html"), "A complete HTML page."),
    named(
        "Error",
        Shape::Type(ty::<crate::error::ErrorBody>),
        "{\"error\": what was wrong, \"hint\": what to send instead}; 5xx carry only \"internal error\".",
    ),
    named(
        "FhirBundle",
        Shape::Hand(crate::fhir::bundle_schema),
        "FHIR R4 searchset Bundle (application/fhir+json): a page of MeasureReports or Observations, links self \
         and next (docs/fhir-out.md).",
    ),
    named(
        "FhirMeasureReport",
        Shape::Hand(crate::fhir::measure_report_schema),
        "FHIR R4 MeasureReport of one ward's hour: groups total, usk, ssk and each component of careload's code \
         system, measureScore in points, the patients as initial-population (docs/fhir-out.md).",
    ),
    named(
        "FhirObservation",
        Shape::Hand(crate::fhir::observation_schema),
        "FHIR R4 Observation of one patient's hour: code care-need, the total as valueQuantity, usk, ssk and each \
         component as components; the patient by pseudonym only (docs/fhir-out.md).",
    ),
    named(
        "FhirCapabilityStatement",
        Shape::Hand(crate::fhir::capability_schema),
        "FHIR R4 CapabilityStatement: what the FHIR output serves and how it is searched.",
    ),
    named(
        "OperationOutcome",
        Shape::Hand(crate::fhir::outcome_schema),
        "FHIR R4 OperationOutcome: every error under /fhir/r4; issue[0].details.text says what was wrong and \
         diagnostics what to send instead.",
    ),
];

/// The JSON export: an array of rows whose keys are the columns of
/// [`COLUMNS`] (those of `staffing` and `compare_last_year` only when asked).
fn export_rows() -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for c in COLUMNS {
        let (ty, format) = match c.kind {
            Kind::Text => ("string", None),
            Kind::Instant => ("string", Some("date-time")),
            Kind::Date => ("string", Some("date")),
            Kind::Integer => ("integer", None),
            Kind::Decimal => ("number", None),
            Kind::Boolean => ("boolean", None),
        };
        let mut schema = json!({
            "type": if c.nullable { json!([ty, "null"]) } else { json!(ty) },
            "description": c.meaning,
        });
        if let Some(format) = format {
            schema["format"] = json!(format);
        }
        properties.insert(c.name.to_owned(), schema);
        if c.when == When::Always {
            required.push(c.name);
        }
    }
    json!({
        "type": "array",
        "items": { "type": "object", "properties": properties, "required": required },
    })
}

/// A form of one file part, the CSV.
fn staffing_csv_form() -> Value {
    json!({
        "type": "object",
        "properties": { "file": { "type": "string", "contentMediaType": "text/csv" } },
        "required": ["file"],
    })
}

/// The rating page's form fields.
fn rating_form() -> Value {
    json!({
        "type": "object",
        "properties": {
            "rating": { "type": "string", "enum": ["-3", "-2", "-1", "0", "1", "2", "3"] },
            "shift": { "type": "string", "format": "date-time" },
            "team": { "type": "string" },
            "profession": { "type": "string", "enum": ["", "USK", "SSK"] },
        },
        "required": ["rating"],
    })
}

/// An OpenAPI 3.1 document, as far as this API relies on it.
fn openapi_document() -> Value {
    json!({
        "type": "object",
        "required": ["openapi", "info", "paths", "components"],
        "properties": {
            "openapi": { "type": "string", "pattern": "^3\\.1\\.[0-9]+$" },
            "info": {
                "type": "object",
                "required": ["title", "version"],
                "properties": {
                    "title": { "type": "string" },
                    "version": { "type": "string" },
                    "description": { "type": "string" },
                },
            },
            "paths": { "type": "object", "additionalProperties": { "type": "object" } },
            "components": {
                "type": "object",
                "required": ["schemas"],
                "properties": {
                    "schemas": { "type": "object", "additionalProperties": { "type": ["object", "boolean"] } },
                    "securitySchemes": { "type": "object", "additionalProperties": { "type": "object" } },
                },
            },
        },
        "externalDocs": { "description": "OpenAPI 3.1.0", "url": "https://spec.openapis.org/oas/v3.1.0" },
    })
}

/// The schema generator: JSON Schema 2020-12, definitions (and `$ref`s) at
/// `#/components/schemas`, what serde writes.
fn generator() -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "#/components/schemas".into();
            s.meta_schema = None;
        })
        .for_serialize()
        .into_generator()
}

/// `components.schemas`: every named schema with its description, and every
/// definition they refer to.
fn component_schemas() -> Map<String, Value> {
    let mut generator = generator();
    let mut named = Vec::with_capacity(SCHEMAS.len());
    for n in SCHEMAS {
        let schema = match n.shape {
            Shape::Type(schema) => schema(&mut generator).to_value(),
            Shape::ArrayOf(item) => json!({ "type": "array", "items": item(&mut generator).to_value() }),
            Shape::Text(mime) => json!({ "type": "string", "contentMediaType": mime }),
            Shape::Hand(schema) => schema(),
        };
        named.push((n, schema));
    }
    let mut schemas = generator.take_definitions(true);
    for (n, schema) in named {
        let own = format!("#/components/schemas/{}", n.name);
        // a type's schema is its definition, under its own name
        let mut schema = match schema.get("$ref").and_then(Value::as_str) {
            Some(r) if r == own => schemas.remove(n.name).unwrap_or(schema),
            _ => schema,
        };
        if let Some(object) = schema.as_object_mut() {
            object.insert("description".into(), json!(n.description));
        }
        schemas.insert(n.name.to_owned(), schema);
    }
    schemas
}

/// Built once: the schemas do not change while the process runs.
static COMPONENT_SCHEMAS: LazyLock<Map<String, Value>> = LazyLock::new(component_schemas);

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A route's `200` content: its media types and their schemas.
fn content(r: &RouteSpec) -> Map<String, Value> {
    let mut content = Map::new();
    match r.media {
        Media::Json | Media::Html | Media::Text | Media::Fhir => {
            content.insert(r.media.mime().to_owned(), json!({ "schema": schema_ref(r.response) }));
        }
        Media::Table => {
            content.insert(
                "text/csv".into(),
                json!({ "schema": {
                    "type": "string", "contentMediaType": "text/csv",
                    "description": "format=csv (`,`, decimal point, UTF-8) or csv-excel (`;`, decimal comma, UTF-8 \
                        with BOM); a header line with the columns of docs/calibration-export.md",
                } }),
            );
            content.insert("application/json".into(), json!({ "schema": schema_ref(r.response) }));
        }
        Media::Export => {
            content.insert(
                "text/csv".into(),
                json!({ "schema": {
                    "type": "string", "contentMediaType": "text/csv",
                    "description": "format=csv (`,`, decimal point, UTF-8) or csv-excel (`;`, decimal comma, UTF-8 \
                        with BOM); a header line with the columns of docs/exports.md",
                } }),
            );
            content.insert(
                "application/vnd.apache.parquet".into(),
                json!({ "schema": {
                    "type": "string", "contentMediaType": "application/vnd.apache.parquet",
                    "description": "format=parquet: one row group per batch, the columns of docs/exports.md",
                } }),
            );
            content.insert("application/json".into(), json!({ "schema": schema_ref(r.response) }));
        }
    }
    content
}

fn parameter(p: &crate::routes::Param) -> Value {
    let mut schema = json!({ "type": p.schema });
    if let Some(f) = p.format {
        schema["format"] = json!(f);
    }
    let mut parameter = json!({
        "name": p.name,
        "in": match p.location { In::Path => "path", In::Query => "query" },
        "required": p.required,
        "description": p.description,
        "schema": schema,
    });
    if p.repeatable {
        // `?wards=a&wards=b` (a comma-separated value is split as well)
        parameter["schema"] = json!({ "type": "array", "items": parameter["schema"].take() });
        parameter["style"] = json!("form");
        parameter["explode"] = json!(true);
    }
    parameter
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": schema_ref("Error") } },
    })
}

/// An error answer of a FHIR route: an `OperationOutcome`.
fn fhir_error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { Media::Fhir.mime(): { "schema": schema_ref("OperationOutcome") } },
    })
}

fn operation(r: &RouteSpec) -> Value {
    let error_response = |description: &str| {
        if r.media == Media::Fhir {
            fhir_error_response(description)
        } else {
            error_response(description)
        }
    };
    let (roles, security, who) = match r.access {
        Access::Public => (Vec::new(), json!([]), "Public (no token).".to_owned()),
        Access::Roles(roles) => {
            let names: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
            let mut security = vec![json!({ "bearer": [] })];
            if r.token_in_query {
                security.push(json!({ "tokenQuery": [] }));
            }
            let scope = if r.ward_scoped {
                " Screen and rater tokens only for their own wards."
            } else {
                ""
            };
            let who = format!("Roles: {}.{scope}", names.join(", "));
            (names, json!(security), who)
        }
    };
    let mut responses = Map::new();
    responses.insert(
        r.success_status().to_string(),
        json!({ "description": r.summary, "content": content(r) }),
    );
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
            error_response(if r.media == Media::Fhir {
                "No resource with this id; a search gives the ids there are"
            } else {
                "Unknown ward or patient; the hint lists what exists"
            }),
        );
    }
    if r.operation == "readyz" {
        responses.insert("503".into(), error_response("Not ready; the hint says why"));
    }
    if r.body.is_some() {
        let refused = "Bad rows; nothing was stored; the hint lists every problem";
        let refused = if r.media == Media::Html {
            // a form's refusal is its page, with every bad line on top
            json!({ "description": refused, "content": { r.media.mime(): { "schema": schema_ref(r.response) } } })
        } else {
            error_response(refused)
        };
        responses.insert("422".into(), refused);
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
            "content": { body.media: { "schema": schema_ref(body.schema) } },
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
            "schemas": COMPONENT_SCHEMAS.clone(),
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

    fn described(name: &str) -> bool {
        SCHEMAS.iter().any(|n| n.name == name)
    }

    #[test]
    fn every_response_schema_is_described() {
        for r in ROUTES {
            assert!(described(r.response), "{} has no schema {}", r.path, r.response);
            if let Some(body) = r.body {
                assert!(described(body.schema), "{} body", r.path);
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

    /// Every `$ref` in `value`.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r);
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_type_keeps_its_name_and_every_ref_resolves() {
        let schemas = component_schemas();
        for n in SCHEMAS {
            let schema = &schemas[n.name];
            assert_eq!(schema["description"], n.description, "{}", n.name);
            match n.shape {
                // the definition itself, not a reference to another name
                Shape::Type(_) => assert!(schema.get("$ref").is_none(), "{}: {schema}", n.name),
                Shape::ArrayOf(_) => assert_eq!(schema["type"], "array", "{}", n.name),
                Shape::Text(_) => assert_eq!(schema["type"], "string", "{}", n.name),
                Shape::Hand(_) => {}
            }
        }
        let doc = document(ROUTES);
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for r in all {
            let name = r
                .strip_prefix("#/components/schemas/")
                .unwrap_or_else(|| panic!("{r} is not a component"));
            assert!(schemas.contains_key(name), "{r} does not resolve");
        }
        for name in schemas.keys() {
            // OpenAPI's rule for component keys; a suffixed name (`Source2`) means two types share one
            assert!(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')),
                "{name} is not a valid component name"
            );
            let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
            assert!(
                base == name || !schemas.contains_key(base),
                "{name}: two types share the schema name {base}; rename one with #[schemars(rename = …)]"
            );
        }
    }

    #[test]
    fn no_schema_is_a_bare_object_and_objects_say_what_they_require() {
        for (name, schema) in component_schemas() {
            let mut keys: Vec<&str> = schema
                .as_object()
                .map_or(Vec::new(), |o| o.keys().map(String::as_str).collect());
            keys.retain(|k| *k != "description");
            assert_ne!(keys, ["type"], "{name} says only its type: {schema}");
            if schema.get("properties").is_some() {
                let required = schema["required"].as_array().map_or(0, Vec::len);
                assert!(required > 0, "{name} requires nothing: {schema}");
            }
        }
    }

    #[test]
    fn arrays_are_arrays_and_pages_and_metrics_are_text() {
        let doc = document(ROUTES);
        for r in ROUTES {
            let content = &doc["paths"][r.path][r.method.key()]["responses"][r.success_status().to_string()]["content"];
            let media: Vec<&str> = content
                .as_object()
                .map_or(Vec::new(), |c| c.keys().map(String::as_str).collect());
            match r.media {
                Media::Json => assert_eq!(media, ["application/json"], "{}", r.path),
                Media::Html => assert_eq!(media, ["text/html"], "{}", r.path),
                Media::Text => assert_eq!(media, ["text/plain; version=0.0.4"], "{}", r.path),
                Media::Export | Media::Table => assert!(media.contains(&"application/json"), "{}", r.path),
                Media::Fhir => assert_eq!(media, ["application/fhir+json"], "{}", r.path),
            }
        }
        let schemas = component_schemas();
        for name in ["Runs", "WeightsVersions", "AuditEntries", "Export"] {
            assert_eq!(schemas[name]["type"], "array", "{name}");
        }
        for name in ["HtmlPage", "PrometheusText", "StaffingCsv", "WeightsFile"] {
            assert_eq!(schemas[name]["type"], "string", "{name}");
        }
        let required = &schemas["WardView"]["required"];
        for field in ["id", "name", "state", "totals", "beds", "teams", "patients"] {
            assert!(
                required.as_array().is_some_and(|r| r.contains(&json!(field))),
                "WardView must require {field}: {required}"
            );
        }
    }
}
