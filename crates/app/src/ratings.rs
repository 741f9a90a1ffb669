//! The staff's rating of a shift's workload (issue 27, the PAONCIL scale):
//! −3 … +3, 0 = optimal, given after the shift on the ward's screen or a
//! phone. [`rate`] checks one and stores it; the front doors (the rating
//! page, the API) come on top.
//!
//! # The rules
//!
//! * The ward is known (configured or in the data); the team, when given,
//!   is one of the ward's (by id or display name, stored by id); the rating
//!   is an integer from −3 to +3.
//! * The shift comes from the ward's shift plan in the hospital's zone
//!   ([`ShiftChoice`]): by default the shift that ended most recently (a
//!   rating is given after the shift).
//! * A rating is accepted from the shift's start until [`LATE_HOURS`] hours
//!   after its end, and refused after with the time it closed.
//! * **A limit per shift**, so one device cannot stuff the ballot: at most
//!   the people present on the shift (planned minus absent, every team, from
//!   the stored planned staffing) plus [`RATING_SLACK`] ratings, and when a
//!   profession is given, at most that profession's people present plus
//!   [`RATING_SLACK`] ratings from it; a shift without any stored plan takes
//!   at most [`RATING_CAP_WITHOUT_PLAN`]. Beyond it a rating is refused with
//!   the limit and where it comes from. (The count and the write are two
//!   statements: two ratings at the same instant may pass the last place
//!   together, one over the limit at most per concurrent request.)
//!
//! Ratings are anonymous: nothing of who sent one (token, address, device)
//! is passed to the store.

use careload_scoring::shift::ShiftWindow;
use careload_scoring::snapshot::Profession;
use careload_store::{NewRating, RatingId, RatingSource};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::query::known_ward;
use crate::{App, Error, Result};

/// Hours after a shift's end during which its ratings are still accepted.
pub const LATE_HOURS: i64 = 24;

/// Ratings a shift takes beyond the people present on it (a colleague from
/// another ward, someone who stayed on, a plan not updated for an extra).
pub const RATING_SLACK: u32 = 2;

/// Ratings a shift takes when no planned staffing is stored for it.
pub const RATING_CAP_WITHOUT_PLAN: u32 = 30;

/// The lowest and highest rating (PAONCIL: −3 much too light … +3 much too
/// heavy, 0 = optimal).
pub const RATING_RANGE: (i8, i8) = (-3, 3);

/// Which shift a rating is for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShiftChoice {
    /// The ward's shift that ended most recently.
    #[default]
    LastEnded,
    /// The latest shift with this name (`day`, `evening`, `night`) that has
    /// started: the one going on, else the last one.
    Named(String),
    /// The shift starting at this instant.
    StartingAt(DateTime<Utc>),
}

/// A rating as sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingInput {
    /// The ward.
    pub ward: String,
    /// The team (id or display name); `None` for the whole ward.
    pub team: Option<String>,
    /// The shift rated.
    pub shift: ShiftChoice,
    /// The rater's profession, when given.
    pub profession: Option<Profession>,
    /// −3 … +3.
    pub rating: i64,
    /// Where it came from.
    pub source: RatingSource,
}

/// A rating stored, and the shift it counts for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Accepted {
    /// The stored rating's id.
    pub id: RatingId,
    /// The ward.
    pub ward: String,
    /// The team's id; `None` for the whole ward.
    pub team: Option<String>,
    /// The team's display name.
    pub team_name: Option<String>,
    /// The shift's name.
    pub shift: String,
    /// Its start (UTC).
    pub start: DateTime<Utc>,
    /// Its end (UTC).
    pub end: DateTime<Utc>,
    /// Its start in the hospital's zone.
    pub local_start: NaiveDateTime,
    /// Its end in the hospital's zone.
    pub local_end: NaiveDateTime,
    /// The shift's ratings now, this one included.
    pub ratings: u64,
    /// The most ratings the shift takes (see the module's docs).
    pub limit: u64,
}

/// Checks a rating against the rules (see the module's docs) and stores it,
/// received at `now`.
///
/// # Errors
/// [`Error::UnknownWard`]; [`Error::BadQuery`] (`team`, `rating`, `shift`)
/// for a team not of the ward, a rating outside −3 … +3, a shift name not
/// in the ward's plan or an instant no shift starts at;
/// [`Error::Unprocessable`] for a shift not started yet, one whose ratings
/// closed ([`LATE_HOURS`] after its end), or a shift at its limit.
pub async fn rate(app: &App, input: &RatingInput, now: DateTime<Utc>) -> Result<Accepted> {
    let ward = input.ward.trim();
    let hour = app.store.current_hour().await?.map(|c| c.hour);
    known_ward(app, ward, hour).await?;
    let team = match input.team.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => Some(team_of(app, ward, t).await?),
        None => None,
    };
    let (low, high) = RATING_RANGE;
    let rating = i8::try_from(input.rating)
        .ok()
        .filter(|r| (low..=high).contains(r))
        .ok_or_else(|| Error::BadQuery {
            param: "rating",
            hint: format!(
                "{} is not a rating; send a whole number from −3 (much too light) to +3 (much too heavy), 0 = \
                 optimal",
                input.rating
            ),
        })?;
    let shift = resolve_shift(app, ward, &input.shift, now)?;
    open_for(&shift, app, now)?;
    let limit = limit(app, ward, &shift, input.profession).await?;
    let count = app.store.rating_count(ward, shift.window.start).await?;
    if count >= limit.total {
        return Err(Error::Unprocessable {
            hint: format!(
                "the {} shift of {} has all the ratings it takes ({count} of {}: {}); nothing was stored",
                shift.name,
                local(&shift.window.start, app),
                limit.total,
                limit.why,
            ),
        });
    }
    if let (Some(p), Some(max)) = (input.profession, limit.profession) {
        let of_profession = app
            .store
            .ratings(ward, shift.window.start, shift.window.start + Duration::seconds(1))
            .await?
            .iter()
            .filter(|r| r.rating.profession == Some(p))
            .count() as u64;
        if of_profession >= max {
            return Err(Error::Unprocessable {
                hint: format!(
                    "the {} shift of {} has all the {} ratings it takes ({of_profession} of {max}: the {} {} \
                     present in the planned staffing plus {RATING_SLACK}); nothing was stored",
                    shift.name,
                    local(&shift.window.start, app),
                    profession_name(p),
                    max.saturating_sub(u64::from(RATING_SLACK)),
                    profession_name(p),
                ),
            });
        }
    }
    let id = app
        .store
        .put_rating(&NewRating {
            ward: ward.to_owned(),
            team: team.clone(),
            shift_start: shift.window.start,
            shift: shift.name.clone(),
            profession: input.profession,
            rating,
            source: input.source,
            received_at: now,
        })
        .await?;
    Ok(Accepted {
        id,
        ward: ward.to_owned(),
        team_name: team.as_deref().map(|t| app.team_name(ward, t)),
        team,
        shift: shift.name.clone(),
        start: shift.window.start,
        end: shift.window.end,
        local_start: local(&shift.window.start, app),
        local_end: local(&shift.window.end, app),
        ratings: count + 1,
        limit: limit.total,
    })
}

/// `USK` or `SSK`.
fn profession_name(p: Profession) -> &'static str {
    match p {
        Profession::Usk => "USK",
        Profession::Ssk => "SSK",
    }
}

/// An instant in the hospital's zone.
fn local(t: &DateTime<Utc>, app: &App) -> NaiveDateTime {
    t.with_timezone(&app.tz()).naive_local()
}

/// The team id `sent` names on `ward`: a team seen in the data or
/// configured (`[wards.<id>.teams]`, `rooms`), by id or display name.
async fn team_of(app: &App, ward: &str, sent: &str) -> Result<String> {
    let mut ids: Vec<String> = app
        .store
        .teams(ward, DateTime::<Utc>::UNIX_EPOCH)
        .await?
        .into_iter()
        .map(|t| t.team)
        .collect();
    if let Some(c) = app.config.wards.get(ward) {
        ids.extend(c.teams.keys().cloned());
        ids.extend(c.rooms.values().cloned());
    }
    ids.sort();
    ids.dedup();
    if let Some(id) = ids.iter().find(|id| *id == sent || app.team_name(ward, id) == sent) {
        return Ok(id.clone());
    }
    Err(Error::BadQuery {
        param: "team",
        hint: if ids.is_empty() {
            format!("ward {ward} has no teams; send no team to rate the whole ward")
        } else {
            format!(
                "{sent:?} is not a team of ward {ward}; send one of {}, or no team for the whole ward",
                ids.join(", ")
            )
        },
    })
}

/// The shift `choice` names on `ward` at `now`.
fn resolve_shift(app: &App, ward: &str, choice: &ShiftChoice, now: DateTime<Utc>) -> Result<ShiftWindow> {
    let plan = app.shift_plan(ward)?;
    let tz = app.tz();
    match choice {
        ShiftChoice::LastEnded => {
            let current = plan.shift_at(now, &tz);
            Ok(plan.shift_at(current.window.start - Duration::seconds(1), &tz))
        }
        ShiftChoice::Named(name) => {
            let today = now.with_timezone(&tz).date_naive();
            let mut latest: Option<ShiftWindow> = None;
            for days in 0..=2 {
                let w = plan
                    .window(today - Duration::days(days), name.trim(), &tz)
                    .map_err(|e| Error::BadQuery {
                        param: "shift",
                        hint: format!("{e}; name a shift of ward {ward}'s plan, or none for the one that ended last"),
                    })?;
                if w.window.start <= now && latest.as_ref().is_none_or(|l| w.window.start > l.window.start) {
                    latest = Some(w);
                }
            }
            latest.ok_or_else(|| Error::Internal(format!("no {name} shift of ward {ward} started in three days")))
        }
        ShiftChoice::StartingAt(t) => {
            let w = plan.shift_at(*t, &tz);
            if w.window.start == *t {
                return Ok(w);
            }
            Err(Error::BadQuery {
                param: "shift",
                hint: format!(
                    "no shift of ward {ward} starts at {t}; the {} shift starting at {} (local {}) holds it",
                    w.name,
                    w.window.start.to_rfc3339(),
                    local(&w.window.start, app),
                ),
            })
        }
    }
}

/// Whether `shift` takes ratings at `now`: from its start until
/// [`LATE_HOURS`] after its end.
fn open_for(shift: &ShiftWindow, app: &App, now: DateTime<Utc>) -> Result<()> {
    let closes = shift.window.end + Duration::hours(LATE_HOURS);
    if now < shift.window.start {
        return Err(Error::Unprocessable {
            hint: format!(
                "the {} shift of {} has not started; a shift is rated from its start until {LATE_HOURS} h after its \
                 end",
                shift.name,
                local(&shift.window.start, app),
            ),
        });
    }
    if now >= closes {
        return Err(Error::Unprocessable {
            hint: format!(
                "ratings of the {} shift of {} closed at {} ({LATE_HOURS} h after its end; late ratings are accepted \
                 for {LATE_HOURS} h); nothing was stored",
                shift.name,
                local(&shift.window.start, app),
                local(&closes, app),
            ),
        });
    }
    Ok(())
}

/// The most ratings a shift takes, and why.
struct Limit {
    /// Every rating of the shift.
    total: u64,
    /// Ratings from the profession given, when a plan is stored.
    profession: Option<u64>,
    /// Where `total` comes from, in words.
    why: String,
}

/// The limit of `shift` on `ward` (see the module's docs).
async fn limit(app: &App, ward: &str, shift: &ShiftWindow, profession: Option<Profession>) -> Result<Limit> {
    let rows: Vec<_> = app
        .store
        .planned_staffing(Some(ward), shift.date, shift.date)
        .await?
        .into_iter()
        .filter(|r| r.shift == shift.name)
        .collect();
    if rows.is_empty() {
        return Ok(Limit {
            total: u64::from(RATING_CAP_WITHOUT_PLAN),
            profession: None,
            why: format!("no planned staffing is stored for the shift, so at most {RATING_CAP_WITHOUT_PLAN}"),
        });
    }
    let present = |p: Option<Profession>| -> u64 {
        rows.iter()
            .filter(|r| p.is_none_or(|p| r.profession == p))
            .map(|r| u64::from(r.planned.saturating_sub(r.absent)))
            .sum()
    };
    let all = present(None);
    Ok(Limit {
        total: all + u64::from(RATING_SLACK),
        profession: profession.map(|p| present(Some(p)) + u64::from(RATING_SLACK)),
        why: format!("the {all} present in the planned staffing plus {RATING_SLACK}"),
    })
}
