//! The HTML pages as a kiosk or a nurse meets them: the patient page
//! reached by ward and bed (as the ward screen shows the bed, or by its
//! full id) with the patient's total, refused to a screen token of another
//! ward; HTML routes that answer a mistyped ward, bed or path with a short
//! Swedish page linking back to the overview (keeping `?token=`) instead of
//! JSON, while `/api/…` keeps its JSON problems; and a link to the overview
//! on every page. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (`careload_testkit`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use axum::http::{HeaderMap, StatusCode, header};
use careload_api::router;
use careload_store::Store;

use common::{SCREEN, STAFF, call, config, json, milli, state_with, world};

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Points as the pages write them: one decimal, a decimal comma.
fn shown(milli: i64) -> String {
    let tenths = (milli as f64 / 100.0).round() as i64;
    let sign = if tenths < 0 { "−" } else { "" };
    format!("{sign}{},{}", tenths.abs() / 10, tenths.abs() % 10)
}

/// A mistyped ward on the kiosk's screen page: a Swedish page saying so,
/// with a link back to the overview that keeps the token, not raw JSON.
async fn a_mistyped_ward_answers_a_swedish_page_with_a_link_to_the_overview(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (s, headers, body) = call(&app, &format!("/wards/w99/screen?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(content_type(&headers).starts_with("text/html"), "{headers:?}: {body}");
    assert!(body.contains(r#"<html lang="sv">"#), "{body}");
    assert!(body.contains("Avdelningen w99 finns inte"), "{body}");
    assert!(
        body.contains(&format!(r#"href="/?token={STAFF}""#)),
        "a link to the overview keeping the token: {body}"
    );
    assert!(!body.contains("\"error\""), "{body}");

    // with the token in the header: the same page, a link without a token
    let (s, headers, body) = call(&app, "/wards/w99/planning", Some(STAFF)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(content_type(&headers).starts_with("text/html"), "{body}");
    assert!(
        body.contains("Avdelningen w99 finns inte") && body.contains(r#"href="/""#),
        "{body}"
    );
}

/// A kiosk refused: 403 for another ward's screen, 401 for an unknown
/// token, each a Swedish page (the 401 with `WWW-Authenticate`, its links
/// without the unknown token); the JSON API refuses in JSON.
async fn a_refused_page_answers_a_swedish_page(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (s, headers, body) = call(&app, &format!("/wards/w2/screen?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(content_type(&headers).starts_with("text/html"), "{body}");
    assert!(
        body.contains("Ingen behörighet") && body.contains(&format!(r#"href="/?token={SCREEN}""#)),
        "{body}"
    );

    let (s, headers, body) = call(&app, "/wards/w1/screen?token=not-a-token", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(content_type(&headers).starts_with("text/html"), "{body}");
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    assert!(
        body.contains("Ingen behörighet") && body.contains(r#"href="/""#),
        "{body}"
    );
    assert!(!body.contains("not-a-token"), "{body}");

    let (s, headers, _) = call(&app, "/api/v1/wards/w2", Some(SCREEN)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(content_type(&headers), "application/json");
}

/// Any path outside `/api/` that is no page: 404 as a Swedish page; the
/// JSON API keeps its problems.
async fn unknown_paths_answer_a_page_and_the_api_keeps_json(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (s, headers, body) = call(&app, &format!("/ward/w1/screen?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(content_type(&headers).starts_with("text/html"), "{body}");
    assert!(body.contains("Sidan finns inte"), "{body}");
    assert!(body.contains(&format!(r#"href="/?token={SCREEN}""#)), "{body}");

    for path in ["/api/v1/wards/w99", "/api/v1/nothing-here"] {
        let (s, headers, body) = call(&app, path, Some(STAFF)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(content_type(&headers), "application/json", "{path}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert!(v["error"].is_string() && v["hint"].is_string(), "{path}: {body}");
    }
}

/// The patient page by ward and bed: the bed as the ward screen shows it
/// or its full id, the patient's total as the JSON says; an empty bed is a
/// Swedish 404; a screen token opens its own ward's beds and no other's.
async fn a_bed_opens_the_patient_page(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let detail = json(&app, "/api/v1/patients/pa", Some(STAFF)).await;
    let total = shown(milli(&detail["patient"]["total"]));

    for path in [
        format!("/wards/w1/beds/1?token={SCREEN}"),
        "/wards/w1/beds/1".to_owned(),
    ] {
        let token = if path.contains("token=") { None } else { Some(STAFF) };
        let (s, headers, body) = call(&app, &path, token).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        assert!(content_type(&headers).starts_with("text/html"), "{path}");
        assert!(body.contains(&format!(">{total}<")), "{path}: total {total} in {body}");
        assert!(body.contains("Avd 1") && body.contains("Säng 1"), "{path}: {body}");
        assert!(body.contains("Poäng nu per komponent"), "{path}: {body}");
        assert!(body.contains("NEWS2 steg från 1 till 7"), "{path}: {body}");
        assert!(body.contains(r#"href="/"#), "a link to the overview: {body}");
        assert!(body.contains(r#"href="/wards/w1/screen"#), "a link to the ward: {body}");
    }
    // by pseudonym
    let (s, _, body) = call(&app, "/patients/pa", Some(STAFF)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains(&format!(">{total}<")), "{body}");

    let (s, headers, body) = call(&app, "/wards/w1/beds/9", Some(STAFF)).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
    assert!(content_type(&headers).starts_with("text/html"), "{body}");
    assert!(body.contains("Ingen patient i säng 9"), "{body}");

    // another ward's bed with a screen token of w1: refused, as its screen is
    let (s, headers, body) = call(&app, &format!("/wards/w2/beds/1?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(!body.contains("Poäng nu"), "{body}");
    assert!(content_type(&headers).starts_with("text/html"), "{body}");
    assert!(body.contains("Ingen behörighet"), "{body}");
    // the pseudonym's page is for staff, not for a screen token
    let (s, _, body) = call(&app, &format!("/patients/pa?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
}

/// The ward screen's beds link to the patient page, keeping the token.
async fn the_ward_screen_links_each_bed_to_its_page(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (s, _, body) = call(&app, &format!("/wards/w1/screen?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(
        body.contains(&format!(r#"href="/wards/w1/beds/1?token={SCREEN}""#)),
        "{body}"
    );
}

/// Every page has a visible link to the overview.
async fn every_page_links_to_the_overview(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    for path in [
        "/wards/w1/screen",
        "/wards/w1/planning",
        "/admissions",
        "/wards/w1/beds/1",
        "/patients/pa",
    ] {
        let (s, _, body) = call(&app, &format!("{path}?token={STAFF}"), None).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        assert!(
            body.contains(&format!(r#"href="/?token={STAFF}">"#)),
            "{path}: no link to the overview"
        );
    }
}

careload_testkit::on_every_backend!(
    a_mistyped_ward_answers_a_swedish_page_with_a_link_to_the_overview,
    unknown_paths_answer_a_page_and_the_api_keeps_json,
    a_refused_page_answers_a_swedish_page,
    a_bed_opens_the_patient_page,
    the_ward_screen_links_each_bed_to_its_page,
    every_page_links_to_the_overview,
);
