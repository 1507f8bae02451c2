-- server-sqlite.sql -- the central store of fieldsyncd (SQLite backend),
-- schema version 5 (PRAGMA user_version = 5).
--
-- DOCUMENTATION COPY.  The authoritative schema is the migrations[] array
-- in daemon/store_sqlite.c, which fieldsyncd applies at start-up
-- (migrations[i] takes user_version from i to i + 1).  Change that array
-- first, add a migration rather than editing an old one, and keep this
-- file in step.
--
-- Connections use WAL mode, synchronous=FULL, foreign_keys=ON and a
-- 5000 ms busy timeout.  Times are ISO 8601 UTC text with milliseconds
-- (strftime('%Y-%m-%dT%H:%M:%fZ','now')).  Stamps are HLC text
-- (common/hlc.h), which sorts like the stamps themselves.

-- Devices and their tokens.  Only the SHA-256 of a token is stored.
-- hlc_device is the device id bound on the token's first push.
CREATE TABLE devices(rowid_ INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK(role IN ('field','reviewer','admin')), team TEXT NOT NULL,
    token_hash BLOB NOT NULL UNIQUE, hlc_device TEXT UNIQUE,
    revoked INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, revoked_at TEXT);

-- Published form definitions (canonical JSON); never changed once published.
CREATE TABLE forms(id TEXT NOT NULL, version INTEGER NOT NULL, definition TEXT NOT NULL,
    published_at TEXT NOT NULL, PRIMARY KEY(id, version));

-- The immutable log of changes as received; seq is the pull cursor.
CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL,
    team TEXT NOT NULL, device TEXT NOT NULL, batch TEXT NOT NULL, hlc TEXT NOT NULL,
    body TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE INDEX changes_team_seq ON changes(team, seq);
CREATE UNIQUE INDEX changes_hlc ON changes(record_id, hlc);

-- Merged records.
CREATE TABLE records(id TEXT PRIMARY KEY, form TEXT NOT NULL,
    form_version INTEGER NOT NULL, team TEXT NOT NULL, created_by TEXT NOT NULL,
    tombstone TEXT, deleted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, review_status TEXT NOT NULL DEFAULT 'new',
    open_conflicts INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL);
CREATE INDEX records_form ON records(form, updated_at);

-- The winning value and stamp of each field of each record.
CREATE TABLE fields(record_id TEXT NOT NULL, name TEXT NOT NULL, value TEXT,
    stamp TEXT NOT NULL, PRIMARY KEY(record_id, name)) WITHOUT ROWID;

-- The merge rule's tables, shared with the device store: the text comes from
-- MERGE_SQLITE_SCHEMA in common/merge_sqlite.h.
-- Every write to a field, with the stamp it overwrote (base).
CREATE TABLE IF NOT EXISTS writes(record_id TEXT NOT NULL, name TEXT NOT NULL,
    stamp TEXT NOT NULL, base TEXT, value TEXT, device TEXT NOT NULL,
    PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;
-- Stamps that some write named as its base (overwritten values).
CREATE TABLE IF NOT EXISTS write_bases(record_id TEXT NOT NULL, name TEXT NOT NULL,
    stamp TEXT NOT NULL, PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;
-- Open conflicts: concurrent writes kept for review.
CREATE TABLE IF NOT EXISTS conflicts(record_id TEXT NOT NULL, name TEXT NOT NULL,
    stamp TEXT NOT NULL, created_at TEXT NOT NULL,
    PRIMARY KEY(record_id, name, stamp)) WITHOUT ROWID;
CREATE INDEX conflicts_record ON conflicts(record_id);

-- The answer of every batch applied, for idempotent replays.
CREATE TABLE batches(device TEXT NOT NULL, batch TEXT NOT NULL, answer TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY(device, batch)) WITHOUT ROWID;

-- Review status changes and notes by headquarters.
CREATE TABLE review_events(id INTEGER PRIMARY KEY, record_id TEXT NOT NULL,
    kind TEXT NOT NULL, status TEXT, note TEXT, actor TEXT NOT NULL, at TEXT NOT NULL);

-- Administrative actions (device add/revoke, form publish, ...).  Never
-- holds field values or tokens.
CREATE TABLE audit(id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL,
    action TEXT NOT NULL, record_id TEXT, detail TEXT);

-- Version 2: headquarters review (docs/PROTOCOL.md, "Review API").
-- The server's own HLC device id, which stamps a reviewer's conflict
-- resolution (an ordinary change the server authors), and the last stamp it
-- issued (16 hex digits).  No device may bind the server's id.
CREATE TABLE server_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
INSERT INTO server_meta(key, value) VALUES('hlc_device', lower(hex(randomblob(8)))),
    ('hlc_last', '0000000000000000');
CREATE TRIGGER devices_server_hlc BEFORE UPDATE OF hlc_device ON devices
    WHEN NEW.hlc_device = (SELECT value FROM server_meta WHERE key = 'hlc_device')
    BEGIN SELECT RAISE(ABORT, 'device id reserved for the server'); END;
-- review_events.kind is 'status' (status, note) or 'resolve' (field, stamp
-- of the resolving change, note).
ALTER TABLE review_events ADD COLUMN field TEXT;
ALTER TABLE review_events ADD COLUMN stamp TEXT;
CREATE INDEX review_events_record ON review_events(record_id, id);
CREATE INDEX records_updated ON records(updated_at);
CREATE INDEX audit_at ON audit(at);

-- Version 3: protocol 2.  The newest stamp the server holds from each
-- device (a device no longer pulls its own changes; a clone learns of its
-- twin from this).
ALTER TABLE devices ADD COLUMN last_hlc TEXT;

-- Version 4: merge rule 1 for stores written before it: conflict rows of
-- a null write beside a null current value are dropped
-- (MERGE_SQLITE_MIGRATE_RULE_1 in common/merge_sqlite.h) and
-- records.open_conflicts recounted.

-- Version 5: one row per record (common/merge_row.h; issue 12).  Each
-- record's merge state -- every field's current value and stamp, the heads
-- beside it (open conflicts), and the stamps the rule needs to recognise
-- a replay -- packed as one JSON text (common/merge_mem.h documents the
-- layout).  A change is merged by reading that row, merging in memory and
-- writing it back.  The write-set tables go; views of the same names
-- (MERGE_ROW_VIEWS) show the state to people, tests and the review filters.
ALTER TABLE records ADD COLUMN state TEXT;
-- (each record's writes, bases and current values packed into state by
-- merge_row_migrate())
DROP TABLE fields;
DROP TABLE writes;
DROP TABLE write_bases;
DROP TABLE conflicts;
CREATE VIEW fields(record_id, name, value, stamp) AS ...;           -- see merge_row.h
CREATE VIEW conflicts(record_id, name, stamp, value, device, created_at) AS ...;
CREATE VIEW merged(record_id, stamp) AS ...;
