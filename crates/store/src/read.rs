//! The readers of stored hours: the current hour, a ward's, its teams' and
//! the hospital's hourly sums (some wards' at given hours), a ward's patients (light rows, totals, packed
//! series, snapshots and scores), one patient's stored snapshot, every
//! patient's total in an hour, and the beds seen; [`read_snapshot`] turns a
//! stored snapshot's bytes back into a snapshot, whichever form it was
//! written in.

use std::collections::BTreeMap;

use careload_scoring::snapshot::PatientKey;
use careload_scoring::{Points, Score, Snapshot, stored};
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};

use crate::rows::{PATIENT_LIGHT, UNIT_COLUMNS, count};
use crate::{CurrentHour, Error, Level, PatientHour, Result, RunId, SourceHour, Store, UnitHour};

/// A stored snapshot from its stored bytes (as the store's readers select them): the
/// binary form (`careload_scoring::stored`), or JSON for rows written
/// before it.
///
/// # Errors
/// [`Error::Snapshot`] when the bytes are neither, or damaged.
pub fn read_snapshot(bytes: &[u8]) -> Result<Snapshot> {
    if stored::is_binary(bytes) {
        stored::decode(bytes).map_err(|e| Error::Snapshot(e.to_string()))
    } else {
        serde_json::from_slice(bytes).map_err(|e| Error::Snapshot(format!("as JSON: {e}")))
    }
}

impl Store {
    /// The hour readers should show, once one has been written.
    pub async fn current_hour(&self) -> Result<Option<CurrentHour>> {
        on_pool!(self, pool => {
            let row = sqlx::query("SELECT hour, run_id, updated_at FROM current_hour WHERE id = 1")
                .fetch_optional(pool)
                .await?;
            row.map(|row| {
                Ok(CurrentHour {
                    hour: row.try_get("hour")?,
                    run_id: RunId(row.try_get("run_id")?),
                    updated_at: row.try_get("updated_at")?,
                })
            })
            .transpose()
        })
    }

    /// Each source's own current hour (the newest it wrote), by source id.
    pub async fn source_hours(&self) -> Result<Vec<SourceHour>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT source_id, hour, run_id, updated_at FROM source_hours ORDER BY source_id")
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(SourceHour {
                        source_id: row.try_get("source_id")?,
                        current: CurrentHour {
                            hour: row.try_get("hour")?,
                            run_id: RunId(row.try_get("run_id")?),
                            updated_at: row.try_get("updated_at")?,
                        },
                    })
                })
                .collect()
        })
    }

    /// The newest hour every live source has written: the oldest of the
    /// sources' own hours, leaving out a source more than
    /// [`crate::SOURCE_DOWN_HOURS`] behind the newest (down, or no longer
    /// configured: its wards' hours are missing, not waited for). With the
    /// single source, the current hour. What is complete for an export, a
    /// back-test or the forecast's learning.
    pub async fn settled_hour(&self) -> Result<Option<DateTime<Utc>>> {
        let hours: Vec<DateTime<Utc>> = self.source_hours().await?.into_iter().map(|s| s.current.hour).collect();
        let Some(newest) = hours.iter().max().copied() else {
            return Ok(self.current_hour().await?.map(|c| c.hour));
        };
        let live = newest - chrono::Duration::hours(crate::SOURCE_DOWN_HOURS);
        Ok(hours.into_iter().filter(|h| *h >= live).min())
    }

    /// The source `source_id`'s own current hour, once it has written one.
    pub async fn source_hour(&self, source_id: &str) -> Result<Option<CurrentHour>> {
        Ok(self
            .source_hours()
            .await?
            .into_iter()
            .find(|s| s.source_id == source_id)
            .map(|s| s.current))
    }

    /// The earliest hour the source `source_id` wrote a ward in, if any
    /// (a source whose hours had no patient has none).
    pub async fn first_source_hour(&self, source_id: &str) -> Result<Option<DateTime<Utc>>> {
        if source_id.is_empty() {
            // the single source's hours are every hospital row's
            return self.first_hour().await;
        }
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar(
                "SELECT hour FROM unit_hours WHERE level = $1 AND source_id = $2 ORDER BY hour LIMIT 1",
            )
            .bind(Level::Ward.as_str())
            .bind(source_id)
            .fetch_optional(pool)
            .await?)
        })
    }

    /// The earliest hour stored (of the hospital's sums), if any.
    pub async fn first_hour(&self) -> Result<Option<DateTime<Utc>>> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("SELECT hour FROM unit_hours WHERE level = $1 ORDER BY hour LIMIT 1")
                .bind(Level::Hospital.as_str())
                .fetch_optional(pool)
                .await?)
        })
    }

    /// A ward's hourly sums for hours in `[from, to)`, oldest first.
    pub async fn ward_hours(&self, ward: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UnitHour>> {
        self.unit_hours(Level::Ward, ward, from, to).await
    }

    /// The hourly sums of each of a ward's teams for hours in `[from, to)`,
    /// by hour then team.
    pub async fn team_hours(&self, ward: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UnitHour>> {
        self.unit_hours(Level::Team, ward, from, to).await
    }

    /// The hourly totals of a ward (`Level::Ward`, team `""`) or of each of
    /// its teams (`Level::Team`) for hours in `[from, to)`, by hour then
    /// team: the graphs' light read (three columns of the twenty-odd).
    pub async fn unit_totals(
        &self,
        level: Level,
        ward: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, String, Points)>> {
        on_pool!(self, pool => {
            let rows: Vec<(DateTime<Utc>, String, i64)> = sqlx::query_as(
                "SELECT hour, team, total_milli FROM unit_hours \
                 WHERE level = $1 AND ward = $2 AND hour >= $3 AND hour < $4 ORDER BY hour, team",
            )
            .bind(level.as_str())
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            Ok(rows.into_iter().map(|(h, team, milli)| (h, team, Points::from_milli(milli))).collect())
        })
    }

    /// The hospital's hourly sums for hours in `[from, to)`, oldest first.
    pub async fn hospital_hours(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<UnitHour>> {
        self.unit_hours(Level::Hospital, "", from, to).await
    }

    async fn unit_hours(
        &self,
        level: Level,
        ward: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<UnitHour>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {UNIT_COLUMNS} FROM unit_hours \
                 WHERE level = $1 AND ward = $2 AND hour >= $3 AND hour < $4 ORDER BY hour, team"
            ))
            .bind(level.as_str())
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(unit_hour!(row))).collect()
        })
    }

    /// A ward's patients for hours in `[from, to)`, by hour then bed, without
    /// the stored snapshot and score.
    pub async fn patient_hours(&self, ward: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<PatientHour>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {PATIENT_LIGHT} FROM patient_hours \
                 WHERE ward = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, bed, patient_key"
            ))
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(patient_hour!(row))).collect()
        })
    }

    /// Each patient's total per hour on `ward` for hours in `[from, to)`,
    /// by hour then patient: the ward screen's patient graphs. Answered
    /// from the `(ward, hour, patient_key, total_milli)` index alone.
    pub async fn ward_patient_totals(
        &self,
        ward: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, PatientKey, Points)>> {
        on_pool!(self, pool => {
            let rows: Vec<(DateTime<Utc>, String, i64)> = sqlx::query_as(
                "SELECT hour, patient_key, total_milli FROM patient_hours \
                 WHERE ward = $1 AND hour >= $2 AND hour < $3 ORDER BY hour, patient_key",
            )
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            Ok(rows.into_iter().map(|(h, key, milli)| (h, PatientKey(key), Points::from_milli(milli))).collect())
        })
    }

    /// Each patient's totals per hour on `ward` for hours in `[from, to)`,
    /// by patient then hour: the same as [`Store::ward_patient_totals`],
    /// one row per patient instead of one per patient-hour (the database
    /// packs each series into text, `epoch-hour:milli,…`; on SQLite every
    /// row costs more to hand over than the series costs to read).
    pub async fn ward_patient_series(
        &self,
        ward: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(PatientKey, Vec<(DateTime<Utc>, Points)>)>> {
        let packed = |hour: &str| {
            format!(
                "SELECT patient_key, {} AS series FROM patient_hours \
                 WHERE ward = $1 AND hour >= $2 AND hour < $3 GROUP BY patient_key ORDER BY patient_key",
                hour
            )
        };
        let sql = packed(self.dialect().packed_series());
        let rows: Vec<(String, String)> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(ward).bind(from).bind(to).fetch_all(pool).await?
        });
        rows.into_iter()
            .map(|(key, series)| {
                let points = series
                    .split(',')
                    .map(|pair| {
                        let bad =
                            || Error::Database(sqlx::Error::Decode(format!("patient series item {pair:?}").into()));
                        let (h, milli) = pair.split_once(':').ok_or_else(bad)?;
                        let h: i64 = h.parse().map_err(|_| bad())?;
                        let milli: i64 = milli.parse().map_err(|_| bad())?;
                        let hour = DateTime::from_timestamp(h * 3600, 0).ok_or_else(bad)?;
                        Ok((hour, Points::from_milli(milli)))
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((PatientKey(key), points))
            })
            .collect()
    }

    /// The stored snapshot and score of one patient in one hour.
    pub async fn patient_snapshot(&self, hour: DateTime<Utc>, key: &PatientKey) -> Result<Option<(Snapshot, Score)>> {
        // (hour, patient_key) is the primary key: one row or none
        let mut rows = self
            .snapshots("hour = $1 AND patient_key = $2", hour, key.0.as_str())
            .await?;
        Ok(rows.pop())
    }

    /// The unit rows of one level at any of `hours` (e.g. every ward at one
    /// hour, or one hour of the week over a year), by hour, ward, team.
    /// An empty `hours` gives no rows.
    pub async fn unit_hours_at(&self, level: Level, hours: &[DateTime<Utc>]) -> Result<Vec<UnitHour>> {
        if hours.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, pool => {
            let mut q = QueryBuilder::new(format!("SELECT {UNIT_COLUMNS} FROM unit_hours WHERE level = "));
            q.push_bind(level.as_str()).push(" AND hour IN (");
            let mut list = q.separated(", ");
            for hour in hours {
                list.push_bind(*hour);
            }
            q.push(") ORDER BY hour, ward, team");
            let rows = q.build().fetch_all(pool).await?;
            rows.iter().map(|row| Ok(unit_hour!(row))).collect()
        })
    }

    /// The ward rows of `wards` alone at `hours`, ordered as
    /// [`Store::unit_hours_at`]'s: an overview of some wards (a department's,
    /// a hospital's, issue 29) reads only theirs.
    pub async fn ward_hours_at(&self, wards: &[String], hours: &[DateTime<Utc>]) -> Result<Vec<UnitHour>> {
        if hours.is_empty() || wards.is_empty() {
            return Ok(Vec::new());
        }
        on_pool!(self, pool => {
            let mut q = QueryBuilder::new(format!("SELECT {UNIT_COLUMNS} FROM unit_hours WHERE level = "));
            q.push_bind(Level::Ward.as_str()).push(" AND ward IN (");
            let mut list = q.separated(", ");
            for ward in wards {
                list.push_bind(ward.as_str());
            }
            q.push(") AND hour IN (");
            let mut list = q.separated(", ");
            for hour in hours {
                list.push_bind(*hour);
            }
            q.push(") ORDER BY hour, ward, team");
            let rows = q.build().fetch_all(pool).await?;
            rows.iter().map(|row| Ok(unit_hour!(row))).collect()
        })
    }

    /// A ward's patients in one hour with their stored snapshot and score,
    /// by team, bed and pseudonym.
    pub async fn ward_patients(&self, ward: &str, hour: DateTime<Utc>) -> Result<Vec<(Snapshot, Score)>> {
        self.snapshots("hour = $1 AND ward = $2 ORDER BY team, bed, patient_key", hour, ward)
            .await
    }

    /// The stored snapshot and score of the patient hours `condition`
    /// selects (and orders), its `$1` bound to `hour` and `$2` to `value`.
    async fn snapshots(&self, condition: &str, hour: DateTime<Utc>, value: &str) -> Result<Vec<(Snapshot, Score)>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(&format!(
                "SELECT {} AS snapshot, score FROM patient_hours WHERE {condition}",
                self.snapshot_bytes()
            ))
            .bind(hour)
            .bind(value)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let snapshot = read_snapshot(row.try_get("snapshot")?)?;
                    let Json(score): Json<Score> = row.try_get("score")?;
                    Ok((snapshot, score))
                })
                .collect()
        })
    }

    /// Every patient's total in one hour, hospital-wide, ascending (for
    /// quartiles).
    pub async fn patient_totals(&self, hour: DateTime<Utc>) -> Result<Vec<Points>> {
        on_pool!(self, pool => {
            let totals: Vec<i64> =
                sqlx::query_scalar("SELECT total_milli FROM patient_hours WHERE hour = $1 ORDER BY total_milli")
                    .bind(hour)
                    .fetch_all(pool)
                    .await?;
            Ok(totals.into_iter().map(Points::from_milli).collect())
        })
    }

    /// Distinct beds each ward (or only `ward`) had a patient in, for hours
    /// in `[from, to)`: the bed count of a ward whose configuration does not
    /// give one. Read from the `beds` table (a bed counts when its
    /// first-to-last-seen span meets the range), not by scanning history.
    pub async fn beds_seen(
        &self,
        ward: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<BTreeMap<String, u32>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT ward, COUNT(*) AS beds FROM beds \
                 WHERE ($1 IS NULL OR ward = $1) AND last_seen >= $2 AND first_seen < $3 GROUP BY ward",
            )
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| Ok((row.try_get::<String, _>("ward")?, count(row.try_get("beds")?)?)))
                .collect()
        })
    }
}
