//! The views built from the store: what the JSON routes return and the
//! screens render.
//!
//! # The hospital indicator (DiViS-style)
//!
//! A ward's *expected* level is the mean of its total at the same local hour
//! of the week (the hospital's `scoring.time_zone`) in each of the 52 weeks
//! before the hour shown, over the weeks that have a stored hour. With fewer
//! than [`MIN_SAMPLES`] such hours — a young installation — it falls back
//! to the same local hour of the day over the last [`FALLBACK_DAYS`] days
//! (`expected_basis: hour_of_day`), and with fewer than [`MIN_SAMPLES`] of
//! those too the indicator is `too_little_data`. Otherwise it is `higher` when the current total is more than
//! [`BAND_PERCENT`] % above the expected level, `lower` when more than
//! [`BAND_PERCENT`] % below, else `as_expected` (an expected level of 0 is
//! `as_expected` at 0 and `higher` above it).
//!
//! # Colour bands
//!
//! A patient's [`Band`] places their total among every patient of the
//! hospital at the hour shown: with `q1`, `q2`, `q3` the quartiles
//! (nearest rank), `low` up to `q1`, `moderate` up to `q2`, `high` up to
//! `q3`, `very_high` above.
//!
//! # Departments, hospitals and the region
//!
//! A department (`[departments.<id>]`) is the sum of its wards, a hospital
//! of a region (`[hospitals.<id>]`) the sum of its departments' wards, the
//! region the sum of every ward ([`ward_sums`]): patients and points added,
//! beds and occupancy over the wards whose beds are known, the expected
//! level the sum of the wards' when each has one, judged on the fewest past
//! hours any ward's rests on. Nothing of theirs is stored. A department's or
//! hospital's view reads its own wards' past hours only.
//!
//! # Beds
//!
//! A ward's beds are `[wards.<id>].beds` when configured, else the number of
//! distinct beds that held a patient in the 30 days up to the hour shown.

use std::collections::BTreeMap;

use careload_scoring::aggregate::NO_TEAM;
use careload_scoring::explain::{describe_parameter, describe_source};
use careload_scoring::snapshot::PatientKey;
use careload_scoring::{Component, Points, Score, Snapshot, Totals};
use careload_store::{Level, Outcome, Run};
use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::App;
use crate::view::{
    Band, ContributionView, DataState, DepartmentOverview, DepartmentSummary, ExpectedBasis, ForecastSeries,
    HospitalOverview, HospitalSummary, HospitalView, Indicator, PatientDetail, PatientRow, Point, RegionOverview,
    RunSummary, Series, SourceState, StaleReason, TeamView, WardForecast, WardHistory, WardList, WardOverview,
    WardSummary, WardSums, WardView,
};
use crate::{Error, Result};

/// Fewer past hours than this: `too_little_data`.
pub const MIN_SAMPLES: u32 = 4;
/// The "as expected" band: ± this many percent of the expected level.
pub const BAND_PERCENT: i128 = 15;
/// Weeks of history the expected level looks back.
pub const EXPECTED_WEEKS: i64 = 52;
/// Days of history the hour-of-day fallback looks back.
pub const FALLBACK_DAYS: i64 = 28;
/// Default history range, hours.
pub const DEFAULT_HISTORY_HOURS: i64 = 120;
/// Days of patient rows whose distinct beds count as a ward's beds.
pub const BEDS_SEEN_DAYS: i64 = 30;

fn hour() -> Duration {
    Duration::hours(1)
}

/// The summary of a stored run.
pub fn run_summary(run: &Run) -> RunSummary {
    RunSummary {
        id: run.id.0,
        started_at: run.started_at,
        finished_at: run.finished_at,
        outcome: run.outcome.map(|o| o.as_str().to_owned()),
        error: run.report.error.clone(),
    }
}

/// Where each source's data stands (issue 29), read once per request.
///
/// With the single `[source]` every ward is shown at the current hour. With
/// `[sources.<id>]` each ward is shown at its own source's hour (the newest
/// that source wrote), so a source whose runs fail leaves only its own
/// wards behind — and stale — while the others move on; a view's
/// [`DataState`] is that of the sources of the wards it shows.
pub struct Shown {
    current: Option<careload_store::CurrentHour>,
    /// The configured named sources: each one's own hour and latest run
    /// (empty with the single `[source]`).
    sources: BTreeMap<String, SourceShown>,
    /// Each ward's source, as the store last wrote it (configured sources only).
    ward_source: BTreeMap<String, String>,
}

struct SourceShown {
    hour: Option<careload_store::CurrentHour>,
    last_run: Option<Run>,
}

impl Shown {
    /// Reads the current hour and, with named sources, each one's hour,
    /// latest run and wards.
    ///
    /// # Errors
    /// The store's.
    pub async fn read(app: &App) -> Result<Shown> {
        let current = app.store.current_hour().await?;
        let mut shown = Shown {
            current,
            sources: BTreeMap::new(),
            ward_source: BTreeMap::new(),
        };
        if app.config.sources.is_empty() {
            return Ok(shown);
        }
        let hours: BTreeMap<String, careload_store::CurrentHour> = app
            .store
            .source_hours()
            .await?
            .into_iter()
            .map(|s| (s.source_id, s.current))
            .collect();
        for id in app.config.sources.keys() {
            let last_run = app.store.latest_source_run(id).await?;
            shown.sources.insert(
                id.clone(),
                SourceShown {
                    hour: hours.get(id).copied(),
                    last_run,
                },
            );
        }
        shown.ward_source = ward_sources(app).await?;
        Ok(shown)
    }

    /// The named source ward `id` comes from, if any.
    pub fn source_of(&self, id: &str) -> Option<&str> {
        self.ward_source.get(id).map(String::as_str)
    }

    /// The hour ward `id` is shown at: its source's own hour, else the
    /// current hour.
    pub fn ward_hour(&self, id: &str) -> Option<DateTime<Utc>> {
        match self.source_of(id).and_then(|s| self.sources.get(s)) {
            Some(s) => s.hour.map(|c| c.hour),
            None => self.current.map(|c| c.hour),
        }
    }

    /// Every hour some ward is shown at, newest first (one with the single
    /// `[source]`).
    pub fn hours(&self) -> Vec<DateTime<Utc>> {
        let mut hours: Vec<DateTime<Utc>> = self
            .current
            .map(|c| c.hour)
            .into_iter()
            .chain(self.sources.values().filter_map(|s| s.hour.map(|c| c.hour)))
            .collect();
        hours.sort_unstable_by(|a, b| b.cmp(a));
        hours.dedup();
        hours
    }
}

/// Each ward's configured named source (`[sources.<id>]`), as the store
/// last wrote it; a ward of the single `[source]`, or of a source no longer
/// configured, has none.
///
/// # Errors
/// The store's.
pub(crate) async fn ward_sources(app: &App) -> Result<BTreeMap<String, String>> {
    Ok(app
        .store
        .wards()
        .await?
        .into_iter()
        .filter_map(|w| Some((w.ward, w.source_id?)))
        .filter(|(_, s)| app.config.sources.contains_key(s))
        .collect())
}

/// Where the data stands, at `now`: every source's.
pub async fn data_state(app: &App, now: DateTime<Utc>) -> Result<DataState> {
    let shown = Shown::read(app).await?;
    state_of(app, &shown, None, now).await
}

/// Where the data of ward `id` stands, at `now`: its source's.
pub async fn ward_state(app: &App, shown: &Shown, id: &str, now: DateTime<Utc>) -> Result<DataState> {
    match shown.source_of(id) {
        Some(source) => state_of(app, shown, Some(&[source]), now).await,
        None => state_of(app, shown, None, now).await,
    }
}

/// Why data written at `as_of` by a source whose latest run ended
/// `failed` (or not) is stale at `now`, if it is.
fn stale_reason(app: &App, as_of: Option<DateTime<Utc>>, failed: bool, now: DateTime<Utc>) -> Option<StaleReason> {
    let limit = Duration::minutes(i64::from(app.config.api.stale_after_minutes));
    match as_of {
        None => Some(StaleReason::NoData),
        Some(_) if failed => Some(StaleReason::LastRunFailed),
        Some(t) if now - t > limit => Some(StaleReason::TooOld),
        Some(_) => None,
    }
}

/// The data state of the sources `only` (none: all of them). With named
/// sources: the hour the newest of them, `as_of` the oldest of their
/// writes, stale when any of them is (the first one's reason), each listed
/// in `sources`.
async fn state_of(app: &App, shown: &Shown, only: Option<&[&str]>, now: DateTime<Utc>) -> Result<DataState> {
    let weights_version = |shown_hour: Option<DateTime<Utc>>| async move {
        Ok::<_, Error>(match shown_hour {
            Some(h) => app
                .store
                .hospital_hours(h, h + hour())
                .await?
                .into_iter()
                .next()
                .map(|u| u.weights_version),
            None => None,
        })
    };
    if shown.sources.is_empty() {
        let current = shown.current;
        let last_run = app.store.latest_run().await?;
        let as_of = current.map(|c| c.updated_at);
        let failed = last_run.as_ref().is_some_and(|r| r.outcome == Some(Outcome::Failed));
        let stale_reason = stale_reason(app, as_of, failed, now);
        return Ok(DataState {
            hour: current.map(|c| c.hour),
            as_of,
            stale: stale_reason.is_some(),
            stale_reason,
            last_run: last_run.as_ref().map(run_summary),
            weights_version: weights_version(current.map(|c| c.hour)).await?,
            sources: Vec::new(),
        });
    }
    let sources: Vec<SourceState> = shown
        .sources
        .iter()
        .filter(|(id, _)| only.is_none_or(|o| o.contains(&id.as_str())))
        .map(|(id, s)| {
            let as_of = s.hour.map(|c| c.updated_at);
            let failed = s.last_run.as_ref().is_some_and(|r| r.outcome == Some(Outcome::Failed));
            let reason = stale_reason(app, as_of, failed, now);
            SourceState {
                id: id.clone(),
                hour: s.hour.map(|c| c.hour),
                as_of,
                stale: reason.is_some(),
                stale_reason: reason,
                last_run: s.last_run.as_ref().map(run_summary),
            }
        })
        .collect();
    let hour = sources.iter().filter_map(|s| s.hour).max();
    let stale_reason = sources.iter().find_map(|s| s.stale_reason);
    let last_run = sources.iter().filter_map(|s| s.last_run.clone()).max_by_key(|r| r.id);
    Ok(DataState {
        hour,
        as_of: sources.iter().filter_map(|s| s.as_of).min(),
        stale: stale_reason.is_some(),
        stale_reason,
        last_run,
        weights_version: weights_version(hour).await?,
        sources,
    })
}

/// The wards there are: configured, with patients at the hour they are
/// shown at, or with patients in the [`BEDS_SEEN_DAYS`] days before it (so
/// a ward that has just emptied shows as empty instead of vanishing); with
/// each one's totals at its hour ([`Shown::ward_hour`]).
async fn wards_at(app: &App, shown: &Shown) -> Result<BTreeMap<String, Totals>> {
    let mut wards: BTreeMap<String, Totals> = app
        .config
        .wards
        .keys()
        .map(|id| (id.clone(), Totals::default()))
        .collect();
    let hours = shown.hours();
    if let Some(newest) = hours.first() {
        let since = *newest - Duration::days(BEDS_SEEN_DAYS);
        for w in app.store.wards().await? {
            if w.last_seen.is_some_and(|t| t >= since) {
                wards.entry(w.ward).or_default();
            }
        }
        for u in app.store.unit_hours_at(Level::Ward, &hours).await? {
            if shown.ward_hour(&u.ward) == Some(u.hour) {
                wards.insert(u.ward, u.totals);
            }
        }
    }
    Ok(wards)
}

/// Checks that `id` is a known ward (as [`Shown`] shows it).
///
/// # Errors
/// [`Error::UnknownWard`] listing the known wards.
pub async fn known_ward(app: &App, id: &str, shown: &Shown) -> Result<Totals> {
    let mut wards = wards_at(app, shown).await?;
    match wards.remove(id) {
        Some(t) => Ok(t),
        None => Err(Error::UnknownWard {
            ward: id.to_owned(),
            known: wards.into_keys().collect(),
        }),
    }
}

/// `GET /api/v1/wards`.
pub async fn ward_list(app: &App, now: DateTime<Utc>) -> Result<WardList> {
    let shown = Shown::read(app).await?;
    let ds = state_of(app, &shown, None, now).await?;
    let wards = wards_at(app, &shown)
        .await?
        .into_iter()
        .map(|(id, t)| WardSummary {
            name: app.ward_name(&id),
            configured: app.config.wards.contains_key(&id),
            patients: t.patients,
            id,
        })
        .collect();
    Ok(WardList { state: ds, wards })
}

/// The same local hour of the week in each of the `weeks` weeks before
/// `hour` (skipping local times that do not exist that week).
pub fn same_hour_of_week<Z: TimeZone>(hour: DateTime<Utc>, tz: &Z, weeks: i64) -> Vec<DateTime<Utc>> {
    same_local_time_back(hour, tz, 7, weeks)
}

/// The same local time `step_days`, 2 × `step_days`, … `count` × `step_days`
/// days before `hour` (skipping local times that do not exist that day).
fn same_local_time_back<Z: TimeZone>(hour: DateTime<Utc>, tz: &Z, step_days: i64, count: i64) -> Vec<DateTime<Utc>> {
    let local = hour.with_timezone(tz).naive_local();
    (1..=count)
        .filter_map(|k| {
            tz.from_local_datetime(&(local - Duration::days(step_days * k)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
        })
        .collect()
}

/// The same local hour of the day on each of the `days` days before `hour`.
pub fn same_hour_of_day<Z: TimeZone>(hour: DateTime<Utc>, tz: &Z, days: i64) -> Vec<DateTime<Utc>> {
    same_local_time_back(hour, tz, 1, days)
}

/// Sum and count of each ward's totals over unit rows.
fn sums_by_ward(rows: &[careload_store::UnitHour]) -> BTreeMap<String, (i64, u32)> {
    let mut sums: BTreeMap<String, (i64, u32)> = BTreeMap::new();
    for u in rows {
        let e = sums.entry(u.ward.clone()).or_default();
        e.0 += u.totals.total.milli();
        e.1 += 1;
    }
    sums
}

/// The indicator for `current` against `expected` over `samples` hours.
pub fn indicator(current: Points, expected: Option<Points>, samples: u32) -> Indicator {
    let Some(expected) = expected else {
        return Indicator::TooLittleData;
    };
    if samples < MIN_SAMPLES {
        return Indicator::TooLittleData;
    }
    let (c, e) = (i128::from(current.milli()), i128::from(expected.milli()));
    if c * 100 > e * (100 + BAND_PERCENT) {
        Indicator::Higher
    } else if c * 100 < e * (100 - BAND_PERCENT) {
        Indicator::Lower
    } else {
        Indicator::AsExpected
    }
}

/// Beds per ward (or only `ward`): configured, else seen in the last
/// [`BEDS_SEEN_DAYS`] days (queried only when some ward lacks a configured
/// count).
pub(crate) async fn beds(app: &App, ward: Option<&str>, shown: Option<DateTime<Utc>>) -> Result<BTreeMap<String, u32>> {
    let configured = |id: &str| app.config.wards.get(id).and_then(|w| w.beds);
    let all_configured = match ward {
        Some(id) => configured(id).is_some(),
        None => false,
    };
    let mut beds = match shown {
        Some(h) if !all_configured => {
            app.store
                .beds_seen(ward, h - Duration::days(BEDS_SEEN_DAYS), h + hour())
                .await?
        }
        _ => BTreeMap::new(),
    };
    for (id, w) in &app.config.wards {
        if let Some(b) = w.beds {
            beds.insert(id.clone(), b);
        }
    }
    Ok(beds)
}

/// `GET /api/v1/hospital`: every ward, the hospital's stored totals and
/// each department's sums.
pub async fn hospital(app: &App, now: DateTime<Utc>) -> Result<HospitalOverview> {
    let (ds, wards) = ward_overviews(app, now, None).await?;
    let totals = match ds.hour {
        // several sources: each ward at its own source's hour, summed
        Some(_) if !ds.sources.is_empty() => {
            let mut sum = Totals::default();
            for w in &wards {
                sum.merge(&w.totals);
            }
            sum
        }
        Some(h) => app
            .store
            .unit_hours_at(Level::Hospital, &[h])
            .await?
            .into_iter()
            .next()
            .map(|u| u.totals)
            .unwrap_or_default(),
        None => Totals::default(),
    };
    let departments = department_summaries(app, app.config.departments.keys(), &wards);
    Ok(HospitalOverview {
        state: ds,
        totals,
        wards,
        departments,
    })
}

/// The wards an overview covers, asked of each ward id.
type WardFilter<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// The data state and each ward's overview row (its totals, beds,
/// occupancy, expected level and indicator) — of every ward, or of the
/// wards `only` keeps. The filter is applied before the expected levels'
/// reads, so one department's or hospital's overview reads its wards'
/// past hours alone.
async fn ward_overviews(
    app: &App,
    now: DateTime<Utc>,
    only: Option<WardFilter<'_>>,
) -> Result<(DataState, Vec<WardOverview>)> {
    let shown = Shown::read(app).await?;
    let mut wards = wards_at(app, &shown).await?;
    if let Some(keep) = only {
        wards.retain(|id, _| keep(id));
    }
    // the state of the sources of the wards shown (with named sources)
    let ds = match only {
        Some(_) if !shown.sources.is_empty() => {
            let mut of: Vec<&str> = wards.keys().filter_map(|w| shown.source_of(w)).collect();
            of.sort_unstable();
            of.dedup();
            state_of(app, &shown, Some(&of), now).await?
        }
        _ => state_of(app, &shown, None, now).await?,
    };
    let configured = |id: &str| app.config.wards.get(id).and_then(|w| w.beds);
    let beds = if only.is_some() && wards.keys().all(|id| configured(id).is_some()) {
        wards
            .keys()
            .filter_map(|id| configured(id).map(|b| (id.clone(), b)))
            .collect()
    } else {
        beds(app, None, ds.hour).await?
    };
    // the wards by the hour they are shown at: one group with the single
    // `[source]`; with named sources, each ward's expected level is of its
    // own hour
    let mut groups: BTreeMap<DateTime<Utc>, Vec<String>> = BTreeMap::new();
    for id in wards.keys() {
        if let Some(h) = shown.ward_hour(id) {
            groups.entry(h).or_default().push(id.clone());
        }
    }
    let every_ward = only.is_none() && groups.len() == 1;
    let mut by_week = BTreeMap::new();
    let mut by_day = BTreeMap::new();
    for (h, ids) in &groups {
        // every ward's rows at `hours`, or only the group's
        let rows_at = |hours: Vec<DateTime<Utc>>| async move {
            if every_ward {
                app.store.unit_hours_at(Level::Ward, &hours).await
            } else {
                app.store.ward_hours_at(ids, &hours).await
            }
        };
        let weekly = sums_by_ward(&rows_at(same_hour_of_week(*h, &app.tz(), EXPECTED_WEEKS)).await?);
        let young = ids
            .iter()
            .any(|id| weekly.get(id).is_none_or(|(_, n)| *n < MIN_SAMPLES));
        if young {
            by_day.extend(sums_by_ward(
                &rows_at(same_hour_of_day(*h, &app.tz(), FALLBACK_DAYS)).await?,
            ));
        }
        by_week.extend(weekly);
    }
    let stale_sources: Vec<&str> = ds.sources.iter().filter(|s| s.stale).map(|s| s.id.as_str()).collect();
    let wards = wards
        .into_iter()
        .map(|(id, t)| {
            let weekly = by_week.get(&id).copied().unwrap_or_default();
            let daily = by_day.get(&id).copied().unwrap_or_default();
            let (basis, (sum, samples)) = if weekly.1 < MIN_SAMPLES && daily.1 > weekly.1 {
                (ExpectedBasis::HourOfDay, daily)
            } else {
                (ExpectedBasis::HourOfWeek, weekly)
            };
            let expected = (samples > 0).then(|| Points::from_milli(div_round(sum, i64::from(samples))));
            let ward_beds = beds.get(&id).copied();
            WardOverview {
                name: app.ward_name(&id),
                totals: t,
                beds: ward_beds,
                occupancy: ward_beds
                    .filter(|b| *b > 0)
                    .map(|b| f64::from(t.patients) / f64::from(b)),
                expected,
                expected_samples: samples,
                expected_basis: basis,
                indicator: indicator(t.total, expected, samples),
                stale: shown.source_of(&id).is_some_and(|s| stale_sources.contains(&s)),
                id,
            }
        })
        .collect();
    Ok((ds, wards))
}

/// The departments `ids` with the sums of their wards in `wards` (a ward
/// configured for a department but not in the data counts nothing).
fn department_summaries<'a>(
    app: &App,
    ids: impl IntoIterator<Item = &'a String>,
    wards: &[WardOverview],
) -> Vec<DepartmentSummary> {
    ids.into_iter().map(|id| department_summary(app, id, wards)).collect()
}

/// The sums of `members`: patients, points, components and professions
/// added; beds and occupancy over the wards whose beds are known; the
/// expected level the sum of their expected levels (when every ward has
/// one), judged like a ward's on the fewest samples. What a department, a
/// hospital, the region and a page's foot show.
pub fn ward_sums<'a>(members: impl IntoIterator<Item = &'a WardOverview>) -> WardSums {
    let members: Vec<&WardOverview> = members.into_iter().collect();
    let mut totals = Totals::default();
    for w in &members {
        totals.merge(&w.totals);
    }
    let beds: Option<u32> = members.iter().filter_map(|w| w.beds).reduce(|a, b| a + b);
    let patients_with_beds: u32 = members
        .iter()
        .filter(|w| w.beds.is_some())
        .map(|w| w.totals.patients)
        .sum();
    let expected = if members.is_empty() {
        None
    } else {
        members
            .iter()
            .map(|w| w.expected)
            .try_fold(Points::ZERO, |sum, e| e.map(|e| sum + e))
    };
    let expected_samples = members.iter().map(|w| w.expected_samples).min().unwrap_or(0);
    WardSums {
        stale: members.iter().any(|w| w.stale),
        wards: members.iter().map(|w| w.id.clone()).collect(),
        totals,
        beds,
        occupancy: beds
            .filter(|b| *b > 0)
            .map(|b| f64::from(patients_with_beds) / f64::from(b)),
        expected,
        expected_samples,
        indicator: indicator(totals.total, expected, expected_samples),
    }
}

/// One department's sums over its wards in `wards` ([`ward_sums`]; every
/// configured ward is among `wards`, so its ward list is the configured one).
fn department_summary(app: &App, id: &str, wards: &[WardOverview]) -> DepartmentSummary {
    DepartmentSummary {
        id: id.to_owned(),
        name: app.config.department_name(id),
        sums: ward_sums(wards.iter().filter(|w| app.config.department_of(&w.id) == Some(id))),
    }
}

/// One hospital's sums over its wards in `wards` ([`ward_sums`]), as a
/// department's.
fn hospital_summary(app: &App, id: &str, wards: &[WardOverview]) -> HospitalSummary {
    HospitalSummary {
        id: id.to_owned(),
        name: app.config.hospital_name(id),
        departments: app.config.hospital_departments(id),
        sums: ward_sums(wards.iter().filter(|w| app.config.hospital_of(&w.id) == Some(id))),
    }
}

/// `GET /api/v1/departments/{id}`: the department's sums and each of its
/// wards, as the hospital overview shows them (only its wards' past hours
/// are read).
///
/// # Errors
/// [`Error::UnknownDepartment`] for a department not configured; the store's.
pub async fn department(app: &App, id: &str, now: DateTime<Utc>) -> Result<DepartmentOverview> {
    if !app.config.departments.contains_key(id) {
        return Err(Error::UnknownDepartment {
            department: id.to_owned(),
            known: app.config.departments.keys().cloned().collect(),
        });
    }
    let keep = |w: &str| app.config.department_of(w) == Some(id);
    let (state, wards) = ward_overviews(app, now, Some(&keep)).await?;
    Ok(DepartmentOverview {
        state,
        department: department_summary(app, id, &wards),
        wards,
    })
}

/// `GET /api/v1/region`: each configured hospital's sums, the wards of no
/// hospital as one group, and the region's (every ward's) sums.
///
/// # Errors
/// The store's.
pub async fn region(app: &App, now: DateTime<Utc>) -> Result<RegionOverview> {
    let (state, wards) = ward_overviews(app, now, None).await?;
    let hospitals = app
        .config
        .hospitals
        .keys()
        .map(|id| hospital_summary(app, id, &wards))
        .collect();
    let apart: Vec<&WardOverview> = wards
        .iter()
        .filter(|w| app.config.hospital_of(&w.id).is_none())
        .collect();
    let without_hospital = (!apart.is_empty()).then(|| ward_sums(apart));
    Ok(RegionOverview {
        state,
        region: ward_sums(&wards),
        hospitals,
        without_hospital,
    })
}

/// `GET /api/v1/hospitals/{id}`: the hospital's sums, each of its wards
/// and each of its departments' sums, as the hospital overview shows them
/// (only its wards' past hours are read).
///
/// # Errors
/// [`Error::UnknownHospital`] for a hospital not configured; the store's.
pub async fn hospital_of(app: &App, id: &str, now: DateTime<Utc>) -> Result<HospitalView> {
    if !app.config.hospitals.contains_key(id) {
        return Err(Error::UnknownHospital {
            hospital: id.to_owned(),
            known: app.config.hospitals.keys().cloned().collect(),
        });
    }
    let keep = |w: &str| app.config.hospital_of(w) == Some(id);
    let (state, wards) = ward_overviews(app, now, Some(&keep)).await?;
    let departments = department_summaries(app, &app.config.hospital_departments(id), &wards);
    Ok(HospitalView {
        state,
        hospital: hospital_summary(app, id, &wards),
        wards,
        departments,
    })
}

fn div_round(n: i64, d: i64) -> i64 {
    if d == 0 {
        return 0;
    }
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d.abs() {
        q + n.signum() * d.signum()
    } else {
        q
    }
}

/// Quartiles (nearest rank) of ascending totals.
pub fn quartiles(sorted: &[Points]) -> Option<[Points; 3]> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = |p: usize| sorted[((p * n).div_ceil(100)).clamp(1, n) - 1];
    Some([rank(25), rank(50), rank(75)])
}

/// The band of `total` given the hospital's quartiles.
pub fn band(total: Points, q: Option<[Points; 3]>) -> Band {
    match q {
        None => Band::Low,
        Some([q1, q2, q3]) => {
            if total <= q1 {
                Band::Low
            } else if total <= q2 {
                Band::Moderate
            } else if total <= q3 {
                Band::High
            } else {
                Band::VeryHigh
            }
        }
    }
}

/// A patient's row from their stored snapshot and score.
pub fn patient_row(s: &Snapshot, score: &Score, q: Option<[Points; 3]>) -> PatientRow {
    PatientRow {
        key: s.key.0.clone(),
        team: s.placement.team.clone(),
        bed: s.placement.bed.clone(),
        sex: s.sex,
        birth_year: s.birth_year,
        admitted_at: s.admitted_at,
        outlying: s.outlying,
        norton: s.norton.as_ref().map(|n| n.activity),
        norton_total: s.norton.as_ref().and_then(|n| n.total),
        emotional_support: s.emotional_support.as_ref().map(|e| e.level),
        news2: score.news2.map(|n| n.value),
        news2_risk: score.news2.map(|n| n.risk),
        medications: u32::try_from(s.medications.len()).unwrap_or(u32::MAX),
        orders: u32::try_from(s.orders.len()).unwrap_or(u32::MAX),
        total: score.total,
        usk: score.professions.usk,
        ssk: score.professions.ssk,
        components: Component::ALL
            .into_iter()
            .map(|c| (c.key().to_owned(), score.components.get(c)))
            .collect(),
        band: band(score.total, q),
        adl: s.adl.clone(),
        unmatched: u32::try_from(score.unmatched.len()).unwrap_or(u32::MAX),
    }
}

async fn hospital_quartiles(app: &App, hour: DateTime<Utc>) -> Result<Option<[Points; 3]>> {
    Ok(quartiles(&app.store.patient_totals(hour).await?))
}

/// `GET /api/v1/wards/{id}`.
pub async fn ward(app: &App, id: &str, now: DateTime<Utc>) -> Result<WardView> {
    let shown = Shown::read(app).await?;
    let ds = ward_state(app, &shown, id, now).await?;
    let totals = known_ward(app, id, &shown).await?;
    let beds = beds(app, Some(id), ds.hour).await?.get(id).copied();
    let (teams, mut patients) = match ds.hour {
        Some(h) => {
            let teams = app
                .store
                .team_hours(id, h, h + hour())
                .await?
                .into_iter()
                .map(|u| TeamView {
                    name: app.team_name(id, &u.team),
                    team: u.team,
                    totals: u.totals,
                })
                .collect();
            let q = hospital_quartiles(app, h).await?;
            let patients: Vec<PatientRow> = app
                .store
                .ward_patients(id, h)
                .await?
                .iter()
                .map(|(s, score)| patient_row(s, score, q))
                .collect();
            (teams, patients)
        }
        None => (Vec::new(), Vec::new()),
    };
    patients.sort_by(|a, b| (&a.team, &a.bed, &a.key).cmp(&(&b.team, &b.bed, &b.key)));
    Ok(WardView {
        id: id.to_owned(),
        name: app.ward_name(id),
        state: ds,
        totals,
        beds,
        teams,
        patients,
    })
}

/// The history range: defaults, order and maximum checked.
///
/// # Errors
/// [`Error::EmptyRange`], [`Error::RangeTooLarge`].
pub fn history_range(
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    shown: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    max_days: u32,
) -> Result<(DateTime<Utc>, DateTime<Utc>)> {
    let to = to.unwrap_or_else(|| shown.unwrap_or_else(|| careload_store::hour_of(now)) + hour());
    let from = from.unwrap_or(to - Duration::hours(DEFAULT_HISTORY_HOURS));
    if from >= to {
        return Err(Error::EmptyRange);
    }
    if to - from > Duration::days(i64::from(max_days)) {
        let secs = (to - from).num_seconds();
        return Err(Error::RangeTooLarge {
            days: (secs + 86_399) / 86_400,
            max: max_days,
        });
    }
    Ok((from, to))
}

/// `GET /api/v1/wards/{id}/history`.
pub async fn ward_history(
    app: &App,
    id: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<WardHistory> {
    let seen = Shown::read(app).await?;
    let shown = seen.ward_hour(id);
    let (from, to) = history_range(from, to, shown, now, app.config.api.max_range_days)?;
    // independent reads, each on a connection of its own
    let store = &app.store;
    let current_hour = async {
        match shown {
            Some(h) => store.patient_hours(id, h, h + hour()).await,
            None => Ok(Vec::new()),
        }
    };
    let (_, ward_hours, team_hours, current, patient_series) = tokio::try_join!(
        known_ward(app, id, &seen),
        async { Ok(store.unit_totals(Level::Ward, id, from, to).await?) },
        async { Ok(store.unit_totals(Level::Team, id, from, to).await?) },
        async { Ok(current_hour.await?) },
        async { Ok(store.ward_patient_series(id, from, to).await?) },
    )?;
    let ward = Series {
        name: "ward".into(),
        points: ward_hours
            .into_iter()
            .map(|(hour, _, total)| Point { hour, total })
            .collect(),
    };
    let mut teams: BTreeMap<String, Vec<Point>> = BTreeMap::new();
    for (hour, team, total) in team_hours {
        teams.entry(team).or_default().push(Point { hour, total });
    }
    // the graphs are of the patients there now
    let mut patients: BTreeMap<String, Vec<Point>> = current.into_iter().map(|p| (p.key.0, Vec::new())).collect();
    for (key, series) in patient_series {
        if let Some(points) = patients.get_mut(&key.0) {
            points.extend(series.into_iter().map(|(hour, total)| Point { hour, total }));
        }
    }
    let series = |m: BTreeMap<String, Vec<Point>>| -> Vec<Series> {
        m.into_iter()
            .map(|(name, mut points)| {
                points.sort_by_key(|p| p.hour);
                Series { name, points }
            })
            .collect()
    };
    Ok(WardHistory {
        id: id.to_owned(),
        from,
        to,
        ward,
        teams: series(teams),
        patients: series(patients),
    })
}

/// A copy of the snapshot without FHIR references, so that descriptions
/// name items by code only.
fn without_references(s: &Snapshot) -> Snapshot {
    let mut s = s.clone();
    s.activities.iter_mut().for_each(|a| a.source = None);
    s.medications.iter_mut().for_each(|m| m.source = None);
    s.news2.iter_mut().for_each(|n| n.source = None);
    s.vitals.iter_mut().for_each(|v| v.source = None);
    s.orders.iter_mut().for_each(|o| o.source = None);
    s.care_plans.iter_mut().for_each(|c| c.source = None);
    s.diagnoses.iter_mut().for_each(|d| d.source = None);
    if let Some(e) = s.emotional_support.as_mut() {
        e.source = None;
    }
    s
}

/// The code and due time of the item a contribution came from (see
/// [`ContributionView::code`]).
fn item_code(source: careload_scoring::score::Source, s: &Snapshot) -> (Option<String>, Option<DateTime<Utc>>) {
    use careload_scoring::score::Source;
    let at = |i: u32| i as usize;
    match source {
        Source::Activity(i) => s
            .activities
            .get(at(i))
            .map_or((None, None), |a| (Some(a.code.to_string()), a.due)),
        Source::Medication(i) => (s.medications.get(at(i)).map(|m| m.route.key().to_owned()), None),
        Source::Order(i) => s
            .orders
            .get(at(i))
            .map_or((None, None), |o| (Some(o.category.to_string()), o.due)),
        Source::CarePlan(i) => (s.care_plans.get(at(i)).map(|c| c.category.to_string()), None),
        Source::Diagnosis(i) => (s.diagnoses.get(at(i)).map(|d| d.code.to_string()), None),
        Source::EmotionalSupport => (s.emotional_support.as_ref().map(|e| e.level.key().to_owned()), None),
        Source::News2(_) | Source::Vitals(_) | Source::Patient => (None, None),
    }
}

/// `GET /api/v1/patients/{key}`.
pub async fn patient(app: &App, key: &str, now: DateTime<Utc>) -> Result<PatientDetail> {
    let shown = Shown::read(app).await?;
    let hours = shown.hours();
    if hours.is_empty() {
        return Err(Error::NoData);
    }
    let key = PatientKey(key.to_owned());
    // the patient's ward is shown at its source's hour: the newest hour
    // they are in whose ward is shown at it
    let mut found = None;
    for h in hours {
        if let Some((snapshot, score)) = app.store.patient_snapshot(h, &key).await?
            && shown.ward_hour(&snapshot.placement.ward) == Some(h)
        {
            found = Some((h, snapshot, score));
            break;
        }
    }
    let Some((h, snapshot, score)) = found else {
        return Err(Error::UnknownPatient);
    };
    let ds = ward_state(app, &shown, &snapshot.placement.ward, now).await?;
    let weights_version = app
        .store
        .patient_hours(&snapshot.placement.ward, h, h + hour())
        .await?
        .into_iter()
        .find(|p| p.key == key)
        .map(|p| p.weights_version);
    let previous_hour = h - hour();
    let previous = app.store.patient_snapshot(previous_hour, &key).await?;
    let q = hospital_quartiles(app, h).await?;
    let plain = without_references(&snapshot);
    let contributions = score
        .contributions
        .iter()
        .map(|c| (c, item_code(c.source, &plain)))
        .map(|(c, (code, due))| ContributionView {
            component: c.component,
            profession: c.profession,
            parameter: c.parameter,
            parameter_path: describe_parameter(c.parameter, c.source, &plain, &app.weights()),
            source: c.source,
            item: describe_source(c.source, &plain),
            code,
            due,
            weight: c.weight,
            quantity: c.quantity,
            points: c.points,
        })
        .collect();
    let change = previous
        .as_ref()
        .map(|(ps, pscore)| careload_scoring::change::change((ps, pscore), (&snapshot, &score)));
    Ok(PatientDetail {
        state: ds,
        hour: h,
        ward: snapshot.placement.ward.clone(),
        team_name: snapshot
            .placement
            .team
            .as_deref()
            .map(|t| app.team_name(&snapshot.placement.ward, t)),
        patient: patient_row(&snapshot, &score, q),
        news2_measurements_24h: score.news2_measurements_24h,
        weights_version,
        contributions,
        previous_hour,
        change,
    })
}

/// The patient in bed `bed` of ward `ward` at the hour shown, as
/// [`patient`] describes them: the patient page (`/wards/{id}/beds/{bed}`).
/// `bed` is the bed as the ward screen shows it
/// ([`crate::view::short_label`]: `r03-b2` for `w1-r03-b2`, letter case
/// aside) or its full id.
///
/// # Errors
/// [`Error::UnknownWard`], [`Error::NoData`], [`Error::EmptyBed`].
pub async fn patient_at_bed(app: &App, ward: &str, bed: &str, now: DateTime<Utc>) -> Result<PatientDetail> {
    let seen = Shown::read(app).await?;
    known_ward(app, ward, &seen).await?;
    let Some(h) = seen.ward_hour(ward) else {
        return Err(Error::NoData);
    };
    let rows = app.store.patient_hours(ward, h, h + hour()).await?;
    let at = |exact: bool| {
        rows.iter().find(|p| {
            p.bed.as_deref().is_some_and(|b| {
                if exact {
                    b == bed
                } else {
                    crate::view::short_label(b, ward).eq_ignore_ascii_case(bed)
                }
            })
        })
    };
    match at(true).or_else(|| at(false)) {
        Some(p) => patient(app, &p.key.0, now).await,
        None => Err(Error::EmptyBed {
            ward: ward.to_owned(),
            bed: bed.to_owned(),
        }),
    }
}

/// `GET /api/v1/wards/{id}/forecast`: scored from the stored snapshots of the
/// hour shown under the weights in force, on a blocking thread.
pub async fn forecast(app: &App, id: &str, now: DateTime<Utc>) -> Result<WardForecast> {
    let seen = Shown::read(app).await?;
    known_ward(app, id, &seen).await?;
    let shown = seen.ward_hour(id);
    let hours = app.config.scoring.forecast_hours;
    let snapshots: Vec<Snapshot> = match shown {
        Some(h) => app
            .store
            .ward_patients(id, h)
            .await?
            .into_iter()
            .map(|(s, _)| s)
            .collect(),
        None => Vec::new(),
    };
    let weights = app.weights();
    let per_patient = tokio::task::spawn_blocking(move || {
        snapshots
            .iter()
            .map(|s| {
                let totals: Vec<Points> = careload_scoring::forecast(s, &weights, hours)
                    .iter()
                    .map(|sc| sc.total)
                    .collect();
                (s.key.0.clone(), s.placement.team.clone(), totals)
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| Error::Internal(format!("forecast task: {e}")))?;

    let n = hours as usize;
    let mut ward = vec![Points::ZERO; n];
    let mut teams: BTreeMap<String, Vec<Points>> = BTreeMap::new();
    let mut patients = Vec::new();
    for (key, team, totals) in per_patient {
        let team_line = teams
            .entry(team.unwrap_or_else(|| NO_TEAM.to_owned()))
            .or_insert_with(|| vec![Points::ZERO; n]);
        for (i, t) in totals.iter().enumerate() {
            ward[i] += *t;
            team_line[i] += *t;
        }
        patients.push(ForecastSeries { name: key, totals });
    }
    let start = shown.unwrap_or_else(|| careload_store::hour_of(now));
    Ok(WardForecast {
        id: id.to_owned(),
        hour: shown,
        weights_version: app.weights().meta.version.clone(),
        hours: (0..i64::from(hours)).map(|h| start + Duration::hours(h)).collect(),
        ward: ForecastSeries {
            name: "ward".into(),
            totals: ward,
        },
        teams: teams
            .into_iter()
            .map(|(name, totals)| ForecastSeries { name, totals })
            .collect(),
        patients,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: i64) -> Points {
        Points::whole(x)
    }

    #[test]
    fn indicator_rule() {
        let cases = [
            (p(100), Some(p(100)), 10, Indicator::AsExpected),
            (p(115), Some(p(100)), 10, Indicator::AsExpected),
            (Points::from_milli(115_001), Some(p(100)), 10, Indicator::Higher),
            (p(85), Some(p(100)), 10, Indicator::AsExpected),
            (Points::from_milli(84_999), Some(p(100)), 10, Indicator::Lower),
            (p(500), Some(p(100)), 3, Indicator::TooLittleData),
            (p(5), None, 0, Indicator::TooLittleData),
            (p(0), Some(p(0)), 4, Indicator::AsExpected),
            (p(1), Some(p(0)), 4, Indicator::Higher),
        ];
        for (current, expected, samples, want) in cases {
            assert_eq!(
                indicator(current, expected, samples),
                want,
                "{current} vs {expected:?} ({samples})"
            );
        }
    }

    #[test]
    fn quartile_bands() {
        let totals: Vec<Points> = (1..=8).map(p).collect();
        let q = quartiles(&totals);
        assert_eq!(q, Some([p(2), p(4), p(6)]));
        let cases = [
            (1, Band::Low),
            (2, Band::Low),
            (3, Band::Moderate),
            (5, Band::High),
            (7, Band::VeryHigh),
        ];
        for (t, want) in cases {
            assert_eq!(band(p(t), q), want, "{t}");
        }
        assert_eq!(quartiles(&[]), None);
    }

    #[test]
    fn same_hour_of_day_steps_back_one_local_day_at_a_time() {
        let tz = chrono_tz::Europe::Stockholm;
        // 2026-10-26 09:00 local (CET) is 08:00Z; the day before the clocks
        // went back (CEST), 09:00 local was 07:00Z.
        let h = Utc.with_ymd_and_hms(2026, 10, 26, 8, 0, 0).unwrap();
        let past = same_hour_of_day(h, &tz, 28);
        assert_eq!(past.len(), 28);
        assert_eq!(past[0], Utc.with_ymd_and_hms(2026, 10, 25, 8, 0, 0).unwrap());
        assert_eq!(past[1], Utc.with_ymd_and_hms(2026, 10, 24, 7, 0, 0).unwrap());
    }

    #[test]
    fn same_hour_of_week_follows_local_time_across_dst() {
        let tz: chrono_tz::Tz = chrono_tz::Europe::Stockholm;
        // Monday 2026-11-23 12:00 UTC = 13:00 CET.
        let h: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap_or_default();
        let past = same_hour_of_week(h, &tz, 52);
        assert_eq!(past.len(), 52);
        assert_eq!(past[0], h - Duration::days(7));
        // In summer (CEST) the same local 13:00 is 11:00 UTC.
        let summer: DateTime<Utc> = "2026-07-20T11:00:00Z".parse().unwrap_or_default();
        assert!(past.contains(&summer), "{past:?}");
    }

    #[test]
    fn history_range_defaults_and_limits() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap_or_default();
        let now = t("2026-11-23T12:34:00Z");
        let shown = Some(t("2026-11-23T11:00:00Z"));
        let (from, to) = history_range(None, None, shown, now, 400).unwrap_or_default();
        assert_eq!((from, to), (t("2026-11-18T12:00:00Z"), t("2026-11-23T12:00:00Z")));
        assert!(matches!(
            history_range(Some(t("2020-01-01T00:00:00Z")), None, shown, now, 400),
            Err(Error::RangeTooLarge { max: 400, .. })
        ));
        assert!(matches!(
            history_range(Some(now), Some(now), shown, now, 400),
            Err(Error::EmptyRange)
        ));
    }
}
