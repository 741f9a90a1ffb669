//! Everything a test binary logs at debug and above, captured as text: the
//! process's one tracing subscriber, so each test binary that uses it sets
//! it once (`capture_logs`). A back-fill's per-hour lines are debug, and
//! whatever an operator can turn on with `RUST_LOG=debug` is what the
//! privacy scan must see.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// The captured log text, shared with the subscriber's writer.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Everything logged so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Installs the capturing subscriber (at debug, no colours) for the whole
/// test binary.
pub(crate) fn capture_logs() -> Logs {
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");
    logs
}
