//! `level = site` (issue 29): one row per configured hospital
//! (`[hospitals.<id>]`) and period, the stored ward rows of its
//! departments' wards summed hour by hour, told on SQLite always and on
//! PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server. Five wards:
//! W1 in `med` of hospital `nord` (named), W2 in `kir` and W3 in `akut`,
//! both of hospital `syd` (unnamed), W4 in `ger` of no hospital, W5 in no
//! department; patient p8 moves from W2 to W3 at noon each day, so `syd`'s
//! distinct patients are fewer than its wards' summed, and W3 (`akut`) has
//! patients only from noon. The back-test's departments and hospitals are
//! told on the same hours.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

#[path = "story/mod.rs"]
mod story;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use careload_export::backtest::{UnitBacktest, backtest, to_frame};
use careload_scoring::score::Window;

use careload_export::{Context, Error, ExportLevel, ExportSpec, Format, Grain, export};
use careload_planning::PlannedStaffing;
use careload_scoring::quality::{QualityRules, assess};
use careload_scoring::snapshot::Profession;
use careload_scoring::{Score, Snapshot, Weights, rollup, score_now};
use careload_store::{Level, Store};
use careload_testkit::store::Ctx;
use chrono::{DateTime, Duration, Utc};
use story::{csv_rows, date, hospital, patient, utc, weights};

type Row = BTreeMap<String, String>;

/// Who is where in a given hour `h` hours after `day0`.
fn census(hour: DateTime<Utc>, h: u32) -> Vec<Snapshot> {
    let mut out = vec![
        patient("p1", "W1", "A", hour, h),
        patient("p2", "W1", "B", hour, h / 3),
        patient("p3", "W2", "C", hour, 3 + h % 6),
        patient(
            "p8",
            if h % 24 < 12 { "W2" } else { "W3" },
            if h % 24 < 12 { "C" } else { "D" },
            hour,
            4 + h % 3,
        ),
        patient("p4", "W4", "E", hour, 1 + h % 4),
        patient("p5", "W5", "F", hour, 5 + h % 7),
    ];
    if h % 24 >= 18 {
        out.push(patient("p7", "W3", "D", hour, 2 + h % 5));
    }
    out
}

async fn fill(store: &Store, w: &Weights, day0: DateTime<Utc>, hours: u32) -> Vec<(DateTime<Utc>, Snapshot, Score)> {
    store.record_weights(w).await.expect("record weights");
    let mut all = Vec::new();
    for h in 0..hours {
        let hour = day0 + Duration::hours(i64::from(h));
        let pairs: Vec<(Snapshot, Score)> = census(hour, h)
            .into_iter()
            .map(|s| {
                let mut sc = score_now(&s, w);
                sc.quality = Some(assess(&s, s.as_of, &QualityRules::default()));
                (s, sc)
            })
            .collect();
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let run = store.begin_run("test").await.expect("begin run");
        store
            .write_hour(hour, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write hour");
        all.extend(pairs.into_iter().map(|(s, sc)| (hour, s, sc)));
    }
    all
}

/// The story's hospital with two hospitals of a region: `nord` (W1 in
/// `med`) and `syd` (W2 in `kir`, W3 in `akut`); W4 in `ger`, a department
/// of no hospital; W5 in no department.
fn sites() -> Context {
    let mut ctx = hospital();
    for (ward, department) in [("W1", "med"), ("W2", "kir"), ("W3", "akut"), ("W4", "ger")] {
        ctx.ward_departments.insert(ward.into(), department.into());
    }
    for (department, hospital) in [("med", "nord"), ("kir", "syd"), ("akut", "syd")] {
        ctx.department_hospitals.insert(department.into(), hospital.into());
    }
    ctx.hospital_names.insert("nord".into(), "Norrlands sjukhus".into());
    ctx
}

fn members(site: &str) -> &'static [&'static str] {
    match site {
        "nord" => &["W1"],
        "syd" => &["W2", "W3"],
        other => panic!("no hospital {other}"),
    }
}

async fn rows(store: &Store, ctx: &Context, spec: &ExportSpec) -> Vec<Row> {
    let mut out = Vec::new();
    export(store, ctx, spec, Format::Csv, &mut out).await.expect("export");
    csv_rows(&out, ',')
}

fn num(r: &Row, k: &str) -> f64 {
    r[k].parse::<f64>()
        .unwrap_or_else(|_| panic!("{k}: {:?} in {r:?}", r[k]))
}

/// Points of `written` on `wards` in `[from, to)`, in thousandths, and the
/// patient-hours.
fn points_of(
    written: &[(DateTime<Utc>, Snapshot, Score)],
    wards: &[&str],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (i64, usize) {
    let of: Vec<_> = written
        .iter()
        .filter(|(h, s, _)| *h >= from && *h < to && wards.contains(&s.placement.ward.as_str()))
        .collect();
    (of.iter().map(|(_, _, sc)| sc.total.milli()).sum(), of.len())
}

fn milli(r: &Row, k: &str) -> i64 {
    (num(r, k) * 1000.0).round() as i64
}

async fn sites_sum_their_departments_wards(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let day0 = utc("2026-11-22T23:00:00Z"); // local midnight of Monday 23 November
    let written = fill(store, &w, day0, 48).await;
    let context = sites();

    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-24"), ExportLevel::Site, Grain::Day);
    let got = rows(store, &context, &spec).await;
    assert_eq!(got.len(), 4, "two hospitals × two days, W4 and W5 in none: {got:?}");
    let ids: BTreeSet<&str> = got.iter().map(|r| r["hospital"].as_str()).collect();
    assert_eq!(ids, BTreeSet::from(["nord", "syd"]), "no row of no hospital");
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r["level"], "site");
        assert_eq!(
            (r["ward"].as_str(), r["team"].as_str(), r["department"].as_str()),
            ("", "", "")
        );
        let name = if r["hospital"] == "nord" {
            "Norrlands sjukhus"
        } else {
            ""
        };
        assert_eq!(r["hospital_name"], name, "{r:?}");
        let day = if i < 2 { 0 } else { 1 };
        assert_eq!(
            r["period"],
            ["2026-11-23", "2026-11-24"][day],
            "sorted by period, then hospital"
        );
        let from = day0 + Duration::hours(24 * day as i64);
        let to = from + Duration::hours(24);
        let of = members(&r["hospital"]);
        let (points, patient_hours) = points_of(&written, of, from, to);
        assert_eq!(milli(r, "points_sum"), points, "{r:?}");
        assert_eq!(num(r, "patient_hours") as usize, patient_hours, "{r:?}");
        assert_eq!(r["hours"], "24");
        // the site's hour is its wards' sum: the mean and the maximum are
        // of those sums, never of the wards' own figures
        let hourly: Vec<i64> = (0..24)
            .map(|h| {
                let at = from + Duration::hours(h);
                points_of(&written, of, at, at + Duration::hours(1)).0
            })
            .collect();
        assert_eq!(milli(r, "total_max"), *hourly.iter().max().unwrap(), "{r:?}");
        let mean = hourly.iter().sum::<i64>() as f64 / 24_000.0;
        assert!((num(r, "total_mean") - mean).abs() < 0.0005, "{r:?} vs {mean}");
        // distinct patients: p8 moves from W2 to W3 and counts once in syd
        assert_eq!(r["patients"], if r["hospital"] == "nord" { "2" } else { "3" }, "{r:?}");
    }

    // the whole store counts W4 and W5 as well; the sites leave them out
    let whole = rows(
        store,
        &context,
        &ExportSpec::new(date("2026-11-23"), date("2026-11-24"), Level::Hospital, Grain::Day),
    )
    .await;
    for (day, h) in whole.iter().enumerate() {
        let from = day0 + Duration::hours(24 * day as i64);
        let (outside, _) = points_of(&written, &["W4", "W5"], from, from + Duration::hours(24));
        assert!(outside > 0);
        let sites: i64 = got
            .iter()
            .filter(|r| r["period"] == h["period"])
            .map(|r| milli(r, "points_sum"))
            .sum();
        assert_eq!(sites + outside, milli(h, "points_sum"), "{h:?}");
    }

    // ward and department rows carry their hospital, to pivot on
    let mut by_ward = spec.clone();
    by_ward.level = ExportLevel::Ward;
    for r in rows(store, &context, &by_ward).await {
        let want = match r["ward"].as_str() {
            "W1" => "nord",
            "W2" | "W3" => "syd",
            _ => "",
        };
        assert_eq!(r["hospital"], want, "{r:?}");
    }
    let mut by_department = spec.clone();
    by_department.level = ExportLevel::Department;
    for r in rows(store, &context, &by_department).await {
        let want = match r["department"].as_str() {
            "med" => "nord",
            "kir" | "akut" => "syd",
            _ => "",
        };
        assert_eq!(r["hospital"], want, "{r:?}");
        assert_eq!(
            r["hospital_name"],
            if want == "nord" { "Norrlands sjukhus" } else { "" }
        );
    }

    // a ward filter narrows the site to its wards in the list
    let mut narrowed = spec.clone();
    narrowed.wards = Some(vec!["W2".into(), "W4".into()]);
    let only = rows(store, &context, &narrowed).await;
    assert_eq!(only.len(), 2, "syd only (W4 is in no hospital): {only:?}");
    for (day, r) in only.iter().enumerate() {
        assert_eq!(r["hospital"], "syd");
        let from = day0 + Duration::hours(24 * day as i64);
        let (points, _) = points_of(&written, &["W2"], from, from + Duration::hours(24));
        assert_eq!(milli(r, "points_sum"), points, "{r:?}");
    }

    // shifts: a site's shifts sum its wards' shift rows; together they hold
    // every point of its wards
    let mut shifts = spec.clone();
    shifts.grain = Grain::Shift;
    let by_shift = rows(store, &context, &shifts).await;
    for site in ["nord", "syd"] {
        let sum: i64 = by_shift
            .iter()
            .filter(|r| r["hospital"] == site)
            .map(|r| milli(r, "points_sum"))
            .sum();
        let (points, _) = points_of(&written, members(site), day0, day0 + Duration::hours(48));
        assert_eq!(sum, points, "{site}");
    }
    assert!(
        by_shift
            .iter()
            .all(|r| r["hospital"] == "nord" || r["hospital"] == "syd")
    );
}

async fn site_staffing_sums_its_wards_plans(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let day0 = utc("2026-11-22T23:00:00Z");
    let written = fill(store, &w, day0, 24).await;
    let plan = |ward: &str, profession, planned| PlannedStaffing {
        ward: ward.into(),
        team: None,
        date: date("2026-11-23"),
        shift: "day".into(),
        profession,
        planned,
        absent: 0,
    };
    store
        .put_planned_staffing(
            &[
                plan("W2", Profession::Usk, 2),
                plan("W3", Profession::Ssk, 1),
                plan("W4", Profession::Usk, 5),
            ],
            "test",
            "test",
        )
        .await
        .expect("plan");
    let factors = careload_planning::staff_hours_for(&w, "general").expect("general factors");
    let mut context = sites();
    context.default_staff_hours = Some(factors);
    let mut spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), ExportLevel::Site, Grain::Day);
    spec.staffing = true;
    let got = rows(store, &context, &spec).await;
    assert_eq!(got.len(), 2, "{got:?}");
    let syd = got.iter().find(|r| r["hospital"] == "syd").unwrap();
    // day shift 07–15: 8 hours × (2 USK on W2 + 1 SSK on W3); W4's plan is
    // of no hospital
    assert_eq!(syd["planned_staff_hours"], "24.000");
    let need: f64 = written
        .iter()
        .filter(|(_, s, _)| ["W2", "W3"].contains(&s.placement.ward.as_str()))
        .map(|(_, _, sc)| {
            sc.professions.usk.as_f64() * factors.usk.as_f64() + sc.professions.ssk.as_f64() * factors.ssk.as_f64()
        })
        .sum();
    assert!((num(syd, "need_staff_hours") - need).abs() < 0.002, "{syd:?} vs {need}");
    let nord = got.iter().find(|r| r["hospital"] == "nord").unwrap();
    assert_eq!(nord["planned_staff_hours"], "", "no plan for W1");
}

async fn site_level_needs_hospitals(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    fill(store, &w, utc("2026-11-22T23:00:00Z"), 2).await;
    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), ExportLevel::Site, Grain::Day);
    // departments but no hospital
    let mut no_hospitals = sites();
    no_hospitals.department_hospitals.clear();
    for context in [hospital(), no_hospitals] {
        let mut out = Vec::new();
        let e = export(store, &context, &spec, Format::Csv, &mut out)
            .await
            .expect_err("no hospital configured");
        assert!(matches!(e, Error::BadSpec(_)));
        let msg = e.to_string();
        assert!(
            msg.contains("[hospitals.<id>]") && msg.contains("[departments.<id>] hospital"),
            "says how to declare them: {msg}"
        );
        assert!(out.is_empty(), "nothing written before the request is checked");
    }
}

/// The wards of department `d` in [`sites`].
fn department_members(d: &str) -> &'static [&'static str] {
    match d {
        "med" => &["W1"],
        "kir" => &["W2"],
        "akut" => &["W3"],
        "ger" => &["W4"],
        other => panic!("no department {other}"),
    }
}

/// The back-test's mean of `hours`' sums: thousandths over the hours,
/// rounded to three decimals as the report rounds.
fn mean_of(per_hour: &BTreeMap<DateTime<Utc>, i64>) -> f64 {
    let sum: i64 = per_hour.values().sum();
    (sum as f64 / 1000.0 / per_hour.len() as f64 * 1000.0).round() / 1000.0
}

async fn a_backtest_sums_departments_and_hospitals_from_their_wards(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let day0 = utc("2026-11-22T23:00:00Z");
    let written = fill(store, &w, day0, 48).await;
    let plan = |ward: &str, profession, planned| PlannedStaffing {
        ward: ward.into(),
        team: None,
        date: date("2026-11-23"),
        shift: "day".into(),
        profession,
        planned,
        absent: 0,
    };
    store
        .put_planned_staffing(
            &[
                plan("W2", Profession::Usk, 2),
                plan("W3", Profession::Ssk, 1),
                plan("W4", Profession::Usk, 5),
            ],
            "test",
            "test",
        )
        .await
        .expect("plan");
    let context = sites();
    let day = date("2026-11-23");
    let day_rows: Vec<_> = written
        .iter()
        .filter(|(h, _, _)| *h < day0 + Duration::hours(24))
        .collect();

    // the version in force as candidate: every department and hospital as stored
    let same = backtest(store, &context, &context, Arc::new(w.clone()), day, day)
        .await
        .expect("backtest");
    let ids = |units: &[UnitBacktest]| units.iter().map(|u| u.ward.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&same.hospitals), ["nord", "syd"], "W4 and W5 are in no hospital");
    assert_eq!(ids(&same.departments), ["akut", "ger", "kir", "med"], "W5 is in none");
    assert_eq!(same.wards.len(), 5);
    for u in same.hospitals.iter().chain(&same.departments) {
        assert_eq!(u.stored, u.candidate, "{}", u.ward);
        assert_eq!(u.total_change_pct, Some(0.0), "{}", u.ward);
    }
    // each group's stored mean is its wards' hourly sums over its own hours
    // (hours with at least one patient of it): akut's are the 12 from noon
    let stored_per_hour = |wards: &[&str]| {
        let mut per_hour: BTreeMap<DateTime<Utc>, i64> = BTreeMap::new();
        for (hour, s, sc) in &day_rows {
            if wards.contains(&s.placement.ward.as_str()) {
                *per_hour.entry(*hour).or_default() += sc.total.milli();
            }
        }
        per_hour
    };
    for u in &same.departments {
        let per_hour = stored_per_hour(department_members(&u.ward));
        assert_eq!(u.hours, per_hour.len() as u64, "{}", u.ward);
        assert_eq!(u.stored.total_mean, mean_of(&per_hour), "{}", u.ward);
    }
    let akut = same.departments.iter().find(|u| u.ward == "akut").unwrap();
    assert_eq!(akut.hours, 12);
    for u in &same.hospitals {
        let per_hour = stored_per_hour(members(&u.ward));
        assert_eq!(u.hours, 24, "{}", u.ward);
        assert_eq!(u.stored.total_mean, mean_of(&per_hour), "{}", u.ward);
        let patient_hours = day_rows
            .iter()
            .filter(|(_, s, _)| members(&u.ward).contains(&s.placement.ward.as_str()))
            .count();
        assert_eq!(u.patient_hours, patient_hours as u64, "{}", u.ward);
    }
    // an exact figure: syd's mean is (W2's + W3's points of the day) / 24
    let syd = same.hospitals.iter().find(|u| u.ward == "syd").unwrap();
    let (points, _) = points_of(&written, &["W2", "W3"], day0, day0 + Duration::hours(24));
    assert_eq!(
        syd.stored.total_mean,
        (points as f64 / 1000.0 / 24.0 * 1000.0).round() / 1000.0
    );
    // the whole store holds W4 and W5 besides the hospitals
    let outside = day_rows
        .iter()
        .filter(|(_, s, _)| ["W4", "W5"].contains(&s.placement.ward.as_str()))
        .count() as u64;
    assert_eq!(
        same.hospitals.iter().map(|u| u.patient_hours).sum::<u64>() + outside,
        same.hospital.patient_hours
    );
    // ranks among their own kind
    let ranks = |units: &[UnitBacktest]| units.iter().filter_map(|u| u.stored.rank).collect::<BTreeSet<u32>>();
    assert_eq!(ranks(&same.hospitals), BTreeSet::from([1, 2]));
    assert_eq!(ranks(&same.departments), BTreeSet::from([1, 2, 3, 4]));
    let first = same.departments.iter().find(|u| u.stored.rank == Some(1)).unwrap();
    assert!(
        same.departments
            .iter()
            .all(|u| u.stored.total_mean <= first.stored.total_mean)
    );
    // planned staffing: the wards' plans summed (day shift, 8 hours)
    let planned = |units: &[UnitBacktest], id: &str| units.iter().find(|u| u.ward == id).unwrap().planned_staff_hours;
    assert_eq!(planned(&same.hospitals, "syd"), Some(24.0));
    assert_eq!(planned(&same.hospitals, "nord"), None);
    assert_eq!(planned(&same.departments, "kir"), Some(16.0));
    assert_eq!(planned(&same.departments, "akut"), Some(8.0));
    assert_eq!(planned(&same.departments, "ger"), Some(40.0));
    assert_eq!(same.hospital.planned_staff_hours, Some(64.0));

    // a candidate: each group's mean is its wards' re-scored hourly sums
    let text = story::WEIGHTS
        .replace("version = \"2026.1\"", "version = \"2027.1-candidate\"")
        .replacen("bedridden = 4\n", "bedridden = 9\n", 1);
    let candidate = Weights::from_toml(&text, "candidate.toml").expect("candidate weights");
    let report = backtest(store, &context, &context, Arc::new(candidate.clone()), day, day)
        .await
        .expect("backtest");
    let rescored_per_hour = |wards: &[&str]| {
        let mut per_hour: BTreeMap<DateTime<Utc>, i64> = BTreeMap::new();
        for (hour, s, _) in &day_rows {
            if wards.contains(&s.placement.ward.as_str()) {
                let sc = careload_scoring::score(s, &candidate, Window::hour(*hour));
                *per_hour.entry(*hour).or_default() += sc.total.milli();
            }
        }
        per_hour
    };
    for u in &report.departments {
        let per_hour = rescored_per_hour(department_members(&u.ward));
        assert_eq!(u.candidate.total_mean, mean_of(&per_hour), "{}", u.ward);
    }
    for u in &report.hospitals {
        let per_hour = rescored_per_hour(members(&u.ward));
        assert_eq!(u.candidate.total_mean, mean_of(&per_hour), "{}", u.ward);
    }

    // the file: the whole store, the hospitals, the departments, the wards
    let frame = to_frame(&same).expect("frame");
    assert_eq!(frame.height(), 1 + 2 + 4 + 5);
    let levels: Vec<String> = frame
        .column("level")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|l| l.unwrap_or("").to_owned())
        .collect();
    let mut want = vec!["hospital"];
    want.extend(["site"; 2]);
    want.extend(["department"; 4]);
    want.extend(["ward"; 5]);
    assert_eq!(levels, want);
    let units: Vec<String> = frame
        .column("ward")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|l| l.unwrap_or("").to_owned())
        .collect();
    assert_eq!(units[..7], ["", "nord", "syd", "akut", "ger", "kir", "med"]);
}

careload_testkit::on_every_backend!(
    a_backtest_sums_departments_and_hospitals_from_their_wards,
    sites_sum_their_departments_wards,
    site_staffing_sums_its_wards_plans,
    site_level_needs_hospitals,
);
