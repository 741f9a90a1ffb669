//! From [`Resources`] to de-identified [`Snapshot`]s.
//!
//! One snapshot per in-progress inpatient `Encounter` (class in
//! `inpatient_classes`, status `in-progress`, started at or before `as_of`)
//! whose current location resolves, up the `Location.partOf` chain by
//! `physicalType`, to a ward. Placement ids are the FHIR **Location ids** of
//! the ward, team (or `room_teams`) and bed: stable, free of free text, and
//! what the weights and screens key on. The specialty is the first mapped
//! coding of `Encounter.serviceType` (never `Encounter.type`, which is the
//! kind of encounter, not a specialty); the stay is
//! *outlying* when its specialty is known, the ward's specialties are known
//! (`ward_specialties`, else the ward `Location.type` codings) and it is not
//! among them.
//!
//! Clinical resources join a snapshot through their `encounter` reference, or
//! when they have none through their patient's in-progress stay. An active
//! `Condition` joins its patient's in-progress stay whatever stay it was
//! recorded in (earlier diagnoses count). Only
//! resources at or before `as_of` count where a time applies. From `Patient`
//! only the sex and the birth **year** are taken; the Patient id becomes a
//! keyed pseudonym, and the resource each item came from is kept as a keyed
//! tag ([`PseudonymKey::resource_tag`], `Observation#3f9a…`), never as its
//! EHR id, which often holds the patient's. Nothing else of a person — names, identifiers,
//! addresses, telecom, notes, narrative — is read.
//!
//! A snapshot is the present, not the whole stay: of NEWS2 totals and
//! vital-sign sets it keeps those of the [`HISTORY_HOURS`] up to `as_of` (all
//! the score reads) and the latest, whatever its age; tasks completed or
//! cancelled (by `meta.lastUpdated`) more than [`HISTORY_HOURS`] before
//! `as_of` are out of scope. So a snapshot does not grow with the length of
//! the stay, and it is the same whether the resources were fetched in full
//! or merged hour by hour from incremental fetches (a server may stop
//! serving old records; the simulated hospital does after 24–48 hours).
//!
//! Whatever cannot be used is counted in the [`MapReport`] with the
//! resource's id and the reason, logged, and skipped.

use std::collections::{BTreeMap, HashMap};

use careload_scoring::news2::{Spo2Scale, Vitals};
use careload_scoring::snapshot::{
    Activity, ActivityStatus, AdlNeed, CarePlan as CarePlanItem, Diagnosis, Dosing, EmotionalSupport, MedicationOrder,
    News2Observation, Norton, NortonActivity, Order, Placement, Route, Sex, Snapshot, VitalSigns,
};
use chrono::{DateTime, Days, Duration, TimeZone, Utc};
use chrono_tz::Tz;
use fhir_sdk::Date;
use fhir_sdk::r4b::resources::{Encounter, EncounterLocation, ServiceRequestOccurrence};
use fhir_sdk::r4b::types::{CodeableConcept, Period, Reference};
use serde::Serialize;

use crate::config::{LocationLevel, Lookup, Mapping, ObservationKind, Target};
use crate::facts::{ConditionFacts, FactValue, MedicationFacts, NamedCode, ObservationFacts, TaskFacts, has_code};
use crate::pseudonym::PseudonymKey;
use crate::read::{Resources, Skip};
use crate::time::{date_time_in, end_in};

/// Hours of history a snapshot keeps before its time (see the module documentation).
pub const HISTORY_HOURS: i64 = 24;

/// What a mapping made and left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MapReport {
    /// Snapshots made (one per in-progress inpatient stay on a ward).
    pub snapshots: usize,
    /// Resources that went into a snapshot, per type.
    pub mapped: BTreeMap<String, usize>,
    /// Resources not in scope, per type and reason: finished stays, stopped
    /// orders, completed requests, items after `as_of`. Expected, not errors.
    pub out_of_scope: BTreeMap<String, usize>,
    /// Resources that could have counted but could not be used, with the reason.
    pub skipped: Vec<Skip>,
    /// Resources used, but with a part that could not be (an unknown route
    /// counted as `other`, a missing Patient), with the reason.
    pub incomplete: Vec<Skip>,
    /// Stays that no Observation at all refers to (by encounter, or by
    /// patient when it names no encounter) while other stays have some: a
    /// sign that the server did not return them (a search the server reads
    /// differently, a feed that stopped), not that nothing was charted.
    /// Zero when no stay has an Observation (a source without any).
    pub stays_without_observations: usize,
    /// Every code read that no mapping table knows, most frequent first:
    /// what a region adds to its mapping file (`careload mapping suggest`).
    pub unused_codes: Vec<UnusedCode>,
}

/// A code careload read but could not use: the mapping table it would go
/// in, where it was read, and how often.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnusedCode {
    /// The table of the mapping file (`observations`, `activities`, …;
    /// `inpatient_classes` for an `Encounter.class` that is not a stay's).
    pub table: &'static str,
    /// The element it was read from (`Observation.code`).
    pub element: &'static str,
    /// `Coding.system`, when given.
    pub system: Option<String>,
    /// `Coding.code`.
    pub code: String,
    /// `Coding.display`, where the input has one (Observations and Tasks are
    /// held without displays).
    pub display: Option<String>,
    /// How many times it was read (a resource with the code twice counts twice).
    pub count: usize,
}

impl MapReport {
    // Both run for nearly every held resource every hour: the key is only
    // allocated the first time it is counted.
    fn mapped(&mut self, ty: &str) {
        match self.mapped.get_mut(ty) {
            Some(n) => *n += 1,
            None => {
                self.mapped.insert(ty.to_owned(), 1);
            }
        }
    }

    fn out_of_scope(&mut self, ty: &str, why: &str) {
        let found = self
            .out_of_scope
            .iter_mut()
            .find(|(k, _)| k.strip_prefix(ty).and_then(|k| k.strip_prefix(": ")) == Some(why));
        match found {
            Some((_, n)) => *n += 1,
            None => {
                self.out_of_scope.insert(format!("{ty}: {why}"), 1);
            }
        }
    }

    fn skip(&mut self, ty: &str, id: &str, reason: impl Into<String>) {
        let s = Skip::new(ty, Some(id), reason);
        tracing::warn!(resource_type = ty, id = s.id.as_deref().unwrap_or("-"), reason = %s.reason, "FHIR resource skipped in mapping");
        self.skipped.push(s);
    }

    fn incomplete(&mut self, ty: &str, id: &str, reason: impl Into<String>) {
        let s = Skip::new(ty, Some(id), reason);
        tracing::info!(resource_type = ty, id = s.id.as_deref().unwrap_or("-"), reason = %s.reason, "FHIR resource partly mapped");
        self.incomplete.push(s);
    }
}

/// The id of a reference to a resource of type `ty`: `Type/id`, an absolute
/// URL ending in `Type/id`, with or without `/_history/n`.
pub fn reference_id<'a>(r: Option<&'a Reference>, ty: &str) -> Option<&'a str> {
    reference_text_id(r?.reference.as_deref(), ty)
}

/// [`reference_id`] of a reference's text.
pub fn reference_text_id<'a>(text: Option<&'a str>, ty: &str) -> Option<&'a str> {
    let text = text?;
    let text = match text.find("/_history/") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut parts = text.rsplit('/');
    let id = parts.next()?;
    let t = parts.next()?;
    (t == ty && !id.is_empty()).then_some(id)
}

/// A period's start; a date without a time is the start of that day in `tz`.
fn period_start(p: Option<&Period>, tz: Tz) -> Option<DateTime<Utc>> {
    p?.start.as_ref().and_then(|d| date_time_in(d, tz))
}

/// A period's end; a date without a time ends with that day (month, year)
/// in `tz`.
fn period_end(p: Option<&Period>, tz: Tz) -> Option<DateTime<Utc>> {
    end_in(p?.end.as_ref()?, tz)
}

/// A stay's locations that are not completed or planned (active, reserved or
/// without a status), in the order listed: the last is where the patient is.
pub(crate) fn present_locations(e: &Encounter) -> impl DoubleEndedIterator<Item = &EncounterLocation> {
    e.location.iter().flatten().filter(|l| {
        l.status
            .as_ref()
            .is_none_or(|s| matches!(s.as_ref(), "active" | "reserved"))
    })
}

/// The snapshots of every in-progress inpatient stay on a ward at `as_of`, and a report.
pub fn map(
    resources: &Resources,
    mapping: &Mapping,
    key: &PseudonymKey,
    as_of: DateTime<Utc>,
) -> (Vec<Snapshot>, MapReport) {
    let mut m = Mapper {
        res: resources,
        cfg: mapping,
        key,
        as_of,
        report: MapReport::default(),
        snapshots: Vec::new(),
        by_encounter: HashMap::new(),
        by_patient: HashMap::new(),
        vitals: HashMap::new(),
        norton_totals: HashMap::new(),
        observed: Vec::new(),
        unused: HashMap::new(),
    };
    // every Location's type, whether or not a stay's chain passes it
    for loc in resources.locations.values() {
        m.lookup(
            |t| &t.location_types,
            "location_types",
            "Location.physicalType",
            loc.physical_type.iter(),
        );
    }
    for (id, e) in &resources.encounters {
        m.encounter(id, e);
    }
    for (id, t) in &resources.tasks {
        m.task(id, t);
    }
    for (id, r) in &resources.medication_requests {
        m.medication(id, r);
    }
    for (id, o) in &resources.observations {
        m.observation(id, o);
    }
    for (id, s) in &resources.service_requests {
        m.service_request(id, s);
    }
    for (id, c) in &resources.care_plans {
        m.care_plan(id, c);
    }
    for (id, c) in &resources.conditions {
        m.condition(id, c);
    }
    m.finish()
}

/// Why an item has no snapshot.
#[derive(Clone, Copy, Debug)]
enum Miss {
    /// Its stay or patient is held but not scored now: a normal case.
    OutOfScope(&'static str),
    /// It names a stay or patient careload does not hold: a data problem.
    Skip(&'static str),
}

/// A vital-sign set being gathered: values and the resources they came from.
#[derive(Default)]
struct VitalSet {
    vitals: Vitals,
    sources: Vec<String>,
}

struct Mapper<'a> {
    res: &'a Resources,
    cfg: &'a Mapping,
    /// Pseudonyms of patients and tags of the resources items came from.
    key: &'a PseudonymKey,
    as_of: DateTime<Utc>,
    report: MapReport,
    snapshots: Vec<Snapshot>,
    by_encounter: HashMap<&'a str, usize>,
    by_patient: HashMap<&'a str, usize>,
    /// (snapshot, time) → vital set
    vitals: HashMap<(usize, DateTime<Utc>), VitalSet>,
    /// (snapshot, time) → Norton total
    norton_totals: HashMap<(usize, DateTime<Utc>), u8>,
    /// Per snapshot: whether any Observation refers to its stay.
    observed: Vec<bool>,
    /// (table, element, system, code) → (count, a display) of codes no table knows.
    unused: UnusedCounts<'a>,
}

type UnusedCounts<'a> = HashMap<(&'static str, &'static str, Option<&'a str>, &'a str), (usize, Option<&'a str>)>;

/// The value table an Observation kind reads its coded value with.
fn value_table(kind: ObservationKind) -> Option<&'static str> {
    match kind {
        ObservationKind::Acvpu => Some("acvpu"),
        ObservationKind::NortonPhysicalActivity => Some("norton_levels"),
        ObservationKind::EmotionalSupport => Some("support_levels"),
        k if k.adl_domain().is_some() => Some("adl_levels"),
        _ => None,
    }
}

/// Ward, team, room and bed found up a Location chain.
#[derive(Default)]
struct Chain {
    ward: Option<String>,
    team: Option<String>,
    room: Option<String>,
    bed: Option<String>,
}

impl<'a> Mapper<'a> {
    /// Counts a code no table knows.
    fn unused(
        &mut self,
        table: &'static str,
        element: &'static str,
        system: Option<&'a str>,
        code: Option<&'a str>,
        display: Option<&'a str>,
    ) {
        let Some(code) = code.filter(|c| !c.is_empty()) else {
            return;
        };
        // no system and an empty one are the same key in a mapping file
        let system = system.filter(|s| !s.is_empty());
        let entry = self.unused.entry((table, element, system, code)).or_insert((0, None));
        entry.0 += 1;
        if entry.1.is_none() {
            entry.1 = display;
        }
    }

    /// Counts every coding of a concept no table knows.
    fn unused_concept(&mut self, table: &'static str, element: &'static str, cc: Option<&'a CodeableConcept>) {
        for c in cc.into_iter().flat_map(|cc| cc.coding.iter().flatten()) {
            self.unused(
                table,
                element,
                c.system.as_deref(),
                c.code.as_deref(),
                c.display.as_deref(),
            );
        }
    }

    /// The target of the first of `concepts` that `table` maps; when none
    /// does, every coding of them is counted as unused under `name` (the
    /// mapping file's table) and `element`.
    fn lookup<T, I>(
        &mut self,
        table: fn(&Mapping) -> &Lookup<T>,
        name: &'static str,
        element: &'static str,
        concepts: I,
    ) -> Option<T>
    where
        T: Target + Clone,
        I: Iterator<Item = &'a CodeableConcept> + Clone,
    {
        let table = table(self.cfg);
        let found = concepts.clone().find_map(|cc| table.concept(Some(cc)));
        if found.is_none() {
            for cc in concepts {
                self.unused_concept(name, element, Some(cc));
            }
        }
        found
    }

    /// [`Mapper::lookup`] of held codings.
    fn lookup_codes<T: Target + Clone>(
        &mut self,
        table: fn(&Mapping) -> &Lookup<T>,
        name: &'static str,
        element: &'static str,
        codes: &'a [crate::facts::Code],
    ) -> Option<T> {
        let found = table(self.cfg).codes(codes);
        if found.is_none() {
            self.unused_codes(name, element, codes);
        }
        found
    }

    /// [`Mapper::lookup`] of held codings with their displays (none: no concept).
    fn lookup_named<T: Target + Clone>(
        &mut self,
        table: fn(&Mapping) -> &Lookup<T>,
        name: &'static str,
        element: &'static str,
        codes: Option<&'a [NamedCode]>,
    ) -> Option<T> {
        let codes = codes.unwrap_or_default();
        let found = table(self.cfg).named_codes(codes);
        if found.is_none() {
            for c in codes {
                self.unused(
                    name,
                    element,
                    c.code.system.as_deref(),
                    c.code.code.as_deref(),
                    c.display.as_deref(),
                );
            }
        }
        found
    }

    /// Counts every held coding (no display) no table knows.
    fn unused_codes(&mut self, table: &'static str, element: &'static str, codes: &'a [crate::facts::Code]) {
        for c in codes {
            self.unused(table, element, c.system.as_deref(), c.code.as_deref(), None);
        }
    }

    fn encounter(&mut self, id: &'a str, e: &'a Encounter) {
        const TY: &str = "Encounter";
        let class = e.class.code.as_deref().unwrap_or("");
        if !self.cfg.inpatient_classes.contains(class) {
            self.unused(
                "inpatient_classes",
                "Encounter.class",
                e.class.system.as_deref(),
                e.class.code.as_deref(),
                e.class.display.as_deref(),
            );
            return self.report.out_of_scope(TY, "not an inpatient stay");
        }
        if e.status.as_ref() != "in-progress" {
            return self.report.out_of_scope(TY, "not in progress");
        }
        let tz = self.cfg.time_zone;
        let Some(admitted_at) = period_start(e.period.as_ref(), tz) else {
            return self.report.skip(TY, id, "in-progress stay without period.start");
        };
        if admitted_at > self.as_of {
            return self.report.out_of_scope(TY, "admitted after the snapshot time");
        }
        let Some(patient_id) = reference_id(e.subject.as_ref(), "Patient") else {
            return self.report.skip(TY, id, "subject is not a Patient reference");
        };
        // current locations: not completed/planned, not ended by as_of; the last listed wins
        let current: Vec<&str> = present_locations(e)
            .filter(|l| period_end(l.period.as_ref(), tz).is_none_or(|end| end > self.as_of))
            .filter_map(|l| reference_id(Some(&l.location), "Location"))
            .collect();
        let Some(location_id) = current.last() else {
            return self.report.skip(TY, id, "no current location");
        };
        let chain = match self.chain(location_id) {
            Ok(chain) => chain,
            Err(reason) => return self.report.skip(TY, id, reason),
        };
        let Some(ward) = chain.ward.clone() else {
            return self.report.skip(
                TY,
                id,
                format!("location Location/{location_id} is not on a ward (no ward up its partOf chain)"),
            );
        };
        let team = chain.team.clone().or_else(|| {
            [
                chain.room.as_ref(),
                chain.bed.as_ref(),
                Some(&(*location_id).to_owned()),
            ]
            .into_iter()
            .flatten()
            .find_map(|r| self.cfg.room_teams.get(r).cloned())
        });
        // only serviceType says the specialty: `Encounter.type` is the kind of
        // encounter ("Inpatient stay"), and taken as a specialty it made
        // stays outliers on their own ward
        let specialty = self.lookup(
            |m| &m.specialties,
            "specialties",
            "Encounter.serviceType",
            e.service_type.iter(),
        );
        let ward_specialties: Vec<String> = match self.cfg.ward_specialties.get(&ward) {
            Some(list) => list.clone(),
            None => self
                .res
                .locations
                .get(&ward)
                .map(|w| {
                    w.r#type
                        .iter()
                        .flatten()
                        .filter_map(|t| self.cfg.specialties.concept(Some(t)))
                        .collect()
                })
                .unwrap_or_default(),
        };
        let outlying = specialty
            .as_ref()
            .is_some_and(|s| !ward_specialties.is_empty() && !ward_specialties.contains(s));
        let mut snapshot = Snapshot::new(self.key.patient_key(patient_id), self.as_of, admitted_at, ward);
        snapshot.placement = Placement {
            ward: snapshot.placement.ward,
            team,
            room: chain.room.clone(),
            bed: chain.bed.clone(),
        };
        snapshot.specialty = specialty;
        snapshot.outlying = outlying;
        match self.res.patients.get(patient_id) {
            Some(p) => {
                snapshot.sex = match p.gender.as_ref().map(|g| g.as_ref()) {
                    Some("female") => Sex::Female,
                    Some("male") => Sex::Male,
                    Some("other") => Sex::Other,
                    _ => Sex::Unknown,
                };
                snapshot.birth_year = p.birth_date.as_ref().map(|d| match d {
                    Date::Year(y) | Date::YearMonth(y, _) => *y,
                    Date::Date(d) => d.year(),
                });
                self.report.mapped("Patient");
            }
            None => self
                .report
                .incomplete(TY, id, "its Patient is not in the input: sex and birth year unknown"),
        }
        if let Some(previous) = self.by_patient.get(patient_id) {
            let _ = previous;
            self.report.incomplete(
                TY,
                id,
                "the patient has another in-progress stay; items without an encounter go to the first",
            );
        } else {
            self.by_patient.insert(patient_id, self.snapshots.len());
        }
        self.by_encounter.insert(id, self.snapshots.len());
        self.snapshots.push(snapshot);
        self.observed.push(false);
        self.report.mapped(TY);
    }

    /// Walks up `partOf` from a Location, classifying each level by physical type.
    fn chain(&self, start: &str) -> Result<Chain, String> {
        let mut chain = Chain::default();
        let mut current = start.to_owned();
        for _ in 0..16 {
            let Some(loc) = self.res.locations.get(&current) else {
                return Err(format!(
                    "location Location/{current} is not in the input (dangling reference)"
                ));
            };
            let slot = match self.cfg.location_types.concept(loc.physical_type.as_ref()) {
                Some(LocationLevel::Ward) => &mut chain.ward,
                Some(LocationLevel::Team) => &mut chain.team,
                Some(LocationLevel::Room) => &mut chain.room,
                Some(LocationLevel::Bed) => &mut chain.bed,
                // above the ward: the walk ends at the ward before it
                Some(LocationLevel::Department | LocationLevel::Site) | None => &mut None,
            };
            if slot.is_none() {
                *slot = Some(current.clone());
            }
            if chain.ward.is_some() {
                return Ok(chain);
            }
            match reference_id(loc.part_of.as_ref(), "Location") {
                Some(parent) => current = parent.to_owned(),
                None => return Ok(chain),
            }
        }
        Err(format!(
            "location Location/{start} has a partOf chain deeper than 16 (a loop?)"
        ))
    }

    /// The snapshot an item belongs to, or why none.
    fn target(&self, encounter: Option<&Reference>, subject: Option<&Reference>) -> Result<usize, Miss> {
        self.target_text(
            encounter.and_then(|r| r.reference.as_deref()),
            subject.and_then(|r| r.reference.as_deref()),
        )
    }

    /// [`Mapper::target`] of references' texts. An item of a stay or patient
    /// careload holds but does not score now (a finished stay, another ward)
    /// is out of scope; one that names nothing careload holds is skipped.
    fn target_text(&self, encounter: Option<&str>, subject: Option<&str>) -> Result<usize, Miss> {
        if let Some(e) = reference_text_id(encounter, "Encounter") {
            return match self.by_encounter.get(e) {
                Some(&i) => Ok(i),
                None if self.res.encounters.contains_key(e) => Err(Miss::OutOfScope(
                    "its stay is not an in-progress inpatient stay on a ward",
                )),
                None => Err(Miss::Skip("its encounter is not among the Encounters read")),
            };
        }
        match reference_text_id(subject, "Patient") {
            Some(p) => match self.by_patient.get(p) {
                Some(&i) => Ok(i),
                None if self.res.patients.contains_key(p) => Err(Miss::OutOfScope("its patient is not on a ward")),
                None => Err(Miss::Skip("its patient is not among the Patients read")),
            },
            None => Err(Miss::Skip("no encounter and no Patient subject")),
        }
    }

    /// Counts an item without a snapshot as out of scope or skipped.
    fn missed(&mut self, ty: &str, id: &str, miss: Miss) {
        match miss {
            Miss::OutOfScope(why) => self.report.out_of_scope(ty, why),
            Miss::Skip(why) => self.report.skip(ty, id, why),
        }
    }

    fn task(&mut self, id: &'a str, t: &'a TaskFacts) {
        const TY: &str = "Task";
        let status = match &*t.status {
            "requested" | "accepted" | "ready" | "in-progress" | "received" => ActivityStatus::Open,
            "completed" => ActivityStatus::Completed,
            "cancelled" | "rejected" | "failed" | "entered-in-error" => ActivityStatus::Cancelled,
            _ => return self.report.out_of_scope(TY, "draft or on hold"),
        };
        let tz = self.cfg.time_zone;
        if t.authored_on.is_some_and(|a| a.start(tz) > self.as_of) {
            return self.report.out_of_scope(TY, "authored after the snapshot time");
        }
        if status != ActivityStatus::Open
            && t.last_updated
                .is_some_and(|u| u < self.as_of - Duration::hours(HISTORY_HOURS))
        {
            return self
                .report
                .out_of_scope(TY, "finished more than 24 hours before the snapshot time");
        }
        // codes are reported for the mapping whether or not the item is a current stay's
        let code = t
            .code
            .as_deref()
            .and_then(|c| self.lookup_codes(|m| &m.activities, "activities", "Task.code", c));
        let idx = match self.target_text(t.encounter.as_deref(), t.r#for.as_deref()) {
            Ok(i) => i,
            Err(miss) => return self.missed(TY, id, miss),
        };
        let Some(code) = code else {
            return self.report.skip(TY, id, "no mapped activity code (see `activities`)");
        };
        let profession = t.performer_types.iter().find_map(|p| self.cfg.professions.codes(p));
        if profession.is_none() {
            for p in &t.performer_types {
                self.unused_codes("professions", "Task.performerType", p);
            }
        }
        if let Some(s) = self.snapshots.get_mut(idx) {
            s.activities.push(Activity {
                code: code.into(),
                due: t.due.map(|d| d.start(tz)),
                status,
                profession,
                source: Some(self.key.resource_tag("Task", id)),
            });
        }
        self.report.mapped(TY);
    }

    fn medication(&mut self, id: &'a str, r: &'a MedicationFacts) {
        const TY: &str = "MedicationRequest";
        if &*r.status != "active" {
            return self.report.out_of_scope(TY, "not active");
        }
        if r.authored_on.is_some_and(|a| a.start(self.cfg.time_zone) > self.as_of) {
            return self.report.out_of_scope(TY, "authored after the snapshot time");
        }
        let mapped_route = self.lookup_named(
            |m| &m.routes,
            "routes",
            "MedicationRequest.dosageInstruction.route",
            r.route.as_deref(),
        );
        let idx = match self.target_text(r.encounter.as_deref(), r.subject.as_deref()) {
            Ok(i) => i,
            Err(miss) => return self.missed(TY, id, miss),
        };
        let route = match mapped_route {
            Some(route) => route,
            None => {
                let what = match &r.route {
                    None => "no route".to_owned(),
                    Some(codes) => {
                        let codes: Vec<String> = codes
                            .iter()
                            .map(|c| {
                                format!(
                                    "{}|{}",
                                    c.code.system.as_deref().unwrap_or(""),
                                    c.code.code.as_deref().unwrap_or("")
                                )
                            })
                            .collect();
                        format!("unknown route {}", codes.join(", "))
                    }
                };
                self.report
                    .incomplete(TY, id, format!("{what}: counted as route other"));
                Route::Other
            }
        };
        let prn = r.as_needed;
        let ward_local_day = self.as_of.with_timezone(&self.cfg.time_zone).date_naive();
        let mut times: Vec<DateTime<Utc>> = Vec::new();
        let mut per_day: f64 = 0.0;
        let mut any_frequency = false;
        for repeat in &*r.repeats {
            let tod = &repeat.times_of_day;
            if !tod.is_empty() {
                for day in [Some(ward_local_day), ward_local_day.checked_add_days(Days::new(1))]
                    .into_iter()
                    .flatten()
                {
                    for t in tod.iter() {
                        if let Some(local) = self.cfg.time_zone.from_local_datetime(&day.and_time(*t)).earliest() {
                            times.push(local.with_timezone(&Utc));
                        }
                    }
                }
            } else if let Some(freq) = repeat.frequency {
                let period = repeat.period.unwrap_or(1.0);
                let days = match repeat.period_unit.as_deref().unwrap_or("d") {
                    "s" => period / 86_400.0,
                    "min" => period / 1_440.0,
                    "h" => period / 24.0,
                    "d" => period,
                    "wk" => period * 7.0,
                    "mo" => period * 30.0,
                    "a" => period * 365.0,
                    _ => period,
                };
                if days > 0.0 {
                    per_day += f64::from(freq) / days;
                    any_frequency = true;
                }
            }
        }
        let dosing = if prn {
            Dosing::AsNeeded
        } else if !times.is_empty() {
            times.sort();
            times.dedup();
            Dosing::At { times }
        } else if any_frequency {
            Dosing::PerDay {
                times: u16::try_from(per_day.round() as i64).unwrap_or(u16::MAX),
            }
        } else {
            self.report.incomplete(TY, id, "no timing: counted as once a day");
            Dosing::PerDay { times: 1 }
        };
        if let Some(s) = self.snapshots.get_mut(idx) {
            s.medications.push(MedicationOrder {
                route,
                dosing,
                source: Some(self.key.resource_tag("MedicationRequest", id)),
            });
        }
        self.report.mapped(TY);
    }

    fn observation(&mut self, id: &'a str, o: &'a ObservationFacts) {
        const TY: &str = "Observation";
        let target = self.target_text(o.encounter.as_deref(), o.subject.as_deref());
        if let Ok(i) = target {
            self.observed[i] = true;
        }
        if matches!(&*o.status, "entered-in-error" | "cancelled" | "registered") {
            return self
                .report
                .out_of_scope(TY, "entered in error, cancelled or not yet done");
        }
        let Some(kind) = self.lookup_codes(|m| &m.observations, "observations", "Observation.code", &o.code) else {
            return self.report.out_of_scope(TY, "a code careload does not use");
        };
        let Some(at) = o.at.map(|w| w.start(self.cfg.time_zone)) else {
            return self.report.skip(TY, id, "no effective time");
        };
        if at > self.as_of {
            return self.report.out_of_scope(TY, "after the snapshot time");
        }
        let idx = match target {
            Ok(i) => i,
            Err(miss) => return self.missed(TY, id, miss),
        };
        let source = self.key.resource_tag("Observation", id);
        let number = || o.value.number();
        let concept = || match &o.value {
            FactValue::Concept(codes) => Some(&**codes),
            _ => None,
        };
        let boolean = || match o.value {
            FactValue::Boolean(b) => Some(b),
            _ => None,
        };
        let cfg = self.cfg;
        let no_value = "no usable value";
        let result: Result<(), String> = (|| {
            match kind {
                ObservationKind::News2Total => {
                    let v = number().ok_or(no_value)?;
                    let v = to_u8(v).filter(|v| *v <= 20).ok_or("NEWS2 total outside 0–20")?;
                    self.push(idx, |s| {
                        s.news2.push(News2Observation {
                            at,
                            value: v,
                            source: Some(source.clone()),
                        })
                    });
                }
                ObservationKind::RespirationRate => {
                    let v = to_u16(number().ok_or(no_value)?).ok_or("respiration rate out of range")?;
                    self.vital(idx, at, &source, |vs| vs.respiration_rate = Some(v));
                }
                ObservationKind::Spo2 => {
                    let v = to_u8(number().ok_or(no_value)?)
                        .filter(|v| *v <= 100)
                        .ok_or("SpO₂ outside 0–100")?;
                    self.vital(idx, at, &source, |vs| vs.spo2 = Some(v));
                }
                ObservationKind::Pulse => {
                    let v = to_u16(number().ok_or(no_value)?).ok_or("pulse out of range")?;
                    self.vital(idx, at, &source, |vs| vs.pulse = Some(v));
                }
                ObservationKind::SystolicBp => {
                    let v = to_u16(number().ok_or(no_value)?).ok_or("systolic pressure out of range")?;
                    self.vital(idx, at, &source, |vs| vs.systolic_bp = Some(v));
                }
                ObservationKind::BpPanel => {
                    let systolic = o
                        .components
                        .iter()
                        .filter(|(code, _)| cfg.observations.codes(code) == Some(ObservationKind::SystolicBp))
                        .find_map(|(_, number)| *number)
                        .ok_or("blood-pressure panel without a systolic value")?;
                    let v = to_u16(systolic).ok_or("systolic pressure out of range")?;
                    self.vital(idx, at, &source, |vs| vs.systolic_bp = Some(v));
                }
                ObservationKind::Temperature => {
                    let FactValue::Quantity { value, code } = &o.value else {
                        return Err(no_value.to_owned());
                    };
                    let mut v = value.ok_or(no_value)?;
                    if code.as_deref() == Some("[degF]") {
                        v = (v - 32.0) * 5.0 / 9.0;
                    }
                    self.vital(idx, at, &source, |vs| vs.temperature = Some(v));
                }
                ObservationKind::Acvpu => {
                    let a = cfg
                        .acvpu
                        .codes(concept().unwrap_or_default())
                        .ok_or("no mapped ACVPU value (see `acvpu`)")?;
                    self.vital(idx, at, &source, |vs| vs.consciousness = Some(a));
                }
                ObservationKind::SupplementalOxygen => {
                    let b = boolean().ok_or(no_value)?;
                    self.vital(idx, at, &source, |vs| vs.on_oxygen = Some(b));
                }
                ObservationKind::Spo2Scale2 => {
                    let b = boolean().ok_or(no_value)?;
                    self.vital(idx, at, &source, |vs| {
                        vs.spo2_scale = if b { Spo2Scale::Scale2 } else { Spo2Scale::Scale1 };
                    });
                }
                ObservationKind::NortonPhysicalActivity => {
                    let level = match &o.value {
                        FactValue::Integer(i) => match i {
                            4 => Some(NortonActivity::Walks),
                            3 => Some(NortonActivity::WalksWithHelp),
                            2 => Some(NortonActivity::Wheelchair),
                            1 => Some(NortonActivity::Bedridden),
                            _ => None,
                        },
                        FactValue::Concept(codes) => cfg.norton_levels.codes(codes),
                        _ => None,
                    }
                    .ok_or("no Norton physical-activity level (valueInteger 1–4 or a mapped code)")?;
                    self.push(idx, |s| {
                        if s.norton.as_ref().is_none_or(|n| n.assessed_at <= at) {
                            s.norton = Some(Norton {
                                activity: level,
                                total: None,
                                assessed_at: at,
                            });
                        }
                    });
                }
                ObservationKind::NortonTotal => {
                    let v = to_u8(number().ok_or(no_value)?).ok_or("Norton total out of range")?;
                    self.norton_totals.insert((idx, at), v);
                }
                ObservationKind::EmotionalSupport => {
                    let level = cfg
                        .support_levels
                        .codes(concept().unwrap_or_default())
                        .ok_or("no mapped emotional-support level")?;
                    self.push(idx, |s| {
                        if s.emotional_support.as_ref().is_none_or(|e| e.assessed_at <= at) {
                            s.emotional_support = Some(EmotionalSupport {
                                level,
                                assessed_at: at,
                                source: Some(source.clone()),
                            });
                        }
                    });
                }
                adl => {
                    let domain = adl.adl_domain().ok_or("not an ADL observation")?;
                    let level = cfg
                        .adl_levels
                        .codes(concept().unwrap_or_default())
                        .ok_or("no mapped ADL level")?;
                    self.push(idx, |s| match s.adl.iter_mut().find(|a| a.domain == domain) {
                        Some(a) if a.assessed_at <= at => {
                            a.level = level;
                            a.assessed_at = at;
                        }
                        Some(_) => {}
                        None => s.adl.push(AdlNeed {
                            domain,
                            level,
                            assessed_at: at,
                        }),
                    });
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => self.report.mapped(TY),
            Err(reason) => {
                if let (Some(table), FactValue::Concept(codes)) = (value_table(kind), &o.value) {
                    self.unused_codes(table, "Observation.valueCodeableConcept", codes);
                }
                self.report.skip(TY, id, reason);
            }
        }
    }

    fn push(&mut self, idx: usize, f: impl FnOnce(&mut Snapshot)) {
        if let Some(s) = self.snapshots.get_mut(idx) {
            f(s);
        }
    }

    fn vital(&mut self, idx: usize, at: DateTime<Utc>, source: &str, f: impl FnOnce(&mut Vitals)) {
        let set = self.vitals.entry((idx, at)).or_default();
        f(&mut set.vitals);
        set.sources.push(source.to_owned());
    }

    fn service_request(&mut self, id: &'a str, r: &'a fhir_sdk::r4b::resources::ServiceRequest) {
        const TY: &str = "ServiceRequest";
        let tz = self.cfg.time_zone;
        if r.status.as_ref() != "active" {
            return self.report.out_of_scope(TY, "not active");
        }
        if r.authored_on
            .as_ref()
            .and_then(|d| date_time_in(d, self.cfg.time_zone))
            .is_some_and(|a| a > self.as_of)
        {
            return self.report.out_of_scope(TY, "authored after the snapshot time");
        }
        let category = self.lookup(
            |m| &m.order_categories,
            "order_categories",
            "ServiceRequest.category",
            r.category.iter().flatten(),
        );
        let idx = match self.target(r.encounter.as_ref(), Some(&r.subject)) {
            Ok(i) => i,
            Err(miss) => return self.missed(TY, id, miss),
        };
        let Some(category) = category else {
            return self
                .report
                .skip(TY, id, "no mapped order category (see `order_categories`)");
        };
        let due = match r.occurrence.as_ref() {
            Some(ServiceRequestOccurrence::DateTime(d)) => date_time_in(d, tz),
            Some(ServiceRequestOccurrence::Period(p)) => period_start(Some(p), tz),
            Some(ServiceRequestOccurrence::Timing(t)) => {
                t.event.iter().flatten().filter_map(|d| date_time_in(d, tz)).min()
            }
            _ => None,
        };
        self.push(idx, |s| {
            s.orders.push(Order {
                category: category.into(),
                due,
                source: Some(self.key.resource_tag("ServiceRequest", id)),
            })
        });
        self.report.mapped(TY);
    }

    fn care_plan(&mut self, id: &'a str, c: &'a fhir_sdk::r4b::resources::CarePlan) {
        const TY: &str = "CarePlan";
        if c.status.as_ref() != "active" {
            return self.report.out_of_scope(TY, "not active");
        }
        if period_start(c.period.as_ref(), self.cfg.time_zone).is_some_and(|s| s > self.as_of) {
            return self.report.out_of_scope(TY, "starts after the snapshot time");
        }
        let category = self.lookup(
            |m| &m.care_plan_categories,
            "care_plan_categories",
            "CarePlan.category",
            c.category.iter().flatten(),
        );
        let idx = match self.target(c.encounter.as_ref(), Some(&c.subject)) {
            Ok(i) => i,
            Err(miss) => return self.missed(TY, id, miss),
        };
        let Some(category) = category else {
            return self
                .report
                .skip(TY, id, "no mapped care-plan category (see `care_plan_categories`)");
        };
        self.push(idx, |s| {
            s.care_plans.push(CarePlanItem {
                category: category.into(),
                source: Some(self.key.resource_tag("CarePlan", id)),
            })
        });
        self.report.mapped(TY);
    }

    fn condition(&mut self, id: &'a str, c: &'a ConditionFacts) {
        const TY: &str = "Condition";
        const VER: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";
        const CLIN: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
        let verification = c.verification.as_deref();
        if has_code(verification, VER, "entered-in-error") || has_code(verification, VER, "refuted") {
            return self.report.out_of_scope(TY, "entered in error or refuted");
        }
        let active = c.clinical.as_deref().is_none_or(|cs| {
            ["active", "recurrence", "relapse"]
                .iter()
                .any(|code| has_code(Some(cs), CLIN, code))
        });
        if !active {
            return self.report.out_of_scope(TY, "not active");
        }
        if c.recorded.is_some_and(|r| r.start(self.cfg.time_zone) > self.as_of) {
            return self.report.out_of_scope(TY, "recorded after the snapshot time");
        }
        let code = self.lookup_named(|m| &m.diagnoses, "diagnoses", "Condition.code", c.code.as_deref());
        // a diagnosis is the patient's: one recorded during an earlier stay
        // (real records always name that stay) counts for the current one
        let idx = match self.target_text(c.encounter.as_deref(), c.subject.as_deref()) {
            Ok(i) => i,
            Err(_) if c.encounter.is_some() => {
                // from an earlier stay only what is said to be active still:
                // an encounter diagnosis often has no clinical status at all
                if c.clinical.is_none() || c.abated {
                    return self.report.out_of_scope(
                        TY,
                        "an earlier stay's diagnosis without an active clinical status, or abated",
                    );
                }
                match self.target_text(None, c.subject.as_deref()) {
                    Ok(i) => i,
                    Err(miss) => return self.missed(TY, id, miss),
                }
            }
            Err(miss) => return self.missed(TY, id, miss),
        };
        let Some(code) = code else {
            return self.report.skip(TY, id, "no ICD-10 coding (see `diagnoses`)");
        };
        self.push(idx, |s| {
            s.diagnoses.push(Diagnosis {
                code: code.into(),
                source: Some(self.key.resource_tag("Condition", id)),
            })
        });
        self.report.mapped(TY);
    }

    fn finish(mut self) -> (Vec<Snapshot>, MapReport) {
        let mut sets: Vec<((usize, DateTime<Utc>), VitalSet)> = self.vitals.drain().collect();
        sets.sort_by_key(|(k, _)| *k);
        for ((idx, at), set) in sets {
            if let Some(s) = self.snapshots.get_mut(idx) {
                s.vitals.push(VitalSigns {
                    at,
                    vitals: set.vitals,
                    source: Some(set.sources.join(",")),
                });
            }
        }
        for (idx, s) in self.snapshots.iter_mut().enumerate() {
            if let Some(n) = s.norton.as_mut() {
                n.total = self.norton_totals.get(&(idx, n.assessed_at)).copied();
            }
            s.news2.sort_by_key(|n| n.at);
            s.adl.sort_by_key(|a| a.domain);
            // the history the score reads, and the latest whatever its age
            let since = self.as_of - Duration::hours(HISTORY_HOURS);
            if let Some(latest) = s.news2.iter().map(|n| n.at).max() {
                s.news2.retain(|n| n.at > since || n.at == latest);
            }
            if let Some(latest) = s.vitals.iter().map(|v| v.at).max() {
                s.vitals.retain(|v| v.at > since || v.at == latest);
            }
        }
        self.report.snapshots = self.snapshots.len();
        let mut unused: Vec<UnusedCode> = self
            .unused
            .drain()
            .map(|((table, element, system, code), (count, display))| UnusedCode {
                table,
                element,
                system: system.map(str::to_owned),
                code: code.to_owned(),
                display: display.map(str::to_owned),
                count,
            })
            .collect();
        unused.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| (a.table, &a.system, &a.code).cmp(&(b.table, &b.system, &b.code)))
        });
        self.report.unused_codes = unused;
        let without = self.observed.iter().filter(|o| !**o).count();
        if without < self.observed.len() {
            self.report.stays_without_observations = without;
            if without > 0 {
                tracing::info!(
                    stays = without,
                    of = self.observed.len(),
                    "stays without any Observation while others have some: check that the FHIR server returns them"
                );
            }
        }
        (self.snapshots, self.report)
    }
}

fn to_u8(v: f64) -> Option<u8> {
    let r = v.round();
    (r.is_finite() && (0.0..=255.0).contains(&r)).then_some(r as u8)
}

fn to_u16(v: f64) -> Option<u16> {
    let r = v.round();
    (r.is_finite() && (0.0..=65_535.0).contains(&r)).then_some(r as u16)
}
