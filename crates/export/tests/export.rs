//! The export story, told on SQLite always and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (the workspace's store
//! harness, `careload_testkit`): real hours written through
//! `Store::write_hour`, exported, read back, and checked against
//! statistics computed here by hand from the same scores.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

#[path = "story/mod.rs"]
mod story;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::sync::Arc;

use careload_export::backtest::backtest;
use careload_export::schema::{self, Kind};
use careload_export::{Context, Error, ExportSpec, Format, Grain, export};
use careload_planning::PlannedStaffing;
use careload_scoring::Weights;
use careload_scoring::snapshot::Profession;
use careload_store::{Level, Store};
use careload_testkit::store::Ctx;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use polars::prelude::{AnyValue, DataType, ParquetReader, SerReader, TimeUnit, TimeZone};
use story::{WEIGHTS, csv_rows, date, fill, hospital, run, utc, weights};

fn quantile_linear(sorted: &[f64], q: f64) -> f64 {
    let idx = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (idx.floor() as usize, idx.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (idx - lo as f64)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.0015
}

// ---------------------------------------------------------------- chapters

async fn ward_days_match_a_hand_count(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    // 2026-11-22T23:00Z is local midnight of Monday 23 November (UTC+1).
    let day0 = utc("2026-11-22T23:00:00Z");
    let written = fill(store, &w, day0, 48).await;

    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-24"), Level::Ward, Grain::Day);
    let rows = csv_rows(&run(store, &spec, Format::Csv).await, ',');
    assert_eq!(rows.len(), 4, "two wards × two days: {rows:?}");

    for row in &rows {
        let ward = &row["ward"];
        let day = date(&row["period"]);
        let start = day0 + Duration::days((day - date("2026-11-23")).num_days());
        let end = start + Duration::hours(24);
        // hand count: hourly ward totals, patient-hours, distinct patients
        let mut per_hour: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
        let mut patients = BTreeSet::new();
        let mut patient_hours = 0;
        for (hour, s, sc) in &written {
            if s.placement.ward == *ward && *hour >= start && *hour < end {
                *per_hour.entry(*hour).or_default() += sc.total.as_f64();
                patients.insert(s.key.0.clone());
                patient_hours += 1;
            }
        }
        let mut totals: Vec<f64> = per_hour.values().copied().collect();
        totals.sort_by(f64::total_cmp);
        let mean = totals.iter().sum::<f64>() / totals.len() as f64;
        let num = |k: &str| row[k].parse::<f64>().unwrap_or_else(|_| panic!("{k}: {:?}", row[k]));
        assert_eq!(row["level"], "ward");
        assert_eq!(row["team"], "", "no team at ward level");
        assert_eq!(row["hours"], "24", "{ward} {day}");
        assert_eq!(num("patient_hours") as usize, patient_hours, "{ward} {day}");
        assert_eq!(num("patients") as usize, patients.len(), "{ward} {day}");
        assert!(
            close(num("total_mean"), mean),
            "{ward} {day}: mean {} vs {mean}",
            row["total_mean"]
        );
        assert!(
            close(num("total_median"), quantile_linear(&totals, 0.5)),
            "{ward} {day} median"
        );
        assert!(
            close(num("total_p90"), quantile_linear(&totals, 0.9)),
            "{ward} {day} p90"
        );
        assert!(close(num("total_max"), totals[totals.len() - 1]), "{ward} {day} max");
        assert!(close(num("points_sum"), totals.iter().sum()), "{ward} {day} sum");
        assert_eq!(row["period_start"], start.format("%Y-%m-%dT%H:%M:%SZ").to_string());
        // documentation quality: shares of the assessed patient-hours
        let assessed: Vec<_> = written
            .iter()
            .filter(|(hour, s, _)| s.placement.ward == *ward && *hour >= start && *hour < end)
            .map(|(_, _, sc)| sc.quality.expect("assessed"))
            .collect();
        assert_eq!(num("quality_assessed_patient_hours") as usize, assessed.len());
        let overdue = assessed.iter().filter(|q| q.news2_overdue).count() as f64 / assessed.len() as f64;
        assert!(
            close(num("news2_overdue_share"), overdue),
            "{ward} {day}: {} vs {overdue}",
            row["news2_overdue_share"]
        );
        let (open, no_due) = assessed.iter().fold((0u32, 0u32), |(a, b), q| {
            (a + u32::from(q.activities), b + u32::from(q.activities_without_due))
        });
        if open > 0 {
            assert!(close(
                num("activities_without_due_share"),
                f64::from(no_due) / f64::from(open)
            ));
        } else {
            assert_eq!(row["activities_without_due_share"], "");
        }
    }
    assert!(
        rows.iter().any(|r| r["news2_overdue_share"] != "0.000"),
        "some NEWS2 is overdue in the test data: {rows:?}"
    );
    // p9 is on W2 only on the second day: three patients that day, two the first.
    let w2: Vec<&str> = rows
        .iter()
        .filter(|r| r["ward"] == "W2")
        .map(|r| r["patients"].as_str())
        .collect();
    assert_eq!(w2, ["1", "2"]);

    // Team level: p1 changed team on each day, so counts in A and in B.
    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Team, Grain::Day);
    let rows = csv_rows(&run(store, &spec, Format::Csv).await, ',');
    let teams: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r["ward"].clone(), r["team"].clone(), r["patients"].clone()))
        .collect();
    assert_eq!(
        teams,
        [
            ("W1".into(), "A".into(), "2".into()),
            ("W1".into(), "B".into(), "2".into()),
            ("W2".into(), "C".into(), "1".into())
        ]
    );

    // Hospital by hour: one row per hour, patients = patient-hours.
    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Hospital, Grain::Hour);
    let rows = csv_rows(&run(store, &spec, Format::Csv).await, ',');
    assert_eq!(rows.len(), 24);
    assert_eq!(rows[0]["period"], "2026-11-23T00:00+01:00");
    assert!(rows.iter().all(|r| r["patients"] == "4" && r["ward"].is_empty()));
}

async fn every_format_carries_the_schema(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    fill(store, &w, utc("2026-11-22T23:00:00Z"), 30).await;
    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-24"), Level::Team, Grain::Shift);
    let names: Vec<&str> = schema::columns(false, false).map(|c| c.name).collect();

    let csv = run(store, &spec, Format::Csv).await;
    assert!(!csv.starts_with(b"\xef\xbb\xbf"), "plain CSV has no BOM");
    let header = std::str::from_utf8(&csv).unwrap().lines().next().unwrap().to_owned();
    assert_eq!(header, names.join(","));

    let excel = run(store, &spec, Format::CsvExcel).await;
    assert!(excel.starts_with(b"\xef\xbb\xbf"), "Excel CSV starts with a BOM");
    let rows = csv_rows(&excel, ';');
    assert_eq!(rows[0].keys().len(), names.len());
    assert!(
        rows[0]["total_mean"].contains(','),
        "decimal comma: {}",
        rows[0]["total_mean"]
    );
    assert!(!rows[0]["total_mean"].contains('.'));
    let plain = csv_rows(&csv, ',');
    assert_eq!(rows.len(), plain.len());
    assert_eq!(rows[0]["total_mean"].replace(',', "."), plain[0]["total_mean"]);
    assert_eq!(
        rows[0]["period"], "2026-11-22 night",
        "the night shift from 22 November 21:00 local"
    );

    let parquet = run(store, &spec, Format::Parquet).await;
    let df = ParquetReader::new(Cursor::new(parquet))
        .finish()
        .expect("read parquet back");
    assert_eq!(df.height(), plain.len());
    let got: Vec<(String, String)> = df
        .schema()
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let want: Vec<(String, String)> = schema::columns(false, false)
        .map(|c| (c.name.to_owned(), c.kind.dtype().to_string()))
        .collect();
    assert_eq!(got, want);
    // instants are UTC-adjusted: pyarrow, polars and BI tools read the
    // instant (the night shift from 22 November 21:00 local is 20:00Z), not
    // a wall-clock time an hour off
    let start = df.column("period_start").expect("period_start");
    assert_eq!(
        start.dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        "period_start is a UTC-adjusted timestamp"
    );
    assert_eq!(
        start.get(0).expect("a first row").to_string(),
        "2026-11-22 20:00:00 UTC",
        "{}",
        plain[0]["period_start"]
    );
    assert_eq!(plain[0]["period_start"], "2026-11-22T20:00:00Z");

    let json = run(store, &spec, Format::Json).await;
    let rows: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(&json).expect("a JSON array");
    assert_eq!(rows.len(), plain.len());
    let mut keys: Vec<&str> = rows[0].keys().map(String::as_str).collect();
    let mut sorted = names.clone();
    keys.sort_unstable();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    let text = std::str::from_utf8(&json).unwrap();
    let first_row = text.lines().nth(1).unwrap();
    let positions: Vec<usize> = names
        .iter()
        .map(|n| first_row.find(&format!("\"{n}\":")).unwrap())
        .collect();
    assert!(positions.is_sorted(), "keys in the schema's order: {first_row}");
    assert_eq!(rows[0]["period_start"], plain[0]["period_start"].as_str());
    assert!(rows[0]["total_mean"].is_f64());

    // No rows: still a header, a schema, an empty array.
    let empty = ExportSpec::new(date("2025-01-01"), date("2025-01-31"), Level::Ward, Grain::Week);
    let csv = run(store, &empty, Format::Csv).await;
    assert_eq!(
        std::str::from_utf8(&csv).unwrap().trim_end(),
        schema::columns(false, false)
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(",")
    );
    let df = ParquetReader::new(Cursor::new(run(store, &empty, Format::Parquet).await))
        .finish()
        .expect("empty parquet");
    assert_eq!((df.height(), df.width()), (0, names.len()));
    assert_eq!(run(store, &empty, Format::Json).await, b"[]\n");
    for c in schema::COLUMNS {
        assert!(matches!(
            c.kind,
            Kind::Text | Kind::Integer | Kind::Decimal | Kind::Instant | Kind::Date | Kind::Boolean
        ));
    }
}

async fn staffing_and_last_year_columns(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let this_year = utc("2026-11-22T23:00:00Z");
    let last_year = utc("2025-11-23T23:00:00Z"); // Monday 24 November 2025, local midnight
    let now = fill(store, &w, this_year, 24).await;
    let then = fill(store, &w, last_year, 24).await;
    let plan = |team: Option<&str>, profession, planned, absent| PlannedStaffing {
        ward: "W1".into(),
        team: team.map(str::to_owned),
        date: date("2026-11-23"),
        shift: "day".into(),
        profession,
        planned,
        absent,
    };
    store
        .put_planned_staffing(
            &[
                plan(Some("A"), Profession::Usk, 2, 1),
                plan(Some("A"), Profession::Ssk, 1, 0),
                plan(None, Profession::Ssk, 1, 0),
            ],
            "test",
            "test",
        )
        .await
        .expect("plan");
    let factors = careload_planning::staff_hours_for(&w, "general").expect("general factors");
    let mut context = hospital();
    context.default_staff_hours = Some(factors);

    let mut spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Ward, Grain::Day);
    spec.staffing = true;
    spec.compare_last_year = true;
    let mut out = Vec::new();
    export(store, &context, &spec, Format::Csv, &mut out)
        .await
        .expect("export");
    let rows = csv_rows(&out, ',');
    let w1 = rows.iter().find(|r| r["ward"] == "W1").expect("W1");
    let w2 = rows.iter().find(|r| r["ward"] == "W2").expect("W2");
    // day shift 07–15: 8 hours × (1 USK + 1 SSK in team A + 1 SSK for the ward)
    assert_eq!(w1["planned_staff_hours"], "24.000");
    assert_eq!(w2["planned_staff_hours"], "", "no plan for W2");
    let need: f64 = now
        .iter()
        .filter(|(_, s, _)| s.placement.ward == "W1")
        .map(|(_, _, sc)| {
            sc.professions.usk.as_f64() * factors.usk.as_f64() + sc.professions.ssk.as_f64() * factors.ssk.as_f64()
        })
        .sum();
    let got: f64 = w1["need_staff_hours"].parse().unwrap();
    assert!(close(got, need), "need {got} vs {need}");
    let gap: f64 = w1["gap_staff_hours"].parse().unwrap();
    assert!(close(gap, 24.0 - need), "gap {gap}");
    // a year earlier: Monday 24 November 2025 (364 days before)
    assert_eq!(w1["last_year_period"], "2025-11-24");
    let then_mean: f64 = then
        .iter()
        .filter(|(_, s, _)| s.placement.ward == "W1")
        .map(|(_, _, sc)| sc.total.as_f64())
        .sum::<f64>()
        / 24.0;
    let got: f64 = w1["last_year_total_mean"].parse().unwrap();
    assert!(close(got, then_mean), "last year {got} vs {then_mean}");
    let change: f64 = w1["total_mean_change_pct"].parse().unwrap();
    let mean: f64 = w1["total_mean"].parse().unwrap();
    assert!((change - (mean - got) / got * 100.0).abs() < 0.01, "{change}");

    // Team level counts only the team's own staff: A has 1 USK + 1 SSK.
    spec.level = Level::Team.into();
    spec.compare_last_year = false;
    let mut out = Vec::new();
    export(store, &context, &spec, Format::Csv, &mut out)
        .await
        .expect("export teams");
    let rows = csv_rows(&out, ',');
    let a = rows.iter().find(|r| r["team"] == "A").expect("A");
    assert_eq!(a["planned_staff_hours"], "16.000");
    let b = rows.iter().find(|r| r["team"] == "B").expect("B");
    assert_eq!(b["planned_staff_hours"], "");
}

async fn bad_requests_say_what_to_send(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    fill(store, &w, utc("2026-11-22T23:00:00Z"), 2).await;
    let mut spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Ward, Grain::Day);
    spec.wards = Some(vec!["W1".into(), "NOPE".into()]);
    let mut out = Vec::new();
    let e = export(store, &hospital(), &spec, Format::Csv, &mut out)
        .await
        .expect_err("unknown ward");
    assert!(matches!(e, Error::BadSpec(_)));
    let msg = e.to_string();
    assert!(msg.contains("\"NOPE\"") && msg.contains("W1, W2"), "{msg}");
    assert!(out.is_empty(), "nothing written before the request is checked");

    spec.wards = Some(vec!["W2".into()]);
    let rows = csv_rows(&run(store, &spec, Format::Csv).await, ',');
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["ward"], "W2");
}

async fn a_backtest_reproduces_the_stored_scores_and_shows_a_change(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let written = fill(store, &w, utc("2026-11-22T23:00:00Z"), 30).await;
    let context = hospital();
    let day = date("2026-11-23");

    // The version in force as candidate: every number as stored.
    let same = backtest(store, &context, &context, Arc::new(w.clone()), day, day)
        .await
        .expect("backtest");
    assert_eq!(same.hours, 24, "hours of the local day");
    assert_eq!(same.skipped, 0);
    assert_eq!(same.stored_versions, ["2026.1"]);
    assert_eq!(same.wards.len(), 2);
    for u in same.wards.iter().chain([&same.hospital]) {
        assert_eq!(u.stored, u.candidate, "{}", u.ward);
        assert_eq!(u.total_change_pct, Some(0.0));
    }
    let day_rows: Vec<_> = written
        .iter()
        .filter(|(h, _, _)| *h < utc("2026-11-23T23:00:00Z"))
        .collect();
    assert_eq!(same.patient_hours, day_rows.len() as u64);

    // A candidate that makes personal hygiene cost more for bedridden patients.
    let text = WEIGHTS
        .replace("version = \"2026.1\"", "version = \"2027.1-candidate\"")
        .replacen("bedridden = 4\n", "bedridden = 9\n", 1);
    let candidate = Weights::from_toml(&text, "candidate.toml").expect("candidate weights");
    let report = backtest(store, &context, &context, Arc::new(candidate.clone()), day, day)
        .await
        .expect("backtest");
    assert_eq!(report.candidate_version, "2027.1-candidate");
    let mut moved = false;
    for u in &report.wards {
        // by hand: each stored snapshot re-scored for its hour
        let mut per_hour: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
        for (hour, s, _) in &day_rows {
            if s.placement.ward == u.ward {
                let sc = careload_scoring::score(s, &candidate, careload_scoring::score::Window::hour(*hour));
                *per_hour.entry(*hour).or_default() += sc.total.as_f64();
            }
        }
        let mean = per_hour.values().sum::<f64>() / per_hour.len() as f64;
        assert!(
            close(u.candidate.total_mean, mean),
            "{}: {} vs {mean}",
            u.ward,
            u.candidate.total_mean
        );
        moved |= u.candidate.total_mean > u.stored.total_mean;
        assert!(u.candidate.total_mean >= u.stored.total_mean, "only a weight went up");
    }
    assert!(moved, "some ward has bedridden patients with hygiene due");
    let ranks: BTreeSet<u32> = report.wards.iter().filter_map(|u| u.stored.rank).collect();
    assert_eq!(ranks, BTreeSet::from([1, 2]));

    // Nothing stored changed.
    let again = backtest(store, &context, &context, Arc::new(w.clone()), day, day)
        .await
        .expect("backtest");
    assert_eq!(again.hospital.stored, same.hospital.stored);
    assert!(
        again.departments.is_empty() && again.hospitals.is_empty(),
        "none configured"
    );

    // Issue 29: with W1 and W2 in department `med` of hospital `nord`, the
    // department and the hospital are both wards summed hour by hour:
    // exactly the whole store's figures here, and as stored.
    let mut grouped = hospital();
    for ward in ["W1", "W2"] {
        grouped.ward_departments.insert(ward.into(), "med".into());
    }
    grouped.department_hospitals.insert("med".into(), "nord".into());
    let by_group = backtest(store, &grouped, &grouped, Arc::new(w.clone()), day, day)
        .await
        .expect("backtest");
    assert_eq!(by_group.departments.len(), 1);
    assert_eq!(by_group.hospitals.len(), 1);
    let (med, nord) = (&by_group.departments[0], &by_group.hospitals[0]);
    assert_eq!((med.ward.as_str(), nord.ward.as_str()), ("med", "nord"));
    let mut per_hour: BTreeMap<DateTime<Utc>, i64> = BTreeMap::new();
    for (hour, _, sc) in &day_rows {
        *per_hour.entry(*hour).or_default() += sc.total.milli();
    }
    let mean = (per_hour.values().sum::<i64>() as f64 / 1000.0 / per_hour.len() as f64 * 1000.0).round() / 1000.0;
    for u in [med, nord] {
        assert_eq!(u.hours, 24, "{}", u.ward);
        assert_eq!(u.patient_hours, day_rows.len() as u64, "{}", u.ward);
        assert_eq!(u.stored.total_mean, mean, "{}", u.ward);
        assert_eq!(u.stored, u.candidate, "{}", u.ward);
        assert_eq!(u.stored.rank, Some(1), "{}: the only one of its kind", u.ward);
        let mut whole = by_group.hospital.stored.clone();
        whole.rank = Some(1);
        assert_eq!(u.stored, whole, "{}: the whole store's sums", u.ward);
    }
    // W2 moved out to a department of no hospital: `nord` is W1 alone
    grouped.ward_departments.insert("W2".into(), "kir".into());
    let split = backtest(store, &grouped, &grouped, Arc::new(w), day, day)
        .await
        .expect("backtest");
    assert_eq!(split.departments.len(), 2);
    let w1 = split.wards.iter().find(|u| u.ward == "W1").unwrap();
    let nord = &split.hospitals[0];
    assert_eq!(split.hospitals.len(), 1);
    assert_eq!((nord.hours, nord.patient_hours), (w1.hours, w1.patient_hours));
    assert_eq!(nord.stored.total_mean, w1.stored.total_mean);
}

/// The CSV rows of one export under `context`.
async fn rows_of(store: &Store, context: &Context, spec: &ExportSpec) -> Vec<BTreeMap<String, String>> {
    let mut out = Vec::new();
    export(store, context, spec, Format::Csv, &mut out)
        .await
        .expect("export");
    csv_rows(&out, ',')
}

/// Issue 24: a controller pivots by local date and by name, so every row
/// carries the period's local date, hours and shifts their local start
/// time, and wards and teams their configured display names.
async fn rows_carry_local_dates_times_and_names(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    fill(store, &w, utc("2026-11-22T23:00:00Z"), 30).await; // from Monday 23 November 00:00 local
    let mut context = hospital();
    context.ward_names.insert("W1".into(), "Avd 7 Medicin".into());
    context
        .team_names
        .insert("W1".into(), BTreeMap::from([("A".to_owned(), "Vårdlag A".to_owned())]));
    let check = |rows: &[BTreeMap<String, String>], cases: &[(&str, &str, &str, &str, &str, &str, &str)]| {
        for &(ward, team, period, ward_name, team_name, local_date, local_time) in cases {
            let row = rows
                .iter()
                .find(|r| r["ward"] == ward && r["team"] == team && r["period"] == period)
                .unwrap_or_else(|| panic!("no row {ward}/{team} {period}: {rows:?}"));
            let col = |name: &str| {
                row.get(name)
                    .map(String::as_str)
                    .unwrap_or_else(|| panic!("no {name} column: {row:?}"))
            };
            let got = [col("ward_name"), col("team_name"), col("local_date"), col("local_time")];
            assert_eq!(
                got,
                [ward_name, team_name, local_date, local_time],
                "{ward}/{team} {period}: ward_name, team_name, local_date, local_time"
            );
        }
    };

    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Team, Grain::Hour);
    let rows = rows_of(store, &context, &spec).await;
    check(
        &rows,
        &[
            (
                "W1",
                "A",
                "2026-11-23T00:00+01:00",
                "Avd 7 Medicin",
                "Vårdlag A",
                "2026-11-23",
                "00:00",
            ),
            (
                "W1",
                "B",
                "2026-11-23T14:00+01:00",
                "Avd 7 Medicin",
                "",
                "2026-11-23",
                "14:00",
            ),
            ("W2", "C", "2026-11-23T23:00+01:00", "", "", "2026-11-23", "23:00"),
        ],
    );
    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Team, Grain::Shift);
    let rows = rows_of(store, &context, &spec).await;
    check(
        &rows,
        &[
            // the night shift from 21:00 on the 22nd: its own date and start
            (
                "W1",
                "A",
                "2026-11-22 night",
                "Avd 7 Medicin",
                "Vårdlag A",
                "2026-11-22",
                "21:00",
            ),
            (
                "W1",
                "A",
                "2026-11-23 day",
                "Avd 7 Medicin",
                "Vårdlag A",
                "2026-11-23",
                "07:00",
            ),
            ("W2", "C", "2026-11-23 evening", "", "", "2026-11-23", "15:00"),
        ],
    );
    // days and coarser: the first local date, no time; no team above team level
    for (grain, period, local_date) in [
        (Grain::Day, "2026-11-23", "2026-11-23"),
        (Grain::Week, "2026-W48", "2026-11-23"),
        (Grain::Month, "2026-11", "2026-11-01"),
        (Grain::Quarter, "2026-Q4", "2026-10-01"),
        (Grain::Year, "2026", "2026-01-01"),
    ] {
        let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Ward, grain);
        let rows = rows_of(store, &context, &spec).await;
        check(
            &rows,
            &[
                ("W1", "", period, "Avd 7 Medicin", "", local_date, ""),
                ("W2", "", period, "", "", local_date, ""),
            ],
        );
    }
    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Hospital, Grain::Day);
    let rows = rows_of(store, &context, &spec).await;
    check(&rows, &[("", "", "2026-11-23", "", "", "2026-11-23", "")]);

    // JSON: names as text or null, the date and time as text
    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-23"), Level::Ward, Grain::Shift);
    let mut out = Vec::new();
    export(store, &context, &spec, Format::Json, &mut out)
        .await
        .expect("export");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out).expect("a JSON array");
    let day_w1 = rows
        .iter()
        .find(|r| r["ward"] == "W1" && r["period"] == "2026-11-23 day")
        .expect("W1's day shift");
    assert_eq!(day_w1["ward_name"], "Avd 7 Medicin");
    assert_eq!(day_w1["team_name"], serde_json::Value::Null);
    assert_eq!(day_w1["local_date"], "2026-11-23");
    assert_eq!(day_w1["local_time"], "07:00");
    assert_eq!(day_w1["complete"], true);
    let w2 = rows.iter().find(|r| r["ward"] == "W2").expect("W2");
    assert_eq!(w2["ward_name"], serde_json::Value::Null);
}

/// Issue 24: the current, unfinished period compared planned staffing for
/// shifts that had not happened yet with the need of the hours so far (a
/// ward showed 220 planned staff-hours against a need of 33). The store
/// holds 28 November whole and 29 November until 10:00 local, and a full
/// plan for both days: on the 29th only the day shift (07–15) has started.
async fn incomplete_periods_count_only_started_shifts(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let day0 = utc("2026-11-27T23:00:00Z"); // local midnight of 28 November (UTC+1)
    let written = fill(store, &w, day0, 24 + 11).await; // the last hour: 29 November 10:00 local
    let mut plan = Vec::new();
    for day in ["2026-11-28", "2026-11-29"] {
        for (shift, planned, absent) in [("day", 3, 1), ("evening", 2, 0), ("night", 1, 0)] {
            plan.push(PlannedStaffing {
                ward: "W1".into(),
                team: None,
                date: date(day),
                shift: shift.into(),
                profession: Profession::Usk,
                planned,
                absent,
            });
        }
    }
    store.put_planned_staffing(&plan, "test", "test").await.expect("plan");
    let factors = careload_planning::staff_hours_for(&w, "general").expect("general factors");
    let mut context = hospital();
    context.default_staff_hours = Some(factors);
    // a whole day: day 2 × 8 h + evening 2 × 6 h + night 1 × 10 h
    let (whole_day, day_shift) = (38.0, 16.0);

    let mut spec = ExportSpec::new(date("2026-11-28"), date("2026-11-29"), Level::Ward, Grain::Day);
    spec.staffing = true;
    let rows = rows_of(store, &context, &spec).await;
    let w1: Vec<&BTreeMap<String, String>> = rows.iter().filter(|r| r["ward"] == "W1").collect();
    assert_eq!(w1.len(), 2, "{rows:?}");
    let planned = |r: &BTreeMap<String, String>| r["planned_staff_hours"].parse::<f64>().unwrap();
    assert_eq!(planned(w1[0]), whole_day, "28 November is over: every shift counts");
    assert_eq!(
        planned(w1[1]),
        day_shift,
        "29 November until 10:00: only the day shift has started, the evening and night shifts are not counted"
    );
    let need: f64 = written
        .iter()
        .filter(|(h, s, _)| *h >= utc("2026-11-28T23:00:00Z") && s.placement.ward == "W1")
        .map(|(_, _, sc)| {
            sc.professions.usk.as_f64() * factors.usk.as_f64() + sc.professions.ssk.as_f64() * factors.ssk.as_f64()
        })
        .sum();
    let gap: f64 = w1[1]["gap_staff_hours"].parse().unwrap();
    assert!(close(gap, day_shift - need), "gap {gap} vs {}", day_shift - need);
    assert_eq!(w1[0]["complete"], "true", "{:?}", w1[0]);
    assert_eq!(w1[1]["complete"], "false", "{:?}", w1[1]);
    assert!(
        rows.iter()
            .filter(|r| r["ward"] == "W2")
            .all(|r| r["planned_staff_hours"].is_empty())
    );

    // This week (23–29 November) is not over either.
    spec.grain = Grain::Week;
    let rows = rows_of(store, &context, &spec).await;
    let week = rows.iter().find(|r| r["ward"] == "W1").expect("W1's week");
    assert_eq!(week["period"], "2026-W48");
    assert_eq!(planned(week), whole_day + day_shift);
    assert_eq!(week["complete"], "false");

    // By shift: the day shift of the 29th is under way, the night before is over.
    spec.grain = Grain::Shift;
    let rows = rows_of(store, &context, &spec).await;
    let shift = |label: &str| {
        rows.iter()
            .find(|r| r["ward"] == "W1" && r["period"] == label)
            .unwrap_or_else(|| panic!("{label}: {rows:?}"))
    };
    assert_eq!(planned(shift("2026-11-28 night")), 10.0);
    assert_eq!(shift("2026-11-28 night")["complete"], "true");
    assert_eq!(planned(shift("2026-11-29 day")), 16.0);
    assert_eq!(shift("2026-11-29 day")["complete"], "false");
    assert!(
        !rows.iter().any(|r| r["period"] == "2026-11-29 evening"),
        "no hour of it yet"
    );

    // Every hour stored is over.
    let spec = ExportSpec::new(date("2026-11-29"), date("2026-11-29"), Level::Hospital, Grain::Hour);
    let rows = rows_of(store, &context, &spec).await;
    assert_eq!(rows.len(), 11);
    assert!(rows.iter().all(|r| r["complete"] == "true"), "{rows:?}");

    // The back-test's gap compares the same way.
    let report = backtest(
        store,
        &context,
        &context,
        Arc::new(w.clone()),
        date("2026-11-28"),
        date("2026-11-29"),
    )
    .await
    .expect("backtest");
    assert_eq!(report.hospital.planned_staff_hours, Some(whole_day + day_shift));
}

/// Issue 24: a Parquet export read back with polars gives instants as UTC
/// instants and the local date as a date: the local day of 29 November
/// starts at 2026-11-28T23:00:00Z.
async fn parquet_reads_back_utc_instants_and_local_dates(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    fill(store, &w, utc("2026-11-28T23:00:00Z"), 24).await;
    let spec = ExportSpec::new(date("2026-11-29"), date("2026-11-29"), Level::Ward, Grain::Day);
    let df = ParquetReader::new(Cursor::new(run(store, &spec, Format::Parquet).await))
        .finish()
        .expect("read parquet back");
    assert_eq!(df.height(), 2, "two wards, one day");
    let start = df.column("period_start").expect("period_start");
    assert_eq!(
        start.dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
    );
    let end = df.column("period_end").expect("period_end");
    for i in 0..df.height() {
        match start.get(i).expect("a value") {
            AnyValue::Datetime(us, TimeUnit::Microseconds, _) => {
                assert_eq!(DateTime::from_timestamp_micros(us), Some(utc("2026-11-28T23:00:00Z")));
            }
            other => panic!("period_start is {other:?}"),
        }
        assert_eq!(end.get(i).expect("a value").to_string(), "2026-11-29 23:00:00 UTC");
    }
    let local = df.column("local_date").expect("a local_date column");
    assert_eq!(local.dtype(), &DataType::Date, "local_date is a date");
    for i in 0..df.height() {
        match local.get(i).expect("a value") {
            AnyValue::Date(days) => assert_eq!(
                NaiveDate::from_num_days_from_ce_opt(days + 719_163),
                Some(date("2026-11-29"))
            ),
            other => panic!("local_date is {other:?}"),
        }
    }
    let complete = df.column("complete").expect("a complete column");
    assert_eq!(complete.dtype(), &DataType::Boolean);
    assert!(
        complete.bool().unwrap().iter().all(|c| c == Some(true)),
        "the day is stored whole"
    );
}

/// Issue 24: the report said the back-test compared stored means over all
/// hours with candidate means over the re-scored hours only, and printed
/// −51 % without a warning. A stored row is re-scored from its snapshot;
/// one whose snapshot cannot be read (benchmark copies keep `{}`) cannot
/// be. Here the first half of the day are such copies of 12:00 (lighter
/// than the afternoon): the version in force must still reproduce the
/// stored means exactly, over the same (re-scored) hours, and the report
/// must say what it skipped and why.
async fn backtest_says_what_it_skipped_and_why(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let noon = utc("2026-11-23T11:00:00Z"); // 12:00 local on Monday 23 November
    let written = fill(store, &w, noon, 12).await; // 12:00–23:00 local, re-scorable
    store
        .replicate_hour(noon, 12, 0)
        .await
        .expect("copies 00:00–11:00 local without snapshots");
    let context = hospital();
    let day = date("2026-11-23");
    let report = backtest(store, &context, &context, Arc::new(w.clone()), day, day)
        .await
        .expect("backtest");
    assert_eq!(report.hours, 24, "hours stored");
    assert_eq!(report.hospital.hours, 12, "hours re-scored");
    assert_eq!(report.patient_hours, written.len() as u64);
    assert_eq!(report.skipped, 12 * 4, "four patients in each copied hour");
    for u in report.wards.iter().chain([&report.hospital]) {
        assert_eq!(u.stored, u.candidate, "{}: the same rows on both sides", u.ward);
        assert_eq!(u.total_change_pct, Some(0.0), "{}", u.ward);
    }
    let mut discriminating = false;
    for u in &report.wards {
        let mut per_hour: BTreeMap<DateTime<Utc>, f64> = BTreeMap::new();
        for (hour, s, sc) in &written {
            if s.placement.ward == u.ward {
                *per_hour.entry(*hour).or_default() += sc.total.as_f64();
            }
        }
        let rescored = per_hour.values().sum::<f64>() / per_hour.len() as f64;
        assert!(
            close(u.stored.total_mean, rescored),
            "{}: stored mean {} over the re-scored hours is {rescored}",
            u.ward,
            u.stored.total_mean
        );
        // what a stored mean over every hour (the copies too) would be
        let all = (per_hour.values().sum::<f64>() + 12.0 * per_hour[&noon]) / 24.0;
        discriminating |= (all - rescored).abs() > 0.01;
    }
    assert!(
        discriminating,
        "the copied hours are lighter, so mixing them in would show"
    );

    // how many, and why, in the report itself
    let v = serde_json::to_value(&report).expect("the report as JSON");
    assert_eq!(v["skipped_hours"], 12, "hours left out entirely: {v}");
    assert_eq!(v["skipped_reasons"]["no_snapshot"], 48, "{v}");
    let w1 = report.wards.iter().find(|u| u.ward == "W1").expect("W1");
    let v1 = serde_json::to_value(w1).expect("W1 as JSON");
    assert_eq!(v1["skipped_patient_hours"], 12 * 3, "three of the four on W1: {v1}");
}

careload_testkit::on_every_backend!(
    rows_carry_local_dates_times_and_names,
    incomplete_periods_count_only_started_shifts,
    parquet_reads_back_utc_instants_and_local_dates,
    backtest_says_what_it_skipped_and_why,
    a_backtest_reproduces_the_stored_scores_and_shows_a_change,
    ward_days_match_a_hand_count,
    every_format_carries_the_schema,
    staffing_and_last_year_columns,
    bad_requests_say_what_to_send,
);

/// `docs/exports.md`'s column table is generated from `schema::COLUMNS`; run
/// with `CARELOAD_BLESS=1` to rewrite it after adding a column.
#[test]
fn the_docs_column_table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/exports.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let (start, end) = ("<!-- export-columns:start -->\n", "<!-- export-columns:end -->");
    let a = doc
        .find(start)
        .expect("docs/exports.md lacks the export-columns:start marker")
        + start.len();
    let b = doc
        .find(end)
        .expect("docs/exports.md lacks the export-columns:end marker");
    let table = schema::markdown_table();
    if doc[a..b] != table {
        if std::env::var_os("CARELOAD_BLESS").is_some() {
            std::fs::write(path, format!("{}{}{}", &doc[..a], table, &doc[b..])).unwrap();
        } else {
            panic!("docs/exports.md's column table is out of date; run CARELOAD_BLESS=1 cargo test -p careload-export");
        }
    }
}
