//! The service's logs on standard error (tracing): the level, and keeping
//! them readable beside a back-fill's progress bar.
//!
//! **Level.** `RUST_LOG` when it is set (tracing's `EnvFilter` syntax),
//! else the configuration's `log.level` (checked when the configuration
//! loads), else `info`.
//!
//! **Back-fills.** The runner logs a back-filled hour's "run done" at debug
//! and runs the back-fill inside a span named
//! [`careload_runner::BACKFILL_SPAN`]; the crates beneath it (the FHIR
//! fetch, the simulated hospital) log their per-hour lines at info without
//! knowing that the hour is one of a hundred replayed. So unless debug is
//! on, the info lines inside that span are left out — except the runner's
//! own (a change of weights) and this binary's. Warnings and errors are
//! always shown, and so is the back-fill's progress ([`crate::progress`])
//! and its end.
//!
//! **Progress bar.** While [`crate::progress`] shows a bar on the terminal,
//! each log line is written with the bar cleared and redrawn after it
//! (indicatif's `suspend`), so that lines and bar never mix.

use std::io::Write;
use std::sync::Mutex;

use anyhow::Context as _;
use indicatif::ProgressBar;
use tracing::Metadata;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::{Context, Filter, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The bar on the terminal, while one is shown.
static BAR: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Sets (or, with `None`, clears) the bar log lines are written around.
pub(crate) fn show_bar(bar: Option<ProgressBar>) {
    if let Ok(mut shown) = BAR.lock() {
        *shown = bar;
    }
}

/// Starts logging to standard error at `RUST_LOG`'s level, else at
/// `configured` (the configuration's `log.level`). A second call does
/// nothing (the first subscriber stays).
///
/// # Errors
/// `RUST_LOG` or `configured` is not a filter tracing accepts.
pub(crate) fn init_logs(configured: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(set) if !set.trim().is_empty() => EnvFilter::try_new(&set).with_context(|| {
            format!("RUST_LOG={set:?} is not a log level or filter; write e.g. info or info,careload_runner=debug")
        })?,
        _ => EnvFilter::try_new(configured)
            .with_context(|| format!("config key log.level: {configured:?} is not a log level or filter"))?,
    };
    let debug = filter.max_level_hint().is_none_or(|max| max >= LevelFilter::DEBUG);
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(|| AroundBar)
        .with_target(false)
        .with_filter(QuietBackfill { debug });
    let _ = tracing_subscriber::registry().with(filter).with(lines).try_init();
    Ok(())
}

/// Standard error, with the bar (if one is shown) cleared while a line is
/// written.
struct AroundBar;

impl Write for AroundBar {
    /// Writes all of `buf` (tracing writes one event at a time), so that a
    /// line is never split around the bar.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = BAR.lock().ok().and_then(|shown| shown.clone());
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Leaves out the info lines logged inside a back-fill's span by crates
/// other than the runner and this binary, unless debug is on (see the
/// module's **Back-fills**).
struct QuietBackfill {
    /// Debug is on for some target: every line the filter lets through is shown.
    debug: bool,
}

impl QuietBackfill {
    /// The runner's and this binary's lines are kept at their own levels.
    fn is_ours(target: &str) -> bool {
        ["careload_runner", "careload"]
            .iter()
            .any(|ours| target == *ours || target.strip_prefix(ours).is_some_and(|rest| rest.starts_with("::")))
    }
}

impl<S> Filter<S> for QuietBackfill
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, cx: &Context<'_, S>) -> bool {
        if self.debug || !meta.is_event() || *meta.level() != tracing::Level::INFO || Self::is_ours(meta.target()) {
            return true;
        }
        let in_backfill = cx
            .lookup_current()
            .is_some_and(|span| span.scope().any(|s| s.name() == careload_runner::BACKFILL_SPAN));
        !in_backfill
    }
}

#[cfg(test)]
mod tests {
    use super::QuietBackfill;

    #[test]
    fn the_runner_and_the_binary_are_ours_and_the_crates_beneath_are_not() {
        for ours in [
            "careload",
            "careload::progress",
            "careload_runner",
            "careload_runner::runner",
        ] {
            assert!(QuietBackfill::is_ours(ours), "{ours}");
        }
        for theirs in [
            "careload_ingest::source::rest",
            "careload_sim",
            "careload_runnerx",
            "careloadx",
            "sqlx",
        ] {
            assert!(!QuietBackfill::is_ours(theirs), "{theirs}");
        }
    }
}
