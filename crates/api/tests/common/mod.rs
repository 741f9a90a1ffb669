//! What the API's test binaries share: a patient snapshot built by hand;
//! the example ward (`examples/ward-snapshot.json`) moved in time and
//! scored hour by hour; and the small world the route tests (`views`,
//! `planning`, `access`, `service`, `admin`) run against — two configured
//! wards, four hand-made patients scored by the real scoring core under the
//! built-in weights, six hours of history and four past weeks for the
//! indicator, tokens of every role — with the requests they send through
//! the real router (`tower::ServiceExt::oneshot`). Each binary uses part of it.

#![allow(dead_code, clippy::expect_used)] // shared by binaries that each use part; test helpers may panic

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use careload_api::AppState;
use careload_config::{Config, Role, TokenConfig, WardConfig};
use careload_scoring::snapshot::{
    Activity, ActivityStatus, Dosing, MedicationOrder, News2Observation, Norton, NortonActivity, Order, PatientKey,
    Route, Sex,
};
use careload_scoring::{Rollup, Score, Snapshot, Weights, Window, rollup, score, score_now};
use careload_store::{Outcome, RunReport, Store, hour_of};
use chrono::{DateTime, Duration, TimeZone, Utc};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// The medicine ward's teams in the example ward.
pub(crate) const TEAMS: [&str; 3] = ["A", "B", "C"];

/// The repository's root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A patient on `ward`, `team`, `bed` at `hour` (as of five past, admitted
/// three days before): a woman born 1944 with a Norton assessment six hours old.
pub(crate) fn patient(key: &str, ward: &str, team: &str, bed: &str, hour: DateTime<Utc>) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let mut s = Snapshot::new(PatientKey(key.into()), as_of, as_of - Duration::days(3), ward);
    s.placement.team = Some(team.into());
    s.placement.bed = Some(bed.into());
    s.sex = Sex::Female;
    s.birth_year = Some(1944);
    s.norton = Some(Norton {
        activity: NortonActivity::WalksWithHelp,
        total: Some(15),
        assessed_at: as_of - Duration::hours(6),
    });
    s
}

/// Shifts every RFC 3339 timestamp in a JSON value by `delta`.
pub(crate) fn shift_times(value: &mut Value, delta: Duration) {
    match value {
        Value::String(s) => {
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                *s = (t.with_timezone(&Utc) + delta).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shift_times(v, delta)),
        Value::Object(map) => map.values_mut().for_each(|v| shift_times(v, delta)),
        _ => {}
    }
}

/// The example ward's patients, moved in time.
pub(crate) struct ExampleWard {
    templates: Vec<Value>,
    template_hour: DateTime<Utc>,
    /// The medicine ward's id.
    pub(crate) ward: String,
    /// Patient `i` of the medicine ward is admitted at hour `(i × 7) mod admitted_over`.
    pub(crate) admitted_over: i64,
}

impl ExampleWard {
    /// The example of `examples/ward-snapshot.json` with its medicine ward named `ward`.
    pub(crate) fn new(ward: &str, admitted_over: i64) -> ExampleWard {
        let text = std::fs::read_to_string(root().join("examples/ward-snapshot.json")).expect("examples");
        ExampleWard {
            templates: serde_json::from_str(&text).expect("example snapshots"),
            template_hour: Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().expect("hour"),
            ward: ward.to_owned(),
            admitted_over,
        }
    }

    /// Hour `h` (from 0) of the story, at `hour`: 20 patients of the
    /// medicine ward in teams A, B and C (admitted along the way, fewer
    /// activities and medications at night) and the example's geriatric
    /// ward, each scored under `weights`.
    pub(crate) fn hour(&self, h: i64, hour: DateTime<Utc>, weights: &Weights) -> Vec<(Snapshot, Score)> {
        let mut pairs = Vec::new();
        for i in 0..23usize {
            let medicine = i < 20;
            if medicine && h < ((i * 7) % (self.admitted_over as usize)) as i64 {
                continue; // not admitted yet
            }
            let template = if medicine {
                i % self.templates.len()
            } else {
                5 + (i - 20)
            };
            let mut value = self.templates[template % self.templates.len()].clone();
            shift_times(&mut value, hour - self.template_hour);
            let mut snapshot: Snapshot = serde_json::from_value(value).expect("a snapshot");
            snapshot.key = PatientKey(format!("{:064x}", 0xca7e_10ad_u64 + i as u64));
            if medicine {
                snapshot.placement.ward = self.ward.clone();
                snapshot.placement.team = Some(TEAMS[i * 3 / 20].to_owned());
                snapshot.placement.bed = Some((i + 1).to_string());
            }
            // Care varies over the day: fewer open activities and orders at night.
            let phase = (h as usize + i * 5) % 24;
            let keep = |n: usize| (n * (6 + phase.min(24 - phase)) / 18).min(n);
            let n = keep(snapshot.activities.len());
            snapshot.activities.truncate(n);
            let n = keep(snapshot.medications.len());
            snapshot.medications.truncate(n);
            let scored = score(&snapshot, weights, Window::hour(hour));
            pairs.push((snapshot, scored));
        }
        pairs
    }
}

// ------------------------------------------------ the route tests' world

/// The built-in weights file.
pub(crate) const WEIGHTS: &str = include_str!("../../../../weights/2026.1.toml");
/// The secrets of the world's tokens, one per role (the screen token may read w1 only).
pub(crate) const SCREEN: &str = "screen-secret-w1";
pub(crate) const STAFF: &str = "staffing-secret";
pub(crate) const ADMIN: &str = "admin-secret";
pub(crate) const CONTROLLER: &str = "controller-secret";

/// The built-in weights, parsed.
pub(crate) fn weights() -> Weights {
    Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights 2026.1")
}

/// Two wards (w1 named, with ten beds and team a named; w2 bare) and a
/// token of each role, its secret read through [`env`].
pub(crate) fn config() -> Config {
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
        departments: Vec::new(),
        hospitals: Vec::new(),
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

/// The tokens' secrets, as the service would read them from the environment.
pub(crate) fn env(key: &str) -> Option<String> {
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
pub(crate) fn patient_with_care(
    key: &str,
    ward: &str,
    team: &str,
    bed: &str,
    hour: DateTime<Utc>,
    news2: u8,
) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let mut s = patient(key, ward, team, bed, hour);
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

/// Each snapshot scored now under `w`, and their roll-up.
pub(crate) fn scored(w: &Weights, snapshots: Vec<Snapshot>) -> (Vec<(Snapshot, Score)>, Rollup) {
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
pub(crate) fn news2_of_a(k: i64) -> u8 {
    if k == 0 { 7 } else { 1 }
}

/// Hour offset `k`'s patients: three on w1 (teams a and b), one on w2.
pub(crate) fn hour_patients(hour: DateTime<Utc>, k: i64) -> Vec<Snapshot> {
    vec![
        patient_with_care("pa", "w1", "a", "1", hour, news2_of_a(k)),
        patient_with_care("pb", "w1", "a", "2", hour, 0),
        patient_with_care("pc", "w1", "b", "3", hour, 3),
        patient_with_care("pd", "w2", "c", "1", hour, 2),
    ]
}

/// A store filled by [`world`], and what the tests compare it with.
pub(crate) struct World {
    pub(crate) store: Store,
    pub(crate) weights: Arc<Weights>,
    /// The current hour.
    pub(crate) hour: DateTime<Utc>,
    /// The current hour's snapshots.
    pub(crate) now: Vec<Snapshot>,
}

/// One successful run writing `snapshots` as `hour`.
pub(crate) async fn write(store: &Store, w: &Weights, hour: DateTime<Utc>, snapshots: Vec<Snapshot>) {
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
pub(crate) async fn world(store: Store) -> World {
    let w = weights();
    store.record_weights(&w).await.expect("record weights");
    let hour = hour_of(Utc::now());
    let tz: chrono_tz::Tz = chrono_tz::Europe::Stockholm;
    for past in careload_app::query::same_hour_of_week(hour, &tz, 4) {
        write(&store, &w, past, vec![patient_with_care("pb", "w1", "a", "2", past, 0)]).await;
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

/// The API state over the world's store with `config`.
pub(crate) fn state_with(world: &World, config: Config) -> AppState {
    AppState::with_env(world.store.clone(), Arc::new(config), world.weights.clone(), env).expect("state")
}

/// A GET of `path` with `token` as its bearer and `headers` besides:
/// status, headers and the body's bytes as sent.
pub(crate) async fn get_raw(
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

/// A GET of `path` with `token`: status, headers and the body as text.
pub(crate) async fn call(
    app: &axum::Router,
    path: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let (status, headers, body) = get_raw(app, path, token, &[]).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// A GET of `path` with `token` that must answer 200: the body as JSON.
pub(crate) async fn json(app: &axum::Router, path: &str, token: Option<&str>) -> Value {
    let (status, _, body) = call(app, path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    serde_json::from_str(&body).expect("json")
}

/// Points in a JSON number, as thousandths.
pub(crate) fn milli(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 1000.0).round() as i64
}

/// A POST of `body` as `content_type` to `path` with `token`: status and body.
pub(crate) async fn post(
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
