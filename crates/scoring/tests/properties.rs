//! Properties over random snapshots: the score is never negative, its parts
//! add up to its total, ADL never moves it, and team, ward and hospital
//! totals equal the sums of their patients.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use careload_scoring::news2::{Acvpu, Spo2Scale, Vitals};
use careload_scoring::snapshot::{
    Activity, ActivityStatus, AdlDomain, AdlLevel, AdlNeed, CarePlan, Diagnosis, Dosing, EmotionalSupport,
    MedicationOrder, News2Observation, Norton, NortonActivity, Order, PatientKey, Placement, Route, Sex, Snapshot,
    SupportLevel, VitalSigns,
};
use careload_scoring::{Points, Score, Weights, Window, rollup, score};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

const DEFAULT: &str = include_str!("../../../weights/2026.1.toml");

fn as_of() -> DateTime<Utc> {
    "2026-11-23T09:05:00Z".parse().expect("time")
}

fn minutes(m: i64) -> DateTime<Utc> {
    as_of() + Duration::minutes(m)
}

const CODES: &[&str] = &[
    "personal-hygiene",
    "shower",
    "toileting",
    "repositioning",
    "wound-care",
    "peripheral-line",
    "admission-interview",
    "not-a-known-code",
];

fn activity() -> impl Strategy<Value = Activity> {
    (
        prop::sample::select(CODES),
        prop::option::of(-600i64..900),
        prop::sample::select(
            &[
                ActivityStatus::Open,
                ActivityStatus::Completed,
                ActivityStatus::Cancelled,
            ][..],
        ),
    )
        .prop_map(|(code, due, status)| Activity {
            code: code.into(),
            due: due.map(minutes),
            status,
            profession: None,
            source: None,
        })
}

fn medication() -> impl Strategy<Value = MedicationOrder> {
    (
        prop::sample::select(&Route::ALL[..]),
        prop_oneof![
            (0u16..12).prop_map(|times| Dosing::PerDay { times }),
            prop::collection::vec(-120i64..1500, 0..4).prop_map(|ts| Dosing::At {
                times: ts.into_iter().map(minutes).collect()
            }),
            Just(Dosing::AsNeeded),
        ],
    )
        .prop_map(|(route, dosing)| MedicationOrder {
            route,
            dosing,
            source: None,
        })
}

fn vitals() -> impl Strategy<Value = VitalSigns> {
    (
        -3000i64..60,
        prop::option::of(0u16..60),
        prop::option::of(60u8..=100),
        prop::bool::ANY,
        prop::option::of(prop::bool::ANY),
        prop::option::of(50u16..250),
        prop::option::of(20u16..200),
        prop::option::of(prop::sample::select(
            &[
                Acvpu::Alert,
                Acvpu::NewConfusion,
                Acvpu::Voice,
                Acvpu::Pain,
                Acvpu::Unresponsive,
            ][..],
        )),
        prop::option::of(330i64..420),
    )
        .prop_map(|(at, rr, spo2, scale2, o2, sbp, hr, acvpu, temp)| VitalSigns {
            at: minutes(at),
            vitals: Vitals {
                respiration_rate: rr,
                spo2,
                spo2_scale: if scale2 { Spo2Scale::Scale2 } else { Spo2Scale::Scale1 },
                on_oxygen: o2,
                systolic_bp: sbp,
                pulse: hr,
                consciousness: acvpu,
                temperature: temp.map(|t| t as f64 / 10.0),
            },
            source: None,
        })
}

fn snapshot() -> impl Strategy<Value = Snapshot> {
    let who = (
        0u32..1_000_000,
        -20_000i64..30,
        prop::option::of(prop::sample::select(&NortonActivity::ALL[..])),
        prop::option::of(prop::sample::select(&SupportLevel::ALL[..])),
        prop::bool::ANY,
        prop::sample::select(&["w1", "w2", "w3"][..]),
        prop::option::of(prop::sample::select(&["A", "B", "C"][..])),
    );
    let items = (
        prop::collection::vec(activity(), 0..25),
        prop::collection::vec(medication(), 0..10),
        prop::collection::vec((-3000i64..60, 0u8..=20), 0..8),
        prop::collection::vec(vitals(), 0..3),
        prop::collection::vec(
            (
                prop::sample::select(&["lab-sample", "imaging", "nope"][..]),
                prop::option::of(-300i64..600),
            ),
            0..4,
        ),
        prop::collection::vec(prop::sample::select(&["palliative", "delirium", "nope"][..]), 0..3),
        prop::collection::vec(
            prop::sample::select(&["F32.1", "F10.2", "F03", "I10", "J18.9"][..]),
            0..4,
        ),
    );
    (who, items).prop_map(
        |((id, admitted, norton, support, outlying, ward, team), (acts, meds, news, vit, ords, plans, dx))| Snapshot {
            as_of: as_of(),
            key: PatientKey(format!("{id:064x}")),
            sex: Sex::Unknown,
            birth_year: Some(1950),
            admitted_at: minutes(admitted),
            placement: Placement {
                ward: ward.into(),
                team: team.map(Into::into),
                room: None,
                bed: None,
            },
            specialty: None,
            outlying,
            norton: norton.map(|activity| Norton {
                activity,
                total: None,
                assessed_at: minutes(-60),
            }),
            news2: news
                .into_iter()
                .map(|(at, value)| News2Observation {
                    at: minutes(at),
                    value,
                    source: None,
                })
                .collect(),
            vitals: vit,
            emotional_support: support.map(|level| EmotionalSupport {
                level,
                assessed_at: minutes(-120),
                source: None,
            }),
            activities: acts,
            medications: meds,
            orders: ords
                .into_iter()
                .map(|(category, due)| Order {
                    category: category.into(),
                    due: due.map(minutes),
                    source: None,
                })
                .collect(),
            care_plans: plans
                .into_iter()
                .map(|category| CarePlan {
                    category: category.into(),
                    source: None,
                })
                .collect(),
            diagnoses: dx
                .into_iter()
                .map(|code| Diagnosis {
                    code: code.into(),
                    source: None,
                })
                .collect(),
            adl: Vec::new(),
        },
    )
}

fn window_of(hours: i64) -> Window {
    Window::new(as_of(), as_of() + Duration::hours(hours)).expect("window")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// The store keeps snapshots as JSON and the back-test reads them back:
    /// whatever is written reads back as the same snapshot.
    #[test]
    fn a_snapshot_reads_back_from_its_json(s in snapshot()) {
        let json = serde_json::to_string(&s).expect("serialise");
        let back: Snapshot = serde_json::from_str(&json).map_err(|e| TestCaseError::fail(format!("{e}: {json}")))?;
        prop_assert_eq!(back, s);
    }

    #[test]
    fn never_negative_and_the_parts_add_up(s in snapshot(), hours in 1i64..=12) {
        let w = Weights::from_toml(DEFAULT, "default").expect("weights");
        let got = score(&s, &w, window_of(hours));
        prop_assert!(got.total >= Points::ZERO);
        prop_assert!(got.contributions.iter().all(|c| c.points >= Points::ZERO && c.weight >= Points::ZERO));
        let sum: Points = got.contributions.iter().map(|c| c.points).sum();
        prop_assert_eq!(got.total, sum);
        prop_assert_eq!(got.total, got.components.sum());
        prop_assert_eq!(got.total, got.professions.usk + got.professions.ssk);
    }

    #[test]
    fn adl_never_changes_the_score(s in snapshot(), levels in prop::collection::vec(0usize..3, 1..5)) {
        let w = Weights::from_toml(DEFAULT, "default").expect("weights");
        let before = score(&s, &w, window_of(1));
        let mut with_adl = s.clone();
        let domains = [AdlDomain::Hygiene, AdlDomain::EatingDrinking, AdlDomain::Dressing, AdlDomain::Toileting, AdlDomain::Mobility];
        for (i, level) in levels.into_iter().enumerate() {
            with_adl.adl.push(AdlNeed {
                domain: domains[i % domains.len()],
                level: [AdlLevel::Independent, AdlLevel::PartialHelp, AdlLevel::FullHelp][level],
                assessed_at: minutes(-30),
            });
        }
        prop_assert_eq!(score(&with_adl, &w, window_of(1)), before);
    }

    #[test]
    fn rollups_equal_the_sum_of_their_patients(patients in prop::collection::vec(snapshot(), 0..40)) {
        let w = Weights::from_toml(DEFAULT, "default").expect("weights");
        let scores: Vec<Score> = patients.iter().map(|s| score(s, &w, window_of(1))).collect();
        let r = rollup(patients.iter().zip(&scores));
        let all: Points = scores.iter().map(|s| s.total).sum();
        prop_assert_eq!(r.hospital.total, all);
        prop_assert_eq!(r.hospital.patients as usize, patients.len());
        let wards: Points = r.wards.values().map(|w| w.totals.total).sum();
        prop_assert_eq!(wards, all);
        for (ward, rollup) in &r.wards {
            let direct: Points = patients
                .iter()
                .zip(&scores)
                .filter(|(p, _)| &p.placement.ward == ward)
                .map(|(_, s)| s.total)
                .sum();
            prop_assert_eq!(rollup.totals.total, direct);
            let teams: Points = rollup.teams.values().map(|t| t.total).sum();
            prop_assert_eq!(teams, direct);
            let team_patients: u32 = rollup.teams.values().map(|t| t.patients).sum();
            prop_assert_eq!(team_patients, rollup.totals.patients);
            prop_assert_eq!(
                rollup.totals.professions.usk + rollup.totals.professions.ssk,
                rollup.totals.total
            );
        }
    }

    #[test]
    fn outlying_never_lowers_a_score(s in snapshot()) {
        let w = Weights::from_toml(DEFAULT, "default").expect("weights");
        let mut inlying = s.clone();
        inlying.outlying = false;
        let mut outlying = s;
        outlying.outlying = true;
        prop_assert!(score(&outlying, &w, window_of(1)).total >= score(&inlying, &w, window_of(1)).total);
    }
}
