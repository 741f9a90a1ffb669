//! The crate's one error type, and how each error becomes a response.
//!
//! A 4xx answer is JSON `{"error": "...", "hint": "..."}`: what was wrong
//! and what to send instead. A 5xx answer is `{"error": "internal error"}`;
//! the detail goes to the `tracing` log only, never to the client. This
//! holds for every route, and for what axum answers by itself before a
//! handler runs (a 405, a path that is not UTF-8, a chunked body over the
//! limit): [`crate::layers`] rewrites those as an [`Error`]. One exception:
//! on an HTML route, and for a path outside `/api/` that no route has, a
//! 404, 401 or 403 is a short Swedish page with a link to the overview
//! instead (`handlers::error_page`), with the same status and headers: a
//! kiosk shows a page, never raw JSON.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use careload_app::Kind;
use serde::Serialize;

/// Everything that can go wrong in the API, at start-up or per request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No or an unknown bearer token.
    #[error("missing or unknown token")]
    Unauthorized {
        /// True when the route also accepts `?token=`.
        query_token: bool,
    },
    /// A known token whose role may not use the route.
    #[error("this token may not use this route")]
    Forbidden {
        /// What the token may do instead.
        hint: String,
    },
    /// A query parameter that is not an RFC 3339 time.
    #[error("{param} is not a time")]
    BadTime {
        /// The parameter.
        param: &'static str,
    },
    /// A query parameter the route does not declare in the route table.
    /// Names are matched exactly, letter case included.
    #[error("unknown query parameter {name:?} (names are case-sensitive); {}", takes(known))]
    UnknownParam {
        /// The name sent.
        name: String,
        /// The query parameters the route takes, in the route table's order.
        known: Vec<&'static str>,
        /// The known name it differs from only in case, `_`/`-` (camelCase)
        /// or a letter or two.
        suggestion: Option<&'static str>,
    },
    /// A query parameter the route takes once, given more than once.
    #[error("query parameter {name:?} is given {times} times; this route takes it once")]
    RepeatedParam {
        /// The parameter.
        name: &'static str,
        /// How many times it came.
        times: usize,
    },
    /// No route here.
    #[error("no such route")]
    NoRoute,
    /// A route that does not take the request's method.
    #[error("this route does not take {method}")]
    MethodNotAllowed {
        /// The method sent.
        method: String,
        /// The methods the route takes (its `Allow` header, kept on the response).
        allow: String,
    },
    /// A request the router or an extractor refused before any handler ran
    /// (a path segment that is not UTF-8, a body that cannot be read…).
    #[error("the request cannot be read: {problem}")]
    Unreadable {
        /// The status the refusal had (a 4xx).
        status: StatusCode,
        /// axum's words for what was wrong.
        problem: String,
    },
    /// A body larger than `api.max_body_bytes`.
    #[error("request body too large")]
    BodyTooLarge {
        /// The maximum.
        max: usize,
    },
    /// Over `api.rate_limit_per_minute`.
    #[error("too many requests")]
    RateLimited {
        /// Seconds until the next window.
        retry_after: u64,
    },
    /// Not ready (`/readyz`).
    #[error("not ready")]
    NotReady {
        /// Why.
        reason: String,
    },
    /// A token's secret could not be read at start-up (names the token, never the secret).
    #[error("api token {token:?}: {problem}")]
    Secret {
        /// The token's name.
        token: String,
        /// What is wrong.
        problem: String,
    },
    /// The configuration cannot be served.
    #[error("configuration: {0}")]
    Config(String),
    /// A use case's refusal or failure (unknown ward, bad range, store…).
    #[error(transparent)]
    App(#[from] careload_app::Error),
    /// Anything else internal (a panicked blocking task, an I/O error).
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// A query parameter out of range or malformed ([`careload_app::Error::BadQuery`]).
    pub fn bad_query(param: &'static str, hint: impl Into<String>) -> Error {
        Error::App(careload_app::Error::BadQuery {
            param,
            hint: hint.into(),
        })
    }

    /// Readable content that is refused ([`careload_app::Error::Unprocessable`]).
    pub fn unprocessable(hint: impl Into<String>) -> Error {
        Error::App(careload_app::Error::Unprocessable { hint: hint.into() })
    }
}

impl From<careload_store::Error> for Error {
    fn from(e: careload_store::Error) -> Error {
        Error::App(e.into())
    }
}

/// What a route takes, for [`Error::UnknownParam`]: `this route takes: from, to`.
fn takes(known: &[&str]) -> String {
    if known.is_empty() {
        "this route takes no query parameters".to_owned()
    } else {
        format!("this route takes: {}", known.join(", "))
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The JSON body of every error response.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    /// What was wrong.
    pub error: String,
    /// What to send instead (absent on 5xx).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The time format every time parameter takes.
pub const TIME_FORMAT_HINT: &str = "send an RFC 3339 time in UTC or with an offset, e.g. 2026-11-23T12:00:00Z";

impl Error {
    /// The status code.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Error::Forbidden { .. } => StatusCode::FORBIDDEN,
            Error::NoRoute => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Error::Unreadable { status, .. } => *status,
            Error::BadTime { .. } | Error::UnknownParam { .. } | Error::RepeatedParam { .. } => StatusCode::BAD_REQUEST,
            Error::App(e) => match e.kind() {
                Kind::NotFound => StatusCode::NOT_FOUND,
                Kind::Invalid => StatusCode::BAD_REQUEST,
                Kind::Refused => StatusCode::UNPROCESSABLE_ENTITY,
                Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Error::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Secret { .. } | Error::Config(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// True for failures whose detail must stay in the log.
    pub fn is_internal(&self) -> bool {
        match self {
            Error::App(e) => e.kind() == Kind::Internal,
            other => matches!(other, Error::Secret { .. } | Error::Config(_) | Error::Internal(_)),
        }
    }

    /// The response body: message and hint for 4xx, nothing more for 5xx.
    pub fn body(&self) -> ErrorBody {
        let hint = match self {
            Error::Unauthorized { query_token: false } => {
                Some("send the header Authorization: Bearer <token> with a token configured in [[api.tokens]]".into())
            }
            Error::Unauthorized { query_token: true } => Some(
                "send the header Authorization: Bearer <token>, or ?token=<token> on this screen page, with a token \
                 configured in [[api.tokens]]"
                    .into(),
            ),
            Error::Forbidden { hint } => Some(hint.clone()),
            Error::App(e) => e.hint(),
            Error::BadTime { .. } => Some(TIME_FORMAT_HINT.into()),
            Error::UnknownParam { name, known, .. } if name == "token" && !known.contains(&"token") => Some(
                "the token comes in the query on the screen pages only; send it in the header Authorization: \
                 Bearer <token>"
                    .into(),
            ),
            Error::UnknownParam { known, .. } if known.is_empty() => {
                Some("send the request without a query string; GET /api/v1/openapi.json describes every route".into())
            }
            Error::UnknownParam { suggestion, .. } => Some(format!(
                "{}send only the parameters listed, spelt as listed; GET /api/v1/openapi.json describes them",
                suggestion.map(|s| format!("did you mean {s}? ")).unwrap_or_default()
            )),
            Error::RepeatedParam { name, .. } => Some(format!("send {name} once, with the one value you mean")),
            Error::NoRoute => Some("see GET /api/v1/openapi.json for every route".into()),
            Error::MethodNotAllowed { allow, .. } if allow.trim().is_empty() => {
                Some("GET /api/v1/openapi.json lists every route and its methods".into())
            }
            Error::MethodNotAllowed { allow, .. } => Some(format!(
                "send {} (the Allow header); GET /api/v1/openapi.json lists every route and its methods",
                allow.split(',').map(str::trim).collect::<Vec<_>>().join(" or ")
            )),
            Error::Unreadable { status, .. } => Some(
                match *status {
                    StatusCode::BAD_REQUEST => {
                        "percent-encode every path segment and query value as UTF-8 (å as %C3%A5), with the \
                         parameters GET /api/v1/openapi.json lists for the route"
                    }
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                        "send the body with the Content-Type GET /api/v1/openapi.json gives for the route"
                    }
                    _ => "send the request as GET /api/v1/openapi.json describes the route",
                }
                .into(),
            ),
            Error::BodyTooLarge { max } => Some(format!("send at most {max} bytes")),
            Error::RateLimited { retry_after } => Some(format!("retry after {retry_after} s")),
            Error::NotReady { reason } => Some(reason.clone()),
            Error::Secret { .. } | Error::Config(_) | Error::Internal(_) => None,
        };
        let error = if self.is_internal() {
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        ErrorBody { error, hint }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if self.is_internal() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = (status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        match &self {
            Error::Unauthorized { .. } => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            Error::RateLimited { retry_after } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            Error::MethodNotAllowed { allow, .. } if !allow.trim().is_empty() => {
                if let Ok(v) = HeaderValue::from_str(allow) {
                    headers.insert(header::ALLOW, v);
                }
            }
            _ => {}
        }
        response
    }
}
