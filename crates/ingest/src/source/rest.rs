//! The FHIR R4 REST source: searches a FHIR server over HTTP and fills the
//! same [`Resources`] store that [`crate::read`] fills from files.
//!
//! What one [`fetch`] asks for, in order:
//!
//! 1. every `Location` (the ward/team/room/bed tree), paged;
//! 2. in-progress `Encounter`s with their patients
//!    (`status=in-progress&_include=Encounter:patient`): one hospital-wide
//!    search when no ward is configured — the mapper then keeps the
//!    inpatient stays on wards — or, per configured ward, searches by every
//!    Location under it along `partOf` (`location=Location/w01,Location/w01-r01,…`,
//!    from the tree read in step 1): a standard server matches `location` on
//!    the Location named only, never on what lies below it. A configured ward
//!    under which no stay is found is logged and reported
//!    ([`FetchReport::empty_wards`]);
//! 3. for those encounters, in batches of [`RestConfig::batch_size`]
//!    comma-joined **typed** references (`Encounter/e1,Encounter/e2`),
//!    `Task`, `MedicationRequest`, `Observation`, `ServiceRequest` and
//!    `CarePlan` by `encounter=`, and `Condition` by `patient=Patient/…`. A
//!    standard server matches a bare id only where the parameter has one
//!    target type; Observation's and ServiceRequest's `encounter` have two
//!    (Encounter, EpisodeOfCare), so bare ids found nothing there. With
//!    `since`, each of these searches adds `_lastUpdated=ge<since>` (`ge`,
//!    not `gt`: a change can be stamped with exactly the instant of the
//!    previous snapshot). Locations, encounters and patients are always read
//!    in full.
//!
//! **The server's clock.** The next incremental `since` comes from the
//! server ([`FetchReport::next_since`]): the search Bundle's
//! `meta.lastUpdated`, else the HTTP `Date` header, of the fetch's earliest
//! answer, less [`RestConfig::since_margin`]. careload's own clock never
//! bounds what is asked for, so a skew between it and the EHR's loses
//! nothing.
//!
//! Searches run with at most [`RestConfig::concurrency`] requests in flight;
//! each follows `Bundle.link[relation=next]` to the end. A `next` link to
//! the base URL's origin or to one of [`RestConfig::trusted_origins`] is
//! followed with the token; one to any other origin is followed only when
//! there is no token (servers behind a proxy that declares another base),
//! and refused otherwise; a link from an https base to plain http is never
//! followed.
//!
//! **Retries.** HTTP 429, 500, 502, 503 and 504, connection errors and
//! timeouts are retried up to [`RestConfig::max_retries`] times, after
//! `Retry-After` (seconds or an HTTP date, capped at
//! [`RestConfig::retry_after_cap`]) or else an exponential backoff with full
//! jitter (a random wait between 0 and `backoff_base × 2^attempt`, at most
//! 30 s). A body cut off in transfer (the connection closed before
//! `Content-Length`) is a connection error and is retried; a complete body
//! that is not JSON is not. Every request has [`RestConfig::request_timeout`]
//! (connect to last byte), and the whole run [`RestConfig::run_deadline`].
//!
//! **Not retried, an error naming the URL:** a 4xx other than 429 (with the
//! `OperationOutcome`'s reasons: `issue.details.text`, where HAPI and Medplum
//! put them, the codings' displays and `diagnostics`), a body that is not
//! JSON, a content type other than `application/fhir+json` or
//! `application/json` (e.g. an HTML error page with 200), JSON that is not a
//! Bundle, and a `next` link the token may not follow (above).
//!
//! **Token.** A static bearer token read from the environment variable named
//! by [`RestConfig::token_env`], or a SMART Backend Services access token
//! ([`RestConfig::smart`], module [`super::auth`]; a 401 renews it once); it
//! is sent only to the base URL's origin and the trusted ones, marked
//! sensitive in the header, and redacted from `Debug`. URLs never hold it,
//! so errors and logs can name them.
//!
//! **TLS.** `https` base URLs use rustls (aws-lc-rs provider) with the
//! platform's verifier and system roots, plus the certificates of
//! [`RestConfig::ca_file`] (a hospital-internal CA) when given.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasher, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{StatusCode, Url};

use super::shown_url;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::auth::{Auth, Secret, SmartAuth, SmartConfig};
use crate::Error;
use crate::read::{ReadReport, Resources, read_search_page};

/// The `Accept` header: FHIR R4 JSON (fhir-sdk's client would ask for 4.3).
pub const ACCEPT: &str = "application/fhir+json; fhirVersion=4.0";

/// The longest backoff between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The clinical resource types searched per batch of encounters, and the
/// search parameter each is searched by.
pub const CLINICAL_SEARCHES: [(&str, &str); 6] = [
    ("Task", "encounter"),
    ("MedicationRequest", "encounter"),
    ("Observation", "encounter"),
    ("ServiceRequest", "encounter"),
    ("CarePlan", "encounter"),
    ("Condition", "patient"),
];

/// How the REST source talks to the FHIR server (a `[fhir]` section of the
/// service configuration). Durations are written `"30s"`, `"500ms"`, `"10m"`
/// or as whole seconds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RestConfig {
    /// The FHIR base URL, e.g. `http://ehr.example/fhir` (no trailing slash needed).
    pub base_url: String,
    /// `_count` for every search.
    pub page_size: u32,
    /// Encounter (or patient) ids per clinical search.
    pub batch_size: usize,
    /// One request, connect to last byte.
    #[serde(with = "duration")]
    pub request_timeout: Duration,
    /// The whole fetch.
    #[serde(with = "duration")]
    pub run_deadline: Duration,
    /// Retries after the first attempt of one request.
    pub max_retries: u32,
    /// The backoff base: the n-th retry waits a random time up to `base × 2^n`.
    #[serde(with = "duration")]
    pub backoff_base: Duration,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    #[serde(with = "duration")]
    pub retry_after_cap: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Ward Location ids to read; empty reads every in-progress encounter of the hospital.
    pub wards: Vec<String>,
    /// The environment variable holding a static bearer token, if any. The
    /// token itself is never in the configuration.
    pub token_env: Option<String>,
    /// SMART Backend Services (instead of `token_env`), if any.
    pub smart: Option<SmartConfig>,
    /// Extra CA certificates (a PEM file) trusted for https besides the
    /// system's roots, e.g. a hospital-internal CA.
    pub ca_file: Option<PathBuf>,
    /// Origins besides the base URL's (`https://fhir-proxy.example:8443`)
    /// that `next` links may lead to *with* the token: a server behind a
    /// proxy or known by another host name. Without a token, `next` links
    /// are followed to any origin; with one, a link to an origin not listed
    /// here is refused, so that the token never goes where it was not meant
    /// to.
    pub trusted_origins: Vec<String>,
    /// How far before the server's own time at the start of a fetch the next
    /// incremental fetch begins (`_lastUpdated=ge<server time − margin>`):
    /// covers writes the server stamped before the fetch but committed
    /// after it. The bound is the server's clock, never careload's.
    #[serde(with = "duration")]
    pub since_margin: Duration,
}

impl Default for RestConfig {
    fn default() -> RestConfig {
        RestConfig {
            base_url: String::new(),
            page_size: 200,
            batch_size: 50,
            request_timeout: Duration::from_secs(30),
            run_deadline: Duration::from_secs(600),
            max_retries: 4,
            backoff_base: Duration::from_millis(500),
            retry_after_cap: Duration::from_secs(120),
            concurrency: 4,
            wards: Vec::new(),
            token_env: None,
            smart: None,
            ca_file: None,
            trusted_origins: Vec::new(),
            since_margin: Duration::from_secs(300),
        }
    }
}

impl RestConfig {
    /// The defaults with this base URL.
    pub fn new(base_url: &str) -> RestConfig {
        RestConfig {
            base_url: base_url.to_owned(),
            ..RestConfig::default()
        }
    }
}

/// Durations as `"500ms"`, `"30s"`, `"10m"`, `"1h"` or whole seconds.
mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", d.as_millis()))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Secs(u64),
        Text(String),
    }

    pub(super) fn parse(text: &str) -> Option<Duration> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (n, unit) = t.split_at(split);
        let n: u64 = n.parse().ok()?;
        match unit.trim() {
            "ms" => Some(Duration::from_millis(n)),
            "s" | "" => Some(Duration::from_secs(n)),
            "m" | "min" => Some(Duration::from_secs(n.checked_mul(60)?)),
            "h" => Some(Duration::from_secs(n.checked_mul(3600)?)),
            _ => None,
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Secs(n) => Ok(Duration::from_secs(n)),
            Raw::Text(t) => parse(&t).ok_or_else(|| {
                D::Error::custom(format!(
                    "{t:?} is not a duration; write e.g. \"500ms\", \"30s\", \"10m\""
                ))
            }),
        }
    }
}

/// An HTTP client for one FHIR server: its base URL, headers and token.
#[derive(Clone, Debug)]
pub struct FhirClient {
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) auth: Auth,
    /// Origins besides the base's that may receive the token ([`RestConfig::trusted_origins`]).
    pub(crate) trusted: Vec<url::Origin>,
    /// Retries sent by this client and its clones, ever: a failed fetch
    /// returns an error, not a report, and its retries still count.
    pub(crate) retried: Arc<AtomicU64>,
}

impl FhirClient {
    /// A client for `config.base_url`, with the token from `config.token_env`.
    ///
    /// # Errors
    /// [`Error::RestConfig`] when the base URL is not an `http://` or
    /// `https://` URL, the token variable is unset or empty, or the HTTP
    /// client cannot be built; [`Error::Tls`] when `ca_file` cannot be read
    /// or holds no certificate; [`Error::Auth`] when SMART is configured
    /// wrongly (see [`SmartConfig`]).
    pub fn new(config: &RestConfig) -> Result<FhirClient, Error> {
        let trimmed = config.base_url.trim_end_matches('/');
        let base =
            Url::parse(trimmed).map_err(|e| Error::RestConfig(format!("base URL {trimmed:?} is not a URL: {e}")))?;
        match base.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Error::RestConfig(format!(
                    "base URL {trimmed}: scheme {other:?} is not http or https"
                )));
            }
        }
        let auth = match (&config.token_env, &config.smart) {
            (Some(_), Some(_)) => {
                return Err(Error::RestConfig(
                    "both a static bearer token (token_env) and SMART backend services are configured; use one"
                        .to_owned(),
                ));
            }
            (None, None) => Auth::None,
            (None, Some(smart)) => Auth::Smart(Arc::new(SmartAuth::new(smart)?)),
            (Some(var), None) => match std::env::var(var) {
                Ok(t) if !t.trim().is_empty() => Auth::Static(Secret(t.trim().to_owned())),
                _ => {
                    return Err(Error::RestConfig(format!(
                        "the token variable {var} is not set or empty; set it to the bearer token"
                    )));
                }
            },
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT));
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &config.ca_file {
            builder = builder.tls_certs_merge(extra_roots(path)?);
        }
        let http = builder
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(|e| Error::RestConfig(format!("cannot build the HTTP client: {e}")))?;
        let mut trusted = Vec::new();
        for origin in &config.trusted_origins {
            let url = Url::parse(origin.trim()).map_err(|e| {
                Error::RestConfig(format!(
                    "trusted origin {origin:?} is not a URL: {e}; write it as scheme://host[:port]"
                ))
            })?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::RestConfig(format!(
                    "trusted origin {origin}: scheme {:?} is not http or https",
                    url.scheme()
                )));
            }
            trusted.push(url.origin());
        }
        Ok(FhirClient {
            http,
            base,
            auth,
            trusted,
            retried: Arc::default(),
        })
    }

    /// Retries this client (and its clones) has sent since it was built,
    /// whether or not the fetch they belonged to succeeded: the difference
    /// across a fetch is that fetch's retries.
    pub fn retries_sent(&self) -> u64 {
        self.retried.load(Ordering::Relaxed)
    }

    /// Whether the token may go to `url`: the base URL's origin, or one of
    /// [`RestConfig::trusted_origins`].
    pub(crate) fn may_send_token(&self, url: &Url) -> bool {
        let origin = url.origin();
        origin == self.base.origin() || self.trusted.contains(&origin)
    }

    /// Whether `next`, a page's link, may be followed: to the base's or a
    /// trusted origin always; to any other only when there is no token to
    /// send (nothing to leak), and only over http(s).
    fn may_follow(&self, next: &Url) -> bool {
        // never from https down to plain http: the pages hold patient data
        let downgrade = self.base.scheme() == "https" && next.scheme() != "https";
        matches!(next.scheme(), "http" | "https")
            && !downgrade
            && (self.may_send_token(next) || matches!(self.auth, Auth::None))
    }

    /// The base URL.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// The URL of a search: `base/Type?params`.
    pub(crate) fn search_url(&self, resource_type: &str, params: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        let path = format!("{}/{resource_type}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        {
            let mut q = url.query_pairs_mut();
            for (k, v) in params {
                q.append_pair(k, v);
            }
        }
        url
    }
}

/// The certificates of a PEM file, for [`RestConfig::ca_file`].
fn extra_roots(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, Error> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::Tls(format!(
            "cannot read the CA file {}: {e}; check source.ca_file",
            path.display()
        ))
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        Error::Tls(format!(
            "the CA file {} is not PEM certificates: {e}; give the CA certificate(s) as PEM",
            path.display()
        ))
    })?;
    if certs.is_empty() {
        return Err(Error::Tls(format!(
            "the CA file {} holds no certificate; give the CA certificate(s) as PEM (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(certs)
}

/// What a fetch did.
#[derive(Clone, Debug, Default)]
pub struct FetchReport {
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Bundle pages read.
    pub pages: u64,
    /// Retries (requests sent again after a retryable failure).
    pub retries: u64,
    /// Searches run (each followed to its last page).
    pub searches: u64,
    /// What was read: resources per type, ignored, skipped with reasons, latest `meta.lastUpdated`.
    pub read: ReadReport,
    /// Wall time of the whole fetch.
    pub elapsed: Duration,
    /// Of `elapsed`, the time spent turning received JSON into typed
    /// resources (while other requests were in flight).
    pub parse: Duration,
    /// The server's own time when it answered the fetch's earliest page: the
    /// earliest search Bundle `meta.lastUpdated`, else the earliest HTTP
    /// `Date` header. What [`FetchReport::next_since`] starts from.
    pub server_time: Option<DateTime<Utc>>,
    /// Configured wards (`wards`) under which no in-progress stay was found.
    pub empty_wards: Vec<String>,
}

impl FetchReport {
    /// The `since` of the next incremental fetch: the server's time at the
    /// start of this one less `margin` (its clock, so that a skew between
    /// careload's clock and the EHR's loses nothing, and the margin covers
    /// writes stamped before the fetch but committed after it). Without a
    /// server time (no `Date` header, no Bundle `meta.lastUpdated`), the
    /// latest `meta.lastUpdated` read less the margin, or `previous` when
    /// nothing was read. Never earlier than `previous`.
    pub fn next_since(&self, previous: Option<DateTime<Utc>>, margin: Duration) -> Option<DateTime<Utc>> {
        // a margin beyond chrono's range is no margin but the start of time
        let back = |t: DateTime<Utc>| {
            chrono::Duration::from_std(margin)
                .ok()
                .and_then(|m| t.checked_sub_signed(m))
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        let bound = match (self.server_time, self.read.last_updated) {
            (Some(server), _) => Some(back(server)),
            (None, Some(latest)) => Some(back(latest)),
            (None, None) => None,
        };
        match (bound, previous) {
            (Some(b), Some(p)) => Some(b.max(p)),
            (b, p) => b.or(p),
        }
    }
}

/// Counters shared by the concurrent searches.
#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    pages: AtomicU64,
    retries: AtomicU64,
    /// Microseconds spent parsing pages into typed resources.
    parse_micros: AtomicU64,
    /// The earliest server time of any page (see [`FetchReport::server_time`]).
    server_time: Mutex<Option<DateTime<Utc>>>,
}

impl Counters {
    fn saw_server_time(&self, t: DateTime<Utc>) {
        let mut held = self
            .server_time
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.is_none_or(|h| t < h) {
            *held = Some(t);
        }
    }

    fn earliest_server_time(&self) -> Option<DateTime<Utc>> {
        *self
            .server_time
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// What every search needs, shared by the tasks.
struct Ctx {
    client: FhirClient,
    config: RestConfig,
    deadline: Instant,
    counters: Counters,
}

impl Ctx {
    fn new(client: &FhirClient, config: &RestConfig, deadline: Instant) -> Arc<Ctx> {
        Arc::new(Ctx {
            client: client.clone(),
            config: config.clone(),
            deadline,
            counters: Counters::default(),
        })
    }

    /// What the searches run under this context did, since `started`.
    fn report(&self, started: Instant, searches: u64, read: ReadReport, empty_wards: Vec<String>) -> FetchReport {
        FetchReport {
            requests: self.counters.requests.load(Ordering::Relaxed),
            pages: self.counters.pages.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            searches,
            read,
            elapsed: started.elapsed(),
            parse: Duration::from_micros(self.counters.parse_micros.load(Ordering::Relaxed)),
            server_time: self.counters.earliest_server_time(),
            empty_wards,
        }
    }
}

/// Fetches the in-progress stays and what careload needs of them from a FHIR
/// R4 server (see the module documentation for what is asked and how).
/// `since` makes the clinical searches incremental.
///
/// # Errors
/// Whatever stops the run: a request that fails after its retries, a
/// response that is not FHIR JSON, a foreign `next` link, the run deadline.
/// A resource that cannot be used is not an error but a skip in the report.
pub async fn fetch(
    client: &FhirClient,
    config: &RestConfig,
    since: Option<DateTime<Utc>>,
) -> Result<(Resources, FetchReport), Error> {
    fetch_inner(client, config, since, None).await
}

/// Fetches what changed since an earlier fetch whose result is `held`: like
/// [`fetch`] with `since`, except that the clinical resources of encounters
/// and patients **not** in `held` (new stays) are read in full, whenever they
/// were last updated — a prior diagnosis recorded years ago belongs to a
/// patient admitted an hour ago. Apply the result to `held` with
/// [`apply_changes`].
///
/// # Errors
/// As [`fetch`].
pub async fn fetch_changes(
    client: &FhirClient,
    config: &RestConfig,
    since: DateTime<Utc>,
    held: &Resources,
) -> Result<(Resources, FetchReport), Error> {
    fetch_inner(client, config, Some(since), Some(held)).await
}

/// Applies the result of [`fetch_changes`] to the held state: Locations,
/// Encounters and Patients are read in full each time and replace the held
/// ones; the clinical resources are merged (the later `meta.lastUpdated`
/// winning); the records of stays no longer held are dropped. Returns how
/// many resources were dropped.
pub fn apply_changes(held: &mut Resources, mut fresh: Resources) -> usize {
    held.locations = std::mem::take(&mut fresh.locations);
    held.encounters = std::mem::take(&mut fresh.encounters);
    held.patients = std::mem::take(&mut fresh.patients);
    held.merge(fresh);
    held.retain_stays()
}

async fn fetch_inner(
    client: &FhirClient,
    config: &RestConfig,
    since: Option<DateTime<Utc>>,
    held: Option<&Resources>,
) -> Result<(Resources, FetchReport), Error> {
    let started = Instant::now();
    let ctx = Ctx::new(client, config, started + config.run_deadline);
    let mut resources = Resources::new();
    let mut read = ReadReport::default();
    let mut searches = 0u64;
    let count = ("_count", config.page_size.max(1).to_string());
    let batch = config.batch_size.max(1);

    // 1 and 2: the Location tree, and the in-progress encounters with their patients
    let encounter_search = |locations: Option<&[String]>| {
        let mut p = vec![
            ("status", "in-progress".to_owned()),
            ("_include", "Encounter:patient".to_owned()),
            count.clone(),
        ];
        if let Some(ids) = locations {
            p.push(("location", typed_ids("Location", ids)));
        }
        client.search_url("Encounter", &p)
    };
    let mut first: Vec<Url> = vec![client.search_url("Location", std::slice::from_ref(&count))];
    if config.wards.is_empty() {
        first.push(encounter_search(None));
    }
    searches += first.len() as u64;
    run_searches(&ctx, first, &mut resources, &mut read).await?;
    let mut empty_wards = Vec::new();
    if !config.wards.is_empty() {
        // a standard server matches `location=` on the location named only,
        // not on what lies below it: search by every location of the ward
        let mut urls = Vec::new();
        let mut below: Vec<(String, BTreeSet<String>)> = Vec::new();
        let children = location_children(&resources);
        for ward in &config.wards {
            let ids = locations_under(&children, ward);
            if !resources.locations.contains_key(ward) {
                tracing::warn!(ward = %ward, "the configured ward is not a Location on the FHIR server: check source.wards");
            }
            let list: Vec<String> = ids.iter().cloned().collect();
            for chunk in list.chunks(batch) {
                urls.push(encounter_search(Some(chunk)));
            }
            below.push((ward.clone(), ids));
        }
        searches += urls.len() as u64;
        run_searches(&ctx, urls, &mut resources, &mut read).await?;
        // `location=` also matches a stay's earlier locations: keep the stays
        // that lie under a configured ward now, and their patients
        let under: BTreeSet<&str> = below
            .iter()
            .flat_map(|(_, ids)| ids.iter().map(String::as_str))
            .collect();
        resources
            .encounters
            .retain(|_, e| current_location(e).is_some_and(|l| under.contains(l)));
        for (ward, ids) in below {
            let found = resources
                .encounters
                .values()
                .any(|e| current_location(e).is_some_and(|l| ids.contains(l)));
            if !found {
                tracing::warn!(ward = %ward, "no in-progress stay found on the configured ward");
                empty_wards.push(ward);
            }
        }
    }

    // 3: the clinical resources of those encounters, in batches
    let encounter_ids: Vec<String> = resources.encounters.keys().cloned().collect();
    let mut patient_ids: Vec<String> = resources
        .encounters
        .values()
        .filter_map(|e| e.subject.as_ref()?.reference.as_deref())
        .filter_map(|r| r.rsplit_once("Patient/").map(|(_, id)| id.to_owned()))
        .collect();
    patient_ids.sort();
    patient_ids.dedup();
    if !config.wards.is_empty() {
        // the patients of the stays dropped above go with them
        resources.patients.retain(|id, _| patient_ids.binary_search(id).is_ok());
    }
    let since_param = since.map(|t| ("_lastUpdated", format!("ge{}", t.format("%Y-%m-%dT%H:%M:%SZ"))));
    let mut clinical = Vec::new();
    // with `held`, only the ids it already has are searched incrementally
    let split = |ids: &[String], known: &dyn Fn(&str) -> bool| -> [(Vec<String>, bool); 2] {
        match held {
            None => [(ids.to_vec(), since_param.is_some()), (Vec::new(), false)],
            Some(_) => {
                let (old, new): (Vec<String>, Vec<String>) = ids.iter().cloned().partition(|id| known(id));
                [(old, true), (new, false)]
            }
        }
    };
    let encounter_groups = split(&encounter_ids, &|id| {
        held.is_some_and(|h| h.encounters.contains_key(id))
    });
    let patient_groups = split(&patient_ids, &|id| held.is_some_and(|h| h.patients.contains_key(id)));
    for (ty, param) in CLINICAL_SEARCHES {
        let (groups, target) = if param == "patient" {
            (&patient_groups, "Patient")
        } else {
            (&encounter_groups, "Encounter")
        };
        for (ids, incremental) in groups {
            for chunk in ids.chunks(batch) {
                // typed (`Encounter/e1`): a bare id matches nothing on a
                // parameter with several target types (Observation's and
                // ServiceRequest's `encounter`) on a standard server
                let mut params = vec![(param, typed_ids(target, chunk)), count.clone()];
                if *incremental {
                    params.extend(since_param.clone());
                }
                clinical.push(client.search_url(ty, &params));
            }
        }
    }
    searches += clinical.len() as u64;
    run_searches(&ctx, clinical, &mut resources, &mut read).await?;

    let report = ctx.report(started, searches, read, empty_wards);
    tracing::info!(
        base = %client.base,
        requests = report.requests,
        pages = report.pages,
        retries = report.retries,
        resources = report.read.total_read(),
        elapsed_ms = report.elapsed.as_millis() as u64,
        "FHIR REST fetch done"
    );
    Ok((resources, report))
}

/// The Location a stay is in now, as far as the fetch can tell: the last of
/// its locations that is active, reserved or without a status (the mapping
/// also checks the entry's period against the snapshot time).
fn current_location(e: &fhir_sdk::r4b::resources::Encounter) -> Option<&str> {
    crate::mapping::present_locations(e)
        .filter_map(|l| crate::mapping::reference_id(Some(&l.location), "Location"))
        .next_back()
}

/// `Type/id1,Type/id2,…`: the value of a reference search parameter for
/// several ids, each typed.
fn typed_ids(ty: &str, ids: &[String]) -> String {
    let mut out = String::new();
    for id in ids {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(ty);
        out.push('/');
        out.push_str(id);
    }
    out
}

/// Each Location's children along `partOf`, from the Locations read.
fn location_children(resources: &Resources) -> HashMap<&str, Vec<&str>> {
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, loc) in &resources.locations {
        if let Some(parent) = crate::mapping::reference_id(loc.part_of.as_ref(), "Location") {
            children.entry(parent).or_default().push(id);
        }
    }
    children
}

/// `ward` and every Location below it along `partOf` (teams, rooms, beds).
fn locations_under(children: &HashMap<&str, Vec<&str>>, ward: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = BTreeSet::new();
    let mut frontier = vec![ward];
    out.insert(ward.to_owned());
    while let Some(id) = frontier.pop() {
        for child in children.get(id).into_iter().flatten() {
            if out.insert((*child).to_owned()) {
                frontier.push(child);
            }
        }
    }
    out
}

/// Runs one search given relative to the base URL (`Observation?code=…`),
/// following its `next` links to the end, into a new store: for a search
/// careload does not make on its own (a region's integration team checking
/// what the server returns, a test provoking a server error). Errors as
/// [`fetch`]'s, with the server's reason.
///
/// # Errors
/// As [`fetch`]; [`Error::RestConfig`] when `relative` does not make a URL.
pub async fn search(
    client: &FhirClient,
    config: &RestConfig,
    relative: &str,
) -> Result<(Resources, FetchReport), Error> {
    let started = Instant::now();
    let base = format!("{}/", client.base.as_str().trim_end_matches('/'));
    let url = Url::parse(&base)
        .and_then(|b| b.join(relative.trim_start_matches('/')))
        .map_err(|e| Error::RestConfig(format!("search {relative:?} does not make a URL: {e}")))?;
    let ctx = Ctx::new(client, config, started + config.run_deadline);
    let mut resources = Resources::new();
    let mut read = ReadReport::default();
    run_searches(&ctx, vec![url], &mut resources, &mut read).await?;
    let report = ctx.report(started, 1, read, Vec::new());
    Ok((resources, report))
}

/// Runs searches (each followed to its last page) into `resources`, under
/// `deadline`, for another source (Bulk Data reads Locations this way).
/// Returns the requests sent and the retries among them.
pub(crate) async fn search_into(
    client: &FhirClient,
    config: &RestConfig,
    deadline: Instant,
    urls: Vec<Url>,
    resources: &mut Resources,
    read: &mut ReadReport,
) -> Result<(u64, u64), Error> {
    let ctx = Ctx::new(client, config, deadline);
    run_searches(&ctx, urls, resources, read).await?;
    Ok((
        ctx.counters.requests.load(Ordering::Relaxed),
        ctx.counters.retries.load(Ordering::Relaxed),
    ))
}

/// Runs searches with bounded concurrency, inserting each page as it arrives.
async fn run_searches(
    ctx: &Arc<Ctx>,
    urls: Vec<Url>,
    resources: &mut Resources,
    read: &mut ReadReport,
) -> Result<(), Error> {
    let mut pending = urls.into_iter();
    let mut set: JoinSet<Result<Vec<(String, Bytes)>, Error>> = JoinSet::new();
    let limit = ctx.config.concurrency.max(1);
    loop {
        while set.len() < limit {
            let Some(url) = pending.next() else { break };
            let ctx = Arc::clone(ctx);
            set.spawn(async move { search_all_pages(&ctx, url).await });
        }
        let Some(joined) = set.join_next().await else {
            return Ok(());
        };
        let pages = match joined {
            Ok(result) => result?,
            Err(e) => {
                return Err(Error::RestConfig(format!("a search task failed: {e}")));
            }
        };
        let parse_started = Instant::now();
        for (url, body) in pages {
            // `get_body` checked the text; a page that is not a Bundle was refused by paging
            let text = std::str::from_utf8(&body).unwrap_or_default();
            if let Err(reason) = read_search_page(text, &url, resources, read) {
                return Err(Error::NotFhirResponse { url, reason });
            }
        }
        let micros = u64::try_from(parse_started.elapsed().as_micros()).unwrap_or(u64::MAX);
        ctx.counters.parse_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// The part of a search page the paging needs: its type and links (the
/// entries are skipped unread here; [`read_search_page`] reads them).
#[derive(Deserialize)]
struct PageLinks {
    #[serde(rename = "resourceType", default)]
    resource_type: Option<String>,
    #[serde(default)]
    link: Vec<PageLink>,
    #[serde(default)]
    meta: Option<PageMeta>,
}

#[derive(Deserialize)]
struct PageMeta {
    #[serde(rename = "lastUpdated", default)]
    last_updated: Option<String>,
}

#[derive(Deserialize)]
struct PageLink {
    #[serde(default)]
    relation: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// Follows one search to its last page; returns every page (its body) with its URL.
async fn search_all_pages(ctx: &Ctx, first: Url) -> Result<Vec<(String, Bytes)>, Error> {
    let mut pages = Vec::new();
    let mut url = first;
    loop {
        let (body, date) = get_body(ctx, &url).await?;
        let not_bundle = |reason: String| Error::NotFhirResponse {
            url: shown_url(&url),
            reason,
        };
        let links: PageLinks =
            serde_json::from_slice(&body).map_err(|e| not_bundle(format!("the JSON is not a Bundle: {e}")))?;
        if links.resource_type.as_deref() != Some("Bundle") {
            return Err(not_bundle("the JSON is not a Bundle".to_owned()));
        }
        ctx.counters.pages.fetch_add(1, Ordering::Relaxed);
        // the server's clock: the Bundle's own stamp, else the response's Date
        let stamped = links
            .meta
            .and_then(|m| m.last_updated)
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc));
        if let Some(t) = stamped.or(date) {
            ctx.counters.saw_server_time(t);
        }
        let next = links
            .link
            .into_iter()
            .find(|l| l.relation.as_deref() == Some("next"))
            .and_then(|l| l.url);
        pages.push((shown_url(&url), body));
        let Some(next) = next else { return Ok(pages) };
        let parsed = match url.join(&next) {
            Ok(u) if ctx.client.may_follow(&u) => u,
            _ => {
                return Err(Error::ForeignLink {
                    url: shown_url(&url),
                    next,
                });
            }
        };
        if parsed.origin() != ctx.client.base.origin() {
            // the origin only: a page's query may name patients
            tracing::info!(origin = %parsed.origin().ascii_serialization(), "following a next link to another origin");
        }
        url = parsed;
    }
}

/// One attempt failed in a way that may be retried: after `Retry-After`
/// when the server gave one, else after the backoff.
struct Retry {
    after: Option<Duration>,
    failure: Failure,
}

/// The failure to report when the retries run out.
enum Failure {
    /// HTTP 401 with SMART auth: retried once with a new token.
    Unauthorized(Option<String>, Option<HeaderValue>),
    Timeout,
    Connection(String),
    Status(u16, Option<String>),
}

/// GETs one URL as FHIR JSON, with retries, timeouts and the run deadline:
/// the body, checked to be well-formed JSON in UTF-8, and the response's
/// `Date` (the server's clock), when it sent one.
async fn get_body(ctx: &Ctx, url: &Url) -> Result<(Bytes, Option<DateTime<Utc>>), Error> {
    let cfg = &ctx.config;
    let mut attempt: u32 = 0;
    let mut refreshed = false;
    loop {
        let now = Instant::now();
        let deadline_error = || Error::Deadline {
            url: shown_url(url),
            deadline_ms: cfg.run_deadline.as_millis() as u64,
        };
        if now >= ctx.deadline {
            return Err(deadline_error());
        }
        let timeout = cfg.request_timeout.min(ctx.deadline - now);
        ctx.counters.requests.fetch_add(1, Ordering::Relaxed);
        let outcome = attempt_once(ctx, url, timeout).await;
        let Retry {
            after: retry_after,
            failure,
        } = match outcome {
            Ok(Ok(body)) => return Ok(body),
            Ok(Err(retry)) => retry,
            Err(fatal) => return Err(fatal),
        };
        if let Failure::Unauthorized(diagnostics, sent) = failure {
            if refreshed || !ctx.client.auth.invalidate(sent.as_ref()).await {
                return Err(Error::Status {
                    url: shown_url(url),
                    status: 401,
                    diagnostics,
                });
            }
            tracing::warn!(url = %shown_url(url), "FHIR request answered 401: retried once with a new access token");
            refreshed = true;
            continue;
        }
        if matches!(failure, Failure::Timeout) && Instant::now() >= ctx.deadline {
            return Err(deadline_error());
        }
        if attempt >= cfg.max_retries {
            let attempts = attempt + 1;
            return Err(match failure {
                Failure::Timeout => Error::Timeout {
                    url: shown_url(url),
                    attempts,
                    timeout_ms: cfg.request_timeout.as_millis() as u64,
                },
                Failure::Connection(reason) => Error::Connection {
                    url: shown_url(url),
                    attempts,
                    reason,
                },
                Failure::Unauthorized(diagnostics, _) => Error::Status {
                    url: shown_url(url),
                    status: 401,
                    diagnostics,
                },
                Failure::Status(status, diagnostics) => Error::Status {
                    url: shown_url(url),
                    status,
                    diagnostics,
                },
            });
        }
        let wait = match retry_after {
            Some(d) => d.min(cfg.retry_after_cap),
            None => backoff(cfg.backoff_base, attempt),
        };
        if Instant::now() + wait >= ctx.deadline {
            return Err(deadline_error());
        }
        tracing::warn!(url = %shown_url(url), attempt = attempt + 1, wait_ms = wait.as_millis() as u64, "FHIR request retried");
        ctx.counters.retries.fetch_add(1, Ordering::Relaxed);
        ctx.client.retried.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(wait).await;
        attempt += 1;
    }
}

/// One attempt: `Ok(Ok((body, date)))` (well-formed JSON in UTF-8, the
/// `Date` header), `Ok(Err(retry))`, or `Err(fatal)`.
async fn attempt_once(
    ctx: &Ctx,
    url: &Url,
    timeout: Duration,
) -> Result<Result<(Bytes, Option<DateTime<Utc>>), Retry>, Error> {
    let mut req = ctx.client.http.get(url.clone()).timeout(timeout);
    // the token goes to the base's origin and the trusted ones only
    let sent = if ctx.client.may_send_token(url) {
        ctx.client.auth.header(&ctx.client.http, &ctx.client.base).await?
    } else {
        None
    };
    if let Some(value) = &sent {
        req = req.header(header::AUTHORIZATION, value.clone());
    }
    let transport = |e: reqwest::Error| {
        if e.is_timeout() {
            Retry {
                after: None,
                failure: Failure::Timeout,
            }
        } else {
            Retry {
                after: None,
                failure: Failure::Connection(error_chain(&e.without_url())),
            }
        }
    };
    let response = match req.send().await {
        Ok(r) => r,
        Err(e) => return Ok(Err(transport(e))),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let date = response
        .headers()
        .get(header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.with_timezone(&Utc));
    let body = match response.bytes().await {
        Ok(b) => b,
        Err(e) => return Ok(Err(transport(e))),
    };
    if matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    ) {
        let diagnostics = diagnostics(&body);
        return Ok(Err(Retry {
            after: retry_after,
            failure: Failure::Status(status.as_u16(), diagnostics),
        }));
    }
    if status == StatusCode::UNAUTHORIZED && matches!(ctx.client.auth, Auth::Smart(_)) {
        return Ok(Err(Retry {
            after: None,
            failure: Failure::Unauthorized(diagnostics(&body), sent),
        }));
    }
    if !status.is_success() {
        return Err(Error::Status {
            url: shown_url(url),
            status: status.as_u16(),
            diagnostics: diagnostics(&body),
        });
    }
    let not_fhir = |reason: String| Error::NotFhirResponse {
        url: shown_url(url),
        reason,
    };
    let mime = content_type
        .as_deref()
        .map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match mime.as_deref() {
        Some("application/fhir+json" | "application/json") => {}
        Some(other) => {
            return Err(not_fhir(format!(
                "HTTP {} with content type {other}, not application/fhir+json",
                status.as_u16()
            )));
        }
        None => return Err(not_fhir("no content type".to_owned())),
    }
    // whole and well-formed, or refused here; the reader parses it after
    let text = std::str::from_utf8(&body)
        .map_err(|e| not_fhir(format!("the body ({} bytes) is not UTF-8: {e}", body.len())))?;
    serde_json::from_str::<serde::de::IgnoredAny>(text)
        .map_err(|e| not_fhir(format!("the body ({} bytes) is not valid JSON: {e}", body.len())))?;
    Ok(Ok((body, date)))
}

/// The error and its causes, one line.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The reasons an `OperationOutcome` body gives, joined: per issue its
/// `details.text` (where HAPI and Medplum put the reason), the displays of
/// its `details.coding` and its `diagnostics`, each once.
pub(crate) fn diagnostics(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if value.get("resourceType").and_then(Value::as_str) != Some("OperationOutcome") {
        return None;
    }
    let mut texts: Vec<&str> = Vec::new();
    for issue in value.get("issue")?.as_array()? {
        let details = issue.get("details");
        let text = details.and_then(|d| d.get("text")).and_then(Value::as_str);
        let displays = details
            .and_then(|d| d.get("coding"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("display").and_then(Value::as_str));
        let diagnostics = issue.get("diagnostics").and_then(Value::as_str);
        for t in text.into_iter().chain(displays).chain(diagnostics) {
            let t = t.trim();
            if !t.is_empty() && !texts.contains(&t) {
                texts.push(t);
            }
        }
    }
    (!texts.is_empty()).then(|| texts.join("; "))
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub(crate) fn parse_retry_after(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(text).ok()?.with_timezone(&Utc);
    Some((at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

/// Exponential backoff with full jitter: uniform in `[0, base × 2^attempt]`, at most [`MAX_BACKOFF`].
pub(crate) fn backoff(base: Duration, attempt: u32) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(16)).min(MAX_BACKOFF);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(random_u64() % (nanos + 1))
}

/// A random number from the standard library's per-process random hash keys.
pub(crate) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_stays_within_its_ceiling() {
        for attempt in 0..20 {
            let d = backoff(Duration::from_millis(500), attempt);
            assert!(d <= MAX_BACKOFF);
            assert!(d <= Duration::from_millis(500).saturating_mul(1 << attempt.min(16)));
        }
    }

    #[test]
    fn config_reads_durations_and_defaults() {
        let c: RestConfig = serde_json::from_value(serde_json::json!({
            "base_url": "http://ehr.example/fhir",
            "request_timeout": "5s",
            "backoff_base": "250ms",
            "run_deadline": 60,
            "wards": ["w01"],
            "token_env": "EHR_TOKEN"
        }))
        .unwrap();
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(c.backoff_base, Duration::from_millis(250));
        assert_eq!(c.run_deadline, Duration::from_secs(60));
        assert_eq!(c.page_size, 200);
        assert_eq!(c.concurrency, 4);
        assert!(serde_json::from_value::<RestConfig>(serde_json::json!({"request_timeout": "soon"})).is_err());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let c = RestConfig::new("http://127.0.0.1:1/fhir");
        let client = FhirClient::new(&c).unwrap();
        let client = FhirClient {
            auth: Auth::Static(Secret("s3cret-token".to_owned())),
            ..client
        };
        let text = format!("{client:?}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("redacted"), "{text}");
    }

    #[test]
    fn https_is_accepted_and_bad_ca_files_unset_tokens_and_other_schemes_are_refused_clearly() {
        FhirClient::new(&RestConfig::new("https://ehr.example/fhir")).unwrap();
        let e = FhirClient::new(&RestConfig::new("ftp://ehr.example/fhir")).unwrap_err();
        assert!(e.to_string().contains("not http or https"), "{e}");
        let missing = RestConfig {
            ca_file: Some("/surely/not/here/ca.pem".into()),
            ..RestConfig::new("https://ehr.example/fhir")
        };
        let e = FhirClient::new(&missing).unwrap_err();
        assert!(
            matches!(e, Error::Tls(_)) && e.to_string().contains("/surely/not/here/ca.pem"),
            "{e}"
        );
        // a PEM file that holds a key, not a certificate
        let key = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/test-only-es384-public.pem");
        let not_a_cert = RestConfig {
            ca_file: Some(key),
            ..RestConfig::new("https://ehr.example/fhir")
        };
        let e = FhirClient::new(&not_a_cert).unwrap_err();
        assert!(
            matches!(e, Error::Tls(_)) && e.to_string().contains("no certificate"),
            "{e}"
        );
        let c = RestConfig {
            token_env: Some("CARELOAD_TEST_SURELY_UNSET_VAR".to_owned()),
            ..RestConfig::new("http://127.0.0.1:1/fhir")
        };
        let e = FhirClient::new(&c).unwrap_err();
        assert!(e.to_string().contains("CARELOAD_TEST_SURELY_UNSET_VAR"), "{e}");
    }
}
