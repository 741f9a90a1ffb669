//! The simulated hospital's weekly rhythm (issue 28): elective admissions
//! come Monday–Friday, weekends see fewer admissions and fewer discharges,
//! and the hospital still stays near its target occupancy.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use careload_sim::{Hospital, LOCAL_UTC_OFFSET_HOURS, SimConfig};
use chrono::{DateTime, Datelike, Duration, Utc, Weekday};

/// Monday 00:00 local (UTC+1).
fn monday_midnight_local() -> DateTime<Utc> {
    "2026-11-22T23:00:00Z".parse().unwrap()
}

/// Admissions and discharges per local weekday (Monday first) over `weeks`
/// whole local weeks, and the run's time-averaged occupancy.
fn per_weekday(seed: u64, beds: u32, weeks: u32) -> ([u32; 7], [u32; 7], f64) {
    let mut h = Hospital::new(SimConfig {
        beds,
        ..SimConfig::new(seed, monday_midnight_local())
    })
    .unwrap();
    let (mut admissions, mut discharges) = ([0u32; 7], [0u32; 7]);
    for _ in 0..weeks * 7 * 24 {
        let before = h.stats();
        let day = (h.now() + Duration::hours(LOCAL_UTC_OFFSET_HOURS))
            .weekday()
            .num_days_from_monday() as usize;
        h.advance_hours(1);
        let after = h.stats();
        admissions[day] += after.admissions - before.admissions;
        discharges[day] += after.discharges - before.discharges;
    }
    (admissions, discharges, h.stats().occupancy)
}

fn weekday_and_weekend_means(per_day: &[u32; 7], weeks: u32) -> (f64, f64) {
    let w = f64::from(weeks);
    let weekdays: u32 = per_day[..5].iter().sum();
    let weekend: u32 = per_day[5..].iter().sum();
    (f64::from(weekdays) / (5.0 * w), f64::from(weekend) / (2.0 * w))
}

#[test]
fn weekends_see_fewer_admissions_and_discharges_and_occupancy_holds() {
    assert_eq!(
        (monday_midnight_local() + Duration::hours(LOCAL_UTC_OFFSET_HOURS)).weekday(),
        Weekday::Mon
    );
    let weeks = 6;
    for seed in [3, 8] {
        let (adm, dis, occupancy) = per_weekday(seed, 120, weeks);
        let (adm_weekday, adm_weekend) = weekday_and_weekend_means(&adm, weeks);
        let (dis_weekday, dis_weekend) = weekday_and_weekend_means(&dis, weeks);
        eprintln!(
            "seed {seed}: admissions Mon–Sun {adm:?} (per weekday {adm_weekday:.1}, per weekend day {adm_weekend:.1}); \
             discharges {dis:?} (per weekday {dis_weekday:.1}, per weekend day {dis_weekend:.1}); occupancy {occupancy:.3}"
        );
        assert!(
            adm_weekday >= 1.3 * adm_weekend,
            "seed {seed}: admissions per weekday {adm_weekday:.1} not ≥ 1.3 × per weekend day {adm_weekend:.1}: {adm:?}"
        );
        assert!(
            dis_weekend <= 0.8 * dis_weekday,
            "seed {seed}: discharges per weekend day {dis_weekend:.1} not ≤ 0.8 × per weekday {dis_weekday:.1}: {dis:?}"
        );
        // The weekend's postponed discharges leave on Monday.
        let dis_tue_fri = f64::from(dis[1..5].iter().sum::<u32>()) / 4.0;
        assert!(
            f64::from(dis[0]) > dis_tue_fri,
            "seed {seed}: Monday's discharges {} not above Tuesday–Friday's mean {dis_tue_fri:.1}: {dis:?}",
            dis[0]
        );
        // The week's admissions still match its discharges (the stream is
        // stationary over whole weeks), and occupancy stays near the target.
        let (a, d) = (adm.iter().sum::<u32>(), dis.iter().sum::<u32>());
        assert!(
            f64::from(a.abs_diff(d)) <= 0.05 * f64::from(d),
            "seed {seed}: {a} admissions against {d} discharges"
        );
        assert!((0.90..=1.05).contains(&occupancy), "seed {seed}: occupancy {occupancy}");
    }
}
