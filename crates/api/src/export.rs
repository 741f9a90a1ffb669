//! Trend exports over HTTP (`GET /api/v1/export`, controllers and admins):
//! the parameters of `careload export`, answered as a streamed file with a
//! file name. The request is checked (range, combination, wards) before the
//! first byte goes out, so a bad one gets a 400 with what to send instead;
//! a store failure after that ends the stream early and is logged.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use careload_export::{ExportSpec, Format};
use careload_scoring::Weights;

use crate::params::Params;
use crate::{AppState, Error, Result};

fn bad(hint: String) -> Error {
    Error::bad_query("export", hint)
}

fn flag(q: &Params, name: &'static str) -> Result<bool> {
    match q.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if matches!(v.as_str(), "" | "1" | "true" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no") => Ok(false),
        Some(_) => Err(Error::bad_query(name, "send true or false")),
    }
}

/// The spec and format of a query string (`wards` may be repeated: its
/// values are one list).
pub(crate) fn parse(q: &Params) -> Result<(ExportSpec, Format)> {
    let need = |name: &'static str| {
        q.get(name).ok_or_else(|| {
            Error::bad_query(
                name,
                format!("{name} is required; send e.g. from=2026-01-01&to=2026-12-31&level=ward&grain=week"),
            )
        })
    };
    let from = careload_export::parse_date("from", need("from")?).map_err(|e| bad(e.to_string()))?;
    let to = careload_export::parse_date("to", need("to")?).map_err(|e| bad(e.to_string()))?;
    let level =
        careload_export::parse_level(q.get("level").map_or("ward", String::as_str)).map_err(|e| bad(e.to_string()))?;
    let grain = q
        .get("grain")
        .map_or("day", String::as_str)
        .parse()
        .map_err(|e: careload_export::Error| bad(e.to_string()))?;
    let format = q
        .get("format")
        .map_or("csv", String::as_str)
        .parse()
        .map_err(|e: careload_export::Error| bad(e.to_string()))?;
    let mut spec = ExportSpec::new(from, to, level, grain);
    spec.wards = q.get("wards").map(|w| {
        w.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    });
    spec.staffing = flag(q, "staffing")?;
    spec.compare_last_year = flag(q, "compare_last_year")?;
    Ok((spec, format))
}

/// `GET /api/v1/export`.
pub(crate) async fn export(state: &AppState, q: &Params) -> Result<Response> {
    let (mut spec, format) = parse(q)?;
    let ids = |name: &str| -> Vec<String> {
        q.get(name)
            .map(|d| {
                d.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    careload_app::export::narrow_to_departments(state, &mut spec, &ids("departments"))?;
    careload_app::export::narrow_to_hospitals(state, &mut spec, &ids("hospitals"))?;
    let stream = careload_app::export::start_export(state, spec, format).await?;
    let chunks = futures_util::stream::unfold(
        stream.chunks,
        |mut rx| async move { rx.recv().await.map(|item| (item, rx)) },
    );
    let body = Body::from_stream(chunks);
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", stream.file_name)) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The longest back-test the API runs (the CLI runs up to a year).
pub const MAX_BACKTEST_DAYS: i64 = 92;

/// `POST /api/v1/weights/backtest`.
pub(crate) async fn backtest(state: &AppState, q: &Params, body: &[u8]) -> Result<careload_export::backtest::Backtest> {
    let date = |name: &'static str| -> Result<chrono::NaiveDate> {
        let v = q.get(name).ok_or_else(|| {
            Error::bad_query(
                name,
                format!("{name} is required; send e.g. from=2026-10-01&to=2026-10-31"),
            )
        })?;
        careload_export::parse_date(name, v).map_err(|e| Error::bad_query(name, e.to_string()))
    };
    let (from, to) = (date("from")?, date("to")?);
    if to >= from && (to - from).num_days() + 1 > MAX_BACKTEST_DAYS {
        return Err(Error::bad_query(
            "to",
            format!(
                "the API back-tests at most {MAX_BACKTEST_DAYS} days; send a shorter range or use careload weights backtest"
            ),
        ));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::unprocessable("the body is not UTF-8 text; send the weights file (TOML) as it is"))?;
    let candidate = Weights::from_toml(text, "request body").map_err(|e| Error::unprocessable(e.to_string()))?;
    Ok(careload_app::export::backtest(state, candidate, from, to).await?)
}

// ------------------------------------------------ the calibration's files

/// A calibration file's format: the trend export's words, without Parquet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableFormat {
    /// `,`, decimal point, UTF-8 without BOM.
    Csv,
    /// `;`, decimal comma, UTF-8 with BOM (Swedish Excel).
    CsvExcel,
    /// A JSON array of row objects (or the route's JSON view).
    Json,
}

impl TableFormat {
    /// `format` of the query, `default` when not given.
    pub(crate) fn of(q: &Params, default: TableFormat) -> Result<TableFormat> {
        match q.get("format").map(|f| f.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(f) => match f.as_str() {
                "csv" => Ok(TableFormat::Csv),
                "csv-excel" => Ok(TableFormat::CsvExcel),
                "json" => Ok(TableFormat::Json),
                _ => Err(Error::bad_query(
                    "format",
                    format!("{f:?} is not a format of this file; send csv, csv-excel or json"),
                )),
            },
        }
    }

    fn separator(self) -> char {
        if self == TableFormat::CsvExcel { ';' } else { ',' }
    }
}

/// One shift of a ward's calibration as the controllers' file has it
/// (`GET /api/v1/wards/{id}/calibration/shifts`; columns in docs/calibration-export.md).
#[derive(Clone, Debug, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct CalibrationShiftRow {
    /// The shift's start, RFC 3339 UTC: the ratings' key.
    pub shift_start: chrono::DateTime<chrono::Utc>,
    /// The local date it starts on.
    pub local_date: chrono::NaiveDate,
    /// Its local start, `07:00`.
    pub local_time: String,
    /// The shift's name in the ward's plan.
    pub shift: String,
    /// USK points over the shift.
    pub need_usk: careload_scoring::Points,
    /// SSK points over the shift.
    pub need_ssk: careload_scoring::Points,
    /// All points over the shift.
    pub need_total: careload_scoring::Points,
    /// USK present (planned minus absent); 0 when none was planned.
    pub present_usk: u32,
    /// SSK present.
    pub present_ssk: u32,
    /// Everyone present.
    pub present_total: u32,
    /// All points over everyone present.
    pub points_per_person: careload_scoring::Points,
    /// USK points per USK present; none without USK present.
    pub points_per_person_usk: Option<careload_scoring::Points>,
    /// SSK points per SSK present; none without SSK present.
    pub points_per_person_ssk: Option<careload_scoring::Points>,
    /// Every rating of the shift (with or without a profession).
    pub ratings: u32,
    /// Their mean, to three decimals; none without ratings.
    pub mean_rating: Option<f64>,
    /// Ratings given as USK.
    pub ratings_usk: u32,
    /// Their mean.
    pub mean_rating_usk: Option<f64>,
    /// Ratings given as SSK.
    pub ratings_ssk: u32,
    /// Their mean.
    pub mean_rating_ssk: Option<f64>,
    /// Minutes of the shift with no stored hour, extrapolated from the others.
    pub extrapolated_minutes: u32,
}

/// The columns of [`CalibrationShiftRow`], in order.
pub const CALIBRATION_SHIFT_COLUMNS: [&str; 20] = [
    "shift_start",
    "local_date",
    "local_time",
    "shift",
    "need_usk",
    "need_ssk",
    "need_total",
    "present_usk",
    "present_ssk",
    "present_total",
    "points_per_person",
    "points_per_person_usk",
    "points_per_person_ssk",
    "ratings",
    "mean_rating",
    "ratings_usk",
    "mean_rating_usk",
    "ratings_ssk",
    "mean_rating_ssk",
    "extrapolated_minutes",
];

/// A mean to three decimals.
fn three(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite()).map(|v| (v * 1000.0).round() / 1000.0)
}

/// One row per shift of `c`'s joint fit, joined with the professions' fits by start.
pub fn calibration_rows(
    c: &careload_app::calibration::WardCalibration,
    tz: &chrono_tz::Tz,
) -> Vec<CalibrationShiftRow> {
    use std::collections::BTreeMap;
    let by_start = |f: &careload_app::calibration::CalibrationFit| {
        f.points
            .iter()
            .map(|p| (p.start, p.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    let (usk, ssk) = (by_start(&c.usk), by_start(&c.ssk));
    c.together
        .points
        .iter()
        .map(|p| {
            let (u, s) = (usk.get(&p.start), ssk.get(&p.start));
            let need_usk = u.map_or_else(
                || p.need - s.map_or(careload_scoring::Points::ZERO, |s| s.need),
                |u| u.need,
            );
            let local = p.start.with_timezone(tz);
            CalibrationShiftRow {
                shift_start: p.start,
                local_date: local.date_naive(),
                local_time: local.format("%H:%M").to_string(),
                shift: p.shift.clone(),
                need_usk,
                need_ssk: p.need - need_usk,
                need_total: p.need,
                present_usk: u.map_or(0, |u| u.present),
                present_ssk: s.map_or(0, |s| s.present),
                present_total: p.present,
                points_per_person: p.points_per_person,
                points_per_person_usk: u.map(|u| u.points_per_person),
                points_per_person_ssk: s.map(|s| s.points_per_person),
                ratings: p.ratings,
                mean_rating: three(p.mean_rating),
                ratings_usk: u.map_or(0, |u| u.ratings),
                mean_rating_usk: three(u.and_then(|u| u.mean_rating)),
                ratings_ssk: s.map_or(0, |s| s.ratings),
                mean_rating_ssk: three(s.and_then(|s| s.mean_rating)),
                extrapolated_minutes: p.extrapolated_minutes,
            }
        })
        .collect()
}

/// A CSV field: quoted when it holds the separator, a quote or a line break.
fn field(text: &str, sep: char) -> String {
    if text.contains([sep, '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// A number as the format writes it: decimal comma in Excel CSV.
fn number(text: String, format: TableFormat) -> String {
    if format == TableFormat::CsvExcel {
        text.replace('.', ",")
    } else {
        text
    }
}

/// The CSV text of `rows` (each a list of fields already formatted) under `header`.
fn csv_text(header: &[&str], rows: impl Iterator<Item = Vec<String>>, format: TableFormat) -> String {
    let sep = format.separator();
    let mut out = String::new();
    if format == TableFormat::CsvExcel {
        out.push('\u{feff}');
    }
    let line = |fields: Vec<String>| -> String {
        let fields: Vec<String> = fields.iter().map(|f| field(f, sep)).collect();
        fields.join(&sep.to_string())
    };
    out.push_str(&line(header.iter().map(|h| (*h).to_owned()).collect()));
    out.push_str("\r\n");
    for r in rows {
        out.push_str(&line(r));
        out.push_str("\r\n");
    }
    out
}

/// The calibration rows as CSV.
pub(crate) fn calibration_csv(rows: &[CalibrationShiftRow], format: TableFormat) -> String {
    let num = |v: String| number(v, format);
    let opt = |v: Option<String>| v.map_or_else(String::new, num);
    csv_text(
        &CALIBRATION_SHIFT_COLUMNS,
        rows.iter().map(|r| {
            vec![
                r.shift_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                r.local_date.to_string(),
                r.local_time.clone(),
                r.shift.clone(),
                num(r.need_usk.to_string()),
                num(r.need_ssk.to_string()),
                num(r.need_total.to_string()),
                r.present_usk.to_string(),
                r.present_ssk.to_string(),
                r.present_total.to_string(),
                num(r.points_per_person.to_string()),
                opt(r.points_per_person_usk.map(|p| p.to_string())),
                opt(r.points_per_person_ssk.map(|p| p.to_string())),
                r.ratings.to_string(),
                opt(r.mean_rating.map(|m| m.to_string())),
                r.ratings_usk.to_string(),
                opt(r.mean_rating_usk.map(|m| m.to_string())),
                r.ratings_ssk.to_string(),
                opt(r.mean_rating_ssk.map(|m| m.to_string())),
                r.extrapolated_minutes.to_string(),
            ]
        }),
        format,
    )
}

/// The columns of the ratings' CSV: the paper import's five first
/// (docs/ratings-csv.md), then what the JSON has besides.
pub const RATINGS_COLUMNS: [&str; 7] = [
    "date",
    "shift",
    "team",
    "profession",
    "rating",
    "shift_start",
    "local_time",
];

/// The stored ratings as CSV, anonymous as the JSON (no column for who rated).
pub(crate) fn ratings_csv(r: &careload_app::ratings::StoredRatings, tz: &chrono_tz::Tz, format: TableFormat) -> String {
    csv_text(
        &RATINGS_COLUMNS,
        r.ratings.iter().map(|x| {
            let local = x.shift_start.with_timezone(tz);
            vec![
                local.date_naive().to_string(),
                x.shift.clone(),
                x.team.clone().unwrap_or_default(),
                x.profession.map_or_else(String::new, |p| p.abbreviation().to_owned()),
                x.rating.to_string(),
                x.shift_start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                local.format("%H:%M").to_string(),
            ]
        }),
        format,
    )
}

/// A file answer: `body` as `format`'s type, named `name` (without extension).
pub(crate) fn file(body: String, format: TableFormat, name: &str) -> Response {
    let (content_type, extension) = match format {
        TableFormat::Csv | TableFormat::CsvExcel => ("text/csv; charset=utf-8", "csv"),
        TableFormat::Json => ("application/json", "json"),
    };
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}.{extension}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
