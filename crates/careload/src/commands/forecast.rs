//! `careload forecast backtest`: the next-shift forecast judged on the
//! stored history (issue 28).
//!
//! The store is opened read-only and the work is
//! [`careload_app::forecast::backtest`]: the scheduled forecast's errors
//! learnt from the `--learn-weeks` weeks (default `forecast.history_weeks`,
//! what the service learns from) before `--from` only, then every
//! forecast made from a stored hour in `[--from, --to)` of a shift that
//! ended by `--to` judged against the points stored over the shift. The
//! scheduled forecast is re-made under the configured weights
//! (`scoring.weights`, else the built-in ones), as `careload export` and
//! `weights backtest` take them.
//!
//! A date means the local midnight that starts it in the hospital's zone
//! (`scoring.time_zone`); `--to` as a date is inclusive (up to the next
//! midnight). `--json` prints the app's `ForecastBacktest` as it is.
//!
//! The tables: per ward (its whole-ward forecasts, then its teams' pooled)
//! and all wards pooled, the forecasts judged and the young ones (history
//! too short: the schedule alone), the mean absolute error of the
//! scheduled-only forecast and of the P50 and their ratio (target ≤ 0.70),
//! the P90's and P10's coverage (targets 0.88–0.92 and 0.08–0.12), and which
//! targets are missed; the risk's calibration (per band of risk given, the
//! mean risk against the share understaffed); and per notice (hours before
//! the shift) the errors and the components the schedule misses most (mean
//! stored − scheduled points).

use std::io::Write;
use std::sync::Arc;

use anyhow::bail;
use careload_app::App;
use careload_app::forecast::{ForecastBacktest, backtest as run_backtest};
use careload_config::Config;
use careload_export::period::local_midnight;
use careload_runner::load_weights;
use careload_store::Access;
use chrono::{DateTime, Duration, Utc};

use crate::cli::{ForecastBacktestArgs, When};
use crate::commands::service::runtime;
use crate::table::Table;

/// The instant `when` stands for in the hospital's zone: a date's
/// midnight, or the next one's when `end` (an inclusive last date).
fn instant(app: &App, when: When, end: bool) -> anyhow::Result<DateTime<Utc>> {
    let tz = &app.tz();
    Ok(match when {
        When::Instant(t) => t,
        When::Date(d) if end => local_midnight(
            tz,
            d.succ_opt()
                .ok_or_else(|| anyhow::anyhow!("--to {d} is the last date there is"))?,
        ),
        When::Date(d) => local_midnight(tz, d),
    })
}

/// How `when` was written, for messages.
fn shown(when: When) -> String {
    match when {
        When::Date(d) => d.to_string(),
        When::Instant(t) => t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

/// A number with `places` decimals, the true minus sign for negatives.
fn num(v: f64, places: usize) -> String {
    let text = format!("{v:.places$}");
    match text.strip_prefix('-') {
        Some(rest) if rest.chars().any(|c| c.is_ascii_digit() && c != '0') => format!("−{rest}"),
        Some(rest) => rest.to_owned(),
        None => text,
    }
}

/// A signed number: `+1.5`, `−0.3`.
fn signed(v: f64, places: usize) -> String {
    let text = num(v, places);
    if text.starts_with('−') || text.chars().all(|c| c == '0' || c == '.') {
        text
    } else {
        format!("+{text}")
    }
}

/// One line of the errors table for `$e` (an `Evaluation`).
macro_rules! errors_row {
    ($label:expr, $scope:expr, $e:expr) => {{
        let e = $e;
        let mut missed = Vec::new();
        if e.forecasts > 0 {
            if !e.mae_ratio.is_some_and(|r| r <= 0.70) {
                missed.push("P50 MAE");
            }
            if !(0.88..=0.92).contains(&e.p90_coverage) {
                missed.push("P90");
            }
            if !(0.08..=0.12).contains(&e.p10_coverage) {
                missed.push("P10");
            }
            if e
                .risk_bins
                .iter()
                .any(|b| b.forecasts >= 30 && (b.mean_risk - b.understaffed).abs() > 0.1)
            {
                missed.push("risk");
            }
        }
        let judged = e.forecasts > 0;
        let figure = |v: f64, places: usize| if judged { num(v, places) } else { "–".to_owned() };
        vec![
            $label,
            $scope.to_owned(),
            e.forecasts.to_string(),
            e.young.to_string(),
            figure(e.scheduled_mae, 1),
            figure(e.p50_mae, 1),
            e.mae_ratio.map_or_else(|| "–".to_owned(), |r| num(r, 2)),
            figure(e.p90_coverage, 3),
            figure(e.p10_coverage, 3),
            if !judged {
                "–".to_owned()
            } else if missed.is_empty() {
                "all met".to_owned()
            } else {
                format!("missed: {}", missed.join(", "))
            },
        ]
    }};
}

/// The risk calibration rows of `$e` (an `Evaluation`) into table `$t`.
macro_rules! risk_rows {
    ($t:expr, $label:expr, $bins:expr) => {{
        for b in $bins {
            let seen = b.forecasts > 0;
            $t.row([
                $label.clone(),
                format!("{}–{}", num(b.from, 2), num(b.to, 2)),
                b.forecasts.to_string(),
                if seen { num(b.mean_risk, 3) } else { "–".to_owned() },
                if seen { num(b.understaffed, 3) } else { "–".to_owned() },
                if seen {
                    signed(b.understaffed - b.mean_risk, 3)
                } else {
                    "–".to_owned()
                },
            ]);
        }
    }};
}

/// The label of the pooled rows.
const ALL_WARDS: &str = "alla avdelningar";

/// The report as tables.
/// One risk calibration table under `$title` into `$out`: each ward's and
/// the pooled bands of the evaluations' field `$bins`.
macro_rules! risk_table {
    ($out:expr, $report:expr, $title:expr, $bins:ident) => {{
        writeln!($out)?;
        writeln!($out, "{}", $title)?;
        let mut r = Table::new([
            "ward",
            "risk given",
            "forecasts",
            "mean risk",
            "understaffed",
            "difference",
        ])
        .right([2, 3, 4, 5]);
        for w in &$report.wards {
            risk_rows!(r, w.ward, &w.ward_level.$bins);
        }
        risk_rows!(r, ALL_WARDS.to_owned(), &$report.pooled.$bins);
        r.write($out, 2)?;
    }};
}

fn print(report: &ForecastBacktest, out: &mut dyn Write) -> anyhow::Result<()> {
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    writeln!(
        out,
        "forecast back-test: errors learnt from the hours {} to {}, forecasts judged from the hours {} to {} (shifts ended by then); {} shifts left out for a missing hour, {} unreadable patient-hours",
        at(report.learn_from),
        at(report.from),
        at(report.from),
        at(report.to),
        report.gaps,
        report.unreadable
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "errors of the shift's need (total points; targets: ratio ≤ 0.70, P90 coverage 0.88–0.92, P10 coverage 0.08–0.12):"
    )?;
    let mut t = Table::new([
        "ward",
        "scope",
        "forecasts",
        "young",
        "MAE scheduled",
        "MAE P50",
        "ratio",
        "P90 coverage",
        "P10 coverage",
        "targets",
    ])
    .right([2, 3, 4, 5, 6, 7, 8]);
    for w in &report.wards {
        let label = if w.name == w.ward {
            w.ward.clone()
        } else {
            format!("{} {}", w.ward, w.name)
        };
        t.row(errors_row!(label.clone(), "ward", &w.ward_level));
        t.row(errors_row!(label, "teams", &w.teams));
    }
    t.row(errors_row!(ALL_WARDS.to_owned(), "wards", &report.pooled));
    t.write(out, 2)?;

    risk_table!(
        out,
        report,
        "risk calibration (whole wards, each planned profession; of the forecasts given a risk in the band, the share understaffed):",
        risk_bins
    );
    risk_table!(
        out,
        report,
        "the planning page's figure (whole wards; the risk that either planned profession is short):",
        either_bins
    );

    writeln!(out)?;
    writeln!(
        out,
        "by notice (whole wards pooled; what the schedule misses most: mean stored − scheduled points per component):"
    )?;
    let mut l = Table::new([
        "lead h",
        "forecasts",
        "MAE scheduled",
        "MAE P50",
        "the schedule misses most",
    ])
    .right([0, 1, 2, 3]);
    for lead in &report.by_lead {
        let mut components: Vec<(&String, &f64)> = lead.components.iter().collect();
        components.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(b.0)));
        let missed: Vec<String> = components
            .iter()
            .filter(|(_, v)| v.abs() >= 0.05)
            .take(3)
            .map(|(k, v)| format!("{k} {}", signed(**v, 1)))
            .collect();
        l.row([
            lead.lead.to_string(),
            lead.forecasts.to_string(),
            num(lead.scheduled_mae, 1),
            num(lead.p50_mae, 1),
            if missed.is_empty() {
                "–".to_owned()
            } else {
                missed.join(", ")
            },
        ]);
    }
    if l.is_empty() {
        writeln!(out, "  no shift judged")?;
    } else {
        l.write(out, 2)?;
    }
    Ok(())
}

/// `careload forecast backtest`.
pub(crate) fn backtest(args: &ForecastBacktestArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(db) = &args.db {
        config.database.url.clone_from(db);
    }
    let weights = Arc::new(load_weights(config.scoring.weights.as_deref())?);
    let report = runtime()?.block_on(async {
        let store = super::open_history(&config.database.url, Access::ReadOnly).await?;
        let app = App::try_new(store.clone(), Arc::new(config), weights)?;
        let from = instant(&app, args.from, false)?;
        let to = instant(&app, args.to, true)?;
        if to <= from {
            bail!(
                "--to {} is not after --from {}: the judged period is empty; send a later --to",
                shown(args.to),
                shown(args.from)
            );
        }
        let weeks = args
            .learn_weeks
            .map_or(app.settings().forecast.history_weeks, i64::from);
        let learn_from = from - Duration::weeks(weeks);
        let report = run_backtest(&app, learn_from, from, to)
            .await
            .map_err(|e| match e.hint() {
                Some(hint) => anyhow::anyhow!("{e}: {hint}"),
                None => anyhow::Error::from(e),
            });
        store.close().await;
        report
    })?;
    if args.json {
        return super::write_json(out, &report);
    }
    print(&report, out)
}

#[cfg(test)]
mod tests {
    use super::{num, signed};

    #[test]
    fn negatives_take_the_true_minus_sign_and_a_rounded_zero_none() {
        assert_eq!(num(-1.26, 1), "−1.3");
        assert_eq!(num(-0.01, 1), "0.0");
        assert_eq!(num(2.0, 2), "2.00");
        assert_eq!(signed(1.5, 1), "+1.5");
        assert_eq!(signed(-0.3, 1), "−0.3");
        assert_eq!(signed(0.0, 1), "0.0");
    }
}
