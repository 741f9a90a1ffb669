//! Mapping tables: one case per input row of DESIGN.md, from small R4
//! resources in real shape, and bad input that is counted and skipped.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use careload_ingest::read::{ReadReport, Resources, read_ndjson_str};
use careload_ingest::{MapReport, Mapping, PseudonymKey, map};
use careload_scoring::Snapshot;
use careload_scoring::news2::{Acvpu, Spo2Scale};
use careload_scoring::snapshot::{
    ActivityStatus, AdlDomain, AdlLevel, Dosing, NortonActivity, Profession, Route, Sex, SupportLevel,
};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

const L: &str = "https://careload.example/fhir/CodeSystem";
const PT: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";
const SCT: &str = "http://snomed.info/sct";
const LOINC: &str = "http://loinc.org";

fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 30, 0).unwrap()
}

fn loc(id: &str, ty: &str, part_of: Option<&str>, types: Value) -> Value {
    let mut v = json!({"resourceType": "Location", "id": id, "name": format!("Name of {id}"),
        "physicalType": {"coding": [{"system": PT, "code": ty}]}, "type": types});
    if let Some(p) = part_of {
        v["partOf"] = json!({"reference": format!("Location/{p}")});
    }
    v
}

/// A ward w1 (general medicine), team w1-a, room, bed; a patient on it.
fn base(service: &str) -> Vec<Value> {
    vec![
        loc(
            "w1",
            "wa",
            None,
            json!([{"coding": [{"system": SCT, "code": "394802001"}]}]),
        ),
        loc("w1-a", "area", Some("w1"), json!([])),
        loc("w1-r1", "ro", Some("w1-a"), json!([])),
        loc("w1-r1-b1", "bd", Some("w1-r1"), json!([])),
        json!({"resourceType": "Patient", "id": "pat-1", "gender": "female", "birthDate": "1941-05-17",
            "name": [{"family": "Svensson", "given": ["Anna"]}],
            "identifier": [{"system": "http://electronichealth.se/identifier/personnummer", "value": "194105179999"}],
            "address": [{"line": ["Storgatan 1"], "city": "Uppsala"}], "telecom": [{"system": "phone", "value": "070-1234567"}]}),
        json!({"resourceType": "Encounter", "id": "enc-1", "status": "in-progress",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "serviceType": {"coding": [{"system": SCT, "code": service}]},
            "subject": {"reference": "Patient/pat-1"}, "period": {"start": "2026-11-22T08:00:00Z"},
            "location": [{"location": {"reference": "Location/w1-r1-b1"}, "status": "active"}]}),
    ]
}

fn run(extra: Vec<Value>) -> (Vec<Snapshot>, MapReport, ReadReport) {
    run_with(base("394802001"), extra)
}

fn run_with(mut resources: Vec<Value>, extra: Vec<Value>) -> (Vec<Snapshot>, MapReport, ReadReport) {
    resources.extend(extra);
    let text: Vec<String> = resources.iter().map(Value::to_string).collect();
    let mut res = Resources::new();
    let mut rr = ReadReport::default();
    read_ndjson_str(&text.join("\n"), "test", &mut res, &mut rr);
    let key = PseudonymKey::from_bytes(b"mapping-test-key-123").unwrap();
    let (s, m) = map(&res, &Mapping::default(), &key, as_of());
    (s, m, rr)
}

fn one(extra: Vec<Value>) -> Snapshot {
    let (mut s, report, rr) = run(extra);
    assert!(rr.skipped.is_empty(), "{:?}", rr.skipped);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(s.len(), 1);
    s.remove(0)
}

fn obs(id: &str, system: &str, code: &str, value: Value) -> Value {
    let mut v = json!({"resourceType": "Observation", "id": id, "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": "Patient/pat-1"}, "encounter": {"reference": "Encounter/enc-1"},
        "effectiveDateTime": "2026-11-23T08:00:00+01:00"});
    if let Value::Object(m) = value {
        for (k, x) in m {
            v[k] = x;
        }
    }
    v
}

#[test]
fn encounter_location_and_patient_make_the_placement() {
    let s = one(vec![]);
    assert_eq!(s.placement.ward, "w1");
    assert_eq!(s.placement.team.as_deref(), Some("w1-a"));
    assert_eq!(s.placement.bed.as_deref(), Some("w1-r1-b1"));
    assert_eq!(
        s.placement.room.as_deref(),
        Some("w1-r1"),
        "the room between team and bed"
    );
    assert_eq!(s.specialty.as_deref(), Some("394802001"));
    assert!(!s.outlying);
    assert_eq!(s.sex, Sex::Female);
    assert_eq!(s.birth_year, Some(1941));
    assert_eq!(s.admitted_at, Utc.with_ymd_and_hms(2026, 11, 22, 8, 0, 0).unwrap());
    let json = serde_json::to_string(&s).unwrap();
    for secret in [
        "Svensson",
        "Anna",
        "194105179999",
        "Storgatan",
        "070-1234567",
        "pat-1",
        "1941-05-17",
    ] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
    // another specialty on this ward: an outlier
    let (s, _, _) = run_with(base("394579002"), vec![]);
    assert!(s[0].outlying);
}

#[test]
fn tasks_map_by_status_with_due_time_and_profession() {
    let cases = [
        ("requested", Some(ActivityStatus::Open)),
        ("accepted", Some(ActivityStatus::Open)),
        ("ready", Some(ActivityStatus::Open)),
        ("in-progress", Some(ActivityStatus::Open)),
        ("received", Some(ActivityStatus::Open)),
        ("completed", Some(ActivityStatus::Completed)),
        ("cancelled", Some(ActivityStatus::Cancelled)),
        ("rejected", Some(ActivityStatus::Cancelled)),
        ("failed", Some(ActivityStatus::Cancelled)),
        ("entered-in-error", Some(ActivityStatus::Cancelled)),
        ("draft", None),
        ("on-hold", None),
    ];
    for (status, expected) in cases {
        let task = json!({"resourceType": "Task", "id": "t1", "status": status, "intent": "order",
            "code": {"coding": [{"system": format!("{L}/nursing-activity"), "code": "repositioning"}]},
            "for": {"reference": "Patient/pat-1"}, "encounter": {"reference": "Encounter/enc-1"},
            "executionPeriod": {"start": "2026-11-23T10:00:00+01:00"},
            "performerType": [{"coding": [{"system": format!("{L}/profession"), "code": "SSK"}]}]});
        let s = one(vec![task]);
        match expected {
            Some(st) => {
                let a = &s.activities[0];
                assert_eq!((a.status, a.code.as_str()), (st, "repositioning"), "{status}");
                assert_eq!(a.due, Some(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()));
                assert_eq!(a.profession, Some(Profession::Ssk));
                // the Task's keyed tag, never its EHR id
                let tag = PseudonymKey::from_bytes(b"mapping-test-key-123")
                    .unwrap()
                    .resource_tag("Task", "t1");
                assert_eq!(a.source.as_deref(), Some(tag.as_str()));
            }
            None => assert!(s.activities.is_empty(), "{status}"),
        }
    }
    // due from restriction.period when there is no executionPeriod
    let task = json!({"resourceType": "Task", "id": "t2", "status": "requested", "intent": "order",
        "code": {"coding": [{"system": format!("{L}/nursing-activity"), "code": "shower"}]},
        "for": {"reference": "Patient/pat-1"}, "restriction": {"period": {"end": "2026-11-23T12:00:00Z"}}});
    let s = one(vec![task]);
    assert_eq!(
        s.activities[0].due,
        Some(Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).unwrap())
    );
}

fn med(id: &str, route: (&str, &str), timing: Value) -> Value {
    let mut dosage = json!({"route": {"coding": [{"system": route.0, "code": route.1}]}});
    if let Value::Object(m) = timing {
        for (k, x) in m {
            dosage[k] = x;
        }
    }
    json!({"resourceType": "MedicationRequest", "id": id, "status": "active", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc", "code": "N02BE01"}]},
        "subject": {"reference": "Patient/pat-1"}, "encounter": {"reference": "Encounter/enc-1"},
        "dosageInstruction": [dosage]})
}

#[test]
fn medication_routes_and_timing() {
    let edqm = "http://standardterms.edqm.eu";
    let routes = [
        ((SCT, "26643006"), Route::Oral),
        ((SCT, "47625008"), Route::Intravenous),
        ((SCT, "34206005"), Route::Subcutaneous),
        ((SCT, "78421000"), Route::Intramuscular),
        ((SCT, "447694001"), Route::Inhalation),
        ((SCT, "127492001"), Route::Enteral),
        ((SCT, "6064005"), Route::Topical),
        ((SCT, "37161004"), Route::Rectal),
        ((edqm, "20053000"), Route::Oral),
        ((edqm, "20045000"), Route::Intravenous),
        ((edqm, "20066000"), Route::Subcutaneous),
        ((edqm, "20035000"), Route::Intramuscular),
        ((edqm, "20020000"), Route::Inhalation),
    ];
    for (code, route) in routes {
        let s = one(vec![med(
            "m1",
            code,
            json!({"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}}),
        )]);
        assert_eq!(s.medications[0].route, route, "{code:?}");
        assert_eq!(s.medications[0].dosing, Dosing::PerDay { times: 3 });
    }
    // times of day in the ward's zone (Europe/Stockholm, UTC+1 in November), today and tomorrow
    let s = one(vec![med(
        "m2",
        (SCT, "26643006"),
        json!({"timing": {"repeat": {"timeOfDay": ["08:00:00", "20:00:00"]}}}),
    )]);
    let t = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
    assert_eq!(
        s.medications[0].dosing,
        Dosing::At {
            times: vec![t(23, 7), t(23, 19), t(24, 7), t(24, 19)]
        }
    );
    let s = one(vec![med("m3", (SCT, "26643006"), json!({"asNeededBoolean": true}))]);
    assert_eq!(s.medications[0].dosing, Dosing::AsNeeded);
    let s = one(vec![med(
        "m4",
        (SCT, "26643006"),
        json!({"timing": {"repeat": {"frequency": 1, "period": 6, "periodUnit": "h"}}}),
    )]);
    assert_eq!(s.medications[0].dosing, Dosing::PerDay { times: 4 });
    // stopped orders are not active
    let mut stopped = med("m5", (SCT, "26643006"), json!({}));
    stopped["status"] = json!("stopped");
    assert!(one(vec![stopped]).medications.is_empty());
}

#[test]
fn observations_news2_vitals_norton_support_adl() {
    let s = one(vec![
        obs("n1", SCT, "1104051000000101", json!({"valueInteger": 3})),
        obs(
            "n2",
            SCT,
            "1104051000000101",
            json!({"valueQuantity": {"value": 5}, "effectiveDateTime": "2026-11-23T09:00:00Z"}),
        ),
        obs(
            "rr",
            LOINC,
            "9279-1",
            json!({"valueQuantity": {"value": 22, "unit": "/min"}}),
        ),
        obs(
            "sp",
            LOINC,
            "2708-6",
            json!({"valueQuantity": {"value": 94, "unit": "%"}}),
        ),
        obs("hr", LOINC, "8867-4", json!({"valueQuantity": {"value": 101}})),
        obs(
            "te",
            LOINC,
            "8310-5",
            json!({"valueQuantity": {"value": 38.4, "code": "Cel"}}),
        ),
        obs(
            "bp",
            LOINC,
            "85354-9",
            json!({"component": [
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": {"value": 95}},
            {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": {"value": 60}}]}),
        ),
        obs(
            "ac",
            &format!("{L}/observation"),
            "acvpu",
            json!({"valueCodeableConcept": {"coding": [{"system": format!("{L}/acvpu"), "code": "C"}]}}),
        ),
        obs(
            "o2",
            &format!("{L}/observation"),
            "supplemental-oxygen",
            json!({"valueBoolean": true}),
        ),
        obs(
            "s2",
            &format!("{L}/observation"),
            "spo2-scale-2",
            json!({"valueBoolean": true}),
        ),
        obs(
            "na",
            &format!("{L}/observation"),
            "norton-physical-activity",
            json!({"valueInteger": 2}),
        ),
        obs(
            "nt",
            &format!("{L}/observation"),
            "norton-total",
            json!({"valueInteger": 12}),
        ),
        obs(
            "es",
            &format!("{L}/observation"),
            "emotional-support",
            json!({"valueCodeableConcept": {"coding": [{"system": format!("{L}/emotional-support-level"), "code": "twice_hourly"}]}}),
        ),
        obs(
            "ad",
            &format!("{L}/observation"),
            "adl-toileting",
            json!({"valueCodeableConcept": {"coding": [{"system": format!("{L}/adl-level"), "code": "full_help"}]}}),
        ),
        obs(
            "late",
            SCT,
            "1104051000000101",
            json!({"valueInteger": 9, "effectiveDateTime": "2026-11-23T12:00:00Z"}),
        ),
    ]);
    let news: Vec<u8> = s.news2.iter().map(|n| n.value).collect();
    assert_eq!(news, [3, 5], "the one after as_of is left out");
    assert_eq!(s.vitals.len(), 1, "one set at one time");
    let v = &s.vitals[0].vitals;
    assert_eq!(
        (
            v.respiration_rate,
            v.spo2,
            v.pulse,
            v.systolic_bp,
            v.consciousness,
            v.on_oxygen,
            v.spo2_scale
        ),
        (
            Some(22),
            Some(94),
            Some(101),
            Some(95),
            Some(Acvpu::NewConfusion),
            Some(true),
            Spo2Scale::Scale2
        )
    );
    assert_eq!(v.temperature, Some(38.4));
    let n = s.norton.unwrap();
    assert_eq!((n.activity, n.total), (NortonActivity::Wheelchair, Some(12)));
    assert_eq!(s.emotional_support.unwrap().level, SupportLevel::TwiceHourly);
    assert_eq!(
        (s.adl[0].domain, s.adl[0].level),
        (AdlDomain::Toileting, AdlLevel::FullHelp)
    );
}

#[test]
fn orders_care_plans_and_diagnoses() {
    let subject = json!({"reference": "Patient/pat-1"});
    let s = one(vec![
        json!({"resourceType": "ServiceRequest", "id": "sr1", "status": "active", "intent": "order",
            "category": [{"coding": [{"system": format!("{L}/order-category"), "code": "lab-sample"}]}],
            "subject": subject, "occurrenceDateTime": "2026-11-24T06:00:00+01:00"}),
        json!({"resourceType": "ServiceRequest", "id": "sr2", "status": "completed", "intent": "order",
            "category": [{"coding": [{"system": format!("{L}/order-category"), "code": "ecg"}]}], "subject": subject}),
        json!({"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
            "category": [{"coding": [{"system": format!("{L}/care-plan-category"), "code": "palliative"}]}], "subject": subject}),
        json!({"resourceType": "Condition", "id": "c1", "subject": subject,
            "code": {"coding": [{"system": "urn:oid:1.2.752.116.1.1.1.1.3", "code": "F03.9"}]}}),
        json!({"resourceType": "Condition", "id": "c2", "subject": subject,
            "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I50.9"}]}}),
        json!({"resourceType": "Condition", "id": "c3", "subject": subject,
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "C34.9"}]}}),
    ]);
    assert_eq!(s.orders.len(), 1);
    assert_eq!(s.orders[0].category, "lab-sample");
    assert_eq!(
        s.orders[0].due,
        Some(Utc.with_ymd_and_hms(2026, 11, 24, 5, 0, 0).unwrap())
    );
    assert_eq!(s.care_plans[0].category, "palliative");
    let dx: Vec<&str> = s.diagnoses.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(dx, ["F03.9", "I50.9"]);
}

#[test]
fn bad_input_is_counted_and_skipped_and_the_rest_mapped() {
    let task = |id: &str, patient: &str| {
        json!({"resourceType": "Task", "id": id, "status": "requested", "intent": "order",
        "code": {"coding": [{"system": format!("{L}/nursing-activity"), "code": "shower"}]},
        "for": {"reference": format!("Patient/{patient}")}})
    };
    let mut resources = base("394802001");
    resources.push(json!({"resourceType": "Encounter", "id": "enc-dangling", "status": "in-progress",
        "class": {"code": "IMP"}, "subject": {"reference": "Patient/pat-2"}, "period": {"start": "2026-11-22T08:00:00Z"},
        "location": [{"location": {"reference": "Location/nowhere"}}]}));
    let mut text: Vec<String> = resources.iter().map(Value::to_string).collect();
    text.push("{\"resourceType\": \"Task\", \"id\": ".to_owned());
    for v in [
        task("t-ok", "pat-1"),
        task("t-off-ward", "pat-9"),
        med("m-odd", (SCT, "999999"), json!({})),
        obs("o-empty", LOINC, "9279-1", json!({})),
    ] {
        text.push(v.to_string());
    }
    let mut res = Resources::new();
    let mut rr = ReadReport::default();
    read_ndjson_str(&text.join("\n"), "bad", &mut res, &mut rr);
    let (s, report) = map(&res, &Mapping::default(), &PseudonymKey::development(), as_of());
    assert_eq!(rr.skipped.len(), 1, "the malformed line");
    assert!(rr.skipped[0].reason.contains("not JSON"));
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].activities.len(), 1);
    assert_eq!(s[0].medications[0].route, Route::Other);
    let why = |r: &str| {
        report
            .skipped
            .iter()
            .find(|s| s.reference() == r)
            .map(|s| s.reason.clone())
    };
    assert!(
        why("Encounter/enc-dangling").unwrap().contains("dangling"),
        "{report:#?}"
    );
    assert!(why("Task/t-off-ward").unwrap().contains("not among the Patients read"));
    assert!(why("Observation/o-empty").unwrap().contains("no usable value"));
    assert!(
        report
            .incomplete
            .iter()
            .any(|s| s.reference() == "MedicationRequest/m-odd" && s.reason.contains("999999"))
    );
}

#[test]
fn items_of_a_finished_stay_are_out_of_scope_not_skipped() {
    // a discharged patient's tasks and diagnoses are normal, not bad data:
    // counted as out of scope, never warned about one by one
    let mut resources = base("394802001");
    resources.push(json!({"resourceType": "Patient", "id": "pat-2", "gender": "male", "birthDate": "1950"}));
    resources.push(json!({"resourceType": "Encounter", "id": "enc-2", "status": "finished",
        "class": {"code": "IMP"}, "subject": {"reference": "Patient/pat-2"},
        "period": {"start": "2026-11-20T08:00:00Z", "end": "2026-11-22T08:00:00Z"},
        "location": [{"location": {"reference": "Location/w1-r1-b1"}}]}));
    let task = |id: &str, encounter: Option<&str>, patient: &str| {
        let mut t = json!({"resourceType": "Task", "id": id, "status": "requested", "intent": "order",
            "code": {"coding": [{"system": format!("{L}/nursing-activity"), "code": "shower"}]},
            "for": {"reference": format!("Patient/{patient}")}});
        if let Some(e) = encounter {
            t["encounter"] = json!({"reference": format!("Encounter/{e}")});
        }
        t
    };
    let (s, report, _) = run_with(
        resources,
        vec![
            task("t-finished-stay", Some("enc-2"), "pat-2"),
            task("t-discharged-patient", None, "pat-2"),
            task("t-unknown-stay", Some("enc-404"), "pat-1"),
        ],
    );
    assert_eq!(s.len(), 1);
    let scope = |key: &str| report.out_of_scope.get(key).copied().unwrap_or(0);
    assert_eq!(
        scope("Task: its stay is not an in-progress inpatient stay on a ward"),
        1,
        "{report:#?}"
    );
    assert_eq!(scope("Task: its patient is not on a ward"), 1, "{report:#?}");
    // a stay careload never read is a data problem: skipped, with the reason
    let skipped: Vec<String> = report.skipped.iter().map(|s| s.reference()).collect();
    assert_eq!(skipped, ["Task/t-unknown-stay"], "{report:#?}");
    assert!(report.skipped[0].reason.contains("not among the Encounters read"));
}

// ---- record shapes real servers and real records carry (issue 22) ----------

/// A finished earlier stay of the same patient, as real records keep it.
fn earlier_stay() -> Value {
    json!({"resourceType": "Encounter", "id": "enc-0", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": "Patient/pat-1"},
        "period": {"start": "2025-03-01T10:00:00Z", "end": "2025-03-09T12:00:00Z"}})
}

#[test]
fn a_diagnosis_recorded_during_an_earlier_stay_counts_for_the_current_one() {
    let clinical = |status: &str| json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": status}]});
    let dx = |id: &str, code: &str, status: &str, encounter: &str| {
        json!({"resourceType": "Condition", "id": id, "clinicalStatus": clinical(status),
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": code}]},
            "subject": {"reference": "Patient/pat-1"}, "encounter": {"reference": encounter},
            "recordedDate": "2025-03-02"})
    };
    let (s, report, rr) = run(vec![
        earlier_stay(),
        dx("c-prior", "F32.1", "active", "Encounter/enc-0"),
        dx("c-relapse", "F10.2", "relapse", "Encounter/enc-0"),
        dx("c-resolved", "J18.9", "resolved", "Encounter/enc-0"),
        // recorded on a stay the server did not return at all
        dx("c-elsewhere", "I48.9", "recurrence", "Encounter/enc-unknown"),
        dx("c-now", "I50.9", "active", "Encounter/enc-1"),
        // an earlier stay's encounter diagnosis without a clinical status, and an abated one: not now
        json!({"resourceType": "Condition", "id": "c-no-status",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "S72.0"}]},
            "subject": {"reference": "Patient/pat-1"}, "encounter": {"reference": "Encounter/enc-0"}}),
        {
            let mut abated = dx("c-abated", "J44.1", "active", "Encounter/enc-0");
            abated["abatementDateTime"] = json!("2025-04-01");
            abated
        },
    ]);
    assert!(rr.skipped.is_empty(), "{:?}", rr.skipped);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(s.len(), 1, "the finished stay makes no snapshot");
    let mut dx: Vec<&str> = s[0].diagnoses.iter().map(|d| d.code.as_str()).collect();
    dx.sort_unstable();
    assert_eq!(dx, ["F10.2", "F32.1", "I48.9", "I50.9"]);
}

#[test]
fn date_only_times_are_the_start_of_the_local_day_and_never_drop_the_stay() {
    let mut resources = base("394802001");
    // an admission known to the day only
    resources[5]["period"] = json!({"start": "2026-11-22"});
    let (s, report, _) = run_with(
        resources,
        vec![
            obs(
                "o-norton",
                &format!("{L}/observation"),
                "norton-physical-activity",
                json!({"effectiveDateTime": "2026-11-23", "valueInteger": 2}),
            ),
            json!({"resourceType": "Task", "id": "t-day", "status": "requested", "intent": "order",
                "code": {"coding": [{"system": format!("{L}/nursing-activity"), "code": "shower"}]},
                "for": {"reference": "Patient/pat-1"}, "encounter": {"reference": "Encounter/enc-1"},
                "executionPeriod": {"start": "2026-11-23"}, "authoredOn": "2026-11-22"}),
            json!({"resourceType": "ServiceRequest", "id": "sr-day", "status": "active", "intent": "order",
                "category": [{"coding": [{"system": format!("{L}/order-category"), "code": "lab-sample"}]}],
                "subject": {"reference": "Patient/pat-1"}, "encounter": {"reference": "Encounter/enc-1"},
                "occurrenceDateTime": "2026-11-24", "authoredOn": "2026-11-23"}),
        ],
    );
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(s.len(), 1, "{report:?}");
    let s = &s[0];
    // Europe/Stockholm, winter: local midnight is 23:00 UTC the day before
    let midnight = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 23, 0, 0).unwrap();
    assert_eq!(s.admitted_at, midnight(21));
    let norton = s.norton.as_ref().expect("the date-only Norton is read");
    assert_eq!(norton.activity, NortonActivity::Wheelchair);
    assert_eq!(norton.assessed_at, midnight(22));
    assert_eq!(s.activities.len(), 1);
    assert_eq!(s.activities[0].due, Some(midnight(22)));
    assert_eq!(s.orders[0].due, Some(midnight(23)));
}

#[test]
fn encounter_type_is_not_a_specialty() {
    // Synthea's stays carry `type` "Inpatient stay" (SNOMED 183452005) and no serviceType
    let mut resources = base("394802001");
    let enc = &mut resources[5];
    enc.as_object_mut().unwrap().remove("serviceType");
    enc["type"] = json!([{"coding": [{"system": SCT, "code": "183452005", "display": "Inpatient stay"}]}]);
    let (s, _, _) = run_with(resources, vec![]);
    assert_eq!(s[0].specialty, None);
    assert!(!s[0].outlying, "a stay whose specialty is unknown is no outlier");
}

#[test]
fn real_records_vital_sign_codes_are_read() {
    // Synthea: oral temperature 8331-1 and the BP panel 55284-4 with its components
    let s = one(vec![
        obs(
            "o-temp",
            LOINC,
            "8331-1",
            json!({"valueQuantity": {"value": 38.4, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"}}),
        ),
        obs(
            "o-bp",
            LOINC,
            "55284-4",
            json!({"component": [
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": {"value": 70, "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": {"value": 96, "code": "mm[Hg]"}}]}),
        ),
        obs(
            "o-rr",
            LOINC,
            "9279-1",
            json!({"valueQuantity": {"value": 22, "code": "/min"}}),
        ),
    ]);
    assert_eq!(s.vitals.len(), 1, "one set at one time");
    let v = &s.vitals[0].vitals;
    assert_eq!(v.temperature, Some(38.4));
    assert_eq!(v.systolic_bp, Some(96));
    assert_eq!(v.respiration_rate, Some(22));
}

#[test]
fn stays_without_any_observation_are_counted_when_others_have_some() {
    let mut resources = base("394802001");
    resources.push(json!({"resourceType": "Patient", "id": "pat-2", "gender": "male", "birthDate": "1950"}));
    resources.push(
        json!({"resourceType": "Encounter", "id": "enc-2", "status": "in-progress",
        "class": {"code": "IMP"}, "subject": {"reference": "Patient/pat-2"},
        "period": {"start": "2026-11-22T08:00:00Z"},
        "location": [{"location": {"reference": "Location/w1-r1-b1"}, "status": "active"}]}),
    );
    let (s, report, _) = run_with(resources.clone(), vec![]);
    assert_eq!(s.len(), 2);
    assert_eq!(
        report.stays_without_observations, 0,
        "no stay has any: nothing to compare"
    );
    let (_, report, _) = run_with(
        resources,
        vec![obs("o-rr", LOINC, "9279-1", json!({"valueInteger": 18}))],
    );
    assert_eq!(report.stays_without_observations, 1);
}
