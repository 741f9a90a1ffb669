//! `GET /api/v1/wards/{id}/calibration` (issue 27): the ward's calibration
//! from the staff's ratings as JSON for the staffing, controller and admin
//! roles, refused to a screen token, 404 for an unknown ward, 400 for a
//! window it cannot read. The use case's numbers are tested in
//! `crates/app/tests/calibration.rs`; here the route, its access and its
//! parameters. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use axum::http::StatusCode;
use careload_api::router;
use careload_store::Store;
use chrono::{Duration, Utc};
use serde_json::Value;

use common::{ADMIN, CONTROLLER, SCREEN, STAFF, call, config, json, state_with, world};

fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn the_calibration_is_served_to_staffing_and_refused_to_screens(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));

    let v = json(&app, "/api/v1/wards/w1/calibration", Some(STAFF)).await;
    assert_eq!(v["id"], "w1");
    assert_eq!(v["name"], "Avd 1");
    // the default window: eight weeks up to the end of the shift that ended last
    let from: chrono::DateTime<Utc> = v["from"].as_str().unwrap().parse().unwrap();
    let to: chrono::DateTime<Utc> = v["to"].as_str().unwrap().parse().unwrap();
    assert_eq!(to - from, Duration::weeks(8));
    assert!(to <= Utc::now());
    // no planned staffing in this world: every shift skipped and counted, nothing to fit
    let shifts = v["shifts_in_window"].as_u64().unwrap();
    assert!(shifts >= 8 * 7 * 3 - 1, "{shifts}");
    assert_eq!(v["shifts_without_planned_staffing"].as_u64(), Some(shifts));
    for fit in ["together", "usk", "ssk"] {
        assert_eq!(v[fit]["reliable"], false, "{fit}");
        assert_eq!(v[fit]["points"].as_array().map(Vec::len), Some(0), "{fit}");
        let reasons = v[fit]["reasons"].as_array().unwrap();
        assert_eq!(reasons[0]["code"], "too_few_shifts", "{fit}: {reasons:?}");
        assert_eq!(reasons[0]["text"], "för få skattade pass: 0 (minst 20)");
        assert_eq!(reasons[0]["detail"]["reason"], "too_few_shifts");
    }
    assert_eq!(v["rules"]["min_response_rate"], 0.7);

    // a window given: echoed
    let given_from = (world.hour - Duration::days(2)).to_rfc3339();
    let given_to = world.hour.to_rfc3339();
    let path = format!(
        "/api/v1/wards/w1/calibration?from={}&to={}",
        enc(&given_from),
        enc(&given_to)
    );
    let v = json(&app, &path, Some(CONTROLLER)).await;
    assert_eq!(
        v["from"].as_str().unwrap().parse::<chrono::DateTime<Utc>>().unwrap(),
        world.hour - Duration::days(2)
    );
    let _: Value = json(&app, "/api/v1/wards/w2/calibration", Some(ADMIN)).await;

    let cases = [
        ("/api/v1/wards/w1/calibration", Some(SCREEN), 403),
        ("/api/v1/wards/w1/calibration", None, 401),
        ("/api/v1/wards/nowhere/calibration", Some(STAFF), 404),
        ("/api/v1/wards/w1/calibration?from=yesterday", Some(STAFF), 400),
        ("/api/v1/wards/w1/calibration?weeks=8", Some(STAFF), 400),
        (
            &*format!(
                "/api/v1/wards/w1/calibration?from={}&to={}",
                enc(&given_to),
                enc(&given_from)
            ),
            Some(STAFF),
            400,
        ),
    ];
    for (path, token, status) in cases {
        let (s, _, body) = call(&app, path, token).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        assert_ne!(s, StatusCode::OK);
        let v: Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(v["error"].is_string(), "{path}: {body}");
    }
}

careload_testkit::on_every_backend!(the_calibration_is_served_to_staffing_and_refused_to_screens);
