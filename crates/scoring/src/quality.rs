//! Documentation quality (fill rate): how complete the journal behind a
//! score is. The score is only as good as what is documented; both Swedish
//! regions that built this say so, and ward managers need to see where the
//! journal is thin before they trust a low number.
//!
//! For one snapshot at one instant, [`assess`] says:
//!
//! * **Norton stale** — no Norton assessment, or one older than
//!   `norton_max_age_days`;
//! * **NEWS2 overdue** — no NEWS2, or the last one older than the minimum
//!   monitoring interval the RCP (2017) sets for its value: 12 hours for 0,
//!   6 hours for 1–4 (RCP: "4–6-hourly", the lenient end), 1 hour for 5 or
//!   more (RCP: hourly at 5–6, continuous at 7+);
//! * **activities without a due time** and **activities with a generic code**
//!   (a configured list such as `other`), counted among open activities;
//! * **thin after admission** — admitted more than `thin_after_hours` ago and
//!   still fewer documented items than the weights' `full_documentation_items`
//!   (the same count the newly-admitted modifier uses).
//!
//! Pure like the rest of the crate: the caller passes the instant and rules.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::snapshot::{ActivityStatus, Snapshot};

/// What counts as incomplete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityRules {
    /// A Norton assessment older than this many days is stale.
    pub norton_max_age_days: u32,
    /// Activity codes that say nothing specific (`other`, `annat`).
    pub generic_codes: Vec<String>,
    /// Hours after admission from which thin documentation counts.
    pub thin_after_hours: u32,
    /// Documented items that make documentation full (the weights'
    /// `modifiers.newly_admitted.full_documentation_items`).
    pub full_items: u32,
}

impl Default for QualityRules {
    fn default() -> QualityRules {
        QualityRules {
            norton_max_age_days: 7,
            generic_codes: vec!["other".into(), "annat".into()],
            thin_after_hours: 24,
            full_items: 6,
        }
    }
}

/// One patient's documentation at one instant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quality {
    /// No Norton, or older than the rules allow.
    pub norton_stale: bool,
    /// No NEWS2, or the last one older than its RCP monitoring interval.
    pub news2_overdue: bool,
    /// Open activities.
    pub activities: u16,
    /// Open activities without a due time.
    pub activities_without_due: u16,
    /// Open activities with a generic code.
    pub activities_generic: u16,
    /// Admitted long enough ago and still thinly documented.
    pub thin_after_admission: bool,
}

/// The RCP minimum monitoring interval for a NEWS2 total.
pub fn news2_interval(value: u8) -> Duration {
    match value {
        0 => Duration::hours(12),
        1..=4 => Duration::hours(6),
        _ => Duration::hours(1),
    }
}

/// Assesses `s` at instant `at`.
pub fn assess(s: &Snapshot, at: DateTime<Utc>, rules: &QualityRules) -> Quality {
    let norton_stale = s
        .norton
        .as_ref()
        .is_none_or(|n| at - n.assessed_at > Duration::days(i64::from(rules.norton_max_age_days)));
    let news2_overdue = s
        .news2
        .iter()
        .filter(|o| o.at <= at)
        .max_by_key(|o| o.at)
        .is_none_or(|last| at - last.at > news2_interval(last.value));
    let mut q = Quality {
        norton_stale,
        news2_overdue,
        ..Quality::default()
    };
    let mut documented = 0usize;
    for a in &s.activities {
        if a.status == ActivityStatus::Cancelled {
            continue;
        }
        documented += 1;
        if a.status == ActivityStatus::Completed {
            continue;
        }
        q.activities = q.activities.saturating_add(1);
        if a.due.is_none() {
            q.activities_without_due = q.activities_without_due.saturating_add(1);
        }
        if rules.generic_codes.iter().any(|g| g.eq_ignore_ascii_case(&a.code)) {
            q.activities_generic = q.activities_generic.saturating_add(1);
        }
    }
    documented += s.medications.len()
        + usize::from(!s.news2.is_empty() || !s.vitals.is_empty())
        + usize::from(s.norton.is_some())
        + usize::from(s.emotional_support.is_some());
    q.thin_after_admission = at - s.admitted_at > Duration::hours(i64::from(rules.thin_after_hours))
        && documented < rules.full_items as usize;
    q
}

/// Sums of [`Quality`] over a group of patients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct QualityCounts {
    /// Patients assessed (those scored by the hourly run).
    pub assessed: u32,
    /// Of them, Norton missing or stale.
    pub norton_stale: u32,
    /// Of them, NEWS2 missing or overdue.
    pub news2_overdue: u32,
    /// Open activities.
    pub activities: u32,
    /// Of them, without a due time.
    pub activities_without_due: u32,
    /// Of them, with a generic code.
    pub activities_generic: u32,
    /// Patients thinly documented after admission.
    pub thin_after_admission: u32,
}

impl QualityCounts {
    /// Adds one patient.
    pub fn add(&mut self, q: &Quality) {
        self.assessed += 1;
        self.norton_stale += u32::from(q.norton_stale);
        self.news2_overdue += u32::from(q.news2_overdue);
        self.activities += u32::from(q.activities);
        self.activities_without_due += u32::from(q.activities_without_due);
        self.activities_generic += u32::from(q.activities_generic);
        self.thin_after_admission += u32::from(q.thin_after_admission);
    }

    /// Adds another group.
    pub fn merge(&mut self, o: &QualityCounts) {
        self.assessed += o.assessed;
        self.norton_stale += o.norton_stale;
        self.news2_overdue += o.news2_overdue;
        self.activities += o.activities;
        self.activities_without_due += o.activities_without_due;
        self.activities_generic += o.activities_generic;
        self.thin_after_admission += o.thin_after_admission;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{Activity, News2Observation, Norton, NortonActivity, PatientKey};

    fn at() -> DateTime<Utc> {
        "2026-11-23T12:00:00Z".parse().expect("time")
    }

    fn patient() -> Snapshot {
        let mut s = Snapshot::new(PatientKey("p".into()), at(), at() - Duration::days(3), "W1");
        s.norton = Some(Norton {
            activity: NortonActivity::ALL[0],
            total: Some(15),
            assessed_at: at() - Duration::days(2),
        });
        s.news2.push(News2Observation {
            at: at() - Duration::hours(3),
            value: 2,
            source: None,
        });
        s
    }

    fn activity(code: &str, due: bool, status: ActivityStatus) -> Activity {
        Activity {
            code: code.into(),
            due: due.then(|| at() + Duration::hours(1)),
            status,
            profession: None,
            source: None,
        }
    }

    #[test]
    fn a_well_documented_patient_is_complete() {
        let mut s = patient();
        for code in ["wound-care", "shower", "mobilisation", "repositioning"] {
            s.activities.push(activity(code, true, ActivityStatus::Open));
        }
        let q = assess(&s, at(), &QualityRules::default());
        assert_eq!(
            q,
            Quality {
                activities: 4,
                ..Quality::default()
            }
        );
    }

    #[test]
    fn each_gap_is_flagged_by_the_rules() {
        let rules = QualityRules::default();
        // Norton: 8 days old is stale at 7 days, missing is stale
        let mut s = patient();
        s.norton.as_mut().expect("norton").assessed_at = at() - Duration::days(8);
        assert!(assess(&s, at(), &rules).norton_stale);
        s.norton = None;
        assert!(assess(&s, at(), &rules).norton_stale);

        // NEWS2 by the RCP interval of its value
        let cases = [
            (0, 11, false),
            (0, 13, true),
            (3, 5, false),
            (3, 7, true),
            (6, 0, false),
            (7, 2, true),
        ];
        for (value, hours_ago, overdue) in cases {
            let mut s = patient();
            s.news2[0] = News2Observation {
                at: at() - Duration::hours(hours_ago),
                value,
                source: None,
            };
            assert_eq!(
                assess(&s, at(), &rules).news2_overdue,
                overdue,
                "NEWS2 {value}, {hours_ago} h ago"
            );
        }
        let mut s = patient();
        s.news2.clear();
        assert!(assess(&s, at(), &rules).news2_overdue, "no NEWS2 at all");

        // activities: open ones counted; done and cancelled not
        let mut s = patient();
        s.activities = vec![
            activity("wound-care", false, ActivityStatus::Open),
            activity("Other", true, ActivityStatus::Open),
            activity("annat", false, ActivityStatus::Open),
            activity("shower", false, ActivityStatus::Completed),
            activity("other", false, ActivityStatus::Cancelled),
        ];
        let q = assess(&s, at(), &rules);
        assert_eq!(
            (q.activities, q.activities_without_due, q.activities_generic),
            (3, 2, 2)
        );
    }

    #[test]
    fn thin_documentation_counts_only_after_the_grace_hours() {
        let rules = QualityRules::default();
        let mut s = patient(); // Norton + NEWS2 = 2 items < 6
        assert!(assess(&s, at(), &rules).thin_after_admission);
        s.admitted_at = at() - Duration::hours(10);
        assert!(!assess(&s, at(), &rules).thin_after_admission, "still within 24 h");
        s.admitted_at = at() - Duration::days(3);
        for code in ["a", "b", "c", "d"] {
            s.activities.push(activity(code, true, ActivityStatus::Open));
        }
        assert!(!assess(&s, at(), &rules).thin_after_admission, "six items");
    }

    #[test]
    fn counts_add_up() {
        let mut c = QualityCounts::default();
        c.add(&Quality {
            norton_stale: true,
            activities: 3,
            activities_without_due: 1,
            ..Quality::default()
        });
        c.add(&Quality::default());
        let mut d = QualityCounts::default();
        d.merge(&c);
        d.merge(&c);
        assert_eq!(
            (d.assessed, d.norton_stale, d.activities, d.activities_without_due),
            (4, 2, 6, 2)
        );
    }
}
