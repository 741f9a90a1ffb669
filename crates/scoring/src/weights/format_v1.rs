//! Weights file format 1: the TOML shape exactly as the council writes it.
//!
//! These types mirror the file and nothing more. They deny unknown keys and
//! negative numbers while parsing (the TOML parser then reports the line);
//! everything that needs the whole file (ordering, duplicates) is checked in
//! [`super::validate`]. A later format gets a module of its own beside this
//! one and a conversion to the newest model; this one is never changed.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::points::{Points, Qty};
use crate::snapshot::{NortonActivity, Profession};

/// A weight: points, never negative.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Weight(pub(crate) Points);

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Weight, D::Error> {
        let points = Points::deserialize(d)?;
        if points.is_negative() {
            return Err(serde::de::Error::custom(format!(
                "negative weight {points}: a weight is points of care need and must be 0 or more; \
                 write 0 to give a parameter no points"
            )));
        }
        Ok(Weight(points))
    }
}

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct File {
    #[allow(dead_code)]
    pub(crate) format: u32,
    pub(crate) meta: Meta,
    pub(crate) activities: Activities,
    pub(crate) medications: Medications,
    pub(crate) news2: News2,
    pub(crate) emotional_support: EmotionalSupport,
    #[serde(default)]
    pub(crate) orders: BTreeMap<String, OrderCategory>,
    #[serde(default)]
    pub(crate) care_plans: BTreeMap<String, CarePlanCategory>,
    #[serde(default)]
    pub(crate) diagnoses: Vec<DiagnosisRule>,
    pub(crate) modifiers: Modifiers,
    pub(crate) staff_hours: Spanned<BTreeMap<String, StaffHours>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Meta {
    pub(crate) version: Spanned<String>,
    pub(crate) effective_from: Spanned<toml::value::Datetime>,
    pub(crate) decided_by: Spanned<String>,
    pub(crate) meeting_reference: Spanned<String>,
    #[serde(default)]
    pub(crate) notes: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Activities {
    pub(crate) when_norton_missing: NortonActivity,
    #[serde(default)]
    pub(crate) codes: BTreeMap<String, Activity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Activity {
    pub(crate) profession: Profession,
    #[serde(default)]
    pub(crate) label: String,
    pub(crate) walks: Weight,
    pub(crate) walks_with_help: Weight,
    pub(crate) wheelchair: Weight,
    pub(crate) bedridden: Weight,
}

impl Activity {
    pub(crate) fn by_level(&self) -> [Points; 4] {
        let mut out = [Points::ZERO; 4];
        for level in NortonActivity::ALL {
            out[level.index()] = match level {
                NortonActivity::Walks => self.walks.0,
                NortonActivity::WalksWithHelp => self.walks_with_help.0,
                NortonActivity::Wheelchair => self.wheelchair.0,
                NortonActivity::Bedridden => self.bedridden.0,
            };
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Route {
    pub(crate) per_order_hour: Weight,
    pub(crate) per_administration: Weight,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Medications {
    pub(crate) profession: Profession,
    pub(crate) oral: Route,
    pub(crate) intravenous: Route,
    pub(crate) subcutaneous: Route,
    pub(crate) intramuscular: Route,
    pub(crate) inhalation: Route,
    pub(crate) enteral: Route,
    pub(crate) topical: Route,
    pub(crate) rectal: Route,
    pub(crate) other: Route,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Band {
    pub(crate) from: Spanned<u8>,
    pub(crate) per_hour: Weight,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct News2 {
    pub(crate) profession: Profession,
    pub(crate) per_measurement: Weight,
    pub(crate) bands: Spanned<Vec<Band>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmotionalSupport {
    pub(crate) profession: Profession,
    pub(crate) less_than_hourly: Weight,
    pub(crate) hourly: Weight,
    pub(crate) twice_hourly: Weight,
    pub(crate) continuous_one: Weight,
    pub(crate) continuous_more: Weight,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OrderCategory {
    pub(crate) profession: Profession,
    #[serde(default)]
    pub(crate) label: String,
    pub(crate) points: Weight,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CarePlanCategory {
    pub(crate) profession: Profession,
    #[serde(default)]
    pub(crate) label: String,
    pub(crate) per_hour: Weight,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DiagnosisRule {
    pub(crate) prefix: Spanned<String>,
    pub(crate) profession: Profession,
    #[serde(default)]
    pub(crate) label: String,
    pub(crate) per_hour: Weight,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewlyAdmitted {
    pub(crate) hours: Spanned<u32>,
    pub(crate) profession: Profession,
    pub(crate) extra_per_hour: Weight,
    pub(crate) floor_per_hour: Weight,
    pub(crate) full_documentation_items: Spanned<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Outlier {
    pub(crate) multiplier: Spanned<Qty>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Modifiers {
    pub(crate) newly_admitted: NewlyAdmitted,
    pub(crate) outlier: Outlier,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaffHours {
    #[serde(rename = "USK")]
    pub(crate) usk: Weight,
    #[serde(rename = "SSK")]
    pub(crate) ssk: Weight,
}
