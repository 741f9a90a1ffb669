//! Readable breakdowns: why a number is what it is.
//!
//! A [`Score`] keeps its contributions compact (indexes into the snapshot and
//! the weights) so that a whole region scores in well under a second. This
//! module resolves them into words for screens, the CLI and the API: the
//! weights-file path of each parameter, the item it came from, and the sum.

use serde::Serialize;

use crate::points::{Points, Qty};
use crate::score::{Component, Parameter, Score, Source};
use crate::snapshot::{Dosing, Profession, Snapshot};
use crate::weights::Weights;

/// One contribution in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explained {
    /// The component.
    pub component: Component,
    /// Who performs it.
    pub profession: Profession,
    /// The parameter's path in the weights file.
    pub parameter: String,
    /// The item it came from, in words, with its FHIR reference when known.
    pub source: String,
    /// The weight.
    pub weight: Points,
    /// The quantity.
    pub quantity: Qty,
    /// The points.
    pub points: Points,
}

fn with_ref(text: String, source: Option<&String>) -> String {
    match source {
        Some(r) => format!("{text} ({r})"),
        None => text,
    }
}

fn hhmm(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

/// Describes the item a contribution came from.
pub fn describe_source(source: Source, s: &Snapshot) -> String {
    let at = |i: u32| i as usize;
    match source {
        Source::Activity(i) => match s.activities.get(at(i)) {
            Some(a) => with_ref(
                match a.due {
                    Some(d) => format!("activity {} due {}", a.code, hhmm(d)),
                    None => format!("activity {} (no due time)", a.code),
                },
                a.source.as_ref(),
            ),
            None => format!("activity #{i}"),
        },
        Source::Medication(i) => match s.medications.get(at(i)) {
            Some(m) => {
                let dosing = match &m.dosing {
                    Dosing::At { times } => format!("{} set times", times.len()),
                    Dosing::PerDay { times } => format!("{times} per day"),
                    Dosing::AsNeeded => "as needed".to_owned(),
                };
                with_ref(format!("{} medication, {dosing}", m.route.key()), m.source.as_ref())
            }
            None => format!("medication #{i}"),
        },
        Source::News2(i) => match s.news2.get(at(i)) {
            Some(o) => with_ref(format!("NEWS2 {} at {}", o.value, hhmm(o.at)), o.source.as_ref()),
            None => format!("NEWS2 #{i}"),
        },
        Source::Vitals(i) => match s.vitals.get(at(i)) {
            Some(v) => with_ref(format!("vital signs at {}", hhmm(v.at)), v.source.as_ref()),
            None => format!("vital signs #{i}"),
        },
        Source::EmotionalSupport => match &s.emotional_support {
            Some(e) => with_ref(
                format!("emotional support {} assessed {}", e.level.key(), hhmm(e.assessed_at)),
                e.source.as_ref(),
            ),
            None => "emotional support".to_owned(),
        },
        Source::Order(i) => match s.orders.get(at(i)) {
            Some(o) => with_ref(
                match o.due {
                    Some(d) => format!("order {} due {}", o.category, hhmm(d)),
                    None => format!("order {} (no due time)", o.category),
                },
                o.source.as_ref(),
            ),
            None => format!("order #{i}"),
        },
        Source::CarePlan(i) => match s.care_plans.get(at(i)) {
            Some(c) => with_ref(format!("care plan {}", c.category), c.source.as_ref()),
            None => format!("care plan #{i}"),
        },
        Source::Diagnosis(i) => match s.diagnoses.get(at(i)) {
            Some(d) => with_ref(format!("diagnosis {}", d.code), d.source.as_ref()),
            None => format!("diagnosis #{i}"),
        },
        Source::Patient => "the patient".to_owned(),
    }
}

/// The weights-file path of a contribution's parameter.
pub fn describe_parameter(parameter: Parameter, source: Source, s: &Snapshot, w: &Weights) -> String {
    match parameter {
        Parameter::Activity { level, assumed } => {
            let code = match source {
                Source::Activity(i) => s.activities.get(i as usize).map_or("?", |a| a.code.as_str()),
                _ => "?",
            };
            let note = if assumed {
                " (no Norton: when_norton_missing)"
            } else {
                ""
            };
            format!("activities.codes.{code}.{}{note}", level.key())
        }
        Parameter::MedicationOrder { route } => format!("medications.{}.per_order_hour", route.key()),
        Parameter::MedicationAdministration { route } => format!("medications.{}.per_administration", route.key()),
        Parameter::News2Band { from, value, computed } => {
            let how = if computed {
                "computed from vital signs"
            } else {
                "charted"
            };
            format!("news2.bands[from {from}] (NEWS2 {value}, {how})")
        }
        Parameter::News2Measurements { last_24h } => {
            let plural = if last_24h == 1 { "measurement" } else { "measurements" };
            format!("news2.per_measurement ({last_24h} {plural} in 24 h)")
        }
        Parameter::EmotionalSupport { level } => format!("emotional_support.{}", level.key()),
        Parameter::Order => {
            let category = match source {
                Source::Order(i) => s.orders.get(i as usize).map_or("?", |o| o.category.as_str()),
                _ => "?",
            };
            format!("orders.{category}.points")
        }
        Parameter::CarePlan => {
            let category = match source {
                Source::CarePlan(i) => s.care_plans.get(i as usize).map_or("?", |c| c.category.as_str()),
                _ => "?",
            };
            format!("care_plans.{category}.per_hour")
        }
        Parameter::Diagnosis { rule } => match w.diagnoses.get(usize::from(rule)) {
            Some(r) => format!("diagnoses[prefix {}].per_hour", r.prefix),
            None => format!("diagnoses[{rule}]"),
        },
        Parameter::Outlier => {
            "modifiers.outlier.multiplier (weight: points so far; quantity: multiplier − 1)".to_owned()
        }
        Parameter::NewlyAdmitted { documented } => format!(
            "modifiers.newly_admitted.extra_per_hour ({documented} of {} items documented)",
            w.modifiers.newly_admitted.full_documentation_items
        ),
        Parameter::NewlyAdmittedFloor => format!(
            "modifiers.newly_admitted.floor_per_hour (top-up to {} points an hour while newly admitted)",
            w.modifiers.newly_admitted.floor_per_hour
        ),
    }
}

/// Every contribution of a score, in words.
pub fn explain(score: &Score, s: &Snapshot, w: &Weights) -> Vec<Explained> {
    score
        .contributions
        .iter()
        .map(|c| Explained {
            component: c.component,
            profession: c.profession,
            parameter: describe_parameter(c.parameter, c.source, s, w),
            source: describe_source(c.source, s),
            weight: c.weight,
            quantity: c.quantity,
            points: c.points,
        })
        .collect()
}
