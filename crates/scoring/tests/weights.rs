//! The weights file: the default loads, every past format keeps loading, and
//! each kind of mistake is refused with its line and what to do.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use careload_scoring::Points;
use careload_scoring::snapshot::{NortonActivity, Profession, Route, SupportLevel};
use careload_scoring::weights::{self, Weights};

const DEFAULT: &str = include_str!("../../../weights/2026.1.toml");
const FORMAT_1: &str = include_str!("fixtures/weights-format-1.toml");
const SIMPLE: &str = include_str!("fixtures/simple.toml");

fn load(text: &str) -> Weights {
    match Weights::from_toml(text, "test.toml") {
        Ok(w) => w,
        Err(e) => panic!("should load:\n{e}"),
    }
}

/// The 1-based line on which `needle` first appears.
fn line_of(text: &str, needle: &str) -> usize {
    let offset = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in text"));
    text[..offset].matches('\n').count() + 1
}

#[test]
fn the_default_weights_load_and_name_their_version() {
    let w = load(DEFAULT);
    assert_eq!(w.meta.version, "2026.1");
    assert_eq!(w.format, 1);
    assert_eq!(w.digest.len(), 64);
    assert!(w.activities.len() >= 15, "a useful catalogue of activities");
    assert!(w.care_plan("palliative").is_some());
    assert!(w.staff_hours.contains_key("general"));
    // palliative weighs more than any other care plan
    let palliative = w.care_plan("palliative").map(|c| c.points).unwrap_or_default();
    assert!(w.care_plans.iter().all(|c| c.points <= palliative));
}

#[test]
fn every_past_format_keeps_loading() {
    // fixtures/weights-format-1.toml is a frozen copy: never edit it
    let w = load(FORMAT_1);
    assert_eq!(w.format, 1);
    assert_eq!(w.meta.version, "2026.1");
}

#[test]
fn simple_weights_load_with_every_value_in_place() {
    let w = load(SIMPLE);
    let a = w.activity("a-usk").expect("a-usk");
    assert_eq!(a.profession, Profession::Usk);
    let levels: Vec<Points> = NortonActivity::ALL.iter().map(|&l| a.at(l)).collect();
    assert_eq!(levels, [1, 2, 3, 4].map(Points::whole));
    let per_admin: Vec<i64> = Route::ALL
        .iter()
        .map(|&r| w.medications.route(r).per_administration.milli())
        .collect();
    assert_eq!(per_admin, [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
    let support: Vec<i64> = SupportLevel::ALL
        .iter()
        .map(|&l| w.emotional_support.at(l).milli())
        .collect();
    assert_eq!(support, [0, 1000, 2000, 3000, 4000]);
    assert_eq!(w.news2.band_of(0), 0);
    assert_eq!(w.news2.band_of(4), 1);
    assert_eq!(w.news2.band_of(6), 2);
    assert_eq!(w.news2.band_of(20), 3);
    assert_eq!(w.modifiers.outlier.multiplier.milli(), 1500);
    assert_eq!(w.staff_hours["general"].ssk.milli(), 200);
}

#[test]
fn diagnosis_rules_match_the_longest_prefix_ignoring_dots_and_case() {
    let w = load(SIMPLE);
    let prefix = |code: &str| w.diagnosis_rule(code).map(|i| w.diagnoses[i].prefix.clone());
    let cases = [
        ("F32.1", Some("F")),
        ("F10.2", Some("F10")),
        ("f102", Some("F10")),
        ("F1", Some("F")),
        ("I10", None),
        ("", None),
    ];
    for (code, expected) in cases {
        assert_eq!(prefix(code).as_deref(), expected, "{code}");
    }
}

/// One broken file: how it is broken, the text on the offending line, and a
/// phrase the message must contain.
struct Bad {
    name: &'static str,
    edit: fn(&str) -> String,
    line_with: &'static str,
    says: &'static str,
}

fn replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the default file");
    text.replacen(from, to, 1)
}

#[test]
fn each_kind_of_mistake_is_refused_with_its_line() {
    let cases = [
        Bad {
            name: "unknown key",
            edit: |t| {
                replace(
                    t,
                    "[activities.codes.shower]\n",
                    "[activities.codes.shower]\ncolour = \"blue\"\n",
                )
            },
            line_with: "colour = \"blue\"",
            says: "unknown field `colour`",
        },
        Bad {
            name: "misspelt route",
            edit: |t| replace(t, "[medications.rectal]", "[medications.rectall]"),
            line_with: "[medications.rectall]",
            says: "unknown field `rectall`",
        },
        Bad {
            name: "negative weight",
            edit: |t| replace(t, "walks = 1\nwalks_with_help = 3", "walks = -1\nwalks_with_help = 3"),
            line_with: "walks = -1",
            says: "negative weight -1",
        },
        Bad {
            name: "more than three decimals",
            edit: |t| replace(t, "per_measurement = 0.5", "per_measurement = 0.1234"),
            line_with: "per_measurement = 0.1234",
            says: "three decimals",
        },
        Bad {
            name: "missing Norton level",
            edit: |t| replace(t, "wheelchair = 4\nbedridden = 5\n", "wheelchair = 4\n"),
            line_with: "[activities.codes.shower]",
            says: "missing field `bedridden`",
        },
        Bad {
            name: "missing route",
            edit: |t| {
                replace(
                    t,
                    "[medications.topical]\nper_order_hour = 0.005\nper_administration = 0.3\n",
                    "",
                )
            },
            line_with: "[medications]",
            says: "missing field `topical`",
        },
        Bad {
            name: "missing emotional-support level",
            edit: |t| replace(t, "continuous_more = 20\n", ""),
            line_with: "[emotional_support]",
            says: "missing field `continuous_more`",
        },
        Bad {
            name: "duplicate activity code",
            edit: |t| {
                format!(
                    "{t}\n[activities.codes.shower]\nprofession = \"USK\"\nwalks = 1\nwalks_with_help = 1\nwheelchair = 1\nbedridden = 1\n"
                )
            },
            line_with: "\n[activities.codes.shower]\nprofession = \"USK\"\nwalks = 1\nwalks_with_help = 1",
            says: "`shower` appears twice",
        },
        Bad {
            name: "duplicate diagnosis prefix",
            edit: |t| format!("{t}\n[[diagnoses]]\nprefix = \"f10\"\nprofession = \"SSK\"\nper_hour = 0.2\n"),
            line_with: "prefix = \"f10\"",
            says: "listed twice",
        },
        Bad {
            name: "NEWS2 bands out of order",
            edit: |t| replace(t, "{ from = 5, per_hour = 0.5 }", "{ from = 1, per_hour = 0.5 }"),
            line_with: "{ from = 1, per_hour = 0.5 }",
            says: "ascending order",
        },
        Bad {
            name: "first NEWS2 band above 0",
            edit: |t| replace(t, "{ from = 0, per_hour = 0 },", ""),
            line_with: "{ from = 1, per_hour = 0.1 }",
            says: "must start at `from = 0`",
        },
        Bad {
            name: "NEWS2 band above 20",
            edit: |t| {
                replace(
                    t,
                    "{ from = 7, per_hour = 1 },",
                    "{ from = 7, per_hour = 1 },\n  { from = 21, per_hour = 2 },",
                )
            },
            line_with: "from = 21",
            says: "above 20",
        },
        Bad {
            name: "unknown profession",
            edit: |t| {
                replace(
                    t,
                    "label = \"Shower\"\nprofession = \"USK\"",
                    "label = \"Shower\"\nprofession = \"nurse\"",
                )
            },
            line_with: "profession = \"nurse\"",
            says: "unknown variant `nurse`",
        },
        Bad {
            name: "effective date with a time",
            edit: |t| replace(t, "effective_from = 2026-01-01", "effective_from = 2026-01-01T08:00:00"),
            line_with: "effective_from",
            says: "date without time",
        },
        Bad {
            name: "empty council reference",
            edit: |t| {
                replace(
                    t,
                    "meeting_reference = \"none: starting point for a council to replace\"",
                    "meeting_reference = \" \"",
                )
            },
            line_with: "meeting_reference",
            says: "meeting_reference` is empty",
        },
        Bad {
            name: "outlier multiplier below 1",
            edit: |t| replace(t, "multiplier = 1.1", "multiplier = 0.9"),
            line_with: "multiplier = 0.9",
            says: "between 1",
        },
        Bad {
            name: "zero documentation items",
            edit: |t| replace(t, "full_documentation_items = 15", "full_documentation_items = 0"),
            line_with: "full_documentation_items = 0",
            says: "must be 1 or more",
        },
        Bad {
            name: "no format tag",
            edit: |t| replace(t, "format = 1\n", ""),
            line_with: "# careload weights",
            says: "start the file with `format = 1`",
        },
        Bad {
            name: "a format from the future",
            edit: |t| replace(t, "format = 1\n", "format = 7\n"),
            line_with: "format = 7",
            says: "unknown weights file format 7",
        },
        Bad {
            name: "not TOML at all",
            edit: |t| replace(t, "[news2]", "[news2"),
            line_with: "[news2",
            says: "",
        },
        Bad {
            name: "string where a number belongs",
            edit: |t| replace(t, "per_measurement = 0.5", "per_measurement = \"half\""),
            line_with: "per_measurement = \"half\"",
            says: "invalid type",
        },
    ];
    for case in cases {
        let text = (case.edit)(DEFAULT);
        let err = match Weights::from_toml(&text, "weights/broken.toml") {
            Ok(_) => panic!("{}: accepted a broken file", case.name),
            Err(e) => e,
        };
        let expected_line = line_of(&text, case.line_with) + case.line_with.starts_with('\n') as usize;
        let message = err.to_string();
        assert!(
            err.problems.iter().any(|p| p.line == Some(expected_line)),
            "{}: expected line {expected_line}, got:\n{message}",
            case.name
        );
        assert!(
            message.contains(case.says),
            "{}: expected {:?} in:\n{message}",
            case.name,
            case.says
        );
        assert!(
            message.starts_with(&format!("weights/broken.toml:{expected_line}:")),
            "{}: message names the file and line:\n{message}",
            case.name
        );
    }
}

#[test]
fn several_problems_are_reported_together() {
    let text = DEFAULT.replacen("multiplier = 1.1", "multiplier = 0.5", 1).replacen(
        "full_documentation_items = 15",
        "full_documentation_items = 0",
        1,
    );
    let err = Weights::from_toml(&text, "w.toml").expect_err("two problems");
    assert_eq!(err.problems.len(), 2, "{err}");
}

#[test]
fn diff_lists_exactly_what_changed() {
    let old = load(DEFAULT);
    let edited = DEFAULT
        .replacen("version = \"2026.1\"", "version = \"2027.1\"", 1)
        .replacen("[care_plans.palliative]\nlabel = \"Palliative care plan\"\nprofession = \"SSK\"\nper_hour = 1.5", "[care_plans.palliative]\nlabel = \"Palliative care plan\"\nprofession = \"SSK\"\nper_hour = 2", 1)
        .replacen("[orders.consultation]\nlabel = \"Consultation by another profession or specialty\"\nprofession = \"SSK\"\npoints = 0.5\n", "", 1);
    let new = load(&edited);
    let changes = weights::diff(&old, &new);
    let summary: Vec<(String, Option<String>, Option<String>)> =
        changes.into_iter().map(|c| (c.path, c.old, c.new)).collect();
    let s = |x: &str| Some(x.to_owned());
    assert_eq!(
        summary,
        vec![
            ("care_plans.palliative.per_hour".to_owned(), s("1.5"), s("2")),
            ("meta.version".to_owned(), s("2026.1"), s("2027.1")),
            ("orders.consultation.points".to_owned(), s("0.5"), None),
            ("orders.consultation.profession".to_owned(), s("SSK"), None),
        ]
    );
    assert!(weights::diff(&old, &old).is_empty());
}

#[test]
fn parameters_cover_every_weight() {
    let w = load(SIMPLE);
    let params = w.parameters();
    let paths: Vec<&str> = params.iter().map(|(p, _)| p.as_str()).collect();
    for expected in [
        "activities.codes.a-usk.bedridden",
        "medications.enteral.per_administration",
        "news2.bands.from_7.per_hour",
        "emotional_support.continuous_more",
        "orders.lab.points",
        "care_plans.palliative.per_hour",
        "diagnoses.F10.per_hour",
        "modifiers.newly_admitted.floor_per_hour",
        "modifiers.outlier.multiplier",
        "staff_hours.general.SSK",
    ] {
        assert!(paths.contains(&expected), "{expected} missing from parameters()");
    }
    // paths are unique, so a diff can key on them
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), paths.len());
}
