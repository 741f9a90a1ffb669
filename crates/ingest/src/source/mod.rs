//! Sources that fill a [`Resources`](crate::Resources) store from a live FHIR
//! server (files are read by [`crate::read`]).
//!
//! * [`rest`]: FHIR R4 REST search, paged, retried, with a deadline.
//! * [`bulk`]: FHIR Bulk Data export (`$export`), polled and downloaded.
//! * [`auth`]: static bearer token or SMART Backend Services.

pub mod auth;
pub mod bulk;
pub mod rest;
