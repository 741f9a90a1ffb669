//! The benchmark's yardstick: the ward × day export written as one plain SQL
//! `GROUP BY` on PostgreSQL (`percentile_cont` for the median and p90,
//! `COUNT(DISTINCT)` for patients), so `careload bench export` can report
//! how the polars path compares with letting the database do it all.
//!
//! Not used by the service: it has none of the export's levels, grains,
//! widening, formats or bounded memory (the database returns every row at
//! once), and SQLite has no `percentile_cont`.

use careload_store::Store;
use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::{Error, Result};

/// Runs the ward × day aggregation of `[from, to)` in PostgreSQL, days in
/// zone `tz` (an IANA name), and returns the rows it gave and the patient-hours
/// they cover (a checksum against the export).
///
/// # Errors
/// [`Error::NotPostgres`] when the store is not PostgreSQL; the query
/// failing ([`Error::History`]).
pub async fn ward_day_sql(store: &Store, tz: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<(u64, i64)> {
    let Some(pool) = store.postgres_pool() else {
        return Err(Error::NotPostgres);
    };
    let rows = sqlx::query(
        "WITH u AS ( \
           SELECT ward, (hour AT TIME ZONE $1)::date AS day, patients, total_milli, usk_milli, ssk_milli, \
                  medications_milli, orders_milli, basic_nursing_milli, specific_nursing_milli, news2_milli, \
                  emotional_support_milli, care_plans_milli, diagnoses_milli, modifiers_milli, unmatched \
           FROM unit_hours WHERE level = 'ward' AND hour >= $2 AND hour < $3), \
         agg AS ( \
           SELECT ward, day, COUNT(*) AS hours, SUM(patients)::bigint AS patient_hours, \
                  AVG(total_milli) / 1000.0 AS total_mean, \
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY total_milli) / 1000.0 AS total_median, \
                  percentile_cont(0.9) WITHIN GROUP (ORDER BY total_milli) / 1000.0 AS total_p90, \
                  MAX(total_milli) / 1000.0 AS total_max, SUM(total_milli) / 1000.0 AS points_sum, \
                  AVG(usk_milli) / 1000.0, AVG(ssk_milli) / 1000.0, AVG(medications_milli) / 1000.0, \
                  AVG(orders_milli) / 1000.0, AVG(basic_nursing_milli) / 1000.0, \
                  AVG(specific_nursing_milli) / 1000.0, AVG(news2_milli) / 1000.0, \
                  AVG(emotional_support_milli) / 1000.0, AVG(care_plans_milli) / 1000.0, \
                  AVG(diagnoses_milli) / 1000.0, AVG(modifiers_milli) / 1000.0, SUM(unmatched) AS unmatched \
           FROM u GROUP BY ward, day), \
         pats AS ( \
           SELECT ward, (hour AT TIME ZONE $1)::date AS day, COUNT(DISTINCT patient_key) AS patients \
           FROM patient_hours WHERE hour >= $2 AND hour < $3 GROUP BY 1, 2) \
         SELECT agg.*, COALESCE(pats.patients, 0) AS patients \
         FROM agg LEFT JOIN pats USING (ward, day) ORDER BY day, ward",
    )
    .bind(tz)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .map_err(|e| Error::History(e.into()))?;
    let mut patient_hours = 0;
    for row in &rows {
        patient_hours += row
            .try_get::<i64, _>("patient_hours")
            .map_err(|e| Error::History(e.into()))?;
    }
    Ok((rows.len() as u64, patient_hours))
}
