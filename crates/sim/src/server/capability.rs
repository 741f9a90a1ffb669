//! The server's R4 `CapabilityStatement`, built from the search parameter
//! table: every type with `read` and `search-type`, its parameters, the
//! `_include`s it supports (each of its reference parameters) and the
//! `_revinclude`s (every reference parameter of another type that points at
//! it).

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::index::{Kind, TYPES};
use super::search::{DEFAULT_COUNT, MAX_COUNT};

/// The CapabilityStatement served at `metadata`.
pub(crate) fn capability_statement(base: &str, now: DateTime<Utc>) -> Value {
    let resources: Vec<Value> = TYPES
        .iter()
        .map(|t| {
            let mut params = vec![
                json!({ "name": "_id", "type": "token", "documentation": "logical id" }),
                json!({
                    "name": "_lastUpdated",
                    "type": "date",
                    "documentation": "meta.lastUpdated with prefix gt, ge, lt, le, eq or ne",
                }),
            ];
            params.extend(t.params.iter().map(|p| {
                json!({
                    "name": p.name,
                    "type": match p.kind { Kind::Token => "token", Kind::Reference(_) => "reference" },
                    "documentation": p.doc,
                })
            }));
            let includes: Vec<String> = t
                .params
                .iter()
                .filter(|p| matches!(p.kind, Kind::Reference(_)))
                .map(|p| format!("{}:{}", t.name, p.name))
                .collect();
            let revincludes: Vec<String> = TYPES
                .iter()
                .flat_map(|s| {
                    s.params
                        .iter()
                        .filter(|p| p.kind == Kind::Reference(t.name))
                        .map(move |p| format!("{}:{}", s.name, p.name))
                })
                .collect();
            let mut r = json!({
                "type": t.name,
                "interaction": [{ "code": "read" }, { "code": "search-type" }],
                "versioning": "no-version",
                "readHistory": false,
                "updateCreate": false,
                "searchParam": params,
            });
            if !includes.is_empty() {
                r["searchInclude"] = json!(includes);
            }
            if !revincludes.is_empty() {
                r["searchRevInclude"] = json!(revincludes);
            }
            r
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": crate::fhir::ts(now),
        "publisher": "careload",
        "kind": "instance",
        "software": { "name": "careload-sim", "version": env!("CARGO_PKG_VERSION") },
        "implementation": {
            "description": "careload's simulated hospital (synthetic data only)",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["json", "application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": format!(
                "Read-only. Search pages hold _count results (default {DEFAULT_COUNT}, at most {MAX_COUNT}), sorted by id; follow Bundle.link[next]. Comma-separated values are ORed. Unknown parameters are ignored unless Prefer: handling=strict."
            ),
            "resource": resources,
        }],
    })
}
