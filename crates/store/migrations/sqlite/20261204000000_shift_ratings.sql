-- The staff's own rating of each shift's workload (issue 27, PAONCIL):
-- −3 … +3, 0 = optimal, given after the shift on the ward's screen or a
-- phone, or typed in from paper. Regressed on the shift's points per person
-- present, it gives the ward's optimal points per person.
--
-- Anonymous by construction: the shift, the team, the profession and the
-- rating, never who — no token name, no address, no device, no free text.
-- Retention removes ratings of shifts that started before the cutoff, as it
-- does hours.
--
-- Never edit this file once applied; add a new one.

CREATE TABLE shift_ratings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    ward        TEXT    NOT NULL,
    team        TEXT,                             -- NULL = the whole ward
    shift_start TEXT    NOT NULL,                 -- the shift's start (RFC 3339, UTC)
    shift       TEXT    NOT NULL,                 -- its name in the ward's shift plan
    profession  TEXT    CHECK (profession IN ('USK', 'SSK')),  -- NULL = not given
    rating      INTEGER NOT NULL CONSTRAINT shift_ratings_rating_range CHECK (rating BETWEEN -3 AND 3),
    source      TEXT    NOT NULL CHECK (source IN ('screen', 'phone', 'paper import')),
    received_at TEXT    NOT NULL
);

CREATE INDEX shift_ratings_ward_start ON shift_ratings (ward, shift_start);
