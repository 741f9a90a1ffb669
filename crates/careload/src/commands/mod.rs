//! One module per command: each takes its parsed arguments and a writer for
//! standard output, and returns an error for `main` to report.

pub(crate) mod backtest;
pub(crate) mod bench_calibration;
pub(crate) mod bench_export;
pub(crate) mod bench_forecast;
pub(crate) mod bench_http;
pub(crate) mod bench_ingest;
pub(crate) mod bench_region;
pub(crate) mod bench_store;
pub(crate) mod export;
pub(crate) mod forecast;
pub(crate) mod mapping;
pub(crate) mod news2;
pub(crate) mod score;
pub(crate) mod service;
pub(crate) mod sim;
pub(crate) mod weights;
pub(crate) mod weights_fit;

use std::io::{self, Write};

use serde::Serialize;

/// Writes `value` as pretty JSON followed by a newline.
/// The history store at `url`, which must exist (see
/// [`careload_store::Store::open_existing`]); an error names it without its
/// password.
pub(crate) async fn open_history(url: &str, access: careload_store::Access) -> anyhow::Result<careload_store::Store> {
    use anyhow::Context;
    careload_store::Store::open_existing(url, access)
        .await
        .with_context(|| {
            format!(
                "cannot open the history store at {}",
                careload_config::redacted_url(url)
            )
        })
}

pub(crate) fn write_json<T: Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

/// The `q`-quantile (0–1) of sorted durations, in milliseconds: the smallest
/// value with at least a share `q` of the values at or below it.
pub(crate) fn quantile_ms(sorted: &[std::time::Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// Writes a section heading after a blank line.
pub(crate) fn heading(out: &mut dyn Write, text: &str) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{text}")
}
