//! What controllers and admins read and try: the weights in force and
//! their versions, the runs and the audit log, trend exports streamed as a
//! named CSV, Parquet or JSON file (bad parameters refused before any
//! file), and a back-test of a candidate weights file that leaves history
//! as it was. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (the workspace's store
//! harness, `careload_testkit`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::collections::BTreeSet;

use axum::http::{StatusCode, header};
use careload_api::router;
use careload_store::Store;
use chrono::{Duration, NaiveDate};
use serde_json::Value;

use common::{ADMIN, CONTROLLER, STAFF, WEIGHTS, World, call, config, json, milli, post, state_with, world};

async fn admin_routes_show_weights_runs_and_audit(store: Store) {
    let world = world(store).await;
    world
        .store
        .audit("admin", "weights.activate", &serde_json::json!({ "version": "2026.1" }))
        .await
        .expect("audit");
    let app = router(state_with(&world, config()));
    let v = json(&app, "/api/v1/weights", Some(ADMIN)).await;
    assert_eq!(v["version"], "2026.1");
    assert_eq!(v["digest"], world.weights.digest.as_str());
    assert!(v["recorded_at"].is_string(), "recorded by the store: {v}");
    let versions = json(&app, "/api/v1/weights/versions", Some(ADMIN)).await;
    assert_eq!(versions.as_array().map(Vec::len), Some(1));

    let runs = json(&app, "/api/v1/runs?limit=2", Some(ADMIN)).await;
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    assert!(runs[0]["id"].as_i64() > runs[1]["id"].as_i64(), "newest first");
    let latest = json(&app, "/api/v1/runs/latest", Some(ADMIN)).await;
    assert_eq!(latest["id"], runs[0]["id"]);
    assert_eq!(latest["outcome"], "ok");
    let audit = json(&app, "/api/v1/audit", Some(ADMIN)).await;
    assert_eq!(audit[0]["action"], "weights.activate");

    let wards = json(&app, "/api/v1/wards", Some(STAFF)).await;
    let names: Vec<(&str, &str, i64)> = wards["wards"]
        .as_array()
        .expect("wards")
        .iter()
        .map(|w| {
            (
                w["id"].as_str().unwrap_or(""),
                w["name"].as_str().unwrap_or(""),
                w["patients"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(names, [("w1", "Avd 1", 3), ("w2", "w2", 1)]);
}

/// Yesterday and today (the current hour's local dates) and the path of
/// their ward-by-hour export.
fn ward_hour_export(world: &World) -> (NaiveDate, NaiveDate, String) {
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let from = today - Duration::days(1);
    let path = format!("/api/v1/export?from={from}&to={today}&level=ward&grain=hour");
    (from, today, path)
}

async fn exports_stream_a_named_file_for_controllers(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (from, today, path) = ward_hour_export(&world);

    let (status, _, _) = call(&app, &path, Some(STAFF)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "staffing tokens do not export");
    let (status, headers, body) = call(&app, &path, Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        format!("attachment; filename=\"careload-ward-hour-{from}-{today}.csv\"").as_str()
    );
    let mut lines = body.lines();
    let header_line: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header_line.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // The current hour's w1 row is the ward's total the JSON API shows.
    let now_label = world
        .hour
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .format("%Y-%m-%dT%H:%M%:z")
        .to_string();
    let row = rows
        .iter()
        .find(|r| r[col("ward")] == "w1" && r[col("period")] == now_label)
        .expect("w1 in the current hour");
    let ward = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    let exported: f64 = row[col("total_mean")].parse().expect("a number");
    assert_eq!((exported * 1000.0).round() as i64, milli(&ward["totals"]["total"]));
    assert_eq!(row[col("patients")], "3");
    // names beside ids, from the configuration; the hour stored is a whole hour
    assert_eq!(
        (row[col("ward_name")], row[col("team_name")], row[col("complete")]),
        ("Avd 1", "", "true")
    );
    let teams = format!("/api/v1/export?from={from}&to={today}&level=team&grain=day");
    let (status, _, body) = call(&app, &teams, Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut lines = body.lines();
    let header_line: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header_line.iter().position(|h| *h == name).expect(name);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let names: BTreeSet<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            [col("ward"), col("ward_name"), col("team"), col("team_name")]
                .map(|i| r[i].to_owned())
                .into()
        })
        .collect();
    // today is not over: its rows say so, yesterday's are complete — unless
    // the current hour is today's last, whose day the store then holds whole
    // (docs/exports.md: complete when the store holds the period's last hour)
    let today_whole = (world.hour + Duration::hours(1))
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive()
        > today;
    for r in &rows {
        let today_row = r[col("local_date")] == today.to_string();
        let complete = !today_row || today_whole;
        assert_eq!(r[col("complete")], if complete { "true" } else { "false" }, "{r:?}");
    }
    assert!(
        names.contains(&("w1".into(), "Avd 1".into(), "a".into(), "Lag A".into()))
            && names.contains(&("w1".into(), "Avd 1".into(), "b".into(), String::new()))
            && names.contains(&("w2".into(), String::new(), "c".into(), String::new())),
        "{names:?}"
    );
}

/// Parquet and JSON by the same route (admins may export too); bad
/// parameters are refused with what to send, before any file.
async fn exports_come_as_parquet_or_json_and_bad_parameters_say_what_to_send(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (_, _, path) = ward_hour_export(&world);

    // Parquet and JSON by the same route; admins may export too.
    let (status, headers, _) = call(&app, &format!("{path}&format=parquet"), Some(ADMIN)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/vnd.apache.parquet");
    let (status, _, body) = call(&app, &format!("{path}&format=json&wards=w2"), Some(CONTROLLER)).await;
    assert_eq!(status, StatusCode::OK);
    let rows: Vec<Value> = serde_json::from_str(&body).expect("a JSON array");
    assert!(!rows.is_empty() && rows.iter().all(|r| r["ward"] == "w2"));

    // Bad parameters: 400 with what to send, before any file.
    for (query, hint) in [
        ("from=2026-01-01", "to is required"),
        ("from=2026-13-01&to=2026-12-31", "YYYY-MM-DD"),
        ("from=2026-01-01&to=2026-01-31&grain=fortnight", "hour, shift, day"),
        ("from=2026-01-01&to=2026-01-31&wards=nope", "\\\"nope\\\" is not known"),
        (
            "from=2026-01-01&to=2026-01-31&grain=hour&staffing=true",
            "grain shift or coarser",
        ),
        ("from=2026-01-01&to=2026-01-31&staffing=maybe", "true or false"),
    ] {
        let (status, headers, body) = call(&app, &format!("/api/v1/export?{query}"), Some(CONTROLLER)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(headers.get(header::CONTENT_DISPOSITION).is_none());
        assert!(body.contains(hint), "{query}: {body}");
    }
}

async fn admins_backtest_a_candidate_without_changing_history(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let today = world.hour.with_timezone(&chrono_tz::Europe::Stockholm).date_naive();
    let path = format!("/api/v1/weights/backtest?from={}&to={today}", today - Duration::days(1));

    let (status, _) = post(&app, &path, Some(STAFF), "application/toml", WEIGHTS).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins back-test");
    let (status, body) = post(&app, &path, Some(ADMIN), "application/toml", WEIGHTS).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let same: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(same["candidate_version"], "2026.1");
    assert_eq!(same["skipped"], 0);
    assert!(same["patient_hours"].as_u64().unwrap_or(0) > 0);
    assert_eq!(
        same["hospital"]["stored"], same["hospital"]["candidate"],
        "the version in force changes nothing"
    );

    let candidate = WEIGHTS
        .replace("version = \"2026.1\"", "version = \"2027.1\"")
        .replace("[medications.oral]\n", "[medications.oral]\n# doubled\n");
    let (status, body) = post(&app, &path, Some(ADMIN), "application/toml", &candidate).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["candidate_version"], "2027.1");
    assert_eq!(
        v["hospital"]["stored"], same["hospital"]["stored"],
        "history unchanged by a back-test"
    );

    let broken = WEIGHTS.replace("format = 1", "format = \"one\"");
    let (status, body) = post(&app, &path, Some(ADMIN), "application/toml", &broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("request body"), "names the file and line: {body}");
    let (status, body) = post(
        &app,
        "/api/v1/weights/backtest?from=2026-01-01&to=2026-12-31",
        Some(ADMIN),
        "application/toml",
        WEIGHTS,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("at most 92 days"), "{body}");
}

careload_testkit::on_every_backend!(
    admin_routes_show_weights_runs_and_audit,
    exports_stream_a_named_file_for_controllers,
    exports_come_as_parquet_or_json_and_bad_parameters_say_what_to_send,
    admins_backtest_a_candidate_without_changing_history,
);
