//! The refit of the weights' component scales to the staff's ratings (issue
//! 27, `careload weights fit`): known scales recovered from synthetic wards,
//! bounds and non-negativity, the renormalisation, no change on pure noise
//! or too little data, and the pull toward the weights in force.

use careload_planning::calibration::CalibrationRules;
use careload_planning::refit::{COMPONENTS, FitBounds, FitShift, NoChange, ScaleFit, fit_scales};
use careload_scoring::Points;
use careload_scoring::score::Component;
use chrono::{Days, NaiveDate};

/// SplitMix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(1e-12);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// Mean and spread of each component's points per person, in `Component::ALL`
/// order: medications, orders, basic, specific, NEWS2, emotional support,
/// care plans, diagnoses, modifiers.
const LOAD: [(f64, f64); COMPONENTS] = [
    (4.0, 1.5),
    (1.5, 0.8),
    (10.0, 3.0),
    (6.0, 2.0),
    (2.0, 1.0),
    (1.5, 1.0),
    (2.0, 1.0),
    (0.5, 0.2),
    (0.5, 0.3),
];

/// A simulated hospital.
struct Sim {
    wards: usize,
    weeks: u64,
    /// The staff's true scales of each component.
    truth: [f64; COMPONENTS],
    /// Rise of the felt rating per true point per person.
    slope: f64,
    /// One rater's noise (rating steps); the mean of n has σ/√n.
    sigma: f64,
    /// Ratings per shift (staff present: 7).
    ratings: u32,
    /// Ratings that are pure noise, with no load in them.
    noise_only: bool,
    seed: u64,
}

const SIM: Sim = Sim {
    wards: 3,
    weeks: 8,
    truth: [1.0, 1.0, 1.6, 0.6, 1.0, 2.0, 1.0, 1.0, 1.0],
    slope: 0.15,
    sigma: 0.8,
    ratings: 5,
    noise_only: false,
    seed: 27,
};

fn shifts(sim: &Sim) -> Vec<FitShift> {
    let mut rng = Rng(sim.seed);
    let start = NaiveDate::from_ymd_opt(2026, 9, 7).unwrap_or_default(); // a Monday, ISO week 37
    let mut out = Vec::new();
    for ward in 0..sim.wards {
        // each ward its own optimum: a different intercept
        let optimum = 22.0 + 3.0 * ward as f64;
        for day in 0..sim.weeks * 7 {
            let date = start.checked_add_days(Days::new(day)).unwrap_or(start);
            for _shift in 0..3 {
                let mut components = [Points::ZERO; COMPONENTS];
                let mut felt = 0.0;
                for (c, &(mean, sd)) in components.iter_mut().zip(&LOAD) {
                    let v = (mean + sd * rng.normal()).max(0.0);
                    *c = Points::from_milli((v * 1000.0).round() as i64);
                }
                for (c, t) in components.iter().zip(&sim.truth) {
                    felt += c.as_f64() * t;
                }
                let signal = if sim.noise_only {
                    0.0
                } else {
                    sim.slope * (felt - optimum)
                };
                let noise = sim.sigma / f64::from(sim.ratings).sqrt() * rng.normal();
                out.push(FitShift {
                    ward: format!("w{ward}"),
                    date,
                    components,
                    staff_present: 7,
                    ratings: sim.ratings,
                    mean_rating: signal + noise,
                });
            }
        }
    }
    out
}

/// The truth renormalised as the fit renormalises: same mean points per person.
fn renormalised_truth(shifts: &[FitShift], truth: &[f64; COMPONENTS]) -> [f64; COMPONENTS] {
    let mut means = [0.0; COMPONENTS];
    for s in shifts {
        for (m, p) in means.iter_mut().zip(&s.components) {
            *m += p.as_f64() / shifts.len() as f64;
        }
    }
    let before: f64 = means.iter().sum();
    let after: f64 = means.iter().zip(truth).map(|(m, t)| m * t).sum();
    let mut out = *truth;
    for t in &mut out {
        *t *= before / after;
    }
    out
}

fn rules() -> CalibrationRules {
    CalibrationRules::default()
}

fn codes(fit: &ScaleFit) -> Vec<&'static str> {
    fit.reasons.iter().map(NoChange::code).collect()
}

#[test]
fn known_scales_are_recovered_and_proposed() {
    let data = shifts(&SIM);
    let fit = fit_scales(&data, &rules(), &FitBounds::default());
    let truth = renormalised_truth(&data, &SIM.truth);
    let got = fit.scale_array();
    // the components with much spread within 10 %, those with less within 25 %
    for (c, tolerance) in [(0, 0.10), (2, 0.10), (3, 0.10), (4, 0.25), (5, 0.25), (6, 0.25)] {
        let rel = (got[c] - truth[c]).abs() / truth[c];
        assert!(
            rel < tolerance,
            "{:?}: fitted {:.3}, truth {:.3} (all: {got:?})",
            Component::ALL[c],
            got[c],
            truth[c]
        );
    }
    assert!(fit.proposes_change, "{:?}", fit.reasons);
    assert!(fit.reasons.is_empty());
    assert_eq!(fit.held_out.len(), 2);
    for h in &fit.held_out {
        let (a, b) = (
            h.r_squared.in_force.unwrap_or(1.0),
            h.r_squared.candidate.unwrap_or(0.0),
        );
        assert!(
            b > a + 0.02,
            "held out {:?}: in force {a:.3}, candidate {b:.3}",
            h.fitted_on
        );
    }
    assert_eq!(fit.wards.len(), 3);
    assert_eq!(fit.shifts, 3 * 8 * 21);
    assert_eq!(fit.weeks, 8);
    assert!(fit.slope_in_force.is_some_and(|b| b > 0.0));
}

#[test]
fn scales_are_renormalised_to_the_same_mean_points() {
    let data = shifts(&SIM);
    let fit = fit_scales(&data, &rules(), &FitBounds::default());
    let before: f64 = fit.scales.iter().map(|s| s.mean_points_per_person).sum();
    let after: f64 = fit.scales.iter().map(|s| s.mean_points_per_person * s.scale).sum();
    assert!((before - after).abs() < 1e-6 * before, "{before} vs {after}");
    assert!(fit.scales.iter().any(|s| (s.scale - 1.0).abs() > 0.2));
}

#[test]
fn bounds_and_non_negativity_hold() {
    // a component the staff feel as lightening the load, one they feel ten-fold
    let sim = Sim {
        truth: [1.0, 1.0, 10.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        ..SIM
    };
    let data = shifts(&sim);
    let fit = fit_scales(&data, &rules(), &FitBounds::default());
    for s in &fit.scales {
        assert!(
            (0.25 - 1e-9..=4.0 + 1e-9).contains(&s.scale),
            "{:?} {}",
            s.component,
            s.scale
        );
    }
    let got = fit.scale_array();
    assert!(got[2] > got[0], "basic nursing counts more: {got:?}");
    // with the council's own narrower bounds, and a zero minimum
    let bounds = FitBounds {
        min_scale: 0.0,
        max_scale: 2.0,
        ..FitBounds::default()
    };
    let fit = fit_scales(&data, &rules(), &bounds);
    for s in &fit.scales {
        assert!(s.scale >= 0.0 && s.scale <= 2.0 + 1e-9, "{:?} {}", s.component, s.scale);
    }
    assert!(
        fit.scale_array()[3] < 0.05,
        "felt as lightening: as low as allowed, {:?}",
        fit.scale_array()
    );
    for h in &fit.held_out {
        assert!(h.scales.iter().all(|s| (0.0..=2.0 + 1e-9).contains(s)));
    }
}

#[test]
fn pure_noise_proposes_no_change() {
    for seed in [1, 2, 3, 4, 5] {
        let sim = Sim {
            noise_only: true,
            seed,
            ..SIM
        };
        let fit = fit_scales(&shifts(&sim), &rules(), &FitBounds::default());
        assert!(!fit.proposes_change, "seed {seed}: {fit:?}");
        let codes = codes(&fit);
        assert!(
            codes.contains(&"not_better_held_out") || codes.contains(&"slope_not_positive"),
            "seed {seed}: {codes:?}"
        );
        for r in &fit.reasons {
            assert!(!r.sv().is_empty());
            assert!(!r.sv().contains('-'), "the true minus sign: {}", r.sv());
        }
    }
}

#[test]
fn too_little_data_proposes_no_change_and_says_why() {
    let sim = Sim {
        weeks: 2,
        wards: 1,
        ratings: 2,
        ..SIM
    };
    let fit = fit_scales(&shifts(&sim), &rules(), &FitBounds::default());
    assert!(!fit.proposes_change);
    let codes = codes(&fit);
    assert!(codes.contains(&"too_few_weeks"), "{codes:?}");
    assert!(codes.contains(&"low_response_rate"), "2 of 7: {codes:?}");
    let empty = fit_scales(&[], &rules(), &FitBounds::default());
    assert!(!empty.proposes_change);
    assert_eq!(empty.scale_array(), [1.0; COMPONENTS]);
    assert!(codes_of(&empty).contains(&"too_few_shifts"));
}

fn codes_of(fit: &ScaleFit) -> Vec<&'static str> {
    codes(fit)
}

#[test]
fn the_pull_keeps_scales_near_one_with_little_data() {
    // two weeks of one ward, two ratings a shift: little evidence
    let sim = Sim {
        weeks: 2,
        wards: 1,
        ratings: 2,
        ..SIM
    };
    let data = shifts(&sim);
    let distance = |fit: &ScaleFit| fit.scale_array().iter().map(|s| (s - 1.0).abs()).fold(0.0, f64::max);
    let free = fit_scales(
        &data,
        &rules(),
        &FitBounds {
            pull: 0.0,
            ..FitBounds::default()
        },
    );
    let pulled = fit_scales(&data, &rules(), &FitBounds::default());
    assert!(
        distance(&pulled) < distance(&free),
        "pulled {:?} vs free {:?}",
        pulled.scale_array(),
        free.scale_array()
    );
    let held = fit_scales(
        &data,
        &rules(),
        &FitBounds {
            pull: 1e9,
            ..FitBounds::default()
        },
    );
    assert!(distance(&held) < 1e-3, "{:?}", held.scale_array());
    // and with much data the same pull hardly matters
    let many = shifts(&SIM);
    let a = fit_scales(&many, &rules(), &FitBounds::default()).scale_array();
    let b = fit_scales(
        &many,
        &rules(),
        &FitBounds {
            pull: 0.0,
            ..FitBounds::default()
        },
    )
    .scale_array();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 0.1, "{a:?} vs {b:?}");
    }
}

#[test]
fn each_ward_has_its_own_intercept() {
    // the same loads, one ward rating everything 2 steps heavier: the scales do not move
    let data = shifts(&SIM);
    let shifted: Vec<FitShift> = data
        .iter()
        .map(|s| FitShift {
            mean_rating: if s.ward == "w1" {
                s.mean_rating + 2.0
            } else {
                s.mean_rating
            },
            ..s.clone()
        })
        .collect();
    let a = fit_scales(&data, &rules(), &FitBounds::default()).scale_array();
    let b = fit_scales(&shifted, &rules(), &FitBounds::default()).scale_array();
    for (x, y) in a.iter().zip(&b) {
        assert!((x - y).abs() < 1e-9, "{a:?} vs {b:?}");
    }
}

#[test]
fn scales_round_to_two_decimals_and_never_below_zero() {
    use careload_scoring::Qty;
    let s = careload_planning::refit::rounded_scales(&[1.234, 0.005, -1.0, f64::NAN, 4.0, 1.0, 1.0, 1.0, 0.996]);
    assert_eq!(s[0], Qty::from_milli(1_230));
    assert_eq!(s[1], Qty::from_milli(10));
    assert_eq!(s[2], Qty::ZERO);
    assert_eq!(s[3], Qty::ONE);
    assert_eq!(s[8], Qty::ONE);
}
