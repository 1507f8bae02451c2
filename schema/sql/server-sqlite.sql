-- server-sqlite.sql -- the central store of fieldsyncd (SQLite backend),
-- schema version 13 (PRAGMA user_version = 13).
--
-- DOCUMENTATION COPY, printed by sqlite3's .schema from a store that
-- fieldsyncd has just made.  The authoritative schema is the migrations[]
-- array in daemon/store_sqlite.c, which fieldsyncd applies at start-up
-- (migrations[i] takes user_version from i to i + 1): the comments there
-- say what each table is for.  Change that array first, add a migration
-- rather than editing an old one, and print this file again:
--
--   fieldsyncd -d /tmp/x device list && sqlite3 /tmp/x/fieldsyncd.db .schema
--
-- Connections use WAL mode, synchronous=FULL, foreign_keys=ON and a
-- 5000 ms busy timeout.  Times are ISO 8601 UTC text with milliseconds.
-- Stamps are HLC text (common/hlc.h).  records.state is the packed row of
-- common/merge_row.h; fields, conflicts and merged are views of it.  The
-- audit trail and each record's history (the history table) are hash
-- chains; fs_chain() is an SQL function every fieldsyncd connection
-- registers (daemon/store_sqlite_history.c), so rows cannot be appended
-- to them from the sqlite3 shell.  Devices' keys and chain heads: devices,
-- device_keys, chain_refused, and server_meta for headquarters' own.

CREATE TABLE devices(rowid_ INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL CHECK(role IN ('field','reviewer','admin')), team TEXT NOT NULL, token_hash BLOB NOT NULL UNIQUE, hlc_device TEXT UNIQUE, revoked INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, revoked_at TEXT, last_hlc TEXT, sign_key TEXT, chain_head TEXT, chain_hlc TEXT, review_teams TEXT CHECK(review_teams IS NULL OR (json_valid(review_teams) AND json_type(review_teams) = 'array')), wipe TEXT CHECK(wipe IS NULL OR wipe IN ('pending','done')), wipe_at TEXT);
CREATE TABLE forms(id TEXT NOT NULL, version INTEGER NOT NULL, definition TEXT NOT NULL, published_at TEXT NOT NULL, PRIMARY KEY(id, version));
CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT, record_id TEXT NOT NULL, team TEXT NOT NULL, device TEXT NOT NULL, batch TEXT NOT NULL, hlc TEXT NOT NULL, body TEXT NOT NULL, received_at TEXT NOT NULL);
CREATE TABLE sqlite_sequence(name,seq);
CREATE INDEX changes_team_seq ON changes(team, seq);
CREATE UNIQUE INDEX changes_hlc ON changes(record_id, hlc);
CREATE TABLE records(id TEXT PRIMARY KEY, form TEXT NOT NULL, form_version INTEGER NOT NULL, team TEXT NOT NULL, created_by TEXT NOT NULL, tombstone TEXT, deleted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, review_status TEXT NOT NULL DEFAULT 'new', open_conflicts INTEGER NOT NULL DEFAULT 0, last_seq INTEGER NOT NULL, state TEXT, assigned_to TEXT);
CREATE INDEX records_form ON records(form, updated_at);
CREATE TABLE batches(device TEXT NOT NULL, batch TEXT NOT NULL, answer TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY(device, batch)) WITHOUT ROWID;
CREATE TABLE review_events(id INTEGER PRIMARY KEY, record_id TEXT NOT NULL, kind TEXT NOT NULL, status TEXT, note TEXT, actor TEXT NOT NULL, at TEXT NOT NULL, field TEXT, stamp TEXT);
CREATE TABLE audit(id INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, record_id TEXT, detail TEXT, prev BLOB, hash BLOB);
CREATE TABLE server_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TRIGGER devices_server_hlc BEFORE UPDATE OF hlc_device ON devices WHEN NEW.hlc_device = (SELECT value FROM server_meta WHERE key = 'hlc_device') BEGIN SELECT RAISE(ABORT, 'device id reserved for the server'); END;
CREATE INDEX review_events_record ON review_events(record_id, id);
CREATE INDEX records_updated ON records(updated_at);
CREATE INDEX audit_at ON audit(at);
CREATE INDEX records_team ON records(team);
CREATE VIEW fields(record_id, name, value, stamp) AS SELECT r.id, f.key, CASE WHEN f.type = 'array' THEN  (CASE json_type(f.value, '$[1]') WHEN 'null' THEN NULL ELSE f.value -> '$[1]' END)  ELSE (SELECT CASE json_type(w.value, '$[1]') WHEN 'null' THEN NULL  ELSE w.value -> '$[1]' END FROM json_each(f.value, '$.w') w  WHERE w.value ->> '$[0]' = f.value ->> '$.c') END, r.state ->> ('$.s[' || (CASE WHEN f.type = 'array' THEN f.value ->> '$[0]'  ELSE f.value ->> '$.c' END) || ']') FROM records r, json_each(r.state, '$.f') f WHERE r.state IS NOT NULL AND (f.type = 'array' OR json_type(f.value, '$.c') IS NOT NULL)
/* fields(record_id,name,value,stamp) */;
CREATE VIEW conflicts(record_id, name, stamp, value, device, created_at) AS SELECT r.id, f.key, r.state ->> ('$.s[' || (w.value ->> '$[0]') || ']'),  CASE json_type(w.value, '$[1]') WHEN 'null' THEN NULL ELSE w.value -> '$[1]' END,  substr(r.state ->> ('$.s[' || (w.value ->> '$[0]') || ']'), 18), r.updated_at FROM records r, json_each(r.state, '$.f') f, json_each(f.value, '$.w') w WHERE r.open_conflicts > 0 AND f.type = 'object' AND w.value ->> '$[2]' = 1  AND (f.value ->> '$.c') IS NOT (w.value ->> '$[0]')  AND NOT (json_type(w.value, '$[1]') = 'null' AND EXISTS (SELECT 1   FROM json_each(f.value, '$.w') cw WHERE cw.value ->> '$[0]' = f.value ->> '$.c'   AND json_type(cw.value, '$[1]') = 'null'))
/* conflicts(record_id,name,stamp,value,device,created_at) */;
CREATE VIEW merged(record_id, stamp) AS SELECT r.id, r.state ->> ('$.s[' || x.value || ']') FROM records r, json_each(r.state, '$.seen') x WHERE r.state IS NOT NULL
/* merged(record_id,stamp) */;
CREATE TABLE chain_refused(id INTEGER PRIMARY KEY, device TEXT NOT NULL, hlc TEXT NOT NULL, record_id TEXT NOT NULL, link TEXT NOT NULL, prev TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX chain_refused_device ON chain_refused(device, hlc);
CREATE TABLE device_keys(device TEXT NOT NULL, key TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY(device, key)) WITHOUT ROWID;
CREATE TABLE history(id INTEGER PRIMARY KEY, record_id TEXT NOT NULL, kind TEXT NOT NULL CHECK(kind IN ('change', 'event')), ref INTEGER NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);
CREATE INDEX history_record ON history(record_id, id);
CREATE TABLE seal_keys(id TEXT PRIMARY KEY, public TEXT NOT NULL UNIQUE, locked TEXT NOT NULL CHECK(json_valid(locked)), created_at TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX records_assigned ON records(assigned_to) WHERE assigned_to IS NOT NULL;
CREATE TABLE agencies(name TEXT PRIMARY KEY, title TEXT NOT NULL, teams TEXT NOT NULL CHECK(json_valid(teams) AND json_type(teams) = 'array'), created_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE referrals(id TEXT PRIMARY KEY, record_id TEXT NOT NULL, agency TEXT NOT NULL, status TEXT NOT NULL CHECK(status IN ('open','accepted','declined','closed')), case_number TEXT NOT NULL, owner TEXT, due TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX referrals_record ON referrals(record_id);
CREATE INDEX referrals_agency ON referrals(agency, status);
