-- careload history store, first schema (PostgreSQL).
--
-- Never edit this file once it has been applied anywhere: sqlx records its
-- checksum and refuses to start on a changed migration. Add a new file.
--
-- The same tables as the SQLite schema. Times are TIMESTAMPTZ; points are
-- fixed-point thousandths (`*_milli`, BIGINT) so sums are exact; JSON columns
-- are JSONB holding the serde form of the scoring crate's types.

-- Weights versions the council decided, as loaded. A version is never
-- edited: the digest proves it.
CREATE TABLE weights_versions (
    version           TEXT        NOT NULL PRIMARY KEY,
    format            INTEGER     NOT NULL,
    digest            TEXT        NOT NULL,  -- SHA-256 of the file's bytes, hex
    effective_from    DATE        NOT NULL,
    decided_by        TEXT        NOT NULL,
    meeting_reference TEXT        NOT NULL,
    notes             TEXT        NOT NULL,
    loaded_at         TIMESTAMPTZ NOT NULL
);

-- One row per ingest run. No patient data: `error` is the run-level message.
CREATE TABLE ingest_runs (
    id          BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,                 -- NULL while running
    source      TEXT        NOT NULL,
    outcome     TEXT        CHECK (outcome IN ('ok', 'partial', 'failed')),
    counts      JSONB       NOT NULL DEFAULT '{}',  -- resource type -> count
    skipped     BIGINT      NOT NULL DEFAULT 0,
    retries     BIGINT      NOT NULL DEFAULT 0,
    error       TEXT
);

-- Every patient's de-identified snapshot and score, one row per hour bucket.
--
-- Partitioned by RANGE (hour), one partition per calendar month (UTC) named
-- patient_hours_yYYYYmMM. The writer creates the month's partition on demand
-- before it writes an hour (see `Store::write_hour`); rows that would find no
-- partition land in patient_hours_default, so a write never fails for want
-- of one. Retention can later drop whole months instead of deleting rows.
-- 3,000 beds x 24 h x ~30 days is ~2.2 M rows per partition.
CREATE TABLE patient_hours (
    hour                    TIMESTAMPTZ NOT NULL,  -- start of the hour bucket
    patient_key             TEXT        NOT NULL,  -- keyed pseudonym
    ward                    TEXT        NOT NULL,
    team                    TEXT,
    bed                     TEXT,
    as_of                   TIMESTAMPTZ NOT NULL,  -- the snapshot's instant
    run_id                  BIGINT      NOT NULL REFERENCES ingest_runs (id),
    weights_version         TEXT        NOT NULL REFERENCES weights_versions (version),
    total_milli             BIGINT      NOT NULL,
    usk_milli               BIGINT      NOT NULL,
    ssk_milli               BIGINT      NOT NULL,
    medications_milli       BIGINT      NOT NULL,
    orders_milli            BIGINT      NOT NULL,
    basic_nursing_milli     BIGINT      NOT NULL,
    specific_nursing_milli  BIGINT      NOT NULL,
    news2_milli             BIGINT      NOT NULL,
    emotional_support_milli BIGINT      NOT NULL,
    care_plans_milli        BIGINT      NOT NULL,
    diagnoses_milli         BIGINT      NOT NULL,
    modifiers_milli         BIGINT      NOT NULL,
    unmatched               BIGINT      NOT NULL,
    snapshot                JSONB       NOT NULL,  -- careload_scoring::Snapshot
    score                   JSONB       NOT NULL,  -- careload_scoring::Score
    PRIMARY KEY (hour, patient_key)
) PARTITION BY RANGE (hour);

CREATE TABLE patient_hours_default PARTITION OF patient_hours DEFAULT;

-- A ward's patients over a range of hours (ward screen graphs); created on
-- every partition.
CREATE INDEX patient_hours_ward_hour ON patient_hours (ward, hour);

-- Sums per hour at each level: the hospital (ward = '', team = ''), each
-- ward (team = '') and each team. Small (one row per unit per hour), so not
-- partitioned.
CREATE TABLE unit_hours (
    hour                    TIMESTAMPTZ NOT NULL,
    level                   TEXT        NOT NULL CHECK (level IN ('hospital', 'ward', 'team')),
    ward                    TEXT        NOT NULL,
    team                    TEXT        NOT NULL,
    patients                BIGINT      NOT NULL,
    total_milli             BIGINT      NOT NULL,
    usk_milli               BIGINT      NOT NULL,
    ssk_milli               BIGINT      NOT NULL,
    medications_milli       BIGINT      NOT NULL,
    orders_milli            BIGINT      NOT NULL,
    basic_nursing_milli     BIGINT      NOT NULL,
    specific_nursing_milli  BIGINT      NOT NULL,
    news2_milli             BIGINT      NOT NULL,
    emotional_support_milli BIGINT      NOT NULL,
    care_plans_milli        BIGINT      NOT NULL,
    diagnoses_milli         BIGINT      NOT NULL,
    modifiers_milli         BIGINT      NOT NULL,
    unmatched               BIGINT      NOT NULL,
    weights_version         TEXT        NOT NULL REFERENCES weights_versions (version),
    PRIMARY KEY (hour, level, ward, team)
);

-- One ward (or the hospital) over many hours.
CREATE INDEX unit_hours_level_ward_hour ON unit_hours (level, ward, hour);

-- The hour readers should show: exactly one row (id = 1), set in the same
-- transaction as that hour's rows.
CREATE TABLE current_hour (
    id         INTEGER     NOT NULL PRIMARY KEY CHECK (id = 1),
    hour       TIMESTAMPTZ NOT NULL,
    run_id     BIGINT      NOT NULL REFERENCES ingest_runs (id),
    updated_at TIMESTAMPTZ NOT NULL
);

-- Administrative actions (weights loaded, runs started by hand, purges...).
CREATE TABLE audit_log (
    id     BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL,
    actor  TEXT        NOT NULL,
    action TEXT        NOT NULL,
    detail JSONB       NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_at ON audit_log (at);
