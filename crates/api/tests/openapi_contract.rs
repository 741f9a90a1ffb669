//! The API contract: what `/api/v1/openapi.json` says each route answers is
//! what it answers. The API is served on a loopback socket over a SQLite
//! store holding real data — `examples/ward-snapshot.json`'s patients moved
//! in time over [`HOURS`] hours, scored by the scoring core under the
//! built-in weights and written by `Store::write_hour` (as
//! `screen_browser.rs` builds its ward), a failed run among the good ones,
//! planned staffing — and every route of the route table is called: the
//! JSON ones (GET, and POST with a valid body) have their real response
//! validated with `jsonschema` against their schema in the served document,
//! with formats (`date-time`, `date`) checked; the HTML and metrics routes
//! must answer text of the media type the document names.
//!
//! A second validation closes every object schema (`unevaluatedProperties:
//! false`, on a copy: the served document stays open to new fields), so a
//! field the API writes but the schema does not declare fails too.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use careload_api::routes::{Media, Method, ROUTES, RouteSpec};
use careload_scoring::snapshot::Profession;
use careload_scoring::{Weights, rollup};
use careload_store::{Outcome, RunReport, Store};
use careload_testkit::TempDir;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

mod common;

/// Hours of history written.
const HOURS: i64 = 30;
const WARD: &str = "medicine-3";
/// The department it belongs to (issue 29).
const DEPARTMENT: &str = "medicine";
/// The hospital the department belongs to (issue 29).
const HOSPITAL: &str = "uas";

fn read(path: &str) -> String {
    std::fs::read_to_string(common::root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn weights() -> Weights {
    Weights::from_toml(&read("weights/2026.1.toml"), "weights/2026.1.toml").expect("weights 2026.1")
}

fn today(hour: DateTime<Utc>) -> NaiveDate {
    hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive()
}

/// [`HOURS`] hours up to `current`: 20 patients of the example's medicine
/// ward in teams A, B and C (admitted along the way, fewer activities at
/// night) and the example's geriatric ward; a failed run before the last
/// hour; planned staffing for both days' shifts.
async fn fill(store: &Store, weights: &Weights, current: DateTime<Utc>) {
    let example = common::ExampleWard::new(WARD, HOURS);
    store.record_weights(weights).await.expect("record weights");
    for h in 0..HOURS {
        let hour = current - Duration::hours(HOURS - 1 - h);
        if h == HOURS - 1 {
            let failed = store.begin_run("fhir").await.expect("begin run");
            let report = RunReport {
                error: Some("the FHIR server answered 503".into()),
                ..RunReport::default()
            };
            store
                .finish_run(failed, Outcome::Failed, &report)
                .await
                .expect("finish run");
        }
        let run = store.begin_run("fhir").await.expect("begin run");
        let pairs = example.hour(h, hour, weights);
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        store
            .write_hour(hour, run, &weights.meta.version, &pairs, &r)
            .await
            .expect("write hour");
        let report = RunReport {
            counts: [("Encounter".to_owned(), pairs.len() as u64)].into(),
            skipped: 1,
            ..RunReport::default()
        };
        store.finish_run(run, Outcome::Ok, &report).await.expect("finish run");
    }
    let day = today(current);
    let mut rows = Vec::new();
    for date in [day, day + Duration::days(1)] {
        for shift in ["day", "evening", "night"] {
            for (team, usk, ssk) in [("A", 1, 1), ("B", 3, 2), ("C", 3, 1)] {
                for (profession, planned) in [(Profession::Usk, usk), (Profession::Ssk, ssk)] {
                    rows.push(careload_planning::PlannedStaffing {
                        ward: WARD.into(),
                        team: Some(team.into()),
                        date,
                        shift: shift.into(),
                        profession,
                        planned,
                        absent: u32::from(team == "B" && profession == Profession::Usk),
                    });
                }
            }
        }
    }
    store
        .put_planned_staffing(&rows, "contract-test", "test")
        .await
        .expect("planned staffing");
}

/// A served API on a fresh SQLite store (filled when `filled`); the
/// directory goes when it is dropped.
struct Served {
    addr: SocketAddr,
    current: DateTime<Utc>,
    /// Removed after the server is told to stop.
    _dir: TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn serve(name: &str, filled: bool) -> Served {
    let dir = TempDir::new(&format!("contract-{name}"));
    let store = Store::connect(&dir.sqlite_url()).await.expect("store");
    let weights = weights();
    let current = careload_store::hour_of(Utc::now());
    if filled {
        fill(&store, &weights, current).await;
    }
    let config = careload_config::Config::from_toml(
        "[api]\nopen = true\n[hospitals.uas]\nname = \"Akademiska sjukhuset\"\n\
         [departments.medicine]\nname = \"Medicinkliniken\"\nhospital = \"uas\"\n\
         [wards.medicine-3]\nname = \"Avd 3 Medicin\"\nbeds = 22\ndepartment = \"medicine\"\n\
         [wards.geriatrics-1]\nname = \"Avd 1 Geriatrik\"\nbeds = 16\n",
        "test",
    )
    .expect("config");
    let state = careload_api::AppState::try_new(store, Arc::new(config), Arc::new(weights)).expect("app state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(careload_api::serve(listener, state, async {
        let _ = rx.await;
    }));
    Served {
        addr,
        current,
        _dir: dir,
        shutdown: Some(tx),
    }
}

/// One HTTP answer.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self, what: &str) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn unchunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size = std::str::from_utf8(&raw[..line_end]).expect("chunk size");
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).expect("hex chunk size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// `method path` over a fresh connection, with `body` of `content_type`.
async fn request(addr: SocketAddr, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Answer {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some((content_type, bytes)) = body {
        head.push_str(&format!(
            "Content-Type: {content_type}\r\nContent-Length: {}\r\n",
            bytes.len()
        ));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("write");
    if let Some((_, bytes)) = body {
        stream.write_all(bytes).await.expect("write body");
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a header");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let rest = &raw[split + 4..];
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        unchunk(rest)
    } else {
        rest.to_vec()
    };
    Answer {
        status,
        content_type: header("content-type").unwrap_or_default(),
        body,
    }
}

/// The served document.
async fn openapi(addr: SocketAddr) -> Value {
    let answer = request(addr, "GET", "/api/v1/openapi.json", None).await;
    assert_eq!(answer.status, 200);
    answer.json("openapi.json")
}

/// A validator of `schema` (a `$ref` into the document, or a schema
/// holding such refs) that resolves `#/components/schemas/…` in `doc`.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = schema.clone();
    root.as_object_mut()
        .expect("a schema object")
        .insert("components".into(), doc["components"].clone());
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("{schema} does not compile: {e}"))
}

/// What `instance` breaks of `schema`, one line per error.
fn errors(doc: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    validator(doc, schema)
        .iter_errors(instance)
        .map(|e| {
            let mut message = e.to_string();
            if message.len() > 300 {
                let cut = (0..=300).rev().find(|i| message.is_char_boundary(*i)).unwrap_or(0);
                message.truncate(cut);
                message.push('…');
            }
            format!("at {}: {message} (schema {})", e.instance_path(), e.schema_path())
        })
        .collect()
}

/// `doc` with every object schema that lists its properties closed to others.
fn closed(doc: &Value) -> Value {
    fn close(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties")
                    && !map.contains_key("additionalProperties")
                    && !map.contains_key("unevaluatedProperties")
                {
                    map.insert("unevaluatedProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(close);
            }
            Value::Array(items) => items.iter_mut().for_each(close),
            _ => {}
        }
    }
    let mut doc = doc.clone();
    close(&mut doc["components"]);
    doc
}

/// The request this test sends a route: method, path with query, body.
struct Call {
    path: String,
    body: Option<(&'static str, Vec<u8>)>,
}

/// A valid request for `r`. Every POST needs a recipe here, and so does a
/// GET that needs more than its path: a route added without one fails.
fn call_for(r: &RouteSpec, patient: &str, current: DateTime<Utc>) -> Call {
    let day = today(current);
    // bed 1 holds the example's first patient from the first hour on
    let id = if r.path.contains("/departments/") {
        DEPARTMENT
    } else if r.path.contains("/hospitals/") {
        HOSPITAL
    } else {
        WARD
    };
    let path = r
        .path
        .replace("{id}", id)
        .replace("{key}", patient)
        .replace("{bed}", "1");
    let (query, body): (String, Option<(&'static str, Vec<u8>)>) = match r.operation {
        "export" => (
            format!(
                "from={}&to={day}&level=team&grain=day&format=json&staffing=true&compare_last_year=true",
                day - Duration::days(1)
            ),
            None,
        ),
        "staffing" => (format!("ward={WARD}&from={day}&to={}", day + Duration::days(1)), None),
        "runs" | "audit" => ("limit=100".into(), None),
        "calibration_shifts" => ("format=json".into(), None),
        "ward_balance" => ("max_moves=5&allow_staff_move=true&pin=2".into(), None),
        "set_pin" => (
            String::new(),
            Some(("application/json", br#"{"patient": "1", "pinned": true}"#.to_vec())),
        ),
        "put_staffing" => (
            String::new(),
            Some((
                "application/json",
                json!({ "rows": [
                    { "ward": WARD, "team": "A", "date": day, "shift": "evening", "profession": "USK",
                      "planned": 2, "absent": 0 },
                    { "ward": WARD, "team": null, "date": day, "shift": "night", "profession": "SSK",
                      "planned": 1, "absent": 0 },
                ] })
                .to_string()
                .into_bytes(),
            )),
        ),
        "import_staffing_csv" => (
            String::new(),
            Some((
                "text/csv",
                format!("ward;team;date;shift;profession;planned;absent\n{WARD};C;{day};day;SSK;2;1\n").into_bytes(),
            )),
        ),
        "planning_import" => (
            String::new(),
            Some((
                "multipart/form-data; boundary=contract-test",
                format!(
                    "--contract-test\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plan.csv\"\r\n\
                     Content-Type: text/csv\r\n\r\nward;team;date;shift;profession;planned;absent\n\
                     {WARD};A;{day};night;USK;1;0\n\r\n--contract-test--\r\n"
                )
                .into_bytes(),
            )),
        ),
        "post_rating" => (
            String::new(),
            Some((
                "application/json",
                br#"{"rating": 1, "team": "A", "profession": "SSK"}"#.to_vec(),
            )),
        ),
        "rate_form" => (
            String::new(),
            Some((
                "application/x-www-form-urlencoded",
                b"team=&profession=USK&rating=-1".to_vec(),
            )),
        ),
        "import_ratings" => (
            String::new(),
            Some((
                "text/csv",
                format!(
                    "date;shift;team;profession;rating\n{};day;B;USK;0\n",
                    day - Duration::days(1)
                )
                .into_bytes(),
            )),
        ),
        // the FHIR output (issue 29): a day's hours, and ids the store has
        "fhir_measure_reports" | "fhir_observations" => (
            format!(
                "date=ge{}&_count=10",
                (current - Duration::hours(24)).format("%Y-%m-%dT%H:%M:%SZ")
            ),
            None,
        ),
        "fhir_measure_report" => {
            let id = careload_app::fhir_out::measure_report_id(WARD, current);
            return Call {
                path: format!("/fhir/r4/MeasureReport/{id}"),
                body: None,
            };
        }
        "fhir_observation" => {
            let key = careload_scoring::snapshot::PatientKey(patient.to_owned());
            let id = careload_app::fhir_out::observation_id(&key, current);
            return Call {
                path: format!("/fhir/r4/Observation/{id}"),
                body: None,
            };
        }
        "backtest_weights" => (
            format!("from={}&to={day}", day - Duration::days(1)),
            Some(("application/toml", read("examples/weights-candidate.toml").into_bytes())),
        ),
        other => {
            assert_eq!(
                r.method,
                Method::Get,
                "{other}: no request body for this POST; add one to call_for"
            );
            (String::new(), None)
        }
    };
    Call {
        path: if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        },
        body,
    }
}

/// The schema the document gives a route's success (`200`, or `201` for a
/// route that creates) answer in `mime`.
fn schema_of<'a>(doc: &'a Value, r: &RouteSpec, mime: &str) -> &'a Value {
    let status = r.success_status().to_string();
    let schema = &doc["paths"][r.path][r.method.key()]["responses"][status.as_str()]["content"][mime]["schema"];
    assert!(!schema.is_null(), "{} {}: no {mime} schema", r.method.key(), r.path);
    schema
}

/// Every JSON route of the route table answers a valid request with a body
/// its served schema accepts, open and closed; pages and metrics answer the
/// text the document names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_what_the_served_document_says() {
    let served = serve("routes", true).await;
    let doc = openapi(served.addr).await;
    let strict = closed(&doc);
    let ward = request(served.addr, "GET", &format!("/api/v1/wards/{WARD}"), None)
        .await
        .json("ward");
    let patient = ward["patients"][0]["key"].as_str().expect("a patient").to_owned();

    // writes first, so that the reads show what they wrote
    let mut routes: Vec<&RouteSpec> = ROUTES.iter().collect();
    routes.sort_by_key(|r| r.method == Method::Get);
    let mut failures = Vec::new();
    let mut validated = BTreeSet::new();
    for r in routes {
        let call = call_for(r, &patient, served.current);
        let method = r.method.key().to_ascii_uppercase();
        let body = call.body.as_ref().map(|(t, b)| (*t, b.as_slice()));
        if let Some(("application/json", sent)) = body {
            // the document accepts the valid request this test sends
            let schema = &doc["paths"][r.path][r.method.key()]["requestBody"]["content"]["application/json"]["schema"];
            let sent: Value = serde_json::from_slice(sent).expect("a JSON body");
            for e in errors(&doc, schema, &sent) {
                failures.push(format!("{method} {} request body: {e}", r.path));
            }
        }
        let answer = request(served.addr, &method, &call.path, body).await;
        let what = format!("{method} {}", call.path);
        if answer.status != r.success_status() {
            failures.push(format!(
                "{what}: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ));
            continue;
        }
        let mime = match r.media {
            Media::Export | Media::Table => "application/json", // asked for with format=json (or by default)
            media => media.mime(),
        };
        if !answer.content_type.starts_with(mime) {
            failures.push(format!(
                "{what}: answered {} where the document says {mime}",
                answer.content_type
            ));
        }
        let schema = schema_of(&doc, r, mime);
        match r.media {
            Media::Json | Media::Export | Media::Table | Media::Fhir => {
                let instance = answer.json(&what);
                for e in errors(&doc, schema, &instance) {
                    failures.push(format!("{what} ({}): {e}", r.response));
                }
                for e in errors(&strict, schema, &instance) {
                    failures.push(format!(
                        "{what} ({}), a field the schema does not declare: {e}",
                        r.response
                    ));
                }
                validated.insert(r.response);
            }
            Media::Html | Media::Text => {
                let name = schema["$ref"].as_str().and_then(|s| s.rsplit('/').next()).unwrap_or("");
                let component = &doc["components"]["schemas"][name];
                let media_type = component["contentMediaType"].as_str().unwrap_or("-");
                if component["type"] != "string" || !mime.starts_with(media_type) {
                    failures.push(format!("{what}: {mime} is text, not this JSON schema: {component}"));
                }
                if std::str::from_utf8(&answer.body).is_err() {
                    failures.push(format!("{what}: not text"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "answers the schemas refuse:\n{}",
        failures.join("\n")
    );
    // every JSON response schema met a real answer
    for r in ROUTES.iter().filter(|r| matches!(r.media, Media::Json | Media::Fhir)) {
        assert!(validated.contains(r.response), "{} was not validated", r.response);
    }

    // The data reached what the schemas have to describe: not empty lists.
    let runs = request(served.addr, "GET", "/api/v1/runs?limit=100", None)
        .await
        .json("runs");
    assert!(
        runs.as_array()
            .is_some_and(|r| r.iter().any(|run| run["outcome"] == "failed")),
        "a failed run among the runs"
    );
    let detail = request(served.addr, "GET", &format!("/api/v1/patients/{patient}"), None)
        .await
        .json("patient");
    assert!(detail["change"].is_object(), "the patient was there the hour before");
    assert!(detail["contributions"].as_array().is_some_and(|c| c.len() > 3));
    let pins = request(served.addr, "GET", &format!("/api/v1/wards/{WARD}/pins"), None)
        .await
        .json("pins");
    assert_eq!(pins["pins"].as_array().map(Vec::len), Some(1), "{pins}");
}

/// The schemas say something: none is a bare object, every object schema
/// requires its fields, array answers are arrays, the ward view requires
/// its main fields, and every `$ref` resolves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_schemas_are_specific() {
    let served = serve("schemas", false).await;
    let doc = openapi(served.addr).await;
    let schemas = doc["components"]["schemas"].as_object().expect("components.schemas");
    let mut problems = Vec::new();
    let mut names: BTreeSet<&str> = ROUTES.iter().map(|r| r.response).collect();
    names.extend(ROUTES.iter().filter_map(|r| r.body.map(|b| b.schema)));
    names.insert("Error");
    for name in &names {
        if !schemas.contains_key(*name) {
            problems.push(format!("{name} is not under components.schemas"));
        }
    }
    for (name, schema) in schemas {
        let mut keys: Vec<&str> = schema
            .as_object()
            .map_or(Vec::new(), |o| o.keys().map(String::as_str).collect());
        keys.retain(|k| *k != "description");
        if keys == ["type"] {
            problems.push(format!("{name} is bare: {schema}"));
        } else if schema.get("type") == Some(&json!("object")) && schema.get("properties").is_none() {
            problems.push(format!("{name} is an object without properties: {schema}"));
        }
        if schema.get("properties").is_some() && schema["required"].as_array().is_none_or(|r| r.is_empty()) {
            problems.push(format!("{name} requires nothing: {schema}"));
        }
        // every $ref resolves (compiling resolves them all)
        let _ = validator(&doc, &json!({ "$ref": format!("#/components/schemas/{name}") }));
    }
    for name in ["Runs", "WeightsVersions", "AuditEntries"] {
        if schemas.get(name).is_none_or(|s| s["type"] != "array") {
            problems.push(format!("{name} is not an array: {:?}", schemas.get(name)));
        }
    }
    let required: Vec<&str> = schemas
        .get("WardView")
        .and_then(|s| s["required"].as_array())
        .map_or(Vec::new(), |r| r.iter().filter_map(Value::as_str).collect());
    for field in ["id", "name", "state", "totals", "beds", "teams", "patients"] {
        if !required.contains(&field) {
            problems.push(format!("WardView must require {field}: {required:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // An empty hospital is still a valid hospital.
    let hospital = request(served.addr, "GET", "/api/v1/hospital", None)
        .await
        .json("hospital");
    assert_eq!(
        errors(
            &doc,
            &json!({ "$ref": "#/components/schemas/HospitalOverview" }),
            &hospital
        ),
        Vec::<String>::new()
    );
}

/// Error answers are the `Error` schema: a 404, a 400 and a 422.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_answers_match_the_error_schema() {
    let served = serve("errors", false).await;
    let doc = openapi(served.addr).await;
    let error = json!({ "$ref": "#/components/schemas/Error" });
    for (method, path, body, status) in [
        ("GET", "/api/v1/wards/nowhere", None, 404),
        ("GET", "/api/v1/runs?limit=0", None, 400),
        (
            "POST",
            "/api/v1/staffing",
            Some(("application/json", &b"{\"rows\": 3}"[..])),
            422,
        ),
    ] {
        let answer = request(served.addr, method, path, body).await;
        assert_eq!(answer.status, status, "{method} {path}");
        let instance = answer.json(path);
        assert_eq!(
            errors(&doc, &error, &instance),
            Vec::<String>::new(),
            "{path}: {instance}"
        );
        assert_eq!(errors(&closed(&doc), &error, &instance), Vec::<String>::new(), "{path}");
    }
}
