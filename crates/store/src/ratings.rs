//! The staff's ratings of their shifts (issue 27): after a shift, the people
//! who worked it rate its workload from −3 to +3 (0 = optimal, the PAONCIL
//! scale), per ward and optionally per team and profession. Regressed on the
//! shift's points per person present, the ratings give a ward's optimal
//! points per person.
//!
//! A rating is anonymous by construction: the table has no column for who
//! gave it (no token name, address, device or free text). The application
//! layer checks a rating before it comes here (the shift, the window it may
//! be given in, the limit per shift); the table's CHECK constraints hold the
//! rating's range, the profession and the source a second time, so a row
//! out of range is [`Error::Constraint`] (`check`) and nothing is stored.
//! Retention (`purge_before`) removes ratings of shifts that started before
//! the cutoff.

use std::fmt;
use std::str::FromStr;

use careload_scoring::snapshot::Profession;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::rows::{profession, profession_text, unsigned};
use crate::{Error, Result, Store};

/// A stored rating's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct RatingId(pub i64);

impl fmt::Display for RatingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a rating came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub enum RatingSource {
    /// The ward's touch screen.
    #[serde(rename = "screen")]
    Screen,
    /// A phone (the mobile rating page).
    #[serde(rename = "phone")]
    Phone,
    /// Collected on paper and imported.
    #[serde(rename = "paper import")]
    PaperImport,
}

impl RatingSource {
    /// Every source.
    pub const ALL: [RatingSource; 3] = [RatingSource::Screen, RatingSource::Phone, RatingSource::PaperImport];

    /// As stored: `screen`, `phone`, `paper import`.
    pub fn as_str(self) -> &'static str {
        match self {
            RatingSource::Screen => "screen",
            RatingSource::Phone => "phone",
            RatingSource::PaperImport => "paper import",
        }
    }
}

impl fmt::Display for RatingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RatingSource {
    type Err = Error;

    fn from_str(s: &str) -> Result<RatingSource> {
        RatingSource::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            Error::Invalid(format!(
                "rating source {s:?} is unknown; use screen, phone or paper import"
            ))
        })
    }
}

/// A rating to store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewRating {
    /// The ward.
    pub ward: String,
    /// The team rated; `None` for the whole ward.
    pub team: Option<String>,
    /// The shift's start (UTC).
    pub shift_start: DateTime<Utc>,
    /// The shift's name in the ward's shift plan (`day`, `evening`, `night`).
    pub shift: String,
    /// The rater's profession, when given.
    pub profession: Option<Profession>,
    /// −3 … +3, 0 = optimal (the database refuses anything else).
    pub rating: i8,
    /// Where it came from.
    pub source: RatingSource,
    /// When careload received it.
    pub received_at: DateTime<Utc>,
}

/// A stored rating.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Its id (in the order received).
    pub id: RatingId,
    /// What was stored.
    #[serde(flatten)]
    pub rating: NewRating,
}

/// The insert of one rating, returning its id.
const INSERT: &str = "INSERT INTO shift_ratings \
    (ward, team, shift_start, shift, profession, rating, source, received_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id";

/// Runs [`INSERT`] for `$r` on executor `$e`; the rating's id.
macro_rules! insert_rating {
    ($e:expr, $r:expr) => {{
        let r: &NewRating = $r;
        let id: i64 = sqlx::query_scalar(INSERT)
            .bind(r.ward.as_str())
            .bind(r.team.as_deref())
            .bind(r.shift_start)
            .bind(r.shift.as_str())
            .bind(r.profession.map(profession_text))
            .bind(i32::from(r.rating))
            .bind(r.source.as_str())
            .bind(r.received_at)
            .fetch_one($e)
            .await?;
        RatingId(id)
    }};
}

impl Store {
    /// Stores one rating; its id.
    ///
    /// # Errors
    /// [`Error::Constraint`] (`check`) for a rating outside −3 … +3; the
    /// database failing.
    pub async fn put_rating(&self, rating: &NewRating) -> Result<RatingId> {
        on_pool!(self, pool => Ok(insert_rating!(pool, rating)))
    }

    /// Stores ratings all or none, in one transaction (the paper import):
    /// one bad row and nothing is kept. Returns how many were stored.
    ///
    /// # Errors
    /// As [`Store::put_rating`], for the first bad row.
    pub async fn put_ratings(&self, ratings: &[NewRating]) -> Result<u64> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for r in ratings {
                insert_rating!(&mut *tx, r);
            }
            tx.commit().await?;
        });
        Ok(ratings.len() as u64)
    }

    /// The ratings of `ward`'s shifts starting in `[from, to)`, by shift
    /// start, then in the order received.
    pub async fn ratings(&self, ward: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Rating>> {
        on_pool!(self, pool => {
            let rows = sqlx::query(
                "SELECT id, ward, team, shift_start, shift, profession, rating, source, received_at \
                 FROM shift_ratings WHERE ward = $1 AND shift_start >= $2 AND shift_start < $3 \
                 ORDER BY shift_start, id",
            )
            .bind(ward)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    let p: Option<String> = row.try_get("profession")?;
                    let rating: i32 = row.try_get("rating")?;
                    let source: String = row.try_get("source")?;
                    Ok(Rating {
                        id: RatingId(row.try_get("id")?),
                        rating: NewRating {
                            ward: row.try_get("ward")?,
                            team: row.try_get("team")?,
                            shift_start: row.try_get("shift_start")?,
                            shift: row.try_get("shift")?,
                            profession: p.as_deref().map(profession).transpose()?,
                            rating: i8::try_from(rating)
                                .map_err(|_| Error::Invalid(format!("stored rating {rating} is out of range")))?,
                            source: source.parse()?,
                            received_at: row.try_get("received_at")?,
                        },
                    })
                })
                .collect()
        })
    }

    /// How many ratings the shift of `ward` starting at `shift_start` has
    /// (every team and profession): for the limit per shift.
    pub async fn rating_count(&self, ward: &str, shift_start: DateTime<Utc>) -> Result<u64> {
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT count(*) FROM shift_ratings WHERE ward = $1 AND shift_start = $2")
                .bind(ward)
                .bind(shift_start)
                .fetch_one(pool)
                .await?
        });
        unsigned(n)
    }
}
