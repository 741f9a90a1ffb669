//! The council's weights: parse, validate, version, list and compare.
//!
//! A weights file is a TOML document that the ward council (vårdtyngdsråd)
//! decides, one file per version, never edited once in force. It starts with
//! `format = N`, the version of the file *format* (not of the weights); each
//! format has its own module and converts to the one model, [`Weights`], so
//! every past file keeps loading. Parsing is strict: an unknown key, a
//! negative weight, a missing Norton level or route, a duplicate code or
//! prefix, bands out of order — each is refused with the line and what to do.
//!
//! `weights/README.md` at the repository root explains every parameter to the
//! council; the arithmetic that uses them is in [`crate::score`].

mod code_index;
mod format_v1;
mod scale;

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use self::code_index::CodeIndex;
use crate::points::{Points, Qty};
use crate::snapshot::{NortonActivity, Profession, Route, SupportLevel};

/// The newest weights file format this build reads.
pub const NEWEST_FORMAT: u32 = 1;

/// Who decided a weights version, when it takes effect, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The version name, e.g. `2026.1`.
    pub version: String,
    /// The first day these weights apply.
    pub effective_from: NaiveDate,
    /// The council that decided them.
    pub decided_by: String,
    /// Where it was decided (meeting and paragraph).
    pub meeting_reference: String,
    /// Free notes from the council (the file is the council's document; no patient data).
    pub notes: String,
}

/// Points for one activity code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityWeight {
    /// The activity code.
    pub code: String,
    /// A readable name.
    pub label: String,
    /// Who performs it.
    pub profession: Profession,
    /// Points per occurrence, by Norton physical-activity level
    /// (index: walks, walks with help, wheelchair, bedridden).
    pub points: [Points; 4],
}

impl ActivityWeight {
    /// Points for one occurrence at this Norton level.
    pub fn at(&self, level: NortonActivity) -> Points {
        self.points[level.index()]
    }
}

/// Medication points for one route.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteWeight {
    /// Points per active order, per hour.
    pub per_order_hour: Points,
    /// Points per administration due.
    pub per_administration: Points,
}

/// Medication weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MedicationWeights {
    /// Who gives medications.
    pub profession: Profession,
    /// Per route, indexed by [`Route`] order.
    pub routes: [RouteWeight; 9],
}

impl MedicationWeights {
    /// The weights for a route.
    pub fn route(&self, route: Route) -> RouteWeight {
        self.routes[route.index()]
    }
}

/// One NEWS2 band: totals from `from` up to the next band's `from`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct News2Band {
    /// The lowest total in the band.
    pub from: u8,
    /// Points per hour for a patient whose latest NEWS2 is in the band.
    pub per_hour: Points,
}

/// NEWS2 weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct News2Weights {
    /// Who measures and acts on NEWS2.
    pub profession: Profession,
    /// Points per measurement, at the rate measured in the last 24 hours.
    pub per_measurement: Points,
    /// Bands by ascending `from`; the first starts at 0.
    pub bands: Vec<News2Band>,
}

impl News2Weights {
    /// The band index for a total.
    pub fn band_of(&self, total: u8) -> usize {
        self.bands.iter().rposition(|b| b.from <= total).unwrap_or(0)
    }
}

/// Emotional-support weights.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmotionalSupportWeights {
    /// Who gives the support.
    pub profession: Profession,
    /// Points per hour, indexed by [`SupportLevel`] order.
    pub per_hour: [Points; 5],
}

impl EmotionalSupportWeights {
    /// Points per hour at a level.
    pub fn at(&self, level: SupportLevel) -> Points {
        self.per_hour[level.index()]
    }
}

/// Points for an order or care-plan category.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryWeight {
    /// The category.
    pub category: String,
    /// A readable name.
    pub label: String,
    /// Who performs it.
    pub profession: Profession,
    /// Points per order due (orders) or per hour (care plans).
    pub points: Points,
}

/// A diagnosis rule: ICD-10 codes starting with `prefix`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnosisRule {
    /// Upper-case prefix without dots (`F`, `F10`).
    pub prefix: String,
    /// A readable name.
    pub label: String,
    /// Who carries the extra care.
    pub profession: Profession,
    /// Points per hour when any diagnosis matches.
    pub per_hour: Points,
}

/// The newly-admitted modifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewlyAdmitted {
    /// How many hours after admission it applies.
    pub hours: u32,
    /// Who carries the extra care.
    pub profession: Profession,
    /// Extra points per hour, phased out as documentation appears.
    pub extra_per_hour: Points,
    /// The lowest total per hour while newly admitted (0: no floor).
    pub floor_per_hour: Points,
    /// Documented items at which the journal counts as complete.
    pub full_documentation_items: u32,
}

/// The outlier modifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outlier {
    /// Factor on an outlying patient's points (1.15 adds 15 %).
    pub multiplier: Qty,
}

/// Modifiers applied after the components.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modifiers {
    /// Newly admitted patients.
    pub newly_admitted: NewlyAdmitted,
    /// Outlying patients.
    pub outlier: Outlier,
}

/// Staff-hours per point, for one ward care category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StaffHours {
    /// Assistant-nurse hours per USK point.
    pub usk: Qty,
    /// Registered-nurse hours per SSK point.
    pub ssk: Qty,
}

/// A validated weights version: the model every format converts to.
#[derive(Clone, Debug, Serialize)]
pub struct Weights {
    /// The file format it was read from.
    pub format: u32,
    /// SHA-256 of the file's bytes, hex: proves a version was not edited.
    pub digest: String,
    /// Who, when, why.
    pub meta: Meta,
    /// The Norton level assumed when a patient has no assessment.
    pub when_norton_missing: NortonActivity,
    /// Activities by code, sorted.
    pub activities: Vec<ActivityWeight>,
    /// Medications.
    pub medications: MedicationWeights,
    /// NEWS2.
    pub news2: News2Weights,
    /// Emotional support.
    pub emotional_support: EmotionalSupportWeights,
    /// Order categories, sorted.
    pub orders: Vec<CategoryWeight>,
    /// Care-plan categories, sorted.
    pub care_plans: Vec<CategoryWeight>,
    /// Diagnosis rules, in file order.
    pub diagnoses: Vec<DiagnosisRule>,
    /// Modifiers.
    pub modifiers: Modifiers,
    /// Points → staff-hours per ward care category.
    pub staff_hours: BTreeMap<String, StaffHours>,
    #[serde(skip)]
    activity_index: CodeIndex,
    #[serde(skip)]
    order_index: CodeIndex,
    #[serde(skip)]
    care_plan_index: CodeIndex,
    /// The first byte of every diagnosis prefix, for a quick miss.
    #[serde(skip)]
    diagnosis_initials: Vec<u8>,
}

/// One thing wrong with a weights file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// What is wrong and what to do about it.
    pub message: String,
}

/// Why a weights file was refused: every problem found, with its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WeightsError {
    /// The file name (or other origin) as given.
    pub origin: String,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for WeightsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            match (p.line, p.column) {
                (Some(line), Some(col)) => write!(f, "{}:{line}:{col}: {}", self.origin, p.message)?,
                (Some(line), None) => write!(f, "{}:{line}: {}", self.origin, p.message)?,
                _ => write!(f, "{}: {}", self.origin, p.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for WeightsError {}

/// Line and column (1-based) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    (line, column)
}

/// Collects problems against the source text.
struct Problems<'a> {
    text: &'a str,
    list: Vec<Problem>,
}

impl Problems<'_> {
    fn at(&mut self, span: std::ops::Range<usize>, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.list.push(Problem {
            line: Some(line),
            column: Some(column),
            message: message.into(),
        });
    }
}

/// Adds what to do to the TOML parser's own messages. `at` is the text the
/// parser pointed to.
fn explain_toml_message(message: &str, at: &str) -> String {
    let message = message.trim_end();
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let hint = match missing {
        Some("walks" | "walks_with_help" | "wheelchair" | "bedridden") => {
            "every activity needs points for all four Norton levels: walks, walks_with_help, wheelchair, bedridden"
                .to_owned()
        }
        Some(
            "oral" | "intravenous" | "subcutaneous" | "intramuscular" | "inhalation" | "enteral" | "topical" | "rectal"
            | "other",
        ) => "medications need every route: oral, intravenous, subcutaneous, intramuscular, inhalation, \
              enteral, topical, rectal, other"
            .to_owned(),
        Some("less_than_hourly" | "hourly" | "twice_hourly" | "continuous_one" | "continuous_more") => {
            "emotional support needs all five levels: less_than_hourly, hourly, twice_hourly, continuous_one, \
             continuous_more"
                .to_owned()
        }
        Some(_) => "add it; weights/README.md describes every key".to_owned(),
        None if message.contains("unknown field") => {
            "remove the key or correct its spelling; weights/README.md lists every key".to_owned()
        }
        None if message.contains("duplicate key") => format!(
            "`{}` appears twice: each code, category and key may appear only once, so merge the two entries",
            at.trim()
        ),
        None if message.contains("unknown variant") => "use one of the values listed".to_owned(),
        None if message.contains("invalid type") => {
            "check the value's type: numbers without quotes, text in quotes, dates as YYYY-MM-DD".to_owned()
        }
        None => String::new(),
    };
    if hint.is_empty() {
        message.to_owned()
    } else {
        format!("{message}; {hint}")
    }
}

#[derive(Deserialize)]
struct FormatTag {
    format: Option<Spanned<i64>>,
}

/// The text of the default weights version, `weights/2026.1.toml`, built in.
pub const BUILT_IN_TEXT: &str = include_str!("../../../../weights/2026.1.toml");

/// How error messages and reports name the built-in weights.
pub const BUILT_IN_ORIGIN: &str = "weights/2026.1.toml (built in)";

impl Weights {
    /// The built-in default weights ([`BUILT_IN_TEXT`]), parsed and validated.
    ///
    /// # Errors
    /// Only if the built-in file does not validate, which the tests rule out.
    pub fn built_in() -> Result<Weights, WeightsError> {
        Weights::from_toml(BUILT_IN_TEXT, BUILT_IN_ORIGIN)
    }

    /// Parses and validates a weights file.
    ///
    /// `origin` names the file in error messages. No I/O happens here: the
    /// caller reads the file.
    ///
    /// # Errors
    /// [`WeightsError`] with every problem found and its line.
    pub fn from_toml(text: &str, origin: &str) -> Result<Weights, WeightsError> {
        let fail = |problems: Vec<Problem>| WeightsError {
            origin: origin.to_owned(),
            problems,
        };
        let toml_problem = |e: toml::de::Error| {
            let (line, column) = match e.span() {
                Some(span) => {
                    let (l, c) = line_col(text, span.start);
                    (Some(l), Some(c))
                }
                None => (None, None),
            };
            Problem {
                line,
                column,
                message: explain_toml_message(e.message(), e.span().and_then(|s| text.get(s)).unwrap_or("")),
            }
        };
        let tag: FormatTag = toml::from_str(text).map_err(|e| fail(vec![toml_problem(e)]))?;
        let Some(format) = tag.format else {
            return Err(fail(vec![Problem {
                line: Some(1),
                column: None,
                message: format!(
                    "no `format` key; start the file with `format = {NEWEST_FORMAT}` (the weights file format this careload writes)"
                ),
            }]));
        };
        let digest = hex(&Sha256::digest(text.as_bytes()));
        match *format.get_ref() {
            1 => {
                let file: format_v1::File = toml::from_str(text).map_err(|e| fail(vec![toml_problem(e)]))?;
                let mut problems = Problems { text, list: Vec::new() };
                let weights = validate(file, 1, digest, &mut problems);
                if problems.list.is_empty() {
                    Ok(weights)
                } else {
                    problems.list.sort_by_key(|p| (p.line, p.column));
                    Err(fail(problems.list))
                }
            }
            other => {
                let (line, column) = line_col(text, format.span().start);
                Err(fail(vec![Problem {
                    line: Some(line),
                    column: Some(column),
                    message: format!(
                        "unknown weights file format {other}; this careload reads formats 1 to {NEWEST_FORMAT}: \
                         upgrade careload or write the file in format {NEWEST_FORMAT}"
                    ),
                }]))
            }
        }
    }

    /// The weights for an activity code, if the council has given it any.
    pub fn activity(&self, code: &str) -> Option<&ActivityWeight> {
        self.activity_index
            .get(code, |i| &self.activities[i].code)
            .map(|i| &self.activities[i])
    }

    /// The weights for an order category.
    pub fn order(&self, category: &str) -> Option<&CategoryWeight> {
        self.order_index
            .get(category, |i| &self.orders[i].category)
            .map(|i| &self.orders[i])
    }

    /// The weights for a care-plan category.
    pub fn care_plan(&self, category: &str) -> Option<&CategoryWeight> {
        self.care_plan_index
            .get(category, |i| &self.care_plans[i].category)
            .map(|i| &self.care_plans[i])
    }

    /// The index of the diagnosis rule with the longest prefix matching `code`.
    /// Dots and case in the code are ignored.
    pub fn diagnosis_rule(&self, code: &str) -> Option<usize> {
        // most diagnoses start with a letter no rule starts with
        let first = code.bytes().next().map_or(0, |b| b.to_ascii_uppercase());
        if !self.diagnosis_initials.contains(&first) {
            return None;
        }
        let mut best: Option<(usize, usize)> = None;
        for (i, rule) in self.diagnoses.iter().enumerate() {
            let mut normalised = code.chars().filter(|c| *c != '.').map(|c| c.to_ascii_uppercase());
            if rule.prefix.chars().all(|p| normalised.next() == Some(p))
                && best.is_none_or(|(_, len)| rule.prefix.len() > len)
            {
                best = Some((i, rule.prefix.len()));
            }
        }
        best.map(|(i, _)| i)
    }

    /// Every parameter as a `(path, value)` pair, in file order: the basis of
    /// `careload weights show` and `careload weights diff`.
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut push = |path: String, value: String| out.push((path, value));
        push("meta.version".into(), self.meta.version.clone());
        push("meta.effective_from".into(), self.meta.effective_from.to_string());
        push("meta.decided_by".into(), self.meta.decided_by.clone());
        push("meta.meeting_reference".into(), self.meta.meeting_reference.clone());
        push(
            "activities.when_norton_missing".into(),
            self.when_norton_missing.key().into(),
        );
        for a in &self.activities {
            push(
                format!("activities.codes.{}.profession", a.code),
                a.profession.to_string(),
            );
            for level in NortonActivity::ALL {
                push(
                    format!("activities.codes.{}.{}", a.code, level.key()),
                    a.at(level).to_string(),
                );
            }
        }
        push("medications.profession".into(), self.medications.profession.to_string());
        for route in Route::ALL {
            let w = self.medications.route(route);
            push(
                format!("medications.{}.per_order_hour", route.key()),
                w.per_order_hour.to_string(),
            );
            push(
                format!("medications.{}.per_administration", route.key()),
                w.per_administration.to_string(),
            );
        }
        push("news2.profession".into(), self.news2.profession.to_string());
        push("news2.per_measurement".into(), self.news2.per_measurement.to_string());
        for b in &self.news2.bands {
            push(format!("news2.bands.from_{}.per_hour", b.from), b.per_hour.to_string());
        }
        push(
            "emotional_support.profession".into(),
            self.emotional_support.profession.to_string(),
        );
        for level in SupportLevel::ALL {
            push(
                format!("emotional_support.{}", level.key()),
                self.emotional_support.at(level).to_string(),
            );
        }
        for o in &self.orders {
            push(format!("orders.{}.profession", o.category), o.profession.to_string());
            push(format!("orders.{}.points", o.category), o.points.to_string());
        }
        for c in &self.care_plans {
            push(
                format!("care_plans.{}.profession", c.category),
                c.profession.to_string(),
            );
            push(format!("care_plans.{}.per_hour", c.category), c.points.to_string());
        }
        for d in &self.diagnoses {
            push(format!("diagnoses.{}.profession", d.prefix), d.profession.to_string());
            push(format!("diagnoses.{}.per_hour", d.prefix), d.per_hour.to_string());
        }
        let na = &self.modifiers.newly_admitted;
        push("modifiers.newly_admitted.hours".into(), na.hours.to_string());
        push("modifiers.newly_admitted.profession".into(), na.profession.to_string());
        push(
            "modifiers.newly_admitted.extra_per_hour".into(),
            na.extra_per_hour.to_string(),
        );
        push(
            "modifiers.newly_admitted.floor_per_hour".into(),
            na.floor_per_hour.to_string(),
        );
        push(
            "modifiers.newly_admitted.full_documentation_items".into(),
            na.full_documentation_items.to_string(),
        );
        push(
            "modifiers.outlier.multiplier".into(),
            self.modifiers.outlier.multiplier.to_string(),
        );
        for (category, sh) in &self.staff_hours {
            push(format!("staff_hours.{category}.USK"), sh.usk.to_string());
            push(format!("staff_hours.{category}.SSK"), sh.ssk.to_string());
        }
        out
    }
}

/// One parameter that differs between two versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The parameter's path, as in `careload weights show`.
    pub path: String,
    /// The old value; `None` when added.
    pub old: Option<String>,
    /// The new value; `None` when removed.
    pub new: Option<String>,
}

/// What changes from `old` to `new`, parameter by parameter, in path order.
pub fn diff(old: &Weights, new: &Weights) -> Vec<Change> {
    let old_map: BTreeMap<String, String> = old.parameters().into_iter().collect();
    let new_map: BTreeMap<String, String> = new.parameters().into_iter().collect();
    let mut paths: Vec<&String> = old_map.keys().chain(new_map.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let (o, n) = (old_map.get(path), new_map.get(path));
            (o != n).then(|| Change {
                path: path.clone(),
                old: o.cloned(),
                new: n.cloned(),
            })
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn non_blank(problems: &mut Problems<'_>, field: &Spanned<String>, name: &str, what: &str) {
    if field.get_ref().trim().is_empty() {
        problems.at(field.span(), format!("`{name}` is empty; write {what}"));
    }
}

/// Converts format 1 to the model and checks what needs the whole file.
fn validate(file: format_v1::File, format: u32, digest: String, problems: &mut Problems<'_>) -> Weights {
    let m = &file.meta;
    non_blank(
        problems,
        &m.version,
        "meta.version",
        "the version name, e.g. \"2026.1\"",
    );
    non_blank(
        problems,
        &m.decided_by,
        "meta.decided_by",
        "the council that decided these weights",
    );
    non_blank(
        problems,
        &m.meeting_reference,
        "meta.meeting_reference",
        "the meeting and paragraph where they were decided",
    );
    let effective_from = {
        let dt = m.effective_from.get_ref();
        match (dt.date, dt.time) {
            (Some(d), None) => NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day)),
            _ => None,
        }
    };
    let effective_from = effective_from.unwrap_or_else(|| {
        problems.at(
            m.effective_from.span(),
            "`meta.effective_from` must be a date without time, written YYYY-MM-DD",
        );
        NaiveDate::MIN
    });
    let meta = Meta {
        version: m.version.get_ref().trim().to_owned(),
        effective_from,
        decided_by: m.decided_by.get_ref().trim().to_owned(),
        meeting_reference: m.meeting_reference.get_ref().trim().to_owned(),
        notes: m.notes.clone(),
    };

    let activities: Vec<ActivityWeight> = file
        .activities
        .codes
        .iter()
        .map(|(code, a)| ActivityWeight {
            code: code.clone(),
            label: a.label.clone(),
            profession: a.profession,
            points: a.by_level(),
        })
        .collect();

    let med = &file.medications;
    let route = |r: &format_v1::Route| RouteWeight {
        per_order_hour: r.per_order_hour.0,
        per_administration: r.per_administration.0,
    };
    let mut routes = [RouteWeight {
        per_order_hour: Points::ZERO,
        per_administration: Points::ZERO,
    }; 9];
    for r in Route::ALL {
        routes[r.index()] = route(match r {
            Route::Oral => &med.oral,
            Route::Intravenous => &med.intravenous,
            Route::Subcutaneous => &med.subcutaneous,
            Route::Intramuscular => &med.intramuscular,
            Route::Inhalation => &med.inhalation,
            Route::Enteral => &med.enteral,
            Route::Topical => &med.topical,
            Route::Rectal => &med.rectal,
            Route::Other => &med.other,
        });
    }

    let bands_span = file.news2.bands.span();
    let raw_bands = file.news2.bands.get_ref();
    if raw_bands.is_empty() {
        problems.at(
            bands_span,
            "`news2.bands` is empty; give at least one band starting at `from = 0`",
        );
    } else if *raw_bands[0].from.get_ref() != 0 {
        problems.at(
            raw_bands[0].from.span(),
            "the first NEWS2 band must start at `from = 0` so that every total has a band",
        );
    }
    for pair in raw_bands.windows(2) {
        if pair[1].from.get_ref() <= pair[0].from.get_ref() {
            problems.at(
                pair[1].from.span(),
                format!(
                    "NEWS2 band `from = {}` does not come after the previous band's `from = {}`; list bands in ascending order without repeats",
                    pair[1].from.get_ref(),
                    pair[0].from.get_ref()
                ),
            );
        }
    }
    for b in raw_bands {
        if *b.from.get_ref() > 20 {
            problems.at(
                b.from.span(),
                format!(
                    "NEWS2 band `from = {}` is above 20, the highest NEWS2 total",
                    b.from.get_ref()
                ),
            );
        }
    }
    let news2 = News2Weights {
        profession: file.news2.profession,
        per_measurement: file.news2.per_measurement.0,
        bands: raw_bands
            .iter()
            .map(|b| News2Band {
                from: *b.from.get_ref(),
                per_hour: b.per_hour.0,
            })
            .collect(),
    };

    let es = &file.emotional_support;
    let mut per_hour = [Points::ZERO; 5];
    for level in SupportLevel::ALL {
        per_hour[level.index()] = match level {
            SupportLevel::LessThanHourly => es.less_than_hourly.0,
            SupportLevel::Hourly => es.hourly.0,
            SupportLevel::TwiceHourly => es.twice_hourly.0,
            SupportLevel::ContinuousOne => es.continuous_one.0,
            SupportLevel::ContinuousMore => es.continuous_more.0,
        };
    }

    let orders: Vec<CategoryWeight> = file
        .orders
        .iter()
        .map(|(category, o)| CategoryWeight {
            category: category.clone(),
            label: o.label.clone(),
            profession: o.profession,
            points: o.points.0,
        })
        .collect();
    let care_plans: Vec<CategoryWeight> = file
        .care_plans
        .iter()
        .map(|(category, c)| CategoryWeight {
            category: category.clone(),
            label: c.label.clone(),
            profession: c.profession,
            points: c.per_hour.0,
        })
        .collect();

    let mut diagnoses: Vec<DiagnosisRule> = Vec::new();
    let mut seen_prefix: BTreeMap<String, usize> = BTreeMap::new();
    for rule in &file.diagnoses {
        let raw = rule.prefix.get_ref();
        let prefix: String = raw
            .chars()
            .filter(|c| *c != '.')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
            problems.at(
                rule.prefix.span(),
                format!("diagnosis prefix {raw:?} is not the start of an ICD-10 code; write e.g. \"F\" or \"F10\""),
            );
        }
        if let Some(first_line) = seen_prefix.get(&prefix) {
            problems.at(
                rule.prefix.span(),
                format!(
                    "diagnosis prefix {raw:?} is listed twice (first on line {first_line}); keep one rule per prefix"
                ),
            );
        } else {
            seen_prefix.insert(prefix.clone(), line_col(problems.text, rule.prefix.span().start).0);
        }
        diagnoses.push(DiagnosisRule {
            prefix,
            label: rule.label.clone(),
            profession: rule.profession,
            per_hour: rule.per_hour.0,
        });
    }

    let na = &file.modifiers.newly_admitted;
    if *na.full_documentation_items.get_ref() == 0 {
        problems.at(
            na.full_documentation_items.span(),
            "`full_documentation_items` must be 1 or more: the number of documented items at which the extra points are gone",
        );
    }
    if *na.hours.get_ref() > 24 * 14 {
        problems.at(
            na.hours.span(),
            "`newly_admitted.hours` above two weeks (336) is not a newly admitted patient; write the hours the extra should last",
        );
    }
    let multiplier = *file.modifiers.outlier.multiplier.get_ref();
    if multiplier < Qty::ONE || multiplier > Qty::whole(5) {
        problems.at(
            file.modifiers.outlier.multiplier.span(),
            format!(
                "outlier multiplier {multiplier} must be between 1 (no extra) and 5; outlying patients score the same or higher, never lower"
            ),
        );
    }

    if file.staff_hours.get_ref().is_empty() {
        problems.at(
            file.staff_hours.span(),
            "`staff_hours` has no care category; add at least one, e.g. [staff_hours.general] with USK and SSK",
        );
    }
    let staff_hours = file
        .staff_hours
        .get_ref()
        .iter()
        .map(|(category, sh)| {
            (
                category.clone(),
                StaffHours {
                    usk: Qty::from_milli(sh.usk.0.milli()),
                    ssk: Qty::from_milli(sh.ssk.0.milli()),
                },
            )
        })
        .collect();

    let activity_index = CodeIndex::new(activities.iter().map(|a| a.code.as_str()));
    let order_index = CodeIndex::new(orders.iter().map(|o| o.category.as_str()));
    let care_plan_index = CodeIndex::new(care_plans.iter().map(|c| c.category.as_str()));
    let mut diagnosis_initials: Vec<u8> = diagnoses.iter().filter_map(|d| d.prefix.bytes().next()).collect();
    diagnosis_initials.sort_unstable();
    diagnosis_initials.dedup();
    Weights {
        format,
        digest,
        meta,
        when_norton_missing: file.activities.when_norton_missing,
        activities,
        medications: MedicationWeights {
            profession: med.profession,
            routes,
        },
        news2,
        emotional_support: EmotionalSupportWeights {
            profession: es.profession,
            per_hour,
        },
        orders,
        care_plans,
        diagnoses,
        modifiers: Modifiers {
            newly_admitted: NewlyAdmitted {
                hours: *na.hours.get_ref(),
                profession: na.profession,
                extra_per_hour: na.extra_per_hour.0,
                floor_per_hour: na.floor_per_hour.0,
                full_documentation_items: *na.full_documentation_items.get_ref(),
            },
            outlier: Outlier { multiplier },
        },
        staff_hours,
        activity_index,
        order_index,
        care_plan_index,
        diagnosis_initials,
    }
}
