//! What an export asks for: the range, the level, the grain, the format and
//! the optional columns, parsed from words with errors that say what to send
//! instead (the CLI and the API share them).

use std::fmt;
use std::str::FromStr;

use careload_store::Level;
use chrono::NaiveDate;
use serde::Serialize;

use crate::Error;

/// The longest range one export may cover: ten years of hourly history.
pub const MAX_RANGE_DAYS: i64 = 3660;

/// The time buckets rows are grouped into, in the hospital's time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grain {
    /// One hour.
    Hour,
    /// One shift of the ward's shift plan (the default plan for the hospital).
    Shift,
    /// One local calendar day.
    Day,
    /// One ISO week (Monday to Sunday).
    Week,
    /// One calendar month.
    Month,
    /// One calendar quarter.
    Quarter,
    /// One calendar year.
    Year,
}

impl Grain {
    /// Every grain, finest first.
    pub const ALL: [Grain; 7] = [
        Grain::Hour,
        Grain::Shift,
        Grain::Day,
        Grain::Week,
        Grain::Month,
        Grain::Quarter,
        Grain::Year,
    ];

    /// Its word.
    pub fn as_str(self) -> &'static str {
        match self {
            Grain::Hour => "hour",
            Grain::Shift => "shift",
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
            Grain::Quarter => "quarter",
            Grain::Year => "year",
        }
    }
}

impl fmt::Display for Grain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Grain {
    type Err = Error;

    fn from_str(s: &str) -> Result<Grain, Error> {
        Grain::ALL
            .into_iter()
            .find(|g| g.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| Error::BadSpec(format!("grain {s:?} is unknown; send one of: {}", words(&Grain::ALL))))
    }
}

/// The file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Comma-separated, decimal point, UTF-8 without BOM: for programs.
    Csv,
    /// Semicolon-separated, decimal comma, UTF-8 with BOM: Swedish Excel opens
    /// it by double-click with å, ä, ö and decimals right.
    CsvExcel,
    /// Apache Parquet, typed columns (zstd-compressed).
    Parquet,
    /// One JSON array of row objects.
    Json,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Csv, Format::CsvExcel, Format::Parquet, Format::Json];

    /// Its word.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::CsvExcel => "csv-excel",
            Format::Parquet => "parquet",
            Format::Json => "json",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv | Format::CsvExcel => "csv",
            Format::Parquet => "parquet",
            Format::Json => "json",
        }
    }

    /// The HTTP content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv | Format::CsvExcel => "text/csv; charset=utf-8",
            Format::Parquet => "application/vnd.apache.parquet",
            Format::Json => "application/json",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Format, Error> {
        Format::ALL
            .into_iter()
            .find(|g| g.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| Error::BadSpec(format!("format {s:?} is unknown; send one of: {}", words(&Format::ALL))))
    }
}

/// The unit an export's rows are about: the whole store, a configured
/// hospital (`[hospitals.<id>]`, its departments' wards summed), a
/// department (its wards summed, `[departments.<id>]`), a ward or a team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportLevel {
    /// The whole store: the stored hospital rows (every ward).
    Hospital,
    /// One department (`[departments.<id>]`): the sum of its wards' stored
    /// ward rows, hour by hour; wards of no department form one group with
    /// an empty department id.
    Department,
    /// One ward.
    Ward,
    /// One team of a ward.
    Team,
    /// One configured hospital of a region (`[hospitals.<id>]`; `site`, as
    /// `hospital` is the whole store): the sum of the stored ward rows of
    /// its departments' wards, hour by hour; wards of no hospital are left
    /// out.
    Site,
}

impl ExportLevel {
    /// Every level: the whole store, then department, ward and team, then
    /// `site` (added last so the words of the earlier ones keep their order
    /// in messages).
    pub const ALL: [ExportLevel; 5] = [
        ExportLevel::Hospital,
        ExportLevel::Department,
        ExportLevel::Ward,
        ExportLevel::Team,
        ExportLevel::Site,
    ];

    /// Its word (the `level` column's value).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportLevel::Hospital => "hospital",
            ExportLevel::Department => "department",
            ExportLevel::Ward => "ward",
            ExportLevel::Team => "team",
            ExportLevel::Site => "site",
        }
    }

    /// The stored level its rows are made of: a site or a department sums
    /// its wards' ward rows.
    pub fn stored(self) -> Level {
        match self {
            ExportLevel::Hospital => Level::Hospital,
            ExportLevel::Site | ExportLevel::Department | ExportLevel::Ward => Level::Ward,
            ExportLevel::Team => Level::Team,
        }
    }
}

impl ExportLevel {
    /// Whether its rows are groups of wards summed hour by hour (`site`,
    /// `department`): no stored level of their own.
    pub fn sums_wards(self) -> bool {
        matches!(self, ExportLevel::Site | ExportLevel::Department)
    }
}

impl From<Level> for ExportLevel {
    fn from(level: Level) -> ExportLevel {
        match level {
            Level::Hospital => ExportLevel::Hospital,
            Level::Ward => ExportLevel::Ward,
            Level::Team => ExportLevel::Team,
        }
    }
}

impl fmt::Display for ExportLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExportLevel {
    type Err = Error;

    fn from_str(s: &str) -> Result<ExportLevel, Error> {
        parse_level(s)
    }
}

/// Parses a level word (`hospital`, `department`, `ward`, `team`, `site`).
///
/// # Errors
/// [`Error::BadSpec`] naming the levels.
pub fn parse_level(s: &str) -> Result<ExportLevel, Error> {
    ExportLevel::ALL
        .into_iter()
        .find(|l| l.as_str() == s.trim().to_ascii_lowercase())
        .ok_or_else(|| {
            Error::BadSpec(format!(
                "level {s:?} is unknown; send one of: {}",
                words(&ExportLevel::ALL)
            ))
        })
}

/// Parses a date (`YYYY-MM-DD`).
///
/// # Errors
/// [`Error::BadSpec`] naming the parameter.
pub fn parse_date(name: &str, s: &str) -> Result<NaiveDate, Error> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| Error::BadSpec(format!("{name} {s:?} is not a date; send YYYY-MM-DD, e.g. 2026-01-31")))
}

fn words<T: fmt::Display>(all: &[T]) -> String {
    all.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// One export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExportSpec {
    /// First local date (inclusive).
    pub from: NaiveDate,
    /// Last local date (inclusive).
    pub to: NaiveDate,
    /// Hospital, site, department, ward or team rows.
    pub level: ExportLevel,
    /// The time bucket.
    pub grain: Grain,
    /// Only these wards (site, department, ward and team levels); `None` =
    /// every ward. A site or department row then sums only its wards in the
    /// list.
    pub wards: Option<Vec<String>>,
    /// Add planned staffing, need in staff-hours, the gap and points per
    /// planned staff-hour (grain shift or coarser).
    pub staffing: bool,
    /// Add the same period one year earlier and the change against it.
    pub compare_last_year: bool,
}

impl ExportSpec {
    /// A spec with no optional columns and every ward.
    pub fn new(from: NaiveDate, to: NaiveDate, level: impl Into<ExportLevel>, grain: Grain) -> ExportSpec {
        ExportSpec {
            from,
            to,
            level: level.into(),
            grain,
            wards: None,
            staffing: false,
            compare_last_year: false,
        }
    }

    /// Checks the combination, saying what to send instead.
    ///
    /// # Errors
    /// [`Error::BadSpec`] listing every problem.
    pub fn validate(&self) -> Result<(), Error> {
        let mut problems = Vec::new();
        if self.to < self.from {
            problems.push(format!(
                "to ({}) is before from ({}); send from <= to (both days are included)",
                self.to, self.from
            ));
        } else if (self.to - self.from).num_days() + 1 > MAX_RANGE_DAYS {
            problems.push(format!(
                "the range is {} days; send at most {MAX_RANGE_DAYS} days per export",
                (self.to - self.from).num_days() + 1
            ));
        }
        if self.staffing && self.grain == Grain::Hour {
            problems.push(
                "staffing columns need grain shift or coarser (staff are planned per shift); send grain=shift or drop staffing"
                    .to_owned(),
            );
        }
        if self.level == ExportLevel::Hospital && self.wards.is_some() {
            problems.push(
                "a ward filter applies to level site, department, ward or team; drop wards or send level=ward"
                    .to_owned(),
            );
        }
        if self.wards.as_ref().is_some_and(Vec::is_empty) {
            problems.push("the ward list is empty; send at least one ward id or leave it out".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::BadSpec(problems.join("; ")))
        }
    }

    /// A file name for it: `careload-ward-week-2026-01-01-2026-12-31.parquet`.
    pub fn file_name(&self, format: Format) -> String {
        format!(
            "careload-{}-{}-{}-{}.{}",
            self.level.as_str(),
            self.grain,
            self.from,
            self.to,
            format.extension()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date("date", s).expect("date")
    }

    #[test]
    fn words_parse_and_unknown_words_say_what_to_send() {
        assert_eq!("Week".parse::<Grain>().ok(), Some(Grain::Week));
        assert_eq!("csv-excel".parse::<Format>().ok(), Some(Format::CsvExcel));
        assert_eq!(parse_level("team").ok(), Some(ExportLevel::Team));
        assert_eq!(parse_level(" Department").ok(), Some(ExportLevel::Department));
        assert_eq!(ExportLevel::Department.stored(), Level::Ward);
        let e = parse_level("clinic").expect_err("unknown level").to_string();
        assert!(e.contains("hospital, department, ward, team, site"), "{e}");
        assert_eq!(parse_level("Site").ok(), Some(ExportLevel::Site));
        assert_eq!(ExportLevel::Site.stored(), Level::Ward);
        let e = "fortnight".parse::<Grain>().expect_err("unknown grain").to_string();
        assert!(e.contains("hour, shift, day, week, month, quarter, year"), "{e}");
        let e = "xlsx".parse::<Format>().expect_err("unknown format").to_string();
        assert!(e.contains("csv, csv-excel, parquet, json"), "{e}");
        let e = parse_date("from", "2026-13-01").expect_err("bad date").to_string();
        assert!(e.contains("YYYY-MM-DD"), "{e}");
    }

    #[test]
    fn validation_lists_every_problem() {
        let mut spec = ExportSpec::new(d("2026-02-01"), d("2026-01-01"), Level::Hospital, Grain::Hour);
        spec.staffing = true;
        spec.wards = Some(vec![]);
        let e = spec.validate().expect_err("three problems").to_string();
        assert!(e.contains("before from"), "{e}");
        assert!(e.contains("grain shift or coarser"), "{e}");
        assert!(e.contains("level site, department, ward or team"), "{e}");
        assert!(e.contains("list is empty"), "{e}");

        let spec = ExportSpec::new(d("2016-01-01"), d("2026-12-31"), Level::Ward, Grain::Day);
        assert!(
            spec.validate()
                .expect_err("too long")
                .to_string()
                .contains("at most 3660 days")
        );
        let spec = ExportSpec::new(d("2026-01-01"), d("2026-12-31"), Level::Ward, Grain::Week);
        assert!(spec.validate().is_ok());
        assert_eq!(
            spec.file_name(Format::CsvExcel),
            "careload-ward-week-2026-01-01-2026-12-31.csv"
        );
    }
}
