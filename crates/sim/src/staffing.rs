//! Planned staffing as the hospital's scheduling system exports it: the CSV
//! of `docs/planned-staffing-csv.md` (`ward;team;date;shift;profession;planned;absent`).
//!
//! The simulated schedule is what a ward's roster looks like, not what the
//! score asks for: per team and shift, a number of assistant nurses (USK) and
//! registered nurses (SSK) proportional to the team's beds, rounded, with a
//! person more or less here and there, and a few people absent (sick, leave).
//! Night shifts are planned for the whole ward (empty team), as most wards
//! do. Shift names are those of the default shift plan (`day` 07–15,
//! `evening` 15–21, `night` 21–07).
//!
//! Deterministic: the same seed, hospital and dates give the same file,
//! whatever the hospital's clock, because the schedule draws from its own
//! random stream per ward and date.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};

use crate::model::Hospital;
use crate::rng::Rng;

/// The random stream offset for schedules (other streams: patients, wards,
/// the truth's ratings).
pub(crate) const STAFFING_STREAM: u64 = 0x5747_4146_0000_0000;

/// Chance that one planned person is absent.
const ABSENCE: f64 = 0.06;

/// One shift of the default plan and its staff per regular bed.
pub(crate) struct ShiftRatio {
    pub(crate) name: &'static str,
    /// The local hour it starts at.
    pub(crate) start_hour: u32,
    /// Its length in hours.
    pub(crate) hours: u32,
    /// Planned per team (`true`) or for the whole ward (`false`).
    pub(crate) per_team: bool,
    usk_per_bed: f64,
    ssk_per_bed: f64,
}

/// Staff per bed, by shift: a medical or surgical ward's usual roster.
pub(crate) const SHIFTS: [ShiftRatio; 3] = [
    ShiftRatio {
        name: "day",
        start_hour: 7,
        hours: 8,
        per_team: true,
        usk_per_bed: 0.30,
        ssk_per_bed: 0.13,
    },
    ShiftRatio {
        name: "evening",
        start_hour: 15,
        hours: 6,
        per_team: true,
        usk_per_bed: 0.20,
        ssk_per_bed: 0.08,
    },
    ShiftRatio {
        name: "night",
        start_hour: 21,
        hours: 10,
        per_team: false,
        usk_per_bed: 0.09,
        ssk_per_bed: 0.05,
    },
];

/// Planned people for `beds` at `per_bed`, with roster noise: one fewer or
/// one more now and then, at least one when any are needed.
fn planned(beds: usize, per_bed: f64, rng: &mut Rng) -> u32 {
    let base = (beds as f64 * per_bed).round().max(1.0) as i64;
    let noise = [-1, 0, 1][rng.weighted(&[0.2, 0.6, 0.2])];
    (base + noise).max(1) as u32
}

/// How many of `planned` people are away.
fn absent(planned: u32, rng: &mut Rng) -> u32 {
    (0..planned).filter(|_| rng.bernoulli(ABSENCE)).count() as u32
}

/// One row of a ward's roster for a date: who is planned and who is away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RosterRow {
    /// Index into [`SHIFTS`].
    pub(crate) shift: usize,
    /// The team's index in the ward, `None` for the whole ward.
    pub(crate) team: Option<usize>,
    /// 0 for USK, 1 for SSK.
    pub(crate) profession: usize,
    pub(crate) planned: u32,
    pub(crate) absent: u32,
}

impl RosterRow {
    /// The people present: planned minus absent.
    pub(crate) fn present(&self) -> u32 {
        self.planned - self.absent
    }
}

/// The professions of the roster, in [`RosterRow::profession`]'s order.
pub(crate) const PROFESSIONS: [&str; 2] = ["USK", "SSK"];

impl Hospital {
    /// The roster of ward `w` (an index) on local date `date`: every shift,
    /// team (or the whole ward) and profession, drawn from the ward's and
    /// date's own stream.
    pub(crate) fn roster(&self, w: usize, date: NaiveDate) -> Vec<RosterRow> {
        let ward = &self.wards[w];
        let regular = &ward.beds[..ward.capacity];
        let stream = STAFFING_STREAM ^ ((w as u64) << 20) ^ u64::from(date.num_days_from_ce() as u32);
        let mut rng = Rng::stream(self.config().seed, stream);
        let mut rows = Vec::new();
        for (s, shift) in SHIFTS.iter().enumerate() {
            let groups: Vec<(Option<usize>, usize)> = if shift.per_team {
                (0..ward.teams.len())
                    .map(|t| (Some(t), regular.iter().filter(|b| b.team == t).count()))
                    .collect()
            } else {
                vec![(None, regular.len())]
            };
            for (team, beds) in groups {
                for (profession, per_bed) in [shift.usk_per_bed, shift.ssk_per_bed].into_iter().enumerate() {
                    let planned = planned(beds, per_bed, &mut rng);
                    let absent = absent(planned, &mut rng);
                    rows.push(RosterRow {
                        shift: s,
                        team,
                        profession,
                        planned,
                        absent,
                    });
                }
            }
        }
        rows
    }

    /// The planned staffing of every ward for `days` local dates from
    /// `from`, as the scheduling system's CSV (header first, `;`-separated,
    /// UTF-8, LF line ends).
    pub fn staffing_csv(&self, from: NaiveDate, days: u32) -> String {
        let mut out = String::from("ward;team;date;shift;profession;planned;absent\n");
        for (w, ward) in self.wards.iter().enumerate() {
            for d in 0..days {
                let date = from + chrono::Duration::days(i64::from(d));
                for row in self.roster(w, date) {
                    let team = row.team.map_or("", |t| ward.teams[t].as_str());
                    let _ = writeln!(
                        out,
                        "{};{team};{date};{};{};{};{}",
                        ward.id, SHIFTS[row.shift].name, PROFESSIONS[row.profession], row.planned, row.absent
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::{TimeZone as _, Utc};

    use crate::{Hospital, SimConfig};

    fn hospital(seed: u64) -> Hospital {
        let start = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).single().unwrap();
        Hospital::new(SimConfig {
            beds: 150,
            ..SimConfig::new(seed, start)
        })
        .unwrap()
    }

    fn date() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn every_ward_team_shift_and_profession_has_one_row_per_date() {
        let h = hospital(3);
        let csv = h.staffing_csv(date(), 2);
        let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(';').collect()).collect();
        let teams: usize = h.wards.iter().map(|w| w.teams.len()).sum();
        // day and evening per team, night per ward; USK and SSK; two dates
        assert_eq!(rows.len(), (2 * teams + h.wards.len()) * 2 * 2);
        let mut keys = std::collections::BTreeSet::new();
        for r in &rows {
            assert_eq!(r.len(), 7, "{r:?}");
            assert!(keys.insert((r[0], r[1], r[2], r[3], r[4])), "duplicate row {r:?}");
            let planned: u32 = r[5].parse().unwrap();
            let absent: u32 = r[6].parse().unwrap();
            assert!(planned >= 1 && absent <= planned, "{r:?}");
            assert_eq!(r[1].is_empty(), r[3] == "night", "{r:?}");
        }
    }

    #[test]
    fn staff_follow_the_beds_and_the_same_seed_gives_the_same_file() {
        let h = hospital(5);
        let csv = h.staffing_csv(date(), 7);
        assert_eq!(csv, hospital(5).staffing_csv(date(), 7));
        assert_ne!(csv, hospital(6).staffing_csv(date(), 7));
        // across a week, day USK per ward ≈ 0.30 per bed (noise averages out)
        for w in &h.wards {
            let usk: u32 = csv
                .lines()
                .filter(|l| l.starts_with(&format!("{};", w.id)) && l.contains(";day;USK;"))
                .map(|l| l.split(';').nth(5).unwrap().parse::<u32>().unwrap())
                .sum();
            let per_bed_day = f64::from(usk) / 7.0 / w.capacity as f64;
            assert!((0.18..=0.40).contains(&per_bed_day), "{}: {per_bed_day}", w.id);
        }
        // some people are absent over a week, not most
        let (planned, absent) = csv.lines().skip(1).fold((0u32, 0u32), |(p, a), l| {
            let f: Vec<&str> = l.split(';').collect();
            (p + f[5].parse::<u32>().unwrap(), a + f[6].parse::<u32>().unwrap())
        });
        let share = f64::from(absent) / f64::from(planned);
        assert!((0.01..=0.15).contains(&share), "absence share {share}");
    }
}
