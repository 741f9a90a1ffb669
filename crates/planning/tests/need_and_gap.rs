//! The conversion of forecast points to staff-hours and people, the gap, the
//! verdict, the ward index and the bed coordinator, as tables of
//! hand-computed cases.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use careload_planning::need::{HourNeed, NeedLine, PatientForecast, ShiftNeed, shift_need};
use careload_planning::staffing::{PlannedStaffing, WardPlan};
use careload_planning::{
    AdmissionAssumption, AdmissionVerdict, ByProfession, Thresholds, Verdict, WardBeds, admissions, assess,
    forecast_hours_needed,
};
use careload_scoring::score::{Components, Split, Window};
use careload_scoring::shift::ShiftWindow;
use careload_scoring::snapshot::Profession;
use careload_scoring::weights::StaffHours;
use careload_scoring::{Points, Qty};
use chrono::{DateTime, Duration, NaiveDate, Utc};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

fn p(milli: i64) -> Points {
    Points::from_milli(milli)
}

fn q(milli: i64) -> Qty {
    Qty::from_milli(milli)
}

fn general() -> StaffHours {
    StaffHours {
        usk: q(130),
        ssk: q(140),
    }
}

fn shift(name: &str, start: &str, end: &str) -> ShiftWindow {
    ShiftWindow {
        name: name.into(),
        date: t(start).date_naive(),
        window: Window {
            start: t(start),
            end: t(end),
        },
    }
}

/// One forecast hour: USK points as basic nursing, SSK as specific nursing.
fn hour(start: DateTime<Utc>, usk: i64, ssk: i64) -> HourNeed {
    HourNeed {
        start,
        components: Components {
            basic_nursing: p(usk),
            specific_nursing: p(ssk),
            ..Components::default()
        },
        professions: Split {
            usk: p(usk),
            ssk: p(ssk),
        },
    }
}

/// A patient with hourly (USK, SSK) points from `first`.
fn patient(id: &str, team: &str, first: &str, hours: &[(i64, i64)]) -> PatientForecast {
    PatientForecast {
        id: id.into(),
        team: Some(team.into()),
        room: None,
        bed: None,
        hours: hours
            .iter()
            .enumerate()
            .map(|(i, &(u, s))| hour(t(first) + Duration::hours(i as i64), u, s))
            .collect(),
    }
}

#[test]
fn points_become_staff_hours_and_people() {
    struct Case {
        name: &'static str,
        shift: ShiftWindow,
        factors: StaffHours,
        patients: Vec<PatientForecast>,
        // expected: USK points, SSK points, USK h, SSK h, USK people, SSK people, extrapolated minutes (all ×1000)
        expected: [i64; 7],
    }
    let cases = [
        Case {
            // 8 × 5 = 40 USK p, 8 × 3 = 24 SSK p; 40 × 0.13 = 5.2 h, 24 × 0.14 = 3.36 h;
            // 5.2 / 8 = 0.65, 3.36 / 8 = 0.42 people
            name: "day shift fully forecast",
            shift: shift("day", "2026-01-15T06:00:00Z", "2026-01-15T14:00:00Z"),
            factors: general(),
            patients: vec![patient("p1", "A", "2026-01-15T06:00:00Z", &[(5000, 3000); 8])],
            expected: [40_000, 24_000, 5_200, 3_360, 650, 420, 0],
        },
        Case {
            // hours 15, 16, 17 forecast: 4+2+2 = 8 USK, 2+1+1 = 4 SSK; the other 3 h at the
            // mean of the hours after the first: (2+2)/2 = 2 USK, 1 SSK per hour → +6, +3.
            // 14 × 0.13 = 1.82 h → 1.82/6 = 0.30333 → 0.303; 7 × 0.14 = 0.98 h → 0.16333 → 0.163
            name: "evening shift partly forecast, rest extrapolated",
            shift: shift("evening", "2026-01-15T14:00:00Z", "2026-01-15T20:00:00Z"),
            factors: general(),
            patients: vec![patient(
                "p1",
                "A",
                "2026-01-15T14:00:00Z",
                &[(4000, 2000), (2000, 1000), (2000, 1000)],
            )],
            expected: [14_000, 7_000, 1_820, 980, 303, 163, 180],
        },
        Case {
            // shift 06:30–07:30: half of the 06:00 hour (2 → 1) and half of the 07:00 hour (4 → 2) = 3 USK;
            // 3 × 0.13 = 0.39 h over 1 h = 0.39 people
            name: "half-hour shift boundaries take part of an hour",
            shift: shift("odd", "2026-01-15T06:30:00Z", "2026-01-15T07:30:00Z"),
            factors: general(),
            patients: vec![patient("p1", "A", "2026-01-15T06:00:00Z", &[(2000, 0), (4000, 0)])],
            expected: [3_000, 0, 390, 0, 390, 0, 0],
        },
        Case {
            // two patients, 10-hour night, intermediate factors 0.15 / 0.17:
            // USK 10 × (1 + 2) = 30 p → 4.5 h → 0.45; SSK 10 × (0.5 + 1.5) = 20 p → 3.4 h → 0.34
            name: "night, two patients, intermediate care",
            shift: shift("night", "2026-01-15T20:00:00Z", "2026-01-16T06:00:00Z"),
            factors: StaffHours {
                usk: q(150),
                ssk: q(170),
            },
            patients: vec![
                patient("p1", "A", "2026-01-15T20:00:00Z", &[(1000, 500); 10]),
                patient("p2", "B", "2026-01-15T20:00:00Z", &[(2000, 1500); 10]),
            ],
            expected: [30_000, 20_000, 4_500, 3_400, 450, 340, 0],
        },
        Case {
            // a patient without forecast hours adds nothing
            name: "no forecast, no need",
            shift: shift("day", "2026-01-15T06:00:00Z", "2026-01-15T14:00:00Z"),
            factors: general(),
            patients: vec![patient("p1", "A", "2026-01-15T06:00:00Z", &[])],
            expected: [0, 0, 0, 0, 0, 0, 0],
        },
    ];
    for c in cases {
        let need = shift_need(&c.patients, &c.shift, c.factors);
        let w = &need.ward;
        let got = [
            w.professions.usk.milli(),
            w.professions.ssk.milli(),
            w.staff_hours.usk.milli(),
            w.staff_hours.ssk.milli(),
            w.people.usk.milli(),
            w.people.ssk.milli(),
            need.extrapolated_minutes,
        ];
        assert_eq!(got, c.expected, "{}", c.name);
        // components and professions agree; teams sum to the ward
        assert_eq!(w.components.basic_nursing, w.professions.usk, "{}", c.name);
        let team_total: i64 = need.teams.values().map(|t| t.total.milli()).sum();
        assert_eq!(team_total, w.total.milli(), "{}", c.name);
    }
}

#[test]
fn forecast_hours_needed_reaches_the_end_of_the_last_shift() {
    let next = shift("evening", "2026-01-15T14:00:00Z", "2026-01-15T20:00:00Z");
    let after = shift("night", "2026-01-15T20:00:00Z", "2026-01-16T06:00:00Z");
    // from 09:00 to 06:00 next day is 21 hours; from 09:30, 20.5 → 21
    assert_eq!(forecast_hours_needed(t("2026-01-15T09:00:00Z"), &[&next, &after]), 21);
    assert_eq!(forecast_hours_needed(t("2026-01-15T09:30:00Z"), &[&next, &after]), 21);
    assert_eq!(forecast_hours_needed(t("2026-01-16T07:00:00Z"), &[&next]), 0);
}

fn need_line(usk_people: i64, ssk_people: i64, shift_hours: i64) -> NeedLine {
    NeedLine {
        people: ByProfession {
            usk: q(usk_people),
            ssk: q(ssk_people),
        },
        staff_hours: ByProfession {
            usk: q(usk_people * shift_hours),
            ssk: q(ssk_people * shift_hours),
        },
        ..NeedLine::default()
    }
}

fn day() -> ShiftWindow {
    shift("day", "2026-11-24T06:00:00Z", "2026-11-24T14:00:00Z")
}

fn shift_need_of(line: NeedLine) -> ShiftNeed {
    ShiftNeed {
        shift: day(),
        shift_hours: Qty::whole(8),
        factors: general(),
        ward: line,
        teams: Default::default(),
        patients: vec![],
        extrapolated_minutes: 0,
    }
}

fn rows(usk: Option<(u32, u32)>, ssk: Option<(u32, u32)>) -> Vec<PlannedStaffing> {
    let date = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    [(Profession::Usk, usk), (Profession::Ssk, ssk)]
        .into_iter()
        .filter_map(|(profession, c)| {
            c.map(|(planned, absent)| PlannedStaffing {
                ward: "MED1".into(),
                team: None,
                date,
                shift: "day".into(),
                profession,
                planned,
                absent,
            })
        })
        .collect()
}

#[test]
fn gap_verdict_and_absence_flag() {
    // 8-hour day shift, default thresholds (understaffed below −0.5, spare from +1, margin 1).
    // columns: USK need people, (planned, absent) → gap people, gap hours, verdict, flag, people to add
    #[allow(clippy::type_complexity)]
    let cases: [(
        &str,
        i64,
        Option<(u32, u32)>,
        Option<i64>,
        Option<i64>,
        Verdict,
        bool,
        u32,
    ); 7] = [
        // 4 − 4.2 = −0.2 people; 32 − 33.6 = −1.6 h; within 0.5 → balanced
        (
            "slightly short",
            4_200,
            Some((4, 0)),
            Some(-200),
            Some(-1_600),
            Verdict::Balanced,
            false,
            0,
        ),
        // 4 − 4.6 = −0.6 < −0.5 → understaffed; one more person: −0.6 + 1 = 0.4 ≥ −0.5
        (
            "short",
            4_600,
            Some((4, 0)),
            Some(-600),
            Some(-4_800),
            Verdict::Understaffed,
            false,
            1,
        ),
        // 4 present − 2.5 = 1.5 ≥ 1 → spare; 2.5 < 5 − 1 → absence need not be replaced
        (
            "spare with absence",
            2_500,
            Some((5, 1)),
            Some(1_500),
            Some(12_000),
            Verdict::RoomToSpare,
            true,
            0,
        ),
        // 4 − 3.5 = 0.5 → balanced; 3.5 < 4 → flag
        (
            "balanced, absence covered",
            3_500,
            Some((5, 1)),
            Some(500),
            Some(4_000),
            Verdict::Balanced,
            true,
            0,
        ),
        // 4 − 4.2 = −0.2 → balanced; 4.2 ≥ 4 → the absence matters
        (
            "absence matters",
            4_200,
            Some((5, 1)),
            Some(-200),
            Some(-1_600),
            Verdict::Balanced,
            false,
            0,
        ),
        // 3 − 6.8 = −3.8 → understaffed; need k with −3.8 + k ≥ −0.5 → k = 3.3 → 4
        (
            "two absent, very short",
            6_800,
            Some((5, 2)),
            Some(-3_800),
            Some(-30_400),
            Verdict::Understaffed,
            false,
            4,
        ),
        ("no plan", 3_000, None, None, None, Verdict::NoPlan, false, 0),
    ];
    for (name, need, plan, gap_people, gap_hours, verdict, flag, add) in cases {
        let need = shift_need_of(need_line(need, 0, 8));
        let plan_rows = rows(plan, Some((1, 0)));
        let plan = WardPlan::from_rows(&plan_rows, "MED1", day().date, "day");
        let a = assess(&need, &plan, &Thresholds::default());
        let g = &a.ward.usk;
        assert_eq!(g.gap_people.map(Qty::milli), gap_people, "{name}");
        assert_eq!(g.gap_hours.map(Qty::milli), gap_hours, "{name}");
        assert_eq!(g.verdict, verdict, "{name}");
        assert_eq!(g.absence_need_not_be_replaced, flag, "{name}");
        assert_eq!(g.people_to_add, add, "{name}");
    }
}

#[test]
fn scope_verdict_combines_professions() {
    // (USK need, SSK need) against 4 USK and 2 SSK present
    let cases = [
        (4_000, 2_000, Verdict::Balanced),
        (2_000, 1_000, Verdict::RoomToSpare),
        (2_000, 2_800, Verdict::Understaffed),
        (2_000, 2_000, Verdict::Balanced),
    ];
    for (usk, ssk, verdict) in cases {
        let need = shift_need_of(need_line(usk, ssk, 8));
        let plan_rows = rows(Some((4, 0)), Some((2, 0)));
        let plan = WardPlan::from_rows(&plan_rows, "MED1", day().date, "day");
        assert_eq!(
            assess(&need, &plan, &Thresholds::default()).ward.verdict,
            verdict,
            "{usk} {ssk}"
        );
    }
}

#[test]
fn ward_index_is_points_per_person_present() {
    // 240 USK + 160 SSK = 400 p; 5 USK (1 absent of 6) + 3 SSK = 8 present over 8 h:
    // 400 / 8 = 50 p per person; 400 / 64 = 6.25 p per staff-hour; 240 / 5 = 48; 160 / 3 = 53.333
    let mut line = need_line(0, 0, 8);
    line.professions = Split {
        usk: Points::whole(240),
        ssk: Points::whole(160),
    };
    let need = shift_need_of(line);
    let plan_rows = rows(Some((6, 1)), Some((3, 0)));
    let plan = WardPlan::from_rows(&plan_rows, "MED1", day().date, "day");
    let index = assess(&need, &plan, &Thresholds::default()).ward.index;
    assert_eq!(index.points, Points::whole(400));
    assert_eq!(index.present, 8);
    assert_eq!(index.points_per_person, Some(Points::whole(50)));
    assert_eq!(index.points_per_staff_hour, Some(p(6_250)));
    assert_eq!(index.usk_points_per_person, Some(Points::whole(48)));
    assert_eq!(index.ssk_points_per_person, Some(p(53_333)));
    let nobody = WardPlan::default();
    assert_eq!(
        assess(&need, &nobody, &Thresholds::default())
            .ward
            .index
            .points_per_person,
        None
    );
}

#[test]
fn bed_coordinator_weighs_staff_not_only_beds() {
    // The admission adds 1.5 × 0.13 = 0.195 USK and 1.5 × 0.14 = 0.21 SSK people.
    let ward = |name: &str, beds: u32, usk_need: i64, ssk_need: i64, usk: Option<(u32, u32)>| {
        let need = shift_need_of(need_line(usk_need, ssk_need, 8));
        let plan_rows = rows(usk, Some((2, 0)));
        let plan = WardPlan::from_rows(&plan_rows, "MED1", day().date, "day");
        WardBeds {
            ward: name.into(),
            free_beds: beds,
            shifts: vec![assess(&need, &plan, &Thresholds::default())],
        }
    };
    let wards = [
        // USK 4 − 3 − 0.195 = 0.805; SSK 2 − 1.5 − 0.21 = 0.29 → can take, margin 0.29
        ward("B-ok", 1, 3_000, 1_500, Some((4, 0))),
        // USK 4 − 4.4 − 0.195 = −0.595 < −0.5 → strained although a bed is free
        ward("C-tight", 3, 4_400, 1_000, Some((4, 0))),
        // margin: USK 4 − 2 − 0.195 = 1.805, SSK 2 − 1 − 0.21 = 0.79 → 0.79: ranked before B-ok
        ward("D-roomy", 1, 2_000, 1_000, Some((4, 0))),
        // no free bed
        ward("A-full", 0, 1_000, 1_000, Some((4, 0))),
        // no USK planned
        ward("E-noplan", 2, 1_000, 1_000, None),
    ];
    let answers = admissions(&wards, &AdmissionAssumption::default(), &Thresholds::default());
    let got: Vec<(&str, AdmissionVerdict, Option<i64>)> = answers
        .iter()
        .map(|a| (a.ward.as_str(), a.verdict, a.margin_people.map(Qty::milli)))
        .collect();
    assert_eq!(
        got,
        vec![
            ("D-roomy", AdmissionVerdict::CanTake, Some(790)),
            ("B-ok", AdmissionVerdict::CanTake, Some(290)),
            ("E-noplan", AdmissionVerdict::Strained, Some(790)),
            ("C-tight", AdmissionVerdict::Strained, Some(-595)),
            ("A-full", AdmissionVerdict::NoFreeBed, Some(790)),
        ]
    );
    assert!(
        answers[3].reason.contains("saknas 0,6 USK under dagpasset"),
        "{}",
        answers[3].reason
    );
    assert!(
        answers[2].reason.contains("ingen USK är planerad"),
        "{}",
        answers[2].reason
    );
    assert!(answers[0].reason.starts_with("Kan ta emot"), "{}", answers[0].reason);
}

#[test]
fn the_coordinators_words_follow_the_margin_and_count_beds_in_swedish() {
    // The admission adds 0.195 USK and 0.21 SSK people; SSK 2 − 1 − 0.21 = 0.79 in every ward.
    let ward = |name: &str, beds: u32, usk_need: i64| {
        let need = shift_need_of(need_line(usk_need, 1_000, 8));
        let plan_rows = rows(Some((4, 0)), Some((2, 0)));
        let plan = WardPlan::from_rows(&plan_rows, "MED1", day().date, "day");
        WardBeds {
            ward: name.into(),
            free_beds: beds,
            shifts: vec![assess(&need, &plan, &Thresholds::default())],
        }
    };
    let wards = [
        // USK 4 − 4.105 − 0.195 = −0.3: within the understaffed threshold (0.5), so it can take,
        // but the staff does not suffice: it barely does
        ward("A-minus", 1, 4_105),
        // USK 4 − 3.505 − 0.195 = 0.3: above zero, near it
        ward("B-near", 2, 3_505),
        // USK 4 − 2 − 0.195 = 1.805, SSK 0.79: well above zero
        ward("C-roomy", 3, 2_000),
    ];
    let answers = admissions(&wards, &AdmissionAssumption::default(), &Thresholds::default());
    let reason = |ward: &str| {
        answers
            .iter()
            .find(|a| a.ward == ward)
            .map(|a| a.reason.clone())
            .expect("answered")
    };
    let minus = reason("A-minus");
    assert!(
        !minus.contains("personalen räcker") || minus.contains("personalen räcker knappt"),
        "a negative margin never says the staff suffices: {minus}"
    );
    assert!(
        minus.contains("räcker knappt") && minus.contains("−0,3 USK under dagpasset"),
        "{minus}"
    );
    assert!(!minus.contains("-0,3"), "the true minus sign: {minus}");
    let near = reason("B-near");
    assert!(near.contains("räcker knappt") && near.contains("0,3 USK"), "{near}");
    let roomy = reason("C-roomy");
    assert!(
        roomy.contains("personalen räcker även med en ny patient") && !roomy.contains("knappt"),
        "{roomy}"
    );
    // Swedish plurals, not "ledig(a) säng(ar)"
    assert!(minus.contains("1 ledig säng"), "{minus}");
    assert!(near.contains("2 lediga sängar"), "{near}");
    assert!(roomy.contains("3 lediga sängar"), "{roomy}");
    for a in &answers {
        assert!(!a.reason.contains("(a)") && !a.reason.contains("(ar)"), "{}", a.reason);
    }
}

#[test]
fn answers_serialise_to_json() {
    let need = shift_need_of(need_line(4_000, 2_000, 8));
    let plan_rows = rows(Some((4, 0)), Some((2, 0)));
    let plan = WardPlan::from_rows(&plan_rows, "MED1", day().date, "day");
    let json = serde_json::to_value(assess(&need, &plan, &Thresholds::default())).expect("json");
    assert_eq!(json["ward"]["verdict"], "balanced");
    assert_eq!(json["ward"]["usk"]["profession"], "USK");
}
