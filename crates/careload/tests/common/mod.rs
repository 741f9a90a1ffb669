//! What the `careload` binary's test files share: running the binary as a
//! user does (arguments in, text and exit code out), the repository's
//! files, a temporary file, and small readers of what was printed. Each
//! test binary uses part of it.

#![allow(dead_code)] // shared by test binaries that each use part

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

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

/// A GET of `path` from the server at `addr` over a fresh connection: the
/// status and the body, or `None` when nothing answers within 5 seconds.
pub(crate) fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

// ------------------------------------------------ the Medplum test server

/// Medplum in a child process; killed when dropped.
pub(crate) struct Medplum {
    child: Child,
    /// The FHIR base URL.
    pub(crate) base: String,
}

impl Drop for Medplum {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the Medplum test server (`tests/medplum/server.mjs`; with
/// `validate`, every write checked against the R4 definitions), or says why
/// it cannot (a failure under CI).
pub(crate) fn medplum(validate: bool) -> Option<Medplum> {
    let dir = Path::new(ROOT).join("tests/medplum");
    let installed = dir.join("node_modules/@medplum/fhir-router").is_dir();
    let node = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed || !node {
        let why = format!(
            "the Medplum test server is not installed (node: {node}, {}: {installed}); run `npm ci --prefix tests/medplum`",
            dir.join("node_modules").display()
        );
        assert!(std::env::var_os("CI").is_none(), "{why}");
        eprintln!("skipped: {why}");
        return None;
    }
    let mut child = Command::new("node")
        .arg(dir.join("server.mjs"))
        .args(["--port", "0", "--exit-on-stdin-close"])
        .args(validate.then_some("--validate"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("node does not start: {e}"));
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| panic!("the Medplum server's stdout is not piped"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(120))
        .unwrap_or_else(|e| panic!("the Medplum server printed no address within 2 minutes: {e}"));
    let base = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://"))
        .unwrap_or_else(|| panic!("unexpected first line from the Medplum server: {line:?}"))
        .to_owned();
    Some(Medplum { child, base })
}

/// `careload sim serve` on a free port, killed when dropped.
pub(crate) struct Served {
    child: Child,
    /// The simulated hospital's FHIR base URL, as it printed it.
    pub(crate) base: String,
}

impl Served {
    /// `careload sim serve --listen 127.0.0.1:0` with `args`.
    pub(crate) fn start(args: &[&str]) -> Served {
        let mut child = Command::new(env!("CARGO_BIN_EXE_careload"))
            .args(["sim", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
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
