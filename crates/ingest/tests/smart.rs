//! SMART Backend Services over real HTTP on loopback: an in-process
//! authorisation server that discovers, verifies every client assertion's
//! signature with the public key (RS384 and ES384, keys in
//! `tests/fixtures/test-only-*`), its claims and `kid`, counts token
//! requests, and a FHIR endpoint that accepts only the current token.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use careload_ingest::{Error, FhirClient, RestConfig, SmartConfig, fetch};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tokio::net::TcpListener;

const CLIENT: &str = "careload-test";
const KID: &str = "test-key-1";

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

struct Auth {
    algorithm: Algorithm,
    public: DecodingKey,
    expires_in: u64,
    /// Tokens issued; the FHIR endpoint accepts those from `valid_from` on.
    issued: Mutex<Vec<String>>,
    valid_from: AtomicUsize,
    jtis: Mutex<BTreeSet<String>>,
    token_requests: AtomicU64,
    fhir_requests: AtomicU64,
    reject_all: AtomicBool,
    failures: Mutex<Vec<String>>,
}

fn json_reply(status: u16, content_type: &str, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
    r
}

async fn handle(State(auth): State<Arc<Auth>>, req: Request) -> Response {
    let host = req.headers().get(header::HOST).unwrap().to_str().unwrap().to_owned();
    let token_url = format!("http://{host}/auth/token");
    let path = req.uri().path().to_owned();
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap().to_owned());
    match path.as_str() {
        "/fhir/.well-known/smart-configuration" => json_reply(
            200,
            "application/json",
            json!({
                "token_endpoint": token_url,
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
                "grant_types_supported": ["client_credentials"],
                "scopes_supported": ["system/*.rs"]
            })
            .to_string(),
        ),
        "/auth/token" => {
            auth.token_requests.fetch_add(1, Ordering::SeqCst);
            let body = to_bytes(req.into_body(), 1 << 20).await.unwrap();
            let form: std::collections::HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
            match verify(&auth, &form, &token_url) {
                Ok(()) => {
                    let token = format!("token-{}", auth.token_requests.load(Ordering::SeqCst));
                    auth.issued.lock().unwrap().push(token.clone());
                    json_reply(
                        200,
                        "application/json",
                        json!({"access_token": token, "token_type": "bearer", "expires_in": auth.expires_in, "scope": "system/*.rs"})
                            .to_string(),
                    )
                }
                Err(why) => {
                    auth.failures.lock().unwrap().push(why.clone());
                    json_reply(
                        400,
                        "application/json",
                        json!({"error": "invalid_client", "error_description": why}).to_string(),
                    )
                }
            }
        }
        _ => {
            auth.fhir_requests.fetch_add(1, Ordering::SeqCst);
            let valid: Vec<String> = auth.issued.lock().unwrap()[auth.valid_from.load(Ordering::SeqCst)..].to_vec();
            let ok = !auth.reject_all.load(Ordering::SeqCst)
                && valid.iter().any(|t| bearer.as_deref() == Some(&format!("Bearer {t}")));
            if ok {
                json_reply(
                    200,
                    "application/fhir+json",
                    json!({"resourceType": "Bundle", "type": "searchset", "total": 0}).to_string(),
                )
            } else {
                json_reply(
                    401,
                    "application/fhir+json",
                    json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login", "diagnostics": "token expired or invalid"}]}).to_string(),
                )
            }
        }
    }
}

/// Everything the authorisation server checks of a token request.
fn verify(auth: &Auth, form: &std::collections::HashMap<String, String>, token_url: &str) -> Result<(), String> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if get("grant_type") != "client_credentials" {
        return Err(format!("grant_type {}", get("grant_type")));
    }
    if get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return Err("client_assertion_type".into());
    }
    if get("scope") != "system/*.rs" {
        return Err(format!("scope {}", get("scope")));
    }
    let jwt = get("client_assertion");
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("header: {e}"))?;
    if header.alg != auth.algorithm || header.kid.as_deref() != Some(KID) {
        return Err(format!("alg {:?} kid {:?}", header.alg, header.kid));
    }
    let mut validation = Validation::new(auth.algorithm);
    validation.set_audience(&[token_url]);
    validation.set_issuer(&[CLIENT]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    let data = jsonwebtoken::decode::<Value>(jwt, &auth.public, &validation)
        .map_err(|e| format!("signature or claims: {e}"))?;
    let c = data.claims;
    if c["sub"] != CLIENT {
        return Err("sub".into());
    }
    let (exp, iat) = (c["exp"].as_i64().unwrap_or(0), c["iat"].as_i64().unwrap_or(0));
    let now = chrono::Utc::now().timestamp();
    if exp - now > 300 || exp - iat > 300 {
        return Err("exp more than 5 minutes ahead".into());
    }
    let jti = c["jti"].as_str().unwrap_or("").to_owned();
    if jti.is_empty() || !auth.jtis.lock().unwrap().insert(jti) {
        return Err("jti missing or reused".into());
    }
    Ok(())
}

async fn start(algorithm: Algorithm, public_pem: &str, expires_in: u64) -> (String, Arc<Auth>) {
    let pem = std::fs::read(fixture(public_pem)).unwrap();
    let public = match algorithm {
        Algorithm::RS384 => DecodingKey::from_rsa_pem(&pem).unwrap(),
        _ => DecodingKey::from_ec_pem(&pem).unwrap(),
    };
    let auth = Arc::new(Auth {
        algorithm,
        public,
        expires_in,
        issued: Mutex::default(),
        jtis: Mutex::default(),
        token_requests: AtomicU64::new(0),
        fhir_requests: AtomicU64::new(0),
        valid_from: AtomicUsize::new(0),
        reject_all: AtomicBool::new(false),
        failures: Mutex::default(),
    });
    let app = axum::Router::new().fallback(handle).with_state(Arc::clone(&auth));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, auth)
}

fn config(base: &str, algorithm: &str, private_pem: &str) -> RestConfig {
    RestConfig {
        max_retries: 0,
        smart: Some(SmartConfig {
            client_id: CLIENT.into(),
            key_file: Some(fixture(private_pem)),
            algorithm: algorithm.into(),
            key_id: KID.into(),
            ..SmartConfig::default()
        }),
        ..RestConfig::new(base)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs384_token_is_discovered_verified_cached_and_refreshed_once_on_401() {
    let (base, auth) = start(Algorithm::RS384, "test-only-rs384-public.pem", 3600).await;
    let config = config(&base, "RS384", "test-only-rs384-private.pem");
    let client = FhirClient::new(&config).unwrap();
    fetch(&client, &config, None).await.unwrap();
    fetch(&client, &config, None).await.unwrap();
    assert!(
        auth.failures.lock().unwrap().is_empty(),
        "{:?}",
        auth.failures.lock().unwrap()
    );
    assert!(auth.fhir_requests.load(Ordering::SeqCst) >= 4);
    assert_eq!(auth.token_requests.load(Ordering::SeqCst), 1, "the token is cached");

    // the server drops the token: the first 401 gets a new one, once
    let issued = auth.issued.lock().unwrap().len();
    auth.valid_from.store(issued, Ordering::SeqCst);
    let before = auth.fhir_requests.load(Ordering::SeqCst);
    fetch(&client, &config, None).await.unwrap();
    assert_eq!(auth.token_requests.load(Ordering::SeqCst), 2);
    assert!(
        auth.fhir_requests.load(Ordering::SeqCst) >= before + 3,
        "401, then the retried request, then the rest"
    );

    // a server that refuses every token: one refresh, then a clear 401
    auth.reject_all.store(true, Ordering::SeqCst);
    let e = fetch(&client, &config, None).await.unwrap_err();
    assert!(matches!(e, Error::Status { status: 401, .. }), "{e}");
    assert!(e.to_string().contains("token expired or invalid"), "{e}");
    assert_eq!(auth.token_requests.load(Ordering::SeqCst), 3, "exactly one refresh");

    // no secret in Debug
    let text = format!("{client:?}");
    assert!(!text.contains("token-") && !text.contains("PRIVATE"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es384_token_expiring_within_the_margin_is_renewed_before_each_request() {
    // expires_in 60 s is inside the 60 s refresh margin: never reused
    let (base, auth) = start(Algorithm::ES384, "test-only-es384-public.pem", 60).await;
    let config = config(&base, "ES384", "test-only-es384-private.pem");
    let client = FhirClient::new(&config).unwrap();
    fetch(&client, &config, None).await.unwrap();
    assert!(
        auth.failures.lock().unwrap().is_empty(),
        "{:?}",
        auth.failures.lock().unwrap()
    );
    let fhir = auth.fhir_requests.load(Ordering::SeqCst);
    assert!(fhir >= 2);
    assert_eq!(auth.token_requests.load(Ordering::SeqCst), fhir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assertion_signed_with_another_key_is_refused_with_the_servers_reason() {
    // the server knows the RSA public key; the client signs with the EC key
    let (base, auth) = start(Algorithm::RS384, "test-only-rs384-public.pem", 3600).await;
    let config = config(&base, "ES384", "test-only-es384-private.pem");
    let client = FhirClient::new(&config).unwrap();
    let e = fetch(&client, &config, None).await.unwrap_err();
    assert!(matches!(e, Error::Auth(_)), "{e}");
    let text = e.to_string();
    assert!(text.contains("invalid_client") && text.contains("HTTP 400"), "{text}");
    assert_eq!(auth.fhir_requests.load(Ordering::SeqCst), 0);
    assert_eq!(auth.failures.lock().unwrap().len(), 1);
}
