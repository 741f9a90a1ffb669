//! careload's HTTP API (`/api/v1`, JSON) and server-rendered ward screens.
//!
//! Entry points (the contract the binary and the runner code against):
//! [`AppState::new`] and [`router`].

use std::sync::Arc;

use careload_config::Config;
use careload_scoring::Weights;
use careload_store::Store;

pub mod view;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The history store.
    pub store: Store,
    /// The service configuration.
    pub config: Arc<Config>,
    /// The weights in force (for forecasts).
    pub weights: Arc<Weights>,
}

impl AppState {
    /// The state for [`router`].
    pub fn new(store: Store, config: Arc<Config>, weights: Arc<Weights>) -> AppState {
        AppState { store, config, weights }
    }
}

/// Every route: `/api/v1/…`, `/wards/{id}/screen`, `/`, `/healthz`, `/readyz`, `/metrics`.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new().with_state(state)
}
