-- Identity (SQLite). Keep in step with ../postgres/0004_identity.sql.
-- A SQLite file has no authenticated roles: db_user stays empty, and the
-- `database` identity mode is refused on SQLite journals.
ALTER TABLE audit_log ADD COLUMN db_user TEXT;
ALTER TABLE signoffs ADD COLUMN db_user TEXT;
-- How the sign-off's person was established: claim, signed or database.
ALTER TABLE signoffs ADD COLUMN identity TEXT NOT NULL DEFAULT 'claim'
    CHECK (identity IN ('claim', 'signed', 'database'));
