//! Conversions from the FHIR models' `time`-crate instants to chrono.

use chrono::{DateTime, Utc};
use fhir_sdk::{DateTime as FhirDateTime, Instant};

/// A FHIR instant in UTC.
pub(crate) fn instant(i: &Instant) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(i.0.unix_timestamp(), i.0.nanosecond())
}

/// A FHIR dateTime in UTC; `None` for a date without a time (no instant).
pub(crate) fn date_time(d: &FhirDateTime) -> Option<DateTime<Utc>> {
    match d {
        FhirDateTime::DateTime(i) => instant(i),
        FhirDateTime::Date(_) => None,
    }
}
