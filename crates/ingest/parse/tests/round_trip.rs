//! HL7's official R4 examples of the types careload uses survive a round
//! trip through `fhir-sdk`'s R4B models (JSON → typed → JSON) unchanged:
//! reading R4 with R4B models loses nothing careload could need.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::Path;

use serde_json::Value;

const EXAMPLES: &str = "/work/shared/fhir-examples";

/// Numbers compare by value (R4 decimals are read as f64: `6` and `6.0` are equal).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn round_trips_lose_nothing() {
    use fhir_sdk::r4b::resources::Resource;
    let names = [
        "Patient-example.json",
        "Encounter-example.json",
        "Task-example1.json",
        "MedicationRequest-medrx0302.json",
        "Observation-vitals-panel.json",
        "Observation-blood-pressure.json",
        "ServiceRequest-example.json",
        "CarePlan-example.json",
        "Condition-example.json",
        "Location-1.json",
    ];
    let mut checked = 0;
    for name in names {
        let path = Path::new(EXAMPLES).join("hl7-r4").join(name);
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("{name}: not in the example set, not checked");
            continue;
        };
        let original: Value = serde_json::from_str(&text).unwrap();
        let typed: Resource = serde_json::from_value(original.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = serde_json::to_value(&typed).unwrap();
        assert!(
            same(&original, &back),
            "{name} changed in a round trip:\n{original:#}\n---\n{back:#}"
        );
        checked += 1;
    }
    assert!(checked >= 6, "only {checked} round trips checked");
}
