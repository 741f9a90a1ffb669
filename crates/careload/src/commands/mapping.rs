//! `careload mapping suggest`: reads FHIR R4 (files or a server) as `score`
//! does, maps it, and writes every code careload read but did not use as a
//! mapping-file skeleton (`careload_ingest::suggest`), most frequent first,
//! for a region's integration team to fill in with its own codes. From
//! files, the displays of Observation and Task codes (held without them) are
//! looked up in the files; from a server, those two show none.

mod organisation;

pub(crate) use organisation::{OrganisationArgs, organisation};

use std::io::Write;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context;
use serde_json::Value;

use super::score::{FhirSource, fetch_fhir, map_fhir};
use crate::cli::MappingSuggestArgs;

/// `careload mapping suggest …`.
///
/// # Errors
/// The input cannot be read or fetched, the mapping file is not valid, the
/// skeleton cannot be written.
pub(crate) fn suggest(args: &MappingSuggestArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let source = FhirSource {
        since: None,
        server: &args.server,
        mapping: careload_runner::load_mapping(args.mapping.as_deref())?,
        pseudonym_key_env: "CARELOAD_PSEUDONYM_KEY",
    };
    let (origin, mapped) = match (&args.fhir, &args.fhir_url) {
        (Some(path), _) => {
            let (resources, read) = careload_ingest::read_path(path)?;
            let origin = path.display().to_string();
            let (_, mut mapped) = map_fhir(&source, &resources, &read, &origin, args.at)?;
            // Observations and Tasks are held without displays: look them up in the files
            let missing: HashSet<(Option<String>, String)> = mapped
                .unused_codes
                .iter()
                .filter(|u| u.display.is_none())
                .map(|u| (u.system.clone(), u.code.clone()))
                .collect();
            if !missing.is_empty() {
                let displays = displays_in(path, &missing)?;
                for u in &mut mapped.unused_codes {
                    if u.display.is_none() {
                        u.display = displays.get(&(u.system.clone(), u.code.clone())).cloned();
                    }
                }
            }
            (origin, mapped)
        }
        (None, Some(url)) => {
            let (resources, report) = fetch_fhir(&source, url)?;
            let (_, mapped) = map_fhir(&source, &resources, &report.read, url, args.at.or(report.server_time))?;
            (url.clone(), mapped)
        }
        (None, None) => anyhow::bail!("give --fhir PATH or --fhir-url URL"),
    };
    let text = careload_ingest::suggest::skeleton(&mapped.unused_codes, &origin, source.mapping.time_zone.name());
    match args.out.as_deref() {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
            writeln!(
                std::io::stderr().lock(),
                "wrote {} distinct unused codes to {}",
                mapped.unused_codes.len(),
                path.display()
            )?;
        }
        _ => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

/// The first display of each of `wanted`'s codings in the FHIR files at
/// `path` (a Bundle or resource file, or a directory of `.ndjson`).
fn displays_in(
    path: &Path,
    wanted: &HashSet<(Option<String>, String)>,
) -> anyhow::Result<HashMap<(Option<String>, String), String>> {
    let mut found = HashMap::new();
    if !path.is_dir() {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            collect_displays(&value, wanted, &mut found);
        }
        return Ok(found);
    }
    // an export may be gigabytes: line by line, and only the types held without displays
    for entry in std::fs::read_dir(path).with_context(|| format!("cannot read {}", path.display()))? {
        let file = entry?.path();
        if !file.extension().is_some_and(|e| e.eq_ignore_ascii_case("ndjson")) {
            continue;
        }
        let reader = BufReader::new(File::open(&file).with_context(|| format!("cannot read {}", file.display()))?);
        for line in reader.lines() {
            let line = line.with_context(|| format!("cannot read {}", file.display()))?;
            if !(line.contains("\"Observation\"") || line.contains("\"Task\"")) {
                continue;
            }
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                collect_displays(&value, wanted, &mut found);
            }
        }
    }
    Ok(found)
}

fn collect_displays(
    value: &Value,
    wanted: &HashSet<(Option<String>, String)>,
    found: &mut HashMap<(Option<String>, String), String>,
) {
    match value {
        Value::Object(map) => {
            if let (Some(code), Some(display)) = (
                map.get("code").and_then(Value::as_str),
                map.get("display").and_then(Value::as_str),
            ) {
                let key = (
                    map.get("system").and_then(Value::as_str).map(str::to_owned),
                    code.to_owned(),
                );
                if wanted.contains(&key) {
                    found.entry(key).or_insert_with(|| display.to_owned());
                }
            }
            for v in map.values() {
                collect_displays(v, wanted, found);
            }
        }
        Value::Array(items) => {
            for v in items {
                collect_displays(v, wanted, found);
            }
        }
        _ => {}
    }
}
