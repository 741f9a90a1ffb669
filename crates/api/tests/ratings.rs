//! The front doors of the staff's shift ratings (issue 27): the rating page
//! and its form (`/wards/{id}/rate`), the JSON API (`POST` and `GET
//! /api/v1/wards/{id}/ratings`), the paper import (`…/ratings/import`, all
//! or nothing), and who may use them — a `rater` token of its own wards, the
//! kiosk's `screen` token (which may rate but not read the ratings),
//! staffing and admin. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (`careload_testkit`).
//!
//! The world is `tests/common`'s (wards w1 and w2, no planned staffing, so
//! a shift takes at most 30 ratings), with two `rater` tokens added: one of
//! w1, one of w2.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode, header};
use careload_api::{AppState, router};
use careload_config::{Role, TokenConfig};
use careload_store::Store;
use chrono::{Duration, Utc};
use serde_json::Value;

use common::{ADMIN, CONTROLLER, SCREEN, STAFF, World, call, post, world};

/// The secret of the `rater` token of ward w1.
const RATER_W1: &str = "rater-secret-w1";
/// The secret of the `rater` token of ward w2.
const RATER_W2: &str = "rater-secret-w2";

/// The world's API with the two rater tokens besides every role's.
fn app(world: &World) -> axum::Router {
    let mut config = common::config();
    for (name, ward) in [("rater-w1", "w1"), ("rater-w2", "w2")] {
        config.api.tokens.push(TokenConfig {
            name: name.into(),
            role: Role::Rater,
            wards: vec![ward.into()],
            departments: Vec::new(),
            hospitals: Vec::new(),
            secret_env: Some(format!("T_{}", name.to_uppercase().replace('-', "_"))),
            secret_file: None,
        });
    }
    let env = |key: &str| match key {
        "T_RATER_W1" => Some(RATER_W1.to_owned()),
        "T_RATER_W2" => Some(RATER_W2.to_owned()),
        other => common::env(other),
    };
    let state = AppState::with_env(world.store.clone(), Arc::new(config), world.weights.clone(), env).expect("state");
    router(state)
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The ratings the API lists for w1 over the last three days.
async fn listed(app: &axum::Router) -> Vec<Value> {
    let from = (Utc::now() - Duration::days(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (s, _, body) = call(app, &format!("/api/v1/wards/w1/ratings?from={from}"), Some(STAFF)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["ratings"].as_array().expect("ratings").clone()
}

/// The page a rater opens on a phone: Swedish, the seven PAONCIL choices
/// with their words, the shift that ended last chosen, the ward's teams,
/// the professions, that it is anonymous, and no JavaScript.
async fn the_rating_page_offers_the_seven_choices(store: Store) {
    let world = world(store).await;
    let app = app(&world);
    let (s, headers, body) = call(&app, &format!("/wards/w1/rate?token={RATER_W1}"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(content_type(&headers).starts_with("text/html"), "{headers:?}");
    assert!(body.contains(r#"<html lang="sv">"#));
    assert_eq!(body.matches(r#"name="rating""#).count(), 7, "{body}");
    for (value, shown, sv, en) in [
        ("-3", "−3", "mycket lägre än optimalt", "much lower than optimal"),
        ("-2", "−2", "lägre än optimalt", "lower than optimal"),
        ("-1", "−1", "något lägre än optimalt", "slightly lower than optimal"),
        ("0", "0", "optimalt", "optimal"),
        ("1", "+1", "något högre än optimalt", "slightly higher than optimal"),
        ("2", "+2", "högre än optimalt", "higher than optimal"),
        ("3", "+3", "mycket högre än optimalt", "much higher than optimal"),
    ] {
        assert!(
            body.contains(&format!(r#"name="rating" value="{value}""#)),
            "{value}: {body}"
        );
        assert!(body.contains(&format!(r#"<span class="n">{shown}</span>"#)), "{shown}");
        assert!(
            body.contains(&format!(">{sv}<")) && body.contains(&format!(">{en}<")),
            "{sv}"
        );
    }
    assert!(
        body.contains(r#"checked><span>"#),
        "a shift is chosen by default: {body}"
    );
    assert!(body.contains("Lag A"), "the ward's team by its display name: {body}");
    assert!(body.contains("USK") && body.contains("SSK") && body.contains("Vill inte ange"));
    assert!(body.contains("Anonymt"), "{body}");
    assert!(
        body.contains(&format!(r#"action="/wards/w1/rate?token={RATER_W1}""#)),
        "the form keeps the kiosk token: {body}"
    );
    assert!(!body.contains("<script"));
}

/// The form stores a rating for the shift that ended last and thanks with
/// the shift's count; a second one counts two. Nothing of who rated is
/// listed.
async fn the_form_stores_a_rating_and_the_thank_you_page_says_the_count(store: Store) {
    let world = world(store).await;
    let app = app(&world);
    let path = format!("/wards/w1/rate?token={RATER_W1}");
    let form = "application/x-www-form-urlencoded";
    let (s, body) = post(&app, &path, None, form, "team=a&profession=SSK&rating=2").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("Tack!") && body.contains("har nu 1 bedömning."), "{body}");
    let (s, body) = post(&app, &path, None, form, "team=&profession=&rating=-1").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("har nu 2 bedömningar."), "{body}");
    assert!(
        body.contains(&format!(r#"href="/wards/w1/rate?token={RATER_W1}""#)),
        "back to the rating page: {body}"
    );

    let ratings = listed(&app).await;
    assert_eq!(ratings.len(), 2, "{ratings:?}");
    // within a shift by team (the whole ward first), profession and rating, never as received
    assert_eq!(ratings[0]["rating"], -1);
    assert!(ratings[0]["team"].is_null() && ratings[0]["profession"].is_null());
    assert_eq!(ratings[1]["rating"], 2);
    // stored with team a and SSK (the app's tests read the store), but one
    // rating of a team or a profession would be one person's: not served
    assert!(
        ratings[1]["team"].is_null() && ratings[1]["profession"].is_null(),
        "{ratings:?}"
    );
    for r in &ratings {
        let mut keys: Vec<&str> = r.as_object().expect("object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["profession", "rating", "shift", "shift_start", "team"],
            "anonymous: nothing of who rated, nor when or where from"
        );
    }
}

/// The JSON door answers 201 with the shift and its count; a rating of 4
/// is refused with the reason, as JSON from the API and as a Swedish page
/// (with the same status) from the form.
async fn the_api_answers_201_and_a_rating_of_4_is_refused_with_the_reason(store: Store) {
    let world = world(store).await;
    let app = app(&world);
    let json = "application/json";
    let (s, body) = post(
        &app,
        "/api/v1/wards/w1/ratings",
        Some(RATER_W1),
        json,
        r#"{"rating": 1}"#,
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (v["ward"].as_str(), v["ratings"].as_u64(), v["limit"].as_u64()),
        (Some("w1"), Some(1), Some(30))
    );
    assert!(v["shift"].is_string() && v["start"].is_string(), "{v}");

    let (s, body) = post(
        &app,
        "/api/v1/wards/w1/ratings",
        Some(RATER_W1),
        json,
        r#"{"rating": 4}"#,
    )
    .await;
    assert!(matches!(s.as_u16(), 400 | 422), "{s}: {body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    let hint = v["hint"].as_str().unwrap_or_default();
    assert!(hint.contains("4 is not a rating") && hint.contains("−3"), "{body}");

    let form = "application/x-www-form-urlencoded";
    let (s, body) = post(&app, "/wards/w1/rate", Some(RATER_W1), form, "rating=4").await;
    assert!(matches!(s.as_u16(), 400 | 422), "{s}: {body}");
    assert!(body.contains("Bedömningen sparades inte"), "{body}");
    assert!(
        body.contains("Välj en bedömning från −3 till +3."),
        "in Swedish: {body}"
    );
    assert!(body.contains(r#"href="/wards/w1/rate""#), "a link back: {body}");

    let (s, body) = post(
        &app,
        "/api/v1/wards/w1/ratings",
        Some(RATER_W1),
        json,
        r#"{"rating": 0, "team": "zz"}"#,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(listed(&app).await.len(), 1, "only the accepted rating is stored");
}

/// A `rater` token rates its own wards only; it reads nothing. The kiosk's
/// `screen` token may rate its ward but not read the ratings.
async fn raters_and_screens_rate_their_own_wards_and_read_no_ratings(store: Store) {
    let world = world(store).await;
    let app = app(&world);
    let json = "application/json";
    let rating = r#"{"rating": -2}"#;
    // another ward's rater
    let (s, body) = post(&app, "/api/v1/wards/w1/ratings", Some(RATER_W2), json, rating).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("this rater token may rate wards: w2"), "{body}");
    let (s, _, body) = call(&app, &format!("/wards/w1/rate?token={RATER_W2}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = post(
        &app,
        &format!("/wards/w1/rate?token={RATER_W2}"),
        None,
        "application/x-www-form-urlencoded",
        "rating=0",
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    // a rater reads nothing, not even its ward
    for path in ["/api/v1/wards/w1/ratings", "/api/v1/wards/w1", "/wards/w1/screen"] {
        let (s, _, body) = call(&app, path, Some(RATER_W1)).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    // the kiosk rates its own ward (from the screen), not another's
    let (s, body) = post(&app, "/api/v1/wards/w1/ratings", Some(SCREEN), json, rating).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let (s, _, body) = call(&app, &format!("/wards/w1/rate?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, body) = post(&app, "/api/v1/wards/w2/ratings", Some(SCREEN), json, rating).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    // …and may not read the ratings; staffing, controller and admin may
    let (s, _, body) = call(&app, "/api/v1/wards/w1/ratings", Some(SCREEN)).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    for token in [STAFF, CONTROLLER, ADMIN] {
        let (s, _, body) = call(&app, "/api/v1/wards/w1/ratings", Some(token)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
    }
    let ratings = listed(&app).await;
    assert_eq!(ratings.len(), 1, "{ratings:?}");
    assert!(
        ratings[0].get("source").is_none(),
        "where a rating came from is not served: {ratings:?}"
    );
    // a controller may not rate
    let (s, body) = post(&app, "/api/v1/wards/w1/ratings", Some(CONTROLLER), json, rating).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
}

/// The paper import stores every row or none: one bad row and nothing is
/// stored, the line named; a shift that has not ended is refused; the good
/// file is stored whole, days after its shifts (no 24 h window), as a
/// form upload too; only staffing and admin may import.
async fn the_paper_import_stores_all_rows_or_none(store: Store) {
    let world = world(store).await;
    let app = app(&world);
    let tz = chrono_tz::Europe::Stockholm;
    let today = Utc::now().with_timezone(&tz).date_naive();
    let old = today - Duration::days(3);
    let import = "/api/v1/wards/w1/ratings/import";
    let bad =
        format!("date;shift;team;profession;rating\n{old};day;Lag A;SSK;+1\n{old};dag;;USK;−2\n{old};night;a;;4\n");
    let (s, body) = post(&app, import, Some(STAFF), "text/csv", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("line 4") && body.contains("rating \\\"4\\\""), "{body}");
    assert!(body.contains("nothing was stored"), "{body}");
    assert!(
        !body.contains("line 2") && !body.contains("line 3"),
        "only the bad line: {body}"
    );
    let (s, _, body) = call(
        &app,
        &format!("/api/v1/wards/w1/ratings?from={old}T00:00:00Z"),
        Some(STAFF),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains(r#""ratings":[]"#), "nothing stored: {body}");

    let future = format!("date,shift,rating\n{},day,0\n", today + Duration::days(1));
    let (s, body) = post(&app, import, Some(STAFF), "text/csv", &future).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("line 2") && body.contains("has not ended"), "{body}");

    let good = bad.replace(";4\n", ";3\n");
    let (s, body) = post(&app, import, Some(RATER_W1), "text/csv", &good).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a rater may not import: {body}");
    let (s, body) = post(&app, import, Some(STAFF), "text/csv", &good).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!((v["ratings"].as_u64(), v["shifts"].as_u64()), (Some(3), Some(2)), "{v}");
    let multipart = format!(
        "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r.csv\"\r\nContent-Type: text/csv\r\n\r\n\
         datum;pass;bedömning\n{old};evening;0\n\r\n--b--\r\n"
    );
    let (s, body) = post(&app, import, Some(ADMIN), "multipart/form-data; boundary=b", &multipart).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let (s, _, body) = call(
        &app,
        &format!("/api/v1/wards/w1/ratings?from={old}T00:00:00Z"),
        Some(STAFF),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).expect("json");
    let ratings = v["ratings"].as_array().expect("ratings");
    let mut got: Vec<(String, i64, Option<&str>, Option<&str>)> = ratings
        .iter()
        .map(|r| {
            (
                r["shift"].as_str().unwrap_or_default().to_owned(),
                r["rating"].as_i64().unwrap_or(99),
                r["team"].as_str(),
                r["profession"].as_str(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("day".to_owned(), -2, None, None),
            ("day".to_owned(), 1, None, None),
            ("evening".to_owned(), 0, None, None),
            ("night".to_owned(), 3, None, None),
        ],
        "one rating per team or profession of a shift: served without either (fewer than three would be told apart)"
    );
}

careload_testkit::on_every_backend!(
    the_rating_page_offers_the_seven_choices,
    the_form_stores_a_rating_and_the_thank_you_page_says_the_count,
    the_api_answers_201_and_a_rating_of_4_is_refused_with_the_reason,
    raters_and_screens_rate_their_own_wards_and_read_no_ratings,
    the_paper_import_stores_all_rows_or_none,
);
