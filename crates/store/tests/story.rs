//! One storage story, told on every backend: SQLite in a temporary file
//! always, PostgreSQL when `CARELOAD_TEST_DATABASE_URL` names a server (an
//! admin URL whose role may create databases). Each test gets its own fresh
//! database and drops it at the end, pass or fail.
//!
//! A chapter is an `async fn(Ctx)`; the workspace's store harness
//! (`careload_testkit::on_every_backend!`) instantiates every chapter once
//! per backend, so a new case is written once. What only PostgreSQL has (its
//! monthly partitions) is told in chapters of their own, instantiated for
//! PostgreSQL alone (`postgres only:` at the end).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::collections::BTreeMap;

use careload_scoring::news2::{Acvpu, Spo2Scale, Vitals};
use careload_scoring::snapshot::{
    Activity, ActivityStatus, CarePlan, Diagnosis, Dosing, MedicationOrder, News2Observation, Norton, NortonActivity,
    PatientKey, Route, Sex, VitalSigns,
};
use careload_scoring::{Rollup, Score, Snapshot, Weights, rollup, score_now};
use careload_store::{ConfiguredWard, Error, Level, Outcome, RunReport, Store, StoredPatientHour};
use careload_testkit::store::Ctx;
use chrono::{DateTime, Duration, Utc};

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");

fn weights() -> Weights {
    Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights 2026.1")
}

/// Start of an hour on 2026-11-23 (UTC).
fn h(hour: u32) -> DateTime<Utc> {
    format!("2026-11-23T{hour:02}:00:00Z").parse().expect("hour")
}

/// A hand-made patient: varied enough that every JSON shape round-trips
/// (floats in vitals, optional fields, unknown codes).
fn patient(key: &str, ward: &str, team: Option<&str>, bed: &str, hour: DateTime<Utc>, load: u8) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let mut s = Snapshot::new(PatientKey(key.into()), as_of, as_of - Duration::days(2), ward);
    s.placement.team = team.map(str::to_owned);
    s.placement.bed = Some(bed.into());
    s.sex = if load.is_multiple_of(2) { Sex::Female } else { Sex::Male };
    s.birth_year = Some(1940 + i32::from(load));
    s.norton = Some(Norton {
        activity: NortonActivity::ALL[usize::from(load) % 4],
        total: Some(14),
        assessed_at: as_of - Duration::hours(3),
    });
    s.news2.push(News2Observation {
        at: as_of - Duration::hours(1),
        value: load % 7,
        source: Some(format!("Observation/n-{key}")),
    });
    s.vitals.push(VitalSigns {
        at: as_of - Duration::hours(2),
        vitals: Vitals {
            respiration_rate: Some(18),
            spo2: Some(95),
            spo2_scale: Spo2Scale::Scale1,
            on_oxygen: Some(false),
            systolic_bp: Some(118),
            pulse: Some(88),
            consciousness: Some(Acvpu::Alert),
            temperature: Some(37.3),
        },
        source: None,
    });
    for (i, code) in ["personal-hygiene", "wound-care", "no-such-activity"]
        .iter()
        .enumerate()
    {
        if i < usize::from(load % 3) + 1 {
            s.activities.push(Activity {
                code: (*code).into(),
                due: Some(as_of + Duration::minutes(20)),
                status: ActivityStatus::Open,
                profession: None,
                source: Some(format!("Task/{key}-{i}")),
            });
        }
    }
    s.medications.push(MedicationOrder {
        route: Route::Oral,
        dosing: Dosing::PerDay { times: 3 },
        source: None,
    });
    if load > 2 {
        s.care_plans.push(CarePlan {
            category: "palliative".into(),
            source: None,
        });
        s.diagnoses.push(Diagnosis {
            code: "F32.1".into(),
            source: None,
        });
    }
    s
}

/// Two wards: W1 with teams A, B and a patient without team; W2 with one.
fn hour_of_patients(w: &Weights, hour: DateTime<Utc>, extra: u8) -> (Vec<(Snapshot, Score)>, Rollup) {
    let snapshots = vec![
        patient("p1", "W1", Some("A"), "1", hour, 1 + extra),
        patient("p2", "W1", Some("A"), "2", hour, 2 + extra),
        patient("p3", "W1", Some("B"), "3", hour, 3 + extra),
        patient("p4", "W1", None, "4", hour, 4 + extra),
        patient("p5", "W2", Some("C"), "1", hour, 5 + extra),
    ];
    scored(w, snapshots)
}

fn scored(w: &Weights, snapshots: Vec<Snapshot>) -> (Vec<(Snapshot, Score)>, Rollup) {
    let pairs: Vec<(Snapshot, Score)> = snapshots
        .into_iter()
        .map(|s| {
            let score = score_now(&s, w);
            (s, score)
        })
        .collect();
    let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
    (pairs, r)
}

/// Records the weights, begins a run and writes the hour.
async fn write(store: &Store, w: &Weights, hour: DateTime<Utc>, pairs: &[(Snapshot, Score)], r: &Rollup) {
    store.record_weights(w).await.expect("record weights");
    let run = store.begin_run("test").await.expect("begin run");
    store
        .write_hour(hour, run, &w.meta.version, pairs, r)
        .await
        .expect("write hour");
}

// ---------------------------------------------------------------- chapters

async fn wards_teams_and_beds_are_kept_from_placements_and_config(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    // Hour 10: the usual two wards. Hour 12: bed 3 of W1 moves to team A.
    let (pairs, r) = hour_of_patients(&w, h(10), 0);
    write(store, &w, h(10), &pairs, &r).await;
    let (pairs, r) = scored(&w, vec![patient("p3", "W1", Some("A"), "3", h(12), 1)]);
    write(store, &w, h(12), &pairs, &r).await;
    // Written late, an older hour widens first_seen but does not move the bed's team back.
    let (pairs, r) = scored(&w, vec![patient("p3", "W1", Some("B"), "3", h(8), 1)]);
    write(store, &w, h(8), &pairs, &r).await;

    let wards = store.wards().await.expect("wards");
    let seen: Vec<_> = wards
        .iter()
        .map(|w| (w.ward.as_str(), w.first_seen, w.last_seen, w.configured))
        .collect();
    assert_eq!(
        seen,
        [
            ("W1", Some(h(8)), Some(h(12)), false),
            ("W2", Some(h(10)), Some(h(10)), false)
        ]
    );

    let teams: Vec<_> = store
        .teams("W1", h(0))
        .await
        .expect("teams")
        .into_iter()
        .map(|t| (t.team, t.first_seen, t.last_seen))
        .collect();
    assert_eq!(
        teams,
        [("A".to_owned(), h(10), h(12)), ("B".to_owned(), h(8), h(10))],
        "the patient without team makes no team"
    );
    assert_eq!(
        store.teams("W1", h(11)).await.expect("recent").len(),
        1,
        "B was last seen at 10"
    );

    let beds = store.beds("W1", h(0)).await.expect("beds");
    let bed3 = beds.iter().find(|b| b.bed == "3").expect("bed 3");
    assert_eq!(
        (bed3.team.as_deref(), bed3.first_seen, bed3.last_seen),
        (Some("A"), h(8), h(12))
    );
    assert_eq!(beds.len(), 4);
    assert_eq!(store.beds_seen(Some("W1"), h(11), h(13)).await.expect("seen")["W1"], 1);

    // The configuration names W1 and a ward nobody has been on yet.
    let config = [
        ConfiguredWard {
            ward: "W1".into(),
            name: Some("Avd 1 Medicin".into()),
            care_category: Some("general".into()),
            beds: Some(24),
        },
        ConfiguredWard {
            ward: "W9".into(),
            name: Some("Avd 9".into()),
            ..Default::default()
        },
    ];
    store.sync_wards(&config).await.expect("sync");
    store.sync_wards(&config).await.expect("sync twice is the same");
    let wards = store.wards().await.expect("wards");
    let view: Vec<_> = wards
        .iter()
        .map(|w| (w.ward.as_str(), w.name.as_deref(), w.beds, w.configured, w.last_seen))
        .collect();
    assert_eq!(
        view,
        [
            ("W1", Some("Avd 1 Medicin"), Some(24), true, Some(h(12))),
            ("W2", None, None, false, Some(h(10))),
            ("W9", Some("Avd 9"), None, true, None),
        ]
    );
    // Dropped from the configuration: kept, marked not configured.
    store.sync_wards(&config[1..]).await.expect("sync");
    let w1 = store.wards().await.expect("wards").into_iter().next().expect("W1");
    assert_eq!(
        (w1.ward.as_str(), w1.configured, w1.name.as_deref()),
        ("W1", false, Some("Avd 1 Medicin"))
    );
}

async fn a_replicated_hour_fills_history_for_benchmarks(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let (pairs, r) = hour_of_patients(&w, h(10), 0);
    write(store, &w, h(10), &pairs, &r).await;
    // Three hours back; the two nearest keep their snapshots.
    let before = store.size_bytes().await.expect("size");
    assert!(before > 0);
    assert_eq!(store.replicate_hour(h(10), 3, 2).await.expect("replicate"), 15);
    let hours: Vec<_> = store
        .ward_hours("W1", h(0), h(23))
        .await
        .expect("history")
        .iter()
        .map(|u| (u.hour, u.totals.total))
        .collect();
    let total = r.wards["W1"].totals.total;
    assert_eq!(hours, [(h(7), total), (h(8), total), (h(9), total), (h(10), total)]);
    // The graphs' reader: each W1 patient's total in every hour, by hour then patient.
    let totals = store.ward_patient_totals("W1", h(7), h(11)).await.expect("totals");
    let mut expected = Vec::new();
    for hour in [h(7), h(8), h(9), h(10)] {
        let mut w1: Vec<_> = pairs.iter().filter(|(s, _)| s.placement.ward == "W1").collect();
        w1.sort_by(|a, b| a.0.key.0.cmp(&b.0.key.0));
        expected.extend(w1.into_iter().map(|(s, sc)| (hour, s.key.clone(), sc.total)));
    }
    assert_eq!(totals, expected);
    let copied = store.patient_hours("W2", h(7), h(8)).await.expect("copied");
    assert_eq!(
        (copied.len(), copied[0].as_of),
        (1, pairs[4].0.as_of - Duration::hours(3))
    );
    let key = &pairs[0].0.key;
    let (snapshot, _) = store.patient_snapshot(h(8), key).await.expect("read").expect("kept");
    assert_eq!(snapshot.placement, pairs[0].0.placement);
    assert!(
        store.patient_snapshot(h(7), key).await.is_err(),
        "beyond full_hours the payload is gone"
    );
    assert_eq!(
        store.current_hour().await.expect("current").map(|c| c.hour),
        Some(h(10))
    );
    let err = store.replicate_hour(h(10), 1, 1).await.expect_err("hour 9 is taken");
    assert!(err.to_string().contains("already have rows"), "{err}");
}

async fn planned_staffing_is_stored_whole_and_replaced_by_key(ctx: Ctx) {
    use careload_planning::PlannedStaffing;
    use careload_scoring::snapshot::Profession;
    let store = &ctx.store;
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 11, d).expect("date");
    let row = |ward: &str, team: Option<&str>, d: u32, shift: &str, p: Profession, planned: u32, absent: u32| {
        PlannedStaffing {
            ward: ward.into(),
            team: team.map(str::to_owned),
            date: day(d),
            shift: shift.into(),
            profession: p,
            planned,
            absent,
        }
    };
    let rows = vec![
        row("W1", Some("A"), 24, "day", Profession::Usk, 3, 1),
        row("W1", Some("A"), 24, "day", Profession::Ssk, 2, 0),
        row("W1", None, 24, "day", Profession::Ssk, 1, 0),
        row("W1", Some("A"), 25, "night", Profession::Usk, 2, 0),
        row("W2", Some("C"), 24, "day", Profession::Usk, 4, 0),
    ];
    assert_eq!(
        store.put_planned_staffing(&rows, "staffing", "csv").await.expect("put"),
        5
    );
    let w1 = store
        .planned_staffing(Some("W1"), day(24), day(24))
        .await
        .expect("read");
    assert_eq!(
        w1,
        [rows[2].clone(), rows[1].clone(), rows[0].clone()],
        "whole-ward rows first, then by team and profession"
    );
    assert_eq!(
        store.planned_staffing(None, day(1), day(30)).await.expect("all").len(),
        5
    );

    // The same key again replaces the row; the audit log says who and how many.
    let again = vec![row("W1", Some("A"), 24, "day", Profession::Usk, 3, 2)];
    store
        .put_planned_staffing(&again, "anna", "api")
        .await
        .expect("replace");
    let w1 = store
        .planned_staffing(Some("W1"), day(24), day(24))
        .await
        .expect("read");
    assert_eq!(w1[2], again[0]);
    let audit = store.audit_entries(1).await.expect("audit");
    assert_eq!(
        (audit[0].actor.as_str(), audit[0].action.as_str()),
        ("anna", "planned_staffing")
    );
    assert_eq!(audit[0].detail, serde_json::json!({"rows": 1, "source": "api"}));

    // A row the database refuses (absent above planned) takes the whole batch with it.
    let bad = vec![
        row("W3", None, 24, "day", Profession::Usk, 2, 0),
        row("W3", None, 24, "day", Profession::Ssk, 1, 5),
    ];
    assert!(store.put_planned_staffing(&bad, "x", "api").await.is_err());
    assert!(
        store
            .planned_staffing(Some("W3"), day(1), day(30))
            .await
            .expect("read")
            .is_empty()
    );
}

async fn migrations_apply_and_reconnect_is_a_noop(ctx: Ctx) {
    ctx.store.ping().await.expect("ping");
    assert_eq!(ctx.store.current_hour().await.expect("current"), None);
    assert!(ctx.store.runs(10).await.expect("runs").is_empty());
    let again = Store::connect(&ctx.url).await.expect("reconnect");
    again.ping().await.expect("ping again");
    assert!(again.weights_versions().await.expect("versions").is_empty());
    again.close().await;
}

async fn write_hour_then_read_every_level_back(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let (pairs, r) = hour_of_patients(&w, h(10), 0);
    write(store, &w, h(10), &pairs, &r).await;

    let (from, to) = (h(10), h(11));
    let ward = store.ward_hours("W1", from, to).await.expect("ward hours");
    assert_eq!(ward.len(), 1);
    assert_eq!(ward[0].level, Level::Ward);
    assert_eq!((ward[0].ward.as_str(), ward[0].team.as_str()), ("W1", ""));
    assert_eq!(ward[0].totals, r.wards["W1"].totals, "ward row equals the rollup");
    assert_eq!(ward[0].weights_version, w.meta.version);
    assert!(ward[0].totals.total.milli() > 0 && ward[0].totals.unmatched > 0);

    let teams = store.team_hours("W1", from, to).await.expect("team hours");
    let got: BTreeMap<String, _> = teams.iter().map(|u| (u.team.clone(), u.totals)).collect();
    assert_eq!(
        got, r.wards["W1"].teams,
        "team rows equal the rollup (unassigned included)"
    );
    // the graphs' light read gives the same totals
    let light = store
        .unit_totals(Level::Team, "W1", from, to)
        .await
        .expect("team totals");
    let full: Vec<_> = teams.iter().map(|u| (u.hour, u.team.clone(), u.totals.total)).collect();
    assert_eq!(light, full);
    assert_eq!(
        store
            .unit_totals(Level::Ward, "W1", from, to)
            .await
            .expect("ward totals"),
        [(h(10), String::new(), r.wards["W1"].totals.total)]
    );

    let hospital = store.hospital_hours(from, to).await.expect("hospital hours");
    assert_eq!(hospital.len(), 1);
    assert_eq!(hospital[0].totals, r.hospital);

    let patients = store.patient_hours("W1", from, to).await.expect("patient hours");
    let beds: Vec<_> = patients.iter().map(|p| p.bed.as_deref().unwrap_or("")).collect();
    assert_eq!(beds, ["1", "2", "3", "4"]);
    for p in &patients {
        let (s, sc) = pairs.iter().find(|(s, _)| s.key == p.key).expect("written patient");
        assert_eq!(
            (p.total, p.professions, p.components),
            (sc.total, sc.professions, sc.components)
        );
        assert_eq!(p.team, s.placement.team);
        assert_eq!(p.as_of, s.as_of);
        assert_eq!(p.unmatched as usize, sc.unmatched.len());
    }

    for (s, sc) in &pairs {
        let back = store.patient_snapshot(h(10), &s.key).await.expect("snapshot");
        assert_eq!(
            back.as_ref(),
            Some(&(s.clone(), sc.clone())),
            "{} round-trips exactly",
            s.key
        );
    }
    let nobody = store.patient_snapshot(h(10), &PatientKey("nobody".into())).await;
    assert!(nobody.expect("query").is_none());

    let current = store.current_hour().await.expect("current").expect("set");
    assert_eq!(current.hour, h(10));
}

async fn rerunning_an_hour_replaces_it(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let (pairs, r) = hour_of_patients(&w, h(10), 0);
    write(store, &w, h(10), &pairs, &r).await;
    write(store, &w, h(10), &pairs, &r).await;
    assert_eq!(store.patient_hours("W1", h(10), h(11)).await.expect("rows").len(), 4);
    let ward = store.ward_hours("W1", h(10), h(11)).await.expect("ward");
    assert_eq!(ward.len(), 1);
    assert_eq!(ward[0].totals, r.wards["W1"].totals);

    // The re-run sees one patient fewer and more load: the hour is replaced.
    let (pairs2, r2) = scored(&w, pairs[1..].iter().map(|(s, _)| s.clone()).collect());
    write(store, &w, h(10), &pairs2, &r2).await;
    assert_eq!(store.patient_hours("W1", h(10), h(11)).await.expect("rows").len(), 3);
    let ward = store.ward_hours("W1", h(10), h(11)).await.expect("ward");
    assert_eq!(ward[0].totals, r2.wards["W1"].totals);
    assert_eq!(
        store.hospital_hours(h(10), h(11)).await.expect("hospital")[0].totals,
        r2.hospital
    );
}

async fn ward_history_is_ordered_and_an_older_hour_does_not_become_current(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    for (hour, extra) in [(h(12), 2), (h(10), 0), (h(11), 1)] {
        let (pairs, r) = hour_of_patients(&w, hour, extra);
        write(store, &w, hour, &pairs, &r).await;
    }
    let history = store.ward_hours("W1", h(10), h(13)).await.expect("history");
    let hours: Vec<_> = history.iter().map(|u| u.hour).collect();
    assert_eq!(hours, [h(10), h(11), h(12)]);
    assert_eq!(
        store.ward_hours("W1", h(11), h(12)).await.expect("one").len(),
        1,
        "ranges are [from, to)"
    );
    assert_eq!(store.current_hour().await.expect("current").expect("set").hour, h(12));
    let patients = store.patient_hours("W2", h(10), h(13)).await.expect("patients");
    assert_eq!(
        patients.iter().map(|p| p.hour).collect::<Vec<_>>(),
        [h(10), h(11), h(12)]
    );
}

async fn a_failed_write_keeps_the_previous_hour_whole(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    let (pairs, r) = hour_of_patients(&w, h(10), 0);
    write(store, &w, h(10), &pairs, &r).await;
    let before = store.current_hour().await.expect("current").expect("set");

    // A bad row late in the batch: the same patient twice in one hour.
    let (mut bad, _) = hour_of_patients(&w, h(11), 1);
    bad.push(bad[0].clone());
    let bad_rollup = rollup(bad.iter().map(|(s, sc)| (s, sc)));
    let run = store.begin_run("test").await.expect("run");
    let err = store.write_hour(h(11), run, &w.meta.version, &bad, &bad_rollup).await;
    assert!(matches!(err, Err(Error::Constraint { kind: "unique", .. })), "{err:?}");
    assert_eq!(
        store.current_hour().await.expect("current"),
        Some(before),
        "current hour unchanged"
    );
    assert!(
        store.patient_hours("W1", h(11), h(12)).await.expect("rows").is_empty(),
        "no partial rows"
    );
    assert!(store.ward_hours("W1", h(11), h(12)).await.expect("units").is_empty());

    // The same bad write over an existing hour: its delete is rolled back too.
    let err = store.write_hour(h(10), run, &w.meta.version, &bad, &bad_rollup).await;
    assert!(matches!(err, Err(Error::Constraint { .. })), "{err:?}");
    assert_eq!(store.patient_hours("W1", h(10), h(11)).await.expect("rows").len(), 4);
    assert_eq!(
        store.ward_hours("W1", h(10), h(11)).await.expect("ward")[0].totals,
        r.wards["W1"].totals
    );

    // An unknown weights version is a foreign-key violation.
    let err = store.write_hour(h(11), run, "no-such-version", &pairs, &r).await;
    assert!(
        matches!(
            err,
            Err(Error::Constraint {
                kind: "foreign key",
                ..
            })
        ),
        "{err:?}"
    );
    // Not on the hour, or a rollup of other patients: refused before writing.
    let err = store
        .write_hour(h(11) + Duration::minutes(1), run, &w.meta.version, &pairs, &r)
        .await;
    assert!(matches!(err, Err(Error::Invalid(_))), "{err:?}");
    let err = store.write_hour(h(11), run, &w.meta.version, &pairs[1..], &r).await;
    assert!(matches!(err, Err(Error::Invalid(_))), "{err:?}");
    assert_eq!(store.current_hour().await.expect("current"), Some(before));
}

async fn runs_and_weights_are_recorded(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    assert!(store.record_weights(&w).await.expect("new"));
    assert!(!store.record_weights(&w).await.expect("same again"));
    let mut edited = w.clone();
    edited.digest = "0".repeat(64);
    let err = store.record_weights(&edited).await;
    assert!(matches!(err, Err(Error::WeightsChanged { .. })), "{err:?}");
    let versions = store.weights_versions().await.expect("versions");
    assert_eq!(versions.len(), 1);
    assert_eq!(
        (versions[0].version.as_str(), versions[0].digest.as_str()),
        (w.meta.version.as_str(), w.digest.as_str())
    );
    assert_eq!(versions[0].effective_from, w.meta.effective_from);
    assert_eq!(versions[0].decided_by, w.meta.decided_by);

    let first = store.begin_run("https://fhir.example/r4").await.expect("begin");
    let report = RunReport {
        counts: BTreeMap::from([("Encounter".to_owned(), 12), ("Task".to_owned(), 340)]),
        skipped: 2,
        retries: 1,
        error: None,
    };
    store
        .finish_run(first, Outcome::Partial, &report)
        .await
        .expect("finish");
    let second = store.begin_run("bundle.json").await.expect("begin");
    assert!(second > first);

    let latest = store.latest_run().await.expect("latest").expect("a run");
    assert_eq!((latest.id, latest.outcome, latest.finished_at), (second, None, None));
    let runs = store.runs(10).await.expect("runs");
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), [second, first]);
    assert_eq!(runs[1].outcome, Some(Outcome::Partial));
    assert_eq!(runs[1].report, report);
    assert_eq!(runs[1].source, "https://fhir.example/r4");
    assert!(runs[1].finished_at >= Some(runs[1].started_at));

    let failed = RunReport {
        error: Some("fhir server answered 503 after 3 retries".into()),
        ..RunReport::default()
    };
    store
        .finish_run(second, Outcome::Failed, &failed)
        .await
        .expect("finish failed");
    assert_eq!(store.latest_run().await.expect("latest").expect("run").report, failed);
    let missing = careload_store::RunId(second.0 + 100);
    assert!(matches!(
        store.finish_run(missing, Outcome::Ok, &report).await,
        Err(Error::UnknownRun(_))
    ));
}

/// A process killed mid-run leaves its run unfinished; the next start
/// closes it as what was committed: its hour written or not.
async fn runs_left_unfinished_are_closed_as_interrupted(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    store.record_weights(&w).await.expect("weights");
    // killed after its hour was committed
    let committed = store.begin_run("test").await.expect("begin");
    let (pairs, r) = hour_of_patients(&w, h(10), 0);
    store
        .write_hour(h(10), committed, &w.meta.version, &pairs, &r)
        .await
        .expect("write");
    // killed before writing anything
    let lost = store.begin_run("test").await.expect("begin");
    // finished normally: untouched
    let done = store.begin_run("test").await.expect("begin");
    store
        .finish_run(done, Outcome::Ok, &RunReport::default())
        .await
        .expect("finish");
    // a run begun after the cut-off (another process's, still going): untouched
    let cutoff = Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let going = store.begin_run("test").await.expect("begin");

    let closed = store.close_interrupted_runs("", cutoff).await.expect("close");
    assert_eq!(closed, [(committed, true), (lost, false)]);
    let runs = store.runs(10).await.expect("runs");
    let run = |id| runs.iter().find(|r| r.id == id).expect("run");
    assert_eq!(run(committed).outcome, Some(Outcome::Partial));
    assert!(run(committed).interrupted() && run(committed).finished_at.is_some());
    assert!(
        run(committed)
            .report
            .error
            .as_deref()
            .unwrap()
            .contains("hour is complete")
    );
    assert_eq!(run(lost).outcome, Some(Outcome::Failed));
    assert!(run(lost).interrupted());
    assert!(
        run(lost)
            .report
            .error
            .as_deref()
            .unwrap()
            .contains("previous hour stayed current")
    );
    assert_eq!(run(done).outcome, Some(Outcome::Ok));
    assert!(!run(done).interrupted());
    assert_eq!((run(going).outcome, run(going).finished_at), (None, None));
    // the current hour is still the committed run's
    assert_eq!(
        store.current_hour().await.expect("current").expect("an hour").run_id,
        committed
    );
    // a later close takes the other process's run too, if it is still going
    // then; when that run finishes it records its real end over the mark
    let again = store.close_interrupted_runs("", Utc::now()).await.expect("again");
    assert_eq!(again, [(going, false)]);
    store
        .finish_run(going, Outcome::Ok, &RunReport::default())
        .await
        .expect("finish");
    let going_run = store.runs(1).await.expect("runs").remove(0);
    assert_eq!((going_run.outcome, going_run.interrupted()), (Some(Outcome::Ok), false));
}

/// Replicas on one database: the hourly run's lock lets one process run an
/// hour; a killed holder's lock goes with its connection; a holder cut off
/// from its lock writes nothing; a firing is done once a run for it ended
/// (an interrupted one that wrote nothing does not count).
async fn the_run_lock_lets_one_replica_write_an_hour(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    store.record_weights(&w).await.expect("weights");
    // the other replica: another pool on the same database
    let other = Store::connect(&ctx.url).await.expect("second connection");
    let postgres = ctx.url.starts_with("postgres");

    let lock = store.try_lock_runs("").await.expect("lock").expect("free at first");
    assert_eq!(lock.exclusive(), postgres);
    let second = other.try_lock_runs("").await.expect("try");
    assert_eq!(second.is_none(), postgres, "the other replica must wait on PostgreSQL");
    if let Some(second) = second {
        second.release().await;
    }

    // a firing: begun by the lock's holder, written under its fence
    let fired = h(10) + Duration::minutes(5);
    assert!(!store.firing_done("", fired).await.expect("done?"));
    let run = store.begin_fired_run("", "test", Some(fired)).await.expect("begin");
    let (pairs, r) = hour_of_patients(&w, h(10), 0);
    store
        .write_hour_fenced(lock.fence(), "", h(10), run, &w.meta.version, &pairs, &r)
        .await
        .expect("the holder writes");
    // written but not yet finished: not done (the holder may still be going)
    assert!(!store.firing_done("", fired).await.expect("done?"));
    store
        .finish_run(run, Outcome::Ok, &RunReport::default())
        .await
        .expect("finish");
    assert!(store.firing_done("", fired).await.expect("done?"));
    let recorded = store.runs(1).await.expect("runs").remove(0);
    assert_eq!(recorded.fired_at, Some(fired));
    let replica = recorded.replica.expect("the replica is named");
    assert!(replica.ends_with(&format!(":{}", std::process::id())), "{replica}");

    // the holder dies without unlocking (its connection closes): the lock is free
    let fence = lock.fence();
    drop(lock);
    let mut taken = None;
    for _ in 0..50 {
        taken = other.try_lock_runs("").await.expect("try");
        if taken.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let taken = taken.expect("a dead holder's lock is taken over");
    assert_eq!(taken.exclusive(), postgres);

    // the old holder, cut off from its lock, writes nothing
    let late = store.begin_fired_run("", "test", Some(fired)).await.expect("begin");
    let (pairs11, r11) = hour_of_patients(&w, h(11), 1);
    let refused = store
        .write_hour_fenced(fence, "", h(11), late, &w.meta.version, &pairs11, &r11)
        .await;
    if postgres {
        assert!(matches!(refused, Err(Error::LockLost)), "{refused:?}");
        assert!(store.patient_totals(h(11)).await.expect("read").is_empty());
        assert_eq!(store.current_hour().await.expect("current").expect("hour").hour, h(10));
    } else {
        // SQLite is one process's store: nothing to fence
        refused.expect("sqlite writes");
    }
    // the new holder's fence is held: its write commits
    let taking = other.begin_run("test").await.expect("begin");
    other
        .write_hour_fenced(taken.fence(), "", h(11), taking, &w.meta.version, &pairs11, &r11)
        .await
        .expect("the new holder writes");
    let current = other.current_hour().await.expect("current").expect("hour");
    assert_eq!((current.hour, current.run_id), (h(11), taking));
    other
        .finish_run(taking, Outcome::Ok, &RunReport::default())
        .await
        .expect("finish");
    taken.release().await;

    // an interrupted run that wrote nothing leaves its firing to run again
    let next = h(12) + Duration::minutes(5);
    let _dead = other.begin_fired_run("", "test", Some(next)).await.expect("begin");
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    store.close_interrupted_runs("", Utc::now()).await.expect("close");
    assert!(!store.firing_done("", next).await.expect("done?"));
    let failed = store.begin_fired_run("", "test", Some(next)).await.expect("begin");
    store
        .finish_run(
            failed,
            Outcome::Failed,
            &RunReport {
                error: Some("the FHIR server did not answer".into()),
                ..RunReport::default()
            },
        )
        .await
        .expect("finish");
    // a run that failed on its own is the firing's: the next firing tries again
    assert!(store.firing_done("", next).await.expect("done?"));
    other.close().await;
}

async fn audit_entries_are_kept_newest_first(ctx: Ctx) {
    let store = &ctx.store;
    let a = store
        .audit("admin", "weights.record", &serde_json::json!({"version": "2026.1"}))
        .await
        .expect("audit");
    let b = store
        .audit(
            "system",
            "retention.purge",
            &serde_json::json!({"before": "2025-11-23T00:00:00Z", "rows": 3}),
        )
        .await
        .expect("audit");
    assert!(b > a);
    let entries = store.audit_entries(10).await.expect("entries");
    assert_eq!(entries.iter().map(|e| e.id).collect::<Vec<_>>(), [b, a]);
    assert_eq!(
        (entries[1].actor.as_str(), entries[1].action.as_str()),
        ("admin", "weights.record")
    );
    assert_eq!(
        entries[0].detail,
        serde_json::json!({"before": "2025-11-23T00:00:00Z", "rows": 3})
    );
    assert_eq!(store.audit_entries(1).await.expect("one").len(), 1);
}

async fn purge_removes_old_hours_only(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    for (hour, extra) in [(h(9), 0), (h(10), 1), (h(11), 2)] {
        let (pairs, r) = hour_of_patients(&w, hour, extra);
        write(store, &w, hour, &pairs, &r).await;
    }
    let units_per_hour = 1 + 2 + 3 + 1; // hospital, two wards, W1's three teams, W2's one
    let purged = store.purge_before(h(10)).await.expect("purge");
    assert_eq!((purged.patient_hours, purged.unit_hours), (5, units_per_hour));
    let left: Vec<_> = store
        .ward_hours("W1", h(0), h(23))
        .await
        .expect("history")
        .iter()
        .map(|u| u.hour)
        .collect();
    assert_eq!(left, [h(10), h(11)]);
    assert_eq!(store.patient_hours("W1", h(0), h(23)).await.expect("patients").len(), 8);
    assert_eq!(store.purge_before(h(10)).await.expect("again"), Default::default());
    assert_eq!(store.runs(10).await.expect("runs").len(), 3, "runs are kept");
}

async fn api_readers_see_one_hour_across_wards_and_hours(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    for (hour, extra) in [(h(8), 0), (h(9), 1), (h(10), 2)] {
        let (pairs, r) = hour_of_patients(&w, hour, extra);
        write(store, &w, hour, &pairs, &r).await;
    }
    let (pairs, r) = hour_of_patients(&w, h(10), 2);

    // Every ward at one hour, and one ward's hours picked out of many.
    let wards = store.unit_hours_at(Level::Ward, &[h(10)]).await.expect("wards at");
    let got: Vec<(&str, _)> = wards.iter().map(|u| (u.ward.as_str(), u.totals)).collect();
    assert_eq!(got, [("W1", r.wards["W1"].totals), ("W2", r.wards["W2"].totals)]);
    let picked = store
        .unit_hours_at(Level::Hospital, &[h(8), h(10), h(23)])
        .await
        .expect("hours at");
    assert_eq!(picked.iter().map(|u| u.hour).collect::<Vec<_>>(), [h(8), h(10)]);
    assert!(store.unit_hours_at(Level::Ward, &[]).await.expect("none").is_empty());

    // A ward's full rows at one hour, exactly as written.
    let w1 = store.ward_patients("W1", h(10)).await.expect("ward patients");
    let keys: Vec<&str> = w1.iter().map(|(s, _)| s.key.0.as_str()).collect();
    assert_eq!(keys.len(), 4);
    for (s, sc) in &w1 {
        assert!(pairs.contains(&(s.clone(), sc.clone())), "{} round-trips", s.key);
    }
    assert!(store.ward_patients("W1", h(11)).await.expect("empty hour").is_empty());

    // Hospital-wide totals, ascending.
    let totals = store.patient_totals(h(10)).await.expect("totals");
    let mut want: Vec<_> = pairs.iter().map(|(_, sc)| sc.total).collect();
    want.sort();
    assert_eq!(totals, want);

    // Beds seen per ward, or for one ward.
    let beds = store.beds_seen(None, h(8), h(11)).await.expect("beds");
    assert_eq!(beds, BTreeMap::from([("W1".to_owned(), 4), ("W2".to_owned(), 1)]));
    let w2 = store.beds_seen(Some("W2"), h(8), h(11)).await.expect("beds of W2");
    assert_eq!(w2, BTreeMap::from([("W2".to_owned(), 1)]));

    // The latest successful run skips a later failed one.
    assert!(store.latest_successful_run().await.expect("none yet").is_none());
    let ok = store.begin_run("test").await.expect("run");
    store
        .finish_run(ok, Outcome::Ok, &RunReport::default())
        .await
        .expect("finish");
    let failed = store.begin_run("test").await.expect("run");
    store
        .finish_run(failed, Outcome::Failed, &RunReport::default())
        .await
        .expect("finish");
    let latest = store.latest_successful_run().await.expect("latest ok").expect("one");
    assert_eq!(latest.id, ok);
}

async fn activations_pick_the_version_in_force_by_date(ctx: Ctx) {
    let store = &ctx.store;
    let next = WEIGHTS
        .replace("version = \"2026.1\"", "version = \"2027.1\"")
        .replace("effective_from = 2026-01-01", "effective_from = 2027-01-01");
    let w2027 = Weights::from_toml(&next, "2027.1.toml").unwrap();
    let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
    assert_eq!(store.activation_for(d("2027-06-01")).await.unwrap(), None, "none yet");

    let a1 = store
        .activate_weights(&weights(), WEIGHTS, "sekreterare", "VTR 2025-12 §3")
        .await
        .unwrap();
    let a2 = store
        .activate_weights(&w2027, &next, "sekreterare", "VTR 2026-11 §4")
        .await
        .unwrap();
    assert!(a2.id > a1.id);
    let pick = |date: &'static str| async move { store.activation_for(d(date)).await.unwrap().map(|a| a.version) };
    assert_eq!(pick("2025-12-31").await, None, "before any effective date");
    assert_eq!(pick("2026-06-01").await.as_deref(), Some("2026.1"));
    assert_eq!(pick("2027-01-01").await.as_deref(), Some("2027.1"));
    let in_force = store.activation_for(d("2027-01-01")).await.unwrap().unwrap();
    assert_eq!(
        Weights::from_toml(&in_force.weights_toml, "stored").unwrap().digest,
        w2027.digest,
        "the file as decided"
    );

    // each activation is audited with who, when and the reference
    let audit = store.audit_entries(10).await.unwrap();
    let refs: Vec<&str> = audit
        .iter()
        .filter(|e| e.action == "weights.activate")
        .map(|e| e.detail["reference"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(refs, ["VTR 2026-11 §4", "VTR 2025-12 §3"], "newest first");
    assert_eq!(store.activations().await.unwrap().len(), 2);

    // an edited file under a recorded version, or no name, is refused; nothing recorded
    let edited = next.replace("[meta]", "[meta]\n# edited");
    let e = store
        .activate_weights(&Weights::from_toml(&edited, "x").unwrap(), &edited, "x", "y")
        .await;
    assert!(matches!(e, Err(Error::WeightsChanged { .. })), "{e:?}");
    let e = store.activate_weights(&w2027, &next, " ", "y").await;
    assert!(matches!(e, Err(Error::Invalid(_))), "{e:?}");
    assert_eq!(store.activations().await.unwrap().len(), 2);
}

async fn pins_are_set_replaced_and_cleared_with_an_audit_entry_each(ctx: Ctx) {
    let store = &ctx.store;
    let admitted: DateTime<Utc> = "2026-11-21T10:15:00Z".parse().unwrap();
    assert!(store.pins("w1").await.unwrap().is_empty());
    assert!(
        store
            .set_pin("w1", "pk_a", admitted, true, "shift-leader")
            .await
            .unwrap()
    );
    assert!(
        store
            .set_pin("w1", "pk_b", admitted, true, "shift-leader")
            .await
            .unwrap()
    );
    assert!(store.set_pin("w2", "pk_a", admitted, true, "other").await.unwrap());
    let pins = store.pins("w1").await.unwrap();
    assert_eq!(
        pins.iter().map(|p| p.patient_key.as_str()).collect::<Vec<_>>(),
        ["pk_a", "pk_b"]
    );
    assert_eq!(
        pins[0].admitted_at, admitted,
        "the stay's admission round-trips exactly"
    );
    assert_eq!(pins[0].pinned_by, "shift-leader");
    assert!(
        !store
            .set_pin("w1", "pk_b", admitted, true, "someone-else")
            .await
            .unwrap(),
        "the same stay pinned again changes nothing"
    );
    assert_eq!(store.pins("w1").await.unwrap()[1].pinned_by, "shift-leader");
    // a later stay of the same patient replaces the pin
    let later = admitted + Duration::days(30);
    assert!(store.set_pin("w1", "pk_a", later, true, "night-nurse").await.unwrap());
    let pins = store.pins("w1").await.unwrap();
    assert_eq!(pins.len(), 2);
    assert_eq!(
        (pins[0].admitted_at, pins[0].pinned_by.as_str()),
        (later, "night-nurse")
    );
    // unpinning removes one ward's pin only; unpinning again changes nothing
    assert!(store.set_pin("w1", "pk_a", later, false, "night-nurse").await.unwrap());
    assert!(!store.set_pin("w1", "pk_a", later, false, "night-nurse").await.unwrap());
    assert_eq!(store.pins("w1").await.unwrap().len(), 1);
    assert_eq!(store.pins("w2").await.unwrap().len(), 1);
    // every change audited, the no-op not
    let actions: Vec<String> = store
        .audit_entries(20)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "planning.unpin",
            "planning.pin",
            "planning.pin",
            "planning.pin",
            "planning.pin"
        ]
    );
    assert!(matches!(
        store.set_pin("w1", " ", admitted, true, "x").await,
        Err(Error::Invalid(_))
    ));
}

/// The segments (unbroken runs of a patient's hours on a ward and team)
/// that distinct-patient counts read: kept by every hourly write through
/// gaps, team moves, re-runs and late hours, rebuilt the same by the
/// migration's own statement from the patient rows, and counted per period.
async fn distinct_patients_are_counted_from_segments(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    // p1 on W1/A at 9–12 (moves to team B at 11), p2 on W1/A at 9 and 11
    // (away at 10), p3 on W2 at 10 only
    let at = |hour: u32| -> Vec<Snapshot> {
        let mut v = Vec::new();
        if hour <= 12 {
            let team = if hour >= 11 { "B" } else { "A" };
            v.push(patient("p1", "W1", Some(team), "1", h(hour), 1));
        }
        if hour == 9 || hour == 11 {
            v.push(patient("p2", "W1", Some("A"), "2", h(hour), 2));
        }
        if hour == 10 {
            v.push(patient("p3", "W2", None, "1", h(hour), 3));
        }
        v
    };
    for hour in [9, 10, 12] {
        let (pairs, r) = scored(&w, at(hour));
        write(store, &w, h(hour), &pairs, &r).await;
    }
    // hour 11 late, then hour 10 re-run: neither may double a segment
    for hour in [11, 10] {
        let (pairs, r) = scored(&w, at(hour));
        write(store, &w, h(hour), &pairs, &r).await;
    }
    let periods = [
        (h(9), h(10)),
        (h(10), h(11)),
        (h(11), h(12)),
        (h(9), h(13)),
        (h(13), h(14)),
    ];
    let count = |units: &[careload_store::DistinctPatients]| -> Vec<(String, String, u64)> {
        units
            .iter()
            .map(|d| (d.ward.clone(), d.team.clone(), d.patients))
            .collect()
    };
    let wards = store.distinct_patients_in(Level::Ward, None, &periods).await.unwrap();
    let all: Vec<Vec<(String, String, u64)>> = wards.iter().map(|u| count(u)).collect();
    let row = |ward: &str, n: u64| (ward.to_owned(), String::new(), n);
    assert_eq!(all[0], [row("W1", 2)], "9–10: p1 and p2");
    assert_eq!(all[1], [row("W1", 1), row("W2", 1)], "10–11: p1 on W1, p3 on W2");
    assert_eq!(all[2], [row("W1", 2)], "11–12: p1 and p2 back");
    assert_eq!(all[3], [row("W1", 2), row("W2", 1)], "9–13: each patient once");
    assert!(all[4].is_empty(), "13–14: nobody");
    let teams = store
        .distinct_patients_in(Level::Team, Some(&["W1".to_owned()]), &periods[3..4])
        .await
        .unwrap();
    assert_eq!(
        count(&teams[0]),
        [
            ("W1".to_owned(), "A".to_owned(), 2),
            ("W1".to_owned(), "B".to_owned(), 1)
        ],
        "a patient who changed team counts once in each"
    );
    let hospital = store
        .distinct_patients_in(Level::Hospital, None, &periods[3..4])
        .await
        .unwrap();
    assert_eq!(count(&hospital[0]), [(String::new(), String::new(), 3)]);

    // the graphs' packed reader gives each patient's hours as the row reader does
    let series = store.ward_patient_series("W1", h(9), h(13)).await.unwrap();
    let mut regrouped: Vec<(PatientKey, Vec<_>)> = Vec::new();
    let mut rows = store.ward_patient_totals("W1", h(9), h(13)).await.unwrap();
    rows.sort_by(|a, b| (&a.1.0, a.0).cmp(&(&b.1.0, b.0)));
    for (hour, key, total) in rows {
        match regrouped.last_mut() {
            Some((k, points)) if *k == key => points.push((hour, total)),
            _ => regrouped.push((key, vec![(hour, total)])),
        }
    }
    assert_eq!(series, regrouped);
    let hours: Vec<Vec<_>> = series.iter().map(|(_, p)| p.iter().map(|x| x.0).collect()).collect();
    assert_eq!(
        hours,
        [vec![h(9), h(10), h(11), h(12)], vec![h(9), h(11)]],
        "p1 every hour, p2 at 9 and 11"
    );

    // the migration builds the same segments from the patient rows alone
    let migration = if ctx.url.starts_with("sqlite:") {
        include_str!("../migrations/sqlite/20261202010000_patient_segments.sql")
    } else {
        include_str!("../migrations/postgres/20261202010000_patient_segments.sql")
    };
    let backfill = &migration[migration
        .find("INSERT INTO patient_segments")
        .expect("backfill statement")..];
    let before = store.distinct_patients_in(Level::Team, None, &periods).await.unwrap();
    sql(&ctx.url, &format!("DELETE FROM patient_segments; {backfill}")).await;
    assert_eq!(
        store.distinct_patients_in(Level::Team, None, &periods).await.unwrap(),
        before
    );
    assert_eq!(
        sql_count(&ctx.url, "SELECT COUNT(*) FROM patient_segments").await,
        5,
        "p1 A, p1 B, p2 twice, p3"
    );

    // retention drops the segments that end before the cutoff
    store.purge_before(h(11)).await.unwrap();
    assert_eq!(
        sql_count(&ctx.url, "SELECT COUNT(*) FROM patient_segments").await,
        2,
        "p1 B and p2 at 11 stay"
    );
    // a segment across the cutoff starts at it: nobody counted before it
    store.purge_before(h(12)).await.unwrap();
    let after = store.distinct_patients_in(Level::Ward, None, &periods).await.unwrap();
    let after: Vec<Vec<(String, String, u64)>> = after.iter().map(|u| count(u)).collect();
    assert!(after[2].is_empty(), "11–12 is purged: {after:?}");
    assert_eq!(after[3], [row("W1", 1)], "9–13: p1 at 12 only");
}

/// The back-test's read of one hour: every row with its stored sums and
/// snapshot, packed into one value on the way out; a row that would not
/// unpack (a weights version holding the field separator) makes the read
/// fall back to row by row, with the same answer.
async fn an_hour_of_stored_patients_reads_back_for_rescoring(ctx: Ctx) {
    let store = &ctx.store;
    let w = weights();
    let (pairs, r) = hour_of_patients(&w, h(9), 0);
    write(store, &w, h(9), &pairs, &r).await;
    write(store, &w, h(10), &pairs, &r).await;
    assert!(
        store.stored_patient_hours(h(11)).await.unwrap().is_empty(),
        "no rows, none read"
    );
    // the rows of 10:00 as a careload before the binary form wrote them: JSON
    for (snapshot, _) in &pairs {
        let json = serde_json::to_string(snapshot).unwrap().replace('\'', "''");
        let set = if ctx.url.starts_with("sqlite:") {
            format!("snapshot = '{json}'")
        } else {
            format!("snapshot = '{json}'::jsonb, snapshot_bin = NULL")
        };
        sql(
            &ctx.url,
            &format!(
                "UPDATE patient_hours SET {set} WHERE patient_key = '{}' \
                 AND hour > (SELECT min(hour) FROM patient_hours)",
                snapshot.key
            ),
        )
        .await;
    }
    let binary = "SELECT count(*) FROM patient_hours WHERE ";
    let (binary, json) = if ctx.url.starts_with("sqlite:") {
        (
            format!("{binary} typeof(snapshot) = 'blob'"),
            format!("{binary} typeof(snapshot) = 'text'"),
        )
    } else {
        (
            format!("{binary} snapshot_bin IS NOT NULL AND snapshot IS NULL"),
            format!("{binary} snapshot IS NOT NULL AND snapshot_bin IS NULL"),
        )
    };
    assert_eq!(
        sql_count(&ctx.url, &binary).await,
        pairs.len() as i64,
        "9:00 stored in binary"
    );
    assert_eq!(
        sql_count(&ctx.url, &json).await,
        pairs.len() as i64,
        "10:00 stored as JSON"
    );

    for hour in [h(9), h(10)] {
        let mut rows = store.stored_patient_hours(hour).await.unwrap();
        let mut back: Vec<(Snapshot, StoredPatientHour)> = rows
            .drain(..)
            .map(|row| (careload_store::read_snapshot(&row.snapshot).unwrap(), row))
            .collect();
        back.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        assert_eq!(back.len(), pairs.len(), "{hour}");
        let mut expected: Vec<&(Snapshot, Score)> = pairs.iter().collect();
        expected.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        for ((snapshot_back, row), (snapshot, score)) in back.iter().zip(expected) {
            assert_eq!(snapshot_back, snapshot, "{hour}");
            assert_eq!(row.ward, snapshot.placement.ward);
            assert_eq!(row.team, snapshot.placement.team);
            assert_eq!(
                (row.total, row.professions, row.components),
                (score.total, score.professions, score.components)
            );
            assert_eq!(row.weights_version, w.meta.version);
            // the API's readers see either form the same
            let (one, one_score) = store.patient_snapshot(hour, &snapshot.key).await.unwrap().unwrap();
            assert_eq!((&one, &one_score), (snapshot, score), "{hour}");
        }
        let ward: Vec<Snapshot> = store
            .ward_patients("W1", hour)
            .await
            .unwrap()
            .into_iter()
            .map(|(s, _)| s)
            .collect();
        assert_eq!(ward.len(), 4, "{hour}");
    }

    let damaged = careload_store::read_snapshot(b"\xca\x01\x00").unwrap_err();
    assert!(
        damaged.to_string().contains("a stored snapshot cannot be read"),
        "{damaged}"
    );
    let newer = careload_store::read_snapshot(b"\xca\x09").unwrap_err();
    assert!(newer.to_string().contains("upgrade careload"), "{newer}");
}

// ------------------------------------------------------ PostgreSQL only

/// The pool of a PostgreSQL-only chapter's store.
fn postgres_pool(ctx: &Ctx) -> &sqlx::PgPool {
    ctx.store
        .postgres_pool()
        .expect("a PostgreSQL-only chapter runs on PostgreSQL")
}

/// The hourly write creates the month's partition of `patient_hours` when
/// it is missing, and finds it when it is there.
async fn rows_land_in_their_monthly_partition(ctx: Ctx) {
    let pool = postgres_pool(&ctx);
    let (store, w) = (&ctx.store, weights());
    let december: DateTime<Utc> = "2026-12-31T23:00:00Z".parse().expect("hour");
    for hour in [h(10), december] {
        let (pairs, r) = hour_of_patients(&w, hour, 0);
        write(store, &w, hour, &pairs, &r).await;
    }
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT tableoid::regclass::text, count(*) FROM patient_hours GROUP BY 1 ORDER BY 1")
            .fetch_all(pool)
            .await
            .expect("partitions");
    assert_eq!(
        rows,
        [
            ("patient_hours_y2026m11".to_owned(), 5),
            ("patient_hours_y2026m12".to_owned(), 5)
        ]
    );
    // Writing the month again finds its partition and does not fail.
    let (pairs, r) = hour_of_patients(&w, h(11), 0);
    write(store, &w, h(11), &pairs, &r).await;
}

/// Retention drops whole months of patient history (their partitions)
/// before it deletes the rest row by row, and never a table it did not make.
/// SQLite has no partitions: `purge_removes_old_hours_only` is its retention.
async fn retention_drops_whole_months(ctx: Ctx) {
    let pool = postgres_pool(&ctx);
    let (store, w) = (&ctx.store, weights());
    let at = |s: &str| -> DateTime<Utc> { s.parse().expect("hour") };
    for hour in [at("2026-09-30T23:00:00Z"), at("2026-10-15T12:00:00Z"), h(10), h(11)] {
        let (pairs, r) = hour_of_patients(&w, hour, 0);
        write(store, &w, hour, &pairs, &r).await;
    }
    // Up to 11:00 on 23 November: September and October go whole, 10:00 row by row.
    let purged = store.purge_before(h(11)).await.expect("purge");
    assert_eq!((purged.partitions_dropped, purged.patient_hours), (2, 15));
    let partitions: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
         WHERE i.inhparent = 'patient_hours'::regclass ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("partitions");
    assert_eq!(partitions, ["patient_hours_default", "patient_hours_y2026m11"]);
    assert_eq!(
        store
            .patient_hours("W1", at("2026-01-01T00:00:00Z"), h(23))
            .await
            .expect("left")
            .len(),
        4
    );
    // An operator's own table attached as a partition is never dropped by name.
    sqlx::query(
        "CREATE TABLE patient_hours_y2020m01_copy PARTITION OF patient_hours \
         FOR VALUES FROM ('2020-01-01 00:00:00+00') TO ('2020-02-01 00:00:00+00')",
    )
    .execute(pool)
    .await
    .expect("operator's partition");
    assert_eq!(store.purge_before(h(11)).await.expect("again").partitions_dropped, 0);
}

/// A shift rating for the ratings chapter: ward W1's day shift starting at
/// `start`, received an hour after it ended.
fn rating(start: DateTime<Utc>, team: Option<&str>, rating: i8) -> careload_store::NewRating {
    use careload_scoring::snapshot::Profession;
    careload_store::NewRating {
        ward: "W1".into(),
        team: team.map(str::to_owned),
        shift_start: start,
        shift: "day".into(),
        profession: (rating >= 0).then_some(Profession::Ssk),
        rating,
        source: careload_store::RatingSource::Phone,
        received_at: start + Duration::hours(9),
    }
}

async fn shift_ratings_are_stored_checked_imported_whole_and_counted(ctx: Ctx) {
    use careload_store::RatingSource;
    let store = &ctx.store;
    // put one by one, out of order: they read back by shift start, then as received
    let later = store.put_rating(&rating(h(14), None, 1)).await.expect("put");
    let first = store.put_rating(&rating(h(6), Some("A"), -3)).await.expect("put");
    let second = store.put_rating(&rating(h(6), Some("B"), 3)).await.expect("put");
    assert!(first < second && later < first, "ids in the order received");
    let mut other_ward = rating(h(6), None, 0);
    other_ward.ward = "W2".into();
    store.put_rating(&other_ward).await.expect("put W2");
    let read = store.ratings("W1", h(0), h(23)).await.expect("ratings");
    let got: Vec<_> = read
        .iter()
        .map(|r| (r.id, r.rating.shift_start, r.rating.team.as_deref(), r.rating.rating))
        .collect();
    assert_eq!(
        got,
        [
            (first, h(6), Some("A"), -3),
            (second, h(6), Some("B"), 3),
            (later, h(14), None, 1)
        ]
    );
    assert_eq!(read[0].rating, rating(h(6), Some("A"), -3), "every field reads back");
    assert_eq!(
        read[1].rating.profession,
        Some(careload_scoring::snapshot::Profession::Ssk)
    );
    assert_eq!(read[0].rating.profession, None);
    assert_eq!(read[0].rating.source, RatingSource::Phone);
    assert_eq!(
        store.ratings("W1", h(7), h(14)).await.expect("none").len(),
        0,
        "[from, to) by start"
    );
    assert_eq!(store.ratings("W1", h(14), h(15)).await.expect("one").len(), 1);

    // the database itself refuses a rating outside −3 … +3
    for bad in [4, -4] {
        match store.put_rating(&rating(h(6), None, bad)).await {
            Err(Error::Constraint { kind: "check", .. }) => {}
            other => panic!("rating {bad} must break the CHECK, got {other:?}"),
        }
    }
    assert_eq!(
        store.rating_count("W1", h(6)).await.expect("count"),
        2,
        "nothing of a refused rating"
    );

    // the paper import: all or nothing
    let mut sheet: Vec<_> = (0..5).map(|i| rating(h(22), None, i - 2)).collect();
    sheet.push(rating(h(22), Some("A"), 4));
    match store.put_ratings(&sheet).await {
        Err(Error::Constraint { kind: "check", .. }) => {}
        other => panic!("a sheet with a rating of 4 must be refused, got {other:?}"),
    }
    assert_eq!(
        store.rating_count("W1", h(22)).await.expect("count"),
        0,
        "rolled back whole"
    );
    sheet.pop();
    for r in &mut sheet {
        r.source = RatingSource::PaperImport;
    }
    assert_eq!(store.put_ratings(&sheet).await.expect("import"), 5);
    assert_eq!(store.put_ratings(&[]).await.expect("empty import"), 0);

    // counts per shift, per ward
    assert_eq!(store.rating_count("W1", h(6)).await.expect("count"), 2);
    assert_eq!(store.rating_count("W1", h(14)).await.expect("count"), 1);
    assert_eq!(store.rating_count("W1", h(22)).await.expect("count"), 5);
    assert_eq!(store.rating_count("W2", h(6)).await.expect("count"), 1);
    assert_eq!(store.rating_count("W1", h(7)).await.expect("count"), 0);
    let imported = store.ratings("W1", h(22), h(23)).await.expect("imported");
    assert!(imported.iter().all(|r| r.rating.source == RatingSource::PaperImport));
    assert_eq!(
        imported.iter().map(|r| r.rating.rating).collect::<Vec<_>>(),
        [-2, -1, 0, 1, 2]
    );

    // no column says who: the table is anonymous by construction
    let columns = if ctx.url.starts_with("sqlite:") {
        "SELECT count(*) FROM pragma_table_info('shift_ratings')"
    } else {
        "SELECT count(*) FROM information_schema.columns WHERE table_name = 'shift_ratings'"
    };
    assert_eq!(
        sql_count(&ctx.url, columns).await,
        9,
        "id, ward, team, shift_start, shift, profession, rating, source, received_at"
    );

    // retention: ratings of shifts that started before the cutoff go
    let purged = store.purge_before(h(14)).await.expect("purge");
    assert_eq!(purged.shift_ratings, 3, "W1's two and W2's one of the 06:00 shift");
    assert_eq!(store.ratings("W1", h(0), h(23)).await.expect("left").len(), 6);
    assert_eq!(store.rating_count("W2", h(6)).await.expect("count"), 0);
}

/// Several sources (issue 29): each writes and replaces only its own rows of
/// an hour, keeps its own hour, lock and firings; the hospital's row sums
/// them all; a ward two sources claim is refused.
async fn sources_write_their_own_rows_of_an_hour(ctx: Ctx) {
    let (store, w) = (&ctx.store, weights());
    store.record_weights(&w).await.expect("weights");
    let postgres = ctx.url.starts_with("postgres");
    let nord = |hour, extra: u8| {
        scored(
            &w,
            vec![
                patient("n1", "nord-A", Some("1"), "1", hour, 1 + extra),
                patient("n2", "nord-A", None, "2", hour, 2 + extra),
            ],
        )
    };
    let syd = |hour, extra: u8| scored(&w, vec![patient("s1", "syd-A", Some("1"), "1", hour, 3 + extra)]);
    let write_as = |source: &'static str, hour, (pairs, r): (Vec<(Snapshot, Score)>, Rollup)| {
        let store = store.clone();
        let version = w.meta.version.clone();
        async move {
            let run = store.begin_fired_run(source, "test", None).await.expect("begin");
            let written = store
                .write_hour_fenced(None, source, hour, run, &version, &pairs, &r)
                .await;
            let outcome = if written.is_ok() { Outcome::Ok } else { Outcome::Failed };
            store
                .finish_run(run, outcome, &RunReport::default())
                .await
                .expect("finish");
            written.map(|()| r.hospital)
        }
    };
    let ward_rows = |hour| {
        let store = store.clone();
        async move {
            let mut rows: Vec<(String, String, u32)> = store
                .unit_hours_at(Level::Ward, &[hour])
                .await
                .expect("wards")
                .into_iter()
                .map(|u| (u.ward, u.source_id, u.totals.patients))
                .collect();
            rows.sort();
            rows
        }
    };

    // hour 10: both write; each one's wards are its own, the hospital sums both
    let n10 = write_as("nord", h(10), nord(h(10), 0)).await.expect("nord 10");
    let s10 = write_as("syd", h(10), syd(h(10), 0)).await.expect("syd 10");
    assert_eq!(
        ward_rows(h(10)).await,
        [("nord-A".into(), "nord".into(), 2), ("syd-A".into(), "syd".into(), 1)]
    );
    let mut both = n10;
    both.merge(&s10);
    let hospital = store.hospital_hours(h(10), h(11)).await.expect("hospital");
    assert_eq!(hospital.len(), 1);
    assert_eq!(hospital[0].totals, both, "the hospital's row sums every source's wards");
    assert_eq!(hospital[0].source_id, "");

    // nord re-runs hour 10 with other patients' load: syd's rows stay
    let n10b = write_as("nord", h(10), nord(h(10), 2)).await.expect("nord again");
    assert_eq!(
        ward_rows(h(10)).await.len(),
        2,
        "a source's re-run must not delete another's rows"
    );
    let mut both = n10b;
    both.merge(&s10);
    assert_eq!(
        store.hospital_hours(h(10), h(11)).await.expect("hospital")[0].totals,
        both
    );
    assert_eq!(store.ward_patients("syd-A", h(10)).await.expect("syd").len(), 1);

    // hour 11: only nord writes (syd's source is down): syd stays at 10
    write_as("nord", h(11), nord(h(11), 0)).await.expect("nord 11");
    assert_eq!(
        store.source_hour("nord").await.expect("nord").map(|c| c.hour),
        Some(h(11))
    );
    assert_eq!(
        store.source_hour("syd").await.expect("syd").map(|c| c.hour),
        Some(h(10))
    );
    assert_eq!(
        store.current_hour().await.expect("current").map(|c| c.hour),
        Some(h(11))
    );
    assert_eq!(ward_rows(h(11)).await, [("nord-A".into(), "nord".into(), 2)]);
    assert_eq!(store.first_source_hour("syd").await.expect("first"), Some(h(10)));
    assert_eq!(store.first_source_hour("none").await.expect("first"), None);
    let wards: BTreeMap<String, Option<String>> = store
        .wards()
        .await
        .expect("wards")
        .into_iter()
        .map(|w| (w.ward, w.source_id))
        .collect();
    assert_eq!(wards["syd-A"].as_deref(), Some("syd"));
    assert_eq!(wards["nord-A"].as_deref(), Some("nord"));

    // what every live source has written: syd's 10 (nord is at 11)
    assert_eq!(store.settled_hour().await.expect("settled"), Some(h(10)));

    // a late hour of syd does not move the current hour back
    write_as("syd", h(9), syd(h(9), 0)).await.expect("syd 9");
    assert_eq!(
        store.source_hour("syd").await.expect("syd").map(|c| c.hour),
        Some(h(10))
    );
    assert_eq!(
        store.current_hour().await.expect("current").map(|c| c.hour),
        Some(h(11))
    );

    // a ward that nord wrote in hour 11 is refused to syd, and nothing of syd's write is kept
    let clash = scored(&w, vec![patient("s9", "nord-A", None, "9", h(11), 1)]);
    let refused = write_as("syd", h(11), clash).await.expect_err("a ward of two sources");
    let message = refused.to_string();
    assert!(
        message.contains("nord-A") && message.contains("\"nord\"") && message.contains("ward_prefix"),
        "{message}"
    );
    assert_eq!(ward_rows(h(11)).await, [("nord-A".into(), "nord".into(), 2)]);
    assert_eq!(
        store.source_hour("syd").await.expect("syd").map(|c| c.hour),
        Some(h(10))
    );

    // runs, firings and locks are each source's own
    assert_eq!(
        store.latest_source_run("syd").await.expect("run").map(|r| r.outcome),
        Some(Some(Outcome::Failed))
    );
    assert_eq!(
        store
            .latest_source_run("nord")
            .await
            .expect("run")
            .map(|r| (r.source_id, r.outcome)),
        Some(("nord".into(), Some(Outcome::Ok)))
    );
    let fired = h(12) + Duration::minutes(5);
    let run = store.begin_fired_run("nord", "test", Some(fired)).await.expect("begin");
    store
        .finish_run(run, Outcome::Ok, &RunReport::default())
        .await
        .expect("finish");
    assert!(store.firing_done("nord", fired).await.expect("done?"));
    assert!(
        !store.firing_done("syd", fired).await.expect("done?"),
        "nord's firing is not syd's"
    );
    // a run that wrote an hour with nobody in it, then died, wrote its hour
    let empty = store.begin_fired_run("syd", "test", None).await.expect("begin");
    let (none, r0) = scored(&w, Vec::new());
    store
        .write_hour_fenced(None, "syd", h(11), empty, &w.meta.version, &none, &r0)
        .await
        .expect("an hour of nobody");
    let closed = store
        .close_interrupted_runs("syd", Utc::now() + Duration::seconds(1))
        .await
        .expect("close");
    assert_eq!(closed, [(empty, true)], "its hour is the source's hour: written");
    // a source far behind is down: not waited for
    assert_eq!(store.settled_hour().await.expect("settled"), Some(h(11)));
    write_as("nord", h(14), nord(h(14), 0)).await.expect("nord 14");
    assert_eq!(
        store.settled_hour().await.expect("settled"),
        Some(h(14)),
        "syd at 11 is more than SOURCE_DOWN_HOURS behind"
    );

    // a source closes only its own dead runs: syd's run going on is left to it
    let going = store.begin_fired_run("syd", "test", None).await.expect("begin");
    let closed = store
        .close_interrupted_runs("nord", Utc::now() + Duration::seconds(1))
        .await
        .expect("close");
    assert!(closed.is_empty(), "{closed:?}");
    let closed = store
        .close_interrupted_runs("syd", Utc::now() + Duration::seconds(1))
        .await
        .expect("close");
    assert_eq!(closed.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [going]);
    let other = Store::connect(&ctx.url).await.expect("second connection");
    let nord_lock = store.try_lock_runs("nord").await.expect("lock").expect("free");
    let syd_lock = other.try_lock_runs("syd").await.expect("lock");
    assert!(syd_lock.is_some(), "one source's lock must not hold another's runs");
    assert_eq!(other.try_lock_runs("nord").await.expect("try").is_none(), postgres);
    assert_ne!(
        careload_store::run_lock_key("nord"),
        careload_store::run_lock_key("syd")
    );
    assert_eq!(careload_store::run_lock_key(""), careload_store::RUN_LOCK_KEY);
    nord_lock.release().await;
    if let Some(l) = syd_lock {
        l.release().await;
    }
}

/// Runs statements on the test database directly.
async fn sql(url: &str, statements: &str) {
    use sqlx::{Connection, Executor};
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        c.execute(statements).await.unwrap();
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        c.execute(statements).await.unwrap();
    }
}

/// One number from the test database.
async fn sql_count(url: &str, query: &str) -> i64 {
    use sqlx::Connection;
    if url.starts_with("sqlite:") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(query).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(query).fetch_one(&mut c).await.unwrap()
    }
}

careload_testkit::on_every_backend!(
    activations_pick_the_version_in_force_by_date,
    an_hour_of_stored_patients_reads_back_for_rescoring,
    migrations_apply_and_reconnect_is_a_noop,
    write_hour_then_read_every_level_back,
    rerunning_an_hour_replaces_it,
    ward_history_is_ordered_and_an_older_hour_does_not_become_current,
    a_failed_write_keeps_the_previous_hour_whole,
    runs_and_weights_are_recorded,
    runs_left_unfinished_are_closed_as_interrupted,
    the_run_lock_lets_one_replica_write_an_hour,
    sources_write_their_own_rows_of_an_hour,
    audit_entries_are_kept_newest_first,
    purge_removes_old_hours_only,
    api_readers_see_one_hour_across_wards_and_hours,
    wards_teams_and_beds_are_kept_from_placements_and_config,
    a_replicated_hour_fills_history_for_benchmarks,
    planned_staffing_is_stored_whole_and_replaced_by_key,
    pins_are_set_replaced_and_cleared_with_an_audit_entry_each,
    distinct_patients_are_counted_from_segments,
    shift_ratings_are_stored_checked_imported_whole_and_counted;
    postgres only:
    rows_land_in_their_monthly_partition,
    retention_drops_whole_months,
);
