//! The hospital's present state as FHIR R4 (4.0.1) resources, built by hand
//! as `serde_json::Value` in the shapes real servers emit.
//!
//! Every resource has a deterministic id and `meta.lastUpdated`, the
//! simulated instant it last changed, so that `_lastUpdated` searches can be
//! served later. There is no narrative (`text`) and no free text; the only
//! human name is the synthetic one on `Patient`. References are relative
//! (`Patient/p000042`) or, for transaction bundles, `urn:uuid:` of the
//! target's deterministic UUID ([`uuid_for`]).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use serde_json::{Map, Value, json};

use crate::codes::{self, ROUTES, SPECIALTIES};
use crate::model::{Hospital, Ward};
use crate::patient::{Measurement, Patient};

/// How references are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefStyle {
    /// `Type/id`, as a server or Bulk Data export writes them.
    Relative,
    /// `urn:uuid:<uuid>`, as in a transaction bundle (like Synthea's).
    Urn,
}

/// The deterministic UUID of a resource (a name-based UUID, version 8 per
/// RFC 9562, from a 128-bit FNV-1a hash of `Type/id`).
pub fn uuid_for(resource_type: &str, id: &str) -> String {
    let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in resource_type.bytes().chain(std::iter::once(b'/')).chain(id.bytes()) {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    // version 8, variant 10
    h = (h & !(0xF << 76)) | (0x8 << 76);
    h = (h & !(0x3 << 62)) | (0x2 << 62);
    let s = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// A FHIR instant/dateTime in UTC with seconds (`2026-11-23T09:00:00+00:00`).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    // by hand: chrono's `format` parses its pattern on every call
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

fn reference(style: RefStyle, ty: &str, id: &str) -> Value {
    let r = match style {
        RefStyle::Relative => format!("{ty}/{id}"),
        RefStyle::Urn => format!("urn:uuid:{}", uuid_for(ty, id)),
    };
    json!({ "reference": r })
}

fn coding(system: &str, code: &str) -> Value {
    json!({ "system": system, "code": code })
}

fn coding_d(system: &str, code: &str, display: &str) -> Value {
    json!({ "system": system, "code": code, "display": display })
}

fn cc(coding: Value) -> Value {
    json!({ "coding": [coding] })
}

fn base(ty: &str, id: &str, updated: DateTime<Utc>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("resourceType".into(), json!(ty));
    m.insert("id".into(), json!(id));
    m.insert("meta".into(), json!({ "lastUpdated": ts(updated) }));
    m
}

/// The simulated hospital's site: the Location (physicalType `si`) every
/// department is `partOf`, as `careload mapping organisation` reads it.
pub const SITE: (&str, &str) = ("sjukhuset", "Simulerade sjukhuset");

/// The hospital's departments (*verksamheter*): id, name and the
/// specialties ([`SPECIALTIES`] keys) whose wards are `partOf` it. Each is a
/// Location of physicalType `wi` (wing) `partOf` the [`SITE`]; only those
/// with a ward are written.
pub const DEPARTMENTS: [(&str, &str, &[&str]); 3] = [
    (
        "medicinkliniken",
        "Medicinkliniken",
        &["general-medicine", "cardiology", "geriatrics", "infectious-diseases"],
    ),
    ("kirurgkliniken", "Kirurgkliniken", &["general-surgery", "orthopaedics"]),
    (
        "neuro-onkologi",
        "Neuro- och onkologikliniken",
        &["neurology", "oncology"],
    ),
];

/// The index in [`DEPARTMENTS`] of the department of a ward of `specialty`
/// (an index into [`SPECIALTIES`]); the first for a specialty none lists.
fn department_of(specialty: usize) -> usize {
    let key = SPECIALTIES[specialty % SPECIALTIES.len()].key;
    DEPARTMENTS
        .iter()
        .position(|(_, _, keys)| keys.contains(&key))
        .unwrap_or(0)
}

/// The Locations above the wards: the [`SITE`], then each of the
/// [`DEPARTMENTS`] that has one of `wards`, `partOf` the site.
fn organisation_locations(wards: &[Ward], created: DateTime<Utc>, style: RefStyle, out: &mut Vec<Value>) {
    let physical = |code: &str, display: &str| cc(coding_d(codes::LOCATION_PHYSICAL_TYPE, code, display));
    let mut site = base("Location", SITE.0, created);
    site.insert("status".into(), json!("active"));
    site.insert("name".into(), json!(SITE.1));
    site.insert("mode".into(), json!("instance"));
    site.insert("physicalType".into(), physical("si", "Site"));
    out.push(Value::Object(site));
    for (d, (id, name, _)) in DEPARTMENTS.iter().enumerate() {
        if !wards.iter().any(|w| department_of(w.specialty) == d) {
            continue;
        }
        let mut dept = base("Location", id, created);
        dept.insert("status".into(), json!("active"));
        dept.insert("name".into(), json!(name));
        dept.insert("mode".into(), json!("instance"));
        dept.insert("physicalType".into(), physical("wi", "Wing"));
        dept.insert("partOf".into(), reference(style, "Location", SITE.0));
        out.push(Value::Object(dept));
    }
}

/// The Locations of one ward: the ward (`partOf` its department), its
/// teams, rooms and beds.
pub(crate) fn ward_locations(w: &Ward, created: DateTime<Utc>, style: RefStyle, out: &mut Vec<Value>) {
    let spec = &SPECIALTIES[w.specialty];
    let physical = |code: &str, display: &str| cc(coding_d(codes::LOCATION_PHYSICAL_TYPE, code, display));
    let mut ward = base("Location", &w.id, created);
    ward.insert("status".into(), json!("active"));
    ward.insert(
        "name".into(),
        json!(format!("Avdelning {} ({})", w.number, spec.swedish)),
    );
    ward.insert("mode".into(), json!("instance"));
    ward.insert(
        "type".into(),
        json!([
            cc(coding_d(codes::SNOMED, spec.snomed, spec.display)),
            cc(coding(codes::CARE_CATEGORY, spec.care_category)),
        ]),
    );
    ward.insert("physicalType".into(), physical("wa", "Ward"));
    ward.insert(
        "partOf".into(),
        reference(style, "Location", DEPARTMENTS[department_of(w.specialty)].0),
    );
    out.push(Value::Object(ward));
    for (t, team_id) in w.teams.iter().enumerate() {
        let mut team = base("Location", team_id, created);
        team.insert("status".into(), json!("active"));
        let letter = char::from(b'A' + t as u8);
        team.insert("name".into(), json!(format!("Avdelning {} vårdlag {letter}", w.number)));
        team.insert("mode".into(), json!("instance"));
        team.insert("physicalType".into(), physical("area", "Area"));
        team.insert("partOf".into(), reference(style, "Location", &w.id));
        out.push(Value::Object(team));
    }
    for room in &w.rooms {
        let mut r = base("Location", &room.id, created);
        r.insert("status".into(), json!("active"));
        r.insert(
            "name".into(),
            json!(format!("Avdelning {} sal {}", w.number, room.number)),
        );
        r.insert("mode".into(), json!("instance"));
        r.insert("physicalType".into(), physical("ro", "Room"));
        r.insert("partOf".into(), reference(style, "Location", &w.teams[room.team]));
        out.push(Value::Object(r));
    }
    for bed in &w.beds {
        let mut b = base("Location", &bed.id, bed.created);
        b.insert("status".into(), json!("active"));
        let (name, parent) = match bed.room {
            Some(r) => (
                format!("Avdelning {} sal {} säng {}", w.number, w.rooms[r].number, bed.number),
                &w.rooms[r].id,
            ),
            None => (
                format!("Avdelning {} extrasäng {}", w.number, bed.number),
                &w.teams[bed.team],
            ),
        };
        b.insert("name".into(), json!(name));
        b.insert("mode".into(), json!("instance"));
        b.insert("physicalType".into(), physical("bd", "Bed"));
        b.insert("partOf".into(), reference(style, "Location", parent));
        out.push(Value::Object(b));
    }
}

/// Says whether the Observation with this id and `meta.lastUpdated` is
/// already served unchanged (see [`Hospital::values_reusing`]).
pub(crate) type Reusable<'a> = &'a dyn Fn(&str, &str, DateTime<Utc>) -> bool;

/// Emits one patient's resources at `now`.
struct Emitter<'a> {
    p: &'a Patient,
    h: &'a Hospital,
    now: DateTime<Utc>,
    style: RefStyle,
    pid: String,
    eid: String,
    reusable: Option<Reusable<'a>>,
}

impl Emitter<'_> {
    /// The stub standing for a resource that is already served unchanged:
    /// its type, id and `meta.lastUpdated` only. Only for resources whose
    /// content is fixed by their id and `meta.lastUpdated` (every change
    /// stamps them anew): not the Encounter, whose bed can change.
    fn reused(&self, ty: &str, id: &str, at: DateTime<Utc>) -> Option<Value> {
        let reusable = self.reusable?;
        reusable(ty, id, at).then(|| Value::Object(base(ty, id, at)))
    }

    /// Pushes the Observation `id` at `at`: its stub when already served
    /// unchanged, else what `build` makes.
    fn push_observation(
        &self,
        out: &mut Vec<Value>,
        id: String,
        at: DateTime<Utc>,
        build: impl FnOnce(String) -> Value,
    ) {
        out.push(match self.reused("Observation", &id, at) {
            Some(stub) => stub,
            None => build(id),
        });
    }

    fn subject(&self) -> Value {
        reference(self.style, "Patient", &self.pid)
    }

    fn encounter(&self) -> Value {
        reference(self.style, "Encounter", &self.eid)
    }

    fn patient(&self) -> Value {
        let p = self.p;
        if let Some(stub) = self.reused("Patient", &self.pid, p.admitted) {
            return stub;
        }
        let mut m = base("Patient", &self.pid, p.admitted);
        m.insert(
            "identifier".into(),
            json!([{ "system": codes::PERSONNUMMER, "value": format!("19XX{:06}-TEST", p.n) }]),
        );
        m.insert(
            "name".into(),
            json!([{ "use": "official", "family": format!("{:04}", p.n), "given": ["Testperson"] }]),
        );
        m.insert("gender".into(), json!(if p.female { "female" } else { "male" }));
        m.insert("birthDate".into(), json!(date(p.birth)));
        Value::Object(m)
    }

    fn encounter_resource(&self) -> Value {
        let p = self.p;
        let bed = &self.h.wards[p.ward].beds[p.bed];
        let spec = &SPECIALTIES[p.specialty];
        let updated = if p.discharged { p.discharge } else { p.admitted };
        let mut m = base("Encounter", &self.eid, updated);
        m.insert(
            "status".into(),
            json!(if p.discharged { "finished" } else { "in-progress" }),
        );
        m.insert(
            "class".into(),
            coding_d(codes::V3_ACT_CODE, codes::INPATIENT, "inpatient encounter"),
        );
        m.insert(
            "serviceType".into(),
            cc(coding_d(codes::SNOMED, spec.snomed, spec.display)),
        );
        m.insert("subject".into(), self.subject());
        let mut period = json!({ "start": ts(p.admitted) });
        if p.discharged {
            period["end"] = json!(ts(p.discharge));
        }
        m.insert("period".into(), period.clone());
        m.insert(
            "location".into(),
            json!([{
                "location": reference(self.style, "Location", &bed.id),
                "status": if p.discharged { "completed" } else { "active" },
                "period": period,
            }]),
        );
        Value::Object(m)
    }

    fn observation(
        &self,
        id: String,
        at: DateTime<Utc>,
        category: (&str, &str),
        code: Value,
        value: (&str, Value),
    ) -> Value {
        if let Some(stub) = self.reused("Observation", &id, at) {
            return stub;
        }
        let mut m = base("Observation", &id, at);
        m.insert("status".into(), json!("final"));
        m.insert(
            "category".into(),
            json!([cc(coding_d(codes::OBSERVATION_CATEGORY, category.0, category.1))]),
        );
        m.insert("code".into(), code);
        m.insert("subject".into(), self.subject());
        m.insert("encounter".into(), self.encounter());
        m.insert("effectiveDateTime".into(), json!(ts(at)));
        m.insert(value.0.into(), value.1);
        Value::Object(m)
    }

    fn measurement(&self, m: &Measurement, scale2: bool, out: &mut Vec<Value>) {
        const VITAL: (&str, &str) = ("vital-signs", "Vital Signs");
        let v = &m.vitals;
        let id = |suffix: &str| format!("{}-m{}-{suffix}", self.pid, m.k);
        let loinc = |code: &str, display: &str| cc(coding_d(codes::LOINC, code, display));
        let local = |code: &str| cc(coding(codes::OBSERVATION, code));
        let qty = |value: Value, unit: &str, code: &str| json!({ "value": value, "unit": unit, "system": codes::UCUM, "code": code });
        if m.charted {
            self.push_observation(out, id("news2"), m.at, |id| {
                self.observation(
                    id,
                    m.at,
                    VITAL,
                    cc(coding_d(
                        codes::SNOMED,
                        codes::NEWS2_TOTAL,
                        "Royal College of Physicians NEWS2 (National Early Warning Score 2) total score",
                    )),
                    ("valueInteger", json!(m.total)),
                )
            });
        }
        self.push_observation(out, id("rr"), m.at, |id| {
            self.observation(
                id,
                m.at,
                VITAL,
                loinc(codes::RESPIRATORY_RATE, "Respiratory rate"),
                ("valueQuantity", qty(json!(v.rr), "breaths/minute", "/min")),
            )
        });
        self.push_observation(out, id("spo2"), m.at, |id| {
            self.observation(
                id,
                m.at,
                VITAL,
                loinc(codes::SPO2, "Oxygen saturation in Arterial blood by Pulse oximetry"),
                ("valueQuantity", qty(json!(v.spo2), "%", "%")),
            )
        });
        self.push_observation(out, id("hr"), m.at, |id| {
            self.observation(
                id,
                m.at,
                VITAL,
                loinc(codes::HEART_RATE, "Heart rate"),
                ("valueQuantity", qty(json!(v.pulse), "beats/minute", "/min")),
            )
        });
        self.push_observation(out, id("temp"), m.at, |id| {
            self.observation(
                id,
                m.at,
                VITAL,
                loinc(codes::BODY_TEMPERATURE, "Body temperature"),
                ("valueQuantity", qty(json!(f64::from(v.temp_tenths) / 10.0), "C", "Cel")),
            )
        });
        self.push_observation(out, id("bp"), m.at, |id| {
            let mut bp = base("Observation", &id, m.at);
            bp.insert("status".into(), json!("final"));
            bp.insert(
                "category".into(),
                json!([cc(coding_d(codes::OBSERVATION_CATEGORY, VITAL.0, VITAL.1))]),
            );
            bp.insert(
                "code".into(),
                loinc(codes::BP_PANEL, "Blood pressure panel with all children optional"),
            );
            bp.insert("subject".into(), self.subject());
            bp.insert("encounter".into(), self.encounter());
            bp.insert("effectiveDateTime".into(), json!(ts(m.at)));
            bp.insert(
                "component".into(),
                json!([
                    {
                        "code": loinc(codes::SYSTOLIC_BP, "Systolic blood pressure"),
                        "valueQuantity": qty(json!(v.sbp), "mmHg", "mm[Hg]"),
                    },
                    {
                        "code": loinc(codes::DIASTOLIC_BP, "Diastolic blood pressure"),
                        "valueQuantity": qty(json!(v.dbp), "mmHg", "mm[Hg]"),
                    },
                ]),
            );
            Value::Object(bp)
        });
        self.push_observation(out, id("acvpu"), m.at, |id| {
            self.observation(
                id,
                m.at,
                VITAL,
                local(codes::ACVPU),
                (
                    "valueCodeableConcept",
                    cc(coding(codes::ACVPU_VALUE, codes::ACVPU_LETTERS[v.acvpu])),
                ),
            )
        });
        self.push_observation(out, id("o2"), m.at, |id| {
            self.observation(
                id,
                m.at,
                VITAL,
                local(codes::SUPPLEMENTAL_OXYGEN),
                ("valueBoolean", json!(v.on_oxygen)),
            )
        });
        if scale2 {
            self.push_observation(out, id("scale2"), m.at, |id| {
                self.observation(
                    id,
                    m.at,
                    VITAL,
                    local(codes::SPO2_SCALE_2),
                    ("valueBoolean", json!(true)),
                )
            });
        }
    }

    fn observations(&self, out: &mut Vec<Value>) {
        const SURVEY: (&str, &str) = ("survey", "Survey");
        let p = self.p;
        let now = self.now;
        let window = now - Duration::hours(48);
        let local = |code: &str| cc(coding(codes::OBSERVATION, code));
        for m in p.measurements.iter().filter(|m| m.at <= now && m.at >= window) {
            self.measurement(m, p.scale2, out);
        }
        let shown = |at: DateTime<Utc>, latest: bool| at <= now && (latest || at >= window);
        let latest_of = |ats: &mut dyn Iterator<Item = DateTime<Utc>>| ats.filter(|&a| a <= now).max();
        let last_norton = latest_of(&mut p.norton.iter().map(|a| a.at));
        for a in &p.norton {
            if shown(a.at, Some(a.at) == last_norton) {
                out.push(self.observation(
                    format!("{}-n{}-activity", self.pid, a.k),
                    a.at,
                    SURVEY,
                    local(codes::NORTON_PHYSICAL_ACTIVITY),
                    ("valueInteger", json!(a.value.0)),
                ));
                out.push(self.observation(
                    format!("{}-n{}-total", self.pid, a.k),
                    a.at,
                    SURVEY,
                    local(codes::NORTON_TOTAL),
                    ("valueInteger", json!(a.value.1)),
                ));
            }
        }
        let last_support = latest_of(&mut p.support_obs.iter().map(|a| a.at));
        for a in &p.support_obs {
            if shown(a.at, Some(a.at) == last_support) {
                out.push(self.observation(
                    format!("{}-es{}", self.pid, a.k),
                    a.at,
                    SURVEY,
                    local(codes::EMOTIONAL_SUPPORT),
                    (
                        "valueCodeableConcept",
                        cc(coding(codes::EMOTIONAL_SUPPORT_LEVEL, codes::SUPPORT_LEVELS[a.value])),
                    ),
                ));
            }
        }
        let last_adl = latest_of(&mut p.adl_obs.iter().map(|a| a.at));
        for a in &p.adl_obs {
            if shown(a.at, Some(a.at) == last_adl) {
                for (domain, level) in codes::ADL.iter().zip(a.value) {
                    out.push(self.observation(
                        format!("{}-adl{}-{}", self.pid, a.k, &domain[4..]),
                        a.at,
                        SURVEY,
                        local(domain),
                        (
                            "valueCodeableConcept",
                            cc(coding(codes::ADL_LEVEL, codes::ADL_LEVELS[level])),
                        ),
                    ));
                }
            }
        }
    }

    fn all(&self, out: &mut Vec<Value>) {
        let p = self.p;
        let now = self.now;
        let day_ago = now - Duration::hours(24);
        out.push(self.patient());
        out.push(self.encounter_resource());
        for c in p.conditions.iter().filter(|c| c.recorded <= now) {
            let id = format!("{}-c{}", self.pid, c.k);
            if let Some(stub) = self.reused("Condition", &id, c.recorded) {
                out.push(stub);
                continue;
            }
            let mut m = base("Condition", &id, c.recorded);
            m.insert("clinicalStatus".into(), cc(coding(codes::CONDITION_CLINICAL, "active")));
            m.insert(
                "verificationStatus".into(),
                cc(coding(
                    "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "confirmed",
                )),
            );
            m.insert(
                "category".into(),
                json!([cc(coding_d(
                    codes::CONDITION_CATEGORY,
                    "encounter-diagnosis",
                    "Encounter Diagnosis"
                ))]),
            );
            let system = if c.icd_se { codes::ICD10_SE } else { codes::ICD10 };
            m.insert("code".into(), cc(coding(system, c.code)));
            m.insert("subject".into(), self.subject());
            m.insert("encounter".into(), self.encounter());
            m.insert("recordedDate".into(), json!(ts(c.recorded)));
            out.push(Value::Object(m));
        }
        for c in p.care_plans.iter().filter(|c| c.start <= now) {
            let ended = c.end.filter(|&e| e <= now);
            if ended.is_some_and(|e| e < day_ago) {
                continue;
            }
            let (id, updated) = (format!("{}-cp{}", self.pid, c.k), ended.unwrap_or(c.start));
            if let Some(stub) = self.reused("CarePlan", &id, updated) {
                out.push(stub);
                continue;
            }
            let mut m = base("CarePlan", &id, updated);
            m.insert(
                "status".into(),
                json!(if ended.is_some() { "completed" } else { "active" }),
            );
            m.insert("intent".into(), json!("plan"));
            m.insert(
                "category".into(),
                json!([cc(coding(
                    codes::CARE_PLAN_CATEGORY,
                    codes::CARE_PLAN_CATEGORIES[c.category]
                ))]),
            );
            m.insert("subject".into(), self.subject());
            m.insert("encounter".into(), self.encounter());
            let mut period = json!({ "start": ts(c.start) });
            if let Some(e) = ended {
                period["end"] = json!(ts(e));
            }
            m.insert("period".into(), period);
            m.insert("created".into(), json!(ts(c.start)));
            out.push(Value::Object(m));
        }
        for med in p.meds.iter().filter(|m| m.start <= now) {
            let stopped = med.stop.filter(|&s| s <= now);
            if stopped.is_some_and(|s| s < day_ago) {
                continue;
            }
            let (id, updated) = (format!("{}-mr{}", self.pid, med.k), stopped.unwrap_or(med.start));
            if let Some(stub) = self.reused("MedicationRequest", &id, updated) {
                out.push(stub);
                continue;
            }
            let mut m = base("MedicationRequest", &id, updated);
            m.insert(
                "status".into(),
                json!(if stopped.is_some() { "stopped" } else { "active" }),
            );
            m.insert("intent".into(), json!("order"));
            m.insert(
                "medicationCodeableConcept".into(),
                cc(coding_d(codes::ATC, med.atc.0, med.atc.1)),
            );
            m.insert("subject".into(), self.subject());
            m.insert("encounter".into(), self.encounter());
            m.insert("authoredOn".into(), json!(ts(med.start)));
            let mut repeat = json!({ "frequency": med.frequency, "period": 1, "periodUnit": "d" });
            if !med.times.is_empty() {
                repeat["timeOfDay"] = json!(med.times);
            }
            let route = &ROUTES[med.route];
            m.insert(
                "dosageInstruction".into(),
                json!([{
                    "sequence": 1,
                    "timing": { "repeat": repeat },
                    "asNeededBoolean": med.prn,
                    "route": cc(coding_d(codes::SNOMED, route.snomed, route.display)),
                }]),
            );
            out.push(Value::Object(m));
        }
        for o in p.orders.iter().filter(|o| o.authored <= now) {
            let done = o.done <= now;
            if done && o.done < day_ago {
                continue;
            }
            let (id, updated) = (
                format!("{}-sr{}", self.pid, o.k),
                if done { o.done } else { o.authored },
            );
            if let Some(stub) = self.reused("ServiceRequest", &id, updated) {
                out.push(stub);
                continue;
            }
            let mut m = base("ServiceRequest", &id, updated);
            let status = match (done, o.cancelled) {
                (false, _) => "active",
                (true, false) => "completed",
                (true, true) => "revoked",
            };
            m.insert("status".into(), json!(status));
            m.insert("intent".into(), json!("order"));
            m.insert(
                "category".into(),
                json!([cc(coding(codes::ORDER_CATEGORY, codes::ORDER_CATEGORIES[o.category]))]),
            );
            let (system, code, display) = codes::ORDER_CODES[o.category];
            m.insert("code".into(), cc(coding_d(system, code, display)));
            m.insert("subject".into(), self.subject());
            m.insert("encounter".into(), self.encounter());
            m.insert("occurrenceDateTime".into(), json!(ts(o.due)));
            m.insert("authoredOn".into(), json!(ts(o.authored)));
            out.push(Value::Object(m));
        }
        for task in p.tasks.iter().filter(|x| x.authored <= now) {
            let done = task.done <= now;
            if done && task.done < day_ago {
                continue;
            }
            let updated = if done { task.done } else { task.authored };
            let id = format!("{}-t{}", self.pid, task.k);
            if let Some(stub) = self.reused("Task", &id, updated) {
                out.push(stub);
                continue;
            }
            let mut m = base("Task", &id, updated);
            let status = match (done, task.cancelled) {
                (false, _) => "requested",
                (true, false) => "completed",
                (true, true) => "cancelled",
            };
            m.insert("status".into(), json!(status));
            m.insert("intent".into(), json!("order"));
            m.insert("code".into(), cc(coding(codes::NURSING_ACTIVITY, task.code)));
            m.insert("for".into(), self.subject());
            m.insert("encounter".into(), self.encounter());
            let mut period = json!({ "start": ts(task.due) });
            if done && !task.cancelled {
                period["end"] = json!(ts(task.done));
            }
            m.insert("executionPeriod".into(), period);
            m.insert("authoredOn".into(), json!(ts(task.authored)));
            m.insert("lastModified".into(), json!(ts(updated)));
            if let Some(prof) = task.performer {
                m.insert("performerType".into(), json!([cc(coding(codes::PROFESSION, prof))]));
            }
            out.push(Value::Object(m));
        }
        if !p.discharged {
            self.observations(out);
        }
    }
}

impl Hospital {
    /// Every Location (the site, its departments, then wards, teams, rooms, beds).
    pub(crate) fn location_values(&self, style: RefStyle) -> Vec<Value> {
        let mut out = Vec::new();
        organisation_locations(&self.wards, self.start, style, &mut out);
        for w in &self.wards {
            ward_locations(w, self.start, style, &mut out);
        }
        out
    }

    /// One patient's resources at the present; with `reusable`, the
    /// resources it accepts are stubs (type, id, `meta.lastUpdated`).
    pub(crate) fn patient_values(&self, p: &Patient, style: RefStyle, reusable: Option<Reusable<'_>>) -> Vec<Value> {
        let e = Emitter {
            p,
            h: self,
            now: self.now,
            style,
            pid: p.id(),
            eid: format!("e{:06}", p.n),
            reusable,
        };
        let mut out = Vec::with_capacity(128);
        e.all(&mut out);
        out
    }

    /// All resources of the present state with the given reference style.
    pub(crate) fn values(&self, style: RefStyle) -> impl Iterator<Item = Value> + '_ {
        self.location_values(style).into_iter().chain(
            self.patients
                .iter()
                .flat_map(move |p| self.patient_values(p, style, None)),
        )
    }

    /// As [`Hospital::resources`], except that a resource `reusable`
    /// accepts (by type, id and `meta.lastUpdated`) is only a stub: its
    /// `resourceType`, `id` and `meta`. The server's index uses it to skip
    /// building what it already serves unchanged.
    pub(crate) fn values_reusing<'a>(&'a self, reusable: Reusable<'a>) -> impl Iterator<Item = Value> + 'a {
        self.location_values(RefStyle::Relative).into_iter().chain(
            self.patients
                .iter()
                .flat_map(move |p| self.patient_values(p, RefStyle::Relative, Some(reusable))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_deterministic_well_formed_and_distinct() {
        let a = uuid_for("Patient", "p000001");
        assert_eq!(a, uuid_for("Patient", "p000001"));
        assert_ne!(a, uuid_for("Patient", "p000002"));
        assert_ne!(a, uuid_for("Encounter", "p000001"));
        assert_eq!(a.len(), 36);
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
        assert!(parts[2].starts_with('8'), "{a}");
        assert!(matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'), "{a}");
    }

    #[test]
    fn instants_are_fhir_date_times_in_utc() {
        let t = DateTime::parse_from_rfc3339("2026-11-23T09:05:07Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(ts(t), "2026-11-23T09:05:07+00:00");
    }
}
