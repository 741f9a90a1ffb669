//! Hospitals of a region (issue 29): the level above the departments, from
//! `[hospitals.<id>]` and each department's `hospital`. The region's view
//! sums each hospital's wards and the wards of none; a hospital has its
//! JSON view and its page, its departments grouped as the hospital
//! overview groups them; a screen token scoped to a hospital reads that
//! hospital, its departments and its wards, and nothing else, checked
//! against the wards of the very view it is served (a cached one may be an
//! earlier hour's); exports take `hospitals=`. Every test runs on SQLite,
//! and on PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::StatusCode;
use careload_api::{AppState, router};
use careload_config::{Config, DepartmentConfig, HospitalConfig, Role, TokenConfig, WardConfig};
use careload_store::{Store, hour_of};
use chrono::{Duration, Utc};
use serde_json::Value;

use common::{CONTROLLER, STAFF, call, config, hour_patients, json, milli, patient_with_care, world, write};

/// The hospital-scoped screen token's secret.
const UAS_SCREEN: &str = "screen-secret-uas";
/// The secret of a screen token that lists every ward.
const ALL_SCREEN: &str = "screen-secret-all";

/// The world's two wards in two hospitals — w1 in department `med` of
/// `uas` (named), w2 in `kir` of `enk` (unnamed) — a third ward, w3, in
/// department `rest` of no hospital, and a fourth, w4, in `ger` of `uas`
/// with no beds configured; a screen token for `uas`, and one listing all
/// four wards.
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
    c.departments.insert("ger".into(), department(Some("uas")));
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
    c.wards.insert(
        "w4".into(),
        WardConfig {
            department: Some("ger".into()),
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
        .push(token("all-screen", &["w1", "w2", "w3", "w4"], &[], "T_ALL_SCREEN"));
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

/// Two patients on w4 at `hour`, in no bed (so w4 has no beds, configured
/// or seen).
fn w4_patients(hour: chrono::DateTime<Utc>) -> Vec<careload_scoring::Snapshot> {
    ["pe", "pf"]
        .into_iter()
        .map(|key| {
            let mut s = patient_with_care(key, "w4", "g", "x", hour, 4);
            s.placement.bed = None;
            s
        })
        .collect()
}

async fn hospitals_sum_their_wards_add_up_to_the_region_and_scope_screen_tokens(store: Store) {
    let world = world(store).await;
    // w4 has patients in the current hour only: no beds and no past hours
    let mut now = hour_patients(world.hour, 0);
    now.extend(w4_patients(world.hour));
    write(&world.store, &world.weights, world.hour, now).await;
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
    assert_eq!(wards.as_array().unwrap().len(), 4, "{overview:#}");

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
    // enk has one ward, w2: its figures are the hospital's
    let enk = by_id(hospitals, "enk");
    let w2 = by_id(wards, "w2");
    assert!(w2["totals"]["patients"].as_u64().unwrap() > 0, "{w2:#}");
    assert_eq!(sums(enk), sums(w2));
    assert_eq!(enk["wards"], serde_json::json!(["w2"]));
    for field in ["beds", "occupancy", "expected", "expected_samples", "indicator"] {
        assert_eq!(enk[field], w2[field], "enk {field}");
    }
    assert_eq!(enk["name"], "enk", "no name configured: the id");

    // uas has two: w1 (ten beds configured, four past weeks) and w4 (no
    // beds configured or seen, no past hours, so no expected level)
    let uas = by_id(hospitals, "uas");
    let (w1, w4) = (by_id(wards, "w1"), by_id(wards, "w4"));
    assert_eq!(uas["name"], "Akademiska sjukhuset");
    assert_eq!(uas["departments"], serde_json::json!(["ger", "med"]));
    assert_eq!(uas["wards"], serde_json::json!(["w1", "w4"]));
    assert_eq!(w1["beds"], 10, "{w1:#}");
    assert!(w1["expected"].is_number(), "w1 has an expected level: {w1:#}");
    assert_eq!(w1["expected_samples"], 4);
    assert_ne!(w1["indicator"], "too_little_data", "{w1:#}");
    assert_eq!(w4["totals"]["patients"], 2, "{w4:#}");
    assert!(w4["beds"].is_null() && w4["occupancy"].is_null(), "{w4:#}");
    assert!(w4["expected"].is_null(), "{w4:#}");
    assert_eq!(w4["expected_samples"], 0);
    assert_eq!(w4["indicator"], "too_little_data");
    // patients, points, USK and SSK: the sums over both wards
    let both: Vec<i64> = sums(w1).iter().zip(sums(w4)).map(|(a, b)| a + b).collect();
    assert_eq!(sums(uas).to_vec(), both);
    assert!(sums(w4)[1] > 0, "w4's points count: {w4:#}");
    // beds and occupancy over the wards whose beds are known: w1's alone,
    // w4's patients in neither
    assert_eq!(uas["beds"], 10);
    let w1_patients = w1["totals"]["patients"].as_f64().unwrap();
    assert_eq!(uas["occupancy"].as_f64(), Some(w1_patients / 10.0), "{uas:#}");
    assert_eq!(uas["occupancy"], w1["occupancy"]);
    // the expected level is the sum only when every ward has one: w4 has
    // none, so neither has uas, judged on the fewest past hours (w4's none)
    assert!(uas["expected"].is_null(), "{uas:#}");
    assert_eq!(uas["expected_samples"], 0);
    assert_eq!(uas["indicator"], "too_little_data");

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
    assert_eq!(region["region"]["wards"], serde_json::json!(["w1", "w2", "w3", "w4"]));
    let beds: u64 = wards
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w["beds"].as_u64())
        .sum();
    assert_eq!(region["region"]["beds"], beds, "the wards' beds, configured or seen");
    assert_eq!(beds, 10 + 1 + 12, "w2's one bed seen, w4 none");
    assert!(region["region"]["expected"].is_null(), "w4 has no expected level");

    // one hospital's view: its sums, its departments, its wards as the overview shows them
    let view = json(&app, "/api/v1/hospitals/uas", Some(STAFF)).await;
    assert_eq!(view["hospital"], *uas);
    assert_eq!(view["wards"], serde_json::json!([w1, w4]), "{view:#}");
    let departments: Vec<&str> = view["departments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(departments, ["ger", "med"]);
    for d in ["ger", "med"] {
        assert_eq!(by_id(&view["departments"], d), by_id(&overview["departments"], d));
    }
    assert_eq!(sums(by_id(&view["departments"], "ger")), sums(w4), "one ward, w4");
    // a department read on its own wards alone agrees with the overview
    let med = json(&app, "/api/v1/departments/med", Some(STAFF)).await;
    assert_eq!(med["wards"], serde_json::json!([w1]));
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
        (format!("/departments/ger?token={UAS_SCREEN}"), StatusCode::OK),
        (format!("/wards/w4/screen?token={UAS_SCREEN}"), StatusCode::OK),
        (format!("/hospitals/enk?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/departments/kir?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/wards/w2/screen?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/region?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        (format!("/?token={UAS_SCREEN}"), StatusCode::FORBIDDEN),
        // a screen token that covers every ward reads the region
        (format!("/region?token={ALL_SCREEN}"), StatusCode::OK),
        (format!("/hospitals/enk?token={ALL_SCREEN}"), StatusCode::OK),
        // the world's w1 token covers med (its one ward), not uas (w4 too)
        (format!("/departments/med?token={}", common::SCREEN), StatusCode::OK),
        (
            format!("/hospitals/uas?token={}", common::SCREEN),
            StatusCode::FORBIDDEN,
        ),
        (format!("/region?token={}", common::SCREEN), StatusCode::FORBIDDEN),
    ];
    for (path, expected) in cases {
        let (status, _, body) = call(&app, &path, None).await;
        assert_eq!(status, expected, "{path}: {body}");
        if path.starts_with("/hospitals/uas") && expected == StatusCode::OK {
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
    // a hospital or department that does not exist: a screen token is told
    // the ones it may read, not to name the unknown one (config refuses it)
    for (path, token, may) in [
        ("/api/v1/hospitals/nowhere", UAS_SCREEN, "it may read hospitals: uas"),
        (
            "/api/v1/departments/nowhere",
            UAS_SCREEN,
            "it may read departments: ger, med",
        ),
        (
            "/api/v1/hospitals/nowhere",
            common::SCREEN,
            "it covers no whole hospital",
        ),
    ] {
        let (status, _, body) = call(&app, path, Some(token)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert!(body.contains(may), "{path}: {body}");
        assert!(!body.contains("nowhere\\\"]"), "no hint to add it: {body}");
        assert!(
            !body.contains("enk") && !body.contains("kir"),
            "nothing of others: {body}"
        );
    }
    let (status, _, _) = call(&app, &format!("/hospitals/nowhere?token={UAS_SCREEN}"), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, body) = call(&app, "/api/v1/region", Some(UAS_SCREEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, body) = call(&app, "/api/v1/region", Some(ALL_SCREEN)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, _) = call(&app, "/api/v1/wards/w1", Some(UAS_SCREEN)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&app, "/api/v1/wards/w2", Some(UAS_SCREEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // a controller's export of one hospital: its wards' rows only (the
    // current hour's local date, where w4's one hour is)
    let day = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
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
    assert_eq!(exported(&rows), ["w1", "w4"], "{rows:#}");
    let rows = json(&app, &export("hospitals=uas,enk"), Some(CONTROLLER)).await;
    assert_eq!(exported(&rows), ["w1", "w2", "w4"]);
    let rows = json(&app, &export("hospitals=enk&departments=med"), Some(CONTROLLER)).await;
    assert_eq!(exported(&rows), ["w1", "w2"], "besides the departments'");
    let (status, _, body) = call(&app, &export("hospitals=nowhere"), Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("hospitals") && body.contains("enk, uas"), "{body}");
}

/// The response cache's current time bucket.
fn bucket() -> i64 {
    Utc::now().timestamp().div_euclid(careload_api::cache::TTL_SECONDS)
}

/// Waits, if need be, for a cache bucket with at least five seconds left,
/// and returns it: what is built in it is served unchanged until it ends.
async fn fresh_bucket() -> i64 {
    loop {
        let into = Utc::now().timestamp().rem_euclid(careload_api::cache::TTL_SECONDS);
        if careload_api::cache::TTL_SECONDS - into > 5 {
            return bucket();
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}

/// The race the region's check once lost: the check read the wards of the
/// current hour, the body came from the cache, built before a ward left
/// the data. A ward `x` of no configuration is in the data 40 days ago;
/// the region is built then (by a staffing caller, so in the cache); a new
/// hour is written without it, and x, seen more than 30 days before it,
/// leaves the region. A screen token covering every ward of the new hour
/// (w1, w2) but not x must not be served the cached body that still shows
/// x. Deterministic: nothing clears the cache between (no run calls
/// `data_changed`), and all of it happens within one cache bucket.
async fn a_cached_region_is_served_only_to_a_token_covering_its_own_wards(store: Store) {
    const BOTH: &str = "screen-secret-w1-w2";
    let w = common::weights();
    store.record_weights(&w).await.expect("record weights");
    let mut c = config();
    c.api.tokens.push(TokenConfig {
        name: "both-screen".into(),
        role: Role::Screen,
        wards: vec!["w1".into(), "w2".into()],
        departments: Vec::new(),
        hospitals: Vec::new(),
        secret_env: Some("T_BOTH".into()),
        secret_file: None,
    });
    c.validate().expect("the test's config is valid");
    let current = hour_of(Utc::now());
    let old = current - Duration::days(40);
    let in_bed = |key: &str, ward: &str, hour| patient_with_care(key, ward, "a", "1", hour, 1);
    write(&store, &w, old, vec![in_bed("pa", "w1", old), in_bed("px", "x", old)]).await;
    let state = AppState::with_env(store.clone(), Arc::new(c), Arc::new(w.clone()), |k| match k {
        "T_BOTH" => Some(BOTH.into()),
        other => common::env(other),
    })
    .expect("state");
    let app = router(state.clone());

    let bucket_at_start = fresh_bucket().await;
    // built at the old hour, x among its wards: the JSON and the page (a
    // header's token shares the page with every caller sending one)
    let region = json(&app, "/api/v1/region", Some(STAFF)).await;
    assert_eq!(
        region["region"]["wards"],
        serde_json::json!(["w1", "w2", "x"]),
        "{region:#}"
    );
    let (status, _, page) = call(&app, "/region", Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // the new hour, without x
    write(
        &store,
        &w,
        current,
        vec![in_bed("pa", "w1", current), in_bed("pd", "w2", current)],
    )
    .await;
    let (json_status, _, json_body) = call(&app, "/api/v1/region", Some(BOTH)).await;
    let (page_status, _, page_body) = call(&app, "/region", Some(BOTH)).await;
    assert_eq!(
        bucket(),
        bucket_at_start,
        "the requests outlasted a cache bucket ({} s): the cache rebuilt, the test proves nothing; run it again",
        careload_api::cache::TTL_SECONDS
    );
    assert_eq!(
        json_status,
        StatusCode::FORBIDDEN,
        "served the cached region with x: {json_body}"
    );
    assert!(json_body.contains("covers every ward"), "{json_body}");
    assert!(!json_body.contains("\"x\""), "{json_body}");
    assert_eq!(
        page_status,
        StatusCode::FORBIDDEN,
        "served the cached page: {page_body}"
    );
    assert!(page_body.contains("Ingen behörighet"), "{page_body}");

    // once rebuilt (as after a run), the region of the new hour is the token's to read
    state.data_changed();
    let region = json(&app, "/api/v1/region", Some(BOTH)).await;
    assert_eq!(region["region"]["wards"], serde_json::json!(["w1", "w2"]), "{region:#}");
    let (status, _, page) = call(&app, "/region", Some(BOTH)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // and a token that covers part of it still may not
    let (status, _, body) = call(&app, "/api/v1/region", Some(common::SCREEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "w1 alone does not cover w2: {body}");
}

careload_testkit::on_every_backend!(
    hospitals_sum_their_wards_add_up_to_the_region_and_scope_screen_tokens,
    a_cached_region_is_served_only_to_a_token_covering_its_own_wards,
);
