//! careload's benchmarks that need more than one crate, for the binary's
//! `careload bench …` commands, so that no library depends on a crate only
//! for a benchmark.
//!
//! * [`ingest`] — [`ingest::ingest_bench`] (`careload bench ingest`): a
//!   simulated hospital on loopback (or `careload sim serve` in another
//!   process) read in full and then incrementally through the real
//!   pipeline, each phase timed, peak RSS read.
//! * [`calibration`] — [`calibration::calibration_bench`]: the staff's
//!   ratings of a simulated hospital with a hidden truth, through the real
//!   pipeline, imports and fit; each ward's optimal points per person
//!   against the truth's (issue 27); [`calibration::simulate`], the
//!   back-filled hospital it and the forecast's proof start from.
//! * [`forecast`] — [`forecast::forecast_bench`]: the next-shift forecast's
//!   back-test on held-out weeks of a simulated hospital (issue 28), and
//!   [`forecast::hourly_bench`] (`careload bench forecast`), the cost of the
//!   forecast in each hourly run of a 1,000-bed hospital.
//! * [`region`] — [`region::region_bench`] (`careload bench region`, issue
//!   29): a region on PostgreSQL of N hospitals, each a FHIR source of its
//!   own (its simulated hospital, server and runner) — every source's full
//!   and incremental run of an hour at once, with their phases and peak
//!   RSS, the region overview and a ward screen under open-loop load while
//!   the runs write, a month of history exported ward × day.
//! * [`load`] — [`load::open_loop`], the open-loop HTTP load generator of
//!   `careload bench http` and of the region benchmark.
//! * [`baseline`] — [`baseline::ward_day_sql`] (`careload bench export` on
//!   PostgreSQL): the ward × day export as one plain SQL `GROUP BY`, the
//!   yardstick of the polars export.
//!
//! [`proc_status_mib`] reads the process's memory for both. Figures are for
//! notes and issues, never asserted by tests. (`careload bench store`'s
//! copy of an hour over a year is the store's own
//! `careload_store::Store::replicate_hour`.)

pub mod baseline;
pub mod calibration;
pub mod forecast;
pub mod ingest;
pub mod load;
pub mod region;

pub use ingest::{BenchReport, BenchRun, IngestBench, Phases, Pipeline, ingest_bench, proc_status_mib};
pub use region::{RegionBench, RegionReport, region_bench};

/// What stops a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The application refused (a bad setting, an import, the calibration).
    #[error(transparent)]
    App(#[from] careload_app::Error),
    /// The runner's pieces refused (weights, mapping, the REST client).
    #[error(transparent)]
    Runner(#[from] careload_runner::Error),
    /// The FHIR server could not be read.
    #[error(transparent)]
    Ingest(#[from] careload_ingest::Error),
    /// The benchmark's store failed.
    #[error(transparent)]
    Store(#[from] careload_store::Error),
    /// The simulated hospital cannot be built.
    #[error(transparent)]
    Sim(#[from] careload_sim::Error),
    /// The address the simulated hospital should listen on cannot be used.
    #[error("cannot listen on sim.listen = {listen:?}: {source}; use a free loopback address such as 127.0.0.1:0")]
    Listen {
        /// The address.
        listen: String,
        /// Why.
        source: std::io::Error,
    },
    /// A background task failed (a panic), or the external server could not
    /// be moved on.
    #[error("a background task failed: {0}")]
    Task(String),
    /// The SQL baseline was asked of a store that is not PostgreSQL.
    #[error("the SQL baseline needs PostgreSQL (SQLite has no percentile_cont); pass a postgres:// URL")]
    NotPostgres,
    /// The API could not be built or served (the region benchmark).
    #[error(transparent)]
    Api(#[from] careload_api::Error),
    /// The export failed (the region benchmark).
    #[error(transparent)]
    Export(#[from] careload_export::Error),
    /// The benchmark's configuration is refused.
    #[error("the benchmark's configuration is refused: {0}")]
    Config(String),
    /// The region benchmark was given a database that holds history.
    #[error(
        "{0} already holds history: the region benchmark needs an empty database (it writes hours and copies them)"
    )]
    NotEmpty(String),
    /// The SQL baseline's query failed.
    #[error("reading the history: {0}")]
    History(careload_store::Error),
}

/// The benchmarks' result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
