//! What the `careload` binary's test files share: running the binary as a
//! user does (arguments in, text and exit code out), the repository's
//! files, a temporary file, and small readers of what was printed. Each
//! test binary uses part of it.

#![allow(dead_code)] // shared by test binaries that each use part

use std::path::{Path, PathBuf};
use std::process::Command;

use careload_testkit::TempDir;
use serde_json::Value;

/// The repository root.
pub(crate) const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

pub(crate) fn root_file(relative: &str) -> PathBuf {
    Path::new(ROOT).join(relative)
}

pub(crate) fn default_weights() -> PathBuf {
    root_file("weights/2026.1.toml")
}

pub(crate) fn default_weights_text() -> String {
    let path = default_weights();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

pub(crate) fn example_snapshots() -> PathBuf {
    root_file("examples/ward-snapshot.json")
}

/// What a run printed and how it ended.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

/// A path as an argument (the test paths are all UTF-8).
pub(crate) fn s(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
}

pub(crate) fn careload<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
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

/// A file in a temporary directory of its own (`dir`, for whatever else
/// the test writes); removed with the directory when dropped.
pub(crate) struct TempFile {
    pub(crate) dir: TempDir,
    path: PathBuf,
}

impl TempFile {
    pub(crate) fn new(name: &str, contents: &str) -> TempFile {
        let dir = TempDir::new("cli-test");
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        TempFile { dir, path }
    }
}

impl std::ops::Deref for TempFile {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.path
    }
}

/// Whitespace collapsed to single spaces, line by line, so that table rows
/// can be compared without their padding.
pub(crate) fn squeezed_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The 1-based line of the `nth` (0-based) line of `text` containing `marker`.
pub(crate) fn line_of(text: &str, marker: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(marker))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{marker:?} not found"))
}

/// Points in JSON as exact thousandths.
pub(crate) fn milli(v: &Value) -> i64 {
    (v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) * 1000.0).round() as i64
}
