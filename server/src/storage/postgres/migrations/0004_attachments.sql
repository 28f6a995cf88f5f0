-- Attachments: which documents reference which files (the files' access
-- follows the documents'; filled by recomputing the facts), and the files
-- themselves, received in chunks.
CREATE TABLE doc_blobs (
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    hash   TEXT NOT NULL,
    PRIMARY KEY (doc_id, hash)
);
CREATE INDEX doc_blobs_hash ON doc_blobs(hash);
CREATE TABLE blobs (
    hash       TEXT PRIMARY KEY,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    received   BIGINT NOT NULL,
    complete   BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE blob_chunks (
    hash   TEXT NOT NULL REFERENCES blobs(hash) ON DELETE CASCADE,
    pos    BIGINT NOT NULL,
    data   BYTEA NOT NULL,
    PRIMARY KEY (hash, pos)
);
UPDATE meta SET value = 0 WHERE key = 'facts_version';
