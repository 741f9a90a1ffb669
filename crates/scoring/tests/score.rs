//! The score, case by case: each weight parameter, each component, each
//! modifier and the window semantics. Weights are `fixtures/simple.toml`,
//! whose round numbers make every expected value derivable by hand; the
//! derivation is written beside each case.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use careload_scoring::news2::{Acvpu, Spo2Scale, Vitals};
use careload_scoring::score::{Parameter, Source};
use careload_scoring::snapshot::{
    Activity, ActivityStatus, AdlDomain, AdlLevel, AdlNeed, CarePlan, Diagnosis, Dosing, EmotionalSupport,
    MedicationOrder, News2Observation, Norton, NortonActivity, Order, PatientKey, Profession, Route, SupportLevel,
    VitalSigns,
};
use careload_scoring::{Component, Points, Score, Snapshot, Weights, Window, forecast, rollup, score, score_now};
use chrono::{DateTime, Duration, Utc};

const SIMPLE: &str = include_str!("fixtures/simple.toml");

fn weights() -> Weights {
    Weights::from_toml(SIMPLE, "simple.toml").expect("simple weights")
}

fn t(s: &str) -> DateTime<Utc> {
    format!("2026-11-23T{s}:00Z").parse().expect("time")
}

/// A patient admitted five days ago, Norton "walks", nothing else.
fn patient() -> Snapshot {
    let mut s = Snapshot::new(
        PatientKey("k".into()),
        t("09:00"),
        t("09:00") - Duration::days(5),
        "ward",
    );
    s.norton = Some(Norton {
        activity: NortonActivity::Walks,
        total: Some(18),
        assessed_at: t("08:00"),
    });
    s
}

fn activity(code: &str, due: Option<&str>, status: ActivityStatus) -> Activity {
    Activity {
        code: code.into(),
        due: due.map(t),
        status,
        profession: None,
        source: Some("Task/1".into()),
    }
}

fn pts(s: &str) -> Points {
    Points::from_decimal(s.parse().expect("number")).expect("three decimals")
}

/// A case: a name, how the patient differs from [`patient`], the window
/// (hours from 09:00), and the expected total and component points.
struct Case {
    name: &'static str,
    setup: fn(&mut Snapshot),
    hours: i64,
    total: &'static str,
    components: &'static [(Component, &'static str)],
}

fn check(cases: &[Case]) {
    let w = weights();
    for case in cases {
        let mut s = patient();
        (case.setup)(&mut s);
        let window = Window::new(t("09:00"), t("09:00") + Duration::hours(case.hours)).expect("window");
        let got = score(&s, &w, window);
        assert_eq!(got.total, pts(case.total), "{}: total\n{got:#?}", case.name);
        for &(component, expected) in case.components {
            assert_eq!(
                got.components.get(component),
                pts(expected),
                "{}: {component:?}\n{got:#?}",
                case.name
            );
        }
        assert_consistent(&got, case.name);
    }
}

/// Total = sum of contributions = sum of components = sum of professions.
fn assert_consistent(s: &Score, name: &str) {
    let from_contributions: Points = s.contributions.iter().map(|c| c.points).sum();
    assert_eq!(s.total, from_contributions, "{name}: contributions");
    assert_eq!(s.total, s.components.sum(), "{name}: components");
    assert_eq!(s.total, s.professions.usk + s.professions.ssk, "{name}: professions");
    for c in &s.contributions {
        assert_eq!(c.points, c.weight.times(c.quantity), "{name}: {c:?}");
    }
}

#[test]
fn an_empty_journal_scores_nothing() {
    check(&[Case {
        name: "nothing documented, admitted long ago",
        setup: |_| {},
        hours: 1,
        total: "0",
        components: &[],
    }]);
}

#[test]
fn activities_by_norton_level_and_profession() {
    check(&[
        Case {
            name: "USK activity, walks: 1",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:30"), ActivityStatus::Open))
            },
            hours: 1,
            total: "1",
            components: &[(Component::BasicNursing, "1"), (Component::SpecificNursing, "0")],
        },
        Case {
            name: "USK activity, walks with help: 2",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
                s.norton.as_mut().expect("norton").activity = NortonActivity::WalksWithHelp;
            },
            hours: 1,
            total: "2",
            components: &[(Component::BasicNursing, "2")],
        },
        Case {
            name: "USK activity, wheelchair: 3",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
                s.norton.as_mut().expect("norton").activity = NortonActivity::Wheelchair;
            },
            hours: 1,
            total: "3",
            components: &[(Component::BasicNursing, "3")],
        },
        Case {
            name: "USK activity, bedridden: 4",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
                s.norton.as_mut().expect("norton").activity = NortonActivity::Bedridden;
            },
            hours: 1,
            total: "4",
            components: &[(Component::BasicNursing, "4")],
        },
        Case {
            name: "no Norton: when_norton_missing = walks_with_help → 2",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
                s.norton = None;
            },
            hours: 1,
            total: "2",
            components: &[(Component::BasicNursing, "2")],
        },
        Case {
            name: "SSK activity, walks: 10, specific nursing",
            setup: |s| {
                s.activities
                    .push(activity("a-ssk", Some("09:30"), ActivityStatus::Open))
            },
            hours: 1,
            total: "10",
            components: &[(Component::SpecificNursing, "10"), (Component::BasicNursing, "0")],
        },
        Case {
            name: "a task naming SSK moves a USK code to specific nursing",
            setup: |s| {
                let mut a = activity("a-usk", Some("09:30"), ActivityStatus::Open);
                a.profession = Some(Profession::Ssk);
                s.activities.push(a);
            },
            hours: 1,
            total: "1",
            components: &[(Component::SpecificNursing, "1"), (Component::BasicNursing, "0")],
        },
    ]);
}

#[test]
fn activities_count_by_due_time_and_status() {
    check(&[
        Case {
            name: "due at the window's end is the next window's",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("10:00"), ActivityStatus::Open))
            },
            hours: 1,
            total: "0",
            components: &[],
        },
        Case {
            name: "due at the window's start counts",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:00"), ActivityStatus::Open))
            },
            hours: 1,
            total: "1",
            components: &[],
        },
        Case {
            name: "open and overdue: still to do now",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("07:00"), ActivityStatus::Open))
            },
            hours: 1,
            total: "1",
            components: &[],
        },
        Case {
            name: "completed and overdue: done, not counted",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("07:00"), ActivityStatus::Completed))
            },
            hours: 1,
            total: "0",
            components: &[],
        },
        Case {
            name: "completed within the window: the work was in this hour",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:20"), ActivityStatus::Completed))
            },
            hours: 1,
            total: "1",
            components: &[],
        },
        Case {
            name: "a shift window that began before the snapshot keeps the work already done in it",
            setup: |s| {
                s.as_of = t("11:00");
                s.activities
                    .push(activity("a-usk", Some("10:00"), ActivityStatus::Completed));
                s.activities
                    .push(activity("a-ssk", Some("13:00"), ActivityStatus::Completed));
            },
            hours: 8,
            total: "1",
            components: &[],
        },
        Case {
            name: "cancelled never counts",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:20"), ActivityStatus::Cancelled))
            },
            hours: 1,
            total: "0",
            components: &[],
        },
        Case {
            name: "open without due time counts now",
            setup: |s| s.activities.push(activity("a-usk", None, ActivityStatus::Open)),
            hours: 1,
            total: "1",
            components: &[],
        },
        Case {
            name: "three due over an 8-hour window: 1 + 1 + 10",
            setup: |s| {
                s.activities
                    .push(activity("a-usk", Some("09:10"), ActivityStatus::Open));
                s.activities
                    .push(activity("a-usk", Some("12:00"), ActivityStatus::Open));
                s.activities
                    .push(activity("a-ssk", Some("16:59"), ActivityStatus::Open));
                s.activities
                    .push(activity("a-ssk", Some("17:00"), ActivityStatus::Open));
            },
            hours: 8,
            total: "12",
            components: &[(Component::BasicNursing, "2"), (Component::SpecificNursing, "10")],
        },
    ]);
}

#[test]
fn medications_by_route_and_dosing() {
    check(&[
        Case {
            name: "oral 3/day: order 0.1 × 1 h + administrations 3 × 1/24 = 0.125 × 1",
            setup: |s| {
                s.medications.push(MedicationOrder {
                    route: Route::Oral,
                    dosing: Dosing::PerDay { times: 3 },
                    source: None,
                })
            },
            hours: 1,
            total: "0.225",
            components: &[(Component::Medications, "0.225")],
        },
        Case {
            name: "IV at 09:15 and 21:15: order 0.2 + one administration × 2",
            setup: |s| {
                s.medications.push(MedicationOrder {
                    route: Route::Intravenous,
                    dosing: Dosing::At {
                        times: vec![t("09:15"), t("21:15")],
                    },
                    source: None,
                })
            },
            hours: 1,
            total: "2.2",
            components: &[(Component::Medications, "2.2")],
        },
        Case {
            name: "IV at 09:15 and 21:15 over 8 h: order 0.2 × 8 + one administration × 2",
            setup: |s| {
                s.medications.push(MedicationOrder {
                    route: Route::Intravenous,
                    dosing: Dosing::At {
                        times: vec![t("09:15"), t("21:15")],
                    },
                    source: None,
                })
            },
            hours: 8,
            total: "3.6",
            components: &[],
        },
        Case {
            name: "as needed: only the order, 0.1",
            setup: |s| {
                s.medications.push(MedicationOrder {
                    route: Route::Oral,
                    dosing: Dosing::AsNeeded,
                    source: None,
                })
            },
            hours: 1,
            total: "0.1",
            components: &[],
        },
        Case {
            name: "each route has its own weights: subcutaneous 4/day over 6 h = 0.3×6 + 1×3",
            setup: |s| {
                s.medications.push(MedicationOrder {
                    route: Route::Subcutaneous,
                    dosing: Dosing::PerDay { times: 4 },
                    source: None,
                })
            },
            hours: 6,
            total: "4.8",
            components: &[],
        },
        Case {
            name: "rectal and other at set times: 0.8 + 8 + 0.9 + 9",
            setup: |s| {
                for route in [Route::Rectal, Route::Other] {
                    s.medications.push(MedicationOrder {
                        route,
                        dosing: Dosing::At {
                            times: vec![t("09:59")],
                        },
                        source: None,
                    });
                }
            },
            hours: 1,
            total: "18.7",
            components: &[],
        },
    ]);
}

fn news2_obs(at: &str, value: u8) -> News2Observation {
    News2Observation {
        at: t(at),
        value,
        source: None,
    }
}

fn sick_vitals(at: &str) -> VitalSigns {
    // NEWS2 10: rr 24 (2), spo2 93 (2), oxygen (2), sbp 105 (1), hr 115 (2), alert (0), 38.5 (1)
    VitalSigns {
        at: t(at),
        vitals: Vitals {
            respiration_rate: Some(24),
            spo2: Some(93),
            spo2_scale: Spo2Scale::Scale1,
            on_oxygen: Some(true),
            systolic_bp: Some(105),
            pulse: Some(115),
            consciousness: Some(Acvpu::Alert),
            temperature: Some(38.5),
        },
        source: None,
    }
}

#[test]
fn news2_band_and_measurement_frequency() {
    check(&[
        Case {
            name: "NEWS2 6 → band from 5: 5/h; one measurement: 0.24 × 1/24 = 0.01",
            setup: |s| s.news2.push(news2_obs("08:00", 6)),
            hours: 1,
            total: "5.01",
            components: &[(Component::News2, "5.01")],
        },
        Case {
            name: "NEWS2 0 scores only the measurement",
            setup: |s| s.news2.push(news2_obs("08:00", 0)),
            hours: 1,
            total: "0.01",
            components: &[],
        },
        Case {
            name: "the latest NEWS2 counts, older ones only as measurements (2 → 1/h; 2 measurements)",
            setup: |s| {
                s.news2.push(news2_obs("08:00", 2));
                s.news2.push(news2_obs("02:00", 9));
            },
            hours: 1,
            total: "1.02",
            components: &[],
        },
        Case {
            name: "measurements older than 24 h are not counted",
            setup: |s| {
                s.news2.push(news2_obs("08:00", 2));
                s.news2.push(News2Observation {
                    at: t("08:59") - Duration::days(1),
                    value: 2,
                    source: None,
                });
            },
            hours: 1,
            total: "1.01",
            components: &[],
        },
        Case {
            name: "vital signs newer than the total: NEWS2 computed as 10 → 7/h; 2 measurements",
            setup: |s| {
                s.news2.push(news2_obs("08:00", 2));
                s.vitals.push(sick_vitals("08:30"));
            },
            hours: 1,
            total: "7.02",
            components: &[],
        },
        Case {
            name: "vital signs charted with their total are one measurement, the total is used",
            setup: |s| {
                s.news2.push(news2_obs("08:30", 3));
                s.vitals.push(sick_vitals("08:30"));
            },
            hours: 1,
            total: "1.01",
            components: &[],
        },
        Case {
            name: "incomplete vital signs are not a NEWS2",
            setup: |s| {
                let mut v = sick_vitals("08:30");
                v.vitals.pulse = None;
                s.vitals.push(v);
            },
            hours: 1,
            total: "0",
            components: &[],
        },
        Case {
            name: "measurements after the snapshot time are ignored",
            setup: |s| s.news2.push(news2_obs("09:30", 8)),
            hours: 1,
            total: "0",
            components: &[],
        },
        Case {
            name: "hourly monitoring, 24 measurements in 24 h: 0.24/h, plus band 1/h, over 2 h",
            setup: |s| {
                for h in 0..24 {
                    s.news2.push(News2Observation {
                        at: t("08:30") - Duration::hours(h),
                        value: 3,
                        source: None,
                    });
                }
            },
            hours: 2,
            total: "2.48",
            components: &[],
        },
    ]);
    let w = weights();
    let mut s = patient();
    s.vitals.push(sick_vitals("08:30"));
    let got = score_now(&s, &w);
    let n = got.news2.expect("news2");
    assert_eq!((n.value, n.computed, n.source), (10, true, Source::Vitals(0)));
}

#[test]
fn emotional_support_per_level_and_hour() {
    let w = weights();
    let expected = ["0", "1", "2", "3", "4"];
    for (level, per_hour) in SupportLevel::ALL.into_iter().zip(expected) {
        for hours in [1, 8] {
            let mut s = patient();
            s.emotional_support = Some(EmotionalSupport {
                level,
                assessed_at: t("06:00"),
                source: None,
            });
            let window = Window::new(t("09:00"), t("09:00") + Duration::hours(hours)).expect("window");
            let got = score(&s, &w, window);
            assert_eq!(
                got.components.emotional_support,
                pts(per_hour).times(careload_scoring::Qty::whole(hours)),
                "{level:?} over {hours} h"
            );
        }
    }
}

#[test]
fn orders_care_plans_and_diagnoses() {
    check(&[
        Case {
            name: "lab order due in the window: 1.5",
            setup: |s| {
                s.orders.push(Order {
                    category: "lab".into(),
                    due: Some(t("09:10")),
                    source: None,
                })
            },
            hours: 1,
            total: "1.5",
            components: &[(Component::Orders, "1.5")],
        },
        Case {
            name: "lab order due later, or without a due time (counts now)",
            setup: |s| {
                s.orders.push(Order {
                    category: "lab".into(),
                    due: Some(t("15:00")),
                    source: None,
                });
                s.orders.push(Order {
                    category: "lab".into(),
                    due: None,
                    source: None,
                });
            },
            hours: 1,
            total: "1.5",
            components: &[],
        },
        Case {
            name: "palliative care plan: 2/h over 8 h = 16, a second palliative plan adds nothing",
            setup: |s| {
                for _ in 0..2 {
                    s.care_plans.push(CarePlan {
                        category: "palliative".into(),
                        source: None,
                    });
                }
            },
            hours: 8,
            total: "16",
            components: &[(Component::CarePlans, "16")],
        },
        Case {
            name: "F32.1: rule F, 0.5/h",
            setup: |s| {
                s.diagnoses.push(Diagnosis {
                    code: "F32.1".into(),
                    source: None,
                })
            },
            hours: 1,
            total: "0.5",
            components: &[(Component::Diagnoses, "0.5")],
        },
        Case {
            name: "F10.2 matches the longer F10 rule: 0.7/h",
            setup: |s| {
                s.diagnoses.push(Diagnosis {
                    code: "F10.2".into(),
                    source: None,
                })
            },
            hours: 1,
            total: "0.7",
            components: &[],
        },
        Case {
            name: "F32 and F41 share rule F: counted once",
            setup: |s| {
                for code in ["F32", "F41.1"] {
                    s.diagnoses.push(Diagnosis {
                        code: code.into(),
                        source: None,
                    });
                }
            },
            hours: 1,
            total: "0.5",
            components: &[],
        },
        Case {
            name: "F10 and F32: two rules, 0.7 + 0.5, and I10 matches none",
            setup: |s| {
                for code in ["F10.2", "F32", "I10"] {
                    s.diagnoses.push(Diagnosis {
                        code: code.into(),
                        source: None,
                    });
                }
            },
            hours: 1,
            total: "1.2",
            components: &[],
        },
    ]);
}

#[test]
fn unknown_codes_score_nothing_and_are_listed() {
    let w = weights();
    let mut s = patient();
    s.activities
        .push(activity("not-in-weights", Some("09:30"), ActivityStatus::Open));
    s.activities
        .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
    s.orders.push(Order {
        category: "x-ray-of-the-soul".into(),
        due: None,
        source: None,
    });
    s.care_plans.push(CarePlan {
        category: "unknown".into(),
        source: None,
    });
    let got = score_now(&s, &w);
    assert_eq!(got.total, pts("1"));
    assert_eq!(
        got.unmatched,
        vec![Source::Activity(0), Source::Order(0), Source::CarePlan(0)]
    );
}

#[test]
fn modifiers() {
    check(&[
        Case {
            name: "outlier ×1.5 on USK 1 + SSK 10: +0.5 USK, +5 SSK",
            setup: |s| {
                s.outlying = true;
                s.activities
                    .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
                s.activities
                    .push(activity("a-ssk", Some("09:30"), ActivityStatus::Open));
            },
            hours: 1,
            total: "16.5",
            components: &[(Component::Modifiers, "5.5")],
        },
        Case {
            name: "newly admitted 1 h ago, only Norton documented (1 of 4): 1 × 1 h × 3/4",
            setup: |s| s.admitted_at = t("08:00"),
            hours: 1,
            total: "0.75",
            components: &[(Component::Modifiers, "0.75")],
        },
        Case {
            name: "newly admitted, nothing documented: 1 × 1 h × 4/4",
            setup: |s| {
                s.admitted_at = t("08:00");
                s.norton = None;
            },
            hours: 1,
            total: "1",
            components: &[],
        },
        Case {
            name: "newly admitted with a full journal (4 items): no extra; 3 activities = 1+1+1",
            setup: |s| {
                s.admitted_at = t("08:00");
                for _ in 0..3 {
                    s.activities
                        .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
                }
            },
            hours: 1,
            total: "3",
            components: &[(Component::Modifiers, "0")],
        },
        Case {
            name: "cancelled activities are not documentation: 1 of 4 documented → 0.75",
            setup: |s| {
                s.admitted_at = t("08:00");
                s.activities
                    .push(activity("a-usk", Some("09:30"), ActivityStatus::Cancelled));
            },
            hours: 1,
            total: "0.75",
            components: &[],
        },
        Case {
            name: "newly-admitted period ends half-way through the window: 0.5 h × 3/4",
            setup: |s| s.admitted_at = t("09:30") - Duration::hours(24),
            hours: 1,
            total: "0.375",
            components: &[],
        },
        Case {
            name: "admitted during the window: 0.5 h of it × 3/4",
            setup: |s| s.admitted_at = t("09:30"),
            hours: 1,
            total: "0.375",
            components: &[],
        },
        Case {
            name: "outlier and newly admitted together: outlier on the base only",
            setup: |s| {
                s.outlying = true;
                s.admitted_at = t("08:00");
                s.activities
                    .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
            },
            // base 1; outlier +0.5; documented 2 of 4 → 1 × 1 × 1/2 = 0.5
            hours: 1,
            total: "2",
            components: &[(Component::Modifiers, "1")],
        },
    ]);
}

#[test]
fn the_newly_admitted_floor_tops_up_to_the_floor() {
    let text = SIMPLE.replacen("floor_per_hour = 0", "floor_per_hour = 3", 1);
    let w = Weights::from_toml(&text, "floor.toml").expect("weights");
    let mut s = patient();
    s.admitted_at = t("08:00");
    s.activities
        .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
    // base 1 + extra 1 × 2/4 = 1.5, below the floor 3 × 1 h: topped up by 1.5
    let got = score_now(&s, &w);
    assert_eq!(got.total, pts("3"));
    let floor = got
        .contributions
        .iter()
        .find(|c| c.parameter == Parameter::NewlyAdmittedFloor)
        .expect("floor contribution");
    assert_eq!(
        (floor.weight, floor.quantity, floor.points),
        (pts("1.5"), careload_scoring::Qty::ONE, pts("1.5"))
    );
    // above the floor: no top-up
    for _ in 0..3 {
        s.activities
            .push(activity("a-ssk", Some("09:30"), ActivityStatus::Open));
    }
    let got = score_now(&s, &w);
    assert_eq!(got.total, pts("31"));
    assert!(
        got.contributions
            .iter()
            .all(|c| c.parameter != Parameter::NewlyAdmittedFloor)
    );
    // long admitted: no floor at all
    s.admitted_at = t("09:00") - Duration::days(3);
    s.activities.clear();
    assert_eq!(score_now(&s, &w).total, Points::ZERO);
}

#[test]
fn adl_is_shown_never_scored() {
    let w = weights();
    let mut s = patient();
    s.activities
        .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
    let before = score_now(&s, &w);
    s.adl.push(AdlNeed {
        domain: AdlDomain::Hygiene,
        level: AdlLevel::FullHelp,
        assessed_at: t("07:00"),
    });
    s.adl.push(AdlNeed {
        domain: AdlDomain::EatingDrinking,
        level: AdlLevel::PartialHelp,
        assessed_at: t("07:00"),
    });
    assert_eq!(score_now(&s, &w), before);
}

#[test]
fn the_forecast_is_eight_consecutive_hours() {
    let w = weights();
    let mut s = patient();
    s.care_plans.push(CarePlan {
        category: "palliative".into(),
        source: None,
    });
    s.activities
        .push(activity("a-usk", Some("07:00"), ActivityStatus::Open)); // overdue: now only
    s.activities
        .push(activity("a-ssk", Some("12:30"), ActivityStatus::Open)); // in hour 4
    let hours = forecast(&s, &w, 8);
    let totals: Vec<Points> = hours.iter().map(|h| h.total).collect();
    assert_eq!(totals, ["3", "2", "2", "12", "2", "2", "2", "2"].map(pts).to_vec());
    for (i, h) in hours.iter().enumerate() {
        assert_eq!(h.window.start, t("09:00") + Duration::hours(i as i64));
        assert_eq!(h.window.minutes(), 60);
    }
    assert_eq!(hours[0], score_now(&s, &w));
    // an 8-hour window sums what the forecast spreads over hours
    let whole = score(&s, &w, Window::new(t("09:00"), t("17:00")).expect("window"));
    assert_eq!(whole.total, totals.iter().sum());
}

#[test]
fn windows_must_be_forward_and_at_most_a_week() {
    assert!(Window::new(t("09:00"), t("09:00")).is_err());
    assert!(Window::new(t("10:00"), t("09:00")).is_err());
    assert!(Window::new(t("09:00"), t("09:00") + Duration::days(8)).is_err());
    let w = Window::new(t("09:00"), t("09:20")).expect("20 minutes");
    assert_eq!(w.hours().milli(), 333);
}

#[test]
fn teams_wards_and_the_hospital_sum_their_patients() {
    let w = weights();
    let mut patients = Vec::new();
    for (ward, team, code) in [
        ("w1", Some("A"), "a-usk"),
        ("w1", Some("A"), "a-ssk"),
        ("w1", Some("B"), "a-usk"),
        ("w1", None, "a-ssk"),
        ("w2", Some("A"), "a-ssk"),
    ] {
        let mut s = patient();
        s.placement.ward = ward.into();
        s.placement.team = team.map(Into::into);
        s.activities.push(activity(code, Some("09:30"), ActivityStatus::Open));
        patients.push(s);
    }
    let scores: Vec<Score> = patients.iter().map(|s| score_now(s, &w)).collect();
    let r = rollup(patients.iter().zip(&scores));
    assert_eq!((r.hospital.patients, r.hospital.total), (5, pts("32")));
    assert_eq!(
        (r.hospital.professions.usk, r.hospital.professions.ssk),
        (pts("2"), pts("30"))
    );
    let w1 = &r.wards["w1"];
    assert_eq!((w1.totals.patients, w1.totals.total), (4, pts("22")));
    assert_eq!((w1.teams["A"].patients, w1.teams["A"].total), (2, pts("11")));
    assert_eq!(w1.teams["B"].total, pts("1"));
    assert_eq!(w1.teams[careload_scoring::aggregate::NO_TEAM].total, pts("10"));
    assert_eq!(w1.totals.components.basic_nursing, pts("2"));
    assert_eq!(r.wards["w2"].totals.total, pts("10"));
    // staff-hours with general factors USK 0.1, SSK 0.2 per point
    let (usk, ssk) = r.hospital.staff_hours(&w.staff_hours["general"]);
    assert_eq!((usk.milli(), ssk.milli()), (200, 6000));
}

#[test]
fn explanations_name_parameter_and_source() {
    let w = weights();
    let mut s = patient();
    s.activities
        .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
    s.outlying = true;
    let got = score_now(&s, &w);
    let lines = careload_scoring::explain::explain(&got, &s, &w);
    assert_eq!(lines.len(), got.contributions.len());
    assert_eq!(lines[0].parameter, "activities.codes.a-usk.walks");
    assert_eq!(lines[0].source, "activity a-usk due 2026-11-23 09:30Z (Task/1)");
    assert!(lines[1].parameter.starts_with("modifiers.outlier.multiplier"));
}

#[test]
fn scores_round_trip_through_json() {
    let w = weights();
    let mut s = patient();
    s.activities
        .push(activity("a-usk", Some("09:30"), ActivityStatus::Open));
    s.vitals.push(sick_vitals("08:30"));
    s.outlying = true;
    let got = score_now(&s, &w);
    let json = serde_json::to_string(&got).expect("json");
    let back: Score = serde_json::from_str(&json).expect("back");
    assert_eq!(back, got);
    let snap_json = serde_json::to_string(&s).expect("json");
    let snap_back: Snapshot = serde_json::from_str(&snap_json).expect("back");
    assert_eq!(snap_back, s);
}
