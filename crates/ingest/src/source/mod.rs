//! Sources that fill a [`Resources`](crate::Resources) store from a live FHIR
//! server (files are read by [`crate::read`]).
//!
//! * [`rest`]: FHIR R4 REST search, paged, retried, with a deadline.
//! * [`bulk`]: FHIR Bulk Data export (`$export`), polled and downloaded.
//! * [`auth`]: static bearer token or SMART Backend Services.

pub mod auth;
pub mod bulk;
pub mod rest;

use url::Url;

/// Query parameters whose values name patients, stays or records.
const ID_PARAMS: [&str; 8] = [
    "_id",
    "patient",
    "subject",
    "encounter",
    "for",
    "location",
    "partof",
    "context",
];

/// A URL as errors, run records and logs show it: the values of parameters
/// that name patients, stays or records (a reference, an id list) are
/// replaced by how many there were, because a search of one ward's stays
/// lists its patients' ids and run errors are stored. The rest (the path,
/// `_count`, `_lastUpdated`, a server's page token) stays, for the operator.
pub(crate) fn shown_url(url: &Url) -> String {
    if url.query().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let base = k.split(':').next().unwrap_or_default();
            if ID_PARAMS.contains(&base) || v.contains('/') {
                let n = v.split(',').count();
                (k.into_owned(), format!("({n} withheld)"))
            } else {
                (k.into_owned(), v.into_owned())
            }
        })
        .collect();
    shown.query_pairs_mut().clear().extend_pairs(pairs);
    shown.to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shown_urls_withhold_ids_and_keep_the_rest() {
        let url = Url::parse(
            "https://ehr.example/fhir/Observation?encounter=Encounter/p000001-e1,Encounter/p000002-e1&_count=200&_lastUpdated=ge2026-12-04T10:00:00Z",
        )
        .unwrap();
        let shown = shown_url(&url);
        assert!(!shown.contains("p000001") && !shown.contains("p000002"), "{shown}");
        assert!(shown.contains("encounter=%282+withheld%29"), "{shown}");
        assert!(
            shown.contains("_count=200") && shown.contains("_lastUpdated=ge2026-12-04T10"),
            "{shown}"
        );
        assert!(shown.starts_with("https://ehr.example/fhir/Observation?"), "{shown}");
        // a server's next link with a reference in an odd parameter
        let next = Url::parse("https://ehr.example/fhir?_getpages=abc&subject:Patient=p9&x=Patient/p9").unwrap();
        let shown = shown_url(&next);
        assert!(!shown.contains("p9"), "{shown}");
        assert!(shown.contains("_getpages=abc"), "{shown}");
        let plain = Url::parse("https://ehr.example/fhir/metadata").unwrap();
        assert_eq!(shown_url(&plain), "https://ehr.example/fhir/metadata");
    }
}
