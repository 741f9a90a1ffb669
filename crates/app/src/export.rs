//! Trend exports and the weights back-test as use cases: the export context
//! of a configuration, an export run on a task of its own whose file comes
//! out in chunks ([`start_export`]; the API streams them as the response,
//! the CLI writes them to a file), and the back-test of a candidate weights
//! file ([`backtest`]), which also holds both sides' points against the
//! staff's shift ratings ([`careload_export::backtest::Backtest::calibration`]).

use std::collections::BTreeMap;

use careload_export::backtest::{Backtest, CalibrationBacktest, CalibrationSide, RescoredHour};
use careload_export::period::local_midnight;
use careload_export::{Context, ExportSpec, Exporter, Format, SharedBuf, Sink};
use careload_scoring::Weights;
use careload_store::{Level, Store, UnitHour};
use chrono::{Duration, NaiveDate};
use tokio::sync::{mpsc, oneshot};

use crate::calibration::{CalibrationFit, ward_calibration_of_hours};
use crate::{App, Error, Result};

impl App {
    /// The export context of this application under `weights`: the
    /// hospital's zone and each ward's shift plan as resolved at start
    /// ([`crate::Settings`]), its care category's factors under `weights`,
    /// the display names of wards (`[wards.<id>] name`) and teams
    /// (`[wards.<id>.teams]`), each ward's department with the departments'
    /// names (`level = department`'s groups, as plain maps), and each
    /// department's hospital with the hospitals' names (`level = site`'s
    /// groups, and the back-test's hospitals).
    ///
    /// # Errors
    /// [`Error::Config`]: a configured ward's shift plan or care category is invalid.
    pub fn export_context(&self, weights: &Weights) -> Result<Context> {
        let mut ctx = Context::new(self.tz());
        ctx.default_staff_hours =
            careload_planning::default_care_category(weights).and_then(|c| weights.staff_hours.get(c).copied());
        for (id, ward) in &self.config.wards {
            if let Some(name) = &ward.name {
                ctx.ward_names.insert(id.clone(), name.clone());
            }
            if !ward.teams.is_empty() {
                ctx.team_names.insert(id.clone(), ward.teams.clone());
            }
            if !ward.shifts.is_empty() {
                ctx.ward_shifts.insert(id.clone(), self.shift_plan(id)?);
            }
            if let Some(department) = &ward.department {
                ctx.ward_departments.insert(id.clone(), department.clone());
            }
            if let Some(category) = &ward.care_category {
                let factors = careload_planning::staff_hours_for(weights, category)
                    .map_err(|e| Error::Config(format!("wards.{id}.care_category: {e}")))?;
                ctx.staff_hours.insert(id.clone(), factors);
            }
        }
        for (id, department) in &self.config.departments {
            if let Some(name) = &department.name {
                ctx.department_names.insert(id.clone(), name.clone());
            }
            if let Some(hospital) = &department.hospital {
                ctx.department_hospitals.insert(id.clone(), hospital.clone());
            }
        }
        for (id, hospital) in &self.config.hospitals {
            if let Some(name) = &hospital.name {
                ctx.hospital_names.insert(id.clone(), name.clone());
            }
        }
        Ok(ctx)
    }
}

/// An export under way: its file's name and type, and its bytes as they are
/// written.
#[derive(Debug)]
pub struct ExportStream {
    /// The file name (`careload-ward-day-2026-01-01-2026-12-31.csv`).
    pub file_name: String,
    /// The format written.
    pub format: Format,
    /// The file's bytes, batch by batch; an `Err` ends a file cut short by a
    /// failure after the first byte (logged).
    pub chunks: mpsc::Receiver<std::io::Result<Vec<u8>>>,
}

/// Starts the export `spec` in `format` under the weights in force, on a
/// blocking thread of its own (polars aggregates between awaits; the
/// callers' async workers stay free). Returns once the export has checked
/// its spec and read its first rows, so a bad spec is an error here, before
/// the first byte.
///
/// # Errors
/// [`Error::BadQuery`] (param `export`) for a spec the exporter refuses,
/// [`Error::Config`] for a context that cannot be built, [`Error::Internal`]
/// otherwise.
pub async fn start_export(app: &App, spec: ExportSpec, format: Format) -> Result<ExportStream> {
    let ctx = app.export_context(&app.weights())?;
    let file_name = spec.file_name(format);
    let (ready_tx, ready_rx) = oneshot::channel();
    let (tx, chunks) = mpsc::channel(4);
    let (store, handle) = (app.store.clone(), tokio::runtime::Handle::current());
    tokio::task::spawn_blocking(move || handle.block_on(produce(store, ctx, spec, format, ready_tx, tx)));
    match ready_rx.await {
        Ok(Ok(())) => Ok(ExportStream {
            file_name,
            format,
            chunks,
        }),
        Ok(Err(careload_export::Error::BadSpec(hint))) => Err(bad_spec(hint)),
        Ok(Err(e)) => Err(Error::Internal(e.to_string())),
        Err(_) => Err(Error::Internal("the export task ended before it started".into())),
    }
}

/// Narrows `spec` to the wards of `departments` (`[departments.<id>]`), on
/// top of any ward filter it has: a controller's export of one department
/// (issue 29). Empty `departments` leave the spec as it is.
///
/// # Errors
/// [`Error::BadQuery`] (`departments`) naming the departments there are,
/// for one that is not configured or has no ward, or at `level=hospital`
/// (the whole store: a filter does not apply).
pub fn narrow_to_departments(app: &App, spec: &mut ExportSpec, departments: &[String]) -> Result<()> {
    let known: Vec<&String> = app.config.departments.keys().collect();
    narrow_to(
        spec,
        "departments",
        "department",
        departments,
        &known,
        |d| app.config.department_wards(d),
        "name it in [wards.<id>] department",
    )
}

/// Narrows `spec` to the wards of `hospitals` (`[hospitals.<id>]`: the
/// wards of their departments), on top of any ward filter it has (and any
/// departments' already applied): a controller's export of one hospital
/// (issue 29). Empty `hospitals` leave the spec as it is.
///
/// # Errors
/// [`Error::BadQuery`] (`hospitals`) naming the hospitals there are, for
/// one that is not configured or has no ward, or at `level=hospital`.
pub fn narrow_to_hospitals(app: &App, spec: &mut ExportSpec, hospitals: &[String]) -> Result<()> {
    let known: Vec<&String> = app.config.hospitals.keys().collect();
    narrow_to(
        spec,
        "hospitals",
        "hospital",
        hospitals,
        &known,
        |h| app.config.hospital_wards(h),
        "name it in [departments.<id>] hospital and the department in [wards.<id>] department",
    )
}

/// Adds the wards of each of `ids` (a `noun` of the configuration, `known`
/// the declared ones, `wards_of` their wards) to `spec`'s ward filter.
fn narrow_to(
    spec: &mut ExportSpec,
    param: &'static str,
    noun: &str,
    ids: &[String],
    known: &[&String],
    wards_of: impl Fn(&str) -> Vec<String>,
    how_to_add: &str,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    if spec.level == careload_export::ExportLevel::Hospital {
        return Err(Error::BadQuery {
            param,
            hint: format!(
                "level=hospital is the whole store; {param} applies to level site, department, ward or team \
                 (drop {param}, or send level=department)"
            ),
        });
    }
    let mut wards: Vec<String> = spec.wards.take().unwrap_or_default();
    for id in ids {
        if !known.contains(&id) {
            return Err(Error::BadQuery {
                param,
                hint: format!(
                    "{noun} {id:?} is not configured; send one of: {}",
                    if known.is_empty() {
                        "(none configured)".to_owned()
                    } else {
                        known.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                    }
                ),
            });
        }
        let of = wards_of(id);
        if of.is_empty() {
            return Err(Error::BadQuery {
                param,
                hint: format!("{noun} {id:?} has no ward; {how_to_add}"),
            });
        }
        wards.extend(of);
    }
    wards.sort();
    wards.dedup();
    spec.wards = Some(wards);
    Ok(())
}

fn bad_spec(hint: String) -> Error {
    Error::BadQuery { param: "export", hint }
}

/// Runs the export, sending each written batch's bytes.
async fn produce(
    store: Store,
    ctx: Context,
    spec: ExportSpec,
    format: Format,
    ready: oneshot::Sender<std::result::Result<(), careload_export::Error>>,
    tx: mpsc::Sender<std::io::Result<Vec<u8>>>,
) {
    let mut exporter = match Exporter::new(&store, &ctx, spec).await {
        Ok(e) => {
            let _ = ready.send(Ok(()));
            e
        }
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let buf = SharedBuf::new();
    let mut sink = Sink::new(format, buf.clone());
    let result: std::result::Result<(), careload_export::Error> = async {
        while let Some(mut df) = exporter.next_batch().await? {
            sink.write(&mut df)?;
            let bytes = buf.take();
            if !bytes.is_empty() && tx.send(Ok(bytes)).await.is_err() {
                return Ok(()); // the reader went away
            }
        }
        sink.finish(&mut exporter.empty_frame()?)?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => {
            let rest = buf.take();
            if !rest.is_empty() {
                let _ = tx.send(Ok(rest)).await;
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "export failed after it started; the file was cut short");
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
        }
    }
}

/// The back-test of `candidate` weights over the local dates `from`..=`to`:
/// every stored hour re-scored under the candidate and compared with the
/// weights in force. A front door may cap the range first (the API does).
///
/// # Errors
/// [`Error::BadQuery`] (param `export`) for a range the back-test refuses,
/// [`Error::Config`], [`Error::Store`], [`Error::Internal`].
pub async fn backtest(app: &App, candidate: Weights, from: NaiveDate, to: NaiveDate) -> Result<Backtest> {
    let stored_ctx = app.export_context(&app.weights())?;
    let candidate_ctx = app.export_context(&candidate)?;
    let report = careload_export::backtest::backtest(
        &app.store,
        &stored_ctx,
        &candidate_ctx,
        std::sync::Arc::new(candidate),
        from,
        to,
    )
    .await
    .map_err(|e| match e {
        careload_export::Error::BadSpec(hint) => bad_spec(hint),
        careload_export::Error::Store(e) => Error::Store(e),
        other => Error::Internal(other.to_string()),
    })?;
    let mut report = report;
    report.calibration = backtest_calibration(app, &report, from, to).await?;
    Ok(report)
}

/// Both sides of a back-test against the staff's shift ratings: each ward's
/// calibration (`[calibration]`'s minimums) over the back-test's dates on its
/// re-scored hours as stored and under the candidate, the wards pooled
/// first. Wards without a rated shift are left out; none at all gives none.
///
/// # Errors
/// The store failing; a ward whose shift plan is invalid.
async fn backtest_calibration(
    app: &App,
    report: &Backtest,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<CalibrationBacktest>> {
    let tz = app.tz();
    let (start, end) = (local_midnight(&tz, from), local_midnight(&tz, to + Duration::days(1)));
    let mut by_ward: BTreeMap<&str, Vec<&RescoredHour>> = BTreeMap::new();
    for h in &report.rescored {
        by_ward.entry(h.ward.as_str()).or_default().push(h);
    }
    let rules = app.settings().calibration;
    // shifts count when they ended by the last re-scored hour's end: the
    // data's own clock, not the wall's
    let Some(now) = report.rescored.iter().map(|h| h.hour + Duration::hours(1)).max() else {
        return Ok(Vec::new());
    };
    let mut wards = Vec::new();
    for (ward, hours) in by_ward {
        if ward.is_empty() {
            continue;
        }
        let side = |candidate: bool| -> Vec<UnitHour> {
            hours
                .iter()
                .map(|h| UnitHour {
                    hour: h.hour,
                    level: Level::Ward,
                    ward: h.ward.clone(),
                    team: String::new(),
                    totals: if candidate { h.candidate } else { h.stored },
                    weights_version: String::new(),
                    source_id: String::new(),
                })
                .collect()
        };
        let stored = match ward_calibration_of_hours(app, ward, start, end, now, &rules, side(false)).await {
            Ok(c) if c.together.shifts > 0 => c,
            // a ward gone since, or without a rated shift: nothing to compare
            Ok(_) | Err(Error::UnknownWard { .. }) => continue,
            Err(e) => return Err(e),
        };
        let candidate = ward_calibration_of_hours(app, ward, start, end, now, &rules, side(true)).await?;
        wards.push(CalibrationBacktest {
            ward: ward.to_owned(),
            shifts: stored.together.shifts,
            ratings: stored.together.ratings,
            stored: calibration_side(&stored.together),
            candidate: calibration_side(&candidate.together),
        });
    }
    if wards.is_empty() {
        return Ok(wards);
    }
    let pooled = |f: fn(&CalibrationBacktest) -> &CalibrationSide| CalibrationSide {
        r_squared: weighted_mean(&wards, |w| f(w).r_squared),
        spearman: weighted_mean(&wards, |w| f(w).spearman),
        optimal_points_per_person: None,
        reliable: wards.iter().all(|w| f(w).reliable),
        reasons: Vec::new(),
    };
    let all = CalibrationBacktest {
        ward: String::new(),
        shifts: wards.iter().map(|w| w.shifts).sum(),
        ratings: wards.iter().map(|w| w.ratings).sum(),
        stored: pooled(|w| &w.stored),
        candidate: pooled(|w| &w.candidate),
    };
    Ok(std::iter::once(all).chain(wards).collect())
}

/// A fit's figures for the back-test.
fn calibration_side(fit: &CalibrationFit) -> CalibrationSide {
    CalibrationSide {
        r_squared: fit.r_squared,
        spearman: fit.spearman,
        optimal_points_per_person: fit.optimal_points_per_person.map(|p| p.as_f64()),
        reliable: fit.reliable,
        reasons: fit.reasons.iter().map(|r| r.code.clone()).collect(),
    }
}

/// The mean of `value` over the wards that have one, weighted by rated shifts.
fn weighted_mean(wards: &[CalibrationBacktest], value: impl Fn(&CalibrationBacktest) -> Option<f64>) -> Option<f64> {
    let (mut sum, mut weight) = (0.0, 0.0);
    for w in wards {
        if let Some(v) = value(w) {
            sum += v * f64::from(w.shifts);
            weight += f64::from(w.shifts);
        }
    }
    (weight > 0.0).then(|| sum / weight)
}
