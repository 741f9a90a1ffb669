//! careload's FHIR R4 output (issue 29) against a real, third-party FHIR
//! server: the simulated hospital read from its NDJSON files by `careload
//! ingest --once` (twice: the second run rewrites the hour), then served by
//! the real API; every `MeasureReport` and `Observation` fetched page by
//! page through `next` links and
//!
//! * de-identified: every patient is a pseudonym the public development key
//!   gives for one of the files' Patient ids, and no Patient id, name or
//!   personal identity number of the files appears anywhere in what is
//!   served;
//! * accepted by Medplum's FHIR engine (`tests/medplum/server.mjs
//!   --validate`: each write checked against the R4 StructureDefinitions by
//!   `@medplum/core`'s `validateResource`, as Medplum's server checks
//!   writes; an invalid resource is refused, which the test checks too),
//!   `PUT` by id in batches of at most 50;
//! * read back from Medplum with `_lastUpdated=ge…` paging, every one once,
//!   and by the searches a standard server indexes: the ward's
//!   `subject=Location/<ward>` (MeasureReport) and `category=<ward
//!   system>|<ward>` (Observation).
//!
//! Without Node.js or `tests/medplum/node_modules` the Medplum half says it
//! skipped and passes, except under CI (`CI` set), where it fails.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use careload_app::fhir_out::{PSEUDONYM_SYSTEM, WARD_SYSTEM};
use careload_ingest::PseudonymKey;
use careload_testkit::TempDir;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

use common::{careload, s};

/// The repository root.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// Every resource of a search from `url` on, following `next` links.
async fn all_pages(http: &reqwest::Client, url: &str) -> (Vec<Value>, usize) {
    let mut out = Vec::new();
    let mut next = Some(url.to_owned());
    let mut pages = 0;
    while let Some(url) = next.take() {
        let response = http.get(&url).send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bundle: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{url}: {status} {bundle}");
        assert!(
            content_type.starts_with("application/fhir+json"),
            "{url}: {content_type}"
        );
        assert_eq!(bundle["type"], "searchset", "{url}");
        pages += 1;
        assert!(pages < 1000, "no end to the pages");
        out.extend(
            bundle["entry"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["resource"].clone()),
        );
        next = bundle["link"]
            .as_array()
            .and_then(|l| l.iter().find(|l| l["relation"] == "next"))
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned);
    }
    (out, pages)
}

/// `v` with every number as a float (a server may write 0.0 as 0).
fn numbers_as_f64(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(n.as_f64()),
        Value::Array(items) => Value::Array(items.iter().map(numbers_as_f64).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), numbers_as_f64(v))).collect()),
        other => other.clone(),
    }
}

/// Reads every line of `<dir>/<type>.ndjson`.
fn ndjson(dir: &Path, ty: &str) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("{ty}.ndjson")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `PUT`s every resource into Medplum by its id, in batches of 50, every
/// entry answered 200 or 201.
async fn put_all(http: &reqwest::Client, base: &str, resources: &[Value]) {
    for chunk in resources.chunks(50) {
        let entry: Vec<Value> = chunk
            .iter()
            .map(|r| {
                let url = format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap());
                json!({ "resource": r, "request": { "method": "PUT", "url": url } })
            })
            .collect();
        let batch = json!({ "resourceType": "Bundle", "type": "batch", "entry": entry });
        let response = http
            .post(base)
            .header("content-type", "application/fhir+json")
            .body(batch.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "HTTP {status}: {body}");
        for e in body["entry"].as_array().unwrap() {
            let s = e["response"]["status"].as_str().unwrap_or("");
            assert!(s.starts_with("200") || s.starts_with("201"), "{e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fhir_output_is_de_identified_valid_r4_and_pages_through_medplum() {
    // the simulated hospital's files, read into a store by two hourly runs
    let dir = TempDir::new("fhir-out");
    let fhir = dir.join("fhir");
    careload(&["sim", "--beds", "60", "--seed", "5", "--hours", "0", "--out", s(&fhir)]).ok();
    let db = dir.join("careload.db");
    let config = dir.join("careload.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}?mode=rwc\"\n\n[source]\nkind = \"files\"\npath = \"{}\"\n\
             pseudonym_key_env = \"CARELOAD_TEST_UNSET_PSEUDONYM_KEY\"\n",
            db.display(),
            fhir.display()
        ),
    )
    .unwrap();
    let before = Utc::now() - chrono::Duration::seconds(1);
    for _ in 0..2 {
        let run = careload(&["ingest", "--once", "--insecure-dev-key", "--config", s(&config)]);
        run.ok();
        assert_eq!(run.json()["outcome"], "ok", "{}", run.stderr);
    }

    // served by the real API, on a socket (an open API on loopback, as the demo's)
    let store = careload_store::Store::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let weights_text = std::fs::read_to_string(Path::new(ROOT).join("weights/2026.1.toml")).unwrap();
    let weights = careload_scoring::Weights::from_toml(&weights_text, "weights/2026.1.toml").unwrap();
    let api_config = careload_config::Config::from_toml("[api]\nopen = true\n", "test").unwrap();
    let state = careload_api::AppState::try_new(store, Arc::new(api_config), Arc::new(weights)).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let careload_base = format!("http://{}/fhir/r4", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(careload_api::serve(listener, state, async {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let since = before.to_rfc3339_opts(SecondsFormat::Secs, true);
    let (reports, report_pages) = all_pages(
        &http,
        &format!("{careload_base}/MeasureReport?_lastUpdated=ge{since}&_count=3"),
    )
    .await;
    let hours_from = (before - chrono::Duration::hours(2)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let (observations, observation_pages) = all_pages(
        &http,
        &format!("{careload_base}/Observation?date=ge{hours_from}&_count=7"),
    )
    .await;
    eprintln!(
        "careload served {} MeasureReports in {report_pages} pages and {} Observations in {observation_pages} pages",
        reports.len(),
        observations.len()
    );
    assert!(reports.len() >= 2, "{} wards", reports.len());
    assert!(observations.len() > 30, "{} patients", observations.len());
    assert_eq!(observation_pages, observations.len().div_ceil(7));
    let patients: u64 = reports
        .iter()
        .map(|r| r["group"][0]["population"][0]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(
        patients,
        observations.len() as u64,
        "the wards' populations are the observations"
    );
    let ids: BTreeSet<&str> = observations
        .iter()
        .chain(&reports)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), observations.len() + reports.len(), "every resource once");

    // de-identified: pseudonyms of the files' patients, and nothing of theirs
    let key = PseudonymKey::development();
    let files_patients = ndjson(&fhir, "Patient");
    assert!(files_patients.len() > 30);
    let pseudonyms: BTreeSet<String> = files_patients
        .iter()
        .map(|p| key.patient_key(p["id"].as_str().unwrap()).0)
        .collect();
    for o in &observations {
        assert_eq!(o["subject"]["identifier"]["system"], PSEUDONYM_SYSTEM);
        assert_eq!(
            o["subject"].as_object().map(|s| s.len()),
            Some(1),
            "the identifier only: {}",
            o["subject"]
        );
        let value = o["subject"]["identifier"]["value"].as_str().unwrap();
        assert!(pseudonyms.contains(value), "{value} is no file patient's pseudonym");
    }
    let served = serde_json::to_string(&(&reports, &observations)).unwrap();
    let mut never: Vec<String> = vec![
        "Testperson".into(),
        "-TEST".into(),
        "Patient/".into(),
        "Encounter/".into(),
    ];
    for p in &files_patients {
        never.push(format!("\"{}\"", p["id"].as_str().unwrap()));
        for i in p["identifier"].as_array().into_iter().flatten() {
            never.push(i["value"].as_str().unwrap().to_owned());
        }
        for n in p["name"].as_array().into_iter().flatten() {
            never.push(format!("\"{}\"", n["family"].as_str().unwrap()));
        }
    }
    for e in ndjson(&fhir, "Encounter") {
        never.push(format!("\"{}\"", e["id"].as_str().unwrap()));
    }
    for n in &never {
        assert!(!served.contains(n.as_str()), "{n} is served");
    }

    // Medplum accepts every one, validated against R4, and refuses an invalid one
    let Some(server) = common::medplum(true) else {
        let _ = stop.send(());
        return;
    };
    let base = server.base.clone();
    let mut broken = observations[0].clone();
    broken["valueQuantity"]["value"] = json!("twelve");
    broken["id"] = json!("broken");
    let refused = http
        .put(format!("{base}/Observation/broken"))
        .header("content-type", "application/fhir+json")
        .body(broken.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status().as_u16(),
        400,
        "Medplum validates: {}",
        refused.text().await.unwrap()
    );
    let loaded_from = Utc::now() - chrono::Duration::seconds(1);
    let started = std::time::Instant::now();
    put_all(&http, &base, &reports).await;
    put_all(&http, &base, &observations).await;
    eprintln!(
        "Medplum accepted {} resources in {:.1} s",
        reports.len() + observations.len(),
        started.elapsed().as_secs_f64()
    );

    // read back with _lastUpdated paging: every one, once, as sent
    let since = loaded_from.to_rfc3339_opts(SecondsFormat::Secs, true);
    for (ty, sent) in [("MeasureReport", &reports), ("Observation", &observations)] {
        let (back, pages) = all_pages(&http, &format!("{base}/{ty}?_lastUpdated=ge{since}&_count=10")).await;
        assert_eq!(pages, sent.len().div_ceil(10).max(1), "{ty}");
        assert_eq!(back.len(), sent.len(), "{ty}: as many as sent, none twice");
        let back: BTreeMap<&str, &Value> = back.iter().map(|r| (r["id"].as_str().unwrap(), r)).collect();
        assert_eq!(back.len(), sent.len(), "{ty}: every one once");
        for r in sent.iter() {
            let got = back[r["id"].as_str().unwrap()];
            for field in [
                "subject",
                "period",
                "group",
                "valueQuantity",
                "component",
                "effectivePeriod",
                "category",
            ] {
                assert_eq!(
                    got.get(field).map(numbers_as_f64),
                    r.get(field).map(numbers_as_f64),
                    "{ty} {}: {field}",
                    r["id"]
                );
            }
        }
    }

    // the searches a standard server indexes find the ward
    let mut per_ward: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &observations {
        let coding = &o["category"][1]["coding"][0];
        assert_eq!(coding["system"], WARD_SYSTEM);
        *per_ward.entry(coding["code"].as_str().unwrap()).or_default() += 1;
    }
    for (ward, n) in per_ward {
        let (found, _) = all_pages(
            &http,
            &format!("{base}/Observation?category={WARD_SYSTEM}%7C{ward}&_count=100"),
        )
        .await;
        assert_eq!(found.len(), n, "Observations of {ward}");
        let (reports_of_ward, _) = all_pages(&http, &format!("{base}/MeasureReport?subject=Location/{ward}")).await;
        assert_eq!(reports_of_ward.len(), 1, "the MeasureReport of {ward}");
    }
    let _ = stop.send(());
}
