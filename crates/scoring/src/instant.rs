//! The snapshot's instants in JSON, read fast.
//!
//! Every stored patient-hour holds some fifty instants, and re-reading them
//! (the council's back-test re-scores a month of a hospital: ~700,000
//! snapshots) spent more time in chrono's general RFC 3339 parser than in
//! scoring. Instants are written as chrono writes them
//! (`2026-12-01T08:22:00Z`); this module reads that form directly and hands
//! every other form to chrono, so what is accepted and what it means is
//! exactly chrono's. Use with `#[serde(with = "crate::instant")]` (and
//! `instant::option`, `instant::vec`).

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Serialize, Serializer};

/// `s` as an instant: `YYYY-MM-DDTHH:MM:SSZ` directly, anything else by
/// chrono's `FromStr` (offsets, fractions, a space for the `T`…).
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    fast(s.as_bytes()).or_else(|| s.parse().ok())
}

/// The one form chrono writes for whole seconds in UTC.
fn fast(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range]
            .iter()
            .try_fold(0u32, |n, &c| c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0')))
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)?;
    let time = NaiveTime::from_hms_opt(num(11..13)?, num(14..16)?, num(17..19)?)?;
    Some(date.and_time(time).and_utc())
}

struct InstantVisitor;

impl Visitor<'_> for InstantVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an RFC 3339 instant such as 2026-12-01T08:22:00Z")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<DateTime<Utc>, E> {
        parse(v).ok_or_else(|| E::custom(format!("not an RFC 3339 instant: {v:?}")))
    }
}

/// Writes as chrono does.
///
/// # Errors
/// The serializer's.
pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    t.serialize(s)
}

/// Reads an instant (see [`parse`]).
///
/// # Errors
/// Not a string, or not an instant.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(InstantVisitor)
}

/// `Option<DateTime<Utc>>`: `null` is `None`.
pub mod option {
    use super::*;

    struct OptionVisitor;

    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an RFC 3339 instant or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::deserialize(d).map(Some)
        }
    }

    /// Writes as chrono does (`null` for `None`).
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        t.serialize(s)
    }

    /// Reads an instant or `null`.
    ///
    /// # Errors
    /// Neither.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        d.deserialize_option(OptionVisitor)
    }
}

/// `Vec<DateTime<Utc>>`.
pub mod vec {
    use super::*;

    /// Reads a list of instants (also for readers of their own).
    pub(crate) struct SeqVisitor;

    impl<'de> Visitor<'de> for SeqVisitor {
        type Value = Vec<DateTime<Utc>>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list of RFC 3339 instants")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(256));
            while let Some(Instant(t)) = seq.next_element()? {
                out.push(t);
            }
            Ok(out)
        }
    }

    /// One element.
    struct Instant(DateTime<Utc>);

    impl<'de> serde::Deserialize<'de> for Instant {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Instant, D::Error> {
            super::deserialize(d).map(Instant)
        }
    }

    /// Writes as chrono does.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(t: &[DateTime<Utc>], s: S) -> Result<S::Ok, S::Error> {
        t.serialize(s)
    }

    /// Reads a list of instants.
    ///
    /// # Errors
    /// Not a list, or an element is not an instant.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<DateTime<Utc>>, D::Error> {
        d.deserialize_seq(SeqVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    proptest! {
        /// What chrono writes reads back the same, by the fast path.
        #[test]
        fn written_instants_read_back(secs in -2_000_000_000i64..8_000_000_000i64) {
            let t = DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(secs);
            let text = serde_json::to_string(&t).unwrap_or_default();
            let read: DateTime<Utc> = deserialize(&mut serde_json::Deserializer::from_str(&text)).unwrap_or_default();
            prop_assert_eq!(read, t);
            // and that text is the fast form
            prop_assert_eq!(fast(text.trim_matches('"').as_bytes()), Some(t));
        }

        /// Any text: the same answer as chrono.
        #[test]
        fn any_text_reads_as_chrono_reads_it(s in "[0-9T:Z+. -]{0,30}") {
            prop_assert_eq!(parse(&s), s.parse::<DateTime<Utc>>().ok());
        }
    }

    #[test]
    fn forms_and_refusals() {
        let t = |s: &str| parse(s).map(|t| t.to_rfc3339());
        assert_eq!(t("2026-12-01T08:22:00Z").as_deref(), Some("2026-12-01T08:22:00+00:00"));
        // not the fast form: chrono decides
        assert_eq!(
            t("2026-12-01T09:22:00+01:00").as_deref(),
            Some("2026-12-01T08:22:00+00:00")
        );
        assert_eq!(
            t("2026-12-01T08:22:00.5Z").as_deref(),
            Some("2026-12-01T08:22:00.500+00:00")
        );
        // the fast form's shape, but no such day or time: refused as chrono refuses
        for bad in [
            "2026-02-30T08:22:00Z",
            "2026-12-01T24:00:00Z",
            "2026-1x-01T08:22:00Z",
            "yesterday",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
            assert_eq!(bad.parse::<DateTime<Utc>>().ok(), None, "{bad}");
        }
        let err = serde_json::from_str::<Wrapper>(r#"{"t":"soon"}"#)
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("not an RFC 3339 instant"), "{err}");
        let w: Wrapper = serde_json::from_str(r#"{"t":"2026-12-01T08:22:00Z","o":null,"v":["2026-12-01T08:22:00Z"]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((w.o, w.v.len()), (None, 1));
    }

    #[derive(serde::Deserialize)]
    struct Wrapper {
        #[serde(with = "super")]
        #[allow(dead_code)]
        t: DateTime<Utc>,
        #[serde(default, with = "super::option")]
        o: Option<DateTime<Utc>>,
        #[serde(default, with = "super::vec")]
        v: Vec<DateTime<Utc>>,
    }
}
