//! How fast the simulated FHIR server is: paging through every resource of a
//! 1,000-bed hospital with `_count=1000` over loopback HTTP (the ingest
//! benchmark's load), one ward's inpatients with their tasks, observations
//! and medications by `_revinclude`, and one simulated hour's advance with
//! the re-index.
//!
//! `cargo bench -p careload-sim --bench serve`. Figures go in the issue
//! notes, not into tests.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use careload_sim::server::{self, MAX_COUNT};
use careload_sim::{Hospital, RESOURCE_TYPES, SharedSim, SimConfig, SimServer};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

/// Pages through every resource; returns how many.
async fn page_all(client: &reqwest::Client, base: &str) -> u64 {
    let mut n = 0;
    for ty in RESOURCE_TYPES {
        let mut url = format!("{base}/{ty}?_count={MAX_COUNT}");
        loop {
            let bytes = client.get(&url).send().await.unwrap().bytes().await.unwrap();
            let b: Value = serde_json::from_slice(&bytes).unwrap();
            n += b["entry"].as_array().map_or(0, Vec::len) as u64;
            match b["link"].as_array().unwrap().iter().find(|l| l["relation"] == "next") {
                Some(l) => url = l["url"].as_str().unwrap().to_owned(),
                None => break,
            }
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let start = "2026-11-23T09:00:00Z".parse().unwrap();
    let sim: SharedSim = SimServer::new(
        Hospital::new(SimConfig {
            beds: 1000,
            ..SimConfig::new(1, start)
        })
        .unwrap(),
    );
    let served = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        server::spawn(listener, sim.clone()).unwrap()
    });
    let base = served.base_url();
    let client = reqwest::Client::new();
    let total = rt.block_on(page_all(&client, &base));
    eprintln!("1,000 beds: {total} resources served");

    let mut g = c.benchmark_group("serve_1000_beds");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.throughput(Throughput::Elements(total));
    g.bench_function("page_all_count_1000", |b| {
        b.iter(|| black_box(rt.block_on(page_all(&client, &base))));
    });
    g.throughput(Throughput::Elements(1));
    let ward = format!(
        "{base}/Encounter?status=in-progress&location=Location/w03-r01-b1&_count=1000&_include=Encounter:patient\
         &_revinclude=Task:encounter&_revinclude=Observation:encounter&_revinclude=MedicationRequest:encounter"
    );
    g.bench_function("one_bed_with_revincludes", |b| {
        b.iter(|| rt.block_on(async { client.get(&ward).send().await.unwrap().bytes().await.unwrap().len() }));
    });
    g.bench_function("advance_one_hour", |b| b.iter(|| sim.advance_hours(1)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
