//! The ingest benchmark (`careload bench ingest`) runs the real pipeline
//! against a simulated hospital, in this process or in another one.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use careload_bench::{IngestBench, ingest_bench};
use careload_testkit::TempDir;
use chrono::{DateTime, Duration, Utc};

/// 2026-11-23T12:20Z: a run at 12:20 is the 12:00 hour.
fn now() -> DateTime<Utc> {
    "2026-11-23T12:20:00Z".parse().unwrap()
}

/// The ingest benchmark runs the real pipeline: a full run, then an
/// incremental one that asks for less than the full one and writes the same
/// hospital's patients.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_benchmark_runs_a_full_then_an_incremental_fetch() {
    let dir = TempDir::new("bench-ingest");
    let bench = IngestBench {
        beds: 40,
        seed: 3,
        hours_incremental: 1,
        start: now(),
        db: dir.join("bench.db"),
        fhir_url: None,
    };
    let report = ingest_bench(&bench).await.unwrap();
    assert_eq!(report.runs.len(), 2);
    let (full, incremental) = (&report.runs[0], &report.runs[1]);
    assert_eq!((full.kind, incremental.kind), ("full", "incremental"));
    assert_eq!(incremental.hour, full.hour + Duration::hours(1));
    assert!(full.patients > 20, "{full:?}");
    assert!(incremental.patients > 20, "{incremental:?}");
    assert!(
        incremental.resources_fetched < full.resources_fetched,
        "an incremental fetch reads only changes: {incremental:?} vs {full:?}"
    );
    assert!(report.server_resources.is_some_and(|n| n >= full.resources_fetched));
    assert!(!bench.db.exists(), "the benchmark's store is removed");
}

/// With the server in another place (`careload sim serve`), the benchmark
/// reads it over HTTP and moves it on an hour with `POST /sim/advance`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_benchmark_reads_an_external_server_and_moves_it_on() {
    let dir = TempDir::new("bench-ingest-external");
    let start = careload_store::hour_of(now());
    let hospital = careload_sim::Hospital::new(careload_sim::SimConfig {
        beds: 40,
        ..careload_sim::SimConfig::new(3, start)
    })
    .unwrap();
    let sim = careload_sim::SimServer::new(hospital);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = careload_sim::server::spawn(listener, sim.clone()).unwrap();
    let base = served.base_url();
    let bench = IngestBench {
        beds: 40,
        seed: 3,
        hours_incremental: 1,
        start,
        db: dir.join("bench.db"),
        fhir_url: Some(base.clone()),
    };
    let report = ingest_bench(&bench).await.unwrap();
    let (full, incremental) = (&report.runs[0], &report.runs[1]);
    assert!(full.patients > 20 && incremental.patients > 20, "{report:?}");
    assert!(incremental.resources_fetched < full.resources_fetched);
    assert_eq!(sim.now(), start + Duration::hours(1), "moved on one hour");
    assert_eq!(report.server_resources, None, "not known of another process");

    // a server that cannot be moved on is named, with what is needed
    let bench = IngestBench {
        fhir_url: Some(format!("{base}/nowhere")),
        db: dir.join("bench2.db"),
        ..bench
    };
    let e = ingest_bench(&bench).await.unwrap_err().to_string();
    assert!(e.contains("nowhere") || e.contains("sim serve"), "{e}");
}
