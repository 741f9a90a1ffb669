-- The ward screen's patient graphs read (hour, patient, total) for one ward
-- over five days. This index carries the patient and total beside
-- (ward, hour), so those reads can be answered from the index (once the
-- partition's pages are all-visible) and otherwise find their heap rows
-- through one index. It replaces the (ward, hour) index, of which it is an
-- extension. Created on the partitioned table, it is created on every
-- partition, present and future.
--
-- Never edit this file once applied; add a new one.

CREATE INDEX patient_hours_ward_hour_totals ON patient_hours (ward, hour) INCLUDE (patient_key, total_milli);
DROP INDEX patient_hours_ward_hour;
