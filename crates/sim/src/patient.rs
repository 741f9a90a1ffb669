//! One simulated inpatient: who they are, how their state moves hour by hour,
//! and every record the EHR holds about them.
//!
//! All randomness for a patient comes from the patient's own stream
//! ([`Rng::stream`] of the seed and the patient number), so a patient's story
//! does not depend on how many other patients were drawn before.
//!
//! Records carry the instant they were documented (`authored`, `start`,
//! `at`); anything documented after the hospital's "now" is held back when
//! resources are emitted. That is how newly admitted patients get their thin
//! documentation: their Norton, emotional support, care plans, most
//! medications and their to-do list are decided at admission but documented
//! over the first 6–24 hours.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::codes::{
    self, COMORBIDITIES, DIABETES, MAIN_DIAGNOSES, MEDICATIONS, PSYCHIATRIC_DIAGNOSES, ROUTES, SPECIALTIES,
};
use crate::model::{Acc, local_hour, local_weekday, weekend};
use crate::rng::Rng;
use crate::vitals::{Vitals, vitals_for};

/// One set of vital signs with its NEWS2.
#[derive(Clone, Debug)]
pub(crate) struct Measurement {
    pub(crate) k: u32,
    pub(crate) at: DateTime<Utc>,
    pub(crate) total: u8,
    /// Whether the total is charted (otherwise only the vital signs are).
    pub(crate) charted: bool,
    pub(crate) vitals: Vitals,
}

/// An assessment of some kind (Norton, emotional support, ADL).
#[derive(Clone, Debug)]
pub(crate) struct Assessment<T> {
    pub(crate) k: u32,
    pub(crate) at: DateTime<Utc>,
    pub(crate) value: T,
}

/// A care plan.
#[derive(Clone, Debug)]
pub(crate) struct CarePlanRec {
    pub(crate) k: u32,
    /// Index into [`codes::CARE_PLAN_CATEGORIES`].
    pub(crate) category: usize,
    pub(crate) start: DateTime<Utc>,
    pub(crate) end: Option<DateTime<Utc>>,
}

/// A diagnosis.
#[derive(Clone, Debug)]
pub(crate) struct ConditionRec {
    pub(crate) k: u32,
    pub(crate) code: &'static str,
    /// ICD-10-SE (most) or WHO ICD-10.
    pub(crate) icd_se: bool,
    pub(crate) recorded: DateTime<Utc>,
}

/// A medication order.
#[derive(Clone, Debug)]
pub(crate) struct MedRec {
    pub(crate) k: u32,
    /// Index into [`ROUTES`].
    pub(crate) route: usize,
    pub(crate) atc: (&'static str, &'static str),
    pub(crate) frequency: u8,
    /// Local times of day; empty when only the frequency is given.
    pub(crate) times: &'static [&'static str],
    pub(crate) prn: bool,
    pub(crate) start: DateTime<Utc>,
    pub(crate) stop: Option<DateTime<Utc>>,
    /// The local hours of `times` as bits (bit `h` for hour `h`), for the
    /// hidden truth's hourly sums.
    pub(crate) hours: u32,
}

/// A multidisciplinary order.
#[derive(Clone, Debug)]
pub(crate) struct OrderRec {
    pub(crate) k: u32,
    /// Index into [`codes::ORDER_CATEGORIES`].
    pub(crate) category: usize,
    pub(crate) authored: DateTime<Utc>,
    pub(crate) due: DateTime<Utc>,
    /// When it was done (or cancelled).
    pub(crate) done: DateTime<Utc>,
    pub(crate) cancelled: bool,
}

/// A to-do activity.
#[derive(Clone, Debug)]
pub(crate) struct TaskRec {
    pub(crate) k: u32,
    pub(crate) code: &'static str,
    pub(crate) authored: DateTime<Utc>,
    pub(crate) due: DateTime<Utc>,
    /// When it was completed (or cancelled).
    pub(crate) done: DateTime<Utc>,
    pub(crate) cancelled: bool,
    pub(crate) performer: Option<&'static str>,
    /// The code's row in the hidden truth's table (`None`: not priced).
    pub(crate) truth: Option<u8>,
}

/// A deterioration: NEWS2 rises to a peak, stays, and recovers.
#[derive(Clone, Debug)]
struct Episode {
    start: DateTime<Utc>,
    rise_h: f64,
    plateau_h: f64,
    recover_h: f64,
    peak: u8,
}

impl Episode {
    fn end(&self) -> DateTime<Utc> {
        self.start + minutes_f((self.rise_h + self.plateau_h + self.recover_h) * 60.0)
    }

    /// How far along the way to the peak (0–1) the episode is at `t`.
    fn level(&self, t: DateTime<Utc>) -> f64 {
        let h = (t - self.start).num_minutes() as f64 / 60.0;
        if h < 0.0 {
            0.0
        } else if h < self.rise_h {
            h / self.rise_h
        } else if h < self.rise_h + self.plateau_h {
            1.0
        } else {
            (1.0 - (h - self.rise_h - self.plateau_h) / self.recover_h).max(0.0)
        }
    }
}

/// A simulated inpatient.
#[derive(Clone, Debug)]
pub(crate) struct Patient {
    pub(crate) n: u32,
    rng: Rng,
    pub(crate) female: bool,
    pub(crate) birth: NaiveDate,
    age: u32,
    /// Index into [`SPECIALTIES`]: the stay's specialty.
    pub(crate) specialty: usize,
    pub(crate) ward: usize,
    pub(crate) bed: usize,
    pub(crate) outlier: bool,
    pub(crate) admitted: DateTime<Utc>,
    /// Planned discharge, or the actual one once discharged.
    pub(crate) discharge: DateTime<Utc>,
    pub(crate) discharged: bool,
    norton_from: DateTime<Utc>,
    tasks_from: DateTime<Utc>,
    discharge_planning_at: DateTime<Utc>,
    /// Norton physical activity: 4 walks, 3 walks with help, 2 wheelchair, 1 bedridden.
    pub(crate) activity: u8,
    norton_other: [u8; 4],
    baseline: u8,
    episode: Option<Episode>,
    pub(crate) scale2: bool,
    diabetic: bool,
    tube: bool,
    catheter: bool,
    drain: bool,
    wound: bool,
    pain: bool,
    fluid: bool,
    /// Emotional support level, index into [`codes::SUPPORT_LEVELS`] (the
    /// true one: documented after some hours, reassessed now and then).
    pub(crate) support: usize,
    adl: [usize; 5],
    /// The hidden truth's per-patient draw (a standard normal, from its own
    /// stream): how much more or less work this patient is than anything
    /// recorded says ([`crate::truth`]).
    pub(crate) hidden: f64,
    pub(crate) measurements: Vec<Measurement>,
    next_measure: DateTime<Utc>,
    pub(crate) norton: Vec<Assessment<(u8, u8)>>,
    pub(crate) support_obs: Vec<Assessment<usize>>,
    pub(crate) adl_obs: Vec<Assessment<[usize; 5]>>,
    pub(crate) care_plans: Vec<CarePlanRec>,
    pub(crate) conditions: Vec<ConditionRec>,
    pub(crate) meds: Vec<MedRec>,
    pub(crate) orders: Vec<OrderRec>,
    pub(crate) tasks: Vec<TaskRec>,
    tasks_until: DateTime<Utc>,
    last_culture: Option<DateTime<Utc>>,
    next_k: u32,
}

fn minutes(m: i64) -> Duration {
    Duration::minutes(m)
}

fn minutes_f(m: f64) -> Duration {
    Duration::minutes(m.round() as i64)
}

/// The start of the hour at or after `t`.
pub(crate) fn ceil_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let floor = floor_hour(t);
    if floor == t { t } else { floor + Duration::hours(1) }
}

/// The start of the hour containing `t`.
pub(crate) fn floor_hour(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp().div_euclid(3600) * 3600;
    DateTime::from_timestamp(secs, 0).unwrap_or(t)
}

/// The weekend's share of the weekday's ward-round work (imaging orders,
/// medication changes).
const WEEKEND_ROUNDS: f64 = 0.5;

const TIMES_1: &[&str] = &["08:00:00"];
const TIMES_2: &[&str] = &["08:00:00", "20:00:00"];
const TIMES_3: &[&str] = &["08:00:00", "14:00:00", "20:00:00"];
const TIMES_3_IV: &[&str] = &["06:00:00", "14:00:00", "22:00:00"];
const TIMES_4: &[&str] = &["08:00:00", "12:00:00", "16:00:00", "20:00:00"];

impl Patient {
    /// A patient admitted at `admitted` with the given specialty and bed,
    /// planned to leave at `discharge`, with everything decided at admission.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        n: u32,
        seed: u64,
        specialty: usize,
        ward: usize,
        bed: usize,
        outlier: bool,
        admitted: DateTime<Utc>,
        discharge: DateTime<Utc>,
    ) -> Patient {
        let mut rng = Rng::stream(seed, 0x1000_0000 + u64::from(n));
        let spec = SPECIALTIES[specialty].key;
        let female = rng.bernoulli(0.52);
        let age = sample_age(&mut rng, spec);
        let birth_days = i64::from(age) * 365 + i64::from(age / 4) + rng.range(0, 364);
        let birth = admitted.date_naive() - Duration::days(birth_days);
        let norton_weights = match spec {
            "geriatrics" => [0.28, 0.34, 0.19, 0.19],
            "orthopaedics" => [0.25, 0.40, 0.18, 0.17],
            "cardiology" => [0.55, 0.25, 0.10, 0.10],
            "general-surgery" => [0.48, 0.28, 0.11, 0.13],
            _ => [0.42, 0.30, 0.14, 0.14],
        };
        let activity = 4 - rng.weighted(&norton_weights) as u8;
        let mut norton_other = [0u8; 4];
        for item in &mut norton_other {
            *item = (i64::from(activity) + rng.range(-1, 1)).clamp(1, 4) as u8;
        }
        let baseline = rng.weighted(&[0.34, 0.25, 0.18, 0.12, 0.06, 0.03, 0.02]) as u8;
        let scale2 = rng.bernoulli(0.03);
        let tube = activity == 1 && rng.bernoulli(0.2);
        let doc = |rng: &mut Rng, lo: i64, hi: i64| admitted + minutes(rng.range(lo * 60, hi * 60));
        let norton_from = doc(&mut rng, 4, 20);
        let support_from = doc(&mut rng, 6, 24);
        let plans_from = doc(&mut rng, 8, 24);
        let tasks_from = doc(&mut rng, 6, 18);
        let dp_hours = rng.range(6, 24);
        let discharge_planning_at = discharge - Duration::hours(dp_hours);
        let mut p = Patient {
            n,
            rng,
            female,
            birth,
            age,
            specialty,
            ward,
            bed,
            outlier,
            admitted,
            discharge,
            discharged: false,
            norton_from,
            tasks_from,
            discharge_planning_at,
            activity,
            norton_other,
            baseline,
            episode: None,
            scale2,
            diabetic: false,
            tube,
            catheter: false,
            drain: false,
            wound: false,
            pain: false,
            fluid: false,
            support: 0,
            adl: [0; 5],
            hidden: Rng::stream(seed, crate::truth::PATIENT_STREAM + u64::from(n)).normal(),
            measurements: Vec::new(),
            next_measure: admitted + minutes(10),
            norton: Vec::new(),
            support_obs: Vec::new(),
            adl_obs: Vec::new(),
            care_plans: Vec::new(),
            conditions: Vec::new(),
            meds: Vec::new(),
            orders: Vec::new(),
            tasks: Vec::new(),
            tasks_until: ceil_hour(tasks_from),
            last_culture: None,
            next_k: 1,
        };
        let jitter = p.rng.range(0, 30);
        p.next_measure = admitted + minutes(5 + jitter);
        p.admission_records(support_from, plans_from);
        p
    }

    fn k(&mut self) -> u32 {
        let k = self.next_k;
        self.next_k += 1;
        k
    }

    fn spec(&self) -> &'static str {
        SPECIALTIES[self.specialty].key
    }

    /// The patient's id (`p000042`).
    pub(crate) fn id(&self) -> String {
        format!("p{:06}", self.n)
    }

    /// The Norton total (original scale, 5–20).
    fn norton_total(&self) -> u8 {
        self.activity + self.norton_other.iter().sum::<u8>()
    }

    fn has_f0(&self) -> bool {
        self.conditions.iter().any(|c| c.code.starts_with("F0"))
    }

    fn adl_for(&mut self) -> [usize; 5] {
        let r = &mut self.rng;
        // hygiene, eating/drinking, dressing, toileting, mobility
        match self.activity {
            4 => [usize::from(r.bernoulli(0.15)), 0, usize::from(r.bernoulli(0.15)), 0, 0],
            3 => [
                1,
                usize::from(r.bernoulli(0.2)),
                usize::from(r.bernoulli(0.6)),
                usize::from(r.bernoulli(0.6)),
                1,
            ],
            2 => [
                1 + usize::from(r.bernoulli(0.4)),
                usize::from(r.bernoulli(0.4)),
                1 + usize::from(r.bernoulli(0.4)),
                1 + usize::from(r.bernoulli(0.4)),
                2,
            ],
            _ => [2, r.weighted(&[0.2, 0.4, 0.4]), 2, 2, 2],
        }
    }

    /// Everything decided at admission, with its documentation time.
    fn admission_records(&mut self, support_from: DateTime<Utc>, plans_from: DateTime<Utc>) {
        let admitted = self.admitted;
        let spec = self.spec();
        // Diagnoses: the main one within hours, prior ones at once.
        let main = *self.rng.pick(MAIN_DIAGNOSES[self.specialty]);
        let at = admitted + minutes(self.rng.range(30, 360));
        self.add_condition(main, at);
        for (code, share) in COMORBIDITIES {
            if code != main && self.rng.bernoulli(share) {
                self.add_condition(code, admitted + minutes(5));
            }
        }
        let psych_share = match spec {
            "geriatrics" => 0.30,
            "neurology" => 0.18,
            _ => 0.13,
        };
        if self.rng.bernoulli(psych_share) {
            let weights: Vec<f64> = PSYCHIATRIC_DIAGNOSES
                .iter()
                .map(|(c, w)| if c.starts_with("F0") && self.age < 65 { 0.0 } else { *w })
                .collect();
            let code = PSYCHIATRIC_DIAGNOSES[self.rng.weighted(&weights)].0;
            self.add_condition(code, admitted + minutes(5));
        }
        self.diabetic = self.conditions.iter().any(|c| c.code == DIABETES);
        let surgical = matches!(spec, "general-surgery" | "orthopaedics");
        self.drain = spec == "general-surgery" && self.rng.bernoulli(0.25);
        self.wound = (surgical && self.rng.bernoulli(0.6)) || self.activity <= 2 && self.rng.bernoulli(0.12);
        self.pain = surgical || self.rng.bernoulli(0.15);
        self.fluid = self.conditions.iter().any(|c| c.code == "I50.9") || self.rng.bernoulli(0.05);
        self.catheter = self.rng.bernoulli(match self.activity {
            1 => 0.45,
            2 => 0.2,
            _ => 0.06,
        });

        // Norton, ADL and emotional support: documented after some hours.
        let total = self.norton_total();
        let k = self.k();
        let at = self.norton_from;
        self.norton.push(Assessment {
            k,
            at,
            value: (self.activity, total),
        });
        self.adl = self.adl_for();
        let k = self.k();
        let adl = self.adl;
        self.adl_obs.push(Assessment { k, at, value: adl });
        let mut w = [0.62, 0.25, 0.10, 0.025, 0.005];
        if self.has_f0() {
            w = [0.35, 0.30, 0.25, 0.08, 0.02];
        }
        self.support = self.rng.weighted(&w);
        let k = self.k();
        let support = self.support;
        self.support_obs.push(Assessment {
            k,
            at: support_from,
            value: support,
        });

        // Care plans.
        let palliative = match spec {
            "oncology" => 0.15,
            "geriatrics" => 0.08,
            _ => 0.03,
        };
        let delirium = if self.has_f0() {
            0.5
        } else if self.age >= 80 {
            0.08
        } else {
            0.02
        };
        let fall = match self.activity {
            3 | 2 => 0.4,
            4 if self.age >= 80 => 0.1,
            _ => 0.03,
        };
        let pressure = if self.activity == 1 || total <= 12 {
            0.6
        } else if self.activity == 2 {
            0.3
        } else {
            0.02
        };
        let nutrition = if matches!(spec, "oncology" | "geriatrics") {
            0.2
        } else {
            0.08
        };
        let isolation = if spec == "infectious-diseases" { 0.35 } else { 0.03 };
        for (category, share) in [palliative, delirium, fall, pressure, nutrition, isolation]
            .into_iter()
            .enumerate()
        {
            if self.rng.bernoulli(share) {
                let start = plans_from + minutes(self.rng.range(0, 90));
                let k = self.k();
                self.care_plans.push(CarePlanRec {
                    k,
                    category,
                    start,
                    end: None,
                });
            }
        }

        // Medications: a few at once, the rest over the first half day.
        let count = (self.rng.lognormal(7.0, 0.4).round() as i64).clamp(3, 15);
        for i in 0..count {
            let start = if i < 3 {
                admitted + minutes(self.rng.range(20, 120))
            } else {
                admitted + minutes(self.rng.range(120, 720))
            };
            self.add_med(start);
        }

        // Orders on arrival.
        if self.rng.bernoulli(0.8) {
            let due = admitted + minutes(self.rng.range(30, 90));
            self.add_order(0, admitted + minutes(5), due);
        }
        let ecg = if spec == "cardiology" { 0.8 } else { 0.3 };
        if self.rng.bernoulli(ecg) {
            let due = admitted + minutes(self.rng.range(30, 120));
            self.add_order(2, admitted + minutes(10), due);
        }
        if spec == "infectious-diseases" && self.rng.bernoulli(0.4) {
            let due = admitted + minutes(self.rng.range(20, 60));
            self.add_order(1, admitted + minutes(10), due);
            self.last_culture = Some(due);
        }

        // The admission interview is the first to-do, before the rest.
        let due = admitted + minutes(self.rng.range(60, 180));
        self.add_task("admission-interview", admitted + minutes(10), due);
    }

    fn add_condition(&mut self, code: &'static str, recorded: DateTime<Utc>) {
        let k = self.k();
        let icd_se = self.rng.bernoulli(0.85);
        self.conditions.push(ConditionRec {
            k,
            code,
            icd_se,
            recorded,
        });
    }

    fn add_med(&mut self, start: DateTime<Utc>) {
        let spec = self.spec();
        let iv = if spec == "infectious-diseases" { 0.2 } else { 0.09 };
        let enteral = if self.tube { 0.15 } else { 0.0 };
        let route = self.rng.weighted(&[0.70, iv, 0.08, 0.01, 0.04, enteral, 0.03, 0.02]);
        let atc = *self.rng.pick(MEDICATIONS[route]);
        let prn = route != 1 && self.rng.bernoulli(0.18);
        let frequency = match ROUTES[route].key {
            "oral" => 1 + self.rng.weighted(&[0.45, 0.25, 0.18, 0.12]) as u8,
            "intravenous" => 1 + self.rng.weighted(&[0.2, 0.2, 0.45, 0.15]) as u8,
            "subcutaneous" => 1 + self.rng.weighted(&[0.7, 0.3]) as u8,
            "inhalation" => 2 + 2 * self.rng.weighted(&[0.6, 0.4]) as u8,
            "enteral" => 3,
            "topical" => 2,
            "rectal" => 1 + self.rng.weighted(&[0.6, 0.4]) as u8,
            _ => 1,
        };
        let times: &'static [&'static str] = if prn || self.rng.bernoulli(0.1) {
            &[]
        } else {
            match (frequency, route) {
                (1, _) => TIMES_1,
                (2, _) => TIMES_2,
                (3, 1) => TIMES_3_IV,
                (3, _) => TIMES_3,
                _ => TIMES_4,
            }
        };
        let k = self.k();
        self.meds.push(MedRec {
            k,
            route,
            atc,
            frequency,
            times,
            prn,
            start,
            stop: None,
            hours: crate::truth::hours_mask(times),
        });
    }

    fn add_order(&mut self, category: usize, authored: DateTime<Utc>, due: DateTime<Utc>) {
        let k = self.k();
        let delay = self.rng.lognormal(20.0, 0.6).clamp(1.0, 240.0);
        let cancelled = self.rng.bernoulli(0.03);
        self.orders.push(OrderRec {
            k,
            category,
            authored,
            due,
            done: due + minutes_f(delay),
            cancelled,
        });
    }

    fn add_task(&mut self, code: &'static str, authored: DateTime<Utc>, due: DateTime<Utc>) {
        let k = self.k();
        let delay = self.rng.lognormal(12.0, 0.7).clamp(1.0, 180.0);
        let cancelled = self.rng.bernoulli(0.02);
        let performer = if self.rng.bernoulli(0.2) {
            let usk = codes::USK_ACTIVITIES.contains(&code);
            // now and then a task names the other profession
            let usk = if self.rng.bernoulli(0.1) { !usk } else { usk };
            Some(if usk { "USK" } else { "SSK" })
        } else {
            None
        };
        self.tasks.push(TaskRec {
            k,
            code,
            authored,
            due,
            done: due + minutes_f(delay),
            cancelled,
            performer,
            truth: crate::truth::activity_row(code),
        });
    }

    /// NEWS2 from the trajectory at `t`, before measurement noise.
    fn news_at(&self, t: DateTime<Utc>) -> u8 {
        let extra = match &self.episode {
            Some(e) => (f64::from(e.peak.saturating_sub(self.baseline)) * e.level(t)).round() as u8,
            None => 0,
        };
        self.baseline + extra
    }

    fn has_active_iv(&self, t: DateTime<Utc>) -> bool {
        self.meds
            .iter()
            .any(|m| m.route == 1 && m.start <= t && m.stop.is_none_or(|s| s > t))
    }

    /// Advances the patient through the hour starting at `t`.
    pub(crate) fn step(&mut self, t: DateTime<Utc>, acc: &mut Acc) {
        if self.discharged {
            return;
        }
        let end = t + Duration::hours(1);
        // Deterioration.
        if let Some(e) = &self.episode
            && e.end() < t
        {
            self.episode = None;
        }
        if self.episode.is_none() && self.baseline < 5 && t >= self.admitted && self.rng.bernoulli(0.0012) {
            let start = t + minutes(self.rng.range(0, 59));
            let peak = self.rng.range(5, 9) as u8;
            let e = Episode {
                start,
                rise_h: self.rng.range_f64(2.0, 8.0),
                plateau_h: self.rng.range_f64(2.0, 12.0),
                recover_h: self.rng.range_f64(8.0, 36.0),
                peak,
            };
            if peak >= 7
                && self.age >= 75
                && !self.care_plans.iter().any(|c| c.category == 1)
                && self.rng.bernoulli(0.3)
            {
                let k = self.k();
                let start = start + minutes(self.rng.range(120, 600));
                self.care_plans.push(CarePlanRec {
                    k,
                    category: 1,
                    start,
                    end: None,
                });
            }
            self.episode = Some(e);
        }
        // NEWS2 at the RCP frequency for the last value.
        while self.next_measure < end && self.next_measure < self.discharge {
            let at = self.next_measure;
            let mut total = self.news_at(at);
            let noise = self.rng.uniform();
            if noise < 0.12 {
                total = total.saturating_sub(1);
            } else if noise > 0.88 {
                total += 1;
            }
            let (vitals, single_three) = vitals_for(total, self.scale2, &mut self.rng);
            let charted = self.rng.bernoulli(0.8);
            let k = self.k();
            if (total >= 5 || vitals.temp_tenths >= 381)
                && self.last_culture.is_none_or(|c| at - c > Duration::hours(48))
                && self.rng.bernoulli(0.5)
            {
                let due = at + minutes(self.rng.range(15, 60));
                self.add_order(1, at + minutes(5), due);
                self.last_culture = Some(due);
            }
            self.measurements.push(Measurement {
                k,
                at,
                total,
                charted,
                vitals,
            });
            acc.news2[usize::from(total.min(20))] += 1;
            let interval = match total {
                0 => 720,
                _ if single_three && total < 5 => 60,
                1..=2 => 360,
                3..=4 => 240,
                5..=6 => 60,
                _ => 30,
            };
            let jitter = self.rng.range(-interval / 12, interval / 12);
            self.next_measure = at + minutes(interval + jitter);
        }
        let lh = local_hour(t);
        // Norton changes, reassessed with ADL.
        if t >= self.norton_from && self.rng.bernoulli(1.0 / 150.0) {
            let up = self.rng.bernoulli(0.5);
            let next = if up { self.activity + 1 } else { self.activity - 1 };
            if (1..=4).contains(&next) {
                self.activity = next;
                let i = self.rng.below(4) as usize;
                self.norton_other[i] = (i64::from(next) + self.rng.range(-1, 1)).clamp(1, 4) as u8;
                let at = t + minutes(self.rng.range(0, 59));
                let total = self.norton_total();
                let k = self.k();
                self.norton.push(Assessment {
                    k,
                    at,
                    value: (next, total),
                });
                self.adl = self.adl_for();
                let k = self.k();
                let adl = self.adl;
                self.adl_obs.push(Assessment { k, at, value: adl });
            }
        }
        // Emotional support reassessed now and then in the morning.
        if lh == 10 && self.support_obs.last().is_some_and(|a| a.at <= t) && self.rng.bernoulli(0.3) {
            let r = self.rng.uniform();
            if r < 0.15 && self.support > 0 {
                self.support -= 1;
            } else if r > 0.9 && self.support < 2 {
                self.support += 1;
            }
            let k = self.k();
            let at = t + minutes(self.rng.range(0, 59));
            let support = self.support;
            self.support_obs.push(Assessment { k, at, value: support });
        }
        // Orders.
        let soon = |rng: &mut Rng| t + minutes(rng.range(0, 59));
        if lh == 20 && self.rng.bernoulli(0.75) {
            let authored = soon(&mut self.rng);
            let due = t + minutes(10 * 60 + 30 + self.rng.range(-20, 20));
            if due < self.discharge {
                self.add_order(0, authored, due);
            }
        }
        let day = 1.0 / 24.0;
        if self.rng.bernoulli(0.03 * day) {
            let authored = soon(&mut self.rng);
            let due = authored + minutes(self.rng.range(30, 180));
            self.add_order(2, authored, due);
        }
        // The ward round's orders and medication changes: half as many at
        // weekends.
        let round = if weekend(local_weekday(t)) { WEEKEND_ROUNDS } else { 1.0 };
        if (8..17).contains(&lh) && self.rng.bernoulli(0.10 / 9.0 * round) {
            let authored = soon(&mut self.rng);
            let due = authored + minutes(self.rng.range(120, 360));
            self.add_order(3, authored, due);
            if self.rng.bernoulli(0.35) {
                self.add_task("escort", authored, due - minutes(15));
            }
        }
        if self.rng.bernoulli(0.015 * day) {
            let authored = soon(&mut self.rng);
            let due = authored + minutes(self.rng.range(120, 240));
            self.add_order(4, authored, due);
        }
        if self.rng.bernoulli(0.12 * day) {
            let authored = soon(&mut self.rng);
            let due = authored + minutes(self.rng.range(240, 1440));
            self.add_order(5, authored, due);
        }
        // Medication changes once the list is in place.
        if t >= self.admitted + Duration::hours(12) {
            let active = self.meds.iter().filter(|m| m.stop.is_none()).count();
            if active < 15 && self.rng.bernoulli(0.008 * round) {
                let start = soon(&mut self.rng);
                self.add_med(start);
            }
            if active > 3 && self.rng.bernoulli(0.008 * round) {
                let i = self.rng.below(active as u64) as usize;
                let stop = soon(&mut self.rng);
                if let Some(m) = self
                    .meds
                    .iter_mut()
                    .filter(|m| m.stop.is_none() && m.start < stop)
                    .nth(i)
                {
                    m.stop = Some(stop);
                }
            }
        }
        // The to-do list, twelve hours ahead once documented.
        if end > self.tasks_from {
            let authored = t.max(self.tasks_from);
            while self.tasks_until < end + Duration::hours(12) && self.tasks_until < self.discharge {
                let h = self.tasks_until;
                self.tasks_for_hour(h, authored);
                self.tasks_until = h + Duration::hours(1);
            }
        }
        self.prune(end);
    }

    /// Creates the tasks due in the hour starting at `h`.
    fn tasks_for_hour(&mut self, h: DateTime<Utc>, authored: DateTime<Utc>) {
        let lh = local_hour(h);
        let a = self.activity;
        let mut due: Vec<&'static str> = Vec::new();
        if lh == 7 || (lh == 20 && a < 4) {
            due.push("personal-hygiene");
        }
        if lh == 10 && a > 1 && self.rng.bernoulli(1.0 / 3.0) {
            due.push("shower");
        }
        if lh == 7 && self.adl[2] > 0 {
            due.push("dressing");
        }
        if (a == 1 && lh.is_multiple_of(2)) || (a == 2 && lh.is_multiple_of(4)) {
            due.push("repositioning");
        }
        if self.adl[1] > 0 && matches!(lh, 8 | 12 | 17) {
            due.push("meal-assistance");
        }
        if self.adl[3] > 0 && matches!(lh, 6 | 10 | 14 | 18 | 22) {
            due.push("toileting");
        }
        if matches!(a, 2 | 3) && matches!(lh, 10 | 15) {
            due.push("mobilisation");
        }
        if self.wound && lh == 11 {
            due.push("wound-care");
        }
        if lh == 9 && self.has_active_iv(h) {
            due.push("peripheral-line");
        }
        if self.catheter && lh == 9 {
            due.push("urinary-catheter");
        }
        if self.diabetic && matches!(lh, 7 | 11 | 17 | 21) {
            due.push("blood-glucose");
        }
        if self.fluid && matches!(lh, 6 | 14 | 22) {
            due.push("fluid-balance");
        }
        if self.pain && matches!(lh, 8 | 16) {
            due.push("pain-assessment");
        }
        if self.drain && lh == 9 {
            due.push("drain-care");
        }
        if self.tube && matches!(lh, 8 | 12 | 16 | 20) {
            due.push("tube-feeding");
        }
        let stay_h = (h - self.admitted).num_hours();
        if lh == 13 && (36..60).contains(&stay_h) && self.rng.bernoulli(0.5) {
            due.push("patient-education");
        }
        if floor_hour(self.discharge_planning_at) == h
            && self.discharge_planning_at > self.admitted + Duration::hours(12)
        {
            due.push("discharge-planning");
        }
        if lh == 9 && self.rng.bernoulli(0.15) {
            due.push(codes::UNKNOWN_ACTIVITIES[0]);
        }
        for code in due {
            let minute = [0, 0, 0, 0, 0, 0, 0, 30, 30, 15, 45][self.rng.below(11) as usize];
            let at = h + minutes(minute);
            self.add_task(code, authored.min(at), at);
        }
    }

    /// Drops what no emission needs any more.
    fn prune(&mut self, end: DateTime<Utc>) {
        let keep_obs = end - Duration::hours(49);
        let keep_done = end - Duration::hours(25);
        self.measurements.retain(|m| m.at >= keep_obs);
        self.tasks.retain(|x| x.done >= keep_done);
        self.orders.retain(|x| x.done >= keep_done);
        self.meds.retain(|m| m.stop.is_none_or(|s| s >= keep_done));
        prune_assessments(&mut self.norton, keep_obs, end);
        prune_assessments(&mut self.support_obs, keep_obs, end);
        prune_assessments(&mut self.adl_obs, keep_obs, end);
    }

    /// Discharges the patient at `at`: the stay finishes, open to-dos and
    /// orders are cancelled, medications stopped, care plans completed, and
    /// anything not yet documented is dropped.
    pub(crate) fn discharge_at(&mut self, at: DateTime<Utc>) {
        self.discharged = true;
        self.discharge = at;
        self.tasks.retain(|x| x.authored <= at);
        for x in &mut self.tasks {
            if x.done > at {
                x.done = at;
                x.cancelled = true;
            }
        }
        self.orders.retain(|x| x.authored <= at);
        for x in &mut self.orders {
            if x.done > at {
                x.done = at;
                x.cancelled = true;
            }
        }
        self.meds.retain(|m| m.start <= at);
        for m in &mut self.meds {
            if m.stop.is_none_or(|s| s > at) {
                m.stop = Some(at);
            }
        }
        self.care_plans.retain(|c| c.start <= at);
        for c in &mut self.care_plans {
            c.end = Some(at);
        }
        self.conditions.retain(|c| c.recorded <= at);
        self.measurements.clear();
        self.norton.clear();
        self.support_obs.clear();
        self.adl_obs.clear();
    }
}

/// Keeps assessments of the last 49 hours and the latest one documented by
/// `end`, whatever its age.
fn prune_assessments<T>(v: &mut Vec<Assessment<T>>, keep: DateTime<Utc>, end: DateTime<Utc>) {
    let latest = v.iter().rposition(|a| a.at <= end);
    let first_recent = v.iter().position(|a| a.at >= keep).unwrap_or(v.len());
    let cut = latest.map_or(first_recent, |l| l.min(first_recent));
    v.drain(..cut);
}

/// Age at admission: skewed old, 18–100 (geriatrics 70–100).
fn sample_age(rng: &mut Rng, spec: &str) -> u32 {
    let bands: [(u32, u32); 6] = [(18, 39), (40, 59), (60, 69), (70, 79), (80, 89), (90, 100)];
    let weights = if spec == "geriatrics" {
        [0.0, 0.0, 0.0, 0.35, 0.45, 0.20]
    } else {
        [0.08, 0.15, 0.17, 0.27, 0.25, 0.08]
    };
    let (lo, hi) = bands[rng.weighted(&weights)];
    rng.range(i64::from(lo), i64::from(hi)) as u32
}
