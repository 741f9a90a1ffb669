//! Team, ward and hospital totals: sums of patient scores.
//!
//! A team's, a ward's and the hospital's score are exact sums of their
//! patients' scores (points are fixed-point, so no rounding creeps in), with
//! the patient count, the per-component and the per-profession split.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::points::{Points, Qty};
use crate::quality::QualityCounts;
use crate::score::{Components, Score, Split};
use crate::snapshot::Snapshot;
use crate::weights::StaffHours;

/// The team key for patients whose team is not known.
pub const NO_TEAM: &str = "unassigned";

/// Sums over a group of patients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Totals {
    /// Patients counted.
    pub patients: u32,
    /// The sum of their totals.
    pub total: Points,
    /// Per component.
    pub components: Components,
    /// Per profession.
    pub professions: Split,
    /// Items the weights did not know, summed.
    pub unmatched: u32,
    /// Documentation quality of the patients the hourly run assessed.
    #[serde(default)]
    pub quality: QualityCounts,
}

impl Totals {
    /// Adds one patient's score.
    pub fn add(&mut self, score: &Score) {
        self.patients += 1;
        self.total += score.total;
        self.components.merge(&score.components);
        self.professions.merge(&score.professions);
        self.unmatched += score.unmatched.len() as u32;
        if let Some(q) = &score.quality {
            self.quality.add(q);
        }
    }

    /// Adds another group's sums.
    pub fn merge(&mut self, other: &Totals) {
        self.patients += other.patients;
        self.total += other.total;
        self.components.merge(&other.components);
        self.professions.merge(&other.professions);
        self.unmatched += other.unmatched;
        self.quality.merge(&other.quality);
    }

    /// The staff-hours these points need, per profession, for a ward care category.
    pub fn staff_hours(&self, factors: &StaffHours) -> (Qty, Qty) {
        (
            Qty::from_milli(self.professions.usk.times(factors.usk).milli()),
            Qty::from_milli(self.professions.ssk.times(factors.ssk).milli()),
        )
    }
}

/// A ward's totals and its teams'.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WardRollup {
    /// The whole ward.
    pub totals: Totals,
    /// Per team ([`NO_TEAM`] for patients without one).
    pub teams: BTreeMap<String, Totals>,
}

/// Totals at every level.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollup {
    /// The whole hospital.
    pub hospital: Totals,
    /// Per ward.
    pub wards: BTreeMap<String, WardRollup>,
}

impl Rollup {
    /// Adds one patient to their team, ward and the hospital.
    pub fn add(&mut self, snapshot: &Snapshot, score: &Score) {
        self.hospital.add(score);
        let ward = self.wards.entry(snapshot.placement.ward.clone()).or_default();
        ward.totals.add(score);
        let team = snapshot.placement.team.as_deref().unwrap_or(NO_TEAM);
        match ward.teams.get_mut(team) {
            Some(t) => t.add(score),
            None => {
                let mut t = Totals::default();
                t.add(score);
                ward.teams.insert(team.to_owned(), t);
            }
        }
    }
}

/// Rolls patient scores up to teams, wards and the hospital.
pub fn rollup<'a>(pairs: impl IntoIterator<Item = (&'a Snapshot, &'a Score)>) -> Rollup {
    let mut r = Rollup::default();
    for (s, score) in pairs {
        r.add(s, score);
    }
    r
}
