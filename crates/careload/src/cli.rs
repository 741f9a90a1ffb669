//! The command line: every subcommand, argument and help text, as clap types.
//!
//! Parsing only. What each command does lives in [`crate::commands`].

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};

/// careload: hourly nursing care need (vårdintensitet) per inpatient, team and ward.
#[derive(Debug, Parser)]
#[command(name = "careload", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check, show and compare the council's weights files.
    Weights {
        /// What to do with weights files.
        #[command(subcommand)]
        command: WeightsCommand,
    },
    /// Compute NEWS2 and its clinical risk level from one set of vital signs.
    News2(News2Args),
    /// Score patient snapshots (a JSON array) and sum them per team, ward and hospital.
    Score(ScoreArgs),
    /// Help a region map its own codes.
    Mapping {
        /// What to do.
        #[command(subcommand)]
        command: MappingCommand,
    },
    /// Simulate a hospital: write its FHIR R4 resources as NDJSON files, or
    /// `sim serve` them as a FHIR REST API.
    Sim(SimArgs),
    /// Run the service: the hourly runs and the HTTP API (JSON and ward screens), until Ctrl-C.
    Serve(ServeArgs),
    /// Try careload on a simulated hospital: back-fill its history, then serve the ward screens.
    Demo(DemoArgs),
    /// Read FHIR, score and store the current hour once, then print the run record.
    Ingest(IngestArgs),
    /// Export the stored history aggregated by level and grain (CSV, Excel CSV, Parquet, JSON) for controllers.
    Export(ExportArgs),
    /// The next-shift forecast's uncertainty (P10/P50/P90, risk of understaffing) judged on the stored history.
    Forecast {
        /// What to do.
        #[command(subcommand)]
        command: ForecastCommand,
    },
    /// Benchmarks that need the whole pipeline (run them from a release build).
    Bench {
        /// Which benchmark.
        #[command(subcommand)]
        command: BenchCommand,
    },
}

/// `careload export`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// First local date, inclusive.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = export_date)]
    pub(crate) from: chrono::NaiveDate,
    /// Last local date, inclusive.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = export_date)]
    pub(crate) to: chrono::NaiveDate,
    /// hospital (the whole store), site (one configured hospital, [hospitals.<id>]: its departments' wards
    /// summed), department (its wards summed), ward or team.
    #[arg(long, value_name = "LEVEL", default_value = "ward", value_parser = |s: &str| careload_export::parse_level(s))]
    pub(crate) level: careload_export::ExportLevel,
    /// hour, shift, day, week (ISO), month, quarter or year, in the hospital's zone.
    #[arg(long, value_name = "GRAIN", default_value = "day", value_parser = |s: &str| s.parse::<careload_export::Grain>())]
    pub(crate) grain: careload_export::Grain,
    /// csv (`,`, decimal point), csv-excel (`;`, decimal comma, BOM: Swedish Excel), parquet or json.
    #[arg(long, value_name = "FORMAT", default_value = "csv", value_parser = |s: &str| s.parse::<careload_export::Format>())]
    pub(crate) format: careload_export::Format,
    /// The file to write (written as FILE.part, renamed when complete); `-` or none for standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// Only these wards (levels department, ward, team and site), comma-separated.
    #[arg(long, value_name = "W1,W2", value_delimiter = ',')]
    pub(crate) wards: Option<Vec<String>>,
    /// Only the wards of these departments (`[departments.<id>]`), comma-separated, besides any --wards (levels department, ward, team and site).
    #[arg(long, value_name = "D1,D2", value_delimiter = ',')]
    pub(crate) departments: Vec<String>,
    /// Only the wards of these hospitals (`[hospitals.<id>]`: the wards of their departments), comma-separated, besides any --wards or --departments (levels department, ward, team and site).
    #[arg(long, value_name = "H1,H2", value_delimiter = ',')]
    pub(crate) hospitals: Vec<String>,
    /// Add planned staff-hours, need in staff-hours, the gap and points per planned staff-hour.
    #[arg(long)]
    pub(crate) staffing: bool,
    /// Add the same period a year earlier and the change in per cent.
    #[arg(long)]
    pub(crate) compare_last_year: bool,
    /// The service configuration (TOML); without it the defaults, overridden by CARELOAD_* variables.
    #[arg(long, value_name = "FILE", env = "CARELOAD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The history store's URL, instead of `database.url`.
    #[arg(long, value_name = "URL")]
    pub(crate) db: Option<String>,
}

fn export_date(s: &str) -> Result<chrono::NaiveDate, careload_export::Error> {
    careload_export::parse_date("date", s)
}

/// `careload forecast …`.
#[derive(Debug, Subcommand)]
pub(crate) enum ForecastCommand {
    /// Back-test the forecast: errors learnt from the weeks before --from only, then every forecast made
    /// from an hour of --from … --to judged against what was stored over its shift (nothing is written).
    #[command(
        long_about = "Back-test the next-shift forecast on the stored history (issue 28). The scheduled forecast's \
                      errors are learnt from the --learn-weeks weeks before --from only; then, for every stored hour \
                      from --from to --to, the next two shifts (that ended by --to) are forecast as the planning page \
                      would have then: the scheduled-only forecast and the P10/P50/P90 judged against the points stored \
                      over the shift, the risk of understaffing against the planned staffing. Prints per ward (and all \
                      wards pooled) the mean absolute errors and their ratio (target at most 0.70), the P90's and P10's \
                      coverage (targets 0.88-0.92 and 0.08-0.12), the risk's calibration, and per notice what the \
                      schedule misses most. Reads the store only."
    )]
    Backtest(ForecastBacktestArgs),
}

/// A local date (midnight in the hospital's zone) or an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    /// A local date.
    Date(chrono::NaiveDate),
    /// An instant (RFC 3339, kept in UTC).
    Instant(DateTime<Utc>),
}

/// Parses a local date `YYYY-MM-DD` or an RFC 3339 instant.
fn parse_when(text: &str) -> Result<When, String> {
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(When::Date(date));
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| When::Instant(t.with_timezone(&Utc)))
        .map_err(|_| {
            format!(
                "{text:?} is neither a date nor a time; write a local date such as 2026-11-23 or an RFC 3339 time such as 2026-11-23T09:00:00Z"
            )
        })
}

/// `careload forecast backtest`.
#[derive(Debug, Args)]
pub(crate) struct ForecastBacktestArgs {
    /// Start of the judged period: a local date (its midnight) or an RFC 3339 time.
    #[arg(long, value_name = "DATE|RFC3339", value_parser = parse_when)]
    pub(crate) from: When,
    /// End of the judged period: a local date (inclusive: up to the next midnight) or an RFC 3339 time (exclusive).
    #[arg(long, value_name = "DATE|RFC3339", value_parser = parse_when)]
    pub(crate) to: When,
    /// Weeks before --from the errors are learnt from (default: forecast.history_weeks, as the service learns).
    #[arg(long, value_name = "W", value_parser = clap::value_parser!(u32).range(1..=52))]
    pub(crate) learn_weeks: Option<u32>,
    /// Print the back-test as JSON instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
    /// The service configuration (TOML); without it the defaults, overridden by CARELOAD_* variables.
    #[arg(long, value_name = "FILE", env = "CARELOAD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The history store's URL, instead of `database.url`.
    #[arg(long, value_name = "URL")]
    pub(crate) db: Option<String>,
}

/// `careload bench …`.
#[derive(Debug, Subcommand)]
pub(crate) enum BenchCommand {
    /// A year of hourly history for a large hospital in a store, then the ward history reads timed.
    Store(BenchStoreArgs),
    /// Open-loop HTTP load at a fixed rate over many connections, latency measured from the schedule.
    Http(BenchHttpArgs),
    /// A simulated hospital on loopback read in full, then incrementally: per-phase times and peak RSS.
    Ingest(BenchIngestArgs),
    /// One trend export over a store's history, timed with peak RSS; on PostgreSQL also as plain SQL.
    Export(BenchExportArgs),
    /// The calibration's proof: weeks of a simulated hospital with a hidden truth, its staff's ratings
    /// fitted, the weights refitted and back-tested on held-out weeks, against the truth.
    Calibration(BenchCalibrationArgs),
    /// The next-shift forecast's cost per hourly run of a large simulated hospital: the learner's new hour,
    /// every ward's scheduled forecast and each scope's P10/P50/P90 and risk.
    Forecast(BenchForecastArgs),
    /// The next-shift forecast's proof over several seeds: each a small simulated hospital back-filled
    /// for `--weeks`, errors learnt on the first `--learn-weeks`, the rest judged; per ward the P50's
    /// error and the P90/P10 coverage, and whether the wards' coverages spread more than sampling explains.
    ForecastProof(BenchForecastProofArgs),
    /// A region on PostgreSQL (issue 29): N simulated hospitals, each a FHIR source of its own; the hourly runs
    /// of all sources at once, the region overview and a ward screen under load while they write, a month exported.
    Region(BenchRegionArgs),
}

/// `careload bench region`.
#[derive(Debug, Args)]
pub(crate) struct BenchRegionArgs {
    /// The store: an empty PostgreSQL database, e.g. postgres://careload:careload@127.0.0.1/careload_region.
    #[arg(long, value_name = "URL")]
    pub(crate) db: String,
    /// Hospitals, each a FHIR source of its own ([sources.h01] …) with its own simulated hospital and server
    /// [default: 10, or the number of --fhir-url].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=99))]
    pub(crate) hospitals: Option<u32>,
    /// Regular beds of each simulated hospital.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(24..=10_000))]
    pub(crate) beds_per_hospital: u32,
    /// The first hospital's seed; hospital i has seed + i − 1 (the same seeds give the same hospitals).
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub(crate) seed: u64,
    /// Keep-alive connections loading the region overview and a ward screen.
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) connections: u32,
    /// Requests per second offered, all connections together (open loop).
    #[arg(long, value_name = "R", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: u32,
    /// Seconds of load measured after the runs (the runs' own time is measured too).
    #[arg(long, value_name = "S", default_value_t = 10)]
    pub(crate) seconds: u32,
    /// Seconds of load before the runs, not counted.
    #[arg(long, value_name = "S", default_value_t = 2)]
    pub(crate) warmup: u32,
    /// Days of history exported ward × day.
    #[arg(long, value_name = "D", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=400))]
    pub(crate) export_days: u32,
    /// Read FHIR servers in other processes instead, one per hospital, each a `careload sim serve --beds B
    /// --seed S --listen … --start T` (the same --start for all) at e.g. http://127.0.0.1:8091/fhir: repeat
    /// the option or give a comma-separated list, so that the peak RSS is careload's alone (the runs are then
    /// at the servers' clock's hour and the next two; --beds-per-hospital and --seed are the servers').
    #[arg(
        long = "fhir-url",
        visible_alias = "fhir-urls",
        value_name = "URL",
        value_delimiter = ','
    )]
    pub(crate) fhir_urls: Vec<String>,
    /// The runs' CPU priority below the API's and the load's, as `schedule.run_nice` sets it in the
    /// service (a Unix nice value 0–19; 0 = the same).
    #[arg(long, value_name = "N", default_value_t = careload_config::ScheduleConfig::default().run_nice,
          value_parser = clap::value_parser!(u8).range(0..=19))]
    pub(crate) run_nice: u8,
    /// Print the figures as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `careload bench forecast-proof`.
#[derive(Debug, Args)]
pub(crate) struct BenchForecastProofArgs {
    /// The seeds: a list and ranges, e.g. `1-10` or `5,7,11`.
    #[arg(long, value_name = "LIST", default_value = "1-10", value_parser = seed_list)]
    pub(crate) seeds: Seeds,
    /// Regular beds of each simulated hospital.
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u32).range(24..=2000))]
    pub(crate) beds: u32,
    /// Its wards.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=60))]
    pub(crate) wards: u32,
    /// Weeks back-filled.
    #[arg(long, value_name = "W", default_value_t = 8, value_parser = clap::value_parser!(u32).range(5..=26))]
    pub(crate) weeks: u32,
    /// Of those, the first weeks the errors are learnt from; the rest are judged.
    #[arg(long, value_name = "W", default_value_t = 6, value_parser = clap::value_parser!(u32).range(4..=25))]
    pub(crate) learn_weeks: u32,
    /// Of the learning weeks, the first this many are left out (the simulator's warm start settling).
    #[arg(long, value_name = "W", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=4))]
    pub(crate) skip_weeks: u32,
    /// The SQLite file the hours are written to (deleted before and after each seed).
    #[arg(long, value_name = "FILE", default_value = "careload-bench-forecast-proof.db")]
    pub(crate) db: PathBuf,
    /// Print the figures as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Seeds of simulated hospitals, each once, in the order given.
#[derive(Clone, Debug)]
pub(crate) struct Seeds(pub(crate) Vec<u64>);

/// `1-10`, `5,7,11` or a mix: the seeds in the order given, each once.
fn seed_list(s: &str) -> Result<Seeds, String> {
    let mut seeds = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let parse = |x: &str| {
            x.parse::<u64>()
                .map_err(|_| format!("{x:?} is not a seed: give whole numbers and ranges, e.g. 1-10 or 5,7,11"))
        };
        let (a, b) = (parse(a)?, parse(b)?);
        if b < a || b - a >= 1000 {
            return Err(format!(
                "{part:?}: a range goes upward and spans at most 1,000 seeds, e.g. 1-10"
            ));
        }
        for seed in a..=b {
            if !seeds.contains(&seed) {
                seeds.push(seed);
            }
        }
    }
    if seeds.is_empty() {
        return Err("no seed given: e.g. 1-10 or 5,7,11".into());
    }
    Ok(Seeds(seeds))
}

/// `careload bench forecast`.
#[derive(Debug, Args)]
pub(crate) struct BenchForecastArgs {
    /// Regular beds in the simulated hospital (wards: one per 30 beds).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(24..=100_000))]
    pub(crate) beds: u32,
    /// Hourly runs timed (one stored hour each; the back-fill is this plus 6 hours, at least 26).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) runs: u32,
    /// The seed: the same seed gives the same hospital.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub(crate) seed: u64,
    /// The SQLite file the hours are written to (deleted before and after).
    #[arg(long, value_name = "FILE", default_value = "careload-bench-forecast.db")]
    pub(crate) db: PathBuf,
    /// Print the figures as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `careload bench export`.
#[derive(Debug, Args)]
pub(crate) struct BenchExportArgs {
    /// The store (filled by `careload bench store --reuse`).
    #[arg(long, value_name = "URL")]
    pub(crate) db: String,
    /// First local date; default 364 days before `--to`.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = export_date)]
    pub(crate) from: Option<chrono::NaiveDate>,
    /// Last local date; default the store's current hour's date.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = export_date)]
    pub(crate) to: Option<chrono::NaiveDate>,
    /// hospital (the whole store), site (one configured hospital, [hospitals.<id>]: its departments' wards
    /// summed), department (its wards summed), ward or team.
    #[arg(long, value_name = "LEVEL", default_value = "ward", value_parser = |s: &str| careload_export::parse_level(s))]
    pub(crate) level: careload_export::ExportLevel,
    /// The grain.
    #[arg(long, value_name = "GRAIN", default_value = "day", value_parser = |s: &str| s.parse::<careload_export::Grain>())]
    pub(crate) grain: careload_export::Grain,
    /// The format.
    #[arg(long, value_name = "FORMAT", default_value = "parquet", value_parser = |s: &str| s.parse::<careload_export::Format>())]
    pub(crate) format: careload_export::Format,
    /// Add the staffing columns.
    #[arg(long)]
    pub(crate) staffing: bool,
    /// Where the file goes.
    #[arg(long, value_name = "FILE", default_value = "careload-bench-export.out")]
    pub(crate) out: PathBuf,
    /// Keep the file afterwards.
    #[arg(long)]
    pub(crate) keep: bool,
}

/// `careload bench calibration`.
#[derive(Debug, Args)]
pub(crate) struct BenchCalibrationArgs {
    /// Regular beds in the simulated hospital.
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u32).range(24..=100_000))]
    pub(crate) beds: u32,
    /// Its wards.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub(crate) wards: u32,
    /// The seed: the same seed gives the same hospital, truth and ratings.
    #[arg(long, value_name = "S", default_value_t = 5)]
    pub(crate) seed: u64,
    /// Weeks of history back-filled and fitted.
    #[arg(long, value_name = "W", default_value_t = 8, value_parser = clap::value_parser!(u32).range(2..=8))]
    pub(crate) weeks: u32,
    /// Of those, the first weeks the weights are refitted on (the rest back-test the candidate).
    #[arg(long, value_name = "W", default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=7))]
    pub(crate) fit_weeks: u32,
    /// Ratings without signal (pure noise): careload must say unreliable and propose no change.
    #[arg(long)]
    pub(crate) no_signal: bool,
    /// The SQLite file the hours are written to (deleted before and after).
    #[arg(long, value_name = "FILE", default_value = "careload-bench-calibration.db")]
    pub(crate) db: PathBuf,
    /// Print the figures as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `careload bench ingest`.
#[derive(Debug, Args)]
pub(crate) struct BenchIngestArgs {
    /// Regular beds in the simulated hospital (1,000 beds: about 100,000 resources).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(24..=100_000))]
    pub(crate) beds: u32,
    /// The seed: the same seed gives the same hospital.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub(crate) seed: u64,
    /// Incremental runs after the full one, one simulated hour apart.
    #[arg(long, value_name = "H", default_value_t = 1)]
    pub(crate) hours_incremental: u32,
    /// The SQLite file the hours are written to (deleted before and after).
    #[arg(long, value_name = "FILE", default_value = "careload-bench-ingest.db")]
    pub(crate) db: PathBuf,
    /// Read from a FHIR server in another process, e.g. `careload sim serve --beds 1000` at
    /// http://127.0.0.1:8090/fhir, so that the peak RSS is careload's alone (--beds and --seed are then the server's).
    #[arg(long, value_name = "URL")]
    pub(crate) fhir_url: Option<String>,
    /// Print the figures as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `careload bench http`.
#[derive(Debug, Args)]
pub(crate) struct BenchHttpArgs {
    /// The server, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL")]
    pub(crate) url: String,
    /// Paths to load, one after the other, e.g. /api/v1/wards/w1 /wards/w1/screen.
    #[arg(required = true, value_name = "PATH")]
    pub(crate) paths: Vec<String>,
    /// Keep-alive connections (clients).
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub(crate) connections: u32,
    /// Requests per second offered, all connections together.
    #[arg(long, value_name = "R", default_value_t = 2000)]
    pub(crate) rate: u32,
    /// Seconds per path.
    #[arg(long, value_name = "S", default_value_t = 20)]
    pub(crate) seconds: u32,
    /// Seconds of load before the measured ones, left out of the figures
    /// (every connection is open and warm when measuring starts).
    #[arg(long, value_name = "S", default_value_t = 2)]
    pub(crate) warmup: u32,
    /// A bearer token, when the API is not open.
    #[arg(long, value_name = "TOKEN", env = "CARELOAD_BENCH_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
    /// Send `Accept-Encoding: gzip`, as a browser does (bodies are read as sent, not unpacked).
    #[arg(long)]
    pub(crate) gzip: bool,
}

/// `careload bench store`.
#[derive(Debug, Args)]
pub(crate) struct BenchStoreArgs {
    /// The store to fill: `sqlite://FILE?mode=rwc` or a PostgreSQL URL. It must be empty (or filled by this command, with --reuse).
    #[arg(long, value_name = "URL", default_value = "sqlite://careload-bench.db?mode=rwc")]
    pub(crate) db: String,
    /// Regular beds in the simulated hospital that gives the template hour.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(24..=100_000))]
    pub(crate) beds: u32,
    /// Days of history to hold.
    #[arg(long, value_name = "D", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub(crate) days: u32,
    /// Days back that keep their stored snapshots and scores; older copies hold `{}` (disk).
    #[arg(long, value_name = "D", default_value_t = 14)]
    pub(crate) full_days: u32,
    /// Days (up to the current hour) written hour by hour through the real pipeline from the
    /// simulated hospital, instead of one hour copied: realistic history for the back-test.
    /// The oldest simulated hour is then copied to the older days (those copies hold `{}`).
    #[arg(long, value_name = "D", default_value_t = 0)]
    pub(crate) simulated_days: u32,
    /// Ward history reads to time (cycling through the wards).
    #[arg(long, value_name = "N", default_value_t = 300)]
    pub(crate) reads: u32,
    /// Measure an already filled store instead of refusing it.
    #[arg(long)]
    pub(crate) reuse: bool,
}

/// `careload serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The configuration.
    #[command(flatten)]
    pub(crate) service: ServiceConfigArgs,
}

/// The service's configuration and what the command line adds to it (`serve`, `ingest`).
#[derive(Debug, Args)]
pub(crate) struct ServiceConfigArgs {
    /// The service configuration (TOML); without it the defaults, overridden by CARELOAD_* variables.
    #[arg(long, value_name = "FILE", env = "CARELOAD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Accept the PUBLIC development pseudonym key with a real FHIR source (a test system without
    /// real patients only; as source.insecure_dev_key = true).
    #[arg(long)]
    pub(crate) insecure_dev_key: bool,
}

/// `careload demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Regular beds in the simulated hospital.
    #[arg(long, value_name = "N", default_value_t = 150, value_parser = clap::value_parser!(u32).range(24..=100_000))]
    pub(crate) beds: u32,
    /// The seed: the same seed gives the same hospital.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub(crate) seed: u64,
    /// Address of the screens and the JSON API (loopback only: the demo has no tokens).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    /// The SQLite file; deleted and created afresh on every start.
    #[arg(long, value_name = "PATH", default_value = "careload-demo.db")]
    pub(crate) db: PathBuf,
    /// Hours of history to back-fill, up to the current hour.
    #[arg(long, value_name = "H", default_value_t = 120, value_parser = clap::value_parser!(u32).range(1..=24 * 60))]
    pub(crate) hours: u32,
    /// Instead of serving: fetch every printed URL once, print the status codes, and exit non-zero unless all are 200.
    #[arg(long)]
    pub(crate) check: bool,
}

/// `careload ingest`.
#[derive(Debug, Args)]
pub(crate) struct IngestArgs {
    /// One run for the current hour, then exit (the scheduler is `careload serve`).
    #[arg(long, required = true)]
    pub(crate) once: bool,
    /// The configuration.
    #[command(flatten)]
    pub(crate) service: ServiceConfigArgs,
}

/// How a FHIR server is read (`--fhir-url`), for `score` and `mapping suggest`.
#[derive(Debug, Args)]
pub(crate) struct FhirServerArgs {
    /// With --fhir-url: the environment variable holding a bearer token for the server (the token is never printed).
    #[arg(long, value_name = "VAR", requires = "fhir_url")]
    pub(crate) token_env: Option<String>,
    /// With --fhir-url: read only this ward (a Location id; repeat for several), as `source.wards` does:
    /// the stays are searched by every Location under the ward.
    #[arg(long = "ward", value_name = "ID", requires = "fhir_url")]
    pub(crate) wards: Vec<String>,
    /// With --fhir-url: an origin besides the URL's that next links may lead to with the token
    /// (scheme://host[:port]; repeat for several), as `source.trusted_origins`.
    #[arg(long = "trusted-origin", value_name = "ORIGIN", requires = "fhir_url")]
    pub(crate) trusted_origins: Vec<String>,
}

/// `careload mapping …`.
#[derive(Debug, Subcommand)]
pub(crate) enum MappingCommand {
    /// Write a mapping-file skeleton of every code the FHIR input has that careload did not use,
    /// most frequent first, for the region's integration team to fill in.
    Suggest(MappingSuggestArgs),
    /// Write the hospitals, departments and wards of the FHIR Location tree (partOf) as
    /// careload configuration (`[hospitals.*]`, `[departments.*]`, `[wards.*] department`),
    /// for an operator to review and add to careload.toml.
    Organisation(crate::commands::mapping::OrganisationArgs),
}

/// `careload mapping suggest`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["fhir", "fhir_url"])))]
pub(crate) struct MappingSuggestArgs {
    /// FHIR R4 input: a Bundle .json file or a directory of Bulk Data .ndjson files.
    #[arg(long, value_name = "PATH")]
    pub(crate) fhir: Option<PathBuf>,
    /// FHIR R4 input from a live server: its base URL.
    #[arg(long, value_name = "URL")]
    pub(crate) fhir_url: Option<String>,
    /// With --fhir-url: how the server is read.
    #[command(flatten)]
    pub(crate) server: FhirServerArgs,
    /// The region's mapping so far: only codes it does not map yet are listed.
    #[arg(long, value_name = "FILE")]
    pub(crate) mapping: Option<PathBuf>,
    /// The snapshot time (RFC 3339); by default as `careload score` takes it.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub(crate) at: Option<DateTime<Utc>>,
    /// Where to write the skeleton (TOML); none or `-` for standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// `careload weights …`.
#[derive(Debug, Subcommand)]
pub(crate) enum WeightsCommand {
    /// Check a weights file strictly; print every problem with its line.
    Validate {
        /// The weights file (TOML).
        file: PathBuf,
    },
    /// Print every parameter of a weights file, grouped by section.
    Show {
        /// The weights file (TOML).
        file: PathBuf,
        /// Print the weights as JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Print the parameters that differ between two weights files.
    Diff {
        /// The version in force (TOML).
        old: PathBuf,
        /// The proposed version (TOML).
        new: PathBuf,
        /// Print the changes as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-score the stored history under a candidate version and show what would have moved (nothing stored changes).
    Backtest(BacktestArgs),
    /// Record the council's decision to put a weights file in force from its effective date (audited).
    Activate(ActivateArgs),
    /// Fit the score components' scales to the staff's shift ratings and write a candidate weights file
    /// (never activated: run `careload weights backtest` and the council's `careload weights activate` next).
    Fit(FitArgs),
}

/// `careload weights fit`.
#[derive(Debug, Args)]
#[command(
    long_about = "Fit one scale per score component to the staff's ratings of their shifts (every ward's rated \
                  shifts of the window, an intercept per ward), check the candidate on held-out weeks, and when it \
                  explains the ratings better write it as a candidate weights file derived from the file in force, \
                  its [meta] saying it was fitted and on what. With no change proposed it says why and writes \
                  nothing (exit code 0). It never activates anything: run `careload weights backtest --candidate \
                  FILE` next, and the council decides and runs `careload weights activate`. weights/README.md \
                  describes the method and its bounds."
)]
pub(crate) struct FitArgs {
    /// First local date, inclusive.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = export_date)]
    pub(crate) from: chrono::NaiveDate,
    /// Last local date, inclusive.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = export_date)]
    pub(crate) to: chrono::NaiveDate,
    /// Where to write the candidate (never over an existing file); default `<version>.toml` here.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// The lowest scale a component may get, instead of the council's `calibration.fit_min_scale` (default 0.25).
    #[arg(long, value_name = "X")]
    pub(crate) min_scale: Option<f64>,
    /// The highest scale a component may get, instead of the council's `calibration.fit_max_scale` (default 4).
    #[arg(long, value_name = "X")]
    pub(crate) max_scale: Option<f64>,
    /// How many ratings' worth the weights in force count as (the pull toward them).
    #[arg(long, value_name = "N", default_value_t = 100.0)]
    pub(crate) pull: f64,
    /// Print the fit as JSON instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
    /// The service configuration (TOML); without it the defaults, overridden by CARELOAD_* variables.
    #[arg(long, value_name = "FILE", env = "CARELOAD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The history store's URL, instead of `database.url`.
    #[arg(long, alias = "db", value_name = "URL")]
    pub(crate) database: Option<String>,
}

/// `careload weights activate`.
#[derive(Debug, Args)]
pub(crate) struct ActivateArgs {
    /// The weights file the council decided (TOML); its `meta.effective_from` is when it takes effect.
    pub(crate) file: PathBuf,
    /// Who records the decision (name or user id; goes into the audit log).
    #[arg(long, value_name = "NAME")]
    pub(crate) by: String,
    /// The decision's reference: the council's minutes or case number.
    #[arg(long, value_name = "REF")]
    pub(crate) reference: String,
    /// The service configuration (TOML); without it the defaults, overridden by CARELOAD_* variables.
    #[arg(long, value_name = "FILE", env = "CARELOAD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The history store's URL, instead of `database.url`.
    #[arg(long, value_name = "URL")]
    pub(crate) db: Option<String>,
}

/// `careload weights backtest`.
#[derive(Debug, Args)]
pub(crate) struct BacktestArgs {
    /// The candidate weights file (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) candidate: PathBuf,
    /// First local date, inclusive.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = export_date)]
    pub(crate) from: chrono::NaiveDate,
    /// Last local date, inclusive (at most 366 days).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = export_date)]
    pub(crate) to: chrono::NaiveDate,
    /// Also write the per-ward table to this file.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// The file's format: csv, csv-excel, parquet or json.
    #[arg(long, value_name = "FORMAT", default_value = "csv", value_parser = |s: &str| s.parse::<careload_export::Format>())]
    pub(crate) format: careload_export::Format,
    /// Print the report as JSON instead of tables.
    #[arg(long)]
    pub(crate) json: bool,
    /// The service configuration (TOML); without it the defaults, overridden by CARELOAD_* variables.
    #[arg(long, value_name = "FILE", env = "CARELOAD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// The history store's URL, instead of `database.url`.
    #[arg(long, value_name = "URL")]
    pub(crate) db: Option<String>,
}

/// Level of consciousness, by its ACVPU letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum AcvpuLetter {
    /// Alert.
    #[value(name = "A")]
    A,
    /// New confusion.
    #[value(name = "C")]
    C,
    /// Responds to voice.
    #[value(name = "V")]
    V,
    /// Responds to pain.
    #[value(name = "P")]
    P,
    /// Unresponsive.
    #[value(name = "U")]
    U,
}

/// `careload news2`: one set of vital signs.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("air_or_oxygen").required(true).args(["oxygen", "air"])))]
pub(crate) struct News2Args {
    /// Respiration rate, breaths per minute.
    #[arg(long, value_name = "N")]
    pub(crate) rr: u16,
    /// Oxygen saturation, percent.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub(crate) spo2: u8,
    /// Use SpO₂ scale 2 (only for a prescribed 88–92 % target, e.g. hypercapnic respiratory failure).
    #[arg(long)]
    pub(crate) scale2: bool,
    /// On supplemental oxygen.
    #[arg(long)]
    pub(crate) oxygen: bool,
    /// On room air.
    #[arg(long)]
    pub(crate) air: bool,
    /// Systolic blood pressure, mmHg.
    #[arg(long, value_name = "N")]
    pub(crate) sbp: u16,
    /// Pulse, beats per minute.
    #[arg(long, value_name = "N")]
    pub(crate) hr: u16,
    /// Consciousness: A (alert), C (new confusion), V (voice), P (pain), U (unresponsive).
    #[arg(long, value_name = "A|C|V|P|U", ignore_case = true, hide_possible_values = true)]
    pub(crate) acvpu: AcvpuLetter,
    /// Temperature, °C.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub(crate) temp: f64,
    /// Print the result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Output format of `careload score`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ScoreFormat {
    /// Readable tables with every contribution.
    #[default]
    Table,
    /// JSON: every patient's score and the rollup.
    Json,
}

/// `careload score`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["snapshots", "fhir", "fhir_url"])))]
#[command(group(clap::ArgGroup::new("fhir_input").args(["fhir", "fhir_url"])))]
pub(crate) struct ScoreArgs {
    /// A JSON array of patient snapshots.
    #[arg(long, value_name = "FILE")]
    pub(crate) snapshots: Option<PathBuf>,
    /// FHIR R4 input instead of snapshots: a Bundle .json file or a directory of Bulk Data .ndjson files.
    #[arg(long, value_name = "PATH")]
    pub(crate) fhir: Option<PathBuf>,
    /// FHIR R4 input from a live server: its base URL (http), searched for the in-progress stays (see crates/ingest/README.md).
    #[arg(long, value_name = "URL")]
    pub(crate) fhir_url: Option<String>,
    /// With --fhir-url: fetch only clinical resources changed at or after this instant (RFC 3339).
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339, requires = "fhir_url")]
    pub(crate) since: Option<DateTime<Utc>>,
    /// With --fhir-url: how the server is read.
    #[command(flatten)]
    pub(crate) server: FhirServerArgs,
    /// With --fhir or --fhir-url: a region's code mapping (TOML, every key optional; see crates/ingest/README.md).
    #[arg(long, value_name = "FILE", requires = "fhir_input")]
    pub(crate) mapping: Option<PathBuf>,
    /// With --fhir or --fhir-url: the environment variable holding the pseudonym key; when unset, a public development key is used (with a warning).
    #[arg(long, value_name = "VAR", default_value = "CARELOAD_PSEUDONYM_KEY")]
    pub(crate) pseudonym_key_env: String,
    /// The weights file (TOML); by default the built-in weights/2026.1.toml.
    #[arg(long, value_name = "FILE")]
    pub(crate) weights: Option<PathBuf>,
    /// Start of the window (RFC 3339, e.g. 2026-11-23T09:00:00Z); by default each snapshot's own time.
    /// With --fhir also the snapshot time; by default the latest meta.lastUpdated in the input, else now.
    /// With --fhir-url also the snapshot time; by default the server's own time when it answered.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub(crate) at: Option<DateTime<Utc>>,
    /// Length of the window in hours (at most a week).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=168))]
    pub(crate) hours: u32,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub(crate) format: ScoreFormat,
}

/// The hospital to simulate (`careload sim` and `careload sim serve`).
#[derive(Debug, Args)]
pub(crate) struct HospitalArgs {
    /// Regular beds in the hospital (wards: one per 30 beds, at least 6).
    #[arg(long, value_name = "N", default_value_t = 180, value_parser = clap::value_parser!(u32).range(24..=100_000))]
    pub(crate) beds: u32,
    /// The seed: the same seed, beds, start and hours give the same hospital.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub(crate) seed: u64,
    /// Start of the simulation (RFC 3339, truncated to the hour); by default the current hour.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub(crate) start: Option<DateTime<Utc>>,
}

/// `careload sim`: without a subcommand, writes NDJSON files.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct SimArgs {
    /// `serve`; without it, `sim` writes files.
    #[command(subcommand)]
    pub(crate) command: Option<SimCommand>,
    /// The hospital.
    #[command(flatten)]
    pub(crate) hospital: HospitalArgs,
    /// Hours to simulate after the (already warm) start.
    #[arg(long, value_name = "H", default_value_t = 24, value_parser = clap::value_parser!(u32).range(0..=24 * 366))]
    pub(crate) hours: u32,
    /// Where to write `<Type>.ndjson` (created if missing; existing files are replaced).
    #[arg(long, value_name = "DIR", required = true)]
    pub(crate) out: Option<PathBuf>,
    /// Also write `bundle.json`, the same resources as one FHIR transaction Bundle.
    #[arg(long)]
    pub(crate) bundle: bool,
    /// Also write `batch-0001.json`, …: the same resources as batch Bundles of at most N PUTs each,
    /// every resource after what it refers to, for servers that refuse large transactions (HAPI, Medplum: 50).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub(crate) batches: Option<u32>,
}

/// `careload sim …` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Serve the simulated hospital as a FHIR R4 REST API over HTTP (base URL `/fhir`) until Ctrl-C.
    Serve(SimServeArgs),
}

/// `careload sim serve`.
#[derive(Debug, Args)]
pub(crate) struct SimServeArgs {
    /// The hospital.
    #[command(flatten)]
    pub(crate) hospital: HospitalArgs,
    /// Hours to simulate after the start before serving.
    #[arg(long, value_name = "H", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=24 * 366))]
    pub(crate) hours: u32,
    /// Address to listen on (port 0: any free port; the base URL printed says which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    pub(crate) listen: std::net::SocketAddr,
    /// Follow the wall clock: one simulated hour at the top of every real hour.
    #[arg(long)]
    pub(crate) follow_clock: bool,
    /// Follow the wall clock at N simulated hours per real hour (implies --follow-clock).
    #[arg(long, value_name = "N", value_parser = parse_speed)]
    pub(crate) speed: Option<f64>,
    /// The base URL to write in links (behind a proxy); by default `http://<Host header>/fhir`.
    #[arg(long, value_name = "URL")]
    pub(crate) base_url: Option<String>,
}

/// Parses a positive speed.
fn parse_speed(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err("write a number of simulated hours per real hour above 0 and at most 3600, e.g. 60".into()),
    }
}

/// Parses an RFC 3339 instant into UTC.
fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; write an RFC 3339 time such as 2026-11-23T09:00:00Z or 2026-11-23T10:00:00+01:00"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn times_are_read_in_any_offset_and_kept_in_utc() {
        let cases = [
            ("2026-11-23T09:00:00Z", Some("2026-11-23T09:00:00Z")),
            ("2026-11-23T10:00:00+01:00", Some("2026-11-23T09:00:00Z")),
            ("2026-11-23 09:00", None),
            ("yesterday", None),
        ];
        for (text, expected) in cases {
            let got = parse_rfc3339(text)
                .ok()
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
            assert_eq!(got.as_deref(), expected, "{text}");
        }
    }
}
