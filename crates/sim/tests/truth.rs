//! The simulator's hidden truth (issue 27): true minutes that differ from
//! the shipped weights, felt load per person, and the staff's ratings.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeMap;

use careload_sim::{Hospital, ShiftTruth, SimConfig, Truth};
use chrono::{DateTime, NaiveDate, Utc};

fn start() -> DateTime<Utc> {
    "2026-11-23T00:00:00Z".parse().unwrap()
}

fn first_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

fn hospital(seed: u64, truth: Truth, days: u32) -> Hospital {
    let mut h = Hospital::new(SimConfig {
        beds: 60,
        wards: Some(2),
        truth,
        ..SimConfig::new(seed, start())
    })
    .unwrap();
    h.advance_hours(days * 24);
    h
}

fn ward_ids(h: &Hospital) -> Vec<String> {
    h.stats().wards.into_iter().map(|w| w.id).collect()
}

/// One ward shift, both professions and every team together.
#[derive(Debug, Default)]
struct WardShift {
    present: u32,
    /// Σ present × (felt − optimum): what perfect knowledge predicts, times present.
    excess: f64,
    ratings: Vec<i8>,
}

fn ward_shifts(truths: &[ShiftTruth]) -> Vec<WardShift> {
    let mut by: BTreeMap<(NaiveDate, &str), WardShift> = BTreeMap::new();
    for t in truths {
        let s = by.entry((t.date, t.shift)).or_default();
        s.present += t.present;
        s.excess += t.true_minutes - t.optimum_minutes_per_person * f64::from(t.present);
        s.ratings.extend(&t.ratings);
    }
    by.into_values().filter(|s| s.present > 0).collect()
}

/// Weighted R² of `y` on `x`.
fn r_squared(x: &[f64], y: &[f64], w: &[f64]) -> f64 {
    let sw: f64 = w.iter().sum();
    let mx = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let my = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let (mut sxx, mut sxy, mut syy) = (0.0, 0.0, 0.0);
    for ((a, b), c) in x.iter().zip(y).zip(w) {
        sxx += c * (a - mx) * (a - mx);
        sxy += c * (a - mx) * (b - my);
        syy += c * (b - my) * (b - my);
    }
    sxy * sxy / (sxx * syy)
}

/// Weighted least squares of `y` on `x`: (intercept, slope).
fn line(x: &[f64], y: &[f64], w: &[f64]) -> (f64, f64) {
    let sw: f64 = w.iter().sum();
    let mx = x.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let my = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / sw;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for ((a, b), c) in x.iter().zip(y).zip(w) {
        sxx += c * (a - mx) * (a - mx);
        sxy += c * (a - mx) * (b - my);
    }
    let b = sxy / sxx;
    (my - b * mx, b)
}

/// Pearson's correlation.
fn correlation(x: &[f64], y: &[f64]) -> f64 {
    r_squared(x, y, &vec![1.0; x.len()]).sqrt() * line(x, y, &vec![1.0; x.len()]).1.signum()
}

/// Per ward shift: the truth's excess minutes per person and the mean rating.
fn excess_and_mean(shifts: &[WardShift]) -> (Vec<f64>, Vec<f64>) {
    shifts
        .iter()
        .filter(|s| !s.ratings.is_empty())
        .map(|s| {
            let mean = s.ratings.iter().map(|&r| f64::from(r)).sum::<f64>() / s.ratings.len() as f64;
            (s.excess / f64::from(s.present), mean)
        })
        .unzip()
}

#[test]
fn the_same_seed_gives_the_same_truth_and_ratings_whenever_asked() {
    let a = hospital(3, Truth::default(), 14);
    let b = hospital(3, Truth::default(), 14);
    let ward = &ward_ids(&a)[0];
    let csv = a.ratings_csv(ward, first_date(), 14);
    assert!(csv.lines().count() > 100, "{csv}");
    assert_eq!(csv, b.ratings_csv(ward, first_date(), 14));
    assert_eq!(
        a.shift_truths(ward, first_date(), 14),
        b.shift_truths(ward, first_date(), 14)
    );
    assert_ne!(
        csv,
        hospital(4, Truth::default(), 14).ratings_csv(ward, first_date(), 14)
    );
    // asked a week later, the same shifts' ratings are the same (the last
    // night, which had not ended, is there too now)
    let mut later = hospital(3, Truth::default(), 14);
    later.advance_hours(7 * 24);
    let again = later.ratings_csv(ward, first_date(), 14);
    assert!(again.starts_with(&csv) && again.len() > csv.len());
}

#[test]
fn about_three_in_four_of_those_present_rate_and_ratings_spread_over_the_scale() {
    let h = hospital(5, Truth::default(), 28);
    for ward in ward_ids(&h) {
        let truths = h.shift_truths(&ward, first_date(), 28);
        let present: u32 = truths.iter().map(|t| t.present).sum();
        let ratings: usize = truths.iter().map(|t| t.ratings.len()).sum();
        let rate = ratings as f64 / f64::from(present);
        assert!((0.72..=0.78).contains(&rate), "{ward}: response rate {rate}");
        let mut hist = [0usize; 7];
        for t in &truths {
            for &r in &t.ratings {
                hist[usize::try_from(r + 3).unwrap()] += 1;
            }
        }
        // spread on both sides of 0 up to the ends, none holds most ratings,
        // the mean is inside
        let below: usize = hist[..3].iter().sum();
        let above: usize = hist[4..].iter().sum();
        assert!(below * 8 > ratings && above * 8 > ratings, "{ward}: {hist:?}");
        assert!(hist[0] + hist[1] > 0 && hist[6] > 0, "{ward}: {hist:?}");
        assert!(hist.iter().all(|&n| n * 2 < ratings), "{ward}: {hist:?}");
        let mean = hist
            .iter()
            .enumerate()
            .map(|(i, &n)| (i as f64 - 3.0) * n as f64)
            .sum::<f64>()
            / ratings as f64;
        assert!(mean.abs() < 1.0, "{ward}: mean rating {mean}");
    }
}

#[test]
fn the_truth_differs_from_the_shipped_weights() {
    // the truth's tables start from the shipped weights' points…
    let weights =
        careload_scoring::Weights::from_toml(include_str!("../../../weights/2026.1.toml"), "weights/2026.1.toml")
            .unwrap();
    for a in &weights.activities {
        let (points, profession) = careload_sim::truth::shipped_activity(&a.code).unwrap();
        let shipped: Vec<f64> = a.points.iter().map(|p| p.as_f64()).collect();
        assert_eq!(shipped, points.to_vec(), "{}", a.code);
        assert_eq!(format!("{:?}", a.profession).to_uppercase(), profession, "{}", a.code);
    }
    // …and prices the components differently from six minutes a point
    let f = careload_sim::Factors::default();
    assert!(f.medications >= 1.5 && f.specific_nursing >= 1.3, "{f:?}");
    assert!(
        f.basic_nursing <= 0.8 && f.care_plans <= 0.6 && f.diagnoses <= 0.6,
        "{f:?}"
    );
    // so true and nominal minutes differ, and by shift: nights are dearer in
    // the weights than in truth, days cheaper
    let h = hospital(7, Truth::default(), 28);
    let ward = &ward_ids(&h)[0];
    let truths = h.shift_truths(ward, first_date(), 28);
    let ratio = |shift: &str| {
        let t: f64 = truths.iter().filter(|t| t.shift == shift).map(|t| t.true_minutes).sum();
        let n: f64 = truths
            .iter()
            .filter(|t| t.shift == shift)
            .map(|t| t.nominal_minutes)
            .sum();
        t / n
    };
    assert!(ratio("day") > 1.0, "day {}", ratio("day"));
    assert!(ratio("night") < 0.9, "night {}", ratio("night"));
}

#[test]
fn ratings_follow_the_load_and_without_signal_they_do_not() {
    let with = hospital(9, Truth::default(), 28);
    let without = hospital(
        9,
        Truth {
            signal: false,
            ..Truth::default()
        },
        28,
    );
    for ward in ward_ids(&with) {
        let (x, y) = excess_and_mean(&ward_shifts(&with.shift_truths(&ward, first_date(), 28)));
        let r = correlation(&x, &y);
        assert!(r > 0.8, "{ward}: with signal r = {r}");
        let (x, y) = excess_and_mean(&ward_shifts(&without.shift_truths(&ward, first_date(), 28)));
        let r = correlation(&x, &y);
        assert!(r.abs() < 0.15, "{ward}: without signal r = {r}");
    }
}

#[test]
fn shifts_not_yet_ended_or_begun_before_the_start_have_no_truth() {
    // starts at 00:00 UTC = 01:00 local: the night that began at 21:00 is not whole
    let mut h = hospital(2, Truth::default(), 0);
    let ward = ward_ids(&h)[0].clone();
    let before = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    // 15:00 UTC = 16:00 local: the day shift (07–15) has ended, the evening has not
    h.advance_hours(15);
    let truths = h.shift_truths(&ward, before, 3);
    let shifts: Vec<(NaiveDate, &str)> = truths.iter().map(|t| (t.date, t.shift)).collect();
    assert!(shifts.iter().all(|&s| s == (first_date(), "day")), "{shifts:?}");
    assert!(!shifts.is_empty());
    let csv = h.ratings_csv(&ward, before, 3);
    assert!(csv.lines().skip(1).all(|l| l.starts_with("2026-11-23;day;")), "{csv}");
    // once the evening has ended it is there too
    h.advance_hours(5);
    assert!(
        h.shift_truths(&ward, first_date(), 1)
            .iter()
            .any(|t| t.shift == "evening")
    );
}

#[test]
fn the_ratings_csv_is_the_paper_imports_format() {
    let h = hospital(6, Truth::default(), 3);
    let ward = &ward_ids(&h)[0];
    let csv = h.ratings_csv(ward, first_date(), 3);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("date;shift;team;profession;rating"));
    let teams: Vec<String> = h
        .shift_truths(ward, first_date(), 1)
        .into_iter()
        .filter_map(|t| t.team)
        .collect();
    for line in lines {
        let f: Vec<&str> = line.split(';').collect();
        assert_eq!(f.len(), 5, "{line}");
        assert!(f[0].parse::<NaiveDate>().is_ok(), "{line}");
        assert!(["day", "evening", "night"].contains(&f[1]), "{line}");
        // the night is planned for the whole ward, the others per team
        assert_eq!(f[2].is_empty(), f[1] == "night", "{line}");
        assert!(f[2].is_empty() || teams.iter().any(|t| t == f[2]), "{line}");
        assert!(["USK", "SSK"].contains(&f[3]), "{line}");
        assert!(
            ["\u{2212}3", "\u{2212}2", "\u{2212}1", "0", "+1", "+2", "+3"].contains(&f[4]),
            "{line}"
        );
    }
}
