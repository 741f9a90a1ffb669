//! A ward's patient flow learnt from its own stored hours (issue 28, the
//! first step of a forecast that knows it is uncertain): per hour of the
//! week, how many patients arrive (admissions and transfers in) and what
//! share of those present leave (discharges and transfers out).
//!
//! Pure like the rest of the crate: the caller gives one [`CensusHour`] per
//! stored hour — who was on the ward, and the hour's start in the hospital's
//! zone — and [`learn_flow`] counts.
//!
//! # Counting
//!
//! * A stored hour's census is who was on the ward at its start. A patient
//!   **arrives** during hour `h` when absent from `h`'s census and present in
//!   the next hour's; **departs** during `h` when present in `h`'s census and
//!   absent from the next. A move between wards is a departure from one and
//!   an arrival in the other, as the staff feel it.
//! * Only pairs of **consecutive stored hours** count: across a gap (a
//!   failed run) nobody can tell when someone came or went, so that pair is
//!   left out of both the counts and the exposure
//!   ([`Flow::gaps`]).
//! * Per hour of the week (Monday 00–01 local is 0, Sunday 23–24 is 167):
//!   the **arrival rate** is the arrivals during that hour over the hours
//!   observed; the **departure probability** is the departures during it
//!   over the patients present at its start (the exposure), so a fuller ward
//!   sends more home.
//! * **A new patient's need**: for each arrival, its points in each of its
//!   first [`NEW_PATIENT_HOURS`] hours on the ward (while the hours stay
//!   consecutive and it stays), averaged per hour since arrival
//!   ([`Flow::new_patient_need`]), beside the mean points of every patient
//!   present ([`Flow::mean_need`]): what one more admission costs in its
//!   first shift.
//!
//! # Young history
//!
//! With fewer than [`MIN_WEEKS`] weeks observed at every hour of the week,
//! [`Flow::young`] is true and a forecast should fall back to the scheduled
//! items only, and say so.

use std::collections::BTreeMap;

use careload_scoring::Points;
use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Timelike, Utc};
use serde::Serialize;

/// Hours in a week.
pub const HOURS_OF_WEEK: usize = 168;

/// Hours since arrival over which a new patient's need is learnt.
pub const NEW_PATIENT_HOURS: usize = 24;

/// Weeks of history, observed at every hour of the week, below which the
/// learnt flow is too young to use.
pub const MIN_WEEKS: u32 = 4;

/// One stored hour of a ward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CensusHour {
    /// The hour's start (UTC).
    pub hour: DateTime<Utc>,
    /// Its start in the hospital's zone (for the hour of the week).
    pub local: NaiveDateTime,
    /// The patients on the ward that hour (pseudonyms) and their points.
    pub patients: BTreeMap<String, Points>,
}

/// The hour of the week of a local time: Monday 00:00–00:59 is 0.
#[must_use]
pub fn hour_of_week(local: NaiveDateTime) -> usize {
    local.weekday().num_days_from_monday() as usize * 24 + local.hour() as usize
}

/// What a ward's stored hours say about its flow.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Flow {
    /// Per hour of the week: pairs of consecutive stored hours ending at it.
    pub observed: Vec<u32>,
    /// Per hour of the week: patients who arrived, summed.
    pub arrivals: Vec<u32>,
    /// Per hour of the week: patients who left, summed.
    pub departures: Vec<u32>,
    /// Per hour of the week: patients present the hour before, summed (the
    /// departures' exposure).
    pub exposure: Vec<u32>,
    /// Consecutive hours not both stored (left out).
    pub gaps: u32,
    /// Per hour since arrival (0 is the hour of arrival): the mean points of
    /// the arrivals still followed then; none where no arrival was.
    pub new_patient_need: Vec<Option<f64>>,
    /// Per hour since arrival: the arrivals followed then.
    pub new_patients: Vec<u32>,
    /// The mean points of every patient present over the hours counted.
    pub mean_need: Option<f64>,
    /// The fewest observations of any hour of the week: whole weeks of history.
    pub weeks: u32,
    /// True below [`MIN_WEEKS`]: use the scheduled forecast alone, and say so.
    pub young: bool,
}

impl Flow {
    /// Mean arrivals during hour-of-week `how` (0 when never observed).
    #[must_use]
    pub fn arrival_rate(&self, how: usize) -> f64 {
        ratio(self.arrivals.get(how), self.observed.get(how))
    }

    /// The share of patients present at the start of hour-of-week `how` who
    /// leave during it (0 when nobody was ever present then).
    #[must_use]
    pub fn departure_probability(&self, how: usize) -> f64 {
        ratio(self.departures.get(how), self.exposure.get(how))
    }

    /// Expected arrivals during `hours` (their local starts).
    #[must_use]
    pub fn expected_arrivals(&self, hours: &[NaiveDateTime]) -> f64 {
        hours.iter().map(|&h| self.arrival_rate(hour_of_week(h))).sum()
    }

    /// Of `census` patients present at the start of the first of `hours`
    /// (their local starts), how many are expected to have left by the end
    /// of the last (each hour's probability applied to those still there).
    #[must_use]
    pub fn expected_departures(&self, census: f64, hours: &[NaiveDateTime]) -> f64 {
        let staying = hours.iter().fold(census, |staying, &h| {
            staying * (1.0 - self.departure_probability(hour_of_week(h)).clamp(0.0, 1.0))
        });
        census - staying
    }
}

/// Hours over which [`ShiftFlow::new_patient_points`] averages a new
/// patient's points: about a shift.
pub const NEW_PATIENT_SHIFT_HOURS: usize = 8;

/// What a ward's flow says about one coming shift: context for the staffing
/// assistant beside the need's P10/P50/P90 (whose errors already contain the
/// arrivals and departures of past shifts; these figures are not added to it).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ShiftFlow {
    /// Patients on the ward now (the hour forecast from).
    pub census_now: u32,
    /// Patients expected on the ward when the shift starts.
    pub census_at_start: f64,
    /// Expected arrivals during the shift (admissions and transfers in).
    pub arrivals: f64,
    /// Expected departures during the shift (discharges and transfers out)
    /// of the patients expected at its start.
    pub departures: f64,
    /// A new patient's mean points per hour over its first
    /// [`NEW_PATIENT_SHIFT_HOURS`] hours on the ward; none before any arrival was followed.
    pub new_patient_points: Option<f64>,
    /// Every patient's mean points per hour, to compare.
    pub mean_points: Option<f64>,
    /// Whole weeks of history behind the rates.
    pub weeks: u32,
    /// Fewer than [`MIN_WEEKS`] weeks: the rates are not shown as a forecast.
    pub young: bool,
}

impl Flow {
    /// The flow's figures for a coming shift: `census` patients at the
    /// start of the hour forecast from, `before` the local starts of the
    /// hours from it to the shift's start (the forecast's hour first), and
    /// `during` those of the shift's hours. The caller steps the hours in
    /// UTC, so a change of the clocks neither adds nor drops one.
    #[must_use]
    pub fn for_shift(&self, census: u32, before: &[NaiveDateTime], during: &[NaiveDateTime]) -> ShiftFlow {
        let now = f64::from(census);
        let at_start = now - self.expected_departures(now, before) + self.expected_arrivals(before);
        let first: Vec<(f64, u32)> = self
            .new_patient_need
            .iter()
            .zip(&self.new_patients)
            .take(NEW_PATIENT_SHIFT_HOURS)
            .filter_map(|(m, &n)| m.map(|m| (m, n)))
            .collect();
        let followed: u32 = first.iter().map(|(_, n)| n).sum();
        ShiftFlow {
            census_now: census,
            census_at_start: at_start,
            arrivals: self.expected_arrivals(during),
            departures: self.expected_departures(at_start, during),
            new_patient_points: (followed > 0)
                .then(|| first.iter().map(|(m, n)| m * f64::from(*n)).sum::<f64>() / f64::from(followed)),
            mean_points: self.mean_need,
            weeks: self.weeks,
            young: self.young,
        }
    }
}

fn ratio(n: Option<&u32>, d: Option<&u32>) -> f64 {
    match (n, d) {
        (Some(&n), Some(&d)) if d > 0 => f64::from(n) / f64::from(d),
        _ => 0.0,
    }
}

/// One pair of consecutive stored hours, counted (what [`FlowLearner`]
/// keeps per hour so that it can forget the oldest).
#[derive(Clone, Debug)]
struct Counted {
    /// The later hour of the pair.
    hour: DateTime<Utc>,
    /// The earlier hour's hour of the week (the changes happened during
    /// it); none when the two are not consecutive stored hours (a gap).
    how: Option<usize>,
    arrivals: u32,
    departures: u32,
    exposure: u32,
    /// Points (thousandths) of the arrivals followed, by hours since arrival.
    new: Vec<(usize, i64)>,
    /// Points (thousandths) of every patient present, and how many.
    all: (i64, u64),
}

/// A ward's flow learnt hour by hour, forgetting the oldest: the service's
/// forecast learner feeds it each stored hour as it reads it, so the flow
/// costs no read of its own. [`learn_flow`] is the same over a slice.
#[derive(Clone, Debug, Default)]
pub struct FlowLearner {
    /// The last hour given.
    last: Option<CensusHour>,
    /// Arrivals followed: pseudonym → hours since arrival.
    followed: BTreeMap<String, usize>,
    /// One entry per hour after the first, oldest first.
    counted: std::collections::VecDeque<Counted>,
}

impl FlowLearner {
    /// Counts `now` against the hour given before it. Hours must come in
    /// order; one not later than the last is ignored (an hour counts once).
    pub fn add(&mut self, now: CensusHour) {
        let Some(before) = self.last.take() else {
            self.last = Some(now);
            return;
        };
        if now.hour <= before.hour {
            self.last = Some(before);
            return;
        }
        let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let mut c = Counted {
            hour: now.hour,
            how: None,
            arrivals: 0,
            departures: 0,
            exposure: 0,
            new: Vec::new(),
            all: (0, 0),
        };
        if now.hour - before.hour != Duration::hours(1) {
            self.followed.clear();
        } else {
            c.how = Some(hour_of_week(before.local));
            let arrived: Vec<&String> = now
                .patients
                .keys()
                .filter(|k| !before.patients.contains_key(*k))
                .collect();
            c.arrivals = count(arrived.len());
            c.departures = count(
                before
                    .patients
                    .keys()
                    .filter(|k| !now.patients.contains_key(*k))
                    .count(),
            );
            c.exposure = count(before.patients.len());
            // those followed move on an hour; those gone or past the horizon stop
            self.followed.retain(|k, since| {
                *since += 1;
                *since < NEW_PATIENT_HOURS && now.patients.contains_key(k)
            });
            for k in arrived {
                self.followed.insert(k.clone(), 0);
            }
            for (k, &since) in &self.followed {
                if let Some(p) = now.patients.get(k) {
                    c.new.push((since, p.milli()));
                }
            }
            for p in now.patients.values() {
                c.all.0 += p.milli();
                c.all.1 += 1;
            }
        }
        self.counted.push_back(c);
        self.last = Some(now);
    }

    /// Records that hour `hour` could not be counted (a census not wholly
    /// read): the pairs on either side of it are left out, as across an
    /// hour not stored.
    pub fn gap(&mut self, hour: DateTime<Utc>) {
        if self.last.as_ref().is_some_and(|l| hour <= l.hour) {
            return;
        }
        self.followed.clear();
        self.last = None;
        self.counted.push_back(Counted {
            hour,
            how: None,
            arrivals: 0,
            departures: 0,
            exposure: 0,
            new: Vec::new(),
            all: (0, 0),
        });
    }

    /// Forgets the pairs whose later hour is before `before`.
    pub fn forget_before(&mut self, before: DateTime<Utc>) {
        while self.counted.front().is_some_and(|c| c.hour < before) {
            self.counted.pop_front();
        }
    }

    /// The last hour given.
    #[must_use]
    pub fn last_hour(&self) -> Option<DateTime<Utc>> {
        self.last.as_ref().map(|h| h.hour)
    }

    /// Patients on the ward in the last hour given.
    #[must_use]
    pub fn census(&self) -> u32 {
        self.last
            .as_ref()
            .map_or(0, |h| u32::try_from(h.patients.len()).unwrap_or(u32::MAX))
    }

    /// The flow of the hours kept.
    #[must_use]
    pub fn flow(&self) -> Flow {
        let mut flow = Flow {
            observed: vec![0; HOURS_OF_WEEK],
            arrivals: vec![0; HOURS_OF_WEEK],
            departures: vec![0; HOURS_OF_WEEK],
            exposure: vec![0; HOURS_OF_WEEK],
            gaps: 0,
            new_patient_need: Vec::new(),
            new_patients: Vec::new(),
            mean_need: None,
            weeks: 0,
            young: true,
        };
        let mut new_sum = [0i64; NEW_PATIENT_HOURS];
        let mut new_n = [0u32; NEW_PATIENT_HOURS];
        let (mut all_sum, mut all_n) = (0i64, 0u64);
        // an arrival whose first hours were forgotten is not followed
        let first = self.counted.front().map(|c| c.hour);
        for c in &self.counted {
            let Some(how) = c.how else {
                flow.gaps += 1;
                continue;
            };
            flow.observed[how] += 1;
            flow.arrivals[how] += c.arrivals;
            flow.departures[how] += c.departures;
            flow.exposure[how] += c.exposure;
            for &(since, milli) in &c.new {
                let arrived = c.hour - Duration::hours(i64::try_from(since).unwrap_or(i64::MAX));
                if first.is_some_and(|f| arrived < f) {
                    continue;
                }
                new_sum[since] += milli;
                new_n[since] += 1;
            }
            all_sum += c.all.0;
            all_n += c.all.1;
        }
        flow.new_patient_need = new_sum
            .iter()
            .zip(new_n)
            .map(|(&s, n)| (n > 0).then(|| s as f64 / 1000.0 / f64::from(n)))
            .collect();
        flow.new_patients = new_n.to_vec();
        flow.mean_need = (all_n > 0).then(|| all_sum as f64 / 1000.0 / all_n as f64);
        flow.weeks = flow.observed.iter().copied().min().unwrap_or(0);
        flow.young = flow.weeks < MIN_WEEKS;
        flow
    }
}

/// Learns the flow from a ward's stored hours (in any order; duplicates of
/// an hour count once, the first given).
#[must_use]
pub fn learn_flow(hours: &[CensusHour]) -> Flow {
    let mut sorted: Vec<&CensusHour> = hours.iter().collect();
    sorted.sort_by_key(|h| h.hour);
    sorted.dedup_by_key(|h| h.hour);
    let mut learner = FlowLearner::default();
    for h in sorted {
        learner.add(h.clone());
    }
    learner.flow()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn census(start: DateTime<Utc>, h: i64, patients: &[String]) -> CensusHour {
        let hour = start + Duration::hours(h);
        CensusHour {
            hour,
            // the test's zone is UTC+1 without summer time
            local: (hour + Duration::hours(1)).naive_utc(),
            patients: patients.iter().map(|p| (p.clone(), Points::from_milli(2000))).collect(),
        }
    }

    /// Five weeks of a ward where two patients arrive every Monday at 10:00
    /// local and everybody present at 11:00 each day has a one-in-four
    /// chance… made exact: every fourth patient present leaves at 11:00.
    #[test]
    fn arrivals_and_departures_are_learnt_per_hour_of_the_week() {
        let start: DateTime<Utc> = "2026-11-01T23:00:00Z".parse().unwrap(); // Monday 00:00 local
        let mut present: Vec<String> = (0..8).map(|i| format!("p{i}")).collect();
        let mut next = 8;
        let mut hours = Vec::new();
        for h in 0..(5 * 168) {
            let local = (start + Duration::hours(h) + Duration::hours(1)).naive_utc();
            if hour_of_week(local) == 10 {
                for _ in 0..2 {
                    present.push(format!("p{next}"));
                    next += 1;
                }
            }
            if local.hour() == 11 {
                let leave = present.len() / 4;
                present.drain(..leave);
            }
            if h != 300 {
                hours.push(census(start, h, &present));
            }
        }
        let flow = learn_flow(&hours);
        assert_eq!(flow.gaps, 1, "the hour not stored");
        assert_eq!(
            flow.weeks, 4,
            "five weeks, the first hour has no hour before it, one hour missing"
        );
        assert!(flow.young == (flow.weeks < MIN_WEEKS));
        // in the 10:00 census, not the 09:00 one: they came during 09–10
        assert!((flow.arrival_rate(9) - 2.0).abs() < 1e-9, "{}", flow.arrival_rate(9));
        assert_eq!(flow.arrival_rate(10), 0.0);
        // every fourth (rounded down) is gone from the 11:00 census: about a
        // quarter of those present at 10:00 leave during 10–11
        let p = flow.departure_probability(10);
        assert!((0.18..=0.25).contains(&p), "{p}");
        assert_eq!(flow.departure_probability(11), 0.0);
        let monday_nine = (start + Duration::hours(10)).naive_utc();
        assert!((flow.expected_arrivals(&hours_from(monday_nine, 24)) - 2.0).abs() < 1e-9);
        let left = flow.expected_departures(8.0, &hours_from(monday_nine, 24));
        assert!((left - 8.0 * p).abs() < 1e-9, "{left}");
    }

    /// A new patient scores 5 points in its first three hours, then 2, like
    /// everyone else; patients followed stop at the horizon or when they leave.
    #[test]
    fn a_new_patients_first_hours_are_learnt() {
        let start: DateTime<Utc> = "2026-11-01T23:00:00Z".parse().unwrap();
        let mut arrived_at: BTreeMap<String, i64> = (0..4).map(|i| (format!("old{i}"), -100)).collect();
        let mut hours = Vec::new();
        for h in 0..200 {
            if h % 10 == 5 {
                arrived_at.insert(format!("new{h}"), h);
            }
            // the patient who came at hour 15 leaves after two hours
            arrived_at.retain(|k, _| !(k == "new15" && h >= 17));
            let hour = start + Duration::hours(h);
            hours.push(CensusHour {
                hour,
                local: (hour + Duration::hours(1)).naive_utc(),
                patients: arrived_at
                    .iter()
                    .map(|(k, &a)| (k.clone(), Points::from_milli(if h - a < 3 { 5000 } else { 2000 })))
                    .collect(),
            });
        }
        let flow = learn_flow(&hours);
        assert_eq!(flow.new_patient_need.len(), NEW_PATIENT_HOURS);
        for since in 0..3 {
            assert_eq!(flow.new_patient_need[since], Some(5.0), "hour {since}");
        }
        assert_eq!(flow.new_patient_need[3], Some(2.0));
        assert_eq!(flow.new_patients[0], 20, "every arrival");
        assert_eq!(flow.new_patients[1], 20);
        assert_eq!(flow.new_patients[2], 19, "one left after two hours");
        // the last arrivals (hour 195) are followed for the 4 hours stored
        assert_eq!(flow.new_patients[NEW_PATIENT_HOURS - 1], 17);
        let mean = flow.mean_need.unwrap();
        assert!(mean > 2.0 && mean < 5.0, "{mean}");
    }

    /// Fed hour by hour, forgetting the oldest, the learner counts what
    /// the batch count of the hours kept would.
    #[test]
    fn hour_by_hour_with_forgetting_is_the_batch_count_of_the_hours_kept() {
        let start: DateTime<Utc> = "2026-11-01T23:00:00Z".parse().unwrap();
        let mut hours = Vec::new();
        let mut present: Vec<String> = (0..6).map(|i| format!("p{i}")).collect();
        for h in 0..(6 * 168) {
            if h % 7 == 3 {
                present.push(format!("n{h}"));
            }
            if h % 11 == 5 && present.len() > 3 {
                present.remove(0);
            }
            if h == 400 || h == 401 {
                continue;
            }
            hours.push(census(start, h, &present));
        }
        let mut learner = FlowLearner::default();
        for h in &hours {
            learner.add(h.clone());
        }
        assert_eq!(learner.flow(), learn_flow(&hours), "nothing forgotten");
        let cut = start + Duration::weeks(2);
        learner.forget_before(cut);
        // the batch over the hours kept starts one hour earlier: the first
        // pair kept ends at `cut`, so its earlier hour is given too
        let kept: Vec<CensusHour> = hours
            .iter()
            .filter(|h| h.hour >= cut - Duration::hours(1))
            .cloned()
            .collect();
        let batch = learn_flow(&kept);
        let inc = learner.flow();
        assert_eq!(inc.arrivals, batch.arrivals);
        assert_eq!(inc.departures, batch.departures);
        assert_eq!(inc.exposure, batch.exposure);
        assert_eq!(inc.observed, batch.observed);
        assert_eq!(inc.gaps, batch.gaps);
        assert_eq!(learner.census(), u32::try_from(present.len()).unwrap());
        // an hour given twice counts once
        let before = learner.flow();
        learner.add(hours.last().unwrap().clone());
        assert_eq!(learner.flow(), before);
    }

    /// The local starts of `n` hours from `from`.
    fn hours_from(from: NaiveDateTime, n: i64) -> Vec<NaiveDateTime> {
        (0..n).map(|h| from + Duration::hours(h)).collect()
    }

    /// Every day two patients come during 09–10 (in the 10:00 census, not
    /// the 09:00 one) and a quarter of those present at 10:00 leave during
    /// 10–11: a shift's figures follow the hours exactly, at its edges too.
    #[test]
    fn a_shift_expects_the_arrivals_and_departures_of_its_own_hours() {
        let start: DateTime<Utc> = "2026-11-01T23:00:00Z".parse().unwrap(); // Monday 00:00 local
        let mut present: Vec<String> = (0..12).map(|i| format!("p{i}")).collect();
        let mut next = 12;
        let mut hours = Vec::new();
        for h in 0..(5 * 168) {
            let local = (start + Duration::hours(h) + Duration::hours(1)).naive_utc();
            if local.hour() == 10 {
                present.push(format!("p{next}"));
                present.push(format!("p{}", next + 1));
                next += 2;
            }
            if local.hour() == 11 {
                let leave = present.len() / 4;
                present.drain(..leave);
            }
            hours.push(census(start, h, &present));
        }
        let flow = learn_flow(&hours);
        assert!(!flow.young);
        let p = flow.departure_probability(10);
        assert!(p > 0.1, "{p}");
        let monday = (start + Duration::weeks(5) + Duration::hours(1)).naive_utc(); // Monday 00:00 local
        assert_eq!(hour_of_week(monday), 0);
        let at = |h: i64| monday + Duration::hours(h);

        // from the 09:00 census for a shift 10–18: today's two come before it
        let f = flow.for_shift(10, &hours_from(at(9), 1), &hours_from(at(10), 8));
        assert!((f.census_at_start - 12.0).abs() < 1e-9, "{f:?}");
        assert!(f.arrivals.abs() < 1e-9, "nobody comes during 10–18: {f:?}");
        assert!((f.departures - 12.0 * p).abs() < 1e-9, "{f:?}");

        // from the 10:00 census (today's two in it) for a shift 11–19: the
        // departures of 10–11 come before it, nothing during it
        let f = flow.for_shift(12, &hours_from(at(10), 1), &hours_from(at(11), 8));
        assert!((f.census_at_start - 12.0 * (1.0 - p)).abs() < 1e-9, "{f:?}");
        assert!(f.arrivals.abs() < 1e-9 && f.departures.abs() < 1e-9, "{f:?}");

        // a night 02–10 holds the hour 09–10: both arrive during it
        let f = flow.for_shift(12, &hours_from(at(1), 1), &hours_from(at(2), 8));
        assert!((f.arrivals - 2.0).abs() < 1e-9, "{f:?}");
        assert!(f.departures.abs() < 1e-9, "{f:?}");
        assert!((f.census_at_start - 12.0).abs() < 1e-9, "{f:?}");

        // starting at the shift itself: nothing before it
        let f = flow.for_shift(9, &[], &hours_from(at(9), 2));
        assert!((f.census_at_start - 9.0).abs() < 1e-9, "{f:?}");
        assert!((f.arrivals - 2.0).abs() < 1e-9, "{f:?}");
        assert!((f.departures - 9.0 * p).abs() < 1e-9, "{f:?}");
        assert_eq!(f.weeks, flow.weeks);
        assert_eq!(f.new_patient_points, Some(2.0), "every patient scores 2");
    }

    /// An hour whose census was not wholly read breaks the pairs on both
    /// sides, like an hour not stored; an arrival whose first hours were
    /// forgotten is no longer followed.
    #[test]
    fn an_unread_hour_is_a_gap_and_forgotten_arrivals_are_not_followed() {
        let start: DateTime<Utc> = "2026-11-01T23:00:00Z".parse().unwrap();
        let a = vec!["a".to_owned()];
        let ab = vec!["a".to_owned(), "b".to_owned()];
        let mut learner = FlowLearner::default();
        learner.add(census(start, 0, &a));
        learner.gap(start + Duration::hours(1));
        learner.add(census(start, 2, &ab));
        learner.add(census(start, 3, &ab));
        let flow = learner.flow();
        assert_eq!(flow.gaps, 1);
        assert_eq!(
            flow.arrivals.iter().sum::<u32>(),
            0,
            "b's arrival fell in the gap: {flow:?}"
        );
        assert_eq!(flow.observed.iter().sum::<u32>(), 1, "only 2→3 is a pair");

        let mut learner = FlowLearner::default();
        for h in 0..6 {
            learner.add(census(start, h, if h == 0 { &a } else { &ab }));
        }
        assert_eq!(learner.flow().new_patients[..3], [1, 1, 1]);
        learner.forget_before(start + Duration::hours(2));
        let flow = learner.flow();
        assert_eq!(
            flow.new_patients.iter().sum::<u32>(),
            0,
            "b came in the forgotten pair: {flow:?}"
        );
    }

    #[test]
    fn little_history_is_young_and_says_nothing_arrives() {
        let start: DateTime<Utc> = "2026-11-01T23:00:00Z".parse().unwrap();
        let p = vec!["a".to_owned()];
        let hours: Vec<CensusHour> = (0..48).map(|h| census(start, h, &p)).collect();
        let flow = learn_flow(&hours);
        assert!(flow.young);
        assert_eq!(flow.weeks, 0);
        assert_eq!(flow.expected_arrivals(&hours_from(hours[0].local, 8)), 0.0);
        assert_eq!(learn_flow(&[]).observed.iter().sum::<u32>(), 0);
    }
}
