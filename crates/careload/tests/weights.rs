//! `careload weights validate`, `show` and `diff` as a user runs them: the
//! council's file accepted, bad files refused with file, line and reason,
//! every section shown, and exactly what changed between two versions.

mod common;

use common::{TempFile, careload, default_weights, default_weights_text, line_of, root_file, s, squeezed_lines};

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
