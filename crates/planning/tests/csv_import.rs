//! Planned-staffing CSV import: good files in their variants, and bad files
//! refused whole with every bad row named by its line.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use std::collections::{BTreeMap, BTreeSet};

use careload_planning::{Error, ImportRules, KnownTeam, PlannedStaffing, parse_planned_csv};
use careload_scoring::snapshot::Profession;
use chrono::NaiveDate;

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

fn ok(text: &[u8]) -> Vec<PlannedStaffing> {
    match parse_planned_csv(text, &ImportRules::default()) {
        Ok(rows) => rows,
        Err(e) => panic!("refused: {e}"),
    }
}

/// The (line, message fragment) pairs of a refused file.
fn bad(text: &[u8], rules: &ImportRules) -> Vec<(usize, String)> {
    match parse_planned_csv(text, rules) {
        Ok(rows) => panic!("imported {} rows from a bad file", rows.len()),
        Err(Error::Csv { rows }) => rows.into_iter().map(|r| (r.line, r.message)).collect(),
        Err(e) => panic!("wrong error: {e}"),
    }
}

#[test]
fn semicolon_file_with_bom_and_crlf() {
    let text = "\u{feff}ward;team;date;shift;profession;planned;absent\r\n\
                MED1;Lag A;2026-11-24;day;USK;3;1\r\n\
                MED1;;2026-11-24;Night;ssk;2;\r\n\
                \r\n\
                ;;;;;;\r\n";
    let rows = ok(text.as_bytes());
    assert_eq!(
        rows,
        vec![
            PlannedStaffing {
                ward: "MED1".into(),
                team: Some("Lag A".into()),
                date: date("2026-11-24"),
                shift: "day".into(),
                profession: Profession::Usk,
                planned: 3,
                absent: 1,
            },
            PlannedStaffing {
                ward: "MED1".into(),
                team: None,
                date: date("2026-11-24"),
                shift: "night".into(),
                profession: Profession::Ssk,
                planned: 2,
                absent: 0,
            },
        ]
    );
}

#[test]
fn comma_file_with_quotes_swedish_header_and_no_absent_column() {
    let text = "Avdelning,Lag,Datum,Pass,Yrke,Planerade\n\
                MED1,\"Lag A, norr\",2026-11-24,evening,undersköterska,4\n\
                MED1,\"Lag \"\"B\"\"\",2026-11-24,evening,Sjuksköterska,2\n";
    let rows = ok(text.as_bytes());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].team.as_deref(), Some("Lag A, norr"));
    assert_eq!(rows[1].team.as_deref(), Some("Lag \"B\""));
    assert_eq!(
        (rows[1].profession, rows[1].planned, rows[1].absent),
        (Profession::Ssk, 2, 0)
    );
}

#[test]
fn every_bad_row_is_reported_by_line_and_nothing_is_imported() {
    let text = "ward;team;date;shift;profession;planned;absent\n\
                MED1;A;2026-11-24;day;USK;3;0\n\
                MED1;A;24/11/2026;day;USK;3;0\n\
                MED1;A;2026-11-24;late;USK;3;0\n\
                MED1;A;2026-11-24;day;nurse;3;0\n\
                MED1;A;2026-11-24;day;SSK;three;0\n\
                MED1;A;2026-11-24;evening;SSK;2;3\n\
                ;A;2026-11-24;night;SSK;2;0\n\
                MED1;A;2026-11-24;day\n\
                MED1;A;2026-11-24;day;USK;4;0\n\
                MED1;\"B\nnorth\";2026-11-24;night;USK;-1;0\n\
                MED1;B;2026-11-24;night;SSK;1000;0\n";
    let errors = bad(text.as_bytes(), &ImportRules::default());
    let expected: [(usize, &str); 10] = [
        (3, "date \"24/11/2026\" is not a date; send it as YYYY-MM-DD"),
        (4, "shift \"late\" is not known; send one of: day, evening, night"),
        (5, "profession \"nurse\" is not known; send USK or SSK"),
        (6, "planned \"three\" is not a whole number"),
        (7, "absent 3 is more than planned 2"),
        (8, "ward is empty"),
        (9, "has 4 fields, the header has 7"),
        (10, "repeats line 2"),
        // the quoted team spans lines 11–12; the row is reported at the line it starts on
        (11, "planned \"-1\" is not a whole number"),
        (
            13,
            "planned \"1000\" is not a whole number of people; send a number from 0 to 999",
        ),
    ];
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for ((line, message), (want_line, want)) in errors.iter().zip(expected) {
        assert_eq!(*line, want_line, "{message}");
        assert!(message.contains(want), "line {line}: {message:?} lacks {want:?}");
    }
}

#[test]
fn bad_headers_and_files() {
    let rules = ImportRules::default();
    type Case<'a> = (&'a [u8], &'a [(usize, &'a str)]);
    let cases: [Case; 6] = [
        (b"", &[(1, "the file is empty")]),
        (
            b"ward;team;date;shift;profesion;planned\nMED1;A;2026-11-24;day;USK;3\n",
            &[
                (1, "unknown column \"profesion\""),
                (1, "the header has no \"profession\" column"),
            ],
        ),
        (
            b"ward;ward;team;date;shift;profession;planned\n",
            &[(1, "column \"ward\" appears twice")],
        ),
        (
            b"ward;team;date;shift;profession;planned\nMED1;A;2026-11-24;day;USK;3\nMED1;\xffB;2026-11-24;day;SSK;2\n",
            &[(3, "the file is not UTF-8")],
        ),
        (
            b"ward;team;date;shift;profession;planned\nMED1;\"A;2026-11-24;day;USK;3\n",
            &[(2, "a quoted field is never closed")],
        ),
        (
            b"ward;team;date;shift;profession;planned\nMED1;\"A\"x;2026-11-24;day;USK;3\n",
            &[(2, "text after a closing quote")],
        ),
    ];
    for (text, expected) in cases {
        let errors = bad(text, &rules);
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for ((line, message), (want_line, want)) in errors.iter().zip(expected.iter()) {
            assert_eq!(line, want_line, "{message}");
            assert!(message.contains(want), "{message:?} lacks {want:?}");
        }
    }
}

#[test]
fn wards_and_shifts_are_checked_against_the_rules() {
    let rules = ImportRules {
        shifts: vec!["dag".into(), "natt".into()],
        wards: Some(BTreeSet::from(["MED1".to_owned(), "KIR2".to_owned()])),
        teams: None,
    };
    let text = "ward;team;date;shift;profession;planned\n\
                KIR2;;2026-11-24;DAG;USK;3\n\
                ORT3;;2026-11-24;dag;USK;3\n";
    let errors = bad(text.as_bytes(), &rules);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, 3);
    assert!(
        errors[0]
            .1
            .contains("ward \"ORT3\" is not known; send one of: KIR2, MED1"),
        "{}",
        errors[0].1
    );
    let good = "ward;team;date;shift;profession;planned\nKIR2;;2026-11-24;DAG;USK;3\n";
    let rows = parse_planned_csv(good.as_bytes(), &rules).expect("imports");
    assert_eq!(rows[0].shift, "dag");
}

#[test]
fn teams_are_known_teams_by_id_or_display_name_and_stored_by_id() {
    let team = |id: &str, names: &[&str]| KnownTeam {
        id: id.into(),
        names: names.iter().map(|n| (*n).to_owned()).collect(),
    };
    let rules = ImportRules {
        wards: Some(BTreeSet::from(["w01".to_owned(), "w02".to_owned(), "w03".to_owned()])),
        teams: Some(BTreeMap::from([
            ("w01".to_owned(), vec![team("w01-a", &["Lag A"]), team("w01-b", &[])]),
            ("w02".to_owned(), vec![]),
        ])),
        ..ImportRules::default()
    };
    let good = "ward;team;date;shift;profession;planned\n\
                w01;Lag A;2026-11-24;day;USK;3\n\
                w01; lag a ;2026-11-24;day;SSK;1\n\
                w01;W01-B;2026-11-24;day;USK;2\n\
                w01;;2026-11-24;night;USK;2\n\
                w02;*;2026-11-24;night;USK;2\n";
    let rows = parse_planned_csv(good.as_bytes(), &rules).expect("imports");
    let teams: Vec<Option<&str>> = rows.iter().map(|r| r.team.as_deref()).collect();
    assert_eq!(teams, [Some("w01-a"), Some("w01-a"), Some("w01-b"), None, None]);
    // `w01;Lag X` would never match careload's w01-a: refused, naming the known teams
    let text = "ward;team;date;shift;profession;planned\n\
                w01;Lag X;2026-11-24;day;USK;3\n\
                w02;Lag A;2026-11-24;day;USK;3\n\
                w03;Lag A;2026-11-24;day;USK;3\n\
                w09;Lag A;2026-11-24;day;USK;3\n";
    let errors = bad(text.as_bytes(), &rules);
    let lines: Vec<usize> = errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [2, 3, 4, 5], "{errors:#?}");
    assert!(
        errors[0]
            .1
            .contains("team \"Lag X\" is not a team of ward \"w01\"; send one of: w01-a (Lag A), w01-b"),
        "{}",
        errors[0].1
    );
    assert!(errors[1].1.contains("has no teams careload knows"), "{}", errors[1].1);
    assert!(errors[2].1.contains("has no teams careload knows"), "{}", errors[2].1);
    assert!(
        errors[3].1.contains("ward \"w09\" is not known") && !errors[3].1.contains("team"),
        "an unknown ward is reported once: {}",
        errors[3].1
    );
}

#[test]
fn shifts_are_named_in_english_or_swedish_whichever_the_plan_uses() {
    // the default plan's names, sent in Swedish (as the Swedish headers are)
    let text = "avdelning;lag;datum;pass;yrke;planerade\n\
                MED1;;2026-11-24;dag;USK;3\n\
                MED1;;2026-11-24;Kväll;USK;2\n\
                MED1;;2026-11-24;kvall;SSK;1\n\
                MED1;;2026-11-24;NATT;USK;1\n";
    let rows = parse_planned_csv(text.as_bytes(), &ImportRules::default()).expect("imports");
    let shifts: Vec<&str> = rows.iter().map(|r| r.shift.as_str()).collect();
    assert_eq!(
        shifts,
        ["day", "evening", "evening", "night"],
        "stored as the plan names them"
    );
    // a ward whose plan is in Swedish takes the English names too
    let swedish = ImportRules {
        shifts: vec!["dag".into(), "kväll".into(), "natt".into()],
        wards: None,
        teams: None,
    };
    let text = "ward;team;date;shift;profession;planned\nMED1;;2026-11-24;Evening;USK;2\n";
    let rows = parse_planned_csv(text.as_bytes(), &swedish).expect("imports");
    assert_eq!(rows[0].shift, "kväll");
    // a name of neither language is still refused, naming the plan's
    let text = "ward;team;date;shift;profession;planned\nMED1;;2026-11-24;förmiddag;USK;2\n";
    let message = parse_planned_csv(text.as_bytes(), &swedish)
        .expect_err("refused")
        .to_string();
    assert!(message.contains("send one of: dag, kväll, natt"), "{message}");
}

#[test]
fn the_error_message_lists_every_row() {
    let text = "ward;team;date;shift;profession;planned\nMED1;A;x;day;USK;3\nMED1;A;2026-11-24;day;USK;y\n";
    let message = parse_planned_csv(text.as_bytes(), &ImportRules::default())
        .expect_err("refused")
        .to_string();
    assert!(
        message.starts_with("planned staffing not imported: 2 bad row(s)"),
        "{message}"
    );
    assert!(message.contains("line 2: date \"x\""), "{message}");
    assert!(message.contains("line 3: planned \"y\""), "{message}");
}
