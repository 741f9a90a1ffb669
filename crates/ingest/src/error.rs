//! The crate's one error type. Only whole-run problems are errors (a path
//! that cannot be read, a bad mapping configuration, a missing key); a bad
//! resource is never an error but a [`crate::Skip`] in a report.

use std::path::PathBuf;

/// Whatever stops an ingest as a whole.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory cannot be read.
    #[error("cannot read {path}: {source}; check that the path exists and is readable")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A single JSON file is not JSON at all.
    #[error("{path} is not JSON ({source}); give a FHIR Bundle or resource as JSON, or a directory of .ndjson files")]
    Json {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: serde_json::Error,
    },
    /// A JSON file that is neither a Bundle nor a resource.
    #[error("{path} has no resourceType; give a FHIR Bundle or resource as JSON")]
    NotFhir {
        /// The path.
        path: PathBuf,
    },
    /// A directory without any `.ndjson` file.
    #[error("{path} holds no .ndjson files; give a Bulk Data export directory or a Bundle .json file")]
    NoNdjson {
        /// The path.
        path: PathBuf,
    },
    /// A mapping table entry that cannot be used.
    #[error("mapping configuration: {0}; fix the entry (see crates/ingest/README.md, \"Mapping your region's codes\")")]
    Config(String),
    /// The pseudonym key is missing from the environment.
    #[error("the pseudonym key variable {0} is not set; set it to a secret of at least 16 bytes")]
    MissingKey(String),
    /// The pseudonym key is too short.
    #[error("the pseudonym key is {0} bytes long; use a secret of at least 16 bytes")]
    ShortKey(usize),
}
