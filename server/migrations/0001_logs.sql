-- Biscotte's PostgreSQL schema, version 1 (server/src/store/pg_store.rs explains each table).
-- Every server of a deployment runs the embedded migrations at start, under sqlx's advisory
-- lock, so servers starting at once migrate once.

-- The deployment's pinned name and key (`trust_root`): every server must sign with them.
CREATE TABLE biscotte_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- A registered site (its record as JSON, the same document the sled store keeps).
CREATE TABLE sites (
    id     text PRIMARY KEY,
    record text NOT NULL
);

-- Every published revision of a site, never overwritten.
CREATE TABLE revisions (
    site      text NOT NULL REFERENCES sites (id),
    revision  text NOT NULL,
    published text NOT NULL,
    PRIMARY KEY (site, revision)
);

-- The tail of a site's log: what the next append needs. Each writing transaction locks it
-- (SELECT ... FOR UPDATE), so any number of servers extend one log in turn.
CREATE TABLE log_tails (
    site           text PRIMARY KEY REFERENCES sites (id),
    size           bigint NOT NULL,
    root           bytea  NOT NULL,
    next_record_id bigint NOT NULL,
    -- Server time of the latest leaf, Unix ms: stamps never go back, whichever server stamps.
    last_stamp     bigint NOT NULL,
    -- The latest signed checkpoint (the note's text), of `size` leaves.
    checkpoint     text   NOT NULL
);

-- The leaves of every log. `bytes` is the leaf as hashed; retention sets it (and consent_id) to
-- NULL and keeps kind, number, time and hash.
CREATE TABLE leaves (
    site        text     NOT NULL,
    idx         bigint   NOT NULL,
    kind        smallint NOT NULL,
    record_id   bigint,
    server_time bigint   NOT NULL,
    hash        bytea    NOT NULL,
    bytes       bytea,
    consent_id  text,
    decision_id text,
    PRIMARY KEY (site, idx)
);
CREATE INDEX leaves_by_time ON leaves (site, server_time);
CREATE INDEX leaves_by_visitor ON leaves (site, consent_id, idx) WHERE consent_id IS NOT NULL;
CREATE UNIQUE INDEX leaves_by_decision_id ON leaves (site, decision_id) WHERE decision_id IS NOT NULL;
CREATE INDEX leaves_revisions ON leaves (site, idx) WHERE kind = 2;

-- Each complete block of 256 leaves: its root (a level-8 node) and its 256 leaf hashes (a full
-- level-0 hash tile), so that proofs and tiles never rehash the leaves.
CREATE TABLE blocks (
    site   text   NOT NULL,
    idx    bigint NOT NULL,
    root   bytea  NOT NULL,
    hashes bytea  NOT NULL,
    PRIMARY KEY (site, idx)
);

-- Every signed checkpoint, by size.
CREATE TABLE checkpoints (
    site text   NOT NULL,
    size bigint NOT NULL,
    note text   NOT NULL,
    PRIMARY KEY (site, size)
);

-- Where the last retention pass of a site stopped: leaves below it are past retention.
CREATE TABLE retention_marks (
    site  text PRIMARY KEY REFERENCES sites (id),
    below bigint NOT NULL
);
