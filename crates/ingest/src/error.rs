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
    /// The FHIR REST source is configured wrongly (a base URL that is not
    /// `http://`, a token variable that is unset, …).
    #[error("FHIR REST source: {0}")]
    RestConfig(String),
    /// A request still timed out after its retries.
    #[error(
        "GET {url} timed out after {attempts} attempts ({timeout_ms} ms each); the FHIR server is too slow or unreachable: check it, or raise request_timeout"
    )]
    Timeout {
        /// The URL (never holds a token).
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The per-request timeout in milliseconds.
        timeout_ms: u64,
    },
    /// The run's overall deadline passed.
    #[error(
        "the FHIR fetch passed its run deadline of {deadline_ms} ms while at {url}; the server is too slow for the deadline: check it, or raise run_deadline"
    )]
    Deadline {
        /// The URL being fetched when the deadline passed.
        url: String,
        /// The deadline in milliseconds.
        deadline_ms: u64,
    },
    /// The connection failed (refused, reset, cut off in the body) after the retries.
    #[error(
        "GET {url} failed after {attempts} attempts: {reason}; check that the FHIR server is up and the base URL is right"
    )]
    Connection {
        /// The URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last cause.
        reason: String,
    },
    /// The server answered with an error status (after retries, for the retried ones).
    #[error("GET {url} answered HTTP {status}{}; check the base URL, the search parameters and the token", diagnostics.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The `OperationOutcome`'s reasons (`details.text`, the codings'
        /// displays, `diagnostics`), when the body had any.
        diagnostics: Option<String>,
    },
    /// A response that is not FHIR JSON (HTML, wrong content type, invalid JSON, not a Bundle).
    #[error("GET {url} did not answer FHIR JSON: {reason}; check that the base URL points at a FHIR R4 server")]
    NotFhirResponse {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// Authorisation cannot be set up or a token cannot be obtained (SMART
    /// backend services: key, discovery, token endpoint). Never holds a secret.
    #[error("FHIR authorisation: {0}")]
    Auth(String),
    /// A Bulk Data export that cannot go on (no status URL, a manifest that
    /// is not one, an output file on another origin that needs the token).
    #[error("Bulk Data export: {0}")]
    Bulk(String),
    /// TLS cannot be set up (an extra CA file that cannot be read or holds no certificate).
    #[error("TLS: {0}")]
    Tls(String),
    /// A Bundle `next` link to an origin that is neither the server's nor
    /// trusted, while there is a token to send.
    #[error(
        "GET {url} gave a next link to another origin ({next}); refused, so that the token never leaves the FHIR server: if that origin is the same server (a proxy, another host name), list it in source.trusted_origins (score: --trusted-origin)"
    )]
    ForeignLink {
        /// The page holding the link.
        url: String,
        /// The link.
        next: String,
    },
}
