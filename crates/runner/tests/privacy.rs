//! De-identified by construction, checked on the whole store: the simulated
//! hospital (served over HTTP on loopback, `support`) is run for some hours
//! into SQLite and PostgreSQL (a fresh database from the workspace's store
//! harness, `careload_testkit`) with its logs captured, then every byte of the
//! store and of the logs is searched for every Patient id, Encounter id,
//! name and identifier the simulator wrote. (The simulator's record ids hold
//! the patient's: `p000001-m19-news2`.)
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/logs.rs"]
mod logs;
#[allow(dead_code)] // the base URL and the hooks are run.rs's
mod support;

use std::sync::Arc;

use logs::capture_logs;

use careload_config::{Config, SourceKind};
use careload_runner::load_weights;
use careload_sim::SharedSim;
use careload_store::{Outcome, Store};
use careload_testkit::TempDir;
use careload_testkit::store::PgDatabase;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Connection, PgConnection, Row};

fn now() -> DateTime<Utc> {
    "2026-11-23T12:20:00Z".parse().unwrap()
}

fn sim_config() -> Config {
    let mut c = Config::default();
    c.source.kind = SourceKind::Sim;
    c.source.pseudonym_key_env = "CARELOAD_TEST_UNSET_PSEUDONYM_KEY".into();
    c.sim.beds = 60;
    c.sim.seed = 11;
    c.sim.listen = "127.0.0.1:0".into();
    c.scoring.time_zone = "UTC".into();
    c.schedule.resync_hour = 23;
    c.schedule.backfill_hours = 4;
    c
}

/// Every identifying string the simulator wrote: Patient and Encounter ids,
/// names, identifier values (every one it serves: the served present is
/// built from these same resources).
fn identifying_strings(sim: &SharedSim) -> Vec<String> {
    let resources: Vec<Value> = sim.read(|h| {
        h.resources()
            .filter(|r| matches!(r["resourceType"].as_str(), Some("Patient" | "Encounter")))
            .collect()
    });
    let mut found = Vec::new();
    for ty in ["Patient", "Encounter"] {
        assert!(
            resources.iter().any(|r| r["resourceType"] == ty),
            "the simulator serves {ty} resources"
        );
    }
    for r in &resources {
        found.push(r["id"].as_str().unwrap().to_owned());
        for name in r["name"].as_array().into_iter().flatten() {
            found.extend(name["family"].as_str().map(str::to_owned));
            for given in name["given"].as_array().into_iter().flatten() {
                found.extend(given.as_str().map(str::to_owned));
            }
        }
        for id in r["identifier"].as_array().into_iter().flatten() {
            found.extend(id["value"].as_str().map(str::to_owned));
        }
    }
    assert!(found.len() > 100, "{} strings", found.len());
    found.sort();
    found.dedup();
    // a family name is the patient's number (`0007`): too short to search
    // for on its own; the ids and identifiers hold the same number
    found.retain(|s| s.len() >= 6);
    found
}

/// Back-fills the sim's hours into `store`; returns what must never be stored.
async fn run_hospital(store: &Store) -> Vec<String> {
    let config = sim_config();
    let weights = Arc::new(load_weights(None).unwrap());
    let started = support::start(&config, store.clone(), weights, now()).await.unwrap();
    let mut runner = started.runner;
    let runs = runner.backfill(now()).await.unwrap();
    assert_eq!(runs.len(), 4);
    assert!(
        runs.iter().all(|r| r.outcome == Outcome::Ok && r.patients > 20),
        "{runs:?}"
    );
    identifying_strings(&started.sim)
}

fn leaks<'a>(haystack: &[u8], needles: &'a [String]) -> Vec<&'a str> {
    let text = String::from_utf8_lossy(haystack);
    needles
        .iter()
        .map(String::as_str)
        .filter(|n| text.contains(n))
        .collect()
}

async fn sqlite_store_bytes() -> (Vec<u8>, Vec<String>) {
    let dir = TempDir::new("privacy");
    let store = Store::connect(&dir.sqlite_url()).await.unwrap();
    let needles = run_hospital(&store).await;
    store.close().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(&*dir).unwrap() {
        // the database and whatever journal or WAL it left
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    (bytes, needles)
}

/// Every value of every column of every table, as text (`bytea` as its
/// escape form, so ASCII inside binary snapshots stays readable).
async fn postgres_store_text(database: PgDatabase) -> (Vec<u8>, Vec<String>) {
    let url = database.url().to_owned();
    let store = Store::connect(&url).await.unwrap();
    let needles = run_hospital(&store).await;
    store.close().await;
    let mut db = PgConnection::connect(&url).await.unwrap();
    let columns = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text, c.data_type::text
         FROM information_schema.columns c JOIN information_schema.tables t
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name
         WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'",
    )
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert!(columns.len() > 40, "{} columns", columns.len());
    let mut text = Vec::new();
    for c in &columns {
        let (table, column, ty): (String, String, String) = (c.get(0), c.get(1), c.get(2));
        let expr = if ty == "bytea" {
            format!("encode(\"{column}\", 'escape')")
        } else {
            format!("\"{column}\"::text")
        };
        let rows = sqlx::query(&format!(
            "SELECT {expr} FROM \"{table}\" WHERE \"{column}\" IS NOT NULL"
        ))
        .fetch_all(&mut db)
        .await
        .unwrap();
        for row in rows {
            let value: String = row.get(0);
            text.extend_from_slice(value.as_bytes());
            text.push(b'\n');
        }
    }
    db.close().await.unwrap();
    database.remove().await;
    (text, needles)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_patient_id_name_or_identifier_is_stored_or_logged() {
    let logs = capture_logs();

    let (bytes, needles) = sqlite_store_bytes().await;
    // the scan can find what it looks for: the pseudonym key variable's
    // name is stored in no row, but the weights version is in every one
    assert!(
        !leaks(&bytes, &["2026.1".to_owned()]).is_empty(),
        "the scan reads the store"
    );
    assert_eq!(leaks(&bytes, &needles), Vec::<&str>::new(), "SQLite store");

    // skipped with a message without a server, unless CI is set
    if let Some(database) = PgDatabase::create("privacy").await {
        let (text, needles) = postgres_store_text(database).await;
        assert!(
            !leaks(&text, &["2026.1".to_owned()]).is_empty(),
            "the scan reads the store"
        );
        assert_eq!(leaks(&text, &needles), Vec::<&str>::new(), "PostgreSQL store");
    }

    let logged = logs.text();
    assert!(logged.contains("run done"), "the logs were captured");
    assert_eq!(leaks(logged.as_bytes(), &needles), Vec::<&str>::new(), "logs");
}
