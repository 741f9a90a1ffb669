//! The de-identified picture of one inpatient at one moment.
//!
//! A [`Snapshot`] is everything the score needs and nothing that identifies a
//! person: a keyed pseudonym instead of the FHIR id, sex and birth *year*
//! instead of a birth date, codes instead of free text. The ingest builds
//! snapshots from FHIR; the store keeps them hour by hour so that history can
//! be re-scored under another weights version; the scoring reads them.
//!
//! Times are UTC instants. Anything that depends on the ward's local clock
//! (medication times of day, shift boundaries) is resolved to instants before
//! it reaches a snapshot, or by [`crate::shift`] with an explicit time zone.
//!
//! Each clinical item carries an optional `source`: the resource it came
//! from as a keyed tag such as `Task#8f2c0a9d1e3b7c45` (the ingest's
//! `PseudonymKey::resource_tag`), never the EHR's id, which often holds the
//! patient's. A tag is stable hour to hour, so a change between hours lines
//! up with its item, and whoever holds the key can check which record a
//! contribution came from; with the code and time beside it, a nurse finds
//! the record in the EHR.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::news2::Vitals;

/// A code or category: stored inline up to 24 bytes, so that scoring a
/// region reads codes without chasing a pointer per item.
pub type Code = compact_str::CompactString;

/// A patient's pseudonym: a keyed hash of the FHIR id, as lowercase hex.
/// Never the FHIR id itself, never a personal identity number.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatientKey(pub String);

impl fmt::Display for PatientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Administrative sex, as FHIR `Patient.gender`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Other.
    Other,
    /// Not known or not recorded.
    #[default]
    Unknown,
}

/// The profession that performs a piece of care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum Profession {
    /// Undersköterska: assistant nurse (basic nursing).
    #[serde(rename = "USK")]
    Usk,
    /// Sjuksköterska: registered nurse (specific nursing).
    #[serde(rename = "SSK")]
    Ssk,
}

impl Profession {
    /// Both professions, assistant nurse first.
    pub const ALL: [Profession; 2] = [Profession::Usk, Profession::Ssk];

    /// The Swedish abbreviation used on screens and in files.
    pub fn abbreviation(self) -> &'static str {
        match self {
            Profession::Usk => "USK",
            Profession::Ssk => "SSK",
        }
    }
}

impl fmt::Display for Profession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.abbreviation())
    }
}

/// The physical-activity item of the (modified) Norton scale, BEVARA's
/// multiplier of nursing activities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NortonActivity {
    /// Walks independently (går själv).
    Walks,
    /// Walks with help (går med hjälp).
    WalksWithHelp,
    /// Sits in a wheelchair (rullstolsbunden).
    Wheelchair,
    /// Bedridden (sängliggande).
    Bedridden,
}

impl NortonActivity {
    /// All levels, from most to least independent.
    pub const ALL: [NortonActivity; 4] = [
        NortonActivity::Walks,
        NortonActivity::WalksWithHelp,
        NortonActivity::Wheelchair,
        NortonActivity::Bedridden,
    ];

    /// The key used in weights files.
    pub fn key(self) -> &'static str {
        match self {
            NortonActivity::Walks => "walks",
            NortonActivity::WalksWithHelp => "walks_with_help",
            NortonActivity::Wheelchair => "wheelchair",
            NortonActivity::Bedridden => "bedridden",
        }
    }

    /// Index into per-level tables.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A Norton assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Norton {
    /// The physical-activity item.
    pub activity: NortonActivity,
    /// The total, when recorded (modified Norton: 7–28, original: 5–20).
    pub total: Option<u8>,
    /// When it was assessed.
    #[serde(with = "crate::instant")]
    pub assessed_at: DateTime<Utc>,
}

/// Assessed need for emotional support (BEVARA's five levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SupportLevel {
    /// Less often than every hour.
    LessThanHourly,
    /// Every hour.
    Hourly,
    /// Twice an hour or more.
    TwiceHourly,
    /// Continuous, by one member of staff.
    ContinuousOne,
    /// Continuous, by more than one member of staff.
    ContinuousMore,
}

impl SupportLevel {
    /// All levels, from least to most.
    pub const ALL: [SupportLevel; 5] = [
        SupportLevel::LessThanHourly,
        SupportLevel::Hourly,
        SupportLevel::TwiceHourly,
        SupportLevel::ContinuousOne,
        SupportLevel::ContinuousMore,
    ];

    /// The key used in weights files.
    pub fn key(self) -> &'static str {
        match self {
            SupportLevel::LessThanHourly => "less_than_hourly",
            SupportLevel::Hourly => "hourly",
            SupportLevel::TwiceHourly => "twice_hourly",
            SupportLevel::ContinuousOne => "continuous_one",
            SupportLevel::ContinuousMore => "continuous_more",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// An emotional-support assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmotionalSupport {
    /// The assessed level.
    pub level: SupportLevel,
    /// When it was assessed.
    #[serde(with = "crate::instant")]
    pub assessed_at: DateTime<Utc>,
    /// The resource it came from, as a keyed tag (see the module doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A NEWS2 total as charted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct News2Observation {
    /// When it was measured.
    #[serde(with = "crate::instant")]
    pub at: DateTime<Utc>,
    /// The total, 0–20.
    pub value: u8,
    /// The resource it came from, as a keyed tag (see the module doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A set of vital signs measured together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "VitalSignsWire")]
pub struct VitalSigns {
    /// When they were measured.
    #[serde(with = "crate::instant")]
    pub at: DateTime<Utc>,
    /// The values.
    #[serde(flatten)]
    pub vitals: Vitals,
    /// The resources they came from, as keyed tags joined by commas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// [`VitalSigns`] as read: the same fields, flat. serde reads a
/// `#[serde(flatten)]` struct by buffering the whole object first; reading
/// the flat twin takes a third of the time per stored patient-hour.
#[derive(Deserialize)]
struct VitalSignsWire {
    #[serde(with = "crate::instant")]
    at: DateTime<Utc>,
    respiration_rate: Option<u16>,
    spo2: Option<u8>,
    #[serde(default)]
    spo2_scale: crate::news2::Spo2Scale,
    on_oxygen: Option<bool>,
    systolic_bp: Option<u16>,
    pulse: Option<u16>,
    consciousness: Option<crate::news2::Acvpu>,
    temperature: Option<f64>,
    #[serde(default)]
    source: Option<String>,
}

impl From<VitalSignsWire> for VitalSigns {
    fn from(w: VitalSignsWire) -> Self {
        VitalSigns {
            at: w.at,
            vitals: Vitals {
                respiration_rate: w.respiration_rate,
                spo2: w.spo2,
                spo2_scale: w.spo2_scale,
                on_oxygen: w.on_oxygen,
                systolic_bp: w.systolic_bp,
                pulse: w.pulse,
                consciousness: w.consciousness,
                temperature: w.temperature,
            },
            source: w.source,
        }
    }
}

/// The state of a to-do activity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    /// Still to be done (FHIR requested, accepted, ready, in-progress).
    Open,
    /// Done.
    Completed,
    /// Cancelled or entered in error; never counts.
    Cancelled,
}

/// A nursing activity on the to-do list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// The activity code, as in the weights file.
    pub code: Code,
    /// When it is due; `None` when the to-do has no time.
    #[serde(default, with = "crate::instant::option")]
    pub due: Option<DateTime<Utc>>,
    /// Open, completed or cancelled.
    pub status: ActivityStatus,
    /// The profession named on the task, overriding the weights file's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profession: Option<Profession>,
    /// The resource it came from, as a keyed tag (see the module doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// How a medication is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// By mouth.
    Oral,
    /// Intravenous.
    Intravenous,
    /// Subcutaneous.
    Subcutaneous,
    /// Intramuscular.
    Intramuscular,
    /// Inhaled or nebulised.
    Inhalation,
    /// Through a feeding tube (nasogastric, PEG).
    Enteral,
    /// On the skin or a mucous membrane, in the eye or ear.
    Topical,
    /// Rectal.
    Rectal,
    /// Anything else, or not stated.
    Other,
}

impl Route {
    /// All routes, in weights-file order.
    pub const ALL: [Route; 9] = [
        Route::Oral,
        Route::Intravenous,
        Route::Subcutaneous,
        Route::Intramuscular,
        Route::Inhalation,
        Route::Enteral,
        Route::Topical,
        Route::Rectal,
        Route::Other,
    ];

    /// The key used in weights files.
    pub fn key(self) -> &'static str {
        match self {
            Route::Oral => "oral",
            Route::Intravenous => "intravenous",
            Route::Subcutaneous => "subcutaneous",
            Route::Intramuscular => "intramuscular",
            Route::Inhalation => "inhalation",
            Route::Enteral => "enteral",
            Route::Topical => "topical",
            Route::Rectal => "rectal",
            Route::Other => "other",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// When a medication is given. In JSON, `{"kind": "at", "times": [instants]}`,
/// `{"kind": "per_day", "times": 3}` or `{"kind": "as_needed"}`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Dosing {
    /// At these instants (the ingest resolves times of day in the ward's time
    /// zone for the day of the snapshot and the day after).
    At {
        /// Administration instants.
        #[serde(with = "crate::instant::vec")]
        times: Vec<DateTime<Utc>>,
    },
    /// So many times per 24 hours, without set times: spread evenly.
    PerDay {
        /// Administrations per 24 hours.
        times: u16,
    },
    /// As needed (PRN): the order counts, administrations do not.
    AsNeeded,
}

/// Read without serde's buffering of internally tagged enums (every
/// medication of every stored patient-hour went through it): `kind` and
/// `times` in either order, other keys ignored, as the derived reader did.
impl<'de> Deserialize<'de> for Dosing {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;

        #[derive(Deserialize)]
        #[serde(rename_all = "snake_case")]
        enum Kind {
            At,
            PerDay,
            AsNeeded,
        }

        #[derive(Deserialize)]
        struct Wire {
            kind: Kind,
            #[serde(default)]
            times: Option<Times>,
        }

        let Wire { kind, times } = Wire::deserialize(d)?;
        match (kind, times) {
            (Kind::At, Some(Times::Instants(times))) => Ok(Dosing::At { times }),
            (Kind::At, _) => Err(D::Error::custom(
                "dosing \"at\" needs \"times\": a list of RFC 3339 instants",
            )),
            (Kind::PerDay, Some(Times::Count(times))) => Ok(Dosing::PerDay { times }),
            (Kind::PerDay, _) => Err(D::Error::custom(
                "dosing \"per_day\" needs \"times\": administrations per 24 hours, 0-65535",
            )),
            (Kind::AsNeeded, _) => Ok(Dosing::AsNeeded),
        }
    }
}

/// A dosing's `times`: a count (`per_day`) or instants (`at`).
enum Times {
    Count(u16),
    Instants(Vec<DateTime<Utc>>),
}

impl<'de> Deserialize<'de> for Times {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;

        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Times;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a count of administrations per 24 hours or a list of RFC 3339 instants")
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Times, E> {
                u16::try_from(v)
                    .map(Times::Count)
                    .map_err(|_| E::custom(format!("{v} administrations per 24 hours is more than 65535")))
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Times, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom(format!("{v} administrations per 24 hours is negative")))
                    .and_then(|v| self.visit_u64(v))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Times, A::Error> {
                serde::de::Visitor::visit_seq(crate::instant::vec::SeqVisitor, seq).map(Times::Instants)
            }
        }

        d.deserialize_any(V)
    }
}

/// An active medication order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MedicationOrder {
    /// How it is given.
    pub route: Route,
    /// When it is given.
    pub dosing: Dosing,
    /// The resource it came from, as a keyed tag (see the module doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A multidisciplinary order (lab sampling, imaging, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order category, as in the weights file.
    pub category: Code,
    /// When it is due; `None` when not scheduled.
    #[serde(default, with = "crate::instant::option")]
    pub due: Option<DateTime<Utc>>,
    /// The resource it came from, as a keyed tag (see the module doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An active care plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarePlan {
    /// The category, as in the weights file (`palliative`, …).
    pub category: Code,
    /// The resource it came from, as a keyed tag (see the module doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A diagnosis.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The ICD-10 code (`F32.1`, `F321`; dots and case do not matter).
    pub code: Code,
    /// The resource it came from, as a keyed tag (see the module doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An area of activities of daily living.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdlDomain {
    /// Personal hygiene.
    Hygiene,
    /// Eating and drinking.
    EatingDrinking,
    /// Dressing.
    Dressing,
    /// Toileting.
    Toileting,
    /// Moving about.
    Mobility,
}

/// How much help an ADL area needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdlLevel {
    /// Manages alone.
    Independent,
    /// Needs some help.
    PartialHelp,
    /// Needs full help.
    FullHelp,
}

/// An ADL need: shown beside the score, never added to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AdlNeed {
    /// The area.
    pub domain: AdlDomain,
    /// The level of help.
    pub level: AdlLevel,
    /// When it was assessed.
    #[serde(with = "crate::instant")]
    #[schemars(with = "DateTime<Utc>")]
    pub assessed_at: DateTime<Utc>,
}

/// Where the patient lies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Placement {
    /// The ward (avdelning).
    pub ward: String,
    /// The team (vårdlag), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// The room (sal), when known: team balancing keeps a room's patients together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// The bed, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bed: Option<String>,
}

/// One inpatient at one moment, de-identified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The moment this picture describes.
    #[serde(with = "crate::instant")]
    pub as_of: DateTime<Utc>,
    /// The pseudonym.
    pub key: PatientKey,
    /// Sex.
    #[serde(default)]
    pub sex: Sex,
    /// Birth year only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_year: Option<i32>,
    /// Start of the inpatient stay.
    #[serde(with = "crate::instant")]
    pub admitted_at: DateTime<Utc>,
    /// Ward, team and bed.
    pub placement: Placement,
    /// The stay's specialty, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub specialty: Option<String>,
    /// Placed on a ward outside the stay's specialty (utlokaliserad).
    #[serde(default)]
    pub outlying: bool,
    /// The latest Norton assessment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub norton: Option<Norton>,
    /// NEWS2 totals as charted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub news2: Vec<News2Observation>,
    /// Raw vital-sign sets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vitals: Vec<VitalSigns>,
    /// The latest emotional-support assessment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emotional_support: Option<EmotionalSupport>,
    /// To-do activities, open and recently completed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<Activity>,
    /// Active medication orders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub medications: Vec<MedicationOrder>,
    /// Multidisciplinary orders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orders: Vec<Order>,
    /// Active care plans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub care_plans: Vec<CarePlan>,
    /// Diagnoses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnoses: Vec<Diagnosis>,
    /// ADL needs: shown, never scored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adl: Vec<AdlNeed>,
}

impl Snapshot {
    /// An empty snapshot: a patient with nothing documented yet.
    pub fn new(key: PatientKey, as_of: DateTime<Utc>, admitted_at: DateTime<Utc>, ward: impl Into<String>) -> Snapshot {
        Snapshot {
            as_of,
            key,
            sex: Sex::Unknown,
            birth_year: None,
            admitted_at,
            placement: Placement {
                ward: ward.into(),
                team: None,
                room: None,
                bed: None,
            },
            specialty: None,
            outlying: false,
            norton: None,
            news2: Vec::new(),
            vitals: Vec::new(),
            emotional_support: None,
            activities: Vec::new(),
            medications: Vec::new(),
            orders: Vec::new(),
            care_plans: Vec::new(),
            diagnoses: Vec::new(),
            adl: Vec::new(),
        }
    }
}
