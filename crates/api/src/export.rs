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
    let (spec, format) = parse(q)?;
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
