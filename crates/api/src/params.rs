//! A request's query parameters as the handlers read them ([`Params`]), and
//! the time parameters' format ([`parse_time`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use axum::extract::{FromRequestParts, MatchedPath, Query};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::routes::RouteSpec;

/// Parses an optional RFC 3339 query parameter.
///
/// # Errors
/// [`Error::BadTime`] naming the parameter.
pub fn parse_time(param: &'static str, value: Option<&String>) -> Result<Option<DateTime<Utc>>> {
    value
        .map(|v| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| Error::BadTime { param })
        })
        .transpose()
}

/// A request's query parameters by name, as the handlers read them.
///
/// By the time a handler runs, the request layer ([`crate::layers`]) has
/// refused every name the route does not declare in [`crate::routes::ROUTES`]
/// and every repeat of a parameter that is not [`Param::repeatable`], so each
/// name here is declared and comes once, but for the repeatable lists, whose
/// values are joined with `,` into one list (`?pin=a&pin=b` reads as `a,b`).
///
/// In debug builds (tests), [`Params::get`] panics when a handler reads a
/// name its route does not declare: the layer would refuse that parameter,
/// so the route table has to list it.
///
/// [`Param::repeatable`]: crate::routes::Param::repeatable
#[derive(Debug, Default)]
pub(crate) struct Params {
    values: HashMap<String, String>,
    route: Option<&'static RouteSpec>,
}

impl Params {
    /// The parameter `name`'s value, if it came (a repeatable one's values joined with `,`).
    pub(crate) fn get(&self, name: &str) -> Option<&String> {
        debug_assert!(
            self.route.is_none_or(|r| r.query_params().any(|p| p.name == name)),
            "{} reads the query parameter {name:?}, which its entry in routes::ROUTES does not declare",
            self.route.map_or("", |r| r.path)
        );
        self.values.get(name)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params> {
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .and_then(|p| crate::routes::find(p.as_str(), &parts.method));
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(|e| Error::Unreadable {
            status: e.status(),
            problem: e.body_text(),
        })?;
        let mut values: HashMap<String, String> = HashMap::with_capacity(pairs.len());
        for (name, value) in pairs {
            match values.entry(name) {
                Entry::Occupied(mut all) => {
                    let all = all.get_mut();
                    all.push(',');
                    all.push_str(&value);
                }
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
            }
        }
        Ok(Params { values, route })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_params() -> Params {
        Params {
            values: HashMap::from([("limit".to_owned(), "5".to_owned())]),
            route: crate::routes::find("/api/v1/runs", &axum::http::Method::GET),
        }
    }

    #[test]
    fn a_declared_parameter_reads() {
        let q = runs_params();
        assert!(q.route.is_some());
        assert_eq!(q.get("limit").map(String::as_str), Some("5"));
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "which its entry in routes::ROUTES does not declare")]
    fn reading_a_parameter_the_route_does_not_declare_panics_in_debug_builds() {
        let _ = runs_params().get("offset");
    }
}
