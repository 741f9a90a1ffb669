//! Router-wide middleware ([`around`], one layer), in this order:
//!
//! 1. **metrics** — counts every request by route pattern and status;
//! 2. **headers** — `Referrer-Policy: no-referrer` (screen URLs may carry a
//!    token), `X-Content-Type-Options: nosniff`, `Cache-Control: no-store`
//!    on the answer to any URL with a `?token=` (and no `Expires`, `ETag`,
//!    `Last-Modified` or `Age` that could say otherwise), so no browser or
//!    proxy keeps a page stored under its token; and CORS: off unless
//!    `api.cors_origins` is set, then the listed origins (or `*`) may `GET`,
//!    with preflight answered here;
//! 3. **rate limit** — `api.rate_limit_per_minute` requests per client IP in
//!    fixed one-minute windows, then 429 with `Retry-After`; 0 = unlimited.
//!    The client is the TCP peer ([`crate::serve`] records it); behind a
//!    proxy that is the proxy, so limit there too;
//! 4. **body limit** — a declared `Content-Length` over `api.max_body_bytes`
//!    is refused with 413 before anything reads the body;
//! 5. **query** — the query string against the matched route's declared
//!    query parameters (`RouteSpec.params`, [`crate::routes::find`]): a name
//!    the route does not declare ([`Error::UnknownParam`], matched exactly,
//!    letter case included, with a "did you mean" for a name that differs
//!    only in case, `_`/`-` or a letter or two), or one it takes once given
//!    twice ([`Error::RepeatedParam`]; `Param::repeatable` lists may repeat),
//!    is refused with 400 before the handler runs, so nothing sent is
//!    silently ignored. The one exception is `token` on a route that takes
//!    the token in its header only, sent without that header: it is left to
//!    the access check, which answers 401 saying where the token goes;
//! 6. **error contract** — a 4xx or 5xx that is not JSON was answered by
//!    axum itself, not by a handler (a method the route does not take, a
//!    path segment that is not UTF-8, a chunked body over the limit, any
//!    other extractor rejection): it is rewritten as the [`Error`] it is,
//!    `{"error", "hint"}` with its status and headers (`Allow` on a 405), so
//!    that every error a client sees keeps the contract of [`crate::error`];
//! 7. **FHIR** — under `/fhir/r4` every error answer (any of the above, a
//!    handler's, or no route) becomes an `OperationOutcome` with the same
//!    status and headers ([`crate::fhir::outcome_of`]): FHIR clients read
//!    errors that way;
//! 8. **compression** — a cached response's gzip copy
//!    ([`crate::cache::Gzipped`]) is sent instead of its body when the
//!    request's `Accept-Encoding` allows gzip ([`accepts_gzip`]), with
//!    `Vary: accept-encoding` either way. Nothing is compressed per request.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, MatchedPath, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::cache::Gzipped;
use crate::error::Error;
use crate::routes::{self, Access};

/// Fixed-window request counts per client IP.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

const WINDOW: Duration = Duration::from_secs(60);

impl RateLimiter {
    /// Counts a request from `ip` at `now`; `Err(seconds)` when over `limit`.
    pub fn check(&self, ip: IpAddr, limit: u32, now: Instant) -> Result<(), u64> {
        if limit == 0 {
            return Ok(());
        }
        let mut map = match self.windows.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() > 10_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = map.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let left = WINDOW.saturating_sub(now.duration_since(entry.0));
            return Err(left.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }
}

/// The router-wide middleware, in one layer: each `from_fn` layer costs a
/// clone of the service below it and a boxed future per request, so the
/// eight steps of the module docs run here in their order.
pub(crate) async fn around(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // 1. metrics: the route pattern only, never the raw path or query (tokens, keys)
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let start = Instant::now();

    // 2. headers: CORS, with preflight answered here
    let origins = &state.config.api.cors_origins;
    let allowed = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .filter(|o| origins.iter().any(|a| a == "*" || a == o))
        .and_then(|o| HeaderValue::from_str(o).ok());
    let preflight =
        req.method() == Method::OPTIONS && req.headers().contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let gzip = accepts_gzip(req.headers());
    let token_in_url = crate::auth::query_token(req.uri()).is_some();
    let method = req.method().clone();
    let fhir = crate::fhir::is_fhir_path(req.uri().path());
    let mut response = if preflight && allowed.is_some() {
        preflight_response()
    } else if let Some(refused) = refusal(&state, &req) {
        // 3. and 4.
        refused.into_response()
    } else if let Some(refused) = query_refusal(&state, &req) {
        // 5.
        refused.into_response()
    } else {
        let response = next.run(req).await;
        // 6. error contract
        if answered_by_axum(&response) {
            as_error(response, &method, &route, state.config.api.max_body_bytes).await
        } else {
            response
        }
    };
    // 7. FHIR's errors
    if fhir {
        response = crate::fhir::outcome_of(response, method == Method::HEAD).await;
    }
    let h = response.headers_mut();
    if let Some(origin) = allowed {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if token_in_url {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        for contradicting in [header::EXPIRES, header::ETAG, header::LAST_MODIFIED, header::AGE] {
            h.remove(contradicting);
        }
    }

    // 8. compression: the copy made when the response was built
    if let Some(Gzipped(gz)) = response.extensions_mut().remove::<Gzipped>() {
        let h = response.headers_mut();
        h.append(header::VARY, HeaderValue::from_static("accept-encoding"));
        if gzip {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            h.remove(header::CONTENT_LENGTH);
            *response.body_mut() = Body::from(gz);
        }
    }

    let (status, elapsed) = (response.status().as_u16(), start.elapsed());
    state.metrics.observe(&route, status, elapsed);
    tracing::debug!(route = %route, status, elapsed_ms = elapsed.as_millis() as u64, "request");
    response
}

/// The answer to an allowed CORS preflight.
fn preflight_response() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    let h = r.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization"),
    );
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    r
}

/// The per-client-IP rate limit, then the declared body size against
/// `api.max_body_bytes`: the refusal, if any.
fn refusal(state: &AppState, req: &Request) -> Option<Error> {
    let limit = state.config.api.rate_limit_per_minute;
    if let Some(ConnectInfo(addr)) = req.extensions().get::<ConnectInfo<SocketAddr>>()
        && let Err(retry_after) = state.limiter.check(addr.ip(), limit, Instant::now())
    {
        return Some(Error::RateLimited { retry_after });
    }
    let max = state.config.api.max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    declared
        .is_some_and(|n| n > max as u64)
        .then_some(Error::BodyTooLarge { max })
}

/// The first query parameter the matched route does not declare, or the
/// first it takes once that came more than once: the refusal, if any. A
/// request no route of the table matches (a 404, a 405) is not checked.
fn query_refusal(state: &AppState, req: &Request) -> Option<Error> {
    req.uri().query()?;
    let spec = routes::find(req.extensions().get::<MatchedPath>()?.as_str(), req.method())?;
    // the handlers' own parse (crate::params::Params): the same names, decoded the same way
    let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(req.uri()) else {
        return None; // cannot be: every key and value decodes to a String
    };
    // ?token= on a header-only route, with no header: the access check answers 401
    let token_left_to_auth = !spec.token_in_query
        && matches!(spec.access, Access::Roles(_))
        && !state.config.api.open
        && !req.headers().contains_key(header::AUTHORIZATION);
    let known: Vec<&'static str> = spec.query_params().map(|p| p.name).collect();
    let mut counts = vec![0usize; known.len()];
    for (name, _) in &pairs {
        if name == "token" && token_left_to_auth {
            continue;
        }
        match known.iter().position(|k| k == name) {
            Some(i) => counts[i] += 1,
            None => {
                return Some(Error::UnknownParam {
                    suggestion: suggestion(name, &known),
                    name: name.clone(),
                    known,
                });
            }
        }
    }
    spec.query_params()
        .zip(counts)
        .find(|(p, times)| *times > 1 && !p.repeatable)
        .map(|(p, times)| Error::RepeatedParam { name: p.name, times })
}

/// The known name `name` was probably meant to be: the same but for letter
/// case, `_` and `-` (`compareLastYear`, `Compare-Last-Year` for
/// `compare_last_year`), else one or two letters away (a slip, a swap of two
/// neighbours, a plural) in a name long enough for that to say something.
fn suggestion(name: &str, known: &[&'static str]) -> Option<&'static str> {
    let squash = |s: &str| -> Vec<char> {
        s.chars()
            .filter(|c| !matches!(c, '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let sent = squash(name);
    if sent.is_empty() || sent.len() > 64 {
        return None;
    }
    known
        .iter()
        .filter_map(|k| {
            let k_squashed = squash(k);
            let d = distance(&sent, &k_squashed);
            (d == 0 || (d <= 2 && 3 * d <= k_squashed.len())).then_some((d, *k))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance with swaps of neighbours (optimal string alignment):
/// insertions, deletions, substitutions and transpositions count one each.
fn distance(a: &[char], b: &[char]) -> usize {
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = rows[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(substitution);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// The most of a refusal's body that [`as_error`] reads: axum's rejection
/// texts are one line.
const REFUSAL_TEXT_MAX: usize = 4096;

/// True for an error response that is neither JSON nor a page: every
/// [`Error`] is JSON and a page's refused form is HTML, so axum answered it
/// by itself (its router or an extractor's rejection, in plain text).
fn answered_by_axum(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && !response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/json") || ct.starts_with("text/html"))
}

/// axum's own error response as the [`Error`] it is: 405 says which
/// methods to send and lists them in `Allow` (from the route table: this
/// layer runs inside the route, before axum adds its own); 413 (a body
/// without `Content-Length` that outgrew `api.max_body_bytes` while read)
/// says how much may come; any other 4xx says what axum found wrong and how
/// to send it right; a 5xx says nothing but goes to the log. Headers other
/// than the body's type and length are kept; a `HEAD` answer keeps an empty
/// body.
async fn as_error(response: Response, method: &Method, route: &str, max_body: usize) -> Response {
    let (parts, body) = response.into_parts();
    let status = parts.status;
    let text = axum::body::to_bytes(body, REFUSAL_TEXT_MAX)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let error = if status == StatusCode::METHOD_NOT_ALLOWED {
        Error::MethodNotAllowed {
            method: method.to_string(),
            allow: match parts.headers.get(header::ALLOW).and_then(|v| v.to_str().ok()) {
                Some(allow) if !allow.is_empty() => allow.to_owned(),
                _ => crate::routes::allowed_methods(route),
            },
        }
    } else if status == StatusCode::PAYLOAD_TOO_LARGE {
        Error::BodyTooLarge { max: max_body }
    } else if status.is_client_error() {
        let problem = if text.is_empty() {
            status.canonical_reason().unwrap_or("refused").to_owned()
        } else {
            text
        };
        Error::Unreadable { status, problem }
    } else {
        Error::Internal(format!("{status} answered outside the handlers: {text}"))
    };
    let mut rewritten = error.into_response();
    for name in parts.headers.keys() {
        if name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH || rewritten.headers().contains_key(name) {
            continue;
        }
        for value in parts.headers.get_all(name) {
            rewritten.headers_mut().append(name.clone(), value.clone());
        }
    }
    if *method == Method::HEAD {
        rewritten.headers_mut().remove(header::CONTENT_LENGTH);
        *rewritten.body_mut() = Body::empty();
    }
    rewritten
}

/// Whether `Accept-Encoding` allows gzip (RFC 9110 §12.5.3): a `gzip` (or
/// `x-gzip`) entry with a weight above 0, or else a `*` entry with one. No
/// header, or an entry with a weight that does not parse, allows nothing.
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut any = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for entry in value.split(',') {
            let mut parts = entry.split(';');
            let coding = parts.next().unwrap_or_default().trim();
            let weight = parts
                .map(str::trim)
                .find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok());
            let Some(weight) = weight else { continue };
            if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                return weight > 0.0;
            }
            if coding == "*" {
                any = weight > 0.0;
            }
        }
    }
    any
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_per_ip() {
        let l = RateLimiter::default();
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
        let t0 = Instant::now();
        assert_eq!(l.check(a, 2, t0), Ok(()));
        assert_eq!(l.check(a, 2, t0), Ok(()));
        assert_eq!(l.check(a, 2, t0 + Duration::from_secs(15)), Err(45));
        assert_eq!(l.check(b, 2, t0), Ok(()), "another client has its own window");
        assert_eq!(l.check(a, 2, t0 + WINDOW), Ok(()), "a new window");
        assert_eq!(l.check(a, 0, t0), Ok(()), "0 = unlimited");
    }

    #[test]
    fn gzip_is_accepted_by_name_or_star_with_a_weight_above_zero() {
        let with = |values: &[&str]| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(header::ACCEPT_ENCODING, HeaderValue::from_str(v).expect("header"));
            }
            accepts_gzip(&h)
        };
        assert!(!with(&[]), "no header: identity");
        assert!(with(&["gzip, deflate, br, zstd"]), "what Chromium sends");
        assert!(with(&["br;q=1.0, GZIP;q=0.5"]));
        assert!(with(&["x-gzip"]));
        assert!(with(&["br", "gzip"]), "entries over several header lines");
        assert!(!with(&["gzip;q=0"]));
        assert!(!with(&["gzip;q=0, *"]), "a named refusal wins over *");
        assert!(with(&["*"]));
        assert!(!with(&["*;q=0"]));
        assert!(!with(&["br, deflate"]));
        assert!(!with(&["identity"]));
        assert!(!with(&["gzip;q=high"]), "a weight that does not parse allows nothing");
        assert!(!with(&["gzipped"]));
    }

    #[test]
    fn near_names_are_suggested_and_others_are_not() {
        let export = [
            "from",
            "to",
            "level",
            "grain",
            "format",
            "wards",
            "staffing",
            "compare_last_year",
        ];
        for (sent, meant) in [
            ("compareLastYear", Some("compare_last_year")),
            ("CompareLastYear", Some("compare_last_year")),
            ("compare-last-year", Some("compare_last_year")),
            ("COMPARE_LAST_YEAR", Some("compare_last_year")),
            ("compare_last_yaer", Some("compare_last_year")),
            ("From", Some("from")),
            ("form", Some("from")),
            ("ward", Some("wards")),
            ("grian", Some("grain")),
            ("formats", Some("format")),
            ("t", None),
            ("too", None),
            ("colour", None),
            ("bogus", None),
            ("", None),
            ("_", None),
        ] {
            assert_eq!(suggestion(sent, &export), meant, "{sent:?}");
        }
        assert_eq!(suggestion("Limit", &["limit"]), Some("limit"));
        assert_eq!(suggestion("limit", &[]), None);
        assert_eq!(suggestion("maxMoves", &["max_moves", "pin"]), Some("max_moves"));
        assert_eq!(suggestion("pins", &["max_moves", "pin"]), Some("pin"));
        assert_eq!(suggestion("Token", &["token"]), Some("token"));
    }

    #[test]
    fn distance_counts_a_swap_of_neighbours_as_one() {
        let d = |a: &str, b: &str| distance(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(d("", ""), 0);
        assert_eq!(d("", "abc"), 3);
        assert_eq!(d("form", "from"), 1);
        assert_eq!(d("kitten", "sitting"), 3);
        assert_eq!(d("wards", "ward"), 1);
        assert_eq!(d("åäö", "aäö"), 1);
    }
}
