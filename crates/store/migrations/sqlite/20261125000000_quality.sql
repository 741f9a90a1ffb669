-- Documentation quality (fill rate) per unit and hour: of the patients the
-- hourly run assessed, how many had Norton missing or stale, NEWS2 missing
-- or overdue, how many open activities (and of them without a due time or
-- with a generic code), and how many were thinly documented a day after
-- admission (careload_scoring::quality). Hours written before this
-- migration have q_assessed = 0: no assessment, not "all complete".
--
-- Never edit this file once applied; add a new one.

ALTER TABLE unit_hours ADD COLUMN q_assessed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE unit_hours ADD COLUMN q_norton_stale INTEGER NOT NULL DEFAULT 0;
ALTER TABLE unit_hours ADD COLUMN q_news2_overdue INTEGER NOT NULL DEFAULT 0;
ALTER TABLE unit_hours ADD COLUMN q_activities INTEGER NOT NULL DEFAULT 0;
ALTER TABLE unit_hours ADD COLUMN q_activities_no_due INTEGER NOT NULL DEFAULT 0;
ALTER TABLE unit_hours ADD COLUMN q_activities_generic INTEGER NOT NULL DEFAULT 0;
ALTER TABLE unit_hours ADD COLUMN q_thin INTEGER NOT NULL DEFAULT 0;
