//! careload's application layer: the settings resolved once at start and the
//! use cases the two front doors share — the HTTP API (`careload-api`) and
//! the command line (`careload`).
//!
//! It sits between the domain crates (scoring, planning, store, export) and
//! the front doors: a front door extracts its input (query parameters,
//! command-line flags), calls a use case here with an [`App`], and renders
//! what comes back (JSON, HTML, a table). Nothing here knows HTTP or a
//! terminal.
//!
//! * [`settings`] — the configuration's strings resolved once: the
//!   hospital's time zone and each ward's shift plan. A bad one stops the
//!   start ([`App::try_new`]) with the key and what to write instead.
//! * [`query`] — ward, hospital, history, patient and forecast views built
//!   from the store (the indicator and colour-band rules are documented
//!   there).
//! * [`planning`] — next-shift need against planned staff, team balance,
//!   pins, admissions and the planned-staffing import.
//! * [`ratings`] — the staff's rating of a shift's workload (−3 … +3),
//!   checked against the shift plan, the late window and the limit per
//!   shift, then stored.
//! * [`calibration`] — a ward's optimal points per person from the
//!   stored hours, the planned staffing and the staff's ratings;
//!   [`agreement`] — its monthly agreement report.
//! * [`forecast`] — the scheduled forecast's own past errors per ward and
//!   team and each ward's arrivals and departures per hour of the week,
//!   learnt incrementally from the stored hours, behind the next shifts'
//!   P10/P50/P90, risk of understaffing and expected flow (issue 28).
//! * [`export`] — the export context of a configuration, a streamed trend
//!   export, the weights back-test.
//! * [`fhir_out`] — the hourly result as FHIR R4 (issue 29): ward hours
//!   as `MeasureReport`s, patient hours as `Observation`s (the patient by
//!   pseudonym only), their search and paging.
//! * [`view`] — the view types (what the JSON routes return and the screens
//!   render). [`error`] — the one error type.
//!
//! Reading and planning never call the EHR. The writes are the planning
//! inputs people make: pins and planned staffing, each audited.

use std::sync::{Arc, RwLock};

use careload_config::Config;
use careload_scoring::Weights;
use careload_scoring::shift::ShiftPlan;
use careload_store::Store;

pub mod agreement;
pub mod calibration;
pub mod error;
pub mod export;
pub mod fhir_out;
pub mod forecast;
pub mod planning;
pub mod query;
pub mod ratings;
pub mod refit;
pub mod settings;
pub mod view;

pub use error::{Error, Kind, Result};
pub use settings::Settings;

/// What every use case works on: the store, the configuration with its
/// resolved [`Settings`], and the weights in force.
pub struct App {
    /// The history store.
    pub store: Store,
    /// The service configuration.
    pub config: Arc<Config>,
    settings: Settings,
    /// The weights in force, switched by the hourly run when a council
    /// activation takes effect: read with [`App::weights`].
    weights: Arc<RwLock<Arc<Weights>>>,
    /// The scheduled forecast's past errors, learnt on demand ([`forecast::refresh`]).
    forecast: Arc<tokio::sync::Mutex<forecast::Learner>>,
}

impl App {
    /// The application over `store` and `config`, with `weights` in force,
    /// refusing settings that cannot be resolved.
    ///
    /// # Errors
    /// [`Error::Config`] naming each bad key and what to write instead.
    pub fn try_new(store: Store, config: Arc<Config>, weights: Arc<Weights>) -> Result<App> {
        let settings = Settings::resolve(&config).checked()?;
        Ok(App::with_settings(store, config, weights, settings))
    }

    /// As [`App::try_new`], keeping settings that cannot be resolved as
    /// problems (see [`Settings::resolve`]) instead of refusing them: the
    /// zone falls back to UTC and a ward with a bad shift plan answers its
    /// planning with [`Error::Config`].
    pub fn new(store: Store, config: Arc<Config>, weights: Arc<Weights>) -> App {
        let settings = Settings::resolve(&config);
        App::with_settings(store, config, weights, settings)
    }

    /// The application with `settings` resolved from `config`.
    fn with_settings(store: Store, config: Arc<Config>, weights: Arc<Weights>, settings: Settings) -> App {
        App {
            store,
            config,
            settings,
            weights: Arc::new(RwLock::new(weights)),
            forecast: Arc::default(),
        }
    }

    /// The hospital's time zone (`scoring.time_zone`), resolved once.
    pub fn tz(&self) -> chrono_tz::Tz {
        self.settings.tz
    }

    /// The resolved settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Ward `ward`'s shift plan, parsed at start (the default plan for a
    /// ward with none configured).
    ///
    /// # Errors
    /// [`Error::Config`] when the configured plan is invalid.
    pub fn shift_plan(&self, ward: &str) -> Result<ShiftPlan> {
        self.settings.shift_plan(ward)
    }

    /// The weights in force now.
    pub fn weights(&self) -> Arc<Weights> {
        match self.weights.read() {
            Ok(w) => w.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The cell the hourly run publishes the weights in force to
    /// (`careload_runner::Runner::publish_weights`).
    pub fn weights_cell(&self) -> Arc<RwLock<Arc<Weights>>> {
        self.weights.clone()
    }

    /// The service's learner of the scheduled forecast's past errors
    /// (one per `App`; [`forecast::refresh`] brings it up to date).
    pub fn forecast_learner(&self) -> Arc<tokio::sync::Mutex<forecast::Learner>> {
        self.forecast.clone()
    }

    /// A ward's display name: `[wards.<id>] name`, else the id.
    pub fn ward_name(&self, id: &str) -> String {
        self.config
            .wards
            .get(id)
            .and_then(|w| w.name.clone())
            .unwrap_or_else(|| id.to_owned())
    }

    /// The ids of `ward`'s teams: seen in the data or configured
    /// (`[wards.<id>.teams]`, `rooms`), sorted. The one list of a ward's
    /// teams that a rating and a staffing plan may name.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn team_ids(&self, ward: &str) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self
            .store
            .teams(ward, chrono::DateTime::<chrono::Utc>::UNIX_EPOCH)
            .await?
            .into_iter()
            .map(|t| t.team)
            .collect();
        if let Some(c) = self.config.wards.get(ward) {
            ids.extend(c.teams.keys().cloned());
            ids.extend(c.rooms.values().cloned());
        }
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// A team's display name, the one every screen, view and proposal
    /// shows: the configured `[wards.<ward>.teams]` name, else `Vårdlag`
    /// and the team's short label (`w01-b` → `Vårdlag B`,
    /// [`view::short_label`]); patients without a team are `Utan vårdlag`.
    /// (The store keeps no Location names for teams, so the Location tree
    /// cannot name them.)
    pub fn team_name(&self, ward: &str, team: &str) -> String {
        view::team_name(ward, team, self.config.wards.get(ward).and_then(|w| w.team_name(team)))
    }

    /// The care category of `ward`: configured, else `general` when the
    /// weights in force have it, else the weights' first.
    pub fn care_category(&self, ward: &str) -> String {
        if let Some(c) = self.config.wards.get(ward).and_then(|w| w.care_category.clone()) {
            return c;
        }
        careload_planning::default_care_category(&self.weights())
            .unwrap_or(careload_planning::DEFAULT_CARE_CATEGORY)
            .to_owned()
    }
}
