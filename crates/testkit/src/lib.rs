//! What careload's test suites share, so that it is written once: a
//! temporary directory removed when dropped ([`TempDir`]), and, with the
//! `store` feature, the store harness ([`store`]) that runs one test on
//! every backend — a SQLite file always, a fresh PostgreSQL database when
//! `CARELOAD_TEST_DATABASE_URL` names a server.
//!
//! A dev-dependency only: no library or binary of the workspace depends on
//! it, and it is never published. Helpers that belong to one crate's domain
//! (example wards, the export story's hours) stay in that crate's `tests/`.

mod temp;

pub use temp::TempDir;

#[cfg(feature = "store")]
pub mod store;
