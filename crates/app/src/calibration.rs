//! A ward's calibration from the store (issue 27): each shift's points per
//! person present against the staff's own ratings of it, fitted by
//! [`careload_planning::calibration`] into the ward's optimal points per
//! person, together, per profession and per team ([`ward_calibration`],
//! served as `GET /api/v1/wards/{id}/calibration`).
//!
//! # The window
//!
//! By default the `calibration.window_weeks` weeks (default
//! [`DEFAULT_WINDOW_WEEKS`]) up to the end of the shift
//! that ended last (at `now`); `from` and `to` (instants) replace either end.
//! A shift counts when it lies wholly in `[from, to]` and has ended by `now`;
//! shifts are those of the ward's shift plan in the hospital's zone.
//!
//! # Each shift
//!
//! * **Need**: the ward's stored hourly totals (`Store::ward_hours`, one
//!   range read) summed over the shift's hours, per profession (USK, SSK)
//!   and per component; an hour only partly inside the shift (a shift
//!   starting on the half hour) counts for its share of minutes. Hours not
//!   stored (a failed run) are extrapolated from the shift's stored ones,
//!   their minutes reported in [`ShiftPoint::extrapolated_minutes`]; a shift
//!   with less than half its minutes stored is skipped and counted
//!   ([`WardCalibration::shifts_without_hours`]).
//! * **Staff present**: planned minus absent from the stored planned
//!   staffing (every team's rows and the whole-ward rows,
//!   `careload_planning::WardPlan::from_rows`), per profession and together.
//!   A shift with no planned staffing at all is skipped and counted
//!   ([`WardCalibration::shifts_without_planned_staffing`]). A profession
//!   with no row, or with nobody present, leaves the shift out of that
//!   profession's fit (and nobody present at all, out of every fit):
//!   [`CalibrationFit::shifts_without_staff`].
//! * **Points per person**: need ÷ present; per profession that
//!   profession's points over its own people, together all points (USK +
//!   SSK, as the ward index) over everyone.
//! * **Ratings**: those stored for the shift's start. Together every rating
//!   of the shift (any team, with or without a profession); per profession
//!   the ratings given with that profession. Ratings whose start is no shift
//!   of the plan (a plan changed since) are counted, not used
//!   ([`WardCalibration::ratings_outside_shifts`]).
//!
//! The store's planned staffing and ratings both come back with the
//! profession as [`Profession`] and the whole ward as no team, so the two
//! meet here without any text of their own (the store maps its `USK`/`usk`
//! and `''`/NULL).
//!
//! The fit, its interval and its minimums are
//! [`careload_planning::calibration::fit_optimal_level`]'s; each reason a fit
//! is not to be trusted comes with a stable code and its Swedish text.
//! Per-component fits ([`careload_planning::calibration::component_fits`])
//! are over the shifts of the fit of both professions.
//!
//! # Team fits
//!
//! [`WardCalibration::teams`]: per team of the ward (`App::team_ids`, and
//! any team the window's planned staffing names), one fit of both
//! professions together ([`TeamCalibration`]), under the same rules and
//! with the same reasons. A team's shifts are the ward's shifts above (with
//! planned staffing and stored hours) on which **the team has planned
//! staffing rows of its own**: a night planned for the whole ward (no team)
//! is no team's shift. On each:
//!
//! * **Need**: the team's stored hourly totals (`Store::team_hours`, one
//!   range read for the window) summed over the shift as the ward's are; an
//!   hour stored for the ward without a row for the team (no patient of
//!   the team that hour) counts as 0, and hours not stored at all are
//!   extrapolated by the ward's rule.
//! * **Staff present**: the team's own rows, planned − absent, both
//!   professions (`WardPlan::from_rows`' `teams`).
//! * **Ratings**: those of the shift given with that team (a rating without
//!   a team counts for the ward only).
//!
//! A team with no shift of its own in the window is listed all the same,
//! with an empty fit ([`TeamCalibration::own_shifts`] 0) and its reasons
//! (`too_few_shifts` first), so that the council sees every team and why
//! it has no level. [`ward_calibration_of_hours`] (the back-test, given the
//! ward's hours) makes no team fits: its `teams` is empty.

use std::collections::{BTreeMap, BTreeSet};

use careload_planning::calibration::{
    CalibrationRules, ComponentFit, Interval, RatedShift, Rating, Unreliable, component_fits, fit_optimal_level,
    spearman,
};
use careload_planning::{PlannedStaffing, ShiftPlanned, WardPlan, div_round};
use careload_scoring::Points;
use careload_scoring::score::{Component, Components, Split};
use careload_scoring::shift::ShiftWindow;
use careload_scoring::snapshot::Profession;
use careload_store::{UnitHour, hour_of};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::query::known_ward;
use crate::{App, Error, Result};

/// Weeks of the default window when `calibration.window_weeks` is not set.
pub const DEFAULT_WINDOW_WEEKS: i64 = 8;

/// The ward's calibration over a window: `GET /api/v1/wards/{id}/calibration`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WardCalibration {
    /// The ward.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The window's start (UTC, inclusive).
    pub from: DateTime<Utc>,
    /// The window's end (UTC, inclusive for a shift's end).
    pub to: DateTime<Utc>,
    /// The window's start in the hospital's zone.
    pub local_from: NaiveDateTime,
    /// The window's end in the hospital's zone.
    pub local_to: NaiveDateTime,
    /// The minimums a fit is held to.
    pub rules: CalibrationRules,
    /// Shifts of the plan wholly in the window that had ended.
    pub shifts_in_window: u32,
    /// Of those, shifts skipped because no planned staffing is stored for them.
    pub shifts_without_planned_staffing: u32,
    /// Of those, shifts skipped because less than half their minutes are stored.
    pub shifts_without_hours: u32,
    /// Ratings in the window whose shift start is no shift of the plan (not used).
    pub ratings_outside_shifts: u32,
    /// The weights versions that scored the hours used (points of different
    /// versions are not comparable: more than one is worth a look).
    pub weights_versions: Vec<String>,
    /// Both professions: all points over everyone present, every rating.
    pub together: CalibrationFit,
    /// Assistant nurses: USK points over the USK present, ratings given as USK.
    pub usk: CalibrationFit,
    /// Registered nurses: SSK points over the SSK present, ratings given as SSK.
    pub ssk: CalibrationFit,
    /// Per component, how its points per person (over everyone present)
    /// move with the mean rating, over the shifts of `together`.
    pub components: Vec<ComponentFit>,
    /// Per team of the ward, by id: its own fit of both professions (see
    /// the module doc); empty when the hours were given
    /// ([`ward_calibration_of_hours`]).
    pub teams: Vec<TeamCalibration>,
}

/// One team's calibration: both professions of the team over the shifts
/// it has planned staffing of its own, against the ratings given with it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct TeamCalibration {
    /// The team's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The ward's shifts (with planned staffing and stored hours) on which
    /// the team has planned staffing rows of its own: the fit's input.
    pub own_shifts: u32,
    /// The team's points over the team's people present, the ratings given
    /// with the team; per-shift components are not filled.
    pub fit: CalibrationFit,
}

/// One fit: the line of the mean rating on points per person, the optimal
/// level, and whether to trust it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CalibrationFit {
    /// Where the fitted rating is 0; none without a fit or with a flat line.
    pub optimal_points_per_person: Option<Points>,
    /// Fieller's 95 % interval of the optimum; none when unbounded or not computable.
    pub interval: Option<Interval>,
    /// Rise of the mean rating per point per person.
    pub slope: Option<f64>,
    /// The fitted mean rating at 0 points per person.
    pub intercept: Option<f64>,
    /// Weighted R² of the shift means on points per person.
    pub r_squared: Option<f64>,
    /// Spearman's rank correlation of the mean rating with points per person (rated shifts).
    pub spearman: Option<f64>,
    /// Rated shifts: the points of the fit.
    pub shifts: u32,
    /// Shifts in the fit's input without a rating (they count in the response rate).
    pub unrated_shifts: u32,
    /// Shifts left out because nobody of the fit's staff was planned or present.
    pub shifts_without_staff: u32,
    /// Ratings in the fit.
    pub ratings: u32,
    /// Staff present over the shifts of the fit, rated or not.
    pub staff_present: u32,
    /// Ratings over staff present.
    pub response_rate: Option<f64>,
    /// Distinct ISO weeks with a rated shift.
    pub weeks: u32,
    /// True when every minimum is met.
    pub reliable: bool,
    /// Each minimum missed (empty when reliable).
    pub reasons: Vec<CalibrationReason>,
    /// Every shift of the fit, oldest first: the scatter.
    pub points: Vec<ShiftPoint>,
}

/// Why a fit is not to be trusted.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct CalibrationReason {
    /// A stable code: `too_few_shifts`, `low_response_rate`, `too_few_weeks`,
    /// `no_spread`, `slope_not_positive`, `low_r_squared`, `unbounded_interval`
    /// or `wide_interval`.
    pub code: String,
    /// The reason in Swedish, for the council's page.
    pub text: String,
    /// The numbers behind it.
    pub detail: Unreliable,
}

/// One shift of a fit.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ShiftPoint {
    /// The shift's start (UTC): the ratings' key.
    pub start: DateTime<Utc>,
    /// Its start in the hospital's zone.
    pub local_start: NaiveDateTime,
    /// The shift's name in the plan.
    pub shift: String,
    /// The fit's need over the shift, in points.
    pub need: Points,
    /// The fit's staff present.
    pub present: u32,
    /// Need ÷ present.
    pub points_per_person: Points,
    /// Ratings of the shift in the fit.
    pub ratings: u32,
    /// Their mean; none without ratings, and none where it is served for
    /// fewer than [`MIN_GROUP`] ratings or people ([`WardCalibration::shown`]).
    pub mean_rating: Option<f64>,
    /// Minutes of the shift with no stored hour, extrapolated from the others.
    pub extrapolated_minutes: u32,
    /// Per component (the breakdown's keys), its points per person present;
    /// filled in the ward's fit of both professions only (empty per
    /// profession and per team).
    pub components: BTreeMap<String, Points>,
}

/// The fewest ratings, and the fewest people present, behind a shift's
/// mean rating for it to be served: with fewer, those who know the roster
/// could tell what one person rated (one registered nurse on a night rates
/// alone). The fits use every rating; only the per-shift means of smaller
/// groups are withheld ([`WardCalibration::shown`]).
pub const MIN_GROUP: u32 = 3;

impl ShiftPoint {
    /// The mean rating as it may be served: none for a group smaller than
    /// [`MIN_GROUP`] (ratings or people present).
    #[must_use]
    pub fn shown_mean(&self) -> Option<f64> {
        self.mean_rating
            .filter(|_| self.ratings >= MIN_GROUP && self.present >= MIN_GROUP)
    }
}

impl WardCalibration {
    /// The calibration as it may be served (the API, the page, the files):
    /// each shift's mean rating withheld where fewer than [`MIN_GROUP`]
    /// ratings or people are behind it. The fits, their optimum, R² and
    /// counts are unchanged: they pool many shifts.
    ///
    /// Complements are withheld too: where one profession's (or one team's)
    /// mean of a shift is withheld, so are the other profession's (the
    /// other teams'), else the shift's mean of both with the counts would
    /// give the withheld one back.
    #[must_use]
    pub fn shown(mut self) -> WardCalibration {
        fn withheld<'a>(fits: impl Iterator<Item = &'a CalibrationFit>) -> BTreeSet<DateTime<Utc>> {
            fits.flat_map(|f| f.points.iter())
                .filter(|p| p.mean_rating.is_some() && p.shown_mean().is_none())
                .map(|p| p.start)
                .collect()
        }
        fn blank(fit: &mut CalibrationFit, starts: &BTreeSet<DateTime<Utc>>) {
            for p in &mut fit.points {
                p.mean_rating = if starts.contains(&p.start) {
                    None
                } else {
                    p.shown_mean()
                };
            }
        }
        let professions = withheld([&self.usk, &self.ssk].into_iter());
        let teams = withheld(self.teams.iter().map(|t| &t.fit));
        blank(&mut self.together, &BTreeSet::new());
        blank(&mut self.usk, &professions);
        blank(&mut self.ssk, &professions);
        for t in &mut self.teams {
            blank(&mut t.fit, &teams);
        }
        self
    }
}

impl From<&Unreliable> for CalibrationReason {
    fn from(u: &Unreliable) -> CalibrationReason {
        let code = match u {
            Unreliable::TooFewShifts { .. } => "too_few_shifts",
            Unreliable::LowResponseRate { .. } => "low_response_rate",
            Unreliable::TooFewWeeks { .. } => "too_few_weeks",
            Unreliable::NoSpread => "no_spread",
            Unreliable::SlopeNotPositive { .. } => "slope_not_positive",
            Unreliable::LowRSquared { .. } => "low_r_squared",
            Unreliable::UnboundedInterval => "unbounded_interval",
            Unreliable::WideInterval { .. } => "wide_interval",
        };
        CalibrationReason {
            code: code.to_owned(),
            text: u.sv(),
            detail: *u,
        }
    }
}

/// Which fit: both professions, one, or both of a team's (the loads
/// already the team's own, no components).
#[derive(Clone, Copy)]
enum Scope {
    Together,
    Only(Profession),
    Team,
}

/// One stored rating of a shift, as the fits need it.
struct TeamRating<'a> {
    team: Option<&'a str>,
    profession: Option<Profession>,
    rating: Rating,
}

/// One shift as read from the store, before it is split into fits (of the
/// ward, or of one team: its need, plan and ratings).
struct ShiftLoad {
    window: ShiftWindow,
    need: Split,
    components: Components,
    extrapolated_minutes: u32,
    plan: ShiftPlanned,
    /// The shift's ratings: (profession, rating).
    ratings: Vec<(Option<Profession>, Rating)>,
}

/// The calibration of ward `id` over `[from, to]` (defaults in the module
/// doc) at `now`, held to `rules`.
///
/// # Errors
/// [`Error::UnknownWard`]; [`Error::EmptyRange`] when `from` is not before
/// `to`; [`Error::RangeTooLarge`] beyond `api.max_range_days`;
/// [`Error::Config`] for a ward whose shift plan is invalid; the store
/// failing.
pub async fn ward_calibration(
    app: &App,
    id: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rules: &CalibrationRules,
) -> Result<WardCalibration> {
    calibrate(app, id, from, to, now, rules, None).await
}

/// [`ward_calibration`] over `[from, to]` with the ward's hourly totals
/// given instead of read from the store: the weights back-test's re-scored
/// hours of one side (`careload_export::backtest::RescoredHour`), so that
/// both sides meet the same ratings. `hours` are the ward's own; the range
/// is the back-test's (not held to `api.max_range_days`).
///
/// # Errors
/// As [`ward_calibration`], but no [`Error::RangeTooLarge`].
pub async fn ward_calibration_of_hours(
    app: &App,
    id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    rules: &CalibrationRules,
    hours: Vec<UnitHour>,
) -> Result<WardCalibration> {
    calibrate(app, id, Some(from), Some(to), now, rules, Some(hours)).await
}

/// [`ward_calibration`], with the hours read from the store unless given.
async fn calibrate(
    app: &App,
    id: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    rules: &CalibrationRules,
    given_hours: Option<Vec<UnitHour>>,
) -> Result<WardCalibration> {
    let shown = crate::query::Shown::read(app).await?;
    known_ward(app, id, &shown).await?;
    let plan = app.shift_plan(id)?;
    let tz = app.tz();
    // the council's own window (`calibration.window_weeks`, at most 52
    // weeks) is not held to `api.max_range_days`, a caller's `from` is
    let asked_from = from.is_some();
    let to = to.unwrap_or_else(|| plan.shift_at(now, &tz).window.start);
    let from = from.unwrap_or(to - Duration::weeks(app.settings().calibration_window_weeks));
    if from >= to {
        return Err(Error::EmptyRange);
    }
    let max_days = app.config.api.max_range_days;
    if asked_from && given_hours.is_none() && to - from > Duration::days(i64::from(max_days)) {
        let secs = (to - from).num_seconds();
        return Err(Error::RangeTooLarge {
            days: (secs + 86_399) / 86_400,
            max: max_days,
        });
    }

    // The shifts wholly in [from, to] that have ended.
    let last_end = to.min(now);
    let mut windows = Vec::new();
    let mut w = plan.shift_at(from, &tz);
    if w.window.start < from {
        w = plan.shift_at(w.window.end, &tz);
    }
    while w.window.end <= last_end && w.window.end > w.window.start {
        let next = plan.shift_at(w.window.end, &tz);
        // a valid plan always moves on; never loop on one that does not
        let moved_on = next.window.start >= w.window.end;
        windows.push(w);
        if !moved_on {
            break;
        }
        w = next;
    }

    // One read of each: the hours, the planned staffing, the ratings.
    let (first, last) = match (windows.first(), windows.last()) {
        (Some(f), Some(l)) => (f.window.start, l.window.end),
        _ => (from, from),
    };
    let reads_teams = given_hours.is_none();
    let hours = match given_hours {
        Some(hours) => hours,
        None => app.store.ward_hours(id, hour_of(first), last).await?,
    };
    let hours: BTreeMap<DateTime<Utc>, &UnitHour> = hours.iter().map(|h| (h.hour, h)).collect();
    let team_hours = if reads_teams {
        app.store.team_hours(id, hour_of(first), last).await?
    } else {
        Vec::new()
    };
    let mut team_hours_of: BTreeMap<&str, BTreeMap<DateTime<Utc>, &UnitHour>> = BTreeMap::new();
    for h in &team_hours {
        team_hours_of.entry(h.team.as_str()).or_default().insert(h.hour, h);
    }
    let (first_date, last_date) = match (windows.first(), windows.last()) {
        (Some(f), Some(l)) => (f.date, l.date),
        _ => (from.date_naive(), from.date_naive()),
    };
    let staffing = app.store.planned_staffing(Some(id), first_date, last_date).await?;
    let mut staffing_of: BTreeMap<(NaiveDate, &str), Vec<&PlannedStaffing>> = BTreeMap::new();
    for row in &staffing {
        staffing_of.entry((row.date, row.shift.as_str())).or_default().push(row);
    }
    let mut ratings_of: BTreeMap<DateTime<Utc>, Vec<TeamRating>> = BTreeMap::new();
    let stored_ratings = app.store.ratings(id, first, last).await?;
    for r in &stored_ratings {
        if let Some(rating) = Rating::new(r.rating.rating) {
            ratings_of.entry(r.rating.shift_start).or_default().push(TeamRating {
                team: r.rating.team.as_deref(),
                profession: r.rating.profession,
                rating,
            });
        }
    }

    let shifts_in_window = windows.len();
    let starts: BTreeSet<DateTime<Utc>> = windows.iter().map(|w| w.window.start).collect();
    let outside = stored_ratings
        .iter()
        .filter(|r| !starts.contains(&r.rating.shift_start))
        .count();
    let mut without_plan = 0u32;
    let mut without_hours = 0u32;
    let mut versions: BTreeSet<String> = BTreeSet::new();
    let mut loads = Vec::new();
    let mut team_loads: BTreeMap<String, Vec<ShiftLoad>> = BTreeMap::new();
    let no_hours = BTreeMap::new();
    for w in windows {
        let rows = staffing_of.get(&(w.date, w.name.as_str()));
        let Some(rows) = rows.filter(|r| !r.is_empty()) else {
            without_plan += 1;
            continue;
        };
        let Some((need, components, extrapolated_minutes)) = need_of(&w, &hours, None, &mut versions) else {
            without_hours += 1;
            continue;
        };
        let plan = WardPlan::from_rows(rows.iter().copied(), id, w.date, &w.name);
        let ratings = ratings_of.remove(&w.window.start).unwrap_or_default();
        if reads_teams {
            for (team, team_plan) in &plan.teams {
                let of = team_hours_of.get(team.as_str()).unwrap_or(&no_hours);
                // the ward's hours cover the shift, so the team's need is known
                let Some((need, _, _)) = need_of(&w, &hours, Some(of), &mut versions) else {
                    continue;
                };
                let ratings = ratings
                    .iter()
                    .filter(|r| r.team == Some(team.as_str()))
                    .map(|r| (r.profession, r.rating))
                    .collect();
                team_loads.entry(team.clone()).or_default().push(ShiftLoad {
                    window: w.clone(),
                    need,
                    components: Components::default(),
                    extrapolated_minutes,
                    plan: *team_plan,
                    ratings,
                });
            }
        }
        loads.push(ShiftLoad {
            window: w,
            need,
            components,
            extrapolated_minutes,
            plan: plan.ward,
            ratings: ratings.iter().map(|r| (r.profession, r.rating)).collect(),
        });
    }
    let mut teams = Vec::new();
    if reads_teams {
        let mut ids = app.team_ids(id).await?;
        ids.extend(team_loads.keys().cloned());
        ids.sort();
        ids.dedup();
        for team in ids {
            let loads = team_loads.remove(&team).unwrap_or_default();
            teams.push(TeamCalibration {
                name: app.team_name(id, &team),
                own_shifts: count(loads.len()),
                fit: fit(scoped(&loads, Scope::Team, &tz), rules),
                id: team,
            });
        }
    }

    let together = scoped(&loads, Scope::Together, &tz);
    let components = component_fits(&together.shifts);
    Ok(WardCalibration {
        id: id.to_owned(),
        name: app.ward_name(id),
        from,
        to,
        local_from: from.with_timezone(&tz).naive_local(),
        local_to: to.with_timezone(&tz).naive_local(),
        rules: *rules,
        shifts_in_window: count(shifts_in_window),
        shifts_without_planned_staffing: without_plan,
        shifts_without_hours: without_hours,
        ratings_outside_shifts: count(outside),
        weights_versions: versions.into_iter().collect(),
        together: fit(together, rules),
        usk: fit(scoped(&loads, Scope::Only(Profession::Usk), &tz), rules),
        ssk: fit(scoped(&loads, Scope::Only(Profession::Ssk), &tz), rules),
        components,
        teams,
    })
}

/// `n` as a count.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// `points` per person of `people` (more than 0), to the thousandth.
fn per_person(points: Points, people: u32) -> Points {
    Points::from_milli(div_round(i128::from(points.milli()), i128::from(people)))
}

/// The need of shift `w` from the ward's stored `hours` — or, given `team`,
/// from the team's hours, an hour of `hours` without a team row counting 0:
/// per profession, per component, and the minutes extrapolated; none when
/// less than half the shift's minutes are stored (for the ward). Adds the
/// weights versions of the hours used to `versions`.
fn need_of(
    w: &ShiftWindow,
    hours: &BTreeMap<DateTime<Utc>, &UnitHour>,
    team: Option<&BTreeMap<DateTime<Utc>, &UnitHour>>,
    versions: &mut BTreeSet<String>,
) -> Option<(Split, Components, u32)> {
    let (start, end) = (w.window.start, w.window.end);
    let shift_minutes = (end - start).num_minutes();
    if shift_minutes <= 0 {
        return None;
    }
    // Σ points (thousandths) × minutes of the hour inside the shift
    let mut covered = 0i64;
    let (mut usk, mut ssk) = (0i128, 0i128);
    let mut parts = [0i128; Component::ALL.len()];
    let mut seen = Vec::new();
    for (&h, u) in hours.range(hour_of(start)..end) {
        let overlap = (end.min(h + Duration::hours(1)) - start.max(h)).num_minutes();
        if overlap <= 0 {
            continue;
        }
        covered += overlap;
        seen.push(&u.weights_version);
        let u = match team {
            None => *u,
            Some(team) => match team.get(&h) {
                Some(t) => *t,
                None => continue,
            },
        };
        let m = i128::from(overlap);
        usk += i128::from(u.totals.professions.usk.milli()) * m;
        ssk += i128::from(u.totals.professions.ssk.milli()) * m;
        for (acc, c) in parts.iter_mut().zip(Component::ALL) {
            *acc += i128::from(u.totals.components.get(c).milli()) * m;
        }
    }
    if covered * 2 < shift_minutes {
        return None;
    }
    versions.extend(seen.into_iter().cloned());
    // the stored minutes' mean over the whole shift: exact when every hour is stored
    let scale = |acc: i128| Points::from_milli(div_round(acc * i128::from(shift_minutes), i128::from(covered) * 60));
    let mut components = Components::default();
    for (acc, c) in parts.into_iter().zip(Component::ALL) {
        components.add(c, scale(acc));
    }
    let need = Split {
        usk: scale(usk),
        ssk: scale(ssk),
    };
    Some((
        need,
        components,
        u32::try_from(shift_minutes - covered).unwrap_or(u32::MAX),
    ))
}

/// The shifts of one fit.
struct Scoped {
    /// Shifts left out: nobody of the scope planned or present.
    without_staff: u32,
    /// The fit's input.
    shifts: Vec<RatedShift>,
    /// The same shifts, as shown.
    points: Vec<ShiftPoint>,
}

/// The shifts of `loads` as `scope` sees them.
fn scoped(loads: &[ShiftLoad], scope: Scope, tz: &chrono_tz::Tz) -> Scoped {
    let mut out = Scoped {
        without_staff: 0,
        shifts: Vec::new(),
        points: Vec::new(),
    };
    for l in loads {
        let (need, present) = match scope {
            Scope::Together | Scope::Team => (l.need.usk + l.need.ssk, l.plan.available()),
            Scope::Only(p) => (l.need.get(p), l.plan.get(p).map_or(0, |c| c.available())),
        };
        if present == 0 {
            out.without_staff += 1;
            continue;
        }
        let points_per_person = per_person(need, present);
        let ratings: Vec<Rating> = l
            .ratings
            .iter()
            .filter(|(p, _)| match scope {
                Scope::Together | Scope::Team => true,
                Scope::Only(q) => *p == Some(q),
            })
            .map(|(_, r)| *r)
            .collect();
        let components = match scope {
            Scope::Together => Component::ALL
                .iter()
                .map(|&c| (c.key().to_owned(), per_person(l.components.get(c), present)))
                .collect(),
            Scope::Only(_) | Scope::Team => BTreeMap::new(),
        };
        let shift = RatedShift {
            date: l.window.date,
            points_per_person,
            components,
            staff_present: present,
            ratings,
        };
        out.points.push(ShiftPoint {
            start: l.window.window.start,
            local_start: l.window.window.start.with_timezone(tz).naive_local(),
            shift: l.window.name.clone(),
            need,
            present,
            points_per_person,
            ratings: count(shift.ratings.len()),
            mean_rating: shift.mean_rating(),
            extrapolated_minutes: l.extrapolated_minutes,
            components: shift.components.clone(),
        });
        out.shifts.push(shift);
    }
    out
}

/// The fit of one scope's shifts under `rules`.
fn fit(scoped: Scoped, rules: &CalibrationRules) -> CalibrationFit {
    let c = fit_optimal_level(&scoped.shifts, rules);
    let (xs, ys): (Vec<f64>, Vec<f64>) = scoped
        .shifts
        .iter()
        .filter_map(|s| Some((s.points_per_person.as_f64(), s.mean_rating()?)))
        .unzip();
    CalibrationFit {
        optimal_points_per_person: c.optimal_points_per_person,
        interval: c.interval,
        slope: c.slope,
        intercept: c.intercept,
        r_squared: c.r_squared,
        spearman: spearman(&xs, &ys),
        shifts: c.shifts,
        unrated_shifts: c.unrated_shifts,
        shifts_without_staff: scoped.without_staff,
        ratings: c.ratings,
        staff_present: c.staff_present,
        response_rate: c.response_rate,
        weeks: c.weeks,
        reliable: c.reliable,
        reasons: c.reasons.iter().map(CalibrationReason::from).collect(),
        points: scoped.points,
    }
}
