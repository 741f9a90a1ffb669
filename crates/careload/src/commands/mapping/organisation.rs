//! `careload mapping organisation`: the hospitals, departments
//! (*verksamheter*) and wards of a FHIR R4 Location tree, written as careload
//! configuration (`[hospitals.<id>]`, `[departments.<id>]`, `[wards.<id>]
//! department`) for an operator to review and add to `careload.toml`.
//!
//! The service itself never reads its organisation from the EHR: a screen
//! token scoped to a department or hospital reaches the wards the
//! configuration gives it, and must not widen because someone edited the
//! Location tree. This command only proposes.
//!
//! The rule, for each ward (a Location whose `physicalType` the mapping's
//! `location_types` call a ward, as the ingest finds wards; `wa` by
//! default), walking `partOf` upwards: the nearest ancestor of
//! physicalType `si` (site) is its hospital; its direct parent, when that is
//! not the site, is its department, whatever its physicalType (`bu`, `wi`,
//! `lvl`, `area`, `ro`…). A ward with no `partOf` at all falls back on its
//! `managingOrganization`: an Organization with a `partOf` is its department
//! and that `partOf` its hospital; one without is its hospital (type
//! `prov`…) or its department (type `dept`). Ids are the Location's (or
//! Organization's), lower-cased, every character outside `[a-z0-9-]`
//! replaced by `-`; ward ids are the ward Locations' ids exactly as the
//! ingest stores them (with the source's `ward_prefix`); names are
//! `Location.name` (`Organization.name`). Location and Organization names
//! and ids are organisation data, not patient data: the raw JSON of those
//! two types is read, nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use careload_ingest::config::{LOCATION_PHYSICAL_TYPE, LocationLevel};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::cli::FhirServerArgs;

/// `careload mapping organisation`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["fhir", "fhir_url"])))]
pub(crate) struct OrganisationArgs {
    /// FHIR R4 input: a Bundle .json file (or a single resource) or a directory of Bulk Data .ndjson
    /// files. Only its Locations and Organizations are read.
    #[arg(long, value_name = "PATH")]
    pub(crate) fhir: Option<PathBuf>,
    /// FHIR R4 input from a live server: its base URL. Its Locations are searched, and the
    /// Organizations that wards without a parent Location name are read by id.
    #[arg(long, value_name = "URL")]
    pub(crate) fhir_url: Option<String>,
    /// With --fhir-url: how the server is read (--ward limits the output to those wards).
    #[command(flatten)]
    pub(crate) server: FhirServerArgs,
    /// The region's mapping file: which Location.physicalType codes are wards (default `wa`).
    #[arg(long, value_name = "FILE")]
    pub(crate) mapping: Option<PathBuf>,
    /// An existing careload.toml: the wards, departments and hospitals it declares are kept as
    /// they are there and not repeated; the output is what to add to it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// The source's `ward_prefix`, when the service reads several EHRs: ward ids are written as
    /// the service stores them, the prefix and the Location id.
    #[arg(long, value_name = "PREFIX", default_value = "")]
    pub(crate) ward_prefix: String,
    /// Where to write the configuration (TOML); none or `-` for standard output.
    #[arg(long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
}

/// `careload mapping organisation …`.
///
/// # Errors
/// The input cannot be read or fetched, the mapping file or the existing
/// configuration is not valid, the output cannot be written.
pub(crate) fn organisation(args: &OrganisationArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let mapping = careload_runner::load_mapping(args.mapping.as_deref())?;
    let existing = match &args.config {
        Some(path) => Some((
            careload_config::Config::load_with(Some(path), std::iter::empty::<(String, String)>())
                .with_context(|| format!("cannot use {} as the existing configuration", path.display()))?,
            path.display().to_string(),
        )),
        None => None,
    };
    let (origin, tree) = match (&args.fhir, &args.fhir_url) {
        (Some(path), _) => (path.display().to_string(), read_files(path)?),
        (None, Some(url)) => (careload_config::redacted_url(url), fetch_tree(&args.server, url)?),
        (None, None) => anyhow::bail!("give --fhir PATH or --fhir-url URL"),
    };
    let options = Options {
        origin: &origin,
        at: Utc::now(),
        existing: existing.as_ref().map(|(c, p)| (c, p.as_str())),
        ward_prefix: &args.ward_prefix,
        only_wards: &args.server.wards,
    };
    let written = write_toml(&tree, &|codings| is_ward(&mapping, codings), &options);
    match args.out.as_deref() {
        Some(path) if path.as_os_str() != "-" => {
            std::fs::write(path, &written.text).with_context(|| format!("cannot write {}", path.display()))?;
        }
        _ => out.write_all(written.text.as_bytes())?,
    }
    writeln!(
        std::io::stderr().lock(),
        "{} wards read: {} placed in {} departments of {} hospitals, {} under a hospital with no department, \
         {} with nothing above them, {} already configured{}",
        written.wards_read,
        written.wards,
        written.departments,
        written.hospitals,
        written.without_department,
        written.unplaced,
        written.already,
        match args.out.as_deref() {
            Some(path) if path.as_os_str() != "-" => format!("; written to {} for review", path.display()),
            _ => String::new(),
        }
    )?;
    Ok(())
}

/// A `physicalType`'s codings: (system, code).
type Codings = Vec<(Option<String>, Option<String>)>;

/// Whether `codings` make a ward under `mapping`, as the ingest decides it
/// (the first coding the `location_types` table maps).
fn is_ward(mapping: &careload_ingest::Mapping, codings: &Codings) -> bool {
    codings
        .iter()
        .find_map(|(system, code)| mapping.location_types.coding(system.as_deref(), code.as_deref()))
        == Some(LocationLevel::Ward)
}

/// What is kept of a Location.
#[derive(Debug, Default)]
struct Loc {
    name: Option<String>,
    physical_type: Codings,
    /// The parent's id (or the reference as written, when it names no Location id).
    part_of: Option<String>,
    managing_organization: Option<String>,
}

/// What is kept of an Organization.
#[derive(Debug, Default)]
struct Org {
    name: Option<String>,
    part_of: Option<String>,
    part_of_display: Option<String>,
    types: Vec<String>,
}

/// The Locations and Organizations of the input, by id.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    locations: BTreeMap<String, Loc>,
    organizations: BTreeMap<String, Org>,
}

/// Location and Organization resources as read, and the `fullUrl`s of a
/// Bundle's entries (`urn:uuid:…` references name them).
#[derive(Default)]
struct Raw {
    resources: Vec<Value>,
    full_urls: HashMap<String, (String, String)>,
}

impl Raw {
    fn add(&mut self, value: Value, full_url: Option<&str>) {
        let Value::Object(mut map) = value else {
            return;
        };
        match map.get("resourceType").and_then(Value::as_str) {
            Some("Bundle") => {
                if let Some(Value::Array(entries)) = map.remove("entry") {
                    for mut entry in entries {
                        let full_url = entry.get("fullUrl").and_then(Value::as_str).map(str::to_owned);
                        if let Some(resource) = entry.get_mut("resource").map(Value::take) {
                            self.add(resource, full_url.as_deref());
                        }
                    }
                }
            }
            Some(ty @ ("Location" | "Organization")) => {
                if let (Some(url), Some(id)) = (full_url, map.get("id").and_then(Value::as_str)) {
                    self.full_urls.insert(url.to_owned(), (ty.to_owned(), id.to_owned()));
                }
                self.resources.push(Value::Object(map));
            }
            _ => {}
        }
    }

    fn into_tree(self) -> Tree {
        let mut tree = Tree::default();
        let text = |v: &Value| v.as_str().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        for r in &self.resources {
            let Some(id) = r.get("id").and_then(Value::as_str) else {
                continue;
            };
            let reference = |v: &Value, ty: &str| {
                v.get("reference")
                    .and_then(Value::as_str)
                    .map(|s| resolve(s, ty, &self.full_urls))
            };
            match r.get("resourceType").and_then(Value::as_str) {
                Some("Location") => {
                    // the first of an id wins, as in a search's first page
                    tree.locations.entry(id.to_owned()).or_insert_with(|| Loc {
                        name: text(&r["name"]),
                        physical_type: codings(&r["physicalType"]),
                        part_of: reference(&r["partOf"], "Location"),
                        managing_organization: reference(&r["managingOrganization"], "Organization"),
                    });
                }
                Some("Organization") => {
                    tree.organizations.entry(id.to_owned()).or_insert_with(|| Org {
                        name: text(&r["name"]),
                        part_of: reference(&r["partOf"], "Organization"),
                        part_of_display: text(&r["partOf"]["display"]),
                        types: r["type"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .flat_map(codings)
                            .filter_map(|(_, code)| code)
                            .collect(),
                    });
                }
                _ => {}
            }
        }
        tree
    }
}

/// A CodeableConcept's codings.
fn codings(cc: &Value) -> Codings {
    cc.get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c.get("system").and_then(Value::as_str).map(str::to_owned),
                c.get("code").and_then(Value::as_str).map(str::to_owned),
            )
        })
        .collect()
}

/// The id a reference names, of type `ty`: a Bundle entry's `fullUrl`, or
/// `Type/id` at the end of a relative or absolute URL (a `_history` version
/// dropped); else the reference as written, which names no held resource.
fn resolve(reference: &str, ty: &str, full_urls: &HashMap<String, (String, String)>) -> String {
    if let Some((t, id)) = full_urls.get(reference) {
        return if t == ty { id.clone() } else { reference.to_owned() };
    }
    let path = match reference.find("/_history/") {
        Some(i) => &reference[..i],
        None => reference,
    };
    let mut parts = path.rsplit('/');
    match (parts.next(), parts.next()) {
        (Some(id), Some(t)) if t == ty && !id.is_empty() => id.to_owned(),
        _ => reference.to_owned(),
    }
}

/// The Locations and Organizations of a Bundle (or resource) file, or of a
/// directory's `.ndjson` files, line by line (an export may be gigabytes).
fn read_files(path: &Path) -> anyhow::Result<Tree> {
    let mut raw = Raw::default();
    if !path.is_dir() {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let value: Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not FHIR JSON", path.display()))?;
        raw.add(value, None);
        return Ok(raw.into_tree());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| f.extension().is_some_and(|e| e.eq_ignore_ascii_case("ndjson")))
        .collect();
    files.sort();
    for file in files {
        let reader = BufReader::new(File::open(&file).with_context(|| format!("cannot read {}", file.display()))?);
        for line in reader.lines() {
            let line = line.with_context(|| format!("cannot read {}", file.display()))?;
            if !(line.contains("\"Location\"") || line.contains("\"Organization\"")) {
                continue;
            }
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                raw.add(value, None);
            }
        }
    }
    Ok(raw.into_tree())
}

/// The Locations of a FHIR server (every page of `Location?_count=…`), and
/// the Organizations that wards with no parent Location name, with theirs
/// (`partOf`), read by id.
fn fetch_tree(server: &FhirServerArgs, url: &str) -> anyhow::Result<Tree> {
    let config = careload_ingest::RestConfig {
        token_env: server.token_env.clone(),
        trusted_origins: server.trusted_origins.clone(),
        ..careload_ingest::RestConfig::new(url)
    };
    let client = careload_ingest::FhirClient::new(&config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let search = format!("Location?_count={}", config.page_size);
    let (resources, _) = runtime.block_on(careload_ingest::source::rest::search(&client, &config, &search))?;
    let mut raw = Raw::default();
    for loc in resources.locations.values() {
        let mut value = serde_json::to_value(loc).context("cannot read a Location back")?;
        if let Value::Object(map) = &mut value {
            map.insert("resourceType".into(), Value::from("Location"));
        }
        raw.add(value, None);
    }
    let mut tree = raw.into_tree();
    // the Organizations wards without a parent Location name, and their parents
    let mut wanted: Vec<String> = tree
        .locations
        .values()
        .filter(|l| l.part_of.is_none())
        .filter_map(|l| l.managing_organization.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let token = match &server.token_env {
        Some(var) => Some(std::env::var(var).with_context(|| {
            format!("the environment variable {var} (--token-env) holding the server's token is not set")
        })?),
        None => None,
    };
    // reqwest's client needs the runtime's context to be built
    let _entered = runtime.enter();
    let http = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .build()
        .context("cannot build the HTTP client")?;
    let base = url.trim_end_matches('/');
    for _level in 0..2 {
        let mut next = Vec::new();
        for id in wanted {
            // a FHIR id only ([A-Za-z0-9-.]{1,64}): never a path or query of the token's server
            let is_id =
                (1..=64).contains(&id.len()) && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
            if tree.organizations.contains_key(&id) || !is_id {
                continue;
            }
            let mut request = http
                .get(format!("{base}/Organization/{id}"))
                .header("Accept", "application/fhir+json");
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let value = runtime.block_on(async {
                let response = request.send().await.map_err(|e| e.to_string())?;
                let status = response.status();
                if !status.is_success() {
                    return Err(format!("HTTP {status}"));
                }
                response.json::<Value>().await.map_err(|e| e.to_string())
            });
            let value = match value {
                Ok(v) => v,
                Err(e) => {
                    writeln!(
                        std::io::stderr().lock(),
                        "  warning: cannot read Organization/{id}: {e}; the wards it manages are listed as having nothing above them"
                    )?;
                    continue;
                }
            };
            let mut raw = Raw::default();
            raw.add(value, None);
            let fetched = raw.into_tree();
            for (id, org) in fetched.organizations {
                if let Some(parent) = &org.part_of {
                    next.push(parent.clone());
                }
                tree.organizations.entry(id).or_insert(org);
            }
        }
        wanted = next;
    }
    Ok(tree)
}

/// A unit above the wards, as the tree names it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Unit {
    Location(String),
    Organization(String),
}

impl Unit {
    fn source_id(&self) -> &str {
        match self {
            Unit::Location(id) | Unit::Organization(id) => id,
        }
    }

    fn describe(&self) -> String {
        match self {
            Unit::Location(id) => format!("Location/{id}"),
            Unit::Organization(id) => format!("Organization/{id}"),
        }
    }
}

/// Where the tree places one ward.
#[derive(Debug, Default)]
struct Placed {
    department: Option<Unit>,
    hospital: Option<Unit>,
    /// Why nothing above it was found.
    why: Option<String>,
}

impl Tree {
    fn is_site(&self, id: &str) -> bool {
        self.locations.get(id).is_some_and(|l| {
            l.physical_type.iter().any(|(system, code)| {
                code.as_deref() == Some("si") && system.as_deref().is_none_or(|s| s == LOCATION_PHYSICAL_TYPE)
            })
        })
    }

    fn name(&self, unit: &Unit) -> Option<&str> {
        match unit {
            Unit::Location(id) => self.locations.get(id).and_then(|l| l.name.as_deref()),
            Unit::Organization(id) => self.organizations.get(id).and_then(|o| o.name.as_deref()).or_else(|| {
                // a parent Organization not in the input: the display its children give it
                self.organizations
                    .values()
                    .find(|o| o.part_of.as_deref() == Some(id))
                    .and_then(|o| o.part_of_display.as_deref())
            }),
        }
    }

    /// The department and hospital of ward `ward` by the rule (module docs).
    fn place(&self, ward: &str) -> Placed {
        let Some(loc) = self.locations.get(ward) else {
            return Placed::default();
        };
        match &loc.part_of {
            Some(parent) => self.place_in_locations(ward, parent),
            None => self.place_in_organizations(loc),
        }
    }

    fn place_in_locations(&self, ward: &str, parent: &str) -> Placed {
        let mut placed = Placed::default();
        let mut seen: HashSet<&str> = HashSet::from([ward]);
        let mut current = parent;
        loop {
            let Some(loc) = self.locations.get(current) else {
                if placed.department.is_none() {
                    placed.why = Some(format!("its partOf {current:?} is not in the input"));
                }
                return placed;
            };
            if !seen.insert(current) {
                if placed.department.is_none() {
                    placed.why = Some("its partOf chain is a loop".to_owned());
                }
                return placed;
            }
            if self.is_site(current) {
                placed.hospital = Some(Unit::Location(current.to_owned()));
                return placed;
            }
            if placed.department.is_none() {
                placed.department = Some(Unit::Location(current.to_owned()));
            }
            match &loc.part_of {
                Some(p) => current = p,
                None => return placed,
            }
        }
    }

    fn place_in_organizations(&self, loc: &Loc) -> Placed {
        let Some(org_id) = &loc.managing_organization else {
            return Placed {
                why: Some("it has no partOf and no managingOrganization".to_owned()),
                ..Placed::default()
            };
        };
        let Some(org) = self.organizations.get(org_id) else {
            return Placed {
                why: Some(format!(
                    "it has no partOf, and its managingOrganization {org_id:?} is not in the input"
                )),
                ..Placed::default()
            };
        };
        let unit = Unit::Organization(org_id.clone());
        match &org.part_of {
            Some(parent) => Placed {
                department: Some(unit),
                hospital: Some(Unit::Organization(parent.clone())),
                why: None,
            },
            None if org.types.iter().any(|t| t == "dept") => Placed {
                department: Some(unit),
                ..Placed::default()
            },
            None => Placed {
                hospital: Some(unit),
                ..Placed::default()
            },
        }
    }
}

/// A configuration id: lower-cased, every character outside `[a-z0-9-]`
/// replaced by `-`.
pub(crate) fn config_id(id: &str) -> String {
    id.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Configuration ids for `units`, in order: [`config_id`], with `-2`, `-3`…
/// when two units of the tree would share one.
fn assign_ids<'a>(units: impl Iterator<Item = &'a Unit>) -> BTreeMap<Unit, String> {
    let mut used = BTreeSet::new();
    let mut ids = BTreeMap::new();
    for unit in units {
        let base = config_id(unit.source_id());
        let mut id = base.clone();
        let mut n = 1;
        while !used.insert(id.clone()) {
            n += 1;
            id = format!("{base}-{n}");
        }
        ids.insert(unit.clone(), id);
    }
    ids
}

/// A TOML basic string on one line (so also a valid quoted key).
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A TOML key: bare when it may be, else quoted.
fn key(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        s.to_owned()
    } else {
        quoted(s)
    }
}

/// How the output is made.
struct Options<'a> {
    /// Where the tree was read from.
    origin: &'a str,
    /// When.
    at: DateTime<Utc>,
    /// An existing configuration and its file.
    existing: Option<(&'a careload_config::Config, &'a str)>,
    /// The source's `ward_prefix`.
    ward_prefix: &'a str,
    /// Only these ward Location ids (all when empty).
    only_wards: &'a [String],
}

/// The configuration text and what it holds.
#[derive(Debug, Default)]
struct Written {
    text: String,
    wards_read: usize,
    wards: usize,
    departments: usize,
    hospitals: usize,
    without_department: usize,
    unplaced: usize,
    already: usize,
}

/// A text on one line: a comment's, or a display name's.
fn one_line(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// The configuration for `tree` (see the module documentation).
fn write_toml(tree: &Tree, is_ward: &dyn Fn(&Codings) -> bool, o: &Options<'_>) -> Written {
    let wards: Vec<&String> = tree
        .locations
        .iter()
        .filter(|(id, l)| is_ward(&l.physical_type) && (o.only_wards.is_empty() || o.only_wards.contains(id)))
        .map(|(id, _)| id)
        .collect();
    let placed: Vec<(&String, Placed)> = wards.iter().map(|w| (*w, tree.place(w))).collect();
    // in order, Locations before Organizations, so that theirs keep the plain ids
    let department_units: BTreeSet<&Unit> = placed.iter().filter_map(|(_, p)| p.department.as_ref()).collect();
    let hospital_units: BTreeSet<&Unit> = placed.iter().filter_map(|(_, p)| p.hospital.as_ref()).collect();
    let department_ids = assign_ids(department_units.iter().copied());
    let hospital_ids = assign_ids(hospital_units.iter().copied());
    let hospital_of: BTreeMap<&Unit, &Unit> = placed
        .iter()
        .filter_map(|(_, p)| Some((p.department.as_ref()?, p.hospital.as_ref()?)))
        .collect();
    let (existing, existing_file) = match o.existing {
        Some((c, f)) => (Some(c), f),
        None => (None, ""),
    };
    let declared_ward = |id: &str| existing.is_some_and(|c| c.wards.contains_key(id));
    let declared_department = |id: &str| existing.is_some_and(|c| c.departments.contains_key(id));
    let declared_hospital = |id: &str| existing.is_some_and(|c| c.hospitals.contains_key(id));

    let mut w = Written {
        wards_read: wards.len(),
        ..Written::default()
    };
    let mut ward_tables = String::new();
    let mut kept = Vec::new();
    let mut without_department = Vec::new();
    let mut unplaced = Vec::new();
    let mut needed_departments: BTreeSet<&Unit> = BTreeSet::new();
    for (ward, p) in &placed {
        let ward_id = format!("{}{ward}", o.ward_prefix);
        let name = tree.locations.get(*ward).and_then(|l| l.name.as_deref());
        let shown = |id: &str| match name {
            Some(n) => format!("{} {}", key(id), quoted(&one_line(n))),
            None => key(id),
        };
        let department = p.department.as_ref().map(|d| department_ids[d].as_str());
        if declared_ward(&ward_id) {
            w.already += 1;
            let there = existing.and_then(|c| c.department_of(&ward_id));
            if there != department {
                kept.push(format!(
                    "wards.{} (department {} there; the tree says {})",
                    key(&ward_id),
                    there.map_or("none".to_owned(), quoted),
                    department.map_or("none".to_owned(), quoted)
                ));
            }
            continue;
        }
        match (&p.department, &p.hospital) {
            (Some(d), _) => {
                w.wards += 1;
                needed_departments.insert(d);
                let _ = writeln!(ward_tables, "[wards.{}]", key(&ward_id));
                if let Some(n) = name {
                    let _ = writeln!(ward_tables, "name = {}", quoted(&one_line(n)));
                }
                let _ = writeln!(ward_tables, "department = {}\n", quoted(&department_ids[d]));
            }
            (None, Some(h)) => {
                w.without_department += 1;
                let hospital = &hospital_ids[h];
                without_department.push(format!(
                    "{}: directly under hospital {} ({}{})",
                    shown(&ward_id),
                    quoted(hospital),
                    h.describe(),
                    tree.name(h)
                        .map(|n| format!(" {}", quoted(&one_line(n))))
                        .unwrap_or_default()
                ));
            }
            (None, None) => {
                w.unplaced += 1;
                unplaced.push(format!(
                    "{}: {}",
                    shown(&ward_id),
                    p.why.as_deref().unwrap_or("nothing above it")
                ));
            }
        }
    }
    let mut department_tables = String::new();
    let mut needed_hospitals: BTreeSet<&Unit> = BTreeSet::new();
    for d in &needed_departments {
        let id = &department_ids[*d];
        let hospital = hospital_of.get(d).map(|h| hospital_ids[*h].as_str());
        if declared_department(id) {
            let there = existing
                .and_then(|c| c.departments.get(id))
                .and_then(|d| d.hospital.as_deref());
            if there != hospital {
                kept.push(format!(
                    "departments.{} (hospital {} there; the tree says {})",
                    key(id),
                    there.map_or("none".to_owned(), quoted),
                    hospital.map_or("none".to_owned(), quoted)
                ));
            }
            continue;
        }
        w.departments += 1;
        let _ = writeln!(department_tables, "# from {}", d.describe());
        let _ = writeln!(department_tables, "[departments.{}]", key(id));
        if let Some(n) = tree.name(d) {
            let _ = writeln!(department_tables, "name = {}", quoted(&one_line(n)));
        }
        match hospital_of.get(d) {
            Some(h) => {
                needed_hospitals.insert(h);
                let _ = writeln!(department_tables, "hospital = {}\n", quoted(&hospital_ids[*h]));
            }
            None => {
                let _ = writeln!(department_tables, "# no site (physicalType si) above it: no hospital\n");
            }
        }
    }
    let mut hospital_tables = String::new();
    for h in &needed_hospitals {
        let id = &hospital_ids[*h];
        if declared_hospital(id) {
            continue;
        }
        w.hospitals += 1;
        let _ = writeln!(hospital_tables, "# from {}", h.describe());
        let _ = writeln!(hospital_tables, "[hospitals.{}]", key(id));
        if let Some(n) = tree.name(h) {
            let _ = writeln!(hospital_tables, "name = {}", quoted(&one_line(n)));
        }
        hospital_tables.push('\n');
    }

    let mut t = String::new();
    let _ = writeln!(
        t,
        "# careload organisation: hospitals, departments and wards from the FHIR Location tree.\n\
         # Read from {} at {} by `careload mapping organisation`.\n\
         #\n\
         # An operator must review this before use. The service reads its organisation from its\n\
         # configuration only, never live from the EHR: a screen token scoped to a department or\n\
         # hospital reaches the wards listed here, and must not widen because the Location tree\n\
         # was edited.\n\
         #\n\
         # The rule: for each ward Location (physicalType ward), walking partOf upwards, the nearest\n\
         # Location of physicalType si (site) is its hospital and its direct parent, when that is\n\
         # not the site, its department; a ward with no partOf at all falls back on its\n\
         # managingOrganization (with partOf: department in hospital; without: hospital, or\n\
         # department for type dept). Ids are the Location (Organization) ids, lower-cased, other\n\
         # characters than a-z, 0-9 and - written -; ward ids are the ward Locations' ids.",
        one_line(o.origin),
        o.at.to_rfc3339_opts(SecondsFormat::Secs, true)
    );
    if o.existing.is_some() {
        let _ = writeln!(
            t,
            "#\n# Wards, departments and hospitals {} already declares are kept as they are there and\n\
             # not repeated here: add what follows to that file.",
            one_line(existing_file)
        );
    }
    if !o.ward_prefix.is_empty() {
        let _ = writeln!(
            t,
            "# Ward ids carry the source's ward_prefix {}.",
            one_line(&quoted(o.ward_prefix))
        );
    }
    t.push('\n');
    if w.wards_read == 0 {
        let _ = writeln!(
            t,
            "# The input has no ward Location (physicalType ward, as the mapping's location_types say):\n\
             # nothing to declare.\n"
        );
    }
    t.push_str(&hospital_tables);
    t.push_str(&department_tables);
    t.push_str(&ward_tables);
    if !without_department.is_empty() {
        let _ = writeln!(
            t,
            "# Wards directly under a hospital, with no department between: careload's configuration\n\
             # places a ward in a hospital only through its department ([wards.<id>] department,\n\
             # [departments.<id>] hospital). Give each a department by hand:"
        );
        for line in &without_department {
            let _ = writeln!(t, "#   {}", one_line(line));
        }
        t.push('\n');
    }
    if !unplaced.is_empty() {
        let _ = writeln!(
            t,
            "# Wards with nothing above them in the Location tree: no department or hospital found.\n\
             # Give each a department by hand:"
        );
        for line in &unplaced {
            let _ = writeln!(t, "#   {}", one_line(line));
        }
        t.push('\n');
    }
    if !kept.is_empty() {
        let _ = writeln!(
            t,
            "# Already declared in {}, kept as they are there, where the tree differs:",
            one_line(existing_file)
        );
        for line in &kept {
            let _ = writeln!(t, "#   {}", one_line(line));
        }
        t.push('\n');
    }
    while t.ends_with("\n\n") {
        t.pop();
    }
    w.text = t;
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(resources: &[Value]) -> Tree {
        let mut raw = Raw::default();
        for r in resources {
            raw.add(r.clone(), None);
        }
        raw.into_tree()
    }

    fn loc(id: &str, code: &str, part_of: Option<&str>) -> Value {
        let mut v = serde_json::json!({"resourceType": "Location", "id": id, "name": format!("Name of {id}"),
            "physicalType": {"coding": [{"system": LOCATION_PHYSICAL_TYPE, "code": code}]}});
        if let Some(p) = part_of {
            v["partOf"] = serde_json::json!({ "reference": format!("Location/{p}") });
        }
        v
    }

    fn ward_rule(codings: &Codings) -> bool {
        codings.iter().any(|(_, c)| c.as_deref() == Some("wa"))
    }

    #[test]
    fn config_ids_are_lower_case_with_other_characters_dashed() {
        assert_eq!(config_id("Med_Klin.1"), "med-klin-1");
        assert_eq!(config_id("Ögon-2"), "-gon-2");
        assert_eq!(config_id("abc-09"), "abc-09");
    }

    #[test]
    fn references_resolve_relative_absolute_versioned_and_full_urls() {
        let mut full = HashMap::new();
        full.insert("urn:uuid:1".to_owned(), ("Location".to_owned(), "w1".to_owned()));
        assert_eq!(resolve("Location/w1", "Location", &full), "w1");
        assert_eq!(resolve("http://x/fhir/Location/w1/_history/3", "Location", &full), "w1");
        assert_eq!(resolve("urn:uuid:1", "Location", &full), "w1");
        assert_eq!(resolve("urn:uuid:2", "Location", &full), "urn:uuid:2");
        assert_eq!(resolve("Organization/o", "Location", &full), "Organization/o");
    }

    #[test]
    fn the_nearest_site_is_the_hospital_and_the_direct_parent_the_department() {
        let t = tree(&[
            loc("S", "si", None),
            loc("B", "bu", Some("S")),
            loc("L", "lvl", Some("B")),
            loc("W", "wa", Some("L")),
            loc("R", "ro", Some("W")),
        ]);
        let p = t.place("W");
        assert_eq!(p.department, Some(Unit::Location("L".into())));
        assert_eq!(p.hospital, Some(Unit::Location("S".into())));
        let o = Options {
            origin: "test",
            at: Utc::now(),
            existing: None,
            ward_prefix: "nord-",
            only_wards: &[],
        };
        let w = write_toml(&t, &ward_rule, &o);
        assert!(
            w.text
                .contains("[wards.nord-W]\nname = \"Name of W\"\ndepartment = \"l\""),
            "{}",
            w.text
        );
        assert!(
            w.text
                .contains("[departments.l]\nname = \"Name of L\"\nhospital = \"s\""),
            "{}",
            w.text
        );
        assert!(w.text.contains("[hospitals.s]\nname = \"Name of S\""), "{}", w.text);
        let config = careload_config::Config::from_toml(&w.text, "generated").unwrap_or_else(|e| panic!("{e}"));
        config.validate().unwrap_or_else(|e| panic!("{e}\n{}", w.text));
        assert_eq!(config.hospital_of("nord-W"), Some("s"));
    }

    #[test]
    fn organizations_place_a_ward_with_no_parent_location() {
        let mut ward = loc("W", "wa", None);
        ward["managingOrganization"] = serde_json::json!({"reference": "Organization/Dept"});
        let t = tree(&[
            ward,
            serde_json::json!({"resourceType": "Organization", "id": "Dept", "name": "Medicin",
                "partOf": {"reference": "Organization/H", "display": "Sjukhuset"}}),
        ]);
        let p = t.place("W");
        assert_eq!(p.department, Some(Unit::Organization("Dept".into())));
        assert_eq!(p.hospital, Some(Unit::Organization("H".into())));
        assert_eq!(t.name(&Unit::Organization("H".into())), Some("Sjukhuset"));
    }

    #[test]
    fn odd_ward_ids_and_names_still_make_valid_toml() {
        let mut ward = loc("W.1", "wa", Some("D"));
        ward["name"] = Value::from("Avd \"7\" \\ ny\nrad\u{7f}");
        let t = tree(&[loc("S", "si", None), loc("D", "wi", Some("S")), ward]);
        let o = Options {
            origin: "a\nb",
            at: Utc::now(),
            existing: None,
            ward_prefix: "",
            only_wards: &[],
        };
        let w = write_toml(&t, &ward_rule, &o);
        let config =
            careload_config::Config::from_toml(&w.text, "generated").unwrap_or_else(|e| panic!("{e}\n{}", w.text));
        config.validate().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.department_of("W.1"), Some("d"));
        assert_eq!(config.wards["W.1"].name.as_deref(), Some("Avd \"7\" \\ ny rad "));
    }

    #[test]
    fn ids_that_clean_alike_are_told_apart() {
        let a = Unit::Location("Med".into());
        let b = Unit::Location("med".into());
        let c = Unit::Organization("MED".into());
        let ids = assign_ids([&a, &b, &c].into_iter());
        assert_eq!(ids[&a], "med");
        assert_eq!(ids[&b], "med-2");
        assert_eq!(ids[&c], "med-3");
    }
}
