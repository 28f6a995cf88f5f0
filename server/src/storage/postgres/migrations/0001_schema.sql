-- Qamqor on PostgreSQL, migration 1: the schema of SQLite's migrations 1
-- to 9 in one step (PostgreSQL support starts here).

CREATE TABLE meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO meta(key, value) VALUES ('feed_seq', 0), ('projection_version', 0), ('facts_version', 0);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL,
    region          TEXT NOT NULL,
    districts       TEXT NOT NULL,
    adoption_access BOOLEAN NOT NULL DEFAULT FALSE,
    access_epoch    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE enrollment_codes (
    code_id     TEXT PRIMARY KEY,
    secret_hash TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users(id),
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    failures    BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE code_attempts (
    code_id  TEXT NOT NULL,
    address  TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    PRIMARY KEY (code_id, address)
);

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users(id),
    actor           TEXT NOT NULL UNIQUE,
    token_hash      TEXT NOT NULL UNIQUE,
    label           TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT,
    wiped_at        BIGINT,
    last_sync_at    BIGINT,
    cursor          BIGINT NOT NULL DEFAULT 0,
    next_token_hash TEXT UNIQUE,
    next_expires_at BIGINT
);

CREATE TABLE device_access (
    device_id TEXT PRIMARY KEY REFERENCES devices(id),
    epoch     BIGINT NOT NULL
);

CREATE TABLE assignments (
    user_id TEXT NOT NULL REFERENCES users(id),
    doc_id  TEXT NOT NULL,
    PRIMARY KEY (user_id, doc_id)
);

CREATE TABLE documents (
    doc_id     TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    region     TEXT,
    district   TEXT,
    tier       TEXT NOT NULL,
    mentor_id  TEXT,
    owner_user TEXT,
    urgent     BOOLEAN NOT NULL DEFAULT FALSE,
    seq        BIGINT NOT NULL UNIQUE,
    snapshot   BYTEA NOT NULL
);
CREATE INDEX documents_owner ON documents(owner_user);
CREATE INDEX documents_urgent ON documents(seq) WHERE urgent;

CREATE TABLE changes (
    id     BIGSERIAL PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    data   BYTEA NOT NULL
);
CREATE INDEX changes_doc ON changes(doc_id, id);

CREATE TABLE device_docs (
    device_id TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    state     BYTEA NOT NULL,
    removal   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (device_id, doc_id)
);
CREATE INDEX device_docs_removals ON device_docs(device_id) WHERE removal;

CREATE TABLE held_documents (
    doc_id    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    at        BIGINT NOT NULL,
    reason    TEXT NOT NULL,
    snapshot  BYTEA NOT NULL,
    PRIMARY KEY (doc_id, device_id)
);

CREATE TABLE phone_reads (
    read_id   TEXT PRIMARY KEY,
    device_id TEXT NOT NULL
);

-- Append-only: an UPDATE or DELETE is refused unless an archive run
-- (`SET LOCAL qamqor.archiving = 'on'`) removes lines it has written out.
CREATE TABLE audit (
    id        BIGSERIAL PRIMARY KEY,
    at        BIGINT NOT NULL,
    user_id   TEXT NOT NULL,
    device_id TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    action    TEXT NOT NULL,
    hashes    TEXT NOT NULL,
    address   TEXT,
    chain     TEXT
);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('qamqor.archiving', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TABLE audit_anchor (
    id       BIGINT PRIMARY KEY CHECK (id = 1),
    chain    TEXT NOT NULL,
    up_to_id BIGINT NOT NULL
);

CREATE TABLE doc_facts (
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
    tier   TEXT NOT NULL,
    facts  TEXT NOT NULL
);

CREATE TABLE console_accounts (
    user_id        TEXT PRIMARY KEY REFERENCES users(id),
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL,
    last_totp_step BIGINT NOT NULL DEFAULT 0,
    failures       BIGINT NOT NULL DEFAULT 0,
    locked_until   BIGINT NOT NULL DEFAULT 0,
    lang           TEXT NOT NULL DEFAULT 'ru'
);
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id),
    csrf       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_user ON console_sessions(user_id);

CREATE TABLE region_credentials (
    region     TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);
CREATE TABLE region_reports (
    region      TEXT NOT NULL,
    as_of       TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (region, as_of)
);
