//! Hourly runs with the Bulk Data source against the simulated hospital's
//! `$export` over HTTP on loopback: the first run exports everything, later
//! runs export `_since` the previous `transactionTime`, and every stored
//! hour equals what a full REST fetch of the same hour maps to. A refused
//! export is a failed run that keeps the last good hour.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use careload_config::{Config, SourceKind};
use careload_ingest::{FhirClient, Mapping, PseudonymKey, RestConfig, fetch, map};
use careload_runner::{Runner, load_weights};
use careload_scoring::Snapshot;
use careload_sim::{Hospital, SimConfig, SimServer, server};
use careload_store::{Outcome, Store};
use careload_testkit::TempDir;
use chrono::{DateTime, Duration, Utc};
use tokio::net::TcpListener;

fn bulk_config(base: &str) -> Config {
    let mut c = Config::default();
    c.source.kind = SourceKind::Bulk;
    c.source.url = base.to_owned();
    c.source.pseudonym_key_env = "CARELOAD_TEST_UNSET_PSEUDONYM_KEY".into();
    // simulated patients behind a Bulk Data server: a test system
    c.source.insecure_dev_key = true;
    c.source.run_deadline_secs = 60;
    c.scoring.time_zone = "UTC".into();
    c.schedule.resync_hour = 23;
    c.validate().unwrap();
    c
}

async fn stored_snapshots(store: &Store, wards: &[String], hour: DateTime<Utc>) -> Vec<Snapshot> {
    let mut out = Vec::new();
    for ward in wards {
        for p in store
            .patient_hours(ward, hour, hour + Duration::hours(1))
            .await
            .unwrap()
        {
            let (snapshot, _) = store.patient_snapshot(hour, &p.key).await.unwrap().unwrap();
            out.push(snapshot);
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

async fn rest_snapshots(base: &str, hour: DateTime<Utc>) -> Vec<Snapshot> {
    let config = RestConfig::new(base);
    let client = FhirClient::new(&config).unwrap();
    let (resources, _) = fetch(&client, &config, None).await.unwrap();
    let (mut snapshots, _) = map(&resources, &Mapping::default(), &PseudonymKey::development(), hour);
    snapshots.sort_by(|a, b| a.key.cmp(&b.key));
    snapshots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hourly_bulk_runs_against_the_simulator_store_what_a_full_fetch_maps() {
    let start: DateTime<Utc> = "2026-11-23T06:00:00Z".parse().unwrap();
    let sim = SimServer::new(
        Hospital::new(SimConfig {
            beds: 60,
            ..SimConfig::new(7, start)
        })
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = server::spawn(listener, sim.clone()).unwrap();
    let base = served.base_url();

    let dir = TempDir::new("runner-bulk-hourly");
    let store = Store::connect(&dir.sqlite_url()).await.unwrap();
    let weights = Arc::new(load_weights(None).unwrap());
    let config = bulk_config(&base);
    let mut runner = Runner::start_from_config(&config, store.clone(), weights.clone(), start)
        .await
        .unwrap();
    assert_eq!(runner.source().kind(), "bulk");
    let mut last_good = None;
    for i in 0..4 {
        let hour = start + Duration::hours(i);
        sim.advance_to(hour);
        let run = runner.run_hour(hour).await.unwrap();
        assert_eq!(run.outcome, Outcome::Ok, "{run:?}");
        assert_eq!(
            run.full_fetch,
            i == 0,
            "the first run exports everything, later ones _since"
        );
        assert!(run.report.counts["bulk_polls"] >= 2, "{:?}", run.report.counts);
        assert!(run.patients > 20);
        let stored = stored_snapshots(&store, &run.wards, hour).await;
        let full = rest_snapshots(&base, hour).await;
        assert_eq!(stored.len(), full.len(), "patients at {hour}");
        for (s, f) in stored.iter().zip(&full) {
            assert_eq!(s, f, "patient {} at {hour}", s.key.0);
        }
        last_good = Some(run);
    }
    let last_good = last_good.unwrap();

    // an export the server refuses: a failed run, the last good hour stays current
    let mut refused = bulk_config(&base);
    refused.source.bulk_level = careload_config::BulkLevel::Group;
    refused.source.bulk_group = "no-such-group".into();
    let mut bad = Runner::start_from_config(&refused, store.clone(), weights, start)
        .await
        .unwrap();
    let hour = start + Duration::hours(4);
    sim.advance_to(hour);
    let run = bad.run_hour(hour).await.unwrap();
    assert_eq!(run.outcome, Outcome::Failed);
    let error = run.report.error.unwrap();
    assert!(error.contains("404") && error.contains("Group/inpatients"), "{error}");
    let current = store.current_hour().await.unwrap().unwrap();
    assert_eq!(current.hour, last_good.hour);
    assert_eq!(current.run_id, last_good.run_id);
}
