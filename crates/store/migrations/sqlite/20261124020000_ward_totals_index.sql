-- The ward screen's patient graphs read (hour, patient, total) for one ward
-- over five days. With the snapshot and score in the row, every row sits on
-- its own page, so those reads touched one page per patient-hour. This
-- index holds the four columns in (ward, hour) order: the graphs are read
-- from the index alone, a few pages per ward-day. It replaces the
-- (ward, hour) index, of which it is an extension.
--
-- Never edit this file once applied; add a new one.

CREATE INDEX patient_hours_ward_hour_totals ON patient_hours (ward, hour, patient_key, total_milli);
DROP INDEX patient_hours_ward_hour;
