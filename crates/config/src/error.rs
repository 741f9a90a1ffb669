//! The configuration's errors: each names where (file and line, variable or
//! key) and what to write instead.

use std::path::PathBuf;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys or wrong types.
    #[error("{origin}:{line}:{col}: {message}")]
    Parse {
        /// The file.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// What is wrong.
        message: String,
    },
    /// An environment variable cannot be parsed.
    #[error("environment variable {name}: {message}")]
    Env {
        /// The variable.
        name: String,
        /// What is wrong and what to write.
        message: String,
    },
    /// A value is not valid.
    #[error("config key {key}: {message}")]
    Invalid {
        /// The key, e.g. `api.listen`.
        key: String,
        /// What is wrong and what to write.
        message: String,
    },
}

/// The configuration's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
