//! The path the API will take: stored snapshots → scoring's hourly forecast
//! → the shift's need → assessment and balancing, on the example ward with
//! the shipped weights.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use careload_planning::balance::{BalanceOptions, BalancePatient, TeamStaff, balance};
use careload_planning::{PatientForecast, Thresholds, WardPlan, assess, forecast_hours_needed, shift_need};
use careload_scoring::shift::ShiftPlan;
use careload_scoring::{Points, Qty, Snapshot, Weights, forecast};
use chrono::Utc;

#[test]
fn example_ward_next_shift() {
    let weights = Weights::from_toml(include_str!("../../../weights/2026.1.toml"), "2026.1.toml").unwrap();
    let snapshots: Vec<Snapshot> = serde_json::from_str(include_str!("../../../examples/ward-snapshot.json")).unwrap();
    let as_of = snapshots[0].as_of;
    let plan = ShiftPlan::default();
    let next = plan.next_shift(as_of, &Utc);
    let hours = forecast_hours_needed(as_of, &[&next]);
    let forecasts: Vec<PatientForecast> = snapshots
        .iter()
        .map(|s| {
            PatientForecast::from_scores(
                s.key.0.clone(),
                s.placement.team.clone(),
                None,
                s.placement.bed.clone(),
                &forecast(s, &weights, hours),
            )
        })
        .collect();
    let factors = careload_planning::staff_hours_for(&weights, "general").unwrap();
    let unknown = careload_planning::staff_hours_for(&weights, "surgery")
        .unwrap_err()
        .to_string();
    assert!(
        unknown.contains("use one of: general, geriatric, intermediate"),
        "{unknown}"
    );
    let need = shift_need(&forecasts, &next, factors);

    // The forecast reaches the end of the shift; hours start at :05, so the
    // first and last hours of the shift count in part, nothing is extrapolated.
    assert_eq!(need.extrapolated_minutes, 0);
    assert_eq!(need.ward.patients as usize, snapshots.len());
    let sum: i64 = need.patients.iter().map(|p| p.total.milli()).sum();
    assert_eq!(need.ward.total.milli(), sum);
    assert!(need.ward.total > Points::ZERO);
    // staff-hours = points × factor; people = staff-hours / shift hours
    let usk_hours = need.ward.professions.usk.times(factors.usk).milli();
    assert_eq!(need.ward.staff_hours.usk.milli(), usk_hours);
    assert_eq!(
        need.ward.people.usk,
        Qty::from_milli(usk_hours).ratio(60, next.window.minutes())
    );

    let assessment = assess(&need, &WardPlan::default(), &Thresholds::default());
    assert_eq!(assessment.ward.verdict, careload_planning::Verdict::NoPlan);

    let patients: Vec<BalancePatient> = need
        .patients
        .iter()
        .map(|p| BalancePatient::from_need(p, false))
        .collect();
    let teams: Vec<TeamStaff> = need
        .teams
        .keys()
        .map(|t| TeamStaff {
            team: t.clone(),
            name: None,
            usk: 1,
            ssk: 1,
        })
        .collect();
    let proposal = balance(&teams, &patients, &BalanceOptions::default()).unwrap();
    assert!(proposal.spread_after <= proposal.spread_before);
    assert!(proposal.moves.len() <= 3);
}

#[test]
fn a_ward_without_a_care_category_is_planned_as_general_when_the_weights_have_it() {
    let mut weights = Weights::from_toml(include_str!("../../../weights/2026.1.toml"), "2026.1.toml").unwrap();
    assert_eq!(careload_planning::DEFAULT_CARE_CATEGORY, "general");
    assert_eq!(careload_planning::default_care_category(&weights), Some("general"));
    weights.staff_hours.remove("general");
    assert_eq!(careload_planning::default_care_category(&weights), Some("geriatric"));
    weights.staff_hours.clear();
    assert_eq!(careload_planning::default_care_category(&weights), None);
}
