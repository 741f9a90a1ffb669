//! The one reader of each file and setting the service and the commands
//! share: the weights file, the mapping file, the pseudonym key. Each error
//! keeps what the reader needs: the file, the line, the hint.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use careload_config::SourceKind;
use careload_runner::{Error, WhenKeyUnset, load_mapping, load_weights, pseudonym_key, read_weights_file};

/// A file under the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let path = std::env::temp_dir().join(format!("careload-loaders-{}-{name}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn missing(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("careload-loaders-{}-missing-{name}", std::process::id()))
}

#[test]
fn a_weights_file_that_cannot_be_read_is_named_with_the_hint() {
    let path = missing("weights.toml");
    let e = read_weights_file(&path).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Read {
                what: "weights file",
                ..
            }
        ),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("cannot read weights file {}: ", path.display())),
        "{shown}"
    );
    assert!(shown.ends_with("; check the path in the configuration"), "{shown}");
    // the service's loader is the same reader
    let shown = load_weights(Some(&path)).unwrap_err().to_string();
    assert!(shown.contains("cannot read weights file"), "{shown}");
}

#[test]
fn refused_weights_name_the_file_and_line() {
    let file = TempFile::new("bad-weights.toml", "[meta]\nversion = 2026\n[[[\n");
    let e = read_weights_file(&file.0).unwrap_err();
    let Error::Weights(w) = &e else {
        panic!("not a weights error: {e:?}");
    };
    assert_eq!(w.origin, file.0.display().to_string());
    assert!(!w.problems.is_empty());
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("{}:", file.0.display())), "{shown}");
    assert!(w.problems.iter().any(|p| p.line.is_some()), "{shown}");
}

#[test]
fn a_weights_file_is_read_with_its_text() {
    let built_in = load_weights(None).unwrap();
    let text = include_str!("../../../weights/2026.1.toml");
    let file = TempFile::new("weights.toml", text);
    let (weights, read) = read_weights_file(&file.0).unwrap();
    assert_eq!(read, text);
    assert_eq!(weights.digest, built_in.digest);
    assert_eq!(load_weights(Some(&file.0)).unwrap().digest, built_in.digest);
}

#[test]
fn a_mapping_file_that_cannot_be_read_or_is_invalid_is_named() {
    let path = missing("mapping.toml");
    let e = load_mapping(Some(&path)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Read {
                what: "mapping file",
                ..
            }
        ),
        "{e:?}"
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("cannot read mapping file {}: ", path.display())),
        "{shown}"
    );
    assert!(shown.ends_with("; check the path in the configuration"), "{shown}");

    let file = TempFile::new("bad-mapping.toml", "[[[\n");
    let shown = load_mapping(Some(&file.0)).unwrap_err().to_string();
    assert!(
        shown.starts_with(&format!("mapping file {} is not valid: ", file.0.display())),
        "{shown}"
    );
    assert!(shown.contains("line 1"), "{shown}");
    load_mapping(None).unwrap();
}

/// A variable no test sets.
const UNSET: &str = "CARELOAD_TEST_LOADERS_UNSET_PSEUDONYM_KEY";

#[test]
fn an_unset_pseudonym_key_follows_the_callers_policy() {
    assert!(std::env::var_os(UNSET).is_none());
    let development = careload_ingest::PseudonymKey::development().patient_key("p1");
    // the service: the simulated hospital and a declared test system fall back
    for (kind, insecure_dev_key) in [(SourceKind::Sim, false), (SourceKind::Bulk, true)] {
        let key = pseudonym_key(UNSET, WhenKeyUnset::Service { kind, insecure_dev_key }).unwrap();
        assert_eq!(key.patient_key("p1"), development);
    }
    // ... a real source is refused, naming the variable, the kind and the way out
    let e = pseudonym_key(
        UNSET,
        WhenKeyUnset::Service {
            kind: SourceKind::Fhir,
            insecure_dev_key: false,
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::DevelopmentKey { kind: "fhir", .. }), "{e:?}");
    let shown = e.to_string();
    assert!(shown.contains(UNSET), "{shown}");
    assert!(shown.contains("source.kind = fhir"), "{shown}");
    assert!(shown.contains("source.insecure_dev_key = true"), "{shown}");
    // a command: the development key, with the warning written
    let mut warnings = Vec::new();
    let key = pseudonym_key(UNSET, WhenKeyUnset::Warn(&mut warnings)).unwrap();
    assert_eq!(key.patient_key("p1"), development);
    assert_eq!(
        String::from_utf8(warnings).unwrap(),
        format!(
            "warning: {UNSET} is not set: pseudonyms use the PUBLIC development key; set {UNSET} to a secret for real patients\n"
        )
    );
}
