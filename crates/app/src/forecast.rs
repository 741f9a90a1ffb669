//! The scheduled forecast's own past errors, learnt from the stored hours,
//! and the next shifts' need with its uncertainty (issue 28).
//!
//! # Learning
//!
//! For every stored hour, [`Learner::learn`] re-forecasts each ward's next
//! shift and the one after from the snapshots stored that hour, under the
//! weights in force (what the scheduled forecast would have said then: the
//! same code as the planning page's, [`scheduled_needs`]), per ward and per
//! team, and keeps it pending. Once a shift has ended and every one of its
//! hours is stored, the points stored over it (what happened) turn each
//! pending forecast of it into a [`careload_planning::uncertainty::ErrorSample`]
//! of its scope, at its notice (`lead`: whole hours from the snapshots'
//! instant to the shift's start). A shift with a missing hour (a failed run)
//! is left out and counted ([`Learner::gaps`]); an unreadable snapshot is
//! left out of its hour and counted.
//!
//! The learner is incremental: each call forecasts from the hours stored
//! since the last and resolves the shifts that have ended, and forgets
//! samples older than the window. The application keeps one for the
//! service ([`App::forecast_learner`]), brought up to date by [`refresh`]
//! in the background (`careload serve` after it starts and after each
//! hourly run) and by a planning request that finds it free within
//! [`LEARNING_WAIT`] (else the request shows the schedule alone, saying
//! why: [`LEARNING`]); the back-test
//! (`careload forecast backtest`) builds its own over the learning period
//! only.
//!
//! The method that turns the samples into P10/P50/P90 and a risk is
//! `careload_planning::uncertainty`'s.
//!
//! Stored hours were scored by the weights in force when they were written;
//! after a council activation the realised side mixes the old weights' points
//! with forecasts under the new until the window has passed.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use careload_planning::flow::{CensusHour, Flow, FlowLearner, ShiftFlow};
use careload_planning::uncertainty::{ErrorModel, ErrorSample, Evaluation, Evaluator, Prediction, Risk};
use careload_planning::{
    PatientForecast, ShiftNeed, ShiftPlanned, WardPlan, forecast_hours_needed, shift_need, staff_hours_for,
};
use careload_scoring::aggregate::NO_TEAM;
use careload_scoring::score::{Component, Components, Split};
use careload_scoring::shift::{ShiftPlan, ShiftWindow};
use careload_scoring::snapshot::Profession;
use careload_scoring::{Qty, Snapshot, Weights, forecast};
use careload_store::Level;
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::{App, Error, Result};

/// A scope the errors are learnt for: a ward, or one of its teams.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    /// The ward.
    pub ward: String,
    /// The team; none for the whole ward.
    pub team: Option<String>,
}

impl Scope {
    /// The whole ward `ward`.
    #[must_use]
    pub fn ward(ward: &str) -> Scope {
        Scope {
            ward: ward.to_owned(),
            team: None,
        }
    }

    /// Team `team` of ward `ward`.
    #[must_use]
    pub fn team(ward: &str, team: &str) -> Scope {
        Scope {
            ward: ward.to_owned(),
            team: Some(team.to_owned()),
        }
    }
}

/// Points per profession and per component.
type Need = (Split, Components);

/// A unit's stored points by hour.
type StoredHours = BTreeMap<DateTime<Utc>, Need>;

/// A forecast made, waiting for its shift to end.
#[derive(Clone, Debug)]
struct Pending {
    scope: Scope,
    shift: ShiftWindow,
    lead: u32,
    scheduled: Split,
    components: Components,
}

/// The scheduled forecast's past errors per scope (see the module doc).
#[derive(Debug, Default)]
pub struct Learner {
    models: BTreeMap<Scope, ErrorModel>,
    pending: Vec<Pending>,
    /// Hours before this have been forecast from.
    through: Option<DateTime<Utc>>,
    /// Shifts left out because an hour of theirs was not stored.
    pub gaps: u64,
    /// Stored patient-hours whose snapshot did not read, left out.
    pub unreadable: u64,
    /// Stored hours forecast from.
    pub hours: u64,
    /// Stored hours left out because learning them failed (logged).
    pub failed_hours: u64,
    /// Wards left out because their shift plan or care category does not
    /// resolve (the planning page says why for its own ward).
    pub skipped_wards: BTreeSet<String>,
    /// Per ward, the scheduled forecast of its next two shifts from the
    /// latest hour learnt ([`hospital_forecasts`] prices them without
    /// reading or forecasting again).
    latest: BTreeMap<String, Latest>,
    /// Per ward, its arrivals and departures learnt from the same hours.
    flows: BTreeMap<String, FlowLearner>,
}

/// A ward's scheduled forecast from the latest hour learnt.
#[derive(Clone, Debug)]
pub struct Latest {
    /// The stored hour.
    pub hour: DateTime<Utc>,
    /// Its patients' latest instant (the forecast's notice counts from it).
    pub as_of: DateTime<Utc>,
    /// The next shift's and the one after's scheduled need.
    pub needs: Vec<ShiftNeed>,
}

/// Whole hours from `from` to `to`, rounded up; 0 when `to` is not later.
#[must_use]
pub fn lead_hours(from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    let minutes = (to - from).num_minutes().max(0);
    u32::try_from((minutes + 59) / 60).unwrap_or(u32::MAX)
}

/// The next shift after `t` and the one after it.
#[must_use]
pub fn next_two(plan: &ShiftPlan, t: DateTime<Utc>, tz: &chrono_tz::Tz) -> [ShiftWindow; 2] {
    let next = plan.next_shift(t, tz);
    let after = plan.next_shift(next.window.start, tz);
    [next, after]
}

/// The scheduled forecast of `shifts` for `patients` forecast from `as_of`
/// under `weights`, with the care category's `factors`: the planning page's
/// need and the learner's.
#[must_use]
pub fn scheduled_needs(
    weights: &Weights,
    factors: careload_scoring::weights::StaffHours,
    patients: &[&Snapshot],
    as_of: DateTime<Utc>,
    shifts: &[ShiftWindow],
) -> Vec<ShiftNeed> {
    let refs: Vec<&ShiftWindow> = shifts.iter().collect();
    let hours = forecast_hours_needed(as_of, &refs);
    let fc: Vec<PatientForecast> = patients
        .iter()
        .map(|s| {
            let p = &s.placement;
            PatientForecast::from_scores(
                s.key.0.clone(),
                p.team.clone(),
                p.room.clone(),
                p.bed.clone(),
                &forecast(s, weights, hours),
            )
        })
        .collect();
    shifts.iter().map(|s| shift_need(&fc, s, factors)).collect()
}

/// Each ward's shift plan and care category's factors (none when they do
/// not resolve: the ward is skipped and listed).
type Plans = HashMap<String, Option<(ShiftPlan, careload_scoring::weights::StaffHours)>>;

/// What one stored hour teaches the learner.
#[derive(Default)]
struct HourLearnt {
    pending: Vec<Pending>,
    latest: Vec<(String, Latest)>,
    /// Per ward, who was there and their stored points.
    census: BTreeMap<String, BTreeMap<String, careload_scoring::Points>>,
    /// Wards with a row whose snapshot did not read: their census is not
    /// whole, so the hour is a gap in their flow.
    partial: BTreeSet<String>,
    unreadable: u64,
    skipped: Vec<String>,
}

/// Decodes one stored hour's snapshots and forecasts each ward's next two
/// shifts from them (pure CPU work, run on a blocking thread).
fn learn_hour(
    weights: &Weights,
    plans: &Plans,
    tz: &chrono_tz::Tz,
    hour: DateTime<Utc>,
    rows: Vec<careload_store::StoredPatientHour>,
) -> HourLearnt {
    let mut out = HourLearnt::default();
    let mut wards: BTreeMap<String, Vec<Snapshot>> = BTreeMap::new();
    for row in rows {
        match careload_store::read_snapshot(&row.snapshot) {
            Ok(s) => {
                out.census
                    .entry(row.ward.clone())
                    .or_default()
                    .insert(s.key.0.clone(), row.total);
                wards.entry(row.ward).or_default().push(s);
            }
            Err(_) => {
                out.unreadable += 1;
                out.partial.insert(row.ward);
            }
        }
    }
    for (ward, patients) in wards {
        let Some((plan, factors)) = plans.get(&ward).and_then(Option::as_ref) else {
            out.skipped.push(ward);
            continue;
        };
        let Some(as_of) = patients.iter().map(|s| s.as_of).max() else {
            continue;
        };
        let shifts = next_two(plan, as_of, tz);
        let refs: Vec<&Snapshot> = patients.iter().collect();
        let needs = scheduled_needs(weights, *factors, &refs, as_of, &shifts);
        for need in &needs {
            let lead = lead_hours(as_of, need.shift.window.start);
            out.pending.push(Pending {
                scope: Scope::ward(&ward),
                shift: need.shift.clone(),
                lead,
                scheduled: need.ward.professions,
                components: need.ward.components,
            });
            for (team, line) in need.teams.iter().filter(|(t, _)| t.as_str() != NO_TEAM) {
                out.pending.push(Pending {
                    scope: Scope::team(&ward, team),
                    shift: need.shift.clone(),
                    lead,
                    scheduled: line.professions,
                    components: line.components,
                });
            }
        }
        out.latest.push((ward, Latest { hour, as_of, needs }));
    }
    out
}

impl Learner {
    /// The errors learnt for `scope`, if any.
    #[must_use]
    pub fn model(&self, scope: &Scope) -> Option<&ErrorModel> {
        self.models.get(scope)
    }

    /// Every scope's errors.
    #[must_use]
    pub fn models(&self) -> &BTreeMap<Scope, ErrorModel> {
        &self.models
    }

    /// Hours before this have been learnt from.
    #[must_use]
    pub fn through(&self) -> Option<DateTime<Utc>> {
        self.through
    }

    /// Per ward, the scheduled forecast from the latest hour learnt.
    #[must_use]
    pub fn latest(&self) -> &BTreeMap<String, Latest> {
        &self.latest
    }

    /// Ward `ward`'s arrivals and departures per hour of the week, learnt
    /// from the same stored hours as the errors; none before it was seen.
    #[must_use]
    pub fn flow(&self, ward: &str) -> Option<Flow> {
        self.flows.get(ward).map(FlowLearner::flow)
    }

    /// Sets `scope`'s errors (benchmarks and tests that bring their own).
    pub fn insert_model(&mut self, scope: Scope, model: ErrorModel) {
        self.models.insert(scope, model);
    }

    /// Forecasts from each stored hour in `[from, to)` not yet forecast
    /// from, resolves every pending shift that ended by `to` (each day of
    /// hours as it goes, so that few forecasts wait), and forgets samples of
    /// shifts before `forget_before`.
    ///
    /// Each hour is learnt whole or not at all: a store failure leaves
    /// [`Learner::through`] after the last hour learnt, so the next call
    /// goes on from there without counting an hour twice. A ward whose shift
    /// plan or care category does not resolve is left out and counted
    /// ([`Learner::skipped_wards`]), not a failure of every ward. An hour
    /// whose learning panics is left out, logged and counted
    /// ([`Learner::failed_hours`]), so one bad hour cannot stop the learner.
    ///
    /// # Errors
    /// The store failing; the blocking pool refusing the work (shutting down).
    pub async fn learn(
        &mut self,
        app: &App,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        forget_before: NaiveDate,
    ) -> Result<()> {
        let from = self.through.map_or(from, |t| t.max(from));
        let weights = app.weights();
        let tz = app.tz();
        let mut plans: Plans = HashMap::new();
        // several sources: a ward's hour its source did not write is a gap
        // in its flow, not an empty ward
        let written = SourceHours::read(app, from, to).await?;
        for (i, hour) in app.store.stored_hours(from, to).await?.into_iter().enumerate() {
            let rows = app.store.stored_patient_hours(hour).await?;
            for r in &rows {
                if !plans.contains_key(&r.ward) {
                    let plan = app.shift_plan(&r.ward).ok();
                    let factors = staff_hours_for(&weights, &app.care_category(&r.ward)).ok();
                    plans.insert(r.ward.clone(), plan.zip(factors));
                }
            }
            // decoding and forecasting ~1,000 patients is CPU work: off the
            // async workers, so that the API answers while a region's
            // history is learnt
            let w = weights.clone();
            let job = tokio::task::spawn_blocking(move || {
                let learnt = learn_hour(&w, &plans, &tz, hour, rows);
                (plans, learnt)
            })
            .await;
            let learnt = match job {
                Ok((back, learnt)) => {
                    plans = back;
                    learnt
                }
                Err(e) if e.is_panic() => {
                    // a stored hour that makes the forecast panic must not
                    // stop the learner at it for good: leave it out, counted
                    tracing::error!(%hour, "learning the forecast's errors: the hour could not be learnt and is left out");
                    self.failed_hours += 1;
                    plans = HashMap::new();
                    HourLearnt::default()
                }
                Err(e) => return Err(Error::Internal(format!("learning the forecast's errors: {e}"))),
            };
            // the hour is learnt: keep what it made
            self.pending.extend(learnt.pending);
            self.unreadable += learnt.unreadable;
            self.skipped_wards.extend(learnt.skipped);
            self.hours += 1;
            // a ward with nobody stored this hour has no latest forecast
            self.latest.retain(|_, l| l.hour >= hour);
            self.latest.extend(learnt.latest);
            let local = hour.with_timezone(&tz).naive_local();
            let mut census = learnt.census;
            // a ward seen before with nobody this hour: an empty census, not a gap
            for ward in self.flows.keys() {
                census.entry(ward.clone()).or_default();
            }
            for (ward, patients) in census {
                let flow = self.flows.entry(ward.clone()).or_default();
                if learnt.partial.contains(&ward) || !written.wrote(&ward, hour) {
                    flow.gap(hour);
                } else {
                    flow.add(CensusHour { hour, local, patients });
                }
            }
            let next = hour + Duration::hours(1);
            self.through = Some(self.through.map_or(next, |t| t.max(next)));
            if i % 24 == 23 {
                self.resolve(app, next).await?;
            }
        }
        self.through = Some(self.through.map_or(to, |t| t.max(to)));
        self.resolve(app, to).await?;
        for m in self.models.values_mut() {
            m.forget_before(forget_before);
        }
        self.models.retain(|_, m| !m.samples().is_empty());
        let forget_at = tz
            .from_local_datetime(&forget_before.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or_else(
                || forget_before.and_time(chrono::NaiveTime::MIN).and_utc(),
                |t| t.with_timezone(&Utc),
            );
        for f in self.flows.values_mut() {
            f.forget_before(forget_at);
        }
        Ok(())
    }

    /// Turns the pending forecasts of shifts that ended by `to` into
    /// samples. An hour counts as stored when the run wrote it
    /// (`Store::stored_hours`); a ward or team with no row in a stored hour
    /// had nobody, 0 points. A shift with an hour not stored is left out
    /// ([`Learner::gaps`], once per scope and shift). The hours at the
    /// shift's ends count by their minutes inside it, as the forecast does.
    async fn resolve(&mut self, app: &App, to: DateTime<Utc>) -> Result<()> {
        let Some(first) = self
            .pending
            .iter()
            .filter(|p| p.shift.window.end <= to)
            .map(|p| p.shift.window.start)
            .min()
        else {
            return Ok(());
        };
        // read everything before taking anything out of `pending`
        let from = careload_store::hour_of(first);
        let hours: BTreeSet<DateTime<Utc>> = app.store.stored_hours(from, to).await?.into_iter().collect();
        // several sources: a ward's stored hours are those its source wrote
        let written = SourceHours::read(app, from, to).await?;
        let mut ward_hours: HashMap<String, BTreeSet<DateTime<Utc>>> = HashMap::new();
        let mut stored: HashMap<(String, String), StoredHours> = HashMap::new();
        for level in [Level::Ward, Level::Team] {
            for u in app.store.level_hours(level, from, to).await? {
                stored
                    .entry((u.ward, u.team))
                    .or_default()
                    .insert(u.hour, (u.totals.professions, u.totals.components));
            }
        }
        let (ready, waiting): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| p.shift.window.end <= to);
        self.pending = waiting;
        let empty = StoredHours::new();
        let mut realised: HashMap<(Scope, DateTime<Utc>), Option<Need>> = HashMap::new();
        for p in ready {
            let key = (p.scope.clone(), p.shift.window.start);
            let r = *realised.entry(key).or_insert_with(|| {
                let unit = (p.scope.ward.clone(), p.scope.team.clone().unwrap_or_default());
                let own = ward_hours.entry(p.scope.ward.clone()).or_insert_with(|| {
                    hours
                        .iter()
                        .copied()
                        .filter(|h| written.wrote(&p.scope.ward, *h))
                        .collect()
                });
                let r = over_shift(stored.get(&unit).unwrap_or(&empty), own, &p.shift);
                if r.is_none() {
                    self.gaps += 1;
                }
                r
            });
            let Some((split, components)) = r else {
                continue;
            };
            self.models.entry(p.scope).or_default().extend([ErrorSample {
                shift: p.shift.name.clone(),
                date: p.shift.date,
                lead: p.lead,
                shift_hours: p.shift.window.hours(),
                scheduled: p.scheduled,
                realised: split,
                scheduled_components: p.components,
                realised_components: components,
            }]);
        }
        Ok(())
    }
}

/// Which source wrote which hour, for the learner (several sources,
/// `[sources.<id>]`): with the single `[source]` every stored hour is every
/// ward's.
struct SourceHours {
    /// Each ward's named source.
    ward_source: BTreeMap<String, String>,
    /// (source, hour) written.
    written: std::collections::HashSet<(String, DateTime<Utc>)>,
}

impl SourceHours {
    async fn read(app: &App, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<SourceHours> {
        if app.config.sources.is_empty() {
            return Ok(SourceHours {
                ward_source: BTreeMap::new(),
                written: std::collections::HashSet::new(),
            });
        }
        let ward_source = crate::query::ward_sources(app).await?;
        let written = app.store.source_hours_written(from, to).await?.into_iter().collect();
        Ok(SourceHours { ward_source, written })
    }

    /// Whether ward `ward`'s source wrote `hour` (always, for a ward of no
    /// named source).
    fn wrote(&self, ward: &str, hour: DateTime<Utc>) -> bool {
        match self.ward_source.get(ward) {
            Some(source) => self.written.contains(&(source.clone(), hour)),
            None => true,
        }
    }
}

/// `need` scaled by `minutes` of 60.
fn part_of(need: &Need, minutes: i64) -> Need {
    let share = Qty::ONE.ratio(minutes, 60);
    let (s, c) = need;
    let mut components = Components::default();
    for k in Component::ALL {
        components.add(k, c.get(k).times(share));
    }
    (
        Split {
            usk: s.usk.times(share),
            ssk: s.ssk.times(share),
        },
        components,
    )
}

/// The stored points of a unit over a shift: each stored hour that overlaps
/// the shift by the minutes inside it (a unit without a row that hour: 0);
/// none when an hour that overlaps it was not stored.
fn over_shift(unit: &StoredHours, stored: &BTreeSet<DateTime<Utc>>, shift: &ShiftWindow) -> Option<Need> {
    let mut split = Split::default();
    let mut components = Components::default();
    let mut h = careload_store::hour_of(shift.window.start);
    while h < shift.window.end {
        if !stored.contains(&h) {
            return None;
        }
        if let Some(need) = unit.get(&h) {
            let start = h.max(shift.window.start);
            let end = (h + Duration::hours(1)).min(shift.window.end);
            let minutes = (end - start).num_minutes();
            let (s, c) = if minutes >= 60 { *need } else { part_of(need, minutes) };
            split.merge(&s);
            components.merge(&c);
        }
        h += Duration::hours(1);
    }
    Some((split, components))
}

/// Brings the service's learner up to the last stored hour before `now`:
/// the first call learns `forecast.history_weeks` weeks, later ones only
/// the hours stored since; nothing with `forecast.enabled = false`.
///
/// # Errors
/// As [`Learner::learn`].
pub async fn refresh(app: &App, now: DateTime<Utc>) -> Result<()> {
    if !app.settings().forecast.enabled {
        return Ok(());
    }
    let cell = app.forecast_learner();
    let mut learner = cell.lock().await;
    refresh_locked(app, &mut learner, now).await
}

/// As [`refresh`], on a learner already locked.
///
/// # Errors
/// As [`Learner::learn`].
pub async fn refresh_locked(app: &App, learner: &mut Learner, now: DateTime<Utc>) -> Result<()> {
    let settings = app.settings().forecast;
    if !settings.enabled {
        return Ok(());
    }
    // the hour every live source has written: with several sources, a
    // source's hour is not learnt before it is written (`Store::settled_hour`)
    let Some(current) = app.store.settled_hour().await? else {
        return Ok(());
    };
    let to = current.min(careload_store::hour_of(now)) + Duration::hours(1);
    let from = to - Duration::weeks(settings.history_weeks);
    let forget = from.with_timezone(&app.tz()).date_naive();
    if learner.through().is_some_and(|t| t >= to) {
        return Ok(());
    }
    learner.learn(app, from, to, forget).await
}

/// How long a planning request waits for the learner (busy with the
/// history after a start, or with the hour just written) before it shows
/// the schedule alone and says why ([`LEARNING`]).
pub const LEARNING_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Why a prediction is the schedule alone while the history is being read.
pub const LEARNING: &str = "prognosens historik läses in just nu (efter en start tar det en stund)";

/// One scope's need for one shift with its uncertainty and risk.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ScopeForecast {
    /// The team; none for the whole ward.
    pub team: Option<String>,
    /// Its display name.
    pub name: String,
    /// P10/P50/P90 of the need (or the schedule alone, saying why).
    pub prediction: Prediction,
    /// The risk of understaffing against the planned staff present, and the
    /// people to add; none when young or nothing is planned.
    pub risk: Option<Risk>,
}

/// A shift's need with its uncertainty, for the ward and each team.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ShiftForecast {
    /// The shift's name.
    pub shift: String,
    /// The local date it starts on.
    pub date: NaiveDate,
    /// Whole hours from the forecast to its start.
    pub lead_hours: u32,
    /// The whole ward.
    pub ward: ScopeForecast,
    /// Each team with patients, by id.
    pub teams: Vec<ScopeForecast>,
    /// The ward's expected arrivals and departures during the shift, from
    /// its own history (context beside the P10/P50/P90, not added to
    /// them); none before the learner has seen the ward.
    pub flow: Option<ShiftFlow>,
}

/// The people planned present per profession in `plan` (none where not planned).
fn available(plan: Option<&ShiftPlanned>) -> (Option<u32>, Option<u32>) {
    let get = |p: Profession| plan.and_then(|pl| pl.get(p)).map(|c| c.available());
    (get(Profession::Usk), get(Profession::Ssk))
}

/// Why a prediction is the schedule alone when the forecast is switched off.
pub const DISABLED: &str = "osäkerheten är avstängd i konfigurationen (forecast.enabled = false)";

/// The forecasts of ward `ward`'s shifts `needs` (the scheduled forecast
/// from `as_of`) against `plans`, from `learner`'s errors, with people
/// added to bring the risk to `level`.
#[must_use]
pub fn shift_forecasts(
    app: &App,
    ward: &str,
    learner: &Learner,
    needs: &[ShiftNeed],
    plans: &[WardPlan],
    as_of: DateTime<Utc>,
    level: f64,
) -> Vec<ShiftForecast> {
    let empty = ErrorModel::default();
    let tz = app.tz();
    let local_hours = |from: DateTime<Utc>, to: DateTime<Utc>| {
        let mut hours = Vec::new();
        let mut h = from;
        while h < to {
            hours.push(h.with_timezone(&tz).naive_local());
            h += Duration::hours(1);
        }
        hours
    };
    let flow = learner.flow(ward);
    needs
        .iter()
        .enumerate()
        .map(|(i, need)| {
            let lead = lead_hours(as_of, need.shift.window.start);
            let census = u32::try_from(need.patients.len()).unwrap_or(u32::MAX);
            let window = &need.shift.window;
            let start = careload_store::hour_of(window.start);
            let plan = plans.get(i);
            let one = |scope: Scope, line: &careload_planning::NeedLine, planned: Option<&ShiftPlanned>| {
                let model = learner.model(&scope).unwrap_or(&empty);
                let prediction = model.predict(
                    &need.shift.name,
                    need.shift.date,
                    lead,
                    line.professions,
                    need.factors,
                    need.shift_hours,
                );
                let (usk, ssk) = available(planned);
                let risk = prediction.risk(usk, ssk, level);
                let name = match &scope.team {
                    Some(t) => app.team_name(ward, t),
                    None => app.ward_name(ward),
                };
                ScopeForecast {
                    team: scope.team,
                    name,
                    prediction,
                    risk,
                }
            };
            let teams = need
                .teams
                .iter()
                .filter(|(t, _)| t.as_str() != NO_TEAM)
                .map(|(t, line)| one(Scope::team(ward, t), line, plan.and_then(|p| p.teams.get(t))))
                .collect();
            ShiftForecast {
                shift: need.shift.name.clone(),
                date: need.shift.date,
                lead_hours: lead,
                ward: one(Scope::ward(ward), &need.ward, plan.map(|p| &p.ward)),
                teams,
                flow: flow.as_ref().map(|f| {
                    f.for_shift(
                        census,
                        &local_hours(careload_store::hour_of(as_of), start),
                        &local_hours(start, window.end),
                    )
                }),
            }
        })
        .collect()
}

/// A key the same for every notice of one shift of one scope.
fn shift_key(scope: &Scope, s: &ErrorSample) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (scope, &s.shift, s.date).hash(&mut h);
    h.finish()
}

/// One ward's next two shifts with their uncertainty.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct WardForecast {
    /// The ward.
    pub ward: String,
    /// The stored hour forecast from.
    pub hour: DateTime<Utc>,
    /// Both shifts, for the ward and each team.
    pub shifts: Vec<ShiftForecast>,
}

/// Every ward's next two shifts from the learner's latest hour (no patient
/// read, no forecast again), against the planned staffing read once for
/// all wards: the forecast's hourly work after [`Learner::learn`] of the
/// new hour.
///
/// # Errors
/// The store failing.
pub async fn hospital_forecasts(app: &App, learner: &Learner, level: f64) -> Result<Vec<WardForecast>> {
    let dates = learner
        .latest
        .values()
        .flat_map(|l| l.needs.iter().map(|n| n.shift.date));
    let (Some(first), Some(last)) = (dates.clone().min(), dates.max()) else {
        return Ok(Vec::new());
    };
    let rows = app.store.planned_staffing(None, first, last).await?;
    Ok(learner
        .latest
        .iter()
        .map(|(ward, l)| {
            let plans: Vec<WardPlan> = l
                .needs
                .iter()
                .map(|n| WardPlan::from_rows(&rows, ward, n.shift.date, &n.shift.name))
                .collect();
            WardForecast {
                ward: ward.clone(),
                hour: l.hour,
                shifts: shift_forecasts(app, ward, learner, &l.needs, &plans, l.as_of, level),
            }
        })
        .collect())
}

/// One ward's back-test.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct WardBacktest {
    /// The ward.
    pub ward: String,
    /// Its display name.
    pub name: String,
    /// The whole ward's shifts.
    pub ward_level: Evaluation,
    /// Its teams' shifts, pooled.
    pub teams: Evaluation,
}

/// The scheduled forecast's error at one notice, by component.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct LeadError {
    /// Whole hours before the shift.
    pub lead: u32,
    /// Ward shift forecasts judged.
    pub forecasts: u32,
    /// Mean absolute error of the scheduled forecast (total points).
    pub scheduled_mae: f64,
    /// Mean absolute error of the P50 (total points).
    pub p50_mae: f64,
    /// Mean realised − scheduled per component (points): what the schedule misses.
    pub components: BTreeMap<String, f64>,
}

/// `careload forecast backtest`: each method against what happened.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct ForecastBacktest {
    /// Errors learnt from shifts that ended in `[learn_from, from)`.
    pub learn_from: DateTime<Utc>,
    /// Shifts judged: forecasts made from hours in `[from, to)` of shifts ended by `to`.
    pub from: DateTime<Utc>,
    /// The end of the judged period.
    pub to: DateTime<Utc>,
    /// Per ward.
    pub wards: Vec<WardBacktest>,
    /// Every ward's shifts pooled.
    pub pooled: Evaluation,
    /// Per notice, the wards' shifts pooled.
    pub by_lead: Vec<LeadError>,
    /// Shifts left out because an hour of theirs was not stored.
    pub gaps: u64,
    /// Stored patient-hours whose snapshot did not read.
    pub unreadable: u64,
}

/// The back-test: errors learnt from `[learn_from, from)` only, then every
/// forecast from the hours in `[from, to)` of shifts that ended by `to`
/// judged — the scheduled forecast and the P50 by mean absolute error, the
/// P10/P90 by coverage, the risk by calibration against the planned staff
/// (people to add at `level`).
///
/// # Errors
/// The store failing; a bad range ([`Error::BadQuery`]); a ward's plan or
/// care category not resolving.
pub async fn backtest(
    app: &App,
    learn_from: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ForecastBacktest> {
    if !(learn_from < from && from < to) {
        return Err(Error::BadQuery {
            param: "from",
            hint: "the learning period must come before the judged one: learn_from < from < to".into(),
        });
    }
    let tz = app.tz();
    let forget = learn_from.with_timezone(&tz).date_naive();
    let mut learnt = Learner::default();
    learnt.learn(app, learn_from, from, forget).await?;
    let mut judged = Learner::default();
    judged
        .learn(app, from, to, from.with_timezone(&tz).date_naive())
        .await?;
    let first = judged.models.values().flat_map(|m| m.samples()).map(|s| s.date).min();
    let last = judged.models.values().flat_map(|m| m.samples()).map(|s| s.date).max();
    let rows = match (first, last) {
        (Some(a), Some(b)) => app.store.planned_staffing(None, a, b).await?,
        _ => Vec::new(),
    };
    // each (ward, date, shift)'s plan, built once
    let mut by_shift: BTreeMap<(String, NaiveDate, String), Vec<careload_planning::PlannedStaffing>> = BTreeMap::new();
    for r in rows {
        by_shift
            .entry((r.ward.clone(), r.date, r.shift.clone()))
            .or_default()
            .push(r);
    }
    let mut plans: HashMap<(String, NaiveDate, String), WardPlan> = HashMap::new();
    let factors = |ward: &str| staff_hours_for(&app.weights(), &app.care_category(ward)).ok();
    let empty = ErrorModel::default();
    let mut wards: BTreeMap<String, (Evaluator, Evaluator)> = BTreeMap::new();
    let mut pooled = Evaluator::default();
    let mut leads: BTreeMap<u32, (Evaluator, u32, BTreeMap<String, f64>)> = BTreeMap::new();
    for (scope, model) in &judged.models {
        let Some(f) = factors(&scope.ward) else { continue };
        let history = learnt.model(scope).unwrap_or(&empty);
        for s in model.samples() {
            let p = history.predict(&s.shift, s.date, s.lead, s.scheduled, f, s.shift_hours);
            let k = (scope.ward.clone(), s.date, s.shift.clone());
            let plan = plans.entry(k.clone()).or_insert_with(|| {
                WardPlan::from_rows(by_shift.get(&k).into_iter().flatten(), &scope.ward, s.date, &s.shift)
            });
            let planned = match &scope.team {
                Some(t) => plan.teams.get(t),
                None => Some(&plan.ward),
            };
            let (usk, ssk) = available(planned);
            let key = shift_key(scope, s);
            let (w, t) = wards.entry(scope.ward.clone()).or_default();
            if scope.team.is_some() {
                t.add(key, &p, s.realised, usk, ssk);
                continue;
            }
            w.add(key, &p, s.realised, usk, ssk);
            pooled.add(key, &p, s.realised, usk, ssk);
            let (e, n, comps) = leads.entry(s.lead).or_default();
            e.add(key, &p, s.realised, None, None);
            *n += 1;
            for c in Component::ALL {
                *comps.entry(c.key().to_owned()).or_default() +=
                    s.realised_components.get(c).as_f64() - s.scheduled_components.get(c).as_f64();
            }
        }
    }
    Ok(ForecastBacktest {
        learn_from,
        from,
        to,
        wards: wards
            .into_iter()
            .map(|(ward, (w, t))| WardBacktest {
                name: app.ward_name(&ward),
                ward,
                ward_level: w.finish(),
                teams: t.finish(),
            })
            .collect(),
        pooled: pooled.finish(),
        by_lead: leads
            .into_iter()
            .map(|(lead, (e, n, comps))| {
                let ev = e.finish();
                LeadError {
                    lead,
                    forecasts: n,
                    scheduled_mae: ev.scheduled_mae,
                    p50_mae: ev.p50_mae,
                    components: comps.into_iter().map(|(k, v)| (k, v / f64::from(n.max(1)))).collect(),
                }
            })
            .collect(),
        gaps: learnt.gaps + judged.gaps,
        unreadable: learnt.unreadable + judged.unreadable,
    })
}
