//! The calibration's files for controllers (issue 27):
//! `GET /api/v1/wards/{id}/calibration/shifts` (one row per shift: need,
//! staff present and points per person per profession and together, the
//! ratings' count and mean per profession) as CSV, Excel CSV and JSON, the
//! same numbers as `GET /api/v1/wards/{id}/calibration`; and
//! `GET /api/v1/wards/{id}/ratings?format=csv`, anonymous as the JSON. The
//! columns are docs/calibration-export.md's. Every test runs on SQLite, and
//! on PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::sync::Arc;

use axum::http::{StatusCode, header};
use careload_api::export::{CALIBRATION_SHIFT_COLUMNS, RATINGS_COLUMNS};
use careload_api::router;
use careload_planning::PlannedStaffing;
use careload_scoring::shift::ShiftPlan;
use careload_scoring::snapshot::Profession;
use careload_store::{NewRating, RatingSource, Store, hour_of};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use common::{
    CONTROLLER, SCREEN, STAFF, World, call, config, get_raw, json, milli, patient_with_care, state_with, weights, write,
};

/// Days of stored hours up to now.
const DAYS: i64 = 3;

fn enc(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

/// Three days of hours of w1, planned staffing for every shift that has
/// ended (USK 1–3 present by turn, SSK 2 of 3 but none planned for the
/// first shift) and four ratings of each: USK +1 and 0, SSK −1, one without
/// a profession +2. Returns the window `from`, `to`.
async fn fill(store: &Store) -> (DateTime<Utc>, DateTime<Utc>) {
    let now = Utc::now();
    let hour = hour_of(now);
    let w = weights();
    store.record_weights(&w).await.expect("record weights");
    for h in (0..DAYS * 24).rev() {
        let at = hour - Duration::hours(h);
        let snapshots = (0..4)
            .map(|i| patient_with_care(&format!("p{i}"), "w1", "a", &format!("{i}"), at, (i * 2) as u8))
            .collect();
        write(store, &w, at, snapshots).await;
    }
    let from = hour - Duration::hours(DAYS * 24);
    let plan = ShiftPlan::default();
    let tz = chrono_tz::Europe::Stockholm;
    let mut s = plan.shift_at(from, &tz);
    if s.window.start < from {
        s = plan.shift_at(s.window.end, &tz);
    }
    let (mut rows, mut ratings) = (Vec::new(), Vec::new());
    let mut i = 0u32;
    while s.window.end <= now {
        let row = |profession, planned, absent| PlannedStaffing {
            ward: "w1".into(),
            team: None,
            date: s.date,
            shift: s.name.clone(),
            profession,
            planned,
            absent,
        };
        rows.push(row(Profession::Usk, 1 + i % 3, 0));
        if i > 0 {
            rows.push(row(Profession::Ssk, 3, 1));
        }
        for (profession, rating) in [
            (Some(Profession::Usk), 1),
            (Some(Profession::Usk), 0),
            (Some(Profession::Ssk), -1),
            (None, 2),
        ] {
            ratings.push(NewRating {
                ward: "w1".into(),
                team: None,
                shift_start: s.window.start,
                shift: s.name.clone(),
                profession,
                rating,
                source: RatingSource::PaperImport,
                received_at: s.window.end,
            });
        }
        i += 1;
        s = plan.shift_at(s.window.end, &tz);
    }
    store
        .put_planned_staffing(&rows, "test", "test")
        .await
        .expect("staffing");
    store.put_ratings(&ratings).await.expect("ratings");
    (from, now)
}

fn app(store: &Store) -> axum::Router {
    let world = World {
        store: store.clone(),
        weights: Arc::new(weights()),
        hour: hour_of(Utc::now()),
        now: Vec::new(),
    };
    router(state_with(&world, config()))
}

/// A number of a CSV field as thousandths (decimal point or comma).
fn milli_of(field: &str) -> i64 {
    (field
        .replace(',', ".")
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("not a number: {field:?}"))
        * 1000.0)
        .round() as i64
}

async fn the_calibration_shifts_are_a_file_with_the_calibrations_numbers(store: Store) {
    let (from, to) = fill(&store).await;
    let app = app(&store);
    let window = format!("from={}&to={}", enc(&from.to_rfc3339()), enc(&to.to_rfc3339()));
    let c = json(&app, &format!("/api/v1/wards/w1/calibration?{window}"), Some(STAFF)).await;
    let points = c["together"]["points"].as_array().unwrap();
    assert!(points.len() >= 6, "{}", points.len());

    // JSON: one row per shift of the joint fit, joined with the professions'
    let rows = json(
        &app,
        &format!("/api/v1/wards/w1/calibration/shifts?{window}&format=json"),
        Some(CONTROLLER),
    )
    .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), points.len());
    for (r, p) in rows.iter().zip(points) {
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = CALIBRATION_SHIFT_COLUMNS.to_vec();
        expected.sort_unstable();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(keys, expected, "the JSON has the columns");
        assert_eq!(r["shift_start"], p["start"]);
        assert_eq!(r["shift"], p["shift"]);
        assert_eq!(milli(&r["need_total"]), milli(&p["need"]));
        assert_eq!(milli(&r["need_usk"]) + milli(&r["need_ssk"]), milli(&p["need"]));
        assert_eq!(r["present_total"], p["present"]);
        assert_eq!(milli(&r["points_per_person"]), milli(&p["points_per_person"]));
        assert_eq!(r["ratings"].as_u64(), Some(4), "{r}");
        // the mean of the shift is shown where three people or more were present
        if r["present_total"].as_u64().unwrap() >= 3 {
            assert_eq!(milli(&r["mean_rating"]), 500, "{r}");
        } else {
            assert!(r["mean_rating"].is_null(), "{r}");
        }
        // two USK ratings: their mean is withheld (fewer than three could be told apart)
        assert_eq!(r["ratings_usk"].as_u64(), Some(2), "{r}");
        assert!(r["mean_rating_usk"].is_null(), "{r}");
        let usk = c["usk"]["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["start"] == p["start"])
            .unwrap();
        assert_eq!(r["present_usk"], usk["present"]);
        assert_eq!(milli(&r["need_usk"]), milli(&usk["need"]));
        assert_eq!(milli(&r["points_per_person_usk"]), milli(&usk["points_per_person"]));
    }
    // the first shift planned no SSK: its SSK columns are empty, its ratings still counted
    let first = &rows[0];
    assert_eq!(first["present_ssk"], 0);
    assert!(first["points_per_person_ssk"].is_null() && first["mean_rating_ssk"].is_null());
    assert_eq!(first["ratings_ssk"], 0, "the SSK fit leaves the shift out");
    assert_eq!(first["present_total"], first["present_usk"]);
    let second = &rows[1];
    assert_eq!(
        (second["present_ssk"].as_u64(), second["ratings_ssk"].as_u64()),
        (Some(2), Some(1))
    );
    // one nurse of two rated: what she rated is not served (it was: −1)
    assert!(second["mean_rating_ssk"].is_null(), "{second}");

    // CSV (the default): `,`, decimal point, no BOM, a file with a name
    let path = format!("/api/v1/wards/w1/calibration/shifts?{window}");
    let (status, headers, csv) = call(&app, &path, Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    let disposition = headers[header::CONTENT_DISPOSITION].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"careload-calibration-w1-") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], CALIBRATION_SHIFT_COLUMNS.join(","));
    assert_eq!(lines.len(), rows.len() + 1);
    let second_line: Vec<&str> = lines[2].split(',').collect();
    assert_eq!(second_line.len(), CALIBRATION_SHIFT_COLUMNS.len());
    let col = |name: &str| CALIBRATION_SHIFT_COLUMNS.iter().position(|c| *c == name).unwrap();
    assert_eq!(
        second_line[col("shift_start")],
        second["shift_start"].as_str().unwrap().replace("+00:00", "Z")
    );
    assert_eq!(second_line[col("shift")], second["shift"].as_str().unwrap());
    assert_eq!(milli_of(second_line[col("need_total")]), milli(&second["need_total"]));
    assert_eq!(second_line[col("mean_rating_ssk")], "");
    assert_eq!(second_line[col("mean_rating")], "0.5");
    let first_line: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(first_line[col("points_per_person_ssk")], "", "an empty field for none");

    // Excel CSV: `;`, decimal comma, byte order mark
    let (status, _, excel) = call(&app, &format!("{path}&format=csv-excel"), Some(STAFF)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(excel.starts_with('\u{feff}'));
    let lines: Vec<&str> = excel.trim_start_matches('\u{feff}').split("\r\n").collect();
    assert_eq!(lines[0], CALIBRATION_SHIFT_COLUMNS.join(";"));
    let second_line: Vec<&str> = lines[2].split(';').collect();
    assert_eq!(second_line[col("mean_rating")], "0,5");
    assert_eq!(milli_of(second_line[col("need_total")]), milli(&second["need_total"]));

    // who may, and what is refused
    for (path, token, status) in [
        (path.clone(), Some(SCREEN), 403),
        (path.clone(), None, 401),
        (format!("{path}&format=parquet"), Some(STAFF), 400),
        (format!("{path}&separator=;"), Some(STAFF), 400),
        ("/api/v1/wards/nowhere/calibration/shifts".to_owned(), Some(STAFF), 404),
    ] {
        let (s, _, body) = get_raw(&app, &path, token, &[]).await;
        assert_eq!(s.as_u16(), status, "{path}: {}", String::from_utf8_lossy(&body));
    }
}

async fn the_ratings_are_a_csv_file_as_anonymous_as_the_json(store: Store) {
    let (from, to) = fill(&store).await;
    let app = app(&store);
    let window = format!("from={}&to={}", enc(&from.to_rfc3339()), enc(&to.to_rfc3339()));
    let stored = json(&app, &format!("/api/v1/wards/w1/ratings?{window}"), Some(STAFF)).await;
    let ratings = stored["ratings"].as_array().unwrap();
    assert!(ratings.len() >= 24);

    let (status, headers, csv) = call(
        &app,
        &format!("/api/v1/wards/w1/ratings?{window}&format=csv"),
        Some(STAFF),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert_eq!(headers[header::CONTENT_TYPE], "text/csv; charset=utf-8");
    assert!(
        headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("careload-ratings-w1-")
    );
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], RATINGS_COLUMNS.join(","));
    assert_eq!(
        &RATINGS_COLUMNS[..5],
        ["date", "shift", "team", "profession", "rating"],
        "the paper import's columns first"
    );
    assert_eq!(lines.len(), ratings.len() + 1);
    for (line, r) in lines[1..].iter().zip(ratings) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), RATINGS_COLUMNS.len(), "{line}");
        assert_eq!(f[1], r["shift"].as_str().unwrap());
        assert_eq!(f[3], r["profession"].as_str().unwrap_or(""));
        assert_eq!(f[4], r["rating"].to_string());
        let start: DateTime<Utc> = r["shift_start"].as_str().unwrap().parse().unwrap();
        assert_eq!(f[5].parse::<DateTime<Utc>>().unwrap(), start);
        let local = start.with_timezone(&chrono_tz::Europe::Stockholm);
        assert_eq!(
            (f[0], f[6]),
            (&*local.date_naive().to_string(), &*local.format("%H:%M").to_string())
        );
    }
    // two USK and one SSK rating a shift: too few to be served with their profession
    assert!(lines.iter().any(|l| l.contains(",,-1,")));
    assert!(
        lines[1..].iter().all(|l| l.split(',').nth(3) == Some("")),
        "no profession given by fewer than three ratings of a shift"
    );
    assert!(
        lines.iter().any(|l| l.contains(",,2,")),
        "no profession: an empty field"
    );
    // nothing in the file names who rated: the JSON's fields, no more
    let keys: Vec<&str> = ratings[0].as_object().unwrap().keys().map(String::as_str).collect();
    for k in keys {
        assert!(RATINGS_COLUMNS.contains(&k), "{k} is not in the file");
    }

    let (status, _, excel) = call(
        &app,
        &format!("/api/v1/wards/w1/ratings?{window}&format=csv-excel"),
        Some(STAFF),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(excel.starts_with('\u{feff}') && excel.contains(";;-1;"));
    // JSON stays the default; a bad format is refused
    let (_, headers, _) = call(&app, &format!("/api/v1/wards/w1/ratings?{window}"), Some(STAFF)).await;
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let (status, _, body) = call(&app, "/api/v1/wards/w1/ratings?format=xlsx", Some(STAFF)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("csv, csv-excel or json"), "{body}");
    let _: Value = json(&app, "/api/v1/wards/w1/ratings?format=json", Some(STAFF)).await;
}

careload_testkit::on_every_backend!(
    the_calibration_shifts_are_a_file_with_the_calibrations_numbers,
    the_ratings_are_a_csv_file_as_anonymous_as_the_json,
);
