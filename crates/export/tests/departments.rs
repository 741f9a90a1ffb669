//! `level = department` (issue 29): one row per department and period, its
//! wards' stored ward rows summed hour by hour, told on SQLite always and on
//! PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server. Four wards:
//! W1 in `med` (named), W2 and W3 in `kir` (unnamed), W4 in none; patient
//! p8 moves from W2 to W3 at noon each day, so `kir`'s distinct patients
//! are fewer than its wards' summed.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

#[path = "story/mod.rs"]
mod story;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use careload_export::schema;
use careload_export::{Context, Error, ExportLevel, ExportSpec, Format, Grain, export};
use careload_planning::PlannedStaffing;
use careload_scoring::quality::{QualityRules, assess};
use careload_scoring::snapshot::Profession;
use careload_scoring::{Score, Snapshot, Weights, rollup, score_now};
use careload_store::{Level, Store};
use careload_testkit::store::Ctx;
use chrono::{DateTime, Duration, Utc};
use polars::prelude::{ParquetReader, SerReader};
use story::{csv_rows, date, hospital, patient, utc, weights};

type Row = BTreeMap<String, String>;

/// Who is where in a given hour `h` hours after `day0`.
fn census(hour: DateTime<Utc>, h: u32) -> Vec<Snapshot> {
    let mut out = vec![
        patient("p1", "W1", "A", hour, h),
        patient("p2", "W1", "B", hour, h / 3),
        patient("p5", "W2", "C", hour, 3 + h % 6),
        patient(
            "p8",
            if h % 24 < 12 { "W2" } else { "W3" },
            if h % 24 < 12 { "C" } else { "D" },
            hour,
            4 + h % 3,
        ),
        patient("p7", "W3", "D", hour, 2 + h % 5),
        patient("p4", "W4", "E", hour, 1 + h % 4),
    ];
    if (30..40).contains(&h) {
        out.push(patient("p9", "W3", "D", hour, 6));
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

/// The story's hospital with W1 in `med`, W2 and W3 in `kir`, W4 in none.
fn departments() -> Context {
    let mut ctx = hospital();
    for (ward, department) in [("W1", "med"), ("W2", "kir"), ("W3", "kir")] {
        ctx.ward_departments.insert(ward.into(), department.into());
    }
    ctx.department_names.insert("med".into(), "Medicinkliniken".into());
    ctx.ward_names.insert("W1".into(), "Avd 1".into());
    ctx
}

fn members(department: &str) -> &'static [&'static str] {
    match department {
        "med" => &["W1"],
        "kir" => &["W2", "W3"],
        "" => &["W4"],
        other => panic!("no department {other}"),
    }
}

async fn bytes(store: &Store, ctx: &Context, spec: &ExportSpec, format: Format) -> Vec<u8> {
    let mut out = Vec::new();
    export(store, ctx, spec, format, &mut out).await.expect("export");
    out
}

async fn rows(store: &Store, ctx: &Context, spec: &ExportSpec) -> Vec<Row> {
    csv_rows(&bytes(store, ctx, spec, Format::Csv).await, ',')
}

fn num(r: &Row, k: &str) -> f64 {
    r[k].parse::<f64>()
        .unwrap_or_else(|_| panic!("{k}: {:?} in {r:?}", r[k]))
}

fn close(a: f64, b: f64, tolerance: f64) -> bool {
    (a - b).abs() <= tolerance
}

fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let idx = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (idx.floor() as usize, idx.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (idx - lo as f64)
}

async fn departments_sum_their_wards(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let day0 = utc("2026-11-22T23:00:00Z"); // local midnight of Monday 23 November
    let written = fill(store, &w, day0, 48).await;
    let context = departments();

    let ward_spec = ExportSpec::new(date("2026-11-23"), date("2026-11-24"), Level::Ward, Grain::Day);
    let wards = rows(store, &context, &ward_spec).await;
    assert_eq!(wards.len(), 8, "four wards × two days: {wards:?}");
    // ward rows carry their ward's department, and its name
    for r in &wards {
        let (department, name) = match r["ward"].as_str() {
            "W1" => ("med", "Medicinkliniken"),
            "W2" | "W3" => ("kir", ""),
            _ => ("", ""),
        };
        assert_eq!(
            (r["department"].as_str(), r["department_name"].as_str()),
            (department, name),
            "{r:?}"
        );
    }
    let ward_row = |ward: &str, period: &str| {
        wards
            .iter()
            .find(|r| r["ward"] == ward && r["period"] == period)
            .unwrap_or_else(|| panic!("{ward} {period}: {wards:?}"))
    };

    let spec = ExportSpec::new(
        date("2026-11-23"),
        date("2026-11-24"),
        ExportLevel::Department,
        Grain::Day,
    );
    let deps = rows(store, &context, &spec).await;
    let order: Vec<(&str, &str)> = deps
        .iter()
        .map(|r| (r["period"].as_str(), r["department"].as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("2026-11-23", ""),
            ("2026-11-23", "kir"),
            ("2026-11-23", "med"),
            ("2026-11-24", ""),
            ("2026-11-24", "kir"),
            ("2026-11-24", "med"),
        ],
        "one row per department and day, the wards of no department one group with an empty id"
    );
    for r in &deps {
        let (department, period) = (r["department"].as_str(), r["period"].as_str());
        let of = members(department);
        let label = format!("{department:?} {period}");
        assert_eq!(r["level"], "department");
        assert_eq!(
            (r["ward"].as_str(), r["team"].as_str(), r["ward_name"].as_str()),
            ("", "", "")
        );
        assert_eq!(
            r["department_name"],
            if department == "med" { "Medicinkliniken" } else { "" },
            "{label}"
        );
        // sums: the sum of the wards' rows
        let ws: Vec<&Row> = of.iter().map(|w| ward_row(w, period)).collect();
        let sum = |k: &str| ws.iter().map(|w| num(w, k)).sum::<f64>();
        for k in ["patient_hours", "unmatched_items", "quality_assessed_patient_hours"] {
            assert_eq!(num(r, k), sum(k), "{label} {k}");
        }
        let tolerance = 0.0005 * (ws.len() + 1) as f64;
        assert!(
            close(num(r, "points_sum"), sum("points_sum"), tolerance),
            "{label} points_sum"
        );
        // means are of the department's hourly sums, not averaged averages
        let hours = num(r, "hours");
        assert_eq!(hours, 24.0, "{label}");
        let weighted = |k: &str| ws.iter().map(|w| num(w, k) * num(w, "hours")).sum::<f64>() / hours;
        for k in ["usk_mean", "ssk_mean", "medications_mean", "news2_mean"] {
            assert!(
                close(num(r, k), weighted(k), 0.002 * ws.len() as f64),
                "{label} {k}: {} vs {}",
                r[k],
                weighted(k)
            );
        }
        assert!(
            close(num(r, "total_mean"), num(r, "points_sum") / hours, 0.001),
            "{label} mean"
        );
        assert!(close(
            num(r, "points_per_patient_hour"),
            num(r, "points_sum") / num(r, "patient_hours"),
            0.001
        ));
        // hand count: the department's hourly totals and distinct patients
        let day = date(period);
        let start = day0 + Duration::days((day - date("2026-11-23")).num_days());
        let end = start + Duration::hours(24);
        let mut per_hour: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
        let mut patients = BTreeSet::new();
        for (hour, s, sc) in &written {
            if of.contains(&s.placement.ward.as_str()) && *hour >= start && *hour < end {
                *per_hour.entry(*hour).or_default() += sc.total.as_f64();
                patients.insert(s.key.0.clone());
            }
        }
        let mut totals: Vec<f64> = per_hour.values().copied().collect();
        totals.sort_by(f64::total_cmp);
        assert!(
            close(num(r, "total_max"), totals[totals.len() - 1], 0.001),
            "{label} max"
        );
        assert!(
            close(num(r, "total_median"), quantile_linear(&totals, 0.5), 0.001),
            "{label} median"
        );
        assert!(
            close(num(r, "total_p90"), quantile_linear(&totals, 0.9), 0.001),
            "{label} p90"
        );
        assert_eq!(num(r, "patients") as usize, patients.len(), "{label} patients");
    }
    // p8 moved from W2 to W3 within kir: counted once in the department
    let kir = deps.iter().find(|r| r["department"] == "kir").unwrap();
    assert_eq!(kir["patients"], "3", "p5, p7, p8: {kir:?}");
    assert_eq!(
        num(ward_row("W2", "2026-11-23"), "patients") + num(ward_row("W3", "2026-11-23"), "patients"),
        4.0,
        "the wards count p8 in each"
    );
    // the departments, with the group of no department, add up to the hospital
    let spec_h = ExportSpec::new(date("2026-11-23"), date("2026-11-24"), Level::Hospital, Grain::Day);
    let whole = rows(store, &context, &spec_h).await;
    for h in &whole {
        let sum: f64 = deps
            .iter()
            .filter(|r| r["period"] == h["period"])
            .map(|r| num(r, "points_sum"))
            .sum();
        assert!(close(sum, num(h, "points_sum"), 0.002), "{} {sum}", h["period"]);
        assert_eq!(h["department"], "", "the hospital has no department");
    }

    // JSON: the same rows, empty values as null
    let json: Vec<serde_json::Value> =
        serde_json::from_slice(&bytes(store, &context, &spec, Format::Json).await).expect("a JSON array");
    assert_eq!(json.len(), deps.len());
    for (j, r) in json.iter().zip(&deps) {
        assert_eq!(j["level"], "department");
        assert!(j["ward"].is_null(), "{j}");
        assert_eq!(j["patient_hours"].as_f64().unwrap(), num(r, "patient_hours"));
        assert!(close(j["points_sum"].as_f64().unwrap(), num(r, "points_sum"), 1e-9));
        match r["department"].as_str() {
            "" => assert!(j["department"].is_null(), "{j}"),
            d => assert_eq!(j["department"], d),
        }
    }
    // Excel CSV: the same values with a decimal comma
    let excel = csv_rows(&bytes(store, &context, &spec, Format::CsvExcel).await, ';');
    assert_eq!(excel.len(), deps.len());
    assert_eq!(excel[1]["points_sum"].replace(',', "."), deps[1]["points_sum"]);
    assert_eq!(excel[1]["department"], "kir");

    // Parquet: the schema's columns and the same departments
    let df = ParquetReader::new(Cursor::new(bytes(store, &context, &spec, Format::Parquet).await))
        .finish()
        .expect("read parquet back");
    let want: Vec<String> = schema::columns(false, false).map(|c| c.name.to_owned()).collect();
    let got: Vec<String> = df.get_column_names().iter().map(|n| n.to_string()).collect();
    assert_eq!(got, want);
    let ids: Vec<Option<&str>> = df.column("department").unwrap().str().unwrap().iter().collect();
    assert_eq!(ids, [None, Some("kir"), Some("med"), None, Some("kir"), Some("med")]);
    let patient_hours: Vec<i64> = df
        .column("patient_hours")
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    let from_csv: Vec<i64> = deps.iter().map(|r| num(r, "patient_hours") as i64).collect();
    assert_eq!(patient_hours, from_csv);

    // a ward filter (what hospitals= and departments= narrow to): only the
    // departments of those wards, each summing the wards in the filter
    let mut narrowed = spec.clone();
    narrowed.wards = Some(vec!["W2".into(), "W3".into()]);
    let only = rows(store, &context, &narrowed).await;
    assert_eq!(only.len(), 2, "{only:?}");
    for r in &only {
        assert_eq!(r["department"], "kir");
        let full = deps
            .iter()
            .find(|d| d["department"] == "kir" && d["period"] == r["period"])
            .unwrap();
        assert_eq!(r["points_sum"], full["points_sum"]);
    }
    narrowed.wards = Some(vec!["W3".into()]);
    let part = rows(store, &context, &narrowed).await;
    assert_eq!(part.len(), 2);
    assert_eq!(part[0]["points_sum"], ward_row("W3", "2026-11-23")["points_sum"]);
    assert_eq!(part[0]["patients"], ward_row("W3", "2026-11-23")["patients"]);

    // shifts: each department's shift sums its wards' shift rows
    let mut shifts = ExportSpec::new(
        date("2026-11-23"),
        date("2026-11-23"),
        ExportLevel::Department,
        Grain::Shift,
    );
    let by_shift = rows(store, &context, &shifts).await;
    shifts.level = ExportLevel::Ward;
    let ward_shifts = rows(store, &context, &shifts).await;
    let day_kir = by_shift
        .iter()
        .find(|r| r["department"] == "kir" && r["period"] == "2026-11-23 day")
        .unwrap_or_else(|| panic!("{by_shift:?}"));
    assert_eq!(
        (day_kir["hours"].as_str(), day_kir["local_time"].as_str()),
        ("8", "07:00")
    );
    let sum: f64 = ward_shifts
        .iter()
        .filter(|r| ["W2", "W3"].contains(&r["ward"].as_str()) && r["period"] == "2026-11-23 day")
        .map(|r| num(r, "points_sum"))
        .sum();
    assert!(close(num(day_kir, "points_sum"), sum, 0.002));
}

async fn department_staffing_and_last_year(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let now = fill(store, &w, utc("2026-11-22T23:00:00Z"), 24).await;
    let then = fill(store, &w, utc("2025-11-23T23:00:00Z"), 24).await; // Monday 24 November 2025
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
            &[plan("W2", Profession::Usk, 2), plan("W3", Profession::Ssk, 1)],
            "test",
            "test",
        )
        .await
        .expect("plan");
    let factors = careload_planning::staff_hours_for(&w, "general").expect("general factors");
    let mut context = departments();
    context.default_staff_hours = Some(factors);
    let mut spec = ExportSpec::new(
        date("2026-11-23"),
        date("2026-11-23"),
        ExportLevel::Department,
        Grain::Day,
    );
    spec.staffing = true;
    spec.compare_last_year = true;
    let deps = rows(store, &context, &spec).await;
    assert_eq!(deps.len(), 3, "{deps:?}");
    let kir = deps.iter().find(|r| r["department"] == "kir").unwrap();
    // day shift 07–15: 8 hours × (2 USK on W2 + 1 SSK on W3)
    assert_eq!(kir["planned_staff_hours"], "24.000");
    let need: f64 = now
        .iter()
        .filter(|(_, s, _)| ["W2", "W3"].contains(&s.placement.ward.as_str()))
        .map(|(_, _, sc)| {
            sc.professions.usk.as_f64() * factors.usk.as_f64() + sc.professions.ssk.as_f64() * factors.ssk.as_f64()
        })
        .sum();
    assert!(
        close(num(kir, "need_staff_hours"), need, 0.002),
        "{} vs {need}",
        kir["need_staff_hours"]
    );
    assert!(close(num(kir, "gap_staff_hours"), 24.0 - need, 0.002));
    let med = deps.iter().find(|r| r["department"] == "med").unwrap();
    assert_eq!(med["planned_staff_hours"], "", "no plan for W1");
    // a year earlier, per department (not one mixed group)
    for r in &deps {
        let of = members(&r["department"]);
        let mean = then
            .iter()
            .filter(|(_, s, _)| of.contains(&s.placement.ward.as_str()))
            .map(|(_, _, sc)| sc.total.as_f64())
            .sum::<f64>()
            / 24.0;
        assert_eq!(r["last_year_period"], "2025-11-24");
        assert!(close(num(r, "last_year_total_mean"), mean, 0.001), "{r:?} vs {mean}");
    }
}

async fn department_level_needs_departments(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    fill(store, &w, utc("2026-11-22T23:00:00Z"), 2).await;
    let spec = ExportSpec::new(
        date("2026-11-23"),
        date("2026-11-23"),
        ExportLevel::Department,
        Grain::Day,
    );
    let mut out = Vec::new();
    let e = export(store, &hospital(), &spec, Format::Csv, &mut out)
        .await
        .expect_err("no department configured");
    assert!(matches!(e, Error::BadSpec(_)));
    let msg = e.to_string();
    assert!(
        msg.contains("[departments.<id>]") && msg.contains("[wards.<id>] department"),
        "says how to declare them: {msg}"
    );
    assert!(out.is_empty(), "nothing written before the request is checked");
    // an unknown ward in the filter is refused as at the ward level
    let mut spec = spec;
    spec.wards = Some(vec!["NOPE".into()]);
    let e = export(store, &departments(), &spec, Format::Csv, &mut out)
        .await
        .expect_err("unknown ward");
    assert!(e.to_string().contains("\"NOPE\""), "{e}");
}

careload_testkit::on_every_backend!(
    departments_sum_their_wards,
    department_staffing_and_last_year,
    department_level_needs_departments,
);
