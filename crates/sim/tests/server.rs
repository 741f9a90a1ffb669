//! The simulated hospital served over HTTP on loopback, checked with a real
//! HTTP client against the same hospital built in-process (the simulation is
//! deterministic, so a second `Hospital` with the same configuration is the
//! expected answer).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeSet, HashMap, HashSet};

use careload_sim::server::{self, MAX_COUNT};
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;

const BEDS: u32 = 120;
const SEED: u64 = 7;

fn config() -> SimConfig {
    SimConfig {
        beds: BEDS,
        ..SimConfig::new(SEED, "2026-11-23T09:00:00Z".parse().unwrap())
    }
}

/// The same hospital, in-process.
fn reference(hours: u32) -> Vec<Value> {
    let mut h = Hospital::new(config()).unwrap();
    h.advance_hours(hours);
    h.resources().collect()
}

fn key(v: &Value) -> (String, String) {
    (
        v["resourceType"].as_str().unwrap().to_owned(),
        v["id"].as_str().unwrap().to_owned(),
    )
}

fn by_key(resources: Vec<Value>) -> HashMap<(String, String), Value> {
    resources.into_iter().map(|v| (key(&v), v)).collect()
}

fn of_type<'a>(all: &'a [Value], ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    all.iter().filter(move |v| v["resourceType"] == ty)
}

fn last_updated(v: &Value) -> DateTime<Utc> {
    v["meta"]["lastUpdated"].as_str().unwrap().parse().unwrap()
}

struct Server {
    base: String,
    client: reqwest::Client,
    sim: SharedSim,
    /// Dropping it stops the server.
    _served: server::Spawned,
}

struct Reply {
    status: StatusCode,
    content_type: String,
    body: Value,
}

impl Server {
    async fn start() -> Server {
        let sim = SimServer::new(Hospital::new(config()).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let served = server::spawn(listener, sim.clone()).unwrap();
        Server {
            base: served.base_url(),
            client: reqwest::Client::new(),
            sim,
            _served: served,
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        let r = req.send().await.unwrap();
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|h| h.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        Reply {
            status,
            content_type,
            body,
        }
    }

    /// GET a path under the FHIR base.
    async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(format!("{}/{path}", self.base))).await
    }

    /// GET a search and expect a searchset Bundle.
    async fn bundle(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(r.body["type"], "searchset", "{path}");
        r.body
    }

    /// Follows `next` links from `path` to the end: (matches, pages, totals seen).
    async fn walk(&self, path: &str) -> (Vec<Value>, usize, BTreeSet<u64>) {
        let mut url = format!("{}/{path}", self.base);
        let mut out = Vec::new();
        let mut pages = 0;
        let mut totals = BTreeSet::new();
        loop {
            let r = self.send(self.client.get(&url)).await;
            assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.body);
            pages += 1;
            totals.insert(r.body["total"].as_u64().unwrap());
            for e in r.body["entry"].as_array().into_iter().flatten() {
                if e["search"]["mode"] == "match" {
                    out.push(e["resource"].clone());
                }
            }
            match next_link(&r.body) {
                Some(next) => {
                    assert!(next.starts_with(&self.base), "{next}");
                    url = next;
                }
                None => break,
            }
            assert!(pages < 10_000, "paging does not end");
        }
        (out, pages, totals)
    }

    async fn advance(&self, hours: u32) -> Reply {
        let url = self.base.replace("/fhir", &format!("/sim/advance?hours={hours}"));
        self.send(self.client.post(url)).await
    }
}

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_owned())
}

fn entries<'a>(bundle: &'a Value, mode: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |e| e["search"]["mode"] == mode)
        .map(|e| &e["resource"])
}

fn ids<'a>(resources: impl Iterator<Item = &'a Value>) -> BTreeSet<String> {
    resources.map(|v| v["id"].as_str().unwrap().to_owned()).collect()
}

fn ref_id(v: &Value) -> String {
    v["reference"].as_str().unwrap().rsplit('/').next().unwrap().to_owned()
}

/// `server::spawn` serves in the background, at the address and base URL
/// its handle gives, until the handle is stopped (which waits for the
/// server to finish) or dropped (which does not); then the port is closed.
#[tokio::test]
async fn a_spawned_server_serves_until_its_handle_is_stopped_or_dropped() {
    for stopped in [true, false] {
        let sim = SimServer::new(Hospital::new(config()).unwrap());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let served = server::spawn(listener, sim).unwrap();
        let (addr, base) = (served.addr(), served.base_url());
        assert_eq!(base, format!("http://{addr}/fhir"));
        let client = reqwest::Client::new();
        for (path, resource_type) in [
            ("metadata", "CapabilityStatement"),
            ("Encounter?status=in-progress&_count=1", "Bundle"),
        ] {
            let r = client.get(format!("{base}/{path}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            let body: Value = r.json().await.unwrap();
            assert_eq!(body["resourceType"], resource_type, "{path}");
        }
        if stopped {
            served.stop().await;
            assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "stopped");
        } else {
            drop(served);
            let mut closed = false;
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(addr).await.is_err() {
                    closed = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            assert!(closed, "still listening 5 s after the handle was dropped");
        }
    }
}

#[tokio::test]
async fn metadata_is_an_r4_capability_statement() {
    let s = Server::start().await;
    let r = s.get("metadata").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.content_type.starts_with("application/fhir+json"),
        "{}",
        r.content_type
    );
    let c = &r.body;
    assert_eq!(c["resourceType"], "CapabilityStatement");
    assert_eq!(c["fhirVersion"], "4.0.1");
    assert_eq!(c["kind"], "instance");
    assert!(c["format"].as_array().unwrap().iter().any(|f| f == "json"));
    assert_eq!(c["rest"][0]["mode"], "server");
    let resources = c["rest"][0]["resource"].as_array().unwrap();
    let find = |t: &str| {
        resources
            .iter()
            .find(|r| r["type"] == t)
            .unwrap_or_else(|| panic!("{t}"))
    };
    for t in careload_sim::RESOURCE_TYPES {
        let names: Vec<&str> = find(t)["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"_lastUpdated") && names.contains(&"_id"),
            "{t}: {names:?}"
        );
    }
    let list = |t: &str, field: &str| -> Vec<String> {
        find(t)[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    };
    for inc in ["Encounter:patient", "Encounter:location"] {
        assert!(list("Encounter", "searchInclude").contains(&inc.to_owned()), "{inc}");
    }
    for rev in ["Task:encounter", "Observation:encounter", "MedicationRequest:encounter"] {
        assert!(list("Encounter", "searchRevInclude").contains(&rev.to_owned()), "{rev}");
    }
}

#[tokio::test]
async fn read_returns_the_resource_or_a_404_operation_outcome() {
    let s = Server::start().await;
    let expected = by_key(reference(0));
    for (ty, id) in [("Encounter", "e000001"), ("Patient", "p000001"), ("Location", "w01")] {
        let r = s.get(&format!("{ty}/{id}")).await;
        assert_eq!(r.status, StatusCode::OK, "{ty}/{id}: {}", r.body);
        assert_eq!(r.content_type, "application/fhir+json; fhirVersion=4.0");
        assert_eq!(&r.body, &expected[&(ty.to_owned(), id.to_owned())], "{ty}/{id}");
    }
    let cases = [
        ("Encounter/nope", "does not exist"),
        ("Nope/1", "unknown resource type"),
        ("Nope", "unknown resource type"),
        ("Nope?_count=1", "unknown resource type"),
    ];
    for (path, phrase) in cases {
        let r = s.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.body["resourceType"], "OperationOutcome", "{path}");
        let text = r.body["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(text.contains(phrase), "{path}: {text}");
    }
}

#[tokio::test]
async fn paging_returns_every_in_progress_encounter_exactly_once() {
    let s = Server::start().await;
    let all = reference(0);
    let expected = ids(of_type(&all, "Encounter").filter(|e| e["status"] == "in-progress"));
    assert!(expected.len() > 50);
    for count in [7, 100, 1000] {
        let (got, pages, totals) = s.walk(&format!("Encounter?status=in-progress&_count={count}")).await;
        let got_ids: Vec<String> = got.iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect();
        assert_eq!(got_ids.len(), expected.len(), "_count={count}: duplicates or misses");
        assert!(got_ids.windows(2).all(|w| w[0] < w[1]), "sorted by id, each once");
        assert_eq!(got_ids.into_iter().collect::<BTreeSet<_>>(), expected);
        assert_eq!(totals, BTreeSet::from([expected.len() as u64]), "_count={count}");
        assert_eq!(pages, expected.len().div_ceil(count).max(1), "_count={count}");
    }
    // All resources of every type, paged at the maximum.
    for ty in careload_sim::RESOURCE_TYPES {
        let (got, _, _) = s.walk(&format!("{ty}?_count=1000")).await;
        assert_eq!(ids(got.iter()), ids(of_type(&all, ty)), "{ty}");
    }
}

#[tokio::test]
async fn count_is_bounded() {
    let s = Server::start().await;
    let all = reference(0);
    let observations = of_type(&all, "Observation").count();
    assert!(observations > MAX_COUNT);
    // (query, entries expected, next link expected)
    let cases = [
        ("Observation?_count=0", 0, false),
        ("Observation?_summary=count", 0, false),
        ("Observation?_count=1", 1, true),
        ("Observation", 100, true),
        ("Observation?_count=5000", MAX_COUNT, true),
        ("Location?_count=1000", of_type(&all, "Location").count(), false),
    ];
    for (q, n, next) in cases {
        let b = s.bundle(q).await;
        assert_eq!(entries(&b, "match").count(), n, "{q}");
        assert_eq!(next_link(&b).is_some(), next, "{q}");
        let ty = q.split('?').next().unwrap();
        assert_eq!(b["total"].as_u64(), Some(of_type(&all, ty).count() as u64), "{q}");
        if n == 0 {
            assert!(b.get("entry").is_none(), "{q}: no empty entry array");
        }
    }
    let b = s.bundle("Observation?_count=5000").await;
    assert!(next_link(&b).unwrap().contains("_count=1000"), "clamped in the links");
}

#[tokio::test]
async fn last_updated_after_an_advance_returns_exactly_what_changed() {
    let s = Server::start().await;
    let before = by_key(reference(0));
    let t0 = s.sim.now();
    let r = s.advance(3).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t1: DateTime<Utc> = r.body["now"].as_str().unwrap().parse().unwrap();
    assert_eq!(t1 - t0, chrono::Duration::hours(3));
    assert_eq!(s.sim.now(), t1);
    let after = reference(3);
    let changed: BTreeSet<(String, String)> = after
        .iter()
        .filter(|v| before.get(&key(v)) != Some(v))
        .map(key)
        .collect();
    let since = t0.to_rfc3339().replace('+', "%2B");
    let stamp = |k: &(String, String)| last_updated(&after.iter().find(|v| key(v) == *k).unwrap().clone());
    let mut gt = BTreeSet::new();
    let mut ge = BTreeSet::new();
    let mut older = 0;
    for ty in careload_sim::RESOURCE_TYPES {
        let (page, _, _) = s.walk(&format!("{ty}?_lastUpdated=gt{since}&_count=1000")).await;
        for v in &page {
            assert!(last_updated(v) > t0, "{:?} {}", key(v), v["meta"]);
        }
        gt.extend(page.iter().map(key));
        let (page, _, _) = s.walk(&format!("{ty}?_lastUpdated=ge{since}&_count=1000")).await;
        ge.extend(page.iter().map(key));
        let (rest, _, _) = s.walk(&format!("{ty}?_lastUpdated=le{since}&_count=1000")).await;
        older += rest.len();
    }
    // `ge` the previous present returns every change (and what was stamped at
    // exactly that instant); `gt` misses only changes stamped at exactly it.
    let missed: Vec<_> = changed.difference(&ge).take(10).collect();
    assert!(missed.is_empty(), "changed but not returned by ge: {missed:?}");
    let extra: Vec<_> = gt.difference(&changed).take(10).collect();
    assert!(extra.is_empty(), "returned by gt but unchanged: {extra:?}");
    for k in ge.difference(&changed).chain(changed.difference(&gt)) {
        assert_eq!(stamp(k), t0, "{k:?}");
    }
    assert_eq!(gt.len() + older, after.len(), "gt and le split everything");
    let got = gt;
    let admitted = got
        .iter()
        .filter(|(t, id)| t == "Encounter" && !before.contains_key(&(t.clone(), id.clone())))
        .count();
    assert!(admitted > 0, "new admissions are among the changes");
    // the date alone, and ranges ANDed
    let b = s
        .bundle(&format!(
            "Encounter?_lastUpdated=ge{since}&_lastUpdated=lt2100-01-01&_count=0"
        ))
        .await;
    assert_eq!(
        b["total"].as_u64(),
        Some(of_type(&after, "Encounter").filter(|v| last_updated(v) >= t0).count() as u64)
    );
}

#[tokio::test]
async fn location_search_matches_the_location_named_only_as_a_standard_server_does() {
    let s = Server::start().await;
    let all = reference(0);
    let inpatients: Vec<&Value> = of_type(&all, "Encounter")
        .filter(|e| e["status"] == "in-progress")
        .collect();
    let some_bed = ref_id(&inpatients[0]["location"][0]["location"]);
    let in_bed = ids(inpatients
        .iter()
        .copied()
        .filter(|e| ref_id(&e["location"][0]["location"]) == some_bed));
    assert!(!in_bed.is_empty());
    for query in [
        format!("location=Location/{some_bed}"),
        format!("location={some_bed}"),
        format!("location:Location={some_bed}"),
    ] {
        let (got, _, _) = s
            .walk(&format!("Encounter?status=in-progress&{query}&_count=1000"))
            .await;
        assert_eq!(ids(got.iter()), in_bed, "{query}");
    }
    // a ward, team or room holds no patient itself: nothing is found under it
    for query in ["location=Location/w01", "location=w02", "location=Location/w01-a"] {
        let (got, _, _) = s
            .walk(&format!("Encounter?status=in-progress&{query}&_count=1000"))
            .await;
        assert!(got.is_empty(), "{query}: {} found", got.len());
    }
    let r = s.get("Encounter?location:below=Location/w01").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    // and the tree itself
    let b = s.bundle("Location?partof=Location/w01&_count=1000").await;
    assert_eq!(
        ids(entries(&b, "match")),
        ids(of_type(&all, "Location").filter(|l| l.get("partOf").is_some_and(|p| p["reference"] == "Location/w01")))
    );
    let b = s.bundle("Location?type=http://snomed.info/sct|394579002").await;
    assert!(entries(&b, "match").count() >= 1);
}

#[tokio::test]
async fn a_bare_id_matches_only_where_the_parameter_has_one_target_type() {
    let s = Server::start().await;
    let all = reference(0);
    // a stay with tasks, medications, orders and observations
    let referred = |ty: &'static str| -> BTreeSet<String> {
        of_type(&all, ty)
            .filter(|r| r.get("encounter").is_some())
            .map(|r| ref_id(&r["encounter"]))
            .collect()
    };
    let (tasks, meds, orders, obs) = (
        referred("Task"),
        referred("MedicationRequest"),
        referred("ServiceRequest"),
        referred("Observation"),
    );
    let stay = of_type(&all, "Encounter")
        .filter(|e| e["status"] == "in-progress")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .find(|id| tasks.contains(id) && meds.contains(id) && orders.contains(id) && obs.contains(id))
        .expect("a stay with every kind of record");
    let patient = of_type(&all, "Encounter")
        .find(|e| e["id"] == stay.as_str())
        .map(|e| ref_id(&e["subject"]))
        .unwrap();
    let count = |ty: &str, q: String| {
        let (s, url) = (&s, format!("{ty}?{q}&_count=1000"));
        async move {
            let (got, _, _) = s.walk(&url).await;
            got.len()
        }
    };
    // R4 clinical-encounter (Observation, ServiceRequest) may point at an
    // EpisodeOfCare too, and every `subject` at a Group: bare ids find nothing
    for ty in ["Observation", "ServiceRequest"] {
        let typed = count(ty, format!("encounter=Encounter/{stay}")).await;
        assert_eq!(count(ty, format!("encounter:Encounter={stay}")).await, typed, "{ty}");
        assert_eq!(
            count(ty, format!("encounter={stay}")).await,
            0,
            "{ty}: a bare id matched"
        );
    }
    assert!(count("Observation", format!("encounter=Encounter/{stay}")).await > 0);
    assert!(count("ServiceRequest", format!("encounter=Encounter/{stay}")).await > 0);
    assert_eq!(count("Observation", format!("subject={patient}")).await, 0);
    assert!(count("Observation", format!("subject=Patient/{patient}")).await > 0);
    // one target type (Encounter, Patient): a bare id is read as that type
    for (ty, q) in [
        ("Task", format!("encounter={stay}")),
        ("MedicationRequest", format!("encounter={stay}")),
        ("Condition", format!("patient={patient}")),
    ] {
        let typed = q.replacen(
            '=',
            if q.starts_with("patient") {
                "=Patient/"
            } else {
                "=Encounter/"
            },
            1,
        );
        let bare = count(ty, q.clone()).await;
        assert!(bare > 0, "{ty}?{q}");
        assert_eq!(bare, count(ty, typed).await, "{ty}?{q}");
    }
}

#[tokio::test]
async fn include_and_revinclude_add_the_referenced_and_referring_resources() {
    let s = Server::start().await;
    let all = reference(0);
    let b = s
        .bundle(
            "Encounter?status=in-progress&_count=5&_include=Encounter:patient&_include=Encounter:location\
             &_revinclude=Task:encounter&_revinclude=Observation:encounter&_revinclude=MedicationRequest:encounter",
        )
        .await;
    let matched: Vec<&Value> = entries(&b, "match").collect();
    assert_eq!(matched.len(), 5);
    let enc_ids = ids(matched.iter().copied());
    let included: Vec<&Value> = entries(&b, "include").collect();
    let of = |t: &str| ids(included.iter().copied().filter(|v| v["resourceType"] == t));
    assert_eq!(of("Patient"), matched.iter().map(|e| ref_id(&e["subject"])).collect());
    assert_eq!(
        of("Location"),
        matched.iter().map(|e| ref_id(&e["location"][0]["location"])).collect()
    );
    for t in ["Task", "Observation", "MedicationRequest"] {
        let expected = ids(of_type(&all, t).filter(|v| enc_ids.contains(&ref_id(&v["encounter"]))));
        assert!(!expected.is_empty(), "{t}");
        assert_eq!(of(t), expected, "{t}");
    }
    assert!(of("Condition").is_empty(), "only what was asked for");
    let mut seen = HashSet::new();
    for e in b["entry"].as_array().unwrap() {
        let url = e["fullUrl"].as_str().unwrap();
        assert_eq!(
            url,
            format!(
                "{}/{}/{}",
                s.base,
                e["resource"]["resourceType"].as_str().unwrap(),
                e["resource"]["id"].as_str().unwrap()
            )
        );
        assert!(seen.insert(url.to_owned()), "{url} twice");
    }
    // the total counts matches only
    let total = b["total"].as_u64().unwrap() as usize;
    assert_eq!(
        total,
        of_type(&all, "Encounter")
            .filter(|e| e["status"] == "in-progress")
            .count()
    );
    // the next page carries the includes on
    let next = next_link(&b).unwrap();
    assert!(next.contains("_revinclude=Task%3Aencounter"), "{next}");
}

#[tokio::test]
async fn searches_by_patient_encounter_code_and_category() {
    let s = Server::start().await;
    let all = reference(0);
    let enc = of_type(&all, "Encounter")
        .find(|e| e["status"] == "in-progress")
        .unwrap();
    let pid = ref_id(&enc["subject"]);
    let eid = enc["id"].as_str().unwrap().to_owned();
    let refers = |v: &Value, field: &str, id: &str| v.get(field).is_some_and(|r| ref_id(r) == id);
    let codes = |v: &Value, field: &str| -> Vec<(String, String)> {
        let f = &v[field];
        let list: Vec<&Value> = match f {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
        list.iter()
            .flat_map(|cc| cc["coding"].as_array().into_iter().flatten())
            .map(|c| {
                (
                    c["system"].as_str().unwrap_or_default().to_owned(),
                    c["code"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    type Expect<'a> = Box<dyn Fn(&Value) -> bool + 'a>;
    let cases: Vec<(String, &str, Expect)> = vec![
        (
            format!("Task?patient=Patient/{pid}"),
            "Task",
            Box::new(|v| refers(v, "for", &pid)),
        ),
        (
            format!("Task?patient={pid}&status=requested"),
            "Task",
            Box::new(|v| refers(v, "for", &pid) && v["status"] == "requested"),
        ),
        (
            format!("Task?encounter=Encounter/{eid}&status=completed,cancelled"),
            "Task",
            Box::new(|v| refers(v, "encounter", &eid) && (v["status"] == "completed" || v["status"] == "cancelled")),
        ),
        (
            format!("Observation?subject=Patient/{pid}&code=http://snomed.info/sct|1104051000000101"),
            "Observation",
            Box::new(|v| refers(v, "subject", &pid) && codes(v, "code").iter().any(|(_, c)| c == "1104051000000101")),
        ),
        (
            format!("Observation?encounter=Encounter/{eid}&category=survey"),
            "Observation",
            Box::new(|v| refers(v, "encounter", &eid) && codes(v, "category").iter().any(|(_, c)| c == "survey")),
        ),
        (
            format!("MedicationRequest?patient={pid}&status=active"),
            "MedicationRequest",
            Box::new(|v| refers(v, "subject", &pid) && v["status"] == "active"),
        ),
        (
            "ServiceRequest?category=https://careload.example/fhir/CodeSystem/order-category|lab-sample".into(),
            "ServiceRequest",
            Box::new(|v| codes(v, "category").iter().any(|(_, c)| c == "lab-sample")),
        ),
        (
            format!("CarePlan?patient={pid}"),
            "CarePlan",
            Box::new(|v| refers(v, "subject", &pid)),
        ),
        (
            format!("Condition?patient={pid}&code=urn:oid:1.2.752.116.1.1.1.1.3|"),
            "Condition",
            Box::new(|v| {
                refers(v, "subject", &pid)
                    && codes(v, "code")
                        .iter()
                        .any(|(s, _)| s == "urn:oid:1.2.752.116.1.1.1.1.3")
            }),
        ),
        (
            "Encounter?class=http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP&status:not=in-progress".into(),
            "Encounter",
            Box::new(|v| v["status"] != "in-progress"),
        ),
        (
            format!("Patient?_id={pid},p999999"),
            "Patient",
            Box::new(|v| v["id"] == pid.as_str()),
        ),
    ];
    for (query, ty, expect) in cases {
        let expected = ids(of_type(&all, ty).filter(|v| expect(v)));
        let (got, _, _) = s.walk(&format!("{query}&_count=1000")).await;
        assert_eq!(ids(got.iter()), expected, "{query}");
    }
}

#[tokio::test]
async fn bad_requests_get_an_operation_outcome_saying_what_to_send() {
    let s = Server::start().await;
    // (query, status, phrase in the diagnostics)
    let cases = [
        ("Encounter?_count=abc", 400, "whole number"),
        ("Encounter?_count=-1", 400, "_count=-1"),
        (
            "Encounter?_lastUpdated=yesterday",
            400,
            "_lastUpdated=gt2026-11-23T09:00:00Z",
        ),
        ("Encounter?_lastUpdated=xx2026-11-23", 400, "prefix"),
        ("Encounter?_include=Encounter:nope", 400, "Encounter:patient"),
        ("Encounter?_include=Encounter", 400, "SourceType:parameter"),
        ("Encounter?status:exact=finished", 400, "modifier"),
        ("Encounter?_format=xml", 406, "_format=json"),
    ];
    for (q, status, phrase) in cases {
        let r = s.get(q).await;
        assert_eq!(r.status.as_u16(), status, "{q}: {}", r.body);
        assert!(r.content_type.starts_with("application/fhir+json"), "{q}");
        assert_eq!(r.body["resourceType"], "OperationOutcome", "{q}");
        let text = r.body["issue"][0]["diagnostics"].as_str().unwrap();
        assert!(text.contains(phrase), "{q}: {phrase:?} not in {text:?}");
    }
    // unknown parameters: ignored (and left out of the self link), refused when strict
    let b = s.bundle("Encounter?_count=1&colour=blue&status=in-progress").await;
    let self_link = b["link"][0]["url"].as_str().unwrap();
    assert!(
        !self_link.contains("colour") && self_link.contains("status=in-progress"),
        "{self_link}"
    );
    let strict = s
        .send(
            s.client
                .get(format!("{}/Encounter?colour=blue", s.base))
                .header("prefer", "handling=strict"),
        )
        .await;
    assert_eq!(strict.status, StatusCode::BAD_REQUEST);
    let text = strict.body["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(
        text.contains("unknown search parameter `colour`") && text.contains("location"),
        "{text}"
    );
    // the clock refuses nonsense too
    let r = s
        .send(s.client.post(s.base.replace("/fhir", "/sim/advance?hours=many")))
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["issue"][0]["diagnostics"].as_str().unwrap().contains("hours"));
}

#[tokio::test]
async fn content_negotiation_accepts_fhir_json_of_any_version() {
    let s = Server::start().await;
    let cases = [
        ("application/fhir+json; fhirVersion=4.3", 200),
        ("application/fhir+json; fhirVersion=4.0", 200),
        ("application/json", 200),
        ("*/*", 200),
        ("text/html", 406),
    ];
    for (accept, status) in cases {
        let r = s
            .send(
                s.client
                    .get(format!("{}/Patient?_count=1", s.base))
                    .header("accept", accept),
            )
            .await;
        assert_eq!(r.status.as_u16(), status, "{accept}");
    }
    let b = s.bundle("Patient?_count=1&_format=json").await;
    assert_eq!(entries(&b, "match").count(), 1);
}

#[tokio::test]
async fn post_search_reads_the_form_body() {
    let s = Server::start().await;
    let r = s
        .send(
            s.client
                .post(format!("{}/Encounter/_search", s.base))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("status=in-progress&_count=0"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let all = reference(0);
    assert_eq!(
        r.body["total"].as_u64(),
        Some(
            of_type(&all, "Encounter")
                .filter(|e| e["status"] == "in-progress")
                .count() as u64
        )
    );
}

#[tokio::test]
async fn pages_after_an_advance_come_from_the_new_present_without_repeats() {
    let s = Server::start().await;
    let first = s.bundle("Encounter?_count=20").await;
    let page1 = ids(entries(&first, "match"));
    s.advance(2).await;
    let (rest, _, _) = {
        let next = next_link(&first).unwrap();
        s.walk(&next[s.base.len() + 1..]).await
    };
    let rest = ids(rest.iter());
    assert!(page1.is_disjoint(&rest));
    let after = reference(2);
    let last = page1.iter().next_back().unwrap();
    assert_eq!(
        rest,
        ids(of_type(&after, "Encounter").filter(|e| e["id"].as_str().unwrap() > last.as_str()))
    );
}
