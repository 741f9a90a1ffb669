//! Who may ask what, and how the API says no: tokens and their scopes
//! (bearer header, `?token=` on pages only, an open API), the per-client
//! rate limit, CORS and the body limit, pages opened with a token never
//! stored, and every client error as JSON with a hint (a server error says
//! nothing more). Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (the workspace's store
//! harness, `careload_testkit`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use careload_api::routes::{Access, ROUTES};
use careload_api::{AppState, Error, router};
use careload_store::Store;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use common::{ADMIN, CONTROLLER, SCREEN, STAFF, World, call, config, env, get_raw, state_with, world};

async fn tokens_are_required_and_scoped(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let cases: [(&str, Option<&str>, u16); 13] = [
        ("/api/v1/wards/w1", None, 401),
        ("/api/v1/wards/w1", Some("not-a-token"), 401),
        ("/api/v1/wards/w1", Some(SCREEN), 200),
        ("/api/v1/wards/w2", Some(SCREEN), 403),
        ("/api/v1/wards/w2/forecast", Some(SCREEN), 403),
        ("/api/v1/hospital", Some(SCREEN), 403),
        ("/api/v1/patients/pa", Some(SCREEN), 403),
        ("/api/v1/wards/w2", Some(STAFF), 200),
        ("/api/v1/weights", Some(STAFF), 403),
        ("/api/v1/weights", Some(ADMIN), 200),
        ("/api/v1/runs?limit=2", Some(ADMIN), 200),
        ("/metrics", Some(STAFF), 403),
        ("/healthz", None, 200),
    ];
    for (path, token, status) in cases {
        let (s, headers, body) = call(&app, path, token).await;
        assert_eq!(s.as_u16(), status, "{path} with {token:?}: {body}");
        if status == 401 {
            assert_eq!(
                headers.get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()),
                Some("Bearer")
            );
        }
    }
    // ?token= is accepted on the screen pages only.
    let (s, headers, _) = call(&app, &format!("/wards/w1/screen?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/html")
    );
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
    let (s, _, _) = call(&app, &format!("/wards/w2/screen?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = call(&app, &format!("/api/v1/wards/w1?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Every route but the probes and the FHIR CapabilityStatement needs a token.
    for r in ROUTES {
        let path = r.path.replace("{id}", "w1").replace("{key}", "pa");
        let (s, _, body) = call(&app, &path, None).await;
        match r.access {
            Access::Public => assert_ne!(s, StatusCode::UNAUTHORIZED, "{path}"),
            Access::Roles(_) => assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}: {body}"),
        }
    }
    let public: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.access == Access::Public)
        .map(|r| r.path)
        .collect();
    assert_eq!(public, ["/healthz", "/readyz", "/fhir/r4/metadata"]);
}

async fn an_open_api_needs_no_token_and_a_missing_secret_names_its_token(store: Store) {
    let world = world(store).await;
    let mut open = config();
    open.api.open = true;
    let app = router(state_with(&world, open));
    let (s, _, _) = call(&app, "/api/v1/wards/w2", None).await;
    assert_eq!(s, StatusCode::OK);

    let err = AppState::with_env(world.store.clone(), Arc::new(config()), world.weights.clone(), |k| {
        (k != "T_STAFFING").then(|| env(k)).flatten()
    })
    .err()
    .expect("a missing secret is a start-up error");
    assert!(
        matches!(&err, Error::Secret { token, .. } if token == "staffing"),
        "{err}"
    );
    assert!(err.to_string().contains("T_STAFFING"), "{err}");
}

async fn client_errors_say_what_to_send_and_server_errors_say_nothing(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let cases = [
        ("/api/v1/wards/nope", 404, "known wards: w1, w2"),
        ("/api/v1/runs?limit=0", 400, "1 to 1000"),
        ("/api/v1/runs?limit=many", 400, "1 to 1000"),
        ("/api/v1/nothing-here", 404, "openapi.json"),
    ];
    for (path, status, hint) in cases {
        let (s, _, body) = call(&app, path, Some(ADMIN)).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        assert!(v["error"].is_string(), "{body}");
        assert!(v["hint"].as_str().is_some_and(|h| h.contains(hint)), "{path}: {body}");
    }
    // A closed store: 500 with nothing but "internal error".
    world.store.close().await;
    let (s, _, body) = call(&app, "/api/v1/wards/w1", Some(ADMIN)).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body, r#"{"error":"internal error"}"#);
    let (s, _, body) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
}

async fn the_rate_limit_answers_429_with_retry_after_per_client(store: Store) {
    let world = world(store).await;
    let mut c = config();
    c.api.rate_limit_per_minute = 2;
    let app = router(state_with(&world, c));
    let from = |ip: [u8; 4]| {
        let mut req = Request::builder().uri("/healthz").body(Body::empty()).expect("request");
        req.extensions_mut().insert(ConnectInfo(SocketAddr::from((ip, 4000))));
        req
    };
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(app.clone().oneshot(from([10, 0, 0, 1])).await.expect("response"));
    }
    assert_eq!(statuses[0].status(), StatusCode::OK);
    assert_eq!(statuses[1].status(), StatusCode::OK);
    assert_eq!(statuses[2].status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = statuses[2].headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap_or("")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    let other = app.clone().oneshot(from([10, 0, 0, 2])).await.expect("response");
    assert_eq!(other.status(), StatusCode::OK, "another client is not limited");
}

async fn cors_is_off_unless_configured_and_large_bodies_are_refused(store: Store) {
    let world = world(store).await;
    let request = |method: &str, origin: &str| {
        Request::builder()
            .method(method)
            .uri("/api/v1/wards/w1")
            .header(header::ORIGIN, origin)
            .header(header::AUTHORIZATION, format!("Bearer {STAFF}"))
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .body(Body::empty())
            .expect("request")
    };
    let off = router(state_with(&world, config()));
    let r = off
        .oneshot(request("GET", "https://screens.example"))
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none(),
        "CORS is off by default"
    );

    let mut c = config();
    c.api.cors_origins = vec!["https://screens.example".into()];
    c.api.max_body_bytes = 16;
    let on = router(state_with(&world, c));
    let r = on
        .clone()
        .oneshot(request("GET", "https://screens.example"))
        .await
        .expect("response");
    assert_eq!(
        r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://screens.example"
    );
    let r = on
        .clone()
        .oneshot(request("GET", "https://elsewhere.example"))
        .await
        .expect("response");
    assert!(r.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let r = on
        .clone()
        .oneshot(request("OPTIONS", "https://screens.example"))
        .await
        .expect("response");
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "preflight");
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_METHODS], "GET");

    let big = Request::builder()
        .uri("/healthz")
        .header(header::CONTENT_LENGTH, "17")
        .body(Body::from("x".repeat(17)))
        .expect("request");
    let r = on.oneshot(big).await.expect("response");
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A request sent through `app`: status, headers and the body as text.
async fn send(app: &axum::Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app.clone().oneshot(req).await.expect("response");
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// A body of `len` bytes sent in 256-byte chunks with no `Content-Length`
/// (as `Transfer-Encoding: chunked` arrives).
fn chunked(len: usize) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..len.div_ceil(256))
        .map(|i| Ok(vec![b'x'; 256.min(len - i * 256)]))
        .collect();
    Body::from_stream(futures_util::stream::iter(chunks))
}

/// The world's router with request bodies limited to 1024 bytes.
async fn limited(store: Store) -> (World, axum::Router) {
    let world = world(store).await;
    let mut c = config();
    c.api.max_body_bytes = 1024;
    let app = router(state_with(&world, c));
    (world, app)
}

/// A request of `method` to `path`, with `token` as its bearer.
fn request(method: &str, path: &str, token: Option<&str>) -> axum::http::request::Builder {
    let mut r = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r
}

async fn every_client_error_is_json_with_a_hint(store: Store) {
    let (world, app) = limited(store).await;
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let get = |path: &str, token: Option<&str>| request("GET", path, token).body(Body::empty()).expect("request");
    let cases: Vec<(&str, Request<Body>, u16)> = vec![
        (
            "a path that is not UTF-8",
            get("/api/v1/wards/%FF%FE", Some(STAFF)),
            400,
        ),
        (
            "a patient key that is not UTF-8",
            get("/api/v1/patients/%FF", Some(STAFF)),
            400,
        ),
        (
            "a pins path that is not UTF-8",
            get("/api/v1/wards/%C3%28/pins", Some(STAFF)),
            400,
        ),
        (
            "a screen path that is not UTF-8",
            get(&format!("/wards/%FF%FE/screen?token={STAFF}"), None),
            400,
        ),
        (
            "a planning page path that is not UTF-8",
            get("/wards/%FF/planning", Some(STAFF)),
            400,
        ),
        (
            "a chunked staffing body over the limit",
            request("POST", "/api/v1/staffing", Some(STAFF))
                .header(header::CONTENT_TYPE, "application/json")
                .body(chunked(4096))
                .expect("request"),
            413,
        ),
        (
            "a chunked CSV over the limit",
            request("POST", "/api/v1/staffing/csv", Some(STAFF))
                .header(header::CONTENT_TYPE, "text/csv")
                .body(chunked(4096))
                .expect("request"),
            413,
        ),
        (
            "a chunked pin over the limit",
            request("POST", "/api/v1/wards/w1/pins", Some(STAFF))
                .body(chunked(2048))
                .expect("request"),
            413,
        ),
        (
            "a chunked weights file over the limit",
            request(
                "POST",
                &format!("/api/v1/weights/backtest?from={today}&to={today}"),
                Some(ADMIN),
            )
            .header(header::CONTENT_TYPE, "application/toml")
            .body(chunked(8192))
            .expect("request"),
            413,
        ),
        (
            "a declared body over the limit",
            request("POST", "/api/v1/staffing", Some(STAFF))
                .header(header::CONTENT_LENGTH, "2048")
                .body(Body::from("x".repeat(2048)))
                .expect("request"),
            413,
        ),
        (
            "DELETE on a ward",
            request("DELETE", "/api/v1/wards/w1", Some(STAFF))
                .body(Body::empty())
                .expect("request"),
            405,
        ),
        (
            "PUT on planned staffing",
            request("PUT", "/api/v1/staffing", Some(STAFF))
                .body(Body::empty())
                .expect("request"),
            405,
        ),
        (
            "POST on a screen page",
            request("POST", &format!("/wards/w1/screen?token={SCREEN}"), None)
                .body(Body::empty())
                .expect("request"),
            405,
        ),
        (
            "POST on a probe",
            request("POST", "/healthz", None).body(Body::empty()).expect("request"),
            405,
        ),
        (
            "a body that is not JSON",
            request("POST", "/api/v1/staffing", Some(STAFF))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{not json"))
                .expect("request"),
            422,
        ),
        (
            "a pin without a Content-Type",
            request("POST", "/api/v1/wards/w1/pins", Some(STAFF))
                .body(Body::from("pin it"))
                .expect("request"),
            422,
        ),
        (
            "a limit that is no number",
            get("/api/v1/runs?limit=%FF", Some(ADMIN)),
            400,
        ),
        (
            "a time that is no time",
            get("/api/v1/wards/w1/history?from=%FF%FE", Some(STAFF)),
            400,
        ),
        (
            "a balance option that is no number",
            get("/api/v1/wards/w1/balance?max_moves=many", Some(STAFF)),
            400,
        ),
        ("an export without dates", get("/api/v1/export", Some(CONTROLLER)), 400),
        ("no such route", get("/api/v1/nothing-here", Some(STAFF)), 404),
        ("no token", get("/api/v1/wards/w1", None), 401),
        ("another ward's data", get("/api/v1/wards/w2", Some(SCREEN)), 403),
        // (a page refused, unknown or mistyped answers a page: tests/pages.rs)
    ];
    for (what, req, status) in cases {
        let (s, headers, body) = send(&app, req).await;
        assert_eq!(s.as_u16(), status, "{what}: {body}");
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert_eq!(content_type, "application/json", "{what}: {s} {body:?}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body:?}"));
        for key in ["error", "hint"] {
            assert!(
                v[key].as_str().is_some_and(|t| !t.trim().is_empty()),
                "{what}: no {key} in {body}"
            );
        }
        if status == 405 {
            let allow = headers.get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
            assert!(allow.contains("GET"), "{what}: Allow {allow:?}");
            assert!(v["hint"].as_str().is_some_and(|h| h.contains("GET")), "{what}: {body}");
        }
        if status == 413 {
            assert!(
                v["hint"].as_str().is_some_and(|h| h.contains("1024 bytes")),
                "{what}: {body}"
            );
        }
    }
}

/// A method a path does not take: 405 with the ones it takes, as axum
/// lists them; and HEAD answers with GET's headers and no body.
async fn a_method_a_path_does_not_take_is_refused_naming_the_ones_it_does(store: Store) {
    let (_world, app) = limited(store).await;
    // The methods a path takes, as axum lists them.
    for (path, allow) in [
        ("/api/v1/wards/w1", "GET,HEAD"),
        ("/api/v1/staffing", "GET,HEAD,POST"),
        ("/api/v1/staffing/csv", "POST"),
    ] {
        let req = request("PATCH", path, Some(STAFF))
            .body(Body::empty())
            .expect("request");
        let (s, headers, body) = send(&app, req).await;
        assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED, "{path}: {body}");
        assert_eq!(headers[header::ALLOW], allow, "{path}");
        assert!(body.contains("does not take PATCH"), "{path}: {body}");
    }
    // HEAD: the same headers as GET, no body.
    let req = request("HEAD", "/api/v1/wards/%FF", Some(STAFF))
        .body(Body::empty())
        .expect("request");
    let (s, headers, body) = send(&app, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(body, "");
}

async fn the_bearer_scheme_is_case_insensitive(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let with = |authorization: String| {
        Request::builder()
            .uri("/api/v1/wards/w1")
            .header(header::AUTHORIZATION, authorization)
            .body(Body::empty())
            .expect("request")
    };
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        for value in [format!("{scheme} {STAFF}"), format!("{scheme}   {STAFF}  ")] {
            let (s, _, body) = send(&app, with(value.clone())).await;
            assert_eq!(s, StatusCode::OK, "Authorization: {value:?}: {body}");
        }
    }
    for value in [
        format!("Basic {STAFF}"),
        format!("Bearer{STAFF}"),
        format!("Bearerx {STAFF}"),
        "Bearer ".to_owned(),
        "BEARER".to_owned(),
        STAFF.to_owned(),
    ] {
        let (s, _, body) = send(&app, with(value.clone())).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "Authorization: {value:?}: {body}");
    }
}

async fn pages_opened_with_a_token_in_the_query_are_not_stored(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let cases = [
        (format!("/wards/w1/screen?token={SCREEN}"), 200),
        (format!("/?token={STAFF}"), 200),
        (format!("/admissions?token={STAFF}"), 200),
        (format!("/wards/w1/planning?token={STAFF}"), 200),
        (format!("/wards/w2/screen?token={SCREEN}"), 403),
        ("/wards/w1/screen?token=not-a-token".to_owned(), 401),
        (format!("/wards/nope/screen?token={STAFF}"), 404),
        (format!("/api/v1/wards/w1?token={STAFF}"), 401),
        (format!("/nothing-here?token={STAFF}"), 404),
    ];
    for (path, status) in cases {
        for encoding in [None, Some("gzip")] {
            let extra: Vec<(header::HeaderName, &str)> =
                encoding.map(|e| (header::ACCEPT_ENCODING, e)).into_iter().collect();
            let (s, headers, _) = get_raw(&app, &path, None, &extra).await;
            assert_eq!(s.as_u16(), status, "{path}");
            let cache_control: Vec<&str> = headers
                .get_all(header::CACHE_CONTROL)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            assert_eq!(cache_control, ["no-store"], "{path} ({encoding:?})");
            for contradicting in [header::EXPIRES, header::ETAG, header::LAST_MODIFIED, header::AGE] {
                assert!(!headers.contains_key(&contradicting), "{path}: {contradicting}");
            }
        }
    }
}

careload_testkit::on_every_backend!(
    tokens_are_required_and_scoped,
    an_open_api_needs_no_token_and_a_missing_secret_names_its_token,
    client_errors_say_what_to_send_and_server_errors_say_nothing,
    the_rate_limit_answers_429_with_retry_after_per_client,
    cors_is_off_unless_configured_and_large_bodies_are_refused,
    every_client_error_is_json_with_a_hint,
    a_method_a_path_does_not_take_is_refused_naming_the_ones_it_does,
    the_bearer_scheme_is_case_insensitive,
    pages_opened_with_a_token_in_the_query_are_not_stored,
);
