//! The API as a running service: the OpenAPI document covers every route
//! the router serves, metrics count requests and show each source's latest
//! run, readiness follows the runs, and the server answers on a real
//! loopback socket (on the caller's runtime or one of its own), shuts down
//! when told, and survives clients that never finish a request.
//! Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (the workspace's store
//! harness, `careload_testkit`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use careload_api::routes::ROUTES;
use careload_api::{AppState, router};
use careload_store::{Outcome, RunReport, Store, hour_of};
use chrono::Utc;

use common::{ADMIN, SCREEN, STAFF, call, config, env, hour_patients, json, post, state_with, weights, world, write};

async fn openapi_documents_every_route_of_the_router(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let doc = json(&app, "/api/v1/openapi.json", Some(SCREEN)).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    let operations: usize = paths.values().map(|p| p.as_object().map_or(0, |m| m.len())).sum();
    assert_eq!(operations, ROUTES.len());
    for r in ROUTES {
        assert!(
            paths[r.path].get(r.method.key()).is_some(),
            "{} {} is not documented",
            r.method.key(),
            r.path
        );
        // And the router serves it (not the fallback).
        let path = r.path.replace("{id}", "w1").replace("{key}", "pa");
        let body = match r.method {
            careload_api::routes::Method::Get => call(&app, &path, Some(ADMIN)).await.2,
            careload_api::routes::Method::Post => post(&app, &path, Some(ADMIN), "text/plain", "").await.1,
        };
        assert!(!body.contains("no such route"), "{path} is not routed");
    }
}

async fn metrics_count_requests_and_show_the_latest_run(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let _ = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    let _ = json(&app, "/api/v1/wards/w2", Some(STAFF)).await;
    let _ = json(&app, "/api/v1/patients/pa", Some(STAFF)).await;
    let (s, _, _) = call(&app, "/api/v1/wards/w1", None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, headers, text) = call(&app, "/metrics", Some(ADMIN)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap_or("")
            .starts_with("text/plain")
    );
    for line in [
        "careload_http_requests_total{route=\"/api/v1/wards/{id}\",status=\"200\"} 2",
        "careload_http_requests_total{route=\"/api/v1/wards/{id}\",status=\"401\"} 1",
        "careload_http_request_duration_seconds_count{route=\"/api/v1/wards/{id}\",status=\"200\"} 2",
        "careload_last_run_outcome{source=\"test\",outcome=\"ok\"} 1",
        "careload_last_run_outcome{source=\"test\",outcome=\"failed\"} 0",
        "careload_last_run_resources_read{source=\"test\"} 8",
        "careload_last_run_skipped{source=\"test\"} 1",
        "careload_http_requests_total{route=\"/api/v1/patients/{key}\",status=\"200\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    assert!(!text.contains("/api/v1/patients/pa"), "no patient key in labels");
    // an alert can watch the age of the hour the screens show
    let age: i64 = text
        .lines()
        .find_map(|l| l.strip_prefix("careload_hour_shown_age_seconds "))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no careload_hour_shown_age_seconds in\n{text}"));
    let shown = world.hour.timestamp();
    assert!(
        text.lines()
            .any(|l| l == format!("careload_hour_shown_timestamp_seconds {shown}")),
        "{text}"
    );
    let expected = (Utc::now() - world.hour).num_seconds();
    assert!((expected - 5..=expected + 5).contains(&age), "{age} vs {expected}");
    // each source's latest run: a second source gets its own series
    let run = world.store.begin_run("https://ehr.example/fhir").await.expect("run");
    world
        .store
        .finish_run(
            run,
            careload_store::Outcome::Failed,
            &careload_store::RunReport::default(),
        )
        .await
        .expect("finish");
    let (_, _, text) = call(&app, "/metrics", Some(ADMIN)).await;
    for line in [
        "careload_last_run_outcome{source=\"https://ehr.example/fhir\",outcome=\"failed\"} 1",
        "careload_last_run_outcome{source=\"test\",outcome=\"ok\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
}

async fn readiness_follows_the_runs(store: Store) {
    let w = Arc::new(weights());
    let state = AppState::with_env(store.clone(), Arc::new(config()), w.clone(), env).expect("state");
    let app = router(state.clone());
    let (s, _, body) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("no ingest run has succeeded yet"), "{body}");
    // Nothing written: views are empty and stale, not errors.
    let v = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    assert_eq!(v["state"]["stale"], true);
    assert_eq!(v["state"]["stale_reason"], "no_data");
    assert_eq!(v["patients"].as_array().map(Vec::len), Some(0));
    let (s, _, _) = call(&app, "/api/v1/patients/pa", Some(STAFF)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    store.record_weights(&w).await.expect("weights");
    let hour = hour_of(Utc::now());
    write(&store, &w, hour, hour_patients(hour, 0)).await;
    state.data_changed();
    let (s, _, body) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    // A failed run after it: ready still (the last good picture stands), but stale.
    let run = store.begin_run("test").await.expect("run");
    let failed = RunReport {
        error: Some("fhir server unreachable".into()),
        ..RunReport::default()
    };
    store.finish_run(run, Outcome::Failed, &failed).await.expect("finish");
    // The API may serve what it built for up to its cache's TTL; the service
    // tells it after every run.
    state.data_changed();
    let (s, _, _) = call(&app, "/readyz", None).await;
    assert_eq!(s, StatusCode::OK);
    let v = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    assert_eq!(v["state"]["stale"], true, "the last run failed");
    assert_eq!(v["state"]["stale_reason"], "last_run_failed");
    assert_eq!(v["state"]["last_run"]["outcome"], "failed");
}

/// One HTTP/1.1 GET of `path` over a new connection to `addr` (extra
/// header lines in `headers`, each ending in CRLF): the whole response text.
async fn get_over_tcp(addr: SocketAddr, path: &str, headers: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}Connection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

async fn serve_answers_on_a_real_socket_and_shuts_down(store: Store) {
    let state = AppState::with_env(store, Arc::new(config()), Arc::new(weights()), env).expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(careload_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    let response = get_over_tcp(addr, "/healthz", "").await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"{"status":"ok"}"#), "{response}");
    let _ = stop.send(());
    server.await.expect("join").expect("served");
}

/// Clients that open connections and never finish a request cannot take
/// the server down: over `api.max_connections` a connection is closed as it
/// comes, the held ones are cut off after `api.header_read_timeout_secs`,
/// and `/healthz` answers all along (once a slot frees, within the timeout).
async fn half_open_connections_are_cut_off_and_health_keeps_answering(store: Store) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = config();
    c.api.max_connections = 16;
    c.api.header_read_timeout_secs = 1;
    let state = AppState::with_env(store, Arc::new(c), Arc::new(weights()), env).expect("state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(careload_api::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    // 40 clients that send half a request and then nothing
    let mut held = Vec::new();
    for _ in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            .await
            .expect("write");
        held.push(stream);
    }
    // every one of them is closed by the server within the timeout (and
    // those over the cap at once): reading gives the end of the stream
    let started = std::time::Instant::now();
    for stream in &mut held {
        let mut buf = [0u8; 256];
        let read = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read(&mut buf)).await;
        assert!(
            matches!(read, Ok(Ok(_)) | Ok(Err(_))),
            "a half-open connection was still open after 5 s"
        );
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // the server still answers, with the half-open clients still connected on their side
    let response = tokio::time::timeout(std::time::Duration::from_secs(5), get_over_tcp(addr, "/healthz", ""))
        .await
        .expect("healthz within 5 s");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    // refusals are counted
    let metrics = get_over_tcp(addr, "/metrics", &format!("Authorization: Bearer {ADMIN}\r\n")).await;
    let refused: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("careload_http_connections_refused_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{metrics}"));
    assert!(refused >= 24, "{refused} refused of 40 over a cap of 16");
    drop(held);
    let _ = stop.send(());
    server.await.expect("join").expect("served");
}

async fn spawn_serve_answers_from_a_runtime_of_its_own(store: Store) {
    let world = world(store).await;
    let state = state_with(&world, config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut serving = careload_api::spawn_serve(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
        1,
        || {},
    )
    .expect("spawned");
    // a route that reads the store, whose pool this runtime made: sixteen
    // at once, three times, so that the API's runtime opens connections of
    // its own in the shared pool
    for _ in 0..3 {
        let answers = futures_util::future::join_all((0..16).map(|_| {
            let headers = format!("Authorization: Bearer {STAFF}\r\n");
            async move { get_over_tcp(addr, "/api/v1/wards/w1", &headers).await }
        }))
        .await;
        for response in answers {
            assert!(response.starts_with("HTTP/1.1 200"), "{response}");
            assert!(response.contains(r#""name":"Avd 1""#), "{response}");
        }
    }
    let _ = stop.send(());
    serving.finished().await.expect("served and shut down");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "nothing listens after the shutdown"
    );
    // the store still answers on this runtime after the API has stopped,
    // on every connection of its pool, those the API's runtime opened
    // included: that runtime lives until `serving` is dropped (before it
    // did not, and one run in about twenty-five failed here on PostgreSQL:
    // "A Tokio 1.x context was found, but it is being shutdown")
    for i in 0..20 {
        let answers = futures_util::future::join_all((0..8).map(|_| world.store.current_hour())).await;
        for answer in answers {
            assert!(
                answer
                    .unwrap_or_else(|e| panic!("store after shutdown, round {i}: {e:?}"))
                    .is_some()
            );
        }
    }
    assert!(serving.finished().await.is_err(), "the end is awaited once");
    drop(serving);
}

careload_testkit::on_every_backend!(
    openapi_documents_every_route_of_the_router,
    metrics_count_requests_and_show_the_latest_run,
    readiness_follows_the_runs,
    serve_answers_on_a_real_socket_and_shuts_down,
    half_open_connections_are_cut_off_and_health_keeps_answering,
    spawn_serve_answers_from_a_runtime_of_its_own,
);
