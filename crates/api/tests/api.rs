//! The API end to end: a temporary SQLite store with hand-made patients
//! scored by the real scoring core under the built-in weights, six hours of
//! history and four past weeks for the indicator; requests go through the
//! real router (auth, limits, metrics) with `tower::ServiceExt::oneshot`, and
//! once through a real loopback listener. Every test runs on SQLite, and on
//! PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::panic::resume_unwind;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use careload_api::routes::{Access, ROUTES};
use careload_api::{AppState, Error, router};
use careload_config::{Config, Role, TokenConfig, WardConfig};
use careload_scoring::snapshot::{Activity, ActivityStatus, Dosing, MedicationOrder, News2Observation, Order, Route};
use careload_scoring::{Rollup, Score, Snapshot, Weights, forecast, rollup, score_now};
use careload_store::{Outcome, RunReport, Store, hour_of};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use sqlx::{Connection, Executor, PgConnection};
use tower::ServiceExt;

mod common;

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");
const SCREEN: &str = "screen-secret-w1";
const STAFF: &str = "staffing-secret";
const ADMIN: &str = "admin-secret";
const CONTROLLER: &str = "controller-secret";

fn weights() -> Weights {
    Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights 2026.1")
}

fn config() -> Config {
    let mut c = Config::default();
    c.wards.insert(
        "w1".into(),
        WardConfig {
            name: Some("Avd 1".into()),
            beds: Some(10),
            teams: [("a".to_owned(), "Lag A".to_owned())].into(),
            ..WardConfig::default()
        },
    );
    c.wards.insert("w2".into(), WardConfig::default());
    let token = |name: &str, role: Role, wards: &[&str]| TokenConfig {
        name: name.into(),
        role,
        wards: wards.iter().map(|w| (*w).to_owned()).collect(),
        secret_env: Some(format!("T_{}", name.to_uppercase())),
        secret_file: None,
    };
    c.api.tokens = vec![
        token("screen", Role::Screen, &["w1"]),
        token("staffing", Role::Staffing, &[]),
        token("admin", Role::Admin, &[]),
        token("controller", Role::Controller, &[]),
    ];
    c
}

fn env(key: &str) -> Option<String> {
    match key {
        "T_SCREEN" => Some(SCREEN.into()),
        "T_STAFFING" => Some(STAFF.into()),
        "T_ADMIN" => Some(ADMIN.into()),
        "T_CONTROLLER" => Some(CONTROLLER.into()),
        _ => None,
    }
}

/// A patient at `hour` (as_of five past): an activity due in the hour, an
/// oral medication, a lab order, and the given NEWS2.
fn patient(key: &str, ward: &str, team: &str, bed: &str, hour: DateTime<Utc>, news2: u8) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let mut s = common::patient(key, ward, team, bed, hour);
    s.news2.push(News2Observation {
        at: as_of - Duration::minutes(30),
        value: news2,
        source: Some(format!("Observation/news2-{key}-{}", hour.timestamp())),
    });
    s.activities.push(Activity {
        code: "personal-hygiene".into(),
        due: Some(as_of + Duration::minutes(20)),
        status: ActivityStatus::Open,
        profession: None,
        source: Some(format!("Task/{key}-{}", hour.timestamp())),
    });
    s.medications.push(MedicationOrder {
        route: Route::Oral,
        dosing: Dosing::PerDay { times: 3 },
        source: Some(format!("MedicationRequest/{key}")),
    });
    s.orders.push(Order {
        category: "lab-sample".into(),
        due: Some(as_of + Duration::minutes(30)),
        source: None,
    });
    s
}

fn scored(w: &Weights, snapshots: Vec<Snapshot>) -> (Vec<(Snapshot, Score)>, Rollup) {
    let pairs: Vec<(Snapshot, Score)> = snapshots
        .into_iter()
        .map(|s| {
            let score = score_now(&s, w);
            (s, score)
        })
        .collect();
    let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
    (pairs, r)
}

/// The NEWS2 of patient `a` at hour offset `k` (0 = current): 1, then 7 now.
fn news2_of_a(k: i64) -> u8 {
    if k == 0 { 7 } else { 1 }
}

fn hour_patients(hour: DateTime<Utc>, k: i64) -> Vec<Snapshot> {
    vec![
        patient("pa", "w1", "a", "1", hour, news2_of_a(k)),
        patient("pb", "w1", "a", "2", hour, 0),
        patient("pc", "w1", "b", "3", hour, 3),
        patient("pd", "w2", "c", "1", hour, 2),
    ]
}

struct World {
    store: Store,
    weights: Arc<Weights>,
    /// The current hour.
    hour: DateTime<Utc>,
    /// The current hour's snapshots.
    now: Vec<Snapshot>,
}

/// The variable naming a PostgreSQL server (an admin URL whose role may
/// create databases); without it the PostgreSQL half is skipped.
const PG_VAR: &str = "CARELOAD_TEST_DATABASE_URL";

static DB: AtomicU32 = AtomicU32::new(0);

fn unique() -> String {
    format!(
        "careload_api_test_{}_{}",
        std::process::id(),
        DB.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs `test` on its own task, closes the store, then re-raises a failure.
async fn run<F, Fut>(store: Store, test: F) -> std::thread::Result<()>
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let result = tokio::spawn(test(store.clone())).await;
    store.close().await;
    result.map_err(|e| match e.try_into_panic() {
        Ok(panic) => panic,
        Err(e) => Box::new(e.to_string()),
    })
}

/// `test` on a fresh SQLite file in a temporary directory.
async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let dir = std::env::temp_dir().join(unique());
    std::fs::create_dir_all(&dir).expect("temp dir");
    let store = Store::connect(&format!("sqlite://{}/t.db?mode=rwc", dir.display()))
        .await
        .expect("store");
    let result = run(store, test).await;
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = result {
        resume_unwind(panic);
    }
}

/// `test` on a fresh PostgreSQL database, dropped afterwards, when
/// [`PG_VAR`] names a server.
async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Ok(admin_url) = std::env::var(PG_VAR) else {
        assert!(std::env::var_os("CI").is_none(), "CI is set but {PG_VAR} is not");
        eprintln!("postgres part skipped; set {PG_VAR} to run it");
        return;
    };
    let db = unique();
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .expect("connect to the admin URL");
    admin
        .execute(format!("CREATE DATABASE {db}").as_str())
        .await
        .expect("create test database");
    let base = admin_url.split('?').next().unwrap_or(&admin_url);
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    let result = match Store::connect(&format!("{base}/{db}")).await {
        Ok(store) => run(store, test).await,
        Err(e) => Err(Box::new(format!("open postgres: {e}")) as Box<_>),
    };
    admin
        .execute(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)").as_str())
        .await
        .expect("drop test database");
    if let Err(panic) = result {
        resume_unwind(panic);
    }
}

/// Each test once per backend: `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::on_sqlite(super::$test).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::on_postgres(super::$test).await
                }
            )*
        }
    };
}

async fn write(store: &Store, w: &Weights, hour: DateTime<Utc>, snapshots: Vec<Snapshot>) {
    let (pairs, r) = scored(w, snapshots);
    let run = store.begin_run("test").await.expect("begin run");
    store
        .write_hour(hour, run, &w.meta.version, &pairs, &r)
        .await
        .expect("write hour");
    let report = RunReport {
        counts: BTreeMap::from([("Encounter".to_owned(), 4), ("Task".to_owned(), 4)]),
        skipped: 1,
        retries: 0,
        error: None,
    };
    store.finish_run(run, Outcome::Ok, &report).await.expect("finish run");
}

/// Six hours (the last one current), plus the same hour in each of the four
/// previous weeks with only patient `pb` on w1 (a much lighter ward).
async fn world(store: Store) -> World {
    let w = weights();
    store.record_weights(&w).await.expect("record weights");
    let hour = hour_of(Utc::now());
    let tz: chrono_tz::Tz = chrono_tz::Europe::Stockholm;
    for past in careload_app::query::same_hour_of_week(hour, &tz, 4) {
        write(&store, &w, past, vec![patient("pb", "w1", "a", "2", past, 0)]).await;
    }
    for k in (0..6).rev() {
        let h = hour - Duration::hours(k);
        write(&store, &w, h, hour_patients(h, k)).await;
    }
    World {
        store,
        weights: Arc::new(w),
        hour,
        now: hour_patients(hour, 0),
    }
}

fn state_with(world: &World, config: Config) -> AppState {
    AppState::with_env(world.store.clone(), Arc::new(config), world.weights.clone(), env).expect("state")
}

/// A GET of `path` with `token` as its bearer and `headers` besides:
/// status, headers and the body's bytes as sent.
async fn get_raw(
    app: &axum::Router,
    path: &str,
    token: Option<&str>,
    headers: &[(header::HeaderName, &str)],
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::builder().uri(path);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body.to_vec())
}

async fn call(app: &axum::Router, path: &str, token: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
    let (status, headers, body) = get_raw(app, path, token, &[]).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

async fn json(app: &axum::Router, path: &str, token: Option<&str>) -> Value {
    let (status, _, body) = call(app, path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

/// Points in a JSON number, as thousandths.
fn milli(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 1000.0).round() as i64
}

async fn ward_totals_are_the_sums_of_the_scored_patients(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;

    assert_eq!(v["name"], "Avd 1");
    assert_eq!(v["beds"], 10);
    let patients = v["patients"].as_array().expect("patients");
    let keys: Vec<&str> = patients.iter().map(|p| p["key"].as_str().unwrap_or("")).collect();
    assert_eq!(keys, ["pa", "pb", "pc"], "by team then bed");
    let sum: i64 = patients.iter().map(|p| milli(&p["total"])).sum();
    assert_eq!(milli(&v["totals"]["total"]), sum);
    assert_eq!(v["totals"]["patients"], 3);
    let teams: i64 = v["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| milli(&t["totals"]["total"]))
        .sum();
    assert_eq!(teams, sum);

    // Each row carries the real scoring core's numbers for its snapshot.
    let w = weights();
    for s in world.now.iter().filter(|s| s.placement.ward == "w1") {
        let score = score_now(s, &w);
        let row = patients.iter().find(|p| p["key"] == s.key.0.as_str()).expect("row");
        assert_eq!(milli(&row["total"]), score.total.milli(), "{}", s.key);
        assert_eq!(milli(&row["usk"]), score.professions.usk.milli());
        assert_eq!(milli(&row["ssk"]), score.professions.ssk.milli());
        assert_eq!(row["medications"], 1);
        assert_eq!(row["orders"], 1);
        assert_eq!(row["norton"], "walks_with_help");
        assert_eq!(row["birth_year"], 1944);
    }
    let pa = &patients[0];
    assert_eq!(pa["news2"], 7);
    assert_eq!(pa["news2_risk"], "high");
    assert_eq!(
        pa["band"], "very_high",
        "the NEWS2 7 patient is the hospital's heaviest"
    );
    assert_eq!(v["state"]["stale"], false);
    assert_eq!(v["state"]["stale_reason"], serde_json::Value::Null);
    assert_eq!(v["state"]["weights_version"], "2026.1");
    assert_eq!(v["state"]["last_run"]["outcome"], "ok");
}

/// `path` as the staffing token, with `Accept-Encoding: accept` when given.
async fn call_encoded(
    app: &axum::Router,
    path: &str,
    accept: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let headers: Vec<_> = accept.map(|a| (header::ACCEPT_ENCODING, a)).into_iter().collect();
    get_raw(app, path, Some(STAFF), &headers).await
}

async fn cached_responses_go_gzipped_to_clients_that_accept_it(store: Store) {
    use std::io::Read as _;
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    for path in ["/api/v1/wards/w1", "/api/v1/hospital", "/wards/w1/screen"] {
        let (status, plain_headers, plain) = call_encoded(&app, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            plain.len() >= careload_api::cache::GZIP_MIN_BYTES,
            "{path}: {} bytes",
            plain.len()
        );
        assert_eq!(
            plain_headers.get(header::CONTENT_ENCODING),
            None,
            "{path}: no gzip unless asked"
        );
        let vary = |h: &axum::http::HeaderMap| {
            h.get_all(header::VARY)
                .iter()
                .any(|v| v.to_str().unwrap_or("").contains("accept-encoding"))
        };
        assert!(
            vary(&plain_headers),
            "{path}: caches are told the body depends on Accept-Encoding"
        );

        let (status, headers, sent) = call_encoded(&app, path, Some("gzip, deflate, br, zstd")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()),
            Some(&b"gzip"[..]),
            "{path}"
        );
        assert_eq!(
            headers.get(header::CONTENT_TYPE),
            plain_headers.get(header::CONTENT_TYPE)
        );
        assert!(vary(&headers));
        assert!(
            sent.len() * 3 < plain.len(),
            "{path}: {} gzipped against {} plain",
            sent.len(),
            plain.len()
        );
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&sent[..])
            .read_to_end(&mut unzipped)
            .expect("a valid gzip stream");
        assert_eq!(unzipped, plain, "{path}: the gzip copy is the same body");

        let (_, refused, body) = call_encoded(&app, path, Some("gzip;q=0, br")).await;
        assert_eq!(
            refused.get(header::CONTENT_ENCODING),
            None,
            "{path}: gzip;q=0 refuses it"
        );
        assert_eq!(body, plain);
    }
    // Errors and short bodies are sent as they are.
    let (status, headers, _) = call_encoded(&app, "/api/v1/wards/nope", Some("gzip")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers.get(header::CONTENT_ENCODING), None);
}

async fn history_defaults_to_120_hours_and_checks_its_range(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/wards/w1/history", Some(SCREEN)).await;
    assert_eq!(
        v["ward"]["points"].as_array().map(Vec::len),
        Some(6),
        "the six recent hours"
    );
    assert_eq!(v["patients"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["teams"].as_array().map(Vec::len), Some(2));
    let last = &v["ward"]["points"][5];
    let ward_now = json(&app, "/api/v1/wards/w1", Some(SCREEN)).await;
    assert_eq!(milli(&last["total"]), milli(&ward_now["totals"]["total"]));

    let from = (world.hour - Duration::hours(2)).to_rfc3339();
    let to = world.hour.to_rfc3339();
    let path = format!("/api/v1/wards/w1/history?from={}&to={}", enc(&from), enc(&to));
    let v = json(&app, &path, Some(SCREEN)).await;
    assert_eq!(
        v["ward"]["points"].as_array().map(Vec::len),
        Some(2),
        "[from, to) holds two hours"
    );

    let cases = [
        ("/api/v1/wards/w1/history?from=yesterday", 400, "RFC 3339"),
        (
            "/api/v1/wards/w1/history?from=2020-01-01T00:00:00Z",
            400,
            "at most 400 days",
        ),
        (
            &*format!("/api/v1/wards/w1/history?from={}&to={}", enc(&to), enc(&from)),
            400,
            "earlier than to",
        ),
        ("/api/v1/wards/nope/history", 403, "may read wards: w1"),
    ];
    for (path, status, hint) in cases {
        let (s, _, body) = call(&app, path, Some(SCREEN)).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).expect("json error");
        assert!(v["hint"].as_str().is_some_and(|h| h.contains(hint)), "{path}: {body}");
    }
}

fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn a_patient_says_what_changed_since_the_previous_hour(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (status, _, body) = call(&app, "/api/v1/patients/pa", Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !body.contains("Observation/") && !body.contains("Task/") && !body.contains("MedicationRequest/"),
        "FHIR references must not be served: {body}"
    );
    let v: Value = serde_json::from_str(&body).expect("json");

    assert_eq!(v["weights_version"], "2026.1");
    assert_eq!(v["ward"], "w1");
    let contributions = v["contributions"].as_array().expect("contributions");
    let sum: i64 = contributions.iter().map(|c| milli(&c["points"])).sum();
    assert_eq!(sum, milli(&v["patient"]["total"]), "the breakdown adds up to the total");
    assert!(contributions.iter().any(|c| {
        c["parameter_path"]
            .as_str()
            .is_some_and(|p| p.starts_with("news2.bands"))
    }));
    assert!(
        contributions
            .iter()
            .all(|c| c["item"].is_string() && c["weight"].is_number())
    );

    let change = &v["change"];
    assert_eq!(change["news2"]["value"]["from"], 1, "{change}");
    assert_eq!(change["news2"]["value"]["to"], 7);
    assert_eq!(change["news2"]["risk"]["to"], "high");
    assert!(milli(&change["total"]["delta"]) > 0);
    let news2_component = change["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["component"] == "news2")
        .expect("news2 component changed");
    assert!(milli(&news2_component["delta"]) > 0);
    // Each hour has its own task: the previous one ended, the new one started.
    assert!(
        change["started"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["kind"] == "activity"))
    );
    assert!(
        change["ended"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["kind"] == "activity"))
    );
    let reasons: i64 = ["started", "ended", "changed"]
        .iter()
        .flat_map(|k| change[*k].as_array().cloned().unwrap_or_default())
        .map(|i| milli(&i["delta"]))
        .sum();
    assert_eq!(reasons, milli(&change["total"]["delta"]), "the why adds up to the what");

    let (status, _, body) = call(&app, "/api/v1/patients/nobody", Some(STAFF)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("GET /api/v1/wards/{id}"), "{body}");
}

async fn the_forecast_has_eight_hours_that_add_up(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/wards/w1/forecast", Some(SCREEN)).await;
    assert_eq!(v["hours"].as_array().map(Vec::len), Some(8));
    let ward: Vec<i64> = v["ward"]["totals"]
        .as_array()
        .expect("ward")
        .iter()
        .map(milli)
        .collect();
    assert_eq!(ward.len(), 8);
    let patients = v["patients"].as_array().expect("patients");
    assert_eq!(patients.len(), 3);
    for (h, total) in ward.iter().enumerate() {
        let sum: i64 = patients.iter().map(|p| milli(&p["totals"][h])).sum();
        assert_eq!(*total, sum, "hour {h}");
    }
    let w = weights();
    let pa = world.now.iter().find(|s| s.key.0 == "pa").expect("pa");
    let expected: Vec<i64> = forecast(pa, &w, 8).iter().map(|s| s.total.milli()).collect();
    let got: Vec<i64> = patients.iter().find(|p| p["name"] == "pa").expect("pa")["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .map(milli)
        .collect();
    assert_eq!(got, expected);
    assert_ne!(
        ward[0], ward[7],
        "the activity and order due now are not due in seven hours"
    );
}

async fn tokens_are_required_and_scoped(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let cases: [(&str, Option<&str>, u16); 13] = [
        ("/api/v1/wards/w1", None, 401),
        ("/api/v1/wards/w1", Some("not-a-token"), 401),
        ("/api/v1/wards/w1", Some(SCREEN), 200),
        ("/api/v1/wards/w2", Some(SCREEN), 403),
        ("/api/v1/wards/w2/forecast", Some(SCREEN), 403),
        ("/api/v1/hospital", Some(SCREEN), 403),
        ("/api/v1/patients/pa", Some(SCREEN), 403),
        ("/api/v1/wards/w2", Some(STAFF), 200),
        ("/api/v1/weights", Some(STAFF), 403),
        ("/api/v1/weights", Some(ADMIN), 200),
        ("/api/v1/runs?limit=2", Some(ADMIN), 200),
        ("/metrics", Some(STAFF), 403),
        ("/healthz", None, 200),
    ];
    for (path, token, status) in cases {
        let (s, headers, body) = call(&app, path, token).await;
        assert_eq!(s.as_u16(), status, "{path} with {token:?}: {body}");
        if status == 401 {
            assert_eq!(
                headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()),
                Some("Bearer")
            );
        }
    }
    // ?token= is accepted on the screen pages only.
    let (s, headers, _) = call(&app, &format!("/wards/w1/screen?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    let (s, _, _) = call(&app, &format!("/wards/w2/screen?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call(&app, &format!("/api/v1/wards/w1?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Every route but the probes needs a token.
    for r in ROUTES {
        let path = r.path.replace("{id}", "w1").replace("{key}", "pa");
        let (s, _, body) = call(&app, &path, None).await;
        match r.access {
            Access::Public => assert_ne!(s, StatusCode::UNAUTHORIZED, "{path}"),
            Access::Roles(_) => assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}: {body}"),
        }
    }
    let public: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| r.path)
        .collect();
    assert_eq!(public, ["/healthz", "/readyz"]);
}

async fn an_open_api_needs_no_token_and_a_missing_secret_names_its_token(store: Store) {
    let world = world(store).await;
    let mut open = config();
    open.api.open = true;
    let app = router(state_with(&world, open));
    let (s, _, _) = call(&app, "/api/v1/wards/w2", None).await;
    assert_eq!(s, StatusCode::OK);

    let err = AppState::with_env(world.store.clone(), Arc::new(config()), world.weights.clone(), |k| {
        (k != "T_STAFFING").then(|| env(k)).flatten()
    })
    .err()
    .expect("a missing secret is a start-up error");
    assert!(
        matches!(&err, Error::Secret { token, .. } if token == "staffing"),
        "{err}"
    );
    assert!(err.to_string().contains("T_STAFFING"), "{err}");
}

async fn client_errors_say_what_to_send_and_server_errors_say_nothing(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let cases = [
        ("/api/v1/wards/nope", 404, "known wards: w1, w2"),
        ("/api/v1/runs?limit=0", 400, "1 to 1000"),
        ("/api/v1/runs?limit=many", 400, "1 to 1000"),
        ("/api/v1/nothing-here", 404, "openapi.json"),
    ];
    for (path, status, hint) in cases {
        let (s, _, body) = call(&app, path, Some(ADMIN)).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert!(v["error"].is_string(), "{body}");
        assert!(v["hint"].as_str().is_some_and(|h| h.contains(hint)), "{path}: {body}");
    }
    // A closed store: 500 with nothing but "internal error".
    world.store.close().await;
    let (s, _, body) = call(&app, "/api/v1/wards/w1", Some(ADMIN)).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, r#"{"error":"internal error"}"#);
    let (s, _, body) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

async fn the_hospital_compares_each_ward_with_its_own_hour_of_week(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/hospital", Some(STAFF)).await;
    let wards = v["wards"].as_array().expect("wards");
    let w1 = &wards[0];
    assert_eq!(w1["id"], "w1");
    assert_eq!(w1["expected_samples"], 4);
    assert_eq!(w1["expected_basis"], "hour_of_week");
    assert_eq!(
        w1["indicator"], "higher",
        "three patients now against one in past weeks: {w1}"
    );
    assert_eq!(w1["beds"], 10);
    assert_eq!(w1["occupancy"], 0.3);
    let w2 = &wards[1];
    assert_eq!(w2["indicator"], "too_little_data");
    assert_eq!(w2["beds"], 1, "not configured: the distinct beds seen");
    let sum: i64 = wards.iter().map(|w| milli(&w["totals"]["total"])).sum();
    assert_eq!(milli(&v["totals"]["total"]), sum);
    assert_eq!(v["totals"]["patients"], 4);

    let (s, _, _) = call(&app, &format!("/?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK);
}

/// Five days of history (the demo's): no same hour of the week yet, so the
/// expected level is the same hour of the day over the previous days.
async fn a_young_ward_is_compared_with_its_hour_of_day_until_weeks_exist(store: Store) {
    let w = weights();
    store.record_weights(&w).await.expect("record weights");
    let hour = hour_of(Utc::now());
    let tz: chrono_tz::Tz = chrono_tz::Europe::Stockholm;
    for past in careload_app::query::same_hour_of_day(hour, &tz, 4) {
        write(&store, &w, past, vec![patient("pb", "w1", "a", "2", past, 0)]).await;
    }
    write(&store, &w, hour, hour_patients(hour, 0)).await;
    let world = World {
        store,
        weights: Arc::new(w),
        hour,
        now: hour_patients(hour, 0),
    };
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/hospital", Some(STAFF)).await;
    let w1 = &v["wards"][0];
    assert_eq!(w1["id"], "w1");
    assert_eq!(w1["expected_basis"], "hour_of_day", "{w1}");
    assert_eq!(w1["expected_samples"], 4);
    assert_eq!(
        w1["indicator"], "higher",
        "three patients now against one on past days: {w1}"
    );
    let w2 = &v["wards"][1];
    assert_eq!(w2["indicator"], "too_little_data", "no past hours at all: {w2}");
}

async fn a_ward_that_just_emptied_is_listed_empty_and_an_old_one_is_not(store: Store) {
    let world = world(store).await;
    let w = &world.weights;
    // w3 (not configured) had a patient two hours ago; w4 forty days ago.
    let two_ago = world.hour - Duration::hours(2);
    let mut then = hour_patients(two_ago, 2);
    then.push(patient("pe", "w3", "x", "1", two_ago, 1));
    write(&world.store, w, two_ago, then).await;
    let long_ago = world.hour - Duration::days(40);
    write(
        &world.store,
        w,
        long_ago,
        vec![patient("pf", "w4", "y", "1", long_ago, 1)],
    )
    .await;
    let app = router(state_with(&world, config()));

    let v = json(&app, "/api/v1/wards", Some(STAFF)).await;
    let listed: Vec<(String, u64)> = v["wards"]
        .as_array()
        .expect("wards")
        .iter()
        .map(|w| {
            (
                w["id"].as_str().expect("id").to_owned(),
                w["patients"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("w1".to_owned(), 3), ("w2".to_owned(), 1), ("w3".to_owned(), 0)]
    );
    let (s, _, body) = call(&app, "/api/v1/wards/w3", Some(STAFF)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _, _) = call(&app, "/api/v1/wards/w4", Some(STAFF)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn post(
    app: &axum::Router,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &str,
) -> (StatusCode, String) {
    let mut req = Request::builder()
        .method("POST")
        .uri(path)
        .header(header::CONTENT_TYPE, content_type);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::from(body.to_owned())).expect("request"))
        .await
        .expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The next shift of the default plan (07, 15, 21 in Stockholm) after now: its date and name.
fn next_shift() -> (String, String) {
    let plan = careload_scoring::shift::ShiftPlan::default();
    let s = plan.next_shift(Utc::now(), &chrono_tz::Europe::Stockholm);
    (s.date.to_string(), s.name)
}

async fn planned_staffing_is_imported_whole_and_compared_with_the_need(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (date, shift) = next_shift();

    // A CSV with two bad rows: refused whole, every bad row named by line.
    let bad = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;a;{date};{shift};USK;2;0\n\
         w1;b;{date};{shift};XYZ;1;0\n\
         w9;a;{date};{shift};SSK;1;0\n"
    );
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), "text/csv", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("line 3") && body.contains("line 4"), "{body}");
    let v = json(&app, "/api/v1/staffing?ward=w1", Some(STAFF)).await;
    assert_eq!(
        v["rows"].as_array().map(Vec::len),
        Some(0),
        "nothing of a refused file is stored"
    );

    // Screen tokens read, they do not write.
    let (s, _) = post(&app, "/api/v1/staffing/csv", Some(SCREEN), "text/csv", &bad).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let good = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;a;{date};{shift};USK;2;0\n\
         w1;a;{date};{shift};SSK;1;0\n\
         w1;b;{date};{shift};USK;3;1\n\
         w1;b;{date};{shift};SSK;1;0\n"
    );
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), "text/csv", &good).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"rows":4}"#));
    // the same file as a form upload (curl -F file=@plan.csv) imports the same
    let boundary = "------------------------3f2a9c0d1e7b4a65";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plan.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{good}\r\n--{boundary}--\r\n"
    );
    let multipart = format!("multipart/form-data; boundary={boundary}");
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), &multipart, &form).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"rows":4}"#));
    // a form without a file says plainly what to send, not "header has no … column"
    let empty_form =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n--{boundary}--\r\n");
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), &multipart, &empty_form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("no file") && !body.contains("header has no"), "{body}");
    // A team careload does not know would never match: refused, naming the known ones.
    let unknown = format!("ward;team;date;shift;profession;planned\nw1;Lag X;{date};{shift};USK;2\n");
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), "text/csv", &unknown).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("line 2") && body.contains("\\\"Lag X\\\"") && body.contains("a (Lag A)") && body.contains(" b"),
        "{body}"
    );
    // The JSON rows too.
    let (s, body) = post(
        &app,
        "/api/v1/staffing",
        Some(STAFF),
        "application/json",
        &format!(
            r#"{{"rows": [{{"ward": "w1", "team": "x", "date": "{date}", "shift": "{shift}", "profession": "USK", "planned": 1, "absent": 0}}]}}"#
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("team \\\"x\\\" is not a team of ward \\\"w1\\\""),
        "{body}"
    );
    // A team's configured display name, or the one the ward screen shows, is its id.
    let named = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;Lag A;{date};{shift};USK;2;0\n\
         w1;lag a;{date};{shift};SSK;1;0\n\
         w1;Vårdlag B;{date};{shift};USK;3;1\n\
         w1;B;{date};{shift};SSK;1;0\n"
    );
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), "text/csv", &named).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"rows":4}"#));
    let v = json(
        &app,
        &format!("/api/v1/staffing?ward=w1&from={date}&to={date}"),
        Some(STAFF),
    )
    .await;
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(4));

    // JSON rows: a bad one refuses the request; a good one replaces its row.
    let row = |absent: u32| {
        format!(
            r#"{{"rows": [{{"ward": "w1", "team": "b", "date": "{date}", "shift": "{shift}", "profession": "USK", "planned": 3, "absent": {absent}}}]}}"#
        )
    };
    let (s, body) = post(&app, "/api/v1/staffing", Some(STAFF), "application/json", &row(5)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("absent 5 is more than planned 3"), "{body}");
    let (s, body) = post(
        &app,
        "/api/v1/staffing",
        Some(STAFF),
        "application/json",
        "{\"rows\": 1}",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = post(&app, "/api/v1/staffing", Some(STAFF), "application/json", &row(0)).await;
    assert_eq!(s, StatusCode::OK);

    // The next shift: need against what was planned, team by team.
    let v = json(&app, "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    let shifts = v["shifts"].as_array().expect("shifts");
    assert_eq!(shifts.len(), 2, "the next shift and the one after");
    let next = &shifts[0];
    assert_eq!(
        (next["shift"]["name"].as_str(), next["shift"]["date"].as_str()),
        (Some(shift.as_str()), Some(date.as_str()))
    );
    let teams = next["teams"].as_array().expect("teams");
    let b = teams.iter().find(|t| t["team"] == "b").expect("team b");
    assert_eq!(b["usk"]["planned"]["planned"], 3);
    assert_eq!(b["usk"]["planned"]["absent"], 0, "the JSON row replaced the CSV's");
    for t in teams.iter().chain([&next["ward"]]) {
        for p in ["usk", "ssk"] {
            let g = &t[p];
            if g["planned"].is_null() {
                continue;
            }
            assert!(milli(&g["need_hours"]) > 0, "{t}");
            assert_eq!(
                milli(&g["gap_hours"]),
                milli(&g["available_hours"]) - milli(&g["need_hours"]),
                "gap = available − need"
            );
        }
    }
    assert_eq!(
        shifts[1]["ward"]["verdict"], "no_plan",
        "nothing planned for the shift after"
    );

    // Balancing: a proposal, and a bad parameter says what to send.
    let v = json(&app, "/api/v1/wards/w1/balance?max_moves=2&pin=pa", Some(STAFF)).await;
    let moves = v["proposal"]["moves"].as_array().expect("moves");
    assert!(moves.len() <= 2);
    assert!(
        !v.to_string().contains(r#""ids":["pa"]"#),
        "a pinned patient never moves"
    );
    assert!(milli(&v["proposal"]["spread_after"]) <= milli(&v["proposal"]["spread_before"]));
    let (s, _, body) = call(&app, "/api/v1/wards/w1/balance?max_moves=many", Some(STAFF)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("0 to 20"), "{body}");

    // Pins on record: by bed or pseudonym, for the current stay; pinned
    // patients never move and are listed with the proposal; every change audited.
    let (s, body) = post(
        &app,
        "/api/v1/wards/w1/pins",
        Some(STAFF),
        "application/json",
        r#"{"patient": "3", "pinned": true}"#,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let written: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (written["patient"].as_str(), written["changed"].as_bool()),
        (Some("pc"), Some(true))
    );
    let (s, body) = post(
        &app,
        "/api/v1/wards/w1/pins",
        Some(STAFF),
        "application/json",
        r#"{"patient": "pc", "pinned": true}"#,
    )
    .await;
    assert_eq!(
        (s, body.contains(r#""changed":false"#)),
        (StatusCode::OK, true),
        "{body}"
    );
    let (s, body) = post(
        &app,
        "/api/v1/wards/w1/pins",
        Some(STAFF),
        "application/json",
        r#"{"patient": "9", "pinned": true}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("one of the beds 1, 2, 3"),
        "the hint lists the beds: {body}"
    );
    let (s, body) = post(
        &app,
        "/api/v1/wards/w1/pins",
        Some(STAFF),
        "application/json",
        r#"{"bed": "3"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains(r#"\"pinned\": true"#), "says what to send: {body}");
    let (s, _) = post(
        &app,
        "/api/v1/wards/w1/pins",
        Some(SCREEN),
        "application/json",
        r#"{"patient": "1", "pinned": true}"#,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "screen tokens do not pin");
    let v = json(&app, "/api/v1/wards/w1/pins", Some(STAFF)).await;
    assert_eq!(v["pins"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        (v["pins"][0]["patient"].as_str(), v["pins"][0]["bed"].as_str()),
        (Some("pc"), Some("3"))
    );
    assert_eq!(v["pins"][0]["pinned_by"], "staffing");
    let v = json(
        &app,
        "/api/v1/wards/w1/balance?max_moves=5&keep_rooms_together=false",
        Some(STAFF),
    )
    .await;
    assert_eq!(v["pinned"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        (v["pinned"][0]["patient"].as_str(), v["pinned"][0]["stored"].as_bool()),
        (Some("pc"), Some(true))
    );
    assert!(
        !v["proposal"]["moves"].to_string().contains(r#""pc""#),
        "a stored pin never moves: {v}"
    );
    let v = json(&app, "/api/v1/wards/w1/balance?pin=1", Some(STAFF)).await;
    let pinned: Vec<(&str, bool)> = v["pinned"]
        .as_array()
        .expect("pinned")
        .iter()
        .map(|p| {
            (
                p["patient"].as_str().unwrap_or(""),
                p["stored"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        pinned,
        [("pa", false), ("pc", true)],
        "request pins join the stored ones"
    );
    let (_, _, html) = call(&app, &format!("/wards/w1/planning?token={STAFF}"), None).await;
    assert!(html.contains("Stannar i sitt lag:</strong> säng 3 (lag B)"), "{html}");
    let (s, body) = post(
        &app,
        "/api/v1/wards/w1/pins",
        Some(STAFF),
        "application/json",
        r#"{"patient": "3", "pinned": false}"#,
    )
    .await;
    assert_eq!(
        (s, body.contains(r#""changed":true"#)),
        (StatusCode::OK, true),
        "{body}"
    );
    let v = json(&app, "/api/v1/wards/w1/pins", Some(STAFF)).await;
    assert_eq!(v["pins"].as_array().map(Vec::len), Some(0));

    // The bed coordinator sees every ward.
    let v = json(&app, "/api/v1/admissions", Some(STAFF)).await;
    let mut wards: Vec<&str> = v["wards"]
        .as_array()
        .expect("wards")
        .iter()
        .filter_map(|w| w["ward"].as_str())
        .collect();
    wards.sort_unstable();
    assert_eq!(wards, ["w1", "w2"]);
    assert_eq!(
        (v["names"]["w1"].as_str(), v["names"]["w2"].as_str()),
        (Some("Avd 1"), Some("w2")),
        "configured names, else the id"
    );
    // … and on its page, ranked, with the words, linked from the overview.
    let (s, _, html) = call(&app, &format!("/admissions?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert_eq!(html.matches(r#"<tr class="ward""#).count(), 2, "{html}");
    for w in v["wards"].as_array().expect("wards") {
        assert!(
            html.contains(&*format!(
                r#"data-ward="{}" data-verdict="{}""#,
                w["ward"].as_str().unwrap_or(""),
                w["verdict"].as_str().unwrap_or("")
            )),
            "{w} in {html}"
        );
    }
    let (s, _, _) = call(&app, &format!("/admissions?token={SCREEN}"), None).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "screen tokens do not see the coordinator's page"
    );

    // The staffing assistants' page says the same in words, escaped, with the token kept in links.
    let (s, _, html) = call(&app, &format!("/wards/w1/planning?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("Nästa pass") && html.contains("Passet därefter"),
        "{html}"
    );
    assert!(html.contains("Hela avdelningen") && html.contains("Lag A") && html.contains("Lag B"));
    assert!(
        html.contains("dagpass") || html.contains("kvällspass") || html.contains("nattpass"),
        "shift names in Swedish"
    );
    assert!(html.contains(r#"class="verdict verdict-"#));
    assert!(html.contains("Fördelning mellan vårdlagen"));
    let (s, _, _) = call(&app, &format!("/wards/w1/planning?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "screen tokens do not see planning pages");
    let (_, _, overview) = call(&app, &format!("/?token={STAFF}"), None).await;
    assert!(
        overview.contains("/wards/w1/planning?token="),
        "the overview links each ward's planning page"
    );
    assert!(overview.contains("/admissions?token="), "and the coordinator's page");

    // The writes are in the audit log under the token's name.
    let v = json(&app, "/api/v1/audit", Some(ADMIN)).await;
    let entries = v.as_array().or_else(|| v["entries"].as_array()).expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "staffing" && e["action"] == "planned_staffing"),
        "{v}"
    );
    for action in ["planning.pin", "planning.unpin"] {
        assert_eq!(
            entries
                .iter()
                .filter(|e| e["actor"] == "staffing" && e["action"] == action)
                .count(),
            1,
            "{action} once (the no-op pin wrote nothing): {v}"
        );
    }
}

async fn openapi_documents_every_route_of_the_router(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let doc = json(&app, "/api/v1/openapi.json", Some(SCREEN)).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let operations: usize = paths.values().map(|p| p.as_object().map_or(0, |m| m.len())).sum();
    assert_eq!(operations, ROUTES.len());
    for r in ROUTES {
        assert!(
            paths[r.path].get(r.method.key()).is_some(),
            "{} {} is not documented",
            r.method.key(),
            r.path
        );
        // And the router serves it (not the fallback).
        let path = r.path.replace("{id}", "w1").replace("{key}", "pa");
        let body = match r.method {
            careload_api::routes::Method::Get => call(&app, &path, Some(ADMIN)).await.2,
            careload_api::routes::Method::Post => post(&app, &path, Some(ADMIN), "text/plain", "").await.1,
        };
        assert!(!body.contains("no such route"), "{path} is not routed");
    }
}

async fn metrics_count_requests_and_show_the_latest_run(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let _ = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    let _ = json(&app, "/api/v1/wards/w2", Some(STAFF)).await;
    let _ = json(&app, "/api/v1/patients/pa", Some(STAFF)).await;
    let (s, _, _) = call(&app, "/api/v1/wards/w1", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, headers, text) = call(&app, "/metrics", Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain")
    );
    for line in [
        "careload_http_requests_total{route=\"/api/v1/wards/{id}\",status=\"200\"} 2",
        "careload_http_requests_total{route=\"/api/v1/wards/{id}\",status=\"401\"} 1",
        "careload_http_request_duration_seconds_count{route=\"/api/v1/wards/{id}\",status=\"200\"} 2",
        "careload_last_run_outcome{source=\"test\",outcome=\"ok\"} 1",
        "careload_last_run_outcome{source=\"test\",outcome=\"failed\"} 0",
        "careload_last_run_resources_read{source=\"test\"} 8",
        "careload_last_run_skipped{source=\"test\"} 1",
        "careload_http_requests_total{route=\"/api/v1/patients/{key}\",status=\"200\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("/api/v1/patients/pa"), "no patient key in labels");
    // an alert can watch the age of the hour the screens show
    let age: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("careload_hour_shown_age_seconds "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no careload_hour_shown_age_seconds in\n{text}"));
    let shown = world.hour.timestamp();
    assert!(
        text.lines()
            .any(|l| l == format!("careload_hour_shown_timestamp_seconds {shown}")),
        "{text}"
    );
    let expected = (Utc::now() - world.hour).num_seconds();
    assert!((expected - 5..=expected + 5).contains(&age), "{age} vs {expected}");
    // each source's latest run: a second source gets its own series
    let run = world.store.begin_run("https://ehr.example/fhir").await.expect("run");
    world
        .store
        .finish_run(
            run,
            careload_store::Outcome::Failed,
            &careload_store::RunReport::default(),
        )
        .await
        .expect("finish");
    let (_, _, text) = call(&app, "/metrics", Some(ADMIN)).await;
    for line in [
        "careload_last_run_outcome{source=\"https://ehr.example/fhir\",outcome=\"failed\"} 1",
        "careload_last_run_outcome{source=\"test\",outcome=\"ok\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}

async fn the_rate_limit_answers_429_with_retry_after_per_client(store: Store) {
    let world = world(store).await;
    let mut c = config();
    c.api.rate_limit_per_minute = 2;
    let app = router(state_with(&world, c));
    let from = |ip: [u8; 4]| {
        let mut req = Request::builder().uri("/healthz").body(Body::empty()).expect("request");
        req.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 4000))));
        req
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.clone().oneshot(from([10, 0, 0, 1])).await.expect("response"));
    }
    assert_eq!(statuses[0].status(), StatusCode::OK);
    assert_eq!(statuses[1].status(), StatusCode::OK);
    assert_eq!(statuses[2].status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = statuses[2].headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap_or("")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    let other = app.clone().oneshot(from([10, 0, 0, 2])).await.expect("response");
    assert_eq!(other.status(), StatusCode::OK, "another client is not limited");
}

async fn readiness_follows_the_runs(store: Store) {
    let w = Arc::new(weights());
    let state = AppState::with_env(store.clone(), Arc::new(config()), w.clone(), env).expect("state");
    let app = router(state.clone());
    let (s, _, body) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("no ingest run has succeeded yet"), "{body}");
    // Nothing written: views are empty and stale, not errors.
    let v = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    assert_eq!(v["state"]["stale"], true);
    assert_eq!(v["state"]["stale_reason"], "no_data");
    assert_eq!(v["patients"].as_array().map(Vec::len), Some(0));
    let (s, _, _) = call(&app, "/api/v1/patients/pa", Some(STAFF)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    store.record_weights(&w).await.expect("weights");
    let hour = hour_of(Utc::now());
    write(&store, &w, hour, hour_patients(hour, 0)).await;
    state.data_changed();
    let (s, _, body) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // A failed run after it: ready still (the last good picture stands), but stale.
    let run = store.begin_run("test").await.expect("run");
    let failed = RunReport {
        error: Some("fhir server unreachable".into()),
        ..RunReport::default()
    };
    store.finish_run(run, Outcome::Failed, &failed).await.expect("finish");
    // The API may serve what it built for up to its cache's TTL; the service
    // tells it after every run.
    state.data_changed();
    let (s, _, _) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK);
    let v = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    assert_eq!(v["state"]["stale"], true, "the last run failed");
    assert_eq!(v["state"]["stale_reason"], "last_run_failed");
    assert_eq!(v["state"]["last_run"]["outcome"], "failed");
}

/// One HTTP/1.1 GET of `path` over a new connection to `addr` (extra
/// header lines in `headers`, each ending in CRLF): the whole response text.
async fn get_over_tcp(addr: SocketAddr, path: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

async fn serve_answers_on_a_real_socket_and_shuts_down(store: Store) {
    let state = AppState::with_env(store, Arc::new(config()), Arc::new(weights()), env).expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(careload_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let response = get_over_tcp(addr, "/healthz", "").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
    let _ = stop.send(());
    server.await.expect("join").expect("served");
}

/// Clients that open connections and never finish a request cannot take
/// the server down: over `api.max_connections` a connection is closed as it
/// comes, the held ones are cut off after `api.header_read_timeout_secs`,
/// and `/healthz` answers all along (once a slot frees, within the timeout).
async fn half_open_connections_are_cut_off_and_health_keeps_answering(store: Store) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = config();
    c.api.max_connections = 16;
    c.api.header_read_timeout_secs = 1;
    let state = AppState::with_env(store, Arc::new(c), Arc::new(weights()), env).expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(careload_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    // 40 clients that send half a request and then nothing
    let mut held = Vec::new();
    for _ in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .expect("write");
        held.push(stream);
    }
    // every one of them is closed by the server within the timeout (and
    // those over the cap at once): reading gives the end of the stream
    let started = std::time::Instant::now();
    for stream in &mut held {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "a half-open connection was still open after 5 s"
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // the server still answers, with the half-open clients still connected on their side
    let response = tokio::time::timeout(std::time::Duration::from_secs(5), get_over_tcp(addr, "/healthz", ""))
        .await
        .expect("healthz within 5 s");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // refusals are counted
    let metrics = get_over_tcp(addr, "/metrics", &format!("Authorization: Bearer {ADMIN}\r\n")).await;
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("careload_http_connections_refused_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(refused >= 24, "{refused} refused of 40 over a cap of 16");
    drop(held);
    let _ = stop.send(());
    server.await.expect("join").expect("served");
}

async fn spawn_serve_answers_from_a_runtime_of_its_own(store: Store) {
    let world = world(store).await;
    let state = state_with(&world, config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = careload_api::spawn_serve(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
        1,
    )
    .expect("spawned");
    // a route that reads the store, whose pool this runtime made
    for _ in 0..3 {
        let response = get_over_tcp(addr, "/api/v1/wards/w1", &format!("Authorization: Bearer {STAFF}\r\n")).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains(r#""name":"Avd 1""#), "{response}");
    }
    let _ = stop.send(());
    serving.finished().await.expect("served and shut down");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after the shutdown"
    );
    // the store still answers on this runtime after the API's has ended
    assert!(
        world
            .store
            .current_hour()
            .await
            .expect("store after shutdown")
            .is_some()
    );
}

async fn cors_is_off_unless_configured_and_large_bodies_are_refused(store: Store) {
    let world = world(store).await;
    let request = |method: &str, origin: &str| {
        Request::builder()
            .method(method)
            .uri("/api/v1/wards/w1")
            .header(header::ORIGIN, origin)
            .header(header::AUTHORIZATION, format!("Bearer {STAFF}"))
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .expect("request")
    };
    let off = router(state_with(&world, config()));
    let r = off
        .oneshot(request("GET", "https://screens.example"))
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "CORS is off by default"
    );

    let mut c = config();
    c.api.cors_origins = vec!["https://screens.example".into()];
    c.api.max_body_bytes = 16;
    let on = router(state_with(&world, c));
    let r = on
        .clone()
        .oneshot(request("GET", "https://screens.example"))
        .await
        .expect("response");
    assert_eq!(
        r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://screens.example"
    );
    let r = on
        .clone()
        .oneshot(request("GET", "https://elsewhere.example"))
        .await
        .expect("response");
    assert!(r.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let r = on
        .clone()
        .oneshot(request("OPTIONS", "https://screens.example"))
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "preflight");
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_METHODS], "GET");

    let big = Request::builder()
        .uri("/healthz")
        .header(header::CONTENT_LENGTH, "17")
        .body(Body::from("x".repeat(17)))
        .expect("request");
    let r = on.oneshot(big).await.expect("response");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

async fn admin_routes_show_weights_runs_and_audit(store: Store) {
    let world = world(store).await;
    world
        .store
        .audit("admin", "weights.activate", &serde_json::json!({ "version": "2026.1" }))
        .await
        .expect("audit");
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/weights", Some(ADMIN)).await;
    assert_eq!(v["version"], "2026.1");
    assert_eq!(v["digest"], world.weights.digest.as_str());
    assert!(v["recorded_at"].is_string(), "recorded by the store: {v}");
    let versions = json(&app, "/api/v1/weights/versions", Some(ADMIN)).await;
    assert_eq!(versions.as_array().map(Vec::len), Some(1));

    let runs = json(&app, "/api/v1/runs?limit=2", Some(ADMIN)).await;
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert!(runs[0]["id"].as_i64() > runs[1]["id"].as_i64(), "newest first");
    let latest = json(&app, "/api/v1/runs/latest", Some(ADMIN)).await;
    assert_eq!(latest["id"], runs[0]["id"]);
    assert_eq!(latest["outcome"], "ok");
    let audit = json(&app, "/api/v1/audit", Some(ADMIN)).await;
    assert_eq!(audit[0]["action"], "weights.activate");

    let wards = json(&app, "/api/v1/wards", Some(STAFF)).await;
    let names: Vec<(&str, &str, i64)> = wards["wards"]
        .as_array()
        .expect("wards")
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap_or(""),
                w["name"].as_str().unwrap_or(""),
                w["patients"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(names, [("w1", "Avd 1", 3), ("w2", "w2", 1)]);
}

async fn exports_stream_a_named_file_for_controllers(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let from = today - Duration::days(1);
    let path = format!("/api/v1/export?from={from}&to={today}&level=ward&grain=hour");

    let (status, _, _) = call(&app, &path, Some(STAFF)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "staffing tokens do not export");
    let (status, headers, body) = call(&app, &path, Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"careload-ward-hour-{from}-{today}.csv\"").as_str()
    );
    let mut lines = body.lines();
    let header_line: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header_line.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // The current hour's w1 row is the ward's total the JSON API shows.
    let now_label = world
        .hour
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .format("%Y-%m-%dT%H:%M%:z")
        .to_string();
    let row = rows
        .iter()
        .find(|r| r[col("ward")] == "w1" && r[col("period")] == now_label)
        .expect("w1 in the current hour");
    let ward = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    let exported: f64 = row[col("total_mean")].parse().expect("a number");
    assert_eq!((exported * 1000.0).round() as i64, milli(&ward["totals"]["total"]));
    assert_eq!(row[col("patients")], "3");
    // names beside ids, from the configuration; the hour stored is a whole hour
    assert_eq!(
        (row[col("ward_name")], row[col("team_name")], row[col("complete")]),
        ("Avd 1", "", "true")
    );
    let teams = format!("/api/v1/export?from={from}&to={today}&level=team&grain=day");
    let (status, _, body) = call(&app, &teams, Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut lines = body.lines();
    let header_line: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header_line.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let names: BTreeSet<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            [col("ward"), col("ward_name"), col("team"), col("team_name")]
                .map(|i| r[i].to_owned())
                .into()
        })
        .collect();
    // today is not over: its rows say so, yesterday's are complete
    for r in &rows {
        let today_row = r[col("local_date")] == today.to_string();
        assert_eq!(r[col("complete")], if today_row { "false" } else { "true" }, "{r:?}");
    }
    assert!(
        names.contains(&("w1".into(), "Avd 1".into(), "a".into(), "Lag A".into()))
            && names.contains(&("w1".into(), "Avd 1".into(), "b".into(), String::new()))
            && names.contains(&("w2".into(), String::new(), "c".into(), String::new())),
        "{names:?}"
    );

    // Parquet and JSON by the same route; admins may export too.
    let (status, headers, _) = call(&app, &format!("{path}&format=parquet"), Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/vnd.apache.parquet");
    let (status, _, body) = call(&app, &format!("{path}&format=json&wards=w2"), Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<Value> = serde_json::from_str(&body).expect("a JSON array");
    assert!(!rows.is_empty() && rows.iter().all(|r| r["ward"] == "w2"));

    // Bad parameters: 400 with what to send, before any file.
    for (query, hint) in [
        ("from=2026-01-01", "to is required"),
        ("from=2026-13-01&to=2026-12-31", "YYYY-MM-DD"),
        ("from=2026-01-01&to=2026-01-31&grain=fortnight", "hour, shift, day"),
        ("from=2026-01-01&to=2026-01-31&wards=nope", "\\\"nope\\\" is not known"),
        (
            "from=2026-01-01&to=2026-01-31&grain=hour&staffing=true",
            "grain shift or coarser",
        ),
        ("from=2026-01-01&to=2026-01-31&staffing=maybe", "true or false"),
    ] {
        let (status, headers, body) = call(&app, &format!("/api/v1/export?{query}"), Some(CONTROLLER)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(headers.get(header::CONTENT_DISPOSITION).is_none());
        assert!(body.contains(hint), "{query}: {body}");
    }
}

async fn admins_backtest_a_candidate_without_changing_history(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let path = format!("/api/v1/weights/backtest?from={}&to={today}", today - Duration::days(1));

    let (status, _) = post(&app, &path, Some(STAFF), "application/toml", WEIGHTS).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins back-test");
    let (status, body) = post(&app, &path, Some(ADMIN), "application/toml", WEIGHTS).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let same: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(same["candidate_version"], "2026.1");
    assert_eq!(same["skipped"], 0);
    assert!(same["patient_hours"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        same["hospital"]["stored"], same["hospital"]["candidate"],
        "the version in force changes nothing"
    );

    let candidate = WEIGHTS
        .replace("version = \"2026.1\"", "version = \"2027.1\"")
        .replace("[medications.oral]\n", "[medications.oral]\n# doubled\n");
    let (status, body) = post(&app, &path, Some(ADMIN), "application/toml", &candidate).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["candidate_version"], "2027.1");
    assert_eq!(
        v["hospital"]["stored"], same["hospital"]["stored"],
        "history unchanged by a back-test"
    );

    let broken = WEIGHTS.replace("format = 1", "format = \"one\"");
    let (status, body) = post(&app, &path, Some(ADMIN), "application/toml", &broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("request body"), "names the file and line: {body}");
    let (status, body) = post(
        &app,
        "/api/v1/weights/backtest?from=2026-01-01&to=2026-12-31",
        Some(ADMIN),
        "application/toml",
        WEIGHTS,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at most 92 days"), "{body}");
}

/// A request sent through `app`: status, headers and the body as text.
async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(req).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// A body of `len` bytes sent in 256-byte chunks with no `Content-Length`
/// (as `Transfer-Encoding: chunked` arrives).
fn chunked(len: usize) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..len.div_ceil(256))
        .map(|i| Ok(vec![b'x'; 256.min(len - i * 256)]))
        .collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

async fn every_client_error_is_json_with_a_hint(store: Store) {
    let world = world(store).await;
    let mut c = config();
    c.api.max_body_bytes = 1024;
    let app = router(state_with(&world, c));
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let request = |method: &str, path: &str, token: Option<&str>| {
        let mut r = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        r
    };
    let get = |path: &str, token: Option<&str>| request("GET", path, token).body(Body::empty()).expect("request");
    let cases: Vec<(&str, Request<Body>, u16)> = vec![
        (
            "a path that is not UTF-8",
            get("/api/v1/wards/%FF%FE", Some(STAFF)),
            400,
        ),
        (
            "a patient key that is not UTF-8",
            get("/api/v1/patients/%FF", Some(STAFF)),
            400,
        ),
        (
            "a pins path that is not UTF-8",
            get("/api/v1/wards/%C3%28/pins", Some(STAFF)),
            400,
        ),
        (
            "a screen path that is not UTF-8",
            get(&format!("/wards/%FF%FE/screen?token={STAFF}"), None),
            400,
        ),
        (
            "a planning page path that is not UTF-8",
            get("/wards/%FF/planning", Some(STAFF)),
            400,
        ),
        (
            "a chunked staffing body over the limit",
            request("POST", "/api/v1/staffing", Some(STAFF))
                .header(header::CONTENT_TYPE, "application/json")
                .body(chunked(4096))
                .expect("request"),
            413,
        ),
        (
            "a chunked CSV over the limit",
            request("POST", "/api/v1/staffing/csv", Some(STAFF))
                .header(header::CONTENT_TYPE, "text/csv")
                .body(chunked(4096))
                .expect("request"),
            413,
        ),
        (
            "a chunked pin over the limit",
            request("POST", "/api/v1/wards/w1/pins", Some(STAFF))
                .body(chunked(2048))
                .expect("request"),
            413,
        ),
        (
            "a chunked weights file over the limit",
            request(
                "POST",
                &format!("/api/v1/weights/backtest?from={today}&to={today}"),
                Some(ADMIN),
            )
            .header(header::CONTENT_TYPE, "application/toml")
            .body(chunked(8192))
            .expect("request"),
            413,
        ),
        (
            "a declared body over the limit",
            request("POST", "/api/v1/staffing", Some(STAFF))
                .header(header::CONTENT_LENGTH, "2048")
                .body(Body::from("x".repeat(2048)))
                .expect("request"),
            413,
        ),
        (
            "DELETE on a ward",
            request("DELETE", "/api/v1/wards/w1", Some(STAFF))
                .body(Body::empty())
                .expect("request"),
            405,
        ),
        (
            "PUT on planned staffing",
            request("PUT", "/api/v1/staffing", Some(STAFF))
                .body(Body::empty())
                .expect("request"),
            405,
        ),
        (
            "POST on a screen page",
            request("POST", &format!("/wards/w1/screen?token={SCREEN}"), None)
                .body(Body::empty())
                .expect("request"),
            405,
        ),
        (
            "POST on a probe",
            request("POST", "/healthz", None).body(Body::empty()).expect("request"),
            405,
        ),
        (
            "a body that is not JSON",
            request("POST", "/api/v1/staffing", Some(STAFF))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .expect("request"),
            422,
        ),
        (
            "a pin without a Content-Type",
            request("POST", "/api/v1/wards/w1/pins", Some(STAFF))
                .body(Body::from("pin it"))
                .expect("request"),
            422,
        ),
        (
            "a limit that is no number",
            get("/api/v1/runs?limit=%FF", Some(ADMIN)),
            400,
        ),
        (
            "a time that is no time",
            get("/api/v1/wards/w1/history?from=%FF%FE", Some(STAFF)),
            400,
        ),
        (
            "a balance option that is no number",
            get("/api/v1/wards/w1/balance?max_moves=many", Some(STAFF)),
            400,
        ),
        ("an export without dates", get("/api/v1/export", Some(CONTROLLER)), 400),
        ("no such route", get("/api/v1/nothing-here", Some(STAFF)), 404),
        ("no token", get("/api/v1/wards/w1", None), 401),
        (
            "another ward's screen",
            get(&format!("/wards/w2/screen?token={SCREEN}"), None),
            403,
        ),
    ];
    for (what, req, status) in cases {
        let (s, headers, body) = send(&app, req).await;
        assert_eq!(s.as_u16(), status, "{what}: {body}");
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(content_type, "application/json", "{what}: {s} {body:?}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body:?}"));
        for key in ["error", "hint"] {
            assert!(
                v[key].as_str().is_some_and(|t| !t.trim().is_empty()),
                "{what}: no {key} in {body}"
            );
        }
        if status == 405 {
            let allow = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
            assert!(allow.contains("GET"), "{what}: Allow {allow:?}");
            assert!(v["hint"].as_str().is_some_and(|h| h.contains("GET")), "{what}: {body}");
        }
        if status == 413 {
            assert!(
                v["hint"].as_str().is_some_and(|h| h.contains("1024 bytes")),
                "{what}: {body}"
            );
        }
    }
    // The methods a path takes, as axum lists them.
    for (path, allow) in [
        ("/api/v1/wards/w1", "GET,HEAD"),
        ("/api/v1/staffing", "GET,HEAD,POST"),
        ("/api/v1/staffing/csv", "POST"),
    ] {
        let req = request("PATCH", path, Some(STAFF))
            .body(Body::empty())
            .expect("request");
        let (s, headers, body) = send(&app, req).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{path}: {body}");
        assert_eq!(headers[header::ALLOW], allow, "{path}");
        assert!(body.contains("does not take PATCH"), "{path}: {body}");
    }
    // HEAD: the same headers as GET, no body.
    let req = request("HEAD", "/api/v1/wards/%FF", Some(STAFF))
        .body(Body::empty())
        .expect("request");
    let (s, headers, body) = send(&app, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body, "");
}

async fn the_bearer_scheme_is_case_insensitive(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let with = |authorization: String| {
        Request::builder()
            .uri("/api/v1/wards/w1")
            .header(header::AUTHORIZATION, authorization)
            .body(Body::empty())
            .expect("request")
    };
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        for value in [format!("{scheme} {STAFF}"), format!("{scheme}   {STAFF}  ")] {
            let (s, _, body) = send(&app, with(value.clone())).await;
            assert_eq!(s, StatusCode::OK, "Authorization: {value:?}: {body}");
        }
    }
    for value in [
        format!("Basic {STAFF}"),
        format!("Bearer{STAFF}"),
        format!("Bearerx {STAFF}"),
        "Bearer ".to_owned(),
        "BEARER".to_owned(),
        STAFF.to_owned(),
    ] {
        let (s, _, body) = send(&app, with(value.clone())).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "Authorization: {value:?}: {body}");
    }
}

async fn pages_opened_with_a_token_in_the_query_are_not_stored(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let cases = [
        (format!("/wards/w1/screen?token={SCREEN}"), 200),
        (format!("/?token={STAFF}"), 200),
        (format!("/admissions?token={STAFF}"), 200),
        (format!("/wards/w1/planning?token={STAFF}"), 200),
        (format!("/wards/w2/screen?token={SCREEN}"), 403),
        ("/wards/w1/screen?token=not-a-token".to_owned(), 401),
        (format!("/wards/nope/screen?token={STAFF}"), 404),
        (format!("/api/v1/wards/w1?token={STAFF}"), 401),
        (format!("/nothing-here?token={STAFF}"), 404),
    ];
    for (path, status) in cases {
        for encoding in [None, Some("gzip")] {
            let extra: Vec<(header::HeaderName, &str)> =
                encoding.map(|e| (header::ACCEPT_ENCODING, e)).into_iter().collect();
            let (s, headers, _) = get_raw(&app, &path, None, &extra).await;
            assert_eq!(s.as_u16(), status, "{path}");
            let cache_control: Vec<&str> = headers
                .get_all(header::CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            assert_eq!(cache_control, ["no-store"], "{path} ({encoding:?})");
            for contradicting in [header::EXPIRES, header::ETAG, header::LAST_MODIFIED, header::AGE] {
                assert!(!headers.contains_key(&contradicting), "{path}: {contradicting}");
            }
        }
    }
}

/// A form upload of `file` as a browser sends it (one file field).
fn form_upload(file: &str) -> (String, String) {
    let boundary = "----careloadFormBoundary7MA4YWxkTrZu0gW";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plan.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn the_planning_page_takes_the_staffing_file_and_lists_every_bad_line(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (date, shift) = next_shift();

    // The form is on the page for those who may import, not for controllers.
    let (s, _, page) = call(&app, &format!("/wards/w1/planning?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains(&format!(
            r#"<form method="post" action="/wards/w1/planning/staffing?token={STAFF}" enctype="multipart/form-data">"#
        )) && page.contains(r#"<input type="file" name="file""#),
        "{page}"
    );
    let (_, _, page) = call(&app, "/wards/w1/planning", Some(CONTROLLER)).await;
    assert!(
        !page.contains("<form"),
        "a controller reads the page but may not import"
    );
    let (mime, body) = form_upload("ward;team;date;shift;profession;planned\n");
    let (s, _) = post(&app, "/wards/w1/planning/staffing", Some(CONTROLLER), &mime, &body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A bad file: the page again, every bad line listed, nothing stored.
    let bad = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;a;{date};{shift};USK;2;0\n\
         w1;Lag X;{date};{shift};USK;1;0\n\
         w1;b;{date};{shift};XYZ;1;0\n\
         w9;a;{date};{shift};SSK;1;0\n"
    );
    let (mime, body) = form_upload(&bad);
    let (s, page) = post(
        &app,
        &format!("/wards/w1/planning/staffing?token={STAFF}"),
        None,
        &mime,
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("Filen lästes inte in") && page.contains("(3 fel)"),
        "{page}"
    );
    for (line, words) in [
        (3, "team &quot;Lag X&quot; is not a team of ward &quot;w1&quot;"),
        (4, "profession &quot;xyz&quot; is not known"),
        (5, "ward &quot;w9&quot; is not known"),
    ] {
        let row = format!(r#"<tr><td class="num">{line}</td><td>"#);
        let at = page
            .find(&row)
            .unwrap_or_else(|| panic!("line {line} is not listed: {page}"));
        assert!(
            page[at..].split("</tr>").next().is_some_and(|r| r.contains(words)),
            "line {line}: {page}"
        );
    }
    assert!(
        page.contains(&format!(
            r#"<meta http-equiv="refresh" content="300; url=/wards/w1/planning?token={STAFF}">"#
        )),
        "the answer reloads the page, not the upload: {page}"
    );
    let v = json(&app, "/api/v1/staffing?ward=w1", Some(STAFF)).await;
    assert_eq!(
        v["rows"].as_array().map(Vec::len),
        Some(0),
        "nothing of a refused file is stored"
    );

    // A form without a file says so.
    let (s, page) = post(
        &app,
        "/wards/w1/planning/staffing",
        Some(STAFF),
        "multipart/form-data; boundary=x",
        "--x\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhej\r\n--x--\r\n",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("no file"), "{page}");

    // A good file: stored, and the page shows the comparison with it.
    let good = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;Lag A;{date};{shift};USK;2;0\n\
         w1;b;{date};{shift};USK;3;1\n"
    );
    let (mime, body) = form_upload(&good);
    let (s, page) = post(&app, "/wards/w1/planning/staffing", Some(STAFF), &mime, &body).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("<strong>Filen är inläst:</strong> 2 rader sparade"),
        "{page}"
    );
    let v = json(&app, "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    let teams = v["shifts"][0]["teams"].as_array().expect("teams");
    let a = teams.iter().find(|t| t["team"] == "a").expect("team a");
    assert_eq!(a["usk"]["planned"]["planned"], 2, "Lag A is team a: {a}");
}

on_every_backend!(
    the_planning_page_takes_the_staffing_file_and_lists_every_bad_line,
    admins_backtest_a_candidate_without_changing_history,
    exports_stream_a_named_file_for_controllers,
    planned_staffing_is_imported_whole_and_compared_with_the_need,
    a_ward_that_just_emptied_is_listed_empty_and_an_old_one_is_not,
    ward_totals_are_the_sums_of_the_scored_patients,
    cached_responses_go_gzipped_to_clients_that_accept_it,
    history_defaults_to_120_hours_and_checks_its_range,
    a_patient_says_what_changed_since_the_previous_hour,
    the_forecast_has_eight_hours_that_add_up,
    tokens_are_required_and_scoped,
    an_open_api_needs_no_token_and_a_missing_secret_names_its_token,
    client_errors_say_what_to_send_and_server_errors_say_nothing,
    the_hospital_compares_each_ward_with_its_own_hour_of_week,
    a_young_ward_is_compared_with_its_hour_of_day_until_weeks_exist,
    openapi_documents_every_route_of_the_router,
    metrics_count_requests_and_show_the_latest_run,
    the_rate_limit_answers_429_with_retry_after_per_client,
    readiness_follows_the_runs,
    serve_answers_on_a_real_socket_and_shuts_down,
    spawn_serve_answers_from_a_runtime_of_its_own,
    half_open_connections_are_cut_off_and_health_keeps_answering,
    cors_is_off_unless_configured_and_large_bodies_are_refused,
    admin_routes_show_weights_runs_and_audit,
    every_client_error_is_json_with_a_hint,
    the_bearer_scheme_is_case_insensitive,
    pages_opened_with_a_token_in_the_query_are_not_stored,
);
