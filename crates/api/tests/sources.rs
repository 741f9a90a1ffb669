//! Several FHIR sources in one store (issue 29): each source's wards are
//! shown at that source's own hour, so a source whose run failed leaves
//! only its own wards (and its hospital) behind and stale while the other
//! source's move on. Two sources, `nord` and `syd`, each feeding one
//! hospital of one ward; the previous hour written by both, the current
//! hour by `nord` alone (`syd`'s run failed). Every test runs on SQLite,
//! and on PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::sync::Arc;

use careload_api::{AppState, router};
use careload_config::{Config, DepartmentConfig, HospitalConfig, SourceConfig, SourceKind, WardConfig};
use careload_scoring::Snapshot;
use careload_store::{Outcome, RunReport, Store, hour_of};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use common::{STAFF, json, patient_with_care, scored, weights};

/// Two sources, each one hospital with one department of one ward.
fn sources_config() -> Config {
    let mut c = common::config();
    for (id, ward) in [("nord", "nord-1"), ("syd", "syd-1")] {
        c.sources.insert(
            id.into(),
            SourceConfig {
                kind: SourceKind::Fhir,
                url: format!("https://{id}.example/fhir"),
                ward_prefix: format!("{id}-"),
                ..SourceConfig::default()
            },
        );
        c.hospitals.insert(id.into(), HospitalConfig::default());
        c.departments.insert(
            format!("{id}-med"),
            DepartmentConfig {
                name: None,
                hospital: Some(id.into()),
            },
        );
        c.wards.insert(
            ward.into(),
            WardConfig {
                department: Some(format!("{id}-med")),
                beds: Some(10),
                ..WardConfig::default()
            },
        );
    }
    c
}

/// A run of `source` that writes `snapshots` as `hour`, or fails without
/// writing (`snapshots` none).
async fn run(store: &Store, source: &str, hour: DateTime<Utc>, snapshots: Option<Vec<Snapshot>>) {
    let w = weights();
    let run = store.begin_fired_run(source, "test", None).await.expect("begin");
    let outcome = match snapshots {
        Some(snapshots) => {
            let (pairs, r) = scored(&w, snapshots);
            store
                .write_hour_fenced(None, source, hour, run, &w.meta.version, &pairs, &r)
                .await
                .expect("write");
            Outcome::Ok
        }
        None => Outcome::Failed,
    };
    let report = RunReport {
        error: (outcome == Outcome::Failed).then(|| "the FHIR server did not answer".to_owned()),
        ..RunReport::default()
    };
    store.finish_run(run, outcome, &report).await.expect("finish");
}

fn nord(hour: DateTime<Utc>) -> Vec<Snapshot> {
    vec![
        patient_with_care("n1", "nord-1", "a", "1", hour, 2),
        patient_with_care("n2", "nord-1", "a", "2", hour, 0),
    ]
}

fn syd(hour: DateTime<Utc>) -> Vec<Snapshot> {
    vec![patient_with_care("s1", "syd-1", "a", "1", hour, 3)]
}

/// The item of `items` whose `id` is `id`.
fn by_id<'a>(items: &'a Value, id: &str) -> &'a Value {
    items
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {items:#}"))
}

fn at(hour: DateTime<Utc>) -> Value {
    Value::String(hour.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

async fn a_failing_source_leaves_only_its_own_wards_behind_and_stale(store: Store) {
    let w = weights();
    store.record_weights(&w).await.expect("record weights");
    let hour = hour_of(Utc::now());
    let before = hour - Duration::hours(1);
    run(&store, "nord", before, Some(nord(before))).await;
    run(&store, "syd", before, Some(syd(before))).await;
    run(&store, "nord", hour, Some(nord(hour))).await;
    run(&store, "syd", hour, None).await;

    let state = AppState::with_env(store.clone(), Arc::new(sources_config()), Arc::new(w), common::env).expect("state");
    let app = router(state);

    // each ward at its own source's hour: syd's at the hour before, stale
    let syd_ward = json(&app, "/api/v1/wards/syd-1", Some(STAFF)).await;
    assert_eq!(syd_ward["state"]["hour"], at(before), "{syd_ward:#}");
    assert_eq!(syd_ward["state"]["stale"], true);
    assert_eq!(syd_ward["state"]["stale_reason"], "last_run_failed");
    assert_eq!(syd_ward["state"]["sources"].as_array().unwrap().len(), 1);
    assert_eq!(syd_ward["state"]["sources"][0]["id"], "syd");
    assert_eq!(
        syd_ward["patients"].as_array().unwrap().len(),
        1,
        "a stale source's ward keeps its last good hour's patients, not an empty ward"
    );
    let nord_ward = json(&app, "/api/v1/wards/nord-1", Some(STAFF)).await;
    assert_eq!(nord_ward["state"]["hour"], at(hour));
    assert_eq!(nord_ward["state"]["stale"], false, "{nord_ward:#}");
    assert_eq!(nord_ward["patients"].as_array().unwrap().len(), 2);

    // the overview shows both, marks syd's ward, sums both sources' wards
    let overview = json(&app, "/api/v1/hospital", Some(STAFF)).await;
    let wards = &overview["wards"];
    assert_eq!(by_id(wards, "syd-1")["totals"]["patients"], 1);
    assert_eq!(by_id(wards, "syd-1")["stale"], true);
    assert_eq!(by_id(wards, "nord-1")["totals"]["patients"], 2);
    assert!(by_id(wards, "nord-1").get("stale").is_none(), "{overview:#}");
    assert_eq!(overview["totals"]["patients"], 3);
    assert_eq!(overview["state"]["stale"], true, "the whole is partly stale");
    let sources = &overview["state"]["sources"];
    assert_eq!(by_id(sources, "syd")["stale"], true);
    assert_eq!(by_id(sources, "nord")["stale"], false);
    assert_eq!(by_id(sources, "syd")["hour"], at(before));

    // the region marks syd's hospital alone; each hospital's view its own state
    let region = json(&app, "/api/v1/region", Some(STAFF)).await;
    assert_eq!(by_id(&region["hospitals"], "syd")["stale"], true, "{region:#}");
    assert!(by_id(&region["hospitals"], "nord").get("stale").is_none());
    assert_eq!(region["region"]["totals"]["patients"], 3);
    let nord_hospital = json(&app, "/api/v1/hospitals/nord", Some(STAFF)).await;
    assert_eq!(nord_hospital["state"]["stale"], false, "{nord_hospital:#}");
    assert_eq!(nord_hospital["state"]["hour"], at(hour));
    let syd_hospital = json(&app, "/api/v1/hospitals/syd", Some(STAFF)).await;
    assert_eq!(syd_hospital["state"]["stale"], true);
    assert_eq!(syd_hospital["hospital"]["totals"]["patients"], 1);

    // the pages mark syd's row alone
    let (status, _, page) = common::call(&app, "/region", Some(STAFF)).await;
    assert_eq!(status, axum::http::StatusCode::OK, "{page}");
    assert_eq!(page.matches(r#"class="stale-mark""#).count(), 1, "{page}");
    let mark = page.find(r#"class="stale-mark""#).unwrap();
    assert!(page.find(r#"data-hospital="syd""#).unwrap() < mark, "{page}");
    let (_, _, page) = common::call(&app, "/hospitals/syd", Some(STAFF)).await;
    assert_eq!(page.matches(r#"class="stale-mark""#).count(), 1, "{page}");
    let (_, _, page) = common::call(&app, "/hospitals/nord", Some(STAFF)).await;
    assert!(!page.contains(r#"class="stale-mark""#), "{page}");
    assert!(
        !page.contains(r#"class="banner stale""#),
        "nord's page is current: {page}"
    );

    // the metrics: each source's own hour's age, so one down source alerts
    let (_, _, metrics) = common::call(&app, "/metrics", Some(common::ADMIN)).await;
    let age = |id: &str| -> i64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("careload_source_hour_age_seconds{{source_id=\"{id}\"}} ")))
            .unwrap_or_else(|| panic!("no age of {id} in\n{metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(age("syd") - age("nord"), 3600, "syd is an hour behind");

    // the ward list and a stale source's patient
    let list = json(&app, "/api/v1/wards", Some(STAFF)).await;
    assert_eq!(by_id(&list["wards"], "syd-1")["patients"], 1);
    let patient = json(&app, "/api/v1/patients/s1", Some(STAFF)).await;
    assert_eq!(patient["hour"], at(before), "{patient:#}");
    assert_eq!(patient["state"]["stale"], true);
}

careload_testkit::on_every_backend!(a_failing_source_leaves_only_its_own_wards_behind_and_stale);
