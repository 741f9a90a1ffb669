//! Weights with every component's points multiplied by a scale: the
//! candidate that `careload weights fit` proposes (issue 27).
//!
//! [`Weights::with_component_scales`] multiplies every **additive**
//! parameter, one that gives points of its own, by the scale of the
//! component its points go to:
//!
//! | section | parameters scaled | component |
//! |---|---|---|
//! | `activities.codes.*` | all four Norton levels | basic nursing when the code's profession is USK, specific nursing when SSK |
//! | `medications.*` | `per_order_hour`, `per_administration` | medications |
//! | `news2` | `per_measurement`, every band's `per_hour` | NEWS2 |
//! | `emotional_support` | every level | emotional support |
//! | `orders.*` | `points` | orders |
//! | `care_plans.*` | `per_hour` | care plans |
//! | `diagnoses` | `per_hour` | diagnoses |
//! | `modifiers.newly_admitted` | `extra_per_hour` | modifiers |
//!
//! Left as they are, because they are not a component's points:
//! * `modifiers.outlier.multiplier` is a factor on the patient's other
//!   points, so its extra already follows their scales;
//! * `modifiers.newly_admitted.floor_per_hour` is a floor on the patient's
//!   **total**, a level rather than points of one component (the fit keeps
//!   the average total where it was, so the floor keeps its meaning);
//! * `hours`, `full_documentation_items`, NEWS2 band limits and the Norton
//!   level assumed are not points at all;
//! * `staff_hours` turns points into hours; the fit keeps the mean points
//!   per person, so the factors keep their meaning.
//!
//! Each scaled weight is rounded to the nearest thousandth (the file
//! format's precision), halves away from zero. Scoring a snapshot under the
//! scaled weights therefore multiplies each component's points by its scale
//! exactly when every scaled weight and every line is exact in thousandths,
//! and otherwise within each line's rounding. Two exceptions: an activity
//! whose task names the other profession is scaled by its code's component,
//! not the one its points go to; and the modifiers component's outlier and
//! floor points follow the rules above, not the modifiers' scale.
//!
//! The result keeps the meta of `self` (the caller writes the candidate's)
//! and has no digest: it was not read from a file.

use crate::points::{Points, Qty};
use crate::score::Component;
use crate::snapshot::Profession;

use super::Weights;

impl Weights {
    /// These weights with every additive parameter multiplied by the scale
    /// of its component (`scales` in [`Component::ALL`] order); the module
    /// doc lists what is scaled and what is not, and why. A negative scale
    /// counts as 0: a weight is never negative.
    #[must_use]
    pub fn with_component_scales(&self, scales: &[Qty; Component::ALL.len()]) -> Weights {
        let of = |c: Component| -> Qty {
            let i = Component::ALL.iter().position(|&x| x == c).unwrap_or(0);
            if scales[i] < Qty::ZERO { Qty::ZERO } else { scales[i] }
        };
        let scale = |p: Points, c: Component| p.times(of(c));
        let mut w = self.clone();
        w.digest = String::new();
        for a in &mut w.activities {
            let c = match a.profession {
                Profession::Usk => Component::BasicNursing,
                Profession::Ssk => Component::SpecificNursing,
            };
            for p in &mut a.points {
                *p = scale(*p, c);
            }
        }
        for r in &mut w.medications.routes {
            r.per_order_hour = scale(r.per_order_hour, Component::Medications);
            r.per_administration = scale(r.per_administration, Component::Medications);
        }
        w.news2.per_measurement = scale(w.news2.per_measurement, Component::News2);
        for b in &mut w.news2.bands {
            b.per_hour = scale(b.per_hour, Component::News2);
        }
        for p in &mut w.emotional_support.per_hour {
            *p = scale(*p, Component::EmotionalSupport);
        }
        for o in &mut w.orders {
            o.points = scale(o.points, Component::Orders);
        }
        for c in &mut w.care_plans {
            c.points = scale(c.points, Component::CarePlans);
        }
        for d in &mut w.diagnoses {
            d.per_hour = scale(d.per_hour, Component::Diagnoses);
        }
        let na = &mut w.modifiers.newly_admitted;
        na.extra_per_hour = scale(na.extra_per_hour, Component::Modifiers);
        w
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::score::{Window, score};
    use crate::snapshot::{
        Activity, ActivityStatus, CarePlan, Diagnosis, Dosing, EmotionalSupport, MedicationOrder, News2Observation,
        Norton, NortonActivity, Order, PatientKey, Route, Snapshot, SupportLevel,
    };

    fn t(h: i64) -> DateTime<Utc> {
        "2026-11-23T09:00:00Z".parse::<DateTime<Utc>>().expect("time") + Duration::hours(h)
    }

    /// Scales whose products with the weights used below are exact in thousandths.
    const SCALES: [Qty; 9] = [
        Qty::from_milli(2_000), // medications
        Qty::from_milli(3_000), // orders
        Qty::from_milli(500),   // basic nursing
        Qty::from_milli(1_500), // specific nursing
        Qty::from_milli(2_000), // NEWS2
        Qty::from_milli(500),   // emotional support
        Qty::from_milli(2_000), // care plans
        Qty::from_milli(3_000), // diagnoses
        Qty::from_milli(2_000), // modifiers
    ];

    /// A patient with something in every component but the modifiers,
    /// admitted long ago, scored over 24 hours (so every quantity is whole).
    fn rich() -> Snapshot {
        let mut s = Snapshot::new(PatientKey("k".into()), t(0), t(-120), "ward");
        s.norton = Some(Norton {
            activity: NortonActivity::Walks,
            total: Some(18),
            assessed_at: t(-1),
        });
        let activity = |code: &str, h: i64| Activity {
            code: code.into(),
            due: Some(t(h)),
            status: ActivityStatus::Open,
            profession: None,
            source: None,
        };
        s.activities = vec![activity("personal-hygiene", 1), activity("wound-care", 2)];
        s.medications = vec![MedicationOrder {
            route: Route::Oral,
            dosing: Dosing::At {
                times: vec![t(1), t(13)],
            },
            source: None,
        }];
        s.news2 = vec![
            News2Observation {
                at: t(-2),
                value: 3,
                source: None,
            },
            News2Observation {
                at: t(-1),
                value: 2,
                source: None,
            },
        ];
        s.emotional_support = Some(EmotionalSupport {
            level: SupportLevel::Hourly,
            assessed_at: t(-1),
            source: None,
        });
        s.orders = vec![Order {
            category: "lab-sample".into(),
            due: Some(t(3)),
            source: None,
        }];
        s.care_plans = vec![CarePlan {
            category: "fall-risk".into(),
            source: None,
        }];
        s.diagnoses = vec![Diagnosis {
            code: "F32".into(),
            source: None,
        }];
        s
    }

    /// A patient admitted ten hours ago with nothing documented: the
    /// newly-admitted extra, and a care plan and diagnosis (not counted as
    /// documentation) keeping the total above the floor.
    fn newly_admitted() -> Snapshot {
        let mut s = Snapshot::new(PatientKey("n".into()), t(0), t(-10), "ward");
        s.care_plans = vec![CarePlan {
            category: "palliative".into(),
            source: None,
        }];
        s
    }

    #[test]
    fn rescoring_multiplies_each_component_by_its_scale() {
        let w = Weights::built_in().expect("built in");
        let scaled = w.with_component_scales(&SCALES);
        let window = Window::new(t(0), t(24)).expect("window");
        for (name, s) in [("rich", rich()), ("newly admitted", newly_admitted())] {
            let before = score(&s, &w, window);
            let after = score(&s, &scaled, window);
            assert!(before.unmatched.is_empty(), "{name}: {:?}", before.unmatched);
            for (c, k) in Component::ALL.iter().zip(SCALES) {
                assert_eq!(
                    after.components.get(*c),
                    before.components.get(*c).times(k),
                    "{name}: {c:?}\n{before:#?}\n{after:#?}"
                );
            }
            assert!(before.total > Points::ZERO);
        }
        // every component but the modifiers has points in the rich patient
        let rich = score(&rich(), &w, window);
        for c in &Component::ALL[..8] {
            assert!(rich.components.get(*c) > Points::ZERO, "{c:?}");
        }
        let new = score(&newly_admitted(), &w, window);
        assert!(new.components.get(Component::Modifiers) > Points::ZERO);
    }

    #[test]
    fn what_is_not_points_stays() {
        let w = Weights::built_in().expect("built in");
        let scaled = w.with_component_scales(&SCALES);
        assert_eq!(scaled.modifiers.outlier, w.modifiers.outlier);
        assert_eq!(
            scaled.modifiers.newly_admitted.floor_per_hour,
            w.modifiers.newly_admitted.floor_per_hour
        );
        assert_eq!(scaled.modifiers.newly_admitted.hours, w.modifiers.newly_admitted.hours);
        assert_eq!(scaled.staff_hours, w.staff_hours);
        assert_eq!(scaled.meta, w.meta);
        assert!(scaled.digest.is_empty());
        // the scales of 1 change nothing
        let same = w.with_component_scales(&[Qty::ONE; 9]);
        assert_eq!(same.parameters(), w.parameters());
        // a negative scale is 0, never a negative weight
        let mut negative = [Qty::ONE; 9];
        negative[0] = Qty::from_milli(-500);
        let zero = w.with_component_scales(&negative);
        assert!(
            zero.medications
                .routes
                .iter()
                .all(|r| r.per_administration == Points::ZERO)
        );
    }
}
