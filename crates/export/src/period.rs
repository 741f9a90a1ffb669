//! Periods: the hour, shift, day, ISO week, month, quarter or year an hour
//! belongs to, in the hospital's time zone, with a label people read
//! (`2026-W48`, `2026-Q4`) and the UTC instants it spans.
//!
//! Days start at local midnight, so a day is 23 or 25 hours long when the
//! clocks change; shifts come from the ward's shift plan. The comparison key
//! names the period one year earlier: the same ISO week number, month,
//! quarter or year of the previous year, and for hours, shifts and days the
//! one 364 days earlier (same weekday: Mondays compare with Mondays).

use careload_scoring::shift::ShiftPlan;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::Grain;

/// One period.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Period {
    /// What people read: `2026-11-23T14:00+01:00`, `2026-11-23 day`,
    /// `2026-11-23`, `2026-W48`, `2026-11`, `2026-Q4`, `2026`.
    pub label: String,
    /// First instant.
    pub start: DateTime<Utc>,
    /// First instant after it.
    pub end: DateTime<Utc>,
}

/// Local midnight of a date as an instant (the first valid instant of the
/// day in the rare zone where midnight is skipped).
pub fn local_midnight(tz: &Tz, date: NaiveDate) -> DateTime<Utc> {
    let mut naive = date.and_time(NaiveTime::MIN);
    for _ in 0..=180 {
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
        naive += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

fn month_start(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

fn add_months(date: NaiveDate, months: u32) -> NaiveDate {
    let index = date.year() * 12 + date.month0() as i32 + months as i32;
    month_start(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)
}

fn days(tz: &Tz, label: String, first: NaiveDate, next: NaiveDate) -> Period {
    Period {
        label,
        start: local_midnight(tz, first),
        end: local_midnight(tz, next),
    }
}

/// The period of `grain` containing instant `t` (`plan` is used for shifts).
pub fn period_of(grain: Grain, t: DateTime<Utc>, tz: &Tz, plan: &ShiftPlan) -> Period {
    let local = t.with_timezone(tz);
    let date = local.date_naive();
    match grain {
        Grain::Hour => {
            let start = DateTime::<Utc>::from_timestamp(t.timestamp().div_euclid(3600) * 3600, 0).unwrap_or(t);
            Period {
                label: start.with_timezone(tz).format("%Y-%m-%dT%H:%M%:z").to_string(),
                start,
                end: start + Duration::hours(1),
            }
        }
        Grain::Shift => {
            let w = plan.shift_at(t, tz);
            Period {
                label: format!("{} {}", w.date, w.name),
                start: w.window.start,
                end: w.window.end,
            }
        }
        Grain::Day => days(tz, date.to_string(), date, date + Duration::days(1)),
        Grain::Week => {
            let monday = date - Duration::days(i64::from(date.weekday().num_days_from_monday()));
            let iso = date.iso_week();
            days(
                tz,
                format!("{}-W{:02}", iso.year(), iso.week()),
                monday,
                monday + Duration::days(7),
            )
        }
        Grain::Month => {
            let first = month_start(date.year(), date.month());
            days(
                tz,
                format!("{}-{:02}", date.year(), date.month()),
                first,
                add_months(first, 1),
            )
        }
        Grain::Quarter => {
            let q = date.month0() / 3;
            let first = month_start(date.year(), q * 3 + 1);
            days(tz, format!("{}-Q{}", date.year(), q + 1), first, add_months(first, 3))
        }
        Grain::Year => {
            let first = month_start(date.year(), 1);
            days(tz, date.year().to_string(), first, add_months(first, 12))
        }
    }
}

/// The label of the period one year before `p` (see the module docs), or
/// `None` for ISO week 53 when the previous year has none.
pub fn year_earlier(grain: Grain, p: &Period, tz: &Tz, plan: &ShiftPlan) -> Option<String> {
    match grain {
        Grain::Hour | Grain::Shift | Grain::Day => {
            // Mid-period, so that a 23-hour day or a shifted shift still lands inside.
            let mid = p.start + (p.end - p.start) / 2;
            Some(period_of(grain, mid - Duration::days(364), tz, plan).label)
        }
        Grain::Week => {
            let (year, week) = p.label.split_once("-W")?;
            let year: i32 = year.parse().ok()?;
            let week: u32 = week.parse().ok()?;
            NaiveDate::from_isoywd_opt(year - 1, week, chrono::Weekday::Mon).map(|_| format!("{}-W{week:02}", year - 1))
        }
        Grain::Month | Grain::Quarter | Grain::Year => {
            let (year, rest) = p.label.split_at(4);
            let year: i32 = year.parse().ok()?;
            Some(format!("{}{rest}", year - 1))
        }
    }
}

/// The instants of local dates `[from, to]` widened to whole periods of
/// `grain` under every plan in `plans`.
pub fn widen(
    grain: Grain,
    from: NaiveDate,
    to: NaiveDate,
    tz: &Tz,
    plans: &[&ShiftPlan],
) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = local_midnight(tz, from);
    let end = local_midnight(tz, to + Duration::days(1));
    let mut lo = start;
    let mut hi = end;
    for plan in plans {
        lo = lo.min(period_of(grain, start, tz, plan).start);
        hi = hi.max(period_of(grain, end - Duration::hours(1), tz, plan).end);
    }
    (lo, hi)
}

#[cfg(test)]
mod tests {
    use chrono_tz::Europe::Stockholm;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("rfc3339")
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn periods_in_the_hospitals_zone() {
        let plan = ShiftPlan::default();
        let tz = Stockholm;
        // 2026-11-23T22:30Z is 23:30 local (UTC+1): still Monday the 23rd, night shift.
        let t = utc("2026-11-23T22:30:00Z");
        let cases = [
            (
                Grain::Hour,
                "2026-11-23T23:00+01:00",
                "2026-11-23T22:00:00Z",
                "2026-11-23T23:00:00Z",
            ),
            (
                Grain::Shift,
                "2026-11-23 night",
                "2026-11-23T20:00:00Z",
                "2026-11-24T06:00:00Z",
            ),
            (Grain::Day, "2026-11-23", "2026-11-22T23:00:00Z", "2026-11-23T23:00:00Z"),
            (Grain::Week, "2026-W48", "2026-11-22T23:00:00Z", "2026-11-29T23:00:00Z"),
            (Grain::Month, "2026-11", "2026-10-31T23:00:00Z", "2026-11-30T23:00:00Z"),
            (
                Grain::Quarter,
                "2026-Q4",
                "2026-09-30T22:00:00Z",
                "2026-12-31T23:00:00Z",
            ),
            (Grain::Year, "2026", "2025-12-31T23:00:00Z", "2026-12-31T23:00:00Z"),
        ];
        for (grain, label, start, end) in cases {
            let p = period_of(grain, t, &tz, &plan);
            assert_eq!(p.label, label, "{grain}");
            assert_eq!(p.start, utc(start), "{grain} start");
            assert_eq!(p.end, utc(end), "{grain} end");
        }
        // The first day of a week in January can belong to the previous ISO year.
        let p = period_of(Grain::Week, utc("2027-01-01T12:00:00Z"), &tz, &plan);
        assert_eq!(p.label, "2026-W53");
    }

    #[test]
    fn days_are_23_or_25_hours_when_the_clocks_change() {
        let plan = ShiftPlan::default();
        let spring = period_of(Grain::Day, utc("2026-03-29T12:00:00Z"), &Stockholm, &plan);
        assert_eq!((spring.end - spring.start).num_hours(), 23);
        let autumn = period_of(Grain::Day, utc("2026-10-25T12:00:00Z"), &Stockholm, &plan);
        assert_eq!((autumn.end - autumn.start).num_hours(), 25);
    }

    #[test]
    fn a_year_earlier() {
        let plan = ShiftPlan::default();
        let tz = Stockholm;
        let at = utc("2026-11-23T10:00:00Z"); // a Monday
        let label = |g| year_earlier(g, &period_of(g, at, &tz, &plan), &tz, &plan);
        assert_eq!(label(Grain::Day).as_deref(), Some("2025-11-24")); // also a Monday
        assert_eq!(label(Grain::Shift).as_deref(), Some("2025-11-24 day"));
        assert_eq!(label(Grain::Week).as_deref(), Some("2025-W48"));
        assert_eq!(label(Grain::Month).as_deref(), Some("2025-11"));
        assert_eq!(label(Grain::Quarter).as_deref(), Some("2025-Q4"));
        assert_eq!(label(Grain::Year).as_deref(), Some("2025"));
        // 2026 has an ISO week 53; 2025 has not.
        let w53 = period_of(Grain::Week, utc("2026-12-30T12:00:00Z"), &tz, &plan);
        assert_eq!(w53.label, "2026-W53");
        assert_eq!(year_earlier(Grain::Week, &w53, &tz, &plan), None);
    }

    #[test]
    fn ranges_widen_to_whole_periods() {
        let plan = ShiftPlan::default();
        let (lo, hi) = widen(Grain::Week, d("2026-11-25"), d("2026-11-26"), &Stockholm, &[&plan]);
        assert_eq!(lo, utc("2026-11-22T23:00:00Z"));
        assert_eq!(hi, utc("2026-11-29T23:00:00Z"));
        // the night shift before the first midnight starts the evening before
        let (lo, hi) = widen(Grain::Shift, d("2026-11-25"), d("2026-11-25"), &Stockholm, &[&plan]);
        assert_eq!(lo, utc("2026-11-24T20:00:00Z"));
        assert_eq!(hi, utc("2026-11-26T06:00:00Z"));
    }
}
