-- Council decisions: a weights version activated by name, with the file
-- itself, taking effect from its effective date. The hourly run scores each
-- hour under the activation in force on that hour's local date (the latest
-- effective date on or before it; on a tie, the latest activation); with
-- none, under the configured file. Rows are never updated or deleted: an
-- activation is a decision on record.
--
-- Never edit this file once applied; add a new one.

CREATE TABLE weights_activations (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    version        TEXT    NOT NULL REFERENCES weights_versions (version),
    effective_from TEXT    NOT NULL,   -- date, YYYY-MM-DD (the file's meta.effective_from)
    activated_at   TEXT    NOT NULL,
    activated_by   TEXT    NOT NULL,
    reference      TEXT    NOT NULL,   -- the council's minutes, case number…
    weights_toml   TEXT    NOT NULL    -- the file as decided; its SHA-256 is weights_versions.digest
);

CREATE INDEX weights_activations_effective ON weights_activations (effective_from, id);
