//! What the screens and the JSON API show: a ward's patients and totals
//! (the real scoring core's numbers), gzip for clients that accept it, a
//! ward's history and forecast, a patient with what changed since the
//! previous hour, the hospital with each ward against its usual level, and
//! which wards are listed. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (the workspace's store
//! harness, `careload_testkit`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::sync::Arc;

use axum::http::{StatusCode, header};
use careload_api::router;
use careload_scoring::{forecast, score_now};
use careload_store::{Store, hour_of};
use chrono::{Duration, Utc};
use serde_json::Value;

use common::{
    SCREEN, STAFF, World, call, config, get_raw, hour_patients, json, milli, patient_with_care, state_with, weights,
    world, write,
};

async fn ward_totals_are_the_sums_of_the_scored_patients(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;

    assert_eq!(v["name"], "Avd 1");
    assert_eq!(v["beds"], 10);
    let patients = v["patients"].as_array().expect("patients");
    let keys: Vec<&str> = patients.iter().map(|p| p["key"].as_str().unwrap_or("")).collect();
    assert_eq!(keys, ["pa", "pb", "pc"], "by team then bed");
    let sum: i64 = patients.iter().map(|p| milli(&p["total"])).sum();
    assert_eq!(milli(&v["totals"]["total"]), sum);
    assert_eq!(v["totals"]["patients"], 3);
    let teams: i64 = v["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| milli(&t["totals"]["total"]))
        .sum();
    assert_eq!(teams, sum);

    // Each row carries the real scoring core's numbers for its snapshot.
    let w = weights();
    for s in world.now.iter().filter(|s| s.placement.ward == "w1") {
        let score = score_now(s, &w);
        let row = patients.iter().find(|p| p["key"] == s.key.0.as_str()).expect("row");
        assert_eq!(milli(&row["total"]), score.total.milli(), "{}", s.key);
        assert_eq!(milli(&row["usk"]), score.professions.usk.milli());
        assert_eq!(milli(&row["ssk"]), score.professions.ssk.milli());
        assert_eq!(row["medications"], 1);
        assert_eq!(row["orders"], 1);
        assert_eq!(row["norton"], "walks_with_help");
        assert_eq!(row["birth_year"], 1944);
    }
    let pa = &patients[0];
    assert_eq!(pa["news2"], 7);
    assert_eq!(pa["news2_risk"], "high");
    assert_eq!(
        pa["band"], "very_high",
        "the NEWS2 7 patient is the hospital's heaviest"
    );
    assert_eq!(v["state"]["stale"], false);
    assert_eq!(v["state"]["stale_reason"], serde_json::Value::Null);
    assert_eq!(v["state"]["weights_version"], "2026.1");
    assert_eq!(v["state"]["last_run"]["outcome"], "ok");
}

/// `path` as the staffing token, with `Accept-Encoding: accept` when given.
async fn call_encoded(
    app: &axum::Router,
    path: &str,
    accept: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let headers: Vec<_> = accept.map(|a| (header::ACCEPT_ENCODING, a)).into_iter().collect();
    get_raw(app, path, Some(STAFF), &headers).await
}

async fn cached_responses_go_gzipped_to_clients_that_accept_it(store: Store) {
    use std::io::Read as _;
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    for path in ["/api/v1/wards/w1", "/api/v1/hospital", "/wards/w1/screen"] {
        let (status, plain_headers, plain) = call_encoded(&app, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            plain.len() >= careload_api::cache::GZIP_MIN_BYTES,
            "{path}: {} bytes",
            plain.len()
        );
        assert_eq!(
            plain_headers.get(header::CONTENT_ENCODING),
            None,
            "{path}: no gzip unless asked"
        );
        let vary = |h: &axum::http::HeaderMap| {
            h.get_all(header::VARY)
                .iter()
                .any(|v| v.to_str().unwrap_or("").contains("accept-encoding"))
        };
        assert!(
            vary(&plain_headers),
            "{path}: caches are told the body depends on Accept-Encoding"
        );

        let (status, headers, sent) = call_encoded(&app, path, Some("gzip, deflate, br, zstd")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            headers.get(header::CONTENT_ENCODING).map(|v| v.as_bytes()),
            Some(&b"gzip"[..]),
            "{path}"
        );
        assert_eq!(
            headers.get(header::CONTENT_TYPE),
            plain_headers.get(header::CONTENT_TYPE)
        );
        assert!(vary(&headers));
        // JSON of a few ward rows compresses about threefold: 2.5× is a clear margin
        assert!(
            sent.len() * 5 < plain.len() * 2,
            "{path}: {} gzipped against {} plain",
            sent.len(),
            plain.len()
        );
        let mut unzipped = Vec::new();
        flate2::read::GzDecoder::new(&sent[..])
            .read_to_end(&mut unzipped)
            .expect("a valid gzip stream");
        assert_eq!(unzipped, plain, "{path}: the gzip copy is the same body");

        let (_, refused, body) = call_encoded(&app, path, Some("gzip;q=0, br")).await;
        assert_eq!(
            refused.get(header::CONTENT_ENCODING),
            None,
            "{path}: gzip;q=0 refuses it"
        );
        assert_eq!(body, plain);
    }
    // Errors and short bodies are sent as they are.
    let (status, headers, _) = call_encoded(&app, "/api/v1/wards/nope", Some("gzip")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers.get(header::CONTENT_ENCODING), None);
}

async fn history_defaults_to_120_hours_and_checks_its_range(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/wards/w1/history", Some(SCREEN)).await;
    assert_eq!(
        v["ward"]["points"].as_array().map(Vec::len),
        Some(6),
        "the six recent hours"
    );
    assert_eq!(v["patients"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["teams"].as_array().map(Vec::len), Some(2));
    let last = &v["ward"]["points"][5];
    let ward_now = json(&app, "/api/v1/wards/w1", Some(SCREEN)).await;
    assert_eq!(milli(&last["total"]), milli(&ward_now["totals"]["total"]));

    let from = (world.hour - Duration::hours(2)).to_rfc3339();
    let to = world.hour.to_rfc3339();
    let path = format!("/api/v1/wards/w1/history?from={}&to={}", enc(&from), enc(&to));
    let v = json(&app, &path, Some(SCREEN)).await;
    assert_eq!(
        v["ward"]["points"].as_array().map(Vec::len),
        Some(2),
        "[from, to) holds two hours"
    );

    let cases = [
        ("/api/v1/wards/w1/history?from=yesterday", 400, "RFC 3339"),
        (
            "/api/v1/wards/w1/history?from=2020-01-01T00:00:00Z",
            400,
            "at most 400 days",
        ),
        (
            &*format!("/api/v1/wards/w1/history?from={}&to={}", enc(&to), enc(&from)),
            400,
            "earlier than to",
        ),
        ("/api/v1/wards/nope/history", 403, "may read wards: w1"),
    ];
    for (path, status, hint) in cases {
        let (s, _, body) = call(&app, path, Some(SCREEN)).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).expect("json error");
        assert!(v["hint"].as_str().is_some_and(|h| h.contains(hint)), "{path}: {body}");
    }
}

fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn a_patient_says_what_changed_since_the_previous_hour(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (status, _, body) = call(&app, "/api/v1/patients/pa", Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        !body.contains("Observation/") && !body.contains("Task/") && !body.contains("MedicationRequest/"),
        "FHIR references must not be served: {body}"
    );
    let v: Value = serde_json::from_str(&body).expect("json");

    assert_eq!(v["weights_version"], "2026.1");
    assert_eq!(v["ward"], "w1");
    let contributions = v["contributions"].as_array().expect("contributions");
    let sum: i64 = contributions.iter().map(|c| milli(&c["points"])).sum();
    assert_eq!(sum, milli(&v["patient"]["total"]), "the breakdown adds up to the total");
    assert!(contributions.iter().any(|c| {
        c["parameter_path"]
            .as_str()
            .is_some_and(|p| p.starts_with("news2.bands"))
    }));
    assert!(
        contributions
            .iter()
            .all(|c| c["item"].is_string() && c["weight"].is_number())
    );

    let change = &v["change"];
    assert_eq!(change["news2"]["value"]["from"], 1, "{change}");
    assert_eq!(change["news2"]["value"]["to"], 7);
    assert_eq!(change["news2"]["risk"]["to"], "high");
    assert!(milli(&change["total"]["delta"]) > 0);
    let news2_component = change["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["component"] == "news2")
        .expect("news2 component changed");
    assert!(milli(&news2_component["delta"]) > 0);
    // Each hour has its own task: the previous one ended, the new one started.
    assert!(
        change["started"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["kind"] == "activity"))
    );
    assert!(
        change["ended"]
            .as_array()
            .is_some_and(|a| a.iter().any(|i| i["kind"] == "activity"))
    );
    let reasons: i64 = ["started", "ended", "changed"]
        .iter()
        .flat_map(|k| change[*k].as_array().cloned().unwrap_or_default())
        .map(|i| milli(&i["delta"]))
        .sum();
    assert_eq!(reasons, milli(&change["total"]["delta"]), "the why adds up to the what");

    let (status, _, body) = call(&app, "/api/v1/patients/nobody", Some(STAFF)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("GET /api/v1/wards/{id}"), "{body}");
}

async fn the_forecast_has_eight_hours_that_add_up(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/wards/w1/forecast", Some(SCREEN)).await;
    assert_eq!(v["hours"].as_array().map(Vec::len), Some(8));
    let ward: Vec<i64> = v["ward"]["totals"]
        .as_array()
        .expect("ward")
        .iter()
        .map(milli)
        .collect();
    assert_eq!(ward.len(), 8);
    let patients = v["patients"].as_array().expect("patients");
    assert_eq!(patients.len(), 3);
    for (h, total) in ward.iter().enumerate() {
        let sum: i64 = patients.iter().map(|p| milli(&p["totals"][h])).sum();
        assert_eq!(*total, sum, "hour {h}");
    }
    let w = weights();
    let pa = world.now.iter().find(|s| s.key.0 == "pa").expect("pa");
    let expected: Vec<i64> = forecast(pa, &w, 8).iter().map(|s| s.total.milli()).collect();
    let got: Vec<i64> = patients.iter().find(|p| p["name"] == "pa").expect("pa")["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .map(milli)
        .collect();
    assert_eq!(got, expected);
    assert_ne!(
        ward[0], ward[7],
        "the activity and order due now are not due in seven hours"
    );
}

async fn the_hospital_compares_each_ward_with_its_own_hour_of_week(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/hospital", Some(STAFF)).await;
    let wards = v["wards"].as_array().expect("wards");
    let w1 = &wards[0];
    assert_eq!(w1["id"], "w1");
    assert_eq!(w1["expected_samples"], 4);
    assert_eq!(w1["expected_basis"], "hour_of_week");
    assert_eq!(
        w1["indicator"], "higher",
        "three patients now against one in past weeks: {w1}"
    );
    assert_eq!(w1["beds"], 10);
    assert_eq!(w1["occupancy"], 0.3);
    let w2 = &wards[1];
    assert_eq!(w2["indicator"], "too_little_data");
    assert_eq!(w2["beds"], 1, "not configured: the distinct beds seen");
    let sum: i64 = wards.iter().map(|w| milli(&w["totals"]["total"])).sum();
    assert_eq!(milli(&v["totals"]["total"]), sum);
    assert_eq!(v["totals"]["patients"], 4);

    let (s, _, _) = call(&app, &format!("/?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK);
}

/// Five days of history (the demo's): no same hour of the week yet, so the
/// expected level is the same hour of the day over the previous days.
async fn a_young_ward_is_compared_with_its_hour_of_day_until_weeks_exist(store: Store) {
    let w = weights();
    store.record_weights(&w).await.expect("record weights");
    let hour = hour_of(Utc::now());
    let tz: chrono_tz::Tz = chrono_tz::Europe::Stockholm;
    for past in careload_app::query::same_hour_of_day(hour, &tz, 4) {
        write(&store, &w, past, vec![patient_with_care("pb", "w1", "a", "2", past, 0)]).await;
    }
    write(&store, &w, hour, hour_patients(hour, 0)).await;
    let world = World {
        store,
        weights: Arc::new(w),
        hour,
        now: hour_patients(hour, 0),
    };
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/hospital", Some(STAFF)).await;
    let w1 = &v["wards"][0];
    assert_eq!(w1["id"], "w1");
    assert_eq!(w1["expected_basis"], "hour_of_day", "{w1}");
    assert_eq!(w1["expected_samples"], 4);
    assert_eq!(
        w1["indicator"], "higher",
        "three patients now against one on past days: {w1}"
    );
    let w2 = &v["wards"][1];
    assert_eq!(w2["indicator"], "too_little_data", "no past hours at all: {w2}");
}

async fn a_ward_that_just_emptied_is_listed_empty_and_an_old_one_is_not(store: Store) {
    let world = world(store).await;
    let w = &world.weights;
    // w3 (not configured) had a patient two hours ago; w4 forty days ago.
    let two_ago = world.hour - Duration::hours(2);
    let mut then = hour_patients(two_ago, 2);
    then.push(patient_with_care("pe", "w3", "x", "1", two_ago, 1));
    write(&world.store, w, two_ago, then).await;
    let long_ago = world.hour - Duration::days(40);
    write(
        &world.store,
        w,
        long_ago,
        vec![patient_with_care("pf", "w4", "y", "1", long_ago, 1)],
    )
    .await;
    let app = router(state_with(&world, config()));

    let v = json(&app, "/api/v1/wards", Some(STAFF)).await;
    let listed: Vec<(String, u64)> = v["wards"]
        .as_array()
        .expect("wards")
        .iter()
        .map(|w| {
            (
                w["id"].as_str().expect("id").to_owned(),
                w["patients"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [("w1".to_owned(), 3), ("w2".to_owned(), 1), ("w3".to_owned(), 0)]
    );
    let (s, _, body) = call(&app, "/api/v1/wards/w3", Some(STAFF)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, _, _) = call(&app, "/api/v1/wards/w4", Some(STAFF)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

careload_testkit::on_every_backend!(
    ward_totals_are_the_sums_of_the_scored_patients,
    cached_responses_go_gzipped_to_clients_that_accept_it,
    history_defaults_to_120_hours_and_checks_its_range,
    a_patient_says_what_changed_since_the_previous_hour,
    the_forecast_has_eight_hours_that_add_up,
    the_hospital_compares_each_ward_with_its_own_hour_of_week,
    a_young_ward_is_compared_with_its_hour_of_day_until_weeks_exist,
    a_ward_that_just_emptied_is_listed_empty_and_an_old_one_is_not,
);
