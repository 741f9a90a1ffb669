//! The simulated hospital as its users see it: deterministic files, model
//! statistics within stated ranges, and structurally valid FHIR R4.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};

use careload_scoring::Weights;
use careload_scoring::news2::{Acvpu, Spo2Scale, Vitals, news2};
use careload_sim::{Hospital, RESOURCE_TYPES, SimConfig, codes};
use careload_testkit::TempDir;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

fn start() -> DateTime<Utc> {
    "2026-11-23T09:00:00Z".parse().unwrap()
}

fn hospital(seed: u64, beds: u32, hours: u32) -> Hospital {
    let mut h = Hospital::new(SimConfig {
        beds,
        ..SimConfig::new(seed, start())
    })
    .unwrap();
    h.advance_hours(hours);
    h
}

fn weights() -> Weights {
    Weights::from_toml(include_str!("../../../weights/2026.1.toml"), "weights/2026.1.toml").unwrap()
}

fn files(dir: &TempDir) -> BTreeMap<String, Vec<u8>> {
    RESOURCE_TYPES
        .iter()
        .map(|t| {
            let name = format!("{t}.ndjson");
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

// --- determinism ------------------------------------------------------------

#[test]
fn the_same_seed_gives_the_same_files_and_another_seed_does_not() {
    let (a, b, c) = (
        TempDir::new("sim-det-a"),
        TempDir::new("sim-det-b"),
        TempDir::new("sim-det-c"),
    );
    let sa = hospital(11, 120, 30).write_ndjson(a.path()).unwrap();
    let sb = hospital(11, 120, 30).write_ndjson(b.path()).unwrap();
    let sc = hospital(12, 120, 30).write_ndjson(c.path()).unwrap();
    assert_eq!(sa, Summary::strip(sb.clone(), &b, &a));
    assert!(sa.total() > 1000, "{sa:?}");
    assert_eq!(files(&a), files(&b));
    let (fa, fc) = (files(&a), files(&c));
    for t in ["Patient", "Task", "Observation"] {
        let name = format!("{t}.ndjson");
        assert_ne!(fa[&name], fc[&name], "{name} identical for different seeds");
    }
    let _ = sc;
}

/// Summaries name their files; compare them as if written to the same place.
struct Summary;

impl Summary {
    fn strip(mut s: careload_sim::Summary, from: &TempDir, to: &TempDir) -> careload_sim::Summary {
        for f in &mut s.files {
            *f = to.join(f.strip_prefix(from.path()).unwrap());
        }
        s
    }
}

#[test]
fn advancing_to_an_instant_equals_advancing_by_hours() {
    let mut a = hospital(5, 60, 0);
    let mut b = hospital(5, 60, 0);
    a.advance_hours(7);
    b.advance_to(start() + chrono::Duration::minutes(7 * 60 + 59));
    assert_eq!(a.now(), b.now());
    let va: Vec<Value> = a.resources().collect();
    let vb: Vec<Value> = b.resources().collect();
    assert_eq!(va, vb);
}

#[test]
fn impossible_hospitals_are_refused() {
    let err = Hospital::new(SimConfig {
        beds: 10,
        ..SimConfig::new(1, start())
    })
    .unwrap_err();
    assert!(err.to_string().contains("at least 4 beds per ward"), "{err}");
    assert_eq!(SimConfig::new(1, start()).ward_count(), 6);
    let big = SimConfig {
        beds: 1000,
        ..SimConfig::new(1, start())
    };
    assert_eq!(big.ward_count(), 33);
}

// --- statistics ---------------------------------------------------------------

/// Documented items (resources other than Patient and Encounter) per patient id.
fn items_per_patient(resources: &[Value]) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for r in resources {
        let subject = r.get("subject").or_else(|| r.get("for"));
        if let Some(s) = subject.and_then(|s| s["reference"].as_str()) {
            *n.entry(s.trim_start_matches("Patient/").to_owned()).or_insert(0) += 1;
        }
    }
    n
}

#[test]
fn statistics_stay_within_the_stated_ranges() {
    let targets = [0.40, 0.30, 0.15, 0.15];
    for seed in [1, 2, 3] {
        let h = hospital(seed, 300, 120);
        let s = h.stats();
        assert_eq!(s.hours, 120);
        assert!(
            (0.90..=1.05).contains(&s.occupancy),
            "seed {seed}: occupancy {}",
            s.occupancy
        );
        let los = s.los_days.clone().unwrap();
        assert!(los.count > 100, "seed {seed}: {los:?}");
        assert!((2.0..=8.0).contains(&los.median), "seed {seed}: {los:?}");
        for (got, want) in s.norton_mix.iter().zip(targets) {
            assert!((got - want).abs() <= 0.10, "seed {seed}: Norton {:?}", s.norton_mix);
        }
        // NEWS2: mostly 0–4, some 5 and above, both among inpatients and measurements
        let [low, mid, high] = s.news2_patient_mix;
        assert!(low > 0.8 && mid + high > 0.01, "seed {seed}: {:?}", s.news2_patient_mix);
        let total: u64 = s.news2_histogram.iter().sum();
        let high_measurements: u64 = s.news2_histogram[5..].iter().sum();
        assert!(
            high_measurements > 0 && high_measurements < total / 2,
            "{:?}",
            s.news2_histogram
        );
        assert!(
            s.outlier_share > 0.0 && s.outlier_share < 0.15,
            "seed {seed}: outliers {}",
            s.outlier_share
        );
        assert!(s.newly_admitted > 0);
        assert!(s.admissions > 0 && s.discharges > 0);

        // Newly admitted patients have thinner documentation than long stays.
        let resources: Vec<Value> = h.resources().collect();
        let items = items_per_patient(&resources);
        let now = h.now();
        let mut new = Vec::new();
        let mut old = Vec::new();
        for enc in resources.iter().filter(|r| r["resourceType"] == "Encounter") {
            if enc["status"] != "in-progress" {
                continue;
            }
            let admitted: DateTime<Utc> = enc["period"]["start"].as_str().unwrap().parse().unwrap();
            let pid = enc["subject"]["reference"]
                .as_str()
                .unwrap()
                .trim_start_matches("Patient/");
            let n = items.get(pid).copied().unwrap_or(0);
            let hours = (now - admitted).num_hours();
            if hours < 6 {
                new.push(n);
            } else if hours >= 48 {
                old.push(n);
            }
        }
        let mean = |v: &[usize]| v.iter().sum::<usize>() as f64 / v.len().max(1) as f64;
        assert!(!new.is_empty() && !old.is_empty());
        assert!(
            mean(&new) * 2.0 < mean(&old),
            "seed {seed}: new {} vs long-staying {}",
            mean(&new),
            mean(&old)
        );
    }
}

// --- structure ------------------------------------------------------------------

fn collect_references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "reference" {
                    out.push(x.as_str().unwrap().to_owned());
                } else {
                    collect_references(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_references(x, out)),
        _ => {}
    }
}

fn keys_named(v: &Value, name: &str, path: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if k == name {
                    out.push(p.clone());
                }
                keys_named(x, name, &p, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys_named(x, name, path, out)),
        _ => {}
    }
}

fn codings(cc: &Value) -> Vec<(&str, &str)> {
    cc["coding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["system"].as_str().unwrap(), c["code"].as_str().unwrap()))
        .collect()
}

fn instant(v: &Value) -> DateTime<Utc> {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

#[test]
fn every_resource_is_structurally_valid_r4() {
    let h = hospital(21, 180, 36);
    let w = weights();
    let resources: Vec<Value> = h.resources().collect();
    let mut ids: HashMap<&str, HashSet<&str>> = HashMap::new();
    for r in &resources {
        let ty = r["resourceType"].as_str().unwrap();
        assert!(RESOURCE_TYPES.contains(&ty), "{ty}");
        let id = r["id"].as_str().unwrap();
        assert!(
            !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
            "bad id {id}"
        );
        assert!(ids.entry(ty).or_default().insert(id), "duplicate {ty}/{id}");
        let updated = instant(&r["meta"]["lastUpdated"]);
        assert!(updated <= h.now(), "{ty}/{id} updated in the future");
    }
    for t in RESOURCE_TYPES {
        assert!(ids.get(t).is_some_and(|s| !s.is_empty()), "no {t}");
    }
    // every reference resolves
    for r in &resources {
        let mut refs = Vec::new();
        collect_references(r, &mut refs);
        for reference in refs {
            let (ty, id) = reference.split_once('/').unwrap();
            assert!(
                ids.get(ty).is_some_and(|s| s.contains(id)),
                "{reference} does not resolve"
            );
        }
    }
    // no narrative, no free text: the only `text`-like content is the synthetic name
    let mut unknown_tasks = 0;
    let mut tasks = 0;
    let mut news2_by_set: HashMap<String, (Option<u8>, Vitals)> = HashMap::new();
    for r in &resources {
        let mut texts = Vec::new();
        keys_named(r, "text", "", &mut texts);
        keys_named(r, "div", "", &mut texts);
        keys_named(r, "note", "", &mut texts);
        assert!(texts.is_empty(), "free text at {texts:?} in {r}");
        let mut names = Vec::new();
        keys_named(r, "name", "", &mut names);
        let ty = r["resourceType"].as_str().unwrap();
        match ty {
            "Patient" => {
                assert_eq!(names, [".name"]);
                assert_eq!(r["name"][0]["given"][0], "Testperson");
                let ident = &r["identifier"][0];
                assert_eq!(ident["system"], codes::PERSONNUMMER);
                assert!(ident["value"].as_str().unwrap().ends_with("-TEST"));
                assert!(matches!(r["gender"].as_str(), Some("female" | "male")));
                let birth = NaiveDate::parse_from_str(r["birthDate"].as_str().unwrap(), "%Y-%m-%d").unwrap();
                let age = (h.now().date_naive() - birth).num_days() / 365;
                assert!((18..=101).contains(&age), "age {age}");
            }
            "Location" => assert_eq!(names, [".name"]),
            _ => assert!(names.is_empty(), "{names:?} in {ty}"),
        }
        match ty {
            "Location" => {
                let pt = codings(&r["physicalType"]);
                assert_eq!(pt[0].0, codes::LOCATION_PHYSICAL_TYPE);
                // the site, its departments (wings), then wards, teams, rooms, beds
                assert!(["si", "wi", "wa", "area", "ro", "bd"].contains(&pt[0].1));
                assert_eq!(r.get("partOf").is_none(), pt[0].1 == "si");
                if pt[0].1 == "wa" {
                    let types = r["type"].as_array().unwrap();
                    let spec = codings(&types[0]);
                    assert!(codes::SPECIALTIES.iter().any(|s| s.snomed == spec[0].1));
                    let cat = codings(&types[1]);
                    assert_eq!(cat[0].0, codes::CARE_CATEGORY);
                    assert!(w.staff_hours.contains_key(cat[0].1), "{cat:?}");
                }
            }
            "Encounter" => {
                assert_eq!(r["class"]["system"], codes::V3_ACT_CODE);
                assert_eq!(r["class"]["code"], "IMP");
                let start = instant(&r["period"]["start"]);
                match r["status"].as_str().unwrap() {
                    "in-progress" => assert!(r["period"].get("end").is_none()),
                    "finished" => assert!(instant(&r["period"]["end"]) > start),
                    other => panic!("status {other}"),
                }
                let st = codings(&r["serviceType"]);
                assert!(codes::SPECIALTIES.iter().any(|s| s.snomed == st[0].1));
            }
            "Task" => {
                tasks += 1;
                assert!(["requested", "completed", "cancelled"].contains(&r["status"].as_str().unwrap()));
                assert_eq!(r["intent"], "order");
                let c = codings(&r["code"]);
                assert_eq!(c[0].0, codes::NURSING_ACTIVITY);
                if w.activity(c[0].1).is_none() {
                    assert!(codes::UNKNOWN_ACTIVITIES.contains(&c[0].1), "{}", c[0].1);
                    unknown_tasks += 1;
                }
                let due = instant(&r["executionPeriod"]["start"]);
                assert!(instant(&r["authoredOn"]) <= due);
                if let Some(p) = r.get("performerType") {
                    let c = codings(&p[0]);
                    assert_eq!(c[0].0, codes::PROFESSION);
                    assert!(codes::PROFESSIONS.contains(&c[0].1));
                }
            }
            "ServiceRequest" => {
                let c = codings(&r["category"][0]);
                assert_eq!(c[0].0, codes::ORDER_CATEGORY);
                assert!(w.order(c[0].1).is_some(), "{}", c[0].1);
                instant(&r["occurrenceDateTime"]);
                assert!(["active", "completed", "revoked"].contains(&r["status"].as_str().unwrap()));
            }
            "CarePlan" => {
                let c = codings(&r["category"][0]);
                assert_eq!(c[0].0, codes::CARE_PLAN_CATEGORY);
                assert!(w.care_plan(c[0].1).is_some(), "{}", c[0].1);
                assert_eq!(r["intent"], "plan");
                instant(&r["period"]["start"]);
            }
            "Condition" => {
                let c = codings(&r["code"]);
                assert!([codes::ICD10_SE, codes::ICD10].contains(&c[0].0));
                assert_eq!(codings(&r["clinicalStatus"])[0].1, "active");
            }
            "MedicationRequest" => {
                assert_eq!(codings(&r["medicationCodeableConcept"])[0].0, codes::ATC);
                let d = &r["dosageInstruction"][0];
                let route = codings(&d["route"]);
                assert_eq!(route[0].0, codes::SNOMED);
                assert!(codes::ROUTES.iter().any(|x| x.snomed == route[0].1));
                let repeat = &d["timing"]["repeat"];
                assert_eq!(repeat["periodUnit"], "d");
                let f = repeat["frequency"].as_u64().unwrap();
                if let Some(times) = repeat.get("timeOfDay") {
                    assert_eq!(times.as_array().unwrap().len() as u64, f);
                    for t in times.as_array().unwrap() {
                        chrono::NaiveTime::parse_from_str(t.as_str().unwrap(), "%H:%M:%S").unwrap();
                    }
                }
                assert!(d["asNeededBoolean"].is_boolean());
            }
            "Observation" => {
                assert_eq!(r["status"], "final");
                instant(&r["effectiveDateTime"]);
                let c = codings(&r["code"]);
                let (system, code) = c[0];
                let known = match system {
                    codes::SNOMED => code == codes::NEWS2_TOTAL,
                    codes::LOINC => [
                        codes::RESPIRATORY_RATE,
                        codes::SPO2,
                        codes::HEART_RATE,
                        codes::BODY_TEMPERATURE,
                        codes::BP_PANEL,
                    ]
                    .contains(&code),
                    codes::OBSERVATION => codes::LOCAL_OBSERVATIONS.contains(&code),
                    _ => false,
                };
                assert!(known, "observation code {system}|{code}");
                if let Some(q) = r.get("valueQuantity") {
                    assert_eq!(q["system"], codes::UCUM);
                }
                collect_vitals(r, &mut news2_by_set);
            }
            _ => {}
        }
    }
    // about 1 % of tasks carry a code the weights do not know
    assert!(tasks > 1000, "{tasks}");
    let share = f64::from(unknown_tasks) / f64::from(tasks);
    assert!((0.002..0.03).contains(&share), "unknown share {share}");
    // charted NEWS2 totals agree with the scoring crate's NEWS2 of the same vital signs
    let mut checked = 0;
    let mut uncharted = 0;
    for (set, (total, vitals)) in &news2_by_set {
        let computed = news2(vitals).unwrap_or_else(|e| panic!("{set}: {e}"));
        match total {
            Some(t) => {
                assert_eq!(*t, computed.total, "{set}: {vitals:?}");
                checked += 1;
            }
            None => uncharted += 1,
        }
    }
    assert!(checked > 100 && uncharted > 10, "{checked} {uncharted}");
    let uncharted_share = f64::from(uncharted) / f64::from(checked + uncharted);
    assert!((0.1..0.3).contains(&uncharted_share), "{uncharted_share}");
}

/// Groups vital-sign observations by measurement (`<patient>-m<k>-<kind>`).
fn collect_vitals(r: &Value, sets: &mut HashMap<String, (Option<u8>, Vitals)>) {
    let id = r["id"].as_str().unwrap();
    let Some((set, kind)) = id.rsplit_once('-') else {
        return;
    };
    if !set.rsplit('-').next().is_some_and(|s| s.starts_with('m')) {
        return;
    }
    let e = sets.entry(set.to_owned()).or_default();
    let q = |v: &Value| v["valueQuantity"]["value"].as_f64().unwrap();
    match kind {
        "news2" => e.0 = Some(r["valueInteger"].as_u64().unwrap() as u8),
        "rr" => e.1.respiration_rate = Some(q(r) as u16),
        "spo2" => e.1.spo2 = Some(q(r) as u8),
        "hr" => e.1.pulse = Some(q(r) as u16),
        "temp" => e.1.temperature = Some(q(r)),
        "bp" => e.1.systolic_bp = Some(r["component"][0]["valueQuantity"]["value"].as_u64().unwrap() as u16),
        "o2" => e.1.on_oxygen = r["valueBoolean"].as_bool(),
        "scale2" => e.1.spo2_scale = Spo2Scale::Scale2,
        "acvpu" => {
            e.1.consciousness = Some(match codings(&r["valueCodeableConcept"])[0].1 {
                "A" => Acvpu::Alert,
                "C" => Acvpu::NewConfusion,
                "V" => Acvpu::Voice,
                "P" => Acvpu::Pain,
                _ => Acvpu::Unresponsive,
            })
        }
        other => panic!("unexpected vital {other} in {id}"),
    }
}

#[test]
fn the_transaction_bundle_references_resolve_within_it() {
    let h = hospital(3, 60, 12);
    let bundle = h.transaction_bundle();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "transaction");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), h.resources().count());
    let mut full_urls = HashSet::new();
    for e in entries {
        let url = e["fullUrl"].as_str().unwrap();
        assert!(url.starts_with("urn:uuid:") && url.len() == 9 + 36, "{url}");
        assert!(full_urls.insert(url.to_owned()), "duplicate {url}");
        let r = &e["resource"];
        assert_eq!(e["request"]["method"], "PUT");
        assert_eq!(
            e["request"]["url"].as_str().unwrap(),
            format!("{}/{}", r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap())
        );
        assert_eq!(
            url,
            format!(
                "urn:uuid:{}",
                careload_sim::uuid_for(r["resourceType"].as_str().unwrap(), r["id"].as_str().unwrap())
            )
        );
    }
    for e in entries {
        let mut refs = Vec::new();
        collect_references(&e["resource"], &mut refs);
        for r in refs {
            assert!(full_urls.contains(&r), "{r} does not resolve in the bundle");
        }
    }
    // streaming gives the same bundle
    let mut bytes = Vec::new();
    let n = h.write_transaction_bundle(&mut bytes).unwrap();
    assert_eq!(n, entries.len());
    let streamed: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(streamed, bundle);
}

#[test]
fn a_thousand_bed_hospital_has_about_a_hundred_thousand_resources() {
    let h = hospital(1, 1000, 24);
    let n = h.resources().count();
    assert!((80_000..=150_000).contains(&n), "{n}");
}
