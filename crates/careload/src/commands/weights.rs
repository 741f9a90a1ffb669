//! `careload weights validate | show | diff`: the council's weights files.
//!
//! `validate` is what a council secretary runs before a version is put in
//! force; `show` prints every parameter for the meeting; `diff` shows what a
//! proposed version changes, parameter by parameter, using the same paths as
//! `show` (they come from [`Weights::parameters`]).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use careload_scoring::Weights;
use careload_scoring::snapshot::{NortonActivity, Route, SupportLevel};
use careload_scoring::weights::{CategoryWeight, diff as diff_weights};
use serde::Serialize;

use super::{heading, write_json};
use crate::table::Table;
use crate::weights_file;

/// `careload weights validate FILE`.
///
/// # Errors
/// The file cannot be read, or the weights' problems.
pub(crate) fn validate(file: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let loaded = weights_file::load(file)?;
    let w = &loaded.weights;
    writeln!(
        out,
        "ok: {} is weights version {} (format {}), effective from {}, decided by {} ({}); digest {}",
        loaded.origin,
        w.meta.version,
        w.format,
        w.meta.effective_from,
        w.meta.decided_by,
        w.meta.meeting_reference,
        w.digest
    )?;
    Ok(())
}

/// `careload weights show FILE [--json]`.
///
/// # Errors
/// The file cannot be read or is not valid; writing fails.
pub(crate) fn show(file: &Path, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let loaded = weights_file::load(file)?;
    if json {
        return write_json(out, &loaded.weights);
    }
    write_tables(&loaded.weights, &loaded.origin, out)
}

/// The sections that [`write_tables`] prints as typed tables.
const TYPED_SECTIONS: [&str; 9] = [
    "meta",
    "activities",
    "medications",
    "news2",
    "emotional_support",
    "orders",
    "care_plans",
    "diagnoses",
    "staff_hours",
];

fn category_table(categories: &[CategoryWeight], points_header: &str) -> Table {
    let mut t = Table::new(["category", "profession", points_header, "label"]).right([2]);
    for c in categories {
        t.row([
            c.category.clone(),
            c.profession.to_string(),
            c.points.to_string(),
            c.label.clone(),
        ]);
    }
    t
}

/// Writes every parameter as tables, one section at a time, in file order.
fn write_tables(w: &Weights, origin: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "weights {} (format {}) from {origin}", w.meta.version, w.format)?;
    heading(out, "meta")?;
    let mut meta = Table::headerless(2);
    meta.row(["effective_from".to_owned(), w.meta.effective_from.to_string()]);
    meta.row(["decided_by", &w.meta.decided_by]);
    meta.row(["meeting_reference", &w.meta.meeting_reference]);
    meta.row(["digest", &w.digest]);
    meta.write(out, 2)?;
    let notes: Vec<&str> = w.meta.notes.lines().filter(|l| !l.trim().is_empty()).collect();
    if !notes.is_empty() {
        writeln!(out, "  notes:")?;
        for line in notes {
            writeln!(out, "    {}", line.trim_end())?;
        }
    }

    heading(
        out,
        &format!(
            "activities (points per occurrence; without a Norton assessment: {})",
            w.when_norton_missing.key()
        ),
    )?;
    let mut t = Table::new(
        ["code", "profession"]
            .into_iter()
            .chain(NortonActivity::ALL.map(NortonActivity::key))
            .chain(["label"]),
    )
    .right(2..6);
    for a in &w.activities {
        t.row(
            [a.code.clone(), a.profession.to_string()]
                .into_iter()
                .chain(NortonActivity::ALL.map(|l| a.at(l).to_string()))
                .chain([a.label.clone()]),
        );
    }
    t.write(out, 2)?;

    heading(out, &format!("medications (profession {})", w.medications.profession))?;
    let mut t = Table::new(["route", "per_order_hour", "per_administration"]).right([1, 2]);
    for r in Route::ALL {
        let rw = w.medications.route(r);
        t.row([
            r.key().to_owned(),
            rw.per_order_hour.to_string(),
            rw.per_administration.to_string(),
        ]);
    }
    t.write(out, 2)?;

    heading(
        out,
        &format!(
            "news2 (profession {}, per_measurement {})",
            w.news2.profession, w.news2.per_measurement
        ),
    )?;
    let mut t = Table::new(["from", "totals", "per_hour"]).right([0, 2]);
    let mut bands = w.news2.bands.iter().peekable();
    while let Some(b) = bands.next() {
        let range = match bands.peek() {
            Some(next) if next.from > b.from + 1 => format!("{}–{}", b.from, next.from - 1),
            Some(_) => b.from.to_string(),
            None => format!("{}+", b.from),
        };
        t.row([b.from.to_string(), range, b.per_hour.to_string()]);
    }
    t.write(out, 2)?;

    heading(
        out,
        &format!("emotional_support (profession {})", w.emotional_support.profession),
    )?;
    let mut t = Table::new(["level", "per_hour"]).right([1]);
    for level in SupportLevel::ALL {
        t.row([level.key().to_owned(), w.emotional_support.at(level).to_string()]);
    }
    t.write(out, 2)?;

    heading(out, "orders (points per order due)")?;
    write_or_none(&category_table(&w.orders, "points"), out)?;

    heading(out, "care_plans (points per hour while active)")?;
    write_or_none(&category_table(&w.care_plans, "per_hour"), out)?;

    heading(out, "diagnoses (points per hour; the longest matching prefix wins)")?;
    let mut t = Table::new(["prefix", "profession", "per_hour", "label"]).right([2]);
    for d in &w.diagnoses {
        t.row([
            d.prefix.clone(),
            d.profession.to_string(),
            d.per_hour.to_string(),
            d.label.clone(),
        ]);
    }
    write_or_none(&t, out)?;

    // everything else (the modifiers, and any section a newer scoring crate
    // adds) straight from the parameter list, so nothing is ever left out
    let parameters = w.parameters();
    let mut other_sections: Vec<&str> = Vec::new();
    for (path, _) in &parameters {
        let section = path.split('.').next().unwrap_or(path);
        if !TYPED_SECTIONS.contains(&section) && !other_sections.contains(&section) {
            other_sections.push(section);
        }
    }
    for section in other_sections {
        heading(out, section)?;
        let mut t = Table::new(["parameter", "value"]);
        let prefix = format!("{section}.");
        for (path, value) in &parameters {
            if let Some(rest) = path.strip_prefix(&prefix) {
                t.row([rest, value]);
            }
        }
        t.write(out, 2)?;
    }

    heading(out, "staff_hours (staff-hours per point, by ward care category)")?;
    let mut t = Table::new(["category", "USK", "SSK"]).right([1, 2]);
    for (category, sh) in &w.staff_hours {
        t.row([category.clone(), sh.usk.to_string(), sh.ssk.to_string()]);
    }
    t.write(out, 2)?;
    Ok(())
}

fn write_or_none(t: &Table, out: &mut dyn Write) -> std::io::Result<()> {
    if t.is_empty() {
        writeln!(out, "  (none)")
    } else {
        t.write(out, 2)
    }
}

/// One side of a comparison, for JSON.
#[derive(Serialize)]
struct Side<'a> {
    file: &'a str,
    version: &'a str,
    digest: &'a str,
}

impl<'a> Side<'a> {
    fn of(loaded: &'a weights_file::Loaded) -> Side<'a> {
        Side {
            file: &loaded.origin,
            version: &loaded.weights.meta.version,
            digest: &loaded.weights.digest,
        }
    }
}

/// `careload weights diff --json`.
#[derive(Serialize)]
struct DiffReport<'a> {
    old: Side<'a>,
    new: Side<'a>,
    changes: Vec<careload_scoring::weights::Change>,
}

/// `careload weights diff OLD NEW [--json]`.
///
/// # Errors
/// Either file cannot be read or is not valid; writing fails.
pub(crate) fn diff(old: &Path, new: &Path, json: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    let old = weights_file::load(old)?;
    let new = weights_file::load(new)?;
    let changes = diff_weights(&old.weights, &new.weights);
    if json {
        let report = DiffReport {
            old: Side::of(&old),
            new: Side::of(&new),
            changes,
        };
        return write_json(out, &report);
    }
    writeln!(
        out,
        "weights {} ({}) → {} ({})",
        old.weights.meta.version, old.origin, new.weights.meta.version, new.origin
    )?;
    if changes.is_empty() {
        writeln!(out, "no parameter changes")?;
        if old.weights.digest != new.weights.digest {
            writeln!(out, "(the files differ only in notes, comments or layout)")?;
        }
        return Ok(());
    }
    let mut t = Table::new(["parameter", "old", "new"]);
    for c in &changes {
        t.row([
            c.path.clone(),
            c.old.clone().unwrap_or_else(|| "(added)".to_owned()),
            c.new.clone().unwrap_or_else(|| "(removed)".to_owned()),
        ]);
    }
    t.write(out, 0)?;
    let sections: BTreeSet<&str> = changes
        .iter()
        .map(|c| c.path.split('.').next().unwrap_or(&c.path))
        .collect();
    let plural = if changes.len() == 1 { "change" } else { "changes" };
    writeln!(
        out,
        "{} parameter {plural} in {}",
        changes.len(),
        sections.into_iter().collect::<Vec<_>>().join(", ")
    )?;
    Ok(())
}
