//! Writing the present state out: Bulk Data style NDJSON files (one
//! `<Type>.ndjson` per resource type, relative references), transaction
//! bundles (`urn:uuid:` references, `PUT Type/id` requests) and batch
//! bundles of a bounded size (relative references, `PUT Type/id`, every
//! resource after what it refers to), for servers that refuse large
//! transactions (HAPI's and Medplum's defaults).

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use crate::fhir::{RefStyle, uuid_for};
use crate::{Error, Hospital};

/// Every resource type the simulator emits, in the order files are written
/// and counts are reported.
pub const RESOURCE_TYPES: [&str; 9] = [
    "Location",
    "Patient",
    "Encounter",
    "Condition",
    "CarePlan",
    "MedicationRequest",
    "ServiceRequest",
    "Task",
    "Observation",
];

/// What was written: resources per type.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// `(resource type, count)` in [`RESOURCE_TYPES`] order.
    pub counts: Vec<(&'static str, usize)>,
    /// The files written, in the same order.
    pub files: Vec<PathBuf>,
}

impl Summary {
    /// All resources.
    pub fn total(&self) -> usize {
        self.counts.iter().map(|(_, n)| n).sum()
    }

    /// The count for one resource type (0 when unknown).
    pub fn count(&self, resource_type: &str) -> usize {
        self.counts
            .iter()
            .find(|(t, _)| *t == resource_type)
            .map_or(0, |(_, n)| *n)
    }
}

fn type_index(v: &Value) -> Option<usize> {
    let t = v.get("resourceType")?.as_str()?;
    RESOURCE_TYPES.iter().position(|r| *r == t)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One transaction-bundle entry for `resource`.
fn entry(resource: Value) -> Value {
    let ty = resource["resourceType"].as_str().unwrap_or_default().to_owned();
    let id = resource["id"].as_str().unwrap_or_default().to_owned();
    json!({
        "fullUrl": format!("urn:uuid:{}", uuid_for(&ty, &id)),
        "resource": resource,
        "request": { "method": "PUT", "url": format!("{ty}/{id}") },
    })
}

impl Hospital {
    /// Every resource of the present state, with relative references:
    /// all Locations; Patients and Encounters of inpatients and of patients
    /// discharged in the last 24 hours; their Conditions, CarePlans (active,
    /// or completed in the last 24 hours), MedicationRequests (active, or
    /// stopped in the last 24 hours), ServiceRequests and Tasks (open, or
    /// done or cancelled in the last 24 hours) and, for inpatients,
    /// Observations of the last 48 hours plus the latest Norton, emotional
    /// support and ADL assessments whatever their age.
    pub fn resources(&self) -> impl Iterator<Item = Value> + '_ {
        self.values(RefStyle::Relative)
    }

    /// The present state as one transaction `Bundle`: `fullUrl` and
    /// references as `urn:uuid:`, each entry a `PUT Type/id`. Holds every
    /// resource in memory; [`Hospital::write_transaction_bundle`] streams.
    pub fn transaction_bundle(&self) -> Value {
        let entries: Vec<Value> = self.values(RefStyle::Urn).map(entry).collect();
        json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
    }

    /// Writes [`Hospital::transaction_bundle`] to `out` without holding it in memory.
    ///
    /// # Errors
    /// Writing fails.
    pub fn write_transaction_bundle(&self, out: &mut dyn Write) -> Result<usize, Error> {
        let mut n = 0;
        let w = |e: std::io::Error| Error::Json(serde_json::Error::io(e));
        out.write_all(br#"{"resourceType":"Bundle","type":"transaction","entry":["#)
            .map_err(w)?;
        for resource in self.values(RefStyle::Urn) {
            if n > 0 {
                out.write_all(b",").map_err(w)?;
            }
            serde_json::to_writer(&mut *out, &entry(resource))?;
            n += 1;
        }
        out.write_all(b"]}\n").map_err(w)?;
        Ok(n)
    }

    /// Writes the present state as batch Bundles of at most `size` entries
    /// (`batch-0001.json`, …, into `dir`): relative references, each entry a
    /// `PUT Type/id`, so that a server keeps the simulator's ids. Posted in
    /// file order, every resource comes after what it refers to: Locations
    /// parents first, then Patients, Encounters and the rest (a server that
    /// checks references on write, as HAPI does by default, accepts every
    /// entry). Returns the files written and the resources in them.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory or a file cannot be written.
    pub fn write_batch_bundles(&self, dir: &Path, size: usize) -> Result<(Vec<PathBuf>, usize), Error> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let mut by_type: Vec<Vec<Value>> = RESOURCE_TYPES.iter().map(|_| Vec::new()).collect();
        for resource in self.resources() {
            if let Some(i) = type_index(&resource) {
                by_type[i].push(resource);
            }
        }
        // Locations by depth along partOf: wards, then teams, rooms, beds
        let parent: std::collections::HashMap<String, String> = by_type[0]
            .iter()
            .filter_map(|l| {
                let id = l["id"].as_str()?;
                let p = l["partOf"]["reference"].as_str()?.strip_prefix("Location/")?;
                Some((id.to_owned(), p.to_owned()))
            })
            .collect();
        let depth = |id: &str| {
            let (mut d, mut at) = (0usize, id);
            while let Some(p) = parent.get(at).filter(|_| d < 16) {
                d += 1;
                at = p;
            }
            d
        };
        by_type[0].sort_by_cached_key(|l| depth(l["id"].as_str().unwrap_or_default()));
        let all: Vec<Value> = by_type.into_iter().flatten().collect();
        let mut files = Vec::new();
        for (n, chunk) in all.chunks(size.max(1)).enumerate() {
            let path = dir.join(format!("batch-{:04}.json", n + 1));
            let entries: Vec<Value> = chunk
                .iter()
                .map(|r| {
                    let ty = r["resourceType"].as_str().unwrap_or_default();
                    let id = r["id"].as_str().unwrap_or_default();
                    json!({ "resource": r, "request": { "method": "PUT", "url": format!("{ty}/{id}") } })
                })
                .collect();
            let bundle = json!({ "resourceType": "Bundle", "type": "batch", "entry": entries });
            let file = File::create(&path).map_err(io(&path))?;
            let mut w = BufWriter::new(file);
            serde_json::to_writer(&mut w, &bundle)
                .map_err(std::io::Error::from)
                .and_then(|()| w.write_all(b"\n"))
                .and_then(|()| w.flush())
                .map_err(io(&path))?;
            files.push(path);
        }
        Ok((files, all.len()))
    }

    /// Writes one `<Type>.ndjson` per resource type into `dir` (created if
    /// needed; files of every type are written, empty ones included), one
    /// resource per line, relative references, as a Bulk Data export does.
    ///
    /// # Errors
    /// [`Error::Io`] when the directory or a file cannot be written.
    pub fn write_ndjson(&self, dir: &Path) -> Result<Summary, Error> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let files: Vec<PathBuf> = RESOURCE_TYPES.iter().map(|t| dir.join(format!("{t}.ndjson"))).collect();
        let mut writers = Vec::with_capacity(files.len());
        for f in &files {
            writers.push(BufWriter::new(File::create(f).map_err(io(f))?));
        }
        let mut counts = [0usize; RESOURCE_TYPES.len()];
        for resource in self.resources() {
            let Some(i) = type_index(&resource) else {
                continue;
            };
            let w = &mut writers[i];
            serde_json::to_writer(&mut *w, &resource)
                .map_err(std::io::Error::from)
                .and_then(|()| w.write_all(b"\n"))
                .map_err(io(&files[i]))?;
            counts[i] += 1;
        }
        for (w, f) in writers.iter_mut().zip(&files) {
            w.flush().map_err(io(f))?;
        }
        Ok(Summary {
            counts: RESOURCE_TYPES.iter().copied().zip(counts).collect(),
            files,
        })
    }
}
