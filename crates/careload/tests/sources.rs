//! A region's several FHIR sources (`[sources.<id>]`, issue 29) as a user
//! runs them: `careload ingest --once` runs every source, prints each run,
//! and a source that fails fails the command without holding the others
//! back. (How the sources' hours, wards and keys are kept apart in the
//! store is `crates/runner/tests/sources.rs`.)

mod common;

use std::path::Path;

use careload_testkit::TempDir;

use common::{careload, s};

/// Two file sources, `nord` and `syd`, into a SQLite file in `dir`.
fn two_sources_config(dir: &Path, nord: &Path, syd: &Path) -> String {
    format!(
        "[database]\nurl = \"sqlite://{}?mode=rwc\"\n\n\
         [sources.nord]\nkind = \"files\"\npath = \"{}\"\nward_prefix = \"nord-\"\n\
         pseudonym_key_env = \"CARELOAD_TEST_UNSET_PSEUDONYM_KEY\"\n\n\
         [sources.syd]\nkind = \"files\"\npath = \"{}\"\nward_prefix = \"syd-\"\noffset_minutes = 30\n\
         pseudonym_key_env = \"CARELOAD_TEST_UNSET_PSEUDONYM_KEY\"\n",
        dir.join("careload.db").display(),
        nord.display(),
        syd.display()
    )
}

#[test]
fn ingest_once_runs_every_source_and_one_failing_fails_alone() {
    let dir = TempDir::new("cli-sources");
    let (nord, syd) = (dir.join("fhir-nord"), dir.join("fhir-syd"));
    for (seed, out) in [("3", &nord), ("11", &syd)] {
        careload(&["sim", "--beds", "48", "--seed", seed, "--hours", "0", "--out", s(out)]).ok();
    }
    let config = dir.join("careload.toml");
    std::fs::write(&config, two_sources_config(&dir, &nord, &syd)).unwrap();

    // --insecure-dev-key covers every source (else each refuses the public key)
    let refused = careload(&["ingest", "--once", "--config", s(&config)]);
    assert_ne!(refused.code, Some(0), "{}", refused.stdout);
    assert!(refused.stderr.contains("source nord"), "{}", refused.stderr);
    let first = careload(&["ingest", "--once", "--insecure-dev-key", "--config", s(&config)]);
    first.ok();
    let runs = first.json();
    let runs = runs.as_array().unwrap_or_else(|| panic!("a list of runs: {runs:#}"));
    assert_eq!(runs.len(), 2, "{runs:?}");
    for (run, id, path) in [(&runs[0], "nord", &nord), (&runs[1], "syd", &syd)] {
        assert_eq!(run["source_id"], id, "{run:#}");
        assert_eq!(run["source"], s(path), "{run:#}");
        assert_eq!(run["outcome"], "ok", "{run:#}\n{}", first.stderr);
        assert!(
            run["report"]["counts"]["patients"].as_u64().unwrap_or(0) > 20,
            "{run:#}"
        );
    }

    // syd's files gone: its run fails, nord's still runs; exit 1 naming syd
    std::fs::remove_dir_all(&syd).unwrap();
    let failed = careload(&["ingest", "--once", "--insecure-dev-key", "--config", s(&config)]);
    assert_eq!(failed.code, Some(1), "{}\n{}", failed.stdout, failed.stderr);
    let runs = failed.json();
    assert_eq!(runs[0]["source_id"], "nord");
    assert_eq!(runs[0]["outcome"], "ok", "{runs:#}");
    assert_eq!(runs[1]["source_id"], "syd");
    assert_eq!(runs[1]["outcome"], "failed", "{runs:#}");
    assert!(
        failed.stderr.contains("source syd") && failed.stderr.contains("keep their previous hour"),
        "{}",
        failed.stderr
    );
    assert!(!failed.stderr.contains("source nord"), "{}", failed.stderr);
}

#[test]
fn source_beside_sources_is_refused_saying_to_move_it() {
    let dir = TempDir::new("cli-sources-both");
    let config = dir.join("careload.toml");
    let text = format!(
        "[source]\nkind = \"files\"\npath = \"x\"\n\n{}",
        two_sources_config(&dir, Path::new("a"), Path::new("b"))
    );
    std::fs::write(&config, text).unwrap();
    let run = careload(&["ingest", "--once", "--config", s(&config)]);
    assert_ne!(run.code, Some(0));
    assert!(
        run.stderr.contains(":1:") && run.stderr.contains("move [source]"),
        "{}",
        run.stderr
    );
}
