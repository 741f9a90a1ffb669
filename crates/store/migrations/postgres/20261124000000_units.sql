-- Wards, teams and beds: what the hourly data has shown (from the FHIR
-- Location tree, through each snapshot's placement) and what the
-- configuration says. A ward with nobody in it right now still exists here,
-- so the overview can show it empty instead of losing it.
--
-- Never edit this file once applied; add a new one.

CREATE TABLE wards (
    ward          TEXT        NOT NULL PRIMARY KEY,
    name          TEXT,                          -- from config; NULL = show the id
    care_category TEXT,                          -- from config (weights' staff_hours key)
    beds          BIGINT,                        -- configured bed count; NULL = count beds seen
    configured    BOOLEAN     NOT NULL DEFAULT FALSE,
    first_seen    TIMESTAMPTZ,                   -- first hour with a patient; NULL = never
    last_seen     TIMESTAMPTZ
);

CREATE TABLE teams (
    ward       TEXT        NOT NULL REFERENCES wards (ward),
    team       TEXT        NOT NULL,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ward, team)
);

CREATE TABLE beds (
    ward       TEXT        NOT NULL REFERENCES wards (ward),
    bed        TEXT        NOT NULL,
    team       TEXT,                             -- the team of the bed's patient at last_seen
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (ward, bed)
);

CREATE INDEX beds_last_seen ON beds (last_seen);

-- Existing history fills the tables once.
INSERT INTO wards (ward, first_seen, last_seen)
    SELECT ward, MIN(hour), MAX(hour) FROM patient_hours GROUP BY ward;
INSERT INTO teams (ward, team, first_seen, last_seen)
    SELECT ward, team, MIN(hour), MAX(hour) FROM patient_hours WHERE team IS NOT NULL GROUP BY ward, team;
INSERT INTO beds (ward, bed, first_seen, last_seen)
    SELECT ward, bed, MIN(hour), MAX(hour) FROM patient_hours WHERE bed IS NOT NULL GROUP BY ward, bed;
