-- The journal of flightdeck (PostgreSQL). Keep in step with ../sqlite: same
-- tables, columns and constraints; only the dialect differs.
-- Times are unix milliseconds.

CREATE TABLE releases (
    id            TEXT    PRIMARY KEY,
    runbook_name  TEXT    NOT NULL,
    runbook_path  TEXT    NOT NULL,
    runbook_hash  TEXT    NOT NULL,
    environment   TEXT    NOT NULL,
    inputs_json   TEXT    NOT NULL,
    initiator     TEXT    NOT NULL,
    host          TEXT    NOT NULL,
    status        TEXT    NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'aborted')),
    started_at    BIGINT  NOT NULL,
    finished_at   BIGINT
);
CREATE INDEX releases_by_runbook ON releases (runbook_name, environment, status, started_at);
CREATE INDEX releases_by_start ON releases (started_at);

-- One row per attempt. 'started' is the intent, written before the step
-- runs; the outcome overwrites it. audit_seq is the audit entry of the last
-- write: it orders attempts even when a skip is journaled as attempt 0.
CREATE TABLE step_runs (
    release_id   TEXT    NOT NULL REFERENCES releases (id),
    step_id      TEXT    NOT NULL,
    attempt      BIGINT  NOT NULL CHECK (attempt >= 0),
    started_at   BIGINT,
    finished_at  BIGINT,
    status       TEXT    NOT NULL
        CHECK (status IN ('started', 'succeeded', 'failed', 'skipped', 'inconclusive')),
    exit_code    BIGINT,
    detail       TEXT,
    output       TEXT    NOT NULL DEFAULT '[]',
    audit_seq    BIGINT  NOT NULL,
    PRIMARY KEY (release_id, step_id, attempt)
);

-- Keyed by the audit entry that recorded them: globally ordered.
CREATE TABLE signoffs (
    audit_seq      BIGINT  PRIMARY KEY,
    release_id     TEXT    NOT NULL REFERENCES releases (id),
    gate           TEXT    NOT NULL,
    person         TEXT    NOT NULL,
    host           TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    decision       TEXT    NOT NULL CHECK (decision IN ('approve', 'reject')),
    comment        TEXT    NOT NULL,
    approved_hash  TEXT    NOT NULL,
    at             BIGINT  NOT NULL
);
CREATE INDEX signoffs_by_release ON signoffs (release_id, gate);

CREATE TABLE resume_choices (
    audit_seq   BIGINT  PRIMARY KEY,
    release_id  TEXT    NOT NULL REFERENCES releases (id),
    step_id     TEXT    NOT NULL,
    choice      TEXT    NOT NULL,
    person      TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    at          BIGINT  NOT NULL
);
CREATE INDEX resume_choices_by_release ON resume_choices (release_id);

-- Append-only, HMAC-chained. seq is assigned by the writer under an
-- advisory lock (it is part of the MAC), so it is not a sequence. UNIQUE
-- prev_mac: two writers on the same head cannot both commit.
CREATE TABLE audit_log (
    seq          BIGINT  PRIMARY KEY,
    release_id   TEXT,
    at           BIGINT  NOT NULL,
    actor        TEXT    NOT NULL,
    host         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    detail_json  TEXT    NOT NULL,
    prev_mac     TEXT    NOT NULL UNIQUE,
    mac          TEXT    NOT NULL
);
CREATE INDEX audit_log_by_release ON audit_log (release_id);

-- A guard against accidents, not against attackers (they can drop it):
-- the MAC chain is what detects tampering.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Team mode (deploy lock): one operator drives a release at a time. The
-- lease logic is not built yet; the table is here so it needs no migration.
CREATE TABLE release_leases (
    release_id   TEXT    PRIMARY KEY REFERENCES releases (id),
    holder       TEXT    NOT NULL,
    host         TEXT    NOT NULL,
    acquired_at  BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL
);
