//! Shifts: named parts of the day, turned into scoring windows.
//!
//! A [`ShiftPlan`] lists shifts by their local start time; each ends where the
//! next begins, the last one wrapping past midnight. The default is the
//! common Swedish day 07–15, evening 15–21, night 21–07, and each ward may
//! have its own. Local times become UTC instants with an explicit time zone
//! (the caller passes it, so this crate needs no zone database), which makes
//! a night shift 9 or 11 hours long on the nights the clocks change.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::score::Window;

/// One shift: a name and the local time it starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftDef {
    /// Its name (`day`, `evening`, `night`).
    pub name: String,
    /// Local start time.
    pub start: NaiveTime,
}

/// A day's shifts, validated: at least one, unique names, starts strictly
/// ascending within the day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShiftPlan {
    shifts: Vec<ShiftDef>,
}

/// A shift on a given day, as a window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShiftWindow {
    /// The shift's name.
    pub name: String,
    /// The local date on which it starts.
    pub date: NaiveDate,
    /// Its instants.
    pub window: Window,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// A local date and time as an instant: the earlier one when the clocks go
/// back, and the first valid minute after a gap when they go forward.
fn local_instant<Tz: TimeZone>(tz: &Tz, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut naive = date.and_time(time);
    for _ in 0..=180 {
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
        naive += Duration::minutes(1);
    }
    Utc.from_utc_datetime(&date.and_time(time))
}

impl Default for ShiftPlan {
    fn default() -> ShiftPlan {
        ShiftPlan {
            shifts: vec![
                ShiftDef {
                    name: "day".into(),
                    start: hm(7, 0),
                },
                ShiftDef {
                    name: "evening".into(),
                    start: hm(15, 0),
                },
                ShiftDef {
                    name: "night".into(),
                    start: hm(21, 0),
                },
            ],
        }
    }
}

impl ShiftPlan {
    /// A plan from shift definitions in any order.
    ///
    /// # Errors
    /// [`Error::BadShiftPlan`] when empty, a name repeats or two shifts start at the same time.
    pub fn new(mut shifts: Vec<ShiftDef>) -> Result<ShiftPlan, Error> {
        if shifts.is_empty() {
            return Err(Error::BadShiftPlan(
                "no shifts; define at least one, e.g. day at 07:00".into(),
            ));
        }
        shifts.sort_by_key(|s| s.start);
        for (i, s) in shifts.iter().enumerate() {
            if s.name.trim().is_empty() {
                return Err(Error::BadShiftPlan("a shift has an empty name".into()));
            }
            if shifts[..i].iter().any(|o| o.name == s.name) {
                return Err(Error::BadShiftPlan(format!("shift name {:?} is used twice", s.name)));
            }
            if i > 0 && shifts[i - 1].start == s.start {
                return Err(Error::BadShiftPlan(format!(
                    "shifts {:?} and {:?} both start at {}",
                    shifts[i - 1].name,
                    s.name,
                    s.start.format("%H:%M")
                )));
            }
        }
        Ok(ShiftPlan { shifts })
    }

    /// The shifts, ordered by local start time.
    pub fn shifts(&self) -> &[ShiftDef] {
        &self.shifts
    }

    /// The window of a named shift starting on a local date.
    ///
    /// # Errors
    /// [`Error::UnknownShift`] when no shift has that name.
    pub fn window<Tz: TimeZone>(&self, date: NaiveDate, name: &str, tz: &Tz) -> Result<ShiftWindow, Error> {
        let i = self
            .shifts
            .iter()
            .position(|s| s.name == name)
            .ok_or_else(|| Error::UnknownShift {
                name: name.to_owned(),
                known: self
                    .shifts
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        Ok(self.window_at(date, i, tz))
    }

    fn window_at<Tz: TimeZone>(&self, date: NaiveDate, i: usize, tz: &Tz) -> ShiftWindow {
        let def = &self.shifts[i];
        let start = local_instant(tz, date, def.start);
        let (end_date, end_time) = match self.shifts.get(i + 1) {
            Some(next) => (date, next.start),
            None => (date + Duration::days(1), self.shifts[0].start),
        };
        let end = local_instant(tz, end_date, end_time);
        ShiftWindow {
            name: def.name.clone(),
            date,
            window: Window { start, end },
        }
    }

    /// The shift that contains instant `t`.
    pub fn shift_at<Tz: TimeZone>(&self, t: DateTime<Utc>, tz: &Tz) -> ShiftWindow {
        let local_date = t.with_timezone(tz).date_naive();
        // the shift containing t started today or (for a wrapping shift) yesterday
        for date in [local_date, local_date - Duration::days(1)] {
            for i in (0..self.shifts.len()).rev() {
                let w = self.window_at(date, i, tz);
                if w.window.contains(t) {
                    return w;
                }
            }
        }
        // unreachable for a valid plan; fall back to the last shift of yesterday
        self.window_at(local_date - Duration::days(1), self.shifts.len() - 1, tz)
    }

    /// The shift after the one that contains `t`.
    pub fn next_shift<Tz: TimeZone>(&self, t: DateTime<Utc>, tz: &Tz) -> ShiftWindow {
        let current = self.shift_at(t, tz);
        self.shift_at(current.window.end, tz)
    }
}

#[cfg(test)]
mod tests {
    use chrono_tz::Europe::Stockholm;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("rfc3339")
    }

    #[test]
    fn default_plan_windows_in_winter_and_summer() {
        let plan = ShiftPlan::default();
        let cases = [
            // (instant, shift, start, end) — winter is UTC+1, summer UTC+2
            (
                "2026-01-15T06:00:00Z",
                "day",
                "2026-01-15T06:00:00Z",
                "2026-01-15T14:00:00Z",
            ),
            (
                "2026-01-15T13:59:00Z",
                "day",
                "2026-01-15T06:00:00Z",
                "2026-01-15T14:00:00Z",
            ),
            (
                "2026-01-15T14:00:00Z",
                "evening",
                "2026-01-15T14:00:00Z",
                "2026-01-15T20:00:00Z",
            ),
            (
                "2026-01-15T20:00:00Z",
                "night",
                "2026-01-15T20:00:00Z",
                "2026-01-16T06:00:00Z",
            ),
            (
                "2026-01-16T02:00:00Z",
                "night",
                "2026-01-15T20:00:00Z",
                "2026-01-16T06:00:00Z",
            ),
            (
                "2026-07-01T05:00:00Z",
                "day",
                "2026-07-01T05:00:00Z",
                "2026-07-01T13:00:00Z",
            ),
            (
                "2026-07-01T04:59:00Z",
                "night",
                "2026-06-30T19:00:00Z",
                "2026-07-01T05:00:00Z",
            ),
        ];
        for (t, name, start, end) in cases {
            let w = plan.shift_at(utc(t), &Stockholm);
            assert_eq!(w.name, name, "{t}");
            assert_eq!(w.window.start, utc(start), "{t}");
            assert_eq!(w.window.end, utc(end), "{t}");
        }
    }

    #[test]
    fn night_shift_length_changes_with_the_clocks() {
        let plan = ShiftPlan::default();
        let date = |s: &str| s.parse::<NaiveDate>().expect("date");
        // clocks forward on 2026-03-29: the night 28→29 March is 9 hours
        let spring = plan.window(date("2026-03-28"), "night", &Stockholm).unwrap();
        assert_eq!(spring.window.minutes(), 9 * 60);
        // clocks back on 2026-10-25: the night 24→25 October is 11 hours
        let autumn = plan.window(date("2026-10-24"), "night", &Stockholm).unwrap();
        assert_eq!(autumn.window.minutes(), 11 * 60);
        let ordinary = plan.window(date("2026-05-10"), "night", &Stockholm).unwrap();
        assert_eq!(ordinary.window.minutes(), 10 * 60);
    }

    #[test]
    fn next_shift_follows_the_current_one() {
        let plan = ShiftPlan::default();
        let next = plan.next_shift(utc("2026-01-15T10:00:00Z"), &Stockholm);
        assert_eq!(next.name, "evening");
        let after_night = plan.next_shift(utc("2026-01-15T23:00:00Z"), &Stockholm);
        assert_eq!(
            (after_night.name.as_str(), after_night.date.to_string().as_str()),
            ("day", "2026-01-16")
        );
    }

    #[test]
    fn a_ward_may_have_its_own_plan() {
        let plan = ShiftPlan::new(vec![
            ShiftDef {
                name: "night".into(),
                start: hm(19, 0),
            },
            ShiftDef {
                name: "day".into(),
                start: hm(7, 0),
            },
        ])
        .unwrap();
        let w = plan.shift_at(utc("2026-01-15T19:30:00Z"), &Stockholm);
        assert_eq!((w.name.as_str(), w.window.minutes()), ("night", 12 * 60));
    }

    #[test]
    fn bad_plans_are_refused_with_the_reason() {
        let cases: [(Vec<ShiftDef>, &str); 3] = [
            (vec![], "no shifts"),
            (
                vec![
                    ShiftDef {
                        name: "day".into(),
                        start: hm(7, 0),
                    },
                    ShiftDef {
                        name: "day".into(),
                        start: hm(15, 0),
                    },
                ],
                "used twice",
            ),
            (
                vec![
                    ShiftDef {
                        name: "a".into(),
                        start: hm(7, 0),
                    },
                    ShiftDef {
                        name: "b".into(),
                        start: hm(7, 0),
                    },
                ],
                "both start",
            ),
        ];
        for (shifts, expected) in cases {
            let err = ShiftPlan::new(shifts).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
        let unknown = ShiftPlan::default()
            .window(NaiveDate::MIN, "late", &Stockholm)
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("day, evening, night"), "{unknown}");
    }
}
