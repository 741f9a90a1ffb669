//! Reading weights files from disk, and the built-in default version.
//!
//! The scoring crate parses and validates text; this module does the I/O and
//! names the origin that error messages show. A [`WeightsError`] is passed
//! through unwrapped so that `main` can print its `file:line:col: message`
//! lines as they are.
//!
//! [`WeightsError`]: careload_scoring::WeightsError

use std::path::Path;

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
    Ok(read(path)?.0)
}

/// Reads and validates a weights file, with its text, through the one
/// reader ([`careload_runner::read_weights_file`]). Its errors are given
/// back as the command line shows them: a file that cannot be read as
/// `cannot read weights file PATH: why` (a file named on the command line,
/// so without the runner's hint about the configuration), refused weights
/// as the [`careload_scoring::WeightsError`] itself.
///
/// # Errors
/// As [`load`].
pub(crate) fn read(path: &Path) -> anyhow::Result<(Loaded, String)> {
    let origin = path.display().to_string();
    match careload_runner::read_weights_file(path) {
        Ok((weights, text)) => Ok((Loaded { weights, origin }, text)),
        Err(careload_runner::Error::Read { source, .. }) => {
            Err(anyhow::Error::new(source).context(format!("cannot read weights file {origin}")))
        }
        Err(careload_runner::Error::Weights(e)) => Err(e.into()),
        Err(e) => Err(e.into()),
    }
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

    #[test]
    fn a_file_named_on_the_command_line_is_refused_as_the_command_line_shows_it() {
        let dir = std::env::temp_dir();
        let missing = dir.join(format!("careload-weights-file-{}-missing.toml", std::process::id()));
        let e = format!("{:#}", load(&missing).unwrap_err());
        assert!(
            e.starts_with(&format!("cannot read weights file {}: ", missing.display())),
            "{e}"
        );
        assert!(
            !e.contains("configuration"),
            "a command-line file gets no configuration hint: {e}"
        );

        let bad = dir.join(format!("careload-weights-file-{}-bad.toml", std::process::id()));
        std::fs::write(&bad, "[meta]\n[[[\n").unwrap();
        let e = read(&bad).unwrap_err();
        let _ = std::fs::remove_file(&bad);
        // passed through unwrapped, so that `main` prints one line per problem
        let w = e.downcast_ref::<careload_scoring::WeightsError>().unwrap();
        assert_eq!(w.origin, bad.display().to_string());
        assert!(w.problems.iter().any(|p| p.line.is_some()), "{w}");
    }
}
