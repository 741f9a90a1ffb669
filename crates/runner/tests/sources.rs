//! Several FHIR sources in one service (issue 29): two simulated hospitals
//! served over HTTP on loopback, read as two `kind = "fhir"` sources
//! (`[sources.nord]`, `[sources.syd]`, ward prefixes `nord-` and `syd-`)
//! into one store, on SQLite and on PostgreSQL. Each source's runs, hours,
//! firings and lock are its own: the two write one hour side by side, the
//! hospital row sums both, their patients never share a key, and a source
//! whose server is down leaves only its own wards stale.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use careload_config::{Config, SourceConfig, SourceKind};
use careload_runner::{Due, RunSummary, Runner, Turn, load_weights, take_turn};
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer, server};
use careload_store::{Outcome, Store};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;
use tokio::net::TcpListener;

/// The first hour run.
fn first() -> DateTime<Utc> {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

/// A simulated hospital served on loopback.
struct Served {
    sim: SharedSim,
    base: String,
    /// Taken to stop the server.
    spawned: Option<server::Spawned>,
}

async fn serve(seed: u64) -> Served {
    let hospital = Hospital::new(SimConfig {
        beds: 48,
        wards: Some(2),
        ..SimConfig::new(seed, first())
    })
    .expect("a simulated hospital");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let sim = SimServer::new(hospital);
    let spawned = server::spawn(listener, sim.clone()).expect("its address");
    Served {
        sim,
        base: spawned.base_url(),
        spawned: Some(spawned),
    }
}

impl Served {
    /// Moves the hospital's clock to `hour`.
    async fn advance(&self, hour: DateTime<Utc>) {
        let sim = self.sim.clone();
        tokio::task::spawn_blocking(move || sim.advance_to(hour)).await.unwrap();
    }

    /// The ids of the Patients it serves.
    fn patient_ids(&self) -> BTreeSet<String> {
        self.sim.read(|h| {
            h.resources()
                .filter(|r: &Value| r["resourceType"] == "Patient")
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        })
    }
}

/// A FHIR source at `base` whose wards get `prefix`; a down server fails
/// the run within seconds.
fn source(base: &str, prefix: &str) -> SourceConfig {
    SourceConfig {
        kind: SourceKind::Fhir,
        url: base.to_owned(),
        ward_prefix: prefix.to_owned(),
        pseudonym_key_env: "CARELOAD_TEST_UNSET_PSEUDONYM_KEY".into(),
        insecure_dev_key: true,
        max_retries: 0,
        request_timeout_secs: 2,
        run_deadline_secs: 10,
        ..SourceConfig::default()
    }
}

fn config(nord: &Served, syd: &Served) -> Config {
    let mut c = Config::default();
    c.scoring.time_zone = "UTC".into();
    c.schedule.resync_hour = 23;
    c.sources.insert("nord".into(), source(&nord.base, "nord-"));
    c.sources.insert("syd".into(), source(&syd.base, "syd-"));
    c.validate().unwrap();
    c
}

/// The wards stored for `hour`, with their patients and source, by ward.
async fn wards_at(store: &Store, hour: DateTime<Utc>, wards: &[String]) -> Vec<(String, u32, String)> {
    let rows = store.ward_hours_at(wards, &[hour]).await.unwrap();
    let mut out: Vec<(String, u32, String)> = rows
        .into_iter()
        .map(|r| (r.ward, r.totals.patients, r.source_id))
        .collect();
    out.sort();
    out
}

/// The patient keys stored on `wards` at `hour`.
async fn keys_at(store: &Store, hour: DateTime<Utc>, wards: &[String]) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for w in wards {
        for p in store.patient_hours(w, hour, hour + Duration::hours(1)).await.unwrap() {
            keys.insert(p.key.0);
        }
    }
    keys
}

/// The hospital row of `hour`: its patients.
async fn hospital_patients(store: &Store, hour: DateTime<Utc>) -> Option<u32> {
    let rows = store.hospital_hours(hour, hour + Duration::hours(1)).await.unwrap();
    assert!(rows.len() <= 1, "one hospital row an hour: {rows:?}");
    rows.first().map(|r| r.totals.patients)
}

async fn ran(runner: &mut Runner, due: Due) -> RunSummary {
    let deadline = Utc::now() + Duration::seconds(60);
    match take_turn(runner, due, deadline).await.unwrap() {
        Turn::Ran(summary) => summary,
        other => panic!("source {:?} did not run {due:?}: {other:?}", runner.source_id()),
    }
}

/// Two sources into one store, two hours each, then one source's server
/// goes down for the third.
async fn two_sources_share_a_store_and_a_failing_one_leaves_only_its_wards_stale(store: Store) {
    let nord = serve(3).await;
    let mut syd = serve(11).await;
    let config = config(&nord, &syd);
    let weights = Arc::new(load_weights(None).unwrap());
    let start = first() + Duration::minutes(20);
    let mut n = Runner::start_source(&config, "nord", store.clone(), weights.clone(), start)
        .await
        .unwrap();
    let mut s = Runner::start_source(&config, "syd", store.clone(), weights.clone(), start)
        .await
        .unwrap();
    assert_eq!((n.source_id(), s.source_id()), ("nord", "syd"));
    // a configuration of named sources has no single source "", nor others
    for id in ["", "mitt"] {
        let e = Runner::start_source(&config, id, store.clone(), weights.clone(), start)
            .await
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(e.contains("[sources."), "{id:?}: {e}");
    }
    // the two EHRs number their patients alike: keys must keep them apart
    let shared_ids = nord.patient_ids().intersection(&syd.patient_ids()).count();
    assert!(shared_ids > 10, "the two hospitals share {shared_ids} Patient ids");

    let (h0, h1, h2) = (first(), first() + Duration::hours(1), first() + Duration::hours(2));
    let (mut nord_wards, mut syd_wards) = (Vec::new(), Vec::new());
    for (i, hour) in [h0, h1].into_iter().enumerate() {
        nord.advance(hour).await;
        syd.advance(hour).await;
        // the first hour as the catch-up at start runs it, the second as a
        // firing: each source's turn is its own, though the other has
        // stored the hour or run the firing
        let fired = hour + Duration::minutes(5);
        let due = if i == 0 { Due::Hour(hour) } else { Due::Firing(fired) };
        let a = ran(&mut n, due).await;
        assert_eq!(a.outcome, Outcome::Ok, "{a:?}");
        let b = ran(&mut s, due).await;
        assert_eq!(b.outcome, Outcome::Ok, "{b:?}");
        if i == 1 {
            for id in ["nord", "syd"] {
                assert!(store.firing_done(id, fired).await.unwrap(), "{id}'s firing is done");
            }
            assert!(
                !store.firing_done("", fired).await.unwrap(),
                "no run of the source \"\""
            );
        }
        assert!(
            a.wards.len() >= 2 && a.wards.iter().all(|w| w.starts_with("nord-")),
            "{a:?}"
        );
        assert!(
            b.wards.len() >= 2 && b.wards.iter().all(|w| w.starts_with("syd-")),
            "{b:?}"
        );
        // both EHRs name their wards alike: only the prefixes keep them apart
        let bare = |wards: &[String], p: &str| -> BTreeSet<String> {
            wards.iter().map(|w| w.strip_prefix(p).unwrap().to_owned()).collect()
        };
        assert!(
            bare(&a.wards, "nord-").intersection(&bare(&b.wards, "syd-")).count() > 0,
            "{:?} {:?}",
            a.wards,
            b.wards
        );
        // the second source's write kept the first's rows of the hour
        let stored = wards_at(&store, hour, &a.wards).await;
        assert_eq!(stored.len(), a.wards.len(), "nord's wards at {hour}: {stored:?}");
        assert!(stored.iter().all(|(_, p, src)| *p > 0 && src == "nord"), "{stored:?}");
        let stored_syd = wards_at(&store, hour, &b.wards).await;
        assert_eq!(stored_syd.len(), b.wards.len(), "syd's wards at {hour}: {stored_syd:?}");
        assert!(stored_syd.iter().all(|(_, _, src)| src == "syd"), "{stored_syd:?}");
        // each source's own hour
        for (id, run) in [("nord", &a), ("syd", &b)] {
            let own = store.source_hour(id).await.unwrap().expect("a source hour");
            assert_eq!((own.hour, own.run_id), (hour, run.run_id), "{id}");
            let latest = store.latest_source_run(id).await.unwrap().expect("a run");
            assert_eq!((latest.id, latest.source_id.as_str()), (run.run_id, id));
        }
        assert_eq!(store.current_hour().await.unwrap().unwrap().hour, hour);
        // the hospital row sums both sources' wards
        let sum: u32 = stored.iter().chain(&stored_syd).map(|(_, p, _)| *p).sum();
        assert_eq!(sum as usize, a.patients + b.patients);
        assert_eq!(hospital_patients(&store, hour).await, Some(sum));
        // the same Patient ids, never the same key
        let (kn, ks) = (
            keys_at(&store, hour, &a.wards).await,
            keys_at(&store, hour, &b.wards).await,
        );
        assert_eq!((kn.len(), ks.len()), (a.patients, b.patients));
        assert!(kn.is_disjoint(&ks), "a patient key is shared between the sources");
        (nord_wards, syd_wards) = (a.wards, b.wards);
    }

    // syd's EHR goes down; nord's keeps answering
    syd.spawned.take().unwrap().stop().await;
    nord.advance(h2).await;
    let fired = h2 + Duration::minutes(5);
    let a = ran(&mut n, Due::Firing(fired)).await;
    assert_eq!(a.outcome, Outcome::Ok, "{a:?}");
    let b = ran(&mut s, Due::Firing(fired)).await;
    assert_eq!(b.outcome, Outcome::Failed, "{b:?}");
    let failed = store.latest_source_run("syd").await.unwrap().unwrap();
    assert_eq!((failed.id, failed.outcome), (b.run_id, Some(Outcome::Failed)));
    // a failed run is not the firing done: the next look may run it again
    assert!(store.firing_done("nord", fired).await.unwrap());
    // syd stays at its last good hour, its wards stale, nothing of them at h2
    assert_eq!(store.source_hour("syd").await.unwrap().unwrap().hour, h1);
    assert_eq!(store.source_hour("nord").await.unwrap().unwrap().hour, h2);
    assert_eq!(store.current_hour().await.unwrap().unwrap().hour, h2);
    assert!(wards_at(&store, h2, &syd_wards).await.is_empty());
    assert_eq!(wards_at(&store, h1, &syd_wards).await.len(), syd_wards.len());
    let stored = wards_at(&store, h2, &nord_wards).await;
    assert_eq!(stored.len(), nord_wards.len(), "{stored:?}");
    let sum: u32 = stored.iter().map(|(_, p, _)| *p).sum();
    assert_eq!(
        hospital_patients(&store, h2).await,
        Some(sum),
        "h2's hospital row is nord's wards"
    );
    drop(nord);
}

careload_testkit::on_every_backend!(two_sources_share_a_store_and_a_failing_one_leaves_only_its_wards_stale);
