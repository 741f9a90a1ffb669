//! NEWS2 (National Early Warning Score 2) from vital signs.
//!
//! Exactly the Royal College of Physicians' 2017 chart. Each of seven
//! parameters scores 0–3; the total is their sum (0–20):
//!
//! | parameter | 3 | 2 | 1 | 0 | 1 | 2 | 3 |
//! |---|---|---|---|---|---|---|---|
//! | respiration rate /min | ≤ 8 | | 9–11 | 12–20 | | 21–24 | ≥ 25 |
//! | SpO₂ scale 1 % | ≤ 91 | 92–93 | 94–95 | ≥ 96 | | | |
//! | SpO₂ scale 2 % | ≤ 83 | 84–85 | 86–87 | 88–92, or ≥ 93 on air | 93–94 on O₂ | 95–96 on O₂ | ≥ 97 on O₂ |
//! | air or oxygen | | oxygen | | air | | | |
//! | systolic BP mmHg | ≤ 90 | 91–100 | 101–110 | 111–219 | | | ≥ 220 |
//! | pulse /min | ≤ 40 | | 41–50 | 51–90 | 91–110 | 111–130 | ≥ 131 |
//! | consciousness | | | | alert | | | new confusion, voice, pain, unresponsive |
//! | temperature °C | ≤ 35.0 | | 35.1–36.0 | 36.1–38.0 | 38.1–39.0 | ≥ 39.1 | |
//!
//! SpO₂ scale 2 is used only for patients with a prescribed target range of
//! 88–92 % (hypercapnic respiratory failure); everyone else is on scale 1.
//! Temperature is rounded to one decimal before it is banded.
//!
//! The clinical risk level: **high** for a total of 7 or more, **medium** for
//! 5–6, **low–medium** for a total of 0–4 with a score of 3 in any single
//! parameter (a "red score"), otherwise **low**.

use serde::{Deserialize, Serialize};

use crate::Error;

/// Level of consciousness on the ACVPU scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Acvpu {
    /// Alert.
    Alert,
    /// New confusion (or new disorientation).
    NewConfusion,
    /// Responds to voice.
    Voice,
    /// Responds to pain.
    Pain,
    /// Unresponsive.
    Unresponsive,
}

impl Acvpu {
    /// Parses the one-letter code (A, C, V, P, U), in either case.
    pub fn from_letter(letter: &str) -> Option<Acvpu> {
        match letter.trim().to_ascii_uppercase().as_str() {
            "A" => Some(Acvpu::Alert),
            "C" => Some(Acvpu::NewConfusion),
            "V" => Some(Acvpu::Voice),
            "P" => Some(Acvpu::Pain),
            "U" => Some(Acvpu::Unresponsive),
            _ => None,
        }
    }
}

/// Which SpO₂ scale applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spo2Scale {
    /// The default scale.
    #[default]
    Scale1,
    /// For patients with a prescribed 88–92 % saturation target.
    Scale2,
}

/// One set of vital signs, as charted. Every field is optional because real
/// charts are incomplete; NEWS2 is computed only when all seven are present.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Vitals {
    /// Breaths per minute.
    pub respiration_rate: Option<u16>,
    /// Oxygen saturation, percent.
    pub spo2: Option<u8>,
    /// Which SpO₂ scale applies (scale 2 only with a prescribed 88–92 % target).
    #[serde(default)]
    pub spo2_scale: Spo2Scale,
    /// True on supplemental oxygen, false on air.
    pub on_oxygen: Option<bool>,
    /// Systolic blood pressure, mmHg.
    pub systolic_bp: Option<u16>,
    /// Pulse, beats per minute.
    pub pulse: Option<u16>,
    /// Level of consciousness.
    pub consciousness: Option<Acvpu>,
    /// Temperature, °C.
    pub temperature: Option<f64>,
}

/// The points each parameter scored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterScores {
    /// Respiration rate.
    pub respiration_rate: u8,
    /// SpO₂ (on the applicable scale).
    pub spo2: u8,
    /// Air (0) or oxygen (2).
    pub air_or_oxygen: u8,
    /// Systolic blood pressure.
    pub systolic_bp: u8,
    /// Pulse.
    pub pulse: u8,
    /// Consciousness.
    pub consciousness: u8,
    /// Temperature.
    pub temperature: u8,
}

impl ParameterScores {
    /// The parameters with their names, in chart order.
    pub fn named(&self) -> [(&'static str, u8); 7] {
        [
            ("respiration_rate", self.respiration_rate),
            ("spo2", self.spo2),
            ("air_or_oxygen", self.air_or_oxygen),
            ("systolic_bp", self.systolic_bp),
            ("pulse", self.pulse),
            ("consciousness", self.consciousness),
            ("temperature", self.temperature),
        ]
    }

    /// The sum of all parameters.
    pub fn total(&self) -> u8 {
        self.named().iter().map(|(_, p)| p).sum()
    }

    /// True when any single parameter scores 3 (a "red score").
    pub fn any_red(&self) -> bool {
        self.named().iter().any(|(_, p)| *p == 3)
    }
}

/// The RCP clinical risk level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RiskLevel {
    /// Total 0–4 and no single red score.
    Low,
    /// Total 0–4 with a score of 3 in a single parameter.
    LowMedium,
    /// Total 5–6.
    Medium,
    /// Total 7 or more.
    High,
}

impl RiskLevel {
    /// The risk level for a total and whether any single parameter scored 3.
    ///
    /// A NEWS2 total recorded without its parameters is classified with
    /// `any_red = false`: the chart cannot tell low from low–medium then.
    pub fn classify(total: u8, any_red: bool) -> RiskLevel {
        match total {
            7.. => RiskLevel::High,
            5..=6 => RiskLevel::Medium,
            _ if any_red => RiskLevel::LowMedium,
            _ => RiskLevel::Low,
        }
    }

    /// A short lowercase label.
    pub fn label(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::LowMedium => "low-medium",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }
}

/// A computed NEWS2.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct News2 {
    /// The aggregate score, 0–20.
    pub total: u8,
    /// Points per parameter.
    pub parameters: ParameterScores,
    /// The clinical risk level.
    pub risk: RiskLevel,
}

/// Respiration rate, breaths per minute.
pub fn score_respiration_rate(rr: u16) -> u8 {
    match rr {
        0..=8 => 3,
        9..=11 => 1,
        12..=20 => 0,
        21..=24 => 2,
        _ => 3,
    }
}

/// SpO₂ in percent on the given scale; `on_oxygen` matters only on scale 2.
pub fn score_spo2(spo2: u8, scale: Spo2Scale, on_oxygen: bool) -> u8 {
    match scale {
        Spo2Scale::Scale1 => match spo2 {
            0..=91 => 3,
            92..=93 => 2,
            94..=95 => 1,
            _ => 0,
        },
        Spo2Scale::Scale2 => match (spo2, on_oxygen) {
            (0..=83, _) => 3,
            (84..=85, _) => 2,
            (86..=87, _) => 1,
            (88..=92, _) => 0,
            (_, false) => 0,
            (93..=94, true) => 1,
            (95..=96, true) => 2,
            (_, true) => 3,
        },
    }
}

/// Air (0) or supplemental oxygen (2).
pub fn score_air_or_oxygen(on_oxygen: bool) -> u8 {
    if on_oxygen { 2 } else { 0 }
}

/// Systolic blood pressure, mmHg.
pub fn score_systolic_bp(sbp: u16) -> u8 {
    match sbp {
        0..=90 => 3,
        91..=100 => 2,
        101..=110 => 1,
        111..=219 => 0,
        _ => 3,
    }
}

/// Pulse, beats per minute.
pub fn score_pulse(hr: u16) -> u8 {
    match hr {
        0..=40 => 3,
        41..=50 => 1,
        51..=90 => 0,
        91..=110 => 1,
        111..=130 => 2,
        _ => 3,
    }
}

/// Consciousness: alert 0, anything else 3.
pub fn score_consciousness(level: Acvpu) -> u8 {
    if level == Acvpu::Alert { 0 } else { 3 }
}

/// Temperature in °C, rounded to one decimal first.
pub fn score_temperature(celsius: f64) -> u8 {
    let tenths = (celsius * 10.0).round() as i64;
    match tenths {
        i64::MIN..=350 => 3,
        351..=360 => 1,
        361..=380 => 0,
        381..=390 => 1,
        _ => 2,
    }
}

/// Computes NEWS2 from a full set of vital signs.
///
/// # Errors
/// [`Error::IncompleteVitals`] naming every missing parameter, and
/// [`Error::ImplausibleVitals`] for a temperature that is not a number.
pub fn news2(v: &Vitals) -> Result<News2, Error> {
    let mut missing = Vec::new();
    if v.respiration_rate.is_none() {
        missing.push("respiration_rate");
    }
    if v.spo2.is_none() {
        missing.push("spo2");
    }
    if v.on_oxygen.is_none() {
        missing.push("air_or_oxygen");
    }
    if v.systolic_bp.is_none() {
        missing.push("systolic_bp");
    }
    if v.pulse.is_none() {
        missing.push("pulse");
    }
    if v.consciousness.is_none() {
        missing.push("consciousness");
    }
    if v.temperature.is_none() {
        missing.push("temperature");
    }
    let (Some(rr), Some(spo2), Some(o2), Some(sbp), Some(hr), Some(acvpu), Some(temp)) = (
        v.respiration_rate,
        v.spo2,
        v.on_oxygen,
        v.systolic_bp,
        v.pulse,
        v.consciousness,
        v.temperature,
    ) else {
        return Err(Error::IncompleteVitals { missing });
    };
    if !temp.is_finite() {
        return Err(Error::ImplausibleVitals {
            parameter: "temperature",
            value: temp.to_string(),
        });
    }
    let parameters = ParameterScores {
        respiration_rate: score_respiration_rate(rr),
        spo2: score_spo2(spo2, v.spo2_scale, o2),
        air_or_oxygen: score_air_or_oxygen(o2),
        systolic_bp: score_systolic_bp(sbp),
        pulse: score_pulse(hr),
        consciousness: score_consciousness(acvpu),
        temperature: score_temperature(temp),
    };
    let total = parameters.total();
    Ok(News2 {
        total,
        parameters,
        risk: RiskLevel::classify(total, parameters.any_red()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every band edge of the RCP chart: the last value of one band and the
    /// first of the next.
    #[test]
    fn respiration_rate_band_edges() {
        let cases = [
            (0, 3),
            (8, 3),
            (9, 1),
            (11, 1),
            (12, 0),
            (20, 0),
            (21, 2),
            (24, 2),
            (25, 3),
            (60, 3),
        ];
        for (rr, expected) in cases {
            assert_eq!(score_respiration_rate(rr), expected, "rr {rr}");
        }
    }

    #[test]
    fn spo2_scale1_band_edges() {
        let cases = [(70, 3), (91, 3), (92, 2), (93, 2), (94, 1), (95, 1), (96, 0), (100, 0)];
        for (spo2, expected) in cases {
            assert_eq!(score_spo2(spo2, Spo2Scale::Scale1, false), expected, "spo2 {spo2} air");
            assert_eq!(score_spo2(spo2, Spo2Scale::Scale1, true), expected, "spo2 {spo2} o2");
        }
    }

    #[test]
    fn spo2_scale2_band_edges() {
        // (spo2, on oxygen, expected)
        let cases = [
            (83, false, 3),
            (83, true, 3),
            (84, true, 2),
            (85, false, 2),
            (86, true, 1),
            (87, false, 1),
            (88, true, 0),
            (92, true, 0),
            (92, false, 0),
            (93, false, 0),
            (100, false, 0),
            (93, true, 1),
            (94, true, 1),
            (95, true, 2),
            (96, true, 2),
            (97, true, 3),
            (100, true, 3),
        ];
        for (spo2, o2, expected) in cases {
            assert_eq!(score_spo2(spo2, Spo2Scale::Scale2, o2), expected, "spo2 {spo2} o2 {o2}");
        }
    }

    #[test]
    fn air_or_oxygen() {
        assert_eq!(score_air_or_oxygen(false), 0);
        assert_eq!(score_air_or_oxygen(true), 2);
    }

    #[test]
    fn systolic_bp_band_edges() {
        let cases = [
            (60, 3),
            (90, 3),
            (91, 2),
            (100, 2),
            (101, 1),
            (110, 1),
            (111, 0),
            (219, 0),
            (220, 3),
            (260, 3),
        ];
        for (sbp, expected) in cases {
            assert_eq!(score_systolic_bp(sbp), expected, "sbp {sbp}");
        }
    }

    #[test]
    fn pulse_band_edges() {
        let cases = [
            (30, 3),
            (40, 3),
            (41, 1),
            (50, 1),
            (51, 0),
            (90, 0),
            (91, 1),
            (110, 1),
            (111, 2),
            (130, 2),
            (131, 3),
            (180, 3),
        ];
        for (hr, expected) in cases {
            assert_eq!(score_pulse(hr), expected, "hr {hr}");
        }
    }

    #[test]
    fn consciousness_levels() {
        let cases = [
            (Acvpu::Alert, 0),
            (Acvpu::NewConfusion, 3),
            (Acvpu::Voice, 3),
            (Acvpu::Pain, 3),
            (Acvpu::Unresponsive, 3),
        ];
        for (level, expected) in cases {
            assert_eq!(score_consciousness(level), expected, "{level:?}");
        }
        for (letter, level) in [
            ("a", Acvpu::Alert),
            ("C", Acvpu::NewConfusion),
            ("u", Acvpu::Unresponsive),
        ] {
            assert_eq!(Acvpu::from_letter(letter), Some(level));
        }
        assert_eq!(Acvpu::from_letter("X"), None);
    }

    #[test]
    fn temperature_band_edges() {
        let cases = [
            (34.0, 3),
            (35.0, 3),
            (35.1, 1),
            (36.0, 1),
            (36.1, 0),
            (38.0, 0),
            (38.1, 1),
            (39.0, 1),
            (39.1, 2),
            (41.0, 2),
            // rounded to one decimal before banding
            (35.04, 3),
            (35.05, 1),
            (38.04, 0),
            (38.05, 1),
        ];
        for (temp, expected) in cases {
            assert_eq!(score_temperature(temp), expected, "temp {temp}");
        }
    }

    #[test]
    fn risk_level_edges() {
        let cases = [
            (0, false, RiskLevel::Low),
            (4, false, RiskLevel::Low),
            (3, true, RiskLevel::LowMedium),
            (4, true, RiskLevel::LowMedium),
            (5, false, RiskLevel::Medium),
            (5, true, RiskLevel::Medium),
            (6, true, RiskLevel::Medium),
            (7, false, RiskLevel::High),
            (20, true, RiskLevel::High),
        ];
        for (total, red, expected) in cases {
            assert_eq!(RiskLevel::classify(total, red), expected, "{total} red {red}");
        }
    }

    fn normal() -> Vitals {
        Vitals {
            respiration_rate: Some(16),
            spo2: Some(97),
            spo2_scale: Spo2Scale::Scale1,
            on_oxygen: Some(false),
            systolic_bp: Some(120),
            pulse: Some(70),
            consciousness: Some(Acvpu::Alert),
            temperature: Some(37.0),
        }
    }

    #[test]
    fn full_sets_sum_and_classify() {
        let ok = news2(&normal()).unwrap();
        assert_eq!((ok.total, ok.risk), (0, RiskLevel::Low));

        let confused = news2(&Vitals {
            consciousness: Some(Acvpu::NewConfusion),
            ..normal()
        })
        .unwrap();
        assert_eq!((confused.total, confused.risk), (3, RiskLevel::LowMedium));

        let sick = news2(&Vitals {
            respiration_rate: Some(24),
            spo2: Some(93),
            on_oxygen: Some(true),
            systolic_bp: Some(105),
            pulse: Some(115),
            temperature: Some(38.5),
            ..normal()
        })
        .unwrap();
        // 2 + 2 + 2 + 1 + 2 + 0 + 1
        assert_eq!(sick.total, 10);
        assert_eq!(sick.risk, RiskLevel::High);
        assert_eq!(sick.parameters.total(), sick.total);

        let hypercapnic = news2(&Vitals {
            spo2: Some(90),
            spo2_scale: Spo2Scale::Scale2,
            on_oxygen: Some(true),
            ..normal()
        })
        .unwrap();
        // scale 2 at target: 0 for SpO2, 2 for oxygen
        assert_eq!(hypercapnic.total, 2);
    }

    #[test]
    fn incomplete_sets_name_what_is_missing() {
        let err = news2(&Vitals {
            pulse: None,
            temperature: None,
            ..normal()
        })
        .unwrap_err();
        match err {
            Error::IncompleteVitals { missing } => assert_eq!(missing, ["pulse", "temperature"]),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            news2(&Vitals {
                temperature: Some(f64::NAN),
                ..normal()
            }),
            Err(Error::ImplausibleVitals { .. })
        ));
    }
}
