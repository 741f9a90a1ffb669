//! Reads for trend exports and back-tests (`careload-export`): every unit of
//! a level over a range of hours, distinct patients over a range, and the
//! stored snapshots of a range in pages.
//!
//! These read what the hourly writes already keep: `unit_hours` holds each
//! hour's sums per hospital, ward and team, so a year of ward aggregates is
//! a few hundred thousand rows however many patients there were. The number
//! of *distinct* patients comes from `patient_segments`, each patient's
//! unbroken runs of hours per ward and team, kept by the hourly write.

use careload_scoring::Points;
use careload_scoring::aggregate::NO_TEAM;
use careload_scoring::score::{Components, Split};
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::rows::{COMPONENT_COLUMNS, UNIT_COLUMNS};
use crate::{Level, Result, Store, UnitHour};

/// A stored segment: ward, team (`''` for none), patient, first and last hour.
type Segment = (String, String, String, DateTime<Utc>, DateTime<Utc>);

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

    /// Distinct patients per unit of `level` in each of `periods`
    /// (`[start, end)` ranges of hours), restricted to `wards` (all wards
    /// when `None`): one list per period, units without patients left out.
    /// A patient who changed team counts once in each team.
    ///
    /// Counted from `patient_segments` (each patient's unbroken runs of
    /// hours per ward and team): one query for the span of all the periods,
    /// then each segment is counted in every period it overlaps. A year of a
    /// large hospital is some hundred thousand segments, not millions of
    /// patient-hours.
    pub async fn distinct_patients_in(
        &self,
        level: Level,
        wards: Option<&[String]>,
        periods: &[(DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Vec<Vec<DistinctPatients>>> {
        let (Some(from), Some(to)) = (periods.iter().map(|p| p.0).min(), periods.iter().map(|p| p.1).max()) else {
            return Ok(Vec::new());
        };
        if wards.is_some_and(<[String]>::is_empty) {
            return Ok(vec![Vec::new(); periods.len()]);
        }
        // `last_hour >= from` finds the segments through their index; a
        // segment ending at `h` covers the hour `[h, h + 1)`
        let from_hour = from - chrono::Duration::hours(1);
        let ward_filter = match wards {
            Some(list) => {
                let mut s = String::from(" AND ward IN (");
                for i in 0..list.len() {
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
        let sql = format!(
            "SELECT ward, team, patient_key, first_hour, last_hour FROM patient_segments \
             WHERE last_hour > $1 AND first_hour < $2{ward_filter}"
        );
        let segments: Vec<Segment> = on_pool!(self, pool => {
            let mut q = sqlx::query(&sql).bind(from_hour).bind(to);
            for ward in wards.unwrap_or_default() {
                q = q.bind(ward.as_str());
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok((
                        row.try_get("ward")?,
                        row.try_get("team")?,
                        row.try_get("patient_key")?,
                        row.try_get("first_hour")?,
                        row.try_get("last_hour")?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?
        });
        // periods by start, to find the ones a segment overlaps
        let mut order: Vec<usize> = (0..periods.len()).collect();
        order.sort_by_key(|&i| periods[i].0);
        let mut seen: Vec<std::collections::HashSet<(usize, usize)>> = vec![Default::default(); periods.len()];
        let mut units: Vec<(String, String)> = Vec::new();
        let mut unit_ids: std::collections::HashMap<(String, String), usize> = std::collections::HashMap::new();
        let mut key_ids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (ward, team, key, first, last) in segments {
            let unit = match level {
                Level::Hospital => (String::new(), String::new()),
                Level::Ward => (ward, String::new()),
                Level::Team => (ward, if team.is_empty() { NO_TEAM.to_owned() } else { team }),
            };
            let next_unit = unit_ids.len();
            let u = *unit_ids.entry(unit.clone()).or_insert_with(|| {
                units.push(unit);
                next_unit
            });
            let next_key = key_ids.len();
            let k = *key_ids.entry(key).or_insert(next_key);
            let end = last + chrono::Duration::hours(1);
            // periods that start before the segment ends and end after it starts
            let stop = order.partition_point(|&i| periods[i].0 < end);
            for &i in &order[..stop] {
                if periods[i].1 > first {
                    seen[i].insert((u, k));
                }
            }
        }
        Ok(seen
            .into_iter()
            .map(|pairs| {
                let mut counts: std::collections::BTreeMap<usize, u64> = std::collections::BTreeMap::new();
                for (u, _) in pairs {
                    *counts.entry(u).or_default() += 1;
                }
                let mut out: Vec<DistinctPatients> = counts
                    .into_iter()
                    .map(|(u, patients)| DistinctPatients {
                        ward: units[u].0.clone(),
                        team: units[u].1.clone(),
                        patients,
                    })
                    .collect();
                out.sort_by(|a, b| (&a.ward, &a.team).cmp(&(&b.ward, &b.team)));
                out
            })
            .collect())
    }
}

/// One stored patient-hour as a back-test reads it: the stored score's
/// sums, and the snapshot's stored bytes to re-score (read by the caller
/// with [`crate::read_snapshot`], on as many threads as it likes).
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
    /// The stored snapshot: `careload_scoring::stored`'s binary form, or
    /// JSON for rows written before it (`{}` for benchmark copies that keep
    /// no snapshot).
    pub snapshot: Vec<u8>,
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

    /// Which source wrote which hour in `[from, to)`, as (source id, hour):
    /// every pair with a ward row (a source's hour with no patient at all
    /// has none, and reads as not written).
    pub async fn source_hours_written(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT DISTINCT source_id, hour FROM unit_hours WHERE level = 'ward' AND hour >= $1 AND hour < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok((row.try_get("source_id")?, row.try_get("hour")?))).collect()
        })
    }

    /// Every patient row of one hour with its stored snapshot, in no
    /// particular order.
    pub async fn stored_patient_hours(&self, hour: DateTime<Utc>) -> Result<Vec<StoredPatientHour>> {
        let sql = format!(
            "SELECT ward, team, total_milli, usk_milli, ssk_milli, {}, weights_version, {} AS snapshot \
             FROM patient_hours WHERE hour = $1",
            COMPONENT_COLUMNS.join(", "),
            self.snapshot_bytes()
        );
        on_pool!(self, pool => {
            let rows = sqlx::query(&sql).bind(hour).fetch_all(pool).await?;
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
                        snapshot: row.try_get("snapshot")?,
                    })
                })
                .collect()
        })
    }
}
