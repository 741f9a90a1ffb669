//! careload: hourly nursing care need (vårdintensitet) per inpatient, team
//! and ward, from FHIR R4.
//!
//! This binary is glue: [`cli`] parses the command line, [`commands`] runs
//! one command each over the pure scoring core (`careload_scoring`), and
//! `main` turns errors into messages on standard error and exit codes.
//!
//! Exit codes: 0 on success, 1 when the input was refused (a weights file
//! with problems, a file that cannot be read, snapshots that do not parse),
//! 2 for a command line clap does not accept.

mod cli;
mod commands;
mod logs;
mod progress;
mod sim_source;
mod table;
mod weights_file;

use std::io::{self, Write};
use std::process::ExitCode;

use careload_scoring::WeightsError;
use clap::Parser;

use crate::cli::{BenchCommand, Cli, Command, ForecastCommand, MappingCommand, WeightsCommand};

/// mimalloc: scoring a region allocates many small breakdowns per hour, and
/// glibc's allocator returns and re-faults that memory each time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Lets mimalloc commit its arenas on demand instead of all at once.
///
/// With eager commit (its default on Linux) memory freed between hourly runs
/// is only reset (`MADV_FREE`) and stays in the process's resident set until
/// the kernel runs short; committed on demand, it is decommitted and leaves
/// it. Measured with `careload bench ingest` on a 1,000-bed hospital: peak
/// RSS ~40 MiB lower, times unchanged.
///
/// The option must be set before the first Rust allocation reserves an
/// arena, hence a constructor in `.init_array`: it runs after mimalloc's own
/// (priority 101, which reads `MIMALLOC_*` variables) and before `main`. It
/// therefore overrides `MIMALLOC_ARENA_EAGER_COMMIT`.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod allocator_options {
    /// `mi_option_arena_eager_commit` in mimalloc's `mimalloc.h` (position 4
    /// of its v2 and v3 option enums).
    const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

    extern "C" fn commit_on_demand() {
        // SAFETY: `mi_option_set` stores an integer in mimalloc's option
        // table; no pointer is passed, and before `main` no other thread runs.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) };
    }

    #[used]
    #[unsafe(link_section = ".init_array")]
    static COMMIT_ON_DEMAND: extern "C" fn() = commit_on_demand;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let result = run(&cli, &mut out).and_then(|()| out.flush().map_err(anyhow::Error::from));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Runs one command, writing its output to `out`.
fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<()> {
    match &cli.command {
        Command::Weights { command } => match command {
            WeightsCommand::Validate { file } => commands::weights::validate(file, out),
            WeightsCommand::Show { file, json } => commands::weights::show(file, *json, out),
            WeightsCommand::Diff { old, new, json } => commands::weights::diff(old, new, *json, out),
            WeightsCommand::Backtest(args) => commands::backtest::run(args, out),
            WeightsCommand::Activate(args) => commands::backtest::activate(args, out),
            WeightsCommand::Fit(args) => commands::weights_fit::run(args, out),
        },
        Command::News2(args) => commands::news2::run(args, out),
        Command::Score(args) => commands::score::run(args, out),
        Command::Mapping {
            command: MappingCommand::Suggest(args),
        } => commands::mapping::suggest(args, out),
        Command::Mapping {
            command: MappingCommand::Organisation(args),
        } => commands::mapping::organisation(args, out),
        Command::Sim(args) => commands::sim::run(args, out),
        Command::Serve(args) => commands::service::serve(args),
        Command::Demo(args) => commands::service::demo(args, out),
        Command::Ingest(args) => commands::service::ingest_once(args, out),
        Command::Export(args) => commands::export::run(args, out),
        Command::Forecast {
            command: ForecastCommand::Backtest(args),
        } => commands::forecast::backtest(args, out),
        Command::Bench { command } => match command {
            BenchCommand::Store(args) => commands::bench_store::run(args, out),
            BenchCommand::Http(args) => commands::bench_http::run(args, out),
            BenchCommand::Ingest(args) => commands::bench_ingest::run(args, out),
            BenchCommand::Export(args) => commands::bench_export::run(args, out),
            BenchCommand::Calibration(args) => commands::bench_calibration::run(args, out),
            BenchCommand::Forecast(args) => commands::bench_forecast::run(args, out),
            BenchCommand::ForecastProof(args) => commands::bench_forecast::proof(args, out),
            BenchCommand::Region(args) => commands::bench_region::run(args, out),
        },
    }
}

/// Output cut short by a closed pipe (`careload … | head`) is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        let kind = match (
            cause.downcast_ref::<io::Error>(),
            cause.downcast_ref::<serde_json::Error>(),
        ) {
            (Some(io), _) => Some(io.kind()),
            (None, Some(json)) => json.io_error_kind(),
            (None, None) => None,
        };
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}

/// Writes an error to standard error: a refused weights file as one
/// `file:line:col: message` line per problem, anything else as one line
/// with its causes.
fn report(e: &anyhow::Error) {
    let mut err = io::stderr().lock();
    let _ = match e.downcast_ref::<WeightsError>() {
        Some(w) => {
            let n = w.problems.len();
            let problems = if n == 1 { "problem" } else { "problems" };
            writeln!(
                err,
                "{w}\nerror: weights file {} refused ({n} {problems}); fix and run `careload weights validate` again",
                w.origin
            )
        }
        None => writeln!(err, "error: {e:#}"),
    };
}
