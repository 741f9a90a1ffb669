//! The hourly write and the runs that make it: [`Store::write_hour`] (one
//! transaction: the hour's patient and unit rows, its wards, teams and beds,
//! the patients' segments, the move of `current_hour`), and the ingest run
//! records — begun, finished, closed when a dead process left them open,
//! listed.

use std::collections::BTreeMap;

use careload_scoring::score::Component;
use careload_scoring::{Rollup, Score, Snapshot, Totals, stored};
use chrono::{DateTime, Timelike, Utc};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};

use crate::lease::{FENCE_HELD, Fence};
use crate::rows::{UNIT_COLUMNS, signed};
use crate::{Error, INTERRUPTED, Level, Outcome, Result, Run, RunId, RunReport, Store, units};

/// Patient rows per INSERT: 24 parameters each, well under SQLite's 32,766
/// and PostgreSQL's 65,535 parameters per statement.
const PATIENT_CHUNK: usize = 400;
/// Unit rows per INSERT: 26 parameters each.
const UNIT_CHUNK: usize = 1000;

/// The start of the hour containing `t`.
pub fn hour_of(t: DateTime<Utc>) -> DateTime<Utc> {
    t.with_nanosecond(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_minute(0))
        .unwrap_or(t)
}

impl Store {
    /// Records the start of an ingest run from `source` (a FHIR base URL or
    /// a file; never credentials).
    pub async fn begin_run(&self, source: &str) -> Result<RunId> {
        self.begin_fired_run("", source, None).await
    }

    /// Records the start of a run of the configured source `source_id`
    /// (`""`: the single `[source]`) reading from `source` for the
    /// scheduled firing `fired_at` (`None`: not a scheduled firing), naming
    /// this process ([`crate::replica_name`]).
    pub async fn begin_fired_run(
        &self,
        source_id: &str,
        source: &str,
        fired_at: Option<DateTime<Utc>>,
    ) -> Result<RunId> {
        let replica = crate::replica_name();
        let id: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO ingest_runs (started_at, source, fired_at, replica, source_id) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(Utc::now())
            .bind(source)
            .bind(fired_at)
            .bind(replica)
            .bind(source_id)
            .fetch_one(pool)
            .await?
        });
        Ok(RunId(id))
    }

    /// Records how a run ended.
    pub async fn finish_run(&self, id: RunId, outcome: Outcome, report: &RunReport) -> Result<()> {
        let skipped = signed(report.skipped)?;
        let retries = signed(report.retries)?;
        let updated = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE ingest_runs SET finished_at = $1, outcome = $2, counts = $3, skipped = $4, retries = $5, \
                 error = $6 WHERE id = $7",
            )
            .bind(Utc::now())
            .bind(outcome.as_str())
            .bind(Json(&report.counts))
            .bind(skipped)
            .bind(retries)
            .bind(report.error.as_deref())
            .bind(id.0)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(Error::UnknownRun(id));
        }
        Ok(())
    }

    /// Closes the runs begun before `started_before` and never finished: the
    /// process running them died (killed, power lost). A run whose hour was
    /// committed (its rows are stored, or it is the current hour's run)
    /// becomes `partial` — the hour is complete, the run's counts were
    /// lost —, any other `failed`; both say so in `error` and count
    /// `interrupted` = 1. Returns the runs closed and whether each had
    /// written its hour.
    ///
    /// Only the runs of the source `source_id` (`""`: the single
    /// `[source]`): another source's run may be going on under its own lock.
    pub async fn close_interrupted_runs(
        &self,
        source_id: &str,
        started_before: DateTime<Utc>,
    ) -> Result<Vec<(RunId, bool)>> {
        let ids: Vec<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM ingest_runs WHERE finished_at IS NULL AND outcome IS NULL AND started_at < $1 \
                 AND source_id = $2 ORDER BY id",
            )
            .bind(started_before)
            .bind(source_id)
            .fetch_all(pool)
            .await?
        });
        let mut closed = Vec::new();
        for id in ids {
            let written: bool = on_pool!(self, pool => {
                sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM current_hour WHERE run_id = $1) \
                     OR EXISTS (SELECT 1 FROM source_hours WHERE run_id = $2) \
                     OR EXISTS (SELECT 1 FROM patient_hours WHERE run_id = $3)",
                )
                .bind(id)
                .bind(id)
                .bind(id)
                .fetch_one(pool)
                .await?
            });
            let (outcome, error) = if written {
                (
                    Outcome::Partial,
                    "interrupted: the process stopped after this run's hour was written and before the run was \
                     recorded as finished; the hour is complete, the run's counts were lost",
                )
            } else {
                (
                    Outcome::Failed,
                    "interrupted: the process stopped before this run's hour was written; the previous hour \
                     stayed current",
                )
            };
            let report = RunReport {
                counts: BTreeMap::from([(INTERRUPTED.to_owned(), 1)]),
                error: Some(error.to_owned()),
                ..RunReport::default()
            };
            let updated = on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE ingest_runs SET finished_at = $1, outcome = $2, counts = $3, error = $4 \
                     WHERE id = $5 AND finished_at IS NULL",
                )
                .bind(Utc::now())
                .bind(outcome.as_str())
                .bind(Json(&report.counts))
                .bind(report.error.as_deref())
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
            });
            if updated > 0 {
                closed.push((RunId(id), written));
            }
        }
        Ok(closed)
    }

    /// The most recent runs, newest first.
    pub async fn runs(&self, limit: u32) -> Result<Vec<Run>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, started_at, finished_at, source, outcome, counts, skipped, retries, error, fired_at, replica, \
                 source_id FROM ingest_runs ORDER BY id DESC LIMIT $1",
            )
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            rows.iter().map(|row| Ok(run!(row))).collect()
        })
    }

    /// The most recent run, finished or not.
    pub async fn latest_run(&self) -> Result<Option<Run>> {
        Ok(self.runs(1).await?.into_iter().next())
    }

    /// The most recent run that wrote an hour (outcome `ok` or `partial`).
    pub async fn latest_successful_run(&self) -> Result<Option<Run>> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT id, started_at, finished_at, source, outcome, counts, skipped, retries, error, fired_at, replica, \
                 source_id FROM ingest_runs WHERE outcome IN ('ok', 'partial') ORDER BY id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await?;
            row.map(|row| Ok(run!(row))).transpose()
        })
    }

    /// The most recent run of the configured source `source_id`, finished
    /// or not.
    pub async fn latest_source_run(&self, source_id: &str) -> Result<Option<Run>> {
        on_pool!(self, pool => {
            let row = sqlx::query(
                "SELECT id, started_at, finished_at, source, outcome, counts, skipped, retries, error, fired_at, replica, \
                 source_id FROM ingest_runs WHERE source_id = $1 ORDER BY id DESC LIMIT 1",
            )
            .bind(source_id)
            .fetch_optional(pool)
            .await?;
            row.map(|row| Ok(run!(row))).transpose()
        })
    }

    /// Writes one hour of the single `[source]` (source id `""`): every
    /// patient's snapshot and score, and the sums at every level, in one
    /// transaction that also makes `hour` the current hour (unless a later
    /// hour already is: re-writing an older hour repairs history without
    /// moving the screens back).
    ///
    /// The hour's previous rows are deleted first, so re-running an hour
    /// replaces it. If anything fails, nothing of this write is kept and the
    /// previous current hour stays.
    pub async fn write_hour(
        &self,
        hour: DateTime<Utc>,
        run_id: RunId,
        weights_version: &str,
        patients: &[(Snapshot, Score)],
        rollup: &Rollup,
    ) -> Result<()> {
        self.write_hour_fenced(None, "", hour, run_id, weights_version, patients, rollup)
            .await
    }

    /// [`Store::write_hour`] of the source `source_id` by the holder of its
    /// hourly run's lock.
    ///
    /// **Sources.** Only this source's rows of the hour are replaced; the
    /// other sources' stay. A ward another source wrote in this hour is
    /// refused ([`Error::Invalid`] naming both: ward ids must be unique
    /// across sources, which a source's `ward_prefix` keeps). The
    /// hospital-level row is the sum of every source's wards in the hour,
    /// recomputed here; writers of one hour are serialised (a transaction
    /// lock on PostgreSQL, the one writer on SQLite) so that two sources
    /// writing at once both count. The source's own hour (`source_hours`)
    /// and `current_hour` move forward, never back.
    ///
    /// **Fence.** With a [`Fence`] (PostgreSQL), the transaction checks
    /// before it commits that the lock's session still holds the lock, and
    /// writes nothing otherwise ([`Error::LockLost`]; see [`crate::RunLock`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn write_hour_fenced(
        &self,
        fence: Option<Fence>,
        source_id: &str,
        hour: DateTime<Utc>,
        run_id: RunId,
        weights_version: &str,
        patients: &[(Snapshot, Score)],
        rollup: &Rollup,
    ) -> Result<()> {
        if hour != hour_of(hour) {
            return Err(Error::Invalid(format!(
                "hour {hour} is not the start of an hour; pass the hour bucket, e.g. {}",
                hour_of(hour)
            )));
        }
        if rollup.hospital.patients as usize != patients.len() {
            return Err(Error::Invalid(format!(
                "the rollup counts {} patients but {} were given; roll up exactly the patients written",
                rollup.hospital.patients,
                patients.len()
            )));
        }
        let seen = units::HourUnits::of(patients);

        self.ensure_partitions(hour, hour).await?;

        let snapshot_column = self.dialect().snapshot_column();
        let serialise = self.dialect().hour_write_lock();
        let _one_writer = match self {
            Store::Sqlite(_) => Some(crate::dialect::SQLITE_HOUR_WRITES.lock().await),
            Store::Postgres(_) => None,
        };
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if let Some(lock) = serialise {
                sqlx::query(lock).execute(&mut *tx).await?;
            }

            // Idempotent re-run: the source's hour is replaced as a whole. First,
            // so that on SQLite the transaction holds the write lock before it
            // reads the other sources' rows.
            sqlx::query("DELETE FROM patient_hours WHERE hour = $1 AND source_id = $2")
                .bind(hour)
                .bind(source_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM unit_hours WHERE hour = $1 AND (source_id = $2 OR level = $3)")
                .bind(hour)
                .bind(source_id)
                .bind(Level::Hospital.as_str())
                .execute(&mut *tx)
                .await?;

            // The other sources' wards of this hour: never overwritten, and
            // counted in the hospital's row.
            let others = sqlx::query(&format!(
                "SELECT {UNIT_COLUMNS} FROM unit_hours WHERE hour = $1 AND level = $2 AND source_id <> $3"
            ))
            .bind(hour)
            .bind(Level::Ward.as_str())
            .bind(source_id)
            .fetch_all(&mut *tx)
            .await?;
            let mut hospital = rollup.hospital;
            for row in &others {
                let other = unit_hour!(row);
                if rollup.wards.contains_key(&other.ward) {
                    return Err(Error::Invalid(format!(
                        "ward {:?} of hour {hour} is written by source {:?} already, so source {:?} may not \
                         write it too; ward ids must be unique across sources (give one source a ward_prefix)",
                        other.ward, other.source_id, source_id
                    )));
                }
                hospital.merge(&other.totals);
            }
            let units = unit_rows(&hospital, rollup);

            for chunk in patients.chunks(PATIENT_CHUNK) {
                let mut q = QueryBuilder::new(format!(
                    "INSERT INTO patient_hours (hour, patient_key, ward, team, bed, as_of, run_id, weights_version, \
                     total_milli, usk_milli, ssk_milli, medications_milli, orders_milli, basic_nursing_milli, \
                     specific_nursing_milli, news2_milli, emotional_support_milli, care_plans_milli, \
                     diagnoses_milli, modifiers_milli, unmatched, {snapshot_column}, score, source_id) ",
                ));
                q.push_values(chunk, |mut b, (snapshot, score)| {
                    let p = &snapshot.placement;
                    b.push_bind(hour)
                        .push_bind(snapshot.key.0.as_str())
                        .push_bind(p.ward.as_str())
                        .push_bind(p.team.as_deref())
                        .push_bind(p.bed.as_deref())
                        .push_bind(snapshot.as_of)
                        .push_bind(run_id.0)
                        .push_bind(weights_version)
                        .push_bind(score.total.milli())
                        .push_bind(score.professions.usk.milli())
                        .push_bind(score.professions.ssk.milli());
                    for c in Component::ALL {
                        b.push_bind(score.components.get(c).milli());
                    }
                    b.push_bind(score.unmatched.len() as i64)
                        .push_bind(stored::encode(snapshot))
                        .push_bind(Json(score))
                        .push_bind(source_id);
                });
                q.build().execute(&mut *tx).await?;
            }

            for chunk in units.chunks(UNIT_CHUNK) {
                let mut q = QueryBuilder::new(format!("INSERT INTO unit_hours ({UNIT_COLUMNS}) "));
                q.push_values(chunk, |mut b, (level, ward, team, t)| {
                    b.push_bind(hour)
                        .push_bind(level.as_str())
                        .push_bind(*ward)
                        .push_bind(*team)
                        .push_bind(i64::from(t.patients))
                        .push_bind(t.total.milli())
                        .push_bind(t.professions.usk.milli())
                        .push_bind(t.professions.ssk.milli());
                    for c in Component::ALL {
                        b.push_bind(t.components.get(c).milli());
                    }
                    let q = &t.quality;
                    b.push_bind(i64::from(t.unmatched))
                        .push_bind(weights_version)
                        .push_bind(i64::from(q.assessed))
                        .push_bind(i64::from(q.norton_stale))
                        .push_bind(i64::from(q.news2_overdue))
                        .push_bind(i64::from(q.activities))
                        .push_bind(i64::from(q.activities_without_due))
                        .push_bind(i64::from(q.activities_generic))
                        .push_bind(i64::from(q.thin_after_admission))
                        // the hospital's row sums every source: it is no one source's
                        .push_bind(if *level == Level::Hospital { "" } else { source_id });
                });
                q.build().execute(&mut *tx).await?;
            }

            units::upsert_units!(tx, hour, source_id, &seen);

            // Segments: extend each patient's run that ended an hour ago,
            // open one for the others (a re-run or a late hour inside a
            // run changes nothing).
            sqlx::query(
                "UPDATE patient_segments SET last_hour = $1 WHERE last_hour = $2 AND EXISTS ( \
                 SELECT 1 FROM patient_hours p WHERE p.hour = $1 AND p.patient_key = patient_segments.patient_key \
                 AND p.ward = patient_segments.ward AND COALESCE(p.team, '') = patient_segments.team)",
            )
            .bind(hour)
            .bind(hour - chrono::Duration::hours(1))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO patient_segments (ward, team, patient_key, first_hour, last_hour) \
                 SELECT p.ward, COALESCE(p.team, ''), p.patient_key, $1, $1 FROM patient_hours p \
                 WHERE p.hour = $1 AND p.source_id = $2 AND NOT EXISTS (SELECT 1 FROM patient_segments s \
                 WHERE s.ward = p.ward AND s.team = COALESCE(p.team, '') AND s.patient_key = p.patient_key \
                 AND s.first_hour <= $1 AND s.last_hour >= $1) \
                 ON CONFLICT (ward, team, patient_key, first_hour) DO NOTHING",
            )
            .bind(hour)
            .bind(source_id)
            .execute(&mut *tx)
            .await?;

            // The switch: readers following the source's hour (and
            // current_hour, the newest of all sources') see the new hour
            // from the commit on. An older hour never replaces a newer one.
            let now = Utc::now();
            sqlx::query(
                "INSERT INTO source_hours (source_id, hour, run_id, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (source_id) DO UPDATE SET hour = excluded.hour, run_id = excluded.run_id, \
                 updated_at = excluded.updated_at WHERE source_hours.hour <= excluded.hour",
            )
            .bind(source_id)
            .bind(hour)
            .bind(run_id.0)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO current_hour (id, hour, run_id, updated_at) VALUES (1, $1, $2, $3) \
                 ON CONFLICT (id) DO UPDATE SET hour = excluded.hour, run_id = excluded.run_id, \
                 updated_at = excluded.updated_at WHERE current_hour.hour <= excluded.hour",
            )
            .bind(hour)
            .bind(run_id.0)
            .bind(now)
            .execute(&mut *tx)
            .await?;

            // the lock's holder only: a replica cut off from its lock writes nothing
            if let Some(fence) = fence {
                let (pid, high, low) = fence.params();
                let held: bool = sqlx::query_scalar(FENCE_HELD)
                    .bind(pid)
                    .bind(high)
                    .bind(low)
                    .fetch_one(&mut *tx)
                    .await?;
                if !held {
                    return Err(Error::LockLost);
                }
            }

            tx.commit().await?;
        });
        Ok(())
    }
}

/// The unit rows of a rollup: the hospital (`hospital`: every source's
/// wards of the hour), then each ward, then its teams.
fn unit_rows<'a>(hospital: &'a Totals, rollup: &'a Rollup) -> Vec<(Level, &'a str, &'a str, &'a Totals)> {
    let mut rows = vec![(Level::Hospital, "", "", hospital)];
    for (ward, w) in &rollup.wards {
        rows.push((Level::Ward, ward.as_str(), "", &w.totals));
        for (team, t) in &w.teams {
            rows.push((Level::Team, ward.as_str(), team.as_str(), t));
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::hour_of;

    #[test]
    fn hour_of_truncates_to_the_hour() {
        let t = DateTime::parse_from_rfc3339("2026-11-23T12:34:56.789Z").map(|d| d.with_timezone(&Utc));
        let h = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z").map(|d| d.with_timezone(&Utc));
        assert_eq!(t.map(hour_of).ok(), h.ok());
    }
}
