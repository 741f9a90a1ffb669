//! Compact facts kept of the most numerous resources (Observations and
//! Tasks) instead of the typed models.
//!
//! The held store lives from one hourly run to the next, and a 1,000-bed
//! hospital's is ~100,000 resources, most of them Observations. A typed
//! `fhir-sdk` Observation is ~1.5 KB before its first string, with every
//! coding, period and reference boxed on top; the mapping reads a handful of
//! its members. [`ObservationFacts`] keeps exactly those members — status,
//! the codings of `code`, the time, the two references, the value, the
//! components' codings and numbers, `meta.lastUpdated` — taken from the typed
//! resource right after its parse, so the typed model lives for one resource
//! at a time. Nothing identifying can be in it: it has no field for text.

use chrono::{DateTime, Utc};
use fhir_sdk::r4b::resources::{Observation, ObservationComponentValue, ObservationEffective, ObservationValue, Task};
use fhir_sdk::r4b::types::{CodeableConcept, Period, Reference};

use crate::time::{When, instant};

/// A coding's system and code (display, version and extensions dropped).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Code {
    /// `Coding.system`.
    pub system: Option<Box<str>>,
    /// `Coding.code`.
    pub code: Option<Box<str>>,
}

/// The codings of a CodeableConcept, in order (its text dropped).
pub type Concept = Box<[Code]>;

/// The codings of `cc`.
pub fn concept(cc: &CodeableConcept) -> Concept {
    cc.coding
        .iter()
        .flatten()
        .map(|c| Code {
            system: c.system.as_deref().map(Box::from),
            code: c.code.as_deref().map(Box::from),
        })
        .collect()
}

/// The reference text of `r` (`Type/id`, an absolute URL…), if any.
fn reference(r: Option<&Reference>) -> Option<Box<str>> {
    r?.reference.as_deref().map(Box::from)
}

/// `Observation.value[x]`, as far as the mapping reads it.
#[derive(Clone, Debug, PartialEq)]
pub enum FactValue {
    /// No value, or a kind the mapping never reads (string, ratio…).
    None,
    /// `valueInteger`.
    Integer(i32),
    /// `valueQuantity`: its value and UCUM code.
    Quantity {
        /// `Quantity.value`.
        value: Option<f64>,
        /// `Quantity.code` (`Cel`, `[degF]`…).
        code: Option<Box<str>>,
    },
    /// `valueCodeableConcept`'s codings.
    Concept(Concept),
    /// `valueBoolean`.
    Boolean(bool),
}

impl FactValue {
    /// An integer or a quantity's value.
    pub fn number(&self) -> Option<f64> {
        match self {
            FactValue::Integer(i) => Some(f64::from(*i)),
            FactValue::Quantity { value, .. } => *value,
            _ => None,
        }
    }
}

/// What the mapping reads of an Observation.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservationFacts {
    /// `Observation.status` (`final`, `entered-in-error`…).
    pub status: Box<str>,
    /// The codings of `Observation.code`.
    pub code: Concept,
    /// `effective[x]` (a dateTime, an instant, else a period's start or
    /// end), else `issued`. A date without a time is a day, placed in the
    /// wards' zone by the mapping.
    pub at: Option<When>,
    /// `Observation.encounter`'s reference text.
    pub encounter: Option<Box<str>>,
    /// `Observation.subject`'s reference text.
    pub subject: Option<Box<str>>,
    /// `value[x]`.
    pub value: FactValue,
    /// Each component's codings and its number (quantity or integer).
    pub components: Box<[(Concept, Option<f64>)]>,
    /// `meta.lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

impl From<&Observation> for ObservationFacts {
    fn from(o: &Observation) -> ObservationFacts {
        let at = match o.effective.as_ref() {
            Some(ObservationEffective::DateTime(d)) => When::of(d),
            Some(ObservationEffective::Instant(i)) => instant(i).map(When::At),
            Some(ObservationEffective::Period(p)) => p
                .start
                .as_ref()
                .and_then(When::of)
                .or_else(|| p.end.as_ref().and_then(When::of)),
            _ => None,
        }
        .or_else(|| o.issued.as_ref().and_then(instant).map(When::At));
        let value = match o.value.as_ref() {
            Some(ObservationValue::Integer(i)) => FactValue::Integer(*i),
            Some(ObservationValue::Quantity(q)) => FactValue::Quantity {
                value: q.value,
                code: q.code.as_deref().map(Box::from),
            },
            Some(ObservationValue::CodeableConcept(cc)) => FactValue::Concept(concept(cc)),
            Some(ObservationValue::Boolean(b)) => FactValue::Boolean(*b),
            _ => FactValue::None,
        };
        let components = o
            .component
            .iter()
            .flatten()
            .map(|c| {
                let number = match c.value.as_ref() {
                    Some(ObservationComponentValue::Quantity(q)) => q.value,
                    Some(ObservationComponentValue::Integer(i)) => Some(f64::from(*i)),
                    _ => None,
                };
                (concept(&c.code), number)
            })
            .collect();
        ObservationFacts {
            status: Box::from(o.status.as_ref()),
            code: concept(&o.code),
            at,
            encounter: reference(o.encounter.as_ref()),
            subject: reference(o.subject.as_ref()),
            value,
            components,
            last_updated: o_meta(o.meta.as_ref()),
        }
    }
}

/// What the mapping reads of a Task (a to-do list item).
#[derive(Clone, Debug, PartialEq)]
pub struct TaskFacts {
    /// `Task.status` (`requested`, `completed`…).
    pub status: Box<str>,
    /// `Task.authoredOn`.
    pub authored_on: Option<When>,
    /// The codings of `Task.code` (none without a code).
    pub code: Option<Concept>,
    /// When it is due: `executionPeriod.start`, else `restriction.period`'s
    /// start, else its end.
    pub due: Option<When>,
    /// The codings of each `performerType`.
    pub performer_types: Box<[Concept]>,
    /// `Task.encounter`'s reference text.
    pub encounter: Option<Box<str>>,
    /// `Task.for`'s reference text.
    pub r#for: Option<Box<str>>,
    /// `meta.lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

impl From<&Task> for TaskFacts {
    fn from(t: &Task) -> TaskFacts {
        let start = |p: Option<&Period>| p.and_then(|p| p.start.as_ref()).and_then(When::of);
        let end = |p: Option<&Period>| p.and_then(|p| p.end.as_ref()).and_then(When::of);
        let restriction = t.restriction.as_ref().and_then(|r| r.period.as_ref());
        TaskFacts {
            status: Box::from(t.status.as_ref()),
            authored_on: t.authored_on.as_ref().and_then(When::of),
            code: t.code.as_ref().map(concept),
            due: start(t.execution_period.as_ref())
                .or_else(|| start(restriction))
                .or_else(|| end(restriction)),
            performer_types: t.performer_type.iter().flatten().map(concept).collect(),
            encounter: reference(t.encounter.as_ref()),
            r#for: reference(t.r#for.as_ref()),
            last_updated: o_meta(t.meta.as_ref()),
        }
    }
}

/// `meta.lastUpdated`.
fn o_meta(meta: Option<&fhir_sdk::r4b::types::Meta>) -> Option<DateTime<Utc>> {
    meta?.last_updated.as_ref().and_then(instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> ObservationFacts {
        let path = format!("/work/shared/fhir-examples/hl7-r4/{name}");
        let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        match careload_fhir_parse::parse("Observation", &json) {
            Ok(Some(careload_fhir_parse::Typed::Observation(o))) => ObservationFacts::from(&o),
            other => panic!("{name} is not an Observation: {other:?}"),
        }
    }

    /// HL7's own R4 examples keep what the mapping reads.
    #[test]
    fn facts_of_hl7_examples() {
        let weight = parse("Observation-example.json");
        assert_eq!(&*weight.status, "final");
        let codes: Vec<_> = weight.code.iter().map(|c| c.code.as_deref()).collect();
        assert_eq!(
            codes,
            [Some("29463-7"), Some("3141-9"), Some("27113001"), Some("body-weight")]
        );
        assert_eq!(weight.code[2].system.as_deref(), Some("http://snomed.info/sct"));
        // effectiveDateTime "2016-03-28": a day, placed in the wards' zone by the mapping
        assert_eq!(weight.at, chrono::NaiveDate::from_ymd_opt(2016, 3, 28).map(When::Day));
        assert_eq!(weight.encounter.as_deref(), Some("Encounter/example"));
        assert_eq!(weight.subject.as_deref(), Some("Patient/example"));
        assert_eq!(
            weight.value,
            FactValue::Quantity {
                value: Some(185.0),
                code: Some("[lb_av]".into())
            }
        );
        assert_eq!(weight.value.number(), Some(185.0));

        let bp = parse("Observation-blood-pressure.json");
        assert_eq!(bp.code[0].code.as_deref(), Some("85354-9"));
        assert_eq!(bp.value, FactValue::None);
        let numbers: Vec<_> = bp.components.iter().map(|(c, n)| (c[0].code.as_deref(), *n)).collect();
        assert_eq!(numbers, [(Some("8480-6"), Some(107.0)), (Some("8462-4"), Some(60.0))]);
    }

    /// HL7's Task example keeps what the mapping reads.
    #[test]
    fn facts_of_the_hl7_task_example() {
        let path = "/work/shared/fhir-examples/hl7-r4/Task-example1.json";
        let json = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let t = match careload_fhir_parse::parse("Task", &json) {
            Ok(Some(careload_fhir_parse::Typed::Task(t))) => TaskFacts::from(&t),
            other => panic!("not a Task: {other:?}"),
        };
        let value: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(Some(&*t.status), value["status"].as_str());
        assert_eq!(t.encounter.as_deref(), value["encounter"]["reference"].as_str());
        assert_eq!(t.r#for.as_deref(), value["for"]["reference"].as_str());
        let start: Option<DateTime<Utc>> = value["executionPeriod"]["start"].as_str().and_then(|s| s.parse().ok());
        assert!(start.is_some(), "the example has an execution period");
        assert_eq!(t.due.and_then(When::instant), start);
        let authored: Option<DateTime<Utc>> = value["authoredOn"].as_str().and_then(|s| s.parse().ok());
        assert_eq!(t.authored_on.and_then(When::instant), authored);
        assert_eq!(t.code.as_deref().map(<[Code]>::len), Some(0), "a code with text only");
        assert_eq!(t.performer_types[0][0].code.as_deref(), Some("performer"));
    }
}
