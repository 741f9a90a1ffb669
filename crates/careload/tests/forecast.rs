//! `careload forecast backtest` (issue 28) run as a user runs it, against a
//! SQLite store built here: 37 days of hourly scores of ward w1 (four
//! patients in teams a and b whose set-time IV doses, the schedule, and
//! hygiene tasks, work nobody scheduled, vary hour by hour), one USK and one
//! SSK planned every shift. Five weeks are learnt from, the last two days
//! judged: the tables' headings, the ward and the pooled row; `--json`
//! parses and a date means the same instants as its midnight written in
//! RFC 3339; an empty period and an unreadable date are refused clearly.
//! And `careload bench forecast` on a small hospital: its JSON has every
//! part's spread and its store is removed.
//!
//! The hospital's zone is UTC, so the default shifts are day 07–15,
//! evening 15–21 and night 21–07 UTC.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use careload_planning::PlannedStaffing;
use careload_scoring::snapshot::{
    Activity, ActivityStatus, Dosing, MedicationOrder, Norton, NortonActivity, PatientKey, Profession, Route,
};
use careload_scoring::{Snapshot, Weights, rollup, score_now};
use careload_store::Store;
use careload_testkit::TempDir;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use common::{careload, s};

/// The first stored hour: Monday 5 October 2026, 00:00 UTC.
const FIRST: &str = "2026-10-05T00:00:00Z";
/// Days stored: through Tuesday 10 November.
const DAYS: i64 = 37;

/// SplitMix64 of a seed: one deterministic number per seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Patient `i` at `hour`: two IV doses at set times in the next hours
/// (scheduled, so forecast) and 0–3 hygiene tasks due now (unscheduled
/// until they appear).
fn patient(i: u64, hour: DateTime<Utc>) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let r = mix(hour.timestamp() as u64 * 8 + i);
    let mut s = Snapshot::new(PatientKey(format!("p{i}")), as_of, as_of - Duration::days(10), "w1");
    s.placement.team = Some(if i.is_multiple_of(2) { "a" } else { "b" }.into());
    s.placement.bed = Some(i.to_string());
    s.norton = Some(Norton {
        activity: NortonActivity::WalksWithHelp,
        total: Some(14),
        assessed_at: as_of - Duration::hours(2),
    });
    for _ in 0..(r % 4) {
        s.activities.push(Activity {
            code: "personal-hygiene".into(),
            due: Some(as_of + Duration::minutes(20)),
            status: ActivityStatus::Open,
            profession: None,
            source: None,
        });
    }
    let first_dose = 1 + (r >> 8) % 6;
    s.medications.push(MedicationOrder {
        route: Route::Intravenous,
        dosing: Dosing::At {
            times: vec![
                as_of + Duration::hours(first_dose as i64),
                as_of + Duration::hours(first_dose as i64 + 8),
            ],
        },
        source: None,
    });
    s
}

/// The store: `days` days of hours and planned staffing.
async fn fill(url: &str, days: i64) {
    let store = Store::connect(url).await.expect("store");
    let w = Weights::built_in().expect("weights");
    store.record_weights(&w).await.expect("record weights");
    let first: DateTime<Utc> = FIRST.parse().expect("rfc3339");
    for h in 0..days * 24 {
        let hour = first + Duration::hours(h);
        let pairs: Vec<_> = (0..4)
            .map(|i| {
                let p = patient(i, hour);
                let sc = score_now(&p, &w);
                (p, sc)
            })
            .collect();
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let run = store.begin_run("test").await.expect("run");
        store
            .write_hour(hour, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write hour");
    }
    let mut rows = Vec::new();
    let first_date = first.date_naive() - Duration::days(1);
    for d in 0..=days {
        let date: NaiveDate = first_date + Duration::days(d);
        for shift in ["day", "evening", "night"] {
            for profession in [Profession::Usk, Profession::Ssk] {
                rows.push(PlannedStaffing {
                    ward: "w1".into(),
                    team: None,
                    date,
                    shift: shift.into(),
                    profession,
                    planned: 1,
                    absent: 0,
                });
            }
        }
    }
    store
        .put_planned_staffing(&rows, "test", "test")
        .await
        .expect("staffing");
    store.close().await;
}

/// A store of `days` days and a configuration of ward w1 in UTC over it.
fn build(days: i64) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new("forecast-backtest");
    let url = dir.sqlite_url();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(fill(&url, days));
    let path = dir.join("careload.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"{url}\"\n\n[scoring]\ntime_zone = \"UTC\"\n\n[wards.w1]\nname = \"Avdelning 1\"\n"
        ),
    )
    .expect("config");
    (dir, path)
}

#[test]
fn the_backtest_prints_its_tables_and_its_json() {
    let (_dir, cfg) = build(DAYS);
    let args = |from: &str, to: &str, json: bool| -> Vec<String> {
        let mut a: Vec<String> = [
            "forecast",
            "backtest",
            "--from",
            from,
            "--to",
            to,
            "--learn-weeks",
            "5",
            "--config",
            s(&cfg),
        ]
        .map(str::to_owned)
        .to_vec();
        if json {
            a.push("--json".into());
        }
        a
    };

    let run = careload(&args("2026-11-09", "2026-11-10", false));
    run.ok();
    let text = &run.stdout;
    for heading in [
        "forecast back-test: errors learnt from the hours 2026-10-05T00:00:00Z to 2026-11-09T00:00:00Z",
        "forecasts judged from the hours 2026-11-09T00:00:00Z to 2026-11-11T00:00:00Z",
        "errors of the shift's need",
        "MAE scheduled",
        "MAE P50",
        "P90 coverage",
        "P10 coverage",
        "risk calibration",
        "the planning page's figure",
        "understaffed",
        "by notice",
        "the schedule misses most",
    ] {
        assert!(text.contains(heading), "no {heading:?} in:\n{text}");
    }
    let row = |label: &str, scope: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(label) && l.contains(scope))
            .unwrap_or_else(|| panic!("no {label} {scope} row in:\n{text}"))
            .to_owned()
    };
    // the ward is judged at every notice: not young after five weeks
    let ward = row("w1 Avdelning 1", " ward ");
    assert!(!ward.contains(" – "), "{ward}");
    row("w1 Avdelning 1", " teams ");
    let pooled = row("alla avdelningar", " wards ");
    assert!(pooled.contains("all met") || pooled.contains("missed:"), "{pooled}");

    let json = careload(&args("2026-11-09", "2026-11-10", true));
    let v = json.ok().json();
    assert_eq!(v["wards"][0]["ward"], "w1", "{v:#}");
    assert_eq!(v["wards"][0]["name"], "Avdelning 1");
    let pooled = &v["pooled"];
    let forecasts = pooled["forecasts"].as_u64().unwrap();
    // two days of hours, each forecasting its next two shifts: those that
    // end by the 11th (not the last night, nor what the last evening's hours forecast)
    assert!((60..96).contains(&forecasts), "{forecasts}");
    assert_eq!(pooled["young"], 0, "{pooled:#}");
    assert!(pooled["scheduled_mae"].as_f64().unwrap() > 0.0);
    assert!(v["wards"][0]["teams"]["forecasts"].as_u64().unwrap() >= 2 * forecasts - 8);
    assert!(!v["by_lead"].as_array().unwrap().is_empty());
    let binned: u64 = pooled["risk_bins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["forecasts"].as_u64().unwrap())
        .sum();
    assert_eq!(binned, 2 * forecasts, "both planned professions of every forecast");
    assert_eq!(v["learn_from"], "2026-10-05T00:00:00Z");

    // a date is its local midnight; --to a date is inclusive
    let same = careload(&args("2026-11-09T00:00:00Z", "2026-11-11T00:00:00Z", true));
    assert_eq!(same.ok().json(), v);
}

#[test]
fn an_empty_period_and_an_unreadable_date_are_refused() {
    let (_dir, cfg) = build(1);
    let run = careload(&[
        "forecast",
        "backtest",
        "--from",
        "2026-11-09",
        "--to",
        "2026-11-08",
        "--config",
        s(&cfg),
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("--to 2026-11-08 is not after --from 2026-11-09: the judged period is empty"),
        "{}",
        run.stderr
    );

    let help = careload(&["forecast", "backtest", "--help"]);
    assert!(
        help.ok().stdout.contains("target at most 0.70"),
        "the long help says what is judged: {}",
        help.stdout
    );

    let run = careload(&["forecast", "backtest", "--from", "yesterday", "--to", "2026-11-08"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("\"yesterday\" is neither a date nor a time"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_hourly_bench_runs_on_a_small_hospital_and_prints_json() {
    let dir = TempDir::new("bench-forecast-cli");
    let db = dir.join("bench.db");
    let run = careload(&[
        "bench",
        "forecast",
        "--beds",
        "48",
        "--runs",
        "2",
        "--db",
        s(&db),
        "--json",
    ]);
    let v = run.ok().json();
    assert_eq!(v["beds"], 48, "{v:#}");
    assert_eq!(v["runs"].as_array().unwrap().len(), 2);
    assert_eq!(v["samples_per_scope"], 8 * 7 * 24 * 2);
    assert!(v["predictions"].as_u64().unwrap() > 0);
    for part in ["total", "learn", "forecast"] {
        assert!(v[part]["median"].as_f64().is_some(), "{part}: {v:#}");
    }
    // the store is the bench's own: deleted afterwards
    assert!(!db.exists());
}
