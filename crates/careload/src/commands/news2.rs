//! `careload news2`: NEWS2 and its clinical risk level from one set of vital
//! signs, exactly as the scoring crate computes it for snapshots that carry
//! vital signs without a charted total.

use std::io::Write;

use careload_scoring::news2::{Acvpu, News2, RiskLevel, Spo2Scale, Vitals, news2};
use serde::Serialize;

use super::write_json;
use crate::cli::{AcvpuLetter, News2Args};
use crate::table::Table;

impl From<AcvpuLetter> for Acvpu {
    fn from(letter: AcvpuLetter) -> Acvpu {
        match letter {
            AcvpuLetter::A => Acvpu::Alert,
            AcvpuLetter::C => Acvpu::NewConfusion,
            AcvpuLetter::V => Acvpu::Voice,
            AcvpuLetter::P => Acvpu::Pain,
            AcvpuLetter::U => Acvpu::Unresponsive,
        }
    }
}

/// One parameter's value and points, for JSON.
#[derive(Serialize)]
struct Item<T: Serialize> {
    value: T,
    points: u8,
}

/// The parameters in chart order, for JSON.
#[derive(Serialize)]
struct Parameters {
    respiration_rate: Item<u16>,
    spo2: Item<u8>,
    air_or_oxygen: Item<&'static str>,
    systolic_bp: Item<u16>,
    pulse: Item<u16>,
    consciousness: Item<Acvpu>,
    temperature: Item<f64>,
}

/// `careload news2 --json`.
#[derive(Serialize)]
struct Report {
    total: u8,
    risk: RiskLevel,
    spo2_scale: Spo2Scale,
    parameters: Parameters,
}

fn air_or_oxygen(on_oxygen: bool) -> &'static str {
    if on_oxygen { "oxygen" } else { "air" }
}

fn acvpu_words(letter: AcvpuLetter) -> &'static str {
    match letter {
        AcvpuLetter::A => "A (alert)",
        AcvpuLetter::C => "C (new confusion)",
        AcvpuLetter::V => "V (responds to voice)",
        AcvpuLetter::P => "P (responds to pain)",
        AcvpuLetter::U => "U (unresponsive)",
    }
}

/// `careload news2 …`.
///
/// # Errors
/// A temperature that is not a number; writing fails.
pub(crate) fn run(args: &News2Args, out: &mut dyn Write) -> anyhow::Result<()> {
    // clap's group makes --oxygen and --air exclusive and one of them required
    let on_oxygen = args.oxygen;
    let scale = if args.scale2 {
        Spo2Scale::Scale2
    } else {
        Spo2Scale::Scale1
    };
    let vitals = Vitals {
        respiration_rate: Some(args.rr),
        spo2: Some(args.spo2),
        spo2_scale: scale,
        on_oxygen: Some(on_oxygen),
        systolic_bp: Some(args.sbp),
        pulse: Some(args.hr),
        consciousness: Some(args.acvpu.into()),
        temperature: Some(args.temp),
    };
    let n = news2(&vitals)?;
    if args.json {
        return write_json(out, &report(args, scale, &n));
    }
    let scale_name = match scale {
        Spo2Scale::Scale1 => "scale 1",
        Spo2Scale::Scale2 => "scale 2",
    };
    let mut t = Table::new(["parameter", "value", "points"]).right([2]);
    for (name, points) in n.parameters.named() {
        let (label, value) = match name {
            "respiration_rate" => ("respiration rate".to_owned(), format!("{} /min", args.rr)),
            "spo2" => (format!("SpO₂ ({scale_name})"), format!("{} %", args.spo2)),
            "air_or_oxygen" => ("air or oxygen".to_owned(), air_or_oxygen(on_oxygen).to_owned()),
            "systolic_bp" => ("systolic BP".to_owned(), format!("{} mmHg", args.sbp)),
            "pulse" => ("pulse".to_owned(), format!("{} /min", args.hr)),
            "consciousness" => ("consciousness".to_owned(), acvpu_words(args.acvpu).to_owned()),
            "temperature" => ("temperature".to_owned(), format!("{:.1} °C", args.temp)),
            other => (other.to_owned(), String::new()),
        };
        t.row([label, value, points.to_string()]);
    }
    t.row(["total".to_owned(), String::new(), n.total.to_string()]);
    t.write(out, 0)?;
    let note = if n.risk == RiskLevel::LowMedium {
        " (a single parameter scored 3)"
    } else {
        ""
    };
    writeln!(out, "NEWS2 {}: {} clinical risk{note}", n.total, n.risk.label())?;
    Ok(())
}

fn report(args: &News2Args, scale: Spo2Scale, n: &News2) -> Report {
    let p = &n.parameters;
    Report {
        total: n.total,
        risk: n.risk,
        spo2_scale: scale,
        parameters: Parameters {
            respiration_rate: Item {
                value: args.rr,
                points: p.respiration_rate,
            },
            spo2: Item {
                value: args.spo2,
                points: p.spo2,
            },
            air_or_oxygen: Item {
                value: air_or_oxygen(args.oxygen),
                points: p.air_or_oxygen,
            },
            systolic_bp: Item {
                value: args.sbp,
                points: p.systolic_bp,
            },
            pulse: Item {
                value: args.hr,
                points: p.pulse,
            },
            consciousness: Item {
                value: args.acvpu.into(),
                points: p.consciousness,
            },
            temperature: Item {
                value: args.temp,
                points: p.temperature,
            },
        },
    }
}
