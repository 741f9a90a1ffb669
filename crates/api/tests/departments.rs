//! Departments (*verksamheter*, issue 29): the level between the wards and
//! the hospital, from `[departments.<id>]` and each ward's `department`.
//! The hospital overview sums each department's wards and groups its
//! wards under it; a department has its JSON view and its page; a screen
//! token scoped to a department reads that department and its wards, and
//! nothing else. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use careload_api::{AppState, router};
use careload_config::{Config, DepartmentConfig, Role, TokenConfig};
use careload_store::Store;

use common::{SCREEN, STAFF, call, config, json, milli, world};

/// The department-scoped screen token's secret.
const MED_SCREEN: &str = "screen-secret-medicine";

/// The world's two wards in two departments (w1 in `med`, named; w2 in
/// `kir`, unnamed), and a screen token for `med`.
fn departments_config() -> Config {
    let mut c = config();
    c.departments.insert(
        "med".into(),
        DepartmentConfig {
            name: Some("Medicinkliniken".into()),
            hospital: None,
        },
    );
    c.departments.insert("kir".into(), DepartmentConfig::default());
    c.wards.get_mut("w1").unwrap().department = Some("med".into());
    c.wards.get_mut("w2").unwrap().department = Some("kir".into());
    c.api.tokens.push(TokenConfig {
        name: "med-screen".into(),
        role: Role::Screen,
        wards: Vec::new(),
        departments: vec!["med".into()],
        hospitals: Vec::new(),
        secret_env: Some("T_MED_SCREEN".into()),
        secret_file: None,
    });
    c.validate().expect("the test's config is valid");
    c
}

fn env(key: &str) -> Option<String> {
    match key {
        "T_MED_SCREEN" => Some(MED_SCREEN.into()),
        other => common::env(other),
    }
}

async fn departments_sum_their_wards_and_scope_screen_tokens(store: Store) {
    let world = world(store).await;
    let state = AppState::with_env(
        world.store.clone(),
        Arc::new(departments_config()),
        world.weights.clone(),
        env,
    )
    .expect("state");
    let app = router(state);

    // the hospital overview: each department the sum of its wards
    let hospital = json(&app, "/api/v1/hospital", Some(STAFF)).await;
    let ward = |id: &str| {
        hospital["wards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .unwrap_or_else(|| panic!("ward {id} in {hospital:#}"))
            .clone()
    };
    let departments = hospital["departments"].as_array().expect("departments");
    let ids: Vec<&str> = departments.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["kir", "med"]);
    for (d, w) in [("kir", "w2"), ("med", "w1")] {
        let dep = departments.iter().find(|x| x["id"] == d).unwrap();
        let w = ward(w);
        assert!(w["totals"]["patients"].as_u64().unwrap() > 0, "{w:#}");
        assert_eq!(dep["totals"]["patients"], w["totals"]["patients"], "{d}");
        assert_eq!(milli(&dep["totals"]["total"]), milli(&w["totals"]["total"]), "{d}");
        assert_eq!(
            milli(&dep["totals"]["professions"]["usk"]),
            milli(&w["totals"]["professions"]["usk"]),
            "{d}"
        );
    }
    let med = departments.iter().find(|x| x["id"] == "med").unwrap();
    assert_eq!(med["name"], "Medicinkliniken");
    assert_eq!(med["wards"], serde_json::json!(["w1"]));
    assert_eq!(med["beds"], 10);
    let kir = departments.iter().find(|x| x["id"] == "kir").unwrap();
    assert_eq!(kir["name"], "kir", "no name configured: the id");
    // the hospital's sum is the departments' sum (every ward is in one)
    let sum: i64 = departments.iter().map(|d| milli(&d["totals"]["total"])).sum();
    assert_eq!(sum, milli(&hospital["totals"]["total"]));

    // one department's view
    let view = json(&app, "/api/v1/departments/med", Some(STAFF)).await;
    assert_eq!(view["department"], *med);
    let wards: Vec<&str> = view["wards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(wards, ["w1"]);
    assert_eq!(view["state"]["hour"], hospital["state"]["hour"]);

    // an unknown department: 404, naming the ones there are
    let (status, _, body) = call(&app, "/api/v1/departments/onkologi", Some(STAFF)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert!(body.contains("known departments: kir, med"), "{body}");

    // the hospital page groups the wards under their departments
    let (status, _, page) = call(&app, "/", Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(r#"data-department="med""#) && page.contains(r#"href="/departments/med""#));
    assert!(!page.contains("Utan verksamhet"), "every ward is in a department");

    // the department-scoped screen token: its department and its wards only
    let cases = [
        (format!("/departments/med?token={MED_SCREEN}"), StatusCode::OK),
        (format!("/wards/w1/screen?token={MED_SCREEN}"), StatusCode::OK),
        (format!("/wards/w2/screen?token={MED_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/departments/kir?token={MED_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/?token={MED_SCREEN}"), StatusCode::FORBIDDEN),
        // the ward-scoped token covers med (its one ward), not kir
        (format!("/departments/med?token={SCREEN}"), StatusCode::OK),
        (format!("/departments/kir?token={SCREEN}"), StatusCode::FORBIDDEN),
    ];
    for (path, expected) in cases {
        let (status, _, body) = call(&app, &path, None).await;
        assert_eq!(status, expected, "{path}: {body}");
        if status == StatusCode::OK && path.starts_with("/departments/") {
            assert!(body.contains("Vårdintensitet – Medicinkliniken"), "{body}");
            assert!(body.contains("/wards/w1/screen?token="), "links keep the token: {body}");
        }
    }
    let (status, _, body) = call(&app, "/api/v1/departments/med", Some(MED_SCREEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, body) = call(&app, "/api/v1/departments/kir", Some(MED_SCREEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("departments = [\\\"kir\\\"]"),
        "the hint says what to add: {body}"
    );
    let (status, _, _) = call(&app, "/api/v1/wards/w1", Some(MED_SCREEN)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&app, "/api/v1/wards/w2", Some(MED_SCREEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // a controller's export of one department: its wards' rows only
    let day = world.hour.date_naive();
    let export = |departments: &str| {
        format!(
            "/api/v1/export?from={}&to={day}&level=ward&grain=day&format=json&departments={departments}",
            day - chrono::Duration::days(1)
        )
    };
    let rows = json(&app, &export("med"), Some(common::CONTROLLER)).await;
    let wards: std::collections::BTreeSet<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["ward"].as_str().unwrap())
        .collect();
    assert_eq!(wards.into_iter().collect::<Vec<_>>(), ["w1"], "{rows:#}");
    let rows = json(&app, &export("med,kir"), Some(common::CONTROLLER)).await;
    let wards: std::collections::BTreeSet<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ward"].as_str().unwrap())
        .collect();
    assert_eq!(wards.into_iter().collect::<Vec<_>>(), ["w1", "w2"]);
    let (status, _, body) = call(&app, &export("onkologi"), Some(common::CONTROLLER)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("departments") && body.contains("kir, med"), "{body}");
}

careload_testkit::on_every_backend!(departments_sum_their_wards_and_scope_screen_tokens);
