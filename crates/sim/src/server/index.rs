//! The served snapshot: every resource of the hospital's present, serialised
//! once, sorted by id per type, with the keys its search parameters match on
//! and a reverse index of references for `_revinclude`.
//!
//! The search parameters are a table ([`TYPES`]): a name, a kind (token or
//! reference) and a path into the resource, walked like a small FHIRPath
//! (arrays are flattened at every step). A token leaf is a `code` string, a
//! `Coding` or a `CodeableConcept`; a reference leaf is a `Reference` whose
//! `reference` is `Type/id`.
//!
//! Strict where standard servers are (HAPI, Medplum), so that what passes
//! here passes there:
//!
//! * `Encounter`'s `location` matches the Location named only, never what
//!   lies below it: `location=Location/w01` finds no patient, who lie in
//!   beds under the ward.
//! * A reference parameter with several target types in R4
//!   ([`ParamDef::several_targets`]: Observation's and ServiceRequest's
//!   `encounter`, every `subject`) matches typed values only
//!   (`encounter=Encounter/e1`); a bare id matches nothing.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Hospital;
use crate::output::RESOURCE_TYPES;

/// What kind of value a search parameter matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `[system]|[code]`.
    Token,
    /// A reference to a resource of the given type.
    Reference(&'static str),
}

/// One search parameter of one resource type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ParamDef {
    /// Its name in the query string.
    pub(crate) name: &'static str,
    /// Token or reference.
    pub(crate) kind: Kind,
    /// The path of elements holding its values.
    pub(crate) path: &'static [&'static str],
    /// Whether R4's SearchParameter gives it more than one target type
    /// (`clinical-encounter`: Encounter and EpisodeOfCare; `subject`:
    /// Patient, Group…): then a bare id matches nothing, as on a standard
    /// server, and only `Type/id` values match.
    pub(crate) several_targets: bool,
    /// What it searches, for the CapabilityStatement.
    pub(crate) doc: &'static str,
}

const fn token(name: &'static str, path: &'static [&'static str], doc: &'static str) -> ParamDef {
    ParamDef {
        name,
        kind: Kind::Token,
        path,
        several_targets: false,
        doc,
    }
}

const fn reference(
    name: &'static str,
    target: &'static str,
    path: &'static [&'static str],
    doc: &'static str,
) -> ParamDef {
    ParamDef {
        name,
        kind: Kind::Reference(target),
        path,
        several_targets: false,
        doc,
    }
}

/// A reference parameter that R4 gives several target types (see
/// [`ParamDef::several_targets`]); this server holds only `target`.
const fn reference_of_several(
    name: &'static str,
    target: &'static str,
    path: &'static [&'static str],
    doc: &'static str,
) -> ParamDef {
    ParamDef {
        several_targets: true,
        ..reference(name, target, path, doc)
    }
}

const PATIENT: ParamDef = reference("patient", "Patient", &["subject"], "the patient (subject)");
// R4: every `subject` may point at a Group as well (and more)
const SUBJECT: ParamDef = reference_of_several("subject", "Patient", &["subject"], "the subject (a Patient)");
const ENCOUNTER: ParamDef = reference("encounter", "Encounter", &["encounter"], "the encounter (stay)");
// R4 `clinical-encounter` (Observation, ServiceRequest): Encounter or EpisodeOfCare
const CLINICAL_ENCOUNTER: ParamDef = reference_of_several(
    "encounter",
    "Encounter",
    &["encounter"],
    "the encounter (stay); R4 allows EpisodeOfCare too, so give it typed: Encounter/<id>",
);
const STATUS: ParamDef = token("status", &["status"], "status code");
const CATEGORY: ParamDef = token("category", &["category"], "category, system|code");
const CODE: ParamDef = token("code", &["code"], "code, system|code");
const INTENT: ParamDef = token("intent", &["intent"], "intent code");

/// A resource type and its search parameters (besides `_id` and `_lastUpdated`).
#[derive(Debug)]
pub(crate) struct TypeDef {
    /// The resource type.
    pub(crate) name: &'static str,
    /// Its search parameters.
    pub(crate) params: &'static [ParamDef],
}

/// Every served type, in [`RESOURCE_TYPES`] order.
pub(crate) const TYPES: [TypeDef; 9] = [
    TypeDef {
        name: "Location",
        params: &[
            reference(
                "partof",
                "Location",
                &["partOf"],
                "the parent location (ward of a team, team of a room, room of a bed)",
            ),
            token("type", &["type"], "type: ward specialty (SNOMED CT) and care category"),
            STATUS,
        ],
    },
    TypeDef {
        name: "Patient",
        params: &[token("gender", &["gender"], "administrative gender")],
    },
    TypeDef {
        name: "Encounter",
        params: &[
            STATUS,
            token("class", &["class"], "class, e.g. IMP (inpatient)"),
            PATIENT,
            SUBJECT,
            reference(
                "location",
                "Location",
                &["location", "location"],
                "the location named (a bed); not what lies below it",
            ),
        ],
    },
    TypeDef {
        name: "Condition",
        params: &[
            PATIENT,
            SUBJECT,
            ENCOUNTER,
            CODE,
            CATEGORY,
            token("clinical-status", &["clinicalStatus"], "clinical status"),
        ],
    },
    TypeDef {
        name: "CarePlan",
        params: &[PATIENT, SUBJECT, ENCOUNTER, STATUS, CATEGORY],
    },
    TypeDef {
        name: "MedicationRequest",
        params: &[
            PATIENT,
            SUBJECT,
            ENCOUNTER,
            STATUS,
            INTENT,
            token(
                "code",
                &["medicationCodeableConcept"],
                "medication code (ATC), system|code",
            ),
            CATEGORY,
        ],
    },
    TypeDef {
        name: "ServiceRequest",
        params: &[PATIENT, SUBJECT, CLINICAL_ENCOUNTER, STATUS, INTENT, CODE, CATEGORY],
    },
    TypeDef {
        name: "Task",
        params: &[
            reference("patient", "Patient", &["for"], "the patient (Task.for)"),
            reference_of_several("subject", "Patient", &["for"], "the patient (Task.for)"),
            ENCOUNTER,
            STATUS,
            INTENT,
            CODE,
        ],
    },
    TypeDef {
        name: "Observation",
        params: &[PATIENT, SUBJECT, CLINICAL_ENCOUNTER, STATUS, CODE, CATEGORY],
    },
];

/// The index of a served type by name.
pub(crate) fn type_index(name: &str) -> Option<usize> {
    TYPES.iter().position(|t| t.name == name)
}

/// A value a resource holds for one search parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyValue {
    /// A code, with its system when it has one.
    Token {
        /// The code system.
        system: Option<Box<str>>,
        /// The code.
        code: Box<str>,
    },
    /// A reference `Type/id`.
    Ref {
        /// The target type.
        ty: Box<str>,
        /// The target id.
        id: Box<str>,
    },
}

/// One key of a resource.
#[derive(Clone, Debug)]
pub(crate) struct Key {
    /// Index into the type's [`TypeDef::params`].
    pub(crate) param: u8,
    /// The value.
    pub(crate) value: KeyValue,
}

/// One served resource.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Its id.
    pub(crate) id: Box<str>,
    /// `meta.lastUpdated`.
    pub(crate) last_updated: DateTime<Utc>,
    /// The resource as JSON.
    pub(crate) json: Box<[u8]>,
    /// What its search parameters match.
    pub(crate) keys: Vec<Key>,
}

/// All resources of one type.
#[derive(Debug, Default)]
pub(crate) struct Table {
    /// Sorted by id; shared with the snapshots before and after that hold
    /// the same resource unchanged.
    pub(crate) entries: Vec<Arc<Entry>>,
    /// Per reference parameter (by index): target id → entries referring to it directly.
    pub(crate) rev: Vec<HashMap<Box<str>, Vec<u32>>>,
}

impl Table {
    /// The entry with this id.
    pub(crate) fn get(&self, id: &str) -> Option<&Entry> {
        self.position(id).map(|i| &*self.entries[i])
    }

    /// The position of the entry with this id.
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.entries.binary_search_by(|e| (*e.id).cmp(id)).ok()
    }
}

/// The hospital's present, ready to serve.
#[derive(Debug)]
pub(crate) struct Snapshot {
    /// The simulated present.
    pub(crate) now: DateTime<Utc>,
    /// Which snapshot this is ([`new_tag`]): a search's cursor carries the
    /// `total` it counted in the snapshot of this tag, so that later pages
    /// of the same snapshot need not count again.
    pub(crate) tag: u64,
    /// One table per [`TYPES`] entry.
    pub(crate) tables: Vec<Table>,
}

impl Snapshot {
    /// All resources.
    pub(crate) fn len(&self) -> usize {
        self.tables.iter().map(|t| t.entries.len()).sum()
    }

    /// Indexes the hospital's present state.
    pub(crate) fn build(h: &Hospital) -> Snapshot {
        Snapshot::build_reusing(h, None)
    }

    /// Indexes the hospital's present state, reusing the entries of
    /// `previous` that cannot have changed: a resource whose
    /// `meta.lastUpdated` is the same as in `previous` and before
    /// `previous.now`. (Every change made after a present is stamped at or
    /// after it — the contract `_lastUpdated` searches rely on, tested in
    /// `tests/server.rs` — so such a resource is byte for byte the same.)
    /// Advancing an hour then serialises only what the hour changed.
    pub(crate) fn build_reusing(h: &Hospital, previous: Option<&Snapshot>) -> Snapshot {
        let mut values: Vec<Vec<Value>> = TYPES.iter().map(|_| Vec::new()).collect();
        // resources `previous` serves unchanged come as stubs, which `table`
        // replaces with the served entry (the same test decides)
        let reusable = |ty: &str, id: &str, at: DateTime<Utc>| {
            previous.is_some_and(|p| {
                at < p.now && type_index(ty).is_some_and(|i| p.tables[i].get(id).is_some_and(|e| e.last_updated == at))
            })
        };
        let resources: Box<dyn Iterator<Item = Value>> = match previous {
            Some(_) => Box::new(h.values_reusing(&reusable)),
            None => Box::new(h.resources()),
        };
        for r in resources {
            let ty = r.get("resourceType").and_then(Value::as_str).and_then(type_index);
            if let Some(i) = ty {
                values[i].push(r);
            }
        }
        debug_assert_eq!(TYPES.map(|t| t.name), RESOURCE_TYPES);
        let tables = std::thread::scope(|s| {
            let handles: Vec<_> = values
                .into_iter()
                .enumerate()
                .map(|(i, vs)| {
                    let reuse = previous.map(|p| (&p.tables[i], p.now));
                    s.spawn(move || table(&TYPES[i], vs, reuse))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect::<Vec<Table>>()
        });
        Snapshot {
            now: h.now(),
            tag: new_tag(),
            tables,
        }
    }
}

/// A tag no other snapshot of this process has (a counter), offset by a
/// random number drawn once per process, so that a cursor from an earlier
/// run of the server is unlikely to pass for one of this run.
fn new_tag() -> u64 {
    static SALT: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let salt = *SALT.get_or_init(|| std::collections::hash_map::RandomState::new().build_hasher().finish());
    salt.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed))
}

fn table(def: &TypeDef, values: Vec<Value>, reuse: Option<(&Table, DateTime<Utc>)>) -> Table {
    let unchanged = |v: &Value| -> Option<Arc<Entry>> {
        let (previous, before) = reuse?;
        let old = &previous.entries[previous.position(v.get("id")?.as_str()?)?];
        let stamp = v.pointer("/meta/lastUpdated").and_then(Value::as_str)?;
        // cheap: the stamp is written by `fhir::ts`, so equal instants are equal strings
        (old.last_updated < before && stamp == crate::fhir::ts(old.last_updated)).then(|| old.clone())
    };
    let mut entries: Vec<Arc<Entry>> = values
        .iter()
        .filter_map(|v| unchanged(v).or_else(|| entry(def, v).map(Arc::new)))
        .collect();
    drop(values);
    entries.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    entries.dedup_by(|a, b| a.id == b.id);
    let mut rev: Vec<HashMap<Box<str>, Vec<u32>>> = def.params.iter().map(|_| HashMap::new()).collect();
    for (i, e) in entries.iter().enumerate() {
        for k in &e.keys {
            if let KeyValue::Ref { id, .. } = &k.value {
                rev[usize::from(k.param)].entry(id.clone()).or_default().push(i as u32);
            }
        }
    }
    Table { entries, rev }
}

fn entry(def: &TypeDef, v: &Value) -> Option<Entry> {
    let id = v.get("id")?.as_str()?;
    let last_updated = v
        .pointer("/meta/lastUpdated")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())?
        .to_utc();
    let json = serde_json::to_vec(v).ok()?.into_boxed_slice();
    let mut keys = Vec::new();
    let mut leaves = Vec::new();
    for (p, param) in def.params.iter().enumerate() {
        leaves.clear();
        walk(v, param.path, &mut leaves);
        for leaf in &leaves {
            match param.kind {
                Kind::Token => token_keys(leaf, &mut |value| {
                    keys.push(Key { param: p as u8, value });
                }),
                Kind::Reference(_) => {
                    let Some(value) = ref_key(leaf) else { continue };
                    keys.push(Key { param: p as u8, value });
                }
            }
        }
    }
    Some(Entry {
        id: id.into(),
        last_updated,
        json,
        keys,
    })
}

/// Collects the values at `path`, flattening arrays at every step.
fn walk<'a>(v: &'a Value, path: &[&str], out: &mut Vec<&'a Value>) {
    if let Value::Array(items) = v {
        for x in items {
            walk(x, path, out);
        }
        return;
    }
    match path.split_first() {
        None => out.push(v),
        Some((head, rest)) => {
            if let Some(x) = v.get(head) {
                walk(x, rest, out);
            }
        }
    }
}

/// The tokens of a `code`, `Coding` or `CodeableConcept`.
fn token_keys(v: &Value, push: &mut dyn FnMut(KeyValue)) {
    let coding = |c: &Value| {
        let code = c.get("code")?.as_str()?;
        Some(KeyValue::Token {
            system: c.get("system").and_then(Value::as_str).map(Into::into),
            code: code.into(),
        })
    };
    match v {
        Value::String(s) => push(KeyValue::Token {
            system: None,
            code: s.as_str().into(),
        }),
        Value::Object(m) => match m.get("coding").and_then(Value::as_array) {
            Some(codings) => codings.iter().filter_map(coding).for_each(push),
            None => coding(v).into_iter().for_each(push),
        },
        _ => {}
    }
}

/// The `Type/id` of a relative `Reference`.
fn ref_key(v: &Value) -> Option<KeyValue> {
    let r = v.get("reference")?.as_str()?;
    let (ty, id) = split_reference(r)?;
    Some(KeyValue::Ref {
        ty: ty.into(),
        id: id.into(),
    })
}

/// `Type/id` (or an absolute URL ending in it) → `(Type, id)`.
pub(crate) fn split_reference(r: &str) -> Option<(&str, &str)> {
    let r = r.trim_end_matches('/');
    let (rest, id) = r.rsplit_once('/')?;
    let ty = rest.rsplit('/').next()?;
    (!ty.is_empty() && !id.is_empty()).then_some((ty, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_type_and_id() {
        let cases = [
            ("Patient/p1", Some(("Patient", "p1"))),
            ("http://x/fhir/Location/w01", Some(("Location", "w01"))),
            ("p1", None),
            ("Patient/", None),
        ];
        for (r, expected) in cases {
            assert_eq!(split_reference(r), expected, "{r}");
        }
    }

    #[test]
    fn parameters_are_unique_per_type_and_fit_a_byte() {
        for t in &TYPES {
            assert!(t.params.len() < 256);
            for (i, p) in t.params.iter().enumerate() {
                assert!(!t.params[..i].iter().any(|q| q.name == p.name), "{}.{}", t.name, p.name);
            }
        }
    }

    #[test]
    fn an_index_reusing_the_previous_hour_equals_a_fresh_one() {
        let start = "2026-11-23T09:00:00Z".parse().unwrap();
        let mut h = crate::Hospital::new(crate::SimConfig {
            beds: 60,
            ..crate::SimConfig::new(3, start)
        })
        .unwrap();
        let mut reused = Snapshot::build(&h);
        for _ in 0..10 {
            h.advance_hours(1);
            reused = Snapshot::build_reusing(&h, Some(&reused));
            let fresh = Snapshot::build(&h);
            assert_eq!(reused.now, fresh.now);
            for (r, f) in reused.tables.iter().zip(&fresh.tables) {
                assert_eq!(r.entries.len(), f.entries.len());
                for (a, b) in r.entries.iter().zip(&f.entries) {
                    assert_eq!((&a.id, a.last_updated), (&b.id, b.last_updated));
                    assert!(a.json == b.json, "{} differs", a.id);
                    assert_eq!(format!("{:?}", a.keys), format!("{:?}", b.keys), "{}", a.id);
                }
                let sorted = |t: &Table| -> Vec<std::collections::BTreeMap<Box<str>, Vec<u32>>> {
                    t.rev.iter().map(|m| m.clone().into_iter().collect()).collect()
                };
                assert_eq!(sorted(r), sorted(f));
            }
        }
    }
}
