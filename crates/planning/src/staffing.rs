//! Planned staffing: how many people of each profession are scheduled for a
//! ward (or one of its teams) on a shift, and how many of them are absent.
//!
//! A row with a team plans that team's staff; a row without one plans staff
//! for the whole ward who belong to no team (a night shift covering the
//! ward, a floating nurse). The ward's staffing is the sum of all its rows;
//! a team's is the sum of its own rows. At most one row per ward, team,
//! date, shift and profession ([`crate::csv`] refuses duplicates).

use std::collections::BTreeMap;

use careload_scoring::snapshot::Profession;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::csv::{ImportRules, MAX_PEOPLE};

/// One planned-staffing row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PlannedStaffing {
    /// The ward (avdelning).
    pub ward: String,
    /// The team (vårdlag); `None` for staff planned for the whole ward.
    pub team: Option<String>,
    /// The local date the shift starts on.
    pub date: NaiveDate,
    /// The shift's name in the ward's shift plan (`day`, `evening`, `night`).
    pub shift: String,
    /// USK or SSK.
    pub profession: Profession,
    /// People scheduled.
    pub planned: u32,
    /// Of those, people absent (sick, leave); never more than `planned`.
    pub absent: u32,
}

impl PlannedStaffing {
    /// Checks a row entered through the API with the rules of the CSV import
    /// (every problem, in words saying what to send instead).
    ///
    /// # Errors
    /// [`Error::BadPlannedStaffing`] listing every problem.
    pub fn validate(&self, rules: &ImportRules) -> Result<(), Error> {
        let mut problems = Vec::new();
        if self.ward.trim().is_empty() {
            problems.push("ward is empty; send the ward's id, e.g. MED1".to_owned());
        } else if let Some(wards) = &rules.wards
            && !wards.contains(&self.ward)
        {
            problems.push(format!(
                "ward {:?} is not known; send one of: {}",
                self.ward,
                wards.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
        match self.team.as_deref() {
            Some(t) if t.trim().is_empty() => {
                problems.push("team is empty; leave it out for staff of the whole ward".to_owned());
            }
            Some(t) if rules.wards.as_ref().is_none_or(|w| w.contains(&self.ward)) => {
                if let Err(e) = rules.team_id(&self.ward, t) {
                    problems.push(e);
                }
            }
            _ => {}
        }
        if !rules.shifts.is_empty() && !rules.shifts.contains(&self.shift) {
            problems.push(format!(
                "shift {:?} is not known; send one of: {}",
                self.shift,
                rules.shifts.join(", ")
            ));
        }
        if self.planned > MAX_PEOPLE {
            problems.push(format!(
                "planned {} is more than {MAX_PEOPLE}; send the number of people",
                self.planned
            ));
        }
        if self.absent > self.planned {
            problems.push(format!(
                "absent {} is more than planned {}; absent counts the planned people who are away",
                self.absent, self.planned
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::BadPlannedStaffing(problems.join("; ")))
        }
    }
}

/// Planned and absent people of one profession.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StaffCount {
    /// People scheduled.
    pub planned: u32,
    /// Of those, absent.
    pub absent: u32,
}

impl StaffCount {
    /// People present: planned minus absent.
    pub fn available(&self) -> u32 {
        self.planned.saturating_sub(self.absent)
    }

    fn add(&mut self, row: &PlannedStaffing) {
        self.planned = self.planned.saturating_add(row.planned);
        self.absent = self.absent.saturating_add(row.absent.min(row.planned));
    }
}

/// Planned staffing of one scope (a team or the ward) for one shift: per
/// profession, `None` when no row plans that profession.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShiftPlanned {
    /// Assistant nurses.
    pub usk: Option<StaffCount>,
    /// Registered nurses.
    pub ssk: Option<StaffCount>,
}

impl ShiftPlanned {
    /// The count of one profession.
    pub fn get(&self, p: Profession) -> Option<StaffCount> {
        match p {
            Profession::Usk => self.usk,
            Profession::Ssk => self.ssk,
        }
    }

    /// People present of both professions.
    pub fn available(&self) -> u32 {
        Profession::ALL
            .iter()
            .filter_map(|&p| self.get(p))
            .map(|c| c.available())
            .sum()
    }

    fn add(&mut self, row: &PlannedStaffing) {
        let slot = match row.profession {
            Profession::Usk => &mut self.usk,
            Profession::Ssk => &mut self.ssk,
        };
        slot.get_or_insert_with(StaffCount::default).add(row);
    }
}

/// A ward's planned staffing for one shift.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WardPlan {
    /// All rows of the ward: team rows plus whole-ward rows.
    pub ward: ShiftPlanned,
    /// Per team, its own rows.
    pub teams: BTreeMap<String, ShiftPlanned>,
}

impl WardPlan {
    /// The plan of `ward` for the shift named `shift` starting on `date`, from any rows.
    pub fn from_rows<'a>(
        rows: impl IntoIterator<Item = &'a PlannedStaffing>,
        ward: &str,
        date: NaiveDate,
        shift: &str,
    ) -> WardPlan {
        let mut plan = WardPlan::default();
        for row in rows {
            if row.ward != ward || row.date != date || row.shift != shift {
                continue;
            }
            plan.ward.add(row);
            if let Some(team) = &row.team {
                plan.teams.entry(team.clone()).or_default().add(row);
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(team: Option<&str>, shift: &str, p: Profession, planned: u32, absent: u32) -> PlannedStaffing {
        PlannedStaffing {
            ward: "MED1".into(),
            team: team.map(Into::into),
            date: NaiveDate::from_ymd_opt(2026, 11, 24).unwrap_or_default(),
            shift: shift.into(),
            profession: p,
            planned,
            absent,
        }
    }

    #[test]
    fn rows_from_the_api_are_checked_like_csv_rows() {
        let rules = ImportRules::default();
        assert!(row(Some("A"), "day", Profession::Usk, 3, 1).validate(&rules).is_ok());
        let cases = [
            (
                row(Some("A"), "late", Profession::Usk, 3, 0),
                "shift \"late\" is not known",
            ),
            (
                row(Some("A"), "day", Profession::Usk, 2, 3),
                "absent 3 is more than planned 2",
            ),
            (row(Some(" "), "day", Profession::Usk, 2, 0), "team is empty"),
            (
                row(None, "day", Profession::Usk, 1000, 0),
                "planned 1000 is more than 999",
            ),
        ];
        for (r, expected) in cases {
            let err = r.validate(&rules).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn ward_is_the_sum_of_team_and_ward_rows() {
        let rows = [
            row(Some("A"), "day", Profession::Usk, 3, 1),
            row(Some("B"), "day", Profession::Usk, 2, 0),
            row(None, "day", Profession::Ssk, 2, 0),
            row(Some("A"), "night", Profession::Usk, 9, 0),
        ];
        let date = rows[0].date;
        let plan = WardPlan::from_rows(&rows, "MED1", date, "day");
        assert_eq!(plan.ward.usk, Some(StaffCount { planned: 5, absent: 1 }));
        assert_eq!(plan.ward.ssk, Some(StaffCount { planned: 2, absent: 0 }));
        assert_eq!(plan.ward.available(), 6);
        assert_eq!(plan.teams["A"].usk.map(|c| c.available()), Some(2));
        assert_eq!(plan.teams["A"].ssk, None);
        assert_eq!(plan.teams.len(), 2);
    }
}
