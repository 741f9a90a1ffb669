//! The calibration's end-to-end proof (issue 27): eight simulated weeks of a
//! small hospital with a hidden truth, through careload's real pipeline, the
//! staffing and ratings imports and the ward's fit. careload recovers each
//! ward's optimal points per person within 10 % of the truth's; the weights
//! refitted to six weeks of ratings (`careload weights fit`) explain the
//! ratings of the two weeks the fit never saw with an R² of at least 0.6, at
//! least 0.1 above the shipped weights', in the council's back-test; and
//! with ratings that carry no signal it says the fit is unreliable and
//! proposes no change.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use careload_bench::calibration::{CalibrationBench, CalibrationReport, calibration_bench};
use careload_sim::Truth;
use careload_testkit::TempDir;
use chrono::{DateTime, Utc};

/// A winter Monday noon (the simulator's clock is UTC+1, as Stockholm's in winter).
fn now() -> DateTime<Utc> {
    "2027-01-25T11:20:00Z".parse().unwrap()
}

async fn run(name: &str, truth: Truth) -> CalibrationReport {
    let dir = TempDir::new(name);
    let bench = CalibrationBench {
        beds: 60,
        wards: 2,
        seed: 5,
        truth,
        weeks: 8,
        fit_weeks: Some(6),
        now: now(),
        db: dir.join("calibration.db"),
    };
    let report = calibration_bench(&bench).await.unwrap();
    eprintln!(
        "{} h back-filled in {} ms, imports {} ms, fits {} ms",
        report.hours, report.backfill_ms, report.import_ms, report.calibration_ms
    );
    for w in &report.wards {
        for (scope, f) in [("together", &w.together), ("USK", &w.usk), ("SSK", &w.ssk)] {
            eprintln!(
                "{} {scope}: careload {:?} {:?} against the truth's {:?} ({:?}); R² {:?}, perfect knowledge {:?}; response {:?}; reliable {} {:?}",
                w.ward,
                f.optimum,
                f.interval,
                f.truth_optimum,
                f.relative_error,
                f.r_squared,
                f.truth_r_squared,
                f.response_rate,
                f.reliable,
                f.reasons
            );
        }
    }
    if let Some(r) = &report.refit {
        eprintln!(
            "refit on {} … {} (proposes change: {}, {:?}); scales {:?}; in-sample R² {:?}, fit's held-out R² (in force, candidate) {:?}; refit and back-test {} ms",
            r.fitted_from,
            r.fitted_to,
            r.proposes_change,
            r.reasons,
            r.scales,
            r.in_sample,
            r.held_out,
            report.refit_ms
        );
        for c in &r.backtest {
            eprintln!(
                "back-test {} … {} {}: {} shifts, R² shipped {:?} → candidate {:?}; optimum {:?} → {:?}",
                r.tested_from,
                r.tested_to,
                if c.ward.is_empty() { "all wards" } else { &c.ward },
                c.shifts,
                c.stored.r_squared,
                c.candidate.r_squared,
                c.stored.optimal_points_per_person,
                c.candidate.optimal_points_per_person
            );
        }
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_wards_optimum_is_recovered_within_ten_percent_of_the_truth() {
    let report = run("bench-calibration", Truth::default()).await;
    assert_eq!(report.wards.len(), 2);
    for w in &report.wards {
        let fit = &w.together;
        assert!(fit.reliable, "{}: {:?}", w.ward, fit.reasons);
        let error = fit.relative_error.unwrap();
        assert!(
            error.abs() <= 0.10,
            "{}: careload {:?} against the truth's {:?} ({:+.1} %)",
            w.ward,
            fit.optimum,
            fit.truth_optimum,
            100.0 * error
        );
        assert!(fit.shifts >= 150, "{}: {} rated shifts", w.ward, fit.shifts);
        assert_eq!(
            fit.shifts_matched, fit.shifts,
            "{}: every shift is known to the truth",
            w.ward
        );
    }

    // The weights refitted on the first six weeks, back-tested as the
    // council would on the last two, which the fit never saw.
    let refit = report.refit.as_ref().expect("a refit");
    assert!(refit.proposes_change, "{:?}", refit.reasons);
    let names: Vec<&str> = refit.backtest.iter().map(|c| c.ward.as_str()).collect();
    assert_eq!(names, ["", "w01", "w02"], "the wards pooled, then each");
    let pooled = &refit.backtest[0];
    let (shipped, candidate) = (pooled.stored.r_squared.unwrap(), pooled.candidate.r_squared.unwrap());
    assert!(
        candidate >= 0.6 && candidate >= shipped + 0.1,
        "held-out R²: the shipped weights {shipped:.3}, the candidate {candidate:.3}"
    );
    for c in &refit.backtest[1..] {
        assert!(
            c.candidate.r_squared.unwrap() > c.stored.r_squared.unwrap(),
            "{}: {:?} → {:?}",
            c.ward,
            c.stored.r_squared,
            c.candidate.r_squared
        );
        assert!(c.shifts >= 35, "{}: {} rated shifts held out", c.ward, c.shifts);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ratings_without_signal_leave_every_ward_unreliable() {
    let report = run(
        "bench-calibration-noise",
        Truth {
            signal: false,
            ..Truth::default()
        },
    )
    .await;
    for w in &report.wards {
        let fit = &w.together;
        assert!(!fit.reliable, "{}: {fit:?}", w.ward);
        assert!(
            fit.reasons.iter().any(|r| r == "low_r_squared"),
            "{}: the points explain none of the ratings: {:?}",
            w.ward,
            fit.reasons
        );
    }
    // and nothing to refit: no candidate is proposed
    let refit = report.refit.as_ref().expect("a refit");
    assert!(!refit.proposes_change, "{refit:?}");
    assert!(!refit.reasons.is_empty());
}
