//! The mapping configuration: which FHIR codes mean what to careload.
//!
//! [`MappingConfig`] is what a region writes (TOML or JSON; every key
//! optional). Each code table is a flat map from `"system|code"` to a target;
//! the key `"system|*"` with the target `"*"` passes every code of that system
//! through as the target itself (the simulator's local systems use careload's
//! own keys as codes). A region's entries are consulted before the built-in
//! defaults, which mirror the simulator's code table (`crates/sim/src/codes.rs`);
//! `use_defaults = false` drops the defaults. [`MappingConfig::compile`]
//! checks every target and gives the [`Mapping`] the mapper uses.
//!
//! Every key is documented in `crates/ingest/README.md`, section "Mapping
//! your region's codes".

use std::collections::{BTreeMap, HashMap, HashSet};

use careload_scoring::news2::Acvpu;
use careload_scoring::snapshot::{AdlDomain, AdlLevel, NortonActivity, Profession, Route, SupportLevel};
use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::Error;

/// careload's local code systems (as the simulator's).
pub const LOCAL: &str = "https://careload.example/fhir/CodeSystem";
/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// EDQM standard terms (routes of administration).
pub const EDQM: &str = "http://standardterms.edqm.eu";
/// ICD-10-SE.
pub const ICD10_SE: &str = "urn:oid:1.2.752.116.1.1.1.1.3";
/// WHO ICD-10.
pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
/// HL7 location physical types.
pub const LOCATION_PHYSICAL_TYPE: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";

/// What an Observation code means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ObservationKind {
    /// NEWS2 total, 0–20 (`valueInteger` or `valueQuantity`).
    News2Total,
    /// Respiration rate, /min.
    RespirationRate,
    /// SpO₂, %.
    Spo2,
    /// Systolic blood pressure, mmHg (standalone or as a panel component).
    SystolicBp,
    /// A blood-pressure panel: its systolic component is read.
    BpPanel,
    /// Pulse, /min.
    Pulse,
    /// Temperature, °C.
    Temperature,
    /// Level of consciousness (`valueCodeableConcept` via `acvpu`).
    Acvpu,
    /// On supplemental oxygen (`valueBoolean`).
    SupplementalOxygen,
    /// SpO₂ scale 2 applies (`valueBoolean`).
    #[serde(rename = "spo2-scale-2")]
    Spo2Scale2,
    /// Norton physical activity (`valueInteger` 4–1 or `valueCodeableConcept` via `norton_levels`).
    NortonPhysicalActivity,
    /// Norton total (`valueInteger`).
    NortonTotal,
    /// Emotional support (`valueCodeableConcept` via `support_levels`).
    EmotionalSupport,
    /// ADL, hygiene.
    AdlHygiene,
    /// ADL, eating and drinking.
    AdlEatingDrinking,
    /// ADL, dressing.
    AdlDressing,
    /// ADL, toileting.
    AdlToileting,
    /// ADL, mobility.
    AdlMobility,
}

impl ObservationKind {
    /// The ADL domain of an ADL kind.
    pub fn adl_domain(self) -> Option<AdlDomain> {
        match self {
            ObservationKind::AdlHygiene => Some(AdlDomain::Hygiene),
            ObservationKind::AdlEatingDrinking => Some(AdlDomain::EatingDrinking),
            ObservationKind::AdlDressing => Some(AdlDomain::Dressing),
            ObservationKind::AdlToileting => Some(AdlDomain::Toileting),
            ObservationKind::AdlMobility => Some(AdlDomain::Mobility),
            _ => None,
        }
    }
}

/// A level of the Location tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LocationLevel {
    /// A ward (avdelning).
    Ward,
    /// A team (vårdlag).
    Team,
    /// A room.
    Room,
    /// A bed.
    Bed,
    /// A department (*verksamhet*) above the ward: known, not a placement
    /// (`careload mapping organisation` reads the tree above the ward).
    Department,
    /// A site, the hospital: known, not a placement.
    Site,
}

/// A code table as written: `"system|code"` (or `"system|*"`) → target.
pub type CodeTable = BTreeMap<String, String>;

/// A region's mapping configuration. Every field is optional; see the crate README.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MappingConfig {
    /// The wards' IANA time zone: medication times of day are local times.
    pub time_zone: String,
    /// Consult the built-in defaults after the region's entries.
    pub use_defaults: bool,
    /// `Encounter.class` codes of an inpatient stay (any system). Default `IMP`, `ACUTE`, `NONAC`.
    pub inpatient_classes: Vec<String>,
    /// `Location.physicalType` → `ward`, `team`, `room` or `bed` (a stay's
    /// placement), or `department` or `site` (above the ward: known, not a
    /// placement).
    pub location_types: CodeTable,
    /// Room (or bed) Location id → team id, for hospitals without team Locations.
    pub room_teams: BTreeMap<String, String>,
    /// Ward Location id → its specialties (the target codes of `specialties`);
    /// overrides the ward's `Location.type`.
    pub ward_specialties: BTreeMap<String, Vec<String>>,
    /// `Encounter.serviceType`/`type` and ward `Location.type` codings → specialty.
    pub specialties: CodeTable,
    /// Observation codes → [`ObservationKind`] (kebab-case).
    pub observations: CodeTable,
    /// `Task.code` → activity code of the weights file.
    pub activities: CodeTable,
    /// `Task.performerType` → `USK` or `SSK`.
    pub professions: CodeTable,
    /// `dosageInstruction.route` → route key of the weights file.
    pub routes: CodeTable,
    /// `ServiceRequest.category` → order category of the weights file.
    pub order_categories: CodeTable,
    /// `CarePlan.category` → care-plan category of the weights file.
    pub care_plan_categories: CodeTable,
    /// `Condition.code` → ICD-10 code (normally `"system|*" = "*"`).
    pub diagnoses: CodeTable,
    /// ACVPU values → letter `A`, `C`, `V`, `P`, `U`.
    pub acvpu: CodeTable,
    /// Norton physical-activity values → `walks`, `walks_with_help`, `wheelchair`, `bedridden`.
    pub norton_levels: CodeTable,
    /// Emotional-support values → the five level keys.
    pub support_levels: CodeTable,
    /// ADL values → `independent`, `partial_help`, `full_help`.
    pub adl_levels: CodeTable,
}

impl Default for MappingConfig {
    fn default() -> MappingConfig {
        MappingConfig {
            time_zone: "Europe/Stockholm".to_owned(),
            use_defaults: true,
            inpatient_classes: vec!["IMP".to_owned(), "ACUTE".to_owned(), "NONAC".to_owned()],
            location_types: CodeTable::new(),
            room_teams: BTreeMap::new(),
            ward_specialties: BTreeMap::new(),
            specialties: CodeTable::new(),
            observations: CodeTable::new(),
            activities: CodeTable::new(),
            professions: CodeTable::new(),
            routes: CodeTable::new(),
            order_categories: CodeTable::new(),
            care_plan_categories: CodeTable::new(),
            diagnoses: CodeTable::new(),
            acvpu: CodeTable::new(),
            norton_levels: CodeTable::new(),
            support_levels: CodeTable::new(),
            adl_levels: CodeTable::new(),
        }
    }
}

fn local(name: &str) -> String {
    format!("{LOCAL}/{name}")
}

fn pass(system: &str) -> (String, String) {
    (format!("{system}|*"), "*".to_owned())
}

fn entry(system: &str, code: &str, target: &str) -> (String, String) {
    (format!("{system}|{code}"), target.to_owned())
}

/// The built-in default tables, in the order of [`MappingConfig`]'s tables.
pub struct Defaults;

impl Defaults {
    /// `location_types`.
    pub fn location_types() -> CodeTable {
        [
            ("wa", "ward"),
            ("area", "team"),
            ("ro", "room"),
            ("bd", "bed"),
            ("wi", "department"),
            ("bu", "department"),
            ("si", "site"),
        ]
        .into_iter()
        .map(|(c, t)| entry(LOCATION_PHYSICAL_TYPE, c, t))
        .collect()
    }

    /// `specialties`: SNOMED CT codes pass through.
    pub fn specialties() -> CodeTable {
        [pass(SNOMED)].into_iter().collect()
    }

    /// `observations`.
    pub fn observations() -> CodeTable {
        let obs = local("observation");
        let mut t: CodeTable = [
            (SNOMED, "1104051000000101", "news2-total"),
            (LOINC, "9279-1", "respiration-rate"),
            (LOINC, "59408-5", "spo2"),
            (LOINC, "2708-6", "spo2"),
            (LOINC, "8480-6", "systolic-bp"),
            (LOINC, "85354-9", "bp-panel"),
            (LOINC, "55284-4", "bp-panel"),
            // the R4 vital-signs profile's codes, and what real records
            // carry beside them (Synthea: 8331-1 oral temperature, 55284-4)
            (LOINC, "8867-4", "pulse"),
            (LOINC, "8889-8", "pulse"),
            (LOINC, "8310-5", "temperature"),
            (LOINC, "8328-7", "temperature"),
            (LOINC, "8329-5", "temperature"),
            (LOINC, "8331-1", "temperature"),
            (LOINC, "8332-9", "temperature"),
            (LOINC, "8333-7", "temperature"),
        ]
        .into_iter()
        .map(|(s, c, k)| entry(s, c, k))
        .collect();
        for code in [
            "acvpu",
            "supplemental-oxygen",
            "spo2-scale-2",
            "norton-physical-activity",
            "norton-total",
            "emotional-support",
            "adl-hygiene",
            "adl-eating-drinking",
            "adl-dressing",
            "adl-toileting",
            "adl-mobility",
        ] {
            t.insert(format!("{obs}|{code}"), code.to_owned());
        }
        t
    }

    /// `activities`: careload's nursing-activity codes pass through.
    pub fn activities() -> CodeTable {
        [pass(&local("nursing-activity"))].into_iter().collect()
    }

    /// `professions`.
    pub fn professions() -> CodeTable {
        [pass(&local("profession"))].into_iter().collect()
    }

    /// `routes`: SNOMED CT (the simulator's routes) and EDQM standard terms.
    pub fn routes() -> CodeTable {
        [
            (SNOMED, "26643006", "oral"),
            (SNOMED, "47625008", "intravenous"),
            (SNOMED, "34206005", "subcutaneous"),
            (SNOMED, "78421000", "intramuscular"),
            (SNOMED, "447694001", "inhalation"),
            (SNOMED, "127492001", "enteral"),
            (SNOMED, "6064005", "topical"),
            (SNOMED, "37161004", "rectal"),
            (EDQM, "20053000", "oral"),
            (EDQM, "20045000", "intravenous"),
            (EDQM, "20066000", "subcutaneous"),
            (EDQM, "20035000", "intramuscular"),
            (EDQM, "20020000", "inhalation"),
        ]
        .into_iter()
        .map(|(s, c, k)| entry(s, c, k))
        .collect()
    }

    /// `order_categories`.
    pub fn order_categories() -> CodeTable {
        [pass(&local("order-category"))].into_iter().collect()
    }

    /// `care_plan_categories`.
    pub fn care_plan_categories() -> CodeTable {
        [pass(&local("care-plan-category"))].into_iter().collect()
    }

    /// `diagnoses`: ICD-10-SE and WHO ICD-10 pass through.
    pub fn diagnoses() -> CodeTable {
        [pass(ICD10_SE), pass(ICD10)].into_iter().collect()
    }

    /// `acvpu`.
    pub fn acvpu() -> CodeTable {
        [pass(&local("acvpu"))].into_iter().collect()
    }

    /// `norton_levels`.
    pub fn norton_levels() -> CodeTable {
        [pass(&local("norton-physical-activity-level"))].into_iter().collect()
    }

    /// `support_levels`.
    pub fn support_levels() -> CodeTable {
        [pass(&local("emotional-support-level"))].into_iter().collect()
    }

    /// `adl_levels`.
    pub fn adl_levels() -> CodeTable {
        [pass(&local("adl-level"))].into_iter().collect()
    }
}

/// A compiled code table: exact codes first, then whole systems passed through.
#[derive(Clone, Debug)]
pub struct Lookup<T> {
    /// system → code → target: looked up by borrowed strings, no allocation
    /// per coding (every held resource is looked up every hour).
    exact: HashMap<String, HashMap<String, T>>,
    systems: HashSet<String>,
}

impl<T> Default for Lookup<T> {
    fn default() -> Lookup<T> {
        Lookup {
            exact: HashMap::new(),
            systems: HashSet::new(),
        }
    }
}

/// A target parsed from its key in a table.
pub trait Target: Sized {
    /// The target for a key, if it is one.
    fn parse(key: &str) -> Option<Self>;
}

impl Target for String {
    fn parse(key: &str) -> Option<String> {
        (!key.is_empty()).then(|| key.to_owned())
    }
}

macro_rules! serde_target {
    ($($t:ty),*) => {$(
        impl Target for $t {
            fn parse(key: &str) -> Option<$t> {
                serde_from_key(key)
            }
        }
    )*};
}

fn serde_from_key<T: DeserializeOwned>(key: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(key.to_owned())).ok()
}

serde_target!(
    Route,
    Profession,
    SupportLevel,
    AdlLevel,
    NortonActivity,
    ObservationKind,
    LocationLevel
);

impl Target for Acvpu {
    fn parse(key: &str) -> Option<Acvpu> {
        Acvpu::from_letter(key)
    }
}

impl<T: Target> Lookup<T> {
    fn compile(name: &str, tables: [&CodeTable; 2]) -> Result<Lookup<T>, Error> {
        let mut lookup = Lookup::default();
        // the region's table (first) wins: insert defaults, then the region's over them
        for table in tables.iter().rev() {
            for (key, target) in table.iter() {
                let Some((system, code)) = key.rsplit_once('|') else {
                    return Err(Error::Config(format!(
                        "{name}: key {key:?} is not \"system|code\" or \"system|*\""
                    )));
                };
                if code == "*" {
                    if target != "*" {
                        return Err(Error::Config(format!(
                            "{name}: {key:?} passes codes through; its target must be \"*\""
                        )));
                    }
                    lookup.systems.insert(system.to_owned());
                } else {
                    let Some(t) = T::parse(target) else {
                        return Err(Error::Config(format!(
                            "{name}: {key:?} has an unknown target {target:?}"
                        )));
                    };
                    lookup
                        .exact
                        .entry(system.to_owned())
                        .or_default()
                        .insert(code.to_owned(), t);
                }
            }
        }
        Ok(lookup)
    }
}

impl<T: Target + Clone> Lookup<T> {
    /// The target of one coding: the exact entry, else the code itself when
    /// its system passes through (and the code is a valid target).
    pub fn coding(&self, system: Option<&str>, code: Option<&str>) -> Option<T> {
        let system = system.unwrap_or("");
        let code = code?;
        if let Some(t) = self.exact.get(system).and_then(|codes| codes.get(code)) {
            return Some(t.clone());
        }
        if self.systems.contains(system) {
            return T::parse(code);
        }
        None
    }

    /// The first coding of a CodeableConcept that maps.
    pub fn concept(&self, cc: Option<&fhir_sdk::r4b::types::CodeableConcept>) -> Option<T> {
        cc?.coding
            .iter()
            .flatten()
            .find_map(|c| self.coding(c.system.as_deref(), c.code.as_deref()))
    }

    /// The first of `codes` (kept with their displays) that maps.
    pub fn named_codes(&self, codes: &[crate::facts::NamedCode]) -> Option<T> {
        codes
            .iter()
            .find_map(|c| self.coding(c.code.system.as_deref(), c.code.code.as_deref()))
    }

    /// The first of `codes` (a kept concept, see [`crate::facts`]) that maps.
    pub fn codes(&self, codes: &[crate::facts::Code]) -> Option<T> {
        codes
            .iter()
            .find_map(|c| self.coding(c.system.as_deref(), c.code.as_deref()))
    }
}

/// A checked mapping configuration, ready for [`crate::map`].
#[derive(Clone, Debug)]
pub struct Mapping {
    /// The wards' time zone.
    pub time_zone: Tz,
    /// Inpatient `Encounter.class` codes.
    pub inpatient_classes: HashSet<String>,
    /// Location physical types.
    pub location_types: Lookup<LocationLevel>,
    /// Room → team.
    pub room_teams: BTreeMap<String, String>,
    /// Ward → specialties (override).
    pub ward_specialties: BTreeMap<String, Vec<String>>,
    /// Specialties.
    pub specialties: Lookup<String>,
    /// Observation kinds.
    pub observations: Lookup<ObservationKind>,
    /// Activities.
    pub activities: Lookup<String>,
    /// Professions.
    pub professions: Lookup<Profession>,
    /// Routes.
    pub routes: Lookup<Route>,
    /// Order categories.
    pub order_categories: Lookup<String>,
    /// Care-plan categories.
    pub care_plan_categories: Lookup<String>,
    /// Diagnoses.
    pub diagnoses: Lookup<String>,
    /// ACVPU values.
    pub acvpu: Lookup<Acvpu>,
    /// Norton levels.
    pub norton_levels: Lookup<NortonActivity>,
    /// Emotional-support levels.
    pub support_levels: Lookup<SupportLevel>,
    /// ADL levels.
    pub adl_levels: Lookup<AdlLevel>,
}

impl Default for Mapping {
    fn default() -> Mapping {
        match MappingConfig::default().compile() {
            Ok(m) => m,
            // the defaults are checked by a test; never reached
            Err(e) => {
                tracing::error!(error = %e, "the built-in mapping defaults do not compile; nothing will map");
                Mapping::empty()
            }
        }
    }
}

impl Mapping {
    /// A mapping that maps nothing (only the fallback of a broken default).
    fn empty() -> Mapping {
        Mapping {
            time_zone: chrono_tz::Europe::Stockholm,
            inpatient_classes: HashSet::new(),
            location_types: Lookup::default(),
            room_teams: BTreeMap::new(),
            ward_specialties: BTreeMap::new(),
            specialties: Lookup::default(),
            observations: Lookup::default(),
            activities: Lookup::default(),
            professions: Lookup::default(),
            routes: Lookup::default(),
            order_categories: Lookup::default(),
            care_plan_categories: Lookup::default(),
            diagnoses: Lookup::default(),
            acvpu: Lookup::default(),
            norton_levels: Lookup::default(),
            support_levels: Lookup::default(),
            adl_levels: Lookup::default(),
        }
    }
}

impl MappingConfig {
    /// Checks every entry and builds the lookup tables.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first entry that cannot be used.
    pub fn compile(&self) -> Result<Mapping, Error> {
        let time_zone: Tz = self
            .time_zone
            .parse()
            .map_err(|_| Error::Config(format!("time_zone {:?} is not an IANA time zone", self.time_zone)))?;
        let empty = CodeTable::new();
        let d = |t: CodeTable| if self.use_defaults { t } else { CodeTable::new() };
        macro_rules! table {
            ($field:ident) => {{
                let defaults = d(Defaults::$field());
                Lookup::compile(stringify!($field), [&self.$field, &defaults])?
            }};
        }
        let _ = &empty;
        Ok(Mapping {
            time_zone,
            inpatient_classes: self.inpatient_classes.iter().cloned().collect(),
            location_types: table!(location_types),
            room_teams: self.room_teams.clone(),
            ward_specialties: self.ward_specialties.clone(),
            specialties: table!(specialties),
            observations: table!(observations),
            activities: table!(activities),
            professions: table!(professions),
            routes: table!(routes),
            order_categories: table!(order_categories),
            care_plan_categories: table!(care_plan_categories),
            diagnoses: table!(diagnoses),
            acvpu: table!(acvpu),
            norton_levels: table!(norton_levels),
            support_levels: table!(support_levels),
            adl_levels: table!(adl_levels),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_defaults_compile() {
        let m = MappingConfig::default().compile().unwrap();
        assert_eq!(m.routes.coding(Some(SNOMED), Some("26643006")), Some(Route::Oral));
        assert_eq!(m.routes.coding(Some(EDQM), Some("20045000")), Some(Route::Intravenous));
        assert_eq!(m.routes.coding(Some(SNOMED), Some("1")), None);
        assert_eq!(
            m.activities
                .coding(Some(&local("nursing-activity")), Some("shower"))
                .as_deref(),
            Some("shower")
        );
    }

    #[test]
    fn a_region_adds_and_overrides_codes() {
        let cfg: MappingConfig = serde_json::from_value(serde_json::json!({
            "activities": { "https://region.example/vips|HYG01": "personal-hygiene" },
            "routes": { "http://snomed.info/sct|26643006": "enteral" },
        }))
        .unwrap();
        let m = cfg.compile().unwrap();
        assert_eq!(
            m.activities
                .coding(Some("https://region.example/vips"), Some("HYG01"))
                .as_deref(),
            Some("personal-hygiene")
        );
        assert_eq!(m.routes.coding(Some(SNOMED), Some("26643006")), Some(Route::Enteral));
        assert_eq!(
            m.routes.coding(Some(SNOMED), Some("47625008")),
            Some(Route::Intravenous)
        );
    }

    #[test]
    fn bad_entries_are_refused_with_their_key() {
        for (json, needle) in [
            (serde_json::json!({ "routes": { "x|1": "by-owl" } }), "by-owl"),
            (serde_json::json!({ "routes": { "nobar": "oral" } }), "nobar"),
            (serde_json::json!({ "time_zone": "Mars/Olympus" }), "Mars/Olympus"),
            (serde_json::json!({ "observations": { "s|*": "pulse" } }), "s|*"),
        ] {
            let cfg: MappingConfig = serde_json::from_value(json).unwrap();
            let e = cfg.compile().unwrap_err().to_string();
            assert!(e.contains(needle), "{e}");
        }
    }
}
