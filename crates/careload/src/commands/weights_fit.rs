//! `careload weights fit`: a candidate weights file whose component scales
//! are fitted to the staff's ratings of their shifts (issue 27).
//!
//! The command reads the history store (read-only), fits one scale per
//! score component over every ward's rated shifts of the window
//! ([`careload_app::refit::fit_weights`], the method in
//! `careload_planning::refit`), prints per ward and pooled the R² of the
//! mean rating on points per person under the weights in force and under
//! the candidate (in-sample and on held-out weeks) and the scales. When a
//! change is proposed it writes the candidate: the file in force (the
//! council's activation in force at the window's end, else the
//! configuration's `scoring.weights`, else the built-in one) with every
//! scaled number replaced and everything else, comments and order, kept
//! ([`candidate_text`]), its `[meta]` saying it was fitted and on what. The
//! file is read back through the one reader and must equal
//! `Weights::with_component_scales` of the weights in force. When no change
//! is proposed it says why and writes nothing; that is not an error.
//!
//! Nothing is activated: the candidate goes through `careload weights
//! backtest` and the council's `careload weights activate` like any other.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use careload_app::App;
use careload_app::refit::{COMPONENTS, FitBounds, RSquared, WeightsFit, fit_weights};
use careload_config::Config;
use careload_export::period::local_midnight;
use careload_scoring::score::Component;
use careload_scoring::snapshot::{NortonActivity, Route, SupportLevel};
use careload_scoring::weights::BUILT_IN_TEXT;
use careload_scoring::{Qty, Weights};
use careload_store::Access;
use chrono::{NaiveDate, Utc};
use serde::Serialize;
use toml_edit::{DocumentMut, Item, Value};

use crate::cli::FitArgs;
use crate::commands::service::runtime;
use crate::table::Table;
use crate::weights_file;

/// What `--json` prints.
#[derive(Serialize)]
struct JsonReport<'a> {
    /// The fit.
    #[serde(flatten)]
    fit: &'a WeightsFit,
    /// The candidate written, if any.
    written: Option<String>,
    /// Its version.
    candidate_version: Option<String>,
}

/// The weights in force and their file's text.
struct InForce {
    weights: Weights,
    text: String,
    origin: String,
}

/// A number of the weights as TOML: an integer when whole, else the
/// shortest decimal (at most three decimals, the format's precision).
fn number(text: &str) -> anyhow::Result<Value> {
    text.parse::<Value>()
        .map_err(|e| anyhow::anyhow!("cannot write {text} as TOML: {e}"))
}

/// Replaces the value at `item` (which must be a number) by `text`, keeping
/// the comments and spacing around it.
fn set(item: Option<&mut Item>, text: &str, path: &str) -> anyhow::Result<()> {
    let Some(value) = item.and_then(Item::as_value_mut) else {
        bail!("the weights file in force has no number at {path}");
    };
    let decor = value.decor().clone();
    let mut new = number(text)?;
    *new.decor_mut() = decor;
    *value = new;
    Ok(())
}

/// The table at `path` (dotted keys, any nesting of tables and inline tables).
fn table<'a>(doc: &'a mut DocumentMut, path: &[&str]) -> Option<&'a mut dyn toml_edit::TableLike> {
    let mut t: &mut dyn toml_edit::TableLike = doc.as_table_mut();
    for key in path {
        t = t.get_mut(key)?.as_table_like_mut()?;
    }
    Some(t)
}

/// The candidate's text: `in_force_text` (the file of `in_force`) with every
/// parameter `scaled` changed written in place and `[meta]` replaced by
/// `version` and the fit's notes, a header comment first.
///
/// # Errors
/// The text is not the file of `in_force` (a parameter is missing).
pub(crate) fn candidate_text(
    in_force_text: &str,
    scaled: &Weights,
    version: &str,
    notes: &str,
    header: &str,
) -> anyhow::Result<String> {
    let mut doc: DocumentMut = in_force_text.parse().context("the weights file in force is not TOML")?;
    for a in &scaled.activities {
        let path = ["activities", "codes", a.code.as_str()];
        let t = table(&mut doc, &path).with_context(|| format!("no activities.codes.{}", a.code))?;
        for level in NortonActivity::ALL {
            set(
                t.get_mut(level.key()),
                &a.at(level).to_string(),
                &format!("activities.codes.{}.{}", a.code, level.key()),
            )?;
        }
    }
    for route in Route::ALL {
        let w = scaled.medications.route(route);
        let t = table(&mut doc, &["medications", route.key()])
            .with_context(|| format!("no medications.{}", route.key()))?;
        set(
            t.get_mut("per_order_hour"),
            &w.per_order_hour.to_string(),
            "per_order_hour",
        )?;
        set(
            t.get_mut("per_administration"),
            &w.per_administration.to_string(),
            "per_administration",
        )?;
    }
    {
        let t = table(&mut doc, &["news2"]).context("no [news2]")?;
        set(
            t.get_mut("per_measurement"),
            &scaled.news2.per_measurement.to_string(),
            "news2.per_measurement",
        )?;
        let bands = t
            .get_mut("bands")
            .and_then(Item::as_value_mut)
            .and_then(Value::as_array_mut)
            .context("no news2.bands")?;
        if bands.len() != scaled.news2.bands.len() {
            bail!("news2.bands differ from the weights in force");
        }
        for (v, b) in bands.iter_mut().zip(&scaled.news2.bands) {
            let band = v.as_inline_table_mut().context("a news2 band is not an inline table")?;
            let value = band.get_mut("per_hour").context("a news2 band has no per_hour")?;
            let decor = value.decor().clone();
            let mut new = number(&b.per_hour.to_string())?;
            *new.decor_mut() = decor;
            *value = new;
        }
    }
    {
        let t = table(&mut doc, &["emotional_support"]).context("no [emotional_support]")?;
        for level in SupportLevel::ALL {
            set(
                t.get_mut(level.key()),
                &scaled.emotional_support.at(level).to_string(),
                &format!("emotional_support.{}", level.key()),
            )?;
        }
    }
    for (section, key, list) in [
        ("orders", "points", &scaled.orders),
        ("care_plans", "per_hour", &scaled.care_plans),
    ] {
        for c in list {
            let t = table(&mut doc, &[section, c.category.as_str()])
                .with_context(|| format!("no {section}.{}", c.category))?;
            set(
                t.get_mut(key),
                &c.points.to_string(),
                &format!("{section}.{}.{key}", c.category),
            )?;
        }
    }
    if !scaled.diagnoses.is_empty() {
        let rules = doc
            .get_mut("diagnoses")
            .and_then(Item::as_array_of_tables_mut)
            .context("no [[diagnoses]]")?;
        if rules.len() != scaled.diagnoses.len() {
            bail!("the diagnosis rules differ from the weights in force");
        }
        for (t, d) in rules.iter_mut().zip(&scaled.diagnoses) {
            set(
                t.get_mut("per_hour"),
                &d.per_hour.to_string(),
                &format!("diagnoses.{}.per_hour", d.prefix),
            )?;
        }
    }
    {
        let t = table(&mut doc, &["modifiers", "newly_admitted"]).context("no [modifiers.newly_admitted]")?;
        set(
            t.get_mut("extra_per_hour"),
            &scaled.modifiers.newly_admitted.extra_per_hour.to_string(),
            "modifiers.newly_admitted.extra_per_hour",
        )?;
    }
    {
        let meta = table(&mut doc, &["meta"]).context("no [meta]")?;
        meta.insert("version", toml_edit::value(version));
        meta.insert(
            "decided_by",
            toml_edit::value("not decided: fitted by careload weights fit"),
        );
        meta.insert(
            "meeting_reference",
            toml_edit::value("none: a fitted candidate for the council to back-test and decide"),
        );
        let mut notes_value = Value::from(notes);
        if let Some(s) = notes_value.as_str() {
            // a multi-line basic string, as the council writes notes
            let text = format!(
                "\"\"\"\n{}\"\"\"",
                s.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"")
            );
            notes_value = text.parse::<Value>().unwrap_or(notes_value);
        }
        meta.insert("notes", Item::Value(notes_value));
        if let Some(mut key) = meta.key_mut("effective_from") {
            key.leaf_decor_mut().set_prefix(
                "# effective_from: the council sets the first day when it decides; until then it is the\n\
                 # in-force version's, and `careload weights activate` must not be run on this file as it is.\n",
            );
        }
    }
    Ok(format!("{header}{doc}"))
}

/// The weights in force at `date`: the council's activation, else the
/// configured file, else the built-in version; with its text.
async fn in_force(config: &Config, store: &careload_store::Store, date: NaiveDate) -> anyhow::Result<InForce> {
    if let Some(a) = store.activation_for(date).await? {
        let origin = format!("activation {} ({})", a.id, a.version);
        let weights = Weights::from_toml(&a.weights_toml, &origin)?;
        return Ok(InForce {
            weights,
            text: a.weights_toml,
            origin,
        });
    }
    match config.scoring.weights.as_deref() {
        Some(path) => {
            let (loaded, text) = weights_file::read(path)?;
            Ok(InForce {
                weights: loaded.weights,
                text,
                origin: loaded.origin,
            })
        }
        None => Ok(InForce {
            weights: Weights::built_in()?,
            text: BUILT_IN_TEXT.to_owned(),
            origin: weights_file::DEFAULT_ORIGIN.to_owned(),
        }),
    }
}

fn r2(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.3}"))
}

fn pair(r: &RSquared) -> [String; 2] {
    [r2(r.in_force), r2(r.candidate)]
}

/// The report as text.
fn print(fit: &WeightsFit, out: &mut dyn Write) -> anyhow::Result<()> {
    let f = &fit.fit;
    writeln!(
        out,
        "weights fit against the staff's ratings, {} to {}: weights in force {}, hours scored by {}; {} wards, {} rated shifts ({} unrated), {} ratings, response rate {}, {} weeks",
        fit.from,
        fit.to,
        fit.in_force_version,
        if fit.weights_versions.is_empty() {
            "none".to_owned()
        } else {
            fit.weights_versions.join(", ")
        },
        fit.wards.len(),
        f.shifts,
        f.unrated_shifts,
        f.ratings,
        f.response_rate
            .map_or_else(|| "–".to_owned(), |r| format!("{:.0} %", r * 100.0)),
        f.weeks
    )?;
    if fit.weights_versions.len() > 1 || fit.weights_versions.iter().any(|v| *v != fit.in_force_version) {
        writeln!(
            out,
            "warning: the hours were scored by {} but the weights in force are {}: the scales apply to the points as stored",
            fit.weights_versions.join(", "),
            fit.in_force_version
        )?;
    }
    writeln!(out)?;
    let mut t = Table::new([
        "ward",
        "rated shifts",
        "ratings",
        "R² in force",
        "R² candidate",
        "held-out R² in force",
        "held-out R² candidate",
    ])
    .right([1, 2, 3, 4, 5, 6]);
    for w in &f.wards {
        let [a, b] = pair(&w.in_sample);
        let [c, d] = pair(&w.held_out);
        t.row([w.ward.clone(), w.shifts.to_string(), w.ratings.to_string(), a, b, c, d]);
    }
    let [a, b] = pair(&f.in_sample);
    t.row([
        "pooled".to_owned(),
        f.shifts.to_string(),
        f.ratings.to_string(),
        a,
        b,
        String::new(),
        String::new(),
    ]);
    t.write(out, 0)?;
    writeln!(out)?;
    for h in &f.held_out {
        let [a, b] = pair(&h.r_squared);
        writeln!(
            out,
            "held out ({}): fitted on {} rated shifts, tested on {}: R² in force {a}, candidate {b}",
            h.fitted_on.sv(),
            h.fit_shifts,
            h.test_shifts
        )?;
    }
    writeln!(out)?;
    let mut s = Table::new(["component", "mean points/person", "scale"]).right([1, 2]);
    for c in &f.scales {
        s.row([
            c.component.key().to_owned(),
            format!("{:.2}", c.mean_points_per_person),
            format!("{:.2}", c.scale),
        ]);
    }
    s.write(out, 0)?;
    writeln!(
        out,
        "bounds: scales {}–{}, pull {} ratings, held-out gain at least {}",
        fit.bounds.min_scale, fit.bounds.max_scale, fit.bounds.pull, fit.bounds.min_gain
    )?;
    Ok(())
}

/// The notes of the candidate's `[meta]`.
fn notes(fit: &WeightsFit, in_force_origin: &str, scales: &[Qty; COMPONENTS]) -> String {
    let f = &fit.fit;
    let mut n = format!(
        "Fitted by `careload weights fit` to the staff's ratings; NOT decided by any council.\n\
         Derived from weights {} ({in_force_origin}); only the component scales below differ.\n\
         Window {} to {}: {} wards ({}), {} rated shifts, {} ratings, {} weeks.\n\
         Scales:",
        fit.in_force_version,
        fit.from,
        fit.to,
        fit.wards.len(),
        fit.wards.iter().map(|w| w.id.as_str()).collect::<Vec<_>>().join(", "),
        f.shifts,
        f.ratings,
        f.weeks,
    );
    for (c, s) in Component::ALL.iter().zip(scales) {
        n.push_str(&format!(" {} {s},", c.key()));
    }
    n.pop();
    n.push_str(&format!(
        ".\nBounds: scales {}–{}, pull toward the weights in force {} ratings, held-out gain at least {}",
        fit.bounds.min_scale, fit.bounds.max_scale, fit.bounds.pull, fit.bounds.min_gain
    ));
    n.push_str(&format!(
        ".\nR² of the mean rating on points per person, in force vs candidate: in-sample {} vs {}",
        r2(f.in_sample.in_force),
        r2(f.in_sample.candidate)
    ));
    for h in &f.held_out {
        n.push_str(&format!(
            "; held out ({}) {} vs {}",
            h.fitted_on.sv(),
            r2(h.r_squared.in_force),
            r2(h.r_squared.candidate)
        ));
    }
    n.push_str(".\nNext: careload weights backtest, then the council's decision and careload weights activate.\n");
    n
}

/// Writes the candidate to `path` (never over an existing file), reads it
/// back through the one reader, and checks it is `expected`.
fn write_candidate(path: &Path, text: &str, expected: &Weights) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create {} (an existing file is never overwritten)",
                path.display()
            )
        })?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    drop(file);
    let written = weights_file::load(path)?.weights;
    let strip = |w: &Weights| -> Vec<(String, String)> {
        w.parameters()
            .into_iter()
            .filter(|(p, _)| !p.starts_with("meta."))
            .collect()
    };
    if strip(&written) != strip(expected) {
        // never leave a wrong file under a candidate's name
        let mut rejected = path.as_os_str().to_owned();
        rejected.push(".rejected");
        let rejected = PathBuf::from(rejected);
        std::fs::rename(path, &rejected)
            .with_context(|| format!("cannot rename the wrong candidate {} away; delete it", path.display()))?;
        bail!(
            "the candidate written does not read back as the scaled weights (a bug); it is kept for inspection as {}, do not use it",
            rejected.display()
        );
    }
    Ok(())
}

/// `careload weights fit`.
pub(crate) fn run(args: &FitArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if args.to < args.from {
        bail!("--to {} is before --from {}", args.to, args.from);
    }
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.database {
        config.database.url.clone_from(db);
    }
    for (flag, value, lo, hi) in [
        ("--min-scale", args.min_scale, 0.0, 1.0),
        ("--max-scale", args.max_scale, 1.0, 100.0),
    ] {
        if let Some(v) = value
            && !(v.is_finite() && (lo..=hi).contains(&v))
        {
            bail!(
                "{flag} {v} is outside {lo}–{hi} (times the weights in force), as calibration.fit_min_scale and fit_max_scale are"
            );
        }
    }
    if !(args.pull.is_finite() && args.pull >= 0.0) {
        bail!(
            "--pull {} must be a number of ratings, 0 or more (default 100)",
            args.pull
        );
    }
    let bounds = FitBounds {
        min_scale: args.min_scale.unwrap_or(config.calibration.fit_min_scale),
        max_scale: args.max_scale.unwrap_or(config.calibration.fit_max_scale),
        pull: args.pull,
        ..FitBounds::default()
    };
    let now = Utc::now();
    let (fit, in_force) = runtime()?.block_on(async {
        let store = super::open_history(&config.database.url, Access::ReadOnly).await?;
        let in_force = in_force(&config, &store, args.to).await?;
        let app = App::try_new(store.clone(), Arc::new(config), Arc::new(in_force.weights.clone()))?;
        let tz = app.tz();
        let from = local_midnight(&tz, args.from);
        let to = local_midnight(&tz, args.to.succ_opt().context("--to is the last date there is")?);
        let rules = app.settings().calibration;
        let fit = fit_weights(&app, from, to, now, &rules, &bounds).await;
        store.close().await;
        anyhow::Ok((fit?, in_force))
    })?;

    let mut written = None;
    let mut version = None;
    if fit.fit.proposes_change {
        let scales = fit.fit.rounded_scales();
        let v = format!("{}-fit-{}", in_force.weights.meta.version, now.date_naive());
        let scaled = in_force.weights.with_component_scales(&scales);
        let header = format!(
            "# CANDIDATE fitted by `careload weights fit` on {} from weights {} — not decided.\n\
             # Run `careload weights backtest --candidate THIS_FILE --from … --to …`; the council decides,\n\
             # sets meta (effective_from, decided_by, meeting_reference) and runs `careload weights activate`.\n\n",
            now.date_naive(),
            in_force.weights.meta.version
        );
        let text = candidate_text(
            &in_force.text,
            &scaled,
            &v,
            &notes(&fit, &in_force.origin, &scales),
            &header,
        )?;
        let path = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("{v}.toml")));
        write_candidate(&path, &text, &scaled)?;
        written = Some(path);
        version = Some(v);
    }

    if args.json {
        return super::write_json(
            out,
            &JsonReport {
                fit: &fit,
                written: written.as_ref().map(|p| p.display().to_string()),
                candidate_version: version,
            },
        );
    }
    print(&fit, out)?;
    writeln!(out)?;
    match (&written, &version) {
        (Some(path), Some(v)) => writeln!(
            out,
            "proposed: candidate weights {v} written to {}; nothing is in force until the council decides.\n\
             next: careload weights backtest --candidate {} --from {} --to {}, then the council's careload weights activate",
            path.display(),
            path.display(),
            args.from,
            args.to
        )?,
        _ => {
            writeln!(out, "no change proposed; no file written. Why:")?;
            for r in &fit.reasons {
                writeln!(out, "  {}: {}", r.code, r.text)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_candidate_keeps_comments_and_order_and_reads_back_as_the_scaled_weights() {
        let w = Weights::built_in().unwrap();
        let scales = careload_app::refit::rounded_scales(&[1.25, 0.5, 1.5, 0.8, 2.0, 1.0, 0.333, 3.0, 1.1]);
        assert_eq!(scales[6], Qty::from_milli(330));
        let scaled = w.with_component_scales(&scales);
        let text = candidate_text(
            BUILT_IN_TEXT,
            &scaled,
            "2026.1-fit-2026-12-05",
            "fitted\n",
            "# header\n",
        )
        .unwrap();
        assert!(text.starts_with("# header\n# careload weights, version 2026.1"));
        // every comment line of the file in force is kept, in order
        let comments = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| l.trim_start().starts_with('#'))
                .map(str::to_owned)
                .collect()
        };
        let kept = comments(&text);
        let mut at = 0;
        for c in comments(BUILT_IN_TEXT) {
            at += kept[at..]
                .iter()
                .position(|k| *k == c)
                .unwrap_or_else(|| panic!("lost {c:?}"))
                + 1;
        }
        let back = Weights::from_toml(&text, "candidate").unwrap();
        let params = |w: &Weights| -> Vec<(String, String)> {
            w.parameters()
                .into_iter()
                .filter(|(p, _)| !p.starts_with("meta."))
                .collect()
        };
        assert_eq!(params(&back), params(&scaled));
        assert_ne!(params(&back), params(&w));
        assert_eq!(back.meta.version, "2026.1-fit-2026-12-05");
        assert_eq!(back.meta.decided_by, "not decided: fitted by careload weights fit");
        assert_eq!(back.meta.effective_from, w.meta.effective_from);
        assert_eq!(back.meta.notes, "fitted\n");
        // whole numbers stay integers: personal hygiene bedridden 4 × 1.5 = 6
        assert!(text.contains("bedridden = 6\n"), "{text}");
    }
}
