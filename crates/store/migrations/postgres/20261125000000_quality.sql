-- Documentation quality (fill rate) per unit and hour: of the patients the
-- hourly run assessed, how many had Norton missing or stale, NEWS2 missing
-- or overdue, how many open activities (and of them without a due time or
-- with a generic code), and how many were thinly documented a day after
-- admission (careload_scoring::quality). Hours written before this
-- migration have q_assessed = 0: no assessment, not "all complete".
--
-- Never edit this file once applied; add a new one.

ALTER TABLE unit_hours
    ADD COLUMN q_assessed           BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN q_norton_stale       BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN q_news2_overdue      BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN q_activities         BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN q_activities_no_due  BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN q_activities_generic BIGINT  NOT NULL DEFAULT 0,
    ADD COLUMN q_thin               BIGINT  NOT NULL DEFAULT 0;
