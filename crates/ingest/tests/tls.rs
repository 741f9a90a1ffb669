//! https end to end: an in-process FHIR server behind rustls with a
//! certificate from a test-only CA (`tests/fixtures/test-only-*`). The
//! client trusts it only with `ca_file` naming that CA.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use careload_ingest::{Error, FhirClient, RestConfig, fetch};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A TCP listener that completes a TLS handshake before handing a connection to axum.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            // a client that refuses the certificate fails the handshake: wait for the next
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn start_https() -> String {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(fixture("test-only-server-cert.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(fixture("test-only-server-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = tcp.local_addr().unwrap().port();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let app = axum::Router::new().fallback(|| async {
        let mut r = Response::new(Body::from(r#"{"resourceType":"Bundle","type":"searchset","total":0}"#));
        r.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/fhir+json"));
        r
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("https://localhost:{port}/fhir")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_works_with_the_hospital_ca_and_fails_clearly_without_it() {
    let base = start_https().await;

    let trusted = RestConfig {
        ca_file: Some(fixture("test-only-ca.pem")),
        max_retries: 0,
        ..RestConfig::new(&base)
    };
    let client = FhirClient::new(&trusted).unwrap();
    let (resources, report) = fetch(&client, &trusted, None).await.unwrap();
    assert!(resources.is_empty());
    assert!(report.requests >= 2, "{report:?}");

    // without the CA the server's certificate is not trusted
    let untrusted = RestConfig {
        max_retries: 0,
        ..RestConfig::new(&base)
    };
    let client = FhirClient::new(&untrusted).unwrap();
    let e = fetch(&client, &untrusted, None).await.unwrap_err();
    assert!(matches!(e, Error::Connection { .. }), "{e}");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}
