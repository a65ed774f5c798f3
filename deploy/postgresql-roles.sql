-- The two PostgreSQL roles of a labs database, run once as a superuser (psql -f). The owner runs
-- migrations (LABS_MIGRATION_DATABASE_URL); the service runs as labs_web (LABS_DATABASE_URL).
CREATE ROLE labs_owner LOGIN PASSWORD 'CHANGE-ME';
CREATE ROLE labs_web LOGIN PASSWORD 'CHANGE-ME';
CREATE DATABASE labs OWNER labs_owner;
\connect labs
CREATE EXTENSION IF NOT EXISTS btree_gist;  -- the bookings' exclusion constraint needs it
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE labs TO labs_web;

-- Then, as labs_owner: `labs db upgrade` and `labs db grant-service-role labs_web`, which runs
-- (after every upgrade; see labs/grants.py):
--   GRANT USAGE ON SCHEMA public TO labs_web;
--   GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO labs_web;
--   GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO labs_web;
--   ALTER DEFAULT PRIVILEGES FOR ROLE labs_owner IN SCHEMA public
--       GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO labs_web;
--   ALTER DEFAULT PRIVILEGES FOR ROLE labs_owner IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO labs_web;
--   REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM labs_web;
--   REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, readings, verification_results, certificates,
--     spotcheck_published_results FROM labs_web;
--   GRANT SELECT, INSERT ON audit_log, readings, verification_results, certificates,
--     spotcheck_published_results TO labs_web;
-- Triggers (migrations 0004, 0006, 0008) refuse UPDATE and DELETE on those tables to every role.
