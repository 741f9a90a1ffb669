//! The hospital: wards, teams, rooms and beds, admissions, placement,
//! discharges and the clock.
//!
//! Time advances one simulated hour at a time. In each hour, in this order:
//! patients whose planned discharge falls in the hour leave (their bed is
//! free at once); each ward receives a Poisson number of admissions of its
//! own specialty (more by day, fewer at night, and fewer when the ward is
//! fuller than its target, as a bed manager would steer); each admission is
//! placed on a ward of its specialty with a free bed, else on any ward with
//! a free bed (an outlier, *utlokaliserad*), else on an extra bed of its own
//! ward; then every inpatient's own state moves on
//! ([`crate::patient::Patient::step`]), and the hidden truth adds the hour's
//! true minutes to its sums ([`crate::truth`]).
//!
//! The hospital starts warm: at `start` every bed is occupied with
//! probability 0.95 by a patient admitted in the past. For a stationary
//! stream of stays the stays in progress are length-biased, so their lengths
//! are drawn from the length-biased lognormal (μ + σ²) and the elapsed part
//! uniformly within; each such patient's own history is then replayed hour
//! by hour up to `start`.
//!
//! Daily patterns (admissions, discharges, task and medication times) follow
//! the ward's local clock, taken as UTC+1 ([`LOCAL_UTC_OFFSET_HOURS`], Swedish
//! standard time; daylight saving time is not modelled).
//!
//! Weekly patterns follow the local weekday (`local_weekday`): admissions
//! are multiplied by a factor of the day — Monday 1.25, Tuesday–Thursday
//! 1.15, Friday 1.0, Saturday 0.65, Sunday 0.7, normalised to a weekly mean
//! of 1 so that the occupancy target holds (elective admissions come
//! Monday–Friday, weekends see mostly acute ones); half of the discharges
//! falling on a Saturday or Sunday wait for Monday 10–16 local (the
//! admission rate allows for the longer stays); and the ward round's
//! unplanned work — imaging orders (08–17) and medication changes — comes at
//! half the weekday rate on Saturdays and Sundays
//! ([`crate::patient::Patient::step`]). Deteriorations, and the orders they
//! bring, are the same every day. The occupancy feedback sharpens the
//! rhythm: fuller wards after a weekend of few discharges admit a little
//! less, Monday's emptied beds a little more.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc, Weekday};
use serde::Serialize;

use crate::Error;
use crate::codes::SPECIALTIES;
use crate::patient::{Patient, floor_hour};
use crate::rng::Rng;
use crate::truth::{Truth, TruthAcc};

/// The offset of the wards' local clock from UTC, in hours.
pub const LOCAL_UTC_OFFSET_HOURS: i64 = 1;

/// The occupancy the admission stream aims at.
const TARGET_OCCUPANCY: f64 = 0.95;

/// Lognormal shape of lengths of stay.
const LOS_SIGMA: f64 = 0.6;

/// The local hour (0–23) of an instant.
pub(crate) fn local_hour(t: DateTime<Utc>) -> u32 {
    ((i64::from(t.hour()) + LOCAL_UTC_OFFSET_HOURS).rem_euclid(24)) as u32
}

/// The local weekday of an instant.
pub(crate) fn local_weekday(t: DateTime<Utc>) -> Weekday {
    (t + Duration::hours(LOCAL_UTC_OFFSET_HOURS)).weekday()
}

/// Admissions by local weekday, Monday first, before normalising: elective
/// admissions come Monday–Friday (most on Monday), weekends see mostly
/// acute ones.
const ADMISSIONS_BY_WEEKDAY: [f64; 7] = [1.25, 1.15, 1.15, 1.15, 1.0, 0.65, 0.7];

/// The admission rate's factor for a local weekday: [`ADMISSIONS_BY_WEEKDAY`]
/// normalised so that the week's mean is 1 (the occupancy target holds).
fn weekday_factor(day: Weekday) -> f64 {
    let mean = ADMISSIONS_BY_WEEKDAY.iter().sum::<f64>() / 7.0;
    ADMISSIONS_BY_WEEKDAY[day.num_days_from_monday() as usize] / mean
}

/// The share of discharges falling on a Saturday or Sunday that wait for
/// Monday's ward round.
const WEEKEND_DISCHARGES_POSTPONED: f64 = 0.5;

/// The hours a stay gains on average from [`WEEKEND_DISCHARGES_POSTPONED`]:
/// two days in seven are weekend days, and a postponed discharge waits about
/// a day and a half for Monday.
const WEEKEND_POSTPONEMENT_H: f64 = WEEKEND_DISCHARGES_POSTPONED * 2.0 / 7.0 * 36.0;

/// Whether a local weekday is a Saturday or a Sunday.
pub(crate) fn weekend(day: Weekday) -> bool {
    matches!(day, Weekday::Sat | Weekday::Sun)
}

/// What to simulate.
#[derive(Clone, Debug, PartialEq)]
pub struct SimConfig {
    /// The seed: the same configuration gives the same hospital, always.
    pub seed: u64,
    /// Regular beds in the whole hospital (default 180).
    pub beds: u32,
    /// Number of wards; by default `max(6, round(beds / 30))`.
    pub wards: Option<u32>,
    /// The instant the simulation starts at, already warm (truncated to the hour).
    pub start: DateTime<Utc>,
    /// The hidden truth: what care really costs and how the staff rate their
    /// shifts ([`crate::truth`]); careload never sees it.
    pub truth: Truth,
}

impl SimConfig {
    /// A configuration with the default size (180 beds, default wards).
    pub fn new(seed: u64, start: DateTime<Utc>) -> SimConfig {
        SimConfig {
            seed,
            beds: 180,
            wards: None,
            start,
            truth: Truth::default(),
        }
    }

    /// The number of wards this configuration gives.
    pub fn ward_count(&self) -> u32 {
        self.wards
            .unwrap_or_else(|| ((f64::from(self.beds) / 30.0).round() as u32).max(6))
    }
}

/// A room: 1–4 beds, belonging to one team.
#[derive(Clone, Debug)]
pub(crate) struct Room {
    pub(crate) id: String,
    pub(crate) number: u32,
    pub(crate) team: usize,
}

/// A bed: a regular one in a room, or an extra one put up when the hospital is full.
#[derive(Clone, Debug)]
pub(crate) struct Bed {
    pub(crate) id: String,
    pub(crate) number: u32,
    /// The room, for regular beds.
    pub(crate) room: Option<usize>,
    pub(crate) team: usize,
    pub(crate) occupied: bool,
    pub(crate) created: DateTime<Utc>,
}

/// A ward.
#[derive(Clone, Debug)]
pub(crate) struct Ward {
    pub(crate) id: String,
    pub(crate) number: u32,
    /// Index into [`SPECIALTIES`].
    pub(crate) specialty: usize,
    pub(crate) teams: Vec<String>,
    pub(crate) rooms: Vec<Room>,
    /// Regular beds first (`capacity` of them), then extra beds.
    pub(crate) beds: Vec<Bed>,
    pub(crate) capacity: usize,
    pub(crate) occupied: usize,
}

impl Ward {
    fn free_regular(&self) -> Option<usize> {
        self.beds[..self.capacity].iter().position(|b| !b.occupied)
    }

    fn occupancy(&self) -> f64 {
        self.occupied as f64 / self.capacity.max(1) as f64
    }
}

/// Running sums for [`SimStats`].
#[derive(Clone, Debug, Default)]
pub(crate) struct Acc {
    pub(crate) news2: [u64; 21],
    samples: u64,
    ward_occupied: Vec<u64>,
    patient_hours: u64,
    outlier_hours: u64,
    norton_hours: [u64; 4],
    news2_hours: [u64; 3],
    los_hours: Vec<f64>,
    admissions: u32,
    discharges: u32,
}

/// The simulated hospital.
#[derive(Clone, Debug)]
pub struct Hospital {
    config: SimConfig,
    rng: Rng,
    pub(crate) start: DateTime<Utc>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) wards: Vec<Ward>,
    /// Inpatients and patients discharged in the last 24 hours, by admission.
    pub(crate) patients: Vec<Patient>,
    next_patient: u32,
    acc: Acc,
    /// The hidden truth's hourly sums.
    pub(crate) truth: TruthAcc,
}

impl Hospital {
    /// Builds the hospital and fills it to about 95 % with patients admitted
    /// before `config.start`.
    ///
    /// # Errors
    /// [`Error::Config`] when there are fewer than 4 beds per ward, no
    /// wards, or more than 100,000 beds.
    pub fn new(config: SimConfig) -> Result<Hospital, Error> {
        let wards = config.ward_count();
        if wards == 0 {
            return Err(Error::Config("a hospital needs at least one ward".into()));
        }
        if config.beds > 100_000 {
            return Err(Error::Config(format!(
                "{} beds is more than the simulator's limit of 100,000",
                config.beds
            )));
        }
        if config.beds < 4 * wards {
            return Err(Error::Config(format!(
                "{} beds cannot fill {wards} wards: give at least 4 beds per ward",
                config.beds
            )));
        }
        let start = floor_hour(config.start);
        let mut layout_rng = Rng::stream(config.seed, 1);
        let mut h = Hospital {
            rng: Rng::stream(config.seed, 2),
            start,
            now: start,
            wards: build_wards(config.beds, wards, start, &mut layout_rng),
            patients: Vec::new(),
            next_patient: 1,
            acc: Acc::default(),
            truth: TruthAcc::default(),
            config,
        };
        h.truth = TruthAcc::new(h.wards.iter().map(|w| w.teams.len()));
        h.acc.ward_occupied = vec![0; h.wards.len()];
        h.fill();
        h.sample();
        Ok(h)
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// The simulated present.
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Where the simulation started (the configured start truncated to the hour).
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// Advances `hours` simulated hours.
    pub fn advance_hours(&mut self, hours: u32) {
        for _ in 0..hours {
            self.step();
        }
    }

    /// Advances whole hours while the next hour ends at or before `t`; a `t`
    /// in the past does nothing.
    pub fn advance_to(&mut self, t: DateTime<Utc>) {
        while self.now + Duration::hours(1) <= t {
            self.step();
        }
    }

    fn los_median_days(specialty: usize) -> f64 {
        SPECIALTIES[specialty].los_median_days
    }

    /// Moves a discharge into the day (10–17 local) most of the time, and
    /// half of those falling on a Saturday or Sunday to Monday 10–16 local
    /// (the weekend has no ward round to discharge from).
    fn daytime(rng: &mut Rng, admitted: DateTime<Utc>, end: DateTime<Utc>) -> DateTime<Utc> {
        let end = Self::into_the_day(rng, admitted, end);
        let day = local_weekday(end);
        if !weekend(day) || !rng.bernoulli(WEEKEND_DISCHARGES_POSTPONED) {
            return end;
        }
        let offset = Duration::hours(LOCAL_UTC_OFFSET_HOURS);
        let days = 7 - i64::from(day.num_days_from_monday());
        let monday = (end + offset).date_naive() + Duration::days(days);
        let local =
            monday.and_time(NaiveTime::MIN) + Duration::hours(rng.range(10, 15)) + Duration::minutes(rng.range(0, 59));
        local.and_utc() - offset
    }

    /// Moves a discharge into the day (10–17 local) most of the time.
    fn into_the_day(rng: &mut Rng, admitted: DateTime<Utc>, end: DateTime<Utc>) -> DateTime<Utc> {
        let lh = i64::from(local_hour(end));
        if (10..17).contains(&lh) || !rng.bernoulli(0.85) {
            return end;
        }
        let target = rng.range(10, 16);
        let delta = if lh < 10 || rng.bernoulli(0.5) {
            (target - lh).rem_euclid(24)
        } else {
            target - lh
        };
        let moved = end + Duration::hours(delta) + Duration::minutes(rng.range(-30, 30));
        if moved > admitted + Duration::hours(4) {
            moved
        } else {
            end
        }
    }

    fn fill(&mut self) {
        let start = self.start;
        let n_wards = self.wards.len();
        let specialties_present: Vec<usize> = {
            let mut v: Vec<usize> = self.wards.iter().map(|w| w.specialty).collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        for w in 0..n_wards {
            for b in 0..self.wards[w].capacity {
                if !self.rng.bernoulli(0.95) {
                    continue;
                }
                let own = self.wards[w].specialty;
                let outlier = specialties_present.len() > 1 && self.rng.bernoulli(0.05);
                let specialty = if outlier {
                    let others: Vec<usize> = specialties_present.iter().copied().filter(|&s| s != own).collect();
                    *self.rng.pick(&others)
                } else {
                    own
                };
                let median = Self::los_median_days(specialty) * (LOS_SIGMA * LOS_SIGMA).exp();
                let los_min = (self.rng.lognormal(median, LOS_SIGMA) * 1440.0).max(240.0);
                let elapsed = self.rng.range_f64(0.0, los_min);
                let admitted = start - Duration::minutes(elapsed.round() as i64 + 1);
                let raw_end = admitted + Duration::minutes(los_min.round() as i64);
                let mut end = Self::daytime(&mut self.rng, admitted, raw_end);
                if end <= start {
                    end = start + Duration::minutes(self.rng.range(10, 600));
                }
                let n = self.next_patient;
                self.next_patient += 1;
                let mut p = Patient::new(n, self.config.seed, specialty, w, b, outlier, admitted, end);
                let mut t = floor_hour(admitted);
                while t < start {
                    p.step(t, &mut self.acc);
                    t += Duration::hours(1);
                }
                self.wards[w].beds[b].occupied = true;
                self.wards[w].occupied += 1;
                self.patients.push(p);
            }
        }
    }

    /// Where an admission of `specialty` goes: (ward, bed, outlier).
    fn place(&mut self, specialty: usize, home: usize, at: DateTime<Utc>) -> (usize, usize, bool) {
        let most_free = |wards: &[Ward], own: bool| {
            wards
                .iter()
                .enumerate()
                .filter(|(_, w)| (w.specialty == specialty) == own)
                .filter_map(|(i, w)| {
                    w.free_regular()
                        .map(|b| (i, b, w.capacity - w.occupied.min(w.capacity)))
                })
                .max_by_key(|&(i, _, free)| (free, usize::MAX - i))
                .map(|(i, b, _)| (i, b))
        };
        if let Some((w, b)) = most_free(&self.wards, true) {
            return (w, b, false);
        }
        if let Some((w, b)) = most_free(&self.wards, false) {
            return (w, b, true);
        }
        // The whole hospital is full: an extra bed on the home ward.
        let ward = &mut self.wards[home];
        if let Some(b) = ward.beds[ward.capacity..].iter().position(|b| !b.occupied) {
            return (home, ward.capacity + b, false);
        }
        let number = (ward.beds.len() - ward.capacity + 1) as u32;
        let team = (number as usize - 1) % ward.teams.len();
        ward.beds.push(Bed {
            id: format!("{}-extra-{number}", ward.id),
            number,
            room: None,
            team,
            occupied: false,
            created: at,
        });
        (home, ward.beds.len() - 1, false)
    }

    fn admit(&mut self, home: usize, at: DateTime<Utc>) {
        let specialty = self.wards[home].specialty;
        let (w, b, outlier) = self.place(specialty, home, at);
        let los_min = (self.rng.lognormal(Self::los_median_days(specialty), LOS_SIGMA) * 1440.0).max(240.0);
        let raw_end = at + Duration::minutes(los_min.round() as i64);
        let end = Self::daytime(&mut self.rng, at, raw_end);
        let n = self.next_patient;
        self.next_patient += 1;
        let p = Patient::new(n, self.config.seed, specialty, w, b, outlier, at, end);
        self.wards[w].beds[b].occupied = true;
        self.wards[w].occupied += 1;
        self.acc.admissions += 1;
        self.patients.push(p);
    }

    fn step(&mut self) {
        let t = self.now;
        let end = t + Duration::hours(1);
        // Discharges.
        for p in &mut self.patients {
            if !p.discharged && p.discharge < end {
                let at = p.discharge.max(t);
                p.discharge_at(at);
                let ward = &mut self.wards[p.ward];
                ward.beds[p.bed].occupied = false;
                ward.occupied -= 1;
                self.acc.discharges += 1;
                self.acc.los_hours.push((at - p.admitted).num_minutes() as f64 / 60.0);
            }
        }
        let forget = end - Duration::hours(24);
        self.patients.retain(|p| !p.discharged || p.discharge >= forget);
        // Admissions.
        let lh = local_hour(t);
        let pattern = match lh {
            0..=7 => 0.4,
            8..=17 => 1.5,
            _ => 1.0,
        } / (24.2 / 24.0)
            * weekday_factor(local_weekday(t));
        for w in 0..self.wards.len() {
            let ward = &self.wards[w];
            let spec = ward.specialty;
            let mean_los_h =
                Self::los_median_days(spec) * 24.0 * (LOS_SIGMA * LOS_SIGMA / 2.0).exp() + 3.0 + WEEKEND_POSTPONEMENT_H;
            let feedback = (1.0 + 4.0 * (TARGET_OCCUPANCY - ward.occupancy())).clamp(0.2, 2.5);
            let lambda = ward.capacity as f64 * TARGET_OCCUPANCY / mean_los_h * pattern * feedback;
            let arrivals = self.rng.poisson(lambda);
            let mut times: Vec<i64> = (0..arrivals).map(|_| self.rng.range(0, 59)).collect();
            times.sort_unstable();
            for m in times {
                self.admit(w, t + Duration::minutes(m));
            }
        }
        // Every inpatient's own hour.
        for p in &mut self.patients {
            p.step(t, &mut self.acc);
        }
        self.record_truth(t);
        self.now = end;
        self.sample();
    }

    /// Adds the present state to the time averages.
    fn sample(&mut self) {
        self.acc.samples += 1;
        for (i, w) in self.wards.iter().enumerate() {
            self.acc.ward_occupied[i] += w.occupied as u64;
        }
        for p in self.patients.iter().filter(|p| !p.discharged) {
            self.acc.patient_hours += 1;
            self.acc.outlier_hours += u64::from(p.outlier);
            self.acc.norton_hours[usize::from(4 - p.activity)] += 1;
            if let Some(m) = p.measurements.last() {
                self.acc.news2_hours[match m.total {
                    0..=4 => 0,
                    5..=6 => 1,
                    _ => 2,
                }] += 1;
            }
        }
    }

    /// Statistics of the run so far.
    pub fn stats(&self) -> SimStats {
        let samples = self.acc.samples.max(1) as f64;
        let capacity: usize = self.wards.iter().map(|w| w.capacity).sum();
        let wards: Vec<WardStats> = self
            .wards
            .iter()
            .enumerate()
            .map(|(i, w)| WardStats {
                id: w.id.clone(),
                specialty: SPECIALTIES[w.specialty].key,
                care_category: SPECIALTIES[w.specialty].care_category,
                beds: w.capacity as u32,
                occupied_now: w.occupied as u32,
                occupancy: self.acc.ward_occupied[i] as f64 / samples / w.capacity as f64,
                teams: w.teams.clone(),
            })
            .collect();
        let occupied_sum: u64 = self.acc.ward_occupied.iter().sum();
        let inpatients: Vec<&Patient> = self.patients.iter().filter(|p| !p.discharged).collect();
        let ph = self.acc.patient_hours.max(1) as f64;
        let mut los = self.acc.los_hours.clone();
        los.sort_by(f64::total_cmp);
        let los_days = (!los.is_empty()).then(|| {
            let q = |f: f64| los[((los.len() - 1) as f64 * f).round() as usize] / 24.0;
            LosSummary {
                count: los.len() as u32,
                median: q(0.5),
                mean: los.iter().sum::<f64>() / los.len() as f64 / 24.0,
                p10: q(0.1),
                p90: q(0.9),
            }
        });
        let day_ago = self.now - Duration::hours(24);
        SimStats {
            start: self.start,
            now: self.now,
            hours: ((self.now - self.start).num_hours()) as u32,
            beds: capacity as u32,
            occupancy: occupied_sum as f64 / samples / capacity.max(1) as f64,
            occupancy_now: inpatients.len() as f64 / capacity.max(1) as f64,
            inpatients: inpatients.len() as u32,
            admissions: self.acc.admissions,
            discharges: self.acc.discharges,
            los_days,
            norton_mix: self.acc.norton_hours.map(|n| n as f64 / ph),
            news2_histogram: self.acc.news2,
            news2_patient_mix: {
                let n = self.acc.news2_hours.iter().sum::<u64>().max(1) as f64;
                self.acc.news2_hours.map(|k| k as f64 / n)
            },
            outlier_share: self.acc.outlier_hours as f64 / ph,
            outliers_now: inpatients.iter().filter(|p| p.outlier).count() as u32,
            newly_admitted: inpatients.iter().filter(|p| p.admitted > day_ago).count() as u32,
            wards,
        }
    }
}

/// Lays out the wards: specialties in the fixed order, 2–4 teams, rooms of
/// 1–4 beds in contiguous blocks per team.
fn build_wards(beds: u32, wards: u32, created: DateTime<Utc>, rng: &mut Rng) -> Vec<Ward> {
    let width = if wards > 99 { 3 } else { 2 };
    (0..wards)
        .map(|i| {
            let number = i + 1;
            let n_beds = (beds / wards + u32::from(i < beds % wards)) as usize;
            let id = format!("w{number:0width$}");
            let max_room = 4.min(n_beds / 2).max(1);
            let mut sizes = Vec::new();
            let mut left = n_beds;
            while left > 0 {
                let size = (1 + rng.weighted(&[0.15, 0.35, 0.2, 0.3])).min(max_room).min(left);
                sizes.push(size);
                left -= size;
            }
            let teams_n = (rng.range(2, 4) as usize).min(n_beds / 3).max(2).min(sizes.len());
            let teams: Vec<String> = (0..teams_n)
                .map(|t| format!("{id}-{}", char::from(b'a' + t as u8)))
                .collect();
            let mut rooms = Vec::new();
            let mut bed_list = Vec::new();
            for (r, &size) in sizes.iter().enumerate() {
                let team = r * teams_n / sizes.len();
                let room_id = format!("{id}-r{:02}", r + 1);
                for b in 0..size {
                    bed_list.push(Bed {
                        id: format!("{room_id}-b{}", b + 1),
                        number: b as u32 + 1,
                        room: Some(r),
                        team,
                        occupied: false,
                        created,
                    });
                }
                rooms.push(Room {
                    id: room_id,
                    number: r as u32 + 1,
                    team,
                });
            }
            Ward {
                id,
                number,
                specialty: i as usize % SPECIALTIES.len(),
                teams,
                rooms,
                capacity: bed_list.len(),
                beds: bed_list,
                occupied: 0,
            }
        })
        .collect()
}

/// A ward's figures.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WardStats {
    /// The ward's Location id.
    pub id: String,
    /// Its specialty key.
    pub specialty: &'static str,
    /// Its staffing care category.
    pub care_category: &'static str,
    /// Regular beds.
    pub beds: u32,
    /// Patients on the ward now (extra beds included).
    pub occupied_now: u32,
    /// Time-averaged occupancy (patients ÷ regular beds; above 1 with extra beds).
    pub occupancy: f64,
    /// Its teams' Location ids.
    pub teams: Vec<String>,
}

/// Length-of-stay summary, in days, of the patients discharged during the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LosSummary {
    /// Discharged patients.
    pub count: u32,
    /// Median.
    pub median: f64,
    /// Mean.
    pub mean: f64,
    /// 10th percentile.
    pub p10: f64,
    /// 90th percentile.
    pub p90: f64,
}

/// What the model did: the figures the tests hold to stated ranges.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SimStats {
    /// Where the run started.
    pub start: DateTime<Utc>,
    /// The simulated present.
    pub now: DateTime<Utc>,
    /// Hours simulated since the start.
    pub hours: u32,
    /// Regular beds in the hospital.
    pub beds: u32,
    /// Time-averaged occupancy over every hour sampled (the start included).
    pub occupancy: f64,
    /// Occupancy now.
    pub occupancy_now: f64,
    /// Inpatients now.
    pub inpatients: u32,
    /// Admissions during the run (the warm start's patients not counted).
    pub admissions: u32,
    /// Discharges during the run.
    pub discharges: u32,
    /// Length of stay of the patients discharged during the run.
    pub los_days: Option<LosSummary>,
    /// Norton physical activity, shares of patient-hours: walks, walks with
    /// help, wheelchair, bedridden.
    pub norton_mix: [f64; 4],
    /// NEWS2 measurements by value 0–20 (the warm start's replayed history included).
    pub news2_histogram: [u64; 21],
    /// The latest NEWS2 of inpatients, shares of patient-hours: 0–4, 5–6, 7 and above.
    pub news2_patient_mix: [f64; 3],
    /// Share of patient-hours spent as an outlier.
    pub outlier_share: f64,
    /// Outlying inpatients now.
    pub outliers_now: u32,
    /// Inpatients admitted within the last 24 hours.
    pub newly_admitted: u32,
    /// Per ward.
    pub wards: Vec<WardStats>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Imaging orders (the ward round's, category 3) and medication changes
    /// (new orders after the first half day) written per local weekday,
    /// Monday first, over `weeks` whole local weeks.
    fn unplanned_per_weekday(seed: u64, weeks: u32) -> ([u32; 7], [u32; 7]) {
        let monday = "2026-11-22T23:00:00Z".parse().unwrap();
        let mut h = Hospital::new(SimConfig {
            beds: 120,
            ..SimConfig::new(seed, monday)
        })
        .unwrap();
        let (mut imaging, mut med_changes) = ([0u32; 7], [0u32; 7]);
        for _ in 0..weeks * 7 * 24 {
            let t = h.now;
            let day = local_weekday(t).num_days_from_monday() as usize;
            h.advance_hours(1);
            let hour = |at: DateTime<Utc>| at >= t && at < h.now;
            for p in &h.patients {
                imaging[day] += p.orders.iter().filter(|o| o.category == 3 && hour(o.authored)).count() as u32;
                med_changes[day] += p
                    .meds
                    .iter()
                    .filter(|m| hour(m.start) && m.start >= p.admitted + Duration::hours(12))
                    .count() as u32;
            }
        }
        (imaging, med_changes)
    }

    fn per_weekday_and_weekend_day(n: &[u32; 7]) -> (f64, f64) {
        (
            f64::from(n[..5].iter().sum::<u32>()) / 5.0,
            f64::from(n[5..].iter().sum::<u32>()) / 2.0,
        )
    }

    #[test]
    fn ward_rounds_write_fewer_orders_and_medication_changes_at_weekends() {
        let (imaging, med_changes) = unplanned_per_weekday(4, 6);
        let (i_weekday, i_weekend) = per_weekday_and_weekend_day(&imaging);
        let (m_weekday, m_weekend) = per_weekday_and_weekend_day(&med_changes);
        eprintln!("imaging Mon–Sun {imaging:?}, medication changes {med_changes:?}");
        assert!(
            i_weekend <= 0.7 * i_weekday,
            "imaging per weekend day {i_weekend} not ≤ 0.7 × per weekday {i_weekday}: {imaging:?}"
        );
        assert!(
            m_weekend <= 0.7 * m_weekday,
            "medication changes per weekend day {m_weekend} not ≤ 0.7 × per weekday {m_weekday}: {med_changes:?}"
        );
    }

    #[test]
    fn local_weekday_follows_the_local_clock() {
        let sunday_late_utc: DateTime<Utc> = "2026-11-22T23:30:00Z".parse().unwrap();
        assert_eq!(sunday_late_utc.weekday(), chrono::Weekday::Sun);
        assert_eq!(local_weekday(sunday_late_utc), chrono::Weekday::Mon);
        assert_eq!(
            local_weekday(sunday_late_utc - Duration::hours(1)),
            chrono::Weekday::Sun
        );
    }
}
