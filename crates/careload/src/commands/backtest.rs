//! `careload weights backtest`: what a candidate weights version would have
//! done to the stored history (nothing stored changes), as a table and,
//! with `--out`, a file, with a warning saying how many stored
//! patient-hours could not be re-scored and why; and `careload weights activate`: the council's
//! decision recorded, in force from the file's effective date.

use std::io::Write;
use std::sync::Arc;

use anyhow::Context as _;
use careload_app::App;
use careload_config::Config;
use careload_export::Sink;
use careload_export::backtest::{Backtest, CalibrationSide, UnitBacktest, to_frame};
use careload_runner::load_weights;
use careload_store::Access;

use crate::cli::{ActivateArgs, BacktestArgs};
use crate::commands::service::runtime;
use crate::table::Table;
use crate::weights_file;

fn num(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{v:.1}"))
}

fn rank(v: Option<u32>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// A mean, or `–` for a ward none of whose rows could be re-scored.
fn mean(u: &UnitBacktest, v: f64) -> String {
    if u.hours == 0 {
        "–".to_owned()
    } else {
        format!("{v:.2}")
    }
}

/// A unit's line; `kind` names a group of wards (`hospital`,
/// `department`) before its id, none for a ward.
fn row(kind: Option<&str>, u: &UnitBacktest) -> Vec<String> {
    vec![
        match kind {
            _ if u.ward.is_empty() => "hospital".to_owned(),
            Some(kind) => format!("{kind} {}", u.ward),
            None => u.ward.clone(),
        },
        u.patient_hours.to_string(),
        u.skipped_patient_hours.to_string(),
        mean(u, u.stored.total_mean),
        mean(u, u.candidate.total_mean),
        u.total_change_pct
            .map_or_else(|| "–".to_owned(), |p| format!("{p:+.1} %")),
        format!("{} → {}", rank(u.stored.rank), rank(u.candidate.rank)),
        format!(
            "{} → {}",
            num(u.stored.need_staff_hours),
            num(u.candidate.need_staff_hours)
        ),
        format!(
            "{} → {}",
            num(u.stored.gap_staff_hours),
            num(u.candidate.gap_staff_hours)
        ),
    ]
}

fn print(report: &Backtest, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(
        out,
        "back-test of {} against the stored history ({}), {} to {}: {} hours stored, {} re-scored, {} patient-hours re-scored, {} skipped, {} ms",
        report.candidate_version,
        report.stored_versions.join(", "),
        report.from,
        report.to,
        report.hours,
        report.hospital.hours,
        report.patient_hours,
        report.skipped,
        report.elapsed_ms
    )?;
    if report.skipped > 0 {
        let reasons: Vec<String> = report
            .skipped_reasons
            .iter()
            .map(|(reason, n)| format!("{n} {}", reason.describe()))
            .collect();
        writeln!(
            out,
            "warning: {} stored patient-hours could not be re-scored and are left out of both sides ({} hours left out entirely): {}; the means compare the {} patient-hours re-scored in {} hours, and need staff-hours cover only those (planned staffing covers the whole range)",
            report.skipped,
            report.skipped_hours,
            reasons.join(", "),
            report.patient_hours,
            report.hospital.hours
        )?;
    }
    writeln!(out)?;
    let mut t = Table::new([
        "ward",
        "patient-hours",
        "skipped",
        "mean/h stored",
        "mean/h candidate",
        "change",
        "rank",
        "need staff-h",
        "gap staff-h",
    ])
    .right([1, 2, 3, 4, 5]);
    // the whole store, each configured hospital, each department, each ward
    t.row(row(None, &report.hospital));
    for u in &report.hospitals {
        t.row(row(Some("hospital"), u));
    }
    for u in &report.departments {
        t.row(row(Some("department"), u));
    }
    for u in &report.wards {
        t.row(row(None, u));
    }
    t.write(out, 0)?;
    writeln!(out)?;
    let mut c = Table::new(["component (hospital)", "mean/h stored", "mean/h candidate"]).right([1, 2]);
    for (key, stored) in &report.hospital.stored.components {
        let candidate = report
            .hospital
            .candidate
            .components
            .get(key)
            .copied()
            .unwrap_or_default();
        c.row([key.to_string(), format!("{stored:.2}"), format!("{candidate:.2}")]);
    }
    c.row([
        "USK".to_owned(),
        format!("{:.2}", report.hospital.stored.usk_mean),
        format!("{:.2}", report.hospital.candidate.usk_mean),
    ]);
    c.row([
        "SSK".to_owned(),
        format!("{:.2}", report.hospital.stored.ssk_mean),
        format!("{:.2}", report.hospital.candidate.ssk_mean),
    ]);
    c.write(out, 0)?;
    print_calibration(report, out)?;
    Ok(())
}

/// The staff's shift ratings against both sides: how well each side's
/// points per person explain them (none without ratings).
fn print_calibration(report: &Backtest, out: &mut dyn Write) -> anyhow::Result<()> {
    if report.calibration.is_empty() {
        writeln!(
            out,
            "\nno shift ratings in the range: the staff's own judgement cannot test the candidate (issue 27: /wards/{{id}}/rate)"
        )?;
        return Ok(());
    }
    writeln!(out)?;
    writeln!(
        out,
        "against the staff's shift ratings (mean rating per shift on points per person present; R² and Spearman, optimal points per person):"
    )?;
    let num = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"));
    let verdict = |s: &CalibrationSide| {
        if s.reliable {
            "reliable".to_owned()
        } else {
            format!("unreliable: {}", s.reasons.join(", "))
        }
    };
    let mut t = Table::new([
        "ward",
        "rated shifts",
        "ratings",
        "R² stored",
        "R² candidate",
        "Spearman stored",
        "Spearman candidate",
        "optimum stored",
        "optimum candidate",
        "candidate fit",
    ])
    .right([1, 2, 3, 4, 5, 6, 7, 8]);
    for c in &report.calibration {
        t.row([
            if c.ward.is_empty() {
                "all wards".to_owned()
            } else {
                c.ward.clone()
            },
            c.shifts.to_string(),
            c.ratings.to_string(),
            num(c.stored.r_squared),
            num(c.candidate.r_squared),
            num(c.stored.spearman),
            num(c.candidate.spearman),
            num(c.stored.optimal_points_per_person),
            num(c.candidate.optimal_points_per_person),
            if c.ward.is_empty() {
                String::new()
            } else {
                verdict(&c.candidate)
            },
        ]);
    }
    t.write(out, 0)?;
    Ok(())
}

/// `careload weights backtest`.
pub(crate) fn run(args: &BacktestArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let candidate = weights_file::load(&args.candidate)?.weights;
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        config.database.url.clone_from(db);
    }
    let in_force = Arc::new(load_weights(config.scoring.weights.as_deref())?);
    let report = runtime()?.block_on(async {
        let store = super::open_history(&config.database.url, Access::ReadOnly).await?;
        let app = App::try_new(store.clone(), Arc::new(config), in_force)?;
        let report = careload_app::export::backtest(&app, candidate, args.from, args.to).await?;
        store.close().await;
        anyhow::Ok(report)
    })?;
    if let Some(path) = &args.out {
        let file = std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        let mut sink = Sink::new(args.format, std::io::BufWriter::new(file));
        let mut frame = to_frame(&report)?;
        sink.write(&mut frame)?;
        sink.finish(&mut frame.clear())?;
    }
    if args.json {
        return super::write_json(out, &report);
    }
    print(&report, out)
}

/// `careload weights activate`.
pub(crate) fn activate(args: &ActivateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (loaded, text) = weights_file::read(&args.file)?;
    let weights = loaded.weights;
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        config.database.url.clone_from(db);
    }
    let activation = runtime()?.block_on(async {
        let store = super::open_history(&config.database.url, Access::ReadWrite).await?;
        let a = store
            .activate_weights(&weights, &text, &args.by, &args.reference)
            .await?;
        store.close().await;
        anyhow::Ok(a)
    })?;
    writeln!(
        out,
        "weights {} (sha256 {}) activated by {} (reference {}), activation {}: it scores every hour from {} \
         (local date); a running careload switches at its next hourly run",
        activation.version,
        &weights.digest[..12.min(weights.digest.len())],
        activation.activated_by,
        activation.reference,
        activation.id,
        activation.effective_from
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code may panic

    use std::collections::BTreeMap;

    use careload_export::backtest::{Backtest, CalibrationSide, Side, SkipReason, UnitBacktest};

    use super::print;

    fn side(total_mean: f64, rank: Option<u32>) -> Side {
        Side {
            total_mean,
            usk_mean: 0.0,
            ssk_mean: 0.0,
            components: BTreeMap::new(),
            need_staff_hours: None,
            gap_staff_hours: None,
            rank,
        }
    }

    fn unit(ward: &str, hours: u64, patient_hours: u64, skipped: u64, rank: Option<u32>) -> UnitBacktest {
        UnitBacktest {
            ward: ward.to_owned(),
            hours,
            patient_hours,
            skipped_patient_hours: skipped,
            planned_staff_hours: None,
            stored: side(12.5, rank),
            candidate: side(12.5, rank),
            total_change_pct: Some(0.0),
        }
    }

    fn report(skipped_reasons: BTreeMap<SkipReason, u64>) -> Backtest {
        let skipped = skipped_reasons.values().sum();
        let w1 = skipped_reasons.get(&SkipReason::NoSnapshot).copied().unwrap_or(0);
        Backtest {
            from: "2026-11-23".parse().unwrap(),
            to: "2026-11-23".parse().unwrap(),
            candidate_version: "2027.1".into(),
            stored_versions: vec!["2026.1".into()],
            hours: 24,
            patient_hours: 48,
            skipped,
            skipped_hours: if skipped > 0 { 12 } else { 0 },
            skipped_reasons,
            hospital: unit("", 12, 48, skipped, None),
            hospitals: Vec::new(),
            departments: Vec::new(),
            wards: vec![
                unit("W1", 12, 36, w1, Some(1)),
                unit("W2", 12, 12, skipped - w1, Some(2)),
            ],
            calibration: Vec::new(),
            rescored: Vec::new(),
            elapsed_ms: 7,
        }
    }

    fn printed(report: &Backtest) -> String {
        let mut out = Vec::new();
        print(report, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Issue 24: the back-test printed −51 % without a warning. Rows it
    /// could not re-score are left out of both sides; the printed report
    /// says how many, in how many whole hours, and why, on every ward's row.
    #[test]
    fn the_printed_report_says_what_was_skipped_and_why() {
        let text = printed(&report(BTreeMap::from([
            (SkipReason::NoSnapshot, 48),
            (SkipReason::Unreadable, 2),
        ])));
        for want in [
            "warning: 50 stored patient-hours could not be re-scored and are left out of both sides",
            "12 hours left out entirely",
            "48 keep no snapshot (benchmark copies)",
            "2 have a snapshot that does not read (damaged)",
            "the means compare the 48 patient-hours re-scored in 12 hours",
        ] {
            assert!(text.contains(want), "{want:?} in:\n{text}");
        }
        let header = text.lines().find(|l| l.starts_with("ward")).unwrap();
        assert!(header.contains("skipped"), "{header}");
        let w1 = text.lines().find(|l| l.starts_with("W1")).unwrap();
        assert!(
            w1.split_whitespace().any(|c| c == "48"),
            "W1's skipped patient-hours: {w1}"
        );

        let clean = printed(&report(BTreeMap::new()));
        assert!(!clean.contains("warning"), "{clean}");
    }

    /// Issue 29: configured hospitals and departments get a line each,
    /// named by kind and id, between the whole store and the wards.
    #[test]
    fn the_printed_report_has_a_line_per_hospital_and_department() {
        let mut r = report(BTreeMap::new());
        r.hospitals = vec![unit("nord", 12, 36, 0, Some(1))];
        r.departments = vec![unit("med", 12, 36, 0, Some(1)), unit("kir", 12, 12, 0, Some(2))];
        let text = printed(&r);
        let lines: Vec<&str> = text.lines().collect();
        let at = |prefix: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("{prefix:?} in:\n{text}"))
        };
        assert!(at("hospital ") < at("hospital nord"), "{text}");
        assert!(at("hospital nord") < at("department med"), "{text}");
        assert!(at("department kir") < at("W1"), "{text}");
        assert!(
            lines[at("department kir")].contains("2 → 2"),
            "its rank among departments: {text}"
        );
    }

    /// Issue 27: the council's back-test shows how well each side's points
    /// explain the staff's ratings; without ratings it says so.
    #[test]
    fn the_printed_report_holds_both_sides_against_the_ratings() {
        let clean = printed(&report(BTreeMap::new()));
        assert!(clean.contains("no shift ratings in the range"), "{clean}");

        let side = |r: f64, optimum: f64, reliable: bool| CalibrationSide {
            r_squared: Some(r),
            spearman: Some(r.sqrt()),
            optimal_points_per_person: Some(optimum),
            reliable,
            reasons: if reliable {
                Vec::new()
            } else {
                vec!["low_r_squared".into()]
            },
        };
        let mut r = report(BTreeMap::new());
        r.calibration = vec![
            careload_export::backtest::CalibrationBacktest {
                ward: String::new(),
                shifts: 160,
                ratings: 900,
                stored: side(0.31, 0.0, true),
                candidate: side(0.67, 0.0, true),
            },
            careload_export::backtest::CalibrationBacktest {
                ward: "W1".into(),
                shifts: 160,
                ratings: 900,
                stored: side(0.31, 14.2, true),
                candidate: side(0.67, 15.1, false),
            },
        ];
        let text = printed(&r);
        assert!(!text.contains("no shift ratings"), "{text}");
        let all = text.lines().find(|l| l.starts_with("all wards")).unwrap();
        for want in ["160", "900", "0.31", "0.67"] {
            assert!(all.split_whitespace().any(|c| c == want), "{want} in {all}");
        }
        let w1 = text.lines().rfind(|l| l.starts_with("W1")).unwrap();
        for want in ["14.20", "15.10", "unreliable: low_r_squared"] {
            assert!(w1.contains(want), "{want} in {w1}");
        }
    }
}
