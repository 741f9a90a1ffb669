//! FHIR search over a [`Snapshot`]: the query string read into a [`Search`],
//! run into a [`Page`], written as a `searchset` Bundle.
//!
//! * Results are sorted by id. A page holds up to `_count` matches (default
//!   [`DEFAULT_COUNT`], at most [`MAX_COUNT`]; larger values are clamped;
//!   `_count=0` or `_summary=count` returns only `total`).
//! * Paging is by key: the `next` link repeats the search with
//!   `_page=<cursor>`, the last id of the page, and the next page holds the
//!   matches with greater ids. A cursor is opaque to clients. When the
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

use super::index::{Entry, KeyValue, Kind, Snapshot, TYPES, split_reference, type_index};
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

    /// Runs the search.
    pub(crate) fn run(&self, snap: &Snapshot) -> Page {
        let table = &snap.tables[self.ty];
        let start = match &self.cursor {
            Some(c) => table.entries.partition_point(|e| *e.id <= **c),
            None => 0,
        };
        let mut matches = Vec::with_capacity(self.count.min(table.entries.len()));
        let mut has_more = false;
        let total;
        if self.filters.is_empty() {
            total = table.entries.len();
            let end = (start + self.count).min(total);
            matches.extend((start..end).map(|i| i as u32));
            has_more = end < total;
        } else {
            let mut n = 0;
            for (i, e) in table.entries.iter().enumerate() {
                if !self.matches(e) {
                    continue;
                }
                n += 1;
                if i >= start {
                    if matches.len() < self.count {
                        matches.push(i as u32);
                    } else {
                        has_more = true;
                    }
                }
            }
            total = n;
        }
        let included = if matches.is_empty() {
            Vec::new()
        } else {
            self.included(snap, &matches)
        };
        let next = (has_more && self.count > 0)
            .then(|| matches.last().map(|&i| table.entries[i as usize].id.to_string()))
            .flatten();
        Page {
            total,
            matches,
            included,
            next,
        }
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
}
