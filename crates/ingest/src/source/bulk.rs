//! The FHIR Bulk Data source (Bulk Data Access IG v2): export, poll,
//! download NDJSON, into the same [`Resources`] store the files and REST
//! sources fill.
//!
//! One [`bulk_fetch`]:
//!
//! 1. **kick-off** `GET [base]/$export` (system), `[base]/Patient/$export`
//!    or `[base]/Group/[id]/$export` ([`BulkLevel`]) with
//!    `_type=` the types the ingest uses, `_outputFormat=application/fhir+ndjson`
//!    and, for an incremental export, `_since=` the previous export's
//!    `transactionTime`; headers `Accept: application/fhir+json` and
//!    `Prefer: respond-async`. The answer must be `202 Accepted` with a
//!    `Content-Location` (the status URL); a 4xx is an error with the
//!    `OperationOutcome`'s diagnostics;
//! 2. **poll** the status URL: `202` means in progress (wait `Retry-After`,
//!    capped at [`RestConfig::retry_after_cap`], else
//!    [`BulkConfig::poll_interval`]; `X-Progress` is logged); `200` is the
//!    manifest. 429 and 5xx are retried with backoff as every request is.
//!    When the run deadline ([`RestConfig::run_deadline`]) would pass, the
//!    export is cancelled with `DELETE` on the status URL and the fetch fails
//!    with [`Error::Deadline`];
//! 3. **download** every `output` file (and every `error` file: its
//!    `OperationOutcome`s become skips in the report) with at most
//!    [`RestConfig::concurrency`] downloads at once, streamed chunk by chunk
//!    into the reader, line by line; the token is sent only when the
//!    manifest says `requiresAccessToken`, and then only to the base URL's
//!    origin (a file elsewhere that needs it is refused);
//! 4. `DELETE` the status URL so that the server can drop the files.
//!
//! `Location` is not in the Patient compartment, so a patient- or
//! group-level export does not carry it: then the Location tree is read by a
//! paged REST search, as the REST source does.
//!
//! **Incremental exports** return only what changed since `_since`, so the
//! held state is updated with [`apply_bulk_changes`] (merge by type and id,
//! then drop stays no longer in progress and their records), not replaced.
//! The next `_since` is the manifest's `transactionTime` ([`BulkReport::transaction_time`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header;
use reqwest::{Method, StatusCode, Url};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::rest::{FhirClient, RestConfig, backoff, diagnostics, error_chain, parse_retry_after, search_into};
use super::shown_url;
use crate::Error;
use crate::read::{ReadReport, Resources, Skip};

/// The resource types the ingest uses, asked for with `_type`.
pub const BULK_TYPES: [&str; 9] = [
    "Location",
    "Patient",
    "Encounter",
    "Task",
    "MedicationRequest",
    "Observation",
    "ServiceRequest",
    "CarePlan",
    "Condition",
];

/// Which `$export` is asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BulkLevel {
    /// `[base]/$export`: everything on the server.
    #[default]
    System,
    /// `[base]/Patient/$export`: every patient's compartment.
    Patient,
    /// `[base]/Group/[id]/$export`: the compartments of a group's members.
    Group(String),
}

/// How the Bulk Data source exports (besides the [`RestConfig`] it shares
/// with the REST source: base URL, auth, timeouts, retries, deadline,
/// concurrency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkConfig {
    /// System, patient or group level.
    pub level: BulkLevel,
    /// The `_type` list.
    pub types: Vec<String>,
    /// Wait between polls when the server sends no `Retry-After`.
    pub poll_interval: Duration,
}

impl Default for BulkConfig {
    fn default() -> BulkConfig {
        BulkConfig {
            level: BulkLevel::System,
            types: BULK_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// What an export did.
#[derive(Clone, Debug, Default)]
pub struct BulkReport {
    /// HTTP requests sent (kick-off, polls, downloads, Location searches), retries included.
    pub requests: u64,
    /// Requests sent again after a retryable failure.
    pub retries: u64,
    /// Status polls.
    pub polls: u64,
    /// NDJSON files downloaded (output and error files).
    pub files: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// `OperationOutcome`s in the manifest's error files (each also a skip).
    pub export_errors: u64,
    /// The manifest's `transactionTime`: the next export's `_since`.
    pub transaction_time: Option<DateTime<Utc>>,
    /// What was read.
    pub read: ReadReport,
    /// Wall time.
    pub elapsed: Duration,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    bytes: AtomicU64,
}

struct Ctx {
    client: FhirClient,
    config: RestConfig,
    deadline: Instant,
    counters: Counters,
}

impl Ctx {
    fn deadline_error(&self, url: &Url) -> Error {
        Error::Deadline {
            url: shown_url(url),
            deadline_ms: self.config.run_deadline.as_millis() as u64,
        }
    }
}

/// A request: its method, URL, `Accept`, extra headers, whether to send the
/// token, and the per-request timeout (none = until the run deadline).
struct Req<'a> {
    method: Method,
    url: &'a Url,
    accept: &'static str,
    prefer_async: bool,
    with_auth: bool,
    timeout: Option<Duration>,
}

/// Sends `req` with retries on 429/500/502/503/504, connection errors and
/// timeouts (after `Retry-After` or the backoff), a new SMART token once on
/// 401, and the run deadline. Returns the response of any other status.
async fn send(ctx: &Ctx, req: &Req<'_>) -> Result<reqwest::Response, Error> {
    let cfg = &ctx.config;
    let mut attempt: u32 = 0;
    let mut refreshed = false;
    loop {
        let now = Instant::now();
        if now >= ctx.deadline {
            return Err(ctx.deadline_error(req.url));
        }
        let left = ctx.deadline - now;
        let timeout = req.timeout.map_or(left, |t| t.min(left));
        let mut builder = ctx
            .client
            .http
            .request(req.method.clone(), req.url.clone())
            .timeout(timeout)
            .header(header::ACCEPT, req.accept);
        if req.prefer_async {
            builder = builder.header("prefer", "respond-async");
        }
        let sent = if req.with_auth {
            ctx.client.auth.header(&ctx.client.http, &ctx.client.base).await?
        } else {
            None
        };
        if let Some(value) = &sent {
            builder = builder.header(header::AUTHORIZATION, value.clone());
        }
        ctx.counters.requests.fetch_add(1, Ordering::Relaxed);
        let (retry_after, failure) = match builder.send().await {
            Ok(r) => {
                let status = r.status();
                if status == StatusCode::UNAUTHORIZED
                    && req.with_auth
                    && !refreshed
                    && ctx.client.auth.invalidate(sent.as_ref()).await
                {
                    tracing::warn!(url = %shown_url(req.url), "Bulk Data request answered 401: retried once with a new access token");
                    refreshed = true;
                    continue;
                }
                if !matches!(
                    status,
                    StatusCode::TOO_MANY_REQUESTS
                        | StatusCode::INTERNAL_SERVER_ERROR
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                ) {
                    return Ok(r);
                }
                let after = retry_after_of(&r);
                let body = r.bytes().await.unwrap_or_default();
                (
                    after,
                    Error::Status {
                        url: shown_url(req.url),
                        status: status.as_u16(),
                        diagnostics: diagnostics(&body),
                    },
                )
            }
            Err(e) if e.is_timeout() => {
                if Instant::now() >= ctx.deadline {
                    return Err(ctx.deadline_error(req.url));
                }
                (
                    None,
                    Error::Timeout {
                        url: shown_url(req.url),
                        attempts: attempt + 1,
                        timeout_ms: timeout.as_millis() as u64,
                    },
                )
            }
            Err(e) => (
                None,
                Error::Connection {
                    url: shown_url(req.url),
                    attempts: attempt + 1,
                    reason: error_chain(&e.without_url()),
                },
            ),
        };
        if attempt >= cfg.max_retries {
            return Err(failure);
        }
        let wait = retry_after.map_or_else(|| backoff(cfg.backoff_base, attempt), |d| d.min(cfg.retry_after_cap));
        if Instant::now() + wait >= ctx.deadline {
            return Err(ctx.deadline_error(req.url));
        }
        tracing::warn!(url = %shown_url(req.url), attempt = attempt + 1, wait_ms = wait.as_millis() as u64, error = %failure, "Bulk Data request retried");
        ctx.counters.retries.fetch_add(1, Ordering::Relaxed);
        ctx.client.retried.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

fn retry_after_of(r: &reqwest::Response) -> Option<Duration> {
    r.headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after)
}

/// An error for an unexpected final status, with the body's diagnostics.
async fn status_error(url: &Url, r: reqwest::Response) -> Error {
    let status = r.status().as_u16();
    let body = r.bytes().await.unwrap_or_default();
    Error::Status {
        url: shown_url(url),
        status,
        diagnostics: diagnostics(&body),
    }
}

/// The kick-off URL for `level`, with `_type`, `_outputFormat` and `_since`.
fn kickoff_url(client: &FhirClient, bulk: &BulkConfig, since: Option<DateTime<Utc>>) -> Url {
    let mut url = client.base.clone();
    let base_path = url.path().trim_end_matches('/').to_owned();
    let path = match &bulk.level {
        BulkLevel::System => format!("{base_path}/$export"),
        BulkLevel::Patient => format!("{base_path}/Patient/$export"),
        BulkLevel::Group(id) => format!("{base_path}/Group/{id}/$export"),
    };
    url.set_path(&path);
    let types: Vec<&str> = bulk
        .types
        .iter()
        .map(String::as_str)
        .filter(|t| bulk.level == BulkLevel::System || *t != "Location")
        .collect();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("_outputFormat", "application/fhir+ndjson");
        if !types.is_empty() {
            q.append_pair("_type", &types.join(","));
        }
        if let Some(t) = since {
            q.append_pair("_since", &t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
    }
    url
}

/// One file of the manifest.
#[derive(Clone, Debug)]
struct OutputFile {
    url: Url,
    error: bool,
}

/// The manifest's parts careload uses.
struct Manifest {
    transaction_time: DateTime<Utc>,
    requires_token: bool,
    files: Vec<OutputFile>,
}

fn parse_manifest(base: &Url, status_url: &Url, body: &[u8]) -> Result<Manifest, Error> {
    let bad = |m: String| Error::Bulk(format!("the manifest at {status_url} {m}"));
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(format!("is not JSON: {e}")))?;
    let transaction_time = v
        .get("transactionTime")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .ok_or_else(|| bad("has no valid transactionTime".to_owned()))?
        .with_timezone(&Utc);
    let requires_token = v.get("requiresAccessToken").and_then(Value::as_bool).unwrap_or(false);
    let mut files = Vec::new();
    for (key, error) in [("output", false), ("error", true)] {
        let Some(list) = v.get(key) else { continue };
        let list = list
            .as_array()
            .ok_or_else(|| bad(format!("has an `{key}` that is not a list")))?;
        for item in list {
            let url = item
                .get("url")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(format!("has an `{key}` entry without a url")))?;
            let url = base
                .join(url)
                .map_err(|e| bad(format!("has an `{key}` url {url:?} that is not a URL: {e}")))?;
            files.push(OutputFile { url, error });
        }
    }
    Ok(Manifest {
        transaction_time,
        requires_token,
        files,
    })
}

/// Exports what careload needs (see the module documentation), `since` the
/// previous export's `transactionTime` when given.
///
/// # Errors
/// A kick-off or status answer with an error status (after retries), no
/// status URL, a manifest that cannot be read, a download that fails, the
/// run deadline (the export is then cancelled with `DELETE`). A resource
/// that cannot be used, or an `OperationOutcome` in an error file, is a
/// skip in the report, not an error.
pub async fn bulk_fetch(
    client: &FhirClient,
    config: &RestConfig,
    bulk: &BulkConfig,
    since: Option<DateTime<Utc>>,
) -> Result<(Resources, BulkReport), Error> {
    let started = Instant::now();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        config: config.clone(),
        deadline: started + config.run_deadline,
        counters: Counters::default(),
    });
    let mut report = BulkReport::default();
    let mut resources = Resources::new();

    // 1. kick-off
    let kickoff = kickoff_url(client, bulk, since);
    let r = send(
        &ctx,
        &Req {
            method: Method::GET,
            url: &kickoff,
            accept: "application/fhir+json",
            prefer_async: true,
            with_auth: true,
            timeout: Some(config.request_timeout),
        },
    )
    .await?;
    if r.status() != StatusCode::ACCEPTED {
        if r.status().is_success() {
            return Err(Error::Bulk(format!(
                "the kick-off {kickoff} answered HTTP {} instead of 202 Accepted; the server does not run $export asynchronously",
                r.status().as_u16()
            )));
        }
        return Err(status_error(&kickoff, r).await);
    }
    let status_url = r
        .headers()
        .get(header::CONTENT_LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| client.base.join(v).ok())
        .ok_or_else(|| {
            Error::Bulk(format!(
                "the kick-off {kickoff} answered 202 without a Content-Location"
            ))
        })?;
    tracing::info!(%kickoff, status = %status_url, "Bulk Data export started");

    // 2. poll
    let manifest = loop {
        let r = send(
            &ctx,
            &Req {
                method: Method::GET,
                url: &status_url,
                accept: "application/json",
                prefer_async: false,
                with_auth: true,
                timeout: Some(config.request_timeout),
            },
        )
        .await;
        report.polls += 1;
        let r = match r {
            Ok(r) => r,
            Err(e @ Error::Deadline { .. }) => {
                cancel(&ctx, &status_url).await;
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        match r.status() {
            StatusCode::OK => {
                let body = r.bytes().await.map_err(|e| Error::Connection {
                    url: shown_url(&status_url),
                    attempts: 1,
                    reason: error_chain(&e.without_url()),
                })?;
                break parse_manifest(&client.base, &status_url, &body)?;
            }
            StatusCode::ACCEPTED => {
                let progress = r
                    .headers()
                    .get("x-progress")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                let wait = retry_after_of(&r).map_or(bulk.poll_interval, |d| d.min(config.retry_after_cap));
                if Instant::now() + wait >= ctx.deadline {
                    cancel(&ctx, &status_url).await;
                    return Err(ctx.deadline_error(&status_url));
                }
                tracing::debug!(status = %status_url, progress, wait_ms = wait.as_millis() as u64, "Bulk Data export in progress");
                tokio::time::sleep(wait).await;
            }
            _ => return Err(status_error(&status_url, r).await),
        }
    };
    report.transaction_time = Some(manifest.transaction_time);

    // Locations are outside the Patient compartment
    let mut read = ReadReport::default();
    if bulk.level != BulkLevel::System && bulk.types.iter().any(|t| t == "Location") {
        let url = client.search_url("Location", &[("_count", config.page_size.max(1).to_string())]);
        let (requests, retries) =
            search_into(client, config, ctx.deadline, vec![url], &mut resources, &mut read).await?;
        ctx.counters.requests.fetch_add(requests, Ordering::Relaxed);
        ctx.counters.retries.fetch_add(retries, Ordering::Relaxed);
    }

    // 3. download
    let requires_token = manifest.requires_token;
    for f in &manifest.files {
        if requires_token && f.url.origin() != client.base.origin() {
            return Err(Error::Bulk(format!(
                "output file {} is on another origin than the FHIR server and requires the access token; refused, so that the token never leaves the server",
                f.url
            )));
        }
    }
    report.files = manifest.files.len() as u64;
    download_all(
        &ctx,
        manifest.files,
        requires_token,
        &mut resources,
        &mut read,
        &mut report,
    )
    .await?;

    // 4. done: let the server drop the files
    cancel(&ctx, &status_url).await;

    report.requests = ctx.counters.requests.load(Ordering::Relaxed);
    report.retries = ctx.counters.retries.load(Ordering::Relaxed);
    report.bytes = ctx.counters.bytes.load(Ordering::Relaxed);
    report.read = read;
    report.elapsed = started.elapsed();
    tracing::info!(
        base = %client.base,
        requests = report.requests,
        polls = report.polls,
        files = report.files,
        bytes = report.bytes,
        export_errors = report.export_errors,
        resources = report.read.total_read(),
        transaction_time = %manifest.transaction_time,
        elapsed_ms = report.elapsed.as_millis() as u64,
        "FHIR Bulk Data export done"
    );
    Ok((resources, report))
}

/// `DELETE` on the status URL (cancel, or clean up after the download); a
/// failure is only logged.
async fn cancel(ctx: &Ctx, status_url: &Url) {
    let mut req = ctx
        .client
        .http
        .delete(status_url.clone())
        .timeout(ctx.config.request_timeout.min(Duration::from_secs(10)));
    if let Ok(Some(value)) = ctx.client.auth.header(&ctx.client.http, &ctx.client.base).await {
        req = req.header(header::AUTHORIZATION, value);
    }
    ctx.counters.requests.fetch_add(1, Ordering::Relaxed);
    match req.send().await {
        Ok(r) if r.status().is_success() => tracing::debug!(status = %status_url, "Bulk Data export deleted"),
        Ok(r) => tracing::warn!(status = %status_url, http = r.status().as_u16(), "Bulk Data export DELETE refused"),
        Err(e) => {
            tracing::warn!(status = %status_url, error = %error_chain(&e.without_url()), "Bulk Data export DELETE failed")
        }
    }
}

/// A batch of whole lines of one file.
struct Lines {
    file: usize,
    first_line: usize,
    text: String,
}

/// Downloads the files with bounded concurrency, reading each batch of lines
/// as it arrives.
async fn download_all(
    ctx: &Arc<Ctx>,
    files: Vec<OutputFile>,
    requires_token: bool,
    resources: &mut Resources,
    read: &mut ReadReport,
    report: &mut BulkReport,
) -> Result<(), Error> {
    let limit = ctx.config.concurrency.max(1);
    let (tx, mut rx) = mpsc::channel::<Lines>(limit * 4);
    let mut set: JoinSet<Result<(), Error>> = JoinSet::new();
    let mut pending = files.iter().cloned().enumerate();
    let mut running = 0usize;
    let mut spawn = |set: &mut JoinSet<Result<(), Error>>, running: &mut usize| {
        if let Some((i, f)) = pending.next() {
            let ctx = Arc::clone(ctx);
            let tx = tx.clone();
            set.spawn(async move { download(&ctx, i, &f.url, requires_token, tx).await });
            *running += 1;
        }
    };
    for _ in 0..limit {
        spawn(&mut set, &mut running);
    }
    while running > 0 {
        tokio::select! {
            Some(lines) = rx.recv() => {
                let f = &files[lines.file];
                read_lines(&lines, f, resources, read, report);
            }
            Some(joined) = set.join_next() => {
                running -= 1;
                match joined {
                    Ok(Ok(())) => spawn(&mut set, &mut running),
                    Ok(Err(e)) => return Err(e),
                    Err(e) => return Err(Error::Bulk(format!("a download task failed: {e}"))),
                }
            }
            else => break,
        }
    }
    drop(tx);
    while let Some(lines) = rx.recv().await {
        let f = &files[lines.file];
        read_lines(&lines, f, resources, read, report);
    }
    Ok(())
}

/// Reads a batch: resources from an output file, `OperationOutcome`s (as
/// skips) from an error file.
fn read_lines(
    lines: &Lines,
    file: &OutputFile,
    resources: &mut Resources,
    read: &mut ReadReport,
    report: &mut BulkReport,
) {
    for (n, line) in lines.text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let line_no = lines.first_line + n;
        let origin = format!("{}:{line_no}", file.url);
        if !file.error {
            resources.add_line(line, line_no, file.url.as_str(), &origin, read);
            continue;
        }
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(line) {
            read.skip(
                Skip::new("?", None, format!("line {line_no} of {} is not JSON: {e}", file.url)),
                &origin,
            );
            continue;
        }
        report.export_errors += 1;
        let text = diagnostics(line.as_bytes()).unwrap_or_else(|| "no diagnostics".to_owned());
        read.skip(
            Skip::new(
                "OperationOutcome",
                None,
                format!("the export reported an error: {text}"),
            ),
            &origin,
        );
    }
}

/// Downloads one file, sending its whole lines as they arrive.
async fn download(ctx: &Ctx, index: usize, url: &Url, with_auth: bool, tx: mpsc::Sender<Lines>) -> Result<(), Error> {
    let r = send(
        ctx,
        &Req {
            method: Method::GET,
            url,
            accept: "application/fhir+ndjson",
            prefer_async: false,
            with_auth,
            // a large file may take longer than one request: the run deadline bounds it
            timeout: None,
        },
    )
    .await?;
    if !r.status().is_success() {
        return Err(status_error(url, r).await);
    }
    let mut r = r;
    let mut carry: Vec<u8> = Vec::new();
    let mut line_no = 1usize;
    let cut = |e: reqwest::Error| Error::Connection {
        url: shown_url(url),
        attempts: 1,
        reason: format!("the download broke off: {}", error_chain(&e.without_url())),
    };
    loop {
        let chunk = match r.chunk().await {
            Ok(c) => c,
            Err(e) if e.is_timeout() => return Err(ctx.deadline_error(url)),
            Err(e) => return Err(cut(e)),
        };
        let Some(chunk) = chunk else { break };
        ctx.counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        carry.extend_from_slice(&chunk);
        if let Some(last_nl) = carry.iter().rposition(|&b| b == b'\n') {
            let rest = carry.split_off(last_nl + 1);
            let text = String::from_utf8_lossy(&carry).into_owned();
            let lines = text.matches('\n').count();
            carry = rest;
            if tx
                .send(Lines {
                    file: index,
                    first_line: line_no,
                    text,
                })
                .await
                .is_err()
            {
                return Ok(());
            }
            line_no += lines;
        }
    }
    if !carry.is_empty() {
        let text = String::from_utf8_lossy(&carry).into_owned();
        let _ = tx
            .send(Lines {
                file: index,
                first_line: line_no,
                text,
            })
            .await;
    }
    Ok(())
}

/// Applies an incremental export to the held state: merge by type and id
/// (the later `meta.lastUpdated` winning), then drop the encounters no
/// longer in progress and the records of stays no longer held. Returns how
/// many resources were dropped.
pub fn apply_bulk_changes(held: &mut Resources, fresh: Resources) -> usize {
    held.merge(fresh);
    let before = held.encounters.len();
    held.encounters.retain(|_, e| e.status.as_ref() == "in-progress");
    (before - held.encounters.len()) + held.retain_stays()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn kickoff_urls_per_level() {
        let client = FhirClient::new(&RestConfig::new("http://127.0.0.1:1/fhir/")).unwrap();
        let since = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z").unwrap().to_utc();
        let u = kickoff_url(&client, &BulkConfig::default(), Some(since));
        assert_eq!(u.path(), "/fhir/$export");
        let q: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        assert!(
            q.contains(&("_since".into(), "2026-11-23T09:00:00.000Z".into())),
            "{q:?}"
        );
        assert!(
            q.iter()
                .any(|(k, v)| k == "_type" && v.starts_with("Location,Patient,Encounter"))
        );
        let g = BulkConfig {
            level: BulkLevel::Group("ward-7".into()),
            ..BulkConfig::default()
        };
        let u = kickoff_url(&client, &g, None);
        assert_eq!(u.path(), "/fhir/Group/ward-7/$export");
        assert!(!u.query().unwrap().contains("Location") && !u.query().unwrap().contains("_since"));
    }

    #[test]
    fn manifests_are_read_and_refused_clearly() {
        let base = Url::parse("http://h/fhir").unwrap();
        let status = Url::parse("http://h/status/1").unwrap();
        let m = parse_manifest(
            &base,
            &status,
            br#"{"transactionTime":"2026-11-23T09:00:00Z","request":"x","requiresAccessToken":true,
                "output":[{"type":"Patient","url":"http://h/files/1.ndjson"}],
                "error":[{"type":"OperationOutcome","url":"http://h/files/err.ndjson"}]}"#,
        )
        .unwrap();
        assert!(m.requires_token);
        assert_eq!(m.files.len(), 2);
        assert!(m.files[1].error && !m.files[0].error);
        let e = parse_manifest(&base, &status, br#"{"output":[]}"#).err().unwrap();
        assert!(e.to_string().contains("transactionTime"), "{e}");
        let e = parse_manifest(&base, &status, b"<html>").err().unwrap();
        assert!(e.to_string().contains("not JSON"), "{e}");
    }
}
