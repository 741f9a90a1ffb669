//! FHIR search over a [`Snapshot`]: the query string read into a [`Search`],
//! run into a [`Page`], written as a `searchset` Bundle.
//!
//! * Results are sorted by id. A page holds up to `_count` matches (default
//!   [`DEFAULT_COUNT`], at most [`MAX_COUNT`]; larger values are clamped;
//!   `_count=0` or `_summary=count` returns only `total`).
//! * Paging is by key: the `next` link repeats the search with
//!   `_page=<cursor>` ([`Cursor`]: the page's last id, with the snapshot
//!   and the `total` counted in it), and the next page holds the matches
//!   with greater ids. A cursor is opaque to clients. A page costs what its
//!   matches cost wherever it lies: it is walked from the cursor on, in the
//!   reverse index when the search names references (`encounter=…`), and
//!   `total` is counted once per snapshot, on the first page. When the
//!   hospital advances between two pages, the later pages are cut from the
//!   new present: a resource present in both is still returned exactly once,
//!   a resource created meanwhile appears if its id sorts after the cursor,
//!   one removed meanwhile is not returned, and `total` is the new count.
//! * Several values separated by commas are ORed; repeated parameters are
//!   ANDed. Empty values are ignored, as FHIR says.
//! * Unknown parameters are ignored (they do not appear in the `self`
//!   link); with `Prefer: handling=strict` they are refused with 400.
//!   Unsupported modifiers and bad values are always refused with 400.

use std::collections::HashSet;
use std::fmt::Write as _;

use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, Utc};

use super::index::{Entry, KeyValue, Kind, Snapshot, TYPES, Table, split_reference, type_index};
use crate::Error as Problem;

/// Results per page when `_count` is not given.
pub const DEFAULT_COUNT: usize = 100;
/// The largest page; larger `_count`s are clamped to it.
pub const MAX_COUNT: usize = 1000;

/// A FHIR date prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prefix {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// One `_lastUpdated` value: a prefix and the range `[lo, hi)` its precision covers.
#[derive(Clone, Copy, Debug)]
struct DateQuery {
    prefix: Prefix,
    lo: DateTime<Utc>,
    hi: DateTime<Utc>,
}

impl DateQuery {
    fn matches(&self, v: DateTime<Utc>) -> bool {
        match self.prefix {
            Prefix::Eq => self.lo <= v && v < self.hi,
            Prefix::Ne => !(self.lo <= v && v < self.hi),
            Prefix::Gt => v >= self.hi,
            Prefix::Ge => v >= self.lo,
            Prefix::Lt => v < self.lo,
            Prefix::Le => v < self.hi,
        }
    }
}

/// One token value: `code`, `system|code`, `system|` or `|code`.
#[derive(Clone, Debug)]
struct TokenQuery {
    /// `None`: any system; `Some("")`: no system.
    system: Option<String>,
    /// `None`: any code.
    code: Option<String>,
}

impl TokenQuery {
    fn parse(v: &str) -> TokenQuery {
        match v.split_once('|') {
            None => TokenQuery {
                system: None,
                code: Some(v.to_owned()),
            },
            Some((s, c)) => TokenQuery {
                system: Some(s.to_owned()),
                code: (!c.is_empty()).then(|| c.to_owned()),
            },
        }
    }

    fn matches(&self, system: Option<&str>, code: &str) -> bool {
        let system_ok = match self.system.as_deref() {
            None => true,
            Some("") => system.is_none(),
            Some(s) => system == Some(s),
        };
        system_ok && self.code.as_deref().is_none_or(|c| c == code)
    }
}

/// One condition every match meets.
#[derive(Clone, Debug)]
enum Filter {
    Id(Vec<String>),
    LastUpdated(Vec<DateQuery>),
    Token {
        param: u8,
        any: Vec<TokenQuery>,
        not: bool,
    },
    Ref {
        param: u8,
        /// `(type, id)`; a missing type matches any.
        any: Vec<(Option<String>, String)>,
    },
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        match self {
            Filter::Id(ids) => ids.iter().any(|id| **id == *e.id),
            Filter::LastUpdated(any) => any.iter().any(|d| d.matches(e.last_updated)),
            Filter::Token { param, any, not } => {
                let hit = e.keys.iter().any(|k| {
                    k.param == *param
                        && match &k.value {
                            KeyValue::Token { system, code } => any.iter().any(|q| q.matches(system.as_deref(), code)),
                            KeyValue::Ref { .. } => false,
                        }
                });
                hit != *not
            }
            Filter::Ref { param, any } => e.keys.iter().any(|k| {
                k.param == *param
                    && match &k.value {
                        KeyValue::Ref { ty, id } => any
                            .iter()
                            .any(|(qt, qid)| **qid == **id && qt.as_deref().is_none_or(|t| t == &**ty)),
                        KeyValue::Token { .. } => false,
                    }
            }),
        }
    }
}

/// `_include` or `_revinclude`: a reference parameter of a source type.
#[derive(Clone, Copy, Debug)]
struct Include {
    /// The source type (index into [`TYPES`]).
    source: usize,
    /// The reference parameter (index into the source's params).
    param: u8,
    /// The target type (index into [`TYPES`]).
    target: usize,
    /// `:iterate`: also follow from included resources.
    iterate: bool,
}

/// A search, read from the query string.
#[derive(Clone, Debug)]
pub(crate) struct Search {
    /// The searched type (index into [`TYPES`]).
    pub(crate) ty: usize,
    filters: Vec<Filter>,
    /// Matches per page.
    pub(crate) count: usize,
    cursor: Option<String>,
    includes: Vec<Include>,
    revincludes: Vec<Include>,
    /// The parameters applied, as given, for the `self` and `next` links.
    applied: Vec<(String, String)>,
}

fn bad(message: String) -> Problem {
    Problem::request(StatusCode::BAD_REQUEST, "invalid", message)
}

fn not_supported(message: String) -> Problem {
    Problem::request(StatusCode::BAD_REQUEST, "not-supported", message)
}

/// The parameters one type supports, for messages.
fn supported(ty: usize) -> String {
    let mut names: Vec<&str> = ["_id", "_lastUpdated", "_count", "_include", "_revinclude"].to_vec();
    names.extend(TYPES[ty].params.iter().map(|p| p.name));
    names.join(", ")
}

/// Whether `_format` names JSON.
pub(crate) fn is_json_format(v: &str) -> bool {
    let v = v.split(';').next().unwrap_or_default().trim();
    matches!(
        v,
        "json" | "application/json" | "application/fhir+json" | "application/json+fhir"
    )
}

impl Search {
    /// Reads the query of a search on type `ty`. `strict` refuses unknown parameters.
    ///
    /// # Errors
    /// A [`Problem`] (400) naming the parameter and what to send instead.
    pub(crate) fn parse(ty: usize, pairs: &[(String, String)], strict: bool) -> Result<Search, Problem> {
        let def = &TYPES[ty];
        let mut s = Search {
            ty,
            filters: Vec::new(),
            count: DEFAULT_COUNT,
            cursor: None,
            includes: Vec::new(),
            revincludes: Vec::new(),
            applied: Vec::new(),
        };
        for (name, value) in pairs {
            if value.is_empty() {
                continue;
            }
            let (base, modifier) = match name.split_once(':') {
                Some((b, m)) => (b, Some(m)),
                None => (name.as_str(), None),
            };
            let refuse_modifier = |m: &str| {
                not_supported(format!(
                    "the modifier `:{m}` is not supported on `{base}`; send `{base}=…` without it"
                ))
            };
            let mut applied = true;
            match base {
                "_count" => {
                    if let Some(m) = modifier {
                        return Err(refuse_modifier(m));
                    }
                    let n: usize = value.trim().parse().map_err(|_| {
                        bad(format!(
                            "cannot read `_count={value}`: send a whole number of results per page, 0 to {MAX_COUNT} (0 returns only the total)"
                        ))
                    })?;
                    s.count = n.min(MAX_COUNT);
                    applied = false; // written by the links themselves
                }
                "_page" => {
                    s.cursor = Some(value.clone());
                    applied = false;
                }
                "_format" => {
                    if !is_json_format(value) {
                        return Err(Problem::request(
                            StatusCode::NOT_ACCEPTABLE,
                            "not-supported",
                            format!(
                                "this server speaks FHIR JSON only: send `_format=json` instead of `_format={value}`"
                            ),
                        ));
                    }
                    applied = false;
                }
                "_summary" if value == "count" => s.count = 0,
                "_summary" if value == "false" => {}
                "_total" if matches!(value.as_str(), "none" | "estimate" | "accurate") => applied = false,
                "_sort" if matches!(value.as_str(), "_id" | "id") => {}
                "_id" => {
                    if let Some(m) = modifier {
                        return Err(refuse_modifier(m));
                    }
                    s.filters
                        .push(Filter::Id(value.split(',').map(str::to_owned).collect()));
                }
                "_lastUpdated" => {
                    if let Some(m) = modifier {
                        return Err(refuse_modifier(m));
                    }
                    let any = value.split(',').map(parse_date).collect::<Result<Vec<_>, _>>()?;
                    s.filters.push(Filter::LastUpdated(any));
                }
                "_include" | "_revinclude" => {
                    let iterate = match modifier {
                        None => false,
                        Some("iterate" | "recurse") => true,
                        Some(m) => return Err(refuse_modifier(m)),
                    };
                    let rev = base == "_revinclude";
                    let inc = parse_include(base, value, iterate)?;
                    if rev {
                        s.revincludes.push(inc);
                    } else {
                        s.includes.push(inc);
                    }
                }
                _ => match def.params.iter().position(|p| p.name == base) {
                    Some(p) => {
                        let param = &def.params[p];
                        let p = p as u8;
                        match param.kind {
                            Kind::Token => {
                                let not = match modifier {
                                    None => false,
                                    Some("not") => true,
                                    Some(m) => return Err(refuse_modifier(m)),
                                };
                                let any = value.split(',').map(TokenQuery::parse).collect();
                                s.filters.push(Filter::Token { param: p, any, not });
                            }
                            Kind::Reference(target) => {
                                let ty_modifier = match modifier {
                                    None => None,
                                    Some(m) if m == target => Some(m),
                                    Some(m) => return Err(refuse_modifier(m)),
                                };
                                // a bare id on a parameter of several target
                                // types matches nothing, as on a standard server
                                let any = value
                                    .split(',')
                                    .filter_map(|v| match split_reference(v) {
                                        Some((t, id)) => Some((Some(t.to_owned()), id.to_owned())),
                                        None if param.several_targets && ty_modifier.is_none() => None,
                                        None => Some((ty_modifier.map(str::to_owned), v.to_owned())),
                                    })
                                    .collect();
                                s.filters.push(Filter::Ref { param: p, any });
                            }
                        }
                    }
                    None if strict => {
                        return Err(bad(format!(
                            "unknown search parameter `{name}` for {}; this server supports {} (or leave out `Prefer: handling=strict` to have unknown parameters ignored)",
                            def.name,
                            supported(ty)
                        )));
                    }
                    None => applied = false,
                },
            }
            if applied {
                s.applied.push((name.clone(), value.clone()));
            }
        }
        Ok(s)
    }

    fn matches(&self, e: &Entry) -> bool {
        self.filters.iter().all(|f| f.matches(e))
    }

    /// Runs the search: one page, at a cost that grows with the page and
    /// not with where the page lies.
    ///
    /// The entries looked at are the search's candidates ([`Search::candidates`]:
    /// the table, or what an index gives for a reference or `_id`), walked
    /// from the cursor on until the page is full and one more match shows
    /// that another page follows. `total` is counted over the candidates on
    /// the first page and carried by the cursor to the later pages of the
    /// same snapshot; a cursor from another snapshot counts again, in the
    /// snapshot served now.
    pub(crate) fn run(&self, snap: &Snapshot) -> Page {
        let table = &snap.tables[self.ty];
        let cursor = self.cursor.as_deref().map(Cursor::read);
        let candidates = self.candidates(table);
        let n = candidates.as_ref().map_or(table.entries.len(), Vec::len);
        let at = |k: usize| candidates.as_ref().map_or(k, |c| c[k] as usize);
        let mut cost = Cost::default();
        let start = match &cursor {
            Some(c) => match &candidates {
                Some(cs) => cs.partition_point(|&i| *table.entries[i as usize].id <= *c.last),
                None => table.entries.partition_point(|e| *e.id <= *c.last),
            },
            None => 0,
        };
        let mut matches = Vec::with_capacity(self.count.min(n - start));
        let mut has_more = false;
        for k in start..n {
            let i = at(k);
            cost.walked += 1;
            if !self.matches(&table.entries[i]) {
                continue;
            }
            if matches.len() < self.count {
                matches.push(i as u32);
            } else {
                has_more = true;
                break;
            }
        }
        let carried = cursor.as_ref().and_then(|c| c.total_in(snap.tag));
        let total = match carried {
            Some(t) => t,
            None if self.filters.is_empty() => table.entries.len(),
            None => {
                cost.counted = n;
                (0..n).filter(|&k| self.matches(&table.entries[at(k)])).count()
            }
        };
        let included = if matches.is_empty() {
            Vec::new()
        } else {
            self.included(snap, &matches)
        };
        let next = (has_more && self.count > 0)
            .then(|| {
                matches.last().map(|&i| {
                    Cursor {
                        counted: Some((snap.tag, total)),
                        last: &table.entries[i as usize].id,
                    }
                    .to_string()
                })
            })
            .flatten();
        Page {
            total,
            matches,
            included,
            next,
            cost,
        }
    }

    /// The positions in `table` that may match, ascending, when an index
    /// narrows them: the entries referring to one of the ids a reference
    /// parameter asks for (the table's reverse index), or those an `_id`
    /// names; the fewest of them when several filters are indexed. `None`:
    /// every entry may. Each candidate is still checked against every
    /// filter, so this only saves looking at entries that cannot match.
    fn candidates(&self, table: &Table) -> Option<Vec<u32>> {
        let mut best: Option<Vec<u32>> = None;
        for f in &self.filters {
            let found: Vec<u32> = match f {
                Filter::Id(ids) => ids
                    .iter()
                    .filter_map(|id| table.position(id))
                    .map(|i| i as u32)
                    .collect(),
                Filter::Ref { param, any } => {
                    let Some(rev) = table.rev.get(usize::from(*param)) else {
                        continue;
                    };
                    let mut found = Vec::new();
                    for (_, id) in any {
                        found.extend_from_slice(rev.get(id.as_str()).map_or(&[][..], Vec::as_slice));
                    }
                    found
                }
                Filter::LastUpdated(_) | Filter::Token { .. } => continue,
            };
            if best.as_ref().is_none_or(|b| found.len() < b.len()) {
                best = Some(found);
            }
        }
        best.map(|mut v| {
            v.sort_unstable();
            v.dedup();
            v
        })
    }

    /// The resources `_include` and `_revinclude` add to a page of matches.
    fn included(&self, snap: &Snapshot, matches: &[u32]) -> Vec<(usize, u32)> {
        if self.includes.is_empty() && self.revincludes.is_empty() {
            return Vec::new();
        }
        let mut seen: HashSet<(usize, u32)> = matches.iter().map(|&i| (self.ty, i)).collect();
        let mut out: Vec<(usize, u32)> = Vec::new();
        let mut frontier: Vec<(usize, u32)> = matches.iter().map(|&i| (self.ty, i)).collect();
        let mut first = true;
        while !frontier.is_empty() {
            let mut added = Vec::new();
            for &(ty, i) in &frontier {
                let e = &snap.tables[ty].entries[i as usize];
                for inc in self
                    .includes
                    .iter()
                    .filter(|inc| inc.source == ty && (first || inc.iterate))
                {
                    for k in e.keys.iter().filter(|k| k.param == inc.param) {
                        if let KeyValue::Ref { ty: t, id } = &k.value
                            && **t == *TYPES[inc.target].name
                            && let Some(j) = snap.tables[inc.target].position(id)
                            && seen.insert((inc.target, j as u32))
                        {
                            added.push((inc.target, j as u32));
                        }
                    }
                }
                for inc in self
                    .revincludes
                    .iter()
                    .filter(|inc| inc.target == ty && (first || inc.iterate))
                {
                    let source = &snap.tables[inc.source];
                    if let Some(refs) = source.rev.get(usize::from(inc.param)).and_then(|m| m.get(&*e.id)) {
                        for &j in refs {
                            if seen.insert((inc.source, j)) {
                                added.push((inc.source, j));
                            }
                        }
                    }
                }
            }
            out.extend_from_slice(&added);
            frontier = added;
            first = false;
        }
        out
    }

    /// The URL of this search at `cursor`.
    fn url(&self, base: &str, cursor: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.applied {
            q.append_pair(k, v);
        }
        q.append_pair("_count", &self.count.to_string());
        if let Some(c) = cursor {
            q.append_pair("_page", c);
        }
        format!("{base}/{}?{}", TYPES[self.ty].name, q.finish())
    }

    /// The page as a `searchset` Bundle.
    pub(crate) fn bundle(&self, snap: &Snapshot, page: &Page, base: &str) -> Vec<u8> {
        let size: usize = page
            .matches
            .iter()
            .map(|&i| (self.ty, i))
            .chain(page.included.iter().copied())
            .map(|(t, i)| snap.tables[t].entries[i as usize].json.len() + 120 + base.len())
            .sum();
        let mut out = Vec::with_capacity(size + 1024);
        let mut head = String::with_capacity(512);
        let _ = write!(
            head,
            r#"{{"resourceType":"Bundle","meta":{{"lastUpdated":"{}"}},"type":"searchset","total":{},"link":[{{"relation":"self","url":{}}}"#,
            crate::fhir::ts(snap.now),
            page.total,
            json_string(&self.url(base, self.cursor.as_deref())),
        );
        if let Some(next) = &page.next {
            let _ = write!(
                head,
                r#",{{"relation":"next","url":{}}}"#,
                json_string(&self.url(base, Some(next)))
            );
        }
        head.push(']');
        out.extend_from_slice(head.as_bytes());
        let mut first = true;
        let prefix = json_string(base);
        let prefix = &prefix[..prefix.len() - 1]; // without the closing quote
        let entries = page
            .matches
            .iter()
            .map(|&i| (self.ty, i, "match"))
            .chain(page.included.iter().map(|&(t, i)| (t, i, "include")));
        for (t, i, mode) in entries {
            let e = &snap.tables[t].entries[i as usize];
            out.extend_from_slice(if first { br#","entry":["# } else { b"," });
            first = false;
            out.extend_from_slice(br#"{"fullUrl":"#);
            out.extend_from_slice(prefix.as_bytes());
            out.push(b'/');
            out.extend_from_slice(TYPES[t].name.as_bytes());
            out.push(b'/');
            out.extend_from_slice(&json_string(&e.id).as_bytes()[1..]);
            out.extend_from_slice(br#","resource":"#);
            out.extend_from_slice(&e.json);
            out.extend_from_slice(br#","search":{"mode":""#);
            out.extend_from_slice(mode.as_bytes());
            out.extend_from_slice(br#""}}"#);
        }
        if !first {
            out.push(b']');
        }
        out.push(b'}');
        out
    }
}

/// One page of results.
#[derive(Clone, Debug)]
pub(crate) struct Page {
    /// All matches, on every page.
    pub(crate) total: usize,
    /// This page's matches (positions in the searched type's table).
    pub(crate) matches: Vec<u32>,
    /// What `_include` and `_revinclude` added: (type, position).
    pub(crate) included: Vec<(usize, u32)>,
    /// The cursor of the next page, when there is one.
    pub(crate) next: Option<String>,
    /// What the page cost.
    pub(crate) cost: Cost,
}

/// What serving one page cost, in entries of the searched table looked at:
/// for the tests, which prove that a page costs the same wherever it lies,
/// and for the `trace` log of each search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    /// Looked at for the page itself, from the cursor on.
    pub(crate) walked: usize,
    /// Looked at to count `total` (none when the cursor carried it).
    pub(crate) counted: usize,
}

/// The `_page` value of a `next` link: `<tag>_<total>_<last id>`, the
/// snapshot the page came from ([`Snapshot::tag`], hex), the `total` counted
/// in it, and the page's last id. A FHIR id holds no `_`, so a bare id (the
/// cursor of earlier versions of this server) is read as a cursor without a
/// count: its next page counts `total` again.
#[derive(Debug, PartialEq, Eq)]
struct Cursor<'a> {
    /// The snapshot `total` was counted in, and that `total`.
    counted: Option<(u64, usize)>,
    /// The last id served: the next page holds the matches after it.
    last: &'a str,
}

impl<'a> Cursor<'a> {
    fn read(value: &'a str) -> Cursor<'a> {
        let mut parts = value.splitn(3, '_');
        if let (Some(tag), Some(total), Some(last)) = (parts.next(), parts.next(), parts.next())
            && let (Ok(tag), Ok(total)) = (u64::from_str_radix(tag, 16), total.parse::<usize>())
        {
            return Cursor {
                counted: Some((tag, total)),
                last,
            };
        }
        Cursor {
            counted: None,
            last: value,
        }
    }

    /// The `total` the cursor carries, if it was counted in snapshot `tag`.
    fn total_in(&self, tag: u64) -> Option<usize> {
        self.counted.filter(|&(t, _)| t == tag).map(|(_, total)| total)
    }
}

impl std::fmt::Display for Cursor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.counted {
            Some((tag, total)) => write!(f, "{tag:x}_{total}_{}", self.last),
            None => f.write_str(self.last),
        }
    }
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

fn parse_include(base: &str, value: &str, iterate: bool) -> Result<Include, Problem> {
    let help = || {
        let valid: Vec<String> = TYPES
            .iter()
            .flat_map(|t| {
                t.params
                    .iter()
                    .filter(|p| matches!(p.kind, Kind::Reference(_)))
                    .map(move |p| format!("{}:{}", t.name, p.name))
            })
            .collect();
        bad(format!(
            "cannot read `{base}={value}`: send `SourceType:parameter[:TargetType]` with a reference parameter, one of {}",
            valid.join(", ")
        ))
    };
    let mut parts = value.split(':');
    let (Some(source), Some(param)) = (parts.next(), parts.next()) else {
        return Err(help());
    };
    let target_given = parts.next();
    if parts.next().is_some() {
        return Err(help());
    }
    let source = type_index(source).ok_or_else(help)?;
    let p = TYPES[source]
        .params
        .iter()
        .position(|p| p.name == param)
        .ok_or_else(help)?;
    let Kind::Reference(target) = TYPES[source].params[p].kind else {
        return Err(help());
    };
    if target_given.is_some_and(|t| t != target) {
        return Err(help());
    }
    Ok(Include {
        source,
        param: p as u8,
        target: type_index(target).ok_or_else(help)?,
        iterate,
    })
}

/// Reads one `_lastUpdated` value: an optional prefix and a FHIR date,
/// dateTime or instant (a missing zone is UTC).
fn parse_date(v: &str) -> Result<DateQuery, Problem> {
    let help = || {
        bad(format!(
            "cannot read `_lastUpdated={v}`: send an optional prefix (gt, ge, lt, le, eq, ne) and a FHIR date or instant, e.g. `_lastUpdated=gt2026-11-23T09:00:00Z` (encode `+` in an offset as %2B)"
        ))
    };
    // A `+` of an offset not percent-encoded arrives as a space.
    let v2 = v.trim().replace(' ', "+");
    let (prefix, rest) = match v2.get(..2) {
        Some("eq") => (Prefix::Eq, &v2[2..]),
        Some("ne") => (Prefix::Ne, &v2[2..]),
        Some("gt" | "sa") => (Prefix::Gt, &v2[2..]),
        Some("ge") => (Prefix::Ge, &v2[2..]),
        Some("lt" | "eb") => (Prefix::Lt, &v2[2..]),
        Some("le") => (Prefix::Le, &v2[2..]),
        _ => (Prefix::Eq, v2.as_str()),
    };
    let (lo, hi) = parse_range(rest).ok_or_else(help)?;
    Ok(DateQuery { prefix, lo, hi })
}

/// The range `[lo, hi)` a FHIR date or instant covers at its precision.
fn parse_range(s: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let day =
        |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc());
    let num = |a: usize, b: usize| {
        s.get(a..b)
            .filter(|x| x.bytes().all(|c| c.is_ascii_digit()))?
            .parse::<u32>()
            .ok()
    };
    match s.len() {
        4 => {
            let lo = day(num(0, 4)? as i32, 1, 1)?;
            Some((lo, lo.checked_add_months(Months::new(12))?))
        }
        7 if &s[4..5] == "-" => {
            let lo = day(num(0, 4)? as i32, num(5, 7)?, 1)?;
            Some((lo, lo.checked_add_months(Months::new(1))?))
        }
        10 if &s[4..5] == "-" && &s[7..8] == "-" => {
            let lo = day(num(0, 4)? as i32, num(5, 7)?, num(8, 10)?)?;
            Some((lo, lo + Duration::days(1)))
        }
        _ => {
            let t = DateTime::parse_from_rfc3339(s)
                .or_else(|_| DateTime::parse_from_rfc3339(&format!("{s}Z")))
                .ok()?
                .to_utc();
            if t.year() < 1 {
                return None;
            }
            let precision = if s.contains('.') {
                Duration::milliseconds(1)
            } else {
                Duration::seconds(1)
            };
            Some((t, t + precision))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).unwrap_or_default()
    }

    #[test]
    fn dates_cover_their_precision() {
        let cases = [
            ("2026", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
            ("2026-11", "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
            ("2026-11-23", "2026-11-23T00:00:00Z", "2026-11-24T00:00:00Z"),
            ("2026-11-23T09:00:00Z", "2026-11-23T09:00:00Z", "2026-11-23T09:00:01Z"),
            (
                "2026-11-23T10:00:00+01:00",
                "2026-11-23T09:00:00Z",
                "2026-11-23T09:00:01Z",
            ),
            ("2026-11-23T09:00:00", "2026-11-23T09:00:00Z", "2026-11-23T09:00:01Z"),
        ];
        for (s, lo, hi) in cases {
            assert_eq!(parse_range(s), Some((t(lo), t(hi))), "{s}");
        }
        for s in ["yesterday", "2026-13", "2026-11-31", "", "20261123"] {
            assert_eq!(parse_range(s), None, "{s}");
        }
    }

    #[test]
    fn prefixes_compare_against_the_range() {
        let at = t("2026-11-23T09:00:00Z");
        let cases = [
            ("gt2026-11-23T09:00:00Z", false),
            ("ge2026-11-23T09:00:00Z", true),
            ("lt2026-11-23T09:00:00Z", false),
            ("le2026-11-23T09:00:00Z", true),
            ("2026-11-23", true),
            ("ne2026-11-23", false),
            ("gt2026-11-22T09:00:00 01:00", true),
            ("lt2026-11-24", true),
        ];
        for (v, expected) in cases {
            let q = parse_date(v)
                .map_err(|p| p.to_string())
                .unwrap_or_else(|m| panic!("{v}: {m}"));
            assert_eq!(q.matches(at), expected, "{v}");
        }
    }

    #[test]
    fn tokens_match_system_and_code() {
        let cases = [
            ("IMP", Some("s"), "IMP", true),
            ("s|IMP", Some("s"), "IMP", true),
            ("t|IMP", Some("s"), "IMP", false),
            ("s|", Some("s"), "X", true),
            ("|IMP", Some("s"), "IMP", false),
            ("|IMP", None, "IMP", true),
        ];
        for (q, system, code, expected) in cases {
            assert_eq!(TokenQuery::parse(q).matches(system, code), expected, "{q}");
        }
    }

    // ---- paging ----

    fn hospital(beds: u32) -> crate::Hospital {
        let start = "2026-11-23T09:00:00Z".parse().unwrap();
        crate::Hospital::new(crate::SimConfig {
            beds,
            ..crate::SimConfig::new(5, start)
        })
        .unwrap()
    }

    /// One page of `ty?query`, after `cursor`, as the server answers it.
    fn page(snap: &Snapshot, ty: &str, query: &str, cursor: Option<&str>) -> Page {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        pairs.extend(cursor.map(|c| ("_page".to_owned(), c.to_owned())));
        let search = Search::parse(type_index(ty).unwrap(), &pairs, true)
            .map_err(|p| p.to_string())
            .unwrap();
        search.run(snap)
    }

    /// Every page of `ty?query`, following the `next` cursors.
    fn walk(snap: &Snapshot, ty: &str, query: &str) -> Vec<Page> {
        let mut pages: Vec<Page> = Vec::new();
        loop {
            let cursor = pages.last().and_then(|p| p.next.clone());
            if !pages.is_empty() && cursor.is_none() {
                return pages;
            }
            pages.push(page(snap, ty, query, cursor.as_deref()));
            assert!(pages.len() < 100_000, "{ty}?{query} does not end");
        }
    }

    fn ids(snap: &Snapshot, ty: &str, pages: &[Page]) -> Vec<String> {
        let table = &snap.tables[type_index(ty).unwrap()];
        pages
            .iter()
            .flat_map(|p| &p.matches)
            .map(|&i| table.entries[i as usize].id.to_string())
            .collect()
    }

    /// The ids of `ty` whose JSON satisfies `keep`, in the served order:
    /// what a search should find, read without the search's code.
    fn expected(snap: &Snapshot, ty: &str, keep: impl Fn(&serde_json::Value) -> bool) -> Vec<String> {
        let table = &snap.tables[type_index(ty).unwrap()];
        let mut out: Vec<String> = table
            .entries
            .iter()
            .filter(|e| keep(&serde_json::from_slice(&e.json).unwrap()))
            .map(|e| e.id.to_string())
            .collect();
        out.sort();
        out
    }

    fn encounter_of(v: &serde_json::Value) -> &str {
        v.pointer("/encounter/reference")
            .and_then(|r| r.as_str())
            .unwrap_or_default()
    }

    /// A page size that does not divide `n`.
    fn not_dividing(n: usize) -> usize {
        [7, 11, 13, 17].into_iter().find(|&c| !n.is_multiple_of(c)).unwrap()
    }

    fn check_pages(snap: &Snapshot, ty: &str, query: &str, count: usize, want: &[String]) {
        assert_ne!(want.len() % count, 0, "{ty}?{query}: the page size divides the matches");
        let pages = walk(snap, ty, &format!("{query}&_count={count}"));
        // every match exactly once, in order, nothing else
        assert_eq!(ids(snap, ty, &pages), want, "{ty}?{query}&_count={count}");
        assert_eq!(pages.len(), want.len().div_ceil(count), "{ty}?{query}");
        for (k, p) in pages.iter().enumerate() {
            assert_eq!(p.total, want.len(), "{ty}?{query}, page {}", k + 1);
            let last = k + 1 == pages.len();
            let size = if last { want.len() % count } else { count };
            assert_eq!(p.matches.len(), size, "{ty}?{query}, page {}", k + 1);
            assert_eq!(p.next.is_none(), last, "{ty}?{query}, page {}", k + 1);
        }
    }

    #[test]
    fn pages_hold_every_match_once_and_in_order_when_the_page_size_does_not_divide_them() {
        let h = hospital(60);
        let snap = Snapshot::build(&h);
        // a token filter matching nearly all, one matching a few, no filter
        let finals = expected(&snap, "Observation", |v| v["status"] == "final");
        check_pages(
            &snap,
            "Observation",
            "status=final",
            not_dividing(finals.len()),
            &finals,
        );
        let tasks = snap.tables[type_index("Task").unwrap()].entries.len();
        let open = expected(&snap, "Task", |v| v["status"] == "requested");
        assert!(open.len() > 20 && open.len() * 2 < tasks, "{} of {tasks}", open.len());
        check_pages(&snap, "Task", "status=requested", not_dividing(open.len()), &open);
        let locations = expected(&snap, "Location", |_| true);
        check_pages(&snap, "Location", "", not_dividing(locations.len()), &locations);
        // by reference, as the ingest searches: a batch of typed encounters
        let encounters: Vec<String> = expected(&snap, "Encounter", |v| v["status"] == "in-progress")
            .into_iter()
            .step_by(3)
            .take(6)
            .map(|id| format!("Encounter/{id}"))
            .collect();
        let theirs = expected(&snap, "Observation", |v| {
            encounters.iter().any(|e| e == encounter_of(v))
        });
        assert!(theirs.len() > 20, "{}", theirs.len());
        let query = format!("encounter={}", encounters.join(","));
        check_pages(&snap, "Observation", &query, not_dividing(theirs.len()), &theirs);
        // with another filter on top of the indexed one
        let table = &snap.tables[type_index("Observation").unwrap()];
        let mut stamps: Vec<String> = theirs
            .iter()
            .filter_map(|id| table.get(id))
            .map(|e| crate::fhir::ts(e.last_updated))
            .collect();
        stamps.sort();
        let since = stamps[stamps.len() / 2].clone();
        let recent = expected(&snap, "Observation", |v| {
            encounters.iter().any(|e| e == encounter_of(v)) && v["meta"]["lastUpdated"].as_str().unwrap() >= &*since
        });
        assert!(
            recent.len() > 10 && recent.len() < theirs.len(),
            "{} of {}",
            recent.len(),
            theirs.len()
        );
        let query = format!("{query}&_lastUpdated=ge{since}");
        check_pages(&snap, "Observation", &query, not_dividing(recent.len()), &recent);
        // nothing: one page, no next
        let pages = walk(&snap, "Observation", "encounter=Encounter/none&_count=7");
        assert_eq!((pages.len(), pages[0].total, pages[0].next.is_none()), (1, 0, true));
    }

    /// What made the full fetch grow with the square of the beds: every
    /// page of a filtered search looked at the whole table again (to count
    /// `total`, and to find the page), so page 50 cost as much as page 1 and
    /// a search of N pages N tables. Counted, not timed.
    #[test]
    fn a_page_far_into_a_search_looks_at_no_more_entries_than_the_first() {
        let h = hospital(60);
        let snap = Snapshot::build(&h);
        let table = snap.tables[type_index("Observation").unwrap()].entries.len();
        let count = 5;
        let pages = walk(&snap, "Observation", &format!("status=final&_count={count}"));
        assert!(pages.len() > 50, "{} pages", pages.len());
        // page 50 looks at about what page 1 looks at for its matches: a
        // page's worth (every Observation is final), not the table
        let (first, fiftieth) = (pages[0].cost, pages[49].cost);
        for (n, cost) in [(1, first), (50, fiftieth)] {
            assert!(
                cost.walked <= 2 * (count + 1),
                "page {n} looked at {} entries for {count} matches (a table of {table})",
                cost.walked
            );
        }
        // and counts no `total`: the first page counted it, once
        assert_eq!((first.counted, fiftieth.counted), (table, 0));
        assert!(pages[1..].iter().all(|p| p.cost.counted == 0));
        // the whole walk looks at each entry about once, not once per page
        let walked: usize = pages.iter().map(|p| p.cost.walked + p.cost.counted).sum();
        assert!(
            walked <= 2 * table + pages.len(),
            "{walked} entries looked at for {} pages of a table of {table}",
            pages.len()
        );

        // by reference, a page looks only at what refers to the ids asked
        // for, however large the table
        let encounter = expected(&snap, "Encounter", |v| v["status"] == "in-progress")
            .into_iter()
            .next()
            .unwrap();
        let reference = format!("Encounter/{encounter}");
        let theirs = expected(&snap, "Observation", |v| encounter_of(v) == reference).len();
        assert!(theirs > 2 * 3 && theirs * 10 < table, "{theirs} of {table}");
        let pages = walk(&snap, "Observation", &format!("encounter={reference}&_count=3"));
        assert_eq!(pages[0].cost.counted, theirs);
        for p in &pages {
            assert!(p.cost.walked <= 4, "{:?}", p.cost);
        }
        assert!(pages[1..].iter().all(|p| p.cost.counted == 0));
    }

    #[test]
    fn a_cursor_from_an_earlier_snapshot_pages_on_in_the_new_one_and_counts_again() {
        let mut h = hospital(60);
        let before = Snapshot::build(&h);
        let first = page(&before, "Encounter", "status=in-progress&_count=7", None);
        let cursor = first.next.clone().unwrap();
        let last = Cursor::read(&cursor).last.to_owned();
        assert_eq!(
            Some(last.as_str()),
            first
                .matches
                .last()
                .map(|&i| { &*before.tables[type_index("Encounter").unwrap()].entries[i as usize].id })
        );
        // the same snapshot: the total comes with the cursor
        let second = page(&before, "Encounter", "status=in-progress&_count=7", Some(&cursor));
        assert_eq!((second.total, second.cost.counted), (first.total, 0));
        // the hospital moves on: the rest comes from the new present, with its total
        h.advance_hours(6);
        let after = Snapshot::build_reusing(&h, Some(&before));
        let now = expected(&after, "Encounter", |v| v["status"] == "in-progress");
        let second = page(&after, "Encounter", "status=in-progress&_count=7", Some(&cursor));
        assert_eq!(second.total, now.len());
        assert!(second.cost.counted > 0);
        let want: Vec<String> = now.iter().filter(|id| **id > last).take(7).cloned().collect();
        assert_eq!(ids(&after, "Encounter", std::slice::from_ref(&second)), want);
        // a bare id (an earlier server's cursor) pages on, counting again
        let bare = page(&after, "Encounter", "status=in-progress&_count=7", Some(&last));
        assert_eq!(
            (bare.total, bare.matches.clone()),
            (second.total, second.matches.clone())
        );
        assert_eq!(bare.next, second.next);
    }

    #[test]
    fn cursors_read_back_what_they_wrote_and_a_bare_id_has_no_count() {
        let c = Cursor {
            counted: Some((0xfeed, 123)),
            last: "w01-r02.b3",
        };
        assert_eq!(c.to_string(), "feed_123_w01-r02.b3");
        assert_eq!(Cursor::read("feed_123_w01-r02.b3"), c);
        assert_eq!(c.total_in(0xfeed), Some(123));
        assert_eq!(c.total_in(0xbeef), None);
        for bare in ["e1", "w01-r02", "1.2", "x_y_z", "ff_1"] {
            assert_eq!(
                Cursor::read(bare),
                Cursor {
                    counted: None,
                    last: bare
                }
            );
        }
    }
}
