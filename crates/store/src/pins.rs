//! Pinned patients: a shift leader keeps a patient in their team when the
//! ward's teams are balanced (continuity, isolation). A pin belongs to one
//! ward, one patient pseudonym and one stay (its admission time), so it
//! never carries over to a later stay; each change is audited in the same
//! transaction (migration 7). Which pins apply now is the caller's question:
//! [`Store::pins`] gives them all, the API keeps those whose stay is on the
//! ward at the hour shown.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::types::Json;

use crate::{Error, Result, Store};

/// One pinned patient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// The ward.
    pub ward: String,
    /// The patient's pseudonym.
    pub patient_key: String,
    /// The pinned stay's admission time.
    pub admitted_at: DateTime<Utc>,
    /// When the pin was set.
    pub pinned_at: DateTime<Utc>,
    /// Who set it (the token's name).
    pub pinned_by: String,
}

impl Store {
    /// Pins (`pinned`) or unpins a patient's stay on `ward`, with an audit
    /// entry (`planning.pin` / `planning.unpin`) in the same transaction.
    /// Pinning a later stay of the same patient replaces the pin (stay, time
    /// and actor). Returns whether anything changed: pinning a stay that is
    /// pinned, or unpinning a patient that is not, changes nothing and
    /// writes no audit entry.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty ward, key or actor; the database failing.
    pub async fn set_pin(
        &self,
        ward: &str,
        patient_key: &str,
        admitted_at: DateTime<Utc>,
        pinned: bool,
        actor: &str,
    ) -> Result<bool> {
        for (what, value) in [("ward", ward), ("patient key", patient_key), ("actor", actor)] {
            if value.trim().is_empty() {
                return Err(Error::Invalid(format!("the pin's {what} is empty")));
            }
        }
        let now = Utc::now();
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = if pinned {
                sqlx::query(
                    "INSERT INTO balance_pins (ward, patient_key, admitted_at, pinned_at, pinned_by) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (ward, patient_key) DO UPDATE SET \
                     admitted_at = excluded.admitted_at, pinned_at = excluded.pinned_at, pinned_by = excluded.pinned_by \
                     WHERE balance_pins.admitted_at <> excluded.admitted_at",
                )
                .bind(ward)
                .bind(patient_key)
                .bind(admitted_at)
                .bind(now)
                .bind(actor)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            } else {
                sqlx::query("DELETE FROM balance_pins WHERE ward = $1 AND patient_key = $2")
                    .bind(ward)
                    .bind(patient_key)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
            } > 0;
            if changed {
                let detail = serde_json::json!({ "ward": ward, "patient": patient_key });
                sqlx::query("INSERT INTO audit_log (at, actor, action, detail) VALUES ($1, $2, $3, $4)")
                    .bind(now)
                    .bind(actor)
                    .bind(if pinned { "planning.pin" } else { "planning.unpin" })
                    .bind(Json(&detail))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Every pin on `ward`, by patient key.
    pub async fn pins(&self, ward: &str) -> Result<Vec<Pin>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT ward, patient_key, admitted_at, pinned_at, pinned_by FROM balance_pins \
                 WHERE ward = $1 ORDER BY patient_key",
            )
            .bind(ward)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Pin {
                        ward: row.try_get("ward")?,
                        patient_key: row.try_get("patient_key")?,
                        admitted_at: row.try_get("admitted_at")?,
                        pinned_at: row.try_get("pinned_at")?,
                        pinned_by: row.try_get("pinned_by")?,
                    })
                })
                .collect()
        })
    }
}
