//! Next-shift planning through the API: planned staffing imported as a
//! CSV file, a form upload or JSON rows (a file with a bad row refused
//! whole), the next shift's need against the plan, team balancing, pins on
//! record, the bed coordinator, and the staffing assistants' page with its
//! upload form. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (the workspace's store
//! harness, `careload_testkit`).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use axum::http::StatusCode;
use careload_api::router;
use careload_store::Store;
use chrono::Utc;
use serde_json::Value;

use common::{ADMIN, CONTROLLER, SCREEN, STAFF, World, call, config, json, milli, post, state_with, world};

/// The next shift of the default plan (07, 15, 21 in Stockholm) after now: its date and name.
fn next_shift() -> (String, String) {
    let plan = careload_scoring::shift::ShiftPlan::default();
    let s = plan.next_shift(Utc::now(), &chrono_tz::Europe::Stockholm);
    (s.date.to_string(), s.name)
}

/// The staffing file of the next shift: USK and SSK for teams a and b,
/// one of team b's three USK absent.
fn plan_csv(date: &str, shift: &str) -> String {
    format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;a;{date};{shift};USK;2;0\n\
         w1;a;{date};{shift};SSK;1;0\n\
         w1;b;{date};{shift};USK;3;1\n\
         w1;b;{date};{shift};SSK;1;0\n"
    )
}

/// Team b's USK on the next shift as a JSON row: 3 planned, `absent` absent.
fn json_row(date: &str, shift: &str, absent: u32) -> String {
    format!(
        r#"{{"rows": [{{"ward": "w1", "team": "b", "date": "{date}", "shift": "{shift}", "profession": "USK", "planned": 3, "absent": {absent}}}]}}"#
    )
}

/// `POST /api/v1/wards/w1/pins` with the JSON `body`.
async fn pin(app: &axum::Router, token: Option<&str>, body: &str) -> (StatusCode, String) {
    post(app, "/api/v1/wards/w1/pins", token, "application/json", body).await
}

/// The world and its router with the next shift's staffing file imported
/// (four rows), and that shift's date and name.
async fn imported(store: Store) -> (World, axum::Router, String, String) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (date, shift) = next_shift();
    let (s, body) = post(
        &app,
        "/api/v1/staffing/csv",
        Some(STAFF),
        "text/csv",
        &plan_csv(&date, &shift),
    )
    .await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"rows":4}"#));
    (world, app, date, shift)
}

/// The world and its router with the next shift planned as the staffing
/// assistants leave it: the file imported, then team b's USK row sent
/// again as JSON with nobody absent.
async fn planned(store: Store) -> (World, axum::Router) {
    let (world, app, date, shift) = imported(store).await;
    let (s, body) = post(
        &app,
        "/api/v1/staffing",
        Some(STAFF),
        "application/json",
        &json_row(&date, &shift, 0),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    (world, app)
}

/// A file with bad rows is refused whole, and screen tokens do not import.
async fn a_staffing_file_with_bad_rows_is_refused_whole(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (date, shift) = next_shift();

    // A CSV with two bad rows: refused whole, every bad row named by line.
    let bad = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;a;{date};{shift};USK;2;0\n\
         w1;b;{date};{shift};XYZ;1;0\n\
         w9;a;{date};{shift};SSK;1;0\n"
    );
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), "text/csv", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("line 3") && body.contains("line 4"), "{body}");
    let v = json(&app, "/api/v1/staffing?ward=w1", Some(STAFF)).await;
    assert_eq!(
        v["rows"].as_array().map(Vec::len),
        Some(0),
        "nothing of a refused file is stored"
    );

    // Screen tokens read, they do not write.
    let (s, _) = post(&app, "/api/v1/staffing/csv", Some(SCREEN), "text/csv", &bad).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// The file as CSV or as a form upload; teams by id or by name, an unknown
/// one refused naming the known ones (in CSV and in JSON rows).
async fn staffing_is_imported_as_csv_or_a_form_and_names_teams_by_id_or_name(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (date, shift) = next_shift();

    let good = plan_csv(&date, &shift);
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), "text/csv", &good).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"rows":4}"#));
    // the same file as a form upload (curl -F file=@plan.csv) imports the same
    let boundary = "------------------------3f2a9c0d1e7b4a65";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plan.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{good}\r\n--{boundary}--\r\n"
    );
    let multipart = format!("multipart/form-data; boundary={boundary}");
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), &multipart, &form).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"rows":4}"#));
    // a form without a file says plainly what to send, not "header has no … column"
    let empty_form =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nx\r\n--{boundary}--\r\n");
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), &multipart, &empty_form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("no file") && !body.contains("header has no"), "{body}");
    // A team careload does not know would never match: refused, naming the known ones.
    let unknown = format!("ward;team;date;shift;profession;planned\nw1;Lag X;{date};{shift};USK;2\n");
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), "text/csv", &unknown).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("line 2") && body.contains("\\\"Lag X\\\"") && body.contains("a (Lag A)") && body.contains(" b"),
        "{body}"
    );
    // The JSON rows too.
    let (s, body) = post(
        &app,
        "/api/v1/staffing",
        Some(STAFF),
        "application/json",
        &format!(
            r#"{{"rows": [{{"ward": "w1", "team": "x", "date": "{date}", "shift": "{shift}", "profession": "USK", "planned": 1, "absent": 0}}]}}"#
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("team \\\"x\\\" is not a team of ward \\\"w1\\\""),
        "{body}"
    );
    // A team's configured display name, or the one the ward screen shows, is its id.
    let named = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;Lag A;{date};{shift};USK;2;0\n\
         w1;lag a;{date};{shift};SSK;1;0\n\
         w1;Vårdlag B;{date};{shift};USK;3;1\n\
         w1;B;{date};{shift};SSK;1;0\n"
    );
    let (s, body) = post(&app, "/api/v1/staffing/csv", Some(STAFF), "text/csv", &named).await;
    assert_eq!((s, body.as_str()), (StatusCode::OK, r#"{"rows":4}"#));
    let v = json(
        &app,
        &format!("/api/v1/staffing?ward=w1&from={date}&to={date}"),
        Some(STAFF),
    )
    .await;
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(4));
}

/// A JSON row is checked and replaces the file's row; the next shift then
/// sets the need against what was planned, team by team.
async fn json_rows_replace_the_files_and_the_next_shift_compares_need_with_plan(store: Store) {
    let (_world, app, date, shift) = imported(store).await;

    // JSON rows: a bad one refuses the request; a good one replaces its row.
    let row = |absent: u32| json_row(&date, &shift, absent);
    let (s, body) = post(&app, "/api/v1/staffing", Some(STAFF), "application/json", &row(5)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("absent 5 is more than planned 3"), "{body}");
    let (s, body) = post(
        &app,
        "/api/v1/staffing",
        Some(STAFF),
        "application/json",
        "{\"rows\": 1}",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (s, _) = post(&app, "/api/v1/staffing", Some(STAFF), "application/json", &row(0)).await;
    assert_eq!(s, StatusCode::OK);

    // The next shift: need against what was planned, team by team.
    let v = json(&app, "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    let shifts = v["shifts"].as_array().expect("shifts");
    assert_eq!(shifts.len(), 2, "the next shift and the one after");
    let next = &shifts[0];
    assert_eq!(
        (next["shift"]["name"].as_str(), next["shift"]["date"].as_str()),
        (Some(shift.as_str()), Some(date.as_str()))
    );
    let teams = next["teams"].as_array().expect("teams");
    let b = teams.iter().find(|t| t["team"] == "b").expect("team b");
    assert_eq!(b["usk"]["planned"]["planned"], 3);
    assert_eq!(b["usk"]["planned"]["absent"], 0, "the JSON row replaced the CSV's");
    for t in teams.iter().chain([&next["ward"]]) {
        for p in ["usk", "ssk"] {
            let g = &t[p];
            if g["planned"].is_null() {
                continue;
            }
            assert!(milli(&g["need_hours"]) > 0, "{t}");
            assert_eq!(
                milli(&g["gap_hours"]),
                milli(&g["available_hours"]) - milli(&g["need_hours"]),
                "gap = available − need"
            );
        }
    }
    assert_eq!(
        shifts[1]["ward"]["verdict"], "no_plan",
        "nothing planned for the shift after"
    );
}

/// Balancing proposes at most `max_moves` moves, none of a pinned patient.
async fn balancing_proposes_few_moves_and_never_moves_a_pinned_patient(store: Store) {
    let (_world, app) = planned(store).await;

    // Balancing: a proposal, and a bad parameter says what to send.
    let v = json(&app, "/api/v1/wards/w1/balance?max_moves=2&pin=pa", Some(STAFF)).await;
    let moves = v["proposal"]["moves"].as_array().expect("moves");
    assert!(moves.len() <= 2);
    assert!(
        !v.to_string().contains(r#""ids":["pa"]"#),
        "a pinned patient never moves"
    );
    assert!(milli(&v["proposal"]["spread_after"]) <= milli(&v["proposal"]["spread_before"]));
    let (s, _, body) = call(&app, "/api/v1/wards/w1/balance?max_moves=many", Some(STAFF)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("0 to 20"), "{body}");
}

/// Pins are written by bed or pseudonym (a no-op pin writes nothing),
/// refused with what to send, listed, removed, and audited.
async fn pins_are_kept_by_bed_or_pseudonym_and_every_write_is_audited(store: Store) {
    let (_world, app) = planned(store).await;

    // Pins on record: by bed or pseudonym, for the current stay; pinned
    // patients never move and are listed with the proposal; every change audited.
    let (s, body) = pin(&app, Some(STAFF), r#"{"patient": "3", "pinned": true}"#).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let written: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (written["patient"].as_str(), written["changed"].as_bool()),
        (Some("pc"), Some(true))
    );
    let (s, body) = pin(&app, Some(STAFF), r#"{"patient": "pc", "pinned": true}"#).await;
    assert_eq!(
        (s, body.contains(r#""changed":false"#)),
        (StatusCode::OK, true),
        "{body}"
    );
    let (s, body) = pin(&app, Some(STAFF), r#"{"patient": "9", "pinned": true}"#).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.contains("one of the beds 1, 2, 3"),
        "the hint lists the beds: {body}"
    );
    let (s, body) = pin(&app, Some(STAFF), r#"{"bed": "3"}"#).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains(r#"\"pinned\": true"#), "says what to send: {body}");
    let (s, _) = pin(&app, Some(SCREEN), r#"{"patient": "1", "pinned": true}"#).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "screen tokens do not pin");
    let v = json(&app, "/api/v1/wards/w1/pins", Some(STAFF)).await;
    assert_eq!(v["pins"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        (v["pins"][0]["patient"].as_str(), v["pins"][0]["bed"].as_str()),
        (Some("pc"), Some("3"))
    );
    assert_eq!(v["pins"][0]["pinned_by"], "staffing");
    let (s, body) = pin(&app, Some(STAFF), r#"{"patient": "3", "pinned": false}"#).await;
    assert_eq!(
        (s, body.contains(r#""changed":true"#)),
        (StatusCode::OK, true),
        "{body}"
    );
    let v = json(&app, "/api/v1/wards/w1/pins", Some(STAFF)).await;
    assert_eq!(v["pins"].as_array().map(Vec::len), Some(0));

    // The writes are in the audit log under the token's name.
    let v = json(&app, "/api/v1/audit", Some(ADMIN)).await;
    let entries = v.as_array().or_else(|| v["entries"].as_array()).expect("entries");
    assert!(
        entries
            .iter()
            .any(|e| e["actor"] == "staffing" && e["action"] == "planned_staffing"),
        "{v}"
    );
    for action in ["planning.pin", "planning.unpin"] {
        assert_eq!(
            entries
                .iter()
                .filter(|e| e["actor"] == "staffing" && e["action"] == action)
                .count(),
            1,
            "{action} once (the no-op pin wrote nothing): {v}"
        );
    }
}

/// A stored pin is listed with the proposal and never moves, pins in the
/// request join it, and the planning page names the pinned patient.
async fn a_stored_pin_never_moves_and_pins_in_the_request_join_it(store: Store) {
    let (_world, app) = planned(store).await;
    let (s, body) = pin(&app, Some(STAFF), r#"{"patient": "3", "pinned": true}"#).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    let v = json(
        &app,
        "/api/v1/wards/w1/balance?max_moves=5&keep_rooms_together=false",
        Some(STAFF),
    )
    .await;
    assert_eq!(v["pinned"].as_array().map(Vec::len), Some(1), "{v}");
    assert_eq!(
        (v["pinned"][0]["patient"].as_str(), v["pinned"][0]["stored"].as_bool()),
        (Some("pc"), Some(true))
    );
    assert!(
        !v["proposal"]["moves"].to_string().contains(r#""pc""#),
        "a stored pin never moves: {v}"
    );
    let v = json(&app, "/api/v1/wards/w1/balance?pin=1", Some(STAFF)).await;
    let pinned: Vec<(&str, bool)> = v["pinned"]
        .as_array()
        .expect("pinned")
        .iter()
        .map(|p| {
            (
                p["patient"].as_str().unwrap_or(""),
                p["stored"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        pinned,
        [("pa", false), ("pc", true)],
        "request pins join the stored ones"
    );
    let (_, _, html) = call(&app, &format!("/wards/w1/planning?token={STAFF}"), None).await;
    assert!(
        html.contains("Stannar i sitt lag:</strong> säng 3 (Vårdlag B)"),
        "{html}"
    );
}

/// The bed coordinator sees every ward, by JSON and on its page; screen
/// tokens do not.
async fn the_bed_coordinator_sees_every_ward_on_its_page(store: Store) {
    let (_world, app) = planned(store).await;

    // The bed coordinator sees every ward.
    let v = json(&app, "/api/v1/admissions", Some(STAFF)).await;
    let mut wards: Vec<&str> = v["wards"]
        .as_array()
        .expect("wards")
        .iter()
        .filter_map(|w| w["ward"].as_str())
        .collect();
    wards.sort_unstable();
    assert_eq!(wards, ["w1", "w2"]);
    assert_eq!(
        (v["names"]["w1"].as_str(), v["names"]["w2"].as_str()),
        (Some("Avd 1"), Some("w2")),
        "configured names, else the id"
    );
    // … and on its page, ranked, with the words, linked from the overview.
    let (s, _, html) = call(&app, &format!("/admissions?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert_eq!(html.matches(r#"<tr class="ward""#).count(), 2, "{html}");
    for w in v["wards"].as_array().expect("wards") {
        assert!(
            html.contains(&*format!(
                r#"data-ward="{}" data-verdict="{}""#,
                w["ward"].as_str().unwrap_or(""),
                w["verdict"].as_str().unwrap_or("")
            )),
            "{w} in {html}"
        );
    }
    let (s, _, _) = call(&app, &format!("/admissions?token={SCREEN}"), None).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "screen tokens do not see the coordinator's page"
    );
}

/// The staffing assistants' page says it in Swedish words, for staffing
/// tokens only, linked from the overview.
async fn the_staffing_assistants_page_says_the_same_in_words(store: Store) {
    let (_world, app) = planned(store).await;

    // The staffing assistants' page says the same in words, escaped, with the token kept in links.
    let (s, _, html) = call(&app, &format!("/wards/w1/planning?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(
        html.contains("Nästa pass") && html.contains("Passet därefter"),
        "{html}"
    );
    assert!(html.contains("Hela avdelningen") && html.contains("Lag A") && html.contains("Vårdlag B"));
    assert!(
        html.contains("dagpass") || html.contains("kvällspass") || html.contains("nattpass"),
        "shift names in Swedish"
    );
    assert!(html.contains(r#"class="verdict verdict-"#));
    assert!(html.contains("Fördelning mellan vårdlagen"));
    // a few hours of history: the uncertainty falls back to the schedule and says why
    assert!(
        html.contains("Behov med osäkerhet") && html.contains("bara schemalagt") && html.contains("för kort historik"),
        "{html}"
    );
    let (s, _, _) = call(&app, &format!("/wards/w1/planning?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "screen tokens do not see planning pages");
    let (_, _, overview) = call(&app, &format!("/?token={STAFF}"), None).await;
    assert!(
        overview.contains("/wards/w1/planning?token="),
        "the overview links each ward's planning page"
    );
    assert!(overview.contains("/admissions?token="), "and the coordinator's page");
}

/// A form upload of `file` as a browser sends it (one file field).
fn form_upload(file: &str) -> (String, String) {
    let boundary = "----careloadFormBoundary7MA4YWxkTrZu0gW";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"plan.csv\"\r\n\
         Content-Type: text/csv\r\n\r\n{file}\r\n--{boundary}--\r\n"
    );
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The upload form is on the planning page for those who may import.
async fn the_planning_page_offers_the_staffing_form_to_those_who_may_import(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));

    // The form is on the page for those who may import, not for controllers.
    let (s, _, page) = call(&app, &format!("/wards/w1/planning?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains(&format!(
            r#"<form method="post" action="/wards/w1/planning/staffing?token={STAFF}" enctype="multipart/form-data">"#
        )) && page.contains(r#"<input type="file" name="file""#),
        "{page}"
    );
    let (_, _, page) = call(&app, "/wards/w1/planning", Some(CONTROLLER)).await;
    assert!(
        !page.contains("<form"),
        "a controller reads the page but may not import"
    );
    let (mime, body) = form_upload("ward;team;date;shift;profession;planned\n");
    let (s, _) = post(&app, "/wards/w1/planning/staffing", Some(CONTROLLER), &mime, &body).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// The page takes the file: a bad one lists every bad line and stores
/// nothing, a form without a file says so, a good one is stored.
async fn the_planning_page_takes_the_staffing_file_and_lists_every_bad_line(store: Store) {
    let world = world(store).await;
    let app = router(state_with(&world, config()));
    let (date, shift) = next_shift();

    // A bad file: the page again, every bad line listed, nothing stored.
    let bad = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;a;{date};{shift};USK;2;0\n\
         w1;Lag X;{date};{shift};USK;1;0\n\
         w1;b;{date};{shift};XYZ;1;0\n\
         w9;a;{date};{shift};SSK;1;0\n"
    );
    let (mime, body) = form_upload(&bad);
    let (s, page) = post(
        &app,
        &format!("/wards/w1/planning/staffing?token={STAFF}"),
        None,
        &mime,
        &body,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("Filen lästes inte in") && page.contains("(3 fel)"),
        "{page}"
    );
    for (line, words) in [
        (3, "team &quot;Lag X&quot; is not a team of ward &quot;w1&quot;"),
        (4, "profession &quot;xyz&quot; is not known"),
        (5, "ward &quot;w9&quot; is not known"),
    ] {
        let row = format!(r#"<tr><td class="num">{line}</td><td>"#);
        let at = page
            .find(&row)
            .unwrap_or_else(|| panic!("line {line} is not listed: {page}"));
        assert!(
            page[at..].split("</tr>").next().is_some_and(|r| r.contains(words)),
            "line {line}: {page}"
        );
    }
    assert!(
        page.contains(&format!(
            r#"<meta http-equiv="refresh" content="300; url=/wards/w1/planning?token={STAFF}">"#
        )),
        "the answer reloads the page, not the upload: {page}"
    );
    let v = json(&app, "/api/v1/staffing?ward=w1", Some(STAFF)).await;
    assert_eq!(
        v["rows"].as_array().map(Vec::len),
        Some(0),
        "nothing of a refused file is stored"
    );

    // A form without a file says so.
    let (s, page) = post(
        &app,
        "/wards/w1/planning/staffing",
        Some(STAFF),
        "multipart/form-data; boundary=x",
        "--x\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhej\r\n--x--\r\n",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("no file"), "{page}");

    // A good file: stored, and the page shows the comparison with it.
    let good = format!(
        "ward;team;date;shift;profession;planned;absent\n\
         w1;Lag A;{date};{shift};USK;2;0\n\
         w1;b;{date};{shift};USK;3;1\n"
    );
    let (mime, body) = form_upload(&good);
    let (s, page) = post(&app, "/wards/w1/planning/staffing", Some(STAFF), &mime, &body).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("<strong>Filen är inläst:</strong> 2 rader sparade"),
        "{page}"
    );
    let v = json(&app, "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    let teams = v["shifts"][0]["teams"].as_array().expect("teams");
    let a = teams.iter().find(|t| t["team"] == "a").expect("team a");
    assert_eq!(a["usk"]["planned"]["planned"], 2, "Lag A is team a: {a}");
}

/// One display name per team everywhere: the configured one (team a is
/// "Lag A"), else "Vårdlag" and the short label (team b is "Vårdlag B") —
/// on the ward screen, the planning page, the balancing proposal's rows and
/// reasons, and beside the id in the JSON views.
async fn a_team_has_one_display_name_on_every_page_and_view(store: Store) {
    let (_world, app) = planned(store).await;

    let (s, _, screen) = call(&app, &format!("/wards/w1/screen?token={SCREEN}"), None).await;
    assert_eq!(s, StatusCode::OK, "{screen}");
    assert!(
        screen.contains("Lag A") && !screen.contains("Vårdlag A") && screen.contains("Vårdlag B"),
        "the ward screen names team a as configured: {screen}"
    );
    let (s, _, page) = call(&app, &format!("/wards/w1/planning?token={STAFF}"), None).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("Lag A") && !page.contains("Vårdlag A") && page.contains("Vårdlag B") && !page.contains("Lag B"),
        "the planning page names the teams as the ward screen does: {page}"
    );

    let ward = json(&app, "/api/v1/wards/w1", Some(STAFF)).await;
    let names: Vec<(&str, &str)> = ward["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| (t["team"].as_str().unwrap_or("?"), t["name"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(names, vec![("a", "Lag A"), ("b", "Vårdlag B")], "{ward}");
    let shifts = json(&app, "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    let names: Vec<(&str, &str)> = shifts["shifts"][0]["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| (t["team"].as_str().unwrap_or("?"), t["name"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(names, vec![("a", "Lag A"), ("b", "Vårdlag B")], "{shifts}");

    // the proposal (a staff move allowed, so that something is likelier to move)
    let v = json(
        &app,
        "/api/v1/wards/w1/balance?allow_staff_move=true&max_moves=3",
        Some(STAFF),
    )
    .await;
    let names: Vec<(&str, &str)> = v["proposal"]["before"]
        .as_array()
        .expect("teams")
        .iter()
        .map(|t| (t["team"].as_str().unwrap_or("?"), t["name"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(names, vec![("a", "Lag A"), ("b", "Vårdlag B")], "{v}");
    for m in v["proposal"]["moves"].as_array().expect("moves") {
        let reason = m["reason"].as_str().expect("reason");
        assert!(
            reason.contains("Lag A")
                && reason.contains("Vårdlag B")
                && !reason.contains(" a ")
                && !reason.contains(" b:"),
            "a move names the teams by their display names: {reason}"
        );
    }
}

careload_testkit::on_every_backend!(
    a_team_has_one_display_name_on_every_page_and_view,
    a_staffing_file_with_bad_rows_is_refused_whole,
    staffing_is_imported_as_csv_or_a_form_and_names_teams_by_id_or_name,
    json_rows_replace_the_files_and_the_next_shift_compares_need_with_plan,
    balancing_proposes_few_moves_and_never_moves_a_pinned_patient,
    pins_are_kept_by_bed_or_pseudonym_and_every_write_is_audited,
    a_stored_pin_never_moves_and_pins_in_the_request_join_it,
    the_bed_coordinator_sees_every_ward_on_its_page,
    the_staffing_assistants_page_says_the_same_in_words,
    the_planning_page_offers_the_staffing_form_to_those_who_may_import,
    the_planning_page_takes_the_staffing_file_and_lists_every_bad_line,
);
