//! Retention, and PostgreSQL's monthly partitions of `patient_hours`:
//! [`Store::purge_before`] drops whole months where the backend partitions
//! them, then deletes what is left before the cutoff row by row; the hourly
//! write and the benchmark's replication create a month's partition before
//! they write into it ([`month_partition`] names and bounds it). Whether a
//! store has partitions is the dialect's answer (`Store::partitioned`).

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use sqlx::postgres::PgPool;

use crate::rows::unsigned;
use crate::{Purged, Result, Store};

/// The PostgreSQL partition of `patient_hours` holding `hour`, and the
/// bounds of its month: `("patient_hours_y2026m11", 2026-11-01, 2026-12-01)`.
pub fn month_partition(hour: DateTime<Utc>) -> (String, DateTime<Utc>, DateTime<Utc>) {
    let (y, m) = (hour.year(), hour.month());
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let start = |y: i32, m: u32| {
        NaiveDate::from_ymd_opt(y, m, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| Utc.from_utc_datetime(&d))
            .unwrap_or(hour)
    };
    (format!("patient_hours_y{y:04}m{m:02}"), start(y, m), start(ny, nm))
}

impl Store {
    /// Retention: removes patient and unit rows of hours before `cutoff`,
    /// and the staff's ratings of shifts that started before it. Runs,
    /// weights versions, the audit log and the ward/team/bed tables are
    /// kept.
    ///
    /// On PostgreSQL, whole monthly partitions of `patient_hours` that end at
    /// or before `cutoff` are dropped first (cheap, and the disk space comes
    /// back at once); what remains before `cutoff` is deleted row by row in
    /// one transaction, as on SQLite.
    pub async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<Purged> {
        let mut purged = Purged::default();
        if let Some(pool) = self.partitioned() {
            (purged.partitions_dropped, purged.patient_hours) = drop_partitions_before(pool, cutoff).await?;
        }
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            purged.patient_hours += sqlx::query("DELETE FROM patient_hours WHERE hour < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            purged.unit_hours = sqlx::query("DELETE FROM unit_hours WHERE hour < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            purged.shift_ratings = sqlx::query("DELETE FROM shift_ratings WHERE shift_start < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            // segments: those wholly before the cutoff go, those across it
            // start at it (one patient's segments on a ward and team never
            // overlap, so the key stays unique)
            sqlx::query("DELETE FROM patient_segments WHERE last_hour < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE patient_segments SET first_hour = $1 WHERE first_hour < $1")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(purged)
    }

    /// Creates the monthly partitions of `patient_hours` for the hours
    /// `from` to `to` (both included) when they are missing, on a backend
    /// that partitions it; nothing on the others. Outside any write
    /// transaction (see [`ensure_partition`]).
    pub(crate) async fn ensure_partitions(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<()> {
        let Some(pool) = self.partitioned() else {
            return Ok(());
        };
        let mut month = from;
        while month <= to {
            ensure_partition(pool, month).await?;
            month = month_partition(month).2;
        }
        Ok(())
    }
}

/// The year and month of a partition named like [`month_partition`] does;
/// `None` for any other name (the default partition, something an operator
/// made).
fn partition_month(name: &str) -> Option<DateTime<Utc>> {
    let rest = name.strip_prefix("patient_hours_y")?;
    let (y, m) = rest.split_once('m')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// Drops the monthly partitions of `patient_hours` whose month ends at or
/// before `cutoff`. Returns how many, and the rows they held.
async fn drop_partitions_before(pool: &PgPool, cutoff: DateTime<Utc>) -> Result<(u32, u64)> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'patient_hours'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await?;
    let (mut dropped, mut rows) = (0, 0);
    for name in names {
        let Some(month) = partition_month(&name) else { continue };
        let (canonical, _, end) = month_partition(month);
        // Only names this store made (and so safe in DDL) are dropped.
        if canonical != name || end > cutoff {
            continue;
        }
        let mut tx = pool.begin().await?;
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {name}"))
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(&format!("DROP TABLE {name}")).execute(&mut *tx).await?;
        tx.commit().await?;
        tracing::info!(partition = %name, rows = n, "retention dropped a month of patient history");
        dropped += 1;
        rows += unsigned(n)?;
    }
    Ok((dropped, rows))
}

/// Creates the month's partition of `patient_hours` when it is missing.
///
/// Outside the write transaction on purpose: `CREATE TABLE … PARTITION OF`
/// takes a lock on the parent that would block readers until commit. The
/// name and bounds come from the hour alone (no user text reaches the DDL).
async fn ensure_partition(pool: &PgPool, hour: DateTime<Utc>) -> Result<()> {
    let (name, from, to) = month_partition(hour);
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(&name)
        .fetch_one(pool)
        .await?;
    if exists.is_none() {
        let fmt = "%Y-%m-%d %H:%M:%S+00";
        let created = sqlx::query(&format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF patient_hours FOR VALUES FROM ('{}') TO ('{}')",
            from.format(fmt),
            to.format(fmt)
        ))
        .execute(pool)
        .await;
        if let Err(e) = created {
            // two sources' writers creating the month at once: IF NOT EXISTS
            // does not shield the loser from a duplicate; it exists now
            let now: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
                .bind(&name)
                .fetch_one(pool)
                .await?;
            if now.is_none() {
                return Err(e.into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::month_partition;

    #[test]
    fn month_partitions_cover_a_calendar_month_in_utc() {
        let t = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .map(|d| d.with_timezone(&Utc))
                .unwrap_or_default()
        };
        let cases = [
            (
                "2026-11-23T12:00:00Z",
                "patient_hours_y2026m11",
                "2026-11-01T00:00:00Z",
                "2026-12-01T00:00:00Z",
            ),
            (
                "2026-12-31T23:00:00Z",
                "patient_hours_y2026m12",
                "2026-12-01T00:00:00Z",
                "2027-01-01T00:00:00Z",
            ),
            (
                "2027-01-01T00:00:00Z",
                "patient_hours_y2027m01",
                "2027-01-01T00:00:00Z",
                "2027-02-01T00:00:00Z",
            ),
        ];
        for (hour, name, from, to) in cases {
            assert_eq!(month_partition(t(hour)), (name.to_owned(), t(from), t(to)), "{hour}");
        }
    }
}
