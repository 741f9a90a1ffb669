//! Planned staffing from a scheduling system's CSV export, all or nothing.
//!
//! # The format
//!
//! (Also in `docs/planned-staffing-csv.md`.)
//!
//! ```text
//! ward;team;date;shift;profession;planned;absent
//! MED1;Lag A;2026-11-24;day;USK;3;1
//! MED1;Lag A;2026-11-24;day;SSK;2;0
//! MED1;;2026-11-24;night;SSK;2;
//! ```
//!
//! * UTF-8, with or without a byte-order mark; lines end in LF or CRLF.
//! * The first line is the header. Column names are matched without regard
//!   to case or surrounding spaces, in any order; Swedish names are accepted
//!   too (`avdelning`, `lag`, `datum`, `pass`, `yrke`, `planerade`,
//!   `frånvarande`). `absent` may be left out; the others are required; any
//!   other column is refused (so a misspelt column is not silently ignored).
//! * The separator is `;` or `,`, whichever the header uses (`;` when it has
//!   both): spreadsheets with a Swedish locale write `;`.
//! * Fields may be quoted with `"`; a quote inside a quoted field is written
//!   `""`; a quoted field may span lines.
//! * Lines that are empty, or whose fields are all empty, are skipped.
//! * `ward`: the ward's id, not empty. `team`: the team, or empty (or `*`) for
//!   staff of the whole ward. `date`: `YYYY-MM-DD`, the local date the shift
//!   starts on. `shift`: a shift name of the ward's shift plan. `profession`:
//!   `USK` or `SSK` (or `undersköterska`, `sjuksköterska`). `planned` and
//!   `absent`: whole numbers of people, 0–999, `absent` at most `planned`
//!   (empty `absent` is 0).
//! * One row per ward, team, date, shift and profession.
//!
//! Every row is checked; a file with any bad row is refused whole, with
//! every bad row listed by its line number (the line a row starts on; the
//! header is line 1) and what to send instead.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use careload_scoring::snapshot::Profession;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::staffing::PlannedStaffing;

/// The largest number of people a row may plan.
pub const MAX_PEOPLE: u32 = 999;

/// One bad row of a CSV file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CsvRowError {
    /// The line the row starts on (the header is line 1).
    pub line: usize,
    /// What is wrong and what to send instead.
    pub message: String,
}

impl fmt::Display for CsvRowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// What an import checks rows against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRules {
    /// The shift names allowed (matched without regard to case; stored as
    /// written here). Empty: any name.
    pub shifts: Vec<String>,
    /// The ward ids allowed; `None`: any.
    pub wards: Option<BTreeSet<String>>,
    /// Each ward's teams (a ward not listed has none careload knows); `None`:
    /// any team.
    pub teams: Option<BTreeMap<String, Vec<KnownTeam>>>,
}

/// A team a row may name: by its id or by one of its display names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownTeam {
    /// The team id (as the FHIR Location tree has it); rows are stored under it.
    pub id: String,
    /// Its display names (configured, and as the ward screen shows it),
    /// matched without regard to case or surrounding spaces.
    pub names: Vec<String>,
}

impl Default for ImportRules {
    /// The default shift plan's names, any ward, any team.
    fn default() -> ImportRules {
        ImportRules {
            shifts: vec!["day".into(), "evening".into(), "night".into()],
            wards: None,
            teams: None,
        }
    }
}

impl ImportRules {
    /// The id of the team a row names on `ward`: its id, or one of its
    /// display names (neither matched with regard to case).
    ///
    /// # Errors
    /// The team is not one of the ward's, in words naming those that are.
    pub fn team_id(&self, ward: &str, team: &str) -> Result<String, String> {
        let Some(known) = &self.teams else {
            return Ok(team.to_owned());
        };
        let teams = known.get(ward).map(Vec::as_slice).unwrap_or_default();
        let wanted = team.trim().to_lowercase();
        if let Some(t) = teams
            .iter()
            .find(|t| t.id == team)
            .or_else(|| teams.iter().find(|t| t.id.to_lowercase() == wanted))
            .or_else(|| {
                teams
                    .iter()
                    .find(|t| t.names.iter().any(|n| n.trim().to_lowercase() == wanted))
            })
        {
            return Ok(t.id.clone());
        }
        if teams.is_empty() {
            return Err(format!(
                "team {team:?} is not a team of ward {ward:?}, which has no teams careload knows; leave team empty \
                 for the whole ward's staff"
            ));
        }
        let listed: Vec<String> = teams
            .iter()
            .map(|t| match t.names.first() {
                Some(name) => format!("{} ({name})", t.id),
                None => t.id.clone(),
            })
            .collect();
        Err(format!(
            "team {team:?} is not a team of ward {ward:?}; send one of: {}, or leave team empty for the whole \
             ward's staff",
            listed.join(", ")
        ))
    }
}

/// The standard shifts' names in English and Swedish (with and without
/// the diacritic a scheduling system's export may drop), lowercase: a
/// file may name a shift in either language, whichever the ward's plan uses.
const SHIFT_NAMES: [&[&str]; 3] = [&["day", "dag"], &["evening", "kväll", "kvall"], &["night", "natt"]];

/// Whether `a` and `b` (lowercase) name the same standard shift.
fn same_shift(a: &str, b: &str) -> bool {
    SHIFT_NAMES.iter().any(|names| names.contains(&a) && names.contains(&b))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Ward,
    Team,
    Date,
    Shift,
    Profession,
    Planned,
    Absent,
}

const COLUMNS: [(Col, &str, &str); 7] = [
    (Col::Ward, "ward", "avdelning"),
    (Col::Team, "team", "lag"),
    (Col::Date, "date", "datum"),
    (Col::Shift, "shift", "pass"),
    (Col::Profession, "profession", "yrke"),
    (Col::Planned, "planned", "planerade"),
    (Col::Absent, "absent", "frånvarande"),
];

const EXPECTED_HEADER: &str = "ward;team;date;shift;profession;planned;absent";

/// A record: the line it starts on and its fields.
struct Record {
    line: usize,
    fields: Vec<String>,
}

/// Splits text into records, honouring quotes; errors carry the record's first line.
fn records(text: &str, sep: char) -> Result<Vec<Record>, Vec<CsvRowError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1usize;
    loop {
        if chars.peek().is_none() {
            break;
        }
        let start_line = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut bad: Option<String> = None;
        let mut quoted_field = false;
        // one record
        loop {
            match chars.next() {
                None => {
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => {
                    line += 1;
                    fields.push(std::mem::take(&mut field));
                    break;
                }
                Some(c) if c == sep => {
                    fields.push(std::mem::take(&mut field));
                    quoted_field = false;
                }
                Some('"') if field.trim().is_empty() && !quoted_field => {
                    field.clear();
                    quoted_field = true;
                    let mut closed = false;
                    while let Some(c) = chars.next() {
                        match c {
                            '"' if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            '"' => {
                                closed = true;
                                break;
                            }
                            '\n' => {
                                line += 1;
                                field.push('\n');
                            }
                            c => field.push(c),
                        }
                    }
                    if !closed {
                        errors.push(CsvRowError {
                            line: start_line,
                            message: "a quoted field is never closed; end it with \" (write a quote inside a quoted field as \"\")".into(),
                        });
                        return Err(errors);
                    }
                    // only spaces may follow the closing quote before the separator
                    while let Some(&c) = chars.peek() {
                        if c == sep || c == '\n' || c == '\r' {
                            break;
                        }
                        chars.next();
                        if !c.is_whitespace() && bad.is_none() {
                            bad = Some(format!(
                                "text after a closing quote; quote the whole field, e.g. \"{field}{c}\""
                            ));
                        }
                    }
                }
                Some(c) => field.push(c),
            }
        }
        match bad {
            Some(message) => errors.push(CsvRowError {
                line: start_line,
                message,
            }),
            None => out.push(Record {
                line: start_line,
                fields,
            }),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// `;` or `,`, whichever the header line uses outside quotes (`;` on a tie).
fn detect_separator(text: &str) -> char {
    let (mut semi, mut comma, mut quoted) = (0, 0, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\n' if !quoted => break,
            ';' if !quoted => semi += 1,
            ',' if !quoted => comma += 1,
            _ => {}
        }
    }
    if comma > semi { ',' } else { ';' }
}

fn header(record: &Record) -> Result<Vec<Col>, Vec<CsvRowError>> {
    let mut cols = Vec::new();
    let mut errors = Vec::new();
    for name in &record.fields {
        let key = name.trim().to_lowercase();
        match COLUMNS.iter().find(|(_, en, sv)| key == *en || key == *sv) {
            Some((col, en, _)) if cols.contains(col) => errors.push(CsvRowError {
                line: record.line,
                message: format!("column {en:?} appears twice; keep one"),
            }),
            Some((col, _, _)) => cols.push(*col),
            None => errors.push(CsvRowError {
                line: record.line,
                message: format!(
                    "unknown column {:?}; the header must name the columns {EXPECTED_HEADER} (absent may be left out)",
                    name.trim()
                ),
            }),
        }
    }
    for (col, en, _) in COLUMNS {
        if col != Col::Absent && !cols.contains(&col) {
            errors.push(CsvRowError {
                line: record.line,
                message: format!("the header has no {en:?} column; send a header line like {EXPECTED_HEADER}"),
            });
        }
    }
    if errors.is_empty() { Ok(cols) } else { Err(errors) }
}

fn people(text: &str, what: &str) -> Result<u32, String> {
    let t = text.trim();
    match t.parse::<u32>() {
        Ok(n) if n <= MAX_PEOPLE => Ok(n),
        _ => Err(format!(
            "{what} {t:?} is not a whole number of people; send a number from 0 to {MAX_PEOPLE}, e.g. 3"
        )),
    }
}

fn profession(text: &str) -> Result<Profession, String> {
    match text.trim().to_lowercase().as_str() {
        "usk" | "undersköterska" => Ok(Profession::Usk),
        "ssk" | "sjuksköterska" => Ok(Profession::Ssk),
        other => Err(format!("profession {other:?} is not known; send USK or SSK")),
    }
}

/// Checks one data row; every problem of the row is one message.
fn row(record: &Record, cols: &[Col], rules: &ImportRules) -> Result<PlannedStaffing, Vec<String>> {
    let mut problems = Vec::new();
    if record.fields.len() != cols.len() {
        return Err(vec![format!(
            "has {} fields, the header has {}; send one value per column, separated like the header",
            record.fields.len(),
            cols.len()
        )]);
    }
    let get = |c: Col| {
        cols.iter()
            .position(|&x| x == c)
            .and_then(|i| record.fields.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    };
    let ward = get(Col::Ward);
    if ward.is_empty() {
        problems.push("ward is empty; send the ward's id, e.g. MED1".to_owned());
    } else if let Some(wards) = &rules.wards
        && !wards.contains(ward)
    {
        problems.push(format!(
            "ward {ward:?} is not known; send one of: {}",
            wards.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let team = match get(Col::Team) {
        "" | "*" => None,
        // an unknown ward is reported once, not again for its team
        t if rules.wards.as_ref().is_some_and(|w| !w.contains(ward)) => Some(t.to_owned()),
        t => match rules.team_id(ward, t) {
            Ok(id) => Some(id),
            Err(e) => {
                problems.push(e);
                None
            }
        },
    };
    let date = NaiveDate::parse_from_str(get(Col::Date), "%Y-%m-%d").map_err(|_| {
        format!(
            "date {:?} is not a date; send it as YYYY-MM-DD, e.g. 2026-11-24",
            get(Col::Date)
        )
    });
    let shift_text = get(Col::Shift);
    let shift = if rules.shifts.is_empty() {
        if shift_text.is_empty() {
            Err("shift is empty; send the shift's name, e.g. day".to_owned())
        } else {
            Ok(shift_text.to_owned())
        }
    } else {
        let wanted = shift_text.to_lowercase();
        rules
            .shifts
            .iter()
            .find(|s| s.to_lowercase() == wanted)
            .or_else(|| {
                // the same shift in the other language (`dag` for `day`, …)
                rules.shifts.iter().find(|s| same_shift(&s.to_lowercase(), &wanted))
            })
            .cloned()
            .ok_or_else(|| {
                format!(
                    "shift {shift_text:?} is not known; send one of: {}",
                    rules.shifts.join(", ")
                )
            })
    };
    let prof = profession(get(Col::Profession));
    let planned = people(get(Col::Planned), "planned");
    let absent = if get(Col::Absent).is_empty() {
        Ok(0)
    } else {
        people(get(Col::Absent), "absent")
    };
    if let (Ok(p), Ok(a)) = (&planned, &absent)
        && a > p
    {
        problems.push(format!(
            "absent {a} is more than planned {p}; absent counts the planned people who are away, so send at most {p}"
        ));
    }
    for e in [date.as_ref().err(), shift.as_ref().err(), prof.as_ref().err()]
        .into_iter()
        .flatten()
    {
        problems.push(e.clone());
    }
    for e in [planned.as_ref().err(), absent.as_ref().err()].into_iter().flatten() {
        problems.push(e.clone());
    }
    match (date, shift, prof, planned, absent) {
        (Ok(date), Ok(shift), Ok(profession), Ok(planned), Ok(absent)) if problems.is_empty() => Ok(PlannedStaffing {
            ward: ward.to_owned(),
            team,
            date,
            shift,
            profession,
            planned,
            absent,
        }),
        _ => Err(problems),
    }
}

/// Parses and checks a planned-staffing CSV file (format in the module docs).
///
/// # Errors
/// [`Error::Csv`] listing every bad row when any row is bad; then nothing is returned.
pub fn parse_planned_csv(bytes: &[u8], rules: &ImportRules) -> Result<Vec<PlannedStaffing>, Error> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::Csv {
            rows: vec![CsvRowError {
                line,
                message: "the file is not UTF-8; export it as UTF-8 (\"CSV UTF-8\" in spreadsheets)".into(),
            }],
        }
    })?;
    let sep = detect_separator(text);
    let all = records(text, sep).map_err(|rows| Error::Csv { rows })?;
    let mut recs = all
        .into_iter()
        .filter(|r| r.fields.iter().any(|f| !f.trim().is_empty()));
    let Some(head) = recs.next() else {
        return Err(Error::Csv {
            rows: vec![CsvRowError {
                line: 1,
                message: format!(
                    "the file is empty; send a header line ({EXPECTED_HEADER}) and one row per ward, team, date, shift and profession"
                ),
            }],
        });
    };
    let cols = header(&head).map_err(|rows| Error::Csv { rows })?;
    let mut errors = Vec::new();
    let mut out = Vec::new();
    type Key = (String, Option<String>, NaiveDate, String, &'static str);
    let mut seen: BTreeMap<Key, usize> = BTreeMap::new();
    for rec in recs {
        match row(&rec, &cols, rules) {
            Ok(r) => {
                let key = (
                    r.ward.clone(),
                    r.team.clone(),
                    r.date,
                    r.shift.clone(),
                    crate::words::abbrev(r.profession),
                );
                if let Some(first) = seen.get(&key) {
                    errors.push(CsvRowError {
                        line: rec.line,
                        message: format!(
                            "repeats line {first} (same ward, team, date, shift and profession); send one row with the total"
                        ),
                    });
                } else {
                    seen.insert(key, rec.line);
                    out.push(r);
                }
            }
            Err(problems) => errors.extend(problems.into_iter().map(|message| CsvRowError {
                line: rec.line,
                message,
            })),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Error::Csv { rows: errors })
    }
}
