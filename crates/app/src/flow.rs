//! A ward's patient flow from its stored hours (issue 28): who was on the
//! ward each stored hour with their points, read once for the window,
//! counted by [`careload_planning::flow::learn_flow`] into arrivals and
//! departures per hour of the week and a new patient's need over its first
//! hours.
//!
//! The window is the [`FLOW_WEEKS`] weeks up to the hour before `now`. An
//! hour counts as stored when the ward has a stored total for it
//! (`Store::ward_hours`), so a stored hour with nobody on the ward is an
//! empty census, not a gap.

use std::collections::BTreeMap;

use careload_planning::flow::{CensusHour, Flow, learn_flow};
use careload_scoring::Points;
use careload_store::hour_of;
use chrono::{DateTime, Duration, Utc};

use crate::query::known_ward;
use crate::{App, Result};

/// Weeks of history the flow is learnt from.
pub const FLOW_WEEKS: i64 = 8;

/// The flow of ward `id` learnt from the [`FLOW_WEEKS`] weeks of stored
/// hours before `now`.
///
/// # Errors
/// [`crate::Error::UnknownWard`]; the store failing.
pub async fn ward_flow(app: &App, id: &str, now: DateTime<Utc>) -> Result<Flow> {
    let current = app.store.current_hour().await?.map(|c| c.hour);
    known_ward(app, id, current).await?;
    let to = hour_of(now);
    let from = to - Duration::weeks(FLOW_WEEKS);
    let tz = app.tz();
    let mut census: BTreeMap<DateTime<Utc>, BTreeMap<String, Points>> = app
        .store
        .ward_hours(id, from, to)
        .await?
        .into_iter()
        .map(|h| (h.hour, BTreeMap::new()))
        .collect();
    for p in app.store.patient_hours(id, from, to).await? {
        census.entry(p.hour).or_default().insert(p.key.0, p.total);
    }
    let hours: Vec<CensusHour> = census
        .into_iter()
        .map(|(hour, patients)| CensusHour {
            hour,
            local: hour.with_timezone(&tz).naive_local(),
            patients,
        })
        .collect();
    Ok(learn_flow(&hours))
}
