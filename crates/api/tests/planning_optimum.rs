//! The planning page and `GET /api/v1/wards/{id}/shifts` with the ward's own
//! optimum (issue 27): four weeks of stored hours of ward w1 up to now,
//! planned staffing that varies shift by shift around a known truth — the
//! points per person that feel optimal are a twentieth of what the
//! council's staff-hour factors imply for the next shift, so the ward's
//! optimum calls for about twenty times the staff — and the staff's ratings
//! drawn from that truth. Then the next
//! shift shows both figures, the reliability and the difference explained;
//! by default the verdicts stay the factors'; with `calibration.drives =
//! "optimum"` the same plan turns understaffed. Without ratings the optimum
//! is untrusted and says why, and `drives = "optimum"` falls back to the
//! factors saying so. `GET /api/v1/wards/{id}/calibration` is held to the
//! configured `[calibration]`. Every test runs on SQLite, and on PostgreSQL
//! when `CARELOAD_TEST_DATABASE_URL` names a server.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use careload_api::router;
use careload_config::{Config, Drives};
use careload_planning::PlannedStaffing;
use careload_scoring::shift::{ShiftPlan, ShiftWindow};
use careload_scoring::snapshot::Profession;
use careload_store::{NewRating, RatingSource, Store, hour_of};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use common::{STAFF, World, call, config, json, milli, patient_with_care, state_with, weights, write};

/// Days of stored hours up to now.
const DAYS: i64 = 28;

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

    /// Roughly normal, mean 0, standard deviation about `sd`.
    fn noise(&mut self, sd: f64) -> f64 {
        (0..3).map(|_| self.unit() * 2.0 - 1.0).sum::<f64>() * sd
    }
}

/// Writes [`DAYS`] days of hours of w1 up to the current hour, a census of
/// 6 to 10 patients that changes by the day; returns each hour's USK and
/// SSK points (thousandths).
async fn fill_hours(store: &Store, hour: DateTime<Utc>) -> BTreeMap<DateTime<Utc>, (i64, i64)> {
    let w = weights();
    store.record_weights(&w).await.expect("record weights");
    let mut stored = BTreeMap::new();
    for h in (0..DAYS * 24).rev() {
        let at = hour - Duration::hours(h);
        let census = 6 + ((h / 24) * 7 + 3) % 5;
        let snapshots: Vec<_> = (0..census)
            .map(|i| {
                let team = if i % 2 == 0 { "a" } else { "b" };
                patient_with_care(&format!("p{i}"), "w1", team, &format!("{i}"), at, (i % 5) as u8)
            })
            .collect();
        let (_, r) = common::scored(&w, snapshots.clone());
        let p = &r.wards["w1"].totals.professions;
        stored.insert(at, (p.usk.milli(), p.ssk.milli()));
        write(store, &w, at, snapshots).await;
    }
    stored
}

/// The ended shifts of the stored hours, each with its need (USK, SSK; thousandths).
fn ended_shifts(hours: &BTreeMap<DateTime<Utc>, (i64, i64)>, now: DateTime<Utc>) -> Vec<(ShiftWindow, i64, i64)> {
    let plan = ShiftPlan::default();
    let tz = chrono_tz::Europe::Stockholm;
    let first = *hours.keys().next().unwrap();
    let mut w = plan.shift_at(first, &tz);
    if w.window.start < first {
        w = plan.shift_at(w.window.end, &tz);
    }
    let mut out = Vec::new();
    while w.window.end <= now {
        let minutes = (w.window.end - w.window.start).num_minutes();
        let (mut usk, mut ssk, mut covered) = (0i64, 0i64, 0i64);
        for (_, (u, s)) in hours.range(w.window.start..w.window.end) {
            usk += u;
            ssk += s;
            covered += 60;
        }
        if covered > 0 {
            let scale = |v: i64| (v as f64 * minutes as f64 / covered as f64).round() as i64;
            out.push((w.clone(), scale(usk), scale(ssk)));
        }
        w = plan.shift_at(w.window.end, &tz);
    }
    out
}

/// Planned staffing for every ended shift around `truth` points per person,
/// and the ratings of three in four of the people present drawn from it.
async fn fill_staffing_and_ratings(store: &Store, shifts: &[(ShiftWindow, i64, i64)], truth: f64) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let slope = 4.0 / truth;
    let (mut rows, mut ratings) = (Vec::new(), Vec::new());
    for (w, usk, ssk) in shifts {
        let target = truth * (0.6 + 0.9 * rng.unit());
        let people = |need: i64| ((need as f64 / 1000.0 / target).round() as u32).max(1);
        let present = [(Profession::Usk, people(*usk)), (Profession::Ssk, people(*ssk))];
        let x = (usk + ssk) as f64 / 1000.0 / f64::from(present[0].1 + present[1].1);
        for (profession, n) in present {
            rows.push(PlannedStaffing {
                ward: "w1".into(),
                team: None,
                date: w.date,
                shift: w.name.clone(),
                profession,
                planned: n,
                absent: 0,
            });
            for _ in 0..(3 * n).div_ceil(4) {
                let rating = (slope * (x - truth) + rng.noise(0.5)).round().clamp(-3.0, 3.0) as i8;
                ratings.push(NewRating {
                    ward: "w1".into(),
                    team: None,
                    shift_start: w.window.start,
                    shift: w.name.clone(),
                    profession: Some(profession),
                    rating,
                    source: RatingSource::PaperImport,
                    received_at: w.window.end + Duration::hours(1),
                });
            }
        }
    }
    store
        .put_planned_staffing(&rows, "test", "test")
        .await
        .expect("staffing");
    store.put_ratings(&ratings).await.expect("ratings");
}

/// The router over `store` with `config` (a fresh response cache each time).
fn app(store: &Store, config: Config) -> axum::Router {
    let world = World {
        store: store.clone(),
        weights: Arc::new(weights()),
        hour: hour_of(Utc::now()),
        now: Vec::new(),
    };
    router(state_with(&world, config))
}

fn optimum_config() -> Config {
    let mut c = config();
    c.calibration.drives = Drives::Optimum;
    c
}

/// The people a scope of the view needs, USK and SSK, in thousandths.
fn need_people(scope: &Value) -> (i64, i64) {
    (milli(&scope["usk"]["need_people"]), milli(&scope["ssk"]["need_people"]))
}

async fn the_wards_own_optimum_is_shown_beside_the_factors_and_drives_when_asked(store: Store) {
    let now = Utc::now();
    let hour = hour_of(now);
    let hours = fill_hours(&store, hour).await;

    // No ratings yet: the optimum is untrusted and says why; the factors drive.
    let v = json(&app(&store, config()), "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    let o = &v["optimum"];
    assert_eq!(
        (o["reliable"].as_bool(), o["configured"].as_str()),
        (Some(false), Some("staff_hours"))
    );
    assert_eq!(o["drives"], "staff_hours");
    assert_eq!(o["shifts"].as_array().map(Vec::len), Some(2));
    let line = o["shifts"][0]["line"].as_str().unwrap();
    assert!(
        line.starts_with("enligt avdelningens egen bedömning: ej tillförlitlig: för få skattade pass: 0 (minst 20)"),
        "{line}"
    );
    assert!(o["shifts"][0]["optimum_people"].is_null() && o["shifts"][0]["explanation"].is_null());
    let factors = need_people(&v["shifts"][0]["ward"]);
    let total = milli(&v["shifts"][0]["ward"]["need"]["total"]);
    assert!(
        factors.0 > 0 && factors.1 > 0,
        "the next shift needs people: {factors:?} {}",
        v["shifts"][0]
    );
    // configured to drive, but untrusted: the factors drive, and the view says so
    let u = json(&app(&store, optimum_config()), "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    assert_eq!(
        (u["optimum"]["configured"].as_str(), u["optimum"]["drives"].as_str()),
        (Some("optimum"), Some("staff_hours"))
    );
    assert!(
        u["optimum"]["fallback"]
            .as_str()
            .unwrap()
            .contains("personaltimfaktorerna styr"),
        "{u}"
    );
    assert_eq!(u["shifts"], v["shifts"], "an untrusted optimum changes no verdict");
    let (_, _, page) = call(
        &app(&store, optimum_config()),
        &format!("/wards/w1/planning?token={STAFF}"),
        None,
    )
    .await;
    assert!(
        page.contains("Avdelningens optimum är inte tillförlitligt: personaltimfaktorerna styr bedömningen."),
        "{page}"
    );

    // The truth: a twentieth of the points per person the factors imply.
    let implied = total as f64 / (factors.0 + factors.1) as f64;
    let truth = implied / 20.0;
    let shifts = ended_shifts(&hours, now);
    assert!(shifts.len() >= 3 * (DAYS as usize - 1), "{}", shifts.len());
    fill_staffing_and_ratings(&store, &shifts, truth).await;

    // The next shift planned with the people the factors call for (rounded up).
    let next = &v["shifts"][0]["shift"];
    let date: chrono::NaiveDate = next["date"].as_str().unwrap().parse().unwrap();
    let name = next["name"].as_str().unwrap().to_owned();
    let planned = |m: i64| u32::try_from((m + 999) / 1000).unwrap();
    let rows: Vec<PlannedStaffing> = [(Profession::Usk, factors.0), (Profession::Ssk, factors.1)]
        .into_iter()
        .map(|(profession, need)| PlannedStaffing {
            ward: "w1".into(),
            team: None,
            date,
            shift: name.clone(),
            profession,
            planned: planned(need),
            absent: 0,
        })
        .collect();
    store
        .put_planned_staffing(&rows, "test", "test")
        .await
        .expect("next shift's plan");

    // By default: both figures, the factors' verdict.
    let v = json(&app(&store, config()), "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    let o = &v["optimum"];
    assert_eq!(o["reliable"], true, "{o}");
    assert_eq!(o["drives"], "staff_hours");
    assert_eq!(o["reasons"].as_array().map(Vec::len), Some(0));
    let weeks = o["weeks"].as_u64().unwrap();
    assert!(weeks >= 4, "{weeks}");
    let ward = &v["shifts"][0]["ward"];
    assert_eq!(need_people(ward), factors, "the default keeps the factors' need");
    assert_eq!(ward["verdict"], "balanced", "{ward}");
    let s = &o["shifts"][0];
    assert_eq!(milli(&s["factors_people"]), factors.0 + factors.1);
    let optimum_people = milli(&s["optimum_people"]);
    let ratio = optimum_people as f64 / (factors.0 + factors.1) as f64;
    assert!(
        (12.0..=30.0).contains(&ratio),
        "the optimum calls for about twenty times the staff: {ratio}"
    );
    // the figure is need ÷ optimum, per profession or together as the scope says
    let need = &ward["need"]["professions"];
    let expected = match o["scope"].as_str().unwrap() {
        "professions" => {
            let per = |p: &str| {
                careload_planning::calibration::staff_needed(
                    careload_scoring::Points::from_milli(milli(&need[p])),
                    careload_scoring::Points::from_milli(milli(&o[p])),
                )
                .unwrap()
                .milli()
            };
            per("usk") + per("ssk")
        }
        "together" => careload_planning::calibration::staff_needed(
            careload_scoring::Points::from_milli(total),
            careload_scoring::Points::from_milli(milli(&o["together"])),
        )
        .unwrap()
        .milli(),
        other => panic!("scope {other}"),
    };
    assert_eq!(optimum_people, expected);
    assert_eq!(milli(&s["difference"]), optimum_people - (factors.0 + factors.1));
    let shown = careload_planning::words::one_decimal(optimum_people);
    assert_eq!(
        s["line"].as_str().unwrap(),
        format!("enligt avdelningens egen bedömning: {shown} personer (tillförlitlig, {weeks} veckor)")
    );
    let factors_shown = careload_planning::words::one_decimal(factors.0 + factors.1);
    assert_eq!(
        s["explanation"].as_str().unwrap(),
        format!(
            "personaltimfaktorerna säger {factors_shown}, avdelningens optimum {shown}: passen har känts tyngre än faktorerna antar"
        )
    );
    let (status, _, page) = call(
        &app(&store, config()),
        &format!("/wards/w1/planning?token={STAFF}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!(
            "Bemanningsbehov enligt avdelningens egen bedömning: {shown} personer (tillförlitlig, {weeks} veckor)."
        )),
        "{page}"
    );
    assert!(
        page.contains(&format!(
            "Personaltimfaktorerna säger {factors_shown}, avdelningens optimum {shown}: passen har känts tyngre än faktorerna antar."
        )),
        "{page}"
    );
    assert!(page.contains("poäng × timfaktor ÷ passets timmar") && !page.contains("Bedömningen ovan följer"));

    // drives = "optimum": the same plan is understaffed by the ward's own measure.
    let d = json(&app(&store, optimum_config()), "/api/v1/wards/w1/shifts", Some(STAFF)).await;
    assert_eq!(d["optimum"]["drives"], "optimum");
    let ward = &d["shifts"][0]["ward"];
    assert_eq!(ward["verdict"], "understaffed", "{ward}");
    let by_optimum = need_people(ward);
    assert_eq!(by_optimum.0 + by_optimum.1, optimum_people);
    assert_eq!(
        (
            milli(&d["optimum"]["shifts"][0]["optimum_usk"]),
            milli(&d["optimum"]["shifts"][0]["optimum_ssk"])
        ),
        by_optimum
    );
    assert!(ward["usk"]["people_to_add"].as_u64().unwrap() + ward["ssk"]["people_to_add"].as_u64().unwrap() > 0);
    assert!(d["optimum"]["fallback"].is_null());
    let (_, _, page) = call(
        &app(&store, optimum_config()),
        &format!("/wards/w1/planning?token={STAFF}"),
        None,
    )
    .await;
    assert!(page.contains("Bedömningen ovan följer avdelningens optimum."), "{page}");
    assert!(
        page.contains("poäng ÷ avdelningens optimala poäng per person"),
        "{page}"
    );
    assert!(page.contains("underbemannat"), "{page}");

    // the bed coordinator sees the same measure: w1's margin shrinks by the optimum's extra people
    let margin = |v: &Value| {
        let w1 = v["wards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["ward"] == "w1")
            .unwrap()
            .clone();
        milli(&w1["margin_people"])
    };
    let by_factors = margin(&json(&app(&store, config()), "/api/v1/admissions", Some(STAFF)).await);
    let by_optimum = margin(&json(&app(&store, optimum_config()), "/api/v1/admissions", Some(STAFF)).await);
    assert!(by_optimum < by_factors - 500, "{by_optimum} against {by_factors}");
}

async fn the_calibration_route_is_held_to_the_configured_table(store: Store) {
    let now = Utc::now();
    fill_hours(&store, hour_of(now)).await;
    let mut c = config();
    c.calibration.window_weeks = 3;
    c.calibration.min_shifts = 500;
    c.calibration.min_response_rate = 0.5;
    let v = json(&app(&store, c), "/api/v1/wards/w1/calibration", Some(STAFF)).await;
    assert_eq!(v["rules"]["min_shifts"], 500);
    assert_eq!(v["rules"]["min_response_rate"], 0.5);
    let from: DateTime<Utc> = v["from"].as_str().unwrap().parse().unwrap();
    let to: DateTime<Utc> = v["to"].as_str().unwrap().parse().unwrap();
    assert_eq!(to - from, Duration::weeks(3));
    let reason = &v["together"]["reasons"][0];
    assert_eq!(reason["text"], "för få skattade pass: 0 (minst 500)");
}

careload_testkit::on_every_backend!(
    the_wards_own_optimum_is_shown_beside_the_factors_and_drives_when_asked,
    the_calibration_route_is_held_to_the_configured_table,
);
