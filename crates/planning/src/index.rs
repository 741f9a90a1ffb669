//! The ward index: care need per present staff member, in the spirit of
//! Gävleborg's VIM-index (which rises with intensity and patients per team
//! and falls with staff).
//!
//! # Formula
//!
//! For one ward (or team) and one shift, with `P` the forecast points of the
//! shift (USK + SSK), `N` the people present (planned minus absent, both
//! professions) and `H` the shift's length in hours:
//!
//! ```text
//! points_per_person    = P / N         the index shown on the screens
//! points_per_staff_hour = P / (N × H)  comparable across shifts of different length
//! ```
//!
//! and per profession `P(USK) / N(USK)`, `P(SSK) / N(SSK)`. Because points
//! are about six-minute units of direct care, `points_per_staff_hour` of 10
//! means every hour of every person present is direct care; the weights'
//! staff-hours factors put a sustainable level near `10 × 0.1 / factor`
//! (≈ 7.7 at 0.13 h per point). The index depends only on points (the
//! council's weights version) and head counts, so it compares across wards
//! and over time as long as the weights version is the same. Undefined
//! (`None`) when nobody is present.

use careload_scoring::score::Split;
use careload_scoring::snapshot::Profession;
use careload_scoring::{Points, Qty};
use serde::{Deserialize, Serialize};

use crate::points_per;
use crate::staffing::ShiftPlanned;

/// The ward index for one shift.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WardIndex {
    /// Forecast points of the shift, USK + SSK.
    pub points: Points,
    /// People present, both professions.
    pub present: u32,
    /// Points per person present: the index.
    pub points_per_person: Option<Points>,
    /// Points per present staff-hour.
    pub points_per_staff_hour: Option<Points>,
    /// USK points per assistant nurse present.
    pub usk_points_per_person: Option<Points>,
    /// SSK points per registered nurse present.
    pub ssk_points_per_person: Option<Points>,
}

/// The index of a shift's need (`points` per profession) against its planned staffing.
pub fn ward_index(points: &Split, planned: &ShiftPlanned, shift_hours: Qty) -> WardIndex {
    let total = points.usk + points.ssk;
    let present = planned.available();
    let per_prof = |p: Profession| {
        let n = planned.get(p).map(|c| c.available()).unwrap_or(0);
        points_per(points.get(p), Qty::whole(i64::from(n)))
    };
    WardIndex {
        points: total,
        present,
        points_per_person: points_per(total, Qty::whole(i64::from(present))),
        points_per_staff_hour: points_per(total, Qty::whole(i64::from(present)).times(shift_hours)),
        usk_points_per_person: per_prof(Profession::Usk),
        ssk_points_per_person: per_prof(Profession::Ssk),
    }
}
