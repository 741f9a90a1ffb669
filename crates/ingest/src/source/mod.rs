//! Sources that fill a [`Resources`](crate::Resources) store from a live FHIR
//! server (files are read by [`crate::read`]).
//!
//! * [`rest`]: FHIR R4 REST search, paged, retried, with a deadline.

pub mod rest;
