//! Role-scoped bearer tokens.
//!
//! Each `[[api.tokens]]` entry names a role and, for `screen` tokens, the
//! wards it may read. Secrets are read once, at start-up, from the named
//! environment variable or file (first line); a missing or empty secret is a
//! start-up error that names the token, never the secret. Only the SHA-256 of
//! each secret is kept, and a presented token is hashed and compared with
//! every known hash in constant time (no early exit on the first differing
//! byte, none on the first matching token), so timing says nothing about a
//! secret. Tokens are never logged: logs name the token by its `name`.
//!
//! A token comes as `Authorization: Bearer <token>`, the scheme in any
//! letter case (RFC 7235 §2.1). Every route declares its [`Access`] in the
//! route table. `screen` tokens are read-only and ward-scoped: a route with a
//! ward in its path checks the ward against the token's list. `rater`
//! tokens are ward-scoped the same way and may only rate shifts. A token's
//! wards are its `wards` and every ward of its `departments` and
//! `hospitals`; a department's, a hospital's or the region's view and page
//! need a `screen` token that covers every ward of it — of the view it is
//! served, which the response cache may have built an hour earlier
//! ([`crate::cache`]). The screen HTML pages also accept the token as
//! `?token=`, because the kiosk browsers that show them at ward offices
//! can open a bookmarked URL but cannot send headers; JSON routes do not,
//! so that a token never lands in a URL (and
//! proxy logs) except on a screen, where `Referrer-Policy: no-referrer` keeps
//! it from leaking onward and `Cache-Control: no-store` keeps the page and
//! its URL out of every cache ([`crate::layers`]). `api.open = true`
//! (loopback only, for the demo) lets every request through as
//! [`Caller::Open`].

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::{Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use careload_config::{ApiConfig, Role};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::{Error, Result};
use crate::routes::{Access, RouteSpec};

/// A known token: its name, role, wards and the hash of its secret.
#[derive(Clone)]
struct Token {
    name: String,
    role: Role,
    wards: Vec<String>,
    digest: [u8; 32],
}

/// The tokens the API accepts.
#[derive(Clone, Default)]
pub struct Auth {
    open: bool,
    tokens: Vec<Token>,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("open", &self.open)
            .field(
                "tokens",
                &self.tokens.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Who is calling, once the token is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// `api.open`: no tokens.
    Open,
    /// No token needed (public routes).
    Anonymous,
    /// A known token.
    Token {
        /// Its name (for logs and audit).
        name: String,
        /// Its role.
        role: Role,
        /// Its wards (screen tokens).
        wards: Vec<String>,
    },
}

/// SHA-256 of a token's secret: what is compared and what keys caches, never the secret itself.
pub(crate) fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// Equal in time independent of where the inputs differ.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    diff == 0
}

impl Auth {
    /// Reads every token's secret: `secret_env` through `env`, `secret_file`
    /// from disk (first line, trimmed). A token's wards are `wards_of` it:
    /// its `wards` and the wards of its `departments` and `hospitals`
    /// (`careload_config::Config::token_wards`).
    ///
    /// # Errors
    /// [`Error::Secret`] naming the first token whose secret is missing or empty.
    pub fn load(
        api: &ApiConfig,
        wards_of: impl Fn(&careload_config::TokenConfig) -> Vec<String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Auth> {
        let mut tokens = Vec::new();
        for t in &api.tokens {
            let problem = |problem: String| Error::Secret {
                token: t.name.clone(),
                problem,
            };
            let secret = match (&t.secret_env, &t.secret_file) {
                (Some(var), _) => env(var).ok_or_else(|| problem(format!("environment variable {var} is not set")))?,
                (None, Some(path)) => std::fs::read_to_string(path)
                    .map_err(|e| problem(format!("cannot read secret file {}: {e}", path.display())))?
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                (None, None) => return Err(problem("set secret_env or secret_file".into())),
            };
            let secret = secret.trim();
            if secret.is_empty() {
                return Err(problem("the secret is empty".into()));
            }
            let d = digest(secret);
            // the first token with a secret would win every time: the other's role unreachable
            if let Some(earlier) = tokens.iter().find(|e: &&Token| same(&e.digest, &d)) {
                return Err(problem(format!(
                    "its secret is also token {:?}'s; give each token a secret of its own",
                    earlier.name
                )));
            }
            tokens.push(Token {
                name: t.name.clone(),
                role: t.role,
                wards: wards_of(t),
                digest: d,
            });
        }
        Ok(Auth { open: api.open, tokens })
    }

    /// An `Auth` that refuses every token (used when secrets failed to load).
    pub fn closed() -> Auth {
        Auth::default()
    }

    /// The caller a presented secret belongs to, if any.
    fn identify(&self, presented: &str) -> Option<&Token> {
        let d = digest(presented);
        let mut found = None;
        for t in &self.tokens {
            if same(&t.digest, &d) && found.is_none() {
                found = Some(t);
            }
        }
        found
    }
}

/// The credentials of an `Authorization` value in the `Bearer` scheme. The
/// scheme is matched case-insensitively (RFC 7235 §2.1: `bearer`, `BEARER`
/// and `Bearer` are one scheme) and is followed by one or more spaces; a
/// value with no token after them is none.
fn bearer(authorization: &str) -> Option<&str> {
    let (scheme, credentials) = authorization.trim_start().split_once(' ')?;
    let credentials = credentials.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !credentials.is_empty()).then_some(credentials)
}

/// The `token` parameter of a URI's query (percent-decoded), if it has one.
pub(crate) fn query_token(uri: &Uri) -> Option<String> {
    uri.query()?;
    Query::<HashMap<String, String>>::try_from_uri(uri)
        .ok()
        .and_then(|Query(mut q)| q.remove("token"))
}

/// The bearer token of a request: the `Authorization` header, or `?token=`
/// when the route allows it; with true when it came from the query.
fn presented(req: &Request, query_token_allowed: bool) -> Option<(String, bool)> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer)
        .map(|v| (v.to_owned(), false));
    if header.is_some() || !query_token_allowed {
        return header;
    }
    query_token(req.uri()).map(|t| (t, true))
}

/// The token a screen page was opened with through `?token=`, to keep in
/// its links; none when it came in a header or no token was needed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScreenToken(pub Option<String>);

/// The ward in the request path, where the route pattern has `{id}` and a
/// ward is meant (percent-decoded).
fn ward_in_path(spec: &RouteSpec, path: &str) -> Option<String> {
    if !spec.ward_scoped {
        return None;
    }
    let pattern = spec.path.split('/');
    let actual = path.split('/');
    pattern
        .zip(actual)
        .find(|(p, _)| *p == "{id}")
        .map(|(_, a)| percent_decode(a))
}

/// `s` with its `%XX` escapes decoded (an invalid one is kept as it is).
pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Decides whether `caller`'s role and wards allow `spec` (for `ward`).
///
/// # Errors
/// [`Error::Forbidden`] with what the token may do instead.
pub fn allow(spec: &RouteSpec, caller: &Caller, ward: Option<&str>) -> Result<()> {
    let Access::Roles(roles) = spec.access else {
        return Ok(());
    };
    let Caller::Token { role, .. } = caller else {
        return Ok(());
    };
    if !roles.contains(role) {
        let needed: Vec<&str> = roles.iter().map(|r| role_name(*r)).collect();
        return Err(Error::Forbidden {
            hint: format!(
                "{} needs a token with role {}; this token's role is {}",
                spec.path,
                needed.join(" or "),
                role_name(*role)
            ),
        });
    }
    if let Some((role, wards)) = ward_scope(caller)
        && let Some(ward) = ward
        && !wards.iter().any(|w| w == ward)
    {
        let may = if role == Role::Screen { "read" } else { "rate" };
        return Err(Error::Forbidden {
            hint: format!("this {} token may {may} wards: {}", role_name(role), wards.join(", ")),
        });
    }
    Ok(())
}

/// Whether `caller` is ward-scoped — a `screen` or `rater` token — and if
/// so its role and the wards it covers. Any other caller is not: its
/// route's roles are all it needs.
pub(crate) fn ward_scope(caller: &Caller) -> Option<(Role, &[String])> {
    match caller {
        Caller::Token { role, wards, .. } if matches!(role, Role::Screen | Role::Rater) => Some((*role, wards)),
        _ => None,
    }
}

/// Whether `caller` covers every one of `wards`: a ward-scoped token
/// ([`ward_scope`]) only when each is among its wards (and there is one);
/// any other caller always. Else the token's role, for the refusal's hint.
pub(crate) fn covers(caller: &Caller, wards: &[String]) -> std::result::Result<(), Role> {
    match ward_scope(caller) {
        Some((role, may)) if wards.is_empty() || !wards.iter().all(|w| may.contains(w)) => Err(role),
        _ => Ok(()),
    }
}

/// Whether `caller` may read a department whose wards are `wards`: a
/// `screen` token only when it covers every one of them (its `departments`,
/// or each ward in its `wards`); any other role its route allows.
///
/// # Errors
/// [`Error::Forbidden`] saying how to scope a token to a department (not
/// which wards it lacks: a token learns nothing of other wards).
pub(crate) fn allow_department(caller: &Caller, department: &str, wards: &[String]) -> Result<()> {
    allow_group(caller, "department", department, wards)
}

/// Whether `caller` may read a hospital whose wards are `wards` (the wards
/// of its departments): as [`allow_department`], one level up.
///
/// # Errors
/// [`Error::Forbidden`] saying how to scope a token to a hospital.
pub(crate) fn allow_hospital(caller: &Caller, hospital: &str, wards: &[String]) -> Result<()> {
    allow_group(caller, "hospital", hospital, wards)
}

/// [`allow_department`] and [`allow_hospital`]: `kind` is "department" or
/// "hospital". One with no ward is no token's to read, and the hint does
/// not suggest naming it (the configuration refuses a token that does).
fn allow_group(caller: &Caller, kind: &str, id: &str, wards: &[String]) -> Result<()> {
    covers(caller, wards).map_err(|role| Error::Forbidden {
        hint: if wards.is_empty() {
            format!(
                "{kind} {id:?} has no ward; a {} token reads a {kind} only when it covers every ward of it",
                role_name(role)
            )
        } else {
            format!(
                "a {} token reads a {kind} only when it covers every ward of it: name the {kind} in the token's \
                 {kind}s (e.g. {kind}s = [\"{id}\"])",
                role_name(role)
            )
        },
    })
}

/// What a ward-scoped token of `role` is told of a `kind` ("department"
/// or "hospital") `id` that is not configured: the ones of that kind it
/// may read (`readable`, those it covers wholly), and never to name `id`
/// in its token, which the configuration would refuse. A token learns
/// nothing of the others.
pub(crate) fn unknown_to_token(role: Role, kind: &str, id: &str, readable: &[String]) -> Error {
    let instead = if readable.is_empty() {
        format!("it covers no whole {kind}: read its wards' screens (/wards/{{id}}/screen) instead")
    } else {
        format!("it may read {kind}s: {}", readable.join(", "))
    };
    Error::Forbidden {
        hint: format!(
            "{kind} {id:?} is not one this {} token may read; {instead}",
            role_name(role)
        ),
    }
}

/// Whether `caller` may read the region, whose wards are `wards` (every
/// ward there is): a `screen` token only when it covers all of them.
///
/// # Errors
/// [`Error::Forbidden`] saying what such a token may read instead.
pub(crate) fn allow_region(caller: &Caller, wards: &[String]) -> Result<()> {
    covers(caller, wards).map_err(|role| Error::Forbidden {
        hint: format!(
            "a {} token reads the region only when it covers every ward; read its hospitals' pages \
             (/hospitals/{{id}}) or its wards' screens instead",
            role_name(role)
        ),
    })
}

/// Whether `caller` holds one of `roles` (an open API: everyone does).
pub(crate) fn may(caller: &Caller, roles: &[Role]) -> bool {
    match caller {
        Caller::Open => true,
        Caller::Anonymous => false,
        Caller::Token { role, .. } => roles.contains(role),
    }
}

/// The role's name as in the configuration.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Screen => "screen",
        Role::Staffing => "staffing",
        Role::Controller => "controller",
        Role::Admin => "admin",
        Role::Rater => "rater",
    }
}

/// A refusal as the route answers: a short Swedish page on an HTML route
/// ([`crate::handlers::error_page`], its links keeping `token`), JSON elsewhere.
fn refused(state: &AppState, spec: &RouteSpec, refusal: Error, token: Option<String>) -> Response {
    if spec.media == crate::routes::Media::Html {
        crate::handlers::error_page(state, refusal, token, chrono::Utc::now())
    } else {
        refusal.into_response()
    }
}

/// The per-route middleware: identifies the caller and checks the route's
/// access, then hands the request (with its [`Caller`]) on.
pub(crate) async fn authorize(
    State((state, spec)): State<(AppState, &'static RouteSpec)>,
    mut req: Request,
    next: Next,
) -> Response {
    let mut screen_token = ScreenToken(None);
    let caller = match spec.access {
        Access::Public => Caller::Anonymous,
        Access::Roles(_) if state.auth.open => Caller::Open,
        Access::Roles(_) => match presented(&req, spec.token_in_query).and_then(|(p, from_query)| {
            let t = state.auth.identify(&p)?;
            if from_query {
                screen_token = ScreenToken(Some(p.clone()));
            }
            Some(Caller::Token {
                name: t.name.clone(),
                role: t.role,
                wards: t.wards.clone(),
            })
        }) {
            Some(c) => c,
            None => {
                let refusal = Error::Unauthorized {
                    query_token: spec.token_in_query,
                };
                // the unknown token is not kept in the page's links
                return refused(&state, spec, refusal, None);
            }
        },
    };
    let ward = ward_in_path(spec, req.uri().path());
    if let Err(e) = allow(spec, &caller, ward.as_deref()) {
        if let Caller::Token { name, .. } = &caller {
            tracing::info!(token = %name, route = spec.path, "forbidden");
        }
        return refused(&state, spec, e, screen_token.0);
    }
    req.extensions_mut().insert(caller);
    req.extensions_mut().insert(screen_token);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_tokens_may_not_share_a_secret() {
        let mut api = ApiConfig::default();
        for (name, var) in [("ward-1", "A"), ("admin", "B")] {
            api.tokens.push(careload_config::TokenConfig {
                name: name.into(),
                role: careload_config::Role::Admin,
                wards: Vec::new(),
                departments: Vec::new(),
                hospitals: Vec::new(),
                secret_env: Some(var.into()),
                secret_file: None,
            });
        }
        let err = Auth::load(&api, |t| t.wards.clone(), |_| Some("same-secret".to_owned()))
            .map(|_| ())
            .unwrap_err();
        assert!(
            err.to_string().contains("its secret is also token \"ward-1\"'s"),
            "{err}"
        );
        assert!(Auth::load(&api, |t| t.wards.clone(), |v| Some(format!("secret-{v}"))).is_ok());
    }

    #[test]
    fn comparison_is_by_digest() {
        let (a, b) = (digest("secret-a"), digest("secret-b"));
        assert!(same(&a, &digest("secret-a")));
        assert!(!same(&a, &b));
    }

    fn token(role: Role, wards: &[&str]) -> Caller {
        Caller::Token {
            name: "t".into(),
            role,
            wards: wards.iter().map(|w| (*w).to_owned()).collect(),
        }
    }

    #[test]
    fn only_screen_and_rater_tokens_are_ward_scoped() {
        let wards = |ids: &[&str]| ids.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        for role in [Role::Screen, Role::Rater] {
            let t = token(role, &["w1", "w2"]);
            assert_eq!(ward_scope(&t), Some((role, &wards(&["w1", "w2"])[..])));
            assert!(covers(&t, &wards(&["w2", "w1"])).is_ok());
            assert_eq!(covers(&t, &wards(&["w1", "x"])), Err(role), "a ward it lacks");
            assert_eq!(covers(&t, &[]), Err(role), "no ward: nothing to cover");
        }
        for caller in [
            token(Role::Staffing, &[]),
            token(Role::Admin, &[]),
            Caller::Open,
            Caller::Anonymous,
        ] {
            assert_eq!(ward_scope(&caller), None);
            assert!(covers(&caller, &wards(&["x"])).is_ok());
        }
    }

    #[test]
    fn a_group_of_no_ward_or_unknown_is_never_suggested_to_a_token() {
        let t = token(Role::Screen, &["w1"]);
        let hint = |e: Error| e.body().hint.unwrap_or_default();
        let h = hint(allow_hospital(&t, "enk", &["w2".to_owned()]).unwrap_err());
        assert!(h.contains(r#"hospitals = ["enk"]"#), "{h}");
        let h = hint(allow_hospital(&t, "empty", &[]).unwrap_err());
        assert!(
            h.contains("\"empty\" has no ward") && !h.contains("hospitals = ["),
            "{h}"
        );
        let h = hint(unknown_to_token(
            Role::Screen,
            "hospital",
            "nowhere",
            &["uas".to_owned()],
        ));
        assert!(h.contains("it may read hospitals: uas") && !h.contains("= ["), "{h}");
        let h = hint(unknown_to_token(Role::Rater, "department", "nowhere", &[]));
        assert!(
            h.contains("rater token") && h.contains("covers no whole department"),
            "{h}"
        );
    }

    #[test]
    fn percent_decoding() {
        for (raw, decoded) in [("w1", "w1"), ("avd%207", "avd 7"), ("%C3%A5", "å"), ("bad%2", "bad%2")] {
            assert_eq!(percent_decode(raw), decoded);
        }
    }
}
