//! Reading weights files from disk, and the built-in default version.
//!
//! The scoring crate parses and validates text; this module does the I/O and
//! names the origin that error messages show. A [`WeightsError`] is passed
//! through unwrapped so that `main` can print its `file:line:col: message`
//! lines as they are.
//!
//! [`WeightsError`]: careload_scoring::WeightsError

use std::path::Path;

use anyhow::Context;
use careload_scoring::Weights;

/// How error messages and reports name the built-in weights.
pub(crate) const DEFAULT_ORIGIN: &str = careload_scoring::weights::BUILT_IN_ORIGIN;

/// A weights version and where it came from.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The validated weights.
    pub(crate) weights: Weights,
    /// The file as given on the command line, or [`DEFAULT_ORIGIN`].
    pub(crate) origin: String,
}

/// Reads and validates a weights file.
///
/// # Errors
/// When the file cannot be read (the message names the path), or the
/// [`careload_scoring::WeightsError`] listing every problem.
pub(crate) fn load(path: &Path) -> anyhow::Result<Loaded> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read weights file {origin}"))?;
    let weights = Weights::from_toml(&text, &origin)?;
    Ok(Loaded { weights, origin })
}

/// The built-in default weights.
///
/// # Errors
/// Only if the built-in file does not validate, which the tests rule out.
pub(crate) fn load_default() -> anyhow::Result<Loaded> {
    let weights = Weights::built_in()?;
    Ok(Loaded {
        weights,
        origin: DEFAULT_ORIGIN.to_owned(),
    })
}

/// The file at `path`, or the built-in default when there is none.
///
/// # Errors
/// As [`load`] and [`load_default`].
pub(crate) fn load_or_default(path: Option<&Path>) -> anyhow::Result<Loaded> {
    match path {
        Some(p) => load(p),
        None => load_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_weights_are_valid() {
        let loaded = load_default().unwrap();
        assert_eq!(loaded.weights.meta.version, "2026.1");
        assert_eq!(loaded.origin, DEFAULT_ORIGIN);
    }
}
