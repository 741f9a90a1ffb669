//! Reads for trend exports and back-tests (`careload-export`): every unit of
//! a level over a range of hours, distinct patients over a range, and the
//! stored snapshots of a range in pages.
//!
//! These read what the hourly writes already keep: `unit_hours` holds each
//! hour's sums per hospital, ward and team, so a year of ward aggregates is
//! a few hundred thousand rows however many patients there were. Only the
//! number of *distinct* patients needs the patient rows, and that is counted
//! here, in the database, from the `(ward, hour, patient_key, …)` index.

use careload_scoring::aggregate::NO_TEAM;
use careload_scoring::quality::QualityCounts;
use careload_scoring::score::{Component, Components, Split};
use careload_scoring::{Points, Totals};
use chrono::{DateTime, Utc};
use sqlx::Row;

// `unit_hour!` expands to these names.
use crate::{COMPONENT_COLUMNS, Error, Level, Result, Store, UNIT_COLUMNS, UnitHour, count};

/// Distinct patients of one unit over a range of hours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinctPatients {
    /// The ward; empty for the hospital.
    pub ward: String,
    /// The team; empty for a ward or the hospital.
    pub team: String,
    /// Patients with at least one stored hour in the range.
    pub patients: u64,
}

impl Store {
    /// The hourly sums of every unit of `level` for hours in `[from, to)`,
    /// by hour, ward and team.
    pub async fn level_hours(&self, level: Level, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UnitHour>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {UNIT_COLUMNS} FROM unit_hours \
                 WHERE level = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, ward, team"
            ))
            .bind(level.as_str())
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(unit_hour!(row))).collect()
        })
    }

    /// Distinct patients per unit of `level` with an hour in `[from, to)`,
    /// restricted to `wards` (all wards when `None`). Units without patients
    /// are left out. A patient who changed team counts once in each team.
    ///
    /// For the hospital and its wards this is answered from the
    /// `(ward, hour, patient_key, total_milli)` index alone; teams need the
    /// rows.
    pub async fn distinct_patients(
        &self,
        level: Level,
        wards: Option<&[String]>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DistinctPatients>> {
        // `ward IN (…)` lets both engines walk the ward-first index once per
        // ward instead of filtering a scan of the hour range.
        let ward_filter = match wards {
            Some(list) => {
                if list.is_empty() {
                    return Ok(Vec::new());
                }
                let mut s = String::from(" AND ward IN (");
                for (i, _) in list.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    s.push_str(&format!("${}", i + 3));
                }
                s.push(')');
                s
            }
            None => " AND ward IN (SELECT ward FROM wards)".to_owned(),
        };
        let (select, group) = match level {
            Level::Hospital => ("'' AS ward, '' AS team", ""),
            Level::Ward => ("ward, '' AS team", " GROUP BY ward"),
            Level::Team => (
                "ward, COALESCE(team, $NOTEAM) AS team",
                " GROUP BY ward, COALESCE(team, $NOTEAM)",
            ),
        };
        let no_team_param = 3 + wards.map_or(0, <[String]>::len);
        let sql = format!(
            "SELECT {select}, COUNT(DISTINCT patient_key) AS patients FROM patient_hours \
             WHERE hour >= $1 AND hour < $2{ward_filter}{group} ORDER BY 1, 2"
        )
        .replace("$NOTEAM", &format!("${no_team_param}"));
        on_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(from).bind(to);
            for ward in wards.unwrap_or_default() {
                q = q.bind(ward.as_str());
            }
            if level == Level::Team {
                q = q.bind(NO_TEAM);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    let patients: i64 = row.try_get("patients")?;
                    Ok(DistinctPatients {
                        ward: row.try_get("ward")?,
                        team: row.try_get("team")?,
                        patients: u64::try_from(patients).unwrap_or(0),
                    })
                })
                .filter(|r| !matches!(r, Ok(DistinctPatients { patients: 0, .. })))
                .collect()
        })
    }
}

/// One stored patient-hour as a back-test reads it: the stored score's
/// sums, and the snapshot's JSON to re-score (parsed by the caller, on as
/// many threads as it likes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPatientHour {
    /// The ward.
    pub ward: String,
    /// The team, when known.
    pub team: Option<String>,
    /// The stored total.
    pub total: Points,
    /// The stored split per profession.
    pub professions: Split,
    /// The stored points per component.
    pub components: Components,
    /// The weights version that scored it.
    pub weights_version: String,
    /// The stored snapshot (`careload_scoring::Snapshot` as JSON; `{}` for
    /// benchmark copies that keep no snapshot).
    pub snapshot_json: String,
}

impl Store {
    /// The hours in `[from, to)` that have patient rows, oldest first.
    pub async fn stored_hours(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT hour FROM unit_hours WHERE level = 'hospital' AND hour >= $1 AND hour < $2 ORDER BY hour",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(row.try_get("hour")?)).collect()
        })
    }

    /// Every patient row of one hour with its snapshot JSON, by patient key
    /// (the primary key's order: no sort of these wide rows, which on
    /// SQLite spilled to a temporary file and cost more than the read).
    pub async fn stored_patient_hours(&self, hour: DateTime<Utc>) -> Result<Vec<StoredPatientHour>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT ward, team, total_milli, usk_milli, ssk_milli, {}, weights_version, \
                 CAST(snapshot AS TEXT) AS snapshot FROM patient_hours WHERE hour = $1 ORDER BY patient_key",
                COMPONENT_COLUMNS.join(", ")
            ))
            .bind(hour)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(StoredPatientHour {
                        ward: row.try_get("ward")?,
                        team: row.try_get("team")?,
                        total: Points::from_milli(row.try_get("total_milli")?),
                        professions: Split {
                            usk: Points::from_milli(row.try_get("usk_milli")?),
                            ssk: Points::from_milli(row.try_get("ssk_milli")?),
                        },
                        components: components!(row),
                        weights_version: row.try_get("weights_version")?,
                        snapshot_json: row.try_get("snapshot")?,
                    })
                })
                .collect()
        })
    }
}
