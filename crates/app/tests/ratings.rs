//! The shift rating use case (`careload_app::ratings::rate`) on every
//! backend: the happy path and each refusal — unknown ward, a team not of
//! the ward, a rating outside −3 … +3, a shift not in the plan or not
//! started, a rating more than a day late, and the limit per shift with and
//! without a stored plan.
//!
//! The hospital is in Europe/Stockholm (UTC+1 in November) with the
//! default shift plan: day 07–15, evening 15–21, night 21–07 local, that is
//! 06–14, 14–20 and 20–06 UTC.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic with a message

use std::sync::Arc;

use careload_app::ratings::{Accepted, RatingInput, ShiftChoice, rate};
use careload_app::{App, Error, Kind};
use careload_config::{Config, WardConfig};
use careload_planning::PlannedStaffing;
use careload_scoring::Weights;
use careload_scoring::snapshot::Profession;
use careload_store::{RatingSource, Store};
use chrono::{DateTime, NaiveDate, Utc};

const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");

fn t(s: &str) -> DateTime<Utc> {
    s.parse().expect("rfc3339")
}

/// Ward w1 with two configured teams, ward w2 with none.
fn app(store: Store) -> App {
    let mut c = Config::default();
    c.wards.insert(
        "w1".into(),
        WardConfig {
            teams: [("w1-a".into(), "Lag A".into()), ("w1-b".into(), "Lag B".into())].into(),
            ..WardConfig::default()
        },
    );
    c.wards.insert("w2".into(), WardConfig::default());
    let weights = Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights");
    App::try_new(store, Arc::new(c), Arc::new(weights)).expect("app")
}

/// A rating of ward w1's last shift from a phone.
fn input(rating: i64) -> RatingInput {
    RatingInput {
        ward: "w1".into(),
        team: None,
        shift: ShiftChoice::LastEnded,
        profession: None,
        rating,
        source: RatingSource::Phone,
    }
}

/// The refusal `result` must be: its kind, and its hint containing `words`.
fn refused(result: careload_app::Result<Accepted>, kind: Kind, words: &str) -> Error {
    let e = result.expect_err("must be refused");
    assert_eq!(e.kind(), kind, "{e}: {:?}", e.hint());
    let hint = e.hint().unwrap_or_default();
    assert!(hint.contains(words), "hint {hint:?} lacks {words:?}");
    e
}

async fn stored(app: &App, ward: &str) -> usize {
    app.store
        .ratings(ward, t("2026-11-01T00:00:00Z"), t("2026-12-01T00:00:00Z"))
        .await
        .expect("ratings")
        .len()
}

async fn a_rating_after_the_shift_is_stored_for_the_shift_that_ended_last(store: Store) {
    let app = app(store);
    let now = t("2026-11-24T16:00:00Z"); // 17:00 local, the evening shift
    let mut first = input(1);
    first.team = Some("Lag A".into()); // by display name, stored by id
    first.profession = Some(Profession::Ssk);
    let a = rate(&app, &first, now).await.expect("accepted");
    assert_eq!(
        (
            a.ward.as_str(),
            a.team.as_deref(),
            a.team_name.as_deref(),
            a.shift.as_str()
        ),
        ("w1", Some("w1-a"), Some("Lag A"), "day")
    );
    assert_eq!((a.start, a.end), (t("2026-11-24T06:00:00Z"), t("2026-11-24T14:00:00Z")));
    assert_eq!(a.local_start.to_string(), "2026-11-24 07:00:00");
    assert_eq!(a.local_end.to_string(), "2026-11-24 15:00:00");
    assert_eq!((a.ratings, a.limit), (1, 30), "no plan stored: the fixed cap");
    let b = rate(&app, &input(-2), now).await.expect("second");
    assert_eq!((b.ratings, b.team, b.shift.as_str()), (2, None, "day"));
    assert!(b.id > a.id);

    let rows = app.store.ratings("w1", a.start, a.end).await.expect("ratings");
    assert_eq!(rows.len(), 2);
    let r = &rows[0].rating;
    assert_eq!(
        (
            r.team.as_deref(),
            r.shift.as_str(),
            r.shift_start,
            r.profession,
            r.rating,
            r.source,
            r.received_at
        ),
        (
            Some("w1-a"),
            "day",
            a.start,
            Some(Profession::Ssk),
            1,
            RatingSource::Phone,
            now
        )
    );

    // during the day shift, the last one to end is the night before
    let night = rate(&app, &input(0), t("2026-11-24T06:30:00Z")).await.expect("night");
    assert_eq!(
        (night.shift.as_str(), night.start),
        ("night", t("2026-11-23T20:00:00Z"))
    );
    // a named shift: the latest of that name that has started, even going on
    let mut named = input(2);
    named.shift = ShiftChoice::Named("night".into());
    let going_on = rate(&app, &named, t("2026-11-24T21:00:00Z"))
        .await
        .expect("night going on");
    assert_eq!(going_on.start, t("2026-11-24T20:00:00Z"));
    named.shift = ShiftChoice::Named("day".into());
    let today = rate(&app, &named, now).await.expect("day");
    assert_eq!((today.start, today.ratings), (a.start, 3));
    // by its start: yesterday's evening, within a day of its end
    let mut by_start = input(-1);
    by_start.shift = ShiftChoice::StartingAt(t("2026-11-23T14:00:00Z"));
    by_start.source = RatingSource::Screen;
    let evening = rate(&app, &by_start, now).await.expect("evening");
    assert_eq!(
        (evening.shift.as_str(), evening.end),
        ("evening", t("2026-11-23T20:00:00Z"))
    );
    assert_eq!(stored(&app, "w1").await, 6);
}

async fn an_unknown_ward_is_not_found(store: Store) {
    let app = app(store);
    let mut i = input(0);
    i.ward = "w9".into();
    let e = refused(
        rate(&app, &i, t("2026-11-24T16:00:00Z")).await,
        Kind::NotFound,
        "w1, w2",
    );
    assert!(matches!(e, Error::UnknownWard { .. }), "{e:?}");
    assert_eq!(stored(&app, "w9").await, 0);
}

async fn a_team_must_be_one_of_the_ward(store: Store) {
    let app = app(store);
    let now = t("2026-11-24T16:00:00Z");
    let mut i = input(0);
    i.team = Some("w2-x".into());
    let e = refused(rate(&app, &i, now).await, Kind::Invalid, "send one of w1-a, w1-b");
    assert!(matches!(e, Error::BadQuery { param: "team", .. }), "{e:?}");
    i.ward = "w2".into();
    i.team = Some("Lag A".into());
    refused(rate(&app, &i, now).await, Kind::Invalid, "ward w2 has no teams");
    assert_eq!(stored(&app, "w1").await + stored(&app, "w2").await, 0);
    // a blank team is the whole ward; a team by id is accepted
    i.team = Some("  ".into());
    assert_eq!(rate(&app, &i, now).await.expect("whole ward").team, None);
    i.ward = "w1".into();
    i.team = Some("w1-b".into());
    assert_eq!(
        rate(&app, &i, now).await.expect("by id").team_name.as_deref(),
        Some("Lag B")
    );
}

async fn a_rating_is_minus_three_to_plus_three(store: Store) {
    let app = app(store);
    let now = t("2026-11-24T16:00:00Z");
    for bad in [4, -4, 1000, i64::MIN] {
        let e = refused(rate(&app, &input(bad), now).await, Kind::Invalid, "from −3");
        assert!(matches!(e, Error::BadQuery { param: "rating", .. }), "{e:?}");
    }
    assert_eq!(stored(&app, "w1").await, 0);
    for good in [-3, 0, 3] {
        rate(&app, &input(good), now).await.expect("in range");
    }
    assert_eq!(stored(&app, "w1").await, 3);
}

async fn a_shift_is_rated_from_its_start_until_a_day_after_its_end(store: Store) {
    let app = app(store);
    let now = t("2026-11-24T16:00:00Z");
    let with = |shift: ShiftChoice| RatingInput { shift, ..input(1) };

    let e = refused(
        rate(&app, &with(ShiftChoice::Named("lunch".into())), now).await,
        Kind::Invalid,
        "day, evening, night",
    );
    assert!(matches!(e, Error::BadQuery { param: "shift", .. }), "{e:?}");
    refused(
        rate(&app, &with(ShiftChoice::StartingAt(t("2026-11-24T06:30:00Z"))), now).await,
        Kind::Invalid,
        "the day shift starting at 2026-11-24T06:00:00+00:00",
    );
    refused(
        rate(&app, &with(ShiftChoice::StartingAt(t("2026-11-25T06:00:00Z"))), now).await,
        Kind::Refused,
        "has not started",
    );
    // yesterday's day shift ended 2026-11-23 14:00 UTC: open until a day later
    let yesterday = with(ShiftChoice::StartingAt(t("2026-11-23T06:00:00Z")));
    rate(&app, &yesterday, t("2026-11-24T13:59:59Z"))
        .await
        .expect("a late rating within 24 h");
    refused(
        rate(&app, &yesterday, t("2026-11-24T14:00:00Z")).await,
        Kind::Refused,
        "closed at 2026-11-24 15:00:00 (24 h after its end; late ratings are accepted for 24 h)",
    );
    // before today's day shift starts, "day" is yesterday's, still open
    let a = rate(&app, &with(ShiftChoice::Named("day".into())), t("2026-11-24T05:00:00Z"))
        .await
        .expect("yesterday's day");
    assert_eq!((a.start, a.ratings), (t("2026-11-23T06:00:00Z"), 2));
    assert_eq!(stored(&app, "w1").await, 2);
}

async fn a_shift_takes_at_most_its_people_present_plus_slack(store: Store) {
    let app = app(store);
    let now = t("2026-11-24T16:00:00Z"); // the day shift of 2026-11-24 ended last

    // no plan stored: the fixed cap
    let mut w2 = input(0);
    w2.ward = "w2".into();
    for n in 1..=30 {
        assert_eq!(rate(&app, &w2, now).await.expect("under the cap").ratings, n);
    }
    refused(
        rate(&app, &w2, now).await,
        Kind::Refused,
        "(30 of 30: no planned staffing is stored for the shift, so at most 30)",
    );
    assert_eq!(stored(&app, "w2").await, 30);

    // w1's day shift: 2 USK and 2 SSK present → 6 ratings, 4 from each profession
    let day = NaiveDate::from_ymd_opt(2026, 11, 24).expect("date");
    let row = |team: Option<&str>, shift: &str, profession, planned, absent| PlannedStaffing {
        ward: "w1".into(),
        team: team.map(str::to_owned),
        date: day,
        shift: shift.into(),
        profession,
        planned,
        absent,
    };
    let rows = [
        row(Some("w1-a"), "day", Profession::Usk, 3, 1),
        row(Some("w1-b"), "day", Profession::Ssk, 2, 0),
        row(None, "day", Profession::Usk, 1, 1),
        row(None, "evening", Profession::Usk, 10, 0), // another shift: not counted
    ];
    app.store
        .put_planned_staffing(&rows, "test", "api")
        .await
        .expect("plan");
    let usk = RatingInput {
        profession: Some(Profession::Usk),
        ..input(1)
    };
    for n in 1..=4 {
        let a = rate(&app, &usk, now).await.expect("USK under its limit");
        assert_eq!((a.ratings, a.limit), (n, 6));
    }
    refused(
        rate(&app, &usk, now).await,
        Kind::Refused,
        "has all the USK ratings it takes (4 of 4: the 2 USK present in the planned staffing plus 2)",
    );
    let ssk = RatingInput {
        profession: Some(Profession::Ssk),
        ..input(-1)
    };
    assert_eq!(rate(&app, &ssk, now).await.expect("SSK").ratings, 5);
    assert_eq!(rate(&app, &input(0), now).await.expect("no profession").ratings, 6);
    refused(
        rate(&app, &ssk, now).await,
        Kind::Refused,
        "(6 of 6: the 4 present in the planned staffing plus 2)",
    );
    assert_eq!(stored(&app, "w1").await, 6);
    // the limit is the shift's: the evening going on counts its own
    let evening = RatingInput {
        shift: ShiftChoice::Named("evening".into()),
        ..input(2)
    };
    assert_eq!(rate(&app, &evening, now).await.expect("evening").ratings, 1);
}

careload_testkit::on_every_backend!(
    a_rating_after_the_shift_is_stored_for_the_shift_that_ended_last,
    an_unknown_ward_is_not_found,
    a_team_must_be_one_of_the_ward,
    a_rating_is_minus_three_to_plus_three,
    a_shift_is_rated_from_its_start_until_a_day_after_its_end,
    a_shift_takes_at_most_its_people_present_plus_slack,
);
