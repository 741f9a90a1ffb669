//! The snapshot's JSON form, as the store keeps it: the hand-written
//! readers of medication dosing and vital signs accept what the derived
//! ones did (either key order, unknown keys ignored) and refuse what they
//! refused, with a message saying what to send.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use careload_scoring::news2::{Acvpu, Spo2Scale};
use careload_scoring::snapshot::{Dosing, Snapshot, VitalSigns};
use serde_json::json;

fn dosing(v: serde_json::Value) -> Result<Dosing, String> {
    serde_json::from_value(v).map_err(|e| e.to_string())
}

#[test]
fn dosing_reads_each_kind_in_either_key_order() {
    let at: Dosing =
        dosing(json!({"kind": "at", "times": ["2026-11-23T08:00:00Z", "2026-11-23T14:00:00+01:00"]})).unwrap();
    let Dosing::At { times } = &at else { panic!("{at:?}") };
    assert_eq!(times[0].to_rfc3339(), "2026-11-23T08:00:00+00:00");
    assert_eq!(times[1].to_rfc3339(), "2026-11-23T13:00:00+00:00");
    assert_eq!(
        dosing(json!({"times": ["2026-11-23T08:00:00Z", "2026-11-23T14:00:00+01:00"], "kind": "at"})).unwrap(),
        at
    );
    assert_eq!(
        dosing(json!({"kind": "at", "times": []})).unwrap(),
        Dosing::At { times: vec![] }
    );
    assert_eq!(
        dosing(json!({"times": 3, "kind": "per_day"})).unwrap(),
        Dosing::PerDay { times: 3 }
    );
    assert_eq!(
        dosing(json!({"kind": "per_day", "times": 2, "note": "ignored"})).unwrap(),
        Dosing::PerDay { times: 2 }
    );
    assert_eq!(dosing(json!({"kind": "as_needed"})).unwrap(), Dosing::AsNeeded);
    // and what is written is what the derived writer wrote
    assert_eq!(
        serde_json::to_value(Dosing::PerDay { times: 4 }).unwrap(),
        json!({"kind": "per_day", "times": 4})
    );
    assert_eq!(
        serde_json::to_value(Dosing::AsNeeded).unwrap(),
        json!({"kind": "as_needed"})
    );
}

#[test]
fn dosing_refuses_what_does_not_fit_its_kind_and_says_what_to_send() {
    let cases = [
        (json!({"kind": "at"}), "\"at\" needs \"times\""),
        (json!({"kind": "at", "times": 3}), "\"at\" needs \"times\""),
        (
            json!({"kind": "per_day", "times": ["2026-11-23T08:00:00Z"]}),
            "\"per_day\" needs \"times\"",
        ),
        (json!({"kind": "per_day", "times": 70000}), "more than 65535"),
        (json!({"kind": "per_day", "times": -1}), "negative"),
        (json!({"kind": "at", "times": ["08:00"]}), "not an RFC 3339 instant"),
        (json!({"kind": "weekly", "times": 1}), "unknown variant `weekly`"),
        (json!({"times": 1}), "missing field `kind`"),
    ];
    for (value, expected) in cases {
        let err = dosing(value.clone()).expect_err(&value.to_string());
        assert!(err.contains(expected), "{value}: {err}");
    }
}

#[test]
fn vital_signs_read_flat_with_absent_values_and_unknown_keys() {
    let v: VitalSigns = serde_json::from_value(json!({
        "at": "2026-11-23T08:10:00Z",
        "respiration_rate": 22,
        "spo2": 93,
        "on_oxygen": true,
        "pulse": 104,
        "consciousness": "new_confusion",
        "temperature": 38.4,
        "device": "ignored",
        "source": "Observation/vs-1"
    }))
    .unwrap();
    assert_eq!(v.at.to_rfc3339(), "2026-11-23T08:10:00+00:00");
    assert_eq!(v.vitals.respiration_rate, Some(22));
    assert_eq!(v.vitals.spo2_scale, Spo2Scale::Scale1, "the default scale when absent");
    assert_eq!(v.vitals.systolic_bp, None);
    assert_eq!(v.vitals.consciousness, Some(Acvpu::NewConfusion));
    assert_eq!(v.vitals.temperature, Some(38.4));
    assert_eq!(v.source.as_deref(), Some("Observation/vs-1"));
    // written flat again, and read back the same
    let written = serde_json::to_value(&v).unwrap();
    assert_eq!(written["pulse"], 104);
    assert_eq!(serde_json::from_value::<VitalSigns>(written).unwrap(), v);

    let err = serde_json::from_value::<VitalSigns>(json!({"respiration_rate": 12})).unwrap_err();
    assert!(err.to_string().contains("missing field `at`"), "{err}");
    let err = serde_json::from_value::<VitalSigns>(json!({"at": "2026-11-23T08:10:00Z", "spo2": 300})).unwrap_err();
    assert!(err.to_string().contains("300"), "{err}");
}

#[test]
fn the_example_ward_reads_and_writes_back_unchanged() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/ward-snapshot.json"
    ))
    .unwrap();
    let ward: Vec<Snapshot> = serde_json::from_str(&text).unwrap();
    assert_eq!(ward.len(), 8);
    let again: Vec<Snapshot> = serde_json::from_str(&serde_json::to_string(&ward).unwrap()).unwrap();
    assert_eq!(again, ward);
}
