//! Next-shift planning for staffing assistants and the bed coordinator:
//! need against planned staff per ward and team for the next shift and the
//! one after, team balancing, which wards can take the next admission, and
//! planned staffing in (JSON rows, the scheduling system's CSV) and out.
//!
//! The arithmetic is `careload-planning`'s (pure); this module gathers its
//! inputs: the hour shown's patients from the store, their hourly forecast
//! under the weights in force, the ward's shift plan and care category from
//! the configuration, the planned staffing from the store, and the
//! thresholds from `[planning]`.
//!
//! # The ward's own optimum (issue 27)
//!
//! Beside the staff the council's staff-hour factors call for, each shift
//! shows the staff the ward's own optimal points per person calls for
//! ([`WardOptimum`]): `need ÷ optimum`
//! (`careload_planning::calibration::staff_needed`), per profession when
//! both the USK and the SSK fits of the ward's calibration are reliable,
//! with both professions together otherwise, and with one line saying what
//! the difference means. The calibration is read once per request (over
//! `calibration.window_weeks`, held to `[calibration]`'s minimums), not per
//! shift. With `calibration.drives = "optimum"` and a reliable optimum, the
//! verdicts, gaps and people to add are the optimum's: each scope's need in
//! people is its points over the optimum (a together optimum split between
//! USK and SSK as the factors split them), its staff-hours those people over
//! the shift; an unreliable optimum leaves the factors driving, and the
//! view says so. With the default `staff_hours` the assessments are exactly
//! the factors'.

use std::collections::{BTreeMap, BTreeSet};

use careload_config::Drives;
use careload_planning::calibration::staff_needed;
use careload_planning::words::{natural_key, one_decimal};
use careload_planning::{
    AdmissionAnswer, AdmissionAssumption, BalanceOptions, BalancePatient, BalanceProposal, ImportRules, KnownTeam,
    PlannedStaffing, ShiftAssessment, ShiftNeed, TeamStaff, WardBeds, WardPlan, assess, staff_hours_for,
};
use careload_planning::{ByProfession, NeedLine};
use careload_scoring::shift::{ShiftPlan, ShiftWindow};
use careload_scoring::{Points, Qty, Score, Snapshot};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::calibration::{CalibrationFit, WardCalibration, ward_calibration};
use crate::forecast::{self, ShiftForecast, next_two, scheduled_needs};
use crate::query::{self, known_ward};
use crate::view::{DataState, short_label};
use crate::{Error, Result};

/// `GET /api/v1/wards/{id}/shifts`.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct WardShifts {
    /// Where the data stands.
    pub state: DataState,
    /// The ward.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The care category whose staff-hours factors convert points.
    pub care_category: String,
    /// The next shift and the one after: need, planned, gap, verdicts, index
    /// (by the staff-hour factors, or by the ward's optimum when
    /// `optimum.drives` says so).
    pub shifts: Vec<ShiftAssessment>,
    /// The staff the ward's own optimal points per person calls for, beside
    /// the factors', and which of the two drives the verdicts.
    pub optimum: WardOptimum,
    /// Each shift's need as P10/P50/P90 from the scheduled forecast's own
    /// past errors, for the ward and each team, with the risk of
    /// understaffing against the planned staff and the people to add
    /// (`careload_planning::uncertainty`); the schedule alone, saying why,
    /// while the history is young.
    pub forecast: Vec<ShiftForecast>,
}

/// Which figure of staff needed drives the verdicts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerdictBasis {
    /// The council's staff-hour factors of the weights in force.
    StaffHours,
    /// The ward's own optimal points per person.
    Optimum,
}

/// Which of the ward's fits the optimum's staff figure is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OptimumScope {
    /// The USK and SSK fits, each profession's points over its own optimum
    /// (both are reliable).
    Professions,
    /// Both professions together: all points over the joint optimum.
    Together,
}

/// The ward's own optimum as the planning page uses it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WardOptimum {
    /// `calibration.drives`: what the configuration asks to drive the verdicts.
    pub configured: VerdictBasis,
    /// What drives the verdicts shown: the optimum only when configured and reliable.
    pub drives: VerdictBasis,
    /// The fit used: per profession when both are reliable, else together.
    pub scope: OptimumScope,
    /// True when the fit used meets every minimum of `[calibration]`.
    pub reliable: bool,
    /// Optimal points per person, both professions together (whether trusted or not).
    pub together: Option<Points>,
    /// Optimal USK points per USK present.
    pub usk: Option<Points>,
    /// Optimal SSK points per SSK present.
    pub ssk: Option<Points>,
    /// Distinct weeks with a rated shift in the fit used.
    pub weeks: u32,
    /// Rated shifts in the fit used.
    pub rated_shifts: u32,
    /// Why the fit used is not to be trusted (empty when reliable); a
    /// calibration that could not be read at all is one reason with code
    /// `unavailable`.
    pub reasons: Vec<OptimumReason>,
    /// Reliability in words: `tillförlitlig, 9 veckor` or `ej tillförlitlig: …`.
    pub reliability: String,
    /// When the optimum was configured to drive but is not trusted: why the
    /// factors drive instead (Swedish); none otherwise.
    pub fallback: Option<String>,
    /// Per shift of [`WardShifts::shifts`], in the same order.
    pub shifts: Vec<OptimumShift>,
}

/// Why the ward's optimum is not to be trusted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct OptimumReason {
    /// The calibration's code (`too_few_shifts`, `low_response_rate`, …),
    /// or `unavailable` when the calibration could not be read.
    pub code: String,
    /// In Swedish.
    pub text: String,
}

/// One shift's staff by the factors and by the ward's optimum (the whole ward).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OptimumShift {
    /// People the staff-hour factors call for, USK + SSK.
    pub factors_people: Qty,
    /// People the ward's optimum calls for, USK + SSK; none when the
    /// optimum is not trusted.
    pub optimum_people: Option<Qty>,
    /// Of those, USK (split as the factors split them for a together optimum).
    pub optimum_usk: Option<Qty>,
    /// Of those, SSK.
    pub optimum_ssk: Option<Qty>,
    /// Optimum minus factors, in people; none when the optimum is not trusted.
    pub difference: Option<Qty>,
    /// The figure with its reliability, in Swedish: `enligt avdelningens
    /// egen bedömning: 6,1 personer (tillförlitlig, 9 veckor)` or `enligt
    /// avdelningens egen bedömning: ej tillförlitlig: …`.
    pub line: String,
    /// The difference explained in one line (Swedish); none when the
    /// optimum is not trusted.
    pub explanation: Option<String>,
}

/// `GET /api/v1/wards/{id}/balance`.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct WardBalance {
    /// Where the data stands.
    pub state: DataState,
    /// The ward.
    pub id: String,
    /// The shift balanced for (the next one).
    pub shift: ShiftWindow,
    /// The options used.
    pub options: BalanceOptions,
    /// The suggested moves, with each team before and after.
    pub proposal: BalanceProposal,
    /// The patients kept in their team: pinned on record or in the request.
    pub pinned: Vec<PinnedPatient>,
}

/// A patient kept in their team when balancing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PinnedPatient {
    /// The pseudonym.
    pub patient: String,
    /// The bed, as the ward's screen shows it.
    pub bed: Option<String>,
    /// The team (its id).
    pub team: String,
    /// The team's display name ([`App::team_name`]).
    pub team_name: String,
    /// Pinned on record (`POST …/pins`), not only in this request.
    pub stored: bool,
}

/// `GET /api/v1/wards/{id}/pins`.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct WardPins {
    /// Where the data stands.
    pub state: DataState,
    /// The ward.
    pub id: String,
    /// The pins that apply at the hour shown (their stay is on the ward).
    pub pins: Vec<PinView>,
}

/// One pin that applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PinView {
    /// The pseudonym.
    pub patient: String,
    /// The bed, as the ward's screen shows it.
    pub bed: Option<String>,
    /// Who pinned, and when.
    pub pinned_by: String,
    /// When.
    pub pinned_at: DateTime<Utc>,
}

/// The body of `POST /api/v1/wards/{id}/pins`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    /// The patient: the pseudonym, or the bed as the screens show it (`r03-b2`) or whole.
    pub patient: String,
    /// `true` to keep the patient in their team, `false` to let them move again.
    pub pinned: bool,
}

/// The answer to a pin change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct PinWritten {
    /// The pseudonym the request resolved to.
    pub patient: String,
    /// Pinned now.
    pub pinned: bool,
    /// False when it already was as asked.
    pub changed: bool,
}

/// `GET /api/v1/admissions`.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct Admissions {
    /// Where the data stands.
    pub state: DataState,
    /// The need assumed for a new admission.
    pub assumption: AdmissionAssumption,
    /// Every ward, best able to take the next admission first.
    pub wards: Vec<AdmissionAnswer>,
    /// The wards' display names (`[wards.<id>] name`, else the id).
    pub names: BTreeMap<String, String>,
    /// Per ward: true when its need was judged at its P90 (history long
    /// enough for both shifts), false when at the schedule alone.
    pub need_at_p90: BTreeMap<String, bool>,
}

/// `GET /api/v1/staffing` and the body of `POST /api/v1/staffing`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffingRows {
    /// Planned staffing rows.
    pub rows: Vec<PlannedStaffing>,
}

/// The answer to a planned-staffing write.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct StaffingWritten {
    /// Rows stored (all of them: a write is all or nothing).
    pub rows: u64,
}

/// The ward's optimum as planning uses it (see the module doc).
#[derive(Clone, Debug)]
struct Optimum {
    configured: VerdictBasis,
    scope: OptimumScope,
    reliable: bool,
    together: Option<Points>,
    usk: Option<Points>,
    ssk: Option<Points>,
    weeks: u32,
    rated_shifts: u32,
    reasons: Vec<OptimumReason>,
}

impl Optimum {
    /// The optimum of ward `id` from its calibration over the configured
    /// window and minimums, read once. A calibration that cannot be read
    /// for a reason of the request's (a window longer than
    /// `api.max_range_days`, a bad shift plan) is an untrusted optimum
    /// saying why; a store failure is an error.
    async fn read(app: &App, id: &str, now: DateTime<Utc>) -> Result<Optimum> {
        match ward_calibration(app, id, None, None, now, &app.settings().calibration).await {
            Ok(c) => Ok(Optimum::of(&c, configured(app))),
            Err(e @ Error::Store(_)) => Err(e),
            Err(e) => Ok(Optimum::unavailable(app, e.to_string())),
        }
    }

    /// An optimum not read: untrusted, saying so.
    fn unread(app: &App) -> Optimum {
        Optimum::untrusted(app, "avdelningens optimum är inte beräknat".to_owned())
    }

    /// An untrusted optimum whose calibration could not be read, saying why.
    fn unavailable(app: &App, why: String) -> Optimum {
        Optimum::untrusted(app, format!("kalibreringen kunde inte läsas ({why})"))
    }

    /// An untrusted optimum with no fit, for the reason `text`.
    fn untrusted(app: &App, text: String) -> Optimum {
        Optimum {
            configured: configured(app),
            scope: OptimumScope::Together,
            reliable: false,
            together: None,
            usk: None,
            ssk: None,
            weeks: 0,
            rated_shifts: 0,
            reasons: vec![OptimumReason {
                code: "unavailable".into(),
                text,
            }],
        }
    }

    /// Per profession when both professions' fits are reliable, together otherwise.
    fn of(c: &WardCalibration, configured: VerdictBasis) -> Optimum {
        let reasons = |f: &CalibrationFit| -> Vec<OptimumReason> {
            f.reasons
                .iter()
                .map(|r| OptimumReason {
                    code: r.code.clone(),
                    text: r.text.clone(),
                })
                .collect()
        };
        let (scope, reliable, weeks, rated_shifts) = if c.usk.reliable && c.ssk.reliable {
            (
                OptimumScope::Professions,
                true,
                c.usk.weeks.min(c.ssk.weeks),
                c.usk.shifts.min(c.ssk.shifts),
            )
        } else {
            (
                OptimumScope::Together,
                c.together.reliable,
                c.together.weeks,
                c.together.shifts,
            )
        };
        Optimum {
            configured,
            scope,
            reliable,
            together: c.together.optimal_points_per_person,
            usk: c.usk.optimal_points_per_person,
            ssk: c.ssk.optimal_points_per_person,
            weeks,
            rated_shifts,
            reasons: if reliable { Vec::new() } else { reasons(&c.together) },
        }
    }

    /// What drives the verdicts: the optimum only when configured and trusted.
    fn drives(&self) -> VerdictBasis {
        if self.configured == VerdictBasis::Optimum && self.reliable {
            VerdictBasis::Optimum
        } else {
            VerdictBasis::StaffHours
        }
    }

    /// The people `need` calls for at the optimum, per profession; none when
    /// the optimum is not trusted or not positive.
    fn people(&self, need: &NeedLine) -> Option<ByProfession> {
        if !self.reliable {
            return None;
        }
        match self.scope {
            OptimumScope::Professions => Some(ByProfession {
                usk: staff_needed(need.professions.usk, self.usk?)?,
                ssk: staff_needed(need.professions.ssk, self.ssk?)?,
            }),
            OptimumScope::Together => {
                let total = staff_needed(need.total, self.together?)?;
                // split as the factors split the people (else as the points split)
                let f = need.people;
                let usk = if f.total() > Qty::ZERO {
                    total.ratio(f.usk.milli(), f.total().milli())
                } else {
                    total.ratio(need.professions.usk.milli(), need.total.milli())
                };
                Some(ByProfession { usk, ssk: total - usk })
            }
        }
    }

    /// `line` with its need in people at the optimum: people and staff-hours replaced.
    fn drive(&self, line: &mut NeedLine, shift_hours: Qty) {
        if let Some(people) = self.people(line) {
            line.staff_hours = ByProfession {
                usk: people.usk.times(shift_hours),
                ssk: people.ssk.times(shift_hours),
            };
            line.people = people;
        }
    }

    /// The reliability in words.
    fn reliability(&self) -> String {
        if self.reliable {
            format!("tillförlitlig, {}", weeks(self.weeks))
        } else {
            let why: Vec<&str> = self.reasons.iter().map(|r| r.text.as_str()).collect();
            if why.is_empty() {
                "ej tillförlitlig".to_owned()
            } else {
                format!("ej tillförlitlig: {}", why.join("; "))
            }
        }
    }

    /// The view of the ward's next shifts' `needs` (factors') at this optimum.
    fn view(&self, needs: &[ShiftNeed]) -> WardOptimum {
        let reliability = self.reliability();
        let shifts = needs
            .iter()
            .map(|n| {
                let factors_people = n.ward.people.total();
                let optimum = self.people(&n.ward);
                let optimum_people = optimum.map(|p| p.total());
                let difference = optimum_people.map(|o| o - factors_people);
                let line = match optimum_people {
                    Some(o) => format!("enligt avdelningens egen bedömning: {} ({reliability})", persons(o)),
                    None => format!("enligt avdelningens egen bedömning: {reliability}"),
                };
                let explanation = optimum_people.map(|o| explain(factors_people, o));
                OptimumShift {
                    factors_people,
                    optimum_people,
                    optimum_usk: optimum.map(|p| p.usk),
                    optimum_ssk: optimum.map(|p| p.ssk),
                    difference,
                    line,
                    explanation,
                }
            })
            .collect();
        let fallback = (self.configured == VerdictBasis::Optimum && !self.reliable)
            .then(|| "avdelningens optimum är inte tillförlitligt: personaltimfaktorerna styr bedömningen".to_owned());
        WardOptimum {
            configured: self.configured,
            drives: self.drives(),
            scope: self.scope,
            reliable: self.reliable,
            together: self.together,
            usk: self.usk,
            ssk: self.ssk,
            weeks: self.weeks,
            rated_shifts: self.rated_shifts,
            reasons: self.reasons.clone(),
            reliability,
            fallback,
            shifts,
        }
    }
}

/// The difference of the two figures of staff needed in one line: more
/// people at the ward's optimum means the shifts felt heavier than the
/// factors assume.
fn explain(factors: Qty, optimum: Qty) -> String {
    let (f, o) = (one_decimal(factors.milli()), one_decimal(optimum.milli()));
    let meaning = if f == o {
        "de är överens om passets tyngd"
    } else if optimum > factors {
        "passen har känts tyngre än faktorerna antar"
    } else {
        "passen har känts lättare än faktorerna antar"
    };
    format!("personaltimfaktorerna säger {f}, avdelningens optimum {o}: {meaning}")
}

/// `calibration.drives` as a verdict basis.
fn configured(app: &App) -> VerdictBasis {
    match app.settings().drives {
        Drives::StaffHours => VerdictBasis::StaffHours,
        Drives::Optimum => VerdictBasis::Optimum,
    }
}

/// `n` weeks in words.
fn weeks(n: u32) -> String {
    careload_planning::words::count(u64::from(n), "vecka", "veckor")
}

/// People with one decimal: `6,1 personer`.
fn persons(q: Qty) -> String {
    format!("{} personer", one_decimal(q.milli()))
}

/// The service's learner for one request, brought up to the last stored
/// hour, or why the request does without it (the schedule alone).
type Learnt = std::result::Result<tokio::sync::OwnedMutexGuard<forecast::Learner>, &'static str>;

/// The learner for one request, taken once however many wards it prices:
/// it waits at most [`forecast::LEARNING_WAIT`] for a learner busy with the
/// history (after a start), else [`forecast::LEARNING`]; with
/// `forecast.enabled = false`, [`forecast::DISABLED`]. A store failure while
/// learning is logged and the errors learnt so far are used.
async fn learner_for_request(app: &App, now: DateTime<Utc>) -> Learnt {
    if !app.settings().forecast.enabled {
        return Err(forecast::DISABLED);
    }
    let cell = app.forecast_learner();
    let Ok(mut learner) = tokio::time::timeout(forecast::LEARNING_WAIT, cell.lock_owned()).await else {
        return Err(forecast::LEARNING);
    };
    if let Err(e) = forecast::refresh_locked(app, &mut learner, now).await {
        tracing::warn!(error = %e, "the forecast's errors could not be brought up to date; using those learnt so far");
    }
    Ok(learner)
}

/// `line`'s people and staff-hours scaled per profession by the
/// prediction's P90 over its scheduled points (unchanged while young).
fn at_p90(line: &mut NeedLine, p: &careload_planning::uncertainty::Prediction) {
    if p.young {
        return;
    }
    // scaled from the need as it drives (the factors' or the optimum's);
    // with nothing scheduled, the P90 itself (an empty ward's arrivals)
    let scale = |q: Qty, p90: Points, scheduled: Points, own: Qty| {
        if scheduled.milli() > 0 {
            q.ratio(p90.milli(), scheduled.milli())
        } else {
            own
        }
    };
    let (u, s) = (p.usk.points.p90, p.ssk.points.p90);
    line.people.usk = scale(line.people.usk, u, p.scheduled.usk, p.usk.people.p90);
    line.people.ssk = scale(line.people.ssk, s, p.scheduled.ssk, p.ssk.people.p90);
    line.staff_hours.usk = scale(line.staff_hours.usk, u, p.scheduled.usk, p.usk.staff_hours.p90);
    line.staff_hours.ssk = scale(line.staff_hours.ssk, s, p.scheduled.ssk, p.ssk.staff_hours.p90);
}

/// A ward's inputs at the hour shown.
struct WardInputs {
    state: DataState,
    patients: Vec<(Snapshot, Score)>,
    plan: ShiftPlan,
    category: String,
    as_of: DateTime<Utc>,
}

/// The inputs of ward `id`, after checking that it is known.
async fn inputs(app: &App, id: &str, now: DateTime<Utc>) -> Result<WardInputs> {
    let shown = query::Shown::read(app).await?;
    let ds = query::ward_state(app, &shown, id, now).await?;
    known_ward(app, id, &shown).await?;
    inputs_at(app, id, ds, now).await
}

/// The inputs of a ward known to exist, at the data state `ds` read once by the caller.
async fn inputs_at(app: &App, id: &str, ds: DataState, now: DateTime<Utc>) -> Result<WardInputs> {
    let patients = match ds.hour {
        Some(h) => app.store.ward_patients(id, h).await?,
        None => Vec::new(),
    };
    let as_of = patients.iter().map(|(s, _)| s.as_of).max().unwrap_or(now);
    Ok(WardInputs {
        state: ds,
        patients,
        plan: app.shift_plan(id)?,
        category: app.care_category(id),
        as_of,
    })
}

fn needs(app: &App, inputs: &WardInputs, shifts: &[ShiftWindow]) -> Result<Vec<ShiftNeed>> {
    let factors =
        staff_hours_for(&app.weights(), &inputs.category).map_err(|e| Error::Config(format!("wards: {e}")))?;
    let patients: Vec<&Snapshot> = inputs.patients.iter().map(|(s, _)| s).collect();
    Ok(scheduled_needs(
        &app.weights(),
        factors,
        &patients,
        inputs.as_of,
        shifts,
    ))
}

/// The planned staffing of `ward` for each shift.
async fn plans(app: &App, ward: &str, shifts: &[ShiftWindow]) -> Result<Vec<WardPlan>> {
    let (Some(first), Some(last)) = (shifts.iter().map(|s| s.date).min(), shifts.iter().map(|s| s.date).max()) else {
        return Ok(Vec::new());
    };
    let rows = app.store.planned_staffing(Some(ward), first, last).await?;
    Ok(shifts
        .iter()
        .map(|s| WardPlan::from_rows(&rows, ward, s.date, &s.name))
        .collect())
}

/// A ward's next two shifts with their need (from one forecast) and plans.
struct Prepared {
    inputs: WardInputs,
    shifts: [ShiftWindow; 2],
    needs: Vec<ShiftNeed>,
    plans: Vec<WardPlan>,
    /// The ward's optimum, when read ([`Prepared::with_optimum`]).
    optimum: Option<Optimum>,
    /// The shifts' uncertainty, when learnt ([`Prepared::with_forecast`]).
    forecast: Vec<ShiftForecast>,
}

impl Prepared {
    async fn new(app: &App, id: &str, inputs: WardInputs, now: DateTime<Utc>) -> Result<Prepared> {
        let shifts = next_two(&inputs.plan, now, &app.tz());
        let needs = needs(app, &inputs, &shifts)?;
        let plans = plans(app, id, &shifts).await?;
        Ok(Prepared {
            inputs,
            shifts,
            needs,
            plans,
            optimum: None,
            forecast: Vec::new(),
        })
    }

    /// With each shift's P10/P50/P90 and risk from `learner` (taken once
    /// per request by [`learner_for_request`]), or, when it could not be
    /// had, the schedule alone with the reason it gives.
    fn with_forecast(mut self, app: &App, id: &str, learner: &Learnt) -> Prepared {
        let none = forecast::Learner::default();
        let (from, reason) = match learner {
            Ok(l) => (&**l, None),
            Err(why) => (&none, Some(*why)),
        };
        self.forecast = forecast::shift_forecasts(
            app,
            id,
            from,
            &self.needs,
            &self.plans,
            self.inputs.as_of,
            app.settings().forecast.risk_level,
        );
        if let Some(why) = reason {
            for f in &mut self.forecast {
                for scope in std::iter::once(&mut f.ward).chain(f.teams.iter_mut()) {
                    scope.prediction.reason = Some(why.to_owned());
                }
            }
        }
        self
    }

    /// With the ward's optimum read (once, for both shifts).
    async fn with_optimum(mut self, app: &App, id: &str, now: DateTime<Utc>) -> Result<Prepared> {
        self.optimum = Some(Optimum::read(app, id, now).await?);
        Ok(self)
    }

    /// Each shift's need as the verdicts see it: the factors', or the
    /// optimum's when it drives (every scope's people and staff-hours).
    fn driving_needs(&self) -> Vec<ShiftNeed> {
        let Some(o) = self.optimum.as_ref().filter(|o| o.drives() == VerdictBasis::Optimum) else {
            return self.needs.clone();
        };
        self.needs
            .iter()
            .map(|n| {
                let mut n = n.clone();
                let hours = n.shift_hours;
                o.drive(&mut n.ward, hours);
                for line in n.teams.values_mut() {
                    o.drive(line, hours);
                }
                n
            })
            .collect()
    }

    /// Need against plan for each shift, each team by its display name.
    fn assessments(&self, app: &App, id: &str) -> Vec<ShiftAssessment> {
        self.assess(app, id, &self.driving_needs())
    }

    /// As [`Prepared::assessments`], each scope's need raised to its P90
    /// where the forecast has learnt its errors (the bed coordinator's
    /// caution: one shift in ten needs more): people and staff-hours scaled
    /// per profession by P90 ÷ the scheduled points.
    fn cautious_assessments(&self, app: &App, id: &str) -> Vec<ShiftAssessment> {
        let mut needs = self.driving_needs();
        for (n, f) in needs.iter_mut().zip(&self.forecast) {
            at_p90(&mut n.ward, &f.ward.prediction);
            for t in &f.teams {
                if let Some(line) = t.team.as_ref().and_then(|team| n.teams.get_mut(team)) {
                    at_p90(line, &t.prediction);
                }
            }
        }
        self.assess(app, id, &needs)
    }

    /// Each shift's `needs` against its plan, each team by its display name.
    fn assess(&self, app: &App, id: &str, needs: &[ShiftNeed]) -> Vec<ShiftAssessment> {
        let thresholds = &app.settings().thresholds;
        needs
            .iter()
            .zip(&self.plans)
            .map(|(n, p)| {
                let mut a = assess(n, p, thresholds);
                for t in &mut a.teams {
                    t.name = t.team.as_deref().map(|team| app.team_name(id, team));
                }
                a
            })
            .collect()
    }

    /// The next shift's teams evened out. `stored` are the pseudonyms
    /// pinned on record, `requested` patient keys or beds from the request.
    fn balance(
        &self,
        app: &App,
        id: &str,
        options: BalanceOptions,
        stored: &BTreeSet<String>,
        requested: &BTreeSet<String>,
    ) -> Result<WardBalance> {
        let mut pinned = Vec::new();
        let patients: Vec<BalancePatient> = self.needs[0]
            .patients
            .iter()
            .map(|p| {
                let is_stored = stored.contains(&p.id);
                let pin = is_stored
                    || requested.contains(&p.id)
                    || p.bed
                        .as_ref()
                        .is_some_and(|b| requested.contains(b) || requested.contains(&short_label(b, id)));
                if pin {
                    pinned.push(PinnedPatient {
                        patient: p.id.clone(),
                        bed: p.bed.as_ref().map(|b| short_label(b, id)),
                        team: p.team.clone(),
                        team_name: app.team_name(id, &p.team),
                        stored: is_stored,
                    });
                }
                let mut patient = BalancePatient::from_need(p, pin);
                // reasons name beds and rooms as the ward's screen does (`r03-b2`)
                patient.room = patient.room.map(|r| short_label(&r, id));
                patient.bed = patient.bed.map(|b| short_label(&b, id));
                patient
            })
            .collect();
        // the page lists them by bed, in natural order (2 before 10)
        pinned.sort_by_cached_key(|p| {
            let bed = p.bed.as_deref();
            (bed.is_none(), bed.map(natural_key), p.patient.clone())
        });
        // reasons and rows name the teams as the screens do
        let teams: Vec<TeamStaff> = TeamStaff::from_plan(&self.plans[0])
            .into_iter()
            .map(|t| TeamStaff {
                name: Some(app.team_name(id, &t.team)),
                ..t
            })
            .collect();
        let proposal = careload_planning::balance(&teams, &patients, &options).map_err(|e| Error::BadQuery {
            param: "pin",
            hint: e.to_string(),
        })?;
        Ok(WardBalance {
            state: self.inputs.state.clone(),
            id: id.to_owned(),
            shift: self.shifts[0].clone(),
            options,
            proposal,
            pinned,
        })
    }

    fn shifts_view(self, app: &App, id: &str) -> WardShifts {
        let optimum = match &self.optimum {
            Some(o) => o.view(&self.needs),
            None => Optimum::unread(app).view(&self.needs),
        };
        WardShifts {
            id: id.to_owned(),
            name: app.ward_name(id),
            care_category: self.inputs.category.clone(),
            shifts: self.assessments(app, id),
            optimum,
            forecast: self.forecast,
            state: self.inputs.state,
        }
    }
}

/// `GET /api/v1/wards/{id}/shifts`.
pub async fn ward_shifts(app: &App, id: &str, now: DateTime<Utc>) -> Result<WardShifts> {
    let inputs = inputs(app, id, now).await?;
    let prepared = Prepared::new(app, id, inputs, now)
        .await?
        .with_optimum(app, id, now)
        .await?;
    // the learner is held only while this ward is priced
    let prepared = prepared.with_forecast(app, id, &learner_for_request(app, now).await);
    Ok(prepared.shifts_view(app, id))
}

/// The planning page's views: the next two shifts, and (once an hour is
/// written) the next shift's balancing under the configured options, from
/// one forecast.
pub async fn ward_planning(app: &App, id: &str, now: DateTime<Utc>) -> Result<(WardShifts, Option<WardBalance>)> {
    let inputs = inputs(app, id, now).await?;
    let stored = stored_pins(app, id, &inputs.patients).await?;
    let prepared = Prepared::new(app, id, inputs, now)
        .await?
        .with_optimum(app, id, now)
        .await?;
    // the learner is held only while this ward is priced
    let prepared = prepared.with_forecast(app, id, &learner_for_request(app, now).await);
    let balance = match prepared.inputs.state.hour {
        Some(_) => Some(prepared.balance(app, id, app.settings().balance, &stored, &BTreeSet::new())?),
        None => None,
    };
    Ok((prepared.shifts_view(app, id), balance))
}

/// The balancing options of a request over the configured ones.
///
/// # Errors
/// [`Error::BadQuery`] naming the parameter and its form.
pub fn balance_options<'a>(app: &App, param: impl Fn(&str) -> Option<&'a str>) -> Result<BalanceOptions> {
    let mut o = app.settings().balance;
    let flag = |name: &'static str| -> Result<Option<bool>> {
        param(name)
            .map(|value| {
                value.parse().map_err(|_| Error::BadQuery {
                    param: name,
                    hint: "send true or false".into(),
                })
            })
            .transpose()
    };
    if let Some(value) = param("max_moves") {
        o.max_moves = value.parse().ok().filter(|n| *n <= 20).ok_or_else(|| Error::BadQuery {
            param: "max_moves",
            hint: "send a whole number of moves from 0 to 20, e.g. max_moves=3".into(),
        })?;
    }
    if let Some(keep) = flag("keep_rooms_together")? {
        o.keep_rooms_together = keep;
    }
    if let Some(allow) = flag("allow_staff_move")? {
        o.allow_staff_move = allow;
    }
    Ok(o)
}

/// `GET /api/v1/wards/{id}/balance`: the next shift's teams evened out.
/// `pinned` are patient keys or beds that must stay in their team.
pub async fn ward_balance(
    app: &App,
    id: &str,
    options: BalanceOptions,
    pinned: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<WardBalance> {
    let inputs = inputs(app, id, now).await?;
    let stored = stored_pins(app, id, &inputs.patients).await?;
    Prepared::new(app, id, inputs, now)
        .await?
        .balance(app, id, options, &stored, pinned)
}

/// The pins on record for `ward` whose stay is one of `patients` (same
/// pseudonym, same admission): a pin never carries over to a later stay.
async fn stored_pins(app: &App, ward: &str, patients: &[(Snapshot, Score)]) -> Result<BTreeSet<String>> {
    Ok(current_pins(app, ward, patients)
        .await?
        .into_iter()
        .map(|(pin, _)| pin.patient_key)
        .collect())
}

/// The pins on record for `ward` that apply to `patients`, each with its snapshot.
async fn current_pins<'a>(
    app: &App,
    ward: &str,
    patients: &'a [(Snapshot, Score)],
) -> Result<Vec<(careload_store::Pin, &'a Snapshot)>> {
    let pins = app.store.pins(ward).await?;
    Ok(pins
        .into_iter()
        .filter_map(|pin| {
            patients
                .iter()
                .map(|(s, _)| s)
                .find(|s| s.key.0 == pin.patient_key && s.admitted_at.timestamp() == pin.admitted_at.timestamp())
                .map(|s| (pin, s))
        })
        .collect())
}

/// `GET /api/v1/wards/{id}/pins`: the pins that apply at the hour shown.
pub async fn ward_pins(app: &App, id: &str, now: DateTime<Utc>) -> Result<WardPins> {
    let inputs = inputs(app, id, now).await?;
    let pins = current_pins(app, id, &inputs.patients)
        .await?
        .into_iter()
        .map(|(pin, s)| PinView {
            patient: pin.patient_key,
            bed: s.placement.bed.as_ref().map(|b| short_label(b, id)),
            pinned_by: pin.pinned_by,
            pinned_at: pin.pinned_at,
        })
        .collect();
    Ok(WardPins {
        state: inputs.state,
        id: id.to_owned(),
        pins,
    })
}

/// `POST /api/v1/wards/{id}/pins`: pins or unpins a patient on the ward at
/// the hour shown, found by pseudonym or bed; audited under `actor`.
///
/// # Errors
/// [`Error::UnknownWard`]; [`Error::Unprocessable`] when no patient on the
/// ward has that pseudonym or bed (the hint lists the beds).
pub async fn set_pin(app: &App, id: &str, request: &PinRequest, actor: &str) -> Result<PinWritten> {
    let inputs = inputs(app, id, Utc::now()).await?;
    let wanted = request.patient.trim();
    let found = inputs.patients.iter().map(|(s, _)| s).find(|s| {
        s.key.0 == wanted
            || s.placement
                .bed
                .as_ref()
                .is_some_and(|b| b == wanted || short_label(b, id) == wanted)
    });
    let Some(snapshot) = found else {
        let mut beds: Vec<String> = inputs
            .patients
            .iter()
            .filter_map(|(s, _)| s.placement.bed.as_ref().map(|b| short_label(b, id)))
            .collect();
        beds.sort();
        return Err(Error::Unprocessable {
            hint: format!(
                "no patient on ward {id} has pseudonym or bed {wanted:?}; send {{\"patient\": <pseudonym or bed>,                  \"pinned\": true}} with one of the beds {}",
                if beds.is_empty() {
                    "(none: the ward is empty)".to_owned()
                } else {
                    beds.join(", ")
                }
            ),
        });
    };
    let changed = app
        .store
        .set_pin(id, &snapshot.key.0, snapshot.admitted_at, request.pinned, actor)
        .await?;
    Ok(PinWritten {
        patient: snapshot.key.0.clone(),
        pinned: request.pinned,
        changed,
    })
}

/// `GET /api/v1/admissions`: every ward, for the bed coordinator.
pub async fn admissions(app: &App, now: DateTime<Utc>) -> Result<Admissions> {
    // one data state for every ward; the list's wards are known
    let list = query::ward_list(app, now).await?;
    let ds = list.state;
    let beds = query::beds(app, None, ds.hour).await?;
    let mut wards = Vec::with_capacity(list.wards.len());
    let mut need_at_p90 = BTreeMap::new();
    let mut prepared_wards = Vec::with_capacity(list.wards.len());
    // with several sources, each ward at its own source's hour
    let shown = query::Shown::read(app).await?;
    for w in &list.wards {
        let state = match shown.source_of(&w.id) {
            Some(_) => query::ward_state(app, &shown, &w.id, now).await?,
            None => ds.clone(),
        };
        let inputs = inputs_at(app, &w.id, state, now).await?;
        prepared_wards.push(Prepared::new(app, &w.id, inputs, now).await?);
    }
    // one learner for every ward, held only while they are priced: a busy
    // one is waited for once, not once per ward
    let learner = learner_for_request(app, now).await;
    let priced: Vec<Prepared> = list
        .wards
        .iter()
        .zip(prepared_wards)
        .map(|(w, p)| p.with_forecast(app, &w.id, &learner))
        .collect();
    drop(learner);
    for (w, mut prepared) in list.wards.iter().zip(priced) {
        if app.settings().drives == Drives::Optimum {
            // the verdicts the bed coordinator sees are the planning page's
            prepared = prepared.with_optimum(app, &w.id, now).await?;
        }
        let total = beds.get(&w.id).copied().unwrap_or(0);
        let learnt = !prepared.forecast.is_empty() && prepared.forecast.iter().all(|f| !f.ward.prediction.young);
        need_at_p90.insert(w.id.clone(), learnt);
        wards.push(WardBeds {
            ward: w.id.clone(),
            free_beds: total.saturating_sub(w.patients),
            // at each need's P90 where the history is long enough
            shifts: prepared.cautious_assessments(app, &w.id),
        });
    }
    let assumption = app.settings().admission;
    Ok(Admissions {
        state: ds,
        wards: careload_planning::admissions(&wards, &assumption, &app.settings().thresholds),
        assumption,
        names: list.wards.iter().map(|w| (w.id.clone(), w.name.clone())).collect(),
        need_at_p90,
    })
}

/// The import rules: known wards (configured or in the data) and every
/// shift name any ward's plan uses.
async fn import_rules(app: &App, now: DateTime<Utc>) -> Result<ImportRules> {
    let list = query::ward_list(app, now).await?;
    let mut shifts = BTreeSet::new();
    for w in &list.wards {
        for s in app.shift_plan(&w.id)?.shifts() {
            shifts.insert(s.name.clone());
        }
    }
    let mut teams = BTreeMap::new();
    for w in &list.wards {
        teams.insert(w.id.clone(), known_teams(app, &w.id).await?);
    }
    Ok(ImportRules {
        shifts: shifts.into_iter().collect(),
        wards: Some(list.wards.into_iter().map(|w| w.id).collect()),
        teams: Some(teams),
    })
}

/// A ward's teams a staffing plan may name: every team seen in the data or
/// configured (`[wards.<id>.teams]`, `rooms`), each by its configured display
/// name and by the names the ward screen and the planning page show
/// (`Vårdlag A`, `Lag A`, `A`).
async fn known_teams(app: &App, ward: &str) -> Result<Vec<KnownTeam>> {
    let config = app.config.wards.get(ward);
    let ids = app.team_ids(ward).await?;
    Ok(ids
        .into_iter()
        .map(|id| {
            let short = short_label(&id, ward);
            let mut names: Vec<String> = config
                .and_then(|c| c.team_name(&id))
                .map(str::to_owned)
                .into_iter()
                .collect();
            names.push(format!("Vårdlag {short}"));
            names.push(format!("Lag {short}"));
            names.push(short);
            KnownTeam { id, names }
        })
        .collect())
}

/// `POST /api/v1/staffing`: JSON rows, all or nothing.
pub async fn put_rows(app: &App, rows: &[PlannedStaffing], actor: &str) -> Result<StaffingWritten> {
    let rules = import_rules(app, Utc::now()).await?;
    let mut problems = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        if let Err(e) = row.validate(&rules) {
            problems.push(format!("rows[{i}]: {e}"));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Unprocessable {
            hint: format!(
                "nothing was stored; fix these rows and send them all again: {}",
                problems.join("; ")
            ),
        });
    }
    // a team named by its display name is stored under its id
    let rows: Vec<PlannedStaffing> = rows
        .iter()
        .map(|r| PlannedStaffing {
            team: r
                .team
                .as_deref()
                .map(|t| rules.team_id(&r.ward, t).unwrap_or_else(|_| t.to_owned())),
            ..r.clone()
        })
        .collect();
    let n = app.store.put_planned_staffing(&rows, actor, "api").await?;
    Ok(StaffingWritten { rows: n })
}

/// `POST /api/v1/staffing/csv`: the scheduling system's export, all or nothing.
pub async fn put_csv(app: &App, body: &[u8], actor: &str) -> Result<StaffingWritten> {
    store_csv(app, body, actor)
        .await?
        .map_err(|e| Error::Unprocessable { hint: e.to_string() })
}

/// Checks a planned-staffing CSV file against the known wards, teams and
/// shifts and stores it whole: the outer error is the store's, the inner one
/// the file's refusal (every bad row), and then nothing is stored.
pub async fn store_csv(
    app: &App,
    body: &[u8],
    actor: &str,
) -> Result<std::result::Result<StaffingWritten, careload_planning::Error>> {
    let rules = import_rules(app, Utc::now()).await?;
    let rows = match careload_planning::parse_planned_csv(body, &rules) {
        Ok(rows) => rows,
        Err(e) => return Ok(Err(e)),
    };
    let n = app.store.put_planned_staffing(&rows, actor, "csv").await?;
    Ok(Ok(StaffingWritten { rows: n }))
}

/// `GET /api/v1/staffing?ward=&from=&to=` (dates, inclusive; default today
/// and tomorrow in the hospital's zone).
pub async fn get_rows(
    app: &App,
    ward: Option<&str>,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<StaffingRows> {
    let today = now.with_timezone(&app.tz()).date_naive();
    let from = from.unwrap_or(today);
    let to = to.unwrap_or(today + chrono::Duration::days(1));
    if to < from {
        return Err(Error::EmptyRange);
    }
    if (to - from).num_days() > i64::from(app.config.api.max_range_days) {
        return Err(Error::RangeTooLarge {
            days: (to - from).num_days(),
            max: app.config.api.max_range_days,
        });
    }
    Ok(StaffingRows {
        rows: app.store.planned_staffing(ward, from, to).await?,
    })
}

#[cfg(test)]
mod tests {
    use careload_scoring::score::Split;

    use super::*;

    fn optimum(scope: OptimumScope, reliable: bool) -> Optimum {
        Optimum {
            configured: VerdictBasis::Optimum,
            scope,
            reliable,
            together: Some(Points::whole(20)),
            usk: Some(Points::whole(25)),
            ssk: Some(Points::whole(40)),
            weeks: 6,
            rated_shifts: 100,
            reasons: Vec::new(),
        }
    }

    fn need(usk: i64, ssk: i64, people: (i64, i64)) -> NeedLine {
        NeedLine {
            total: Points::whole(usk + ssk),
            professions: Split {
                usk: Points::whole(usk),
                ssk: Points::whole(ssk),
            },
            people: ByProfession {
                usk: Qty::from_milli(people.0),
                ssk: Qty::from_milli(people.1),
            },
            ..NeedLine::default()
        }
    }

    #[test]
    fn the_optimum_turns_points_into_people_per_profession_or_together() {
        let n = need(100, 60, (3000, 1000));
        // per profession: each profession's points over its own optimum
        let p = optimum(OptimumScope::Professions, true).people(&n).expect("trusted");
        assert_eq!((p.usk.milli(), p.ssk.milli()), (4000, 1500));
        // together: all points over the joint optimum, split as the factors split the people
        let p = optimum(OptimumScope::Together, true).people(&n).expect("trusted");
        assert_eq!(p.total().milli(), 8000);
        assert_eq!((p.usk.milli(), p.ssk.milli()), (6000, 2000));
        // without the factors' people, as the points split
        let p = optimum(OptimumScope::Together, true)
            .people(&need(100, 60, (0, 0)))
            .expect("trusted");
        assert_eq!((p.usk.milli(), p.ssk.milli()), (5000, 3000));
        // untrusted: no figure, and the factors drive
        let o = optimum(OptimumScope::Together, false);
        assert_eq!(o.people(&n), None);
        assert_eq!(o.drives(), VerdictBasis::StaffHours);
        assert_eq!(optimum(OptimumScope::Together, true).drives(), VerdictBasis::Optimum);
    }

    #[test]
    fn driving_replaces_people_and_staff_hours() {
        let mut n = need(100, 60, (3000, 1000));
        optimum(OptimumScope::Professions, true).drive(&mut n, Qty::whole(8));
        assert_eq!((n.people.usk.milli(), n.people.ssk.milli()), (4000, 1500));
        assert_eq!((n.staff_hours.usk.milli(), n.staff_hours.ssk.milli()), (32_000, 12_000));
        let before = n;
        optimum(OptimumScope::Professions, false).drive(&mut n, Qty::whole(8));
        assert_eq!(n, before, "an untrusted optimum changes nothing");
    }

    #[test]
    fn the_difference_is_explained_in_one_line() {
        let q = Qty::from_milli;
        assert_eq!(
            explain(q(5200), q(6100)),
            "personaltimfaktorerna säger 5,2, avdelningens optimum 6,1: passen har känts tyngre än faktorerna antar"
        );
        assert_eq!(
            explain(q(5200), q(4000)),
            "personaltimfaktorerna säger 5,2, avdelningens optimum 4,0: passen har känts lättare än faktorerna antar"
        );
        assert!(explain(q(5230), q(5200)).ends_with("de är överens om passets tyngd"));
        let o = optimum(OptimumScope::Together, true);
        assert_eq!(o.reliability(), "tillförlitlig, 6 veckor");
        let mut u = optimum(OptimumScope::Together, false);
        u.reasons.push(OptimumReason {
            code: "too_few_shifts".into(),
            text: "för få skattade pass: 3 (minst 20)".into(),
        });
        assert_eq!(u.reliability(), "ej tillförlitlig: för få skattade pass: 3 (minst 20)");
    }
}
