-- careload history store, first schema (SQLite).
--
-- Never edit this file once it has been applied anywhere: sqlx records its
-- checksum and refuses to start on a changed migration. Add a new file.
--
-- Times are UTC instants (sqlx stores chrono's DateTime<Utc> as text in one
-- fixed format, so text order is time order). Points are fixed-point
-- thousandths (`*_milli`, the scoring crate's `Points::milli`), so sums are
-- exact. JSON columns hold the serde form of the scoring crate's types.

-- Weights versions the council decided, as loaded. A version is never
-- edited: the digest proves it.
CREATE TABLE weights_versions (
    version           TEXT    NOT NULL PRIMARY KEY,
    format            INTEGER NOT NULL,
    digest            TEXT    NOT NULL,      -- SHA-256 of the file's bytes, hex
    effective_from    TEXT    NOT NULL,      -- date, YYYY-MM-DD
    decided_by        TEXT    NOT NULL,
    meeting_reference TEXT    NOT NULL,
    notes             TEXT    NOT NULL,
    loaded_at         TEXT    NOT NULL
);

-- One row per ingest run (hourly or by hand). No patient data: `error` is the
-- run-level message only.
CREATE TABLE ingest_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT    NOT NULL,
    finished_at TEXT,                        -- NULL while running
    source      TEXT    NOT NULL,            -- e.g. the FHIR base URL or file
    outcome     TEXT    CHECK (outcome IN ('ok', 'partial', 'failed')),
    counts      TEXT    NOT NULL DEFAULT '{}', -- JSON object: resource type -> count
    skipped     INTEGER NOT NULL DEFAULT 0,
    retries     INTEGER NOT NULL DEFAULT 0,
    error       TEXT
);

-- Every patient's de-identified snapshot and score, one row per hour bucket.
-- The light columns serve graphs; the JSON columns let history be re-scored
-- under another weights version.
CREATE TABLE patient_hours (
    hour                   TEXT    NOT NULL, -- start of the hour bucket
    patient_key            TEXT    NOT NULL, -- keyed pseudonym
    ward                   TEXT    NOT NULL,
    team                   TEXT,
    bed                    TEXT,
    as_of                  TEXT    NOT NULL, -- the snapshot's instant
    run_id                 INTEGER NOT NULL REFERENCES ingest_runs (id),
    weights_version        TEXT    NOT NULL REFERENCES weights_versions (version),
    total_milli            INTEGER NOT NULL,
    usk_milli              INTEGER NOT NULL,
    ssk_milli              INTEGER NOT NULL,
    medications_milli      INTEGER NOT NULL,
    orders_milli           INTEGER NOT NULL,
    basic_nursing_milli    INTEGER NOT NULL,
    specific_nursing_milli INTEGER NOT NULL,
    news2_milli            INTEGER NOT NULL,
    emotional_support_milli INTEGER NOT NULL,
    care_plans_milli       INTEGER NOT NULL,
    diagnoses_milli        INTEGER NOT NULL,
    modifiers_milli        INTEGER NOT NULL,
    unmatched              INTEGER NOT NULL,
    snapshot               TEXT    NOT NULL, -- JSON: careload_scoring::Snapshot
    score                  TEXT    NOT NULL, -- JSON: careload_scoring::Score
    PRIMARY KEY (hour, patient_key)
);

-- A ward's patients over a range of hours (ward screen graphs).
CREATE INDEX patient_hours_ward_hour ON patient_hours (ward, hour);

-- Sums per hour at each level: the hospital (ward = '', team = ''), each
-- ward (team = '') and each team.
CREATE TABLE unit_hours (
    hour                   TEXT    NOT NULL,
    level                  TEXT    NOT NULL CHECK (level IN ('hospital', 'ward', 'team')),
    ward                   TEXT    NOT NULL,
    team                   TEXT    NOT NULL,
    patients               INTEGER NOT NULL,
    total_milli            INTEGER NOT NULL,
    usk_milli              INTEGER NOT NULL,
    ssk_milli              INTEGER NOT NULL,
    medications_milli      INTEGER NOT NULL,
    orders_milli           INTEGER NOT NULL,
    basic_nursing_milli    INTEGER NOT NULL,
    specific_nursing_milli INTEGER NOT NULL,
    news2_milli            INTEGER NOT NULL,
    emotional_support_milli INTEGER NOT NULL,
    care_plans_milli       INTEGER NOT NULL,
    diagnoses_milli        INTEGER NOT NULL,
    modifiers_milli        INTEGER NOT NULL,
    unmatched              INTEGER NOT NULL,
    weights_version        TEXT    NOT NULL REFERENCES weights_versions (version),
    PRIMARY KEY (hour, level, ward, team)
);

-- A ward's (or the hospital's) aggregates over a year: the primary key's
-- (hour, level, ...) order suits "one hour, every ward"; this one suits
-- "one ward, many hours".
CREATE INDEX unit_hours_level_ward_hour ON unit_hours (level, ward, hour);

-- The hour readers should show. Exactly one row (id = 1), set in the same
-- transaction as that hour's rows, so a new hour becomes current at once.
CREATE TABLE current_hour (
    id         INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    hour       TEXT    NOT NULL,
    run_id     INTEGER NOT NULL REFERENCES ingest_runs (id),
    updated_at TEXT    NOT NULL
);

-- Administrative actions (weights loaded, runs started by hand, purges...).
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     TEXT    NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    detail TEXT    NOT NULL DEFAULT '{}'   -- JSON
);

CREATE INDEX audit_log_at ON audit_log (at);
