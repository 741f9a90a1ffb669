//! careload's hourly run: fetch FHIR, map to snapshots, score, store.
