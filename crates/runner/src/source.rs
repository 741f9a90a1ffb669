//! Where a run reads FHIR from: the simulated hospital served on loopback,
//! a FHIR server's REST API or its Bulk Data `$export`, or files.
//!
//! The simulated hospital is fetched exactly like a real server: it is
//! served over HTTP by [`SimServer`] at `sim.listen` and read by
//! [`careload_ingest::fetch`], so the demo exercises the production path.
//! The runner only reaches into it to move its clock.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use careload_config::{Config, SourceKind};
use careload_ingest::{BulkConfig, BulkLevel, FhirClient, RestConfig, SmartConfig};
use careload_sim::{Hospital, SharedSim, SimConfig, SimServer, server};
use chrono::{DateTime, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// A FHIR source.
#[derive(Debug)]
pub enum Source {
    /// The simulated hospital, served over HTTP on loopback.
    Sim(SimSource),
    /// A FHIR R4 server's REST API.
    Fhir(RestSource),
    /// A FHIR R4 server's Bulk Data `$export`.
    Bulk(BulkSource),
    /// Bulk Data NDJSON files or one Bundle, read in full each run.
    Files(PathBuf),
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
}

/// The Bulk Data settings of `[source]`.
pub fn bulk_config(config: &Config) -> BulkConfig {
    let s = &config.source;
    BulkConfig {
        level: match s.bulk_level.as_str() {
            "patient" => BulkLevel::Patient,
            "group" => BulkLevel::Group(s.bulk_group.clone()),
            _ => BulkLevel::System,
        },
        poll_interval: Duration::from_secs(s.bulk_poll_secs),
        ..BulkConfig::default()
    }
}

/// The simulated hospital being served, and the REST client that reads it.
#[derive(Debug)]
pub struct SimSource {
    /// The served hospital (its clock is moved by the runner).
    pub sim: SharedSim,
    /// How it is read: over HTTP, like any FHIR server.
    pub rest: RestSource,
    /// Dropping it stops the server.
    _stop: oneshot::Sender<()>,
}

impl SimSource {
    /// Builds the hospital of `[sim]` starting at `start` (truncated to the
    /// hour) and serves it on `sim.listen`.
    ///
    /// # Errors
    /// The hospital cannot be built, or the address cannot be bound.
    pub async fn start(config: &Config, start: DateTime<Utc>) -> Result<SimSource> {
        let section = &config.sim;
        let hospital = Hospital::new(SimConfig {
            beds: section.beds,
            wards: section.wards,
            ..SimConfig::new(section.seed, start)
        })?;
        let listener = TcpListener::bind(&section.listen)
            .await
            .map_err(|source| Error::Listen {
                listen: section.listen.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen {
            listen: section.listen.clone(),
            source,
        })?;
        let sim = SimServer::new(hospital);
        let (stop, stopped) = oneshot::channel::<()>();
        let served = sim.clone();
        tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = server::serve(listener, served, shutdown).await {
                tracing::error!(error = %e, "the simulated hospital's FHIR server stopped");
            }
        });
        let rest = RestSource::new(RestConfig {
            base_url: server::base_url(addr),
            token_env: None,
            ..rest_config(config)
        })?;
        tracing::info!(base = %rest.config.base_url, beds = section.beds, seed = section.seed, start = %sim.now(), "simulated hospital served");
        Ok(SimSource { sim, rest, _stop: stop })
    }

    /// Moves the hospital's clock forward to `t` (whole hours; never back).
    ///
    /// # Errors
    /// [`Error::Task`] when the simulation panicked.
    pub async fn advance_to(&self, t: DateTime<Utc>) -> Result<DateTime<Utc>> {
        let sim = self.sim.clone();
        tokio::task::spawn_blocking(move || sim.advance_to(t))
            .await
            .map_err(|e| Error::Task(e.to_string()))
    }
}

/// The REST settings of `[source]`.
pub fn rest_config(config: &Config) -> RestConfig {
    let s = &config.source;
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

impl Source {
    /// The source `[source]` names; a simulated hospital starts at `sim_start`.
    ///
    /// # Errors
    /// The FHIR client cannot be built or the simulated hospital cannot start.
    pub async fn from_config(config: &Config, sim_start: DateTime<Utc>) -> Result<Source> {
        Ok(match config.source.kind {
            SourceKind::Sim => Source::Sim(SimSource::start(config, sim_start).await?),
            SourceKind::Fhir => Source::Fhir(RestSource::new(rest_config(config))?),
            SourceKind::Bulk => Source::Bulk(BulkSource::new(
                RestSource::new(rest_config(config))?,
                bulk_config(config),
            )),
            SourceKind::Files => Source::Files(config.source.path.clone()),
        })
    }

    /// `sim`, `fhir`, `bulk` or `files`.
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Sim(_) => "sim",
            Source::Fhir(_) => "fhir",
            Source::Bulk(_) => "bulk",
            Source::Files(_) => "files",
        }
    }

    /// The FHIR server it reads over HTTP (the simulated hospital's too);
    /// `None` for files.
    pub fn rest(&self) -> Option<&RestSource> {
        match self {
            Source::Sim(s) => Some(&s.rest),
            Source::Fhir(r) => Some(r),
            Source::Bulk(b) => Some(&b.rest),
            Source::Files(_) => None,
        }
    }

    /// What a run record names as its source: the base URL or the path (never credentials).
    pub fn describe(&self) -> String {
        match self {
            Source::Sim(s) => s.rest.config.base_url.clone(),
            Source::Fhir(r) => r.config.base_url.clone(),
            Source::Bulk(b) => format!("{} ($export)", b.rest.config.base_url),
            Source::Files(p) => p.display().to_string(),
        }
    }
}
