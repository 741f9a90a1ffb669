//! Prometheus metrics, hand-written in the text exposition format 0.0.4.
//!
//! * `careload_http_requests_total{route,status}` — requests per route
//!   pattern (never the raw path: no ward or patient key in a label) and
//!   status;
//! * `careload_http_request_duration_seconds{route,status}` — a latency
//!   histogram;
//! * `careload_http_connections_refused_total` — connections closed on
//!   arrival because `api.max_connections` were open ([`crate::server`]);
//! * `careload_last_run_*` — the store's latest ingest run: duration,
//!   resources read, skipped, retries, outcome, start time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use careload_store::Run;

/// Histogram bucket upper bounds, seconds.
pub const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Clone, Debug, Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request counters and latency histograms per route and status.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, u16), Series>>,
}

impl Metrics {
    /// Counts one request.
    pub fn observe(&self, route: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut map = match self.series.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        let s = map.entry((route.to_owned(), status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    /// The exposition text, with the latest run's figures when there is one.
    pub fn render(&self, latest_run: Option<&Run>) -> String {
        let map = match self.series.lock() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP careload_http_requests_total HTTP requests by route pattern and status."
        );
        let _ = writeln!(out, "# TYPE careload_http_requests_total counter");
        for ((route, status), s) in &map {
            let _ = writeln!(
                out,
                "careload_http_requests_total{{route=\"{}\",status=\"{status}\"}} {}",
                escape(route),
                s.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP careload_http_connections_refused_total Connections closed on arrival: api.max_connections were open."
        );
        let _ = writeln!(out, "# TYPE careload_http_connections_refused_total counter");
        let _ = writeln!(
            out,
            "careload_http_connections_refused_total {}",
            crate::server::REFUSED.load(std::sync::atomic::Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP careload_http_request_duration_seconds HTTP request latency."
        );
        let _ = writeln!(out, "# TYPE careload_http_request_duration_seconds histogram");
        for ((route, status), s) in &map {
            let labels = format!("route=\"{}\",status=\"{status}\"", escape(route));
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "careload_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "careload_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(out, "careload_http_request_duration_seconds_sum{{{labels}}} {}", s.sum);
            let _ = writeln!(
                out,
                "careload_http_request_duration_seconds_count{{{labels}}} {}",
                s.count
            );
        }
        if let Some(run) = latest_run {
            let gauge = |out: &mut String, name: &str, help: &str, value: String| {
                let _ = writeln!(out, "# HELP {name} {help}");
                let _ = writeln!(out, "# TYPE {name} gauge");
                let _ = writeln!(out, "{name} {value}");
            };
            gauge(
                &mut out,
                "careload_last_run_id",
                "The latest ingest run's id.",
                run.id.0.to_string(),
            );
            gauge(
                &mut out,
                "careload_last_run_started_timestamp_seconds",
                "When the latest ingest run started.",
                run.started_at.timestamp().to_string(),
            );
            if let Some(end) = run.finished_at {
                let secs = (end - run.started_at).num_milliseconds() as f64 / 1000.0;
                gauge(
                    &mut out,
                    "careload_last_run_duration_seconds",
                    "How long the latest finished ingest run took.",
                    secs.to_string(),
                );
            }
            gauge(
                &mut out,
                "careload_last_run_resources_read",
                "Resources the latest ingest run read (all kinds).",
                run.report.counts.values().sum::<u64>().to_string(),
            );
            gauge(
                &mut out,
                "careload_last_run_skipped",
                "Resources the latest ingest run skipped as unusable.",
                run.report.skipped.to_string(),
            );
            gauge(
                &mut out,
                "careload_last_run_retries",
                "Requests the latest ingest run retried.",
                run.report.retries.to_string(),
            );
            let _ = writeln!(
                out,
                "# HELP careload_last_run_outcome The latest ingest run's outcome (1 for the one it had)."
            );
            let _ = writeln!(out, "# TYPE careload_last_run_outcome gauge");
            let outcome = run.outcome.map_or("running", |o| o.as_str());
            for o in ["ok", "partial", "failed", "running"] {
                let v = u8::from(o == outcome);
                let _ = writeln!(out, "careload_last_run_outcome{{outcome=\"{o}\"}} {v}");
            }
        }
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_buckets() {
        let m = Metrics::default();
        m.observe("/api/v1/wards/{id}", 200, Duration::from_millis(3));
        m.observe("/api/v1/wards/{id}", 200, Duration::from_millis(30));
        let text = m.render(None);
        assert!(text.contains("careload_http_requests_total{route=\"/api/v1/wards/{id}\",status=\"200\"} 2"));
        assert!(text.contains(
            "careload_http_request_duration_seconds_bucket{route=\"/api/v1/wards/{id}\",status=\"200\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "careload_http_request_duration_seconds_bucket{route=\"/api/v1/wards/{id}\",status=\"200\",le=\"0.05\"} 2"
        ));
    }
}
