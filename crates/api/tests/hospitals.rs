//! Hospitals of a region (issue 29): the level above the departments, from
//! `[hospitals.<id>]` and each department's `hospital`. The region's view
//! sums each hospital's wards and the wards of none; a hospital has its
//! JSON view and its page, its departments grouped as the hospital
//! overview groups them; a screen token scoped to a hospital reads that
//! hospital, its departments and its wards, and nothing else; exports take
//! `hospitals=`. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use careload_api::{AppState, router};
use careload_config::{Config, DepartmentConfig, HospitalConfig, Role, TokenConfig, WardConfig};
use careload_store::Store;
use serde_json::Value;

use common::{CONTROLLER, STAFF, call, config, json, milli, world};

/// The hospital-scoped screen token's secret.
const UAS_SCREEN: &str = "screen-secret-uas";
/// The secret of a screen token that lists every ward.
const ALL_SCREEN: &str = "screen-secret-all";

/// The world's two wards in two hospitals — w1 in department `med` of
/// `uas` (named), w2 in `kir` of `enk` (unnamed) — and a third ward, w3,
/// in department `rest` of no hospital; a screen token for `uas`, and one
/// listing all three wards.
fn hospitals_config() -> Config {
    let mut c = config();
    c.hospitals.insert(
        "uas".into(),
        HospitalConfig {
            name: Some("Akademiska sjukhuset".into()),
        },
    );
    c.hospitals.insert("enk".into(), HospitalConfig::default());
    let department = |hospital: Option<&str>| DepartmentConfig {
        name: None,
        hospital: hospital.map(str::to_owned),
    };
    c.departments.insert("med".into(), department(Some("uas")));
    c.departments.insert("kir".into(), department(Some("enk")));
    c.departments.insert("rest".into(), department(None));
    c.wards.get_mut("w1").unwrap().department = Some("med".into());
    c.wards.get_mut("w2").unwrap().department = Some("kir".into());
    c.wards.insert(
        "w3".into(),
        WardConfig {
            department: Some("rest".into()),
            beds: Some(12),
            ..WardConfig::default()
        },
    );
    let token = |name: &str, wards: &[&str], hospitals: &[&str], var: &str| TokenConfig {
        name: name.into(),
        role: Role::Screen,
        wards: wards.iter().map(|w| (*w).to_owned()).collect(),
        departments: Vec::new(),
        hospitals: hospitals.iter().map(|h| (*h).to_owned()).collect(),
        secret_env: Some(var.into()),
        secret_file: None,
    };
    c.api.tokens.push(token("uas-screen", &[], &["uas"], "T_UAS_SCREEN"));
    c.api
        .tokens
        .push(token("all-screen", &["w1", "w2", "w3"], &[], "T_ALL_SCREEN"));
    c.validate().expect("the test's config is valid");
    c
}

fn env(key: &str) -> Option<String> {
    match key {
        "T_UAS_SCREEN" => Some(UAS_SCREEN.into()),
        "T_ALL_SCREEN" => Some(ALL_SCREEN.into()),
        other => common::env(other),
    }
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

/// The sums a region's group has that a ward's totals have.
fn sums(v: &Value) -> [i64; 4] {
    let t = &v["totals"];
    [
        t["patients"].as_i64().unwrap(),
        milli(&t["total"]),
        milli(&t["professions"]["usk"]),
        milli(&t["professions"]["ssk"]),
    ]
}

async fn hospitals_sum_their_wards_add_up_to_the_region_and_scope_screen_tokens(store: Store) {
    let world = world(store).await;
    let state = AppState::with_env(
        world.store.clone(),
        Arc::new(hospitals_config()),
        world.weights.clone(),
        env,
    )
    .expect("state");
    let app = router(state);

    // the hospital overview keeps its meaning: every ward, the stored totals
    let overview = json(&app, "/api/v1/hospital", Some(STAFF)).await;
    let wards = &overview["wards"];
    assert_eq!(wards.as_array().unwrap().len(), 3, "{overview:#}");

    // the region: each hospital the sum of its wards
    let region = json(&app, "/api/v1/region", Some(STAFF)).await;
    assert_eq!(region["state"]["hour"], overview["state"]["hour"]);
    let hospitals = &region["hospitals"];
    let ids: Vec<&str> = hospitals
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["enk", "uas"]);
    for (h, w) in [("enk", "w2"), ("uas", "w1")] {
        let hospital = by_id(hospitals, h);
        let ward = by_id(wards, w);
        assert!(ward["totals"]["patients"].as_u64().unwrap() > 0, "{ward:#}");
        assert_eq!(sums(hospital), sums(ward), "{h}");
        assert_eq!(hospital["wards"], serde_json::json!([w]));
        assert_eq!(hospital["beds"], ward["beds"], "{h}");
        // one ward: its expected level and indicator are the hospital's
        assert_eq!(hospital["expected"], ward["expected"], "{h}");
        assert_eq!(hospital["indicator"], ward["indicator"], "{h}");
        assert_eq!(hospital["expected_samples"], ward["expected_samples"], "{h}");
    }
    let uas = by_id(hospitals, "uas");
    assert_eq!(uas["name"], "Akademiska sjukhuset");
    assert_eq!(uas["departments"], serde_json::json!(["med"]));
    assert_eq!(uas["beds"], 10);
    assert_eq!(by_id(hospitals, "enk")["name"], "enk", "no name configured: the id");
    // the wards of no hospital (w3's department has none), as one group
    let apart = &region["without_hospital"];
    assert_eq!(apart["wards"], serde_json::json!(["w3"]), "{region:#}");
    assert_eq!(sums(apart), sums(by_id(wards, "w3")));
    assert_eq!(apart["beds"], 12);
    // hospitals and the rest add up to the region, which is the stored hospital row
    let mut total = sums(apart);
    for h in hospitals.as_array().unwrap() {
        for (t, x) in total.iter_mut().zip(sums(h)) {
            *t += x;
        }
    }
    assert_eq!(total, sums(&region["region"]));
    assert_eq!(sums(&region["region"]), sums(&overview), "the region is every ward");
    assert_eq!(region["region"]["wards"], serde_json::json!(["w1", "w2", "w3"]));
    let beds: u64 = wards
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["beds"].as_u64())
        .sum();
    assert_eq!(region["region"]["beds"], beds, "the wards' beds, configured or seen");
    assert_eq!(beds, 10 + 1 + 12, "w2's one bed seen");

    // one hospital's view: its sums, its departments, its wards as the overview shows them
    let view = json(&app, "/api/v1/hospitals/uas", Some(STAFF)).await;
    assert_eq!(view["hospital"], *uas);
    assert_eq!(view["wards"], serde_json::json!([by_id(wards, "w1")]), "{view:#}");
    let departments: Vec<&str> = view["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(departments, ["med"]);
    assert_eq!(view["departments"][0], *by_id(&overview["departments"], "med"));
    // a department read on its own wards alone agrees with the overview
    let med = json(&app, "/api/v1/departments/med", Some(STAFF)).await;
    assert_eq!(med["wards"], serde_json::json!([by_id(wards, "w1")]));
    assert_eq!(med["department"], *by_id(&overview["departments"], "med"));

    // an unknown hospital: 404, naming the ones there are
    let (status, _, body) = call(&app, "/api/v1/hospitals/nowhere", Some(STAFF)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("known hospitals: enk, uas"), "{body}");
    let (status, _, _) = call(&app, "/hospitals/nowhere", Some(STAFF)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // the pages: the region links each hospital, the overview the region
    let (status, _, page) = call(&app, "/region", Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(r#"href="/hospitals/uas""#) && page.contains(r#"href="/hospitals/enk""#));
    assert!(page.contains("Akademiska sjukhuset") && page.contains("Utan sjukhus"));
    let (status, _, page) = call(&app, "/", Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"href="/region""#), "{page}");

    // the hospital-scoped screen token: its hospital, departments and wards only
    let cases = [
        (format!("/hospitals/uas?token={UAS_SCREEN}"), StatusCode::OK),
        (format!("/departments/med?token={UAS_SCREEN}"), StatusCode::OK),
        (format!("/wards/w1/screen?token={UAS_SCREEN}"), StatusCode::OK),
        (format!("/hospitals/enk?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/departments/kir?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/wards/w2/screen?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/region?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        // a screen token that covers every ward reads the region
        (format!("/region?token={ALL_SCREEN}"), StatusCode::OK),
        (format!("/hospitals/enk?token={ALL_SCREEN}"), StatusCode::OK),
        // the world's w1 token covers uas (its one ward), not the region
        (format!("/hospitals/uas?token={}", common::SCREEN), StatusCode::OK),
        (format!("/region?token={}", common::SCREEN), StatusCode::FORBIDDEN),
    ];
    for (path, expected) in cases {
        let (status, _, body) = call(&app, &path, None).await;
        assert_eq!(status, expected, "{path}: {body}");
        if path.starts_with("/hospitals/uas") {
            assert!(body.contains("Vårdintensitet – Akademiska sjukhuset"), "{body}");
            assert!(
                body.contains(r#"data-department="med""#),
                "grouped by department: {body}"
            );
            assert!(body.contains("/wards/w1/screen?token="), "links keep the token: {body}");
            assert!(body.contains("/departments/med?token="), "{body}");
            assert!(
                !body.contains(r#"href="/region"#) && !body.contains(r#"href="/?"#),
                "{body}"
            );
        }
    }
    let (status, _, body) = call(&app, "/api/v1/hospitals/uas", Some(UAS_SCREEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = call(&app, "/api/v1/hospitals/enk", Some(UAS_SCREEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("hospitals = [\\\"enk\\\"]"),
        "the hint says what to add: {body}"
    );
    assert!(!body.contains("w2"), "the hint names no other ward: {body}");
    let (status, _, body) = call(&app, "/api/v1/region", Some(UAS_SCREEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = call(&app, "/api/v1/region", Some(ALL_SCREEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = call(&app, "/api/v1/wards/w1", Some(UAS_SCREEN)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&app, "/api/v1/wards/w2", Some(UAS_SCREEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // a controller's export of one hospital: its wards' rows only
    let day = world.hour.date_naive();
    let export = |filter: &str| {
        format!(
            "/api/v1/export?from={}&to={day}&level=ward&grain=day&format=json&{filter}",
            day - chrono::Duration::days(1)
        )
    };
    let exported = |rows: &Value| -> Vec<String> {
        let wards: BTreeSet<String> = rows
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["ward"].as_str().unwrap().to_owned())
            .collect();
        wards.into_iter().collect()
    };
    let rows = json(&app, &export("hospitals=uas"), Some(CONTROLLER)).await;
    assert_eq!(exported(&rows), ["w1"], "{rows:#}");
    let rows = json(&app, &export("hospitals=uas,enk"), Some(CONTROLLER)).await;
    assert_eq!(exported(&rows), ["w1", "w2"]);
    let rows = json(&app, &export("hospitals=enk&departments=med"), Some(CONTROLLER)).await;
    assert_eq!(exported(&rows), ["w1", "w2"], "besides the departments'");
    let (status, _, body) = call(&app, &export("hospitals=nowhere"), Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("hospitals") && body.contains("enk, uas"), "{body}");
}

careload_testkit::on_every_backend!(hospitals_sum_their_wards_add_up_to_the_region_and_scope_screen_tokens);
