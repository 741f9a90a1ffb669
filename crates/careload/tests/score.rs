//! `careload news2` and `careload score` over snapshot files as a user runs
//! them: NEWS2 totals and risk levels, the score table and its JSON (totals
//! that add up), windows, explicit weights, and bad input refused.

mod common;

use serde_json::Value;

use common::{TempFile, careload, default_weights, default_weights_text, example_snapshots, milli, s, squeezed_lines};

// --- news2 -----------------------------------------------------------------

struct News2Case {
    name: &'static str,
    args: &'static [&'static str],
    total: u64,
    risk: &'static str,
}

const NEWS2_CASES: &[News2Case] = &[
    News2Case {
        name: "normal",
        args: &[
            "--rr", "16", "--spo2", "97", "--air", "--sbp", "125", "--hr", "72", "--acvpu", "A", "--temp", "36.8",
        ],
        total: 0,
        risk: "low",
    },
    News2Case {
        // rr 3, SpO2 3, oxygen 2, sbp 2, pulse 2, voice 3, temperature 2
        name: "sick",
        args: &[
            "--rr", "26", "--spo2", "90", "--oxygen", "--sbp", "95", "--hr", "125", "--acvpu", "V", "--temp", "39.2",
        ],
        total: 17,
        risk: "high",
    },
    News2Case {
        // a single red score (new confusion) with an otherwise normal chart
        name: "red score",
        args: &[
            "--rr", "16", "--spo2", "97", "--air", "--sbp", "125", "--hr", "72", "--acvpu", "c", "--temp", "36.8",
        ],
        total: 3,
        risk: "low-medium",
    },
    News2Case {
        // rr 2, SpO2 1, sbp 1, pulse 1, temperature 1
        name: "medium",
        args: &[
            "--rr", "22", "--spo2", "95", "--air", "--sbp", "105", "--hr", "104", "--acvpu", "A", "--temp", "38.4",
        ],
        total: 6,
        risk: "medium",
    },
    News2Case {
        // scale 2 on oxygen: 95 % scores 2, oxygen 2
        name: "scale 2 on oxygen",
        args: &[
            "--rr", "18", "--spo2", "95", "--scale2", "--oxygen", "--sbp", "130", "--hr", "80", "--acvpu", "A",
            "--temp", "37",
        ],
        total: 4,
        risk: "low",
    },
    News2Case {
        // scale 2 on air: 95 % scores nothing
        name: "scale 2 on air",
        args: &[
            "--rr", "18", "--spo2", "95", "--scale2", "--air", "--sbp", "130", "--hr", "80", "--acvpu", "A", "--temp",
            "37",
        ],
        total: 0,
        risk: "low",
    },
];

#[test]
fn news2_totals_and_risk_levels() {
    for case in NEWS2_CASES {
        let run = careload(&[&["news2"], case.args].concat());
        run.ok();
        let last = run.stdout.lines().last().unwrap_or_default();
        let expected = format!("NEWS2 {}: {} clinical risk", case.total, case.risk);
        assert!(last.starts_with(&expected), "{}: {last:?}", case.name);
        let total_row = squeezed_lines(&run.stdout)
            .into_iter()
            .find(|l| l.starts_with("total "))
            .unwrap_or_default();
        assert_eq!(total_row, format!("total {}", case.total), "{}", case.name);

        let json = careload(&[&["news2"], case.args, &["--json"]].concat()).json();
        assert_eq!(json["total"], case.total, "{}", case.name);
        assert_eq!(json["risk"], case.risk.replace('-', "_"), "{}", case.name);
        let sum: u64 = json["parameters"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p["points"].as_u64().unwrap())
            .sum();
        assert_eq!(sum, case.total, "{}: parameters add up to the total", case.name);
    }
}

#[test]
fn news2_refuses_incomplete_or_contradictory_input() {
    let vitals = [
        "--rr", "16", "--spo2", "97", "--sbp", "125", "--hr", "72", "--temp", "36.8",
    ];
    let cases: [(&str, &[&str], &str); 4] = [
        ("neither air nor oxygen", &["--acvpu", "A"], "--oxygen"),
        (
            "both air and oxygen",
            &["--acvpu", "A", "--air", "--oxygen"],
            "cannot be used",
        ),
        (
            "unknown consciousness letter",
            &["--acvpu", "X", "--air"],
            "A, C, V, P, U",
        ),
        ("no consciousness", &["--air"], "--acvpu"),
    ];
    for (name, extra, phrase) in cases {
        let run = careload(&[&["news2"], &vitals[..], extra].concat());
        assert_ne!(run.code, Some(0), "{name}");
        assert!(run.stdout.is_empty(), "{name}: {}", run.stdout);
        assert!(
            run.stderr.contains(phrase),
            "{name}: {phrase:?} missing from {}",
            run.stderr
        );
    }
}

// --- score -----------------------------------------------------------------

fn score_json(extra: &[&str]) -> Value {
    let snapshots = example_snapshots();
    let mut args: Vec<&str> = vec!["score", "--snapshots", s(&snapshots)];
    args.extend(extra);
    args.extend(["--format", "json"]);
    let run = careload(&args);
    run.ok();
    run.json()
}

#[test]
fn score_table_shows_every_patient_their_contributions_and_the_totals() {
    let snapshots = example_snapshots();
    let input: Value = serde_json::from_str(&std::fs::read_to_string(&snapshots).unwrap()).unwrap();
    let run = careload(&["score", "--snapshots", s(&snapshots)]);
    run.ok();
    for patient in input.as_array().unwrap() {
        let key = patient["key"].as_str().unwrap();
        assert!(run.stdout.contains(&key[..8]), "patient {key} missing");
        assert!(!run.stdout.contains(key), "the full pseudonym is not shown");
    }
    for expected in [
        "weights/2026.1.toml (built in)",
        "= 4 × 1",
        "activities.codes.personal-hygiene.bedridden",
        "(Task/t-101)",
        "care_plans.palliative.per_hour",
        "modifiers.outlier.multiplier",
        "modifiers.newly_admitted.extra_per_hour",
        "(computed)",
        "unmatched",
        "ADL (shown, not scored)",
        "hospital",
        "team A",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} missing from\n{}",
            run.stdout
        );
    }
}

#[test]
fn score_json_totals_are_sums_of_patients() {
    let json = score_json(&[]);
    let patients = json["patients"].as_array().unwrap();
    assert_eq!(patients.len(), 8);
    let rollup = &json["rollup"];

    let total_of = |p: &Value| milli(&p["score"]["total"]);
    let hospital: i64 = patients.iter().map(total_of).sum();
    assert_eq!(milli(&rollup["hospital"]["total"]), hospital);
    assert_eq!(rollup["hospital"]["patients"], patients.len());

    let wards = rollup["wards"].as_object().unwrap();
    assert_eq!(wards.len(), 2);
    for (ward, w) in wards {
        let in_ward: Vec<&Value> = patients.iter().filter(|p| p["ward"] == ward.as_str()).collect();
        assert_eq!(w["totals"]["patients"], in_ward.len(), "{ward}");
        let sum: i64 = in_ward.iter().map(|p| total_of(p)).sum();
        assert_eq!(milli(&w["totals"]["total"]), sum, "{ward}");
        for (team, t) in w["teams"].as_object().unwrap() {
            let sum: i64 = in_ward
                .iter()
                .filter(|p| p["team"] == team.as_str())
                .map(|p| total_of(p))
                .sum();
            assert_eq!(milli(&t["total"]), sum, "{ward} team {team}");
        }
    }

    for p in patients {
        let score = &p["score"];
        let contributions: i64 = score["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| milli(&c["points"]))
            .sum();
        assert_eq!(
            contributions,
            total_of(p),
            "{}: total is the sum of contributions",
            p["key"]
        );
        let split = milli(&score["professions"]["usk"]) + milli(&score["professions"]["ssk"]);
        assert_eq!(split, total_of(p), "{}: USK + SSK is the total", p["key"]);
    }
    assert!(rollup["hospital"]["unmatched"].as_u64().unwrap() >= 1);
}

#[test]
fn score_windows_follow_at_and_hours() {
    let json = score_json(&["--at", "2026-11-23T10:00:00+01:00", "--hours", "8"]);
    for p in json["patients"].as_array().unwrap() {
        assert_eq!(p["score"]["window"]["start"], "2026-11-23T09:00:00Z");
        assert_eq!(p["score"]["window"]["end"], "2026-11-23T17:00:00Z");
    }
    let default = score_json(&[]);
    for p in default["patients"].as_array().unwrap() {
        assert_eq!(p["score"]["window"]["start"], "2026-11-23T09:05:00Z");
    }
    let eight_hours = milli(&json["rollup"]["hospital"]["total"]);
    let one_hour = milli(&default["rollup"]["hospital"]["total"]);
    assert!(eight_hours > one_hour, "{eight_hours} > {one_hour}");
}

#[test]
fn score_with_explicit_weights_names_them() {
    let weights = default_weights();
    let json = score_json(&["--weights", s(&weights)]);
    assert_eq!(json["weights"]["version"], "2026.1");
    assert_eq!(json["weights"]["origin"], weights.display().to_string());
    assert_eq!(json["weights"]["digest"], score_json(&[])["weights"]["digest"]);
}

#[test]
fn score_refuses_bad_input() {
    let snapshots = example_snapshots();
    let bad_weights = TempFile::new(
        "negative.toml",
        &default_weights_text().replace("bedridden = 5\n", "bedridden = -5\n"),
    );
    let not_snapshots = TempFile::new("not-snapshots.json", "{\"patients\": []}");
    let cases: [(&str, Vec<&str>, i32, String); 4] = [
        (
            "bad weights",
            vec!["--snapshots", s(&snapshots), "--weights", s(&bad_weights)],
            1,
            format!("{}:", bad_weights.display()),
        ),
        (
            "not snapshots",
            vec!["--snapshots", s(&not_snapshots)],
            1,
            not_snapshots.display().to_string(),
        ),
        (
            "zero hours",
            vec!["--snapshots", s(&snapshots), "--hours", "0"],
            2,
            "--hours".to_owned(),
        ),
        (
            "bad time",
            vec!["--snapshots", s(&snapshots), "--at", "tomorrow"],
            2,
            "RFC 3339".to_owned(),
        ),
    ];
    for (name, args, code, phrase) in cases {
        let run = careload(&[vec!["score"], args].concat());
        assert_eq!(run.code, Some(code), "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains(&phrase),
            "{name}: {phrase:?} missing from {}",
            run.stderr
        );
    }
}
