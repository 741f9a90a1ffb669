//! The FHIR REST source over real HTTP on loopback: against the simulated
//! hospital's server (the result must equal reading the same hospital's
//! NDJSON), and against small fake servers that misbehave in one way each.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use careload_ingest::{Error, FhirClient, Mapping, PseudonymKey, RestConfig, fetch, map, read_path};
use careload_scoring::Snapshot;
use careload_sim::server;
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const BEDS: u32 = 120;
const SEED: u64 = 11;

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

/// The same hospital written as NDJSON and read from files.
fn from_ndjson(hours: u32, as_of: DateTime<Utc>) -> Vec<Snapshot> {
    let mut h = Hospital::new(sim_config()).unwrap();
    h.advance_hours(hours);
    let dir = std::env::temp_dir().join(format!("careload-rest-test-{}-{hours}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    h.write_ndjson(&dir).unwrap();
    let (resources, _) = read_path(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    snapshots(&resources, as_of)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_equals_ndjson_paged_or_not_and_since_reads_changes() {
    let sim = start_sim().await;
    let as_of = sim.sim.now();
    let expected = from_ndjson(0, as_of);
    assert!(expected.len() > 50, "{} snapshots", expected.len());

    // default pages
    let config = RestConfig::new(&sim.base);
    let client = FhirClient::new(&config).unwrap();
    let (full, report) = fetch(&client, &config, None).await.unwrap();
    assert_eq!(snapshots(&full, as_of), expected);
    assert_eq!(report.retries, 0);
    assert!(report.read.skipped.is_empty(), "{:?}", report.read.skipped);
    assert_eq!(report.read.total_read(), full.len());

    // small pages, one ward at a time, little concurrency: the same snapshots
    let mut wards: Vec<String> = full.locations.keys().filter(|id| !id.contains('-')).cloned().collect();
    assert!(wards.len() >= 4, "{wards:?}");
    // a ward the server does not have: no stay, reported
    wards.push("w-nowhere".to_owned());
    let small = RestConfig {
        page_size: 37,
        batch_size: 7,
        concurrency: 2,
        wards,
        ..RestConfig::new(&sim.base)
    };
    let (paged, paged_report) = fetch(&FhirClient::new(&small).unwrap(), &small, None).await.unwrap();
    assert_eq!(snapshots(&paged, as_of), expected);
    assert_eq!(paged_report.empty_wards, ["w-nowhere"]);
    // the server's clock: the Bundles' meta.lastUpdated, the simulated present
    assert_eq!(report.server_time, Some(as_of));
    assert!(
        paged_report.pages > report.pages * 3,
        "{} vs {}",
        paged_report.pages,
        report.pages
    );
    assert_eq!(paged_report.requests, paged_report.pages);

    // one hour later, only what changed since the previous present
    let advanced: Value = reqwest::Client::new()
        .post(sim.base.replace("/fhir", "/sim/advance?hours=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(advanced["advancedHours"], 1, "{advanced}");
    let (after, _) = fetch(&client, &config, None).await.unwrap();
    let (changed, changed_report) = fetch(&client, &config, Some(as_of)).await.unwrap();
    let clinical = |r: &careload_ingest::Resources| {
        r.tasks.len()
            + r.medication_requests.len()
            + r.observations.len()
            + r.service_requests.len()
            + r.care_plans.len()
            + r.conditions.len()
    };
    assert!(clinical(&changed) > 0);
    assert!(
        clinical(&changed) * 2 < clinical(&after),
        "{} changed of {}",
        clinical(&changed),
        clinical(&after)
    );
    let ids = |m: &dyn Fn(&careload_ingest::Resources) -> BTreeSet<String>, r| m(r);
    let obs = |r: &careload_ingest::Resources| r.observations.keys().cloned().collect::<BTreeSet<_>>();
    let tasks = |r: &careload_ingest::Resources| r.tasks.keys().cloned().collect::<BTreeSet<_>>();
    for which in [&obs as &dyn Fn(&careload_ingest::Resources) -> BTreeSet<String>, &tasks] {
        let before = ids(which, &full);
        let now = ids(which, &after);
        let inc = ids(which, &changed);
        let new: BTreeSet<_> = now.difference(&before).cloned().collect();
        assert!(!new.is_empty());
        assert!(new.is_subset(&inc), "new ones missing from the incremental fetch");
        assert!(inc.is_subset(&now));
    }
    assert!(changed_report.read.total_read() < report.read.total_read());
    // and the advanced server still equals its NDJSON
    let as_of = sim.sim.now();
    assert_eq!(snapshots(&after, as_of), from_ndjson(1, as_of));
}

// ---- fault injection -------------------------------------------------------

type Reply = Pin<Box<dyn Future<Output = Response> + Send>>;

/// A fake FHIR server: `respond(n, uri)` answers the n-th request (from 0).
struct Fake {
    hits: AtomicUsize,
    respond: Box<dyn Fn(usize, String) -> Reply + Send + Sync>,
}

async fn handle(State(fake): State<Arc<Fake>>, req: Request) -> Response {
    let n = fake.hits.fetch_add(1, Ordering::SeqCst);
    (fake.respond)(n, req.uri().to_string()).await
}

async fn start_fake(respond: impl Fn(usize, String) -> Reply + Send + Sync + 'static) -> (String, Arc<Fake>) {
    let fake = Arc::new(Fake {
        hits: AtomicUsize::new(0),
        respond: Box::new(respond),
    });
    let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&fake));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, fake)
}

fn reply(status: u16, content_type: &str, body: String, extra: &[(&'static str, &'static str)]) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    for (k, v) in extra {
        r.headers_mut().insert(*k, HeaderValue::from_static(v));
    }
    r
}

const FHIR: &str = "application/fhir+json; fhirVersion=4.0";

fn empty_bundle() -> String {
    json!({"resourceType": "Bundle", "type": "searchset", "total": 0}).to_string()
}

fn outcome(text: &str) -> String {
    json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "processing", "diagnostics": text}]})
        .to_string()
}

fn ok() -> Response {
    reply(200, FHIR, empty_bundle(), &[])
}

/// What a case must end in.
enum Expect {
    /// Success with this many retries (and at least this wait).
    Ok { retries: u64, at_least: Duration },
    /// An error whose message holds every needle, after this many requests.
    Err {
        kind: fn(&Error) -> bool,
        needles: &'static [&'static str],
        requests: usize,
    },
}

fn faulty_config(base: &str) -> RestConfig {
    RestConfig {
        request_timeout: Duration::from_millis(250),
        run_deadline: Duration::from_secs(5),
        max_retries: 2,
        backoff_base: Duration::from_millis(10),
        ..RestConfig::new(base)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_has_its_documented_outcome() {
    type Case = (&'static str, fn(usize, String) -> Reply, Expect);
    let cases: Vec<Case> = vec![
        (
            "500 then OK is retried",
            |n, _| {
                Box::pin(async move {
                    if n == 0 {
                        reply(500, FHIR, outcome("busy"), &[])
                    } else {
                        ok()
                    }
                })
            },
            Expect::Ok {
                retries: 1,
                at_least: Duration::ZERO,
            },
        ),
        (
            "429 with Retry-After: 1 waits a second",
            |n, _| {
                Box::pin(async move {
                    if n == 0 {
                        reply(429, FHIR, outcome("slow down"), &[("retry-after", "1")])
                    } else {
                        ok()
                    }
                })
            },
            Expect::Ok {
                retries: 1,
                at_least: Duration::from_secs(1),
            },
        ),
        (
            "503 every time fails after the retries",
            |_, _| Box::pin(async { reply(503, FHIR, outcome("down for maintenance"), &[]) }),
            Expect::Err {
                kind: |e| matches!(e, Error::Status { status: 503, .. }),
                needles: &["127.0.0.1", "/fhir/", "503", "down for maintenance"],
                requests: 3,
            },
        ),
        (
            "a slow response times out, is retried, then fails naming the URL",
            |_, _| {
                Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    ok()
                })
            },
            Expect::Err {
                kind: |e| matches!(e, Error::Timeout { attempts: 3, .. }),
                needles: &["127.0.0.1", "/fhir/", "timed out"],
                requests: 3,
            },
        ),
        (
            "truncated JSON is not retried",
            |_, _| Box::pin(async { reply(200, FHIR, r#"{"resourceType":"Bundle","entry":[{"#.to_owned(), &[]) }),
            Expect::Err {
                kind: |e| matches!(e, Error::NotFhirResponse { .. }),
                needles: &["127.0.0.1", "/fhir/", "not valid JSON"],
                requests: 1,
            },
        ),
        (
            "an HTML page with 200",
            |_, _| {
                Box::pin(async {
                    reply(
                        200,
                        "text/html; charset=utf-8",
                        "<html><body>Login</body></html>".to_owned(),
                        &[],
                    )
                })
            },
            Expect::Err {
                kind: |e| matches!(e, Error::NotFhirResponse { .. }),
                needles: &["127.0.0.1", "/fhir/", "text/html"],
                requests: 1,
            },
        ),
        (
            "a wrong content type",
            |_, _| Box::pin(async { reply(200, "application/fhir+xml", "<Bundle/>".to_owned(), &[]) }),
            Expect::Err {
                kind: |e| matches!(e, Error::NotFhirResponse { .. }),
                needles: &["127.0.0.1", "/fhir/", "application/fhir+xml"],
                requests: 1,
            },
        ),
        (
            "JSON that is not a Bundle",
            |_, _| {
                Box::pin(async {
                    reply(
                        200,
                        FHIR,
                        json!({"resourceType": "Patient", "id": "p"}).to_string(),
                        &[],
                    )
                })
            },
            Expect::Err {
                kind: |e| matches!(e, Error::NotFhirResponse { .. }),
                needles: &["127.0.0.1", "/fhir/", "not a Bundle"],
                requests: 1,
            },
        ),
        (
            "400 with the reason in details.text, as HAPI and Medplum put it",
            |_, _| {
                Box::pin(async {
                    let outcome = json!({"resourceType": "OperationOutcome", "issue": [{
                        "severity": "error", "code": "invalid",
                        "details": {"text": "Unknown search parameter: nonsense",
                            "coding": [{"system": "http://example.org/codes", "code": "SP-1", "display": "Bad search"}]}}]});
                    reply(400, FHIR, outcome.to_string(), &[])
                })
            },
            Expect::Err {
                kind: |e| matches!(e, Error::Status { status: 400, .. }),
                needles: &[
                    "127.0.0.1",
                    "/fhir/",
                    "400",
                    "Unknown search parameter: nonsense",
                    "Bad search",
                ],
                requests: 1,
            },
        ),
        (
            "404 with an OperationOutcome is not retried and shows its diagnostics",
            |_, _| Box::pin(async { reply(404, FHIR, outcome("unknown resource type Location"), &[]) }),
            Expect::Err {
                kind: |e| matches!(e, Error::Status { status: 404, .. }),
                needles: &["127.0.0.1", "/fhir/", "404", "unknown resource type Location"],
                requests: 1,
            },
        ),
    ];
    for (name, respond, expect) in cases {
        let (base, fake) = start_fake(respond).await;
        let config = faulty_config(&base);
        let client = FhirClient::new(&config).unwrap();
        let started = std::time::Instant::now();
        let result = fetch(&client, &config, None).await;
        let elapsed = started.elapsed();
        let hits = fake.hits.load(Ordering::SeqCst);
        match expect {
            Expect::Ok { retries, at_least } => {
                let (resources, report) = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(resources.is_empty(), "{name}");
                assert_eq!(report.retries, retries, "{name}");
                // Location and Encounter searches, plus the retries
                assert_eq!(report.requests, 2 + retries, "{name}");
                assert!(elapsed >= at_least, "{name}: {elapsed:?}");
            }
            Expect::Err {
                kind,
                needles,
                requests,
            } => {
                let e = match result {
                    Ok(_) => panic!("{name}: succeeded"),
                    Err(e) => e,
                };
                assert!(kind(&e), "{name}: {e:?}");
                let text = e.to_string();
                for n in needles {
                    assert!(text.contains(n), "{name}: {text:?} lacks {n:?}");
                }
                // the Encounter search may have been started beside the Location one
                assert!(hits >= requests && hits <= requests * 2, "{name}: {hits} requests");
            }
        }
        assert!(elapsed < Duration::from_secs(4), "{name}: took {elapsed:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_deadline_stops_a_slow_server() {
    let (base, _fake) = start_fake(|_, _| {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            ok()
        })
    })
    .await;
    let config = RestConfig {
        request_timeout: Duration::from_secs(2),
        run_deadline: Duration::from_millis(300),
        ..faulty_config(&base)
    };
    let started = std::time::Instant::now();
    let e = fetch(&FhirClient::new(&config).unwrap(), &config, None)
        .await
        .expect_err("a deadline error");
    assert!(matches!(e, Error::Deadline { .. }), "{e:?}");
    assert!(e.to_string().contains("/fhir/"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_accept_header_asks_for_r4() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let app = {
        let seen = Arc::clone(&seen);
        axum::Router::new().fallback(move |req: Request| {
            let seen = Arc::clone(&seen);
            async move {
                let accept = req
                    .headers()
                    .get(header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                seen.lock().unwrap().push(accept);
                ok()
            }
        })
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let config = RestConfig::new(&base);
    fetch(&FhirClient::new(&config).unwrap(), &config, None).await.unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter().all(|a| a == "application/fhir+json; fhirVersion=4.0"),
        "{seen:?}"
    );
}

/// `fetch_changes`: the stays already held are searched from `since` on, a
/// stay new since then in full — its records may be older than `since`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_changes_reads_new_stays_in_full() {
    let sim = start_sim().await;
    let config = RestConfig::new(&sim.base);
    let client = FhirClient::new(&config).unwrap();
    let (full, _) = fetch(&client, &config, None).await.unwrap();

    // pretend one stay (with records) was admitted after the held state was fetched
    let (new_encounter, new_patient) = full
        .encounters
        .iter()
        .find_map(|(id, e)| {
            let patient = e
                .subject
                .as_ref()?
                .reference
                .as_deref()?
                .strip_prefix("Patient/")?
                .to_owned();
            let has_conditions = full
                .conditions
                .values()
                .any(|c| c.subject.as_deref() == Some(&*format!("Patient/{patient}")));
            let has_tasks = full
                .tasks
                .values()
                .any(|t| t.encounter.as_deref() == Some(&*format!("Encounter/{id}")));
            (has_conditions && has_tasks).then(|| (id.clone(), patient))
        })
        .expect("a stay with tasks and conditions");
    let mut held = full.clone();
    held.encounters.remove(&new_encounter);
    held.patients.remove(&new_patient);

    // later than every lastUpdated: nothing of the held stays is new
    let since = sim.sim.now() + chrono::Duration::hours(1);
    let (changed, _) = careload_ingest::fetch_changes(&client, &config, since, &held)
        .await
        .unwrap();
    let of_encounter = |r: &careload_ingest::Resources| {
        let reference = format!("Encounter/{new_encounter}");
        r.tasks
            .iter()
            .filter(|(_, t)| t.encounter.as_deref() == Some(reference.as_str()))
            .map(|(id, _)| id.clone())
            .collect::<BTreeSet<_>>()
    };
    let of_patient = |r: &careload_ingest::Resources| {
        let reference = format!("Patient/{new_patient}");
        r.conditions
            .iter()
            .filter(|(_, c)| c.subject.as_deref() == Some(reference.as_str()))
            .map(|(id, _)| id.clone())
            .collect::<BTreeSet<_>>()
    };
    assert!(!of_encounter(&changed).is_empty());
    assert_eq!(of_encounter(&changed), of_encounter(&full));
    assert_eq!(of_patient(&changed), of_patient(&full));
    // and only those: every other task or condition predates `since`
    assert_eq!(changed.tasks.len(), of_encounter(&full).len());
    assert_eq!(changed.conditions.len(), of_patient(&full).len());

    // merged over the held state (which lacks that stay), it is the full state again
    let mut merged = held;
    careload_ingest::Resources::merge(&mut merged, changed);
    assert_eq!(snapshots(&merged, sim.sim.now()), snapshots(&full, sim.sim.now()));
}

/// A next link to another origin: followed when careload has no token (a
/// server behind a proxy that declares another base), refused with a token
/// unless the origin is trusted, and the token goes to trusted origins only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_links_to_another_origin_are_followed_only_where_the_token_may_go() {
    // B: the other origin, serving the second page of Locations and recording the token it got
    let tokens = Arc::new(std::sync::Mutex::new(Vec::<Option<String>>::new()));
    let b = {
        let tokens = Arc::clone(&tokens);
        axum::Router::new().fallback(move |req: Request| {
            let tokens = Arc::clone(&tokens);
            async move {
                let auth = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                tokens.lock().unwrap().push(auth);
                let page = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
                    {"resource": {"resourceType": "Location", "id": "w2", "status": "active"}}]});
                reply(200, FHIR, page.to_string(), &[])
            }
        })
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b_origin = format!("http://localhost:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        let _ = axum::serve(listener, b).await;
    });
    // A: the base; its first Location page links to B (127.0.0.1 vs localhost: two origins)
    let next = format!("{b_origin}/fhir/Location?_page=2");
    let (base, _fake) = start_fake(move |_, uri| {
        let next = next.clone();
        Box::pin(async move {
            if uri.starts_with("/fhir/Location") {
                let page = json!({"resourceType": "Bundle", "type": "searchset",
                    "link": [{"relation": "next", "url": next}],
                    "entry": [{"resource": {"resourceType": "Location", "id": "w1", "status": "active"}}]});
                reply(200, FHIR, page.to_string(), &[])
            } else {
                ok()
            }
        })
    })
    .await;

    // no token: followed, nothing to leak
    let config = RestConfig::new(&base);
    let (got, _) = fetch(&FhirClient::new(&config).unwrap(), &config, None).await.unwrap();
    assert_eq!(got.locations.keys().collect::<Vec<_>>(), ["w1", "w2"]);
    assert_eq!(tokens.lock().unwrap().as_slice(), [None]);

    // a token: refused, naming the setting that allows it. (The token is
    // read from a variable every process has, so that no test sets one.)
    let var = "PATH";
    let token = std::env::var(var).unwrap().trim().to_owned();
    let with_token = RestConfig {
        token_env: Some(var.to_owned()),
        ..RestConfig::new(&base)
    };
    let e = fetch(&FhirClient::new(&with_token).unwrap(), &with_token, None)
        .await
        .expect_err("refused");
    assert!(matches!(e, Error::ForeignLink { .. }), "{e:?}");
    assert!(e.to_string().contains("trusted_origins"), "{e}");
    assert_eq!(tokens.lock().unwrap().len(), 1, "B was not asked");

    // a token and B trusted: followed, with the token
    let trusted = RestConfig {
        trusted_origins: vec![b_origin.clone()],
        ..with_token
    };
    let (got, _) = fetch(&FhirClient::new(&trusted).unwrap(), &trusted, None)
        .await
        .unwrap();
    assert_eq!(got.locations.len(), 2);
    assert_eq!(
        tokens.lock().unwrap().last().cloned().flatten().as_deref(),
        Some(&*format!("Bearer {token}"))
    );
}

/// A fake server with its own clock (three hours behind careload's) that
/// filters Observations by `_lastUpdated=ge`, and holds one stay.
struct Clocked {
    now: std::sync::Mutex<DateTime<Utc>>,
    observations: std::sync::Mutex<Vec<(String, DateTime<Utc>)>>,
    stamp_bundles: bool,
}

async fn start_clocked(stamp_bundles: bool) -> (String, Arc<Clocked>) {
    let state = Arc::new(Clocked {
        now: std::sync::Mutex::new(Utc::now() - chrono::Duration::hours(3)),
        observations: std::sync::Mutex::new(Vec::new()),
        stamp_bundles,
    });
    let app = {
        let state = Arc::clone(&state);
        axum::Router::new().fallback(move |req: Request| {
            let state = Arc::clone(&state);
            async move {
                let uri = req.uri().clone();
                let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                    .into_owned()
                    .collect();
                let param = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
                let now = *state.now.lock().unwrap();
                let entries: Vec<Value> = match uri.path() {
                    "/fhir/Location" => vec![json!({"resourceType": "Location", "id": "w1",
                        "physicalType": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/location-physical-type", "code": "wa"}]}})],
                    "/fhir/Encounter" => vec![
                        json!({"resourceType": "Encounter", "id": "e1", "status": "in-progress",
                            "class": {"code": "IMP"}, "subject": {"reference": "Patient/p1"},
                            "period": {"start": "2026-11-20T08:00:00Z"},
                            "location": [{"location": {"reference": "Location/w1"}, "status": "active"}]}),
                        json!({"resourceType": "Patient", "id": "p1"}),
                    ],
                    "/fhir/Observation" => {
                        assert_eq!(param("encounter").as_deref(), Some("Encounter/e1"), "typed: {uri}");
                        let since: Option<DateTime<Utc>> = param("_lastUpdated")
                            .and_then(|v| v.strip_prefix("ge").map(str::to_owned))
                            .map(|v| v.parse().unwrap());
                        state
                            .observations
                            .lock()
                            .unwrap()
                            .iter()
                            .filter(|(_, at)| since.is_none_or(|s| *at >= s))
                            .map(|(id, at)| {
                                json!({"resourceType": "Observation", "id": id, "status": "final",
                                    "meta": {"lastUpdated": at.to_rfc3339()},
                                    "code": {"coding": [{"system": "http://loinc.org", "code": "9279-1"}]},
                                    "subject": {"reference": "Patient/p1"}, "encounter": {"reference": "Encounter/e1"},
                                    "effectiveDateTime": at.to_rfc3339(), "valueInteger": 18})
                            })
                            .collect()
                    }
                    _ => Vec::new(),
                };
                let mut bundle = json!({"resourceType": "Bundle", "type": "searchset",
                    "entry": entries.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()});
                if state.stamp_bundles {
                    bundle["meta"] = json!({"lastUpdated": now.to_rfc3339()});
                }
                reply(200, FHIR, bundle.to_string(), &[])
            }
        })
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, state)
}

/// The next incremental fetch starts from the server's clock, less a margin:
/// a write the server stamped before a fetch but committed after it (so the
/// fetch did not see it, while it saw a later one) is read by the next.
/// Bounding by the latest `meta.lastUpdated` seen lost it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_fetches_start_from_the_servers_clock_and_lose_no_late_commit() {
    let (base, server) = start_clocked(true).await;
    let config = RestConfig::new(&base);
    let client = FhirClient::new(&config).unwrap();
    let t = |secs: i64| *server.now.lock().unwrap() + chrono::Duration::seconds(secs);
    let (t_seen, t_late) = (t(-10), t(-20));
    server.observations.lock().unwrap().push(("seen".to_owned(), t_seen));
    let (held, report) = fetch(&client, &config, None).await.unwrap();
    assert_eq!(held.observations.len(), 1);
    let server_time = *server.now.lock().unwrap();
    assert_eq!(report.server_time, Some(server_time), "the Bundle's meta.lastUpdated");
    assert_eq!(report.read.last_updated, Some(t_seen));
    let since = report.next_since(None, config.since_margin).unwrap();
    assert_eq!(since, server_time - chrono::Duration::minutes(5));

    // a transaction that began before the fetch commits after it; the server moves on
    server.observations.lock().unwrap().push(("late".to_owned(), t_late));
    *server.now.lock().unwrap() = server_time + chrono::Duration::minutes(60);
    let (changed, next) = careload_ingest::fetch_changes(&client, &config, since, &held)
        .await
        .unwrap();
    assert!(changed.observations.contains_key("late"), "the late commit was lost");
    // what the latest lastUpdated seen as the bound would have lost
    let (by_latest, _) = careload_ingest::fetch_changes(&client, &config, t_seen, &held)
        .await
        .unwrap();
    assert!(!by_latest.observations.contains_key("late"));
    // and the bound moves on with the server's clock, never careload's
    assert_eq!(
        next.next_since(Some(since), config.since_margin),
        Some(server_time + chrono::Duration::minutes(55))
    );
}

/// Without a Bundle `meta.lastUpdated`, the HTTP `Date` header is the server's clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_bundle_stamp_the_date_header_is_the_servers_clock() {
    let (base, _server) = start_clocked(false).await;
    let config = RestConfig::new(&base);
    let before = Utc::now() - chrono::Duration::seconds(2);
    let (_, report) = fetch(&FhirClient::new(&config).unwrap(), &config, None).await.unwrap();
    // axum writes Date from the machine's clock (this fake's own clock is only in its data)
    let date = report.server_time.expect("a Date header");
    assert!(date >= before && date <= Utc::now(), "{date}");
}

/// A ward search matches a stay's earlier locations too (a standard server
/// matches `location` on every entry): the fetch keeps only the stays that
/// lie under a configured ward now, and a ward whose patients have all moved
/// on is reported empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ward_search_keeps_only_the_stays_now_on_the_ward() {
    let pt = "http://terminology.hl7.org/CodeSystem/location-physical-type";
    let (base, _fake) = start_fake(move |_, uri| {
        Box::pin(async move {
            let loc = |id: &str, ty: &str, parent: Option<&str>| {
                let mut l = json!({"resourceType": "Location", "id": id,
                    "physicalType": {"coding": [{"system": pt, "code": ty}]}});
                if let Some(p) = parent {
                    l["partOf"] = json!({"reference": format!("Location/{p}")});
                }
                l
            };
            let entries: Vec<Value> = if uri.starts_with("/fhir/Location") {
                vec![
                    loc("w1", "wa", None),
                    loc("w1-b1", "bd", Some("w1")),
                    loc("w2", "wa", None),
                    loc("w2-b1", "bd", Some("w2")),
                ]
            } else if uri.starts_with("/fhir/Encounter") && (uri.contains("w1-b1") || uri.contains("w2-b1")) {
                // moved from w1 to w2 an hour ago: both entries match a location search
                vec![
                    json!({"resourceType": "Encounter", "id": "e1", "status": "in-progress",
                        "class": {"code": "IMP"}, "subject": {"reference": "Patient/p1"},
                        "period": {"start": "2026-11-20T08:00:00Z"},
                        "location": [
                            {"location": {"reference": "Location/w1-b1"}, "status": "completed",
                             "period": {"start": "2026-11-20T08:00:00Z", "end": "2026-11-23T08:00:00Z"}},
                            {"location": {"reference": "Location/w2-b1"}, "status": "active",
                             "period": {"start": "2026-11-23T08:00:00Z"}}]}),
                    json!({"resourceType": "Patient", "id": "p1"}),
                ]
            } else {
                Vec::new()
            };
            let bundle = json!({"resourceType": "Bundle", "type": "searchset",
                "entry": entries.into_iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()});
            reply(200, FHIR, bundle.to_string(), &[])
        })
    })
    .await;
    let fetch_wards = |wards: &[&str]| {
        let config = RestConfig {
            wards: wards.iter().map(|w| (*w).to_owned()).collect(),
            ..RestConfig::new(&base)
        };
        async move { fetch(&FhirClient::new(&config).unwrap(), &config, None).await.unwrap() }
    };
    let (on_w1, report) = fetch_wards(&["w1"]).await;
    assert!(on_w1.encounters.is_empty(), "the stay that left w1 is not w1's");
    assert!(on_w1.patients.is_empty());
    assert_eq!(report.empty_wards, ["w1"]);
    let (on_w2, report) = fetch_wards(&["w2"]).await;
    assert_eq!(on_w2.encounters.keys().collect::<Vec<_>>(), ["e1"]);
    assert_eq!(on_w2.patients.len(), 1);
    assert!(report.empty_wards.is_empty());
}
