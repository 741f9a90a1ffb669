//! Planned staffing: people planned per ward (or team), date, shift and
//! profession, and how many of them are absent — from the scheduling
//! system's CSV export or entered through the API. The planning core
//! (`careload-planning`) validates rows before they come here; the table's
//! CHECK constraints hold the same rules a second time.

use careload_planning::PlannedStaffing;
use chrono::{NaiveDate, Utc};
use sqlx::types::Json;
use sqlx::{QueryBuilder, Row};

use crate::rows::{count, profession, profession_text};
use crate::{Result, Store};

/// Rows per upsert statement (9 parameters each).
const CHUNK: usize = 1000;

impl Store {
    /// Stores planned staffing, all rows or none, each replacing the row
    /// with the same ward, team, date, shift and profession; records one
    /// audit entry (`planned_staffing`, with the row count and `source`) in
    /// the same transaction. Returns the rows written.
    pub async fn put_planned_staffing(&self, rows: &[PlannedStaffing], actor: &str, source: &str) -> Result<u64> {
        let now = Utc::now();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let mut written = 0;
            for chunk in rows.chunks(CHUNK) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO planned_staffing \
                     (ward, team, date, shift, profession, planned, absent, updated_at, updated_by) ",
                );
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(r.ward.as_str())
                        .push_bind(r.team.as_deref().unwrap_or(""))
                        .push_bind(r.date)
                        .push_bind(r.shift.as_str())
                        .push_bind(profession_text(r.profession))
                        .push_bind(i64::from(r.planned))
                        .push_bind(i64::from(r.absent))
                        .push_bind(now)
                        .push_bind(actor);
                });
                q.push(
                    " ON CONFLICT (ward, date, shift, team, profession) DO UPDATE SET planned = excluded.planned, \
                     absent = excluded.absent, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                );
                written += q.build().execute(&mut *tx).await?.rows_affected();
            }
            let detail = serde_json::json!({ "rows": rows.len(), "source": source });
            sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
                .bind(now)
                .bind(actor)
                .bind("planned_staffing")
                .bind(Json(&detail))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(written)
        })
    }

    /// Planned staffing of one ward (or every ward) for dates in
    /// `[from, to]`, by ward, date, shift, team (whole-ward rows first) and
    /// profession.
    pub async fn planned_staffing(
        &self,
        ward: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PlannedStaffing>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT ward, team, date, shift, profession, planned, absent FROM planned_staffing \
                 WHERE ($1 IS NULL OR ward = $1) AND date >= $2 AND date <= $3 \
                 ORDER BY ward, date, shift, team, profession",
            )
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let team: String = row.try_get("team")?;
                    let p: String = row.try_get("profession")?;
                    Ok(PlannedStaffing {
                        ward: row.try_get("ward")?,
                        team: (!team.is_empty()).then_some(team),
                        date: row.try_get("date")?,
                        shift: row.try_get("shift")?,
                        profession: profession(&p)?,
                        planned: count(row.try_get("planned")?)?,
                        absent: count(row.try_get("absent")?)?,
                    })
                })
                .collect()
        })
    }
}
