//! `careload export`: a trend export of the stored hourly history to a file
//! (or standard output), the same rows as `GET /api/v1/export`.
//!
//! The file is written under a temporary name next to the target and renamed
//! when complete, so a failed export never leaves half a file where a
//! spreadsheet expects the whole.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use careload_app::App;
use careload_config::Config;
use careload_export::{ExportSpec, Format, Summary, export};
use careload_runner::load_weights;
use careload_store::Access;

use crate::cli::ExportArgs;
use crate::commands::service::runtime;

/// The spec the arguments describe.
fn spec(args: &ExportArgs) -> anyhow::Result<(ExportSpec, Format)> {
    let mut spec = ExportSpec::new(args.from, args.to, args.level, args.grain);
    spec.wards = args.wards.clone();
    spec.staffing = args.staffing;
    spec.compare_last_year = args.compare_last_year;
    spec.validate()?;
    Ok((spec, args.format))
}

fn part_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".part");
    path.with_file_name(name)
}

/// `careload export`.
pub(crate) fn run(args: &ExportArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (spec, format) = spec(args)?;
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        config.database.url.clone_from(db);
    }
    let weights = Arc::new(load_weights(config.scoring.weights.as_deref())?);
    let summary: Summary = runtime()?.block_on(async {
        let store = super::open_history(&config.database.url, Access::ReadOnly).await?;
        let app = App::try_new(store.clone(), Arc::new(config), weights.clone())?;
        let mut spec = spec.clone();
        careload_app::export::narrow_to_departments(&app, &mut spec, &args.departments)
            .map_err(|e| anyhow::anyhow!("--departments: {e}: {}", e.hint().unwrap_or_default()))?;
        careload_app::export::narrow_to_hospitals(&app, &mut spec, &args.hospitals)
            .map_err(|e| anyhow::anyhow!("--hospitals: {e}: {}", e.hint().unwrap_or_default()))?;
        spec.validate()?;
        let ctx = app.export_context(&weights)?;
        let summary = match &args.out {
            Some(path) if path.as_os_str() != "-" => {
                let part = part_path(path);
                let file = File::create(&part).with_context(|| format!("cannot create {}", part.display()))?;
                match export(&store, &ctx, &spec, format, BufWriter::new(file)).await {
                    Ok(summary) => {
                        std::fs::rename(&part, path)
                            .with_context(|| format!("cannot rename {} to {}", part.display(), path.display()))?;
                        summary
                    }
                    Err(e) => {
                        let _ = std::fs::remove_file(&part);
                        return Err(e.into());
                    }
                }
            }
            _ => export(&store, &ctx, &spec, format, &mut *out).await?,
        };
        store.close().await;
        anyhow::Ok(summary)
    })?;
    eprintln!(
        "careload export: {} rows ({} level, {} grain, {} to {}) from {} unit-hours in {:.2} s{}",
        summary.rows,
        spec.level.as_str(),
        spec.grain,
        spec.from,
        spec.to,
        summary.unit_hours_read,
        summary.elapsed.as_secs_f64(),
        args.out
            .as_ref()
            .filter(|p| p.as_os_str() != "-")
            .map(|p| format!(" → {}", p.display()))
            .unwrap_or_default()
    );
    Ok(())
}
