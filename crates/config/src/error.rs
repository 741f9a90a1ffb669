//! The configuration's errors: each names where (file and line, variable or
//! key) and what to write instead.

use std::path::PathBuf;

use crate::Origin;

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
    /// A value is not valid. [`Config::validate`](crate::Config::validate)
    /// returns this; [`Config::load`](crate::Config::load) returns
    /// [`Error::InvalidAt`] instead when it knows where the value came from.
    #[error("config key {key}: {message}")]
    Invalid {
        /// The key, e.g. `api.listen`.
        key: String,
        /// What is wrong and what to write.
        message: String,
    },
    /// A value is not valid, and where it came from: `careload.toml:12:
    /// scoring.time_zone: …` or `environment variable
    /// CARELOAD_SCORING_TIME_ZONE: scoring.time_zone: …`.
    #[error("{origin}: {key}: {message}")]
    InvalidAt {
        /// The key, e.g. `scoring.time_zone`.
        key: String,
        /// The file and line, or the variable, that set it (or the key
        /// that asked for it, when it kept its default).
        origin: Origin,
        /// What is wrong and what to write.
        message: String,
    },
    /// A `CARELOAD_*` variable that careload does not read: a misspelt
    /// variable is refused rather than ignored.
    #[error("environment variable {name} is not one careload reads; {}", unknown_env_hint(.nearest.as_deref()))]
    UnknownEnv {
        /// The variable.
        name: String,
        /// The nearest variable careload does read, if one is near.
        nearest: Option<String>,
    },
}

fn unknown_env_hint(nearest: Option<&str>) -> String {
    match nearest {
        Some(n) => format!("did you mean {n}? Rename or unset it"),
        None => "unset it, or use one of the variables in the README's configuration table".to_owned(),
    }
}

/// The configuration's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
