//! The scheduled forecast's past errors from the store
//! (`careload_app::forecast`) on every backend: six weeks of stored hours of
//! ward w1 (team A) in which ten patients stay throughout and three more
//! arrive every day at 10:00 local and leave at 14:00 — work the schedule
//! cannot see before it arrives, so the day shift (07–15) always turns out
//! heavier than forecast from the hours before 10:00. One hour is not
//! stored (a failed run). The hospital is in Europe/Stockholm (UTC+1 in
//! November and December).

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::sync::Arc;

use careload_app::App;
use careload_app::forecast::{Learner, Scope, backtest, lead_hours};
use careload_app::planning::ward_shifts;
use careload_config::{Config, WardConfig};
use careload_planning::PlannedStaffing;
use careload_scoring::snapshot::{EmotionalSupport, PatientKey, Profession, SupportLevel};
use careload_scoring::{Snapshot, Weights, rollup, score_now};
use careload_store::Store;
use chrono::{DateTime, Duration, NaiveDate, Utc};

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");

/// Monday 2 November 2026, 00:00 local.
const FIRST_HOUR: &str = "2026-11-01T23:00:00Z";
const MISSING_HOUR: i64 = 300;

fn app(store: Store) -> App {
    let mut c = Config::default();
    c.scoring.time_zone = "Europe/Stockholm".into();
    c.wards.insert("w1".into(), WardConfig::default());
    let weights = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    App::try_new(store, Arc::new(c), Arc::new(weights)).expect("app")
}

fn patient(i: u32, as_of: DateTime<Utc>) -> Snapshot {
    let mut s = Snapshot::new(PatientKey(format!("p{i}")), as_of, as_of - Duration::days(1), "w1");
    // the day's arrivals are team B's: B is empty outside 10–14
    s.placement.team = Some(if i >= 100 { "w1-b" } else { "w1-a" }.into());
    s.emotional_support = Some(EmotionalSupport {
        level: SupportLevel::Hourly,
        assessed_at: as_of - Duration::hours(1),
        source: None,
    });
    s
}

/// Writes `weeks` weeks of hours from [`FIRST_HOUR`].
async fn write_weeks(app: &App, weeks: i64) {
    let w = app.weights();
    app.store.record_weights(&w).await.expect("record weights");
    let first: DateTime<Utc> = FIRST_HOUR.parse().unwrap();
    for h in 0..weeks * 168 {
        if h == MISSING_HOUR {
            continue;
        }
        let hour = first + Duration::hours(h);
        let local = h % 24; // the first hour is 00:00 local
        let as_of = hour + Duration::minutes(5);
        let mut present: Vec<u32> = (0..10).collect();
        if (10..14).contains(&local) {
            present.extend([100, 101, 102].map(|k| k + 3 * u32::try_from(h / 24).unwrap()));
        }
        store_hour(app, hour, present.iter().map(|&i| patient(i, as_of)).collect()).await;
    }
}

/// Scores `patients` under the weights in force and stores them as `hour`.
async fn store_hour(app: &App, hour: DateTime<Utc>, patients: Vec<Snapshot>) {
    let w = app.weights();
    let pairs: Vec<_> = patients
        .into_iter()
        .map(|s| {
            let sc = score_now(&s, &w);
            (s, sc)
        })
        .collect();
    let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
    let run = app.store.begin_run("test").await.expect("run");
    app.store
        .write_hour(hour, run, &w.meta.version, &pairs, &r)
        .await
        .expect("write hour");
}

async fn the_day_shift_turns_out_heavier_than_scheduled(store: Store) {
    let app = app(store);
    write_weeks(&app, 6).await;
    let first: DateTime<Utc> = FIRST_HOUR.parse().unwrap();
    let end = first + Duration::weeks(6);
    let mut learner = Learner::default();
    let forget = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    learner.learn(&app, first, end, forget).await.expect("learn");
    assert_eq!(learner.hours, 6 * 168 - 1);
    assert!(learner.gaps > 0, "the missing hour leaves out the shifts around it");
    let ward = learner.model(&Scope::ward("w1")).expect("the ward's errors");
    let team = learner.model(&Scope::team("w1", "w1-a")).expect("the team's errors");
    assert_eq!(ward.samples().len(), team.samples().len());
    // team B empty for a whole evening shift: stored hours with no row of
    // its own are 0 points, not a gap
    let b = learner.model(&Scope::team("w1", "w1-b")).expect("team B's errors");
    assert!(
        b.samples()
            .iter()
            .any(|s| s.shift == "evening" && s.realised.usk.milli() == 0),
        "an evening with nobody in team B is a sample of 0 points"
    );
    // forecasts of a day shift made before the arrivals at 10:00 miss them
    let early = ward
        .samples()
        .iter()
        .filter(|s| s.shift == "day" && s.lead >= 1)
        .collect::<Vec<_>>();
    assert!(!early.is_empty());
    for s in &early {
        assert!(s.realised.usk > s.scheduled.usk, "{s:?}");
    }
    // the incremental learner matches one learning everything at once
    let mut twice = Learner::default();
    twice
        .learn(&app, first, first + Duration::weeks(3), forget)
        .await
        .expect("first half");
    twice.learn(&app, first, end, forget).await.expect("second half");
    assert_eq!(
        twice.model(&Scope::ward("w1")).unwrap().samples().len(),
        ward.samples().len()
    );

    // the next day shift (07:00 local, 3 hours on), forecast from the hour
    // stored at 04:05 local: P50 above the schedule by the arrivals
    let now = end + Duration::hours(4) + Duration::minutes(10);
    // the hours up to now are stored as every day's
    let date = (end + Duration::hours(1)).with_timezone(&app.tz()).date_naive();
    let rows = vec![
        PlannedStaffing {
            ward: "w1".into(),
            team: None,
            date,
            shift: "day".into(),
            profession: Profession::Usk,
            planned: 1,
            absent: 0,
        },
        PlannedStaffing {
            ward: "w1".into(),
            team: None,
            date,
            shift: "day".into(),
            profession: Profession::Ssk,
            planned: 1,
            absent: 0,
        },
    ];
    app.store
        .put_planned_staffing(&rows, "test", "api")
        .await
        .expect("plan");
    write_weeks_tail(&app, end, 5).await;
    let shifts = ward_shifts(&app, "w1", now).await.expect("shifts");
    assert_eq!(shifts.forecast.len(), 2);
    let day = &shifts.forecast[0];
    assert_eq!(day.shift, "day");
    assert_eq!(
        day.lead_hours,
        lead_hours(
            end + Duration::hours(4) + Duration::minutes(5),
            end + Duration::hours(7)
        )
    );
    let p = &day.ward.prediction;
    assert!(!p.young, "{:?}", p.reason);
    assert!(p.basis.weeks >= 4, "{:?}", p.basis);
    // the ward's flow learnt from the same hours: three come during 09–10
    // (in the 10:00 census) and leave during 13–14 every day — a share 3/13
    // of the thirteen present at 13:00 — and nobody comes or goes before the
    // day shift
    let flow = day.flow.as_ref().expect("the ward's flow");
    assert!(!flow.young && flow.weeks >= 4, "{flow:?}");
    assert_eq!(flow.census_now, 10);
    assert!((flow.census_at_start - 10.0).abs() < 1e-9, "{flow:?}");
    assert!((flow.arrivals - 3.0).abs() < 1e-9, "{flow:?}");
    assert!((flow.departures - 10.0 * 3.0 / 13.0).abs() < 1e-9, "{flow:?}");
    assert!(
        flow.new_patient_points.is_some_and(|n| n > 0.0) && flow.mean_points.is_some(),
        "{flow:?}"
    );
    assert!(
        p.total.points.p50 > p.scheduled.usk + p.scheduled.ssk,
        "P50 {:?} over the schedule {:?}",
        p.total.points,
        p.scheduled
    );
    assert!(p.total.points.p10 <= p.total.points.p50 && p.total.points.p50 <= p.total.points.p90);
    let risk = day.ward.risk.as_ref().expect("planned: a risk");
    assert!(risk.text.starts_with("risk för underbemanning "), "{}", risk.text);
    // the bed coordinator judges the shift at its P90: a smaller margin than
    // the planning page's scheduled need leaves
    let adm = careload_app::planning::admissions(&app, now).await.expect("admissions");
    let margin = adm.wards[0].margin_people.expect("a plan: a margin");
    let assumption = app.settings().admission;
    let scheduled_margin = shifts
        .shifts
        .iter()
        .flat_map(|a| {
            let f = a.factors;
            [
                (a.ward.usk.gap_people, assumption.usk_points_per_hour.times(f.usk)),
                (a.ward.ssk.gap_people, assumption.ssk_points_per_hour.times(f.ssk)),
            ]
        })
        .filter_map(|(gap, added)| gap.map(|g| g.milli() - added.milli()))
        .min()
        .expect("a planned shift");
    assert!(
        margin.milli() < scheduled_margin,
        "margin {margin:?} at P90 vs {scheduled_margin} thousandths at the schedule"
    );
    assert_eq!(day.teams.len(), 1);
    assert_eq!(day.teams[0].name, "Vårdlag A");
    assert!(day.teams[0].risk.is_none(), "the team has no plan of its own");
}

/// Writes the hours of the steady ten patients from `from` for `hours` hours.
async fn write_weeks_tail(app: &App, from: DateTime<Utc>, hours: i64) {
    for h in 0..hours {
        let hour = from + Duration::hours(h);
        let as_of = hour + Duration::minutes(5);
        store_hour(app, hour, (0..10).map(|i| patient(i, as_of)).collect()).await;
    }
}

async fn three_weeks_are_too_young_and_say_so(store: Store) {
    let app = app(store);
    write_weeks(&app, 3).await;
    let first: DateTime<Utc> = FIRST_HOUR.parse().unwrap();
    let now = first + Duration::weeks(3) - Duration::minutes(30);
    let shifts = ward_shifts(&app, "w1", now).await.expect("shifts");
    let p = &shifts.forecast[0].ward.prediction;
    assert!(p.young);
    assert_eq!(p.total.points.p10, p.total.points.p90);
    assert!(
        p.reason.as_deref().is_some_and(|r| r.contains("för kort historik")),
        "{:?}",
        p.reason
    );
    assert!(shifts.forecast[0].ward.risk.is_none());
}

async fn a_ward_that_cannot_be_planned_is_left_out_not_every_ward(store: Store) {
    let mut c = Config::default();
    c.scoring.time_zone = "Europe/Stockholm".into();
    c.wards.insert("w1".into(), WardConfig::default());
    let bad = WardConfig {
        care_category: Some("no-such-category".into()),
        ..WardConfig::default()
    };
    c.wards.insert("w2".into(), bad);
    let weights = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    let app = App::try_new(store, Arc::new(c), Arc::new(weights)).expect("app");
    let w = app.weights();
    app.store.record_weights(&w).await.expect("record weights");
    let first: DateTime<Utc> = FIRST_HOUR.parse().unwrap();
    for h in 0..48 {
        let hour = first + Duration::hours(h);
        let as_of = hour + Duration::minutes(5);
        let mut other = patient(900, as_of);
        other.placement.ward = "w2".into();
        store_hour(&app, hour, vec![patient(1, as_of), other]).await;
    }
    let mut learner = Learner::default();
    let forget = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    learner
        .learn(&app, first, first + Duration::hours(48), forget)
        .await
        .expect("w2's bad category is no failure of w1");
    assert_eq!(learner.skipped_wards.iter().collect::<Vec<_>>(), ["w2"]);
    assert!(
        learner
            .model(&Scope::ward("w1"))
            .is_some_and(|m| !m.samples().is_empty())
    );
    assert!(learner.model(&Scope::ward("w2")).is_none());
    assert_eq!(learner.through(), Some(first + Duration::hours(48)));
}

async fn switched_off_it_shows_the_schedule_and_says_so(store: Store) {
    let mut c = Config::default();
    c.scoring.time_zone = "Europe/Stockholm".into();
    c.wards.insert("w1".into(), WardConfig::default());
    c.forecast.enabled = false;
    let weights = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    let app = App::try_new(store, Arc::new(c), Arc::new(weights)).expect("app");
    write_weeks(&app, 5).await;
    let first: DateTime<Utc> = FIRST_HOUR.parse().unwrap();
    let shifts = ward_shifts(&app, "w1", first + Duration::weeks(5) - Duration::minutes(30))
        .await
        .expect("shifts");
    let p = &shifts.forecast[0].ward.prediction;
    assert!(p.young);
    assert_eq!(p.reason.as_deref(), Some(careload_app::forecast::DISABLED));
    assert!(
        app.forecast_learner().lock().await.through().is_none(),
        "nothing learnt"
    );
}

async fn the_backtest_judges_held_out_shifts_only(store: Store) {
    let app = app(store);
    write_weeks(&app, 6).await;
    let first: DateTime<Utc> = FIRST_HOUR.parse().unwrap();
    let from = first + Duration::weeks(5);
    let report = backtest(&app, first, from, first + Duration::weeks(6))
        .await
        .expect("backtest");
    assert_eq!(report.wards.len(), 1);
    let w = &report.wards[0].ward_level;
    assert!(w.forecasts > 100, "{w:?}");
    assert_eq!(w.young, 0);
    // the arrivals are the same every day: the learnt P50 beats the schedule
    assert!(w.mae_ratio.is_some_and(|r| r < 0.7), "{w:?}");
    assert!(!report.by_lead.is_empty());
    assert!(report.by_lead.iter().any(|l| l.components.values().any(|v| *v > 0.0)));
    // a backwards range is refused
    assert!(backtest(&app, from, first, first + Duration::weeks(6)).await.is_err());
}

careload_testkit::on_every_backend!(
    the_day_shift_turns_out_heavier_than_scheduled,
    three_weeks_are_too_young_and_say_so,
    switched_off_it_shows_the_schedule_and_says_so,
    a_ward_that_cannot_be_planned_is_left_out_not_every_ward,
    the_backtest_judges_held_out_shifts_only,
);
