//! The export engine: reads the hourly sums in chunks, keeps the rows of
//! periods still open, and aggregates each finished period with polars.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::time::{Duration as StdDuration, Instant};

use careload_scoring::score::Component;
use careload_scoring::shift::ShiftPlan;
use careload_store::{Level, Store, UnitHour};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use polars::prelude::*;

use crate::period::{Period, period_of, widen, year_earlier};
use crate::schema::{self, Kind};
use crate::sink::Sink;
use crate::{Context, Error, ExportLevel, ExportSpec, Format, Grain};

/// Hours read per chunk: two weeks of one level's hourly sums.
const CHUNK_HOURS: i64 = 14 * 24;

/// What an export did.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Rows written.
    pub rows: u64,
    /// Unit-hours read from the store.
    pub unit_hours_read: u64,
    /// Batches written.
    pub batches: u64,
    /// Wall time.
    #[serde(with = "millis")]
    pub elapsed: StdDuration,
}

mod millis {
    pub(super) fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Runs one export to `out` in `format`.
///
/// # Errors
/// A bad spec (unknown ward, bad combination), the store or the writer failing.
pub async fn export<W: Write>(
    store: &Store,
    ctx: &Context,
    spec: &ExportSpec,
    format: Format,
    out: W,
) -> Result<Summary, Error> {
    let started = Instant::now();
    let mut exporter = Exporter::new(store, ctx, spec.clone()).await?;
    let mut sink = Sink::new(format, out);
    let mut batches = 0;
    while let Some(mut df) = exporter.next_batch().await? {
        sink.write(&mut df)?;
        batches += 1;
    }
    let rows = sink.finish(&mut exporter.empty_frame()?)?;
    Ok(Summary {
        rows,
        unit_hours_read: exporter.unit_hours_read,
        batches,
        elapsed: started.elapsed(),
    })
}

/// Wards that share a shift plan: their periods (for `grain = shift`) are
/// the same, so one query counts their distinct patients.
#[derive(Debug)]
struct Group {
    plan: ShiftPlan,
    /// The wards, `None` for every ward.
    wards: Option<Vec<String>>,
}

/// One unit-hour waiting for its period to end.
#[derive(Debug)]
struct Pending {
    period: u32,
    /// The hour (Unix seconds): a site or a department sums its wards' rows
    /// per hour.
    hour: i64,
    /// The ward, the department at `level = department`, the hospital at
    /// `level = site`.
    ward: String,
    team: String,
    patients: i64,
    total: i64,
    usk: i64,
    ssk: i64,
    components: [i64; 9],
    unmatched: i64,
    /// `q_*` sums in [`QUALITY`] order.
    quality: [i64; 7],
}

/// The documentation-quality sums kept per unit-hour, in frame column names.
const QUALITY: [&str; 7] = [
    "q_assessed",
    "q_norton_stale",
    "q_news2_overdue",
    "q_thin",
    "q_activities",
    "q_activities_no_due",
    "q_activities_generic",
];

type UnitKey = (u32, String, String);

/// A year earlier, by (ward, team, period label): the mean and the patients.
type LastYear = HashMap<(String, String, String), (Option<f64>, i64)>;

/// An export in progress: call [`Exporter::next_batch`] until it returns `None`.
pub struct Exporter<'a> {
    store: &'a Store,
    ctx: &'a Context,
    spec: ExportSpec,
    groups: Vec<Group>,
    ward_group: HashMap<String, usize>,
    wanted: Option<BTreeSet<String>>,
    /// At `level = department`: each department's wards in scope (`""` for
    /// the wards of no department); at `level = site`: each hospital's wards
    /// in scope (wards of no hospital left out).
    group_wards: BTreeMap<String, Vec<String>>,
    periods: Vec<(usize, Period)>,
    period_index: HashMap<(usize, DateTime<Utc>), u32>,
    pending: Vec<Pending>,
    planned: HashMap<UnitKey, f64>,
    need: HashMap<UnitKey, f64>,
    last_year: Option<LastYear>,
    cursor: DateTime<Utc>,
    end: DateTime<Utc>,
    /// The end of the last hour stored when the export started (`None` for
    /// an empty store): periods ending after it are incomplete, and nothing
    /// later is read.
    data_end: Option<DateTime<Utc>>,
    /// Unit-hours read so far.
    pub unit_hours_read: u64,
}

impl<'a> Exporter<'a> {
    /// Checks the spec against the store and prepares the run.
    ///
    /// # Errors
    /// [`Error::BadSpec`] for a bad combination or an unknown ward.
    pub async fn new(store: &'a Store, ctx: &'a Context, spec: ExportSpec) -> Result<Exporter<'a>, Error> {
        spec.validate()?;
        if spec.level == ExportLevel::Department && ctx.ward_departments.is_empty() {
            return Err(Error::BadSpec(
                "level department needs departments, and none is configured: declare [departments.<id>] (name, \
                 hospital) and name each ward's department in [wards.<id>] department, or send level=ward"
                    .to_owned(),
            ));
        }
        if spec.level == ExportLevel::Site && !ctx.ward_departments.keys().any(|w| ctx.hospital_of(w).is_some()) {
            return Err(Error::BadSpec(
                "level site needs hospitals, and no ward is in one: declare [hospitals.<id>] (name), name each \
                 department's hospital in [departments.<id>] hospital and each ward's department in [wards.<id>] \
                 department, or send level=hospital (the whole store) or level=department"
                    .to_owned(),
            ));
        }
        let known: Vec<String> = store.wards().await?.into_iter().map(|w| w.ward).collect();
        if let Some(wanted) = &spec.wards {
            let unknown: Vec<&String> = wanted.iter().filter(|w| !known.contains(w)).collect();
            if !unknown.is_empty() {
                return Err(Error::BadSpec(format!(
                    "ward {} is not known; send some of: {}",
                    unknown.iter().map(|w| format!("{w:?}")).collect::<Vec<_>>().join(", "),
                    known.join(", ")
                )));
            }
        }
        let wanted: Option<BTreeSet<String>> = spec.wards.as_ref().map(|w| w.iter().cloned().collect());
        let in_scope: Vec<String> = known
            .iter()
            .filter(|w| wanted.as_ref().is_none_or(|s| s.contains(*w)))
            .cloned()
            .collect();
        let mut group_wards: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ward in &in_scope {
            let group = match spec.level {
                ExportLevel::Department => ctx.department_of(ward).unwrap_or(""),
                ExportLevel::Site => match ctx.hospital_of(ward) {
                    Some(hospital) => hospital,
                    None => continue,
                },
                ExportLevel::Hospital | ExportLevel::Ward | ExportLevel::Team => break,
            };
            group_wards.entry(group.to_owned()).or_default().push(ward.clone());
        }

        // Only shifts differ between wards; every other grain is one group.
        let mut groups = vec![Group {
            plan: ctx.default_shifts.clone(),
            wards: spec.wards.clone(),
        }];
        let mut ward_group = HashMap::new();
        if spec.grain == Grain::Shift && spec.level != ExportLevel::Hospital {
            let mut default_wards = Vec::new();
            for ward in &in_scope {
                let plan = ctx.plan(ward);
                if *plan == ctx.default_shifts {
                    default_wards.push(ward.clone());
                    continue;
                }
                let g = match groups.iter().position(|g| g.plan == *plan) {
                    Some(g) => g,
                    None => {
                        groups.push(Group {
                            plan: plan.clone(),
                            wards: Some(Vec::new()),
                        });
                        groups.len() - 1
                    }
                };
                if let Some(w) = groups[g].wards.as_mut() {
                    w.push(ward.clone());
                }
                ward_group.insert(ward.clone(), g);
            }
            if groups.len() > 1 {
                groups[0].wards = Some(default_wards);
            }
        }
        let plans: Vec<&ShiftPlan> = groups.iter().map(|g| &g.plan).collect();
        let (cursor, end) = widen(spec.grain, spec.from, spec.to, &ctx.tz, &plans);
        // an hour is stored whole or not at all, so the last one stored ends
        // the data (with several sources, the last every live source wrote:
        // `Store::settled_hour`): an hour written while the export runs is
        // left for the next
        let data_end = store.settled_hour().await?.map(|h| h + Duration::hours(1));

        let mut exporter = Exporter {
            store,
            ctx,
            spec,
            groups,
            ward_group,
            wanted,
            group_wards,
            periods: Vec::new(),
            period_index: HashMap::new(),
            pending: Vec::new(),
            planned: HashMap::new(),
            need: HashMap::new(),
            last_year: None,
            cursor,
            end,
            data_end,
            unit_hours_read: 0,
        };
        if exporter.spec.staffing {
            exporter.load_planned().await?;
        }
        if exporter.spec.compare_last_year {
            exporter.load_last_year().await?;
        }
        Ok(exporter)
    }

    fn group_of(&self, ward: &str) -> usize {
        self.ward_group.get(ward).copied().unwrap_or(0)
    }

    fn period_for(&mut self, group: usize, t: DateTime<Utc>) -> u32 {
        let p = period_of(self.spec.grain, t, &self.ctx.tz, &self.groups[group].plan);
        if let Some(&i) = self.period_index.get(&(group, p.start)) {
            return i;
        }
        let i = u32::try_from(self.periods.len()).unwrap_or(u32::MAX);
        self.period_index.insert((group, p.start), i);
        self.periods.push((group, p));
        i
    }

    /// The unit a ward-or-team row counts under at the export's level.
    fn unit(&self, ward: &str, team: &str) -> (String, String) {
        match self.spec.level {
            ExportLevel::Hospital => (String::new(), String::new()),
            ExportLevel::Department => (self.ctx.department_of(ward).unwrap_or("").to_owned(), String::new()),
            ExportLevel::Site => (self.ctx.hospital_of(ward).unwrap_or("").to_owned(), String::new()),
            ExportLevel::Ward => (ward.to_owned(), String::new()),
            ExportLevel::Team => (ward.to_owned(), team.to_owned()),
        }
    }

    /// Whether `ward`'s rows count: in the ward filter, and at `level =
    /// site` in a hospital (a ward of none is left out).
    fn in_scope(&self, ward: &str) -> bool {
        self.wanted.as_ref().is_none_or(|w| w.contains(ward))
            && (self.spec.level != ExportLevel::Site || self.ctx.hospital_of(ward).is_some())
    }

    async fn load_planned(&mut self) -> Result<(), Error> {
        let from = self.cursor.with_timezone(&self.ctx.tz).date_naive() - Duration::days(1);
        let to = self.end.with_timezone(&self.ctx.tz).date_naive();
        let rows = self.store.planned_staffing(None, from, to).await?;
        for row in rows {
            if !self.in_scope(&row.ward) || (self.spec.level == ExportLevel::Team && row.team.is_none()) {
                continue;
            }
            let Ok(shift) = self.ctx.plan(&row.ward).window(row.date, &row.shift, &self.ctx.tz) else {
                tracing::warn!(ward = %row.ward, shift = %row.shift, "planned staffing names a shift the ward's plan does not have; left out of the export");
                continue;
            };
            let start = shift.window.start;
            // a shift counts in the period it starts in, and only once it has
            // started by the last hour stored: the need of an unfinished
            // period is that of its hours so far
            if start < self.cursor || start >= self.end || self.data_end.is_some_and(|e| start >= e) {
                continue;
            }
            let present = f64::from(row.planned.saturating_sub(row.absent));
            let hours = shift.window.hours().as_f64();
            let group = if self.spec.level == ExportLevel::Hospital {
                0
            } else {
                self.group_of(&row.ward)
            };
            let period = self.period_for(group, start);
            let (ward, team) = self.unit(&row.ward, row.team.as_deref().unwrap_or(""));
            *self.planned.entry((period, ward, team)).or_default() += present * hours;
        }
        Ok(())
    }

    async fn load_last_year(&mut self) -> Result<(), Error> {
        let back = |d: NaiveDate| {
            NaiveDate::from_ymd_opt(d.year() - 1, d.month(), d.day())
                .or_else(|| NaiveDate::from_ymd_opt(d.year() - 1, d.month(), 28))
                .unwrap_or(d)
        };
        let mut spec = self.spec.clone();
        spec.from = back(self.spec.from) - Duration::days(7);
        spec.to = back(self.spec.to) + Duration::days(7);
        spec.staffing = false;
        spec.compare_last_year = false;
        let mut inner = Box::pin(Exporter::new(self.store, self.ctx, spec)).await?;
        let mut map = HashMap::new();
        // the unit's key: a department row's is its department, a site's
        // its hospital
        let unit = match self.spec.level {
            ExportLevel::Department => "department",
            ExportLevel::Site => "hospital",
            ExportLevel::Hospital | ExportLevel::Ward | ExportLevel::Team => "ward",
        };
        while let Some(df) = Box::pin(inner.next_batch()).await? {
            let ward = df.column(unit)?.str()?.clone();
            let team = df.column("team")?.str()?.clone();
            let period = df.column("period")?.str()?.clone();
            let mean = df.column("total_mean")?.f64()?.clone();
            let patients = df.column("patients")?.i64()?.clone();
            for i in 0..df.height() {
                map.insert(
                    (
                        ward.get(i).unwrap_or("").to_owned(),
                        team.get(i).unwrap_or("").to_owned(),
                        period.get(i).unwrap_or("").to_owned(),
                    ),
                    (mean.get(i), patients.get(i).unwrap_or(0)),
                );
            }
        }
        self.unit_hours_read += inner.unit_hours_read;
        self.last_year = Some(map);
        Ok(())
    }

    /// The next finished batch of rows, or `None` when the export is done.
    ///
    /// # Errors
    /// The store or polars failing.
    pub async fn next_batch(&mut self) -> Result<Option<DataFrame>, Error> {
        let read_end = self.data_end.map_or(self.end, |e| e.min(self.end));
        while self.cursor < read_end {
            let chunk_end = (self.cursor + Duration::hours(CHUNK_HOURS)).min(read_end);
            let stored = self.spec.level.stored();
            let rows = self.store.level_hours(stored, self.cursor, chunk_end).await?;
            self.unit_hours_read += rows.len() as u64;
            for row in &rows {
                self.take_row(row);
            }
            if self.spec.staffing {
                let detail = if stored == Level::Team {
                    Level::Team
                } else {
                    Level::Ward
                };
                let detail_rows = if detail == stored {
                    rows
                } else {
                    let r = self.store.level_hours(detail, self.cursor, chunk_end).await?;
                    self.unit_hours_read += r.len() as u64;
                    r
                };
                for row in &detail_rows {
                    self.take_need(row);
                }
            }
            self.cursor = chunk_end;
            let done = self.take_done();
            if !done.is_empty() {
                return self.aggregate(done).await.map(Some);
            }
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let done = std::mem::take(&mut self.pending);
        self.aggregate(done).await.map(Some)
    }

    fn take_row(&mut self, row: &UnitHour) {
        if self.spec.level != ExportLevel::Hospital && !self.in_scope(&row.ward) {
            return;
        }
        let group = self.group_of(&row.ward);
        let period = self.period_for(group, row.hour);
        let (ward, team) = if self.spec.level.sums_wards() {
            self.unit(&row.ward, &row.team)
        } else {
            (row.ward.clone(), row.team.clone())
        };
        let t = &row.totals;
        let mut components = [0; 9];
        for (slot, c) in components.iter_mut().zip(Component::ALL) {
            *slot = t.components.get(c).milli();
        }
        self.pending.push(Pending {
            period,
            hour: row.hour.timestamp(),
            ward,
            team,
            patients: i64::from(t.patients),
            total: t.total.milli(),
            usk: t.professions.usk.milli(),
            ssk: t.professions.ssk.milli(),
            components,
            unmatched: i64::from(t.unmatched),
            quality: [
                t.quality.assessed,
                t.quality.norton_stale,
                t.quality.news2_overdue,
                t.quality.thin_after_admission,
                t.quality.activities,
                t.quality.activities_without_due,
                t.quality.activities_generic,
            ]
            .map(i64::from),
        });
    }

    fn take_need(&mut self, row: &UnitHour) {
        if !self.in_scope(&row.ward) {
            return;
        }
        let Some(f) = self.ctx.factors(&row.ward) else {
            return;
        };
        let sh =
            row.totals.professions.usk.as_f64() * f.usk.as_f64() + row.totals.professions.ssk.as_f64() * f.ssk.as_f64();
        let group = if self.spec.level == ExportLevel::Hospital {
            0
        } else {
            self.group_of(&row.ward)
        };
        let period = self.period_for(group, row.hour);
        let (ward, team) = self.unit(&row.ward, &row.team);
        *self.need.entry((period, ward, team)).or_default() += sh;
    }

    /// Removes and returns the pending rows whose period has ended.
    fn take_done(&mut self) -> Vec<Pending> {
        let cursor = self.cursor;
        let periods = &self.periods;
        let (done, open): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|p| periods[p.period as usize].1.end <= cursor);
        self.pending = open;
        done
    }

    /// Aggregates the rows of finished periods into output rows.
    async fn aggregate(&mut self, rows: Vec<Pending>) -> Result<DataFrame, Error> {
        let n = rows.len();
        let mut period = Vec::with_capacity(n);
        let mut hour = Vec::with_capacity(n);
        let mut ward = Vec::with_capacity(n);
        let mut team = Vec::with_capacity(n);
        let mut patients = Vec::with_capacity(n);
        let mut total = Vec::with_capacity(n);
        let mut usk = Vec::with_capacity(n);
        let mut ssk = Vec::with_capacity(n);
        let mut comps: Vec<Vec<i64>> = (0..9).map(|_| Vec::with_capacity(n)).collect();
        let mut unmatched = Vec::with_capacity(n);
        let mut quality: Vec<Vec<i64>> = (0..QUALITY.len()).map(|_| Vec::with_capacity(n)).collect();
        for r in rows {
            period.push(r.period);
            hour.push(r.hour);
            ward.push(r.ward);
            team.push(r.team);
            patients.push(r.patients);
            total.push(r.total);
            usk.push(r.usk);
            ssk.push(r.ssk);
            for (v, c) in comps.iter_mut().zip(r.components) {
                v.push(c);
            }
            unmatched.push(r.unmatched);
            for (v, q) in quality.iter_mut().zip(r.quality) {
                v.push(q);
            }
        }
        let mut columns = vec![
            Column::new("period".into(), period),
            Column::new("hour".into(), hour),
            Column::new("ward".into(), ward),
            Column::new("team".into(), team),
            Column::new("patients".into(), patients),
            Column::new("total".into(), total),
            Column::new("usk".into(), usk),
            Column::new("ssk".into(), ssk),
        ];
        for (v, c) in comps.into_iter().zip(Component::ALL) {
            columns.push(Column::new(c.key().into(), v));
        }
        columns.push(Column::new("unmatched".into(), unmatched));
        for (v, name) in quality.into_iter().zip(QUALITY) {
            columns.push(Column::new(name.into(), v));
        }
        let mut frame = DataFrame::new(n, columns)?;
        if self.spec.level.sums_wards() {
            // a department's (a site's) hour is the sum of its wards' rows of that hour:
            // its statistics are of those sums, never averaged averages
            let mut sums = vec![col("patients"), col("total"), col("usk"), col("ssk")];
            sums.extend(Component::ALL.iter().map(|c| col(c.key())));
            sums.push(col("unmatched"));
            sums.extend(QUALITY.iter().map(|q| col(*q)));
            frame = frame
                .lazy()
                .group_by([col("period"), col("ward"), col("team"), col("hour")])
                .agg(sums.into_iter().map(Expr::sum).collect::<Vec<_>>())
                .collect()?;
        }

        let points = |name: &str| col(name).cast(DataType::Float64) / lit(1000.0);
        let mut aggs = vec![
            len().cast(DataType::Int64).alias("hours"),
            col("patients").sum().alias("patient_hours"),
            points("total").mean().alias("total_mean"),
            points("total").median().alias("total_median"),
            points("total")
                .quantile(lit(0.9), QuantileMethod::Linear)
                .alias("total_p90"),
            points("total").max().alias("total_max"),
            points("total").sum().alias("points_sum"),
            points("usk").mean().alias("usk_mean"),
            points("ssk").mean().alias("ssk_mean"),
        ];
        for c in Component::ALL {
            aggs.push(points(c.key()).mean().alias(format!("{}_mean", c.key())));
        }
        aggs.push(col("unmatched").sum().alias("unmatched_items"));
        for name in QUALITY {
            aggs.push(col(name).sum());
        }
        let grouped = frame
            .lazy()
            .group_by([col("period"), col("ward"), col("team")])
            .agg(aggs)
            .collect()?;
        self.finish_rows(grouped).await
    }

    /// Adds period, patient, staffing and last-year columns to aggregated
    /// rows, sorts them and puts the columns in the schema's order.
    async fn finish_rows(&mut self, g: DataFrame) -> Result<DataFrame, Error> {
        let n = g.height();
        let period_ids: Vec<u32> = g.column("period")?.u32()?.into_no_null_iter().collect();
        let wards: Vec<String> = g
            .column("ward")?
            .str()?
            .iter()
            .map(|s| s.unwrap_or("").to_owned())
            .collect();
        let teams: Vec<String> = g
            .column("team")?
            .str()?
            .iter()
            .map(|s| s.unwrap_or("").to_owned())
            .collect();

        // Distinct patients: one query per group for its finished periods
        // (hours need none: within an hour every patient row is a distinct
        // patient).
        let distinct = if self.spec.grain == Grain::Hour {
            None
        } else {
            let mut map = HashMap::new();
            let unique: BTreeSet<u32> = period_ids.iter().copied().collect();
            let mut by_group: BTreeMap<usize, Vec<u32>> = BTreeMap::new();
            for p in unique {
                by_group.entry(self.periods[p as usize].0).or_default().push(p);
            }
            for (group, ids) in by_group {
                let ranges: Vec<_> = ids
                    .iter()
                    .map(|&p| {
                        let period = &self.periods[p as usize].1;
                        (period.start, period.end)
                    })
                    .collect();
                let wards = self.groups[group].wards.as_deref();
                if self.spec.level.sums_wards() {
                    // a patient who moved between wards of one department
                    // (site) counts once in it: one count over its wards
                    for (department, of) in &self.group_wards {
                        let of: Vec<String> = of
                            .iter()
                            .filter(|w| wards.is_none_or(|g| g.contains(w)))
                            .cloned()
                            .collect();
                        if of.is_empty() {
                            continue;
                        }
                        let counted = self
                            .store
                            .distinct_patients_in(Level::Hospital, Some(&of), &ranges)
                            .await?;
                        for (&p, units) in ids.iter().zip(counted) {
                            let patients: u64 = units.iter().map(|d| d.patients).sum();
                            map.insert(
                                (p, department.clone(), String::new()),
                                i64::try_from(patients).unwrap_or(i64::MAX),
                            );
                        }
                    }
                    continue;
                }
                let counted = self
                    .store
                    .distinct_patients_in(self.spec.level.stored(), wards, &ranges)
                    .await?;
                for (&p, units) in ids.iter().zip(counted) {
                    for d in units {
                        map.insert((p, d.ward, d.team), i64::try_from(d.patients).unwrap_or(i64::MAX));
                    }
                }
            }
            Some(map)
        };
        let patient_hours: Vec<i64> = g.column("patient_hours")?.i64()?.into_no_null_iter().collect();
        let points_sum: Vec<f64> = g.column("points_sum")?.f64()?.into_no_null_iter().collect();

        let level = self.spec.level;
        let grain = self.spec.grain.as_str();
        let mut out: Vec<Column> = Vec::new();
        let text = |name: &str, v: Vec<Option<String>>| Column::new(name.into(), v);
        out.push(text("level", vec![Some(level.as_str().to_owned()); n]));
        let of_ward = matches!(level, ExportLevel::Ward | ExportLevel::Team);
        out.push(text("ward", wards.iter().map(|w| of_ward.then(|| w.clone())).collect()));
        out.push(text(
            "team",
            teams
                .iter()
                .map(|t| (level == ExportLevel::Team).then(|| t.clone()))
                .collect(),
        ));
        out.push(text("grain", vec![Some(grain.to_owned()); n]));
        out.push(text(
            "period",
            period_ids
                .iter()
                .map(|&p| Some(self.periods[p as usize].1.label.clone()))
                .collect(),
        ));
        let instant = |name: &str, v: Vec<i64>| -> Result<Column, Error> {
            Ok(Column::new(name.into(), v).cast(&Kind::Instant.dtype())?)
        };
        out.push(instant(
            "period_start",
            period_ids
                .iter()
                .map(|&p| self.periods[p as usize].1.start.timestamp_micros())
                .collect(),
        )?);
        out.push(instant(
            "period_end",
            period_ids
                .iter()
                .map(|&p| self.periods[p as usize].1.end.timestamp_micros())
                .collect(),
        )?);
        out.push(g.column("hours")?.clone());
        out.push(g.column("patient_hours")?.clone());
        let patients: Vec<i64> = (0..n)
            .map(|i| match &distinct {
                None => patient_hours[i],
                Some(map) => map
                    .get(&(period_ids[i], wards[i].clone(), teams[i].clone()))
                    .copied()
                    .unwrap_or(0),
            })
            .collect();
        out.push(Column::new("patients".into(), patients.clone()));
        for name in ["total_mean", "total_median", "total_p90", "total_max", "points_sum"] {
            out.push(rounded(g.column(name)?)?);
        }
        out.push(decimal(
            "points_per_patient_hour",
            (0..n)
                .map(|i| (patient_hours[i] > 0).then(|| points_sum[i] / patient_hours[i] as f64))
                .collect(),
        ));
        out.push(rounded(g.column("usk_mean")?)?);
        out.push(rounded(g.column("ssk_mean")?)?);
        for c in Component::ALL {
            out.push(rounded(g.column(&format!("{}_mean", c.key()))?)?);
        }
        out.push(g.column("unmatched_items")?.clone());
        let q = |name: &str| -> Result<Vec<i64>, Error> { Ok(g.column(name)?.i64()?.into_no_null_iter().collect()) };
        let assessed = q("q_assessed")?;
        let activities = q("q_activities")?;
        out.push(Column::new("quality_assessed_patient_hours".into(), assessed.clone()));
        let share = |name: &str, of: &[i64], v: Vec<i64>| {
            decimal(
                name,
                v.iter()
                    .zip(of)
                    .map(|(&x, &of)| (of > 0).then(|| x as f64 / of as f64))
                    .collect(),
            )
        };
        out.push(share("norton_stale_share", &assessed, q("q_norton_stale")?));
        out.push(share("news2_overdue_share", &assessed, q("q_news2_overdue")?));
        out.push(share("thin_after_admission_share", &assessed, q("q_thin")?));
        out.push(share(
            "activities_without_due_share",
            &activities,
            q("q_activities_no_due")?,
        ));
        out.push(share(
            "activities_generic_share",
            &activities,
            q("q_activities_generic")?,
        ));
        let ctx = self.ctx;
        out.push(text(
            "ward_name",
            wards
                .iter()
                .map(|w| of_ward.then(|| ctx.ward_name(w)).flatten().map(str::to_owned))
                .collect(),
        ));
        out.push(text(
            "team_name",
            wards
                .iter()
                .zip(&teams)
                .map(|(w, t)| {
                    (level == ExportLevel::Team)
                        .then(|| ctx.team_name(w, t))
                        .flatten()
                        .map(str::to_owned)
                })
                .collect(),
        ));
        let starts: Vec<DateTime<Tz>> = period_ids
            .iter()
            .map(|&p| self.periods[p as usize].1.start.with_timezone(&ctx.tz))
            .collect();
        out.push(
            Column::new(
                "local_date".into(),
                starts
                    .iter()
                    .map(|s| s.date_naive().num_days_from_ce() - crate::sink::EPOCH_DAYS_FROM_CE)
                    .collect::<Vec<i32>>(),
            )
            .cast(&Kind::Date.dtype())?,
        );
        let timed = matches!(self.spec.grain, Grain::Hour | Grain::Shift);
        out.push(text(
            "local_time",
            starts
                .iter()
                .map(|s| timed.then(|| s.format("%H:%M").to_string()))
                .collect(),
        ));
        out.push(Column::new(
            "complete".into(),
            period_ids
                .iter()
                .map(|&p| self.data_end.is_none_or(|e| self.periods[p as usize].1.end <= e))
                .collect::<Vec<bool>>(),
        ));
        // the department of a department row, and of a ward's or team's ward
        let departments: Vec<Option<&str>> = wards
            .iter()
            .map(|w| match level {
                ExportLevel::Hospital | ExportLevel::Site => None,
                ExportLevel::Department => Some(w.as_str()).filter(|d| !d.is_empty()),
                ExportLevel::Ward | ExportLevel::Team => ctx.department_of(w),
            })
            .collect();
        // the hospital of a site row, and of a department's or a ward's
        let hospitals: Vec<Option<&str>> = wards
            .iter()
            .zip(&departments)
            .map(|(w, d)| match level {
                ExportLevel::Hospital => None,
                ExportLevel::Site => Some(w.as_str()).filter(|h| !h.is_empty()),
                ExportLevel::Department | ExportLevel::Ward | ExportLevel::Team => {
                    d.and_then(|d| ctx.department_hospital(d))
                }
            })
            .collect();
        out.push(text(
            "department",
            departments.iter().map(|d| d.map(str::to_owned)).collect(),
        ));
        out.push(text(
            "department_name",
            departments
                .iter()
                .map(|d| d.and_then(|d| ctx.department_name(d)).map(str::to_owned))
                .collect(),
        ));
        out.push(text(
            "hospital",
            hospitals.iter().map(|h| h.map(str::to_owned)).collect(),
        ));
        out.push(text(
            "hospital_name",
            hospitals
                .iter()
                .map(|h| h.and_then(|h| ctx.hospital_name(h)).map(str::to_owned))
                .collect(),
        ));

        if self.spec.staffing {
            let key = |i: usize| (period_ids[i], wards[i].clone(), teams[i].clone());
            let planned: Vec<Option<f64>> = (0..n).map(|i| self.planned.remove(&key(i))).collect();
            let need: Vec<Option<f64>> = (0..n).map(|i| self.need.remove(&key(i))).collect();
            let gap = (0..n).map(|i| Some(planned[i]? - need[i]?)).collect();
            let per_staff = (0..n)
                .map(|i| planned[i].filter(|p| *p > 0.0).map(|p| points_sum[i] / p))
                .collect();
            out.push(decimal("planned_staff_hours", planned));
            out.push(decimal("need_staff_hours", need));
            out.push(decimal("gap_staff_hours", gap));
            out.push(decimal("points_per_planned_staff_hour", per_staff));
        }
        if let Some(last) = &self.last_year {
            let mut labels = Vec::with_capacity(n);
            let mut means = Vec::with_capacity(n);
            let mut pats = Vec::with_capacity(n);
            let mut change = Vec::with_capacity(n);
            let now_mean: Vec<Option<f64>> = g.column("total_mean")?.f64()?.iter().collect();
            for i in 0..n {
                let (group, period) = &self.periods[period_ids[i] as usize];
                let label = year_earlier(self.spec.grain, period, &self.ctx.tz, &self.groups[*group].plan);
                let found = label
                    .as_ref()
                    .and_then(|l| last.get(&(wards[i].clone(), teams[i].clone(), l.clone())));
                let mean = found.and_then(|f| f.0);
                labels.push(label);
                means.push(mean);
                pats.push(found.map(|f| f.1));
                change.push(match (now_mean[i], mean) {
                    (Some(now), Some(then)) if then > 0.0 => Some((now - then) / then * 100.0),
                    _ => None,
                });
            }
            out.push(text("last_year_period", labels));
            out.push(decimal("last_year_total_mean", means));
            out.push(Column::new("last_year_patients".into(), pats));
            out.push(decimal("total_mean_change_pct", change));
        }
        let df = DataFrame::new(n, out)?;
        Ok(df.sort(
            ["period_start", "ward", "team", "department", "hospital"],
            SortMultipleOptions::default(),
        )?)
    }

    /// A frame with the export's columns and no rows (for empty exports).
    ///
    /// # Errors
    /// polars refusing the schema (a bug).
    pub fn empty_frame(&self) -> Result<DataFrame, Error> {
        let columns = schema::columns(self.spec.staffing, self.spec.compare_last_year)
            .map(|c| Column::new_empty(c.name.into(), &c.kind.dtype()))
            .collect();
        Ok(DataFrame::new(0, columns)?)
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn decimal(name: &str, v: Vec<Option<f64>>) -> Column {
    Column::new(name.into(), v.into_iter().map(|x| x.map(round3)).collect::<Vec<_>>())
}

fn rounded(c: &Column) -> Result<Column, Error> {
    let v: Vec<Option<f64>> = c.f64()?.iter().map(|x| x.map(round3)).collect();
    Ok(Column::new(c.name().clone(), v))
}
