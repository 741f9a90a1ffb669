//! The export benchmark's SQL yardstick (`careload bench export` on
//! PostgreSQL) gives the export's rows and patient-hours, told on SQLite
//! (refused, with what to use instead) and on PostgreSQL when
//! `CARELOAD_TEST_DATABASE_URL` names a server (the workspace's store
//! harness, `careload_testkit`). The hours are written as
//! `crates/export/tests/export.rs` writes them.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

#[path = "../../export/tests/story/mod.rs"]
mod story;

use careload_bench::baseline::ward_day_sql;
use careload_export::{ExportSpec, Format, Grain};
use careload_store::Level;
use careload_testkit::store::Ctx;
use chrono::Duration;
use story::{csv_rows, date, fill, run, utc, weights};

/// The benchmark's SQL yardstick gives the export's rows and patient-hours
/// on PostgreSQL, and SQLite is refused with what to use instead.
async fn the_sql_baseline_agrees_with_the_export(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let day0 = utc("2026-11-22T23:00:00Z");
    fill(store, &w, day0, 48).await;
    let result = ward_day_sql(store, "Europe/Stockholm", day0, day0 + Duration::hours(48)).await;
    if store.postgres_pool().is_none() {
        let e = result.unwrap_err().to_string();
        assert!(e.contains("postgres://"), "{e}");
        return;
    }
    let (rows, patient_hours) = result.unwrap();
    let spec = ExportSpec::new(date("2026-11-23"), date("2026-11-24"), Level::Ward, Grain::Day);
    let exported = csv_rows(&run(store, &spec, Format::Csv).await, ',');
    assert_eq!(rows as usize, exported.len());
    let sum: i64 = exported
        .iter()
        .map(|r| r["patient_hours"].parse::<i64>().unwrap())
        .sum();
    assert_eq!(patient_hours, sum);
}

careload_testkit::on_every_backend!(the_sql_baseline_agrees_with_the_export);
