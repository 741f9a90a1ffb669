//! Query parameters against the route table (issue 24): a parameter a
//! route does not declare in `RouteSpec.params` is refused with 400 naming
//! the ones it takes, on every route, instead of being silently ignored; a
//! name that differs from a known one only in case, `_` or a slip of a
//! letter gets a "did you mean"; the parameters a route declares are all
//! taken, and the repeatable ones (`pin`, `wards`) may come more than once.
//!
//! A temporary SQLite store (the workspace's store harness) with a few
//! scored hours; requests go through the real router with
//! `tower::ServiceExt::oneshot`. The check does not touch the store, so
//! these run on SQLite only.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use careload_api::routes::{Access, In, Media, Method, ROUTES, RouteSpec};
use careload_api::{AppState, router};
use careload_config::{Config, Role, TokenConfig, WardConfig};
use careload_scoring::{Score, Snapshot, Weights, rollup, score_now};

use careload_store::{Outcome, RunReport, Store, hour_of};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

mod common;

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");
const STAFF: &str = "staffing-secret";
const ADMIN: &str = "admin-secret";
const CONTROLLER: &str = "controller-secret";

fn config() -> Config {
    let mut c = Config::default();
    c.wards.insert(
        "w1".into(),
        WardConfig {
            beds: Some(10),
            department: Some("d1".into()),
            ..WardConfig::default()
        },
    );
    c.wards.insert("w2".into(), WardConfig::default());
    c.departments.insert(
        "d1".into(),
        careload_config::DepartmentConfig {
            hospital: Some("h1".into()),
            ..careload_config::DepartmentConfig::default()
        },
    );
    c.hospitals
        .insert("h1".into(), careload_config::HospitalConfig::default());
    let token = |name: &str, role: Role| TokenConfig {
        name: name.into(),
        role,
        wards: Vec::new(),
        departments: Vec::new(),
        hospitals: Vec::new(),
        secret_env: Some(format!("T_{}", name.to_uppercase())),
        secret_file: None,
    };
    c.api.tokens = vec![
        token("staffing", Role::Staffing),
        token("admin", Role::Admin),
        token("controller", Role::Controller),
    ];
    c
}

fn env(key: &str) -> Option<String> {
    match key {
        "T_STAFFING" => Some(STAFF.into()),
        "T_ADMIN" => Some(ADMIN.into()),
        "T_CONTROLLER" => Some(CONTROLLER.into()),
        _ => None,
    }
}

struct World {
    store: Store,
    weights: Arc<Weights>,
    /// The current hour.
    hour: DateTime<Utc>,
}

/// Three hours of two wards, the last one current.
async fn world(store: Store) -> World {
    let w = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights 2026.1");
    store.record_weights(&w).await.expect("record weights");
    let hour = hour_of(Utc::now());
    for k in (0..3).rev() {
        let h = hour - Duration::hours(k);
        let pairs: Vec<(Snapshot, Score)> = [
            common::patient("pa", "w1", "a", "1", h),
            common::patient("pb", "w1", "a", "2", h),
            common::patient("pc", "w1", "b", "3", h),
            common::patient("pd", "w2", "c", "1", h),
        ]
        .into_iter()
        .map(|s| {
            let score = score_now(&s, &w);
            (s, score)
        })
        .collect();
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let run = store.begin_run("test").await.expect("begin run");
        store
            .write_hour(h, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write hour");
        let report = RunReport {
            counts: BTreeMap::new(),
            skipped: 0,
            retries: 0,
            error: None,
        };
        store.finish_run(run, Outcome::Ok, &report).await.expect("finish run");
    }
    World {
        store,
        weights: Arc::new(w),
        hour,
    }
}

fn app(world: &World) -> axum::Router {
    let state = AppState::with_env(world.store.clone(), Arc::new(config()), world.weights.clone(), env).expect("state");
    router(state)
}

/// `test` on [`world`] in a fresh SQLite store (the workspace's store
/// harness, its SQLite half).
async fn on_sqlite<F, Fut>(name: &str, test: F)
where
    F: FnOnce(World) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    careload_testkit::store::sqlite(name, |ctx| async move { test(world(ctx.store).await).await }).await
}

/// One request: status, headers and body.
async fn send(
    app: &axum::Router,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &str)>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some((content_type, text)) => {
            req = req.header(header::CONTENT_TYPE, content_type);
            Body::from(text.to_owned())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

async fn get(app: &axum::Router, path: &str, token: Option<&str>) -> (StatusCode, String) {
    let (status, _, body) = send(app, "GET", path, token, None).await;
    (status, body)
}

/// The `error` and `hint` of an error body (on a FHIR route, an
/// `OperationOutcome`'s `details.text` and `diagnostics`).
fn error_of(body: &str) -> (String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    if v["resourceType"] == "OperationOutcome" {
        let issue = &v["issue"][0];
        return (
            issue["details"]["text"].as_str().unwrap_or_default().to_owned(),
            issue["diagnostics"].as_str().unwrap_or_default().to_owned(),
        );
    }
    (
        v["error"].as_str().unwrap_or_default().to_owned(),
        v["hint"].as_str().unwrap_or_default().to_owned(),
    )
}

/// A route's path with its path parameters filled in.
fn concrete(spec: &RouteSpec) -> String {
    // a department's routes name department d1 (w1's), a hospital's
    // hospital h1 (d1's), the others ward w1
    let id = if spec.path.contains("/departments/") {
        "d1"
    } else if spec.path.contains("/hospitals/") {
        "h1"
    } else {
        "w1"
    };
    spec.path
        .replace("{id}", id)
        .replace("{key}", "pa")
        .replace("{bed}", "1")
}

fn method(spec: &RouteSpec) -> &'static str {
    match spec.method {
        Method::Get => "GET",
        Method::Post => "POST",
    }
}

fn query_names(spec: &RouteSpec) -> Vec<&'static str> {
    spec.params
        .iter()
        .filter(|p| p.location == In::Query)
        .map(|p| p.name)
        .collect()
}

/// The reproducer of issue 24: `compareLastYear` (camelCase) was ignored and
/// the export answered 200 without the comparison.
async fn a_misspelt_export_parameter_is_refused_naming_the_right_one(world: World) {
    let app = app(&world);
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let from = today - Duration::days(1);
    let base = format!("/api/v1/export?from={from}&to={today}&level=ward&grain=day&format=csv");

    let (status, headers, body) = send(
        &app,
        "GET",
        &format!("{base}&compareLastYear=true"),
        Some(CONTROLLER),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(headers.get(header::CONTENT_DISPOSITION).is_none(), "no file is sent");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let (error, hint) = error_of(&body);
    assert!(error.contains(r#"unknown query parameter "compareLastYear""#), "{body}");
    assert!(error.contains("case-sensitive"), "{body}");
    assert!(
        error.contains("from, to, level, grain, format, wards, departments, hospitals, staffing, compare_last_year"),
        "the error lists what the route takes: {body}"
    );
    assert!(hint.contains("did you mean compare_last_year?"), "{body}");

    // the real name is taken and adds the comparison's columns
    let (status, _, body) = send(
        &app,
        "GET",
        &format!("{base}&compare_last_year=true"),
        Some(CONTROLLER),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let header_line = body.lines().next().unwrap_or_default();
    assert!(header_line.contains("last_year"), "{header_line}");
}

/// `?bogus=1` on every route of the table, GET and POST, JSON, export,
/// metrics, OpenAPI and the HTML pages: 400 in the error contract, naming
/// what the route takes, before the handler runs (no POST body is read).
async fn every_route_refuses_an_unknown_parameter(world: World) {
    let app = app(&world);
    for spec in ROUTES {
        let path = concrete(spec);
        let token = (spec.access != Access::Public).then_some(ADMIN);
        let mut tries = vec![(format!("{path}?bogus=1"), token)];
        if spec.token_in_query {
            tries.push((format!("{path}?token={ADMIN}&bogus=1"), None));
            tries.push((format!("{path}?bogus=1&token={ADMIN}"), None));
        }
        for (uri, token) in tries {
            let (status, headers, body) = send(&app, method(spec), &uri, token, None).await;
            let what = format!("{} {uri}", method(spec));
            assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
            let errors_as = if spec.media == Media::Fhir {
                "application/fhir+json" // an OperationOutcome
            } else {
                "application/json"
            };
            assert_eq!(headers[header::CONTENT_TYPE], errors_as, "{what}");
            let (error, hint) = error_of(&body);
            assert!(error.contains(r#"unknown query parameter "bogus""#), "{what}: {body}");
            assert!(!hint.trim().is_empty(), "{what}: {body}");
            let names = query_names(spec);
            if names.is_empty() {
                assert!(error.contains("takes no query parameters"), "{what}: {body}");
            } else {
                assert!(error.contains(&names.join(", ")), "{what}: {body}");
            }
        }
    }
}

/// A value of each parameter the route table declares that its route takes.
fn plausible(name: &str, format: Option<&str>, hour: DateTime<Utc>, today: NaiveDate) -> String {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    match (name, format) {
        ("from", Some("date-time")) => time(hour - Duration::hours(2)),
        ("to", Some("date-time")) => time(hour + Duration::hours(1)),
        ("from", Some("date")) => (today - Duration::days(1)).to_string(),
        ("to", Some("date")) => today.to_string(),
        ("limit", _) => "5".into(),
        ("max_moves", _) => "2".into(),
        ("keep_rooms_together" | "staffing" | "compare_last_year", _) => "true".into(),
        ("allow_staff_move", _) => "false".into(),
        ("pin", _) => "pa".into(),
        ("ward" | "wards", _) => "w1".into(),
        ("departments", _) => "d1".into(),
        ("hospitals", _) => "h1".into(),
        ("level", _) => "ward".into(),
        ("grain", _) => "day".into(),
        ("format", _) => "json".into(),
        ("month", _) => today.format("%Y-%m").to_string(),
        ("token", _) => ADMIN.into(),
        // the FHIR output's searches (issue 29)
        ("date" | "period", _) => format!("ge{}", time(hour - Duration::hours(2))),
        ("_lastUpdated", _) => format!("ge{}", time(hour - Duration::days(1))),
        ("subject", _) => "Location/w1".into(),
        ("subject:identifier", _) => format!(
            "{}%7Cpa",
            careload_app::fhir_out::PSEUDONYM_SYSTEM
                .replace(':', "%3A")
                .replace('/', "%2F")
        ),
        ("_count", _) => "5".into(),
        ("_cursor", _) => careload_app::fhir_out::encode_cursor(hour - Duration::hours(3), "pa"),
        _ => panic!("no plausible value for query parameter {name:?} ({format:?}): add one here"),
    }
}

/// Every route with every query parameter it declares, each with a value it
/// takes: 200, never "unknown query parameter". The handlers read their
/// parameters through `Params`, which (in debug builds, as tests are)
/// panics when a handler reads a name its route does not declare, so a
/// read the table lacks fails this test too.
async fn every_declared_parameter_is_taken(world: World) {
    let app = app(&world);
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let next = careload_scoring::shift::ShiftPlan::default().next_shift(Utc::now(), &chrono_tz::Europe::Stockholm);
    let csv = format!(
        "ward;team;date;shift;profession;planned;absent\nw1;a;{};{};USK;2;0\n",
        next.date, next.name
    );
    for spec in ROUTES {
        let query: Vec<String> = spec
            .params
            .iter()
            .filter(|p| p.location == In::Query)
            // the calibration page takes a month or a window, not both (tests/calibration_page.rs)
            .filter(|p| !(spec.operation == "calibration_screen" && p.name == "month"))
            .map(|p| format!("{}={}", p.name, plausible(p.name, p.format, world.hour, today)))
            .collect();
        let body = match spec.operation {
            "backtest_weights" => Some(("application/toml", WEIGHTS)),
            "planning_import" => Some(("text/csv", csv.as_str())),
            "rate_form" => Some(("application/x-www-form-urlencoded", "rating=0")),
            _ if spec.method == Method::Post => {
                assert!(query.is_empty(), "{}: add a body for it here", spec.path);
                continue; // no query parameters to take
            }
            _ => None,
        };
        let path = match spec.operation {
            // a FHIR read needs an id the store has
            "fhir_measure_report" => format!(
                "/fhir/r4/MeasureReport/{}",
                careload_app::fhir_out::measure_report_id("w1", world.hour)
            ),
            "fhir_observation" => format!(
                "/fhir/r4/Observation/{}",
                careload_app::fhir_out::observation_id(
                    &careload_scoring::snapshot::PatientKey("pa".into()),
                    world.hour
                )
            ),
            _ => concrete(spec),
        };
        let uri = if query.is_empty() {
            path
        } else {
            format!("{path}?{}", query.join("&"))
        };
        let token = (spec.access != Access::Public && !spec.token_in_query).then_some(ADMIN);
        let (status, _, text) = send(&app, method(spec), &uri, token, body).await;
        assert!(!text.contains("unknown query parameter"), "{uri}: {text}");
        assert_eq!(status, StatusCode::OK, "{uri}: {text}");
    }
}

/// `pin` and `wards` are lists: several of them add up. Any other
/// parameter given twice is refused rather than one of them ignored.
async fn repeatable_parameters_may_come_more_than_once(world: World) {
    let app = app(&world);
    let (status, body) = get(&app, "/api/v1/wards/w1/balance?pin=pa&pin=pb", Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let mut pinned: Vec<&str> = v["pinned"]
        .as_array()
        .expect("pinned")
        .iter()
        .filter_map(|p| p["patient"].as_str())
        .collect();
    pinned.sort_unstable();
    assert_eq!(pinned, ["pa", "pb"], "both pins count: {body}");

    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let export = format!("/api/v1/export?from={today}&to={today}&format=json");
    let (status, body) = get(&app, &format!("{export}&wards=w1&wards=w2"), Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rows: Vec<Value> = serde_json::from_str(&body).expect("rows");
    let mut wards: Vec<&str> = rows.iter().filter_map(|r| r["ward"].as_str()).collect();
    wards.dedup();
    assert_eq!(wards, ["w1", "w2"], "both wards are exported");

    for (path, name) in [
        (format!("{export}&from={today}"), "from"),
        ("/api/v1/runs?limit=2&limit=3".to_owned(), "limit"),
    ] {
        let token = if name == "limit" { ADMIN } else { CONTROLLER };
        let (status, body) = get(&app, &path, Some(token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let (error, hint) = error_of(&body);
        assert!(
            error.contains(&format!("query parameter \"{name}\" is given 2 times")),
            "{path}: {body}"
        );
        assert!(hint.contains("once"), "{path}: {body}");
    }
}

/// Names are matched exactly; one that differs only in case, `_`/`-` or
/// camelCase, or by a slip of a letter, gets a suggestion. The query is
/// checked before the token (as the rate limit and the body size are), but
/// `?token=` on a JSON route without a header is left to the access check,
/// which answers 401 saying to send the header.
async fn names_are_case_sensitive_and_near_misses_are_suggested(world: World) {
    let app = app(&world);
    let hour = world.hour.to_rfc3339_opts(SecondsFormat::Secs, true);
    for (path, token, suggestion) in [
        ("/api/v1/runs?Limit=2".to_owned(), ADMIN, Some("limit")),
        ("/api/v1/runs?LIMIT=2".to_owned(), ADMIN, Some("limit")),
        (
            "/api/v1/wards/w1/balance?maxMoves=2".to_owned(),
            STAFF,
            Some("max_moves"),
        ),
        (
            "/api/v1/wards/w1/balance?keep-rooms-together=true".to_owned(),
            STAFF,
            Some("keep_rooms_together"),
        ),
        ("/api/v1/wards/w1/balance?pins=pa".to_owned(), STAFF, Some("pin")),
        (format!("/api/v1/wards/w1/history?form={hour}"), STAFF, Some("from")),
        (
            "/api/v1/export?from=2026-01-01&to=2026-01-31&ward=w1".to_owned(),
            CONTROLLER,
            Some("wards"),
        ),
        ("/api/v1/staffing?wards=w1".to_owned(), STAFF, Some("ward")),
        (
            "/api/v1/export?from=2026-01-01&to=2026-01-31&colour=red".to_owned(),
            CONTROLLER,
            None,
        ),
        ("/api/v1/hospital?limit=2".to_owned(), STAFF, None),
    ] {
        let (status, body) = get(&app, &path, Some(token)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        let (error, hint) = error_of(&body);
        assert!(error.contains("unknown query parameter"), "{path}: {body}");
        match suggestion {
            Some(name) => assert!(hint.contains(&format!("did you mean {name}?")), "{path}: {body}"),
            None => assert!(!hint.contains("did you mean"), "{path}: {body}"),
        }
    }

    // the token in the query of a JSON route: with a header, 400 saying where it goes
    let (status, body) = get(&app, &format!("/api/v1/wards/w1?token={STAFF}"), Some(STAFF)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (error, hint) = error_of(&body);
    assert!(error.contains(r#"unknown query parameter "token""#), "{body}");
    assert!(hint.contains("Authorization: Bearer"), "{body}");
    // without one, 401 as before
    let (status, body) = get(&app, &format!("/api/v1/wards/w1?token={STAFF}"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(error_of(&body).1.contains("Authorization: Bearer"), "{body}");
    // anything else unknown is refused before the token is looked at
    for path in ["/api/v1/wards/w1?bogus=1", "/api/v1/wards/w1?token=x&bogus=1"] {
        let (status, body) = get(&app, path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(error_of(&body).0.contains(r#""bogus""#), "{path}: {body}");
    }
    // the pages take ?token= and nothing else
    let (status, body) = get(&app, &format!("/wards/w1/screen?token={STAFF}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get(&app, &format!("/wards/w1/screen?token={STAFF}&Token={STAFF}"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(error_of(&body).1.contains("did you mean token?"), "{body}");
    // an empty query string, or one with only separators, is no parameter
    for path in ["/api/v1/wards/w1?", "/api/v1/wards/w1?&&"] {
        let (status, body) = get(&app, path, Some(STAFF)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
}

macro_rules! on_sqlite {
    ($($test:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test() {
                on_sqlite(stringify!($test), super::$test).await
            }
        )*
    };
}

mod sqlite {
    use super::on_sqlite;

    on_sqlite!(
        a_misspelt_export_parameter_is_refused_naming_the_right_one,
        every_route_refuses_an_unknown_parameter,
        every_declared_parameter_is_taken,
        repeatable_parameters_may_come_more_than_once,
        names_are_case_sensitive_and_near_misses_are_suggested,
    );
}
