//! The forecast need of a ward and its teams for one shift.
//!
//! # Input
//!
//! Per patient, the hourly forecast the API already computes
//! (`careload_scoring::forecast`), reduced to [`HourNeed`]s (window start,
//! points per component and per profession; no contributions), with the
//! patient's team, room and bed. Pass enough hours to reach the end of the
//! shifts asked about: [`forecast_hours_needed`] says how many (scoring is
//! cheap; the API's default of 8 hours reaches only part of the shift after
//! next).
//!
//! For the **current** shift, pass a [`ShiftWindow`] whose start is the
//! current hour: the need and the people are then those of the rest of the
//! shift (hours already past are not forecast, and would otherwise be
//! extrapolated).
//!
//! # Arithmetic
//!
//! * A forecast hour `[s, s + 1 h)` counts towards a shift in proportion to
//!   its overlap with the shift: all of it when it lies inside, `m / 60` of
//!   it when only `m` minutes do (shifts starting on the half hour).
//! * Minutes of the shift that no forecast hour covers are **extrapolated**:
//!   each is given the patient's mean points per minute over their forecast
//!   hours *after the first* (the first hour also carries overdue work, which
//!   is done once, not every hour), or over the first when it is the only one.
//!   [`ShiftNeed::extrapolated_minutes`] says how much of the shift that was.
//!   A patient with no forecast hours at all adds nothing.
//! * Points per team and ward are exact sums of the patients' shift points.
//! * `staff_hours(p) = points(p) × factor(p)` with the ward care category's
//!   factors, and `people(p) = staff_hours(p) × 60 / shift_minutes`, each
//!   rounded to a thousandth. The total is USK + SSK.

use std::collections::BTreeMap;

use careload_scoring::aggregate::NO_TEAM;
use careload_scoring::score::{Component, Components, Split};
use careload_scoring::shift::ShiftWindow;
use careload_scoring::weights::StaffHours;
use careload_scoring::{Points, Qty, Score};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ByProfession, scale_points};

/// One forecast hour of one patient: the parts of a [`Score`] planning uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourNeed {
    /// Start of the one-hour window.
    pub start: DateTime<Utc>,
    /// Points per component.
    pub components: Components,
    /// Points per profession.
    pub professions: Split,
}

impl From<&Score> for HourNeed {
    fn from(s: &Score) -> HourNeed {
        HourNeed {
            start: s.window.start,
            components: s.components,
            professions: s.professions,
        }
    }
}

/// One patient's hourly forecast and placement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientForecast {
    /// A stable key: the pseudonym (used to break ties and to name moves when there is no bed).
    pub id: String,
    /// The team (vårdlag); `None` counts under [`NO_TEAM`].
    pub team: Option<String>,
    /// The room (sal), when known.
    pub room: Option<String>,
    /// The bed, when known.
    pub bed: Option<String>,
    /// Hourly forecast, in any order.
    pub hours: Vec<HourNeed>,
}

impl PatientForecast {
    /// The forecast from scoring's hourly scores.
    pub fn from_scores(
        id: impl Into<String>,
        team: Option<String>,
        room: Option<String>,
        bed: Option<String>,
        scores: &[Score],
    ) -> PatientForecast {
        PatientForecast {
            id: id.into(),
            team,
            room,
            bed,
            hours: scores.iter().map(HourNeed::from).collect(),
        }
    }
}

/// Need summed over a group (a team or the ward) for a shift.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NeedLine {
    /// Patients counted.
    pub patients: u32,
    /// USK + SSK points over the shift.
    pub total: Points,
    /// Points per component.
    pub components: Components,
    /// Points per profession.
    pub professions: Split,
    /// Staff-hours needed over the shift, per profession.
    pub staff_hours: ByProfession,
    /// People needed on the floor for the whole shift, per profession.
    pub people: ByProfession,
}

impl NeedLine {
    fn add(&mut self, p: &PatientShiftNeed) {
        self.patients += 1;
        self.components.merge(&p.components);
        self.professions.merge(&p.professions);
        self.total = self.professions.usk + self.professions.ssk;
    }

    fn convert(&mut self, factors: &StaffHours, shift_minutes: i64) {
        let usk = Qty::from_milli(self.professions.usk.times(factors.usk).milli());
        let ssk = Qty::from_milli(self.professions.ssk.times(factors.ssk).milli());
        self.staff_hours = ByProfession { usk, ssk };
        self.people = ByProfession {
            usk: usk.ratio(60, shift_minutes),
            ssk: ssk.ratio(60, shift_minutes),
        };
    }
}

/// One patient's need over a shift (the input of team balancing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientShiftNeed {
    /// The patient's key.
    pub id: String,
    /// The team, [`NO_TEAM`] when unknown.
    pub team: String,
    /// The room, when known.
    pub room: Option<String>,
    /// The bed, when known.
    pub bed: Option<String>,
    /// USK + SSK points over the shift.
    pub total: Points,
    /// Points per component.
    pub components: Components,
    /// Points per profession.
    pub professions: Split,
    /// Minutes of the shift filled by extrapolation.
    pub extrapolated_minutes: i64,
}

/// A ward's need for one shift, per team and for the whole ward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftNeed {
    /// The shift.
    pub shift: ShiftWindow,
    /// Its length in hours (to a thousandth; a night is 9 or 11 hours when the clocks change).
    pub shift_hours: Qty,
    /// The factors used (the ward care category's).
    pub factors: StaffHours,
    /// The whole ward.
    pub ward: NeedLine,
    /// Per team ([`NO_TEAM`] for patients without one).
    pub teams: BTreeMap<String, NeedLine>,
    /// Per patient, sorted by team then id.
    pub patients: Vec<PatientShiftNeed>,
    /// The most minutes any patient's need had to be extrapolated (0: the forecast covered the shift).
    pub extrapolated_minutes: i64,
}

/// How many hourly forecast hours from `as_of` reach the end of every window
/// (0 when all have ended; at most a week, scoring's longest window).
pub fn forecast_hours_needed(as_of: DateTime<Utc>, shifts: &[&ShiftWindow]) -> u32 {
    let minutes = shifts
        .iter()
        .map(|s| (s.window.end - as_of).num_minutes())
        .max()
        .unwrap_or(0)
        .max(0);
    let hours = (minutes + 59) / 60;
    hours.min(careload_scoring::score::MAX_WINDOW_HOURS) as u32
}

fn add_scaled(c: &mut Components, s: &mut Split, h: &HourNeed, num: i64, den: i64) {
    for comp in Component::ALL {
        c.add(comp, scale_points(h.components.get(comp), num, den));
    }
    s.usk += scale_points(h.professions.usk, num, den);
    s.ssk += scale_points(h.professions.ssk, num, den);
}

/// One patient's need over `shift`: overlapping forecast hours, plus extrapolation.
fn patient_need(p: &PatientForecast, shift: &ShiftWindow) -> PatientShiftNeed {
    let (start, end) = (shift.window.start, shift.window.end);
    let shift_minutes = (end - start).num_minutes().max(0);
    let mut components = Components::default();
    let mut professions = Split::default();
    let mut covered = 0i64;
    let mut hours: Vec<&HourNeed> = p.hours.iter().collect();
    hours.sort_by_key(|h| h.start);
    for h in &hours {
        let h_end = h.start + chrono::Duration::hours(1);
        let overlap = (h_end.min(end) - h.start.max(start)).num_minutes();
        if overlap > 0 {
            covered += overlap;
            add_scaled(&mut components, &mut professions, h, overlap, 60);
        }
    }
    let missing = (shift_minutes - covered).max(0);
    if missing > 0 && !hours.is_empty() {
        // the mean per minute over the hours after the first (or the only one)
        let basis: &[&HourNeed] = if hours.len() > 1 { &hours[1..] } else { &hours[..] };
        let mut sum_c = Components::default();
        let mut sum_s = Split::default();
        for h in basis {
            sum_c.merge(&h.components);
            sum_s.merge(&h.professions);
        }
        let mean = HourNeed {
            start,
            components: sum_c,
            professions: sum_s,
        };
        add_scaled(
            &mut components,
            &mut professions,
            &mean,
            missing,
            60 * basis.len() as i64,
        );
    }
    PatientShiftNeed {
        id: p.id.clone(),
        team: p.team.clone().unwrap_or_else(|| NO_TEAM.to_owned()),
        room: p.room.clone(),
        bed: p.bed.clone(),
        total: professions.usk + professions.ssk,
        components,
        professions,
        extrapolated_minutes: if hours.is_empty() { 0 } else { missing },
    }
}

/// The need of a ward's patients for one shift, with the ward care category's factors.
pub fn shift_need(patients: &[PatientForecast], shift: &ShiftWindow, factors: StaffHours) -> ShiftNeed {
    let shift_minutes = shift.window.minutes().max(0);
    let mut per_patient: Vec<PatientShiftNeed> = patients.iter().map(|p| patient_need(p, shift)).collect();
    per_patient.sort_by(|a, b| (&a.team, &a.id).cmp(&(&b.team, &b.id)));
    let mut ward = NeedLine::default();
    let mut teams: BTreeMap<String, NeedLine> = BTreeMap::new();
    for p in &per_patient {
        ward.add(p);
        teams.entry(p.team.clone()).or_default().add(p);
    }
    ward.convert(&factors, shift_minutes);
    for t in teams.values_mut() {
        t.convert(&factors, shift_minutes);
    }
    ShiftNeed {
        shift: shift.clone(),
        shift_hours: Qty::ONE.ratio(shift_minutes, 60),
        factors,
        ward,
        teams,
        extrapolated_minutes: per_patient.iter().map(|p| p.extrapolated_minutes).max().unwrap_or(0),
        patients: per_patient,
    }
}
