//! The typed parse of the FHIR R4 resources careload reads, with `fhir-sdk`'s
//! R4B models (which read R4 JSON without loss: tested on HL7's R4 examples
//! and Synthea bundles in `careload-ingest`).
//!
//! Part of the ingest, in a crate of its own for one reason: the
//! deserialisers of the nine resource types and everything they contain are
//! generated (monomorphised) where the parse is called, and that code is
//! most of what compiling the ingest costs. Here it is compiled once, at the
//! development profile's opt-level 0, so that `careload-ingest` itself
//! (mapping, merging, the REST and Bulk clients: code every hourly run
//! executes) can be built optimised in development for little build time.
//! The functions here are not generic, so nothing is monomorphised again
//! downstream.
//!
//! Only the ingest uses this crate; the FHIR models stay out of every other
//! crate.

pub use fhir_sdk::r4b::resources::{
    CarePlan, Condition, Encounter, Location, MedicationRequest, Observation, Patient, ServiceRequest, Task,
};

/// One resource of a type careload uses, parsed.
#[derive(Clone, Debug)]
pub enum Typed {
    /// A ward, team, room or bed.
    Location(Location),
    /// A patient.
    Patient(Patient),
    /// A stay.
    Encounter(Encounter),
    /// A to-do list item.
    Task(Task),
    /// A medication order.
    MedicationRequest(MedicationRequest),
    /// NEWS2, vital signs, Norton, emotional support, ADL.
    Observation(Observation),
    /// A multidisciplinary order.
    ServiceRequest(ServiceRequest),
    /// A care plan.
    CarePlan(CarePlan),
    /// A diagnosis.
    Condition(Condition),
}

/// The resource types [`parse`] reads; every other type is not parsed.
pub const USED_TYPES: [&str; 9] = [
    "Location",
    "Patient",
    "Encounter",
    "Task",
    "MedicationRequest",
    "Observation",
    "ServiceRequest",
    "CarePlan",
    "Condition",
];

/// Parses `json`, one resource whose `resourceType` is `resource_type`, with
/// the typed models straight from the text (no intermediate JSON tree).
/// `Ok(None)` for a type careload does not use.
///
/// # Errors
/// The JSON is not a valid resource of that type (the models' message).
pub fn parse(resource_type: &str, json: &str) -> Result<Option<Typed>, serde_json::Error> {
    Ok(Some(match resource_type {
        "Location" => Typed::Location(serde_json::from_str(json)?),
        "Patient" => Typed::Patient(serde_json::from_str(json)?),
        "Encounter" => Typed::Encounter(serde_json::from_str(json)?),
        "Task" => Typed::Task(serde_json::from_str(json)?),
        "MedicationRequest" => Typed::MedicationRequest(serde_json::from_str(json)?),
        "Observation" => Typed::Observation(serde_json::from_str(json)?),
        "ServiceRequest" => Typed::ServiceRequest(serde_json::from_str(json)?),
        "CarePlan" => Typed::CarePlan(serde_json::from_str(json)?),
        "Condition" => Typed::Condition(serde_json::from_str(json)?),
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn used_types_parse_others_do_not_and_bad_ones_say_why() {
        let task = r#"{"resourceType":"Task","id":"t1","status":"requested","intent":"order"}"#;
        assert!(matches!(parse("Task", task), Ok(Some(Typed::Task(t))) if t.id.as_deref() == Some("t1")));
        assert!(matches!(
            parse("Organization", r#"{"resourceType":"Organization"}"#),
            Ok(None)
        ));
        let bad = r#"{"resourceType":"Task","id":"t1","status":"no-such-status","intent":"order"}"#;
        assert!(parse("Task", bad).unwrap_err().to_string().contains("no-such-status"));
        for ty in USED_TYPES {
            let minimal = format!(r#"{{"resourceType":"{ty}"}}"#);
            // every used type is dispatched (a minimal resource may lack required fields)
            assert!(!matches!(parse(ty, &minimal), Ok(None)), "{ty}");
        }
    }
}
