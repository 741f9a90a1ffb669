//! Compact facts kept of the most numerous resources (Observations, Tasks,
//! MedicationRequests and Conditions) instead of the typed models.
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
//!
//! A typed MedicationRequest, with its dosage instructions, is ~8 KB held:
//! measured on the simulated 1,000-bed hospital, its 6,921 orders were half
//! of everything held (49 of ~100 MiB), its 72,000 Observations' facts 9
//! MiB. [`MedicationFacts`] keeps the status, the order time, the first
//! route given and what the dosing is derived from (as needed, times of
//! day, frequency and period). A typed Condition is ~5 KB; its
//! [`ConditionFacts`] keep the statuses, the recorded date, the code and
//! whether it has abated.

use chrono::NaiveTime;
use chrono::{DateTime, Utc};
use fhir_sdk::r4b::resources::{
    Condition, MedicationRequest, Observation, ObservationComponentValue, ObservationEffective, ObservationValue, Task,
};
use fhir_sdk::r4b::types::{CodeableConcept, Coding, DosageAsNeeded, Period, Reference};

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
    cc.coding.iter().flatten().map(code_of).collect()
}

/// A coding's system and code.
fn code_of(c: &Coding) -> Code {
    Code {
        system: c.system.as_deref().map(Box::from),
        code: c.code.as_deref().map(Box::from),
    }
}

/// The codings of `cc` with their displays.
pub fn named_concept(cc: &CodeableConcept) -> Box<[NamedCode]> {
    cc.coding
        .iter()
        .flatten()
        .map(|c| NamedCode {
            code: code_of(c),
            display: c.display.as_deref().map(Box::from),
        })
        .collect()
}

/// Whether `codes` hold `code`, of `system` or of no system.
pub fn has_code(codes: Option<&[Code]>, system: &str, code: &str) -> bool {
    codes.is_some_and(|codes| {
        codes
            .iter()
            .any(|c| c.code.as_deref() == Some(code) && c.system.as_deref().is_none_or(|s| s == system))
    })
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

/// A coding with its display: a code a mapping file may lack, which
/// `careload mapping suggest` names by its display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedCode {
    /// Its system and code.
    pub code: Code,
    /// `Coding.display`.
    pub display: Option<Box<str>>,
}

/// A dosage's `timing.repeat`, as far as the mapping reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Repeat {
    /// `timeOfDay`, each a valid time.
    pub times_of_day: Box<[NaiveTime]>,
    /// `frequency`.
    pub frequency: Option<u32>,
    /// `period`.
    pub period: Option<f64>,
    /// `periodUnit` (`h`, `d`, `wk`…).
    pub period_unit: Option<Box<str>>,
}

/// What the mapping reads of a MedicationRequest.
#[derive(Clone, Debug, PartialEq)]
pub struct MedicationFacts {
    /// `MedicationRequest.status` (`active`, `completed`…).
    pub status: Box<str>,
    /// `authoredOn`.
    pub authored_on: Option<When>,
    /// The codings of the first dosage instruction's route that has one.
    pub route: Option<Box<[NamedCode]>>,
    /// Some dosage instruction is as needed (`asNeededBoolean` true or an
    /// `asNeededCodeableConcept`).
    pub as_needed: bool,
    /// Each dosage instruction's `timing.repeat`, in order (those without one left out).
    pub repeats: Box<[Repeat]>,
    /// `MedicationRequest.encounter`'s reference text.
    pub encounter: Option<Box<str>>,
    /// `MedicationRequest.subject`'s reference text.
    pub subject: Option<Box<str>>,
    /// `meta.lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

impl From<&MedicationRequest> for MedicationFacts {
    fn from(r: &MedicationRequest) -> MedicationFacts {
        let dosages = || r.dosage_instruction.iter().flatten();
        let route = dosages().find_map(|d| d.route.as_ref()).map(named_concept);
        let as_needed = dosages().any(|d| {
            matches!(
                d.as_needed,
                Some(DosageAsNeeded::Boolean(true) | DosageAsNeeded::CodeableConcept(_))
            )
        });
        let repeats = dosages()
            .filter_map(|d| d.timing.as_ref().and_then(|t| t.repeat.as_ref()))
            .map(|repeat| Repeat {
                times_of_day: repeat
                    .time_of_day
                    .iter()
                    .flatten()
                    .filter_map(|t| {
                        let (h, mi, s) = t.0.as_hms();
                        NaiveTime::from_hms_opt(u32::from(h), u32::from(mi), u32::from(s))
                    })
                    .collect(),
                frequency: repeat.frequency.map(|f| f.get()),
                period: repeat.period,
                period_unit: repeat.period_unit.as_deref().map(Box::from),
            })
            .collect();
        MedicationFacts {
            status: Box::from(r.status.as_ref()),
            authored_on: r.authored_on.as_ref().and_then(When::of),
            route,
            as_needed,
            repeats,
            encounter: reference(r.encounter.as_ref()),
            subject: reference(Some(&r.subject)),
            last_updated: o_meta(r.meta.as_ref()),
        }
    }
}

/// What the mapping reads of a Condition (a diagnosis).
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionFacts {
    /// The codings of `verificationStatus`.
    pub verification: Option<Concept>,
    /// The codings of `clinicalStatus` (none: no clinical status given).
    pub clinical: Option<Concept>,
    /// `recordedDate`.
    pub recorded: Option<When>,
    /// The codings of `Condition.code`, with their displays.
    pub code: Option<Box<[NamedCode]>>,
    /// `abatement[x]` is given.
    pub abated: bool,
    /// `Condition.encounter`'s reference text.
    pub encounter: Option<Box<str>>,
    /// `Condition.subject`'s reference text.
    pub subject: Option<Box<str>>,
    /// `meta.lastUpdated`.
    pub last_updated: Option<DateTime<Utc>>,
}

impl From<&Condition> for ConditionFacts {
    fn from(c: &Condition) -> ConditionFacts {
        ConditionFacts {
            verification: c.verification_status.as_ref().map(concept),
            clinical: c.clinical_status.as_ref().map(concept),
            recorded: c.recorded_date.as_ref().and_then(When::of),
            code: c.code.as_ref().map(named_concept),
            abated: c.abatement.is_some(),
            encounter: reference(c.encounter.as_ref()),
            subject: reference(Some(&c.subject)),
            last_updated: o_meta(c.meta.as_ref()),
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

    fn medication(name: &str) -> (MedicationFacts, serde_json::Value) {
        let path = format!("/work/shared/fhir-examples/hl7-r4/{name}");
        let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let value = serde_json::from_str(&json).unwrap_or_default();
        match careload_fhir_parse::parse("MedicationRequest", &json) {
            Ok(Some(careload_fhir_parse::Typed::MedicationRequest(r))) => (MedicationFacts::from(&r), value),
            other => panic!("{name} is not a MedicationRequest: {other:?}"),
        }
    }

    /// HL7's MedicationRequest examples keep what the mapping reads: the
    /// first route, each dosage's repeat, as-needed, the references.
    #[test]
    fn facts_of_hl7_medication_requests() {
        let (two, value) = medication("MedicationRequest-medrx0302.json");
        assert_eq!(&*two.status, "active");
        let route = two.route.as_deref().expect("a route");
        assert_eq!(route[0].code.code.as_deref(), Some("26643006"));
        assert_eq!(route[0].code.system.as_deref(), Some("http://snomed.info/sct"));
        assert_eq!(
            route[0].display.as_deref(),
            value["dosageInstruction"][0]["route"]["coding"][0]["display"].as_str()
        );
        let repeats: Vec<_> = two
            .repeats
            .iter()
            .map(|r| (r.frequency, r.period, r.period_unit.as_deref()))
            .collect();
        assert_eq!(
            repeats,
            [(Some(1), Some(1.0), Some("d")), (Some(4), Some(1.0), Some("d"))]
        );
        assert!(!two.as_needed);
        assert_eq!(two.subject.as_deref(), value["subject"]["reference"].as_str());
        assert_eq!(two.encounter.as_deref(), value["encounter"]["reference"].as_str());
        let authored: Option<DateTime<Utc>> = value["authoredOn"].as_str().and_then(|s| s.parse().ok());
        assert_eq!(two.authored_on.and_then(When::instant), authored);

        let (prn, _) = medication("MedicationRequest-medrx0315.json");
        assert!(prn.as_needed, "asNeededBoolean true");
        assert_eq!(prn.repeats[0].period_unit.as_deref(), Some("min"));
        let (none, _) = medication("MedicationRequest-medrx002.json");
        assert_eq!(none.route, None);
        assert!(none.repeats.is_empty(), "no timing");
        assert!(none.repeats.iter().all(|r| r.times_of_day.is_empty()));
    }

    fn condition(name: &str) -> ConditionFacts {
        let path = format!("/work/shared/fhir-examples/hl7-r4/{name}");
        let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        match careload_fhir_parse::parse("Condition", &json) {
            Ok(Some(careload_fhir_parse::Typed::Condition(c))) => ConditionFacts::from(&c),
            other => panic!("{name} is not a Condition: {other:?}"),
        }
    }

    /// HL7's Condition examples keep the statuses, the date, the code, the
    /// abatement and the references.
    #[test]
    fn facts_of_hl7_conditions() {
        const CLIN: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
        const VER: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
        let active = condition("Condition-f001.json");
        assert!(has_code(active.clinical.as_deref(), CLIN, "active"));
        assert!(has_code(active.verification.as_deref(), VER, "confirmed"));
        assert!(!has_code(active.verification.as_deref(), VER, "refuted"));
        assert_eq!(
            active.recorded,
            chrono::NaiveDate::from_ymd_opt(2011, 10, 5).map(When::Day)
        );
        let code = active.code.as_deref().expect("a code");
        assert_eq!(code[0].code.code.as_deref(), Some("368009"));
        assert!(
            code[0].display.is_some(),
            "the display is kept for the mapping's suggestions"
        );
        assert!(!active.abated);
        assert_eq!(active.encounter.as_deref(), Some("Encounter/f001"));
        assert_eq!(active.subject.as_deref(), Some("Patient/f001"));

        let resolved = condition("Condition-f201.json");
        assert!(has_code(resolved.clinical.as_deref(), CLIN, "resolved"));
        assert!(resolved.abated, "abatement given");
        let family = condition("Condition-family-history.json");
        assert_eq!(family.verification, None);
        assert_eq!(family.recorded, None);
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
