//! Wards, teams and beds: kept from every hour's placements (which come from
//! the FHIR `Location` tree) and from the configuration.
//!
//! [`Store::write_hour`] upserts the hour's wards, teams and beds in its own
//! transaction (`upsert_units!`), widening `first_seen`/`last_seen`; an older
//! hour written later never moves a bed's team backwards.
//! [`Store::sync_wards`] records what the configuration says at start-up.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::model::{Bed, ConfiguredWard, Team, Ward};
use crate::rows::count;
use crate::{Result, Store};

/// Rows per upsert statement (3 or 4 parameters each).
pub(crate) const UNIT_UPSERT_CHUNK: usize = 2000;

/// `first_seen`/`last_seen` widened to include the new hour, for table `$t`.
macro_rules! widen {
    ($t:literal) => {
        concat!(
            "first_seen = CASE WHEN ",
            $t,
            ".first_seen IS NULL OR excluded.first_seen < ",
            $t,
            ".first_seen THEN excluded.first_seen ELSE ",
            $t,
            ".first_seen END, last_seen = CASE WHEN ",
            $t,
            ".last_seen IS NULL OR excluded.last_seen > ",
            $t,
            ".last_seen THEN excluded.last_seen ELSE ",
            $t,
            ".last_seen END"
        )
    };
}

/// The distinct wards, teams and beds (with the bed's team) of one hour.
pub(crate) struct HourUnits<'a> {
    pub(crate) wards: Vec<&'a str>,
    pub(crate) teams: Vec<(&'a str, &'a str)>,
    pub(crate) beds: Vec<(&'a str, &'a str, Option<&'a str>)>,
}

impl<'a> HourUnits<'a> {
    /// Collects them from the hour's snapshots. Two patients in one bed (a
    /// data error upstream) keep the first one's team.
    pub(crate) fn of(patients: &'a [(careload_scoring::Snapshot, careload_scoring::Score)]) -> HourUnits<'a> {
        let mut wards = BTreeMap::new();
        let mut teams = BTreeMap::new();
        let mut beds = BTreeMap::new();
        for (s, _) in patients {
            let p = &s.placement;
            wards.insert(p.ward.as_str(), ());
            if let Some(team) = p.team.as_deref() {
                teams.insert((p.ward.as_str(), team), ());
            }
            if let Some(bed) = p.bed.as_deref() {
                beds.entry((p.ward.as_str(), bed)).or_insert(p.team.as_deref());
            }
        }
        HourUnits {
            wards: wards.into_keys().collect(),
            teams: teams.into_keys().collect(),
            beds: beds.into_iter().map(|((w, b), t)| (w, b, t)).collect(),
        }
    }
}

/// Upserts one hour's units inside the write transaction `$tx`.
/// A ward's `source_id` is the source that wrote it last.
macro_rules! upsert_units {
    ($tx:expr, $hour:expr, $source_id:expr, $units:expr) => {{
        use $crate::units::UNIT_UPSERT_CHUNK;
        let (hour, source_id, units) = ($hour, $source_id, $units);
        for chunk in units.wards.chunks(UNIT_UPSERT_CHUNK) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO wards (ward, first_seen, last_seen, source_id) ");
            q.push_values(chunk, |mut b, ward| {
                b.push_bind(*ward).push_bind(hour).push_bind(hour).push_bind(source_id);
            });
            q.push(concat!(
                " ON CONFLICT (ward) DO UPDATE SET source_id = excluded.source_id, ",
                $crate::units::widen!("wards")
            ));
            q.build().execute(&mut *$tx).await?;
        }
        for chunk in units.teams.chunks(UNIT_UPSERT_CHUNK) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO teams (ward, team, first_seen, last_seen) ");
            q.push_values(chunk, |mut b, (ward, team)| {
                b.push_bind(*ward).push_bind(*team).push_bind(hour).push_bind(hour);
            });
            q.push(concat!(
                " ON CONFLICT (ward, team) DO UPDATE SET ",
                $crate::units::widen!("teams")
            ));
            q.build().execute(&mut *$tx).await?;
        }
        for chunk in units.beds.chunks(UNIT_UPSERT_CHUNK) {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO beds (ward, bed, team, first_seen, last_seen) ");
            q.push_values(chunk, |mut b, (ward, bed, team)| {
                b.push_bind(*ward)
                    .push_bind(*bed)
                    .push_bind(*team)
                    .push_bind(hour)
                    .push_bind(hour);
            });
            // SET sees the old row, so the team moves only for a newer hour.
            q.push(concat!(
                " ON CONFLICT (ward, bed) DO UPDATE SET \
                 team = CASE WHEN excluded.last_seen >= beds.last_seen THEN excluded.team ELSE beds.team END, ",
                $crate::units::widen!("beds")
            ));
            q.build().execute(&mut *$tx).await?;
        }
    }};
}

pub(crate) use {upsert_units, widen};

impl Store {
    /// Records the configured wards: their names, care categories and bed
    /// counts. Wards the configuration no longer lists keep their history
    /// and are marked not configured.
    pub async fn sync_wards(&self, wards: &[ConfiguredWard]) -> Result<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("UPDATE wards SET configured = FALSE").execute(&mut *tx).await?;
            for w in wards {
                sqlx::query(
                    "INSERT INTO wards (ward, name, care_category, beds, configured) VALUES ($1, $2, $3, $4, TRUE) \
                     ON CONFLICT (ward) DO UPDATE SET name = excluded.name, care_category = excluded.care_category, \
                     beds = excluded.beds, configured = TRUE",
                )
                .bind(&w.ward)
                .bind(w.name.as_deref())
                .bind(w.care_category.as_deref())
                .bind(w.beds.map(i64::from))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Every ward the store knows, by id.
    pub async fn wards(&self) -> Result<Vec<Ward>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT ward, name, care_category, beds, configured, first_seen, last_seen, source_id FROM wards \
                 ORDER BY ward",
            )
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Ward {
                        ward: row.try_get("ward")?,
                        name: row.try_get("name")?,
                        care_category: row.try_get("care_category")?,
                        beds: row.try_get::<Option<i64>, _>("beds")?.map(count).transpose()?,
                        configured: row.try_get("configured")?,
                        first_seen: row.try_get("first_seen")?,
                        last_seen: row.try_get("last_seen")?,
                        source_id: row.try_get("source_id")?,
                    })
                })
                .collect()
        })
    }

    /// A ward's teams seen since `since`, by id.
    pub async fn teams(&self, ward: &str, since: DateTime<Utc>) -> Result<Vec<Team>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT ward, team, first_seen, last_seen FROM teams WHERE ward = $1 AND last_seen >= $2 ORDER BY team",
            )
            .bind(ward)
            .bind(since)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Team {
                        ward: row.try_get("ward")?,
                        team: row.try_get("team")?,
                        first_seen: row.try_get("first_seen")?,
                        last_seen: row.try_get("last_seen")?,
                    })
                })
                .collect()
        })
    }

    /// A ward's beds seen since `since`, by id.
    pub async fn beds(&self, ward: &str, since: DateTime<Utc>) -> Result<Vec<Bed>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT ward, bed, team, first_seen, last_seen FROM beds WHERE ward = $1 AND last_seen >= $2 ORDER BY bed",
            )
            .bind(ward)
            .bind(since)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(Bed {
                        ward: row.try_get("ward")?,
                        bed: row.try_get("bed")?,
                        team: row.try_get("team")?,
                        first_seen: row.try_get("first_seen")?,
                        last_seen: row.try_get("last_seen")?,
                    })
                })
                .collect()
        })
    }
}
