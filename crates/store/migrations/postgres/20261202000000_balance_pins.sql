-- Patients a shift leader keeps in their team when the teams are balanced
-- ("pinned": continuity of care, isolation, a patient who must not be
-- moved). One row per ward and patient pseudonym; the stay's admission time
-- is kept so that a pin never carries over to a later stay of the same
-- patient. Set and cleared through the API, each change audited in the same
-- transaction. No free text: the reason stays in the ward's own routines.
--
-- Never edit this file once applied; add a new one.

CREATE TABLE balance_pins (
    ward        TEXT        NOT NULL,
    patient_key TEXT        NOT NULL,
    admitted_at TIMESTAMPTZ NOT NULL,
    pinned_at   TIMESTAMPTZ NOT NULL,
    pinned_by   TEXT        NOT NULL,
    PRIMARY KEY (ward, patient_key)
);
