//! The monthly agreement report (issue 27): how well a ward's points per
//! person explained the staff's own ratings over one calendar month, which
//! components moved with the ratings, and the shifts where points and
//! ratings disagreed most ([`ward_agreement`], served as
//! `GET /api/v1/wards/{id}/calibration/agreement?month=YYYY-MM` and shown on
//! the council's page `/wards/{id}/calibration?month=YYYY-MM`).
//!
//! # The month
//!
//! A calendar month in the hospital's zone: the shifts of the ward's plan
//! that **start** in it (local midnight of the 1st up to local midnight of
//! the next month's 1st), so that the night starting on the last evening of
//! the month is the month's, and the one ending on the morning of the 1st is
//! the month before's. Only shifts that have ended by `now` count; a month
//! not yet over is reported as far as it has gone ([`WardAgreement::complete`]
//! says so). A month that has not begun is refused. The default month of the
//! front doors is the last complete one ([`last_complete_month`]).
//!
//! # The fit
//!
//! [`crate::calibration::ward_calibration`] over that window, as it is: R²
//! and Spearman of the mean rating on points per person, together and per
//! profession, each with its reliability, and the per-component fits.
//!
//! # The largest disagreements
//!
//! Each rated shift of the fit of both professions has a **fitted rating**
//! (the month's line at its points per person) and a **residual**: its mean
//! rating minus the fitted one. Positive: the staff found the shift heavier
//! than its points said; negative: lighter. The shifts are ranked by their
//! weighted squared residual `nᵢ · rᵢ²` (`nᵢ` its ratings): each shift's
//! share of the fit's weighted residual sum of squares, so a shift that one
//! person rated far off counts less than one that eight rated as far off —
//! the same weighting as the fit itself. The [`TOP`] largest are reported,
//! the largest first (ties: the earlier shift first), each with its
//! breakdown: the points per person of every component beside the month's
//! mean over the rated shifts, so the council sees what was unusual about
//! the shift — what the ratings felt and the score did or did not see.
//! Without a fitted line (too few rated shifts, every shift at the same load)
//! there are no fitted ratings and no disagreements.

use std::collections::BTreeMap;

use careload_planning::calibration::CalibrationRules;
use careload_planning::div_round;
use careload_scoring::Points;
use careload_scoring::score::Component;
use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::Serialize;

use crate::calibration::{ShiftPoint, WardCalibration, ward_calibration};
use crate::{App, Error, Result};

/// How many of the largest disagreements the report lists.
pub const TOP: usize = 10;

/// A ward's agreement report for one month:
/// `GET /api/v1/wards/{id}/calibration/agreement`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WardAgreement {
    /// The month, `YYYY-MM`, in the hospital's zone.
    pub month: String,
    /// True when every shift starting in the month had ended at the time of the report.
    pub complete: bool,
    /// The ward's calibration over the shifts starting in the month: R²,
    /// Spearman, the fits together and per profession, the component fits
    /// and the scatter.
    pub calibration: WardCalibration,
    /// The rated shifts whose mean rating was farthest from the fitted one
    /// (weighted by their ratings), the largest first, at most [`TOP`];
    /// empty without a fitted line.
    pub disagreements: Vec<Disagreement>,
}

/// One shift where the points and the ratings disagreed.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Disagreement {
    /// The shift's start (UTC): the ratings' key.
    pub start: DateTime<Utc>,
    /// Its start in the hospital's zone.
    pub local_start: NaiveDateTime,
    /// The shift's name in the plan.
    pub shift: String,
    /// Both professions' points over everyone present.
    pub points_per_person: Points,
    /// Staff present (both professions).
    pub present: u32,
    /// Ratings of the shift.
    pub ratings: u32,
    /// Their mean.
    pub mean_rating: f64,
    /// The month's fitted line at the shift's points per person.
    pub fitted_rating: f64,
    /// Mean rating minus fitted rating: positive when the staff found the
    /// shift heavier than its points said.
    pub residual: f64,
    /// `ratings × residual²`: what ranks the shifts.
    pub weighted_squared_residual: f64,
    /// Per component of the score, its points per person on this shift
    /// beside the month's mean, in the order of the score's components;
    /// empty when the calibration carries no per-component points.
    pub components: Vec<ComponentShare>,
}

/// One component of a disagreeing shift.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ComponentShare {
    /// The component's key, as in the breakdown (`medications`, `news2`…).
    pub component: String,
    /// Its points per person present on the shift.
    pub points_per_person: Points,
    /// Its mean points per person over the month's rated shifts.
    pub month_mean: Points,
    /// The shift's minus the month's mean.
    pub difference: Points,
}

/// A month written `YYYY-MM` (`2026-11`), as `(year, month)`.
///
/// # Errors
/// [`Error::BadQuery`] naming `param` for anything else.
pub fn parse_month(param: &'static str, text: &str) -> Result<(i32, u32)> {
    let text = text.trim();
    let bad = || Error::BadQuery {
        param,
        hint: format!("{text:?} is not a month; send it as YYYY-MM, e.g. 2026-11"),
    };
    let (year, month) = text.split_once('-').ok_or_else(bad)?;
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || month.len() != 2 || !digits(year) || !digits(month) {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let month: u32 = month.parse().map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
    Ok((year, month))
}

/// The last calendar month (in the hospital's zone) that had ended at `now`.
pub fn last_complete_month(app: &App, now: DateTime<Utc>) -> (i32, u32) {
    let today = now.with_timezone(&app.tz()).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let previous = first.checked_sub_months(Months::new(1)).unwrap_or(first);
    (previous.year(), previous.month())
}

/// Local midnight starting `date`, in UTC.
fn midnight(tz: &chrono_tz::Tz, date: NaiveDate) -> Result<DateTime<Utc>> {
    tz.from_local_datetime(&date.and_time(NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| Error::Internal(format!("no local midnight on {date}")))
}

/// The agreement report of ward `id` for `month` (`(year, month)`) at
/// `now`, its fits held to `rules` (the module doc has the method).
///
/// # Errors
/// [`Error::BadQuery`] for a month that does not exist or has not begun;
/// [`Error::UnknownWard`]; the errors of
/// [`crate::calibration::ward_calibration`].
pub async fn ward_agreement(
    app: &App,
    id: &str,
    month: (i32, u32),
    now: DateTime<Utc>,
    rules: &CalibrationRules,
) -> Result<WardAgreement> {
    let (year, m) = month;
    let label = format!("{year:04}-{m:02}");
    let first = NaiveDate::from_ymd_opt(year, m, 1).ok_or_else(|| Error::BadQuery {
        param: "month",
        hint: format!("{label} is not a month; send it as YYYY-MM, e.g. 2026-11"),
    })?;
    let next = first
        .checked_add_months(Months::new(1))
        .ok_or_else(|| Error::BadQuery {
            param: "month",
            hint: format!("{label} is too far in the future"),
        })?;
    let tz = app.tz();
    let from = midnight(&tz, first)?;
    let month_end = midnight(&tz, next)?;
    if from > now {
        let (y, m) = last_complete_month(app, now);
        return Err(Error::BadQuery {
            param: "month",
            hint: format!(
                "{label} has not begun; ask for a month up to this one (the last complete one is {y:04}-{m:02})"
            ),
        });
    }
    // the shift running at the month's end started in the month: up to its end
    let plan = app.shift_plan(id)?;
    let last = plan.shift_at(month_end, &tz);
    let to = if last.window.start < month_end {
        last.window.end
    } else {
        month_end
    };
    // as served: a shift whose mean is withheld (a small group) is no disagreement to list
    let calibration = ward_calibration(app, id, Some(from), Some(to), now, rules)
        .await?
        .shown();
    let disagreements = disagreements(&calibration);
    Ok(WardAgreement {
        month: label,
        complete: to <= now,
        calibration,
        disagreements,
    })
}

/// The [`TOP`] rated shifts of the fit of both professions farthest from
/// its line, weighted by their ratings.
fn disagreements(c: &WardCalibration) -> Vec<Disagreement> {
    let fit = &c.together;
    let (Some(a), Some(b)) = (fit.intercept, fit.slope) else {
        return Vec::new();
    };
    let rated: Vec<(&ShiftPoint, f64)> = fit.points.iter().filter_map(|p| Some((p, p.mean_rating?))).collect();
    let means = component_means(rated.iter().map(|(p, _)| *p));
    let mut out: Vec<Disagreement> = rated
        .iter()
        .filter_map(|&(p, mean)| {
            let fitted = a + b * p.points_per_person.as_f64();
            let residual = mean - fitted;
            let weighted = f64::from(p.ratings) * residual * residual;
            [fitted, residual, weighted]
                .iter()
                .all(|v| v.is_finite())
                .then(|| Disagreement {
                    start: p.start,
                    local_start: p.local_start,
                    shift: p.shift.clone(),
                    points_per_person: p.points_per_person,
                    present: p.present,
                    ratings: p.ratings,
                    mean_rating: mean,
                    fitted_rating: fitted,
                    residual,
                    weighted_squared_residual: weighted,
                    components: breakdown(p, &means),
                })
        })
        .collect();
    out.sort_by(|x, y| {
        y.weighted_squared_residual
            .total_cmp(&x.weighted_squared_residual)
            .then(x.start.cmp(&y.start))
    });
    out.truncate(TOP);
    out
}

/// A shift's points per person per component, by key (filled in the fit of
/// both professions).
fn components_of(p: &ShiftPoint) -> &BTreeMap<String, Points> {
    &p.components
}

/// Per component, its mean points per person over `points` (thousandths,
/// rounded half away from zero).
fn component_means<'a>(points: impl Iterator<Item = &'a ShiftPoint>) -> BTreeMap<String, Points> {
    let mut sums: BTreeMap<String, i128> = BTreeMap::new();
    let mut n = 0i128;
    for p in points {
        n += 1;
        for (key, v) in components_of(p) {
            *sums.entry(key.clone()).or_default() += i128::from(v.milli());
        }
    }
    sums.into_iter()
        .map(|(key, sum)| (key, Points::from_milli(div_round(sum, n))))
        .collect()
}

/// The shift's components beside the month's means, in the score's order.
fn breakdown(p: &ShiftPoint, means: &BTreeMap<String, Points>) -> Vec<ComponentShare> {
    let own = components_of(p);
    if own.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
    // a component the score does not name (a later version's) still shows, last
    keys.extend(
        own.keys()
            .map(String::as_str)
            .filter(|k| !Component::ALL.iter().any(|c| c.key() == *k)),
    );
    keys.into_iter()
        .map(|key| {
            let points_per_person = own.get(key).copied().unwrap_or(Points::ZERO);
            let month_mean = means.get(key).copied().unwrap_or(Points::ZERO);
            ComponentShare {
                component: key.to_owned(),
                points_per_person,
                month_mean,
                difference: points_per_person - month_mean,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_read_as_yyyy_mm_and_nothing_else() {
        assert_eq!(parse_month("month", "2026-11").ok(), Some((2026, 11)));
        assert_eq!(parse_month("month", " 2026-01 ").ok(), Some((2026, 1)));
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-11",
            "2026/11",
            "2026-11-01",
            "",
            "november",
            "+202-11",
            "2026-+1",
        ] {
            let e = parse_month("month", bad).expect_err(bad);
            assert!(matches!(e, Error::BadQuery { param: "month", .. }), "{bad}: {e}");
            assert!(e.hint().is_some_and(|h| h.contains("YYYY-MM")), "{bad}");
        }
    }

    #[test]
    fn rounding_halves_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(div_round(1, 0), 0);
    }
}
