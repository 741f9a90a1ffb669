-- Planned staffing per ward, team, date, shift and profession: what the
-- scheduling system (CSV import) or a staffing assistant (API) says, minus
-- absences. Compared with the forecast need before each shift.
--
-- Never edit this file once applied; add a new one.

CREATE TABLE planned_staffing (
    ward       TEXT    NOT NULL,
    team       TEXT    NOT NULL DEFAULT '',       -- '' = staff of the whole ward
    date       DATE    NOT NULL,                  -- the shift's local start date
    shift      TEXT    NOT NULL,                  -- a shift name of the ward's plan
    profession TEXT    NOT NULL CHECK (profession IN ('USK', 'SSK')),
    planned    BIGINT NOT NULL CHECK (planned >= 0),
    absent     BIGINT NOT NULL CHECK (absent >= 0 AND absent <= planned),
    updated_at TIMESTAMPTZ    NOT NULL,
    updated_by TEXT    NOT NULL,                  -- the token's name, or the import
    PRIMARY KEY (ward, date, shift, team, profession)
);
