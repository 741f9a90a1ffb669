//! The FHIR output's reads (`Store::fhir_ward_rows`,
//! `Store::fhir_patient_rows`, `Store::fhir_hour_patients`; issue 29) as a
//! chapter of the storage story, told on every backend (SQLite always,
//! PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server): keyed
//! pages give every row once in key order, whatever the page size; hours,
//! ward and pseudonym filter; each row carries when its hour was written —
//! its run's end, its start while the run is open — and rewriting an hour
//! moves it.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use careload_scoring::snapshot::PatientKey;
use careload_scoring::{Score, Snapshot, Weights, rollup, score_now};
use careload_store::{FhirFilter, Outcome, RunId, RunReport, Store};
use careload_testkit::store::Ctx;
use chrono::{DateTime, Duration, Utc};

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");

fn h(hour: u32) -> DateTime<Utc> {
    format!("2026-11-23T{hour:02}:00:00Z").parse().expect("hour")
}

/// Five patients on two wards at `hour`.
fn patients(w: &Weights, hour: DateTime<Utc>) -> Vec<(Snapshot, Score)> {
    [("k1", "w1"), ("k2", "w1"), ("k3", "w1"), ("k4", "w2"), ("k5", "w2")]
        .into_iter()
        .map(|(key, ward)| {
            let mut s = Snapshot::new(PatientKey(key.into()), hour, hour - Duration::days(1), ward);
            s.placement.bed = Some(format!("{ward}-{key}"));
            let score = score_now(&s, w);
            (s, score)
        })
        .collect()
}

/// Writes `hour` in a run of its own; finishes the run unless `open`.
async fn write(store: &Store, w: &Weights, hour: DateTime<Utc>, open: bool) -> RunId {
    let pairs = patients(w, hour);
    let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
    let run = store.begin_run("test").await.unwrap();
    store.write_hour(hour, run, &w.meta.version, &pairs, &r).await.unwrap();
    if !open {
        store.finish_run(run, Outcome::Ok, &RunReport::default()).await.unwrap();
    }
    run
}

fn all_hours(limit: u32) -> FhirFilter {
    FhirFilter {
        hour_from: Some(h(0)),
        hour_to: Some(h(23)),
        limit,
        ..FhirFilter::default()
    }
}

async fn fhir_reads_page_by_key_and_know_when_each_hour_was_written(ctx: Ctx) {
    let store = ctx.store;
    let w = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").unwrap();
    store.record_weights(&w).await.unwrap();
    for hour in [h(6), h(7), h(8)] {
        write(&store, &w, hour, false).await;
    }
    let before_open = Utc::now();
    write(&store, &w, h(9), true).await; // a run still open: its start counts

    // every patient row once, in (hour, pseudonym) order, for any page size
    let everything = store.fhir_patient_rows(&all_hours(1000)).await.unwrap();
    assert_eq!(everything.len(), 4 * 5);
    let keys: Vec<(DateTime<Utc>, String)> = everything.iter().map(|w| (w.row.hour, w.row.key.0.clone())).collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    for size in [1, 3, 7, 20] {
        let mut paged = Vec::new();
        let mut filter = all_hours(size);
        for pages in 1.. {
            assert!(pages <= 21, "pages of {size} never end");
            let page = store.fhir_patient_rows(&filter).await.unwrap();
            assert!(page.len() <= size as usize);
            let Some(last) = page.last() else { break };
            filter.after = Some((last.row.hour, last.row.key.0.clone()));
            paged.extend(page.iter().map(|w| (w.row.hour, w.row.key.0.clone())));
        }
        assert_eq!(paged, keys, "pages of {size}");
    }
    let mut wards_paged = Vec::new();
    let mut filter = all_hours(3);
    for pages in 1.. {
        assert!(pages <= 4, "pages of ward rows never end");
        let page = store.fhir_ward_rows(&filter).await.unwrap();
        let Some(last) = page.last() else { break };
        filter.after = Some((last.row.hour, last.row.ward.clone()));
        wards_paged.extend(
            page.iter()
                .map(|w| (w.row.hour, w.row.ward.clone(), w.row.totals.patients)),
        );
    }
    let expected: Vec<(DateTime<Utc>, String, u32)> = [h(6), h(7), h(8), h(9)]
        .into_iter()
        .flat_map(|hour| [(hour, "w1".to_owned(), 3), (hour, "w2".to_owned(), 2)])
        .collect();
    assert_eq!(wards_paged, expected);

    // hours, ward and pseudonym
    let f = FhirFilter {
        hour_from: Some(h(7)),
        hour_to: Some(h(9)),
        ward: Some("w2".into()),
        limit: 100,
        ..FhirFilter::default()
    };
    let rows = store.fhir_patient_rows(&f).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r.row.ward == "w2" && (h(7)..h(9)).contains(&r.row.hour))
    );
    let f = FhirFilter {
        patient: Some("k3".into()),
        ..all_hours(100)
    };
    let rows = store.fhir_patient_rows(&f).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.row.hour).collect::<Vec<_>>(),
        [h(6), h(7), h(8), h(9)]
    );
    assert_eq!(store.fhir_hour_patients(h(8)).await.unwrap().len(), 5);
    assert!(store.fhir_hour_patients(h(10)).await.unwrap().is_empty());

    // when each hour was written: one instant per hour, the same for its ward rows
    let runs = store.runs(10).await.unwrap();
    let written = |hour: DateTime<Utc>| {
        everything
            .iter()
            .filter(|w| w.row.hour == hour)
            .map(|w| w.written_at.expect("written"))
            .collect::<Vec<_>>()
    };
    for hour in [h(6), h(7), h(8), h(9)] {
        let at = written(hour);
        assert!(at.windows(2).all(|p| p[0] == p[1]), "{hour}: {at:?}");
        let run = runs
            .iter()
            .find(|r| r.id == everything.iter().find(|w| w.row.hour == hour).unwrap().row.run_id)
            .unwrap();
        let expected = run.finished_at.unwrap_or(run.started_at);
        assert_eq!(at[0].timestamp_micros(), expected.timestamp_micros(), "{hour}");
    }
    assert!(written(h(9))[0] <= before_open + Duration::seconds(5));
    let ward_rows = store.fhir_ward_rows(&all_hours(100)).await.unwrap();
    for w in &ward_rows {
        assert_eq!(
            w.written_at,
            Some(written(w.row.hour)[0]),
            "{} {}",
            w.row.hour,
            w.row.ward
        );
    }

    // rewriting an hour moves its written instant past the others; the filter finds it alone
    let cut = written(h(9))[0].max(written(h(8))[0]);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    write(&store, &w, h(7), false).await;
    let since = FhirFilter {
        hour_from: None,
        hour_to: None,
        written_gt: Some(cut),
        limit: 100,
        ..FhirFilter::default()
    };
    let again = store.fhir_patient_rows(&since).await.unwrap();
    assert_eq!(again.len(), 5);
    assert!(again.iter().all(|r| r.row.hour == h(7)));
    let wards_again = store.fhir_ward_rows(&since).await.unwrap();
    assert_eq!(
        wards_again.iter().map(|w| w.row.ward.as_str()).collect::<Vec<_>>(),
        ["w1", "w2"]
    );
    let until = FhirFilter {
        written_le: Some(cut),
        ..all_hours(100)
    };
    assert_eq!(
        store.fhir_patient_rows(&until).await.unwrap().len(),
        15,
        "hours 6, 8 and 9"
    );
    let none = FhirFilter {
        written_lt: Some(h(0)),
        ..all_hours(100)
    };
    assert!(store.fhir_ward_rows(&none).await.unwrap().is_empty());
}

careload_testkit::on_every_backend!(fhir_reads_page_by_key_and_know_when_each_hour_was_written);
