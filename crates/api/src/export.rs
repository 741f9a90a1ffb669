//! Trend exports over HTTP (`GET /api/v1/export`, controllers and admins):
//! the parameters of `careload export`, answered as a streamed file with a
//! file name. The request is checked (range, combination, wards) before the
//! first byte goes out, so a bad one gets a 400 with what to send instead;
//! a store failure after that ends the stream early and is logged.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use careload_config::Config;
use careload_export::{Context, ExportSpec, Exporter, Format, SharedBuf, Sink};
use careload_scoring::Weights;
use careload_store::Store;
use tokio::sync::{mpsc, oneshot};

use crate::query::Params;
use crate::{AppState, Error, Result};

/// The export context of a configuration and the weights in force: the
/// hospital's zone `tz` (`scoring.time_zone`, resolved once at start), each
/// ward's shift plan, its care category's factors and the display names of
/// wards (`[wards.<id>] name`) and teams (`[wards.<id>.teams]`).
///
/// # Errors
/// A configured ward's shift plan or care category is invalid.
pub fn export_context(config: &Config, weights: &Weights, tz: chrono_tz::Tz) -> std::result::Result<Context, String> {
    let mut ctx = Context::new(tz);
    ctx.default_staff_hours =
        careload_planning::default_care_category(weights).and_then(|c| weights.staff_hours.get(c).copied());
    for (id, ward) in &config.wards {
        if let Some(name) = &ward.name {
            ctx.ward_names.insert(id.clone(), name.clone());
        }
        if !ward.teams.is_empty() {
            ctx.team_names.insert(id.clone(), ward.teams.clone());
        }
        if !ward.shifts.is_empty() {
            ctx.ward_shifts
                .insert(id.clone(), ward.shift_plan(id).map_err(|e| e.to_string())?);
        }
        if let Some(category) = &ward.care_category {
            let factors = careload_planning::staff_hours_for(weights, category)
                .map_err(|e| format!("wards.{id}.care_category: {e}"))?;
            ctx.staff_hours.insert(id.clone(), factors);
        }
    }
    Ok(ctx)
}

fn bad(hint: String) -> Error {
    Error::BadQuery { param: "export", hint }
}

fn flag(q: &Params, name: &'static str) -> Result<bool> {
    match q.get(name).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(v) if matches!(v.as_str(), "" | "1" | "true" | "yes") => Ok(true),
        Some(v) if matches!(v.as_str(), "0" | "false" | "no") => Ok(false),
        Some(_) => Err(Error::BadQuery {
            param: name,
            hint: "send true or false".into(),
        }),
    }
}

/// The spec and format of a query string (`wards` may be repeated: its
/// values are one list).
pub(crate) fn parse(q: &Params) -> Result<(ExportSpec, Format)> {
    let need = |name: &'static str| {
        q.get(name).ok_or_else(|| Error::BadQuery {
            param: name,
            hint: format!("{name} is required; send e.g. from=2026-01-01&to=2026-12-31&level=ward&grain=week"),
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

/// Runs the export on its own task, sending each written batch's bytes.
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
                return Ok(()); // the client went away
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
            tracing::error!(error = %e, "export failed after it started; the response was cut short");
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
        }
    }
}

/// `GET /api/v1/export`.
pub(crate) async fn export(state: &AppState, q: &Params) -> Result<Response> {
    let (spec, format) = parse(q)?;
    let ctx = export_context(&state.config, &state.weights(), state.tz).map_err(Error::Config)?;
    let file_name = spec.file_name(format);
    let (ready_tx, ready_rx) = oneshot::channel();
    let (tx, rx) = mpsc::channel(4);
    // polars aggregates on this thread between awaits: a blocking thread of
    // its own keeps the API's workers free for the screens meanwhile
    let (store, handle) = (state.store.clone(), tokio::runtime::Handle::current());
    tokio::task::spawn_blocking(move || handle.block_on(produce(store, ctx, spec, format, ready_tx, tx)));
    match ready_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(careload_export::Error::BadSpec(hint))) => return Err(bad(hint)),
        Ok(Err(e)) => return Err(Error::Internal(e.to_string())),
        Err(_) => return Err(Error::Internal("the export task ended before it started".into())),
    }
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    let body = Body::from_stream(chunks);
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

/// The longest back-test the API runs (the CLI runs up to a year).
pub const MAX_BACKTEST_DAYS: i64 = 92;

/// `POST /api/v1/weights/backtest`.
pub(crate) async fn backtest(state: &AppState, q: &Params, body: &[u8]) -> Result<careload_export::backtest::Backtest> {
    let date = |name: &'static str| -> Result<chrono::NaiveDate> {
        let v = q.get(name).ok_or_else(|| Error::BadQuery {
            param: name,
            hint: format!("{name} is required; send e.g. from=2026-10-01&to=2026-10-31"),
        })?;
        careload_export::parse_date(name, v).map_err(|e| Error::BadQuery {
            param: name,
            hint: e.to_string(),
        })
    };
    let (from, to) = (date("from")?, date("to")?);
    if to >= from && (to - from).num_days() + 1 > MAX_BACKTEST_DAYS {
        return Err(Error::BadQuery {
            param: "to",
            hint: format!(
                "the API back-tests at most {MAX_BACKTEST_DAYS} days; send a shorter range or use careload weights backtest"
            ),
        });
    }
    let text = std::str::from_utf8(body).map_err(|_| Error::Unprocessable {
        hint: "the body is not UTF-8 text; send the weights file (TOML) as it is".into(),
    })?;
    let candidate =
        Weights::from_toml(text, "request body").map_err(|e| Error::Unprocessable { hint: e.to_string() })?;
    let stored_ctx = export_context(&state.config, &state.weights(), state.tz).map_err(Error::Config)?;
    let candidate_ctx = export_context(&state.config, &candidate, state.tz).map_err(Error::Config)?;
    careload_export::backtest::backtest(
        &state.store,
        &stored_ctx,
        &candidate_ctx,
        std::sync::Arc::new(candidate),
        from,
        to,
    )
    .await
    .map_err(|e| match e {
        careload_export::Error::BadSpec(hint) => bad(hint),
        careload_export::Error::Store(e) => Error::Store(e),
        other => Error::Internal(other.to_string()),
    })
}
