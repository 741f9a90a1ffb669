//! The council's calibration page (`GET /wards/{id}/calibration`) and the
//! monthly agreement report (`GET /api/v1/wards/{id}/calibration/agreement`)
//! through the real router (issue 27). Five weeks of stored hours up to now
//! for two wards with planned staffing that varies shift by shift: on w1
//! three in four of the people present rate each shift from a known truth
//! (a trusted fit), on w2 one person rates at random (not to be trusted).
//! The page leads with the optimal level or with the reasons not to trust
//! it, draws one dot per rated shift, names the components in Swedish, and
//! for a month lists its largest disagreements as the JSON report does; an
//! unknown ward is a 404 page, a missing or wrong token a 401 page, a screen
//! token a 403 page. Every test runs on SQLite, and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::{StatusCode, header};
use careload_api::{AppState, router};
use careload_planning::PlannedStaffing;
use careload_planning::words::one_decimal;
use careload_scoring::snapshot::{Activity, ActivityStatus, Dosing, MedicationOrder, Profession, Route};
use careload_scoring::{Snapshot, Weights, rollup, score_now};
use careload_store::{NewRating, RatingSource, Store, hour_of};
use chrono::{DateTime, Datelike as _, Duration, Utc};
use serde_json::Value;

use common::{ADMIN, CONTROLLER, SCREEN, STAFF, call, json};

/// Days of stored hours, up to the current hour.
const DAYS: i64 = 35;

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal, mean 0, standard deviation `sd`.
    fn noise(&mut self, sd: f64) -> f64 {
        let sum: f64 = (0..3).map(|_| self.unit() * 2.0 - 1.0).sum();
        sum * sd
    }
}

/// A patient of `ward` whose points grow with `load`.
fn patient(ward: &str, key: &str, hour: DateTime<Utc>, load: u32) -> Snapshot {
    let mut s = common::patient(key, ward, "a", key, hour);
    let as_of = hour + Duration::minutes(5);
    s.news2.push(careload_scoring::snapshot::News2Observation {
        at: as_of - Duration::hours(1),
        value: (load % 7) as u8,
        source: None,
    });
    for i in 0..(1 + load % 3) {
        s.activities.push(Activity {
            code: if i % 2 == 0 { "personal-hygiene" } else { "wound-care" }.into(),
            due: Some(as_of + Duration::minutes(20)),
            status: ActivityStatus::Open,
            profession: None,
            source: None,
        });
    }
    s.medications.push(MedicationOrder {
        route: Route::Oral,
        dosing: Dosing::PerDay {
            times: 1 + (load % 3) as u16,
        },
        source: None,
    });
    s
}

/// [`DAYS`] days of hours up to `current` for w1 and w2; each hour's need per ward (thousandths).
async fn fill_hours(store: &Store, w: &Weights, current: DateTime<Utc>) -> BTreeMap<(String, DateTime<Utc>), i64> {
    store.record_weights(w).await.expect("record weights");
    let mut need = BTreeMap::new();
    for h in 0..DAYS * 24 {
        let hour = current - Duration::hours(DAYS * 24 - 1 - h);
        let day = (h / 24) as u32;
        let mut pairs = Vec::new();
        for (ward, base) in [("w1", 0u32), ("w2", 3)] {
            let census = 6 + (day * 7 + 3 + base) % 5;
            for i in 0..census {
                let s = patient(
                    ward,
                    &format!("{ward}-p{i}"),
                    hour,
                    i + day + base + (h % 24) as u32 / 8,
                );
                let sc = score_now(&s, w);
                pairs.push((s, sc));
            }
        }
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let run = store.begin_run("test").await.expect("begin run");
        store
            .write_hour(hour, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write hour");
        store
            .finish_run(run, careload_store::Outcome::Ok, &careload_store::RunReport::default())
            .await
            .expect("finish run");
        for ward in ["w1", "w2"] {
            let p = &r.wards[ward].totals.professions;
            need.insert((ward.to_owned(), hour), p.usk.milli() + p.ssk.milli());
        }
    }
    need
}

/// Planned staffing for every shift of the stored hours (points per person
/// between 14 and 38), and the ratings: on w1 three in four present rate
/// from the truth, on w2 one person rates at random.
async fn fill_plans_and_ratings(
    state: &AppState,
    need: &BTreeMap<(String, DateTime<Utc>), i64>,
    current: DateTime<Utc>,
) {
    let tz = state.tz();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut rows, mut ratings) = (Vec::new(), Vec::new());
    for ward in ["w1", "w2"] {
        let plan = state.shift_plan(ward).expect("plan");
        let first = current - Duration::hours(DAYS * 24 - 1);
        let mut w = plan.shift_at(first, &tz);
        while w.window.end <= current {
            let n: i64 = need
                .range((ward.to_owned(), w.window.start)..(ward.to_owned(), w.window.end))
                .map(|(_, v)| v)
                .sum();
            let target = 14.0 + 24.0 * rng.unit();
            let people = ((n as f64 / 1000.0 / target).round() as u32).max(2);
            let present = (people.div_ceil(2), people / 2);
            // w1's staff and ratings are its one team's, w2's the whole ward's
            let team = (ward == "w1").then(|| "a".to_owned());
            for (profession, planned) in [(Profession::Usk, present.0), (Profession::Ssk, present.1)] {
                rows.push(PlannedStaffing {
                    ward: ward.into(),
                    team: team.clone(),
                    date: w.date,
                    shift: w.name.clone(),
                    profession,
                    planned,
                    absent: 0,
                });
            }
            let per_person = n as f64 / 1000.0 / f64::from(people);
            let rating = |profession, rating: f64| NewRating {
                ward: ward.into(),
                team: team.clone(),
                shift_start: w.window.start,
                shift: w.name.clone(),
                profession: Some(profession),
                rating: rating.round().clamp(-3.0, 3.0) as i8,
                source: RatingSource::PaperImport,
                received_at: w.window.end,
            };
            if ward == "w1" {
                for (profession, n) in [(Profession::Usk, present.0), (Profession::Ssk, present.1)] {
                    for _ in 0..(3 * n).div_ceil(4) {
                        ratings.push(rating(profession, 0.15 * (per_person - 25.0) + rng.noise(0.7)));
                    }
                }
            } else {
                ratings.push(rating(Profession::Usk, rng.unit() * 7.0 - 3.5));
            }
            w = plan.shift_at(w.window.end, &tz);
        }
    }
    state
        .store
        .put_planned_staffing(&rows, "test", "test")
        .await
        .expect("planned staffing");
    state.store.put_ratings(&ratings).await.expect("ratings");
}

/// The API over a filled store, with a token of every role.
async fn filled(store: Store) -> (axum::Router, AppState) {
    let w = common::weights();
    let current = hour_of(Utc::now());
    let need = fill_hours(&store, &w, current).await;
    let state = AppState::with_env(store, Arc::new(common::config()), Arc::new(w), common::env).expect("state");
    fill_plans_and_ratings(&state, &need, current).await;
    (router(state.clone()), state)
}

/// A page that must answer 200 as HTML: its body.
async fn page(app: &axum::Router, path: &str, token: Option<&str>) -> String {
    let (status, headers, body) = call(app, path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    let ct = headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
    assert!(ct.starts_with("text/html"), "{path}: {ct}");
    assert!(!body.contains("<script"), "{path}: no JavaScript");
    body
}

/// The dots of each scatter on a page, in order: together, USK, SSK.
fn dots_per_scatter(html: &str) -> Vec<usize> {
    html.split(r#"<svg class="scatter""#)
        .skip(1)
        .map(|s| s.split("</svg>").next().unwrap().matches(r#"class="dot""#).count())
        .collect()
}

/// Rated shifts (with a mean rating) of one fit in the JSON.
fn rated(fit: &Value) -> usize {
    fit["points"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| !p["mean_rating"].is_null())
        .count()
}

/// Points in the JSON as the page writes them (`24,8`).
fn shown(v: &Value) -> String {
    one_decimal((v.as_f64().unwrap() * 1000.0).round() as i64)
}

async fn the_page_leads_with_the_optimum_or_with_why_not(store: Store) {
    let (app, _) = filled(store).await;

    // w1: trusted
    let c = json(&app, "/api/v1/wards/w1/calibration", Some(STAFF)).await;
    let f = &c["together"];
    assert_eq!(f["reliable"], true, "{}", f["reasons"]);
    let html = page(&app, "/wards/w1/calibration", Some(STAFF)).await;
    let headline = format!(
        "Optimal belastning: {} poäng per person och pass (95 % KI {}–{})",
        shown(&f["optimal_points_per_person"]),
        shown(&f["interval"]["low"]),
        shown(&f["interval"]["high"])
    );
    assert!(html.contains(&headline), "{headline} missing");
    assert!(!html.contains(r#"id="unreliable""#));
    assert!(html.contains("Kalibrering – Avd 1"));
    assert!(html.contains("svarsfrekvens "), "the response rate");
    // one dot per rated shift, in each scatter
    assert_eq!(
        dots_per_scatter(&html),
        [rated(f), rated(&c["usk"]), rated(&c["ssk"])],
        "a dot per rated shift"
    );
    assert!(rated(f) > 20, "{}", rated(f));
    assert_eq!(html.matches(r#"<line class="fit""#).count(), 3, "a fitted line in each");
    assert_eq!(
        html.matches(r#"class="optimum""#).count(),
        3,
        "the optimum on each 0 line"
    );
    // the components in Swedish, each one a row
    assert_eq!(html.matches("<tr data-component=").count(), 9);
    for name in ["Läkemedel", "Grundläggande omvårdnad (USK)", "NEWS2"] {
        assert!(html.contains(&format!("<td>{name}</td>")), "{name}");
    }
    assert!(html.contains("Metoden och dess gränser"));
    // per team: w1's one team has every row and rating and all the patients, so its fit is the ward's
    let teams = c["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 1, "{teams:?}");
    let a = &teams[0];
    assert_eq!((a["id"].as_str(), a["name"].as_str()), (Some("a"), Some("Lag A")));
    for key in [
        "optimal_points_per_person",
        "interval",
        "r_squared",
        "shifts",
        "ratings",
        "reliable",
    ] {
        assert_eq!(a["fit"][key], f[key], "{key}");
    }
    assert!(html.contains("<h2>Per vårdlag</h2>"));
    let row = format!(
        r#"<tr data-team="a"><td>Lag A</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}–{}</td>"#,
        a["own_shifts"],
        shown(&a["fit"]["optimal_points_per_person"]),
        shown(&a["fit"]["interval"]["low"]),
        shown(&a["fit"]["interval"]["high"])
    );
    assert!(html.contains(&row), "{row} missing");
    let row = html
        .split(r#"<tr data-team="a">"#)
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap();
    assert!(row.contains("✔ ja"), "{row}");
    // the numbers are Swedish: no hyphen-minus before a digit in the text
    let text: String = html
        .split("</style>")
        .last()
        .unwrap()
        .split('<')
        .map(|s| s.split_once('>').map_or("", |(_, t)| t))
        .collect();
    assert!(
        !text.contains(" -") && !text.contains("(-"),
        "a hyphen-minus in the page's text"
    );

    // w2: not to be trusted, and says why before the numbers
    let c = json(&app, "/api/v1/wards/w2/calibration", Some(CONTROLLER)).await;
    let f = &c["together"];
    assert_eq!(f["reliable"], false);
    let html = page(&app, "/wards/w2/calibration", Some(CONTROLLER)).await;
    let banner = html.find(r#"id="unreliable""#).expect("the reasons");
    assert!(banner < html.find(r#"id="optimum""#).expect("the numbers still"));
    let reasons = f["reasons"].as_array().unwrap();
    assert!(reasons.iter().any(|r| r["code"] == "low_response_rate"), "{reasons:?}");
    for r in reasons {
        let item = format!(
            r#"<li data-reason="{}">{}</li>"#,
            r["code"].as_str().unwrap(),
            r["text"].as_str().unwrap()
        );
        assert!(html.contains(&item), "{item} missing");
    }
    assert!(html.contains("ej tillförlitlig"));
    // a scatter only where a mean may be shown (three ratings and three people or more)
    assert_eq!(dots_per_scatter(&html).first().copied().unwrap_or(0), rated(f));
    // w2's staff are planned for the whole ward: its team has no shift of its own, and the page says so
    let team = &c["teams"][0];
    assert_eq!(team["own_shifts"], 0);
    assert_eq!(team["fit"]["reasons"][0]["code"], "too_few_shifts");
    let row = html
        .split(&format!(r#"<tr data-team="{}">"#, team["id"].as_str().unwrap()))
        .nth(1)
        .expect("the team's row")
        .split("</tr>")
        .next()
        .unwrap();
    assert!(
        row.contains("inget pass med egen planerad bemanning i perioden"),
        "{row}"
    );
}

async fn a_month_shows_its_largest_disagreements(store: Store) {
    let (app, state) = filled(store).await;
    let now = Utc::now();
    let local = (now - Duration::days(10)).with_timezone(&state.tz()).date_naive();
    let month = format!("{:04}-{:02}", local.year(), local.month());

    let a = json(
        &app,
        &format!("/api/v1/wards/w1/calibration/agreement?month={month}"),
        Some(STAFF),
    )
    .await;
    assert_eq!(a["month"], month.as_str());
    let d = a["disagreements"].as_array().unwrap();
    assert!(!d.is_empty() && d.len() <= 10, "{}", d.len());
    let weights: Vec<f64> = d
        .iter()
        .map(|s| s["weighted_squared_residual"].as_f64().unwrap())
        .collect();
    assert!(weights.windows(2).all(|w| w[0] >= w[1]), "largest first: {weights:?}");
    assert_eq!(d[0]["components"].as_array().unwrap().len(), 9, "the breakdown");

    let html = page(&app, &format!("/wards/w1/calibration?month={month}"), Some(STAFF)).await;
    assert!(html.contains("Största avvikelser"));
    assert_eq!(html.matches(r#"<li class="disagreement""#).count(), d.len());
    let first = &d[0];
    let start = first["start"].as_str().unwrap();
    let item = html
        .split(&format!(r#"data-start="{start}""#))
        .nth(1)
        .expect("the largest disagreement")
        .split("</li>")
        .next()
        .unwrap();
    let words = format!("{} poäng/person men bedömt", shown(&first["points_per_person"]));
    assert!(item.contains(&words), "{item}");
    assert!(item.contains("(väntat "), "{item}");
    let direction = if first["residual"].as_f64().unwrap() > 0.0 {
        "tyngre än poängen säger"
    } else {
        "lättare än poängen säger"
    };
    assert!(item.contains(direction), "{item}");
    assert!(html.contains("Månad: "), "the month in the title line");
    // the page over a month is the report's calibration
    assert_eq!(dots_per_scatter(&html)[0], rated(&a["calibration"]["together"]));
    // without a month, no disagreements on the page
    let html = page(&app, "/wards/w1/calibration", Some(STAFF)).await;
    assert!(!html.contains("Största avvikelser"));

    // the report's default month: the last complete one
    let a = json(&app, "/api/v1/wards/w1/calibration/agreement", Some(ADMIN)).await;
    let today = now.with_timezone(&state.tz()).date_naive();
    let last = today.with_day(1).unwrap() - Duration::days(1);
    assert_eq!(a["month"], format!("{:04}-{:02}", last.year(), last.month()));
    assert_eq!(a["complete"], true);
}

async fn unknown_wards_and_wrong_tokens_get_a_page(store: Store) {
    let (app, _) = filled(store).await;
    let cases = [
        (
            "/wards/nowhere/calibration",
            Some(STAFF),
            404,
            "Avdelningen nowhere finns inte",
        ),
        ("/wards/w1/calibration", None, 401, "Ingen behörighet"),
        ("/wards/w1/calibration?token=not-a-token", None, 401, "Ingen behörighet"),
        ("/wards/w1/calibration", Some(SCREEN), 403, "Ingen behörighet"),
    ];
    for (path, token, status, words) in cases {
        let (s, headers, body) = call(&app, path, token).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        let ct = headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
        assert!(ct.starts_with("text/html"), "{path}: {ct}");
        assert!(body.contains(words), "{path}: {body}");
    }
    // the token in the address opens the page and stays in its links
    let html = page(&app, &format!("/wards/w1/calibration?token={STAFF}"), None).await;
    assert!(html.contains(&format!("/wards/w1/planning?token={STAFF}")));
    let months: Vec<&str> = html
        .split(r#"href="/wards/w1/calibration?month="#)
        .skip(1)
        .map(|l| l.split('"').next().unwrap())
        .collect();
    assert_eq!(months.len(), 3, "the last three months");
    assert!(
        months.iter().all(|l| l.ends_with(&format!("&amp;token={STAFF}"))),
        "the month links keep the token: {months:?}"
    );

    // what the page and the report cannot read
    let json_cases = [
        ("/wards/w1/calibration?month=2026-13", Some(STAFF), 400),
        (
            "/wards/w1/calibration?month=2026-11&from=2026-11-01T00%3A00%3A00Z",
            Some(STAFF),
            400,
        ),
        (
            "/api/v1/wards/w1/calibration/agreement?month=november",
            Some(STAFF),
            400,
        ),
        ("/api/v1/wards/w1/calibration/agreement?month=2999-01", Some(STAFF), 400),
        ("/api/v1/wards/nowhere/calibration/agreement", Some(STAFF), 404),
        ("/api/v1/wards/w1/calibration/agreement", Some(SCREEN), 403),
        ("/api/v1/wards/w1/calibration/agreement", None, 401),
    ];
    for (path, token, status) in json_cases {
        let (s, _, body) = call(&app, path, token).await;
        assert_eq!(s.as_u16(), status, "{path}: {body}");
        let v: Value = serde_json::from_str(&body).expect("a JSON error");
        assert!(v["error"].is_string(), "{path}: {body}");
    }
}

careload_testkit::on_every_backend!(
    the_page_leads_with_the_optimum_or_with_why_not,
    a_month_shows_its_largest_disagreements,
    unknown_wards_and_wrong_tokens_get_a_page,
);
