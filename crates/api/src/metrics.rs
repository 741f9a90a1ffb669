//! Prometheus metrics, hand-written in the text exposition format 0.0.4.
//!
//! * `careload_http_requests_total{route,status}` — requests per route
//!   pattern (never the raw path: no ward or patient key in a label) and
//!   status;
//! * `careload_http_request_duration_seconds{route,status}` — a latency
//!   histogram;
//! * `careload_http_connections_refused_total` — connections closed on
//!   arrival because `api.max_connections` were open ([`crate::server`]);
//! * `careload_hour_shown_age_seconds` — how long ago the hour the screens
//!   show began (alert when it passes two hours: runs are failing or not
//!   running), and `careload_hour_shown_timestamp_seconds`, that hour;
//! * `careload_source_hour_age_seconds{source_id}` — with several FHIR
//!   sources (`[sources.<id>]`), how long ago each source's own hour began:
//!   the hour shown above is the newest of them, so alert on each source's
//!   (one down source leaves only its own wards behind);
//! * `careload_last_run_*{source}` — each source's latest ingest run (the
//!   simulator, a FHIR server, a Bulk Data export, files): duration,
//!   resources read, skipped, retries, outcome (`interrupted` for a run a
//!   dead process left), start time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use careload_store::{Run, SourceHour};
use chrono::{DateTime, Utc};

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

    /// The exposition text: the requests, the age of `shown` (the hour the
    /// screens show) at `now`, and each of `latest_runs` (one per source).
    pub fn render(
        &self,
        shown: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        latest_runs: &[Run],
        sources: &[SourceHour],
    ) -> String {
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
        let gauge_head = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
        };
        if let Some(hour) = shown {
            gauge_head(
                &mut out,
                "careload_hour_shown_age_seconds",
                "Seconds since the hour the screens show began; above 7200 the runs are failing or not running.",
            );
            let _ = writeln!(
                out,
                "careload_hour_shown_age_seconds {}",
                (now - hour).num_seconds().max(0)
            );
            gauge_head(
                &mut out,
                "careload_hour_shown_timestamp_seconds",
                "The hour the screens show (its start).",
            );
            let _ = writeln!(out, "careload_hour_shown_timestamp_seconds {}", hour.timestamp());
        }
        let named: Vec<&SourceHour> = sources.iter().filter(|s| !s.source_id.is_empty()).collect();
        if !named.is_empty() {
            gauge_head(
                &mut out,
                "careload_source_hour_age_seconds",
                "Seconds since the source's own newest hour began; above 7200 its runs are failing (its wards stale).",
            );
            for s in named {
                let _ = writeln!(
                    out,
                    "careload_source_hour_age_seconds{{source_id=\"{}\"}} {}",
                    escape(&s.source_id),
                    (now - s.current.hour).num_seconds().max(0)
                );
            }
        }
        type Figure = (&'static str, &'static str, fn(&Run) -> Option<String>);
        let figures: [Figure; 6] = [
            ("careload_last_run_id", "The source's latest ingest run's id.", |r| {
                Some(r.id.0.to_string())
            }),
            (
                "careload_last_run_started_timestamp_seconds",
                "When the source's latest ingest run started.",
                |r| Some(r.started_at.timestamp().to_string()),
            ),
            (
                "careload_last_run_duration_seconds",
                "How long the source's latest finished ingest run took.",
                |r| {
                    r.finished_at
                        .map(|end| ((end - r.started_at).num_milliseconds() as f64 / 1000.0).to_string())
                },
            ),
            (
                "careload_last_run_resources_read",
                "Resources the source's latest ingest run read (all kinds).",
                |r| Some(r.report.counts.values().sum::<u64>().to_string()),
            ),
            (
                "careload_last_run_skipped",
                "Resources the source's latest ingest run skipped as unusable.",
                |r| Some(r.report.skipped.to_string()),
            ),
            (
                "careload_last_run_retries",
                "Requests the source's latest ingest run retried.",
                |r| Some(r.report.retries.to_string()),
            ),
        ];
        if !latest_runs.is_empty() {
            for (name, help, value) in figures {
                gauge_head(&mut out, name, help);
                for run in latest_runs {
                    if let Some(v) = value(run) {
                        let _ = writeln!(out, "{name}{{source=\"{}\"}} {v}", escape(&run.source));
                    }
                }
            }
            gauge_head(
                &mut out,
                "careload_last_run_outcome",
                "The source's latest ingest run's outcome (1 for the one it had).",
            );
            for run in latest_runs {
                let outcome = match run.outcome {
                    None => "running",
                    Some(_) if run.interrupted() => "interrupted",
                    Some(o) => o.as_str(),
                };
                for o in ["ok", "partial", "failed", "interrupted", "running"] {
                    let v = u8::from(o == outcome);
                    let _ = writeln!(
                        out,
                        "careload_last_run_outcome{{source=\"{}\",outcome=\"{o}\"}} {v}",
                        escape(&run.source)
                    );
                }
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
        let text = m.render(None, chrono::Utc::now(), &[], &[]);
        assert!(text.contains("careload_http_requests_total{route=\"/api/v1/wards/{id}\",status=\"200\"} 2"));
        assert!(text.contains(
            "careload_http_request_duration_seconds_bucket{route=\"/api/v1/wards/{id}\",status=\"200\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "careload_http_request_duration_seconds_bucket{route=\"/api/v1/wards/{id}\",status=\"200\",le=\"0.05\"} 2"
        ));
    }
}
