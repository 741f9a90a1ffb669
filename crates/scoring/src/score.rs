//! The score: one patient's care need in a time window, with its breakdown.
//!
//! # The arithmetic
//!
//! A score is made for a window `[start, end)`; `H` is its length in hours
//! (to a thousandth). "Now" is the hour from the snapshot's time, the
//! forecast is eight such hours one after the other, a shift is the shift's
//! own hours. Every contribution is **weight × quantity**, rounded to a
//! thousandth of a point, and the total is the exact sum of the
//! contributions.
//!
//! **Items due in the window** — counted once each:
//! * *activity*, open and due in the window: the activity code's points
//!   at the patient's Norton physical-activity level (the weights file's
//!   `when_norton_missing` level when there is no assessment). An open
//!   activity that is overdue (due before the window) or has no due time
//!   counts in the window that contains the snapshot's time, and only there:
//!   the work is still to be done now. A **completed** activity counts when
//!   due in the window and before the end of the hour from the snapshot's
//!   time (the current hour's or an earlier hour's work; done early for a
//!   later hour, it is no longer work ahead). A cancelled one never counts. Its profession is the task's own when
//!   the task names one, else the weights file's; USK activities are the
//!   *basic nursing* component, SSK ones *specific nursing*.
//! * *order* (lab sampling, imaging…) due in the window, or without due time
//!   or overdue in the window that contains the snapshot's time: the
//!   category's points. Snapshots hold pending orders only; the ingest drops
//!   completed and cancelled ones.
//! * *medication administration*: for orders with set times, each time in
//!   the window; for orders given `n` times per day without set times,
//!   `n × H / 24` administrations; as-needed orders none. Points per
//!   administration by route.
//!
//! **Standing factors** — counted per hour of the window (quantity `H`):
//! * each active *medication order*: points per order-hour by route;
//! * the *NEWS2 band* of the latest NEWS2 at or before the snapshot time (a
//!   charted total, or computed from a later full set of vital signs);
//! * *NEWS2 measurement frequency*: the number `m` of measurements in the 24
//!   hours up to the snapshot time, as a rate: quantity `m × H / 24`, times
//!   the points per measurement;
//! * *emotional support* at the latest assessed level;
//! * each active *care plan* category (a category counts once however many
//!   plans share it);
//! * each *diagnosis rule* that matches any diagnosis (longest ICD-10 prefix
//!   wins for each diagnosis; a rule counts once however many match).
//!
//! **Modifiers**, in this order:
//! 1. *outlier*: an outlying patient gets `(multiplier − 1) ×` the points so
//!    far, per profession (two contributions);
//! 2. *newly admitted*: for the `h` hours of the window that fall within the
//!    first `hours` after admission, `extra_per_hour × h × (1 − d / D)`
//!    where `d` is the documented items (activities not cancelled, medication orders,
//!    NEWS2 measurements in 24 h, a Norton assessment, an emotional-support
//!    assessment) capped at `D = full_documentation_items`; then, when the
//!    total is below `floor_per_hour × h`, a top-up to that floor (weight:
//!    the missing points, quantity 1).
//!
//! Items whose code or category the weights do not know score nothing and are
//! listed in [`Score::unmatched`], so a screen can say so. ADL needs are never
//! scored.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::news2::{self, RiskLevel};
use crate::points::{Points, Qty};
use crate::snapshot::{ActivityStatus, Dosing, NortonActivity, Profession, Route, Snapshot, SupportLevel};
use crate::weights::Weights;

/// The longest window a score may cover.
pub const MAX_WINDOW_HOURS: i64 = 24 * 7;

/// A half-open interval of time `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Window {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

impl Window {
    /// A window from `start` to `end`.
    ///
    /// # Errors
    /// [`Error::BadWindow`] when `end` is not after `start` or the window is
    /// longer than a week.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Window, Error> {
        if end <= start || end - start > Duration::hours(MAX_WINDOW_HOURS) {
            return Err(Error::BadWindow { start, end });
        }
        Ok(Window { start, end })
    }

    /// The hour from `start`.
    pub fn hour(start: DateTime<Utc>) -> Window {
        Window {
            start,
            end: start + Duration::hours(1),
        }
    }

    /// True when `t` is inside.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    /// Length in whole minutes.
    pub fn minutes(&self) -> i64 {
        (self.end - self.start).num_minutes()
    }

    /// Length in hours, to a thousandth.
    pub fn hours(&self) -> Qty {
        Qty::ONE.ratio(self.minutes(), 60)
    }
}

/// The named parts of a score.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// Medication orders and administrations.
    Medications,
    /// Multidisciplinary orders (lab sampling, imaging…).
    Orders,
    /// Activities performed by assistant nurses (USK).
    BasicNursing,
    /// Activities performed by registered nurses (SSK).
    SpecificNursing,
    /// NEWS2 band and measurement frequency.
    News2,
    /// Emotional support.
    EmotionalSupport,
    /// Care plans.
    CarePlans,
    /// Diagnoses.
    Diagnoses,
    /// Outlier and newly-admitted modifiers.
    Modifiers,
}

impl Component {
    /// All components, in display order.
    pub const ALL: [Component; 9] = [
        Component::Medications,
        Component::Orders,
        Component::BasicNursing,
        Component::SpecificNursing,
        Component::News2,
        Component::EmotionalSupport,
        Component::CarePlans,
        Component::Diagnoses,
        Component::Modifiers,
    ];

    /// The snake_case key used in JSON and exports.
    pub fn key(self) -> &'static str {
        match self {
            Component::Medications => "medications",
            Component::Orders => "orders",
            Component::BasicNursing => "basic_nursing",
            Component::SpecificNursing => "specific_nursing",
            Component::News2 => "news2",
            Component::EmotionalSupport => "emotional_support",
            Component::CarePlans => "care_plans",
            Component::Diagnoses => "diagnoses",
            Component::Modifiers => "modifiers",
        }
    }
}

/// Points per component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Components {
    /// Medications.
    pub medications: Points,
    /// Orders.
    pub orders: Points,
    /// Basic nursing (USK activities).
    pub basic_nursing: Points,
    /// Specific nursing (SSK activities).
    pub specific_nursing: Points,
    /// NEWS2.
    pub news2: Points,
    /// Emotional support.
    pub emotional_support: Points,
    /// Care plans.
    pub care_plans: Points,
    /// Diagnoses.
    pub diagnoses: Points,
    /// Modifiers.
    pub modifiers: Points,
}

impl Components {
    /// Points of one component.
    pub fn get(&self, c: Component) -> Points {
        match c {
            Component::Medications => self.medications,
            Component::Orders => self.orders,
            Component::BasicNursing => self.basic_nursing,
            Component::SpecificNursing => self.specific_nursing,
            Component::News2 => self.news2,
            Component::EmotionalSupport => self.emotional_support,
            Component::CarePlans => self.care_plans,
            Component::Diagnoses => self.diagnoses,
            Component::Modifiers => self.modifiers,
        }
    }

    fn slot(&mut self, c: Component) -> &mut Points {
        match c {
            Component::Medications => &mut self.medications,
            Component::Orders => &mut self.orders,
            Component::BasicNursing => &mut self.basic_nursing,
            Component::SpecificNursing => &mut self.specific_nursing,
            Component::News2 => &mut self.news2,
            Component::EmotionalSupport => &mut self.emotional_support,
            Component::CarePlans => &mut self.care_plans,
            Component::Diagnoses => &mut self.diagnoses,
            Component::Modifiers => &mut self.modifiers,
        }
    }

    /// Adds points to one component.
    pub fn add(&mut self, c: Component, points: Points) {
        *self.slot(c) += points;
    }

    /// Adds every component of `other`.
    pub fn merge(&mut self, other: &Components) {
        for c in Component::ALL {
            self.add(c, other.get(c));
        }
    }

    /// The sum of all components.
    pub fn sum(&self) -> Points {
        Component::ALL.iter().map(|&c| self.get(c)).sum()
    }
}

/// Points per profession.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Split {
    /// Assistant nurses.
    pub usk: Points,
    /// Registered nurses.
    pub ssk: Points,
}

impl Split {
    /// Points of one profession.
    pub fn get(&self, p: Profession) -> Points {
        match p {
            Profession::Usk => self.usk,
            Profession::Ssk => self.ssk,
        }
    }

    /// Adds points to one profession.
    pub fn add(&mut self, p: Profession, points: Points) {
        match p {
            Profession::Usk => self.usk += points,
            Profession::Ssk => self.ssk += points,
        }
    }

    /// Adds both professions of `other`.
    pub fn merge(&mut self, other: &Split) {
        self.usk += other.usk;
        self.ssk += other.ssk;
    }
}

/// Which weight a contribution used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Parameter {
    /// `activities.codes.<code>.<level>`.
    Activity {
        /// The Norton level used.
        level: NortonActivity,
        /// True when the patient has no Norton assessment and the default level was used.
        assumed: bool,
    },
    /// `medications.<route>.per_order_hour`.
    MedicationOrder {
        /// The route.
        route: Route,
    },
    /// `medications.<route>.per_administration`.
    MedicationAdministration {
        /// The route.
        route: Route,
    },
    /// `news2.bands[from]`.
    News2Band {
        /// The band's lowest total.
        from: u8,
        /// The patient's NEWS2.
        value: u8,
        /// True when computed from vital signs rather than charted.
        computed: bool,
    },
    /// `news2.per_measurement`.
    News2Measurements {
        /// Measurements in the 24 hours up to the snapshot time.
        last_24h: u16,
    },
    /// `emotional_support.<level>`.
    EmotionalSupport {
        /// The level.
        level: SupportLevel,
    },
    /// `orders.<category>.points`.
    Order,
    /// `care_plans.<category>.per_hour`.
    CarePlan,
    /// `diagnoses[<rule>]`.
    Diagnosis {
        /// Index of the rule in the weights file.
        rule: u16,
    },
    /// `modifiers.outlier.multiplier`: weight is the points so far, quantity the multiplier − 1.
    Outlier,
    /// `modifiers.newly_admitted.extra_per_hour`: quantity is hours × the share still undocumented.
    NewlyAdmitted {
        /// Documented items counted.
        documented: u16,
    },
    /// `modifiers.newly_admitted.floor_per_hour`: weight is the top-up that
    /// brings the total to `floor_per_hour × h`, quantity 1.
    NewlyAdmittedFloor,
}

/// What a contribution came from: an index into the snapshot's lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "index")]
pub enum Source {
    /// `snapshot.activities[i]`.
    Activity(u32),
    /// `snapshot.medications[i]`.
    Medication(u32),
    /// `snapshot.news2[i]`.
    News2(u32),
    /// `snapshot.vitals[i]`.
    Vitals(u32),
    /// `snapshot.emotional_support`.
    EmotionalSupport,
    /// `snapshot.orders[i]`.
    Order(u32),
    /// `snapshot.care_plans[i]`.
    CarePlan(u32),
    /// `snapshot.diagnoses[i]`.
    Diagnosis(u32),
    /// The patient as a whole (modifiers, measurement frequency).
    Patient,
}

/// One line of the breakdown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    /// The component it belongs to.
    pub component: Component,
    /// Who performs it.
    pub profession: Profession,
    /// The weight it used.
    pub parameter: Parameter,
    /// What it came from.
    pub source: Source,
    /// The weight's value.
    pub weight: Points,
    /// How many (count, hours, or a fraction).
    pub quantity: Qty,
    /// The points: weight × quantity, rounded to a thousandth.
    pub points: Points,
}

/// The NEWS2 the score used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentNews2 {
    /// The total.
    pub value: u8,
    /// The clinical risk level.
    pub risk: RiskLevel,
    /// When it was measured.
    pub at: DateTime<Utc>,
    /// True when computed from vital signs.
    pub computed: bool,
    /// Where it came from.
    pub source: Source,
}

/// A patient's score for one window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// The window scored.
    pub window: Window,
    /// The total: the sum of every contribution.
    pub total: Points,
    /// Points per component.
    pub components: Components,
    /// Points per profession.
    pub professions: Split,
    /// The NEWS2 used, if any.
    pub news2: Option<CurrentNews2>,
    /// Measurements (NEWS2 totals or full vital-sign sets) in the 24 hours up to the snapshot.
    pub news2_measurements_24h: u16,
    /// Every contribution.
    pub contributions: Vec<Contribution>,
    /// Items in the window whose code or category the weights do not know.
    pub unmatched: Vec<Source>,
    /// Documentation quality, when the hourly run assessed it (not part of
    /// the score: [`score`] leaves it `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<crate::quality::Quality>,
}

struct Builder<'a> {
    total: Points,
    components: Components,
    professions: Split,
    contributions: &'a mut Vec<Contribution>,
    unmatched: &'a mut Vec<Source>,
}

impl Builder<'_> {
    fn add(
        &mut self,
        component: Component,
        profession: Profession,
        parameter: Parameter,
        source: Source,
        weight: Points,
        quantity: Qty,
    ) {
        let points = weight.times(quantity);
        self.push(component, profession, parameter, source, weight, quantity, points);
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        component: Component,
        profession: Profession,
        parameter: Parameter,
        source: Source,
        weight: Points,
        quantity: Qty,
        points: Points,
    ) {
        if points == Points::ZERO {
            return;
        }
        self.total += points;
        self.components.add(component, points);
        self.professions.add(profession, points);
        self.contributions.push(Contribution {
            component,
            profession,
            parameter,
            source,
            weight,
            quantity,
            points,
        });
    }
}

/// The latest NEWS2 at or before the snapshot time, and the number of
/// measurements in the 24 hours up to it.
fn current_news2(s: &Snapshot) -> (Option<CurrentNews2>, u16) {
    let since = s.as_of - Duration::hours(24);
    let in_day = |t: DateTime<Utc>| since < t && t <= s.as_of;
    let mut latest: Option<CurrentNews2> = None;
    let mut measurements: u16 = 0;
    for (i, obs) in s.news2.iter().enumerate() {
        if obs.at > s.as_of {
            continue;
        }
        if in_day(obs.at) {
            measurements = measurements.saturating_add(1);
        }
        if latest.is_none_or(|l| obs.at > l.at) {
            latest = Some(CurrentNews2 {
                value: obs.value.min(20),
                risk: RiskLevel::classify(obs.value, false),
                at: obs.at,
                computed: false,
                source: Source::News2(i as u32),
            });
        }
    }
    for (i, set) in s.vitals.iter().enumerate() {
        if set.at > s.as_of {
            continue;
        }
        let Ok(n) = news2::news2(&set.vitals) else {
            continue;
        };
        // a full set charted at the same time as a total is the same measurement
        if in_day(set.at) && !s.news2.iter().any(|o| o.at == set.at) {
            measurements = measurements.saturating_add(1);
        }
        if latest.is_none_or(|l| set.at > l.at) {
            latest = Some(CurrentNews2 {
                value: n.total,
                risk: n.risk,
                at: set.at,
                computed: true,
                source: Source::Vitals(i as u32),
            });
        }
    }
    (latest, measurements)
}

/// Does an item due at `due` count in this window?
fn due_counts(due: Option<DateTime<Utc>>, open: bool, window: &Window, now_window: bool) -> bool {
    match due {
        Some(d) if window.contains(d) => true,
        Some(d) if d < window.start => open && now_window,
        Some(_) => false,
        None => open && now_window,
    }
}

/// A score without its lists: what [`score_into`] returns while it appends
/// the contributions and unmatched items to buffers the caller owns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreHead {
    /// The window scored.
    pub window: Window,
    /// The total.
    pub total: Points,
    /// Points per component.
    pub components: Components,
    /// Points per profession.
    pub professions: Split,
    /// The NEWS2 used, if any.
    pub news2: Option<CurrentNews2>,
    /// Measurements in the 24 hours up to the snapshot.
    pub news2_measurements_24h: u16,
}

/// Scores one patient for one window under one weights version.
///
/// Pure: no I/O, no clock. The arithmetic is described in the
/// [module docs](self).
pub fn score(s: &Snapshot, w: &Weights, window: Window) -> Score {
    let mut contributions = Vec::new();
    let mut unmatched = Vec::new();
    let head = score_into(s, w, window, &mut contributions, &mut unmatched);
    Score {
        window: head.window,
        total: head.total,
        components: head.components,
        professions: head.professions,
        news2: head.news2,
        news2_measurements_24h: head.news2_measurements_24h,
        contributions,
        unmatched,
        quality: None,
    }
}

/// Scores one patient, appending its contributions and unmatched items to
/// the caller's buffers: the allocation-free form [`Batch`] uses to score a
/// whole region.
pub fn score_into(
    s: &Snapshot,
    w: &Weights,
    window: Window,
    contributions: &mut Vec<Contribution>,
    unmatched: &mut Vec<Source>,
) -> ScoreHead {
    let minutes = window.minutes();
    let hours = Qty::ONE.ratio(minutes, 60);
    let now_window = window.contains(s.as_of);
    let next_hour = s.as_of + Duration::hours(1);
    let mut b = Builder {
        total: Points::ZERO,
        components: Components::default(),
        professions: Split::default(),
        contributions,
        unmatched,
    };

    // activities
    let (level, assumed) = match &s.norton {
        Some(n) => (n.activity, false),
        None => (w.when_norton_missing, true),
    };
    for (i, a) in s.activities.iter().enumerate() {
        let counts = match a.status {
            ActivityStatus::Open => due_counts(a.due, true, &window, now_window),
            // done: work of its window, unless done early for a later hour
            ActivityStatus::Completed => a.due.is_some_and(|d| window.contains(d) && d < next_hour),
            ActivityStatus::Cancelled => false,
        };
        if !counts {
            continue;
        }
        let source = Source::Activity(i as u32);
        let Some(aw) = w.activity(&a.code) else {
            b.unmatched.push(source);
            continue;
        };
        let profession = a.profession.unwrap_or(aw.profession);
        let component = match profession {
            Profession::Usk => Component::BasicNursing,
            Profession::Ssk => Component::SpecificNursing,
        };
        b.add(
            component,
            profession,
            Parameter::Activity { level, assumed },
            source,
            aw.at(level),
            Qty::ONE,
        );
    }

    // medications
    let med_profession = w.medications.profession;
    for (i, m) in s.medications.iter().enumerate() {
        let rw = w.medications.route(m.route);
        let source = Source::Medication(i as u32);
        b.add(
            Component::Medications,
            med_profession,
            Parameter::MedicationOrder { route: m.route },
            source,
            rw.per_order_hour,
            hours,
        );
        let administrations = match &m.dosing {
            Dosing::At { times } => Qty::whole(times.iter().filter(|t| window.contains(**t)).count() as i64),
            Dosing::PerDay { times } => Qty::whole(i64::from(*times)).ratio(minutes, 24 * 60),
            Dosing::AsNeeded => Qty::ZERO,
        };
        b.add(
            Component::Medications,
            med_profession,
            Parameter::MedicationAdministration { route: m.route },
            source,
            rw.per_administration,
            administrations,
        );
    }

    // NEWS2
    let (news2, measurements) = current_news2(s);
    if let Some(n) = news2 {
        let band = &w.news2.bands[w.news2.band_of(n.value)];
        b.add(
            Component::News2,
            w.news2.profession,
            Parameter::News2Band {
                from: band.from,
                value: n.value,
                computed: n.computed,
            },
            n.source,
            band.per_hour,
            hours,
        );
    }
    if measurements > 0 {
        b.add(
            Component::News2,
            w.news2.profession,
            Parameter::News2Measurements { last_24h: measurements },
            Source::Patient,
            w.news2.per_measurement,
            Qty::whole(i64::from(measurements)).ratio(minutes, 24 * 60),
        );
    }

    // emotional support
    if let Some(es) = &s.emotional_support {
        b.add(
            Component::EmotionalSupport,
            w.emotional_support.profession,
            Parameter::EmotionalSupport { level: es.level },
            Source::EmotionalSupport,
            w.emotional_support.at(es.level),
            hours,
        );
    }

    // orders
    for (i, o) in s.orders.iter().enumerate() {
        if !due_counts(o.due, true, &window, now_window) {
            continue;
        }
        let source = Source::Order(i as u32);
        match w.order(&o.category) {
            Some(ow) => b.add(
                Component::Orders,
                ow.profession,
                Parameter::Order,
                source,
                ow.points,
                Qty::ONE,
            ),
            None => b.unmatched.push(source),
        }
    }

    // care plans: each category once
    for (i, c) in s.care_plans.iter().enumerate() {
        let source = Source::CarePlan(i as u32);
        if s.care_plans[..i].iter().any(|earlier| earlier.category == c.category) {
            continue;
        }
        match w.care_plan(&c.category) {
            Some(cw) => b.add(
                Component::CarePlans,
                cw.profession,
                Parameter::CarePlan,
                source,
                cw.points,
                hours,
            ),
            None => b.unmatched.push(source),
        }
    }

    // diagnoses: each rule once
    let mut rules_seen: u64 = 0;
    let mut rules_seen_high: Vec<usize> = Vec::new();
    for (i, d) in s.diagnoses.iter().enumerate() {
        let Some(rule) = w.diagnosis_rule(&d.code) else {
            continue;
        };
        let first = if rule < 64 {
            let bit = 1u64 << rule;
            let first = rules_seen & bit == 0;
            rules_seen |= bit;
            first
        } else if rules_seen_high.contains(&rule) {
            false
        } else {
            rules_seen_high.push(rule);
            true
        };
        if first {
            let r = &w.diagnoses[rule];
            b.add(
                Component::Diagnoses,
                r.profession,
                Parameter::Diagnosis { rule: rule as u16 },
                Source::Diagnosis(i as u32),
                r.per_hour,
                hours,
            );
        }
    }

    // modifiers: outlier on everything so far, per profession
    let multiplier = w.modifiers.outlier.multiplier;
    if s.outlying && multiplier > Qty::ONE {
        let base = b.professions;
        for p in Profession::ALL {
            b.add(
                Component::Modifiers,
                p,
                Parameter::Outlier,
                Source::Patient,
                base.get(p),
                multiplier - Qty::ONE,
            );
        }
    }

    // modifiers: newly admitted
    let na = &w.modifiers.newly_admitted;
    let period_end = s.admitted_at + Duration::hours(i64::from(na.hours));
    let overlap_start = window.start.max(s.admitted_at);
    let overlap_end = window.end.min(period_end);
    if overlap_end > overlap_start {
        let h_new = Qty::ONE.ratio((overlap_end - overlap_start).num_minutes(), 60);
        let full = i64::from(na.full_documentation_items.max(1));
        let documented = s
            .activities
            .iter()
            .filter(|a| a.status != ActivityStatus::Cancelled)
            .count()
            + s.medications.len()
            + usize::from(measurements)
            + usize::from(s.norton.is_some())
            + usize::from(s.emotional_support.is_some());
        let missing_share = Qty::ONE.ratio(full - (documented as i64).min(full), full);
        b.add(
            Component::Modifiers,
            na.profession,
            Parameter::NewlyAdmitted {
                documented: documented.min(usize::from(u16::MAX)) as u16,
            },
            Source::Patient,
            na.extra_per_hour,
            h_new.times(missing_share),
        );
        let floor = na.floor_per_hour.times(h_new);
        if b.total < floor {
            let top_up = floor - b.total;
            b.add(
                Component::Modifiers,
                na.profession,
                Parameter::NewlyAdmittedFloor,
                Source::Patient,
                top_up,
                Qty::ONE,
            );
        }
    }

    ScoreHead {
        window,
        total: b.total,
        components: b.components,
        professions: b.professions,
        news2,
        news2_measurements_24h: measurements,
    }
}

/// Many patients scored into shared buffers: one allocation for a whole
/// region's contributions instead of one per patient.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    heads: Vec<ScoreHead>,
    contributions: Vec<Contribution>,
    unmatched: Vec<Source>,
    /// Per patient: end of its contributions and of its unmatched items.
    ends: Vec<(u32, u32)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Forgets every score but keeps the buffers, for the next hour.
    pub fn clear(&mut self) {
        self.heads.clear();
        self.contributions.clear();
        self.unmatched.clear();
        self.ends.clear();
    }

    /// Scores one more patient.
    pub fn push(&mut self, s: &Snapshot, w: &Weights, window: Window) {
        let head = score_into(s, w, window, &mut self.contributions, &mut self.unmatched);
        self.heads.push(head);
        self.ends
            .push((self.contributions.len() as u32, self.unmatched.len() as u32));
    }

    /// Patients scored.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    /// True when nothing is scored.
    pub fn is_empty(&self) -> bool {
        self.heads.is_empty()
    }

    fn ranges(&self, i: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
        let (c_end, u_end) = self.ends[i];
        let (c_start, u_start) = if i == 0 { (0, 0) } else { self.ends[i - 1] };
        (c_start as usize..c_end as usize, u_start as usize..u_end as usize)
    }

    /// The i-th patient's score head.
    pub fn head(&self, i: usize) -> &ScoreHead {
        &self.heads[i]
    }

    /// The i-th patient's contributions.
    pub fn contributions(&self, i: usize) -> &[Contribution] {
        &self.contributions[self.ranges(i).0]
    }

    /// The i-th patient's unmatched items.
    pub fn unmatched(&self, i: usize) -> &[Source] {
        &self.unmatched[self.ranges(i).1]
    }

    /// The i-th patient's score as an owned [`Score`].
    pub fn to_score(&self, i: usize) -> Score {
        let h = &self.heads[i];
        Score {
            window: h.window,
            total: h.total,
            components: h.components,
            professions: h.professions,
            news2: h.news2,
            news2_measurements_24h: h.news2_measurements_24h,
            contributions: self.contributions(i).to_vec(),
            unmatched: self.unmatched(i).to_vec(),
            quality: None,
        }
    }
}

/// The score for the hour from the snapshot's time ("now").
pub fn score_now(s: &Snapshot, w: &Weights) -> Score {
    score(s, w, Window::hour(s.as_of))
}

/// The hourly forecast: `hours` consecutive one-hour windows from the snapshot's time.
pub fn forecast(s: &Snapshot, w: &Weights, hours: u32) -> Vec<Score> {
    (0..hours)
        .map(|h| score(s, w, Window::hour(s.as_of + Duration::hours(i64::from(h)))))
        .collect()
}
