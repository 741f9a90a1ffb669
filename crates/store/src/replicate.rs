//! Filling a store with a long history fast, for the readers' benchmarks
//! ("a ward's five days, with a year present"): one real hour's rows are
//! copied to earlier hours by the database itself, without round trips.
//!
//! Never used by the service: a benchmark's database is a throw-away one.

use chrono::{DateTime, Duration, Utc};

use crate::{Error, Result, Store, hour_of};

/// Hours copied per statement.
const HOURS_PER_STATEMENT: u32 = 24;

/// The patient columns copied unchanged.
const KEPT: &str = "patient_key, ward, team, bed, run_id, weights_version, total_milli, usk_milli, ssk_milli, \
    medications_milli, orders_milli, basic_nursing_milli, specific_nursing_milli, news2_milli, \
    emotional_support_milli, care_plans_milli, diagnoses_milli, modifiers_milli, unmatched, source_id";

/// The unit columns copied unchanged.
const UNIT_KEPT: &str = "level, ward, team, patients, total_milli, usk_milli, ssk_milli, medications_milli, \
    orders_milli, basic_nursing_milli, specific_nursing_milli, news2_milli, emotional_support_milli, care_plans_milli, \
    diagnoses_milli, modifiers_milli, unmatched, weights_version, q_assessed, q_norton_stale, q_news2_overdue, \
    q_activities, q_activities_no_due, q_activities_generic, q_thin, source_id";

impl Store {
    /// Copies the patient and unit rows of hour `template` to each of the
    /// `hours` hours before it (hour k back gets `hour − k` and
    /// `as_of − k`). Copies more than `full_hours` back store `{}` in place
    /// of the snapshot and score, so that a year of a large hospital fits on
    /// a benchmark machine's disk: the history readers read only the other
    /// columns, and the patient detail of those hours cannot be read.
    /// Hours that already have rows are refused.
    ///
    /// Returns the patient rows written.
    pub async fn replicate_hour(&self, template: DateTime<Utc>, hours: u32, full_hours: u32) -> Result<u64> {
        if template != hour_of(template) {
            return Err(Error::Invalid(format!(
                "template {template} is not the start of an hour"
            )));
        }
        let oldest = template - Duration::hours(i64::from(hours));
        self.ensure_partitions(oldest, template).await?;
        let mut written = 0;
        let mut first = 1;
        while first <= hours {
            let last = (first + HOURS_PER_STATEMENT - 1).min(hours);
            written += self.replicate_span(template, first, last, full_hours).await?;
            first = last + 1;
        }
        // the template's patients were there every copied hour: their
        // segments (which start at the template, nothing being before it)
        // now start at the oldest copy
        if hours > 0 {
            on_pool!(self, pool => {
                sqlx::query(
                    "UPDATE patient_segments SET first_hour = $2 WHERE first_hour = $1 AND EXISTS ( \
                     SELECT 1 FROM patient_hours p WHERE p.hour = $1 AND p.patient_key = patient_segments.patient_key \
                     AND p.ward = patient_segments.ward AND COALESCE(p.team, '') = patient_segments.team)",
                )
                .bind(template)
                .bind(oldest)
                .execute(pool)
                .await?;
            });
        }
        Ok(written)
    }

    /// Copies `template` to the hours `first..=last` back, in one transaction.
    async fn replicate_span(&self, template: DateTime<Utc>, first: u32, last: u32, full_hours: u32) -> Result<u64> {
        let int = |v: u32| i32::try_from(v).map_err(|_| Error::Invalid(format!("{v} hours is too many to replicate")));
        let (first, last, full) = (int(first)?, int(last)?, int(full_hours)?);
        let taken = |n: i64| -> Result<()> {
            if n > 0 {
                return Err(Error::Invalid(format!(
                    "{n} hours between {} and {} already have rows; replicate into an empty history",
                    template - Duration::hours(i64::from(last)),
                    template - Duration::hours(i64::from(first))
                )));
            }
            Ok(())
        };
        let (patients, units) = (
            self.dialect().replicate_patients(KEPT),
            self.dialect().replicate_units(UNIT_KEPT),
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let n: i64 =
                sqlx::query_scalar("SELECT count(DISTINCT hour) FROM unit_hours WHERE hour >= $1 AND hour <= $2")
                    .bind(template - Duration::hours(i64::from(last)))
                    .bind(template - Duration::hours(i64::from(first)))
                    .fetch_one(&mut *tx)
                    .await?;
            taken(n)?;
            let rows = sqlx::query(&patients)
                .bind(template)
                .bind(first)
                .bind(last)
                .bind(full)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(&units)
                .bind(template)
                .bind(first)
                .bind(last)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(rows)
        })
    }
}
