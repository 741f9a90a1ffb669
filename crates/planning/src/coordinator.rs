//! The bed coordinator's question: which wards can take the next admission
//! from the emergency department — judged by free beds **and** by whether
//! the staffing still covers the need with one more patient.
//!
//! # Rule
//!
//! A new patient is assumed to need `usk_points_per_hour` and
//! `ssk_points_per_hour` ([`AdmissionAssumption`]). Over a shift of `H` hours
//! that is `points_per_hour × H` points, `× factor` staff-hours, `/ H`
//! people: so the admission adds `points_per_hour(p) × factor(p)` people of
//! profession `p` to every shift, whatever its length. For each shift given
//! (normally the current one and the next) and each profession:
//!
//! ```text
//! gap_after = gap_people − points_per_hour(p) × factor(p)
//! ```
//!
//! A ward **can take** the admission when it has a free bed and no
//! `gap_after` is below `−understaffed_people` (the verdict's threshold);
//! it is **strained** when it has a free bed but some shift would then be
//! understaffed or has no plan; **no free bed** otherwise. Wards that can
//! take come first, largest smallest margin (`min gap_after`) first, ties by
//! ward id.
//!
//! # Words
//!
//! The reason's words follow the number. A ward that can take says
//! "personalen räcker" only when its smallest margin is at least
//! [`NARROW_MARGIN_PEOPLE`] (half a person); from zero up to that it
//! "räcker knappt", and a margin below zero (short, but by no more than the
//! understaffed threshold) says so: "räcker knappt: med en ny patient blir
//! marginalen −0,3 USK under kvällspasset". Beds are counted in Swedish
//! ("1 ledig säng", "2 lediga sängar") and negatives carry the true minus sign.

use careload_scoring::snapshot::Profession;
use careload_scoring::{Points, Qty};
use serde::{Deserialize, Serialize};

use crate::gap::{ShiftAssessment, Thresholds};
use crate::words;

/// A margin (people left after the admission) below this is narrow: the
/// staff "räcker knappt" rather than "räcker". Half a person: the same
/// distance from zero as the default understaffed threshold, so a margin
/// reads as comfortable only when it is clearly on the plus side.
pub const NARROW_MARGIN_PEOPLE: Qty = Qty::from_milli(500);

/// `n` free beds in Swedish: `1 ledig säng`, `2 lediga sängar`.
fn free_beds(n: u32) -> String {
    words::count(u64::from(n), "ledig säng", "lediga sängar")
}

/// The care need assumed for a new admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct AdmissionAssumption {
    /// USK points per hour (default 1.5).
    pub usk_points_per_hour: Points,
    /// SSK points per hour (default 1.5).
    pub ssk_points_per_hour: Points,
}

impl Default for AdmissionAssumption {
    fn default() -> AdmissionAssumption {
        AdmissionAssumption {
            usk_points_per_hour: Points::from_milli(1500),
            ssk_points_per_hour: Points::from_milli(1500),
        }
    }
}

/// A ward as the coordinator sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WardBeds {
    /// The ward.
    pub ward: String,
    /// Free beds now.
    pub free_beds: u32,
    /// Its assessments, normally the current shift and the next.
    pub shifts: Vec<ShiftAssessment>,
}

/// The answer for one ward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AdmissionVerdict {
    /// A free bed and staff enough.
    CanTake,
    /// A free bed, but staffing would be short (or is not planned).
    Strained,
    /// No free bed.
    NoFreeBed,
}

/// One ward's answer, with its reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AdmissionAnswer {
    /// The ward.
    pub ward: String,
    /// The verdict.
    pub verdict: AdmissionVerdict,
    /// Free beds.
    pub free_beds: u32,
    /// The smallest gap in people after the admission, over the shifts and
    /// professions with a plan; `None` when nothing is planned.
    pub margin_people: Option<Qty>,
    /// The reason, in Swedish.
    pub reason: String,
}

/// Ranks wards for the next admission (order in the module docs).
pub fn admissions(
    wards: &[WardBeds],
    assumption: &AdmissionAssumption,
    thresholds: &Thresholds,
) -> Vec<AdmissionAnswer> {
    let mut out: Vec<AdmissionAnswer> = wards.iter().map(|w| answer(w, assumption, thresholds)).collect();
    out.sort_by(|a, b| {
        a.verdict
            .cmp(&b.verdict)
            .then_with(|| b.margin_people.cmp(&a.margin_people))
            .then_with(|| a.ward.cmp(&b.ward))
    });
    out
}

fn answer(w: &WardBeds, a: &AdmissionAssumption, t: &Thresholds) -> AdmissionAnswer {
    // (gap after, profession, shift name) for the tightest spot
    let mut tightest: Option<(Qty, Profession, String)> = None;
    let mut unplanned: Option<(Profession, String)> = None;
    for s in &w.shifts {
        for p in Profession::ALL {
            let (gap, factor, pph) = match p {
                Profession::Usk => (&s.ward.usk, s.factors.usk, a.usk_points_per_hour),
                Profession::Ssk => (&s.ward.ssk, s.factors.ssk, a.ssk_points_per_hour),
            };
            let extra = Qty::from_milli(pph.times(factor).milli());
            match gap.gap_people {
                Some(g) => {
                    let after = g - extra;
                    if tightest.as_ref().is_none_or(|(m, _, _)| after < *m) {
                        tightest = Some((after, p, words::shift_name(&s.shift.name, true)));
                    }
                }
                None => {
                    if unplanned.is_none() && extra > Qty::ZERO {
                        unplanned = Some((p, words::shift_name(&s.shift.name, true)));
                    }
                }
            }
        }
    }
    let margin_people = tightest.as_ref().map(|(m, _, _)| *m);
    let short = tightest
        .as_ref()
        .filter(|(m, _, _)| *m < Qty::ZERO - t.understaffed_people);
    let beds = free_beds(w.free_beds);
    let (verdict, reason) = if w.free_beds == 0 {
        (AdmissionVerdict::NoFreeBed, "Ingen ledig säng".to_owned())
    } else if let Some((m, p, shift)) = short {
        (
            AdmissionVerdict::Strained,
            format!(
                "{beds}, men med en ny patient saknas {} {} under {shift}",
                words::one_decimal((Qty::ZERO - *m).milli()),
                words::abbrev(*p)
            ),
        )
    } else if let Some((p, shift)) = &unplanned {
        (
            AdmissionVerdict::Strained,
            format!("{beds}, men ingen {} är planerad under {shift}", words::abbrev(*p)),
        )
    } else if w.shifts.is_empty() {
        (
            AdmissionVerdict::Strained,
            format!("{beds}, men ingen bemanning att jämföra med"),
        )
    } else {
        let reason = match &tightest {
            Some((m, p, shift)) => {
                let margin = format!("{} {} under {shift}", words::one_decimal(m.milli()), words::abbrev(*p));
                if *m < Qty::ZERO {
                    format!(
                        "Kan ta emot: {beds}, men personalen räcker knappt: med en ny patient blir marginalen {margin}"
                    )
                } else if *m < NARROW_MARGIN_PEOPLE {
                    format!(
                        "Kan ta emot: {beds}, men personalen räcker knappt med en ny patient (minsta marginal {margin})"
                    )
                } else {
                    format!(
                        "Kan ta emot: {beds} och personalen räcker även med en ny patient (minsta marginal {margin})"
                    )
                }
            }
            None => format!("Kan ta emot: {beds} och personalen räcker även med en ny patient"),
        };
        (AdmissionVerdict::CanTake, reason)
    };
    AdmissionAnswer {
        ward: w.ward.clone(),
        verdict,
        free_beds: w.free_beds,
        margin_people,
        reason,
    }
}
