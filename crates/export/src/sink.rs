//! Writers that take the export batch by batch, so a long range never sits
//! in memory as a whole: CSV in two dialects, Parquet (one row group per
//! batch) and a JSON array.
//!
//! # CSV dialects
//! * `csv`: `,` between fields, `.` before decimals, UTF-8 without a byte
//!   order mark, instants as RFC 3339 in UTC. For programs (R, Python, BI
//!   tools) and for Excel in an English locale.
//! * `csv-excel`: `;` between fields, `,` before decimals, UTF-8 **with** a
//!   byte order mark. Excel with Swedish regional settings opens it by
//!   double-click with columns split, decimals as numbers and å, ä, ö
//!   intact; without the mark it would read the bytes as Windows-1252.

use std::io::Write;
use std::sync::{Arc, Mutex};

use polars::io::parquet::write::BatchedWriter;
use polars::prelude::{AnyValue, CsvWriter, DataFrame, ParquetCompression, ParquetWriter, SerWriter, TimeUnit};

use crate::{Error, Format};

/// An export being written.
pub struct Sink<W: Write> {
    inner: Inner<W>,
    rows: u64,
}

enum Inner<W: Write> {
    Csv {
        out: W,
        excel: bool,
        header_done: bool,
    },
    Parquet {
        out: Option<W>,
        writer: Option<Box<BatchedWriter<W>>>,
    },
    Json {
        out: W,
        first: bool,
    },
}

const INSTANT_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";
const DATE_FORMAT: &str = "%Y-%m-%d";

/// 1970-01-01 in days from 0001-01-01 (day 1): dates are days since 1970 in
/// Arrow and Parquet.
pub(crate) const EPOCH_DAYS_FROM_CE: i32 = 719_163;

impl<W: Write> Sink<W> {
    /// A sink writing `format` to `out`.
    pub fn new(format: Format, out: W) -> Sink<W> {
        let inner = match format {
            Format::Csv => Inner::Csv {
                out,
                excel: false,
                header_done: false,
            },
            Format::CsvExcel => Inner::Csv {
                out,
                excel: true,
                header_done: false,
            },
            Format::Parquet => Inner::Parquet {
                out: Some(out),
                writer: None,
            },
            Format::Json => Inner::Json { out, first: true },
        };
        Sink { inner, rows: 0 }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one batch. Every batch of an export has the same columns.
    ///
    /// # Errors
    /// Writing fails.
    pub fn write(&mut self, df: &mut DataFrame) -> Result<(), Error> {
        match &mut self.inner {
            Inner::Csv {
                out,
                excel,
                header_done,
            } => {
                let mut w = CsvWriter::new(&mut *out)
                    .include_header(!*header_done)
                    .include_bom(*excel && !*header_done)
                    .with_separator(if *excel { b';' } else { b',' })
                    .with_decimal_comma(*excel)
                    .with_float_precision(Some(3))
                    .with_datetime_format(Some(INSTANT_FORMAT.into()))
                    .with_date_format(Some(DATE_FORMAT.into()));
                w.finish(df)?;
                *header_done = true;
            }
            Inner::Parquet { out, writer } => {
                if writer.is_none()
                    && let Some(out) = out.take()
                {
                    *writer = Some(Box::new(
                        ParquetWriter::new(out)
                            .with_compression(ParquetCompression::Zstd(None))
                            .batched(df.schema())?,
                    ));
                }
                if let Some(w) = writer
                    && df.height() > 0
                {
                    w.write_batch(df)?;
                }
            }
            Inner::Json { out, first } => {
                // Written by hand so that keys keep the schema's order.
                let names: Vec<String> = df
                    .get_column_names()
                    .iter()
                    .map(|n| serde_json::to_string(n.as_str()))
                    .collect::<Result<_, _>>()?;
                let columns = df.columns();
                let mut line = Vec::with_capacity(1024);
                for i in 0..df.height() {
                    line.clear();
                    line.extend_from_slice(if *first { b"[\n{" } else { b",\n{" });
                    *first = false;
                    for (k, (name, column)) in names.iter().zip(columns).enumerate() {
                        if k > 0 {
                            line.push(b',');
                        }
                        line.extend_from_slice(name.as_bytes());
                        line.push(b':');
                        serde_json::to_writer(&mut line, &json_value(column.get(i)?))?;
                    }
                    line.push(b'}');
                    out.write_all(&line)?;
                }
            }
        }
        self.rows += df.height() as u64;
        Ok(())
    }

    /// Ends the file (the Parquet footer, the JSON array's bracket) and
    /// flushes. `empty` is written first when no batch was, so that an
    /// export with no rows still has its header or schema.
    ///
    /// # Errors
    /// Writing fails.
    pub fn finish(mut self, empty: &mut DataFrame) -> Result<u64, Error> {
        let nothing_yet = match &self.inner {
            Inner::Csv { header_done, .. } => !header_done,
            Inner::Parquet { writer, .. } => writer.is_none(),
            Inner::Json { first, .. } => *first,
        };
        if nothing_yet && !matches!(self.inner, Inner::Json { .. }) {
            self.write(empty)?;
        }
        match self.inner {
            Inner::Csv { mut out, .. } => out.flush()?,
            Inner::Parquet { writer, .. } => {
                if let Some(w) = writer {
                    w.finish()?;
                }
            }
            Inner::Json { mut out, first } => {
                out.write_all(if first { b"[]\n" } else { b"\n]\n" })?;
                out.flush()?;
            }
        }
        Ok(self.rows)
    }
}

fn json_value(v: AnyValue<'_>) -> serde_json::Value {
    use serde_json::Value;
    match v {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::String(s) => Value::String(s.to_owned()),
        AnyValue::StringOwned(s) => Value::String(s.to_string()),
        AnyValue::Int64(n) => Value::from(n),
        AnyValue::Int32(n) => Value::from(n),
        AnyValue::UInt32(n) => Value::from(n),
        AnyValue::UInt64(n) => Value::from(n),
        AnyValue::Float64(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        AnyValue::Datetime(t, unit, _) | AnyValue::DatetimeOwned(t, unit, _) => {
            let micros = match unit {
                TimeUnit::Nanoseconds => t / 1000,
                TimeUnit::Microseconds => t,
                TimeUnit::Milliseconds => t * 1000,
            };
            chrono::DateTime::from_timestamp_micros(micros)
                .map_or(Value::Null, |d| Value::String(d.format(INSTANT_FORMAT).to_string()))
        }
        AnyValue::Date(days) => days
            .checked_add(EPOCH_DAYS_FROM_CE)
            .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
            .map_or(Value::Null, |d| Value::String(d.format(DATE_FORMAT).to_string())),
        other => Value::String(other.to_string()),
    }
}

/// A `Write` into a shared buffer, for streaming an export over HTTP: the
/// exporter writes a batch, the server takes the bytes and sends them.
#[derive(Clone, Debug, Default)]
pub struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    /// An empty buffer.
    pub fn new() -> SharedBuf {
        SharedBuf::default()
    }

    /// Takes the bytes written so far.
    pub fn take(&self) -> Vec<u8> {
        match self.0.lock() {
            Ok(mut v) => std::mem::take(&mut *v),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut v) => v.extend_from_slice(buf),
            Err(poisoned) => poisoned.into_inner().extend_from_slice(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
