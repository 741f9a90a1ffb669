//! What changed since the previous hour, and why: the difference between two
//! scored snapshots of one patient.
//!
//! # Items and their identity
//!
//! Every contribution of a [`Score`] comes from a [`Source`], an index into
//! the snapshot's lists. Indexes are not stable from one hour to the next, so
//! an item is identified by what it is:
//!
//! * activities, medication orders, orders, care plans and diagnoses by their
//!   FHIR reference when the snapshot kept one (so a task whose due time
//!   moved is the same task), else by kind, code (route for a medication,
//!   category for orders and care plans) and due time;
//! * NEWS2 (charted totals and vital-sign sets together), emotional support
//!   and each component of the patient-level contributions (measurement
//!   frequency, outlier and newly-admitted modifiers) are *standing* items,
//!   present in every hour.
//!
//! # The reconciliation
//!
//! Each item's points are the sum of its contributions in each hour.
//! [`Change::started`] lists the items present now but not then,
//! [`Change::ended`] those present then but not now, [`Change::changed`]
//! items in both hours whose points differ. Items unchanged in points are
//! left out. Hence, exactly:
//!
//! `Σ (to − from)` over `started`, `ended` and `changed` = `total.to − total.from`
//!
//! (tested below), so the "why" always adds up to the "what". The FHIR
//! references used for identity are never part of the result.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::news2::RiskLevel;
use crate::points::Points;
use crate::score::{Component, Score, Source};
use crate::snapshot::{NortonActivity, Placement, Snapshot, SupportLevel};

/// The kind of an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A to-do activity.
    Activity,
    /// A medication order.
    Medication,
    /// A multidisciplinary order.
    Order,
    /// A care plan.
    CarePlan,
    /// A diagnosis.
    Diagnosis,
    /// NEWS2 (band and measurements charted or computed).
    News2,
    /// Emotional support.
    EmotionalSupport,
    /// Patient-level contributions of one component (measurement frequency, modifiers).
    Patient,
}

/// One value before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Transition_{T}")]
pub struct Transition<T> {
    /// In the previous hour.
    pub from: T,
    /// Now.
    pub to: T,
}

/// Points before and after, and the difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Delta {
    /// In the previous hour.
    pub from: Points,
    /// Now.
    pub to: Points,
    /// `to − from`.
    pub delta: Points,
}

impl Delta {
    /// The change from `from` to `to`.
    pub fn new(from: Points, to: Points) -> Delta {
        Delta {
            from,
            to,
            delta: to - from,
        }
    }
}

/// One component's change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ComponentDelta {
    /// The component.
    pub component: Component,
    /// Its points before and after.
    #[serde(flatten)]
    pub points: Delta,
}

/// The NEWS2 used, before and after.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct News2Change {
    /// The NEWS2 value.
    pub value: Transition<Option<u8>>,
    /// Its risk level.
    pub risk: Transition<Option<RiskLevel>>,
}

/// An item that started, ended or changed its points.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct ItemChange {
    /// What kind of item.
    pub kind: ItemKind,
    /// Its code: activity code, medication route, order or care-plan
    /// category, diagnosis code, support level, or the component for
    /// patient-level items.
    pub code: String,
    /// Its due time, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due: Option<DateTime<Utc>>,
    /// Its points before and after.
    #[serde(flatten)]
    pub points: Delta,
}

/// What changed between two scored snapshots of one patient.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Change {
    /// The total.
    pub total: Delta,
    /// Assistant nurse (USK) points.
    pub usk: Delta,
    /// Registered nurse (SSK) points.
    pub ssk: Delta,
    /// Components whose points changed, in [`Component::ALL`] order.
    pub components: Vec<ComponentDelta>,
    /// The NEWS2 value or risk, when either changed.
    pub news2: Option<News2Change>,
    /// The Norton physical-activity level, when it changed.
    pub norton: Option<Transition<Option<NortonActivity>>>,
    /// The Norton total, when it changed.
    pub norton_total: Option<Transition<Option<u8>>>,
    /// The emotional-support level, when it changed.
    pub emotional_support: Option<Transition<Option<SupportLevel>>>,
    /// Ward, team or bed, when any changed.
    pub placement: Option<Transition<Placement>>,
    /// The outlier flag, when it changed.
    pub outlying: Option<Transition<bool>>,
    /// Items present now and not in the previous hour.
    pub started: Vec<ItemChange>,
    /// Items present in the previous hour and not now.
    pub ended: Vec<ItemChange>,
    /// Items present in both hours whose points changed.
    pub changed: Vec<ItemChange>,
}

impl Change {
    /// True when nothing at all changed.
    pub fn is_empty(&self) -> bool {
        self.total.delta == Points::ZERO
            && self.usk.delta == Points::ZERO
            && self.ssk.delta == Points::ZERO
            && self.components.is_empty()
            && self.news2.is_none()
            && self.norton.is_none()
            && self.norton_total.is_none()
            && self.emotional_support.is_none()
            && self.placement.is_none()
            && self.outlying.is_none()
            && self.started.is_empty()
            && self.ended.is_empty()
            && self.changed.is_empty()
    }
}

/// An item's identity within one patient.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    kind: ItemKind,
    /// The FHIR reference when known; then code and due do not take part.
    reference: Option<String>,
    code: String,
    due: Option<DateTime<Utc>>,
}

/// What is shown of an item (never its reference).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Shown {
    code: String,
    due: Option<DateTime<Utc>>,
}

fn key(kind: ItemKind, reference: Option<&String>, code: &str, due: Option<DateTime<Utc>>) -> (Key, Shown) {
    let shown = Shown {
        code: code.to_owned(),
        due,
    };
    let key = match reference {
        Some(r) => Key {
            kind,
            reference: Some(r.clone()),
            code: String::new(),
            due: None,
        },
        None => Key {
            kind,
            reference: None,
            code: code.to_owned(),
            due,
        },
    };
    (key, shown)
}

/// The items of a snapshot with their identity.
fn items(s: &Snapshot) -> BTreeMap<Key, Shown> {
    let mut out = BTreeMap::new();
    for a in &s.activities {
        let (k, v) = key(ItemKind::Activity, a.source.as_ref(), &a.code, a.due);
        out.insert(k, v);
    }
    for m in &s.medications {
        let (k, v) = key(ItemKind::Medication, m.source.as_ref(), m.route.key(), None);
        out.insert(k, v);
    }
    for o in &s.orders {
        let (k, v) = key(ItemKind::Order, o.source.as_ref(), &o.category, o.due);
        out.insert(k, v);
    }
    for c in &s.care_plans {
        let (k, v) = key(ItemKind::CarePlan, c.source.as_ref(), &c.category, None);
        out.insert(k, v);
    }
    for d in &s.diagnoses {
        let (k, v) = key(ItemKind::Diagnosis, d.source.as_ref(), &d.code, None);
        out.insert(k, v);
    }
    out
}

/// The identity of the item a contribution came from.
fn source_key(source: Source, component: Component, s: &Snapshot) -> (Key, Shown) {
    let at = |i: u32| i as usize;
    let standing = |kind: ItemKind, code: &str| key(kind, None, code, None);
    match source {
        Source::Activity(i) => match s.activities.get(at(i)) {
            Some(a) => key(ItemKind::Activity, a.source.as_ref(), &a.code, a.due),
            None => standing(ItemKind::Activity, "unknown"),
        },
        Source::Medication(i) => match s.medications.get(at(i)) {
            Some(m) => key(ItemKind::Medication, m.source.as_ref(), m.route.key(), None),
            None => standing(ItemKind::Medication, "unknown"),
        },
        Source::Order(i) => match s.orders.get(at(i)) {
            Some(o) => key(ItemKind::Order, o.source.as_ref(), &o.category, o.due),
            None => standing(ItemKind::Order, "unknown"),
        },
        Source::CarePlan(i) => match s.care_plans.get(at(i)) {
            Some(c) => key(ItemKind::CarePlan, c.source.as_ref(), &c.category, None),
            None => standing(ItemKind::CarePlan, "unknown"),
        },
        Source::Diagnosis(i) => match s.diagnoses.get(at(i)) {
            Some(d) => key(ItemKind::Diagnosis, d.source.as_ref(), &d.code, None),
            None => standing(ItemKind::Diagnosis, "unknown"),
        },
        Source::News2(_) | Source::Vitals(_) => standing(ItemKind::News2, "news2"),
        Source::EmotionalSupport => standing(ItemKind::EmotionalSupport, "emotional_support"),
        Source::Patient => standing(ItemKind::Patient, component.key()),
    }
}

/// Points per item of a score.
fn points_by_item(s: &Snapshot, score: &Score) -> BTreeMap<Key, (Shown, Points)> {
    let mut out: BTreeMap<Key, (Shown, Points)> = BTreeMap::new();
    for c in &score.contributions {
        let (k, shown) = source_key(c.source, c.component, s);
        out.entry(k).or_insert((shown, Points::ZERO)).1 += c.points;
    }
    out
}

fn transition<T: PartialEq + Clone>(from: T, to: T) -> Option<Transition<T>> {
    (from != to).then_some(Transition { from, to })
}

/// What changed from `previous` (the previous hour's snapshot and score) to
/// `current`.
pub fn change(previous: (&Snapshot, &Score), current: (&Snapshot, &Score)) -> Change {
    let (ps, pscore) = previous;
    let (cs, cscore) = current;

    let components = Component::ALL
        .into_iter()
        .filter_map(|c| {
            let d = Delta::new(pscore.components.get(c), cscore.components.get(c));
            (d.delta != Points::ZERO).then_some(ComponentDelta {
                component: c,
                points: d,
            })
        })
        .collect();

    let news2 = {
        let value = Transition {
            from: pscore.news2.map(|n| n.value),
            to: cscore.news2.map(|n| n.value),
        };
        let risk = Transition {
            from: pscore.news2.map(|n| n.risk),
            to: cscore.news2.map(|n| n.risk),
        };
        (value.from != value.to || risk.from != risk.to).then_some(News2Change { value, risk })
    };

    let (prev_items, cur_items) = (items(ps), items(cs));
    let (prev_points, cur_points) = (points_by_item(ps, pscore), points_by_item(cs, cscore));
    let points_of = |m: &BTreeMap<Key, (Shown, Points)>, k: &Key| m.get(k).map_or(Points::ZERO, |(_, p)| *p);

    let mut started = Vec::new();
    let mut ended = Vec::new();
    let mut changed = Vec::new();
    let every: BTreeSet<&Key> = prev_items
        .keys()
        .chain(cur_items.keys())
        .chain(prev_points.keys())
        .chain(cur_points.keys())
        .collect();
    for k in every {
        let before = points_of(&prev_points, k);
        let after = points_of(&cur_points, k);
        let shown = cur_items
            .get(k)
            .or_else(|| cur_points.get(k).map(|(s, _)| s))
            .or_else(|| prev_items.get(k))
            .or_else(|| prev_points.get(k).map(|(s, _)| s));
        let Some(shown) = shown else { continue };
        let item = ItemChange {
            kind: k.kind,
            code: shown.code.clone(),
            due: shown.due,
            points: Delta::new(before, after),
        };
        let listed = matches!(
            k.kind,
            ItemKind::Activity | ItemKind::Medication | ItemKind::Order | ItemKind::CarePlan | ItemKind::Diagnosis
        );
        let (was, is) = if listed {
            (prev_items.contains_key(k), cur_items.contains_key(k))
        } else {
            (true, true)
        };
        match (was, is) {
            (false, true) => started.push(item),
            (true, false) => ended.push(item),
            _ if before != after => changed.push(item),
            _ => {}
        }
    }

    Change {
        total: Delta::new(pscore.total, cscore.total),
        usk: Delta::new(pscore.professions.usk, cscore.professions.usk),
        ssk: Delta::new(pscore.professions.ssk, cscore.professions.ssk),
        components,
        news2,
        norton: transition(
            ps.norton.as_ref().map(|n| n.activity),
            cs.norton.as_ref().map(|n| n.activity),
        ),
        norton_total: transition(
            ps.norton.as_ref().and_then(|n| n.total),
            cs.norton.as_ref().and_then(|n| n.total),
        ),
        emotional_support: transition(
            ps.emotional_support.as_ref().map(|e| e.level),
            cs.emotional_support.as_ref().map(|e| e.level),
        ),
        placement: transition(ps.placement.clone(), cs.placement.clone()),
        outlying: transition(ps.outlying, cs.outlying),
        started,
        ended,
        changed,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used, clippy::unwrap_used)]

    use chrono::Duration;

    use super::*;
    use crate::score::score_now;
    use crate::snapshot::{
        Activity, ActivityStatus, CarePlan, EmotionalSupport, MedicationOrder, News2Observation, Norton, PatientKey,
        Route,
    };
    use crate::weights::Weights;

    const WEIGHTS: &str = include_str!("../../../weights/2026.1.toml");

    fn weights() -> Weights {
        Weights::from_toml(WEIGHTS, "weights/2026.1.toml").expect("weights")
    }

    fn t(hour: i64) -> DateTime<Utc> {
        "2026-11-23T00:05:00Z".parse::<DateTime<Utc>>().expect("time") + Duration::hours(hour)
    }

    /// A patient at `hour` (as_of five past), admitted long ago.
    fn base(hour: i64) -> Snapshot {
        let mut s = Snapshot::new(PatientKey("p1".into()), t(hour), t(-100), "w1");
        s.placement.team = Some("a".into());
        s.placement.bed = Some("1".into());
        s.norton = Some(Norton {
            activity: NortonActivity::WalksWithHelp,
            total: Some(16),
            assessed_at: t(-5),
        });
        s.news2.push(News2Observation {
            at: t(-1),
            value: 1,
            source: Some("Observation/n1".into()),
        });
        s.medications.push(MedicationOrder {
            route: Route::Oral,
            dosing: crate::snapshot::Dosing::PerDay { times: 3 },
            source: Some("MedicationRequest/m1".into()),
        });
        s
    }

    fn scored(s: Snapshot, w: &Weights) -> (Snapshot, Score) {
        let score = score_now(&s, w);
        (s, score)
    }

    fn reconciles(c: &Change) -> bool {
        let sum: Points = c
            .started
            .iter()
            .chain(&c.ended)
            .chain(&c.changed)
            .map(|i| i.points.delta)
            .sum();
        sum == c.total.delta
    }

    #[test]
    fn an_unchanged_patient_has_no_change() {
        let w = weights();
        let (a, sa) = scored(base(0), &w);
        let (b, sb) = scored(base(0), &w);
        let c = change((&a, &sa), (&b, &sb));
        assert!(c.is_empty(), "{c:?}");
    }

    #[test]
    fn a_news2_rise_is_named_with_its_points() {
        let w = weights();
        let (a, sa) = scored(base(0), &w);
        let mut now = base(1);
        now.news2.push(News2Observation {
            at: t(1) - Duration::minutes(2),
            value: 7,
            source: Some("Observation/n2".into()),
        });
        let (b, sb) = scored(now, &w);
        let c = change((&a, &sa), (&b, &sb));
        let news2 = c.news2.expect("news2 changed");
        assert_eq!(
            news2.value,
            Transition {
                from: Some(1),
                to: Some(7)
            }
        );
        assert_eq!(news2.risk.to, Some(RiskLevel::High));
        assert!(c.total.delta > Points::ZERO, "{c:?}");
        assert!(
            c.components
                .iter()
                .any(|d| d.component == Component::News2 && d.points.delta > Points::ZERO)
        );
        assert!(
            c.changed
                .iter()
                .any(|i| i.kind == ItemKind::News2 && i.points.delta > Points::ZERO)
        );
        assert!(reconciles(&c), "{c:?}");
    }

    #[test]
    fn items_start_end_and_move_by_identity() {
        let w = weights();
        let mut then = base(0);
        then.care_plans.push(CarePlan {
            category: "palliative".into(),
            source: Some("CarePlan/c1".into()),
        });
        let (a, sa) = scored(then, &w);
        let mut now = base(1);
        // Same medication order by reference, different route: changed, not ended + started.
        now.medications[0].route = Route::Intravenous;
        now.activities.push(Activity {
            code: "wound-care".into(),
            due: Some(t(1) + Duration::minutes(20)),
            status: ActivityStatus::Open,
            profession: None,
            source: Some("Task/t1".into()),
        });
        now.emotional_support = Some(EmotionalSupport {
            level: SupportLevel::ContinuousOne,
            assessed_at: t(1) - Duration::minutes(1),
            source: None,
        });
        now.placement.bed = Some("2".into());
        let (b, sb) = scored(now, &w);
        let c = change((&a, &sa), (&b, &sb));

        let cases: [(&str, &[ItemChange], ItemKind, &str); 3] = [
            ("started", &c.started, ItemKind::Activity, "wound-care"),
            ("ended", &c.ended, ItemKind::CarePlan, "palliative"),
            ("changed", &c.changed, ItemKind::Medication, "intravenous"),
        ];
        for (list, found, kind, code) in cases {
            assert!(
                found.iter().any(|i| i.kind == kind && i.code == code),
                "{list}: {found:?}"
            );
        }
        assert!(c.started.iter().all(|i| i.points.from == Points::ZERO));
        assert!(
            c.ended
                .iter()
                .all(|i| i.points.to == Points::ZERO && i.points.from > Points::ZERO)
        );
        assert_eq!(
            c.emotional_support,
            Some(Transition {
                from: None,
                to: Some(SupportLevel::ContinuousOne)
            })
        );
        let moved = c.placement.as_ref().expect("moved");
        assert_eq!(
            (moved.from.bed.as_deref(), moved.to.bed.as_deref()),
            (Some("1"), Some("2"))
        );
        assert!(reconciles(&c), "{c:?}");
        let json = serde_json::to_string(&c).expect("json");
        assert!(
            !json.contains("Task/") && !json.contains("CarePlan/"),
            "references leak: {json}"
        );
    }

    #[test]
    fn norton_changes_are_reported() {
        let w = weights();
        let (a, sa) = scored(base(0), &w);
        let mut now = base(1);
        now.norton = Some(Norton {
            activity: NortonActivity::Bedridden,
            total: Some(9),
            assessed_at: t(1),
        });
        let (b, sb) = scored(now, &w);
        let c = change((&a, &sa), (&b, &sb));
        assert_eq!(
            c.norton,
            Some(Transition {
                from: Some(NortonActivity::WalksWithHelp),
                to: Some(NortonActivity::Bedridden)
            })
        );
        assert_eq!(
            c.norton_total,
            Some(Transition {
                from: Some(16),
                to: Some(9)
            })
        );
        assert!(reconciles(&c), "{c:?}");
    }
}
