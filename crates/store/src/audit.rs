//! What is on record besides the hours: the weights versions as loaded
//! (refusing an edited file under a recorded version) and the audit log.

use careload_scoring::Weights;
use chrono::Utc;
use sqlx::Row;
use sqlx::types::Json;

use crate::{AuditEntry, Error, Result, Store, WeightsVersion};

impl Store {
    /// Records a weights version. Returns `true` when it is new, `false` when
    /// the same version with the same digest was already recorded; the same
    /// version with another digest is [`Error::WeightsChanged`].
    pub async fn record_weights(&self, weights: &Weights) -> Result<bool> {
        let m = &weights.meta;
        let stored: Option<String> = on_pool!(self, pool => {
            // Insert once; a second load of the same version changes nothing.
            let inserted = sqlx::query(
                "INSERT INTO weights_versions \
                 (version, format, digest, effective_from, decided_by, meeting_reference, notes, loaded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (version) DO NOTHING",
            )
            .bind(&m.version)
            .bind(i32::try_from(weights.format).unwrap_or(i32::MAX))
            .bind(&weights.digest)
            .bind(m.effective_from)
            .bind(&m.decided_by)
            .bind(&m.meeting_reference)
            .bind(&m.notes)
            .bind(Utc::now())
            .execute(pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                None
            } else {
                Some(
                    sqlx::query_scalar("SELECT digest FROM weights_versions WHERE version = $1")
                        .bind(&m.version)
                        .fetch_one(pool)
                        .await?,
                )
            }
        });
        match stored {
            None => Ok(true),
            Some(stored) if stored == weights.digest => Ok(false),
            Some(stored) => Err(Error::WeightsChanged {
                version: m.version.clone(),
                stored,
                given: weights.digest.clone(),
            }),
        }
    }

    /// Every weights version on record, by effective date.
    pub async fn weights_versions(&self) -> Result<Vec<WeightsVersion>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT version, format, digest, effective_from, decided_by, meeting_reference, notes, loaded_at \
                 FROM weights_versions ORDER BY effective_from, version",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(WeightsVersion {
                        version: row.try_get("version")?,
                        format: u32::try_from(row.try_get::<i32, _>("format")?).unwrap_or_default(),
                        digest: row.try_get("digest")?,
                        effective_from: row.try_get("effective_from")?,
                        decided_by: row.try_get("decided_by")?,
                        meeting_reference: row.try_get("meeting_reference")?,
                        notes: row.try_get("notes")?,
                        loaded_at: row.try_get("loaded_at")?,
                    })
                })
                .collect()
        })
    }

    /// Writes an audit entry; returns its id. `detail` must hold no patient
    /// data.
    pub async fn audit(&self, actor: &str, action: &str, detail: &serde_json::Value) -> Result<i64> {
        on_pool!(self, pool => {
            Ok(sqlx::query_scalar("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4) RETURNING id")
                .bind(Utc::now())
                .bind(actor)
                .bind(action)
                .bind(Json(detail))
                .fetch_one(pool)
                .await?)
        })
    }

    /// The most recent audit entries, newest first.
    pub async fn audit_entries(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        on_pool!(self, pool => {
            let rows = sqlx::query("SELECT id, at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|row| {
                    let Json(detail) = row.try_get("detail")?;
                    Ok(AuditEntry {
                        id: row.try_get("id")?,
                        at: row.try_get("at")?,
                        actor: row.try_get("actor")?,
                        action: row.try_get("action")?,
                        detail,
                    })
                })
                .collect()
        })
    }
}
