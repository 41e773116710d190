-- Identity you can rely on (PostgreSQL). Keep in step with ../sqlite/0004_identity.sql.
--
-- db_user is the role the writing session authenticated as, set by the
-- database (column default) and checked by it (trigger): a session cannot
-- write a row in another role's name. A sign-off in `database` identity
-- mode must also name the session's role as its person, so an approver
-- connected as bob cannot record alice. Approver roles get no DDL and no
-- UPDATE/DELETE (config/sql/team-roles.sql), so they cannot drop this.
ALTER TABLE audit_log ADD COLUMN db_user TEXT NOT NULL DEFAULT session_user;
ALTER TABLE signoffs ADD COLUMN db_user TEXT NOT NULL DEFAULT session_user;
-- How the sign-off's person was established: claim, signed or database.
ALTER TABLE signoffs ADD COLUMN identity TEXT NOT NULL DEFAULT 'claim'
    CHECK (identity IN ('claim', 'signed', 'database'));

CREATE FUNCTION flightdeck_db_user_check() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.db_user IS DISTINCT FROM session_user THEN
        RAISE EXCEPTION 'db_user % is not this session''s role %', NEW.db_user, session_user;
    END IF;
    -- Nested: plpgsql resolves NEW.identity even behind a false AND.
    IF TG_TABLE_NAME = 'signoffs' THEN
        IF NEW.identity = 'database' AND NEW.person IS DISTINCT FROM session_user THEN
            RAISE EXCEPTION 'a database-identity sign-off is by the session''s role %, not %',
                session_user, NEW.person;
        END IF;
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_db_user BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION flightdeck_db_user_check();
CREATE TRIGGER signoffs_db_user BEFORE INSERT ON signoffs
    FOR EACH ROW EXECUTE FUNCTION flightdeck_db_user_check();
