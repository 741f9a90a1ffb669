//! The snapshot's stored form: a compact binary encoding, read fast.
//!
//! The store keeps every patient's snapshot hour by hour, and the council's
//! back-test reads a month of them again (~700,000 for a 1,000-bed
//! hospital). As JSON a snapshot is ~4.5 KB, most of it key names and
//! instants as text, and parsing it was most of the back-test's time. This
//! form keeps the same content without the names:
//!
//! * two header bytes, [`MAGIC`] and [`VERSION`]; a reader refuses any other
//!   version with a clear error instead of guessing;
//! * fields in declaration order, each written by its type: unsigned numbers
//!   and lengths as LEB128 varints, signed ones zigzagged first, `f64` as its
//!   8 IEEE bytes, strings as a length and UTF-8, an `Option` as a 0/1 byte
//!   and its value, a list as its length and its items, an enum as one
//!   byte from a fixed table (never from the in-memory discriminant), an
//!   instant as seconds since 1970 and nanoseconds.
//!
//! Nothing is optional or skipped, so nothing is lost: whatever
//! [`encode`] writes, [`decode`] reads back equal (checked by a property
//! test over every field). A field added to a snapshot type does not compile
//! until it is added here (every struct is destructured without `..`); a
//! change to the layout is a new [`VERSION`], read beside the old.
//!
//! [`decode`] never panics and never allocates more than its input allows:
//! truncated, corrupt or foreign bytes give [`DecodeError`] saying where and
//! what. JSON stays the interchange form (files, the API); this is only what
//! the store keeps.

use chrono::{DateTime, Utc};

use crate::news2::{Acvpu, Spo2Scale, Vitals};
use crate::snapshot::{
    Activity, ActivityStatus, AdlDomain, AdlLevel, AdlNeed, CarePlan, Code, Diagnosis, Dosing, EmotionalSupport,
    MedicationOrder, News2Observation, Norton, NortonActivity, Order, PatientKey, Placement, Profession, Route, Sex,
    Snapshot, SupportLevel, VitalSigns,
};

/// The first byte of every stored snapshot. JSON never starts with it (JSON
/// starts with `{` or white space), so a reader tells the two apart.
pub const MAGIC: u8 = 0xCA;

/// The layout written by [`encode`].
pub const VERSION: u8 = 1;

/// Bytes that are not a stored snapshot of a known version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("stored snapshot: {what} at byte {offset}")]
pub struct DecodeError {
    /// Where in the input.
    pub offset: usize,
    /// What was wrong there.
    pub what: String,
}

/// True when `bytes` start like this encoding (of any version).
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes.first() == Some(&MAGIC)
}

/// The snapshot in its stored form.
pub fn encode(snapshot: &Snapshot) -> Vec<u8> {
    let mut out = Vec::with_capacity(1024);
    encode_into(snapshot, &mut out);
    out
}

/// [`encode`], appending to `out`.
pub fn encode_into(snapshot: &Snapshot, out: &mut Vec<u8>) {
    out.push(MAGIC);
    out.push(VERSION);
    snapshot.put(out);
}

/// Reads a snapshot written by [`encode`].
///
/// # Errors
/// Not this encoding, a version this build does not know, truncated or
/// corrupt input, or bytes left over after the snapshot.
pub fn decode(bytes: &[u8]) -> Result<Snapshot, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    match r.byte()? {
        MAGIC => {}
        b => {
            return Err(r.bad_at(
                0,
                format!("first byte {b:#04x} is not a stored snapshot's ({MAGIC:#04x})"),
            ));
        }
    }
    match r.byte()? {
        VERSION => {}
        v => {
            return Err(r.bad_at(
                1,
                format!("layout version {v} is not known to this build (it reads {VERSION}); upgrade careload"),
            ));
        }
    }
    let snapshot = Snapshot::get(&mut r)?;
    if r.at != bytes.len() {
        return Err(r.bad(format!("{} bytes left over after the snapshot", bytes.len() - r.at)));
    }
    Ok(snapshot)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bad(&self, what: impl Into<String>) -> DecodeError {
        self.bad_at(self.at, what)
    }

    fn bad_at(&self, offset: usize, what: impl Into<String>) -> DecodeError {
        DecodeError {
            offset,
            what: what.into(),
        }
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self.bytes.get(self.at).ok_or_else(|| self.bad("ends early"))?;
        self.at += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| self.bad(format!("ends early: {n} bytes announced")))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.at;
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                break;
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.bad_at(start, "a number longer than 64 bits"))
    }

    fn len(&mut self) -> Result<usize, DecodeError> {
        let at = self.at;
        let n = self.varint()?;
        // every item takes at least a byte: a length beyond the input is corrupt
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len() - self.at)
            .ok_or_else(|| self.bad_at(at, format!("length {n} is more than the bytes left")))
    }

    fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.len()?;
        let at = self.at;
        std::str::from_utf8(self.take(n)?).map_err(|e| self.bad_at(at, format!("text is not UTF-8 ({e})")))
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A value with a stored form.
trait Stored: Sized {
    fn put(&self, out: &mut Vec<u8>);
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

impl Stored for u8 {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.byte()
    }
}

impl Stored for u16 {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, u64::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.at;
        let v = r.varint()?;
        u16::try_from(v).map_err(|_| r.bad_at(at, format!("{v} does not fit 16 bits")))
    }
}

impl Stored for i32 {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, zigzag(i64::from(*self)));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.at;
        let v = unzigzag(r.varint()?);
        i32::try_from(v).map_err(|_| r.bad_at(at, format!("{v} does not fit 32 bits")))
    }
}

impl Stored for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(r.bad_at(r.at - 1, format!("{b} is not a truth value (0 or 1)"))),
        }
    }
}

impl Stored for f64 {
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let b = r.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }
}

impl Stored for String {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, self.len() as u64);
        out.extend_from_slice(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.str().map(str::to_owned)
    }
}

impl Stored for Code {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, self.len() as u64);
        out.extend_from_slice(self.as_bytes());
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.str().map(Code::new)
    }
}

impl Stored for PatientKey {
    fn put(&self, out: &mut Vec<u8>) {
        self.0.put(out);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        String::get(r).map(PatientKey)
    }
}

/// Seconds since 1970 (zigzag) and nanoseconds: exact for every instant
/// chrono holds.
impl Stored for DateTime<Utc> {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, zigzag(self.timestamp()));
        put_varint(out, u64::from(self.timestamp_subsec_nanos()));
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let at = r.at;
        let secs = unzigzag(r.varint()?);
        let nanos = r.varint()?;
        u32::try_from(nanos)
            .ok()
            .and_then(|n| DateTime::from_timestamp(secs, n))
            .ok_or_else(|| r.bad_at(at, format!("{secs} s {nanos} ns is not an instant")))
    }
}

impl<T: Stored> Stored for Option<T> {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.put(out);
            }
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0 => Ok(None),
            1 => T::get(r).map(Some),
            b => Err(r.bad_at(r.at - 1, format!("{b} is not an option's tag (0 or 1)"))),
        }
    }
}

impl<T: Stored> Stored for Vec<T> {
    fn put(&self, out: &mut Vec<u8>) {
        put_varint(out, self.len() as u64);
        for v in self {
            v.put(out);
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.len()?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(T::get(r)?);
        }
        Ok(v)
    }
}

/// An enum as one byte from a fixed table: the bytes are the stored
/// layout, so they are written out rather than taken from `as u8`.
macro_rules! stored_enum {
    ($t:ident { $($v:ident = $n:literal),+ $(,)? }) => {
        impl Stored for $t {
            fn put(&self, out: &mut Vec<u8>) {
                out.push(match self { $($t::$v => $n),+ });
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                match r.byte()? {
                    $($n => Ok($t::$v),)+
                    b => Err(r.bad_at(r.at - 1, format!("{b} is not a {}", stringify!($t)))),
                }
            }
        }
    };
}

stored_enum!(Sex { Female = 0, Male = 1, Other = 2, Unknown = 3 });
stored_enum!(Profession { Usk = 0, Ssk = 1 });
stored_enum!(NortonActivity { Walks = 0, WalksWithHelp = 1, Wheelchair = 2, Bedridden = 3 });
stored_enum!(SupportLevel { LessThanHourly = 0, Hourly = 1, TwiceHourly = 2, ContinuousOne = 3, ContinuousMore = 4 });
stored_enum!(ActivityStatus { Open = 0, Completed = 1, Cancelled = 2 });
stored_enum!(Route {
    Oral = 0,
    Intravenous = 1,
    Subcutaneous = 2,
    Intramuscular = 3,
    Inhalation = 4,
    Enteral = 5,
    Topical = 6,
    Rectal = 7,
    Other = 8,
});
stored_enum!(AdlDomain { Hygiene = 0, EatingDrinking = 1, Dressing = 2, Toileting = 3, Mobility = 4 });
stored_enum!(AdlLevel { Independent = 0, PartialHelp = 1, FullHelp = 2 });
stored_enum!(Spo2Scale { Scale1 = 0, Scale2 = 1 });
stored_enum!(Acvpu { Alert = 0, NewConfusion = 1, Voice = 2, Pain = 3, Unresponsive = 4 });

/// A struct as its fields in declaration order. The destructuring has no
/// `..`: a field added to the type is a compile error here until it is
/// stored.
macro_rules! stored_struct {
    ($t:ident { $($f:ident),+ $(,)? }) => {
        impl Stored for $t {
            fn put(&self, out: &mut Vec<u8>) {
                let $t { $($f),+ } = self;
                $($f.put(out);)+
            }
            fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                $(let $f = Stored::get(r)?;)+
                Ok($t { $($f),+ })
            }
        }
    };
}

stored_struct!(Norton {
    activity,
    total,
    assessed_at
});
stored_struct!(EmotionalSupport {
    level,
    assessed_at,
    source
});
stored_struct!(News2Observation { at, value, source });
stored_struct!(VitalSigns { at, vitals, source });
stored_struct!(Vitals {
    respiration_rate,
    spo2,
    spo2_scale,
    on_oxygen,
    systolic_bp,
    pulse,
    consciousness,
    temperature,
});
stored_struct!(Activity {
    code,
    due,
    status,
    profession,
    source
});
stored_struct!(MedicationOrder { route, dosing, source });
stored_struct!(Order { category, due, source });
stored_struct!(CarePlan { category, source });
stored_struct!(Diagnosis { code, source });
stored_struct!(AdlNeed {
    domain,
    level,
    assessed_at
});
stored_struct!(Placement { ward, team, room, bed });
stored_struct!(Snapshot {
    as_of,
    key,
    sex,
    birth_year,
    admitted_at,
    placement,
    specialty,
    outlying,
    norton,
    news2,
    vitals,
    emotional_support,
    activities,
    medications,
    orders,
    care_plans,
    diagnoses,
    adl,
});

/// `at` 0 and its instants, `per_day` 1 and its count, `as_needed` 2.
impl Stored for Dosing {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Dosing::At { times } => {
                out.push(0);
                times.put(out);
            }
            Dosing::PerDay { times } => {
                out.push(1);
                times.put(out);
            }
            Dosing::AsNeeded => out.push(2),
        }
    }
    fn get(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.byte()? {
            0 => Ok(Dosing::At { times: Stored::get(r)? }),
            1 => Ok(Dosing::PerDay { times: Stored::get(r)? }),
            2 => Ok(Dosing::AsNeeded),
            b => Err(r.bad_at(r.at - 1, format!("{b} is not a dosing kind"))),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn varints_and_zigzag_round_trip_at_the_edges() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX - 1, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            let mut r = Reader { bytes: &out, at: 0 };
            assert_eq!(r.varint().unwrap(), v);
            assert_eq!(r.at, out.len());
        }
        for v in [0i64, -1, 1, i64::MIN, i64::MAX] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
        // eleven continuation bytes: not a 64-bit number
        let long = [0xffu8; 11];
        let err = Reader { bytes: &long, at: 0 }.varint().unwrap_err();
        assert!(err.what.contains("longer than 64 bits"), "{err}");
    }

    #[test]
    fn a_length_beyond_the_input_is_refused_before_allocating() {
        let mut out = Vec::new();
        put_varint(&mut out, u64::MAX >> 1);
        let err = Vec::<u8>::get(&mut Reader { bytes: &out, at: 0 }).unwrap_err();
        assert!(err.what.contains("more than the bytes left"), "{err}");
    }
}
