//! The `careload` binary as a user runs it: arguments in, text and exit code out.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// The repository root.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

fn root_file(relative: &str) -> PathBuf {
    Path::new(ROOT).join(relative)
}

fn default_weights() -> PathBuf {
    root_file("weights/2026.1.toml")
}

fn default_weights_text() -> String {
    let path = default_weights();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn example_snapshots() -> PathBuf {
    root_file("examples/ward-snapshot.json")
}

/// What a run printed and how it ended.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// A path as an argument (the test paths are all UTF-8).
fn s(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
}

fn careload<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_careload"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run careload: {e}"));
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap_or_else(|e| panic!("output is not UTF-8: {e}"));
    Run {
        code: output.status.code(),
        stdout: text(output.stdout),
        stderr: text(output.stderr),
    }
}

/// A file under the system temp dir with a name no other test or run uses;
/// removed with its directory when dropped.
struct TempFile {
    dir: PathBuf,
    path: PathBuf,
}

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("careload-cli-test-{}-{n}", std::process::id()));
        let path = dir.join(name);
        std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&path, contents))
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        TempFile { dir, path }
    }
}

impl std::ops::Deref for TempFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whitespace collapsed to single spaces, line by line, so that table rows
/// can be compared without their padding.
fn squeezed_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The 1-based line of the `nth` (0-based) line of `text` containing `marker`.
fn line_of(text: &str, marker: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(marker))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{marker:?} not found"))
}

/// Points in JSON as exact thousandths.
fn milli(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 1000.0).round() as i64
}

// --- weights validate ------------------------------------------------------

#[test]
fn validate_accepts_the_default_weights() {
    let path = default_weights();
    let run = careload(&["weights", "validate", s(&path)]);
    run.ok();
    assert!(run.stdout.starts_with("ok: "), "{}", run.stdout);
    for expected in [
        "weights version 2026.1",
        "(format 1)",
        "effective from 2026-01-01",
        "digest ",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} missing from {}",
            run.stdout
        );
    }
}

/// A bad weights file: how to make it from the default, where the problem
/// is, and a phrase of the reason.
struct BadCase {
    name: &'static str,
    edit: fn(&str) -> String,
    /// The problem's line: the `nth` line containing `marker`, or line 1 when `marker` is empty.
    marker: &'static str,
    nth: usize,
    reason: &'static str,
}

const SHOWER_AGAIN: &str = "\n[activities.codes.shower]\nlabel = \"Shower again\"\nprofession = \"USK\"\n\
walks = 1\nwalks_with_help = 3\nwheelchair = 4\nbedridden = 5\n";

const BAD_CASES: &[BadCase] = &[
    BadCase {
        name: "unknown-key",
        edit: |s| {
            s.replace(
                "[activities.codes.shower]\n",
                "[activities.codes.shower]\ncolour = \"blue\"\n",
            )
        },
        marker: "colour = \"blue\"",
        nth: 0,
        reason: "`colour`",
    },
    BadCase {
        name: "negative-weight",
        edit: |s| s.replace("bedridden = 5\n", "bedridden = -5\n"),
        marker: "bedridden = -5",
        nth: 0,
        reason: "negative weight",
    },
    BadCase {
        name: "missing-norton-level",
        edit: |s| s.replace("bedridden = 5\n", ""),
        marker: "[activities.codes.shower]",
        nth: 0,
        reason: "`bedridden`",
    },
    BadCase {
        name: "duplicate-activity-code",
        edit: |s| format!("{s}{SHOWER_AGAIN}"),
        marker: "[activities.codes.shower]",
        nth: 1,
        reason: "shower",
    },
    BadCase {
        name: "bands-out-of-order",
        edit: |s| s.replace("{ from = 7, per_hour = 1 }", "{ from = 3, per_hour = 1 }"),
        marker: "{ from = 3,",
        nth: 0,
        reason: "ascending",
    },
    BadCase {
        name: "missing-format",
        edit: |s| s.replace("format = 1\n", ""),
        marker: "",
        nth: 0,
        reason: "`format`",
    },
];

#[test]
fn validate_refuses_bad_files_with_file_line_and_reason() {
    let original = default_weights_text();
    for case in BAD_CASES {
        let text = (case.edit)(&original);
        assert_ne!(text, original, "{}: the edit changed nothing", case.name);
        let path = TempFile::new(&format!("{}.toml", case.name), &text);
        let line = if case.marker.is_empty() {
            1
        } else {
            line_of(&text, case.marker, case.nth)
        };
        let run = careload(&["weights", "validate", s(&path)]);
        assert_eq!(run.code, Some(1), "{}: {}", case.name, run.stderr);
        assert!(run.stdout.is_empty(), "{}: {}", case.name, run.stdout);
        let location = format!("{}:{line}:", path.display());
        assert!(
            run.stderr.contains(&location),
            "{}: expected {location:?} in\n{}",
            case.name,
            run.stderr
        );
        assert!(
            run.stderr.contains(case.reason),
            "{}: expected {:?} in\n{}",
            case.name,
            case.reason,
            run.stderr
        );
    }
}

#[test]
fn a_file_that_cannot_be_read_is_named() {
    let missing = std::env::temp_dir().join("careload-cli-test-no-such-dir/weights.toml");
    let cases: [&[&str]; 3] = [
        &["weights", "validate", s(&missing)],
        &["weights", "show", s(&missing)],
        &["score", "--snapshots", s(&missing)],
    ];
    for args in cases {
        let run = careload(args);
        assert_eq!(run.code, Some(1), "{args:?}");
        assert!(
            run.stderr.contains(&missing.display().to_string()),
            "{args:?}: path missing from {}",
            run.stderr
        );
    }
}

// --- weights show ----------------------------------------------------------

#[test]
fn show_prints_every_section_with_known_rows() {
    let path = default_weights();
    let run = careload(&["weights", "show", s(&path)]);
    run.ok();
    let lines = squeezed_lines(&run.stdout);
    let expected_rows = [
        "code profession walks walks_with_help wheelchair bedridden label",
        "shower USK 1 3 4 5 Shower",
        "wound-care SSK 1 1 1.5 2 Wound care, dressing change",
        "intravenous 0.03 1",
        "continuous_one 10",
        "transfusion SSK 3 Blood transfusion",
        "palliative SSK 1.5 Palliative care plan",
        "F10 SSK 0.5 Alcohol use disorder (withdrawal monitoring)",
        "newly_admitted.floor_per_hour 2",
        "outlier.multiplier 1.1",
        "general 0.13 0.14",
    ];
    for row in expected_rows {
        assert!(
            lines.iter().any(|l| l == row),
            "row {row:?} missing from\n{}",
            run.stdout
        );
    }
}

#[test]
fn show_json_is_the_weights_model() {
    let path = default_weights();
    let json = careload(&["weights", "show", s(&path), "--json"]).json();
    assert_eq!(json["meta"]["version"], "2026.1");
    assert_eq!(json["format"], 1);
    let shower = json["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["code"] == "shower")
        .unwrap();
    assert_eq!(shower["points"], serde_json::json!([1, 3, 4, 5]));
}

// --- weights diff ----------------------------------------------------------

#[test]
fn diff_shows_exactly_what_changed() {
    let old = default_weights();
    let new_text = default_weights_text()
        .replace("version = \"2026.1\"", "version = \"2026.2\"")
        .replace("bedridden = 5\n", "bedridden = 6\n");
    let new = TempFile::new("2026.2.toml", &new_text);

    let run = careload(&["weights", "diff", s(&old), s(&new)]);
    run.ok();
    let lines = squeezed_lines(&run.stdout);
    assert!(
        lines[0].contains("2026.1") && lines[0].contains("2026.2"),
        "{}",
        lines[0]
    );
    // the header, the column names, one row per change, the summary
    assert_eq!(
        lines[1..],
        [
            "parameter old new",
            "activities.codes.shower.bedridden 5 6",
            "meta.version 2026.1 2026.2",
            "2 parameter changes in activities, meta",
        ],
        "{}",
        run.stdout
    );

    let json = careload(&["weights", "diff", s(&old), s(&new), "--json"]).json();
    assert_eq!(
        json["changes"],
        serde_json::json!([
            {"path": "activities.codes.shower.bedridden", "old": "5", "new": "6"},
            {"path": "meta.version", "old": "2026.1", "new": "2026.2"},
        ])
    );
    assert_eq!(json["old"]["version"], "2026.1");
    assert_eq!(json["new"]["version"], "2026.2");
}

#[test]
fn the_example_candidate_validates_and_changes_what_its_header_says() {
    let candidate = root_file("examples/weights-candidate.toml");
    careload(&["weights", "validate", s(&candidate)]).ok();
    let json = careload(&["weights", "diff", s(&default_weights()), s(&candidate), "--json"]).json();
    let changed: Vec<&str> = json["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["path"].as_str())
        .filter(|p| !p.starts_with("meta."))
        .collect();
    assert_eq!(
        changed,
        [
            "care_plans.palliative.per_hour",
            "medications.intravenous.per_administration",
            "modifiers.outlier.multiplier"
        ]
    );
}

#[test]
fn diff_marks_added_and_removed_parameters() {
    let old = default_weights();
    let new_text = default_weights_text().replace("[orders.ecg]", "[orders.ecg-12-lead]");
    let new = TempFile::new("renamed-order.toml", &new_text);
    let run = careload(&["weights", "diff", s(&old), s(&new)]);
    run.ok();
    let lines = squeezed_lines(&run.stdout);
    for row in [
        "orders.ecg.points 0.5 (removed)",
        "orders.ecg-12-lead.points (added) 0.5",
    ] {
        assert!(
            lines.iter().any(|l| l == row),
            "row {row:?} missing from\n{}",
            run.stdout
        );
    }
}

#[test]
fn diff_of_a_file_with_itself_has_no_changes() {
    let path = default_weights();
    let run = careload(&["weights", "diff", s(&path), s(&path)]);
    run.ok();
    assert!(run.stdout.contains("no parameter changes"), "{}", run.stdout);
}

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

// --- sim ---------------------------------------------------------------------

#[test]
fn sim_writes_ndjson_files_of_fhir_resources() {
    let out = TempFile::new("keep", "");
    let dir = out.dir.join("fhir");
    let run = careload(&[
        "sim",
        "--beds",
        "60",
        "--seed",
        "7",
        "--hours",
        "24",
        "--start",
        "2026-11-23T09:00:00Z",
        "--out",
        s(&dir),
        "--bundle",
    ]);
    run.ok();
    for expected in [
        "occupancy",
        "length of stay",
        "Norton activity",
        "outliers",
        "Observation",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} missing from {}",
            run.stdout
        );
    }
    for t in careload_sim::RESOURCE_TYPES {
        let path = dir.join(format!("{t}.ndjson"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = 0;
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{t}: {e}: {line}"));
            assert_eq!(v["resourceType"], t, "{line}");
            lines += 1;
        }
        assert!(lines > 0, "{t}.ndjson is empty");
        // the printed count is the number of lines
        let row = squeezed_lines(&run.stdout)
            .into_iter()
            .find(|l| l.starts_with(&format!("{t} ")))
            .unwrap_or_else(|| panic!("no count for {t}"));
        assert_eq!(row.split(' ').nth(1), Some(lines.to_string().as_str()), "{row}");
    }
    let bundle: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("bundle.json")).unwrap_or_else(|e| panic!("bundle.json: {e}")),
    )
    .unwrap_or_else(|e| panic!("bundle.json: {e}"));
    assert_eq!(bundle["type"], "transaction");
    // the scheduling system's plan: the simulated days and two ahead, local dates
    let csv = std::fs::read_to_string(dir.join("planned-staffing.csv")).expect("planned-staffing.csv");
    assert_eq!(
        csv.lines().next(),
        Some("ward;team;date;shift;profession;planned;absent")
    );
    let dates: std::collections::BTreeSet<&str> = csv.lines().skip(1).filter_map(|l| l.split(';').nth(2)).collect();
    assert_eq!(
        dates.into_iter().collect::<Vec<_>>(),
        ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26"]
    );
    assert!(
        run.stdout.contains("planned staffing (2026-11-23 to 2026-11-26)"),
        "{}",
        run.stdout
    );
}

#[test]
fn sim_serve_prints_its_base_url_and_answers_fhir_over_http() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut child = Command::new(env!("CARGO_BIN_EXE_careload"))
        .args(["sim", "serve", "--beds", "60", "--seed", "3", "--listen", "127.0.0.1:0"])
        .args(["--start", "2026-11-23T09:00:00Z"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines.next().unwrap().unwrap();
    let summary = lines.next().unwrap().unwrap();
    let authority = base
        .strip_prefix("http://")
        .and_then(|b| b.strip_suffix("/fhir"))
        .unwrap_or_else(|| panic!("{base}"));
    assert!(
        summary.contains("60 beds") && summary.contains("resources"),
        "{summary}"
    );
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "GET /fhir/metadata HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("\"fhirVersion\":\"4.0.1\""), "{reply}");
}

#[test]
fn sim_refuses_a_hospital_too_small_to_have_wards() {
    let run = careload(&["sim", "--beds", "10", "--out", "/nonexistent-never-written"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
}

#[test]
fn score_fhir_reads_the_simulators_ndjson_and_scores_every_inpatient() {
    let marker = TempFile::new("marker", "");
    let dir = marker.dir.join("fhir");
    let out = careload(&[
        "sim",
        "--beds",
        "60",
        "--seed",
        "3",
        "--hours",
        "24",
        "--out",
        s(&dir),
        "--start",
        "2026-11-23T09:00:00Z",
    ]);
    out.ok();
    let encounters = std::fs::read_to_string(dir.join("Encounter.ndjson")).unwrap_or_else(|e| panic!("{e}"));
    let in_progress = encounters
        .lines()
        .filter(|l| l.contains("\"status\":\"in-progress\""))
        .count();
    assert!(in_progress > 40, "{in_progress}");
    let run = careload(&[
        "score",
        "--fhir",
        s(&dir),
        "--format",
        "json",
        "--pseudonym-key-env",
        "CARELOAD_TEST_NO_SUCH_VAR",
    ]);
    run.ok();
    assert!(run.stderr.contains("PUBLIC development key"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("mapped {in_progress} patients")),
        "{}",
        run.stderr
    );
    let json = run.json();
    let patients = json["patients"].as_array().unwrap_or_else(|| panic!("no patients"));
    assert_eq!(patients.len(), in_progress);
    let sum: i64 = patients.iter().map(|p| milli(&p["score"]["total"])).sum();
    assert_eq!(milli(&json["rollup"]["hospital"]["total"]), sum);
    assert!(!run.stdout.contains("Testperson") && !run.stdout.contains("-TEST"));
}

#[test]
fn score_fhir_takes_a_regions_mapping_file() {
    let marker = TempFile::new("mapping", "");
    let dir = marker.dir.join("fhir");
    careload(&[
        "sim",
        "--beds",
        "48",
        "--seed",
        "5",
        "--hours",
        "6",
        "--out",
        s(&dir),
        "--start",
        "2026-11-23T09:00:00Z",
    ])
    .ok();
    let score = |mapping: &str| {
        let file = marker.dir.join("mapping.toml");
        std::fs::write(&file, mapping).unwrap_or_else(|e| panic!("{e}"));
        careload(&["score", "--fhir", s(&dir), "--format", "json", "--mapping", s(&file)])
    };
    // the defaults, written out as a file, map everyone
    let defaults = score("use_defaults = true\n");
    defaults.ok();
    let everyone = defaults.json()["patients"].as_array().map_or(0, Vec::len);
    assert!(everyone > 30, "{everyone}");
    // without the defaults no Location is known as a ward: nobody is on a ward
    let none = score("use_defaults = false\n");
    none.ok();
    assert_eq!(none.json()["patients"].as_array().map_or(usize::MAX, Vec::len), 0);
    // a broken mapping is refused with the file and the reason
    for (text, says) in [
        ("time_zone = \"Mars/Olympus\"\n", "not an IANA time zone"),
        ("colour = \"blue\"\n", "unknown field"),
        ("[routes]\n\"no-bar-here\" = \"oral\"\n", "system|code"),
    ] {
        let run = score(text);
        assert_eq!(run.code, Some(1), "{text}: {}", run.stderr);
        assert!(
            run.stderr.contains("mapping.toml") && run.stderr.contains(says),
            "{text}: {}",
            run.stderr
        );
    }
}

#[test]
fn score_needs_exactly_one_input() {
    let run = careload(&["score"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    let run = careload(&["score", "--snapshots", "a.json", "--fhir", "dir"]);
    assert_eq!(run.code, Some(2), "{}", run.stderr);
}

/// `careload sim serve` on a free port, killed when dropped.
struct Served {
    child: std::process::Child,
    base: String,
}

impl Served {
    fn start(args: &[&str]) -> Served {
        use std::io::{BufRead, BufReader};
        let mut child = Command::new(env!("CARGO_BIN_EXE_careload"))
            .args(["sim", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let base = BufReader::new(stdout)
            .lines()
            .next()
            .and_then(Result::ok)
            .unwrap_or_else(|| panic!("no base URL"));
        Served { child, base }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn score_fhir_url_fetches_from_a_server_and_equals_the_same_hospitals_ndjson() {
    let hospital = [
        "--beds",
        "60",
        "--seed",
        "3",
        "--hours",
        "6",
        "--start",
        "2026-11-23T09:00:00Z",
    ];
    let served = Served::start(&hospital);
    let marker = TempFile::new("rest", "");
    let dir = marker.dir.join("fhir");
    let mut args: Vec<&str> = vec!["sim", "--out", s(&dir)];
    args.extend(hospital);
    careload(&args).ok();
    let at = ["--at", "2026-11-23T15:00:00Z", "--format", "json"];
    let mut from_files = vec!["score", "--fhir", s(&dir)];
    from_files.extend(at);
    let files = careload(&from_files);
    files.ok();
    let mut from_server = vec!["score", "--fhir-url", served.base.as_str()];
    from_server.extend(at);
    let rest = careload(&from_server);
    rest.ok();
    assert!(
        rest.stderr.contains("fetched ") && rest.stderr.contains("requests"),
        "{}",
        rest.stderr
    );
    assert_eq!(rest.json()["patients"], files.json()["patients"]);
    assert!(
        !rest.json()["patients"]
            .as_array()
            .unwrap_or_else(|| panic!("no patients"))
            .is_empty()
    );
}

#[test]
fn score_takes_exactly_one_input_and_names_an_unset_token_variable() {
    let two = careload(&["score", "--fhir", "x", "--fhir-url", "http://127.0.0.1:1/fhir"]);
    assert_eq!(two.code, Some(2), "{}", two.stderr);
    let run = careload(&[
        "score",
        "--fhir-url",
        "http://127.0.0.1:1/fhir",
        "--token-env",
        "CARELOAD_TEST_NO_SUCH_TOKEN",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("CARELOAD_TEST_NO_SUCH_TOKEN"), "{}", run.stderr);
    let down = careload(&["score", "--fhir-url", "http://127.0.0.1:1/fhir"]);
    assert_eq!(down.code, Some(1), "{}", down.stderr);
    assert!(down.stderr.contains("http://127.0.0.1:1/fhir/"), "{}", down.stderr);
    assert!(!down.stderr.contains("panicked"), "{}", down.stderr);
}

/// A directory under the system temp dir no other test or run uses; removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("careload-cli-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A config reading FHIR files at `fhir` into a SQLite file in `dir`.
fn files_config(dir: &Path, fhir: &Path) -> String {
    format!(
        "[database]\nurl = \"sqlite://{}?mode=rwc\"\n\n[source]\nkind = \"files\"\npath = \"{}\"\npseudonym_key_env = \"CARELOAD_TEST_UNSET_PSEUDONYM_KEY\"\n",
        dir.join("careload.db").display(),
        fhir.display()
    )
}

#[test]
fn ingest_once_reads_files_scores_stores_and_prints_the_run() {
    let dir = TempDir::new("ingest-once");
    let fhir = dir.0.join("fhir");
    careload(&["sim", "--beds", "60", "--seed", "3", "--hours", "0", "--out", s(&fhir)]).ok();
    let config = dir.0.join("careload.toml");
    std::fs::write(&config, files_config(&dir.0, &fhir)).unwrap();

    // files exported from an EHR hold real patients: no public development key
    let refused = careload(&["ingest", "--once", "--config", s(&config)]);
    assert_ne!(refused.code, Some(0), "{}", refused.stdout);
    assert!(
        refused.stderr.contains("CARELOAD_TEST_UNSET_PSEUDONYM_KEY") && refused.stderr.contains("--insecure-dev-key"),
        "{}",
        refused.stderr
    );
    // these are the simulator's: a test system, said so
    let first = careload(&["ingest", "--once", "--insecure-dev-key", "--config", s(&config)]);
    first.ok();
    let run = first.json();
    assert_eq!(run["outcome"], "ok", "{run:#}\n{}", first.stderr);
    assert_eq!(run["source"], s(&fhir));
    assert!(run["finished_at"].is_string(), "{run:#}");
    assert!(run["report"]["error"].is_null(), "{run:#}");
    let counts = &run["report"]["counts"];
    assert!(counts["patients"].as_u64().unwrap_or(0) > 30, "{run:#}");
    assert!(counts["Encounter"].as_u64().unwrap_or(0) > 30, "{run:#}");
    assert_eq!(counts["full_fetch"], 1, "{run:#}");

    // a second run is a second record; the hour is rewritten, not doubled
    let second = careload(&["ingest", "--once", "--insecure-dev-key", "--config", s(&config)]);
    second.ok();
    assert_eq!(second.json()["id"].as_i64(), run["id"].as_i64().map(|id| id + 1));

    // the files gone: a failed run, recorded and printed, exit 1
    std::fs::remove_dir_all(&fhir).unwrap();
    let failed = careload(&["ingest", "--once", "--insecure-dev-key", "--config", s(&config)]);
    assert_eq!(failed.code, Some(1), "{}\n{}", failed.stdout, failed.stderr);
    let record = failed.json();
    assert_eq!(record["outcome"], "failed", "{record:#}");
    let error = record["report"]["error"].as_str().unwrap_or_default();
    assert!(error.contains(s(&fhir)), "{error}");
    assert!(
        failed.stderr.contains("failed") && failed.stderr.contains("previous hour stays current"),
        "{}",
        failed.stderr
    );
}

#[test]
fn a_broken_config_file_is_refused_with_file_and_line() {
    // (file, line of the problem, a word the message must name)
    let cases = [
        // an unknown key on line 3
        ("[database]\nurl = \"sqlite://x.db\"\ncolour = \"blue\"\n", 3, "colour"),
        // a wrong type on line 2
        ("[schedule]\nminute = \"five\"\n", 2, "five"),
        // not TOML at all on line 1
        ("[database\n", 1, ""),
    ];
    for (text, line, key) in cases {
        let file = TempFile::new("careload.toml", text);
        for command in [&["ingest", "--once", "--config"][..], &["serve", "--config"][..]] {
            let mut args: Vec<&str> = command.to_vec();
            args.push(s(&file));
            let run = careload(&args);
            assert_eq!(run.code, Some(1), "{args:?}\n{}", run.stderr);
            let at = format!("{}:{line}:", file.display());
            assert!(run.stderr.contains(&at), "expected {at} in:\n{}", run.stderr);
            assert!(run.stderr.contains(key), "expected {key} in:\n{}", run.stderr);
            assert!(run.stdout.is_empty(), "{}", run.stdout);
        }
    }
    // a config that names a missing file says which
    let run = careload(&["ingest", "--once", "--config", "/no/such/careload.toml"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("/no/such/careload.toml"), "{}", run.stderr);
}

#[test]
fn demo_check_backfills_serves_and_every_page_answers_200() {
    let dir = TempDir::new("demo");
    let db = dir.0.join("demo.db");
    // an earlier demo's store is replaced, not appended to
    careload(&[
        "demo",
        "--beds",
        "60",
        "--hours",
        "1",
        "--listen",
        "127.0.0.1:0",
        "--db",
        s(&db),
        "--check",
    ])
    .ok();
    let run = careload(&[
        "demo",
        "--beds",
        "60",
        "--seed",
        "2",
        "--hours",
        "3",
        "--listen",
        "127.0.0.1:0",
        "--db",
        s(&db),
        "--check",
    ]);
    run.ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let overview = lines
        .iter()
        .find(|l| l.starts_with("hospital overview: http://127.0.0.1:"));
    assert!(overview.is_some(), "{}", run.stdout);
    let screens = lines.iter().filter(|l| l.starts_with("ward screen:")).count();
    assert!(screens >= 6, "{}", run.stdout);
    let planning = lines.iter().filter(|l| l.starts_with("planning:")).count();
    assert_eq!(planning, screens, "a planning page per ward: {}", run.stdout);
    assert!(
        run.stdout.contains("bed coordinator:   http://127.0.0.1:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("/api/v1/hospital"), "{}", run.stdout);
    // the simulated scheduling system's plan went through the CSV import
    let imported = lines
        .iter()
        .find_map(|l| l.strip_prefix("planned staffing:  "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse::<u32>().ok());
    assert!(imported.is_some_and(|n| n > 0), "{}", run.stdout);
    let checked: Vec<&&str> = lines.iter().filter(|l| l.starts_with("200 http://")).collect();
    // overview, coordinator, a screen and a planning page per ward, the JSON API and its description
    assert_eq!(checked.len(), 2 * screens + 4, "{}", run.stdout);
    assert!(run.stdout.contains("answered 200"), "{}", run.stdout);
    assert!(run.stderr.contains("back-filled 3 hours"), "{}", run.stderr);
}

#[test]
fn demo_refuses_to_listen_beyond_loopback() {
    let run = careload(&["demo", "--listen", "0.0.0.0:8080", "--check"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("loopback"), "{}", run.stderr);
}

/// `mapping suggest` turns the codes careload did not use into a mapping
/// skeleton; filled in, it is what `score --mapping` reads.
#[test]
fn mapping_suggest_writes_a_skeleton_that_score_reads_once_filled_in() {
    let synthea = "/work/shared/fhir-examples/synthea-r4/Liz_Conn_27c911c6-f045-4ffa-af5d-6eba57ac94b2.json";
    let run = careload(&["mapping", "suggest", "--fhir", synthea]);
    run.ok();
    let text = run.stdout.clone();
    assert!(text.contains("[observations]"), "{text}");
    // body weight, most frequent, with its count
    let weight = text
        .lines()
        .find(|l| l.starts_with("# \"http://loinc.org|29463-7\" = \"\""))
        .unwrap_or_else(|| panic!("no body weight line:\n{text}"));
    assert!(
        weight.contains(" × Body Weight") || weight.contains(" × Body weight"),
        "{weight}"
    );
    assert!(text.contains("[diagnoses]"), "Synthea's SNOMED CT diagnoses: {text}");
    // the team fills in one line and uses the file
    let filled = text.replacen(
        "# \"http://loinc.org|29463-7\" = \"\"",
        "\"http://loinc.org|29463-7\" = \"temperature\"",
        1,
    );
    let file = TempFile::new("region.toml", &filled);
    let again = careload(&["mapping", "suggest", "--fhir", synthea, "--mapping", s(&file)]);
    again.ok();
    assert!(
        !again.stdout.contains("29463-7"),
        "a mapped code is no longer suggested"
    );
    let out = TempFile::new("skeleton.toml", "");
    careload(&["mapping", "suggest", "--fhir", synthea, "--out", s(&out)]).ok();
    assert_eq!(std::fs::read_to_string(&*out).unwrap(), text);
    // a target the table does not take is refused with the key named
    let wrong = text.replacen(
        "# \"http://loinc.org|29463-7\" = \"\"",
        "\"http://loinc.org|29463-7\" = \"weight\"",
        1,
    );
    let bad = TempFile::new("bad.toml", &wrong);
    let refused = careload(&["score", "--fhir", synthea, "--mapping", s(&bad)]);
    assert_ne!(refused.code, Some(0));
    assert!(refused.stderr.contains("29463-7"), "{}", refused.stderr);
}

/// A database URL's password never reaches a message.
#[test]
fn a_database_password_is_not_printed_when_the_store_cannot_be_opened() {
    let run = careload(&[
        "export",
        "--db",
        "postgres://careload:s3cret-pw@127.0.0.1:1/careload",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-02",
    ]);
    assert_ne!(run.code, Some(0));
    assert!(run.stderr.contains("careload:***@127.0.0.1:1"), "{}", run.stderr);
    assert!(
        !run.stderr.contains("s3cret") && !run.stdout.contains("s3cret"),
        "{}",
        run.stderr
    );
}

/// Runs the demo on `db` and checks that it refuses the file as not its own.
fn refused_as_not_the_demos(db: &Path) {
    let run = careload(&["demo", "--listen", "127.0.0.1:0", "--db", s(db), "--check"]);
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a store an earlier `careload demo` made"),
        "{}",
        run.stderr
    );
}

#[test]
fn demo_never_deletes_a_file_it_did_not_make() {
    let dir = TempDir::new("demo-foreign");
    let db = dir.0.join("prod.db");
    std::fs::write(&db, "data").unwrap();
    // a busy port is refused before the file is looked at
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().to_string();
    let run = careload(&["demo", "--listen", &port, "--db", s(&db), "--check"]);
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&db).unwrap(), "data");
    // a free port: the file is still not the demo's, so it is refused and kept
    refused_as_not_the_demos(&db);
    assert_eq!(std::fs::read_to_string(&db).unwrap(), "data");
    // nor is a careload store the service wrote
    std::fs::remove_file(&db).unwrap();
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        careload_store::Store::connect(&url).await.unwrap().close().await;
    });
    refused_as_not_the_demos(&db);
    // still the service's store: not replaced by a demo's (which the demo marks)
    rt.block_on(async {
        let store = careload_store::Store::open_existing(&url, careload_store::Access::ReadWrite)
            .await
            .unwrap();
        let entries = store.audit_entries(100).await.unwrap();
        assert!(entries.iter().all(|e| e.actor != "demo"), "{entries:?}");
        assert!(store.runs(10).await.unwrap().is_empty());
        store.close().await;
    });
}

/// Waits until the last connection to a SQLite store has closed, that is
/// until its WAL was checkpointed into the file and deleted (a pool's
/// `close` returns before its connection threads finish), so that the
/// file's bytes can be compared.
fn settled(db: &Path) {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let wal = PathBuf::from(wal);
    for _ in 0..200 {
        if !wal.exists() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} is still open after 10 s", db.display());
}

#[test]
fn reading_commands_refuse_a_missing_or_empty_store_and_create_nothing() {
    let dir = TempDir::new("read-only");
    let candidate = root_file("weights/2026.1.toml");
    let commands = |url: &str| {
        vec![
            careload(&["export", "--db", url, "--from", "2026-11-01", "--to", "2026-11-02"]),
            careload(&[
                "weights",
                "backtest",
                "--candidate",
                s(&candidate),
                "--db",
                url,
                "--from",
                "2026-11-01",
                "--to",
                "2026-11-02",
            ]),
        ]
    };
    // a misspelt path: refused, named, and no file appears
    let missing = dir.0.join("careload-typo.db");
    for run in commands(&format!("sqlite://{}?mode=rwc", missing.display())) {
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(run.stderr.contains("no history store at"), "{}", run.stderr);
        assert!(run.stderr.contains("careload-typo.db"), "{}", run.stderr);
        assert!(!missing.exists(), "a reading command created {}", missing.display());
    }
    // a store that holds no hour: refused, and left as it was
    let empty = dir.0.join("empty.db");
    let url = format!("sqlite://{}?mode=rwc", empty.display());
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        careload_store::Store::connect(&url).await.unwrap().close().await;
    });
    settled(&empty);
    let before = std::fs::read(&empty).unwrap();
    for run in commands(&url) {
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(run.stderr.contains("holds no hour yet"), "{}", run.stderr);
    }
    assert_eq!(
        std::fs::read(&empty).unwrap(),
        before,
        "a reading command wrote to the store"
    );
    // a file that is not a store at all
    let text = dir.0.join("notes.txt");
    std::fs::write(&text, "not a database").unwrap();
    for run in commands(&format!("sqlite://{}", text.display())) {
        assert_eq!(run.code, Some(1), "{}", run.stderr);
    }
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "not a database");
}

/// A GET over a fresh connection: the status line, or `None` when nothing answers in time.
fn http_status(addr: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.lines().next().map(str::to_owned)
}

/// With the EHR slow (it accepts connections and never answers) and no
/// hour stored yet, `serve` answers from its first second: alive, not
/// ready, no data yet — while the first run waits on the EHR beside it.
#[test]
fn serve_answers_from_the_first_second_while_the_first_run_waits_on_the_ehr() {
    let dir = TempDir::new("serve-first-second");
    // an EHR that takes connections and never answers
    let ehr = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ehr_addr = ehr.local_addr().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = free.local_addr().unwrap().to_string();
    drop(free);
    let config = dir.0.join("careload.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}?mode=rwc\"\n\n[source]\nkind = \"fhir\"\nurl = \"http://{ehr_addr}/fhir\"\nrequest_timeout_secs = 300\nrun_deadline_secs = 600\n\n[scoring]\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"{listen}\"\nopen = true\n",
            dir.0.join("careload.db").display()
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_careload"))
        .args(["serve", "--config", s(&config)])
        .env("CARELOAD_PSEUDONYM_KEY", "a-test-key-of-enough-bytes")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let mut health = None;
    while started.elapsed() < std::time::Duration::from_secs(20) {
        health = http_status(&listen, "/healthz");
        if health.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let ready = http_status(&listen, "/readyz");
    let hospital = http_status(&listen, "/api/v1/hospital");
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    drop(ehr);
    assert!(still_running, "serve exited");
    assert_eq!(health.as_deref(), Some("HTTP/1.1 200 OK"), "alive at once");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "answered while the first run still waits on the EHR (300 s timeout)"
    );
    assert_eq!(
        ready.as_deref(),
        Some("HTTP/1.1 503 Service Unavailable"),
        "not ready without data"
    );
    // the hospital route answers too (with no hour in it yet)
    assert!(
        hospital.is_some_and(|h| h.starts_with("HTTP/1.1 ")),
        "the hospital route answers"
    );
}
