//! Scoring throughput: a 20,000-patient region with a realistic mix (about 20
//! to-do activities, 8 medication orders and 6 NEWS2 measurements per
//! patient), scored for "now", for the 8-hour forecast, and rolled up.
//!
//! Run with `cargo bench -p careload-scoring --bench score`; criterion reports
//! patient-scores per second as "elem/s". Target: ≥ 1,000,000 per second on
//! one core.

use std::hint::black_box;

use careload_scoring::news2::{Acvpu, Spo2Scale, Vitals};
use careload_scoring::snapshot::{
    Activity, ActivityStatus, CarePlan, Diagnosis, Dosing, EmotionalSupport, MedicationOrder, News2Observation, Norton,
    NortonActivity, Order, PatientKey, Placement, Route, Sex, Snapshot, SupportLevel, VitalSigns,
};
use careload_scoring::stored;
use careload_scoring::{Batch, Score, Weights, Window, forecast, rollup, score_now};
use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The allocator the `careload` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PATIENTS: usize = 20_000;
/// Snapshots parsed back from JSON per iteration.
const JSON_PATIENTS: usize = 2_000;
const DEFAULT: &str = include_str!("../../../weights/2026.1.toml");

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const CODES: &[&str] = &[
    "personal-hygiene",
    "shower",
    "dressing",
    "toileting",
    "mobilisation",
    "repositioning",
    "meal-assistance",
    "fluid-balance",
    "blood-glucose",
    "escort",
    "wound-care",
    "urinary-catheter",
    "peripheral-line",
    "drain-care",
    "tube-feeding",
    "pain-assessment",
    "discharge-planning",
    "patient-education",
];

fn patient(rng: &mut Rng, i: usize, as_of: DateTime<Utc>) -> Snapshot {
    let at = |m: i64| as_of + Duration::minutes(m);
    let activities = (0..16 + rng.below(9))
        .map(|_| Activity {
            code: (*rng.pick(CODES)).into(),
            due: Some(at(rng.below(24 * 60) as i64 - 12 * 60)),
            status: if rng.below(3) == 0 {
                ActivityStatus::Completed
            } else {
                ActivityStatus::Open
            },
            profession: None,
            source: Some(format!("Task/{i}-{}", rng.below(1000))),
        })
        .collect();
    let medications = (0..5 + rng.below(7))
        .map(|_| {
            let route = *rng.pick(&[
                Route::Oral,
                Route::Oral,
                Route::Oral,
                Route::Intravenous,
                Route::Subcutaneous,
            ]);
            let dosing = match rng.below(3) {
                0 => Dosing::PerDay {
                    times: 1 + rng.below(4) as u16,
                },
                1 => Dosing::At {
                    times: (0..3).map(|k| at(k * 480 + rng.below(60) as i64)).collect(),
                },
                _ => Dosing::AsNeeded,
            };
            MedicationOrder {
                route,
                dosing,
                source: Some(format!("MedicationRequest/{i}-{}", rng.below(1000))),
            }
        })
        .collect();
    let news2 = (0..4 + rng.below(5))
        .map(|k| News2Observation {
            at: at(-(k as i64) * 240 - rng.below(60) as i64),
            value: rng.below(10) as u8,
            source: None,
        })
        .collect();
    let vitals = vec![VitalSigns {
        at: at(-30),
        vitals: Vitals {
            respiration_rate: Some(12 + rng.below(14) as u16),
            spo2: Some(90 + rng.below(10) as u8),
            spo2_scale: Spo2Scale::Scale1,
            on_oxygen: Some(rng.below(4) == 0),
            systolic_bp: Some(95 + rng.below(60) as u16),
            pulse: Some(55 + rng.below(60) as u16),
            consciousness: Some(Acvpu::Alert),
            temperature: Some(36.0 + rng.below(30) as f64 / 10.0),
        },
        source: None,
    }];
    Snapshot {
        as_of,
        key: PatientKey(format!("{:064x}", rng.next())),
        sex: Sex::Female,
        birth_year: Some(1930 + rng.below(70) as i32),
        admitted_at: at(-(rng.below(14 * 24 * 60) as i64)),
        placement: Placement {
            ward: format!("ward-{}", i % 120),
            team: Some(format!("team-{}", i % 3)),
            room: Some(format!("{}", i % 30 / 2)),
            bed: Some(format!("{}", i % 30)),
        },
        specialty: None,
        outlying: rng.below(12) == 0,
        norton: Some(Norton {
            activity: *rng.pick(&NortonActivity::ALL),
            total: Some(14),
            assessed_at: at(-600),
        }),
        news2,
        vitals,
        emotional_support: Some(EmotionalSupport {
            level: *rng.pick(&SupportLevel::ALL[..3]),
            assessed_at: at(-700),
            source: None,
        }),
        activities,
        medications,
        orders: (0..rng.below(3))
            .map(|_| Order {
                category: (*rng.pick(&["lab-sample", "imaging", "ecg"])).into(),
                due: Some(at(rng.below(600) as i64)),
                source: None,
            })
            .collect(),
        care_plans: if rng.below(10) == 0 {
            vec![CarePlan {
                category: "palliative".into(),
                source: None,
            }]
        } else {
            Vec::new()
        },
        diagnoses: (0..rng.below(4))
            .map(|_| Diagnosis {
                code: (*rng.pick(&["F32.1", "I50.9", "J18.9", "E11.9", "F10.2"])).into(),
                source: None,
            })
            .collect(),
        adl: Vec::new(),
    }
}

fn region() -> Vec<Snapshot> {
    let as_of: DateTime<Utc> = "2026-11-23T09:05:00Z".parse().unwrap_or_default();
    let mut rng = Rng(0x5EED_CA4E_10AD);
    (0..PATIENTS).map(|i| patient(&mut rng, i, as_of)).collect()
}

fn bench(c: &mut Criterion) {
    let weights = Weights::from_toml(DEFAULT, "default").unwrap_or_else(|e| panic!("{e}"));
    let patients = region();

    let mut group = c.benchmark_group("region_20k");
    group.throughput(Throughput::Elements(PATIENTS as u64));
    group.bench_function("score_now", |b| {
        b.iter(|| {
            let scores: Vec<Score> = patients.iter().map(|p| score_now(black_box(p), &weights)).collect();
            black_box(scores)
        })
    });
    let mut batch = Batch::new();
    group.bench_function("batch_now", |b| {
        b.iter(|| {
            batch.clear();
            for p in &patients {
                batch.push(black_box(p), &weights, Window::hour(p.as_of));
            }
            black_box(batch.len())
        })
    });
    group.bench_function("forecast_8h", |b| {
        b.iter(|| {
            let n: usize = patients.iter().map(|p| forecast(black_box(p), &weights, 8).len()).sum();
            black_box(n)
        })
    });
    let scores: Vec<Score> = patients.iter().map(|p| score_now(p, &weights)).collect();
    group.bench_function("rollup", |b| b.iter(|| black_box(rollup(patients.iter().zip(&scores)))));
    group.finish();

    // What the back-test and the patient views pay per stored patient-hour:
    // the snapshot's JSON read back into a `Snapshot`.
    let stored: Vec<String> = patients[..JSON_PATIENTS]
        .iter()
        .map(|p| serde_json::to_string(p).unwrap_or_default())
        .collect();
    let mut group = c.benchmark_group("snapshot_json");
    group.throughput(Throughput::Elements(JSON_PATIENTS as u64));
    group.bench_function("parse_2k", |b| {
        b.iter(|| {
            let n = stored
                .iter()
                .filter(|s| serde_json::from_str::<Snapshot>(black_box(s)).is_ok())
                .count();
            assert_eq!(n, JSON_PATIENTS);
            n
        })
    });
    group.finish();

    // The same snapshots in the store's binary form (`careload_scoring::stored`).
    let binary: Vec<Vec<u8>> = patients[..JSON_PATIENTS].iter().map(stored::encode).collect();
    let mut group = c.benchmark_group("snapshot_stored");
    group.throughput(Throughput::Elements(JSON_PATIENTS as u64));
    group.bench_function("decode_2k", |b| {
        b.iter(|| {
            let n = binary.iter().filter(|s| stored::decode(black_box(s)).is_ok()).count();
            assert_eq!(n, JSON_PATIENTS);
            n
        })
    });
    group.bench_function("encode_2k", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            for p in &patients[..JSON_PATIENTS] {
                out.clear();
                stored::encode_into(black_box(p), &mut out);
            }
            out.len()
        })
    });
    group.finish();
    let json: usize = stored.iter().map(String::len).sum();
    let bin: usize = binary.iter().map(Vec::len).sum();
    println!("snapshot sizes over {JSON_PATIENTS}: JSON {json} bytes, stored {bin} bytes");
}

criterion_group!(benches, bench);
criterion_main!(benches);
