-- Runs once, when the PostgreSQL volume is first created (the image's
-- /docker-entrypoint-initdb.d). careload's own database is POSTGRES_DB;
-- HAPI FHIR gets a separate database and role so the two never share tables.
CREATE ROLE hapi LOGIN PASSWORD 'hapi';
CREATE DATABASE hapi OWNER hapi;
