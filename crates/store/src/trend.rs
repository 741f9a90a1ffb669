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
