//! Conversions from the FHIR models' `time`-crate instants and dates to chrono.
//!
//! A FHIR `dateTime` may be a whole instant or only a date (`2026-12-01`,
//! `2026-12`, `2026`): both are valid R4, and real records carry both. A
//! date has no instant until it is placed in the wards' time zone, which
//! only the mapping knows, so what is held between runs is a [`When`] and the
//! mapping resolves it ([`When::start`]): a date is the start of that local
//! day (the first of the month or year for coarser dates).

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use fhir_sdk::{Date, DateTime as FhirDateTime, Instant};

/// A FHIR instant in UTC.
pub(crate) fn instant(i: &Instant) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i.0.unix_timestamp(), i.0.nanosecond())
}

/// A FHIR date's first calendar day (`2026` → 1 January 2026).
pub(crate) fn first_day(d: &Date) -> Option<NaiveDate> {
    match d {
        Date::Year(y) => NaiveDate::from_ymd_opt(*y, 1, 1),
        Date::YearMonth(y, m) => NaiveDate::from_ymd_opt(*y, u32::from(u8::from(*m)), 1),
        Date::Date(d) => NaiveDate::from_ymd_opt(d.year(), u32::from(u8::from(d.month())), u32::from(d.day())),
    }
}

/// A time as a FHIR `dateTime` gives it: an instant, or a calendar day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum When {
    /// A time with its offset: one instant.
    At(DateTime<Utc>),
    /// A date without a time (its first day when only the year or month is
    /// given): an instant only in a time zone.
    Day(NaiveDate),
}

impl When {
    /// A FHIR `dateTime`.
    pub(crate) fn of(d: &FhirDateTime) -> Option<When> {
        match d {
            FhirDateTime::DateTime(i) => instant(i).map(When::At),
            FhirDateTime::Date(d) => first_day(d).map(When::Day),
        }
    }

    /// The instant: itself, or the start of the day in `tz` (the first
    /// instant of it, should the day start in a DST gap).
    pub fn start(self, tz: Tz) -> DateTime<Utc> {
        match self {
            When::At(t) => t,
            When::Day(day) => local_midnight(day, tz),
        }
    }

    /// The instant when it is one, `None` for a day.
    pub fn instant(self) -> Option<DateTime<Utc>> {
        match self {
            When::At(t) => Some(t),
            When::Day(_) => None,
        }
    }
}

/// The first instant of `day` in `tz`.
fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc),
        // a day that starts in a gap: the first hour that exists
        None => (1..=3)
            .filter_map(|h| tz.from_local_datetime(&day.and_hms_opt(h, 0, 0)?).earliest())
            .next()
            .map_or_else(|| Utc.from_utc_datetime(&midnight), |t| t.with_timezone(&Utc)),
    }
}

/// A FHIR `dateTime` in UTC: the instant, or the start of its day in `tz`.
pub(crate) fn date_time_in(d: &FhirDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    When::of(d).map(|w| w.start(tz))
}

/// The end of what a FHIR `dateTime` covers, for a period's end: the
/// instant itself, or the start (in `tz`) of the day, month or year after
/// the date it gives (`2026-03` ends at 1 April).
pub(crate) fn end_in(d: &FhirDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    let next = match d {
        FhirDateTime::DateTime(i) => return instant(i),
        FhirDateTime::Date(Date::Year(y)) => NaiveDate::from_ymd_opt(y.checked_add(1)?, 1, 1)?,
        FhirDateTime::Date(Date::YearMonth(y, m)) => {
            let m = u32::from(u8::from(*m));
            if m == 12 {
                NaiveDate::from_ymd_opt(y.checked_add(1)?, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(*y, m + 1, 1)?
            }
        }
        FhirDateTime::Date(day) => first_day(day)?.succ_opt()?,
    };
    Some(local_midnight(next, tz))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> FhirDateTime {
        serde_json::from_value(serde_json::json!(text)).unwrap()
    }

    #[test]
    fn a_date_is_the_start_of_that_local_day() {
        let tz = chrono_tz::Europe::Stockholm;
        let winter = date_time_in(&parse("2026-12-01"), tz).unwrap();
        assert_eq!(winter, Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap());
        let summer = date_time_in(&parse("2026-07-01"), tz).unwrap();
        assert_eq!(summer, Utc.with_ymd_and_hms(2026, 6, 30, 22, 0, 0).unwrap());
        let month = date_time_in(&parse("2026-03"), tz).unwrap();
        assert_eq!(month, Utc.with_ymd_and_hms(2026, 2, 28, 23, 0, 0).unwrap());
        let year = date_time_in(&parse("2026"), chrono_tz::UTC).unwrap();
        assert_eq!(year, Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap());
        let instant = date_time_in(&parse("2026-12-01T08:30:00+01:00"), tz).unwrap();
        assert_eq!(instant, Utc.with_ymd_and_hms(2026, 12, 1, 7, 30, 0).unwrap());
        assert_eq!(When::of(&parse("2026-12-01")).unwrap().instant(), None);
    }

    #[test]
    fn a_day_that_starts_in_a_gap_starts_at_its_first_hour() {
        // Santiago moves its clocks from 00:00 (UTC−4) to 01:00 (UTC−3) on 2026-09-06
        let tz: Tz = "America/Santiago".parse().unwrap();
        let t = When::Day(NaiveDate::from_ymd_opt(2026, 9, 6).unwrap()).start(tz);
        assert_eq!(t, Utc.with_ymd_and_hms(2026, 9, 6, 4, 0, 0).unwrap());
    }

    #[test]
    fn a_date_as_an_end_covers_its_whole_day_month_or_year() {
        let tz = chrono_tz::UTC;
        let end = |s: &str| end_in(&parse(s), tz).unwrap();
        assert_eq!(end("2026-03-31"), Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap());
        assert_eq!(end("2026-03"), Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap());
        assert_eq!(end("2026-12"), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(end("2026"), Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(
            end("2026-03-31T10:00:00Z"),
            Utc.with_ymd_and_hms(2026, 3, 31, 10, 0, 0).unwrap()
        );
    }
}
