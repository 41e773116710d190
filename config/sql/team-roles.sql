-- Per-person PostgreSQL roles for flightdeck's `database` identity mode.
--
-- Run as the owner of the flightdeck database, after flightdeck created its
-- schema (any flightdeck command against the database does that):
--
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -f config/sql/team-roles.sql
--
-- then one role per person (a password, or certificate / GSSAPI auth in
-- pg_hba.conf; never a shared login):
--
--   CREATE ROLE alice LOGIN PASSWORD '...' IN ROLE flightdeck_approver;
--
-- and each person's journal URL names their own role:
--   FLIGHTDECK_JOURNAL=postgres://alice@db.example/flightdeck
--
-- What the group may do, and nothing more: read the journal, append
-- sign-offs and audit entries. No UPDATE, DELETE, TRUNCATE or DDL, so an
-- approver cannot rewrite history or drop the trigger that checks each
-- row's db_user (and a database-identity sign-off's person) against
-- session_user. Whoever drives releases needs more (releases, step_runs,
-- leases, live output): give drivers flightdeck_driver below.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flightdeck_approver') THEN
        CREATE ROLE flightdeck_approver NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flightdeck_driver') THEN
        CREATE ROLE flightdeck_driver NOLOGIN IN ROLE flightdeck_approver;
    END IF;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM flightdeck_approver, flightdeck_driver;
GRANT USAGE ON SCHEMA public TO flightdeck_approver;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO flightdeck_approver;
GRANT INSERT ON audit_log, signoffs TO flightdeck_approver;

-- Drivers start releases, journal steps, hold the deploy lock and publish
-- the running step's output; still no DELETE on the record or any DDL.
GRANT INSERT, UPDATE ON releases, step_runs, release_leases, live_output TO flightdeck_driver;
GRANT INSERT ON resume_choices TO flightdeck_driver;
GRANT DELETE ON live_output TO flightdeck_driver;
