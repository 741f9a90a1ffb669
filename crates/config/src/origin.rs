//! Where each key's value came from, so that a value [`Config::validate`]
//! refuses is reported at its source: the file and the line of its key, or
//! the environment variable that set it.
//!
//! [`Config::load`] records the file's keys (from `toml`'s spanned parse
//! tree: every key and every element of an array has its span) and then the
//! variables it applies; a later layer replaces an earlier one's origin. A
//! refusal names the key at fault; when that key kept its default (a missing
//! `source.url`), the key that asked for it (`source.kind`) is where to look.
//!
//! [`Config::load`]: crate::Config::load
//! [`Config::validate`]: crate::Config::validate

use std::collections::BTreeMap;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::Error;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A line of a configuration file.
    File {
        /// The file, as given.
        path: String,
        /// 1-based line of the key.
        line: usize,
    },
    /// An environment variable.
    Env {
        /// The variable, e.g. `CARELOAD_SCORING_TIME_ZONE`.
        name: String,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File { path, line } => write!(f, "{path}:{line}"),
            Origin::Env { name } => write!(f, "environment variable {name}"),
        }
    }
}

/// Keys refused for a value they did not set, and the keys that did: the
/// first of these with an origin is reported instead.
const ASKED_BY: &[(&str, &[&str])] = &[
    ("source.url", &["source.kind"]),
    ("source.path", &["source.kind"]),
    ("source.bulk_group", &["source.bulk_level"]),
    (
        "source.smart_key_file",
        &["source.smart_key_env", "source.smart_client_id"],
    ),
    ("sim.beds", &["sim.wards"]),
    ("schedule.minute", &["schedule.cron"]),
];

/// Origins by key: `scoring.time_zone`, `api.tokens[1]`, `wards.A.shifts.day`.
#[derive(Debug, Default)]
pub(crate) struct Origins(BTreeMap<String, Origin>);

impl Origins {
    /// Records every key of `text` (already parsed without error) at its line in `path`.
    pub(crate) fn record_file(&mut self, text: &str, path: &str) {
        // The text parsed as a Config already; should this parse fail all
        // the same, refusals name keys without lines, as before.
        if let Ok(root) = DeTable::parse(text) {
            let mut walk = Walk {
                text,
                path,
                out: &mut self.0,
            };
            walk.table(root.get_ref(), "");
        }
    }

    /// Records that `key` was set by the variable `name`.
    pub(crate) fn record_env(&mut self, key: &str, name: &str) {
        self.0.insert(key.to_owned(), Origin::Env { name: name.to_owned() });
    }

    /// The first key recorded at or under `table` (`source`, `source.url`,
    /// not `sources`), and where it was set: a table the file or the
    /// environment set explicitly.
    pub(crate) fn first_under(&self, table: &str) -> Option<(String, Origin)> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == table || k.strip_prefix(table).is_some_and(|rest| rest.starts_with('.')))
            .map(|(k, o)| (k.clone(), o.clone()))
    }

    /// Where the value refused under `key` came from, if not a default. A
    /// named source's key (`sources.<id>.url`) is asked for by its own
    /// table's keys as `[source]`'s is by `[source]`'s.
    fn of(&self, key: &str) -> Option<&Origin> {
        self.0.get(key).or_else(|| {
            let (table, asked) = match key.strip_prefix("sources.").and_then(|rest| rest.split_once('.')) {
                Some((id, rest)) => (format!("sources.{id}"), format!("source.{rest}")),
                None => ("source".to_owned(), key.to_owned()),
            };
            ASKED_BY.iter().find(|(k, _)| *k == asked).and_then(|(_, by)| {
                by.iter().find_map(|k| {
                    let k = match k.strip_prefix("source.") {
                        Some(rest) => format!("{table}.{rest}"),
                        None => (*k).to_owned(),
                    };
                    self.0.get(&k)
                })
            })
        })
    }

    /// `err` located: an [`Error::Invalid`] whose key has an origin becomes
    /// [`Error::InvalidAt`]; anything else is returned as it is.
    pub(crate) fn locate(&self, err: Error) -> Error {
        match err {
            Error::Invalid { key, message } => match self.of(&key) {
                Some(origin) => Error::InvalidAt {
                    key,
                    origin: origin.clone(),
                    message,
                },
                None => Error::Invalid { key, message },
            },
            other => other,
        }
    }
}

struct Walk<'a> {
    text: &'a str,
    path: &'a str,
    out: &'a mut BTreeMap<String, Origin>,
}

impl Walk<'_> {
    fn record(&mut self, key: String, offset: usize) {
        let line = self.text[..offset.min(self.text.len())].matches('\n').count() + 1;
        let origin = Origin::File {
            path: self.path.to_owned(),
            line,
        };
        self.out.insert(key, origin);
    }

    fn table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (k, v) in table {
            let key = if prefix.is_empty() {
                k.get_ref().to_string()
            } else {
                format!("{prefix}.{}", k.get_ref())
            };
            self.record(key.clone(), k.span().start);
            self.value(v, &key);
        }
    }

    fn value(&mut self, value: &Spanned<DeValue<'_>>, key: &str) {
        match value.get_ref() {
            DeValue::Table(t) => self.table(t, key),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    // an array of tables' element spans its [[header]]
                    let key = format!("{key}[{i}]");
                    self.record(key.clone(), item.span().start);
                    self.value(item, &key);
                }
            }
            _ => {}
        }
    }
}
