//! Every code system and code the simulator emits, in one place.
//!
//! The ingest's default configuration mirrors this table; `README.md` in this
//! crate documents it for people. Standard terminologies (SNOMED CT, LOINC,
//! UCUM, ATC, ICD-10-SE, HL7 code systems) are used where one exists; the
//! rest lives under one local base, [`LOCAL`], with one code system per
//! concept. Activity, order and care-plan codes are the keys of the default
//! weights file (`weights/2026.1.toml`), so the default weights price them,
//! except the deliberately unknown [`UNKNOWN_ACTIVITIES`].

/// The base of careload's local code systems.
pub const LOCAL: &str = "https://careload.example/fhir/CodeSystem";
/// Nursing activities on the to-do list (`Task.code`).
pub const NURSING_ACTIVITY: &str = "https://careload.example/fhir/CodeSystem/nursing-activity";
/// Local observation codes (ACVPU, oxygen, Norton, emotional support, ADL).
pub const OBSERVATION: &str = "https://careload.example/fhir/CodeSystem/observation";
/// The profession that performs a task (`Task.performerType`): `USK`, `SSK`.
pub const PROFESSION: &str = "https://careload.example/fhir/CodeSystem/profession";
/// Multidisciplinary order categories (`ServiceRequest.category`).
pub const ORDER_CATEGORY: &str = "https://careload.example/fhir/CodeSystem/order-category";
/// Care-plan categories (`CarePlan.category`).
pub const CARE_PLAN_CATEGORY: &str = "https://careload.example/fhir/CodeSystem/care-plan-category";
/// A ward's staffing care category (`Location.type` of a ward): the keys of
/// `[staff_hours]` in the weights file.
pub const CARE_CATEGORY: &str = "https://careload.example/fhir/CodeSystem/care-category";
/// ADL levels (`independent`, `partial_help`, `full_help`).
pub const ADL_LEVEL: &str = "https://careload.example/fhir/CodeSystem/adl-level";
/// Emotional-support levels (BEVARA's five).
pub const EMOTIONAL_SUPPORT_LEVEL: &str = "https://careload.example/fhir/CodeSystem/emotional-support-level";

/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// UCUM units.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// WHO ATC (medications).
pub const ATC: &str = "http://www.whocc.no/atc";
/// ICD-10-SE, the Swedish edition (OID system URI).
pub const ICD10_SE: &str = "urn:oid:1.2.752.116.1.1.1.1.3";
/// WHO ICD-10 (used on a minority of diagnoses, as some systems do).
pub const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
/// HL7 location physical types (`wa`, `area`, `ro`, `bd`).
pub const LOCATION_PHYSICAL_TYPE: &str = "http://terminology.hl7.org/CodeSystem/location-physical-type";
/// HL7 v3 ActCode (`Encounter.class` IMP).
pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/// HL7 condition clinical status.
pub const CONDITION_CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
/// HL7 condition category (`encounter-diagnosis`).
pub const CONDITION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/condition-category";
/// HL7 observation category (`vital-signs`, `survey`).
pub const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";
/// The Swedish personal identity number system. The simulator's values are
/// synthetic and visibly fake (`19XX000042-TEST`); they exist only so that
/// the ingest's tests can prove identifiers are dropped.
pub const PERSONNUMMER: &str = "http://electronichealth.se/identifier/personnummer";

/// `Encounter.class` code for an inpatient stay.
pub const INPATIENT: &str = "IMP";

/// NEWS2 total score (SNOMED CT, UK extension, as used by NHS FHIR profiles).
pub const NEWS2_TOTAL: &str = "1104051000000101";
/// Respiratory rate (LOINC), `/min`.
pub const RESPIRATORY_RATE: &str = "9279-1";
/// Oxygen saturation by pulse oximetry (LOINC), `%`.
pub const SPO2: &str = "59408-5";
/// Heart rate (LOINC), `/min`.
pub const HEART_RATE: &str = "8867-4";
/// Body temperature (LOINC), `Cel`.
pub const BODY_TEMPERATURE: &str = "8310-5";
/// Blood pressure panel (LOINC), with systolic and diastolic components.
pub const BP_PANEL: &str = "85354-9";
/// Systolic blood pressure (LOINC), `mm[Hg]`.
pub const SYSTOLIC_BP: &str = "8480-6";
/// Diastolic blood pressure (LOINC), `mm[Hg]`.
pub const DIASTOLIC_BP: &str = "8462-4";

/// Local observation: level of consciousness, `valueCodeableConcept` A, C, V, P or U
/// (system [`OBSERVATION`] + `/acvpu`, i.e. [`ACVPU_VALUE`]).
pub const ACVPU: &str = "acvpu";
/// The code system of ACVPU values.
pub const ACVPU_VALUE: &str = "https://careload.example/fhir/CodeSystem/acvpu";
/// Local observation: on supplemental oxygen, `valueBoolean`.
pub const SUPPLEMENTAL_OXYGEN: &str = "supplemental-oxygen";
/// Local observation: SpO₂ scale 2 applies (prescribed 88–92 % target), `valueBoolean`.
pub const SPO2_SCALE_2: &str = "spo2-scale-2";
/// Local observation: Norton physical activity, `valueInteger` 4 walks,
/// 3 walks with help, 2 wheelchair, 1 bedridden.
pub const NORTON_PHYSICAL_ACTIVITY: &str = "norton-physical-activity";
/// Local observation: Norton total (original scale, 5–20), `valueInteger`.
pub const NORTON_TOTAL: &str = "norton-total";
/// Local observation: emotional support, `valueCodeableConcept` from
/// [`EMOTIONAL_SUPPORT_LEVEL`].
pub const EMOTIONAL_SUPPORT: &str = "emotional-support";
/// Local observations: ADL per area, `valueCodeableConcept` from [`ADL_LEVEL`],
/// in the order hygiene, eating and drinking, dressing, toileting, mobility.
pub const ADL: [&str; 5] = [
    "adl-hygiene",
    "adl-eating-drinking",
    "adl-dressing",
    "adl-toileting",
    "adl-mobility",
];
/// ADL levels, least help first.
pub const ADL_LEVELS: [&str; 3] = ["independent", "partial_help", "full_help"];
/// Emotional-support levels, least first (as in the weights file).
pub const SUPPORT_LEVELS: [&str; 5] = [
    "less_than_hourly",
    "hourly",
    "twice_hourly",
    "continuous_one",
    "continuous_more",
];
/// ACVPU letters, alert first.
pub const ACVPU_LETTERS: [&str; 5] = ["A", "C", "V", "P", "U"];

/// Every local observation code the simulator emits (system [`OBSERVATION`]).
pub const LOCAL_OBSERVATIONS: [&str; 11] = [
    ACVPU,
    SUPPLEMENTAL_OXYGEN,
    SPO2_SCALE_2,
    NORTON_PHYSICAL_ACTIVITY,
    NORTON_TOTAL,
    EMOTIONAL_SUPPORT,
    ADL[0],
    ADL[1],
    ADL[2],
    ADL[3],
    ADL[4],
];

/// Nursing activities the default weights give to assistant nurses (USK).
pub const USK_ACTIVITIES: [&str; 10] = [
    "personal-hygiene",
    "shower",
    "dressing",
    "toileting",
    "mobilisation",
    "repositioning",
    "meal-assistance",
    "fluid-balance",
    "blood-glucose",
    "escort",
];

/// Nursing activities the default weights give to registered nurses (SSK).
/// With [`USK_ACTIVITIES`]: every activity code the simulator emits that the
/// default weights price.
pub const SSK_ACTIVITIES: [&str; 9] = [
    "wound-care",
    "urinary-catheter",
    "peripheral-line",
    "drain-care",
    "tube-feeding",
    "pain-assessment",
    "admission-interview",
    "discharge-planning",
    "patient-education",
];

/// Activity codes deliberately absent from the default weights (about 1 % of
/// tasks), so that unknown-code handling is exercised.
pub const UNKNOWN_ACTIVITIES: [&str; 1] = ["bed-making"];

/// Order categories (`ServiceRequest.category`), as in `[orders]` of the weights.
pub const ORDER_CATEGORIES: [&str; 6] = [
    "lab-sample",
    "blood-culture",
    "ecg",
    "imaging",
    "transfusion",
    "consultation",
];

/// The test or procedure ordered per category, index-aligned with
/// [`ORDER_CATEGORIES`]: (system, code, display).
pub const ORDER_CODES: [(&str, &str, &str); 6] = [
    (LOINC, "58410-2", "CBC panel - Blood by Automated count"),
    (LOINC, "600-7", "Bacteria identified in Blood by Culture"),
    (SNOMED, "29303009", "Electrocardiographic procedure"),
    (SNOMED, "399208008", "Plain chest X-ray"),
    (SNOMED, "116859006", "Transfusion of blood product"),
    (SNOMED, "11429006", "Consultation"),
];

/// Care-plan categories, as in `[care_plans]` of the weights.
pub const CARE_PLAN_CATEGORIES: [&str; 6] = [
    "palliative",
    "delirium",
    "fall-risk",
    "pressure-ulcer",
    "nutrition",
    "isolation",
];

/// Ward care categories, as the keys of `[staff_hours]` in the weights.
pub const CARE_CATEGORIES: [&str; 3] = ["general", "geriatric", "intermediate"];

/// Professions (`Task.performerType`).
pub const PROFESSIONS: [&str; 2] = ["USK", "SSK"];

/// A clinical specialty: a ward's and a stay's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Specialty {
    /// Short key (`general-medicine`).
    pub key: &'static str,
    /// SNOMED CT practice-setting code.
    pub snomed: &'static str,
    /// Its SNOMED CT display.
    pub display: &'static str,
    /// The Swedish word used in ward names.
    pub swedish: &'static str,
    /// The ward's staffing care category ([`CARE_CATEGORIES`]).
    pub care_category: &'static str,
    /// Median length of stay in days.
    pub los_median_days: f64,
}

/// The specialties wards are given, in order, repeating.
pub const SPECIALTIES: [Specialty; 8] = [
    Specialty {
        key: "general-medicine",
        snomed: "394802001",
        display: "General medicine",
        swedish: "medicin",
        care_category: "general",
        los_median_days: 4.0,
    },
    Specialty {
        key: "cardiology",
        snomed: "394579002",
        display: "Cardiology",
        swedish: "kardiologi",
        care_category: "intermediate",
        los_median_days: 3.0,
    },
    Specialty {
        key: "geriatrics",
        snomed: "394811001",
        display: "Geriatric medicine",
        swedish: "geriatrik",
        care_category: "geriatric",
        los_median_days: 6.0,
    },
    Specialty {
        key: "general-surgery",
        snomed: "394609007",
        display: "General surgery",
        swedish: "kirurgi",
        care_category: "general",
        los_median_days: 3.0,
    },
    Specialty {
        key: "orthopaedics",
        snomed: "394801008",
        display: "Trauma and orthopaedics",
        swedish: "ortopedi",
        care_category: "general",
        los_median_days: 4.5,
    },
    Specialty {
        key: "infectious-diseases",
        snomed: "394807007",
        display: "Infectious diseases",
        swedish: "infektion",
        care_category: "general",
        los_median_days: 4.0,
    },
    Specialty {
        key: "neurology",
        snomed: "394591006",
        display: "Neurology",
        swedish: "neurologi",
        care_category: "intermediate",
        los_median_days: 5.0,
    },
    Specialty {
        key: "oncology",
        snomed: "394592004",
        display: "Clinical oncology",
        swedish: "onkologi",
        care_category: "general",
        los_median_days: 5.0,
    },
];

/// A medication route: the weights file's key and its SNOMED CT route code
/// (all from the FHIR R4 route-codes value set, descendants of 284009009
/// "Route of administration value").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteCode {
    /// The weights file's route key (`oral`, `intravenous`, …).
    pub key: &'static str,
    /// SNOMED CT code.
    pub snomed: &'static str,
    /// SNOMED CT display.
    pub display: &'static str,
}

/// The routes the simulator uses. Inhalation uses the international
/// "respiratory tract route" (447694001) rather than the UK-extension
/// inhalation code (18679011000001101), so that any SNOMED CT edition knows
/// it; enteral tube feeding uses the nasogastric route (127492001).
pub const ROUTES: [RouteCode; 8] = [
    RouteCode {
        key: "oral",
        snomed: "26643006",
        display: "Oral route",
    },
    RouteCode {
        key: "intravenous",
        snomed: "47625008",
        display: "Intravenous route",
    },
    RouteCode {
        key: "subcutaneous",
        snomed: "34206005",
        display: "Subcutaneous route",
    },
    RouteCode {
        key: "intramuscular",
        snomed: "78421000",
        display: "Intramuscular route",
    },
    RouteCode {
        key: "inhalation",
        snomed: "447694001",
        display: "Respiratory tract route",
    },
    RouteCode {
        key: "enteral",
        snomed: "127492001",
        display: "Nasogastric route",
    },
    RouteCode {
        key: "topical",
        snomed: "6064005",
        display: "Topical route",
    },
    RouteCode {
        key: "rectal",
        snomed: "37161004",
        display: "Rectal route",
    },
];

/// Medications by route (index-aligned with [`ROUTES`]): ATC code and name.
pub const MEDICATIONS: [&[(&str, &str)]; 8] = [
    &[
        ("C09AA05", "ramipril"),
        ("C07AB02", "metoprolol"),
        ("B01AC06", "acetylsalicylic acid"),
        ("C03CA01", "furosemide"),
        ("A02BC01", "omeprazole"),
        ("N02BE01", "paracetamol"),
        ("C10AA01", "simvastatin"),
        ("N05CF01", "zopiclone"),
        ("A06AD65", "macrogol, combinations"),
        ("N06AB10", "escitalopram"),
        ("B01AF02", "apixaban"),
        ("H03AA01", "levothyroxine sodium"),
        ("A10BA02", "metformin"),
        ("A12BA01", "potassium chloride"),
    ],
    &[
        ("J01DD04", "ceftriaxone"),
        ("J01CE01", "benzylpenicillin"),
        ("J01CF05", "flucloxacillin"),
        ("B05BB01", "electrolytes"),
        ("C03CA01", "furosemide"),
    ],
    &[
        ("B01AB05", "enoxaparin"),
        ("A10AE04", "insulin glargine"),
        ("N02AA01", "morphine"),
    ],
    &[("B03BA01", "cyanocobalamin")],
    &[("R03AC02", "salbutamol"), ("R03BB04", "tiotropium bromide")],
    &[("A02BC01", "omeprazole"), ("N02BE01", "paracetamol")],
    &[
        ("D07AB02", "hydrocortisone butyrate"),
        ("D02AC", "soft paraffin and fat products"),
    ],
    &[("N02BE01", "paracetamol"), ("A06AB02", "bisacodyl")],
];

/// ICD-10 diagnoses: main diagnoses per specialty (index-aligned with [`SPECIALTIES`]).
pub const MAIN_DIAGNOSES: [&[&str]; 8] = [
    &["I50.9", "J18.9", "N39.0", "J44.1", "E86.9", "A41.9"],
    &["I50.9", "I48.9", "I21.4", "I20.0"],
    &["J18.9", "N39.0", "I50.9", "R29.6", "E86.9"],
    &["K35.8", "K80.2", "K56.6", "K57.3"],
    &["S72.0", "S72.1", "S82.8", "M16.1"],
    &["A41.9", "J18.9", "A46.9", "N10.9", "U07.1"],
    &["I63.9", "G40.9", "G35.9", "I61.9"],
    &["C34.9", "C18.9", "C50.9", "C61.9"],
];

/// Common somatic comorbidities and their share of patients.
pub const COMORBIDITIES: [(&str, f64); 5] = [
    ("I10", 0.30),
    ("E11.9", 0.20),
    ("I48.9", 0.10),
    ("J44.9", 0.08),
    ("N18.3", 0.08),
];

/// The type-2 diabetes code: its patients get blood-glucose checks.
pub const DIABETES: &str = "E11.9";

/// Psychiatric (chapter V, F) diagnoses and their relative weights: dementia
/// and delirium (F0x), alcohol (F10), depression, anxiety, schizophrenia.
pub const PSYCHIATRIC_DIAGNOSES: [(&str, f64); 7] = [
    ("F03.9", 0.25),
    ("F05.9", 0.12),
    ("F10.2", 0.18),
    ("F10.3", 0.05),
    ("F32.1", 0.20),
    ("F41.1", 0.12),
    ("F20.0", 0.08),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_systems_live_under_the_local_base() {
        for system in [
            NURSING_ACTIVITY,
            OBSERVATION,
            PROFESSION,
            ORDER_CATEGORY,
            CARE_PLAN_CATEGORY,
            CARE_CATEGORY,
            ADL_LEVEL,
            EMOTIONAL_SUPPORT_LEVEL,
            ACVPU_VALUE,
        ] {
            assert!(
                system.starts_with(LOCAL) && system[LOCAL.len()..].starts_with('/'),
                "{system}"
            );
        }
    }

    #[test]
    fn tables_are_aligned() {
        assert_eq!(MEDICATIONS.len(), ROUTES.len());
        assert!(MEDICATIONS.iter().all(|m| !m.is_empty()));
        assert_eq!(MAIN_DIAGNOSES.len(), SPECIALTIES.len());
        assert!(SPECIALTIES.iter().all(|s| CARE_CATEGORIES.contains(&s.care_category)));
        assert!(PSYCHIATRIC_DIAGNOSES.iter().all(|(c, _)| c.starts_with('F')));
    }
}
