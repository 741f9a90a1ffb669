//! Where a run reads FHIR from: anything that implements [`FhirSource`].
//!
//! The runner has three: a FHIR server's REST API ([`RestSource`]), its Bulk
//! Data `$export` ([`BulkSource`]) and files ([`FilesSource`]),
//! built from `[source]` by [`from_config`], or from one of several sources
//! (`[sources.<id>]`) by [`from_source_config`]. The simulated hospital of the
//! demo is a source of the `careload` binary (`src/sim_source.rs`): it is
//! served over HTTP and read through a [`RestSource`], and moves its clock
//! in [`FhirSource::before_hour`]. The runner knows nothing of it.

use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use careload_config::{Config, SourceConfig, SourceKind};
use careload_ingest::{BulkConfig, BulkLevel, FhirClient, ReadReport, Resources, RestConfig, SmartConfig};
use careload_store::RunReport;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// A boxed future that may move between threads: what [`FhirSource`]'s
/// async methods return, so that a runner can hold any source as
/// `Box<dyn FhirSource>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a run asks of its source.
#[derive(Clone, Copy, Debug)]
pub struct FetchRequest<'a> {
    /// The hour being run.
    pub hour: DateTime<Utc>,
    /// Everything (first run, nightly resync, an hour before the held state
    /// was last pruned) or only what changed since `since`.
    pub full: bool,
    /// The held state's bound: what changed at or after it is fetched
    /// (none before the first fetch).
    pub since: Option<DateTime<Utc>>,
    /// The held state (a REST source reads the records of stays new since
    /// the last run in full).
    pub held: &'a Resources,
}

/// What a source fetched.
#[derive(Debug)]
pub struct Fetched {
    /// The resources: the whole state, or the changes.
    pub resources: Resources,
    /// What was read and skipped.
    pub read: ReadReport,
    /// The next incremental fetch's bound when the source knows it (a FHIR
    /// server's own clock, less the margin); otherwise the runner takes the
    /// latest `meta.lastUpdated` seen.
    pub next_since: Option<DateTime<Utc>>,
}

/// A source of FHIR for the hourly run.
///
/// The runner calls, for every hour: [`FhirSource::before_hour`], then
/// [`FhirSource::fetch`], then (for an incremental fetch)
/// [`FhirSource::merge`]; during a back-fill, after each hour's fetch but the
/// last, [`FhirSource::after_fetch`] with the hour that comes next.
pub trait FhirSource: Send + Sync + fmt::Debug {
    /// What `source.kind` it is (`fhir`, `bulk`, `files`, `sim`).
    fn kind(&self) -> &'static str;

    /// What a run record names as its source: the base URL or the path
    /// (never credentials).
    fn describe(&self) -> String;

    /// Whether it can fetch only what changed; `false` makes every fetch a
    /// full one (files).
    fn incremental(&self) -> bool {
        true
    }

    /// Called before each hour's fetch, a back-fill's hours included: a
    /// source that replays history (the simulated hospital) moves to `hour`
    /// here. Counts go into the run's report. An error fails the run.
    fn before_hour<'a>(&'a self, hour: DateTime<Utc>, report: &'a mut RunReport) -> BoxFuture<'a, Result<()>> {
        let _ = (hour, report);
        Box::pin(async { Ok(()) })
    }

    /// Called during a back-fill as soon as an hour is fetched, with the
    /// hour fetched next: a source may start preparing it while this one is
    /// mapped, scored and written ([`FhirSource::before_hour`] of `next`
    /// still comes first).
    fn after_fetch(&self, next: DateTime<Utc>) {
        let _ = next;
    }

    /// Fetches the hour's resources (everything, or what changed).
    /// `report` gets the requests, retries and the source's own counts,
    /// a failed fetch's retries too.
    fn fetch<'a>(&'a self, request: FetchRequest<'a>, report: &'a mut RunReport) -> BoxFuture<'a, Result<Fetched>>;

    /// Merges an incremental fetch into the held state (by type and id,
    /// the later `meta.lastUpdated` winning: [`careload_ingest::apply_changes`]).
    fn merge(&self, held: &mut Resources, changes: Resources) {
        careload_ingest::apply_changes(held, changes);
    }
}

/// The source `[source]` names: a FHIR server's REST API or Bulk Data
/// export, or files ([`from_source_config`] of `config.source`).
///
/// # Errors
/// As [`from_source_config`].
pub fn from_config(config: &Config) -> Result<Box<dyn FhirSource>> {
    from_source_config(&config.source)
}

/// The source `source` describes (`[source]`, or one `[sources.<id>]`): a
/// FHIR server's REST API or Bulk Data export, or files.
///
/// # Errors
/// The FHIR client cannot be built; [`Error::SourceKind`] for
/// `kind = sim`, whose source the `careload` binary provides.
pub fn from_source_config(source: &SourceConfig) -> Result<Box<dyn FhirSource>> {
    Ok(match source.kind {
        SourceKind::Fhir => Box::new(RestSource::new(rest_config_of(source))?),
        SourceKind::Bulk => Box::new(BulkSource::new(
            RestSource::new(rest_config_of(source))?,
            bulk_config_of(source),
        )),
        SourceKind::Files => Box::new(FilesSource::new(source.path.clone())),
        SourceKind::Sim => return Err(Error::SourceKind("sim")),
    })
}

/// A FHIR server and how to talk to it.
#[derive(Clone, Debug)]
pub struct RestSource {
    /// The client (base URL, token).
    pub client: FhirClient,
    /// Paging, retries, timeouts.
    pub config: RestConfig,
}

impl RestSource {
    /// A client for `config.base_url`.
    ///
    /// # Errors
    /// As [`FhirClient::new`].
    pub fn new(config: RestConfig) -> Result<RestSource> {
        Ok(RestSource {
            client: FhirClient::new(&config)?,
            config,
        })
    }

    async fn fetch_rest(&self, request: FetchRequest<'_>, report: &mut RunReport) -> Result<Fetched> {
        let (resources, fetched) = match (request.full, request.since) {
            (false, Some(since)) => {
                careload_ingest::fetch_changes(&self.client, &self.config, since, request.held).await?
            }
            _ => careload_ingest::fetch(&self.client, &self.config, None).await?,
        };
        report.retries = fetched.retries;
        report.counts.insert("requests".into(), fetched.requests);
        report.counts.insert("pages".into(), fetched.pages);
        report
            .counts
            .insert("empty_wards".into(), fetched.empty_wards.len() as u64);
        let next_since = fetched.next_since(request.since, self.config.since_margin);
        Ok(Fetched {
            resources,
            read: fetched.read,
            next_since,
        })
    }
}

/// After a failed fetch, the retries `client` sent since it had sent
/// `before` are the run's (a failed fetch has no report of its own).
fn count_failed_retries<T>(client: &FhirClient, before: u64, report: &mut RunReport, fetched: &Result<T>) {
    if fetched.is_err() {
        report.retries = client.retries_sent().saturating_sub(before);
    }
}

impl FhirSource for RestSource {
    fn kind(&self) -> &'static str {
        "fhir"
    }

    fn describe(&self) -> String {
        self.config.base_url.clone()
    }

    fn fetch<'a>(&'a self, request: FetchRequest<'a>, report: &'a mut RunReport) -> BoxFuture<'a, Result<Fetched>> {
        Box::pin(async move {
            let before = self.client.retries_sent();
            let fetched = self.fetch_rest(request, report).await;
            count_failed_retries(&self.client, before, report, &fetched);
            fetched
        })
    }
}

/// A FHIR server read by Bulk Data export, and the `transactionTime` of
/// its last successful export (the next export's `_since`).
#[derive(Debug)]
pub struct BulkSource {
    /// The client, timeouts, retries, deadline, concurrency.
    pub rest: RestSource,
    /// Level, types, poll interval.
    pub bulk: BulkConfig,
    /// The last export's `transactionTime`; none before the first.
    since: Mutex<Option<DateTime<Utc>>>,
}

impl BulkSource {
    /// A Bulk Data source over `rest`.
    pub fn new(rest: RestSource, bulk: BulkConfig) -> BulkSource {
        BulkSource {
            rest,
            bulk,
            since: Mutex::new(None),
        }
    }

    /// The `transactionTime` of the last successful export.
    pub fn since(&self) -> Option<DateTime<Utc>> {
        *self.since.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Records a successful export's `transactionTime`.
    pub fn set_since(&self, t: Option<DateTime<Utc>>) {
        *self.since.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = t;
    }

    async fn fetch_bulk(&self, full: bool, report: &mut RunReport) -> Result<Fetched> {
        // `_since` is the previous export's transactionTime
        let since = if full { None } else { self.since() };
        let (resources, exported) =
            careload_ingest::bulk_fetch(&self.rest.client, &self.rest.config, &self.bulk, since).await?;
        self.set_since(exported.transaction_time);
        report.retries = exported.retries;
        report.counts.insert("requests".into(), exported.requests);
        report.counts.insert("bulk_polls".into(), exported.polls);
        report.counts.insert("bulk_files".into(), exported.files);
        report.counts.insert("bulk_bytes".into(), exported.bytes);
        report.counts.insert("bulk_errors".into(), exported.export_errors);
        Ok(Fetched {
            resources,
            read: exported.read,
            next_since: None,
        })
    }
}

impl FhirSource for BulkSource {
    fn kind(&self) -> &'static str {
        "bulk"
    }

    fn describe(&self) -> String {
        format!("{} ($export)", self.rest.config.base_url)
    }

    fn fetch<'a>(&'a self, request: FetchRequest<'a>, report: &'a mut RunReport) -> BoxFuture<'a, Result<Fetched>> {
        Box::pin(async move {
            let before = self.rest.client.retries_sent();
            let fetched = self.fetch_bulk(request.full, report).await;
            count_failed_retries(&self.rest.client, before, report, &fetched);
            fetched
        })
    }

    /// An incremental export's changes: [`careload_ingest::apply_bulk_changes`].
    fn merge(&self, held: &mut Resources, changes: Resources) {
        careload_ingest::apply_bulk_changes(held, changes);
    }
}

/// Bulk Data NDJSON files or one Bundle, read in full each run.
#[derive(Clone, Debug)]
pub struct FilesSource {
    /// The NDJSON directory or the Bundle file.
    pub path: PathBuf,
}

impl FilesSource {
    /// Files at `path`.
    pub fn new(path: PathBuf) -> FilesSource {
        FilesSource { path }
    }
}

impl FhirSource for FilesSource {
    fn kind(&self) -> &'static str {
        "files"
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn incremental(&self) -> bool {
        false
    }

    fn fetch<'a>(&'a self, _request: FetchRequest<'a>, _report: &'a mut RunReport) -> BoxFuture<'a, Result<Fetched>> {
        let path = self.path.clone();
        Box::pin(async move {
            let (resources, read) = tokio::task::spawn_blocking(move || careload_ingest::read_path(&path))
                .await
                .map_err(|e| Error::Task(e.to_string()))??;
            Ok(Fetched {
                resources,
                read,
                next_since: None,
            })
        })
    }
}

/// The Bulk Data settings of `[source]`.
pub fn bulk_config(config: &Config) -> BulkConfig {
    bulk_config_of(&config.source)
}

/// The Bulk Data settings of one source (`[source]` or `[sources.<id>]`).
pub fn bulk_config_of(s: &SourceConfig) -> BulkConfig {
    BulkConfig {
        level: match s.bulk_level {
            careload_config::BulkLevel::System => BulkLevel::System,
            careload_config::BulkLevel::Patient => BulkLevel::Patient,
            careload_config::BulkLevel::Group => BulkLevel::Group(s.bulk_group.clone()),
        },
        poll_interval: Duration::from_secs(s.bulk_poll_secs),
        ..BulkConfig::default()
    }
}

/// The REST settings of `[source]`.
pub fn rest_config(config: &Config) -> RestConfig {
    rest_config_of(&config.source)
}

/// The REST settings of one source (`[source]` or `[sources.<id>]`).
pub fn rest_config_of(s: &SourceConfig) -> RestConfig {
    RestConfig {
        base_url: s.url.clone(),
        page_size: s.page_size,
        request_timeout: Duration::from_secs(s.request_timeout_secs),
        run_deadline: Duration::from_secs(s.run_deadline_secs),
        max_retries: s.max_retries,
        concurrency: s.concurrency,
        wards: s.wards.clone(),
        token_env: s.token_env.clone(),
        smart: s.smart_client_id.as_ref().map(|client_id| SmartConfig {
            client_id: client_id.clone(),
            key_file: s.smart_key_file.clone(),
            key_env: s.smart_key_env.clone(),
            algorithm: s.smart_algorithm.clone(),
            key_id: s.smart_key_id.clone(),
            scope: s.smart_scope.clone(),
            token_url: s.smart_token_url.clone(),
        }),
        ca_file: s.ca_file.clone(),
        trusted_origins: s.trusted_origins.clone(),
        since_margin: Duration::from_secs(s.since_margin_secs),
        ..RestConfig::default()
    }
}
