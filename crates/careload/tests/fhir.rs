//! FHIR in, as a user runs it: `careload sim` writes a hospital's
//! resources (files) or serves them (`sim serve`); `careload score --fhir`
//! and `--fhir-url` score them, alike from files and from a server, with a
//! region's mapping file; `careload mapping suggest` writes the skeleton of
//! one from the codes careload did not use.

mod common;

use std::process::Command;

use serde_json::Value;

use common::{Served, TempFile, careload, milli, s, squeezed_lines};

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
