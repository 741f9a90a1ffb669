//! Need vs planned staffing: the gap, the verdict and the absence flag.
//!
//! # Definitions (per scope — a team or the ward — and profession)
//!
//! ```text
//! available        = planned − absent                      (people)
//! available_hours  = available × shift_hours
//! gap_hours        = available_hours − need_staff_hours    (negative: short)
//! gap_people       = available − need_people               (negative: short)
//! ```
//!
//! **Verdict** with [`Thresholds`]: *understaffed* when
//! `gap_people < −understaffed_people`, *room to spare* when
//! `gap_people ≥ spare_people`, else *balanced*; *no plan* when no row plans
//! that profession for that scope. A scope's verdict is understaffed when
//! either profession is, room to spare when every planned profession is,
//! no plan when neither is planned, else balanced.
//!
//! **"Absence need not be replaced"** when someone is absent and the need is
//! below the planned staffing minus `absence_margin_people` (default one
//! person): `absent > 0 ∧ need_people < planned − margin`.
//!
//! **People to add**: the fewest whole people that lift the verdict out of
//! understaffed (`gap_people + k ≥ −understaffed_people`); 0 when not
//! understaffed. When there are absences, the first of those are replacements.

use careload_scoring::Qty;
use careload_scoring::shift::ShiftWindow;
use careload_scoring::snapshot::Profession;
use careload_scoring::weights::StaffHours;
use serde::{Deserialize, Serialize};

use crate::index::{WardIndex, ward_index};
use crate::need::{NeedLine, ShiftNeed};
use crate::staffing::{ShiftPlanned, StaffCount, WardPlan};

/// The thresholds of the verdict, in people (the lead puts them in config).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    /// Understaffed when short by more than this many people (default 0.5).
    pub understaffed_people: Qty,
    /// Room to spare when at least this many people more than needed (default 1).
    pub spare_people: Qty,
    /// "Absence need not be replaced" when the need is below planned minus this (default 1).
    pub absence_margin_people: Qty,
}

impl Default for Thresholds {
    fn default() -> Thresholds {
        Thresholds {
            understaffed_people: Qty::from_milli(500),
            spare_people: Qty::ONE,
            absence_margin_people: Qty::ONE,
        }
    }
}

/// The verdict on a scope's staffing for a shift.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Fewer people than the need, beyond the threshold.
    Understaffed,
    /// Within the thresholds.
    Balanced,
    /// At least the threshold more people than the need.
    RoomToSpare,
    /// No planned staffing to compare with.
    NoPlan,
}

impl Verdict {
    /// The Swedish words for the screen.
    pub fn sv(self) -> &'static str {
        match self {
            Verdict::Understaffed => "underbemannat",
            Verdict::Balanced => "i balans",
            Verdict::RoomToSpare => "utrymme finns",
            Verdict::NoPlan => "ingen planering",
        }
    }
}

/// Need vs planned for one profession in one scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProfessionGap {
    /// USK or SSK.
    pub profession: Profession,
    /// Staff-hours needed over the shift.
    pub need_hours: Qty,
    /// People needed for the shift.
    pub need_people: Qty,
    /// Planned and absent; `None` when not planned.
    pub planned: Option<StaffCount>,
    /// Staff-hours of the people present.
    pub available_hours: Qty,
    /// Available minus needed staff-hours (negative: short); `None` without a plan.
    pub gap_hours: Option<Qty>,
    /// Available minus needed people (negative: short); `None` without a plan.
    pub gap_people: Option<Qty>,
    /// The verdict.
    pub verdict: Verdict,
    /// True when the absences need not be replaced.
    pub absence_need_not_be_replaced: bool,
    /// Whole people to add to leave "understaffed" (0 otherwise).
    pub people_to_add: u32,
}

/// Need vs planned for a team or the whole ward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScopeGap {
    /// The team (its id), `None` for the whole ward.
    pub team: Option<String>,
    /// The team's display name, as the screens show it; set by the
    /// application ([`assess`] leaves it `None`), none for the whole ward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The need.
    pub need: NeedLine,
    /// Assistant nurses.
    pub usk: ProfessionGap,
    /// Registered nurses.
    pub ssk: ProfessionGap,
    /// Both professions together (rules in the module docs).
    pub verdict: Verdict,
    /// Care need per present staff member.
    pub index: WardIndex,
}

/// A ward's need vs planned staffing for one shift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShiftAssessment {
    /// The shift.
    pub shift: ShiftWindow,
    /// Its length in hours.
    pub shift_hours: Qty,
    /// The points → staff-hours factors used (the ward care category's).
    pub factors: StaffHours,
    /// The whole ward (all rows, all patients).
    pub ward: ScopeGap,
    /// Per team: every team with patients or a plan, by name.
    pub teams: Vec<ScopeGap>,
    /// The most minutes of need extrapolated beyond the forecast.
    pub extrapolated_minutes: i64,
}

fn profession_gap(
    p: Profession,
    need: &NeedLine,
    planned: Option<StaffCount>,
    shift_hours: Qty,
    t: &Thresholds,
) -> ProfessionGap {
    let need_hours = need.staff_hours.get(p);
    let need_people = need.people.get(p);
    let available = planned.map(|c| Qty::whole(i64::from(c.available())));
    let available_hours = available.map(|a| a.times(shift_hours)).unwrap_or(Qty::ZERO);
    let gap_people = available.map(|a| a - need_people);
    let verdict = match gap_people {
        None => Verdict::NoPlan,
        Some(g) if g < Qty::ZERO - t.understaffed_people => Verdict::Understaffed,
        Some(g) if g >= t.spare_people => Verdict::RoomToSpare,
        Some(_) => Verdict::Balanced,
    };
    let absence_need_not_be_replaced = planned
        .is_some_and(|c| c.absent > 0 && need_people < Qty::whole(i64::from(c.planned)) - t.absence_margin_people);
    let people_to_add = match gap_people {
        Some(g) if verdict == Verdict::Understaffed => {
            // smallest k with g + k ≥ −threshold
            let short = (Qty::ZERO - t.understaffed_people - g).milli().max(0);
            u32::try_from((short + 999) / 1000).unwrap_or(u32::MAX)
        }
        _ => 0,
    };
    ProfessionGap {
        profession: p,
        need_hours,
        need_people,
        planned,
        available_hours,
        gap_hours: planned.map(|_| available_hours - need_hours),
        gap_people,
        verdict,
        absence_need_not_be_replaced,
        people_to_add,
    }
}

fn combine(a: Verdict, b: Verdict) -> Verdict {
    use Verdict::*;
    match (a, b) {
        (Understaffed, _) | (_, Understaffed) => Understaffed,
        (NoPlan, NoPlan) => NoPlan,
        (RoomToSpare | NoPlan, RoomToSpare | NoPlan) => RoomToSpare,
        _ => Balanced,
    }
}

fn scope_gap(
    team: Option<String>,
    need: &NeedLine,
    planned: &ShiftPlanned,
    shift_hours: Qty,
    t: &Thresholds,
) -> ScopeGap {
    let usk = profession_gap(Profession::Usk, need, planned.usk, shift_hours, t);
    let ssk = profession_gap(Profession::Ssk, need, planned.ssk, shift_hours, t);
    ScopeGap {
        team,
        name: None,
        need: *need,
        verdict: combine(usk.verdict, ssk.verdict),
        usk,
        ssk,
        index: ward_index(&need.professions, planned, shift_hours),
    }
}

/// Need vs planned for a ward and its teams for one shift.
///
/// `plan` must be the plan of the same ward and shift ([`WardPlan::from_rows`]).
pub fn assess(need: &ShiftNeed, plan: &WardPlan, thresholds: &Thresholds) -> ShiftAssessment {
    let mut names: Vec<&String> = need.teams.keys().chain(plan.teams.keys()).collect();
    names.sort();
    names.dedup();
    let empty_need = NeedLine::default();
    let empty_plan = ShiftPlanned::default();
    let teams = names
        .into_iter()
        .map(|name| {
            scope_gap(
                Some(name.clone()),
                need.teams.get(name).unwrap_or(&empty_need),
                plan.teams.get(name).unwrap_or(&empty_plan),
                need.shift_hours,
                thresholds,
            )
        })
        .collect();
    ShiftAssessment {
        shift: need.shift.clone(),
        shift_hours: need.shift_hours,
        factors: need.factors,
        ward: scope_gap(None, &need.ward, &plan.ward, need.shift_hours, thresholds),
        teams,
        extrapolated_minutes: need.extrapolated_minutes,
    }
}
