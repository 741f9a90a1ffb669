//! Team balancing: patient moves (and optionally one staff move) that even
//! out the care need per staff member across a ward's teams.
//!
//! # The measure
//!
//! A team's **load** is its patients' need for the shift (points) divided by
//! its staff present (USK + SSK people). The ward's **spread** is the largest
//! load minus the smallest, over the teams that have staff. Teams without
//! staff (and patients in teams not listed) are left out: their patients are
//! not moved and nobody is moved to them; the proposal names them.
//!
//! # The search
//!
//! Greedy best-improvement local search. Nothing is moved when the spread is
//! already within `tolerance`. Otherwise, at each step every allowed move is
//! tried — every movable unit not yet moved to every other team with staff,
//! and, when allowed and not yet used, one staff member of either profession
//! from a team with at least two of that profession to another team — and
//! the one with the smallest resulting (spread, Σ staff × load²) is taken,
//! provided that pair is strictly smaller than before. The second part is the
//! staff-weighted variance of the loads up to a constant (total need and
//! total staff never change), so among moves that keep the spread it prefers
//! the one that evens the other teams out; it also lets the search get past
//! two teams tied at the top. Ties are broken
//! by the unit's key (room, then bed, in natural order — room 2 before
//! room 10 ([`words::natural_key`]) — then patient id; staff moves after
//! patient moves) and the target team's id, so the same input gives the
//! same proposal. The search stops after `max_moves` moves, when the spread
//! is within `tolerance`, or when no move improves: each move strictly
//! lowers the pair and no unit moves twice, so it ends, and the spread
//! never rises.
//!
//! # Units and constraints
//!
//! A **unit** is one patient, or — with `keep_rooms_together` — all patients
//! of a room, which move together. A unit containing a pinned patient never
//! moves; nor does a room whose patients are in different teams (moving it
//! would move someone from a team the proposal does not mention).
//!
//! Loads are computed exactly in billionths of a point per person (integer
//! arithmetic); the numbers shown are rounded to thousandths.
//!
//! # Names
//!
//! Teams are given by id (as the patients name them) and may carry a display
//! name ([`TeamStaff::name`], e.g. `Vårdlag A`): the reasons and
//! [`TeamLoad::name`] use it, `from`, `to` and `team` keep the id. A room's
//! beds are listed in natural order.

use std::collections::{BTreeMap, BTreeSet};

use careload_scoring::Points;
use careload_scoring::snapshot::Profession;
use serde::{Deserialize, Serialize};

use crate::need::PatientShiftNeed;
use crate::staffing::WardPlan;
use crate::words::{NaturalKey, natural_key};
use crate::{Error, div_round, words};

/// Internal load scale: billionths of a point per person.
const LOAD_SCALE: i128 = 1_000_000;

/// A team and its staff present for the shift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamStaff {
    /// The team, as its patients name it (an id such as `w01-a`).
    pub team: String,
    /// Its display name in reasons and rows (`Vårdlag A`); none: `team` as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Assistant nurses present.
    pub usk: u32,
    /// Registered nurses present.
    pub ssk: u32,
}

impl TeamStaff {
    fn total(&self) -> u32 {
        self.usk.saturating_add(self.ssk)
    }

    /// The teams of a ward's plan, with their people present (planned minus
    /// absent), without display names.
    pub fn from_plan(plan: &WardPlan) -> Vec<TeamStaff> {
        plan.teams
            .iter()
            .map(|(team, p)| TeamStaff {
                team: team.clone(),
                name: None,
                usk: p.usk.map(|c| c.available()).unwrap_or(0),
                ssk: p.ssk.map(|c| c.available()).unwrap_or(0),
            })
            .collect()
    }
}

/// A patient as balancing sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancePatient {
    /// A stable key (the pseudonym).
    pub id: String,
    /// The team now.
    pub team: String,
    /// The room, when known.
    pub room: Option<String>,
    /// The bed, when known (names the patient in reasons).
    pub bed: Option<String>,
    /// Pinned patients stay in their team.
    pub pinned: bool,
    /// The need for the shift (USK + SSK points; [`crate::PatientShiftNeed::total`]).
    pub need: Points,
}

impl BalancePatient {
    /// A patient of a shift's need ([`crate::ShiftNeed::patients`]); `pinned` comes from the ward.
    pub fn from_need(need: &PatientShiftNeed, pinned: bool) -> BalancePatient {
        BalancePatient {
            id: need.id.clone(),
            team: need.team.clone(),
            room: need.room.clone(),
            bed: need.bed.clone(),
            pinned,
            need: need.total,
        }
    }
}

/// What balancing may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct BalanceOptions {
    /// At most this many moves (default 3).
    pub max_moves: u32,
    /// Move rooms whole (default true).
    pub keep_rooms_together: bool,
    /// Teams count as balanced when the spread is at most this, in points per staff member (default 2).
    pub tolerance: Points,
    /// May propose one staff move (default false).
    pub allow_staff_move: bool,
}

impl Default for BalanceOptions {
    fn default() -> BalanceOptions {
        BalanceOptions {
            max_moves: 3,
            keep_rooms_together: true,
            tolerance: Points::whole(2),
            allow_staff_move: false,
        }
    }
}

/// What a move moves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum MoveWhat {
    /// One patient, or a whole room's.
    Patients {
        /// The room, when the unit is a room.
        room: Option<String>,
        /// The patients' ids, in the natural order of their beds, then by id.
        ids: Vec<String>,
        /// Their beds, where known, in the same order.
        beds: Vec<Option<String>>,
        /// Their need together.
        need: Points,
    },
    /// One staff member.
    Staff {
        /// Their profession.
        profession: Profession,
    },
}

/// One suggested move, with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Move {
    /// What moves.
    pub what: MoveWhat,
    /// From this team (its id; the reason names it by its display name).
    pub from: String,
    /// To this team (its id).
    pub to: String,
    /// Points per staff member of `from` and `to` before the move.
    pub before: [Points; 2],
    /// Points per staff member of `from` and `to` after the move.
    pub after: [Points; 2],
    /// The ward's spread after this move.
    pub spread_after: Points,
    /// The reason, in Swedish, for the screen.
    pub reason: String,
}

/// One team before or after the proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TeamLoad {
    /// The team (its id).
    pub team: String,
    /// Its display name ([`TeamStaff::name`], else the id).
    pub name: String,
    /// Assistant nurses present.
    pub usk: u32,
    /// Registered nurses present.
    pub ssk: u32,
    /// Patients.
    pub patients: u32,
    /// Their need.
    pub need: Points,
    /// Need per staff member; `None` without staff.
    pub per_staff: Option<Points>,
}

/// The proposal: moves in order, and each team before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BalanceProposal {
    /// The moves, in the order found (each improves on the previous state).
    pub moves: Vec<Move>,
    /// Teams before, by id.
    pub before: Vec<TeamLoad>,
    /// Teams after all moves, by id.
    pub after: Vec<TeamLoad>,
    /// Spread (max − min points per staff member) before.
    pub spread_before: Points,
    /// Spread after.
    pub spread_after: Points,
    /// True when the spread was already within tolerance (then no moves).
    pub already_balanced: bool,
    /// Teams left out of the measure (no staff, or not listed but with patients).
    pub left_out: Vec<String>,
}

/// A unit's place in the search's order: room, bed (natural order), patient id.
type UnitKey = (NaturalKey, NaturalKey, String);

#[derive(Clone)]
struct Unit {
    key: UnitKey,
    room: Option<String>,
    members: Vec<usize>,
    team: usize,
    need: i128,
}

#[derive(Clone)]
struct State {
    need: Vec<i128>,
    staff: Vec<[u32; 2]>,
    patients: Vec<u32>,
}

impl State {
    fn load(&self, t: usize) -> Option<i128> {
        let n = i128::from(self.staff[t][0]) + i128::from(self.staff[t][1]);
        (n > 0).then(|| self.need[t] * LOAD_SCALE / n)
    }

    /// (spread, Σ staff × load²) over teams with staff.
    fn measure(&self) -> (i128, i128) {
        let (mut max, mut min, mut ssq) = (None::<i128>, None::<i128>, 0i128);
        for t in 0..self.need.len() {
            if let Some(l) = self.load(t) {
                max = Some(max.map_or(l, |m| m.max(l)));
                min = Some(min.map_or(l, |m| m.min(l)));
                let staff = i128::from(self.staff[t][0]) + i128::from(self.staff[t][1]);
                ssq = ssq.saturating_add(staff.saturating_mul(l.saturating_mul(l)));
            }
        }
        (max.unwrap_or(0) - min.unwrap_or(0), ssq)
    }
}

fn to_points(load: i128) -> Points {
    Points::from_milli(div_round(load, LOAD_SCALE))
}

/// Each team's load; `names` are the ids, `shown` their display names.
fn loads(names: &[String], shown: &[String], s: &State) -> Vec<TeamLoad> {
    names
        .iter()
        .zip(shown)
        .enumerate()
        .map(|(t, (id, name))| TeamLoad {
            team: id.clone(),
            name: name.clone(),
            usk: s.staff[t][0],
            ssk: s.staff[t][1],
            patients: s.patients[t],
            need: Points::from_milli(i64::try_from(s.need[t]).unwrap_or(i64::MAX)),
            per_staff: s.load(t).map(to_points),
        })
        .collect()
}

enum Cand {
    Unit(usize),
    Staff(usize),
}

/// Suggests moves that even out need per staff member across a ward's teams.
///
/// # Errors
/// [`Error::BadBalanceInput`] when a team or a patient id is listed twice.
pub fn balance(
    teams: &[TeamStaff],
    patients: &[BalancePatient],
    options: &BalanceOptions,
) -> Result<BalanceProposal, Error> {
    let mut sorted_teams: Vec<&TeamStaff> = teams.iter().collect();
    sorted_teams.sort_by(|a, b| a.team.cmp(&b.team));
    for w in sorted_teams.windows(2) {
        if w[0].team == w[1].team {
            return Err(Error::BadBalanceInput(format!(
                "team {:?} is listed twice; list each team once with its staff",
                w[0].team
            )));
        }
    }
    let mut ids = BTreeSet::new();
    for p in patients {
        if !ids.insert(p.id.as_str()) {
            return Err(Error::BadBalanceInput(format!(
                "patient {:?} is listed twice; list each patient once",
                p.id
            )));
        }
    }
    let names: Vec<String> = sorted_teams.iter().map(|t| t.team.clone()).collect();
    let shown: Vec<String> = sorted_teams
        .iter()
        .map(|t| t.name.clone().unwrap_or_else(|| t.team.clone()))
        .collect();
    let index: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
    let mut state = State {
        need: vec![0; names.len()],
        staff: sorted_teams.iter().map(|t| [t.usk, t.ssk]).collect(),
        patients: vec![0; names.len()],
    };
    let mut left_out: BTreeSet<String> = sorted_teams
        .iter()
        .filter(|t| t.total() == 0)
        .map(|t| t.team.clone())
        .collect();
    // patients in listed teams, in a stable order
    let mut order: Vec<usize> = (0..patients.len()).collect();
    order.sort_by(|&a, &b| patients[a].id.cmp(&patients[b].id));
    let mut team_of: Vec<Option<usize>> = vec![None; patients.len()];
    for &i in &order {
        let p = &patients[i];
        match index.get(p.team.as_str()) {
            Some(&t) => {
                team_of[i] = Some(t);
                state.need[t] += i128::from(p.need.milli());
                state.patients[t] += 1;
            }
            None => {
                left_out.insert(p.team.clone());
            }
        }
    }
    let active = |s: &State, t: usize| s.staff[t][0] + s.staff[t][1] > 0;
    // units
    let mut rooms: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut units: Vec<Unit> = Vec::new();
    for &i in &order {
        let p = &patients[i];
        match (&p.room, options.keep_rooms_together) {
            (Some(room), true) => rooms.entry(room.as_str()).or_default().push(i),
            _ => {
                if let Some(t) = team_of[i]
                    && !p.pinned
                    && active(&state, t)
                {
                    units.push(Unit {
                        key: (
                            natural_key(p.room.as_deref().unwrap_or("")),
                            natural_key(p.bed.as_deref().unwrap_or("")),
                            p.id.clone(),
                        ),
                        room: None,
                        members: vec![i],
                        team: t,
                        need: i128::from(p.need.milli()),
                    });
                }
            }
        }
    }
    for (room, members) in rooms {
        let teams_of: BTreeSet<Option<usize>> = members.iter().map(|&i| team_of[i]).collect();
        let movable = members.iter().all(|&i| !patients[i].pinned) && teams_of.len() == 1;
        if let (true, Some(Some(t))) = (movable, teams_of.iter().next().copied())
            && active(&state, t)
        {
            units.push(Unit {
                key: (natural_key(room), natural_key(""), String::new()),
                room: Some(room.to_owned()),
                need: members.iter().map(|&i| i128::from(patients[i].need.milli())).sum(),
                members,
                team: t,
            });
        }
    }
    units.sort_by(|a, b| a.key.cmp(&b.key));

    let before = loads(&names, &shown, &state);
    let (spread0, _) = state.measure();
    let tolerance = i128::from(options.tolerance.milli()) * LOAD_SCALE;
    let already_balanced = spread0 <= tolerance;
    let mut moves = Vec::new();
    let mut moved = vec![false; units.len()];
    let mut staff_moved = false;
    while !already_balanced && (moves.len() as u64) < u64::from(options.max_moves) {
        let current = state.measure();
        if current.0 <= tolerance {
            break;
        }
        let mut best: Option<((i128, i128), Cand, usize)> = None;
        let mut consider = |m: (i128, i128), c: Cand, to: usize| {
            if m < current && best.as_ref().is_none_or(|(bm, _, _)| m < *bm) {
                best = Some((m, c, to));
            }
        };
        for (u, unit) in units.iter().enumerate() {
            if moved[u] {
                continue;
            }
            for to in 0..names.len() {
                if to == unit.team || !active(&state, to) {
                    continue;
                }
                let mut s = state.clone();
                s.need[unit.team] -= unit.need;
                s.need[to] += unit.need;
                consider(s.measure(), Cand::Unit(u), to);
            }
        }
        if options.allow_staff_move && !staff_moved {
            for from in 0..names.len() {
                for (pi, _) in Profession::ALL.iter().enumerate() {
                    if state.staff[from][pi] < 2 {
                        continue;
                    }
                    for to in 0..names.len() {
                        if to == from || !active(&state, to) {
                            continue;
                        }
                        let mut s = state.clone();
                        s.staff[from][pi] -= 1;
                        s.staff[to][pi] += 1;
                        consider(s.measure(), Cand::Staff(from * 2 + pi), to);
                    }
                }
            }
        }
        let Some((measure, cand, to)) = best else { break };
        let (from, what, label) = match cand {
            Cand::Unit(u) => {
                moved[u] = true;
                let unit = &units[u];
                let from = unit.team;
                state.need[from] -= unit.need;
                state.need[to] += unit.need;
                let n = unit.members.len() as u32;
                state.patients[from] -= n;
                state.patients[to] += n;
                let mut members = unit.members.clone();
                members.sort_by_cached_key(|&i| {
                    let bed = patients[i].bed.as_deref();
                    (bed.is_none(), bed.map(natural_key), patients[i].id.clone())
                });
                let beds: Vec<Option<String>> = members.iter().map(|&i| patients[i].bed.clone()).collect();
                let label = patient_label(unit.room.as_deref(), &members, patients);
                let what = MoveWhat::Patients {
                    room: unit.room.clone(),
                    ids: members.iter().map(|&i| patients[i].id.clone()).collect(),
                    beds,
                    need: Points::from_milli(i64::try_from(unit.need).unwrap_or(i64::MAX)),
                };
                (from, what, label)
            }
            Cand::Staff(code) => {
                staff_moved = true;
                let (from, pi) = (code / 2, code % 2);
                let profession = Profession::ALL[pi];
                state.staff[from][pi] -= 1;
                state.staff[to][pi] += 1;
                (
                    from,
                    MoveWhat::Staff { profession },
                    words::a_profession(profession).to_owned(),
                )
            }
        };
        let after = [
            state.load(from).map(to_points).unwrap_or_default(),
            state.load(to).map(to_points).unwrap_or_default(),
        ];
        moves.push(Move {
            what,
            from: names[from].clone(),
            to: names[to].clone(),
            before: [Points::ZERO; 2],
            after,
            spread_after: to_points(measure.0),
            reason: label,
        });
    }
    // fill in "before" per move by replaying, and the reasons
    let mut replay = State {
        need: before.iter().map(|t| i128::from(t.need.milli())).collect(),
        staff: before.iter().map(|t| [t.usk, t.ssk]).collect(),
        patients: before.iter().map(|t| t.patients).collect(),
    };
    for m in &mut moves {
        let (Some(&f), Some(&t)) = (index.get(m.from.as_str()), index.get(m.to.as_str())) else {
            continue;
        };
        m.before = [
            replay.load(f).map(to_points).unwrap_or_default(),
            replay.load(t).map(to_points).unwrap_or_default(),
        ];
        match &m.what {
            MoveWhat::Patients { need, .. } => {
                replay.need[f] -= i128::from(need.milli());
                replay.need[t] += i128::from(need.milli());
            }
            MoveWhat::Staff { profession } => {
                let pi = usize::from(*profession == Profession::Ssk);
                replay.staff[f][pi] -= 1;
                replay.staff[t][pi] += 1;
            }
        }
        let (from, to) = (&shown[f], &shown[t]);
        m.reason = format!(
            "Flytta {} från {from} till {to}: {from} har {} per personal, {to} {}; efter flytten {} och {}",
            m.reason,
            words::points(m.before[0]),
            words::points(m.before[1]),
            words::points(m.after[0]),
            words::points(m.after[1]),
        );
    }
    let (spread1, _) = state.measure();
    Ok(BalanceProposal {
        moves,
        after: loads(&names, &shown, &state),
        before,
        spread_before: to_points(spread0),
        spread_after: to_points(spread1),
        already_balanced,
        left_out: left_out.into_iter().collect(),
    })
}

/// "säng 12", "sal 3 (säng 12, 13)", or "patient <id>" when there is no bed.
fn patient_label(room: Option<&str>, members: &[usize], patients: &[BalancePatient]) -> String {
    let one = |i: usize| match &patients[i].bed {
        Some(bed) => format!("säng {bed}"),
        None => format!("patient {}", patients[i].id),
    };
    match room {
        Some(room) => {
            let beds: Vec<String> = members
                .iter()
                .map(|&i| patients[i].bed.clone().unwrap_or_else(|| patients[i].id.clone()))
                .collect();
            format!("sal {room} (säng {})", beds.join(", "))
        }
        None => members.first().map(|&i| one(i)).unwrap_or_default(),
    }
}
