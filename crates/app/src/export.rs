//! Trend exports and the weights back-test as use cases: the export context
//! of a configuration, an export run on a task of its own whose file comes
//! out in chunks ([`start_export`]; the API streams them as the response,
//! the CLI writes them to a file), and the back-test of a candidate weights
//! file ([`backtest`]).

use careload_export::backtest::Backtest;
use careload_export::{Context, ExportSpec, Exporter, Format, SharedBuf, Sink};
use careload_scoring::Weights;
use careload_store::Store;
use chrono::NaiveDate;
use tokio::sync::{mpsc, oneshot};

use crate::{App, Error, Result};

impl App {
    /// The export context of this application under `weights`: the
    /// hospital's zone and each ward's shift plan as resolved at start
    /// ([`crate::Settings`]), its care category's factors under `weights`
    /// and the display names of wards (`[wards.<id>] name`) and teams
    /// (`[wards.<id>.teams]`).
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
            if let Some(category) = &ward.care_category {
                let factors = careload_planning::staff_hours_for(weights, category)
                    .map_err(|e| Error::Config(format!("wards.{id}.care_category: {e}")))?;
                ctx.staff_hours.insert(id.clone(), factors);
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
    careload_export::backtest::backtest(
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
    })
}
