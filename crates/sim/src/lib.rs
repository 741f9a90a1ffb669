//! careload's simulated hospital: a deterministic synthetic hospital that
//! emits realistic FHIR R4 (4.0.1) JSON, for the demo, the tests and the
//! benchmarks.
//!
//! ```no_run
//! use careload_sim::{Hospital, SimConfig};
//! # fn main() -> Result<(), careload_sim::Error> {
//! let start = chrono::DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z").map_err(|e| careload_sim::Error::Config(e.to_string()))?;
//! let mut h = Hospital::new(SimConfig { beds: 300, ..SimConfig::new(7, start.to_utc()) })?;
//! h.advance_hours(24);
//! let summary = h.write_ndjson(std::path::Path::new("out"))?;
//! println!("{summary:?} {:?}", h.stats().occupancy);
//! # Ok(()) }
//! ```
//!
//! * [`model`] — wards, teams, rooms, beds; admissions, placement
//!   (outliers), discharges; the clock ([`Hospital`], [`SimConfig`],
//!   [`SimStats`]).
//! * `patient` — one inpatient's state and records over time.
//! * [`fhir`] — the present state as FHIR resources ([`RefStyle`]).
//! * [`output`] — Bulk Data NDJSON files and transaction bundles.
//! * [`server`] — the hospital served as a FHIR R4 REST API over HTTP.
//! * `staffing` — planned staffing as the scheduling system's CSV
//!   ([`Hospital::staffing_csv`]).
//! * [`truth`] — the hidden truth careload never sees: what the care really
//!   costs, how heavy each shift feels, the staff's ratings
//!   ([`Hospital::ratings_csv`], [`Hospital::shift_truths`]).
//! * [`codes`] — every code system and code emitted.
//! * [`rng`] — the deterministic random numbers.
//!
//! Patients have a synthetic name ("Testperson 0042") and a visibly fake
//! personal identity number (`19XX000042-TEST`). They exist only so that the
//! ingest's tests can prove names and identifiers are dropped; nothing else
//! carries free text.

pub mod codes;
pub mod fhir;
pub mod model;
pub mod output;
mod patient;
pub mod rng;
pub mod server;
mod staffing;
pub mod truth;
mod vitals;

use std::path::PathBuf;

pub use fhir::{RefStyle, uuid_for};
pub use model::{Hospital, LOCAL_UTC_OFFSET_HOURS, LosSummary, SimConfig, SimStats, WardStats};
pub use output::{RESOURCE_TYPES, Summary};
pub use server::{SharedSim, SimServer};
pub use truth::{Factors, Felt, ShiftTruth, Truth};

/// What can go wrong in the simulator.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration cannot be simulated.
    #[error("invalid simulation: {0}")]
    Config(String),
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// JSON could not be written.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The FHIR server could not listen or serve.
    #[error("cannot serve: {0}")]
    Serve(#[source] std::io::Error),
    /// A request to the served FHIR API was refused; served as an
    /// `OperationOutcome` with this HTTP status.
    #[error("{message}")]
    Request {
        /// The HTTP status.
        status: u16,
        /// The `OperationOutcome.issue.code` (e.g. `invalid`, `not-found`).
        code: &'static str,
        /// What was wrong and what to send instead.
        message: String,
    },
}
