//! The runner's one error type. A failed fetch or write is not an error of
//! the run loop: it is recorded as a failed run; these are what stops the
//! runner from starting or from recording at all.

use std::path::PathBuf;

/// Everything that can stop the runner.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot be used.
    #[error(transparent)]
    Config(#[from] careload_config::Error),
    /// The history store failed (connecting, recording a run).
    #[error(transparent)]
    Store(#[from] careload_store::Error),
    /// The FHIR source cannot be set up (a bad base URL, a missing token).
    #[error(transparent)]
    Ingest(#[from] careload_ingest::Error),
    /// A weights file was refused, with every problem and its line.
    #[error(transparent)]
    Weights(#[from] careload_scoring::WeightsError),
    /// A file named in the configuration cannot be read.
    #[error("cannot read {what} {path}: {source}; check the path in the configuration")]
    Read {
        /// What the file is (`weights file`, `mapping file`).
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The region's mapping file is not valid.
    #[error("mapping file {path} is not valid: {message}")]
    Mapping {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A source kind the runner does not build itself.
    #[error(
        "source.kind = {0} is not built by the runner: the careload binary serves the simulated hospital and passes it to Runner::start"
    )]
    SourceKind(&'static str),
    /// A source id the configuration does not list ([`careload_config::Config::sources`]).
    #[error("{}", unknown_source(.0))]
    UnknownSource(String),
    /// No pseudonym key, with a source of real patients.
    #[error(
        "the pseudonym key variable {var} is not set, and source.kind = {kind} reads real patients: careload refuses the public development key, whose pseudonyms anyone can reverse; set {var} to a secret of at least 16 bytes (for a test system without real patients only: --insecure-dev-key or source.insecure_dev_key = true)"
    )]
    DevelopmentKey {
        /// The variable that should hold the key.
        var: String,
        /// The source kind.
        kind: &'static str,
    },
    /// A warning could not be written (standard error closed); the cause is
    /// the I/O error, so that a closed pipe is still recognised as one.
    #[error("cannot write a warning to standard error")]
    Warn(#[source] std::io::Error),
    /// A background task died (a panic in mapping or scoring).
    #[error("a background task failed: {0}")]
    Task(String),
}

fn unknown_source(id: &str) -> String {
    if id.is_empty() {
        "the configuration names its sources ([sources.<id>]): run each by its id, not the single [source]".to_owned()
    } else {
        format!("source {id:?} is not configured; add [sources.{id}], or run one of the configured sources")
    }
}

/// The runner's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
