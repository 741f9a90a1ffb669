//! The region benchmark (`careload bench region`, issue 29) at a tiny size
//! on PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server (skipped
//! otherwise, as the store harness skips): its report holds together. It
//! never asserts on speed.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use careload_bench::{RegionBench, region_bench};
use careload_testkit::TempDir;
use careload_testkit::store::PgDatabase;
use chrono::{Duration, Utc};

/// Two hospitals of 30 beds, 2 s of load after the run, one export day:
/// every run wrote patients, the region overview shows both hospitals and
/// every ward, every path answered 200 during the run and after it, and the
/// export has a row per ward and day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_region_benchmark_reports_a_consistent_region() {
    let Some(db) = PgDatabase::create("bench_region").await else {
        return;
    };
    let dir = TempDir::new("bench-region");
    let bench = RegionBench {
        db: db.url().to_owned(),
        hospitals: 2,
        beds_per_hospital: 30,
        seed: 3,
        connections: 20,
        rate: 400,
        warmup: 1,
        seconds: 2,
        export_days: 1,
        export_file: dir.join("export.parquet"),
        now: Utc::now(),
        fhir_url: None,
    };
    let report = region_bench(&bench).await;
    db.remove().await;
    let r = report.unwrap();

    assert_eq!(r.debug_build, cfg!(debug_assertions));
    assert_eq!((r.hospitals, r.beds), (2, 60));
    assert!(r.sources.contains("one source"), "{}", r.sources);
    assert_eq!(r.backend, "postgres");
    assert!(r.wards >= 2 && r.departments >= 2, "{r:?}");
    let runs = [&r.full, &r.incremental, &r.under_load];
    assert_eq!(runs.map(|run| run.kind), ["full", "incremental", "incremental"]);
    assert_eq!(r.incremental.hour, r.full.hour + Duration::hours(1));
    assert_eq!(r.under_load.hour, r.full.hour + Duration::hours(2));
    for run in runs {
        assert!(run.patients > 0 && run.requests > 0, "{run:?}");
    }
    assert!(r.incremental.resources_fetched < r.full.resources_fetched, "{r:?}");

    // the region overview sums both hospitals, every ward in one of them
    assert_eq!(r.region.hospitals, 2, "{:?}", r.region);
    assert_eq!(r.region.wards, r.wards, "{:?}", r.region);
    assert_eq!(r.region.wards_without_hospital, 0, "{:?}", r.region);
    assert_eq!(r.region.patients as usize, r.under_load.patients, "{:?}", r.region);

    // both paths, in both windows, every request answered 200 in full
    assert_eq!(r.http.len(), 4, "{:?}", r.http);
    for window in ["during run", "after run"] {
        for path in ["/api/v1/region", "/wards/"] {
            let p = r
                .http
                .iter()
                .find(|p| p.window == window && p.path.starts_with(path))
                .unwrap_or_else(|| panic!("{path} {window}: {:?}", r.http));
            assert!(p.requests > 0, "{p:?}");
            assert_eq!((p.ok, p.non_2xx, p.errors), (p.requests, 0, 0), "{p:?}");
            assert!(p.p50_ms <= p.p99_ms && p.p99_ms <= p.max_ms, "{p:?}");
        }
    }

    // a row per ward and day
    let e = &r.export;
    assert_eq!(e.days, 1);
    assert_eq!(e.from, e.to);
    assert!(e.wards > 0 && e.wards <= r.wards, "{e:?}");
    assert_eq!(e.rows, (e.wards as u64) * u64::from(e.days), "{e:?}");
    assert!(e.replicated_rows > 0 && e.file_bytes > 0, "{e:?}");
    assert!(!bench.export_file.exists(), "the export's file is removed");

    // the targets are judged, not asserted
    assert!(!r.targets.is_empty());
    for t in &r.targets {
        assert_eq!(t.met, t.measured < t.limit, "{t:?}");
    }
}
