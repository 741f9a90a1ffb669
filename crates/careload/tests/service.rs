//! The service's commands as a user runs them: `careload ingest --once`
//! (a run recorded and printed, a failed one kept), a broken config file
//! refused with file and line, `careload demo` (back-fill, serve, every
//! page answering, never deleting a file it did not make), reading commands
//! that refuse a missing or empty store, no password in any message, and
//! `careload serve` answering from its first second.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use careload_testkit::TempDir;

use common::{TempFile, careload, http_get, root_file, s};

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
    let dir = TempDir::new("cli-ingest-once");
    let fhir = dir.join("fhir");
    careload(&["sim", "--beds", "60", "--seed", "3", "--hours", "0", "--out", s(&fhir)]).ok();
    let config = dir.join("careload.toml");
    std::fs::write(&config, files_config(&dir, &fhir)).unwrap();

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
    let dir = TempDir::new("cli-demo");
    let db = dir.join("demo.db");
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
    // overview, coordinator, a screen and a planning page per ward, a
    // patient page, the JSON API and its description; and the region's
    // page and each of its two hospitals' (issue 29)
    assert!(
        run.stdout.contains("patient page:      http://127.0.0.1:"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("/region\n"), "{}", run.stdout);
    let hospitals = lines.iter().filter(|l| l.starts_with("hospital:")).count();
    assert_eq!(hospitals, 2, "{}", run.stdout);
    assert!(
        checked.iter().any(|l| l.ends_with("/region")) && checked.iter().any(|l| l.contains("/hospitals/")),
        "{}",
        run.stdout
    );
    assert_eq!(checked.len(), 2 * screens + 5 + 1 + hospitals, "{}", run.stdout);
    assert!(run.stdout.contains("answered 200"), "{}", run.stdout);
    assert!(run.stderr.contains("back-filled 3 hours"), "{}", run.stderr);

    // `careload export --hospitals`: the wards of the hospitals' departments
    let config = dir.join("hospitals.toml");
    std::fs::write(
        &config,
        "[hospitals.nord]\n[hospitals.syd]\n[departments.med]\nhospital = \"nord\"\n\
         [wards.w01]\ndepartment = \"med\"\n",
    )
    .unwrap();
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (
        (today - chrono::Duration::days(1)).to_string(),
        (today + chrono::Duration::days(1)).to_string(),
    );
    let url = format!("sqlite://{}", db.display());
    let export = |hospitals: &str| {
        careload(&[
            "export",
            "--config",
            s(&config),
            "--db",
            &url,
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            "json",
            "--hospitals",
            hospitals,
        ])
    };
    let run = export("nord");
    run.ok();
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let wards: std::collections::BTreeSet<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ward"].as_str().unwrap())
        .collect();
    assert_eq!(wards.into_iter().collect::<Vec<_>>(), ["w01"], "{}", run.stdout);
    // a hospital with no ward, and one not configured: refused, naming the flag and the hospitals
    let run = export("syd");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stderr.contains("--hospitals") && run.stderr.contains("has no ward"),
        "{}",
        run.stderr
    );
    let run = export("norr");
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stderr.contains("nord, syd"), "{}", run.stderr);

    // `--level department` (issue 29): one row per department and day, its
    // wards summed; with --hospitals, the departments of those hospitals
    let departments = |config: &Path, more: &[&str]| {
        let mut args = vec![
            "export",
            "--config",
            s(config),
            "--db",
            &url,
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            "json",
            "--level",
            "department",
        ];
        args.extend_from_slice(more);
        careload(&args)
    };
    let run = departments(&config, &[]);
    run.ok();
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let rows = rows.as_array().unwrap();
    let units: std::collections::BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r["level"].as_str().unwrap(), r["department"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        units.into_iter().collect::<Vec<_>>(),
        [("department", ""), ("department", "med")],
        "med, and the demo's other wards as the group of no department: {}",
        run.stdout
    );
    let run = departments(&config, &["--hospitals", "nord"]);
    run.ok();
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .all(|r| r["department"] == "med" && r["ward"].is_null()),
        "{}",
        run.stdout
    );
    // `--level site` (issue 29): one row per configured hospital with a ward
    // and day, the demo's wards of no hospital left out
    let site = |config: &Path| {
        careload(&[
            "export",
            "--config",
            s(config),
            "--db",
            &url,
            "--from",
            &from,
            "--to",
            &to,
            "--format",
            "json",
            "--level",
            "site",
        ])
    };
    let run = site(&config);
    run.ok();
    let rows: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let rows = rows.as_array().unwrap();
    assert!(!rows.is_empty(), "{}", run.stdout);
    assert!(
        rows.iter()
            .all(|r| r["level"] == "site" && r["hospital"] == "nord" && r["ward"].is_null()),
        "{}",
        run.stdout
    );
    let help = careload(&["export", "--help"]);
    assert!(help.stdout.contains("site (one configured hospital"), "{}", help.stdout);
    let bare = dir.join("no-departments.toml");
    std::fs::write(&bare, "[wards.w01]\nname = \"Avd 1\"\n").unwrap();
    let run = departments(&bare, &[]);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stderr.contains("[departments.<id>]"), "{}", run.stderr);
    let run = site(&bare);
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(run.stderr.contains("[hospitals.<id>]"), "{}", run.stderr);
    let run = careload(&[
        "export", "--db", &url, "--from", &from, "--to", &to, "--level", "clinic",
    ]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains("hospital, department, ward, team"),
        "{}",
        run.stderr
    );
}

#[test]
fn demo_refuses_to_listen_beyond_loopback() {
    let run = careload(&["demo", "--listen", "0.0.0.0:8080", "--check"]);
    assert_eq!(run.code, Some(1));
    assert!(run.stderr.contains("loopback"), "{}", run.stderr);
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
    let dir = TempDir::new("cli-demo-foreign");
    let db = dir.join("prod.db");
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
    let dir = TempDir::new("cli-read-only");
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
    let missing = dir.join("careload-typo.db");
    for run in commands(&format!("sqlite://{}?mode=rwc", missing.display())) {
        assert_eq!(run.code, Some(1), "{}", run.stderr);
        assert!(run.stderr.contains("no history store at"), "{}", run.stderr);
        assert!(run.stderr.contains("careload-typo.db"), "{}", run.stderr);
        assert!(!missing.exists(), "a reading command created {}", missing.display());
    }
    // a store that holds no hour: refused, and left as it was
    let empty = dir.join("empty.db");
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
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a database").unwrap();
    for run in commands(&format!("sqlite://{}", text.display())) {
        assert_eq!(run.code, Some(1), "{}", run.stderr);
    }
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "not a database");
}

/// With the EHR slow (it accepts connections and never answers) and no
/// hour stored yet, `serve` answers from its first second: alive, not
/// ready, no data yet — while the first run waits on the EHR beside it.
#[test]
fn serve_answers_from_the_first_second_while_the_first_run_waits_on_the_ehr() {
    let dir = TempDir::new("cli-serve-first-second");
    // an EHR that takes connections and never answers
    let ehr = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let ehr_addr = ehr.local_addr().unwrap();
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = free.local_addr().unwrap().to_string();
    drop(free);
    let config = dir.join("careload.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = \"sqlite://{}?mode=rwc\"\n\n[source]\nkind = \"fhir\"\nurl = \"http://{ehr_addr}/fhir\"\nrequest_timeout_secs = 300\nrun_deadline_secs = 600\n\n[scoring]\ntime_zone = \"UTC\"\n\n[api]\nlisten = \"{listen}\"\nopen = true\n",
            dir.join("careload.db").display()
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
        health = http_get(&listen, "/healthz").map(|(status, _)| status);
        if health.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let ready = http_get(&listen, "/readyz").map(|(status, _)| status);
    let hospital = http_get(&listen, "/api/v1/hospital").map(|(status, _)| status);
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    drop(ehr);
    assert!(still_running, "serve exited");
    assert_eq!(health, Some(200), "alive at once");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "answered while the first run still waits on the EHR (300 s timeout)"
    );
    assert_eq!(ready, Some(503), "not ready without data");
    // the hospital route answers too (with no hour in it yet)
    assert!(hospital.is_some(), "the hospital route answers");
}
