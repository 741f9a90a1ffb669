//! The service's logs on standard error: a back-fill reports its progress in
//! at most ten lines (standard error is a pipe here, not a terminal) instead
//! of a line or two per hour, its per-hour lines are debug, and the level is
//! set by `RUST_LOG`, else `log.level` (`CARELOAD_LOG_LEVEL`), else `info`.

mod common;

use std::process::Command;

use careload_testkit::TempDir;
use common::{Run, s};

/// Hours the demos below back-fill: small, but more than ten, so that a
/// line per hour and a line per tenth differ.
const HOURS: usize = 20;

/// `careload demo --check` with a small hospital, `vars` set and `RUST_LOG`
/// and `CARELOAD_LOG_LEVEL` unset unless `vars` sets them.
fn demo(vars: &[(&str, &str)]) -> Run {
    let dir = TempDir::new("cli-logs");
    let db = dir.join("demo.db");
    let hours = HOURS.to_string();
    let args = ["demo", "--beds", "40", "--hours", &hours, "--listen", "127.0.0.1:0"];
    careload_with(&[&args[..], &["--db", s(&db), "--check"]].concat(), vars)
}

/// `careload` with `args` and `vars` set, and `RUST_LOG` and
/// `CARELOAD_LOG_LEVEL` unset unless `vars` sets them.
fn careload_with(args: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_careload"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CARELOAD_LOG_LEVEL");
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().unwrap_or_else(|e| panic!("cannot run careload: {e}"));
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap_or_else(|e| panic!("output is not UTF-8: {e}"));
    Run {
        code: output.status.code(),
        stdout: text(output.stdout),
        stderr: text(output.stderr),
    }
}

fn count(text: &str, marker: &str) -> usize {
    text.lines().filter(|l| l.contains(marker)).count()
}

/// The progress lines' `(done, total, percent)`, in order.
fn progress(stderr: &str) -> Vec<(usize, usize, usize)> {
    stderr
        .lines()
        .filter_map(|l| {
            let rest = &l[l.find("back-fill: ")? + "back-fill: ".len()..];
            let (done, rest) = rest.split_once(" of ")?;
            let (total, rest) = rest.split_once(" hours (")?;
            let (percent, _) = rest.split_once(" %)")?;
            Some((done.parse().ok()?, total.parse().ok()?, percent.parse().ok()?))
        })
        .collect()
}

#[test]
fn a_demo_backfill_logs_its_progress_in_tenths_not_a_line_per_hour() {
    let run = demo(&[]);
    run.ok();
    // this hour's run after the back-fill is an ordinary hourly run (a line
    // of its own, at info), but only if the hour turned during the test
    assert!(
        count(&run.stderr, "run done") <= 1,
        "per-hour lines at the default level:\n{}",
        run.stderr
    );
    assert!(
        count(&run.stderr, "FHIR REST fetch done") <= 1,
        "per-hour fetch lines at the default level:\n{}",
        run.stderr
    );
    let lines = progress(&run.stderr);
    assert!((1..=10).contains(&lines.len()), "{}", run.stderr);
    assert!(lines.iter().all(|&(_, total, _)| total == HOURS), "{lines:?}");
    assert!(
        lines.windows(2).all(|w| w[0].0 < w[1].0 && w[0].2 < w[1].2),
        "monotone: {lines:?}"
    );
    assert_eq!(lines.last(), Some(&(HOURS, HOURS, 100)), "{}", run.stderr);
    assert!(run.stderr.contains("back-fill done"), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("back-filled {HOURS} hours")),
        "{}",
        run.stderr
    );
}

#[test]
fn rust_log_debug_brings_the_per_hour_lines_back() {
    let run = demo(&[("RUST_LOG", "info,careload_runner=debug")]);
    run.ok();
    assert!(count(&run.stderr, "run done") >= HOURS, "{}", run.stderr);
    assert!(count(&run.stderr, "FHIR REST fetch done") >= HOURS, "{}", run.stderr);
}

#[test]
fn the_config_key_sets_the_level_and_rust_log_wins_over_it() {
    let run = demo(&[("CARELOAD_LOG_LEVEL", "debug")]);
    run.ok();
    assert!(count(&run.stderr, "run done") >= HOURS, "{}", run.stderr);

    let run = demo(&[("CARELOAD_LOG_LEVEL", "debug"), ("RUST_LOG", "warn")]);
    run.ok();
    assert_eq!(count(&run.stderr, "run done"), 0, "{}", run.stderr);
    assert_eq!(count(&run.stderr, " INFO "), 0, "{}", run.stderr);
}

#[test]
fn a_bad_log_level_is_refused_naming_the_key() {
    let run = demo(&[("CARELOAD_LOG_LEVEL", "loud")]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("log.level") && run.stderr.contains("\"loud\""),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);

    // the service's configuration also says where the value came from
    let dir = TempDir::new("cli-logs-ingest");
    let url = format!("sqlite://{}?mode=rwc", dir.join("c.db").display());
    let vars = [("CARELOAD_LOG_LEVEL", "loud"), ("CARELOAD_DATABASE_URL", url.as_str())];
    let run = careload_with(&["ingest", "--once", "--insecure-dev-key"], &vars);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("environment variable CARELOAD_LOG_LEVEL")
            && run.stderr.contains("log.level")
            && run.stderr.contains("\"loud\""),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(!dir.join("c.db").exists(), "refused before anything ran");
}
