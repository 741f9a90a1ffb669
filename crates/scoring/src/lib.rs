//! careload's scoring core: from one patient's de-identified snapshot and the
//! council's weights to care-need points with their full breakdown.
//!
//! This crate is pure. It does no I/O, reads no clock and knows no time-zone
//! database: callers pass text, instants and zones in. That is what makes a
//! score reproducible years later from the stored snapshot and weights
//! version, and what lets a whole region be re-scored in well under a second.
//!
//! * [`snapshot`] — the domain types: one inpatient at one moment.
//! * [`stored`] — the snapshot's compact binary form, as the store keeps it.
//! * [`weights`] — the council's weights file: parse, validate, compare.
//! * [`score`] — the score for a window, its components and contributions
//!   (the exact arithmetic is documented there).
//! * [`news2`] — NEWS2 and its risk level from vital signs (RCP 2017).
//! * [`aggregate`] — team, ward and hospital sums.
//! * [`change`] — what changed since the previous hour, and why.
//! * [`shift`] — shift plans as windows.
//! * [`explain`] — contributions in words.
//! * [`points`] — exact fixed-point arithmetic.

pub mod aggregate;
pub mod change;
pub mod explain;
pub mod instant;
pub mod news2;
pub mod points;
pub mod quality;
pub mod score;
pub mod shift;
pub mod snapshot;
pub mod stored;
pub mod weights;

use chrono::{DateTime, Utc};

pub use aggregate::{Rollup, Totals, rollup};
pub use points::{Points, Qty};
pub use score::{Batch, Component, Contribution, Score, ScoreHead, Window, forecast, score, score_into, score_now};
pub use snapshot::Snapshot;
pub use weights::{Weights, WeightsError};

/// Everything that can go wrong in the scoring core.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A weights file was refused.
    #[error("{0}")]
    Weights(#[from] WeightsError),
    /// NEWS2 needs all seven parameters.
    #[error("cannot compute NEWS2: missing {}; chart every parameter or record the NEWS2 total", missing.join(", "))]
    IncompleteVitals {
        /// The missing parameters.
        missing: Vec<&'static str>,
    },
    /// A vital sign that cannot be scored.
    #[error("cannot compute NEWS2: {parameter} {value} is not a measurement")]
    ImplausibleVitals {
        /// The parameter.
        parameter: &'static str,
        /// The value as given.
        value: String,
    },
    /// A window that is empty, backwards or too long.
    #[error("window from {start} to {end} is not valid; the end must come after the start, at most a week later")]
    BadWindow {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
    },
    /// A shift plan that cannot be used.
    #[error("shift plan: {0}")]
    BadShiftPlan(String),
    /// A shift name that the plan does not have.
    #[error("unknown shift {name:?}; this plan has: {known}")]
    UnknownShift {
        /// The name asked for.
        name: String,
        /// The names the plan has.
        known: String,
    },
}
