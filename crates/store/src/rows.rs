//! Rows to values: the column lists the readers select, the macros that read
//! a row of either backend into the model's types (`components!`,
//! `patient_hour!`, `unit_hour!`, `run!`), and the checked conversions
//! between stored integers and counts.
//!
//! The macros are expanded once per backend inside `on_pool!` (a `SqliteRow`
//! and a `PgRow` have no common type to write a function over); they import
//! what they build themselves, so a caller needs only `sqlx::Row` in scope.

use careload_scoring::snapshot::Profession;

use crate::{Error, Result};

/// The component columns, in [`Component::ALL`] order.
///
/// [`Component::ALL`]: careload_scoring::score::Component::ALL
pub(crate) const COMPONENT_COLUMNS: [&str; 9] = [
    "medications_milli",
    "orders_milli",
    "basic_nursing_milli",
    "specific_nursing_milli",
    "news2_milli",
    "emotional_support_milli",
    "care_plans_milli",
    "diagnoses_milli",
    "modifiers_milli",
];

/// Columns of a light patient row, in the order `patient_hour!` reads them.
pub(crate) const PATIENT_LIGHT: &str = "hour, patient_key, ward, team, bed, as_of, run_id, weights_version, \
    total_milli, usk_milli, ssk_milli, medications_milli, orders_milli, basic_nursing_milli, \
    specific_nursing_milli, news2_milli, emotional_support_milli, care_plans_milli, diagnoses_milli, \
    modifiers_milli, unmatched";

/// Columns of a unit row, in the order `unit_hour!` reads them.
pub(crate) const UNIT_COLUMNS: &str = "hour, level, ward, team, patients, total_milli, usk_milli, ssk_milli, \
    medications_milli, orders_milli, basic_nursing_milli, specific_nursing_milli, news2_milli, \
    emotional_support_milli, care_plans_milli, diagnoses_milli, modifiers_milli, unmatched, weights_version, \
    q_assessed, q_norton_stale, q_news2_overdue, q_activities, q_activities_no_due, q_activities_generic, q_thin, \
    source_id";

/// Reads the nine component columns of a row.
macro_rules! components {
    ($row:expr) => {{
        use careload_scoring::Points;
        use careload_scoring::score::{Component, Components};
        use $crate::rows::COMPONENT_COLUMNS;
        let mut c = Components::default();
        for (component, column) in Component::ALL.into_iter().zip(COMPONENT_COLUMNS) {
            c.add(component, Points::from_milli($row.try_get::<i64, _>(column)?));
        }
        c
    }};
}

/// Reads a light patient row.
macro_rules! patient_hour {
    ($row:expr) => {{
        use careload_scoring::Points;
        use careload_scoring::score::Split;
        use careload_scoring::snapshot::PatientKey;
        use $crate::rows::count;
        use $crate::{PatientHour, RunId};
        let row = $row;
        PatientHour {
            hour: row.try_get("hour")?,
            key: PatientKey(row.try_get("patient_key")?),
            ward: row.try_get("ward")?,
            team: row.try_get("team")?,
            bed: row.try_get("bed")?,
            as_of: row.try_get("as_of")?,
            run_id: RunId(row.try_get("run_id")?),
            weights_version: row.try_get("weights_version")?,
            total: Points::from_milli(row.try_get("total_milli")?),
            professions: Split {
                usk: Points::from_milli(row.try_get("usk_milli")?),
                ssk: Points::from_milli(row.try_get("ssk_milli")?),
            },
            components: components!(row),
            unmatched: count(row.try_get("unmatched")?)?,
        }
    }};
}

/// Reads a unit row.
macro_rules! unit_hour {
    ($row:expr) => {{
        use careload_scoring::quality::QualityCounts;
        use careload_scoring::score::Split;
        use careload_scoring::{Points, Totals};
        use $crate::rows::count;
        use $crate::{Error, Level, UnitHour};
        let row = $row;
        let level: String = row.try_get("level")?;
        UnitHour {
            hour: row.try_get("hour")?,
            level: Level::parse(&level).ok_or_else(|| Error::Invalid(format!("stored level {level:?} is unknown")))?,
            ward: row.try_get("ward")?,
            team: row.try_get("team")?,
            totals: Totals {
                patients: count(row.try_get("patients")?)?,
                total: Points::from_milli(row.try_get("total_milli")?),
                components: components!(row),
                professions: Split {
                    usk: Points::from_milli(row.try_get("usk_milli")?),
                    ssk: Points::from_milli(row.try_get("ssk_milli")?),
                },
                unmatched: count(row.try_get("unmatched")?)?,
                quality: QualityCounts {
                    assessed: count(row.try_get("q_assessed")?)?,
                    norton_stale: count(row.try_get("q_norton_stale")?)?,
                    news2_overdue: count(row.try_get("q_news2_overdue")?)?,
                    activities: count(row.try_get("q_activities")?)?,
                    activities_without_due: count(row.try_get("q_activities_no_due")?)?,
                    activities_generic: count(row.try_get("q_activities_generic")?)?,
                    thin_after_admission: count(row.try_get("q_thin")?)?,
                },
            },
            weights_version: row.try_get("weights_version")?,
            source_id: row.try_get("source_id")?,
        }
    }};
}

/// Reads an ingest run row.
macro_rules! run {
    ($row:expr) => {{
        use sqlx::types::Json;
        use $crate::rows::unsigned;
        use $crate::{Error, Outcome, Run, RunId, RunReport};
        let row = $row;
        let outcome: Option<String> = row.try_get("outcome")?;
        let Json(counts) = row.try_get("counts")?;
        Run {
            id: RunId(row.try_get("id")?),
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            source: row.try_get("source")?,
            outcome: match outcome {
                None => None,
                Some(o) => {
                    Some(Outcome::parse(&o).ok_or_else(|| Error::Invalid(format!("stored outcome {o:?} is unknown")))?)
                }
            },
            report: RunReport {
                counts,
                skipped: unsigned(row.try_get("skipped")?)?,
                retries: unsigned(row.try_get("retries")?)?,
                error: row.try_get("error")?,
            },
            fired_at: row.try_get("fired_at")?,
            replica: row.try_get("replica")?,
            source_id: row.try_get("source_id")?,
        }
    }};
}

/// A stored count as a count.
pub(crate) fn count(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| Error::Invalid(format!("stored count {v} is out of range")))
}

/// A stored non-negative number as one.
pub(crate) fn unsigned(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| Error::Invalid(format!("stored count {v} is negative")))
}

/// A count as stored.
pub(crate) fn signed(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| Error::Invalid(format!("count {v} is too large to store")))
}

/// A profession as every table stores it (`USK`, `SSK`): planned staffing
/// and shift ratings alike.
pub(crate) fn profession_text(p: Profession) -> &'static str {
    match p {
        Profession::Usk => "USK",
        Profession::Ssk => "SSK",
    }
}

/// A stored profession read back; anything else is a broken row.
pub(crate) fn profession(text: &str) -> Result<Profession> {
    match text {
        "USK" => Ok(Profession::Usk),
        "SSK" => Ok(Profession::Ssk),
        other => Err(Error::Invalid(format!("stored profession {other:?} is unknown"))),
    }
}

#[cfg(test)]
mod tests {
    use careload_scoring::score::Component;

    use super::COMPONENT_COLUMNS;

    #[test]
    fn component_columns_follow_component_keys() {
        for (c, column) in Component::ALL.into_iter().zip(COMPONENT_COLUMNS) {
            assert_eq!(format!("{}_milli", c.key()), column);
        }
    }
}
