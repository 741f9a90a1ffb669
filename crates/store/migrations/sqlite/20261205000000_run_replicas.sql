-- Replicas (issue 29): several `careload serve` processes may share one
-- database; exactly one runs each scheduled firing. Each run records the
-- firing it was for (`fired_at`, the schedule's instant, NULL for a
-- back-fill, a catch-up at start or `ingest --once`) and which process ran
-- it (`replica`, "host:pid"), so that a replica that took over from a dead
-- one can tell whether the firing is already done.
--
-- Never edit this file once applied; add a new one.

ALTER TABLE ingest_runs ADD COLUMN fired_at TEXT;
ALTER TABLE ingest_runs ADD COLUMN replica TEXT;
CREATE INDEX ingest_runs_fired_at ON ingest_runs (fired_at) WHERE fired_at IS NOT NULL;
