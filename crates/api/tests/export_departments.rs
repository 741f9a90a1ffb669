//! `GET /api/v1/export?level=department` (issue 29): one row per department
//! and period, its wards' rows summed; the wards of no department one group
//! with an empty id; `hospitals=` and `departments=` narrow it to their
//! departments; a 400 saying how to declare departments when there are none.
//! Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::collections::BTreeMap;

use axum::http::{StatusCode, header};
use careload_api::router;
use careload_config::{Config, DepartmentConfig, HospitalConfig};
use careload_store::Store;
use serde_json::Value;

use common::{CONTROLLER, call, config, json, state_with, world};

type Row = BTreeMap<String, String>;

/// w1 in `med` (named, of hospital `nord`); w2 in `med` too when `both`,
/// else in no department.
fn departments_config(both: bool) -> Config {
    let mut c = config();
    c.hospitals.insert("nord".into(), HospitalConfig::default());
    c.departments.insert(
        "med".into(),
        DepartmentConfig {
            name: Some("Medicinkliniken".into()),
            hospital: Some("nord".into()),
        },
    );
    c.wards.get_mut("w1").unwrap().department = Some("med".into());
    if both {
        c.wards.get_mut("w2").unwrap().department = Some("med".into());
    }
    c.validate().expect("the test's config is valid");
    c
}

fn csv(body: &str) -> Vec<Row> {
    let mut lines = body.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .map(|h| (*h).to_owned())
                .zip(l.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

fn num(r: &Row, k: &str) -> f64 {
    r[k].parse().unwrap_or_else(|_| panic!("{k}: {r:?}"))
}

async fn department_exports_sum_their_wards(store: Store) {
    let world = world(store).await;
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let from = today - chrono::Duration::days(1);
    let path = |query: &str| format!("/api/v1/export?from={from}&to={today}&grain=day&{query}");
    let get = |app: axum::Router, query: String| async move {
        let (status, headers, body) = call(&app, &query, Some(CONTROLLER)).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        (headers, body)
    };

    // both wards in med: its row is their sum
    let app = router(state_with(&world, departments_config(true)));
    let (_, body) = get(app.clone(), path("level=ward")).await;
    let wards = csv(&body);
    let (headers, body) = get(app.clone(), path("level=department")).await;
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"careload-department-day-{from}-{today}.csv\"").as_str()
    );
    let deps = csv(&body);
    assert!(!deps.is_empty(), "{body}");
    for d in &deps {
        assert_eq!(
            (
                d["level"].as_str(),
                d["department"].as_str(),
                d["department_name"].as_str(),
                d["ward"].as_str()
            ),
            ("department", "med", "Medicinkliniken", ""),
            "{d:?}"
        );
        let of: Vec<&Row> = wards.iter().filter(|w| w["period"] == d["period"]).collect();
        assert_eq!(of.len(), 2, "w1 and w2 on {}: {wards:?}", d["period"]);
        let sum = |k: &str| of.iter().map(|w| num(w, k)).sum::<f64>();
        assert_eq!(num(d, "patient_hours"), sum("patient_hours"), "{d:?}");
        assert_eq!(num(d, "patients"), sum("patients"), "no patient on both wards");
        assert!((num(d, "points_sum") - sum("points_sum")).abs() < 0.002, "{d:?}");
        assert!(
            (num(d, "total_mean") - num(d, "points_sum") / num(d, "hours")).abs() < 0.001,
            "the mean of the department's hourly sums: {d:?}"
        );
    }
    // JSON: the same rows
    let rows = json(&app, &path("level=department&format=json"), Some(CONTROLLER)).await;
    let rows = rows.as_array().expect("rows");
    assert_eq!(rows.len(), deps.len());
    for (j, d) in rows.iter().zip(&deps) {
        assert_eq!(j["department"], "med");
        assert_eq!(j["patient_hours"].as_f64().unwrap(), num(d, "patient_hours"));
        assert!((j["points_sum"].as_f64().unwrap() - num(d, "points_sum")).abs() < 1e-9);
    }

    // w2 in no department: a group of its own with an empty id; the
    // hospital and department filters give only their departments
    let app = router(state_with(&world, departments_config(false)));
    let (_, body) = get(app.clone(), path("level=department")).await;
    let deps = csv(&body);
    for d in &deps {
        let ward = if d["department"] == "med" { "w1" } else { "w2" };
        let w = wards
            .iter()
            .find(|w| w["ward"] == ward && w["period"] == d["period"])
            .unwrap();
        assert_eq!(
            (d["patient_hours"].as_str(), d["points_sum"].as_str()),
            (w["patient_hours"].as_str(), w["points_sum"].as_str()),
            "{d:?}"
        );
        assert_eq!(d["department_name"], if ward == "w1" { "Medicinkliniken" } else { "" });
    }
    let ids: Vec<&str> = deps.iter().map(|d| d["department"].as_str()).collect();
    assert!(ids.contains(&"") && ids.contains(&"med"), "{ids:?}");
    // ward rows carry their department
    let (_, body) = get(app.clone(), path("level=ward")).await;
    for w in csv(&body) {
        assert_eq!(w["department"], if w["ward"] == "w1" { "med" } else { "" }, "{w:?}");
    }
    for filter in ["hospitals=nord", "departments=med", "hospitals=nord&departments=med"] {
        let (_, body) = get(app.clone(), path(&format!("level=department&{filter}"))).await;
        let only = csv(&body);
        assert!(!only.is_empty());
        assert!(only.iter().all(|d| d["department"] == "med"), "{filter}: {only:?}");
    }
    // the whole store takes no filter: the refusal names what was sent
    for filter in ["hospitals=nord", "departments=med"] {
        let (status, _, body) = call(&app, &path(&format!("level=hospital&{filter}")), Some(CONTROLLER)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{filter}: {body}");
        let param = filter.split('=').next().unwrap();
        assert!(
            body.contains(&format!("level=hospital is the whole store; {param} applies"))
                && !body.contains("drop wards"),
            "{filter}: {body}"
        );
    }

    // no department configured: a 400 saying how to declare them, no file
    let app = router(state_with(&world, config()));
    let (status, headers, body) = call(&app, &path("level=department"), Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(headers.get(header::CONTENT_DISPOSITION).is_none());
    let error: Value = serde_json::from_str(&body).expect("a JSON error");
    assert!(
        body.contains("[departments.<id>]") && body.contains("[wards.<id>] department"),
        "{error:#}"
    );
    // an unknown level lists every level
    let (status, _, body) = call(&app, &path("level=clinic"), Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("hospital, department, ward, team"), "{body}");
}

careload_testkit::on_every_backend!(department_exports_sum_their_wards);
