//! The region benchmark (`careload bench region`, issue 29) at a tiny size
//! on PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server (skipped
//! otherwise, as the store harness skips): its report holds together, and
//! each hospital is a source of its own that wrote its own wards and hours.
//! It never asserts on speed.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use careload_bench::{RegionBench, region_bench};
use careload_store::Store;
use careload_testkit::TempDir;
use careload_testkit::store::PgDatabase;
use chrono::{Duration, Utc};

/// Two hospitals of 30 beds, two sources (`h01`, `h02`), 2 s of load after
/// the runs, one export day: every run of every source wrote patients, each
/// source its own prefixed wards and its own hour, the region overview
/// shows both hospitals and every ward, every path answered 200 during the
/// runs and after them, and the export has a row per ward and day.
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
        fhir_urls: Vec::new(),
    };
    let report = region_bench(&bench).await;
    // what the store holds of each source, read apart from the report
    let stored = match &report {
        Ok(_) => {
            let store = Store::connect(db.url()).await.unwrap();
            let mut stored = Vec::new();
            for id in ["h01", "h02"] {
                let hour = store.source_hour(id).await.unwrap().map(|h| h.hour);
                let wards: Vec<String> = store
                    .wards()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|w| w.source_id.as_deref() == Some(id))
                    .map(|w| w.ward)
                    .collect();
                stored.push((id, hour, wards));
            }
            store.close().await;
            stored
        }
        Err(_) => Vec::new(),
    };
    db.remove().await;
    let r = report.unwrap();

    assert_eq!(r.debug_build, cfg!(debug_assertions));
    assert_eq!((r.hospitals, r.beds), (2, 60));
    assert_eq!(r.backend, "postgres");
    assert!(!r.external_servers);
    assert!(r.wards >= 4 && r.departments >= 2, "{r:?}");
    let runs = [&r.full, &r.incremental, &r.under_load];
    assert_eq!(runs.map(|run| run.kind), ["full", "incremental", "incremental"]);
    assert_eq!(r.incremental.hour, r.full.hour + Duration::hours(1));
    assert_eq!(r.under_load.hour, r.full.hour + Duration::hours(2));
    for run in runs {
        assert!(run.patients > 0 && run.requests > 0, "{run:?}");
        // both sources ran the hour, each its own share of the sums
        let ids: Vec<&str> = run.sources.iter().map(|s| s.source.as_str()).collect();
        assert_eq!(ids, ["h01", "h02"], "{run:?}");
        for s in &run.sources {
            assert_eq!(s.outcome, "ok", "{s:?}");
            assert_eq!(s.full_fetch, run.kind == "full", "{s:?}");
            assert!(s.patients > 0 && s.wards >= 2 && s.requests > 0, "{s:?}");
            assert!(
                s.own_ms <= run.wall_ms,
                "a source's own time within the wall time: {run:?}"
            );
        }
        assert_eq!(run.patients, run.sources.iter().map(|s| s.patients).sum::<usize>());
        assert_eq!(run.requests, run.sources.iter().map(|s| s.requests).sum::<u64>());
        assert_eq!(run.phases.fetch_ms, run.sources.iter().map(|s| s.fetch_ms).sum::<u64>());
        assert!(
            run.median_ms <= run.slowest_ms && run.slowest_ms <= run.wall_ms,
            "{run:?}"
        );
        assert!(ids.contains(&run.slowest_source.as_str()), "{run:?}");
    }
    assert_eq!(r.full.advance_ms, 0);
    assert!(r.incremental.resources_fetched < r.full.resources_fetched, "{r:?}");
    for (full, incremental) in r.full.sources.iter().zip(&r.incremental.sources) {
        assert!(
            incremental.resources_fetched < full.resources_fetched,
            "{full:?} {incremental:?}"
        );
    }

    // two sources, each its own hospital (seed 3 and 4), wards and hour
    let ids: Vec<&str> = r.sources.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["h01", "h02"]);
    assert_eq!(r.sources.iter().map(|s| s.seed).collect::<Vec<_>>(), [3, 4]);
    assert_eq!(r.sources.iter().map(|s| s.beds).sum::<u32>(), r.beds);
    assert_eq!(r.sources.iter().map(|s| s.wards.len()).sum::<usize>(), r.wards);
    assert_ne!(r.sources[0].url, r.sources[1].url, "a server per hospital");
    for s in &r.sources {
        assert_eq!(s.ward_prefix, format!("{}-", s.id));
        assert!(s.wards.len() >= 2, "{s:?}");
        assert!(s.wards.iter().all(|w| w.starts_with(&s.ward_prefix)), "{s:?}");
        assert_eq!(s.hour, Some(r.under_load.hour), "{s:?}");
    }
    // the store says so too
    assert_eq!(stored.len(), 2);
    for ((id, hour, wards), s) in stored.iter().zip(&r.sources) {
        assert_eq!(*id, s.id);
        assert_eq!(*hour, Some(r.under_load.hour), "{id}'s own hour");
        assert_eq!(wards, &s.wards, "{id}'s wards");
        let prefix = format!("{id}-");
        assert!(
            !wards.is_empty() && wards.iter().all(|w| w.starts_with(&prefix)),
            "{id}: {wards:?}"
        );
    }

    // the region overview sums both hospitals (sources), every ward in one of them
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
