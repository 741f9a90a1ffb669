//! `careload score`: score patient snapshots from a JSON file (`--snapshots`)
//! or from FHIR R4 (`--fhir`: a Bundle file or an NDJSON directory;
//! `--fhir-url`: a FHIR server's REST API, with `--since` and `--token-env`;
//! read or fetched and mapped by `careload_ingest`), and sum them per team,
//! ward and hospital.
//!
//! With `--fhir` the snapshot time is `--at`, else the latest
//! `meta.lastUpdated` in the input (so that a file scores the same whenever
//! it is scored), else now; with `--fhir-url` it is `--at`, else the
//! server's own time when it answered (a server stamps `meta.lastUpdated`
//! with the time it stored a resource, not with clinical time). The read and map reports (counts and every
//! skipped resource with its reason) go to standard error. Pseudonyms use the
//! key in `--pseudonym-key-env` (default `CARELOAD_PSEUDONYM_KEY`); when that
//! is unset a public development key is used and a warning says so.
//!
//! Each patient is scored for a window that starts at `--at` (by default the
//! snapshot's own time) and lasts `--hours`. The table format shows every
//! contribution beneath its patient (points = weight × quantity, with the
//! weights-file parameter and the FHIR resource it came from), the items the
//! weights do not know, and the ADL needs that are shown but never scored.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use careload_scoring::aggregate::{NO_TEAM, Rollup, Totals};
use careload_scoring::explain::{describe_source, explain};
use careload_scoring::score::{Component, CurrentNews2};
use careload_scoring::{Score, Snapshot, Weights, Window, rollup, score};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{heading, write_json};
use crate::cli::{FhirServerArgs, ScoreArgs, ScoreFormat};
use crate::table::Table;
use crate::weights_file::{self, Loaded};

/// How many characters of the pseudonym the table shows.
const KEY_CHARS: usize = 8;

/// One patient and their score.
struct Scored {
    snapshot: Snapshot,
    score: Score,
}

/// `careload score …`.
///
/// # Errors
/// The snapshots or the weights cannot be read or are not valid, or a
/// window is not valid; writing fails.
pub(crate) fn run(args: &ScoreArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let loaded = weights_file::load_or_default(args.weights.as_deref())?;
    let snapshots = match (&args.snapshots, &args.fhir, &args.fhir_url) {
        (_, Some(fhir), _) => {
            let (resources, read) = careload_ingest::read_path(fhir)?;
            map_fhir(&source(args)?, &resources, &read, &fhir.display().to_string(), args.at)?.0
        }
        (_, None, Some(url)) => {
            let source = source(args)?;
            let (resources, report) = fetch_fhir(&source, url)?;
            let as_of = args.at.or(report.server_time);
            map_fhir(&source, &resources, &report.read, url, as_of)?.0
        }
        (Some(file), None, None) => read_snapshots(file)?,
        (None, None, None) => anyhow::bail!("give --snapshots FILE, --fhir PATH or --fhir-url URL"),
    };
    let mut scored = Vec::with_capacity(snapshots.len());
    for snapshot in snapshots {
        let start = args.at.unwrap_or(snapshot.as_of);
        let window = Window::new(start, start + Duration::hours(i64::from(args.hours)))
            .with_context(|| format!("patient {}", short_key(&snapshot)))?;
        let score = score(&snapshot, &loaded.weights, window);
        scored.push(Scored { snapshot, score });
    }
    // ward by ward, team by team; the file's order within a team
    scored.sort_by(|a, b| {
        let place = |s: &Scored| (s.snapshot.placement.ward.clone(), s.snapshot.placement.team.clone());
        place(a).cmp(&place(b))
    });
    let rollup = rollup(scored.iter().map(|p| (&p.snapshot, &p.score)));
    match args.format {
        ScoreFormat::Json => write_json(out, &json_report(&loaded, &scored, rollup)),
        ScoreFormat::Table => write_report(args, &loaded, &scored, &rollup, out),
    }
}

/// How FHIR input is read and mapped: the options `score` and `mapping
/// suggest` share.
pub(crate) struct FhirSource<'a> {
    /// `--since`.
    pub(crate) since: Option<DateTime<Utc>>,
    /// `--token-env`, `--ward`, `--trusted-origin`.
    pub(crate) server: &'a FhirServerArgs,
    /// The region's mapping (`--mapping`), or the built-in one.
    pub(crate) mapping: careload_ingest::Mapping,
    /// `--pseudonym-key-env`.
    pub(crate) pseudonym_key_env: &'a str,
}

fn source(args: &ScoreArgs) -> anyhow::Result<FhirSource<'_>> {
    Ok(FhirSource {
        since: args.since,
        server: &args.server,
        mapping: careload_runner::load_mapping(args.mapping.as_deref())?,
        pseudonym_key_env: &args.pseudonym_key_env,
    })
}

/// Fetches FHIR R4 from a server's REST API (`--fhir-url`, `--since`,
/// `--token-env`, `--ward`); prints what the fetch did on standard error.
pub(crate) fn fetch_fhir(
    args: &FhirSource<'_>,
    url: &str,
) -> anyhow::Result<(careload_ingest::Resources, careload_ingest::FetchReport)> {
    let config = careload_ingest::RestConfig {
        token_env: args.server.token_env.clone(),
        wards: args.server.wards.clone(),
        trusted_origins: args.server.trusted_origins.clone(),
        ..careload_ingest::RestConfig::new(url)
    };
    let client = careload_ingest::FhirClient::new(&config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (resources, report) = runtime.block_on(careload_ingest::fetch(&client, &config, args.since))?;
    writeln!(
        std::io::stderr().lock(),
        "fetched {} resources from {url} in {:.1} s: {} searches, {} requests, {} pages, {} retries{}",
        report.read.total_read(),
        report.elapsed.as_secs_f64(),
        report.searches,
        report.requests,
        report.pages,
        report.retries,
        args.since
            .map(|t| format!(", clinical resources changed since {}", t.to_rfc3339()))
            .unwrap_or_default()
    )?;
    for ward in &report.empty_wards {
        writeln!(
            std::io::stderr().lock(),
            "  warning: no in-progress stay under ward Location/{ward}: check the ward id"
        )?;
    }
    Ok((resources, report))
}

/// Maps FHIR R4 resources (read from `origin`) to snapshots at `at` (else
/// the latest `meta.lastUpdated` read, else now); prints the read and map
/// reports on standard error.
pub(crate) fn map_fhir(
    args: &FhirSource<'_>,
    resources: &careload_ingest::Resources,
    read: &careload_ingest::ReadReport,
    origin: &str,
    at: Option<DateTime<Utc>>,
) -> anyhow::Result<(Vec<Snapshot>, careload_ingest::MapReport)> {
    let mut err = std::io::stderr().lock();
    let key = careload_runner::pseudonym_key(args.pseudonym_key_env, careload_runner::WhenKeyUnset::Warn(&mut err))?;
    let as_of = at.or(read.last_updated).unwrap_or_else(Utc::now);
    let (snapshots, mapped) = careload_ingest::map(resources, &args.mapping, &key, as_of);
    let counts = |m: &std::collections::BTreeMap<String, usize>| {
        m.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    };
    writeln!(
        err,
        "read {} resources from {}: {}",
        read.total_read(),
        origin,
        counts(&read.read)
    )?;
    if !read.ignored.is_empty() {
        writeln!(
            err,
            "  ignored (types careload does not use): {}",
            counts(&read.ignored)
        )?;
    }
    writeln!(
        err,
        "mapped {} patients as of {}: {}",
        mapped.snapshots,
        as_of.to_rfc3339(),
        counts(&mapped.mapped)
    )?;
    if !mapped.out_of_scope.is_empty() {
        writeln!(err, "  not in scope: {}", counts(&mapped.out_of_scope))?;
    }
    if mapped.stays_without_observations > 0 {
        writeln!(
            err,
            "  warning: {} of {} stays have no Observation at all while others have some: check that the server returns them",
            mapped.stays_without_observations, mapped.snapshots
        )?;
    }
    for (what, list) in [
        ("skipped", &read.skipped),
        ("skipped", &mapped.skipped),
        ("partly mapped", &mapped.incomplete),
    ] {
        for s in list {
            writeln!(err, "  {what}: {}: {}", s.reference(), s.reason)?;
        }
    }
    if !mapped.unused_codes.is_empty() {
        writeln!(
            err,
            "  {} distinct codes read but not mapped (`careload mapping suggest` writes them as a mapping skeleton)",
            mapped.unused_codes.len()
        )?;
    }
    Ok((snapshots, mapped))
}

/// Reads a JSON array of snapshots.
fn read_snapshots(path: &Path) -> anyhow::Result<Vec<Snapshot>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read snapshots file {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not a JSON array of patient snapshots (see examples/ward-snapshot.json)",
            path.display()
        )
    })
}

/// The first characters of the pseudonym: enough to tell patients apart on a screen.
fn short_key(s: &Snapshot) -> String {
    s.key.0.chars().take(KEY_CHARS).collect()
}

fn hhmm(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%MZ").to_string()
}

/// The snake_case name serde gives an enum value (`full_help`), in words.
fn words<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s.replace('_', " "),
        _ => "?".to_owned(),
    }
}

fn news2_cell(n: Option<&CurrentNews2>) -> String {
    match n {
        Some(n) if n.computed => format!("{} {} (computed)", n.value, n.risk.label()),
        Some(n) => format!("{} {}", n.value, n.risk.label()),
        None => "–".to_owned(),
    }
}

fn window_description(args: &ScoreArgs) -> String {
    let length = if args.hours == 1 {
        "1 hour".to_owned()
    } else {
        format!("{} hours", args.hours)
    };
    match args.at {
        Some(at) => format!("{length} from {}", hhmm(at)),
        None => format!("{length} from each snapshot's time"),
    }
}

/// The table report.
fn write_report(
    args: &ScoreArgs,
    loaded: &Loaded,
    scored: &[Scored],
    rollup: &Rollup,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let w = &loaded.weights;
    writeln!(
        out,
        "{} patients, {}, weights {} ({})",
        scored.len(),
        window_description(args),
        w.meta.version,
        loaded.origin
    )?;
    heading(out, "patients")?;
    if scored.is_empty() {
        writeln!(out, "  (none)")?;
    } else {
        writeln!(
            out,
            "  beneath each patient: points = weight × quantity, profession, weights parameter, source"
        )?;
        let mut t = Table::new(["ward", "team", "bed", "key", "total", "USK", "SSK", "NEWS2"]).right(4..7);
        for p in scored {
            let place = &p.snapshot.placement;
            t.row([
                place.ward.clone(),
                place.team.clone().unwrap_or_else(|| NO_TEAM.to_owned()),
                place.bed.clone().unwrap_or_default(),
                short_key(&p.snapshot),
                p.score.total.to_string(),
                p.score.professions.usk.to_string(),
                p.score.professions.ssk.to_string(),
                news2_cell(p.score.news2.as_ref()),
            ]);
        }
        t.write_with(out, 2, |i, out| match scored.get(i) {
            Some(p) => write_details(p, w, out),
            None => Ok(()),
        })?;
    }
    write_totals(rollup, out)?;
    Ok(())
}

/// A patient's contributions, unmatched items and ADL needs.
fn write_details(p: &Scored, w: &Weights, out: &mut dyn Write) -> std::io::Result<()> {
    const INDENT: usize = 6;
    let pad = " ".repeat(INDENT);
    let explained = explain(&p.score, &p.snapshot, w);
    if explained.is_empty() {
        writeln!(out, "{pad}no contributions")?;
    } else {
        let mut t = Table::headerless(5).right([0]);
        for e in &explained {
            let arithmetic = format!("= {} × {}", e.weight, e.quantity);
            t.row([
                e.points.to_string(),
                arithmetic,
                e.profession.to_string(),
                e.parameter.clone(),
                e.source.clone(),
            ]);
        }
        t.write(out, INDENT)?;
    }
    for source in &p.score.unmatched {
        writeln!(
            out,
            "{pad}unmatched, scores nothing: {} (its code is not in the weights file)",
            describe_source(*source, &p.snapshot)
        )?;
    }
    if !p.snapshot.adl.is_empty() {
        let needs: Vec<String> = p
            .snapshot
            .adl
            .iter()
            .map(|a| format!("{} {}", words(&a.domain), words(&a.level)))
            .collect();
        writeln!(out, "{pad}ADL (shown, not scored): {}", needs.join(", "))?;
    }
    Ok(())
}

/// Short column names for the components.
fn component_header(c: Component) -> &'static str {
    match c {
        Component::Medications => "meds",
        Component::Orders => "orders",
        Component::BasicNursing => "basic",
        Component::SpecificNursing => "specific",
        Component::News2 => "news2",
        Component::EmotionalSupport => "support",
        Component::CarePlans => "plans",
        Component::Diagnoses => "diagnoses",
        Component::Modifiers => "modifiers",
    }
}

/// Hospital, ward and team totals: one table of sums, one of components.
fn write_totals(rollup: &Rollup, out: &mut dyn Write) -> std::io::Result<()> {
    let mut groups: Vec<(String, &Totals)> = vec![("hospital".to_owned(), &rollup.hospital)];
    for (ward, wr) in &rollup.wards {
        groups.push((format!("  {ward}"), &wr.totals));
        for (team, totals) in &wr.teams {
            groups.push((format!("    team {team}"), totals));
        }
    }

    heading(out, "totals")?;
    let mut t = Table::new(["group", "patients", "total", "USK", "SSK", "unmatched"]).right(1..6);
    for (name, totals) in &groups {
        t.row([
            name.clone(),
            totals.patients.to_string(),
            totals.total.to_string(),
            totals.professions.usk.to_string(),
            totals.professions.ssk.to_string(),
            totals.unmatched.to_string(),
        ]);
    }
    t.write(out, 2)?;

    heading(out, "components")?;
    let mut t = Table::new(std::iter::once("group").chain(Component::ALL.map(component_header))).right(1..10);
    for (name, totals) in &groups {
        t.row(std::iter::once(name.clone()).chain(Component::ALL.map(|c| totals.components.get(c).to_string())));
    }
    t.write(out, 2)?;
    writeln!(
        out,
        "  meds: medications, basic: basic nursing (USK activities), specific: specific nursing (SSK activities),"
    )?;
    writeln!(
        out,
        "  support: emotional support, plans: care plans, modifiers: outlier and newly admitted"
    )?;
    Ok(())
}

/// The weights a JSON report was computed with.
#[derive(Serialize)]
struct WeightsRef<'a> {
    version: &'a str,
    digest: &'a str,
    origin: &'a str,
}

/// One patient in the JSON report.
#[derive(Serialize)]
struct PatientReport<'a> {
    key: &'a str,
    ward: &'a str,
    team: Option<&'a str>,
    bed: Option<&'a str>,
    score: &'a Score,
}

/// `careload score --format json`.
#[derive(Serialize)]
struct JsonReport<'a> {
    weights: WeightsRef<'a>,
    patients: Vec<PatientReport<'a>>,
    rollup: Rollup,
}

fn json_report<'a>(loaded: &'a Loaded, scored: &'a [Scored], rollup: Rollup) -> JsonReport<'a> {
    JsonReport {
        weights: WeightsRef {
            version: &loaded.weights.meta.version,
            digest: &loaded.weights.digest,
            origin: &loaded.origin,
        },
        patients: scored
            .iter()
            .map(|p| PatientReport {
                key: &p.snapshot.key.0,
                ward: &p.snapshot.placement.ward,
                team: p.snapshot.placement.team.as_deref(),
                bed: p.snapshot.placement.bed.as_deref(),
                score: &p.score,
            })
            .collect(),
        rollup,
    }
}
