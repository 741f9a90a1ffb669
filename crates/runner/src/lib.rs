//! careload's hourly run: fetch FHIR, map to snapshots, score, store.
//!
//! * [`source`] — where FHIR comes from: the [`FhirSource`] trait and its
//!   implementations for a FHIR server's REST API or Bulk Data `$export`
//!   and for files. The simulated hospital of the demo is a source the
//!   `careload` binary implements; the runner does not depend on the
//!   simulator.
//! * [`runner`] — [`Runner`]: one run per hour ([`Runner::run_hour`]), the
//!   FHIR state merged from incremental fetches between runs, the nightly
//!   full resync, retention, and the back-fill of an empty store from a
//!   source that replays history ([`Runner::backfill`]).
//! * [`schedule`] — [`Scheduler`]: a run at every firing of `schedule.cron`
//!   (or `HH:schedule.minute` every hour) in the hospital's zone
//!   ([`Timing`]), never two at once, stopped by a shutdown future; among
//!   replicas sharing a PostgreSQL database, one runs each firing and the
//!   others take over if it stops ([`take_turn`]).
//! * [`priority`] — the runtime the runs go on, its threads at a lower CPU
//!   priority than the API's ([`priority::runs_runtime`]), and the short
//!   time slice the API's threads ask for ([`priority::latency_first`]).
//!
//! A run never crashes on bad input and never loses the last good hour: a
//! failed fetch or write is a failed run in the store, the previous hour
//! stays current. One [`Error`] type covers what stops the runner itself.

pub mod error;
pub mod priority;
pub mod runner;
pub mod schedule;
pub mod source;

pub use error::{Error, Result};
pub use runner::{
    BACKFILL_SPAN, Progress, RunSummary, Runner, SharedWeights, StartPlan, WhenKeyUnset, configured_wards,
    load_mapping, load_weights, pseudonym_key, read_weights_file,
};
pub use schedule::{AfterRun, Due, Scheduler, TAKEOVER_POLL, Tick, Timing, Turn, next_tick, take_turn};
pub use source::{
    BoxFuture, BulkSource, FetchRequest, Fetched, FhirSource, FilesSource, RestSource, bulk_config, bulk_config_of,
    from_config, from_source_config, rest_config, rest_config_of,
};
