-- Several FHIR sources in one store (issue 29): one per hospital or EHR
-- instance, each with its own hourly run. A source writes and replaces only
-- its own rows of an hour (`source_id`; '' is the default single source,
-- so a store written before this migration is that source's), so a source
-- whose run fails leaves its wards at its last good hour while the others
-- move on. `source_hours` is each source's own current hour;
-- `current_hour` stays the newest hour any source wrote. Ward ids are
-- unique across sources (each source may prefix its own), so the keys of
-- the unit rows need no source; patients' keys are pseudonyms keyed per
-- source. The hospital-level unit row of an hour is the sum of every
-- source's wards in it, recomputed by each source's write.
--
-- Never edit this file once applied; add a new one.

ALTER TABLE patient_hours ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
ALTER TABLE unit_hours ADD COLUMN source_id TEXT NOT NULL DEFAULT '';
ALTER TABLE wards ADD COLUMN source_id TEXT;
ALTER TABLE ingest_runs ADD COLUMN source_id TEXT NOT NULL DEFAULT '';

CREATE TABLE source_hours (
    source_id  TEXT   NOT NULL PRIMARY KEY,
    hour       TIMESTAMPTZ    NOT NULL,
    run_id     BIGINT NOT NULL REFERENCES ingest_runs (id),
    updated_at TIMESTAMPTZ    NOT NULL
);

INSERT INTO source_hours (source_id, hour, run_id, updated_at)
SELECT '', hour, run_id, updated_at FROM current_hour;

UPDATE wards SET source_id = '' WHERE first_seen IS NOT NULL;
