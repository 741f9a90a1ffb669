//! Team balancing: worked examples, and properties over random wards — the
//! proposal never breaks a constraint, never widens the spread, is the same
//! for the same input, and moves nobody when the teams are balanced.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use std::collections::{BTreeMap, BTreeSet};

use careload_planning::balance::{BalanceOptions, BalancePatient, BalanceProposal, MoveWhat, TeamStaff, balance};
use careload_scoring::Points;
use careload_scoring::snapshot::Profession;
use proptest::prelude::*;

fn team(name: &str, usk: u32, ssk: u32) -> TeamStaff {
    TeamStaff {
        team: name.into(),
        name: None,
        usk,
        ssk,
    }
}

fn patient(id: &str, team: &str, room: Option<&str>, pinned: bool, need_milli: i64) -> BalancePatient {
    BalancePatient {
        id: id.into(),
        team: team.into(),
        room: room.map(Into::into),
        bed: Some(id.trim_start_matches('p').to_owned()),
        pinned,
        need: Points::from_milli(need_milli),
    }
}

fn opts(max_moves: u32, keep_rooms_together: bool, tolerance_milli: i64, allow_staff_move: bool) -> BalanceOptions {
    BalanceOptions {
        max_moves,
        keep_rooms_together,
        tolerance: Points::from_milli(tolerance_milli),
        allow_staff_move,
    }
}

#[test]
fn one_move_evens_two_teams_with_its_reason() {
    // Lag A: 8 + 8 + 8 + 4.4 = 28.4 p / 2 = 14.2; Lag B: 9.8 + 9.8 = 19.6 p / 2 = 9.8; spread 4.4.
    // Moving bed 4 (4.4 p): 24 / 2 = 12 and 24 / 2 = 12, spread 0.
    let teams = [team("Lag A", 1, 1), team("Lag B", 1, 1)];
    let patients = [
        patient("p1", "Lag A", None, false, 8_000),
        patient("p2", "Lag A", None, false, 8_000),
        patient("p3", "Lag A", None, false, 8_000),
        patient("p4", "Lag A", None, false, 4_400),
        patient("p5", "Lag B", None, false, 9_800),
        patient("p6", "Lag B", None, false, 9_800),
    ];
    let proposal = balance(&teams, &patients, &opts(3, false, 1_000, false)).expect("balances");
    assert_eq!(proposal.moves.len(), 1);
    assert_eq!(
        proposal.moves[0].reason,
        "Flytta säng 4 från Lag A till Lag B: Lag A har 14,2 p per personal, Lag B 9,8 p; efter flytten 12,0 p och 12,0 p"
    );
    assert_eq!(proposal.spread_before, Points::from_milli(4_400));
    assert_eq!(proposal.spread_after, Points::ZERO);
    let per_staff: Vec<Option<Points>> = proposal.after.iter().map(|t| t.per_staff).collect();
    assert_eq!(per_staff, vec![Some(Points::whole(12)), Some(Points::whole(12))]);
    assert_eq!((proposal.after[0].patients, proposal.after[1].patients), (3, 3));
}

#[test]
fn pinned_patients_and_rooms_constrain_the_moves() {
    // Same ward, bed 4 shares room 2 with bed 3 and bed 3 is pinned: room 2 cannot move.
    // Room 1 (beds 1 and 2, 16 p) is the only unit in Lag A: 12.4 / 2 = 6.2 vs 35.6 / 2 = 17.8, spread 11.6 > 4.4.
    // Lag B's units: room 3 (bed 5, 9.8 p) to A: 38.2 / 2 = 19.1 vs 9.8 / 2 = 4.9: worse. Nothing helps.
    let teams = [team("Lag A", 1, 1), team("Lag B", 1, 1)];
    let patients = [
        patient("p1", "Lag A", Some("1"), false, 8_000),
        patient("p2", "Lag A", Some("1"), false, 8_000),
        patient("p3", "Lag A", Some("2"), true, 8_000),
        patient("p4", "Lag A", Some("2"), false, 4_400),
        patient("p5", "Lag B", Some("3"), false, 9_800),
        patient("p6", "Lag B", Some("4"), false, 9_800),
    ];
    let proposal = balance(&teams, &patients, &opts(3, true, 1_000, false)).expect("balances");
    assert!(proposal.moves.is_empty(), "{:#?}", proposal.moves);
    assert_eq!(proposal.spread_after, proposal.spread_before);
    // without rooms, bed 4 alone may move
    let free = balance(&teams, &patients, &opts(3, false, 1_000, false)).expect("balances");
    assert_eq!(free.moves.len(), 1);
    assert!(matches!(&free.moves[0].what, MoveWhat::Patients { ids, .. } if ids == &["p4"]));
}

#[test]
fn a_room_moves_whole() {
    // Lag A: room 1 (2 + 2 p) and bed 3 (10 p) = 14 p / 1 = 14; Lag B: bed 4 (2 p) / 1 = 2.
    // Moving room 1 (4 p): 10 and 6, spread 4; moving bed 3 alone: 4 and 12, spread 8.
    let teams = [team("Lag A", 1, 0), team("Lag B", 0, 1)];
    let patients = [
        patient("p1", "Lag A", Some("1"), false, 2_000),
        patient("p2", "Lag A", Some("1"), false, 2_000),
        patient("p3", "Lag A", Some("5"), false, 10_000),
        patient("p4", "Lag B", Some("7"), false, 2_000),
    ];
    let proposal = balance(&teams, &patients, &opts(1, true, 0, false)).expect("balances");
    assert_eq!(proposal.moves.len(), 1);
    assert_eq!(
        proposal.moves[0].reason,
        "Flytta sal 1 (säng 1, 2) från Lag A till Lag B: Lag A har 14,0 p per personal, Lag B 2,0 p; efter flytten 10,0 p och 6,0 p"
    );
}

/// A patient with its own bed label (`patient` names the bed after the id).
fn in_bed(id: &str, team: &str, room: &str, bed: &str, need_milli: i64) -> BalancePatient {
    BalancePatient {
        bed: Some(bed.into()),
        ..patient(id, team, Some(room), false, need_milli)
    }
}

#[test]
fn rooms_and_beds_are_named_in_natural_order() {
    // Lag A: rooms 2 (4 p), 10 (4 p) and 3 (12 p) = 20 p / 2 = 10; Lag B: room 4 (4 p) / 2 = 2; spread 8.
    // Moving room 2, 10 or 3 gives 4 either way (8 and 4, or 4 and 8): a tie, broken by the room in
    // natural order (2 before 3 before 10). Then room 10 evens them: 12 / 2 = 6 each.
    let teams = [team("Lag A", 1, 1), team("Lag B", 1, 1)];
    let patients = [
        in_bed("x1", "Lag A", "10", "10-1", 4_000),
        in_bed("x2", "Lag A", "2", "2-1", 4_000),
        in_bed("x3", "Lag A", "3", "3-1", 12_000),
        in_bed("x4", "Lag B", "4", "4-1", 4_000),
    ];
    let proposal = balance(&teams, &patients, &opts(3, true, 1_000, false)).expect("balances");
    let rooms: Vec<Option<String>> = proposal
        .moves
        .iter()
        .map(|m| match &m.what {
            MoveWhat::Patients { room, .. } => room.clone(),
            MoveWhat::Staff { .. } => None,
        })
        .collect();
    assert_eq!(
        rooms,
        vec![Some("2".to_owned()), Some("10".to_owned())],
        "{:#?}",
        proposal.moves
    );

    // A room's beds are listed in natural order (9 before 10), whatever the patients' ids.
    let patients = [
        in_bed("x1", "Lag A", "7", "10", 4_000),
        in_bed("x2", "Lag A", "7", "9", 4_000),
        in_bed("x3", "Lag A", "8", "1", 8_000),
    ];
    let proposal = balance(&teams, &patients, &opts(1, true, 0, false)).expect("balances");
    assert_eq!(proposal.moves.len(), 1);
    assert!(
        proposal.moves[0]
            .reason
            .starts_with("Flytta sal 7 (säng 9, 10) från Lag A till Lag B"),
        "{}",
        proposal.moves[0].reason
    );
    assert!(
        matches!(&proposal.moves[0].what, MoveWhat::Patients { ids, beds, .. }
            if ids == &["x2", "x1"] && beds == &[Some("9".to_owned()), Some("10".to_owned())]),
        "{:?}",
        proposal.moves[0].what
    );
}

#[test]
fn teams_are_named_by_their_display_names_and_kept_by_id() {
    // The first worked example with teams by id and display name.
    let named = |id: &str, name: &str| TeamStaff {
        name: Some(name.into()),
        ..team(id, 1, 1)
    };
    let teams = [named("w01-a", "Vårdlag A"), named("w01-b", "Vårdlag B")];
    let patients = [
        patient("p1", "w01-a", None, false, 8_000),
        patient("p2", "w01-a", None, false, 8_000),
        patient("p3", "w01-a", None, false, 8_000),
        patient("p4", "w01-a", None, false, 4_400),
        patient("p5", "w01-b", None, false, 9_800),
        patient("p6", "w01-b", None, false, 9_800),
    ];
    let proposal = balance(&teams, &patients, &opts(3, false, 1_000, false)).expect("balances");
    assert_eq!(proposal.moves.len(), 1);
    assert_eq!(
        proposal.moves[0].reason,
        "Flytta säng 4 från Vårdlag A till Vårdlag B: Vårdlag A har 14,2 p per personal, Vårdlag B 9,8 p; efter flytten 12,0 p och 12,0 p"
    );
    assert_eq!(
        (proposal.moves[0].from.as_str(), proposal.moves[0].to.as_str()),
        ("w01-a", "w01-b")
    );
    let rows: Vec<(&str, &str)> = proposal
        .after
        .iter()
        .map(|t| (t.team.as_str(), t.name.as_str()))
        .collect();
    assert_eq!(rows, vec![("w01-a", "Vårdlag A"), ("w01-b", "Vårdlag B")]);
    // without a display name, the id is the name
    let plain = balance(
        &[team("w01-a", 1, 1), team("w01-b", 1, 1)],
        &patients,
        &opts(3, false, 1_000, false),
    )
    .expect("balances");
    assert_eq!(plain.before[0].name, "w01-a");
}

#[test]
fn one_staff_member_may_move_when_patients_cannot() {
    // Every patient pinned. Lag A 30 p / 2 = 15; Lag B 20 p / 4 = 5. One USK from B to A:
    // 30 / 3 = 10 and 20 / 3 = 6.667, spread 3.333. Moving one of B's SSK is not allowed (B has only one).
    let teams = [team("Lag A", 1, 1), team("Lag B", 3, 1)];
    let patients = [
        patient("p1", "Lag A", None, true, 30_000),
        patient("p2", "Lag B", None, true, 20_000),
    ];
    let proposal = balance(&teams, &patients, &opts(3, false, 1_000, true)).expect("balances");
    assert_eq!(proposal.moves.len(), 1);
    assert_eq!(
        proposal.moves[0].what,
        MoveWhat::Staff {
            profession: Profession::Usk
        }
    );
    assert_eq!(
        proposal.moves[0].reason,
        "Flytta en undersköterska från Lag B till Lag A: Lag B har 5,0 p per personal, Lag A 15,0 p; efter flytten 6,7 p och 10,0 p"
    );
    assert_eq!(proposal.spread_after, Points::from_milli(3_333));
    let without = balance(&teams, &patients, &opts(3, false, 1_000, false)).expect("balances");
    assert!(without.moves.is_empty());
}

#[test]
fn teams_without_staff_are_left_out_and_duplicates_refused() {
    let teams = [team("Lag A", 1, 0), team("Lag B", 1, 0), team("Lag C", 0, 0)];
    let patients = [
        patient("p1", "Lag A", None, false, 10_000),
        patient("p2", "Lag C", None, false, 10_000),
        patient("p3", "Lag X", None, false, 10_000),
    ];
    let proposal = balance(&teams, &patients, &opts(3, false, 0, false)).expect("balances");
    assert_eq!(proposal.left_out, vec!["Lag C".to_owned(), "Lag X".to_owned()]);
    for m in &proposal.moves {
        assert_eq!((m.from.as_str(), m.to.as_str()), ("Lag A", "Lag B"));
    }
    let dup_team = balance(&[team("A", 1, 0), team("A", 1, 0)], &[], &BalanceOptions::default());
    assert!(dup_team.is_err());
    let dup_patient = balance(
        &[team("A", 1, 0)],
        &[patient("p1", "A", None, false, 1), patient("p1", "A", None, false, 2)],
        &BalanceOptions::default(),
    );
    assert!(dup_patient.unwrap_err().to_string().contains("\"p1\" is listed twice"));
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// The documented measure, recomputed independently: loads in billionths of
/// a point per person (floored), spread = max − min over teams with staff.
fn spread(need: &BTreeMap<String, i64>, staff: &BTreeMap<String, [u32; 2]>) -> i128 {
    let loads: Vec<i128> = staff
        .iter()
        .filter(|(_, s)| s[0] + s[1] > 0)
        .map(|(t, s)| i128::from(*need.get(t).unwrap_or(&0)) * 1_000_000 / i128::from(s[0] + s[1]))
        .collect();
    loads.iter().max().unwrap_or(&0) - loads.iter().min().unwrap_or(&0)
}

fn shown(spread: i128) -> Points {
    // round half away from zero to thousandths, as the proposal shows it
    Points::from_milli(((spread + 500_000) / 1_000_000) as i64)
}

/// Checks every constraint by replaying the moves; returns an error message on the first breach.
fn check(
    teams: &[TeamStaff],
    patients: &[BalancePatient],
    o: &BalanceOptions,
    p: &BalanceProposal,
) -> Result<(), String> {
    if p.moves.len() > o.max_moves as usize {
        return Err(format!("{} moves, at most {}", p.moves.len(), o.max_moves));
    }
    let mut staff: BTreeMap<String, [u32; 2]> = teams.iter().map(|t| (t.team.clone(), [t.usk, t.ssk])).collect();
    let mut at: BTreeMap<&str, &str> = patients.iter().map(|x| (x.id.as_str(), x.team.as_str())).collect();
    let need_of = |at: &BTreeMap<&str, &str>| {
        let mut need: BTreeMap<String, i64> = BTreeMap::new();
        for x in patients {
            *need.entry(at[x.id.as_str()].to_owned()).or_default() += x.need.milli();
        }
        need
    };
    let before = spread(&need_of(&at), &staff);
    if shown(before) != p.spread_before {
        return Err(format!("spread before {} ≠ {}", shown(before), p.spread_before));
    }
    if p.already_balanced != (before <= i128::from(o.tolerance.milli()) * 1_000_000) {
        return Err("already_balanced disagrees with the tolerance".into());
    }
    if p.already_balanced && !p.moves.is_empty() {
        return Err("moves although balanced".into());
    }
    let mut moved: BTreeSet<&str> = BTreeSet::new();
    let mut staff_moves = 0;
    let mut last = before;
    for m in &p.moves {
        if m.from == m.to {
            return Err("a move to the same team".into());
        }
        let to_staff = staff.get(&m.to).copied().ok_or("move to an unknown team")?;
        if to_staff[0] + to_staff[1] == 0 {
            return Err(format!("move to {} which has no staff", m.to));
        }
        match &m.what {
            MoveWhat::Patients { ids, room, .. } => {
                for id in ids {
                    let x = patients.iter().find(|x| &x.id == id).ok_or("unknown patient")?;
                    if x.pinned {
                        return Err(format!("pinned {id} moved"));
                    }
                    if !moved.insert(x.id.as_str()) {
                        return Err(format!("{id} moved twice"));
                    }
                    if at[id.as_str()] != m.from {
                        return Err(format!("{id} is not in {}", m.from));
                    }
                    if o.keep_rooms_together {
                        if let Some(r) = &x.room {
                            let mates: BTreeSet<&str> = patients
                                .iter()
                                .filter(|y| y.room.as_ref() == Some(r))
                                .map(|y| y.id.as_str())
                                .collect();
                            let these: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
                            if mates != these || room.as_ref() != Some(r) {
                                return Err(format!("room {r} split"));
                            }
                        }
                    } else if ids.len() != 1 {
                        return Err("several patients moved as one without rooms".into());
                    }
                }
                for id in ids {
                    at.insert(id.as_str(), m.to.as_str());
                }
            }
            MoveWhat::Staff { profession } => {
                staff_moves += 1;
                if !o.allow_staff_move || staff_moves > 1 {
                    return Err("staff move not allowed".into());
                }
                let pi = usize::from(*profession == Profession::Ssk);
                let from = staff.get_mut(&m.from).ok_or("unknown team")?;
                if from[pi] < 2 {
                    return Err("staff move leaves a team without its profession".into());
                }
                from[pi] -= 1;
                if let Some(to) = staff.get_mut(&m.to) {
                    to[pi] += 1;
                }
            }
        }
        let now = spread(&need_of(&at), &staff);
        if now > last {
            return Err(format!("move widened the spread: {} → {}", shown(last), shown(now)));
        }
        if shown(now) != m.spread_after {
            return Err("reported spread after a move is wrong".into());
        }
        last = now;
    }
    if shown(last) != p.spread_after {
        return Err(format!("spread after {} ≠ {}", shown(last), p.spread_after));
    }
    let need = need_of(&at);
    for t in &p.after {
        if need.get(&t.team).copied().unwrap_or(0) != t.need.milli() || staff[&t.team] != [t.usk, t.ssk] {
            return Err(format!("team {} after is wrong", t.team));
        }
    }
    Ok(())
}

type Instance = (Vec<TeamStaff>, Vec<BalancePatient>, BalanceOptions);

fn instance() -> impl Strategy<Value = Instance> {
    (2usize..=5).prop_flat_map(|n| {
        (
            prop::collection::vec((0u32..4, 0u32..3), n),
            prop::collection::vec(
                (
                    0..n + 1,
                    prop::option::of(0u8..10),
                    prop::bool::weighted(0.2),
                    0i64..=60_000,
                ),
                0..=40,
            ),
            (0u32..6, any::<bool>(), 0i64..=5_000, any::<bool>()),
        )
            .prop_map(move |(staff, pats, (k, rooms, tol, staff_move))| {
                let name = |i: usize| format!("Lag {}", (b'A' + i as u8) as char);
                let teams = staff
                    .iter()
                    .enumerate()
                    .map(|(i, &(u, s))| team(&name(i), u, s))
                    .collect();
                // team index n is a team not listed
                let patients = pats
                    .iter()
                    .enumerate()
                    .map(|(i, &(t, room, pinned, need))| BalancePatient {
                        id: format!("p{i:02}"),
                        team: name(t),
                        room: room.map(|r| r.to_string()),
                        bed: Some(i.to_string()),
                        pinned,
                        need: Points::from_milli(need),
                    })
                    .collect();
                (teams, patients, opts(k, rooms, tol, staff_move))
            })
    })
}

/// Teams identical in staff and in their patients' needs: spread 0.
fn balanced_instance() -> impl Strategy<Value = Instance> {
    (
        2usize..=5,
        (0u32..4, 1u32..3),
        prop::collection::vec((0i64..=60_000, any::<bool>()), 0..=10),
        (0u32..6, any::<bool>(), 0i64..=5_000, any::<bool>()),
    )
        .prop_map(|(n, (u, s), needs, (k, rooms, tol, staff_move))| {
            let name = |i: usize| format!("Lag {}", (b'A' + i as u8) as char);
            let teams = (0..n).map(|i| team(&name(i), u, s)).collect();
            let mut patients = Vec::new();
            for t in 0..n {
                for (j, &(need, in_room)) in needs.iter().enumerate() {
                    patients.push(BalancePatient {
                        id: format!("p{t}-{j:02}"),
                        team: name(t),
                        room: in_room.then(|| format!("{t}-{}", j / 2)),
                        bed: Some(format!("{t}{j:02}")),
                        pinned: false,
                        need: Points::from_milli(need),
                    });
                }
            }
            (teams, patients, opts(k, rooms, tol, staff_move))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_breaks_a_constraint_nor_widens_the_spread((teams, patients, o) in instance()) {
        let p = balance(&teams, &patients, &o).expect("valid input");
        if let Err(e) = check(&teams, &patients, &o, &p) {
            prop_assert!(false, "{e}\n{p:#?}");
        }
        prop_assert!(p.spread_after <= p.spread_before);
    }

    #[test]
    fn same_input_same_proposal_in_any_order((teams, patients, o) in instance()) {
        let first = balance(&teams, &patients, &o).expect("valid input");
        let again = balance(&teams, &patients, &o).expect("valid input");
        prop_assert_eq!(&first, &again);
        let mut rev_teams = teams.clone();
        rev_teams.reverse();
        let mut rev_patients = patients.clone();
        rev_patients.reverse();
        let reordered = balance(&rev_teams, &rev_patients, &o).expect("valid input");
        prop_assert_eq!(&first, &reordered);
    }

    #[test]
    fn moves_nobody_when_teams_are_balanced((teams, patients, o) in balanced_instance()) {
        let p = balance(&teams, &patients, &o).expect("valid input");
        prop_assert!(p.already_balanced);
        prop_assert!(p.moves.is_empty());
        prop_assert_eq!(&p.before, &p.after);
    }
}
