//! The configuration's settings resolved once, at start: the hospital's
//! time zone, each configured ward's shift plan, the planning options
//! (`[planning]`, from the file's format into `careload-planning`'s types)
//! and the calibration's (`[calibration]`: the window, the minimums as
//! `careload_planning::calibration::CalibrationRules`, what drives the
//! verdicts) and the forecast's (`[forecast]`: the risk level, the weeks
//! learnt from, whether it learns at all). Use cases read them
//! from here instead of parsing the configuration's strings again at use,
//! so a bad value is a refusal at start (with the key and what to write),
//! not an error in the middle of a request.
//!
//! The configuration's own validation (`careload_config::Config::validate`)
//! refuses the same values when a file is loaded; these checks guard a
//! configuration built in code.

use std::collections::BTreeMap;

use careload_config::{CalibrationConfig, Config, Drives, ForecastConfig, PlanningConfig};
use careload_planning::calibration::CalibrationRules;
use careload_planning::{AdmissionAssumption, BalanceOptions, Thresholds};
use careload_scoring::shift::ShiftPlan;

use crate::{Error, Result};

/// The resolved settings, with what could not be resolved.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The hospital's zone (`scoring.time_zone`); UTC when it cannot be resolved.
    pub tz: chrono_tz::Tz,
    /// Each configured ward's shift plan, or why it cannot be used.
    shift_plans: BTreeMap<String, std::result::Result<ShiftPlan, String>>,
    /// The verdict's thresholds (`[planning.thresholds]`).
    pub thresholds: Thresholds,
    /// Team balancing's defaults (`[planning.balance]`; a request may change them).
    pub balance: BalanceOptions,
    /// The need assumed for the next admission (`[planning.admission]`).
    pub admission: AdmissionAssumption,
    /// The minimums a ward's calibration is held to (`[calibration]`).
    pub calibration: CalibrationRules,
    /// Weeks of the calibration's default window (`calibration.window_weeks`).
    pub calibration_window_weeks: i64,
    /// What drives the planning verdicts (`calibration.drives`).
    pub drives: Drives,
    /// The next shifts' forecast with its uncertainty (`[forecast]`).
    pub forecast: ForecastSettings,
    /// Every setting that could not be resolved: key, problem and hint.
    problems: Vec<String>,
}

impl Settings {
    /// Resolves `config`'s settings. Never fails: what cannot be resolved is
    /// kept in [`Settings::problems`] (see [`Settings::checked`]).
    pub fn resolve(config: &Config) -> Settings {
        let mut problems = Vec::new();
        let tz = config.scoring.tz().unwrap_or_else(|e| {
            problems.push(e.to_string());
            chrono_tz::Tz::UTC
        });
        let shift_plans = config
            .wards
            .iter()
            .map(|(id, ward)| {
                let plan = ward.shift_plan(id).map_err(|e| e.to_string());
                if let Err(e) = &plan {
                    problems.push(e.clone());
                }
                (id.clone(), plan)
            })
            .collect();
        if let Err(e) = config.forecast.validate() {
            problems.push(e.to_string());
        }
        Settings {
            tz,
            shift_plans,
            thresholds: thresholds(&config.planning),
            balance: balance(&config.planning),
            admission: admission(&config.planning),
            calibration: calibration_rules(&config.calibration),
            calibration_window_weeks: config.calibration.window_weeks,
            drives: config.calibration.drives,
            forecast: forecast(&config.forecast),
            problems,
        }
    }

    /// What could not be resolved, one line each (empty when all is well).
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The settings when every one of them resolved.
    ///
    /// # Errors
    /// [`Error::Config`] listing every problem.
    pub fn checked(self) -> Result<Settings> {
        if self.problems.is_empty() {
            Ok(self)
        } else {
            Err(Error::Config(self.problems.join("; ")))
        }
    }

    /// Ward `ward`'s shift plan (the default plan when none is configured).
    ///
    /// # Errors
    /// [`Error::Config`] when the configured plan is invalid.
    pub fn shift_plan(&self, ward: &str) -> Result<ShiftPlan> {
        match self.shift_plans.get(ward) {
            Some(Ok(plan)) => Ok(plan.clone()),
            Some(Err(e)) => Err(Error::Config(e.clone())),
            None => Ok(ShiftPlan::default()),
        }
    }
}

/// The verdict's thresholds of `[planning.thresholds]`.
fn thresholds(planning: &PlanningConfig) -> Thresholds {
    let t = &planning.thresholds;
    Thresholds {
        understaffed_people: t.understaffed_people,
        spare_people: t.spare_people,
        absence_margin_people: t.absence_margin_people,
    }
}

/// Team balancing's defaults of `[planning.balance]`.
fn balance(planning: &PlanningConfig) -> BalanceOptions {
    let b = &planning.balance;
    BalanceOptions {
        max_moves: b.max_moves,
        keep_rooms_together: b.keep_rooms_together,
        tolerance: b.tolerance,
        allow_staff_move: b.allow_staff_move,
    }
}

/// The admission assumption of `[planning.admission]`.
fn admission(planning: &PlanningConfig) -> AdmissionAssumption {
    let a = &planning.admission;
    AdmissionAssumption {
        usk_points_per_hour: a.usk_points_per_hour,
        ssk_points_per_hour: a.ssk_points_per_hour,
    }
}

/// The next shifts' forecast with its uncertainty (issue 28), as
/// `[forecast]` configures it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ForecastSettings {
    /// People are added to a shift until its risk of understaffing is at
    /// most this probability (`forecast.risk_level`; default
    /// `careload_planning::uncertainty::DEFAULT_RISK_LEVEL`, 20 %).
    pub risk_level: f64,
    /// Weeks of stored hours the forecast's own past errors are learnt
    /// from (`forecast.history_weeks`; default 8).
    pub history_weeks: i64,
    /// False: the scheduled forecast alone, nothing learnt, and the pages
    /// say so (`forecast.enabled`; default true).
    pub enabled: bool,
}

impl Default for ForecastSettings {
    /// The configuration's defaults (a test holds the two to each other).
    fn default() -> ForecastSettings {
        ForecastSettings {
            risk_level: careload_planning::uncertainty::DEFAULT_RISK_LEVEL,
            history_weeks: 8,
            enabled: true,
        }
    }
}

/// The forecast's settings of `[forecast]`.
fn forecast(c: &ForecastConfig) -> ForecastSettings {
    ForecastSettings {
        risk_level: c.risk_level,
        history_weeks: c.history_weeks,
        enabled: c.enabled,
    }
}

/// The minimums of `[calibration]` as the planning crate's rules (also for
/// `careload weights fit`, whose bounds are `fit_min_scale`/`fit_max_scale`
/// of the same table).
pub fn calibration_rules(c: &CalibrationConfig) -> CalibrationRules {
    CalibrationRules {
        min_response_rate: c.min_response_rate,
        min_weeks: c.min_weeks,
        min_shifts: c.min_shifts,
        min_r_squared: c.min_r_squared,
        max_relative_width: c.max_relative_width,
    }
}

#[cfg(test)]
mod tests {
    use careload_config::WardConfig;

    use super::*;

    #[test]
    fn a_good_configuration_resolves_with_no_problems() {
        let mut config = Config::default();
        config.scoring.time_zone = "Europe/Stockholm".into();
        let mut ward = WardConfig::default();
        ward.shifts.insert("dag".into(), "06:45".into());
        ward.shifts.insert("natt".into(), "21:15".into());
        config.wards.insert("w1".into(), ward);
        let settings = Settings::resolve(&config).checked().expect("resolves");
        assert_eq!(settings.tz, chrono_tz::Europe::Stockholm);
        let plan = settings.shift_plan("w1").expect("w1's plan");
        assert_eq!(plan, settings.shift_plan("w1").unwrap());
        assert_ne!(plan, ShiftPlan::default(), "w1's own plan, not the default");
        assert_eq!(settings.shift_plan("not-configured").unwrap(), ShiftPlan::default());
        // the file's defaults are the planning crate's
        assert_eq!(settings.balance, BalanceOptions::default());
        assert_eq!(settings.thresholds, Thresholds::default());
        assert_eq!(settings.admission, AdmissionAssumption::default());
        assert_eq!(settings.calibration, CalibrationRules::default());
        assert_eq!(
            settings.calibration_window_weeks,
            crate::calibration::DEFAULT_WINDOW_WEEKS
        );
        assert_eq!(settings.drives, Drives::StaffHours);
    }

    #[test]
    fn calibration_settings_are_the_files() {
        let config = Config::from_toml(
            "[calibration]\nwindow_weeks = 6\nmin_response_rate = 0.5\nmin_weeks = 2\nmin_shifts = 9\n\
             min_r_squared = 0.2\nmax_relative_width = 0.8\ndrives = \"optimum\"\n",
            "calibration.toml",
        )
        .expect("parses");
        let s = Settings::resolve(&config);
        assert_eq!(
            s.calibration,
            CalibrationRules {
                min_response_rate: 0.5,
                min_weeks: 2,
                min_shifts: 9,
                min_r_squared: 0.2,
                max_relative_width: 0.8,
            }
        );
        assert_eq!((s.calibration_window_weeks, s.drives), (6, Drives::Optimum));
    }

    #[test]
    fn forecast_settings_default_to_the_forecasts_constants() {
        let s = Settings::resolve(&Config::default());
        assert_eq!(s.forecast, ForecastSettings::default());
        // the planning crate's risk level, and the 8 weeks the forecast
        // learnt from before `[forecast]` existed (`forecast::HISTORY_WEEKS`)
        assert_eq!(
            (s.forecast.risk_level, s.forecast.history_weeks, s.forecast.enabled),
            (careload_planning::uncertainty::DEFAULT_RISK_LEVEL, 8, true)
        );
    }

    #[test]
    fn forecast_settings_are_the_files() {
        let config = Config::from_toml(
            "[forecast]\nrisk_level = 0.1\nhistory_weeks = 12\nenabled = false\n",
            "forecast.toml",
        )
        .expect("parses");
        let s = Settings::resolve(&config).checked().expect("resolves");
        assert_eq!(
            s.forecast,
            ForecastSettings {
                risk_level: 0.1,
                history_weeks: 12,
                enabled: false,
            }
        );
    }

    #[test]
    fn a_forecast_out_of_range_built_in_code_is_a_problem_naming_its_key() {
        let mut config = Config::default();
        config.forecast.risk_level = 0.0;
        let err = Settings::resolve(&config).checked().expect_err("refused").to_string();
        assert!(err.contains("forecast.risk_level") && err.contains("0.01–0.5"), "{err}");
        let mut config = Config::default();
        config.forecast.history_weeks = 0;
        let err = Settings::resolve(&config).checked().expect_err("refused").to_string();
        assert!(err.contains("forecast.history_weeks") && err.contains("4–26"), "{err}");
    }

    #[test]
    fn planning_options_are_the_files() {
        let config = Config::from_toml(
            "[planning.thresholds]\nspare_people = 2\n[planning.balance]\nmax_moves = 7\ntolerance = 1.5\n\
             [planning.admission]\nssk_points_per_hour = 0.5\n",
            "planning.toml",
        )
        .expect("parses");
        let s = Settings::resolve(&config);
        assert_eq!(s.thresholds.spare_people, careload_scoring::Qty::whole(2));
        assert_eq!(
            s.thresholds.understaffed_people,
            Thresholds::default().understaffed_people
        );
        assert_eq!((s.balance.max_moves, s.balance.tolerance.milli()), (7, 1500));
        assert_eq!(
            s.balance.keep_rooms_together,
            BalanceOptions::default().keep_rooms_together
        );
        assert_eq!(s.admission.ssk_points_per_hour.milli(), 500);
        assert_eq!(
            s.admission.usk_points_per_hour,
            AdmissionAssumption::default().usk_points_per_hour
        );
    }

    #[test]
    fn bad_settings_are_refused_with_their_keys() {
        let mut config = Config::default();
        config.scoring.time_zone = "Europe/Stockholmm".into();
        let mut ward = WardConfig::default();
        ward.shifts.insert("dag".into(), "7 am".into());
        config.wards.insert("w1".into(), ward);
        let settings = Settings::resolve(&config);
        assert_eq!(settings.tz, chrono_tz::Tz::UTC, "a bad zone falls back to UTC");
        assert_eq!(settings.problems().len(), 2, "{:?}", settings.problems());
        let err = settings.clone().checked().expect_err("refused").to_string();
        assert!(err.contains("scoring.time_zone"), "{err}");
        assert!(err.contains("wards.w1.shifts.dag") && err.contains("HH:MM"), "{err}");
        let plan_err = settings.shift_plan("w1").expect_err("w1's plan is bad").to_string();
        assert!(plan_err.contains("wards.w1.shifts.dag"), "{plan_err}");
    }
}
