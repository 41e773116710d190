-- Team mode (PostgreSQL). Keep in step with ../sqlite/0002_team.sql.

-- The deploy lock: one driver per release. token is the fencing token,
-- bumped on every change of holder (never reused for a release); session
-- tells two terminals of one person apart; pid lets a restarted process on
-- the same host reclaim the lease of its own dead predecessor.
ALTER TABLE release_leases ADD COLUMN token BIGINT NOT NULL DEFAULT 0;
ALTER TABLE release_leases ADD COLUMN session TEXT NOT NULL DEFAULT '';
ALTER TABLE release_leases ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE release_leases ADD COLUMN released BIGINT NOT NULL DEFAULT 0;

-- Optional evidence: `ssh-keygen -Y sign -n flightdeck` over approved_hash.
ALTER TABLE signoffs ADD COLUMN signature TEXT;

-- One decision per person, gate and approved content, whatever the race.
CREATE UNIQUE INDEX signoffs_one_per_person ON signoffs (release_id, gate, person, approved_hash);

-- The running step's output tail, published by the driver for watchers.
-- Not journaled (the outcome carries the final tail); overwritten in place.
CREATE TABLE live_output (
    release_id  TEXT    NOT NULL REFERENCES releases (id),
    step_id     TEXT    NOT NULL,
    attempt     BIGINT  NOT NULL,
    lines       TEXT    NOT NULL,
    token       BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (release_id, step_id)
);
