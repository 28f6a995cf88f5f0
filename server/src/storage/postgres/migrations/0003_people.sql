-- Who each case, representative's file and mentor profile is about
-- (core::docs::Identity), to match an imported register and to find two
-- files of one person. Stored documents get theirs when the facts are
-- recomputed, which resetting the facts' version asks for.
CREATE TABLE doc_people (
    doc_id   TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    iin      TEXT NOT NULL,
    name_key TEXT NOT NULL,
    birth    TEXT NOT NULL
);
CREATE INDEX doc_people_iin ON doc_people(kind, iin);
CREATE INDEX doc_people_name ON doc_people(kind, name_key, birth);
UPDATE meta SET value = 0 WHERE key = 'facts_version';
