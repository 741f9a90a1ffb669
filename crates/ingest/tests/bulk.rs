//! The Bulk Data source over real HTTP on loopback: against the simulated
//! hospital's `$export` (the result must equal reading the same hospital's
//! NDJSON, in full and incrementally with `_since`), and against small fake
//! servers that misbehave in one way each.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use careload_ingest::{
    BulkConfig, BulkLevel, Error, FhirClient, Mapping, PseudonymKey, RestConfig, apply_bulk_changes, bulk_fetch, map,
    read_path,
};
use careload_scoring::Snapshot;
use careload_sim::server;
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer};
use chrono::{DateTime, Utc};
use serde_json::json;
use tokio::net::TcpListener;

const BEDS: u32 = 100;
const SEED: u64 = 5;

fn sim_config() -> SimConfig {
    SimConfig {
        beds: BEDS,
        ..SimConfig::new(SEED, "2026-11-23T09:00:00Z".parse().unwrap())
    }
}

struct Sim {
    base: String,
    sim: SharedSim,
    /// Dropping it stops the server.
    _served: server::Spawned,
}

async fn start_sim() -> Sim {
    let sim = SimServer::new(Hospital::new(sim_config()).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = server::spawn(listener, sim.clone()).unwrap();
    Sim {
        base: served.base_url(),
        sim,
        _served: served,
    }
}

fn snapshots(resources: &careload_ingest::Resources, as_of: DateTime<Utc>) -> Vec<Snapshot> {
    let (mut snaps, _) = map(resources, &Mapping::default(), &PseudonymKey::development(), as_of);
    snaps.sort_by(|a, b| a.key.cmp(&b.key));
    snaps
}

fn from_ndjson(hours: u32, as_of: DateTime<Utc>) -> Vec<Snapshot> {
    let mut h = Hospital::new(sim_config()).unwrap();
    h.advance_hours(hours);
    let dir = std::env::temp_dir().join(format!("careload-bulk-test-{}-{hours}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    h.write_ndjson(&dir).unwrap();
    let (resources, _) = read_path(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    snapshots(&resources, as_of)
}

fn fast(base: &str) -> RestConfig {
    RestConfig {
        request_timeout: Duration::from_secs(5),
        run_deadline: Duration::from_secs(60),
        max_retries: 2,
        backoff_base: Duration::from_millis(10),
        ..RestConfig::new(base)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_from_the_simulator_equals_its_ndjson_in_full_and_since() {
    let sim = start_sim().await;
    let config = fast(&sim.base);
    let client = FhirClient::new(&config).unwrap();
    let bulk = BulkConfig::default();

    let (mut held, full) = bulk_fetch(&client, &config, &bulk, None).await.unwrap();
    let t0 = sim.sim.now();
    assert_eq!(full.transaction_time, Some(t0));
    assert!(
        full.polls >= 2,
        "one poll in progress, then the manifest: {}",
        full.polls
    );
    assert_eq!(full.files, 9);
    assert!(
        full.read.skipped.is_empty(),
        "{:?}",
        &full.read.skipped[..3.min(full.read.skipped.len())]
    );
    let expected = from_ndjson(0, t0);
    assert!(expected.len() > 50);
    assert_eq!(snapshots(&held, t0), expected);

    // a group-level export has no Locations: they come by a REST search
    let group = BulkConfig {
        level: BulkLevel::Group("inpatients".into()),
        ..BulkConfig::default()
    };
    let (by_group, _) = bulk_fetch(&client, &config, &group, None).await.unwrap();
    assert_eq!(by_group.locations.len(), held.locations.len());
    assert_eq!(snapshots(&by_group, t0), expected);

    // an hour later, only what changed, merged, equals a full read
    let t1 = sim.sim.advance_hours(1);
    let (fresh, changed) = bulk_fetch(&client, &config, &bulk, full.transaction_time)
        .await
        .unwrap();
    assert_eq!(changed.transaction_time, Some(t1));
    assert!(changed.read.total_read() > 0);
    assert!(
        changed.read.total_read() < full.read.total_read() / 2,
        "{} of {}",
        changed.read.total_read(),
        full.read.total_read()
    );
    apply_bulk_changes(&mut held, fresh);
    assert_eq!(snapshots(&held, t1), from_ndjson(1, t1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_a_synchronous_or_bad_kickoff() {
    let sim = start_sim().await;
    let http = reqwest::Client::new();
    let r = http.get(format!("{}/$export", sim.base)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("respond-async"));
    let r = http
        .get(format!("{}/$export?_type=Banana", sim.base))
        .header("prefer", "respond-async")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let config = fast(&sim.base);
    let client = FhirClient::new(&config).unwrap();
    let e = bulk_fetch(
        &client,
        &config,
        &BulkConfig {
            level: BulkLevel::Group("nope".into()),
            ..BulkConfig::default()
        },
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Status { status: 404, .. }), "{e}");
    assert!(e.to_string().contains("Group/inpatients"), "{e}");
}

// ---- fault injection -------------------------------------------------------

/// What the fake server saw: method and path-and-query of each request.
type Log = Arc<Mutex<Vec<(String, String)>>>;

type Respond = Box<dyn Fn(&str, &str, usize, &str) -> Response + Send + Sync>;

struct Fake {
    log: Log,
    respond: Respond,
}

async fn handle(State(fake): State<Arc<Fake>>, req: Request) -> Response {
    let method = req.method().to_string();
    let uri = req.uri().to_string();
    let n = {
        let mut log = fake.log.lock().unwrap();
        log.push((method.clone(), uri.clone()));
        log.iter()
            .filter(|(m, u)| *m == method && u.split('?').next() == uri.split('?').next())
            .count()
            - 1
    };
    let origin = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (fake.respond)(&method, uri.split('?').next().unwrap_or(""), n, &origin)
}

/// A fake server; `respond(method, path, n-th time this method+path, host)`.
async fn start_fake(respond: impl Fn(&str, &str, usize, &str) -> Response + Send + Sync + 'static) -> (String, Log) {
    let log: Log = Arc::default();
    let fake = Arc::new(Fake {
        log: Arc::clone(&log),
        respond: Box::new(respond),
    });
    let app = axum::Router::new().fallback(handle).with_state(fake);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, log)
}

fn reply(status: u16, content_type: &str, body: String, extra: &[(&'static str, String)]) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    for (k, v) in extra {
        r.headers_mut().insert(*k, HeaderValue::from_str(v).unwrap());
    }
    r
}

fn outcome(text: &str) -> String {
    json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "processing", "diagnostics": text}]})
        .to_string()
}

fn accepted(host: &str) -> Response {
    reply(
        202,
        "application/fhir+json",
        outcome("accepted"),
        &[("content-location", format!("http://{host}/status/1"))],
    )
}

fn manifest(host: &str, with_error: bool) -> Response {
    let mut m = json!({
        "transactionTime": "2026-11-23T10:00:00.000Z",
        "request": format!("http://{host}/fhir/$export"),
        "requiresAccessToken": false,
        "output": [
            {"type": "Patient", "url": format!("http://{host}/files/patient.ndjson")},
            {"type": "Encounter", "url": format!("http://{host}/files/encounter.ndjson")}
        ],
        "error": []
    });
    if with_error {
        m["error"] = json!([{"type": "OperationOutcome", "url": format!("http://{host}/files/errors.ndjson")}]);
    }
    reply(200, "application/json", m.to_string(), &[])
}

/// Real FHIR R4 resources, one per line.
fn ndjson(path: &str) -> Response {
    let body = match path {
        "/files/patient.ndjson" => [
            json!({"resourceType": "Patient", "id": "p1", "meta": {"lastUpdated": "2026-11-23T09:30:00Z"}, "gender": "female", "birthDate": "1941-03-02"}),
            json!({"resourceType": "Patient", "id": "p2", "meta": {"lastUpdated": "2026-11-23T09:40:00Z"}, "gender": "male", "birthDate": "1950-07-14"}),
        ]
        .iter()
        .map(|v| v.to_string() + "\n")
        .collect::<String>(),
        "/files/encounter.ndjson" => json!({
            "resourceType": "Encounter", "id": "e1", "status": "in-progress",
            "meta": {"lastUpdated": "2026-11-23T09:50:00Z"},
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": "Patient/p1"},
            "period": {"start": "2026-11-22T14:00:00Z"}
        })
        .to_string(),
        "/files/errors.ndjson" => {
            let o = json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "processing", "diagnostics": "Observation/o9 could not be exported"}]});
            o.to_string() + "\n"
        }
        _ => return reply(404, "application/fhir+json", outcome("no such file"), &[]),
    };
    reply(200, "application/fhir+ndjson", body, &[])
}

fn deletes(log: &Log) -> usize {
    log.lock().unwrap().iter().filter(|(m, _)| m == "DELETE").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kickoff_refused_with_an_operation_outcome_is_a_clear_error() {
    let (base, log) = start_fake(|_, _, _, _| {
        reply(
            400,
            "application/fhir+json",
            outcome("_type Banana is not supported"),
            &[],
        )
    })
    .await;
    let config = fast(&base);
    let client = FhirClient::new(&config).unwrap();
    let e = bulk_fetch(&client, &config, &BulkConfig::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Status { status: 400, .. }), "{e}");
    assert!(e.to_string().contains("_type Banana is not supported"), "{e}");
    assert_eq!(log.lock().unwrap().len(), 1, "a 4xx is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_honour_retry_after_and_retry_a_5xx_then_read_the_manifest_and_its_errors() {
    let (base, log) = start_fake(|method, path, n, host| match (method, path) {
        ("GET", "/fhir/$export") => accepted(host),
        ("GET", "/status/1") => match n {
            0 => reply(202, "application/json", String::new(), &[("retry-after", "1".into())]),
            1 => reply(
                503,
                "application/fhir+json",
                outcome("busy"),
                &[("retry-after", "0".into())],
            ),
            _ => manifest(host, true),
        },
        ("DELETE", "/status/1") => reply(202, "application/json", String::new(), &[]),
        ("GET", p) => ndjson(p),
        _ => reply(405, "application/fhir+json", outcome("no"), &[]),
    })
    .await;
    let config = fast(&base);
    let client = FhirClient::new(&config).unwrap();
    let started = std::time::Instant::now();
    let since: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
    let (resources, report) = bulk_fetch(&client, &config, &BulkConfig::default(), Some(since))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(report.retries, 1);
    assert_eq!(report.polls, 2, "the retried 503 is part of the second poll");
    assert_eq!(report.files, 3);
    assert_eq!(resources.patients.len(), 2);
    assert_eq!(resources.encounters.len(), 1);
    assert_eq!(report.export_errors, 1);
    assert_eq!(report.read.skipped.len(), 1);
    assert!(
        report.read.skipped[0]
            .reason
            .contains("Observation/o9 could not be exported")
    );
    assert_eq!(report.transaction_time, Some("2026-11-23T10:00:00Z".parse().unwrap()));
    let log = log.lock().unwrap().clone();
    let kickoff = &log[0].1;
    assert!(kickoff.contains("_since=2026-11-23T09%3A00%3A00.000Z"), "{kickoff}");
    assert!(kickoff.contains("_type=Location%2CPatient%2CEncounter"), "{kickoff}");
    assert_eq!(
        log.iter().filter(|(m, _)| m == "DELETE").count(),
        1,
        "the export is deleted when read"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_past_the_deadline_is_cancelled_with_delete() {
    let (base, log) = start_fake(|method, path, _, host| match (method, path) {
        ("GET", "/fhir/$export") => accepted(host),
        ("GET", "/status/1") => reply(202, "application/json", String::new(), &[("retry-after", "1".into())]),
        ("DELETE", "/status/1") => reply(202, "application/json", String::new(), &[]),
        _ => reply(404, "application/fhir+json", outcome("no"), &[]),
    })
    .await;
    let config = RestConfig {
        run_deadline: Duration::from_millis(2500),
        ..fast(&base)
    };
    let client = FhirClient::new(&config).unwrap();
    let e = bulk_fetch(&client, &config, &BulkConfig::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Deadline { .. }), "{e}");
    assert!(e.to_string().contains("run_deadline"), "{e}");
    assert_eq!(deletes(&log), 1, "the export is cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_needs_the_token_on_another_origin_is_refused() {
    let (base, _log) = start_fake(|method, path, _, host| match (method, path) {
        ("GET", "/fhir/$export") => accepted(host),
        ("GET", "/status/1") => reply(
            200,
            "application/json",
            json!({"transactionTime": "2026-11-23T10:00:00Z", "requiresAccessToken": true,
                   "output": [{"type": "Patient", "url": "http://elsewhere.invalid/p.ndjson"}], "error": []})
            .to_string(),
            &[],
        ),
        _ => reply(202, "application/json", String::new(), &[]),
    })
    .await;
    let config = fast(&base);
    let client = FhirClient::new(&config).unwrap();
    let e = bulk_fetch(&client, &config, &BulkConfig::default(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Bulk(_)), "{e}");
    assert!(e.to_string().contains("another origin"), "{e}");
}
