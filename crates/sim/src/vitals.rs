//! Raw vital signs consistent with a chosen NEWS2 total.
//!
//! The simulator decides a patient's NEWS2 first (a trajectory) and then
//! draws a set of vital signs that scores exactly that total under the RCP
//! 2017 chart: the points are spread over the parameters, then each value is
//! drawn from inside its parameter's band. The scoring crate's `news2` is the
//! independent check (see the crate's tests).

use crate::rng::Rng;

/// One set of vital signs as charted.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Vitals {
    /// Breaths per minute.
    pub(crate) rr: u16,
    /// SpO₂, percent.
    pub(crate) spo2: u8,
    /// On supplemental oxygen.
    pub(crate) on_oxygen: bool,
    /// Systolic blood pressure, mmHg.
    pub(crate) sbp: u16,
    /// Diastolic blood pressure, mmHg.
    pub(crate) dbp: u16,
    /// Pulse, beats per minute.
    pub(crate) pulse: u16,
    /// Index into A, C, V, P, U.
    pub(crate) acvpu: usize,
    /// Temperature in tenths of a degree Celsius.
    pub(crate) temp_tenths: i16,
}

const RR: usize = 0;
const SPO2: usize = 1;
const OXYGEN: usize = 2;
const SBP: usize = 3;
const PULSE: usize = 4;
const ACVPU: usize = 5;
const TEMP: usize = 6;

/// Vital signs scoring `total` (0–20) on the given SpO₂ scale, and whether a
/// single parameter scored 3 (which makes the RCP frequency hourly).
pub(crate) fn vitals_for(total: u8, scale2: bool, rng: &mut Rng) -> (Vitals, bool) {
    let mut pts = [0u8; 7];
    let mut remaining = total.min(20);
    let oxygen_share = match remaining {
        0..=2 => 0.0,
        3..=4 => 0.15,
        5..=6 => 0.5,
        _ => 0.7,
    };
    if remaining >= 2 && rng.bernoulli(oxygen_share) {
        pts[OXYGEN] = 2;
        remaining -= 2;
    }
    if remaining >= 3 && total >= 7 && rng.bernoulli(0.15) {
        pts[ACVPU] = 3;
        remaining -= 3;
    }
    // Below 5 a single 3 is uncommon: it would make monitoring hourly.
    let cap = if total >= 5 || rng.bernoulli(0.05) { 3 } else { 2 };
    let pick_weights = [3.0, 3.0, 0.0, 1.5, 3.0, 0.0, 2.0];
    while remaining > 0 {
        let weights: Vec<f64> = (0..7)
            .map(|i| if pts[i] < cap { pick_weights[i] } else { 0.0 })
            .collect();
        if weights.iter().all(|w| *w == 0.0) {
            // Every open parameter is at the cap: lift the cap (only reachable
            // for totals above what the cap allows).
            if let Some(i) = [RR, SPO2, SBP, PULSE, TEMP].into_iter().find(|&i| pts[i] < 3) {
                pts[i] += 1;
                remaining -= 1;
                continue;
            }
            break;
        }
        let i = rng.weighted(&weights);
        pts[i] += 1;
        remaining -= 1;
    }
    let single_three = pts.contains(&3);
    let pick = |rng: &mut Rng, lo: i64, hi: i64| rng.range(lo, hi);
    let rr = match pts[RR] {
        0 => pick(rng, 12, 20),
        1 => pick(rng, 9, 11),
        2 => pick(rng, 21, 24),
        _ if rng.bernoulli(0.9) => pick(rng, 25, 32),
        _ => pick(rng, 6, 8),
    } as u16;
    let spo2 = if scale2 {
        // Scale 2: 88–92 scores 0 on air or oxygen; below that the same
        // points on air or oxygen.
        match pts[SPO2] {
            0 => pick(rng, 88, 92),
            1 => pick(rng, 86, 87),
            2 => pick(rng, 84, 85),
            _ => pick(rng, 78, 83),
        }
    } else {
        match pts[SPO2] {
            0 => pick(rng, 96, 100),
            1 => pick(rng, 94, 95),
            2 => pick(rng, 92, 93),
            _ => pick(rng, 84, 91),
        }
    } as u8;
    let sbp = match pts[SBP] {
        0 => pick(rng, 111, 165),
        1 => pick(rng, 101, 110),
        2 => pick(rng, 91, 100),
        _ if rng.bernoulli(0.95) => pick(rng, 75, 90),
        _ => pick(rng, 220, 235),
    } as u16;
    let dbp = ((f64::from(sbp) * 0.6) as i64 + rng.range(-8, 8)).clamp(35, 130) as u16;
    let pulse = match pts[PULSE] {
        0 => pick(rng, 55, 90),
        1 if rng.bernoulli(0.85) => pick(rng, 91, 110),
        1 => pick(rng, 41, 50),
        2 => pick(rng, 111, 130),
        _ if rng.bernoulli(0.9) => pick(rng, 131, 150),
        _ => pick(rng, 34, 40),
    } as u16;
    let acvpu = if pts[ACVPU] == 0 {
        0
    } else {
        1 + rng.weighted(&[0.6, 0.25, 0.1, 0.05])
    };
    let temp_tenths = match pts[TEMP] {
        0 => pick(rng, 361, 380),
        1 if rng.bernoulli(0.7) => pick(rng, 381, 390),
        1 => pick(rng, 351, 360),
        2 => pick(rng, 391, 402),
        _ => pick(rng, 340, 350),
    } as i16;
    let v = Vitals {
        rr,
        spo2,
        on_oxygen: pts[OXYGEN] == 2,
        sbp,
        dbp,
        pulse,
        acvpu,
        temp_tenths,
    };
    (v, single_three)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scoring crate's RCP 2017 chart: the same NEWS2 the service computes.
    fn score(v: &Vitals, scale2: bool) -> u8 {
        use careload_scoring::news2::{Acvpu, Spo2Scale, Vitals as Chart, news2};
        let chart = Chart {
            respiration_rate: Some(v.rr),
            spo2: Some(v.spo2),
            spo2_scale: if scale2 { Spo2Scale::Scale2 } else { Spo2Scale::Scale1 },
            on_oxygen: Some(v.on_oxygen),
            systolic_bp: Some(v.sbp),
            pulse: Some(v.pulse),
            consciousness: Some(
                [
                    Acvpu::Alert,
                    Acvpu::NewConfusion,
                    Acvpu::Voice,
                    Acvpu::Pain,
                    Acvpu::Unresponsive,
                ][v.acvpu],
            ),
            temperature: Some(f64::from(v.temp_tenths) / 10.0),
        };
        news2(&chart).map(|n| n.total).unwrap_or(u8::MAX)
    }

    #[test]
    fn vitals_score_the_total_they_were_drawn_for() {
        let mut rng = Rng::new(3);
        for total in 0..=15u8 {
            for scale2 in [false, true] {
                for _ in 0..200 {
                    let (v, _) = vitals_for(total, scale2, &mut rng);
                    assert_eq!(score(&v, scale2), total, "{v:?}");
                    assert!(v.dbp < v.sbp);
                }
            }
        }
    }

    #[test]
    fn low_totals_rarely_have_a_single_three() {
        let mut rng = Rng::new(4);
        let threes = (0..2000).filter(|_| vitals_for(3, false, &mut rng).1).count();
        assert!(threes < 200, "{threes}");
    }
}
