//! The crates' dependency rules (ARCHITECTURE.md, "Invariants"), checked
//! on the workspace's `Cargo.toml` files: the layers only point down, the
//! scoring core does no I/O, the heavy or special-purpose dependencies stay
//! in the one crate each belongs to, and nothing but the binary depends on
//! the front doors or the benchmarks. A dependency added against a rule
//! fails here with the rule's reason.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)] // test code may panic with a message

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each workspace crate (by directory under `crates/`) with its normal
/// dependencies (`[dependencies]`, not dev or build).
fn workspace() -> BTreeMap<String, BTreeSet<String>> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = BTreeMap::new();
    let mut manifests = Vec::new();
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let dir = entry.expect("entry").path();
        manifests.push(dir.join("Cargo.toml"));
        // nested crates (crates/ingest/parse)
        if let Ok(inner) = std::fs::read_dir(&dir) {
            for e in inner.flatten() {
                manifests.push(e.path().join("Cargo.toml"));
            }
        }
    }
    for manifest in manifests.into_iter().filter(|m| m.is_file()) {
        let text = std::fs::read_to_string(&manifest).expect("read Cargo.toml");
        let value: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        let name = value["package"]["name"].as_str().expect("package.name").to_owned();
        let deps = value
            .get("dependencies")
            .and_then(|d| d.as_table())
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        out.insert(name, deps);
    }
    out
}

fn depends(ws: &BTreeMap<String, BTreeSet<String>>, krate: &str, dep: &str) -> bool {
    ws.get(krate)
        .unwrap_or_else(|| panic!("no crate {krate}"))
        .contains(dep)
}

#[test]
fn the_workspace_is_read_whole() {
    let ws = workspace();
    for name in [
        "careload-scoring",
        "careload-config",
        "careload-planning",
        "careload-ingest",
        "careload-fhir-parse",
        "careload-store",
        "careload-export",
        "careload-runner",
        "careload-app",
        "careload-api",
        "careload-sim",
        "careload-bench",
        "careload-testkit",
        "careload",
    ] {
        assert!(ws.contains_key(name), "{name} not found among {:?}", ws.keys());
    }
}

#[test]
fn heavy_and_special_dependencies_stay_in_their_crate() {
    let ws = workspace();
    let only = |dep: &str, allowed: &[&str], why: &str| {
        let users: Vec<&String> = ws.iter().filter(|(_, d)| d.contains(dep)).map(|(n, _)| n).collect();
        for user in &users {
            assert!(allowed.contains(&user.as_str()), "{user} depends on {dep}; {why}");
        }
    };
    only(
        "polars",
        &["careload-export"],
        "polars is a third of the compile: only the exports may use it",
    );
    only(
        "fhir-sdk",
        &["careload-ingest", "careload-fhir-parse"],
        "the FHIR models are slow to compile: only ingest parses FHIR",
    );
    only(
        "sqlx",
        &["careload-store", "careload-bench", "careload-testkit"],
        "SQL lives in the store (and the benchmark's plain-SQL baseline, and the test harness that makes and drops a test's database)",
    );
    only(
        "reqwest",
        &["careload-ingest", "careload-bench", "careload"],
        "the EHR is called by ingest; the runner takes a source behind a trait",
    );
    only(
        "axum",
        &["careload-api", "careload-sim"],
        "HTTP serving is the API's (and the simulated hospital's)",
    );
}

#[test]
fn the_scoring_core_does_no_io() {
    let ws = workspace();
    for io in ["tokio", "sqlx", "reqwest", "axum", "polars", "fhir-sdk"] {
        assert!(
            !depends(&ws, "careload-scoring", io),
            "careload-scoring depends on {io}: the scoring core is pure, no I/O"
        );
    }
    for krate in ["careload-planning", "careload-config"] {
        for io in ["tokio", "sqlx", "reqwest", "axum"] {
            assert!(!depends(&ws, krate, io), "{krate} depends on {io}: it is pure");
        }
    }
}

#[test]
fn layers_point_down() {
    let ws = workspace();
    // (crate, what it may not depend on, why)
    let rules: &[(&str, &[&str], &str)] = &[
        (
            "careload-runner",
            &["careload-sim", "careload-app", "careload-api", "careload-bench"],
            "the production runner carries no demo, no front door and no benchmark",
        ),
        (
            "careload-app",
            &[
                "careload-api",
                "careload-runner",
                "careload-ingest",
                "careload-sim",
                "careload-bench",
            ],
            "the application layer serves the front doors and reads the store; it never calls the EHR",
        ),
        (
            "careload-api",
            &["careload-runner", "careload-ingest", "careload-sim", "careload-bench"],
            "the API serves what is stored; it never calls the EHR",
        ),
        (
            "careload-config",
            &["careload-planning", "careload-store", "careload-app"],
            "the configuration's format is its own",
        ),
        (
            "careload-export",
            &["careload-app", "careload-api", "careload-runner", "careload-bench"],
            "a domain crate",
        ),
        (
            "careload-store",
            &[
                "careload-app",
                "careload-api",
                "careload-runner",
                "careload-export",
                "careload-bench",
            ],
            "a domain crate",
        ),
    ];
    for (krate, forbidden, why) in rules {
        for dep in *forbidden {
            assert!(!depends(&ws, krate, dep), "{krate} depends on {dep}: {why}");
        }
    }
    // the test harness is a dev-dependency only
    for (name, deps) in &ws {
        assert!(
            !deps.contains("careload-testkit"),
            "{name} depends on careload-testkit: it is for tests only ([dev-dependencies])"
        );
    }
    // only the binary depends on the front doors and the benchmarks; the
    // benchmarks (which only the binary depends on) may measure the API too
    // (`careload bench region` serves it in process)
    for (dep, allowed) in [
        ("careload-api", &["careload", "careload-bench"][..]),
        ("careload-bench", &["careload"][..]),
    ] {
        for (name, deps) in &ws {
            if !allowed.contains(&name.as_str()) {
                assert!(
                    !deps.contains(dep),
                    "{name} depends on {dep}: only {} may",
                    allowed.join(" and ")
                );
            }
        }
    }
}
