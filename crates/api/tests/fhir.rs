//! The FHIR R4 output (issue 29) through the real router, on the route
//! tests' world (`common::world`: six hours of two wards, four patients an
//! hour, and four past weeks): searches by date, ward, subject and
//! pseudonym give exactly the stored rows with their stored points; paging
//! through `next` links until the end gives every row once; reads by id
//! give what the search gave; every refusal is a 400 (401, 403, 404)
//! `OperationOutcome` that says what to send; only controller and admin
//! tokens read it; nothing the snapshots' sources name is served. Every
//! test runs on SQLite, and on PostgreSQL when `CARELOAD_TEST_DATABASE_URL`
//! names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::collections::BTreeSet;

use axum::http::{StatusCode, header};
use careload_app::fhir_out::{PSEUDONYM_SYSTEM, observation_id};
use careload_scoring::snapshot::PatientKey;
use careload_store::Store;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::Value;

use common::{ADMIN, CONTROLLER, SCREEN, STAFF, World, call, config, milli, state_with, world};

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A FHIR answer that must be 200: its JSON, checked to be `application/fhir+json`.
async fn fhir(app: &axum::Router, path: &str, token: &str) -> Value {
    let (status, headers, body) = call(app, path, Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+json", "{path}");
    serde_json::from_str(&body).expect("JSON")
}

/// Every page of a search from `path` on, following `next` links: the
/// resources in order and the number of pages.
async fn all_pages(app: &axum::Router, path: &str, token: &str) -> (Vec<Value>, usize) {
    let mut resources = Vec::new();
    let mut next = Some(path.to_owned());
    let mut pages = 0;
    while let Some(path) = next.take() {
        let bundle = fhir(app, &path, token).await;
        assert_eq!(bundle["resourceType"], "Bundle");
        assert_eq!(bundle["type"], "searchset");
        pages += 1;
        assert!(pages < 100, "no end to the pages");
        // no empty arrays in FHIR's JSON: a page without a match has no entry
        assert_ne!(bundle["entry"], serde_json::json!([]), "{bundle}");
        for e in bundle["entry"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let r = &e["resource"];
            assert!(
                e["fullUrl"].as_str().is_some_and(|u| u.ends_with(&format!(
                    "/{}/{}",
                    r["resourceType"].as_str().unwrap(),
                    r["id"].as_str().unwrap()
                ))),
                "{e}"
            );
            resources.push(r.clone());
        }
        let links = bundle["link"].as_array().expect("links");
        assert!(links.iter().any(|l| l["relation"] == "self"), "{bundle}");
        next = links
            .iter()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .map(|u| {
                let at = u.find("/fhir/r4/").expect("a FHIR URL");
                assert!(u.starts_with("http://"), "{u}");
                u[at..].to_owned()
            });
    }
    (resources, pages)
}

fn code_of(v: &Value) -> &str {
    v["code"]["coding"][0]["code"].as_str().unwrap_or("")
}

/// A part's points: the group's `measureScore` or the component's value.
fn part(resource: &Value, code: &str) -> i64 {
    let (list, field) = if resource["resourceType"] == "MeasureReport" {
        ("group", "measureScore")
    } else {
        ("component", "valueQuantity")
    };
    let item = resource[list]
        .as_array()
        .and_then(|items| items.iter().find(|i| code_of(i) == code))
        .unwrap_or_else(|| panic!("no {code} in {resource}"));
    milli(&item[field]["value"])
}

async fn searches_give_the_stored_rows_and_their_points(store: Store) {
    let world = world(store).await;
    let app = careload_api::router(state_with(&world, config()));
    let (from, to) = (world.hour - Duration::hours(5), world.hour + Duration::hours(1));
    let range = format!("date=ge{}&date=lt{}", enc(&time(from)), enc(&time(to)));

    // MeasureReports: one per ward and hour, the store's ward rows exactly
    let reports = fhir(&app, &format!("/fhir/r4/MeasureReport?{range}"), CONTROLLER).await;
    let reports: Vec<Value> = reports["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect();
    assert_eq!(reports.len(), 12, "6 hours × 2 wards");
    // polling: `gt` the newest lastUpdated served leaves that hour out, `ge` keeps it
    let newest = reports
        .iter()
        .filter_map(|r| r["meta"]["lastUpdated"].as_str())
        .max()
        .unwrap()
        .to_owned();
    let after = fhir(
        &app,
        &format!("/fhir/r4/MeasureReport?_lastUpdated=gt{}", enc(&newest)),
        CONTROLLER,
    )
    .await;
    assert!(after.get("entry").is_none(), "nothing after the newest: {after}");
    let at = fhir(
        &app,
        &format!("/fhir/r4/MeasureReport?_lastUpdated=ge{}", enc(&newest)),
        CONTROLLER,
    )
    .await;
    assert!(
        at["entry"].as_array().is_some_and(|e| !e.is_empty()),
        "the newest itself: {at}"
    );
    for ward in ["w1", "w2"] {
        let stored = world.store.ward_hours(ward, from, to).await.unwrap();
        assert_eq!(stored.len(), 6);
        for row in stored {
            let r = reports
                .iter()
                .find(|r| {
                    r["subject"]["reference"] == format!("Location/{ward}") && r["period"]["start"] == time(row.hour)
                })
                .unwrap_or_else(|| panic!("no report of {ward} at {}", row.hour));
            assert_eq!(r["status"], "complete");
            assert_eq!(part(r, "total"), row.totals.total.milli());
            assert_eq!(part(r, "usk"), row.totals.professions.usk.milli());
            assert_eq!(part(r, "ssk"), row.totals.professions.ssk.milli());
            for c in careload_scoring::score::Component::ALL {
                assert_eq!(part(r, c.key()), row.totals.components.get(c).milli(), "{c:?}");
            }
            assert_eq!(r["group"][0]["population"][0]["count"], row.totals.patients);
            assert_eq!(r["extension"][0]["valueString"], world.weights.meta.version);
        }
    }
    // by subject, and by ward
    for query in ["subject=Location%2Fw2", "ward=w2"] {
        let b = fhir(&app, &format!("/fhir/r4/MeasureReport?{range}&{query}"), ADMIN).await;
        let subjects: BTreeSet<&str> = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["subject"]["reference"].as_str().unwrap())
            .collect();
        assert_eq!(b["entry"].as_array().unwrap().len(), 6, "{query}");
        assert_eq!(subjects, BTreeSet::from(["Location/w2"]), "{query}");
    }
    // one hour, eq
    let b = fhir(
        &app,
        &format!("/fhir/r4/MeasureReport?date={}", enc(&time(world.hour))),
        ADMIN,
    )
    .await;
    assert_eq!(b["entry"].as_array().unwrap().len(), 2);
    // MeasureReport's own `period` is the hour too (its `date` is the write's)
    let by_period = fhir(
        &app,
        &format!("/fhir/r4/MeasureReport?period={}", enc(&time(world.hour))),
        ADMIN,
    )
    .await;
    assert_eq!(by_period["entry"], b["entry"]);
    let range_by_period = fhir(
        &app,
        &format!(
            "/fhir/r4/MeasureReport?period=ge{}&period=lt{}",
            enc(&time(world.hour - Duration::hours(2))),
            enc(&time(world.hour))
        ),
        ADMIN,
    )
    .await;
    assert_eq!(
        range_by_period["entry"].as_array().unwrap().len(),
        4,
        "two hours of two wards"
    );

    // Observations: one per patient and hour, the store's patient rows exactly
    let obs = fhir(&app, &format!("/fhir/r4/Observation?{range}"), CONTROLLER).await;
    let obs: Vec<Value> = obs["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"].clone())
        .collect();
    assert_eq!(obs.len(), 24, "6 hours × 4 patients");
    for ward in ["w1", "w2"] {
        for row in world.store.patient_hours(ward, from, to).await.unwrap() {
            let o = obs
                .iter()
                .find(|o| {
                    o["subject"]["identifier"]["value"] == row.key.0 && o["effectivePeriod"]["start"] == time(row.hour)
                })
                .unwrap_or_else(|| panic!("no observation of {} at {}", row.key.0, row.hour));
            assert_eq!(o["id"], observation_id(&row.key, row.hour));
            assert_eq!(milli(&o["valueQuantity"]["value"]), row.total.milli());
            assert_eq!(part(o, "usk"), row.professions.usk.milli());
            assert_eq!(part(o, "ssk"), row.professions.ssk.milli());
            for c in careload_scoring::score::Component::ALL {
                assert_eq!(part(o, c.key()), row.components.get(c).milli(), "{c:?}");
            }
            assert_eq!(o["category"][1]["coding"][0]["code"], ward);
        }
    }
    // by pseudonym
    let q = format!(
        "/fhir/r4/Observation?{range}&subject%3Aidentifier={}",
        enc(&format!("{PSEUDONYM_SYSTEM}|pa"))
    );
    let b = fhir(&app, &q, CONTROLLER).await;
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 6);
    assert!(
        entries
            .iter()
            .all(|e| e["resource"]["subject"]["identifier"]["value"] == "pa")
    );
    // by ward
    let b = fhir(&app, &format!("/fhir/r4/Observation?{range}&ward=w2"), CONTROLLER).await;
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 6);
    assert!(
        entries
            .iter()
            .all(|e| e["resource"]["subject"]["identifier"]["value"] == "pd")
    );

    // reads by id give what the search gave
    for r in reports.iter().take(3).chain(obs.iter().take(3)) {
        let path = format!(
            "/fhir/r4/{}/{}",
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap()
        );
        assert_eq!(&fhir(&app, &path, CONTROLLER).await, r, "{path}");
    }
    let id = observation_id(&PatientKey("pa".into()), world.hour + Duration::hours(1));
    for path in [
        format!("/fhir/r4/Observation/{id}"),
        "/fhir/r4/Observation/not-an-id".to_owned(),
        "/fhir/r4/MeasureReport/cn-ward-000000000000-2026120506".to_owned(),
    ] {
        let (status, headers, body) = call(&app, &path, Some(CONTROLLER)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+json");
        let outcome: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert_eq!(outcome["issue"][0]["code"], "not-found");
    }

    // what the snapshots' sources name (EHR references) is never served
    let served = format!("{reports:?}{obs:?}");
    for never in ["MedicationRequest/", "Task/", "news2-p", "Lag A", "Avd 1"] {
        assert!(!served.contains(never), "{never} is served");
    }
    let meta = fhir(&app, "/fhir/r4/metadata", CONTROLLER).await;
    assert_eq!(meta["resourceType"], "CapabilityStatement");
    assert_eq!(meta["fhirVersion"], "4.0.1");
    // open, as FHIR clients expect: it says what is served, nothing of the data
    let (status, headers, body) = call(&app, "/fhir/r4/metadata", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+json");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), meta);
    let measure_params: Vec<&str> = meta["rest"][0]["resource"][0]["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert!(measure_params.contains(&"period"), "{measure_params:?}");
}

/// Following `next` gives every row once, in pages of `_count`; a
/// `_lastUpdated` lower bound selects what was written since.
async fn paging_gives_every_row_once(store: Store) {
    let started = Utc::now() - Duration::seconds(1);
    let world: World = world(store).await;
    let app = careload_api::router(state_with(&world, config()));
    let since = world.hour - Duration::days(35);
    let stored: usize = {
        let mut n = 0;
        for ward in ["w1", "w2"] {
            n += world
                .store
                .patient_hours(ward, since, world.hour + Duration::hours(1))
                .await
                .unwrap()
                .len();
        }
        n
    };
    assert_eq!(stored, 24 + 4, "six hours of four and four past weeks of one");
    for query in [
        format!("date=ge{}&_count=5", enc(&time(since))),
        format!("_lastUpdated=ge{}&_count=3", enc(&time(started))),
        format!("_lastUpdated=gt{}&_count=1000", enc(&time(started))),
    ] {
        let (obs, pages) = all_pages(&app, &format!("/fhir/r4/Observation?{query}"), CONTROLLER).await;
        let ids: BTreeSet<&str> = obs.iter().map(|o| o["id"].as_str().unwrap()).collect();
        assert_eq!(obs.len(), stored, "{query}");
        assert_eq!(ids.len(), stored, "{query}: every row once");
        let count: usize = query.rsplit('=').next().unwrap().parse().unwrap();
        assert_eq!(
            pages,
            stored.div_ceil(count),
            "{query}: full pages, and no empty one at the end"
        );
        // ordered by hour
        let starts: Vec<&str> = obs
            .iter()
            .map(|o| o["effectivePeriod"]["start"].as_str().unwrap())
            .collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{query}");
        assert!(
            obs.iter().all(|o| {
                DateTime::parse_from_rfc3339(o["meta"]["lastUpdated"].as_str().unwrap()).unwrap() >= started
            })
        );
    }
    let (reports, _) = all_pages(
        &app,
        &format!("/fhir/r4/MeasureReport?date=ge{}&_count=2", enc(&time(since))),
        ADMIN,
    )
    .await;
    let ids: BTreeSet<&str> = reports.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(reports.len(), 6 * 2 + 4);
    assert_eq!(ids.len(), reports.len());
    // nothing written after now
    let later = enc(&time(Utc::now() + Duration::minutes(1)));
    let (none, pages) = all_pages(
        &app,
        &format!("/fhir/r4/Observation?_lastUpdated=gt{later}"),
        CONTROLLER,
    )
    .await;
    assert_eq!((none.len(), pages), (0, 1));
}

async fn refusals_are_operation_outcomes(store: Store) {
    let world = world(store).await;
    let app = careload_api::router(state_with(&world, config()));
    let ok = format!("date=ge{}", enc(&time(world.hour)));
    let cases: Vec<(String, Option<&str>, u16, &str, &str)> = vec![
        (
            format!("/fhir/r4/Observation?{ok}&bogus=1"),
            Some(CONTROLLER),
            400,
            "invalid",
            "bogus",
        ),
        (
            format!("/fhir/r4/Observation?{ok}&_count=2&_count=3"),
            Some(CONTROLLER),
            400,
            "invalid",
            "_count",
        ),
        (
            "/fhir/r4/Observation?date=notadate".into(),
            Some(CONTROLLER),
            400,
            "invalid",
            "date",
        ),
        ("/fhir/r4/Observation".into(), Some(CONTROLLER), 400, "invalid", "date"),
        (
            "/fhir/r4/MeasureReport?date=lt2026-12-01".into(),
            Some(CONTROLLER),
            400,
            "invalid",
            "date",
        ),
        (
            format!("/fhir/r4/Observation?{ok}&_count=0"),
            Some(CONTROLLER),
            400,
            "invalid",
            "_count",
        ),
        (
            format!("/fhir/r4/Observation?{ok}&_count=5000"),
            Some(CONTROLLER),
            400,
            "invalid",
            "_count",
        ),
        (
            format!("/fhir/r4/Observation?{ok}&_cursor=xyz"),
            Some(CONTROLLER),
            400,
            "invalid",
            "_cursor",
        ),
        (
            "/fhir/r4/Observation?date=ge2020-01-01".into(),
            Some(CONTROLLER),
            400,
            "invalid",
            "range",
        ),
        (
            format!("/fhir/r4/Observation?{ok}&subject%3Aidentifier=urn%3Aoid%3A1.2.752.129.2.1.3.1%7C191212121212"),
            Some(CONTROLLER),
            400,
            "invalid",
            "subject:identifier",
        ),
        (
            format!("/fhir/r4/MeasureReport?{ok}&subject=w1"),
            Some(CONTROLLER),
            400,
            "invalid",
            "subject",
        ),
        (format!("/fhir/r4/Observation?{ok}"), None, 401, "login", "token"),
        (
            format!("/fhir/r4/Observation?{ok}"),
            Some(SCREEN),
            403,
            "forbidden",
            "token",
        ),
        (
            format!("/fhir/r4/Observation?{ok}"),
            Some(STAFF),
            403,
            "forbidden",
            "token",
        ),
        (
            format!("/fhir/r4/Observation?{ok}&period=ge2026-12-01"),
            Some(CONTROLLER),
            400,
            "invalid",
            "period",
        ),
        ("/fhir/r4/Patient".into(), Some(CONTROLLER), 404, "not-found", "route"),
    ];
    for (path, token, status, code, mentions) in cases {
        let (s, headers, body) = call(&app, &path, token).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        assert_eq!(headers[header::CONTENT_TYPE], "application/fhir+json", "{path}");
        let outcome: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{path}");
        let issue = &outcome["issue"][0];
        assert_eq!(issue["severity"], "error", "{path}");
        assert_eq!(issue["code"], code, "{path}: {body}");
        let text = format!("{} {}", issue["details"]["text"], issue["diagnostics"]);
        assert!(text.contains(mentions), "{path}: {body}");
        assert!(
            issue["diagnostics"].as_str().is_some_and(|d| !d.is_empty()),
            "{path}: a hint: {body}"
        );
        if status == 401 {
            assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        }
    }
    // the roles that read in bulk may
    for token in [CONTROLLER, ADMIN] {
        let _ = fhir(&app, &format!("/fhir/r4/Observation?{ok}"), token).await;
    }
}

careload_testkit::on_every_backend!(
    searches_give_the_stored_rows_and_their_points,
    paging_gives_every_row_once,
    refusals_are_operation_outcomes,
);
