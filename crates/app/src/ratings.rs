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

use crate::calibration::MIN_GROUP;
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

/// A rating as the API takes it (`POST /api/v1/wards/{id}/ratings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// The team (id or display name); none for the whole ward.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// A shift name of the ward's plan: the latest such shift that started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift: Option<String>,
    /// The start of the shift rated (RFC 3339); instead of `shift`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shift_start: Option<DateTime<Utc>>,
    /// The rater's profession, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profession: Option<Profession>,
    /// −3 … +3, 0 = optimal.
    pub rating: i64,
}

impl RatingRequest {
    /// The rating for `ward` from `source`.
    ///
    /// # Errors
    /// [`Error::BadQuery`] (`shift`) when both `shift` and `shift_start` are given.
    pub fn input(&self, ward: &str, source: RatingSource) -> Result<RatingInput> {
        let shift = match (&self.shift, self.shift_start) {
            (Some(_), Some(_)) => {
                return Err(Error::BadQuery {
                    param: "shift",
                    hint: "send shift (a name) or shift_start (an instant), not both".into(),
                });
            }
            (Some(name), None) => ShiftChoice::Named(name.clone()),
            (None, Some(t)) => ShiftChoice::StartingAt(t),
            (None, None) => ShiftChoice::LastEnded,
        };
        Ok(RatingInput {
            ward: ward.to_owned(),
            team: self.team.clone(),
            shift,
            profession: self.profession,
            rating: self.rating,
            source,
        })
    }
}

/// A rating stored, and the shift it counts for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "RatingAccepted")]
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
    let shown = crate::query::Shown::read(app).await?;
    known_ward(app, ward, &shown).await?;
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
    let ids = app.team_ids(ward).await?;
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

// ------------------------------------------ the rating page, the list, the paper import

/// A shift the rating page offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ShiftOffer {
    /// The shift's name in the ward's plan.
    pub name: String,
    /// Its start (UTC): what the page sends back.
    pub start: DateTime<Utc>,
    /// Its end (UTC).
    pub end: DateTime<Utc>,
    /// Its start in the hospital's zone.
    pub local_start: NaiveDateTime,
    /// Its end in the hospital's zone.
    pub local_end: NaiveDateTime,
    /// Going on now (not ended yet).
    pub ongoing: bool,
    /// The one chosen unless another is: the shift that ended last.
    pub default: bool,
}

/// What the rating page offers on a ward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RatingForm {
    /// The ward.
    pub ward: String,
    /// Its display name.
    pub ward_name: String,
    /// The shift that ended last (the default), the one going on, and the
    /// one before the last: those still taking ratings.
    pub shifts: Vec<ShiftOffer>,
    /// The ward's teams: id and display name.
    pub teams: Vec<(String, String)>,
}

/// What the rating page of `ward` offers at `now`.
///
/// # Errors
/// [`Error::UnknownWard`]; the store failing.
pub async fn form(app: &App, ward: &str, now: DateTime<Utc>) -> Result<RatingForm> {
    let ward = ward.trim();
    let shown = crate::query::Shown::read(app).await?;
    known_ward(app, ward, &shown).await?;
    let plan = app.shift_plan(ward)?;
    let tz = app.tz();
    let current = plan.shift_at(now, &tz);
    let last = plan.shift_at(current.window.start - Duration::seconds(1), &tz);
    let before = plan.shift_at(last.window.start - Duration::seconds(1), &tz);
    let shifts = [(&last, true), (&current, false), (&before, false)]
        .into_iter()
        .filter(|(w, _)| open_for(w, app, now).is_ok())
        .map(|(w, default)| ShiftOffer {
            name: w.name.clone(),
            start: w.window.start,
            end: w.window.end,
            local_start: local(&w.window.start, app),
            local_end: local(&w.window.end, app),
            ongoing: w.window.end > now,
            default,
        })
        .collect();
    let teams = app
        .team_ids(ward)
        .await?
        .into_iter()
        .map(|id| {
            let name = app.team_name(ward, &id);
            (id, name)
        })
        .collect();
    Ok(RatingForm {
        ward: ward.to_owned(),
        ward_name: app.ward_name(ward),
        shifts,
        teams,
    })
}

/// A stored rating as the API lists it: anonymous, without its id or when
/// it was received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StoredRating {
    /// The shift's name.
    pub shift: String,
    /// The shift's start (UTC).
    pub shift_start: DateTime<Utc>,
    /// The team's id; `None` for the whole ward.
    pub team: Option<String>,
    /// The rater's profession, when given.
    pub profession: Option<Profession>,
    /// −3 … +3, 0 = optimal.
    pub rating: i8,
}

/// A ward's ratings over a range (`GET /api/v1/wards/{id}/ratings`).
///
/// Anonymous by construction: nothing of who rated is stored, and what could
/// point at one person is not served either — neither when a rating arrived
/// nor where from (screen, phone or paper: someone seen at the ward's screen
/// would be the screen's rating); within a shift the ratings are sorted by
/// team, profession and rating, not in the order received; and a profession
/// or team given by fewer than [`MIN_GROUP`] ratings of the shift is left
/// out of those ratings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StoredRatings {
    /// The ward.
    pub ward: String,
    /// Shifts starting from (inclusive).
    pub from: DateTime<Utc>,
    /// Shifts starting before (exclusive).
    pub to: DateTime<Utc>,
    /// The ratings, by shift start, then team, profession and rating.
    pub ratings: Vec<StoredRating>,
}

/// The ratings of `ward`'s shifts starting in `[from, to)`; `to` defaults
/// to `now`, `from` to the calibration's window (`calibration.window_weeks`)
/// before `to`.
///
/// # Errors
/// [`Error::UnknownWard`]; [`Error::EmptyRange`]; [`Error::RangeTooLarge`]
/// beyond `api.max_range_days`; the store failing.
pub async fn stored(
    app: &App,
    ward: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<StoredRatings> {
    let shown = crate::query::Shown::read(app).await?;
    known_ward(app, ward, &shown).await?;
    let to = to.unwrap_or(now);
    let from = from.unwrap_or(to - Duration::weeks(app.settings().calibration_window_weeks));
    if from >= to {
        return Err(Error::EmptyRange);
    }
    let max = app.config.api.max_range_days;
    let seconds = (to - from).num_seconds();
    if seconds > i64::from(max) * 86_400 {
        return Err(Error::RangeTooLarge {
            days: (seconds + 86_399) / 86_400,
            max,
        });
    }
    let mut ratings: Vec<StoredRating> = app
        .store
        .ratings(ward, from, to)
        .await?
        .into_iter()
        .map(|r| StoredRating {
            shift: r.rating.shift,
            shift_start: r.rating.shift_start,
            team: r.rating.team,
            profession: r.rating.profession,
            rating: r.rating.rating,
        })
        .collect();
    withhold_small_groups(&mut ratings);
    // never the order received: it would tell who rated when
    ratings.sort_by(|a, b| {
        (
            a.shift_start,
            &a.team,
            a.profession.map(Profession::abbreviation),
            a.rating,
        )
            .cmp(&(
                b.shift_start,
                &b.team,
                b.profession.map(Profession::abbreviation),
                b.rating,
            ))
    });
    Ok(StoredRatings {
        ward: ward.to_owned(),
        from,
        to,
        ratings,
    })
}

/// Widens what a small group would give away: a rating's profession is
/// dropped where fewer than [`MIN_GROUP`] ratings of its shift and team gave
/// that profession, then its team where fewer than [`MIN_GROUP`] of the
/// shift's ratings name that team (one registered nurse on a night would
/// otherwise be her rating). The rating itself stays, with its shift.
fn withhold_small_groups(ratings: &mut [StoredRating]) {
    use std::collections::BTreeMap;
    /// A shift (by its start), a team and a profession.
    type Group = (DateTime<Utc>, Option<String>, Option<&'static str>);
    let mut groups: BTreeMap<Group, u32> = BTreeMap::new();
    for r in ratings.iter() {
        *groups
            .entry((
                r.shift_start,
                r.team.clone(),
                r.profession.map(Profession::abbreviation),
            ))
            .or_default() += 1;
    }
    for r in ratings.iter_mut() {
        if r.profession.is_some()
            && groups[&(
                r.shift_start,
                r.team.clone(),
                r.profession.map(Profession::abbreviation),
            )] < MIN_GROUP
        {
            r.profession = None;
        }
    }
    let mut teams: BTreeMap<(DateTime<Utc>, Option<String>), u32> = BTreeMap::new();
    for r in ratings.iter() {
        *teams.entry((r.shift_start, r.team.clone())).or_default() += 1;
    }
    for r in ratings.iter_mut() {
        if r.team.is_some() && teams[&(r.shift_start, r.team.clone())] < MIN_GROUP {
            r.team = None;
        }
    }
}

/// A paper import stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "RatingsImported")]
pub struct Imported {
    /// The ward.
    pub ward: String,
    /// Ratings stored.
    pub ratings: u64,
    /// Shifts they rate.
    pub shifts: u64,
}

/// A column of the paper import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Col {
    Date,
    Shift,
    Team,
    Profession,
    Rating,
}

/// The column a header name means (English or Swedish, any case).
fn column(name: &str) -> Option<Col> {
    match name.trim().to_lowercase().as_str() {
        "date" | "datum" => Some(Col::Date),
        "shift" | "pass" => Some(Col::Shift),
        "team" | "lag" | "vårdlag" => Some(Col::Team),
        "profession" | "yrke" => Some(Col::Profession),
        "rating" | "bedömning" | "bedomning" => Some(Col::Rating),
        _ => None,
    }
}

/// The fields of one line separated by `sep`; a field may be quoted with
/// `"` (a quote inside written `""`).
fn fields(line: &str, sep: char) -> std::result::Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
        } else if c == '"' && field.trim().is_empty() && !was_quoted {
            field.clear();
            quoted = true;
            was_quoted = true;
        } else if c == sep {
            out.push(std::mem::take(&mut field));
            was_quoted = false;
        } else {
            field.push(c);
        }
    }
    if quoted {
        return Err("a quoted field is not closed (a field may not hold a line break)".into());
    }
    out.push(field);
    Ok(out)
}

/// A rating as written on paper: `-2`, `−2` (the minus sign), `+1`, `0`.
fn paper_rating(text: &str) -> std::result::Result<i8, String> {
    let t = text.trim().replace('−', "-");
    let (low, high) = RATING_RANGE;
    t.strip_prefix('+')
        .unwrap_or(&t)
        .parse::<i8>()
        .ok()
        .filter(|r| (low..=high).contains(r))
        .ok_or_else(|| format!("rating {:?} is not a whole number from −3 to +3", text.trim()))
}

/// A profession as written: empty (not given), `USK`, `SSK` or the words.
fn paper_profession(text: &str) -> std::result::Result<Option<Profession>, String> {
    match text.trim().to_lowercase().as_str() {
        "" | "-" | "vill inte ange" => Ok(None),
        "usk" | "undersköterska" => Ok(Some(Profession::Usk)),
        "ssk" | "sjuksköterska" => Ok(Some(Profession::Ssk)),
        other => Err(format!(
            "profession {other:?} is unknown; write USK, SSK or leave it empty"
        )),
    }
}

/// The shift name of `plan` that `text` means: a name of the plan (any
/// case), or the Swedish `dag`, `kväll`, `natt` for `day`, `evening`, `night`.
fn paper_shift(plan: &careload_scoring::shift::ShiftPlan, text: &str) -> std::result::Result<String, String> {
    let t = text.trim().to_lowercase();
    let english = match t.as_str() {
        "dag" => "day",
        "kväll" | "kvall" => "evening",
        "natt" => "night",
        other => other,
    };
    let names: Vec<&str> = plan.shifts().iter().map(|s| s.name.as_str()).collect();
    names
        .iter()
        .find(|n| n.to_lowercase() == t || n.to_lowercase() == english)
        .map(|n| (*n).to_owned())
        .ok_or_else(|| {
            format!(
                "shift {:?} is not in the ward's plan; write one of {}",
                text.trim(),
                names.join(", ")
            )
        })
}

/// One checked row of the paper import.
struct PaperRow {
    line: usize,
    shift: ShiftWindow,
    team: Option<String>,
    profession: Option<Profession>,
    rating: i8,
}

/// Imports ratings collected on paper for `ward`, all or nothing
/// (`docs/ratings-csv.md`): a header line, then `date,shift,team,
/// profession,rating` (`;` or `,`). Every row is checked as [`rate`]
/// checks one — the team, the rating, the shift in the ward's plan, the
/// limit per shift counting the file's earlier rows — except the 24 h
/// window: any shift that has ended by `now` is taken, none that has not.
/// Stored in one transaction as [`RatingSource::PaperImport`].
///
/// # Errors
/// [`Error::UnknownWard`]; [`Error::Unprocessable`] listing every refused
/// row by its line (the header is line 1), or a file that is not UTF-8,
/// has no header or no rows; nothing is stored then.
pub async fn import_csv(app: &App, ward: &str, bytes: &[u8], now: DateTime<Utc>) -> Result<Imported> {
    let ward = ward.trim();
    let shown = crate::query::Shown::read(app).await?;
    known_ward(app, ward, &shown).await?;
    let refuse = |hint: String| Error::Unprocessable { hint };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        refuse(format!(
            "the file is not UTF-8 ({e}); save it as \"CSV UTF-8\"; nothing was stored"
        ))
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let Some((_, header)) = lines.by_ref().find(|(_, l)| !l.trim().is_empty()) else {
        return Err(refuse(
            "the file is empty; send a header line date,shift,team,profession,rating and one line per rating".into(),
        ));
    };
    let sep = if header.contains(';') { ';' } else { ',' };
    let mut cols = Vec::new();
    for name in fields(header, sep).map_err(|e| refuse(format!("line 1: {e}")))? {
        let col = column(&name).ok_or_else(|| {
            refuse(format!(
                "line 1: column {:?} is unknown; the columns are date, shift, team, profession, rating; nothing was \
                 stored",
                name.trim()
            ))
        })?;
        if cols.contains(&col) {
            return Err(refuse(format!(
                "line 1: column {:?} comes twice; nothing was stored",
                name.trim()
            )));
        }
        cols.push(col);
    }
    for (need, name) in [(Col::Date, "date"), (Col::Shift, "shift"), (Col::Rating, "rating")] {
        if !cols.contains(&need) {
            return Err(refuse(format!(
                "line 1: the column {name} is missing; nothing was stored"
            )));
        }
    }
    let plan = app.shift_plan(ward)?;
    let tz = app.tz();
    let mut problems: Vec<String> = Vec::new();
    let mut rows: Vec<PaperRow> = Vec::new();
    for (line, text) in lines {
        let values = match fields(text, sep) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        if values.iter().all(|v| v.trim().is_empty()) {
            continue;
        }
        if values.len() > cols.len() {
            problems.push(format!(
                "line {line}: {} fields where the header has {}",
                values.len(),
                cols.len()
            ));
            continue;
        }
        let get = |c: Col| {
            cols.iter()
                .position(|x| *x == c)
                .and_then(|i| values.get(i))
                .map_or("", |v| v.trim())
        };
        let mut why: Vec<String> = Vec::new();
        let date = chrono::NaiveDate::parse_from_str(get(Col::Date), "%Y-%m-%d")
            .map_err(|_| format!("date {:?} is not YYYY-MM-DD", get(Col::Date)))
            .inspect_err(|e| why.push(e.clone()))
            .ok();
        let shift_name = paper_shift(&plan, get(Col::Shift))
            .inspect_err(|e| why.push(e.clone()))
            .ok();
        let team = match get(Col::Team) {
            "" | "*" => None,
            t => match team_of(app, ward, t).await {
                Ok(id) => Some(id),
                Err(e) => {
                    why.push(e.hint().unwrap_or_else(|| e.to_string()));
                    None
                }
            },
        };
        let profession = paper_profession(get(Col::Profession))
            .inspect_err(|e| why.push(e.clone()))
            .ok()
            .flatten();
        let rating = paper_rating(get(Col::Rating)).inspect_err(|e| why.push(e.clone())).ok();
        let shift = match (date, shift_name) {
            (Some(d), Some(n)) => match plan.window(d, &n, &tz) {
                Ok(w) if w.window.end > now => {
                    why.push(format!(
                        "the {n} shift of {d} has not ended (it ends {}); paper ratings are imported after the shift",
                        local(&w.window.end, app)
                    ));
                    None
                }
                Ok(w) => Some(w),
                Err(e) => {
                    why.push(e.to_string());
                    None
                }
            },
            _ => None,
        };
        match (shift, rating) {
            (Some(shift), Some(rating)) if why.is_empty() => rows.push(PaperRow {
                line,
                shift,
                team,
                profession,
                rating,
            }),
            _ => problems.push(format!("line {line}: {}", why.join("; "))),
        }
    }
    // the limit per shift, the file's earlier rows counted with the stored ones
    let mut counts: std::collections::HashMap<DateTime<Utc>, (u64, u64, u64)> = std::collections::HashMap::new();
    for row in &rows {
        let start = row.shift.window.start;
        let entry = match counts.entry(start) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let stored = app.store.ratings(ward, start, start + Duration::seconds(1)).await?;
                let of = |p: Profession| stored.iter().filter(|r| r.rating.profession == Some(p)).count() as u64;
                e.insert((stored.len() as u64, of(Profession::Usk), of(Profession::Ssk)))
            }
        };
        let max = limit(app, ward, &row.shift, row.profession).await?;
        let of_profession = match row.profession {
            Some(Profession::Usk) => Some(&mut entry.1),
            Some(Profession::Ssk) => Some(&mut entry.2),
            None => None,
        };
        if entry.0 >= max.total {
            problems.push(format!(
                "line {}: the {} shift of {} would have more ratings than it takes ({}: {})",
                row.line,
                row.shift.name,
                local(&start, app),
                max.total,
                max.why
            ));
            continue;
        }
        if let (Some(n), Some(p_max), Some(p)) = (of_profession, max.profession, row.profession) {
            if *n >= p_max {
                problems.push(format!(
                    "line {}: the {} shift of {} would have more {} ratings than it takes ({p_max}: the {} present \
                     in the planned staffing plus {RATING_SLACK})",
                    row.line,
                    row.shift.name,
                    local(&start, app),
                    profession_name(p),
                    p_max.saturating_sub(u64::from(RATING_SLACK)),
                ));
                continue;
            }
            *n += 1;
        }
        entry.0 += 1;
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| {
            p.strip_prefix("line ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0)
        });
        return Err(refuse(format!(
            "{} refused, nothing was stored: {}",
            if problems.len() == 1 {
                "1 row".to_owned()
            } else {
                format!("{} rows", problems.len())
            },
            problems.join("; ")
        )));
    }
    if rows.is_empty() {
        return Err(refuse(
            "the file has a header but no ratings; add one line per rating: date,shift,team,profession,rating".into(),
        ));
    }
    let new: Vec<NewRating> = rows
        .iter()
        .map(|r| NewRating {
            ward: ward.to_owned(),
            team: r.team.clone(),
            shift_start: r.shift.window.start,
            shift: r.shift.name.clone(),
            profession: r.profession,
            rating: r.rating,
            source: RatingSource::PaperImport,
            received_at: now,
        })
        .collect();
    let stored = app.store.put_ratings(&new).await?;
    Ok(Imported {
        ward: ward.to_owned(),
        ratings: stored,
        shifts: counts.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_fields_ratings_and_professions_read_as_written() {
        let own = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<String>>();
        assert_eq!(
            fields(r#"2026-11-24;"Lag ""A"" ; B";SSK"#, ';'),
            Ok(own(&["2026-11-24", "Lag \"A\" ; B", "SSK"]))
        );
        assert_eq!(fields("a,,c", ','), Ok(own(&["a", "", "c"])));
        assert!(fields("a;\"b", ';').is_err(), "an unclosed quote");
        for (text, rating) in [("-2", -2), ("−2", -2), ("+1", 1), (" 0 ", 0), ("3", 3)] {
            assert_eq!(paper_rating(text), Ok(rating), "{text}");
        }
        for text in ["4", "-4", "1,5", "", "x"] {
            assert!(paper_rating(text).is_err(), "{text}");
        }
        assert_eq!(paper_profession(" usk "), Ok(Some(Profession::Usk)));
        assert_eq!(paper_profession("Sjuksköterska"), Ok(Some(Profession::Ssk)));
        assert_eq!(paper_profession("Vill inte ange"), Ok(None));
        assert_eq!(paper_profession(""), Ok(None));
        assert!(paper_profession("läkare").is_err());
        let plan = careload_scoring::shift::ShiftPlan::default();
        assert_eq!(paper_shift(&plan, "Natt"), Ok("night".to_owned()));
        assert_eq!(paper_shift(&plan, "DAY"), Ok("day".to_owned()));
        assert!(paper_shift(&plan, "late").is_err_and(|e| e.contains("day, evening, night")));
    }
}
