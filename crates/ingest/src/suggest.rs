//! A mapping-file skeleton from the codes careload read but did not use
//! ([`MapReport::unused_codes`](crate::MapReport)), for a region's
//! integration team: `careload mapping suggest`.
//!
//! The skeleton is a valid, empty [`MappingConfig`](crate::MappingConfig):
//! every code is a commented-out line under its table, most frequent first,
//! with its count and display, and each table names the targets it takes.
//! Uncommenting a line and writing its target is the whole edit; a wrong
//! target is refused by [`MappingConfig::compile`](crate::MappingConfig::compile)
//! with the key named.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use careload_scoring::snapshot::{AdlLevel, NortonActivity, Profession, Route, SupportLevel};
use serde::Serialize;

use crate::config::{LocationLevel, ObservationKind};
use crate::mapping::UnusedCode;

/// The tables in the order a mapping file lists them.
const TABLES: [&str; 13] = [
    "location_types",
    "specialties",
    "observations",
    "activities",
    "professions",
    "routes",
    "order_categories",
    "care_plan_categories",
    "diagnoses",
    "acvpu",
    "norton_levels",
    "support_levels",
    "adl_levels",
];

/// Every serde name of `values`, comma-joined.
fn names<T: Serialize>(values: &[T]) -> String {
    values
        .iter()
        .filter_map(|v| serde_json::to_value(v).ok()?.as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a table's entries map to, in words, for the skeleton's comments.
pub fn targets(table: &str) -> String {
    use ObservationKind as K;
    match table {
        "location_types" => names(&[
            LocationLevel::Ward,
            LocationLevel::Team,
            LocationLevel::Room,
            LocationLevel::Bed,
        ]),
        "specialties" => {
            "a specialty code, as the wards' `ward_specialties` list them (SNOMED CT passes through)".to_owned()
        }
        "observations" => names(&[
            K::News2Total,
            K::RespirationRate,
            K::Spo2,
            K::SystolicBp,
            K::BpPanel,
            K::Pulse,
            K::Temperature,
            K::Acvpu,
            K::SupplementalOxygen,
            K::Spo2Scale2,
            K::NortonPhysicalActivity,
            K::NortonTotal,
            K::EmotionalSupport,
            K::AdlHygiene,
            K::AdlEatingDrinking,
            K::AdlDressing,
            K::AdlToileting,
            K::AdlMobility,
        ]),
        "activities" => "an activity of the weights file's [activities] (e.g. personal-hygiene)".to_owned(),
        "professions" => names(&Profession::ALL),
        "routes" => names(&Route::ALL),
        "order_categories" => "an order category of the weights file (e.g. lab-sample)".to_owned(),
        "care_plan_categories" => "a care-plan category of the weights file (e.g. palliative)".to_owned(),
        "diagnoses" => {
            "the ICD-10 code itself (e.g. \"F32.1\"); `\"system|*\" = \"*\"` passes a system through".to_owned()
        }
        "acvpu" => "A, C, V, P, U".to_owned(),
        "norton_levels" => names(&NortonActivity::ALL),
        "support_levels" => names(&SupportLevel::ALL),
        "adl_levels" => names(&[AdlLevel::Independent, AdlLevel::PartialHelp, AdlLevel::FullHelp]),
        _ => String::new(),
    }
}

/// A TOML string literal.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A display for a comment: one line, at most 80 characters.
fn one_line(text: &str) -> String {
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut short: String = flat.chars().take(80).collect();
    if flat.chars().count() > 80 {
        short.push('…');
    }
    short
}

/// The skeleton for `unused` (most frequent first, as the report has them),
/// read from `origin`.
pub fn skeleton(unused: &[UnusedCode], origin: &str, time_zone: &str) -> String {
    let mut out = String::new();
    let distinct = unused.len();
    let _ = writeln!(
        out,
        "# careload mapping skeleton: the codes in {} that careload read but did not use,",
        one_line(origin)
    );
    let _ = writeln!(
        out,
        "# {distinct} distinct, most frequent first within each table. For each code careload"
    );
    out.push_str(
        "# should read, uncomment its line and write its target; delete the rest. Use the file\n\
         # as source.mapping (the service) or --mapping (careload score). The tables and their\n\
         # targets: crates/ingest/README.md, \"Mapping your region's codes\".\n\n",
    );
    let _ = writeln!(out, "time_zone = {}", quoted(time_zone));
    let classes: Vec<&UnusedCode> = unused.iter().filter(|u| u.table == "inpatient_classes").collect();
    if !classes.is_empty() {
        out.push_str(
            "\n# Encounter.class codes that are not an inpatient stay's (IMP, ACUTE, NONAC are):\n\
             # list one here, with the defaults, only if it is a stay on a ward.\n",
        );
        let list: Vec<String> = classes.iter().map(|u| quoted(&u.code)).collect();
        let _ = writeln!(
            out,
            "# inpatient_classes = [\"IMP\", \"ACUTE\", \"NONAC\", {}]",
            list.join(", ")
        );
        for u in classes {
            let _ = writeln!(out, "#   {} × {}{}", u.count, one_line(&u.code), display_suffix(u));
        }
    }
    let mut by_table: BTreeMap<usize, Vec<&UnusedCode>> = BTreeMap::new();
    for u in unused {
        if let Some(i) = TABLES.iter().position(|t| *t == u.table) {
            by_table.entry(i).or_default().push(u);
        }
    }
    for (i, codes) in by_table {
        let table = TABLES[i];
        let mut elements: Vec<&str> = codes.iter().map(|u| u.element).collect();
        elements.sort_unstable();
        elements.dedup();
        let _ = writeln!(out, "\n[{table}]");
        let _ = writeln!(out, "# read from {}; targets: {}", elements.join(", "), targets(table));
        for u in codes {
            let key = format!("{}|{}", u.system.as_deref().unwrap_or(""), u.code);
            let _ = writeln!(out, "# {} = \"\"   # {} ×{}", quoted(&key), u.count, display_suffix(u));
        }
    }
    if unused.is_empty() {
        out.push_str("\n# Every code read is mapped: nothing to add.\n");
    }
    out
}

fn display_suffix(u: &UnusedCode) -> String {
    u.display
        .as_deref()
        .map(|d| format!(" {}", one_line(d)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::MappingConfig;

    fn code(table: &'static str, system: &str, code: &str, count: usize) -> UnusedCode {
        UnusedCode {
            table,
            element: "Observation.code",
            system: Some(system.to_owned()),
            code: code.to_owned(),
            display: Some("Body \"weight\"\nmeasured".to_owned()),
            count,
        }
    }

    #[test]
    fn the_skeleton_is_a_valid_empty_mapping_and_an_uncommented_line_maps() {
        let unused = vec![
            code("observations", "http://loinc.org", "29463-7", 412),
            code("observations", "http://loinc.org", "8302-2", 3),
            code("routes", "http://snomed.info/sct", "34206005", 9),
        ];
        let text = skeleton(&unused, "/data/export", "Europe/Stockholm");
        let config: MappingConfig = toml::from_str(&text).unwrap();
        config.compile().unwrap();
        assert!(text.contains("412 × Body \"weight\" measured"), "{text}");
        assert!(
            text.find("29463-7").unwrap() < text.find("8302-2").unwrap(),
            "most frequent first"
        );
        assert!(text.find("[observations]").unwrap() < text.find("[routes]").unwrap());
        // the integration team's edit: uncomment, write a target
        let edited = text.replace(
            "# \"http://loinc.org|8302-2\" = \"\"",
            "\"http://loinc.org|8302-2\" = \"temperature\"",
        );
        let config: MappingConfig = toml::from_str(&edited).unwrap();
        let m = config.compile().unwrap();
        assert_eq!(
            m.observations.coding(Some("http://loinc.org"), Some("8302-2")),
            Some(ObservationKind::Temperature)
        );
        // and a wrong target is refused with the key named
        let wrong = text.replace(
            "# \"http://snomed.info/sct|34206005\" = \"\"",
            "\"http://snomed.info/sct|34206005\" = \"subcutaneous-ish\"",
        );
        let e = toml::from_str::<MappingConfig>(&wrong).unwrap().compile().unwrap_err();
        assert!(e.to_string().contains("34206005"), "{e}");
    }

    #[test]
    fn every_target_listed_is_one_its_table_takes() {
        for table in TABLES {
            let listed = targets(table);
            // the enumerated tables: every name compiles as a target of its table
            if listed.contains('(') || listed.contains('"') {
                continue;
            }
            for target in listed.split(", ") {
                let text = format!("[{table}]\n\"urn:test|x\" = {}\n", quoted(target));
                let config: MappingConfig = toml::from_str(&text).unwrap();
                config.compile().unwrap_or_else(|e| panic!("{table}: {target}: {e}"));
            }
        }
    }
}
