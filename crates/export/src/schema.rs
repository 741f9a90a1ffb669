//! The export's columns: names, types and meanings, stable across versions.
//!
//! This table is the contract with controllers' spreadsheets and BI tools.
//! `docs/exports.md` is generated from it and a test keeps the two equal; a
//! snapshot test per format checks that what is written matches it. Add
//! columns at the end of a group; never rename or retype one.

use polars::prelude::{DataType, TimeUnit, TimeZone};

/// Which exports carry a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Every export.
    Always,
    /// With `staffing` (grain shift or coarser).
    Staffing,
    /// With `compare_last_year`.
    LastYear,
}

/// A column's type, in words and as polars writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// 64-bit integer.
    Integer,
    /// 64-bit float, rounded to three decimals (points have three).
    Decimal,
    /// An instant in UTC (Parquet: timestamp µs adjusted to UTC, so every
    /// reader shows the instant, not a local wall-clock time; CSV and JSON:
    /// RFC 3339 with `Z`).
    Instant,
    /// A calendar date in the hospital's zone (Parquet: `DATE`; CSV and
    /// JSON: `YYYY-MM-DD`, which Excel in a Swedish or English locale reads
    /// as a date).
    Date,
    /// `true` or `false` (Parquet: `BOOLEAN`).
    Boolean,
}

impl Kind {
    /// The polars type.
    pub fn dtype(self) -> DataType {
        match self {
            Kind::Text => DataType::String,
            Kind::Integer => DataType::Int64,
            Kind::Decimal => DataType::Float64,
            Kind::Instant => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
            Kind::Date => DataType::Date,
            Kind::Boolean => DataType::Boolean,
        }
    }

    /// Its name in the documentation.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Integer => "integer",
            Kind::Decimal => "decimal",
            Kind::Instant => "instant (UTC)",
            Kind::Date => "date (local)",
            Kind::Boolean => "boolean",
        }
    }
}

/// One column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether it may be empty (null).
    pub nullable: bool,
    /// Which exports carry it.
    pub when: When,
    /// What it means.
    pub meaning: &'static str,
}

const fn col(name: &'static str, kind: Kind, nullable: bool, when: When, meaning: &'static str) -> Column {
    Column {
        name,
        kind,
        nullable,
        when,
        meaning,
    }
}

use Kind::{Boolean, Date, Decimal, Instant, Integer, Text};
use When::{Always, LastYear, Staffing};

/// Every column, in output order.
pub const COLUMNS: &[Column] = &[
    col(
        "level",
        Text,
        false,
        Always,
        "`hospital` (the whole store), `site` (one configured hospital, `[hospitals.<id>]`), `department`, `ward` or `team`.",
    ),
    col(
        "ward",
        Text,
        true,
        Always,
        "The ward id; empty for the hospital, a site and a department.",
    ),
    col(
        "team",
        Text,
        true,
        Always,
        "The team id (`unassigned` for patients without one); empty above team level.",
    ),
    col(
        "grain",
        Text,
        false,
        Always,
        "`hour`, `shift`, `day`, `week`, `month`, `quarter` or `year`.",
    ),
    col(
        "period",
        Text,
        false,
        Always,
        "The period in local terms: `2026-11-23T14:00+01:00`, `2026-11-23 day`, `2026-11-23`, `2026-W48`, `2026-11`, `2026-Q4`, `2026`.",
    ),
    col("period_start", Instant, false, Always, "The period's first instant."),
    col(
        "period_end",
        Instant,
        false,
        Always,
        "The instant after the period (days are 23 or 25 hours when the clocks change).",
    ),
    col(
        "hours",
        Integer,
        false,
        Always,
        "Hours of the period with at least one patient in the unit.",
    ),
    col(
        "patient_hours",
        Integer,
        false,
        Always,
        "Patient-hours: the number of (patient, hour) pairs.",
    ),
    col(
        "patients",
        Integer,
        false,
        Always,
        "Distinct patients with at least one hour in the period (a patient who changed team counts in each).",
    ),
    col(
        "total_mean",
        Decimal,
        false,
        Always,
        "Mean of the unit's hourly total points over `hours`.",
    ),
    col("total_median", Decimal, false, Always, "Median of the hourly totals."),
    col(
        "total_p90",
        Decimal,
        false,
        Always,
        "90th percentile of the hourly totals (linear interpolation).",
    ),
    col("total_max", Decimal, false, Always, "Highest hourly total."),
    col(
        "points_sum",
        Decimal,
        false,
        Always,
        "Sum of the hourly totals: points × hours, the basis of staff-hours.",
    ),
    col(
        "points_per_patient_hour",
        Decimal,
        false,
        Always,
        "`points_sum` / `patient_hours`: care need per patient, independent of occupancy.",
    ),
    col(
        "usk_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points for assistant nurses (USK).",
    ),
    col(
        "ssk_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points for registered nurses (SSK).",
    ),
    col(
        "medications_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: medications.",
    ),
    col(
        "orders_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: orders (lab, imaging, referrals).",
    ),
    col(
        "basic_nursing_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: basic nursing (Norton, ADL).",
    ),
    col(
        "specific_nursing_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: specific nursing tasks.",
    ),
    col(
        "news2_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: NEWS2 monitoring.",
    ),
    col(
        "emotional_support_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: emotional support.",
    ),
    col(
        "care_plans_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: care plans (palliative and others).",
    ),
    col(
        "diagnoses_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: diagnoses (e.g. psychiatric F-diagnoses).",
    ),
    col(
        "modifiers_mean",
        Decimal,
        false,
        Always,
        "Mean hourly points: modifiers (newly admitted, outlying).",
    ),
    col(
        "unmatched_items",
        Integer,
        false,
        Always,
        "Items the weights did not know, summed over the period's hours (a mapping to fix, not care).",
    ),
    col(
        "quality_assessed_patient_hours",
        Integer,
        false,
        Always,
        "Patient-hours whose documentation the hourly run assessed (0 for hours written before careload assessed it): the denominator of the shares below.",
    ),
    col(
        "norton_stale_share",
        Decimal,
        true,
        Always,
        "Share of assessed patient-hours with no Norton assessment or one older than `quality.norton_max_age_days`.",
    ),
    col(
        "news2_overdue_share",
        Decimal,
        true,
        Always,
        "Share with no NEWS2 or the last one older than its RCP monitoring interval (12 h at 0, 6 h at 1–4, 1 h at 5+).",
    ),
    col(
        "thin_after_admission_share",
        Decimal,
        true,
        Always,
        "Share admitted more than `quality.thin_after_hours` ago and still thinly documented.",
    ),
    col(
        "activities_without_due_share",
        Decimal,
        true,
        Always,
        "Share of open to-do activities without a due time.",
    ),
    col(
        "activities_generic_share",
        Decimal,
        true,
        Always,
        "Share of open to-do activities with a generic code (`quality.generic_codes`).",
    ),
    col(
        "ward_name",
        Text,
        true,
        Always,
        "The ward's display name (`[wards.<id>] name`); empty for the hospital, a site, a department, or when none is configured.",
    ),
    col(
        "team_name",
        Text,
        true,
        Always,
        "The team's display name (`[wards.<id>.teams]`); empty above team level or when none is configured.",
    ),
    col(
        "local_date",
        Date,
        false,
        Always,
        "The local date the period starts on: the hour's or shift's date (a night shift's is the evening it starts), the day, the week's Monday, the first day of the month, quarter or year.",
    ),
    col(
        "local_time",
        Text,
        true,
        Always,
        "The local start time `HH:MM` of an hour or shift; empty for days and coarser.",
    ),
    col(
        "complete",
        Boolean,
        false,
        Always,
        "`false` while the period runs past the last hour stored (today, this week): its figures cover the hours so far, and planned staffing counts only the shifts that have started.",
    ),
    col(
        "department",
        Text,
        true,
        Always,
        "The department id (`[departments.<id>]`): a department row's own, a ward's or team's ward's; empty for the hospital, a site, the group of wards of no department, and a ward of none.",
    ),
    col(
        "department_name",
        Text,
        true,
        Always,
        "The department's display name (`[departments.<id>] name`); empty where `department` is or when none is configured.",
    ),
    col(
        "hospital",
        Text,
        true,
        Always,
        "The hospital id (`[hospitals.<id>]`): a site row's own, a department's (`[departments.<id>] hospital`), a ward's or team's ward's department's; empty for the hospital (the whole store) and where there is none.",
    ),
    col(
        "hospital_name",
        Text,
        true,
        Always,
        "The hospital's display name (`[hospitals.<id>] name`); empty where `hospital` is or when none is configured.",
    ),
    col(
        "planned_staff_hours",
        Decimal,
        true,
        Staffing,
        "Planned staff-hours present (planned minus absent, times each shift's length) for shifts starting in the period (in an incomplete period, only those that have started by the last hour stored); empty without a plan. Team rows count only staff planned for the team.",
    ),
    col(
        "need_staff_hours",
        Decimal,
        true,
        Staffing,
        "Care need in staff-hours: USK and SSK points times the ward care category's factors; empty when the weights have no factors for it.",
    ),
    col(
        "gap_staff_hours",
        Decimal,
        true,
        Staffing,
        "`planned_staff_hours` − `need_staff_hours`: negative means understaffed.",
    ),
    col(
        "points_per_planned_staff_hour",
        Decimal,
        true,
        Staffing,
        "`points_sum` / `planned_staff_hours`: need per staff member, comparable across wards (cf. Gävleborg's VIM index).",
    ),
    col(
        "last_year_period",
        Text,
        true,
        LastYear,
        "The period a year earlier: the same ISO week, month, quarter or year, or 364 days earlier (same weekday) for hours, shifts and days.",
    ),
    col(
        "last_year_total_mean",
        Decimal,
        true,
        LastYear,
        "`total_mean` of that period; empty without history then.",
    ),
    col(
        "last_year_patients",
        Integer,
        true,
        LastYear,
        "`patients` of that period.",
    ),
    col(
        "total_mean_change_pct",
        Decimal,
        true,
        LastYear,
        "Change of `total_mean` against a year earlier, in per cent.",
    ),
];

/// The columns an export with these options carries.
pub fn columns(staffing: bool, last_year: bool) -> impl Iterator<Item = &'static Column> {
    COLUMNS.iter().filter(move |c| match c.when {
        When::Always => true,
        When::Staffing => staffing,
        When::LastYear => last_year,
    })
}

/// The documentation table (Markdown) of every column.
pub fn markdown_table() -> String {
    let mut out = String::from("| column | type | may be empty | in | meaning |\n|---|---|---|---|---|\n");
    for c in COLUMNS {
        let when = match c.when {
            When::Always => "every export",
            When::Staffing => "`staffing`",
            When::LastYear => "`compare_last_year`",
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            c.name,
            c.kind.name(),
            if c.nullable { "yes" } else { "no" },
            when,
            c.meaning
        ));
    }
    out
}
