//! Patient pseudonyms: HMAC-SHA256 of the FHIR Patient id under a secret key,
//! as lowercase hex. The same id and key always give the same pseudonym, so
//! that hour-by-hour snapshots of one patient line up; without the key the
//! pseudonym cannot be traced back or recomputed.

use std::fmt;

use careload_scoring::snapshot::PatientKey;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::Error;

/// The shortest key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 16;

/// The default environment variable holding the key.
pub const DEFAULT_KEY_ENV: &str = "CARELOAD_PSEUDONYM_KEY";

/// The fixed key used by [`PseudonymKey::development`]: public, for demos and tests only.
const DEVELOPMENT_KEY: &[u8] = b"careload-development-key-NOT-SECRET";

/// The secret key patients' pseudonyms are computed under. `Debug` never shows it.
#[derive(Clone)]
pub struct PseudonymKey(Vec<u8>);

impl PseudonymKey {
    /// A key from raw bytes.
    ///
    /// # Errors
    /// [`Error::ShortKey`] for fewer than [`MIN_KEY_BYTES`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<PseudonymKey, Error> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(Error::ShortKey(bytes.len()));
        }
        Ok(PseudonymKey(bytes.to_vec()))
    }

    /// The key from an environment variable (its UTF-8 bytes).
    ///
    /// # Errors
    /// [`Error::MissingKey`] when the variable is unset or empty, [`Error::ShortKey`] when too short.
    pub fn from_env(var: &str) -> Result<PseudonymKey, Error> {
        match std::env::var(var) {
            Ok(value) if !value.is_empty() => PseudonymKey::from_bytes(value.as_bytes()),
            _ => Err(Error::MissingKey(var.to_owned())),
        }
    }

    /// A fixed, publicly known key for demos and tests. Pseudonyms made with
    /// it protect nothing: never use it on real patients.
    pub fn development() -> PseudonymKey {
        PseudonymKey(DEVELOPMENT_KEY.to_vec())
    }

    /// The pseudonym of a FHIR Patient id: 64 lowercase hex digits.
    pub fn patient_key(&self, patient_id: &str) -> PatientKey {
        let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            // HMAC accepts keys of any length; unreachable in practice.
            Err(_) => return PatientKey(String::new()),
        };
        mac.update(patient_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(64);
        for byte in digest.iter() {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        PatientKey(hex)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_hex() {
        let a = PseudonymKey::from_bytes(b"0123456789abcdef-one").unwrap();
        let b = PseudonymKey::from_bytes(b"0123456789abcdef-two").unwrap();
        let ka = a.patient_key("p-42");
        assert_eq!(ka, a.patient_key("p-42"), "same id and key, same pseudonym");
        assert_ne!(ka, b.patient_key("p-42"), "another key, another pseudonym");
        assert_ne!(ka, a.patient_key("p-43"), "another id, another pseudonym");
        assert_eq!(ka.0.len(), 64);
        assert!(ka.0.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert!(!ka.0.contains("p-42"));
    }

    #[test]
    fn short_keys_are_refused_and_debug_redacts() {
        assert!(matches!(PseudonymKey::from_bytes(b"short"), Err(Error::ShortKey(5))));
        let k = PseudonymKey::from_bytes(b"a-very-secret-key-value").unwrap();
        assert!(!format!("{k:?}").contains("secret"));
    }
}
