-- server-postgresql.sql -- the central store of fieldsyncd (PostgreSQL
-- backend, issue 18), schema version 3 (server_meta key 'schema').
--
-- DOCUMENTATION COPY, printed by pg_dump --schema-only from a database
-- that fieldsyncd has just made.  The authoritative schema is the
-- migrations[] array in daemon/store_pg.c, which fieldsyncd applies at
-- start-up under an advisory lock.  Change that array first (a new
-- migration, never an old one), then print this file again:
--
--   fieldsyncd -f CONF -d DIR device list     # CONF: store = postgresql
--   pg_dump -s --no-owner --no-privileges DB | grep -v '^--\|^SET \|^SELECT pg_catalog\|^$'
--
-- The tables are the SQLite store's (schema/sql/server-sqlite.sql) with
-- the same columns and meanings; text columns sort byte by byte (COLLATE
-- "C"), as SQLite's do; records.state is the packed row of
-- common/merge_row.h as text; fields, conflicts and merged are the same
-- views; hashes of the chains are lower-case hex.  Every write that
-- appends to the log or a chain holds the advisory lock 7379617320707369
-- for its transaction (daemon/store_pg_internal.h).

\restrict J06oPQ3zN35YigdYk8xOowRnygkbAZn7737BHV8nZF0mbh7TEULNauXWs71uLSU
CREATE FUNCTION public.fs_field(st json, name text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$ SELECT CASE WHEN json_typeof(f) = 'array' THEN CASE json_typeof(f -> 1) WHEN 'null' THEN NULL ELSE (f -> 1)::text END ELSE (SELECT CASE json_typeof(w -> 1) WHEN 'null' THEN NULL ELSE (w -> 1)::text END FROM json_array_elements(f -> 'w') w WHERE (w ->> 0) = (f ->> 'c') LIMIT 1) END FROM (SELECT st -> 'f' -> name AS f) x $$;
CREATE FUNCTION public.fs_reserved_id() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN IF NEW.hlc_device = (SELECT value FROM server_meta WHERE key = 'hlc_device') THEN RAISE EXCEPTION 'device id reserved for the server' USING ERRCODE = '23505'; END IF; RETURN NEW; END $$;
CREATE TABLE public.agencies (
    name text NOT NULL COLLATE pg_catalog."C",
    title text NOT NULL COLLATE pg_catalog."C",
    teams text NOT NULL,
    created_at text NOT NULL COLLATE pg_catalog."C",
    CONSTRAINT agencies_teams_check CHECK ((json_typeof((teams)::json) = 'array'::text))
);
CREATE TABLE public.audit (
    id bigint NOT NULL,
    at text NOT NULL COLLATE pg_catalog."C",
    actor text NOT NULL COLLATE pg_catalog."C",
    action text NOT NULL COLLATE pg_catalog."C",
    record_id text COLLATE pg_catalog."C",
    detail text,
    prev text COLLATE pg_catalog."C",
    hash text COLLATE pg_catalog."C"
);
CREATE SEQUENCE public.audit_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.audit_id_seq OWNED BY public.audit.id;
CREATE TABLE public.batches (
    device text NOT NULL COLLATE pg_catalog."C",
    batch text NOT NULL COLLATE pg_catalog."C",
    answer text NOT NULL,
    created_at text NOT NULL COLLATE pg_catalog."C"
);
CREATE TABLE public.chain_refused (
    id bigint NOT NULL,
    device text NOT NULL COLLATE pg_catalog."C",
    hlc text NOT NULL COLLATE pg_catalog."C",
    record_id text NOT NULL COLLATE pg_catalog."C",
    link text NOT NULL COLLATE pg_catalog."C",
    prev text NOT NULL COLLATE pg_catalog."C",
    reason text NOT NULL COLLATE pg_catalog."C",
    at text NOT NULL COLLATE pg_catalog."C"
);
CREATE SEQUENCE public.chain_refused_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.chain_refused_id_seq OWNED BY public.chain_refused.id;
CREATE TABLE public.changes (
    seq bigint NOT NULL,
    record_id text NOT NULL COLLATE pg_catalog."C",
    team text NOT NULL COLLATE pg_catalog."C",
    device text NOT NULL COLLATE pg_catalog."C",
    batch text NOT NULL COLLATE pg_catalog."C",
    hlc text NOT NULL COLLATE pg_catalog."C",
    body text NOT NULL,
    received_at text NOT NULL COLLATE pg_catalog."C"
);
CREATE SEQUENCE public.changes_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.changes_seq_seq OWNED BY public.changes.seq;
CREATE TABLE public.records (
    rowid_ bigint NOT NULL,
    id text NOT NULL COLLATE pg_catalog."C",
    form text NOT NULL COLLATE pg_catalog."C",
    form_version bigint NOT NULL,
    team text NOT NULL COLLATE pg_catalog."C",
    created_by text NOT NULL COLLATE pg_catalog."C",
    tombstone text COLLATE pg_catalog."C",
    deleted integer DEFAULT 0 NOT NULL,
    created_at text NOT NULL COLLATE pg_catalog."C",
    updated_at text NOT NULL COLLATE pg_catalog."C",
    review_status text DEFAULT 'new'::text NOT NULL COLLATE pg_catalog."C",
    open_conflicts integer DEFAULT 0 NOT NULL,
    last_seq bigint NOT NULL,
    state text,
    assigned_to text COLLATE pg_catalog."C"
)
WITH (toast_tuple_target='8160');
CREATE VIEW public.conflicts AS
 SELECT r.id AS record_id,
    f.key AS name,
    (((r.state)::json -> 's'::text) ->> ((w.value ->> 0))::integer) AS stamp,
        CASE json_typeof((w.value -> 1))
            WHEN 'null'::text THEN NULL::text
            ELSE ((w.value -> 1))::text
        END AS value,
    substr((((r.state)::json -> 's'::text) ->> ((w.value ->> 0))::integer), 18) AS device,
    r.updated_at AS created_at
   FROM public.records r,
    LATERAL json_each(((r.state)::json -> 'f'::text)) f(key, value),
    LATERAL json_array_elements((f.value -> 'w'::text)) w(value)
  WHERE ((r.open_conflicts > 0) AND (json_typeof(f.value) = 'object'::text) AND ((w.value ->> 2) = '1'::text) AND ((f.value ->> 'c'::text) IS DISTINCT FROM (w.value ->> 0)) AND (NOT ((json_typeof((w.value -> 1)) = 'null'::text) AND (EXISTS ( SELECT 1
           FROM json_array_elements((f.value -> 'w'::text)) cw(value)
          WHERE (((cw.value ->> 0) = (f.value ->> 'c'::text)) AND (json_typeof((cw.value -> 1)) = 'null'::text)))))));
CREATE TABLE public.device_keys (
    device text NOT NULL COLLATE pg_catalog."C",
    key text NOT NULL COLLATE pg_catalog."C",
    at text NOT NULL COLLATE pg_catalog."C"
);
CREATE TABLE public.devices (
    rowid_ bigint NOT NULL,
    name text NOT NULL COLLATE pg_catalog."C",
    role text NOT NULL COLLATE pg_catalog."C",
    team text NOT NULL COLLATE pg_catalog."C",
    token_hash text NOT NULL COLLATE pg_catalog."C",
    hlc_device text COLLATE pg_catalog."C",
    revoked integer DEFAULT 0 NOT NULL,
    created_at text NOT NULL COLLATE pg_catalog."C",
    revoked_at text COLLATE pg_catalog."C",
    last_hlc text COLLATE pg_catalog."C",
    sign_key text COLLATE pg_catalog."C",
    chain_head text COLLATE pg_catalog."C",
    chain_hlc text COLLATE pg_catalog."C",
    review_teams text COLLATE pg_catalog."C",
    wipe text COLLATE pg_catalog."C",
    wipe_at text COLLATE pg_catalog."C",
    CONSTRAINT devices_review_teams_check CHECK (((review_teams IS NULL) OR (json_typeof((review_teams)::json) = 'array'::text))),
    CONSTRAINT devices_role_check CHECK ((role = ANY (ARRAY['field'::text, 'reviewer'::text, 'admin'::text]))),
    CONSTRAINT devices_wipe_check CHECK (((wipe IS NULL) OR (wipe = ANY (ARRAY['pending'::text, 'done'::text]))))
);
CREATE SEQUENCE public.devices_rowid__seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.devices_rowid__seq OWNED BY public.devices.rowid_;
CREATE VIEW public.fields AS
 SELECT r.id AS record_id,
    f.key AS name,
        CASE
            WHEN (json_typeof(f.value) = 'array'::text) THEN
            CASE json_typeof((f.value -> 1))
                WHEN 'null'::text THEN NULL::text
                ELSE ((f.value -> 1))::text
            END
            ELSE ( SELECT
                    CASE json_typeof((w.value -> 1))
                        WHEN 'null'::text THEN NULL::text
                        ELSE ((w.value -> 1))::text
                    END AS "case"
               FROM json_array_elements((f.value -> 'w'::text)) w(value)
              WHERE ((w.value ->> 0) = (f.value ->> 'c'::text))
             LIMIT 1)
        END AS value,
    (((r.state)::json -> 's'::text) ->> (
        CASE
            WHEN (json_typeof(f.value) = 'array'::text) THEN (f.value ->> 0)
            ELSE (f.value ->> 'c'::text)
        END)::integer) AS stamp
   FROM public.records r,
    LATERAL json_each(((r.state)::json -> 'f'::text)) f(key, value)
  WHERE ((r.state IS NOT NULL) AND ((json_typeof(f.value) = 'array'::text) OR (json_typeof((f.value -> 'c'::text)) IS NOT NULL)));
CREATE TABLE public.forms (
    id text NOT NULL COLLATE pg_catalog."C",
    version bigint NOT NULL,
    definition text NOT NULL,
    published_at text NOT NULL COLLATE pg_catalog."C"
);
CREATE TABLE public.history (
    id bigint NOT NULL,
    record_id text NOT NULL COLLATE pg_catalog."C",
    kind text NOT NULL COLLATE pg_catalog."C",
    ref bigint NOT NULL,
    prev text NOT NULL COLLATE pg_catalog."C",
    hash text NOT NULL COLLATE pg_catalog."C",
    CONSTRAINT history_kind_check CHECK ((kind = ANY (ARRAY['change'::text, 'event'::text])))
);
CREATE SEQUENCE public.history_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.history_id_seq OWNED BY public.history.id;
CREATE VIEW public.merged AS
 SELECT r.id AS record_id,
    (((r.state)::json -> 's'::text) ->> (x.value)::integer) AS stamp
   FROM public.records r,
    LATERAL json_array_elements_text(((r.state)::json -> 'seen'::text)) x(value)
  WHERE (r.state IS NOT NULL);
CREATE SEQUENCE public.records_rowid__seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.records_rowid__seq OWNED BY public.records.rowid_;
CREATE TABLE public.referrals (
    id text NOT NULL COLLATE pg_catalog."C",
    record_id text NOT NULL COLLATE pg_catalog."C",
    agency text NOT NULL COLLATE pg_catalog."C",
    status text NOT NULL COLLATE pg_catalog."C",
    case_number text NOT NULL COLLATE pg_catalog."C",
    owner text COLLATE pg_catalog."C",
    due text COLLATE pg_catalog."C",
    created_by text NOT NULL COLLATE pg_catalog."C",
    created_at text NOT NULL COLLATE pg_catalog."C",
    updated_at text NOT NULL COLLATE pg_catalog."C",
    CONSTRAINT referrals_status_check CHECK ((status = ANY (ARRAY['open'::text, 'accepted'::text, 'declined'::text, 'closed'::text])))
);
CREATE TABLE public.review_events (
    id bigint NOT NULL,
    record_id text NOT NULL COLLATE pg_catalog."C",
    kind text NOT NULL COLLATE pg_catalog."C",
    status text COLLATE pg_catalog."C",
    note text,
    actor text NOT NULL COLLATE pg_catalog."C",
    at text NOT NULL COLLATE pg_catalog."C",
    field text COLLATE pg_catalog."C",
    stamp text COLLATE pg_catalog."C"
);
CREATE SEQUENCE public.review_events_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE public.review_events_id_seq OWNED BY public.review_events.id;
CREATE TABLE public.seal_keys (
    id text NOT NULL COLLATE pg_catalog."C",
    public text NOT NULL COLLATE pg_catalog."C",
    locked text NOT NULL,
    created_at text NOT NULL COLLATE pg_catalog."C",
    CONSTRAINT seal_keys_locked_check CHECK ((json_typeof((locked)::json) = 'object'::text))
);
CREATE TABLE public.server_meta (
    key text NOT NULL COLLATE pg_catalog."C",
    value text NOT NULL
);
ALTER TABLE ONLY public.audit ALTER COLUMN id SET DEFAULT nextval('public.audit_id_seq'::regclass);
ALTER TABLE ONLY public.chain_refused ALTER COLUMN id SET DEFAULT nextval('public.chain_refused_id_seq'::regclass);
ALTER TABLE ONLY public.changes ALTER COLUMN seq SET DEFAULT nextval('public.changes_seq_seq'::regclass);
ALTER TABLE ONLY public.devices ALTER COLUMN rowid_ SET DEFAULT nextval('public.devices_rowid__seq'::regclass);
ALTER TABLE ONLY public.history ALTER COLUMN id SET DEFAULT nextval('public.history_id_seq'::regclass);
ALTER TABLE ONLY public.records ALTER COLUMN rowid_ SET DEFAULT nextval('public.records_rowid__seq'::regclass);
ALTER TABLE ONLY public.review_events ALTER COLUMN id SET DEFAULT nextval('public.review_events_id_seq'::regclass);
ALTER TABLE ONLY public.agencies
    ADD CONSTRAINT agencies_pkey PRIMARY KEY (name);
ALTER TABLE ONLY public.audit
    ADD CONSTRAINT audit_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.batches
    ADD CONSTRAINT batches_pkey PRIMARY KEY (device, batch);
ALTER TABLE ONLY public.chain_refused
    ADD CONSTRAINT chain_refused_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.changes
    ADD CONSTRAINT changes_pkey PRIMARY KEY (seq);
ALTER TABLE ONLY public.changes
    ADD CONSTRAINT changes_record_id_hlc_key UNIQUE (record_id, hlc);
ALTER TABLE ONLY public.device_keys
    ADD CONSTRAINT device_keys_pkey PRIMARY KEY (device, key);
ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_hlc_device_key UNIQUE (hlc_device);
ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_name_key UNIQUE (name);
ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_pkey PRIMARY KEY (rowid_);
ALTER TABLE ONLY public.devices
    ADD CONSTRAINT devices_token_hash_key UNIQUE (token_hash);
ALTER TABLE ONLY public.forms
    ADD CONSTRAINT forms_pkey PRIMARY KEY (id, version);
ALTER TABLE ONLY public.history
    ADD CONSTRAINT history_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.records
    ADD CONSTRAINT records_rowid__key UNIQUE (rowid_);
ALTER TABLE ONLY public.referrals
    ADD CONSTRAINT referrals_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.review_events
    ADD CONSTRAINT review_events_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.seal_keys
    ADD CONSTRAINT seal_keys_pkey PRIMARY KEY (id);
ALTER TABLE ONLY public.seal_keys
    ADD CONSTRAINT seal_keys_public_key UNIQUE (public);
ALTER TABLE ONLY public.server_meta
    ADD CONSTRAINT server_meta_pkey PRIMARY KEY (key);
CREATE INDEX audit_at ON public.audit USING btree (at);
CREATE INDEX chain_refused_device ON public.chain_refused USING btree (device, hlc);
CREATE INDEX changes_team_seq ON public.changes USING btree (team, seq);
CREATE INDEX history_record ON public.history USING btree (record_id, id);
CREATE INDEX records_assigned ON public.records USING btree (assigned_to) WHERE (assigned_to IS NOT NULL);
CREATE INDEX records_form ON public.records USING btree (form, updated_at);
CREATE INDEX records_team ON public.records USING btree (team, rowid_);
CREATE INDEX records_updated ON public.records USING btree (updated_at);
CREATE INDEX referrals_agency ON public.referrals USING btree (agency, status);
CREATE INDEX referrals_record ON public.referrals USING btree (record_id);
CREATE INDEX review_events_record ON public.review_events USING btree (record_id, id);
CREATE TRIGGER devices_server_hlc BEFORE UPDATE OF hlc_device ON public.devices FOR EACH ROW EXECUTE FUNCTION public.fs_reserved_id();
\unrestrict J06oPQ3zN35YigdYk8xOowRnygkbAZn7737BHV8nZF0mbh7TEULNauXWs71uLSU
