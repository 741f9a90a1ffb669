//! Dropping held resources that can no longer change a snapshot.
//!
//! The held store lives from one hourly run to the next and only learns of
//! changes (`_lastUpdated=gt…`), so without pruning it keeps every
//! Observation charted during every current stay: a patient in their fifth
//! day brings five days of vital signs to each hour's mapping. What the
//! mapping reads of the past is bounded ([`HISTORY_HOURS`]):
//!
//! * an Observation is read when it lies within the last [`HISTORY_HOURS`],
//!   or is the latest of its kind; so of the usable Observations (a status
//!   the mapping reads, a value) with the same target (encounter, else
//!   subject) and the same codings at or before the window's start, only the
//!   latest is kept;
//! * a finished Task (completed, cancelled, rejected, failed, entered in
//!   error) last updated before the window is out of scope for good;
//! * a MedicationRequest that is not active is never read.
//!
//! A pruned resource that changes on the server comes back with the next
//! incremental fetch (its `meta.lastUpdated` moves), so pruning after each
//! run's mapping gives the same snapshots as holding everything. One case
//! differs until the next full read: when the only kept Observation of its
//! kind at or before the window is later retracted (entered in error), the
//! one before it is no longer held.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::facts::{Concept, FactValue, ObservationFacts};
use crate::mapping::HISTORY_HOURS;
use crate::read::Resources;
use crate::time::When;

/// How many held resources [`Resources::prune_history`] dropped, by type.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Observations superseded before the history window.
    pub observations: usize,
    /// Tasks finished before the history window.
    pub tasks: usize,
    /// MedicationRequests that are not active.
    pub medication_requests: usize,
}

impl Pruned {
    /// All types together.
    pub fn total(&self) -> usize {
        self.observations + self.tasks + self.medication_requests
    }
}

/// Can the mapping use `o` as its kind's value? (It reads no other status,
/// and an Observation without a value or components gives nothing.)
fn usable(o: &ObservationFacts) -> bool {
    !matches!(&*o.status, "entered-in-error" | "cancelled" | "registered")
        && (o.value != FactValue::None || !o.components.is_empty())
}

/// The grouping of an Observation: its target and its codings.
fn key(o: &ObservationFacts) -> (Option<&str>, &Concept) {
    (o.encounter.as_deref().or(o.subject.as_deref()), &o.code)
}

impl Resources {
    /// Drops what the mapping at `as_of` and every later hour can no longer
    /// read (see the module docs). Call it after the hour at `as_of` is
    /// mapped; later hours must not be mapped at an earlier time.
    pub fn prune_history(&mut self, as_of: DateTime<Utc>) -> Pruned {
        let cut = as_of - Duration::hours(HISTORY_HOURS);
        let mut latest: HashMap<(Option<&str>, &Concept), DateTime<Utc>> = HashMap::new();
        for o in self.observations.values() {
            // a day without a time is never pruned: its instant depends on the wards' zone
            if let Some(at) = o.at.and_then(When::instant).filter(|at| *at <= cut && usable(o)) {
                latest.entry(key(o)).and_modify(|l| *l = (*l).max(at)).or_insert(at);
            }
        }
        let superseded: Vec<String> = self
            .observations
            .iter()
            .filter(|(_, o)| {
                usable(o)
                    && o.at
                        .and_then(When::instant)
                        .is_some_and(|at| latest.get(&key(o)).is_some_and(|l| at < *l))
            })
            .map(|(id, _)| id.clone())
            .collect();
        drop(latest);
        for id in &superseded {
            self.observations.remove(id);
        }

        let before = self.tasks.len();
        self.tasks.retain(|_, t| {
            let finished = matches!(
                &*t.status,
                "completed" | "cancelled" | "rejected" | "failed" | "entered-in-error"
            );
            !(finished && t.last_updated.is_some_and(|u| u < cut))
        });
        let tasks = before - self.tasks.len();

        let before = self.medication_requests.len();
        self.medication_requests.retain(|_, r| &*r.status == "active");
        Pruned {
            observations: superseded.len(),
            tasks,
            medication_requests: before - self.medication_requests.len(),
        }
    }
}
