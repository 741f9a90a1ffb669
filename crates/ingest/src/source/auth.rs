//! Authorisation towards the FHIR server: none, a static bearer token from the
//! environment, or SMART Backend Services.
//!
//! **SMART Backend Services** (SMART App Launch 2.x, "backend services"):
//!
//! 1. the token endpoint is discovered once from
//!    `[base]/.well-known/smart-configuration` (`token_endpoint`), unless
//!    [`SmartConfig::token_url`] names it;
//! 2. a `client_credentials` grant is posted (form-encoded) with
//!    `client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`
//!    and a `client_assertion`: a JWT signed **RS384** or **ES384** with the
//!    client's private key, `iss = sub = client_id`, `aud` = the token
//!    endpoint, `exp` 5 minutes ahead, a unique `jti`, and the key id in the
//!    `kid` header;
//! 3. the access token is cached until [`REFRESH_MARGIN`] before its
//!    `expires_in`; a FHIR request answered 401 drops it and is retried once
//!    with a new one.
//!
//! The private key is read (PEM, PKCS#8 or PKCS#1 for RSA, PKCS#8 or SEC1 for
//! EC) from a file path or an environment variable, never from the
//! configuration itself; keys and tokens are redacted from every `Debug` and
//! never logged. Signing uses `jsonwebtoken` with the pure-Rust RustCrypto
//! backend.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Url;
use reqwest::header::{self, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::Error;

/// The `client_assertion_type` of a private_key_jwt assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A cached token is renewed this long before it expires.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// How long a client assertion is valid (the most SMART allows).
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(300);

/// A secret (bearer token, access token): never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl Secret {
    /// `Authorization: Bearer …`, marked sensitive.
    pub(crate) fn header(&self) -> Result<HeaderValue, Error> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0))
            .map_err(|_| Error::RestConfig("the bearer token holds characters not allowed in a header".to_owned()))?;
        value.set_sensitive(true);
        Ok(value)
    }
}

/// SMART Backend Services settings. No secret is in here: the private key
/// is read from [`SmartConfig::key_file`] or the variable named by
/// [`SmartConfig::key_env`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmartConfig {
    /// The client id registered with the EHR's authorisation server.
    pub client_id: String,
    /// A PEM file holding the private key.
    pub key_file: Option<PathBuf>,
    /// An environment variable holding the private key as PEM.
    pub key_env: Option<String>,
    /// `RS384` or `ES384`.
    pub algorithm: String,
    /// The key id (`kid` header) registered with the JWK set.
    pub key_id: String,
    /// The scopes asked for, e.g. `system/*.rs` (SMART v2) or `system/*.read` (v1).
    pub scope: String,
    /// The token endpoint; none = discovered from `.well-known/smart-configuration`.
    pub token_url: Option<String>,
}

impl Default for SmartConfig {
    fn default() -> SmartConfig {
        SmartConfig {
            client_id: String::new(),
            key_file: None,
            key_env: None,
            algorithm: "RS384".to_owned(),
            key_id: String::new(),
            scope: "system/*.rs".to_owned(),
            token_url: None,
        }
    }
}

/// How requests are authorised.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    /// No `Authorization` header.
    None,
    /// A static bearer token from the environment.
    Static(Secret),
    /// SMART Backend Services.
    Smart(std::sync::Arc<SmartAuth>),
}

impl Auth {
    /// The header to send, if any (SMART: a cached or new access token).
    pub(crate) async fn header(&self, http: &reqwest::Client, base: &Url) -> Result<Option<HeaderValue>, Error> {
        match self {
            Auth::None => Ok(None),
            Auth::Static(s) => s.header().map(Some),
            Auth::Smart(smart) => smart.token(http, base).await?.header().map(Some),
        }
    }

    /// After a 401 to a request sent with `sent`: drops the cached SMART
    /// token if it is still that one (so that concurrent 401s renew it once),
    /// and the next request gets a new one. True when retrying can help
    /// (SMART only).
    pub(crate) async fn invalidate(&self, sent: Option<&HeaderValue>) -> bool {
        match self {
            Auth::Smart(smart) => {
                let mut cached = smart.cached.lock().await;
                let same = match (cached.as_ref(), sent.and_then(|v| v.to_str().ok())) {
                    (Some(c), Some(sent)) => sent == format!("Bearer {}", c.token.0),
                    _ => true,
                };
                if same {
                    *cached = None;
                }
                true
            }
            _ => false,
        }
    }
}

/// A cached access token.
struct Cached {
    token: Secret,
    renew_at: Instant,
}

/// The SMART client: its key, the discovered endpoint and the cached token.
pub(crate) struct SmartAuth {
    config: SmartConfig,
    algorithm: Algorithm,
    key: EncodingKey,
    endpoint: Mutex<Option<Url>>,
    cached: Mutex<Option<Cached>>,
    /// Token requests sent.
    pub(crate) token_requests: AtomicU64,
}

impl fmt::Debug for SmartAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmartAuth")
            .field("client_id", &self.config.client_id)
            .field("algorithm", &self.algorithm)
            .field("key_id", &self.config.key_id)
            .field("scope", &self.config.scope)
            .field("key", &"redacted")
            .finish_non_exhaustive()
    }
}

/// Claims of a client assertion.
#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    jti: String,
}

impl SmartAuth {
    /// Reads the key and checks the settings.
    ///
    /// # Errors
    /// [`Error::Auth`] when the client id is empty, the algorithm is not
    /// RS384/ES384, no or both key sources are set, the key cannot be read
    /// or is not a PEM key of that algorithm.
    pub(crate) fn new(config: &SmartConfig) -> Result<SmartAuth, Error> {
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        let fail = |m: String| Error::Auth(m);
        if config.client_id.trim().is_empty() {
            return Err(fail(
                "SMART backend services: no client id; set source.smart_client_id".to_owned(),
            ));
        }
        let algorithm = match config.algorithm.trim().to_ascii_uppercase().as_str() {
            "RS384" => Algorithm::RS384,
            "ES384" => Algorithm::ES384,
            other => {
                return Err(fail(format!(
                    "SMART backend services: algorithm {other:?} is not supported; use RS384 or ES384"
                )));
            }
        };
        let pem = match (&config.key_file, &config.key_env) {
            (Some(path), None) => std::fs::read(path).map_err(|e| {
                fail(format!(
                    "SMART backend services: cannot read the private key file {}: {e}",
                    path.display()
                ))
            })?,
            (None, Some(var)) => match std::env::var(var) {
                Ok(v) if !v.trim().is_empty() => v.into_bytes(),
                _ => {
                    return Err(fail(format!(
                        "SMART backend services: the private key variable {var} is not set or empty; set it to the PEM key"
                    )));
                }
            },
            _ => {
                return Err(fail(
                    "SMART backend services: set exactly one of source.smart_key_file or source.smart_key_env"
                        .to_owned(),
                ));
            }
        };
        let key = match algorithm {
            Algorithm::RS384 => EncodingKey::from_rsa_pem(&pem),
            _ => EncodingKey::from_ec_pem(&pem),
        }
        .map_err(|e| {
            fail(format!(
                "SMART backend services: the private key is not a PEM {} key: {e}",
                if algorithm == Algorithm::RS384 {
                    "RSA"
                } else {
                    "P-384 EC"
                }
            ))
        })?;
        let endpoint = match &config.token_url {
            None => None,
            Some(u) => Some(Url::parse(u).map_err(|e| fail(format!("SMART token URL {u:?} is not a URL: {e}")))?),
        };
        let auth = SmartAuth {
            config: config.clone(),
            algorithm,
            key,
            endpoint: Mutex::new(endpoint),
            cached: Mutex::new(None),
            token_requests: AtomicU64::new(0),
        };
        // sign once now, so that a key of the wrong kind fails at start-up
        auth.assertion("https://check.invalid/token")?;
        Ok(auth)
    }

    /// A signed client assertion for `aud`.
    fn assertion(&self, aud: &str) -> Result<String, Error> {
        let now = chrono::Utc::now().timestamp();
        let mut header = Header::new(self.algorithm);
        header.typ = Some("JWT".to_owned());
        if !self.config.key_id.is_empty() {
            header.kid = Some(self.config.key_id.clone());
        }
        let claims = Claims {
            iss: &self.config.client_id,
            sub: &self.config.client_id,
            aud,
            exp: now + ASSERTION_LIFETIME.as_secs() as i64,
            iat: now,
            jti: unique_id(),
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| Error::Auth(format!("SMART backend services: cannot sign the client assertion: {e}")))
    }

    /// The token endpoint: configured, or discovered once.
    async fn endpoint(&self, http: &reqwest::Client, base: &Url) -> Result<Url, Error> {
        let mut held = self.endpoint.lock().await;
        if let Some(u) = held.as_ref() {
            return Ok(u.clone());
        }
        let mut url = base.clone();
        let path = format!("{}/.well-known/smart-configuration", url.path().trim_end_matches('/'));
        url.set_path(&path);
        let fail = |m: String| Error::Auth(format!("SMART discovery at {url}: {m}"));
        let response = http
            .get(url.clone())
            .header(header::ACCEPT, "application/json")
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| fail(format!("request failed: {}", e.without_url())))?;
        let status = response.status();
        if !status.is_success() {
            return Err(fail(format!(
                "HTTP {}; check the base URL or set source.smart_token_url",
                status.as_u16()
            )));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| fail(format!("not JSON: {}", e.without_url())))?;
        let endpoint = body
            .get("token_endpoint")
            .and_then(Value::as_str)
            .ok_or_else(|| fail("no token_endpoint".to_owned()))?;
        let endpoint = base
            .join(endpoint)
            .map_err(|e| fail(format!("token_endpoint {endpoint:?} is not a URL: {e}")))?;
        if endpoint.scheme() != "https" && !is_loopback(&endpoint) {
            return Err(fail(format!(
                "token_endpoint {endpoint} is not https; refused (the assertion must not travel in clear)"
            )));
        }
        *held = Some(endpoint.clone());
        Ok(endpoint)
    }

    /// A valid access token: the cached one, or a new one.
    pub(crate) async fn token(&self, http: &reqwest::Client, base: &Url) -> Result<Secret, Error> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.renew_at
        {
            return Ok(c.token.clone());
        }
        let endpoint = self.endpoint(http, base).await?;
        let assertion = self.assertion(endpoint.as_str())?;
        let form = [
            ("grant_type", "client_credentials"),
            ("scope", self.config.scope.as_str()),
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ];
        let body = form_body(&form);
        self.token_requests.fetch_add(1, Ordering::Relaxed);
        let fail = |m: String| Error::Auth(format!("SMART token request to {endpoint}: {m}"));
        let response = http
            .post(endpoint.clone())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .timeout(Duration::from_secs(30))
            .body(body)
            .send()
            .await
            .map_err(|e| fail(format!("request failed: {}", e.without_url())))?;
        let status = response.status();
        let json: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            // OAuth error responses hold no secret: error and error_description
            let error = json.get("error").and_then(Value::as_str).unwrap_or("no error code");
            let description = json.get("error_description").and_then(Value::as_str).unwrap_or("");
            return Err(fail(format!(
                "HTTP {}: {error} {description}; check the client id, the registered public key and kid, and the scope",
                status.as_u16()
            )));
        }
        let token = json
            .get("access_token")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| fail("the answer holds no access_token".to_owned()))?;
        let expires_in = json.get("expires_in").and_then(Value::as_u64).unwrap_or(300);
        let lifetime = Duration::from_secs(expires_in).saturating_sub(REFRESH_MARGIN);
        let token = Secret(token.to_owned());
        *cached = Some(Cached {
            token: token.clone(),
            renew_at: Instant::now() + lifetime,
        });
        tracing::info!(endpoint = %endpoint, expires_in, "SMART access token obtained");
        Ok(token)
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// `application/x-www-form-urlencoded`.
fn form_body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A unique id: time, process-wide counter and random bits.
fn unique_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{nanos:x}-{n:x}-{:016x}", super::rest::random_u64())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn form_bodies_are_url_encoded() {
        assert_eq!(
            form_body(&[("scope", "system/*.rs a"), ("x", "a&b")]),
            "scope=system%2F*.rs+a&x=a%26b"
        );
    }

    #[test]
    fn ids_are_unique() {
        let a = unique_id();
        let b = unique_id();
        assert_ne!(a, b);
    }

    #[test]
    fn bad_settings_are_refused_clearly() {
        let e = SmartAuth::new(&SmartConfig::default()).unwrap_err();
        assert!(e.to_string().contains("client id"), "{e}");
        let c = SmartConfig {
            client_id: "c".into(),
            algorithm: "HS256".into(),
            ..SmartConfig::default()
        };
        assert!(SmartAuth::new(&c).unwrap_err().to_string().contains("RS384 or ES384"));
        let c = SmartConfig {
            client_id: "c".into(),
            ..SmartConfig::default()
        };
        assert!(SmartAuth::new(&c).unwrap_err().to_string().contains("exactly one"));
        let c = SmartConfig {
            client_id: "c".into(),
            key_env: Some("CARELOAD_TEST_SURELY_UNSET_KEY".into()),
            ..SmartConfig::default()
        };
        assert!(
            SmartAuth::new(&c)
                .unwrap_err()
                .to_string()
                .contains("CARELOAD_TEST_SURELY_UNSET_KEY")
        );
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_refused_and_debug_hides_the_key() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let c = SmartConfig {
            client_id: "c".into(),
            key_file: Some(dir.join("test-only-es384-private.pem")),
            algorithm: "RS384".into(),
            ..SmartConfig::default()
        };
        let e = SmartAuth::new(&c).unwrap_err();
        assert!(e.to_string().contains("RSA"), "{e}");
        let c = SmartConfig {
            algorithm: "ES384".into(),
            ..c
        };
        let auth = SmartAuth::new(&c).unwrap();
        let text = format!("{auth:?}");
        assert!(text.contains("redacted") && !text.contains("PRIVATE"), "{text}");
    }
}
