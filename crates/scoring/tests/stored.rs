//! The stored (binary) form of a snapshot: every field of every type reads
//! back exactly, and bytes that are not a stored snapshot give an error,
//! never a panic.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test helpers may panic with a message

use careload_scoring::news2::{Acvpu, Spo2Scale, Vitals};
use careload_scoring::snapshot::{
    Activity, ActivityStatus, AdlDomain, AdlLevel, AdlNeed, CarePlan, Diagnosis, Dosing, EmotionalSupport,
    MedicationOrder, News2Observation, Norton, NortonActivity, Order, PatientKey, Placement, Profession, Route, Sex,
    Snapshot, SupportLevel, VitalSigns,
};
use careload_scoring::stored::{self, MAGIC, VERSION};
use chrono::{DateTime, Utc};
use proptest::prelude::*;

/// Any instant chrono holds, to the nanosecond.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    prop_oneof![
        // around now, whole seconds (what the ingest writes)
        (1_700_000_000i64..1_900_000_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        // anywhere, with a fraction
        (-8_000_000_000_000i64..8_000_000_000_000, 0u32..1_000_000_000)
            .prop_map(|(s, n)| DateTime::from_timestamp(s, n).unwrap()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-z0-9/,-]{1,60}", "\\PC{0,12}"]
}

fn source() -> impl Strategy<Value = Option<String>> {
    prop::option::of(text())
}

fn one_of<T: Copy + std::fmt::Debug + 'static>(all: &'static [T]) -> impl Strategy<Value = T> {
    prop::sample::select(all)
}

fn vitals() -> impl Strategy<Value = VitalSigns> {
    let values = (
        prop::option::of(any::<u16>()),
        prop::option::of(any::<u8>()),
        one_of(&[Spo2Scale::Scale1, Spo2Scale::Scale2]),
        prop::option::of(any::<bool>()),
        prop::option::of(any::<u16>()),
        prop::option::of(any::<u16>()),
        prop::option::of(one_of(&[
            Acvpu::Alert,
            Acvpu::NewConfusion,
            Acvpu::Voice,
            Acvpu::Pain,
            Acvpu::Unresponsive,
        ])),
        // finite: NaN is never equal to itself
        prop::option::of(prop::num::f64::NORMAL | prop::num::f64::ZERO | prop::num::f64::SUBNORMAL),
    );
    (instant(), values, source()).prop_map(|(at, (rr, spo2, scale, o2, sbp, hr, acvpu, temp), source)| VitalSigns {
        at,
        vitals: Vitals {
            respiration_rate: rr,
            spo2,
            spo2_scale: scale,
            on_oxygen: o2,
            systolic_bp: sbp,
            pulse: hr,
            consciousness: acvpu,
            temperature: temp,
        },
        source,
    })
}

fn dosing() -> impl Strategy<Value = Dosing> {
    prop_oneof![
        prop::collection::vec(instant(), 0..6).prop_map(|times| Dosing::At { times }),
        any::<u16>().prop_map(|times| Dosing::PerDay { times }),
        Just(Dosing::AsNeeded),
    ]
}

fn activity() -> impl Strategy<Value = Activity> {
    (
        text(),
        prop::option::of(instant()),
        one_of(&[
            ActivityStatus::Open,
            ActivityStatus::Completed,
            ActivityStatus::Cancelled,
        ]),
        prop::option::of(one_of(&Profession::ALL)),
        source(),
    )
        .prop_map(|(code, due, status, profession, source)| Activity {
            code: code.into(),
            due,
            status,
            profession,
            source,
        })
}

fn adl() -> impl Strategy<Value = AdlNeed> {
    (
        one_of(&[
            AdlDomain::Hygiene,
            AdlDomain::EatingDrinking,
            AdlDomain::Dressing,
            AdlDomain::Toileting,
            AdlDomain::Mobility,
        ]),
        one_of(&[AdlLevel::Independent, AdlLevel::PartialHelp, AdlLevel::FullHelp]),
        instant(),
    )
        .prop_map(|(domain, level, assessed_at)| AdlNeed {
            domain,
            level,
            assessed_at,
        })
}

/// Every field, every variant, present and absent.
fn snapshot() -> impl Strategy<Value = Snapshot> {
    let who = (
        (
            instant(),
            text(),
            one_of(&[Sex::Female, Sex::Male, Sex::Other, Sex::Unknown]),
        ),
        (prop::option::of(any::<i32>()), instant()),
        (text(), source(), source(), source()),
        (source(), any::<bool>()),
    );
    let assessments = (
        prop::option::of((one_of(&NortonActivity::ALL), prop::option::of(any::<u8>()), instant())),
        prop::option::of((one_of(&SupportLevel::ALL), instant(), source())),
        prop::collection::vec((instant(), any::<u8>(), source()), 0..5),
        prop::collection::vec(vitals(), 0..4),
    );
    let care = (
        prop::collection::vec(activity(), 0..12),
        prop::collection::vec((one_of(&Route::ALL), dosing(), source()), 0..6),
        prop::collection::vec((text(), prop::option::of(instant()), source()), 0..4),
        prop::collection::vec((text(), source()), 0..3),
        prop::collection::vec((text(), source()), 0..4),
        prop::collection::vec(adl(), 0..6),
    );
    (who, assessments, care).prop_map(
        |(
            ((as_of, key, sex), (birth_year, admitted_at), (ward, team, room, bed), (specialty, outlying)),
            (norton, support, news2, vitals),
            (activities, meds, orders, plans, dx, adl),
        )| Snapshot {
            as_of,
            key: PatientKey(key),
            sex,
            birth_year,
            admitted_at,
            placement: Placement { ward, team, room, bed },
            specialty,
            outlying,
            norton: norton.map(|(activity, total, assessed_at)| Norton {
                activity,
                total,
                assessed_at,
            }),
            news2: news2
                .into_iter()
                .map(|(at, value, source)| News2Observation { at, value, source })
                .collect(),
            vitals,
            emotional_support: support.map(|(level, assessed_at, source)| EmotionalSupport {
                level,
                assessed_at,
                source,
            }),
            activities,
            medications: meds
                .into_iter()
                .map(|(route, dosing, source)| MedicationOrder { route, dosing, source })
                .collect(),
            orders: orders
                .into_iter()
                .map(|(category, due, source)| Order {
                    category: category.into(),
                    due,
                    source,
                })
                .collect(),
            care_plans: plans
                .into_iter()
                .map(|(category, source)| CarePlan {
                    category: category.into(),
                    source,
                })
                .collect(),
            diagnoses: dx
                .into_iter()
                .map(|(code, source)| Diagnosis {
                    code: code.into(),
                    source,
                })
                .collect(),
            adl,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn a_snapshot_reads_back_from_its_stored_form(s in snapshot()) {
        let bytes = stored::encode(&s);
        prop_assert!(stored::is_binary(&bytes));
        prop_assert_eq!(stored::decode(&bytes), Ok(s));
    }

    /// Every proper prefix is refused: nothing reads as a shorter snapshot.
    #[test]
    fn a_truncated_snapshot_is_refused(s in snapshot(), cut in any::<prop::sample::Index>()) {
        let bytes = stored::encode(&s);
        let n = cut.index(bytes.len());
        prop_assert!(stored::decode(&bytes[..n]).is_err());
    }

    /// Corrupt bytes give an error or some snapshot, never a panic.
    #[test]
    fn corrupt_bytes_never_panic(s in snapshot(), at in any::<prop::sample::Index>(), with in any::<u8>()) {
        let mut bytes = stored::encode(&s);
        let i = at.index(bytes.len());
        bytes[i] = with;
        let _ = stored::decode(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = stored::decode(&bytes);
        bytes.splice(0..0, [MAGIC, VERSION]);
        let _ = stored::decode(&bytes);
    }
}

fn sample() -> Snapshot {
    let json = include_str!("../../../examples/ward-snapshot.json");
    let all: Vec<Snapshot> = serde_json::from_str(json).expect("examples/ward-snapshot.json");
    all.into_iter().next().expect("a snapshot")
}

#[test]
fn the_stored_form_is_smaller_than_json_and_says_what_is_wrong() {
    let s = sample();
    let bytes = stored::encode(&s);
    let json = serde_json::to_vec(&s).unwrap();
    assert!(
        bytes.len() * 2 < json.len(),
        "{} bytes stored, {} as JSON",
        bytes.len(),
        json.len()
    );

    let err = stored::decode(b"{\"as_of\":1}").unwrap_err();
    assert_eq!(err.offset, 0);
    assert!(err.to_string().contains("is not a stored snapshot's"), "{err}");

    let mut newer = bytes.clone();
    newer[1] = VERSION + 1;
    let err = stored::decode(&newer).unwrap_err();
    assert!(err.to_string().contains("upgrade careload"), "{err}");

    let mut longer = bytes.clone();
    longer.push(0);
    let err = stored::decode(&longer).unwrap_err();
    assert!(err.to_string().contains("1 bytes left over"), "{err}");

    assert!(stored::decode(&[]).unwrap_err().to_string().contains("ends early"));
}
