//! careload's FHIR R4 ingest: from the hospital's record to de-identified
//! [`Snapshot`](careload_scoring::Snapshot)s.
//!
//! The ingest has two halves joined by one boundary:
//!
//! * **reading** ([`read`]): FHIR R4 JSON from a Bundle file or a directory of
//!   Bulk Data NDJSON files, parsed with the typed R4B models of `fhir-sdk`
//!   (which read R4 JSON), into a [`Resources`] store; or **fetching**
//!   ([`source::rest`]) the same store from a FHIR server's REST API, or
//!   exporting it with FHIR Bulk Data ([`source::bulk`]); both authorise
//!   with a static token or SMART Backend Services ([`source::auth`]).
//! * **mapping** ([`mapping`]): [`Resources`] + a compiled [`Mapping`] (the
//!   code tables of [`MappingConfig`]) + a [`PseudonymKey`] → one snapshot per
//!   in-progress inpatient stay on a ward, and a [`MapReport`].
//!
//! Nothing is ever fatal for one resource: a malformed line, a resource the
//! typed models refuse, an unknown code or a dangling reference is counted,
//! logged with its id and skipped. Names, identifiers, addresses, telecom,
//! narrative and free text never leave the typed resources; the FHIR Patient
//! id becomes a keyed hash.

pub mod config;
pub mod error;
pub mod facts;
pub mod mapping;
pub mod prune;
pub mod pseudonym;
pub mod read;
pub mod source;
pub mod suggest;
mod time;

pub use config::{Mapping, MappingConfig};
pub use error::Error;
pub use mapping::{MapReport, UnusedCode, map};
pub use prune::Pruned;
pub use pseudonym::PseudonymKey;
pub use read::{ReadReport, Resources, Skip, read_path};
pub use source::auth::SmartConfig;
pub use source::bulk::{BulkConfig, BulkLevel, BulkReport, apply_bulk_changes, bulk_fetch};
pub use source::rest::{FetchReport, FhirClient, RestConfig, apply_changes, fetch, fetch_changes};
pub use time::When;
