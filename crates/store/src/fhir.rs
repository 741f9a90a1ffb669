//! The reads behind careload's FHIR R4 output (issue 29,
//! `careload_app::fhir_out`): ward rows ([`Store::fhir_ward_rows`]) and
//! patient rows ([`Store::fhir_patient_rows`]) of a range of hours, each
//! with the instant its hour was written, filtered by that instant, by
//! ward and by pseudonym, and paged by key (`(hour, ward)` and
//! `(hour, patient_key)`, the order of the tables' keys), so that
//! following the pages gives every row once however many there are.
//!
//! When an hour was written is the end of the ingest run that wrote it
//! (`ingest_runs.finished_at`, or its start while it has not been
//! recorded as finished): each hour is written by one run in one
//! transaction, and a patient row names its run. It is found once per hour
//! (the hour's hospital row in `unit_hours` marks that the hour exists),
//! from any of its patient rows; an hour without a single patient has
//! none. A search by that instant alone thus tests each stored hour once
//! (about 17 ms for 60 days of a 1,000-bed hospital on PostgreSQL when no
//! hour matches) and reads the rows of the hours that match; with an hour
//! bound too, only the hours in it. A later page starts at its cursor's
//! hour, so paging does not read earlier hours again.
//!
//! Written once for both backends with `on_pool!`; the conditions a query
//! does not need are left out of its SQL rather than bound as `NULL`, so
//! that PostgreSQL plans each shape with its indexes.

use careload_scoring::snapshot::PatientKey;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row};

use crate::rows::{PATIENT_LIGHT, UNIT_COLUMNS};
use crate::{Level, PatientHour, Result, Store, UnitHour};

/// What one page of [`Store::fhir_ward_rows`] or
/// [`Store::fhir_patient_rows`] selects. Hours are half-open ranges of hour
/// starts; each bound is left out when `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FhirFilter {
    /// Hours starting at or after this.
    pub hour_from: Option<DateTime<Utc>>,
    /// Hours starting before this.
    pub hour_to: Option<DateTime<Utc>>,
    /// Written at or after this.
    pub written_ge: Option<DateTime<Utc>>,
    /// Written after this.
    pub written_gt: Option<DateTime<Utc>>,
    /// Written at or before this.
    pub written_le: Option<DateTime<Utc>>,
    /// Written before this.
    pub written_lt: Option<DateTime<Utc>>,
    /// Only this ward.
    pub ward: Option<String>,
    /// Only this pseudonym (patient rows).
    pub patient: Option<String>,
    /// The page starts after this key: `(hour, ward)` for ward rows,
    /// `(hour, patient_key)` for patient rows.
    pub after: Option<(DateTime<Utc>, String)>,
    /// At most this many rows.
    pub limit: u32,
}

/// A row with the instant its hour was written, if known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written<T> {
    /// The row.
    pub row: T,
    /// When its hour was written (see the module's documentation).
    pub written_at: Option<DateTime<Utc>>,
}

/// Appends `filter`'s conditions on `hour`, `ward`, `patient_key` and the
/// written instant (`written`, an SQL expression) to a query that already
/// has a `WHERE`, then the key, order and limit (`key` is the second key
/// column).
macro_rules! push_filter {
    ($q:expr, $filter:expr, $written:expr, $key:literal) => {{
        let (q, f) = (&mut $q, $filter);
        if let Some(t) = f.hour_from {
            q.push(" AND hour >= ").push_bind(t);
        }
        if let Some(t) = f.hour_to {
            q.push(" AND hour < ").push_bind(t);
        }
        for (op, bound) in [
            (" >= ", f.written_ge),
            (" > ", f.written_gt),
            (" <= ", f.written_le),
            (" < ", f.written_lt),
        ] {
            if let Some(t) = bound {
                q.push(" AND ").push($written).push(op).push_bind(t);
            }
        }
        if let Some(ward) = &f.ward {
            q.push(" AND ward = ").push_bind(ward.clone());
        }
        if let Some(key) = &f.patient {
            q.push(" AND patient_key = ").push_bind(key.clone());
        }
        if let Some((hour, key)) = &f.after {
            // the plain bound first, so that an index on the hour serves a
            // later page as well as the first
            q.push(" AND hour >= ").push_bind(*hour);
            q.push(" AND (hour > ")
                .push_bind(*hour)
                .push(" OR (hour = ")
                .push_bind(*hour)
                .push(concat!(" AND ", $key, " > "))
                .push_bind(key.clone())
                .push("))");
        }
        q.push(concat!(" ORDER BY hour, ", $key, " LIMIT "))
            .push_bind(i64::from(f.limit));
    }};
}

/// Appends the hours `filter` bounds as a derived table `h` (`h_hour`,
/// `written_at`): one row per hour (its hospital row in `unit_hours`) with
/// when it was last written — the latest end of the runs of its patient rows
/// (several sources write one hour, each its own rows: the hour comes again
/// to a poller after each), or a run's start while it is open. Computed once
/// per hour, not per row, so that a search by `_lastUpdated` alone tests
/// each hour once and then reads only the hours that match.
macro_rules! push_hours {
    ($q:expr, $filter:expr) => {{
        let (q, f) = (&mut $q, $filter);
        q.push(
            "(SELECT hr.hour AS h_hour, (SELECT MAX(COALESCE(r.finished_at, r.started_at)) FROM ingest_runs r \
             WHERE r.id IN (SELECT DISTINCT q.run_id FROM patient_hours q WHERE q.hour = hr.hour)) AS written_at \
             FROM unit_hours hr WHERE hr.level = ",
        )
        .push_bind(Level::Hospital.as_str())
        // the hospital's row has ward '': the (level, ward, hour) index's range
        .push(" AND hr.ward = ''");
        if let Some(t) = f.hour_from {
            q.push(" AND hr.hour >= ").push_bind(t);
        }
        // a later page starts at its cursor's hour: no hour before it is read again
        if let Some((t, _)) = &f.after {
            q.push(" AND hr.hour >= ").push_bind(*t);
        }
        if let Some(t) = f.hour_to {
            q.push(" AND hr.hour < ").push_bind(t);
        }
        q.push(") h");
    }};
}

/// A column list with each column qualified by `table` (`p.hour, p.ward`).
fn qualified(table: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{table}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Ward rows (one per ward and hour) that `filter` selects, by hour then
    /// ward, each with when its hour was written. `filter.patient` is
    /// ignored.
    pub async fn fhir_ward_rows(&self, filter: &FhirFilter) -> Result<Vec<Written<UnitHour>>> {
        let filter = FhirFilter {
            patient: None,
            ..filter.clone()
        };
        let select = format!(
            "SELECT * FROM (SELECT {}, h.written_at FROM ",
            qualified("u", UNIT_COLUMNS)
        );
        on_pool!(self, pool => {
            let mut q = QueryBuilder::new(select.as_str());
            push_hours!(q, &filter);
            q.push(" JOIN unit_hours u ON u.hour = h.h_hour WHERE u.level = ")
                .push_bind(Level::Ward.as_str())
                .push(") w WHERE 1 = 1");
            push_filter!(q, &filter, "written_at", "ward");
            let rows = q.build().fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(Written {
                        row: unit_hour!(row),
                        written_at: row.try_get("written_at")?,
                    })
                })
                .collect()
        })
    }

    /// Patient rows (light: no snapshot or score) that `filter` selects, by
    /// hour then pseudonym, each with when its hour was written.
    pub async fn fhir_patient_rows(&self, filter: &FhirFilter) -> Result<Vec<Written<PatientHour>>> {
        let select = format!(
            "SELECT * FROM (SELECT {}, h.written_at FROM ",
            qualified("p", PATIENT_LIGHT)
        );
        on_pool!(self, pool => {
            let mut q = QueryBuilder::new(select.as_str());
            push_hours!(q, filter);
            q.push(" JOIN patient_hours p ON p.hour = h.h_hour) w WHERE 1 = 1");
            push_filter!(q, filter, "written_at", "patient_key");
            let rows = q.build().fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(Written {
                        row: patient_hour!(row),
                        written_at: row.try_get("written_at")?,
                    })
                })
                .collect()
        })
    }

    /// The pseudonyms of every patient row of one hour, hospital-wide: what
    /// an Observation's id is looked up among.
    pub async fn fhir_hour_patients(&self, hour: DateTime<Utc>) -> Result<Vec<PatientKey>> {
        on_pool!(self, pool => {
            let keys: Vec<String> =
                sqlx::query_scalar("SELECT patient_key FROM patient_hours WHERE hour = $1 ORDER BY patient_key")
                    .bind(hour)
                    .fetch_all(pool)
                    .await?;
            Ok(keys.into_iter().map(PatientKey).collect())
        })
    }
}
