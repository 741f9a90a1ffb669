//! `careload weights fit` (issue 27) run as a user runs it, against a SQLite
//! store built here: five weeks of hourly scores of ward w1 (one patient
//! whose hygiene tasks, basic nursing, and IV medication orders vary shift
//! by shift, independently), one USK and one SSK present every shift, and
//! both rating each shift from a known truth in which the staff feel the
//! medications' points at a quarter of their weight. The fit proposes a
//! candidate that scales basic nursing up against medications, writes it
//! (comments kept, `[meta]` saying it was fitted), and the file validates
//! and equals the scaled weights in force. Without ratings it proposes
//! nothing, says why, writes nothing and exits 0.
//!
//! The window's last night (8–9 November) ends after it: 104 shifts.
//!
//! The hospital's zone is UTC, so the default shifts are day 07–15,
//! evening 15–21 and night 21–07 UTC.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

mod common;

use careload_planning::PlannedStaffing;
use careload_scoring::score::Component;
use careload_scoring::snapshot::{
    Activity, ActivityStatus, Dosing, MedicationOrder, Norton, NortonActivity, PatientKey, Profession, Route,
};
use careload_scoring::{Qty, Snapshot, Weights, rollup, score_now};
use careload_store::{NewRating, RatingSource, Store};
use careload_testkit::TempDir;
use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use common::{careload, s};

/// The first stored hour: Monday 5 October 2026, 07:00 UTC (a day shift's start).
const FIRST: &str = "2026-10-05T07:00:00Z";
/// Days stored.
const DAYS: i64 = 35;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

/// SplitMix64 of a seed: one deterministic number per seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The shift an hour belongs to: its start, name and date.
fn shift_of(hour: DateTime<Utc>) -> (DateTime<Utc>, &'static str, NaiveDate) {
    let h = hour.hour();
    let midnight = hour - Duration::hours(i64::from(h));
    let (start, name) = match h {
        7..=14 => (midnight + Duration::hours(7), "day"),
        15..=20 => (midnight + Duration::hours(15), "evening"),
        21..=23 => (midnight + Duration::hours(21), "night"),
        _ => (midnight - Duration::hours(3), "night"),
    };
    (start, name, start.date_naive())
}

/// The shift's load: hygiene tasks and IV orders per hour, 0 … 5 each.
fn load(start: DateTime<Utc>) -> (u32, u32) {
    let r = mix(start.timestamp() as u64);
    ((r % 6) as u32, ((r >> 8) % 6) as u32)
}

fn patient(hour: DateTime<Utc>) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let (start, _, _) = shift_of(hour);
    let (hygiene, iv) = load(start);
    let mut s = Snapshot::new(PatientKey("p1".into()), as_of, as_of - Duration::days(30), "w1");
    s.placement.bed = Some("1".into());
    s.norton = Some(Norton {
        activity: NortonActivity::WalksWithHelp,
        total: Some(14),
        assessed_at: as_of - Duration::hours(2),
    });
    for _ in 0..hygiene {
        s.activities.push(Activity {
            code: "personal-hygiene".into(),
            due: Some(as_of + Duration::minutes(20)),
            status: ActivityStatus::Open,
            profession: None,
            source: None,
        });
    }
    for _ in 0..iv {
        s.medications.push(MedicationOrder {
            route: Route::Intravenous,
            dosing: Dosing::At {
                times: vec![as_of + Duration::minutes(10)],
            },
            source: None,
        });
    }
    s
}

/// The store: hours, planned staffing and (with `rate`) the ratings.
async fn fill(url: &str, rate: bool) {
    let store = Store::connect(url).await.expect("store");
    let w = Weights::built_in().expect("weights");
    store.record_weights(&w).await.expect("record weights");
    let first = t(FIRST);
    let mut shifts = Vec::new();
    for h in 0..DAYS * 24 {
        let hour = first + Duration::hours(h);
        let p = patient(hour);
        let sc = score_now(&p, &w);
        let pairs = vec![(p, sc)];
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let run = store.begin_run("test").await.expect("run");
        store
            .write_hour(hour, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write hour");
        let shift = shift_of(hour);
        if shifts.last() != Some(&shift) {
            shifts.push(shift);
        }
    }
    let mut rows = Vec::new();
    let mut ratings = Vec::new();
    for (i, &(start, name, date)) in shifts.iter().enumerate() {
        for profession in [Profession::Usk, Profession::Ssk] {
            rows.push(PlannedStaffing {
                ward: "w1".into(),
                team: None,
                date,
                shift: name.into(),
                profession,
                planned: 1,
                absent: 0,
            });
        }
        let hours = match name {
            "day" => 8.0,
            "evening" => 6.0,
            _ => 10.0,
        };
        let (hygiene, iv) = load(start);
        // per person of the two present: hygiene 2 points each, IV 1.03 an order-hour
        let basic = f64::from(hygiene) * 2.0 * hours / 2.0;
        let meds = f64::from(iv) * 1.03 * hours / 2.0;
        let felt = basic + 0.25 * meds;
        for k in 0..2u64 {
            let noise = ((mix(i as u64 * 2 + k + 1_000) % 1000) as f64 / 1000.0 - 0.5) * 1.2;
            let rating = (0.12 * (felt - 22.0) + noise).round().clamp(-3.0, 3.0) as i8;
            ratings.push(NewRating {
                ward: "w1".into(),
                team: None,
                shift_start: start,
                shift: name.into(),
                profession: Some(if k == 0 { Profession::Usk } else { Profession::Ssk }),
                rating,
                source: RatingSource::PaperImport,
                received_at: start + Duration::hours(11),
            });
        }
    }
    store
        .put_planned_staffing(&rows, "test", "test")
        .await
        .expect("staffing");
    if rate {
        store.put_ratings(&ratings).await.expect("ratings");
    }
    store.close().await;
}

/// A configuration of ward w1 in UTC over the store at `url`.
fn config(dir: &TempDir, url: &str) -> std::path::PathBuf {
    let path = dir.join("careload.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\nurl = \"{url}\"\n\n[scoring]\ntime_zone = \"UTC\"\n\n[wards.w1]\nname = \"Avdelning 1\"\n"
        ),
    )
    .expect("config");
    path
}

fn build(rate: bool) -> (TempDir, std::path::PathBuf) {
    let dir = TempDir::new("weights-fit");
    let url = dir.sqlite_url();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(fill(&url, rate));
    let cfg = config(&dir, &url);
    (dir, cfg)
}

#[test]
fn ratings_from_a_known_truth_give_a_candidate_that_validates() {
    let (dir, cfg) = build(true);
    let out = dir.join("candidate.toml");
    let run = careload(&[
        "weights",
        "fit",
        "--from",
        "2026-10-05",
        "--to",
        "2026-11-08",
        "--out",
        s(&out),
        "--config",
        s(&cfg),
    ]);
    run.ok();
    let text = &run.stdout;
    assert!(text.contains("proposed: candidate weights 2026.1-fit-"), "{text}");
    assert!(text.contains(&format!("written to {}", out.display())), "{text}");
    assert!(text.contains("careload weights backtest --candidate"), "{text}");
    assert!(text.contains("w1"), "{text}");
    assert!(text.contains("held out"), "{text}");

    // the file: the one reader accepts it, `weights validate` too
    careload(&["weights", "validate", s(&out)]).ok();
    let written = std::fs::read_to_string(&out).expect("candidate");
    let candidate = Weights::from_toml(&written, "candidate").expect("valid");
    assert!(candidate.meta.version.starts_with("2026.1-fit-"));
    assert_eq!(candidate.meta.decided_by, "not decided: fitted by careload weights fit");
    assert!(
        candidate.meta.notes.contains("104 rated shifts"),
        "{}",
        candidate.meta.notes
    );
    assert!(candidate.meta.notes.contains("208 ratings"), "{}", candidate.meta.notes);
    assert!(
        written.contains("# THESE NUMBERS ARE A STARTING POINT"),
        "comments kept"
    );

    // the JSON of a second run: the scales, and the file equals the scaled weights in force
    let out2 = dir.join("candidate2.toml");
    let json = careload(&[
        "weights",
        "fit",
        "--from",
        "2026-10-05",
        "--to",
        "2026-11-08",
        "--out",
        s(&out2),
        "--config",
        s(&cfg),
        "--json",
    ]);
    let v = json.ok().json();
    assert_eq!(v["fit"]["proposes_change"], true, "{v:#}");
    assert_eq!(v["fit"]["shifts"], 104);
    let scale_of = |c: Component| -> f64 {
        v["fit"]["scales"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["component"] == c.key())
            .unwrap()["scale"]
            .as_f64()
            .unwrap()
    };
    let (basic, meds) = (scale_of(Component::BasicNursing), scale_of(Component::Medications));
    assert!(
        basic > 2.0 * meds,
        "the staff feel basic nursing four times the medications: {basic} vs {meds}"
    );
    for h in v["fit"]["held_out"].as_array().unwrap() {
        let (a, b) = (
            h["r_squared"]["in_force"].as_f64().unwrap(),
            h["r_squared"]["candidate"].as_f64().unwrap(),
        );
        assert!(b > a + 0.02, "held out: in force {a}, candidate {b}");
    }
    // components that never varied keep their weights exactly
    assert_eq!(scale_of(Component::Orders), 1.0);
    let mut scales = [Qty::ONE; 9];
    for (slot, c) in scales.iter_mut().zip(Component::ALL) {
        *slot = Qty::from_milli((scale_of(c) * 100.0).round() as i64 * 10);
    }
    let expected = Weights::built_in().unwrap().with_component_scales(&scales);
    let strip = |w: &Weights| -> Vec<(String, String)> {
        w.parameters()
            .into_iter()
            .filter(|(p, _)| !p.starts_with("meta."))
            .collect()
    };
    let second = Weights::from_toml(&std::fs::read_to_string(&out2).unwrap(), "second").unwrap();
    assert_eq!(strip(&second), strip(&expected));
    assert_eq!(v["written"], s(&out2));

    // never over an existing file
    let again = careload(&[
        "weights",
        "fit",
        "--from",
        "2026-10-05",
        "--to",
        "2026-11-08",
        "--out",
        s(&out),
        "--config",
        s(&cfg),
    ]);
    assert_ne!(again.code, Some(0));
    assert!(again.stderr.contains("never overwritten"), "{}", again.stderr);
}

#[test]
fn without_ratings_nothing_is_proposed_or_written() {
    let (dir, cfg) = build(false);
    let out = dir.join("candidate.toml");
    let run = careload(&[
        "weights",
        "fit",
        "--from",
        "2026-10-05",
        "--to",
        "2026-11-08",
        "--out",
        s(&out),
        "--config",
        s(&cfg),
    ]);
    run.ok();
    let text = &run.stdout;
    assert!(text.contains("no change proposed; no file written"), "{text}");
    assert!(text.contains("too_few_shifts: för få skattade pass: 0"), "{text}");
    assert!(text.contains("low_response_rate"), "{text}");
    assert!(!out.exists());
}

#[test]
fn the_help_says_what_to_run_next() {
    let run = careload(&["weights", "fit", "--help"]);
    run.ok();
    assert!(run.stdout.contains("careload weights backtest"), "{}", run.stdout);
    assert!(run.stdout.contains("careload weights activate"), "{}", run.stdout);
}
