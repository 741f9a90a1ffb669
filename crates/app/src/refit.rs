//! The weights refitted to the staff's ratings (issue 27, `careload weights
//! fit`): every ward's rated shifts over a window, as
//! [`crate::calibration::ward_calibration`] builds them (the need from the
//! stored hours per component, over the planned staff present, against the
//! mean rating), fed to [`careload_planning::refit::fit_scales`].
//!
//! Nothing is written and nothing is activated: the answer is the scales,
//! how well they explain the ratings on held-out weeks, and whether a change
//! is proposed at all; the binary turns a proposal into a candidate weights
//! file for `careload weights backtest` and the council's `activate`.
//!
//! The points of the stored hours are those of the weights that scored them
//! ([`WeightsFit::weights_versions`]); scales fitted over hours of more than
//! one version mix their points, which the front door should say.

use std::collections::BTreeSet;

use careload_planning::calibration::CalibrationRules;
pub use careload_planning::refit::{COMPONENTS, FitBounds, NoChange, RSquared, ScaleFit, rounded_scales};
use careload_planning::refit::{FitShift, fit_scales};
use careload_scoring::Points;
use careload_scoring::score::Component;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::calibration::ward_calibration;
use crate::query::ward_list;
use crate::{App, Result};

/// The refit over a window.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WeightsFit {
    /// The window's start (UTC).
    pub from: DateTime<Utc>,
    /// The window's end (UTC).
    pub to: DateTime<Utc>,
    /// The weights version in force (the one the candidate would replace).
    pub in_force_version: String,
    /// The weights versions that scored the hours used.
    pub weights_versions: Vec<String>,
    /// The minimums the data are held to.
    pub rules: CalibrationRules,
    /// The council's bounds on the scales.
    pub bounds: FitBounds,
    /// Per ward, what went into the fit.
    pub wards: Vec<WardInput>,
    /// The fit.
    pub fit: ScaleFit,
    /// Why no change is proposed, each with a stable code and Swedish text
    /// (empty when a change is proposed).
    pub reasons: Vec<RefitReason>,
}

/// What one ward gave the fit.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WardInput {
    /// The ward.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// Shifts of its plan in the window that had ended.
    pub shifts_in_window: u32,
    /// Shifts given to the fit (with staffing, stored hours and someone present).
    pub shifts: u32,
    /// Of those, rated.
    pub rated_shifts: u32,
    /// Ratings.
    pub ratings: u32,
}

/// Why no change is proposed.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct RefitReason {
    /// A stable code ([`NoChange::code`]).
    pub code: String,
    /// The reason in Swedish.
    pub text: String,
    /// The numbers behind it.
    pub detail: NoChange,
}

impl From<&NoChange> for RefitReason {
    fn from(n: &NoChange) -> RefitReason {
        RefitReason {
            code: n.code().to_owned(),
            text: n.sv(),
            detail: *n,
        }
    }
}

/// Fits the component scales to every ward's rated shifts in `[from, to]`
/// at `now`, held to `rules` and `bounds` (the module doc).
///
/// # Errors
/// As [`ward_calibration`] for any ward: an empty or too long range, a
/// ward whose shift plan is invalid, the store failing.
pub async fn fit_weights(
    app: &App,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    rules: &CalibrationRules,
    bounds: &FitBounds,
) -> Result<WeightsFit> {
    let list = ward_list(app, now).await?;
    let mut shifts = Vec::new();
    let mut wards = Vec::new();
    let mut versions = BTreeSet::new();
    for ward in &list.wards {
        let c = ward_calibration(app, &ward.id, Some(from), Some(to), now, rules).await?;
        versions.extend(c.weights_versions.iter().cloned());
        let mut rated = 0u32;
        for p in &c.together.points {
            let mut components = [Points::ZERO; COMPONENTS];
            for (slot, component) in components.iter_mut().zip(Component::ALL) {
                *slot = p.components.get(component.key()).copied().unwrap_or(Points::ZERO);
            }
            if p.ratings > 0 {
                rated += 1;
            }
            shifts.push(FitShift {
                ward: ward.id.clone(),
                date: p.local_start.date(),
                components,
                staff_present: p.present,
                ratings: p.ratings,
                mean_rating: p.mean_rating.unwrap_or(0.0),
            });
        }
        wards.push(WardInput {
            id: ward.id.clone(),
            name: c.name.clone(),
            shifts_in_window: c.shifts_in_window,
            shifts: u32::try_from(c.together.points.len()).unwrap_or(u32::MAX),
            rated_shifts: rated,
            ratings: c.together.ratings,
        });
    }
    let mut fit = fit_scales(&shifts, rules, bounds);
    let in_force = &app.weights().meta.version;
    // scales fitted to points of other weights would land on different points
    if versions.len() > 1 || versions.iter().any(|v| v != in_force) {
        fit.proposes_change = false;
        fit.reasons.push(NoChange::OtherWeights {
            versions: u32::try_from(versions.len()).unwrap_or(u32::MAX),
        });
    }
    Ok(WeightsFit {
        from,
        to,
        in_force_version: app.weights().meta.version.clone(),
        weights_versions: versions.into_iter().collect(),
        rules: *rules,
        bounds: bounds.sane(),
        wards,
        reasons: fit.reasons.iter().map(RefitReason::from).collect(),
        fit,
    })
}
