//! Council decisions on weights: `careload weights activate` records a
//! version with the file itself, who decided it and where, in one
//! transaction with its audit entry; the hourly run asks which activation is
//! in force for an hour's local date (migration 6).

use careload_scoring::Weights;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::types::Json;

use crate::{Error, Result, Store};

/// One activation on record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Its id, increasing.
    pub id: i64,
    /// The weights version.
    pub version: String,
    /// The first local date it scores.
    pub effective_from: NaiveDate,
    /// When it was recorded.
    pub activated_at: DateTime<Utc>,
    /// Who recorded the council's decision.
    pub activated_by: String,
    /// The decision's reference (minutes, case number).
    pub reference: String,
    /// The weights file as decided (its SHA-256 is the version's digest).
    #[serde(skip)]
    pub weights_toml: String,
}

impl Store {
    /// Records the council's decision to put `weights` (parsed from `toml`)
    /// in force from its `meta.effective_from`: the version (refused if the
    /// same version is on record with another digest), the activation and an
    /// audit entry `weights.activate`, all or nothing.
    ///
    /// # Errors
    /// [`Error::WeightsChanged`] for an edited file under a recorded version;
    /// [`Error::Invalid`] for an empty name or reference; the database failing.
    pub async fn activate_weights(
        &self,
        weights: &Weights,
        toml: &str,
        by: &str,
        reference: &str,
    ) -> Result<Activation> {
        if by.trim().is_empty() {
            return Err(Error::Invalid(
                "who activates is empty; give the name of the person recording the decision".into(),
            ));
        }
        if reference.trim().is_empty() {
            return Err(Error::Invalid(
                "the decision's reference is empty; give the council's minutes or case number".into(),
            ));
        }
        // the version row first (idempotent; refuses an edited file)
        self.record_weights(weights).await?;
        let now = Utc::now();
        let m = &weights.meta;
        let detail = serde_json::json!({
            "version": m.version,
            "digest": weights.digest,
            "effective_from": m.effective_from,
            "decided_by": m.decided_by,
            "meeting_reference": m.meeting_reference,
            "reference": reference,
        });
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO weights_activations \
                 (version, effective_from, activated_at, activated_by, reference, weights_toml) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(&m.version)
            .bind(m.effective_from)
            .bind(now)
            .bind(by)
            .bind(reference)
            .bind(toml)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
                .bind(now)
                .bind(by)
                .bind("weights.activate")
                .bind(Json(&detail))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Activation {
                id,
                version: m.version.clone(),
                effective_from: m.effective_from,
                activated_at: now,
                activated_by: by.to_owned(),
                reference: reference.to_owned(),
                weights_toml: toml.to_owned(),
            })
        })
    }

    /// Every activation, oldest first (without the files).
    pub async fn activations(&self) -> Result<Vec<Activation>> {
        self.activations_where("", None).await
    }

    /// The activation in force on local date `date`: the latest effective
    /// date on or before it, the latest activation on a tie; with the file.
    pub async fn activation_for(&self, date: NaiveDate) -> Result<Option<Activation>> {
        Ok(self
            .activations_where(
                " WHERE effective_from <= $1 ORDER BY effective_from DESC, id DESC LIMIT 1",
                Some(date),
            )
            .await?
            .pop())
    }

    async fn activations_where(&self, tail: &str, date: Option<NaiveDate>) -> Result<Vec<Activation>> {
        let sql = format!(
            "SELECT id, version, effective_from, activated_at, activated_by, reference, weights_toml \
             FROM weights_activations{}",
            if tail.is_empty() { " ORDER BY id" } else { tail }
        );
        on_pool!(self, pool => {
            let mut q = sqlx::query(&sql);
            if let Some(d) = date {
                q = q.bind(d);
            }
            let rows = q.fetch_all(pool).await?;
            rows.iter()
                .map(|row| {
                    Ok(Activation {
                        id: row.try_get("id")?,
                        version: row.try_get("version")?,
                        effective_from: row.try_get("effective_from")?,
                        activated_at: row.try_get("activated_at")?,
                        activated_by: row.try_get("activated_by")?,
                        reference: row.try_get("reference")?,
                        weights_toml: row.try_get("weights_toml")?,
                    })
                })
                .collect()
        })
    }
}
