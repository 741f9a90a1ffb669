-- Each patient's unbroken runs of hours on a ward and team: a segment is
-- (ward, team, patient, first hour, last hour) with the patient stored at
-- every hour in between. The hourly write extends the segment that ended an
-- hour before, or opens a new one. Trend exports count distinct patients per
-- day, week or month from these rows instead of from every patient-hour
-- (a year of a 1,000-bed hospital: ~100,000 segments against 8.8 million
-- patient-hours). team is '' for patients without a team. The patient rows
-- already stored are turned into segments here (gaps and islands).
--
-- Never edit this file once applied; add a new one.

CREATE TABLE patient_segments (
    ward        TEXT NOT NULL,
    team        TEXT NOT NULL,
    patient_key TEXT NOT NULL,
    first_hour  TEXT NOT NULL,
    last_hour   TEXT NOT NULL,
    PRIMARY KEY (ward, team, patient_key, first_hour)
);

CREATE INDEX patient_segments_last_hour ON patient_segments (last_hour);

INSERT INTO patient_segments (ward, team, patient_key, first_hour, last_hour)
SELECT ward, team, patient_key, MIN(hour), MAX(hour)
FROM (
    SELECT ward, COALESCE(team, '') AS team, patient_key, hour,
           CAST(strftime('%s', hour) AS INTEGER) / 3600
             - ROW_NUMBER() OVER (PARTITION BY ward, COALESCE(team, ''), patient_key ORDER BY hour) AS island
    FROM patient_hours
)
GROUP BY ward, team, patient_key, island;
