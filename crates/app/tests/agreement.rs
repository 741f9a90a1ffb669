//! The monthly agreement report (`careload_app::agreement`) on every
//! backend: a month of stored hours of ward w1 (November 2026, with the
//! last evening of October and the first morning of December around it),
//! planned staffing that varies shift by shift, and ratings drawn from a
//! known truth — rating = round(0.15 × (points per person − 25) + noise),
//! three in four of the people present rating — except on four planted
//! shifts, which the staff rated far from what their points say (the two
//! lightest +3, the heaviest −3, and the second heaviest −3 by one person). The
//! report's month is the shifts that start in it (the night from 30 to 1
//! December is November's, the night from 31 October is not); its largest
//! disagreements are the planted shifts, ranked by ratings × residual² (the
//! lone rating, farther off than any, below those many rated);
//! without a fitted line it lists none; a month not begun, a month that is
//! no month and an unknown ward are refused.
//!
//! The hospital is in Europe/Stockholm (UTC+1 in November) with the default
//! shift plan: day 07–15, evening 15–21, night 21–07 local.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::collections::BTreeMap;
use std::sync::Arc;

use careload_app::agreement::{TOP, last_complete_month, parse_month, ward_agreement};
use careload_app::{App, Error};
use careload_config::{Config, WardConfig};
use careload_planning::PlannedStaffing;
use careload_planning::calibration::CalibrationRules;
use careload_scoring::score::Component;
use careload_scoring::snapshot::{
    Activity, ActivityStatus, Dosing, MedicationOrder, News2Observation, Norton, NortonActivity, PatientKey,
    Profession, Route,
};
use careload_scoring::{Snapshot, Weights, rollup, score_now};
use careload_store::{NewRating, RatingSource, Store};
use chrono::{DateTime, Duration, NaiveDateTime, Utc};

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");

/// The first stored hour: 07:00 local on Saturday 31 October 2026 (summer time ended the 25th).
const FIRST_HOUR: &str = "2026-10-31T06:00:00Z";
/// Hours stored: to 15:00 local on 1 December.
const HOURS: i64 = 31 * 24 + 8;
/// The truth: the points per person present that feel optimal…
const TRUE_OPTIMUM: f64 = 25.0;
/// …and how fast the rating rises with them.
const TRUE_SLOPE: f64 = 0.15;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

fn local(s: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("local time")
}

fn app(store: Store) -> App {
    let mut c = Config::default();
    c.wards.insert("w1".into(), WardConfig::default());
    let weights = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    App::try_new(store, Arc::new(c), Arc::new(weights)).expect("app")
}

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal, mean 0, standard deviation `sd` (three uniforms summed).
    fn noise(&mut self, sd: f64) -> f64 {
        let sum: f64 = (0..3).map(|_| self.unit() * 2.0 - 1.0).sum();
        sum * sd
    }
}

/// A patient of ward w1 whose points grow with `load`.
fn patient(key: &str, hour: DateTime<Utc>, load: u32) -> Snapshot {
    let as_of = hour + Duration::minutes(5);
    let mut s = Snapshot::new(PatientKey(key.into()), as_of, as_of - Duration::days(2), "w1");
    s.placement.bed = Some(key.into());
    s.norton = Some(Norton {
        activity: NortonActivity::ALL[(load % 4) as usize],
        total: Some(14),
        assessed_at: as_of - Duration::hours(3),
    });
    s.news2.push(News2Observation {
        at: as_of - Duration::hours(1),
        value: (load % 7) as u8,
        source: None,
    });
    for i in 0..(1 + load % 3) {
        s.activities.push(Activity {
            code: if i % 2 == 0 { "personal-hygiene" } else { "wound-care" }.into(),
            due: Some(as_of + Duration::minutes(20)),
            status: ActivityStatus::Open,
            profession: None,
            source: None,
        });
    }
    s.medications.push(MedicationOrder {
        route: Route::Oral,
        dosing: Dosing::PerDay {
            times: 1 + (load % 3) as u16,
        },
        source: None,
    });
    s
}

/// Writes [`HOURS`] hours of ward w1, a census of 6 to 10 patients that
/// changes by the day. Returns each hour's need, both professions (thousandths).
async fn fill_hours(store: &Store, w: &Weights) -> BTreeMap<DateTime<Utc>, i64> {
    store.record_weights(w).await.expect("record weights");
    let mut stored = BTreeMap::new();
    for h in 0..HOURS {
        let hour = t(FIRST_HOUR) + Duration::hours(h);
        let day = (h / 24) as u32;
        let census = 6 + (day * 7 + 3) % 5;
        let pairs: Vec<_> = (0..census)
            .map(|i| {
                let s = patient(&format!("p{i}"), hour, i + day + (h % 24) as u32 / 8);
                let sc = score_now(&s, w);
                (s, sc)
            })
            .collect();
        let r = rollup(pairs.iter().map(|(s, sc)| (s, sc)));
        let run = store.begin_run("test").await.expect("begin run");
        store
            .write_hour(hour, run, &w.meta.version, &pairs, &r)
            .await
            .expect("write hour");
        let p = &r.wards["w1"].totals.professions;
        stored.insert(hour, p.usk.milli() + p.ssk.milli());
    }
    stored
}

/// One shift as the test built it.
struct Built {
    start: DateTime<Utc>,
    name: String,
    /// USK, SSK present.
    present: (u32, u32),
    /// Points per person present (both professions), as a number.
    per_person: f64,
}

/// Planned staffing for every shift of the stored hours, the people present
/// chosen so that the points per person land between 14 and 38.
async fn fill_staffing(app: &App, hours: &BTreeMap<DateTime<Utc>, i64>, rng: &mut Rng) -> Vec<Built> {
    let plan = app.shift_plan("w1").expect("plan");
    let tz = app.tz();
    let end = t(FIRST_HOUR) + Duration::hours(HOURS);
    let mut rows = Vec::new();
    let mut built = Vec::new();
    let mut w = plan.shift_at(t(FIRST_HOUR), &tz);
    while w.window.end <= end {
        let need: i64 = hours.range(w.window.start..w.window.end).map(|(_, v)| v).sum();
        let target = 14.0 + 24.0 * rng.unit();
        let people = ((need as f64 / 1000.0 / target).round() as u32).max(2);
        let present = (people.div_ceil(2), people / 2);
        for (profession, n) in [(Profession::Usk, present.0), (Profession::Ssk, present.1)] {
            rows.push(PlannedStaffing {
                ward: "w1".into(),
                team: None,
                date: w.date,
                shift: w.name.clone(),
                profession,
                planned: n,
                absent: 0,
            });
        }
        built.push(Built {
            start: w.window.start,
            name: w.name.clone(),
            present,
            per_person: need as f64 / 1000.0 / f64::from(people),
        });
        w = plan.shift_at(w.window.end, &tz);
    }
    app.store
        .put_planned_staffing(&rows, "test", "test")
        .await
        .expect("planned staffing");
    built
}

/// The planted disagreements, chosen among November's shifts by their load.
struct Planted {
    /// The lightest and second lightest, rated +3 by everyone who rated: far heavier than their points say.
    heavy: [DateTime<Utc>; 2],
    /// The heaviest, rated −3 by everyone who rated: far lighter.
    light: DateTime<Utc>,
    /// The second heaviest, rated −3 by one person only: as far off, but one rating.
    lone: DateTime<Utc>,
}

impl Planted {
    fn among(app: &App, built: &[Built]) -> Planted {
        let tz = app.tz();
        let mut november: Vec<&Built> = built
            .iter()
            .filter(|b| b.start.with_timezone(&tz).format("%Y-%m").to_string() == "2026-11")
            .collect();
        november.sort_by(|a, b| a.per_person.total_cmp(&b.per_person));
        let n = november.len();
        Planted {
            heavy: [november[0].start, november[1].start],
            light: november[n - 1].start,
            lone: november[n - 2].start,
        }
    }

    /// The rating everyone planted on `start` gives, and whether one person alone rates.
    fn at(&self, start: DateTime<Utc>) -> Option<(i8, bool)> {
        if self.heavy.contains(&start) {
            Some((3, false))
        } else if start == self.light {
            Some((-3, false))
        } else if start == self.lone {
            Some((-3, true))
        } else {
            None
        }
    }
}

/// Ratings of every built shift: from the truth, or as planted.
async fn fill_ratings(app: &App, built: &[Built], planted: &Planted, rng: &mut Rng) {
    let mut ratings = Vec::new();
    for b in built {
        let plant = planted.at(b.start);
        for (profession, present) in [(Profession::Usk, b.present.0), (Profession::Ssk, b.present.1)] {
            let raters = match plant {
                Some((_, true)) => 1,
                _ => (3 * present).div_ceil(4),
            };
            for _ in 0..raters {
                let rating = match plant {
                    Some((r, _)) => r,
                    None => (TRUE_SLOPE * (b.per_person - TRUE_OPTIMUM) + rng.noise(0.7))
                        .round()
                        .clamp(-3.0, 3.0) as i8,
                };
                ratings.push(NewRating {
                    ward: "w1".into(),
                    team: None,
                    shift_start: b.start,
                    shift: b.name.clone(),
                    profession: Some(profession),
                    rating,
                    source: RatingSource::PaperImport,
                    received_at: b.start + Duration::hours(12),
                });
            }
            if matches!(plant, Some((_, true))) {
                break; // the lone rating: one profession only
            }
        }
    }
    app.store.put_ratings(&ratings).await.expect("ratings");
}

async fn a_month_names_the_shifts_where_points_and_ratings_disagree_most(store: Store) {
    let app = app(store);
    let w = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    let hours = fill_hours(&app.store, &w).await;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let built = fill_staffing(&app, &hours, &mut rng).await;
    let planted = Planted::among(&app, &built);
    fill_ratings(&app, &built, &planted, &mut rng).await;
    let rules = CalibrationRules::default();
    let now = t("2026-12-01T12:00:00Z");

    let r = ward_agreement(&app, "w1", (2026, 11), now, &rules)
        .await
        .expect("report");
    assert_eq!(r.month, "2026-11");
    assert!(r.complete);
    let c = &r.calibration;
    // the shifts that start in November: midnight 1 November to the end of the night of the 30th
    assert_eq!(c.from, t("2026-10-31T23:00:00Z"));
    assert_eq!(c.to, t("2026-12-01T06:00:00Z"));
    assert_eq!(
        c.shifts_in_window,
        30 * 3,
        "three shifts a day, the night of the 30th included"
    );
    assert_eq!(c.shifts_without_planned_staffing, 0);
    let f = &c.together;
    assert_eq!(f.points.len(), 90);
    assert_eq!(
        f.points[0].local_start,
        local("2026-11-01 07:00"),
        "not the night from 31 October"
    );
    assert_eq!(
        f.points[89].local_start,
        local("2026-11-30 21:00"),
        "the night into 1 December"
    );
    assert!(f.r_squared.unwrap() > 0.3, "{:?}", f.r_squared);
    assert!(f.spearman.unwrap() > 0.4, "{:?}", f.spearman);
    assert_eq!(c.components.len(), 9, "a fit per component of the score");

    // The disagreements: ranked by ratings × residual², the planted shifts first.
    let d = &r.disagreements;
    assert_eq!(d.len(), TOP);
    let (a, b) = (f.intercept.unwrap(), f.slope.unwrap());
    let mut expected: Vec<(f64, DateTime<Utc>)> = f
        .points
        .iter()
        .filter_map(|p| {
            let residual = p.mean_rating? - (a + b * p.points_per_person.as_f64());
            Some((f64::from(p.ratings) * residual * residual, p.start))
        })
        .collect();
    expected.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
    let starts: Vec<DateTime<Utc>> = d.iter().map(|s| s.start).collect();
    let expected_starts: Vec<DateTime<Utc>> = expected.iter().take(TOP).map(|e| e.1).collect();
    assert_eq!(starts, expected_starts);
    for s in d {
        let p = f.points.iter().find(|p| p.start == s.start).unwrap();
        assert_eq!((s.shift.as_str(), s.local_start), (p.shift.as_str(), p.local_start));
        assert_eq!(
            (s.points_per_person, s.present, s.ratings),
            (p.points_per_person, p.present, p.ratings)
        );
        assert_eq!(Some(s.mean_rating), p.mean_rating);
        assert!((s.fitted_rating - (a + b * s.points_per_person.as_f64())).abs() < 1e-9);
        assert!((s.residual - (s.mean_rating - s.fitted_rating)).abs() < 1e-9);
        assert!((s.weighted_squared_residual - f64::from(s.ratings) * s.residual * s.residual).abs() < 1e-9);
    }
    // Each one's breakdown: every component's points per person beside the
    // month's mean over the rated shifts, in the score's order.
    let rated: Vec<_> = f.points.iter().filter(|p| p.mean_rating.is_some()).collect();
    let keys: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
    for s in d {
        let p = f.points.iter().find(|p| p.start == s.start).unwrap();
        let names: Vec<&str> = s.components.iter().map(|c| c.component.as_str()).collect();
        assert_eq!(names, keys);
        for c in &s.components {
            assert_eq!(Some(&c.points_per_person), p.components.get(&c.component));
            let sum: i64 = rated.iter().map(|q| q.components[&c.component].milli()).sum();
            let mean = (sum as f64 / rated.len() as f64).round() as i64;
            assert!((c.month_mean.milli() - mean).abs() <= 1, "{}: {mean}", c.component);
            assert_eq!(c.difference, c.points_per_person - c.month_mean);
        }
        let total: i64 = s.components.iter().map(|c| c.points_per_person.milli()).sum();
        assert!(
            (total - s.points_per_person.milli()).abs() <= 10,
            "the components add up to the points per person: {total} against {}",
            s.points_per_person.milli()
        );
    }
    let mut top3: Vec<DateTime<Utc>> = d[..3].iter().map(|s| s.start).collect();
    top3.sort();
    let mut expected3 = vec![planted.heavy[0], planted.heavy[1], planted.light];
    expected3.sort();
    assert_eq!(top3, expected3, "the three planted shifts rated by many come first");
    for &start in &planted.heavy {
        let s = d.iter().find(|s| s.start == start).unwrap();
        assert_eq!(s.mean_rating, 3.0);
        assert!(s.residual > 0.0, "rated heavier than its points said");
    }
    let light = d.iter().find(|s| s.start == planted.light).unwrap();
    assert!(light.residual < 0.0, "rated lighter than its points said");
    // the lone rating is farther off than one of the planted, but weighs one rating
    let lone = f.points.iter().find(|p| p.start == planted.lone).unwrap();
    assert_eq!(lone.ratings, 1);
    let lone_residual = -3.0 - (a + b * lone.points_per_person.as_f64());
    let least_planted = d[..3].iter().map(|s| s.residual.abs()).fold(f64::INFINITY, f64::min);
    assert!(
        lone_residual.abs() > least_planted,
        "the lone rating is the farthest off of all: {lone_residual} against {least_planted}"
    );
    let lone_rank = d.iter().position(|s| s.start == lone.start);
    assert!(
        lone_rank.is_none_or(|n| n >= 3),
        "one rating ranks below the many: {lone_rank:?}"
    );

    // A month not over: as far as it has gone.
    let mid = t("2026-11-10T15:00:00Z"); // 16:00 local: the day shift has ended
    let r = ward_agreement(&app, "w1", (2026, 11), mid, &rules)
        .await
        .expect("report");
    assert!(!r.complete);
    assert_eq!(
        r.calibration.shifts_in_window,
        9 * 3 + 1,
        "1–9 November and the day shift of the 10th"
    );

    // October: only its last day has hours and staffing, too little to trust.
    let r = ward_agreement(&app, "w1", (2026, 10), now, &rules)
        .await
        .expect("october");
    assert_eq!(
        r.calibration.to,
        t("2026-11-01T06:00:00Z"),
        "to the end of the night of the 31st"
    );
    assert_eq!(
        r.calibration.together.points.len(),
        3,
        "the day, evening and night of 31 October, the night into November included"
    );
    assert_eq!(r.calibration.together.points[2].local_start, local("2026-10-31 21:00"));
    assert!(!r.calibration.together.reliable);
    assert!(
        r.disagreements
            .iter()
            .all(|d| d.local_start >= local("2026-10-31 07:00"))
    );
}

async fn without_a_line_there_is_nothing_to_disagree_with(store: Store) {
    let app = app(store);
    let rules = CalibrationRules::default();
    let now = t("2026-12-01T12:00:00Z");
    let r = ward_agreement(&app, "w1", (2026, 11), now, &rules)
        .await
        .expect("an empty month");
    assert!(r.complete);
    assert_eq!(r.calibration.shifts_in_window, 90);
    assert_eq!(r.calibration.shifts_without_planned_staffing, 90);
    assert!(!r.calibration.together.reliable);
    assert_eq!(r.calibration.together.reasons[0].code, "too_few_shifts");
    assert!(r.disagreements.is_empty());
}

async fn months_not_begun_not_months_and_unknown_wards_are_refused(store: Store) {
    let app = app(store);
    let rules = CalibrationRules::default();
    let now = t("2026-12-01T12:00:00Z");
    let e = ward_agreement(&app, "w1", (2027, 1), now, &rules)
        .await
        .expect_err("not begun");
    assert!(matches!(e, Error::BadQuery { param: "month", .. }), "{e}");
    assert!(e.hint().unwrap().contains("2026-11"), "{:?}", e.hint());
    let e = ward_agreement(&app, "w1", (2026, 13), now, &rules)
        .await
        .expect_err("no month");
    assert!(matches!(e, Error::BadQuery { param: "month", .. }), "{e}");
    let e = ward_agreement(&app, "nowhere", (2026, 11), now, &rules)
        .await
        .expect_err("unknown ward");
    assert!(matches!(e, Error::UnknownWard { .. }), "{e}");
    // the current month is allowed (as far as it has gone)
    let r = ward_agreement(&app, "w1", (2026, 12), now, &rules)
        .await
        .expect("this month");
    assert!(!r.complete);
    assert_eq!(
        r.calibration.shifts_in_window, 0,
        "the night from 30 November is November's; December's day shift has not ended"
    );
}

async fn the_last_complete_month_is_the_hospitals(store: Store) {
    let app = app(store);
    let cases = [
        ("2026-11-30T22:30:00Z", (2026, 10)), // 23:30 on 30 November locally
        ("2026-11-30T23:30:00Z", (2026, 11)), // 00:30 on 1 December locally
        ("2026-12-15T12:00:00Z", (2026, 11)),
        ("2027-01-01T00:00:00Z", (2026, 12)), // 01:00 on New Year's Day
        ("2026-01-10T12:00:00Z", (2025, 12)),
    ];
    for (now, month) in cases {
        assert_eq!(last_complete_month(&app, t(now)), month, "{now}");
    }
    assert_eq!(parse_month("month", "2026-11").unwrap(), (2026, 11));
}

careload_testkit::on_every_backend!(
    a_month_names_the_shifts_where_points_and_ratings_disagree_most,
    without_a_line_there_is_nothing_to_disagree_with,
    months_not_begun_not_months_and_unknown_wards_are_refused,
    the_last_complete_month_is_the_hospitals,
);
