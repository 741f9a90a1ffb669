//! Patient pseudonyms: HMAC-SHA256 of the FHIR Patient id under a secret key,
//! as lowercase hex. The same id and key always give the same pseudonym, so
//! that hour-by-hour snapshots of one patient line up; without the key the
//! pseudonym cannot be traced back or recomputed.
//!
//! The clinical resources a score came from are tagged the same way
//! ([`PseudonymKey::resource_tag`]): `Observation#` and a keyed hash of the
//! resource's type and id, never the EHR's id, which often holds the
//! patient's (`Observation/p000001-m19-news2`). A tag is stable hour to hour,
//! so changes between hours line up, and whoever holds the key can check
//! which EHR resource a tag stands for; nobody else can.

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
///
/// It holds HMAC-SHA256 already keyed (the key's two pads hashed once), so
/// that each of the hour's pseudonyms and record tags costs only its own
/// input.
#[derive(Clone)]
pub struct PseudonymKey(Hmac<Sha256>);

impl PseudonymKey {
    /// A key from raw bytes.
    ///
    /// # Errors
    /// [`Error::ShortKey`] for fewer than [`MIN_KEY_BYTES`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<PseudonymKey, Error> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(Error::ShortKey(bytes.len()));
        }
        <Hmac<Sha256> as KeyInit>::new_from_slice(bytes)
            .map(PseudonymKey)
            .map_err(|_| Error::ShortKey(bytes.len()))
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
        match PseudonymKey::from_bytes(DEVELOPMENT_KEY) {
            Ok(key) => key,
            Err(_) => unreachable!("the development key is longer than MIN_KEY_BYTES"),
        }
    }

    /// The key of one FHIR source of a service that reads several
    /// (`[sources.<id>]`, issue 29), so that two EHRs' `Patient/123` get
    /// different pseudonyms: for `""` (the single default source) this key
    /// itself, so a service of one source keeps every pseudonym it had;
    /// else a subkey, HMAC-SHA256 of `careload source <id>` under this key.
    pub fn for_source(&self, source_id: &str) -> PseudonymKey {
        if source_id.is_empty() {
            return self.clone();
        }
        let mut mac = self.0.clone();
        mac.update(b"careload source ");
        mac.update(source_id.as_bytes());
        let subkey = mac.finalize().into_bytes();
        match <Hmac<Sha256> as KeyInit>::new_from_slice(&subkey) {
            Ok(mac) => PseudonymKey(mac),
            Err(_) => unreachable!("HMAC takes a key of any length"),
        }
    }

    /// The pseudonym of a FHIR Patient id: 64 lowercase hex digits.
    pub fn patient_key(&self, patient_id: &str) -> PatientKey {
        PatientKey(self.hex(&[patient_id.as_bytes()], 32))
    }

    /// The keyed tag of a clinical resource, `Type#` and 16 hex digits
    /// (64 bits of HMAC-SHA256 over `resource:Type/id`, apart from the
    /// patients' pseudonyms): what a snapshot keeps of the resource an item
    /// came from, instead of its EHR id.
    pub fn resource_tag(&self, resource_type: &str, id: &str) -> String {
        let hash = self.hex(&[b"resource:", resource_type.as_bytes(), b"/", id.as_bytes()], 8);
        format!("{resource_type}#{hash}")
    }

    /// The first `bytes` bytes of HMAC-SHA256 over `parts`, as lowercase hex.
    fn hex(&self, parts: &[&[u8]], bytes: usize) -> String {
        let mut mac = self.0.clone();
        for part in parts {
            mac.update(part);
        }
        let digest = mac.finalize().into_bytes();
        let mut hex = String::with_capacity(2 * bytes);
        for byte in digest.iter().take(bytes) {
            hex.push(char::from(HEX[usize::from(byte >> 4)]));
            hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        hex
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
    fn resource_tags_are_stable_keyed_and_hide_the_id() {
        let a = PseudonymKey::from_bytes(b"0123456789abcdef-one").unwrap();
        let b = PseudonymKey::from_bytes(b"0123456789abcdef-two").unwrap();
        let t = a.resource_tag("Observation", "p000001-m19-news2");
        assert_eq!(t, a.resource_tag("Observation", "p000001-m19-news2"));
        assert_ne!(t, b.resource_tag("Observation", "p000001-m19-news2"));
        assert_ne!(
            t,
            a.resource_tag("Task", "p000001-m19-news2"),
            "the type is part of the tag"
        );
        assert_ne!(t, a.resource_tag("Observation", "p000001-m19-news3"));
        let hash = t.strip_prefix("Observation#").unwrap();
        assert_eq!(hash.len(), 16);
        assert!(hash.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        // not the patient's pseudonym's prefix either
        assert!(!a.patient_key("p000001-m19-news2").0.starts_with(hash));
    }

    /// Fixed vectors, computed apart from this code (Python's `hmac` module:
    /// `hmac.new(key, msg, sha256).hexdigest()`): a change to what is hashed
    /// would re-key every stored patient and tag, so it must fail here first.
    #[test]
    fn pseudonyms_and_tags_match_fixed_vectors() {
        let key = PseudonymKey::from_bytes(b"0123456789abcdef-one").unwrap();
        assert_eq!(
            key.patient_key("p000001").0,
            "e988cde2863af1d2c0bfd63d4a63b0acf3d7a7d12d127f4d0c7ef2ccbe1ccf91"
        );
        assert_eq!(key.resource_tag("Observation", "o1"), "Observation#505fd7536b2cf6c3");
    }

    #[test]
    fn each_source_has_a_key_of_its_own_and_the_default_source_the_key_itself() {
        let key = PseudonymKey::from_bytes(b"0123456789abcdef-one").unwrap();
        // "": the single default source keeps every pseudonym and tag
        let own = key.for_source("");
        assert_eq!(own.patient_key("p000001"), key.patient_key("p000001"));
        assert_eq!(own.resource_tag("Task", "t1"), key.resource_tag("Task", "t1"));
        // two sources: two keys, neither the service's own
        let (nord, syd) = (key.for_source("nord"), key.for_source("syd"));
        assert_ne!(nord.patient_key("123"), syd.patient_key("123"));
        assert_ne!(nord.patient_key("123"), key.patient_key("123"));
        assert_ne!(nord.resource_tag("Task", "t1"), syd.resource_tag("Task", "t1"));
        // deterministic: the same id, the same key (every replica, every hour)
        assert_eq!(nord.patient_key("123"), key.for_source("nord").patient_key("123"));
        assert_ne!(
            nord.patient_key("123"),
            PseudonymKey::from_bytes(b"0123456789abcdef-two")
                .unwrap()
                .for_source("nord")
                .patient_key("123"),
            "another service key, another source key"
        );
        // fixed vectors (Python: sub = hmac.new(key, b"careload source nord",
        // sha256).digest(); hmac.new(sub, msg, sha256).hexdigest())
        assert_eq!(
            nord.patient_key("p000001").0,
            "5813f16a581c6803fa2dabd46ff9c3d51be21650bc7f8c61fd411bd4bbc97c7a"
        );
        assert_eq!(nord.resource_tag("Observation", "o1"), "Observation#cc24212ddbfd3042");
    }

    #[test]
    fn short_keys_are_refused_and_debug_redacts() {
        assert!(matches!(PseudonymKey::from_bytes(b"short"), Err(Error::ShortKey(5))));
        let k = PseudonymKey::from_bytes(b"a-very-secret-key-value").unwrap();
        assert!(!format!("{k:?}").contains("secret"));
    }
}
